/* SPDX-License-Identifier: MIT */
#include <fnmatch.h>
#include <getopt.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

static const char images_usage[] =
	"Usage:  layerctl images [OPTIONS] [REPOSITORY[:TAG]]\n"
	"\n"
	"List the images in the store.\n"
	"\n"
	"Options:\n"
	"      --digests        show digests\n"
	"  -f, --filter filter  dangling=true|false (images without a name),\n"
	"                       reference=PATTERN (repository or repository:tag, glob)\n"
	"      --format string  'table' (default), 'json' (one JSON object per line), or a Go\n"
	"                       template: '{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}'\n"
	"      --no-trunc       don't truncate output\n"
	"  -q, --quiet          only show image IDs\n"
	"  -h, --help           print this help\n";

void cmd_split_name(const char *canonical, char **repo, char **tag)
{
	struct lc_ref *r = NULL;
	struct lc_err *err = NULL;

	/* an image verify --repair found in the blobs but whose name was lost */
	if (!strncmp(canonical, "<none>@", 7)) {
		*repo = lc_xstrdup("<none>");
		*tag = lc_xstrdup("<none>");
		return;
	}
	if (lc_ref_parse(canonical, &r, &err) == 0) {
		cleanup_free char *fam = NULL;
		char *at;

		r->digest = (free(r->digest), NULL);
		if (!r->tag)
			r->tag = lc_xstrdup("<none>");
		fam = lc_ref_familiar(r);
		at = strrchr(fam, ':');
		if (at && !strchr(at, '/')) {
			*tag = lc_xstrdup(at + 1);
			*repo = lc_xstrndup(fam, (size_t)(at - fam));
		} else {
			*tag = lc_xstrdup("<none>");
			*repo = lc_xstrdup(fam);
		}
		lc_ref_free(r);
		return;
	}
	lc_err_free(err);
	*repo = lc_xstrdup(canonical);
	*tag = lc_xstrdup("<none>");
}

struct images_filter {
	char **refs;  /* reference= patterns: any may match */
	int dangling; /* -1: no filter */
};

static void filter_clear(struct images_filter *f)
{
	lc_strv_free(f->refs);
}

static int filter_add(struct images_filter *f, const char *arg)
{
	if (!strncmp(arg, "reference=", 10)) {
		lc_strv_push(&f->refs, arg + 10);
		return 0;
	}
	if (!strcmp(arg, "dangling=true") || !strcmp(arg, "dangling=1")) {
		f->dangling = 1;
		return 0;
	}
	if (!strcmp(arg, "dangling=false") || !strcmp(arg, "dangling=0")) {
		f->dangling = 0;
		return 0;
	}
	return -1;
}

/* docker matches the familiar repository, with and without its tag, as path.Match does */
static bool filter_match(const struct images_filter *f, const char *name, const char *repo,
			 const char *tag)
{
	cleanup_free char *full = lc_xasprintf("%s:%s", repo, tag);

	/* dangling: an image without a name (verify --repair rebuilt it from the blobs) */
	if (f->dangling >= 0 && f->dangling != cmd_dangling(name))
		return false;
	if (!f->refs)
		return true;
	for (size_t i = 0; f->refs[i]; i++)
		if (fnmatch(f->refs[i], repo, FNM_PATHNAME) == 0 ||
		    fnmatch(f->refs[i], full, FNM_PATHNAME) == 0)
			return true;
	return false;
}

