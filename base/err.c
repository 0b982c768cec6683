/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "base.h"

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

int lc_err_set(struct lc_err **err, enum lc_errc code, int sys_errno, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	struct lc_err *e;

	if (!err || *err)
		return -1;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (sys_errno) {
		char *full = lc_xasprintf("%s: %s", msg, strerror(sys_errno));

		free(msg);
		msg = full;
	}
	e = lc_xcalloc(1, sizeof(*e));
	e->code = code;
	e->sys_errno = sys_errno;
	e->msg = msg;
	*err = e;
	return -1;
}

int lc_err_prefix(struct lc_err **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *full;

	if (!err || !*err)
		return -1;
	va_start(ap, fmt);
	ctx = vformat(fmt, ap);
	va_end(ap);
	full = lc_xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = full;
	return -1;
}

void lc_err_free(struct lc_err *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

int lc_err_move(struct lc_err **to, struct lc_err **from)
{
	if (!from || !*from)
		return -1;
	if (to && !*to)
		*to = *from;
	else
		lc_err_free(*from);
	*from = NULL;
	return -1;
}
