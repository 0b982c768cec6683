/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <string.h>

#include "cmd.h"

static const char pull_usage[] =
	"Usage:  layerctl pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
	"\n"
	"Download an image from a registry into the store. Layers already in the store are not\n"
	"downloaded again.\n"
	"\n"
	"Options:\n"
	"      --platform string   pull this platform (os/arch[/variant], or just the arch:\n"
	"                          arm64), default the host's\n"
	"      --insecure          allow plain HTTP and unverified TLS to non-loopback registries\n"
	"      --max-concurrent-downloads N   layers downloaded at once (default 3)\n"
	"      --retry-max-time SECONDS   keep retrying a failed request (429, 5xx, reset) for\n"
	"                          this long in all, with backoff (default 30; 0: never)\n"
	"      --max-layer-size SIZE          unpacked bytes of one layer (default 64g)\n"
	"      --max-image-size SIZE          unpacked bytes of the layers pulled (default 64g)\n"
	"      --max-layer-entries N          tar entries of one layer (default 1000000)\n"
	"      --max-compression-ratio N      how far one layer may inflate (default 1000)\n"
	"  -q, --quiet             print only the image name\n"
	"  -h, --help              print this help\n"
	"\n"
	"Every bound on what a pull reads: 'layerctl help limits'.\n";

struct layer_line {
	char id[13];
	char status[160];
};

/* Draws docker pull's per-layer lines: redrawn in place on a terminal, plain lines otherwise. */
struct progress {
	FILE *out;
	bool tty, quiet;
	char *header; /* "<tag>: Pulling from <path>", printed once the name resolved */
	struct layer_line *lines;
	size_t n_lines;
	size_t *line_of; /* layer index -> line + 1 */
	size_t n_layers;
	int64_t downloaded; /* compressed bytes of the layers fetched */
	size_t n_present, n_fetched;
};

static size_t line_for(struct progress *p, const struct lc_pull_progress *e)
{
	size_t i;

	if (e->index >= p->n_layers) {
		size_t n = e->index + 1;

		p->line_of = lc_xrealloc(p->line_of, n * sizeof(*p->line_of));
		memset(p->line_of + p->n_layers, 0, (n - p->n_layers) * sizeof(*p->line_of));
		p->n_layers = n;
	}
	if (p->line_of[e->index])
		return p->line_of[e->index] - 1;
	i = p->n_lines++;
	p->lines = lc_xrealloc(p->lines, p->n_lines * sizeof(*p->lines));
	memset(&p->lines[i], 0, sizeof(p->lines[i]));
	/* id = first 12 hex of the compressed layer digest, as docker shows */
	snprintf(p->lines[i].id, sizeof(p->lines[i].id), "%.12s",
		 e->digest && strlen(e->digest) > 7 ? e->digest + 7 : "unknown");
	p->line_of[e->index] = i + 1;
	if (p->tty)
		fputc('\n', p->out); /* reserve the line */
	return i;
}

static void bar(char *out, size_t outsz, int64_t cur, int64_t total)
{
	char a[16], b[16], fill[51];
	int width = 50, n;

	lc_human_size((uint64_t)(cur > 0 ? cur : 0), a, sizeof(a));
	lc_human_size((uint64_t)(total > 0 ? total : 0), b, sizeof(b));
	n = total > 0 ? (int)(cur * width / total) : 0;
	if (n > width)
		n = width;
	memset(fill, '=', (size_t)n);
	if (n > 0 && n < width)
		fill[n - 1] = '>';
	fill[n] = '\0';
	snprintf(out, outsz, "Downloading [%-50s] %s/%s", fill, a, b);
}

