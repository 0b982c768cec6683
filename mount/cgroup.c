/* SPDX-License-Identifier: MIT */
/*
 * cgroup: one cgroup per container with docker's resource flags, on cgroup v1, v2 or the
 * hybrid of both (v1 controllers plus a v2 mount with few or none). The layout is read from
 * mountinfo at run time; every controller goes where its hierarchy is (v1 first, v2 when it
 * is not on v1). The container's cgroup is <hierarchy>/<parent>/<id>; we create it and the
 * parents that are missing, and remove only <id>: the parents may be shared by other runs.
 * docker's default device allow-list is the device policy: v1 devices.deny/devices.allow, v2
 * a BPF_PROG_TYPE_CGROUP_DEVICE program. An OOM kill is read back from the memory counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "mount-int.h"

#define CPU_PERIOD_US 100000

static const char *const ctrl_v1_name[LC_CG_N] = {
	[LC_CG_MEMORY] = "memory", [LC_CG_CPU] = "cpu",	 [LC_CG_CPUSET] = "cpuset",
	[LC_CG_PIDS] = "pids",	   [LC_CG_IO] = "blkio", [LC_CG_DEVICES] = "devices",
};
const char *const lc_cg_v2_name[LC_CG_N] = {
	[LC_CG_MEMORY] = "memory", [LC_CG_CPU] = "cpu",
	[LC_CG_CPUSET] = "cpuset", [LC_CG_PIDS] = "pids",
	[LC_CG_IO] = "io",	   [LC_CG_DEVICES] = NULL, /* bpf, not a file */
};

/* ---------- flags ---------- */

bool lc_cgroup_limits_any(const struct lc_cgroup_limits *l)
{
	return l->memory > 0 || l->memory_swap != 0 || l->memory_reservation > 0 ||
	       l->nano_cpus > 0 || l->cpu_shares > 0 || (l->cpuset_cpus && *l->cpuset_cpus) ||
	       l->pids_limit > 0 || l->blkio_weight > 0 || l->n_rates > 0 || l->oom_kill_disable ||
	       l->n_devices > 0;
}

int lc_cgroup_limits_check(struct lc_cgroup_limits *l, struct lc_err **err)
{
	const int64_t min_mem = 6 * 1024 * 1024; /* docker's linuxMinMemory */

	/* docker's daemon checks (verifyPlatformContainerResources), with its words */
	if (l->memory != 0 && l->memory < min_mem)
		return lc_err_set(err, LC_ERR_INVALID, 0, "Minimum memory limit allowed is 6MB");
	if (l->memory_swap != 0 && l->memory == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "You should always set the Memory limit when using Memoryswap "
				  "limit, see usage");
	if (l->memory_swap > 0 && l->memory_swap < l->memory)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "Minimum memoryswap limit should be larger than memory limit, "
				  "see usage");
	if (l->memory_swap < -1)
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid --memory-swap %" PRId64,
				  l->memory_swap);
	if (l->memory_reservation != 0 && l->memory_reservation < min_mem)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "Minimum memory reservation allowed is 6MB");
	if (l->memory > 0 && l->memory_reservation > l->memory)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "Minimum memory limit can not be less than memory reservation "
				  "limit, see usage");
	if (l->cpu_shares < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid --cpu-shares %" PRId64 ": must be positive",
				  l->cpu_shares);
	if (l->blkio_weight != 0 && (l->blkio_weight < 10 || l->blkio_weight > 1000))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "Range of blkio weight is from 10 to 1000");
	/* docker: memory+swap defaults to twice the memory */
	if (l->memory > 0 && l->memory_swap == 0)
		l->memory_swap = l->memory > INT64_MAX / 2 ? -1 : 2 * l->memory;
	return 0;
}

int lc_cgroup_parse_cpus(const char *s, long ncpu, int64_t *ret_nano, struct lc_err **err)
{
	int64_t whole = 0, frac = 0, scale = 1000000000;
	const char *p = s;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!*p || (*p == '.' && !p[1]))
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > 1000000)
			goto range;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			/* docker: nanoCPUs must be whole ("value is too precise") */
			if (scale == 1) {
				if (*p != '0')
					return lc_err_set(err, LC_ERR_INVALID, 0,
							  "value is too precise");
				continue;
			}
			scale /= 10;
			frac += (*p - '0') * scale;
		}
	}
	if (*p)
		goto bad;
	frac += whole * 1000000000;
	/* docker: NanoCPUs must lie in [0, ncpu]; 0 is "no limit", under 0.01 is too small */
	if (neg && frac)
		goto range;
	if (frac && (frac < 10000000 || frac > ncpu * 1000000000))
		goto range;
	*ret_nano = frac;
	return 0;
range:
	return lc_err_set(err, LC_ERR_INVALID, 0,
			  "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs "
			  "available",
			  ncpu, ncpu);
bad:
	return lc_err_set(err, LC_ERR_INVALID, 0, "failed to parse %s as a rational number", s);
}

int lc_cgroup_parse_cpuset(const char *s, struct lc_err **err)
{
	const char *p = s;

	/* "0-3,5,7-8": what the kernel takes, checked before anything runs */
	for (;;) {
		unsigned long a, b;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		a = strtoul(p, &end, 10);
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			b = strtoul(p, &end, 10);
			p = end;
			if (b < a)
				goto bad;
		}
		if (!*p)
			return 0;
		if (*p++ != ',')
			goto bad;
	}
bad:
	return lc_err_set(err, LC_ERR_INVALID, 0, "Invalid value %s for cpuset cpus", s);
}

int lc_cgroup_parse_rate(const char *s, enum lc_cgroup_rate_kind kind, const char *dev_prefix,
			 struct lc_cgroup_rate *ret, struct lc_err **err)
{
	bool bps = kind == LC_RATE_READ_BPS || kind == LC_RATE_WRITE_BPS;
	const char *colon = strrchr(s, ':');
	cleanup_free char *dev = NULL, *path = NULL;
	int64_t v = 0;
	struct stat st;

