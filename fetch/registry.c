/* SPDX-License-Identifier: MIT */
/*
 * The registry API for one repository: authenticated requests (anonymous Bearer tokens per
 * scope, Basic credentials for their own host), manifests and blobs, and errors a user can act
 * on. Shared by the pull's threads: auth state is under a mutex, each thread brings its own
 * transfer handle.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fetch-int.h"

#define ACCEPT_MANIFESTS                                                                           \
	LC_MT_OCI_INDEX ", " LC_MT_OCI_MANIFEST ", " LC_MT_DOCKER_LIST ", " LC_MT_DOCKER_MANIFEST

struct token {
	char *scope, *value;
	time_t expires;
};

struct lc_registry {
	char *base;   /* "https://registry-1.docker.io/v2": the API's root */
	char *domain; /* "docker.io" (credential lookup key) */
	char *host;   /* "registry-1.docker.io": where requests go, for messages */
	const struct lc_host *settings; /* TLS of a configured host, or NULL */
	char *settings_host;		/* its host name, without port */
	char *path;			/* "library/nginx" */
	char *name;			/* familiar repository name for messages */
	bool insecure;
	char *config_path;
	long retry_ms; /* lc_http_req's: 0 default, < 0 no retries */

	pthread_mutex_t lock; /* guards everything below */
	bool creds_loaded;
	struct lc_creds creds; /* from config.json or its credential helper */
	bool use_basic;
	struct token *tokens;
	size_t n_tokens;
	char *ratelimit; /* the last "ratelimit-remaining" seen, with its limit */
};

int lc_registry_new(const struct lc_ref *ref, bool insecure, struct lc_registry **ret,
		    struct lc_err **err)
{
	struct lc_registry *r = lc_xcalloc(1, sizeof(*r));
	cleanup_free char *fam = lc_ref_familiar(ref);

	(void)err;
	{
		cleanup_free char *b = lc_ref_base_url(ref, insecure);
		struct lc_url u = { 0 };

		r->base = lc_xasprintf("%s/v2", b);
		r->host = lc_url_parse(b, &u, NULL) == 0 ? lc_xstrdup(u.host) : lc_xstrdup(b);
		lc_url_clear(&u);
	}
	r->domain = lc_xstrdup(ref->domain);
	r->path = lc_xstrdup(ref->path);
	/* the familiar form without tag or digest */
	fam[strcspn(fam, "@")] = 0;
	{
		char *slash = strrchr(fam, '/');
		char *colon = strrchr(slash ? slash : fam, ':');

		if (colon)
			*colon = 0;
	}
	r->name = TAKE_PTR(fam);
	r->insecure = insecure;
	pthread_mutex_init(&r->lock, NULL);
	*ret = r;
	return 0;
}

void lc_registry_free(struct lc_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_tokens; i++) {
		free(r->tokens[i].scope);
		free(r->tokens[i].value);
	}
	free(r->tokens);
	lc_creds_clear(&r->creds);
	free(r->base);
	free(r->host);
	free(r->settings_host);
	free(r->domain);
	free(r->path);
	free(r->name);
	free(r->config_path);
	free(r->ratelimit);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void lc_registry_set_config(struct lc_registry *r, const char *config_path)
{
	free(r->config_path);
	r->config_path = config_path ? lc_xstrdup(config_path) : NULL;
}

int lc_registry_new_host(const struct lc_ref *ref, const struct lc_host *host, bool insecure,
			 struct lc_registry **ret, struct lc_err **err)
{
	struct lc_registry *r;
	struct lc_url u = { 0 };
	const char *path;
	size_t n;

