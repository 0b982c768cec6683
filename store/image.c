/* SPDX-License-Identifier: MIT */
/* store: image JSON (manifests, indexes, configs) parsed strictly as untrusted input. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "store-int.h"

#define MT_SCHEMA1     "application/vnd.docker.distribution.manifest.v1+json"
#define MT_SCHEMA1_JWS "application/vnd.docker.distribution.manifest.v1+prettyjws"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static void desc_clear(struct lc_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
}

void lc_manifest_free(struct lc_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	desc_clear(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		desc_clear(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		desc_clear(&m->manifests[i]);
	free(m->manifests);
	free(m);
}

static void manifest_freep(struct lc_manifest **m)
{
	lc_manifest_free(*m);
}

static enum lc_media media_kind(const char *mt)
{
	if (!strcmp(mt, LC_MT_OCI_INDEX) || !strcmp(mt, LC_MT_DOCKER_LIST))
		return LC_MEDIA_INDEX;
	if (!strcmp(mt, LC_MT_OCI_MANIFEST) || !strcmp(mt, LC_MT_DOCKER_MANIFEST))
		return LC_MEDIA_MANIFEST;
	return LC_MEDIA_UNKNOWN;
}

static bool is_schema1(const char *mt)
{
	return !strcmp(mt, MT_SCHEMA1) || !strcmp(mt, MT_SCHEMA1_JWS) ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.v1");
}

/* An optional string member: NULL when absent or null, error when another type. */
static int opt_string(json_t *o, const char *key, const char *what, char **ret, struct lc_err **err)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return lc_err_set(err, LC_ERR_PROTO, 0, "%s: \"%s\" is not a string", what, key);
	*ret = lc_xstrdup(json_string_value(v));
	return 0;
}

static int desc_parse(json_t *o, const char *what, bool platform, struct lc_descriptor *d,
		      struct lc_err **err)
{
	json_t *size = json_object_get(o, "size");
	const char *digest = json_string_value(json_object_get(o, "digest"));
	json_t *p;

	if (!json_is_object(o))
		return lc_err_set(err, LC_ERR_PROTO, 0, "%s is not an object", what);
	if (opt_string(o, "mediaType", what, &d->media_type, err) < 0)
		return -1;
	if (!d->media_type)
		return lc_err_set(err, LC_ERR_PROTO, 0, "%s has no mediaType", what);
	if (lc_digest_check(digest, err) < 0)
		return lc_err_prefix(err, "%s", what);
	d->digest = lc_xstrdup(digest);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return lc_err_set(err, LC_ERR_PROTO, 0, "%s: size must be an integer >= 0", what);
	d->size = json_integer_value(size);
	if (!platform)
		return 0;
	p = json_object_get(o, "platform");
	if (!p || json_is_null(p))
		return 0;
	if (!json_is_object(p))
		return lc_err_set(err, LC_ERR_PROTO, 0, "%s: platform is not an object", what);
	if (opt_string(p, "os", what, &d->os, err) < 0 ||
	    opt_string(p, "architecture", what, &d->arch, err) < 0 ||
	    opt_string(p, "variant", what, &d->variant, err) < 0)
		return -1;
	return 0;
}

/* docker refuses these too since 2024; what it was and what the user can do about it */
#define SCHEMA1_MSG                                                                                \
	"Docker schema 1 manifests (Image Format v1, deprecated) are not supported: ask the "      \
	"image's publisher to push it again with a current docker or buildah (schema 2 or OCI), "  \
	"or convert it yourself with 'skopeo copy --format v2s2'"

