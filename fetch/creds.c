/* SPDX-License-Identifier: MIT */
/*
 * Registry credentials as docker keeps them in config.json: a credential helper per host
 * (credHelpers), one for every host (credsStore), or the file's own "auths" entries (base64
 * user:password, or an OAuth2 identitytoken). Helpers speak docker's protocol: the program
 * docker-credential-<name> with one verb (get, store, erase) as argument, the request on
 * stdin, JSON on stdout. A helper that fails is an error, never a reason to try elsewhere.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "fetch-int.h"

#define MAX_CONFIG	 (1u << 20)
#define MAX_HELPER_OUT	 (64u << 10)
#define HUB_KEY		 "https://index.docker.io/v1/"
#define HELPER_NOT_FOUND "credentials not found"

extern char **environ;

void lc_creds_clear(struct lc_creds *c)
{
	free(c->basic);
	free(c->identity_token);
	memset(c, 0, sizeof(*c));
}

char *lc_creds_key(const char *domain)
{
	if (!strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io") ||
	    !strcmp(domain, "registry-1.docker.io"))
		return lc_xstrdup(HUB_KEY);
	return lc_xstrdup(domain);
}

char *lc_docker_config_path(const char *override)
{
	const char *d = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");

	if (override)
		return lc_xstrdup(override);
	if (d && *d)
		return lc_xasprintf("%s/config.json", d);
	if (home && *home)
		return lc_xasprintf("%s/.docker/config.json", home);
	return NULL;
}

/* The config as JSON (an empty object when there is none); NULL with *err on a bad file. */
static json_t *config_load(const char *path, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	cleanup_fclose FILE *f = fopen(path, "re"); /* a symlinked dotfile is fine */
	size_t len;
	json_t *j;

	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return json_object();
		lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
		return NULL;
	}
	buf = lc_xmalloc(MAX_CONFIG + 1);
	len = fread(buf, 1, MAX_CONFIG + 1, f);
	if (ferror(f)) {
		lc_err_set(err, LC_ERR_SYS, EIO, "read '%s'", path);
		return NULL;
	}
	if (len > MAX_CONFIG) {
		lc_err_set(err, LC_ERR_LIMIT, 0, "'%s' is larger than 1 MiB", path);
		return NULL;
	}
	j = lc_json_parse(buf, len, path, err);
	if (j && !json_is_object(j)) {
		json_decref(j);
		lc_err_set(err, LC_ERR_PROTO, 0, "'%s' is not a JSON object", path);
		return NULL;
	}
	return j;
}

/* "registry.example.com" from "https://registry.example.com/v1/" (docker's ConvertToHostname) */
static char *key_host(const char *key)
{
	const char *p = key;

	if (!strncasecmp(p, "https://", 8))
		p += 8;
	else if (!strncasecmp(p, "http://", 7))
		p += 7;
	return lc_xstrndup(p, strcspn(p, "/"));
}

static bool is_hub(const char *host)
{
	return !strcasecmp(host, "docker.io") || !strcasecmp(host, "index.docker.io") ||
	       !strcasecmp(host, "registry-1.docker.io");
}

/* Does an "auths" (or credHelpers) key name domain's registry? Docker Hub has three names. */
static bool same_registry(const char *key, const char *domain)
{
	cleanup_free char *h = key_host(key);

	return is_hub(h) ? is_hub(domain) : !strcasecmp(h, domain);
}

/* The object member of o whose key names domain's registry, or NULL. */
static json_t *member_for(json_t *o, const char *domain, const char **ret_key)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		if (same_registry(k, domain)) {
			if (ret_key)
				*ret_key = k;
			return v;
		}
	}
	return NULL;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 (padding optional) into a NUL-terminated string; NULL if invalid. */
