/* SPDX-License-Identifier: MIT */
/*
 * copy: `cp` between a container and the host (or a tar stream), from the host's side and in
 * the host's context: nothing of the container is ever executed or loaded (no chroot, no
 * setns, no name lookups: CVE-2019-14271's class). Every container path is resolved from the
 * container root's fd with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so its symlinks,
 * absolute or `../..`, stay inside that root; below the path named, every entry is opened
 * relative to its directory's fd with O_NOFOLLOW (a symlink is copied as a symlink, never
 * followed), so a container swapping a directory for a symlink meanwhile reaches nothing of
 * the host (CVE-2018-15664's class). What is written is created relative to directory fds
 * with O_EXCL | O_NOFOLLOW (an existing entry is unlinked first, never written through).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount-int.h"

/* every level holds two fds (its source and destination dirs) */
#define CP_MAX_DEPTH 256

struct cp {
	const struct lc_cp_opts *o;
	struct archive *out; /* a tar stream on stdout, or NULL: a directory */
	char buf[128 * 1024];
};

/* A place in the destination: a directory's fd, or (tar stream) a path prefix. */
struct place {
	int fd;		  /* O_RDONLY | O_DIRECTORY; -1 in a tar stream */
	const char *path; /* for messages, and the tar stream's names ("" at the top) */
	bool created;	  /* put_dir_begin made it (rather than merging into one) */
};

static char *join(const char *a, const char *b)
{
	return *a ? lc_xasprintf("%s/%s", a, b) : lc_xstrdup(b);
}

static void skipped(struct cp *c, const char *path, const char *why)
{
	if (c->o->skipped)
		c->o->skipped(c->o->arg, path, why);
}

/* The permission bits a copy gets: setuid and setgid only with -a (an owner that is kept). */
static mode_t copy_mode(const struct cp *c, mode_t m)
{
	return m & (c->o->archive ? 07777 : 01777);
}

