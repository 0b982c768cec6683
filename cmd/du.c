/* SPDX-License-Identifier: MIT */
/* du (also `system df`): what the store holds on disk, docker's `system df` with exact bytes. */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"

static const char du_usage[] =
	"Usage:  layerctl du [OPTIONS]\n"
	"        layerctl system df [OPTIONS]\n"
	"\n"
	"Show the store's disk usage: bytes allocated on disk, each inode counted once. An\n"
	"image's SHARED SIZE is the bytes of its layers that another image uses too (whole\n"
	"layers, and files shared through the pool), UNIQUE SIZE what removing it frees. -v ends\n"
	"with what sharing saves: whole layers shared by images, and files shared by layers\n"
	"(the store's dedup setting).\n"
	"\n"
	"Options:\n"
	"      --format string  'table' (default), 'json', or a Go template for the summary\n"
	"                       ('{{.Type}} {{.Size}}': Type, TotalCount, Active, Size,\n"
	"                       Reclaimable)\n"
	"  -v, --verbose        per image, container and layer\n"
	"  -h, --help           print this help\n";

/* The images the refs name, loaded; a broken one is warned about and left out. */
struct du_images {
	struct cmd_image *im;
	struct lc_usage_in *in;
	size_t n;
};

static void du_images_clear(struct du_images *d)
{
	for (size_t i = 0; i < d->n; i++)
		cmd_image_clear(&d->im[i]);
	free(d->im);
	free(d->in);
}

static int du_load(struct lc_store *s, struct du_images *d, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	size_t n = 0;

	if (lc_store_ref_list(s, &refs, &n, err) < 0)
		return -1;
	d->im = lc_xcalloc(n + 1, sizeof(*d->im));
	d->in = lc_xcalloc(n + 1, sizeof(*d->in));
	for (size_t i = 0; i < n; i++) {
		struct cmd_image *im = &d->im[d->n];
		struct lc_err *e = NULL;

		if (cmd_image_load_ref(s, &refs[i], im, &e) < 0) {
			fprintf(stderr, "layerctl: warning: image '%s': %s\n", refs[i].name,
				e->msg);
			lc_err_free(e);
			continue;
		}
		d->in[d->n] = (struct lc_usage_in){ .id = im->ref->config,
						    .chainids = im->chainids,
						    .n_layers = im->n_layers };
		d->n++;
	}
	lc_store_ref_list_free(refs, n);
	return 0;
}

/*
 * The named volumes: each one's bytes on disk (its tree walked, as docker does) and LINKS, the
 * containers (running or not) whose spec mounts it; a volume nobody links is reclaimable.
 */
struct du_volumes {
	char **names; /* NULL-terminated */
	size_t *links;
	int64_t *bytes;
	size_t n, active;
	int64_t total, unused;
	size_t *per_ctr; /* volumes each container of the usage mounts, parallel to it */
};

static void du_volumes_clear(struct du_volumes *v)
{
	lc_strv_free(v->names);
	free(v->links);
	free(v->bytes);
	free(v->per_ctr);
}

static int du_volumes_load(struct lc_store *s, const struct lc_usage *u, struct du_volumes *v,
			   struct lc_err **err)
{
	if (lc_store_volume_list(s, &v->names, err) < 0)
		return -1;
	v->n = lc_strv_len(v->names);
	v->links = lc_xcalloc(v->n + 1, sizeof(*v->links));
	v->bytes = lc_xcalloc(v->n + 1, sizeof(*v->bytes));
	v->per_ctr = lc_xcalloc(u->n_containers + 1, sizeof(*v->per_ctr));
	for (size_t c = 0; c < u->n_containers; c++) {
		struct ctr_spec sp = { 0 };
		struct lc_err *e = NULL;

		if (ctr_spec_read(s, u->containers[c].id, &sp, &e) == 0) {
			for (size_t j = 0; sp.volumes && sp.volumes[j]; j++) {
				v->per_ctr[c]++;
				for (size_t i = 0; i < v->n; i++)
					v->links[i] += !strcmp(sp.volumes[j], v->names[i]);
			}
		}
		lc_err_free(e);
		ctr_spec_clear(&sp);
	}
	for (size_t i = 0; i < v->n; i++) {
		cleanup_free char *path = NULL;
		struct lc_err *e = NULL;

		/* a volume removed meanwhile counts nothing */
		if (lc_store_volume_path(s, v->names[i], false, &path, &e) == 0)
			lc_store_tree_bytes_at(AT_FDCWD, path, &v->bytes[i], &e);
		lc_err_free(e);
		v->total += v->bytes[i];
		if (v->links[i])
			v->active++;
		else
			v->unused += v->bytes[i];
	}
	return 0;
}

