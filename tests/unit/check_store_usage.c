/* SPDX-License-Identifier: MIT */
/*
 * store usage accounting (du) on synthetic stores: layers with made-up recorded sizes, images
 * sharing some, tags of one image, an orphan layer, containers and their config.json; the
 * tree walk that records a layer's bytes (hard links once).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <jansson.h>

#include "unit.h"
#include "../../store/store.h"
#include "../../store/store-int.h"

static char *tdir;
static struct lc_store *st;

static void setup(void)
{
	struct lc_err *err = NULL;
	char *root;

	tdir = unit_tmpdir();
	root = lc_xasprintf("%s/store", tdir);
	ck_assert_ok(lc_store_open(root, &st, &err), &err);
	free(root);
}

static void teardown(void)
{
	lc_store_close(st);
	st = NULL;
	unit_tmpdir_free(tdir);
	tdir = NULL;
}

/* sha256:<c repeated> */
static char *fake_digest(char c)
{
	char hex[65];

	memset(hex, c, 64);
	hex[64] = '\0';
	return lc_xasprintf("sha256:%s", hex);
}

/* A committed layer as layer.c leaves it: the dir, its .json with a recorded size, its l/ link. */
static void fake_layer(const char *chainid, int64_t bytes)
{
	struct lc_err *err = NULL;
	int fd = openat(lc_store_rootfd(st), "layers/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *name = lc_xasprintf("%s.json", lc_digest_hex(chainid));
	char *link = lc_xasprintf("l/%.26s", lc_digest_hex(chainid));
	char *target = lc_xasprintf("../layers/sha256/%s", lc_digest_hex(chainid));
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "chainid", chainid, "diff_id",
			      chainid, "digest", chainid, "size", (json_int_t)1, "unpacked",
			      (json_int_t)bytes, "files", (json_int_t)1, "link", link);
	char *txt = json_dumps(j, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mkdirat(fd, lc_digest_hex(chainid), 0755), 0);
	ck_assert_int_eq(symlinkat(target, lc_store_rootfd(st), link), 0);
	free(link);
	free(target);
	ck_assert_ok(lc_write_file_atomic_at(fd, name, txt, strlen(txt), 0644, &err), &err);
	json_decref(j);
	free(txt);
	free(name);
	close(fd);
}

static int64_t blocks_of(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(lstat(path, &sb), 0);
	return (int64_t)sb.st_blocks * 512;
}

START_TEST(usage_shared_unique_reclaimable)
{
	struct lc_err *err = NULL;
	char *l1 = fake_digest('1'), *l2 = fake_digest('2'), *l3 = fake_digest('3');
	char *l4 = fake_digest('4'), *l9 = fake_digest('9');
	char *ida = fake_digest('a'), *idb = fake_digest('b');
	char *a_layers[] = { l1, l2, NULL }, *b_layers[] = { l1, l3, l9, NULL };
	char *c_layers[] = { l3, l1, NULL }; /* topmost first */
	struct lc_usage_in in[] = {
		{ ida, a_layers, 2 }, /* A: 1 2 */
		{ idb, b_layers, 3 }, /* B: 1 3, and 9 which the store lacks */
		{ ida, a_layers, 2 }, /* another tag of A */
	};
	struct lc_usage *u = NULL;
	char *id = NULL, *dir = NULL, *f;
	int64_t upper;
	int fd;

	fake_layer(l1, 1000000);
	fake_layer(l2, 20000);
	fake_layer(l3, 300000);
	fake_layer(l4, 4096); /* no image uses it */
	/* a container made from B, running (this handle holds it), 64 KiB in its upper */
	ck_assert_ok(lc_store_container_create(st, &id, &dir, &err), &err);
	ck_assert_ok(lc_store_container_config_write(st,
						     &(struct lc_container_config){
							     .id = id,
							     .image = (char *)"b",
							     .image_id = idb,
							     .layers = c_layers,
							     .n_layers = 2,
						     },
						     &err),
		     &err);
	f = lc_xasprintf("%s/upper/data", dir);
	fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	{
		char buf[65536];

		memset(buf, 'x', sizeof(buf));
		ck_assert_int_eq(lc_write_all(fd, buf, sizeof(buf)), 0);
	}
	fsync(fd);
	close(fd);
	upper = blocks_of(f);
	free(f);
	f = lc_xasprintf("%s/upper", dir);
	upper += blocks_of(f);
	free(f);

	ck_assert_ok(lc_store_usage(st, in, LC_ARRAY_SIZE(in), &u, &err), &err);
	ck_assert_uint_eq(u->n_layers, 4);
	ck_assert_int_eq(u->images[0].size, 1020000);
	ck_assert_int_eq(u->images[0].shared, 1000000);
	ck_assert_int_eq(u->images[0].unique, 20000);
	ck_assert_uint_eq(u->images[0].containers, 0);
	ck_assert_int_eq(u->images[1].size, 1300000);
	ck_assert_int_eq(u->images[1].shared, 1000000);
	ck_assert_int_eq(u->images[1].unique, 300000);
	ck_assert_uint_eq(u->images[1].containers, 1);
	ck_assert_uint_eq(u->images[1].missing, 1);
	/* a second tag is the same image: it shares nothing with itself */
	ck_assert_int_eq(u->images[2].size, u->images[0].size);
	ck_assert_int_eq(u->images[2].shared, u->images[0].shared);
	ck_assert_uint_eq(u->n_distinct, 2);
	ck_assert_uint_eq(u->n_active, 1);
	ck_assert_int_eq(u->layers_bytes, 1000000 + 20000 + 300000 + 4096);
	ck_assert_int_eq(u->apart_bytes, 1020000 + 1300000);
	/* what neither B (active) nor the container needs: A's own layer and the orphan */
	ck_assert_int_eq(u->reclaimable_bytes, 20000 + 4096);
	ck_assert_uint_eq(u->n_containers, 1);
	ck_assert_uint_eq(u->n_running, 1);
	ck_assert_int_eq(u->containers_bytes, upper);
	ck_assert_int_eq(u->containers_idle, 0);
	ck_assert_ptr_nonnull(u->containers[0].config);
	ck_assert_str_eq(u->containers[0].config->image_id, idb);
	for (size_t i = 0; i < u->n_layers; i++) {
		const struct lc_usage_layer *ly = &u->layers[i];

		if (!strcmp(ly->chainid, l1)) {
			ck_assert_uint_eq(ly->n_images, 2);
			ck_assert_uint_eq(ly->containers, 1);
		} else if (!strcmp(ly->chainid, l4)) {
			ck_assert_uint_eq(ly->n_images, 0);
		} else {
			ck_assert_uint_eq(ly->n_images, 1);
		}
	}
	lc_usage_free(u);
	free(id);
	free(dir);
	free(l1), free(l2), free(l3), free(l4), free(l9), free(ida), free(idb);
}
END_TEST

