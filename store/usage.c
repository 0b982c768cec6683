/* SPDX-License-Identifier: MIT */
/*
 * store: usage accounting (du). A layer's size is what its .json recorded when it was committed
 * (st_blocks of every inode once, lc_store_tree_bytes_at): du reads metadata, never a layer's
 * tree. The files a layer shares through the pool (dedup) are listed with their bytes in its
 * .objects, so the store's total counts each shared inode once, as GNU du does. Containers'
 * upper dirs are walked, they are small.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "store-int.h"

/* A layer commit's set of inodes seen (its pool's files have two links or more), in memory. */
#define SEEN_MEM (2u << 20)

/* Deeper than any path a layer can hold (PATH_MAX, two bytes a level). */
#define WALK_MAX_DEPTH 2048

/* ---------- the tree walk ---------- */

/* Inodes with more than one link, seen once: open addressing on (dev, ino). */
struct ino_set {
	struct ino_key {
		dev_t dev;
		ino_t ino;
	} * v;
	size_t n, cap;
};

static size_t ino_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* true if (dev, ino) was new */
static bool ino_add(struct ino_set *set, dev_t dev, ino_t ino)
{
	size_t i;

	if ((set->n + 1) * 2 > set->cap) {
		struct ino_set bigger = { .cap = set->cap ? set->cap * 2 : 256 };

		bigger.v = lc_xcalloc(bigger.cap, sizeof(*bigger.v));
		for (i = 0; i < set->cap; i++)
			if (set->v[i].ino)
				ino_add(&bigger, set->v[i].dev, set->v[i].ino);
		free(set->v);
		*set = bigger;
	}
	for (i = ino_hash(dev, ino, set->cap); set->v[i].ino; i = (i + 1) & (set->cap - 1))
		if (set->v[i].ino == ino && set->v[i].dev == dev)
			return false;
	set->v[i].dev = dev;
	set->v[i].ino = ino;
	set->n++;
	return true;
}

struct walk {
	dev_t dev;
	struct ino_set seen;
	struct lc_dmap *seen_map; /* instead of seen, bounded: a layer's commit (SEEN_MEM) */
	int64_t bytes;
	lc_tree_fn fn;
	void *opaque;
	char path[2 * 4096 + 256]; /* relative to the walk's root */
	size_t len;
};

/* Add an entry's bytes on disk: hard links (and, with dedup, the pool's files) count once. */
static int count_bytes(struct walk *w, const struct stat *st, struct lc_err **err)
{
	if (S_ISDIR(st->st_mode) || st->st_nlink <= 1) {
		w->bytes += (int64_t)st->st_blocks * 512;
	} else if (w->seen_map) {
		struct ino_key k = { st->st_dev, st->st_ino };
		unsigned char key[32];
		int added;

		lc_sha256_bin(&k, sizeof(k), key);
		added = lc_dmap_put(w->seen_map, key, NULL, false, err);
		if (added < 0)
			return -1;
		if (added)
			w->bytes += (int64_t)st->st_blocks * 512;
	} else if (ino_add(&w->seen, st->st_dev, st->st_ino)) {
		w->bytes += (int64_t)st->st_blocks * 512;
	}
	return 0;
}

