/* SPDX-License-Identifier: MIT */
/*
 * fetch: the registry client. References, auth, manifests, blobs and the pull pipeline that
 * streams each missing layer from the socket through the store's ingest in one pass.
 * Knows nothing of mounts.
 */
#ifndef LC_FETCH_H
#define LC_FETCH_H

#include "../base/base.h"
#include "../store/store.h"

/* Bounds on what a registry may send (`layerctl help limits`; manifests: store.h). */
#define LC_MAX_TOKEN_SIZE  (1u << 20)	/* token responses */
#define LC_MAX_HOSTS_FILE  (256u << 10) /* a registry's hosts.toml */
#define LC_MAX_CA_FILE	   (1u << 20)	/* a CA, client certificate or key file it names */
#define LC_MAX_CONFIG_SIZE (4u << 20)	/* image config blobs */

/* ---------- references (distribution/reference normalization) ---------- */

struct lc_ref {
	char *domain; /* "docker.io", "localhost:5000", "127.0.0.1:5000" */
	char *path;   /* "library/nginx" */
	char *tag;    /* "latest" unless a digest was given; NULL when pulling by digest */
	char *digest; /* "sha256:..." or NULL */
};

/*
 * Parse and normalize like docker: "nginx" -> docker.io/library/nginx:latest. Errors
 * (LC_ERR_INVALID) name what is wrong: "invalid reference format", "repository name must be
 * lowercase", 64-hex names, over-long names, bad tags or digests.
 */
int lc_ref_parse(const char *s, struct lc_ref **ret, struct lc_err **err);
void lc_ref_free(struct lc_ref *r);
/* "docker.io/library/nginx:latest" or "host/x@sha256:..." (caller frees) */
char *lc_ref_string(const struct lc_ref *r);
/* docker's familiar form: "nginx:latest", "user/app:tag", "localhost:5000/x:tag" (caller frees) */
char *lc_ref_familiar(const struct lc_ref *r);
/* "https://registry-1.docker.io" for docker.io; plain http only for loopback hosts or insecure. */
char *lc_ref_base_url(const struct lc_ref *r, bool insecure);

/* ---------- pulling ---------- */

enum lc_pull_event {
	LC_PULL_RESOLVED,	/* the tag resolved: digest set */
	LC_PULL_LAYER_EXISTS,	/* "Already exists" */
	LC_PULL_LAYER_WAITING,	/* "Waiting" / "Pulling fs layer" */
	LC_PULL_LAYER_PROGRESS, /* bytes current of total arrived */
	LC_PULL_LAYER_VERIFYING,
	LC_PULL_LAYER_DONE, /* "Pull complete" */
	LC_PULL_NOTE,	    /* message: something to show (the registry's pull quota) */
	LC_PULL_WARNING,    /* message: something went wrong and was repaired */
};

struct lc_pull_progress {
	enum lc_pull_event event;
	size_t index;	    /* layer index, bottom = 0 */
	const char *digest; /* compressed layer digest (or the resolved digest for RESOLVED) */
	int64_t current, total;
	const char *message; /* LC_PULL_NOTE, LC_PULL_WARNING: one line, untrusted parts escaped */
};

/* Called with a lock held, from any of the pull's threads, one call at a time. */
typedef void (*lc_pull_progress_fn)(const struct lc_pull_progress *p, void *data);

struct lc_pull_opts {
	bool insecure;	      /* allow plain http / unverified TLS to non-loopback hosts */
	const char *platform; /* "os/arch[/variant]"; NULL: the host's */
	int max_concurrent;   /* parallel layer downloads; 0: 3 */
	long retry_ms;	      /* total wait between retries of one request: 0 30 s, < 0 none */
	/* bounds on what the pull unpacks (0: the store's defaults, LC_LAYER_MAX_* and
	 * LC_IMAGE_MAX_UNPACKED); the image bound counts the layers this pull unpacks */
	uint64_t max_layer_size, max_image_size, max_layer_entries;
	uint32_t max_ratio;
	lc_pull_progress_fn progress;
	void *progress_data;
};

struct lc_pull_result {
	char *digest;	 /* top-level digest the name resolved to */
	char *manifest;	 /* platform manifest */
	char *config;	 /* image id */
	bool up_to_date; /* nothing was downloaded and the ref already pointed there */
	size_t n_layers, n_fetched;
};
void lc_pull_result_clear(struct lc_pull_result *r);

/*
 * Resolve ref, store its manifest (and index) and config, fetch the layers the store lacks
 * (by chain id) in parallel, each streamed in one pass into lc_store_layer_*, commit them in
 * order, then point the ref at the image. Nothing reaches refs/ unless every layer committed.
 */
int lc_fetch_pull(struct lc_store *s, const struct lc_ref *ref, const struct lc_pull_opts *o,
		  struct lc_pull_result *ret, struct lc_err **err);

/* ---------- credentials (docker's config.json and credential helpers) ---------- */

/*
 * docker login: check user/password against the registry of domain ("docker.io" for Docker
 * Hub) the way its /v2/ challenge asks (a token from its realm, or Basic), then store them
 * (in the configured credential helper, else in config.json, mode 0600). LC_ERR_AUTH when the
 * registry refuses them; nothing is stored then.
 */
int lc_fetch_login(const char *domain, bool insecure, const char *user, const char *password,
		   struct lc_err **err);
/* docker logout: remove domain's credentials; *ret_found: whether there were any. */
int lc_fetch_logout(const char *domain, bool *ret_found, struct lc_err **err);
/* The name docker gives a registry in login messages ("https://index.docker.io/v1/" for
 * Docker Hub, else host[:port]); caller frees. */
char *lc_fetch_server_name(const char *domain);

/* The host's platform as an index would name it ("linux", "amd64", NULL). */
void lc_fetch_host_platform(const char **os, const char **arch, const char **variant);

#endif
