/* SPDX-License-Identifier: MIT */
/*
 * cgroup-deleg: where a rootless container's cgroup goes. A user without root may only make
 * cgroups in a cgroup v2 subtree delegated to it: a dir it owns whose cgroup.procs and
 * cgroup.subtree_control it may write (what systemd's Delegate=yes chowns, as user@UID.service
 * has it). layerctl's own cgroup holds processes, and cgroup v2 lets no cgroup with processes
 * hand controllers to children, so the container's cgroup goes below the nearest such dir
 * *above* it (beside the caller's): <dir>/<parent>/<id>. Migrating the container's init in
 * needs write access to the common ancestor's cgroup.procs, which that dir is. Every limit's
 * controller must be in the dir's cgroup.controllers; v1 controllers are never delegated.
 * What cannot be honoured is refused in one line saying why, never run without the limit.
 * The cgroup itself is made and removed by cgroup.c on a layout rooted at the dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount-int.h"

int lc_cgroup_self_v2_path(const char *text, char **ret, struct lc_err **err)
{
	/* "hierarchy-ID:controllers:path" per line; cgroup v2's is "0::path" */
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n >= 3 && !memcmp(line, "0::", 3)) {
			cleanup_free char *p = lc_xstrndup(line + 3, n - 3);

			/* a cgroup namespace's view of a cgroup outside it: "/../.." */
			size_t len = strlen(p);

			if (p[0] != '/' || strstr(p, "/../") ||
			    (len >= 3 && !strcmp(p + len - 3, "/..")))
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "cgroup v2 path '%s' is not below this cgroup "
						  "namespace's root",
						  p);
			*ret = TAKE_PTR(p);
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return lc_err_set(err, LC_ERR_NOTFOUND, 0, "not in a cgroup v2 hierarchy (no '0::' line)");
}

/* The flag of l that needs controller c, or NULL: no limit of l needs it. */
static const char *flag_needing(const struct lc_cgroup_limits *l, enum lc_cg_ctrl c)
{
	static const char *const rate_flag[] = {
		[LC_RATE_READ_BPS] = "--device-read-bps",
		[LC_RATE_WRITE_BPS] = "--device-write-bps",
		[LC_RATE_READ_IOPS] = "--device-read-iops",
		[LC_RATE_WRITE_IOPS] = "--device-write-iops",
	};

	switch (c) {
	case LC_CG_MEMORY:
		return l->memory > 0		   ? "--memory"
		       : l->memory_reservation > 0 ? "--memory-reservation"
		       : l->memory_swap != 0	   ? "--memory-swap"
		       : l->oom_kill_disable	   ? "--oom-kill-disable"
						   : NULL;
	case LC_CG_CPU:
		return l->nano_cpus > 0 ? "--cpus" : l->cpu_shares > 0 ? "--cpu-shares" : NULL;
	case LC_CG_CPUSET:
		return l->cpuset_cpus && *l->cpuset_cpus ? "--cpuset-cpus" : NULL;
	case LC_CG_PIDS:
		return l->pids_limit > 0 ? "--pids-limit" : NULL;
	case LC_CG_IO:
		return l->blkio_weight > 0 ? "--blkio-weight"
		       : l->n_rates > 0	   ? rate_flag[l->rates[0].kind]
					   : NULL;
	case LC_CG_DEVICES:
	case LC_CG_N:
		break;
	}
	return NULL;
}

/* dir is delegated to uid: a directory it owns, cgroup.procs and cgroup.subtree_control
 * writable by us (checked with our effective ids, as the kernel will) */
static bool delegated(const char *dir, uid_t uid)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == uid &&
	       faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0 &&
	       faccessat(fd, "cgroup.subtree_control", W_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
}

/* The controllers listed in dir/cgroup.controllers. */
static int read_controllers(const char *dir, bool ret[LC_CG_N], struct lc_err **err)
{
	cleanup_free char *path = lc_xasprintf("%s/cgroup.controllers", dir);
	cleanup_free char *text = NULL;

	if (lc_read_file_at(AT_FDCWD, path, 4096, &text, NULL, err) < 0)
		return lc_err_prefix(err, "cgroup");
	for (size_t c = 0; c < LC_CG_N; c++)
		ret[c] = lc_cg_v2_name[c] &&
			 lc_cgroup_list_has(text, strlen(text), lc_cg_v2_name[c]);
	return 0;
}

