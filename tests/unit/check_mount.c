/* SPDX-License-Identifier: MIT */
/*
 * mount: option strings, user parsing, PATH lookup, the seccomp filter (no privileges), and,
 * tagged "root", real overlay mounts and real containers from a busybox rootfs
 * (CK_EXCLUDE_TAGS=root skips them).
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "unit.h"
#include "../../mount/mount-int.h"

/* ---------- helpers ---------- */

static void put_file(const char *dir, const char *name, const char *content, mode_t mode)
{
	struct lc_err *err = NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *slash = strrchr(name, '/');

	ck_assert_int_ge(dfd, 0);
	if (slash) {
		char *parent = lc_xstrndup(name, (size_t)(slash - name));

		ck_assert_ok(lc_mkdir_p_at(dfd, parent, 0755, &err), &err);
		free(parent);
	}
	ck_assert_ok(lc_write_file_atomic_at(dfd, name, content, strlen(content), mode, &err),
		     &err);
	close(dfd);
}

static char *slurp(const char *path)
{
	struct lc_err *err = NULL;
	char *buf = NULL;
	size_t len;

	ck_assert_ok(lc_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &err), &err);
	return buf;
}

static bool mounted_under(const char *dir)
{
	char *mi = slurp("/proc/self/mountinfo");
	bool found = strstr(mi, dir) != NULL;

	free(mi);
	return found;
}

/* ---------- user parsing ---------- */

static const struct {
	const char *in;
	bool ok;
	bool uid_is_name, has_group, gid_is_name;
	uint32_t uid, gid;
	const char *name, *group;
} users[] = {
	{ NULL, true, false, false, false, 0, 0, "", "" },
	{ "", true, false, false, false, 0, 0, "", "" },
	{ "0", true, false, false, false, 0, 0, "", "" },
	{ "1000:1000", true, false, true, false, 1000, 1000, "", "" },
	{ "2147483647:2147483647", true, false, true, false, 2147483647u, 2147483647u, "", "" },
	/* CVE-2024-40635: above INT32_MAX is refused, like runc's "must be in range" */
	{ "2147483648", false, false, false, false, 0, 0, "", "" },
	{ "0:2147483648", false, false, false, false, 0, 0, "", "" },
	{ "4294967294:4294967294", false, false, false, false, 0, 0, "", "" },
	{ "www-data", true, true, false, false, 0, 0, "www-data", "" },
	{ "app:staff", true, true, true, true, 0, 0, "app", "staff" },
	{ "1000:staff", true, false, true, true, 1000, 0, "", "staff" },
	{ "4294967295", false, false, false, false, 0, 0, "", "" },
	{ "4294967296:0", false, false, false, false, 0, 0, "", "" },
	{ "0:99999999999999999999", false, false, false, false, 0, 0, "", "" },
	{ "-1", false, false, false, false, 0, 0, "", "" },
	{ "+5", false, false, false, false, 0, 0, "", "" },
	{ "1000:", false, false, false, false, 0, 0, "", "" },
	{ ":1000", false, false, false, false, 0, 0, "", "" },
	{ "a:b:c", false, false, false, false, 0, 0, "", "" },
	{ "root user", false, false, false, false, 0, 0, "", "" },
	{ "../etc", false, false, false, false, 0, 0, "", "" },
	{ "x\n", false, false, false, false, 0, 0, "", "" },
};

START_TEST(user_parse_table)
{
	struct lc_user_spec u;
	struct lc_err *err = NULL;

	if (!users[_i].ok) {
		ck_assert_fail(lc_user_parse(users[_i].in, &u, &err), &err, LC_ERR_INVALID);
		lc_err_free(err);
		return;
	}
	ck_assert_ok(lc_user_parse(users[_i].in, &u, &err), &err);
	ck_assert_int_eq(u.uid_is_name, users[_i].uid_is_name);
	ck_assert_int_eq(u.has_group, users[_i].has_group);
	ck_assert_int_eq(u.gid_is_name, users[_i].gid_is_name);
	if (!u.uid_is_name)
		ck_assert_uint_eq(u.uid, users[_i].uid);
	else
		ck_assert_str_eq(u.name, users[_i].name);
	if (u.has_group && !u.gid_is_name)
		ck_assert_uint_eq(u.gid, users[_i].gid);
	if (u.gid_is_name)
		ck_assert_str_eq(u.group, users[_i].group);
}
END_TEST

static int resolve(const char *dir, const char *spec_s, struct lc_user *u, struct lc_err **err)
{
	struct lc_user_spec spec;
	char *p = lc_xasprintf("%s/passwd", dir), *g = lc_xasprintf("%s/group", dir);
	int pw = open(p, O_RDONLY | O_CLOEXEC), gr = open(g, O_RDONLY | O_CLOEXEC);
	int r = lc_user_parse(spec_s, &spec, err);

	if (r == 0)
		r = lc_user_resolve(&spec, pw, gr, u, err);
	if (pw >= 0)
		close(pw);
	if (gr >= 0)
		close(gr);
	free(p);
	free(g);
	return r;
}

START_TEST(user_resolve_passwd_group)
{
	char *dir = unit_tmpdir();
	struct lc_err *err = NULL;
	struct lc_user u;

	put_file(dir, "passwd",
		 "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\n"
		 "app:x:1000:1001:App:/home/app:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/"
		 "false",
		 0644);
	put_file(dir, "group",
		 "root:x:0:\nstaff:x:50:app,other\napp:x:1001:\naudio:x:29:bob,app\nvideo:x:44:"
		 "bob\n",
		 0644);
	ck_assert_ok(resolve(dir, "app", &u, &err), &err);
	ck_assert_uint_eq(u.uid, 1000);
	ck_assert_uint_eq(u.gid, 1001);
	ck_assert_str_eq(u.home, "/home/app");
	ck_assert_uint_eq(u.n_groups, 2);
	ck_assert_uint_eq(u.groups[0], 50);
	ck_assert_uint_eq(u.groups[1], 29);
	/* numeric uid: found in passwd (last line has no newline) */
	ck_assert_ok(resolve(dir, "65534", &u, &err), &err);
	ck_assert_uint_eq(u.gid, 65534);
	ck_assert_str_eq(u.home, "/nonexistent");
	/* numeric uid not in passwd: fine, group 0, no home */
	ck_assert_ok(resolve(dir, "4242", &u, &err), &err);
	ck_assert_uint_eq(u.uid, 4242);
	ck_assert_uint_eq(u.gid, 0);
	ck_assert_str_eq(u.home, "");
	ck_assert_ok(resolve(dir, "app:staff", &u, &err), &err);
	ck_assert_uint_eq(u.gid, 50);
	ck_assert_ok(resolve(dir, "4242:7", &u, &err), &err);
	ck_assert_uint_eq(u.gid, 7);
	ck_assert_fail(resolve(dir, "ghost", &u, &err), &err, LC_ERR_NOTFOUND);
	ck_assert_str_eq(err->msg, "unable to find user ghost: no matching entries in passwd file");
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(resolve(dir, "app:nogroup", &u, &err), &err, LC_ERR_NOTFOUND);
	lc_err_free(err);
	unit_tmpdir_free(dir);
}
END_TEST

/* passwd/group entries with ids above LC_ID_MAX never become the container's ids */
START_TEST(user_resolve_refuses_big_ids)
{
	char *dir = unit_tmpdir();
	struct lc_err *err = NULL;
	struct lc_user u;

	put_file(dir, "passwd",
		 "big:x:2147483648:0::/:/bin/sh\nwrap:x:4294967296:0::/:/bin/sh\n"
		 "biggid:x:1000:2147483648::/:/bin/sh\napp:x:1001:1001::/home/app:/bin/sh\n",
		 0644);
	put_file(dir, "group", "app:x:1001:\nhuge:x:3000000000:app\n", 0644);
	ck_assert_fail(resolve(dir, "big", &u, &err), &err, LC_ERR_INVALID);
	ck_assert_str_eq(err->msg,
			 "/etc/passwd entry of 'big': uids and gids must be in range 0-2147483647");
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(resolve(dir, "wrap", &u, &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(resolve(dir, "1000", &u, &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	err = NULL;
	/* a supplementary group listing the user with a huge gid */
	ck_assert_fail(resolve(dir, "app", &u, &err), &err, LC_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err->msg, "/etc/group entry of 'huge'"));
	lc_err_free(err);
	err = NULL;
	/* a numeric uid that no entry carries is fine; entries we do not use do not matter */
	ck_assert_ok(resolve(dir, "4242", &u, &err), &err);
	ck_assert_uint_eq(u.uid, 4242);
	unit_tmpdir_free(dir);
}
END_TEST

START_TEST(user_resolve_bounded_lines)
{
	char *dir = unit_tmpdir();
	struct lc_err *err = NULL;
	struct lc_user u;
	size_t n = LC_ENT_MAX_LINE + 10;
	char *big = lc_xmalloc(n + 64);
	char *path;
	int fd;

	put_file(dir, "passwd", "app:x:1000:1000::/home/app:/bin/sh\n", 0644);
	/* one endless /etc/group line (CVE-2026-47262): refused, not read to the end */
	memcpy(big, "huge:x:5:", 9);
	memset(big + 9, 'a', n - 9);
	big[n] = 0;
	path = lc_xasprintf("%s/group", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lc_write_all(fd, big, n), 0);
	close(fd);
	ck_assert_fail(resolve(dir, "app", &u, &err), &err, LC_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err->msg, "/etc/group"));
	lc_err_free(err);
	free(path);
	free(big);
	unit_tmpdir_free(dir);
}
END_TEST

/* ---------- the container never runs the launcher's own binary ---------- */

static void put_elf_with_interp(const char *dir, const char *name, const char *interp)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		char interp[64];
	} img = { 0 };
	char *p = lc_xasprintf("%s/%s", dir, name);
	int fd;

	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_X86_64;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_phoff = offsetof(__typeof__(img), ph);
	img.eh.e_ehsize = sizeof(Elf64_Ehdr);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_INTERP;
	img.ph.p_offset = offsetof(__typeof__(img), interp);
	img.ph.p_filesz = strlen(interp) + 1;
	snprintf(img.interp, sizeof(img.interp), "%s", interp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lc_write_all(fd, &img, sizeof(img)), 0);
	close(fd);
	free(p);
}

