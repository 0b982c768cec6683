/* SPDX-License-Identifier: MIT */
/*
 * userns: run's --userns, --uidmap and --gidmap turned into a container's maps, and the
 * container's "idmap" document that keeps them (start reuses them; --userns=auto's pick reads
 * every container's to keep the ranges apart).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cmd.h"

#define IDMAP_DOC     "idmap"
#define IDMAP_DOC_MAX 8192

char *ctr_idmaps_text(const struct ctr_idmaps *m)
{
	char *s = lc_xstrdup("");

	for (int g = 0; g < 2; g++) {
		const struct lc_idmap *v = g ? m->gid : m->uid;
		size_t n = g ? m->n_gid : m->n_uid;

		for (size_t i = 0; i < n; i++) {
			char *more = lc_xasprintf("%s%c %u:%u:%u\n", s, g ? 'g' : 'u', v[i].ctr,
						  v[i].host, v[i].count);

			free(s);
			s = more;
		}
	}
	return s;
}

int ctr_idmaps_parse(const char *text, struct ctr_idmaps *ret, struct lc_err **err)
{
	struct ctr_idmaps m = { 0 };
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		cleanup_free char *line = lc_xstrndup(p, ll);
		struct lc_idmap one;

		p += ll + (nl ? 1 : 0);
		if (!ll)
			continue;
		if (ll < 3 || (line[0] != 'u' && line[0] != 'g') || line[1] != ' ' ||
		    lc_idmap_parse(line + 2, &one, err) < 0) {
			if (err && !*err)
				lc_err_set(err, LC_ERR_INVALID, 0, "bad line");
			return lc_err_prefix(err, "container's id maps");
		}
		if ((line[0] == 'u' ? m.n_uid : m.n_gid) == LC_IDMAP_MAX)
			return lc_err_set(err, LC_ERR_LIMIT, 0, "container's id maps: too many");
		if (line[0] == 'u')
			m.uid[m.n_uid++] = one;
		else
			m.gid[m.n_gid++] = one;
	}
	if ((m.n_uid > 0) != (m.n_gid > 0))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "container's id maps: a uid map without a gid map");
	if (m.n_uid && (lc_idmap_check(m.uid, m.n_uid, "uid map", err) < 0 ||
			lc_idmap_check(m.gid, m.n_gid, "gid map", err) < 0))
		return -1;
	*ret = m;
	return 0;
}

int ctr_idmaps_read(struct lc_store *s, const char *id, struct ctr_idmaps *ret, struct lc_err **err)
{
	cleanup_free char *text = NULL;

	*ret = (struct ctr_idmaps){ 0 };
	if (lc_store_container_doc_read(s, id, IDMAP_DOC, IDMAP_DOC_MAX, &text, err) < 0) {
		if ((*err)->code != LC_ERR_NOTFOUND)
			return -1;
		lc_err_free(*err);
		*err = NULL;
		return 0; /* run without a user namespace */
	}
	return ctr_idmaps_parse(text, ret, err);
}

/* The host ranges a container's map of one kind (uid or gid) takes, appended to *v. */
static void add_used(const struct lc_idmap *m, size_t n, struct lc_idrange **v, size_t *n_v)
{
	for (size_t i = 0; i < n; i++) {
		*v = lc_xrealloc(*v, (*n_v + 1) * sizeof(**v));
		(*v)[(*n_v)++] = (struct lc_idrange){ .start = m[i].host, .count = m[i].count };
	}
}

/* --userns=auto: size ids of the user's subordinate ranges nobody holds. */
static int pick_auto(struct lc_store *s, const char *self, uint32_t size, struct ctr_idmaps *m,
		     struct lc_err **err)
{
	struct lc_idrange sub_u[LC_SUBID_MAX], sub_g[LC_SUBID_MAX];
	cleanup_free struct lc_idrange *used_u = NULL, *used_g = NULL;
	cleanup_strv char **ids = NULL;
	size_t n_su = 0, n_sg = 0, n_uu = 0, n_ug = 0;
	uint32_t u0, g0;

