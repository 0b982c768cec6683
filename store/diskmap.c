/* SPDX-License-Identifier: MIT */
/*
 * store: a map of fixed-size records whose memory is bounded, for what grows with a layer's
 * entries (the path -> content hash and pool object records the extractor keeps for the
 * commit's manifest, the set of pool objects the manifest's walk has seen). Keys are 16-byte
 * fingerprints the caller computes (a truncated sha256 of a path or a name: no input makes two
 * collide in practice, so what they stand for is never stored), values vsize bytes.
 *
 * A hash table (open addressing, linear probing, load at most 3/4) in memory, grown while it
 * takes at most mem_max bytes. When it is full at that size it is written whole to a file in
 * a scratch dir (the ingest's staging dir, removed with it) as one more frozen table, and
 * starts again empty. A lookup probes the table in memory, then the frozen tables newest
 * first, each by a pread of a few slots where the key's probe starts. So writes are only
 * ever appends of a whole table, sequential (a hash table updated in place in a file dirtied
 * pages at random: the commit's syncfs then wrote them one by one, and a 200,000-entry pull
 * took seconds longer); reads come from the page cache. Not mmap: mapped pages count in the
 * process's RSS, the page cache behind pread does not. A layer of up to some 40,000 files
 * never writes the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "store-int.h"

#define KEY_SZ	     16
#define WINDOW_BYTES 512 /* read at once when probing a frozen table: a few slots */

struct lc_dmap {
	size_t vsize, slot; /* value bytes; KEY_SZ + vsize */
	size_t cap, n;	    /* slots of the table in memory (a power of two), used */
	size_t cap_max;	    /* the biggest table mem_max allows: every frozen one's size */
	unsigned char *mem;
	unsigned char *val; /* a value read and dropped (an add's lookup) */
	int dirfd;	    /* the scratch dir (borrowed) */
	int fd;		    /* the frozen tables, one after the other (-1: none yet) */
	size_t n_frozen;    /* how many */
	char name[64];
	size_t window;	    /* slots read at once from the file */
	unsigned char *win; /* that many slots read from the file */
};

static bool key_empty(const unsigned char *k)
{
	static const unsigned char zero[KEY_SZ];

	return !memcmp(k, zero, KEY_SZ);
}

/* A key never reads as an empty slot: its last bit is always set. */
static void key_norm(unsigned char out[KEY_SZ], const unsigned char *k)
{
	memcpy(out, k, KEY_SZ);
	out[KEY_SZ - 1] |= 1;
}

static size_t key_home(const unsigned char *k, size_t cap)
{
	uint64_t h;

	memcpy(&h, k, sizeof(h));
	return (size_t)h & (cap - 1);
}

static size_t mem_max_for_test;

void lc_dmap_mem_max_for_test(size_t mem_max)
{
	mem_max_for_test = mem_max;
}

struct lc_dmap *lc_dmap_new(int dirfd, const char *name, size_t vsize, size_t mem_max)
{
	struct lc_dmap *m = lc_xcalloc(1, sizeof(*m));

	if (mem_max_for_test)
		mem_max = mem_max_for_test;

	m->vsize = vsize;
	m->slot = KEY_SZ + vsize;
	m->dirfd = dirfd;
	m->fd = -1;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->cap = 8;
	m->cap_max = 8;
	while (m->cap_max * 2 * m->slot <= mem_max)
		m->cap_max *= 2;
	m->mem = lc_xcalloc(m->cap, m->slot);
	m->val = lc_xmalloc(vsize + 1);
	return m;
}

void lc_dmap_free(struct lc_dmap *m)
{
	if (!m)
		return;
	if (m->fd >= 0) {
		close(m->fd);
		unlinkat(m->dirfd, m->name, 0);
	}
	free(m->mem);
	free(m->val);
	free(m->win);
	free(m);
}

size_t lc_dmap_frozen(const struct lc_dmap *m)
{
	return m->n_frozen;
}

static int io_err(struct lc_err **err, int e, const char *what, const struct lc_dmap *m)
{
	return lc_err_set(err, LC_ERR_SYS, e, "%s the scratch table '%s'", what, m->name);
}