static char *b64_decode(const char *s)
{
	size_t n = strlen(s);
	char *out = lc_xmalloc(n / 4 * 3 + 4);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = 0;
	if (strlen(out) != o) { /* an embedded NUL: docker trims trailing ones only */
		size_t k = strlen(out);

		for (size_t i = k; i < o; i++)
			if (out[i]) {
				free(out);
				return NULL;
			}
	}
	return out;
}

/*
 * The Basic credentials of domain in a loaded config's "auths" (path names it in errors): 1 and
 * *ret_basic, 0 if none, -1 if its "auth" does not decode to base64 of "user:password".
 */
static int auths_basic(json_t *cfg, const char *path, const char *domain, char **ret_basic,
		       struct lc_err **err)
{
	const char *key = NULL;
	json_t *auths = json_object_get(cfg, "auths");
	json_t *a;
	cleanup_free char *plain = NULL;
	const char *colon;

	if (auths && !json_is_object(auths))
		return lc_err_set(err, LC_ERR_PROTO, 0, "'%s': \"auths\" is not an object", path);
	a = json_object_get(member_for(auths, domain, &key), "auth");
	if (!json_is_string(a) || !json_string_length(a))
		return 0;
	plain = b64_decode(json_string_value(a));
	colon = plain ? strchr(plain, ':') : NULL;
	if (!colon || colon == plain)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "'%s': invalid \"auth\" for '%s': want base64 of user:password",
				  path, key);
	*ret_basic = lc_xstrdup(json_string_value(a));
	return 1;
}

int lc_auth_config_lookup(const char *config_path, const char *host, char **ret_basic,
			  struct lc_err **err)
{
	cleanup_free char *path = lc_docker_config_path(config_path);
	json_auto_t *cfg = NULL;

	if (!path)
		return 0;
	cfg = config_load(path, err);
	if (!cfg)
		return -1;
	return auths_basic(cfg, path, host, ret_basic, err);
}

/* The helper for domain: credHelpers first, then credsStore; NULL when the file is used. */
static const char *helper_for(json_t *cfg, const char *domain)
{
	json_t *h = member_for(json_object_get(cfg, "credHelpers"), domain, NULL);
	json_t *s = json_object_get(cfg, "credsStore");

	if (json_is_string(h) && json_string_length(h))
		return json_string_value(h);
	if (json_is_string(s) && json_string_length(s))
		return json_string_value(s);
	return NULL;
}

