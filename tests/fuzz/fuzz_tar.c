/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a whole layer blob (gzip, zstd or a plain tar) through the store's ingest
 * (store/layer.c inflates, store/extract.c writes the entries) into a staging dir of a real
 * store, as a pull feeds it. After each input:
 *  - nothing appeared, changed or vanished outside the staging dir: the whole sandbox (the
 *    store sits four dirs deep in it, so "../../.." lands in it too) lists as before;
 *  - a layer that unpacked holds only dirs, files, symlinks, fifos and 0/0 whiteouts;
 *  - a plain tar that unpacked gives itself back from its tar-split record, byte for byte
 *    (its sha256), unless the record was given up (it never finishes then);
 *  - a failed finish left nothing behind: after the abort, tmp/ holds only its locks and trash
 *    (a layer that unpacked keeps its ingest file, tmp/partial-<hex>, for a later pull: the
 *    target removes that one).
 * The blob's digest is its own sha256, and its diff_id too when it is a plain tar (so a plain
 * tar can succeed; a compressed one ends in a diff_id mismatch after a full extraction).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "../../store/store-int.h"

static char *sandbox;  /* mkdtemp'd; the store is sandbox/a/b/c/d/root */
static char *baseline; /* the sandbox's listing, taken at start */
static struct lc_store *store;
static int staging_seen_ok; /* layers that unpacked (a sanity count for the replay) */

struct buf {
	char *p;
	size_t n;
};

static void buf_add(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	b->p = lc_xrealloc(b->p, b->n + n + 1);
	memcpy(b->p + b->n, s, n + 1);
	b->n += n;
}

/*
 * List the tree at dfd (type, mode, size of each entry; the kernel's order is not
 * stable, so each dir is sorted) into b. skip: a path relative to the sandbox not to descend
 * (the store's tmp/, which the ingest changes on purpose).
 */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_tree(int dfd, const char *prefix, const char *skip, struct buf *b)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;

	FUZZ_ASSERT(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = lc_xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = lc_xstrdup(de->d_name);
	}
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *path = lc_xasprintf("%s/%s", prefix, names[i]);
		cleanup_free char *line = NULL;
		struct stat st;

		FUZZ_ASSERT(fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0);
		line = lc_xasprintf("%s %o %lld\n", path, (unsigned)st.st_mode,
				    S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
		buf_add(b, line);
		if (S_ISDIR(st.st_mode) && strcmp(path, skip) != 0) {
			int sub = openat(dirfd(d), names[i],
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			FUZZ_ASSERT(sub >= 0);
			list_tree(sub, path, skip, b);
			close(sub);
		}
		free(names[i]);
	}
	free(names);
	closedir(d);
}

static char *sandbox_listing(void)
{
	struct buf b = { lc_xstrdup(""), 0 };
	int fd = open(sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	FUZZ_ASSERT(fd >= 0);
	list_tree(fd, "", "/a/b/c/d/root/tmp", &b);
	close(fd);
	return b.p;
}

/* What the store's tmp/ holds besides locks/ and trash/ ("" when nothing). */
static char *tmp_debris(void)
{
	struct buf b = { lc_xstrdup(""), 0 };
	cleanup_free char *tmp = lc_xasprintf("%s/a/b/c/d/root/tmp", sandbox);
	DIR *d = opendir(tmp);
	struct dirent *de;

	FUZZ_ASSERT(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "locks") && strcmp(de->d_name, "trash")) {
			buf_add(&b, de->d_name);
			buf_add(&b, " ");
		}
	closedir(d);
	return b.p;
}

