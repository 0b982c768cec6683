/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: ~/.docker/config.json (fetch/creds.c). The first line of the input is the
 * registry host asked for, the rest the file. Credentials found are base64 of "user:pass"
 * with a non-empty user.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "../../fetch/fetch-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : 0;
	cleanup_free char *host = fuzz_str(data, hlen);
	cleanup_free char *basic = NULL;
	cleanup_free char *path = NULL;
	cleanup_close int fd = memfd_create("config.json", MFD_CLOEXEC);
	const uint8_t *file = nl ? nl + 1 : data;
	size_t flen = size - (size_t)(file - data);
	struct lc_err *e = NULL;
	int r;

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(lc_write_all(fd, file, flen) == 0);
	path = lc_xasprintf("/proc/self/fd/%d", fd);
	r = lc_auth_config_lookup(path, host, &basic, &e);
	if (r < 0) {
		FUZZ_ASSERT(e && !basic);
		fuzz_err_check(e);
		return 0;
	}
	FUZZ_ASSERT(!e);
	FUZZ_ASSERT(r == 0 ? !basic : basic && *basic);
	return 0;
}
