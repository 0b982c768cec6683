/* SPDX-License-Identifier: MIT */
/*
 * store: the layer writer, the thread that reads the tar. libarchive parses it; every entry is
 * created with openat-family calls relative to the layer's dir fd, never following a symlink,
 * never leaving the layer (REFERENCE.md 3B items 10-20), in overlay's format (whiteouts become
 * 0/0 char devices, opaque dirs get trusted.overlay.opaque=y). Dirs, symlinks, hard links and
 * whiteouts are created here, and the regular files no worker may take; a small regular file
 * with a new name, without xattrs or holes, goes whole to a worker thread (extract-workers.c).
 *
 * Path rules: leading "/" and "./" are stripped, so "/etc/x" is re-anchored at the layer root
 * like docker and containerd do; ".." anywhere is refused; an entry below a symlink is refused
 * (a layer never needs one, and following it is how tars escape).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>

#include "extract-int.h"

#define OVL_OPAQUE lc_ovl_opaque_xattr() /* trusted.*, or user.* rootless */
#define WH_PREFIX  ".wh."
#define WH_META	   ".wh..wh."
#define WH_OPAQUE  ".wh..wh..opq"
#define MAX_UID	   4294967294ll

/* ---------- a small string set (implicit dirs) ---------- */

struct sset_node {
	struct sset_node *next;
	bool live;
	char path[];
};

static struct sset_node *sset_find(struct sset *set, const char *p)
{
	if (!set->nb)
		return NULL;
	for (struct sset_node *n = set->b[lc_xt_hash_str(p) % set->nb]; n; n = n->next)
		if (!strcmp(n->path, p))
			return n;
	return NULL;
}

static void sset_add(struct sset *set, const char *p)
{
	struct sset_node *n = sset_find(set, p);
	size_t len = strlen(p);

	if (n) {
		n->live = true;
		return;
	}
	if (set->n >= set->nb) {
		size_t nb = set->nb ? set->nb * 4 : 64;
		struct sset_node **b = lc_xcalloc(nb, sizeof(*b));

		for (size_t i = 0; i < set->nb; i++)
			for (struct sset_node *x = set->b[i], *next; x; x = next) {
				next = x->next;
				x->next = b[lc_xt_hash_str(x->path) % nb];
				b[lc_xt_hash_str(x->path) % nb] = x;
			}
		free(set->b);
		set->b = b;
		set->nb = nb;
	}
	n = lc_xmalloc(sizeof(*n) + len + 1);
	memcpy(n->path, p, len + 1);
	n->live = true;
	n->next = set->b[lc_xt_hash_str(p) % set->nb];
	set->b[lc_xt_hash_str(p) % set->nb] = n;
	set->n++;
	set->order = lc_xrealloc(set->order, (set->n_order + 1) * sizeof(char *));
	set->order[set->n_order++] = n->path;
}

static void sset_free(struct sset *set)
{
	for (size_t i = 0; i < set->nb; i++)
		for (struct sset_node *x = set->b[i], *next; x; x = next) {
			next = x->next;
			free(x);
		}
	free(set->b);
	free(set->order);
}

/* ---------- resolution ---------- */

/* Cleared once on kernels without openat2 (< 5.6); read by every extraction thread. */
static int no_openat2;

static bool have_openat2(void)
{
	return !__atomic_load_n(&no_openat2, __ATOMIC_RELAXED);
}

static void lost_openat2(void)
{
	__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
}

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	if (lc_store_sys_fail(LC_SYS_OPENAT2) < 0)
		return -1;
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

typedef void (*created_fn)(void *opaque, const char *prefix);

/*
 * Open dirfd/path (components joined by single '/', no "." or "..") as a directory, one
 * component at a time with O_NOFOLLOW. When create, missing components are made 0755 and
 * reported through created (with the path up to them). -1 with errno: ELOOP/ENOTDIR when a
 * component is a symlink or not a directory.
 */
static int walk_dirs(int dirfd, const char *path, bool create, created_fn created, void *opaque)
{
	char buf[PATH_MAX];
	int cur = -1;
	char *p = buf;
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (;;) {
		char *slash = strchr(p, '/');
		int fd;

		if (slash)
			*slash = '\0';
		fd = openat(cur >= 0 ? cur : dirfd, p,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur >= 0 ? cur : dirfd, p, 0755) < 0 && errno != EEXIST)
				goto fail;
			fd = openat(cur >= 0 ? cur : dirfd, p,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* exact mode whatever the umask; the owner is ours (root:root as root) */
			if (fd >= 0 && fchmod(fd, 0755) < 0) {
				int e = errno;

				close(fd);
				errno = e;
				fd = -1;
			}
			if (fd >= 0 && created)
				created(opaque, buf);
		}
		if (fd < 0)
			goto fail;
		if (cur >= 0)
			close(cur);
		cur = fd;
		if (!slash)
			return cur;
		*slash = '/';
		p = slash + 1;
	}
fail:
	if (cur >= 0) {
		int e = errno;

		close(cur);
		errno = e;
	}
	return -1;
}