static bool helper_name_valid(const char *n)
{
	if (!*n || strlen(n) > 64)
		return false;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

/*
 * Run docker-credential-<name> verb with input on stdin; its stdout and stderr, together and
 * bounded, in *ret_out. Returns its exit status (0..255, 256+signal), or -1 with *err when it
 * could not be run.
 */
static int helper_run(const char *name, const char *verb, const char *input, char **ret_out,
		      struct lc_err **err)
{
	cleanup_free char *prog = lc_xasprintf("docker-credential-%s", name);
	char *argv[] = { prog, (char *)verb, NULL };
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	cleanup_free char *buf = lc_xmalloc(MAX_HELPER_OUT + 1);
	size_t len = 0, inlen = strlen(input), wrote = 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	pid_t pid;
	int rc, st;

	if (!helper_name_valid(name))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid credential helper name '%.64s'",
				  name);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		rc = errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return lc_err_set(err, LC_ERR_SYS, rc, "credential helper '%s': pipe", prog);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		return lc_err_set(err, LC_ERR_AUTH, rc, "credential helper '%s' cannot be run",
				  prog);
	}
	/* a helper that does not read its input must not block us: poll both pipes; one that
	 * exits without reading it must not kill us with SIGPIPE */
	sigaction(SIGPIPE, &ign, &old_pipe);
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || inlen == 0) {
		close(in[1]);
		in[1] = -1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
				       { .fd = in[1], .events = POLLOUT } };
		ssize_t n;

		int pr = poll(p, in[1] >= 0 ? 2 : 1, 30000);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			kill(pid, SIGKILL);
			break; /* silent for 30 s: given up on */
		}
		if (in[1] >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(in[1], input + wrote, inlen - wrote);
			if (n > 0)
				wrote += (size_t)n;
			if (n < 0 || wrote == inlen) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(out[0], buf + len, MAX_HELPER_OUT - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
			if (len == MAX_HELPER_OUT)
				break;
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	sigaction(SIGPIPE, &old_pipe, NULL);
	buf[len] = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return lc_err_set(err, LC_ERR_SYS, errno, "credential helper '%s'", prog);
	*ret_out = TAKE_PTR(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st);
}

/* The first line of a helper's output, bounded, for an error message (caller frees). */
static char *first_line(const char *s)
{
	size_t n;

	if (!s) /* helper_run always sets it with a status; gcc's analyzer cannot tell */
		return lc_xstrdup("");
	n = strcspn(s, "\r\n");

	return lc_xstrndup(s, n > 200 ? 200 : n);
}

char *lc_base64(const char *s)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = lc_xmalloc(4 * ((n + 2) / 3) + 1);
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

static int helper_get(const char *name, const char *domain, struct lc_creds *ret,
		      struct lc_err **err)
{
	cleanup_free char *key = lc_creds_key(domain);
	cleanup_free char *out = NULL;
	cleanup_free char *line = NULL;
	json_auto_t *j = NULL;
	const char *user, *secret;
	int st = helper_run(name, "get", key, &out, err);

	if (st < 0)
		return -1;
	if (st != 0) {
		if (strstr(out, HELPER_NOT_FOUND))
			return 0;
		line = first_line(out);
		return lc_err_set(err, LC_ERR_AUTH, 0,
				  "credential helper 'docker-credential-%s' failed for '%s' "
				  "(status %d)%s%s",
				  name, key, st, *line ? ": " : "", line);
	}
	j = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
	user = json_string_value(json_object_get(j, "Username"));
	secret = json_string_value(json_object_get(j, "Secret"));
	if (!user || !secret)
		return lc_err_set(err, LC_ERR_AUTH, 0,
				  "credential helper 'docker-credential-%s': no Username and "
				  "Secret in its answer for '%s'",
				  name, key);
	if (!*secret)
		return 0;
	if (!strcmp(user, "<token>")) {
		ret->identity_token = lc_xstrdup(secret);
	} else {
		cleanup_free char *up = lc_xasprintf("%s:%s", user, secret);

		ret->basic = lc_base64(up);
	}
	return 1;
}

int lc_creds_lookup(const char *config_path, const char *domain, struct lc_creds *ret,
		    struct lc_err **err)
{
	cleanup_free char *path = lc_docker_config_path(config_path);
	json_auto_t *cfg = NULL;
	const char *helper;
	json_t *e, *it;

	if (!path)
		return 0;
	cfg = config_load(path, err);
	if (!cfg)
		return -1;
	helper = helper_for(cfg, domain);
	if (helper)
		return helper_get(helper, domain, ret, err);
	e = member_for(json_object_get(cfg, "auths"), domain, NULL);
	it = json_object_get(e, "identitytoken");
	if (json_is_string(it) && json_string_length(it)) {
		ret->identity_token = lc_xstrdup(json_string_value(it));
		return 1;
	}
	return auths_basic(cfg, path, domain, &ret->basic, err);
}

static int config_save(const char *path, json_t *cfg, struct lc_err **err)
{
	cleanup_free char *txt = json_dumps(cfg, JSON_INDENT(1) | JSON_SORT_KEYS);
	cleanup_free char *dir = lc_xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (!txt)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "serialize '%s'", path);
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", dir);
	}
	/* it holds passwords: 0600, replaced atomically */
	if (lc_write_file_atomic_at(AT_FDCWD, path, txt, strlen(txt), 0600, err) < 0)
		return lc_err_prefix(err, "save credentials");
	return 0;
}

