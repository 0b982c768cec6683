/* SPDX-License-Identifier: MIT */
/*
 * HTTP for the registry client: libcurl easy handles (one per thread), redirects followed by
 * hand so that Authorization never leaves its origin, bounded bodies, retries with backoff.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fetch-int.h"

/* ---------- pure helpers ---------- */

void lc_url_clear(struct lc_url *u)
{
	free(u->scheme);
	free(u->host);
	memset(u, 0, sizeof(*u));
}

static void curl_urlp_free(CURLU **u)
{
	if (*u)
		curl_url_cleanup(*u);
}
#define cleanup_curlu __attribute__((cleanup(curl_urlp_free)))

static void curl_strp_free(char **s)
{
	if (*s)
		curl_free(*s);
}
#define cleanup_curlstr __attribute__((cleanup(curl_strp_free)))

static char *lower_dup(const char *s)
{
	char *d = lc_xstrdup(s);

	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int url_parts(CURLU *h, const char *shown, struct lc_url *ret, struct lc_err **err)
{
	cleanup_curlstr char *scheme = NULL;
	cleanup_curlstr char *host = NULL;
	cleanup_curlstr char *port = NULL;
	size_t hl;

	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		return lc_err_set(err, LC_ERR_PROTO, 0, "invalid URL '%.200s'", shown);
	if (curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		port = NULL;
	ret->scheme = lower_dup(scheme);
	hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		ret->host = lower_dup(host + 1), ret->host[hl - 2] = 0;
	else
		ret->host = lower_dup(host);
	ret->port = port ? strtol(port, NULL, 10) : 0;
	return 0;
}

int lc_url_parse(const char *url, struct lc_url *ret, struct lc_err **err)
{
	cleanup_curlu CURLU *h = curl_url();

	if (!h)
		abort();
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		return lc_err_set(err, LC_ERR_PROTO, 0, "invalid URL '%.200s'", url);
	return url_parts(h, url, ret, err);
}

int lc_redirect_policy(const char *from, const char *location, unsigned hops, bool insecure,
		       char **ret_url, bool *ret_keep_auth, struct lc_err **err)
{
	cleanup_curlu CURLU *h = curl_url();
	cleanup_curlstr char *abs = NULL;
	struct lc_url f = { 0 }, t = { 0 };
	int r = -1;

	if (!h)
		abort();
	if (hops >= LC_MAX_REDIRECTS)
		return lc_err_set(err, LC_ERR_PROTO, 0, "too many redirects (more than %d)",
				  LC_MAX_REDIRECTS);
	if (!location || !*location)
		return lc_err_set(err, LC_ERR_PROTO, 0, "redirect without a Location");
	if (curl_url_set(h, CURLUPART_URL, from, 0) != CURLUE_OK ||
	    curl_url_set(h, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_URL, &abs, 0) != CURLUE_OK)
		return lc_err_set(err, LC_ERR_PROTO, 0, "invalid redirect location '%.200s'",
				  location);
	{
		/* the scheme first: file:///etc/passwd has no host, and is no parse error */
		cleanup_curlstr char *scheme = NULL;

		if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		    strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "refusing redirect to a '%.20s' URL", scheme);
	}
	if (lc_url_parse(from, &f, err) < 0)
		goto out;
	if (url_parts(h, location, &t, err) < 0)
		goto out;
	if (strcmp(t.scheme, "http") != 0 && strcmp(t.scheme, "https") != 0) {
		lc_err_set(err, LC_ERR_UNSAFE, 0, "refusing redirect to a '%.20s' URL", t.scheme);
		goto out;
	}
	/* a loopback target is no excuse for a remote registry: that would hand it the local
	 * plain-http services (SSRF); only a loopback registry may send us to loopback http */
	if (!strcmp(f.scheme, "https") && !strcmp(t.scheme, "http") && !insecure &&
	    !(lc_host_is_loopback(f.host) && lc_host_is_loopback(t.host))) {
		lc_err_set(err, LC_ERR_UNSAFE, 0,
			   "refusing redirect from https to plain http ('%.200s')", t.host);
		goto out;
	}
	*ret_keep_auth = !strcmp(f.scheme, t.scheme) && !strcmp(f.host, t.host) && f.port == t.port;
	*ret_url = lc_xstrdup(abs);
	r = 0;
out:
	lc_url_clear(&f);
	lc_url_clear(&t);
	return r;
}

/* Keep what came from the network printable on a terminal. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

char *lc_registry_errors_parse(const char *body, size_t len)
{
	json_t *j, *errs, *e;
	size_t i;
	char *out = NULL;

	if (!body || len == 0 || len > LC_MAX_ERROR_BODY)
		return NULL;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return NULL;
	errs = json_object_get(j, "errors");
	json_array_foreach(errs, i, e)
	{
		json_t *code = json_object_get(e, "code");
		json_t *msg = json_object_get(e, "message");
		cleanup_free char *c = NULL;
		cleanup_free char *m = NULL;
		char *n;

		if (i == 3)
			break;
		if (json_is_string(code)) {
			c = lc_xasprintf("%.64s", json_string_value(code));
			for (char *p = c; *p; p++)
				*p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
		}
		if (json_is_string(msg))
			m = lc_xasprintf("%.200s", json_string_value(msg));
		if (!c && !m)
			continue;
		n = lc_xasprintf("%s%s%s%s%s", out ? out : "", out ? "; " : "", c ? c : "",
				 c && m ? ": " : "", m ? m : "");
		free(out);
		out = n;
	}
	json_decref(j);
	if (out)
		sanitize(out);
	return out;
}

long lc_retry_after_parse(const char *v, long cap)
{
	char *end;
	long s;

	if (!v || !*v)
		return -1;
	while (*v == ' ')
		v++;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		s = strtol(v, &end, 10);
		while (*end == ' ')
			end++;
		if (errno || *end)
			return -1;
	} else {
		time_t t = curl_getdate(v, NULL);

		if (t < 0)
			return -1;
		s = (long)(t - time(NULL));
		if (s < 0)
			s = 0;
	}
	return s > cap ? cap : s;
}

long lc_backoff_ms(unsigned n, uint32_t rnd)
{
	long d = 500L << (n < 4 ? n : 4);

	return d / 2 + (long)(rnd % (uint32_t)(d / 2 + 1));
}

/* ---------- transfers ---------- */

struct lc_http {
	CURL *c;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort();
}

struct lc_http *lc_http_new(void)
{
	struct lc_http *h = lc_xcalloc(1, sizeof(*h));

	pthread_once(&curl_once, curl_init_once);
	h->c = curl_easy_init();
	if (!h->c)
		abort();
	return h;
}

void lc_http_free(struct lc_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->c);
	free(h);
}

