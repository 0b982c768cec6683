/* SPDX-License-Identifier: MIT */
/* store internals shared by its .c files (and by its unit suite for fault injection). */
#ifndef LC_STORE_INT_H
#define LC_STORE_INT_H

#include <sys/stat.h>

#include "store.h"

/* <root>/settings.json (settings.c) */
struct lc_store_settings {
	bool dedup; /* link identical files of different layers to one copy in objects/ */
};

struct lc_store {
	char *root;   /* absolute */
	int rootfd;   /* O_PATH|O_DIRECTORY */
	int tmpfd;    /* tmp/, O_RDONLY|O_DIRECTORY (flock, readdir) */
	int layersfd; /* layers/sha256/ */
	int blobsfd;  /* blobs/sha256/ */
	/* containers this process created: each dir's fd holds its flock until removed */
	struct lc_store_owned {
		char id[65];
		int fd;
		bool no_sync; /* its documents need not survive a crash (run --rm) */
	} * owned;
	size_t n_owned;
	/* tmp/lease-*: what this process's pull is about to use (gc.c), flocked while open */
	int leasefd;
	char *lease_name;
	int objectsfd; /* objects/: the pool of files shared between layers (pool.c) */
	struct lc_store_settings settings;
};

/* Write a document of a container (atomically; fsync'd unless it is a volatile one of ours). */
int lc_store_container_write_at(struct lc_store *s, const char *id, int dfd, const char *name,
				const char *text, struct lc_err **err);

/*
 * Fault injection (sqlite's test_syscall.c): the store's publishing syscalls go through
 * lc_store_sys_fail(); a test arms it so that the Nth call of a given kind fails with errno.
 * Off (and one branch) unless armed.
 */
enum lc_store_sys {
	LC_SYS_ANY = 0,
	LC_SYS_RENAME,	/* renameat: every commit */
	LC_SYS_WRITE,	/* data writes: blob temp files, extracted files */
	LC_SYS_OPEN,	/* file creation during extraction and publishing */
	LC_SYS_SYNC,	/* fsync/syncfs before a commit */
	LC_SYS_OPENAT2, /* openat2 (fail with ENOSYS to exercise the < 5.6 fallback) */
	LC_SYS_LINK,	/* linkat between a layer and the pool (EMLINK, EXDEV: a copy stays) */
	LC_SYS_SCRATCH, /* a scratch table's file (diskmap.c): create, pread, pwrite */
};
void lc_store_fault_arm(enum lc_store_sys which, unsigned nth, int err_no);
/* The same, and the calls before the nth whose bits are set in also (bit 0: the first) fail too. */
void lc_store_fault_arm_calls(enum lc_store_sys which, unsigned nth, uint32_t also, int err_no);
void lc_store_fault_disarm(void);
/* Returns -1 with errno set when the armed fault fires for this call, else 0. */
int lc_store_sys_fail(enum lc_store_sys which);

/* A container id is 64 lowercase hex digits. */
bool lc_store_container_id_valid(const char *id);
/* true if this store handle created the container (and holds its lock). */
/* containers/<id> as a directory fd (LC_ERR_INVALID for a bad id, LC_ERR_NOTFOUND). */
int lc_store_container_dirfd(struct lc_store *s, const char *id, struct lc_err **err);

/* l/<first 26 hex of the chain id>: overlay's lowerdir options stay under a page */
#define LC_LAYER_SHORT_ID_LEN 26

/*
 * Move layers/sha256/<hex of chainid>/ into tmp/trash when it is there (a layer that lost its
 * metadata or link: lc_store_layer_has says no, and a new commit needs the name). Call with
 * the chain id's lock held. 0 when nothing was there or it moved.
 */
int lc_store_layer_evict(struct lc_store *s, const char *chainid, struct lc_err **err);

/* ---------- partial.c: the ingest file of a blob being pulled ---------- */

#define LC_PARTIAL_PREFIX  "partial-"
#define LC_PARTIAL_NAME_SZ (sizeof(LC_PARTIAL_PREFIX) + 64)
/* an ingest file nobody holds is kept this long for a later pull to resume from */
#define LC_PARTIAL_MAX_AGE (24 * 3600)

