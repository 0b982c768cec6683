/* SPDX-License-Identifier: MIT */
/*
 * store: layer ingest. The writer's thread hashes the blob, inflates it (gzip, zstd or none,
 * detected from the bytes) into chunks and queues them; the extraction thread hashes the tar
 * (diff_id) and writes the entries (extract.c) into tmp/ingest-<id>/layer. Commit renames
 * that dir into layers/sha256/<chain id hex> once both digests verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <jansson.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "store-int.h"

#define CHUNK	  (128u << 10)
#define QUEUE_MAX 32 /* chunks: 4 MiB between the threads */

enum comp { COMP_UNKNOWN, COMP_NONE, COMP_GZIP, COMP_ZSTD };
enum state { ST_OPEN, ST_FINISHED, ST_FAILED };

struct chunk {
	struct chunk *next;
	size_t len;
	char data[];
};

struct lc_layer_ingest {
	struct lc_store *s;
	char chainid[LC_DIGEST_BUFSZ], diff_id[LC_DIGEST_BUFSZ], digest[LC_DIGEST_BUFSZ];
	int64_t size;
	uint64_t max_unpacked, max_entries, max_image;
	uint32_t max_ratio;
	uint64_t *image_unpacked;
	enum state state;

	int lockfd;  /* tmp/locks/<hex>.lock, held until commit/abort */
	int stagefd; /* tmp/ingest-..., flocked so a sweep leaves it alone */
	char *stage_name;
	int layerfd;		   /* stage/layer */
	int tsfd;		   /* stage/tarsplit: the layer's tar-split record (tarsplit.c) */
	bool ts_lost;		   /* it could not be written: the layer is committed without */
	struct lc_partial partial; /* the blob's ingest file: replayed, then appended to */
	int64_t resumed;	   /* bytes replayed from it */

	struct lc_sha256 *h_blob, *h_tar;
	int64_t n_blob;
	uint64_t n_tar;

	enum comp comp;
	unsigned char head[4];
	size_t n_head;
	z_stream z;
	bool z_init, z_end;	    /* z_end: a gzip member ended (zlib or ISA-L) */
	struct inflate_state *isal; /* ISA-L inflates the gzip layer, when it is there */
	ZSTD_DStream *zs;
	size_t zs_last;
	struct chunk *cur; /* tar bytes being gathered for the extractor (inflated into) */

	pthread_mutex_t mu;
	pthread_cond_t cv_put, cv_get;
	struct chunk *qhead, *qtail;
	size_t qlen;
	bool eof, cancel, ext_done;
	struct chunk *held;  /* the chunk libarchive is reading */
	struct chunk *spare; /* chunks read, to be filled again */
	pthread_t thr;
	bool thr_started;
	int ext_rc;
	struct lc_err *ext_err;
	/* The first inflate or extraction error. The rest of the blob is still hashed so that
	 * finish reports a corrupt download as a digest mismatch, not as a broken tar. */
	struct lc_err *stream_err;
	char **implicit;
	struct lc_extract_stats stats;
	struct lc_pool pool; /* pool.fd < 0: the store does not dedup */
	bool committed;
};

/* ---------- the queue ---------- */

static ssize_t queue_read(void *opaque, const void **buf)
{
	struct lc_layer_ingest *in = opaque;
	struct chunk *c;

	pthread_mutex_lock(&in->mu);
	if (in->held) { /* read: the producer fills it again (no malloc, no fresh pages) */
		in->held->next = in->spare;
		in->spare = in->held;
	}
	in->held = NULL;
	while (!in->qhead && !in->eof && !in->cancel)
		pthread_cond_wait(&in->cv_get, &in->mu);
	if (in->cancel) {
		pthread_mutex_unlock(&in->mu);
		return -1;
	}
	c = in->qhead;
	if (c) {
		in->qhead = c->next;
		if (!in->qhead)
			in->qtail = NULL;
		in->qlen--;
		pthread_cond_signal(&in->cv_put);
	}
	pthread_mutex_unlock(&in->mu);
	if (!c)
		return 0;
	/* the diff_id, here rather than on the download's thread, which inflates: every byte
	 * of the tar comes through here when the extraction succeeds, the only case that
	 * compares it (its end, and what follows, too: extract_thread reads to the end) */
	lc_sha256_update(in->h_tar, c->data, c->len);
	in->held = c;
	*buf = c->data;
	return (ssize_t)c->len;
}

