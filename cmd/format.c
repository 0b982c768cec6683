/* SPDX-License-Identifier: MIT */
/*
 * format: the part of docker's Go templates that `--format` is used with in practice, over
 * the JSON object a listing or inspect prints for one item: text, `{{.Field}}`,
 * `{{.Field.Sub}}`, `{{json .}}`, `{{json .Field}}`, `{{upper .F}}`, `{{lower .F}}`,
 * `{{.}}`; "\t" and "\n" written as such in the template become a tab and a newline (the
 * shell passes them as two characters, docker's CLI turns them into the real ones). A
 * "table " prefix is the caller's: it prints a header row and aligns the columns.
 */
#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

/* .A.B: the member, NULL when missing (Go's "<no value>") */
static json_t *lookup(json_t *obj, const char *path, size_t len)
{
	json_t *cur = obj;
	size_t i = 0;

	if (len == 0 || path[0] != '.')
		return NULL;
	i = 1;
	while (i < len && cur) {
		size_t n = 0;
		char key[128];

		while (i + n < len && path[i + n] != '.')
			n++;
		if (n == 0)
			break; /* "." alone, or a trailing dot */
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path + i, n);
		key[n] = 0;
		cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
		i += n + 1;
	}
	return cur;
}

static void put_value(json_t *v, bool as_json, int mode, char **out)
{
	cleanup_free char *s = NULL;
	char *next;

	if (!v)
		s = lc_xstrdup(as_json ? "null" : "<no value>");
	else if (as_json)
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	else if (json_is_string(v))
		s = lc_xstrdup(json_string_value(v));
	else if (json_is_integer(v))
		s = lc_xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		s = lc_xasprintf("%g", json_real_value(v));
	else if (json_is_true(v))
		s = lc_xstrdup("true");
	else if (json_is_false(v))
		s = lc_xstrdup("false");
	else if (json_is_null(v))
		s = lc_xstrdup("<nil>");
	else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (!s)
		s = lc_xstrdup("");
	for (char *p = s; mode && *p; p++)
		*p = (char)(mode > 0 ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
	next = lc_xasprintf("%s%s", *out, s);
	free(*out);
	*out = next;
}

static void put_text(const char *p, size_t n, char **out)
{
	size_t len = strlen(*out);
	char *o = lc_xrealloc(*out, len + n + 1);

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n && (p[i + 1] == 't' || p[i + 1] == 'n')) {
			o[len++] = p[i + 1] == 't' ? '\t' : '\n';
			i++;
		} else {
			o[len++] = p[i];
		}
	}
	o[len] = 0;
	*out = o;
}

