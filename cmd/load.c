/* SPDX-License-Identifier: MIT */
/*
 * load [-i FILE] [-q]: images from a tar archive (or STDIN; gzip, bzip2, xz or zstd
 * compressed too), as `docker load` reads them: a docker-archive (manifest.json: Config,
 * RepoTags, Layers) or an OCI image layout (oci-layout, index.json, blobs/sha256/). The
 * archive is hostile: its members are spooled to a private dir in the store's tmp/ under
 * their index (a member's name never becomes a path), names are confined (no absolute name,
 * no "..", links only to other members), JSON documents are bounded, every blob is hashed
 * and checked against its name or descriptor, and every layer goes through the pull's ingest
 * (diff_id checked before it is committed). Layers the store holds are skipped. A load that
 * fails removes the layers it committed; the ref comes last, so nothing is visible before it
 * all verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "cmd.h"

static const char load_usage[] =
	"Usage:  layerctl load [OPTIONS]\n"
	"\n"
	"Load images from a tar archive or STDIN: docker-archive (docker save) or oci-archive\n"
	"(an OCI image layout), plain or gzip, bzip2, xz, zstd compressed\n"
	"\n"
	"Options:\n"
	"  -i, --input string   Read from tar archive file, instead of STDIN\n"
	"  -q, --quiet          Suppress the load output\n"
	"  -h, --help           print this help\n";

#define MAX_MEMBERS CMD_LOAD_MAX_MEMBERS
#define MAX_HOPS    16 /* links followed from one member name */
#define CHUNK	    (128u << 10)

struct member {
	char *name;   /* normalized: no leading "./", no "." or empty components */
	char *link;   /* a symlink's or hard link's target, normalized; NULL: a file */
	size_t index; /* spooled as "<index>" */
	size_t pos;   /* its place in the archive: of two members of one name, the last wins */
	uint64_t size;
	char digest[LC_DIGEST_BUFSZ];
};

struct spool {
	struct lc_store *s;
	char *name; /* tmp/<name> */
	int fd;
	struct member *m; /* sorted by name, then place, once spooled (find) */
	size_t n;
};

static void spool_clear(struct spool *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->m[i].name);
		free(sp->m[i].link);
	}
	free(sp->m);
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->name)
		lc_store_spool_remove(sp->s, sp->name);
	free(sp->name);
}

/*
 * The canonical form of a member name; a symlink's target is resolved from base, the link's
 * dir, where ".." may go up as long as it stays in the archive (docker-archive's
 * "<id>/layer.tar -> ../<id>.tar"). A member's own name may not hold "..".
 */
