/* SPDX-License-Identifier: MIT */
/*
 * save [-o FILE] [--format docker-archive|oci-archive] IMAGE...: images as one tar that
 * `docker load`, `podman load`, skopeo's docker-archive: and oci-archive:, and `layerctl load`
 * read. Both formats are an OCI image layout (oci-layout, index.json, blobs/sha256/) as docker
 * 25 writes it; docker-archive adds docker's manifest.json. Each layer is its tar as pulled,
 * rebuilt byte for byte from the layer's tar-split record (so the image ID stays), stored
 * uncompressed under its diff_id; the manifest is a new OCI one (the compressed blobs a pull
 * fetched are not kept). Members are written in that order: layers, configs, manifests, then
 * the documents that name them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd.h"

static const char save_usage[] =
	"Usage:  layerctl save [OPTIONS] IMAGE [IMAGE...]\n"
	"\n"
	"Save one or more images to a tar archive (streamed to STDOUT by default)\n"
	"\n"
	"Options:\n"
	"  -o, --output string   Write to a file, instead of STDOUT\n"
	"      --format string   docker-archive (default: docker's manifest.json and an OCI\n"
	"                        layout) or oci-archive (an OCI image layout only)\n"
	"  -h, --help            print this help\n"
	"\n"
	"Each layer is the tar it was pulled as, rebuilt from the unpacked layer and checked\n"
	"against its diff_id as it is written: image IDs stay what they were.\n";

#define OUTBUF (256u << 10)

struct out {
	int fd;
	unsigned char *buf;
	size_t n;
};

static int out_flush(struct out *o, struct lc_err **err)
{
	if (o->n && lc_write_all(o->fd, o->buf, o->n) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "write the archive");
	o->n = 0;
	return 0;
}

static int out_write(void *opaque, const void *buf, size_t len, struct lc_err **err)
{
	struct out *o = opaque;

	if (o->n + len > OUTBUF && out_flush(o, err) < 0)
		return -1;
	if (len >= OUTBUF) {
		if (lc_write_all(o->fd, buf, len) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "write the archive");
		return 0;
	}
	memcpy(o->buf + o->n, buf, len);
	o->n += len;
	return 0;
}

static int out_header(struct out *o, const char *name, char type, uint64_t size,
		      struct lc_err **err)
{
	unsigned char h[LC_TAR_HEADER_MAX];
	size_t n = lc_tar_header(h, name, type, type == '5' ? 0755 : 0644, size, 0);

	if (!n)
		return lc_err_set(err, LC_ERR_INVALID, 0, "member name '%s' is too long", name);
	return out_write(o, h, n, err);
}

static int out_pad(struct out *o, uint64_t size, struct lc_err **err)
{
	static const unsigned char zero[512];

	return out_write(o, zero, lc_tar_padding(size), err);
}

static int out_member(struct out *o, const char *name, const void *data, size_t len,
		      struct lc_err **err)
{
	if (out_header(o, name, '0', len, err) < 0 || out_write(o, data, len, err) < 0)
		return -1;
	return out_pad(o, len, err);
}

/* One image to save: what the store holds, and the names it goes under. */
struct item {
	struct cmd_image im;
	char **names;	 /* canonical refs ("docker.io/library/busybox:latest"); none by ID */
	char *mdigest;	 /* the OCI manifest written for it */
	char *manifest;	 /* its text */
	uint64_t *sizes; /* each layer's tar length */
};

static void item_clear(struct item *it)
{
	cmd_image_clear(&it->im);
	lc_strv_free(it->names);
	free(it->mdigest);
	free(it->manifest);
	free(it->sizes);
}

static char *familiar(const char *canonical)
{
	struct lc_ref *r = NULL;
	char *f;

	if (lc_ref_parse(canonical, &r, NULL) < 0)
		return lc_xstrdup(canonical);
	f = lc_ref_familiar(r);
	lc_ref_free(r);
	return f;
}

static char *dumps(json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT);

	if (!t)
		abort();
	return t;
}