static void human(int64_t bytes, char *out, size_t outsz)
{
	lc_human_size(bytes > 0 ? (uint64_t)bytes : 0, out, outsz);
}

/* docker's RECLAIMABLE cell: "1.2GB (80%)", no percentage of nothing */
static void reclaimable(int64_t part, int64_t total, char *out, size_t outsz)
{
	char h[32];

	human(part, h, sizeof(h));
	if (total > 0)
		snprintf(out, outsz, "%s (%d%%)", h, (int)(100 * part / total));
	else
		snprintf(out, outsz, "%s", h);
}

static void short_id(const char *digest, char out[13])
{
	snprintf(out, 13, "%s", digest && lc_digest_valid(digest) ? digest + 7 : "");
}

static int print_summary(const struct lc_usage *u, const struct du_volumes *v,
			 const struct cmd_format *fmt, struct lc_err **err)
{
	bool json = fmt->kind == CMD_FORMAT_JSON;
	char cnt[3][32], act[3][32], sz[3][32], rec[3][48];
	const char *types[] = { "Images", "Containers", "Local Volumes" };
	struct cmd_table *t;

	if (json) {
		printf("{\"Type\":\"Images\",\"TotalCount\":%zu,\"Active\":%zu,\"Size\":%lld,"
		       "\"Reclaimable\":%lld}\n",
		       u->n_distinct, u->n_active, (long long)u->layers_bytes,
		       (long long)u->reclaimable_bytes);
		printf("{\"Type\":\"Containers\",\"TotalCount\":%zu,\"Active\":%zu,\"Size\":%lld,"
		       "\"Reclaimable\":%lld}\n",
		       u->n_containers, u->n_running, (long long)u->containers_bytes,
		       (long long)u->containers_idle);
		printf("{\"Type\":\"Local Volumes\",\"TotalCount\":%zu,\"Active\":%zu,"
		       "\"Size\":%lld,\"Reclaimable\":%lld}\n",
		       v->n, v->active, (long long)v->total, (long long)v->unused);
		return 0;
	}
	snprintf(cnt[0], sizeof(cnt[0]), "%zu", u->n_distinct);
	snprintf(act[0], sizeof(act[0]), "%zu", u->n_active);
	human(u->layers_bytes, sz[0], sizeof(sz[0]));
	reclaimable(u->reclaimable_bytes, u->layers_bytes, rec[0], sizeof(rec[0]));
	snprintf(cnt[1], sizeof(cnt[1]), "%zu", u->n_containers);
	snprintf(act[1], sizeof(act[1]), "%zu", u->n_running);
	human(u->containers_bytes, sz[1], sizeof(sz[1]));
	reclaimable(u->containers_idle, u->containers_bytes, rec[1], sizeof(rec[1]));
	snprintf(cnt[2], sizeof(cnt[2]), "%zu", v->n);
	snprintf(act[2], sizeof(act[2]), "%zu", v->active);
	human(v->total, sz[2], sizeof(sz[2]));
	reclaimable(v->unused, v->total, rec[2], sizeof(rec[2]));
	if (fmt->kind == CMD_FORMAT_TEMPLATE) { /* docker's fields, as the table shows them */
		json_t *rows[3];
		int r;

		for (size_t i = 0; i < 3; i++)
			rows[i] = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", types[i],
					    "TotalCount", cnt[i], "Active", act[i], "Size", sz[i],
					    "Reclaimable", rec[i]);
		r = cmd_format_rows(fmt, rows, 3, stdout, err);
		for (size_t i = 0; i < 3; i++)
			json_decref(rows[i]);
		return r;
	}
	t = cmd_table_new(5);
	cmd_table_add(t, (const char *[]){ "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" });
	for (size_t i = 0; i < 3; i++)
		cmd_table_add(t, (const char *[]){ types[i], cnt[i], act[i], sz[i], rec[i] });
	cmd_table_print(t, stdout);
	cmd_table_free(t);
	return 0;
}

