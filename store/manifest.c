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

/* ---------- content hashes the extractor computed ---------- */

struct lc_fhash {
	struct smap m;
};

struct lc_fhash *lc_fhash_new(void)
{
	return lc_xcalloc(1, sizeof(struct lc_fhash));
}

void lc_fhash_put(struct lc_fhash *h, const char *path, const char *digest)
{
	smap_put(&h->m, path, digest);
}

const char *lc_fhash_get(const struct lc_fhash *h, const char *path)
{
	struct smap_ent *e = h ? smap_get(&h->m, path) : NULL;

	return e ? e->val : NULL;
}

void lc_fhash_free(struct lc_fhash *h)
{
	if (!h)
		return;
	smap_clear(&h->m);
	free(h);
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
	const struct lc_fhash *hashes;
	FILE *out; /* the manifest, a line an entry, written as the walk goes */
	/* the pool objects the layer links, each once: "<bytes> <name>" lines */
	const struct lc_fhash *pooled;
	struct smap objects_seen;
	FILE *objects;
	size_t n_objects;
};

static void objects_add(struct build *b, const char *key, const struct stat *st)
{
	if (smap_get(&b->objects_seen, key))
		return; /* another path of the layer links the same object: its bytes count once */
	smap_put(&b->objects_seen, key, NULL);
	fprintf(b->objects, "%lld %s\n", (long long)st->st_blocks * 512, key);
	b->n_objects++;
}

static int build_cb(void *opaque, int dirfd, const char *name, const char *path,
		    const struct stat *st, int fd)
{
	struct build *b = opaque;
	char extra[LC_DIGEST_BUFSZ];

	if (S_ISREG(st->st_mode)) {
		const char *h = lc_fhash_get(b->hashes, path);
		const char *k = b->objects ? lc_fhash_get(b->pooled, path) : NULL;

		snprintf(extra, sizeof(extra), "%s", h ? h : "-");
		if (k)
			objects_add(b, k, st);
	} else {
		entry_extra(dirfd, name, st, fd, extra, sizeof(extra));
	}
	line_format(b->out, path, st, extra);
	return 0;
}

int lc_layer_manifest_build(int dirfd, const char *name, const struct lc_fhash *hashes,
			    const struct lc_fhash *pooled, FILE *out, FILE *objects,
			    size_t *ret_n_objects, int64_t *ret_bytes, struct lc_err **err)
{
	struct build b = { .hashes = hashes, .out = out, .pooled = pooled, .objects = objects };
	int r = lc_store_tree_walk_at(dirfd, name, build_cb, &b, ret_bytes, err);

	smap_clear(&b.objects_seen);
	if (r < 0)
		return -1;
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