START_TEST(usage_empty_store)
{
	struct lc_err *err = NULL;
	struct lc_usage *u = NULL;

	ck_assert_ok(lc_store_usage(st, NULL, 0, &u, &err), &err);
	ck_assert_uint_eq(u->n_layers, 0);
	ck_assert_uint_eq(u->n_containers, 0);
	ck_assert_int_eq(u->layers_bytes, 0);
	ck_assert_int_eq(u->reclaimable_bytes, 0);
	lc_usage_free(u);
}
END_TEST

/* A layer's recorded bytes: every inode once (hard links), dirs and the root included. */
START_TEST(tree_bytes_counts_inodes_once)
{
	static const char *const dirs[] = { "", "/sub" };
	struct lc_err *err = NULL;
	char *t = lc_xasprintf("%s/tree", tdir), *p;
	int64_t want = 0, got = -1;
	char buf[10000];
	int fd;

	memset(buf, 'y', sizeof(buf));
	ck_assert_int_eq(mkdir(t, 0755), 0);
	p = lc_xasprintf("%s/sub", t);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = lc_xasprintf("%s/sub/f", t);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_eq(lc_write_all(fd, buf, sizeof(buf)), 0);
	fsync(fd);
	close(fd);
	{
		/* two more names for f: its blocks count once */
		char *l1 = lc_xasprintf("%s/link1", t), *l2 = lc_xasprintf("%s/sub/link2", t);

		ck_assert_int_eq(link(p, l1), 0);
		ck_assert_int_eq(link(p, l2), 0);
		free(l1);
		free(l2);
	}
	ck_assert_int_gt(blocks_of(p), 0);
	want += blocks_of(p);
	free(p);
	p = lc_xasprintf("%s/sym", t);
	ck_assert_int_eq(symlink("sub/f", p), 0);
	want += blocks_of(p);
	free(p);
	for (size_t i = 0; i < LC_ARRAY_SIZE(dirs); i++) {
		p = lc_xasprintf("%s%s", t, dirs[i]);
		want += blocks_of(p);
		free(p);
	}
	ck_assert_ok(lc_store_tree_bytes_at(AT_FDCWD, t, &got, &err), &err);
	ck_assert_int_eq(got, want);
	p = lc_xasprintf("%s/nothing", t);
	ck_assert_fail(lc_store_tree_bytes_at(AT_FDCWD, p, &got, &err), &err, LC_ERR_NOTFOUND);
	lc_err_free(err);
	free(p);
	free(t);
}
END_TEST