/* The familiar names of the images (refs) using a layer, comma separated. */
static char *layer_images(const struct du_images *d, const struct lc_usage_layer *ly)
{
	char *out = lc_xstrdup("");

	for (size_t k = 0; k < ly->n_images; k++) {
		const char *id = d->in[ly->images[k]].id;

		for (size_t j = 0; j < d->n; j++) {
			cleanup_free char *repo = NULL, *tag = NULL;
			char *next;

			if (!d->in[j].id || strcmp(d->in[j].id, id) != 0)
				continue;
			cmd_split_name(d->im[j].ref->name, &repo, &tag);
			next = lc_xasprintf("%s%s%s:%s", out, *out ? ", " : "", repo, tag);
			free(out);
			out = next;
		}
	}
	return out;
}

static void container_status(const struct lc_usage_container *c, const char **status)
{
	*status = c->running ? "Running" : "Exited";
}

static void print_verbose_json(const struct du_images *d, const struct lc_usage *u,
			       const struct du_volumes *v)
{
	json_auto_t *root = json_object();
	json_t *imgs = json_array(), *ctrs = json_array(), *lys = json_array();
	cleanup_free char *txt = NULL;

	for (size_t i = 0; i < d->n; i++) {
		cleanup_free char *repo = NULL, *tag = NULL;
		const struct lc_usage_image *ui = &u->images[i];

		cmd_split_name(d->im[i].ref->name, &repo, &tag);
		json_array_append_new(
			imgs, json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:I}", "Repository",
					repo, "Tag", tag, "ID", d->im[i].ref->config, "Created",
					d->im[i].config->created, "Size", (json_int_t)ui->size,
					"SharedSize", (json_int_t)ui->shared, "UniqueSize",
					(json_int_t)ui->unique, "Containers",
					(json_int_t)ui->containers));
	}
	for (size_t c = 0; c < u->n_containers; c++) {
		const struct lc_usage_container *uc = &u->containers[c];
		const char *status;

		container_status(uc, &status);
		json_array_append_new(
			ctrs, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:I, s:s}", "ID", uc->id,
					"Names", uc->config ? uc->config->name : NULL, "Image",
					uc->config ? uc->config->image : NULL, "ImageID",
					uc->config ? uc->config->image_id : NULL, "Created",
					uc->config ? uc->config->created : NULL, "Size",
					(json_int_t)uc->bytes, "Status", status));
	}
	for (size_t l = 0; l < u->n_layers; l++) {
		const struct lc_usage_layer *ly = &u->layers[l];
		json_t *names = json_array();

		for (size_t k = 0; k < ly->n_images; k++)
			json_array_append_new(names, json_string(d->in[ly->images[k]].id));
		json_array_append_new(lys, json_pack("{s:s, s:I, s:I, s:o, s:I}", "ID", ly->chainid,
						     "Size", (json_int_t)ly->bytes, "PooledSize",
						     (json_int_t)ly->pooled, "ImageIDs", names,
						     "Containers", (json_int_t)ly->containers));
	}
	json_object_set_new(root, "Images", imgs);
	json_object_set_new(root, "Containers", ctrs);
	{
		json_t *vols = json_array();

		for (size_t i = 0; i < v->n; i++)
			json_array_append_new(vols,
					      json_pack("{s:s, s:I, s:I}", "Name", v->names[i],
							"Links", (json_int_t)v->links[i], "Size",
							(json_int_t)v->bytes[i]));
		json_object_set_new(root, "Volumes", vols);
	}
	json_object_set_new(root, "Layers", lys);
	json_object_set_new(root, "LayersSize", json_integer(u->layers_bytes));
	json_object_set_new(root, "ApartSize", json_integer(u->apart_bytes));
	json_object_set_new(root, "SharedLayersSaving", json_integer(u->layers_saved));
	json_object_set_new(root, "SharedFilesSaving", json_integer(u->files_saved));
	txt = json_dumps(root, JSON_COMPACT);
	if (txt)
		printf("%s\n", txt);
}

