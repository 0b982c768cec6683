/* SPDX-License-Identifier: MIT */
/*
 * store: a layer's file manifest (layers/sha256/<hex>.files), recorded at commit and checked by
 * verify. One line an entry, the layer root first:
 *
 *   <type> <mode> <uid> <gid> <size> <extra> <path>
 *
 * type f d l p c b s; mode octal; extra is the sha256 of a regular file's content (computed by
 * the extractor while it wrote the file, so recording costs no read; "-" when unknown, e.g. a
 * sparse file), of a symlink's target, "major,minor" of a device (whiteouts are 0,0), "o" for
 * an opaque dir, else "-". The path is relative ("." is the root) with "\" and newlines escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store-int.h"

#define OVL_OPAQUE   lc_ovl_opaque_xattr() /* trusted.*, or user.* rootless */
#define MANIFEST_MAX (256u << 20)

/* ---------- what the extractor learnt of each regular file ---------- */

/*
 * A layer of a million entries would hold a million paths: the records are a lc_dmap keyed by
 * the path's sha256 (its first 16 bytes), bounded in memory (FHASH_MEM, then a file).
 */
#ifndef FHASH_MEM /* -DFHASH_MEM=4096: a test build that puts every layer's maps in files */
#define FHASH_MEM (8u << 20)
#endif
#ifndef OBJECTS_MEM
#define OBJECTS_MEM (4u << 20)
#endif

struct lc_fhash {
	struct lc_dmap *m;
};

struct lc_fhash *lc_fhash_new(int scratchfd)
{
	struct lc_fhash *h = lc_xcalloc(1, sizeof(*h));

	h->m = lc_dmap_new(scratchfd, "files-map", sizeof(struct lc_fhash_val), FHASH_MEM);
	return h;
}

static void path_key(const char *path, unsigned char key[32])
{
	lc_sha256_bin(path, strlen(path), key);
}

int lc_fhash_put(struct lc_fhash *h, const char *path, const struct lc_fhash_val *v,
		 struct lc_err **err)
{
	unsigned char key[32];

	path_key(path, key);
	return lc_dmap_put(h->m, key, v, true, err) < 0 ? -1 : 0;
}

int lc_fhash_get(struct lc_fhash *h, const char *path, struct lc_fhash_val *ret,
		 struct lc_err **err)
{
	unsigned char key[32];
	int r;

	memset(ret, 0, sizeof(*ret));
	path_key(path, key);
	r = lc_dmap_get(h->m, key, ret, err);
	if (r <= 0)
		memset(ret, 0, sizeof(*ret));
	return r;
}

void lc_fhash_free(struct lc_fhash *h)
{
	if (!h)
		return;
	lc_dmap_free(h->m);
	free(h);
}

void lc_fhash_val_set_digest(struct lc_fhash_val *v, const char *digest)
{
	const char *hex = digest + 7;

	for (int i = 0; i < 32; i++) {
		int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
		int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;

		v->digest[i] = (unsigned char)(hi << 4 | lo);
	}
	v->has_digest = true;
}

static void hex_of(const unsigned char d[32], char out[LC_DIGEST_BUFSZ])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[d[i] >> 4];
		out[8 + 2 * i] = hex[d[i] & 0xf];
	}
	out[LC_DIGEST_LEN] = '\0';
}

/* ---------- entries ---------- */

static char type_char(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return 'f';
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFIFO:
		return 'p';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	default:
		return 's';
	}
}

