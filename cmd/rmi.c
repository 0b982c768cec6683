/* SPDX-License-Identifier: MIT */
/* rmi, tag, gc and the prunes: naming images and removing what nothing needs any more. */
#include <getopt.h>
#include <string.h>

#include "cmd.h"

static const char rmi_usage[] =
	"Usage:  layerctl rmi [OPTIONS] IMAGE [IMAGE...]\n"
	"\n"
	"Remove one or more images: untag them, then delete the blobs and layers that no other\n"
	"image, no container and no pull in progress needs. IMAGE is a name or an image ID.\n"
	"\n"
	"Options:\n"
	"  -f, --force   remove even while a container uses it (its layers stay until it is\n"
	"                gone), and every tag of an image ID\n"
	"  -h, --help    print this help\n";

static const char tag_usage[] = "Usage:  layerctl tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n"
				"\n"
				"Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.\n";

static const char gc_usage[] =
	"Usage:  layerctl gc\n"
	"\n"
	"Remove the blobs and layers that no image, no container and no pull in progress\n"
	"needs, and the lock files nobody holds. Safe while other layerctl processes pull.\n";

static void familiar(const char *canonical, char *out, size_t outsz)
{
	cleanup_free char *repo = NULL, *tag = NULL;

	cmd_split_name(canonical, &repo, &tag);
	snprintf(out, outsz, "%s:%s", repo, tag);
}

/* Containers made from the image id (config digest); the first one's id in *first. */
size_t cmd_containers_using(struct lc_store *s, const char *image_id, char first[13])
{
	cleanup_strv char **ids = NULL;
	struct lc_err *e = NULL;
	size_t n = 0;

	if (lc_store_container_list(s, &ids, &e) < 0) {
		lc_err_free(e);
		return 0;
	}
	for (size_t i = 0; ids[i]; i++) {
		struct lc_container_config *c = NULL;

		if (lc_store_container_config_read(s, ids[i], &c, &e) < 0) {
			lc_err_free(e);
			e = NULL;
			continue;
		}
		if (c->image_id && !strcmp(c->image_id, image_id)) {
			if (!n++)
				snprintf(first, 13, "%.12s", ids[i]);
		}
		lc_container_config_free(c);
	}
	return n;
}

/* 1 if a ref other than the n in skip names the image refs[0] is, else 0. */
static int others_tagged(struct lc_store *s, const struct lc_store_ref *skip, size_t n,
			 struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	size_t m = 0;
	int found = 0;

	if (lc_store_ref_list(s, &refs, &m, err) < 0)
		return -1;
	for (size_t i = 0; i < m; i++) {
		bool skipped = false;

		for (size_t k = 0; k < n; k++)
			if (!strcmp(refs[i].name, skip[k].name))
				skipped = true;
		if (!skipped && refs[i].config && !strcmp(refs[i].config, skip[0].config))
			found = 1;
	}
	lc_store_ref_list_free(refs, m);
	return found;
}