static int norm(const char *base, const char *in, char **ret, struct lc_err **err)
{
	cleanup_free char *joined = base && *base ? lc_xasprintf("%s/%s", base, in) : NULL;
	const char *p = joined ? joined : in;
	size_t cap = strlen(p) + 1, o = 0;
	char *out = lc_xmalloc(cap);

	if (in[0] == '/') {
		free(out);
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "archive member '%.200s' is absolute", in);
	}
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *up = o ? memrchr(out, '/', o) : NULL;

			if (!base || !o) {
				free(out);
				return lc_err_set(
					err, LC_ERR_UNSAFE, 0,
					"archive member '%.200s' leaves the archive ('..')", in);
			}
			o = up ? (size_t)(up - out) : 0;
		} else if (n && !(n == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	*ret = out;
	return 0;
}

struct spool_file {
	int fd;
	const char *raw; /* the member's name in the archive */
	const char *idx; /* its file in the spool */
};

/* A block of a file member, appended to its spool file: a member with a hole is refused. */
static int spool_block(void *opaque, const struct lc_tar_block *b, struct lc_err **err)
{
	const struct spool_file *f = opaque;

	if (b->off != b->end)
		return lc_err_set(err, LC_ERR_PROTO, 0, "archive member '%.200s' is sparse",
				  f->raw);
	if (lc_write_all(f->fd, b->buf, b->len) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "spool '%s'", f->idx);
	return 0;
}

static int spool_entry(struct spool *sp, struct archive *a, struct archive_entry *e,
		       struct lc_err **err)
{
	const char *raw = archive_entry_pathname(e);
	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	struct member m = { 0 };
	cleanup_close int fd = -1;
	cleanup_sha256 struct lc_sha256 *h = NULL;
	struct lc_tar_data data;
	char idx[32];

	if (!raw || !*raw)
		return lc_err_set(err, LC_ERR_PROTO, 0, "archive member without a name");
	if (strlen(raw) >= PATH_MAX)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "archive member name longer than %d bytes",
				  PATH_MAX - 1);
	if (type == AE_IFDIR && !hl)
		return 0;
	if (!hl && type != AE_IFREG && type != AE_IFLNK)
		return 0; /* devices, fifos: nothing a loader reads */
	if (sp->n >= MAX_MEMBERS)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "archive has more than %d members, the limit", MAX_MEMBERS);
	if (norm(NULL, raw, &m.name, err) < 0)
		return -1;
	if (hl || type == AE_IFLNK) {
		const char *target = hl ? hl : archive_entry_symlink(e);
		cleanup_free char *dir = lc_xstrdup(m.name);
		char *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0';
		else
			dir[0] = '\0';
		if (!target || !*target || strlen(target) >= PATH_MAX ||
		    norm(hl ? NULL : dir, target, &m.link, NULL) < 0) {
			lc_err_set(err, LC_ERR_UNSAFE, 0,
				   "archive member '%.200s' links outside the archive", m.name);
			free(m.name);
			return -1;
		}
	} else {
		m.index = sp->n;
		snprintf(idx, sizeof(idx), "%zu", m.index);
		fd = openat(sp->fd, idx, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0) {
			free(m.name);
			return lc_err_set(err, LC_ERR_SYS, errno, "spool '%s'", idx);
		}
		h = lc_sha256_new();
		if (lc_tar_read_data(a, h, spool_block, &(struct spool_file){ fd, raw, idx }, &data,
				     err, "read archive member '%.200s'", m.name) < 0) {
			free(m.name);
			return -1;
		}
		m.size = (uint64_t)data.end;
		lc_sha256_final(h, m.digest);
	}
	m.pos = sp->n;
	sp->m = lc_xrealloc(sp->m, (sp->n + 1) * sizeof(*sp->m));
	sp->m[sp->n++] = m;
	return 0;
}

/* The file member a name reaches (links followed within the archive), or NULL. */
static const struct member *find(const struct spool *sp, const char *name, struct lc_err **err)
{
	cleanup_free char *cur = NULL;

	if (norm(NULL, name, &cur, err) < 0 || !cur)
		return NULL;
	for (int hop = 0; hop <= MAX_HOPS; hop++) {
		const struct member *m = NULL;

		size_t lo = 0, hi = sp->n;

		/* the last of a name wins, as tar extracts it: the first entry past cur, minus 1 */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(sp->m[mid].name, cur) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && !strcmp(sp->m[lo - 1].name, cur))
			m = &sp->m[lo - 1];
		if (!m) {
			lc_err_set(err, LC_ERR_NOTFOUND, 0, "the archive has no '%.200s'", name);
			return NULL;
		}
		if (!m->link)
			return m;
		free(cur);
		cur = lc_xstrdup(m->link);
	}
	lc_err_set(err, LC_ERR_UNSAFE, 0, "archive member '%.200s': too many links", name);
	return NULL;
}

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static int read_json_member(const struct spool *sp, const struct member *m, char **ret,
			    size_t *ret_len, struct lc_err **err)
{
	char idx[32];

	if (m->size > LC_MAX_MANIFEST_SIZE)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "archive member '%.200s' is larger than %u MiB, the limit",
				  m->name, LC_MAX_MANIFEST_SIZE >> 20);
	snprintf(idx, sizeof(idx), "%zu", m->index);
	return lc_read_file_at(sp->fd, idx, LC_MAX_MANIFEST_SIZE, ret, ret_len, err);
}

