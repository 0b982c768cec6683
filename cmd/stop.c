/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char stop_usage[] =
	"Usage:  layerctl stop [OPTIONS] CONTAINER [CONTAINER...]\n"
	"\n"
	"Stop running containers: the image's StopSignal (SIGTERM by default), then SIGKILL\n"
	"after the grace period.\n"
	"\n"
	"Options:\n"
	"  -s, --signal string  signal to send to the container\n"
	"  -t, --time int       seconds to wait before killing the container (default 10)\n"
	"  -h, --help           print this help\n";

int ctr_stop(struct lc_store *s, const char *id, int sig, long secs, struct lc_err **err)
{
	struct ctr_state st;
	struct ctr_spec sp = { 0 };
	int r;

	if (ctr_state_read(s, id, &st, err) < 0)
		return -1;
	if (!ctr_running(&st))
		return 0; /* docker: stopping a stopped container is fine */
	if (sig <= 0 && ctr_spec_read(s, id, &sp, err) == 0)
		sig = ctr_signal_number(sp.stop_signal);
	ctr_spec_clear(&sp);
	if (*err) {
		lc_err_free(*err);
		*err = NULL;
	}
	if (sig <= 0)
		sig = SIGTERM;
	if (ctr_signal(&st, sig, err) < 0)
		return -1;
	r = ctr_wait_exit(s, id, secs < 0 ? -1 : (int)(secs * 1000), &st, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	/* the grace period is over */
	if (ctr_signal(&st, SIGKILL, err) < 0) {
		lc_err_free(*err);
		*err = NULL;
	}
	return ctr_wait_exit(s, id, -1, &st, err) < 0 ? -1 : 0;
}

struct stop_args {
	int sig;
	long secs;
};

static int stop_each(struct lc_store *s, const char *id, const char *name, void *arg,
		     struct lc_err **err)
{
	const struct stop_args *a = arg;

	(void)name;
	return ctr_stop(s, id, a->sig, a->secs, err);
}

int cmd_stop(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long secs = 10;
	int c, sig = 0;

	while ((c = getopt_long(argc, argv, ":s:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = ctr_signal_number(optarg);
			if (sig <= 0)
				return cmd_usage_error(stop_usage, "invalid signal: %s", optarg);
			break;
		case 't': {
			char *end;

			secs = strtol(optarg, &end, 10);
			if (*end || !*optarg)
				return cmd_flag_error(stop_usage, "invalid --time '%s'", optarg);
			break;
		}
		case 'h':
			fputs(stop_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(stop_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(stop_usage, "'layerctl stop' requires at least 1 argument");
	return ctr_each(g, argv + optind, argc - optind, stop_each,
			&(struct stop_args){ sig, secs }, true);
}
