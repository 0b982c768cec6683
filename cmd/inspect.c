/* SPDX-License-Identifier: MIT */
/* inspect and history: an image as docker shows it, read from the store's blobs. */
#include <getopt.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

static const char inspect_usage[] =
	"Usage:  layerctl inspect [OPTIONS] NAME|ID [NAME|ID...]\n"
	"\n"
	"Return low-level information on containers and images, as docker's JSON. A container:\n"
	"State (Pid on the host, OOMKilled, ExitCode), GraphDriver (the overlay's LowerDir,\n"
	"UpperDir, WorkDir, MergedDir), Mounts, NetworkSettings.Ports, Config, and beyond\n"
	"docker: Namespaces (each one's inode, as /proc/<pid>/ns shows it) and Cgroup (its path,\n"
	"memory, CPU, pids and block I/O now). An image: Id, RepoTags, RepoDigests, Created,\n"
	"Architecture, Os, Config, RootFS, Size, GraphDriver with the layer dirs. Without\n"
	"--type, a container of that name or id comes first, as with docker.\n"
	"\n"
	"Options:\n"
	"  -f, --format string   format with a Go template ('{{.State.Pid}}', '{{json .Config}}')\n"
	"  -s, --size            accepted: sizes are always shown\n"
	"      --type string     only this type: container or image\n"
	"  -h, --help            print this help\n";

static const char history_usage[] = "Usage:  layerctl history [OPTIONS] IMAGE\n"
				    "\n"
				    "Show the history of an image: how each layer was made.\n"
				    "\n"
				    "Options:\n"
				    "      --format string   'table', 'json' or a Go template\n"
				    "                        ('{{.ID}} {{.CreatedBy}} {{.Size}}')\n"
				    "      --no-trunc        don't truncate output\n"
				    "  -q, --quiet           only show image IDs\n"
				    "  -h, --help            print this help\n";

/* The image's raw config document (verified against its digest). */
static json_t *raw_config(struct lc_store *s, const char *digest, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len;

	if (lc_store_blob_get(s, digest, LC_MAX_MANIFEST_SIZE, &buf, &len, err) < 0)
		return NULL;
	return lc_json_parse(buf, len, "image config", err);
}

static json_t *inspect_one(struct lc_store *s, const char *arg, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL, *all = NULL;
	size_t n = 0, n_all = 0;
	bool by_id;
	struct cmd_image im = { 0 };
	json_t *cfg = NULL, *o = NULL, *tags, *digests, *diff_ids;
	cleanup_free char *lower = lc_xstrdup("");

	if (cmd_image_find(s, arg, &refs, &n, &by_id, err) < 0)
		return NULL;
	if (cmd_image_load_ref(s, &refs[0], &im, err) < 0 ||
	    !(cfg = raw_config(s, refs[0].config, err)))
		goto out;
	/* every name of the image, not only the one asked for */
	tags = json_array();
	digests = json_array();
	if (lc_store_ref_list(s, &all, &n_all, err) < 0) {
		json_decref(tags);
		json_decref(digests);
		goto out;
	}
	for (size_t i = 0; i < n_all; i++) {
		cleanup_free char *repo = NULL, *tag = NULL;

		if (!all[i].config || strcmp(all[i].config, refs[0].config) != 0)
			continue;
		cmd_split_name(all[i].name, &repo, &tag);
		json_array_append_new(tags, json_sprintf("%s:%s", repo, tag));
		if (all[i].digest)
			json_array_append_new(digests, json_sprintf("%s@%s", repo, all[i].digest));
	}
	diff_ids = json_array();
	for (size_t l = 0; l < im.config->n_diff_ids; l++)
		json_array_append_new(diff_ids, json_string(im.config->diff_ids[l]));
	for (size_t l = im.n_layers; l-- > 0;) {
		char *next = lc_xasprintf("%s%s%s/layers/sha256/%s", lower, *lower ? ":" : "",
					  lc_store_root(s), lc_digest_hex(im.chainids[l]));

		free(lower);
		lower = next;
	}
	o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:O?, s:s, s:s, s:s?, s:s, s:O?, s:{s:s, s:o}, "
		      "s:I, s:{s:s, s:{s:s}}, s:O?}",
		      "Id", refs[0].config, "RepoTags", tags, "RepoDigests", digests, "Parent", "",
		      "Comment", "", "Created", json_object_get(cfg, "created"), "Author", "",
		      "Architecture", im.config->arch ? im.config->arch : "", "Variant",
		      im.config->variant, "Os", im.config->os ? im.config->os : "", "Config",
		      json_object_get(cfg, "config"), "RootFS", "Type", "layers", "Layers",
		      diff_ids, "Size", (json_int_t)cmd_image_size(s, &im), "GraphDriver", "Name",
		      "overlay", "Data", "LowerDir", lower, "History",
		      json_object_get(cfg, "history"));
	if (!o)
		lc_err_set(err, LC_ERR_PROTO, 0, "image '%s': cannot represent its config", arg);
	else if (!im.config->variant)
		json_object_del(o, "Variant"); /* docker leaves it out when there is none */
