/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "unit.h"

START_TEST(err_prefix_builds_one_line)
{
	struct lc_err *err = NULL;

	ck_assert_int_eq(lc_err_set(&err, LC_ERR_SYS, ENOENT, "open '%s'", "x"), -1);
	lc_err_prefix(&err, "layer %s", "sha256:ab");
	lc_err_prefix(&err, "pull '%s'", "nginx");
	ck_assert_str_eq(err->msg,
			 "pull 'nginx': layer sha256:ab: open 'x': No such file or directory");
	ck_assert_int_eq(err->code, LC_ERR_SYS);
	ck_assert_int_eq(err->sys_errno, ENOENT);
	/* set once: a second set keeps the first error */
	lc_err_set(&err, LC_ERR_NET, 0, "other");
	ck_assert_int_eq(err->code, LC_ERR_SYS);
	lc_err_free(err);
}
END_TEST

START_TEST(limit_str_exact_binary_units)
{
	static const struct {
		uint64_t v;
		const char *s;
	} t[] = {
		{ 64ull << 30, "64 GiB" }, { 128u << 20, "128 MiB" }, { 1536, "1536 bytes" },
		{ 1000, "1000 bytes" },	   { 1, "1 bytes" },	      { 3u << 10, "3 KiB" },
	};
	char buf[32];

	for (size_t i = 0; i < LC_ARRAY_SIZE(t); i++) {
		lc_limit_str(t[i].v, buf, sizeof(buf));
		ck_assert_str_eq(buf, t[i].s);
	}
}
END_TEST

