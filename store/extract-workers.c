/* SPDX-License-Identifier: MIT */
/*
 * store: file creation on worker threads for the layer writer (extract.c). The reading thread
 * hands a worker a small regular file whole (its name new in the layer, its data read); the
 * worker creates, writes, owns, times, closes and hashes it. Also the table of names created in
 * the layer so far, which tells the reader when it must wait for the workers first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "extract-int.h"

/* ---------- names created so far ---------- */

static uint64_t name_key(const char *path)
{
	uint64_t h = lc_xt_hash_str(path);

	h ^= h >> 29; /* FNV's low bits are weak; bit 0 is the flag */
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	h &= ~NAME_TASK;
	return h ? h : 2;
}

/* The slot of path's key, or the empty one where it would go. */
static uint64_t *name_slot(const struct xt *x, uint64_t k)
{
	size_t i = (size_t)(k >> 1) & (x->names_cap - 1);

	while (x->names[i] && (x->names[i] & ~NAME_TASK) != k)
		i = (i + 1) & (x->names_cap - 1);
	return &x->names[i];
}

/* The flags of path (0 absent, else NAME_TASK or 2). A hash collision only costs a wait. */
uint64_t lc_xt_name_find(const struct xt *x, const char *path)
{
	uint64_t v;

	if (!x->names_cap)
		return 0;
	v = *name_slot(x, name_key(path));
	return v ? (v & NAME_TASK) | 2 : 0;
}

void lc_xt_name_add(struct xt *x, const char *path, bool task)
{
	uint64_t k = name_key(path), *slot;

	if (!x->n_workers)
		return; /* without workers nobody asks */
	if (2 * (x->names_n + 1) > x->names_cap) {
		size_t cap = x->names_cap ? 2 * x->names_cap : 1024;
		uint64_t *old = x->names;
		size_t old_cap = x->names_cap;

		x->names = lc_xcalloc(cap, sizeof(*x->names));
		x->names_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i])
				*name_slot(x, old[i] & ~NAME_TASK) = old[i];
		free(old);
	}
	slot = name_slot(x, k);
	if (!*slot)
		x->names_n++;
	*slot = k | (task ? NAME_TASK : 0);
}

/* ---------- file creation on worker threads ---------- */

#define WQ_MAX_BYTES (2u << 20) /* per worker, queued */
#define WQ_MAX_TASKS 256
#define MAX_WORKERS  4

/* A sleeping worker is woken once this much is queued for it, or when the reader is about to
 * wait (lc_xt_kick, drain, a full queue): not at every file, a futex call and a context
 * switch each. */
#define WAKE_TASKS 8
#define WAKE_BYTES (256u << 10)
/* Finished files whose records go into st.recs together, under one lock. */
#define REC_BATCH 32

/*
 * Each worker has its queue under a lock of its own (the reader and that worker take it; the
 * other worker never does). x->wmu is only for what is shared: the first error, and drain's
 * wait for x->pending (atomic) to reach 0.
 */
struct xworker {
	struct xt *x;
	pthread_t thr;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* tasks queued, or stop */
	pthread_cond_t room; /* the queue half empty, for a reader waiting in submit */
	bool waiting;	     /* on cv, its queue empty */
	bool room_wait;	     /* the reader on room */
	bool stop;
	struct ftask *head, *tail;
	size_t n, bytes;
	struct ftask *done; /* created, their records not yet in st.recs (data freed) */
	size_t n_done;
};

void lc_xt_task_free(struct ftask *t)
{
	if (!t)
		return;
	lc_xt_dirref_put(t->dir);
	free(t->data);
	free(t);
}

/*
 * The content hash (the manifest's, and the pool's key) here, not on the reading thread:
 * hashing was a third of what the reader did for a small file. With dedup, what names its pool
 * object goes into the record (the commit's walk adds it to the pool), and 1 when the pool has
 * it already: the file is a link to the pool's copy, nothing to write.
 */
static int hash_and_share(struct xworker *w, struct ftask *t)
{
	char digest[LC_DIGEST_BUFSZ], key[LC_POOL_NAME_SZ];

	if (t->hole)
		return 0;
	lc_sha256_buf(t->size ? t->data : "", t->size, digest);
	lc_fhash_val_set_digest(&t->rec, digest);
	/* an empty file has no bytes to share, and would gather links by the thousand */
	if (!t->pool || t->size == 0)
		return 0;
	t->rec.share = true;
	t->rec.mode = t->mode & 07777;
	t->rec.uid = t->uid;
	t->rec.gid = t->gid;
	t->rec.sec = t->ts[1].tv_sec;
	t->rec.nsec = (uint32_t)t->ts[1].tv_nsec;
	/* no xattrs here (those files the reader writes) */
	lc_pool_name(key, digest, t->mode, t->uid, t->gid, &t->ts[1], NULL);
	return lc_pool_link_copy(w->x->pool, t->dir->fd, t->name, key, false);
}