static void on_progress(const struct lc_pull_progress *e, void *data)
{
	struct progress *p = data;
	size_t i;
	struct layer_line *l;

	if (e->event == LC_PULL_LAYER_EXISTS)
		p->n_present++;
	if (e->event == LC_PULL_LAYER_DONE) {
		p->n_fetched++;
		p->downloaded += e->total > 0 ? e->total : 0;
	}
	if (p->quiet)
		return;
	if (p->header) {
		/* like docker: nothing about layers until the registry answered */
		fprintf(p->out, "%s\n", p->header);
		p->header = (free(p->header), NULL);
	}
	if (e->event == LC_PULL_RESOLVED) {
		fflush(p->out);
		return;
	}
	if (e->event == LC_PULL_NOTE || e->event == LC_PULL_WARNING) {
		/* a warning goes to stderr, as docker's */
		fflush(p->out);
		fprintf(e->event == LC_PULL_WARNING ? stderr : p->out, "%s%s\n",
			e->event == LC_PULL_WARNING ? "Warning: " : "", e->message);
		fflush(e->event == LC_PULL_WARNING ? stderr : p->out);
		return;
	}
	i = line_for(p, e);
	l = &p->lines[i];
	switch (e->event) {
	case LC_PULL_LAYER_EXISTS:
		snprintf(l->status, sizeof(l->status), "Already exists");
		break;
	case LC_PULL_LAYER_WAITING:
		snprintf(l->status, sizeof(l->status), "Pulling fs layer");
		break;
	case LC_PULL_LAYER_PROGRESS:
		if (!p->tty)
			return; /* plain output: state changes only */
		bar(l->status, sizeof(l->status), e->current, e->total);
		break;
	case LC_PULL_LAYER_VERIFYING:
		snprintf(l->status, sizeof(l->status), "Verifying Checksum");
		break;
	case LC_PULL_LAYER_DONE:
		snprintf(l->status, sizeof(l->status), "Pull complete");
		break;
	default:
		return;
	}
	if (p->tty) {
		size_t up = p->n_lines - i;

		fprintf(p->out, "\033[%zuA\r\033[2K%s: %s\033[%zuB\r", up, l->id, l->status, up);
	} else {
		fprintf(p->out, "%s: %s\n", l->id, l->status);
	}
	fflush(p->out);
}

/* "8.7 MB": docker's size with a space before the unit, for a sentence */
static void size_words(int64_t bytes, char *out, size_t outsz)
{
	char h[32];
	size_t n;

	lc_human_size(bytes > 0 ? (uint64_t)bytes : 0, h, sizeof(h));
	n = strspn(h, "0123456789.");
	snprintf(out, outsz, "%.*s %s", (int)n, h, h + n);
}

/*
 * The lesson in numbers, on stderr after Status: what came over the network against what
 * the image takes unpacked, and how many layers the store already had.
 */
static void tell_the_story(struct lc_store *s, const char *name, const struct progress *p)
{
	struct cmd_image im = { 0 };
	struct lc_err *e = NULL;
	char got[32], size[32];
	size_t n = p->n_present + p->n_fetched;

	if (cmd_image_load(s, name, &im, &e) < 0) {
		lc_err_free(e);
		return;
	}
	size_words(p->downloaded, got, sizeof(got));
	size_words(cmd_image_size(s, &im), size, sizeof(size));
	fprintf(stderr, "downloaded %s for a %s image; %zu of %zu layer%s already here\n", got,
		size, p->n_present, n, n == 1 ? " was" : "s were");
	cmd_image_clear(&im);
}

/* "nginx" and "host:5000/a" have no tag of their own: docker says it uses latest. */
static bool has_explicit_tag(const char *name)
{
	const char *slash = strrchr(name, '/');

	return strchr(name, '@') || strchr(slash ? slash + 1 : name, ':');
}

