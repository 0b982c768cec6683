/* SPDX-License-Identifier: MIT */
/* mount IMAGE DIR / unmount IMAGE|DIR: a read-only overlay view of an image (podman image mount). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"

static const char mount_usage[] =
	"Usage:  layerctl mount IMAGE DIR\n"
	"\n"
	"Mount the image's merged tree read-only (nosuid, nodev) on DIR, an existing directory:\n"
	"overlay of its layers without a writable layer. 'layerctl unmount' undoes it.\n";

static const char unmount_usage[] =
	"Usage:  layerctl unmount IMAGE|DIR\n"
	"\n"
	"Unmount an image mounted with 'layerctl mount': the given DIR, or\n"
	"every DIR the IMAGE is mounted on.\n";

int cmd_mount(int argc, char **argv, const struct lc_global *g)
{
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_store_ref *refs = NULL;
	struct cmd_image im = { 0 };
	cleanup_strv char **lowers = NULL;
	char dir[PATH_MAX];
	size_t n = 0;
	bool by_id;
	int rc = EXIT_ERR;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(mount_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 3)
		return cmd_usage_error(mount_usage,
				       "'layerctl mount' requires exactly 2 arguments");
	if (!realpath(argv[2], dir)) {
		fprintf(stderr, "layerctl: mount: '%s': %s\n", argv[2], strerror(errno));
		return EXIT_ERR;
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (cmd_image_find(s, argv[1], &refs, &n, &by_id, &err) < 0 ||
	    cmd_image_load_ref(s, &refs[0], &im, &err) < 0)
		goto fail;
	lowers = lc_xcalloc(im.n_layers + 1, sizeof(char *));
	for (size_t i = 0; i < im.n_layers; i++) {
		lowers[i] = lc_xstrdup(im.chainids[im.n_layers - 1 - i]);
		/* a gc until the record is written must not take them */
		if (lc_store_lease(s, lowers[i], &err) < 0)
			goto fail;
	}
	/* recorded first: a gc that runs once it is mounted keeps its layers */
	if (lc_store_mount_add(s,
			       &(struct lc_image_mount){ .dir = dir,
							 .image = refs[0].name,
							 .image_id = refs[0].config,
							 .layers = lowers,
							 .n_layers = im.n_layers },
			       &err) < 0)
		goto fail;
	if (lc_overlay_mount_image(s, (const char *const *)lowers, im.n_layers, dir, &err) < 0) {
		lc_store_mount_remove(s, dir, NULL);
		goto fail;
	}
	printf("%s\n", dir);
	rc = EXIT_OK;
	goto out;
fail:
	lc_err_prefix(&err, "mount '%s'", argv[1]);
	cmd_report(err, EXIT_ERR);
out:
	cmd_image_clear(&im);
	lc_store_ref_list_free(refs, n);
	lc_store_close(s);
	return rc;
}

int cmd_unmount(int argc, char **argv, const struct lc_global *g)
{
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct lc_image_mount *mounts = NULL;
	size_t n = 0, done = 0;
	char dir[PATH_MAX];
	struct stat st;
	int rc = EXIT_OK;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(unmount_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 2)
		return cmd_usage_error(unmount_usage,
				       "'layerctl unmount' requires exactly 1 argument");
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	if (lc_store_mount_list(s, &mounts, &n, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	/* a directory names itself; anything else is an image */
	if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode) && realpath(argv[1], dir)) {
		bool ours = false;

		/* only what layerctl mounted: never whatever else is mounted there */
		for (size_t i = 0; i < n; i++)
			if (!strcmp(mounts[i].dir, dir))
				ours = true;
		if (!ours) {
			fprintf(stderr, "layerctl: unmount: '%s' is not an image mount\n", dir);
			rc = EXIT_ERR;
		} else if (lc_overlay_umount_dir(dir, &err) < 0 ||
			   lc_store_mount_remove(s, dir, &err) < 0)
			rc = cmd_report(err, EXIT_ERR);
		else
			printf("%s\n", dir);
	} else {
		struct lc_store_ref *refs = NULL;
		size_t nr = 0;
		bool by_id;

		if (cmd_image_find(s, argv[1], &refs, &nr, &by_id, &err) < 0) {
			rc = cmd_report(err, EXIT_ERR);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(mounts[i].image_id, refs[0].config) != 0)
				continue;
			if (lc_overlay_umount_dir(mounts[i].dir, &err) < 0 ||
			    lc_store_mount_remove(s, mounts[i].dir, &err) < 0) {
				rc = cmd_report(err, EXIT_ERR);
				err = NULL;
				continue;
			}
			printf("%s\n", mounts[i].dir);
			done++;
		}
		if (!done && rc == EXIT_OK) {
			fprintf(stderr, "layerctl: unmount: image '%s' is not mounted\n", argv[1]);
			rc = EXIT_ERR;
		}
		lc_store_ref_list_free(refs, nr);
	}
out:
	lc_image_mount_list_free(mounts, n);
	lc_store_close(s);
	return rc;
}
