/* SPDX-License-Identifier: MIT */
/*
 * libarchive, loaded on first use. layerctl does not link libarchive: its tree (libxml2 with
 * ICU and libstdc++, lzma, lz4, bz2, acl, nettle) would be mapped and relocated at every
 * start, by `run`, `ps` and `--help` too. Instead this file defines exactly the archive_*
 * functions layerctl calls, with the prototypes of <archive.h> and <archive_entry.h> (a
 * definition that disagrees with the header does not compile), and each forwards to
 * libarchive.so.13, opened once (lc_dl_ready, base/dl.c) by the first call or by
 * lc_store_need_libarchive, which the paths that read tars call first so that a missing
 * library is one error line, never a crash. A new archive_* call elsewhere in layerctl fails
 * to link until it is added here.
 */
#include <errno.h>
#include <stdarg.h>

#include <archive.h>
#include <archive_entry.h>

#include "store-int.h"

#define ENTRY struct archive_entry *e
/*
 * X(return type, name, (parameters), (arguments), value returned when libarchive cannot be
 * loaded). Without the library no struct archive or archive_entry can exist, so only
 * archive_read_new's NULL is ever seen by a caller.
 */
#define ARCHIVE_FUNCS(X)                                                                           \
	X(struct archive *, archive_read_new, (void), (), NULL)                                    \
	X(int, archive_read_support_format_tar, (struct archive * a), (a), ARCHIVE_FATAL)          \
	X(int, archive_read_open,                                                                  \
	  (struct archive * a, void *data, archive_open_callback *o, archive_read_callback *r,     \
	   archive_close_callback *c),                                                             \
	  (a, data, o, r, c), ARCHIVE_FATAL)                                                       \
	X(int, archive_read_next_header, (struct archive * a, struct archive_entry * *e), (a, e),  \
	  ARCHIVE_FATAL)                                                                           \
	X(int, archive_read_data_block,                                                            \
	  (struct archive * a, const void **buf, size_t *size, la_int64_t *off),                   \
	  (a, buf, size, off), ARCHIVE_FATAL)                                                      \
	X(int, archive_read_free, (struct archive * a), (a), ARCHIVE_FATAL)                        \
	X(int, archive_errno, (struct archive * a), (a), ENOSYS)                                   \
	X(const char *, archive_error_string, (struct archive * a), (a), NULL)                     \
	X(time_t, archive_entry_atime, (ENTRY), (e), 0)                                            \
	X(long, archive_entry_atime_nsec, (ENTRY), (e), 0)                                         \
	X(int, archive_entry_atime_is_set, (ENTRY), (e), 0)                                        \
	X(time_t, archive_entry_mtime, (ENTRY), (e), 0)                                            \
	X(long, archive_entry_mtime_nsec, (ENTRY), (e), 0)                                         \
	X(__LA_MODE_T, archive_entry_filetype, (ENTRY), (e), 0)                                    \
	X(__LA_MODE_T, archive_entry_perm, (ENTRY), (e), 0)                                        \
	X(la_int64_t, archive_entry_uid, (ENTRY), (e), 0)                                          \
	X(la_int64_t, archive_entry_gid, (ENTRY), (e), 0)                                          \
	X(la_int64_t, archive_entry_size, (ENTRY), (e), 0)                                         \
	X(const char *, archive_entry_pathname, (ENTRY), (e), NULL)                                \
	X(const char *, archive_entry_pathname_utf8, (ENTRY), (e), NULL)                           \
	X(const char *, archive_entry_hardlink, (ENTRY), (e), NULL)                                \
	X(const char *, archive_entry_hardlink_utf8, (ENTRY), (e), NULL)                           \
	X(const char *, archive_entry_symlink, (ENTRY), (e), NULL)                                 \
	X(const char *, archive_entry_symlink_utf8, (ENTRY), (e), NULL)                            \
	X(la_int64_t, archive_filter_bytes, (struct archive * a, int n), (a, n), -1)               \
	X(int, archive_entry_sparse_count, (ENTRY), (e), 0)                                        \
	X(int, archive_entry_xattr_count, (ENTRY), (e), 0)                                         \
	X(int, archive_entry_xattr_reset, (ENTRY), (e), 0)                                         \
	X(int, archive_entry_xattr_next,                                                           \
	  (ENTRY, const char **name, const void **value, size_t *size), (e, name, value, size),    \
	  ARCHIVE_EOF)                                                                             \
	/* cp's tar streams (mount/copy.c) */                                                      \
	X(int, archive_read_support_filter_none, (struct archive * a), (a), ARCHIVE_FATAL)         \
	X(int, archive_read_support_filter_gzip, (struct archive * a), (a), ARCHIVE_FATAL)         \
	X(int, archive_read_support_filter_zstd, (struct archive * a), (a), ARCHIVE_FATAL)         \
	X(int, archive_read_support_filter_xz, (struct archive * a), (a), ARCHIVE_FATAL)           \
	X(int, archive_read_support_filter_bzip2, (struct archive * a), (a), ARCHIVE_FATAL)        \
	X(int, archive_read_open_fd, (struct archive * a, int fd, size_t bs), (a, fd, bs),         \
	  ARCHIVE_FATAL)                                                                           \
	X(la_ssize_t, archive_read_data, (struct archive * a, void *buf, size_t n), (a, buf, n),   \
	  -1)                                                                                      \
	X(const struct stat *, archive_entry_stat, (ENTRY), (e), NULL)                             \
	X(struct archive *, archive_write_new, (void), (), NULL)                                   \
	X(int, archive_write_set_format_pax_restricted, (struct archive * a), (a), ARCHIVE_FATAL)  \
	X(int, archive_write_open_fd, (struct archive * a, int fd), (a, fd), ARCHIVE_FATAL)        \
	X(int, archive_write_header, (struct archive * a, ENTRY), (a, e), ARCHIVE_FATAL)           \
	X(la_ssize_t, archive_write_data, (struct archive * a, const void *buf, size_t n),         \
	  (a, buf, n), -1)                                                                         \
	X(int, archive_write_close, (struct archive * a), (a), ARCHIVE_FATAL)                      \
	X(int, archive_write_free, (struct archive * a), (a), ARCHIVE_FATAL)                       \
	X(struct archive_entry *, archive_entry_new, (void), (), NULL)