struct lc_partial_writer;
struct lc_partial {
	int fd;	      /* flocked; -1: nothing is recorded */
	int64_t len;  /* bytes in the file or on their way there: replay these, append from here */
	int64_t size; /* the blob's: the last byte flushes what is buffered */
	struct lc_partial_writer *w; /* a big blob's bytes go by direct I/O (partial.c) */
	bool buffered;		     /* direct I/O was refused: through the page cache */
	char name[LC_PARTIAL_NAME_SZ];
};
void lc_partial_name(const char *digest, char out[LC_PARTIAL_NAME_SZ]);
/*
 * Open (creating) and flock tmp/partial-<hex> for a blob of size bytes; ret->len bytes are
 * already there. Never fails the pull: without a file (held by another pull, no space, a
 * race with the sweep) ret->fd is -1 and nothing is recorded.
 */
void lc_partial_open(struct lc_store *s, const char *digest, int64_t size, struct lc_partial *ret);
/*
 * Record the blob's bytes [at, at+len) past what the file holds. A blob of more than
 * LC_PARTIAL_DIRECT_MIN bytes is gathered into aligned buffers that a thread of its own writes
 * with O_DIRECT (no copy into the page cache on the download's thread, nothing for the
 * commit's syncfs to flush); what is buffered reaches the file when the blob's last byte
 * arrives, at close, or, after a kill, not at all (up to 2 MiB are asked for again). A failed
 * write (a full disk) removes the file and records no more; the pull goes on.
 */
void lc_partial_append(struct lc_store *s, struct lc_partial *p, const void *buf, size_t len,
		       int64_t at);
/* Cut the file to len bytes (what proved readable), before anything is appended. */
void lc_partial_truncate(struct lc_partial *p, int64_t len);
/* Write what is buffered, release the lock, keep the file (the next pull resumes from it). */
void lc_partial_close(struct lc_partial *p);
/* Remove the file (committed, or its bytes proved wrong) and release it. */
void lc_partial_remove(struct lc_store *s, struct lc_partial *p);
#define LC_PARTIAL_DIRECT_MIN (4u << 20)

/* Drop this handle's lease (lc_store_close does). */
void lc_store_lease_release(struct lc_store *s);

/*
 * Lock helpers: open (creating) dirfd/name and flock it; returns the fd or -1 with *err. The
 * file locked is the one at the name once the lock is held (gc removes lock files nobody holds).
 */
int lc_store_lock_at(int dirfd, const char *name, bool block, struct lc_err **err);

/*
 * Create a fresh entry in tmp/ (a dir when dir, else a file opened O_RDWR) named
 * "<prefix>-<random>", held by a flock on the returned fd so that a concurrent sweep leaves it
 * alone. *ret_name is the caller's.
 */
int lc_store_tmp_create(struct lc_store *s, const char *prefix, bool dir, char **ret_name,
			struct lc_err **err);

/* Tests only: load this soname instead of libarchive.so.13 (before the first use). */
void lc_store_libarchive_soname_for_test(const char *name);
/* Whether ISA-L's inflate is there (isal-dl.c: loaded on first use); else zlib inflates. */
bool lc_store_isal_ready(void);
/* Tests only: load this soname instead of libisal.so.2 (before the first use). */
void lc_store_libisal_soname_for_test(const char *name);

/* Read <root>/settings.json into *ret (defaults when it is absent). LC_ERR_PROTO when it does
 * not parse or holds an unknown key or a value of the wrong type. */
int lc_store_settings_load(int rootfd, struct lc_store_settings *ret, struct lc_err **err);

/* ---------- pool.c: regular files shared between layers (objects/) ---------- */

/* One line of layers/sha256/<hex>.objects (usage.c reads them). */
struct lc_layer_object {
	int64_t bytes; /* on disk, counted when the layer was committed */
	char *name;
};
/* A layer's pool objects (none when it has no .objects file, or it is unreadable). */
void lc_layer_objects_load(struct lc_store *s, const char *chainid, struct lc_layer_object **ret,
			   size_t *ret_n);
void lc_layer_objects_free(struct lc_layer_object *v, size_t n);
/* The bytes of those objects, added up. */
int64_t lc_layer_pooled_bytes(struct lc_store *s, const char *chainid);