/* lc_launch_check_exec on dir/name opened as the launcher opens a command */
static int check_exec_script(const char *dir, const char *name, bool *script, struct lc_err **err)
{
	struct stat self;
	char *p = lc_xasprintf("%s/%s", dir, name);
	int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int r;

	ck_assert_int_eq(stat("/proc/self/exe", &self), 0);
	r = lc_launch_check_exec(name, fd, self.st_dev, self.st_ino, script, err);
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

static int check_exec(const char *dir, const char *name, struct lc_err **err)
{
	return check_exec_script(dir, name, NULL, err);
}

START_TEST(check_exec_refuses_own_binary)
{
	char *dir = unit_tmpdir();
	char *a = lc_xasprintf("#!%s/direct arg\n", dir);
	char *fifo = lc_xasprintf("%s/fifo", dir), *link = lc_xasprintf("%s/link", dir);
	struct lc_err *err = NULL;

	/* CVE-2019-5736: "#!/proc/self/exe", directly, through a chain, through PT_INTERP */
	put_file(dir, "direct", "#!/proc/self/exe\n", 0755);
	put_file(dir, "spaced", "#! \t/proc/1/../self/exe -x\n", 0755);
	put_file(dir, "chain", a, 0755);
	put_elf_with_interp(dir, "elf", "/proc/self/exe");
	ck_assert_int_eq(symlink("/proc/self/exe", link), 0);
	ck_assert_fail(check_exec(dir, "direct", &err), &err, LC_ERR_EXEC);
	ck_assert_str_eq(err->msg, "exec: \"direct\": its interpreter '/proc/self/exe' is the "
				   "launcher's own binary: refusing to run it in the container");
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(check_exec(dir, "spaced", &err), &err, LC_ERR_EXEC);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(check_exec(dir, "chain", &err), &err, LC_ERR_EXEC);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(check_exec(dir, "elf", &err), &err, LC_ERR_EXEC);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(check_exec(dir, "link", &err), &err, LC_ERR_EXEC);
	ck_assert_str_eq(err->msg, "exec: \"link\": is the launcher's own binary: refusing to "
				   "run it in the container");
	lc_err_free(err);
	err = NULL;

	/* ordinary programs pass; a FIFO is not read (no hang); missing is execve's business */
	put_file(dir, "script", "#!/bin/sh\necho hi\n", 0755);
	put_file(dir, "noshebang", "echo hi\n", 0755);
	put_file(dir, "bare", "#!", 0755);
	put_elf_with_interp(dir, "elfok", "/lib64/ld-linux-x86-64.so.2");
	ck_assert_int_eq(mkfifo(fifo, 0755), 0);
	{
		bool script = false;

		ck_assert_ok(check_exec_script(dir, "script", &script, &err), &err);
		ck_assert(script);
		ck_assert_ok(check_exec_script(dir, "noshebang", &script, &err), &err);
		ck_assert(!script);
		ck_assert_ok(check_exec_script(dir, "elfok", &script, &err), &err);
		ck_assert(!script);
	}
	ck_assert_ok(check_exec(dir, "bare", &err), &err);
	ck_assert_ok(check_exec(dir, "elfok", &err), &err);
	ck_assert_ok(check_exec(dir, "fifo", &err), &err);
	ck_assert_ok(check_exec(dir, "missing", &err), &err);
	{
		int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);

		ck_assert_ok(lc_launch_check_exec("busybox", fd, 0, 0, NULL, &err), &err);
		close(fd);
	}
	free(a);
	free(fifo);
	free(link);
	unit_tmpdir_free(dir);
}
END_TEST

/* ---------- overlay options ---------- */

START_TEST(overlay_legacy_opts_exact)
{
	const char *lowers[] = { "l/B", "l/A" };
	struct lc_err *err = NULL;
	char *s = NULL;

	ck_assert_ok(lc_overlay_legacy_opts(lowers, 2, "containers/c/upper", "containers/c/work",
					    true, 4095, &s, &err),
		     &err);
	ck_assert_str_eq(s, "lowerdir=l/B:l/A,upperdir=containers/c/upper,"
			    "workdir=containers/c/work,index=off");
	free(s);
	ck_assert_ok(lc_overlay_legacy_opts(lowers, 1, "u", "w", false, 4095, &s, &err), &err);
	ck_assert_str_eq(s, "lowerdir=l/B,upperdir=u,workdir=w");
	free(s);
}
END_TEST

static const char *const bad_paths[] = { "l/a:b", "l/a,b", "l/a\\b", "" };

START_TEST(overlay_legacy_opts_refuse_separators)
{
	const char *lowers[] = { "l/ok", bad_paths[_i] };
	struct lc_err *err = NULL;
	char *s = NULL;

	ck_assert_fail(lc_overlay_legacy_opts(lowers, 2, "u", "w", true, 4095, &s, &err), &err,
		       LC_ERR_UNSAFE);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_overlay_legacy_opts(lowers, 1, bad_paths[_i], "w", true, 4095, &s, &err),
		       &err, LC_ERR_UNSAFE);
	lc_err_free(err);
	ck_assert_ptr_null(s);
}
END_TEST

/* n links named like moby's/containers' l/ ids: 26 chars */
static const char **make_links(size_t n)
{
	const char **v = lc_xcalloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = lc_xasprintf("l/%026zu", i);
	return v;
}

static void free_links(const char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i]);
	free(v);
}

START_TEST(overlay_legacy_opts_page_bound)
{
	const char **v = make_links(500);
	struct lc_err *err = NULL;
	char *s = NULL;
	const char *cd = "containers/0123456789abcdef0123456789abcdef0123456789abcdef01234567";
	char *up = lc_xasprintf("%s/upper", cd), *wk = lc_xasprintf("%s/work", cd);

	/* 128 layers (docker's maximum) fit a page with relative paths */
	ck_assert_ok(lc_overlay_legacy_opts(v, 128, up, wk, true, 4095, &s, &err), &err);
	ck_assert_uint_lt(strlen(s), 4096);
	free(s);
	s = NULL;
	/* 500 do not: a clear limit error, never a truncated string */
	ck_assert_fail(lc_overlay_legacy_opts(v, 500, up, wk, true, 4095, &s, &err), &err,
		       LC_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err->msg, "500 layers"));
	ck_assert_ptr_null(s);
	lc_err_free(err);
	free(up);
	free(wk);
	free_links(v, 500);
}
END_TEST

START_TEST(overlay_refuses_too_many_layers)
{
	const char **v = make_links(LC_MAX_LAYERS + 1);
	struct lc_err *err = NULL;

	ck_assert_fail(lc_overlay_mount_links(AT_FDCWD, "/nonexistent", v, LC_MAX_LAYERS + 1,
					      "containers/c", LC_OVL_API_AUTO, false, &err),
		       &err, LC_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err->msg, "at most 500"));
	lc_err_free(err);
	free_links(v, LC_MAX_LAYERS + 1);
}
END_TEST

/* ---------- PATH lookup ---------- */

/* -p specs: docker's syntax, IPv4 only, tcp or udp, ports 1..65535 */
START_TEST(port_parse_table)
{
	static const struct {
		const char *spec, *ip;
		unsigned host, ctr;
		bool udp;
	} good[] = {
		{ "8080:80", "127.0.0.1", 8080, 80, false },
		{ "0.0.0.0:1:65535", "0.0.0.0", 1, 65535, false },
		{ "127.0.0.2:8443:443/tcp", "127.0.0.2", 8443, 443, false },
		{ "5353:53/udp", "127.0.0.1", 5353, 53, true },
		{ "127.0.0.3:5353:53/udp", "127.0.0.3", 5353, 53, true },
	};
	static const char *const bad[] = {
		"80",		"99999:80",	"8080:0",      "a:80",	       ":80",
		"8080:80/sctp", "::1:80:80",	"1.2.3:80:80", "8080:80/tcpx", "-1:80",
		"8080:",	"8080:80/udpx", "8080:80/",
	};
	struct lc_err *err = NULL;
	struct lc_port p;

	for (size_t i = 0; i < LC_ARRAY_SIZE(good); i++) {
		ck_assert_ok(lc_port_parse(good[i].spec, &p, &err), &err);
		ck_assert_str_eq(p.host_ip, good[i].ip);
		ck_assert_uint_eq(p.host_port, good[i].host);
		ck_assert_uint_eq(p.ctr_port, good[i].ctr);
		ck_assert_int_eq(p.udp, good[i].udp);
	}
	for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
		ck_assert_msg(lc_port_parse(bad[i], &p, &err) < 0, "'%s' was accepted", bad[i]);
		ck_assert_int_eq(err->code, LC_ERR_INVALID);
		lc_err_free(err);
		err = NULL;
	}
}
END_TEST

/* lc_launch_lookpath from the host's "/", its fd checked against the path it reports */
static int lookpath(const char *name, const char *path, char *buf, size_t bufsz)
{
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1, r;
	struct stat a, b;

	ck_assert_int_ge(root, 0);
	r = lc_launch_lookpath(root, name, path, buf, bufsz, &fd);
	if (r == 0) {
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &a), 0);
		ck_assert_int_eq(stat(buf, &b), 0);
		ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
		ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		close(fd);
	}
	close(root);
	return r;
}