/* "application/vnd.oci.image.index.v1+json; charset=utf-8" -> the type, lowercase, trimmed */
static char *content_type_base(const char *ct)
{
	size_t n;
	char *r;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	r = lc_xstrndup(ct, n);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

int lc_manifest_parse(const char *buf, size_t len, const char *content_type,
		      struct lc_manifest **ret, struct lc_err **err)
{
	__attribute__((cleanup(manifest_freep))) struct lc_manifest *m = NULL;
	cleanup_json json_t *j = NULL;
	cleanup_free char *ct = NULL;
	cleanup_free char *body_mt = NULL;
	enum lc_media ct_kind = LC_MEDIA_UNKNOWN, shape;
	json_t *sv, *manifests, *layers, *config;

	if (len > LC_MAX_MANIFEST_SIZE)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "manifest is larger than %u bytes",
				  LC_MAX_MANIFEST_SIZE);
	if (content_type && *content_type) {
		ct = content_type_base(content_type);
		if (is_schema1(ct))
			return lc_err_set(err, LC_ERR_PROTO, 0, "%s ('%s')", SCHEMA1_MSG, ct);
		ct_kind = media_kind(ct);
		/* Some registries and static servers answer with a generic type: go by the body. */
		if (ct_kind == LC_MEDIA_UNKNOWN && strcmp(ct, "application/json") != 0 &&
		    strcmp(ct, "application/octet-stream") != 0 && strcmp(ct, "text/plain") != 0)
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "unsupported manifest media type '%.100s'", ct);
	}
	j = lc_json_parse(buf, len, "manifest", err);
	if (!j)
		return -1;
	if (!json_is_object(j))
		return lc_err_set(err, LC_ERR_PROTO, 0, "manifest is not a JSON object");
	if (opt_string(j, "mediaType", "manifest", &body_mt, err) < 0)
		return -1;
	sv = json_object_get(j, "schemaVersion");
	if ((body_mt && is_schema1(body_mt)) ||
	    (json_is_integer(sv) && json_integer_value(sv) == 1))
		return lc_err_set(err, LC_ERR_PROTO, 0, "%s", SCHEMA1_MSG);
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return lc_err_set(err, LC_ERR_PROTO, 0, "manifest: schemaVersion must be 2");

	manifests = json_object_get(j, "manifests");
	layers = json_object_get(j, "layers");
	config = json_object_get(j, "config");
	/* CVE-2021-41190: one document must not be read as an index by one and a manifest by another. */
	if (manifests && (layers || config))
		return lc_err_set(
			err, LC_ERR_PROTO, 0,
			"ambiguous manifest: it has both \"manifests\" and \"layers\"/\"config\"");
	shape = manifests	     ? LC_MEDIA_INDEX
		: (layers || config) ? LC_MEDIA_MANIFEST
				     : LC_MEDIA_UNKNOWN;
	if (shape == LC_MEDIA_UNKNOWN)
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "manifest has neither \"manifests\" nor \"layers\"");
	if (body_mt) {
		if (media_kind(body_mt) == LC_MEDIA_UNKNOWN)
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "unsupported manifest mediaType '%.100s'", body_mt);
		if (media_kind(body_mt) != shape)
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "manifest mediaType '%s' does not match its content",
					  body_mt);
		if (ct_kind != LC_MEDIA_UNKNOWN && strcmp(ct, body_mt) != 0)
			return lc_err_set(
				err, LC_ERR_PROTO, 0,
				"Content-Type '%s' does not match the manifest's mediaType '%s'",
				ct, body_mt);
	} else if (ct_kind != LC_MEDIA_UNKNOWN && ct_kind != shape) {
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "Content-Type '%s' does not match the manifest's content", ct);
	}

	m = lc_xcalloc(1, sizeof(*m));
	m->kind = shape;
	if (body_mt)
		m->media_type = TAKE_PTR(body_mt);
	else if (ct_kind != LC_MEDIA_UNKNOWN)
		m->media_type = lc_xstrdup(ct);
	else
		m->media_type =
			lc_xstrdup(shape == LC_MEDIA_INDEX ? LC_MT_OCI_INDEX : LC_MT_OCI_MANIFEST);

	if (shape == LC_MEDIA_INDEX) {
		size_t n = json_array_size(manifests);

		if (!json_is_array(manifests))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "index: \"manifests\" is not an array");
		if (n > 4096)
			return lc_err_set(err, LC_ERR_LIMIT, 0, "index lists %zu manifests", n);
		m->manifests = lc_xcalloc(n + 1, sizeof(*m->manifests));
		for (size_t i = 0; i < n; i++) {
			char what[48];

			snprintf(what, sizeof(what), "index entry %zu", i);
			m->n_manifests = i + 1;
			if (desc_parse(json_array_get(manifests, i), what, true, &m->manifests[i],
				       err) < 0)
				return -1;
		}
	} else {
		size_t n = json_array_size(layers);

		if (!json_is_object(config))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "manifest has no \"config\" object");
		if (!json_is_array(layers))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "manifest: \"layers\" is not an array");
		if (n > LC_MAX_LAYERS)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "manifest has %zu layers, more than the limit of %d", n,
					  LC_MAX_LAYERS);
		if (desc_parse(config, "config", false, &m->config, err) < 0)
			return -1;
		m->layers = lc_xcalloc(n + 1, sizeof(*m->layers));
		for (size_t i = 0; i < n; i++) {
			char what[32];

			snprintf(what, sizeof(what), "layer %zu", i);
			m->n_layers = i + 1;
			if (desc_parse(json_array_get(layers, i), what, false, &m->layers[i], err) <
			    0)
				return -1;
		}
	}
	*ret = TAKE_PTR(m);
	return 0;
}

static bool streq0(const char *a, const char *b)
{
	return (a ? a : "")[0] == (b ? b : "")[0] && !strcmp(a ? a : "", b ? b : "");
}

/* arm64's "v8" is its default variant (containerd's platform normalization). */
static const char *norm_variant(const char *arch, const char *v)
{
	if (v && arch && !strcmp(arch, "arm64") && (!strcmp(v, "v8") || !strcmp(v, "8")))
		return NULL;
	if (v && arch && !strcmp(arch, "amd64") && !strcmp(v, "v1"))
		return NULL;
	return v && *v ? v : NULL;
}

