/* SPDX-License-Identifier: MIT */
/*
 * References, normalized exactly like distribution/reference (normalize.go, regexp.go):
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ("/" path-component)*
 *   domain    := host [":" port]
 * The grammar is matched by hand: POSIX regex is leftmost-longest and has no \w.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "fetch-int.h"

#define NAME_TOTAL_MAX 255
#define TAG_MAX	       128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
	return isascii((unsigned char)c) && (isalnum((unsigned char)c) || c == '_');
}

/* path-component := [a-z0-9]+ (([._]|__|[-]+) [a-z0-9]+)* */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i;

		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		/* a separator, followed by more alphanumerics */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n)
			return false;
	}
	return false;
}

static bool path_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (true) {
		const char *slash = memchr(s + i, '/', n - i);
		size_t end = slash ? (size_t)(slash - s) : n;

		if (!path_component_valid(s + i, end - i))
			return false;
		if (!slash)
			return true;
		i = end + 1;
	}
}

/* domain-name-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) || (!isalnum((unsigned char)s[i]) && s[i] != '-'))
			return false;
	return true;
}

/* host [":" port], host a dotted name or "[" ipv6 hex-and-colons "]" */
static bool domain_valid(const char *s, size_t n)
{
	size_t hlen = n;
	const char *colon;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		hlen = (size_t)(close - s) + 1;
		if (hlen < n && s[hlen] != ':')
			return false;
	} else {
		size_t i = 0;

		colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
		while (true) {
			const char *dot = memchr(s + i, '.', hlen - i);
			size_t end = dot ? (size_t)(dot - s) : hlen;

			if (!domain_component_valid(s + i, end - i))
				return false;
			if (!dot)
				break;
			i = end + 1;
		}
	}
	if (hlen < n) {
		/* ":" port, at least one digit */
		if (hlen + 1 == n)
			return false;
		for (size_t i = hlen + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
	}
	return true;
}

/*
 * The grammar takes any digits as a port (distribution/reference does too); one that no
 * socket can have is a usage error, said before any connection is tried.
 */
static int port_check(const char *s, size_t n, struct lc_err **err)
{
	const char *close = n && s[0] == '[' ? memchr(s, ']', n) : s;
	const char *colon = memchr(close, ':', n - (size_t)(close - s));
	unsigned long port = 0;
	size_t digits;

	if (!colon)
		return 0;
	digits = n - (size_t)(colon + 1 - s);
	for (const char *p = colon + 1; p < s + n; p++) {
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			break;
	}
	if (port == 0 || port > 65535)
		return lc_err_set(
			err, LC_ERR_USAGE, 0,
			"invalid reference format: port '%.*s%s' is out of range (1-65535)",
			(int)(digits > 20 ? 20 : digits), colon + 1, digits > 20 ? "..." : "");
	return 0;
}

static bool tag_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TAG_MAX || !is_word(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* algorithm ":" hex{32,}, algorithm := [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* */
static bool digest_grammar_valid(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t i = 0, n;

	if (!colon)
		return false;
	n = (size_t)(colon - s);
	while (i < n) {
		if (!isalpha((unsigned char)s[i]))
			return false;
		i++;
		while (i < n && isalnum((unsigned char)s[i]))
			i++;
		if (i == n)
			break;
		if (!strchr("-_+.", s[i]) || i + 1 == n)
			return false;
		i++;
	}
	if (n == 0 || strlen(colon + 1) < 32)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

static bool is_64hex(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return true;
	return false;
}

void lc_ref_free(struct lc_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r);
}

/*
 * distribution/reference Parse() of a name that splitDockerDomain already gave an explicit
 * domain: "domain/path[:tag][@digest]". Fills r's fields; r is freed by the caller on error.
 */
static int parse_full(const char *s, struct lc_ref *r, struct lc_err **err)
{
	const char *at = strchr(s, '@');
	size_t name_tag_len = at ? (size_t)(at - s) : strlen(s);
	cleanup_free char *name_tag = lc_xstrndup(s, name_tag_len);
	const char *slash = strchr(name_tag, '/');
	const char *colon;
	const char *path;
	size_t path_len;

	if (at && !digest_grammar_valid(at + 1))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid reference format");
	/* The optional domain group is tried first, like Go's leftmost-first regexp. */
	if (!slash || !domain_valid(name_tag, (size_t)(slash - name_tag)))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid reference format");
	if (port_check(name_tag, (size_t)(slash - name_tag), err) < 0)
		return -1;
	path = slash + 1;
	colon = strrchr(path, ':');
	path_len = colon ? (size_t)(colon - path) : strlen(path);
	if (!path_valid(path, path_len)) {
		cleanup_free char *low = lc_xstrdup(path);

		for (char *p = low; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (has_upper(path, path_len) && path_valid(low, path_len))
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid reference format: repository name must be lowercase");
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid reference format");
	}
	if (colon && !tag_valid(colon + 1))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid reference format");
	if ((size_t)(path - name_tag) + path_len > NAME_TOTAL_MAX)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid reference format: repository name must not be more "
				  "than %d characters",
				  NAME_TOTAL_MAX);
	if (at) {
		if (strncmp(at + 1, "sha256:", 7) != 0)
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid reference format: unsupported digest algorithm "
					  "in '%.80s'",
					  at + 1);
		if (!lc_digest_valid(at + 1))
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid reference format: invalid checksum digest "
					  "'%.80s'",
					  at + 1);
		r->digest = lc_xstrdup(at + 1);
	}
	r->domain = lc_xstrndup(name_tag, (size_t)(slash - name_tag));
	r->path = lc_xstrndup(path, path_len);
	if (colon && !r->digest)
		r->tag = lc_xstrdup(colon + 1); /* ParseDockerRef: a digest beats the tag */
	else if (!colon && !r->digest)
		r->tag = lc_xstrdup("latest"); /* TagNameOnly */
	return 0;
}