START_TEST(container_config_round_trip_keeps_unknown_keys)
{
	struct lc_err *err = NULL;
	struct lc_container_config *c = NULL;
	char *id = NULL, *dir = NULL, *path, *buf = NULL, *ida = fake_digest('a');
	char *l1 = fake_digest('1'), *l2 = fake_digest('2');
	char *layers[] = { l2, l1, NULL };
	char **ids = NULL;
	const char extra[] = "{\"State\":{\"Pid\":42},\"Id\":\"old\"}";
	int fd;

	ck_assert_ok(lc_store_container_create(st, &id, &dir, &err), &err);
	ck_assert_fail(lc_store_container_config_read(st, id, &c, &err), &err, LC_ERR_NOTFOUND);
	lc_err_free(err);
	err = NULL;
	/* someone else's key, written before ours */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_ok(lc_write_file_atomic_at(fd, "config.json", extra, strlen(extra), 0600, &err),
		     &err);
	close(fd);
	ck_assert_ok(lc_store_container_config_write(
			     st,
			     &(struct lc_container_config){
				     .id = id,
				     .name = (char *)"web",
				     .image = (char *)"docker.io/library/x:latest",
				     .image_id = ida,
				     .layers = layers,
				     .n_layers = 2,
			     },
			     &err),
		     &err);
	ck_assert_ok(lc_store_container_config_read(st, id, &c, &err), &err);
	ck_assert_str_eq(c->id, id);
	ck_assert_str_eq(c->name, "web");
	ck_assert_str_eq(c->image, "docker.io/library/x:latest");
	ck_assert_str_eq(c->image_id, ida);
	ck_assert_uint_eq(c->n_layers, 2);
	ck_assert_str_eq(c->layers[0], l2);
	ck_assert_str_eq(c->layers[1], l1);
	ck_assert_ptr_null(c->layers[2]);
	ck_assert_uint_eq(strlen(c->created), strlen("2026-01-01T00:00:00.000000000Z"));
	lc_container_config_free(c);
	path = lc_xasprintf("%s/config.json", dir);
	ck_assert_ok(lc_read_file_at(AT_FDCWD, path, 1 << 20, &buf, NULL, &err), &err);
	ck_assert_ptr_nonnull(strstr(buf, "\"Pid\": 42"));
	ck_assert_ptr_nonnull(strstr(buf, "\"ImageID\""));
	free(buf);
	free(path);
	/* a bad layer digest is refused and nothing changes */
	layers[1] = (char *)"sha256:../../x";
	ck_assert_fail(
		lc_store_container_config_write(
			st,
			&(struct lc_container_config){ .id = id, .layers = layers, .n_layers = 2 },
			&err),
		&err, LC_ERR_PROTO);
	lc_err_free(err);
	err = NULL;
	ck_assert_ok(lc_store_container_list(st, &ids, &err), &err);
	ck_assert_uint_eq(lc_strv_len(ids), 1);
	ck_assert_str_eq(ids[0], id);
	ck_assert_int_eq(lc_store_container_in_use(st, id), 1);
	lc_strv_free(ids);
	ck_assert_ok(lc_store_container_remove(st, id, &err), &err);
	ck_assert_ok(lc_store_container_list(st, &ids, &err), &err);
	ck_assert_ptr_null(ids[0]);
	lc_strv_free(ids);
	free(id);
	free(dir);
	free(ida), free(l1), free(l2);
}
END_TEST

static void put_file(const char *dir, const char *rel, const char *data, struct lc_fhash *h)
{
	char *p = lc_xasprintf("%s/%s", dir, rel);
	char d[LC_DIGEST_BUFSZ];
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lc_write_all(fd, data, strlen(data)), 0);
	close(fd);
	lc_sha256_buf(data, strlen(data), d);
	if (h) {
		struct lc_fhash_val v = { 0 };
		struct lc_err *err = NULL;

		lc_fhash_val_set_digest(&v, d);
		ck_assert_ok(lc_fhash_put(h, rel, &v, &err), &err);
	}
	free(p);
}

static bool has_problem(char **v, const char *want)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], want))
			return true;
	return false;
}

