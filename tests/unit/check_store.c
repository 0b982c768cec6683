/* SPDX-License-Identifier: MIT */
/*
 * store: blobs, image JSON, refs, layer ingest (gzip/zstd/plain, digests, hostile tars,
 * whiteouts, implicit dirs, concurrency), tmp/ sweeping, containers, fault injection.
 * Layer tars come from testdata/make-hostile-tars.py, run once into a temp dir; run this suite
 * from the repository root (make unit does).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <zlib.h>
#include <zstd.h>
#include <archive.h>

#include "unit.h"
#include "../../store/store.h"
#include "../../store/store-int.h"

#define SCRIPT "testdata/make-hostile-tars.py"

static char *gen;  /* generated once: gen/tars/<case>.tar, gen/canary/ */
static char *tdir; /* per test */
static struct lc_store *st;
static int sfd = -1; /* store root, O_PATH */

/* ---------- fixtures ---------- */

static void canary_reset(void)
{
	char *c = lc_xasprintf("%s/canary", gen);
	struct lc_err *err = NULL;
	int fd;

	lc_rm_rf_at(AT_FDCWD, c, &err);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(mkdir(c, 0700), 0);
	fd = open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_ok(lc_write_file_atomic_at(fd, "file", "canary", 6, 0600, &err), &err);
	ck_assert_ok(lc_write_file_atomic_at(fd, "passwd", "root", 4, 0600, &err), &err);
	close(fd);
	free(c);
}

/* The canary beside the store is exactly as canary_reset left it. */
static void assert_canary_intact(void)
{
	char *c = lc_xasprintf("%s/canary", gen);
	int fd = open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int n = 0;
	char *buf = NULL;
	struct stat sb;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstatat(fd, "file", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFREG | 0600);
	ck_assert_int_eq(sb.st_uid, geteuid());
	ck_assert_int_eq(sb.st_nlink, 1);
	ck_assert_int_eq(lc_read_file_at(fd, "file", 100, &buf, NULL, NULL), 0);
	ck_assert_str_eq(buf, "canary");
	free(buf);
	ck_assert_int_eq(lc_read_file_at(fd, "passwd", 100, &buf, NULL, NULL), 0);
	ck_assert_str_eq(buf, "root");
	free(buf);
	d = fdopendir(fd);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	ck_assert_msg(n == 2, "canary dir has %d entries, want 2", n);
	free(c);
}

static void setup(void)
{
	struct lc_err *err = NULL;
	char *root;

	tdir = unit_tmpdir();
	root = lc_xasprintf("%s/store", tdir);
	ck_assert_ok(lc_store_open(root, &st, &err), &err);
	sfd = lc_store_rootfd(st);
	canary_reset();
	free(root);
}

/* layers extracted with two worker threads creating the files, whatever the CPUs */
static void setup_workers(void)
{
	setenv("LAYERCTL_EXTRACT_WORKERS", "2", 1);
	setup();
}

/* ... or with none: the reading thread creates every file */
static void setup_serial(void)
{
	setenv("LAYERCTL_EXTRACT_WORKERS", "0", 1);
	setup();
}

static void teardown(void)
{
	lc_store_close(st);
	st = NULL;
	unit_tmpdir_free(tdir);
	tdir = NULL;
}

/*
 * tmp/ holds nothing but its fixed dirs and lock files: no staging, no trash; and no ingest
 * file (partial-<hex>, kept for a later pull to resume from) unless partial_ok.
 */
static void assert_tmp_clean_but(bool partial_ok)
{
	const char *sub[] = { "tmp", "tmp/trash" };

	for (size_t i = 0; i < LC_ARRAY_SIZE(sub); i++) {
		int fd = openat(sfd, sub[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fdopendir(fd);
		struct dirent *de;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			    (i == 0 &&
			     (!strcmp(de->d_name, "locks") || !strcmp(de->d_name, "trash") ||
			      (partial_ok && !strncmp(de->d_name, "partial-", 8)))))
				continue;
			ck_abort_msg("debris left in %s: '%s'", sub[i], de->d_name);
		}
		closedir(d);
	}
}

static void assert_tmp_clean(void)
{
	assert_tmp_clean_but(false);
}

/* tmp/partial-<hex of digest>, the blob's ingest file */
static void partial_path(const char *digest, char name[100])
{
	snprintf(name, 100, "tmp/partial-%s", digest + 7);
}

/* the size of tmp/partial-<hex of digest>, -1 if absent */
static long long partial_size(const char *digest)
{
	char name[100];
	struct stat sb;

	partial_path(digest, name);
	return fstatat(sfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? (long long)sb.st_size : -1;
}

/* tmp/partial-<hex of digest> holds exactly the first len bytes of want */
static void assert_partial_is(const char *digest, const char *want, size_t len)
{
	char name[100];
	char *buf = NULL;
	size_t n = 0;
	struct lc_err *err = NULL;

	partial_path(digest, name);
	ck_assert_ok(lc_read_file_at(sfd, name, 64u << 20, &buf, &n, &err), &err);
	ck_assert_uint_eq(n, len);
	ck_assert_msg(memcmp(buf, want, len) == 0, "%s: not the blob's first %zu bytes", name, len);
	free(buf);
}

static int count_entries(const char *sub)
{
	int fd = openat(sfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static const char *evil_names[] = { "pwn", "x", "b", "passwd", NULL };
static int evil_found;

static int evil_walk(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	/* what a layer legitimately holds is inside layers/ */
	if (flag == FTW_D && !strcmp(path + ftw->base, "layers"))
		return FTW_SKIP_SUBTREE;
	for (size_t i = 0; evil_names[i]; i++)
		if (!strcmp(path + ftw->base, evil_names[i]))
			evil_found++;
	return 0;
}

/* Nothing named like a hostile payload in the test dir (outside layers/) or the canary. */
static void assert_nothing_escaped(void)
{
	char *c = lc_xasprintf("%s/canary", gen);

	evil_found = 0;
	ck_assert_int_eq(nftw(tdir, evil_walk, 16, FTW_PHYS | FTW_ACTIONRETVAL), 0);
	ck_assert_msg(evil_found == 0, "%d hostile names found under %s", evil_found, tdir);
	/* canary/passwd is the one legitimate match there */
	evil_found = 0;
	ck_assert_int_eq(nftw(c, evil_walk, 16, FTW_PHYS | FTW_ACTIONRETVAL), 0);
	ck_assert_int_eq(evil_found, 1);
	free(c);
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	struct lc_err *err = NULL;

	ck_assert_ok(lc_read_file_at(AT_FDCWD, path, 64u << 20, &buf, len, &err), &err);
	return buf;
}

static char *tar_path(const char *name)
{
	return lc_xasprintf("%s/tars/%s.tar", gen, name);
}

/* The generated tar NAME as an uncompressed layer blob: its bytes, and d naming it (its digest
 * as chain id, diff_id and digest, written to dg). */
static char *plain_layer(const char *name, size_t *tl, char dg[LC_DIGEST_BUFSZ],
			 struct lc_layer_desc *d)
{
	char *tp = tar_path(name);
	char *tar = slurp(tp, tl);

	free(tp);
	lc_sha256_buf(tar, *tl, dg);
	*d = (struct lc_layer_desc){
		.chainid = dg, .diff_id = dg, .digest = dg, .size = (int64_t)*tl
	};
	return tar;
}

/* ---------- compression ---------- */

enum comp {
	C_PLAIN,
	C_GZIP,
	C_ZSTD,
	C_ZSTD_W20,
	C_ZSTD_W27,
	C_ZSTD_W28,
	C_ZSTD_W31,
	C_GZIP_TRUNC,
	C_GZIP_NAMED, /* a gzip header with a name, a comment and an extra field */
	C_GZIP_HCRC,  /* and a header CRC */
	C_GZIP_BADCRC,
};

static void gz_member_hdr(const char *p, size_t n, char **out, size_t *olen, int named)
{
	z_stream z = { 0 };
	size_t cap = compressBound(n) + 128;
	gz_header h = { .name = (Bytef *)"layer.tar",
			.comment = (Bytef *)"made by check_store",
			.extra = (Bytef *)"AB\004\000wxyz",
			.extra_len = 8,
			.hcrc = named > 1 };

	*out = lc_xrealloc(*out, *olen + cap);
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	if (named)
		ck_assert_int_eq(deflateSetHeader(&z, &h), Z_OK);
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	z.next_out = (unsigned char *)*out + *olen;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*olen += cap - z.avail_out;
	deflateEnd(&z);
}

static void gz_member(const char *p, size_t n, char **out, size_t *olen)
{
	gz_member_hdr(p, n, out, olen, 0);
}

/* A zstd frame with an explicit window descriptor (2^wlog) and one raw block. */
static char *zstd_raw_frame(const char *p, size_t n, unsigned wlog, size_t *olen)
{
	char *o = lc_xmalloc(n + 16);
	uint32_t bh = 1u | ((uint32_t)n << 3); /* last block, raw */

	ck_assert_uint_lt(n, 128 << 10);
	memcpy(o, "\x28\xb5\x2f\xfd", 4);
	o[4] = 0x00;			 /* no single segment, no checksum, no content size */
	o[5] = (char)((wlog - 10) << 3); /* window descriptor: exponent, mantissa 0 */
	o[6] = (char)(bh & 0xff);
	o[7] = (char)((bh >> 8) & 0xff);
	o[8] = (char)((bh >> 16) & 0xff);
	memcpy(o + 9, p, n);
	*olen = n + 9;
	return o;
}

static char *compress_as(enum comp c, const char *tar, size_t n, size_t *olen)
{
	char *out = NULL;

	*olen = 0;
	switch (c) {
	case C_PLAIN:
		out = lc_xmalloc(n + 1);
		memcpy(out, tar, n);
		*olen = n;
		break;
	case C_GZIP:
	case C_GZIP_TRUNC:
		/* two members: multi-member gzip (pigz, concatenated streams) must work */
		gz_member(tar, n / 2, &out, olen);
		gz_member(tar + n / 2, n - n / 2, &out, olen);
		if (c == C_GZIP_TRUNC)
			*olen -= 12;
		break;
	case C_GZIP_NAMED:
	case C_GZIP_HCRC:
	case C_GZIP_BADCRC:
		gz_member_hdr(tar, n / 2, &out, olen, c == C_GZIP_HCRC ? 2 : 1);
		gz_member_hdr(tar + n / 2, n - n / 2, &out, olen, c == C_GZIP_HCRC ? 2 : 1);
		if (c == C_GZIP_BADCRC)
			out[*olen - 8] ^= 0x01; /* the last member's CRC-32 */
		break;
	case C_ZSTD: {
		size_t cap = ZSTD_compressBound(n), r;

		out = lc_xmalloc(cap);
		r = ZSTD_compress(out, cap, tar, n, 3);
		ck_assert(!ZSTD_isError(r));
		*olen = r;
		break;
	}
	case C_ZSTD_W20:
		out = zstd_raw_frame(tar, n, 20, olen);
		break;
	case C_ZSTD_W27:
		out = zstd_raw_frame(tar, n, 27, olen);
		break;
	case C_ZSTD_W28:
		out = zstd_raw_frame(tar, n, 28, olen);
		break;
	case C_ZSTD_W31:
		out = zstd_raw_frame(tar, n, 31, olen);
		break;
	}
	return out;
}

/* ---------- ingest driver ---------- */

enum corrupt { OK, BAD_DIGEST, BAD_DIFFID, SIZE_SHORT, SIZE_LONG, FLIP_BYTE };

struct ing {
	enum comp comp;
	const char *parent;	   /* parent chain id */
	const char *const *lowers; /* for commit */
	size_t n_lowers;
	uint64_t max_unpacked;
	uint64_t max_entries;
	enum corrupt corrupt;
	char chainid[LC_DIGEST_BUFSZ]; /* out */
	char diff_id[LC_DIGEST_BUFSZ]; /* out */
	char digest[LC_DIGEST_BUFSZ];  /* out */
	int64_t size;		       /* out */
};

/* Ingest gen/tars/<name>.tar the way fetch does, in uneven pieces. 1: already present. */
static int ingest(const char *name, struct ing *o, struct lc_err **err)
{
	char *p = tar_path(name);
	size_t tlen, blen, off = 0, step = 0;
	char *tar = slurp(p, &tlen);
	char *blob = compress_as(o->comp, tar, tlen, &blen);
	static const size_t steps[] = { 1, 7, 511, 4096, 65536, 3 };
	struct lc_layer_desc d = { 0 };
	struct lc_layer_ingest *in = NULL;
	int r;

	lc_sha256_buf(tar, tlen, o->diff_id);
	lc_sha256_buf(blob, blen, o->digest);
	lc_chainid(o->parent, o->diff_id, o->chainid);
	o->size = (int64_t)blen;
	d.chainid = o->chainid;
	d.diff_id = o->diff_id;
	d.digest = o->digest;
	d.size = (int64_t)blen;
	d.max_unpacked = o->max_unpacked;
	d.max_entries = o->max_entries;
	if (o->corrupt == BAD_DIGEST)
		d.digest =
			"sha256:0000000000000000000000000000000000000000000000000000000000000000";
	if (o->corrupt == BAD_DIFFID)
		d.diff_id =
			"sha256:1111111111111111111111111111111111111111111111111111111111111111";
	if (o->corrupt == SIZE_SHORT)
		d.size = (int64_t)blen + 1;
	if (o->corrupt == SIZE_LONG)
		d.size = (int64_t)blen - 1;
	/* a registry serving altered bytes: the inflater or the tar breaks before the end, but
	 * what the user must hear is that the download does not match its digest */
	if (o->corrupt == FLIP_BYTE)
		blob[blen / 2] ^= 0x5a;
	r = lc_store_layer_begin(st, &d, &in, err);
	if (r != 0)
		goto out;
	off = (size_t)lc_store_layer_resumed(in); /* what an earlier try left: the rest only */
	while (off < blen) {
		size_t n = steps[step++ % LC_ARRAY_SIZE(steps)];

		if (n > blen - off)
			n = blen - off;
		r = lc_store_layer_write(in, blob + off, n, err);
		if (r < 0)
			break;
		off += n;
	}
	if (r == 0)
		r = lc_store_layer_finish(in, err);
	if (r == 0) {
		r = lc_store_layer_commit(in, o->lowers, o->n_lowers, err);
		in = NULL;
	}
	lc_store_layer_abort(in);
out:
	free(p);
	free(tar);
	free(blob);
	return r;
}

static int layer_dir(const char *chainid)
{
	char *p = lc_xasprintf("layers/sha256/%s", lc_digest_hex(chainid));
	int fd = openat(sfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "no layer dir %s", p);
	free(p);
	return fd;
}

static char *read_at(int dfd, const char *path)
{
	char *buf = NULL;
	struct lc_err *err = NULL;

	ck_assert_ok(lc_read_file_at(dfd, path, 1 << 20, &buf, NULL, &err), &err);
	return buf;
}

/* ---------- blobs ---------- */

START_TEST(blob_put_get_has)
{
	struct lc_err *err = NULL;
	const char *data = "{\"hello\":1}";
	char dg[LC_DIGEST_BUFSZ];
	char *got = NULL;
	size_t len;
	struct stat sb;
	char *p;

	lc_sha256_buf(data, strlen(data), dg);
	ck_assert_int_eq(lc_store_blob_has(st, dg), 0);
	ck_assert_ok(lc_store_blob_put(st, dg, data, strlen(data), &err), &err);
	ck_assert_ok(lc_store_blob_put(st, dg, data, strlen(data), &err), &err); /* harmless */
	ck_assert_int_eq(lc_store_blob_has(st, dg), 1);
	ck_assert_ok(lc_store_blob_get(st, dg, 1024, &got, &len, &err), &err);
	ck_assert_uint_eq(len, strlen(data));
	ck_assert_str_eq(got, data);
	free(got);
	p = lc_xasprintf("blobs/sha256/%s", lc_digest_hex(dg));
	ck_assert_int_eq(fstatat(sfd, p, &sb, 0), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0444);
	/* bounded */
	ck_assert_fail(lc_store_blob_get(st, dg, 4, &got, &len, &err), &err, LC_ERR_LIMIT);
	lc_err_free(err);
	err = NULL;
	/* corrupted on disk: get re-verifies */
	{
		int fd = openat(sfd, p, O_WRONLY | O_TRUNC | O_CLOEXEC);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "{\"hello\":2}", 11), 11);
		close(fd);
	}
	ck_assert_fail(lc_store_blob_get(st, dg, 1024, &got, &len, &err), &err, LC_ERR_DIGEST);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(
		lc_store_blob_get(
			st,
			"sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
			1024, &got, &len, &err),
		&err, LC_ERR_NOTFOUND);
	lc_err_free(err);
	free(p);
	assert_tmp_clean();
}
END_TEST

START_TEST(blob_mismatch_writes_nothing)
{
	struct lc_err *err = NULL;
	const char *dg = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

	ck_assert_fail(lc_store_blob_put(st, dg, "b", 1, &err), &err, LC_ERR_DIGEST);
	ck_assert_ptr_nonnull(strstr(err->msg, "expected sha256:ca97"));
	ck_assert_ptr_nonnull(strstr(err->msg, "got sha256:3e23"));
	lc_err_free(err);
	ck_assert_int_eq(count_entries("blobs/sha256"), 0);
	assert_tmp_clean();
}
END_TEST

static const char *bad_digests[] = {
	"sha256:../../../../etc/passwd",
	"sha256:CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
	"sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b",
	"sha512:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
	"md5:0cc175b9c0f1b6a831c399e269772661",
	"",
};

START_TEST(blob_invalid_digest_creates_nothing)
{
	struct lc_err *err = NULL;
	char *got = NULL;

	ck_assert_fail(lc_store_blob_put(st, bad_digests[_i], "a", 1, &err), &err, LC_ERR_PROTO);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_store_blob_get(st, bad_digests[_i], 10, &got, NULL, &err), &err,
		       LC_ERR_PROTO);
	lc_err_free(err);
	ck_assert_int_eq(lc_store_blob_has(st, bad_digests[_i]), 0);
	ck_assert_int_eq(count_entries("blobs/sha256"), 0);
	assert_tmp_clean();
}
END_TEST

