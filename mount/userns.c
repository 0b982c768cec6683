/* SPDX-License-Identifier: MIT */
/*
 * userns: the USER namespace of a container. Parses podman's --uidmap/--gidmap
 * ("container_id:host_id:amount"), reads the subordinate ranges of /etc/subuid and
 * /etc/subgid, picks a free range for --userns=auto, writes a process's uid_map/gid_map, makes
 * a user namespace fd that carries a mapping (what MOUNT_ATTR_IDMAP takes) and checks that the
 * kernel can put overlay on idmapped lowers. The pure parts (parsing, the pick) are unit-tested.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount-int.h"

/* decimal, no sign, at most max */
static bool parse_u32(const char *s, size_t n, uint64_t max, uint32_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = (uint32_t)v;
	return true;
}

int lc_idmap_parse(const char *spec, struct lc_idmap *ret, struct lc_err **err)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	struct lc_idmap m;

	if (!c1 || !c2 || strchr(c2 + 1, ':') ||
	    !parse_u32(spec, (size_t)(c1 - spec), UINT32_MAX - 1, &m.ctr) ||
	    !parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), UINT32_MAX - 1, &m.host) ||
	    !parse_u32(c2 + 1, strlen(c2 + 1), UINT32_MAX - 1, &m.count) || m.count == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid ID mapping '%.80s': want container_id:host_id:amount "
				  "(decimal, amount at least 1)",
				  spec);
	if ((uint64_t)m.ctr + m.count > UINT32_MAX || (uint64_t)m.host + m.count > UINT32_MAX)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid ID mapping '%.80s': the range runs past 4294967294",
				  spec);
	*ret = m;
	return 0;
}

static bool overlap(uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
	return (uint64_t)a < (uint64_t)b + bn && (uint64_t)b < (uint64_t)a + an;
}

int lc_idmap_check(const struct lc_idmap *m, size_t n, const char *what, struct lc_err **err)
{
	if (n == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "%s: no mapping", what);
	if (n > LC_IDMAP_MAX)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "%s: %zu mappings, at most %d", what, n,
				  LC_IDMAP_MAX);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (overlap(m[i].ctr, m[i].count, m[j].ctr, m[j].count))
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "%s: container ids %u-%u and %u-%u overlap", what,
						  m[i].ctr, m[i].ctr + m[i].count - 1, m[j].ctr,
						  m[j].ctr + m[j].count - 1);
			if (overlap(m[i].host, m[i].count, m[j].host, m[j].count))
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "%s: host ids %u-%u and %u-%u overlap", what,
						  m[i].host, m[i].host + m[i].count - 1, m[j].host,
						  m[j].host + m[j].count - 1);
		}
	return 0;
}

bool lc_idmap_to_host(const struct lc_idmap *m, size_t n, uint32_t id, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].ctr && (uint64_t)id < (uint64_t)m[i].ctr + m[i].count) {
			*ret = m[i].host + (id - m[i].ctr);
			return true;
		}
	return false;
}

int lc_subid_parse(const char *text, size_t len, const char *name, uint32_t id,
		   struct lc_idrange *ret, size_t max, size_t *ret_n, struct lc_err **err)
{
	size_t n = 0, off = 0;
	char idstr[16];

	snprintf(idstr, sizeof(idstr), "%u", id);
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - line) : len - off;
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
		size_t owner_len = c1 ? (size_t)(c1 - line) : 0;
		struct lc_idrange r;

		off += ll + 1;
		if (!c1 || !c2 || line[0] == '#')
			continue;
		if (!((name && strlen(name) == owner_len && memcmp(line, name, owner_len) == 0) ||
		      (strlen(idstr) == owner_len && memcmp(line, idstr, owner_len) == 0)))
			continue;
		/* malformed lines are skipped, as shadow's tools do */
		if (!parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), UINT32_MAX - 1, &r.start) ||
		    !parse_u32(c2 + 1, ll - (size_t)(c2 + 1 - line), UINT32_MAX - 1, &r.count) ||
		    r.count == 0 || (uint64_t)r.start + r.count > UINT32_MAX)
			continue;
		if (n == max)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "more than %zu subordinate ranges for one user", max);
		ret[n++] = r;
	}
	*ret_n = n;
	return 0;
}

