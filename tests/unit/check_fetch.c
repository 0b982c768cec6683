/* SPDX-License-Identifier: MIT */
/*
 * fetch: references, challenges, redirect policy, registry errors, platforms, credentials,
 * and a small in-process HTTP server for auth, redirects, digests and bounds. Uses nothing
 * that calls the store, so it links against fetch's pure objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "unit.h"
#include "../../fetch/fetch-int.h"
#include "../../store/store.h"

#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D     "sha256:" HEX64

/* ---------- references ---------- */

static const struct {
	const char *in;
	const char *canonical; /* NULL: must fail */
	const char *familiar;  /* or the error message (substring) */
	const char *domain, *path, *tag, *digest;
} refs[] = {
#define REF_ERR(in, msg)                                                                           \
	{                                                                                          \
		in, NULL, msg, NULL, NULL, NULL, NULL                                              \
	}
	{ "nginx", "docker.io/library/nginx:latest", "nginx:latest", "docker.io", "library/nginx",
	  "latest", NULL },
	{ "user/app", "docker.io/user/app:latest", "user/app:latest", "docker.io", "user/app",
	  "latest", NULL },
	{ "docker.io/nginx", "docker.io/library/nginx:latest", "nginx:latest", "docker.io",
	  "library/nginx", "latest", NULL },
	{ "index.docker.io/nginx", "docker.io/library/nginx:latest", "nginx:latest", "docker.io",
	  "library/nginx", "latest", NULL },
	{ "index.docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25",
	  "docker.io", "library/nginx", "1.25", NULL },
	{ "library/nginx", "docker.io/library/nginx:latest", "nginx:latest", "docker.io",
	  "library/nginx", "latest", NULL },
	{ "docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest",
	  "docker.io", "library/a/b", "latest", NULL },
	/* found by fuzz_ref: a familiar "a.b/x" would name the registry a.b */
	{ "docker.io/a.b/x", "docker.io/a.b/x:latest", "docker.io/a.b/x:latest", "docker.io",
	  "a.b/x", "latest", NULL },
	{ "docker.io/localhost/x", "docker.io/localhost/x:latest", "docker.io/localhost/x:latest",
	  "docker.io", "localhost/x", "latest", NULL },
	{ "localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest",
	  "localhost:5000", "x", "latest", NULL },
	{ "localhost/x", "localhost/x:latest", "localhost/x:latest", "localhost", "x", "latest",
	  NULL },
	{ "localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "docker.io",
	  "library/localhost", "5000", NULL },
	{ "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest",
	  "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000", "busybox", "latest", NULL },
	{ "[::1]:5000/x:1", "[::1]:5000/x:1", "[::1]:5000/x:1", "[::1]:5000", "x", "1", NULL },
	{ "ghcr.io/a/b:tag@" D, "ghcr.io/a/b@" D, "ghcr.io/a/b@" D, "ghcr.io", "a/b", NULL, D },
	{ "host:5000/a/b:tag@" D, "host:5000/a/b@" D, "host:5000/a/b@" D, "host:5000", "a/b", NULL,
	  D },
	{ "nginx@" D, "docker.io/library/nginx@" D, "nginx@" D, "docker.io", "library/nginx", NULL,
	  D },
	{ "Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo", "bar", "latest", NULL },
	{ "a.b-c.io/e__f--g.h_i:V1_x.y-z", "a.b-c.io/e__f--g.h_i:V1_x.y-z",
	  "a.b-c.io/e__f--g.h_i:V1_x.y-z", "a.b-c.io", "e__f--g.h_i", "V1_x.y-z", NULL },
	/* errors, as docker words them */
	REF_ERR("Nginx", "invalid reference format: repository name (library/Nginx) must be "
			 "lowercase"),
	REF_ERR("a/B", "invalid reference format: repository name (a/B) must be lowercase"),
	REF_ERR("nginx:", "invalid reference format"),
	REF_ERR("a//b", "invalid reference format"),
	REF_ERR("", "invalid reference format"),
	REF_ERR(":tag", "invalid reference format"),
	REF_ERR("-a", "invalid reference format"),
	REF_ERR("a-", "invalid reference format"),
	REF_ERR("a___b", "invalid reference format"),
	REF_ERR("a/b/", "invalid reference format"),
	REF_ERR("a b", "invalid reference format"),
	REF_ERR("host:/x", "invalid reference format"),
	REF_ERR("-host.io/x", "invalid reference format"),
	REF_ERR(HEX64, "cannot specify 64-byte hexadecimal strings"),
	REF_ERR("nginx@sha256:abc", "invalid reference format"),
	REF_ERR("nginx@sha256:" HEX64 "00", "invalid checksum digest"),
	REF_ERR("nginx@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		"invalid checksum digest"),
	REF_ERR("nginx@sha512:" HEX64, "unsupported digest algorithm"),
	REF_ERR("nginx:-tag", "invalid reference format"),
	REF_ERR("nginx:a/b", "invalid reference format"),
};

#undef REF_ERR

START_TEST(ref_table)
{
	struct lc_ref *r = NULL;
	struct lc_err *err = NULL;

	if (!refs[_i].canonical) {
		ck_assert_fail(lc_ref_parse(refs[_i].in, &r, &err), &err, LC_ERR_INVALID);
		ck_assert_msg(strstr(err->msg, refs[_i].familiar), "'%s': got '%s', want '%s'",
			      refs[_i].in, err->msg, refs[_i].familiar);
		ck_assert_ptr_null(r);
		lc_err_free(err);
		return;
	}
	ck_assert_ok(lc_ref_parse(refs[_i].in, &r, &err), &err);
	cleanup_free char *s = lc_ref_string(r);
	cleanup_free char *f = lc_ref_familiar(r);
	ck_assert_str_eq(s, refs[_i].canonical);
	ck_assert_str_eq(f, refs[_i].familiar);
	ck_assert_str_eq(r->domain, refs[_i].domain);
	ck_assert_str_eq(r->path, refs[_i].path);
	if (refs[_i].tag)
		ck_assert_str_eq(r->tag, refs[_i].tag);
	else
		ck_assert_ptr_null(r->tag);
	if (refs[_i].digest)
		ck_assert_str_eq(r->digest, refs[_i].digest);
	else
		ck_assert_ptr_null(r->digest);
	lc_ref_free(r);
}
END_TEST

START_TEST(ref_length_limits)
{
	struct lc_ref *r = NULL;
	struct lc_err *err = NULL;
	char name[300], tag[140];
	cleanup_free char *ok = NULL;
	cleanup_free char *toolong = NULL;
	cleanup_free char *tag128 = NULL;
	cleanup_free char *tag129 = NULL;

	/* "docker.io/" + path: 10 + 245 = 255 is fine, 256 is not */
	memset(name, 'a', sizeof(name));
	ok = lc_xasprintf("x/%.*s", 243, name);
	toolong = lc_xasprintf("x/%.*s", 244, name);
	ck_assert_ok(lc_ref_parse(ok, &r, &err), &err);
	lc_ref_free(r);
	r = NULL;
	ck_assert_fail(lc_ref_parse(toolong, &r, &err), &err, LC_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err->msg, "255"));
	lc_err_free(err);
	err = NULL;

	memset(tag, 'T', sizeof(tag));
	tag128 = lc_xasprintf("nginx:%.*s", 128, tag);
	tag129 = lc_xasprintf("nginx:%.*s", 129, tag);
	ck_assert_ok(lc_ref_parse(tag128, &r, &err), &err);
	ck_assert_int_eq(strlen(r->tag), 128);
	lc_ref_free(r);
	r = NULL;
	ck_assert_fail(lc_ref_parse(tag129, &r, &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
}
END_TEST

static const struct {
	const char *ref;
	bool insecure;
	const char *url;
} bases[] = {
	{ "nginx", false, "https://registry-1.docker.io" },
	{ "nginx", true, "https://registry-1.docker.io" },
	{ "localhost:5000/x", false, "http://localhost:5000" },
	{ "localhost/x", false, "http://localhost" },
	{ "127.0.0.1:5000/x", false, "http://127.0.0.1:5000" },
	{ "127.1.2.3:5000/x", false, "http://127.1.2.3:5000" },
	{ "[::1]:5000/x", false, "http://[::1]:5000" },
	{ "128.0.0.1:5000/x", false, "https://128.0.0.1:5000" },
	{ "127.0.0.1.evil.io/x", false, "https://127.0.0.1.evil.io" },
	{ "localhost.evil.io:5000/x", false, "https://localhost.evil.io:5000" },
	{ "ghcr.io/a/b", false, "https://ghcr.io" },
	{ "ghcr.io/a/b", true, "http://ghcr.io" },
	{ "10.0.0.1:5000/x", false, "https://10.0.0.1:5000" },
};

START_TEST(base_url_choice)
{
	struct lc_ref *r = NULL;
	struct lc_err *err = NULL;

	ck_assert_ok(lc_ref_parse(bases[_i].ref, &r, &err), &err);
	cleanup_free char *u = lc_ref_base_url(r, bases[_i].insecure);
	ck_assert_str_eq(u, bases[_i].url);
	lc_ref_free(r);
}
END_TEST

/* ---------- WWW-Authenticate ---------- */

static const struct {
	const char *in;
	const char *scheme, *realm, *service, *scope, *error; /* scheme NULL: fails */
	enum lc_errc code;
} challenges[] = {
	{ "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	  "scope=\"repository:samalba/my-app:pull,push\"",
	  "bearer", "https://auth.docker.io/token", "registry.docker.io",
	  "repository:samalba/my-app:pull,push", NULL, LC_ERR_OK },
	{ "bearer REALM=\"http://127.0.0.1:1/t\" , Service=reg", "bearer", "http://127.0.0.1:1/t",
	  "reg", NULL, NULL, LC_ERR_OK },
	{ "BEARER realm=\"a\\\"b\\\\c\"", "bearer", "a\"b\\c", NULL, NULL, NULL, LC_ERR_OK },
	{ "Bearer realm=\"r\",error=\"invalid_token\"", "bearer", "r", NULL, NULL, "invalid_token",
	  LC_ERR_OK },
	{ "Basic realm=\"Registry Realm\"", "basic", "Registry Realm", NULL, NULL, NULL,
	  LC_ERR_OK },
	{ "Basic realm=\"x\", Bearer realm=\"https://t/token\",service=\"s\"", "bearer",
	  "https://t/token", "s", NULL, NULL, LC_ERR_OK },
	{ "Negotiate abc==, Bearer realm=\"r2\"", "bearer", "r2", NULL, NULL, NULL, LC_ERR_OK },
	{ "Bearer realm=\"r3\", service=\"a,b\", scope=\"x\"", "bearer", "r3", "a,b", "x", NULL,
	  LC_ERR_OK },
	{ "Bearer realm=\"unterminated", NULL, NULL, NULL, NULL, NULL, LC_ERR_PROTO },
	{ "Bearer service=\"s\"", NULL, NULL, NULL, NULL, NULL, LC_ERR_PROTO },
	{ "Digest realm=\"x\", nonce=\"y\"", NULL, NULL, NULL, NULL, NULL, LC_ERR_AUTH },
	{ "", NULL, NULL, NULL, NULL, NULL, LC_ERR_AUTH },
	{ "Bearer realm=", NULL, NULL, NULL, NULL, NULL, LC_ERR_PROTO },
};

static void assert_str_or_null(const char *got, const char *want)
{
	if (want)
		ck_assert_str_eq(got ? got : "(null)", want);
	else
		ck_assert_ptr_null(got);
}

START_TEST(challenge_table)
{
	struct lc_challenge c = { 0 };
	struct lc_err *err = NULL;

	if (!challenges[_i].scheme) {
		ck_assert_fail(lc_challenge_parse(challenges[_i].in, &c, &err), &err,
			       challenges[_i].code);
		lc_err_free(err);
		return;
	}
	ck_assert_ok(lc_challenge_parse(challenges[_i].in, &c, &err), &err);
	ck_assert_str_eq(c.scheme, challenges[_i].scheme);
	assert_str_or_null(c.realm, challenges[_i].realm);
	assert_str_or_null(c.service, challenges[_i].service);
	assert_str_or_null(c.scope, challenges[_i].scope);
	assert_str_or_null(c.error, challenges[_i].error);
	lc_challenge_clear(&c);
}
END_TEST

static const struct {
	const char *in;
	const char *token; /* NULL: fails */
	long expires;
} tokens[] = {
	{ "{\"token\":\"abc\"}", "abc", 60 },
	{ "{\"access_token\":\"x\",\"token\":\"y\",\"expires_in\":300}", "x", 300 },
	{ "{\"token\":\"t\",\"expires_in\":0}", "t", 60 },
	{ "{\"token\":\"\",\"access_token\":\"\"}", NULL, 0 },
	{ "{}", NULL, 0 },
	{ "{\"token\":\"a\\r\\nX-Evil: 1\"}", NULL, 0 },
	{ "[\"token\"]", NULL, 0 },
	{ "not json", NULL, 0 },
	{ "{\"token\":\"a\",\"token\":\"b\"}", NULL, 0 },
};

START_TEST(token_table)
{
	struct lc_err *err = NULL;
	char *t = NULL;
	long exp = 0;

	if (!tokens[_i].token) {
		ck_assert_fail(lc_token_parse(tokens[_i].in, strlen(tokens[_i].in), &t, &exp, &err),
			       &err, LC_ERR_PROTO);
		ck_assert_ptr_null(t);
		lc_err_free(err);
		return;
	}
	ck_assert_ok(lc_token_parse(tokens[_i].in, strlen(tokens[_i].in), &t, &exp, &err), &err);
	ck_assert_str_eq(t, tokens[_i].token);
	ck_assert_int_eq(exp, tokens[_i].expires);
	free(t);
}
END_TEST

START_TEST(creds_save_lookup_erase)
{
	char *dir = unit_tmpdir();
	cleanup_free char *path = lc_xasprintf("%s/sub/config.json", dir);
	struct lc_creds c = { 0 };
	struct lc_err *err = NULL;
	struct stat sb;
	bool found = false;
	char *b;
	FILE *f;

	b = lc_base64("alice:s3cret");
	ck_assert_str_eq(b, "YWxpY2U6czNjcmV0");
	free(b);
	b = lc_base64("u:p");
	ck_assert_str_eq(b, "dTpw");
	free(b);
	b = lc_creds_key("docker.io");
	ck_assert_str_eq(b, "https://index.docker.io/v1/");
	free(b);
	/* nothing yet; saved in a new dir, 0600; found under docker's key; erased */
	ck_assert_int_eq(lc_creds_lookup(path, "127.0.0.1:5000", &c, &err), 0);
	ck_assert_ok(lc_creds_save(path, "127.0.0.1:5000", "alice", "s3cret", &err), &err);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(lc_creds_lookup(path, "127.0.0.1:5000", &c, &err), 1);
	ck_assert_str_eq(c.basic, "YWxpY2U6czNjcmV0");
	ck_assert_ptr_null(c.identity_token);
	lc_creds_clear(&c);
	ck_assert_ok(lc_creds_save(path, "docker.io", "bob", "pw", &err), &err);
	ck_assert_int_eq(lc_creds_lookup(path, "index.docker.io", &c, &err), 1);
	lc_creds_clear(&c);
	ck_assert_ok(lc_creds_erase(path, "127.0.0.1:5000", &found, &err), &err);
	ck_assert(found);
	ck_assert_int_eq(lc_creds_lookup(path, "127.0.0.1:5000", &c, &err), 0);
	ck_assert_int_eq(lc_creds_lookup(path, "docker.io", &c, &err), 1);
	lc_creds_clear(&c);
	ck_assert_ok(lc_creds_erase(path, "127.0.0.1:5000", &found, &err), &err);
	ck_assert(!found);
	/* an identitytoken wins over auth */
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("{\"auths\":{\"ghcr.io\":{\"auth\":\"dTpw\",\"identitytoken\":\"rt\"}}}", f);
	fclose(f);
	ck_assert_int_eq(lc_creds_lookup(path, "ghcr.io", &c, &err), 1);
	ck_assert_str_eq(c.identity_token, "rt");
	ck_assert_ptr_null(c.basic);
	lc_creds_clear(&c);
	/* a helper name that is a path is refused, not run */
	f = fopen(path, "we");
	fputs("{\"credsStore\":\"../../bin/sh\"}", f);
	fclose(f);
	ck_assert_fail(lc_creds_lookup(path, "ghcr.io", &c, &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	unit_tmpdir_free(dir);
}
END_TEST

START_TEST(hosts_toml_subset)
{
	static const char ok[] = "# containerd's docs\n"
				 "server = \"https://registry-1.docker.io\"  # upstream\n"
				 "\n"
				 "[host.\"https://mirror.example.com\"]\n"
				 "  capabilities = [\"pull\", \"resolve\"]\n"
				 "  skip_verify = true\n"
				 "  dial_timeout = \"3s\"\n"
				 "  client = \"first.pem\"\n"
				 "  client = [[\"/c.cert\", \"c.key\"]]\n"
				 "  ca = [\"/etc/ssl/m.pem\", \"local.pem\"]\n"
				 "[host.\"https://mirror.example.com\".header]\n"
				 "  x-custom = [\"1\"]\n"
				 "[host.'http://10.0.0.1:5000/v2/']\n"
				 "  capabilities = [\n    \"pull\",\n  ]\n"
				 "  override_path = true\n";
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[host.\"https://m\"]\nheader = { a = \"b\" }\n", "line 2: inline tables" },
		{ "server = \"ftp://x\"\n", "line 1: a host must be an http" },
		{ "[[host]]\n", "line 1: arrays of tables" },
		{ "a.b = 1\n", "line 1: dotted keys" },
		{ "[host.\"https://m\"]\ncapabilities = [\"fly\"]\n", "line 2: capabilities" },
		{ "x = \"open\n", "line 1: unterminated string" },
	};
	struct lc_hosts h = { 0 };
	struct lc_err *err = NULL;

	ck_assert_ok(lc_hosts_parse(ok, strlen(ok), "/etc/layerctl/certs.d/docker.io",
				    "https://default", &h, &err),
		     &err);
	ck_assert_uint_eq(h.n, 3);
	ck_assert_str_eq(h.v[0].url, "https://mirror.example.com");
	ck_assert_uint_eq(h.v[0].caps, LC_HOST_PULL | LC_HOST_RESOLVE);
	ck_assert(h.v[0].skip_verify);
	ck_assert_str_eq(h.v[0].cert, "/c.cert");
	ck_assert_str_eq(h.v[0].key, "/etc/layerctl/certs.d/docker.io/c.key");
	/* ca files recorded, not read: parsing touches no file */
	ck_assert_uint_eq(h.v[0].n_ca_files, 2);
	ck_assert_str_eq(h.v[0].ca_files[0], "/etc/ssl/m.pem");
	ck_assert_str_eq(h.v[0].ca_files[1], "/etc/layerctl/certs.d/docker.io/local.pem");
	ck_assert_ptr_null(h.v[0].ca_pem);
	ck_assert_str_eq(h.v[1].url, "http://10.0.0.1:5000/v2");
	ck_assert_uint_eq(h.v[1].caps, LC_HOST_PULL);
	ck_assert(h.v[1].override_path);
	ck_assert(!h.v[1].upstream);
	ck_assert_str_eq(h.v[2].url, "https://registry-1.docker.io");
	ck_assert(h.v[2].upstream);
	lc_hosts_clear(&h);
	for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
		ck_assert_fail(lc_hosts_parse(bad[i].text, strlen(bad[i].text), NULL, "https://d",
					      &h, &err),
			       &err, LC_ERR_INVALID);
		ck_assert_msg(strstr(err->msg, bad[i].msg), "'%s' lacks '%s'", err->msg,
			      bad[i].msg);
		lc_err_free(err);
		err = NULL;
	}
	/* an empty file: the registry alone */
	ck_assert_ok(lc_hosts_parse("", 0, NULL, "https://d", &h, &err), &err);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_str_eq(h.v[0].url, "https://d");
	lc_hosts_clear(&h);
}
END_TEST

START_TEST(docker_config_credentials_per_host)
{
	char *dir = unit_tmpdir();
	cleanup_free char *path = lc_xasprintf("%s/config.json", dir);
	cleanup_free char *bad = lc_xasprintf("%s/bad.json", dir);
	struct lc_err *err = NULL;
	char *basic = NULL;
	FILE *f = fopen(path, "we");

	/* dTpw = base64("u:p"), YWRtaW46cw== = base64("admin:s") */
	ck_assert_ptr_nonnull(f);
	fputs("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dTpw\"},"
	      "\"127.0.0.1:5000\":{\"auth\":\"YWRtaW46cw==\"},"
	      "\"http://reg.example:8443/v2/\":{\"auth\":\"dTpw\"}}}",
	      f);
	fclose(f);
	ck_assert_int_eq(lc_auth_config_lookup(path, "docker.io", &basic, &err), 1);
	ck_assert_str_eq(basic, "dTpw");
	free(basic);
	ck_assert_int_eq(lc_auth_config_lookup(path, "127.0.0.1:5000", &basic, &err), 1);
	ck_assert_str_eq(basic, "YWRtaW46cw==");
	free(basic);
	ck_assert_int_eq(lc_auth_config_lookup(path, "reg.example:8443", &basic, &err), 1);
	free(basic);
	basic = NULL;
	/* another port, another host, a suffix trick: nothing */
	ck_assert_int_eq(lc_auth_config_lookup(path, "127.0.0.1:5001", &basic, &err), 0);
	ck_assert_int_eq(lc_auth_config_lookup(path, "127.0.0.1", &basic, &err), 0);
	ck_assert_int_eq(lc_auth_config_lookup(path, "ghcr.io", &basic, &err), 0);
	ck_assert_int_eq(lc_auth_config_lookup(path, "reg.example", &basic, &err), 0);
	ck_assert_ptr_null(basic);
	/* missing file: anonymous */
	ck_assert_int_eq(lc_auth_config_lookup(bad, "docker.io", &basic, &err), 0);
	/* no user */
	f = fopen(bad, "we");
	fputs("{\"auths\":{\"ghcr.io\":{\"auth\":\"OnA=\"}}}", f); /* ":p" */
	fclose(f);
	ck_assert_fail(lc_auth_config_lookup(bad, "ghcr.io", &basic, &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	err = NULL;
	/* Docker Hub under another of its names, in any case: docker.io's */
	f = fopen(bad, "we");
	fputs("{\"auths\":{\"HTTPS://Registry-1.Docker.IO/v2/\":{\"auth\":\"dTpw\"}}}", f);
	fclose(f);
	ck_assert_int_eq(lc_auth_config_lookup(bad, "docker.io", &basic, &err), 1);
	ck_assert_str_eq(basic, "dTpw");
	free(basic);
	basic = NULL;
	ck_assert_int_eq(lc_auth_config_lookup(bad, "registry-1.example", &basic, &err), 0);
	unit_tmpdir_free(dir);
}
END_TEST

/* ---------- redirects ---------- */

static const struct {
	const char *from, *loc;
	unsigned hops;
	bool insecure;
	const char *url; /* NULL: refused */
	bool keep_auth;
} redirects[] = {
	{ "http://127.0.0.1:5000/v2/x/blobs/a", "/v2/x/blobs/b?q=1", 0, false,
	  "http://127.0.0.1:5000/v2/x/blobs/b?q=1", true },
	{ "http://127.0.0.1:5000/v2/x/blobs/a", "http://127.0.0.1:5000/other", 3, false,
	  "http://127.0.0.1:5000/other", true },
	{ "http://127.0.0.1:5000/a", "http://127.0.0.2:5000/b", 0, false, "http://127.0.0.2:5000/b",
	  false },
	{ "http://127.0.0.1:5000/a", "http://127.0.0.1:5001/b", 0, false, "http://127.0.0.1:5001/b",
	  false },
	{ "https://registry-1.docker.io/v2/x", "https://production.cloudflare.docker.com/d?v=1", 0,
	  false, "https://production.cloudflare.docker.com/d?v=1", false },
	{ "https://r.example/a", "https://R.EXAMPLE:443/b", 0, false, "https://R.EXAMPLE:443/b",
	  true },
	{ "http://r.example/a", "https://r.example/b", 0, false, "https://r.example/b", false },
	{ "https://r.example/a", "http://cdn.example/b", 0, false, NULL, false },
	{ "https://r.example/a", "http://r.example/b", 0, false, NULL, false },
	{ "https://r.example/a", "http://cdn.example/b", 0, true, "http://cdn.example/b", false },
	/* a remote registry may not send us to local plain-http services */
	{ "https://r.example/a", "http://127.0.0.2:8080/b", 0, false, NULL, false },
	{ "https://127.0.0.1:5000/a", "http://127.0.0.2:8080/b", 0, false,
	  "http://127.0.0.2:8080/b", false },
	{ "http://127.0.0.1:5000/a", "file:///etc/passwd", 0, false, NULL, false },
	{ "http://127.0.0.1:5000/a", "ftp://127.0.0.1/x", 0, false, NULL, false },
	{ "http://127.0.0.1:5000/a", "gopher://127.0.0.1/x", 0, false, NULL, false },
	{ "http://127.0.0.1:5000/a", "/b", 9, false, "http://127.0.0.1:5000/b", true },
	{ "http://127.0.0.1:5000/a", "/b", 10, false, NULL, false },
	{ "http://127.0.0.1:5000/a", "", 0, false, NULL, false },
};

START_TEST(redirect_policy_table)
{
	struct lc_err *err = NULL;
	char *url = NULL;
	bool keep = !redirects[_i].keep_auth;
	int r = lc_redirect_policy(redirects[_i].from, redirects[_i].loc, redirects[_i].hops,
				   redirects[_i].insecure, &url, &keep, &err);

	if (!redirects[_i].url) {
		ck_assert_msg(r < 0, "redirect %s -> %s followed", redirects[_i].from,
			      redirects[_i].loc);
		ck_assert_ptr_nonnull(err);
		ck_assert_ptr_null(url);
		lc_err_free(err);
		return;
	}
	ck_assert_msg(r == 0, "redirect refused: %s", err ? err->msg : "");
	ck_assert_str_eq(url, redirects[_i].url);
	ck_assert_int_eq(keep, redirects[_i].keep_auth);
	free(url);
}
END_TEST

/* ---------- registry errors ---------- */

static const struct {
	const char *body;
	const char *msg; /* NULL: not a registry error */
} errbodies[] = {
	{ "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
	  "\"detail\":{\"Tag\":\"x\"}}]}",
	  "manifest unknown: manifest unknown" },
	{ "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
	  "unauthorized: authentication required" },
	{ "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"a\"},{\"code\":\"TOOMANYREQUESTS\"}]}",
	  "denied: a; toomanyrequests" },
	{ "{\"errors\":[{\"code\":\"X\",\"message\":\"line\\n\\u001b[31mred\"}]}",
	  "x: line?\?[31mred" },
	{ "{\"errors\":[{\"code\":\"A\"},{\"code\":\"B\"},{\"code\":\"C\"},{\"code\":\"D\"}]}",
	  "a; b; c" },
	{ "{}", NULL },
	{ "{\"errors\":[]}", NULL },
	{ "{\"errors\":[{\"code\":5}]}", NULL },
	{ "<html>502 Bad Gateway</html>", NULL },
	{ "", NULL },
};

START_TEST(registry_error_table)
{
	char *m = lc_registry_errors_parse(errbodies[_i].body, strlen(errbodies[_i].body));

	assert_str_or_null(m, errbodies[_i].msg);
	free(m);
}
END_TEST

START_TEST(registry_error_bounds)
{
	size_t n = 10000;
	char *msg = lc_xmalloc(n + 1);
	cleanup_free char *body = NULL;
	cleanup_free char *m = NULL;

	memset(msg, 'm', n);
	msg[n] = 0;
	body = lc_xasprintf("{\"errors\":[{\"code\":\"C\",\"message\":\"%s\"}]}", msg);
	free(msg);
	m = lc_registry_errors_parse(body, strlen(body));
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(strlen(m), strlen("c: ") + 200);
	ck_assert_int_eq(lc_retry_after_parse("5", 30), 5);
	ck_assert_int_eq(lc_retry_after_parse("120", 30), 30);
	ck_assert_int_eq(lc_retry_after_parse("junk", 30), -1);
	ck_assert_int_eq(lc_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 30), 0);
}
END_TEST

START_TEST(backoff_doubles_with_jitter_within_30s)
{
	long total_min = 0, total_max = 0;
	unsigned n;

	/* half fixed, half random: 250-500, 500-1000, ..., then 4-8 s each */
	ck_assert_int_eq(lc_backoff_ms(0, 0), 250);
	ck_assert_int_eq(lc_backoff_ms(0, 250), 500);
	ck_assert_int_eq(lc_backoff_ms(0, 251), 250);
	ck_assert_int_eq(lc_backoff_ms(3, 0), 2000);
	ck_assert_int_eq(lc_backoff_ms(4, 4000), 8000);
	ck_assert_int_eq(lc_backoff_ms(40, 0), 4000);
	for (n = 0; total_min + lc_backoff_ms(n, 0) <= LC_HTTP_RETRY_MS; n++)
		total_min += lc_backoff_ms(n, 0);
	for (unsigned k = 0; k < n; k++)
		total_max += lc_backoff_ms(k, UINT32_MAX - (UINT32_MAX % 4001));
	/* a 10 s storm is outlasted; a registry down for good is given up on in about 30 s */
	ck_assert_int_ge(n, 6);
	ck_assert_int_le(n, 10);
	ck_assert_int_ge(total_max, 10000);
}
END_TEST

START_TEST(ref_port_out_of_range_is_usage)
{
	struct lc_ref *r = NULL;
	struct lc_err *err = NULL;

	ck_assert_fail(lc_ref_parse("127.0.0.1:99999/busybox", &r, &err), &err, LC_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err->msg, "port '99999' is out of range"));
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_ref_parse("localhost:0/x", &r, &err), &err, LC_ERR_USAGE);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_ref_parse("[::1]:65536/x", &r, &err), &err, LC_ERR_USAGE);
	lc_err_free(err);
	ck_assert_ok(lc_ref_parse("[::1]:65535/x", &r, &err), &err);
	lc_ref_free(r);
}
END_TEST

