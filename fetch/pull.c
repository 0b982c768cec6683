/* SPDX-License-Identifier: MIT */
/*
 * The pull pipeline: resolve, store manifest(s) and config, then fetch the missing layers in
 * parallel, each streamed in one pass from the socket into lc_store_layer_write, committed in
 * layer order, and only then point the ref at the image.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fetch-int.h"

#define PROGRESS_BYTES (512u << 10)
#define PROGRESS_NS    (100 * 1000000LL)

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static const char *const config_types[] = {
	"application/vnd.oci.image.config.v1+json",
	"application/vnd.docker.container.image.v1+json",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

void lc_pull_result_clear(struct lc_pull_result *r)
{
	free(r->digest);
	free(r->manifest);
	free(r->config);
	memset(r, 0, sizeof(*r));
}

struct pull {
	struct lc_store *s;
	const struct lc_hosts *hosts; /* mirrors first, then the registry (hosts.toml) */
	struct lc_registry **regs;    /* one client per host */
	const struct lc_pull_opts *o;
	const struct lc_manifest *m;
	const struct lc_image_config *cfg;
	char (*chain)[LC_DIGEST_BUFSZ];

	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	bool *done; /* layer i committed or already present */
	size_t *queue, n_queue, next;
	size_t n_fetched;
	struct lc_err *first_err;
	atomic_bool cancel;
	uint64_t unpacked; /* uncompressed bytes of this pull's layers (--max-image-size) */

	pthread_mutex_t progress_lock; /* one progress callback at a time */
};

static void emit(struct pull *p, enum lc_pull_event ev, size_t index, const char *digest,
		 int64_t current, int64_t total)
{
	struct lc_pull_progress e = {
		.event = ev, .index = index, .digest = digest, .current = current, .total = total
	};

	if (!p->o || !p->o->progress)
		return;
	pthread_mutex_lock(&p->progress_lock);
	p->o->progress(&e, p->o->progress_data);
	pthread_mutex_unlock(&p->progress_lock);
}

static void emit_msg(struct pull *p, enum lc_pull_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A NOTE or WARNING line for the user: formatted, its control characters escaped. */
static void emit_msg(struct pull *p, enum lc_pull_event ev, const char *fmt, ...)
{
	cleanup_free char *raw = NULL;
	cleanup_free char *msg = NULL;
	struct lc_pull_progress e = { .event = ev };
	va_list ap;

	if (!p->o || !p->o->progress)
		return;
	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) < 0)
		abort();
	va_end(ap);
	msg = lc_escape_ctl(raw);
	e.message = msg;
	pthread_mutex_lock(&p->progress_lock);
	p->o->progress(&e, p->o->progress_data);
	pthread_mutex_unlock(&p->progress_lock);
}

/*
 * After host k failed to serve what (with *err): whether the next host that has cap should be
 * tried, saying so in a warning. A mirror failing for the network, its answers or its auth
 * gives way to the next host (the registry itself last); a cancelled pull, the store's own
 * errors and bytes that do not match their digest do not.
 */
static bool next_host(struct pull *p, size_t k, unsigned cap, const char *what, struct lc_err **err)
{
	size_t j = k + 1;

	if (atomic_load(&p->cancel))
		return false;
	switch ((*err)->code) {
	case LC_ERR_NET:
	case LC_ERR_NOTFOUND:
	case LC_ERR_AUTH:
	case LC_ERR_PROTO:
		break;
	default:
		return false;
	}
	while (j < p->hosts->n && !(p->hosts->v[j].caps & cap))
		j++;
	if (j == p->hosts->n)
		return false;
	emit_msg(p, LC_PULL_WARNING, "%s: %s %s failed: %s; trying %s", what,
		 p->hosts->v[k].upstream ? "registry" : "mirror", lc_registry_host(p->regs[k]),
		 (*err)->msg, lc_registry_host(p->regs[j]));
	lc_err_free(*err);
	*err = NULL;
	return true;
}

/* With mirrors configured, say which host served what. */
static void served(struct pull *p, size_t k, const char *what)
{
	if (p->hosts->n > 1)
		emit_msg(p, LC_PULL_NOTE, "%s: from %s %s", what,
			 p->hosts->v[k].upstream ? "registry" : "mirror",
			 lc_registry_host(p->regs[k]));
}