START_TEST(lookpath_like_docker)
{
	char *dir = unit_tmpdir();
	char buf[4096];
	char *path, *want;

	put_file(dir, "a/tool", "#!/bin/sh\n", 0755);
	put_file(dir, "b/tool", "#!/bin/sh\n", 0755);
	put_file(dir, "a/data", "x", 0644);
	put_file(dir, "b/data", "#!/bin/sh\n", 0755);
	path = lc_xasprintf("%s/a/sub", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	free(path);
	path = lc_xasprintf("%s/nonexistent:%s/a:%s/b", dir, dir, dir);
	/* the first executable regular file wins */
	ck_assert_int_eq(lookpath("tool", path, buf, sizeof(buf)), 0);
	want = lc_xasprintf("%s/a/tool", dir);
	ck_assert_str_eq(buf, want);
	free(want);
	/* a non-executable file is skipped, like exec.LookPath */
	ck_assert_int_eq(lookpath("data", path, buf, sizeof(buf)), 0);
	want = lc_xasprintf("%s/b/data", dir);
	ck_assert_str_eq(buf, want);
	free(want);
	/* directories are not commands */
	ck_assert_int_eq(lookpath("sub", path, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(lookpath("nope", path, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(lookpath("", path, buf, sizeof(buf)), -ENOENT);
	/* a name with '/' is not searched */
	ck_assert_int_eq(lookpath("a/tool", path, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(lookpath("/bin/sh", path, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/bin/sh");
	ck_assert_int_eq(lookpath("tool", path, buf, 8), -ENOENT);
	free(path);
	unit_tmpdir_free(dir);
}
END_TEST

/* a command, or a PATH entry, through /proc/self/fd/N or /proc/1/root is never followed */
START_TEST(lookpath_refuses_magic_links)
{
	char *dir = unit_tmpdir();
	char buf[4096];
	int root, fd = -1, dfd;
	char *path, *name;

	put_file(dir, "bin/tool", "#!/bin/sh\n", 0755);
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(root, 0);
	/* inside the root: absolute names are the root's, ".." stops at it */
	ck_assert_int_eq(lc_launch_lookpath(root, "/bin/tool", NULL, buf, sizeof(buf), &fd), 0);
	close(fd);
	fd = -1;
	ck_assert_int_eq(
		lc_launch_lookpath(root, "/../../../bin/tool", NULL, buf, sizeof(buf), &fd), 0);
	close(fd);
	fd = -1;
	ck_assert_int_eq(lc_launch_lookpath(root, "tool", "/bin", buf, sizeof(buf), &fd), 0);
	close(fd);
	fd = -1;
	/* the escapes of issue 5: a held fd's magic link, as the name and as a PATH entry */
	name = lc_xasprintf("/proc/self/fd/%d/bin/tool", dfd);
	path = lc_xasprintf("/proc/self/fd/%d/bin", dfd);
	close(root);
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_eq(lc_launch_lookpath(root, name, NULL, buf, sizeof(buf), &fd), -ELOOP);
	ck_assert_int_eq(lc_launch_lookpath(root, "tool", path, buf, sizeof(buf), &fd), -ENOENT);
	ck_assert_int_eq(fd, -1);
	/* the same name works when magic links are not involved (the test is not vacuous) */
	free(name);
	name = lc_xasprintf("%s/bin/tool", dir);
	ck_assert_int_eq(lc_launch_lookpath(root, name, NULL, buf, sizeof(buf), &fd), 0);
	close(fd);
	free(name);
	free(path);
	close(root);
	close(dfd);
	unit_tmpdir_free(dir);
}
END_TEST

/*
 * lc_fds_keep_only: the kept fds at 3, 4, 5, nothing else above 2. In a child of its own:
 * closing every other fd also closes Check's pipe to its runner.
 */
static int keep_only_child(void)
{
	int a[2], b, c, d = -1, n = 0;
	int *keep[] = { &b, &d, &c };
	struct lc_err *err = NULL;
	struct stat st;
	DIR *dir;
	struct dirent *de;

	if (pipe2(a, O_CLOEXEC) < 0)
		return 1;
	for (int i = 0; i < 20; i++)
		if (open("/", O_PATH | O_CLOEXEC) < 0) /* leaked on purpose */
			return 2;
	b = a[1];
	c = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c < 0 || lc_fds_keep_only(keep, 3, &err) < 0)
		return 3;
	if (b != 3 || d != -1 || c != 5)
		return 4;
	if (fstat(3, &st) < 0 || !S_ISFIFO(st.st_mode) || fstat(5, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || fcntl(4, F_GETFD) != -1)
		return 5;
	if (!(fcntl(3, F_GETFD) & FD_CLOEXEC) || !(fcntl(5, F_GETFD) & FD_CLOEXEC))
		return 6;
	dir = opendir("/proc/self/fd");
	if (!dir)
		return 7;
	while ((de = readdir(dir))) {
		long fd = strtol(de->d_name, NULL, 10);

		if (de->d_name[0] != '.' && fd > 2 && fd != dirfd(dir))
			n++;
	}
	closedir(dir);
	return n == 2 ? 0 : 8;
}

START_TEST(fds_keep_only_closes_the_rest)
{
	pid_t pid = fork();
	int ws = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(keep_only_child());
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "keep_only_child failed at step %d",
		      WEXITSTATUS(ws));
}
END_TEST

START_TEST(env_get_exact_key)
{
	char *env[] = { (char *)"PATHX=1", (char *)"PATH=/bin", (char *)"HOME", NULL };

	ck_assert_str_eq(lc_env_get(env, "PATH"), "/bin");
	ck_assert_ptr_null(lc_env_get(env, "HOME"));
	ck_assert_ptr_null(lc_env_get(env, "PAT"));
	ck_assert_ptr_null(lc_env_get(NULL, "PATH"));
}
END_TEST

/* ---------- terminal ---------- */

static bool same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc));
}

START_TEST(tty_raw_and_restore)
{
	struct lc_err *err = NULL;
	struct termios before, raw, after;
	int m, s, nul;

	ck_assert_int_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
	ck_assert_int_eq(tcgetattr(s, &before), 0);
	ck_assert(before.c_lflag & ICANON);
	ck_assert_ok(lc_tty_make_raw(s, &err), &err);
	ck_assert_int_eq(tcgetattr(s, &raw), 0);
	ck_assert(!(raw.c_lflag & (ICANON | ECHO | ISIG)));
	ck_assert(!(raw.c_oflag & OPOST));
	/* one terminal at a time */
	ck_assert_fail(lc_tty_make_raw(s, &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	err = NULL;
	lc_tty_restore();
	ck_assert_int_eq(tcgetattr(s, &after), 0);
	ck_assert(same_termios(&before, &after));
	lc_tty_restore(); /* a no-op now */
	/* not a terminal: refused */
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_fail(lc_tty_make_raw(nul, &err), &err, LC_ERR_SYS);
	lc_err_free(err);
	close(nul);
	close(m);
	close(s);
}
END_TEST

/* A fatal signal while the terminal is raw: it is restored, and the process dies of it. */
START_TEST(tty_restored_by_fatal_signal)
{
	/* not SIGALRM: Check's timeout handler owns it */
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGABRT };
	struct termios before, after;
	int m, s, ws;
	pid_t pid;

	ck_assert_int_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
	ck_assert_int_eq(tcgetattr(s, &before), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lc_err *err = NULL;

		if (lc_tty_make_raw(s, &err) < 0)
			_exit(3);
		raise(sigs[_i]);
		_exit(4); /* survived */
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFSIGNALED(ws) && WTERMSIG(ws) == sigs[_i], "wait status %#x", ws);
	ck_assert_int_eq(tcgetattr(s, &after), 0);
	ck_assert(same_termios(&before, &after));
	close(m);
	close(s);
}
END_TEST

START_TEST(fd_send_recv)
{
	struct lc_err *err = NULL;
	int sv[2], p[2], fd = -2;
	char buf[8] = "";

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_ok(lc_fd_send(sv[1], p[1], &err), &err);
	close(p[1]);
	ck_assert_ok(lc_fd_recv(sv[0], &fd, &err), &err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(fd, "via", 3), 3);
	close(fd);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "via");
	/* the peer goes away without sending: no fd, no error */
	close(sv[1]);
	fd = -2;
	ck_assert_ok(lc_fd_recv(sv[0], &fd, &err), &err);
	ck_assert_int_eq(fd, -1);
	close(sv[0]);
	close(p[0]);
}
END_TEST

static size_t read_until_eof(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

/*
 * lc_pty_proxy in a child: input from a pipe reaches the pty's slave, what the slave writes
 * comes out whole, and the proxy ends once the slave is closed.
 */
START_TEST(pty_proxy_both_ways)
{
	enum { BIG = 48 * 1024 };
	int m, s, in[2], out[2], ws;
	char *big = lc_xmalloc(BIG), *got = lc_xmalloc(BIG + 1), buf[16] = "";
	struct termios t;
	pid_t pid;

	ck_assert_int_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
	ck_assert_int_eq(tcgetattr(s, &t), 0);
	cfmakeraw(&t);
	ck_assert_int_eq(tcsetattr(s, TCSANOW, &t), 0);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(write(in[1], "ping", 4), 4);
	close(in[1]); /* then EOF: input stops, the proxy goes on */
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct lc_err *err = NULL;

		close(s);
		close(out[0]);
		_exit(lc_pty_proxy(m, in[0], out[1], -1, -1, &err) == 0 ? 0 : 1);
	}
	close(m);
	close(in[0]);
	close(out[1]);
	ck_assert_int_eq(read(s, buf, 4), 4);
	ck_assert_str_eq(buf, "ping");
	for (size_t i = 0; i < BIG; i++)
		big[i] = (char)('a' + i % 26);
	ck_assert_int_eq(lc_write_all(s, big, BIG), 0);
	close(s);
	ck_assert_uint_eq(read_until_eof(out[0], got, BIG + 1), BIG);
	ck_assert(!memcmp(got, big, BIG));
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "proxy: wait status %#x", ws);
	close(out[0]);
	free(big);
	free(got);
}
END_TEST

/* A pty of a devpts instance of our own, like the container's; a fake ptmx is refused. */
START_TEST(pty_open_in_own_devpts)
{
	char *dir = unit_tmpdir();
	struct lc_err *err = NULL;
	struct winsize ws = { .ws_row = 33, .ws_col = 101 }, got = { 0 };
	unsigned int n = 99;
	int pts, master = -1, slave = -1;
	char buf[4] = "";

	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	/* a tmpfs dir with a regular "ptmx" first */
	put_file(dir, "ptmx", "", 0666);
	pts = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_fail(lc_pty_open(pts, &ws, &master, &slave, &err), &err, LC_ERR_UNSAFE);
	lc_err_free(err);
	err = NULL;
	close(pts);
	ck_assert_int_eq(mount("devpts", dir, "devpts", MS_NOSUID | MS_NOEXEC,
			       "newinstance,ptmxmode=0666,mode=0620"),
			 0);
	pts = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_ok(lc_pty_open(pts, &ws, &master, &slave, &err), &err);
	ck_assert_int_eq(ioctl(master, TIOCGPTN, &n), 0);
	ck_assert_uint_eq(n, 0); /* the first pty of the new instance: /dev/pts/0 */
	ck_assert_int_eq(ioctl(slave, TIOCGWINSZ, &got), 0);
	ck_assert_uint_eq(got.ws_row, 33);
	ck_assert_uint_eq(got.ws_col, 101);
	ck_assert_int_eq(fcntl(slave, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(slave, "ok", 2), 2);
	ck_assert_int_eq(read(master, buf, 2), 2);
	ck_assert_str_eq(buf, "ok");
	close(master);
	close(slave);
	close(pts);
	ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	unit_tmpdir_free(dir);
}
END_TEST

/* ---------- seccomp ---------- */

/*
 * Each seccomp test forks: the filter is for good, and must not reach the test runner even
 * with CK_FORK=no. The child writes what went wrong into a pipe and exits 1.
 */
static int sc_fd = -1;

#define SC_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(sc_fd, __VA_ARGS__);                                               \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

static void sc_install(void)
{
	struct lc_err *err = NULL;

	SC_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %m");
	SC_CHECK(lc_seccomp_install(&err) == 0, "install: %s", err ? err->msg : "?");
}

/* Run fn(arg) in a child and fail the test with its message if it did not exit 0. */
static void sc_in_child(void (*fn)(const void *), const void *arg)
{
	int p[2];
	char msg[512] = "";
	ssize_t n;
	int ws;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		sc_fd = p[1];
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "filtered child: %s (wait status %#x)",
		      msg[0] ? msg : "died", ws);
}

static const struct sc_case {
	const char *what;
	long nr;
	long a[6];
	int want; /* the errno the filter answers; 0: whatever the kernel answers without it */
} sc_cases[] = {
	{ "unshare(CLONE_NEWUSER)", SYS_unshare, { CLONE_NEWUSER }, EPERM },
	{ "setns(-1, 0)", SYS_setns, { -1, 0 }, EPERM },
	{ "clone(CLONE_NEWUSER)", SYS_clone, { CLONE_NEWUSER | SIGCHLD }, EPERM },
	{ "clone(CLONE_NEWNET)", SYS_clone, { CLONE_NEWNET | SIGCHLD }, EPERM },
	{ "clone(CLONE_NEWCGROUP) with high bits",
	  SYS_clone,
	  { (long)(0xffffffff00000000ULL | CLONE_NEWCGROUP | SIGCHLD) },
	  EPERM },
	{ "clone3(NULL, 0)", SYS_clone3, { 0, 0 }, ENOSYS },
	{ "keyctl(KEYCTL_GET_KEYRING_ID, session)", SYS_keyctl, { 0, -3, 0 }, EPERM },
	{ "add_key", SYS_add_key, { (long)"user", (long)"lc", (long)"v", 1, -3 }, EPERM },
	{ "socket(AF_VSOCK)", SYS_socket, { 40, SOCK_STREAM, 0 }, EPERM },
	{ "socket(AF_ALG)", SYS_socket, { 38, SOCK_SEQPACKET, 0 }, EPERM },
	{ "personality(ADDR_NO_RANDOMIZE)", SYS_personality, { 0x0040000 }, EPERM },
	{ "mount(MS_REMOUNT) of a missing path",
	  SYS_mount,
	  { 0, (long)"/nonexistent-lc-sc", 0, MS_REMOUNT, 0 },
	  EPERM },
	{ "umount2 of a missing path", SYS_umount2, { (long)"/nonexistent-lc-sc", 0 }, EPERM },
	{ "open_tree(-1)", SYS_open_tree, { -1, (long)"", 0 }, EPERM },
	{ "bpf(BPF_MAP_CREATE, NULL)", SYS_bpf, { 0, 0, 0 }, EPERM },
	{ "perf_event_open(NULL)", SYS_perf_event_open, { 0, 0, -1, -1, 0 }, EPERM },
	{ "io_uring_setup(1, NULL)", SYS_io_uring_setup, { 1, 0 }, EPERM },
	{ "userfaultfd(0)", SYS_userfaultfd, { 0 }, EPERM },
	{ "open_by_handle_at(-1)", SYS_open_by_handle_at, { -1, 0, 0 }, EPERM },
	{ "init_module(NULL)", SYS_init_module, { 0, 0, (long)"" }, EPERM },
	{ "kexec_load(0)", SYS_kexec_load, { 0, 0, 0, 0 }, EPERM },
	{ "kcmp", SYS_kcmp, { 0, 0, 0, 0, 0 }, EPERM },
	{ "syslog(READ_ALL)", SYS_syslog, { 3, 0, 0 }, EPERM },
	{ "clock_settime(NULL)", SYS_clock_settime, { 0, 0 }, EPERM },
#ifdef __x86_64__
	{ "getpid with the x32 bit", 0x40000000 | SYS_getpid, { 0 }, EPERM },
	{ "iopl(3)", SYS_iopl, { 3 }, EPERM },
#endif
	{ "open_tree_attr (newer than the table)", 467, { -1, (long)"", 0, 0, 0 }, ENOSYS },
	{ "lsm_list_modules", 461, { 0, 0, 0 }, EPERM },
	/* allowed: the same answer as without the filter */
	{ "getpid", SYS_getpid, { 0 }, 0 },
	{ "personality(0xffffffff)", SYS_personality, { 0xffffffff }, 0 },
	{ "personality(PER_LINUX)", SYS_personality, { 0 }, 0 },
	{ "socket(AF_UNIX)", SYS_socket, { AF_UNIX, SOCK_STREAM, 0 }, 0 },
	{ "socket(AF_INET)", SYS_socket, { AF_INET, SOCK_DGRAM, 0 }, 0 },
	{ "chroot of a missing path", SYS_chroot, { (long)"/nonexistent-lc-sc" }, 0 },
	{ "name_to_handle_at(-1)", SYS_name_to_handle_at, { -1, (long)"x", 0, 0, 0 }, 0 },
	{ "process_vm_readv(self, 0)", SYS_process_vm_readv, { 0, 0, 0, 0, 0, 0 }, 0 },
	{ "fchmodat2(-1) (newer, allowed)", 452, { -1, (long)"x", 0, 0 }, 0 },
	{ "map_shadow_stack(0, 0) (newer, allowed)", 453, { 0, 0, 0 }, 0 },
};

static long sc_call(const struct sc_case *c, int *ret_errno)
{
	long a0 = c->nr == SYS_process_vm_readv ? getpid() : c->a[0];
	long r;

	errno = 0;
	r = syscall(c->nr, a0, c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	*ret_errno = r < 0 ? errno : 0;
	if (r == 0 && c->nr == SYS_clone)
		_exit(0); /* the filter let a namespaced child through: its parent reports it */
	return r;
}

static void sc_case_child(const void *arg)
{
	const struct sc_case *c = arg;
	int before = 0, after;
	long r;

	if (c->want == 0)
		sc_call(c, &before);
	sc_install();
	r = sc_call(c, &after);
	if (c->want)
		SC_CHECK(r == -1 && after == c->want, "%s: returned %ld, errno %d, want errno %d",
			 c->what, r, after, c->want);
	else
		SC_CHECK(after == before, "%s: errno %d under the filter, %d without", c->what,
			 after, before);
}

START_TEST(seccomp_answers_like_docker)
{
	sc_in_child(sc_case_child, &sc_cases[_i]);
}
END_TEST

static void *sc_thread(void *arg)
{
	return arg;
}

static void sc_processes_child(const void *arg)
{
	pthread_t t;
	void *res = NULL;
	int ws = 0;
	pid_t pid;
	char *status;
	size_t len;
	struct lc_err *err = NULL;

	(void)arg;
	sc_install();
	/* glibc tries clone3 first and must fall back to clone when it is ENOSYS */
	SC_CHECK(pthread_create(&t, NULL, sc_thread, &ws) == 0, "pthread_create failed");
	SC_CHECK(pthread_join(t, &res) == 0 && res == &ws, "pthread_join failed");
	pid = fork();
	SC_CHECK(pid >= 0, "fork: %m");
	if (pid == 0)
		_exit(7);
	SC_CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 7,
		 "forked child: wait status %#x", ws);
	SC_CHECK(lc_read_file_at(AT_FDCWD, "/proc/self/status", 1 << 16, &status, &len, &err) == 0,
		 "read /proc/self/status");
	SC_CHECK(strstr(status, "\nSeccomp:\t2\n") && strstr(status, "\nSeccomp_filters:\t1\n"),
		 "/proc/self/status does not show one filter:\n%s", status);
	free(status);
}

START_TEST(seccomp_threads_and_fork_work)
{
	sc_in_child(sc_processes_child, NULL);
}
END_TEST

#ifdef __x86_64__
/* An i386 syscall from a 64-bit process: getpid is 20 there (setuid on x86_64). */
static long int80_getpid(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	return r;
}

static void sc_int80_child(const void *arg)
{
	(void)arg;
	sc_install();
	SC_CHECK(int80_getpid() == -EPERM, "int 0x80 getpid: %ld, want -EPERM", int80_getpid());
}

START_TEST(seccomp_refuses_i386_abi)
{
	int ws;
	pid_t pid;

	/* without IA32 emulation int 0x80 is a SIGSEGV: nothing to filter */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(int80_getpid() == getpid() ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return;
	sc_in_child(sc_int80_child, NULL);
}
END_TEST
#endif

/* ---------- root: overlay ---------- */

static char *fake_store(size_t n_layers)
{
	char *root = unit_tmpdir();
	struct lc_err *err = NULL;
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(dfd, 0);
	ck_assert_ok(lc_mkdir_p_at(dfd, "l", 0700, &err), &err);
	ck_assert_ok(lc_mkdir_p_at(dfd, "containers/c/upper", 0755, &err), &err);
	ck_assert_ok(lc_mkdir_p_at(dfd, "containers/c/work", 0755, &err), &err);
	ck_assert_ok(lc_mkdir_p_at(dfd, "containers/c/merged", 0755, &err), &err);
	for (size_t i = 0; i < n_layers; i++) {
		char *d = lc_xasprintf("layers/sha256/%03zu/diff", i);
		char *l = lc_xasprintf("l/%026zu", i);
		char *t = lc_xasprintf("../layers/sha256/%03zu/diff", i);
		char *f = lc_xasprintf("%s/file%03zu", d, i);

		ck_assert_ok(lc_mkdir_p_at(dfd, d, 0755, &err), &err);
		ck_assert_int_eq(symlinkat(t, dfd, l), 0);
		ck_assert_ok(lc_write_file_atomic_at(dfd, f, "x", 1, 0644, &err), &err);
		free(d);
		free(l);
		free(t);
		free(f);
	}
	close(dfd);
	return root;
}

static void umount_store(const char *root)
{
	struct lc_err *err = NULL;
	char *cdir = lc_xasprintf("%s/containers/c", root);

	ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
	free(cdir);
}

START_TEST(overlay_whiteout_hides_lower_file)
{
	char *root = fake_store(2);
	struct lc_err *err = NULL;
	const char **links = make_links(2);
	const char *top_first[] = { links[1], links[0] };
	char *p, *cdir;
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	/* bottom layer: keep, gone; top layer: a whiteout (char 0/0) for gone, plus new */
	p = lc_xasprintf("%s/layers/sha256/000/diff", root);
	put_file(p, "keep", "bottom", 0644);
	put_file(p, "gone", "bottom", 0644);
	free(p);
	p = lc_xasprintf("%s/layers/sha256/001/diff/gone", root);
	ck_assert_int_eq(mknod(p, S_IFCHR | 0600, makedev(0, 0)), 0);
	free(p);
	p = lc_xasprintf("%s/layers/sha256/001/diff", root);
	put_file(p, "new", "top", 0644);
	free(p);

	ck_assert_ok(lc_overlay_mount_links(rootfd, root, top_first, 2, "containers/c",
					    LC_OVL_API_AUTO, false, &err),
		     &err);
	cdir = lc_xasprintf("%s/containers/c", root);
	p = lc_xasprintf("%s/merged/keep", cdir);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	p = lc_xasprintf("%s/merged/gone", cdir);
	ck_assert_int_eq(stat(p, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(p);
	p = lc_xasprintf("%s/merged/file001", cdir);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	/* writes land in the upper dir only */
	p = lc_xasprintf("%s/merged", cdir);
	put_file(p, "written", "w", 0644);
	free(p);
	p = lc_xasprintf("%s/upper/written", cdir);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	ck_assert(mounted_under(cdir));
	ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
	ck_assert(!mounted_under(cdir));
	/* not mounted any more: still success */
	ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
	free(cdir);
	close(rootfd);
	free_links(links, 2);
	unit_tmpdir_free(root);
}
END_TEST

/*
 * run --rm's overlay is volatile (no sync of the upper's filesystem at unmount), on both ways
 * of mounting; its marker goes with a clean unmount, so the same container mounts again
 * (restart) volatile or not.
 */
START_TEST(overlay_ephemeral_is_volatile_and_mounts_again)
{
	static const enum lc_ovl_api apis[] = { LC_OVL_API_AUTO, LC_OVL_API_LEGACY };
	char *root = fake_store(1);
	struct lc_err *err = NULL;
	const char **links = make_links(1);
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *cdir = lc_xasprintf("%s/containers/c", root);
	char *marker = lc_xasprintf("%s/work/work/incompat", cdir);
	char *merged = lc_xasprintf("%s/merged", cdir);
	struct stat st;

	for (size_t i = 0; i < LC_ARRAY_SIZE(apis); i++) {
		ck_assert_ok(lc_overlay_mount_links(rootfd, root, links, 1, "containers/c", apis[i],
						    true, &err),
			     &err);
		ck_assert_msg(stat(marker, &st) == 0, "api %zu: no volatile marker", i);
		put_file(merged, "w", "x", 0644);
		ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
		ck_assert_int_eq(stat(marker, &st), -1);
		/* mounted again: the upper's file is there */
		ck_assert_ok(lc_overlay_mount_links(rootfd, root, links, 1, "containers/c", apis[i],
						    i == 0, &err),
			     &err);
		{
			char *f = lc_xasprintf("%s/w", merged), *got = slurp(f);

			ck_assert_str_eq(got, "x");
			free(got);
			free(f);
		}
		ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
	}
	/* not ephemeral: no marker */
	ck_assert_ok(lc_overlay_mount_links(rootfd, root, links, 1, "containers/c", LC_OVL_API_AUTO,
					    false, &err),
		     &err);
	ck_assert_int_eq(stat(marker, &st), -1);
	ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
	free(merged);
	free(marker);
	free(cdir);
	close(rootfd);
	free_links(links, 1);
	unit_tmpdir_free(root);
}
END_TEST

START_TEST(overlay_many_layers)
{
	size_t n = 300;
	char *root = fake_store(n);
	struct lc_err *err = NULL;
	const char **links = make_links(n);
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *p;
	struct stat st;

	/* legacy mount(2): 300 l/ links do not fit one page: refused, clearly */
	ck_assert_fail(lc_overlay_mount_links(rootfd, root, links, n, "containers/c",
					      LC_OVL_API_LEGACY, false, &err),
		       &err, LC_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err->msg, "300 layers need"));
	lc_err_free(err);
	err = NULL;
	/* 100 do, through the legacy path */
	ck_assert_ok(lc_overlay_mount_links(rootfd, root, links, 100, "containers/c",
					    LC_OVL_API_LEGACY, false, &err),
		     &err);
	p = lc_xasprintf("%s/containers/c/merged/file099", root);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	umount_store(root);
	/* and all 300 through fsconfig("lowerdir+") where the kernel has it */
	if (lc_overlay_mount_links(rootfd, root, links, n, "containers/c", LC_OVL_API_AUTO, false,
				   &err) < 0) {
		ck_assert_int_eq(err->code, LC_ERR_LIMIT); /* old kernel: same clear refusal */
		lc_err_free(err);
	} else {
		p = lc_xasprintf("%s/containers/c/merged/file000", root);
		ck_assert_int_eq(stat(p, &st), 0);
		free(p);
		p = lc_xasprintf("%s/containers/c/merged/file299", root);
		ck_assert_int_eq(stat(p, &st), 0);
		free(p);
		umount_store(root);
	}
	ck_assert(!mounted_under(root));
	close(rootfd);
	free_links(links, n);
	unit_tmpdir_free(root);
}
END_TEST

START_TEST(overlay_reports_missing_layer)
{
	char *root = fake_store(1);
	struct lc_err *err = NULL;
	const char *links[] = { "l/missing" };
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	ck_assert_fail(lc_overlay_mount_links(rootfd, root, links, 1, "containers/c",
					      LC_OVL_API_AUTO, false, &err),
		       &err, LC_ERR_SYS);
	ck_assert_ptr_nonnull(strstr(err->msg, "l/missing"));
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_overlay_mount_links(rootfd, root, links, 1, "containers/c",
					      LC_OVL_API_LEGACY, false, &err),
		       &err, LC_ERR_SYS);
	ck_assert_ptr_nonnull(strstr(err->msg, "missing"));
	lc_err_free(err);
	ck_assert(!mounted_under(root));
	close(rootfd);
	unit_tmpdir_free(root);
}
END_TEST

/* ---------- root: containers ---------- */

static const char *const applets[] = { "sh",   "echo", "hostname", "cat",   "ls",      "grep",
				       "id",   "pwd",  "wc",	   "sleep", "touch",   "test",
				       "kill", "head", "tty",	   "stty",  "readlink" };

/* A tiny rootfs: busybox and its applets, an /etc/passwd and /etc/group. */
static char *busybox_rootfs(void)
{
	char *dir = unit_tmpdir();
	char *bin = lc_xasprintf("%s/bin", dir);
	char *cmd = lc_xasprintf("cp /bin/busybox %s/busybox", bin);

	ck_assert_int_eq(chmod(dir, 0755), 0); /* mkdtemp's 0700 would lock out non-root users */
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	ck_assert_int_eq(system(cmd), 0);
	for (size_t i = 0; i < LC_ARRAY_SIZE(applets); i++) {
		char *l = lc_xasprintf("%s/%s", bin, applets[i]);

		ck_assert_int_eq(symlink("busybox", l), 0);
		free(l);
	}
	put_file(dir, "etc/passwd",
		 "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n", 0644);
	put_file(dir, "etc/group", "root:x:0:\napp:x:1000:\nstaff:x:50:app\n", 0644);
	free(cmd);
	free(bin);
	return dir;
}

struct run {
	int status;
	char *out;
	struct lc_err *err;
	int r;
};

/* cfg.no_seccomp, .tty, .interactive for the next run_in (each test is its own process: CK_FORK) */
static bool run_no_seccomp, run_tty, run_interactive;

static void run_in(const char *rootfs, const char *user, const char *cwd, char *const *argv,
		   struct run *res)
{
	char *state = unit_tmpdir();
	char *outp = lc_xasprintf("%s/out", state);
	char *sd = lc_xasprintf("%s/etc", state);
	struct lc_launch_cfg cfg = {
		.rootfs = rootfs,
		.argv = argv,
		.env = (char *const[]){ (char *)"PATH=/bin", NULL },
		.cwd = cwd,
		.hostname = "box1",
		.user = user,
		.state_dir = sd,
		.no_seccomp = run_no_seccomp,
		.tty = run_tty,
		.interactive = run_interactive,
	};
	int outfd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int saved = dup(1);

	ck_assert_int_ge(outfd, 0);
	fflush(stdout);
	dup2(outfd, 1);
	res->err = NULL;
	res->status = -1;
	res->r = lc_launch(&cfg, &res->status, &res->err);
	dup2(saved, 1);
	close(saved);
	close(outfd);
	res->out = slurp(outp);
	free(outp);
	free(sd);
	unit_tmpdir_free(state);
}

static void run_sh(const char *rootfs, const char *script, struct run *res)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)script, NULL };

	run_in(rootfs, NULL, NULL, argv, res);
	ck_assert_msg(res->r == 0, "launch '%s': %s", script, res->err ? res->err->msg : "?");
}

static void run_free(struct run *res)
{
	free(res->out);
	lc_err_free(res->err);
}

START_TEST(launch_pid1_hostname_status)
{
	char *rootfs = busybox_rootfs();
	struct run r;

	run_sh(rootfs, "echo $$", &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "1\n");
	run_free(&r);
	run_sh(rootfs, "hostname; cat /etc/hostname; grep -c box1 /etc/hosts; echo $HOSTNAME $HOME",
	       &r);
	ck_assert_str_eq(r.out, "box1\nbox1\n1\nbox1 /root\n");
	run_free(&r);
	run_sh(rootfs, "exit 7", &r);
	ck_assert_int_eq(r.status, 7);
	run_free(&r);
	/* only the container's processes: sh and ls */
	run_sh(rootfs, "ls /proc > /ps; grep '^[0-9]' /ps", &r);
	ck_assert_str_eq(r.out, "1\n2\n");
	run_free(&r);
	/* the network namespace has loopback, up (IFF_UP|IFF_LOOPBACK), and nothing else */
	run_sh(rootfs, "ls /sys/class/net; cat /sys/class/net/lo/flags", &r);
	ck_assert_str_eq(r.out, "lo\n0x9\n");
	run_free(&r);
	/* nothing mounted in the container stays behind on the host */
	ck_assert(!mounted_under(rootfs));
	unit_tmpdir_free(rootfs);
}
END_TEST

static pid_t find_child(pid_t parent, const char *comm)
{
	for (int tries = 0; tries < 500; tries++) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		pid_t found = 0;

		while (d && (de = readdir(d)) && !found) {
			char p[300], *stat = NULL, *c = NULL;
			size_t len;
			struct lc_err *err = NULL;
			int ppid = 0;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
			if (lc_read_file_at(AT_FDCWD, p, 4096, &stat, &len, &err) < 0) {
				lc_err_free(err);
				continue;
			}
			c = strrchr(stat, ')');
			if (c && sscanf(c, ") %*c %d", &ppid) == 1 && ppid == parent &&
			    strstr(stat, comm))
				found = (pid_t)strtol(de->d_name, NULL, 10);
			free(stat);
		}
		if (d)
			closedir(d);
		if (found)
			return found;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return 0;
}

START_TEST(launch_killed_is_128_plus_signal)
{
	char *rootfs = busybox_rootfs();
	char *argv[] = { (char *)"sleep", (char *)"30", NULL };
	pid_t me = getpid(), killer;
	struct run r;

	/*
	 * A PID 1 cannot SIGKILL itself (`kill -9 $$` is ignored by the kernel, as in docker
	 * without --init): the kill comes from outside, where the kernel always delivers it.
	 */
	killer = fork();
	ck_assert_int_ge(killer, 0);
	if (killer == 0) {
		pid_t c = find_child(me, "(sleep)");

		_exit(c > 0 && kill(c, SIGKILL) == 0 ? 0 : 1);
	}
	run_in(rootfs, NULL, NULL, argv, &r);
	ck_assert_msg(r.r == 0, "%s", r.err ? r.err->msg : "?");
	ck_assert_int_eq(r.status, 137);
	run_free(&r);
	waitpid(killer, NULL, 0);
	unit_tmpdir_free(rootfs);
}
END_TEST

START_TEST(launch_forwards_sigterm)
{
	char *rootfs = busybox_rootfs();
	char *ready = lc_xasprintf("%s/ready", rootfs);
	pid_t me = getpid(), killer;
	struct run r;

	killer = fork();
	ck_assert_int_ge(killer, 0);
	if (killer == 0) {
		for (int i = 0; i < 500 && access(ready, F_OK) < 0; i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		_exit(kill(me, SIGTERM) == 0 ? 0 : 1);
	}
	/* PID 1 gets signals it has a handler for: the shell's trap */
	run_sh(rootfs, "trap 'exit 42' TERM; touch /ready; while :; do sleep 0.05; done", &r);
	ck_assert_int_eq(r.status, 42);
	run_free(&r);
	waitpid(killer, NULL, 0);
	free(ready);
	unit_tmpdir_free(rootfs);
}
END_TEST

START_TEST(launch_exec_errors)
{
	char *rootfs = busybox_rootfs();
	char *missing[] = { (char *)"foo", NULL };
	char *abs_missing[] = { (char *)"/bin/foo", NULL };
	char *noexec[] = { (char *)"/etc/passwd", NULL };
	struct run r;

	run_in(rootfs, NULL, NULL, missing, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_NOEXEC);
	ck_assert_str_eq(r.err->msg, "exec: \"foo\": executable file not found in $PATH");
	run_free(&r);
	run_in(rootfs, NULL, NULL, abs_missing, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_NOEXEC);
	run_free(&r);
	run_in(rootfs, NULL, NULL, noexec, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_EXEC);
	run_free(&r);
	unit_tmpdir_free(rootfs);
}
END_TEST

START_TEST(launch_hardening)
{
	char *rootfs = busybox_rootfs();
	struct run r;
	int leak = open("/", O_RDONLY); /* not CLOEXEC on purpose */

	ck_assert_int_ge(leak, 0);
	ck_assert_int_eq(dup2(leak, 42), 42);
	run_sh(rootfs,
	       "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status", &r);
	ck_assert_str_eq(r.out, "CapInh:\t0000000000000000\n"
				"CapPrm:\t00000000a80425fb\n"
				"CapEff:\t00000000a80425fb\n"
				"CapBnd:\t00000000a80425fb\n"
				"CapAmb:\t0000000000000000\n"
				"NoNewPrivs:\t0\n"); /* docker's default: off unless asked */
	run_free(&r);
	/* masked and read-only /proc and /sys */
	ck_assert_int_eq(access("/proc/timer_list", F_OK), 0);
	ck_assert_int_eq(access("/sys/firmware", F_OK), 0);
	run_sh(rootfs,
	       "cat /proc/kcore 2>/dev/null | wc -c; wc -c < /proc/timer_list; "
	       "wc -c < /proc/interrupts; ls /sys/firmware | wc -l; "
	       "echo x 2>/dev/null > /proc/sys/kernel/core_pattern || echo ro1; "
	       "touch /sys/x 2>/dev/null || echo ro2; grep -c ' /proc/sys ro,' "
	       "/proc/self/mountinfo",
	       &r);
	ck_assert_str_eq(r.out, "0\n0\n0\n0\nro1\nro2\n1\n");
	run_free(&r);
	/* only 0, 1, 2 (and ls's own dir fd) */
	run_sh(rootfs, "ls /proc/self/fd; test -e /proc/self/fd/42 && echo leaked", &r);
	ck_assert_str_eq(r.out, "0\n1\n2\n3\n");
	run_free(&r);
	/* the device nodes and /dev/pts */
	run_sh(rootfs, "echo hi > /dev/null && head -c 4 /dev/zero | wc -c; ls /dev/pts", &r);
	ck_assert_str_eq(r.out, "4\nptmx\n");
	run_free(&r);
	close(leak);
	close(42);
	unit_tmpdir_free(rootfs);
}
END_TEST

/* stdin: /dev/null unless interactive; the caller's terminal is never the controlling one */
START_TEST(launch_stdin_and_session)
{
	char *rootfs = busybox_rootfs();
	struct run r;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "hi\n", 3), 3);
	close(p[1]);
	ck_assert_int_eq(dup2(p[0], 0), 0);
	close(p[0]);
	run_sh(rootfs, "cat; readlink /proc/self/fd/0; cat /dev/tty 2>/dev/null || echo no-ctty",
	       &r);
	ck_assert_str_eq(r.out, "/dev/null\nno-ctty\n");
	run_free(&r);
	run_interactive = true;
	run_sh(rootfs, "cat", &r);
	ck_assert_str_eq(r.out, "hi\n");
	run_free(&r);
	/* -it needs a terminal on stdin: refused before anything starts */
	run_tty = true;
	run_in(rootfs, NULL, NULL, (char *[]){ (char *)"true", NULL }, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_INVALID);
	ck_assert_str_eq(r.err->msg, "the input device is not a TTY");
	run_free(&r);
	unit_tmpdir_free(rootfs);
}
END_TEST

/* -t: a pty of the container's devpts is its controlling terminal and fds 0 1 2 */
START_TEST(launch_tty)
{
	char *rootfs = busybox_rootfs();
	struct winsize ws = { .ws_row = 33, .ws_col = 101 };
	struct run r;
	int m, s;

	/* the caller's terminal, whose size the container's pty takes (not read: no -i) */
	ck_assert_int_eq(openpty(&m, &s, NULL, NULL, &ws), 0);
	ck_assert_int_eq(dup2(s, 0), 0);
	run_tty = true;
	run_sh(rootfs,
	       "tty; test -t 0 && test -t 1 && echo all-tty; echo err >&2; "
	       "readlink /proc/self/fd/2; stty size; exit 3",
	       &r);
	ck_assert_str_eq(r.out, "/dev/pts/0\r\nall-tty\r\nerr\r\n/dev/pts/0\r\n33 101\r\n");
	ck_assert_int_eq(r.status, 3);
	run_free(&r);
	/* a user owns its terminal */
	run_in(rootfs, "1000:1000", NULL,
	       (char *[]){ (char *)"sh", (char *)"-c", (char *)"id -u; echo x > /dev/stdout",
			   NULL },
	       &r);
	ck_assert_msg(r.r == 0, "%s", r.err ? r.err->msg : "?");
	ck_assert_str_eq(r.out, "1000\r\nx\r\n");
	run_free(&r);
	/* a failure before exec still comes back as an error, the pty notwithstanding */
	run_in(rootfs, NULL, NULL, (char *[]){ (char *)"nosuch", NULL }, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_NOEXEC);
	run_free(&r);
	ck_assert(!mounted_under(rootfs));
	close(m);
	close(s);
	unit_tmpdir_free(rootfs);
}
END_TEST

START_TEST(launch_seccomp)
{
	char *rootfs = busybox_rootfs();
	struct run r;

	run_sh(rootfs,
	       "grep -E '^Seccomp' /proc/self/status; "
	       "busybox unshare -U true 2>/dev/null || echo no-userns; "
	       "busybox linux32 true && echo linux32",
	       &r);
	ck_assert_str_eq(r.out, "Seccomp:\t2\nSeccomp_filters:\t1\nno-userns\nlinux32\n");
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	/* and the same as a user: the filter does not depend on privileges */
	{
		char *argv[] = { (char *)"grep", (char *)"-c", (char *)"^Seccomp:.2$",
				 (char *)"/proc/self/status", NULL };

		run_in(rootfs, "1000:1000", NULL, argv, &r);
		ck_assert_msg(r.r == 0, "launch: %s", r.err ? r.err->msg : "?");
		ck_assert_str_eq(r.out, "1\n");
		run_free(&r);
	}
	run_no_seccomp = true;
	run_sh(rootfs,
	       "grep -E '^Seccomp' /proc/self/status; busybox unshare -U true && echo userns", &r);
	ck_assert_str_eq(r.out, "Seccomp:\t0\nSeccomp_filters:\t0\nuserns\n");
	run_free(&r);
	unit_tmpdir_free(rootfs);
}
END_TEST

START_TEST(launch_user_and_cwd)
{
	char *rootfs = busybox_rootfs();
	char *idcmd[] = { (char *)"sh", (char *)"-c",
			  (char *)"id -u; id -g; id -G; pwd; echo $HOME; "
				  "grep CapEff /proc/self/status",
			  NULL };
	char *pwd[] = { (char *)"pwd", NULL };
	char *p;
	struct run r;
	struct stat st;

	run_in(rootfs, "app", "/work/dir", idcmd, &r);
	ck_assert_msg(r.r == 0, "%s", r.err ? r.err->msg : "?");
	ck_assert_str_eq(r.out, "1000\n1000\n1000 50\n/work/dir\n/home/app\n"
				"CapEff:\t0000000000000000\n");
	run_free(&r);
	p = lc_xasprintf("%s/work/dir", rootfs);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	run_in(rootfs, "4242:7", NULL, idcmd, &r);
	ck_assert_msg(r.r == 0, "%s", r.err ? r.err->msg : "?");
	ck_assert_str_eq(r.out, "4242\n7\n7\n/\n/\nCapEff:\t0000000000000000\n");
	run_free(&r);
	run_in(rootfs, "ghost", NULL, pwd, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(r.err->msg, "unable to find user ghost"));
	run_free(&r);
	run_in(rootfs, "4294967296", NULL, pwd, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_INVALID);
	run_free(&r);
	/* CVE-2024-21626: a working dir through a magic link is refused */
	run_in(rootfs, NULL, "/proc/self/fd/3", pwd, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_UNSAFE);
	run_free(&r);
	unit_tmpdir_free(rootfs);
}
END_TEST

static const char *const hostile[][2] = {
	{ "proc", "/" },
	{ "sys", "/" },
	{ "dev", "../../../tmp" },
};

START_TEST(launch_refuses_symlinked_mount_points)
{
	char *rootfs = busybox_rootfs();
	char *l = lc_xasprintf("%s/%s", rootfs, hostile[_i][0]);
	char *mi_before = slurp("/proc/self/mountinfo"), *mi_after;
	struct run r;
	char *argv[] = { (char *)"true", NULL };

	ck_assert_int_eq(symlink(hostile[_i][1], l), 0);
	run_in(rootfs, NULL, NULL, argv, &r);
	ck_assert_int_eq(r.r, -1);
	ck_assert_int_eq(r.err->code, LC_ERR_UNSAFE);
	ck_assert_ptr_nonnull(strstr(r.err->msg, "symlink"));
	run_free(&r);
	/* nothing was left mounted under the rootfs (other tests may mount elsewhere meanwhile) */
	mi_after = slurp("/proc/self/mountinfo");
	ck_assert_ptr_null(strstr(mi_before, rootfs));
	ck_assert_ptr_null(strstr(mi_after, rootfs));
	free(mi_before);
	free(mi_after);
	free(l);
	unit_tmpdir_free(rootfs);
}
END_TEST

START_TEST(launch_etc_symlink_lands_inside)
{
	char *rootfs = busybox_rootfs();
	char *l = lc_xasprintf("%s/etc/resolv.conf", rootfs);
	char *canary = lc_xasprintf("%s/canary", rootfs);
	char *host_resolv = NULL, *want;
	struct lc_err *err = NULL;
	size_t len;
	struct run r;

	/* the host file the image points at must stay untouched */
	put_file(rootfs, "canary", "keep", 0644);
	ck_assert_int_eq(symlink(canary, l), 0);
	run_sh(rootfs, "cat /etc/resolv.conf", &r);
	if (lc_read_file_at(AT_FDCWD, "/etc/resolv.conf", 65536, &host_resolv, &len, &err) < 0) {
		lc_err_free(err);
		host_resolv = lc_xstrdup("");
	}
	ck_assert_str_eq(r.out, host_resolv);
	run_free(&r);
	want = slurp(canary);
	ck_assert_str_eq(want, "keep");
	free(want);
	free(host_resolv);
	free(canary);
	free(l);
	unit_tmpdir_free(rootfs);
}
END_TEST

/* ---------- --ulimit, --device, seccomp profiles ---------- */

static const struct {
	const char *in;
	const char *err; /* NULL: parses */
	uint64_t soft, hard;
} ulimit_cases[] = {
	{ "nofile=64:64", NULL, 64, 64 },
	{ "nofile=64", NULL, 64, 64 },
	{ "nproc=10:20", NULL, 10, 20 },
	{ "core=-1", NULL, UINT64_MAX, UINT64_MAX },
	{ "memlock=1:-1", NULL, 1, UINT64_MAX },
	{ "nofile=10:5", "ulimit soft limit must be less than or equal to hard limit: 10 > 5", 0,
	  0 },
	{ "bogus=1", "invalid ulimit type: bogus", 0, 0 },
	{ "nofile", "invalid ulimit argument: nofile", 0, 0 },
	{ "nofile=1:2:3",
	  "too many limit value arguments - 1:2:3, can only have up to two, "
	  "`soft[:hard]`",
	  0, 0 },
	{ "nofile=x", "strconv.ParseInt: parsing \"x\": invalid syntax", 0, 0 },
	{ "nofile=", "strconv.ParseInt: parsing \"\": invalid syntax", 0, 0 },
	{ "nofile=99999999999999999999",
	  "strconv.ParseInt: parsing \"99999999999999999999\": "
	  "value out of range",
	  0, 0 },
};

START_TEST(ulimit_parse_table)
{
	struct lc_err *err = NULL;
	struct lc_rlimit r = { 0 };
	int rc = lc_ulimit_parse(ulimit_cases[_i].in, &r, &err);

	if (!ulimit_cases[_i].err) {
		ck_assert_msg(rc == 0, "%s: %s", ulimit_cases[_i].in, err ? err->msg : "?");
		ck_assert_uint_eq(r.soft, ulimit_cases[_i].soft);
		ck_assert_uint_eq(r.hard, ulimit_cases[_i].hard);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(err->msg, ulimit_cases[_i].err);
		lc_err_free(err);
	}
}
END_TEST

START_TEST(device_parse_rules)
{
	struct lc_err *err = NULL;
	struct lc_device d;

	ck_assert_ok(lc_device_parse("/dev/null", &d, &err), &err);
	ck_assert_str_eq(d.ctr_path, "/dev/null");
	ck_assert_str_eq(d.access, "rwm");
	ck_assert_int_eq(d.type, 'c');
	ck_assert_uint_eq(d.major, 1);
	ck_assert_uint_eq(d.minor, 3);
	ck_assert_ok(lc_device_parse("/dev/null:r", &d, &err), &err);
	ck_assert_str_eq(d.ctr_path, "/dev/null");
	ck_assert_str_eq(d.access, "r");
	ck_assert_ok(lc_device_parse("/dev/zero:/dev/xvdc:rw", &d, &err), &err);
	ck_assert_str_eq(d.host_path, "/dev/zero");
	ck_assert_str_eq(d.ctr_path, "/dev/xvdc");
	ck_assert_str_eq(d.access, "rw");
	ck_assert_uint_eq(d.minor, 5);
	ck_assert_int_eq(lc_device_parse("/dev/null:rr", &d, &err), -1);
	ck_assert_str_eq(err->msg, "bad format for path: rr");
	lc_err_free(err), err = NULL;
	ck_assert_int_eq(lc_device_parse("/dev/null:/dev/x:q", &d, &err), -1);
	ck_assert_str_eq(err->msg, "bad mode specified: q");
	lc_err_free(err), err = NULL;
	ck_assert_int_eq(lc_device_parse("/dev/null:/dev/../etc/x", &d, &err), -1);
	ck_assert_str_eq(err->msg, "bad format for path: /dev/../etc/x");
	lc_err_free(err), err = NULL;
	ck_assert_int_eq(lc_device_parse("/etc/passwd", &d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "not a device node"));
	lc_err_free(err), err = NULL;
	ck_assert_int_eq(lc_device_parse("/nonexistent-device", &d, &err), -1);
	lc_err_free(err), err = NULL;
	ck_assert_int_eq(lc_device_parse("/dev/null:/a:r:w", &d, &err), -1);
	lc_err_free(err);
}
END_TEST

static const char *const bad_profiles[][2] = {
	{ "not json", "seccomp profile" },
	{ "[]", "seccomp profile: not a JSON object" },
	{ "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "action 'SCMP_ACT_NOTIFY' is not supported" },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_PPC\"]}",
	  "its architectures do not include" },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
	  "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
	  "an argument needs an index 0-5" },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
	  "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_LIKE\"}]}]}",
	  "comparison 'SCMP_CMP_LIKE' is not supported" },
};