	/* docker's ValidateThrottleBpsDevice / ValidateThrottleIOpsDevice */
	if (!colon)
		return lc_err_set(err, LC_ERR_INVALID, 0, "bad format: %s", s);
	dev = lc_xstrndup(s, (size_t)(colon - s));
	if (strncmp(dev, "/dev/", 5) != 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "%s is not an absolute path", dev);
	if (bps) {
		if (lc_parse_size(colon + 1, &v) < 0 || v <= 0)
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid rate for device: %s. The correct format is "
				"<device-path>:<number>[<unit>]. Number must be a "
				"positive integer. Unit is optional and can be kb, mb, or "
				"gb",
				s);
	} else {
		const char *p = colon + 1;

		for (; *p >= '0' && *p <= '9' && v <= INT64_MAX / 10 - 9; p++)
			v = v * 10 + (*p - '0');
		if (p == colon + 1 || *p || v <= 0)
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid rate for device: %s. The correct format is "
				"<device-path>:<number>. Number must be a positive integer",
				s);
	}
	path = lc_xasprintf("%s%s", dev_prefix ? dev_prefix : "", dev);
	if (stat(path, &st) < 0)
		return lc_err_set(err, LC_ERR_INVALID, errno, "device '%s'", dev);
	if (!S_ISBLK(st.st_mode))
		return lc_err_set(err, LC_ERR_INVALID, 0, "'%s' is not a block device", dev);
	ret->major = major(st.st_rdev);
	ret->minor = minor(st.st_rdev);
	ret->kind = kind;
	ret->rate = (uint64_t)v;
	return 0;
}

int lc_cgroup_parent_check(const char *parent, struct lc_err **err)
{
	const char *p = parent;

	while (*p == '/')
		p++;
	if (!*p)
		goto bad;
	/* components of [A-Za-z0-9_.-], never "." or "..": it must stay under the root */
	for (;;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_.-");

		if (n == 0 || n > 200 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		p += n;
		if (!*p)
			return 0;
		if (*p != '/')
			goto bad;
		while (*p == '/')
			p++;
		if (!*p)
			return 0;
	}
bad:
	return lc_err_set(err, LC_ERR_INVALID, 0,
			  "invalid --cgroup-parent '%s' (want names of [A-Za-z0-9_.-] separated "
			  "by '/')",
			  parent);
}

uint64_t lc_cgroup_shares_to_weight(uint64_t shares)
{
	/* runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] onto [1, 10000] */
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* ---------- layout ---------- */

void lc_cgroup_layout_clear(struct lc_cgroup_layout *lay)
{
	free(lay->v2);
	for (size_t i = 0; i < LC_CG_N; i++)
		free(lay->v1[i]);
	memset(lay, 0, sizeof(*lay));
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static char *unescape(const char *s, size_t n)
{
	char *r = lc_xmalloc(n + 1), *o = r;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n + 1 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
				      (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = 0;
	return r;
}

/* The n-th space-separated field of line (0-based), its length in *len. */
static const char *field(const char *line, size_t n, size_t *len)
{
	const char *p = line;

	for (size_t i = 0; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			return NULL;
		p++;
	}
	*len = strcspn(p, " \n");
	return p;
}

bool lc_cgroup_list_has(const char *list, size_t len, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; p < list + len;) {
		size_t n = strcspn(p, ",\n ");

		if (n > (size_t)(list + len - p))
			n = (size_t)(list + len - p);
		if (n == wl && !memcmp(p, word, wl))
			return true;
		p += n + 1;
	}
	return false;
}

int lc_cgroup_layout_parse(const char *mountinfo, const char *prefix, struct lc_cgroup_layout *ret,
			   struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	const char *pre = prefix ? prefix : "";

	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n');
		cleanup_free char *l = lc_xstrndup(line, nl ? (size_t)(nl - line) : strlen(line));
		const char *sep = strstr(l, " - "), *root, *mnt, *fstype, *opts;
		size_t rlen = 0, mlen = 0, flen = 0, olen = 0;

		line = nl ? nl + 1 : NULL;
		if (!sep)
			continue;
		root = field(l, 3, &rlen);
		mnt = field(l, 4, &mlen);
		fstype = field(sep + 3, 0, &flen);
		opts = field(sep + 3, 2, &olen);
		/* a bind of a sub-cgroup is not a hierarchy's root */
		if (!root || !mnt || !fstype || !opts || rlen != 1 || *root != '/')
			continue;
		if (flen == 7 && !memcmp(fstype, "cgroup2", 7)) {
			if (!lay.v2) {
				cleanup_free char *m = unescape(mnt, mlen);

				lay.v2 = lc_xasprintf("%s%s", pre, m);
			}
		} else if (flen == 6 && !memcmp(fstype, "cgroup", 6)) {
			for (size_t c = 0; c < LC_CG_N; c++) {
				if (lay.v1[c] || !lc_cgroup_list_has(opts, olen, ctrl_v1_name[c]))
					continue;
				cleanup_free char *m = unescape(mnt, mlen);

				lay.v1[c] = lc_xasprintf("%s%s", pre, m);
			}
		}
	}
	if (lay.v2) {
		cleanup_free char *path = lc_xasprintf("%s/cgroup.controllers", lay.v2);
		cleanup_free char *ctl = NULL;
		size_t len = 0;

		if (lc_read_file_at(AT_FDCWD, path, 4096, &ctl, &len, err) < 0) {
			lc_cgroup_layout_clear(&lay);
			return lc_err_prefix(err, "cgroup v2");
		}
		for (size_t c = 0; c < LC_CG_N; c++)
			lay.on_v2[c] =
				lc_cg_v2_name[c] && lc_cgroup_list_has(ctl, len, lc_cg_v2_name[c]);
	}
	*ret = lay;
	return 0;
}

bool lc_cgroup_layout_unified(const struct lc_cgroup_layout *lay)
{
	if (!lay->v2)
		return false;
	for (size_t c = 0; c < LC_CG_N; c++)
		if (lay->v1[c])
			return false;
	return true;
}

int lc_cgroup_layout_load(struct lc_cgroup_layout *ret, struct lc_err **err)
{
	cleanup_free char *mi = NULL;

	if (lc_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4u << 20, &mi, NULL, err) < 0)
		return lc_err_prefix(err, "cgroup: read the mount table");
	return lc_cgroup_layout_parse(mi, NULL, ret, err);
}

/* ---------- files ---------- */

struct lc_cgroup {
	char *dirs[LC_CG_N + 1]; /* the container's cgroup in each hierarchy it uses */
	int procs[LC_CG_N + 1];	 /* their cgroup.procs, open for lc_cgroup_enter */
	size_t n;
	int mem; /* index in dirs of the memory cgroup, -1: none */
	bool mem_v2;
	bool fake;
};

static int cg_open(bool fake, const char *dir, const char *file, int flags)
{
	cleanup_free char *path = lc_xasprintf("%s/%s", dir, file);

	/*
	 * A unit test's fake cgroupfs has none of the files the kernel would create; there every
	 * write is appended as a line, so the test sees them all (devices.allow takes several).
	 */
	if (fake && (flags & O_ACCMODE) != O_RDONLY)
		flags = (flags & ~O_TRUNC) | O_CREAT | O_APPEND;
	return open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);
}

