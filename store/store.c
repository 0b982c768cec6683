/* SPDX-License-Identifier: MIT */
/*
 * store: open/layout, tmp/ sweeping, blobs, refs, containers and layer metadata. Everything
 * works relative to the store's dir fds; every publish is a rename from tmp/ (same filesystem).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "store-int.h"

#define REFS_FILE      "refs.json"
#define REFS_MAX       (16u << 20)
#define REF_NAME_MAX   1024
#define LAYER_JSON_MAX (64u << 10)
#define TAKE_RETRIES   10
#define TAKE_RETRY_NS  (2 * 1000 * 1000) /* 10 x 2 ms: longer than any probe holds it */

/* ---------- fault injection ---------- */

static struct {
	int which;
	unsigned nth;  /* the last call that fails; 0: disarmed */
	uint32_t also; /* the calls before it that fail too: bit 0 the first */
	int err_no;
	unsigned count;
} fault;

void lc_store_fault_arm(enum lc_store_sys which, unsigned nth, int err_no)
{
	lc_store_fault_arm_calls(which, nth, 0, err_no);
}

void lc_store_fault_arm_calls(enum lc_store_sys which, unsigned nth, uint32_t also, int err_no)
{
	__atomic_store_n(&fault.count, 0, __ATOMIC_SEQ_CST);
	fault.which = (int)which;
	fault.err_no = err_no;
	fault.also = also;
	__atomic_store_n(&fault.nth, nth, __ATOMIC_SEQ_CST);
}

void lc_store_fault_disarm(void)
{
	__atomic_store_n(&fault.nth, 0, __ATOMIC_SEQ_CST);
}

int lc_store_sys_fail(enum lc_store_sys which)
{
	unsigned nth = __atomic_load_n(&fault.nth, __ATOMIC_RELAXED), count;

	if (!nth || (fault.which != LC_SYS_ANY && fault.which != (int)which))
		return 0;
	count = __atomic_add_fetch(&fault.count, 1, __ATOMIC_SEQ_CST);
	if (count != nth && !(count < nth && count <= 32 && (fault.also >> (count - 1)) & 1))
		return 0;
	errno = fault.err_no;
	return -1;
}

/* ---------- open ---------- */

char *lc_store_default_root(void)
{
	const char *e = getenv("LAYERCTL_ROOT");
	const char *home;

	if (e && *e)
		return lc_xstrdup(e);
	if (geteuid() == 0)
		return lc_xstrdup("/var/lib/layerctl");
	e = getenv("XDG_DATA_HOME");
	if (e && *e == '/')
		return lc_xasprintf("%s/layerctl", e);
	home = getenv("HOME");
	if (home && *home == '/')
		return lc_xasprintf("%s/.local/share/layerctl", home);
	return NULL;
}

const char *lc_store_root(const struct lc_store *s)
{
	return s->root;
}

int lc_store_rootfd(const struct lc_store *s)
{
	return s->rootfd;
}