/* "sha256:0123456789ab" for messages */
static void short_digest(const char *digest, char out[20])
{
	snprintf(out, 20, "sha256:%.12s", lc_digest_hex(digest));
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct layer_ctx {
	struct pull *p;
	size_t index;
	struct lc_layer_ingest *in;
	int64_t current, reported;
	long long reported_at;
};

/* curl's bytes, straight into the store's ingest: hashed, inflated, hashed, extracted */
static int layer_write(const void *buf, size_t len, void *data, struct lc_err **err)
{
	struct layer_ctx *c = data;
	const struct lc_descriptor *d = &c->p->m->layers[c->index];
	long long t;

	if (lc_store_layer_write(c->in, buf, len, err) < 0)
		return -1;
	c->current += (int64_t)len;
	t = now_ns();
	if (c->current - c->reported >= (int64_t)PROGRESS_BYTES ||
	    t - c->reported_at >= PROGRESS_NS || c->current == d->size) {
		c->reported = c->current;
		c->reported_at = t;
		emit(c->p, LC_PULL_LAYER_PROGRESS, c->index, d->digest, c->current, d->size);
	}
	return 0;
}

static bool below_done_locked(struct pull *p, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!p->done[j])
			return false;
	return true;
}

static void mark_done(struct pull *p, size_t i, bool fetched)
{
	pthread_mutex_lock(&p->lock);
	p->done[i] = true;
	if (fetched)
		p->n_fetched++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Fetch and verify layer i: resumed from the bytes an earlier pull left in the store's ingest
 * file, the rest asked for with Range; none at all when every byte is there. 1 when another
 * process committed it meanwhile, 0 with *ret (finished, to commit), -1 with *err.
 */
static int fetch_layer(struct pull *p, struct lc_http *h, size_t i, bool *ret_resumed,
		       struct lc_layer_ingest **ret, struct lc_err **err)
{
	const struct lc_descriptor *d = &p->m->layers[i];
	struct lc_layer_desc ld = {
		.chainid = p->chain[i],
		.diff_id = p->cfg->diff_ids[i],
		.digest = d->digest,
		.size = d->size,
		.media_type = d->media_type,
		.max_unpacked = p->o ? p->o->max_layer_size : 0,
		.max_entries = p->o ? p->o->max_layer_entries : 0,
		.max_ratio = p->o ? p->o->max_ratio : 0,
		.image_unpacked = &p->unpacked,
		.max_image_unpacked = p->o ? p->o->max_image_size : 0,
	};
	struct layer_ctx c = { .p = p, .index = i, .reported_at = now_ns() };
	int r;

	r = lc_store_layer_begin(p->s, &ld, &c.in, err);
	if (r != 0)
		return r;
	c.current = c.reported = lc_store_layer_resumed(c.in);
	*ret_resumed = c.current > 0;
	emit(p, LC_PULL_LAYER_PROGRESS, i, d->digest, c.current, d->size);
	for (size_t k = 0; c.current < d->size && k < p->hosts->n; k++) {
		char what[20];

		if (!(p->hosts->v[k].caps & LC_HOST_PULL))
			continue;
		short_digest(d->digest, what);
		/* a host that failed midway: the next one is asked for the rest */
		if (lc_registry_get_blob(p->regs[k], h, d->digest, d->size, c.current, layer_write,
					 &c, &p->cancel, err) == 0) {
			served(p, k, what);
			break;
		}
		if (!next_host(p, k, LC_HOST_PULL, what, err))
			goto fail;
	}
	if (c.current < d->size && !*err)
		lc_err_set(err, LC_ERR_NOTFOUND, 0, "no configured host may pull blobs");
	if (c.current < d->size)
		goto fail;
	emit(p, LC_PULL_LAYER_VERIFYING, i, d->digest, d->size, d->size);
	if (lc_store_layer_finish(c.in, err) < 0)
		goto fail;
	*ret = c.in;
	return 0;
fail:
	lc_store_layer_abort(c.in);
	return -1;
}

/* Fetch, verify and commit layer i. Returns 0, or -1 with *err. */
static int do_layer(struct pull *p, struct lc_http *h, size_t i, struct lc_err **err)
{
	const struct lc_descriptor *d = &p->m->layers[i];
	struct lc_layer_ingest *in = NULL;
	const char **lowers = NULL;
	bool failed, resumed = false;
	int r;

	r = fetch_layer(p, h, i, &resumed, &in, err);
	if (r < 0 && resumed && (*err)->code == LC_ERR_DIGEST && !atomic_load(&p->cancel)) {
		/* the recorded bytes were bad (a crash before they reached the disk, say); the
		 * failed finish removed them: once more, all from the registry */
		emit_msg(p, LC_PULL_WARNING, "layer %s: %s; downloading it again", d->digest,
			 (*err)->msg);
		lc_err_free(*err);
		*err = NULL;
		r = fetch_layer(p, h, i, &resumed, &in, err);
	}
	if (r < 0)
		return -1;
	if (r == 1) { /* another process committed it while we waited for its lock */
		lc_trace("layer %zu %s: committed by another pull meanwhile, skipped", i + 1,
			 d->digest);
		emit(p, LC_PULL_LAYER_EXISTS, i, d->digest, 0, d->size);
		mark_done(p, i, false);
		return 0;
	}
	/* commit in order: the dirs this layer made implicitly copy the layers below */
	pthread_mutex_lock(&p->lock);
	while (!p->first_err && !below_done_locked(p, i))
		pthread_cond_wait(&p->cond, &p->lock);
	failed = p->first_err != NULL;
	pthread_mutex_unlock(&p->lock);
	if (failed) {
		/* its bytes stay in the ingest file: the next pull replays them, no download */
		lc_store_layer_abort(in);
		return lc_err_set(err, LC_ERR_NET, ECANCELED, "layer");
	}
	lowers = lc_xcalloc(i + 1, sizeof(*lowers));
	for (size_t j = 0; j < i; j++)
		lowers[j] = p->chain[i - 1 - j]; /* topmost first */
	r = lc_store_layer_commit(in, lowers, i, err);
	free(lowers);
	if (r < 0)
		return -1;
	mark_done(p, i, true);
	lc_trace("layer %zu %s: committed as layers/%s (diff_id %s)", i + 1, d->digest, p->chain[i],
		 p->cfg->diff_ids[i]);
	emit(p, LC_PULL_LAYER_DONE, i, d->digest, d->size, d->size);
	return 0;
}

static void *worker(void *data)
{
	struct pull *p = data;
	struct lc_http *h = lc_http_new();

	while (true) {
		struct lc_err *err = NULL;
		size_t i;

		pthread_mutex_lock(&p->lock);
		if (p->first_err || p->next == p->n_queue) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->queue[p->next++];
		pthread_mutex_unlock(&p->lock);
		if (do_layer(p, h, i, &err) < 0) {
			pthread_mutex_lock(&p->lock);
			if (!p->first_err) {
				/* the first failure is the cause; the others were cancelled by it */
				lc_err_prefix(&err, "layer sha256:%.12s",
					      lc_digest_hex(p->m->layers[i].digest));
				p->first_err = err;
				err = NULL;
			}
			atomic_store(&p->cancel, true);
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->lock);
			lc_err_free(err);
		}
	}
	lc_http_free(h);
	return NULL;
}

