/* SPDX-License-Identifier: MIT */
/*
 * ulimit: docker's --ulimit NAME=SOFT[:HARD], parsed with docker's (go-units') rules and
 * messages, and set in the container's process before it becomes its user.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mount-int.h"

static const struct {
	const char *name;
	int resource;
} ulimit_names[] = {
	{ "as", RLIMIT_AS },
	{ "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

/* Go's strconv.ParseInt(s, 10, 64), its message when it fails */
static int parse_i64(const char *s, size_t len, int64_t *ret, struct lc_err **err)
{
	char buf[32], *end;

	if (len == 0 || len >= sizeof(buf))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "strconv.ParseInt: parsing \"%.*s\": invalid syntax", (int)len,
				  s);
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	*ret = strtoll(buf, &end, 10);
	if (*end || errno || buf[0] == ' ' || buf[0] == '+')
		return lc_err_set(err, LC_ERR_INVALID, 0, "strconv.ParseInt: parsing \"%s\": %s",
				  buf, errno == ERANGE ? "value out of range" : "invalid syntax");
	return 0;
}

int lc_ulimit_parse(const char *s, struct lc_rlimit *ret, struct lc_err **err)
{
	const char *eq = strchr(s, '='), *v, *colon;
	int64_t soft, hard;
	size_t i;

	if (!eq)
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid ulimit argument: %s", s);
	for (i = 0; i < LC_ARRAY_SIZE(ulimit_names); i++)
		if (strlen(ulimit_names[i].name) == (size_t)(eq - s) &&
		    !strncmp(ulimit_names[i].name, s, (size_t)(eq - s)))
			break;
	if (i == LC_ARRAY_SIZE(ulimit_names))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid ulimit type: %.*s",
				  (int)(eq - s), s);
	v = eq + 1;
	colon = strchr(v, ':');
	if (colon && strchr(colon + 1, ':'))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "too many limit value arguments - %s, can only have up to two, "
				  "`soft[:hard]`",
				  v);
	if (colon && parse_i64(colon + 1, strlen(colon + 1), &hard, err) < 0)
		return -1;
	if (parse_i64(v, colon ? (size_t)(colon - v) : strlen(v), &soft, err) < 0)
		return -1;
	if (!colon)
		hard = soft;
	if (hard != -1 && soft > hard)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "ulimit soft limit must be less than or equal to hard limit: "
				  "%lld > %lld",
				  (long long)soft, (long long)hard);
	/* as Go's uint64(int64): -1 is RLIM_INFINITY */
	*ret = (struct lc_rlimit){ .resource = ulimit_names[i].resource,
				   .soft = (uint64_t)soft,
				   .hard = (uint64_t)hard };
	return 0;
}

int lc_rlimits_apply(const struct lc_rlimit *r, size_t n, struct lc_err **err)
{
	for (size_t i = 0; i < n; i++) {
		struct rlimit rl = { .rlim_cur = (rlim_t)r[i].soft, .rlim_max = (rlim_t)r[i].hard };

		if (setrlimit((__rlimit_resource_t)r[i].resource, &rl) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "set ulimit %d to %llu:%llu",
					  r[i].resource, (unsigned long long)r[i].soft,
					  (unsigned long long)r[i].hard);
	}
	return 0;
}