int lc_store_lock_at(int dirfd, const char *name, bool block, struct lc_err **err)
{
	for (;;) {
		cleanup_close int fd =
			openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct stat a, b;

		if (fd < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open lock '%s'", name);
		while (flock(fd, LOCK_EX | (block ? 0 : LOCK_NB)) < 0) {
			if (errno == EINTR)
				continue;
			return lc_err_set(err, errno == EWOULDBLOCK ? LC_ERR_EXISTS : LC_ERR_SYS,
					  errno, "lock '%s'", name);
		}
		/* gc unlinked the file we waited on: lock the one at the name now */
		if (fstat(fd, &a) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "lock '%s'", name);
		if (fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return lc_err_set(err, LC_ERR_SYS, errno, "lock '%s'", name);
			continue;
		}
		if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return TAKE_FD(fd);
	}
}

/* An entry of dir whose owner died (nobody holds its flock): remove it. Best effort. */
static void sweep_dir(int dirfd, const char *const *keep)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int rfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (rfd < 0)
		return;
	d = fdopendir(rfd);
	if (!d) {
		close(rfd);
		return;
	}
	while ((de = readdir(d))) {
		cleanup_close int fd = -1;
		struct stat a, b;
		struct lc_err *err = NULL;
		bool skip = false;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (size_t i = 0; keep && keep[i]; i++)
			if (!strcmp(de->d_name, keep[i]))
				skip = true;
		if (skip)
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			/* a symlink or a device nobody should have put here */
			if (errno == ELOOP || errno == ENXIO)
				unlinkat(dirfd, de->d_name, 0);
			continue;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a live owner */
		if (fstat(fd, &a) < 0 || fstatat(dirfd, de->d_name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			continue;
		/* a pull's ingest file is for the next pull to resume from, for a day */
		if (!strncmp(de->d_name, LC_PARTIAL_PREFIX, strlen(LC_PARTIAL_PREFIX)) &&
		    S_ISREG(a.st_mode) && a.st_mtime > time(NULL) - LC_PARTIAL_MAX_AGE)
			continue;
		lc_rm_rf_at(dirfd, de->d_name, &err);
		lc_err_free(err);
	}
}

int lc_store_tmp_create(struct lc_store *s, const char *prefix, bool dir, char **ret_name,
			struct lc_err **err)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		char rnd[17];
		cleanup_free char *name = NULL;
		cleanup_close int fd = -1;
		struct stat a, b;

		lc_random_hex(rnd, 16);
		name = lc_xasprintf("%s-%s", prefix, rnd);
		if (dir) {
			if (mkdirat(s->tmpfd, name, 0700) < 0)
				return lc_err_set(err, LC_ERR_SYS, errno, "mkdir 'tmp/%s'", name);
			fd = openat(s->tmpfd, name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		} else if (lc_store_sys_fail(LC_SYS_OPEN) < 0) {
			fd = -1;
		} else {
			fd = openat(s->tmpfd, name,
				    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* swept under our feet */
			return lc_err_set(err, LC_ERR_SYS, errno, "create 'tmp/%s'", name);
		}
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return lc_err_set(err, LC_ERR_SYS, errno, "lock 'tmp/%s'", name);
		/* A sweep may have locked and removed it between the create and our flock. */
		if (fstat(fd, &a) < 0 || fstatat(s->tmpfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			continue;
		*ret_name = TAKE_PTR(name);
		return TAKE_FD(fd);
	}
	return lc_err_set(err, LC_ERR_SYS, EAGAIN, "create a temp entry in 'tmp/'");
}

int lc_store_spool_create(struct lc_store *s, const char *prefix, char **ret_name,
			  struct lc_err **err)
{
	return lc_store_tmp_create(s, prefix, true, ret_name, err);
}

void lc_store_spool_remove(struct lc_store *s, const char *name)
{
	struct lc_err *e = NULL;

	lc_rm_rf_at(s->tmpfd, name, &e);
	lc_err_free(e);
}

void lc_store_close(struct lc_store *s)
{
	if (!s)
		return;
	lc_store_lease_release(s);
	free(s->root);
	if (s->rootfd >= 0)
		close(s->rootfd);
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	if (s->layersfd >= 0)
		close(s->layersfd);
	if (s->blobsfd >= 0)
		close(s->blobsfd);
	if (s->objectsfd >= 0)
		close(s->objectsfd);
	for (size_t i = 0; i < s->n_owned; i++)
		close(s->owned[i].fd);
	free(s->owned);
	free(s);
}

static void store_freep(struct lc_store **s)
{
	lc_store_close(*s);
}

static int open_sub(struct lc_store *s, const char *sub, dev_t dev, struct lc_err **err)
{
	struct stat st;
	int fd;

	if (lc_mkdir_p_at(s->rootfd, sub, 0700, err) < 0)
		return lc_err_prefix(err, "store '%s'", s->root);
	fd = openat(s->rootfd, sub, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "store '%s': open '%s'", s->root, sub);
	if (fstat(fd, &st) < 0 || st.st_dev != dev) {
		close(fd);
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "store '%s': '%s' is on another filesystem (commits are renames)",
				  s->root, sub);
	}
	return fd;
}

/*
 * Refuse a store another user could swap under us: a root they own, or an ancestor they can
 * write (others-writable, or writable by a group not ours, without the sticky bit) or own
 * (they could rename the store away and put theirs in its place between two of our calls).
 * abs is the resolved path, st the root's stat.
 */
/* The root lc_store_vouch checked from outside a rootless user namespace. */
static char vouched[PATH_MAX];

static int check_root_safe(const char *abs, const struct stat *st, struct lc_err **err)
{
	char path[PATH_MAX];
	uid_t me = geteuid();

	/* its parents' owners were checked as the host knows them (inside, root is nobody) */
	if (vouched[0] && strcmp(abs, vouched) == 0)
		return 0;

	if (st->st_uid != me)
		return lc_err_set(
			err, LC_ERR_UNSAFE, 0,
			"refusing store '%s': it is owned by uid %u, not by you (uid %u), "
			"who could swap what it holds; use a --root of your own",
			abs, (unsigned)st->st_uid, (unsigned)me);
	snprintf(path, sizeof(path), "%s", abs);
	for (char *slash = strrchr(path, '/'); slash; slash = strrchr(path, '/')) {
		struct stat pst;
		const char *why = NULL;

		if (slash == path)
			slash[1] = '\0'; /* "/" itself */
		else
			*slash = '\0';
		if (stat(path, &pst) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", path);
		if (pst.st_uid != 0 && pst.st_uid != me)
			why = "is owned by another user";
		else if (!(pst.st_mode & S_ISVTX) && (pst.st_mode & S_IWOTH))
			why = "is writable by every user and not sticky";
		else if (!(pst.st_mode & S_ISVTX) && (pst.st_mode & S_IWGRP) && pst.st_gid != 0 &&
			 pst.st_gid != getegid())
			why = "is writable by another group and not sticky";
		if (why)
			return lc_err_set(
				err, LC_ERR_UNSAFE, 0,
				"refusing store '%s': its parent '%s' %s (uid %u, gid %u, "
				"mode %04o), so another user could swap the store; use a "
				"--root whose parents only you or root can write",
				abs, path, why, (unsigned)pst.st_uid, (unsigned)pst.st_gid,
				(unsigned)(pst.st_mode & 07777));
		if (slash == path)
			break;
	}
	return 0;
}

/*
 * The store root made (private; its parents ordinary dirs), resolved into abs and opened
 * (*rfd, *st) and found safe (check_root_safe): what lc_store_vouch and lc_store_open share.
 */
static int root_open(const char *root, char abs[PATH_MAX], int *rfd, struct stat *st,
		     struct lc_err **err)
{
	if (!root || !*root)
		return lc_err_set(err, LC_ERR_INVALID, 0, "empty store root");
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		if (errno != ENOENT)
			return lc_err_set(err, LC_ERR_SYS, errno, "create store '%s'", root);
		/* parents are ordinary dirs; only the root itself is private */
		if (lc_mkdir_p_at(AT_FDCWD, root, 0755, err) < 0)
			return lc_err_prefix(err, "create store");
	}
	if (!realpath(root, abs))
		return lc_err_set(err, LC_ERR_SYS, errno, "store '%s'", root);
	*rfd = open(abs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*rfd < 0 || fstat(*rfd, st) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open store '%s'", abs);
	return check_root_safe(abs, st, err);
}

int lc_store_vouch(const char *root, char **ret_abs, struct lc_err **err)
{
	cleanup_close int rfd = -1;
	char abs[PATH_MAX];
	struct stat st;

	if (root_open(root, abs, &rfd, &st, err) < 0)
		return -1;
	if ((st.st_mode & 077) && fchmod(rfd, 0700) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chmod store '%s'", abs);
	snprintf(vouched, sizeof(vouched), "%s", abs);
	*ret_abs = lc_xstrdup(abs);
	return 0;
}

int lc_store_open(const char *root, struct lc_store **ret, struct lc_err **err)
{
	__attribute__((cleanup(store_freep))) struct lc_store *s = NULL;
	/* blobs/, layers/, tmp/ and tmp/trash/ are made by the open_sub()s that keep their fd */
	static const char *const subs[] = { "l", "refs", "containers", "tmp/locks" };
	static const char *const keep[] = { "locks", "trash", NULL };
	cleanup_close int rfd = -1;
	cleanup_close int trashfd = -1;
	char abs[PATH_MAX];
	struct stat st;

	if (root_open(root, abs, &rfd, &st, err) < 0)
		return -1;
	/* Keep the store private: layers hold setuid files and devices of untrusted images. */
	if ((st.st_mode & 077) && st.st_uid == geteuid() && fchmod(rfd, 0700) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chmod store '%s'", abs);

	s = lc_xcalloc(1, sizeof(*s));
	s->rootfd = s->tmpfd = s->layersfd = s->blobsfd = s->leasefd = s->objectsfd = -1;
	s->root = lc_xstrdup(abs);
	s->rootfd = openat(rfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open store '%s'", abs);
	for (size_t i = 0; i < LC_ARRAY_SIZE(subs); i++) {
		int fd = open_sub(s, subs[i], st.st_dev, err);

		if (fd < 0)
			return -1;
		close(fd);
	}
	if ((s->blobsfd = open_sub(s, "blobs/sha256", st.st_dev, err)) < 0 ||
	    (s->layersfd = open_sub(s, "layers/sha256", st.st_dev, err)) < 0 ||
	    (s->tmpfd = open_sub(s, "tmp", st.st_dev, err)) < 0 ||
	    (trashfd = open_sub(s, "tmp/trash", st.st_dev, err)) < 0 ||
	    (s->objectsfd = open_sub(s, "objects", st.st_dev, err)) < 0)
		return -1;
	if (lc_store_settings_load(s->rootfd, &s->settings, err) < 0)
		return lc_err_prefix(err, "store '%s'", abs);
	sweep_dir(s->tmpfd, keep);
	sweep_dir(trashfd, NULL);
	*ret = TAKE_PTR(s);
	return 0;
}

/* ---------- blobs ---------- */

/* 1 if dirfd holds <hex of digest> as an entry of the given type (S_IFREG, S_IFDIR), else 0 */
static int digest_entry_is(int dirfd, const char *digest, mode_t type)
{
	struct stat st;

	if (!lc_digest_valid(digest))
		return 0;
	return fstatat(dirfd, lc_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (st.st_mode & S_IFMT) == type;
}

int lc_store_blob_has(struct lc_store *s, const char *digest)
{
	return digest_entry_is(s->blobsfd, digest, S_IFREG);
}

int lc_store_blob_put(struct lc_store *s, const char *digest, const void *data, size_t len,
		      struct lc_err **err)
{
	char got[LC_DIGEST_BUFSZ];
	cleanup_free char *name = NULL;
	cleanup_close int fd = -1;

	if (lc_digest_check(digest, err) < 0)
		return -1;
	lc_sha256_buf(data, len, got);
	if (strcmp(got, digest) != 0)
		return lc_err_set(err, LC_ERR_DIGEST, 0,
				  "blob: digest mismatch: expected %s, got %s", digest, got);
	if (lc_store_blob_has(s, digest))
		return 0;
	fd = lc_store_tmp_create(s, "blob", false, &name, err);
	if (fd < 0)
		return lc_err_prefix(err, "blob %s", digest);
	if (lc_store_sys_fail(LC_SYS_WRITE) < 0 || lc_write_all(fd, data, len) < 0 ||
	    fchmod(fd, 0444) < 0 || lc_store_sys_fail(LC_SYS_SYNC) < 0 || fsync(fd) < 0 ||
	    lc_store_sys_fail(LC_SYS_RENAME) < 0 ||
	    renameat(s->tmpfd, name, s->blobsfd, lc_digest_hex(digest)) < 0) {
		int e = errno;

		if (name) /* always set with fd; gcc's analyzer cannot tell */
			unlinkat(s->tmpfd, name, 0);
		return lc_err_set(err, LC_ERR_SYS, e, "blob %s: publish", digest);
	}
	return 0;
}

int lc_store_blob_lock(struct lc_store *s, const char *digest, struct lc_err **err)
{
	cleanup_free char *name = NULL;

	if (lc_digest_check(digest, err) < 0)
		return -1;
	/* "blob-": a layer's lock is named by its chain id, which can equal a blob digest */
	name = lc_xasprintf("locks/blob-%s.lock", lc_digest_hex(digest));
	return lc_store_lock_at(s->tmpfd, name, true, err);
}

int lc_store_blob_drop(struct lc_store *s, const char *digest, struct lc_err **err)
{
	if (lc_digest_check(digest, err) < 0)
		return -1;
	if (unlinkat(s->blobsfd, lc_digest_hex(digest), 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove damaged blob %s", digest);
	return 0;
}

int lc_store_blob_get(struct lc_store *s, const char *digest, size_t max, char **ret,
		      size_t *ret_len, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	char got[LC_DIGEST_BUFSZ];
	size_t len;

	if (lc_digest_check(digest, err) < 0)
		return -1;
	if (lc_read_file_at(s->blobsfd, lc_digest_hex(digest), max, &buf, &len, err) < 0)
		return lc_err_prefix(err, "blob %s", digest);
	lc_sha256_buf(buf, len, got);
	if (strcmp(got, digest) != 0)
		return lc_err_set(err, LC_ERR_DIGEST, 0,
				  "blob %s is corrupt: its content hashes to %s", digest, got);
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* ---------- refs ---------- */

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static void ref_clear(struct lc_store_ref *r)
{
	free(r->name);
	free(r->digest);
	free(r->manifest);
	free(r->config);
}

void lc_store_ref_free(struct lc_store_ref *r)
{
	if (!r)
		return;
	ref_clear(r);
	free(r);
}

void lc_store_ref_list_free(struct lc_store_ref *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		ref_clear(&v[i]);
	free(v);
}

static int ref_name_check(const char *name, struct lc_err **err)
{
	if (!name || !*name)
		return lc_err_set(err, LC_ERR_INVALID, 0, "empty image name");
	if (strlen(name) > REF_NAME_MAX)
		return lc_err_set(err, LC_ERR_INVALID, 0, "image name too long");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return lc_err_set(err, LC_ERR_INVALID, 0, "invalid image name '%.80s'",
					  name);
	return 0;
}

/* Load refs/refs.json (an empty object when absent). The caller holds the lock to write. */
static json_t *refs_load(struct lc_store *s, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	struct lc_err *e = NULL;
	size_t len;
	json_t *j, *refs;

	if (lc_read_file_at(s->rootfd, "refs/" REFS_FILE, REFS_MAX, &buf, &len, &e) < 0) {
		if (e->code != LC_ERR_NOTFOUND) {
			lc_err_move(err, &e);
			return NULL;
		}
		lc_err_free(e);
		return json_pack("{s:{}}", "refs");
	}
	j = lc_json_parse(buf, len, "refs/" REFS_FILE, err);
	if (!j)
		return NULL;
	refs = json_object_get(j, "refs");
	if (!json_is_object(refs)) {
		json_decref(j);
		lc_err_set(err, LC_ERR_PROTO, 0, "refs/" REFS_FILE ": no \"refs\" object");
		return NULL;
	}
	return j;
}

static int refs_save(struct lc_store *s, json_t *j, struct lc_err **err)
{
	cleanup_free char *txt = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));

	if (!txt)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "serialize refs");
	return lc_write_file_atomic_at(s->rootfd, "refs/" REFS_FILE, txt, strlen(txt), 0600, err);
}

static int ref_from_json(const char *name, json_t *o, struct lc_store_ref *r, struct lc_err **err)
{
	const char *f[3] = { "digest", "manifest", "config" };
	char **dst[3] = { &r->digest, &r->manifest, &r->config };

	memset(r, 0, sizeof(*r));
	r->name = lc_xstrdup(name);
	for (size_t i = 0; i < 3; i++) {
		const char *v = json_string_value(json_object_get(o, f[i]));

		if (v && lc_digest_check(v, err) < 0)
			return lc_err_prefix(err, "ref '%s'", name);
		*dst[i] = v ? lc_xstrdup(v) : NULL;
	}
	return 0;
}

int lc_store_ref_set(struct lc_store *s, const struct lc_store_ref *ref, struct lc_err **err)
{
	cleanup_close int lock = -1;
	cleanup_json json_t *j = NULL;
	json_t *o;

	if (ref_name_check(ref->name, err) < 0)
		return -1;
	if ((ref->digest && lc_digest_check(ref->digest, err) < 0) ||
	    (ref->manifest && lc_digest_check(ref->manifest, err) < 0) ||
	    (ref->config && lc_digest_check(ref->config, err) < 0))
		return lc_err_prefix(err, "ref '%s'", ref->name);
	lock = lc_store_lock_at(s->rootfd, "refs/lock", true, err);
	if (lock < 0)
		return -1;
	j = refs_load(s, err);
	if (!j)
		return -1;
	o = json_object();
	if (ref->digest)
		json_object_set_new(o, "digest", json_string(ref->digest));
	if (ref->manifest)
		json_object_set_new(o, "manifest", json_string(ref->manifest));
	if (ref->config)
		json_object_set_new(o, "config", json_string(ref->config));
	json_object_set_new(json_object_get(j, "refs"), ref->name, o);
	if (refs_save(s, j, err) < 0)
		return lc_err_prefix(err, "set ref '%s'", ref->name);
	return 0;
}

int lc_store_ref_get(struct lc_store *s, const char *name, struct lc_store_ref **ret,
		     struct lc_err **err)
{
	cleanup_json json_t *j = refs_load(s, err);
	struct lc_store_ref *r;
	json_t *o;

	if (!j)
		return -1;
	o = json_object_get(json_object_get(j, "refs"), name);
	if (!json_is_object(o))
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "no such image '%s'", name);
	r = lc_xcalloc(1, sizeof(*r));
	if (ref_from_json(name, o, r, err) < 0) {
		lc_store_ref_free(r);
		return -1;
	}
	*ret = r;
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lc_store_ref *)a)->name,
		      ((const struct lc_store_ref *)b)->name);
}

int lc_store_ref_list(struct lc_store *s, struct lc_store_ref **ret, size_t *ret_n,
		      struct lc_err **err)
{
	cleanup_json json_t *j = refs_load(s, err);
	struct lc_store_ref *v;
	const char *k;
	json_t *o, *refs;
	size_t n = 0;

	if (!j)
		return -1;
	refs = json_object_get(j, "refs");
	v = lc_xcalloc(json_object_size(refs) + 1, sizeof(*v));
	json_object_foreach(refs, k, o)
	{
		if (!json_is_object(o))
			continue;
		if (ref_from_json(k, o, &v[n], err) < 0) {
			lc_store_ref_list_free(v, n + 1);
			return -1;
		}
		n++;
	}
	qsort(v, n, sizeof(*v), ref_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

int lc_store_ref_remove(struct lc_store *s, const char *name, struct lc_err **err)
{
	cleanup_close int lock = -1;
	cleanup_json json_t *j = NULL;

	lock = lc_store_lock_at(s->rootfd, "refs/lock", true, err);
	if (lock < 0)
		return -1;
	j = refs_load(s, err);
	if (!j)
		return -1;
	if (json_object_del(json_object_get(j, "refs"), name) < 0)
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "no such image '%s'", name);
	if (refs_save(s, j, err) < 0)
		return lc_err_prefix(err, "remove ref '%s'", name);
	return 0;
}

/* ---------- layer metadata ---------- */

int lc_store_layer_has(struct lc_store *s, const char *chainid)
{
	char name[LC_DIGEST_BUFSZ + 8];
	struct stat st;

	/* commit writes the metadata and the link before the dir: a dir without them is damage */
	if (!digest_entry_is(s->layersfd, chainid, S_IFDIR))
		return 0;
	snprintf(name, sizeof(name), "%s.json", lc_digest_hex(chainid));
	if (fstatat(s->layersfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0)
		return 0;
	snprintf(name, sizeof(name), "l/%.*s", LC_LAYER_SHORT_ID_LEN, lc_digest_hex(chainid));
	return fstatat(s->rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

int lc_store_layer_evict(struct lc_store *s, const char *chainid, struct lc_err **err)
{
	char rnd[33];
	cleanup_close int trashfd = -1;

	if (!digest_entry_is(s->layersfd, chainid, S_IFDIR))
		return 0;
	trashfd = openat(s->rootfd, "tmp/trash", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (trashfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'tmp/trash'");
	/* nobody locks it there: the next sweep removes it, never this pull's unpack */
	lc_random_hex(rnd, 32);
	if (lc_store_sys_fail(LC_SYS_RENAME) < 0 ||
	    renameat(s->layersfd, lc_digest_hex(chainid), trashfd, rnd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "move damaged layer %s to trash",
				  chainid);
	return 0;
}

void lc_layer_info_free(struct lc_layer_info *i)
{
	if (!i)
		return;
	free(i->chainid);
	free(i->diff_id);
	free(i->digest);
	free(i->link);
	free(i);
}

int lc_store_layer_info(struct lc_store *s, const char *chainid, struct lc_layer_info **ret,
			struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	cleanup_free char *name = NULL;
	cleanup_json json_t *j = NULL;
	struct lc_layer_info *i;
	const char *cid, *did, *dg, *link;
	size_t len;

	if (lc_digest_check(chainid, err) < 0)
		return -1;
	if (!lc_store_layer_has(s, chainid))
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "layer %s is not in the store", chainid);
	name = lc_xasprintf("%s.json", lc_digest_hex(chainid));
	if (lc_read_file_at(s->layersfd, name, LAYER_JSON_MAX, &buf, &len, err) < 0)
		return lc_err_prefix(err, "layer %s", chainid);
	j = lc_json_parse(buf, len, "layer metadata", err);
	if (!j)
		return lc_err_prefix(err, "layer %s", chainid);
	cid = json_string_value(json_object_get(j, "chainid"));
	did = json_string_value(json_object_get(j, "diff_id"));
	dg = json_string_value(json_object_get(j, "digest"));
	link = json_string_value(json_object_get(j, "link"));
	if (!cid || strcmp(cid, chainid) != 0 || !lc_digest_valid(did) || !lc_digest_valid(dg) ||
	    !link)
		return lc_err_set(err, LC_ERR_PROTO, 0, "layer %s: corrupt metadata '%s'", chainid,
				  name);
	i = lc_xcalloc(1, sizeof(*i));
	i->chainid = lc_xstrdup(cid);
	i->diff_id = lc_xstrdup(did);
	i->digest = lc_xstrdup(dg);
	i->link = lc_xstrdup(link);
	i->size = json_integer_value(json_object_get(j, "size"));
	i->unpacked = json_integer_value(json_object_get(j, "unpacked"));
	i->files = (uint64_t)json_integer_value(json_object_get(j, "files"));
	*ret = i;
	return 0;
}

/* ---------- containers ---------- */

int lc_store_container_create(struct lc_store *s, char **ret_id, char **ret_dir,
			      struct lc_err **err)
{
	static const struct {
		const char *name;
		mode_t mode;
	} subs[] = { { "upper", 0755 }, { "work", 0700 }, { "merged", 0755 } };
	char id[65];
	cleanup_free char *name = NULL;
	cleanup_close int fd = -1;
	cleanup_close int cfd = -1;
	struct lc_err *ign = NULL;

	/*
	 * Built in tmp/ under its flock, then renamed into containers/: a container dir is
	 * always whole and always locked by its owner, so one nobody locks is stale.
	 */
	lc_random_hex(id, 64);
	cfd = openat(s->rootfd, "containers", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'containers'");
	fd = lc_store_tmp_create(s, "container", true, &name, err);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < LC_ARRAY_SIZE(subs); i++) {
		/* mkdirat applies the umask; the upper's root mode is the container's / mode */
		if (mkdirat(fd, subs[i].name, 0700) < 0 ||
		    fchmodat(fd, subs[i].name, subs[i].mode, 0) < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "create container '%s'", subs[i].name);
			goto fail;
		}
	}
	if (fchmod(fd, 0700) < 0 || renameat(s->tmpfd, name, cfd, id) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "create container dir");
		goto fail;
	}
	s->owned = lc_xrealloc(s->owned, (s->n_owned + 1) * sizeof(*s->owned));
	snprintf(s->owned[s->n_owned].id, sizeof(s->owned[s->n_owned].id), "%s", id);
	s->owned[s->n_owned].no_sync = false;
	s->owned[s->n_owned++].fd = TAKE_FD(fd);
	*ret_id = lc_xstrdup(id);
	*ret_dir = lc_xasprintf("%s/containers/%s", s->root, id);
	return 0;
fail:
	lc_rm_rf_at(s->tmpfd, name, &ign);
	lc_err_free(ign);
	return -1;
}

static ssize_t owned_index(const struct lc_store *s, const char *id)
{
	for (size_t i = 0; i < s->n_owned; i++)
		if (!strcmp(s->owned[i].id, id))
			return (ssize_t)i;
	return -1;
}

static bool id_valid(const char *id)
{
	size_t n = 0;

	for (; id && id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == 64;
}

bool lc_store_container_id_valid(const char *id)
{
	return id_valid(id);
}

bool lc_store_container_owned(const struct lc_store *s, const char *id)
{
	return owned_index(s, id) >= 0;
}

int lc_store_container_take(struct lc_store *s, const char *id, struct lc_err **err)
{
	cleanup_close int fd = -1;
	cleanup_free char *path = NULL;

	if (!id_valid(id))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid container id '%.80s'",
				  id ? id : "");
	if (owned_index(s, id) >= 0)
		return 0;
	path = lc_xasprintf("containers/%s", id);
	fd = openat(s->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "container '%s'", id);
	/*
	 * Whoever asks whether it is in use (ps, wait, a run's sweep) holds its flock for an
	 * instant: a few short retries tell that from an owner, who holds it for as long as the
	 * container lives.
	 */
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if (errno != EWOULDBLOCK || tries == TAKE_RETRIES)
			return lc_err_set(err, errno == EWOULDBLOCK ? LC_ERR_EXISTS : LC_ERR_SYS,
					  errno, "container '%s' is in use", id);
		nanosleep(&(struct timespec){ .tv_nsec = TAKE_RETRY_NS }, NULL);
	}
	s->owned = lc_xrealloc(s->owned, (s->n_owned + 1) * sizeof(*s->owned));
	snprintf(s->owned[s->n_owned].id, sizeof(s->owned[s->n_owned].id), "%s", id);
	s->owned[s->n_owned].no_sync = false;
	s->owned[s->n_owned++].fd = TAKE_FD(fd);
	return 0;
}

void lc_store_container_release(struct lc_store *s, const char *id)
{
	ssize_t own = owned_index(s, id);

	if (own < 0)
		return;
	close(s->owned[own].fd);
	s->owned[own] = s->owned[--s->n_owned];
}

void lc_store_container_set_volatile(struct lc_store *s, const char *id)
{
	ssize_t i = owned_index(s, id);

	if (i >= 0)
		s->owned[i].no_sync = true;
}

int lc_store_container_write_at(struct lc_store *s, const char *id, int dfd, const char *name,
				const char *text, struct lc_err **err)
{
	ssize_t i = owned_index(s, id);

	if (i >= 0 && s->owned[i].no_sync)
		return lc_write_file_replace_at(dfd, name, text, strlen(text), 0600, err);
	return lc_write_file_atomic_at(dfd, name, text, strlen(text), 0600, err);
}

int lc_store_container_remove(struct lc_store *s, const char *id, struct lc_err **err)
{
	cleanup_close int cfd = -1;
	cleanup_close int fd = -1;
	cleanup_close int trashfd = -1;
	cleanup_dir DIR *d = NULL;
	cleanup_strv char **names = NULL;
	struct dirent *de;
	struct stat st, cst;
	char rnd[33];
	ssize_t own;

	if (!id_valid(id))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid container id '%.80s'",
				  id ? id : "");
	cfd = openat(s->rootfd, "containers", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	trashfd = openat(s->rootfd, "tmp/trash", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0 || trashfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open store dirs");
	fd = openat(cfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "container '%s'", id);
	if (fstat(fd, &cst) < 0 || fstatat(cfd, ".", &st, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "container '%s'", id);
	/* Refuse while anything is mounted on it or in its top level (merged/, a bind ...). */
	if (cst.st_dev != st.st_dev)
		return lc_err_set(err, LC_ERR_EXISTS, EBUSY, "container '%s' is still mounted", id);
	{
		int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (!(d = lc_fdopendir(dfd)))
			return lc_err_set(err, LC_ERR_SYS, errno, "container '%s'", id);
	}
	while ((de = readdir(d))) {
		struct stat cs;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &cs, AT_SYMLINK_NOFOLLOW) == 0 &&
		    cs.st_dev != cst.st_dev)
			return lc_err_set(err, LC_ERR_EXISTS, EBUSY,
					  "container '%s' is still mounted ('%s')", id, de->d_name);
		lc_strv_push(&names, de->d_name);
	}
	/*
	 * Hold the entry's flock while it sits in trash, so a sweep leaves our rm -rf alone. Ours
	 * is held already (by another fd: flock would wait for ourselves); someone else's is
	 * in use, not stale.
	 */
	own = owned_index(s, id);
	if (own < 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
		return lc_err_set(err, errno == EWOULDBLOCK ? LC_ERR_EXISTS : LC_ERR_SYS, errno,
				  "container '%s' is in use", id);
	lc_random_hex(rnd, 32);
	if (lc_store_sys_fail(LC_SYS_RENAME) < 0 || renameat(cfd, id, trashfd, rnd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "move container '%s' to trash", id);
	/*
	 * The entries just listed, one by one: files and empty dirs (upper/ and merged/ of a
	 * container that wrote nothing) go without a walk, work/ too once overlay's work/work is
	 * gone; whatever appeared meanwhile is found by the walk of the last resort.
	 */
	{
		cleanup_close int wfd =
			openat(fd, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (wfd >= 0)
			unlinkat(wfd, "work", AT_REMOVEDIR);
	}
	for (size_t i = 0; names && names[i]; i++)
		if (lc_rm_rf_at(fd, names[i], err) < 0)
			return lc_err_prefix(err, "remove container '%s'", id);
	if (unlinkat(trashfd, rnd, AT_REMOVEDIR) < 0 && lc_rm_rf_at(trashfd, rnd, err) < 0)
		return lc_err_prefix(err, "remove container '%s'", id);
	if (own >= 0) {
		close(s->owned[own].fd);
		s->owned[own] = s->owned[--s->n_owned];
	}
	return 0;
}

int lc_store_container_list_stale(struct lc_store *s, char ***ret_ids, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	cleanup_strv char **ids = NULL;
	struct dirent *de;
	int dfd;

	dfd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!(d = lc_fdopendir(dfd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'containers'");
	while ((errno = 0, de = readdir(d))) {
		cleanup_close int fd = -1;

		if (!id_valid(de->d_name) || owned_index(s, de->d_name) >= 0)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* whoever runs it holds its flock: a free lock is a container nobody owns */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			lc_strv_push(&ids, de->d_name);
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read 'containers'");
	if (!ids)
		ids = lc_xcalloc(1, sizeof(char *));
	*ret_ids = TAKE_PTR(ids);
	return 0;
}
