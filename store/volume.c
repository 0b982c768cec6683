/* SPDX-License-Identifier: MIT */
/*
 * store: named volumes, volumes/<name>/_data (docker's layout): plain directories that outlive
 * the containers which mount them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-int.h"

bool lc_store_volume_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	return n >= 2 && n <= 128 && strchr(alnum, name[0]) &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
		       n;
}

int lc_store_volume_path(struct lc_store *s, const char *name, bool create, char **ret,
			 struct lc_err **err)
{
	cleanup_free char *rel = NULL;
	struct stat st;

	if (!lc_store_volume_name_ok(name))
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"\"%s\" includes invalid characters for a local volume name, only "
			"\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
			name ? name : "");
	rel = lc_xasprintf("volumes/%s/_data", name);
	if (create && lc_mkdir_p_at(lc_store_rootfd(s), rel, 0755, err) < 0)
		return lc_err_prefix(err, "volume '%s'", name);
	if (fstatat(lc_store_rootfd(s), rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return lc_err_set(err, LC_ERR_NOTFOUND, 0, "no such volume: %s", name);
	*ret = lc_xasprintf("%s/%s", lc_store_root(s), rel);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lc_store_volume_list(struct lc_store *s, char ***ret, struct lc_err **err)
{
	char **v = lc_xcalloc(1, sizeof(char *));
	int fd = openat(lc_store_rootfd(s), "volumes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd < 0 && errno == ENOENT) {
		*ret = v;
		return 0;
	}
	if (!(d = lc_fdopendir(fd))) {
		int e = errno;

		lc_strv_free(v);
		return lc_err_set(err, LC_ERR_SYS, e, "list 'volumes'");
	}
	while ((de = readdir(d)))
		if (lc_store_volume_name_ok(de->d_name))
			lc_strv_push(&v, de->d_name);
	closedir(d);
	qsort(v, lc_strv_len(v), sizeof(char *), cmp_str);
	*ret = v;
	return 0;
}

int lc_store_volume_remove(struct lc_store *s, const char *name, struct lc_err **err)
{
	cleanup_free char *path = NULL;
	cleanup_close int vfd = -1;
	cleanup_close int trashfd = -1;
	char rnd[33];

	if (lc_store_volume_path(s, name, false, &path, err) < 0)
		return -1;
	vfd = openat(lc_store_rootfd(s), "volumes", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	trashfd = openat(lc_store_rootfd(s), "tmp/trash",
			 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0 || trashfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open store dirs");
	/* out of sight first, then deleted (a big tree goes through tmp/trash) */
	lc_random_hex(rnd, 32);
	if (renameat(vfd, name, trashfd, rnd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "move volume '%s' to trash", name);
	if (lc_rm_rf_at(trashfd, rnd, err) < 0)
		return lc_err_prefix(err, "remove volume '%s'", name);
	return 0;
}
