/* SPDX-License-Identifier: MIT */
/*
 * fetch internals: the pieces of the registry client that pull.c and the unit suite share.
 * Pure functions (challenge parsing, redirect policy, error bodies, platforms) live in files
 * that never call the store, so the unit suite links without it.
 */
#ifndef LC_FETCH_INT_H
#define LC_FETCH_INT_H

#include <stdatomic.h>
#include <pthread.h>
#include <time.h>

#include "fetch.h"

/* Bounds on what a registry may send us besides manifests. */
#define LC_MAX_ERROR_BODY   (64u << 10) /* error bodies we keep to explain a failure */
#define LC_MAX_HEADER_VALUE (8u << 10)	/* one response header we keep */
#define LC_MAX_REDIRECTS    10
/* time spent waiting between retries of one request, unless the caller says otherwise */
#define LC_HTTP_RETRY_MS 30000

/* ---------- platform.c ---------- */

/*
 * Parse "os/arch[/variant]" and normalize like containerd (x86_64 -> amd64, aarch64 -> arm64,
 * arm64/v8 -> arm64, armhf -> arm/v7, arm -> arm/v7, i386 -> 386, amd64/v1 -> amd64). The
 * outputs are the caller's (variant may be NULL). LC_ERR_INVALID on a malformed string.
 */
int lc_platform_parse(const char *s, char **ret_os, char **ret_arch, char **ret_variant,
		      struct lc_err **err);
/* Normalize an architecture/variant pair in place (both may be rewritten; *variant may be NULL). */
void lc_platform_normalize(char **arch, char **variant);
/*
 * The index entry for os/arch/variant (normalized values): exact match after normalizing the
 * entry, else a compatible lower variant (arm/v7 runs v6, v5; amd64/v3 runs v2, v1). Entries for
 * "unknown/unknown" (attestations) never match. NULL if none.
 */
const struct lc_descriptor *lc_platform_match(const struct lc_manifest *index, const char *os,
					      const char *arch, const char *variant);
/* "linux/amd64, linux/arm64/v8" listing the index's real platforms (caller frees). */
char *lc_platform_list(const struct lc_manifest *index);

/* ---------- auth.c ---------- */

struct lc_challenge {
	char *scheme; /* lowercase: "bearer", "basic" */
	char *realm, *service, *scope, *error;
};

/*
 * Parse a WWW-Authenticate value (RFC 7235: several challenges, quoted strings with
 * backslash escapes and commas, tokens, case-insensitive scheme and parameter names). Fills
 * *ret with the first Bearer challenge, else the first Basic one. LC_ERR_PROTO when there is
 * none or the value is malformed.
 */
int lc_challenge_parse(const char *value, struct lc_challenge *ret, struct lc_err **err);
void lc_challenge_clear(struct lc_challenge *c);

/*
 * Parse a token endpoint answer: "token" or "access_token" (access_token preferred, as
 * containerd does), "expires_in" (default 60 s, at least 1). *ret_token is the caller's.
 */
int lc_token_parse(const char *buf, size_t len, char **ret_token, long *ret_expires_in,
		   struct lc_err **err);

/*
 * Look up Basic credentials for host in $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json: the "auths" entry whose key names exactly this host[:port]
 * ("https://index.docker.io/v1/" for docker.io). Returns 1 and *ret_basic (the base64
 * "user:pass" as found, validated to decode to a non-empty user), 0 if there is none, -1 on
 * a malformed file. config_path overrides the lookup (tests). In creds.c, with the rest of
 * config.json.
 */
int lc_auth_config_lookup(const char *config_path, const char *host, char **ret_basic,
			  struct lc_err **err);

/* ---------- creds.c: docker's credential store ---------- */

struct lc_creds {
	char *basic;	      /* base64 "user:password", or NULL */
	char *identity_token; /* an OAuth2 refresh token ("identitytoken", a helper's <token>) */
};
void lc_creds_clear(struct lc_creds *c);
/* The key docker stores a registry's credentials under: "https://index.docker.io/v1/" for
 * Docker Hub, else the host[:port] itself (caller frees). */
