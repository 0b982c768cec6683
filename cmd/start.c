/* SPDX-License-Identifier: MIT */
/*
 * cmd: start and restart. A container that exited runs again on its kept upper dir, with the
 * same id, name and options (run's, parsed again from its spec.json) under a new monitor.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char start_usage[] =
	"Usage:  layerctl start [OPTIONS] CONTAINER [CONTAINER...]\n"
	"\n"
	"Start one or more stopped containers (in the background, with the options they were\n"
	"run with; their output is appended to their log).\n"
	"\n"
	"Options:\n"
	"  -a, --attach   attach STDOUT/STDERR (the log from now on) until it exits, and exit\n"
	"                 with its status; signals layerctl gets go to the container (docker's\n"
	"                 --sig-proxy)\n"
	"  -h, --help     print this help\n";

static const char restart_usage[] =
	"Usage:  layerctl restart [OPTIONS] CONTAINER [CONTAINER...]\n"
	"\n"
	"Restart one or more containers: stop them (as stop does) and start them again.\n"
	"\n"
	"Options:\n"
	"  -t, --time int   seconds to wait for it to stop before killing it (default 10)\n"
	"  -h, --help       print this help\n";

static int start_each(struct lc_store *s, const char *id, const char *name, void *arg,
		      struct lc_err **err)
{
	(void)name;
	(void)arg;
	return ctr_start(s, id, err);
}

/* start -a's signal proxy: what layerctl gets goes to the container's init */
static volatile pid_t proxy_pid;

static void proxy_signal(int sig)
{
	if (proxy_pid > 0)
		kill(proxy_pid, sig);
}

static void proxy_signals(pid_t pid)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { .sa_handler = proxy_signal, .sa_flags = SA_RESTART };

	proxy_pid = pid;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < LC_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* start -a: start it, then its log from here on until it exits; its exit status is ours */
static int start_attached(const struct lc_global *g, const char *name)
{
	cleanup_free char *id = NULL;
	cleanup_close int fd = -1;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct ctr_state st;

	if (cmd_store_open(g, &s, &err) < 0 || ctr_find(s, name, &id, &err) < 0)
		goto fail;
	/* only what this run writes: the log is appended to */
	fd = lc_store_container_log_open(s, id, false, &err);
	if (fd < 0 && err->code != LC_ERR_NOTFOUND)
		goto fail;
	lc_err_free(err);
	err = NULL;
	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	if (ctr_start(s, id, &err) < 0)
		goto fail;
	if (fd < 0 && (fd = lc_store_container_log_open(s, id, false, &err)) < 0)
		goto fail;
	if (ctr_state_read(s, id, &st, &err) < 0)
		goto fail;
	if (ctr_running(&st))
		proxy_signals(st.pid);
	if (ctr_log_follow(s, id, fd, &err) < 0 || ctr_wait_exit_code(s, id, &st, &err) < 0)
		goto fail;
	lc_store_close(s);
	return st.exit_code;
fail:
	lc_store_close(s);
	return cmd_report(err, EXIT_ERR);
}

int cmd_start(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "attach", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool attach = false;
	int c;

	while ((c = getopt_long(argc, argv, ":ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			attach = true;
			break;
		case 'h':
			fputs(start_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(start_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(start_usage,
				       "'layerctl start' requires at least 1 argument");
	if (attach && argc - optind > 1)
		return cmd_usage_error(start_usage,
				       "you cannot start and attach multiple containers at once");
	if (attach)
		return start_attached(g, argv[optind]);
	return ctr_each(g, argv + optind, argc - optind, start_each, NULL, true);
}

static int restart_each(struct lc_store *s, const char *id, const char *name, void *arg,
			struct lc_err **err)
{
	struct ctr_spec sp = { 0 };
	bool rm = false;

	(void)name;
	if (ctr_spec_read(s, id, &sp, err) < 0)
		return -1;
	rm = sp.auto_remove;
	ctr_spec_clear(&sp);
	/*
	 * docker's: a --rm container restarts, it is not removed by the stop. Its monitor reads
	 * the mark when the container exits and keeps it; the start removes the mark.
	 */
	if (rm && lc_store_container_doc_write(s, id, CTR_RESTARTING, "1\n", err) < 0)
		return -1;
	if (ctr_stop(s, id, 0, *(long *)arg, err) < 0) {
		struct lc_err *e = NULL;

		if (rm && lc_store_container_doc_remove(s, id, CTR_RESTARTING, &e) < 0)
			lc_err_free(e);
		return -1;
	}
	return ctr_start(s, id, err);
}

int cmd_restart(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long secs = 10;
	int c;

	while ((c = getopt_long(argc, argv, ":t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;

			secs = strtol(optarg, &end, 10);
			if (*end || !*optarg)
				return cmd_flag_error(restart_usage, "invalid --time '%s'", optarg);
			break;
		}
		case 'h':
			fputs(restart_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(restart_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(restart_usage,
				       "'layerctl restart' requires at least 1 argument");
	return ctr_each(g, argv + optind, argc - optind, restart_each, &secs, true);
}
