/* SPDX-License-Identifier: MIT */
/*
 * diff: what a container changed, read from its upper dir as `docker diff` shows it: an
 * overlay whiteout (a 0/0 character device) is a deletion (D), an opaque dir
 * (trusted.overlay.opaque=y) a change (C), any other entry a change when the image's layers
 * have that path, else an addition (A). The walk stays inside the upper dir (dir fds,
 * O_NOFOLLOW); the layers are asked without following any symlink of theirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store-int.h"

#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH	    0x08
#endif

struct diff_ctx {
	int *layers; /* the image's layer dirs, topmost first */
	size_t n_layers;
	struct lc_diff_entry *v;
	size_t n;
	size_t depth;
};

/* 1 when a layer holds rel (the topmost one that has it decides: a whiteout hides it) */
static int in_image(const struct diff_ctx *c, const char *rel)
{
	for (size_t i = 0; i < c->n_layers; i++) {
		struct {
			uint64_t flags, mode, resolve;
		} how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			  .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };
		cleanup_close int fd =
			(int)syscall(SYS_openat2, c->layers[i], rel, &how, sizeof(how));
		struct stat st;

		if (fd < 0)
			continue; /* missing here, or below a symlink of this layer's */
		if (fstat(fd, &st) < 0)
			continue;
		return !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	}
	return 0;
}

static void add(struct diff_ctx *c, char kind, const char *rel)
{
	c->v = lc_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n].kind = kind;
	c->v[c->n].path = lc_xasprintf("/%s", rel);
	c->n++;
}

static bool is_opaque(int fd)
{
	char v[2];
	ssize_t n = fgetxattr(fd, lc_ovl_opaque_xattr(), v, sizeof(v));

	return n == 1 && v[0] == 'y';
}

static int walk(struct diff_ctx *c, int dfd, const char *prefix, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (++c->depth > 4096)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "diff: directories nested too deep");
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "diff: list '/%s'", prefix);
	while ((de = readdir(d))) {
		cleanup_free char *rel = NULL;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rel = *prefix ? lc_xasprintf("%s/%s", prefix, de->d_name) : lc_xstrdup(de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "diff: stat '/%s'", rel);
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
			add(c, 'D', rel);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			cleanup_close int sub =
				openat(dirfd(d), de->d_name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				return lc_err_set(err, LC_ERR_SYS, errno, "diff: open '/%s'", rel);
			add(c, is_opaque(sub) || in_image(c, rel) ? 'C' : 'A', rel);
			if (walk(c, sub, rel, err) < 0)
				return -1;
			continue;
		}
		add(c, in_image(c, rel) ? 'C' : 'A', rel);
	}
	c->depth--;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct lc_diff_entry *)a)->path,
		      ((const struct lc_diff_entry *)b)->path);
}

void lc_diff_free(struct lc_diff_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

int lc_store_container_diff(struct lc_store *s, const char *id, char *const *layers,
			    struct lc_diff_entry **ret, size_t *ret_n, struct lc_err **err)
{
	cleanup_close int cfd = lc_store_container_dirfd(s, id, err);
	cleanup_close int upper = -1;
	struct diff_ctx c = { 0 };
	int r = -1;

	if (cfd < 0)
		return -1;
	upper = openat(cfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (upper < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "container '%.12s': its upper dir", id);
	c.n_layers = lc_strv_len(layers);
	c.layers = lc_xcalloc(c.n_layers ? c.n_layers : 1, sizeof(int));
	for (size_t i = 0; i < c.n_layers; i++) {
		cleanup_free char *p = NULL;

		if (!lc_digest_valid(layers[i])) {
			lc_err_set(err, LC_ERR_PROTO, 0, "container '%.12s': bad layer '%.80s'", id,
				   layers[i]);
			c.n_layers = i;
			goto out;
		}
		p = lc_xasprintf("layers/sha256/%s", lc_digest_hex(layers[i]));
		c.layers[i] = openat(lc_store_rootfd(s), p,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (c.layers[i] < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "layer %s", layers[i]);
			c.n_layers = i;
			goto out;
		}
	}
	if (walk(&c, upper, "", err) < 0)
		goto out;
	if (c.n) /* qsort of NULL is undefined, even for nothing */
		qsort(c.v, c.n, sizeof(*c.v), by_path);
	*ret = TAKE_PTR(c.v);
	*ret_n = c.n;
	r = 0;
out:
	for (size_t i = 0; i < c.n_layers; i++)
		close(c.layers[i]);
	free(c.layers);
	lc_diff_free(c.v, c.n);
	return r;
}