const struct lc_descriptor *lc_manifest_pick(const struct lc_manifest *index, const char *os,
					     const char *arch, const char *variant)
{
	const struct lc_descriptor *fallback = NULL;

	if (!index || index->kind != LC_MEDIA_INDEX || !os || !arch)
		return NULL;
	variant = norm_variant(arch, variant);
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct lc_descriptor *d = &index->manifests[i];
		const char *dv = norm_variant(d->arch, d->variant);

		if (media_kind(d->media_type) != LC_MEDIA_MANIFEST)
			continue;
		if (!d->os || !d->arch || strcmp(d->os, os) != 0 || strcmp(d->arch, arch) != 0)
			continue;
		if (streq0(dv, variant))
			return d;
		/* no variant asked: take the first entry of the right os/arch */
		if (!variant && !fallback)
			fallback = d;
	}
	return fallback;
}

/* ---------- config ---------- */

void lc_image_config_free(struct lc_image_config *c)
{
	if (!c)
		return;
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->created);
	lc_strv_free(c->entrypoint);
	lc_strv_free(c->cmd);
	lc_strv_free(c->env);
	free(c->workdir);
	free(c->user);
	free(c->stop_signal);
	lc_strv_free(c->diff_ids);
	free(c);
}

static void config_freep(struct lc_image_config **c)
{
	lc_image_config_free(*c);
}

static int opt_strv(json_t *o, const char *key, char ***ret, struct lc_err **err)
{
	json_t *v = json_object_get(o, key), *e;
	size_t i;

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return lc_err_set(err, LC_ERR_PROTO, 0, "image config: \"%s\" is not an array",
				  key);
	*ret = lc_xcalloc(1, sizeof(char *));
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "image config: \"%s\"[%zu] is not a string", key, i);
		lc_strv_push(ret, json_string_value(e));
	}
	return 0;
}

int lc_image_config_parse(const char *buf, size_t len, struct lc_image_config **ret,
			  struct lc_err **err)
{
	__attribute__((cleanup(config_freep))) struct lc_image_config *c = NULL;
	cleanup_json json_t *j = NULL;
	json_t *cfg, *rootfs, *ids, *e;
	const char *type;
	size_t i;

	if (len > LC_MAX_MANIFEST_SIZE)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "image config is larger than %u bytes",
				  LC_MAX_MANIFEST_SIZE);
	j = lc_json_parse(buf, len, "image config", err);
	if (!j)
		return -1;
	if (!json_is_object(j))
		return lc_err_set(err, LC_ERR_PROTO, 0, "image config is not a JSON object");
	c = lc_xcalloc(1, sizeof(*c));
	if (opt_string(j, "os", "image config", &c->os, err) < 0 ||
	    opt_string(j, "architecture", "image config", &c->arch, err) < 0 ||
	    opt_string(j, "variant", "image config", &c->variant, err) < 0 ||
	    opt_string(j, "created", "image config", &c->created, err) < 0)
		return -1;
	cfg = json_object_get(j, "config");
	if (cfg && !json_is_null(cfg)) {
		if (!json_is_object(cfg))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "image config: \"config\" is not an object");
		if (opt_strv(cfg, "Entrypoint", &c->entrypoint, err) < 0 ||
		    opt_strv(cfg, "Cmd", &c->cmd, err) < 0 ||
		    opt_strv(cfg, "Env", &c->env, err) < 0 ||
		    opt_string(cfg, "WorkingDir", "image config", &c->workdir, err) < 0 ||
		    opt_string(cfg, "StopSignal", "image config", &c->stop_signal, err) < 0 ||
		    opt_string(cfg, "User", "image config", &c->user, err) < 0)
			return -1;
	}
	rootfs = json_object_get(j, "rootfs");
	if (!json_is_object(rootfs))
		return lc_err_set(err, LC_ERR_PROTO, 0, "image config has no \"rootfs\" object");
	type = json_string_value(json_object_get(rootfs, "type"));
	if (!type || strcmp(type, "layers") != 0)
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "image config: rootfs.type must be \"layers\"");
	ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids))
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "image config: rootfs.diff_ids is not an array");
	if (json_array_size(ids) > LC_MAX_LAYERS)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "image config lists %zu layers, more than %d",
				  json_array_size(ids), LC_MAX_LAYERS);
	c->diff_ids = lc_xcalloc(1, sizeof(char *));
	json_array_foreach(ids, i, e)
	{
		if (lc_digest_check(json_string_value(e), err) < 0)
			return lc_err_prefix(err, "image config: diff_id %zu", i);
		lc_strv_push(&c->diff_ids, json_string_value(e));
	}
	c->n_diff_ids = json_array_size(ids);
	*ret = TAKE_PTR(c);
	return 0;
}

void lc_chainid(const char *parent_chainid, const char *diff_id, char out[LC_DIGEST_BUFSZ])
{
	char buf[2 * LC_DIGEST_LEN + 2];
	int n;

	if (!parent_chainid) {
		snprintf(out, LC_DIGEST_BUFSZ, "%s", diff_id);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%s %s", parent_chainid, diff_id);
	lc_sha256_buf(buf, (size_t)n, out);
}
