/* SPDX-License-Identifier: MIT */
/*
 * store: a layer's tar-split record (layers/sha256/<chain id hex>.tarsplit), what makes `save`
 * give back the very tar a layer was pulled as, byte for byte, so that its diff_id and the
 * image ID stay what they were, without keeping the tar: every byte of the uncompressed stream
 * that is not the content of a regular file the layer holds (headers, PAX records, padding,
 * the trailer, whatever follows it) is kept as it was, and each file's content is a reference
 * to the file in the unpacked layer (like containers/storage's tar-split).
 *
 * Written while the layer is extracted: the extractor's read callback hands every chunk of the
 * stream here (lc_tarsplit_feed) with libarchive's read position, and before a regular file's
 * data is read the extractor says where it starts and how long it is (lc_tarsplit_file).
 * Bytes below libarchive's position are settled (nothing can be declared there any more) and
 * go out as raw bytes; those of a declared file are dropped. So the record holds at most the
 * read-ahead in memory, never a file's content.
 *
 * Format: "LCTSPL1\n", the tar's length (u64 little endian; all ones until the record is
 * complete), then one zstd frame of operations:
 *   'R' varint n, n bytes        raw bytes of the stream
 *   'F' varint size, varint len, len bytes of path   size bytes: the content of path
 *   'E' varint total             the end; total is the tar's length again
 * Replaying it reads each file from the layer (no symlink followed, never leaving the layer),
 * checks its type and size, and hashes what it emits: the caller compares that to the diff_id.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <zstd.h>

#include "store-int.h"

#define TS_MAGIC      "LCTSPL1\n"
#define TS_HDR	      16
#define TS_UNFINISHED UINT64_MAX
#define STAGE	      (64u << 10)
#define BIG	      (32u << 10)

struct lc_tarsplit {
	int fd;
	int err; /* sticky errno of a failed write */
	ZSTD_CCtx *z;
	unsigned char *stage; /* operations gathered before compression */
	size_t n_stage;
	unsigned char *zout; /* compressed, before write */
	/* pending raw bytes: the stream's [pstart, pstart + plen), not yet classified */
	unsigned char *p;
	size_t plen, pcap;
	uint64_t pstart;
	uint64_t pos;	  /* stream bytes seen */
	uint64_t skip_hi; /* bytes below it that are a declared file's content are dropped */
};

static void zwrite(struct lc_tarsplit *t, const void *buf, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { buf, n, 0 };

	if (t->err)
		return;
	for (;;) {
		ZSTD_outBuffer out = { t->zout, ZSTD_CStreamOutSize(), 0 };
		size_t left = ZSTD_compressStream2(t->z, &out, &in, mode);

		if (ZSTD_isError(left)) {
			t->err = ENOMEM;
			return;
		}
		if (out.pos && lc_write_all(t->fd, t->zout, out.pos) < 0) {
			t->err = errno ? errno : EIO;
			return;
		}
		if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
			return;
	}
}

static void stage_flush(struct lc_tarsplit *t)
{
	if (t->n_stage)
		zwrite(t, t->stage, t->n_stage, ZSTD_e_continue);
	t->n_stage = 0;
}

static void emit(struct lc_tarsplit *t, const void *buf, size_t n)
{
	if (n >= BIG) {
		stage_flush(t);
		zwrite(t, buf, n, ZSTD_e_continue);
		return;
	}
	if (t->n_stage + n > STAGE)
		stage_flush(t);
	memcpy(t->stage + t->n_stage, buf, n);
	t->n_stage += n;
}

static void emit_varint(struct lc_tarsplit *t, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n] = v & 0x7f;
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	emit(t, b, n);
}

static void emit_raw(struct lc_tarsplit *t, const unsigned char *buf, size_t n)
{
	if (!n)
		return;
	emit(t, "R", 1);
	emit_varint(t, n);
	emit(t, buf, n);
}

/* The pending bytes below `to` go out raw. */
static void settle(struct lc_tarsplit *t, uint64_t to)
{
	size_t n;

	if (!t->plen || to <= t->pstart)
		return;
	n = to - t->pstart < t->plen ? (size_t)(to - t->pstart) : t->plen;
	emit_raw(t, t->p, n);
	memmove(t->p, t->p + n, t->plen - n);
	t->plen -= n;
	t->pstart += n;
}

struct lc_tarsplit *lc_tarsplit_new(int fd)
{
	struct lc_tarsplit *t = lc_xcalloc(1, sizeof(*t));
	unsigned char hdr[TS_HDR];
	uint64_t unfinished = TS_UNFINISHED;

