/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets (tests/fuzz/fuzz_*.c): each defines LLVMFuzzerTestOneInput, built
 * twice: with libFuzzer under ASan+UBSan (make fuzz) and with the plain replay driver (make
 * check). A broken invariant aborts, which both count as a crash.
 */
#ifndef LC_FUZZ_H
#define LC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated copy of the input (the caller frees). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = lc_xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An error, when set, has a message that prints as one line (as cmd_report prints it, control
 * characters escaped); then it is freed. */
static inline void fuzz_err_check(struct lc_err *e)
{
	char *shown;

	if (!e)
		return;
	FUZZ_ASSERT(e->msg && *e->msg);
	shown = lc_escape_ctl(e->msg);
	for (const char *p = shown; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
	free(shown);
	lc_err_free(e);
}

#endif
