/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mount/cgroup.c, mount/cgroup-deleg.c and the size helpers they use: docker's
 * flag parsing, the layout read from mountinfo, the v1 and v2 writers against a fake cgroupfs
 * in a temp dir (this host cannot switch layouts), OOM counters, rootless's delegated subtree
 * (found, refused, written). The tests tagged "root" load the v2 device
 * program into the real kernel (CK_EXCLUDE_TAGS=root skips them).
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits.h>
#include <stdint.h>

#include "unit.h"
#include "../../mount/mount-int.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---------- sizes ---------- */

static const struct {
	const char *in;
	int ok;
	int64_t want;
} sizes[] = {
	{ "100m", 1, 100LL << 20 },
	{ "1g", 1, 1LL << 30 },
	{ "512k", 1, 512LL << 10 },
	{ "1.5g", 1, 3LL << 29 },
	{ "10MiB", 1, 10LL << 20 },
	{ "10mb", 1, 10LL << 20 },
	{ "1 kb", 1, 1024 },
	{ "4096", 1, 4096 },
	{ "4096b", 1, 4096 },
	{ "0", 1, 0 },
	{ "2T", 1, 2LL << 40 },
	{ "1p", 1, 1LL << 50 },
	{ "0.5k", 1, 512 },
	{ "1.0000000001k", 1, 1024 },
	{ "9223372036854775807", 1, INT64_MAX },
	{ "", 0, 0 },
	{ "-1", 0, 0 },
	{ "m", 0, 0 },
	{ "1x", 0, 0 },
	{ "1.5.3g", 0, 0 },
	{ "1.g", 0, 0 },
	{ ".5g", 0, 0 },
	{ "1e", 0, 0 },
	{ "1gg", 0, 0 },
	{ "1  m", 0, 0 },
	{ "9223372036854775808", 0, 0 },
	{ "8388608t", 0, 0 },
	{ "99999999999999999999999", 0, 0 },
};

START_TEST(test_parse_size)
{
	int64_t v = -42;
	int r = lc_parse_size(sizes[_i].in, &v);

	ck_assert_msg((r == 0) == sizes[_i].ok, "'%s': returned %d", sizes[_i].in, r);
	if (sizes[_i].ok)
		ck_assert_msg(v == sizes[_i].want, "'%s': %lld, want %lld", sizes[_i].in,
			      (long long)v, (long long)sizes[_i].want);
	else
		ck_assert_int_eq(v, -42);
}
END_TEST

START_TEST(test_human_binary)
{
	char buf[32];

	lc_human_size_binary(100 << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "100MiB");
	lc_human_size_binary(3ULL << 29, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.5GiB");
	lc_human_size_binary(512, buf, sizeof(buf));
	ck_assert_str_eq(buf, "512B");
	lc_human_size_binary(6 << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "6MiB");
}
END_TEST

/* ---------- flags ---------- */

static const struct {
	const char *in;
	long ncpu;
	int ok;
	int64_t want;
	const char *msg;
} cpus[] = {
	{ "0.5", 2, 1, 500000000, NULL },
	{ "1", 2, 1, 1000000000, NULL },
	{ "2", 2, 1, 2000000000, NULL },
	{ "1.25", 4, 1, 1250000000, NULL },
	{ ".5", 2, 1, 500000000, NULL },
	{ "0.01", 2, 1, 10000000, NULL },
	{ "0", 2, 1, 0, NULL },
	{ "0.0000000001", 2, 0, 0, "value is too precise" },
	{ "0.0100000000", 2, 1, 10000000, NULL },
	{ "1.000000001", 2, 1, 1000000001, NULL },
	{ "0.001", 2, 0, 0,
	  "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available" },
	{ "2.5", 2, 0, 0, "Range of CPUs is from 0.01 to 2.00" },
	{ "-1", 2, 0, 0, "Range of CPUs" },
	{ "abc", 2, 0, 0, "failed to parse abc as a rational number" },
	{ "1.2.3", 2, 0, 0, "failed to parse 1.2.3 as a rational number" },
	{ "", 2, 0, 0, "failed to parse" },
	{ ".", 2, 0, 0, "failed to parse" },
	{ "99999999999", 2, 0, 0, "Range of CPUs" },
};

START_TEST(test_parse_cpus)
{
	struct lc_err *err = NULL;
	int64_t v = -1;

	if (cpus[_i].ok) {
		ck_assert_ok(lc_cgroup_parse_cpus(cpus[_i].in, cpus[_i].ncpu, &v, &err), &err);
		ck_assert_msg(v == cpus[_i].want, "'%s': %lld", cpus[_i].in, (long long)v);
	} else {
		ck_assert_fail(lc_cgroup_parse_cpus(cpus[_i].in, cpus[_i].ncpu, &v, &err), &err,
			       LC_ERR_INVALID);
		ck_assert_msg(strstr(err->msg, cpus[_i].msg), "'%s': %s", cpus[_i].in, err->msg);
		lc_err_free(err);
	}
}
END_TEST

START_TEST(test_shares_weight)
{
	/* runc's table: 2 -> 1, 1024 (the default) -> 39, 262144 -> 10000 */
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(2), 1);
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(1024), 39);
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(262144), 10000);
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(512), 1 + (510 * 9999) / 262142);
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(1), 1);
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(1000000), 10000);
	ck_assert_uint_eq(lc_cgroup_shares_to_weight(0), 0);
}
END_TEST

START_TEST(test_parse_cpuset_parent)
{
	static const char *const good[] = { "0", "0-3", "0,2", "0-1,3,5-7" };
	static const char *const bad[] = { "", "a", "3-1", "1,", ",1", "1-", "1--2", "0 1" };
	static const char *const pgood[] = { "layerctl", "/layerctl", "a/b.c/d_e-f", "a//b/" };
	static const char *const pbad[] = { "", "/", ".", "..", "a/../b", "a/./b", "a b", "a\n" };
	struct lc_err *err = NULL;

	for (size_t i = 0; i < LC_ARRAY_SIZE(good); i++)
		ck_assert_ok(lc_cgroup_parse_cpuset(good[i], &err), &err);
	for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
		ck_assert_fail(lc_cgroup_parse_cpuset(bad[i], &err), &err, LC_ERR_INVALID);
		ck_assert_msg(strstr(err->msg, "for cpuset cpus"), "%s", err->msg);
		lc_err_free(err);
		err = NULL;
	}
	for (size_t i = 0; i < LC_ARRAY_SIZE(pgood); i++)
		ck_assert_ok(lc_cgroup_parent_check(pgood[i], &err), &err);
	for (size_t i = 0; i < LC_ARRAY_SIZE(pbad); i++) {
		ck_assert_fail(lc_cgroup_parent_check(pbad[i], &err), &err, LC_ERR_INVALID);
		lc_err_free(err);
		err = NULL;
	}
}
END_TEST

START_TEST(test_parse_rate)
{
	struct lc_cgroup_rate r = { 0 };
	struct lc_err *err = NULL;
	char *dir = unit_tmpdir();
	char *dev = lc_xasprintf("%s/dev", dir);
	char *p;

	ck_assert_int_eq(mkdir(dev, 0755), 0);
	p = lc_xasprintf("%s/dev/null", dir);
	ck_assert_int_eq(close(open(p, O_CREAT | O_WRONLY, 0644)), 0); /* not a block device */
	free(p);
	if (geteuid() == 0) {
		p = lc_xasprintf("%s/dev/blk", dir);
		ck_assert_int_eq(mknod(p, S_IFBLK | 0600, makedev(7, 3)), 0);
		free(p);
		ck_assert_ok(lc_cgroup_parse_rate("/dev/blk:1mb", LC_RATE_WRITE_BPS, dir, &r, &err),
			     &err);
		ck_assert_uint_eq(r.major, 7);
		ck_assert_uint_eq(r.minor, 3);
		ck_assert_uint_eq(r.rate, 1 << 20);
		ck_assert_int_eq(r.kind, LC_RATE_WRITE_BPS);
		ck_assert_ok(lc_cgroup_parse_rate("/dev/blk:300", LC_RATE_READ_IOPS, dir, &r, &err),
			     &err);
		ck_assert_uint_eq(r.rate, 300);
		ck_assert_int_eq(r.kind, LC_RATE_READ_IOPS);
	}
	static const struct {
		const char *in;
		enum lc_cgroup_rate_kind kind;
		const char *msg;
	} bad[] = {
		{ "/dev/blk", LC_RATE_READ_BPS, "bad format: /dev/blk" },
		{ "blk:1mb", LC_RATE_READ_BPS, "blk is not an absolute path" },
		{ "/dev/blk:1x", LC_RATE_READ_BPS,
		  "invalid rate for device: /dev/blk:1x. The correct format is "
		  "<device-path>:<number>[<unit>]. Number must be a positive integer. Unit is "
		  "optional and can be kb, mb, or gb" },
		{ "/dev/blk:0", LC_RATE_WRITE_BPS, "invalid rate for device" },
		{ "/dev/blk:1mb", LC_RATE_READ_IOPS,
		  "invalid rate for device: /dev/blk:1mb. The correct format is "
		  "<device-path>:<number>. Number must be a positive integer" },
		{ "/dev/blk:", LC_RATE_WRITE_IOPS, "invalid rate" },
		{ "/dev/null:1", LC_RATE_WRITE_IOPS, "'/dev/null' is not a block device" },
		{ "/dev/missing:1", LC_RATE_WRITE_IOPS, "device '/dev/missing'" },
	};
	for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
		ck_assert_fail(lc_cgroup_parse_rate(bad[i].in, bad[i].kind, dir, &r, &err), &err,
			       LC_ERR_INVALID);
		ck_assert_msg(strstr(err->msg, bad[i].msg), "'%s': %s", bad[i].in, err->msg);
		lc_err_free(err);
		err = NULL;
	}
	free(dev);
	unit_tmpdir_free(dir);
}
END_TEST

