/* SPDX-License-Identifier: MIT */
/*
 * user: the image's User / -u value and its /etc/passwd and /etc/group. All of it is
 * untrusted: numbers are parsed strictly and, like runc, kept to 0..2147483647
 * (CVE-2024-40635: a uid above INT32_MAX overflowed into root somewhere down the line), lines
 * and files are bounded (an image's 1 GB /etc/group line must not stall the start).
 * Resolution runs in the container child after pivot_root, on fixed buffers (only an error
 * allocates).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mount-int.h"

#define RANGE_MSG "uids and gids must be in range 0-2147483647"

/* 0: a number <= LC_ID_MAX; -1: not all digits (or empty); -2: too big (*ret untouched). */
static int parse_id(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;
	bool big = false;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (!big)
			v = v * 10 + (uint64_t)(s[i] - '0');
		big = big || v > LC_ID_MAX;
	}
	if (big)
		return -2;
	*ret = (uint32_t)v;
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

static int parse_half(const char *s, size_t len, const char *what, bool *ret_is_name,
		      uint32_t *ret_id, char *ret_name, struct lc_err **err)
{
	if (len == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "empty %s", what);
	if (all_digits(s, len)) {
		if (parse_id(s, len, ret_id) < 0)
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "%s id '%.*s' is out of range: " RANGE_MSG, what,
					  (int)(len > 32 ? 32 : len), s);
		*ret_is_name = false;
		return 0;
	}
	if (len >= LC_NAME_MAX)
		return lc_err_set(err, LC_ERR_INVALID, 0, "%s name longer than %d bytes", what,
				  LC_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || (c == '-' && i > 0);

		if (!ok)
			return lc_err_set(err, LC_ERR_INVALID, 0, "invalid %s '%.*s'", what,
					  (int)(len > 64 ? 64 : len), s);
	}
	memcpy(ret_name, s, len);
	ret_name[len] = 0;
	*ret_is_name = true;
	return 0;
}

int lc_user_parse(const char *s, struct lc_user_spec *ret, struct lc_err **err)
{
	struct lc_user_spec u = { 0 };
	const char *colon;

	if (!s || !*s) {
		*ret = u; /* root; its group comes from passwd (0 when absent) */
		return 0;
	}
	colon = strchr(s, ':');
	if (parse_half(s, colon ? (size_t)(colon - s) : strlen(s), "user", &u.uid_is_name, &u.uid,
		       u.name, err) < 0)
		return lc_err_prefix(err, "user '%.64s'", s);
	if (colon) {
		if (strchr(colon + 1, ':'))
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "user '%.64s': expected uid[:gid] or name[:group]", s);
		if (parse_half(colon + 1, strlen(colon + 1), "group", &u.gid_is_name, &u.gid,
			       u.group, err) < 0)
			return lc_err_prefix(err, "user '%.64s'", s);
		u.has_group = true;
	}
	*ret = u;
	return 0;
}

/* ---------- /etc/passwd and /etc/group ---------- */

/* Split line at ':' into at most max fields; returns how many. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == ':') {
			*p = 0;
			f[n++] = p + 1;
		}
	}
	return n;
}

typedef int (*ent_line_fn)(char *line, void *ctx, struct lc_err **err);

/*
 * Call fn for each line of fd (NUL-terminated, without '\n'), until fn returns 1 (stop) or
 * < 0 (error). Bounded by LC_ENT_MAX_LINE and LC_ENT_MAX_FILE.
 */
static int ent_scan(int fd, const char *what, ent_line_fn fn, void *ctx, struct lc_err **err)
{
	char buf[LC_ENT_MAX_LINE + 1];
	size_t have = 0, total = 0;

	for (;;) {
		ssize_t n = read(fd, buf + have, LC_ENT_MAX_LINE - have);
		size_t start = 0;
		char *nl;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "read %s", what);
		total += (size_t)n;
		if (total > LC_ENT_MAX_FILE)
			return lc_err_set(err, LC_ERR_LIMIT, 0, "%s is larger than %u bytes", what,
					  LC_ENT_MAX_FILE);
		have += (size_t)n;
		while ((nl = memchr(buf + start, '\n', have - start))) {
			*nl = 0;
			r = fn(buf + start, ctx, err);
			if (r != 0)
				return r < 0 ? r : 0;
			start = (size_t)(nl - buf) + 1;
		}
		if (n == 0) {
			if (start < have) {
				buf[have] = 0;
				r = fn(buf + start, ctx, err);
				if (r < 0)
					return r;
			}
			return 0;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == LC_ENT_MAX_LINE)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "%s has a line longer than %d bytes", what,
					  LC_ENT_MAX_LINE);
	}
}