static int walk_at(struct walk *w, int dirfd, const char *name, unsigned depth, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	size_t saved = w->len, nlen = strlen(name);
	int fd, r = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0; /* removed while we walked (a running container) */
		return lc_err_set(err, LC_ERR_SYS, errno, "stat '%s'", name);
	}
	if (st.st_dev != w->dev)
		return 0; /* a mount point: another filesystem's bytes */
	if (depth > 0) {
		if (w->len + nlen + 2 > sizeof(w->path))
			return lc_err_set(err, LC_ERR_LIMIT, 0, "path too long below '%s'",
					  w->path);
		if (w->len)
			w->path[w->len++] = '/';
		memcpy(w->path + w->len, name, nlen + 1);
		w->len += nlen;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* what fn leaves there is what counts (the commit may link the pool's copy) */
		if (w->fn)
			r = w->fn(w->opaque, dirfd, name, w->path, &st, -1);
		if (r == 0)
			r = count_bytes(w, &st, err);
		else if (r > 0)
			r = 0; /* fn counts it itself, later */
		goto out;
	}
	if ((r = count_bytes(w, &st, err)) < 0)
		goto out;
	if (depth >= WALK_MAX_DEPTH) {
		r = lc_err_set(err, LC_ERR_LIMIT, 0, "'%s': more than %d levels of dirs", name,
			       WALK_MAX_DEPTH);
		goto out;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			r = lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", name);
		goto out;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		r = lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", name);
		goto out;
	}
	if (w->fn && (r = w->fn(w->opaque, dirfd, name, w->path, &st, fd)) < 0)
		goto out;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((r = walk_at(w, fd, de->d_name, depth + 1, err)) < 0)
			goto out;
	}
	if (errno)
		r = lc_err_set(err, LC_ERR_SYS, errno, "read '%s'", name);
out:
	w->len = saved;
	w->path[saved] = '\0';
	return r;
}

int lc_store_tree_walk_at(int dirfd, const char *name, lc_tree_fn fn, void *opaque,
			  int64_t *ret_bytes, struct lc_err **err)
{
	return lc_store_tree_walk_scratch_at(dirfd, name, -1, fn, opaque, ret_bytes, err);
}

int lc_store_tree_walk_scratch_at(int dirfd, const char *name, int scratchfd, lc_tree_fn fn,
				  void *opaque, int64_t *ret_bytes, struct lc_err **err)
{
	struct walk *w = lc_xcalloc(1, sizeof(*w));
	struct stat st;
	int r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		free(w);
		return lc_err_set(err, errno == ENOENT ? LC_ERR_NOTFOUND : LC_ERR_SYS, errno,
				  "stat '%s'", name);
	}
	w->dev = st.st_dev;
	if (scratchfd >= 0)
		w->seen_map = lc_dmap_new(scratchfd, "inodes-seen", 0, SEEN_MEM);
	w->fn = fn;
	w->opaque = opaque;
	r = walk_at(w, dirfd, name, 0, err);
	if (r == 0 && ret_bytes)
		*ret_bytes = w->bytes;
	free(w->seen.v);
	lc_dmap_free(w->seen_map);
	free(w);
	return r < 0 ? -1 : 0;
}

int lc_store_tree_bytes_at(int dirfd, const char *name, int64_t *ret, struct lc_err **err)
{
	return lc_store_tree_walk_at(dirfd, name, NULL, NULL, ret, err);
}

/* ---------- a layer's pool objects (layers/sha256/<hex>.objects) ---------- */

#define OBJECTS_MAX (256u << 20)

void lc_layer_objects_free(struct lc_layer_object *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void lc_layer_objects_load(struct lc_store *s, const char *chainid, struct lc_layer_object **ret,
			   size_t *ret_n)
{
	cleanup_free char *name = NULL, *buf = NULL;
	struct lc_layer_object *v = NULL;
	struct lc_err *e = NULL;
	size_t n = 0, cap = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!lc_digest_valid(chainid))
		return;
	name = lc_xasprintf("%s.objects", lc_digest_hex(chainid));
	if (lc_read_file_at(s->layersfd, name, OBJECTS_MAX, &buf, NULL, &e) < 0) {
		lc_err_free(e);
		return;
	}
	for (char *line = buf, *nl; *line; line = nl + 1) {
		long long bytes;
		int off = 0;

		nl = strchrnul(line, '\n');
		if (!*nl)
			break; /* a truncated last line */
		*nl = '\0';
		if (sscanf(line, "%lld %n", &bytes, &off) != 1 || !off || bytes < 0 || !line[off] ||
		    strchr(line + off, '/'))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = lc_xrealloc(v, cap * sizeof(*v));
		}
		v[n].bytes = bytes;
		v[n++].name = lc_xstrdup(line + off);
	}
	*ret = v;
	*ret_n = n;
}

