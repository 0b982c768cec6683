/* SPDX-License-Identifier: MIT */
/*
 * base: what every module shares. The error object (one line reaches the user, with context
 * added on the way up), cleanup attributes, allocation helpers that never return NULL,
 * sha256 digests and safe file helpers that work relative to directory fds.
 */
#ifndef LC_BASE_H
#define LC_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/types.h>

#include "banned.h"

/* ---------- errors ---------- */

enum lc_errc {
	LC_ERR_OK = 0,
	LC_ERR_SYS,	 /* a system call failed; sys_errno says which way */
	LC_ERR_INVALID,	 /* bad input from the user (reference, flag, value) */
	LC_ERR_NOTFOUND, /* image, ref, blob, container, tag not present */
	LC_ERR_DIGEST,	 /* content does not match its digest or size */
	LC_ERR_NET,	 /* transport failure talking to a registry */
	LC_ERR_AUTH,	 /* registry refused our credentials */
	LC_ERR_PROTO,	 /* registry or image broke the protocol / format */
	LC_ERR_UNSAFE,	 /* hostile input refused (path escape, link out, ...) */
	LC_ERR_LIMIT,	 /* a size or count bound was exceeded */
	LC_ERR_EXISTS,	 /* the thing already exists */
	LC_ERR_EXEC,	 /* the container command could not be executed */
	LC_ERR_NOEXEC,	 /* the container command was not found */
	LC_ERR_USAGE,	 /* the command line asks for the impossible (a port above 65535) */
};

struct lc_err {
	enum lc_errc code;
	int sys_errno;
	char *msg;
};

/*
 * Set *err to a new error and return -1. The message is formatted from fmt; when sys_errno is
 * not 0, ": <strerror(sys_errno)>" is appended. If *err is already set (a bug), the old error
 * is kept and the new one dropped. err may be NULL: the error is then discarded.
 */