	if (lc_url_parse(host->url, &u, err) < 0)
		return -1;
	if (lc_registry_new(ref, insecure, &r, err) < 0) {
		lc_url_clear(&u);
		return -1;
	}
	/* the API's root: the URL's path + /v2 (containerd's rule), as is with override_path */
	path = strstr(host->url + strlen(u.scheme) + 3, "/");
	n = path ? strlen(path) : 0;
	free(r->base);
	if (!path || host->override_path || (n >= 3 && !strcmp(path + n - 3, "/v2")))
		r->base = lc_xasprintf("%s%s", host->url, path ? "" : "/v2");
	else
		r->base = lc_xasprintf("%s/v2", host->url);
	free(r->host);
	r->host =
		(u.port == 80 && !strcmp(u.scheme, "http")) ||
				(u.port == 443 && !strcmp(u.scheme, "https"))
			? lc_xstrdup(u.host)
			: lc_xasprintf(strchr(u.host, ':') ? "[%s]:%ld" : "%s:%ld", u.host, u.port);
	/* a mirror's credentials are its own; the upstream's are the name's */
	if (!host->upstream) {
		free(r->domain);
		r->domain = lc_xstrdup(r->host);
	}
	r->settings = host;
	r->settings_host = lc_xstrdup(u.host);
	lc_url_clear(&u);
	*ret = r;
	return 0;
}

const char *lc_registry_host(const struct lc_registry *r)
{
	return r->host;
}

void lc_registry_set_retry(struct lc_registry *r, long retry_ms)
{
	r->retry_ms = retry_ms;
}

char *lc_registry_ratelimit(struct lc_registry *r)
{
	char *s;

	pthread_mutex_lock(&r->lock);
	s = r->ratelimit ? lc_xstrdup(r->ratelimit) : NULL;
	pthread_mutex_unlock(&r->lock);
	return s;
}

/* "76;w=21600" -> 76 and 21600 (w: 0 when absent); false when it does not start with a count */
static bool ratelimit_parse(const char *v, long *count, long *window)
{
	char *end;
	const char *w;

	if (!v || !isdigit((unsigned char)*v))
		return false;
	*count = strtol(v, &end, 10);
	w = strstr(end, "w=");
	*window = w ? strtol(w + 2, NULL, 10) : 0;
	return true;
}

/* Remember Docker Hub's pull quota from a response that carries it. */
static void note_ratelimit(struct lc_registry *r, const struct lc_http_resp *resp)
{
	long left, lwin, limit = -1, win = 0;
	char *s;

	if (!ratelimit_parse(resp->ratelimit_remaining, &left, &lwin))
		return;
	if (!ratelimit_parse(resp->ratelimit_limit, &limit, &win))
		limit = -1;
	if (!win)
		win = lwin;
	if (limit >= 0 && win > 0)
		s = lc_xasprintf("%ld of %ld pulls left (per %ld s)", left, limit, win);
	else if (limit >= 0)
		s = lc_xasprintf("%ld of %ld pulls left", left, limit);
	else
		s = lc_xasprintf("%ld pulls left", left);
	pthread_mutex_lock(&r->lock);
	free(r->ratelimit);
	r->ratelimit = s;
	pthread_mutex_unlock(&r->lock);
}

void lc_fetched_manifest_clear(struct lc_fetched_manifest *m)
{
	free(m->body);
	free(m->content_type);
	memset(m, 0, sizeof(*m));
}

static char *pull_scope(const struct lc_registry *r)
{
	return lc_xasprintf("repository:%s:pull", r->path);
}

static struct token *token_find(struct lc_registry *r, const char *scope)
{
	for (size_t i = 0; i < r->n_tokens; i++)
		if (!strcmp(r->tokens[i].scope, scope))
			return &r->tokens[i];
	return NULL;
}

/* The Authorization value to send now (caller frees), or NULL. Called with the lock held. */
static char *current_authorization_locked(struct lc_registry *r)
{
	cleanup_free char *scope = pull_scope(r);
	struct token *t = token_find(r, scope);

	if (t && t->value && time(NULL) < t->expires)
		return lc_xasprintf("Bearer %s", t->value);
	if (r->use_basic && r->creds.basic)
		return lc_xasprintf("Basic %s", r->creds.basic);
	return NULL;
}

static int load_creds_locked(struct lc_registry *r, struct lc_err **err)
{
	if (r->creds_loaded)
		return 0;
	if (lc_creds_lookup(r->config_path, r->domain, &r->creds, err) < 0)
		return -1;
	r->creds_loaded = true;
	return 0;
}