/*
 * An object is named after what a hard link shares: its content hash, mode, owner, mtime and
 * extended attributes: "<sha256 hex>-<mode octal>-<uid>-<gid>-<mtime s>.<ns>[-<xattrs hex16>]".
 */
#define LC_POOL_NAME_SZ 192
void lc_pool_name(char out[LC_POOL_NAME_SZ], const char *digest, mode_t mode, uid_t uid, gid_t gid,
		  const struct timespec *mtime, const char *xattrs_hex);

/* What an extraction links into: the pool's dir and a scratch name outside the layer. */
struct lc_pool {
	int fd;		     /* objects/ */
	int scratchfd;	     /* the ingest's staging dir, beside (not in) the layer */
	const char *scratch; /* a free name in it */
};
/*
 * dirfd/name, a regular file written whole (data, owner, mode, xattrs, times; st its stat), is
 * added to the pool as key, or, when the pool has key already, becomes a link to the pool's
 * copy (replacing it atomically). Never fails: 1 when dirfd/name is the pool's inode (st's),
 * 2 when it was replaced by the pool's (stat it again), 0 when it keeps its own copy (EXDEV or
 * any other error; EMLINK: too many links on the pool's copy, which ours then replaces in the
 * pool, and 1).
 */
int lc_pool_share(const struct lc_pool *p, int dirfd, const char *name, const struct stat *st,
		  const char *key);
/*
 * When the pool has key, dirfd/name becomes a link to its copy: a new name (replace false) is
 * linked, a file written whole (replace true) is replaced atomically. 1 if so; 0 when the pool
 * has no such object or the link failed (errno says why: ENOENT, EMLINK...), and dirfd/name is
 * as it was.
 */
int lc_pool_link_copy(const struct lc_pool *p, int dirfd, const char *name, const char *key,
		      bool replace);
/* Remove the objects no layer links any more (link count 1). Adds what they took on disk. */
void lc_pool_sweep(struct lc_store *s, size_t *ret_n, int64_t *ret_bytes);
/*
 * Check every object against its name (content re-hashed; mode, owner, mtime). Calls bad for
 * each that differs, with what differs; with remove, unlinks it from the pool first (the
 * layers linking it still hold it, and fail their own check).
 */
typedef void (*lc_pool_bad_fn)(void *opaque, const char *key, const char *what, bool removed);
void lc_pool_verify(struct lc_store *s, bool remove, lc_pool_bad_fn bad, void *opaque);

/* The extractor, run by the ingest's thread (extract.c). */
struct lc_extract;
/* ---------- diskmap.c: a hash table of fixed-size records, memory bounded ---------- */

/*
 * Keys are 16 bytes the caller computes (a truncated sha256), values vsize bytes. At most
 * mem_max bytes of it are in memory; the rest is in the file scratchfd/name (scratchfd
 * borrowed: the caller's dir outlives the map), created when first needed and removed by
 * lc_dmap_free. Never NULL. The file's I/O errors are -1 with *err.
 */
struct lc_dmap;
struct lc_dmap *lc_dmap_new(int scratchfd, const char *name, size_t vsize, size_t mem_max);
void lc_dmap_free(struct lc_dmap *m);
/* Set key to val: 1 when it was set, 0 when key was there and !replace (left as it was). */
int lc_dmap_put(struct lc_dmap *m, const unsigned char *key, const void *val, bool replace,
		struct lc_err **err);
/* 1 and the value in val (vsize bytes; NULL when vsize is 0), 0 when key is absent. */
int lc_dmap_get(struct lc_dmap *m, const unsigned char *key, void *val, struct lc_err **err);
/* How many full tables went to the file (tests). */
size_t lc_dmap_frozen(const struct lc_dmap *m);
/* Tests only: every map made from now on holds at most mem_max bytes in memory (0: theirs). */
void lc_dmap_mem_max_for_test(size_t mem_max);

/* ---------- manifest.c: what the extractor learnt of each regular file ---------- */

