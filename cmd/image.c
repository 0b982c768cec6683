/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <time.h>

#include "cmd.h"

/* The image ref points at; ref becomes im's (freed on failure too). */
static int image_load(struct lc_store *s, struct lc_store_ref *ref, struct cmd_image *ret,
		      struct lc_err **err)
{
	struct cmd_image im = { .ref = ref };
	cleanup_free char *mbuf = NULL, *cbuf = NULL;
	size_t mlen = 0, clen = 0, i;
	char chain[LC_DIGEST_BUFSZ];

	if (lc_store_blob_get(s, im.ref->manifest, LC_MAX_MANIFEST_SIZE, &mbuf, &mlen, err) < 0 ||
	    lc_manifest_parse(mbuf, mlen, NULL, &im.manifest, err) < 0) {
		lc_err_prefix(err, "manifest %s", im.ref->manifest);
		goto fail;
	}
	if (im.manifest->kind != LC_MEDIA_MANIFEST) {
		lc_err_set(err, LC_ERR_PROTO, 0, "manifest %s is not an image manifest",
			   im.ref->manifest);
		goto fail;
	}
	if (lc_store_blob_get(s, im.ref->config, LC_MAX_MANIFEST_SIZE, &cbuf, &clen, err) < 0 ||
	    lc_image_config_parse(cbuf, clen, &im.config, err) < 0) {
		lc_err_prefix(err, "config %s", im.ref->config);
		goto fail;
	}
	if (im.config->n_diff_ids != im.manifest->n_layers) {
		lc_err_set(err, LC_ERR_PROTO, 0, "config lists %zu layers, manifest %zu",
			   im.config->n_diff_ids, im.manifest->n_layers);
		goto fail;
	}
	im.n_layers = im.manifest->n_layers;
	im.chainids = lc_xcalloc(im.n_layers + 1, sizeof(char *));
	for (i = 0; i < im.n_layers; i++) {
		lc_chainid(i ? im.chainids[i - 1] : NULL, im.config->diff_ids[i], chain);
		im.chainids[i] = lc_xstrdup(chain);
	}
	*ret = im;
	return 0;
fail:
	cmd_image_clear(&im);
	return -1;
}

int cmd_image_load(struct lc_store *s, const char *name, struct cmd_image *ret, struct lc_err **err)
{
	struct lc_store_ref *ref = NULL;

	if (lc_store_ref_get(s, name, &ref, err) < 0)
		return -1;
	return image_load(s, ref, ret, err);
}

int cmd_image_load_ref(struct lc_store *s, const struct lc_store_ref *ref, struct cmd_image *ret,
		       struct lc_err **err)
{
	struct lc_store_ref *copy = lc_xcalloc(1, sizeof(*copy));

	copy->name = lc_xstrdup(ref->name);
	copy->digest = ref->digest ? lc_xstrdup(ref->digest) : NULL;
	copy->manifest = ref->manifest ? lc_xstrdup(ref->manifest) : NULL;
	copy->config = ref->config ? lc_xstrdup(ref->config) : NULL;
	return image_load(s, copy, ret, err);
}

void cmd_image_clear(struct cmd_image *im)
{
	lc_store_ref_free(im->ref);
	lc_manifest_free(im->manifest);
	lc_image_config_free(im->config);
	lc_strv_free(im->chainids);
	memset(im, 0, sizeof(*im));
}

int64_t cmd_image_size(struct lc_store *s, const struct cmd_image *im)
{
	int64_t total = 0;
	size_t i;

	for (i = 0; i < im->n_layers; i++) {
		struct lc_layer_info *li = NULL;
		struct lc_err *err = NULL;

		if (lc_store_layer_info(s, im->chainids[i], &li, &err) == 0)
			total += li->unpacked;
		lc_layer_info_free(li);
		lc_err_free(err);
	}
	return total;
}

