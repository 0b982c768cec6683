/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "cmd.h"

static const char volume_usage[] =
	"Usage:  layerctl volume COMMAND\n"
	"\n"
	"Manage named volumes (directories in the store that outlive containers).\n"
	"\n"
	"Commands:\n"
	"  create NAME     create a volume\n"
	"  ls              list volumes (-q: names only; --format table, json or a\n"
	"                  Go template: '{{.Name}} {{.Mountpoint}}')\n"
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

static const char volume_ls_usage[] =
	"Usage:  layerctl volume ls [OPTIONS]\n"
	"\n"
	"List volumes.\n"
	"\n"
	"Options:\n"
	"      --format string   'table', 'json' or a Go template ('{{.Name}} {{.Mountpoint}}')\n"
	"  -q, --quiet           only show volume names\n"
	"  -h, --help            print this help\n";

/* volume ls [-q] [--format F]: argv[0] is "ls" */
static int volume_ls(struct lc_store *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_format fmt = { .kind = CMD_FORMAT_TABLE };
	cleanup_strv char **names = NULL;
	struct lc_err *err = NULL;
	json_t **rows = NULL;
	size_t n = 0;
	bool quiet = false;
	int c, rc = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(volume_ls_usage, stdout);
			return EXIT_OK;
		}
		if (c == 'q')
			quiet = true;
		else if (c == 'f' && cmd_format_parse(optarg, &fmt, volume_ls_usage) != 0)
			return EXIT_ERR;
		else if (c != 'f')
			return cmd_bad_flag(volume_ls_usage, argv, c);
	}
	if (optind != argc)
		return cmd_usage_error(volume_ls_usage,
				       "'layerctl volume ls' accepts no arguments");
	if (lc_store_volume_list(s, &names, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (!quiet && fmt.kind == CMD_FORMAT_TABLE)
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *path = NULL;
		json_t *o;

		if (quiet || fmt.kind == CMD_FORMAT_TABLE) {
			printf(quiet ? "%.0s%s\n" : "%-10s%s\n", "local", names[i]);
			continue;
		}
		if (lc_store_volume_path(s, names[i], false, &path, &err) < 0) {
			rc = cmd_report(err, EXIT_ERR);
			err = NULL;
			continue;
		}
		o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Driver", "local", "Labels", "",
			      "Mountpoint", path, "Name", names[i], "Scope", "local");
		if (!o)
			continue;
		if (fmt.kind == CMD_FORMAT_JSON) {
			cleanup_free char *line = json_dumps(o, JSON_COMPACT);

			if (line)
				printf("%s\n", line);
			json_decref(o);
			continue;
		}
		rows = lc_xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n++] = o;
	}
	if (fmt.kind == CMD_FORMAT_TEMPLATE && cmd_format_rows(&fmt, rows, n, stdout, &err) < 0)
		rc = cmd_report(err, EXIT_ERR);
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i]);
	free(rows);
	return rc;
}

int cmd_volume(int argc, char **argv, const struct lc_global *g)
{
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc = EXIT_OK;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) { /* docker's: help, 0 */
		fputs(volume_usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(sub, "create") && strcmp(sub, "ls") && strcmp(sub, "rm"))
		return cmd_unknown_command("volume", sub);
	if (!strcmp(sub, "create") && argc != 3)
		return cmd_usage_error("Usage:  layerctl volume create NAME",
				       "'layerctl volume create' requires 1 argument");
	if (!strcmp(sub, "rm") && argc < 3)
		return cmd_usage_error("Usage:  layerctl volume rm NAME [NAME...]",
				       "'layerctl volume rm' requires at least 1 argument");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (!strcmp(sub, "create")) {
		cleanup_free char *path = NULL;

		if (lc_store_volume_path(s, argv[2], true, &path, &err) < 0)
			rc = cmd_report(err, EXIT_ERR);
		else
			printf("%s\n", argv[2]);
	} else if (!strcmp(sub, "ls")) {
		rc = volume_ls(s, argc - 1, argv + 1);
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