START_TEST(seccomp_profile_refuses)
{
	struct lc_err *err = NULL;
	struct lc_seccomp_prog *p = NULL;

	ck_assert_int_eq(lc_seccomp_profile_compile(bad_profiles[_i][0],
						    strlen(bad_profiles[_i][0]), LC_DEFAULT_CAPS,
						    &p, &err),
			 -1);
	ck_assert_msg(strstr(err->msg, bad_profiles[_i][1]), "%s", err->msg);
	ck_assert_ptr_null(p);
	lc_err_free(err);
}
END_TEST

#if defined(__x86_64__) || defined(__aarch64__)
/*
 * mkdir/mkdirat denied (EPERM, the default errno), getpriority(PRIO_PGRP, ...) EDOM by an
 * argument, getpriority(PRIO_USER, above 2^32) ENOSYS by a 64-bit comparison, a rule only for
 * CAP_SYS_ADMIN left out, the rest allowed.
 */
static const char sc_profile[] =
	"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
	"\"SCMP_ARCH_AARCH64\"],\"syscalls\":["
	"{\"names\":[\"mkdir\",\"mkdirat\",\"no_such_syscall\"],\"action\":\"SCMP_ACT_ERRNO\"},"
	"{\"names\":[\"getpriority\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":33,"
	"\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]},"
	"{\"names\":[\"getpriority\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38,"
	"\"args\":[{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"},"
	"{\"index\":1,\"value\":4294967296,\"op\":\"SCMP_CMP_GT\"}]},"
	"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"caps\":"
	"[\"CAP_SYS_ADMIN\"]}}]}";