/* 1 if another ref still names the image (config digest). */
static int still_tagged(struct lc_store *s, const char *config, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	size_t n = 0;
	int found = 0;

	if (lc_store_ref_list(s, &refs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (refs[i].config && !strcmp(refs[i].config, config))
			found = 1;
	lc_store_ref_list_free(refs, n);
	return found;
}

int cmd_image_remove(struct lc_store *s, const char *arg, bool force, FILE *out, int64_t *ret_bytes,
		     struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	size_t n = 0;
	bool by_id = false;
	cleanup_strv char **only = NULL;
	struct lc_gc_result res = { 0 };
	struct cmd_image im = { 0 };
	char cid[13], name[1100];
	int r = -1, tagged;

	if (cmd_image_find(s, arg, &refs, &n, &by_id, err) < 0)
		return -1;
	if (by_id && n > 1 && !force) {
		lc_err_set(err, LC_ERR_EXISTS, 0,
			   "conflict: unable to delete %.12s (must be forced) - image is "
			   "referenced in multiple repositories",
			   refs[0].config + 7);
		goto out;
	}
	/* a name the image keeps another of is only untagged: nothing a container uses goes */
	tagged = others_tagged(s, refs, n, err);
	if (tagged < 0)
		goto out;
	if (!force && !tagged && cmd_containers_using(s, refs[0].config, cid)) {
		lc_err_set(err, LC_ERR_EXISTS, 0,
			   "conflict: unable to remove repository reference \"%s\" (must force) "
			   "- container %s is using its referenced image %.12s",
			   arg, cid, refs[0].config + 7);
		goto out;
	}
	/* what it may free, read before the name goes */
	lc_strv_push(&only, refs[0].config);
	for (size_t i = 0; i < n; i++) {
		if (refs[i].digest)
			lc_strv_push(&only, refs[i].digest);
		if (refs[i].manifest)
			lc_strv_push(&only, refs[i].manifest);
	}
	if (cmd_image_load_ref(s, &refs[0], &im, NULL) == 0)
		for (size_t l = 0; l < im.n_layers; l++)
			lc_strv_push(&only, im.chainids[l]);
	for (size_t i = 0; i < n; i++) {
		if (lc_store_ref_remove(s, refs[i].name, err) < 0)
			goto out;
		familiar(refs[i].name, name, sizeof(name));
		fprintf(out, "Untagged: %s\n", name);
	}
	tagged = still_tagged(s, refs[0].config, err);
	if (tagged < 0)
		goto out;
	if (!tagged) {
		if (lc_store_gc(s, only, &res, err) < 0)
			goto out;
		for (size_t i = 0; res.blobs && res.blobs[i]; i++)
			if (!strcmp(res.blobs[i], refs[0].config))
				fprintf(out, "Deleted: %s\n", refs[0].config);
		/* topmost first, as docker prints them */
		for (size_t l = im.n_layers; l-- > 0;)
			for (size_t i = 0; res.layers && res.layers[i]; i++)
				if (!strcmp(res.layers[i], im.chainids[l]))
					fprintf(out, "Deleted: %s\n", im.chainids[l]);
		if (ret_bytes)
			*ret_bytes += res.bytes;
	}
	r = 0;
out:
	lc_gc_result_clear(&res);
	cmd_image_clear(&im);
	lc_store_ref_list_free(refs, n);
	return r;
}

int cmd_rmi(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	bool force = false;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			fputs(rmi_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(rmi_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(rmi_usage, "'layerctl %s' requires at least 1 argument",
				       argv[0]);
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	for (int i = optind; i < argc; i++) {
		if (cmd_image_remove(s, argv[i], force, stdout, NULL, &err) < 0) {
			cmd_report(err, EXIT_ERR);
			err = NULL;
			rc = EXIT_ERR;
		}
	}
	lc_store_close(s);
	return rc;
}

int cmd_tag(int argc, char **argv, const struct lc_global *g)
{
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_store_ref *refs = NULL;
	struct lc_ref *dst = NULL;
	cleanup_free char *name = NULL;
	size_t n = 0;
	bool by_id;
	int r;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(tag_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 3)
		return cmd_usage_error(tag_usage, "'layerctl tag' requires exactly 2 arguments");
	if (lc_ref_parse(argv[2], &dst, &err) < 0) {
		lc_err_prefix(&err, "tag '%s'", argv[2]);
		return cmd_report(err, EXIT_ERR);
	}
	if (dst->digest) {
		lc_ref_free(dst);
		fprintf(stderr, "layerctl: refusing to create a tag with a digest reference\n");
		return EXIT_ERR;
	}
	name = lc_ref_string(dst);
	lc_ref_free(dst);
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	r = cmd_image_find(s, argv[1], &refs, &n, &by_id, &err);
	if (r == 0) {
		struct lc_store_ref nr = refs[0];

		nr.name = name;
		r = lc_store_ref_set(s, &nr, &err);
	}
	lc_store_ref_list_free(refs, n);
	lc_store_close(s);
	if (r < 0)
		return cmd_report(err, EXIT_ERR);
	return EXIT_OK;
}

void cmd_print_gc(const struct lc_gc_result *res, FILE *out)
{
	if (res->broken_refs)
		fprintf(stderr,
			"layerctl: warning: %zu image(s) could not be read: every layer kept (see "
			"'layerctl verify')\n",
			res->broken_refs);
	else if (res->kept_layers)
		fprintf(stderr, "layerctl: warning: a container or a pull could not be read: "
				"every layer kept\n");
	for (size_t i = 0; res->layers && res->layers[i]; i++)
		fprintf(out, "deleted layer: %s\n", res->layers[i]);
	for (size_t i = 0; res->blobs && res->blobs[i]; i++)
		fprintf(out, "deleted blob: %s\n", res->blobs[i]);
}

int cmd_gc(int argc, char **argv, const struct lc_global *g)
{
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_gc_result res = { 0 };
	char h[32];

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(gc_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 1)
		return cmd_usage_error(gc_usage, "'layerctl gc' accepts no arguments");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (lc_store_gc(s, NULL, &res, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	cmd_print_gc(&res, stdout);
	lc_human_size((uint64_t)res.bytes, h, sizeof(h));
	if (res.objects)
		printf("Removed %zu shared file(s) no layer linked any more\n", res.objects);
	printf("Removed %zu lock file(s) nobody held\nTotal reclaimed space: %s\n", res.locks, h);
	lc_gc_result_clear(&res);
	lc_store_close(s);
	return EXIT_OK;
}
