/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: what a registry answers for a manifest (store/image.c, fetch/platform.c). The
 * first byte picks the Content-Type it came with, the rest is the body, parsed as a manifest
 * or index and as an image config. A parsed document is consistent: its kind agrees with its
 * media type and its shape, every digest is valid, every size >= 0.
 */
#include "fuzz.h"
#include "../../store/store.h"
#include "../../fetch/fetch-int.h"

static const char *const content_types[] = {
	NULL,
	LC_MT_OCI_INDEX,
	LC_MT_OCI_MANIFEST,
	LC_MT_DOCKER_LIST,
	LC_MT_DOCKER_MANIFEST,
	"application/json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"application/vnd.oci.image.index.v1+json; charset=utf-8",
	" Application/VND.OCI.image.manifest.v1+JSON ",
	"text/html",
	"",
};

static void desc_ok(const struct lc_descriptor *d)
{
	FUZZ_ASSERT(d->media_type);
	FUZZ_ASSERT(lc_digest_valid(d->digest));
	FUZZ_ASSERT(d->size >= 0);
}

static void manifest(const char *body, size_t len, const char *ct)
{
	struct lc_manifest *m = NULL;
	struct lc_err *e = NULL;

	if (lc_manifest_parse(body, len, ct, &m, &e) < 0) {
		FUZZ_ASSERT(!m && e);
		fuzz_err_check(e);
		return;
	}
	FUZZ_ASSERT(m && !e && m->media_type);
	if (m->kind == LC_MEDIA_INDEX) {
		const char *os, *arch, *variant;
		cleanup_free char *list = NULL;

		FUZZ_ASSERT(!strcmp(m->media_type, LC_MT_OCI_INDEX) ||
			    !strcmp(m->media_type, LC_MT_DOCKER_LIST));
		FUZZ_ASSERT(m->n_layers == 0);
		for (size_t i = 0; i < m->n_manifests; i++)
			desc_ok(&m->manifests[i]);
		lc_fetch_host_platform(&os, &arch, &variant);
		lc_manifest_pick(m, os, arch, variant);
		lc_manifest_pick(m, "linux", "arm", "v7");
		lc_platform_match(m, os, arch, variant);
		lc_platform_match(m, "linux", "arm64", NULL);
		list = lc_platform_list(m);
		FUZZ_ASSERT(list);
	} else {
		FUZZ_ASSERT(m->kind == LC_MEDIA_MANIFEST);
		FUZZ_ASSERT(!strcmp(m->media_type, LC_MT_OCI_MANIFEST) ||
			    !strcmp(m->media_type, LC_MT_DOCKER_MANIFEST));
		FUZZ_ASSERT(m->n_manifests == 0 && m->n_layers <= LC_MAX_LAYERS);
		desc_ok(&m->config);
		for (size_t i = 0; i < m->n_layers; i++)
			desc_ok(&m->layers[i]);
	}
	lc_manifest_free(m);
}

static void config(const char *body, size_t len)
{
	struct lc_image_config *c = NULL;
	struct lc_err *e = NULL;
	char chain[LC_DIGEST_BUFSZ] = "";

	if (lc_image_config_parse(body, len, &c, &e) < 0) {
		FUZZ_ASSERT(!c && e);
		fuzz_err_check(e);
		return;
	}
	FUZZ_ASSERT(c && c->n_diff_ids == lc_strv_len(c->diff_ids));
	for (size_t i = 0; i < c->n_diff_ids; i++) {
		FUZZ_ASSERT(lc_digest_valid(c->diff_ids[i]));
		lc_chainid(i ? chain : NULL, c->diff_ids[i], chain);
		FUZZ_ASSERT(lc_digest_valid(chain));
	}
	lc_image_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ct;
	cleanup_free char *body = NULL;

	if (size < 1)
		return 0;
	ct = content_types[data[0] % LC_ARRAY_SIZE(content_types)];
	body = fuzz_str(data + 1, size - 1);
	manifest(body, size - 1, ct);
	config(body, size - 1);
	return 0;
}