static void sc_profile_child(const void *arg)
{
	struct lc_err *err = NULL;
	struct lc_seccomp_prog *p = NULL;
	char *dir = lc_xasprintf("%s/d", (const char *)arg);

	SC_CHECK(lc_seccomp_profile_compile(sc_profile, strlen(sc_profile), LC_DEFAULT_CAPS, &p,
					    &err) == 0,
		 "compile: %s", err ? err->msg : "?");
	SC_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %m");
	SC_CHECK(lc_seccomp_prog_install(p, &err) == 0, "install: %s", err ? err->msg : "?");
	SC_CHECK(mkdir(dir, 0700) < 0 && errno == EPERM, "mkdir: %m");
	SC_CHECK(syscall(SYS_getpriority, 1, 0) < 0 && errno == EDOM, "getpriority(PGRP): %m");
	SC_CHECK(syscall(SYS_getpriority, 2, 0x100000001ULL) < 0 && errno == ENOSYS,
		 "getpriority(USER, 2^32+1): %m");
	errno = 0;
	SC_CHECK(syscall(SYS_getpriority, 2, 0x100000000ULL) >= 0 || errno != ENOSYS,
		 "getpriority(USER, 2^32) was denied");
	SC_CHECK(syscall(SYS_getpriority, 0, 0) >= 0, "getpriority(PROCESS): %m");
	SC_CHECK(getppid() > 0, "getppid denied: its rule is for CAP_SYS_ADMIN only");
	SC_CHECK(getpid() > 0, "getpid");
	lc_seccomp_prog_free(p);
	free(dir);
	_exit(0);
}

