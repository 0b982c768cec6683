/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "cmd.h"

static const char volume_usage[] =
	"Usage:  layerctl volume COMMAND\n"
	"\n"
	"Manage named volumes (directories in the store that outlive containers).\n"
	"\n"
	"Commands:\n"
	"  create NAME     create a volume\n"
	"  ls              list volumes (-q: names only)\n"
	"  rm NAME...      remove volumes no container uses\n";

/* the container (any, running or not) whose spec mounts volume name, or NULL */
static char *volume_user(struct lc_store *s, const char *name)
{
	cleanup_strv char **ids = NULL;
	struct lc_err *e = NULL;
	char *user = NULL;

	if (lc_store_container_list(s, &ids, &e) < 0) {
		lc_err_free(e);
		return NULL;
	}
	for (size_t i = 0; ids[i] && !user; i++) {
		struct ctr_spec sp = { 0 };

		if (ctr_spec_read(s, ids[i], &sp, &e) == 0)
			for (size_t j = 0; sp.volumes && sp.volumes[j] && !user; j++)
				if (!strcmp(sp.volumes[j], name))
					user = lc_xstrdup(ids[i]);
		lc_err_free(e);
		e = NULL;
		ctr_spec_clear(&sp);
	}
	return user;
}

int cmd_volume(int argc, char **argv, const struct lc_global *g)
{
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc = EXIT_OK;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(volume_usage, sub ? stdout : stderr);
		return sub ? EXIT_OK : EXIT_USAGE;
	}
	if (strcmp(sub, "create") && strcmp(sub, "ls") && strcmp(sub, "rm"))
		return cmd_usage_error("volume", "unknown command '%s'", sub);
	if (!strcmp(sub, "create") && argc != 3)
		return cmd_usage_error("volume create", "\"volume create\" requires 1 argument");
	if (!strcmp(sub, "rm") && argc < 3)
		return cmd_usage_error("volume rm", "\"volume rm\" requires at least 1 argument");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (!strcmp(sub, "create")) {
		cleanup_free char *path = NULL;

		if (lc_store_volume_path(s, argv[2], true, &path, &err) < 0)
			rc = cmd_report(err, EXIT_ERR);
		else
			printf("%s\n", argv[2]);
	} else if (!strcmp(sub, "ls")) {
		cleanup_strv char **names = NULL;
		bool quiet = argc > 2 && !strcmp(argv[2], "-q");

		if (lc_store_volume_list(s, &names, &err) < 0) {
			rc = cmd_report(err, EXIT_ERR);
		} else {
			if (!quiet)
				printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
			for (size_t i = 0; names[i]; i++)
				printf(quiet ? "%.0s%s\n" : "%-10s%s\n", "local", names[i]);
		}
	} else {
		for (int i = 2; i < argc; i++) {
			cleanup_free char *user = volume_user(s, argv[i]);

			if (user) {
				lc_err_set(&err, LC_ERR_EXISTS, 0,
					   "remove %s: volume is in use - [%s]", argv[i], user);
				rc = cmd_report(err, EXIT_ERR);
				err = NULL;
			} else if (lc_store_volume_remove(s, argv[i], &err) < 0) {
				rc = cmd_report(err, EXIT_ERR);
				err = NULL;
			} else {
				printf("%s\n", argv[i]);
			}
		}
	}
	lc_store_close(s);
	return rc;
}