/* ---------- platforms ---------- */

static const struct {
	const char *in;
	const char *os, *arch, *variant; /* os NULL: fails */
} platforms[] = {
	{ "linux/amd64", "linux", "amd64", NULL },
	{ "linux/x86_64", "linux", "amd64", NULL },
	{ "linux/amd64/v1", "linux", "amd64", NULL },
	{ "linux/amd64/v3", "linux", "amd64", "v3" },
	{ "linux/arm64/v8", "linux", "arm64", NULL },
	{ "linux/aarch64", "linux", "arm64", NULL },
	{ "linux/arm", "linux", "arm", "v7" },
	{ "linux/armhf", "linux", "arm", "v7" },
	{ "linux/armel", "linux", "arm", "v6" },
	{ "linux/arm/6", "linux", "arm", "v6" },
	{ "linux/i386", "linux", "386", NULL },
	{ "LINUX/AMD64", "linux", "amd64", NULL },
	{ "linux/s390x", "linux", "s390x", NULL },
	{ "arm64", "linux", "arm64", NULL },
	{ "aarch64", "linux", "arm64", NULL },
	{ "AMD64", "linux", "amd64", NULL },
	{ "armhf", "linux", "arm", "v7" },
	{ "arm64x", NULL, NULL, NULL },
	{ "linux", NULL, NULL, NULL },
	{ "linux/", NULL, NULL, NULL },
	{ "/amd64", NULL, NULL, NULL },
	{ "linux/amd64/v2/x", NULL, NULL, NULL },
	{ "linux/am d64", NULL, NULL, NULL },
	{ "", NULL, NULL, NULL },
};