static char *status_detail(const struct lc_http_resp *resp)
{
	char *s = lc_registry_errors_parse(resp->body, resp->len);

	return s ? s : lc_xstrdup("");
}

/* GET realm?service=..&scope=.. and cache the token. Called with the lock held. */
static int fetch_token_locked(struct lc_registry *r, struct lc_http *h,
			      const struct lc_challenge *c, const char *scope, struct lc_err **err)
{
	struct lc_url realm = { 0 };
	struct lc_http_resp resp = { 0 };
	struct lc_http_req req = { 0 };
	cleanup_free char *url = NULL;
	cleanup_free char *basic = NULL;
	cleanup_free char *token = NULL;
	cleanup_free char *form = NULL;
	char *esc_service = NULL, *esc_scope = NULL, *esc_refresh = NULL;
	CURL *esc = NULL;
	long expires_in = 60;
	struct token *t;
	int ret = -1;

	if (lc_url_parse(c->realm, &realm, err) < 0)
		return lc_err_prefix(err, "token realm");
	if (strcmp(realm.scheme, "https") != 0 &&
	    !(strcmp(realm.scheme, "http") == 0 &&
	      (r->insecure || lc_host_is_loopback(realm.host)))) {
		lc_err_set(err, LC_ERR_UNSAFE, 0, "refusing token realm '%.200s' (want https)",
			   c->realm);
		goto out;
	}
	esc = curl_easy_init();
	if (!esc)
		abort();
	esc_scope = curl_easy_escape(esc, scope, 0);
	if (c->service)
		esc_service = curl_easy_escape(esc, c->service, 0);
	if (!esc_scope || (c->service && !esc_service))
		abort();
	url = lc_xasprintf("%s%s%s%s%sscope=%s", c->realm, strchr(c->realm, '?') ? "&" : "?",
			   esc_service ? "service=" : "", esc_service ? esc_service : "",
			   esc_service ? "&" : "", esc_scope);
	/*
	 * The realm is where this registry's own challenge sends us (auth.docker.io for Docker
	 * Hub), so this registry's credentials go there, as docker does; only over https or
	 * to a loopback host. An identity token is an OAuth2 refresh token: POSTed as a form
	 * (grant_type=refresh_token), the answer an access token like any other.
	 */
	if (strcmp(realm.scheme, "https") == 0 || lc_host_is_loopback(realm.host)) {
		if (r->creds.identity_token) {
			esc_refresh = curl_easy_escape(esc, r->creds.identity_token, 0);
			if (!esc_refresh)
				abort();
			form = lc_xasprintf("grant_type=refresh_token&client_id=layerctl&"
					    "refresh_token=%s&%s%s%sscope=%s",
					    esc_refresh, esc_service ? "service=" : "",
					    esc_service ? esc_service : "", esc_service ? "&" : "",
					    esc_scope);
			free(url);
			url = lc_xstrdup(c->realm);
		} else if (r->creds.basic) {
			basic = lc_xasprintf("Basic %s", r->creds.basic);
		}
	}
	req.url = url;
	req.post = form;
	req.authorization = basic;
	if (r->settings && !strcmp(realm.host, r->settings_host)) {
		/* a realm on the configured host itself: its TLS settings hold there too */
		req.ca_pem = r->settings->ca_pem;
		req.cert = r->settings->cert;
		req.key = r->settings->key;
		req.skip_verify = r->settings->skip_verify;
	}
	req.insecure = r->insecure;
	req.max_body = LC_MAX_TOKEN_SIZE;
	if (lc_http_do(h, &req, &resp, err) < 0) {
		lc_err_prefix(err, "fetch token");
		goto out;
	}
	if (resp.status != 200) {
		cleanup_free char *d = status_detail(&resp);

		lc_err_set(err,
			   resp.status == 401 || resp.status == 403 ? LC_ERR_AUTH : LC_ERR_PROTO, 0,
			   "fetch token from '%s': HTTP %ld%s%s", realm.host, resp.status,
			   *d ? ": " : "", d);
		goto out;
	}
	if (lc_token_parse(resp.body, resp.len, &token, &expires_in, err) < 0) {
		lc_err_prefix(err, "fetch token from '%s'", realm.host);
		goto out;
	}
	t = token_find(r, scope);
	if (!t) {
		r->tokens = lc_xrealloc(r->tokens, (r->n_tokens + 1) * sizeof(*r->tokens));
		t = &r->tokens[r->n_tokens++];
		t->scope = lc_xstrdup(scope);
		t->value = NULL;
	}
	free(t->value);
	t->value = TAKE_PTR(token);
	/* renew a little early so a token does not expire in flight */
	t->expires = time(NULL) + (expires_in > 20 ? expires_in - 10 : expires_in);
	ret = 0;
out:
	if (esc_scope)
		curl_free(esc_scope);
	if (esc_service)
		curl_free(esc_service);
	if (esc_refresh)
		curl_free(esc_refresh);
	if (esc)
		curl_easy_cleanup(esc);
	lc_url_clear(&realm);
	lc_http_resp_clear(&resp);
	return ret;
}

