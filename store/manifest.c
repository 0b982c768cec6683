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

/* ---------- a string map (path -> value) ---------- */

struct smap_ent {
	char *key;
	char *val;
	bool seen;
};

struct smap {
	struct smap_ent *v;
	size_t n, cap;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct smap_ent *smap_slot(const struct smap *m, const char *key)
{
	size_t i = str_hash(key) & (m->cap - 1);

	while (m->v[i].key && strcmp(m->v[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

static struct smap_ent *smap_get(const struct smap *m, const char *key)
{
	struct smap_ent *e;

	if (!m->cap)
		return NULL;
	e = smap_slot(m, key);
	return e->key ? e : NULL;
}

/* Set key to val (copied; NULL allowed); replaces. */
static void smap_put(struct smap *m, const char *key, const char *val)
{
	struct smap_ent *e;

	if ((m->n + 1) * 2 > m->cap) {
		struct smap bigger = { .cap = m->cap ? m->cap * 2 : 1024 };

		bigger.v = lc_xcalloc(bigger.cap, sizeof(*bigger.v));
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].key)
				*smap_slot(&bigger, m->v[i].key) = m->v[i];
		bigger.n = m->n;
		free(m->v);
		*m = bigger;
	}
	e = smap_slot(m, key);
	if (!e->key) {
		e->key = lc_xstrdup(key);
		m->n++;
	}
	free(e->val);
	e->val = val ? lc_xstrdup(val) : NULL;
}

static void smap_clear(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

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

struct build {
	struct lc_fhash *recs;
	FILE *out; /* the manifest, a line an entry, written as the walk goes */
	/* the pool objects the layer links, each once: "<bytes> <name>" lines */
	struct lc_dmap *objects_seen; /* keyed by the name's sha256 */
	FILE *objects;
	size_t n_objects;
	struct lc_err *err; /* a scratch table's I/O failed */
};

static int objects_add(struct build *b, const char *name, const struct stat *st)
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

static int build_cb(void *opaque, int dirfd, const char *name, const char *path,
		    const struct stat *st, int fd)
{
	struct build *b = opaque;
	char extra[LC_DIGEST_BUFSZ];

	if (S_ISREG(st->st_mode)) {
		struct lc_fhash_val v = { 0 };

		if (b->recs && lc_fhash_get(b->recs, path, &v, &b->err) < 0)
			return -1;
		if (v.has_digest)
			hex_of(v.digest, extra);
		else
			snprintf(extra, sizeof(extra), "-");
		if (b->objects && v.pooled && v.has_digest) {
			char key[LC_POOL_NAME_SZ];
			struct timespec mtime = { .tv_sec = v.sec, .tv_nsec = v.nsec };

			lc_pool_name(key, extra, v.mode, v.uid, v.gid, &mtime,
				     v.has_xattrs ? v.xattrs : NULL);
			if (objects_add(b, key, st) < 0)
				return -1;
		}
	} else {
		entry_extra(dirfd, name, st, fd, extra, sizeof(extra));
	}
	line_format(b->out, path, st, extra);
	return 0;
}

int lc_layer_manifest_build(int dirfd, const char *name, struct lc_fhash *recs, int scratchfd,
			    FILE *out, FILE *objects, size_t *ret_n_objects, int64_t *ret_bytes,
			    struct lc_err **err)
{
	struct build b = { .recs = recs, .out = out, .objects = objects };
	int r;

	if (objects)
		b.objects_seen = lc_dmap_new(scratchfd, "objects-seen", 0, OBJECTS_MEM);
	r = lc_store_tree_walk_scratch_at(dirfd, name, scratchfd, build_cb, &b, ret_bytes, err);
	lc_dmap_free(b.objects_seen);
	if (r < 0) {
		if (b.err) /* the callback's own failure: the walk set nothing */
			lc_err_move(err, &b.err);
		return -1;
	}
	if (fflush(out) != 0 || ferror(out) ||
	    (objects && (fflush(objects) != 0 || ferror(objects))))
		return lc_err_set(err, LC_ERR_SYS, errno, "write the layer's manifest");
	if (ret_n_objects)
		*ret_n_objects = b.n_objects;
	return 0;
}

/* ---------- verifying ---------- */

struct check {
	struct smap want; /* path -> "<type> <mode> <uid> <gid> <size> <extra>" */
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

static int check_cb(void *opaque, int dirfd, const char *name, const char *path,
		    const struct stat *st, int fd)
{
	struct check *c = opaque;
	struct smap_ent *e = smap_get(&c->want, path);
	char type, extra[LC_DIGEST_BUFSZ], want_extra[LC_DIGEST_BUFSZ];
	unsigned mode, uid, gid;
	long long size;

	if (!e) {
		problem(c, path, "not in the layer's manifest (added)");
		return 0;
	}
	e->seen = true;
	if (sscanf(e->val, "%c %o %u %u %lld %71s", &type, &mode, &uid, &gid, &size, want_extra) !=
	    6) {
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

/* Parse the manifest text into c->want. */
static int manifest_load(struct check *c, char *text, struct lc_err **err)
{
	for (char *line = text, *nl; *line; line = nl + 1) {
		char *p, *sp = line;
		cleanup_free char *path = NULL;
		size_t o = 0;

		nl = strchr(line, '\n');
		if (!nl)
			return lc_err_set(err, LC_ERR_PROTO, 0, "manifest: truncated line");
		*nl = '\0';
		/* the path follows the sixth space */
		for (int k = 0; k < 6 && sp; k++)
			sp = strchr(sp + (k ? 1 : 0), ' ');
		if (!sp)
			return lc_err_set(err, LC_ERR_PROTO, 0, "manifest: bad line");
		*sp = '\0';
		path = lc_xmalloc(strlen(sp + 1) + 1);
		for (p = sp + 1; *p; p++) {
			if (*p == '\\' && (p[1] == 'n' || p[1] == '\\')) {
				path[o++] = p[1] == 'n' ? '\n' : '\\';
				p++;
			} else {
				path[o++] = *p;
			}
		}
		path[o] = '\0';
		smap_put(&c->want, strcmp(path, ".") ? path : "", line);
	}
	return 0;
}

int lc_store_layer_verify(struct lc_store *s, const char *chainid, char ***ret_problems,
			  struct lc_err **err)
{
	struct check c = { 0 };
	cleanup_free char *name = NULL, *text = NULL;
	struct lc_err *e = NULL;
	int64_t bytes;
	int r = -1;

	if (lc_digest_check(chainid, err) < 0)
		return -1;
	name = lc_xasprintf("%s.files", lc_digest_hex(chainid));
	if (lc_read_file_at(s->layersfd, name, MANIFEST_MAX, &text, NULL, &e) < 0) {
		if (e->code == LC_ERR_NOTFOUND) {
			lc_err_free(e);
			*ret_problems = NULL;
			return 1; /* committed before manifests were recorded */
		}
		lc_err_move(err, &e);
		return lc_err_prefix(err, "layer %s", chainid);
	}
	if (manifest_load(&c, text, err) < 0) {
		lc_err_prefix(err, "layer %s", chainid);
		goto out;
	}
	if (lc_store_tree_walk_at(s->layersfd, lc_digest_hex(chainid), check_cb, &c, &bytes, err) <
	    0) {
		lc_err_prefix(err, "layer %s", chainid);
		goto out;
	}
	for (size_t i = 0; i < c.want.cap; i++)
		if (c.want.v[i].key && !c.want.v[i].seen)
			problem(&c, c.want.v[i].key, "missing");
	*ret_problems = TAKE_PTR(c.problems);
	if (!*ret_problems)
		*ret_problems = lc_xcalloc(1, sizeof(char *));
	r = 0;
out:
	lc_strv_free(c.problems);
	smap_clear(&c.want);
	return r;
}