int lc_idrange_pick(const struct lc_idrange *avail, size_t n_avail, const struct lc_idrange *used,
		    size_t n_used, uint32_t size, uint32_t *ret_start)
{
	for (size_t i = 0; i < n_avail; i++) {
		uint64_t start = avail[i].start, end = (uint64_t)avail[i].start + avail[i].count;

		/* the lowest start that clears every used range: move past any it hits */
		for (bool moved = true; moved && start + size <= end;) {
			moved = false;
			for (size_t j = 0; j < n_used; j++)
				if (used[j].count &&
				    start < (uint64_t)used[j].start + used[j].count &&
				    (uint64_t)used[j].start < start + size) {
					start = (uint64_t)used[j].start + used[j].count;
					moved = true;
				}
		}
		if (start + size <= end) {
			*ret_start = (uint32_t)start;
			return 0;
		}
	}
	return -1;
}

int lc_subid_ranges(const char *file, struct lc_idrange *ret, size_t max, size_t *ret_n,
		    struct lc_err **err)
{
	cleanup_free char *text = NULL;
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	size_t len = 0;
	uid_t uid = getuid();

	if (lc_read_file_at(AT_FDCWD, file, 1u << 20, &text, &len, err) < 0) {
		if ((*err)->code != LC_ERR_NOTFOUND && (*err)->sys_errno != ENOENT)
			return -1;
		lc_err_free(*err);
		*err = NULL;
		len = 0;
	}
	getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp);
	if (lc_subid_parse(text ? text : "", len, pwp ? pwp->pw_name : NULL, uid, ret, max, ret_n,
			   err) < 0)
		return lc_err_prefix(err, "%s", file);
	return 0;
}

static int write_at_proc(pid_t pid, const char *name, const char *text, struct lc_err **err)
{
	char path[64];
	cleanup_close int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
	/* the kernel takes a map in one write */
	if (write(fd, text, len) != (ssize_t)len)
		return lc_err_set(err, LC_ERR_SYS, errno, "write '%s'", path);
	lc_trace("write(\"%s\") = %zu", path, len);
	return 0;
}

static char *map_text(const struct lc_idmap *m, size_t n)
{
	char *s = lc_xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *more = lc_xasprintf("%s%u %u %u\n", s, m[i].ctr, m[i].host, m[i].count);

		free(s);
		s = more;
	}
	return s;
}

int lc_userns_write_maps(pid_t pid, const struct lc_idmap *uidmap, size_t n_uid,
			 const struct lc_idmap *gidmap, size_t n_gid, struct lc_err **err)
{
	cleanup_free char *u = map_text(uidmap, n_uid);
	cleanup_free char *g = map_text(gidmap, n_gid);

	if (write_at_proc(pid, "gid_map", g, err) < 0 || write_at_proc(pid, "uid_map", u, err) < 0)
		return lc_err_prefix(err, "user namespace: map ids");
	lc_trace("uid_map of %d: %s", (int)pid, u);
	lc_trace("gid_map of %d: %s", (int)pid, g);
	return 0;
}

int lc_userns_fd(const struct lc_idmap *uidmap, size_t n_uid, const struct lc_idmap *gidmap,
		 size_t n_gid, int *ret_fd, struct lc_err **err)
{
	int go[2], ready[2];
	char path[64], c = 0;
	pid_t pid;
	int ws, fd = -1, r = -1;

	if (pipe2(go, O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "user namespace: pipe");
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return lc_err_set(err, LC_ERR_SYS, errno, "user namespace: pipe");
	}
	pid = fork();
	if (pid == 0) {
		/* a holder: lives in the new namespace until the parent has opened it */
		close(go[1]);
		close(ready[0]);
		c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (pid < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "user namespace: fork");
		goto out;
	}
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		lc_err_set(err, LC_ERR_SYS, 0,
			   "user namespace: unshare(CLONE_NEWUSER) failed (user namespaces "
			   "disabled? see /proc/sys/user/max_user_namespaces)");
		goto out;
	}
	if (lc_userns_write_maps(pid, uidmap, n_uid, gidmap, n_gid, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
		goto out;
	}
	*ret_fd = fd;
	r = 0;
out:
	close(go[1]);
	close(ready[0]);
	if (pid > 0)
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	return r;
}

int lc_userns_kernel_check(struct lc_err **err)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return lc_err_set(err, LC_ERR_SYS, errno,
				  "user namespace: read the kernel version");
	if (major < 5 || (major == 5 && minor < 19))
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"--userns needs Linux 5.19 or later (overlay on idmapped layers); "
			"this kernel is %s: run without --userns, or upgrade",
			u.release);
	return 0;
}