/* The slot of the table in memory holding key, or the empty one where it would go. */
static unsigned char *mem_find(const struct lc_dmap *m, const unsigned char *key)
{
	size_t i = key_home(key, m->cap);

	for (;;) {
		unsigned char *s = m->mem + i * m->slot;

		if (key_empty(s) || !memcmp(s, key, KEY_SZ))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

/* Probe frozen table t for key: 1 and the value in val, 0 when it is not there. */
static int frozen_find(struct lc_dmap *m, size_t t, const unsigned char *key, void *val,
		       struct lc_err **err)
{
	off_t base = (off_t)(t * m->cap_max * m->slot);
	size_t i = key_home(key, m->cap_max);

	for (size_t probed = 0; probed < m->cap_max;) {
		/* a window of slots from i, not across the table's end */
		size_t w = m->cap_max - i < m->window ? m->cap_max - i : m->window;
		ssize_t r;

		if (lc_store_sys_fail(LC_SYS_SCRATCH) < 0)
			return io_err(err, errno, "read", m);
		r = pread(m->fd, m->win, w * m->slot, base + (off_t)(i * m->slot));
		if (r != (ssize_t)(w * m->slot))
			return io_err(err, r < 0 ? errno : EIO, "read", m);
		for (size_t j = 0; j < w; j++) {
			const unsigned char *s = m->win + j * m->slot;

			if (key_empty(s))
				return 0;
			if (!memcmp(s, key, KEY_SZ)) {
				if (m->vsize)
					memcpy(val, s + KEY_SZ, m->vsize);
				return 1;
			}
		}
		probed += w;
		i = (i + w) & (m->cap_max - 1);
	}
	return 0; /* never: a frozen table is at most 3/4 full */
}

/* The table in memory, full at its biggest: appended to the file, and emptied. */
static int freeze(struct lc_dmap *m, struct lc_err **err)
{
	size_t len = m->cap * m->slot;
	off_t off = (off_t)(m->n_frozen * len);

	if (m->fd < 0) {
		unlinkat(m->dirfd, m->name, 0); /* debris of an earlier map of that name */
		if (lc_store_sys_fail(LC_SYS_SCRATCH) < 0)
			return io_err(err, errno, "create", m);
		m->fd = openat(m->dirfd, m->name,
			       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (m->fd < 0)
			return io_err(err, errno, "create", m);
		m->window = WINDOW_BYTES / m->slot ? WINDOW_BYTES / m->slot : 1;
		m->win = lc_xmalloc(m->window * m->slot);
	}
	if (lc_store_sys_fail(LC_SYS_SCRATCH) < 0 || lc_pwrite_all(m->fd, m->mem, len, off) < 0)
		return io_err(err, errno, "write", m);
	m->n_frozen++;
	memset(m->mem, 0, len);
	m->n = 0;
	return 0;
}

/* Room for one more key in memory: a bigger table while mem_max allows, else freeze it. */
static int make_room(struct lc_dmap *m, struct lc_err **err)
{
	unsigned char *old = m->mem;
	size_t old_cap = m->cap;

	if ((m->n + 1) * 4 <= m->cap * 3)
		return 0;
	if (m->cap >= m->cap_max)
		return freeze(m, err);
	m->cap *= 2;
	m->mem = lc_xcalloc(m->cap, m->slot);
	for (size_t i = 0; i < old_cap; i++) {
		const unsigned char *s = old + i * m->slot;

		if (!key_empty(s))
			memcpy(mem_find(m, s), s, m->slot);
	}
	free(old);
	return 0;
}

int lc_dmap_get(struct lc_dmap *m, const unsigned char *key, void *val, struct lc_err **err)
{
	unsigned char k[KEY_SZ];
	const unsigned char *s;

	if (!val)
		val = m->val;
	key_norm(k, key);
	s = mem_find(m, k);
	if (!key_empty(s)) {
		if (m->vsize)
			memcpy(val, s + KEY_SZ, m->vsize);
		return 1;
	}
	/* newest first: a key frozen twice has its latest value in the later table */
	for (size_t t = m->n_frozen; t-- > 0;) {
		int r = frozen_find(m, t, k, val, err);

		if (r != 0)
			return r;
	}
	return 0;
}

int lc_dmap_put(struct lc_dmap *m, const unsigned char *key, const void *val, bool replace,
		struct lc_err **err)
{
	unsigned char k[KEY_SZ], *s;

	key_norm(k, key);
	if (!replace) {
		int r = lc_dmap_get(m, key, m->val, err);

		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	s = mem_find(m, k);
	if (key_empty(s)) {
		/* a new key here (it may be frozen already: this is its newer value) */
		if (make_room(m, err) < 0)
			return -1;
		s = mem_find(m, k);
		m->n++;
	}
	memcpy(s, k, KEY_SZ);
	if (m->vsize)
		memcpy(s + KEY_SZ, val, m->vsize);
	return 1;
}