START_TEST(platform_table)
{
	struct lc_err *err = NULL;
	char *os = NULL, *arch = NULL, *variant = NULL;

	if (!platforms[_i].os) {
		ck_assert_fail(lc_platform_parse(platforms[_i].in, &os, &arch, &variant, &err),
			       &err, LC_ERR_INVALID);
		ck_assert_ptr_nonnull(strstr(err->msg, "os/arch[/variant]"));
		lc_err_free(err);
		return;
	}
	ck_assert_ok(lc_platform_parse(platforms[_i].in, &os, &arch, &variant, &err), &err);
	ck_assert_str_eq(os, platforms[_i].os);
	ck_assert_str_eq(arch, platforms[_i].arch);
	assert_str_or_null(variant, platforms[_i].variant);
	free(os);
	free(arch);
	free(variant);
}
END_TEST

START_TEST(platform_match_and_list)
{
	struct lc_descriptor e[] = {
		{ .digest = (char *)"sha256:1", .os = (char *)"linux", .arch = (char *)"amd64" },
		{ .digest = (char *)"sha256:2",
		  .os = (char *)"linux",
		  .arch = (char *)"arm64",
		  .variant = (char *)"v8" },
		{ .digest = (char *)"sha256:3",
		  .os = (char *)"linux",
		  .arch = (char *)"arm",
		  .variant = (char *)"v6" },
		{ .digest = (char *)"sha256:4",
		  .os = (char *)"unknown",
		  .arch = (char *)"unknown" },
	};
	struct lc_manifest idx = { .kind = LC_MEDIA_INDEX, .manifests = e, .n_manifests = 4 };
	const char *os, *arch, *variant;
	cleanup_free char *list = lc_platform_list(&idx);

	ck_assert_ptr_eq(lc_platform_match(&idx, "linux", "amd64", NULL), &e[0]);
	ck_assert_ptr_eq(lc_platform_match(&idx, "linux", "amd64", "v3"), &e[0]);
	ck_assert_ptr_eq(lc_platform_match(&idx, "linux", "arm64", NULL), &e[1]);
	ck_assert_ptr_eq(lc_platform_match(&idx, "linux", "aarch64", "v8"), &e[1]);
	ck_assert_ptr_eq(lc_platform_match(&idx, "linux", "arm", "v7"), &e[2]);
	ck_assert_ptr_null(lc_platform_match(&idx, "linux", "arm", "v5"));
	ck_assert_ptr_null(lc_platform_match(&idx, "linux", "s390x", NULL));
	ck_assert_ptr_null(lc_platform_match(&idx, "unknown", "unknown", NULL));
	ck_assert_ptr_null(lc_platform_match(&idx, "windows", "amd64", NULL));
	ck_assert_str_eq(list, "linux/amd64, linux/arm64/v8, linux/arm/v6");
	lc_fetch_host_platform(&os, &arch, &variant);
	ck_assert_str_eq(os, "linux");
	ck_assert_ptr_nonnull(arch);
}
END_TEST