/* the same for functions that return nothing */
#define ARCHIVE_VOID_FUNCS(X)                                                                      \
	X(archive_entry_free, (ENTRY), (e))                                                        \
	X(archive_entry_copy_pathname, (ENTRY, const char *p), (e, p))                             \
	X(archive_entry_copy_symlink, (ENTRY, const char *p), (e, p))                              \
	X(archive_entry_copy_stat, (ENTRY, const struct stat *st), (e, st))                        \
	X(archive_entry_set_size, (ENTRY, la_int64_t n), (e, n))

#define PTR(ret, name, params, args, fail) __typeof__(name) *name;
#define VPTR(name, params, args)	   __typeof__(name) *name;
static struct {
	ARCHIVE_FUNCS(PTR)
	ARCHIVE_VOID_FUNCS(VPTR)
	__typeof__(archive_set_error) *archive_set_error;
} fn;
#undef PTR
#undef VPTR

#define SYM(ret, name, params, args, fail) { #name, (void **)&fn.name },
#define VSYM(name, params, args)	   { #name, (void **)&fn.name },
static const struct lc_dl_sym syms[] = {
	ARCHIVE_FUNCS(SYM)
		ARCHIVE_VOID_FUNCS(VSYM){ "archive_set_error", (void **)&fn.archive_set_error },
};
#undef SYM
#undef VSYM

static struct lc_dl_lib lib = LC_DL_LIB("libarchive.so.13", "libarchive13", syms);

int lc_store_need_libarchive(struct lc_err **err)
{
	return lc_dl_need(&lib, err);
}

void lc_store_libarchive_soname_for_test(const char *name)
{
	lib.soname = name;
}

#define FORWARD(ret, name, params, args, fail) LC_DL_FORWARD(lib, fn, ret, name, params, args, fail)
#define VFORWARD(name, params, args)	       LC_DL_FORWARD_VOID(lib, fn, name, params, args)
ARCHIVE_FUNCS(FORWARD)
ARCHIVE_VOID_FUNCS(VFORWARD)
#undef FORWARD
#undef VFORWARD

/* variadic: formatted here, handed on as one string */
void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!lc_dl_ready(&lib))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn.archive_set_error(a, err, "%s", msg);
}
