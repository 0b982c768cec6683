/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "cmd.h"

static const char rm_usage[] =
	"Usage:  layerctl rm [OPTIONS] CONTAINER [CONTAINER...]\n"
	"\n"
	"Remove one or more containers (their writable layer goes with them).\n"
	"\n"
	"Options:\n"
	"  -f, --force     force the removal of a running container (uses SIGKILL)\n"
	"  -v, --volumes   accepted for docker's sake: layerctl has no volumes yet\n"
	"  -h, --help      print this help\n";

static int rm_one(struct lc_store *s, const char *id, const char *arg, void *forcep,
		  struct lc_err **err)
{
	cleanup_free char *dir = NULL;
	bool force = *(bool *)forcep;
	struct ctr_state st;

	if (ctr_state_read(s, id, &st, err) < 0) {
		/* no state: being set up by a run right now, or a --rm one */
		if ((*err)->code != LC_ERR_NOTFOUND)
			return -1;
		lc_err_free(*err);
		*err = NULL;
		st = (struct ctr_state){ .status = "created" };
	}
	if (ctr_running(&st)) {
		if (!force)
			return lc_err_set(err, LC_ERR_EXISTS, 0,
					  "cannot remove container \"%s\": container is running: "
					  "stop the container before removing or force remove",
					  arg);
		if (ctr_signal(&st, SIGKILL, err) < 0)
			return -1;
	}
	/* its monitor (or run) unmounts it and drops its cgroup, then lets go of it */
	if (ctr_wait_exit(s, id, force ? -1 : 0, &st, err) < 0)
		return -1;
	if (!strcmp(st.status, "removed"))
		return 0; /* an --rm container: its monitor removed it once it died */
	/*
	 * Ours from here to its removal. Gone meanwhile: the monitor of an --rm container moved
	 * it to trash after the wait last looked (and holds it there until it is deleted).
	 */
	if (lc_store_container_take(s, id, err) < 0) {
		if ((*err)->code == LC_ERR_NOTFOUND) {
			lc_err_free(*err);
			*err = NULL;
			return 0;
		}
		if ((*err)->code != LC_ERR_EXISTS)
			return -1;
		lc_err_free(*err);
		*err = NULL;
		return lc_err_set(err, LC_ERR_EXISTS, 0,
				  "cannot remove container \"%s\": it is being started or run",
				  arg);
	}
	dir = lc_xasprintf("%s/containers/%s", lc_store_root(s), id);
	if (lc_overlay_umount(dir, err) < 0 || lc_store_container_remove(s, id, err) < 0) {
		lc_store_container_release(s, id);
		return -1;
	}
	lc_trace("removed '%s': its upper dir (the writable layer), work dir and files", dir);
	return 0;
}

int cmd_rm(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "volumes", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, ":fvh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'v':
			break;
		case 'h':
			fputs(rm_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(rm_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(rm_usage, "'layerctl rm' requires at least 1 argument");
	return ctr_each(g, argv + optind, argc - optind, rm_one, &force, true);
}