/* ---------- a tiny HTTP server, one connection at a time ---------- */

#define MAX_REQS 32

struct srv;
typedef char *(*srv_handler)(struct srv *s, const char *req);

struct srv {
	int fd, port;
	pthread_t thread;
	srv_handler handler;
	int stop_pipe[2];
	pthread_mutex_t lock;
	char *reqs[MAX_REQS];
	int n_reqs;
	int counter;
	size_t resp_len; /* set by a handler whose answer holds NULs (0: strlen) */
	void *ctx;	 /* the handler's */
};

static void *srv_main(void *data)
{
	struct srv *s = data;

	while (true) {
		struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };
		char buf[8192];
		size_t n = 0;
		char *resp;
		int c;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			break;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* headers only: our client sends no bodies */
		while (n < sizeof(buf) - 1) {
			ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);

			if (k <= 0)
				break;
			n += (size_t)k;
			buf[n] = 0;
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		buf[n] = 0;
		pthread_mutex_lock(&s->lock);
		if (s->n_reqs < MAX_REQS)
			s->reqs[s->n_reqs++] = lc_xstrdup(buf);
		s->counter++;
		pthread_mutex_unlock(&s->lock);
		resp = s->handler(s, buf);
		/* the client may hang up early (a bounded body): no SIGPIPE */
		for (size_t off = 0, len = s->resp_len ? s->resp_len : strlen(resp); off < len;) {
			ssize_t k = send(c, resp + off, len - off, MSG_NOSIGNAL);

			if (k <= 0)
				break;
			off += (size_t)k;
		}
		free(resp);
		s->resp_len = 0;
		shutdown(c, SHUT_WR);
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s, srv_handler h)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->handler = h;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->fd, 16), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(pipe2(s->stop_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	ck_assert_int_eq(write(s->stop_pipe[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	for (int i = 0; i < s->n_reqs; i++)
		free(s->reqs[i]);
}

/* The request line of request i, and whether it carried a header (case-insensitive). */
static bool req_has(struct srv *s, int i, const char *needle)
{
	ck_assert_int_lt(i, s->n_reqs);
	return strcasestr(s->reqs[i], needle) != NULL;
}

static char *reply(int status, const char *headers, const char *body)
{
	return lc_xasprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
			    status, strlen(body), headers, body);
}

#define MANIFEST_BODY "{\"schemaVersion\":2}"

static char *h_registry(struct srv *s, const char *req)
{
	char digest[LC_DIGEST_BUFSZ];
	char *hdr, *r;

	lc_sha256_buf(MANIFEST_BODY, strlen(MANIFEST_BODY), digest);
	if (!strncmp(req, "GET /token?", 11)) {
		if (!strstr(req, "scope=repository%3Ax%3Apull") || !strstr(req, "service=reg"))
			return reply(400, "", "bad token request");
		return reply(200, "Content-Type: application/json\r\n",
			     "{\"token\":\"T0K\",\"expires_in\":300}");
	}
	if (!strcasestr(req, "\r\nAuthorization: Bearer T0K\r\n")) {
		hdr = lc_xasprintf("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
				   "service=\"reg\",scope=\"repository:x:pull\"\r\n",
				   s->port);
		r = reply(401, hdr,
			  "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
			  "required\"}]}");
		free(hdr);
		return r;
	}
	if (!strncmp(req, "GET /v2/x/manifests/latest ", 27) ||
	    (!strncmp(req, "GET /v2/x/manifests/sha256:", 27) && !strncmp(req + 20, digest, 71))) {
		hdr = lc_xasprintf("Content-Type: " LC_MT_OCI_MANIFEST
				   "; charset=utf-8\r\nDocker-Content-Digest: %s\r\n",
				   digest);
		r = reply(200, hdr, MANIFEST_BODY);
		free(hdr);
		return r;
	}
	if (!strncmp(req, "GET /v2/x/manifests/" D " ", 92))
		return reply(200, "", MANIFEST_BODY); /* not what that digest names */
	if (!strncmp(req, "GET /v2/x/manifests/liar ", 25))
		return reply(200, "Docker-Content-Digest: sha256:" HEX64 "\r\n", MANIFEST_BODY);
	if (!strncmp(req, "GET /v2/x/manifests/big ", 24)) {
		char *big = lc_xmalloc(LC_MAX_MANIFEST_SIZE + 2);

		memset(big, ' ', LC_MAX_MANIFEST_SIZE + 1);
		big[LC_MAX_MANIFEST_SIZE + 1] = 0;
		r = reply(200, "", big);
		free(big);
		return r;
	}
	if (!strncmp(req, "GET /v2/x/blobs/", 16)) {
		/* a 307 to another host name for the same server, like Hub's CDN */
		hdr = lc_xasprintf("Location: http://localhost:%d/cdn/blob\r\n", s->port);
		r = reply(307, hdr, "");
		free(hdr);
		return r;
	}
	if (!strncmp(req, "GET /v2/x/manifests/flaky ", 26)) {
		if (s->counter < 5)
			return reply(503, "Retry-After: 0\r\n", "busy");
		return reply(200, "", MANIFEST_BODY);
	}
	if (!strncmp(req, "GET /v2/x/manifests/down ", 25))
		return reply(503, "", "{\"errors\":[{\"code\":\"UNAVAILABLE\"}]}");
	return reply(404, "Content-Type: application/json\r\n",
		     "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
		     "unknown\"}]}");
}

/* The CDN path answers without auth; anything with Authorization there is a leak. */
static char *h_cdn(struct srv *s, const char *req)
{
	if (!strncmp(req, "GET /cdn/blob ", 14)) {
		if (strcasestr(req, "Authorization:"))
			return reply(400, "", "leaked");
		return reply(200, "", "hello blob");
	}
	return h_registry(s, req);
}

static struct lc_registry *test_registry(struct srv *s, struct lc_ref **ret_ref)
{
	cleanup_free char *name = lc_xasprintf("127.0.0.1:%d/x:latest", s->port);
	struct lc_registry *reg = NULL;
	struct lc_err *err = NULL;

	ck_assert_ok(lc_ref_parse(name, ret_ref, &err), &err);
	ck_assert_ok(lc_registry_new(*ret_ref, false, &reg, &err), &err);
	lc_registry_set_config(reg, "/nonexistent/config.json");
	return reg;
}

START_TEST(http_token_flow_and_manifest_digest)
{
	struct srv s;
	struct lc_ref *ref = NULL;
	struct lc_registry *reg;
	struct lc_http *h = lc_http_new();
	struct lc_fetched_manifest m = { 0 };
	struct lc_err *err = NULL;
	char digest[LC_DIGEST_BUFSZ];

	srv_start(&s, h_registry);
	reg = test_registry(&s, &ref);
	ck_assert_ok(lc_registry_get_manifest(reg, h, "latest", -1, &m, &err), &err);
	ck_assert_str_eq(m.body, MANIFEST_BODY);
	ck_assert_str_eq(m.content_type, LC_MT_OCI_MANIFEST);
	lc_sha256_buf(MANIFEST_BODY, strlen(MANIFEST_BODY), digest);
	ck_assert_str_eq(m.digest, digest);
	/* 401, token, retry with the token; all four media types were accepted */
	ck_assert_int_eq(s.n_reqs, 3);
	ck_assert(!req_has(&s, 0, "Authorization:"));
	ck_assert(req_has(&s, 0, LC_MT_OCI_INDEX));
	ck_assert(req_has(&s, 0, LC_MT_OCI_MANIFEST));
	ck_assert(req_has(&s, 0, LC_MT_DOCKER_LIST));
	ck_assert(req_has(&s, 0, LC_MT_DOCKER_MANIFEST));
	ck_assert(req_has(&s, 1, "GET /token?"));
	ck_assert(req_has(&s, 2, "Authorization: Bearer T0K"));
	lc_fetched_manifest_clear(&m);

	/* the token is cached per scope: one request, no new token */
	ck_assert_ok(lc_registry_get_manifest(reg, h, digest, -1, &m, &err), &err);
	ck_assert_int_eq(s.n_reqs, 4);
	lc_fetched_manifest_clear(&m);

	/* a Docker-Content-Digest that does not match the body */
	ck_assert_fail(lc_registry_get_manifest(reg, h, "liar", -1, &m, &err), &err, LC_ERR_DIGEST);
	lc_err_free(err);
	err = NULL;
	/* asking by digest: the body must hash to it */
	ck_assert_fail(lc_registry_get_manifest(reg, h, D, -1, &m, &err), &err, LC_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err->msg, "expected " D));
	lc_err_free(err);
	err = NULL;
	/* by digest with the descriptor's size: a longer body stops at size+1 */
	ck_assert_fail(lc_registry_get_manifest(reg, h, digest, 5, &m, &err), &err, LC_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err->msg, "larger than its descriptor's 5 bytes"));
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_registry_get_manifest(reg, h, digest, 100, &m, &err), &err,
		       LC_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err->msg, "size mismatch"));
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_registry_get_manifest(reg, h, digest, LC_MAX_MANIFEST_SIZE + 1, &m, &err),
		       &err, LC_ERR_LIMIT);
	lc_err_free(err);
	err = NULL;
	/* more than 4 MiB */
	ck_assert_fail(lc_registry_get_manifest(reg, h, "big", -1, &m, &err), &err, LC_ERR_LIMIT);
	lc_err_free(err);
	err = NULL;
	/* 404 with the registry's JSON error */
	ck_assert_fail(lc_registry_get_manifest(reg, h, "nope", -1, &m, &err), &err,
		       LC_ERR_NOTFOUND);
	{
		cleanup_free char *want =
			lc_xasprintf("manifest unknown: '127.0.0.1:%d/x:nope' not found", s.port);

		ck_assert_str_eq(err->msg, want);
	}
	lc_err_free(err);
	lc_registry_free(reg);
	lc_ref_free(ref);
	lc_http_free(h);
	srv_stop(&s);
}
END_TEST