int64_t lc_layer_pooled_bytes(struct lc_store *s, const char *chainid)
{
	struct lc_layer_object *v;
	int64_t sum = 0;
	size_t n;

	lc_layer_objects_load(s, chainid, &v, &n);
	for (size_t i = 0; i < n; i++)
		sum += v[i].bytes;
	lc_layer_objects_free(v, n);
	return sum;
}

/* Every pool object the layers link, each once: name -> index (open addressing). */
struct obj_set {
	struct obj {
		char *name;
		int64_t bytes;
		bool active;	 /* linked by a layer that a container or an active image uses */
		size_t n_images; /* distinct images linking it, through any of their layers */
		size_t stamp;	 /* the image (index + 1) that counted it last */
	} * v;
	size_t n, n_alloc;
	size_t *slots; /* index + 1, 0: empty */
	size_t cap;
};

static size_t name_hash(const char *p)
{
	size_t h = 1469598103934665603ull;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static size_t obj_slot(const struct obj_set *o, const char *name)
{
	size_t i = name_hash(name) & (o->cap - 1);

	while (o->slots[i] && strcmp(o->v[o->slots[i] - 1].name, name) != 0)
		i = (i + 1) & (o->cap - 1);
	return i;
}

/* The index of name, added (taking it) if new. */
static size_t obj_add(struct obj_set *o, char *name, int64_t bytes)
{
	size_t i;

	if ((o->n + 1) * 2 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 1024;

		free(o->slots);
		o->slots = lc_xcalloc(cap, sizeof(size_t));
		o->cap = cap;
		for (size_t k = 0; k < o->n; k++)
			o->slots[obj_slot(o, o->v[k].name)] = k + 1;
	}
	i = obj_slot(o, name);
	if (o->slots[i]) {
		free(name);
		return o->slots[i] - 1;
	}
	if (o->n == o->n_alloc) {
		o->n_alloc = o->n_alloc ? o->n_alloc * 2 : 1024;
		o->v = lc_xrealloc(o->v, o->n_alloc * sizeof(*o->v));
	}
	o->v[o->n] = (struct obj){ .name = name, .bytes = bytes };
	o->slots[i] = ++o->n;
	return o->n - 1;
}

static void obj_set_clear(struct obj_set *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].name);
	free(o->v);
	free(o->slots);
}

/* ---------- accounting ---------- */

void lc_usage_free(struct lc_usage *u)
{
	if (!u)
		return;
	free(u->images);
	for (size_t i = 0; i < u->n_layers; i++) {
		free(u->layers[i].chainid);
		free(u->layers[i].images);
		free(u->layers[i].objects);
	}
	free(u->layers);
	for (size_t i = 0; i < u->n_containers; i++) {
		lc_container_config_free(u->containers[i].config);
		free(u->containers[i].id);
	}
	free(u->containers);
	free(u);
}

static int layer_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lc_usage_layer *)a)->chainid,
		      ((const struct lc_usage_layer *)b)->chainid);
}

static struct lc_usage_layer *layer_find(struct lc_usage *u, const char *chainid)
{
	struct lc_usage_layer key = { .chainid = (char *)chainid };

	if (!u->n_layers)
		return NULL;
	return bsearch(&key, u->layers, u->n_layers, sizeof(key), layer_cmp);
}

static bool hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

static void load_objects(struct lc_store *s, const char *cid, struct lc_usage_layer *ly,
			 struct obj_set *objs)
{
	struct lc_layer_object *v;
	size_t n;

	lc_layer_objects_load(s, cid, &v, &n);
	if (n)
		ly->objects = lc_xcalloc(n, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		ly->pooled += v[i].bytes;
		ly->objects[ly->n_objects++] = obj_add(objs, TAKE_PTR(v[i].name), v[i].bytes);
	}
	/* recorded wrong (or tampered with): a layer holds no more than its own bytes */
	if (ly->pooled > ly->bytes)
		ly->pooled = ly->bytes;
	lc_layer_objects_free(v, n);
}

/* Every committed layer with its recorded size (0 when its metadata is unreadable) and the
 * pool objects it links. */