int cmd_pull_ref(struct lc_store *s, const struct lc_ref *ref, const struct lc_pull_opts *base,
		 FILE *out, bool quiet, struct lc_err **err)
{
	struct progress p = { .out = out, .tty = isatty(fileno(out)), .quiet = quiet };
	struct lc_pull_opts o = *base;
	struct lc_pull_result res = { 0 };
	cleanup_free char *fam = lc_ref_familiar(ref);
	cleanup_free char *full = lc_ref_string(ref);
	int r;

	p.header = lc_xasprintf("%s: Pulling from %s", ref->digest ? ref->digest : ref->tag,
				ref->path);
	o.progress = on_progress;
	o.progress_data = &p;
	r = lc_fetch_pull(s, ref, &o, &res, err);
	free(p.header);
	free(p.lines);
	free(p.line_of);
	if (r < 0)
		return -1;
	if (!quiet) {
		fprintf(out, "Digest: %s\n", res.digest);
		if (res.up_to_date)
			fprintf(out, "Status: Image is up to date for %s\n", fam);
		else
			fprintf(out, "Status: Downloaded newer image for %s\n", fam);
	}
	fprintf(out, "%s\n", full);
	fflush(out);
	if (!quiet)
		tell_the_story(s, full, &p);
	lc_pull_result_clear(&res);
	return 0;
}

int cmd_pull(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'P' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "max-concurrent-downloads", required_argument, NULL, 'M' },
		{ "retry-max-time", required_argument, NULL, 'R' },
		{ "max-layer-size", required_argument, NULL, 'L' },
		{ "max-image-size", required_argument, NULL, 'S' },
		{ "max-layer-entries", required_argument, NULL, 'E' },
		{ "max-compression-ratio", required_argument, NULL, 'C' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_pull_opts o = { 0 };
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct lc_ref *ref = NULL;
	bool quiet = false;
	int c, r;

	while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			o.platform = optarg;
			break;
		case 'I':
			o.insecure = true;
			break;
		case 'M': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 16)
				return cmd_flag_error(pull_usage,
						      "invalid --max-concurrent-downloads '%s' "
						      "(want 1 to 16)",
						      optarg);
			o.max_concurrent = (int)v;
			break;
		}
		case 'R': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 0 || v > 3600)
				return cmd_flag_error(
					pull_usage,
					"invalid --retry-max-time '%s' (want 0 to 3600 "
					"seconds)",
					optarg);
			o.retry_ms = v ? v * 1000 : -1;
			break;
		}
		case 'L':
		case 'S': {
			int64_t v;

			if (lc_parse_size(optarg, &v) < 0 || v <= 0)
				return cmd_flag_error(pull_usage,
						      "invalid --max-%s-size '%s' (want bytes "
						      "or 512m, 64g, 1t)",
						      c == 'L' ? "layer" : "image", optarg);
			*(c == 'L' ? &o.max_layer_size : &o.max_image_size) = (uint64_t)v;
			break;
		}
		case 'E':
		case 'C': {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] < '1' || optarg[0] > '9' ||
			    (c == 'C' && v > UINT32_MAX))
				return cmd_flag_error(
					pull_usage, "invalid --max-%s '%s' (want N > 0)",
					c == 'E' ? "layer-entries" : "compression-ratio", optarg);
			if (c == 'E')
				o.max_layer_entries = v;
			else
				o.max_ratio = (uint32_t)v;
			break;
		}
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(pull_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(pull_usage, argv, c);
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error(pull_usage, "'layerctl pull' requires exactly 1 argument");
	if (lc_ref_parse(argv[optind], &ref, &err) < 0) {
		lc_err_prefix(&err, "pull '%s'", argv[optind]);
		return cmd_report(err, EXIT_ERR);
	}
	if (cmd_store_open(g, &s, &err) < 0) {
		lc_ref_free(ref);
		return cmd_report(err, EXIT_ERR);
	}
	if (!quiet && !has_explicit_tag(argv[optind]))
		printf("Using default tag: latest\n");
	r = cmd_pull_ref(s, ref, &o, stdout, quiet, &err);
	lc_store_close(s);
	lc_ref_free(ref);
	if (r < 0) {
		lc_err_prefix(&err, "pull '%s'", argv[optind]);
		return cmd_report(err, EXIT_ERR);
	}
	return EXIT_OK;
}
