/* SPDX-License-Identifier: MIT */
/*
 * store: the pool of files shared between layers (objects/). When two layers hold the same
 * regular file (same content, mode, owner, mtime, extended attributes: what a hard link
 * shares), the store keeps one inode, linked from both layers and from objects/<name>, the name
 * being those attributes. Where the pool has a file already, the extractor links the pool's copy
 * (a worker's small file is then never written; one the reading thread wrote is replaced by
 * it). For the others it records what names their pool object, and the commit's walk of the
 * layer, which runs while syncfs writes the layer out, adds each to the pool or, when another
 * pull added the same meanwhile, replaces it with a link to the pool's copy. Those links and
 * renames are metadata only, done before the layer's rename into layers/ (the journal commits
 * them in that order): a crash leaves the layer invisible, or visible with each file the pool's
 * inode or its own identical copy.
 *
 * Why a shared inode is safe: overlayfs never writes to a lower layer. A container that writes
 * to, chmods or touches such a file gets a copy in its upper dir (copy-up; with index=off the
 * other links are not followed), and layerctl itself never opens a committed layer's file for
 * writing: the extractor creates every file with O_EXCL and replaces by unlink or rename.
 *
 * No lock: a name in objects/ is only a way to find the inode. gc removes objects whose link
 * count is 1 (no layer links them); if a pull links one between gc's stat and its unlink, the
 * pull's layer keeps the inode and only the pool forgets it (the next pull re-adds its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "store-int.h"

void lc_pool_name(char out[LC_POOL_NAME_SZ], const char *digest, mode_t mode, uid_t uid, gid_t gid,
		  const struct timespec *mtime, const char *xattrs_hex)
{
	const char *hex = strncmp(digest, "sha256:", 7) ? digest : digest + 7;

	snprintf(out, LC_POOL_NAME_SZ, "%s-%o-%u-%u-%lld.%09ld%s%.16s", hex,
		 (unsigned)(mode & 07777), (unsigned)uid, (unsigned)gid, (long long)mtime->tv_sec,
		 mtime->tv_nsec, xattrs_hex ? "-" : "", xattrs_hex ? xattrs_hex : "");
}

/* Parse a name back; false for anything else in objects/ (debris, a stranger's file). */
static bool pool_name_parse(const char *name, char hex[65], unsigned *mode, unsigned *uid,
			    unsigned *gid, long long *sec, long *nsec)
{
	int n = 0;

	if (strlen(name) < 64 + 10)
		return false;
	for (int i = 0; i < 64; i++) {
		char c = name[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		hex[i] = c;
	}
	hex[64] = '\0';
	if (sscanf(name + 64, "-%o-%u-%u-%lld.%ld%n", mode, uid, gid, sec, nsec, &n) != 5)
		return false;
	return name[64 + n] == '\0' || name[64 + n] == '-';
}

static int link_fail(void)
{
	return lc_store_sys_fail(LC_SYS_LINK);
}

int lc_pool_link_copy(const struct lc_pool *p, int dirfd, const char *name, const char *key,
		      bool replace)
{
	if (!replace)
		return link_fail() == 0 && linkat(p->fd, key, dirfd, name, 0) == 0;
	/* link its copy beside the layer, then over our file */
	if (link_fail() == 0 && linkat(p->fd, key, p->scratchfd, p->scratch, 0) == 0) {
		int e;

		if (renameat(p->scratchfd, p->scratch, dirfd, name) == 0)
			return 1;
		e = errno;
		unlinkat(p->scratchfd, p->scratch, 0);
		errno = e;
	}
	return 0;
}

int lc_pool_share(const struct lc_pool *p, int dirfd, const char *name, const struct stat *st,
		  const char *key)
{
	/*
	 * Another name of the same inode (a hard link in the layer) was shared first: when that
	 * made it the pool's copy, this one is too (a rename over it would change nothing).
	 */
	if (st->st_nlink > 1) {
		struct stat ps;

		if (fstatat(p->fd, key, &ps, AT_SYMLINK_NOFOLLOW) == 0 && ps.st_ino == st->st_ino &&
		    ps.st_dev == st->st_dev)
			return 1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		/* ours becomes the pool's copy: one syscall in the common case, a file no layer
		 * in the store has yet */
		if (link_fail() == 0 && linkat(dirfd, name, p->fd, key, 0) == 0)
			return 1;
		if (errno != EEXIST)
			return 0; /* EXDEV (a pool on another filesystem), EPERM...: a copy */
		/* the pool has it: its copy replaces ours */
		if (lc_pool_link_copy(p, dirfd, name, key, true))
			return 2;
		if (errno == EMLINK) {
			/* the pool's copy is full: ours, identical, takes its place for later
			 * layers (the layers linking the old one keep it) */
			if (linkat(dirfd, name, p->scratchfd, p->scratch, 0) < 0)
				return 0;
			if (renameat(p->scratchfd, p->scratch, p->fd, key) == 0)
				return 1;
			unlinkat(p->scratchfd, p->scratch, 0);
			return 0;
		}
		if (errno != ENOENT)
			return 0;
		/* gc removed it between our two links: add ours again */
	}
	return 0;
}

void lc_pool_sweep(struct lc_store *s, size_t *ret_n, int64_t *ret_bytes)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->objectsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* 1: only the pool links it; a dir or a stranger is not ours to judge */
		if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0) {
			if (ret_n)
				(*ret_n)++;
			if (ret_bytes)
				*ret_bytes += (int64_t)st.st_blocks * 512;
		}
	}
}

void lc_pool_verify(struct lc_store *s, bool remove, lc_pool_bad_fn bad, void *opaque)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->objectsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return;
	while ((de = readdir(d))) {
		char hex[65], got[LC_DIGEST_BUFSZ];
		unsigned mode, uid, gid;
		long long sec;
		long nsec;
		struct stat st;
		const char *what = NULL;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) ||
		    !pool_name_parse(de->d_name, hex, &mode, &uid, &gid, &sec, &nsec))
			what = "not a pool object";
		else if (lc_sha256_file_at(fd, de->d_name, got) < 0)
			what = "unreadable";
		else if (strcmp(got + 7, hex) != 0)
			what = "content changed";
		else if ((st.st_mode & 07777) != mode)
			what = "mode changed";
		else if (st.st_uid != uid || st.st_gid != gid)
			what = "owner changed";
		else if ((long long)st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec)
			what = "mtime changed";
		if (!what)
			continue;
		/* the pool forgets it (the next pull adds a good copy); the layers that link it
		 * report their own damage */
		bad(opaque, de->d_name, what, remove && unlinkat(fd, de->d_name, 0) == 0);
	}
}
