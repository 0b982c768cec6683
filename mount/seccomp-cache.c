/* SPDX-License-Identifier: MIT */
/*
 * seccomp-cache: a --security-opt seccomp=PROFILE compiled once, its BPF program kept in the
 * store's seccomp/ dir under a key that is the sha256 of everything the compilation reads (the
 * profile's text, the capabilities, the architecture, the kernel's release for minKernel, and
 * the compiler's build), and loaded instead of compiled next time (`run`, `start`, each `exec`).
 * Parsing and compiling docker's 16 KB default.json takes about 6 M instructions; the cached
 * program is one open, fstat, read and close.
 *
 * A cache file is never trusted blindly: it must be a regular file of ours (owner, one link,
 * not writable by group or others) in a dir of ours, opened without following links, of the
 * exact size its header says, under the key computed now, with the sha256 of its instructions
 * matching the one recorded, and a program the kernel would accept that only does what the
 * compiler emits (loads of seccomp_data words, conditional jumps that stay inside the program,
 * AND, returns; the last instruction a return). Anything else is rebuilt from the profile and
 * written again (a temp file renamed over it). A cache that cannot be read or written costs
 * the compilation, never the run. The dir is bounded: a miss that finds more than MAX_ENTRIES
 * names there (old builds, old kernels) empties it first. Docker's default filter is not
 * cached: built from a static table in memory, it costs less than reading a file would.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "mount-int.h"

#define CACHE_MAGIC "layerctl seccomp cache 1\n"
#define MAX_INSNS   4096
/* more files than this (old builds, kernels, profiles) and a miss empties the dir first */
#define MAX_ENTRIES 64

struct cache_hdr {
	char magic[32];
	char key[LC_DIGEST_BUFSZ]; /* "sha256:<hex>" of the inputs, NUL-padded */
	char sum[LC_DIGEST_BUFSZ]; /* "sha256:<hex>" of the instructions */
	uint32_t n;		   /* instructions that follow */
	uint32_t zero;
};

void lc_seccomp_cache_key(const char *json, size_t len, uint64_t caps, char key[LC_DIGEST_BUFSZ])
{
	cleanup_sha256 struct lc_sha256 *h = lc_sha256_new();
	struct utsname u;
	uint64_t n = len;

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	lc_sha256_update(h, CACHE_MAGIC, sizeof(CACHE_MAGIC));
	lc_sha256_update(h, lc_seccomp_compiler_id, strlen(lc_seccomp_compiler_id) + 1);
	lc_sha256_update(h, u.machine, strnlen(u.machine, sizeof(u.machine)));
	lc_sha256_update(h, "", 1);
	lc_sha256_update(h, u.release, strnlen(u.release, sizeof(u.release)));
	lc_sha256_update(h, "", 1);
	lc_sha256_update(h, &caps, sizeof(caps));
	lc_sha256_update(h, &n, sizeof(n));
	lc_sha256_update(h, json, len);
	lc_sha256_final(h, key);
}

bool lc_seccomp_filter_sane(const struct sock_filter *f, size_t n)
{
	if (n == 0 || n > MAX_INSNS)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint16_t code = f[i].code;

		switch (code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f[i].k >= sizeof(struct seccomp_data) || f[i].k % 4)
				return false;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			/* forward only, and inside the program */
			if (i + 1 + f[i].jt >= n || i + 1 + f[i].jf >= n)
				return false;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_RET | BPF_K:
			if (f[i].jt || f[i].jf)
				return false;
			break;
		default:
			return false;
		}
	}
	return f[n - 1].code == (BPF_RET | BPF_K);
}

/* The cached program under key, or NULL (none, or not one to trust). */
static struct lc_seccomp_prog *cache_load(int dirfd, const char *key)
{
	cleanup_close int fd =
		openat(dirfd, lc_digest_hex(key), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	cleanup_free struct sock_filter *f = NULL;
	struct cache_hdr h;
	char sum[LC_DIGEST_BUFSZ];
	struct stat st;
	size_t size;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || (st.st_mode & 022) || st.st_size < (off_t)sizeof(h))
		return NULL;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, CACHE_MAGIC, sizeof(CACHE_MAGIC)) || h.zero || h.n == 0 ||
	    h.n > MAX_INSNS || memcmp(h.key, key, LC_DIGEST_BUFSZ))
		return NULL;
	size = h.n * sizeof(*f);
	if (st.st_size != (off_t)(sizeof(h) + size))
		return NULL;
	f = lc_xcalloc(h.n, sizeof(*f));
	if (pread(fd, f, size, sizeof(h)) != (ssize_t)size)
		return NULL;
	lc_sha256_buf(f, size, sum);
	if (memcmp(sum, h.sum, LC_DIGEST_BUFSZ) || !lc_seccomp_filter_sane(f, h.n))
		return NULL;
	return lc_seccomp_prog_from(f, h.n);
}

/* A bound on what the cache keeps: past MAX_ENTRIES names, every entry goes (a cache). */
static void cache_trim(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_dir DIR *d = NULL;
	cleanup_strv char **names = NULL;
	struct dirent *de;
	size_t n = 0;

	if (!(d = lc_fdopendir(fd)))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			lc_strv_push(&names, de->d_name);
			n++;
		}
	if (n <= MAX_ENTRIES)
		return;
	for (size_t i = 0; i < n; i++)
		unlinkat(dirfd, names[i], 0); /* a dir put there stays: EISDIR */
}

static void cache_store(int dirfd, const char *key, const struct lc_seccomp_prog *p)
{
	struct cache_hdr h = { .magic = CACHE_MAGIC };
	size_t n;
	const struct sock_filter *f = lc_seccomp_prog_filter(p, &n);
	size_t size = n * sizeof(*f);
	cleanup_free char *buf = NULL;
	struct lc_err *e = NULL;

	if (!lc_seccomp_filter_sane(f, n))
		return; /* nothing the loader would take */
	cache_trim(dirfd);
	memcpy(h.key, key, LC_DIGEST_BUFSZ);
	lc_sha256_buf(f, size, h.sum);
	h.n = (uint32_t)n;
	buf = lc_xmalloc(sizeof(h) + size);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), f, size);
	/* a cache: a crash may lose it (the loader then finds nothing, or a torn file to reject) */
	if (lc_write_file_replace_at(dirfd, lc_digest_hex(key), buf, sizeof(h) + size, 0600, &e) <
	    0)
		lc_err_free(e);
}

/* cache_dir, made if missing: ours, a dir, not a link, nobody else's to write */
static int cache_dir_open(const char *cache_dir)
{
	int fd;
	struct stat st;

	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -1;
	}
	return fd;
}

int lc_seccomp_profile_load(const char *cache_dir, const char *json, size_t len, uint64_t caps,
			    struct lc_seccomp_prog **ret, bool *ret_cached, struct lc_err **err)
{
	cleanup_close int dirfd = -1;
	char key[LC_DIGEST_BUFSZ];

	if (ret_cached)
		*ret_cached = false;
	if (cache_dir && (dirfd = cache_dir_open(cache_dir)) >= 0) {
		lc_seccomp_cache_key(json, len, caps, key);
		*ret = cache_load(dirfd, key);
		if (*ret) {
			if (ret_cached)
				*ret_cached = true;
			lc_trace("seccomp profile: the compiled program loaded from the cache (%s)",
				 key);
			return 0;
		}
	}
	if (lc_seccomp_profile_compile(json, len, caps, ret, err) < 0)
		return -1;
	if (dirfd >= 0) {
		cache_store(dirfd, key, *ret);
		lc_trace("seccomp profile: compiled, cached as %s", key);
	}
	return 0;
}