/* ---------- image JSON ---------- */

#define D1 "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define D2 "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define D3 "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"

#define OCI_MANIFEST                                                                               \
	"{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST "\","                           \
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1  \
	"\",\"size\":100},"                                                                        \
	"\"layers\":[{\"mediaType\":\"application/"                                                \
	"vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2                                       \
	"\",\"size\":2000},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","        \
	"\"digest\":\"" D3 "\",\"size\":0}]}"

#define OCI_INDEX                                                                                  \
	"{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_INDEX "\",\"manifests\":["               \
	"{\"mediaType\":\"" LC_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"             \
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"            \
	"{\"mediaType\":\"" LC_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":10,"             \
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"          \
	"{\"mediaType\":\"" LC_MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":10,"             \
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"                             \
	"{\"mediaType\":\"application/vnd.example+json\",\"digest\":\"" D3 "\",\"size\":1}]}"

START_TEST(manifest_and_index_parse)
{
	struct lc_err *err = NULL;
	struct lc_manifest *m = NULL;
	const struct lc_descriptor *d;

	ck_assert_ok(
		lc_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST), LC_MT_OCI_MANIFEST, &m, &err),
		&err);
	ck_assert_int_eq(m->kind, LC_MEDIA_MANIFEST);
	ck_assert_str_eq(m->media_type, LC_MT_OCI_MANIFEST);
	ck_assert_str_eq(m->config.digest, D1);
	ck_assert_int_eq(m->config.size, 100);
	ck_assert_uint_eq(m->n_layers, 2);
	ck_assert_str_eq(m->layers[0].digest, D2);
	ck_assert_int_eq(m->layers[0].size, 2000);
	ck_assert_str_eq(m->layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
	lc_manifest_free(m);
	m = NULL;
	/* no Content-Type, or a generic one: the body decides */
	ck_assert_ok(lc_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST), NULL, &m, &err), &err);
	lc_manifest_free(m);
	m = NULL;
	ck_assert_ok(lc_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST),
				       "application/json; charset=utf-8", &m, &err),
		     &err);
	lc_manifest_free(m);
	m = NULL;

	ck_assert_ok(lc_manifest_parse(OCI_INDEX, strlen(OCI_INDEX),
				       LC_MT_OCI_INDEX "; charset=utf-8", &m, &err),
		     &err);
	ck_assert_int_eq(m->kind, LC_MEDIA_INDEX);
	ck_assert_uint_eq(m->n_manifests, 4);
	d = lc_manifest_pick(m, "linux", "amd64", NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->digest, D3);
	d = lc_manifest_pick(m, "linux", "arm64", NULL); /* v8 is arm64's default */
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->digest, D2);
	d = lc_manifest_pick(m, "linux", "arm", "v7");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->digest, D1);
	ck_assert_ptr_null(lc_manifest_pick(m, "linux", "arm", "v6"));
	ck_assert_ptr_null(lc_manifest_pick(m, "linux", "s390x", NULL));
	ck_assert_ptr_null(lc_manifest_pick(m, "windows", "amd64", NULL));
	lc_manifest_free(m);
}
END_TEST

START_TEST(docker_manifest_without_body_media_type)
{
	const char *doc = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
			  "vnd.docker.container.image.v1+json\","
			  "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}";
	struct lc_err *err = NULL;
	struct lc_manifest *m = NULL;

	ck_assert_ok(lc_manifest_parse(doc, strlen(doc), LC_MT_DOCKER_MANIFEST, &m, &err), &err);
	ck_assert_str_eq(m->media_type, LC_MT_DOCKER_MANIFEST);
	ck_assert_uint_eq(m->n_layers, 0);
	lc_manifest_free(m);
}
END_TEST

static const struct {
	const char *what, *doc, *ct;
	enum lc_errc code;
	const char *msg; /* substring of the error */
} bad_manifests[] = {
	{ "both manifests and layers (CVE-2021-41190)",
	  "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[],\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":1}}",
	  NULL, LC_ERR_PROTO, "both" },
	{ "digest as a path",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:."
	  "./../etc/passwd\",\"size\":1}]}",
	  NULL, LC_ERR_PROTO, "sha256:../../etc/passwd" },
	{ "uppercase hex",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"sha256:CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB\","
	  "\"size\":1},\"layers\":[]}",
	  NULL, LC_ERR_PROTO, "invalid digest" },
	{ "duplicate keys",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[],\"layers\":[]}",
	  NULL, LC_ERR_PROTO, "duplicate" },
	{ "duplicate keys in a layer descriptor",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D2
	  "\",\"digest\":\"" D3 "\",\"size\":1}]}",
	  NULL, LC_ERR_PROTO, "duplicate" },
	{ "schema1 by content type", "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
	  "application/vnd.docker.distribution.manifest.v1+prettyjws", LC_ERR_PROTO, "schema 1" },
	{ "schema1 by body", "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
	  "application/json", LC_ERR_PROTO, "schema 1" },
	{ "negative size",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
	  NULL, LC_ERR_PROTO, "size" },
	{ "size not an integer",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}",
	  NULL, LC_ERR_PROTO, "size" },
	{ "content type says index, body is a manifest", OCI_MANIFEST, LC_MT_OCI_INDEX,
	  LC_ERR_PROTO, "does not match" },
	{ "content type says docker, body says oci", OCI_MANIFEST, LC_MT_DOCKER_MANIFEST,
	  LC_ERR_PROTO, "does not match" },
	{ "mediaType index with layers",
	  "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_INDEX
	  "\",\"config\":{\"mediaType\":\"x\","
	  "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
	  NULL, LC_ERR_PROTO, "does not match" },
	{ "unknown content type", OCI_MANIFEST, "text/html", LC_ERR_PROTO, "unsupported" },
	{ "schemaVersion 3", "{\"schemaVersion\":3,\"manifests\":[]}", NULL, LC_ERR_PROTO,
	  "schemaVersion" },
	{ "not an object", "[1,2]", NULL, LC_ERR_PROTO, "object" },
	{ "not json", "{\"schemaVersion\":", NULL, LC_ERR_PROTO, "invalid JSON" },
	{ "index entry without digest",
	  "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"size\":1}]}", NULL,
	  LC_ERR_PROTO, "missing digest" },
	{ "sha512 digest",
	  "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"size\":1,\"digest\":\"sha512:"
	  "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\"}]}",
	  NULL, LC_ERR_PROTO, "algorithm" },
};

START_TEST(manifest_hostile)
{
	struct lc_err *err = NULL;
	struct lc_manifest *m = NULL;
	const char *doc = bad_manifests[_i].doc;

	ck_assert_msg(lc_manifest_parse(doc, strlen(doc), bad_manifests[_i].ct, &m, &err) < 0,
		      "accepted: %s", bad_manifests[_i].what);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err->code, bad_manifests[_i].code);
	ck_assert_msg(strstr(err->msg, bad_manifests[_i].msg), "%s: message '%s' lacks '%s'",
		      bad_manifests[_i].what, err->msg, bad_manifests[_i].msg);
	lc_err_free(err);
}
END_TEST

/* 3A item 9: deep nesting is refused by the parser's depth bound, not the stack. */
START_TEST(manifest_deep_nesting)
{
	struct lc_err *err = NULL;
	struct lc_manifest *m = NULL;
	struct lc_image_config *c = NULL;
	size_t depth = 200000, n = 0;
	char *doc = lc_xmalloc(2 * depth + 64);

	n += (size_t)snprintf(doc, 64, "{\"schemaVersion\":2,\"x\":");
	memset(doc + n, '[', depth);
	n += depth;
	memset(doc + n, ']', depth);
	n += depth;
	doc[n++] = '}';
	doc[n] = 0;
	ck_assert_fail(lc_manifest_parse(doc, n, NULL, &m, &err), &err, LC_ERR_LIMIT);
	ck_assert_msg(strstr(err->msg, "nested deeper than 64 levels"), "message '%s'", err->msg);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_image_config_parse(doc, n, &c, &err), &err, LC_ERR_LIMIT);
	lc_err_free(err);
	err = NULL;
	/* at the edge: the document's own object and 63 arrays parse (and fail for what they
	 * are, not for their depth); one more level does not */
	for (size_t d = 63; d <= 64; d++) {
		n = (size_t)snprintf(doc, 64, "{\"schemaVersion\":2,\"x\":");
		memset(doc + n, '[', d);
		n += d;
		memset(doc + n, ']', d);
		n += d;
		doc[n++] = '}';
		doc[n] = 0;
		ck_assert_int_lt(lc_manifest_parse(doc, n, NULL, &m, &err), 0);
		ck_assert_int_eq(err->code, d == 63 ? LC_ERR_PROTO : LC_ERR_LIMIT);
		lc_err_free(err);
		err = NULL;
	}
	free(doc);
}
END_TEST

START_TEST(manifest_too_many_layers)
{
	struct lc_err *err = NULL;
	struct lc_manifest *m = NULL;
	size_t cap = 200 * (LC_MAX_LAYERS + 2) + 1024, n;
	char *doc = lc_xmalloc(cap);

	n = (size_t)snprintf(doc, cap,
			     "{\"schemaVersion\":2,\"mediaType\":\"" LC_MT_OCI_MANIFEST
			     "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
			     "\",\"size\":1},\"layers\":[");
	for (int i = 0; i <= LC_MAX_LAYERS; i++)
		n += (size_t)snprintf(doc + n, cap - n,
				      "%s{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":1}",
				      i ? "," : "");
	n += (size_t)snprintf(doc + n, cap - n, "]}");
	ck_assert_fail(lc_manifest_parse(doc, n, NULL, &m, &err), &err, LC_ERR_LIMIT);
	lc_err_free(err);
	free(doc);
}
END_TEST

START_TEST(image_config_parse)
{
	const char *doc =
		"{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
		"\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
		"\"Env\":[\"PATH=/bin\",\"A=b\"],\"WorkingDir\":\"/w\",\"User\":\"1000:1000\"},"
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
	struct lc_err *err = NULL;
	struct lc_image_config *c = NULL;

	ck_assert_ok(lc_image_config_parse(doc, strlen(doc), &c, &err), &err);
	ck_assert_str_eq(c->arch, "amd64");
	ck_assert_str_eq(c->os, "linux");
	ck_assert_str_eq(c->entrypoint[0], "/bin/sh");
	ck_assert_str_eq(c->entrypoint[1], "-c");
	ck_assert_ptr_null(c->entrypoint[2]);
	ck_assert_str_eq(c->cmd[0], "echo hi");
	ck_assert_str_eq(c->env[1], "A=b");
	ck_assert_str_eq(c->workdir, "/w");
	ck_assert_str_eq(c->user, "1000:1000");
	ck_assert_uint_eq(c->n_diff_ids, 2);
	ck_assert_str_eq(c->diff_ids[1], D2);
	ck_assert_ptr_null(c->diff_ids[2]);
	lc_image_config_free(c);
	c = NULL;
	/* a scratch image with Cmd null */
	doc = "{\"config\":{\"Cmd\":null},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	ck_assert_ok(lc_image_config_parse(doc, strlen(doc), &c, &err), &err);
	ck_assert_ptr_null(c->cmd);
	ck_assert_uint_eq(c->n_diff_ids, 0);
	lc_image_config_free(c);
}
END_TEST