/* One image of the archive. */
struct image {
	const struct member *config;
	const struct member **layers;
	char **layer_digests; /* what each layer blob must hash to (its member's digest) */
	size_t n_layers;
	char **names;	/* as the archive gives them */
	char *manifest; /* OCI: the manifest blob; docker-archive: one made for it */
	size_t manifest_len;
	char mdigest[LC_DIGEST_BUFSZ];
};

static void image_clear(struct image *im)
{
	free(im->layers);
	lc_strv_free(im->layer_digests);
	lc_strv_free(im->names);
	free(im->manifest);
}

static const char *layer_media_type(const struct spool *sp, const struct member *m)
{
	unsigned char head[4] = { 0 };
	char idx[32];
	cleanup_close int fd = -1;

	snprintf(idx, sizeof(idx), "%zu", m->index);
	fd = openat(sp->fd, idx, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && read(fd, head, sizeof(head)) == (ssize_t)sizeof(head)) {
		if (head[0] == 0x1f && head[1] == 0x8b)
			return "application/vnd.docker.image.rootfs.diff.tar.gzip";
		if (head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
			return "application/vnd.docker.image.rootfs.diff.tar.zstd";
	}
	return "application/vnd.docker.image.rootfs.diff.tar";
}

/* docker-archive: manifest.json */
static int read_docker(const struct spool *sp, const struct member *mj, struct image **ret,
		       size_t *ret_n, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0, n, i;
	json_t *j;
	struct image *v;

	if (read_json_member(sp, mj, &buf, &len, err) < 0)
		return -1;
	j = lc_json_parse(buf, len, "manifest.json", err);
	if (!j)
		return -1;
	if (!json_is_array(j) || !json_array_size(j)) {
		json_decref(j);
		return lc_err_set(err, LC_ERR_PROTO, 0, "manifest.json lists no image");
	}
	n = json_array_size(j);
	v = lc_xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(j, i);
		json_t *cfg = json_object_get(e, "Config"), *tags = json_object_get(e, "RepoTags");
		json_t *layers = json_object_get(e, "Layers"), *x;
		json_t *m, *jl;
		size_t k;

		if (!json_is_string(cfg) || !json_is_array(layers) ||
		    !(json_is_array(tags) || !tags || json_is_null(tags))) {
			lc_err_set(err, LC_ERR_PROTO, 0, "manifest.json: image %zu is malformed",
				   i);
			goto fail;
		}
		if (json_array_size(layers) > LC_MAX_LAYERS) {
			lc_err_set(err, LC_ERR_LIMIT, 0,
				   "manifest.json: image %zu has more than %d layers", i,
				   LC_MAX_LAYERS);
			goto fail;
		}
		v[i].config = find(sp, json_string_value(cfg), err);
		if (!v[i].config)
			goto fail;
		v[i].n_layers = json_array_size(layers);
		v[i].layers = lc_xcalloc(v[i].n_layers + 1, sizeof(*v[i].layers));
		v[i].layer_digests = lc_xcalloc(v[i].n_layers + 1, sizeof(char *));
		json_array_foreach(layers, k, x)
		{
			if (!json_is_string(x)) {
				lc_err_set(err, LC_ERR_PROTO, 0,
					   "manifest.json: a layer is no name");
				goto fail;
			}
			v[i].layers[k] = find(sp, json_string_value(x), err);
			if (!v[i].layers[k])
				goto fail;
			v[i].layer_digests[k] = lc_xstrdup(v[i].layers[k]->digest);
		}
		json_array_foreach(tags, k, x)
		{
			if (!json_is_string(x)) {
				lc_err_set(err, LC_ERR_PROTO, 0,
					   "manifest.json: a tag is no string");
				goto fail;
			}
			lc_strv_push(&v[i].names, json_string_value(x));
		}
		/* the store keeps a manifest for every image: one for these blobs as they are */
		jl = json_array();
		for (k = 0; k < v[i].n_layers; k++)
			json_array_append_new(jl,
					      json_pack("{s:s, s:I, s:s}", "mediaType",
							layer_media_type(sp, v[i].layers[k]),
							"size", (json_int_t)v[i].layers[k]->size,
							"digest", v[i].layers[k]->digest));
		m = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2, "mediaType",
			      LC_MT_DOCKER_MANIFEST, "config", "mediaType",
			      "application/vnd.docker.container.image.v1+json", "size",
			      (json_int_t)v[i].config->size, "digest", v[i].config->digest,
			      "layers", jl);
		v[i].manifest = json_dumps(m, JSON_COMPACT);
		json_decref(m);
		if (!v[i].manifest)
			abort();
		v[i].manifest_len = strlen(v[i].manifest);
		lc_sha256_buf(v[i].manifest, v[i].manifest_len, v[i].mdigest);
	}
	json_decref(j);
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	json_decref(j);
	for (i = 0; i < n; i++)
		image_clear(&v[i]);
	free(v);
	return -1;
}