void lc_http_resp_clear(struct lc_http_resp *r)
{
	free(r->body);
	free(r->content_type);
	free(r->docker_digest);
	free(r->www_authenticate);
	free(r->retry_after);
	free(r->ratelimit_limit);
	free(r->ratelimit_remaining);
	memset(r, 0, sizeof(*r));
}

/* State of one request/response exchange. */
struct xfer {
	const struct lc_http_req *req;
	struct lc_http_resp *resp;
	CURL *c;
	char *location, *content_range;
	size_t error_len; /* bytes of a non-2xx body kept */
	uint64_t seen;	  /* body bytes of this response */
	uint64_t skip;	  /* bytes to drop (a resumed stream the server restarted) */
	uint64_t resume_from;
	bool started;
	struct lc_err *err; /* the callback's own failure */
};

static void xfer_reset_headers(struct xfer *x)
{
	struct lc_http_resp *r = x->resp;

	free(r->content_type);
	free(r->docker_digest);
	free(r->www_authenticate);
	free(r->retry_after);
	free(r->ratelimit_limit);
	free(r->ratelimit_remaining);
	free(x->location);
	free(x->content_range);
	r->content_type = r->docker_digest = r->www_authenticate = r->retry_after = NULL;
	r->ratelimit_limit = r->ratelimit_remaining = NULL;
	x->location = x->content_range = NULL;
}

static void set_header(char **slot, const char *v, size_t n, bool append)
{
	if (n > LC_MAX_HEADER_VALUE)
		n = LC_MAX_HEADER_VALUE;
	if (append && *slot) {
		char *j = lc_xasprintf("%s, %.*s", *slot, (int)n, v);

		free(*slot);
		*slot = j;
		if (strlen(j) > 4 * LC_MAX_HEADER_VALUE)
			j[4 * LC_MAX_HEADER_VALUE] = 0;
		return;
	}
	free(*slot);
	*slot = lc_xstrndup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	const char *colon = memchr(buf, ':', n);
	const char *v;
	size_t name_len, vlen;

	if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
		xfer_reset_headers(x); /* a new response (after 100 Continue, say) */
		return n;
	}
	if (!colon)
		return n;
	name_len = (size_t)(colon - buf);
	v = colon + 1;
	vlen = n - name_len - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