static const struct {
	const char *name;
	struct lc_cgroup_limits in;
	const char *msg; /* NULL: accepted */
	int64_t swap;	 /* memory_swap afterwards */
} checks[] = {
	{ "nothing", { 0 }, NULL, 0 },
	{ "memory alone: swap twice", { .memory = 100 << 20 }, NULL, 200 << 20 },
	{ "memory and swap", { .memory = 100 << 20, .memory_swap = 300 << 20 }, NULL, 300 << 20 },
	{ "swap unlimited", { .memory = 100 << 20, .memory_swap = -1 }, NULL, -1 },
	{ "swap equal", { .memory = 100 << 20, .memory_swap = 100 << 20 }, NULL, 100 << 20 },
	{ "under 6MB", { .memory = 1 << 20 }, "Minimum memory limit allowed is 6MB", 0 },
	{ "swap below memory",
	  { .memory = 100 << 20, .memory_swap = 50 << 20 },
	  "Minimum memoryswap limit should be larger than memory limit, see usage",
	  0 },
	{ "swap without memory",
	  { .memory_swap = 1 << 30 },
	  "You should always set the Memory limit when using Memoryswap limit, see usage",
	  0 },
	{ "reservation above memory",
	  { .memory = 64 << 20, .memory_reservation = 128 << 20 },
	  "Minimum memory limit can not be less than memory reservation limit, see usage",
	  0 },
	{ "small reservation", { .memory_reservation = 1 << 20 }, "Minimum memory reservation", 0 },
	{ "reservation alone", { .memory_reservation = 64 << 20 }, NULL, 0 },
	{ "blkio weight 5", { .blkio_weight = 5 }, "Range of blkio weight is from 10 to 1000", 0 },
	{ "blkio weight 1001", { .blkio_weight = 1001 }, "Range of blkio weight", 0 },
	{ "negative shares", { .cpu_shares = -1 }, "must be positive", 0 },
};

START_TEST(test_limits_check)
{
	struct lc_cgroup_limits l = checks[_i].in;
	struct lc_err *err = NULL;

	if (!checks[_i].msg) {
		ck_assert_ok(lc_cgroup_limits_check(&l, &err), &err);
		ck_assert_msg(l.memory_swap == checks[_i].swap, "%s: swap %lld", checks[_i].name,
			      (long long)l.memory_swap);
	} else {
		ck_assert_fail(lc_cgroup_limits_check(&l, &err), &err, LC_ERR_INVALID);
		ck_assert_msg(strstr(err->msg, checks[_i].msg), "%s: %s", checks[_i].name,
			      err->msg);
		lc_err_free(err);
	}
}
END_TEST

START_TEST(test_limits_any)
{
	struct lc_cgroup_limits l = { 0 };

	ck_assert(!lc_cgroup_limits_any(&l));
	l.pids_limit = -1; /* docker: unlimited, as if not given */
	ck_assert(!lc_cgroup_limits_any(&l));
	l.cpuset_cpus = "";
	ck_assert(!lc_cgroup_limits_any(&l));
	l.pids_limit = 20;
	ck_assert(lc_cgroup_limits_any(&l));
	l = (struct lc_cgroup_limits){ .oom_kill_disable = true };
	ck_assert(lc_cgroup_limits_any(&l));
	l = (struct lc_cgroup_limits){ .nano_cpus = 1 };
	ck_assert(lc_cgroup_limits_any(&l));
}
END_TEST

/* ---------- layout ---------- */

/* this machine's hybrid layout (and a space in a mount point, escaped as mountinfo does) */
static const char mi_hybrid[] =
	"22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n"
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"34 30 0:31 / /sys/fs/cgroup/memory\\040x rw,relatime - cgroup cgroup rw,memory\n"
	"35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	/* a bind of a sub-cgroup elsewhere is not a hierarchy */
	"41 22 0:31 /sub /mnt/mem rw,relatime - cgroup cgroup rw,memory\n";

static const char mi_v1[] =
	"22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n"
	"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"34 30 0:31 / /sys/fs/cgroup/memory rw shared:10 master:2 - cgroup cgroup rw,memory\n"
	"38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";

static const char mi_v2[] = "22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n"
			    "30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 "
			    "- cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

static void put(const char *dir, const char *rel, const char *content)
{
	char *p = lc_xasprintf("%s/%s", dir, rel);
	char *d = lc_xstrdup(p);
	struct lc_err *err = NULL;
	int fd;

	*strrchr(d, '/') = 0;
	ck_assert_ok(lc_mkdir_p_at(AT_FDCWD, d, 0755, &err), &err);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lc_write_all(fd, content, strlen(content)), 0);
	close(fd);
	free(d);
	free(p);
}

/* The content of dir/rel, or "(missing)". Caller frees. */
static char *get(const char *dir, const char *rel)
{
	char *p = lc_xasprintf("%s/%s", dir, rel);
	char *buf = NULL;
	struct lc_err *err = NULL;

	if (lc_read_file_at(AT_FDCWD, p, 1 << 20, &buf, NULL, &err) < 0) {
		lc_err_free(err);
		buf = lc_xstrdup("(missing)");
	}
	free(p);
	return buf;
}

#define ck_file(dir, rel, want)                                                                    \
	do {                                                                                       \
		char *_g = get(dir, rel);                                                          \
		ck_assert_msg(!strcmp(_g, want), "%s: '%s', want '%s'", rel, _g, want);            \
		free(_g);                                                                          \
	} while (0)