/* blobs/sha256/<hex> of the layout, checked against the descriptor. */
static const struct member *oci_blob(const struct spool *sp, const struct lc_descriptor *d,
				     struct lc_err **err)
{
	cleanup_free char *name = lc_xasprintf("blobs/sha256/%s", lc_digest_hex(d->digest));
	const struct member *m = find(sp, name, err);

	if (!m)
		return NULL;
	if (strcmp(m->digest, d->digest) != 0) {
		lc_err_set(err, LC_ERR_DIGEST, 0, "%s: digest mismatch: got %s", name, m->digest);
		return NULL;
	}
	if ((int64_t)m->size != d->size) {
		lc_err_set(err, LC_ERR_DIGEST, 0,
			   "%s: size mismatch: expected %lld bytes, got %llu", name,
			   (long long)d->size, (unsigned long long)m->size);
		return NULL;
	}
	return m;
}

/* oci-archive: index.json (each manifest it lists; a nested index is refused) */
static int read_oci(const struct spool *sp, const struct member *mi, struct image **ret,
		    size_t *ret_n, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0, n = 0, i;
	struct lc_manifest *index = NULL;
	json_t *j = NULL;
	struct image *v = NULL;

	if (read_json_member(sp, mi, &buf, &len, err) < 0 ||
	    lc_manifest_parse(buf, len, NULL, &index, err) < 0)
		return lc_err_prefix(err, "index.json");
	if (index->kind != LC_MEDIA_INDEX || !index->n_manifests) {
		lc_manifest_free(index);
		return lc_err_set(err, LC_ERR_PROTO, 0, "index.json lists no image");
	}
	j = lc_json_parse(buf, len, "index.json", err);
	if (!j)
		goto fail;
	n = index->n_manifests;
	v = lc_xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		const struct lc_descriptor *d = &index->manifests[i];
		json_t *ann = json_object_get(json_array_get(json_object_get(j, "manifests"), i),
					      "annotations");
		const char *name =
			json_string_value(json_object_get(ann, "io.containerd.image.name"));
		const char *refname = json_string_value(
			json_object_get(ann, "org.opencontainers.image.ref.name"));
		const struct member *mm = oci_blob(sp, d, err);
		struct lc_manifest *m = NULL;
		char *mbuf = NULL;
		size_t mlen = 0;

		if (!mm || read_json_member(sp, mm, &mbuf, &mlen, err) < 0)
			goto fail;
		if (lc_manifest_parse(mbuf, mlen, NULL, &m, err) < 0) {
			free(mbuf);
			lc_err_prefix(err, "manifest %s", d->digest);
			goto fail;
		}
		v[i].manifest = mbuf;
		v[i].manifest_len = mlen;
		snprintf(v[i].mdigest, sizeof(v[i].mdigest), "%s", d->digest);
		if (m->kind != LC_MEDIA_MANIFEST) {
			lc_manifest_free(m);
			lc_err_set(err, LC_ERR_PROTO, 0,
				   "index.json: %s is an index (load one platform's image: skopeo "
				   "copy --override-arch)",
				   d->digest);
			goto fail;
		}
		v[i].config = oci_blob(sp, &m->config, err);
		v[i].n_layers = m->n_layers;
		v[i].layers = lc_xcalloc(m->n_layers + 1, sizeof(*v[i].layers));
		v[i].layer_digests = lc_xcalloc(m->n_layers + 1, sizeof(char *));
		for (size_t k = 0; v[i].config && k < m->n_layers; k++) {
			v[i].layers[k] = oci_blob(sp, &m->layers[k], err);
			if (!v[i].layers[k])
				break;
			v[i].layer_digests[k] = lc_xstrdup(m->layers[k].digest);
		}
		lc_manifest_free(m);
		if (!v[i].config || (v[i].n_layers && !v[i].layer_digests[v[i].n_layers - 1]))
			goto fail;
		/* a name: containerd's annotation, else a ref.name that is a whole reference */
		if (name)
			lc_strv_push(&v[i].names, name);
		else if (refname && strpbrk(refname, "/:"))
			lc_strv_push(&v[i].names, refname);
	}
	json_decref(j);
	lc_manifest_free(index);
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	json_decref(j);
	lc_manifest_free(index);
	for (i = 0; v && i < n; i++)
		image_clear(&v[i]);
	free(v);
	return -1;
}

