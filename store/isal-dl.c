/* SPDX-License-Identifier: MIT */
/*
 * ISA-L's inflate (libisal.so.2), loaded on first use like libarchive (archive-dl.c): about 3x
 * zlib's speed on gzip layers. Unlike libarchive it is optional: without the library
 * lc_store_isal_ready() is false and layers are inflated with zlib. The definitions keep
 * <isa-l/igzip_lib.h>'s prototypes, so a disagreement does not compile.
 */
#include <isa-l/igzip_lib.h>

#include "store-int.h"

static struct {
	__typeof__(isal_inflate_init) *isal_inflate_init;
	__typeof__(isal_inflate_reset) *isal_inflate_reset;
	__typeof__(isal_inflate) *isal_inflate;
} fn;

static const struct lc_dl_sym syms[] = {
	{ "isal_inflate_init", (void **)&fn.isal_inflate_init },
	{ "isal_inflate_reset", (void **)&fn.isal_inflate_reset },
	{ "isal_inflate", (void **)&fn.isal_inflate },
};

static struct lc_dl_lib lib = LC_DL_LIB("libisal.so.2", "libisal2", syms);

/* no ISA-L: zlib inflates, nothing to report (lib.msg says why, unused) */
bool lc_store_isal_ready(void)
{
	return lc_dl_ready(&lib);
}

void lc_store_libisal_soname_for_test(const char *name)
{
	lib.soname = name;
}

/* called only once lc_store_isal_ready() said yes */
void isal_inflate_init(struct inflate_state *state)
{
	fn.isal_inflate_init(state);
}

void isal_inflate_reset(struct inflate_state *state)
{
	fn.isal_inflate_reset(state);
}

int isal_inflate(struct inflate_state *state)
{
	return fn.isal_inflate(state);
}