/* Write val to dir/file. Missing: -1 with errno ENOENT and no error when optional. */
static int cg_write(bool fake, const char *dir, const char *file, const char *val, bool optional,
		    struct lc_err **err)
{
	cleanup_close int fd = cg_open(fake, dir, file, O_WRONLY | O_TRUNC);

	if (fd < 0 && errno == ENOENT && optional)
		return -1;
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "cgroup: open '%s/%s'", dir, file);
	if (lc_write_all(fd, val, strlen(val)) < 0 || (fake && lc_write_all(fd, "\n", 1) < 0))
		return lc_err_set(err, LC_ERR_SYS, errno, "cgroup: write '%s' to '%s/%s'", val, dir,
				  file);
	lc_trace("write(\"%s/%s\", \"%s\") = %zu", dir, file, val, strlen(val));
	return 0;
}

static int cg_writef(bool fake, const char *dir, const char *file, struct lc_err **err,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int cg_writef(bool fake, const char *dir, const char *file, struct lc_err **err,
		     const char *fmt, ...)
{
	cleanup_free char *v = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	return cg_write(fake, dir, file, v, false, err);
}

static bool cg_exists(const char *dir, const char *file)
{
	cleanup_free char *path = lc_xasprintf("%s/%s", dir, file);

	return access(path, F_OK) == 0;
}

/* The value of "key N" in a flat-keyed cgroup file; -1 when absent. */
static int64_t cg_key(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoll(p + kl + 1, NULL, 10);
	return -1;
}

/* ---------- creation ---------- */

/* v2: enable the controllers in dir's subtree_control that its children need. */
static int v2_enable(bool fake, const char *dir, const bool want[LC_CG_N], struct lc_err **err)
{
	cleanup_free char *path = lc_xasprintf("%s/cgroup.subtree_control", dir);
	cleanup_free char *cur = NULL;
	size_t len = 0;

	struct lc_err *e = NULL;

	if (lc_read_file_at(AT_FDCWD, path, 4096, &cur, &len, &e) < 0) {
		if (!fake || e->code != LC_ERR_NOTFOUND) {
			lc_err_move(err, &e);
			return lc_err_prefix(err, "cgroup");
		}
		lc_err_free(e); /* a new dir of the fake cgroupfs: nothing enabled yet */
		cur = lc_xstrdup("");
	}
	for (size_t c = 0; c < LC_CG_N; c++) {
		if (!want[c] || !lc_cg_v2_name[c] || lc_cgroup_list_has(cur, len, lc_cg_v2_name[c]))
			continue;
		if (cg_writef(fake, dir, "cgroup.subtree_control", err, "+%s", lc_cg_v2_name[c]) <
		    0)
			return lc_err_prefix(err, "enable the %s controller", lc_cg_v2_name[c]);
	}
	return 0;
}

/* v1 cpuset: a new cgroup starts with no cpus and no mems; take the parent's */
static int v1_cpuset_inherit(bool fake, const char *parent, const char *dir, struct lc_err **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

	for (size_t i = 0; i < LC_ARRAY_SIZE(files); i++) {
		cleanup_free char *pv = NULL, *mine = NULL;
		cleanup_free char *pp = lc_xasprintf("%s/%s", parent, files[i]);
		cleanup_free char *mp = lc_xasprintf("%s/%s", dir, files[i]);
		struct lc_err *e = NULL;

		if (lc_read_file_at(AT_FDCWD, mp, 4096, &mine, NULL, &e) == 0 &&
		    strspn(mine, " \n") != strlen(mine))
			continue;
		lc_err_free(e);
		if (lc_read_file_at(AT_FDCWD, pp, 4096, &pv, NULL, err) < 0)
			return lc_err_prefix(err, "cgroup");
		pv[strcspn(pv, "\n")] = 0;
		if (cg_write(fake, dir, files[i], pv, false, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * mkdir <mnt>/<parent>/<id>, and the parents that are missing. Before each level is made
 * (v2) the controllers are enabled in the level above; v1 cpuset levels get their parent's
 * cpus and mems. An existing <id> is an error: it is not ours.
 */
static int make_path(const struct lc_cgroup_layout *lay, const char *mnt, bool v2,
		     const bool want[LC_CG_N], const char *parent, const char *id, char **ret,
		     struct lc_err **err)
{
	cleanup_free char *cur = lc_xstrdup(mnt);
	cleanup_free char *rel = lc_xasprintf("%s/%s", parent, id);
	char *p = rel;

	for (;;) {
		size_t n;
		bool last;
		char *next;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		last = !p[n + strspn(p + n, "/")];
		next = lc_xasprintf("%s/%.*s", cur, (int)n, p);
		if (v2 && v2_enable(lay->fake, cur, want, err) < 0) {
			free(next);
			return -1;
		}
		if (mkdir(next, 0755) < 0 && (errno != EEXIST || last)) {
			lc_err_set(err, LC_ERR_SYS, errno, "cgroup: create '%s'", next);
			free(next);
			return -1;
		}
		if (last)
			lc_trace("mkdir(\"%s\", 0755) = 0: the container's cgroup", next);
		if (!v2 && want[LC_CG_CPUSET] && mnt == lay->v1[LC_CG_CPUSET] &&
		    v1_cpuset_inherit(lay->fake, cur, next, err) < 0) {
			if (last)
				rmdir(next);
			free(next);
			return -1;
		}
		free(cur);
		cur = next;
		if (last)
			break;
		p += n;
	}
	*ret = TAKE_PTR(cur);
	return 0;
}

/* docker's default device allow-list (moby oci.DefaultLinuxSpec), -1 is '*' */
struct dev_rule {
	char type;
	int major, minor;
	const char *access;
};
static const struct dev_rule dev_rules[] = {
	{ 'c', -1, -1, "m" },	 { 'b', -1, -1, "m" },	  /* mknod of anything, no open */
	{ 'c', 1, 3, "rwm" },	 { 'c', 1, 5, "rwm" },	  /* null, zero */
	{ 'c', 1, 7, "rwm" },	 { 'c', 1, 8, "rwm" },	  /* full, random */
	{ 'c', 1, 9, "rwm" },	 { 'c', 5, 0, "rwm" },	  /* urandom, tty */
	{ 'c', 5, 1, "rwm" },	 { 'c', 5, 2, "rwm" },	  /* console, ptmx */
	{ 'c', 136, -1, "rwm" }, { 'c', 10, 200, "rwm" }, /* pts/N, net/tun */
};

static void rule_str(const struct dev_rule *r, char *buf, size_t sz)
{
	char ma[16] = "*", mi[16] = "*";

	if (r->major >= 0)
		snprintf(ma, sizeof(ma), "%d", r->major);
	if (r->minor >= 0)
		snprintf(mi, sizeof(mi), "%d", r->minor);
	snprintf(buf, sz, "%c %s:%s %s", r->type, ma, mi, r->access);
}

/* --device's node as a rule */
static struct dev_rule device_rule(const struct lc_device *d)
{
	return (struct dev_rule){
		.type = d->type, .major = (int)d->major, .minor = (int)d->minor, .access = d->access
	};
}

static int v1_devices(bool fake, const char *dir, const struct lc_cgroup_limits *l,
		      struct lc_err **err)
{
	char line[64];

	/* --privileged: every device, as docker's privileged containers get */
	if (l->devices_all)
		return cg_write(fake, dir, "devices.allow", "a", false, err);
	if (cg_write(fake, dir, "devices.deny", "a", false, err) < 0)
		return -1;
	for (size_t i = 0; i < LC_ARRAY_SIZE(dev_rules) + l->n_devices; i++) {
		struct dev_rule r =
			i < LC_ARRAY_SIZE(dev_rules)
				? dev_rules[i]
				: device_rule(&l->devices[i - LC_ARRAY_SIZE(dev_rules)]);

		rule_str(&r, line, sizeof(line));
		if (cg_write(fake, dir, "devices.allow", line, false, err) < 0)
			return -1;
	}
	return 0;
}

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

size_t lc_cgroup_device_prog(const struct lc_device *extra, size_t n_extra, struct bpf_insn *out,
			     size_t max)
{
	size_t n = 0;

#define EMIT(x)                                                                                    \
	do {                                                                                       \
		if (n < max)                                                                       \
			out[n] = (x);                                                              \
		n++;                                                                               \
	} while (0)
	/*
	 * The context is struct bpf_cgroup_dev_ctx: access_type (type in the low 16 bits,
	 * access in the high ones), major, minor. r2 = type, r3 = access, r4 = major, r5 = minor;
	 * then one block per rule (docker's defaults, then --device's), in the order runc's
	 * emitter uses: type, access, major, minor, each a jump past the block when it does not
	 * match; a match returns 1 (allow). Nothing matched: 0 (deny, EPERM).
	 */
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
	EMIT(INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF));
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0));
	EMIT(INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0));
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0));
	for (size_t i = 0; i < LC_ARRAY_SIZE(dev_rules) + n_extra; i++) {
		struct dev_rule rule = i < LC_ARRAY_SIZE(dev_rules)
					       ? dev_rules[i]
					       : device_rule(&extra[i - LC_ARRAY_SIZE(dev_rules)]);
		const struct dev_rule *r = &rule;
		int acc = 0, len;
		bool all;

		for (const char *a = r->access; *a; a++)
			acc |= *a == 'r'   ? BPF_DEVCG_ACC_READ
			       : *a == 'w' ? BPF_DEVCG_ACC_WRITE
					   : BPF_DEVCG_ACC_MKNOD;
		all = acc == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
		/* instructions of the block after its first jump */
		len = (all ? 0 : 3) + (r->major >= 0) + (r->minor >= 0) + 2;
		EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, (int16_t)len,
			  r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
		if (!all) {
			/* the access asked for must be a subset of the rule's */
			len -= 3;
			EMIT(INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
			EMIT(INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, acc));
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, (int16_t)len,
				  0));
		}
		if (r->major >= 0)
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, (int16_t)--len,
				  r->major));
		if (r->minor >= 0)
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, (int16_t)--len,
				  r->minor));
		EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
		EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	}
	EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
	return n;
}

