/* SPDX-License-Identifier: MIT */
/* system: docker's `system` group (df). */
#include <string.h>

#include "cmd.h"

static const char system_usage[] = "Usage:  layerctl system COMMAND\n"
				   "\n"
				   "Manage the store.\n"
				   "\n"
				   "Commands:\n"
				   "  df        Show the store's disk usage (as 'layerctl du')\n";

int cmd_system(int argc, char **argv, const struct lc_global *g)
{
	if (argc < 2) {
		fputs(system_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(system_usage, stdout);
		return EXIT_OK;
	}
	/* the subcommand sees argv[0] = its own name, as a verb does */
	if (!strcmp(argv[1], "df"))
		return cmd_du(argc - 1, argv + 1, g);
	return cmd_usage_error("system", "unknown command '%s'", argv[1]);
}