static bool exists(const char *dir, const char *rel)
{
	char *p = lc_xasprintf("%s/%s", dir, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

START_TEST(test_layout_hybrid)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_err *err = NULL;
	char *want;

	put(root, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
	ck_assert_ok(lc_cgroup_layout_parse(mi_hybrid, root, &lay, &err), &err);
	want = lc_xasprintf("%s/sys/fs/cgroup/memory x", root);
	ck_assert_str_eq(lay.v1[LC_CG_MEMORY], want);
	free(want);
	want = lc_xasprintf("%s/sys/fs/cgroup/cpu", root);
	ck_assert_str_eq(lay.v1[LC_CG_CPU], want);
	free(want);
	want = lc_xasprintf("%s/sys/fs/cgroup/blkio", root);
	ck_assert_str_eq(lay.v1[LC_CG_IO], want);
	free(want);
	want = lc_xasprintf("%s/sys/fs/cgroup/unified", root);
	ck_assert_str_eq(lay.v2, want);
	free(want);
	ck_assert_ptr_nonnull(lay.v1[LC_CG_PIDS]);
	ck_assert_ptr_nonnull(lay.v1[LC_CG_DEVICES]);
	ck_assert_ptr_nonnull(lay.v1[LC_CG_CPUSET]);
	for (size_t c = 0; c < LC_CG_N; c++)
		ck_assert(!lay.on_v2[c]);
	ck_assert(!lc_cgroup_layout_unified(&lay));
	lc_cgroup_layout_clear(&lay);
	unit_tmpdir_free(root);
}
END_TEST

START_TEST(test_layout_v1_v2)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_err *err = NULL;
	char *want;

	/* v1 only, cpu and cpuacct co-mounted; no io, devices or cpuset */
	ck_assert_ok(lc_cgroup_layout_parse(mi_v1, root, &lay, &err), &err);
	want = lc_xasprintf("%s/sys/fs/cgroup/cpu,cpuacct", root);
	ck_assert_str_eq(lay.v1[LC_CG_CPU], want);
	free(want);
	ck_assert_ptr_nonnull(lay.v1[LC_CG_MEMORY]);
	ck_assert_ptr_null(lay.v1[LC_CG_IO]);
	ck_assert_ptr_null(lay.v1[LC_CG_DEVICES]);
	ck_assert_ptr_null(lay.v2);
	ck_assert(!lc_cgroup_layout_unified(&lay));
	lc_cgroup_layout_clear(&lay);

	/* unified */
	put(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
	ck_assert_ok(lc_cgroup_layout_parse(mi_v2, root, &lay, &err), &err);
	want = lc_xasprintf("%s/sys/fs/cgroup", root);
	ck_assert_str_eq(lay.v2, want);
	free(want);
	for (size_t c = 0; c < LC_CG_N; c++) {
		ck_assert_ptr_null(lay.v1[c]);
		ck_assert(lay.on_v2[c] == (c != LC_CG_DEVICES));
	}
	ck_assert(lc_cgroup_layout_unified(&lay));
	lc_cgroup_layout_clear(&lay);

	/* the v2 mount's controllers cannot be read: an error naming it */
	unit_tmpdir_free(root);
	root = unit_tmpdir();
	ck_assert_fail(lc_cgroup_layout_parse(mi_v2, root, &lay, &err), &err, LC_ERR_NOTFOUND);
	ck_assert_msg(strstr(err->msg, "cgroup.controllers"), "%s", err->msg);
	lc_err_free(err);
	unit_tmpdir_free(root);
}
END_TEST

/* ---------- the writers on a fake cgroupfs ---------- */

/* A fake v1 hierarchy per controller under root, with the files the kernel has at the top. */
static void fake_v1(const char *root, struct lc_cgroup_layout *lay)
{
	struct lc_err *err = NULL;

	put(root, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
	put(root, "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put(root, "sys/fs/cgroup/blkio/blkio.weight", "500\n");
	put(root, "sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
	put(root, "sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
	put(root, "sys/fs/cgroup/pids/cgroup.procs", "");
	put(root, "sys/fs/cgroup/devices/devices.list", "a *:* rwm\n");
	put(root, "sys/fs/cgroup/cpu,cpuacct/cpu.shares", "1024\n");
	ck_assert_ok(lc_cgroup_layout_parse(mi_hybrid, root, lay, &err), &err);
	/* the hybrid's names, with cpu and cpuacct co-mounted as many distributions do */
	for (size_t c = 0; c < LC_CG_N; c++) {
		static const char *const names[] = { "memory", "cpu,cpuacct", "cpuset",
						     "pids",   "blkio",	      "devices" };

		free(lay->v1[c]);
		lay->v1[c] = lc_xasprintf("%s/sys/fs/cgroup/%s", root, names[c]);
	}
	free(lay->v2);
	lay->v2 = NULL;
	lay->fake = true;
}

static const char allow_list[] = "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\n"
				 "c 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\n"
				 "c 136:* rwm\nc 10:200 rwm\n";

START_TEST(test_v1_writer)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_cgroup_rate rates[] = {
		{ 7, 0, LC_RATE_WRITE_BPS, 1 << 20 },
		{ 7, 0, LC_RATE_READ_IOPS, 100 },
		{ 8, 16, LC_RATE_READ_BPS, 2 << 20 },
		{ 8, 16, LC_RATE_WRITE_IOPS, 50 },
	};
	struct lc_cgroup_limits l = {
		.memory = 100 << 20,
		.memory_reservation = 50 << 20,
		.nano_cpus = 500000000,
		.cpu_shares = 512,
		.cpuset_cpus = "1",
		.pids_limit = 20,
		.blkio_weight = 300,
		.rates = rates,
		.n_rates = LC_ARRAY_SIZE(rates),
		.oom_kill_disable = true,
	};
	struct lc_cgroup *cg = NULL;
	struct lc_err *err = NULL;
	char *c;
	bool oom = true;

	fake_v1(root, &lay);
	ck_assert_ok(lc_cgroup_limits_check(&l, &err), &err);
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "abc", &l, &cg, &err), &err);
	c = lc_xasprintf("%s/sys/fs/cgroup", root);
	ck_file(c, "memory/layerctl/abc/memory.limit_in_bytes", "104857600\n");
	ck_file(c, "memory/layerctl/abc/memory.memsw.limit_in_bytes", "209715200\n");
	ck_file(c, "memory/layerctl/abc/memory.soft_limit_in_bytes", "52428800\n");
	ck_file(c, "memory/layerctl/abc/memory.oom_control", "1\n");
	ck_file(c, "cpu,cpuacct/layerctl/abc/cpu.cfs_period_us", "100000\n");
	ck_file(c, "cpu,cpuacct/layerctl/abc/cpu.cfs_quota_us", "50000\n");
	ck_file(c, "cpu,cpuacct/layerctl/abc/cpu.shares", "512\n");
	/* cpuset: each new level takes its parent's cpus and mems before ours are set */
	ck_file(c, "cpuset/layerctl/cpuset.cpus", "0-3\n");
	ck_file(c, "cpuset/layerctl/cpuset.mems", "0\n");
	ck_file(c, "cpuset/layerctl/abc/cpuset.mems", "0\n");
	ck_file(c, "cpuset/layerctl/abc/cpuset.cpus", "0-3\n1\n");
	ck_file(c, "pids/layerctl/abc/pids.max", "20\n");
	ck_file(c, "blkio/layerctl/abc/blkio.weight", "300\n");
	ck_file(c, "blkio/layerctl/abc/blkio.throttle.write_bps_device", "7:0 1048576\n");
	ck_file(c, "blkio/layerctl/abc/blkio.throttle.read_iops_device", "7:0 100\n");
	ck_file(c, "blkio/layerctl/abc/blkio.throttle.read_bps_device", "8:16 2097152\n");
	ck_file(c, "blkio/layerctl/abc/blkio.throttle.write_iops_device", "8:16 50\n");
	ck_file(c, "devices/layerctl/abc/devices.deny", "a\n");
	ck_file(c, "devices/layerctl/abc/devices.allow", allow_list);
	/* nothing on the parents but what cpuset needs, nothing on v2 */
	ck_assert(!exists(c, "memory/layerctl/memory.limit_in_bytes"));
	ck_assert(!exists(c, "devices/layerctl/devices.deny"));
	ck_assert(!exists(c, "unified/layerctl"));

	/* OOM: the kernel's memory.oom_control counts kills */
	put(c, "memory/layerctl/abc/memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(!oom);
	put(c, "memory/layerctl/abc/memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(oom);
	/* before 4.13 there is no oom_kill line: failcnt says the limit was hit */
	put(c, "memory/layerctl/abc/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
	put(c, "memory/layerctl/abc/memory.failcnt", "0\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(!oom);
	put(c, "memory/layerctl/abc/memory.failcnt", "17\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(oom);

	/* the container's dirs go, the shared parents stay */
	ck_assert_ok(lc_cgroup_destroy(cg, &err), &err);
	for (size_t i = 0; i < LC_CG_N; i++) {
		char *p = lc_xasprintf("%s/layerctl/abc", lay.v1[i]);
		char *par = lc_xasprintf("%s/layerctl", lay.v1[i]);

		ck_assert_msg(access(p, F_OK) < 0 && errno == ENOENT, "%s left", p);
		ck_assert_msg(access(par, F_OK) == 0, "%s removed", par);
		free(p);
		free(par);
	}
	free(c);
	lc_cgroup_layout_clear(&lay);
	unit_tmpdir_free(root);
}
END_TEST

START_TEST(test_v1_minimal_and_missing)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_cgroup_limits l = { .memory = 64 << 20 };
	struct lc_cgroup *cg = NULL;
	struct lc_err *err = NULL;
	char *c = lc_xasprintf("%s/sys/fs/cgroup", root);

	fake_v1(root, &lay);
	/* no swap accounting: the limit is dropped like docker drops it; no cpuset cgroup */
	{
		char *p = lc_xasprintf("%s/memory.memsw.limit_in_bytes", lay.v1[LC_CG_MEMORY]);

		ck_assert_int_eq(unlink(p), 0);
		free(p);
	}
	ck_assert_ok(lc_cgroup_limits_check(&l, &err), &err);
	ck_assert_ok(lc_cgroup_create_in(&lay, "/a/b", "id1", &l, &cg, &err), &err);
	ck_file(c, "memory/a/b/id1/memory.limit_in_bytes", "67108864\n");
	ck_assert(!exists(c, "memory/a/b/id1/memory.memsw.limit_in_bytes"));
	ck_assert(!exists(c, "cpuset/a"));
	ck_assert(exists(c, "pids/a/b/id1"));
	ck_assert(!exists(c, "pids/a/b/id1/pids.max"));
	ck_file(c, "devices/a/b/id1/devices.deny", "a\n");
	/* an existing cgroup of that name is not ours: refused, and ours left alone */
	{
		struct lc_cgroup *cg2 = NULL;

		ck_assert_fail(lc_cgroup_create_in(&lay, "a/b", "id1", &l, &cg2, &err), &err,
			       LC_ERR_SYS);
		ck_assert_int_eq(err->sys_errno, EEXIST);
		lc_err_free(err);
		err = NULL;
		ck_assert(exists(c, "memory/a/b/id1/memory.limit_in_bytes"));
	}
	/* by name, as the sweep after a killed layerctl does */
	lc_cgroup_destroy(cg, NULL); /* frees; removes too, but remove_in must cope either way */
	ck_assert_ok(lc_cgroup_create_in(&lay, "a/b", "id2", &l, &cg, &err), &err);
	ck_assert_ok(lc_cgroup_remove_in(&lay, "a/b", "id2", &err), &err);
	ck_assert(!exists(c, "memory/a/b/id2"));
	ck_assert(!exists(c, "devices/a/b/id2"));
	ck_assert(exists(c, "memory/a/b"));
	ck_assert_ok(lc_cgroup_remove_in(&lay, "a/b", "id2", &err), &err); /* gone is fine */
	ck_assert_fail(lc_cgroup_remove_in(&lay, "a/../..", "id2", &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	err = NULL;
	lc_cgroup_destroy(cg, NULL);

	/* a controller the host lacks: the limit is refused by name, nothing is left */
	free(lay.v1[LC_CG_PIDS]);
	lay.v1[LC_CG_PIDS] = NULL;
	l = (struct lc_cgroup_limits){ .pids_limit = 10 };
	ck_assert_fail(lc_cgroup_create_in(&lay, "p", "id3", &l, &cg, &err), &err, LC_ERR_INVALID);
	ck_assert_msg(strstr(err->msg, "no pids cgroup controller"), "%s", err->msg);
	lc_err_free(err);
	err = NULL;
	ck_assert(!exists(c, "memory/p/id3"));
	ck_assert(exists(c, "memory/p")); /* the parent may be shared: it stays */
	free(lay.v1[LC_CG_IO]);
	lay.v1[LC_CG_IO] = NULL;
	l = (struct lc_cgroup_limits){ .blkio_weight = 100 };
	ck_assert_fail(lc_cgroup_create_in(&lay, "p", "id4", &l, &cg, &err), &err, LC_ERR_INVALID);
	ck_assert_msg(strstr(err->msg, "no blkio cgroup controller"), "%s", err->msg);
	lc_err_free(err);
	ck_assert(!exists(c, "memory/p/id4"));
	free(c);
	lc_cgroup_layout_clear(&lay);
	unit_tmpdir_free(root);
}
END_TEST

static void fake_v2(const char *root, struct lc_cgroup_layout *lay)
{
	struct lc_err *err = NULL;

	put(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
	put(root, "sys/fs/cgroup/cgroup.subtree_control", "memory\n");
	ck_assert_ok(lc_cgroup_layout_parse(mi_v2, root, lay, &err), &err);
	lay->fake = true;
}

START_TEST(test_v2_writer)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_cgroup_rate rates[] = {
		{ 7, 0, LC_RATE_WRITE_BPS, 1 << 20 },
		{ 7, 0, LC_RATE_READ_IOPS, 100 },
	};
	struct lc_cgroup_limits l = {
		.memory = 100 << 20,
		.memory_reservation = 50 << 20,
		.nano_cpus = 1500000000,
		.cpu_shares = 512,
		.cpuset_cpus = "0-1",
		.pids_limit = 20,
		.blkio_weight = 500,
		.rates = rates,
		.n_rates = LC_ARRAY_SIZE(rates),
	};
	struct lc_cgroup *cg = NULL;
	struct lc_err *err = NULL;
	char *c = lc_xasprintf("%s/sys/fs/cgroup", root);
	char *w;
	bool oom = true;

	fake_v2(root, &lay);
	ck_assert_ok(lc_cgroup_limits_check(&l, &err), &err);
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "abc", &l, &cg, &err), &err);
	/* the controllers enabled down to the container (memory was already on at the top) */
	ck_file(c, "cgroup.subtree_control", "memory\n+cpu\n+cpuset\n+pids\n+io\n");
	ck_file(c, "layerctl/cgroup.subtree_control", "+memory\n+cpu\n+cpuset\n+pids\n+io\n");
	ck_assert(!exists(c, "layerctl/abc/cgroup.subtree_control"));
	ck_file(c, "layerctl/abc/memory.max", "104857600\n");
	ck_file(c, "layerctl/abc/memory.swap.max", "104857600\n"); /* memory+swap minus memory */
	ck_file(c, "layerctl/abc/memory.low", "52428800\n");
	ck_file(c, "layerctl/abc/cpu.max", "150000 100000\n");
	w = lc_xasprintf("%llu\n", (unsigned long long)lc_cgroup_shares_to_weight(512));
	ck_file(c, "layerctl/abc/cpu.weight", w);
	free(w);
	ck_file(c, "layerctl/abc/cpuset.cpus", "0-1\n");
	ck_file(c, "layerctl/abc/pids.max", "20\n");
	ck_file(c, "layerctl/abc/io.weight", "default 4950\n"); /* runc: 1 + (500-10)*9999/990 */
	ck_file(c, "layerctl/abc/io.max", "7:0 wbps=1048576\n7:0 riops=100\n");
	ck_assert(!exists(c, "layerctl/abc/devices.allow")); /* v2: a bpf program instead */

	put(c, "layerctl/abc/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(!oom);
	put(c, "layerctl/abc/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(oom);
	ck_assert_ok(lc_cgroup_destroy(cg, &err), &err);
	ck_assert(!exists(c, "layerctl/abc"));
	ck_assert(exists(c, "layerctl"));

	/* -1: unlimited swap */
	l = (struct lc_cgroup_limits){ .memory = 64 << 20, .memory_swap = -1 };
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "def", &l, &cg, &err), &err);
	ck_file(c, "layerctl/def/memory.swap.max", "max\n");
	ck_assert(!exists(c, "layerctl/def/cpu.max"));
	ck_assert_ok(lc_cgroup_destroy(cg, &err), &err);

	/* docker refuses --oom-kill-disable where there is no memory.oom_control */
	l = (struct lc_cgroup_limits){ .memory = 64 << 20, .oom_kill_disable = true };
	ck_assert_fail(lc_cgroup_create_in(&lay, "layerctl", "ghi", &l, &cg, &err), &err,
		       LC_ERR_INVALID);
	ck_assert_msg(strstr(err->msg, "Your kernel does not support OomKillDisable"), "%s",
		      err->msg);
	lc_err_free(err);
	ck_assert(!exists(c, "layerctl/ghi"));
	free(c);
	lc_cgroup_layout_clear(&lay);
	unit_tmpdir_free(root);
}
END_TEST

/* ---------- the v2 device program, in the real kernel ---------- */

START_TEST(test_device_prog_shape)
{
	struct bpf_insn prog[128];
	size_t n = lc_cgroup_device_prog(NULL, 0, prog, LC_ARRAY_SIZE(prog));

	ck_assert_uint_gt(n, 12);
	ck_assert_uint_le(n, LC_ARRAY_SIZE(prog));
	/* ends with "deny": r0 = 0; exit */
	ck_assert_int_eq(prog[n - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
	ck_assert_int_eq(prog[n - 2].imm, 0);
	ck_assert_int_eq(prog[n - 1].code, BPF_JMP | BPF_EXIT);
	/* every jump lands inside the program, on the start of the next rule or later */
	for (size_t i = 0; i < n; i++)
		if (BPF_CLASS(prog[i].code) == BPF_JMP && BPF_OP(prog[i].code) == BPF_JNE)
			ck_assert_int_lt((long)i + 1 + prog[i].off, (long)n);
	/* a short buffer is not overrun, the length is still told */
	ck_assert_uint_eq(lc_cgroup_device_prog(NULL, 0, prog, 3), n);
}
END_TEST

/* The unified hierarchy of this host, or NULL. */
static const char *v2_mount(void)
{
	static const char *const cands[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
	struct statfs sfs;

	for (size_t i = 0; i < LC_ARRAY_SIZE(cands); i++)
		if (statfs(cands[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
			return cands[i];
	return NULL;
}

/* In a child in the cgroup: can we open a node of that type and number? 0, or errno. */
static int try_open(const char *dir, const char *name, mode_t type, unsigned ma, unsigned mi)
{
	char *p = lc_xasprintf("%s/%s", dir, name);
	int fd, e = 0;

	if (mknod(p, type | 0600, makedev(ma, mi)) < 0) {
		e = errno;
		free(p);
		return e == EPERM ? 1000 : e; /* 1000: mknod itself refused */
	}
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		e = errno;
	else
		close(fd);
	free(p);
	return e;
}

START_TEST(test_device_prog_kernel)
{
	const char *mnt = v2_mount();
	char *dir, *cg, *procs;
	struct lc_err *err = NULL;
	int fd, ws;
	pid_t pid;

	if (!mnt || geteuid() != 0)
		return; /* nothing to load it into */
	dir = unit_tmpdir();
	cg = lc_xasprintf("%s/lc-unit-%d", mnt, (int)getpid());
	ck_assert_int_eq(mkdir(cg, 0755), 0);
	if (lc_cgroup_bpf_devices(cg, NULL, 0, &err) < 0) {
		rmdir(cg);
		ck_abort_msg("%s", err->msg);
	}
	procs = lc_xasprintf("%s/cgroup.procs", cg);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int r = 0;

		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(99);
		close(fd);
		/* allowed: null and zero open; kmsg, mem and a loop block device only mknod */
		r |= try_open(dir, "null", S_IFCHR, 1, 3) == 0 ? 0 : 1;
		r |= try_open(dir, "zero", S_IFCHR, 1, 5) == 0 ? 0 : 2;
		r |= try_open(dir, "kmsg", S_IFCHR, 1, 11) == EPERM ? 0 : 4;
		r |= try_open(dir, "mem", S_IFCHR, 1, 1) == EPERM ? 0 : 8;
		r |= try_open(dir, "loop", S_IFBLK, 7, 0) == EPERM ? 0 : 16;
		/* the pty multiplexer may fail otherwise here (no devpts of ours), not EPERM */
		r |= try_open(dir, "ptmx", S_IFCHR, 5, 2) != EPERM ? 0 : 32;
		r |= try_open(dir, "pts", S_IFCHR, 136, 77) != EPERM ? 0 : 64;
		_exit(r);
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_int_eq(rmdir(cg), 0);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
		      "child: status %d (bits of failed checks)",
		      WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
	free(procs);
	free(cg);
	unit_tmpdir_free(dir);
}
END_TEST

/*
 * Rootless on the real kernel: a v2 dir delegated to an unprivileged uid as systemd's
 * Delegate=yes makes it (the dir, cgroup.procs, cgroup.subtree_control, cgroup.threads
 * chowned). A process of that uid in a leaf below finds it, makes the container's cgroup there
 * and a child joins through the fd it opened: the kernel's migration check passes, the common
 * ancestor being the user's. Its exit status: 0, or the step that failed.
 */
static int deleg_child(const char *d, uid_t uid)
{
	struct lc_cgroup_layout lay = { 0 };
	struct lc_cgroup_limits l = { 0 };
	struct lc_cgroup *cg = NULL;
	struct lc_err *err = NULL;
	char *leaf = lc_xasprintf("%s/leaf/cgroup.procs", d), *text = NULL, *self = NULL;
	char *base = NULL, *want, *pmax;
	int fd = open(leaf, O_WRONLY | O_CLOEXEC), ws;
	bool pids = false;
	pid_t pid;

	if (fd < 0 || write(fd, "0", 1) != 1)
		return 10;
	close(fd);
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return 11;
	if (lc_cgroup_layout_load(&lay, &err) < 0 ||
	    lc_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &text, NULL, &err) < 0 ||
	    lc_cgroup_self_v2_path(text, &self, &err) < 0)
		return 12;
	/* a limit where this host delegates its controller (pids, on a v2 host) */
	pmax = lc_xasprintf("%s/cgroup.controllers", d);
	free(text);
	text = NULL;
	if (lc_read_file_at(AT_FDCWD, pmax, 4096, &text, NULL, &err) < 0)
		return 13;
	free(pmax);
	pids = strstr(text, "pids") != NULL;
	l.pids_limit = pids ? 7 : 0;
	if (lc_cgroup_deleg_find_in(&lay, self, geteuid(), &l, &base, &err) < 0 || strcmp(base, d))
		return 14;
	if (lc_cgroup_deleg_create(base, "layerctl", "ctr", &l, &cg, &err) < 0)
		return 15;
	pid = fork();
	if (pid == 0) {
		char *t = NULL;

		if (lc_cgroup_enter(cg, &err) < 0 ||
		    lc_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &t, NULL, &err) < 0)
			_exit(1);
		/* self is <d>/leaf: the container's cgroup is <d>/layerctl/ctr, beside the leaf */
		*strrchr(self, '/') = 0;
		want = lc_xasprintf("0::%s/layerctl/ctr\n", self);
		_exit(strstr(t, want) ? 0 : 2);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return 16;
	if (pids) {
		pmax = lc_xasprintf("%s/layerctl/ctr/pids.max", d);
		free(text);
		text = NULL;
		if (lc_read_file_at(AT_FDCWD, pmax, 64, &text, NULL, &err) < 0 ||
		    strcmp(text, "7\n"))
			return 17;
		free(pmax);
	}
	if (lc_cgroup_destroy(cg, &err) < 0)
		return 18;
	want = lc_xasprintf("%s/layerctl/ctr", d);
	if (access(want, F_OK) == 0)
		return 19;
	free(want);
	free(base);
	free(self);
	free(text);
	free(leaf);
	lc_cgroup_layout_clear(&lay);
	return 0;
}

START_TEST(test_deleg_kernel)
{
	static const char *const files[] = { "", "/cgroup.procs", "/cgroup.subtree_control",
					     "/cgroup.threads" };
	const char *mnt = v2_mount();
	const uid_t uid = 65534;
	char *d, *p;
	pid_t pid;
	int ws;

	if (!mnt || geteuid() != 0)
		return;
	d = lc_xasprintf("%s/lc-unit-deleg-%d", mnt, (int)getpid());
	ck_assert_int_eq(mkdir(d, 0755), 0);
	for (size_t i = 0; i < LC_ARRAY_SIZE(files); i++) {
		p = lc_xasprintf("%s%s", d, files[i]);
		ck_assert_int_eq(chown(p, uid, (gid_t)-1), 0);
		free(p);
	}
	p = lc_xasprintf("%s/leaf", d);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(deleg_child(d, uid));
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	/* whatever the child left, then ours (empty: the child is gone) */
	free(p);
	p = lc_xasprintf("%s/layerctl/ctr", d);
	rmdir(p);
	free(p);
	p = lc_xasprintf("%s/layerctl", d);
	rmdir(p);
	free(p);
	p = lc_xasprintf("%s/leaf", d);
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(rmdir(d), 0);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child: status %d (the step failed)",
		      WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
	free(p);
	free(d);
}
END_TEST

/* lc_cgroup_enter in a child: its exit status (0: joined). */
static int enter_in_child(struct lc_cgroup *cg)
{
	int ws;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lc_err *err = NULL;

		_exit(lc_cgroup_enter(cg, &err) < 0 ? 2 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 100;
}

START_TEST(test_enter)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_cgroup_limits l = { .pids_limit = 5 };
	struct lc_cgroup *cg = NULL;
	struct lc_err *err = NULL;
	char *c = lc_xasprintf("%s/sys/fs/cgroup", root);

	/* v2: joined through the fd opened at creation, as the writer itself ("0") */
	fake_v2(root, &lay);
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "abc", &l, &cg, &err), &err);
	ck_assert_int_eq(enter_in_child(cg), 0);
	ck_file(c, "layerctl/abc/cgroup.procs", "0");
	ck_assert_ok(lc_cgroup_destroy(cg, &err), &err);
	lc_cgroup_layout_clear(&lay);
	unit_tmpdir_free(root);

	/* v1 (a hybrid): every hierarchy joined */
	root = unit_tmpdir();
	free(c);
	c = lc_xasprintf("%s/sys/fs/cgroup", root);
	fake_v1(root, &lay);
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "abc", &l, &cg, &err), &err);
	ck_assert_int_eq(enter_in_child(cg), 0);
	ck_file(c, "memory/layerctl/abc/cgroup.procs", "0");
	ck_file(c, "pids/layerctl/abc/cgroup.procs", "0");
	ck_file(c, "devices/layerctl/abc/cgroup.procs", "0");
	ck_file(c, "cpu,cpuacct/layerctl/abc/cgroup.procs", "0");
	ck_file(c, "blkio/layerctl/abc/cgroup.procs", "0");
	ck_assert(!exists(c, "cpuset/layerctl/abc"));
	ck_assert_ok(lc_cgroup_destroy(cg, &err), &err);
	lc_cgroup_layout_clear(&lay);
	free(c);
	unit_tmpdir_free(root);
}
END_TEST

/* ---------- rootless: the delegated v2 subtree (cgroup-deleg.c) ---------- */

static const struct {
	const char *text;
	enum lc_errc code; /* 0: ok */
	const char *want;
} selfs[] = {
	{ "9:name=systemd:/\n4:memory:/x\n0::/\n", 0, "/" },
	{ "0::/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope\n", 0,
	  "/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope" },
	{ "1:cpu:/\n0::/lct/leaf", 0, "/lct/leaf" }, /* no final newline */
	{ "4:memory:/x\n1:cpu:/\n", LC_ERR_NOTFOUND, NULL },
	{ "10::/x\n", LC_ERR_NOTFOUND, NULL }, /* not "0::" */
	{ "0::/../../elsewhere\n", LC_ERR_INVALID, NULL },
	{ "0::/a/..\n", LC_ERR_INVALID, NULL },
	{ "0::relative\n", LC_ERR_INVALID, NULL },
	{ "", LC_ERR_NOTFOUND, NULL },
};

START_TEST(test_self_v2_path)
{
	char *got = NULL;
	struct lc_err *err = NULL;

	if (!selfs[_i].code) {
		ck_assert_ok(lc_cgroup_self_v2_path(selfs[_i].text, &got, &err), &err);
		ck_assert_str_eq(got, selfs[_i].want);
		free(got);
		return;
	}
	ck_assert_fail(lc_cgroup_self_v2_path(selfs[_i].text, &got, &err), &err, selfs[_i].code);
	ck_assert_ptr_null(got);
	lc_err_free(err);
}
END_TEST

/* ---------- a container's cgroup dirs from /proc/<pid>/cgroup ---------- */

#define DIRS_ID "c0ffee"

/*
 * lay 0: hybrid (memory, cpu with cpuacct, pids on v1; a v2 mount), 1: v2 alone, 2: v1
 * alone. path, v2, mem, cpu, pids: what the parse gives (NULL: none); code != 0: refused with
 * that code and msg in its message.
 */
static const struct {
	int lay;
	const char *text;
	enum lc_errc code;
	const char *msg, *path, *v2, *mem, *cpu, *pids;
} dirs[] = {
	/* v2 alone: the container's own cgroup, with a final newline and without */
	{ 1, "0::/lc/" DIRS_ID "\n", 0, NULL, "/lc/" DIRS_ID, "/v2/lc/" DIRS_ID, NULL, NULL, NULL },
	{ 1, "0::/lc/" DIRS_ID, 0, NULL, "/lc/" DIRS_ID, "/v2/lc/" DIRS_ID, NULL, NULL, NULL },
	/* no cgroup of its own: the caller's, a sibling's, a name that only ends like the id */
	{ 1, "0::/user.slice/session-1.scope\n", 0, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 1, "0::/lc/beef\n", 0, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 1, "0::/lc/x" DIRS_ID "\n", 0, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 1, "0::/" DIRS_ID "/child\n", 0, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 1, "0::/\n", 0, NULL, NULL, NULL, NULL, NULL, NULL },
	{ 1, "", 0, NULL, NULL, NULL, NULL, NULL, NULL },
	/* right under the root */
	{ 1, "0::/" DIRS_ID "\n", 0, NULL, "/" DIRS_ID, "/v2/" DIRS_ID, NULL, NULL, NULL },
	/* v1 and hybrid: several controllers on a line, a named hierarchy (its path is the
	 * first line's), controllers that are not ours, v2's line last */
	{ 0,
	  "12:pids:/lc/" DIRS_ID "\n"
	  "11:name=systemd:/user.slice/session-1.scope\n"
	  "4:cpu,cpuacct:/lc/" DIRS_ID "\n"
	  "3:hugetlb:/lc/" DIRS_ID "\n"
	  "2:memory:/lc/" DIRS_ID "\n"
	  "0::/lc/" DIRS_ID "\n",
	  0, NULL, "/lc/" DIRS_ID, "/v2/lc/" DIRS_ID, "/v1/memory/lc/" DIRS_ID,
	  "/v1/cpu,cpuacct/lc/" DIRS_ID, "/v1/pids/lc/" DIRS_ID },
	{ 0, "1:name=systemd:/lc/" DIRS_ID "\n4:cpuacct,cpu:/lc/" DIRS_ID "\n", 0, NULL,
	  "/lc/" DIRS_ID, NULL, NULL, "/v1/cpu,cpuacct/lc/" DIRS_ID, NULL },
	/* "cpuacct" alone is not "cpu"; "memoryx" is not "memory" */
	{ 0, "4:cpuacct:/lc/" DIRS_ID "\n2:memoryx:/lc/" DIRS_ID "\n", 0, NULL, "/lc/" DIRS_ID,
	  NULL, NULL, NULL, NULL },
	/* the container in its own cgroup on one hierarchy, the caller's on another */
	{ 0, "2:memory:/lc/" DIRS_ID "\n12:pids:/user.slice\n0::/init.scope\n", 0, NULL,
	  "/lc/" DIRS_ID, NULL, "/v1/memory/lc/" DIRS_ID, NULL, NULL },
	/* the first of a controller's lines wins */
	{ 0, "2:memory:/a/" DIRS_ID "\n7:memory:/b/" DIRS_ID "\n", 0, NULL, "/a/" DIRS_ID, NULL,
	  "/v1/memory/a/" DIRS_ID, NULL, NULL },
	/* v2's line on a layout without v2: its path, no dir */
	{ 2, "0::/lc/" DIRS_ID "\n", 0, NULL, "/lc/" DIRS_ID, NULL, NULL, NULL, NULL },
	/* v1 lines on a v2 layout: their path, no dir */
	{ 1, "2:memory:/lc/" DIRS_ID "\n", 0, NULL, "/lc/" DIRS_ID, NULL, NULL, NULL, NULL },
	/* a name with dots in it is not a ".." */
	{ 1, "0::/..lc/" DIRS_ID "\n", 0, NULL, "/..lc/" DIRS_ID, "/v2/..lc/" DIRS_ID, NULL, NULL,
	  NULL },
	/* malformed */
	{ 1, "0:/lc/" DIRS_ID "\n", LC_ERR_INVALID,
	  "line 1: '0:/lc/" DIRS_ID "' is not 'hierarchy:controllers:path'", NULL, NULL, NULL, NULL,
	  NULL },
	{ 1, "no colons\n", LC_ERR_INVALID, "line 1: 'no colons' is not", NULL, NULL, NULL, NULL,
	  NULL },
	{ 1, "0::/x\n\n0::/lc/" DIRS_ID "\n", LC_ERR_INVALID, "line 2: '' is not", NULL, NULL, NULL,
	  NULL, NULL },
	{ 0, "2:memory:\n", LC_ERR_INVALID, "line 1: path '' is not absolute", NULL, NULL, NULL,
	  NULL, NULL },
	{ 1, "0::lc/" DIRS_ID "\n", LC_ERR_INVALID, "line 1: path 'lc/" DIRS_ID "' is not absolute",
	  NULL, NULL, NULL, NULL, NULL },
	{ 1, "::/lc/" DIRS_ID "\n", LC_ERR_INVALID, "line 1: hierarchy ID '' is not a number", NULL,
	  NULL, NULL, NULL, NULL },
	{ 0, "x2:memory:/lc/" DIRS_ID "\n", LC_ERR_INVALID,
	  "line 1: hierarchy ID 'x2' is not a number", NULL, NULL, NULL, NULL, NULL },
	/* outside the reader's cgroup namespace, or a path with "." in it: refused */
	{ 1, "0::/../../lc/" DIRS_ID "\n", LC_ERR_INVALID,
	  "line 1: the container's cgroup path '/../../lc/" DIRS_ID
	  "' is not below this cgroup namespace's root",
	  NULL, NULL, NULL, NULL, NULL },
	{ 0, "2:memory:/lc/" DIRS_ID "\n4:cpu:/lc/../" DIRS_ID "\n", LC_ERR_INVALID,
	  "line 2: the container's cgroup path '/lc/../" DIRS_ID "' is not below", NULL, NULL, NULL,
	  NULL, NULL },
	{ 1, "0::/lc/./" DIRS_ID "\n", LC_ERR_INVALID, "is not below", NULL, NULL, NULL, NULL,
	  NULL },
	/* not the container's: a ".." in another cgroup's path is none of ours */
	{ 1, "0::/../../user.slice\n", 0, NULL, NULL, NULL, NULL, NULL, NULL },
};

static void dirs_want(int i, const char *what, const char *got, const char *want)
{
	if (!want)
		ck_assert_msg(!got, "dirs[%d] %s: '%s', want none", i, what, got);
	else
		ck_assert_msg(got && !strcmp(got, want), "dirs[%d] %s: '%s', want '%s'", i, what,
			      got ? got : "(none)", want);
}

static const char *const dirs_names[LC_CG_N] = {
	[LC_CG_MEMORY] = "memory",
	[LC_CG_CPU] = "cpu",
	[LC_CG_PIDS] = "pids",
	[LC_CG_IO] = "blkio", /* not mounted in either layout */
};

/* the layouts of dirs[].lay: the parse reads no file */
static void dirs_layout(int which, struct lc_cgroup_layout *lay)
{
	memset(lay, 0, sizeof(*lay));
	if (which != 2)
		lay->v2 = lc_xstrdup("/v2");
	if (which == 1)
		return;
	lay->v1[LC_CG_MEMORY] = lc_xstrdup("/v1/memory");
	lay->v1[LC_CG_CPU] = lc_xstrdup("/v1/cpu,cpuacct");
	lay->v1[LC_CG_PIDS] = lc_xstrdup("/v1/pids");
}

START_TEST(test_dirs_parse)
{
	struct lc_cgroup_layout lay;
	struct lc_cgroup_dirs d;
	struct lc_err *err = NULL;

	dirs_layout(dirs[_i].lay, &lay);
	if (dirs[_i].code) {
		memset(&d, 0x5a, sizeof(d));
		ck_assert_fail(
			lc_cgroup_dirs_parse(dirs[_i].text, DIRS_ID, &lay, dirs_names, &d, &err),
			&err, dirs[_i].code);
		ck_assert_msg(strstr(err->msg, dirs[_i].msg), "dirs[%d]: '%s', want '%s' in it", _i,
			      err->msg, dirs[_i].msg);
		/* *ret untouched on failure */
		ck_assert_ptr_eq(d.path, (char *)(uintptr_t)0x5a5a5a5a5a5a5a5aULL);
		lc_err_free(err);
		lc_cgroup_layout_clear(&lay);
		return;
	}
	ck_assert_ok(lc_cgroup_dirs_parse(dirs[_i].text, DIRS_ID, &lay, dirs_names, &d, &err),
		     &err);
	dirs_want(_i, "path", d.path, dirs[_i].path);
	dirs_want(_i, "v2", d.v2, dirs[_i].v2);
	dirs_want(_i, "memory", d.v1[LC_CG_MEMORY], dirs[_i].mem);
	dirs_want(_i, "cpu", d.v1[LC_CG_CPU], dirs[_i].cpu);
	dirs_want(_i, "pids", d.v1[LC_CG_PIDS], dirs[_i].pids);
	for (size_t c = 0; c < LC_CG_N; c++)
		if (c != LC_CG_MEMORY && c != LC_CG_CPU && c != LC_CG_PIDS)
			ck_assert_ptr_null(d.v1[c]);
	lc_cgroup_dirs_clear(&d);
	lc_cgroup_layout_clear(&lay);
}
END_TEST

/* a NULL name skips its controller even where it is mounted and listed */
START_TEST(test_dirs_parse_null_name)
{
	static const char *const only_pids[LC_CG_N] = { [LC_CG_PIDS] = "pids" };
	struct lc_cgroup_layout lay;
	struct lc_cgroup_dirs d;
	struct lc_err *err = NULL;

	dirs_layout(0, &lay);
	ck_assert_ok(lc_cgroup_dirs_parse("2:memory:/lc/" DIRS_ID "\n12:pids:/lc/" DIRS_ID "\n",
					  DIRS_ID, &lay, only_pids, &d, &err),
		     &err);
	ck_assert_ptr_null(d.v1[LC_CG_MEMORY]);
	ck_assert_str_eq(d.v1[LC_CG_PIDS], "/v1/pids/lc/" DIRS_ID);
	ck_assert_str_eq(d.path, "/lc/" DIRS_ID);
	lc_cgroup_dirs_clear(&d);
	lc_cgroup_layout_clear(&lay);
}
END_TEST

/* a path of PATH_MAX bytes or more is refused, one just under it is not; so is a bad id */
START_TEST(test_dirs_parse_long)
{
	struct lc_cgroup_layout lay;
	struct lc_cgroup_dirs d;
	struct lc_err *err = NULL;
	char *text, *p;
	size_t plen = PATH_MAX - 1;

	dirs_layout(1, &lay);
	text = lc_xmalloc(3 + PATH_MAX + 2);
	memcpy(text, "0::", 3);
	p = text + 3;
	memset(p, 'a', plen);
	p[0] = '/';
	p[plen - strlen(DIRS_ID) - 1] = '/';
	memcpy(p + plen - strlen(DIRS_ID), DIRS_ID, strlen(DIRS_ID));
	p[plen] = '\n';
	p[plen + 1] = 0;
	ck_assert_ok(lc_cgroup_dirs_parse(text, DIRS_ID, &lay, dirs_names, &d, &err), &err);
	ck_assert_uint_eq(strlen(d.path), plen);
	lc_cgroup_dirs_clear(&d);
	/* one more byte */
	memmove(p + 1, p, plen + 2);
	ck_assert_fail(lc_cgroup_dirs_parse(text, DIRS_ID, &lay, dirs_names, &d, &err), &err,
		       LC_ERR_INVALID);
	ck_assert_msg(strstr(err->msg, "line 1: path of 4096 bytes is longer than PATH_MAX"), "%s",
		      err->msg);
	lc_err_free(err);
	err = NULL;
	free(text);
	ck_assert_fail(lc_cgroup_dirs_parse("0::/lc/a/b\n", "a/b", &lay, dirs_names, &d, &err),
		       &err, LC_ERR_INVALID);
	ck_assert_str_eq(err->msg, "cgroup: invalid container id 'a/b'");
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_cgroup_dirs_parse("0::/lc/\n", "", &lay, dirs_names, &d, &err), &err,
		       LC_ERR_INVALID);
	lc_err_free(err);
	lc_cgroup_layout_clear(&lay);
}
END_TEST

/* the reader: this process's own file parses, a missing pid's is named */
START_TEST(test_dirs_of_proc)
{
	struct lc_cgroup_layout lay;
	struct lc_cgroup_dirs d;
	struct lc_err *err = NULL;

	dirs_layout(0, &lay);
	/* no cgroup of ours is named "no-such-container-id" */
	ck_assert_ok(
		lc_cgroup_dirs_of(getpid(), "no-such-container-id", &lay, dirs_names, &d, &err),
		&err);
	ck_assert_ptr_null(d.path);
	ck_assert_ptr_null(d.v2);
	lc_cgroup_dirs_clear(&d);
	ck_assert_fail(lc_cgroup_dirs_of(INT_MAX, DIRS_ID, &lay, dirs_names, &d, &err), &err,
		       LC_ERR_NOTFOUND);
	ck_assert_msg(strstr(err->msg, "/proc/2147483647/cgroup"), "%s", err->msg);
	lc_err_free(err);
	lc_cgroup_layout_clear(&lay);
}
END_TEST

/*
 * This host's hybrid layout, faked: memory, cpu, pids ... on v1, a v2 mount at unified/ with
 * hugetlb only, and in it what systemd's Delegate=yes makes for a user: d/ (its
 * cgroup.controllers as given), the caller in its leaf d/leaf.
 */
static void fake_deleg(const char *root, const char *ctl, struct lc_cgroup_layout *lay)
{
	struct lc_err *err = NULL;

	/* the root is root's (not delegated: here, without the files a user would write) */
	put(root, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
	put(root, "sys/fs/cgroup/unified/d/cgroup.controllers", ctl);
	put(root, "sys/fs/cgroup/unified/d/cgroup.procs", "");
	put(root, "sys/fs/cgroup/unified/d/cgroup.subtree_control", "");
	put(root, "sys/fs/cgroup/unified/d/leaf/cgroup.controllers", ctl);
	put(root, "sys/fs/cgroup/unified/d/leaf/cgroup.procs", "4242\n");
	put(root, "sys/fs/cgroup/unified/d/leaf/cgroup.subtree_control", "");
	ck_assert_ok(lc_cgroup_layout_parse(mi_hybrid, root, lay, &err), &err);
	lay->fake = true;
}

#define ck_refused(call, ...)                                                                      \
	do {                                                                                       \
		const char *_w[] = { __VA_ARGS__ };                                                \
		ck_assert_fail(call, &err, LC_ERR_INVALID);                                        \
		for (size_t _k = 0; _k < LC_ARRAY_SIZE(_w); _k++)                                  \
			ck_assert_msg(strstr(err->msg, _w[_k]), "'%s' lacks '%s'", err->msg,       \
				      _w[_k]);                                                     \
		ck_assert_msg(!strchr(err->msg, '\n'), "not one line: %s", err->msg);              \
		lc_err_free(err);                                                                  \
		err = NULL;                                                                        \
	} while (0)

START_TEST(test_deleg_find)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout lay;
	struct lc_cgroup_limits mem = { .memory = 100 << 20 }, pids = { .pids_limit = 20 },
				io = { .blkio_weight = 500 };
	struct lc_device dev = { .type = 'c', .major = 1, .minor = 3, .access = "rwm" };
	struct lc_cgroup_limits devs = { .devices = &dev, .n_devices = 1 };
	struct lc_err *err = NULL;
	char *base = NULL, *d, *self;
	uid_t me = geteuid();

	fake_deleg(root, "cpu memory pids\n", &lay);
	d = lc_xasprintf("%s/sys/fs/cgroup/unified/d", root);
	self = lc_xasprintf("%s/sys/fs/cgroup/unified/d/leaf", root);

	/* the caller's own cgroup holds it: the nearest delegated one above it */
	ck_assert_ok(lc_cgroup_deleg_find_in(&lay, "/d/leaf", me, &pids, &base, &err), &err);
	ck_assert_str_eq(base, d);
	free(base);
	base = NULL;
	/* deeper: still the nearest, d/leaf itself (owned, writable, and above the caller) */
	put(root, "sys/fs/cgroup/unified/d/leaf/x/cgroup.procs", "");
	ck_assert_ok(lc_cgroup_deleg_find_in(&lay, "/d/leaf/x", me, &pids, &base, &err), &err);
	ck_assert_str_eq(base, self);
	free(base);
	base = NULL;

	/* owned by someone else: none delegated (the v2 controller is missing anyway, but the
	 * reason given is the first one met: no subtree); pids is on v1 here, so it says v1 */
	ck_refused(lc_cgroup_deleg_find_in(&lay, "/d/leaf", me + 1, &pids, &base, &err),
		   "--pids-limit needs a cgroup", "controllers are cgroup v1 (pids here)",
		   "never delegates");
	/* on a host with no v1 controller: no delegated subtree, naming our cgroup and the fix */
	{
		struct lc_cgroup_layout v2only = { .v2 = lc_xstrdup(lay.v2), .fake = true };

		put(root, "sys/fs/cgroup/unified/d/cgroup.controllers", "cpu memory pids io\n");
		ck_refused(lc_cgroup_deleg_find_in(&v2only, "/d/leaf", me + 1, &mem, &base, &err),
			   "--memory needs a cgroup", "no cgroup v2 subtree is delegated", self,
			   "Delegate=yes", "loginctl enable-linger");
		/* owned, but cgroup.subtree_control was not handed over: not delegated */
		{
			char *sc = lc_xasprintf("%s/cgroup.subtree_control", d);
			char *sc2 = lc_xasprintf("%s/leaf/cgroup.subtree_control", d);

			ck_assert_int_eq(unlink(sc), 0);
			ck_assert_int_eq(unlink(sc2), 0);
			ck_refused(
				lc_cgroup_deleg_find_in(&v2only, "/d/leaf", me, &mem, &base, &err),
				"no cgroup v2 subtree is delegated");
			put(d, "cgroup.subtree_control", "");
			put(d, "leaf/cgroup.subtree_control", "");
			free(sc);
			free(sc2);
		}
		/* delegated, the controller not: naming it, the dir and Delegate= */
		put(root, "sys/fs/cgroup/unified/d/cgroup.controllers", "cpu memory pids\n");
		ck_refused(lc_cgroup_deleg_find_in(&v2only, "/d/leaf", me, &io, &base, &err),
			   "--blkio-weight needs the io controller", d, "not delegated",
			   "Delegate=");
		ck_assert_ok(lc_cgroup_deleg_find_in(&v2only, "/d/leaf", me, &mem, &base, &err),
			     &err);
		ck_assert_str_eq(base, d);
		free(base);
		base = NULL;
		lc_cgroup_layout_clear(&v2only);
	}

	/* hybrid: memory on v1, so the delegated dir cannot list it: naming memory, d and v1 */
	put(root, "sys/fs/cgroup/unified/d/cgroup.controllers", "pids\n");
	ck_refused(lc_cgroup_deleg_find_in(&lay, "/d/leaf", me, &mem, &base, &err),
		   "--memory needs the memory controller", d, "cgroup v1", "never delegates");
	/* the caller at the v2 root: nothing above it */
	ck_refused(lc_cgroup_deleg_find_in(&lay, "/", me + 1, &mem, &base, &err),
		   "controllers are cgroup v1 (memory here)");
	/* --device: a device policy needs root */
	ck_refused(lc_cgroup_deleg_find_in(&lay, "/d/leaf", me, &devs, &base, &err), "--device",
		   "run as root");
	ck_assert_ptr_null(base);
	free(d);
	free(self);
	lc_cgroup_layout_clear(&lay);
	unit_tmpdir_free(root);
}
END_TEST

START_TEST(test_deleg_create)
{
	char *root = unit_tmpdir();
	struct lc_cgroup_layout host, lay;
	struct lc_cgroup_limits l = { .memory = 100 << 20,
				      .pids_limit = 20,
				      .nano_cpus = 500000000 };
	struct lc_cgroup *cg = NULL;
	struct lc_err *err = NULL;
	char *base = NULL, *u;
	bool oom = true;

	fake_deleg(root, "cpu memory pids\n", &host);
	/* a v2-only host (this one's memory is v1) */
	for (size_t c = 0; c < LC_CG_N; c++) {
		free(host.v1[c]);
		host.v1[c] = NULL;
	}
	u = lc_xasprintf("%s/sys/fs/cgroup/unified", root);
	ck_assert_ok(lc_cgroup_limits_check(&l, &err), &err);
	ck_assert_ok(lc_cgroup_deleg_find_in(&host, "/d/leaf", geteuid(), &l, &base, &err), &err);
	ck_assert_ok(lc_cgroup_deleg_layout(base, true, &lay, &err), &err);
	ck_assert(lay.delegated && lay.on_v2[LC_CG_MEMORY] && !lay.on_v2[LC_CG_IO]);
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "abc", &l, &cg, &err), &err);
	/* the controllers enabled from the delegated dir down, nothing written above it */
	ck_file(u, "d/cgroup.subtree_control", "+memory\n+cpu\n+pids\n");
	ck_file(u, "d/layerctl/cgroup.subtree_control", "+memory\n+cpu\n+pids\n");
	ck_assert(!exists(u, "cgroup.subtree_control"));
	ck_file(u, "d/layerctl/abc/memory.max", "104857600\n");
	ck_file(u, "d/layerctl/abc/memory.swap.max", "104857600\n");
	ck_file(u, "d/layerctl/abc/pids.max", "20\n");
	ck_file(u, "d/layerctl/abc/cpu.max", "50000 100000\n");
	ck_assert(!exists(u, "d/layerctl/abc/io.weight"));
	ck_assert(!exists(u, "d/leaf/layerctl"));
	/* OOM: read back from the delegated cgroup's memory.events, as for root */
	put(u, "d/layerctl/abc/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
	ck_assert_ok(lc_cgroup_oom_killed(cg, &oom, &err), &err);
	ck_assert(oom);
	ck_assert_ok(lc_cgroup_destroy(cg, &err), &err);
	ck_assert(!exists(u, "d/layerctl/abc"));
	/* a killed run's leftover, by name */
	ck_assert_ok(lc_cgroup_create_in(&lay, "layerctl", "def", &l, &cg, &err), &err);
	lc_cgroup_forget(cg);
	ck_assert(exists(u, "d/layerctl/def/memory.max"));
	ck_assert_ok(lc_cgroup_remove_in(&lay, "layerctl", "def", &err), &err);
	ck_assert(!exists(u, "d/layerctl/def"));
	ck_assert(exists(u, "d/leaf/cgroup.procs"));
	free(base);
	free(u);
	lc_cgroup_layout_clear(&lay);
	lc_cgroup_layout_clear(&host);
	unit_tmpdir_free(root);
}
END_TEST

static Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("parse");
	TCase *fake = tcase_create("fake cgroupfs");
	TCase *root = tcase_create("root");

	tcase_add_loop_test(tc, test_parse_size, 0, LC_ARRAY_SIZE(sizes));
	tcase_add_test(tc, test_human_binary);
	tcase_add_loop_test(tc, test_parse_cpus, 0, LC_ARRAY_SIZE(cpus));
	tcase_add_test(tc, test_shares_weight);
	tcase_add_test(tc, test_parse_cpuset_parent);
	tcase_add_test(tc, test_parse_rate);
	tcase_add_loop_test(tc, test_limits_check, 0, LC_ARRAY_SIZE(checks));
	tcase_add_test(tc, test_limits_any);
	suite_add_tcase(s, tc);
	tcase_add_test(fake, test_layout_hybrid);
	tcase_add_test(fake, test_layout_v1_v2);
	tcase_add_test(fake, test_v1_writer);
	tcase_add_test(fake, test_v1_minimal_and_missing);
	tcase_add_test(fake, test_v2_writer);
	tcase_add_test(fake, test_device_prog_shape);
	tcase_add_test(fake, test_enter);
	tcase_add_loop_test(fake, test_self_v2_path, 0, LC_ARRAY_SIZE(selfs));
	tcase_add_loop_test(fake, test_dirs_parse, 0, LC_ARRAY_SIZE(dirs));
	tcase_add_test(fake, test_dirs_parse_null_name);
	tcase_add_test(fake, test_dirs_parse_long);
	tcase_add_test(fake, test_dirs_of_proc);
	tcase_add_test(fake, test_deleg_find);
	tcase_add_test(fake, test_deleg_create);
	suite_add_tcase(s, fake);
	tcase_set_tags(root, "root");
	tcase_add_test(root, test_device_prog_kernel);
	tcase_add_test(root, test_deleg_kernel);
	suite_add_tcase(s, root);
	return s;
}

int main(void)
{
	return unit_run(cgroup_suite());
}
