/* SPDX-License-Identifier: MIT */
/*
 * Per-registry settings in containerd's hosts.toml layout: <dir>/<host[:port]>/hosts.toml
 * (dir: $LAYERCTL_CERTS_D, else /etc/layerctl/certs.d, else /etc/containerd/certs.d; a
 * _default/ dir serves hosts without their own). It names the mirrors to try first, in file
 * order, then the registry itself (`server`):
 *
 *   server = "https://registry-1.docker.io"
 *   [host."https://mirror.example.com"]
 *     capabilities = ["pull", "resolve"]
 *     ca = "/etc/ssl/mirror-ca.pem"            # or a list; relative to the file's dir
 *     client = [["client.cert", "client.key"]]  # or "client.pem", or ["cert", "key"]
 *     skip_verify = false
 *     override_path = false
 *
 * The parser reads the TOML this layout uses and refuses the rest of TOML it does not (inline
 * tables, multi-line strings, dotted keys) with the line it stopped at, rather than guess.
 * Unknown keys are ignored, as containerd's decoder ignores them (dial_timeout, header).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "fetch-int.h"

/* ---------- a value of the TOML subset ---------- */

enum tv_kind { TV_STR, TV_BOOL, TV_NUM, TV_ARR };

struct tv {
	enum tv_kind kind;
	char *s; /* TV_STR */
	bool b;	 /* TV_BOOL */
	struct tv *items;
	size_t n;
};

static void tv_clear(struct tv *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++)
		tv_clear(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

struct parser {
	const char *p, *end;
	unsigned line;
	struct lc_err **err;
};

static int perr(struct parser *ps, const char *what)
{
	return lc_err_set(ps->err, LC_ERR_INVALID, 0, "line %u: %s", ps->line, what);
}

/* skip blanks, comments and (inside arrays) newlines */
static void skip_ws(struct parser *ps, bool newlines)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (c == '\n' && newlines) {
			ps->line++;
			ps->p++;
		} else {
			break;
		}
	}
}

static int parse_string(struct parser *ps, char **ret)
{
	char q = *ps->p++;
	size_t cap = 64, n = 0;
	char *out = lc_xmalloc(cap);

	if (ps->p + 1 < ps->end && ps->p[0] == q && ps->p[1] == q) {
		free(out);
		return perr(ps, "multi-line strings are not supported");
	}
	while (ps->p < ps->end && *ps->p != q) {
		char c = *ps->p++;

		if (c == '\n') {
			free(out);
			return perr(ps, "unterminated string");
		}
		if (c == '\\' && q == '"') {
			if (ps->p >= ps->end)
				break;
			c = *ps->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '"':
			case '\\':
				break;
			default:
				free(out);
				return perr(ps, "unsupported escape in a string");
			}
		}
		if (n + 2 > cap)
			out = lc_xrealloc(out, cap *= 2);
		out[n++] = c;
	}
	if (ps->p >= ps->end) {
		free(out);
		return perr(ps, "unterminated string");
	}
	ps->p++;
	out[n] = 0;
	*ret = out;
	return 0;
}

static int parse_value(struct parser *ps, struct tv *ret, unsigned depth)
{
	const char *p = ps->p;

	memset(ret, 0, sizeof(*ret));
	if (p >= ps->end)
		return perr(ps, "missing value");
	if (*p == '"' || *p == '\'') {
		ret->kind = TV_STR;
		return parse_string(ps, &ret->s);
	}
	if (*p == '[') {
		if (depth > 4)
			return perr(ps, "arrays nested too deep");
		ret->kind = TV_ARR;
		ps->p++;
		for (;;) {
			struct tv item;

			skip_ws(ps, true);
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				return 0;
			}
			if (parse_value(ps, &item, depth + 1) < 0) {
				tv_clear(&item); /* a nested array read in part */
				return -1;
			}
			ret->items = lc_xrealloc(ret->items, (ret->n + 1) * sizeof(*ret->items));
			ret->items[ret->n++] = item;
			skip_ws(ps, true);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				return 0;
			}
			return perr(ps, "expected ',' or ']' in an array");
		}
	}
	if ((size_t)(ps->end - p) >= 4 && !strncmp(p, "true", 4)) {
		ret->kind = TV_BOOL;
		ret->b = true;
		ps->p += 4;
		return 0;
	}
	if ((size_t)(ps->end - p) >= 5 && !strncmp(p, "false", 5)) {
		ret->kind = TV_BOOL;
		ps->p += 5;
		return 0;
	}
	if (isdigit((unsigned char)*p) || *p == '-' || *p == '+') {
		ret->kind = TV_NUM;
		while (ps->p < ps->end &&
		       (isalnum((unsigned char)*ps->p) || strchr("+-._:", *ps->p)))
			ps->p++;
		return 0;
	}
	if (*p == '{')
		return perr(ps, "inline tables are not supported");
	return perr(ps, "unsupported value");
}