int lc_openat_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	const char *slash;
	int pfd, fd, e;

	if (!*path)
		return openat(dirfd, ".", flags | O_CLOEXEC, mode);
	if (have_openat2()) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
				   RESOLVE_NO_XDEV,
		};

		fd = (int)sys_openat2(dirfd, path, &how);
		if (fd >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EAGAIN))
			return fd;
		if (errno != EAGAIN) /* EAGAIN: a concurrent rename, walk instead */
			lost_openat2();
	}
	slash = strrchr(path, '/');
	if (!slash)
		return openat(dirfd, path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	{
		char parent[PATH_MAX];

		if ((size_t)(slash - path) >= sizeof(parent)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
		pfd = walk_dirs(dirfd, parent, false, NULL, NULL);
	}
	if (pfd < 0)
		return -1;
	fd = openat(pfd, slash + 1, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	e = errno;
	close(pfd);
	errno = e;
	return fd;
}

/* ---------- the extractor ---------- */

struct dirtime {
	char *path;
	struct timespec ts[2];
};

static struct dirref *dirref_new(struct xt *x, int fd)
{
	struct dirref *d = lc_xcalloc(1, sizeof(*d));
	struct stat st;

	d->fd = fd;
	d->refs = 1;
	d->worker = x->n_workers ? x->n_dirrefs++ % x->n_workers : 0;
	/* unknown: as if setgid to nobody's group, so that fchown always runs */
	d->sgid = true;
	d->gid = (gid_t)-1;
	if (fstat(fd, &st) == 0) {
		d->sgid = (st.st_mode & S_ISGID) != 0;
		d->gid = st.st_gid;
	}
	return d;
}

static struct dirref *dirref_get(struct dirref *d)
{
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

void lc_xt_dirref_put(struct dirref *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	close(d->fd);
	free(d);
}

/* The owner a file created in d starts with; whether it must be changed to uid:gid. */
static bool needs_chown(const struct xt *x, const struct dirref *d, uid_t uid, gid_t gid)
{
	return uid != x->fsuid || gid != (d->sgid ? d->gid : x->fsgid);
}

static void cache_drop(struct xt *x)
{
	free(x->cache_path);
	x->cache_path = NULL;
	lc_xt_dirref_put(x->cache);
	x->cache = NULL;
	x->cache_fd = -1;
}

/* path is being replaced or removed: forget a cached dir fd at or below it. */
static void cache_invalidate(struct xt *x, const char *path)
{
	size_t n = strlen(path);

	if (x->cache_path && !strncmp(x->cache_path, path, n) &&
	    (x->cache_path[n] == '\0' || x->cache_path[n] == '/'))
		cache_drop(x);
}

/* st.recs, which the workers write too, a batch at a time under the same lock (a put may
 * append a full table to its file) */
static int rec_put(struct xt *x, const char *path, const struct lc_fhash_val *v,
		   struct lc_err **err)
{
	int r;

	pthread_mutex_lock(&x->recs_mu);
	r = lc_fhash_put(x->st.recs, path, v, err);
	pthread_mutex_unlock(&x->recs_mu);
	return r;
}

static int rec_get(struct xt *x, const char *path, struct lc_fhash_val *ret, struct lc_err **err)
{
	int r;

	pthread_mutex_lock(&x->recs_mu);
	r = lc_fhash_get(x->st.recs, path, ret, err);
	pthread_mutex_unlock(&x->recs_mu);
	return r;
}

static void implicit_created(void *opaque, const char *prefix)
{
	struct xt *x = opaque;

	sset_add(&x->implicit, prefix);
	lc_xt_name_add(x, prefix, false);
}

/*
 * The parent dir of an entry, created if missing (implicit dirs are remembered). Returns a
 * borrowed fd (the root or the cache) or -1 with *err. Only entries that replace or remove a
 * path invalidate the cache, so it never outlives what it names.
 */
static int parent_fd(struct xt *x, const char *entry, const char *parent, struct lc_err **err)
{
	int fd = -1;

	if (!*parent)
		return x->rootfd;
	if (x->cache_path && !strcmp(x->cache_path, parent))
		return x->cache_fd;
	/* a worker's file named like one of these dirs: the tar says "a", then "a/b"; what
	 * happens then (refused, or "a" replaced first) must not depend on the workers' pace */
	if (__atomic_load_n(&x->pending, __ATOMIC_ACQUIRE)) {
		char buf[PATH_MAX];
		size_t n = strlen(parent);

		memcpy(buf, parent, n + 1);
		for (size_t i = 0; i <= n; i++) {
			if (buf[i] != '/' && buf[i] != '\0')
				continue;
			buf[i] = '\0';
			if ((lc_xt_name_find(x, buf) & NAME_TASK) && lc_xt_drain(x, err) < 0)
				return -1;
			buf[i] = parent[i];
		}
	}
	if (have_openat2()) {
		struct open_how how = {
			.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
				   RESOLVE_NO_XDEV,
		};

		fd = (int)sys_openat2(x->rootfd, parent, &how);
		if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
			lost_openat2();
	}
	/* missing components (created here), no openat2, or a concurrent rename (EAGAIN) */
	if (fd < 0 && (!have_openat2() || errno == ENOENT || errno == EAGAIN))
		fd = walk_dirs(x->rootfd, parent, true, implicit_created, x);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
			return lc_err_set(
				err, LC_ERR_UNSAFE, 0,
				"refusing '%s': '%s' is a symlink or not a directory in the "
				"layer",
				entry, parent);
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", parent);
	}
	cache_drop(x);
	x->cache_path = lc_xstrdup(parent);
	x->cache = dirref_new(x, fd);
	x->cache_fd = fd;
	return fd;
}

/*
 * Canonical form of a tar name: no leading "/" or "./", no "." or empty components. ".."
 * is refused (LC_ERR_UNSAFE). out is "" for the root itself.
 */
static int norm_path(const char *in, char *out, size_t outsz, const char *what, struct lc_err **err)
{
	size_t o = 0;
	const char *p = in;

	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "refusing %s '%.200s': it contains '..'", what, in);
		} else {
			if (o + n + 2 > outsz)
				return lc_err_set(err, LC_ERR_LIMIT, 0,
						  "%s '%.100s...' is longer than %zu bytes, the "
						  "limit (PATH_MAX)",
						  what, in, outsz - 1);
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	return 0;
}

/* An existing entry at parent/name is replaced: remove it (a dir with its contents). */
static int clear_existing(struct xt *x, int pfd, const char *name, const char *path,
			  bool *was_whiteout, struct lc_err **err)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", path);
	if (was_whiteout)
		*was_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;
	/* what goes was written by this tar: the record may refer to a file there */
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		lc_tarsplit_lose(x->ts);
	cache_invalidate(x, path);
	if (S_ISDIR(st.st_mode))
		return lc_rm_rf_at(pfd, name, err) < 0 ? lc_err_prefix(err, "replace '%s'", path)
						       : 0;
	if (unlinkat(pfd, name, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "replace '%s'", path);
	return 0;
}

static bool xattr_allowed(const char *name)
{
	/* trusted.* would let a layer forge overlay metadata (opaque, redirect); user.overlay.*
	 * the same under userxattr; security.* labels are the host's business. */
	if (!strncmp(name, "trusted.", 8) || !strncmp(name, "user.overlay.", 13))
		return false;
	if (!strncmp(name, "security.", 9))
		return !strcmp(name, "security.capability");
	return true;
}

/* What a file's xattrs add to its pool name: a hash of those set, in the tar's order. */
struct xattr_key {
	struct lc_sha256 *h; /* NULL: the entry had none */
	bool unshareable;    /* one was not set, or an ACL (which also changes the mode) */
};

static void xattr_key_add(struct xattr_key *k, const char *name, const void *val, size_t size)
{
	uint64_t sz = size;

	if (!strncmp(name, "system.posix_acl_", 17))
		k->unshareable = true;
	if (!k->h)
		k->h = lc_sha256_new();
	lc_sha256_update(k->h, name, strlen(name) + 1);
	lc_sha256_update(k->h, &sz, sizeof(sz));
	lc_sha256_update(k->h, val, size);
}

static int set_xattrs(struct xt *x, struct archive_entry *e, int fd, const char *path,
		      struct xattr_key *k, struct lc_err **err)
{
	const char *name;
	const void *val;
	size_t size;
	int n = archive_entry_xattr_reset(e);

	if (n == 0)
		return 0;
	if (n > LC_MAX_XATTRS)
		return lc_err_set(
			err, LC_ERR_LIMIT, 0,
			"entry '%s' has %d extended attributes, more than the limit of %d", path, n,
			LC_MAX_XATTRS);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (!name || !xattr_allowed(name))
			continue;
		if (size > LC_MAX_XATTR_SIZE)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "xattr '%.100s' of '%s' is larger than %u KiB, the "
					  "kernel's limit",
					  name, path, LC_MAX_XATTR_SIZE >> 10);
		if (!strcmp(name, "system.posix_acl_default"))
			x->umask = 0777;
		if (fsetxattr(fd, name, val, size, 0) < 0) {
			if (errno != ENOTSUP && errno != EOPNOTSUPP && errno != EPERM)
				return lc_err_set(err, LC_ERR_SYS, errno, "set xattr '%s' on '%s'",
						  name, path);
			if (k)
				k->unshareable = true;
		} else if (k) {
			xattr_key_add(k, name, val, size);
		}
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
	if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999)
		ts[0].tv_nsec = 0;
	if (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999)
		ts[1].tv_nsec = 0;
}