	if (lc_subid_ranges("/etc/subuid", sub_u, LC_SUBID_MAX, &n_su, err) < 0 ||
	    lc_subid_ranges("/etc/subgid", sub_g, LC_SUBID_MAX, &n_sg, err) < 0)
		return -1;
	if (n_su == 0 || n_sg == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "--userns=auto: no subordinate %s for this user in %s: add one "
				  "(usermod --add-subuids 100000-165535 --add-subgids "
				  "100000-165535 USER)",
				  n_su == 0 ? "uids" : "gids",
				  n_su == 0 ? "/etc/subuid" : "/etc/subgid");
	if (lc_store_container_list(s, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		struct ctr_idmaps o;
		struct lc_err *e = NULL;

		if (strcmp(ids[i], self) == 0)
			continue;
		/* one we cannot read may hold any range: better fail than overlap */
		if (ctr_idmaps_read(s, ids[i], &o, &e) < 0) {
			lc_err_move(err, &e);
			return lc_err_prefix(err, "--userns=auto: container %.12s", ids[i]);
		}
		add_used(o.uid, o.n_uid, &used_u, &n_uu);
		add_used(o.gid, o.n_gid, &used_g, &n_ug);
	}
	if (lc_idrange_pick(sub_u, n_su, used_u, n_uu, size, &u0) < 0 ||
	    lc_idrange_pick(sub_g, n_sg, used_g, n_ug, size, &g0) < 0)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "--userns=auto: no free range of %u ids left in /etc/subuid and "
				  "/etc/subgid (other containers hold the rest: remove some, or "
				  "add ranges)",
				  (unsigned)size);
	m->uid[0] = (struct lc_idmap){ .ctr = 0, .host = u0, .count = size };
	m->gid[0] = (struct lc_idmap){ .ctr = 0, .host = g0, .count = size };
	m->n_uid = m->n_gid = 1;
	return 0;
}

int ctr_idmaps_assign(struct lc_store *s, const char *id, const struct run_opts *o,
		      struct ctr_idmaps *ret, struct lc_err **err)
{
	struct ctr_idmaps m = { 0 };
	cleanup_free char *text = NULL;
	cleanup_close int lockfd = -1;

	*ret = m;
	if (o->userns == RUN_USERNS_HOST)
		return 0;
	if (o->userns == RUN_USERNS_MAP) {
		memcpy(m.uid, o->uidmap, o->n_uidmap * sizeof(*o->uidmap));
		m.n_uid = o->n_uidmap;
		/* podman: without --gidmap, the uid map serves for gids too */
		memcpy(m.gid, o->n_gidmap ? o->gidmap : o->uidmap,
		       (o->n_gidmap ? o->n_gidmap : o->n_uidmap) * sizeof(*o->gidmap));
		m.n_gid = o->n_gidmap ? o->n_gidmap : o->n_uidmap;
		if (lc_idmap_check(m.uid, m.n_uid, "--uidmap", err) < 0 ||
		    lc_idmap_check(m.gid, m.n_gid, "--gidmap", err) < 0)
			return -1;
		/* its root owns the upper dir and runs the command */
		if (!lc_idmap_to_host(m.uid, m.n_uid, 0, &(uint32_t){ 0 }) ||
		    !lc_idmap_to_host(m.gid, m.n_gid, 0, &(uint32_t){ 0 }))
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "--uidmap/--gidmap must map the container's id 0");
	} else {
		/* every pick, and the document that records it, under one lock */
		lockfd = openat(lc_store_rootfd(s), "containers",
				O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (lockfd < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open the store's containers/");
		while (flock(lockfd, LOCK_EX) < 0)
			if (errno != EINTR)
				return lc_err_set(err, LC_ERR_SYS, errno, "lock containers/");
		if (pick_auto(s, id, o->userns_size ? o->userns_size : LC_USERNS_AUTO_SIZE, &m,
			      err) < 0)
			return -1;
	}
	text = ctr_idmaps_text(&m);
	if (lc_store_container_doc_write(s, id, IDMAP_DOC, text, err) < 0)
		return -1;
	*ret = m;
	return 0;
}