int lc_creds_save(const char *config_path, const char *domain, const char *user, const char *secret,
		  struct lc_err **err)
{
	cleanup_free char *path = lc_docker_config_path(config_path);
	cleanup_free char *key = lc_creds_key(domain);
	json_auto_t *cfg = NULL;
	const char *helper;
	json_t *auths;

	if (!path)
		return lc_err_set(err, LC_ERR_INVALID, 0, "no $HOME nor $DOCKER_CONFIG to save in");
	cfg = config_load(path, err);
	if (!cfg)
		return -1;
	helper = helper_for(cfg, domain);
	if (helper) {
		json_auto_t *req = json_pack("{s:s, s:s, s:s}", "ServerURL", key, "Username", user,
					     "Secret", secret);
		cleanup_free char *in = req ? json_dumps(req, JSON_COMPACT) : NULL;
		cleanup_free char *out = NULL;
		cleanup_free char *line = NULL;
		int st;

		if (!in)
			return lc_err_set(err, LC_ERR_SYS, ENOMEM, "credential helper request");
		st = helper_run(helper, "store", in, &out, err);
		if (st < 0)
			return -1;
		if (st != 0) {
			line = first_line(out);
			return lc_err_set(
				err, LC_ERR_AUTH, 0,
				"credential helper 'docker-credential-%s' could not store "
				"the credentials (status %d)%s%s",
				helper, st, *line ? ": " : "", line);
		}
		return 0;
	}
	auths = json_object_get(cfg, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	{
		cleanup_free char *up = lc_xasprintf("%s:%s", user, secret);
		cleanup_free char *b = lc_base64(up);
		const char *old = NULL;

		/* one entry per registry, under docker's key for it */
		if (member_for(auths, domain, &old)) {
			cleanup_free char *k = lc_xstrdup(old);

			json_object_del(auths, k);
		}
		json_object_set_new(auths, key, json_pack("{s:s}", "auth", b));
	}
	return config_save(path, cfg, err);
}

int lc_creds_erase(const char *config_path, const char *domain, bool *ret_found,
		   struct lc_err **err)
{
	cleanup_free char *path = lc_docker_config_path(config_path);
	cleanup_free char *key = lc_creds_key(domain);
	json_auto_t *cfg = NULL;
	const char *helper, *old = NULL;
	json_t *auths;

	*ret_found = false;
	if (!path)
		return 0;
	cfg = config_load(path, err);
	if (!cfg)
		return -1;
	helper = helper_for(cfg, domain);
	if (helper) {
		cleanup_free char *out = NULL;
		int st = helper_run(helper, "erase", key, &out, err);

		if (st < 0)
			return -1;
		if (st == 0)
			*ret_found = true;
		else if (!out || !strstr(out, HELPER_NOT_FOUND))
			return lc_err_set(
				err, LC_ERR_AUTH, 0,
				"credential helper 'docker-credential-%s' could not erase "
				"the credentials (status %d)",
				helper, st);
	}
	auths = json_object_get(cfg, "auths");
	if (member_for(auths, domain, &old)) {
		cleanup_free char *k = lc_xstrdup(old);

		json_object_del(auths, k);
		*ret_found = true;
		return config_save(path, cfg, err);
	}
	return 0;
}

int lc_fetch_login(const char *domain, bool insecure, const char *user, const char *password,
		   struct lc_err **err)
{
	if (!*user)
		return lc_err_set(err, LC_ERR_INVALID, 0, "username is empty");
	if (!*password)
		return lc_err_set(err, LC_ERR_INVALID, 0, "password is empty");
	if (lc_fetch_need_libcurl(err) < 0)
		return -1;
	if (lc_registry_login(domain, insecure, user, password, err) < 0)
		return -1;
	return lc_creds_save(NULL, domain, user, password, err);
}

int lc_fetch_logout(const char *domain, bool *ret_found, struct lc_err **err)
{
	return lc_creds_erase(NULL, domain, ret_found, err);
}

char *lc_fetch_server_name(const char *domain)
{
	return lc_creds_key(domain);
}
