/* SPDX-License-Identifier: MIT */
/*
 * store: a container's own small documents (its state, its launch spec) and its log file,
 * under containers/<id>/. What they say is cmd/'s business; here they are only kept whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "store-int.h"

/* only plain names of our own: no '/' or leading '.' can step out of the container's dir */
static bool doc_name_ok(const char *name)
{
	return name && *name && name[0] != '.' && !strchr(name, '/') && strlen(name) < 64;
}

/* The container's dir, opened for its document name (checked first); -1 with *err. */
static int doc_dir(struct lc_store *s, const char *id, const char *name, struct lc_err **err)
{
	if (!doc_name_ok(name))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid document name '%s'", name);
	return lc_store_container_dirfd(s, id, err);
}

int lc_store_container_doc_write(struct lc_store *s, const char *id, const char *name,
				 const char *text, struct lc_err **err)
{
	cleanup_close int dfd = doc_dir(s, id, name, err);

	if (dfd < 0)
		return -1;
	if (lc_store_container_write_at(s, id, dfd, name, text, err) < 0)
		return lc_err_prefix(err, "container '%.12s'", id);
	return 0;
}

int lc_store_container_doc_read(struct lc_store *s, const char *id, const char *name, size_t max,
				char **ret, struct lc_err **err)
{
	cleanup_close int dfd = doc_dir(s, id, name, err);

	if (dfd < 0)
		return -1;
	if (lc_read_file_at(dfd, name, max, ret, NULL, err) < 0) {
		if (*err && (*err)->sys_errno == ENOENT)
			(*err)->code = LC_ERR_NOTFOUND;
		return -1;
	}
	return 0;
}

int lc_store_container_lock_open(struct lc_store *s, const char *id, const char *name, bool create,
				 struct lc_err **err)
{
	cleanup_close int dfd = doc_dir(s, id, name, err);
	int fd;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "container '%.12s': open '%s'", id, name);
	return fd;
}

int lc_store_container_doc_remove(struct lc_store *s, const char *id, const char *name,
				  struct lc_err **err)
{
	cleanup_close int dfd = doc_dir(s, id, name, err);

	if (dfd < 0)
		return -1;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "container '%.12s': remove '%s'", id,
				  name);
	return 0;
}

int lc_store_container_log_open(struct lc_store *s, const char *id, bool append,
				struct lc_err **err)
{
	cleanup_close int dfd = lc_store_container_dirfd(s, id, err);
	int fd;

	if (dfd < 0)
		return -1;
	fd = append ? openat(dfd, "ctr.log", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			     0600)
		    : openat(dfd, "ctr.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "container '%.12s': log", id);
	return fd;
}