char *lc_creds_key(const char *domain);
/* $DOCKER_CONFIG/config.json, else ~/.docker/config.json, or override (caller frees; NULL
 * when there is no home). */
char *lc_docker_config_path(const char *override);
/*
 * The credentials for domain: from credHelpers' helper for it, else from credsStore's, else
 * from the "auths" entry (identitytoken before auth). Returns 1 with *ret filled, 0 when there
 * are none (a helper that says "credentials not found" included), -1 when the file is bad or
 * a helper fails (never a fallback to another source).
 */
int lc_creds_lookup(const char *config_path, const char *domain, struct lc_creds *ret,
		    struct lc_err **err);
/* Standard base64 of a string, padded (caller frees). */
char *lc_base64(const char *s);
/* Store user/secret for domain: in its helper when one is configured, else in "auths" of
 * config.json (written atomically, mode 0600, its dir made 0700). */
int lc_creds_save(const char *config_path, const char *domain, const char *user, const char *secret,
		  struct lc_err **err);
/* Remove domain's credentials (helper and file); *ret_found says whether there were any. */
int lc_creds_erase(const char *config_path, const char *domain, bool *ret_found,
		   struct lc_err **err);

/* ---------- hosts.c: mirrors and per-registry settings (containerd's hosts.toml) ---------- */

#define LC_HOST_PULL	1u /* blobs and manifests by digest */
#define LC_HOST_RESOLVE 2u /* tags */

struct lc_host {
	char *url;     /* "https://mirror.example.com[/path]", no trailing '/' */
	unsigned caps; /* LC_HOST_* */
	bool upstream; /* the registry itself (server =), tried last */
	bool skip_verify, override_path;
	char **ca_files; /* the ca files named (paths resolved against the file's dir) */
	size_t n_ca_files;
	char *ca_pem;	  /* extra trusted CAs (PEM text of the ca files), or NULL */
	char *cert, *key; /* client certificate and key files, or NULL */
};
struct lc_hosts {
	struct lc_host *v; /* mirrors in file order, then the upstream */
	size_t n;
};
void lc_hosts_clear(struct lc_hosts *h);
/*
 * Parse hosts.toml text (relative paths against dir). default_server is the upstream when the
 * file has no `server`. LC_ERR_INVALID naming the line for what it cannot read. Pure: the ca
 * files it names are only recorded (ca_files); lc_hosts_read_cas reads them.
 */
int lc_hosts_parse(const char *text, size_t len, const char *dir, const char *default_server,
		   struct lc_hosts *ret, struct lc_err **err);
/* Read every host's ca_files into its ca_pem (each file at most 1 MiB). */
int lc_hosts_read_cas(struct lc_hosts *h, struct lc_err **err);
/*
 * The hosts for domain ("docker.io", "127.0.0.1:5000"): <dir>/<domain>/hosts.toml, else
 * <dir>/_default/hosts.toml, for dir $LAYERCTL_CERTS_D, else /etc/layerctl/certs.d, else
 * /etc/containerd/certs.d; without any, default_server alone.
 */
int lc_hosts_load(const char *domain, const char *default_server, struct lc_hosts *ret,
		  struct lc_err **err);

/* ---------- http.c (pure helpers) ---------- */

struct lc_url {
	char *scheme; /* lowercase "http" / "https" */
	char *host;   /* lowercase, IPv6 without brackets */
	long port;    /* explicit or the scheme's default */
};
int lc_url_parse(const char *url, struct lc_url *ret, struct lc_err **err);
void lc_url_clear(struct lc_url *u);
/* localhost, 127.0.0.0/8, ::1 */
bool lc_host_is_loopback(const char *host);

