/* SPDX-License-Identifier: MIT */
/*
 * store: the content-addressable store (see DESIGN.md for the layout). Knows nothing of HTTP or
 * namespaces. Every commit is a rename(2) from tmp/ on the same filesystem; nothing becomes
 * visible before its digests verify.
 */
#ifndef LC_STORE_H
#define LC_STORE_H

#include "../base/base.h"

/* Bounds on untrusted metadata. */
#define LC_MAX_MANIFEST_SIZE (4u << 20)
#define LC_MAX_LAYERS	     500

struct lc_store;

/*
 * Open (creating if needed) the store at root: the root dir 0700, blobs/ layers/ l/ refs/
 * containers/ tmp/. Debris in tmp/ left by a crashed process is swept (entries whose owner no
 * longer holds their lock). A root another user could swap is refused (LC_ERR_UNSAFE, saying
 * why): one owned by another user, or below a dir that another user owns or can write
 * without the sticky bit. Returns 0 and *ret, or -1 and *err.
 */
/*
 * Rootless, before joining the user namespace: create root if missing, check it as
 * lc_store_open does (owners as the host knows them), make it 0700 and remember it, so that
 * lc_store_open inside (where the host's root is nobody) does not refuse its parents.
 * *ret_abs: the resolved path, the caller's.
 */
int lc_store_vouch(const char *root, char **ret_abs, struct lc_err **err);
int lc_store_open(const char *root, struct lc_store **ret, struct lc_err **err);
void lc_store_close(struct lc_store *s);
/* The default root: $LAYERCTL_ROOT, else /var/lib/layerctl as root, else $XDG_DATA_HOME/layerctl. */
char *lc_store_default_root(void);
const char *lc_store_root(const struct lc_store *s); /* absolute path */
int lc_store_rootfd(const struct lc_store *s);	     /* O_PATH|O_DIRECTORY fd, owned by the store */

/*
 * A private dir in tmp/ for input spooled before it is verified (load): its fd, flocked so
 * that no sweep takes it while it is open (a crashed process leaves debris the next sweep
 * removes). *ret_name is the caller's, for lc_store_spool_remove.
 */
int lc_store_spool_create(struct lc_store *s, const char *prefix, char **ret_name,
			  struct lc_err **err);
void lc_store_spool_remove(struct lc_store *s, const char *name);

/* ---------- blobs: manifests, indexes, configs ---------- */

/* 1 if blobs/sha256/<hex> exists, 0 if not (digest must be valid). */
int lc_store_blob_has(struct lc_store *s, const char *digest);
/*
 * Verify that data hashes to digest, then publish it read-only under blobs/. A second put of
 * the same digest is harmless. LC_ERR_DIGEST on mismatch (nothing written).
 */
int lc_store_blob_put(struct lc_store *s, const char *digest, const void *data, size_t len,
		      struct lc_err **err);
/*
 * Take the lock that makes concurrent pulls fetch a blob once (tmp/locks/blob-<hex>.lock,
 * blocking): returns the fd that holds it (close it to release), or -1 with *err. Check
 * lc_store_blob_has again once it is held.
 */
int lc_store_blob_lock(struct lc_store *s, const char *digest, struct lc_err **err);
/* Remove a blob found damaged (missing is fine), so that it can be fetched again. */
int lc_store_blob_drop(struct lc_store *s, const char *digest, struct lc_err **err);
/* Read a blob (at most max bytes), re-verifying its digest. *ret is NUL-terminated, caller frees. */
int lc_store_blob_get(struct lc_store *s, const char *digest, size_t max, char **ret,
		      size_t *ret_len, struct lc_err **err);

/* ---------- image JSON: manifests, indexes, configs (untrusted input) ---------- */

enum lc_media {
	LC_MEDIA_UNKNOWN = 0,
	LC_MEDIA_INDEX,	   /* OCI image index or Docker manifest list */
	LC_MEDIA_MANIFEST, /* OCI image manifest or Docker schema 2 manifest */
};

#define LC_MT_OCI_INDEX	      "application/vnd.oci.image.index.v1+json"
#define LC_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define LC_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define LC_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

