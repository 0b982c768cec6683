/* SPDX-License-Identifier: MIT */
/*
 * store: what a container records about itself (containers/<id>/config.json: the image it was
 * made from) and the list of containers. Creating, locking and removing them is in store.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "store-int.h"

#define CONFIG_FILE "config.json"
#define CONFIG_MAX  (1u << 20)

int lc_store_container_dirfd(struct lc_store *s, const char *id, struct lc_err **err)
{
	cleanup_free char *path = NULL;
	int fd;

	if (!lc_store_container_id_valid(id))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid container id '%.80s'",
				  id ? id : "");
	path = lc_xasprintf("containers/%s", id);
	fd = openat(s->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "container '%s'", id);
	return fd;
}

static json_t *config_load(int dfd, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len;

	if (lc_read_file_at(dfd, CONFIG_FILE, CONFIG_MAX, &buf, &len, err) < 0)
		return NULL;
	return lc_json_parse(buf, len, CONFIG_FILE, err);
}

int lc_store_container_config_write(struct lc_store *s, const struct lc_container_config *c,
				    struct lc_err **err)
{
	cleanup_close int dfd = lc_store_container_dirfd(s, c->id, err);
	json_auto_t *j = NULL;
	json_t *layers;
	cleanup_free char *txt = NULL;
	struct lc_err *e = NULL;
	char now[48];

	if (dfd < 0)
		return -1;
	for (size_t i = 0; i < c->n_layers; i++)
		if (lc_digest_check(c->layers[i], err) < 0)
			return lc_err_prefix(err, "container '%s'", c->id);
	if (c->image_id && lc_digest_check(c->image_id, err) < 0)
		return lc_err_prefix(err, "container '%s'", c->id);
	/* keep what others recorded in it; a missing or unreadable file starts afresh */
	j = config_load(dfd, &e);
	lc_err_free(e);
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	if (!c->created)
		lc_rfc3339_now(now, sizeof(now));
	layers = json_array();
	for (size_t i = 0; i < c->n_layers; i++)
		json_array_append_new(layers, json_string(c->layers[i]));
	json_object_set_new(j, "Id", json_string(c->id));
	json_object_set_new(j, "Name", json_string(c->name ? c->name : ""));
	json_object_set_new(j, "Image", json_string(c->image ? c->image : ""));
	json_object_set_new(j, "ImageID", json_string(c->image_id ? c->image_id : ""));
	json_object_set_new(j, "Layers", layers);
	json_object_set_new(j, "Created", json_string(c->created ? c->created : now));
	txt = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	if (!txt)
		return lc_err_set(err, LC_ERR_SYS, ENOMEM, "serialize container config");
	if (lc_store_container_write_at(s, c->id, dfd, CONFIG_FILE, txt, err) < 0)
		return lc_err_prefix(err, "container '%s'", c->id);
	return 0;
}

void lc_container_config_free(struct lc_container_config *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->name);
	free(c->image);
	free(c->image_id);
	lc_strv_free(c->layers);
	free(c->created);
	free(c);
}

static char *str_field(json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));

	return lc_xstrdup(v ? v : "");
}

int lc_store_container_config_read(struct lc_store *s, const char *id,
				   struct lc_container_config **ret, struct lc_err **err)
{
	cleanup_close int dfd = lc_store_container_dirfd(s, id, err);
	json_auto_t *j = NULL;
	struct lc_container_config *c;
	json_t *layers, *v;
	size_t i;

	if (dfd < 0)
		return -1;
	j = config_load(dfd, err);
	if (!j)
		return lc_err_prefix(err, "container '%s'", id);
	if (!json_is_object(j))
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "container '%s': " CONFIG_FILE " is not an object", id);
	layers = json_object_get(j, "Layers");
	if (layers && !json_is_array(layers))
		return lc_err_set(err, LC_ERR_PROTO, 0, "container '%s': Layers is not a list", id);
	json_array_foreach(layers, i, v)
	{
		if (!lc_digest_valid(json_string_value(v)))
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "container '%s': invalid layer in " CONFIG_FILE, id);
	}
	c = lc_xcalloc(1, sizeof(*c));
	c->id = lc_xstrdup(id);
	c->name = str_field(j, "Name");
	c->image = str_field(j, "Image");
	c->image_id = str_field(j, "ImageID");
	c->created = str_field(j, "Created");
	c->n_layers = json_array_size(layers);
	c->layers = lc_xcalloc(c->n_layers + 1, sizeof(char *));
	json_array_foreach(layers, i, v) c->layers[i] = lc_xstrdup(json_string_value(v));
	*ret = c;
	return 0;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lc_store_container_list(struct lc_store *s, char ***ret_ids, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	cleanup_strv char **ids = NULL;
	struct dirent *de;
	int dfd;

	dfd = openat(s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (!(d = lc_fdopendir(dfd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'containers'");
	while ((errno = 0, de = readdir(d)))
		if (lc_store_container_id_valid(de->d_name))
			lc_strv_push(&ids, de->d_name);
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read 'containers'");
	if (!ids)
		ids = lc_xcalloc(1, sizeof(char *));
	qsort(ids, lc_strv_len(ids), sizeof(char *), strp_cmp);
	*ret_ids = TAKE_PTR(ids);
	return 0;
}

int lc_store_container_in_use(struct lc_store *s, const char *id)
{
	cleanup_close int fd = -1;

	if (lc_store_container_owned(s, id))
		return 1;
	fd = lc_store_container_dirfd(s, id, NULL);
	if (fd < 0)
		return 0;
	/* a probe on our own open file: the lock goes with the fd */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 1 : 0;
	return 0;
}

int lc_store_container_trylock(struct lc_store *s, const char *id, struct lc_err **err)
{
	cleanup_close int fd = -1;

	if (lc_store_container_owned(s, id))
		return lc_err_set(err, LC_ERR_EXISTS, 0, "container '%s' is in use", id);
	fd = lc_store_container_dirfd(s, id, err);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return lc_err_set(err, errno == EWOULDBLOCK ? LC_ERR_EXISTS : LC_ERR_SYS, errno,
				  "container '%s' is in use", id);
	return TAKE_FD(fd);
}
