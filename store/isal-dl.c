/* SPDX-License-Identifier: MIT */
/*
 * ISA-L's inflate (libisal.so.2), loaded on first use like libarchive (archive-dl.c): about 3x
 * zlib's speed on gzip layers. Unlike libarchive it is optional: without the library
 * lc_store_isal_ready() is false and layers are inflated with zlib. The definitions keep
 * <isa-l/igzip_lib.h>'s prototypes, so a disagreement does not compile.
 */
#include <pthread.h>

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

static const char *soname = "libisal.so.2";
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;

static void load(void)
{
	char *msg = NULL;

	loaded = lc_dl_load(soname, "libisal2", syms, LC_ARRAY_SIZE(syms), &msg) == 0;
	free(msg); /* no ISA-L: zlib inflates, nothing to report */
}

bool lc_store_isal_ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

void lc_store_libisal_soname_for_test(const char *name)
{
	soname = name;
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