int lc_ref_parse(const char *s, struct lc_ref **ret, struct lc_err **err)
{
	struct lc_ref *r;
	const char *slash;
	cleanup_free char *domain = NULL;
	cleanup_free char *remainder = NULL;
	cleanup_free char *full = NULL;
	size_t rn_len;

	if (!s || !*s)
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid reference format");
	if (strlen(s) > 4096)
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid reference format");
	if (is_64hex(s))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid repository name (%s), cannot specify 64-byte "
				  "hexadecimal strings",
				  s);
	/* splitDockerDomain */
	slash = strchr(s, '/');
	if (!slash) {
		domain = lc_xstrdup("docker.io");
		remainder = lc_xstrdup(s);
	} else {
		size_t n = (size_t)(slash - s);
		bool is_domain = memchr(s, '.', n) || memchr(s, ':', n) ||
				 (n == 9 && strncmp(s, "localhost", 9) == 0) || has_upper(s, n);

		if (is_domain) {
			domain = lc_xstrndup(s, n);
			remainder = lc_xstrdup(slash + 1);
		} else {
			domain = lc_xstrdup("docker.io");
			remainder = lc_xstrdup(s);
		}
	}
	if (strcmp(domain, "index.docker.io") == 0) {
		free(domain);
		domain = lc_xstrdup("docker.io");
	}
	if (strcmp(domain, "docker.io") == 0 && !strchr(remainder, '/')) {
		char *p = lc_xasprintf("library/%s", remainder);

		free(remainder);
		remainder = p;
	}
	/* ParseNormalizedNamed: the remote name (before any ':') must be lowercase */
	rn_len = strcspn(remainder, ":");
	if (has_upper(remainder, rn_len))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid reference format: repository name (%.*s) must be "
				  "lowercase",
				  (int)rn_len, remainder);
	full = lc_xasprintf("%s/%s", domain, remainder);
	r = lc_xcalloc(1, sizeof(*r));
	if (parse_full(full, r, err) < 0) {
		lc_ref_free(r);
		return -1;
	}
	*ret = r;
	return 0;
}

char *lc_ref_string(const struct lc_ref *r)
{
	if (r->digest)
		return lc_xasprintf("%s/%s@%s", r->domain, r->path, r->digest);
	return lc_xasprintf("%s/%s:%s", r->domain, r->path, r->tag ? r->tag : "latest");
}

char *lc_ref_familiar(const struct lc_ref *r)
{
	cleanup_free char *name = NULL;

	if (strcmp(r->domain, "docker.io") == 0) {
		const char *p = r->path;
		size_t n;

		if (strncmp(p, "library/", 8) == 0 && !strchr(p + 8, '/'))
			p += 8;
		n = strcspn(p, "/");
		/* docker.io/a.b/c is not a.b/c (a registry): keep the domain then */
		if (p[n] == '/' && (memchr(p, '.', n) || memchr(p, ':', n) ||
				    (n == 9 && !strncmp(p, "localhost", 9))))
			name = lc_xasprintf("docker.io/%s", p);
		else
			name = lc_xstrdup(p);
	} else {
		name = lc_xasprintf("%s/%s", r->domain, r->path);
	}
	if (r->digest)
		return lc_xasprintf("%s@%s", name, r->digest);
	return lc_xasprintf("%s:%s", name, r->tag ? r->tag : "latest");
}

bool lc_host_is_loopback(const char *host)
{
	unsigned a, b, c, d;
	char tail;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "[::1]") == 0)
		return true;
	/* dotted quad 127.x.y.z, nothing else */
	if (sscanf(host, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4)
		return a == 127 && b <= 255 && c <= 255 && d <= 255 &&
		       strspn(host, "0123456789.") == strlen(host);
	return false;
}

/* The host of a "host[:port]" or "[v6][:port]" domain, without the port (caller frees). */
static char *domain_host(const char *domain)
{
	if (domain[0] == '[') {
		const char *close = strchr(domain, ']');

		return close ? lc_xstrndup(domain, (size_t)(close - domain) + 1)
			     : lc_xstrdup(domain);
	}
	return lc_xstrndup(domain, strcspn(domain, ":"));
}

char *lc_ref_base_url(const struct lc_ref *r, bool insecure)
{
	cleanup_free char *host = NULL;

	if (strcmp(r->domain, "docker.io") == 0)
		return lc_xstrdup("https://registry-1.docker.io");
	host = domain_host(r->domain);
	if (insecure || lc_host_is_loopback(host))
		return lc_xasprintf("http://%s", r->domain);
	return lc_xasprintf("https://%s", r->domain);
}