/* Remember a dir's times, set once its children are written (creating them changes them). */
static void dirtime_add(struct xt *x, const char *path, struct archive_entry *e)
{
	struct dirtime *dt;

	x->dirs = lc_xrealloc(x->dirs, (x->n_dirs + 1) * sizeof(*x->dirs));
	dt = &x->dirs[x->n_dirs++];
	dt->path = lc_xstrdup(path);
	entry_times(e, dt->ts);
}

static int do_dir(struct xt *x, struct archive_entry *e, int pfd, const char *name,
		  const char *path, uid_t uid, gid_t gid, mode_t mode, struct lc_err **err)
{
	bool was_whiteout = false, need_fd;
	cleanup_close int fd = -1;

	if (mkdirat(pfd, name, 0700) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return lc_err_set(err, LC_ERR_SYS, errno, "mkdir '%s'", path);
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", path);
		if (S_ISDIR(st.st_mode)) {
			/* both dirs: only the attributes change; an implicit dir became explicit */
			struct sset_node *n = sset_find(&x->implicit, path);

			if (n)
				n->live = false;
			/* its owner and mode change: a cached ref would tell new files wrong */
			cache_invalidate(x, path);
		} else {
			if (clear_existing(x, pfd, name, path, &was_whiteout, err) < 0)
				return -1;
			if (mkdirat(pfd, name, 0700) < 0)
				return lc_err_set(err, LC_ERR_SYS, errno, "mkdir '%s'", path);
		}
	}
	if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(pfd, name, mode, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set owner/mode of '%s'", path);
	need_fd = was_whiteout || archive_entry_xattr_count(e) > 0;
	if (need_fd) {
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
		if (set_xattrs(x, e, fd, path, NULL, err) < 0)
			return -1;
		/* "foo" whited out, then a dir "foo" in the same layer: nothing below shows through */
		if (was_whiteout && fsetxattr(fd, OVL_OPAQUE, "y", 1, 0) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "mark '%s' opaque", path);
	}
	dirtime_add(x, path, e);
	return 0;
}

/*
 * A regular file written whole (digest NULL: its content hash is unknown), when the store
 * dedups: one the pool has already becomes a link to the pool's copy now (before its bytes go
 * to disk); for the others the record says what names their pool object, and the commit's walk
 * adds them to the pool (lc_layer_manifest_build), off the extraction's path.
 */
static void share_file(struct xt *x, int pfd, const char *name, const char *digest, int64_t size,
		       uid_t uid, gid_t gid, mode_t mode, const struct timespec *mtime,
		       struct xattr_key *k, struct lc_fhash_val *v)
{
	char key[LC_POOL_NAME_SZ], xhex[LC_DIGEST_BUFSZ];

	/* an empty file has no bytes to share, and would gather links by the thousand */
	if (!x->pool || !digest || size == 0 || k->unshareable)
		return;
	if (k->h)
		lc_sha256_final(k->h, xhex);
	lc_pool_name(key, digest, mode, uid, gid, mtime, k->h ? xhex + 7 : NULL);
	lc_pool_link_copy(x->pool, pfd, name, key, true);
	v->share = true;
	v->mode = mode & 07777;
	v->uid = uid;
	v->gid = gid;
	v->sec = mtime->tv_sec;
	v->nsec = (uint32_t)mtime->tv_nsec;
	v->has_xattrs = k->h != NULL;
	if (k->h)
		memcpy(v->xattrs, xhex + 7, sizeof(v->xattrs));
}

/* The ref of pfd, a dir parent_fd returned (NULL: unknown, which makes no task). */
static struct dirref *dir_of(struct xt *x, int pfd)
{
	if (x->root && pfd == x->rootfd)
		return x->root;
	if (x->cache && pfd == x->cache_fd)
		return x->cache;
	return NULL;
}

/* A block of a worker's file: into its buffer, a gap as zeros. */
static int task_block(void *opaque, const struct lc_tar_block *b, struct lc_err **err)
{
	struct ftask *t = opaque;
	size_t size = t->size;

	if (b->off < 0 || (size_t)b->off > size || b->len > size - (size_t)b->off)
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "read '%s' from the tar: data past its size", t->path);
	/* a gap (not announced as sparse): zeros, as the seek past the end would give */
	if (b->off > b->end)
		memset(t->data + b->end, 0, (size_t)(b->off - b->end));
	memcpy(t->data + b->off, b->buf, b->len);
	return 0;
}