/* ---------- hosts ---------- */

static void host_clear(struct lc_host *h)
{
	free(h->url);
	for (size_t k = 0; k < h->n_ca_files; k++)
		free(h->ca_files[k]);
	free(h->ca_files);
	free(h->ca_pem);
	free(h->cert);
	free(h->key);
	memset(h, 0, sizeof(*h));
}

void lc_hosts_clear(struct lc_hosts *h)
{
	for (size_t i = 0; i < h->n; i++)
		host_clear(&h->v[i]);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

static char *resolve_path(const char *dir, const char *p)
{
	return p[0] == '/' || !dir ? lc_xstrdup(p) : lc_xasprintf("%s/%s", dir, p);
}

/* Record a ca file of h, read later by lc_hosts_read_cas. */
static void add_ca(struct lc_host *h, const char *dir, const char *file)
{
	h->ca_files = lc_xrealloc(h->ca_files, (h->n_ca_files + 1) * sizeof(*h->ca_files));
	h->ca_files[h->n_ca_files++] = resolve_path(dir, file);
}

/* Append the PEM text of path to h->ca_pem. */
static int read_ca(struct lc_host *h, const char *path, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	cleanup_fclose FILE *f = fopen(path, "re");
	size_t len;
	char *all;

	if (!f)
		return lc_err_set(err, LC_ERR_SYS, errno, "ca '%s'", path);
	buf = lc_xmalloc(LC_MAX_CA_FILE + 1);
	len = fread(buf, 1, LC_MAX_CA_FILE + 1, f);
	if (ferror(f) || len > LC_MAX_CA_FILE)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "ca '%s': unreadable or over 1 MiB", path);
	buf[len] = 0;
	all = lc_xasprintf("%s%s\n", h->ca_pem ? h->ca_pem : "", buf);
	free(h->ca_pem);
	h->ca_pem = all;
	return 0;
}

int lc_hosts_read_cas(struct lc_hosts *hs, struct lc_err **err)
{
	for (size_t i = 0; i < hs->n; i++)
		for (size_t k = 0; k < hs->v[i].n_ca_files; k++)
			if (read_ca(&hs->v[i], hs->v[i].ca_files[k], err) < 0)
				return -1;
	return 0;
}

static bool all_strings(const struct tv *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i].kind != TV_STR)
			return false;
	return true;
}

