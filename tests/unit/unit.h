/* SPDX-License-Identifier: MIT */
/* Shared bits of the Check suites: temp dirs and assertions that print the library's error. */
#ifndef LC_UNIT_H
#define LC_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>

#include "../../base/base.h"

/* Assert a call returned >= 0; on failure print the error message it set. */
#define ck_assert_ok(call, errp)                                                                   \
	do {                                                                                       \
		int _r = (call);                                                                   \
		ck_assert_msg(_r >= 0, "%s failed: %s", #call,                                    \
			      (*(errp)) ? (*(errp))->msg : "(no error set)");                    \
	} while (0)

/* Assert a call failed with the given code and set an error. */
#define ck_assert_fail(call, errp, want_code)                                                      \
	do {                                                                                       \
		int _r = (call);                                                                   \
		ck_assert_msg(_r < 0, "%s succeeded, expected failure", #call);                   \
		ck_assert_msg(*(errp) != NULL, "%s failed without setting an error", #call);      \
		ck_assert_msg((*(errp))->code == (want_code), "%s: code %d, want %d (%s)", #call, \
			      (int)(*(errp))->code, (int)(want_code), (*(errp))->msg);            \
	} while (0)

/* A fresh temp dir per test; removed by unit_tmpdir_free. */
static inline char *unit_tmpdir(void)
{
	char tmpl[] = "/tmp/lc-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return lc_xstrdup(d);
}

static inline void unit_tmpdir_free(char *d)
{
	struct lc_err *err = NULL;

	if (!d)
		return;
	lc_rm_rf_at(AT_FDCWD, d, &err);
	lc_err_free(err);
	free(d);
}

static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
