/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char exec_usage[] =
	"Usage:  layerctl exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
	"\n"
	"Run a command in a running container: in all its namespaces and cgroups, with the same\n"
	"capabilities, seccomp filter and no_new_privs as its own command.\n"
	"\n"
	"Options:\n"
	"  -e, --env list       set environment variables\n"
	"  -i, --interactive    keep STDIN attached\n"
	"  -t, --tty            allocate a pseudo-TTY\n"
	"  -u, --user string    user name or uid[:gid] (default: the container's)\n"
	"  -w, --workdir string working directory inside the container (default: the container's)\n"
	"  -h, --help           print this help\n";

int cmd_exec(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_launch_cfg cfg = { 0 };
	cleanup_free struct lc_rlimit *rlimits = NULL;
	size_t n_rl;
	cleanup_strv char **overrides = NULL, **env = NULL;
	cleanup_free char *id = NULL;
	const char *user = NULL, *workdir = NULL;
	struct ctr_spec sp = { 0 };
	struct ctr_state st;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	cleanup_free char *seccomp_cache = NULL;
	int c, status = 0, r;

	while ((c = getopt_long(argc, argv, "+:e:itu:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			lc_strv_push(&overrides, optarg);
			break;
		case 'i':
			cfg.interactive = true;
			break;
		case 't':
			cfg.tty = true;
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			workdir = optarg;
			break;
		case 'h':
			fputs(exec_usage, stdout);
			return EXIT_OK;
		default:
			cmd_bad_flag(exec_usage, argv, c);
			return EXIT_RUN_FAILED;
		}
	}
	if (optind + 2 > argc) /* docker's: 1, not 125 */
		return cmd_usage_error(exec_usage, "'layerctl exec' requires at least 2 arguments");
	if (cfg.tty && cfg.interactive && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "layerctl: exec: the input device is not a TTY\n");
		return EXIT_RUN_FAILED;
	}
	if (cmd_store_open(g, &s, &err) < 0 || ctr_find(s, argv[optind], &id, &err) < 0 ||
	    ctr_state_read(s, id, &st, &err) < 0 || ctr_spec_read(s, id, &sp, &err) < 0)
		goto fail;
	if (!ctr_running(&st)) {
		lc_err_set(&err, LC_ERR_INVALID, 0, "container %s is not running", argv[optind]);
		goto fail;
	}
	env = ctr_build_env(sp.env, overrides);
	cfg.join_pid = st.pid;
	cfg.cgroup_id = id;
	cfg.argv = argv + optind + 1;
	cfg.env = env;
	cfg.cwd = workdir ? workdir : (sp.cwd && *sp.cwd ? sp.cwd : "/");
	cfg.user = user ? user : (sp.user && *sp.user ? sp.user : NULL);
	cfg.hostname = sp.hostname && *sp.hostname ? sp.hostname : NULL;
	cfg.no_seccomp = sp.no_seccomp;
	cfg.caps_set = true;
	cfg.caps = sp.caps;
	/* the container's --security-opt and --ulimit, as its own command got them */
	cfg.no_new_privs = sp.no_new_privs;
	cfg.seccomp_profile = sp.seccomp_profile;
	cfg.seccomp_cache = seccomp_cache = lc_xasprintf("%s/seccomp", lc_store_root(s));
	n_rl = lc_strv_len(sp.ulimits);
	rlimits = lc_xcalloc(n_rl + 1, sizeof(*rlimits));
	for (size_t i = 0; i < n_rl; i++)
		if (lc_ulimit_parse(sp.ulimits[i], &rlimits[i], &err) < 0)
			goto fail;
	cfg.rlimits = rlimits;
	cfg.n_rlimits = n_rl;
	r = lc_launch(&cfg, &status, &err);
	/* the container's init may have gone meanwhile: say that, not what setns saw */
	if (r < 0 && ctr_pid_start(st.pid) != st.pid_start) {
		lc_err_free(err);
		err = NULL;
		lc_err_set(&err, LC_ERR_INVALID, 0, "container %s is not running", argv[optind]);
	}
	ctr_spec_clear(&sp);
	lc_store_close(s);
	if (r < 0) {
		int code = err->code == LC_ERR_NOEXEC ? EXIT_RUN_NOT_FOUND
			   : err->code == LC_ERR_EXEC ? EXIT_RUN_CANNOT_EXEC
						      : EXIT_RUN_FAILED;

		return cmd_report(err, code);
	}
	return status;
fail:
	ctr_spec_clear(&sp);
	lc_store_close(s);
	return cmd_report(err, err && err->code == LC_ERR_NOTFOUND ? EXIT_ERR : EXIT_RUN_FAILED);
}
