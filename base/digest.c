/* SPDX-License-Identifier: MIT */
/*
 * sha256 with libcrypto's SHA256_* functions (its assembly: SHA-NI, AVX2), linked statically
 * (Makefile): a few dozen KiB of code instead of mapping and relocating all of libcrypto.so at
 * every start, and no provider lookup or openssl.cnf parse at the first digest as EVP does.
 * Deprecated in OpenSSL 3 for new code that wants providers; these digests want none.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "base.h"

struct lc_sha256 {
	SHA256_CTX ctx;
};

struct lc_sha256 *lc_sha256_new(void)
{
	struct lc_sha256 *h = lc_xcalloc(1, sizeof(*h));

	if (SHA256_Init(&h->ctx) != 1)
		abort();
	return h;
}

void lc_sha256_update(struct lc_sha256 *h, const void *buf, size_t len)
{
	if (len && SHA256_Update(&h->ctx, buf, len) != 1)
		abort();
}

void lc_sha256_final(struct lc_sha256 *h, char out[LC_DIGEST_BUFSZ])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int i;

	if (SHA256_Final(md, &h->ctx) != 1)
		abort();
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 0xf];
	}
	out[LC_DIGEST_LEN] = '\0';
}

void lc_sha256_free(struct lc_sha256 *h)
{
	free(h);
}

void lc_sha256_freep(struct lc_sha256 **h)
{
	lc_sha256_free(*h);
}

void lc_sha256_buf(const void *buf, size_t len, char out[LC_DIGEST_BUFSZ])
{
	struct lc_sha256 *h = lc_sha256_new();

	lc_sha256_update(h, buf, len);
	lc_sha256_final(h, out);
	lc_sha256_free(h);
}

void lc_sha256_bin(const void *buf, size_t len, unsigned char out[32])
{
	SHA256_CTX ctx;

	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, buf, len) != 1 ||
	    SHA256_Final(out, &ctx) != 1)
		abort();
}

bool lc_digest_valid(const char *d)
{
	size_t i;

	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != LC_DIGEST_LEN)
		return false;
	for (i = 7; i < LC_DIGEST_LEN; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

int lc_digest_check(const char *d, struct lc_err **err)
{
	const char *colon;

	if (lc_digest_valid(d))
		return 0;
	if (!d)
		return lc_err_set(err, LC_ERR_PROTO, 0, "missing digest");
	colon = strchr(d, ':');
	if (colon && (colon - d != 6 || strncmp(d, "sha256", 6) != 0))
		return lc_err_set(
			err, LC_ERR_PROTO, 0,
			"unsupported digest algorithm in '%.80s' (only sha256 is verified)", d);
	return lc_err_set(err, LC_ERR_PROTO, 0,
			  "invalid digest '%.80s': want sha256: and 64 lowercase hex digits", d);
}

const char *lc_digest_hex(const char *d)
{
	return d + 7;
}

int lc_sha256_file_at(int dirfd, const char *name, char out[LC_DIGEST_BUFSZ])
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	cleanup_sha256 struct lc_sha256 *h = NULL;
	cleanup_free char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return -1;
	h = lc_sha256_new();
	buf = lc_xmalloc(1 << 16);
	while ((n = read(fd, buf, 1 << 16)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		lc_sha256_update(h, buf, (size_t)n);
	}
	lc_sha256_final(h, out);
	return 0;
}
