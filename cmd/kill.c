/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "cmd.h"

static const char kill_usage[] =
	"Usage:  layerctl kill [OPTIONS] CONTAINER [CONTAINER...]\n"
	"\n"
	"Kill one or more running containers.\n"
	"\n"
	"Options:\n"
	"  -s, --signal string  signal to send to the container (default \"KILL\")\n"
	"  -h, --help           print this help\n";

int cmd_kill(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	int c, sig = SIGKILL, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = ctr_signal_number(optarg);
			if (sig <= 0)
				return cmd_usage_error("kill", "invalid signal: %s", optarg);
			break;
		case 'h':
			fputs(kill_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag("kill", argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error("kill", "\"kill\" requires at least 1 argument");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	for (int i = optind; i < argc; i++) {
		cleanup_free char *id = NULL;
		struct ctr_state st;

		if (ctr_find(s, argv[i], &id, &err) < 0 || ctr_state_read(s, id, &st, &err) < 0 ||
		    ctr_signal(&st, sig, &err) < 0) {
			lc_err_prefix(&err, "cannot kill container: %s", argv[i]);
			rc = cmd_report(err, EXIT_ERR);
			err = NULL;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	lc_store_close(s);
	return rc;
}
