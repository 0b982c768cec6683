/* SPDX-License-Identifier: MIT */
/*
 * The plain driver of the fuzz targets: feeds each file named on the command line (a dir: each
 * file in it) to LLVMFuzzerTestOneInput once, so that make check replays every corpus without
 * a fuzzer runtime (built with gcc, plain or under ASan+UBSan). A crash is the test failing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long n_run;

static int run_file(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t have = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "fuzz-replay: open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	/* an exact-size copy, so that ASan sees a read past the input */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		abort();
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n <= 0) {
			fprintf(stderr, "fuzz-replay: read '%s': %s\n", path,
				n < 0 ? strerror(errno) : "short file");
			free(buf);
			close(fd);
			return -1;
		}
		have += (size_t)n;
	}
	close(fd);
	LLVMFuzzerTestOneInput(buf, have);
	free(buf);
	n_run++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	int n, fd, r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "fuzz-replay: '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(AT_FDCWD, path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = scandir(path, &names, NULL, alphasort);
	if (fd < 0 || n < 0) {
		fprintf(stderr, "fuzz-replay: read dir '%s': %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct stat fst;

		if (!r && fstatat(fd, names[i]->d_name, &fst, 0) == 0 && S_ISREG(fst.st_mode))
			r = run_file(fd, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i]) < 0)
			return 1;
	printf("%s: %lu inputs replayed\n", argc > 0 ? argv[0] : "fuzz-replay", n_run);
	return 0;
}
