/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: hosts.toml, the per-registry mirror settings (fetch/hosts.c). The parser is
 * pure (the ca files it names are read later, by lc_hosts_read_cas), so no input reaches the
 * file system. What it accepts is a list that ends with the upstream and only there, every URL
 * http(s):// without a trailing '/', capabilities within pull|resolve, and every path it
 * resolved non-empty and either absolute or under the file's dir.
 */
#include "fuzz.h"
#include "../../fetch/fetch-int.h"

#define DIR "/etc/layerctl/certs.d/docker.io"

static void check_path(const char *p)
{
	FUZZ_ASSERT(p && *p);
	FUZZ_ASSERT(p[0] == '/');
}

static void check_url(const char *u)
{
	size_t n;

	FUZZ_ASSERT(u);
	FUZZ_ASSERT(!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7));
	n = strlen(u);
	FUZZ_ASSERT(n > 0 && u[n - 1] != '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_hosts h = { 0 };
	struct lc_err *e = NULL;

	if (lc_hosts_parse((const char *)data, size, DIR, "https://registry-1.docker.io", &h, &e) <
	    0) {
		FUZZ_ASSERT(e && h.n == 0 && !h.v);
		fuzz_err_check(e);
		return 0;
	}
	FUZZ_ASSERT(!e && h.n >= 1);
	for (size_t i = 0; i < h.n; i++) {
		const struct lc_host *x = &h.v[i];

		FUZZ_ASSERT(x->upstream == (i == h.n - 1));
		check_url(x->url);
		FUZZ_ASSERT((x->caps & ~(unsigned)(LC_HOST_PULL | LC_HOST_RESOLVE)) == 0);
		FUZZ_ASSERT(!x->ca_pem);
		for (size_t k = 0; k < x->n_ca_files; k++)
			check_path(x->ca_files[k]);
		if (x->cert)
			check_path(x->cert);
		if (x->key) {
			FUZZ_ASSERT(x->cert);
			check_path(x->key);
		}
	}
	lc_hosts_clear(&h);
	return 0;
}