/* Feed a spooled layer blob through the ingest; 1 when the store had it already. */
static int load_layer(struct lc_store *s, const struct spool *sp, const struct member *m,
		      const char *chainid, const char *diff_id, char *const *lowers,
		      size_t n_lowers, struct lc_err **err)
{
	struct lc_layer_ingest *in = NULL;
	struct lc_layer_desc d = { .chainid = chainid,
				   .diff_id = diff_id,
				   .digest = m->digest,
				   .size = (int64_t)m->size };
	cleanup_free unsigned char *buf = NULL;
	cleanup_close int fd = -1;
	char idx[32];
	int r = lc_store_layer_begin(s, &d, &in, err);

	if (r != 0)
		return r;
	snprintf(idx, sizeof(idx), "%zu", m->index);
	fd = openat(sp->fd, idx, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		lc_store_layer_abort(in);
		return lc_err_set(err, LC_ERR_SYS, errno, "open spooled '%s'", m->name);
	}
	buf = lc_xmalloc(CHUNK);
	/* resumed bytes (an ingest file of the same blob) are already in */
	if (lseek(fd, lc_store_layer_resumed(in), SEEK_SET) < 0) {
		lc_store_layer_abort(in);
		return lc_err_set(err, LC_ERR_SYS, errno, "seek spooled '%s'", m->name);
	}
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lc_store_layer_abort(in);
			return lc_err_set(err, LC_ERR_SYS, errno, "read spooled '%s'", m->name);
		}
		if (n == 0)
			break;
		if (lc_store_layer_write(in, buf, (size_t)n, err) < 0) {
			lc_store_layer_abort(in);
			return -1;
		}
	}
	if (lc_store_layer_finish(in, err) < 0) {
		lc_store_layer_abort(in);
		return -1;
	}
	return lc_store_layer_commit(in, (const char *const *)lowers, n_lowers, err);
}

struct done {
	char **layers; /* chain ids this load committed */
	char **blobs;
};