/*
 * React to a 401: learn the challenge, then fetch a token (Bearer) or switch to Basic.
 * used is the Authorization the refused request carried.
 */
static int authenticate(struct lc_registry *r, struct lc_http *h, const char *www_authenticate,
			const char *used, struct lc_err **err)
{
	struct lc_challenge c = { 0 };
	cleanup_free char *scope = pull_scope(r);
	cleanup_free char *now = NULL;
	int ret = -1;

	pthread_mutex_lock(&r->lock);
	/* another thread may have renewed the token while we waited */
	now = current_authorization_locked(r);
	if (now && (!used || strcmp(now, used) != 0)) {
		ret = 0;
		goto out;
	}
	if (load_creds_locked(r, err) < 0)
		goto out;
	if (!www_authenticate) {
		lc_err_set(err, LC_ERR_AUTH, 0, "unauthorized: authentication required");
		goto out;
	}
	if (lc_challenge_parse(www_authenticate, &c, err) < 0)
		goto out;
	if (!strcmp(c.scheme, "bearer")) {
		struct token *t = token_find(r, scope);

		if (t) { /* refused: drop it and ask again, once */
			free(t->value);
			t->value = NULL;
		}
		ret = fetch_token_locked(r, h, &c, scope, err);
	} else if (r->creds.basic && !r->use_basic) {
		r->use_basic = true;
		ret = 0;
	} else {
		lc_err_set(err, LC_ERR_AUTH, 0, "unauthorized: authentication required%s",
			   r->creds.basic ? " (the stored credentials were refused)" : "");
	}
out:
	pthread_mutex_unlock(&r->lock);
	lc_challenge_clear(&c);
	return ret;
}

/* Perform req with this registry's auth: one retry after a 401 with fresh credentials. */
static int reg_request(struct lc_registry *r, struct lc_http *h, struct lc_http_req *req,
		       struct lc_http_resp *ret, struct lc_err **err)
{
	for (int round = 0;; round++) {
		cleanup_free char *authz = NULL;
		struct lc_http_resp resp = { 0 };

		pthread_mutex_lock(&r->lock);
		authz = current_authorization_locked(r);
		pthread_mutex_unlock(&r->lock);
		req->authorization = authz;
		req->insecure = r->insecure;
		req->retry_ms = r->retry_ms;
		if (r->settings) {
			req->ca_pem = r->settings->ca_pem;
			req->cert = r->settings->cert;
			req->key = r->settings->key;
			req->skip_verify = r->settings->skip_verify;
		}
		if (lc_http_do(h, req, &resp, err) < 0) {
			req->authorization = NULL;
			return -1;
		}
		req->authorization = NULL;
		note_ratelimit(r, &resp);
		if (resp.status != 401 || round == 1) {
			*ret = resp;
			return 0;
		}
		if (authenticate(r, h, resp.www_authenticate, authz, err) < 0) {
			lc_http_resp_clear(&resp);
			return -1;
		}
		lc_http_resp_clear(&resp);
	}
}