static void *extract_thread(void *opaque)
{
	struct lc_layer_ingest *in = opaque;
	struct lc_tarsplit *ts = lc_tarsplit_new(in->tsfd);
	int rc = lc_extract_run(in->layerfd, in->stagefd, in->pool.fd >= 0 ? &in->pool : NULL, ts,
				queue_read, in, in->max_entries, &in->implicit, &in->stats,
				&in->ext_err);

	if (rc == 0) {
		/* what follows the tar's end is the diff_id's too: the record keeps it */
		const void *buf;
		ssize_t n;

		while ((n = queue_read(in, &buf)) > 0)
			lc_tarsplit_feed(ts, buf, (size_t)n, UINT64_MAX);
		if (n < 0) {
			rc = -1;
			lc_err_set(&in->ext_err, LC_ERR_PROTO, ECANCELED, "layer ingest");
		} else if (lc_tarsplit_finish(ts, NULL) < 0) {
			/* save refuses the layer, saying why; the pull goes on */
			in->ts_lost = true;
		}
	}
	lc_tarsplit_free(ts);

	pthread_mutex_lock(&in->mu);
	in->ext_rc = rc;
	in->ext_done = true;
	pthread_cond_broadcast(&in->cv_put);
	pthread_mutex_unlock(&in->mu);
	return NULL;
}

/* An empty chunk: one the extractor has read, else a new one (at most QUEUE_MAX + 3 exist). */
static struct chunk *chunk_new(struct lc_layer_ingest *in)
{
	struct chunk *c;

	pthread_mutex_lock(&in->mu);
	c = in->spare;
	if (c)
		in->spare = c->next;
	pthread_mutex_unlock(&in->mu);
	if (!c)
		c = lc_xmalloc(sizeof(struct chunk) + CHUNK);
	c->len = 0;
	return c;
}

/* Hand the gathered chunk to the extractor; blocks while the queue is full. */
static int queue_push(struct lc_layer_ingest *in, struct lc_err **err)
{
	struct chunk *c = TAKE_PTR(in->cur);

	if (!c || !c->len) {
		free(c);
		return 0;
	}
	pthread_mutex_lock(&in->mu);
	while (in->qlen >= QUEUE_MAX && !in->ext_done)
		pthread_cond_wait(&in->cv_put, &in->mu);
	if (in->ext_done) {
		int rc = in->ext_rc;

		pthread_mutex_unlock(&in->mu);
		free(c);
		/* the extractor is done and its error no longer changes */
		if (rc < 0)
			return lc_err_set(err, in->ext_err ? in->ext_err->code : LC_ERR_PROTO, 0,
					  "%s",
					  in->ext_err ? in->ext_err->msg : "extraction failed");
		return 0; /* the extractor read to the end (extract_thread): nothing follows */
	}
	c->next = NULL;
	if (in->qtail)
		in->qtail->next = c;
	else
		in->qhead = c;
	in->qtail = c;
	in->qlen++;
	pthread_cond_signal(&in->cv_get);
	pthread_mutex_unlock(&in->mu);
	return 0;
}

/* n more uncompressed bytes: counted against the limits. */
static int tar_count(struct lc_layer_ingest *in, size_t n, struct lc_err **err)
{
	char lim[32];

	in->n_tar += n;
	if (in->n_tar > in->max_unpacked) {
		lc_limit_str(in->max_unpacked, lim, sizeof(lim));
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "layer unpacks to more than %s, the per-layer limit "
				  "(raise it with --max-layer-size)",
				  lim);
	}
	/* a decompression bomb: a few MB that inflate to GBs (gzip tops out near 1030x) */
	if (in->comp != COMP_NONE && in->n_tar > LC_LAYER_RATIO_FLOOR &&
	    in->n_tar / in->max_ratio > (uint64_t)in->n_blob)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "layer inflates to more than %u times its compressed size (%llu "
				  "MiB from %llu KiB so far), the limit (raise it with "
				  "--max-compression-ratio)",
				  in->max_ratio, (unsigned long long)(in->n_tar >> 20),
				  (unsigned long long)(in->n_blob >> 10));
	if (in->image_unpacked &&
	    __atomic_add_fetch(in->image_unpacked, n, __ATOMIC_RELAXED) > in->max_image) {
		lc_limit_str(in->max_image, lim, sizeof(lim));
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "image unpacks to more than %s, the per-image limit "
				  "(raise it with --max-image-size)",
				  lim);
	}
	return 0;
}

/* Room for inflated bytes: the rest of the chunk being gathered (never 0). */
static unsigned char *tar_room(struct lc_layer_ingest *in, size_t *ret_avail)
{
	if (!in->cur) {
		in->cur = chunk_new(in);
	}
	*ret_avail = CHUNK - in->cur->len;
	return (unsigned char *)in->cur->data + in->cur->len;
}

/* n bytes were inflated into tar_room: counted, and queued once the chunk is full. */
static int tar_made(struct lc_layer_ingest *in, size_t n, struct lc_err **err)
{
	if (!n)
		return 0;
	if (tar_count(in, n, err) < 0)
		return -1;
	in->cur->len += n;
	if (in->cur->len == CHUNK && queue_push(in, err) < 0)
		return -1;
	return 0;
}

