/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>

#include "cmd.h"

static const char wait_usage[] =
	"Usage:  layerctl wait CONTAINER [CONTAINER...]\n"
	"\n"
	"Block until one or more containers stop, then print their exit codes.\n";

int cmd_wait(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(wait_usage, stdout);
			return EXIT_OK;
		}
		return cmd_bad_flag("wait", argv, c);
	}
	if (optind >= argc)
		return cmd_usage_error("wait", "\"wait\" requires at least 1 argument");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	for (int i = optind; i < argc; i++) {
		cleanup_free char *id = NULL;
		struct ctr_state st;

		if (ctr_find(s, argv[i], &id, &err) < 0 ||
		    ctr_wait_exit(s, id, -1, &st, &err) < 0) {
			rc = cmd_report(err, EXIT_ERR);
			err = NULL;
			continue;
		}
		printf("%d\n", st.exit_code);
		fflush(stdout);
	}
	lc_store_close(s);
	return rc;
}
