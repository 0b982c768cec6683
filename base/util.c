/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "base.h"

void lc_freep(void *p)
{
	free(*(void **)p);
}

void lc_closep(const int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

void lc_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void lc_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

DIR *lc_fdopendir(int fd)
{
	DIR *d;
	int e;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

void lc_strvfreep(char ***v)
{
	lc_strv_free(*v);
}

static void *oom(void *p)
{
	if (!p) {
		static const char msg[] = "layerctl: out of memory\n";

		(void)!write(2, msg, sizeof(msg) - 1);
		abort();
	}
	return p;
}

void *lc_xmalloc(size_t n)
{
	return oom(malloc(n ? n : 1));
}

void *lc_xcalloc(size_t nmemb, size_t size)
{
	return oom(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *lc_xrealloc(void *p, size_t n)
{
	return oom(realloc(p, n ? n : 1));
}

char *lc_xstrdup(const char *s)
{
	return oom(strdup(s));
}

char *lc_xstrndup(const char *s, size_t n)
{
	return oom(strndup(s, n));
}

char *lc_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom(NULL);
	return s;
}

size_t lc_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/*
 * gcc 12's -fanalyzer loses track of pointers stored in an array it saw allocated (or
 * reallocated) and reports them leaked (make analyze); ASan's leak checker, which runs on
 * every suite, is what holds these two to account.
 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
char **lc_strv_dup(char *const *v)
{
	size_t n = lc_strv_len(v), i;
	char **r = lc_xcalloc(n + 1, sizeof(char *));

	for (i = 0; i < n; i++)
		r[i] = lc_xstrdup(v[i]);
	return r;
}

void lc_strv_push(char ***v, const char *s)
{
	size_t n = lc_strv_len(*v);

	*v = lc_xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = lc_xstrdup(s);
	(*v)[n + 1] = NULL;
}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif

void lc_strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/* two lowercase hex digits of c at o; returns 2 */
static int hex2(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = hex[c >> 4];
	o[1] = hex[c & 0xf];
	return 2;
}

/* "\xNN" at o; returns 4 */
static int esc_x(char *o, unsigned char c)
{
	o[0] = '\\';
	o[1] = 'x';
	return 2 + hex2(o + 2, c);
}

void lc_random_bytes(void *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)out + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		got += (size_t)r;
	}
}

void lc_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	size_t i;

	if (n > 64)
		n = 64;
	lc_random_bytes(raw, (n + 1) / 2);
	for (i = 0; i < n; i++)
		out[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
	out[n] = '\0';
}

char *lc_escape_ctl(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	/* at most 6 bytes ("\u009b") for 2 in, 4 ("\x1b") for 1 in */
	char *out = lc_xmalloc(4 * n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '\n' || c == '\r' || c == '\t') {
			*o++ = '\\';
			*o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
			o += esc_x(o, c);
		} else if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			memcpy(o, "\\u00", 4);
			o += 4;
			o += hex2(o, p[++i]);
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

void lc_limit_str(uint64_t bytes, char *out, size_t outsz)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = -1;

	while (bytes && bytes % 1024 == 0 && u + 1 < (int)LC_ARRAY_SIZE(units)) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, outsz, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(out, outsz, "%llu %s", (unsigned long long)bytes, units[u]);
}

void lc_human_size(uint64_t bytes, char *out, size_t outsz)
{
	/* docker (go-units HumanSize): SI units, 4 significant digits trimmed ("%.4g") */
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000.0 && u + 1 < LC_ARRAY_SIZE(units)) {
		v /= 1000.0;
		u++;
	}
	snprintf(out, outsz, "%.4g%s", v, units[u]);
}

void lc_human_size_binary(uint64_t bytes, char *out, size_t outsz)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024.0 && u + 1 < LC_ARRAY_SIZE(units)) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, outsz, "%.4g%s", v, units[u]);
}

int lc_parse_size(const char *s, int64_t *ret)
{
	static const char units[] = "kmgtp";
	uint64_t whole = 0, frac_num = 0, frac_den = 1, mul = 1, v;
	const char *p = s;
	const char *u;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		/* 18 digits of fraction are more than any unit can make whole bytes of */
		for (int n = 0; isdigit((unsigned char)*p); p++, n++) {
			if (n < 18) {
				frac_num = frac_num * 10 + (uint64_t)(*p - '0');
				frac_den *= 10;
			}
		}
	}
	if (*p == ' ')
		p++;
	if (*p && (u = strchr(units, tolower((unsigned char)*p)))) {
		for (long i = 0; i <= u - units; i++)
			mul *= 1024;
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -1;
	if (whole > (uint64_t)INT64_MAX / mul)
		return -1;
	v = whole * mul;
	/* frac_num / frac_den * mul, without overflowing: mul is a power of two up to 2^50 */
	v += (uint64_t)((unsigned __int128)frac_num * mul / frac_den);
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*ret = (int64_t)v;
	return 0;
}

void lc_rfc3339_now(char *out, size_t outsz)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

bool lc_userns_nested(void)
{
	static int cached = -1;
	char buf[128] = { 0 };
	unsigned long a, b, c;
	int fd;
	ssize_t n;

	if (cached >= 0)
		return cached;
	fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* the initial namespace maps every id to itself in one line: "0 0 4294967295" */
	if (n <= 0)
		return false;
	cached = !(sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 &&
		   c == 4294967295ul);
	return cached;
}

const char *lc_ovl_opaque_xattr(void)
{
	return lc_userns_nested() ? "user.overlay.opaque" : "trusted.overlay.opaque";
}