/* Uncompressed tar bytes (a layer that is not compressed): count, queue. */
static int tar_sink(struct lc_layer_ingest *in, const unsigned char *p, size_t n,
		    struct lc_err **err)
{
	if (tar_count(in, n, err) < 0)
		return -1;
	while (n) {
		size_t take;

		if (!in->cur) {
			in->cur = chunk_new(in);
		}
		take = CHUNK - in->cur->len;
		if (take > n)
			take = n;
		memcpy(in->cur->data + in->cur->len, p, take);
		in->cur->len += take;
		p += take;
		n -= take;
		if (in->cur->len == CHUNK && queue_push(in, err) < 0)
			return -1;
	}
	return 0;
}

static const char *isal_error(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid block type";
	case ISAL_INVALID_SYMBOL:
		return "invalid code";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	case ISAL_INVALID_WRAPPER:
		return "incorrect header check";
	case ISAL_UNSUPPORTED_METHOD:
		return "unknown compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "incorrect data check";
	default:
		return "invalid data";
	}
}

static int feed_gzip(struct lc_layer_ingest *in, const unsigned char *p, size_t n,
		     struct lc_err **err);

/*
 * The first gzip member with ISA-L's inflate (its header and CRC-32 and size trailer checked).
 * ISA-L 2.30 miscomputes a header CRC (FHCRC) that arrives split across calls, so a member
 * with one is left to zlib (decide), and so is every member after the first: multi-member
 * layers are rare, and a member boundary is where zlib can take over cleanly.
 */
static int feed_gzip_isal(struct lc_layer_ingest *in, const unsigned char *p, size_t n,
			  struct lc_err **err)
{
	struct inflate_state *s = in->isal;

	s->next_in = (uint8_t *)p;
	s->avail_in = (uint32_t)n;
	do {
		size_t got, had, room;
		int r;

		if (in->z_end && s->avail_in) {
			const unsigned char *rest = s->next_in;
			size_t left = s->avail_in;

			if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
				return lc_err_set(err, LC_ERR_SYS, ENOMEM, "gzip: init");
			in->z_init = true;
			in->z_end = false;
			free(in->isal);
			in->isal = NULL;
			return feed_gzip(in, rest, left, err);
		}
		had = s->avail_in;
		/* straight into the chunk the extractor gets: no copy */
		s->next_out = tar_room(in, &room);
		s->avail_out = (uint32_t)room;
		r = isal_inflate(s);
		if (r < 0 || r == ISAL_NEED_DICT)
			return lc_err_set(err, LC_ERR_PROTO, 0, "gzip: %s", isal_error(r));
		/* input there but none taken, no output made, not at the end: it would spin */
		if (had && s->avail_in == had && s->avail_out == room &&
		    s->block_state != ISAL_BLOCK_FINISH)
			return lc_err_set(err, LC_ERR_PROTO, 0, "gzip: %s", isal_error(r));
		if (s->block_state == ISAL_BLOCK_FINISH)
			in->z_end = true;
		got = room - s->avail_out;
		if (tar_made(in, got, err) < 0)
			return -1;
		/* all input taken (ISA-L keeps a partial symbol inside) and the output not full */
		if (!s->avail_in && s->avail_out)
			break;
	} while (s->avail_in > 0 || s->avail_out == 0);
	return 0;
}

static int feed_gzip(struct lc_layer_ingest *in, const unsigned char *p, size_t n,
		     struct lc_err **err)
{
	if (in->isal)
		return feed_gzip_isal(in, p, n, err);
	in->z.next_in = (unsigned char *)p;
	in->z.avail_in = (uInt)n;
	do {
		size_t room;
		int r;

		/* multi-member gzip: another member follows the end of one */
		if (in->z_end && in->z.avail_in) {
			if (inflateReset(&in->z) != Z_OK)
				return lc_err_set(err, LC_ERR_PROTO, 0, "gzip: reset failed");
			in->z_end = false;
		}
		in->z.next_out = tar_room(in, &room);
		in->z.avail_out = (uInt)room;
		r = inflate(&in->z, Z_NO_FLUSH);
		if (r == Z_STREAM_END)
			in->z_end = true;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			return lc_err_set(err, LC_ERR_PROTO, 0, "gzip: %s",
					  in->z.msg ? in->z.msg : "invalid data");
		if (tar_made(in, room - in->z.avail_out, err) < 0)
			return -1;
		if (r == Z_BUF_ERROR && in->z.avail_out)
			break;
	} while (in->z.avail_in > 0 || in->z.avail_out == 0);
	return 0;
}

static int feed_zstd(struct lc_layer_ingest *in, const unsigned char *p, size_t n,
		     struct lc_err **err)
{
	ZSTD_inBuffer ib = { p, n, 0 };