int lc_cgroup_bpf_devices(const char *dir, const struct lc_device *extra, size_t n_extra,
			  struct lc_err **err)
{
	/* sized by a first pass that only counts */
	size_t n = lc_cgroup_device_prog(extra, n_extra, NULL, 0);
	cleanup_free struct bpf_insn *prog = lc_xcalloc(n, sizeof(*prog));
	cleanup_close int dirfd = -1;
	cleanup_close int progfd = -1;
	union bpf_attr a;

	lc_cgroup_device_prog(extra, n_extra, prog, n);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t) "MIT";
	progfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (progfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "cgroup: load the device policy (bpf)");
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "cgroup: open '%s'", dir);
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dirfd;
	a.attach_bpf_fd = (uint32_t)progfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* a program of a parent cgroup (systemd's) still applies too: both must allow */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	/* the cgroup holds the program from here on; our fd may go */
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno,
				  "cgroup: attach the device policy to '%s'", dir);
	return 0;
}

static bool v1_at(const struct lc_cgroup_layout *lay, enum lc_cg_ctrl c)
{
	return lay->v1[c] != NULL;
}

/* Where the controller's files are: the v1 dir or the v2 one (NULL: unavailable). */
static const char *ctrl_dir(const struct lc_cgroup_layout *lay, const char *const dirs[LC_CG_N],
			    const char *v2dir, enum lc_cg_ctrl c)
{
	if (v1_at(lay, c))
		return dirs[c];
	return lay->on_v2[c] ? v2dir : NULL;
}