static int run_task(struct xworker *w, struct ftask *t, struct lc_err **err)
{
	cleanup_close int fd = -1;
	int dfd = t->dir->fd;

	if (hash_and_share(w, t))
		return 0; /* the pool's copy, linked (its record goes with a batch) */
	if (lc_store_sys_fail(LC_SYS_OPEN) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", t->path);
	/* O_EXCL: the name is new in the layer (lc_xt_name_find), so this never meets an old
	 * inode */
	fd = openat(dfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    t->direct ? t->mode : 0600);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", t->path);
	if (t->size &&
	    (lc_store_sys_fail(LC_SYS_WRITE) < 0 || lc_write_all(fd, t->data, t->size) < 0))
		return lc_err_set(err, LC_ERR_SYS, errno, "write '%s'", t->path);
	/* chown before chmod: chown clears setuid/setgid */
	if ((t->chown && fchown(fd, t->uid, t->gid) < 0) || (!t->direct && fchmod(fd, t->mode) < 0))
		return lc_err_set(err, LC_ERR_SYS, errno, "set owner/mode of '%s'", t->path);
	if (futimens(fd, t->ts) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set times of '%s'", t->path);
	return 0; /* its record goes into st.recs with a batch (flush_done) */
}

/* The finished files' records into st.recs, one lock for all; the tasks freed. */
static int flush_done(struct xworker *w, struct lc_err **err)
{
	struct xt *x = w->x;
	int r = 0;

	if (!w->done)
		return 0;
	pthread_mutex_lock(&x->recs_mu);
	for (struct ftask *t = w->done; t && r == 0; t = t->next)
		r = lc_fhash_put(x->st.recs, t->path, &t->rec, err);
	pthread_mutex_unlock(&x->recs_mu);
	while (w->done) {
		struct ftask *t = w->done;

		w->done = t->next;
		lc_xt_task_free(t);
	}
	w->n_done = 0;
	return r;
}

static void fail(struct xt *x, struct lc_err **e)
{
	pthread_mutex_lock(&x->wmu);
	if (!x->w_err)
		x->w_err = TAKE_PTR(*e);
	pthread_mutex_unlock(&x->wmu);
	__atomic_store_n(&x->w_failed, 1, __ATOMIC_RELEASE);
}

/*
 * Take tasks in order. After each, under the worker's lock once: its count and bytes off the
 * queue, the records of what is done into st.recs when the queue is empty (a reader that
 * drained finds them) or a batch is full, the reader woken if it waits for room; and drain's
 * waiter woken when nothing is pending any more.
 */
static void *worker_main(void *opaque)
{
	struct xworker *w = opaque;
	struct xt *x = w->x;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct ftask *t;
		struct lc_err *e = NULL;
		size_t size;
		bool dropped;
		int rc = 0;

		while (!w->head && !w->stop) {
			w->waiting = true;
			pthread_cond_wait(&w->cv, &w->mu);
			w->waiting = false;
		}
		t = w->head;
		if (!t)
			break;
		w->head = t->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		/* after a failure the layer is lost: the rest is only dropped */
		dropped = __atomic_load_n(&x->w_failed, __ATOMIC_ACQUIRE);
		if (!dropped)
			rc = run_task(w, t, &e);
		size = t->size;
		if (dropped || rc < 0) {
			lc_xt_task_free(t);
		} else { /* its record goes with the next batch */
			free(TAKE_PTR(t->data));
			t->next = w->done;
			w->done = t;
			w->n_done++;
		}
		pthread_mutex_lock(&w->mu);
		w->n--;
		w->bytes -= size;
		if (rc == 0 && (!w->head || w->n_done >= REC_BATCH))
			rc = flush_done(w, &e);
		if (rc < 0)
			fail(x, &e);
		lc_err_free(e);
		if (w->room_wait &&
		    (rc < 0 || (w->n <= WQ_MAX_TASKS / 2 && w->bytes <= WQ_MAX_BYTES / 2)))
			pthread_cond_signal(&w->room);
		if (!__atomic_sub_fetch(&x->pending, 1, __ATOMIC_ACQ_REL)) {
			pthread_mutex_lock(&x->wmu);
			pthread_cond_broadcast(&x->w_idle);
			pthread_mutex_unlock(&x->wmu);
		}
	}
	pthread_mutex_unlock(&w->mu);
	/* stopped after a failure: records of files that no longer matter */
	while (w->done) {
		struct ftask *t = w->done;

		w->done = t->next;
		lc_xt_task_free(t);
	}
	return NULL;
}

/* A worker's error, moved to *err once (-1), or 0. */
int lc_xt_workers_error(struct xt *x, struct lc_err **err)
{
	int r = 0;

	if (!__atomic_load_n(&x->w_failed, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&x->wmu);
	if (x->w_err)
		r = lc_err_move(err, &x->w_err);
	else
		r = lc_err_set(err, LC_ERR_SYS, 0, "file creation failed");
	pthread_mutex_unlock(&x->wmu);
	return r;
}

/* Wake w if it sleeps with tasks queued (fewer than a wake's worth). */
static void kick(struct xworker *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->waiting && w->head)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void lc_xt_kick(struct xt *x)
{
	if (!__atomic_load_n(&x->pending, __ATOMIC_ACQUIRE))
		return;
	for (unsigned i = 0; i < x->n_workers; i++)
		kick(&x->w[i]);
}

/* Wait until every queued file is created: what comes next may touch their names. */
int lc_xt_drain(struct xt *x, struct lc_err **err)
{
	if (!x->n_workers)
		return 0;
	lc_xt_kick(x);
	pthread_mutex_lock(&x->wmu);
	while (__atomic_load_n(&x->pending, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&x->w_idle, &x->wmu);
	pthread_mutex_unlock(&x->wmu);
	return lc_xt_workers_error(x, err);
}

void lc_xt_submit(struct xt *x, struct ftask *t)
{
	struct xworker *w = &x->w[t->dir->worker];

	pthread_mutex_lock(&w->mu);
	while (w->n && (w->n >= WQ_MAX_TASKS || w->bytes + t->size > WQ_MAX_BYTES)) {
		if (w->waiting)
			pthread_cond_signal(&w->cv);
		w->room_wait = true;
		pthread_cond_wait(&w->room, &w->mu);
		w->room_wait = false;
	}
	t->next = NULL;
	if (w->tail)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	w->n++;
	w->bytes += t->size;
	__atomic_add_fetch(&x->pending, 1, __ATOMIC_ACQ_REL);
	if (w->waiting && (w->n >= WAKE_TASKS || w->bytes >= WAKE_BYTES))
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* How many workers: LAYERCTL_EXTRACT_WORKERS (0 to 4: a knob for tests and the bench), else
 * two when there are two CPUs or more, so that file creation is not one thread's work. */
static unsigned workers_wanted(void)
{
	const char *e = getenv("LAYERCTL_EXTRACT_WORKERS");
	long n;

	if (e && *e) {
		char *end;

		n = strtol(e, &end, 10);
		if (!*end && n >= 0 && n <= MAX_WORKERS)
			return (unsigned)n;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 2 ? 2 : 0;
}

void lc_xt_workers_start(struct xt *x)
{
	unsigned want = workers_wanted();

	if (!want)
		return;
	x->w = lc_xcalloc(want, sizeof(*x->w));
	x->w_alloc = want;
	for (unsigned i = 0; i < want; i++) {
		struct xworker *w = &x->w[i];

		w->x = x;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		pthread_cond_init(&w->room, NULL);
		if (pthread_create(&w->thr, NULL, worker_main, w) != 0)
			break; /* fewer workers (none: the reader writes every file) */
		w->started = true;
		x->n_workers = i + 1;
	}
}

/* Finish what is queued (dropped after a failure), stop the workers. */
void lc_xt_workers_stop(struct xt *x)
{
	struct lc_err *e = NULL;

	if (!x->w)
		return;
	lc_xt_drain(x, &e);
	lc_err_free(e);
	for (unsigned i = 0; i < x->n_workers; i++) {
		pthread_mutex_lock(&x->w[i].mu);
		x->w[i].stop = true;
		pthread_cond_signal(&x->w[i].cv);
		pthread_mutex_unlock(&x->w[i].mu);
	}
	for (unsigned i = 0; i < x->w_alloc; i++) {
		if (x->w[i].started)
			pthread_join(x->w[i].thr, NULL);
		pthread_mutex_destroy(&x->w[i].mu);
		pthread_cond_destroy(&x->w[i].cv);
		pthread_cond_destroy(&x->w[i].room);
	}
	free(x->w);
	x->w = NULL;
	x->n_workers = 0;
}