/* One path's record. Zeroed: nothing known (no content hash, not in the pool). */
struct lc_fhash_val {
	bool has_digest; /* the sha256 of the content (not known for a sparse file) */
	bool share;	 /* to share through the pool at commit, as lc_pool_name of what follows */
	bool has_xattrs;
	unsigned char digest[32];
	char xattrs[16]; /* lc_pool_name's xattrs_hex, when has_xattrs */
	uint32_t mode, uid, gid, nsec;
	int64_t sec;
};
/* path -> lc_fhash_val of the regular files the extractor wrote, their memory bounded (a
 * lc_dmap in scratchfd, the ingest's staging dir). Never NULL. */
struct lc_fhash;
struct lc_fhash *lc_fhash_new(int scratchfd);
/* Record v for path (a later put of the same path replaces); v is copied. */
int lc_fhash_put(struct lc_fhash *h, const char *path, const struct lc_fhash_val *v,
		 struct lc_err **err);
/* 1 and *ret filled, 0 (and *ret zeroed) when path has no record, -1 with *err. */
int lc_fhash_get(struct lc_fhash *h, const char *path, struct lc_fhash_val *ret,
		 struct lc_err **err);
void lc_fhash_free(struct lc_fhash *h);
/* v's digest from "sha256:<64 lowercase hex>" (lc_sha256_final's) */
void lc_fhash_val_set_digest(struct lc_fhash_val *v, const char *digest);

/*
 * Walk dirfd/name like lc_store_tree_bytes_at, calling fn for every entry with its path
 * relative to the walk's root ("" for the root itself), its stat and, for a dir, an fd on it
 * (else -1). A negative return from fn stops the walk. An entry that is not a dir fn may
 * replace by an identical file (the pool's copy), putting its stat in *st: the walk counts
 * the entry's bytes from *st after fn, unless fn returns 1 (it counts them itself).
 */
typedef int (*lc_tree_fn)(void *opaque, int dirfd, const char *name, const char *path,
			  struct stat *st, int fd);
int lc_store_tree_walk_at(int dirfd, const char *name, lc_tree_fn fn, void *opaque,
			  int64_t *ret_bytes, struct lc_err **err);
/* The same, its set of the inodes with several links seen (to count each once) a lc_dmap in
 * scratchfd, bounded in memory: a layer's commit, whose pool files all have several links. */
int lc_store_tree_walk_scratch_at(int dirfd, const char *name, int scratchfd, lc_tree_fn fn,
				  void *opaque, int64_t *ret_bytes, struct lc_err **err);
/*
 * The layer's manifest (see manifest.c), written onto out line by line as the tree is walked
 * (never held whole: a layer of many entries would hold it all), and its bytes on disk, from
 * one walk. files (NULL: none) holds what the extractor learnt of each regular file: its
 * content hash, and what names its pool object. With pool (NULL: the store does not dedup)
 * the walk shares each such file through the pool (lc_pool_share) as it goes, and with
 * objects (may be NULL) the layer's objects list goes there ("<bytes on disk> <object name>" a
 * line, each object once, in the walk's order; what layers/sha256/<hex>.objects holds) and
 * *ret_n_objects says how many lines. The set of objects seen is a lc_dmap in scratchfd (not
 * inside the walked tree). Both streams flushed; a write error is an error.
 */
int lc_layer_manifest_build(int dirfd, const char *name, struct lc_fhash *files,
			    const struct lc_pool *pool, int scratchfd, FILE *out, FILE *objects,
			    size_t *ret_n_objects, int64_t *ret_bytes, struct lc_err **err);
/*
 * The same in two steps, for a walk beside a sync of the tree (a layer's commit): with
 * settle_later, the regular files whose blocks the writeback may still change (more than 4
 * blocks: an extent block may come) are left out of *ret_bytes and .objects, noted in scratchfd,
 * and counted by lc_layer_manifest_settle once the sync is done, which adds their bytes to
 * *bytes, finishes objects and frees w (also on failure). lc_layer_manifest_walk_free drops a
 * walk that is not settled.
 */
struct lc_manifest_walk;
int lc_layer_manifest_walk(int dirfd, const char *name, struct lc_fhash *files,
			   const struct lc_pool *pool, int scratchfd, bool settle_later, FILE *out,
			   FILE *objects, struct lc_manifest_walk **ret, int64_t *ret_bytes,
			   struct lc_err **err);