START_TEST(seccomp_profile_applies)
{
	char *tmp = unit_tmpdir();

	sc_in_child(sc_profile_child, tmp);
	unit_tmpdir_free(tmp);
}
END_TEST

/* the cached program of sc_profile in dir: loaded (*cached) or compiled; its instructions */
static struct lc_seccomp_prog *sc_cache_load(const char *dir, uint64_t caps, bool *cached)
{
	struct lc_err *err = NULL;
	struct lc_seccomp_prog *p = NULL;

	ck_assert_msg(lc_seccomp_profile_load(dir, sc_profile, strlen(sc_profile), caps, &p, cached,
					      &err) == 0,
		      "load: %s", err ? err->msg : "?");
	return p;
}

static bool sc_same(const struct lc_seccomp_prog *a, const struct lc_seccomp_prog *b)
{
	size_t na, nb;
	const struct sock_filter *fa = lc_seccomp_prog_filter(a, &na);
	const struct sock_filter *fb = lc_seccomp_prog_filter(b, &nb);

	return na == nb && !memcmp(fa, fb, na * sizeof(*fa));
}

/* the cache file of sc_profile with LC_DEFAULT_CAPS, its bytes */
static char *sc_cache_path(const char *dir)
{
	char key[LC_DIGEST_BUFSZ];

	lc_seccomp_cache_key(sc_profile, strlen(sc_profile), LC_DEFAULT_CAPS, key);
	return lc_xasprintf("%s/%s", dir, lc_digest_hex(key));
}