static const char *rate_file_v1[] = {
	[LC_RATE_READ_BPS] = "blkio.throttle.read_bps_device",
	[LC_RATE_WRITE_BPS] = "blkio.throttle.write_bps_device",
	[LC_RATE_READ_IOPS] = "blkio.throttle.read_iops_device",
	[LC_RATE_WRITE_IOPS] = "blkio.throttle.write_iops_device",
};
static const char *rate_key_v2[] = {
	[LC_RATE_READ_BPS] = "rbps",
	[LC_RATE_WRITE_BPS] = "wbps",
	[LC_RATE_READ_IOPS] = "riops",
	[LC_RATE_WRITE_IOPS] = "wiops",
};

static int write_limits(const struct lc_cgroup_layout *lay, const char *const dirs[LC_CG_N],
			const char *v2dir, const struct lc_cgroup_limits *l, struct lc_err **err)
{
	bool fake = lay->fake;
	const char *d;

	d = ctrl_dir(lay, dirs, v2dir, LC_CG_MEMORY);
	if (d && v1_at(lay, LC_CG_MEMORY)) {
		if (l->memory > 0 &&
		    cg_writef(fake, d, "memory.limit_in_bytes", err, "%" PRId64, l->memory) < 0)
			return -1;
		/* without swap accounting docker drops the swap limit ("Memory limited without
		 * swap"); so do we */
		if (l->memory > 0 && l->memory_swap != 0 &&
		    cg_exists(lay->v1[LC_CG_MEMORY], "memory.memsw.limit_in_bytes") &&
		    cg_writef(fake, d, "memory.memsw.limit_in_bytes", err, "%" PRId64,
			      l->memory_swap) < 0)
			return -1;
		if (l->memory_reservation > 0 &&
		    cg_writef(fake, d, "memory.soft_limit_in_bytes", err, "%" PRId64,
			      l->memory_reservation) < 0)
			return -1;
		if (l->oom_kill_disable &&
		    cg_write(fake, d, "memory.oom_control", "1", false, err) < 0)
			return -1;
	} else if (d) {
		if (l->oom_kill_disable)
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"Your kernel does not support OomKillDisable (cgroup v2 "
				"has no memory.oom_control): refusing --oom-kill-disable");
		if (l->memory > 0 &&
		    cg_writef(fake, d, "memory.max", err, "%" PRId64, l->memory) < 0)
			return -1;
		if (l->memory > 0 && l->memory_swap != 0) {
			cleanup_free char *v =
				l->memory_swap < 0
					? lc_xstrdup("max")
					: lc_xasprintf("%" PRId64, l->memory_swap - l->memory);

			/* memory.swap.max is missing without swap accounting: as on v1 */
			if (cg_write(fake, d, "memory.swap.max", v, true, err) < 0 && *err)
				return -1;
		}
		if (l->memory_reservation > 0 &&
		    cg_writef(fake, d, "memory.low", err, "%" PRId64, l->memory_reservation) < 0)
			return -1;
	} else if (l->memory > 0 || l->memory_reservation > 0 || l->oom_kill_disable) {
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "cannot limit memory: no memory cgroup controller on this host");
	}

	d = ctrl_dir(lay, dirs, v2dir, LC_CG_CPU);
	if (!d && (l->nano_cpus > 0 || l->cpu_shares > 0))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "cannot limit CPU: no cpu cgroup controller on this host");
	if (d && l->nano_cpus > 0) {
		int64_t quota = l->nano_cpus * CPU_PERIOD_US / 1000000000;

		if (v1_at(lay, LC_CG_CPU)) {
			if (cg_writef(fake, d, "cpu.cfs_period_us", err, "%d", CPU_PERIOD_US) < 0 ||
			    cg_writef(fake, d, "cpu.cfs_quota_us", err, "%" PRId64, quota) < 0)
				return -1;
		} else if (cg_writef(fake, d, "cpu.max", err, "%" PRId64 " %d", quota,
				     CPU_PERIOD_US) < 0) {
			return -1;
		}
	}
	if (d && l->cpu_shares > 0) {
		if (v1_at(lay, LC_CG_CPU)) {
			if (cg_writef(fake, d, "cpu.shares", err, "%" PRId64, l->cpu_shares) < 0)
				return -1;
		} else if (cg_writef(fake, d, "cpu.weight", err, "%" PRIu64,
				     lc_cgroup_shares_to_weight((uint64_t)l->cpu_shares)) < 0) {
			return -1;
		}
	}

	d = ctrl_dir(lay, dirs, v2dir, LC_CG_CPUSET);
	if (l->cpuset_cpus && *l->cpuset_cpus) {
		if (!d)
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"cannot set --cpuset-cpus: no cpuset cgroup controller on "
				"this host");
		if (cg_write(fake, d, "cpuset.cpus", l->cpuset_cpus, false, err) < 0) {
			if ((*err)->sys_errno == EINVAL) {
				lc_err_free(*err);
				*err = NULL;
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "Requested CPUs are not available - requested "
						  "%s",
						  l->cpuset_cpus);
			}
			return -1;
		}
	}

	d = ctrl_dir(lay, dirs, v2dir, LC_CG_PIDS);
	if (l->pids_limit > 0) {
		if (!d)
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "cannot set --pids-limit: no pids cgroup controller on "
					  "this host");
		if (cg_writef(fake, d, "pids.max", err, "%" PRId64, l->pids_limit) < 0)
			return -1;
	}

	d = ctrl_dir(lay, dirs, v2dir, LC_CG_IO);
	if (!d && (l->blkio_weight > 0 || l->n_rates > 0))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "cannot limit block IO: no %s cgroup controller on this host",
				  lay->v2 && lc_cgroup_layout_unified(lay) ? "io" : "blkio");
	if (d && l->blkio_weight > 0) {
		if (v1_at(lay, LC_CG_IO)) {
			const char *f = NULL;

			if (cg_exists(d, "blkio.weight") ||
			    cg_exists(lay->v1[LC_CG_IO], "blkio.weight"))
				f = "blkio.weight";
			else if (cg_exists(d, "blkio.bfq.weight") ||
				 cg_exists(lay->v1[LC_CG_IO], "blkio.bfq.weight"))
				f = "blkio.bfq.weight";
			if (!f)
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "cannot set --blkio-weight: this kernel has no "
						  "blkio.weight (no CFQ or BFQ scheduler)");
			if (cg_writef(fake, d, f, err, "%d", l->blkio_weight) < 0)
				return -1;
		} else if (cg_writef(fake, d, "io.weight", err, "default %d",
				     1 + (l->blkio_weight - 10) * 9999 / 990) < 0) {
			/* runc's ConvertBlkIOToIOWeightValue */
			return -1;
		}
	}
	for (size_t i = 0; d && i < l->n_rates; i++) {
		const struct lc_cgroup_rate *r = &l->rates[i];

		if (v1_at(lay, LC_CG_IO)) {
			if (cg_writef(fake, d, rate_file_v1[r->kind], err, "%u:%u %" PRIu64,
				      r->major, r->minor, r->rate) < 0)
				return -1;
		} else if (cg_writef(fake, d, "io.max", err, "%u:%u %s=%" PRIu64, r->major,
				     r->minor, rate_key_v2[r->kind], r->rate) < 0) {
			return -1;
		}
	}

	if (v1_at(lay, LC_CG_DEVICES))
		return v1_devices(fake, dirs[LC_CG_DEVICES], l, err);
	/*
	 * --privileged on v2: no program of ours, every device. A delegated (rootless) subtree:
	 * none either, loading one needs CAP_SYS_ADMIN on the host; there the user namespace is
	 * the policy (no mknod, and mounts it makes ignore device nodes), and --device is refused.
	 */
	if (v2dir && !fake && !l->devices_all && !lay->delegated)
		return lc_cgroup_bpf_devices(v2dir, l->devices, l->n_devices, err);
	return 0;
}