void cmd_human_since(const char *rfc3339, char *out, size_t outsz)
{
	struct tm tm = { 0 };
	const char *rest;
	double secs;
	long v;

	if (!rfc3339 || !(rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(out, outsz, "N/A");
		return;
	}
	secs = difftime(time(NULL), timegm(&tm));
	/* go-units HumanDuration, as docker prints CREATED */
	if (secs < 1)
		snprintf(out, outsz, "Less than a second ago");
	else if (secs < 60)
		snprintf(out, outsz, (long)secs == 1 ? "1 second ago" : "%ld seconds ago",
			 (long)secs);
	else if ((v = (long)(secs / 60)) < 60)
		if (v == 1)
			snprintf(out, outsz, "About a minute ago");
		else
			snprintf(out, outsz, "%ld minutes ago", v);
	else if ((v = (long)(secs / 3600 + 0.5)) < 48)
		if (v == 1)
			snprintf(out, outsz, "About an hour ago");
		else
			snprintf(out, outsz, "%ld hours ago", v);
	else if (secs < 3600.0 * 24 * 7 * 2)
		snprintf(out, outsz, "%ld days ago", (long)(secs / 86400));
	else if (secs < 3600.0 * 24 * 30 * 2)
		snprintf(out, outsz, "%ld weeks ago", (long)(secs / (86400 * 7)));
	else if (secs < 3600.0 * 24 * 365 * 2)
		snprintf(out, outsz, "%ld months ago", (long)(secs / (86400 * 30)));
	else
		snprintf(out, outsz, "%ld years ago", (long)(secs / (86400 * 365)));
}

/* "sha256:<hex prefix>" or "<hex prefix>": the hex part, else NULL */
static const char *id_prefix(const char *arg)
{
	const char *p = !strncmp(arg, "sha256:", 7) ? arg + 7 : arg;
	size_t n = 0;

	for (; p[n]; n++)
		if (!((p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'f')))
			return NULL;
	return n && n <= 64 ? p : NULL;
}

int cmd_image_find(struct lc_store *s, const char *arg, struct lc_store_ref **ret, size_t *ret_n,
		   bool *ret_by_id, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL, *v = NULL;
	struct lc_ref *r = NULL;
	const char *hex = id_prefix(arg);
	const char *id = NULL;
	size_t n = 0, k = 0;

	if (lc_store_ref_list(s, &refs, &n, err) < 0)
		return -1;
	/* a name first, as docker does (an exact one too: "<none>@sha256:..") */
	if (lc_ref_parse(arg, &r, NULL) == 0 || (r = NULL, true)) {
		cleanup_free char *canon = r ? lc_ref_string(r) : lc_xstrdup(arg);

		lc_ref_free(r);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(refs[i].name, canon) || !strcmp(refs[i].name, arg)) {
				v = lc_xcalloc(2, sizeof(*v));
				v[0] = refs[i];
				memset(&refs[i], 0, sizeof(refs[i]));
				lc_store_ref_list_free(refs, n);
				*ret = v;
				*ret_n = 1;
				*ret_by_id = false;
				return 0;
			}
	}
	/* an image ID, or a unique prefix of one */
	for (size_t i = 0; hex && i < n; i++) {
		if (!refs[i].config || strncmp(refs[i].config + 7, hex, strlen(hex)) != 0)
			continue;
		if (id && strcmp(id, refs[i].config) != 0) {
			lc_store_ref_list_free(refs, n);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "ambiguous image ID '%s': it starts more than one", arg);
		}
		id = refs[i].config;
	}
	if (!id) {
		lc_store_ref_list_free(refs, n);
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "No such image: %s", arg);
	}
	v = lc_xcalloc(n + 1, sizeof(*v));
	{
		cleanup_free char *want = lc_xstrdup(id);

		for (size_t i = 0; i < n; i++)
			if (refs[i].config && !strcmp(refs[i].config, want)) {
				v[k++] = refs[i];
				memset(&refs[i], 0, sizeof(refs[i]));
			}
	}
	lc_store_ref_list_free(refs, n);
	*ret = v;
	*ret_n = k;
	*ret_by_id = true;
	return 0;
}
