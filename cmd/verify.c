/* SPDX-License-Identifier: MIT */
/* verify [--repair]: git fsck for the store. */
#include <getopt.h>
#include <string.h>

#include "cmd.h"

static const char verify_usage[] =
	"Usage:  layerctl verify [OPTIONS]\n"
	"\n"
	"Check the store: re-hash every blob, walk every layer against the manifest of its files\n"
	"recorded when it was unpacked (reporting each file changed on disk), and check that\n"
	"every image is complete. Exit status 0 only when everything verifies.\n"
	"\n"
	"Options:\n"
	"      --repair   drop what is broken so that a pull fetches it again; rebuild a damaged\n"
	"                 refs/refs.json from the blobs (as unnamed images)\n"
	"  -h, --help     print this help\n";

static void print_problem(void *opaque, const char *line)
{
	(void)opaque;
	printf("%s\n", line);
}

int cmd_verify(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_verify_result res = { 0 };
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	bool repair = false;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			repair = true;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(verify_usage, argv, c);
		}
	}
	if (optind != argc)
		return cmd_usage_error(verify_usage, "'layerctl verify' accepts no arguments");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (lc_store_verify(s, repair, print_problem, NULL, &res, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	lc_store_close(s);
	if (!res.problems)
		return EXIT_OK;
	if (repair)
		fprintf(stderr, "layerctl: verify: %zu problem(s), %zu repaired\n", res.problems,
			res.repaired);
	else
		fprintf(stderr, "layerctl: verify: %zu problem(s)\n", res.problems);
	return EXIT_ERR;
}