/* Owner (with -a), mode and times of what fd is (a file or dir we just made). */
static int set_attrs(struct cp *c, int fd, const struct stat *st, const char *path,
		     struct lc_err **err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (c->o->archive && fchown(fd, st->st_uid, st->st_gid) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chown '%s'", path);
	if (fchmod(fd, copy_mode(c, st->st_mode)) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chmod '%s'", path);
	if (futimens(fd, ts) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set times of '%s'", path);
	return 0;
}

/*
 * Make room for a new non-directory name in parent: an existing directory is an error
 * (docker's), anything else is unlinked (never opened, never followed).
 */
static int make_room(int parent, const char *name, const char *path, struct lc_err **err)
{
	struct stat st;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return lc_err_set(err, LC_ERR_EXISTS, 0,
				  "cannot overwrite directory '%s' with non-directory", path);
	if (unlinkat(parent, name, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "replace '%s'", path);
	return 0;
}

static int tar_header(struct cp *c, const char *path, const struct stat *st, const char *link,
		      struct lc_err **err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_copy_pathname(e, path);
	archive_entry_copy_stat(e, st);
	if (!S_ISREG(st->st_mode))
		archive_entry_set_size(e, 0);
	if (link)
		archive_entry_copy_symlink(e, link);
	r = archive_write_header(c->out, e);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN)
		return lc_err_set(err, LC_ERR_SYS, 0, "write tar stream: %s",
				  archive_error_string(c->out));
	return 0;
}

/* ---------- the destination ---------- */

/* A directory name in parent: made (or an existing one merged into); *ret its place. */
static int put_dir_begin(struct cp *c, const struct place *parent, const char *name,
			 const struct stat *st, struct place *ret, struct lc_err **err)
{
	cleanup_free char *path = join(parent->path, name);
	struct stat cur;
	int fd;

	if (c->out) {
		cleanup_free char *slash = lc_xasprintf("%s/", path);

		if (tar_header(c, slash, st, NULL, err) < 0)
			return -1;
		*ret = (struct place){ .fd = -1, .path = TAKE_PTR(path) };
		return 0;
	}
	bool created = false;

	if (fstatat(parent->fd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(cur.st_mode))
			return lc_err_set(err, LC_ERR_EXISTS, 0,
					  "cannot overwrite non-directory '%s' with directory",
					  path);
	} else if (errno != ENOENT || mkdirat(parent->fd, name, 0700) < 0) {
		return lc_err_set(err, LC_ERR_SYS, errno, "create directory '%s'", path);
	} else {
		created = true;
	}
	/* a symlink swapped in meanwhile is not followed: ENOTDIR or ELOOP */
	fd = openat(parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open directory '%s'", path);
	*ret = (struct place){ .fd = fd, .path = TAKE_PTR(path), .created = created };
	return 0;
}

/* The directory's attributes once its entries are in (st NULL: leave them), then release. */
static int put_dir_end(struct cp *c, struct place *p, const struct stat *st, struct lc_err **err)
{
	int r = 0;

	if (p->fd >= 0 && st)
		r = set_attrs(c, p->fd, st, p->path, err);
	if (p->fd >= 0)
		close(p->fd);
	free((char *)p->path);
	*p = (struct place){ .fd = -1 };
	return r;
}

/* Where a regular file's bytes come from. */
struct source {
	int fd;		   /* >= 0: read it */
	struct archive *a; /* else: the current entry's data */
};

static ssize_t source_read(struct source *src, void *buf, size_t n)
{
	if (src->fd >= 0) {
		ssize_t r;

		do
			r = read(src->fd, buf, n);
		while (r < 0 && errno == EINTR);
		return r;
	}
	return archive_read_data(src->a, buf, n);
}

static int put_file(struct cp *c, const struct place *parent, const char *name,
		    const struct stat *st, struct source *src, struct lc_err **err)
{
	cleanup_free char *path = join(parent->path, name);
	cleanup_close int fd = -1;
	int64_t left = st->st_size;

	if (c->out) {
		if (tar_header(c, path, st, NULL, err) < 0)
			return -1;
		/* a file that shrank meanwhile is padded by the archive writer, one that grew cut */
		while (left > 0) {
			ssize_t n = source_read(src, c->buf,
						(size_t)(left < (int64_t)sizeof(c->buf)
								 ? left
								 : (int64_t)sizeof(c->buf)));

			if (n < 0)
				return lc_err_set(err, LC_ERR_SYS, errno, "read '%s'", path);
			if (n == 0)
				break;
			if (archive_write_data(c->out, c->buf, (size_t)n) < 0)
				return lc_err_set(err, LC_ERR_SYS, 0, "write tar stream: %s",
						  archive_error_string(c->out));
			left -= n;
		}
		return 0;
	}
	if (make_room(parent->fd, name, path, err) < 0)
		return -1;
	fd = openat(parent->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", path);
	for (;;) {
		ssize_t n = source_read(src, c->buf, sizeof(c->buf));

		if (n < 0)
			return lc_err_set(err, LC_ERR_SYS, src->fd >= 0 ? errno : 0,
					  "read '%s'%s%s", path, src->fd >= 0 ? "" : ": ",
					  src->fd >= 0 ? "" : archive_error_string(src->a));
		if (n == 0)
			break;
		if (lc_write_all(fd, c->buf, (size_t)n) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "write '%s'", path);
	}
	return set_attrs(c, fd, st, path, err);
}

static int put_symlink(struct cp *c, const struct place *parent, const char *name,
		       const struct stat *st, const char *target, struct lc_err **err)
{
	cleanup_free char *path = join(parent->path, name);
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (c->out)
		return tar_header(c, path, st, target, err);
	if (make_room(parent->fd, name, path, err) < 0)
		return -1;
	if (symlinkat(target, parent->fd, name) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create symlink '%s'", path);
	if (c->o->archive &&
	    fchownat(parent->fd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chown '%s'", path);
	if (utimensat(parent->fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set times of '%s'", path);
	return 0;
}

/*
 * FIFOs are made; device nodes and sockets are skipped with a warning (a copied node would
 * open the host's device on the host, or the container's on a nodev-less mount). A tar
 * stream carries FIFOs and devices as headers, as docker's does.
 */
static int put_special(struct cp *c, const struct place *parent, const char *name,
		       const struct stat *st, struct lc_err **err)
{
	cleanup_free char *path = join(parent->path, name);
	cleanup_close int fd = -1;

	if (S_ISSOCK(st->st_mode)) {
		skipped(c, path, "a socket");
		return 0;
	}
	if (c->out)
		return tar_header(c, path, st, NULL, err);
	if (!S_ISFIFO(st->st_mode)) {
		skipped(c, path, "a device node");
		return 0;
	}
	if (make_room(parent->fd, name, path, err) < 0)
		return -1;
	if (mknodat(parent->fd, name, S_IFIFO | 0600, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create fifo '%s'", path);
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open fifo '%s'", path);
	{
		char proc[32];
		struct timespec ts[2] = { st->st_atim, st->st_mtim };

		/* O_PATH fds take no fchmod: through their /proc/self/fd link (ours) */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if ((c->o->archive &&
		     fchownat(fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0) ||
		    chmod(proc, copy_mode(c, st->st_mode)) < 0 ||
		    utimensat(parent->fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "set attributes of '%s'", path);
	}
	return 0;
}

/* ---------- the source: a tree ---------- */

static int copy_node(struct cp *c, int node, const struct stat *st, const struct place *parent,
		     const char *name, int depth, struct lc_err **err);

/* Every entry of the directory node (O_PATH) into dst, each opened without following links. */
static int copy_children(struct cp *c, int node, const struct place *dst, int depth,
			 struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(node, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (depth > CP_MAX_DEPTH)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "'%s': deeper than %d levels", dst->path,
				  CP_MAX_DEPTH);
	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "read directory for '%s'", dst->path);
	while ((errno = 0, de = readdir(d))) {
		cleanup_close int child = -1;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0 && errno == ENOENT)
			continue; /* gone meanwhile */
		if (child < 0 || fstat(child, &st) < 0) {
			cleanup_free char *path = join(dst->path, de->d_name);

			return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
		}
		if (copy_node(c, child, &st, dst, de->d_name, depth + 1, err) < 0)
			return -1;
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read directory for '%s'", dst->path);
	return 0;
}

/*
 * Copy what node (an O_PATH fd, not following links) is to parent/name. The fd pins the
 * inode: a regular file is reopened through our own /proc/self/fd link (the same inode, never
 * a name the container could swap), a directory through ".", a symlink read with readlinkat.
 */
static int copy_node(struct cp *c, int node, const struct stat *st, const struct place *parent,
		     const char *name, int depth, struct lc_err **err)
{
	if (S_ISDIR(st->st_mode)) {
		struct place p = { .fd = -1 };

		if (put_dir_begin(c, parent, name, st, &p, err) < 0)
			return -1;
		if (copy_children(c, node, &p, depth, err) < 0) {
			put_dir_end(c, &p, NULL, NULL);
			return -1;
		}
		return put_dir_end(c, &p, st, err);
	}
	if (S_ISREG(st->st_mode)) {
		char proc[32];
		struct stat again;
		struct source src = { .fd = -1 };
		int r;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", node);
		src.fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (src.fd < 0 || fstat(src.fd, &again) < 0 || again.st_ino != st->st_ino ||
		    again.st_dev != st->st_dev || !S_ISREG(again.st_mode)) {
			cleanup_free char *path = join(parent->path, name);
			int e = errno;

			if (src.fd >= 0)
				close(src.fd);
			return lc_err_set(err, LC_ERR_SYS, e, "open '%s'", path);
		}
		r = put_file(c, parent, name, st, &src, err);
		close(src.fd);
		return r;
	}
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(node, "", target, sizeof(target));

		if (n < 0 || (size_t)n >= sizeof(target)) {
			cleanup_free char *path = join(parent->path, name);

			return lc_err_set(err, LC_ERR_SYS, n < 0 ? errno : ENAMETOOLONG,
					  "read symlink '%s'", path);
		}
		target[n] = 0;
		return put_symlink(c, parent, name, st, target, err);
	}
	return put_special(c, parent, name, st, err);
}

/* ---------- the source: a tar stream ---------- */

/*
 * The entry's name as components below the destination: leading '/' and "./" dropped, "."
 * components skipped, ".." refused. Returns the number of components written into comps
 * (pointers into buf), 0 for the destination itself, -1 when refused.
 */
static int tar_components(char *buf, char **comps, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..") || n == max || strlen(t) > NAME_MAX)
			return -1;
		comps[n++] = t;
	}
	return (int)n;
}

/* Open (making them when missing) the n directories comps below top; *ret the last one's. */
static int tar_descend(struct cp *c, const struct place *top, char **comps, int n, bool create,
		       struct place *ret, struct lc_err **err)
{
	struct place cur = { .fd = -1, .path = lc_xstrdup(top->path) };
	int curfd = top->fd;

	for (int i = 0; i < n; i++) {
		struct place next = { .fd = -1 };
		struct stat st = { .st_mode = S_IFDIR | 0755 };

		clock_gettime(CLOCK_REALTIME, &st.st_mtim);
		st.st_atim = st.st_mtim;
		if (create) {
			struct place at = { .fd = curfd, .path = cur.path };

			if (put_dir_begin(c, &at, comps[i], &st, &next, err) < 0)
				goto fail;
			/* one the stream implies without an entry of its own: 0755, like tar */
			if (next.created && fchmod(next.fd, 0755) < 0) {
				lc_err_set(err, LC_ERR_SYS, errno, "chmod '%s'", next.path);
				put_dir_end(c, &next, NULL, NULL);
				goto fail;
			}
		} else {
			int fd = openat(curfd, comps[i],
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0) {
				lc_err_set(err, LC_ERR_SYS, errno, "open '%s/%s'", cur.path,
					   comps[i]);
				goto fail;
			}
			next = (struct place){ .fd = fd, .path = join(cur.path, comps[i]) };
		}
		put_dir_end(c, &cur, NULL, NULL);
		cur = next;
		curfd = cur.fd;
	}
	if (cur.fd < 0)
		cur.fd = fcntl(top->fd, F_DUPFD_CLOEXEC, 3);
	*ret = cur;
	return 0;
fail:
	put_dir_end(c, &cur, NULL, NULL);
	return -1;
}

#define TAR_MAX_DEPTH 512

static int extract_entry(struct cp *c, struct archive *a, struct archive_entry *e,
			 const struct place *top, struct lc_err **err)
{
	cleanup_free char *name =
		lc_xstrdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
	char *comps[TAR_MAX_DEPTH];
	struct place parent = { .fd = -1 };
	struct stat st = *archive_entry_stat(e);
	int n = tar_components(name, comps, LC_ARRAY_SIZE(comps)), r = -1;

	if (n < 0)
		return lc_err_set(err, LC_ERR_UNSAFE, 0,
				  "tar entry '%s': refusing '..' (or a name too long)",
				  archive_entry_pathname(e));
	if (n == 0)
		return 0; /* "./": the destination itself, left as it is */
	if (tar_descend(c, top, comps, n - 1, true, &parent, err) < 0)
		return -1;
	if (archive_entry_hardlink(e)) {
		cleanup_free char *target = lc_xstrdup(archive_entry_hardlink(e));
		char *tcomps[TAR_MAX_DEPTH];
		struct place tparent = { .fd = -1 };
		int tn = tar_components(target, tcomps, LC_ARRAY_SIZE(tcomps));
		cleanup_free char *path = join(parent.path, comps[n - 1]);

		if (tn <= 0) {
			lc_err_set(err, LC_ERR_UNSAFE, 0, "tar entry '%s': bad hard link target",
				   path);
		} else if (tar_descend(c, top, tcomps, tn - 1, false, &tparent, err) == 0) {
			struct stat ts;

			/* the target must be a non-directory we can see without following links */
			if (fstatat(tparent.fd, tcomps[tn - 1], &ts, AT_SYMLINK_NOFOLLOW) < 0 ||
			    S_ISDIR(ts.st_mode))
				lc_err_set(err, LC_ERR_UNSAFE, errno,
					   "tar entry '%s': bad hard link target", path);
			else if (make_room(parent.fd, comps[n - 1], path, err) == 0 &&
				 linkat(tparent.fd, tcomps[tn - 1], parent.fd, comps[n - 1], 0) < 0)
				lc_err_set(err, LC_ERR_SYS, errno, "link '%s'", path);
			else if (!*err)
				r = 0;
			put_dir_end(c, &tparent, NULL, NULL);
		}
	} else if (S_ISDIR(st.st_mode)) {
		struct place p = { .fd = -1 };

		if (put_dir_begin(c, &parent, comps[n - 1], &st, &p, err) == 0)
			r = put_dir_end(c, &p, &st, err);
	} else if (S_ISREG(st.st_mode)) {
		struct source src = { .fd = -1, .a = a };

		r = put_file(c, &parent, comps[n - 1], &st, &src, err);
	} else if (S_ISLNK(st.st_mode)) {
		r = put_symlink(c, &parent, comps[n - 1], &st,
				archive_entry_symlink(e) ? archive_entry_symlink(e) : "", err);
	} else {
		r = put_special(c, &parent, comps[n - 1], &st, err);
	}
	put_dir_end(c, &parent, NULL, NULL);
	return r;
}

static int extract_tar(struct cp *c, int in, const struct place *top, struct lc_err **err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 0, ar;

	/* compressed or not, as docker takes it; only in-process filters */
	archive_read_support_format_tar(a);
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	if (archive_read_open_fd(a, in, 64 * 1024) != ARCHIVE_OK) {
		r = lc_err_set(err, LC_ERR_INVALID, 0, "read tar stream: %s",
			       archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		if (extract_entry(c, a, e, top, err) < 0) {
			r = -1;
			goto out;
		}
	}
	if (ar != ARCHIVE_EOF)
		r = lc_err_set(err, LC_ERR_INVALID, 0, "read tar stream: %s",
			       archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}

/* ---------- resolving the paths named ---------- */

/*
 * Open path as O_PATH (flags: O_NOFOLLOW or 0 for the last component). In a container
 * (rootfd >= 0) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: its symlinks, absolute or
 * relative, resolve inside its root, its /proc magic links not at all. On the host, as the
 * user wrote it. -1 with errno.
 */
static int open_path(int rootfd, const char *path, int flags)
{
	struct lc_open_how how = { .flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
				   .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = -1;

	if (rootfd < 0)
		return open(path, O_PATH | O_CLOEXEC | flags);
	/* EAGAIN: a rename raced with the lookup; the kernel asks us to try again */
	for (int i = 0; i < 64; i++) {
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd;
}

/* A path named on the command line, split as docker's rules need it. */
struct named {
	char *path;    /* without trailing slashes ("/" for the root, "." for an empty one) */
	char *dir;     /* its parent's path */
	char *base;    /* its last component ("" for the root) */
	bool slash;    /* it ended in '/' */
	bool contents; /* it ended in "/." (or names the root, ".", ".."): its entries */
};

static void named_clear(struct named *n)
{
	free(n->path);
	free(n->dir);
	free(n->base);
}

static void named_split(const char *in, bool in_ctr, struct named *n)
{
	size_t len = strlen(in);
	char *slash;

	*n = (struct named){ 0 };
	n->slash = len > 0 && in[len - 1] == '/';
	n->contents = (len >= 2 && !strcmp(in + len - 2, "/.")) || !strcmp(in, ".");
	while (len > 1 && in[len - 1] == '/')
		len--;
	n->path = len ? lc_xstrndup(in, len) : lc_xstrdup(in_ctr ? "/" : ".");
	slash = strrchr(n->path, '/');
	if (!strcmp(n->path, "/")) {
		n->dir = lc_xstrdup("/");
		n->base = lc_xstrdup("");
	} else if (!slash) {
		n->dir = lc_xstrdup(in_ctr ? "/" : ".");
		n->base = lc_xstrdup(n->path);
	} else {
		n->dir = slash == n->path ? lc_xstrdup("/")
					  : lc_xstrndup(n->path, (size_t)(slash - n->path));
		n->base = lc_xstrdup(slash + 1);
	}
	if (!*n->base || !strcmp(n->base, ".") || !strcmp(n->base, ".."))
		n->contents = true;
}

static int open_failed(int e, const char *path, bool in_ctr, struct lc_err **err)
{
	if (e == ENOSYS)
		return lc_err_set(err, LC_ERR_INVALID, e,
				  "cp needs openat2 (Linux 5.6) to resolve paths inside a "
				  "container safely");
	if (e == ELOOP && in_ctr)
		return lc_err_set(err, LC_ERR_UNSAFE, e,
				  "'%s' in the container: too many symlinks or a magic link", path);
	if (e == ENOENT)
		return lc_err_set(err, LC_ERR_NOTFOUND, e, "could not find the file '%s'%s", path,
				  in_ctr ? " in the container" : "");
	return lc_err_set(err, LC_ERR_SYS, e, "open '%s'%s", path,
			  in_ctr ? " in the container" : "");
}

int lc_cp(int rootfd, const struct lc_cp_end *src, const struct lc_cp_end *dst,
	  const struct lc_cp_opts *o, struct lc_err **err)
{
	cleanup_free struct cp *c = lc_xcalloc(1, sizeof(*c));
	struct named sn = { 0 }, dn = { 0 };
	cleanup_close int snode = -1;
	cleanup_close int dnode = -1;
	struct place top = { .fd = -1, .path = "" };
	struct stat sst, dstst;
	int srootfd = src->in_container ? rootfd : -1;
	int drootfd = dst->in_container ? rootfd : -1;
	const char *name;
	int r = -1;

	c->o = o;
	/* libarchive is loaded on first use: a missing one is one line, before anything moves */
	if ((!src->path || !dst->path) && lc_store_need_libarchive(err) < 0)
		goto out;
	if (src->path) {
		named_split(src->path, src->in_container, &sn);
		/* -L follows a symlink SRC_PATH names; a trailing '/' follows it too (the kernel) */
		snode = open_path(srootfd, src->path, o->follow ? 0 : O_NOFOLLOW);
		if (snode < 0 || fstat(snode, &sst) < 0) {
			open_failed(errno, src->path, src->in_container, err);
			goto out;
		}
		if (sn.slash && !S_ISDIR(sst.st_mode)) {
			lc_err_set(err, LC_ERR_INVALID, ENOTDIR, "'%s' is not a directory",
				   src->path);
			goto out;
		}
		if (!S_ISDIR(sst.st_mode))
			sn.contents = false;
		/* named on purpose, a device node or socket is an error, not a skipped entry */
		if (dst->path &&
		    (S_ISCHR(sst.st_mode) || S_ISBLK(sst.st_mode) || S_ISSOCK(sst.st_mode))) {
			lc_err_set(err, LC_ERR_INVALID, 0,
				   "'%s' is a device node or a socket: not copied", src->path);
			goto out;
		}
	}
	if (!dst->path) {
		/* a tar stream of the source on stdout, named after it (its entries for "/.") */
		c->out = archive_write_new();
		archive_write_set_format_pax_restricted(c->out);
		if (archive_write_open_fd(c->out, STDOUT_FILENO) != ARCHIVE_OK) {
			lc_err_set(err, LC_ERR_SYS, 0, "write tar stream: %s",
				   archive_error_string(c->out));
			goto out;
		}
		if (sn.contents)
			r = copy_children(c, snode, &top, 0, err);
		else
			r = copy_node(c, snode, &sst, &top, sn.base, 0, err);
		if (r == 0 && archive_write_close(c->out) != ARCHIVE_OK)
			r = lc_err_set(err, LC_ERR_SYS, 0, "write tar stream: %s",
				       archive_error_string(c->out));
		goto out;
	}
	named_split(dst->path, dst->in_container, &dn);
	/* docker's rules: an existing destination is followed, symlink and all (in the root) */
	dnode = open_path(drootfd, dst->path, 0);
	if (dnode >= 0 && fstat(dnode, &dstst) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", dst->path);
		goto out;
	}
	if (dnode < 0 && errno != ENOENT) {
		open_failed(errno, dst->path, dst->in_container, err);
		goto out;
	}
	if (!src->path) {
		/* a tar stream from stdin goes into an existing directory */
		if (dnode < 0 || !S_ISDIR(dstst.st_mode)) {
			lc_err_set(err, LC_ERR_INVALID, ENOTDIR,
				   "destination '%s' must be an existing directory", dst->path);
			goto out;
		}
		top.fd = openat(dnode, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		top.path = dst->path;
		if (top.fd < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", dst->path);
			goto out;
		}
		r = extract_tar(c, STDIN_FILENO, &top, err);
		goto out;
	}
	if (dnode >= 0 && S_ISDIR(dstst.st_mode)) {
		/* into the directory: the source's entries ("/."), else the source by its name */
		top.fd = openat(dnode, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		top.path = dst->path;
		name = sn.base;
		if (top.fd < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", dst->path);
			goto out;
		}
		if (S_ISDIR(sst.st_mode) && sn.contents)
			r = copy_children(c, snode, &top, 0, err);
		else
			r = copy_node(c, snode, &sst, &top, name, 0, err);
		goto out;
	}
	if (dnode >= 0 && S_ISDIR(sst.st_mode)) {
		lc_err_set(err, LC_ERR_EXISTS, 0, "cannot copy a directory to a file: '%s'",
			   dst->path);
		goto out;
	}
	if (dnode < 0 && !S_ISDIR(sst.st_mode) && (dn.slash || dn.contents)) {
		lc_err_set(err, LC_ERR_NOTFOUND, ENOENT, "destination directory '%s' must exist",
			   dst->path);
		goto out;
	}
	/* a new (or replaced) entry named after the destination, in its parent directory */
	close(dnode);
	dnode = open_path(drootfd, dn.dir, 0);
	if (dnode < 0 || fstat(dnode, &dstst) < 0 || !S_ISDIR(dstst.st_mode)) {
		lc_err_set(err, LC_ERR_NOTFOUND, dnode < 0 ? errno : ENOTDIR,
			   "destination's parent directory '%s' must exist", dn.dir);
		goto out;
	}
	top.fd = openat(dnode, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	top.path = dn.dir;
	if (top.fd < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", dn.dir);
		goto out;
	}
	r = copy_node(c, snode, &sst, &top, dn.base, 0, err);
out:
	if (top.fd >= 0)
		close(top.fd);
	if (c->out)
		archive_write_free(c->out);
	named_clear(&sn);
	named_clear(&dn);
	return r;
}

/* ---------- where the container's root comes from ---------- */

int lc_cp_root_of_pid(pid_t pid, int *ret_fd, struct lc_err **err)
{
	char path[64];
	struct stat st;
	int fd;

	/* the container's "/" in its own mount namespace: its volumes and tmpfs mounts too */
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return lc_err_set(err, LC_ERR_SYS, e, "open the root of process %d", (int)pid);
	}
	*ret_fd = fd;
	return 0;
}

/*
 * After unshare(CLONE_NEWNS) the store's root fd still refers to the mount of the old
 * namespace, which overlay cannot take its layers from ("failed to clone upperpath"): the same
 * directory, opened again in ours, takes its fd number.
 */
static int store_fd_here(struct lc_store *s, struct lc_err **err)
{
	cleanup_close int fd = open(lc_store_root(s), O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat a, b;

	if (fd < 0 || fstat(fd, &a) < 0 || fstat(lc_store_rootfd(s), &b) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "cp: open the store again");
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "cp: the store's root changed");
	if (dup3(fd, lc_store_rootfd(s), O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "cp: open the store again");
	return 0;
}

struct cp_msg {
	int32_t code, sys_errno;
	char msg[1024];
};

int lc_cp_stopped(struct lc_store *s, const char *const *lowers, size_t n_lowers, const char *cdir,
		  const struct lc_cp_end *src, const struct lc_cp_end *dst,
		  const struct lc_cp_opts *o, struct lc_err **err)
{
	int p[2];
	pid_t pid;
	int ws;
	struct cp_msg m = { 0 };
	size_t got = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "cp: pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return lc_err_set(err, LC_ERR_SYS, e, "cp: fork");
	}
	if (pid == 0) {
		/*
		 * Child: a mount namespace of its own, private, in which the stopped container's
		 * overlay is mounted; it goes with this process. Still the host's root and
		 * context: nothing of the container runs.
		 */
		struct lc_err *e = NULL;
		cleanup_free char *merged = lc_xasprintf("%s/merged", cdir);
		int rootfd = -1, r = -1;

		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (unshare(CLONE_NEWNS) < 0)
			lc_err_set(&e, LC_ERR_SYS, errno, "cp: new mount namespace");
		else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			lc_err_set(&e, LC_ERR_SYS, errno, "cp: make mounts private");
		else if (store_fd_here(s, &e) == 0 &&
			 lc_overlay_mount(s, lowers, n_lowers, cdir, false, &e) == 0) {
			rootfd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				lc_err_set(&e, LC_ERR_SYS, errno, "cp: open '%s'", merged);
			else
				r = lc_cp(rootfd, src, dst, o, &e);
		}
		if (r < 0) {
			m.code = e ? (int32_t)e->code : LC_ERR_SYS;
			m.sys_errno = e ? e->sys_errno : 0;
			snprintf(m.msg, sizeof(m.msg), "%s", e && e->msg ? e->msg : "cp failed");
			lc_write_all(p[1], &m, sizeof(m));
		}
		fflush(stdout);
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	while (got < sizeof(m)) {
		ssize_t n = read(p[0], (char *)&m + got, sizeof(m) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return lc_err_set(err, LC_ERR_SYS, errno, "cp: wait");
	if (got == sizeof(m)) {
		m.msg[sizeof(m.msg) - 1] = 0;
		lc_err_set(err, (enum lc_errc)m.code, m.sys_errno, "%s", m.msg);
		return -1;
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return lc_err_set(err, LC_ERR_SYS, 0, "cp: the copying process died");
	return 0;
}