int lc_registry_login(const char *domain, bool insecure, const char *user, const char *password,
		      struct lc_err **err)
{
	struct lc_ref ref = { .domain = (char *)domain, .path = (char *)"x" };
	cleanup_free char *base = lc_ref_base_url(&ref, insecure);
	cleanup_free char *url = lc_xasprintf("%s/v2/", base);
	cleanup_free char *up = lc_xasprintf("%s:%s", user, password);
	cleanup_free char *b64 = lc_base64(up);
	cleanup_free char *basic = lc_xasprintf("Basic %s", b64);
	cleanup_free char *turl = NULL;
	struct lc_http *h = lc_http_new();
	struct lc_http_req req = { .url = url,
				   .insecure = insecure,
				   .max_body = LC_MAX_TOKEN_SIZE };
	struct lc_http_resp resp = { 0 };
	struct lc_challenge c = { 0 };
	struct lc_url realm = { 0 };
	int ret = -1;

	/* what docker's login does: the registry's challenge says where to prove them */
	if (lc_http_do(h, &req, &resp, err) < 0)
		goto out;
	if (resp.status == 200) {
		ret = 0; /* a registry that asks for nothing accepts anyone */
		goto out;
	}
	if (resp.status != 401) {
		lc_err_set(err, LC_ERR_PROTO, 0, "registry '%s' answered HTTP %ld for /v2/", domain,
			   resp.status);
		goto out;
	}
	if (lc_challenge_parse(resp.www_authenticate ? resp.www_authenticate : "", &c, err) < 0)
		goto out;
	lc_http_resp_clear(&resp);
	if (!strcmp(c.scheme, "bearer")) {
		CURL *esc = curl_easy_init();
		char *s = NULL, *a = NULL;

		if (!esc)
			abort();
		if (lc_url_parse(c.realm, &realm, err) < 0)
			goto out;
		if (strcmp(realm.scheme, "https") != 0 && !insecure &&
		    !lc_host_is_loopback(realm.host)) {
			curl_easy_cleanup(esc);
			lc_err_set(err, LC_ERR_UNSAFE, 0,
				   "refusing token realm '%.200s' (want https)", c.realm);
			goto out;
		}
		s = c.service ? curl_easy_escape(esc, c.service, 0) : NULL;
		a = curl_easy_escape(esc, user, 0);
		turl = lc_xasprintf("%s%saccount=%s%s%s", c.realm, strchr(c.realm, '?') ? "&" : "?",
				    a ? a : "", s ? "&service=" : "", s ? s : "");
		curl_free(s);
		curl_free(a);
		curl_easy_cleanup(esc);
		req.url = turl;
	}
	req.authorization = basic;
	if (lc_http_do(h, &req, &resp, err) < 0)
		goto out;
	if (resp.status == 401 || resp.status == 403) {
		lc_err_set(err, LC_ERR_AUTH, 0, "unauthorized: incorrect username or password");
		goto out;
	}
	if (resp.status != 200) {
		cleanup_free char *d = status_detail(&resp);

		lc_err_set(err, LC_ERR_PROTO, 0, "login to '%s': HTTP %ld%s%s", domain, resp.status,
			   *d ? ": " : "", d);
		goto out;
	}
	ret = 0;
out:
	lc_url_clear(&realm);
	lc_challenge_clear(&c);
	lc_http_resp_clear(&resp);
	lc_http_free(h);
	return ret;
}

