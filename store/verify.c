/* SPDX-License-Identifier: MIT */
/*
 * store: verify (git fsck for the store). Every blob is re-hashed, every pool object checked
 * against its name, every layer is walked against the manifest recorded when it was committed,
 * every ref must reach a complete image.
 * With repair, what is broken is dropped so that a pull fetches it again, and a refs.json that
 * does not parse is set aside and rebuilt from the blobs (as unnamed images).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "store-int.h"

struct vctx {
	struct lc_store *s;
	bool repair;
	lc_verify_fn report;
	void *opaque;
	struct lc_verify_result *res;
};

static void say(struct vctx *v, bool repaired, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct vctx *v, bool repaired, const char *fmt, ...)
{
	cleanup_free char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	v->res->problems++;
	if (repaired)
		v->res->repaired++;
	if (v->report && msg)
		v->report(v->opaque, msg);
}

static bool hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* Names of dirfd's entries that are 64 hex digits (with suffix, when given), sorted. */
static char **hex_entries(int dirfd, const char *suffix)
{
	cleanup_dir DIR *d = NULL;
	char **v = NULL;
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return lc_xcalloc(1, sizeof(char *));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;
		char hex[65];

		if (len != 64 + sl || (suffix && strcmp(de->d_name + 64, suffix) != 0))
			continue;
		memcpy(hex, de->d_name, 64);
		hex[64] = '\0';
		if (hex64(hex))
			lc_strv_push(&v, hex);
	}
	return v ? v : lc_xcalloc(1, sizeof(char *));
}

static void verify_blobs(struct vctx *v)
{
	cleanup_strv char **names = hex_entries(v->s->blobsfd, NULL);

	for (size_t i = 0; names[i]; i++) {
		char got[LC_DIGEST_BUFSZ];

		/* streamed: memory does not grow with the blob */
		if (lc_sha256_file_at(v->s->blobsfd, names[i], got) < 0) {
			say(v, false, "blob sha256:%s: read: %s", names[i], strerror(errno));
			continue;
		}
		if (!strcmp(got + 7, names[i]))
			continue;
		say(v, v->repair && unlinkat(v->s->blobsfd, names[i], 0) == 0,
		    "blob sha256:%s: corrupt (its content hashes to %s)%s", names[i], got,
		    v->repair ? ": removed" : "");
	}
}

static void verify_layers(struct vctx *v)
{
	cleanup_strv char **names = hex_entries(v->s->layersfd, NULL);

	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *cid = lc_xasprintf("sha256:%s", names[i]);
		cleanup_strv char **problems = NULL;
		struct lc_layer_info *li = NULL;
		struct lc_err *e = NULL;
		struct stat st;
		int r;

		if (fstatat(v->s->layersfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (lc_store_layer_info(v->s, cid, &li, &e) < 0) {
			r = -1;
			lc_err_prefix(&e, "metadata");
		} else {
			r = lc_store_layer_verify(v->s, cid, &problems, &e);
			if (r == 1 && v->report) {
				/* a note, not a problem: nothing says it is damaged */
				cleanup_free char *note = lc_xasprintf(
					"layer %s: no manifest recorded (unpacked by an older "
					"layerctl): its files are not checked",
					cid);

				v->report(v->opaque, note);
			}
			/* the tar-split record save rebuilds the layer's tar from */
			if (r >= 0 && lc_store_layer_tar_check(v->s, cid, &e) < 0) {
				if (e->code == LC_ERR_NOTFOUND) {
					cleanup_free char *note =
						lc_xasprintf("layer %s: no tar-split record "
							     "(unpacked by an older "
							     "layerctl): save cannot write it",
							     cid);

					if (v->report)
						v->report(v->opaque, note);
					lc_err_free(e);
					e = NULL;
				} else {
					lc_strv_push(&problems, e->msg);
					lc_err_free(e);
					e = NULL;
					if (r == 1)
						r = 0; /* a problem after all: repair drops it */
				}
			}
		}
		lc_layer_info_free(li);
		if (r == 0 && !problems[0])
			continue;
		if (r < 0) {
			say(v, false, "layer %s: %s", cid, e->msg);
			lc_err_free(e);
		}
		for (size_t k = 0; problems && problems[k]; k++)
			say(v, false, "layer %s: %s", cid, problems[k]);
		if (r != 1 && v->repair) {
			e = NULL;
			if (lc_store_layer_remove(v->s, cid, &e) == 0) {
				say(v, true, "layer %s: removed (a pull fetches it again)", cid);
				v->res->problems--; /* the removal itself is no new problem */
			} else {
				say(v, false, "layer %s: cannot remove: %s", cid, e->msg);
				lc_err_free(e);
			}
		}
	}
}

/* A pool object that no longer matches its name would hand its damage to every layer that
 * links it later: the pool forgets it (repair), a pull then adds a good copy. */
static void pool_bad(void *opaque, const char *key, const char *what, bool removed)
{
	struct vctx *v = opaque;

	say(v, removed, "pool object '%s': %s%s", key, what,
	    removed ? ": removed from the pool" : "");
}

static void verify_pool(struct vctx *v)
{
	lc_pool_verify(v->s, v->repair, pool_bad, v);
}

/* ---------- refs ---------- */

/* An image the blobs still describe: its manifest (and index) and config. */
static void rebuild_add(struct lc_store *s, json_t *refs, const char *top, const char *manifest)
{
	cleanup_free char *buf = NULL;
	struct lc_manifest *m = NULL;
	size_t len;

	if (lc_store_blob_get(s, manifest, LC_MAX_MANIFEST_SIZE, &buf, &len, NULL) < 0 ||
	    lc_manifest_parse(buf, len, NULL, &m, NULL) < 0)
		return;
	if (m->kind == LC_MEDIA_MANIFEST && lc_store_blob_has(s, m->config.digest)) {
		cleanup_free char *name = lc_xasprintf("<none>@%s", top);

		json_object_set_new(refs, name,
				    json_pack("{s:s, s:s, s:s}", "digest", top, "manifest",
					      manifest, "config", m->config.digest));
	}
	lc_manifest_free(m);
}

static int rebuild_refs(struct vctx *v, struct lc_err **err)
{
	cleanup_strv char **names = hex_entries(v->s->blobsfd, NULL);
	json_auto_t *j = json_pack("{s:{}}", "refs");
	json_t *refs = json_object_get(j, "refs");
	cleanup_free char *txt = NULL, *aside = NULL;
	cleanup_close int lock = -1;
	char **children = NULL;

	/* indexes first: their manifests are theirs, not images of their own */
	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *d = lc_xasprintf("sha256:%s", names[i]), *buf = NULL;
		struct lc_manifest *m = NULL;
		size_t len;

		if (lc_store_blob_get(v->s, d, LC_MAX_MANIFEST_SIZE, &buf, &len, NULL) < 0 ||
		    lc_manifest_parse(buf, len, NULL, &m, NULL) < 0)
			continue;
		for (size_t k = 0; m->kind == LC_MEDIA_INDEX && k < m->n_manifests; k++) {
			lc_strv_push(&children, m->manifests[k].digest);
			if (lc_store_blob_has(v->s, m->manifests[k].digest))
				rebuild_add(v->s, refs, d, m->manifests[k].digest);
		}
		lc_manifest_free(m);
	}
	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *d = lc_xasprintf("sha256:%s", names[i]);
		bool child = false;

		for (size_t k = 0; children && children[k]; k++)
			child |= !strcmp(children[k], d);
		if (!child)
			rebuild_add(v->s, refs, d, d);
	}
	lc_strv_free(children);
	txt = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	if (!txt)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "serialize refs");
	lock = lc_store_lock_at(v->s->rootfd, "refs/lock", true, err);
	if (lock < 0)
		return -1;
	aside = lc_xasprintf("refs/refs.json.corrupt-%ld", (long)time(NULL));
	if (renameat(v->s->rootfd, "refs/refs.json", v->s->rootfd, aside) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "set 'refs/refs.json' aside");
	if (lc_write_file_atomic_at(v->s->rootfd, "refs/refs.json", txt, strlen(txt), 0600, err) <
	    0)
		return -1;
	say(v, true,
	    "refs/refs.json: rebuilt from the blobs: %zu unnamed image(s); the damaged "
	    "file is '%s'",
	    json_object_size(refs), aside);
	v->res->problems--;
	return 0;
}