struct sink {
	char buf[64];
	size_t len;
};

static int sink_write(const void *buf, size_t len, void *data, struct lc_err **err)
{
	struct sink *k = data;

	if (k->len + len > sizeof(k->buf))
		return lc_err_set(err, LC_ERR_LIMIT, 0, "sink full");
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	return 0;
}

static int failing_write(const void *buf, size_t len, void *data, struct lc_err **err)
{
	(void)buf, (void)len, (void)data;
	return lc_err_set(err, LC_ERR_DIGEST, 0, "digest mismatch: from the store");
}

START_TEST(http_blob_redirect_drops_authorization)
{
	struct srv s;
	struct lc_ref *ref = NULL;
	struct lc_registry *reg;
	struct lc_http *h = lc_http_new();
	struct lc_err *err = NULL;
	struct sink k = { 0 };
	char *small = NULL;
	size_t small_len = 0;
	char hd[LC_DIGEST_BUFSZ];

	srv_start(&s, h_cdn);
	reg = test_registry(&s, &ref);
	ck_assert_ok(lc_registry_get_blob(reg, h, D, 10, 0, sink_write, &k, NULL, &err), &err);
	ck_assert_int_eq(k.len, 10);
	ck_assert(!memcmp(k.buf, "hello blob", 10));
	/* 401, token, blob with token -> 307, CDN without it */
	ck_assert_int_eq(s.n_reqs, 4);
	ck_assert(req_has(&s, 2, "Authorization: Bearer T0K"));
	ck_assert(req_has(&s, 3, "GET /cdn/blob"));
	ck_assert(req_has(&s, 3, "Host: localhost:"));
	ck_assert(!req_has(&s, 3, "Authorization"));

	/* one byte more than the descriptor says: refused at size+1 */
	k.len = 0;
	ck_assert_fail(lc_registry_get_blob(reg, h, D, 9, 0, sink_write, &k, NULL, &err), &err,
		       LC_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err->msg, "larger than"));
	ck_assert_int_le(k.len, 9);
	lc_err_free(err);
	err = NULL;
	/* fewer bytes than promised */
	k.len = 0;
	ck_assert_fail(lc_registry_get_blob(reg, h, D, 11, 0, sink_write, &k, NULL, &err), &err,
		       LC_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err->msg, "short blob"));
	lc_err_free(err);
	err = NULL;
	/* the sink's error is what the user sees, not curl's "write error" */
	ck_assert_fail(lc_registry_get_blob(reg, h, D, 10, 0, failing_write, NULL, NULL, &err),
		       &err, LC_ERR_DIGEST);
	ck_assert_str_eq(err->msg, "digest mismatch: from the store");
	lc_err_free(err);
	err = NULL;
	/* small blobs are verified against their digest */
	ck_assert_fail(lc_registry_get_small_blob(reg, h, D, 10, 100, &small, &small_len, &err),
		       &err, LC_ERR_DIGEST);
	lc_err_free(err);
	err = NULL;
	lc_sha256_buf("hello blob", 10, hd);
	ck_assert_ok(lc_registry_get_small_blob(reg, h, hd, 10, 100, &small, &small_len, &err),
		     &err);
	ck_assert_str_eq(small, "hello blob");
	free(small);
	ck_assert_fail(lc_registry_get_small_blob(reg, h, hd, 10, 5, &small, &small_len, &err),
		       &err, LC_ERR_LIMIT);
	lc_err_free(err);
	lc_registry_free(reg);
	lc_ref_free(ref);
	lc_http_free(h);
	srv_stop(&s);
}
END_TEST