/* An error for a final non-2xx answer about what (e.g. "manifest 'nginx:latest'"). */
static int status_error(struct lc_registry *r, const struct lc_http_resp *resp, bool manifest,
			const char *reference, struct lc_err **err)
{
	cleanup_free char *d = status_detail(resp);
	const char *sep = *d ? ": " : "";
	bool digest = !strncmp(reference, "sha256:", 7);

	switch (resp->status) {
	case 401:
		return lc_err_set(err, LC_ERR_AUTH, 0,
				  "unauthorized: authentication required for '%s'%s%s", r->name,
				  sep, d);
	case 403:
		return lc_err_set(err, LC_ERR_AUTH, 0, "denied: access to '%s' forbidden%s%s",
				  r->name, sep, d);
	case 404:
		if (manifest) {
			/* say more only when the registry said something beyond the code */
			bool plain = !*d || !strcmp(d, "manifest unknown: manifest unknown") ||
				     !strncmp(d, "manifest unknown: unknown", 25);

			return lc_err_set(err, LC_ERR_NOTFOUND, 0,
					  "manifest unknown: '%s%s%s' not found%s%s", r->name,
					  digest ? "@" : ":", reference, plain ? "" : ": ",
					  plain ? "" : d);
		}
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "blob unknown: '%s' not found in '%s'",
				  reference, r->name);
	case 429: {
		cleanup_free char *left = lc_registry_ratelimit(r);

		return lc_err_set(err, LC_ERR_NET, 0,
				  "toomanyrequests: registry '%s' rate limit%s%s%s%s%s", r->domain,
				  sep, d, left ? " (" : "", left ? left : "", left ? ")" : "");
	}
	default:
		return lc_err_set(err, resp->status >= 500 ? LC_ERR_NET : LC_ERR_PROTO, 0,
				  "registry '%s' answered HTTP %ld for %s '%s'%s%s", r->domain,
				  resp->status, manifest ? "manifest" : "blob", reference, sep, d);
	}
}

int lc_registry_head_manifest(struct lc_registry *r, struct lc_http *h, const char *reference,
			      char ret_digest[LC_DIGEST_BUFSZ], struct lc_err **err)
{
	cleanup_free char *url = lc_xasprintf("%s/%s/manifests/%s", r->base, r->path, reference);
	struct lc_http_req req = { .url = url, .head = true, .accept = ACCEPT_MANIFESTS };
	struct lc_http_resp resp = { 0 };
	int ret = 0;

	if (reg_request(r, h, &req, &resp, err) < 0)
		return -1;
	if (resp.status == 200 && resp.docker_digest && lc_digest_valid(resp.docker_digest)) {
		snprintf(ret_digest, LC_DIGEST_BUFSZ, "%s", resp.docker_digest);
		ret = 1;
	}
	lc_http_resp_clear(&resp);
	return ret;
}

int lc_registry_get_manifest(struct lc_registry *r, struct lc_http *h, const char *reference,
			     int64_t size, struct lc_fetched_manifest *ret, struct lc_err **err)
{
	cleanup_free char *url = lc_xasprintf("%s/%s/manifests/%s", r->base, r->path, reference);
	struct lc_http_req req = { .url = url,
				   .accept = ACCEPT_MANIFESTS,
				   .max_body = LC_MAX_MANIFEST_SIZE };
	struct lc_http_resp resp = { 0 };
	char got[LC_DIGEST_BUFSZ];
	int ret_code = -1;

	if (size > (int64_t)LC_MAX_MANIFEST_SIZE)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "manifest '%s': size %lld exceeds %u bytes",
				  reference, (long long)size, LC_MAX_MANIFEST_SIZE);
	if (size >= 0)
		req.max_body = (size_t)size;
	if (reg_request(r, h, &req, &resp, err) < 0) {
		if (*err && (*err)->code == LC_ERR_LIMIT) {
			if (size >= 0) { /* more than its descriptor said: not the manifest named */
				lc_err_free(*err);
				*err = NULL;
				lc_err_set(
					err, LC_ERR_DIGEST, 0,
					"manifest '%s' is larger than its descriptor's %lld bytes",
					reference, (long long)size);
			} else {
				lc_err_prefix(err, "manifest '%s'", reference);
			}
		}
		return -1;
	}
	if (resp.status != 200) {
		status_error(r, &resp, true, reference, err);
		goto out;
	}
	if (size >= 0 && (int64_t)resp.len != size) {
		lc_err_set(err, LC_ERR_DIGEST, 0,
			   "manifest '%s': size mismatch: descriptor says %lld bytes, got %zu",
			   reference, (long long)size, resp.len);
		goto out;
	}
	lc_sha256_buf(resp.body ? resp.body : "", resp.len, got);
	if (!strncmp(reference, "sha256:", 7) && strcmp(reference, got) != 0) {
		lc_err_set(err, LC_ERR_DIGEST, 0, "manifest digest mismatch: expected %s, got %s",
			   reference, got);
		goto out;
	}
	/* the header may use another algorithm (spec); a sha256 one must match the body */
	if (resp.docker_digest && !strncmp(resp.docker_digest, "sha256:", 7) &&
	    strcmp(resp.docker_digest, got) != 0) {
		lc_err_set(err, LC_ERR_DIGEST, 0,
			   "manifest digest mismatch: Docker-Content-Digest says %.80s, body is %s",
			   resp.docker_digest, got);
		goto out;
	}
	ret->body = resp.body ? TAKE_PTR(resp.body) : lc_xstrdup("");
	ret->len = resp.len;
	ret->content_type = TAKE_PTR(resp.content_type);
	memcpy(ret->digest, got, LC_DIGEST_BUFSZ);
	ret_code = 0;