int lc_err_set(struct lc_err **err, enum lc_errc code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the message of *err with "<context>: " and return -1. No-op if *err is NULL. */
int lc_err_prefix(struct lc_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Free an error; NULL is fine. */
void lc_err_free(struct lc_err *err);

/* Move *from into *to (if *to is empty) and clear *from; returns -1. */
int lc_err_move(struct lc_err **to, struct lc_err **from);

/* ---------- cleanup ---------- */

void lc_freep(void *p);
void lc_closep(const int *fd);
void lc_fclosep(FILE **f);
void lc_closedirp(DIR **d);
/* fdopendir that takes fd either way: NULL with errno kept if fd < 0 or fdopendir fails */
DIR *lc_fdopendir(int fd);
void lc_strvfreep(char ***v);

#define cleanup_free   __attribute__((cleanup(lc_freep)))
#define cleanup_close  __attribute__((cleanup(lc_closep)))
#define cleanup_fclose __attribute__((cleanup(lc_fclosep)))
#define cleanup_dir    __attribute__((cleanup(lc_closedirp)))
#define cleanup_strv   __attribute__((cleanup(lc_strvfreep)))

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

#define LC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------- allocation: abort on OOM, like git's xmalloc ---------- */

void *lc_xmalloc(size_t n);
void *lc_xcalloc(size_t nmemb, size_t size);
void *lc_xrealloc(void *p, size_t n);
char *lc_xstrdup(const char *s);
char *lc_xstrndup(const char *s, size_t n);
char *lc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated string vectors. */
size_t lc_strv_len(char *const *v);
char **lc_strv_dup(char *const *v);
void lc_strv_push(char ***v, const char *s); /* appends a copy */
void lc_strv_free(char **v);

/* ---------- libraries loaded where they are used (dlopen) ---------- */

/*
 * libcurl and libarchive, with their trees of dependencies, are loaded by the paths that use
 * them (pull, login; layer ingest), never at start-up: fetch/curl-dl.c and store/archive-dl.c
 * define the functions layerctl calls with the libraries' own prototypes and forward them.
 */
struct lc_dl_sym {
	const char *name;
	void **slot; /* where the address goes: (void **)&pointer_to_function, as dlsym(3) shows */
};

/*
 * dlopen(soname) and resolve every symbol of syms into its slot. 0 on success; -1 with
 * *ret_msg (the caller's) saying what is missing and what to install: "needs libcurl.so.4:
 * install libcurl4 (<dlerror>)"; nothing stays open then. Not thread-safe: call it once,
 * under pthread_once.
 */
int lc_dl_load(const char *soname, const char *package, const struct lc_dl_sym *syms, size_t n,
	       char **ret_msg);

/*
 * One such library, loaded once by the first caller of lc_dl_ready, from whichever thread
 * (the others wait for it); state 1 loaded, -1 failed (msg says why), 0 not tried yet.
 * Define it with LC_DL_LIB; soname may be changed before the first use (tests).
 */
struct lc_dl_lib {
	const char *soname, *package;
	const struct lc_dl_sym *syms;
	size_t n;
	int state;
	char *msg;
	pthread_mutex_t lock;
};
#define LC_DL_LIB(soname, package, syms)                                                           \
	{                                                                                          \
		soname, package, syms, LC_ARRAY_SIZE(syms), 0, NULL, PTHREAD_MUTEX_INITIALIZER     \
	}
bool lc_dl_ready_slow(struct lc_dl_lib *l);
/* Loaded? The loaded case inline: the forwarders ask for every tar entry or transfer. */
static inline bool lc_dl_ready(struct lc_dl_lib *l)
{
	if (__builtin_expect(__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == 1, 1))
		return true;
	return lc_dl_ready_slow(l);
}
/* 0 when loaded; else -1 with the error saying what to install. */
int lc_dl_need(struct lc_dl_lib *l, struct lc_err **err);
/*
 * A forwarder of a library function, with the header's prototype: X-macro callbacks
 * (ret, name, (params), (args), value when not loaded) over a struct fns of pointers.
 */
#define LC_DL_FORWARD(lib, fns, ret, name, params, args, fail)                                     \
	ret name params                                                                            \
	{                                                                                          \
		if (!lc_dl_ready(&(lib)))                                                          \
			return fail;                                                               \
		return (fns).name args;                                                            \
	}
#define LC_DL_FORWARD_VOID(lib, fns, name, params, args)                                           \
	void name params                                                                           \
	{                                                                                          \
		if (lc_dl_ready(&(lib)))                                                           \
			(fns).name args;                                                           \
	}

/* ---------- digests ---------- */

/* "sha256:" + 64 hex + NUL */
#define LC_DIGEST_LEN	71
#define LC_DIGEST_BUFSZ 72

struct lc_sha256;
struct lc_sha256 *lc_sha256_new(void); /* aborts on OOM */
void lc_sha256_update(struct lc_sha256 *h, const void *buf, size_t len);
/* Write "sha256:<hex>" into out; the context may not be updated afterwards. */
void lc_sha256_final(struct lc_sha256 *h, char out[LC_DIGEST_BUFSZ]);
void lc_sha256_free(struct lc_sha256 *h);
void lc_sha256_freep(struct lc_sha256 **h);
#define cleanup_sha256 __attribute__((cleanup(lc_sha256_freep)))
/* Digest of a buffer in one call. */
void lc_sha256_buf(const void *buf, size_t len, char out[LC_DIGEST_BUFSZ]);
/* The 32 bytes of the sha256 of buf, raw. */
void lc_sha256_bin(const void *buf, size_t len, unsigned char out[32]);
/* "sha256:<hex>" of the content of the regular file dirfd/name (O_NOFOLLOW); -1 with errno. */
int lc_sha256_file_at(int dirfd, const char *name, char out[LC_DIGEST_BUFSZ]);

/*
 * Strictly validate a digest string before any filesystem or URL use: "sha256:" followed by
 * exactly 64 lowercase hex digits. Other algorithms are refused (LC_ERR_PROTO) rather than
 * skipped. Returns 0 or -1 with *err set naming the digest.
 */
int lc_digest_check(const char *digest, struct lc_err **err);
bool lc_digest_valid(const char *digest);
/* The hex part of a valid digest (after "sha256:"). */
const char *lc_digest_hex(const char *digest);

/* ---------- files (relative to directory fds, O_CLOEXEC, no symlink following) ---------- */

/* Read at most max bytes of dirfd/path (O_NOFOLLOW); more is LC_ERR_LIMIT. *ret is NUL-ended. */
int lc_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		    struct lc_err **err);

/*
 * Publish dirfd/path atomically: write to a temp name in the same dir, fsync, rename over
 * path. A reader sees the old or the new content, never half of one.
 */
int lc_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			    struct lc_err **err);
/*
 * The same without the fsync, for a file nobody needs after a crash: one rewritten at every
 * start, or one of a container that does not outlive its command (run --rm). An fsync waits
 * for the disk to flush its cache: about a millisecond each here, several per run.
 */