out:
	json_decref(cfg);
	cmd_image_clear(&im);
	lc_store_ref_list_free(refs, n);
	lc_store_ref_list_free(all, n_all);
	return o;
}

static int inspect_main(int argc, char **argv, const struct lc_global *g, const char *type)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "size", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL;
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	json_t *arr;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":f:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 't':
			if (strcmp(optarg, "container") && strcmp(optarg, "image"))
				return cmd_usage_error(inspect_usage,
						       "\"%s\" is not a valid value for --type "
						       "(layerctl knows container and image)",
						       optarg);
			type = optarg;
			break;
		case 's': /* docker's: sizes are always there */
			break;
		case 'h':
			fputs(inspect_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(inspect_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(inspect_usage, "'layerctl %s' requires at least 1 argument",
				       argv[0]);
	if (format && (!strcmp(format, "json") || !strcmp(format, "table")))
		format = NULL; /* docker's "json": the default output */
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	arr = json_array();
	for (int i = optind; i < argc; i++) {
		cleanup_free char *id = NULL;
		json_t *o = NULL;

		/* docker's order without --type: a container of that name or id, then an image */
		if (!type || !strcmp(type, "container")) {
			if (ctr_find(s, argv[i], &id, &err) == 0)
				o = ctr_inspect_json(s, id, &err);
			else if (!type && err->code == LC_ERR_NOTFOUND) {
				lc_err_free(err);
				err = NULL;
			}
		}
		if (!o && !err && (!type || !strcmp(type, "image"))) {
			o = inspect_one(s, argv[i], &err);
			if (!o && !type && err && err->code == LC_ERR_NOTFOUND) {
				lc_err_free(err);
				err = NULL;
				lc_err_set(&err, LC_ERR_NOTFOUND, 0, "No such object: %s", argv[i]);
			}
		}
		if (!o) {
			/* docker prints what it found, then the errors, and exits 1 */
			cmd_report(err, EXIT_ERR);
			err = NULL;
			rc = EXIT_ERR;
			continue;
		}
		json_array_append_new(arr, o);
	}
	if (format) {
		for (size_t i = 0; i < json_array_size(arr); i++) {
			cleanup_free char *line = NULL;

			if (cmd_format(format, json_array_get(arr, i), &line, &err) < 0) {
				json_decref(arr);
				lc_store_close(s);
				return cmd_report(err, EXIT_ERR);
			}
			printf("%s\n", line);
		}
	} else {
		char *txt = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

		if (txt)
			printf("%s\n", txt);
		free(txt);
	}
	json_decref(arr);
	lc_store_close(s);
	return rc;
}

int cmd_inspect(int argc, char **argv, const struct lc_global *g)
{
	return inspect_main(argc, argv, g, NULL);
}

/* "image inspect": images only */
int cmd_image_inspect(int argc, char **argv, const struct lc_global *g)
{
	return inspect_main(argc, argv, g, "image");
}

/* CREATED BY as docker shows it: whitespace runs squeezed, cut at 45 with an ellipsis */
static char *created_by(const char *raw, bool notrunc)
{
	char *out = lc_xstrdup(raw ? raw : "");
	size_t o = 0, chars = 0, cut = 0;

	for (size_t i = 0; out[i]; i++) {
		if ((out[i] == '\t' || out[i] == '\n') && !notrunc)
			out[i] = ' ';
		out[o++] = out[i];
	}
	out[o] = '\0';
	if (notrunc)
		return out;
	for (size_t i = 0; out[i]; i++)
		if (((unsigned char)out[i] & 0xc0) != 0x80 && ++chars == 45)
			cut = i;
	if (chars > 45) {
		char *t = lc_xasprintf("%.*s…", (int)cut, out);

		free(out);
		return t;
	}
	return out;
}

int cmd_history(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_format fmt = { .kind = CMD_FORMAT_TABLE, .id_header = "IMAGE" };
	json_t **rows = NULL;
	size_t n_rows = 0;
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_store_ref *refs = NULL;
	struct cmd_image im = { 0 };
	struct cmd_table *t = NULL;
	json_t *cfg = NULL, *hist;
	size_t n = 0, layer;
	bool by_id, notrunc = false, quiet = false;
	int c, rc = EXIT_ERR;

	while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			notrunc = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'f':
			if (cmd_format_parse(optarg, &fmt, history_usage) != 0)
				return EXIT_ERR;
			fmt.id_header = "IMAGE";
			break;
		case 'h':
			fputs(history_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(history_usage, argv, c);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error(history_usage, "'layerctl %s' requires exactly 1 argument",
				       argv[0]);
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (cmd_image_find(s, argv[optind], &refs, &n, &by_id, &err) < 0 ||
	    cmd_image_load_ref(s, &refs[0], &im, &err) < 0 ||
	    !(cfg = raw_config(s, refs[0].config, &err))) {
		cmd_report(err, EXIT_ERR);
		goto out;
	}
	hist = json_object_get(cfg, "history");
	t = cmd_table_new(5);
	if (!quiet && fmt.kind == CMD_FORMAT_TABLE)
		cmd_table_add(
			t, (const char *[]){ "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" });
	/* newest first; entries that made no layer (empty_layer) are 0B */
	layer = im.n_layers;
	for (size_t i = json_array_size(hist); i-- > 0;) {
		json_t *h = json_array_get(hist, i);
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		cleanup_free char *by =
			created_by(json_string_value(json_object_get(h, "created_by")), notrunc);
		const char *comment = json_string_value(json_object_get(h, "comment"));
		char id[80], since[48], size[32] = "0B";

		if (i + 1 == json_array_size(hist))
			snprintf(id, sizeof(id), "%s",
				 notrunc ? refs[0].config : refs[0].config + 7);
		else
			snprintf(id, sizeof(id), "<missing>");
		if (!notrunc && i + 1 == json_array_size(hist))
			id[12] = '\0';
		cmd_human_since(json_string_value(json_object_get(h, "created")), since,
				sizeof(since));
		if (!empty && layer > 0) {
			struct lc_layer_info *li = NULL;
			struct lc_err *e = NULL;

			layer--;
			if (lc_store_layer_info(s, im.chainids[layer], &li, &e) == 0)
				lc_human_size((uint64_t)li->unpacked, size, sizeof(size));
			lc_layer_info_free(li);
			lc_err_free(e);
		}
		if (quiet) {
			printf("%s\n", id);
		} else if (fmt.kind == CMD_FORMAT_TABLE) {
			cmd_table_add(
				t, (const char *[]){ id, since, by, size, comment ? comment : "" });
		} else {
			const char *at = json_string_value(json_object_get(h, "created"));
			/* NULL when a string is not UTF-8: that entry is left out */
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id,
					      "CreatedSince", since, "CreatedAt", at ? at : "",
					      "CreatedBy", by, "Size", size, "Comment",
					      comment ? comment : "");

			if (o) {
				rows = lc_xrealloc(rows, (n_rows + 1) * sizeof(*rows));
				rows[n_rows++] = o;
			}
		}
	}
	rc = EXIT_OK;
	if (!quiet && fmt.kind == CMD_FORMAT_TABLE)
		cmd_table_print(t, stdout);
	for (size_t i = 0; i < n_rows; i++) {
		cleanup_free char *line = NULL;

		if (fmt.kind == CMD_FORMAT_JSON && (line = json_dumps(rows[i], JSON_COMPACT)))
			printf("%s\n", line);
	}
	if (fmt.kind == CMD_FORMAT_TEMPLATE &&
	    cmd_format_rows(&fmt, rows, n_rows, stdout, &err) < 0)
		rc = cmd_report(err, EXIT_ERR);
out:
	for (size_t i = 0; i < n_rows; i++)
		json_decref(rows[i]);
	free(rows);
	cmd_table_free(t);
	json_decref(cfg);
	cmd_image_clear(&im);
	lc_store_ref_list_free(refs, n);
	lc_store_close(s);
	return rc;
}
