/* SPDX-License-Identifier: MIT */
/* Tables like docker's (text/tabwriter): columns as wide as their widest cell, 3 spaces apart. */
#include <string.h>

#include "cmd.h"

struct cmd_table {
	size_t ncols, nrows;
	char **cells; /* nrows * ncols */
};

struct cmd_table *cmd_table_new(size_t ncols)
{
	struct cmd_table *t = lc_xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	return t;
}

void cmd_table_add(struct cmd_table *t, const char *const *row)
{
	size_t i;

	t->cells = lc_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = lc_xstrdup(row[i] ? row[i] : "");
	t->nrows++;
}

void cmd_table_print(const struct cmd_table *t, FILE *out)
{
	size_t *w = lc_xcalloc(t->ncols, sizeof(size_t));
	size_t r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				fprintf(out, "%-*s   ", (int)w[c], cell);
			else
				fprintf(out, "%s\n", cell);
		}
	}
	free(w);
}

void cmd_table_free(struct cmd_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
