/* SPDX-License-Identifier: MIT */
/*
 * store: file creation on worker threads for the layer writer (extract.c). The reading thread
 * hands a worker a small regular file whole (its name new in the layer, its data read); the
 * worker creates, writes, owns, times, closes and pools it. Also the table of names created in
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

struct xworker {
	struct xt *x;
	pthread_t thr;
	bool started;
	pthread_cond_t cv; /* a task queued, or stop */
	struct ftask *head, *tail;
	size_t n, bytes;
	struct lc_pool pool; /* the store's, with a scratch name of this worker's own */
	char scratch[24];
};

void lc_xt_task_free(struct ftask *t)
{
	if (!t)
		return;
	lc_xt_dirref_put(t->dir);
	free(t->data);
	free(t);
}

static int run_task(struct xt *x, struct xworker *w, struct ftask *t, struct lc_err **err)
{
	cleanup_close int fd = -1;
	int dfd = t->dir->fd;

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
	/* the content hash (the manifest's, and the pool's key) here, not on the reading
	 * thread: hashing was a third of what the reader did for a small file */
	if (!t->hole) {
		char digest[LC_DIGEST_BUFSZ];

		lc_sha256_buf(t->size ? t->data : "", t->size, digest);
		lc_fhash_val_set_digest(&t->rec, digest);
		/* an empty file has no bytes to share, and would gather links by the thousand */
		if (t->pool && t->size > 0)
			lc_pool_name(t->key, digest, t->mode, t->uid, t->gid, &t->ts[1], NULL);
		else
			t->pool = false;
	}
	if (t->pool && lc_pool_share(&w->pool, dfd, t->name, t->key)) {
		/* what names the object again at commit (lc_pool_name; no xattrs here) */
		t->rec.pooled = true;
		t->rec.mode = t->mode & 07777;
		t->rec.uid = t->uid;
		t->rec.gid = t->gid;
		t->rec.sec = t->ts[1].tv_sec;
		t->rec.nsec = (uint32_t)t->ts[1].tv_nsec;
	}
	return lc_xt_rec_put(x, t->path, &t->rec, err);
}

static void *worker_main(void *opaque)
{
	struct xworker *w = opaque;
	struct xt *x = w->x;

	pthread_mutex_lock(&x->wmu);
	for (;;) {
		struct ftask *t;
		struct lc_err *e = NULL;
		int rc = 0;

		while (!w->head && !x->w_stop)
			pthread_cond_wait(&w->cv, &x->wmu);
		t = w->head;
		if (!t)
			break;
		w->head = t->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&x->wmu);
		/* after a failure the layer is lost: the rest is only dropped */
		if (!__atomic_load_n(&x->w_failed, __ATOMIC_ACQUIRE))
			rc = run_task(x, w, t, &e);
		pthread_mutex_lock(&x->wmu);
		if (rc < 0) {
			if (!x->w_err)
				x->w_err = TAKE_PTR(e);
			__atomic_store_n(&x->w_failed, 1, __ATOMIC_RELEASE);
		}
		lc_err_free(e);
		w->n--;
		w->bytes -= t->size;
		/* the reader waits for room in a full queue (submit) or for none pending (drain):
		 * woken once the queue is half empty, not at every task (a futex wake and a
		 * context switch each) */
		if (!__atomic_sub_fetch(&x->pending, 1, __ATOMIC_RELEASE) || rc < 0 ||
		    (w->n <= WQ_MAX_TASKS / 2 && w->bytes <= WQ_MAX_BYTES / 2))
			pthread_cond_broadcast(&x->w_idle);
		pthread_mutex_unlock(&x->wmu);
		lc_xt_task_free(t);
		pthread_mutex_lock(&x->wmu);
	}
	pthread_mutex_unlock(&x->wmu);
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

/* Wait until every queued file is created: what comes next may touch their names. */
int lc_xt_drain(struct xt *x, struct lc_err **err)
{
	if (!x->n_workers)
		return 0;
	pthread_mutex_lock(&x->wmu);
	while (__atomic_load_n(&x->pending, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&x->w_idle, &x->wmu);
	pthread_mutex_unlock(&x->wmu);
	return lc_xt_workers_error(x, err);
}

void lc_xt_submit(struct xt *x, struct ftask *t)
{
	struct xworker *w = &x->w[t->dir->worker];

	pthread_mutex_lock(&x->wmu);
	while (w->n && (w->n >= WQ_MAX_TASKS || w->bytes + t->size > WQ_MAX_BYTES))
		pthread_cond_wait(&x->w_idle, &x->wmu);
	t->next = NULL;
	if (w->tail)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	w->n++;
	w->bytes += t->size;
	__atomic_add_fetch(&x->pending, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&x->wmu);
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

void lc_xt_workers_start(struct xt *x, const struct lc_pool *pool)
{
	unsigned want = workers_wanted();

	if (!want)
		return;
	x->w = lc_xcalloc(want, sizeof(*x->w));
	x->w_alloc = want;
	for (unsigned i = 0; i < want; i++) {
		struct xworker *w = &x->w[i];

		w->x = x;
		pthread_cond_init(&w->cv, NULL);
		if (pool) {
			snprintf(w->scratch, sizeof(w->scratch), "%s-%u", pool->scratch, i + 1);
			w->pool = *pool;
			w->pool.scratch = w->scratch;
		}
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
	pthread_mutex_lock(&x->wmu);
	x->w_stop = true;
	for (unsigned i = 0; i < x->n_workers; i++)
		pthread_cond_signal(&x->w[i].cv);
	pthread_mutex_unlock(&x->wmu);
	for (unsigned i = 0; i < x->w_alloc; i++) {
		if (x->w[i].started)
			pthread_join(x->w[i].thr, NULL);
		pthread_cond_destroy(&x->w[i].cv);
	}
	free(x->w);
	x->w = NULL;
	x->n_workers = 0;
}