static void build_manifest(struct item *it, size_t config_len)
{
	json_t *layers = json_array();
	json_t *m;

	for (size_t i = 0; i < it->im.n_layers; i++)
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType",
							"application/vnd.oci.image.layer.v1.tar",
							"digest", it->im.config->diff_ids[i],
							"size", (json_int_t)it->sizes[i]));
	m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
		      LC_MT_OCI_MANIFEST, "config", "mediaType",
		      "application/vnd.oci.image.config.v1+json", "digest", it->im.ref->config,
		      "size", (json_int_t)config_len, "layers", layers);
	it->manifest = dumps(m);
	json_decref(m);
	it->mdigest = lc_xmalloc(LC_DIGEST_BUFSZ);
	lc_sha256_buf(it->manifest, strlen(it->manifest), it->mdigest);
}

static bool seen(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static int write_archive(struct lc_store *s, struct item *items, size_t n, bool docker,
			 struct out *o, struct lc_err **err)
{
	cleanup_strv char **done = NULL;
	json_t *index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				  LC_MT_OCI_INDEX, "manifests");
	json_t *dman = json_array();
	cleanup_free char *itext = NULL, *dtext = NULL;
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	int rc = -1;

	if (out_header(o, "blobs/", '5', 0, err) < 0 ||
	    out_header(o, "blobs/sha256/", '5', 0, err) < 0)
		goto out;
	/* layers, each once */
	for (size_t i = 0; i < n; i++)
		for (size_t l = 0; l < items[i].im.n_layers; l++) {
			const char *diff = items[i].im.config->diff_ids[l];
			cleanup_free char *name = NULL;

			if (seen(done, diff))
				continue;
			lc_strv_push(&done, diff);
			name = lc_xasprintf("blobs/sha256/%s", lc_digest_hex(diff));
			if (out_header(o, name, '0', items[i].sizes[l], err) < 0 ||
			    lc_store_layer_tar(s, items[i].im.chainids[l], diff, out_write, o,
					       err) < 0 ||
			    out_pad(o, items[i].sizes[l], err) < 0)
				goto out;
		}
	/* configs and manifests */
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		cleanup_free char *cbuf = NULL;
		cleanup_free char *cname = NULL;
		cleanup_free char *mname = NULL;
		size_t clen = 0;
		json_t *tags = json_array(), *lnames = json_array();

		if (lc_store_blob_get(s, it->im.ref->config, LC_MAX_MANIFEST_SIZE, &cbuf, &clen,
				      err) < 0) {
			json_decref(tags);
			json_decref(lnames);
			goto out;
		}
		build_manifest(it, clen);
		cname = lc_xasprintf("blobs/sha256/%s", lc_digest_hex(it->im.ref->config));
		mname = lc_xasprintf("blobs/sha256/%s", lc_digest_hex(it->mdigest));
		if (!seen(done, it->im.ref->config)) {
			lc_strv_push(&done, it->im.ref->config);
			if (out_member(o, cname, cbuf, clen, err) < 0) {
				json_decref(tags);
				json_decref(lnames);
				goto out;
			}
		}
		if (!seen(done, it->mdigest)) {
			lc_strv_push(&done, it->mdigest);
			if (out_member(o, mname, it->manifest, strlen(it->manifest), err) < 0) {
				json_decref(tags);
				json_decref(lnames);
				goto out;
			}
		}
		for (size_t k = 0; it->names && it->names[k]; k++) {
			cleanup_free char *fam = familiar(it->names[k]);
			const char *colon = strrchr(fam, ':');
			const char *slash = strrchr(fam, '/');
			const char *tag = colon && (!slash || colon > slash) ? colon + 1 : "latest";

			json_array_append_new(tags, json_string(fam));
			json_array_append_new(
				json_object_get(index, "manifests"),
				json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType",
					  LC_MT_OCI_MANIFEST, "digest", it->mdigest, "size",
					  (json_int_t)strlen(it->manifest), "annotations",
					  "io.containerd.image.name", it->names[k],
					  "org.opencontainers.image.ref.name", tag));
		}
		if (!it->names || !it->names[0])
			json_array_append_new(json_object_get(index, "manifests"),
					      json_pack("{s:s, s:s, s:I}", "mediaType",
							LC_MT_OCI_MANIFEST, "digest", it->mdigest,
							"size", (json_int_t)strlen(it->manifest)));
		for (size_t l = 0; l < it->im.n_layers; l++)
			json_array_append_new(
				lnames, json_sprintf("blobs/sha256/%s",
						     lc_digest_hex(it->im.config->diff_ids[l])));
		json_array_append_new(dman,
				      json_pack("{s:s, s:o, s:o}", "Config", cname, "RepoTags",
						json_array_size(tags) ? tags : json_null(),
						"Layers", lnames));
		if (!json_array_size(tags))
			json_decref(tags);
	}
	itext = dumps(index);
	dtext = dumps(dman);
	if (out_member(o, "index.json", itext, strlen(itext), err) < 0 ||
	    (docker && out_member(o, "manifest.json", dtext, strlen(dtext), err) < 0) ||
	    out_member(o, "oci-layout", layout, strlen(layout), err) < 0)
		goto out;
	{
		static const unsigned char trailer[1024];

		if (out_write(o, trailer, sizeof(trailer), err) < 0 || out_flush(o, err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(index);
	json_decref(dman);
	return rc;
}

/* Add ref's image to items (once per image ID), under ref's name unless by ID or dangling. */
static int add_item(struct lc_store *s, struct item **items, size_t *k, size_t *cap,
		    const struct lc_store_ref *ref, bool by_id, const char *arg,
		    struct lc_err **err)
{
	size_t i;

	for (i = 0; i < *k; i++)
		if (!strcmp((*items)[i].im.ref->config, ref->config))
			break;
	if (i == *k) {
		if (*k == *cap) {
			*cap *= 2;
			*items = lc_xrealloc(*items, *cap * sizeof(**items));
			memset(*items + *k, 0, (*cap - *k) * sizeof(**items));
		}
		if (cmd_image_load_ref(s, ref, &(*items)[i].im, err) < 0)
			return lc_err_prefix(err, "%s", arg);
		(*k)++;
	}
	if (!by_id && !cmd_dangling(ref->name) && !seen((*items)[i].names, ref->name))
		lc_strv_push(&(*items)[i].names, ref->name);
	return 0;
}

/*
 * A repository named without a tag or digest ("busybox", "localhost:5000/app") is every tag
 * of it the store holds, as docker save does; canon is its canonical form with ":latest".
 * Returns how many were added, or -1.
 */
static int add_repo(struct lc_store *s, const char *arg, struct item **items, size_t *k,
		    size_t *cap, struct lc_err **err)
{
	const char *last = strrchr(arg, '/');
	struct lc_store_ref *refs = NULL;
	struct lc_ref *r = NULL;
	cleanup_free char *canon = NULL;
	size_t nr = 0, repo_len;
	int added = 0;

	if (strchr(last ? last : arg, ':') || strchr(arg, '@') || lc_ref_parse(arg, &r, NULL) < 0)
		return 0;
	canon = lc_ref_string(r);
	lc_ref_free(r);
	repo_len = strlen(canon) - strlen(":latest");
	if (lc_store_ref_list(s, &refs, &nr, err) < 0)
		return -1;
	for (size_t i = 0; i < nr; i++) {
		const char *tag = refs[i].name + repo_len;

		if (strncmp(refs[i].name, canon, repo_len) != 0 || tag[0] != ':' ||
		    strchr(tag, '/') || !refs[i].config)
			continue;
		if (add_item(s, items, k, cap, &refs[i], false, arg, err) < 0) {
			lc_store_ref_list_free(refs, nr);
			return -1;
		}
		added++;
	}
	lc_store_ref_list_free(refs, nr);
	return added;
}

/* IMAGE arguments to items: one per image ID, with every name given for it. */
static int resolve(struct lc_store *s, char **args, int n, struct item **ret, size_t *ret_n,
		   struct lc_err **err)
{
	size_t k = 0, cap = (size_t)n;
	struct item *items = lc_xcalloc(cap, sizeof(*items));

	for (int a = 0; a < n; a++) {
		struct lc_store_ref *refs = NULL;
		size_t nr = 0;
		bool by_id = false;
		int r = add_repo(s, args[a], &items, &k, &cap, err);

		if (r < 0)
			goto fail;
		if (r > 0)
			continue;
		if (cmd_image_find(s, args[a], &refs, &nr, &by_id, err) < 0)
			goto fail;
		r = add_item(s, &items, &k, &cap, &refs[0], by_id, args[a], err);
		lc_store_ref_list_free(refs, nr);
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; i < k; i++) {
		struct item *it = &items[i];

		/* kept from gc while we read them; a layer without a record fails here, early */
		if (lc_store_lease(s, it->im.ref->config, err) < 0)
			goto fail;
		it->sizes = lc_xcalloc(it->im.n_layers + 1, sizeof(uint64_t));
		for (size_t l = 0; l < it->im.n_layers; l++)
			if (lc_store_lease(s, it->im.chainids[l], err) < 0 ||
			    lc_store_layer_tar_size(s, it->im.chainids[l], &it->sizes[l], err) < 0)
				goto fail;
	}
	*ret = items;
	*ret_n = k;
	return 0;
fail:
	for (size_t i = 0; i < cap; i++)
		item_clear(&items[i]);
	free(items);
	return -1;
}

int cmd_save(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *format = "docker-archive";
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct item *items = NULL;
	size_t n = 0;
	struct out o = { .fd = STDOUT_FILENO };
	cleanup_free char *tmp = NULL;
	int c, rc = EXIT_ERR;

	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'h':
			fputs(save_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(save_usage, argv, c);
		}
	}
	if (optind == argc)
		return cmd_usage_error(save_usage, "'layerctl save' requires at least 1 argument");
	if (strcmp(format, "docker-archive") != 0 && strcmp(format, "oci-archive") != 0)
		return cmd_flag_error(save_usage,
				      "unknown format '%s': want docker-archive or oci-archive",
				      format);
	if (!output && isatty(STDOUT_FILENO)) {
		fputs("layerctl: cowardly refusing to save to a terminal. Use the -o flag or "
		      "redirect\n",
		      stderr);
		return EXIT_ERR;
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (resolve(s, argv + optind, argc - optind, &items, &n, &err) < 0)
		goto fail;
	if (output) {
		/* written beside it, renamed over it once whole: never half an archive there */
		const char *slash = strrchr(output, '/');
		char rnd[17];

		lc_random_hex(rnd, 16);
		tmp = slash ? lc_xasprintf("%.*s/.%s.layerctl-%s", (int)(slash - output), output,
					   slash + 1, rnd)
			    : lc_xasprintf(".%s.layerctl-%s", output, rnd);
		o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (o.fd < 0) {
			lc_err_set(&err, LC_ERR_SYS, errno, "create '%s'", output);
			free(TAKE_PTR(tmp));
			goto fail;
		}
	}
	o.buf = lc_xmalloc(OUTBUF);
	if (write_archive(s, items, n, !strcmp(format, "docker-archive"), &o, &err) < 0)
		goto fail;
	if (output) {
		if (fsync(o.fd) < 0 || rename(tmp, output) < 0) {
			lc_err_set(&err, LC_ERR_SYS, errno, "write '%s'", output);
			goto fail;
		}
		free(TAKE_PTR(tmp));
	}
	rc = EXIT_OK;
	goto out;
fail:
	lc_err_prefix(&err, "save");
	cmd_report(err, EXIT_ERR);
out:
	if (tmp)
		unlink(tmp);
	if (output && o.fd >= 0)
		close(o.fd);
	free(o.buf);
	for (size_t i = 0; i < n; i++)
		item_clear(&items[i]);
	free(items);
	lc_store_close(s);
	return rc;
}