int cmd_images(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "digests", no_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'T' },
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "filter", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	__attribute__((cleanup(filter_clear))) struct images_filter filter = { .dangling = -1 };
	bool digests = false, notrunc = false, quiet = false, json = false;
	struct cmd_format fmt = { .kind = CMD_FORMAT_TABLE };
	json_t **rows = NULL;
	size_t n_rows = 0;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct lc_store_ref *refs = NULL;
	struct cmd_table *table = NULL;
	size_t n = 0, i;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":qhf:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (filter_add(&filter, optarg) < 0)
				return cmd_usage_error(images_usage, "invalid filter '%s'", optarg);
			break;
		case 'd':
			digests = true;
			break;
		case 'T':
			if (cmd_format_parse(optarg, &fmt, images_usage) != 0)
				return EXIT_ERR;
			fmt.id_header = "IMAGE ID";
			json = fmt.kind != CMD_FORMAT_TABLE;
			break;
		case 'n':
			notrunc = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(images_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(images_usage, argv, c);
		}
	}
	/* docker's "images REPOSITORY[:TAG]": a reference filter */
	if (optind + 1 < argc)
		return cmd_usage_error(images_usage,
				       "'layerctl images' accepts at most 1 argument");
	if (optind < argc) {
		cleanup_free char *f = lc_xasprintf("reference=%s", argv[optind]);

		filter_add(&filter, f);
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (lc_store_ref_list(s, &refs, &n, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	if (!quiet && !json) {
		const char *hdr[] = {
			"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"
		};

		table = cmd_table_new(digests ? 6 : 5);
		if (!digests)
			memmove(&hdr[2], &hdr[3], 3 * sizeof(hdr[0]));
		cmd_table_add(table, hdr);
	}
	for (i = 0; i < n; i++) {
		struct cmd_image im = { 0 };
		cleanup_free char *repo = NULL, *tag = NULL;
		char id[LC_DIGEST_BUFSZ], since[48], size[32];
		int64_t bytes;

		cmd_split_name(refs[i].name, &repo, &tag);
		if (!filter_match(&filter, refs[i].name, repo, tag))
			continue;
		if (cmd_image_load_ref(s, &refs[i], &im, &err) < 0) {
			/* one broken image must not hide the others (verify says more) */
			fprintf(stderr, "layerctl: warning: image '%s': %s\n", refs[i].name,
				err->msg);
			lc_err_free(err);
			err = NULL;
			continue;
		}
		snprintf(id, sizeof(id), "%s", notrunc ? im.ref->config : im.ref->config + 7);
		if (!notrunc)
			id[12] = '\0';
		if (quiet) {
			/* the ID alone: no layer metadata to read for a size nobody sees */
			printf("%s\n", id);
			cmd_image_clear(&im);
			continue;
		}
		cmd_human_since(im.config->created, since, sizeof(since));
		bytes = cmd_image_size(s, &im);
		lc_human_size((uint64_t)bytes, size, sizeof(size));
		if (json) {
			json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:I}", "Repository",
					      repo, "Tag", tag, "Digest", im.ref->digest, "ID", id,
					      "CreatedSince", since, "Size", size, "VirtualSize",
					      (json_int_t)bytes);
			if (o && fmt.kind == CMD_FORMAT_TEMPLATE) {
				json_object_set_new(
					o, "CreatedAt",
					json_string(im.config->created ? im.config->created : ""));
				rows = lc_xrealloc(rows, (n_rows + 1) * sizeof(*rows));
				rows[n_rows++] = o;
			} else {
				char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

				if (line)
					printf("%s\n", line);
				free(line);
				json_decref(o);
			}
		} else {
			const char *row[] = { repo, tag, im.ref->digest, id, since, size };

			if (!digests)
				memmove(&row[2], &row[3], 3 * sizeof(row[0]));
			cmd_table_add(table, row);
		}
		cmd_image_clear(&im);
	}
	if (table)
		cmd_table_print(table, stdout);
	cmd_table_free(table);
	if (fmt.kind == CMD_FORMAT_TEMPLATE &&
	    cmd_format_rows(&fmt, rows, n_rows, stdout, &err) < 0)
		rc = cmd_report(err, EXIT_ERR);
	for (i = 0; i < n_rows; i++)
		json_decref(rows[i]);
	free(rows);
	lc_store_ref_list_free(refs, n);
	lc_store_close(s);
	return rc;
}