/* The manifest recorded at commit, then verify against it: changes found one by one. */
START_TEST(layer_manifest_records_and_verifies)
{
	struct lc_err *err = NULL;
	char *cid = fake_digest('7');
	char *dir = lc_xasprintf("%s/store/layers/sha256/%s", tdir, lc_digest_hex(cid));
	char *path, *text = NULL, **problems = NULL;
	int scratchfd = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct lc_fhash *h = lc_fhash_new(scratchfd);
	int64_t bytes = 0, walked = 0;
	size_t len = 0;
	int lfd;

	fake_layer(cid, 1);
	path = lc_xasprintf("%s/etc", dir);
	ck_assert_int_eq(mkdir(path, 0750), 0);
	free(path);
	put_file(dir, "etc/passwd", "root:x:0:0\n", h);
	put_file(dir, "with space\nand newline", "odd", h);
	path = lc_xasprintf("%s/link", dir);
	ck_assert_int_eq(symlink("etc/passwd", path), 0);
	free(path);
	{
		char *a = lc_xasprintf("%s/etc/passwd", dir), *b = lc_xasprintf("%s/hard", dir);
		struct lc_fhash_val v;

		ck_assert_int_eq(link(a, b), 0);
		ck_assert_int_eq(lc_fhash_get(h, "etc/passwd", &v, &err), 1);
		ck_assert_ok(lc_fhash_put(h, "hard", &v, &err), &err);
		free(a);
		free(b);
	}
	lfd = openat(lc_store_rootfd(st), "layers/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	{
		/* written as a stream: here into memory */
		FILE *out = open_memstream(&text, &len);

		ck_assert_ptr_nonnull(out);
		ck_assert_ok(lc_layer_manifest_build(lfd, lc_digest_hex(cid), h, NULL, scratchfd,
						     out, NULL, NULL, &bytes, &err),
			     &err);
		ck_assert_int_eq(fclose(out), 0);
	}
	/* one walk gives both: the bytes match the plain count */
	ck_assert_ok(lc_store_tree_bytes_at(lfd, lc_digest_hex(cid), &walked, &err), &err);
	ck_assert_int_eq(bytes, walked);
	ck_assert_ptr_nonnull(strstr(text, "d 755 0 0 0 - .\n"));
	ck_assert_ptr_nonnull(strstr(text, "d 750 0 0 0 - etc\n"));
	ck_assert_ptr_nonnull(strstr(text, " 11 sha256:"));
	ck_assert_ptr_nonnull(strstr(text, " with space\\nand newline\n"));
	ck_assert_ptr_nonnull(strstr(text, "l 777 0 0 10 sha256:"));
	{
		char *name = lc_xasprintf("%s.files", lc_digest_hex(cid));

		ck_assert_ok(lc_write_file_atomic_at(lfd, name, text, len, 0644, &err), &err);
		free(name);
	}
	ck_assert_ok(lc_store_layer_verify(st, cid, &problems, &err), &err);
	ck_assert_msg(!problems[0], "unexpected: %s", problems[0]);
	lc_strv_free(problems);

	/* one byte, a mode, a file added, a file gone, a symlink retargeted */
	put_file(dir, "etc/passwd", "root:x:0:1\n", NULL);
	path = lc_xasprintf("%s/etc", dir);
	ck_assert_int_eq(chmod(path, 0755), 0);
	free(path);
	put_file(dir, "new", "n", NULL);
	path = lc_xasprintf("%s/with space\nand newline", dir);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	path = lc_xasprintf("%s/link", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("etc/shadow", path), 0);
	free(path);
	ck_assert_ok(lc_store_layer_verify(st, cid, &problems, &err), &err);
	ck_assert(has_problem(problems, "etc/passwd: content changed"));
	ck_assert(has_problem(problems, "hard: content changed")); /* the same inode */
	ck_assert(has_problem(problems, "etc: mode changed"));
	ck_assert(has_problem(problems, "new: not in the layer's manifest (added)"));
	ck_assert(has_problem(problems, "with space\nand newline: missing"));
	ck_assert(has_problem(problems, "link: symlink target changed"));
	ck_assert_uint_eq(lc_strv_len(problems), 6);
	lc_strv_free(problems);
	/* a layer committed without a manifest is not checked, and says so */
	{
		char *name = lc_xasprintf("%s.files", lc_digest_hex(cid));

		ck_assert_int_eq(unlinkat(lfd, name, 0), 0);
		free(name);
	}
	ck_assert_int_eq(lc_store_layer_verify(st, cid, &problems, &err), 1);
	ck_assert_ptr_null(problems);
	close(lfd);
	free(text);
	lc_fhash_free(h);
	close(scratchfd);
	free(dir);
	free(cid);
}
END_TEST

static Suite *usage_suite(void)
{
	Suite *s = suite_create("store_usage");
	TCase *tc = tcase_create("usage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, usage_shared_unique_reclaimable);
	tcase_add_test(tc, usage_empty_store);
	tcase_add_test(tc, tree_bytes_counts_inodes_once);
	tcase_add_test(tc, container_config_round_trip_keeps_unknown_keys);
	tcase_add_test(tc, layer_manifest_records_and_verifies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(usage_suite());
}