	/* default window limit (2^27): never raised for untrusted input */
	for (;;) {
		size_t room;
		ZSTD_outBuffer ob = { tar_room(in, &room), 0, 0 };
		size_t r;

		ob.size = room;
		r = ZSTD_decompressStream(in->zs, &ob, &ib);

		if (ZSTD_isError(r) &&
		    ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "zstd: the frame needs a window of more than %u MiB, the "
					  "limit for untrusted input",
					  (1u << LC_ZSTD_WINDOW_LOG_MAX) >> 20);
		if (ZSTD_isError(r))
			return lc_err_set(err, LC_ERR_PROTO, 0, "zstd: %s", ZSTD_getErrorName(r));
		in->zs_last = r;
		if (tar_made(in, ob.pos, err) < 0)
			return -1;
		if (ib.pos == ib.size && ob.pos < ob.size)
			break;
	}
	return 0;
}

static int decide(struct lc_layer_ingest *in, struct lc_err **err)
{
	static const unsigned char gz[] = { 0x1f, 0x8b }, zst[] = { 0x28, 0xb5, 0x2f, 0xfd };

	/* ISA-L when its library is there and the header has no FHCRC (feed_gzip_isal) */
	if (in->n_head == 4 && !memcmp(in->head, gz, 2) && !(in->head[3] & 0x02) &&
	    lc_store_isal_ready()) {
		in->comp = COMP_GZIP;
		in->isal = lc_xmalloc(sizeof(*in->isal));
		isal_inflate_init(in->isal);
		in->isal->crc_flag = ISAL_GZIP; /* the gzip header, then CRC-32 and size checked */
	} else if (in->n_head >= 2 && !memcmp(in->head, gz, 2)) {
		in->comp = COMP_GZIP;
		if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
			return lc_err_set(err, LC_ERR_SYS, ENOMEM, "gzip: init");
		in->z_init = true;
	} else if (in->n_head == 4 && !memcmp(in->head, zst, 4)) {
		in->comp = COMP_ZSTD;
		in->zs = ZSTD_createDStream();
		if (!in->zs || ZSTD_isError(ZSTD_initDStream(in->zs)) ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(in->zs, ZSTD_d_windowLogMax,
							LC_ZSTD_WINDOW_LOG_MAX)))
			return lc_err_set(err, LC_ERR_SYS, ENOMEM, "zstd: init");
	} else {
		in->comp = COMP_NONE;
	}
	return 0;
}

static int feed(struct lc_layer_ingest *in, const unsigned char *p, size_t n, struct lc_err **err)
{
	if (!n)
		return 0;
	switch (in->comp) {
	case COMP_GZIP:
		return feed_gzip(in, p, n, err);
	case COMP_ZSTD:
		return feed_zstd(in, p, n, err);
	case COMP_NONE:
		return tar_sink(in, p, n, err);
	default:
		return lc_err_set(err, LC_ERR_PROTO, 0, "internal: compression not decided");
	}
}

/* ---------- begin / write / finish ---------- */

/* Cancel the extraction thread, if it runs, and wait for it. */
static void stop_extractor(struct lc_layer_ingest *in)
{
	if (!in->thr_started)
		return;
	pthread_mutex_lock(&in->mu);
	in->cancel = true;
	pthread_cond_broadcast(&in->cv_get);
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->thr, NULL);
	in->thr_started = false;
}

static void ingest_free(struct lc_layer_ingest *in)
{
	stop_extractor(in);
	while (in->qhead) {
		struct chunk *c = in->qhead;

		in->qhead = c->next;
		free(c);
	}
	free(in->held);
	while (in->spare) {
		struct chunk *c = in->spare;

		in->spare = c->next;
		free(c);
	}
	free(in->cur);
	if (in->z_init)
		inflateEnd(&in->z);
	free(in->isal);
	if (in->zs)
		ZSTD_freeDStream(in->zs);
	lc_sha256_free(in->h_blob);
	lc_sha256_free(in->h_tar);
	lc_err_free(in->ext_err);
	lc_err_free(in->stream_err);
	lc_strv_free(in->implicit);
	lc_partial_close(&in->partial); /* kept: a later pull resumes from it */
	lc_fhash_free(in->stats.recs);
	if (in->layerfd >= 0)
		close(in->layerfd);
	if (in->tsfd >= 0)
		close(in->tsfd);
	if (in->stage_name) {
		struct lc_err *e = NULL;

		lc_rm_rf_at(in->s->tmpfd, in->stage_name, &e);
		lc_err_free(e);
		free(in->stage_name);
		/* a layer that never became visible leaves nothing: what it added to the pool is
		 * linked by nothing else now (nor is any other object with a link count of 1) */
		if (!in->committed && in->pool.fd >= 0)
			lc_pool_sweep(in->s, NULL, NULL);
	}
	if (in->stagefd >= 0)
		close(in->stagefd);
	if (in->lockfd >= 0)
		close(in->lockfd); /* releases the chain id lock */
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cv_put);
	pthread_cond_destroy(&in->cv_get);
	free(in);
}

void lc_store_layer_abort(struct lc_layer_ingest *in)
{
	if (in)
		ingest_free(in);
}