static int load_image(struct lc_store *s, const struct spool *sp, const struct image *im,
		      bool quiet, struct done *done, struct lc_err **err)
{
	cleanup_free char *cbuf = NULL;
	size_t clen = 0;
	char idx[32];
	struct lc_image_config *cfg = NULL;
	cleanup_strv char **chain = lc_xcalloc(im->n_layers + 1, sizeof(char *));
	cleanup_strv char **lowers = NULL;
	int rc = -1;

	if (im->config->size > LC_MAX_MANIFEST_SIZE)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "config '%.200s' is larger than %u MiB",
				  im->config->name, LC_MAX_MANIFEST_SIZE >> 20);
	snprintf(idx, sizeof(idx), "%zu", im->config->index);
	if (lc_read_file_at(sp->fd, idx, LC_MAX_MANIFEST_SIZE, &cbuf, &clen, err) < 0 ||
	    lc_image_config_parse(cbuf, clen, &cfg, err) < 0)
		return lc_err_prefix(err, "config %s", im->config->digest);
	if (cfg->n_diff_ids != im->n_layers) {
		lc_err_set(err, LC_ERR_PROTO, 0, "config %s lists %zu layers, the archive %zu",
			   im->config->digest, cfg->n_diff_ids, im->n_layers);
		goto out;
	}
	/* a plain tar must hash to its diff_id: refused before anything is unpacked */
	for (size_t i = 0; i < im->n_layers; i++) {
		char c[LC_DIGEST_BUFSZ];

		lc_chainid(i ? chain[i - 1] : NULL, cfg->diff_ids[i], c);
		chain[i] = lc_xstrdup(c);
		if (!strcmp(layer_media_type(sp, im->layers[i]),
			    "application/vnd.docker.image.rootfs.diff.tar") &&
		    strcmp(im->layers[i]->digest, cfg->diff_ids[i]) != 0) {
			lc_err_set(err, LC_ERR_DIGEST, 0,
				   "layer '%.200s': diff_id mismatch: expected %s, got %s",
				   im->layers[i]->name, cfg->diff_ids[i], im->layers[i]->digest);
			goto out;
		}
	}
	if (lc_store_lease(s, im->config->digest, err) < 0 ||
	    lc_store_lease(s, im->mdigest, err) < 0)
		goto out;
	for (size_t i = 0; i < im->n_layers; i++) {
		int r;

		if (lc_store_lease(s, chain[i], err) < 0)
			goto out;
		r = load_layer(s, sp, im->layers[i], chain[i], cfg->diff_ids[i], lowers,
			       lc_strv_len(lowers), err);
		if (r < 0) {
			lc_err_prefix(err, "layer %s", cfg->diff_ids[i]);
			goto out;
		}
		if (r == 0)
			lc_strv_push(&done->layers, chain[i]);
		if (!quiet) {
			char size[32];

			lc_human_size(im->layers[i]->size, size, sizeof(size));
			printf("%.12s: %s\n", lc_digest_hex(cfg->diff_ids[i]),
			       r ? "Already exists" : "Loading layer");
		}
		/* topmost first */
		{
			char **nl = lc_xcalloc(i + 2, sizeof(char *));

			nl[0] = lc_xstrdup(chain[i]);
			for (size_t k = 0; lowers && lowers[k]; k++)
				nl[k + 1] = lowers[k];
			free(lowers);
			lowers = nl;
		}
	}
	if (lc_store_blob_put(s, im->config->digest, cbuf, clen, err) < 0 ||
	    lc_store_blob_put(s, im->mdigest, im->manifest, im->manifest_len, err) < 0)
		goto out;
	lc_strv_push(&done->blobs, im->config->digest);
	lc_strv_push(&done->blobs, im->mdigest);
	rc = 0;
out:
	lc_image_config_free(cfg);
	return rc;
}

static int name_images(struct lc_store *s, const struct image *im, bool quiet, struct lc_err **err)
{
	struct lc_store_ref ref = { .digest = (char *)im->mdigest,
				    .manifest = (char *)im->mdigest,
				    .config = (char *)im->config->digest };

	for (size_t k = 0; im->names && im->names[k]; k++) {
		struct lc_ref *r = NULL;
		cleanup_free char *canon = NULL;
		cleanup_free char *fam = NULL;

		if (lc_ref_parse(im->names[k], &r, err) < 0)
			return lc_err_prefix(err, "image name");
		canon = lc_ref_string(r);
		fam = lc_ref_familiar(r);
		lc_ref_free(r);
		ref.name = canon;
		if (lc_store_ref_set(s, &ref, err) < 0)
			return -1;
		if (!quiet)
			printf("Loaded image: %s\n", fam);
	}
	if (!im->names || !im->names[0]) {
		cleanup_free char *none = lc_xasprintf("<none>@%s", im->mdigest);

		ref.name = none;
		if (lc_store_ref_set(s, &ref, err) < 0)
			return -1;
		if (!quiet)
			printf("Loaded image ID: %s\n", im->config->digest);
	}
	return 0;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static int spool_archive(struct spool *sp, int fd, struct lc_err **err)
{
	__attribute__((cleanup(archive_freep))) struct archive *a = NULL;
	struct archive_entry *e;

	if (lc_store_need_libarchive(err) < 0)
		return -1;
	a = archive_read_new();
	if (!a)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "libarchive");
	archive_read_support_format_tar(a);
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
		return lc_err_set(err, LC_ERR_PROTO, 0, "not a tar archive: %s",
				  archive_error_string(a));
	for (;;) {
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return lc_err_set(err, LC_ERR_PROTO, 0, "bad archive: %s",
					  archive_error_string(a));
		if (spool_entry(sp, a, e, err) < 0)
			return -1;
	}
	if (!sp->n)
		return lc_err_set(err, LC_ERR_PROTO, 0, "the archive is empty");
	qsort(sp->m, sp->n, sizeof(*sp->m), member_cmp);
	return 0;
}