static int load_layers(struct lc_store *s, struct lc_usage *u, struct obj_set *objs,
		       struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->layersfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'layers/sha256'");
	while ((errno = 0, de = readdir(d))) {
		struct lc_layer_info *li = NULL;
		struct lc_err *e = NULL;
		cleanup_free char *cid = NULL;

		if (!hex64(de->d_name))
			continue; /* <hex>.json, or debris */
		cid = lc_xasprintf("sha256:%s", de->d_name);
		if (!lc_store_layer_has(s, cid))
			continue;
		u->layers = lc_xrealloc(u->layers, (u->n_layers + 1) * sizeof(*u->layers));
		memset(&u->layers[u->n_layers], 0, sizeof(*u->layers));
		if (lc_store_layer_info(s, cid, &li, &e) == 0 && li->unpacked > 0)
			u->layers[u->n_layers].bytes = li->unpacked;
		lc_layer_info_free(li);
		lc_err_free(e);
		load_objects(s, cid, &u->layers[u->n_layers], objs);
		u->layers[u->n_layers++].chainid = TAKE_PTR(cid);
	}
	if (errno)
		return lc_err_set(err, LC_ERR_SYS, errno, "read 'layers/sha256'");
	if (u->n_layers)
		qsort(u->layers, u->n_layers, sizeof(*u->layers), layer_cmp);
	return 0;
}