int lc_layer_manifest_settle(struct lc_manifest_walk *w, size_t *ret_n_objects, int64_t *bytes,
			     struct lc_err **err);
void lc_layer_manifest_walk_free(struct lc_manifest_walk *w);

/* ---------- tarsplit.c: a layer's tar, rebuilt byte for byte from the unpacked layer ---------- */

struct lc_tarsplit;
/* A record written to fd (at its start) as the layer is extracted. Never NULL. */
struct lc_tarsplit *lc_tarsplit_new(int fd);
void lc_tarsplit_free(struct lc_tarsplit *t);
/*
 * The next n bytes of the uncompressed stream; settled: libarchive's read position (every byte
 * below it is classified: the content of a file declared, or raw).
 */
void lc_tarsplit_feed(struct lc_tarsplit *t, const void *buf, size_t n, uint64_t settled);
/*
 * The stream's [at, at + size) is the content of path (relative to the layer root), as
 * written to the layer. An at that is not where the stream can be breaks the record (finish
 * fails; the layer is committed without one).
 */
void lc_tarsplit_file(struct lc_tarsplit *t, uint64_t at, uint64_t size, const char *path);
/*
 * The tar removes a file or dir it wrote (a path given twice): a reference the record holds
 * may now name other bytes, so the record is lost (NULL: no record).
 */
void lc_tarsplit_lose(struct lc_tarsplit *t);
/*
 * Everything fed: write the end and the tar's length. -1 with *err if any write failed or the
 * record broke: the caller then publishes no record (a layer is never failed for its record).
 */
int lc_tarsplit_finish(struct lc_tarsplit *t, struct lc_err **err);
/* A complete record's tar length (LC_ERR_PROTO when it is not a complete record). */
int lc_tarsplit_header(int fd, uint64_t *ret_size, struct lc_err **err);
typedef lc_tar_out_fn lc_tarsplit_out_fn;
/*
 * Replay the record at fd against the layer at layerfd: the tar's bytes go to out (NULL: only
 * hashed), their sha256 to ret_digest. layerfd < 0: the record is only parsed (no file is read,
 * nothing goes out, the digest means nothing). LC_ERR_DIGEST when a file of the layer is gone or not
 * the size it was; LC_ERR_PROTO when the record is corrupt. The caller compares the digest.
 */
int lc_tarsplit_replay(int fd, int layerfd, lc_tarsplit_out_fn out, void *opaque,
		       char ret_digest[LC_DIGEST_BUFSZ], struct lc_err **err);

struct lc_extract_stats {
	struct lc_fhash *recs; /* each regular file's hash and pool object; the caller's once
				* lc_extract_run returned */
	uint64_t files;
	int64_t unpacked; /* filled in at commit (lc_store_tree_bytes_at), not by the extractor */
};
typedef ssize_t (*lc_extract_read_fn)(void *opaque, const void **buf);
/*
 * pool: NULL, or the store's pool (it dedups): a file the pool has already becomes a link to
 * the pool's copy here (lc_pool_link_copy: a worker's small file is then never written), and
 * each other file's record says what names its pool object, for the commit's walk to add it
 * (lc_layer_manifest_build); ts: NULL, or the tar-split record that every byte read goes to;
 * scratchfd: a dir outside the layer for the tables that grow with the entries (the files'
 * records, lc_fhash).
 */
int lc_extract_run(int layerfd, int scratchfd, const struct lc_pool *pool, struct lc_tarsplit *ts,
		   lc_extract_read_fn rd, void *opaque, uint64_t max_entries, char ***ret_implicit,
		   struct lc_extract_stats *ret_stats, struct lc_err **err);
/* Give implicit dirs (paths relative to layerfd) the attributes of the topmost lower that has them. */
int lc_extract_fix_implicit(int layerfd, char *const *implicit, const int *lowerfds,
			    size_t n_lowers, struct lc_err **err);
/* Open dirfd/path as a directory without following any symlink and without leaving dirfd. */
int lc_openat_beneath(int dirfd, const char *path, int flags, mode_t mode);

#endif