/* "▓▓▓▓▓▓░░░░": shared bytes against unique ones, 10 cells (a part above nothing shows) */
static void share_bar(int64_t shared, int64_t unique, char *out, size_t outsz)
{
	int64_t total = shared + unique;
	int n = total > 0 ? (int)((shared * 10 + total / 2) / total) : 0;
	size_t off = 0;

	if (shared > 0 && n == 0)
		n = 1;
	if (unique > 0 && n == 10)
		n = 9;
	out[0] = 0;
	for (int i = 0; i < 10 && off + 4 < outsz; i++)
		off += (size_t)snprintf(out + off, outsz - off, "%s", i < n ? "▓" : "░");
}

static void print_verbose(const struct du_images *d, const struct lc_usage *u,
			  const struct du_volumes *v)
{
	bool tty = isatty(1);
	struct cmd_table *t = cmd_table_new(tty ? 9 : 8);
	char a[32], b[32];

	printf("Images space usage:\n\n");
	cmd_table_add(t, (const char *[]){ "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE",
					   "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS",
					   "SHARED▓ UNIQUE░" });
	for (size_t i = 0; i < d->n; i++) {
		cleanup_free char *repo = NULL, *tag = NULL;
		const struct lc_usage_image *ui = &u->images[i];
		char id[13], since[48], size[32], shared[32], unique[32], ctrs[24], sbar[64];

		cmd_split_name(d->im[i].ref->name, &repo, &tag);
		short_id(d->im[i].ref->config, id);
		cmd_human_since(d->im[i].config->created, since, sizeof(since));
		human(ui->size, size, sizeof(size));
		human(ui->shared, shared, sizeof(shared));
		human(ui->unique, unique, sizeof(unique));
		snprintf(ctrs, sizeof(ctrs), "%zu", ui->containers);
		share_bar(ui->shared, ui->unique, sbar, sizeof(sbar));
		cmd_table_add(t, (const char *[]){ repo, tag, id, since, size, shared, unique, ctrs,
						   sbar });
	}
	cmd_table_print(t, stdout);
	cmd_table_free(t);

	printf("\nContainers space usage:\n\n");
	t = cmd_table_new(7);
	cmd_table_add(t, (const char *[]){ "CONTAINER ID", "IMAGE", "LOCAL VOLUMES", "SIZE",
					   "CREATED", "STATUS", "NAMES" });
	for (size_t c = 0; c < u->n_containers; c++) {
		const struct lc_usage_container *uc = &u->containers[c];
		const struct lc_container_config *cc = uc->config;
		cleanup_free char *image = NULL;
		char id[13], size[32], since[48], vols[24];
		const char *status;

		snprintf(id, sizeof(id), "%.12s", uc->id);
		human(uc->bytes, size, sizeof(size));
		cmd_human_since(cc ? cc->created : NULL, since, sizeof(since));
		container_status(uc, &status);
		if (cc && *cc->image) {
			cleanup_free char *repo = NULL, *tag = NULL;

			cmd_split_name(cc->image, &repo, &tag);
			image = lc_xasprintf("%s:%s", repo, tag);
		}
		snprintf(vols, sizeof(vols), "%zu", v->per_ctr[c]);
		cmd_table_add(t, (const char *[]){ id, image ? image : "<unknown>", vols, size,
						   since, status, cc ? cc->name : "" });
	}
	cmd_table_print(t, stdout);
	cmd_table_free(t);

	printf("\nLayers space usage:\n\n");
	t = cmd_table_new(3);
	cmd_table_add(t, (const char *[]){ "LAYER ID", "SIZE", "IMAGES" });
	for (size_t l = 0; l < u->n_layers; l++) {
		const struct lc_usage_layer *ly = &u->layers[l];
		cleanup_free char *names = layer_images(d, ly);
		char id[13], size[32];

		short_id(ly->chainid, id);
		human(ly->bytes, size, sizeof(size));
		cmd_table_add(t, (const char *[]){ id, size, *names ? names : "<none>" });
	}
	cmd_table_print(t, stdout);
	cmd_table_free(t);

	printf("\nLocal Volumes space usage:\n\n");
	t = cmd_table_new(3);
	cmd_table_add(t, (const char *[]){ "VOLUME NAME", "LINKS", "SIZE" });
	for (size_t i = 0; i < v->n; i++) {
		char links[24], size[32];

		snprintf(links, sizeof(links), "%zu", v->links[i]);
		human(v->bytes[i], size, sizeof(size));
		cmd_table_add(t, (const char *[]){ v->names[i], links, size });
	}
	cmd_table_print(t, stdout);
	cmd_table_free(t);
	printf("\n");
	human(u->layers_bytes, a, sizeof(a));
	human(u->apart_bytes, b, sizeof(b));
	/* the lesson in one line: what sharing layers saves */
	printf("%zu image%s: %s if stored apart, %s on disk (%lld and %lld bytes)\n", u->n_distinct,
	       u->n_distinct == 1 ? "" : "s", b, a, (long long)u->apart_bytes,
	       (long long)u->layers_bytes);
	human(u->layers_saved, a, sizeof(a));
	human(u->files_saved, b, sizeof(b));
	printf("Saved: %s (%lld bytes) by images sharing whole layers, and %s (%lld bytes) on top "
	       "by layers sharing files\n",
	       a, (long long)u->layers_saved, b, (long long)u->files_saved);
}