/* Apply key = value to host h (the server's settings when h is the upstream). */
static int host_set(struct lc_host *h, const char *dir, const char *key, const struct tv *v,
		    struct parser *ps)
{
	if (!strcmp(key, "capabilities")) {
		if (v->kind != TV_ARR || !all_strings(v))
			return perr(ps, "capabilities: want a list of strings");
		h->caps = 0;
		for (size_t i = 0; i < v->n; i++) {
			if (!strcmp(v->items[i].s, "pull"))
				h->caps |= LC_HOST_PULL;
			else if (!strcmp(v->items[i].s, "resolve"))
				h->caps |= LC_HOST_RESOLVE;
			else if (strcmp(v->items[i].s, "push") != 0)
				return perr(ps, "capabilities: want pull, resolve or push");
		}
	} else if (!strcmp(key, "skip_verify")) {
		if (v->kind != TV_BOOL)
			return perr(ps, "skip_verify: want true or false");
		h->skip_verify = v->b;
	} else if (!strcmp(key, "override_path")) {
		if (v->kind != TV_BOOL)
			return perr(ps, "override_path: want true or false");
		h->override_path = v->b;
	} else if (!strcmp(key, "ca")) {
		if (v->kind == TV_STR) {
			add_ca(h, dir, v->s);
			return 0;
		}
		if (v->kind != TV_ARR || !all_strings(v))
			return perr(ps, "ca: want a path or a list of paths");
		for (size_t i = 0; i < v->n; i++)
			add_ca(h, dir, v->items[i].s);
	} else if (!strcmp(key, "client")) {
		const struct tv *pair = v;

		/* "both.pem", ["cert", "key"], or [["cert", "key"]] (the first pair); a later
		 * client = replaces an earlier one */
		if (v->kind == TV_ARR && v->n >= 1 && v->items[0].kind == TV_ARR)
			pair = &v->items[0];
		free(h->cert);
		free(h->key);
		h->cert = h->key = NULL;
		if (pair->kind == TV_STR) {
			h->cert = resolve_path(dir, pair->s);
		} else if (pair->kind == TV_ARR && all_strings(pair) && pair->n >= 1 &&
			   pair->n <= 2) {
			h->cert = resolve_path(dir, pair->items[0].s);
			if (pair->n == 2)
				h->key = resolve_path(dir, pair->items[1].s);
		} else {
			return perr(ps, "client: want a path, [cert, key] or [[cert, key]]");
		}
	}
	/* anything else: ignored, as containerd's decoder does */
	return 0;
}

/* "https://host[:port][/path]" -> its URL without a trailing '/' (a scheme is required) */
static int host_url(const char *s, char **ret, struct parser *ps)
{
	struct lc_url u = { 0 };
	size_t n = strlen(s);

	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return perr(ps, "a host must be an http:// or https:// URL");
	if (lc_url_parse(s, &u, ps->err) < 0)
		return lc_err_prefix(ps->err, "line %u", ps->line);
	lc_url_clear(&u);
	while (n && s[n - 1] == '/')
		n--;
	*ret = lc_xstrndup(s, n);
	return 0;
}

static struct lc_host *host_add(struct lc_hosts *hs)
{
	struct lc_host *h;

	hs->v = lc_xrealloc(hs->v, (hs->n + 1) * sizeof(*hs->v));
	h = &hs->v[hs->n++];
	memset(h, 0, sizeof(*h));
	h->caps = LC_HOST_PULL | LC_HOST_RESOLVE;
	return h;
}

int lc_hosts_parse(const char *text, size_t len, const char *dir, const char *default_server,
		   struct lc_hosts *ret, struct lc_err **err)
{
	struct parser ps = { .p = text, .end = text + len, .line = 1, .err = err };
	struct lc_hosts hs = { 0 };
	struct lc_host server = { .caps = LC_HOST_PULL | LC_HOST_RESOLVE, .upstream = true };
	ssize_t cur = -1; /* index of the [host."..."] being read; -1: top level */
	bool ignore = false;
	int r = -1;

