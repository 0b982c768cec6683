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

static int kill_one(struct lc_store *s, const char *id, const char *name, void *arg,
		    struct lc_err **err)
{
	struct ctr_state st;

	if (ctr_state_read(s, id, &st, err) < 0 || ctr_signal(&st, *(int *)arg, err) < 0)
		return lc_err_prefix(err, "cannot kill container: %s", name);
	return 0;
}

int cmd_kill(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, sig = SIGKILL;

	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = ctr_signal_number(optarg);
			if (sig <= 0)
				return cmd_usage_error(kill_usage, "invalid signal: %s", optarg);
			break;
		case 'h':
			fputs(kill_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(kill_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(kill_usage, "'layerctl kill' requires at least 1 argument");
	return ctr_each(g, argv + optind, argc - optind, kill_one, &sig, true);
}
