/* SPDX-License-Identifier: MIT */
/*
 * store: leases and garbage collection. Mark what refs (through their manifests and configs),
 * containers (config.json) and the leases of live processes reach; sweep the rest: layers
 * (renamed into tmp/trash, then deleted), blobs, and lock files nobody holds.
 *
 * Against a concurrent pull: the pull leases a digest (appends it to its tmp/lease-* file,
 * flocked for as long as it runs) before it looks for the object, holding tmp/locks/gc.lock
 * shared; gc reads the leases and removes what they do not name while holding gc.lock
 * exclusively. Either gc removed the object before the lease (the pull then finds it missing
 * and fetches it) or it sees the lease and keeps it. A layer being ingested is skipped: its
 * chain id lock is held.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <jansson.h>

#include "store-int.h"

#define GC_LOCK	       "locks/gc.lock"
#define LEASE_PREFIX   "lease-"
#define LEASE_MAX      (16u << 20)
#define SHORT_ID_LEN   26
#define LAYER_JSON_MAX (64u << 10)

/* gc.lock, shared (leases) or exclusive (gc); never unlinked, so no identity check. */
static int gc_lock(struct lc_store *s, int how, struct lc_err **err)
{
	cleanup_close int fd =
		openat(s->tmpfd, GC_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'tmp/" GC_LOCK "'");
	while (flock(fd, how) < 0)
		if (errno != EINTR)
			return lc_err_set(err, LC_ERR_SYS, errno, "lock 'tmp/" GC_LOCK "'");
	return TAKE_FD(fd);
}

int lc_store_lease(struct lc_store *s, const char *digest, struct lc_err **err)
{
	cleanup_close int lock = -1;
	cleanup_free char *line = NULL;
	off_t end;

	if (lc_digest_check(digest, err) < 0)
		return -1;
	lock = gc_lock(s, LOCK_SH, err);
	if (lock < 0)
		return -1;
	if (s->leasefd < 0) {
		s->leasefd = lc_store_tmp_create(s, "lease", false, &s->lease_name, err);
		if (s->leasefd < 0)
			return lc_err_prefix(err, "lease");
	}
	line = lc_xasprintf("%s\n", digest);
	end = lseek(s->leasefd, 0, SEEK_END);
	if (end < 0 || pwrite(s->leasefd, line, strlen(line), end) != (ssize_t)strlen(line))
		return lc_err_set(err, LC_ERR_SYS, errno, "lease: write 'tmp/%s'", s->lease_name);
	return 0;
}

void lc_store_lease_release(struct lc_store *s)
{
	if (s->leasefd < 0)
		return;
	unlinkat(s->tmpfd, s->lease_name, 0);
	close(s->leasefd);
	s->leasefd = -1;
	free(s->lease_name);
	s->lease_name = NULL;
}

/* ---------- marking ---------- */

/* A set of digests (sorted vector, built then frozen). */
struct dset {
	char **v;
	size_t n;
};

static void dset_add(struct dset *d, const char *digest)
{
	if (!lc_digest_valid(digest))
		return;
	d->v = lc_xrealloc(d->v, (d->n + 1) * sizeof(char *));
	d->v[d->n++] = lc_xstrdup(digest);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dset_freeze(struct dset *d)
{
	if (d->n)
		qsort(d->v, d->n, sizeof(char *), strp_cmp);
}

static bool dset_has(const struct dset *d, const char *digest)
{
	return d->n && bsearch(&digest, d->v, d->n, sizeof(char *), strp_cmp);
}

static void dset_clear(struct dset *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

struct mark {
	struct dset blobs, layers;
	/* something we could not read may need any layer: sweep none */
	bool keep_layers;
	size_t broken_refs;
};

/* A ref: its blobs, and through its config the chain ids of its layers. */
static void mark_ref(struct lc_store *s, const struct lc_store_ref *r, struct mark *mk)
{
	cleanup_free char *mbuf = NULL, *cbuf = NULL;
	struct lc_manifest *m = NULL;
	struct lc_image_config *c = NULL;
	struct lc_err *e = NULL;
	size_t mlen, clen;
	char chain[LC_DIGEST_BUFSZ];

	dset_add(&mk->blobs, r->digest);
	dset_add(&mk->blobs, r->manifest);
	dset_add(&mk->blobs, r->config);
	if (!r->manifest || !r->config ||
	    lc_store_blob_get(s, r->manifest, LC_MAX_MANIFEST_SIZE, &mbuf, &mlen, &e) < 0 ||
	    lc_manifest_parse(mbuf, mlen, NULL, &m, &e) < 0 ||
	    lc_store_blob_get(s, r->config, LC_MAX_MANIFEST_SIZE, &cbuf, &clen, &e) < 0 ||
	    lc_image_config_parse(cbuf, clen, &c, &e) < 0) {
		lc_err_free(e);
		mk->keep_layers = true;
		mk->broken_refs++;
		goto out;
	}
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		lc_chainid(i ? chain : NULL, c->diff_ids[i], chain);
		dset_add(&mk->layers, chain);
	}
out:
	lc_manifest_free(m);
	lc_image_config_free(c);
}

static int mark_leases(struct lc_store *s, struct mark *mk, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'tmp'");
	while ((errno = 0, de = readdir(d))) {
		cleanup_free char *buf = NULL;
		struct lc_err *e = NULL;

		if (strncmp(de->d_name, LEASE_PREFIX, strlen(LEASE_PREFIX)) != 0)
			continue;
		/* a dead process's lease is debris, but reading it only keeps more */
		if (lc_read_file_at(fd, de->d_name, LEASE_MAX, &buf, NULL, &e) < 0) {
			if (e->code != LC_ERR_NOTFOUND)
				mk->keep_layers = true;
			lc_err_free(e);
			continue;
		}
		for (char *line = buf, *nl; *line; line = nl + 1) {
			nl = strchrnul(line, '\n');
			if (!*nl) {
				dset_add(&mk->blobs, line);
				dset_add(&mk->layers, line);
				break;
			}
			*nl = '\0';
			dset_add(&mk->blobs, line);
			dset_add(&mk->layers, line);
		}
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read 'tmp'");
	return 0;
}

/* Image mounts still mounted (a record whose dir is no mount point any more is stale). */
static int mark_mounts(struct lc_store *s, struct mark *mk, struct lc_err **err)
{
	struct lc_image_mount *m = NULL;
	size_t n = 0;

	if (lc_store_mount_list(s, &m, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct statx sx;

		if (statx(AT_FDCWD, m[i].dir, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0 ||
		    !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
			continue;
		dset_add(&mk->blobs, m[i].image_id);
		for (size_t l = 0; l < m[i].n_layers; l++)
			dset_add(&mk->layers, m[i].layers[l]);
	}
	lc_image_mount_list_free(m, n);
	return 0;
}

static int mark_all(struct lc_store *s, struct mark *mk, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	cleanup_strv char **ids = NULL;
	size_t n = 0;

	if (lc_store_ref_list(s, &refs, &n, err) < 0)
		return lc_err_prefix(err, "refs");
	for (size_t i = 0; i < n; i++)
		mark_ref(s, &refs[i], mk);
	lc_store_ref_list_free(refs, n);
	if (lc_store_container_list(s, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		struct lc_container_config *c = NULL;
		struct lc_err *e = NULL;

		/* no config (yet: run writes it right after creating the dir): keep every layer */
		if (lc_store_container_config_read(s, ids[i], &c, &e) < 0) {
			lc_err_free(e);
			mk->keep_layers = true;
			continue;
		}
		dset_add(&mk->blobs, c->image_id);
		for (size_t l = 0; l < c->n_layers; l++)
			dset_add(&mk->layers, c->layers[l]);
		lc_container_config_free(c);
	}
	if (mark_mounts(s, mk, err) < 0 || mark_leases(s, mk, err) < 0)
		return -1;
	dset_freeze(&mk->blobs);
	dset_freeze(&mk->layers);
	return 0;
}

/* ---------- sweeping ---------- */

static bool hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

static bool wanted(char *const *only, const char *digest)
{
	if (!only)
		return true;
	for (size_t i = 0; only[i]; i++)
		if (!strcmp(only[i], digest))
			return true;
	return false;
}

/* What removing the layer frees by itself: its bytes but those of the pool objects it links
 * (freed, when no other layer links them, by the pool's sweep, which counts them). */
static int64_t layer_bytes(struct lc_store *s, const char *chainid)
{
	struct lc_layer_info *li = NULL;
	struct lc_err *e = NULL;
	int64_t b = 0;

	if (lc_store_layer_info(s, chainid, &li, &e) == 0)
		b = li->unpacked - lc_layer_pooled_bytes(s, chainid);
	lc_layer_info_free(li);
	lc_err_free(e);
	return b > 0 ? b : 0;
}

/*
 * Remove one layer: under its chain id lock (skipped when an ingest holds it), the dir goes
 * into trash (named in *trash, deleted by the caller after gc.lock is released), then its
 * .json and its l/ link. 1 if removed, 0 if skipped.
 */
static int sweep_layer(struct lc_store *s, const char *hex, int trashfd, char ***trash,
		       struct lc_err **err)
{
	cleanup_free char *lockname = lc_xasprintf("locks/%s.lock", hex);
	cleanup_free char *json = lc_xasprintf("%s.json", hex);
	cleanup_free char *files = lc_xasprintf("%s.files", hex);
	cleanup_free char *objects = lc_xasprintf("%s.objects", hex);
	cleanup_free char *tarsplit = lc_xasprintf("%s.tarsplit", hex);
	cleanup_free char *link = lc_xasprintf("l/%.*s", SHORT_ID_LEN, hex);
	cleanup_free char *target = lc_xasprintf("../layers/sha256/%s", hex);
	cleanup_close int lock = -1;
	struct lc_err *e = NULL;
	char rnd[33], cur[256];
	ssize_t n;

	lock = lc_store_lock_at(s->tmpfd, lockname, false, &e);
	if (lock < 0) {
		bool busy = e->code == LC_ERR_EXISTS;

		if (busy) {
			lc_err_free(e);
			return 0;
		}
		return lc_err_move(err, &e);
	}
	lc_random_hex(rnd, 32);
	if (renameat(s->layersfd, hex, trashfd, rnd) == 0)
		lc_strv_push(trash, rnd);
	else if (errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "move layer sha256:%s to trash", hex);
	if (unlinkat(s->layersfd, json, 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove 'layers/sha256/%s'", json);
	if (unlinkat(s->layersfd, files, 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove 'layers/sha256/%s'", files);
	if (unlinkat(s->layersfd, objects, 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove 'layers/sha256/%s'", objects);
	if (unlinkat(s->layersfd, tarsplit, 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove 'layers/sha256/%s'", tarsplit);
	n = readlinkat(s->rootfd, link, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = '\0';
		if (!strcmp(cur, target))
			unlinkat(s->rootfd, link, 0);
	}
	/* the lock file goes too: nobody can need a lock on a layer that is gone */
	unlinkat(s->tmpfd, lockname, 0);
	return 1;
}

static int sweep_layers(struct lc_store *s, const struct mark *mk, char *const *only,
			struct lc_gc_result *res, char ***trash, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	cleanup_close int trashfd = -1;
	cleanup_strv char **names = NULL;
	struct dirent *de;
	int fd = openat(s->layersfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'layers/sha256'");
	trashfd = openat(s->tmpfd, "trash", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (trashfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'tmp/trash'");
	/* dirs and lone .json files (a commit that died between the two) */
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char hex[65];

		if (len == 64 + 5 && !strcmp(de->d_name + 64, ".json"))
			len = 64;
		else if (len != 64)
			continue;
		memcpy(hex, de->d_name, 64);
		hex[64] = '\0';
		if (!hex64(hex))
			continue;
		if (len == 64 && de->d_name[64] == '.') {
			/* a .json: only when its dir is gone */
			struct stat st;

			if (fstatat(s->layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
				continue;
		}
		lc_strv_push(&names, hex);
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read 'layers/sha256'");
	for (size_t i = 0; names && names[i]; i++) {
		cleanup_free char *cid = lc_xasprintf("sha256:%s", names[i]);
		int64_t bytes;
		int r;

		if (mk->keep_layers || dset_has(&mk->layers, cid) || !wanted(only, cid))
			continue;
		bytes = layer_bytes(s, cid);
		r = sweep_layer(s, names[i], trashfd, trash, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			lc_strv_push(&res->layers, cid);
			res->bytes += bytes;
		}
	}
	return 0;
}

static int sweep_blobs(struct lc_store *s, const struct mark *mk, char *const *only,
		       struct lc_gc_result *res, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->blobsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'blobs/sha256'");
	while ((errno = 0, de = readdir(d))) {
		cleanup_free char *dg = NULL;
		struct stat st;

		if (!hex64(de->d_name))
			continue;
		dg = lc_xasprintf("sha256:%s", de->d_name);
		if (dset_has(&mk->blobs, dg) || !wanted(only, dg))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) < 0) {
			if (errno == ENOENT)
				continue;
			return lc_err_set(err, LC_ERR_SYS, errno, "remove blob %s", dg);
		}
		lc_strv_push(&res->blobs, dg);
		res->bytes += (int64_t)st.st_blocks * 512;
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read 'blobs/sha256'");
	return 0;
}

/* Lock files in tmp/locks that nobody holds. A locker checks, once it holds the lock, that
 * the file is still the one at the name (lc_store_lock_at), so removing it is safe. */
static void sweep_locks(struct lc_store *s, struct lc_gc_result *res)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->tmpfd, "locks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return;
	while ((de = readdir(d))) {
		cleanup_close int lfd = -1;
		/* <chain id hex>.lock (layers) and blob-<hex>.lock (manifests, configs) */
		const char *h = strncmp(de->d_name, "blob-", 5) ? de->d_name : de->d_name + 5;
		size_t len = strlen(h);
		char hex[65];

		if (len != 64 + 5 || strcmp(h + 64, ".lock") != 0)
			continue;
		memcpy(hex, h, 64);
		hex[64] = '\0';
		if (!hex64(hex))
			continue;
		lfd = openat(fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0)
			continue; /* held: an ingest or a pull uses it */
		if (unlinkat(fd, de->d_name, 0) == 0)
			res->locks++;
	}
}

void lc_gc_result_clear(struct lc_gc_result *r)
{
	lc_strv_free(r->layers);
	lc_strv_free(r->blobs);
	memset(r, 0, sizeof(*r));
}

int lc_store_gc(struct lc_store *s, char *const *only, struct lc_gc_result *ret,
		struct lc_err **err)
{
	struct lc_gc_result res = { 0 };
	struct mark mk = { 0 };
	cleanup_strv char **trash = NULL;
	cleanup_close int lock = -1;
	cleanup_close int trashfd = -1;
	int r = -1;

	lock = gc_lock(s, LOCK_EX, err);
	if (lock < 0)
		return -1;
	if (mark_all(s, &mk, err) < 0)
		goto out;
	if (sweep_layers(s, &mk, only, &res, &trash, err) < 0 ||
	    sweep_blobs(s, &mk, only, &res, err) < 0)
		goto out;
	if (!only)
		sweep_locks(s, &res);
	res.broken_refs = mk.broken_refs;
	res.kept_layers = mk.keep_layers;
	r = 0;
out:
	/* the deleting itself needs no lock: nobody can reach the trash */
	close(TAKE_FD(lock));
	trashfd = openat(s->tmpfd, "trash", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (size_t i = 0; trash && trash[i] && trashfd >= 0; i++) {
		struct lc_err *e = NULL;

		lc_rm_rf_at(trashfd, trash[i], &e);
		lc_err_free(e);
	}
	/* the layers' links are gone with them: what only the pool still links goes too */
	if (r == 0)
		lc_pool_sweep(s, &res.objects, &res.bytes);
	dset_clear(&mk.blobs);
	dset_clear(&mk.layers);
	if (r < 0) {
		lc_gc_result_clear(&res);
		return lc_err_prefix(err, "gc");
	}
	*ret = res;
	return 0;
}

int lc_store_layer_remove(struct lc_store *s, const char *chainid, struct lc_err **err)
{
	cleanup_strv char **trash = NULL;
	cleanup_close int lock = -1;
	cleanup_close int trashfd = -1;
	int r;

	if (lc_digest_check(chainid, err) < 0)
		return -1;
	trashfd = openat(s->tmpfd, "trash", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (trashfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'tmp/trash'");
	lock = gc_lock(s, LOCK_EX, err);
	if (lock < 0)
		return -1;
	r = sweep_layer(s, lc_digest_hex(chainid), trashfd, &trash, err);
	close(TAKE_FD(lock));
	for (size_t i = 0; trash && trash[i]; i++) {
		struct lc_err *e = NULL;

		lc_rm_rf_at(trashfd, trash[i], &e);
		lc_err_free(e);
	}
	if (r > 0)
		lc_pool_sweep(s, NULL, NULL);
	if (r == 0)
		return lc_err_set(err, LC_ERR_EXISTS, 0, "layer %s is being written", chainid);
	return r < 0 ? -1 : 0;
}
