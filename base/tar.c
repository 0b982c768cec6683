/* SPDX-License-Identifier: MIT */
/*
 * base: a tar header writer, for the archives `save` writes (the members that are not layers:
 * manifest.json, index.json, configs; a layer's own bytes come from its tar-split record).
 * POSIX ustar headers; a name longer than the ustar fields hold or a size of 8 GiB or more
 * goes in a PAX extended header ('x') before it, as Go's archive/tar and GNU tar do.
 */
#include <string.h>

#include "base.h"

#define BLOCK 512

/* octal, zero padded, NUL ended, into a field of n bytes (v must fit in n - 1 digits) */
static void octal(char *f, size_t n, uint64_t v)
{
	f[n - 1] = '\0';
	for (size_t i = n - 1; i-- > 0;) {
		f[i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static void ustar(unsigned char *b, const char *name, char type, unsigned mode, uint64_t size,
		  int64_t mtime)
{
	char *h = (char *)b;
	unsigned sum = 0;

	memset(b, 0, BLOCK);
	memcpy(h, name, strnlen(name, 100));
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, mtime > 0 && mtime < 077777777777ll ? (uint64_t)mtime : 0);
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	octal(h + 329, 8, 0);
	octal(h + 337, 8, 0);
	for (size_t i = 0; i < BLOCK; i++)
		sum += b[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
}

/* One PAX record "<len> key=value\n", its length counting itself. */
static size_t pax_record(char *out, size_t room, const char *key, const char *value)
{
	size_t body = 1 + strlen(key) + 1 + strlen(value) + 1, len = body, digits;

	for (;;) {
		char tmp[24];

		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	if (len <= room)
		snprintf(out, room, "%zu %s=%s\n", len, key, value);
	return len;
}

size_t lc_tar_header(unsigned char *out, const char *name, char type, unsigned mode, uint64_t size,
		     int64_t mtime)
{
	size_t nlen = strlen(name), at = 0;
	bool long_name = nlen > 100, big = size > 077777777777ull;

	if (nlen >= LC_TAR_NAME_MAX)
		return 0;
	if (long_name || big) {
		char pax[2 * BLOCK];
		char num[24];
		size_t n = 0;

		if (long_name)
			n += pax_record(pax + n, sizeof(pax) - n, "path", name);
		if (big) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
			n += pax_record(pax + n, sizeof(pax) - n, "size", num);
		}
		ustar(out, "PaxHeaders/x", 'x', 0644, n, mtime);
		memset(out + BLOCK, 0, 2 * BLOCK);
		memcpy(out + BLOCK, pax, n);
		at = BLOCK + (n + BLOCK - 1) / BLOCK * BLOCK;
	}
	ustar(out + at, name, type, mode, big ? 0 : size, mtime);
	return at + BLOCK;
}

size_t lc_tar_padding(uint64_t size)
{
	return (size_t)((BLOCK - size % BLOCK) % BLOCK);
}