int cmd_format(const char *tmpl, json_t *obj, char **ret, struct lc_err **err)
{
	cleanup_free char *out = lc_xstrdup("");
	const char *p = tmpl;

	while (*p) {
		const char *open = strstr(p, "{{"), *close, *a;
		size_t n;
		bool as_json = false;
		int mode = 0;

		if (!open) {
			put_text(p, strlen(p), &out);
			break;
		}
		put_text(p, (size_t)(open - p), &out);
		close = strstr(open + 2, "}}");
		if (!close)
			return lc_err_set(err, LC_ERR_USAGE, 0, "template: unclosed action in '%s'",
					  tmpl);
		a = open + 2;
		n = (size_t)(close - a);
		/* {{- x -}} trims nothing here: the spaces are the action's own */
		while (n && (isspace((unsigned char)*a) || *a == '-')) {
			a++;
			n--;
		}
		while (n && (isspace((unsigned char)a[n - 1]) || a[n - 1] == '-'))
			n--;
		if (n > 5 && !strncmp(a, "json ", 5)) {
			as_json = true;
		} else if (n > 6 && !strncmp(a, "upper ", 6)) {
			mode = 1;
		} else if (n > 6 && !strncmp(a, "lower ", 6)) {
			mode = -1;
		}
		if (as_json || mode) {
			size_t skip = as_json ? 5 : 6;

			a += skip;
			n -= skip;
			while (n && isspace((unsigned char)*a)) {
				a++;
				n--;
			}
		}
		if (n == 0 || a[0] != '.')
			return lc_err_set(
				err, LC_ERR_USAGE, 0,
				"template: unsupported action '{{%.*s}}' (layerctl knows "
				"{{.Field}}, {{json .Field}}, {{upper .F}}, {{lower .F}})",
				(int)(close - open - 2), open + 2);
		put_value(n == 1 ? obj : lookup(obj, a, n), as_json, mode, &out);
		p = close + 2;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* the column header docker prints for {{.Field}}: CONTAINER ID for .ID, else upper-cased */
static char *header_of(const char *name, size_t n)
{
	static const struct {
		const char *field, *header;
	} known[] = {
		{ "ID", "CONTAINER ID" },
		{ "CreatedAt", "CREATED AT" },
		{ "CreatedSince", "CREATED" },
		{ "RunningFor", "CREATED" },
		{ "MemUsage", "MEM USAGE / LIMIT" },
		{ "MemPerc", "MEM %" },
		{ "CPUPerc", "CPU %" },
		{ "NetIO", "NET I/O" },
		{ "BlockIO", "BLOCK I/O" },
		{ "PIDs", "PIDS" },
		{ "Repository", "REPOSITORY" },
		{ "SharedSize", "SHARED SIZE" },
		{ "UniqueSize", "UNIQUE SIZE" },
	};
	char *h;

	for (size_t i = 0; i < LC_ARRAY_SIZE(known); i++)
		if (strlen(known[i].field) == n && !strncmp(known[i].field, name, n))
			return lc_xstrdup(known[i].header);
	h = lc_xstrndup(name, n);
	for (char *p = h; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return h;
}

char *cmd_format_header(const char *tmpl, const char *id_header)
{
	char *out = lc_xstrdup("");
	const char *p = tmpl;

	while (*p) {
		const char *open = strstr(p, "{{"), *close, *a, *end;

		if (!open || !(close = strstr(open + 2, "}}"))) {
			put_text(p, strlen(p), &out);
			break;
		}
		put_text(p, (size_t)(open - p), &out);
		a = open + 2;
		while (a < close && (isspace((unsigned char)*a) || *a == '-'))
			a++;
		if (!strncmp(a, "json ", 5))
			a += 5;
		else if (!strncmp(a, "upper ", 6) || !strncmp(a, "lower ", 6))
			a += 6;
		while (a < close && isspace((unsigned char)*a))
			a++;
		end = a;
		while (end < close && !isspace((unsigned char)*end) && *end != '-')
			end++;
		{
			const char *last = end;

			/* .A.B: the last name */
			while (last > a && last[-1] != '.')
				last--;
			cleanup_free char *h =
				id_header && end - last == 2 && !strncmp(last, "ID", 2)
					? lc_xstrdup(id_header)
					: header_of(last, (size_t)(end - last));
			char *next = lc_xasprintf("%s%s", out, h);

			free(out);
			out = next;
		}
		p = close + 2;
	}
	return out;
}

int cmd_format_parse(const char *arg, struct cmd_format *ret, const char *usage)
{
	memset(ret, 0, sizeof(*ret));
	if (!strcmp(arg, "table") || !*arg) {
		ret->kind = CMD_FORMAT_TABLE;
	} else if (!strcmp(arg, "json")) {
		ret->kind = CMD_FORMAT_JSON;
	} else if (!strncmp(arg, "table ", 6)) {
		ret->kind = CMD_FORMAT_TEMPLATE;
		ret->table = true;
		ret->tmpl = arg + 6;
	} else if (strstr(arg, "{{")) {
		ret->kind = CMD_FORMAT_TEMPLATE;
		ret->tmpl = arg;
	} else {
		return cmd_usage_error(usage,
				       "unsupported --format '%s': 'table', 'json', 'table "
				       "TEMPLATE' or a Go template such as '{{.ID}}'",
				       arg);
	}
	return 0;
}

/* a line of the template's output, split at its tabs into ncols cells */
static void table_row(struct cmd_table *t, const char *line, size_t ncols)
{
	const char **cells = lc_xcalloc(ncols, sizeof(*cells));
	cleanup_free char *copy = lc_xstrdup(line);
	char *p = copy;

	for (size_t c = 0; c < ncols; c++) {
		char *tab = c + 1 < ncols ? strchr(p, '\t') : NULL;

		cells[c] = p;
		if (tab) {
			*tab = 0;
			p = tab + 1;
		} else {
			p += strlen(p); /* the rest, or "" for the missing cells */
		}
	}
	cmd_table_add(t, cells);
	free(cells);
}

int cmd_format_rows(const struct cmd_format *f, json_t *const *rows, size_t n, FILE *out,
		    struct lc_err **err)
{
	struct cmd_table *t = NULL;
	size_t cols = 1;

	if (f->table) {
		cleanup_free char *h = cmd_format_header(f->tmpl, f->id_header);

		for (const char *p = h; *p; p++)
			cols += *p == '\t';
		t = cmd_table_new(cols);
		table_row(t, h, cols);
	}
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *line = NULL;

		if (cmd_format(f->tmpl, rows[i], &line, err) < 0) {
			if (t)
				cmd_table_free(t);
			return -1;
		}
		if (t)
			table_row(t, line, cols);
		else
			fprintf(out, "%s\n", line);
	}
	if (t) {
		cmd_table_print(t, out);
		cmd_table_free(t);
	}
	return 0;
}