/*
 * Decide how to follow a redirect from `from` (absolute) to `location` (absolute or relative)
 * after `hops` redirects already followed. Returns 0 with *ret_url (absolute, caller's) and
 * *ret_keep_auth (true only if scheme, host and port are all unchanged), or -1: more than
 * LC_MAX_REDIRECTS hops, a scheme other than http(s), an https -> http downgrade (unless
 * insecure, or both ends are loopback), an unparsable location.
 */
int lc_redirect_policy(const char *from, const char *location, unsigned hops, bool insecure,
		       char **ret_url, bool *ret_keep_auth, struct lc_err **err);

/*
 * Summarize a registry's JSON error body {"errors":[{"code","message"}]} like docker does:
 * "manifest unknown: manifest unknown" (code lowercased, '_' -> ' '). At most 3 errors, each
 * message cut at 200 bytes, control characters replaced. NULL when the body is not such JSON.
 */
char *lc_registry_errors_parse(const char *body, size_t len);

/* Retry-After as seconds (delta-seconds or HTTP-date), capped to cap; -1 if unparsable. */
long lc_retry_after_parse(const char *v, long cap);

/*
 * The wait before retry n (0 for the first): 500 ms doubling up to 8 s, half of it fixed and
 * half drawn from rnd ("equal jitter"), so that clients refused together do not return
 * together. Within a 30 s budget that is about 6 retries.
 */
long lc_backoff_ms(unsigned n, uint32_t rnd);

/* ---------- curl-dl.c: libcurl, loaded on first use ---------- */

/*
 * Load libcurl.so.4 now if it is not yet (once per process, thread-safe). 0 when it is there;
 * else -1 with an error naming the library and the package to install. The entry points that
 * talk to registries call it first; the curl_* functions layerctl calls load it themselves too
 * and fail softly without it (NULL, CURLE_FAILED_INIT).
 */
int lc_fetch_need_libcurl(struct lc_err **err);
/* Tests only: load this soname instead (before the first use in the process). */
void lc_fetch_libcurl_soname_for_test(const char *name);

/* ---------- http.c (transfers) ---------- */

/* Called with body bytes of a 2xx answer; return -1 with *err set to stop the transfer. */
typedef int (*lc_http_data_fn)(const void *buf, size_t len, void *data, struct lc_err **err);

struct lc_http_req {
	const char *url;
	bool head;
	const char *accept;	   /* Accept header or NULL */
	const char *authorization; /* full header value; sent only to url's own origin */
	const char *post;	   /* a form (x-www-form-urlencoded) to POST, or NULL: GET */
	bool insecure;		   /* plain http / unverified TLS allowed anywhere */
	size_t max_body;	   /* buffered 2xx bodies larger than this fail (LC_ERR_LIMIT) */
	lc_http_data_fn on_data;   /* stream 2xx bodies here instead of buffering */
	void *data;
	atomic_bool *cancel; /* when set true, the transfer stops (may be NULL) */
	uint64_t offset;     /* stream from this byte on (Range: bytes=N-), 0: all of it */
	/* TLS for url's own origin only (a redirect elsewhere uses the system's CAs) */
	const char *ca_pem;	/* extra CAs, PEM; NULL: the system's */
	const char *cert, *key; /* client certificate and key files */
	bool skip_verify;	/* do not verify the server's certificate */
	long retry_ms;		/* total wait between retries: 0 LC_HTTP_RETRY_MS, < 0 none */
};

struct lc_http_resp {
	long status;
	char *body; /* buffered 2xx body (NUL-terminated) or a bounded error body */
	size_t len;
	char *content_type, *docker_digest, *www_authenticate, *retry_after;
	char *ratelimit_limit, *ratelimit_remaining; /* Docker Hub's "100;w=21600" */
	uint64_t delivered;			     /* bytes handed to on_data (after offset) */
};
void lc_http_resp_clear(struct lc_http_resp *r);

/* One transfer handle per thread. */
struct lc_http;
struct lc_http *lc_http_new(void);
void lc_http_free(struct lc_http *h);