/*
 * A new regular file for a worker: its data read (and hashed) here, the rest queued. Only a
 * file whose name is new in the layer, without xattrs or holes, and small enough to hold.
 */
static int file_task(struct xt *x, struct archive *a, struct archive_entry *e, struct dirref *d,
		     const char *name, const char *path, uid_t uid, gid_t gid, mode_t mode,
		     struct lc_err **err)
{
	size_t len = strlen(path), size = (size_t)archive_entry_size(e);
	struct ftask *t = lc_xcalloc(1, sizeof(*t) + len + 1);
	struct lc_tar_data data;
	bool hole;

	memcpy(t->path, path, len + 1);
	t->name = t->path + (name - path);
	t->uid = uid;
	t->gid = gid;
	t->mode = mode;
	t->direct = !(mode & 07000) && !(mode & x->umask);
	t->chown = needs_chown(x, d, uid, gid);
	entry_times(e, t->ts);
	t->size = size;
	t->data = size ? lc_xmalloc(size) : NULL;
	if (x->ts)
		lc_tarsplit_file(x->ts, (uint64_t)archive_filter_bytes(a, 0), (uint64_t)size, path);
	/* hashed by the worker (the reader only copies the bytes) */
	if (lc_tar_read_data(a, NULL, task_block, t, &data, err, "read '%s' from the tar", path) <
	    0) {
		lc_xt_task_free(t);
		return -1;
	}
	hole = data.hole;
	if ((size_t)data.end < size) {
		hole = true;
		memset(t->data + data.end, 0, size - (size_t)data.end);
	}
	t->hole = hole;
	t->pool = x->pool && !hole;
	t->dir = dirref_get(d);
	lc_xt_name_add(x, path, true);
	lc_xt_submit(x, t);
	return 0;
}

struct file_out {
	int fd;
	const char *path;
};

/* A block of a file the reader writes: a gap is seeked over (a hole in the file). */
static int file_block(void *opaque, const struct lc_tar_block *b, struct lc_err **err)
{
	const struct file_out *f = opaque;

	if (b->off != b->end && lseek(f->fd, b->off, SEEK_SET) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "seek in '%s'", f->path);
	if (lc_store_sys_fail(LC_SYS_WRITE) < 0 || lc_write_all(f->fd, b->buf, b->len) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "write '%s'", f->path);
	return 0;
}

