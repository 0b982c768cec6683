/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base.h"

int lc_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int lc_pwrite_all(int fd, const void *buf, size_t len, int64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

int lc_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		    struct lc_err **err)
{
	cleanup_close int fd = -1;
	cleanup_free char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "open '%s'", path);
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 2)
				cap = max + 2;
			buf = lc_xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return lc_err_set(err, LC_ERR_SYS, errno, "read '%s'", path);
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max)
			return lc_err_set(err, LC_ERR_LIMIT, 0, "'%s' is larger than %zu bytes",
					  path, max);
	}
	if (!buf)
		buf = lc_xmalloc(1);
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			 bool sync, struct lc_err **err)
{
	char rnd[17];
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;

	lc_random_hex(rnd, 16);
	tmp = lc_xasprintf("%s.tmp-%s", path, rnd);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", tmp);
	if (lc_write_all(fd, buf, len) < 0 || (sync && fsync(fd) < 0)) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		return lc_err_set(err, LC_ERR_SYS, e, "write '%s'", path);
	}
	if (renameat(dirfd, tmp, dirfd, path) < 0) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		return lc_err_set(err, LC_ERR_SYS, e, "rename into '%s'", path);
	}
	return 0;
}

int lc_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			    struct lc_err **err)
{
	return write_file_at(dirfd, path, buf, len, mode, true, err);
}

int lc_write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     struct lc_err **err)
{
	return write_file_at(dirfd, path, buf, len, mode, false, err);
}

int lc_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct lc_err **err)
{
	cleanup_free char *copy = lc_xstrdup(path);
	char *p = copy;

	for (;;) {
		char *slash;
		struct stat st;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
			return lc_err_set(err, LC_ERR_SYS, errno, "mkdir '%s'", copy);
		if (fstatat(dirfd, copy, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", copy);
		if (!S_ISDIR(st.st_mode))
			return lc_err_set(err, LC_ERR_UNSAFE, ENOTDIR, "'%s' is not a directory",
					  copy);
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
	}
	return 0;
}

static int rm_rf_children(int fd, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (dupfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "dup");
	d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return lc_err_set(err, LC_ERR_SYS, errno, "opendir");
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (lc_rm_rf_at(fd, de->d_name, err) < 0)
			return -1;
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "readdir");
	return 0;
}

int lc_rm_rf_at(int dirfd, const char *name, struct lc_err **err)
{
	cleanup_close int fd = -1;
	struct stat st;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove '%s'", name);
	/* A directory; an empty one goes at once, without a walk (a mount point stays: EBUSY) */
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	/* Open it without following a symlink put in its place meanwhile. */
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", name);
	}
	/* Never cross into another filesystem (a mount left inside a container dir). */
	if (fstat(fd, &st) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", name);
	{
		struct stat parent;

		if (fstat(dirfd, &parent) == 0 && parent.st_dev != st.st_dev)
			return lc_err_set(
				err, LC_ERR_UNSAFE, EBUSY,
				"refusing to remove '%s': another filesystem is mounted there",
				name);
	}
	if (rm_rf_children(fd, err) < 0)
		return lc_err_prefix(err, "'%s'", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "rmdir '%s'", name);
	return 0;
}

/* The deepest nesting of arrays and objects in buf (strings skipped). */
static size_t json_depth(const char *buf, size_t len)
{
	size_t depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return max;
}

struct json_t *lc_json_parse(const char *buf, size_t len, const char *what, struct lc_err **err)
{
	json_error_t jerr;
	json_t *j;

	if (json_depth(buf, len) > LC_JSON_MAX_DEPTH) {
		lc_err_set(err, LC_ERR_LIMIT, 0, "%s: JSON nested deeper than %d levels, the limit",
			   what, LC_JSON_MAX_DEPTH);
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		lc_err_set(err, LC_ERR_PROTO, 0, "%s: invalid JSON at line %d: %s", what, jerr.line,
			   jerr.text);
	return j;
}