#define IS(h) (name_len == strlen(h) && !strncasecmp(buf, h, name_len))
	if (IS("content-type")) {
		size_t k = 0;

		while (k < vlen && v[k] != ';' && v[k] != ' ')
			k++;
		set_header(&x->resp->content_type, v, k, false);
		for (char *p = x->resp->content_type; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (IS("docker-content-digest")) {
		set_header(&x->resp->docker_digest, v, vlen, false);
	} else if (IS("www-authenticate")) {
		set_header(&x->resp->www_authenticate, v, vlen, true);
	} else if (IS("retry-after")) {
		set_header(&x->resp->retry_after, v, vlen, false);
	} else if (IS("ratelimit-limit")) {
		set_header(&x->resp->ratelimit_limit, v, vlen > 64 ? 64 : vlen, false);
	} else if (IS("ratelimit-remaining")) {
		set_header(&x->resp->ratelimit_remaining, v, vlen > 64 ? 64 : vlen, false);
	} else if (IS("location")) {
		set_header(&x->location, v, vlen, false);
	} else if (IS("content-range")) {
		set_header(&x->content_range, v, vlen, false);
	}
#undef IS
	return n;
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	const struct lc_http_req *req = x->req;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		/* keep a bounded error body to explain the failure, drop the rest */
		size_t keep = n;

		if (x->error_len + keep > LC_MAX_ERROR_BODY)
			keep = LC_MAX_ERROR_BODY - x->error_len;
		if (keep) {
			x->resp->body = lc_xrealloc(x->resp->body, x->error_len + keep + 1);
			memcpy(x->resp->body + x->error_len, buf, keep);
			x->error_len += keep;
			x->resp->body[x->error_len] = 0;
			x->resp->len = x->error_len;
		}
		return n;
	}
	if (!x->started) {
		x->started = true;
		if (x->resume_from) {
			if (status == 206) {
				char want[64];

				snprintf(want, sizeof(want), "bytes %llu-",
					 (unsigned long long)x->resume_from);
				if (!x->content_range ||
				    strncasecmp(x->content_range, want, strlen(want)) != 0) {
					lc_err_set(&x->err, LC_ERR_PROTO, 0,
						   "resumed download: unexpected Content-Range "
						   "'%.80s'",
						   x->content_range ? x->content_range : "");
					return 0;
				}
			} else {
				x->skip = x->resume_from; /* Range ignored: starts over */
			}
		}
	}
	x->seen += n;
	if (x->skip) {
		size_t drop = x->skip < n ? (size_t)x->skip : n;

		x->skip -= drop;
		buf += drop;
		n -= drop;
		if (!n)
			return size * nmemb;
	}
	if (req->on_data) {
		if (req->on_data(buf, n, req->data, &x->err) < 0) {
			if (!x->err)
				lc_err_set(&x->err, LC_ERR_PROTO, 0, "transfer stopped");
			return 0; /* CURLE_WRITE_ERROR: the transfer stops now */
		}
		x->resp->delivered += n;
		return size * nmemb;
	}
	if (x->resp->len + n > req->max_body) {
		char lim[32];

		lc_limit_str(req->max_body, lim, sizeof(lim));
		lc_err_set(&x->err, LC_ERR_LIMIT, 0, "response is larger than %s, the limit", lim);
		return 0;
	}
	x->resp->body = lc_xrealloc(x->resp->body, x->resp->len + n + 1);
	memcpy(x->resp->body + x->resp->len, buf, n);
	x->resp->len += n;
	x->resp->body[x->resp->len] = 0;
	return size * nmemb;
}

static bool cancelled(const struct lc_http_req *req)
{
	return req->cancel && atomic_load(req->cancel);
}

static int on_xferinfo(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = data;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return cancelled(x->req) ? 1 : 0;
}