	t->fd = fd;
	t->z = ZSTD_createCCtx();
	if (!t->z)
		abort();
	/* level 1: headers and zero padding shrink 20-50x even so, at a few hundred MB/s */
	ZSTD_CCtx_setParameter(t->z, ZSTD_c_compressionLevel, 1);
	t->stage = lc_xmalloc(STAGE);
	t->zout = lc_xmalloc(ZSTD_CStreamOutSize());
	memcpy(hdr, TS_MAGIC, 8);
	memcpy(hdr + 8, &unfinished, 8);
	if (lc_write_all(fd, hdr, sizeof(hdr)) < 0)
		t->err = errno ? errno : EIO;
	return t;
}

void lc_tarsplit_free(struct lc_tarsplit *t)
{
	if (!t)
		return;
	ZSTD_freeCCtx(t->z);
	free(t->stage);
	free(t->zout);
	free(t->p);
	free(t);
}

void lc_tarsplit_feed(struct lc_tarsplit *t, const void *buf, size_t n, uint64_t settled)
{
	const unsigned char *b = buf;
	size_t skip = 0;

	settle(t, settled);
	if (t->pos < t->skip_hi)
		skip = t->skip_hi - t->pos < n ? (size_t)(t->skip_hi - t->pos) : n;
	if (n > skip) {
		if (!t->plen)
			t->pstart = t->pos + skip;
		if (t->plen + (n - skip) > t->pcap) {
			t->pcap = (t->plen + (n - skip)) * 2;
			t->p = lc_xrealloc(t->p, t->pcap);
		}
		memcpy(t->p + t->plen, b + skip, n - skip);
		t->plen += n - skip;
	}
	t->pos += n;
}

void lc_tarsplit_file(struct lc_tarsplit *t, uint64_t at, uint64_t size, const char *path)
{
	size_t plen = strlen(path);
	uint64_t end = at + size;

	/* at is libarchive's position: at most what it was given, never before what is settled
	 * (else the record is lost, never the layer) */
	if (t->err)
		return;
	if (at > t->pos || (t->plen && at < t->pstart) || at < t->skip_hi) {
		t->err = EINVAL;
		return;
	}
	settle(t, at);
	if (!size)
		return; /* an empty file: nothing to refer to, its header stays raw */
	emit(t, "F", 1);
	emit_varint(t, size);
	emit_varint(t, plen);
	emit(t, path, plen);
	/* the content already read ahead goes; what follows it stays pending */
	if (t->plen) {
		uint64_t drop = end - t->pstart < t->plen ? end - t->pstart : t->plen;

		memmove(t->p, t->p + drop, t->plen - (size_t)drop);
		t->plen -= (size_t)drop;
		t->pstart += drop;
	}
	t->skip_hi = end;
}

void lc_tarsplit_lose(struct lc_tarsplit *t)
{
	if (t && !t->err)
		t->err = EINVAL;
}

int lc_tarsplit_finish(struct lc_tarsplit *t, struct lc_err **err)
{
	uint64_t total = t->pos;

	if (t->skip_hi > t->pos && !t->err)
		t->err = EINVAL; /* a file's content announced but never there */
	settle(t, UINT64_MAX);
	emit(t, "E", 1);
	emit_varint(t, total);
	stage_flush(t);
	zwrite(t, NULL, 0, ZSTD_e_end);
	if (!t->err && pwrite(t->fd, &total, 8, 8) != 8)
		t->err = errno ? errno : EIO;
	if (t->err == EINVAL)
		return lc_err_set(
			err, LC_ERR_PROTO, 0,
			"the tar-split record cannot describe this tar (it lost its place in "
			"the stream, or the tar replaces a path it wrote)");
	if (t->err)
		return lc_err_set(err, LC_ERR_SYS, t->err, "write the layer's tar-split record");
	return 0;
}

/* ---------- replay ---------- */

struct reader {
	int fd;
	ZSTD_DCtx *z;
	unsigned char *in, *out;
	ZSTD_inBuffer ib;
	size_t o_pos, o_len;
	bool eof_in;
	size_t frame_left; /* ZSTD_decompressStream's last hint: 0 once the frame ended */
};

static int bad(struct lc_err **err, const char *what)
{
	return lc_err_set(err, LC_ERR_PROTO, 0, "corrupt tar-split record: %s", what);
}

