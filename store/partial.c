/* SPDX-License-Identifier: MIT */
/*
 * store: the ingest file of a blob being pulled (containerd's content store keeps the same):
 * tmp/partial-<hex of the blob digest> holds the compressed bytes that arrived, appended as
 * they stream through the layer's single pass and flocked by the pull that writes them. A
 * pull killed or failed midway leaves it; the next one replays it through the same pass and
 * asks the registry only for the rest. It goes when its layer commits, when its bytes prove
 * wrong, or when the tmp/ sweep finds it unlocked and a day old.
 *
 * A big blob's bytes are not written through the page cache: copying them there cost the
 * download's thread as much CPU as inflating them on this kind of machine, and the commit's
 * syncfs then wrote them out again. They are gathered into two aligned buffers that a thread
 * of this file writes with O_DIRECT while the next one fills; the tail (or everything, where
 * the filesystem refuses O_DIRECT) goes through the page cache as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "store-int.h"

#define PW_BUF	 (1u << 20)
#define PW_ALIGN 4096u

struct lc_partial_writer {
	int dfd; /* the same file, opened O_DIRECT */
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a buffer handed over, its write done, or stop */
	unsigned char *buf[2];
	unsigned fill; /* the buffer being filled, at base (a multiple of PW_ALIGN) */
	int64_t base;
	size_t n;
	unsigned char *out; /* the buffer the thread writes, at out_at; NULL: idle */
	int64_t out_at;
	bool stop;
	int err; /* a write failed: nothing more is recorded */
};

/* lc_pwrite_all's errno, or 0 */
static int pwrite_full(int fd, const unsigned char *b, size_t len, int64_t at)
{
	return lc_pwrite_all(fd, b, len, at) < 0 ? errno : 0;
}