struct lc_descriptor {
	char *media_type;
	char *digest; /* validated with lc_digest_check */
	int64_t size; /* >= 0 */
	/* platform, for index entries (NULL when absent) */
	char *os, *arch, *variant;
};

struct lc_manifest {
	enum lc_media kind;
	char *media_type;
	/* kind == LC_MEDIA_MANIFEST */
	struct lc_descriptor config;
	struct lc_descriptor *layers;
	size_t n_layers;
	/* kind == LC_MEDIA_INDEX */
	struct lc_descriptor *manifests;
	size_t n_manifests;
};

/*
 * Parse a manifest or index. content_type is the registry's Content-Type (or NULL); it must
 * agree with the body's mediaType and the body's shape (a document with both "manifests" and
 * "layers" is refused: CVE-2021-41190). Every digest is validated, sizes must be >= 0, at most
 * LC_MAX_LAYERS layers.
 */
int lc_manifest_parse(const char *buf, size_t len, const char *content_type,
		      struct lc_manifest **ret, struct lc_err **err);
void lc_manifest_free(struct lc_manifest *m);
/* The index entry matching os/arch[/variant] (e.g. "linux", "amd64", NULL), or NULL. */
const struct lc_descriptor *lc_manifest_pick(const struct lc_manifest *index, const char *os,
					     const char *arch, const char *variant);

struct lc_image_config {
	char *os, *arch, *variant, *created;
	char **entrypoint, **cmd, **env; /* NULL-terminated, NULL when absent */
	char *workdir, *user, *stop_signal;
	char **diff_ids; /* validated digests */
	size_t n_diff_ids;
};
int lc_image_config_parse(const char *buf, size_t len, struct lc_image_config **ret,
			  struct lc_err **err);
void lc_image_config_free(struct lc_image_config *c);

/* chain ids: ChainID(L0) = DiffID(L0); ChainID(..Ln) = sha256(ChainID(..Ln-1) + " " + DiffID(Ln)) */
void lc_chainid(const char *parent_chainid, const char *diff_id, char out[LC_DIGEST_BUFSZ]);

/* ---------- refs: image names -> digests ---------- */

struct lc_store_ref {
	char *name;	/* canonical, e.g. docker.io/library/nginx:latest */
	char *digest;	/* what the name resolved to (index or manifest), shown as Digest: */
	char *manifest; /* the platform manifest actually used */
	char *config;	/* its config digest (the image ID) */
};
/* Point name at the image. Serialized by the store lock; atomic replace. */
int lc_store_ref_set(struct lc_store *s, const struct lc_store_ref *ref, struct lc_err **err);
/* Look name up. LC_ERR_NOTFOUND if absent. Caller frees with lc_store_ref_free. */
int lc_store_ref_get(struct lc_store *s, const char *name, struct lc_store_ref **ret,
		     struct lc_err **err);
/* All refs, sorted by name. */
int lc_store_ref_list(struct lc_store *s, struct lc_store_ref **ret, size_t *ret_n,
		      struct lc_err **err);
int lc_store_ref_remove(struct lc_store *s, const char *name, struct lc_err **err);
void lc_store_ref_free(struct lc_store_ref *r);
void lc_store_ref_list_free(struct lc_store_ref *v, size_t n);

/* ---------- layers: unpacked once, in overlay format, keyed by chain id ---------- */

struct lc_layer_info {
	char *chainid, *diff_id;
	char *digest;	  /* compressed digest it was fetched as */
	int64_t size;	  /* compressed size */
	int64_t unpacked; /* bytes allocated on disk (st_blocks * 512 of every inode once, the
			     layer's own dir included), counted when the layer was committed */
	uint64_t files;	  /* entries written */
	char *link;	  /* "l/<short id>", relative to the store root */
};

/* 1 if layers/sha256/<hex of chainid>/ is committed, else 0. */
int lc_store_layer_has(struct lc_store *s, const char *chainid);
int lc_store_layer_info(struct lc_store *s, const char *chainid, struct lc_layer_info **ret,
			struct lc_err **err);
void lc_layer_info_free(struct lc_layer_info *i);