out:
	lc_http_resp_clear(&resp);
	return ret_code;
}

struct blob_sink {
	int64_t size, got;
	lc_http_data_fn fn;
	void *data;
};

static int blob_count(const void *buf, size_t len, void *data, struct lc_err **err)
{
	struct blob_sink *b = data;

	if ((uint64_t)b->got + len > (uint64_t)b->size)
		return lc_err_set(err, LC_ERR_DIGEST, 0,
				  "blob is larger than its descriptor's %lld bytes",
				  (long long)b->size);
	b->got += (int64_t)len;
	return b->fn(buf, len, b->data, err);
}

int lc_registry_get_blob(struct lc_registry *r, struct lc_http *h, const char *digest, int64_t size,
			 int64_t offset, lc_http_data_fn fn, void *data, atomic_bool *cancel,
			 struct lc_err **err)
{
	cleanup_free char *url = NULL;
	struct blob_sink sink = { .size = size, .got = offset, .fn = fn, .data = data };
	struct lc_http_req req = { 0 };
	struct lc_http_resp resp = { 0 };
	int ret = -1;

	if (lc_digest_check(digest, err) < 0)
		return -1;
	url = lc_xasprintf("%s/%s/blobs/%s", r->base, r->path, digest);
	req.url = url;
	req.on_data = blob_count;
	req.data = &sink;
	req.cancel = cancel;
	req.offset = (uint64_t)offset;
	if (reg_request(r, h, &req, &resp, err) < 0)
		return -1;
	if (resp.status != 200 && resp.status != 206) {
		status_error(r, &resp, false, digest, err);
		goto out;
	}
	if (sink.got != size) {
		lc_err_set(err, LC_ERR_DIGEST, 0, "short blob: got %lld of %lld bytes",
			   (long long)sink.got, (long long)size);
		goto out;
	}
	ret = 0;
out:
	lc_http_resp_clear(&resp);
	return ret;
}

struct mem_sink {
	char *buf;
	size_t len;
};

static int mem_append(const void *buf, size_t len, void *data, struct lc_err **err)
{
	struct mem_sink *m = data;

	(void)err;
	memcpy(m->buf + m->len, buf, len); /* bounded by blob_count against the size */
	m->len += len;
	return 0;
}

int lc_registry_get_small_blob(struct lc_registry *r, struct lc_http *h, const char *digest,
			       int64_t size, size_t max, char **ret, size_t *ret_len,
			       struct lc_err **err)
{
	struct mem_sink m = { 0 };
	char got[LC_DIGEST_BUFSZ];

	if (size < 0 || (uint64_t)size > max)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "blob %s: size %lld exceeds %zu bytes",
				  digest, (long long)size, max);
	m.buf = lc_xmalloc((size_t)size + 1);
	if (lc_registry_get_blob(r, h, digest, size, 0, mem_append, &m, NULL, err) < 0) {
		free(m.buf);
		return lc_err_prefix(err, "blob %s", digest);
	}
	m.buf[m.len] = 0;
	lc_sha256_buf(m.buf, m.len, got);
	if (strcmp(got, digest) != 0) {
		free(m.buf);
		return lc_err_set(err, LC_ERR_DIGEST, 0,
				  "blob digest mismatch: expected %s, got %s", digest, got);
	}
	*ret = m.buf;
	*ret_len = m.len;
	return 0;
}