static const char *bad_configs[] = {
	"{\"rootfs\":{\"type\":\"tarballs\",\"diff_ids\":[]}}",
	"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:../../x\"]}}",
	"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1
	"\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	"{\"config\":{\"Cmd\":\"not an array\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	"{\"config\":{\"Env\":[1]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	"{\"config\":{}}",
};

START_TEST(image_config_hostile)
{
	struct lc_err *err = NULL;
	struct lc_image_config *c = NULL;

	ck_assert_fail(lc_image_config_parse(bad_configs[_i], strlen(bad_configs[_i]), &c, &err),
		       &err, LC_ERR_PROTO);
	ck_assert_ptr_null(c);
	lc_err_free(err);
}
END_TEST

START_TEST(chainid_known_answer)
{
	char a[LC_DIGEST_BUFSZ], ab[LC_DIGEST_BUFSZ], abc[LC_DIGEST_BUFSZ];

	lc_chainid(NULL, D1, a);
	ck_assert_str_eq(a, D1);
	lc_chainid(a, D2, ab);
	ck_assert_str_eq(ab,
			 "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
	lc_chainid(ab, D3, abc);
	ck_assert_str_eq(abc,
			 "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106");
}
END_TEST

/* ---------- refs ---------- */

/* Without libarchive: one error naming it and its package before a layer starts, no crash. */
START_TEST(libarchive_missing_is_one_error)
{
	struct lc_err *err = NULL;
	struct lc_layer_ingest *in = NULL;
	struct lc_layer_desc d = { 0 };
	char dg[LC_DIGEST_BUFSZ];

	lc_store_libarchive_soname_for_test("libarchive-missing-for-test.so.13");
	lc_sha256_buf("x", 1, dg);
	d.chainid = d.diff_id = d.digest = dg;
	d.size = 1;
	ck_assert_fail(lc_store_layer_begin(st, &d, &in, &err), &err, LC_ERR_SYS);
	ck_assert_msg(strstr(err->msg, "needs libarchive-missing-for-test.so.13: install "
				       "libarchive13 ("),
		      "message: %s", err->msg);
	ck_assert_ptr_null(strchr(err->msg, '\n'));
	ck_assert_ptr_null(in);
	lc_err_free(err);
	err = NULL;
	assert_tmp_clean();
	ck_assert_int_lt(lc_store_need_libarchive(&err), 0);
	lc_err_free(err);
	/* the forwarders fail softly */
	ck_assert_ptr_null(archive_read_new());
	ck_assert_int_eq(archive_read_free(NULL), ARCHIVE_FATAL);
}
END_TEST

START_TEST(refs_set_get_list_remove)
{
	struct lc_err *err = NULL;
	struct lc_store_ref r1 = { (char *)"docker.io/library/nginx:latest", (char *)D1, (char *)D2,
				   (char *)D3 };
	struct lc_store_ref r2 = { (char *)"docker.io/library/alpine:3", (char *)D3, (char *)D3,
				   (char *)D1 };
	struct lc_store_ref *got = NULL, *v = NULL;
	size_t n = 0;

	ck_assert_fail(lc_store_ref_get(st, r1.name, &got, &err), &err, LC_ERR_NOTFOUND);
	lc_err_free(err);
	err = NULL;
	ck_assert_ok(lc_store_ref_list(st, &v, &n, &err), &err);
	ck_assert_uint_eq(n, 0);
	lc_store_ref_list_free(v, n);
	ck_assert_ok(lc_store_ref_set(st, &r1, &err), &err);
	ck_assert_ok(lc_store_ref_set(st, &r2, &err), &err);
	ck_assert_ok(lc_store_ref_get(st, r1.name, &got, &err), &err);
	ck_assert_str_eq(got->digest, D1);
	ck_assert_str_eq(got->manifest, D2);
	ck_assert_str_eq(got->config, D3);
	lc_store_ref_free(got);
	/* overwrite */
	r1.config = (char *)D1;
	ck_assert_ok(lc_store_ref_set(st, &r1, &err), &err);
	ck_assert_ok(lc_store_ref_get(st, r1.name, &got, &err), &err);
	ck_assert_str_eq(got->config, D1);
	lc_store_ref_free(got);
	/* sorted */
	ck_assert_ok(lc_store_ref_list(st, &v, &n, &err), &err);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].name, "docker.io/library/alpine:3");
	ck_assert_str_eq(v[1].name, "docker.io/library/nginx:latest");
	lc_store_ref_list_free(v, n);
	/* a bad digest is refused, nothing changes */
	r2.digest = (char *)"sha256:../../etc";
	ck_assert_fail(lc_store_ref_set(st, &r2, &err), &err, LC_ERR_PROTO);
	lc_err_free(err);
	err = NULL;
	ck_assert_ok(lc_store_ref_remove(st, "docker.io/library/alpine:3", &err), &err);
	ck_assert_fail(lc_store_ref_remove(st, "docker.io/library/alpine:3", &err), &err,
		       LC_ERR_NOTFOUND);
	lc_err_free(err);
	err = NULL;
	ck_assert_ok(lc_store_ref_list(st, &v, &n, &err), &err);
	ck_assert_uint_eq(n, 1);
	lc_store_ref_list_free(v, n);
	/* the file is replaced atomically: no temp files left next to it */
	ck_assert_int_eq(count_entries("refs"), 2); /* refs.json + lock */
}
END_TEST

/* ---------- layers ---------- */

static const enum comp comps[] = { C_PLAIN, C_GZIP, C_ZSTD };

/* ISA-L (_i 0) and zlib (_i 1, ISA-L's library missing) inflate alike, and fail alike. */
START_TEST(layer_gzip_both_inflaters)
{
	static const enum comp ok[] = { C_GZIP, C_GZIP_NAMED, C_GZIP_HCRC };
	struct lc_err *err = NULL;

	if (_i == 1)
		lc_store_libisal_soname_for_test("libisal-missing-for-test.so.2");
	ck_assert_int_eq(lc_store_isal_ready(), _i == 0);
	for (size_t k = 0; k < LC_ARRAY_SIZE(ok); k++) {
		struct ing o = { .comp = ok[k] };
		char *p;

		ck_assert_msg(ingest(k == 1 ? "wh-then-dir"
				     : k    ? "whiteouts"
					    : "basic",
				     &o, &err) == 0,
			      "ingest %zu: %s", k, err ? err->msg : "");
		if (!k) {
			p = read_at(layer_dir(o.chainid), "etc/hostname");
			ck_assert_str_eq(p, "layerctl\n");
			free(p);
		}
	}
	{
		struct ing o = { .comp = C_GZIP_TRUNC };

		ck_assert_int_lt(ingest("dotdot-dot", &o, &err), 0);
		lc_err_free(err);
		err = NULL;
		ck_assert_int_lt(ingest("big", &o, &err), 0);
		ck_assert_msg(strstr(err->msg, "truncated gzip"), "message: %s", err->msg);
		lc_err_free(err);
		err = NULL;
	}
	{
		/* a wrong CRC-32 in the trailer: digests match (the blob's is computed), the stream
		 * does not */
		struct ing o = { .comp = C_GZIP_BADCRC };

		ck_assert_int_lt(ingest("big", &o, &err), 0);
		ck_assert_msg(strstr(err->msg, "gzip: incorrect data check"), "message: %s",
			      err->msg);
		lc_err_free(err);
	}
	assert_tmp_clean();
}
END_TEST

START_TEST(layer_ingest_basic)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = comps[_i] };
	struct lc_layer_info *info = NULL;
	struct stat a, b;
	char lnk[256], *p;
	ssize_t n;
	int fd;

	ck_assert_int_eq(ingest("basic", &o, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(lc_store_layer_has(st, o.chainid), 1);
	fd = layer_dir(o.chainid);
	p = read_at(fd, "etc/hostname");
	ck_assert_str_eq(p, "layerctl\n");
	free(p);
	ck_assert_int_eq(fstatat(fd, "bin/tool", &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(a.st_mode, S_IFREG | 04755); /* setuid kept */
	ck_assert_int_eq(fstatat(fd, "bin/tool2", &b, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino); /* hard link */
	n = readlinkat(fd, "bin/sh", lnk, sizeof(lnk) - 1);
	ck_assert_int_eq(n, 4);
	lnk[n] = 0;
	ck_assert_str_eq(lnk, "tool");
	ck_assert_int_eq(fstatat(fd, "m", &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(a.st_mtime, 1000000); /* dir mtime set after its children */
	ck_assert_int_eq(fstatat(fd, "p", &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISFIFO(a.st_mode));
	ck_assert_int_eq(a.st_mode & 07777, 0640);
	ck_assert_int_eq(a.st_uid, 7);
	ck_assert_int_eq(a.st_gid, 8);
	ck_assert_int_eq(fstatat(fd, "owned", &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(a.st_uid, 1000);
	ck_assert_int_eq(a.st_gid, 1001);
	ck_assert_int_eq(a.st_mode & 07777, 0600);
	ck_assert_int_eq(a.st_mtime, 1600000000);
	ck_assert_int_eq(fstatat(fd, "bin", &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(a.st_mode, S_IFDIR | 0755); /* implicit, no lower: 0755 */
	close(fd);

	ck_assert_ok(lc_store_layer_info(st, o.chainid, &info, &err), &err);
	ck_assert_str_eq(info->chainid, o.chainid);
	ck_assert_str_eq(info->diff_id, o.diff_id);
	ck_assert_str_eq(info->digest, o.digest);
	ck_assert_int_eq(info->size, o.size);
	ck_assert_uint_eq(info->files, 9); /* etc hostname tool sh tool2 m f p owned */
	ck_assert_int_gt(info->unpacked, 0);
	ck_assert_uint_eq(strlen(info->link), 2 + 26);
	/* the short link resolves to the layer */
	ck_assert_int_eq(fstatat(sfd, info->link, &a, 0), 0);
	fd = layer_dir(o.chainid);
	ck_assert_int_eq(fstat(fd, &b), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino);
	close(fd);
	lc_layer_info_free(info);
	assert_tmp_clean();
	/* a second ingest of the same chain id finds it */
	ck_assert_int_eq(ingest("basic", &o, &err), 1);
}
END_TEST

static const struct {
	enum corrupt c;
	enum comp comp;
	enum lc_errc code;
	const char *msg;
} mismatches[] = {
	{ BAD_DIGEST, C_GZIP, LC_ERR_DIGEST, "digest mismatch: expected sha256:0000" },
	{ BAD_DIFFID, C_GZIP, LC_ERR_DIGEST, "diff_id mismatch: expected sha256:1111" },
	{ BAD_DIFFID, C_ZSTD, LC_ERR_DIGEST, "diff_id mismatch" },
	{ BAD_DIFFID, C_PLAIN, LC_ERR_DIGEST, "diff_id mismatch" },
	{ SIZE_SHORT, C_PLAIN, LC_ERR_DIGEST, "size mismatch" },
	{ SIZE_LONG, C_ZSTD, LC_ERR_DIGEST, "more than" },
	{ FLIP_BYTE, C_GZIP, LC_ERR_DIGEST, "digest mismatch: expected sha256:" },
	{ FLIP_BYTE, C_ZSTD, LC_ERR_DIGEST, "digest mismatch: expected sha256:" },
	{ FLIP_BYTE, C_PLAIN, LC_ERR_DIGEST, "digest mismatch: expected sha256:" },
};

START_TEST(layer_mismatch_leaves_nothing)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = mismatches[_i].comp, .corrupt = mismatches[_i].c };

	ck_assert_int_lt(ingest("basic", &o, &err), 0);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, mismatches[_i].code);
	ck_assert_msg(strstr(err->msg, mismatches[_i].msg), "message '%s' lacks '%s'", err->msg,
		      mismatches[_i].msg);
	lc_err_free(err);
	ck_assert_int_eq(count_entries("layers/sha256"), 0);
	ck_assert_int_eq(count_entries("l"), 0);
	assert_tmp_clean();
}
END_TEST

static const struct {
	enum comp comp;
	uint64_t max;
	int ok;
	enum lc_errc code;
	const char *msg;
} streams[] = {
	{ C_ZSTD_W20, 0, 1, 0, NULL },
	{ C_ZSTD_W31, 0, 0, LC_ERR_LIMIT, "window of more than 128 MiB, the limit" },
	/* the largest window the limit lets through */
	{ C_ZSTD_W27, 0, 1, 0, NULL },
	{ C_ZSTD_W28, 0, 0, LC_ERR_LIMIT, "window of more than 128 MiB, the limit" },
	{ C_GZIP_TRUNC, 0, 0, LC_ERR_PROTO, "truncated gzip" },
};

START_TEST(layer_streams)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = streams[_i].comp, .max_unpacked = streams[_i].max };
	int r = ingest("dotdot-dot" /* small; refused later anyway */, &o, &err);

	(void)r;
	lc_err_free(err);
	err = NULL;
	/* the same on a harmless tar */
	r = ingest("wh-then-dir", &o, &err);
	if (streams[_i].ok) {
		ck_assert_msg(r == 0, "ingest failed: %s", err ? err->msg : "");
	} else {
		ck_assert_int_lt(r, 0);
		ck_assert_int_eq(err->code, streams[_i].code);
		ck_assert_msg(strstr(err->msg, streams[_i].msg), "message '%s' lacks '%s'",
			      err->msg, streams[_i].msg);
		lc_err_free(err);
		ck_assert_int_eq(count_entries("layers/sha256"), 0);
	}
	assert_tmp_clean();
}
END_TEST

START_TEST(layer_tar_bomb_bounded)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_GZIP, .max_unpacked = 1 << 20 };

	ck_assert_int_lt(ingest("big", &o, &err), 0);
	ck_assert_int_eq(err->code, LC_ERR_LIMIT);
	ck_assert_msg(strstr(err->msg, "more than 1 MiB, the per-layer limit (raise it with "
				       "--max-layer-size)"),
		      "message '%s'", err->msg);
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(count_entries("layers/sha256"), 0);
	assert_tmp_clean();
	o.max_unpacked = 0; /* default bound: fine */
	ck_assert_int_eq(ingest("big", &o, &err), 0);
}
END_TEST

/* hostile tars: refused (code) or accepted with a check */
static void check_absolute(int fd)
{
	char *p = read_at(fd, "etc/x");

	ck_assert_str_eq(p, "re-anchored");
	free(p);
}

static void check_symlink_mode(int fd)
{
	struct stat sb;

	ck_assert_int_eq(fstatat(fd, "f", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_int_eq(sb.st_uid, 4242); /* lchown'd, the target was not */
}

static void check_hardlink_sym(int fd)
{
	struct stat a, b;

	ck_assert_int_eq(fstatat(fd, "h", &a, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISLNK(a.st_mode)); /* the symlink itself was linked */
	ck_assert_int_eq(fstatat(fd, "s", &b, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino);
}

static void check_overwrite(int fd)
{
	char *y = read_at(fd, "y"), *x = read_at(fd, "x");

	ck_assert_str_eq(y, "A");
	ck_assert_str_eq(x, "B");
	free(x);
	free(y);
}

static void check_names_again(int fd)
{
	char *x = read_at(fd, "x"), *z = read_at(fd, "y/z"), *v = read_at(fd, "v"),
	     *w = read_at(fd, "w");
	char t[8] = "";

	ck_assert_str_eq(x, "B");
	ck_assert_str_eq(z, "2");
	ck_assert_str_eq(v, "3"); /* linked to the first w, which the second replaced */
	ck_assert_str_eq(w, "4");
	ck_assert_int_eq(readlinkat(fd, "s", t, sizeof(t) - 1), 1);
	ck_assert_str_eq(t, "w");
	free(x);
	free(z);
	free(v);
	free(w);
}

static void check_setgid_owner(int fd)
{
	static const struct {
		const char *path;
		uid_t uid;
		gid_t gid;
	} want[] = { { "sg", 0, 50 },
		     { "sg/a", 0, 0 },
		     { "sg/b", 0, 50 },
		     { "sg/c", 1000, 0 },
		     { "top", 0, 0 } };

	for (size_t i = 0; i < LC_ARRAY_SIZE(want); i++) {
		struct stat sb;

		ck_assert_int_eq(fstatat(fd, want[i].path, &sb, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_msg(sb.st_uid == want[i].uid && sb.st_gid == want[i].gid,
			      "'%s' is %u:%u, not %u:%u", want[i].path, (unsigned)sb.st_uid,
			      (unsigned)sb.st_gid, (unsigned)want[i].uid, (unsigned)want[i].gid);
	}
}

/* sparse files come out whole: the map's bytes where it puts them, zeros in the holes */
static void check_sparse(int fd)
{
	static const struct {
		const char *path;
		size_t size;
		struct {
			size_t off, len;
			char c;
		} data[2];
	} want[] = { { "mid-end", 100000, { { 0, 512, 'h' }, { 90112, 512, 't' } } },
		     { "start", 8192, { { 4096, 4096, 'x' } } },
		     { "all", 51200, { { 0 } } },
		     { "plain", 1, { { 0, 1, 'p' } } } };

	for (size_t i = 0; i < LC_ARRAY_SIZE(want); i++) {
		char *got = NULL, *exp = lc_xcalloc(1, want[i].size);
		size_t len = 0;
		struct lc_err *err = NULL;

		for (size_t j = 0; j < LC_ARRAY_SIZE(want[i].data); j++)
			memset(exp + want[i].data[j].off, want[i].data[j].c, want[i].data[j].len);
		ck_assert_ok(lc_read_file_at(fd, want[i].path, 1 << 20, &got, &len, &err), &err);
		ck_assert_msg(len == want[i].size, "'%s' is %zu bytes, not %zu", want[i].path, len,
			      want[i].size);
		ck_assert_msg(!memcmp(got, exp, len), "'%s': not the bytes of its map",
			      want[i].path);
		free(got);
		free(exp);
	}
}

static void check_devices(int fd)
{
	ck_assert_int_eq(faccessat(fd, "dev/sda", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	ck_assert_int_eq(faccessat(fd, "dev/mem", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	ck_assert_int_eq(faccessat(fd, "ok", F_OK, AT_SYMLINK_NOFOLLOW), 0);
}

static void check_xattrs(int fd)
{
	int x = openat(fd, "x", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char v[16];

	ck_assert_int_ge(x, 0);
	ck_assert_int_eq(fgetxattr(x, "trusted.overlay.opaque", v, sizeof(v)), -1);
	ck_assert_int_eq(fgetxattr(x, "user.overlay.redirect", v, sizeof(v)), -1);
	ck_assert_int_eq(fgetxattr(x, "security.selinux", v, sizeof(v)), -1);
	/* ordinary user xattrs survive (where the filesystem has them) */
	if (fgetxattr(x, "user.kept", v, sizeof(v)) != 3)
		ck_assert_int_eq(errno, ENOTSUP);
	close(x);
}

/* whiteouts are owned like their entries (containerd lchowns them too) */
static void check_wh_owned(int fd)
{
	struct stat sb;

	ck_assert_int_eq(fstatat(fd, "a/gone", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(0, 0));
	ck_assert_int_eq(sb.st_uid, 1000);
	ck_assert_int_eq(sb.st_gid, 1001);
	ck_assert_int_eq(fstatat(fd, "top", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISCHR(sb.st_mode));
	ck_assert_int_eq(sb.st_uid, 7);
	ck_assert_int_eq(sb.st_gid, 8);
}

/* 128 extended attributes, the limit, are all set */
static void check_xattrs_128(int fd)
{
	char v[4];
	int f = openat(fd, "x", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(f, 0);
	ck_assert_int_eq(fgetxattr(f, "user.a000", v, sizeof(v)), 1);
	ck_assert_int_eq(fgetxattr(f, "user.a127", v, sizeof(v)), 1);
	ck_assert_int_eq(v[0], 'v');
	close(f);
}

static const struct {
	const char *tar;
	enum lc_errc code; /* LC_ERR_OK: accepted */
	void (*check)(int fd);
	const char *msg;
} hostile[] = {
	{ "dotdot", LC_ERR_UNSAFE, NULL, "'../../x'" },
	{ "dotdot-mid", LC_ERR_UNSAFE, NULL, "'a/../../x'" },
	{ "dotdot-dot", LC_ERR_UNSAFE, NULL, ".." },
	{ "absolute", LC_ERR_OK, check_absolute, NULL },
	{ "symlink-dir", LC_ERR_UNSAFE, NULL, "evil/passwd" },
	{ "symlink-rel", LC_ERR_UNSAFE, NULL, "rel" },
	{ "symlink-mode", LC_ERR_OK, check_symlink_mode, NULL },
	{ "stale-dir", LC_ERR_UNSAFE, NULL, "d/b" },
	{ "hardlink-rel", LC_ERR_UNSAFE, NULL, ".." },
	{ "hardlink-abs", LC_ERR_UNSAFE, NULL, "not in the layer" },
	{ "hardlink-sym", LC_ERR_OK, check_hardlink_sym, NULL },
	{ "hardlink-overwrite", LC_ERR_OK, check_overwrite, NULL },
	{ "hardlink-self", LC_ERR_PROTO, NULL, "itself" },
	{ "file-then-child", LC_ERR_UNSAFE, NULL, "'a' is a symlink or not a directory" },
	{ "names-again", LC_ERR_OK, check_names_again, NULL },
	{ "setgid-owner", LC_ERR_OK, check_setgid_owner, NULL },
	{ "hardlink-dir", LC_ERR_UNSAFE, NULL, "directory" },
	{ "wh-dotdot", LC_ERR_UNSAFE, NULL, "whiteout" },
	{ "wh-empty", LC_ERR_UNSAFE, NULL, "whiteout" },
	{ "wh-dots", LC_ERR_UNSAFE, NULL, "whiteout" },
	{ "wh-symlink", LC_ERR_UNSAFE, NULL, "s/.wh.passwd" },
	{ "sparse", LC_ERR_OK, check_sparse, NULL },
	{ "devices", LC_ERR_OK, check_devices, NULL },
	{ "xattrs", LC_ERR_OK, check_xattrs, NULL },
	{ "wh-owned", LC_ERR_OK, check_wh_owned, NULL },
	/* header bombs (3B item 20): refused by libarchive before it buffers them */
	{ "gnu-longname", LC_ERR_PROTO, NULL, "header too large" },
	{ "gnu-longlink", LC_ERR_PROTO, NULL, "header too large" },
	{ "pax-longpath", LC_ERR_PROTO, NULL, "header too large" },
	{ "long-path", LC_ERR_LIMIT, NULL, "longer than 4095 bytes, the limit (PATH_MAX)" },
	{ "long-linkname", LC_ERR_LIMIT, NULL, "target is longer than 4095 bytes" },
	{ "xattrs-many", LC_ERR_LIMIT, NULL,
	  "129 extended attributes, more than the limit of 128" },
	{ "xattrs-128", LC_ERR_OK, check_xattrs_128, NULL },
	{ "xattr-big", LC_ERR_LIMIT, NULL, "larger than 64 KiB, the kernel's limit" },
};

START_TEST(layer_hostile_tars)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_GZIP };
	int r = ingest(hostile[_i].tar, &o, &err);

	if (hostile[_i].code == LC_ERR_OK) {
		int fd;

		ck_assert_msg(r == 0, "%s: %s", hostile[_i].tar, err ? err->msg : "");
		fd = layer_dir(o.chainid);
		hostile[_i].check(fd);
		close(fd);
	} else {
		ck_assert_msg(r < 0, "%s accepted", hostile[_i].tar);
		ck_assert_int_eq(err->code, hostile[_i].code);
		ck_assert_msg(strstr(err->msg, hostile[_i].msg), "%s: message '%s' lacks '%s'",
			      hostile[_i].tar, err->msg, hostile[_i].msg);
		lc_err_free(err);
		ck_assert_int_eq(count_entries("layers/sha256"), 0);
	}
	assert_tmp_clean();
	assert_canary_intact();
	assert_nothing_escaped();
}
END_TEST

/* The same, as on kernels without openat2: every component walked with O_NOFOLLOW. */
START_TEST(layer_hostile_tars_without_openat2)
{
	lc_store_fault_arm(LC_SYS_OPENAT2, 1, ENOSYS);
	layer_hostile_tars_fn(_i);
	lc_store_fault_disarm();
}
END_TEST

START_TEST(layer_whiteouts_to_overlay)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_ZSTD };
	struct stat sb;
	char v[4];
	int fd, c;

	ck_assert_int_eq(ingest("whiteouts", &o, &err), 0);
	fd = layer_dir(o.chainid);
	ck_assert_int_eq(fstatat(fd, "a/b", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISCHR(sb.st_mode));
	ck_assert_int_eq(sb.st_rdev, makedev(0, 0));
	ck_assert_int_eq(faccessat(fd, "a/.wh.b", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	c = openat(fd, "c", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_eq(fgetxattr(c, "trusted.overlay.opaque", v, sizeof(v)), 1);
	ck_assert_int_eq(v[0], 'y');
	close(c);
	ck_assert_int_eq(faccessat(fd, "c/.wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	ck_assert_int_eq(faccessat(fd, "c/keep", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	/* a whiteout never hides this layer's own file */
	ck_assert_int_eq(fstatat(fd, "k", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISREG(sb.st_mode));
	/* AUFS metadata is not part of the image */
	ck_assert_int_eq(faccessat(fd, ".wh..wh.plnk", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	close(fd);

	/* `.wh.gone` then a dir `gone`: the new dir hides everything below it */
	ck_assert_int_eq(ingest("wh-then-dir", &o, &err), 0);
	fd = layer_dir(o.chainid);
	c = openat(fd, "gone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(fgetxattr(c, "trusted.overlay.opaque", v, sizeof(v)), 1);
	close(c);
	close(fd);
}
END_TEST

/* Files are created with their final mode when the umask allows: whatever the umask, or a
 * default ACL on the store, the modes are the tar's. */
static const mode_t umasks[] = { 022, 0, 077, 0777 };

START_TEST(layer_modes_exact_whatever_the_umask)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_PLAIN };
	struct stat sb;
	int fd;

	umask(umasks[_i]);
	if (_i == 3) {
		/* a default ACL on tmp/ (inherited by the staging dirs): owner rwx, others none */
		static const unsigned char acl[] = {
			2,    0, 0, 0,			       /* version 2 */
			1,    0, 7, 0, 0xff, 0xff, 0xff, 0xff, /* user_obj */
			4,    0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* group_obj */
			0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff
		}; /* other */
		int t = openat(sfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		umask(022);
		if (fsetxattr(t, "system.posix_acl_default", acl, sizeof(acl), 0) < 0) {
			close(t);
			ck_assert_msg(errno == EOPNOTSUPP, "setxattr: %s", strerror(errno));
			return; /* no ACLs here */
		}
		close(t);
	}
	ck_assert_int_eq(ingest("basic", &o, &err), 0);
	fd = layer_dir(o.chainid);
	ck_assert_int_eq(fstatat(fd, "etc/hostname", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFREG | 0644);
	ck_assert_int_eq(fstatat(fd, "bin/tool", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFREG | 04755);
	ck_assert_int_eq(fstatat(fd, "owned", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFREG | 0600);
	ck_assert_int_eq(sb.st_uid, 1000);
	ck_assert_int_eq(fstatat(fd, "m/f", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFREG | 0644);
	close(fd);
}
END_TEST

START_TEST(layer_implicit_dirs_from_lower)
{
	struct lc_err *err = NULL;
	struct ing lo = { .comp = C_GZIP }, up = { .comp = C_GZIP };
	const char *lowers[1];
	struct stat sb;
	int fd;

	ck_assert_int_eq(ingest("lower-tmp", &lo, &err), 0);
	lowers[0] = lo.chainid;
	up.parent = lo.chainid;
	up.lowers = lowers;
	up.n_lowers = 1;
	ck_assert_int_eq(ingest("upper-tmp", &up, &err), 0);
	ck_assert_str_ne(up.chainid, up.diff_id); /* keyed by chain id */
	fd = layer_dir(up.chainid);
	ck_assert_int_eq(fstatat(fd, "tmp", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFDIR | 01777);
	ck_assert_int_eq(sb.st_uid, 1000);
	ck_assert_int_eq(sb.st_gid, 1000);
	ck_assert_int_eq(fstatat(fd, "var/lib", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFDIR | 0700);
	/* not in any lower: 0755 root */
	ck_assert_int_eq(fstatat(fd, "new/dir", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFDIR | 0755);
	ck_assert_int_eq(sb.st_uid, geteuid());
	close(fd);
}
END_TEST

/* An opaque dir in a middle layer hides the bottom layer's dir below it: the top layer's
 * implicit dir must not take the hidden dir's owner and mode. */
START_TEST(layer_implicit_dirs_stop_at_opaque)
{
	struct lc_err *err = NULL;
	struct ing bot = { .comp = C_PLAIN }, mid = { .comp = C_PLAIN }, top = { .comp = C_PLAIN };
	const char *lowers[2];
	struct stat sb;
	int fd;

	ck_assert_int_eq(ingest("opq-bottom", &bot, &err), 0);
	mid.parent = bot.chainid;
	lowers[0] = bot.chainid;
	mid.lowers = lowers;
	mid.n_lowers = 1;
	ck_assert_int_eq(ingest("opq-middle", &mid, &err), 0);
	top.parent = mid.chainid;
	lowers[0] = mid.chainid; /* topmost first */
	lowers[1] = bot.chainid;
	top.lowers = lowers;
	top.n_lowers = 2;
	ck_assert_int_eq(ingest("opq-top", &top, &err), 0);
	fd = layer_dir(top.chainid);
	/* a: from the middle layer, the topmost that has it */
	ck_assert_int_eq(fstatat(fd, "a", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFDIR | 0750);
	ck_assert_int_eq(sb.st_uid, 7);
	/* a/b: hidden below the opaque a, so a fresh dir */
	ck_assert_int_eq(fstatat(fd, "a/b", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(sb.st_mode, S_IFDIR | 0755);
	ck_assert_int_eq(sb.st_uid, geteuid());
	close(fd);
}
END_TEST

/* 3B item 20: the entry count bound fails the layer and leaves nothing. */
START_TEST(layer_entry_count_bounded)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_GZIP, .max_entries = 100 };

	ck_assert_int_lt(ingest("many-entries", &o, &err), 0);
	ck_assert_int_eq(err->code, LC_ERR_LIMIT);
	ck_assert_msg(strstr(err->msg, "more than 100 entries"), "message '%s'", err->msg);
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(count_entries("layers/sha256"), 0);
	ck_assert_int_eq(count_entries("l"), 0);
	assert_tmp_clean();
	o.max_entries = 101;
	ck_assert_int_eq(ingest("many-entries", &o, &err), 0);
}
END_TEST

/* A tar stream made of segments, generated on the fly (too big to keep in memory). */
struct seg {
	const char *data; /* NULL: fill bytes */
	size_t len;
	char fill;
};

static void ustar_header(char h[512], const char *name, char type, uint64_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf(h + 136, 12, "%011o", 1600000000);
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
}

static void segs_each(const struct seg *sg, size_t n, void (*fn)(const void *, size_t, void *),
		      void *arg)
{
	static char fill[64 << 10];

	for (size_t i = 0; i < n; i++) {
		size_t left = sg[i].len;

		if (sg[i].data) {
			fn(sg[i].data, left, arg);
			continue;
		}
		memset(fill, sg[i].fill, sizeof(fill));
		while (left) {
			size_t k = left < sizeof(fill) ? left : sizeof(fill);

			fn(fill, k, arg);
			left -= k;
		}
	}
}

static void seg_hash(const void *p, size_t n, void *arg)
{
	lc_sha256_update(arg, p, n);
}

struct seg_feed {
	struct lc_layer_ingest *in;
	struct lc_err *err;
	int rc;
};

static void seg_feed(const void *p, size_t n, void *arg)
{
	struct seg_feed *f = arg;

	if (f->rc == 0)
		f->rc = lc_store_layer_write(f->in, p, n, &f->err);
}

/* 3B item 20: a 100 MB PAX record is refused, not buffered, and nothing is left. */
START_TEST(layer_pax_record_bomb)
{
	const size_t total = 100u << 20; /* the whole pax record, length field included */
	const char *key = "104857600 comment=";
	char xh[512], fh[512], pad[512] = { 0 }, zeros[1024] = { 0 };
	struct seg sg[7];
	size_t n = 0;
	struct lc_sha256 *h = lc_sha256_new();
	char dg[LC_DIGEST_BUFSZ], chain[LC_DIGEST_BUFSZ];
	struct lc_layer_desc d = { 0 };
	struct seg_feed f = { 0 };
	struct lc_err *err = NULL;

	ck_assert_uint_eq(strlen(key), 18);
	ustar_header(xh, "PaxHeader/p", 'x', total);
	ustar_header(fh, "p", '0', 0);
	sg[n++] = (struct seg){ xh, 512, 0 };
	sg[n++] = (struct seg){ key, strlen(key), 0 };
	sg[n++] = (struct seg){ NULL, total - strlen(key) - 1, 'c' };
	sg[n++] = (struct seg){ "\n", 1, 0 };
	sg[n++] = (struct seg){ pad, (512 - total % 512) % 512, 0 };
	sg[n++] = (struct seg){ fh, 512, 0 };
	sg[n++] = (struct seg){ zeros, 1024, 0 };
	d.size = 0;
	for (size_t i = 0; i < n; i++)
		d.size += (int64_t)sg[i].len;
	segs_each(sg, n, seg_hash, h);
	lc_sha256_final(h, dg);
	lc_sha256_free(h);
	lc_chainid(NULL, dg, chain);
	d.chainid = chain;
	d.diff_id = dg; /* plain tar: the blob is the tar */
	d.digest = dg;
	ck_assert_int_eq(lc_store_layer_begin(st, &d, &f.in, &err), 0);
	segs_each(sg, n, seg_feed, &f);
	ck_assert_msg(f.rc == 0, "write: %s", f.err ? f.err->msg : "");
	ck_assert_fail(lc_store_layer_finish(f.in, &err), &err, LC_ERR_PROTO);
	ck_assert_msg(strstr(err->msg, "header too large"), "message '%s'", err->msg);
	lc_err_free(err);
	lc_store_layer_abort(f.in);
	ck_assert_int_eq(count_entries("layers/sha256"), 0);
	assert_tmp_clean();
}
END_TEST

/* gzip of the segments, deflated as they come (the inflated stream may not fit in memory) */
struct seg_gz {
	z_stream z;
	char *out;
	size_t len, cap;
};

static void seg_gz(const void *p, size_t n, void *arg)
{
	struct seg_gz *g = arg;

	g->z.next_in = (unsigned char *)p;
	g->z.avail_in = (uInt)n;
	while (g->z.avail_in) {
		if (g->cap - g->len < 65536) {
			g->cap = g->cap * 2 + 65536;
			g->out = lc_xrealloc(g->out, g->cap);
		}
		g->z.next_out = (unsigned char *)g->out + g->len;
		g->z.avail_out = (uInt)(g->cap - g->len);
		ck_assert_int_eq(deflate(&g->z, Z_NO_FLUSH), Z_OK);
		g->len = g->cap - g->z.avail_out;
	}
}

/* A gzip'd tar of one file of size zeros (name "zeros") and its diff_id. */
static char *gzip_of_zeros(const char *name, uint64_t size, size_t *ret_len,
			   char diff_id[LC_DIGEST_BUFSZ])
{
	char fh[512], zeros[1024] = { 0 };
	struct seg sg[4];
	struct seg_gz g = { 0 };
	struct lc_sha256 *h = lc_sha256_new();
	int r;

	ustar_header(fh, name, '0', size);
	sg[0] = (struct seg){ fh, 512, 0 };
	sg[1] = (struct seg){ NULL, size, 0 };
	sg[2] = (struct seg){ zeros, (512 - size % 512) % 512, 0 };
	sg[3] = (struct seg){ zeros, 1024, 0 };
	segs_each(sg, 4, seg_hash, h);
	lc_sha256_final(h, diff_id);
	lc_sha256_free(h);
	ck_assert_int_eq(deflateInit2(&g.z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY),
			 Z_OK);
	segs_each(sg, 4, seg_gz, &g);
	do {
		if (g.cap - g.len < 65536) {
			g.cap = g.cap * 2 + 65536;
			g.out = lc_xrealloc(g.out, g.cap);
		}
		g.z.next_out = (unsigned char *)g.out + g.len;
		g.z.avail_out = (uInt)(g.cap - g.len);
		r = deflate(&g.z, Z_FINISH);
		g.len = g.cap - g.z.avail_out;
	} while (r == Z_OK);
	ck_assert_int_eq(r, Z_STREAM_END);
	deflateEnd(&g.z);
	*ret_len = g.len;
	return g.out;
}

/* Ingest blob (in 4 KiB writes) as a layer on its own; returns finish's result. */
static int ingest_blob(const char *blob, size_t len, const char *diff_id,
		       const struct lc_layer_desc *limits, struct lc_err **err)
{
	struct lc_layer_desc d = *limits;
	struct lc_layer_ingest *in = NULL;
	char digest[LC_DIGEST_BUFSZ], chain[LC_DIGEST_BUFSZ];
	int r;

	lc_sha256_buf(blob, len, digest);
	lc_chainid(NULL, diff_id, chain);
	d.chainid = chain;
	d.diff_id = diff_id;
	d.digest = digest;
	d.size = (int64_t)len;
	ck_assert_int_eq(lc_store_layer_begin(st, &d, &in, err), 0);
	for (size_t off = 0; off < len; off += 4096)
		ck_assert_int_eq(lc_store_layer_write(in, blob + off,
						      len - off < 4096 ? len - off : 4096, err),
				 0);
	r = lc_store_layer_finish(in, err);
	if (r == 0) {
		r = lc_store_layer_commit(in, NULL, 0, err);
		in = NULL;
	}
	lc_store_layer_abort(in);
	return r;
}

/*
 * 3B item 20: a gzip of zeros (~1030x, gzip's most) is a decompression bomb past the ratio
 * floor: stopped there, nothing left; the same stream under the floor, or with the ratio
 * raised, unpacks.
 */
START_TEST(layer_ratio_guard)
{
	struct lc_err *err = NULL;
	char diff_id[LC_DIGEST_BUFSZ];
	size_t len;
	char *blob = gzip_of_zeros("zeros", LC_LAYER_RATIO_FLOOR + (16u << 20), &len, diff_id);
	struct lc_layer_desc lim = { 0 };

	ck_assert_uint_lt(len, (LC_LAYER_RATIO_FLOOR + (16u << 20)) / LC_LAYER_MAX_RATIO);
	ck_assert_fail(ingest_blob(blob, len, diff_id, &lim, &err), &err, LC_ERR_LIMIT);
	ck_assert_msg(strstr(err->msg, "inflates to more than 1000 times its compressed size (64 "
				       "MiB from ") &&
			      strstr(err->msg, " KiB so far), the limit (raise it with "
					       "--max-compression-ratio)"),
		      "message '%s'", err->msg);
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(count_entries("layers/sha256"), 0);
	assert_tmp_clean();
	/* raised above what gzip can reach: unpacks */
	lim.max_ratio = 1100;
	ck_assert_msg(ingest_blob(blob, len, diff_id, &lim, &err) == 0, "%s", err ? err->msg : "");
	/* dir, .json, .files, .tarsplit; with dedup .objects too (its file of zeros is in the pool) */
	ck_assert_int_eq(count_entries("layers/sha256"), 4 + st->settings.dedup);
	free(blob);
	/* just under the floor: not a bomb yet, whatever the ratio */
	blob = gzip_of_zeros("small", LC_LAYER_RATIO_FLOOR - 4096, &len, diff_id);
	lim.max_ratio = 0;
	ck_assert_msg(ingest_blob(blob, len, diff_id, &lim, &err) == 0, "%s", err ? err->msg : "");
	free(blob);
	assert_tmp_clean();
}
END_TEST

/* The image bound: the ingests of one image share a counter; the layer passing it fails. */
START_TEST(layer_image_bound)
{
	struct lc_err *err = NULL;
	char d1[LC_DIGEST_BUFSZ], d2[LC_DIGEST_BUFSZ];
	size_t l1, l2;
	char *b1 = gzip_of_zeros("one", 1 << 20, &l1, d1);
	char *b2 = gzip_of_zeros("two", 1 << 20, &l2, d2);
	uint64_t image = 0;
	/* each tar: 512 header + 1 MiB + 1024 end */
	struct lc_layer_desc lim = { .image_unpacked = &image,
				     .max_image_unpacked = 2 * ((1 << 20) + 1536) - 1 };

	ck_assert_msg(ingest_blob(b1, l1, d1, &lim, &err) == 0, "%s", err ? err->msg : "");
	ck_assert_uint_eq(image, (1 << 20) + 1536);
	ck_assert_fail(ingest_blob(b2, l2, d2, &lim, &err), &err, LC_ERR_LIMIT);
	ck_assert_msg(strstr(err->msg, "image unpacks to more than 2100223 bytes, the per-image "
				       "limit (raise it with --max-image-size)"),
		      "message '%s'", err->msg);
	lc_err_free(err);
	err = NULL;
	assert_tmp_clean();
	/* one byte more and both fit */
	image = 0;
	lim.max_image_unpacked++;
	ck_assert_msg(ingest_blob(b2, l2, d2, &lim, &err) == 0, "%s", err ? err->msg : "");
	free(b1);
	free(b2);
}
END_TEST

START_TEST(layer_concurrent_same_chainid)
{
	int pfd[2], status[2];
	pid_t pid[2];
	struct ing o = { .comp = C_GZIP };

	ck_assert_int_eq(pipe(pfd), 0);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			struct lc_err *err = NULL;
			struct lc_layer_ingest *in = NULL;
			struct lc_layer_desc d = { 0 };
			struct lc_store *s2 = NULL;
			char *tarp = tar_path("basic");
			size_t tl, bl;
			char *tar = slurp(tarp, &tl), *blob = compress_as(C_GZIP, tar, tl, &bl);
			char c = 'x';
			int r;

			/* its own store handle, like another process */
			if (lc_store_open(lc_store_root(st), &s2, &err) < 0)
				_exit(10);
			lc_sha256_buf(tar, tl, o.diff_id);
			lc_sha256_buf(blob, bl, o.digest);
			lc_chainid(NULL, o.diff_id, o.chainid);
			d.chainid = o.chainid;
			d.diff_id = o.diff_id;
			d.digest = o.digest;
			d.size = (int64_t)bl;
			if (i == 1) /* start after the first holds the lock */
				if (read(pfd[0], &c, 1) != 1)
					_exit(11);
			r = lc_store_layer_begin(s2, &d, &in, &err);
			if (i == 0) {
				if (write(pfd[1], &c, 1) != 1)
					_exit(12);
				usleep(300 * 1000); /* the other one is now waiting on the lock */
			}
			if (r == 1)
				_exit(1);
			if (r < 0)
				_exit(13);
			if (lc_store_layer_write(in, blob, bl, &err) < 0 ||
			    lc_store_layer_finish(in, &err) < 0) {
				lc_store_layer_abort(in);
				_exit(14);
			}
			if (lc_store_layer_commit(in, NULL, 0, &err) < 0)
				_exit(15);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(waitpid(pid[i], &status[i], 0), pid[i]);
	ck_assert(WIFEXITED(status[0]) && WIFEXITED(status[1]));
	ck_assert_int_eq(WEXITSTATUS(status[0]), 0); /* extracted */
	ck_assert_int_eq(WEXITSTATUS(status[1]), 1); /* waited, found it committed */
	/* dir, .json, .files, .tarsplit; with dedup .objects too */
	ck_assert_int_eq(count_entries("layers/sha256"), 4 + st->settings.dedup);
	assert_tmp_clean();
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

START_TEST(layer_abort_midway)
{
	struct lc_err *err = NULL;
	struct lc_layer_ingest *in = NULL;
	struct lc_layer_desc d;
	size_t tl;
	char dg[LC_DIGEST_BUFSZ];
	char *tar = plain_layer("big", &tl, dg, &d);

	ck_assert_int_eq(lc_store_layer_begin(st, &d, &in, &err), 0);
	ck_assert_int_eq(lc_store_layer_resumed(in), 0);
	ck_assert_ok(lc_store_layer_write(in, tar, tl / 2, &err), &err);
	lc_store_layer_abort(in);
	ck_assert_int_eq(count_entries("layers/sha256"), 0);
	/* only the bytes that arrived stay, in the blob's ingest file */
	assert_tmp_clean_but(true);
	ck_assert_int_eq(partial_size(dg), (long long)(tl / 2));
	/* a store opened anew (the sweep) keeps it: it is under a day old */
	{
		char *root = lc_xstrdup(lc_store_root(st));

		lc_store_close(st);
		ck_assert_ok(lc_store_open(root, &st, &err), &err);
		sfd = lc_store_rootfd(st);
		free(root);
	}
	ck_assert_int_eq(partial_size(dg), (long long)(tl / 2));
	/* the lock was released: a new ingest replays them and wants only the rest */
	ck_assert_int_eq(lc_store_layer_begin(st, &d, &in, &err), 0);
	ck_assert_int_eq(lc_store_layer_resumed(in), (int64_t)(tl / 2));
	ck_assert_ok(lc_store_layer_write(in, tar + tl / 2, tl - tl / 2, &err), &err);
	ck_assert_ok(lc_store_layer_finish(in, &err), &err);
	ck_assert_ok(lc_store_layer_commit(in, NULL, 0, &err), &err);
	ck_assert_int_eq(lc_store_layer_has(st, dg), 1);
	assert_tmp_clean(); /* the commit removed the ingest file */
	free(tar);
}
END_TEST

/*
 * A blob big enough for its ingest file to be written by direct I/O (two aligned 1 MiB
 * buffers, a thread): pieces of odd sizes, a kill-free abort at an unaligned offset, a resume
 * that starts inside a block, and the last byte that flushes the tail before finish.
 */
START_TEST(layer_resume_direct)
{
	struct lc_err *err = NULL;
	struct lc_layer_ingest *in = NULL;
	struct lc_layer_desc d;
	size_t tl, cut, at = 0;
	char dg[LC_DIGEST_BUFSZ];
	char *tar = plain_layer("big-8m", &tl, dg, &d);

	ck_assert_uint_gt(tl, LC_PARTIAL_DIRECT_MIN + (2u << 20));
	cut = LC_PARTIAL_DIRECT_MIN + 777777; /* past two full buffers, inside a block */
	ck_assert_int_eq(lc_store_layer_begin(st, &d, &in, &err), 0);
	for (size_t k = 100003; at < cut; at += k) {
		if (k > cut - at)
			k = cut - at;
		ck_assert_ok(lc_store_layer_write(in, tar + at, k, &err), &err);
	}
	lc_store_layer_abort(in);
	assert_partial_is(dg, tar, cut); /* what was buffered reached the file at the abort */
	ck_assert_int_eq(lc_store_layer_begin(st, &d, &in, &err), 0);
	ck_assert_int_eq(lc_store_layer_resumed(in), (int64_t)cut);
	for (size_t k = 65537; at < tl; at += k) {
		if (k > tl - at)
			k = tl - at;
		ck_assert_ok(lc_store_layer_write(in, tar + at, k, &err), &err);
	}
	assert_partial_is(dg, tar, tl); /* the last byte flushed the rest: never asked for again */
	ck_assert_ok(lc_store_layer_finish(in, &err), &err);
	ck_assert_ok(lc_store_layer_commit(in, NULL, 0, &err), &err);
	ck_assert_int_eq(lc_store_layer_has(st, dg), 1);
	assert_tmp_clean();
	free(tar);
}
END_TEST

/* LAYERCTL_RESUME_FILE=0 (the bench's comparison): a pull records nothing to resume from */
START_TEST(layer_resume_file_off)
{
	struct lc_err *err = NULL;
	struct lc_layer_ingest *in = NULL;
	struct lc_layer_desc d;
	size_t tl;
	char dg[LC_DIGEST_BUFSZ];
	char *tar = plain_layer("big-8m", &tl, dg, &d);

	setenv("LAYERCTL_RESUME_FILE", "0", 1);
	ck_assert_int_eq(lc_store_layer_begin(st, &d, &in, &err), 0);
	ck_assert_ok(lc_store_layer_write(in, tar, tl / 2, &err), &err);
	lc_store_layer_abort(in);
	unsetenv("LAYERCTL_RESUME_FILE");
	ck_assert_int_eq(partial_size(dg), -1);
	assert_tmp_clean();
	free(tar);
}
END_TEST

/* ---------- tmp sweeping, containers, fault injection ---------- */

START_TEST(open_sweeps_dead_debris_only)
{
	struct lc_err *err = NULL;
	struct lc_store *s2 = NULL;
	int tfd = openat(sfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC), live;
	struct stat sb;

	ck_assert_int_eq(mkdirat(tfd, "ingest-dead-1", 0700), 0);
	ck_assert_int_eq(mkdirat(tfd, "ingest-dead-1/layer", 0700), 0);
	ck_assert_int_eq(mkdirat(tfd, "ingest-live-1", 0700), 0);
	live = openat(tfd, "ingest-live-1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_eq(flock(live, LOCK_EX), 0);
	close(openat(tfd, "blob-dead", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	ck_assert_int_eq(mkdirat(tfd, "trash/old", 0700), 0);
	ck_assert_ok(lc_store_open(lc_store_root(st), &s2, &err), &err);
	ck_assert_int_eq(fstatat(tfd, "ingest-dead-1", &sb, 0), -1);
	ck_assert_int_eq(fstatat(tfd, "blob-dead", &sb, 0), -1);
	ck_assert_int_eq(fstatat(tfd, "trash/old", &sb, 0), -1);
	ck_assert_int_eq(fstatat(tfd, "ingest-live-1", &sb, 0), 0);
	ck_assert_int_eq(fstatat(tfd, "locks", &sb, 0), 0);
	lc_store_close(s2);
	close(live);
	close(tfd);
}
END_TEST

START_TEST(store_layout_private)
{
	struct stat sb;
	static const char *dirs[] = { "blobs/sha256", "layers/sha256", "l",	    "refs",
				      "containers",   "tmp",	       "tmp/locks", "tmp/trash" };
	char *d;

	ck_assert_int_eq(fstatat(sfd, "", &sb, AT_EMPTY_PATH), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0700);
	for (size_t i = 0; i < LC_ARRAY_SIZE(dirs); i++)
		ck_assert_msg(fstatat(sfd, dirs[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
				      S_ISDIR(sb.st_mode),
			      "missing %s", dirs[i]);
	ck_assert_str_eq(lc_store_root(st) + strlen(lc_store_root(st)) - 6, "/store");
	setenv("LAYERCTL_ROOT", "/x/y", 1);
	d = lc_store_default_root();
	ck_assert_str_eq(d, "/x/y");
	free(d);
}
END_TEST

/* A root another user could swap is refused, saying why; a sticky /tmp-like parent is fine. */
START_TEST(store_root_swappable_refused)
{
	static const struct {
		const char *dir;
		mode_t mode;
		uid_t uid;
		gid_t gid;
		uid_t root_uid;	 /* owner of <dir>/s, made beforehand when not 0 */
		const char *msg; /* about <dir> unless root_uid; NULL: accepted */
	} cases[] = {
		{ "pub", 0777, 0, 0, 0, "is writable by every user and not sticky" },
		{ "sticky", 01777, 0, 0, 0, NULL },
		{ "grp", 0770, 0, 4242, 0, "is writable by another group" },
		{ "mygrp", 0770, 0, 0, 0, NULL },
		{ "alice", 0755, 4242, 4242, 0, "is owned by another user" },
		{ "theirs", 0755, 0, 0, 4242, "is owned by uid 4242, not by you (uid 0)" },
	};
	char *base = unit_tmpdir();

	for (size_t i = 0; i < LC_ARRAY_SIZE(cases); i++) {
		char *dir = lc_xasprintf("%s/%s", base, cases[i].dir);
		char *root = lc_xasprintf("%s/s", dir);
		struct lc_store *s2 = NULL;
		struct lc_err *err = NULL;

		ck_assert_int_eq(mkdir(dir, 0700), 0);
		ck_assert_int_eq(chown(dir, cases[i].uid, cases[i].gid), 0);
		ck_assert_int_eq(chmod(dir, cases[i].mode), 0);
		if (cases[i].root_uid) {
			ck_assert_int_eq(mkdir(root, 0700), 0);
			ck_assert_int_eq(chown(root, cases[i].root_uid, 0), 0);
		}
		if (!cases[i].msg) {
			ck_assert_ok(lc_store_open(root, &s2, &err), &err);
			lc_store_close(s2);
		} else {
			char *want = cases[i].root_uid ? lc_xstrdup(cases[i].msg)
						       : lc_xasprintf("its parent '%s' %s", dir,
								      cases[i].msg);

			ck_assert_fail(lc_store_open(root, &s2, &err), &err, LC_ERR_UNSAFE);
			ck_assert_msg(strstr(err->msg, want), "%s: message '%s' lacks '%s'",
				      cases[i].dir, err->msg, want);
			ck_assert_ptr_nonnull(strstr(err->msg, "swap"));
			lc_err_free(err);
			free(want);
		}
		free(root);
		free(dir);
	}
	unit_tmpdir_free(base);
}
END_TEST

START_TEST(container_create_remove)
{
	struct lc_err *err = NULL;
	char *id = NULL, *dir = NULL;
	struct stat sb;
	char *p;

	ck_assert_ok(lc_store_container_create(st, &id, &dir, &err), &err);
	ck_assert_uint_eq(strlen(id), 64);
	p = lc_xasprintf("%s/upper", dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode, S_IFDIR | 0755);
	free(p);
	p = lc_xasprintf("%s/work", dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	free(p);
	p = lc_xasprintf("%s/upper/f", dir);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	free(p);
	ck_assert_ok(lc_store_container_remove(st, id, &err), &err);
	ck_assert_int_eq(stat(dir, &sb), -1);
	ck_assert_fail(lc_store_container_remove(st, id, &err), &err, LC_ERR_NOTFOUND);
	lc_err_free(err);
	err = NULL;
	ck_assert_fail(lc_store_container_remove(st, "../../etc", &err), &err, LC_ERR_INVALID);
	lc_err_free(err);
	assert_tmp_clean();
	free(id);
	free(dir);
}
END_TEST

/* root: mounts a tmpfs on merged/ */
/* A container's owner holds it; one whose owner died is stale, and only then removable. */
START_TEST(container_stale_only_when_owner_gone)
{
	struct lc_err *err = NULL;
	char *mine = NULL, *dir = NULL, **ids = NULL;
	char idbuf[2][65] = { { 0 } };
	int pfd[2], go[2], status;
	pid_t dead, live;

	ck_assert_ok(lc_store_container_create(st, &mine, &dir, &err), &err);
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(pipe(go), 0);
	/* one owner exits without cleaning up, another stays alive until told */
	for (int k = 0; k < 2; k++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct lc_store *cs = NULL;
			struct lc_err *cerr = NULL;
			char *cid = NULL, *cdir = NULL, c;

			if (lc_store_open(lc_store_root(st), &cs, &cerr) < 0 ||
			    lc_store_container_create(cs, &cid, &cdir, &cerr) < 0)
				_exit(1);
			if (write(pfd[1], cid, 64) != 64)
				_exit(1);
			if (k == 1 && read(go[0], &c, 1) < 0)
				_exit(1);
			_exit(0); /* no remove, no close: like a SIGKILLed layerctl */
		}
		ck_assert_int_eq(read(pfd[0], idbuf[k], 64), 64);
		if (k == 0) {
			dead = pid;
			ck_assert_int_eq(waitpid(dead, &status, 0), dead);
			ck_assert_int_eq(status, 0);
		} else {
			live = pid;
		}
	}
	ck_assert_ok(lc_store_container_list_stale(st, &ids, &err), &err);
	ck_assert_ptr_nonnull(ids[0]);
	ck_assert_str_eq(ids[0], idbuf[0]);
	ck_assert_ptr_null(ids[1]); /* not ours (owned), not the live one's */
	lc_strv_free(ids);
	ck_assert_fail(lc_store_container_remove(st, idbuf[1], &err), &err, LC_ERR_EXISTS);
	lc_err_free(err);
	err = NULL;
	ck_assert_ok(lc_store_container_remove(st, idbuf[0], &err), &err);
	/* the live owner exits: its container becomes stale too */
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(live, &status, 0), live);
	ck_assert_ok(lc_store_container_list_stale(st, &ids, &err), &err);
	ck_assert_str_eq(ids[0], idbuf[1]);
	ck_assert_ptr_null(ids[1]);
	lc_strv_free(ids);
	ck_assert_ok(lc_store_container_remove(st, idbuf[1], &err), &err);
	ck_assert_ok(lc_store_container_remove(st, mine, &err), &err);
	ck_assert_int_eq(count_entries("containers"), 0);
	assert_tmp_clean();
	close(pfd[0]);
	close(pfd[1]);
	close(go[0]);
	close(go[1]);
	free(mine);
	free(dir);
}
END_TEST

/*
 * Asking whether a container is in use holds its flock for an instant (ps, wait, a run's
 * sweep): a take at that moment waits it out, where an owner's hold makes it fail (EXISTS).
 */
START_TEST(container_take_outlasts_a_probe)
{
	struct lc_err *err = NULL;
	char *id = NULL, *dir = NULL;

	ck_assert_ok(lc_store_container_create(st, &id, &dir, &err), &err);
	lc_store_container_release(st, id);
	for (int hold_ms = 1; hold_ms <= 300; hold_ms += 299) {
		int ready[2], status;
		pid_t pid;
		char c;

		ck_assert_int_eq(pipe(ready), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 ||
			    write(ready[1], "x", 1) != 1)
				_exit(1);
			nanosleep(&(struct timespec){ .tv_nsec = hold_ms * 1000000L }, NULL);
			_exit(0);
		}
		ck_assert_int_eq(read(ready[0], &c, 1), 1);
		if (hold_ms < 20) {
			ck_assert_ok(lc_store_container_take(st, id, &err), &err);
			lc_store_container_release(st, id);
		} else {
			ck_assert_fail(lc_store_container_take(st, id, &err), &err, LC_ERR_EXISTS);
			lc_err_free(err);
			err = NULL;
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_int_eq(status, 0);
		close(ready[0]);
		close(ready[1]);
	}
	ck_assert_ok(lc_store_container_remove(st, id, &err), &err);
	free(id);
	free(dir);
}
END_TEST

START_TEST(container_remove_refuses_mounted)
{
	struct lc_err *err = NULL;
	char *id = NULL, *dir = NULL, *merged;
	struct stat sb;

	ck_assert_ok(lc_store_container_create(st, &id, &dir, &err), &err);
	merged = lc_xasprintf("%s/merged", dir);
	ck_assert_int_eq(mount("tmpfs", merged, "tmpfs", 0, "size=64k"), 0);
	ck_assert_fail(lc_store_container_remove(st, id, &err), &err, LC_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(err->msg, "mounted"));
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(umount(merged), 0);
	ck_assert_ok(lc_store_container_remove(st, id, &err), &err);
	free(merged);
	free(id);
	free(dir);
}
END_TEST

/* ---------- file-level dedup: the pool ---------- */

static const struct {
	int err_no; /* injected into the second layer's links of the pool's etc/hostname */
	bool shared, repooled;
} dedup_cases[] = {
	{ 0, true, false },	 /* the pool's copy is linked */
	{ EXDEV, false, false }, /* the pool elsewhere: a copy stays */
	{ EMLINK, false, true }, /* the pool's copy is full: ours replaces it in the pool */
	{ EPERM, false, false }, /* anything else: a copy stays */
};

/* a made-up image ID: 64 hex digits of c */
#define ID64(c) ID8(c) ID8(c) ID8(c) ID8(c) ID8(c) ID8(c) ID8(c) ID8(c)
#define ID8(c)	c c c c c c c c

static ino_t ino_at(int dfd, const char *path, nlink_t *nlink)
{
	struct stat sb;

	ck_assert_msg(fstatat(dfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0, "stat '%s'", path);
	if (nlink)
		*nlink = sb.st_nlink;
	return sb.st_ino;
}

START_TEST(layer_dedup_pool)
{
	static const char *pooled[] = { "etc/hostname", "bin/tool", "m/f", "owned" };
	struct lc_err *err = NULL;
	struct ing one = { .comp = C_GZIP }, two = { .comp = C_GZIP };
	char **problems = NULL;
	struct lc_usage *u = NULL;
	int fd1, fd2, ofd;
	nlink_t nl;
	char *p;

	st->settings.dedup = true;
	ck_assert_int_eq(ingest("basic", &one, &err), 0);
	/* the same tar on another parent: another layer, every file the same */
	two.parent = one.chainid;
	/* the Nth link is the same file's only when one thread links: no workers for that */
	if (dedup_cases[_i].err_no)
		setenv("LAYERCTL_EXTRACT_WORKERS", "0", 1);
	/*
	 * Its links, one thread: 1 the pool's etc/hostname at its name as it is written (failed:
	 * it keeps its copy), 2-4 the other three files' (linked); at commit 5 etc/hostname into
	 * the pool (EEXIST), 6 the pool's copy over it (failed: a copy stays; EMLINK: it
	 * replaces the pool's).
	 */
	if (dedup_cases[_i].err_no)
		lc_store_fault_arm_calls(LC_SYS_LINK, 6, 1u << 0, dedup_cases[_i].err_no);
	ck_assert_int_eq(ingest("basic", &two, &err), 0);
	lc_store_fault_disarm();
	ck_assert_ptr_null(err);
	fd1 = layer_dir(one.chainid);
	fd2 = layer_dir(two.chainid);
	ofd = openat(sfd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(ofd, 0);
	for (size_t k = 1; k < LC_ARRAY_SIZE(pooled); k++)
		ck_assert_msg(ino_at(fd1, pooled[k], NULL) == ino_at(fd2, pooled[k], NULL),
			      "'%s' is not shared", pooled[k]);
	/* a tar's hard link to a pooled file is the pool's inode too */
	ck_assert(ino_at(fd2, "bin/tool2", NULL) == ino_at(fd1, "bin/tool", &nl));
	ck_assert_int_eq(nl, 5); /* tool, tool2 in each layer, the pool */
	ck_assert_int_eq(ino_at(fd1, "bin/tool", NULL) == ino_at(fd2, "bin/tool", NULL), 1);
	ck_assert_int_eq(ino_at(fd1, "etc/hostname", NULL) == ino_at(fd2, "etc/hostname", NULL),
			 dedup_cases[_i].shared);
	ino_at(fd1, "etc/hostname", &nl);
	/* EMLINK: the second layer's copy is the pool's now; the first layer keeps the old */
	ck_assert_int_eq(nl, dedup_cases[_i].shared ? 3 : dedup_cases[_i].repooled ? 1 : 2);
	p = read_at(fd2, "etc/hostname");
	ck_assert_str_eq(p, "layerctl\n");
	free(p);
	/* the same metadata as without the pool */
	{
		struct stat sb;

		ck_assert_int_eq(fstatat(fd2, "bin/tool", &sb, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_int_eq(sb.st_mode, S_IFREG | 04755);
		ck_assert_int_eq(fstatat(fd2, "owned", &sb, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_int_eq(sb.st_uid, 1000);
		ck_assert_int_eq(sb.st_mtime, 1600000000);
	}
	/* both layers verify against their manifests; the pool verifies against its names */
	ck_assert_ok(lc_store_layer_verify(st, two.chainid, &problems, &err), &err);
	ck_assert_ptr_null(problems[0]);
	lc_strv_free(problems);
	/* du, an image on each layer: each shared inode once, shared by both images */
	{
		char *c1[] = { one.chainid }, *c2[] = { two.chainid };
		struct lc_usage_in in[] = {
			{ .id = "sha256:" ID64("a"), .chainids = c1, .n_layers = 1 },
			{ .id = "sha256:" ID64("b"), .chainids = c2, .n_layers = 1 },
		};

		ck_assert_ok(lc_store_usage(st, in, 2, &u, &err), &err);
	}
	ck_assert_int_eq(u->n_layers, 2);
	ck_assert_int_gt(u->layers[0].pooled, 0);
	ck_assert_int_eq(u->layers_saved, 0);
	ck_assert_int_eq(u->apart_bytes, u->layers[0].bytes + u->layers[1].bytes);
	ck_assert_int_eq(u->layers_bytes, u->apart_bytes - u->files_saved);
	/* what both link is shared; what one image alone holds is what removing it frees */
	ck_assert_int_eq(u->images[0].shared, u->images[1].shared);
	ck_assert_int_eq(u->images[0].unique + u->images[1].unique + u->images[0].shared,
			 u->layers_bytes);
	if (dedup_cases[_i].shared || dedup_cases[_i].repooled) {
		ck_assert_int_gt(u->files_saved, 0);
		ck_assert_int_gt(u->images[0].shared, 0);
	}
	lc_usage_free(u);
	/* the first layer goes: gc's sweep keeps every object the second one links */
	ck_assert_ok(lc_store_layer_remove(st, one.chainid, &err), &err);
	{
		DIR *d = fdopendir(dup(ofd));
		struct dirent *de;
		size_t n = 0;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)))
			if (de->d_name[0] != '.') {
				ino_at(ofd, de->d_name, &nl);
				ck_assert_int_ge(nl, 2);
				n++;
			}
		closedir(d);
		/* the second layer's four files; EXDEV/EPERM: its hostname never got in */
		ck_assert_uint_eq(n, dedup_cases[_i].shared || dedup_cases[_i].repooled ? 4 : 3);
	}
	close(fd1);
	close(fd2);
	close(ofd);
	assert_tmp_clean();
}
END_TEST

START_TEST(pool_verify_catches_a_changed_object)
{
	struct lc_err *err = NULL;
	struct ing one = { .comp = C_GZIP };
	struct lc_verify_result res = { 0 };
	int fd;

	st->settings.dedup = true;
	ck_assert_int_eq(ingest("basic", &one, &err), 0);
	fd = layer_dir(one.chainid);
	ck_assert_int_eq(fchmodat(fd, "m/f", 0600, 0), 0); /* the pool's inode */
	close(fd);
	ck_assert_ok(lc_store_verify(st, true, NULL, NULL, &res, &err), &err);
	/* the object (removed from the pool) and the layer (removed) */
	ck_assert_uint_ge(res.problems, 2);
	ck_assert_uint_ge(res.repaired, 2);
	ck_assert_int_eq(lc_store_layer_has(st, one.chainid), 0);
	/* a new pull of the layer gets a good copy, which verifies */
	ck_assert_int_eq(ingest("basic", &one, &err), 0);
	memset(&res, 0, sizeof(res));
	ck_assert_ok(lc_store_verify(st, false, NULL, NULL, &res, &err), &err);
	ck_assert_uint_eq(res.problems, 0);
}
END_TEST

/*
 * Two identical files in one layer, and a hard link to one: the commit's walk makes them one
 * inode, the pool's, and counts its bytes once, as GNU du of the layer dir does; the same for
 * files of more than 4 blocks, which it counts after the sync (lc_layer_manifest_settle). Each
 * object is listed once in the layer's .objects.
 */
START_TEST(layer_dedup_twins_count_once)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_GZIP };
	struct lc_layer_info *info = NULL;
	int64_t bytes = -1;
	nlink_t nl;
	int fd;

	st->settings.dedup = true;
	ck_assert_int_eq(ingest("twins", &o, &err), 0);
	fd = layer_dir(o.chainid);
	ck_assert(ino_at(fd, "a", &nl) == ino_at(fd, "d/b", NULL));
	ck_assert(ino_at(fd, "d/c", NULL) == ino_at(fd, "a", NULL));
	ck_assert_int_eq(nl, 4); /* a, d/b, d/c, the pool */
	ck_assert(ino_at(fd, "big", &nl) == ino_at(fd, "d/big", NULL));
	ck_assert(ino_at(fd, "d/big2", NULL) == ino_at(fd, "big", NULL));
	ck_assert_int_eq(nl, 4);
	ck_assert_ok(lc_store_tree_bytes_at(fd, ".", &bytes, &err), &err);
	ck_assert_ok(lc_store_layer_info(st, o.chainid, &info, &err), &err);
	ck_assert_int_eq(info->unpacked, bytes);
	lc_layer_info_free(info);
	close(fd);
	{
		struct lc_layer_object *v = NULL;
		size_t n = 0;
		int64_t sum = 0;
		struct stat sb;

		lc_layer_objects_load(st, o.chainid, &v, &n);
		ck_assert_uint_eq(n, 2);
		for (size_t k = 0; k < n; k++)
			sum += v[k].bytes;
		lc_layer_objects_free(v, n);
		fd = layer_dir(o.chainid);
		ck_assert_int_eq(fstatat(fd, "a", &sb, 0), 0);
		bytes = (int64_t)sb.st_blocks * 512;
		ck_assert_int_eq(fstatat(fd, "big", &sb, 0), 0);
		ck_assert_int_eq(sum, bytes + (int64_t)sb.st_blocks * 512);
		close(fd);
	}
}
END_TEST

/*
 * The commit shares a layer's files one name at a time: the two names of a file (a tar's hard
 * link) end up one inode, the pool's, whether the pool had that object (the first name is
 * replaced by its copy, then the second) or not (the first becomes the pool's copy, which the
 * second already is); the scratch name is left free either way.
 */
START_TEST(pool_share_keeps_a_layers_hard_links_one_inode)
{
	static const struct timespec mtime = { 1600000000, 5 };
	char key[LC_POOL_NAME_SZ], digest[LC_DIGEST_BUFSZ];
	struct stat sa, sb, sp;
	struct lc_pool pool;
	int lfd, scfd, other;
	bool had = _i == 1;

	ck_assert_int_eq(mkdirat(sfd, "tmp/l", 0700), 0);
	ck_assert_int_eq(mkdirat(sfd, "tmp/s", 0700), 0);
	lfd = openat(sfd, "tmp/l", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	scfd = openat(sfd, "tmp/s", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pool = (struct lc_pool){ .fd = openat(sfd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
				 .scratchfd = scfd,
				 .scratch = "pool-link" };
	ck_assert_int_ge(pool.fd, 0);
	lc_sha256_buf("same\n", 5, digest);
	lc_pool_name(key, digest, 0644, 0, 0, &mtime, NULL);
	for (int i = 0; i < 1 + had; i++) {
		/* "a" (and "other", the pool's copy from another layer, when the pool had it) */
		const char *name = i ? "other" : "a";
		int fd = openat(lfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "same\n", 5), 5);
		ck_assert_int_eq(futimens(fd, (struct timespec[]){ mtime, mtime }), 0);
		close(fd);
	}
	if (had)
		ck_assert_int_eq(linkat(lfd, "other", pool.fd, key, 0), 0);
	ck_assert_int_eq(linkat(lfd, "a", lfd, "b", 0), 0);
	/* as the walk does: each name's stat just before it is shared */
	ck_assert_int_eq(fstatat(lfd, "a", &sa, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(lc_pool_share(&pool, lfd, "a", &sa, key), had ? 2 : 1);
	ck_assert_int_eq(fstatat(lfd, "b", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(lc_pool_share(&pool, lfd, "b", &sb, key), had ? 2 : 1);
	ck_assert_int_eq(fstatat(pool.fd, key, &sp, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(fstatat(lfd, "a", &sa, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(fstatat(lfd, "b", &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(sa.st_ino == sp.st_ino && sb.st_ino == sp.st_ino);
	/* a, b, the pool's name, and other's when it was the pool's copy */
	ck_assert_int_eq(sp.st_nlink, had ? 4 : 3);
	other = fstatat(lfd, "other", &sp, AT_SYMLINK_NOFOLLOW);
	ck_assert_int_eq(other == 0 && sp.st_ino == sa.st_ino, had);
	ck_assert_int_eq(faccessat(scfd, "pool-link", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(pool.fd);
	close(scfd);
	close(lfd);
}
END_TEST

static const struct {
	enum lc_store_sys which;
	unsigned nth;
} faults[] = {
	{ LC_SYS_RENAME, 1 },			   /* the .json */
	{ LC_SYS_RENAME, 2 },			   /* the layer dir */
	{ LC_SYS_SYNC, 1 },   { LC_SYS_WRITE, 3 }, /* a file in the middle of the tar */
	{ LC_SYS_OPEN, 2 },
};

START_TEST(layer_fault_injection)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_GZIP };

	lc_store_fault_arm(faults[_i].which, faults[_i].nth, EIO);
	ck_assert_int_lt(ingest("basic", &o, &err), 0);
	lc_store_fault_disarm();
	ck_assert_ptr_nonnull(err);
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(lc_store_layer_has(st, o.chainid), 0);
	/* a commit that failed keeps the verified bytes in the ingest file, nothing else */
	assert_tmp_clean_but(true);
	/* and the store recovers: the next ingest works */
	ck_assert_int_eq(ingest("basic", &o, &err), 0);
	ck_assert_int_eq(lc_store_layer_has(st, o.chainid), 1);
	assert_tmp_clean();
}
END_TEST

START_TEST(blob_fault_injection)
{
	struct lc_err *err = NULL;
	char dg[LC_DIGEST_BUFSZ];

	lc_sha256_buf("a", 1, dg);
	lc_store_fault_arm(_i == 0 ? LC_SYS_WRITE : LC_SYS_RENAME, 1, ENOSPC);
	ck_assert_fail(lc_store_blob_put(st, dg, "a", 1, &err), &err, LC_ERR_SYS);
	lc_store_fault_disarm();
	lc_err_free(err);
	ck_assert_int_eq(lc_store_blob_has(st, dg), 0);
	assert_tmp_clean();
}
END_TEST

/* ---------- tar-split records (tarsplit.c) ---------- */

struct membuf {
	char *p;
	size_t n;
};

static int membuf_out(void *opaque, const void *buf, size_t len, struct lc_err **err)
{
	struct membuf *m = opaque;

	(void)err;
	m->p = lc_xrealloc(m->p, m->n + len + 1);
	memcpy(m->p + m->n, buf, len);
	m->n += len;
	return 0;
}

/* Every layer ingested gives back its tar byte for byte, plain or gzip, in uneven pieces. */
START_TEST(tarsplit_round_trip)
{
	static const char *const names[] = { "basic",	    "big",	    "whiteouts",
					     "wh-then-dir", "devices",	    "xattrs",
					     "upper-tmp",   "symlink-mode", "many-entries" };
	struct lc_err *err = NULL;

	for (size_t i = 0; i < LC_ARRAY_SIZE(names); i++)
		for (int c = 0; c < 2; c++) {
			struct ing o = { .comp = c ? C_GZIP : C_PLAIN };
			struct membuf m = { 0 };
			char *path = tar_path(names[i]);
			size_t tlen;
			char *tar = slurp(path, &tlen);
			uint64_t size = 0;

			ck_assert_ok(ingest(names[i], &o, &err), &err);
			ck_assert_ok(lc_store_layer_tar_size(st, o.chainid, &size, &err), &err);
			ck_assert_uint_eq(size, tlen);
			ck_assert_ok(
				lc_store_layer_tar(st, o.chainid, o.diff_id, membuf_out, &m, &err),
				&err);
			ck_assert_msg(m.n == tlen && !memcmp(m.p, tar, tlen),
				      "%s: %zu bytes, want %zu", names[i], m.n, tlen);
			ck_assert_ok(lc_store_layer_remove(st, o.chainid, &err), &err);
			free(m.p);
			free(tar);
			free(path);
		}
}
END_TEST

/* ---------- the maps that grow with a layer's entries (diskmap.c) ---------- */

static void key_of(unsigned i, unsigned char key[32])
{
	lc_sha256_bin(&i, sizeof(i), key);
}

/* Spilled to its file table by table: the newest value wins, absent keys stay absent. */
START_TEST(dmap_spills_in_whole_tables)
{
	struct lc_err *err = NULL;
	struct lc_dmap *m;
	unsigned char key[32];
	uint64_t v;
	struct stat sb;

	m = lc_dmap_new(sfd, "dmap-test", sizeof(v), 1024); /* 32 slots of 24 bytes: 24 a table */
	for (unsigned i = 0; i < 1000; i++) {
		v = i;
		key_of(i, key);
		ck_assert_int_eq(lc_dmap_put(m, key, &v, true, &err), 1);
	}
	ck_assert_uint_eq(lc_dmap_frozen(m), 41);
	ck_assert_int_eq(fstatat(sfd, "dmap-test", &sb, 0), 0);
	/* new values for old keys (frozen long ago), and a refused add */
	for (unsigned i = 0; i < 1000; i += 7) {
		v = i + 5000;
		key_of(i, key);
		ck_assert_int_eq(lc_dmap_put(m, key, &v, true, &err), 1);
		ck_assert_int_eq(lc_dmap_put(m, key, &v, false, &err), 0);
	}
	for (unsigned i = 0; i < 1100; i++) {
		key_of(i, key);
		v = 0;
		ck_assert_int_eq(lc_dmap_get(m, key, &v, &err), i < 1000);
		if (i < 1000)
			ck_assert_uint_eq(v, i % 7 ? i : i + 5000);
	}
	key_of(4242, key);
	ck_assert_int_eq(lc_dmap_put(m, key, &v, false, &err), 1);
	ck_assert_ptr_null(err);
	lc_dmap_free(m);
	ck_assert_int_eq(fstatat(sfd, "dmap-test", &sb, 0), -1); /* removed with the map */
	/* big enough in memory: no file at all */
	m = lc_dmap_new(sfd, "dmap-test", sizeof(v), 1 << 20);
	for (unsigned i = 0; i < 1000; i++) {
		key_of(i, key);
		ck_assert_int_eq(lc_dmap_put(m, key, &v, true, &err), 1);
	}
	ck_assert_uint_eq(lc_dmap_frozen(m), 0);
	ck_assert_int_eq(fstatat(sfd, "dmap-test", &sb, 0), -1);
	lc_dmap_free(m);
}
END_TEST

static void tar_add(char **buf, size_t *len, const char *name, char type, const char *data,
		    const char *link)
{
	size_t n = data ? strlen(data) : 0, pad = (512 - n % 512) % 512;
	char h[512];
	unsigned sum = 0;

	ck_assert_uint_lt(n, 512);
	ustar_header(h, name, type, n & 511);
	if (link) {
		snprintf(h + 157, 100, "%s", link);
		memset(h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (unsigned char)h[i];
		snprintf(h + 148, 8, "%06o", sum);
	}
	*buf = lc_xrealloc(*buf, *len + 512 + n + pad + 1024);
	memcpy(*buf + *len, h, 512);
	memcpy(*buf + *len + 512, data ? data : "", n);
	memset(*buf + *len + 512 + n, 0, pad + 1024); /* the end: two zero blocks */
	*len += 512 + n + pad;
}

/*
 * A layer of many files, duplicate contents, paths written twice and hard links to files far
 * back in the tar; with twice, paths written again (an uncompressed tar, its length and
 * diff_id).
 */
static char *many_files_tar(bool twice, size_t *ret_len, char diff_id[LC_DIGEST_BUFSZ])
{
	char *tar = NULL;
	size_t len = 0;

	tar_add(&tar, &len, "d/", '5', NULL, NULL);
	for (unsigned i = 0; i < 400; i++) {
		char name[64], data[64];

		snprintf(name, sizeof(name), "d/f%u", i);
		snprintf(data, sizeof(data), "content %u\n", i % 150); /* shared contents */
		tar_add(&tar, &len, name, '0', data, NULL);
	}
	for (unsigned i = 0; i < 60; i++) {
		char name[64], target[64];

		snprintf(name, sizeof(name), "h%u", i);
		snprintf(target, sizeof(target), "d/f%u", i * 3);
		tar_add(&tar, &len, name, '1', NULL, target);
	}
	tar_add(&tar, &len, "hh", '1', NULL, "h1"); /* a link to a link */
	tar_add(&tar, &len, "empty", '0', "", NULL);
	if (twice) {
		tar_add(&tar, &len, "d/f3", '0', "written again\n", NULL); /* h1 keeps the old */
		tar_add(&tar, &len, "d/f5", '2', NULL, "elsewhere"); /* a file becomes a symlink */
		tar_add(&tar, &len, "d/f6", '1', NULL, "d/f7");	     /* a file becomes a link */
	}
	*ret_len = len + 1024;
	lc_sha256_buf(tar, *ret_len, diff_id);
	return tar;
}

/*
 * Its manifest, objects list, tar-split record (none when a path is written twice) and metadata
 * (bytes on disk, each inode once) are the same whether the extractor's and the commit's maps stay in memory or go to their files
 * table by table.
 */
START_TEST(layer_records_same_when_maps_spill)
{
	struct lc_err *err = NULL;
	struct lc_layer_desc lim = { 0 };
	char *rec[2][4] = { { 0 } }, diff_id[LC_DIGEST_BUFSZ], chain[LC_DIGEST_BUFSZ];
	static const char *const sfx[] = { "files", "objects", "tarsplit", "json" };
	size_t len, rlen[2][4] = { { 0 } };
	char *tar = many_files_tar(_i, &len, diff_id);

	st->settings.dedup = true;
	lc_chainid(NULL, diff_id, chain);
	for (int pass = 0; pass < 2; pass++) {
		lc_dmap_mem_max_for_test(pass ? 512 : 0); /* 512: a few records a table */
		ck_assert_ok(ingest_blob(tar, len, diff_id, &lim, &err), &err);
		lc_dmap_mem_max_for_test(0);
		for (int k = 0; k < 4; k++) {
			char *p = lc_xasprintf("layers/sha256/%s.%s", lc_digest_hex(chain), sfx[k]);

			/* none for a tar that writes a path twice: absent both times then */
			if (lc_read_file_at(sfd, p, 1 << 20, &rec[pass][k], &rlen[pass][k], &err) <
			    0) {
				ck_assert_int_eq(err->code, LC_ERR_NOTFOUND);
				lc_err_free(err);
				err = NULL;
			}
			free(p);
		}
		assert_tmp_clean(); /* the maps' files went with the staging dir */
		ck_assert_ok(lc_store_layer_remove(st, chain, &err), &err);
	}
	for (int k = 0; k < 4; k++) {
		ck_assert_msg(!rec[0][k] == !rec[1][k] && rlen[0][k] == rlen[1][k] &&
				      (!rec[0][k] || !memcmp(rec[0][k], rec[1][k], rlen[0][k])),
			      "the .%s record differs", sfx[k]);
		free(rec[0][k]);
		free(rec[1][k]);
	}
	free(tar);
}
END_TEST

/* The maps' file failing (ENOSPC): the pull fails saying so, and leaves nothing. */
START_TEST(layer_map_file_fault)
{
	struct lc_err *err = NULL;
	struct lc_layer_desc lim = { 0 };
	char diff_id[LC_DIGEST_BUFSZ], chain[LC_DIGEST_BUFSZ];
	size_t len;
	char *tar = many_files_tar(true, &len, diff_id);
	int r;

	st->settings.dedup = true;
	lc_chainid(NULL, diff_id, chain);
	lc_dmap_mem_max_for_test(512);
	/* its create, its first write, a read */
	lc_store_fault_arm(LC_SYS_SCRATCH, (unsigned[]){ 1, 2, 40 }[_i], ENOSPC);
	r = ingest_blob(tar, len, diff_id, &lim, &err);
	lc_store_fault_disarm();
	lc_dmap_mem_max_for_test(0);
	ck_assert_int_lt(r, 0);
	ck_assert_msg(strstr(err->msg, "scratch table"), "%s", err->msg);
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(lc_store_layer_has(st, chain), 0);
	assert_tmp_clean_but(true);
	ck_assert_ok(ingest_blob(tar, len, diff_id, &lim, &err), &err);
	assert_tmp_clean();
	free(tar);
}
END_TEST

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* verify's problems, each on a line, sorted (the walk's order is the dir's) */
static char *verify_text(const char *chain, int mem_max, struct lc_err **err)
{
	char **problems = NULL, *text;
	int r;

	lc_dmap_mem_max_for_test((size_t)mem_max);
	r = lc_store_layer_verify(st, chain, &problems, err);
	lc_dmap_mem_max_for_test(0);
	assert_tmp_clean(); /* its maps' dir is gone, whatever the outcome */
	if (r < 0)
		return NULL;
	ck_assert_int_eq(r, 0);
	text = lc_xstrdup("");
	qsort(problems, lc_strv_len(problems), sizeof(char *), strp_cmp);
	for (size_t i = 0; problems[i]; i++) {
		char *t = lc_xasprintf("%s%s\n", text, problems[i]);

		free(text);
		text = t;
	}
	lc_strv_free(problems);
	return text;
}

/*
 * verify reads the manifest into a bounded map: with a few records a table in memory (the rest
 * frozen in files in tmp/), it finds what it finds with everything in memory, and leaves
 * nothing in tmp/ when it fails (the maps' file, the manifest).
 */
START_TEST(layer_verify_bounded)
{
	struct lc_err *err = NULL;
	struct lc_layer_desc lim = { 0 };
	char diff_id[LC_DIGEST_BUFSZ], chain[LC_DIGEST_BUFSZ];
	size_t len;
	char *tar = many_files_tar(false, &len, diff_id);
	char *dir, *files, *t0, *t1;
	int lfd;

	st->settings.dedup = true;
	lc_chainid(NULL, diff_id, chain);
	ck_assert_ok(ingest_blob(tar, len, diff_id, &lim, &err), &err);
	dir = lc_xasprintf("layers/sha256/%s", lc_digest_hex(chain));
	files = lc_xasprintf("%s.files", dir);
	lfd = openat(sfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(lfd, 0);
	t0 = verify_text(chain, 0, &err);
	ck_assert_ptr_nonnull(t0);
	ck_assert_str_eq(t0, "");
	free(t0);
	t1 = verify_text(chain, 512, &err);
	ck_assert_ptr_nonnull(t1);
	ck_assert_str_eq(t1, "");
	free(t1);
	/* a file gone, two more (one at the root), a mode: the same problems both ways */
	ck_assert_int_eq(unlinkat(lfd, "d/f10", 0), 0);
	ck_assert_int_eq(unlinkat(lfd, "d/f11", 0), 0);
	ck_assert_int_eq(unlinkat(lfd, "empty", 0), 0);
	ck_assert_int_eq(mkdirat(lfd, "new", 0755), 0);
	ck_assert_int_eq(fchmodat(lfd, "d", 0700, 0), 0);
	t0 = verify_text(chain, 0, &err);
	t1 = verify_text(chain, 512, &err);
	ck_assert_ptr_nonnull(t0);
	ck_assert_ptr_nonnull(t1);
	ck_assert_str_eq(t0, t1);
	ck_assert_str_eq(t0, "d/f10: missing\n"
			     "d/f11: missing\n"
			     "d: mode changed\n"
			     "empty: missing\n"
			     "new: not in the layer's manifest (added)\n");
	free(t0);
	free(t1);
	/* the maps' file cannot be written or read: verify fails saying so */
	for (unsigned nth = 1; nth <= 3; nth += 2) {
		lc_store_fault_arm(LC_SYS_SCRATCH, nth, ENOSPC);
		t1 = verify_text(chain, 512, &err);
		lc_store_fault_disarm();
		ck_assert_ptr_null(t1);
		ck_assert_msg(strstr(err->msg, "scratch table") &&
				      !strncmp(err->msg, "layer sha256:", 13),
			      "%s", err->msg);
		lc_err_free(err);
		err = NULL;
	}
	/* a manifest that does not parse: the error of old, nothing left */
	{
		static const struct {
			const char *tail, *msg;
		} bad[] = {
			{ "f 644 0 0 0 -\n", "manifest: bad line" },
			{ "f 644 0 0 0 - x", "manifest: truncated line" },
		};
		char *orig = NULL;
		size_t olen;

		ck_assert_ok(lc_read_file_at(sfd, files, 1 << 20, &orig, &olen, &err), &err);
		for (size_t i = 0; i < LC_ARRAY_SIZE(bad); i++) {
			char *text = lc_xasprintf("%s%s", orig, bad[i].tail);
			char *want = lc_xasprintf("layer %s: %s", chain, bad[i].msg);

			ck_assert_ok(
				lc_write_file_atomic_at(sfd, files, text, strlen(text), 0644, &err),
				&err);
			t1 = verify_text(chain, 512, &err);
			ck_assert_ptr_null(t1);
			ck_assert_str_eq(err->msg, want);
			lc_err_free(err);
			err = NULL;
			free(text);
			free(want);
		}
		/* a NUL where a line starts ends the manifest: the lines after it are not listed */
		{
			char *text = lc_xmalloc(olen + 32);

			memcpy(text, orig, olen);
			memcpy(text + olen, "\0d 755 0 0 0 - gone\n", 20);
			ck_assert_ok(
				lc_write_file_atomic_at(sfd, files, text, olen + 20, 0644, &err),
				&err);
			t1 = verify_text(chain, 512, &err);
			ck_assert_ptr_nonnull(t1);
			ck_assert_ptr_null(strstr(t1, "gone"));
			free(t1);
			free(text);
		}
		free(orig);
	}
	close(lfd);
	free(dir);
	free(files);
	free(tar);
}
END_TEST

static char *record_path(const char *chainid)
{
	return lc_xasprintf("layers/sha256/%s.tarsplit", lc_digest_hex(chainid));
}

/* A tar that replaces a file it wrote loses its record (not its layer): save says so. */
START_TEST(tarsplit_lost_on_replace)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_PLAIN };
	uint64_t size;

	ck_assert_ok(ingest("hardlink-overwrite", &o, &err), &err);
	ck_assert_fail(lc_store_layer_tar_size(st, o.chainid, &size, &err), &err, LC_ERR_NOTFOUND);
	ck_assert_msg(strstr(err->msg, "could not be written"), "%s", err->msg);
	lc_err_free(err);
}
END_TEST

/* A record that is damaged, unfinished, gone, or names a path out of the layer is refused. */
START_TEST(tarsplit_corrupt_refused)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_PLAIN };
	char *rp;
	int fd;
	struct stat sb;
	unsigned char b;
	uint64_t size;

	ck_assert_ok(ingest("basic", &o, &err), &err);
	rp = record_path(o.chainid);
	fd = openat(sfd, rp, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	/* a byte of the compressed operations flipped */
	ck_assert_int_eq(pread(fd, &b, 1, sb.st_size / 2), 1);
	b ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &b, 1, sb.st_size / 2), 1);
	ck_assert_int_lt(lc_store_layer_tar(st, o.chainid, o.diff_id, NULL, NULL, &err), 0);
	ck_assert_msg(err && (err->code == LC_ERR_PROTO || err->code == LC_ERR_DIGEST), "%s",
		      err ? err->msg : "no error");
	lc_err_free(err);
	err = NULL;
	/* truncated before its end */
	ck_assert_int_eq(ftruncate(fd, sb.st_size - 8), 0);
	ck_assert_fail(lc_store_layer_tar(st, o.chainid, o.diff_id, NULL, NULL, &err), &err,
		       LC_ERR_PROTO);
	lc_err_free(err);
	err = NULL;
	/* never finished: its length is all ones */
	ck_assert_int_eq(pwrite(fd, "\xff\xff\xff\xff\xff\xff\xff\xff", 8, 8), 8);
	ck_assert_fail(lc_store_layer_tar_size(st, o.chainid, &size, &err), &err, LC_ERR_PROTO);
	lc_err_free(err);
	err = NULL;
	/* not a record */
	ck_assert_int_eq(pwrite(fd, "garbage!", 8, 0), 8);
	ck_assert_fail(lc_store_layer_tar_size(st, o.chainid, &size, &err), &err, LC_ERR_PROTO);
	lc_err_free(err);
	err = NULL;
	/* a record naming a file out of the layer */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	{
		struct lc_tarsplit *t = lc_tarsplit_new(fd);
		static const char hdr[512];

		lc_tarsplit_feed(t, hdr, sizeof(hdr), 0);
		lc_tarsplit_file(t, 512, 6, "../../etc/passwd");
		lc_tarsplit_feed(t, "secret", 6, 512);
		ck_assert_ok(lc_tarsplit_finish(t, &err), &err);
		lc_tarsplit_free(t);
	}
	ck_assert_fail(lc_store_layer_tar(st, o.chainid, o.diff_id, NULL, NULL, &err), &err,
		       LC_ERR_PROTO);
	ck_assert_msg(strstr(err->msg, "leaves the layer"), "%s", err->msg);
	lc_err_free(err);
	err = NULL;
	/* a writer told of a file where the stream cannot be: the record is lost, not the layer */
	{
		struct lc_tarsplit *t;
		static const char hdr[512];

		ck_assert_int_eq(ftruncate(fd, 0), 0);
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		t = lc_tarsplit_new(fd);
		lc_tarsplit_feed(t, hdr, sizeof(hdr), 0);
		lc_tarsplit_file(t, 1024, 6, "x"); /* past what it was given */
		ck_assert_fail(lc_tarsplit_finish(t, &err), &err, LC_ERR_PROTO);
		lc_err_free(err);
		err = NULL;
		lc_tarsplit_free(t);
	}
	/* gone: a layer from before records, saying what to do */
	ck_assert_int_eq(unlinkat(sfd, rp, 0), 0);
	ck_assert_fail(lc_store_layer_tar_size(st, o.chainid, &size, &err), &err, LC_ERR_NOTFOUND);
	ck_assert_msg(strstr(err->msg, "pull them again"), "%s", err->msg);
	lc_err_free(err);
	close(fd);
	free(rp);
}
END_TEST

/* A file of the layer changed on disk: the rebuilt tar does not match, save is refused. */
START_TEST(tarsplit_changed_layer_refused)
{
	struct lc_err *err = NULL;
	struct ing o = { .comp = C_PLAIN };
	int lfd, fd;

	ck_assert_ok(ingest("basic", &o, &err), &err);
	lfd = layer_dir(o.chainid);
	fd = openat(lfd, "etc/hostname", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "L", 1, 0), 1); /* same size, other bytes */
	close(fd);
	ck_assert_fail(lc_store_layer_tar(st, o.chainid, o.diff_id, NULL, NULL, &err), &err,
		       LC_ERR_DIGEST);
	ck_assert_msg(strstr(err->msg, "changed on disk") && strstr(err->msg, o.chainid), "%s",
		      err->msg);
	lc_err_free(err);
	err = NULL;
	fd = openat(lfd, "etc/hostname", O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_eq(write(fd, "more", 4), 4); /* another size */
	close(fd);
	ck_assert_fail(lc_store_layer_tar(st, o.chainid, o.diff_id, NULL, NULL, &err), &err,
		       LC_ERR_DIGEST);
	ck_assert_msg(strstr(err->msg, "etc/hostname"), "%s", err->msg);
	lc_err_free(err);
	close(lfd);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("blobs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, blob_put_get_has);
	tcase_add_test(tc, blob_mismatch_writes_nothing);
	tcase_add_loop_test(tc, blob_invalid_digest_creates_nothing, 0, LC_ARRAY_SIZE(bad_digests));
	tcase_add_loop_test(tc, blob_fault_injection, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, manifest_and_index_parse);
	tcase_add_test(tc, docker_manifest_without_body_media_type);
	tcase_add_loop_test(tc, manifest_hostile, 0, LC_ARRAY_SIZE(bad_manifests));
	tcase_add_test(tc, manifest_too_many_layers);
	tcase_add_test(tc, manifest_deep_nesting);
	tcase_add_test(tc, image_config_parse);
	tcase_add_loop_test(tc, image_config_hostile, 0, LC_ARRAY_SIZE(bad_configs));
	tcase_add_test(tc, chainid_known_answer);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, refs_set_get_list_remove);
	tcase_add_test(tc, libarchive_missing_is_one_error);
	tcase_add_test(tc, open_sweeps_dead_debris_only);
	tcase_add_test(tc, store_layout_private);
	tcase_add_test(tc, container_create_remove);
	suite_add_tcase(s, tc);

	/* needs root: chown to other uids, mknod 0/0 whiteouts, trusted.* xattrs, mount */
	tc = tcase_create("layers");
	tcase_set_tags(tc, "root");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup_workers, teardown);
	tcase_add_loop_test(tc, layer_ingest_basic, 0, LC_ARRAY_SIZE(comps));
	tcase_add_loop_test(tc, layer_gzip_both_inflaters, 0, 2);
	tcase_add_loop_test(tc, layer_mismatch_leaves_nothing, 0, LC_ARRAY_SIZE(mismatches));
	tcase_add_loop_test(tc, layer_streams, 0, LC_ARRAY_SIZE(streams));
	tcase_add_test(tc, layer_tar_bomb_bounded);
	tcase_add_test(tc, store_root_swappable_refused);
	tcase_add_loop_test(tc, layer_hostile_tars, 0, LC_ARRAY_SIZE(hostile));
	tcase_add_loop_test(tc, layer_hostile_tars_without_openat2, 0, LC_ARRAY_SIZE(hostile));
	tcase_add_test(tc, layer_whiteouts_to_overlay);
	tcase_add_test(tc, layer_implicit_dirs_from_lower);
	tcase_add_test(tc, layer_implicit_dirs_stop_at_opaque);
	tcase_add_loop_test(tc, layer_modes_exact_whatever_the_umask, 0, LC_ARRAY_SIZE(umasks));
	tcase_add_test(tc, layer_entry_count_bounded);
	tcase_add_test(tc, layer_pax_record_bomb);
	tcase_add_test(tc, layer_ratio_guard);
	tcase_add_test(tc, layer_image_bound);
	tcase_add_test(tc, layer_concurrent_same_chainid);
	tcase_add_loop_test(tc, layer_dedup_pool, 0, LC_ARRAY_SIZE(dedup_cases));
	tcase_add_test(tc, pool_verify_catches_a_changed_object);
	tcase_add_loop_test(tc, pool_share_keeps_a_layers_hard_links_one_inode, 0, 2);
	tcase_add_test(tc, layer_dedup_twins_count_once);
	tcase_add_test(tc, layer_abort_midway);
	tcase_add_test(tc, layer_resume_direct);
	tcase_add_test(tc, layer_resume_file_off);
	tcase_add_test(tc, tarsplit_round_trip);
	tcase_add_test(tc, dmap_spills_in_whole_tables);
	tcase_add_loop_test(tc, layer_records_same_when_maps_spill, 0, 2);
	tcase_add_loop_test(tc, layer_map_file_fault, 0, 3);
	tcase_add_test(tc, layer_verify_bounded);
	tcase_add_test(tc, tarsplit_corrupt_refused);
	tcase_add_test(tc, tarsplit_lost_on_replace);
	tcase_add_test(tc, tarsplit_changed_layer_refused);
	tcase_add_loop_test(tc, layer_fault_injection, 0, LC_ARRAY_SIZE(faults));
	tcase_add_test(tc, container_take_outlasts_a_probe);
	tcase_add_test(tc, container_remove_refuses_mounted);
	tcase_add_test(tc, container_stale_only_when_owner_gone);
	suite_add_tcase(s, tc);

	/* the same layers, every file written by the reading thread (no extraction workers):
	 * the path a one-CPU machine takes, and what each worker's file must equal */
	tc = tcase_create("layers-serial");
	tcase_set_tags(tc, "root");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup_serial, teardown);
	tcase_add_loop_test(tc, layer_ingest_basic, 0, LC_ARRAY_SIZE(comps));
	tcase_add_loop_test(tc, layer_hostile_tars, 0, LC_ARRAY_SIZE(hostile));
	tcase_add_test(tc, layer_whiteouts_to_overlay);
	tcase_add_test(tc, layer_implicit_dirs_from_lower);
	tcase_add_loop_test(tc, layer_modes_exact_whatever_the_umask, 0, LC_ARRAY_SIZE(umasks));
	tcase_add_loop_test(tc, layer_dedup_pool, 0, LC_ARRAY_SIZE(dedup_cases));
	tcase_add_test(tc, tarsplit_round_trip);
	tcase_add_test(tc, tarsplit_lost_on_replace);
	tcase_add_loop_test(tc, layer_fault_injection, 0, LC_ARRAY_SIZE(faults));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	char tmpl[] = "/tmp/lc-unit-gen-XXXXXX";
	char *cmd;
	int rc;

	/* outside a test: no ck_assert here */
	if (!mkdtemp(tmpl))
		return EXIT_FAILURE;
	gen = lc_xstrdup(tmpl);
	cmd = lc_xasprintf("/usr/bin/python3 " SCRIPT " '%s/tars' '%s/canary'", gen, gen);
	if (access(SCRIPT, R_OK) != 0 || system(cmd) != 0) {
		fprintf(stderr, "check_store: cannot run %s (run from the repository root)\n",
			SCRIPT);
		return EXIT_FAILURE;
	}
	free(cmd);
	rc = unit_run(store_suite());
	cmd = lc_xasprintf("rm -rf '%s'", gen);
	if (system(cmd) != 0)
		rc = EXIT_FAILURE;
	free(cmd);
	free(gen);
	return rc;
}
