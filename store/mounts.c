/* SPDX-License-Identifier: MIT */
/*
 * store: image mounts (`layerctl mount IMAGE DIR`): mounts/<sha256 of DIR>.json records which
 * image is mounted where, so that `unmount IMAGE` finds its dirs and gc keeps its layers while
 * the mount lives.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "store-int.h"

#define MOUNTS_DIR "mounts"
#define RECORD_MAX (1u << 20)

static char *record_name(const char *dir)
{
	char d[LC_DIGEST_BUFSZ];

	lc_sha256_buf(dir, strlen(dir), d);
	return lc_xasprintf("%s.json", lc_digest_hex(d));
}

static int mounts_dir(struct lc_store *s, bool create, struct lc_err **err)
{
	int fd;

	if (create && mkdirat(s->rootfd, MOUNTS_DIR, 0700) < 0 && errno != EEXIST)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '" MOUNTS_DIR "'");
	fd = openat(s->rootfd, MOUNTS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "open '" MOUNTS_DIR "'");
	return fd;
}

int lc_store_mount_add(struct lc_store *s, const struct lc_image_mount *m, struct lc_err **err)
{
	cleanup_close int fd = -1;
	cleanup_free char *name = NULL, *txt = NULL;
	json_auto_t *j = NULL;
	json_t *layers = json_array();

	if (!m->dir || m->dir[0] != '/') {
		json_decref(layers);
		return lc_err_set(err, LC_ERR_INVALID, 0, "mount dir must be an absolute path");
	}
	for (size_t i = 0; i < m->n_layers; i++)
		json_array_append_new(layers, json_string(m->layers[i]));
	j = json_pack("{s:s, s:s, s:s, s:o}", "Dir", m->dir, "Image", m->image ? m->image : "",
		      "ImageID", m->image_id ? m->image_id : "", "Layers", layers);
	txt = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;
	if (!txt)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "serialize mount record");
	fd = mounts_dir(s, true, err);
	if (fd < 0)
		return -1;
	name = record_name(m->dir);
	return lc_write_file_atomic_at(fd, name, txt, strlen(txt), 0600, err);
}

int lc_store_mount_remove(struct lc_store *s, const char *dir, struct lc_err **err)
{
	cleanup_close int fd = mounts_dir(s, false, NULL);
	cleanup_free char *name = record_name(dir);

	if (fd < 0 || unlinkat(fd, name, 0) < 0) {
		if (fd < 0 || errno == ENOENT)
			return lc_err_set(err, LC_ERR_NOTFOUND, 0, "'%s' is not an image mount",
					  dir);
		return lc_err_set(err, LC_ERR_SYS, errno, "remove mount record of '%s'", dir);
	}
	return 0;
}

void lc_image_mount_list_free(struct lc_image_mount *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].dir);
		free(v[i].image);
		free(v[i].image_id);
		lc_strv_free(v[i].layers);
	}
	free(v);
}

/* One record; unreadable ones are skipped (they name nothing we could keep anyway). */
static bool record_read(int fd, const char *name, struct lc_image_mount *m)
{
	cleanup_free char *buf = NULL;
	json_auto_t *j = NULL;
	json_t *layers, *v;
	size_t len, i;
	const char *dir;

	if (lc_read_file_at(fd, name, RECORD_MAX, &buf, &len, NULL) < 0 ||
	    !(j = lc_json_parse(buf, len, "mount record", NULL)))
		return false;
	dir = json_string_value(json_object_get(j, "Dir"));
	layers = json_object_get(j, "Layers");
	if (!dir || !json_is_array(layers))
		return false;
	json_array_foreach(layers, i, v) if (!lc_digest_valid(json_string_value(v))) return false;
	memset(m, 0, sizeof(*m));
	m->dir = lc_xstrdup(dir);
	m->image = lc_xstrdup(json_string_value(json_object_get(j, "Image")) ?: "");
	m->image_id = lc_xstrdup(json_string_value(json_object_get(j, "ImageID")) ?: "");
	m->n_layers = json_array_size(layers);
	m->layers = lc_xcalloc(m->n_layers + 1, sizeof(char *));
	json_array_foreach(layers, i, v) m->layers[i] = lc_xstrdup(json_string_value(v));
	return true;
}

int lc_store_mount_list(struct lc_store *s, struct lc_image_mount **ret, size_t *ret_n,
			struct lc_err **err)
{
	struct lc_err *e = NULL;
	cleanup_dir DIR *d = NULL;
	struct lc_image_mount *v = NULL;
	struct dirent *de;
	size_t n = 0;
	int fd = mounts_dir(s, false, &e);

	if (fd < 0) {
		if (e->code != LC_ERR_NOTFOUND)
			return lc_err_move(err, &e);
		lc_err_free(e);
		*ret = lc_xcalloc(1, sizeof(**ret));
		*ret_n = 0;
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return lc_err_set(err, LC_ERR_SYS, errno, "open '" MOUNTS_DIR "'");
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		v = lc_xrealloc(v, (n + 1) * sizeof(*v));
		if (record_read(fd, de->d_name, &v[n]))
			n++;
	}
	if (errno) {
		lc_image_mount_list_free(v, n);
		return lc_err_set(err, LC_ERR_SYS, errno, "read '" MOUNTS_DIR "'");
	}
	*ret = v ? v : lc_xcalloc(1, sizeof(*v));
	*ret_n = n;
	return 0;
}
