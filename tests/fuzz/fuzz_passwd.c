/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the image's /etc/passwd and /etc/group as the launcher reads them to resolve
 * User (mount/user.c). The input is "USER-SPEC\nPASSWD\0GROUP": the spec as -u takes it, then
 * the two files (no NUL: no group file). A resolved user has ids within LC_ID_MAX and at most
 * LC_MAX_GROUPS supplementary groups.
 */
#include <sys/mman.h>

#include "fuzz.h"
#include "../../mount/mount-int.h"

static int memfd_with(const uint8_t *p, size_t n)
{
	int fd = memfd_create("ent", MFD_CLOEXEC);

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(lc_write_all(fd, p, n) == 0);
	FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size), *files, *nul;
	cleanup_free char *spec_s = NULL;
	cleanup_close int pw = -1;
	cleanup_close int gr = -1;
	struct lc_user_spec spec;
	struct lc_user u;
	struct lc_err *e = NULL;
	size_t rest;

	if (!nl)
		return 0;
	spec_s = fuzz_str(data, (size_t)(nl - data));
	if (lc_user_parse(spec_s, &spec, &e) < 0) {
		FUZZ_ASSERT(e && e->code == LC_ERR_INVALID);
		fuzz_err_check(e);
		return 0;
	}
	FUZZ_ASSERT(spec.uid <= LC_ID_MAX && spec.gid <= LC_ID_MAX);
	files = nl + 1;
	rest = size - (size_t)(files - data);
	nul = memchr(files, '\0', rest);
	pw = memfd_with(files, nul ? (size_t)(nul - files) : rest);
	if (nul)
		gr = memfd_with(nul + 1, rest - (size_t)(nul + 1 - files));
	if (lc_user_resolve(&spec, pw, gr, &u, &e) < 0) {
		FUZZ_ASSERT(e);
		fuzz_err_check(e);
		return 0;
	}
	FUZZ_ASSERT(!e && u.uid <= LC_ID_MAX && u.gid <= LC_ID_MAX);
	FUZZ_ASSERT(u.n_groups <= LC_MAX_GROUPS);
	for (size_t i = 0; i < u.n_groups; i++)
		FUZZ_ASSERT(u.groups[i] <= LC_ID_MAX);
	FUZZ_ASSERT(memchr(u.home, '\0', sizeof(u.home)));
	return 0;
}