/*
 * 1 and *ret when the store holds digest whole; 0 when it does not (a copy whose bytes no longer
 * hash to its name is dropped, with a warning); -1 on error.
 */
static int from_store(struct pull *p, const char *digest, size_t max,
		      struct lc_fetched_manifest *ret, struct lc_err **err)
{
	struct lc_err *e = NULL;

	if (lc_store_blob_has(p->s, digest) != 1)
		return 0;
	if (lc_store_blob_get(p->s, digest, max, &ret->body, &ret->len, &e) == 0) {
		snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
		return 1;
	}
	if (e->code != LC_ERR_DIGEST && e->code != LC_ERR_LIMIT)
		return lc_err_move(err, &e);
	emit_msg(p, LC_PULL_WARNING, "%s; fetching it again", e->msg);
	lc_err_free(e);
	return lc_store_blob_drop(p->s, digest, err);
}

/*
 * A manifest or a config named by digest (size: its descriptor's, or -1): the store's copy
 * when it is whole, else the registry's, fetched and stored under the blob's lock so that
 * concurrent pulls fetch it once. tag: GET the manifest by this tag (a HEAD named digest).
 */
static int get_small(struct pull *p, struct lc_http *h, const char *digest, int64_t size,
		     bool manifest, const char *tag, struct lc_fetched_manifest *ret,
		     struct lc_err **err)
{
	size_t max = manifest ? LC_MAX_MANIFEST_SIZE : LC_MAX_CONFIG_SIZE;
	cleanup_close int lock = -1;
	int r;

