/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: references as a user types them (fetch/ref.c). A parsed reference prints back
 * to a string that parses to the same reference (normalization is idempotent), and its
 * familiar form does too.
 */
#include "fuzz.h"
#include "../../fetch/fetch.h"

static void same(const struct lc_ref *a, const struct lc_ref *b)
{
	FUZZ_ASSERT(!strcmp(a->domain, b->domain));
	FUZZ_ASSERT(!strcmp(a->path, b->path));
	FUZZ_ASSERT(!a->tag == !b->tag && (!a->tag || !strcmp(a->tag, b->tag)));
	FUZZ_ASSERT(!a->digest == !b->digest && (!a->digest || !strcmp(a->digest, b->digest)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_free char *s = fuzz_str(data, size);
	cleanup_free char *full = NULL;
	cleanup_free char *fam = NULL;
	cleanup_free char *url = NULL;
	struct lc_ref *r = NULL, *r2 = NULL, *r3 = NULL;
	struct lc_err *e = NULL;

	if (lc_ref_parse(s, &r, &e) < 0) {
		/* a port no socket can have is a usage error, the rest invalid */
		FUZZ_ASSERT(e && (e->code == LC_ERR_INVALID || e->code == LC_ERR_USAGE));
		fuzz_err_check(e);
		return 0;
	}
	FUZZ_ASSERT(!e && r && r->domain && r->path && (r->tag || r->digest));
	FUZZ_ASSERT(!r->digest || lc_digest_valid(r->digest));
	full = lc_ref_string(r);
	fam = lc_ref_familiar(r);
	url = lc_ref_base_url(r, false);
	FUZZ_ASSERT(!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8));
	if (lc_ref_parse(full, &r2, &e) < 0) {
		fprintf(stderr, "'%s' -> '%s' does not parse: %s\n", s, full, e->msg);
		abort();
	}
	same(r, r2);
	if (lc_ref_parse(fam, &r3, &e) < 0) {
		fprintf(stderr, "'%s' -> '%s' does not parse: %s\n", s, fam, e->msg);
		abort();
	}
	same(r, r3);
	lc_ref_free(r);
	lc_ref_free(r2);
	lc_ref_free(r3);
	return 0;
}
