/* SPDX-License-Identifier: MIT */
/* docker's command groups: `system` (df, prune) and `image` (ls, rm, tag, inspect, history, prune). */
#include <string.h>

#include "cmd.h"

struct sub {
	const char *name;
	int (*fn)(int argc, char **argv, const struct lc_global *g);
};

static const char system_usage[] = "Usage:  layerctl system COMMAND\n"
				   "\n"
				   "Manage the store.\n"
				   "\n"
				   "Commands:\n"
				   "  df        Show the store's disk usage (as 'layerctl du')\n"
				   "  prune     Remove stopped containers and unused images\n";

static const char image_usage[] =
	"Usage:  layerctl image COMMAND\n"
	"\n"
	"Manage images.\n"
	"\n"
	"Commands:\n"
	"  history   Show the history of an image\n"
	"  inspect   Display detailed information on one or more images\n"
	"  ls        List images\n"
	"  prune     Remove unused images\n"
	"  rm        Remove one or more images\n"
	"  tag       Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n";

static int group(const char *verb, const char *usage, const struct sub *subs, size_t n, int argc,
		 char **argv, const struct lc_global *g)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	/* the subcommand sees argv[0] = its own name, as a verb does */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1, g);
	return cmd_unknown_command(verb, argv[1]);
}

int cmd_system(int argc, char **argv, const struct lc_global *g)
{
	static const struct sub subs[] = { { "df", cmd_du }, { "prune", cmd_system_prune } };

	return group("system", system_usage, subs, LC_ARRAY_SIZE(subs), argc, argv, g);
}

int cmd_image(int argc, char **argv, const struct lc_global *g)
{
	static const struct sub subs[] = {
		{ "history", cmd_history }, { "inspect", cmd_image_inspect }, { "ls", cmd_images },
		{ "list", cmd_images },	    { "prune", cmd_image_prune },     { "rm", cmd_rmi },
		{ "tag", cmd_tag },
	};

	return group("image", image_usage, subs, LC_ARRAY_SIZE(subs), argc, argv, g);
}