START_TEST(http_retries_5xx_and_names_host_on_failure)
{
	struct srv s;
	struct lc_ref *ref = NULL;
	struct lc_registry *reg;
	struct lc_http *h = lc_http_new();
	struct lc_fetched_manifest m = { 0 };
	struct lc_err *err = NULL;
	struct lc_http_req req = { .url = "http://127.0.0.1:1/v2/", .max_body = 10 };
	struct lc_http_resp resp = { 0 };

	srv_start(&s, h_registry);
	reg = test_registry(&s, &ref);
	/* waits of 250-500 ms, then 500-1000 ms, then 1-2 s: at least 3 tries in 3 s */
	lc_registry_set_retry(reg, 3000);
	/* 401, token, 503, 503 -> the third try succeeds */
	ck_assert_ok(lc_registry_get_manifest(reg, h, "flaky", -1, &m, &err), &err);
	ck_assert_str_eq(m.body, MANIFEST_BODY);
	ck_assert_int_eq(s.n_reqs, 5);
	lc_fetched_manifest_clear(&m);
	/* still failing when the budget is spent: the status, the registry's words */
	ck_assert_fail(lc_registry_get_manifest(reg, h, "down", -1, &m, &err), &err, LC_ERR_NET);
	ck_assert_int_ge(s.n_reqs, 8);
	ck_assert_int_le(s.n_reqs, 10);
	ck_assert_ptr_nonnull(strstr(err->msg, "answered HTTP 503"));
	ck_assert_ptr_nonnull(strstr(err->msg, "unavailable"));
	lc_err_free(err);
	err = NULL;
	lc_registry_free(reg);
	lc_ref_free(ref);
	srv_stop(&s);

	ck_assert_fail(lc_http_do(h, &req, &resp, &err), &err, LC_ERR_NET);
	ck_assert_ptr_nonnull(strstr(err->msg, "cannot reach '127.0.0.1:1'"));
	lc_err_free(err);
	lc_http_free(h);
}
END_TEST