/* Undo a failed load: the layers and blobs it added, unless something else uses them. */
static void undo(const struct lc_global *g, struct lc_store **s, struct done *done)
{
	struct lc_gc_result res = { 0 };
	cleanup_strv char **only = NULL;

	lc_store_close(*s); /* its leases go: gc may take what only this load needed */
	*s = NULL;
	for (size_t i = 0; done->layers && done->layers[i]; i++)
		lc_strv_push(&only, done->layers[i]);
	for (size_t i = 0; done->blobs && done->blobs[i]; i++)
		lc_strv_push(&only, done->blobs[i]);
	if (!only || cmd_store_open(g, s, NULL) < 0)
		return;
	lc_store_gc(*s, only, &res, NULL);
	lc_gc_result_clear(&res);
}

int cmd_load(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *input = NULL;
	bool quiet = false;
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct spool sp = { .fd = -1 };
	struct image *images = NULL;
	struct done done = { 0 };
	const struct member *mj;
	size_t n = 0;
	cleanup_close int fd = -1;
	int c, rc = EXIT_ERR;

	while ((c = getopt_long(argc, argv, ":hi:q", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(load_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(load_usage, argv, c);
		}
	}
	if (optind != argc)
		return cmd_usage_error(load_usage, "'layerctl load' accepts no arguments");
	if (input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "layerctl: load: open '%s': %s\n", input, strerror(errno));
			return EXIT_ERR;
		}
	} else if (isatty(STDIN_FILENO)) {
		fputs("layerctl: requested load from stdin, but stdin is empty\n", stderr);
		return EXIT_ERR;
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	sp.s = s;
	sp.fd = lc_store_spool_create(s, "load", &sp.name, &err);
	if (sp.fd < 0 || spool_archive(&sp, input ? fd : STDIN_FILENO, &err) < 0)
		goto fail;
	/* docker's manifest.json first (docker 25 writes both), else the OCI layout */
	mj = find(&sp, "manifest.json", NULL);
	if (mj) {
		if (read_docker(&sp, mj, &images, &n, &err) < 0)
			goto fail;
	} else {
		mj = find(&sp, "index.json", NULL);
		if (!mj) {
			lc_err_set(&err, LC_ERR_PROTO, 0,
				   "neither manifest.json nor index.json: not a docker-archive or "
				   "oci-archive");
			goto fail;
		}
		if (read_oci(&sp, mj, &images, &n, &err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if (load_image(s, &sp, &images[i], quiet, &done, &err) < 0)
			goto fail;
	/* the names last: an image is visible once all of it verified */
	for (size_t i = 0; i < n; i++)
		if (name_images(s, &images[i], quiet, &err) < 0)
			goto fail;
	rc = EXIT_OK;
	goto out;
fail:
	spool_clear(&sp);
	memset(&sp, 0, sizeof(sp));
	sp.fd = -1;
	undo(g, &s, &done);
	lc_err_prefix(&err, "load");
	cmd_report(err, EXIT_ERR);
out:
	spool_clear(&sp);
	for (size_t i = 0; i < n; i++)
		image_clear(&images[i]);
	free(images);
	lc_strv_free(done.layers);
	lc_strv_free(done.blobs);
	lc_store_close(s);
	return rc;
}
