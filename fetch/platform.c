/* SPDX-License-Identifier: MIT */
/* Platforms: the host's, "--platform os/arch[/variant]", and choosing an index entry. */
#include <ctype.h>
#include <string.h>
#include <sys/utsname.h>

#include "fetch-int.h"

void lc_fetch_host_platform(const char **os, const char **arch, const char **variant)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", NULL },
		{ "amd64", "amd64", NULL },
		{ "aarch64", "arm64", "v8" },
		{ "arm64", "arm64", "v8" },
		{ "armv7l", "arm", "v7" },
		{ "armv7", "arm", "v7" },
		{ "armv6l", "arm", "v6" },
		{ "armv5tel", "arm", "v5" },
		{ "i386", "386", NULL },
		{ "i486", "386", NULL },
		{ "i586", "386", NULL },
		{ "i686", "386", NULL },
		{ "ppc64le", "ppc64le", NULL },
		{ "s390x", "s390x", NULL },
		{ "riscv64", "riscv64", NULL },
		{ "mips64", "mips64", NULL },
		{ "loongarch64", "loong64", NULL },
	};
	struct utsname u;

	*os = "linux";
	*arch = "amd64";
	*variant = NULL;
	if (uname(&u) < 0)
		return;
	for (size_t i = 0; i < LC_ARRAY_SIZE(map); i++) {
		if (strcmp(u.machine, map[i].machine) == 0) {
			*arch = map[i].arch;
			*variant = map[i].variant;
			return;
		}
	}
}

static void set(char **p, const char *v)
{
	free(*p);
	*p = v ? lc_xstrdup(v) : NULL;
}

/* containerd/platforms normalizeArch (database.go) */
void lc_platform_normalize(char **arch, char **variant)
{
	const char *a = *arch ? *arch : "";
	const char *v = *variant ? *variant : "";

	if (strcmp(a, "i386") == 0) {
		set(arch, "386");
		set(variant, NULL);
	} else if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64")) {
		set(arch, "amd64");
		if (!strcmp(v, "v1"))
			set(variant, NULL);
	} else if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
		set(arch, "arm64");
		if (!strcmp(v, "8") || !strcmp(v, "v8") || !strcmp(v, "v8.0"))
			set(variant, NULL);
	} else if (!strcmp(a, "armhf")) {
		set(arch, "arm");
		set(variant, "v7");
	} else if (!strcmp(a, "armel")) {
		set(arch, "arm");
		set(variant, "v6");
	} else if (!strcmp(a, "arm")) {
		if (!strcmp(v, "") || !strcmp(v, "7"))
			set(variant, "v7");
		else if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "8")) {
			char *nv = lc_xasprintf("v%s", v);

			free(*variant);
			*variant = nv;
		}
	}
	if (*variant && !**variant)
		set(variant, NULL);
}

static bool is_arch_word(const char *w)
{
	static const char *const archs[] = { "amd64", "x86_64",	 "x86-64",  "arm64",	"aarch64",
					     "arm",   "armhf",	 "armel",   "386",	"i386",
					     "s390x", "ppc64le", "riscv64", "mips64le", "loong64" };

	for (size_t i = 0; i < LC_ARRAY_SIZE(archs); i++)
		if (!strcmp(w, archs[i]))
			return true;
	return false;
}

static bool platform_word_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

int lc_platform_parse(const char *s, char **ret_os, char **ret_arch, char **ret_variant,
		      struct lc_err **err)
{
	char *parts[3] = { NULL, NULL, NULL };
	size_t n = 0;
	const char *p = s;

	while (true) {
		size_t len = strcspn(p, "/");

		if (n == 3 || !platform_word_valid(p, len)) {
			for (size_t i = 0; i < n; i++)
				free(parts[i]);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid platform '%.100s': want os/arch[/variant]", s);
		}
		parts[n] = lc_xstrndup(p, len);
		for (char *c = parts[n]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	/* docker's "--platform arm64": an architecture alone is linux's (containerd's rule) */
	if (n == 1 && is_arch_word(parts[0])) {
		parts[1] = parts[0];
		parts[0] = lc_xstrdup("linux");
		n = 2;
	}
	if (n < 2) {
		free(parts[0]);
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"invalid platform '%.100s': want os/arch[/variant] or an architecture", s);
	}
	if (!strcmp(parts[0], "macos"))
		set(&parts[0], "darwin");
	lc_platform_normalize(&parts[1], &parts[2]);
	*ret_os = parts[0];
	*ret_arch = parts[1];
	*ret_variant = parts[2];
	return 0;
}

static bool str_eq0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool entry_is_platform(const struct lc_descriptor *d)
{
	return d->os && d->arch && strcmp(d->os, "unknown") != 0 && strcmp(d->arch, "unknown") != 0;
}

static const struct lc_descriptor *find(const struct lc_manifest *index, const char *os,
					const char *arch, const char *variant)
{
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct lc_descriptor *d = &index->manifests[i];
		cleanup_free char *a = NULL;
		cleanup_free char *v = NULL;

		if (!entry_is_platform(d) || strcmp(d->os, os) != 0)
			continue;
		a = lc_xstrdup(d->arch);
		v = d->variant ? lc_xstrdup(d->variant) : NULL;
		lc_platform_normalize(&a, &v);
		if (!strcmp(a, arch) && str_eq0(v, variant))
			return d;
	}
	return NULL;
}

const struct lc_descriptor *lc_platform_match(const struct lc_manifest *index, const char *os,
					      const char *arch, const char *variant)
{
	cleanup_free char *a = lc_xstrdup(arch);
	cleanup_free char *v = variant ? lc_xstrdup(variant) : NULL;
	const struct lc_descriptor *d;

	lc_platform_normalize(&a, &v);
	d = find(index, os, a, v);
	if (d)
		return d;
	/* containerd's platforms.Only: a CPU runs the lower variants of its own family */
	if (!strcmp(a, "arm") && v && v[0] == 'v' && v[1] >= '6' && v[1] <= '8' && !v[2]) {
		for (char lower = (char)(v[1] - 1); lower >= '5'; lower--) {
			char lv[3] = { 'v', lower, 0 };

			if ((d = find(index, os, a, lv)))
				return d;
		}
	} else if (!strcmp(a, "amd64") && v && v[0] == 'v' && v[1] >= '2' && v[1] <= '4' && !v[2]) {
		for (char lower = (char)(v[1] - 1); lower >= '2'; lower--) {
			char lv[3] = { 'v', lower, 0 };

			if ((d = find(index, os, a, lv)))
				return d;
		}
		return find(index, os, a, NULL);
	}
	return NULL;
}

char *lc_platform_list(const struct lc_manifest *index)
{
	char *out = lc_xstrdup("");

	for (size_t i = 0; i < index->n_manifests && i < 64; i++) {
		const struct lc_descriptor *d = &index->manifests[i];
		char *n;

		if (!entry_is_platform(d))
			continue;
		n = lc_xasprintf("%s%s%.32s/%.32s%s%.32s", out, *out ? ", " : "", d->os, d->arch,
				 d->variant ? "/" : "", d->variant ? d->variant : "");
		free(out);
		out = n;
	}
	/* the names came from the registry: keep terminal controls out of our error message */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return out;
}