/* Bounds and redirects a hostile server tries (REFERENCE 3A items 3 and 5). */
static char *h_hostile(struct srv *s, const char *req)
{
	char *hdr, *r;

	if (!strncmp(req, "GET /token?", 11)) {
		/* a 2 MiB token answer */
		size_t n = 2u << 20;
		char *big = lc_xmalloc(n + 1);

		memset(big, 'a', n);
		memcpy(big, "{\"token\":\"", 10);
		memcpy(big + n - 2, "\"}", 2);
		big[n] = 0;
		r = reply(200, "Content-Type: application/json\r\n", big);
		free(big);
		return r;
	}
	if (!strncmp(req, "GET /v2/x/", 10)) {
		hdr = lc_xasprintf("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
				   "service=\"reg\"\r\n",
				   s->port);
		r = reply(401, hdr, "");
		free(hdr);
		return r;
	}
	if (!strncmp(req, "GET /loop ", 10))
		return reply(302, "Location: /loop\r\n", "");
	if (!strncmp(req, "GET /file ", 10))
		return reply(307, "Location: file:///etc/passwd\r\n", "");
	if (!strncmp(req, "GET /err ", 9)) {
		/* a 1 MiB error body */
		size_t n = 1u << 20;
		char *big = lc_xmalloc(n + 1);

		memset(big, 'e', n);
		big[n] = 0;
		r = reply(404, "", big);
		free(big);
		return r;
	}
	return reply(404, "", "");
}

START_TEST(http_hostile_bounds_and_redirects)
{
	struct srv s;
	struct lc_ref *ref = NULL;
	struct lc_registry *reg;
	struct lc_http *h = lc_http_new();
	struct lc_fetched_manifest m = { 0 };
	struct lc_http_resp resp = { 0 };
	struct lc_err *err = NULL;
	char *url;

	srv_start(&s, h_hostile);
	/* a token answer over 1 MiB is refused, not buffered */
	reg = test_registry(&s, &ref);
	ck_assert_fail(lc_registry_get_manifest(reg, h, "latest", -1, &m, &err), &err,
		       LC_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err->msg, "fetch token"));
	ck_assert_ptr_nonnull(strstr(err->msg, "larger than 1 MiB, the limit"));
	lc_err_free(err);
	err = NULL;
	lc_registry_free(reg);
	lc_ref_free(ref);

	/* an error body is kept up to LC_MAX_ERROR_BODY, the rest dropped */
	url = lc_xasprintf("http://127.0.0.1:%d/err", s.port);
	{
		struct lc_http_req req = { .url = url, .max_body = 10 };

		ck_assert_ok(lc_http_do(h, &req, &resp, &err), &err);
		ck_assert_int_eq(resp.status, 404);
		ck_assert_uint_eq(resp.len, LC_MAX_ERROR_BODY);
		lc_http_resp_clear(&resp);
	}
	free(url);

	/* a redirect loop stops after 10 hops: 11 requests */
	pthread_mutex_lock(&s.lock);
	s.counter = 0;
	pthread_mutex_unlock(&s.lock);
	url = lc_xasprintf("http://127.0.0.1:%d/loop", s.port);
	{
		struct lc_http_req req = { .url = url, .max_body = 10 };

		ck_assert_fail(lc_http_do(h, &req, &resp, &err), &err, LC_ERR_PROTO);
		ck_assert_ptr_nonnull(strstr(err->msg, "too many redirects"));
		ck_assert_int_eq(s.counter, LC_MAX_REDIRECTS + 1);
		lc_err_free(err);
		err = NULL;
	}
	free(url);

	/* a redirect to a file is refused, nothing read */
	url = lc_xasprintf("http://127.0.0.1:%d/file", s.port);
	{
		struct lc_http_req req = { .url = url, .max_body = 1 << 20 };

		ck_assert_fail(lc_http_do(h, &req, &resp, &err), &err, LC_ERR_UNSAFE);
		ck_assert_ptr_nonnull(strstr(err->msg, "'file' URL"));
		ck_assert_ptr_null(resp.body);
		lc_err_free(err);
	}
	free(url);
	lc_http_free(h);
	srv_stop(&s);
}
END_TEST

/* A one-layer image whose layer descriptor carries foreign "urls" (3A item 8). */
struct img {
	char tar[1536];
	char *manifest, *config;
	char tar_digest[LC_DIGEST_BUFSZ], config_digest[LC_DIGEST_BUFSZ];
};

static void img_make(struct img *im, int foreign_port)
{
	char *h = im->tar;
	unsigned sum = 0;

	memset(im->tar, 0, sizeof(im->tar));
	snprintf(h, 100, "hello");
	snprintf(h + 100, 8, "%07o", 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011o", 0);
	snprintf(h + 136, 12, "%011o", 1600000000);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	lc_sha256_buf(im->tar, sizeof(im->tar), im->tar_digest);
	im->config = lc_xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
				  "{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
				  im->tar_digest);
	lc_sha256_buf(im->config, strlen(im->config), im->config_digest);
	im->manifest = lc_xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST "\",\"config\":{"
		"\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
		"\"size\":%zu},\"layers\":[{\"mediaType\":"
		"\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu,"
		"\"urls\":[\"http://127.0.0.1:%d/latest/meta-data\"]}]}",
		im->config_digest, strlen(im->config), im->tar_digest, sizeof(im->tar),
		foreign_port);
}