struct lc_layer_desc {
	const char *chainid;
	const char *diff_id;	/* expected sha256 of the uncompressed tar */
	const char *digest;	/* expected sha256 of the bytes written */
	int64_t size;		/* expected count of the bytes written */
	const char *media_type; /* informative; compression is detected from the bytes */
	uint64_t max_unpacked;	/* 0: LC_LAYER_MAX_UNPACKED, bound on uncompressed bytes */
	uint64_t max_entries;	/* 0: LC_LAYER_MAX_ENTRIES, bound on tar entries */
	uint32_t max_ratio;	/* 0: LC_LAYER_MAX_RATIO, bound on uncompressed / compressed */
	/* The ingests of one image add their uncompressed bytes here (atomically) and fail
	 * once it passes max_image_unpacked (0: LC_IMAGE_MAX_UNPACKED). NULL: no image bound. */
	uint64_t *image_unpacked;
	uint64_t max_image_unpacked;
};

/*
 * Default bounds on what one pull may unpack (`layerctl help limits`). Reaching one is
 * LC_ERR_LIMIT naming it and the pull flag that raises it; the layer is then discarded whole.
 */
#define LC_LAYER_MAX_UNPACKED (64ull << 30) /* --max-layer-size */
#define LC_IMAGE_MAX_UNPACKED (64ull << 30) /* --max-image-size */
#define LC_LAYER_MAX_ENTRIES  1000000u	    /* --max-layer-entries */
#define LC_LAYER_MAX_RATIO    1000u	    /* --max-compression-ratio */
/* the ratio guard looks only at streams that have inflated past this */
#define LC_LAYER_RATIO_FLOOR (64ull << 20)
/* fixed: zstd frames needing a larger window are refused (zstd's default, 2^27) */
#define LC_ZSTD_WINDOW_LOG_MAX 27
/* fixed: extended attributes of one tar entry */
#define LC_MAX_XATTRS	  128
#define LC_MAX_XATTR_SIZE (64u << 10) /* the kernel's XATTR_SIZE_MAX */

/*
 * File-level dedup (settings.json "dedup"): identical regular files of different layers are
 * stored once, hard-linked to a copy in the store's pool (objects/). On by default: make bench
 * measures no extra pull time above its noise (and less for a second image sharing the files).
 */
#define LC_STORE_DEDUP_DEFAULT true

/* The lc_store_layer_* errors do not name the layer: the caller knows which one it fed. */
struct lc_layer_ingest;

/*
 * Load libarchive.so.13 now if it is not yet (archive-dl.c: it is loaded where tars are read,
 * never at start-up; once per process, thread-safe). 0 when it is there; else -1 with an
 * error naming the library and the package to install. lc_store_layer_begin calls it.
 */
int lc_store_need_libarchive(struct lc_err **err);

/*
 * Reading a tar entry's data (tar-data.c), for whatever walks a tar with libarchive: each
 * block of the entry archive a stands at (after archive_read_next_header) goes to fn, with its
 * offset in the file and where the block before it ended (0 before the first). A block that
 * does not start where the one before ended follows a hole (a sparse entry, or a gap): fn
 * seeks, fills or refuses. fn returns 0, or -1 with *err, which ends the read.
 */
struct archive;
struct lc_tar_block {
	int64_t off; /* where buf goes in the file */
	int64_t end; /* where the block before ended: off != end after a hole */
	const void *buf;
	size_t len;
};
typedef int (*lc_tar_block_fn)(void *opaque, const struct lc_tar_block *b, struct lc_err **err);
struct lc_tar_data {
	int64_t end; /* where the last block ended (0: none): a hole at the end is below the size */
	bool hole;   /* a block followed a hole */
};
/*
 * Every block of the entry through fn; h (NULL: none) hashes each block's bytes once fn took
 * them (never the holes). *ret (NULL: not wanted): where the data ended and whether it had a
 * hole. A block libarchive cannot read is LC_ERR_PROTO, "<fmt's text>: <libarchive's reason>".
 */