/* Kill what is left in dir and remove it; a missing dir is success. */
static int remove_dir(const char *dir, bool fake, struct lc_err **err)
{
	if (fake)
		return lc_rm_rf_at(AT_FDCWD, dir, err); /* regular files in there */
	for (int i = 0; i < 100; i++) {
		cleanup_free char *procs = NULL;
		cleanup_free char *path = NULL;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		struct lc_err *e = NULL;

		if (rmdir(dir) == 0) {
			lc_trace("rmdir(\"%s\") = 0", dir);
			return 0;
		}
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return lc_err_set(err, LC_ERR_SYS, errno, "cgroup: remove '%s'", dir);
		/* still populated (a killed run's leftovers): nothing in there may live on */
		path = lc_xasprintf("%s/cgroup.procs", dir);
		if (lc_read_file_at(AT_FDCWD, path, 1u << 20, &procs, NULL, &e) == 0) {
			for (char *p = procs; *p;) {
				long pid = strtol(p, &p, 10);

				if (pid > 0)
					kill((pid_t)pid, SIGKILL);
				while (*p == '\n')
					p++;
				if (*p && (*p < '0' || *p > '9'))
					break;
			}
		}
		lc_err_free(e);
		nanosleep(&ts, NULL);
	}
	return lc_err_set(err, LC_ERR_SYS, EBUSY, "cgroup: remove '%s'", dir);
}

static void cgroup_free(struct lc_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i]);
		if (cg->procs[i] >= 0)
			close(cg->procs[i]);
	}
	free(cg);
}

int lc_cgroup_destroy(struct lc_cgroup *cg, struct lc_err **err)
{
	int r = 0;

	if (!cg)
		return 0;
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->procs[i] >= 0)
			close(cg->procs[i]);
		cg->procs[i] = -1;
		if (remove_dir(cg->dirs[i], cg->fake, err) < 0)
			r = -1; /* the first error is kept; remove the rest anyway */
	}
	cgroup_free(cg);
	return r;
}

void lc_cgroup_forget(struct lc_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n; i++)
		if (cg->procs[i] >= 0)
			close(cg->procs[i]);
	cgroup_free(cg);
}

int lc_cgroup_create_in(const struct lc_cgroup_layout *lay, const char *parent, const char *id,
			const struct lc_cgroup_limits *l, struct lc_cgroup **ret,
			struct lc_err **err)
{
	struct lc_cgroup *cg = lc_xcalloc(1, sizeof(*cg));
	const char *dirs[LC_CG_N] = { 0 };
	const char *v2dir = NULL;
	bool want[LC_CG_N] = { 0 }, use_v2 = false;

