/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a registry's WWW-Authenticate header (fetch/auth.c). A parsed challenge has a
 * lowercase scheme, and a Bearer challenge a realm.
 */
#include <ctype.h>

#include "fuzz.h"
#include "../../fetch/fetch-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *s = fuzz_str(data, size);
	struct lc_challenge c = { 0 };
	struct lc_err *e = NULL;

	if (lc_challenge_parse(s, &c, &e) < 0) {
		FUZZ_ASSERT(e && (e->code == LC_ERR_PROTO || e->code == LC_ERR_AUTH));
		fuzz_err_check(e);
		lc_challenge_clear(&c);
		return 0;
	}
	FUZZ_ASSERT(!e && c.scheme);
	FUZZ_ASSERT(!strcmp(c.scheme, "bearer") || !strcmp(c.scheme, "basic"));
	FUZZ_ASSERT(strcmp(c.scheme, "bearer") || (c.realm && *c.realm));
	for (const char *p = c.scheme; *p; p++)
		FUZZ_ASSERT(!isupper((unsigned char)*p));
	lc_challenge_clear(&c);
	return 0;
}