	/* leased before use: a concurrent gc keeps what this pull relies on */
	if (lc_store_lease(p->s, digest, err) < 0)
		return -1;
	r = from_store(p, digest, max, ret, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	lock = lc_store_blob_lock(p->s, digest, err);
	if (lock < 0)
		return -1;
	r = from_store(p, digest, max, ret, err); /* the pull we waited for may have stored it */
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t k = 0;; k++) {
		unsigned cap = tag ? LC_HOST_RESOLVE : LC_HOST_PULL;
		char what[20];

		if (k == p->hosts->n)
			return lc_err_set(err, LC_ERR_NOTFOUND, 0, "no configured host may %s",
					  tag ? "resolve tags" : "pull blobs");
		if (!(p->hosts->v[k].caps & cap))
			continue;
		short_digest(digest, what);
		if (manifest)
			r = lc_registry_get_manifest(p->regs[k], h, tag ? tag : digest, size, ret,
						     err);
		else
			r = lc_registry_get_small_blob(p->regs[k], h, digest, size, max, &ret->body,
						       &ret->len, err);
		if (r == 0) {
			served(p, k, what);
			break;
		}
		if (!next_host(p, k, cap, what, err))
			return -1;
	}
	if (!manifest)
		snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
	return lc_store_blob_put(p->s, ret->digest, ret->body, ret->len, err);
}

/* Resolve ref to its top-level manifest or index (bytes verified against their digest). */
static int resolve(struct pull *p, struct lc_http *h, const struct lc_ref *ref,
		   struct lc_fetched_manifest *ret, struct lc_err **err)
{
	char digest[LC_DIGEST_BUFSZ];
	cleanup_free char *what = lc_xasprintf("tag '%s'", ref->tag ? ref->tag : "");
	size_t k;
	int r = -1;

	if (ref->digest)
		return get_small(p, h, ref->digest, -1, true, NULL, ret, err);
	/* HEAD first: an unchanged image costs no GET (HEADs are not counted as pulls) */
	for (k = 0; k < p->hosts->n; k++) {
		if (!(p->hosts->v[k].caps & LC_HOST_RESOLVE))
			continue;
		r = lc_registry_head_manifest(p->regs[k], h, ref->tag, digest, err);
		if (r >= 0)
			break;
		if (!next_host(p, k, LC_HOST_RESOLVE, what, err))
			return -1;
	}
	if (k == p->hosts->n)
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "no configured host may resolve tags");
	if (r == 1)
		return get_small(p, h, digest, -1, true, ref->tag, ret, err);
	if (lc_registry_get_manifest(p->regs[k], h, ref->tag, -1, ret, err) < 0 ||
	    lc_store_lease(p->s, ret->digest, err) < 0)
		return -1;
	return lc_store_blob_put(p->s, ret->digest, ret->body, ret->len, err);
}

static int choose_platform(const struct lc_pull_opts *o, char **os, char **arch, char **variant,
			   struct lc_err **err)
{
	const char *hos, *harch, *hvar;

	if (o && o->platform)
		return lc_platform_parse(o->platform, os, arch, variant, err);
	lc_fetch_host_platform(&hos, &harch, &hvar);
	*os = lc_xstrdup(hos);
	*arch = lc_xstrdup(harch);
	*variant = hvar ? lc_xstrdup(hvar) : NULL;
	lc_platform_normalize(arch, variant);
	return 0;
}

