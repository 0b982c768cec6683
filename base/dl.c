/* SPDX-License-Identifier: MIT */
/* Libraries loaded on first use: dlopen, every symbol resolved at once, one message if not. */
#include <dlfcn.h>

#include "base.h"

int lc_dl_load(const char *soname, const char *package, const struct lc_dl_sym *syms, size_t n,
	       char **ret_msg)
{
	/* RTLD_NOW: a library too old for a symbol fails here, not in the middle of a pull */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	const char *why;

	if (!h) {
		why = dlerror();
		*ret_msg = lc_xasprintf("needs %s: install %s (%s)", soname, package,
					why ? why : "cannot be loaded");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		void *p;

		dlerror();
		p = dlsym(h, syms[i].name);
		if (!p) {
			why = dlerror();
			*ret_msg =
				lc_xasprintf("needs %s with '%s': install %s (%s)", soname,
					     syms[i].name, package, why ? why : "no such symbol");
			dlclose(h);
			return -1;
		}
		*syms[i].slot = p;
	}
	return 0; /* h stays open for the life of the process */
}

bool lc_dl_ready_slow(struct lc_dl_lib *l)
{
	pthread_mutex_lock(&l->lock);
	if (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == 0) {
		int ok = lc_dl_load(l->soname, l->package, l->syms, l->n, &l->msg) == 0;

		__atomic_store_n(&l->state, ok ? 1 : -1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&l->lock);
	return __atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == 1;
}

int lc_dl_need(struct lc_dl_lib *l, struct lc_err **err)
{
	if (!lc_dl_ready(l))
		return lc_err_set(err, LC_ERR_SYS, 0, "%s", l->msg);
	return 0;
}