START_TEST(err_move_keeps_the_first)
{
	struct lc_err *to = NULL, *from = NULL;

	/* an empty target takes the error */
	lc_err_set(&from, LC_ERR_NET, 0, "first");
	ck_assert_int_eq(lc_err_move(&to, &from), -1);
	ck_assert_ptr_null(from);
	ck_assert_str_eq(to->msg, "first");
	/* a set target keeps its own: the later one is freed (ASan would see a leak) */
	lc_err_set(&from, LC_ERR_SYS, 0, "second");
	lc_err_move(&to, &from);
	ck_assert_ptr_null(from);
	ck_assert_str_eq(to->msg, "first");
	ck_assert_int_eq(to->code, LC_ERR_NET);
	lc_err_free(to);
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} sha_known[] = {
	{ "", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
};

START_TEST(sha256_known_answers)
{
	char out[LC_DIGEST_BUFSZ];

	lc_sha256_buf(sha_known[_i].in, strlen(sha_known[_i].in), out);
	ck_assert_str_eq(out, sha_known[_i].out);
	ck_assert(lc_digest_valid(out));
}
END_TEST

static const struct {
	const char *d;
	bool valid;
} digests[] = {
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true },
	{ "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false },
	{ "sha256:../../../../etc/passwd", false },
	{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", false },
	{ "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
	{ "md5:d41d8cd98f00b204e9800998ecf8427e", false },
	{ "", false },
	{ "sha256:", false },
};

START_TEST(digest_validation)
{
	struct lc_err *err = NULL;

	ck_assert_int_eq(lc_digest_valid(digests[_i].d), digests[_i].valid);
	if (digests[_i].valid) {
		ck_assert_ok(lc_digest_check(digests[_i].d, &err), &err);
	} else {
		ck_assert_fail(lc_digest_check(digests[_i].d, &err), &err, LC_ERR_PROTO);
		lc_err_free(err);
	}
}
END_TEST

START_TEST(files_atomic_read_limit_rmrf)
{
	char *dir = unit_tmpdir();
	struct lc_err *err = NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_ge(dfd, 0);
	ck_assert_ok(lc_write_file_atomic_at(dfd, "f", "hello", 5, 0644, &err), &err);
	ck_assert_ok(lc_read_file_at(dfd, "f", 5, &buf, &len, &err), &err);
	ck_assert_str_eq(buf, "hello");
	free(buf);
	ck_assert_fail(lc_read_file_at(dfd, "f", 4, &buf, &len, &err), &err, LC_ERR_LIMIT);
	lc_err_free(err);
	err = NULL;
	/* rm -rf must not follow a symlink out of the tree */
	ck_assert_ok(lc_mkdir_p_at(dfd, "a/b/c", 0755, &err), &err);
	ck_assert_ok(lc_mkdir_p_at(dfd, "outside", 0755, &err), &err);
	ck_assert_ok(lc_write_file_atomic_at(dfd, "outside/keep", "x", 1, 0644, &err), &err);
	ck_assert_int_eq(symlinkat("../../outside", dfd, "a/b/link"), 0);
	ck_assert_ok(lc_rm_rf_at(dfd, "a", &err), &err);
	ck_assert_int_eq(faccessat(dfd, "a", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	ck_assert_int_eq(faccessat(dfd, "outside/keep", F_OK, 0), 0);
	/* an empty dir goes too (rmdir first, no walk), a mode-000 one as well */
	ck_assert_int_eq(mkdirat(dfd, "empty", 0), 0);
	ck_assert_ok(lc_rm_rf_at(dfd, "empty", &err), &err);
	ck_assert_int_eq(faccessat(dfd, "empty", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	/* replace: the same atomic rename, without the fsync */
	ck_assert_ok(lc_write_file_replace_at(dfd, "f", "bye", 3, 0600, &err), &err);
	ck_assert_ok(lc_read_file_at(dfd, "f", 5, &buf, &len, &err), &err);
	ck_assert_str_eq(buf, "bye");
	free(buf);
	/* mkdir -p refuses to walk through a symlink */
	ck_assert_int_eq(symlinkat("outside", dfd, "sl"), 0);
	ck_assert_fail(lc_mkdir_p_at(dfd, "sl/x", 0755, &err), &err, LC_ERR_UNSAFE);
	lc_err_free(err);
	close(dfd);
	unit_tmpdir_free(dir);
}
END_TEST

START_TEST(human_size_like_docker)
{
	char b[32];

	lc_human_size(0, b, sizeof(b));
	ck_assert_str_eq(b, "0B");
	lc_human_size(1500, b, sizeof(b));
	ck_assert_str_eq(b, "1.5kB");
	lc_human_size(187654321, b, sizeof(b));
	ck_assert_str_eq(b, "187.7MB");
}
END_TEST

static const struct {
	const char *in, *out;
} escapes[] = {
	{ "plain 'ref' \\ ok", "plain 'ref' \\ ok" },
	{ "two\nlines\r\t", "two\\nlines\\r\\t" },
	{ "\x1b[2J\x07\x7f", "\\x1b[2J\\x07\\x7f" },
	{ "c1 \xc2\x9b"
	  "2J utf8 \xc3\xa9",
	  "c1 \\u009b2J utf8 \xc3\xa9" },
	{ "lone \x9b", "lone \\x9b" },
	{ "", "" },
};

START_TEST(escape_ctl_table)
{
	cleanup_free char *got = lc_escape_ctl(escapes[_i].in);

	ck_assert_str_eq(got, escapes[_i].out);
}
END_TEST

static unsigned long field_octal(const unsigned char *f, size_t n)
{
	char buf[16] = { 0 };

	memcpy(buf, f, n < sizeof(buf) - 1 ? n : sizeof(buf) - 1);
	return strtoul(buf, NULL, 8);
}

static void assert_checksum(const unsigned char *h)
{
	unsigned sum = 0;

	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	ck_assert_uint_eq(field_octal(h + 148, 7), sum);
}

/* save's tar headers: ustar fields, checksum, PAX for long names and sizes of 8 GiB and more */
START_TEST(tar_header_writer)
{
	unsigned char h[LC_TAR_HEADER_MAX];
	char name[300];
	size_t n = lc_tar_header(h, "blobs/sha256/abc", '0', 0644, 1234567, 0);

	ck_assert_uint_eq(n, 512);
	ck_assert_str_eq((char *)h, "blobs/sha256/abc");
	ck_assert_uint_eq(field_octal(h + 124, 12), 1234567);
	ck_assert_uint_eq(field_octal(h + 100, 8), 0644);
	ck_assert_int_eq(h[156], '0');
	ck_assert_mem_eq(h + 257,
			 "ustar\0"
			 "00",
			 8);
	assert_checksum(h);
	ck_assert_uint_eq(lc_tar_padding(1234567), 512 - 1234567 % 512);
	ck_assert_uint_eq(lc_tar_padding(1024), 0);
	ck_assert_uint_eq(lc_tar_padding(0), 0);
	/* a directory */
	n = lc_tar_header(h, "blobs/", '5', 0755, 0, 0);
	ck_assert_uint_eq(n, 512);
	ck_assert_int_eq(h[156], '5');
	assert_checksum(h);
	/* 8 GiB: a PAX size record, the ustar field 0 */
	n = lc_tar_header(h, "big", '0', 0644, 8ull << 30, 0);
	ck_assert_uint_eq(n, 1536);
	ck_assert_int_eq(h[156], 'x');
	assert_checksum(h);
	ck_assert_str_eq((char *)h + 512, "19 size=8589934592\n");
	ck_assert_uint_eq(field_octal(h + 124, 12), 19);
	ck_assert_str_eq((char *)h + 1024, "big");
	ck_assert_uint_eq(field_octal(h + 1024 + 124, 12), 0);
	assert_checksum(h + 1024);
	/* just under: ustar alone */
	ck_assert_uint_eq(lc_tar_header(h, "big", '0', 0644, (8ull << 30) - 1, 0), 512);
	ck_assert_uint_eq(field_octal(h + 124, 12), (8ull << 30) - 1);
	/* a name over 100 bytes: a PAX path record whose length counts its own digits */
	memset(name, 'n', 150);
	name[150] = '\0';
	n = lc_tar_header(h, name, '0', 0644, 1, 0);
	ck_assert_uint_eq(n, 1536);
	ck_assert_uint_eq(field_octal(h + 1024 + 124, 12), 1);
	assert_checksum(h + 1024);
	ck_assert_uint_eq(field_octal(h + 124, 12), 160);
	ck_assert_mem_eq(h + 512, "160 path=nnn", 12);
	ck_assert_int_eq(h[512 + 159], '\n');
	ck_assert_int_eq(h[512 + 160], 0);
	assert_checksum(h);
	/* too long */
	memset(name, 'n', 299);
	name[299] = '\0';
	ck_assert_uint_eq(lc_tar_header(h, name, '0', 0644, 1, 0), 0);
}
END_TEST

/* lc_fdopendir owns the fd either way: a listing, or NULL with the cause and the fd closed */
START_TEST(fdopendir_takes_the_fd)
{
	char *dir = unit_tmpdir();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ffd;
	DIR *d;

	ck_assert_int_ge(dfd, 0);
	errno = 0;
	ck_assert_ptr_null(lc_fdopendir(-1));
	ck_assert_int_eq(errno, 0); /* a failed openat's errno is left as it was */
	ffd = openat(dfd, "file", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(ffd, 0);
	ck_assert_ptr_null(lc_fdopendir(ffd));
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_int_eq(fcntl(ffd, F_GETFD), -1); /* closed */
	ck_assert_int_eq(errno, EBADF);
	d = lc_fdopendir(dfd);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dirfd(d), dfd);
	closedir(d);
	unit_tmpdir_free(dir);
}
END_TEST

/* lc_pwrite_all: bytes at an offset past the end (a hole before them), the file's offset
 * untouched; a pipe (no pwrite there) is -1 with the kernel's errno */
START_TEST(pwrite_all_at_offset)
{
	char *dir = unit_tmpdir();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, p[2];
	char buf[16] = { 0 };
	struct stat sb;

	ck_assert_int_ge(dfd, 0);
	fd = openat(dfd, "f", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lc_pwrite_all(fd, "abc", 3, 8), 0);
	ck_assert_int_eq(lc_pwrite_all(fd, "xy", 2, 1), 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, 11);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), 11);
	ck_assert_int_eq(memcmp(buf, "\0xy\0\0\0\0\0abc", 11), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	errno = 0;
	ck_assert_int_eq(lc_pwrite_all(p[1], "a", 1, 0), -1);
	ck_assert_int_eq(errno, ESPIPE);
	close(p[0]);
	close(p[1]);
	close(fd);
	close(dfd);
	unit_tmpdir_free(dir);
}
END_TEST

static Suite *base_suite(void)
{
	Suite *s = suite_create("base");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, err_prefix_builds_one_line);
	tcase_add_test(tc, err_move_keeps_the_first);
	tcase_add_test(tc, limit_str_exact_binary_units);
	tcase_add_loop_test(tc, sha256_known_answers, 0, LC_ARRAY_SIZE(sha_known));
	tcase_add_loop_test(tc, digest_validation, 0, LC_ARRAY_SIZE(digests));
	tcase_add_test(tc, files_atomic_read_limit_rmrf);
	tcase_add_test(tc, human_size_like_docker);
	tcase_add_test(tc, tar_header_writer);
	tcase_add_test(tc, fdopendir_takes_the_fd);
	tcase_add_test(tc, pwrite_all_at_offset);
	tcase_add_loop_test(tc, escape_ctl_table, 0, LC_ARRAY_SIZE(escapes));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(base_suite());
}