static void manifest_freep(struct lc_manifest **m)
{
	lc_manifest_free(*m);
}
#define cleanup_manifest __attribute__((cleanup(manifest_freep)))

static void config_freep(struct lc_image_config **c)
{
	lc_image_config_free(*c);
}
#define cleanup_config __attribute__((cleanup(config_freep)))

static void hosts_clearp(struct lc_hosts *h)
{
	lc_hosts_clear(h);
}

/* The clients of a pull, one per host, NULL-terminated. */
static void regs_freep(struct lc_registry ***v)
{
	for (size_t i = 0; *v && (*v)[i]; i++)
		lc_registry_free((*v)[i]);
	free(*v);
}

static void http_freep(struct lc_http **h)
{
	lc_http_free(*h);
}
#define cleanup_http __attribute__((cleanup(http_freep)))

static void pull_fini(struct pull *p)
{
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->progress_lock);
	lc_err_free(p->first_err);
}

static void fetched_clear(struct lc_fetched_manifest *m)
{
	lc_fetched_manifest_clear(m);
}
#define cleanup_fetched __attribute__((cleanup(fetched_clear)))

/* Fetch the layers in queue with up to max threads; 0 or -1 with the first error. */
static int fetch_layers(struct pull *p, int max, struct lc_err **err)
{
	size_t n_threads = p->n_queue < (size_t)max ? p->n_queue : (size_t)max;
	pthread_t *t = lc_xcalloc(n_threads ? n_threads : 1, sizeof(*t));
	size_t started = 0;
	int r = 0;

	for (size_t i = 0; i < n_threads; i++) {
		int e = pthread_create(&t[i], NULL, worker, p);

		if (e) {
			if (started == 0) {
				free(t);
				return lc_err_set(err, LC_ERR_SYS, e, "start download thread");
			}
			break; /* fewer threads still finish the queue */
		}
		started++;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	if (p->first_err) {
		lc_err_move(err, &p->first_err);
		r = -1;
	}
	return r;
}

int lc_fetch_pull(struct lc_store *s, const struct lc_ref *ref, const struct lc_pull_opts *o,
		  struct lc_pull_result *ret, struct lc_err **err)
{
	__attribute__((cleanup(hosts_clearp))) struct lc_hosts hosts = { 0 };
	__attribute__((cleanup(regs_freep))) struct lc_registry **regs = NULL;
	cleanup_http struct lc_http *h = NULL;
	cleanup_fetched struct lc_fetched_manifest top = { 0 };
	cleanup_fetched struct lc_fetched_manifest plat = { 0 };
	cleanup_fetched struct lc_fetched_manifest cfgb = { 0 };
	cleanup_manifest struct lc_manifest *top_m = NULL;
	cleanup_manifest struct lc_manifest *plat_m = NULL;
	cleanup_config struct lc_image_config *cfg = NULL;
	cleanup_free char *os = NULL;
	cleanup_free char *arch = NULL;
	cleanup_free char *variant = NULL;
	cleanup_free char *name = NULL;
	cleanup_free char(*chain)[LC_DIGEST_BUFSZ] = NULL;
	cleanup_free bool *done = NULL;
	cleanup_free size_t *queue = NULL;
	struct lc_store_ref *old = NULL;
	const struct lc_manifest *m;
	const char *manifest_digest;
	size_t n_queue = 0;
	struct lc_store_ref newref;
	bool up_to_date;
	__attribute__((cleanup(pull_fini))) struct pull p = {
		.o = o,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
		.progress_lock = PTHREAD_MUTEX_INITIALIZER,
	};
	int max;

	/* loaded here, not at start-up (curl-dl.c): a missing libcurl is one line, no request */
	if (lc_fetch_need_libcurl(err) < 0)
		return -1;
	if (choose_platform(o, &os, &arch, &variant, err) < 0)
		return -1;
	{
		cleanup_free char *upstream = lc_ref_base_url(ref, o && o->insecure);

		if (lc_hosts_load(ref->domain, upstream, &hosts, err) < 0)
			return lc_err_prefix(err, "registry settings");
	}
	regs = lc_xcalloc(hosts.n + 1, sizeof(*regs));
	for (size_t k = 0; k < hosts.n; k++) {
		if (lc_registry_new_host(ref, &hosts.v[k], o && o->insecure, &regs[k], err) < 0)
			return -1;
		/* a mirror that fails gives way to the next host soon, the registry takes 30 s */
		lc_registry_set_retry(regs[k], hosts.v[k].upstream
						       ? (o ? o->retry_ms : 0)
						       : (o && o->retry_ms < 0 ? -1 : 3000));
	}
	h = lc_http_new();
	lc_trace_phase("registry client ready (libcurl loaded, registry settings read)");
	p.s = s;
	p.hosts = &hosts;
	p.regs = regs;

	/* 1. the name's manifest or index, verified against its digest */
	if (resolve(&p, h, ref, &top, err) < 0)
		return -1;
	{
		cleanup_free char *quota = NULL;

		for (size_t k = 0; !quota && k < hosts.n; k++)
			quota = lc_registry_ratelimit(regs[k]);

		if (quota)
			emit_msg(&p, LC_PULL_NOTE, "rate limit: %s", quota);
	}
	if (lc_manifest_parse(top.body, top.len, top.content_type, &top_m, err) < 0)
		return lc_err_prefix(err, "manifest %s", top.digest);

	/* 2. an index: the platform's manifest */
	m = top_m;
	manifest_digest = top.digest;
	if (top_m->kind == LC_MEDIA_INDEX) {
		const struct lc_descriptor *d = lc_manifest_pick(top_m, os, arch, variant);

		if (!d)
			d = lc_platform_match(top_m, os, arch, variant);
		if (!d) {
			cleanup_free char *avail = lc_platform_list(top_m);

			return lc_err_set(err, LC_ERR_NOTFOUND, 0,
					  "no matching manifest for %s/%s%s%s in the manifest list "
					  "entries (available: %s); choose one with --platform",
					  os, arch, variant ? "/" : "", variant ? variant : "",
					  *avail ? avail : "none");
		}
		if (d->size < 0 || (uint64_t)d->size > LC_MAX_MANIFEST_SIZE)
			return lc_err_set(err, LC_ERR_LIMIT, 0, "manifest %s: size %lld exceeds %u",
					  d->digest, (long long)d->size, LC_MAX_MANIFEST_SIZE);
		if (get_small(&p, h, d->digest, d->size, true, NULL, &plat, err) < 0)
			return -1;
		if ((int64_t)plat.len != d->size)
			return lc_err_set(err, LC_ERR_DIGEST, 0,
					  "manifest %s: size mismatch: index says %lld, got %zu",
					  d->digest, (long long)d->size, plat.len);
		if (lc_manifest_parse(plat.body, plat.len, plat.content_type, &plat_m, err) < 0)
			return lc_err_prefix(err, "manifest %s", plat.digest);
		if (plat_m->kind != LC_MEDIA_MANIFEST)
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "manifest %s: an index entry must be an image manifest",
					  plat.digest);
		m = plat_m;
		manifest_digest = plat.digest;
	} else if (top_m->kind != LC_MEDIA_MANIFEST) {
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "manifest %s: not an image manifest or index", top.digest);
	}
	emit(&p, LC_PULL_RESOLVED, 0, top.digest, 0, 0);
	lc_trace_phase("manifest resolved");

	/* 3. the config: the diff_ids name the layers before any is fetched */
	if (m->config.media_type &&
	    !in_list(m->config.media_type, config_types, LC_ARRAY_SIZE(config_types)))
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "not a container image: config media type '%.100s'",
				  m->config.media_type);
	if (get_small(&p, h, m->config.digest, m->config.size, false, NULL, &cfgb, err) < 0)
		return lc_err_prefix(err, "config %s", m->config.digest);
	if (lc_image_config_parse(cfgb.body, cfgb.len, &cfg, err) < 0)
		return lc_err_prefix(err, "config %s", m->config.digest);
	if (o && o->platform && top_m->kind != LC_MEDIA_INDEX && cfg->arch) {
		/* a single-platform image: docker refuses a --platform it does not match */
		cleanup_free char *ca = lc_xstrdup(cfg->arch);
		cleanup_free char *cv = cfg->variant ? lc_xstrdup(cfg->variant) : NULL;

		lc_platform_normalize(&ca, &cv);
		if ((cfg->os && strcmp(cfg->os, os) != 0) || strcmp(ca, arch) != 0 ||
		    (variant && cv && strcmp(cv, variant) != 0))
			return lc_err_set(err, LC_ERR_NOTFOUND, 0,
					  "image was found but does not match the specified "
					  "platform: wanted %s/%s%s%s, actual: %.32s/%.32s%s%.32s",
					  os, arch, variant ? "/" : "", variant ? variant : "",
					  cfg->os ? cfg->os : "?", ca, cv ? "/" : "", cv ? cv : "");
	}
	if (cfg->n_diff_ids != m->n_layers)
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "config %s lists %zu diff_ids but the manifest has %zu layers",
				  m->config.digest, cfg->n_diff_ids, m->n_layers);

	lc_trace_phase("config read");

	/* 4. which layers the store lacks, by chain id */
	chain = lc_xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*chain));
	done = lc_xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*done));
	queue = lc_xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*queue));
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct lc_descriptor *d = &m->layers[i];

		/* descriptors' foreign "urls" are never followed: every byte comes from the registry */
		if (!d->media_type ||
		    !in_list(d->media_type, layer_types, LC_ARRAY_SIZE(layer_types)))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "layer %s: unsupported media type '%.100s' (want a tar, "
					  "tar+gzip or tar+zstd layer)",
					  d->digest, d->media_type ? d->media_type : "");
		lc_chainid(i ? chain[i - 1] : NULL, cfg->diff_ids[i], chain[i]);
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		if (lc_store_lease(s, chain[i], err) < 0)
			return -1;
		if (lc_store_layer_has(s, chain[i]) == 1) {
			done[i] = true;
			lc_trace("layer %zu %s: skipped, the store has layers/%s (diff_id %s)",
				 i + 1, m->layers[i].digest, chain[i], cfg->diff_ids[i]);
			emit(&p, LC_PULL_LAYER_EXISTS, i, m->layers[i].digest, 0,
			     m->layers[i].size);
		} else {
			queue[n_queue++] = i;
		}
	}

	/* 5. fetch the missing ones in parallel, commit in order */
	p.m = m;
	p.cfg = cfg;
	p.chain = chain;
	p.done = done;
	p.queue = queue;
	p.n_queue = n_queue;
	atomic_init(&p.cancel, false);
	for (size_t k = 0; k < n_queue; k++)
		emit(&p, LC_PULL_LAYER_WAITING, queue[k], m->layers[queue[k]].digest, 0,
		     m->layers[queue[k]].size);
	max = o && o->max_concurrent > 0 ? o->max_concurrent : 3;
	if (max > 16)
		max = 16;
	if (n_queue && fetch_layers(&p, max, err) < 0)
		return -1;

	lc_trace_phase("layers committed");

	/* 6. every layer is committed: now, and only now, the name points at the image */
	name = lc_ref_string(ref);
	if (lc_store_ref_get(s, name, &old, NULL) < 0)
		old = NULL;
	up_to_date = p.n_fetched == 0 && old && old->digest && !strcmp(old->digest, top.digest) &&
		     old->manifest && !strcmp(old->manifest, manifest_digest);
	lc_store_ref_free(old);
	newref = (struct lc_store_ref){
		.name = name,
		.digest = top.digest,
		.manifest = (char *)manifest_digest,
		.config = m->config.digest,
	};
	if (lc_store_ref_set(s, &newref, err) < 0)
		return -1;
	lc_trace_phase("image recorded");
	ret->digest = lc_xstrdup(top.digest);
	ret->manifest = lc_xstrdup(manifest_digest);
	ret->config = lc_xstrdup(m->config.digest);
	ret->up_to_date = up_to_date;
	ret->n_layers = m->n_layers;
	ret->n_fetched = p.n_fetched;
	return 0;
}