/* Every entry of an unpacked layer is a dir, file, symlink, fifo or a 0/0 whiteout. */
static void check_layer(int dfd)
{
	DIR *d = fdopendir(openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	struct dirent *de;

	FUZZ_ASSERT(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		FUZZ_ASSERT(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
		if (S_ISCHR(st.st_mode)) {
			FUZZ_ASSERT(st.st_rdev == 0);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			FUZZ_ASSERT(sub >= 0);
			check_layer(sub);
			close(sub);
		} else {
			FUZZ_ASSERT(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ||
				    S_ISFIFO(st.st_mode));
		}
	}
	closedir(d);
}

/* The staging dir of the one ingest running: tmp/ingest-XXX/layer. */
static int open_staging(void)
{
	cleanup_free char *tmp = lc_xasprintf("%s/a/b/c/d/root/tmp", sandbox);
	DIR *d = opendir(tmp);
	struct dirent *de;
	int fd = -1;

	FUZZ_ASSERT(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "ingest-", 7)) {
			cleanup_free char *p = lc_xasprintf("%s/%s/layer", tmp, de->d_name);

			fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
	closedir(d);
	return fd;
}

/* The staging record of a plain tar that unpacked replays to the input (or was given up). */
static void check_record(int layerfd, const char *digest)
{
	cleanup_free char *tmp = lc_xasprintf("%s/a/b/c/d/root/tmp", sandbox);
	DIR *d = opendir(tmp);
	struct dirent *de;
	int fd = -1;
	char got[LC_DIGEST_BUFSZ];
	struct lc_err *e = NULL;

	FUZZ_ASSERT(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "ingest-", 7)) {
			cleanup_free char *p = lc_xasprintf("%s/%s/tarsplit", tmp, de->d_name);

			fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
	closedir(d);
	FUZZ_ASSERT(fd >= 0);
	if (lc_tarsplit_replay(fd, layerfd, NULL, NULL, got, &e) == 0) {
		if (strcmp(got, digest) != 0) {
			fprintf(stderr, "fuzz_tar: the record replays to %s, not %s\n", got,
				digest);
			abort();
		}
	} else if (!strstr(e->msg, "never finished")) {
		fprintf(stderr, "fuzz_tar: the record does not replay: %s\n", e->msg);
		abort();
	}
	lc_err_free(e);
	close(fd);
}

static void cleanup(void)
{
	struct lc_err *e = NULL;

	lc_store_close(store);
	if (sandbox && !getenv("LC_FUZZ_KEEP"))
		lc_rm_rf_at(AT_FDCWD, sandbox, &e);
	lc_err_free(e);
	free(sandbox);
	free(baseline);
	if (getenv("LC_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz_tar: %d layers unpacked\n", staging_seen_ok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	cleanup_free char *root = NULL;
	struct lc_err *e = NULL;

	(void)argc;
	(void)argv;
	sandbox = lc_xasprintf("%s/lc-fuzz-tar.XXXXXX", t && *t ? t : "/tmp");
	FUZZ_ASSERT(mkdtemp(sandbox));
	root = lc_xasprintf("%s/a/b/c/d/root", sandbox);
	FUZZ_ASSERT(lc_mkdir_p_at(AT_FDCWD, root, 0700, &e) == 0);
	/* canaries where "../" chains from the staging dir land */
	for (const char *const *p = (const char *const[]){ "a/b/c/d/canary", "a/b/c/canary",
							   "a/canary", "canary", NULL };
	     *p; p++) {
		cleanup_free char *f = lc_xasprintf("%s/%s", sandbox, *p);

		FUZZ_ASSERT(lc_write_file_atomic_at(AT_FDCWD, f, "canary\n", 7, 0644, &e) == 0);
	}
	if (lc_store_open(root, &store, &e) < 0) {
		fprintf(stderr, "fuzz_tar: %s\n", e->msg);
		abort();
	}
	baseline = sandbox_listing();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t gz[] = { 0x1f, 0x8b }, zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
	char digest[LC_DIGEST_BUFSZ], chainid[LC_DIGEST_BUFSZ];
	cleanup_free char *after = NULL;
	cleanup_free char *debris = NULL;
	struct lc_layer_ingest *in = NULL;
	struct lc_err *e = NULL;
	bool compressed =
		(size >= 2 && !memcmp(data, gz, 2)) || (size >= 4 && !memcmp(data, zst, 4));
	struct lc_layer_desc d = { 0 };
	int r;

	lc_sha256_buf(data, size, digest);
	lc_sha256_buf("fuzz", 4, chainid);
	d.chainid = chainid;
	d.digest = digest;
	d.diff_id = compressed ? chainid : digest;
	d.size = (int64_t)size;
	/* bounded so that one input costs little (a 37 KB gzip that inflated to ~37 MB took 20 s
	 * under ASan on a busy disk: a libFuzzer timeout); the defaults are tested elsewhere */
	d.max_unpacked = 8u << 20;
	d.max_entries = 10000;
	if (lc_store_layer_begin(store, &d, &in, &e) != 0) {
		fprintf(stderr, "fuzz_tar: begin: %s\n", e ? e->msg : "layer exists");
		abort();
	}
	/* one byte first (the compression is decided from 4), then 8 KiB pieces */
	for (size_t off = 0; off < size;) {
		size_t n = off == 0 ? 1 : size - off > 8192 ? 8192 : size - off;

		FUZZ_ASSERT(lc_store_layer_write(in, data + off, n, &e) == 0);
		off += n;
	}
	r = lc_store_layer_finish(in, &e);
	if (r == 0) {
		int fd = open_staging();

		FUZZ_ASSERT(fd >= 0);
		check_layer(fd);
		if (!compressed)
			check_record(fd, digest);
		close(fd);
		staging_seen_ok++;
	} else {
		int fd = open_staging();

		/* a failed finish already removed the unpacked entries */
		FUZZ_ASSERT(fd < 0 && errno == ENOENT);
		FUZZ_ASSERT(e);
		fuzz_err_check(e);
	}
	lc_store_layer_abort(in);
	if (r == 0) {
		/* a layer that unpacked but was not committed keeps its ingest file for a later
		 * pull to resume from (a failed one must not: the check below) */
		cleanup_free char *partial = lc_xasprintf("%s/a/b/c/d/root/tmp/partial-%s", sandbox,
							  lc_digest_hex(digest));

		unlink(partial);
	}
	debris = tmp_debris();
	if (*debris) {
		fprintf(stderr, "fuzz_tar: left in tmp/: %s\n", debris);
		abort();
	}
	after = sandbox_listing();
	if (strcmp(after, baseline) != 0) {
		fprintf(stderr,
			"fuzz_tar: the sandbox changed outside the layer:\n--- before\n%s"
			"--- after\n%s",
			baseline, after);
		abort();
	}
	return 0;
}