static int do_file(struct xt *x, struct archive *a, struct archive_entry *e, int pfd,
		   const char *name, const char *path, uid_t uid, gid_t gid, mode_t mode,
		   struct lc_err **err)
{
	struct dirref *d = dir_of(x, pfd);
	cleanup_close int fd = -1;
	cleanup_sha256 struct lc_sha256 *h = lc_sha256_new();
	char digest[LC_DIGEST_BUFSZ];
	struct timespec ts[2];
	struct lc_tar_data data; /* a sparse file: its holes are not hashed, its hash unknown */
	bool hole;
	/* created with its final mode when the umask keeps it whole (no fchmod); setuid and
	 * friends always come last, after the chown that would clear them */
	bool direct = !(mode & 07000) && !(mode & x->umask);
	bool chown = true;
	struct xattr_key xk = { 0 };
	struct lc_fhash_val v = { 0 };
	int rc = -1;

	if (x->n_workers && d && archive_entry_size(e) <= (int64_t)TASK_MAX_FILE &&
	    archive_entry_sparse_count(e) == 0 && archive_entry_xattr_count(e) == 0 &&
	    !lc_xt_name_find(x, path))
		return file_task(x, a, e, d, name, path, uid, gid, mode, err);
	lc_xt_name_add(x, path, false);
	for (int i = 0; i < 2 && fd < 0; i++) {
		if (lc_store_sys_fail(LC_SYS_OPEN) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", path);
		/* O_EXCL: never truncate or write through an existing inode (hard link, symlink) */
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    direct ? mode : 0600);
		if (fd < 0 && (errno != EEXIST || i == 1))
			return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", path);
		if (fd < 0 && clear_existing(x, pfd, name, path, NULL, err) < 0)
			return -1;
	}
	/* a new file is ours, in the dir's group when it is setgid: often the entry's owner */
	chown = !d || needs_chown(x, d, uid, gid);
	/* the tar-split record refers to this file for the data that follows (not a sparse
	 * one: its data in the tar is not the file's bytes; that stays in the record raw) */
	if (x->ts && archive_entry_sparse_count(e) == 0)
		lc_tarsplit_file(x->ts, (uint64_t)archive_filter_bytes(a, 0),
				 (uint64_t)archive_entry_size(e), path);
	/* the manifest's content hash, from the bytes in hand: no read back */
	if (lc_tar_read_data(a, h, file_block, &(struct file_out){ fd, path }, &data, err,
			     "read '%s' from the tar", path) < 0)
		return -1;
	hole = data.hole;
	/* a sparse file ending in a hole */
	if (archive_entry_size(e) > data.end) {
		hole = true;
		if (ftruncate(fd, archive_entry_size(e)) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "truncate '%s'", path);
	}
	if (!hole) {
		lc_sha256_final(h, digest);
		lc_fhash_val_set_digest(&v, digest);
	}
	/* chown before chmod: chown clears setuid/setgid */
	if ((chown && fchown(fd, uid, gid) < 0) || (!direct && fchmod(fd, mode) < 0))
		return lc_err_set(err, LC_ERR_SYS, errno, "set owner/mode of '%s'", path);
	if (set_xattrs(x, e, fd, path, &xk, err) < 0)
		goto out;
	entry_times(e, ts);
	if (futimens(fd, ts) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "set times of '%s'", path);
		goto out;
	}
	share_file(x, pfd, name, hole ? NULL : digest, data.end, uid, gid, mode, &ts[1], &xk, &v);
	if (rec_put(x, path, &v, err) < 0)
		goto out;
	rc = 0;
out:
	lc_sha256_free(xk.h);
	return rc;
}

