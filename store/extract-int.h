/* SPDX-License-Identifier: MIT */
/*
 * store: what the layer writer (extract.c) and its file-creating workers (extract-workers.c)
 * share: the extraction's state, the refs of open dirs, a worker's task, and the calls each
 * file makes into the other. Included by those two files only.
 */
#ifndef LC_EXTRACT_INT_H
#define LC_EXTRACT_INT_H

#include <pthread.h>

#include "store-int.h"

/* A small string set (implicit dirs, extract.c). */
struct sset_node;
struct sset {
	struct sset_node **b;
	size_t nb, n;
	char **order; /* insertion order, parents before children */
	size_t n_order;
};

/* FNV-1a: the string set's buckets and, mixed further, the names table's keys */
static inline size_t lc_xt_hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/*
 * An open dir that file creations refer to: the cache's and each queued task's reference. The
 * dir's owner and setgid bit tell which owner a file created in it gets (no fchown when it is
 * the entry's).
 */
struct dirref {
	int fd;
	int refs;	 /* atomic */
	unsigned worker; /* whose queue its files go to: one dir's files stay in order */
	bool sgid;
	gid_t gid;
};

struct dirtime;
struct xworker;

/* One layer's extraction: the reading thread's state, and what the workers share with it. */
struct xt {
	int rootfd;
	struct dirref *root; /* rootfd's (a dup), for files created at the top */
	char *cache_path;    /* parent dir of the last entry, and its ref */
	struct dirref *cache;
	int cache_fd;
	unsigned n_dirrefs;
	uid_t fsuid; /* who a new file belongs to (the group: fsgid, or a setgid dir's) */
	gid_t fsgid;
	/* names created in the layer so far (64-bit hashes, bit 0: a worker's file): a file is
	 * handed to a worker only when its name is new, so the worker never meets one it must
	 * replace, and whatever touches a worker's name waits for the workers first */
	uint64_t *names;
	size_t names_cap, names_n;
	/* the workers (none: every file is written here) and what they share */
	struct xworker *w;
	unsigned n_workers, w_alloc;
	pthread_mutex_t wmu;   /* w_err, and drain's wait on w_idle */
	pthread_cond_t w_idle; /* nothing pending any more */
	size_t pending;	       /* atomic: tasks queued or running */
	int w_failed;	       /* atomic: a worker failed, its error in w_err */
	struct lc_err *w_err;
	pthread_mutex_t recs_mu; /* st.recs is written by the workers too */
	struct sset implicit;
	struct dirtime *dirs;
	size_t n_dirs;
	uint64_t entries;
	uint64_t max_entries;
	/* The process umask (0777 when unknown): a file whose mode it leaves alone is created
	 * with that mode, saving an fchmod. Set to 0777 once the layer sets a default ACL,
	 * which would mask new files' modes instead. */
	mode_t umask;
	struct lc_extract_stats st;
	const struct lc_pool *pool; /* NULL: no file is shared with other layers */
	struct lc_tarsplit *ts;	    /* NULL: no tar-split record */
};

/* ---------- extract.c ---------- */

/* Release a ref of a dir (its fd closed with the last). NULL ok. */
void lc_xt_dirref_put(struct dirref *d);

/* ---------- extract-workers.c: names created so far ---------- */

#define NAME_TASK 1ull

/* The flags of path (0 absent, else NAME_TASK or 2). A hash collision only costs a wait. */
uint64_t lc_xt_name_find(const struct xt *x, const char *path);
/* Remember path as created in the layer (task: by a worker). No-op without workers. */
void lc_xt_name_add(struct xt *x, const char *path, bool task);

/* ---------- extract-workers.c: file creation on worker threads ---------- */

/*
 * A regular file a worker creates whole: its name was new in the layer, its data is here, its
 * parent dir open. What is left for the worker is what the kernel does: create, write, owner,
 * mode, times, close, its content hash, and the pool's link when the pool has it already.
 */
struct ftask {
	struct ftask *next;
	struct dirref *dir;
	const char *name; /* in path */
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool direct, chown;
	struct timespec ts[2];
	bool hole; /* a gap in its data: no content hash, not pooled */
	bool pool; /* shared through the pool (x->pool): linked to its copy, or at commit */
	struct lc_fhash_val rec; /* its record: the content hash, what names its pool object */
	size_t size;
	char *data;
	char path[];
};

#define TASK_MAX_FILE (256u << 10) /* a bigger file is written by the reader itself */

/* Free a task, its data and its dir ref (NULL ok). */
void lc_xt_task_free(struct ftask *t);
/* Queue t to the worker of its dir (blocks while that queue is full); the worker frees it. */
void lc_xt_submit(struct xt *x, struct ftask *t);
/* Wake workers sleeping on a few queued files: the reader is about to wait for tar data. */
void lc_xt_kick(struct xt *x);
/* A worker's error, moved to *err once (-1), or 0. */
int lc_xt_workers_error(struct xt *x, struct lc_err **err);
/* Wait until every queued file is created: what comes next may touch their names. */
int lc_xt_drain(struct xt *x, struct lc_err **err);
/* Start the workers (none: every file is written by the reader). */
void lc_xt_workers_start(struct xt *x);
/* Finish what is queued (dropped after a failure), stop the workers. */
void lc_xt_workers_stop(struct xt *x);

#endif
