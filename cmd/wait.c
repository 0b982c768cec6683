/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>

#include "cmd.h"

static const char wait_usage[] =
	"Usage:  layerctl wait CONTAINER [CONTAINER...]\n"
	"\n"
	"Block until one or more containers stop, then print their exit codes.\n";

static int wait_one(struct lc_store *s, const char *id, const char *name, void *arg,
		    struct lc_err **err)
{
	struct ctr_state st;

	(void)name;
	(void)arg;
	if (ctr_wait_exit_code(s, id, &st, err) < 0)
		return -1;
	if (!strcmp(st.status, "removed"))
		return lc_err_set(err, LC_ERR_NOTFOUND, 0,
				  "container %.12s exited and was removed (--rm): its exit code is "
				  "gone with it",
				  id);
	printf("%d\n", st.exit_code);
	return 0;
}

int cmd_wait(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(wait_usage, stdout);
			return EXIT_OK;
		}
		return cmd_bad_flag(wait_usage, argv, c);
	}
	if (optind >= argc)
		return cmd_usage_error(wait_usage, "'layerctl wait' requires at least 1 argument");
	return ctr_each(g, argv + optind, argc - optind, wait_one, NULL, false);
}
