/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a token endpoint's answer and a registry's JSON error body (fetch/auth.c,
 * fetch/http.c). The first byte picks the parser. A token goes into a header: it is never
 * empty and holds no control character; an error summary is one printable line.
 */
#include "fuzz.h"
#include "../../fetch/fetch-int.h"

static void token(const char *buf, size_t len)
{
	cleanup_free char *tok = NULL;
	struct lc_err *e = NULL;
	long exp = -1;

	if (lc_token_parse(buf, len, &tok, &exp, &e) < 0) {
		FUZZ_ASSERT(!tok && e);
		fuzz_err_check(e);
		return;
	}
	FUZZ_ASSERT(tok && *tok && exp >= 1 && exp <= 86400);
	for (const char *c = tok; *c; c++)
		FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void errors(const char *buf, size_t len)
{
	cleanup_free char *s = lc_registry_errors_parse(buf, len);

	if (!s)
		return;
	for (const char *c = s; *c; c++)
		FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *body = NULL;

	if (size < 1)
		return 0;
	body = fuzz_str(data + 1, size - 1);
	if (data[0] & 1)
		errors(body, size - 1);
	else
		token(body, size - 1);
	return 0;
}