/* Feed the bytes of the ingest file through the pass, as if they came from the network. */
static int replay(struct lc_layer_ingest *in, struct lc_err **err)
{
	cleanup_free unsigned char *buf = lc_xmalloc(CHUNK);
	int64_t at = 0;

	while (at < in->partial.len) {
		int64_t left = in->partial.len - at;
		ssize_t n = pread(in->partial.fd, buf, left < CHUNK ? (size_t)left : CHUNK, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* unreadable past here: keep what was fed, record from there */
			lc_partial_truncate(&in->partial, at);
			break;
		}
		if (lc_store_layer_write(in, buf, (size_t)n, err) < 0)
			return -1;
		at += n;
	}
	in->resumed = at;
	return 0;
}

int64_t lc_store_layer_resumed(const struct lc_layer_ingest *in)
{
	return in->resumed;
}

int lc_store_layer_begin(struct lc_store *s, const struct lc_layer_desc *d,
			 struct lc_layer_ingest **ret, struct lc_err **err)
{
	struct lc_layer_ingest *in;
	cleanup_free char *lockname = NULL;
	cleanup_free char *prefix = NULL;
	int r;

	if (lc_digest_check(d->chainid, err) < 0 || lc_digest_check(d->diff_id, err) < 0 ||
	    lc_digest_check(d->digest, err) < 0)
		return -1;
	if (d->size < 0)
		return lc_err_set(err, LC_ERR_PROTO, 0, "negative size %lld", (long long)d->size);
	in = lc_xcalloc(1, sizeof(*in));
	in->s = s;
	in->lockfd = in->stagefd = in->layerfd = in->tsfd = in->partial.fd = in->pool.fd = -1;
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv_put, NULL);
	pthread_cond_init(&in->cv_get, NULL);
	snprintf(in->chainid, sizeof(in->chainid), "%s", d->chainid);
	snprintf(in->diff_id, sizeof(in->diff_id), "%s", d->diff_id);
	snprintf(in->digest, sizeof(in->digest), "%s", d->digest);
	in->size = d->size;
	in->max_unpacked = d->max_unpacked ? d->max_unpacked : LC_LAYER_MAX_UNPACKED;
	in->max_entries = d->max_entries ? d->max_entries : LC_LAYER_MAX_ENTRIES;
	in->max_ratio = d->max_ratio ? d->max_ratio : LC_LAYER_MAX_RATIO;
	in->image_unpacked = d->image_unpacked;
	in->max_image = d->max_image_unpacked ? d->max_image_unpacked : LC_IMAGE_MAX_UNPACKED;

	/* One ingest per chain id at a time, across processes: the second waits, then finds
	 * the layer committed. */
	lockname = lc_xasprintf("locks/%s.lock", lc_digest_hex(d->chainid));
	in->lockfd = lc_store_lock_at(s->tmpfd, lockname, true, err);
	if (in->lockfd < 0)
		goto fail;
	if (lc_store_layer_has(s, d->chainid)) {
		ingest_free(in);
		*ret = NULL;
		return 1;
	}
	if (lc_store_need_libarchive(err) < 0) /* loaded now, before a byte is asked for */
		goto fail;
	if (lc_store_layer_evict(s, d->chainid, err) < 0) /* a damaged one: pulled again */
		goto fail;
	prefix = lc_xasprintf("ingest-%.12s", lc_digest_hex(d->chainid));
	in->stagefd = lc_store_tmp_create(s, prefix, true, &in->stage_name, err);
	if (in->stagefd < 0)
		goto fail;
	if (mkdirat(in->stagefd, "layer", 0700) < 0 ||
	    fchmodat(in->stagefd, "layer", 0755, 0) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "create staging dir");
		goto fail;
	}
	in->layerfd = openat(in->stagefd, "layer", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in->layerfd < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "open staging dir");
		goto fail;
	}
	in->tsfd = openat(in->stagefd, "tarsplit",
			  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (in->tsfd < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "create the tar-split record");
		goto fail;
	}
	in->h_blob = lc_sha256_new();
	in->h_tar = lc_sha256_new();
	/* files shared with other layers go through a name in the staging dir, beside the layer */
	in->pool = (struct lc_pool){ .fd = s->settings.dedup ? s->objectsfd : -1,
				     .scratchfd = in->stagefd,
				     .scratch = "pool-link" };
	r = pthread_create(&in->thr, NULL, extract_thread, in);
	if (r != 0) {
		lc_err_set(err, LC_ERR_SYS, r, "start the extraction thread");
		goto fail;
	}
	in->thr_started = true;
	lc_partial_open(s, d->digest, d->size, &in->partial);
	if (in->partial.len && replay(in, err) < 0)
		goto fail;
	*ret = in;
	return 0;
fail:
	ingest_free(in);
	return -1;
}

int lc_store_layer_write(struct lc_layer_ingest *in, const void *buf, size_t len,
			 struct lc_err **err)
{
	const unsigned char *p = buf;