	cg->mem = -1;
	cg->fake = lay->fake;
	if (lc_cgroup_parent_check(parent, err) < 0)
		goto fail;
	if (!strcmp(id, ".") || !strcmp(id, "..") || !*id || strchr(id, '/')) {
		lc_err_set(err, LC_ERR_INVALID, 0, "cgroup: invalid name '%s'", id);
		goto fail;
	}
	if (!lay->v2 && !lay->v1[LC_CG_MEMORY] && !lay->v1[LC_CG_PIDS] && !lay->v1[LC_CG_CPU]) {
		lc_err_set(err, LC_ERR_INVALID, 0,
			   "resource limits need cgroups, and none is mounted on this host");
		goto fail;
	}
	/* every controller we can use (a container is counted and its devices policed even
	 * when only one limit is set), cpuset only when asked: it needs its cpus set first */
	for (size_t c = 0; c < LC_CG_N; c++)
		want[c] = c != LC_CG_CPUSET || (l->cpuset_cpus && *l->cpuset_cpus);
	for (size_t c = 0; c < LC_CG_N; c++)
		if (want[c] && !lay->v1[c] && lay->v2 && (lay->on_v2[c] || c == LC_CG_DEVICES))
			use_v2 = true;
	for (size_t c = 0; c < LC_CG_N; c++) {
		size_t j;

		if (!want[c] || !lay->v1[c])
			continue;
		/* co-mounted controllers (cpu,cpuacct) share one dir */
		for (j = 0; j < c; j++)
			if (want[j] && lay->v1[j] && !strcmp(lay->v1[j], lay->v1[c]))
				break;
		if (j < c) {
			dirs[c] = dirs[j];
			continue;
		}
		if (make_path(lay, lay->v1[c], false, want, parent, id, &cg->dirs[cg->n], err) < 0)
			goto fail;
		cg->procs[cg->n] = -1;
		dirs[c] = cg->dirs[cg->n++];
	}
	if (use_v2) {
		bool w2[LC_CG_N];

		for (size_t c = 0; c < LC_CG_N; c++)
			w2[c] = want[c] && !lay->v1[c] && lay->on_v2[c];
		if (make_path(lay, lay->v2, true, w2, parent, id, &cg->dirs[cg->n], err) < 0)
			goto fail;
		cg->procs[cg->n] = -1;
		v2dir = cg->dirs[cg->n++];
	}
	if (write_limits(lay, dirs, v2dir, l, err) < 0)
		goto fail;
	for (size_t i = 0; i < cg->n; i++) {
		cg->procs[i] = cg_open(lay->fake, cg->dirs[i], "cgroup.procs", O_WRONLY);
		if (cg->procs[i] < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "cgroup: open '%s/cgroup.procs'",
				   cg->dirs[i]);
			goto fail;
		}
		if (cg->dirs[i] == ctrl_dir(lay, dirs, v2dir, LC_CG_MEMORY)) {
			cg->mem = (int)i;
			cg->mem_v2 = !v1_at(lay, LC_CG_MEMORY);
		}
	}
	*ret = cg;
	return 0;
fail:
	lc_cgroup_destroy(cg, NULL);
	return -1;
}

int lc_cgroup_create(const char *parent, const char *id, const struct lc_cgroup_limits *l,
		     struct lc_cgroup **ret, struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	int r;

	if (lc_cgroup_layout_load(&lay, err) < 0)
		return -1;
	r = lc_cgroup_create_in(&lay, parent, id, l, ret, err);
	lc_cgroup_layout_clear(&lay);
	return r;
}

int lc_cgroup_check_layout(const struct lc_cgroup_limits *l, struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	int r = 0;

	if (!l->oom_kill_disable)
		return 0;
	if (lc_cgroup_layout_load(&lay, err) < 0)
		return -1;
	if (!lay.v1[LC_CG_MEMORY] && lay.v2)
		r = lc_err_set(err, LC_ERR_INVALID, 0,
			       "Your kernel does not support OomKillDisable (cgroup v2 has no "
			       "memory.oom_control): refusing --oom-kill-disable");
	lc_cgroup_layout_clear(&lay);
	return r;
}

int lc_cgroup_enter(struct lc_cgroup *cg, struct lc_err **err)
{
	/* "0" is the writer itself: in a new pid namespace our pid there is 1, not the host's */
	for (size_t i = 0; i < cg->n; i++) {
		if (lc_write_all(cg->procs[i], "0", 1) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "join cgroup '%s'", cg->dirs[i]);
		lc_trace("write(\"%s/cgroup.procs\", \"0\") = 1: PID 1 joins its cgroup",
			 cg->dirs[i]);
		close(cg->procs[i]);
		cg->procs[i] = -1;
	}
	/* the launcher then gives the container a cgroup namespace rooted here */
	return 0;
}

int lc_cgroup_oom_killed(const struct lc_cgroup *cg, bool *ret, struct lc_err **err)
{
	cleanup_free char *text = NULL;
	cleanup_free char *path = NULL;
	int64_t n;

	if (!cg || cg->mem < 0) {
		*ret = false;
		return 0;
	}
	path = lc_xasprintf("%s/%s", cg->dirs[cg->mem],
			    cg->mem_v2 ? "memory.events" : "memory.oom_control");
	if (lc_read_file_at(AT_FDCWD, path, 65536, &text, NULL, err) < 0)
		return lc_err_prefix(err, "cgroup");
	n = cg_key(text, "oom_kill");
	if (n < 0 && !cg->mem_v2) {
		/* kernels before 4.13 do not count kills; the limit being hit is the sign */
		cleanup_free char *fc = NULL;

		free(path);
		path = lc_xasprintf("%s/memory.failcnt", cg->dirs[cg->mem]);
		if (lc_read_file_at(AT_FDCWD, path, 4096, &fc, NULL, err) < 0)
			return lc_err_prefix(err, "cgroup");
		n = strtoll(fc, NULL, 10);
	}
	*ret = n > 0;
	return 0;
}

int lc_cgroup_remove_in(const struct lc_cgroup_layout *lay, const char *parent, const char *id,
			struct lc_err **err)
{
	int r = 0;

	if (lc_cgroup_parent_check(parent, err) < 0)
		return -1;
	if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
		return lc_err_set(err, LC_ERR_INVALID, 0, "cgroup: invalid name '%s'", id);
	for (size_t c = 0; c <= LC_CG_N; c++) {
		const char *mnt = c < LC_CG_N ? lay->v1[c] : lay->v2;
		cleanup_free char *dir = NULL;

		if (!mnt)
			continue;
		dir = lc_xasprintf("%s/%s/%s", mnt, parent, id);
		if (remove_dir(dir, lay->fake, r < 0 ? NULL : err) < 0)
			r = -1;
	}
	return r;
}

int lc_cgroup_remove(const char *parent, const char *id, struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	int r;

	if (lc_cgroup_layout_load(&lay, err) < 0)
		return -1;
	r = lc_cgroup_remove_in(&lay, parent, id, err);
	lc_cgroup_layout_clear(&lay);
	return r;
}

/* "cpu,cpuacct" lists "cpuacct" */
static bool lists_ctrl(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *t = list; t && *t; t = strchr(t, ',') ? strchr(t, ',') + 1 : NULL)
		if (!strncmp(t, name, n) && (t[n] == ',' || !t[n]))
			return true;
	return false;
}