/* Up to n decompressed bytes into *p (a view into the reader's buffer); 0 at the end. */
static ssize_t rd_some(struct reader *r, const unsigned char **p, size_t n, struct lc_err **err)
{
	while (r->o_pos == r->o_len) {
		ZSTD_outBuffer ob = { r->out, ZSTD_DStreamOutSize(), 0 };
		size_t ret;

		if (r->ib.pos == r->ib.size && !r->eof_in) {
			ssize_t got = read(r->fd, r->in, ZSTD_DStreamInSize());

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return lc_err_set(err, LC_ERR_SYS, errno, "read tar-split record");
			if (got == 0)
				r->eof_in = true;
			r->ib = (ZSTD_inBuffer){ r->in, (size_t)got, 0 };
		}
		if (r->ib.pos == r->ib.size && r->eof_in)
			return 0;
		ret = ZSTD_decompressStream(r->z, &ob, &r->ib);
		if (ZSTD_isError(ret))
			return bad(err, ZSTD_getErrorName(ret));
		r->frame_left = ret;
		r->o_pos = 0;
		r->o_len = ob.pos;
	}
	if (n > r->o_len - r->o_pos)
		n = r->o_len - r->o_pos;
	*p = r->out + r->o_pos;
	r->o_pos += n;
	return (ssize_t)n;
}

static int rd_exact(struct reader *r, void *dst, size_t n, struct lc_err **err)
{
	unsigned char *d = dst;

	while (n) {
		const unsigned char *p = NULL;
		ssize_t got = rd_some(r, &p, n, err);

		if (got < 0)
			return -1;
		if (got == 0 || !p)
			return bad(err, "it ends early");
		memcpy(d, p, (size_t)got);
		d += got;
		n -= (size_t)got;
	}
	return 0;
}

static int rd_varint(struct reader *r, uint64_t *v, struct lc_err **err)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		unsigned char b = 0;

		if (rd_exact(r, &b, 1, err) < 0)
			return -1;
		if (shift == 63 && b > 1)
			break;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return bad(err, "a number is too long");
}

int lc_tarsplit_header(int fd, uint64_t *ret_size, struct lc_err **err)
{
	unsigned char hdr[TS_HDR];
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);

	if (n < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "read tar-split record");
	if (n != TS_HDR || memcmp(hdr, TS_MAGIC, 8) != 0)
		return bad(err, "no header");
	memcpy(ret_size, hdr + 8, 8);
	if (*ret_size == TS_UNFINISHED || *ret_size > INT64_MAX)
		return bad(err, "it was never finished");
	return 0;
}

/* The content of path in the layer (exactly size bytes of a regular file), hashed, out. */
static int emit_file(int layerfd, const char *path, uint64_t size, unsigned char *buf, size_t bufsz,
		     struct lc_sha256 *h, lc_tarsplit_out_fn out, void *opaque, struct lc_err **err)
{
	cleanup_close int fd = lc_openat_beneath(layerfd, path, O_RDONLY, 0);
	struct stat st;

	if (fd < 0)
		return lc_err_set(err, LC_ERR_DIGEST, errno, "'%s' is not in the layer any more",
				  path);
	if (fstat(fd, &st) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return lc_err_set(err, LC_ERR_DIGEST, 0,
				  "'%s' changed in the layer (the tar had a file of %llu bytes)",
				  path, (unsigned long long)size);
	while (size) {
		ssize_t n = read(fd, buf, size < bufsz ? (size_t)size : bufsz);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "read '%s'", path);
		if (n == 0)
			return lc_err_set(err, LC_ERR_DIGEST, 0, "'%s' shrank while read", path);
		lc_sha256_update(h, buf, (size_t)n);
		if (out && out(opaque, buf, (size_t)n, err) < 0)
			return -1;
		size -= (uint64_t)n;
	}
	return 0;
}

/* A path the record names stays in the layer: relative, no ".." component. */
static bool path_ok(const char *path)
{
	if (path[0] == '/')
		return false;
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c)
			c++;
	}
	return true;
}