static void *writer_main(void *opaque)
{
	struct lc_partial_writer *w = opaque;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		unsigned char *b;
		int64_t at;
		int e;

		while (!w->out && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->out)
			break;
		b = w->out;
		at = w->out_at;
		pthread_mutex_unlock(&w->mu);
		e = pwrite_full(w->dfd, b, PW_BUF, at);
		pthread_mutex_lock(&w->mu);
		if (e && !w->err)
			w->err = e;
		w->out = NULL;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Wait for the buffer being written; its errno, or 0. */
static int writer_idle(struct lc_partial_writer *w)
{
	int e;

	pthread_mutex_lock(&w->mu);
	while (w->out)
		pthread_cond_wait(&w->cv, &w->mu);
	e = w->err;
	pthread_mutex_unlock(&w->mu);
	return e;
}

/* Stop the thread (what it writes is finished first) and free everything. */
static void writer_free(struct lc_partial_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	close(w->dfd);
	free(w->buf[0]);
	free(w->buf[1]);
	free(w);
}

/*
 * A writer for p, appending at p->len (the block it starts in read back into the first
 * buffer, to be written whole). NULL where O_DIRECT is refused (tmpfs before 6.6, say) or
 * anything else fails: the bytes then go through the page cache.
 */
static struct lc_partial_writer *writer_new(struct lc_store *s, const struct lc_partial *p)
{
	struct lc_partial_writer *w = lc_xcalloc(1, sizeof(*w));
	struct stat a, b;
	struct statx sx;
	void *m0 = NULL, *m1 = NULL;

	w->dfd = openat(s->tmpfd, p->name, O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
	if (w->dfd < 0)
		goto fail;
	if (fstat(w->dfd, &a) < 0 || fstat(p->fd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		goto fail;
	/* what direct I/O needs here, where the kernel says (6.1 on): 4 KiB alignment must do */
	if (statx(w->dfd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) &&
	    (!sx.stx_dio_offset_align || sx.stx_dio_offset_align > PW_ALIGN ||
	     sx.stx_dio_mem_align > PW_ALIGN))
		goto fail;
	if (posix_memalign(&m0, PW_ALIGN, PW_BUF) != 0 ||
	    posix_memalign(&m1, PW_ALIGN, PW_BUF) != 0)
		goto fail;
	w->buf[0] = m0;
	w->buf[1] = m1;
	m0 = m1 = NULL;
	w->base = p->len & ~(int64_t)(PW_ALIGN - 1);
	w->n = (size_t)(p->len - w->base);
	for (size_t got = 0; got < w->n;) {
		ssize_t r = pread(p->fd, w->buf[0] + got, w->n - got, w->base + (int64_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		got += (size_t)r;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thr, NULL, writer_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		goto fail;
	}
	return w;
fail:
	if (w->dfd >= 0)
		close(w->dfd);
	free(m0);
	free(m1);
	free(w->buf[0]);
	free(w->buf[1]);
	free(w);
	return NULL;
}

/* Buffer len bytes; each full buffer goes to the thread. Its errno, or 0. */
static int writer_put(struct lc_partial_writer *w, const char *c, size_t len)
{
	while (len) {
		size_t take = PW_BUF - w->n;

		if (take > len)
			take = len;
		memcpy(w->buf[w->fill] + w->n, c, take);
		w->n += take;
		c += take;
		len -= take;
		if (w->n < PW_BUF)
			break;
		pthread_mutex_lock(&w->mu);
		while (w->out)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->err) {
			int e = w->err;

			pthread_mutex_unlock(&w->mu);
			return e;
		}
		w->out = w->buf[w->fill];
		w->out_at = w->base;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		w->fill ^= 1;
		w->base += PW_BUF;
		w->n = 0;
	}
	return 0;
}

/* What is buffered, into the file (the tail through the page cache). Its errno, or 0. */
static int writer_flush(struct lc_partial_writer *w, int fd)
{
	int e = writer_idle(w);

	if (!e && w->n)
		e = pwrite_full(fd, w->buf[w->fill], w->n, w->base);
	/* the next bytes, if any, start a new block: read back by a writer of their own */
	w->base += (int64_t)w->n;
	w->n = 0;
	return e;
}

void lc_partial_name(const char *digest, char out[LC_PARTIAL_NAME_SZ])
{
	snprintf(out, LC_PARTIAL_NAME_SZ, "%s%s", LC_PARTIAL_PREFIX, lc_digest_hex(digest));
}

void lc_partial_open(struct lc_store *s, const char *digest, int64_t size, struct lc_partial *ret)
{
	const char *knob = getenv("LAYERCTL_RESUME_FILE");
	cleanup_close int fd = -1;
	struct stat a, b;

	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
	ret->size = size;
	/* LAYERCTL_RESUME_FILE=0: nothing recorded (the bench measures what recording costs) */
	if (knob && !strcmp(knob, "0"))
		return;
	lc_partial_name(digest, ret->name);
	/* (no fault injection here: the ingest file never fails a pull) */
	fd = openat(s->tmpfd, ret->name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return; /* no resume for this one: the pull itself goes on */
	/* another pull records this blob (for another chain id): it keeps the file, we do not */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return;
	/* a sweep may have removed the name between our open and our flock */
	if (fstat(fd, &a) < 0 || fstatat(s->tmpfd, ret->name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino || !S_ISREG(a.st_mode))
		return;
	ret->len = a.st_size;
	if (ret->len > size) { /* not this blob's bytes: start afresh */
		if (ftruncate(fd, 0) < 0)
			return;
		ret->len = 0;
	}
	ret->fd = TAKE_FD(fd);
}

void lc_partial_append(struct lc_store *s, struct lc_partial *p, const void *buf, size_t len,
		       int64_t at)
{
	const char *c = buf;

	if (p->fd < 0 || at + (int64_t)len <= p->len)
		return; /* nothing to record, or bytes replayed from the file itself */
	if (at < p->len) {
		c += p->len - at;
		len -= (size_t)(p->len - at);
		at = p->len;
	}
	if (at != p->len)
		return; /* a gap cannot happen: the pass is sequential */
	if (!p->w && !p->buffered && p->size >= (int64_t)LC_PARTIAL_DIRECT_MIN &&
	    p->len < p->size) {
		p->w = writer_new(s, p);
		p->buffered = !p->w;
	}
	if (p->w) {
		p->len += (int64_t)len;
		/* the blob's last byte: all of it in the file now, never asked for again */
		if (writer_put(p->w, c, len) != 0 ||
		    (p->len == p->size && writer_flush(p->w, p->fd) != 0))
			lc_partial_remove(s, p); /* a full disk, say: give the space back */
		return;
	}
	if (pwrite_full(p->fd, (const unsigned char *)c, len, at) != 0) {
		/* a full disk, say: give the space back, record no more */
		lc_partial_remove(s, p);
		return;
	}
	p->len = at + (int64_t)len;
}

void lc_partial_truncate(struct lc_partial *p, int64_t len)
{
	if (p->fd < 0 || p->w)
		return;
	p->len = len;
	if (ftruncate(p->fd, len) < 0)
		lc_partial_close(p);
}

void lc_partial_close(struct lc_partial *p)
{
	if (p->w) {
		/* a full disk now: what did reach the file is still good to resume from */
		writer_flush(p->w, p->fd);
		writer_free(TAKE_PTR(p->w));
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

void lc_partial_remove(struct lc_store *s, struct lc_partial *p)
{
	writer_free(TAKE_PTR(p->w)); /* what it buffered is dropped with the file */
	if (p->fd >= 0)		     /* only the holder of the lock removes the name */
		unlinkat(s->tmpfd, p->name, 0);
	lc_partial_close(p);
}