static int load_containers(struct lc_store *s, struct lc_usage *u, struct lc_err **err)
{
	cleanup_strv char **ids = NULL;
	cleanup_close int cfd = -1;
	size_t n;

	if (lc_store_container_list(s, &ids, err) < 0)
		return -1;
	cfd = openat(s->rootfd, "containers", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open 'containers'");
	n = lc_strv_len(ids);
	u->containers = lc_xcalloc(n + 1, sizeof(*u->containers));
	for (size_t i = 0; i < n; i++) {
		struct lc_usage_container *c = &u->containers[u->n_containers];
		cleanup_free char *upper = lc_xasprintf("%s/upper", ids[i]);
		struct lc_err *e = NULL;

		c->id = lc_xstrdup(ids[i]);
		u->n_containers++;
		if (lc_store_container_config_read(s, ids[i], &c->config, &e) < 0) {
			lc_err_free(e);
			e = NULL;
		}
		c->running = lc_store_container_in_use(s, ids[i]) == 1;
		/* removed meanwhile, or half made: 0 bytes, not a failure of du */
		if (lc_store_tree_bytes_at(cfd, upper, &c->bytes, &e) < 0)
			lc_err_free(e);
	}
	return 0;
}

int lc_store_usage(struct lc_store *s, const struct lc_usage_in *in, size_t n,
		   struct lc_usage **ret, struct lc_err **err)
{
	struct lc_usage *u = lc_xcalloc(1, sizeof(*u));
	cleanup_free size_t *first = lc_xcalloc(n + 1, sizeof(size_t));
	struct obj_set objs = { 0 };
	int64_t used_layers = 0, on_disk_used = 0;
	struct img_layers {
		size_t *v; /* indexes into u->layers */
		size_t n;
	} * il;

	u->images = lc_xcalloc(n + 1, sizeof(*u->images));
	if (load_layers(s, u, &objs, err) < 0 || load_containers(s, u, err) < 0) {
		obj_set_clear(&objs);
		lc_usage_free(u);
		return -1;
	}
	/* refs of one image ID are one image: index them all by its first ref */
	for (size_t i = 0; i < n; i++) {
		first[i] = i;
		for (size_t j = 0; j < i; j++)
			if (in[i].id && in[j].id && !strcmp(in[i].id, in[j].id)) {
				first[i] = j;
				break;
			}
		if (first[i] != i)
			continue;
		u->n_distinct++;
		for (size_t l = 0; l < in[i].n_layers; l++) {
			struct lc_usage_layer *ly = layer_find(u, in[i].chainids[l]);

			if (!ly) {
				u->images[i].missing++;
				continue;
			}
			/* an image that lists a layer twice still uses it once */
			if (ly->n_images && ly->images[ly->n_images - 1] == i)
				continue;
			ly->images = lc_xrealloc(ly->images, (ly->n_images + 1) * sizeof(size_t));
			ly->images[ly->n_images++] = i;
		}
	}
	for (size_t c = 0; c < u->n_containers; c++) {
		const struct lc_container_config *cc = u->containers[c].config;

		u->containers_bytes += u->containers[c].bytes;
		if (u->containers[c].running)
			u->n_running++;
		else
			u->containers_idle += u->containers[c].bytes;
		if (!cc)
			continue;
		for (size_t i = 0; i < n; i++)
			if (first[i] == i && in[i].id && cc->image_id &&
			    !strcmp(in[i].id, cc->image_id))
				u->images[i].containers++;
		for (size_t l = 0; l < cc->n_layers; l++) {
			struct lc_usage_layer *ly = layer_find(u, cc->layers[l]);

			if (ly)
				ly->containers++;
		}
	}
	/* Every inode once. A layer's own bytes (those not in the pool) count with the layer; a
	 * pool object's bytes count once for the store, once for each image linking it through
	 * any of its layers (shared when another image links it too), and as reclaimable when no
	 * active layer links it. */
	il = lc_xcalloc(n + 1, sizeof(*il));
	for (size_t l = 0; l < u->n_layers; l++) {
		struct lc_usage_layer *ly = &u->layers[l];
		bool active = ly->containers > 0;
		int64_t own = ly->bytes - ly->pooled;

		u->layers_bytes += own;
		if (ly->n_images) {
			used_layers += ly->bytes;
			on_disk_used += own;
		}
		for (size_t k = 0; k < ly->n_images; k++) {
			struct lc_usage_image *im = &u->images[ly->images[k]];
			struct img_layers *x = &il[ly->images[k]];

			im->size += own;
			if (ly->n_images > 1)
				im->shared += own;
			if (im->containers)
				active = true;
			x->v = lc_xrealloc(x->v, (x->n + 1) * sizeof(size_t));
			x->v[x->n++] = l;
		}
		if (!active)
			u->reclaimable_bytes += own;
		for (size_t k = 0; active && k < ly->n_objects; k++)
			objs.v[ly->objects[k]].active = true;
	}
	/* how many images link each object, then each image's objects, each once */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t o = 0; o < objs.n; o++)
			objs.v[o].stamp = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < il[i].n; k++) {
				const struct lc_usage_layer *ly = &u->layers[il[i].v[k]];

				for (size_t j = 0; j < ly->n_objects; j++) {
					struct obj *ob = &objs.v[ly->objects[j]];

					if (ob->stamp == i + 1)
						continue;
					ob->stamp = i + 1;
					if (pass == 0) {
						ob->n_images++;
						continue;
					}
					u->images[i].size += ob->bytes;
					if (ob->n_images > 1)
						u->images[i].shared += ob->bytes;
				}
			}
	}
	for (size_t o = 0; o < objs.n; o++) {
		u->layers_bytes += objs.v[o].bytes;
		if (objs.v[o].n_images)
			on_disk_used += objs.v[o].bytes;
		if (!objs.v[o].active)
			u->reclaimable_bytes += objs.v[o].bytes;
	}
	for (size_t i = 0; i < n; i++)
		free(il[i].v);
	free(il);
	obj_set_clear(&objs);
	for (size_t i = 0; i < n; i++) {
		if (first[i] != i) {
			u->images[i] = u->images[first[i]];
			continue;
		}
		u->images[i].unique = u->images[i].size - u->images[i].shared;
		u->apart_bytes += u->images[i].size;
		if (u->images[i].containers)
			u->n_active++;
	}
	/* Stored apart, the images would take apart_bytes; the store holds on_disk_used of
	 * them. Whole layers save what the images' layers add up to beyond the distinct layers;
	 * the rest is what files shared between layers save on top (never below 0: an image
	 * whose own layers share files is counted so, alone or not). */
	u->layers_saved = u->apart_bytes > used_layers ? u->apart_bytes - used_layers : 0;
	u->files_saved = u->apart_bytes - on_disk_used - u->layers_saved;
	if (u->files_saved < 0)
		u->files_saved = 0;
	*ret = u;
	return 0;
}