int lc_tarsplit_replay(int fd, int layerfd, lc_tarsplit_out_fn out, void *opaque,
		       char ret_digest[LC_DIGEST_BUFSZ], struct lc_err **err)
{
	struct reader r = { .fd = fd };
	cleanup_sha256 struct lc_sha256 *h = lc_sha256_new();
	cleanup_free unsigned char *buf = lc_xmalloc(STAGE);
	char path[PATH_MAX];
	uint64_t total, emitted = 0;
	int rc = -1;

	if (lc_tarsplit_header(fd, &total, err) < 0)
		return -1;
	if (lseek(fd, TS_HDR, SEEK_SET) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "seek in tar-split record");
	r.z = ZSTD_createDCtx();
	r.in = lc_xmalloc(ZSTD_DStreamInSize());
	r.out = lc_xmalloc(ZSTD_DStreamOutSize());
	if (!r.z)
		abort();
	for (;;) {
		unsigned char op = 0;
		uint64_t n = 0, plen = 0;

		if (rd_exact(&r, &op, 1, err) < 0)
			goto out;
		if (op == 'E') {
			uint64_t end = 0;

			if (rd_varint(&r, &end, err) < 0)
				goto out;
			if (end != total || emitted != total) {
				bad(err, "its length disagrees with what it holds");
				goto out;
			}
			break;
		}
		if (op != 'R' && op != 'F') {
			bad(err, "unknown operation");
			goto out;
		}
		if (rd_varint(&r, &n, err) < 0)
			goto out;
		if (n > total - emitted) {
			bad(err, "more bytes than its length");
			goto out;
		}
		if (op == 'F') {
			if (rd_varint(&r, &plen, err) < 0)
				goto out;
			if (plen == 0 || plen >= sizeof(path)) {
				bad(err, "a path is empty or too long");
				goto out;
			}
			if (rd_exact(&r, path, (size_t)plen, err) < 0)
				goto out;
			path[plen] = '\0';
			if (memchr(path, '\0', (size_t)plen) || !path_ok(path)) {
				bad(err, "a path leaves the layer");
				goto out;
			}
			if (layerfd >= 0 &&
			    emit_file(layerfd, path, n, buf, STAGE, h, out, opaque, err) < 0)
				goto out;
			emitted += n;
			continue;
		}
		while (n) {
			const unsigned char *p = NULL;
			ssize_t got = rd_some(&r, &p, n < STAGE ? (size_t)n : STAGE, err);

			if (got < 0)
				goto out;
			if (got == 0 || !p) {
				bad(err, "it ends early");
				goto out;
			}
			lc_sha256_update(h, p, (size_t)got);
			if (layerfd >= 0 && out && out(opaque, p, (size_t)got, err) < 0)
				goto out;
			n -= (uint64_t)got;
			emitted += (uint64_t)got;
		}
	}
	lc_sha256_final(h, ret_digest);
	rc = 0;
out:
	ZSTD_freeDCtx(r.z);
	free(r.in);
	free(r.out);
	return rc;
}

/* ---------- the store's side: a committed layer's tar ---------- */

static int open_record(struct lc_store *s, const char *chainid, struct lc_err **err)
{
	cleanup_free char *name = NULL;
	int fd;

	if (lc_digest_check(chainid, err) < 0)
		return -1;
	name = lc_xasprintf("%s.tarsplit", lc_digest_hex(chainid));
	fd = openat(s->layersfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return lc_err_set(
			err, LC_ERR_NOTFOUND, 0,
			"layer %s has no tar-split record (unpacked by an older layerctl, or its "
			"record could not be written): remove the images that use it (rmi, gc) "
			"and pull them again",
			chainid);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'layers/sha256/%s'", name);
	return fd;
}

int lc_store_layer_tar_size(struct lc_store *s, const char *chainid, uint64_t *ret,
			    struct lc_err **err)
{
	cleanup_close int fd = open_record(s, chainid, err);

	if (fd < 0)
		return -1;
	if (lc_tarsplit_header(fd, ret, err) < 0)
		return lc_err_prefix(err, "layer %s", chainid);
	return 0;
}

int lc_store_layer_tar_check(struct lc_store *s, const char *chainid, struct lc_err **err)
{
	cleanup_close int fd = open_record(s, chainid, err);
	char ign[LC_DIGEST_BUFSZ];

	if (fd < 0)
		return -1;
	return lc_tarsplit_replay(fd, -1, NULL, NULL, ign, err);
}

int lc_store_layer_tar(struct lc_store *s, const char *chainid, const char *diff_id,
		       lc_tarsplit_out_fn out, void *opaque, struct lc_err **err)
{
	cleanup_close int fd = open_record(s, chainid, err);
	cleanup_close int layerfd = -1;
	char got[LC_DIGEST_BUFSZ];

	if (fd < 0)
		return -1;
	layerfd = openat(s->layersfd, lc_digest_hex(chainid),
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (layerfd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "layer %s", chainid);
	if (lc_tarsplit_replay(fd, layerfd, out, opaque, got, err) < 0)
		return lc_err_prefix(err, "layer %s (diff_id %s)", chainid, diff_id);
	if (strcmp(got, diff_id) != 0)
		return lc_err_set(
			err, LC_ERR_DIGEST, 0,
			"layer %s changed on disk: its tar hashes to %s, not its diff_id %s "
			"(layerctl verify names the files)",
			chainid, got, diff_id);
	return 0;
}
