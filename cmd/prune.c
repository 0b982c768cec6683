/* SPDX-License-Identifier: MIT */
/* image prune and system prune: docker's, over the store's images, containers and garbage. */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>

#include "cmd.h"

static const char image_prune_usage[] =
	"Usage:  layerctl image prune [OPTIONS]\n"
	"\n"
	"Remove dangling images (without a name) and what no image needs, and with -a every\n"
	"image no container uses.\n"
	"\n"
	"Options:\n"
	"  -a, --all     remove all images not used by a container\n"
	"  -f, --force   do not prompt for confirmation\n"
	"  -h, --help    print this help\n";

static const char system_prune_usage[] =
	"Usage:  layerctl system prune [OPTIONS]\n"
	"\n"
	"Remove containers that no longer run and unused images (with -a, every image no\n"
	"container uses), then what nothing reaches.\n"
	"\n"
	"Options:\n"
	"  -a, --all     remove all unused images, not just dangling ones\n"
	"  -f, --force   do not prompt for confirmation\n"
	"  -h, --help    print this help\n";

static bool confirm(const char *warning)
{
	char line[16];

	fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ", warning);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* Every image no container uses (only the dangling ones without all), removed with what only
 * it needed. */
static int prune_images(struct lc_store *s, bool all, int64_t *bytes, struct lc_err **err)
{
	struct lc_store_ref *refs = NULL;
	size_t n = 0;
	bool header = false;
	int r = 0;

	if (lc_store_ref_list(s, &refs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char cid[13];

		if (!refs[i].config || (!all && !cmd_dangling(refs[i].name)) ||
		    cmd_containers_using(s, refs[i].config, cid))
			continue;
		if (!header) {
			printf("Deleted Images:\n");
			header = true;
		}
		if (cmd_image_remove(s, refs[i].name, true, stdout, bytes, err) < 0) {
			r = -1;
			break;
		}
	}
	lc_store_ref_list_free(refs, n);
	if (header)
		printf("\n");
	return r;
}

/* Containers nobody runs any more (their layerctl is gone): unmounted and removed. */
static int prune_containers(struct lc_store *s, int64_t *bytes, struct lc_err **err)
{
	cleanup_strv char **ids = NULL;
	bool header = false;

	if (lc_store_container_list_stale(s, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_free char *dir = lc_xasprintf("%s/containers/%s", lc_store_root(s), ids[i]);
		cleanup_free char *upper = lc_xasprintf("%s/upper", dir);
		int64_t b = 0;

		lc_store_tree_bytes_at(AT_FDCWD, upper, &b, NULL);
		if (lc_overlay_umount(dir, err) < 0 ||
		    lc_store_container_remove(s, ids[i], err) < 0)
			return -1;
		if (!header) {
			printf("Deleted Containers:\n");
			header = true;
		}
		printf("%s\n", ids[i]);
		*bytes += b;
	}
	if (header)
		printf("\n");
	return 0;
}

static int prune(int argc, char **argv, const struct lc_global *g, bool system)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb = system ? "system prune" : "image prune";
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_gc_result res = { 0 };
	bool all = false, force = false;
	int64_t bytes = 0;
	char h[32];
	int c;

	while ((c = getopt_long(argc, argv, ":afh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			fputs(system ? system_prune_usage : image_prune_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(system ? system_prune_usage : image_prune_usage, argv,
					    c);
		}
	}
	if (optind != argc)
		return cmd_usage_error(system ? system_prune_usage : image_prune_usage,
				       "'layerctl %s' accepts no arguments", verb);
	if (!force &&
	    !confirm(system ? (all ? "WARNING! This will remove:\n  - all stopped containers\n  - "
				     "all images without at least one container associated to them"
				   : "WARNING! This will remove:\n  - all stopped containers\n  - "
				     "all dangling images")
			    : (all ? "WARNING! This will remove all images without at least one "
				     "container associated to them."
				   : "WARNING! This will remove all dangling images.")))
		return EXIT_OK;
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if ((system && prune_containers(s, &bytes, &err) < 0) ||
	    prune_images(s, all, &bytes, &err) < 0 || lc_store_gc(s, NULL, &res, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	cmd_print_gc(&res, stdout);
	bytes += res.bytes;
	lc_human_size((uint64_t)bytes, h, sizeof(h));
	printf("Total reclaimed space: %s\n", h);
	lc_gc_result_clear(&res);
	lc_store_close(s);
	return EXIT_OK;
}

int cmd_image_prune(int argc, char **argv, const struct lc_global *g)
{
	return prune(argc, argv, g, false);
}

int cmd_system_prune(int argc, char **argv, const struct lc_global *g)
{
	return prune(argc, argv, g, true);
}