int cmd_du(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_format fmt = { .kind = CMD_FORMAT_TABLE };
	bool verbose = false;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct du_images d = { 0 };
	struct du_volumes v = { 0 };
	struct lc_usage *u = NULL;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (cmd_format_parse(optarg, &fmt, du_usage) != 0)
				return EXIT_ERR;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(du_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(du_usage, argv, c);
		}
	}
	if (optind != argc)
		return cmd_usage_error(du_usage, "'layerctl %s' accepts no arguments", argv[0]);
	if (verbose && fmt.kind == CMD_FORMAT_TEMPLATE)
		return cmd_usage_error(du_usage, "a template formats the summary: with -v, use "
						 "--format json");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (du_load(s, &d, &err) < 0 || lc_store_usage(s, d.in, d.n, &u, &err) < 0 ||
	    du_volumes_load(s, u, &v, &err) < 0) {
		lc_usage_free(u);
		du_volumes_clear(&v);
		du_images_clear(&d);
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	if (!verbose)
		rc = print_summary(u, &v, &fmt, &err) < 0 ? cmd_report(err, EXIT_ERR) : EXIT_OK;
	else if (fmt.kind == CMD_FORMAT_JSON)
		print_verbose_json(&d, u, &v);
	else
		print_verbose(&d, u, &v);
	lc_usage_free(u);
	du_volumes_clear(&v);
	du_images_clear(&d);
	lc_store_close(s);
	return rc;
}
