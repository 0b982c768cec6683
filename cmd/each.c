/* SPDX-License-Identifier: MIT */
/* cmd: one verb over several containers (stop, kill, rm, wait, start, restart), docker's way. */
#include "cmd.h"

int ctr_each(const struct lc_global *g, char **names, int n,
	     int (*fn)(struct lc_store *s, const char *id, const char *name, void *arg,
		       struct lc_err **err),
	     void *arg, bool print_name)
{
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	int rc = EXIT_OK;

	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	for (int i = 0; i < n; i++) {
		cleanup_free char *id = NULL;

		if (ctr_find(s, names[i], &id, &err) < 0 || fn(s, id, names[i], arg, &err) < 0) {
			rc = cmd_report(err, EXIT_ERR);
			err = NULL;
			continue;
		}
		if (print_name)
			printf("%s\n", names[i]);
		fflush(stdout);
	}
	lc_store_close(s);
	return rc;
}