int lc_write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     struct lc_err **err);

/* write(2) all of buf, retrying on EINTR and short writes. Returns 0 or -1 with errno. */
int lc_write_all(int fd, const void *buf, size_t len);
/* pwrite(2) all of buf at off, resuming after EINTR and short writes; -1 with errno (EIO when
 * nothing more could be written). */
int lc_pwrite_all(int fd, const void *buf, size_t len, int64_t off);

/* mkdir -p relative to dirfd, never following symlinks. Existing dirs are fine. */
int lc_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct lc_err **err);

/*
 * rm -rf dirfd/name without following symlinks and without leaving the filesystem tree
 * it started in (unlinkat on dirfds). Missing is success.
 */
int lc_rm_rf_at(int dirfd, const char *name, struct lc_err **err);

/* Random lowercase hex string of n chars (n even, <= 64) from getrandom(2). */
void lc_random_hex(char *out, size_t n);
/* n random bytes from getrandom(2) (aborts if the kernel cannot give them). */
void lc_random_bytes(void *out, size_t n);

/*
 * A copy of s fit for one terminal line (caller frees): C0 controls, DEL and the C1 controls
 * (as UTF-8, or as lone bytes) become escapes like Go's %q ("\n", "\t", "\x1b", "\u009b"),
 * so that untrusted text can neither split an error over lines nor drive the terminal. A
 * backslash stays as it is; other bytes are copied.
 */
char *lc_escape_ctl(const char *s);

/*
 * Whether we run in a user namespace other than the host's (rootless layerctl joined one).
 * Decided once: the first answer is kept (layerctl joins its namespace before it asks).
 */
bool lc_userns_nested(void);
/*
 * The xattr that marks an opaque overlay dir: trusted.overlay.opaque, or, in a user namespace
 * (no trusted.* there; overlay is mounted with userxattr), user.overlay.opaque.
 */
const char *lc_ovl_opaque_xattr(void);

/* A limit in binary units, exactly: "64 GiB", "128 MiB", "1000 bytes". */
void lc_limit_str(uint64_t bytes, char *out, size_t outsz);
/* Format a byte count like docker does: "187.7MB", "512B" (SI units, 4 significant digits). */
void lc_human_size(uint64_t bytes, char *out, size_t outsz);
/* The same in binary units, like docker's units.BytesSize: "100MiB", "1.5GiB", "512B". */
void lc_human_size_binary(uint64_t bytes, char *out, size_t outsz);
/* The time now as RFC 3339 in UTC with nanoseconds ("2026-12-02T18:00:00.123456789Z"). */
void lc_rfc3339_now(char *out, size_t outsz);

/*
 * Parse a size the way docker's flags do (go-units RAMInBytes): a decimal number, an optional
 * space, then an optional unit k, m, g, t or p (any case, binary: k = 1024) optionally
 * followed by "i" and/or "b": "100m", "1g", "512k", "1.5g", "10MiB", "4096". A fraction is
 * truncated to whole bytes. Signs, other units, empty input and values above INT64_MAX are
 * -1 (nothing written); 0 otherwise.
 */
int lc_parse_size(const char *s, int64_t *ret);

/* ---------- tar headers (tar.c) ---------- */

/* names up to this long (NUL excluded: fewer bytes); a header is at most LC_TAR_HEADER_MAX bytes */
#define LC_TAR_NAME_MAX	  256
#define LC_TAR_HEADER_MAX (3 * 512)
/*
 * The header blocks of one member into out (LC_TAR_HEADER_MAX bytes of room): ustar, preceded
 * by a PAX 'x' header for a name over 100 bytes or a size of 8 GiB or more. type is ustar's
 * ('0' file, '5' dir); owner 0:0; mtime <= 0: 0. Returns its length (a multiple of 512), 0
 * when name is LC_TAR_NAME_MAX bytes or longer. The data follows, then lc_tar_padding(size)
 * zero bytes; two zero blocks end the archive.
 */