	if (in->state != ST_OPEN)
		return lc_err_set(err, LC_ERR_INVALID, 0, "write after failure or finish");
	if (len > (uint64_t)(in->size - in->n_blob)) {
		in->state = ST_FAILED;
		lc_partial_remove(in->s, &in->partial); /* not this blob */
		return lc_err_set(err, LC_ERR_DIGEST, 0, "more than the %lld bytes announced",
				  (long long)in->size);
	}
	lc_partial_append(in->s, &in->partial, p, len, in->n_blob);
	lc_sha256_update(in->h_blob, p, len);
	in->n_blob += (int64_t)len;
	if (in->stream_err)
		return 0;
	if (in->comp == COMP_UNKNOWN) {
		size_t take = sizeof(in->head) - in->n_head;

		if (take > len)
			take = len;
		memcpy(in->head + in->n_head, p, take);
		in->n_head += take;
		p += take;
		len -= take;
		if (in->n_head < sizeof(in->head))
			return 0;
		if (decide(in, &in->stream_err) < 0 ||
		    feed(in, in->head, in->n_head, &in->stream_err) < 0)
			return 0;
	}
	feed(in, p, len, &in->stream_err);
	return 0;
}

static int finish_check(struct lc_layer_ingest *in, struct lc_err **err)
{
	char got[LC_DIGEST_BUFSZ], got_tar[LC_DIGEST_BUFSZ];
	/* the stream's own error, reported after the digests */
	struct lc_err *serr = TAKE_PTR(in->stream_err);
	int ext_rc;

	if (!serr && in->comp == COMP_UNKNOWN)
		if (decide(in, &serr) == 0)
			feed(in, in->head, in->n_head, &serr);
	if (!serr && in->comp == COMP_GZIP && !in->z_end)
		lc_err_set(&serr, LC_ERR_PROTO, 0, "truncated gzip stream");
	if (!serr && in->comp == COMP_ZSTD && in->zs_last != 0)
		lc_err_set(&serr, LC_ERR_PROTO, 0, "truncated zstd stream");
	if (!serr)
		queue_push(in, &serr);
	pthread_mutex_lock(&in->mu);
	in->eof = true;
	pthread_cond_broadcast(&in->cv_get);
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->thr, NULL);
	in->thr_started = false;
	ext_rc = in->ext_rc;

	/* what was announced first, then the stream, then what it unpacked to */
	if (in->n_blob != in->size) {
		lc_err_free(serr);
		return lc_err_set(err, LC_ERR_DIGEST, 0,
				  "size mismatch: expected %lld bytes, got %lld",
				  (long long)in->size, (long long)in->n_blob);
	}
	lc_sha256_final(in->h_blob, got);
	if (strcmp(got, in->digest) != 0) {
		lc_err_free(serr);
		return lc_err_set(err, LC_ERR_DIGEST, 0, "digest mismatch: expected %s, got %s",
				  in->digest, got);
	}
	if (serr)
		return lc_err_move(err, &serr);
	if (ext_rc < 0)
		return lc_err_move(err, &in->ext_err);
	lc_sha256_final(in->h_tar, got_tar);
	if (strcmp(got_tar, in->diff_id) != 0)
		return lc_err_set(err, LC_ERR_DIGEST, 0, "diff_id mismatch: expected %s, got %s",
				  in->diff_id, got_tar);
	return 0;
}

int lc_store_layer_finish(struct lc_layer_ingest *in, struct lc_err **err)
{
	struct lc_err *e = NULL;

	if (in->state != ST_OPEN) {
		/* a failed write: still stop the extractor and drop the staging dir */
		in->state = ST_FAILED;
		lc_err_set(err, LC_ERR_INVALID, 0, "finish after a failed write");
		goto fail;
	}
	if (finish_check(in, &e) < 0) {
		lc_err_move(err, &e);
		goto fail;
	}
	in->state = ST_FINISHED;
	return 0;
fail:
	lc_err_free(e);
	in->state = ST_FAILED;
	/* the bytes are not this blob's (or not a layer): nothing to resume from */
	lc_partial_remove(in->s, &in->partial);
	stop_extractor(in);
	if (in->layerfd >= 0) {
		struct lc_err *ign = NULL;

		close(in->layerfd);
		in->layerfd = -1;
		lc_rm_rf_at(in->stagefd, "layer", &ign);
		lc_err_free(ign);
	}
	return -1;
}

/* ---------- commit ---------- */