/*
 * Perform req, following redirects by hand (lc_redirect_policy), retrying 5xx, 429, 408 and
 * resets with lc_backoff_ms waits (or the server's Retry-After) for at most req->retry_ms in
 * all; a retry that made progress starts the budget afresh. A stream asks for what it lacks
 * with Range (from req->offset plus what it delivered): a 206 must name that start, a 200
 * is read from its first byte and what the caller already has is dropped. Returns 0 with any
 * final HTTP status in *ret (the caller judges it), -1 on a transport failure naming the
 * host, or the on_data callback's own error.
 */
int lc_http_do(struct lc_http *h, const struct lc_http_req *req, struct lc_http_resp *ret,
	       struct lc_err **err);

/* ---------- registry.c ---------- */

struct lc_registry;

/* A client for ref's registry and repository, shared by the pull's threads. */
int lc_registry_new(const struct lc_ref *ref, bool insecure, struct lc_registry **ret,
		    struct lc_err **err);
/* The same through host (a mirror, or the upstream as hosts.toml sets it up). */
int lc_registry_new_host(const struct lc_ref *ref, const struct lc_host *host, bool insecure,
			 struct lc_registry **ret, struct lc_err **err);
/* "127.0.0.1:5001": the host[:port] requests go to, for messages. */
const char *lc_registry_host(const struct lc_registry *r);
void lc_registry_free(struct lc_registry *r);
/* Point the registry at a different credentials file (tests), before any request. */
void lc_registry_set_config(struct lc_registry *r, const char *config_path);

/* Check credentials against domain's /v2/ challenge (lc_fetch_login without storing). */
int lc_registry_login(const char *domain, bool insecure, const char *user, const char *password,
		      struct lc_err **err);

/* Total wait between retries of one request (lc_http_req's retry_ms), before any request. */
void lc_registry_set_retry(struct lc_registry *r, long retry_ms);
/* Docker Hub's pull quota as last seen ("76 of 100 pulls left (per 21600 s)"), or NULL. */
char *lc_registry_ratelimit(struct lc_registry *r);

struct lc_fetched_manifest {
	char *body;
	size_t len;
	char *content_type; /* without parameters; may be NULL */
	char digest[LC_DIGEST_BUFSZ];
};
void lc_fetched_manifest_clear(struct lc_fetched_manifest *m);

/*
 * HEAD the manifest for reference (a tag or a digest): 1 and ret_digest when the registry
 * named a valid Docker-Content-Digest, 0 when it did not (the caller then GETs), -1 on error.
 */
int lc_registry_head_manifest(struct lc_registry *r, struct lc_http *h, const char *reference,
			      char ret_digest[LC_DIGEST_BUFSZ], struct lc_err **err);
/*
 * GET a manifest by tag or digest with all four media types accepted, bounded by
 * LC_MAX_MANIFEST_SIZE, and by size when it is >= 0 (a descriptor's: the body must be exactly
 * that long, a longer one is cut off at size+1 with LC_ERR_DIGEST). The body's digest is
 * computed; a Docker-Content-Digest header must match it, and so must reference when it is a
 * digest.
 */
int lc_registry_get_manifest(struct lc_registry *r, struct lc_http *h, const char *reference,
			     int64_t size, struct lc_fetched_manifest *ret, struct lc_err **err);
/*
 * Stream blob digest (size bytes) to fn, from byte offset on (Range: bytes=offset-; the
 * caller has the bytes before). Counts the bytes: more than size fails at size+1
 * (LC_ERR_DIGEST). The caller verifies the digest (the store does, for layers).
 */
int lc_registry_get_blob(struct lc_registry *r, struct lc_http *h, const char *digest, int64_t size,
			 int64_t offset, lc_http_data_fn fn, void *data, atomic_bool *cancel,
			 struct lc_err **err);
/* Fetch a small blob (at most max bytes) into memory, verifying size and digest. */
int lc_registry_get_small_blob(struct lc_registry *r, struct lc_http *h, const char *digest,
			       int64_t size, size_t max, char **ret, size_t *ret_len,
			       struct lc_err **err);

#endif