static void sc_rewrite(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lc_write_all(fd, buf, len), 0);
	close(fd);
}

/*
 * Compiled once, then loaded (the same instructions); another set of capabilities is another
 * key; a tampered file (a flipped instruction, a truncation, one whose checksum was fixed up
 * but whose jump leaves the program, another owner's mode, a symlink) is never loaded: the
 * profile is compiled again and the file rewritten.
 */
START_TEST(seccomp_cache_rebuilds_tampered)
{
	char *tmp = unit_tmpdir();
	char *dir = lc_xasprintf("%s/seccomp", tmp);
	char *path = sc_cache_path(dir);
	struct lc_seccomp_prog *ref, *p;
	struct lc_err *err = NULL;
	char *good = NULL, *bad;
	size_t len = 0, n;
	bool cached = true;
	struct stat st;

	ref = sc_cache_load(dir, LC_DEFAULT_CAPS, &cached);
	ck_assert(!cached);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(lc_read_file_at(AT_FDCWD, path, 1 << 20, &good, &len, &err), 0);
	p = sc_cache_load(dir, LC_DEFAULT_CAPS, &cached);
	ck_assert_msg(cached, "the second load compiled again");
	ck_assert(sc_same(ref, p));
	lc_seccomp_prog_free(p);
	/* CAP_SYS_ADMIN changes the program (the getppid rule): not the same key */
	p = sc_cache_load(dir, LC_DEFAULT_CAPS | (1ULL << CAP_SYS_ADMIN), &cached);
	ck_assert(!cached);
	ck_assert(!sc_same(ref, p));
	lc_seccomp_prog_free(p);

	bad = lc_xmalloc(len);
	for (int round = 0; round < 6; round++) {
		memcpy(bad, good, len);
		switch (round) {
		case 0: /* the default action's value (the last return's k) changed */
			bad[len - 2] ^= 0x40;
			sc_rewrite(path, bad, len);
			break;
		case 1: /* truncated */
			sc_rewrite(path, bad, len - 8);
			break;
		case 2: { /* a jump past the end, the checksum in the header made to match it */
			/* seccomp-cache.c's header: magic[32], key, sum, n, zero */
			size_t hdr = 32 + 2 * LC_DIGEST_BUFSZ + 8;
			char *sum = bad + 32 + LC_DIGEST_BUFSZ;

			n = 0;
			for (size_t off = len; off >= hdr + 8; off -= 8) {
				struct sock_filter *g = (struct sock_filter *)(bad + off - 8);

				if (BPF_CLASS(g->code) == BPF_JMP) {
					g->jt = 0xff;
					n = off;
					break;
				}
			}
			ck_assert_uint_gt(n, 0);
			ck_assert(!memcmp(sum, "sha256:", 7));
			lc_sha256_buf(bad + hdr, len - hdr, sum);
			sc_rewrite(path, bad, len);
			break;
		}
		case 3: /* writable by others */
			sc_rewrite(path, good, len);
			ck_assert_int_eq(chmod(path, 0622), 0);
			break;
		case 4: { /* a symlink to a good copy */
			char *copy = lc_xasprintf("%s/copy", tmp);
			int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(lc_write_all(fd, good, len), 0);
			close(fd);
			ck_assert_int_eq(unlink(path), 0);
			ck_assert_int_eq(symlink(copy, path), 0);
			free(copy);
			break;
		}
		case 5: /* a second link */
		{
			char *ln = lc_xasprintf("%s/ln", tmp);

			ck_assert_int_eq(link(path, ln), 0);
			free(ln);
			break;
		}
		}
		p = sc_cache_load(dir, LC_DEFAULT_CAPS, &cached);
		ck_assert_msg(!cached, "round %d: a tampered cache file was loaded", round);
		ck_assert_msg(sc_same(ref, p), "round %d: not the profile's program", round);
		lc_seccomp_prog_free(p);
		/* rewritten whole: the next load takes it */
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISREG(st.st_mode) && st.st_nlink == 1 && (st.st_mode & 0777) == 0600);
		p = sc_cache_load(dir, LC_DEFAULT_CAPS, &cached);
		ck_assert_msg(cached, "round %d: not cached again", round);
		ck_assert(sc_same(ref, p));
		lc_seccomp_prog_free(p);
	}
	free(bad);
	free(good);
	lc_seccomp_prog_free(ref);
	free(path);
	free(dir);
	unit_tmpdir_free(tmp);
}
END_TEST

/* a miss in a cache dir of more than 64 names empties it: only the new entry stays */
START_TEST(seccomp_cache_bounded)
{
	char *tmp = unit_tmpdir();
	char *dir = lc_xasprintf("%s/seccomp", tmp);
	struct lc_seccomp_prog *p;
	bool cached = true;
	int n = 0;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	for (int i = 0; i < 70; i++) {
		char name[32];

		snprintf(name, sizeof(name), "old-%d", i);
		put_file(dir, name, "x", 0600);
	}
	p = sc_cache_load(dir, LC_DEFAULT_CAPS, &cached);
	ck_assert(!cached);
	lc_seccomp_prog_free(p);
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
	}
	ck_assert_int_eq(n, 1);
	p = sc_cache_load(dir, LC_DEFAULT_CAPS, &cached);
	ck_assert(cached);
	lc_seccomp_prog_free(p);
	free(dir);
	unit_tmpdir_free(tmp);
}
END_TEST

/* "args": null is no args (docker's Go decoder; podman's seccomp.json has it); 5 is not */
START_TEST(seccomp_profile_null_args)
{
	static const char with_null[] =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"args\":null,\"comment\":\"\",\"includes\":{},"
		"\"excludes\":{}}]}";
	static const char without[] =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
		"\"action\":\"SCMP_ACT_ERRNO\"}]}";
	static const char with_five[] =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
		"\"action\":\"SCMP_ACT_ERRNO\",\"args\":5}]}";
	struct lc_seccomp_prog *a = NULL, *b = NULL, *c = NULL;
	struct lc_err *err = NULL;

	ck_assert_msg(lc_seccomp_profile_compile(with_null, strlen(with_null), LC_DEFAULT_CAPS, &a,
						 &err) == 0,
		      "%s", err ? err->msg : "?");
	ck_assert_int_eq(
		lc_seccomp_profile_compile(without, strlen(without), LC_DEFAULT_CAPS, &b, &err), 0);
	ck_assert(sc_same(a, b));
	ck_assert_int_eq(
		lc_seccomp_profile_compile(with_five, strlen(with_five), LC_DEFAULT_CAPS, &c, &err),
		-1);
	ck_assert_msg(strstr(err->msg, "args is not a list"), "%s", err->msg);
	lc_err_free(err);
	lc_seccomp_prog_free(a);
	lc_seccomp_prog_free(b);
}
END_TEST