	while (true) {
		cleanup_free char *key = NULL;
		struct tv v = { 0 };

		skip_ws(&ps, true);
		if (ps.p >= ps.end)
			break;
		if (*ps.p == '[') {
			cleanup_free char *url = NULL;

			ps.p++;
			if (ps.p < ps.end && *ps.p == '[') {
				perr(&ps, "arrays of tables are not supported");
				goto out;
			}
			skip_ws(&ps, false);
			if ((size_t)(ps.end - ps.p) < 5 || strncmp(ps.p, "host.", 5) != 0) {
				/* another table: not ours, its keys are skipped */
				while (ps.p < ps.end && *ps.p != '\n')
					ps.p++;
				ignore = true;
				continue;
			}
			ps.p += 5;
			if (ps.p >= ps.end || (*ps.p != '"' && *ps.p != '\'')) {
				perr(&ps, "want [host.\"URL\"]");
				goto out;
			}
			if (parse_string(&ps, &url) < 0)
				goto out;
			skip_ws(&ps, false);
			ignore = false;
			if (ps.p < ps.end && *ps.p == '.') {
				/* [host."URL".header] and the like: their keys are not settings */
				ignore = true;
				while (ps.p < ps.end && *ps.p != ']')
					ps.p++;
			}
			if (ps.p >= ps.end || *ps.p != ']') {
				perr(&ps, "want ']'");
				goto out;
			}
			ps.p++;
			if (!ignore) {
				struct lc_host *h = host_add(&hs);

				cur = (ssize_t)hs.n - 1;
				if (host_url(url, &h->url, &ps) < 0)
					goto out;
			}
			continue;
		}
		/* key = value */
		{
			const char *k = ps.p;

			while (ps.p < ps.end &&
			       (isalnum((unsigned char)*ps.p) || *ps.p == '_' || *ps.p == '-'))
				ps.p++;
			if (ps.p == k) {
				perr(&ps, "want a key");
				goto out;
			}
			key = lc_xstrndup(k, (size_t)(ps.p - k));
		}
		skip_ws(&ps, false);
		if (ps.p >= ps.end || *ps.p != '=') {
			perr(&ps, ps.p < ps.end && *ps.p == '.' ? "dotted keys are not supported"
								: "want '='");
			goto out;
		}
		ps.p++;
		skip_ws(&ps, false);
		if (parse_value(&ps, &v, 0) < 0) {
			tv_clear(&v);
			goto out;
		}
		skip_ws(&ps, false);
		if (ps.p < ps.end && *ps.p != '\n') {
			tv_clear(&v);
			perr(&ps, "unexpected text after a value");
			goto out;
		}
		if (!ignore) {
			int rr;

			if (cur < 0 && !strcmp(key, "server")) {
				/* a second server = replaces the first */
				free(server.url);
				server.url = NULL;
				rr = v.kind == TV_STR ? host_url(v.s, &server.url, &ps)
						      : perr(&ps, "server: want a URL");
			} else {
				rr = host_set(cur < 0 ? &server : &hs.v[cur], dir, key, &v, &ps);
			}
			if (rr < 0) {
				tv_clear(&v);
				goto out;
			}
		}
		tv_clear(&v);
	}
	if (!server.url)
		server.url = lc_xstrdup(default_server);
	*host_add(&hs) = server;
	memset(&server, 0, sizeof(server));
	*ret = hs;
	memset(&hs, 0, sizeof(hs));
	r = 0;
out:
	host_clear(&server);
	lc_hosts_clear(&hs);
	return r;
}

static const char *const default_dirs[] = { "/etc/layerctl/certs.d", "/etc/containerd/certs.d" };

int lc_hosts_load(const char *domain, const char *default_server, struct lc_hosts *ret,
		  struct lc_err **err)
{
	const char *env = getenv("LAYERCTL_CERTS_D");
	const char *const *dirs = default_dirs;
	size_t n_dirs = LC_ARRAY_SIZE(default_dirs);
	const char *one[1];

	if (env && *env) {
		one[0] = env;
		dirs = one;
		n_dirs = 1;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		const char *names[] = { domain, "_default" };

		for (size_t k = 0; k < LC_ARRAY_SIZE(names); k++) {
			cleanup_free char *hostdir = lc_xasprintf("%s/%s", dirs[i], names[k]);
			cleanup_free char *path = lc_xasprintf("%s/hosts.toml", hostdir);
			cleanup_free char *buf = NULL;
			cleanup_fclose FILE *f = fopen(path, "re");
			size_t len;

			if (!f) {
				if (errno == ENOENT || errno == ENOTDIR)
					continue;
				return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
			}
			buf = lc_xmalloc(LC_MAX_HOSTS_FILE + 1);
			len = fread(buf, 1, LC_MAX_HOSTS_FILE + 1, f);
			if (ferror(f) || len > LC_MAX_HOSTS_FILE)
				return lc_err_set(err, LC_ERR_LIMIT, 0,
						  "'%s': unreadable or over 256 KiB", path);
			buf[len] = 0;
			if (lc_hosts_parse(buf, len, hostdir, default_server, ret, err) < 0)
				return lc_err_prefix(err, "'%s'", path);
			if (lc_hosts_read_cas(ret, err) < 0) {
				lc_hosts_clear(ret);
				return lc_err_prefix(err, "'%s'", path);
			}
			return 0;
		}
	}
	/* no settings: the registry itself, as it always was */
	memset(ret, 0, sizeof(*ret));
	*host_add(ret) = (struct lc_host){ .url = lc_xstrdup(default_server),
					   .caps = LC_HOST_PULL | LC_HOST_RESOLVE,
					   .upstream = true };
	return 0;
}