int lc_tar_read_data(struct archive *a, struct lc_sha256 *h, lc_tar_block_fn fn, void *opaque,
		     struct lc_tar_data *ret, struct lc_err **err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/*
 * Start unpacking a layer. Takes the per-chain-id lock (blocking while another process holds
 * it). Returns 1 with *ret NULL if the layer is already committed (maybe by the process we
 * waited for); 0 with *ret, an ingest that owns a staging dir in tmp/ and an extraction
 * thread; -1 with *err.
 */
int lc_store_layer_begin(struct lc_store *s, const struct lc_layer_desc *d,
			 struct lc_layer_ingest **ret, struct lc_err **err);
/*
 * How many bytes of the blob begin already fed from its ingest file (tmp/partial-<hex>, left by
 * an earlier pull that was killed or failed): the caller streams the rest, from there on. The
 * ingest file records what arrives (no fsync: the digests check it); it is removed on commit
 * and when finish fails, and kept otherwise for the next pull.
 */
int64_t lc_store_layer_resumed(const struct lc_layer_ingest *in);
/*
 * Feed the next bytes of the blob (compressed as gzip, zstd or not at all). Hashes them,
 * inflates, hashes the tar (diff_id) and hands it to the extraction thread. Blocks when the
 * extractor is behind. Fails when more than size bytes came. An inflate or extraction error
 * does not fail the write: the rest of the blob is only hashed, and finish reports a digest
 * mismatch first (a corrupt download), else that error (a bad layer).
 */
int lc_store_layer_write(struct lc_layer_ingest *in, const void *buf, size_t len,
			 struct lc_err **err);
/*
 * End of input: waits for the extraction, then verifies size, digest and diff_id
 * (LC_ERR_DIGEST naming expected and got). On failure the staging dir is removed; call
 * lc_store_layer_abort to free the ingest.
 */
int lc_store_layer_finish(struct lc_layer_ingest *in, struct lc_err **err);
/*
 * Publish a finished layer: give the dirs the tar created implicitly the attributes of the
 * same dir in the layers below (lowers: chain ids, topmost first; all already committed),
 * sync, rename into layers/, write its .json and its l/ link. Frees the ingest and releases
 * the lock in every case.
 */
int lc_store_layer_commit(struct lc_layer_ingest *in, const char *const *lowers, size_t n_lowers,
			  struct lc_err **err);
/* Drop an ingest at any stage: stop the extractor, remove staging, release the lock. NULL ok. */
void lc_store_layer_abort(struct lc_layer_ingest *in);

/* ---------- a layer's tar, rebuilt (save): tarsplit.c ---------- */

/*
 * The length of the tar layer chainid was unpacked from, from its tar-split record (recorded
 * while it was unpacked). LC_ERR_NOTFOUND, saying to pull the image again, when the layer was
 * unpacked before layerctl kept such records.
 */
int lc_store_layer_tar_size(struct lc_store *s, const char *chainid, uint64_t *ret,
			    struct lc_err **err);
/* The record parses whole and its length adds up (files not read): verify. */
int lc_store_layer_tar_check(struct lc_store *s, const char *chainid, struct lc_err **err);
typedef int (*lc_tar_out_fn)(void *opaque, const void *buf, size_t len, struct lc_err **err);
/*
 * That tar, byte for byte, through out (the headers from the record, each file's content read
 * from the unpacked layer), hashed as it goes: LC_ERR_DIGEST naming the layer when what went
 * out does not hash to diff_id (the layer changed on disk). out may have had all of it then.
 */
int lc_store_layer_tar(struct lc_store *s, const char *chainid, const char *diff_id,
		       lc_tar_out_fn out, void *opaque, struct lc_err **err);

/* ---------- containers ---------- */

/*
 * Create containers/<id>/ with upper/ work/ merged/ (id: 64 random hex chars). *ret_id and
 * *ret_dir (absolute path of containers/<id>) are the caller's. The store handle owns the
 * container (holds its lock) until lc_store_container_remove or lc_store_close.
 */
int lc_store_container_create(struct lc_store *s, char **ret_id, char **ret_dir,
			      struct lc_err **err);
/*
 * A container of ours (just created) that will not outlive this process (run --rm): its
 * documents are written without an fsync each (a crash leaves a dir the next run removes).
 */
void lc_store_container_set_volatile(struct lc_store *s, const char *id);
/*
 * Remove a container's dir (renamed into tmp/trash first, then deleted). Must be unmounted.
 * A container this store handle created is ours to remove; another one only when nobody holds
 * it (LC_ERR_EXISTS "in use" otherwise).
 */
int lc_store_container_remove(struct lc_store *s, const char *id, struct lc_err **err);
/*
 * The containers nobody owns any more: their layerctl died without cleaning up (a container's
 * dir is flocked by the process that created it for as long as that lives). *ret_ids is a
 * NULL-terminated list, the caller's. Unmount, then lc_store_container_remove each.
 */
int lc_store_container_list_stale(struct lc_store *s, char ***ret_ids, struct lc_err **err);

/*
 * Every container under containers/ (running or not), sorted. *ret_ids is NULL-terminated, the
 * caller's.
 */
int lc_store_container_list(struct lc_store *s, char ***ret_ids, struct lc_err **err);
/*
 * Take an existing container's lock for this store handle (to start it again, or to sweep it):
 * LC_ERR_EXISTS when another process holds it (it runs, or is being started), LC_ERR_NOTFOUND
 * when there is no such container. Held until lc_store_container_release,
 * lc_store_container_remove or lc_store_close (a child forked meanwhile holds it too).
 */
int lc_store_container_take(struct lc_store *s, const char *id, struct lc_err **err);
/* Whether this handle holds the container (created or taken it). */
bool lc_store_container_owned(const struct lc_store *s, const char *id);
/* Let go of a container taken or created by this handle (no-op when it is not ours). */
void lc_store_container_release(struct lc_store *s, const char *id);
/* 1 if a process holds the container's lock (it runs, or is being set up), else 0. */
int lc_store_container_in_use(struct lc_store *s, const char *id);
/*
 * Take the container's lock without waiting (what keeps run, start and rm off it): the fd
 * that holds it (close it to release), or -1 with LC_ERR_EXISTS when someone holds it.
 */
int lc_store_container_trylock(struct lc_store *s, const char *id, struct lc_err **err);

/*
 * A small document of the container's own, containers/<id>/<name> (a plain name: no '/', no
 * leading '.'), written atomically (mode 0600) or read back whole (at most max bytes;
 * LC_ERR_NOTFOUND when absent). cmd/ keeps the container's state and launch spec there.
 */
int lc_store_container_doc_write(struct lc_store *s, const char *id, const char *name,
				 const char *text, struct lc_err **err);
int lc_store_container_doc_read(struct lc_store *s, const char *id, const char *name, size_t max,
				char **ret, struct lc_err **err);
/* An fd of containers/<id>/<name> to flock, made (0600) when create; LC_ERR_NOTFOUND. */
int lc_store_container_lock_open(struct lc_store *s, const char *id, const char *name, bool create,
				 struct lc_err **err);
/* Remove one (absent is fine). */
int lc_store_container_doc_remove(struct lc_store *s, const char *id, const char *name,
				  struct lc_err **err);
/* The container's log (containers/<id>/ctr.log): append (created 0600) or read. An fd. */
int lc_store_container_log_open(struct lc_store *s, const char *id, bool append,
				struct lc_err **err);

/* ---------- named volumes: volumes/<name>/_data ---------- */

/* docker's volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool lc_store_volume_name_ok(const char *name);
/* The absolute path of volume name's data dir, made first when create. LC_ERR_NOTFOUND. */
int lc_store_volume_path(struct lc_store *s, const char *name, bool create, char **ret,
			 struct lc_err **err);
/* Every volume's name, sorted, NULL-terminated, the caller's. */
int lc_store_volume_list(struct lc_store *s, char ***ret, struct lc_err **err);
/* Remove a volume and its data (through tmp/trash). The caller checks nobody uses it. */
int lc_store_volume_remove(struct lc_store *s, const char *name, struct lc_err **err);

/* What containers/<id>/config.json records: which image a container was made from. */
struct lc_container_config {
	char *id;
	char *name;	/* "" when unnamed */
	char *image;	/* the reference as the user gave it, normalized */
	char *image_id; /* "sha256:<config digest>", docker's image ID */
	char **layers;	/* chain ids, topmost first, NULL-terminated */
	size_t n_layers;
	char *created; /* RFC 3339, UTC */
};
/*
 * Write containers/<id>/config.json atomically (temp file, fsync, rename). The fields above
 * replace their keys ("Id", "Name", "Image", "ImageID", "Layers", "Created"); every other key
 * already in the file is kept. created NULL: now. LC_ERR_NOTFOUND if the container dir is gone.
 */
int lc_store_container_config_write(struct lc_store *s, const struct lc_container_config *c,
				    struct lc_err **err);
/* Read it back (unknown keys ignored). LC_ERR_NOTFOUND when the container has no config. */
int lc_store_container_config_read(struct lc_store *s, const char *id,
				   struct lc_container_config **ret, struct lc_err **err);
void lc_container_config_free(struct lc_container_config *c);

/* ---------- usage (du): computed from metadata, never by walking a layer ---------- */

/* One image, as the caller resolved it from its ref. */
struct lc_usage_in {
	const char *id;	       /* image ID: refs naming the same ID are one image */
	char *const *chainids; /* its layers, bottom first */
	size_t n_layers;
};

struct lc_usage_image {
	int64_t size;	   /* its layers' bytes, each inode once (GNU du of its layer dirs) */
	int64_t shared;	   /* bytes of its layers that another image (another ID) uses too:
			      whole layers, and the pool files another image's layers link */
	int64_t unique;	   /* size - shared: what removing it frees */
	size_t containers; /* containers made from it (by image ID) */
	size_t missing;	   /* layers it lists that the store does not hold */
};

struct lc_usage_layer {
	char *chainid;
	int64_t bytes;	 /* its dir alone, as GNU du -sB1 counts it */
	int64_t pooled;	 /* of those, the bytes of its files in the pool (dedup), each once */
	size_t *objects; /* indexes of those pool objects (the accounting's own) */
	size_t n_objects;
	size_t *images; /* indexes into the input of the images using it (first ref of each ID) */
	size_t n_images;
	size_t containers; /* containers whose image lists it */
};

struct lc_usage_container {
	struct lc_container_config *config; /* NULL when it has none (or it is unreadable) */
	char *id;
	int64_t bytes; /* its writable layer (upper/), walked */
	bool running;
};

struct lc_usage {
	struct lc_usage_image *images; /* parallel to the input */
	struct lc_usage_layer *layers; /* every layer in the store, by chain id */
	size_t n_layers;
	struct lc_usage_container *containers;
	size_t n_containers;
	size_t n_distinct;	   /* distinct image IDs in the input */
	size_t n_active;	   /* of those, images some container was made from */
	int64_t layers_bytes;	   /* every layer in the store, each inode once (GNU du of all) */
	int64_t apart_bytes;	   /* the distinct images' sizes added up: stored apart */
	int64_t layers_saved;	   /* what images sharing whole layers save: apart_bytes less
				      the bytes of the layers they use, each layer once */
	int64_t files_saved;	   /* on top, what layers sharing files save (dedup): apart_bytes
				      less layers_saved less what the images' layers take */
	int64_t reclaimable_bytes; /* layers that no container and no active image use */
	int64_t containers_bytes;  /* all writable layers */
	int64_t containers_idle;   /* writable layers of containers that do not run */
	size_t n_running;
};
/*
 * Account the store: every layer's recorded size (its .json, no walk), which of the given
 * images use it, the containers (config.json) and their upper dirs (walked: they are small).
 * A layer whose metadata is unreadable counts 0 bytes. *ret is the caller's (lc_usage_free).
 */
int lc_store_usage(struct lc_store *s, const struct lc_usage_in *in, size_t n,
		   struct lc_usage **ret, struct lc_err **err);
void lc_usage_free(struct lc_usage *u);

/*
 * Bytes allocated under dirfd/name (st_blocks * 512, each inode once, the dir itself included),
 * never following a symlink nor crossing into another filesystem. As GNU du -sB1.
 */
int lc_store_tree_bytes_at(int dirfd, const char *name, int64_t *ret, struct lc_err **err);

/* ---------- leases and garbage collection ---------- */

/*
 * Keep digest (a blob's digest or a layer's chain id) from gc and rmi for as long as this store
 * handle is open. A pull leases each object before it looks for it, so that a concurrent gc
 * either removed it already (the pull fetches it again) or keeps it.
 */
int lc_store_lease(struct lc_store *s, const char *digest, struct lc_err **err);

struct lc_gc_result {
	char **layers;	    /* chain ids removed (NULL-terminated, or NULL) */
	char **blobs;	    /* blob digests removed */
	int64_t bytes;	    /* what they took on disk */
	size_t locks;	    /* lock files nobody held, removed */
	size_t objects;	    /* pool objects no layer linked any more, removed */
	size_t broken_refs; /* refs whose manifest or config could not be read */
	bool kept_layers;   /* something unreadable might need any layer: none was removed */
};
/*
 * Mark what refs (through their manifests and configs), containers (config.json) and the
 * leases of live processes reach; remove the rest: layers (into tmp/trash, then deleted, after
 * the lock is released), blobs, and, when only is NULL, the lock files in tmp/locks that nobody
 * holds. only (NULL-terminated digests and chain ids) limits what may be removed (rmi). A
 * layer being ingested is left alone. Serialized against other gc runs and against leases.
 */
int lc_store_gc(struct lc_store *s, char *const *only, struct lc_gc_result *ret,
		struct lc_err **err);
void lc_gc_result_clear(struct lc_gc_result *r);

/* ---------- image mounts (read-only views of an image's merged tree) ---------- */

struct lc_image_mount {
	char *dir;	/* absolute */
	char *image;	/* the reference as given, normalized */
	char *image_id; /* "sha256:<config digest>" */
	char **layers;	/* chain ids, topmost first, NULL-terminated */
	size_t n_layers;
};
/* Record that m->dir shows the image (mounts/<sha256 of dir>.json, replaced atomically). */
int lc_store_mount_add(struct lc_store *s, const struct lc_image_mount *m, struct lc_err **err);
/* Forget dir's record. LC_ERR_NOTFOUND if there is none. */
int lc_store_mount_remove(struct lc_store *s, const char *dir, struct lc_err **err);
/* Every record (unreadable ones skipped). *ret (n entries) is the caller's. */
int lc_store_mount_list(struct lc_store *s, struct lc_image_mount **ret, size_t *ret_n,
			struct lc_err **err);
void lc_image_mount_list_free(struct lc_image_mount *v, size_t n);

/* ---------- verify ---------- */

/*
 * Check a committed layer's dir against the manifest recorded when it was unpacked (type, mode,
 * owner, size of every entry; the content of regular files, re-hashed; symlink targets, device
 * numbers, opaque marks). *ret_problems: one "path: what" per difference (added, missing,
 * changed), NULL-terminated, the caller's. 1 with *ret_problems NULL when the layer has no
 * manifest (committed by an older layerctl).
 */
int lc_store_layer_verify(struct lc_store *s, const char *chainid, char ***ret_problems,
			  struct lc_err **err);
/* Remove a layer (dir through tmp/trash, metadata, manifest, short link), as gc would. */
int lc_store_layer_remove(struct lc_store *s, const char *chainid, struct lc_err **err);

typedef void (*lc_verify_fn)(void *opaque, const char *line);
struct lc_verify_result {
	size_t problems; /* found */
	size_t repaired; /* of those, fixed by dropping or rebuilding */
};
/*
 * Verify the whole store, reporting one line per problem through report: every blob re-hashed,
 * every layer against its manifest, every ref reaching a complete image. With repair, corrupt
 * blobs and damaged layers are removed (a pull fetches them again) and a refs/refs.json that does
 * not parse is set aside and rebuilt from the blobs (images named "<none>@<digest>").
 */
int lc_store_verify(struct lc_store *s, bool repair, lc_verify_fn report, void *opaque,
		    struct lc_verify_result *ret, struct lc_err **err);

/* ---------- diff.c: what a container changed ---------- */

struct lc_diff_entry {
	char kind;  /* 'A' added, 'C' changed, 'D' deleted */
	char *path; /* "/etc/hosts" (untrusted: escape it to print) */
};
/*
 * What container id changed, read from its upper dir against the image's layers (chain ids,
 * topmost first): a whiteout is 'D', an opaque dir 'C', an entry the layers have 'C', else
 * 'A'. Sorted by path; *ret (n entries) is the caller's: lc_diff_free.
 */
int lc_store_container_diff(struct lc_store *s, const char *id, char *const *layers,
			    struct lc_diff_entry **ret, size_t *ret_n, struct lc_err **err);
void lc_diff_free(struct lc_diff_entry *v, size_t n);

#endif
