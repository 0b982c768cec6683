/* SPDX-License-Identifier: MIT */
/*
 * store: the ingest file of a blob being pulled (containerd's content store keeps the same):
 * tmp/partial-<hex of the blob digest> holds the compressed bytes that arrived, appended as
 * they stream through the layer's single pass and flocked by the pull that writes them. A
 * pull killed or failed midway leaves it; the next one replays it through the same pass and
 * asks the registry only for the rest. It goes when its layer commits, when its bytes prove
 * wrong, or when the tmp/ sweep finds it unlocked and a day old.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "store-int.h"

void lc_partial_name(const char *digest, char out[LC_PARTIAL_NAME_SZ])
{
	snprintf(out, LC_PARTIAL_NAME_SZ, "%s%s", LC_PARTIAL_PREFIX, lc_digest_hex(digest));
}

void lc_partial_open(struct lc_store *s, const char *digest, int64_t size, struct lc_partial *ret)
{
	cleanup_close int fd = -1;
	struct stat a, b;

	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
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
	while (len) {
		ssize_t n = pwrite(p->fd, c, len, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a full disk, say: give the space back, record no more */
			lc_partial_remove(s, p);
			return;
		}
		c += n;
		len -= (size_t)n;
		at += n;
		p->len = at;
	}
}

void lc_partial_close(struct lc_partial *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

void lc_partial_remove(struct lc_store *s, struct lc_partial *p)
{
	if (p->fd >= 0) /* only the holder of the lock removes the name */
		unlinkat(s->tmpfd, p->name, 0);
	lc_partial_close(p);
}