struct pw_ctx {
	const struct lc_user_spec *spec;
	bool found;
	uint32_t uid, gid;
	char name[LC_NAME_MAX];
	char home[1024];
};

static int pw_line(char *line, void *vctx, struct lc_err **err)
{
	struct pw_ctx *c = vctx;
	char *f[7];
	uint32_t uid = 0, gid = 0;
	size_t n;
	int ru, rg;

	if (line[0] == '#' || line[0] == '+' || line[0] == '-')
		return 0;
	n = split_fields(line, f, 7);
	if (n < 4)
		return 0;
	ru = parse_id(f[2], strlen(f[2]), &uid);
	rg = parse_id(f[3], strlen(f[3]), &gid);
	if (ru == -1 || rg == -1)
		return 0; /* malformed: not an entry */
	if (c->spec->uid_is_name ? strcmp(f[0], c->spec->name) != 0 : ru < 0 || uid != c->spec->uid)
		return 0;
	if (ru < 0 || rg < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "/etc/passwd entry of '%.64s': " RANGE_MSG, f[0]);
	if (strlen(f[0]) >= sizeof(c->name) || (n >= 6 && strlen(f[5]) >= sizeof(c->home)))
		return 0;
	c->found = true;
	c->uid = uid;
	c->gid = gid;
	memcpy(c->name, f[0], strlen(f[0]) + 1);
	if (n >= 6)
		memcpy(c->home, f[5], strlen(f[5]) + 1);
	return 1;
}

struct gr_ctx {
	const struct lc_user_spec *spec;
	const char *member; /* the user's name, or NULL */
	bool found;
	uint32_t gid;
	struct lc_user *u;
};

static bool has_member(const char *list, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == nlen && memcmp(p, name, len) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static int gr_line(char *line, void *vctx, struct lc_err **err)
{
	struct gr_ctx *c = vctx;
	char *f[4] = { NULL, NULL, NULL, NULL };
	uint32_t gid = 0;
	bool named, member;
	int r;

	if (line[0] == '#' || line[0] == '+' || line[0] == '-')
		return 0;
	if (split_fields(line, f, 4) < 3 || (r = parse_id(f[2], strlen(f[2]), &gid)) == -1)
		return 0;
	named = c->spec->has_group && c->spec->gid_is_name && !c->found &&
		strcmp(f[0], c->spec->group) == 0;
	member = c->member && f[3] && has_member(f[3], c->member);
	if ((named || member) && r < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "/etc/group entry of '%.64s': " RANGE_MSG,
				  f[0]);
	if (named) {
		c->found = true;
		c->gid = gid;
	}
	if (member) {
		for (size_t i = 0; i < c->u->n_groups; i++)
			if (c->u->groups[i] == gid)
				return 0;
		if (c->u->n_groups == LC_MAX_GROUPS)
			return lc_err_set(err, LC_ERR_LIMIT, 0,
					  "user '%s' is in more than %d groups", c->member,
					  LC_MAX_GROUPS);
		c->u->groups[c->u->n_groups++] = gid;
	}
	return 0;
}

int lc_user_resolve(const struct lc_user_spec *spec, int passwd_fd, int group_fd,
		    struct lc_user *ret, struct lc_err **err)
{
	struct pw_ctx pw = { .spec = spec };
	struct gr_ctx gr = { .spec = spec };
	struct lc_user u = { 0 };

	if (passwd_fd >= 0 && ent_scan(passwd_fd, "/etc/passwd", pw_line, &pw, err) < 0)
		return -1;
	if (spec->uid_is_name && !pw.found)
		return lc_err_set(err, LC_ERR_NOTFOUND, 0,
				  "unable to find user %s: no matching entries in passwd file",
				  spec->name);
	/* a numeric uid need not exist (docker, runc): group 0 unless given */
	u.uid = pw.found ? pw.uid : spec->uid;
	u.gid = pw.found ? pw.gid : 0;
	if (pw.found)
		memcpy(u.home, pw.home, sizeof(u.home));
	gr.member = pw.found ? pw.name : NULL;
	gr.u = &u;
	if (group_fd >= 0 && (gr.member || (spec->has_group && spec->gid_is_name)) &&
	    ent_scan(group_fd, "/etc/group", gr_line, &gr, err) < 0)
		return -1;
	if (spec->has_group) {
		if (spec->gid_is_name && !gr.found)
			return lc_err_set(
				err, LC_ERR_NOTFOUND, 0,
				"unable to find group %s: no matching entries in group file",
				spec->group);
		u.gid = spec->gid_is_name ? gr.gid : spec->gid;
	}
	*ret = u;
	return 0;
}
