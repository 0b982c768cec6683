/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

static const char ps_usage[] =
	"Usage:  layerctl ps [OPTIONS]\n"
	"\n"
	"List containers (running ones; -a for all).\n"
	"\n"
	"Options:\n"
	"  -a, --all            show all containers (default shows just running)\n"
	"      --format string  'table' (default), 'json' (one JSON object per line), or a Go\n"
	"                       template: '{{.Names}}', 'table {{.ID}}\\t{{.Status}}'\n"
	"      --no-trunc       don't truncate output\n"
	"  -q, --quiet          only display container IDs\n"
	"  -h, --help           print this help\n";

/* docker's STATUS: "Up 3 seconds", "Exited (137) 2 seconds ago", "Created" */
static void status_text(const struct ctr_state *st, bool running, char *out, size_t outsz)
{
	char since[64];

	if (running) {
		size_t n;

		cmd_human_since(st->started_at, since, sizeof(since));
		n = strlen(since);
		if (n > 4 && !strcmp(since + n - 4, " ago"))
			since[n - 4] = 0;
		snprintf(out, outsz, "Up %s", since);
	} else if (!strcmp(st->status, "exited")) {
		cmd_human_since(st->finished_at, since, sizeof(since));
		snprintf(out, outsz, "Exited (%d) %s", st->exit_code, since);
	} else {
		snprintf(out, outsz, "Created");
	}
}

/* "sh -c 'echo hi'" as docker shows COMMAND: quoted, cut at 20 unless --no-trunc */
static char *command_text(char *const *args, bool notrunc)
{
	char *cmd = lc_xstrdup(""), *q;

	for (size_t i = 0; args && args[i]; i++) {
		char *next = lc_xasprintf("%s%s%s", cmd, i ? " " : "", args[i]);

		free(cmd);
		cmd = next;
	}
	if (!notrunc && strlen(cmd) > 20)
		q = lc_xasprintf("\"%.19s…\"", cmd);
	else
		q = lc_xasprintf("\"%s\"", cmd);
	free(cmd);
	return q;
}

int cmd_ps(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },	{ "format", required_argument, NULL, 'f' },
		{ "no-trunc", no_argument, NULL, 'n' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },	{ NULL, 0, NULL, 0 },
	};
	bool all = false, notrunc = false, quiet = false, json = false;
	struct cmd_format fmt = { .kind = CMD_FORMAT_TABLE };
	json_t **rows = NULL;
	size_t n_rows = 0;
	int rc = EXIT_OK;
	cleanup_strv char **ids = NULL;
	struct cmd_table *t = NULL;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	int c;

	while ((c = getopt_long(argc, argv, ":aqh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'n':
			notrunc = true;
			break;
		case 'f':
			if (cmd_format_parse(optarg, &fmt, ps_usage) != 0)
				return EXIT_ERR;
			json = fmt.kind != CMD_FORMAT_TABLE;
			break;
		case 'h':
			fputs(ps_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(ps_usage, argv, c);
		}
	}
	if (optind < argc)
		return cmd_usage_error(ps_usage, "'layerctl ps' accepts no arguments");
	if (cmd_store_open(g, &s, &err) < 0 || lc_store_container_list(s, &ids, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	if (!quiet && !json) {
		t = cmd_table_new(7);
		cmd_table_add(t, (const char *const[]){ "CONTAINER ID", "IMAGE", "COMMAND",
							"CREATED", "STATUS", "PORTS", "NAMES" });
	}
	for (size_t i = 0; ids[i]; i++) {
		struct lc_container_config *cc = NULL;
		struct ctr_spec sp = { 0 };
		struct ctr_state st;
		cleanup_free char *cmdline = NULL, *repo = NULL, *tag = NULL, *image = NULL;
		cleanup_free char *ports = NULL;
		char created[64], status[96], idbuf[65];
		bool running;

		/* a container still being set up has no state yet: not listed */
		if (ctr_state_read(s, ids[i], &st, &err) < 0 ||
		    lc_store_container_config_read(s, ids[i], &cc, &err) < 0 ||
		    ctr_spec_read(s, ids[i], &sp, &err) < 0) {
			lc_err_free(err);
			err = NULL;
			lc_container_config_free(cc);
			ctr_spec_clear(&sp);
			continue;
		}
		running = ctr_running(&st);
		if (all || running) {
			snprintf(idbuf, sizeof(idbuf), notrunc ? "%s" : "%.12s", ids[i]);
			cmd_split_name(cc->image, &repo, &tag);
			image = strcmp(tag, "latest") ? lc_xasprintf("%s:%s", repo, tag)
						      : lc_xstrdup(repo);
			cmdline = command_text(sp.args, notrunc || json);
			ports = lc_xstrdup("");
			for (size_t k = 0; sp.ports && sp.ports[k]; k++) {
				char *next =
					lc_xasprintf("%s%s%s", ports, k ? ", " : "", sp.ports[k]);

				free(ports);
				ports = next;
			}
			cmd_human_since(cc->created, created, sizeof(created));
			status_text(&st, running, status, sizeof(status));
			if (quiet) {
				printf("%s\n", idbuf);
			} else if (json) {
				json_t *j =
					json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
						  idbuf, "Image", image, "Command", cmdline,
						  "CreatedAt", cc->created, "Status", status,
						  "State", running ? "running" : st.status, "Ports",
						  ports, "Names", cc->name ? cc->name : "");
				if (fmt.kind == CMD_FORMAT_TEMPLATE) {
					rows = lc_xrealloc(rows, (n_rows + 1) * sizeof(*rows));
					rows[n_rows++] = j;
				} else {
					cleanup_free char *line = json_dumps(j, JSON_COMPACT);

					json_decref(j);
					printf("%s\n", line);
				}
			} else {
				cmd_table_add(t, (const char *const[]){ idbuf, image, cmdline,
									created, status, ports,
									cc->name ? cc->name : "" });
			}
		}
		lc_container_config_free(cc);
		ctr_spec_clear(&sp);
	}
	if (t) {
		cmd_table_print(t, stdout);
		cmd_table_free(t);
	}
	if (fmt.kind == CMD_FORMAT_TEMPLATE &&
	    cmd_format_rows(&fmt, rows, n_rows, stdout, &err) < 0)
		rc = cmd_report(err, EXIT_ERR);
	for (size_t i = 0; i < n_rows; i++)
		json_decref(rows[i]);
	free(rows);
	lc_store_close(s);
	return rc;
}