size_t lc_tar_header(unsigned char *out, const char *name, char type, unsigned mode, uint64_t size,
		     int64_t mtime);
size_t lc_tar_padding(uint64_t size);

/* ---------- JSON (jansson) ---------- */

/* Nesting deeper than this is refused (LC_ERR_LIMIT) before jansson recurses into it. */
#define LC_JSON_MAX_DEPTH 64
/*
 * Parse untrusted JSON: duplicate keys refused, at most LC_JSON_MAX_DEPTH levels of arrays
 * and objects, size already bounded by the caller.
 */
struct json_t;
struct json_t *lc_json_parse(const char *buf, size_t len, const char *what, struct lc_err **err);

/* ---------- trace (--trace, LAYERCTL_TRACE=1; trace.c) ---------- */

/* Where trace lines go (close-on-exec, a copy of the caller's stderr); -1: tracing is off. */
extern int lc_trace_fd;
/* Start tracing to a copy of fd; also notes the namespaces we run in, to compare new ones. */
void lc_trace_open(int fd);
/* One "trace: ..." line, written whole, control characters shown as '?'. Use lc_trace(). */
void lc_trace_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lc_trace_ns_(const char *call, int flags, pid_t pid);
void lc_trace_mount_(const char *src, const char *target, const char *fstype, unsigned long flags,
		     const char *data);
void lc_trace_exec_(bool at, const char *path, char *const *argv);
void lc_trace_phase_(const char *what);
/*
 * "<rootfs>/proc" for a mount target inside the container's root (opened there without
 * following links and passed to mount(2) as /proc/self/fd/N). A static buffer, one of four.
 */
const char *lc_trace_in_root(const char *path);
/* "MS_BIND|MS_REC" into buf, returned. */
const char *lc_trace_mount_flags(unsigned long flags, char *buf, size_t bufsz);
/*
 * For a process about to close every fd from lowest up: move the trace fd to lowest and
 * return lowest + 1 (lowest unchanged when tracing is off).
 */
int lc_trace_keep_fd(int lowest);

/* Each call site costs one branch when tracing is off. */
#define lc_trace(...)                                                                              \
	do {                                                                                       \
		if (__builtin_expect(lc_trace_fd >= 0, 0))                                         \
			lc_trace_line(__VA_ARGS__);                                                \
	} while (0)
/*
 * after unshare/setns(flags) succeeded: one line per namespace, its inode (ours, or pid's
 * when pid > 0: a new pid namespace is our child's) next to the one layerctl started in
 */
#define lc_trace_ns(call, flags, pid)                                                              \
	do {                                                                                       \
		if (__builtin_expect(lc_trace_fd >= 0, 0))                                         \
			lc_trace_ns_(call, flags, pid);                                            \
	} while (0)
/* after mount(2) succeeded, with what it was given (target: the path to show) */
#define lc_trace_mount(src, target, fstype, flags, data)                                           \
	do {                                                                                       \
		if (__builtin_expect(lc_trace_fd >= 0, 0))                                         \
			lc_trace_mount_(src, target, fstype, flags, data);                         \
	} while (0)
/*
 * "phase WHAT: T ms since layerctl started, D ms since the step before": where a run's time
 * goes (CLOCK_MONOTONIC; the trace's own lines are inside the figures)
 */
#define lc_trace_phase(what)                                                                       \
	do {                                                                                       \
		if (__builtin_expect(lc_trace_fd >= 0, 0))                                         \
			lc_trace_phase_(what);                                                     \
	} while (0)
/* the last step: execveat on the dir of path (at), else execve of path */
#define lc_trace_exec(at, path, argv)                                                              \
	do {                                                                                       \
		if (__builtin_expect(lc_trace_fd >= 0, 0))                                         \
			lc_trace_exec_(at, path, argv);                                            \
	} while (0)

#endif