static int write_meta(struct lc_layer_ingest *in, const char *link, struct lc_err **err)
{
	json_auto_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "chainid", in->chainid,
				   "diff_id", in->diff_id, "digest", in->digest, "size",
				   (json_int_t)in->size, "unpacked", (json_int_t)in->stats.unpacked,
				   "files", (json_int_t)in->stats.files, "link", link);
	cleanup_free char *txt = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;
	cleanup_free char *name = lc_xasprintf("%s.json", lc_digest_hex(in->chainid));
	cleanup_close int fd = -1;

	if (!txt)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "serialize layer metadata");
	fd = openat(in->stagefd, "meta.json", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0 || lc_store_sys_fail(LC_SYS_WRITE) < 0 ||
	    lc_write_all(fd, txt, strlen(txt)) < 0 || fsync(fd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "write layer metadata");
	if (lc_store_sys_fail(LC_SYS_RENAME) < 0 ||
	    renameat(in->stagefd, "meta.json", in->s->layersfd, name) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "publish 'layers/sha256/%s'", name);
	return 0;
}

/* a record of the layer, written in staging (its name: the suffix) as a stream */
static FILE *record_open(struct lc_layer_ingest *in, const char *suffix, const char *what,
			 struct lc_err **err)
{
	int fd = openat(in->stagefd, suffix, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		lc_err_set(err, LC_ERR_SYS, errno, "write %s", what);
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* layers/sha256/<hex>.<suffix>: the record made durable (it is closed) and renamed into place */
static int record_publish(struct lc_layer_ingest *in, const char *suffix, const char *what,
			  FILE **f, struct lc_err **err)
{
	cleanup_free char *name = lc_xasprintf("%s.%s", lc_digest_hex(in->chainid), suffix);
	int bad = lc_store_sys_fail(LC_SYS_WRITE) < 0 || fflush(*f) != 0 || ferror(*f) ||
		  fsync(fileno(*f)) < 0;
	int e = errno;

	if (fclose(*f) != 0 && !bad)
		bad = 1, e = errno;
	*f = NULL;
	if (bad)
		return lc_err_set(err, LC_ERR_SYS, e, "write %s", what);
	if (lc_store_sys_fail(LC_SYS_RENAME) < 0 ||
	    renameat(in->stagefd, suffix, in->s->layersfd, name) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "publish 'layers/sha256/%s'", name);
	return 0;
}

/*
 * layers/sha256/<hex>.objects: the pool objects the layer links, with their bytes on disk, so
 * that du counts each shared inode once without walking a layer. None: no file (one left by
 * a damaged layer of the same chain id goes).
 */
static int drop_objects(struct lc_layer_ingest *in, struct lc_err **err)
{
	cleanup_free char *name = lc_xasprintf("%s.objects", lc_digest_hex(in->chainid));

	if (unlinkat(in->s->layersfd, name, 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "remove 'layers/sha256/%s'", name);
	return 0;
}

/*
 * layers/sha256/<hex>.tarsplit: what save rebuilds the layer's tar from (tarsplit.c). None when
 * it could not be written (one left by a damaged layer of the same chain id goes).
 */
static int publish_tarsplit(struct lc_layer_ingest *in, struct lc_err **err)
{
	cleanup_free char *name = lc_xasprintf("%s.tarsplit", lc_digest_hex(in->chainid));

	if (in->ts_lost) {
		if (unlinkat(in->s->layersfd, name, 0) < 0 && errno != ENOENT)
			return lc_err_set(err, LC_ERR_SYS, errno, "remove 'layers/sha256/%s'",
					  name);
		return 0;
	}
	if (lc_store_sys_fail(LC_SYS_RENAME) < 0 ||
	    renameat(in->stagefd, "tarsplit", in->s->layersfd, name) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "publish 'layers/sha256/%s'", name);
	return 0;
}

static int make_link(struct lc_layer_ingest *in, const char *link, struct lc_err **err)
{
	cleanup_free char *target = lc_xasprintf("../layers/sha256/%s", lc_digest_hex(in->chainid));
	char cur[256];
	ssize_t n;

	if (symlinkat(target, in->s->rootfd, link) == 0)
		return 0;
	if (errno != EEXIST)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", link);
	n = readlinkat(in->s->rootfd, link, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = '\0';
		if (!strcmp(cur, target))
			return 0;
	}
	return lc_err_set(err, LC_ERR_EXISTS, 0, "'%s' already points at another layer", link);
}

/* Milliseconds since *t0 (CLOCK_MONOTONIC), for --trace. */
static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The commit's syncfs, on a thread while the manifest is built. */
struct layer_sync {
	int fd;
	int err_no; /* 0: synced */
	double ms;  /* how long it took (--trace) */
	pthread_t thr;
	bool started;
};

static void *sync_main(void *opaque)
{
	struct layer_sync *ls = opaque;
	struct timespec t0;

	ls->err_no = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (lc_store_sys_fail(LC_SYS_SYNC) < 0 || syncfs(ls->fd) < 0)
		ls->err_no = errno ? errno : EIO;
	ls->ms = ms_since(&t0);
	return NULL;
}

/* Start the sync (on this thread when no thread can be made); -1 with errno if it failed. */
static int sync_start(struct lc_layer_ingest *in, struct layer_sync *ls)
{
	ls->fd = in->layerfd;
	ls->started = pthread_create(&ls->thr, NULL, sync_main, ls) == 0;
	if (ls->started)
		return 0;
	sync_main(ls);
	errno = ls->err_no;
	return ls->err_no ? -1 : 0;
}

/* 0 once the sync is done, -1 if it failed (its errno in err_no). */
static int sync_wait(struct layer_sync *ls)
{
	if (ls->started)
		pthread_join(ls->thr, NULL);
	ls->started = false;
	return ls->err_no ? -1 : 0;
}

int lc_store_layer_commit(struct lc_layer_ingest *in, const char *const *lowers, size_t n_lowers,
			  struct lc_err **err)
{
	struct layer_sync sync = { .fd = -1 };
	cleanup_free int *lfds = NULL;
	cleanup_free char *link = NULL;
	cleanup_fclose FILE *files = NULL;   /* layers/sha256/<hex>.files: verify's manifest */
	cleanup_fclose FILE *objects = NULL; /* <hex>.objects, with dedup (above) */
	struct lc_manifest_walk *walk = NULL;
	size_t opened = 0, n_objects = 0;
	struct timespec t0;
	double walk_ms;
	int r = -1;

	if (in->state != ST_FINISHED) {
		lc_err_set(err, LC_ERR_INVALID, 0, "commit before a successful finish");
		goto out;
	}
	lfds = lc_xcalloc(n_lowers + 1, sizeof(int));
	for (; opened < n_lowers; opened++) {
		if (lc_digest_check(lowers[opened], err) < 0)
			goto out;
		lfds[opened] = openat(in->s->layersfd, lc_digest_hex(lowers[opened]),
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lfds[opened] < 0) {
			lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				   "lower layer %s", lowers[opened]);
			goto out;
		}
	}
	if (lc_extract_fix_implicit(in->layerfd, in->implicit, lfds, n_lowers, err) < 0)
		goto out;
	/* one sync for the whole tree instead of an fsync per file, on a thread of its own while
	 * the manifest's walk reads the tree (the disk's time and the walk's overlap); nothing
	 * is published before it returned */
	if (sync_start(in, &sync) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "sync");
		goto out;
	}
	/* what it takes on disk, counted once here so that du reads it from the metadata
	 * instead of walking the tree (blocks not yet allocated count as reserved: the same
	 * sum before and after the sync); and, from the same walk, the manifest verify checks
	 * the layer against */
	files = record_open(in, "files", "layer manifest", err);
	if (!files || (in->stats.recs &&
		       !(objects = record_open(in, "objects", "layer's pool objects", err)))) {
		sync_wait(&sync);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = lc_layer_manifest_walk(in->stagefd, "layer", in->stats.recs,
				   in->pool.fd >= 0 ? &in->pool : NULL, in->stagefd, true, files,
				   objects, &walk, &in->stats.unpacked, err);
	walk_ms = ms_since(&t0);
	if (sync_wait(&sync) < 0) {
		if (r == 0)
			lc_err_set(err, LC_ERR_SYS, sync.err_no, "sync");
		r = -1;
	}
	if (r < 0) {
		lc_layer_manifest_walk_free(walk);
		goto out;
	}
	/* the files whose blocks the writeback could change, counted now that it is done */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (lc_layer_manifest_settle(walk, &n_objects, &in->stats.unpacked, err) < 0) {
		r = -1;
		goto out;
	}
	lc_trace("layer %s: extracted; commit: manifest's walk %.1f ms, syncfs %.1f ms (side by "
		 "side), then the larger files counted %.1f ms",
		 in->digest, walk_ms, sync.ms, ms_since(&t0));
	r = -1;
	link = lc_xasprintf("l/%.*s", LC_LAYER_SHORT_ID_LEN, lc_digest_hex(in->chainid));
	/* metadata and link first, the dir last: layer_has() means all three are there */
	if (record_publish(in, "files", "layer manifest", &files, err) < 0 ||
	    (n_objects ? record_publish(in, "objects", "layer's pool objects", &objects, err)
		       : drop_objects(in, err)) < 0 ||
	    publish_tarsplit(in, err) < 0 || write_meta(in, link, err) < 0 ||
	    make_link(in, link, err) < 0)
		goto out;
	if (lc_store_sys_fail(LC_SYS_RENAME) < 0 ||
	    renameat(in->stagefd, "layer", in->s->layersfd, lc_digest_hex(in->chainid)) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			lc_err_set(err, LC_ERR_SYS, errno, "rename into 'layers/sha256/%s'",
				   lc_digest_hex(in->chainid));
			goto out;
		}
		/* committed by someone who did not take the lock: theirs is as good as ours */
	}
	lc_partial_remove(in->s, &in->partial);
	in->committed = true;
	r = 0;
out:
	for (size_t i = 0; i < opened; i++)
		close(lfds[i]);
	if (r < 0)
		lc_err_prefix(err, "commit layer %s", in->digest);
	ingest_free(in);
	return r;
}