/* What the line records beside the hash of a regular file ("extra" for the other types). */
static void entry_extra(int dirfd, const char *name, const struct stat *st, int fd, char *out,
			size_t outsz)
{
	snprintf(out, outsz, "-");
	if (S_ISLNK(st->st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

		if (n >= 0)
			lc_sha256_buf(target, (size_t)n, out);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		snprintf(out, outsz, "%u,%u", major(st->st_rdev), minor(st->st_rdev));
	} else if (S_ISDIR(st->st_mode) && fd >= 0) {
		char v[2];

		if (fgetxattr(fd, OVL_OPAQUE, v, sizeof(v)) == 1 && v[0] == 'y')
			snprintf(out, outsz, "o");
	}
}

/* one manifest line onto out: "<type> <mode> <uid> <gid> <size> <extra> <path>", the path's
 * backslashes and newlines escaped ("." for the root) */
static void line_format(FILE *out, const char *path, const struct stat *st, const char *extra)
{
	fprintf(out, "%c %o %u %u %lld %s ", type_char(st->st_mode),
		(unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, (unsigned)st->st_gid,
		S_ISDIR(st->st_mode) ? 0ll : (long long)st->st_size, extra);
	if (!*path)
		putc('.', out);
	for (const char *p = path; *p; p++) {
		if (*p == '\\' || *p == '\n') {
			putc('\\', out);
			putc(*p == '\n' ? 'n' : '\\', out);
		} else {
			putc(*p, out);
		}
	}
	putc('\n', out);
}

/* ---------- building at commit ---------- */

/*
 * A regular file of more than 4 blocks may get an extent tree block when the writeback
 * allocates its data (ext4 keeps 4 extents in the inode), so the syncfs that runs beside the
 * commit's walk can still change its st_blocks, which du must count as GNU du does. Those files
 * the walk notes (in a file of the staging dir), and lc_layer_manifest_settle counts them (and
 * lists their pool objects) once the sync is done. Smaller ones keep what the walk sees: their
 * delayed allocation counts as reserved blocks, the same number before and after.
 */
#define SETTLE_BLOCKS 32 /* st_blocks (512-byte units) of 4 blocks of 4 KiB */
#ifndef SETTLE_MEM
#define SETTLE_MEM (2u << 20)
#endif

struct lc_manifest_walk {
	struct lc_fhash *recs;
	const struct lc_pool *pool; /* NULL: the store does not dedup */
	FILE *out;		    /* the manifest, a line an entry, written as the walk goes */
	/* the pool objects the layer links, each once: "<bytes> <name>" lines */
	struct lc_dmap *objects_seen; /* keyed by the name's sha256 */
	FILE *objects;
	size_t n_objects;
	struct lc_err *err; /* a scratch table's I/O failed */
	/* NULL: no sync runs beside the walk. Else "<path>\0<pool object or empty>\0" of each
	 * file counted after it, and the walk's root and scratch dir, to find them again */
	FILE *later;
	int rootfd, scratchfd;
};

static int objects_add(struct lc_manifest_walk *b, const char *name, const struct stat *st)
{
	unsigned char key[32];
	int r;

	lc_sha256_bin(name, strlen(name), key);
	r = lc_dmap_put(b->objects_seen, key, NULL, false, &b->err);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0; /* another path of the layer links the same object: its bytes count once */
	fprintf(b->objects, "%lld %s\n", (long long)st->st_blocks * 512, name);
	b->n_objects++;
	return 0;
}

static int build_cb(void *opaque, int dirfd, const char *name, const char *path, struct stat *st,
		    int fd)
{
	struct lc_manifest_walk *b = opaque;
	char extra[LC_DIGEST_BUFSZ];
	bool later = false;

	if (S_ISREG(st->st_mode)) {
		struct lc_fhash_val v = { 0 };

		if (b->recs && lc_fhash_get(b->recs, path, &v, &b->err) < 0)
			return -1;
		if (v.has_digest)
			hex_of(v.digest, extra);
		else
			snprintf(extra, sizeof(extra), "-");
		if (b->pool && v.share && v.has_digest) {
			char key[LC_POOL_NAME_SZ];
			struct timespec mtime = { .tv_sec = v.sec, .tv_nsec = v.nsec };
			int shared;

			lc_pool_name(key, extra, v.mode, v.uid, v.gid, &mtime,
				     v.has_xattrs ? v.xattrs : NULL);
			/* here, while syncfs writes the layer out, not on the extraction's path */
			shared = lc_pool_share(b->pool, dirfd, name, st, key);
			/* the pool's copy now: the same content, mode, owner and times, but its
			 * own blocks (the walk counts those) */
			if (shared == 2 && fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
				return lc_err_set(&b->err, LC_ERR_SYS, errno, "stat '%s'", path);
			/* ours just became the pool's copy: the pool's name links it too, so the
			 * walk counts it once with the layer's other files replaced by it */
			if (shared == 1 && st->st_nlink < 2)
				st->st_nlink = 2;
			later = b->later && st->st_blocks > SETTLE_BLOCKS;
			if (later)
				fprintf(b->later, "%s%c%s%c", path, 0,
					shared && b->objects ? key : "", 0);
			else if (shared && b->objects && objects_add(b, key, st) < 0)
				return -1;
		} else if (b->later && st->st_blocks > SETTLE_BLOCKS) {
			later = true;
			fprintf(b->later, "%s%c%c", path, 0, 0);
		}
	} else {
		entry_extra(dirfd, name, st, fd, extra, sizeof(extra));
	}
	line_format(b->out, path, st, extra);
	return later ? 1 : 0; /* 1: lc_layer_manifest_settle counts it */
}

void lc_layer_manifest_walk_free(struct lc_manifest_walk *w)
{
	if (!w)
		return;
	lc_dmap_free(w->objects_seen);
	if (w->later)
		fclose(w->later);
	if (w->rootfd >= 0)
		close(w->rootfd);
	lc_err_free(w->err);
	free(w);
}

int lc_layer_manifest_walk(int dirfd, const char *name, struct lc_fhash *recs,
			   const struct lc_pool *pool, int scratchfd, bool settle_later, FILE *out,
			   FILE *objects, struct lc_manifest_walk **ret, int64_t *ret_bytes,
			   struct lc_err **err)
{
	struct lc_manifest_walk *b = lc_xcalloc(1, sizeof(*b));
	int r;

	*b = (struct lc_manifest_walk){ .recs = recs,
					.pool = pool,
					.out = out,
					.objects = objects,
					.rootfd = -1,
					.scratchfd = scratchfd };
	if (objects)
		b->objects_seen = lc_dmap_new(scratchfd, "objects-seen", 0, OBJECTS_MEM);
	if (settle_later) {
		int fd = openat(scratchfd, "settle-later",
				O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0 || !(b->later = fdopen(fd, "w+"))) {
			if (fd >= 0)
				close(fd);
			lc_layer_manifest_walk_free(b);
			return lc_err_set(err, LC_ERR_SYS, errno, "create 'settle-later'");
		}
		b->rootfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (b->rootfd < 0) {
			lc_layer_manifest_walk_free(b);
			return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", name);
		}
	}
	r = lc_store_tree_walk_scratch_at(dirfd, name, scratchfd, build_cb, b, ret_bytes, err);
	if (r < 0) {
		if (b->err) /* the callback's own failure: the walk set nothing */
			lc_err_move(err, &b->err);
		lc_layer_manifest_walk_free(b);
		return -1;
	}
	if (fflush(out) != 0 || ferror(out) ||
	    (objects && (fflush(objects) != 0 || ferror(objects))) ||
	    (b->later && (fflush(b->later) != 0 || ferror(b->later)))) {
		lc_layer_manifest_walk_free(b);
		return lc_err_set(err, LC_ERR_SYS, errno, "write the layer's manifest");
	}
	*ret = b;
	return 0;
}

int lc_layer_manifest_settle(struct lc_manifest_walk *b, size_t *ret_n_objects, int64_t *bytes,
			     struct lc_err **err)
{
	cleanup_free char *path = NULL, *key = NULL;
	size_t pcap = 0, kcap = 0;
	struct lc_dmap *seen = NULL;
	int r = -1;

	if (b->later) {
		seen = lc_dmap_new(b->scratchfd, "settle-seen", 0, SETTLE_MEM);
		rewind(b->later);
	}
	while (b->later && getdelim(&path, &pcap, 0, b->later) > 0 &&
	       getdelim(&key, &kcap, 0, b->later) > 0) {
		struct stat st;
		struct ino_key {
			dev_t dev;
			ino_t ino;
		} k;
		unsigned char hk[32];
		int added;

		/* the staging dir is this ingest's alone: the tree is the one just walked */
		if (fstatat(b->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", path);
			goto out;
		}
		k = (struct ino_key){ st.st_dev, st.st_ino };
		lc_sha256_bin(&k, sizeof(k), hk);
		added = lc_dmap_put(seen, hk, NULL, false, &b->err);
		if (added < 0)
			goto out;
		if (added) /* hard links (and the pool's files) count once */
			*bytes += (int64_t)st.st_blocks * 512;
		if (*key && objects_add(b, key, &st) < 0)
			goto out;
	}
	if (b->later && ferror(b->later)) {
		lc_err_set(err, LC_ERR_SYS, errno, "read 'settle-later'");
		goto out;
	}
	if (b->objects && (fflush(b->objects) != 0 || ferror(b->objects))) {
		lc_err_set(err, LC_ERR_SYS, errno, "write the layer's pool objects");
		goto out;
	}
	if (ret_n_objects)
		*ret_n_objects = b->n_objects;
	r = 0;
out:
	if (r < 0 && b->err)
		lc_err_move(err, &b->err);
	lc_dmap_free(seen);
	if (b->later)
		unlinkat(b->scratchfd, "settle-later", 0);
	lc_layer_manifest_walk_free(b);
	return r;
}

int lc_layer_manifest_build(int dirfd, const char *name, struct lc_fhash *recs,
			    const struct lc_pool *pool, int scratchfd, FILE *out, FILE *objects,
			    size_t *ret_n_objects, int64_t *ret_bytes, struct lc_err **err)
{
	struct lc_manifest_walk *w = NULL;

	if (lc_layer_manifest_walk(dirfd, name, recs, pool, scratchfd, false, out, objects, &w,
				   ret_bytes, err) < 0)
		return -1;
	return lc_layer_manifest_settle(w, ret_n_objects, ret_bytes, err);
}

/* ---------- verifying ---------- */

/*
 * A layer of many entries has a manifest as long: it is never held whole. One pass reads it
 * line by line into a lc_dmap keyed by each path's fingerprint (as lc_fhash), whose value says
 * where the line is in the file; the walk reads each line it needs back with a pread and
 * notes the paths it met in a second lc_dmap; when it met fewer than the manifest has lines, a
 * last pass over the file names the paths it did not meet. Both maps live in a scratch dir in
 * tmp/ (flocked while verify runs, removed when it ends), bounded in memory (VERIFY_MEM).
 */
#ifndef VERIFY_MEM
#define VERIFY_MEM (2u << 20)
#endif

struct want_val {
	uint64_t off; /* the line's offset in the manifest */
	uint64_t len; /* its fields' bytes: "<type> <mode> <uid> <gid> <size> <extra>" */
};

struct check {
	const char *name; /* the manifest's, in layers/sha256 */
	FILE *f;
	struct lc_dmap *want; /* path -> want_val */
	struct lc_dmap *seen; /* the paths the walk met */
	char *line, *path;    /* the last line read, and its path unescaped ("" for the root) */
	size_t line_cap, path_cap;
	uint64_t off;	/* where the next line starts */
	size_t n_lines; /* the manifest's */
	size_t n_met;	/* the walk's paths the manifest lists (each path is walked once) */
	char *fields;	/* a line's fields read back */
	size_t fields_cap;
	char **problems;
	size_t n_problems;
	struct lc_err *err;
};

static void problem(struct check *c, const char *path, const char *what)
{
	cleanup_free char *p = lc_xasprintf("%s: %s", *path ? path : ".", what);

	lc_strv_push(&c->problems, p);
	c->n_problems++;
}

/*
 * The manifest's next line: 1 with its path in c->path (and *ret the line's place), 0 at the
 * end. A NUL byte ends the manifest where a line starts (a line cut by one is truncated).
 */
static int manifest_next(struct check *c, struct want_val *ret, struct lc_err **err)
{
	ssize_t n;
	char *sp, *nul, *end;
	size_t o = 0;

	errno = 0;
	n = getline(&c->line, &c->line_cap, c->f);
	if (n < 0) {
		if (ferror(c->f))
			return lc_err_set(err, LC_ERR_SYS, errno ? errno : EIO, "read '%s'",
					  c->name);
		return 0;
	}
	ret->off = c->off;
	c->off += (uint64_t)n;
	if (c->off > MANIFEST_MAX)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "'%s' is larger than %zu bytes", c->name,
				  (size_t)MANIFEST_MAX);
	nul = memchr(c->line, '\0', (size_t)n);
	if (nul == c->line)
		return 0;
	if (nul || c->line[n - 1] != '\n')
		return lc_err_set(err, LC_ERR_PROTO, 0, "manifest: truncated line");
	end = c->line + n - 1;
	*end = '\0';
	/* the path follows the sixth space */
	sp = c->line;
	for (int k = 0; k < 6 && sp; k++)
		sp = strchr(sp + (k ? 1 : 0), ' ');
	if (!sp)
		return lc_err_set(err, LC_ERR_PROTO, 0, "manifest: bad line");
	ret->len = (uint64_t)(sp - c->line);
	if (c->path_cap < (size_t)(end - sp)) {
		c->path_cap = (size_t)(end - sp);
		c->path = lc_xrealloc(c->path, c->path_cap);
	}
	for (char *p = sp + 1; *p; p++) {
		if (*p == '\\' && (p[1] == 'n' || p[1] == '\\')) {
			c->path[o++] = p[1] == 'n' ? '\n' : '\\';
			p++;
		} else {
			c->path[o++] = *p;
		}
	}
	c->path[o] = '\0';
	if (!strcmp(c->path, "."))
		c->path[0] = '\0';
	return 1;
}

/* Read the manifest into c->want. */
static int manifest_load(struct check *c, struct lc_err **err)
{
	struct want_val v;
	int r;

	while ((r = manifest_next(c, &v, err)) > 0) {
		unsigned char key[32];

		path_key(c->path, key);
		if (lc_dmap_put(c->want, key, &v, true, err) < 0)
			return -1;
		c->n_lines++;
	}
	return r;
}

/* The fields of the line of path into c->fields: 1, or 0 when the manifest has no such path. */
static int want_fields(struct check *c, const char *path)
{
	unsigned char key[32];
	struct want_val v;
	ssize_t n;
	int r;

	path_key(path, key);
	r = lc_dmap_get(c->want, key, &v, &c->err);
	if (r <= 0)
		return r;
	if (lc_dmap_put(c->seen, key, NULL, true, &c->err) < 0)
		return -1;
	c->n_met++;
	if (c->fields_cap < v.len + 1) {
		c->fields_cap = v.len + 1;
		c->fields = lc_xrealloc(c->fields, c->fields_cap);
	}
	n = pread(fileno(c->f), c->fields, v.len, (off_t)v.off);
	if (n != (ssize_t)v.len)
		return lc_err_set(&c->err, LC_ERR_SYS, n < 0 ? errno : EIO, "read '%s'", c->name);
	c->fields[n] = '\0';
	return 1;
}

static int check_cb(void *opaque, int dirfd, const char *name, const char *path, struct stat *st,
		    int fd)
{
	struct check *c = opaque;
	char type, extra[LC_DIGEST_BUFSZ], want_extra[LC_DIGEST_BUFSZ];
	unsigned mode, uid, gid;
	long long size;
	int r = want_fields(c, path);

	if (r < 0)
		return -1;
	if (r == 0) {
		problem(c, path, "not in the layer's manifest (added)");
		return 0;
	}
	if (sscanf(c->fields, "%c %o %u %u %lld %71s", &type, &mode, &uid, &gid, &size,
		   want_extra) != 6) {
		problem(c, path, "unreadable manifest line");
		return 0;
	}
	if (type != type_char(st->st_mode)) {
		problem(c, path, "type changed");
		return 0;
	}
	if (mode != (st->st_mode & 07777))
		problem(c, path, "mode changed");
	if (uid != st->st_uid || gid != st->st_gid)
		problem(c, path, "owner changed");
	if (!S_ISDIR(st->st_mode) && size != (long long)st->st_size)
		problem(c, path, "size changed");
	if (S_ISREG(st->st_mode)) {
		if (strcmp(want_extra, "-") != 0 &&
		    (lc_sha256_file_at(dirfd, name, extra) < 0 || strcmp(extra, want_extra) != 0))
			problem(c, path, "content changed");
	} else {
		entry_extra(dirfd, name, st, fd, extra, sizeof(extra));
		if (strcmp(extra, want_extra) != 0)
			problem(c, path,
				S_ISLNK(st->st_mode)   ? "symlink target changed"
				: S_ISDIR(st->st_mode) ? "opaque mark changed"
						       : "device numbers changed");
	}
	return 0;
}

/* The paths of the manifest the walk did not meet: "missing", in the manifest's order. */
static int manifest_missing(struct check *c, struct lc_err **err)
{
	struct want_val v;
	int r;

	if (fseeko(c->f, 0, SEEK_SET) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "read '%s'", c->name);
	c->off = 0;
	while ((r = manifest_next(c, &v, err)) > 0) {
		unsigned char key[32];

		path_key(c->path, key);
		/* a path listed twice is missing once */
		r = lc_dmap_put(c->seen, key, NULL, false, err);
		if (r < 0)
			return -1;
		if (r == 1)
			problem(c, c->path, "missing");
	}
	return r;
}

int lc_store_layer_verify(struct lc_store *s, const char *chainid, char ***ret_problems,
			  struct lc_err **err)
{
	cleanup_free char *name = NULL, *scratch = NULL;
	cleanup_close int scratchfd = -1;
	struct check c = { 0 };
	struct stat st;
	int64_t bytes;
	int fd, r = -1;

	if (lc_digest_check(chainid, err) < 0)
		return -1;
	name = lc_xasprintf("%s.files", lc_digest_hex(chainid));
	c.name = name;
	fd = openat(s->layersfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*ret_problems = NULL;
		return 1; /* committed before manifests were recorded */
	}
	if (fd < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", name);
		return lc_err_prefix(err, "layer %s", chainid);
	}
	c.f = fdopen(fd, "r");
	if (!c.f) {
		lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", name);
		close(fd);
		return lc_err_prefix(err, "layer %s", chainid);
	}
	if (fstat(fd, &st) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "read '%s'", name);
		goto out;
	}
	if ((uint64_t)st.st_size > MANIFEST_MAX) {
		lc_err_set(err, LC_ERR_LIMIT, 0, "'%s' is larger than %zu bytes", name,
			   (size_t)MANIFEST_MAX);
		goto out;
	}
	scratchfd = lc_store_tmp_create(s, "verify", true, &scratch, err);
	if (scratchfd < 0)
		goto out;
	c.want = lc_dmap_new(scratchfd, "manifest-map", sizeof(struct want_val), VERIFY_MEM);
	c.seen = lc_dmap_new(scratchfd, "paths-seen", 0, VERIFY_MEM / 2);
	if (manifest_load(&c, err) < 0)
		goto out;
	if (lc_store_tree_walk_scratch_at(s->layersfd, lc_digest_hex(chainid), scratchfd, check_cb,
					  &c, &bytes, err) < 0) {
		if (c.err) /* the callback's own failure: the walk set nothing */
			lc_err_move(err, &c.err);
		goto out;
	}
	/* every line's path met (a path listed twice would leave n_met short): none missing */
	if (c.n_met < c.n_lines && manifest_missing(&c, err) < 0)
		goto out;
	*ret_problems = TAKE_PTR(c.problems);
	if (!*ret_problems)
		*ret_problems = lc_xcalloc(1, sizeof(char *));
	r = 0;
out:
	if (r < 0)
		lc_err_prefix(err, "layer %s", chainid);
	lc_strv_free(c.problems);
	lc_err_free(c.err);
	lc_dmap_free(c.want);
	lc_dmap_free(c.seen);
	if (scratch)
		lc_store_spool_remove(s, scratch);
	free(c.line);
	free(c.path);
	free(c.fields);
	fclose(c.f);
	return r;
}