/* Sleep ms milliseconds, waking early when the request is cancelled. */
static void backoff_sleep(const struct lc_http_req *req, long ms)
{
	while (ms > 0 && !cancelled(req)) {
		long step = ms > 50 ? 50 : ms;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/*
 * Wait before retry n of a request that already waited *waited ms, if the budget allows:
 * the server's Retry-After (seconds, -1 when it sent none) or lc_backoff_ms. 0 after the
 * wait, -1 when the budget is spent (or would be by the wait) or the request was cancelled.
 */
static int retry_wait(const struct lc_http_req *req, long budget, long *waited, unsigned n,
		      long retry_after)
{
	uint32_t rnd;
	long wait;

	if (budget < 0 || cancelled(req))
		return -1;
	if (retry_after >= 0) {
		wait = retry_after * 1000;
	} else {
		lc_random_bytes(&rnd, sizeof(rnd));
		wait = lc_backoff_ms(n, rnd);
	}
	if (*waited + wait > budget)
		return -1;
	*waited += wait;
	backoff_sleep(req, wait);
	return cancelled(req) ? -1 : 0;
}

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool retryable_status(long s)
{
	return s == 429 || s == 500 || s == 502 || s == 503 || s == 504 || s == 408;
}

static char *host_of(const char *url)
{
	struct lc_url u = { 0 };
	char *h;

	if (lc_url_parse(url, &u, NULL) < 0)
		return lc_xstrdup("?");
	h = (u.port == 80 && !strcmp(u.scheme, "http")) ||
			    (u.port == 443 && !strcmp(u.scheme, "https"))
		    ? lc_xstrdup(u.host)
		    : lc_xasprintf(strchr(u.host, ':') ? "[%s]:%ld" : "%s:%ld", u.host, u.port);
	lc_url_clear(&u);
	return h;
}

/*
 * --trace: one line a request. Never a credential: no header value, no POST body, no user
 * info of the URL, and of its query only the parameters known to carry none (a CDN's signed
 * URL holds its signature there).
 */
static void trace_request(CURL *c, const struct lc_http_req *req, const char *url, bool send_auth,
			  CURLcode rc)
{
	static const char *const shown[] = { "scope", "service", "n", "last", "digest" };
	char shown_url[2048];
	const char *p = url, *q = strchr(url, '?'), *at, *slash;
	size_t off = 0;
	long status = 0;
	curl_off_t bytes = 0, usec = 0;

	/* scheme://[userinfo@]host/path */
	slash = strstr(url, "://");
	if (slash) {
		const char *host = slash + 3, *end = host + strcspn(host, "/?#");

		at = memchr(host, '@', (size_t)(end - host));
		off += (size_t)snprintf(shown_url, sizeof(shown_url), "%.*s", (int)(host - url),
					url);
		p = at ? at + 1 : host;
	}
	off += (size_t)snprintf(shown_url + off, sizeof(shown_url) - off, "%.*s",
				(int)(q ? (size_t)(q - p) : strcspn(p, "#")), p);
	for (const char *kv = q ? q + 1 : NULL; kv && *kv && off < sizeof(shown_url);) {
		size_t n = strcspn(kv, "&#"), k = strcspn(kv, "=&#");
		bool keep = false;

		for (size_t i = 0; i < LC_ARRAY_SIZE(shown); i++)
			keep = keep || (k == strlen(shown[i]) && !strncmp(kv, shown[i], k));
		off += (size_t)snprintf(shown_url + off, sizeof(shown_url) - off, "%c%.*s%s",
					kv == q + 1 ? '?' : '&', (int)(keep ? n : k), kv,
					keep || k == n ? "" : "=REDACTED");
		kv += n;
		if (*kv != '&')
			break;
		kv++;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &bytes);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &usec);
	if (rc != CURLE_OK)
		lc_trace_line("%s %s: %s after %.3f s",
			      req->head	  ? "HEAD"
			      : req->post ? "POST"
					  : "GET",
			      shown_url, curl_easy_strerror(rc), (double)usec / 1e6);
	else
		lc_trace_line("%s %s = %ld, %lld bytes, %.3f s%s",
			      req->head		       ? "HEAD"
			      : req->post && send_auth ? "POST"
						       : "GET",
			      shown_url, status, (long long)bytes, (double)usec / 1e6,
			      req->authorization && send_auth ? ", Authorization sent (not shown)"
			      : req->authorization	      ? ", no Authorization (another host)"
							      : "");
}

/* One request to url, no redirects followed. */
static CURLcode perform_one(struct lc_http *h, struct xfer *x, const char *url, bool send_auth,
			    char *errbuf)
{
	const struct lc_http_req *req = x->req;
	struct curl_slist *hdrs = NULL;
	cleanup_free char *auth = NULL;
	cleanup_free char *accept = NULL;
	char range[64];
	CURLcode rc;
	CURL *c = h->c;

	curl_easy_reset(c);
	x->c = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	{
		bool noverify = req->insecure || (send_auth && req->skip_verify);

		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, noverify ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, noverify ? 0L : 2L);
	}
	/* a private CA and a client certificate belong to the configured host, as credentials */
	if (send_auth && req->ca_pem) {
		struct curl_blob b = { .data = (void *)req->ca_pem,
				       .len = strlen(req->ca_pem),
				       .flags = CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
	}
	if (send_auth && req->cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, req->cert);
		if (req->key)
			curl_easy_setopt(c, CURLOPT_SSLKEY, req->key);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer (under 1 byte/s for 60 s) is a failure, not a hang */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "layerctl/0.1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (req->head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (req->post && send_auth) {
		/* a form holds a refresh token: like Authorization, only for url's own origin */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req->post));
		hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
	}
	if (req->accept) {
		accept = lc_xasprintf("Accept: %s", req->accept);
		hdrs = curl_slist_append(hdrs, accept);
	}
	if (req->authorization && send_auth) {
		auth = lc_xasprintf("Authorization: %s", req->authorization);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (x->resume_from) {
		snprintf(range, sizeof(range), "Range: bytes=%llu-",
			 (unsigned long long)x->resume_from);
		hdrs = curl_slist_append(hdrs, range);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	errbuf[0] = 0;
	rc = curl_easy_perform(c);
	if (lc_trace_fd >= 0)
		trace_request(c, req, url, send_auth, rc);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}

int lc_http_do(struct lc_http *h, const struct lc_http_req *req, struct lc_http_resp *ret,
	       struct lc_err **err)
{
	struct lc_http_resp resp = { 0 };
	struct xfer x = { .req = req, .resp = &resp };
	char errbuf[CURL_ERROR_SIZE];
	long budget = req->retry_ms ? req->retry_ms : LC_HTTP_RETRY_MS;
	long waited = 0;
	uint64_t progress = 0;
	unsigned n_retry = 0;
	int r = -1;

	for (;;) {
		cleanup_free char *url = lc_xstrdup(req->url);
		bool send_auth = true;
		unsigned hops = 0;
		long status = 0;
		CURLcode rc;

		while (true) {
			char *next = NULL;
			bool keep = false;

			/* a fresh response for each hop; a stream keeps what it delivered */
			free(resp.body);
			resp.body = NULL;
			resp.len = 0;
			x.error_len = 0;
			x.seen = x.skip = 0;
			x.started = false;
			x.resume_from = req->on_data ? req->offset + resp.delivered : 0;
			rc = perform_one(h, &x, url, send_auth, errbuf);
			if (x.err) {
				lc_err_move(err, &x.err);
				goto out;
			}
			if (cancelled(req)) {
				lc_err_set(err, LC_ERR_NET, ECANCELED, "transfer");
				goto out;
			}
			if (rc != CURLE_OK)
				break;
			curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
			if (status != 301 && status != 302 && status != 303 && status != 307 &&
			    status != 308)
				break;
			if (lc_redirect_policy(url, x.location, hops, req->insecure, &next, &keep,
					       err) < 0) {
				cleanup_free char *host = host_of(url);

				lc_err_prefix(err, "redirect from '%s'", host);
				goto out;
			}
			/* Authorization never follows a redirect off its origin, even back */
			send_auth = send_auth && keep;
			free(url);
			url = next;
			hops++;
		}
		if (resp.delivered > progress) {
			/* bytes came: the server works, the next failure starts a new budget */
			progress = resp.delivered;
			waited = 0;
			n_retry = 0;
		}
		if (rc != CURLE_OK) {
			cleanup_free char *host = host_of(url);

			if (retryable_curl(rc) &&
			    retry_wait(req, budget, &waited, n_retry++, -1) == 0)
				continue;
			lc_err_set(err, LC_ERR_NET, 0, "%s '%s': %s",
				   resp.delivered ? "download from" : "cannot reach", host,
				   errbuf[0] ? errbuf : curl_easy_strerror(rc));
			goto out;
		}
		if (retryable_status(status) &&
		    retry_wait(req, budget, &waited, n_retry++,
			       lc_retry_after_parse(resp.retry_after, 3600)) == 0)
			continue;
		resp.status = status;
		break;
	}
	*ret = resp;
	memset(&resp, 0, sizeof(resp));
	r = 0;
out:
	free(x.location);
	free(x.content_range);
	lc_err_free(x.err);
	lc_http_resp_clear(&resp);
	return r;
}
