/* SPDX-License-Identifier: MIT */
/*
 * cgstat: how much a running container uses, read from its cgroup (v1, hybrid or v2) as
 * `docker stats` and `inspect` show it. Its cgroup is found from its init's /proc/<pid>/cgroup
 * (read from the host, so the paths are the host's even though the container has a cgroup
 * namespace of its own); a container run without limits has none of its own and reads as
 * such (the caller may then add up its processes instead).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "mount-int.h"

static const char *const v1_names[LC_CG_N] = {
	[LC_CG_MEMORY] = "memory", [LC_CG_CPU] = "cpuacct", [LC_CG_CPUSET] = NULL,
	[LC_CG_PIDS] = "pids",	   [LC_CG_IO] = "blkio",    [LC_CG_DEVICES] = NULL,
};

/* the text of dir/file, NULL when missing or unreadable */
static char *cg_read(const char *dir, const char *file)
{
	cleanup_free char *path = lc_xasprintf("%s/%s", dir, file);
	struct lc_err *e = NULL;
	char *text = NULL;

	if (lc_read_file_at(AT_FDCWD, path, 1u << 20, &text, NULL, &e) < 0) {
		lc_err_free(e);
		return NULL;
	}
	return text;
}

/* a number file ("max" and absent are -1) */
static int64_t cg_num(const char *dir, const char *file)
{
	cleanup_free char *t = dir ? cg_read(dir, file) : NULL;
	char *end;
	long long v;

	if (!t || !strncmp(t, "max", 3))
		return -1;
	errno = 0;
	v = strtoll(t, &end, 10);
	return end == t || errno ? -1 : v;
}

/* "key N" lines */
static int64_t cg_keyed(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoll(p + kl + 1, NULL, 10);
	return -1;
}

/* v1 blkio.throttle.io_service_bytes: "MAJ:MIN Read N" lines; v2 io.stat: "rbytes=N wbytes=N" */
static void io_bytes(const char *text, bool v2, int64_t *rd, int64_t *wr)
{
	*rd = *wr = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *r, *w;

		if (v2) {
			r = strstr(p, "rbytes=");
			w = strstr(p, "wbytes=");
			if (r && (!strchr(p, '\n') || r < strchr(p, '\n')))
				*rd += strtoll(r + 7, NULL, 10);
			if (w && (!strchr(p, '\n') || w < strchr(p, '\n')))
				*wr += strtoll(w + 7, NULL, 10);
		} else if ((r = strchr(p, ' ')) != NULL &&
			   (!strchr(p, '\n') || r < strchr(p, '\n'))) {
			if (!strncmp(r + 1, "Read ", 5))
				*rd += strtoll(r + 6, NULL, 10);
			else if (!strncmp(r + 1, "Write ", 6))
				*wr += strtoll(r + 7, NULL, 10);
		}
	}
}

void lc_cgroup_usage_clear(struct lc_cgroup_usage *u)
{
	free(u->path);
	free(u->memory_dir);
	memset(u, 0, sizeof(*u));
}

int lc_cgroup_usage_read(pid_t pid, const char *id, struct lc_cgroup_usage *ret,
			 struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	struct lc_cgroup_dirs d = { 0 };
	cleanup_free char *mi = NULL;
	char **dirs = d.v1;
	struct lc_cgroup_usage u = { .mem_usage = -1,
				     .mem_limit = -1,
				     .cpu_ns = -1,
				     .pids = -1,
				     .pids_limit = -1,
				     .blk_read = -1,
				     .blk_write = -1 };
	const char *v2dir;
	int r = -1;

	if (lc_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4u << 20, &mi, NULL, err) < 0)
		return lc_err_prefix(err, "cgroup usage");
	if (lc_cgroup_layout_parse(mi, NULL, &lay, err) < 0)
		return lc_err_prefix(err, "cgroup usage");
	/* layerctl makes a v1 cgroup in its own hierarchies only (cpuacct counts only where it
	 * is co-mounted with cpu) */
	if (lc_cgroup_dirs_of(pid, id, &lay, v1_names, &d, err) < 0) {
		lc_cgroup_layout_clear(&lay);
		return lc_err_prefix(err, "cgroup usage");
	}
	v2dir = d.v2;
	u.path = d.path;
	d.path = NULL;
	if (!u.path) {
		r = 0; /* no cgroup of its own */
		goto out;
	}
	/* memory: usage minus the inactive page cache, as docker's CLI counts it */
	if (dirs[LC_CG_MEMORY]) {
		cleanup_free char *st = cg_read(dirs[LC_CG_MEMORY], "memory.stat");
		int64_t inactive = cg_keyed(st, "total_inactive_file");

		u.memory_dir = lc_xstrdup(dirs[LC_CG_MEMORY]);
		u.mem_usage = cg_num(dirs[LC_CG_MEMORY], "memory.usage_in_bytes");
		u.mem_limit = cg_num(dirs[LC_CG_MEMORY], "memory.limit_in_bytes");
		if (u.mem_limit >= (int64_t)1 << 62)
			u.mem_limit = -1; /* v1's "unlimited" is a page-rounded LONG_MAX */
		if (u.mem_usage >= 0 && inactive > 0 && inactive < u.mem_usage)
			u.mem_usage -= inactive;
		{
			cleanup_free char *oc = cg_read(dirs[LC_CG_MEMORY], "memory.oom_control");

			u.oom_kills = cg_keyed(oc, "oom_kill");
		}
	} else if (v2dir) {
		cleanup_free char *st = cg_read(v2dir, "memory.stat");
		cleanup_free char *ev = cg_read(v2dir, "memory.events");
		int64_t inactive = cg_keyed(st, "inactive_file");

		u.mem_usage = cg_num(v2dir, "memory.current");
		if (u.mem_usage >= 0) {
			u.memory_dir = lc_xstrdup(v2dir);
			u.mem_limit = cg_num(v2dir, "memory.max");
			if (inactive > 0 && inactive < u.mem_usage)
				u.mem_usage -= inactive;
			u.oom_kills = cg_keyed(ev, "oom_kill");
		}
	}
	/* cpu: v1 cpuacct.usage (ns), v2 cpu.stat usage_usec */
	if (dirs[LC_CG_CPU]) {
		u.cpu_ns = cg_num(dirs[LC_CG_CPU], "cpuacct.usage");
	} else if (v2dir) {
		cleanup_free char *st = cg_read(v2dir, "cpu.stat");
		int64_t us = cg_keyed(st, "usage_usec");

		u.cpu_ns = us >= 0 ? us * 1000 : -1;
	}
	if (dirs[LC_CG_PIDS]) {
		u.pids = cg_num(dirs[LC_CG_PIDS], "pids.current");
		u.pids_limit = cg_num(dirs[LC_CG_PIDS], "pids.max");
	} else if (v2dir) {
		u.pids = cg_num(v2dir, "pids.current");
		u.pids_limit = cg_num(v2dir, "pids.max");
	}
	if (dirs[LC_CG_IO]) {
		cleanup_free char *t = cg_read(dirs[LC_CG_IO], "blkio.throttle.io_service_bytes");

		if (t)
			io_bytes(t, false, &u.blk_read, &u.blk_write);
	} else if (v2dir) {
		cleanup_free char *t = cg_read(v2dir, "io.stat");

		if (t)
			io_bytes(t, true, &u.blk_read, &u.blk_write);
	}
	r = 0;
out:
	lc_cgroup_dirs_clear(&d);
	lc_cgroup_layout_clear(&lay);
	if (r == 0)
		*ret = u;
	else
		lc_cgroup_usage_clear(&u);
	return r;
}