static char *h_image(struct srv *s, const char *req)
{
	struct img *im = s->ctx;
	char *r;

	if (!strncmp(req, "GET /v2/x/manifests/latest ", 27))
		return reply(200, "Content-Type: " LC_MT_OCI_MANIFEST "\r\n", im->manifest);
	if (!strncmp(req, "GET /v2/x/blobs/", 16) && !strncmp(req + 16, im->config_digest, 71))
		return reply(200, "", im->config);
	if (!strncmp(req, "GET /v2/x/blobs/", 16) && !strncmp(req + 16, im->tar_digest, 71)) {
		size_t hl;

		r = lc_xasprintf(
			"HTTP/1.1 200 X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			sizeof(im->tar));
		hl = strlen(r);
		r = lc_xrealloc(r, hl + sizeof(im->tar));
		memcpy(r + hl, im->tar, sizeof(im->tar));
		s->resp_len = hl + sizeof(im->tar);
		return r;
	}
	return reply(404, "", "");
}

static char *h_foreign(struct srv *s, const char *req)
{
	(void)s, (void)req;
	return reply(200, "", "secret meta-data");
}

START_TEST(pull_never_contacts_foreign_urls)
{
	struct srv reg, foreign;
	struct img im = { 0 };
	struct lc_store *st = NULL;
	struct lc_ref *ref = NULL;
	struct lc_pull_result res = { 0 };
	struct lc_err *err = NULL;
	char *dir = unit_tmpdir();
	cleanup_free char *root = lc_xasprintf("%s/store", dir);
	cleanup_free char *name = NULL;

	srv_start(&foreign, h_foreign);
	img_make(&im, foreign.port);
	srv_start(&reg, h_image);
	reg.ctx = &im;
	name = lc_xasprintf("127.0.0.1:%d/x:latest", reg.port);
	ck_assert_ok(lc_ref_parse(name, &ref, &err), &err);
	ck_assert_ok(lc_store_open(root, &st, &err), &err);
	ck_assert_ok(lc_fetch_pull(st, ref, NULL, &res, &err), &err);
	ck_assert_uint_eq(res.n_fetched, 1);
	ck_assert_str_eq(res.config, im.config_digest);
	/* the layer came from the registry; the foreign URL saw nothing */
	ck_assert_int_eq(foreign.counter, 0);
	ck_assert_int_ge(reg.counter, 3);
	lc_pull_result_clear(&res);
	lc_store_close(st);
	lc_ref_free(ref);
	srv_stop(&reg);
	srv_stop(&foreign);
	free(im.manifest);
	free(im.config);
	unit_tmpdir_free(dir);
}
END_TEST

/* ---------- curl-dl.c: libcurl loaded on first use ---------- */

/* Without libcurl: one error naming it and its package, at the first use, and no crash. */
START_TEST(libcurl_missing_is_one_error)
{
	struct lc_err *err = NULL;

	lc_fetch_libcurl_soname_for_test("libcurl-missing-for-test.so.4");
	ck_assert_int_lt(lc_fetch_need_libcurl(&err), 0);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->msg, "needs libcurl-missing-for-test.so.4: install libcurl4 ("),
		      "message: %s", err->msg);
	ck_assert_ptr_null(strchr(err->msg, '\n'));
	lc_err_free(err);
	err = NULL;
	/* an entry point that talks to a registry says so before any request */
	ck_assert_fail(lc_fetch_login("127.0.0.1:9", false, "u", "p", &err), &err, LC_ERR_SYS);
	ck_assert_msg(strstr(err->msg, "needs libcurl-missing-for-test.so.4"), "message: %s",
		      err->msg);
	lc_err_free(err);
	/* the forwarders fail softly */
	ck_assert_ptr_null(curl_easy_init());
	ck_assert_ptr_null(curl_url());
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
	ck_assert_int_eq(curl_easy_setopt(NULL, CURLOPT_URL, "http://127.0.0.1:9/"),
			 CURLE_FAILED_INIT);
	curl_easy_cleanup(NULL);
	curl_free(NULL);
}
END_TEST

static size_t discard(char *p, size_t size, size_t n, void *data)
{
	(void)p, (void)data;
	return size * n;
}

/* The variadic forwarders pass each option's argument on as the type its number says. */
START_TEST(libcurl_variadic_forwarding)
{
	CURL *c = curl_easy_init();
	char pem[] = "not a certificate";
	struct curl_blob b = { .data = pem, .len = sizeof(pem) - 1, .flags = CURL_BLOB_COPY };
	int mine = 0;
	void *priv = NULL;
	long code = -1;
	double t = -1;
	curl_off_t sz = -1;
	struct curl_slist *cookies = NULL;
	curl_socket_t sock = CURL_SOCKET_BAD;

	ck_assert_ptr_nonnull(c);
	/* values libcurl checks: they reach it intact, as their own types */
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L), CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_TIMEOUT, -1L), CURLE_BAD_FUNCTION_ARGUMENT);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40),
			 CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)-1),
			 CURLE_BAD_FUNCTION_ARGUMENT);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:9/x"), CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard), CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b), CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(c, CURLOPT_PRIVATE, &mine), CURLE_OK);
	ck_assert_int_eq(curl_easy_setopt(c, (CURLoption)9999, 0L), CURLE_UNKNOWN_OPTION);
	/* one of each CURLINFO type */
	ck_assert_int_eq(curl_easy_getinfo(c, CURLINFO_PRIVATE, &priv), CURLE_OK);
	ck_assert_ptr_eq(priv, &mine);
	ck_assert_int_eq(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
	ck_assert_int_eq(code, 0);
	ck_assert_int_eq(curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &t), CURLE_OK);
	ck_assert(t == 0.0);
	ck_assert_int_eq(curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &sz), CURLE_OK);
	ck_assert_int_eq(sz, 0);
	ck_assert_int_eq(curl_easy_getinfo(c, CURLINFO_COOKIELIST, &cookies), CURLE_OK);
	ck_assert_int_eq(curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock), CURLE_OK);
	/* a type bit libcurl does not have */
	ck_assert_int_eq(curl_easy_getinfo(c, (CURLINFO)(0x700000 + 1), &priv),
			 CURLE_BAD_FUNCTION_ARGUMENT);
	curl_easy_cleanup(c);
}
END_TEST

static Suite *fetch_suite(void)
{
	Suite *s = suite_create("fetch");
	TCase *tc = tcase_create("pure");
	TCase *net = tcase_create("http");

	tcase_add_loop_test(tc, ref_table, 0, LC_ARRAY_SIZE(refs));
	tcase_add_test(tc, ref_length_limits);
	tcase_add_test(tc, ref_port_out_of_range_is_usage);
	tcase_add_test(tc, backoff_doubles_with_jitter_within_30s);
	tcase_add_loop_test(tc, base_url_choice, 0, LC_ARRAY_SIZE(bases));
	tcase_add_loop_test(tc, challenge_table, 0, LC_ARRAY_SIZE(challenges));
	tcase_add_loop_test(tc, token_table, 0, LC_ARRAY_SIZE(tokens));
	tcase_add_test(tc, docker_config_credentials_per_host);
	tcase_add_test(tc, creds_save_lookup_erase);
	tcase_add_test(tc, hosts_toml_subset);
	tcase_add_loop_test(tc, redirect_policy_table, 0, LC_ARRAY_SIZE(redirects));
	tcase_add_loop_test(tc, registry_error_table, 0, LC_ARRAY_SIZE(errbodies));
	tcase_add_test(tc, registry_error_bounds);
	tcase_add_loop_test(tc, platform_table, 0, LC_ARRAY_SIZE(platforms));
	tcase_add_test(tc, platform_match_and_list);
	tcase_add_test(tc, libcurl_missing_is_one_error);
	tcase_add_test(tc, libcurl_variadic_forwarding);
	suite_add_tcase(s, tc);

	tcase_set_timeout(net, 30);
	tcase_add_test(net, http_token_flow_and_manifest_digest);
	tcase_add_test(net, http_blob_redirect_drops_authorization);
	tcase_add_test(net, http_retries_5xx_and_names_host_on_failure);
	tcase_add_test(net, http_hostile_bounds_and_redirects);
	tcase_add_test(net, pull_never_contacts_foreign_urls);
	suite_add_tcase(s, net);
	return s;
}

int main(void)
{
	return unit_run(fetch_suite());
}
