/* SPDX-License-Identifier: MIT */
/*
 * Authentication pieces that need no network: WWW-Authenticate challenges (RFC 7235) and token
 * endpoint answers (docker's config.json is creds.c's).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "fetch-int.h"

void lc_challenge_clear(struct lc_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

static bool is_tchar(char c)
{
	return isascii((unsigned char)c) &&
	       (isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c)));
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static size_t token_len(const char *p)
{
	size_t n = 0;

	while (is_tchar(p[n]))
		n++;
	return n;
}

/* A quoted-string at *p (which points at '"'): unescapes into *ret. */
static int quoted_string(const char **p, char **ret)
{
	const char *s = *p + 1;
	char *out = lc_xmalloc(strlen(s) + 1);
	size_t n = 0;

	while (*s && *s != '"') {
		if (*s == '\\') {
			s++;
			if (!*s)
				break;
		}
		out[n++] = *s++;
	}
	if (*s != '"') {
		free(out);
		return -1;
	}
	out[n] = 0;
	*p = s + 1;
	*ret = out;
	return 0;
}

struct parsed {
	struct lc_challenge c;
	bool have;
};

static void keep_param(struct lc_challenge *c, const char *name, size_t nlen, char *value)
{
	char **slot = NULL;

	if (nlen == 5 && !strncasecmp(name, "realm", 5))
		slot = &c->realm;
	else if (nlen == 7 && !strncasecmp(name, "service", 7))
		slot = &c->service;
	else if (nlen == 5 && !strncasecmp(name, "scope", 5))
		slot = &c->scope;
	else if (nlen == 5 && !strncasecmp(name, "error", 5))
		slot = &c->error;
	if (slot && !*slot)
		*slot = value;
	else
		free(value);
}

int lc_challenge_parse(const char *value, struct lc_challenge *ret, struct lc_err **err)
{
	struct parsed bearer = { 0 }, basic = { 0 };
	const char *p = value ? value : "";

	while (true) {
		struct lc_challenge cur = { 0 };
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		n = token_len(p);
		if (n == 0)
			goto malformed;
		cur.scheme = lc_xstrndup(p, n);
		for (char *c = cur.scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		p += n;
		/* auth-params (or a token68) until the next challenge's scheme */
		while (true) {
			const char *save = p;
			char *val = NULL;
			const char *name;

			skip_ws(&p);
			if (*p == ',') {
				p++;
				while (*p == ' ' || *p == '\t' || *p == ',')
					p++;
			}
			name = p;
			n = token_len(p);
			if (n == 0 && *p)
				goto malformed_cur;
			p += n;
			skip_ws(&p);
			if (n == 0 || *p != '=') {
				/* a new challenge starts here (or the end) */
				p = save;
				while (*p == ' ' || *p == '\t' || *p == ',')
					p++;
				break;
			}
			p++;
			if (*p == '=' || *p == ',' || *p == 0) {
				/* token68 ("Basic abc==") carries nothing we use */
				while (*p == '=')
					p++;
				continue;
			}
			skip_ws(&p);
			if (*p == '"') {
				if (quoted_string(&p, &val) < 0)
					goto malformed_cur;
			} else {
				size_t vl = token_len(p);

				if (vl == 0)
					goto malformed_cur;
				val = lc_xstrndup(p, vl);
				p += vl;
			}
			keep_param(&cur, name, n, val);
		}
		if (!strcmp(cur.scheme, "bearer") && !bearer.have) {
			bearer.c = cur;
			bearer.have = true;
		} else if (!strcmp(cur.scheme, "basic") && !basic.have) {
			basic.c = cur;
			basic.have = true;
		} else {
			lc_challenge_clear(&cur);
		}
		continue;
	malformed_cur:
		lc_challenge_clear(&cur);
		goto malformed;
	}
	if (bearer.have && (!bearer.c.realm || !*bearer.c.realm)) {
		lc_challenge_clear(&bearer.c);
		lc_challenge_clear(&basic.c);
		return lc_err_set(err, LC_ERR_PROTO, 0, "bearer challenge without a realm");
	}
	if (bearer.have) {
		lc_challenge_clear(&basic.c);
		*ret = bearer.c;
		return 0;
	}
	if (basic.have) {
		*ret = basic.c;
		return 0;
	}
	return lc_err_set(err, LC_ERR_AUTH, 0,
			  "no supported authentication challenge (want "
			  "Bearer or Basic)");
malformed:
	lc_challenge_clear(&bearer.c);
	lc_challenge_clear(&basic.c);
	return lc_err_set(err, LC_ERR_PROTO, 0, "malformed WWW-Authenticate header");
}

int lc_token_parse(const char *buf, size_t len, char **ret_token, long *ret_expires_in,
		   struct lc_err **err)
{
	json_t *j = lc_json_parse(buf, len, "token response", err);
	json_t *tok, *exp;
	const char *t = NULL;
	long expires = 60;

	if (!j)
		return -1;
	if (!json_is_object(j)) {
		json_decref(j);
		return lc_err_set(err, LC_ERR_PROTO, 0, "token response is not a JSON object");
	}
	tok = json_object_get(j, "access_token");
	if (json_is_string(tok) && json_string_length(tok) > 0)
		t = json_string_value(tok);
	tok = json_object_get(j, "token");
	if (!t && json_is_string(tok) && json_string_length(tok) > 0)
		t = json_string_value(tok);
	if (!t) {
		json_decref(j);
		return lc_err_set(err, LC_ERR_PROTO, 0, "token response has no token");
	}
	/* the token goes into a header: no CR, LF or other controls */
	for (const char *c = t; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			json_decref(j);
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "token response holds a control character");
		}
	}
	exp = json_object_get(j, "expires_in");
	if (json_is_integer(exp) && json_integer_value(exp) > 0)
		expires = json_integer_value(exp) > 86400 ? 86400 : (long)json_integer_value(exp);
	*ret_token = lc_xstrdup(t);
	*ret_expires_in = expires;
	json_decref(j);
	return 0;
}
