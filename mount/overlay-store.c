/* SPDX-License-Identifier: MIT */
/*
 * The store side of lc_overlay_mount: chain ids -> l/ links. Kept apart from overlay.c so the
 * unit suite can mount hand-made layer dirs without the store's objects.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "mount-int.h"

/* relative to the store root; lc_store_mount_add made mounts/ */
#define EMPTY_LOWER "mounts/empty"

/* Mount the layers' l/ links on cdir (a container) or, read-only, on target (an image view). */
static int mount_layers(struct lc_store *s, const char *const *lowers, size_t n_lowers,
			const char *cdir, const char *target, int userns_fd, bool ephemeral,
			struct lc_err **err)
{
	const char *root = lc_store_root(s);
	size_t rootlen = strlen(root);
	const char *rel = cdir;
	const char **links = NULL;
	size_t n_links = n_lowers;
	struct lc_layer_info **infos = NULL;
	int r = -1;

	if (n_lowers > LC_MAX_LAYERS)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "image has %zu layers, at most %d are supported", n_lowers,
				  LC_MAX_LAYERS);
	/* containers/<id> rather than /var/lib/layerctl/containers/<id>: shorter options */
	if (cdir && strncmp(cdir, root, rootlen) == 0 && cdir[rootlen] == '/' && cdir[rootlen + 1])
		rel = cdir + rootlen + 1;
	links = lc_xcalloc(n_lowers + 1, sizeof(*links));
	infos = lc_xcalloc(n_lowers ? n_lowers : 1, sizeof(*infos));
	for (size_t i = 0; i < n_lowers; i++) {
		if (lc_store_layer_info(s, lowers[i], &infos[i], err) < 0) {
			lc_err_prefix(err, "mount overlay: layer %s", lowers[i]);
			goto out;
		}
		links[i] = infos[i]->link;
		lc_trace("lowerdir %zu of %zu (%s): %s is layer %s, diff_id %s", i + 1, n_lowers,
			 i == 0		     ? "top"
			 : i + 1 == n_lowers ? "bottom"
					     : "middle",
			 links[i], infos[i]->chainid, infos[i]->diff_id);
	}
	/* overlay without an upper dir wants two lowers: an empty one under a single layer */
	if (!cdir && n_lowers == 1) {
		if (mkdirat(lc_store_rootfd(s), EMPTY_LOWER, 0755) < 0 && errno != EEXIST) {
			r = lc_err_set(err, LC_ERR_SYS, errno, "create '%s'", EMPTY_LOWER);
			goto out;
		}
		links[n_links++] = EMPTY_LOWER;
	}
	if (cdir && userns_fd >= 0)
		r = lc_overlay_mount_links_idmapped(lc_store_rootfd(s), root, links, n_links, rel,
						    userns_fd, ephemeral, err);
	else if (cdir)
		r = lc_overlay_mount_links(lc_store_rootfd(s), root, links, n_links, rel,
					   LC_OVL_API_AUTO, ephemeral, err);
	else
		r = lc_overlay_mount_links_ro(lc_store_rootfd(s), root, links, n_links, target,
					      LC_OVL_API_AUTO, err);
out:
	for (size_t i = 0; i < n_lowers; i++)
		if (infos[i])
			lc_layer_info_free(infos[i]);
	free(infos);
	free(links);
	return r;
}

int lc_overlay_mount(struct lc_store *s, const char *const *lowers, size_t n_lowers,
		     const char *cdir, bool ephemeral, struct lc_err **err)
{
	return mount_layers(s, lowers, n_lowers, cdir, NULL, -1, ephemeral, err);
}

int lc_overlay_mount_idmapped(struct lc_store *s, const char *const *lowers, size_t n_lowers,
			      const char *cdir, int userns_fd, bool ephemeral, struct lc_err **err)
{
	return mount_layers(s, lowers, n_lowers, cdir, NULL, userns_fd, ephemeral, err);
}

int lc_overlay_mount_image(struct lc_store *s, const char *const *lowers, size_t n_lowers,
			   const char *target, struct lc_err **err)
{
	return mount_layers(s, lowers, n_lowers, NULL, target, -1, false, err);
}