int lc_cgroup_deleg_find_in(const struct lc_cgroup_layout *lay, const char *self, uid_t uid,
			    const struct lc_cgroup_limits *l, char **ret_base, struct lc_err **err)
{
	const char *what = NULL, *v1_flag = NULL;
	enum lc_cg_ctrl v1_ctrl = LC_CG_N;
	cleanup_free char *rel = lc_xstrdup(self);
	cleanup_free char *base = NULL;
	bool have[LC_CG_N];

	if (l->n_devices > 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "--device needs the device cgroup's policy, which a user without "
				  "root cannot attach (a cgroup BPF program needs CAP_SYS_ADMIN on "
				  "the host): run as root");
	for (size_t c = 0; c < LC_CG_N; c++) {
		const char *f = flag_needing(l, c);

		if (f && !what)
			what = f;
		if (f && lay->v1[c] && !v1_flag) {
			v1_flag = f;
			v1_ctrl = c;
		}
	}
	if (!what)
		what = "a resource limit";
	if (!lay->v2 && v1_flag)
		goto v1;
	if (!lay->v2)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "%s needs a cgroup, and this host has no cgroup v2 mounted, the "
				  "only kind the kernel delegates to a user: run as root, or "
				  "without limits",
				  what);
	/* the nearest delegated dir above ours (ours holds processes: none of its own children
	 * could get controllers) */
	while (!base) {
		char *slash = strrchr(rel, '/');

		if (!slash || rel[0] == 0)
			break;
		*slash = 0;
		cleanup_free char *dir = lc_xasprintf("%s%s", lay->v2, rel);

		if (delegated(dir, uid))
			base = TAKE_PTR(dir);
	}
	if (!base && v1_flag)
		goto v1;
	if (!base)
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"%s needs a cgroup, and no cgroup v2 subtree is delegated to this "
			"user: no cgroup above layerctl's ('%s%s') is the user's with "
			"cgroup.procs and cgroup.subtree_control writable; run from a "
			"systemd user session (user@UID.service has Delegate=yes; "
			"'loginctl enable-linger USER' keeps it), or as root, or without "
			"limits",
			what, lay->v2, self);
	if (read_controllers(base, have, err) < 0)
		return -1;
	for (size_t c = 0; c < LC_CG_N; c++) {
		const char *f = flag_needing(l, c);

		if (!f || have[c])
			continue;
		if (lay->v1[c])
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"%s needs the %s controller, which the delegated cgroup "
				"'%s' lacks (its cgroup.controllers): this host has %s on "
				"cgroup v1, which the kernel never delegates to a user; run "
				"as root, or without the limit",
				f, lc_cg_v2_name[c], base, lc_cg_v2_name[c]);
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"%s needs the %s controller, which is not delegated to '%s' (not "
			"in its cgroup.controllers): delegate it (systemd: a drop-in for "
			"user@.service with [Service] Delegate=cpu cpuset io memory pids), "
			"or run without the limit",
			f, lc_cg_v2_name[c], base);
	}
	lc_trace("cgroup: '%s' is delegated to this user: the container's cgroup goes there", base);
	*ret_base = TAKE_PTR(base);
	return 0;
v1:
	return lc_err_set(err, LC_ERR_INVALID, 0,
			  "%s needs a cgroup, and this host's controllers are cgroup v1 (%s here), "
			  "which the kernel never delegates to a user: run as root, or without "
			  "limits",
			  v1_flag, lc_cg_v2_name[v1_ctrl] ? lc_cg_v2_name[v1_ctrl] : "devices");
}

int lc_cgroup_deleg_find(const struct lc_cgroup_limits *l, char **ret_base, struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	cleanup_free char *text = NULL;
	cleanup_free char *self = NULL;
	int r;

	if (lc_cgroup_layout_load(&lay, err) < 0)
		return -1;
	if (lc_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1u << 20, &text, NULL, err) < 0 ||
	    (lay.v2 && lc_cgroup_self_v2_path(text, &self, err) < 0)) {
		lc_cgroup_layout_clear(&lay);
		return lc_err_prefix(err, "cgroup: layerctl's own");
	}
	/* inside rootless layerctl's user namespace the user is root: the files it owns are 0's */
	r = lc_cgroup_deleg_find_in(&lay, self ? self : "/", geteuid(), l, ret_base, err);
	lc_cgroup_layout_clear(&lay);
	return r;
}

int lc_cgroup_deleg_layout(const char *base, bool fake, struct lc_cgroup_layout *ret,
			   struct lc_err **err)
{
	struct lc_cgroup_layout lay = { .fake = fake, .delegated = true };

	if (read_controllers(base, lay.on_v2, err) < 0)
		return -1;
	lay.v2 = lc_xstrdup(base);
	*ret = lay;
	return 0;
}

/* base as a rootless container's recorded one: a clean absolute dir below the v2 mount */
static int base_check(const char *base, struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	size_t n;
	int r = 0;

	if (lc_cgroup_layout_load(&lay, err) < 0)
		return -1;
	n = lay.v2 ? strlen(lay.v2) : 0;
	if (!n || strncmp(base, lay.v2, n) || (base[n] && base[n] != '/') || strstr(base, "/../") ||
	    strstr(base, "/./") || strstr(base, "//") ||
	    (strlen(base) >= 3 && !strcmp(base + strlen(base) - 3, "/..")))
		r = lc_err_set(err, LC_ERR_INVALID, 0,
			       "cgroup: '%s' is not a cgroup v2 dir of this host", base);
	lc_cgroup_layout_clear(&lay);
	return r;
}

int lc_cgroup_deleg_create(const char *base, const char *parent, const char *id,
			   const struct lc_cgroup_limits *l, struct lc_cgroup **ret,
			   struct lc_err **err)
{
	struct lc_cgroup_layout lay = { 0 };
	int r;

	if (base_check(base, err) < 0 || lc_cgroup_deleg_layout(base, false, &lay, err) < 0)
		return -1;
	r = lc_cgroup_create_in(&lay, parent, id, l, ret, err);
	lc_cgroup_layout_clear(&lay);
	/* cgroup v2's no-internal-processes rule: EBUSY from writing its cgroup.subtree_control */
	if (r < 0 && err && *err && (*err)->sys_errno == EBUSY) {
		lc_err_free(*err);
		*err = NULL;
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"the delegated cgroup '%s' holds processes, and cgroup v2 lets such "
			"a cgroup give no controller to a child: move them into a leaf "
			"below it (as systemd keeps user@.service's own in init.scope)",
			base);
	}
	return r;
}

int lc_cgroup_deleg_remove(const char *base, const char *parent, const char *id,
			   struct lc_err **err)
{
	struct lc_cgroup_layout lay = { .delegated = true };
	int r;

	if (base_check(base, err) < 0)
		return -1;
	lay.v2 = lc_xstrdup(base);
	r = lc_cgroup_remove_in(&lay, parent, id, err);
	lc_cgroup_layout_clear(&lay);
	return r;
}
