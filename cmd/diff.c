/* SPDX-License-Identifier: MIT */
/*
 * diff: what a container changed in its filesystem, as `docker diff` prints it: A (added),
 * C (changed), D (deleted), read from the container's upper dir, its writable layer.
 */
#include <getopt.h>
#include <string.h>

#include "cmd.h"

static const char diff_usage[] =
	"Usage:  layerctl diff CONTAINER\n"
	"\n"
	"Inspect changes to files or directories on a container's filesystem: its overlay upper\n"
	"dir against the image's layers. A: added, C: changed (a dir that holds a change, or an\n"
	"opaque dir that hides the image's), D: deleted (an overlay whiteout).\n"
	"\n"
	"Options:\n"
	"  -h, --help   print this help\n";

int cmd_diff(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_container_config *cc = NULL;
	struct lc_diff_entry *v = NULL;
	cleanup_free char *id = NULL;
	size_t n = 0;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(diff_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(diff_usage, argv, c);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error(diff_usage, "'layerctl diff' requires exactly 1 argument");
	if (cmd_store_open(g, &s, &err) < 0 || ctr_find(s, argv[optind], &id, &err) < 0 ||
	    lc_store_container_config_read(s, id, &cc, &err) < 0 ||
	    lc_store_container_diff(s, id, cc->layers, &v, &n, &err) < 0) {
		lc_container_config_free(cc);
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *path = lc_escape_ctl(v[i].path);

		printf("%c %s\n", v[i].kind, path);
	}
	lc_diff_free(v, n);
	lc_container_config_free(cc);
	lc_store_close(s);
	return EXIT_OK;
}