/* Create a non-dir, non-file node with make(), replacing what is there. */
static int do_node(struct xt *x, struct archive_entry *e, int pfd, const char *name,
		   const char *path, uid_t uid, gid_t gid, mode_t mode, struct lc_err **err)
{
	const char *target = NULL;
	struct timespec ts[2];
	int r = -1;

	if (S_ISLNK(mode)) {
		target = archive_entry_symlink(e);
		if (!target)
			target = archive_entry_symlink_utf8(e);
		if (!target || !*target)
			return lc_err_set(err, LC_ERR_PROTO, 0, "symlink '%s' has no target", path);
		if (strlen(target) >= PATH_MAX)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "symlink '%s': target is longer than %d bytes, the limit "
					  "(PATH_MAX)",
					  path, PATH_MAX - 1);
	}
	for (int i = 0; i < 2; i++) {
		r = target ? symlinkat(target, pfd, name) : mknodat(pfd, name, S_IFIFO | 0600, 0);
		if (r == 0 || errno != EEXIST || i == 1)
			break;
		if (clear_existing(x, pfd, name, path, NULL, err) < 0)
			return -1;
	}
	if (r < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", path);
	if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set owner of '%s'", path);
	/* Linux has no lchmod: a symlink's mode is never set (it would follow the link). */
	if (!target && fchmodat(pfd, name, mode & 07777, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set mode of '%s'", path);
	entry_times(e, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set times of '%s'", path);
	return 0;
}

static int do_hardlink(struct xt *x, struct archive_entry *e, int pfd, const char *name,
		       const char *path, const char *raw_target, struct lc_err **err)
{
	char tpath[PATH_MAX];
	const char *tslash, *tname;
	cleanup_close int tpfd = -1;
	struct stat st;
	int r = -1;

	(void)e;
	if (norm_path(raw_target, tpath, sizeof(tpath), "hard link target", err) < 0)
		return lc_err_prefix(err, "hard link '%s'", path);
	if (!*tpath)
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "hard link '%s' points at the layer root",
				  path);
	if (!strcmp(tpath, path))
		return lc_err_set(err, LC_ERR_PROTO, 0, "hard link '%s' points at itself", path);
	/* the target must be there, and its record known */
	if ((lc_xt_name_find(x, tpath) & NAME_TASK) && lc_xt_drain(x, err) < 0)
		return -1;
	tslash = strrchr(tpath, '/');
	if (tslash) {
		tpath[tslash - tpath] = '\0';
		tpfd = walk_dirs(x->rootfd, tpath, false, NULL, NULL);
		if (tpfd < 0)
			return lc_err_set(err, LC_ERR_UNSAFE, errno,
					  "hard link '%s': target '%s' is not in the layer", path,
					  raw_target);
		tpath[tslash - tpath] = '/';
		tname = tslash + 1;
	} else {
		tname = tpath;
	}
	if (fstatat(tpfd >= 0 ? tpfd : x->rootfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_UNSAFE, errno,
				  "hard link '%s': target '%s' is not in the layer", path,
				  raw_target);
	if (S_ISDIR(st.st_mode))
		return lc_err_set(err, LC_ERR_UNSAFE, 0,
				  "hard link '%s': target '%s' is a directory", path, raw_target);
	for (int i = 0; i < 2; i++) {
		/* no AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself */
		r = linkat(tpfd >= 0 ? tpfd : x->rootfd, tname, pfd, name, 0);
		if (r == 0 || errno != EEXIST || i == 1)
			break;
		if (clear_existing(x, pfd, name, path, NULL, err) < 0)
			return -1;
	}
	if (r < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "hard link '%s' to '%s'", path, tpath);
	/* the same inode: the same content hash and pool object (none known: none recorded); the
	 * commit's share of one name finds the other already the pool's (lc_pool_share) */
	{
		struct lc_fhash_val v;

		if (rec_get(x, tpath, &v, err) < 0 || rec_put(x, path, &v, err) < 0)
			return -1;
	}
	return 0;
}

/* `.wh.*` entries: whiteouts, opaque markers, AUFS metadata. Returns 1 if name was one. */
static int do_whiteout(struct xt *x, const char *path, const char *parent, const char *name,
		       uid_t uid, gid_t gid, struct lc_err **err)
{
	const char *target = name + strlen(WH_PREFIX);
	int pfd;

	if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return 0;
	if (!strcmp(name, WH_OPAQUE)) {
		pfd = parent_fd(x, path, parent, err);
		if (pfd < 0)
			return -1;
		if (fsetxattr(pfd, OVL_OPAQUE, "y", 1, 0) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "mark '%s' opaque",
					  *parent ? parent : "/");
		return 1;
	}
	if (!strncmp(name, WH_META, strlen(WH_META)))
		return 1; /* AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not part of the image */
	if (!*target || !strcmp(target, ".") || !strcmp(target, ".."))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "invalid whiteout '%s'", path);
	pfd = parent_fd(x, path, parent, err);
	if (pfd < 0)
		return -1;
	{
		char wpath[PATH_MAX];

		if ((size_t)snprintf(wpath, sizeof(wpath), "%s%s%s", parent, *parent ? "/" : "",
				     target) < sizeof(wpath)) {
			if (lc_xt_name_find(x, wpath) && lc_xt_drain(x, err) < 0)
				return -1;
			lc_xt_name_add(x, wpath, false);
		}
	}
	/* Whiteouts hide the layers below, never this layer's own files: an existing target
	 * was created by this layer, and stays. */
	if (mknodat(pfd, target, S_IFCHR | 0000, makedev(0, 0)) < 0) {
		if (errno == EEXIST)
			return 1;
		return lc_err_set(err, LC_ERR_SYS, errno, "create whiteout for '%s'", path);
	}
	/* owned like the entry, as containerd does (the device is ours: just made, no follow) */
	if (fchownat(pfd, target, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set owner of whiteout '%s'", path);
	return 1;
}

static int do_entry(struct xt *x, struct archive *a, struct archive_entry *e, struct lc_err **err)
{
	char path[PATH_MAX], parent[PATH_MAX];
	const char *raw = archive_entry_pathname(e), *name, *slash, *hl;
	mode_t type = archive_entry_filetype(e);
	mode_t mode = archive_entry_perm(e) & 07777;
	int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	int pfd, r;

	if (!raw)
		raw = archive_entry_pathname_utf8(e);
	if (!raw)
		return lc_err_set(err, LC_ERR_PROTO, 0, "tar entry without a name");
	if (lc_xt_workers_error(x, err) < 0)
		return -1;
	if (++x->entries > x->max_entries)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "layer has more than %llu entries, the limit (raise it with "
				  "--max-layer-entries)",
				  (unsigned long long)x->max_entries);
	if (norm_path(raw, path, sizeof(path), "entry", err) < 0)
		return -1;
	if (uid < 0 || uid > MAX_UID || gid < 0 || gid > MAX_UID)
		return lc_err_set(err, LC_ERR_PROTO, 0, "entry '%s': invalid uid/gid", path);
	hl = archive_entry_hardlink(e);
	if (!hl)
		hl = archive_entry_hardlink_utf8(e);

	if (!*path) {
		/* "./": the layer root's own attributes */
		if (type != AE_IFDIR || hl)
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "entry '%s' replaces the layer root", raw);
		/* no worker creates a file while the root's owner and mode change */
		if (lc_xt_drain(x, err) < 0)
			return -1;
		if (fchown(x->rootfd, (uid_t)uid, (gid_t)gid) < 0 || fchmod(x->rootfd, mode) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno,
					  "set owner/mode of the layer root");
		if (x->root) {
			x->root->sgid = (mode & S_ISGID) != 0;
			x->root->gid = (gid_t)gid;
		}
		dirtime_add(x, "", e);
		return 0;
	}
	slash = strrchr(path, '/');
	name = slash ? slash + 1 : path;
	if (slash) {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	} else {
		parent[0] = '\0';
	}
	/* entries below AUFS metadata dirs are skipped, other `.wh.` parents are nonsense */
	for (const char *c = parent; *c;) {
		size_t n = strcspn(c, "/");

		if (!strncmp(c, WH_PREFIX, strlen(WH_PREFIX))) {
			if (!strncmp(c, WH_META, strlen(WH_META)))
				return 0;
			return lc_err_set(err, LC_ERR_UNSAFE, 0, "entry '%s' is below a whiteout",
					  path);
		}
		c += n;
		if (*c)
			c++;
	}
	/* a name seen before: what is there, or queued for a worker, is settled first */
	if (lc_xt_name_find(x, path) && lc_xt_drain(x, err) < 0)
		return -1;
	r = do_whiteout(x, path, parent, name, (uid_t)uid, (gid_t)gid, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (!hl && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK))
		return 0; /* devices are the host's business (mounts are nodev anyway) */
	if (!hl && type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK && type != AE_IFIFO)
		return lc_err_set(err, LC_ERR_PROTO, 0, "entry '%s' has an unknown type", path);
	if (!hl && type == AE_IFREG && archive_entry_size(e) < 0)
		return lc_err_set(err, LC_ERR_PROTO, 0, "entry '%s' has a negative size", path);
	pfd = parent_fd(x, path, parent, err);
	if (pfd < 0)
		return -1;
	if (hl)
		r = do_hardlink(x, e, pfd, name, path, hl, err);
	else if (type == AE_IFDIR)
		r = do_dir(x, e, pfd, name, path, (uid_t)uid, (gid_t)gid, mode, err);
	else if (type == AE_IFREG)
		r = do_file(x, a, e, pfd, name, path, (uid_t)uid, (gid_t)gid, mode, err);
	else
		r = do_node(x, e, pfd, name, path, (uid_t)uid, (gid_t)gid, type | mode, err);
	if (r < 0)
		return -1;
	if (hl || type != AE_IFREG) /* do_file adds its own */
		lc_xt_name_add(x, path, false);
	x->st.files++;
	return 0;
}

struct rd {
	lc_extract_read_fn fn;
	void *opaque;
	struct lc_tarsplit *ts;
	struct xt *x;
};

static la_ssize_t read_cb(struct archive *a, void *client, const void **buf)
{
	struct rd *rd = client;
	ssize_t n;

	/* the next chunk may not be there yet: workers are not left asleep on a few files */
	lc_xt_kick(rd->x);
	n = rd->fn(rd->opaque, buf);

	if (n < 0)
		archive_set_error(a, ECANCELED, "layer ingest cancelled");
	else if (rd->ts) { /* every byte, with where libarchive reads (what is settled) */
		int64_t at = archive_filter_bytes(a, 0);

		lc_tarsplit_feed(rd->ts, *buf, (size_t)n, at > 0 ? (uint64_t)at : 0);
	}
	return n;
}

static void set_dir_times(struct xt *x)
{
	/* best effort: a dir replaced later in the tar is skipped */
	for (size_t i = x->n_dirs; i-- > 0;) {
		struct dirtime *d = &x->dirs[i];
		const char *slash = strrchr(d->path, '/');

		if (!*d->path) {
			futimens(x->rootfd, d->ts);
		} else if (!slash) {
			utimensat(x->rootfd, d->path, d->ts, AT_SYMLINK_NOFOLLOW);
		} else {
			char parent[PATH_MAX];
			int fd;

			memcpy(parent, d->path, (size_t)(slash - d->path));
			parent[slash - d->path] = '\0';
			fd = lc_openat_beneath(x->rootfd, parent, O_RDONLY | O_DIRECTORY, 0);
			if (fd < 0)
				continue;
			utimensat(fd, slash + 1, d->ts, AT_SYMLINK_NOFOLLOW);
			close(fd);
		}
	}
}

/* The umask from /proc/self/status (reading it with umask(2) would race other threads). */
static mode_t process_umask(void)
{
	cleanup_free char *buf = NULL;
	const char *u;
	unsigned long v;
	char *end;

	if (lc_read_file_at(AT_FDCWD, "/proc/self/status", 64 << 10, &buf, NULL, NULL) < 0)
		return 0777;
	u = strstr(buf, "\nUmask:");
	if (!u)
		return 0777;
	v = strtoul(u + 8, &end, 8);
	if (end == u + 8 || v > 0777)
		return 0777;
	return (mode_t)v;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

int lc_extract_run(int layerfd, int scratchfd, const struct lc_pool *pool, struct lc_tarsplit *ts,
		   lc_extract_read_fn fn, void *opaque, uint64_t max_entries, char ***ret_implicit,
		   struct lc_extract_stats *ret_stats, struct lc_err **err)
{
	__attribute__((cleanup(archive_freep))) struct archive *a = archive_read_new();
	struct rd rd = { fn, opaque, ts, NULL };
	struct xt x = { .rootfd = layerfd,
			.cache_fd = -1,
			.max_entries = max_entries,
			.umask = process_umask(),
			.pool = pool,
			.ts = ts,
			.st.recs = lc_fhash_new(scratchfd) };
	struct archive_entry *e;
	int r = -1;

	if (!a) /* archive-dl.c: without the library there is no handle either */
		return lc_store_need_libarchive(err) < 0
			       ? -1
			       : lc_err_set(err, LC_ERR_SYS, ENOMEM, "libarchive");
	/* a default ACL inherited from above the store masks new files' modes: always fchmod */
	if (fgetxattr(layerfd, "system.posix_acl_default", NULL, 0) >= 0 || errno == ERANGE)
		x.umask = 0777;
	pthread_mutex_init(&x.wmu, NULL);
	pthread_mutex_init(&x.recs_mu, NULL);
	pthread_cond_init(&x.w_idle, NULL);
	x.fsuid = geteuid();
	x.fsgid = getegid();
	lc_xt_workers_start(&x);
	rd.x = &x;
	{
		int rfd = fcntl(layerfd, F_DUPFD_CLOEXEC, 3);

		if (rfd >= 0) /* else the files at the top are written here */
			x.root = dirref_new(&x, rfd);
	}
	/* tar (ustar, pax, gnu) only, and no filters: the bytes arrive inflated */
	archive_read_support_format_tar(a);
	if (archive_read_open(a, &rd, NULL, read_cb, NULL) != ARCHIVE_OK) {
		lc_err_set(err, LC_ERR_PROTO, archive_errno(a) == ECANCELED ? ECANCELED : 0,
			   "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		int h = archive_read_next_header(a, &e);

		if (h == ARCHIVE_EOF)
			break;
		if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
			lc_err_set(err, LC_ERR_PROTO, 0, "bad tar: %s", archive_error_string(a));
			goto out;
		}
		if (do_entry(&x, a, e, err) < 0)
			goto out;
	}
	/* every file is there before the dirs get their times */
	if (lc_xt_drain(&x, err) < 0)
		goto out;
	set_dir_times(&x);
	*ret_implicit = lc_xcalloc(x.implicit.n_order + 1, sizeof(char *));
	for (size_t i = 0, n = 0; i < x.implicit.n_order; i++) {
		struct sset_node *node = sset_find(&x.implicit, x.implicit.order[i]);

		if (node && node->live)
			(*ret_implicit)[n++] = lc_xstrdup(node->path);
	}
	*ret_stats = x.st;
	x.st.recs = NULL;
	r = 0;
out:
	lc_xt_workers_stop(&x); /* before what they use goes */
	lc_fhash_free(x.st.recs);
	cache_drop(&x);
	lc_xt_dirref_put(x.root);
	free(x.names);
	pthread_mutex_destroy(&x.wmu);
	pthread_mutex_destroy(&x.recs_mu);
	pthread_cond_destroy(&x.w_idle);
	sset_free(&x.implicit);
	for (size_t i = 0; i < x.n_dirs; i++)
		free(x.dirs[i].path);
	free(x.dirs);
	return r;
}

/*
 * 1 if an ancestor of path (not path itself) is an opaque dir in the layer at lowerfd: the
 * layers below that one cannot show path, so they must not lend it attributes either.
 */
static int opaque_ancestor(int lowerfd, const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, path, len + 1);
	for (char *slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
		cleanup_close int fd = -1;
		char v[2];

		*slash = '\0';
		fd = lc_openat_beneath(lowerfd, buf, O_RDONLY | O_DIRECTORY, 0);
		*slash = '/';
		if (fd < 0)
			return 0; /* absent here: nothing deeper is either */
		if (fgetxattr(fd, OVL_OPAQUE, v, sizeof(v)) == 1 && v[0] == 'y')
			return 1;
	}
	return 0;
}

int lc_extract_fix_implicit(int layerfd, char *const *implicit, const int *lowerfds,
			    size_t n_lowers, struct lc_err **err)
{
	for (size_t i = 0; implicit && implicit[i]; i++) {
		for (size_t l = 0; l < n_lowers; l++) {
			cleanup_close int lfd = -1;
			cleanup_close int fd = -1;
			struct stat st;

			lfd = lc_openat_beneath(lowerfds[l], implicit[i], O_PATH, 0);
			if (lfd < 0 && errno == ENOENT) {
				/* not in this lower: look further down, unless this one hides them */
				if (opaque_ancestor(lowerfds[l], implicit[i]))
					break;
				continue;
			}
			/* the topmost lower that has the path decides; only a dir lends attributes */
			if (lfd < 0 || fstat(lfd, &st) < 0 || !S_ISDIR(st.st_mode))
				break;
			fd = lc_openat_beneath(layerfd, implicit[i], O_RDONLY | O_DIRECTORY, 0);
			if (fd < 0)
				break; /* replaced later in the tar: nothing to fix */
			if (fchown(fd, st.st_uid, st.st_gid) < 0 ||
			    fchmod(fd, st.st_mode & 07777) < 0)
				return lc_err_set(err, LC_ERR_SYS, errno,
						  "copy attributes of '%s' from the layer below",
						  implicit[i]);
			break;
		}
	}
	return 0;
}
