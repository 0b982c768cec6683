/* SPDX-License-Identifier: MIT */
/*
 * libcurl, loaded on first use. layerctl does not link libcurl: its tree (TLS, GSSAPI, LDAP,
 * SSH, IDN, HTTP/2, ...) would be mapped and relocated at every start, by `run`, `ps` and
 * `--help` too. Instead this file defines exactly the curl_* functions layerctl calls, with
 * the prototypes of <curl/curl.h> (a definition that disagrees with the header does not
 * compile), and each forwards to libcurl.so.4, opened once (lc_dl_ready, base/dl.c) by the
 * first call or by lc_fetch_need_libcurl, which the entry points that talk to registries call first so that
 * a missing library is one error line, never a crash. A new curl_* call elsewhere in layerctl
 * fails to link until it is added here.
 */
#include <stdarg.h>

/* the typecheck macros would rename the two variadic functions this file defines */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#undef curl_easy_setopt
#undef curl_easy_getinfo

#include "fetch-int.h"

/*
 * The functions with fixed parameters: X(return type, name, (parameters), (arguments), value
 * returned when libcurl cannot be loaded); V(name, (parameters), (arguments)) for those that
 * return nothing (they only release what libcurl made, so there is nothing to do without it).
 */
#define CURL_FUNCS(X, V)                                                                           \
	X(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                    \
	X(CURL *, curl_easy_init, (void), (), NULL)                                                \
	X(CURLcode, curl_easy_perform, (CURL * c), (c), CURLE_FAILED_INIT)                         \
	V(curl_easy_cleanup, (CURL * c), (c))                                                      \
	V(curl_easy_reset, (CURL * c), (c))                                                        \
	X(const char *, curl_easy_strerror, (CURLcode rc), (rc), "libcurl is not loaded")          \
	X(char *, curl_easy_escape, (CURL * c, const char *s, int len), (c, s, len), NULL)         \
	V(curl_free, (void *p), (p))                                                               \
	X(time_t, curl_getdate, (const char *s, const time_t *unused), (s, unused), -1)            \
	X(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),  \
	  NULL)                                                                                    \
	V(curl_slist_free_all, (struct curl_slist * l), (l))                                       \
	X(CURLU *, curl_url, (void), (), NULL)                                                     \
	V(curl_url_cleanup, (CURLU * u), (u))                                                      \
	X(CURLUcode, curl_url_get, (CURLU * u, CURLUPart what, char **part, unsigned flags),       \
	  (u, what, part, flags), CURLUE_OUT_OF_MEMORY)                                            \
	X(CURLUcode, curl_url_set, (CURLU * u, CURLUPart what, const char *part, unsigned flags),  \
	  (u, what, part, flags), CURLUE_OUT_OF_MEMORY)

#define PTR(ret, name, params, args, fail) __typeof__(name) *name;
#define PTR_V(name, params, args)	   __typeof__(name) *name;
static struct {
	CURL_FUNCS(PTR, PTR_V)
	__typeof__(curl_easy_setopt) *curl_easy_setopt;
	__typeof__(curl_easy_getinfo) *curl_easy_getinfo;
} fn;
#undef PTR
#undef PTR_V

#define SYM(ret, name, params, args, fail) { #name, (void **)&fn.name },
#define SYM_V(name, params, args)	   { #name, (void **)&fn.name },
static const struct lc_dl_sym syms[] = {
	CURL_FUNCS(SYM, SYM_V){ "curl_easy_setopt", (void **)&fn.curl_easy_setopt },
	{ "curl_easy_getinfo", (void **)&fn.curl_easy_getinfo },
};
#undef SYM
#undef SYM_V

static struct lc_dl_lib lib = LC_DL_LIB("libcurl.so.4", "libcurl4", syms);

int lc_fetch_need_libcurl(struct lc_err **err)
{
	return lc_dl_need(&lib, err);
}

void lc_fetch_libcurl_soname_for_test(const char *name)
{
	lib.soname = name;
}

#define FORWARD(ret, name, params, args, fail) LC_DL_FORWARD(lib, fn, ret, name, params, args, fail)
#define FORWARD_V(name, params, args)	       LC_DL_FORWARD_VOID(lib, fn, name, params, args)
CURL_FUNCS(FORWARD, FORWARD_V)
#undef FORWARD
#undef FORWARD_V

/*
 * The variadic two take one argument after the option, whose type the option's number tells
 * (CURLOPTTYPE_* ranges, CURLINFO_* type bits): read it as that type and pass it on, as
 * libcurl's own curl_easy_setopt reads it.
 */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	CURLcode rc;
	va_list ap;

	if (!lc_dl_ready(&lib))
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		long v = va_arg(ap, long);

		rc = fn.curl_easy_setopt(c, opt, v);
	} else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
		void *v = va_arg(ap, void *);

		rc = fn.curl_easy_setopt(c, opt, v);
	} else if (opt < CURLOPTTYPE_OFF_T) {
		void (*v)(void) = va_arg(ap, void (*)(void));

		rc = fn.curl_easy_setopt(c, opt, v);
	} else if (opt < CURLOPTTYPE_BLOB) {
		curl_off_t v = va_arg(ap, curl_off_t);

		rc = fn.curl_easy_setopt(c, opt, v);
	} else {
		struct curl_blob *v = va_arg(ap, struct curl_blob *);

		rc = fn.curl_easy_setopt(c, opt, v);
	}
	va_end(ap);
	return rc;
}

CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	CURLcode rc;
	va_list ap;

	if (!lc_dl_ready(&lib))
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	switch (info & CURLINFO_TYPEMASK) {
	case CURLINFO_STRING:
		rc = fn.curl_easy_getinfo(c, info, va_arg(ap, char **));
		break;
	case CURLINFO_LONG:
		rc = fn.curl_easy_getinfo(c, info, va_arg(ap, long *));
		break;
	case CURLINFO_DOUBLE:
		rc = fn.curl_easy_getinfo(c, info, va_arg(ap, double *));
		break;
	case CURLINFO_SLIST: /* and CURLINFO_PTR, the same bits */
		rc = fn.curl_easy_getinfo(c, info, va_arg(ap, void *));
		break;
	case CURLINFO_SOCKET:
		rc = fn.curl_easy_getinfo(c, info, va_arg(ap, curl_socket_t *));
		break;
	case CURLINFO_OFF_T:
		rc = fn.curl_easy_getinfo(c, info, va_arg(ap, curl_off_t *));
		break;
	default:
		rc = CURLE_BAD_FUNCTION_ARGUMENT;
		break;
	}
	va_end(ap);
	return rc;
}