/* what the cache may hand out: the compiler's instructions, jumps inside, a return last */
START_TEST(seccomp_filter_sane_table)
{
	const struct sock_filter ok[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter f[4];

	ck_assert(lc_seccomp_filter_sane(ok, 4));
	ck_assert(!lc_seccomp_filter_sane(ok, 0));
	ck_assert(!lc_seccomp_filter_sane(ok, 3)); /* the jump leaves it, no return last */
	memcpy(f, ok, sizeof(f));
	f[1].jf = 2; /* past the end */
	ck_assert(!lc_seccomp_filter_sane(f, 4));
	memcpy(f, ok, sizeof(f));
	f[0].k = sizeof(struct seccomp_data); /* outside seccomp_data */
	ck_assert(!lc_seccomp_filter_sane(f, 4));
	memcpy(f, ok, sizeof(f));
	f[0].k = 2; /* unaligned */
	ck_assert(!lc_seccomp_filter_sane(f, 4));
	memcpy(f, ok, sizeof(f));
	f[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0); /* not the compiler's */
	ck_assert(!lc_seccomp_filter_sane(f, 4));
	memcpy(f, ok, sizeof(f));
	f[2] = (struct sock_filter)BPF_STMT(BPF_ST, 0);
	ck_assert(!lc_seccomp_filter_sane(f, 4));
}
END_TEST
#endif

/* ---------- user namespace (userns.c) ---------- */

static const struct {
	const char *spec;
	bool ok;
	uint32_t ctr, host, count;
} idmaps[] = {
	{ "0:100000:65536", true, 0, 100000, 65536 },
	{ "1000:2000:1", true, 1000, 2000, 1 },
	{ "0:0:4294967295", false, 0, 0, 0 },	       /* amount past 2^32-2 */
	{ "4294967294:1:2", false, 0, 0, 0 },	       /* runs past the last id */
	{ "0:100000:0", false, 0, 0, 0 },	       /* amount 0 */
	{ "0:100000", false, 0, 0, 0 },		       /* two fields */
	{ "0:1:2:3", false, 0, 0, 0 },		       /* four */
	{ "-1:100000:10", false, 0, 0, 0 },	       /* a sign */
	{ "+0:100000:10", false, 0, 0, 0 },	       /* a sign */
	{ " 0:100000:10", false, 0, 0, 0 },	       /* a space */
	{ "0::10", false, 0, 0, 0 },		       /* empty */
	{ "0:99999999999:10", false, 0, 0, 0 },	       /* overflow */
	{ "0x10:100000:10", false, 0, 0, 0 },	       /* hex */
	{ "0:4294967294:1", true, 0, 4294967294u, 1 }, /* the last id */
};

START_TEST(idmap_parse_table)
{
	struct lc_err *err = NULL;
	struct lc_idmap m = { 0 };
	int r = lc_idmap_parse(idmaps[_i].spec, &m, &err);

	if (idmaps[_i].ok) {
		ck_assert_msg(r == 0, "%s: %s", idmaps[_i].spec, err ? err->msg : "");
		ck_assert_uint_eq(m.ctr, idmaps[_i].ctr);
		ck_assert_uint_eq(m.host, idmaps[_i].host);
		ck_assert_uint_eq(m.count, idmaps[_i].count);
	} else {
		ck_assert_msg(r < 0, "%s accepted", idmaps[_i].spec);
		ck_assert_int_eq(err->code, LC_ERR_INVALID);
		lc_err_free(err);
	}
}
END_TEST

START_TEST(idmap_check_and_lookup)
{
	struct lc_err *err = NULL;
	struct lc_idmap ok[] = { { 0, 100000, 1000 }, { 1000, 300000, 10 } };
	struct lc_idmap ctr_overlap[] = { { 0, 100000, 1000 }, { 999, 300000, 10 } };
	struct lc_idmap host_overlap[] = { { 0, 100000, 1000 }, { 5000, 100999, 10 } };
	struct lc_idmap many[LC_IDMAP_MAX + 1];
	uint32_t h = 0;

	ck_assert_ok(lc_idmap_check(ok, 2, "--uidmap", &err), &err);
	ck_assert_int_eq(lc_idmap_check(ctr_overlap, 2, "--uidmap", &err), -1);
	ck_assert_str_eq(err->msg, "--uidmap: container ids 0-999 and 999-1008 overlap");
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(lc_idmap_check(host_overlap, 2, "--uidmap", &err), -1);
	ck_assert_str_eq(err->msg, "--uidmap: host ids 100000-100999 and 100999-101008 overlap");
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(lc_idmap_check(ok, 0, "--uidmap", &err), -1);
	lc_err_free(err);
	err = NULL;
	for (size_t i = 0; i < LC_ARRAY_SIZE(many); i++)
		many[i] = (struct lc_idmap){ (uint32_t)i * 10, 100000 + (uint32_t)i * 10, 10 };
	ck_assert_int_eq(lc_idmap_check(many, LC_ARRAY_SIZE(many), "--uidmap", &err), -1);
	ck_assert_int_eq(err->code, LC_ERR_LIMIT);
	lc_err_free(err);
	ck_assert(lc_idmap_to_host(ok, 2, 0, &h) && h == 100000);
	ck_assert(lc_idmap_to_host(ok, 2, 999, &h) && h == 100999);
	ck_assert(lc_idmap_to_host(ok, 2, 1009, &h) && h == 300009);
	ck_assert(!lc_idmap_to_host(ok, 2, 1010, &h));
}
END_TEST

START_TEST(subid_parse_lines)
{
	static const char text[] = "# comment\n"
				   "alice:100000:65536\n"
				   "bob:165536:65536\n"
				   "1000:300000:10\n"
				   "alice:bad:10\n"
				   "alice:5:0\n"
				   "alice:4294967290:100\n"
				   "alicex:1:1\n"
				   "alice:200000:5"; /* no newline at the end */
	struct lc_idrange r[4];
	struct lc_err *err = NULL;
	size_t n = 99;

	ck_assert_ok(lc_subid_parse(text, strlen(text), "alice", 1000, r, 4, &n, &err), &err);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(r[0].start, 100000);
	ck_assert_uint_eq(r[0].count, 65536);
	ck_assert_uint_eq(r[1].start, 300000); /* by uid */
	ck_assert_uint_eq(r[2].start, 200000);
	ck_assert_uint_eq(r[2].count, 5);
	ck_assert_ok(lc_subid_parse(text, strlen(text), NULL, 4242, r, 4, &n, &err), &err);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(lc_subid_parse(text, strlen(text), "alice", 1000, r, 2, &n, &err), -1);
	ck_assert_int_eq(err->code, LC_ERR_LIMIT);
	lc_err_free(err);
}
END_TEST

START_TEST(idrange_pick_first_fit)
{
	struct lc_idrange avail[] = { { 100000, 131072 }, { 500000, 65536 } };
	struct lc_idrange used[] = { { 100000, 65536 }, { 170000, 10 } };
	struct lc_idrange used_all[] = { { 100000, 131072 }, { 500000, 1 } };
	uint32_t s = 0;

	ck_assert_int_eq(lc_idrange_pick(avail, 2, NULL, 0, 65536, &s), 0);
	ck_assert_uint_eq(s, 100000);
	/* the first 65536 are taken; 165536..231071 holds 170000: the next range */
	ck_assert_int_eq(lc_idrange_pick(avail, 2, used, 1, 65536, &s), 0);
	ck_assert_uint_eq(s, 165536);
	ck_assert_int_eq(lc_idrange_pick(avail, 2, used, 2, 65536, &s), 0);
	ck_assert_uint_eq(s, 500000);
	ck_assert_int_eq(lc_idrange_pick(avail, 2, used, 2, 60000, &s), 0);
	ck_assert_uint_eq(s, 170010);
	ck_assert_int_eq(lc_idrange_pick(avail, 2, used_all, 2, 65536, &s), -1);
	ck_assert_int_eq(lc_idrange_pick(avail, 2, NULL, 0, 200000, &s), -1);
	/* ranges at the top of the id space do not wrap */
	ck_assert_int_eq(
		lc_idrange_pick(&(struct lc_idrange){ 4294901759u, 65535 }, 1, NULL, 0, 65536, &s),
		-1);
}
END_TEST

/* As root: a layer's file owned by 0 shows as the map's host id through the idmapped lower,
 * while the layer on disk keeps 0. */
START_TEST(overlay_idmapped_lowers)
{
	char *root = fake_store(1);
	struct lc_err *err = NULL;
	const char **links = make_links(1);
	struct lc_idmap m = { 0, 4100000, 65536 };
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), usfd = -1;
	char *p, *cdir;
	struct stat st;

	p = lc_xasprintf("%s/layers/sha256/000/diff", root);
	put_file(p, "owned", "x", 0644);
	free(p);
	ck_assert_ok(lc_userns_fd(&m, 1, &m, 1, &usfd, &err), &err);
	ck_assert_ok(lc_overlay_mount_links_idmapped(rootfd, root, links, 1, "containers/c", usfd,
						     false, &err),
		     &err);
	close(usfd);
	cdir = lc_xasprintf("%s/containers/c", root);
	p = lc_xasprintf("%s/merged/owned", cdir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, 4100000);
	ck_assert_uint_eq(st.st_gid, 4100000);
	free(p);
	p = lc_xasprintf("%s/layers/sha256/000/diff/owned", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	free(p);
	/* the idmapped clones lived in the mount thread's namespace only */
	p = lc_xasprintf("%s/layers", root);
	ck_assert(!mounted_under(p));
	free(p);
	ck_assert_ok(lc_overlay_umount(cdir, &err), &err);
	free(cdir);
	close(rootfd);
	free_links(links, 1);
	unit_tmpdir_free(root);
}
END_TEST

static Suite *mount_suite(void)
{
	Suite *s = suite_create("mount");
	TCase *tc = tcase_create("unit");
	TCase *ovl = tcase_create("overlay");
	TCase *run = tcase_create("launch");

	tcase_add_loop_test(tc, user_parse_table, 0, LC_ARRAY_SIZE(users));
	tcase_add_test(tc, user_resolve_passwd_group);
	tcase_add_test(tc, user_resolve_refuses_big_ids);
	tcase_add_test(tc, user_resolve_bounded_lines);
	tcase_add_test(tc, overlay_legacy_opts_exact);
	tcase_add_loop_test(tc, overlay_legacy_opts_refuse_separators, 0, LC_ARRAY_SIZE(bad_paths));
	tcase_add_test(tc, overlay_legacy_opts_page_bound);
	tcase_add_test(tc, overlay_refuses_too_many_layers);
	tcase_add_test(tc, lookpath_like_docker);
	tcase_add_test(tc, lookpath_refuses_magic_links);
	tcase_add_test(tc, port_parse_table);
	tcase_add_test(tc, fds_keep_only_closes_the_rest);
	tcase_add_test(tc, check_exec_refuses_own_binary);
	tcase_add_test(tc, env_get_exact_key);
	tcase_add_loop_test(tc, seccomp_answers_like_docker, 0, LC_ARRAY_SIZE(sc_cases));
	tcase_add_test(tc, seccomp_threads_and_fork_work);
	tcase_add_test(tc, tty_raw_and_restore);
	tcase_add_loop_test(tc, tty_restored_by_fatal_signal, 0, 3);
	tcase_add_test(tc, fd_send_recv);
	tcase_add_test(tc, pty_proxy_both_ways);
#ifdef __x86_64__
	tcase_add_test(tc, seccomp_refuses_i386_abi);
#endif
	tcase_add_loop_test(tc, ulimit_parse_table, 0, LC_ARRAY_SIZE(ulimit_cases));
	tcase_add_test(tc, device_parse_rules);
	tcase_add_loop_test(tc, idmap_parse_table, 0, LC_ARRAY_SIZE(idmaps));
	tcase_add_test(tc, idmap_check_and_lookup);
	tcase_add_test(tc, subid_parse_lines);
	tcase_add_test(tc, idrange_pick_first_fit);
	tcase_add_loop_test(tc, seccomp_profile_refuses, 0, LC_ARRAY_SIZE(bad_profiles));
#if defined(__x86_64__) || defined(__aarch64__)
	tcase_add_test(tc, seccomp_profile_applies);
	tcase_add_test(tc, seccomp_cache_rebuilds_tampered);
	tcase_add_test(tc, seccomp_filter_sane_table);
	tcase_add_test(tc, seccomp_profile_null_args);
	tcase_add_test(tc, seccomp_cache_bounded);
#endif
	suite_add_tcase(s, tc);

	tcase_set_tags(ovl, "root");
	tcase_set_timeout(ovl, 30);
	tcase_add_test(ovl, overlay_whiteout_hides_lower_file);
	tcase_add_test(ovl, overlay_ephemeral_is_volatile_and_mounts_again);
	tcase_add_test(ovl, overlay_idmapped_lowers);
	tcase_add_test(ovl, overlay_many_layers);
	tcase_add_test(ovl, overlay_reports_missing_layer);
	tcase_add_test(ovl, pty_open_in_own_devpts);
	suite_add_tcase(s, ovl);

	tcase_set_tags(run, "root");
	tcase_set_timeout(run, 30);
	tcase_add_test(run, launch_pid1_hostname_status);
	tcase_add_test(run, launch_killed_is_128_plus_signal);
	tcase_add_test(run, launch_forwards_sigterm);
	tcase_add_test(run, launch_exec_errors);
	tcase_add_test(run, launch_hardening);
	tcase_add_test(run, launch_user_and_cwd);
	tcase_add_test(run, launch_seccomp);
	tcase_add_test(run, launch_stdin_and_session);
	tcase_add_test(run, launch_tty);
	tcase_add_loop_test(run, launch_refuses_symlinked_mount_points, 0, LC_ARRAY_SIZE(hostile));
	tcase_add_test(run, launch_etc_symlink_lands_inside);
	suite_add_tcase(s, run);
	return s;
}

int main(void)
{
	return unit_run(mount_suite());
}
