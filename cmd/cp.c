/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char cp_usage[] =
	"Usage:  layerctl cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
	"        layerctl cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n"
	"\n"
	"Copy files/folders between a container (running or not) and the local filesystem.\n"
	"\n"
	"Use '-' as the source to read a tar archive from stdin and extract it to a directory\n"
	"destination in a container. Use '-' as the destination to stream a tar archive of a\n"
	"container source to stdout. Paths in the container are resolved inside its root (its\n"
	"symlinks never lead out); symlinks below SRC_PATH are copied as symlinks; device nodes\n"
	"and sockets are skipped.\n"
	"\n"
	"Options:\n"
	"  -a, --archive       archive mode (copy all uid/gid information, and setuid/setgid\n"
	"                      bits, which are dropped otherwise)\n"
	"  -L, --follow-link   always follow symbol link in SRC_PATH\n"
	"  -q, --quiet         suppress progress output (there is none)\n"
	"  -h, --help          print this help\n";

/* docker's splitCpArg: a local path is absolute, has no ':', or starts with '.' before it */
static char *split_arg(const char *arg, const char **ret_path)
{
	const char *colon = strchr(arg, ':');

	*ret_path = arg;
	if (arg[0] == '/' || !colon || arg[0] == '.')
		return NULL;
	*ret_path = colon + 1;
	return lc_xstrndup(arg, (size_t)(colon - arg));
}

static void warn_skipped(void *arg, const char *path, const char *why)
{
	cleanup_free char *esc = lc_escape_ctl(path);

	(void)arg;
	fprintf(stderr, "layerctl: cp: skipping '%s': %s\n", esc, why);
}

/* The container does not run and we hold its lock: its overlay, mounted for the copy only. */
static int cp_stopped(struct lc_store *s, const char *id, const struct lc_cp_end *src,
		      const struct lc_cp_end *dst, const struct lc_cp_opts *o, struct lc_err **err)
{
	struct lc_container_config *cfg = NULL;
	cleanup_free char *cdir = lc_xasprintf("%s/containers/%s", lc_store_root(s), id);
	int r;

	if (lc_store_container_config_read(s, id, &cfg, err) < 0)
		return -1;
	r = lc_cp_stopped(s, (const char *const *)cfg->layers, cfg->n_layers, cdir, src, dst, o,
			  err);
	lc_container_config_free(cfg);
	return r;
}

/* It runs: its root as its init sees it (volumes, tmpfs and all), checked to be that init's. */
static int cp_running(const struct ctr_state *st, const char *name, const struct lc_cp_end *src,
		      const struct lc_cp_end *dst, const struct lc_cp_opts *o, struct lc_err **err)
{
	cleanup_close int rootfd = -1;

	if (lc_cp_root_of_pid(st->pid, &rootfd, err) < 0 || ctr_pid_start(st->pid) != st->pid_start)
		return *err ? -1
			    : lc_err_set(err, LC_ERR_INVALID, 0, "container %s is not running",
					 name);
	return lc_cp(rootfd, src, dst, o, err);
}

int cmd_cp(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "archive", no_argument, NULL, 'a' },
		{ "follow-link", no_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_cp_opts o = { .skipped = warn_skipped };
	struct lc_cp_end src = { 0 }, dst = { 0 };
	cleanup_free char *sctr = NULL, *dctr = NULL, *id = NULL;
	cleanup_close int lockfd = -1;
	const char *spath, *dpath, *name;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct ctr_state st;
	int c, r;

	while ((c = getopt_long(argc, argv, "+:aLqh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.archive = true;
			break;
		case 'L':
			o.follow = true;
			break;
		case 'q':
			break;
		case 'h':
			fputs(cp_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(cp_usage, argv, c);
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error(cp_usage, "'layerctl cp' requires exactly 2 arguments");
	sctr = split_arg(argv[optind], &spath);
	dctr = split_arg(argv[optind + 1], &dpath);
	if (sctr && dctr)
		return cmd_usage_error(cp_usage, "copying between containers is not supported");
	if (!sctr && !dctr)
		return cmd_usage_error(cp_usage, "must specify at least one container source");
	if ((sctr && !*sctr) || (dctr && !*dctr) || !*spath || !*dpath)
		return cmd_usage_error(cp_usage, "empty container name or path in '%s'",
				       sctr ? argv[optind] : argv[optind + 1]);
	src = (struct lc_cp_end){ .in_container = sctr != NULL,
				  .path = !sctr && !strcmp(spath, "-") ? NULL : spath };
	dst = (struct lc_cp_end){ .in_container = dctr != NULL,
				  .path = !dctr && !strcmp(dpath, "-") ? NULL : dpath };
	name = sctr ? sctr : dctr;
	if (!dst.path && isatty(STDOUT_FILENO))
		return cmd_usage_error(cp_usage, "refusing to write a tar stream to a terminal");

	if (cmd_store_open(g, &s, &err) < 0 || ctr_find(s, name, &id, &err) < 0)
		goto out;
	/*
	 * Whoever runs (or starts, or removes) a container holds its lock: with it, the
	 * container stays stopped while its overlay is mounted for us; without it, it runs.
	 */
	lockfd = lc_store_container_trylock(s, id, &err);
	if (lockfd >= 0) {
		r = cp_stopped(s, id, &src, &dst, &o, &err);
		goto done;
	}
	if (err->code != LC_ERR_EXISTS)
		goto out;
	lc_err_free(err);
	err = NULL;
	if (ctr_state_read(s, id, &st, &err) < 0)
		goto out;
	if (!ctr_running(&st)) {
		lc_err_set(&err, LC_ERR_EXISTS, 0,
			   "container %s is busy (being started or removed): try again", name);
		goto out;
	}
	r = cp_running(&st, name, &src, &dst, &o, &err);
done:
	if (r == 0) {
		lc_store_close(s);
		return EXIT_OK;
	}
out:
	lc_store_close(s);
	lc_err_prefix(&err, "cp");
	return cmd_report(err, EXIT_ERR);
}