void lc_cgroup_dirs_clear(struct lc_cgroup_dirs *d)
{
	free(d->path);
	free(d->v2);
	for (size_t c = 0; c < LC_CG_N; c++)
		free(d->v1[c]);
	memset(d, 0, sizeof(*d));
}

/* the path has a "." or ".." component: a cgroup namespace's view of a cgroup outside it */
static bool dot_component(const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && p[j] != '/')
			j++;
		if ((j - i == 1 && p[i] == '.') || (j - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			return true;
		i = j + 1;
	}
	return false;
}

int lc_cgroup_dirs_parse(const char *text, const char *id, const struct lc_cgroup_layout *lay,
			 const char *const names[LC_CG_N], struct lc_cgroup_dirs *ret,
			 struct lc_err **err)
{
	struct lc_cgroup_dirs d = { 0 };
	size_t ilen = strlen(id), no = 0;

	if (!ilen || strchr(id, '/'))
		return lc_err_set(err, LC_ERR_INVALID, 0, "cgroup: invalid container id '%s'", id);
	/* "hierarchy:controllers:path" per line; "0::path" is cgroup v2 */
	for (const char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
		cleanup_free char *ctrls = NULL;
		const char *c1, *c2, *p;
		size_t n, plen, hlen;

		nl = strchr(line, '\n');
		n = nl ? (size_t)(nl - line) : strlen(line);
		no++;
		c1 = memchr(line, ':', n);
		c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
		if (!c2) {
			lc_cgroup_dirs_clear(&d);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "line %zu: '%.*s' is not "
					  "'hierarchy:controllers:path'",
					  no, (int)(n > 64 ? 64 : n), line);
		}
		hlen = (size_t)(c1 - line);
		p = c2 + 1;
		plen = n - (size_t)(p - line);
		if (!hlen || strspn(line, "0123456789") != hlen) {
			lc_cgroup_dirs_clear(&d);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "line %zu: hierarchy ID '%.*s' is not a number", no,
					  (int)(hlen > 64 ? 64 : hlen), line);
		}
		if (plen >= PATH_MAX) {
			lc_cgroup_dirs_clear(&d);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "line %zu: path of %zu bytes is longer than "
					  "PATH_MAX",
					  no, plen);
		}
		if (!plen || p[0] != '/') {
			lc_cgroup_dirs_clear(&d);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "line %zu: path '%.*s' is not absolute", no, (int)plen,
					  p);
		}
		/* only the container's own cgroup (".../<id>"), never the caller's */
		if (plen <= ilen || memcmp(p + plen - ilen, id, ilen) || p[plen - ilen - 1] != '/')
			continue;
		if (dot_component(p, plen)) {
			lc_cgroup_dirs_clear(&d);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "line %zu: the container's cgroup path '%.*s' "
					  "is not below this cgroup namespace's root",
					  no, (int)plen, p);
		}
		if (!d.path)
			d.path = lc_xstrndup(p, plen);
		if (hlen == 1 && line[0] == '0') {
			if (lay->v2 && !d.v2)
				d.v2 = lc_xasprintf("%s%.*s", lay->v2, (int)plen, p);
			continue;
		}
		ctrls = lc_xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
		for (size_t c = 0; c < LC_CG_N; c++) {
			if (!lay->v1[c] || d.v1[c] || !names[c] || !lists_ctrl(ctrls, names[c]))
				continue;
			d.v1[c] = lc_xasprintf("%s%.*s", lay->v1[c], (int)plen, p);
		}
	}
	*ret = d;
	return 0;
}

int lc_cgroup_dirs_of(pid_t pid, const char *id, const struct lc_cgroup_layout *lay,
		      const char *const names[LC_CG_N], struct lc_cgroup_dirs *ret,
		      struct lc_err **err)
{
	cleanup_free char *path = lc_xasprintf("/proc/%d/cgroup", (int)pid);
	cleanup_free char *text = NULL;

	if (lc_read_file_at(AT_FDCWD, path, 1u << 20, &text, NULL, err) < 0)
		return -1;
	if (lc_cgroup_dirs_parse(text, id, lay, names, ret, err) < 0)
		return lc_err_prefix(err, "'%s'", path);
	return 0;
}

int lc_cgroup_join_pid(pid_t pid, const char *id, struct lc_err **err)
{
	static const char *const names[LC_CG_N] = {
		[LC_CG_MEMORY] = "memory", [LC_CG_CPU] = "cpu",	 [LC_CG_CPUSET] = "cpuset",
		[LC_CG_PIDS] = "pids",	   [LC_CG_IO] = "blkio", [LC_CG_DEVICES] = "devices",
	};
	struct lc_cgroup_layout lay = { 0 };
	struct lc_cgroup_dirs d = { 0 };
	int r = 0;

	if (lc_cgroup_layout_load(&lay, err) < 0)
		return -1;
	if (lc_cgroup_dirs_of(pid, id, &lay, names, &d, err) < 0) {
		lc_cgroup_layout_clear(&lay);
		return lc_err_prefix(err, "cgroup: the container's");
	}
	/* every hierarchy it is in (co-mounted controllers share a dir: joined twice, no harm) */
	for (size_t c = 0; c < LC_CG_N && r == 0; c++)
		if (d.v1[c])
			r = cg_write(false, d.v1[c], "cgroup.procs", "0", false, err);
	if (r == 0 && d.v2)
		r = cg_write(false, d.v2, "cgroup.procs", "0", false, err);
	/* rootless: the kernel moves a process only through a common ancestor its user may write */
	if (r < 0 && d.v2 && (*err)->sys_errno == EACCES && lc_userns_nested()) {
		lc_err_free(*err);
		*err = NULL;
		lc_err_set(
			err, LC_ERR_INVALID, 0,
			"cannot join the container's cgroup '%s' (permission denied): a user may "
			"move a process only "
			"inside a cgroup subtree delegated to it, and ours is outside the one the "
			"container was run from: exec from a shell in that subtree",
			d.v2);
	}
	lc_cgroup_dirs_clear(&d);
	lc_cgroup_layout_clear(&lay);
	return r;
}