static void verify_refs(struct vctx *v, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	struct lc_err *e = NULL;
	size_t n = 0;

	if (lc_store_ref_list(v->s, &refs, &n, &e) < 0) {
		say(v, false, "refs/refs.json: %s", e->msg);
		lc_err_free(e);
		if (!v->repair || rebuild_refs(v, err) < 0 ||
		    lc_store_ref_list(v->s, &refs, &n, err) < 0)
			return;
	}
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *mbuf = NULL, *cbuf = NULL;
		struct lc_manifest *m = NULL;
		struct lc_image_config *c = NULL;
		char chain[LC_DIGEST_BUFSZ];
		size_t mlen, clen;

		e = NULL;
		if (!refs[i].manifest || !refs[i].config ||
		    lc_store_blob_get(v->s, refs[i].manifest, LC_MAX_MANIFEST_SIZE, &mbuf, &mlen,
				      &e) < 0 ||
		    lc_manifest_parse(mbuf, mlen, NULL, &m, &e) < 0 ||
		    lc_store_blob_get(v->s, refs[i].config, LC_MAX_MANIFEST_SIZE, &cbuf, &clen,
				      &e) < 0 ||
		    lc_image_config_parse(cbuf, clen, &c, &e) < 0) {
			say(v, false, "image '%s': %s%s", refs[i].name,
			    e ? e->msg : "incomplete ref", v->repair ? " (pull it again)" : "");
			lc_err_free(e);
		} else {
			for (size_t l = 0; l < c->n_diff_ids; l++) {
				lc_chainid(l ? chain : NULL, c->diff_ids[l], chain);
				if (!lc_store_layer_has(v->s, chain))
					say(v, false, "image '%s': layer %s is missing%s",
					    refs[i].name, chain,
					    v->repair ? " (pull it again)" : "");
			}
		}
		lc_manifest_free(m);
		lc_image_config_free(c);
	}
	lc_store_ref_list_free(refs, n);
}

int lc_store_verify(struct lc_store *s, bool repair, lc_verify_fn report, void *opaque,
		    struct lc_verify_result *ret, struct lc_err **err)
{
	struct lc_verify_result res = { 0 };
	struct vctx v = { s, repair, report, opaque, &res };
	struct lc_err *e = NULL;

	verify_blobs(&v);
	verify_pool(&v);
	verify_layers(&v);
	verify_refs(&v, &e);
	if (e)
		return lc_err_move(err, &e);
	*ret = res;
	return 0;
}
