/* SPDX-License-Identifier: MIT */
/*
 * store: a tar entry's data, read block by block through libarchive, for the layer writer
 * (extract.c: files written by the reader, files read for a worker) and for `load`'s spool.
 * Holes (a sparse entry, or blocks that skip bytes) are told to the caller, which decides:
 * seek past them, fill them with zeros, or refuse the entry.
 */
#include <stdarg.h>

#include <archive.h>

#include "store-int.h"

int lc_tar_read_data(struct archive *a, struct lc_sha256 *h, lc_tar_block_fn fn, void *opaque,
		     struct lc_tar_data *ret, struct lc_err **err, const char *fmt, ...)
{
	struct lc_tar_data d = { 0 };

	for (;;) {
		struct lc_tar_block b = { .end = d.end };
		la_int64_t off;
		int r = archive_read_data_block(a, &b.buf, &b.len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			char *what = NULL;
			va_list ap;

			va_start(ap, fmt);
			if (vasprintf(&what, fmt, ap) < 0)
				abort();
			va_end(ap);
			lc_err_set(err, LC_ERR_PROTO, 0, "%s: %s", what, archive_error_string(a));
			free(what);
			return -1;
		}
		b.off = off;
		if (fn(opaque, &b, err) < 0)
			return -1;
		d.hole |= b.off != b.end;
		if (h)
			lc_sha256_update(h, b.buf, b.len);
		d.end = b.off + (int64_t)b.len;
	}
	if (ret)
		*ret = d;
	return 0;
}
