/* SPDX-License-Identifier: MIT */
/*
 * cmd: run's options, parsed with docker's flag names and messages into struct run_opts. Pure:
 * nothing is opened, pulled or started here (tests/unit/check_cmd.c), so that `start` can
 * parse again the options a container was run with (kept in its spec.json) and get the very
 * same container.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"

static bool strv_has_all(char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcasecmp(v[i], "ALL"))
			return true;
	return false;
}

/* docker's rules: defaults + adds - drops; "ALL" in adds is everything, in drops nothing */
static uint64_t caps_of(char *const *add, char *const *drop)
{
	uint64_t m = strv_has_all(add) ? lc_caps_all() : strv_has_all(drop) ? 0 : LC_DEFAULT_CAPS;

	for (size_t i = 0; add && add[i]; i++)
		if (strcasecmp(add[i], "ALL"))
			m |= 1ULL << lc_cap_number(add[i]);
	for (size_t i = 0; drop && drop[i]; i++)
		if (strcasecmp(drop[i], "ALL"))
			m &= ~(1ULL << lc_cap_number(drop[i]));
	return m;
}

void run_opts_clear(struct run_opts *o)
{
	free(o->mounts);
	free(o->is_volume);
	free(o->ports);
	lc_strv_free(o->add_hosts);
	lc_strv_free(o->dns);
	lc_strv_free(o->env);
	lc_strv_free(o->mount_strs);
	lc_strv_free(o->cap_add);
	lc_strv_free(o->cap_drop);
	lc_strv_free(o->raw);
	free(o->rates);
	free(o->seccomp_profile);
	free(o->rlimits);
	lc_strv_free(o->ulimit_strs);
	free(o->devices);
	memset(o, 0, sizeof(*o));
}

/*
 * --security-opt: seccomp=unconfined, seccomp=FILE (docker's JSON profile, read now; checked
 * when the container starts), no-new-privileges[=|:true|false]. Anything else (apparmor,
 * label) is refused: nothing here would honour it.
 */
static int parse_security_opt(struct run_opts *o, const char *v, struct lc_err **err)
{
	const char *val = NULL;

	if (!strncmp(v, "seccomp=", 8) || !strncmp(v, "seccomp:", 8))
		val = v + 8;
	if (val && !strcmp(val, "unconfined")) {
		o->no_seccomp = true;
		free(o->seccomp_profile);
		o->seccomp_profile = NULL;
		return 0;
	}
	if (val) {
		char *text = NULL;
		size_t len = 0;

		if (!*val)
			return lc_err_set(err, LC_ERR_INVALID, 0, "empty seccomp profile path");
		if (lc_read_file_at(AT_FDCWD, val, 1u << 20, &text, &len, err) < 0)
			return lc_err_prefix(err, "opening seccomp profile (%s) failed", val);
		if (strlen(text) != len) {
			free(text);
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "seccomp profile '%s' is not text", val);
		}
		free(o->seccomp_profile);
		o->seccomp_profile = text;
		o->no_seccomp = false;
		return 0;
	}
	if (!strcmp(v, "no-new-privileges") || !strcmp(v, "no-new-privileges=true") ||
	    !strcmp(v, "no-new-privileges:true")) {
		o->no_new_privs = true;
		return 0;
	}
	if (!strcmp(v, "no-new-privileges=false") || !strcmp(v, "no-new-privileges:false")) {
		o->no_new_privs = false;
		return 0;
	}
	return lc_err_set(err, LC_ERR_INVALID, 0,
			  "unsupported --security-opt '%s' (seccomp=unconfined|FILE, "
			  "no-new-privileges[:true|false])",
			  v);
}

static struct lc_mount *new_mount(struct run_opts *o, bool volume)
{
	o->mounts = lc_xrealloc(o->mounts, (o->n_mounts + 1) * sizeof(*o->mounts));
	o->is_volume = lc_xrealloc(o->is_volume, (o->n_mounts + 1) * sizeof(*o->is_volume));
	o->is_volume[o->n_mounts] = volume;
	o->mounts[o->n_mounts] = (struct lc_mount){ 0 };
	return &o->mounts[o->n_mounts++];
}

/* -v SRC:DST[:ro|rw]: SRC absolute is a host path, else a volume's name. Pieces into *keep. */
static int parse_volume_flag(struct run_opts *o, const char *v, char ***keep, struct lc_err **err)
{
	cleanup_strv char **parts = NULL;
	struct lc_mount *m;
	const char *p = v;
	size_t n;

	while (p) {
		const char *c = strchr(p, ':');

		lc_strv_push(&parts, "");
		free(parts[lc_strv_len(parts) - 1]);
		parts[lc_strv_len(parts) - 1] = c ? lc_xstrndup(p, (size_t)(c - p)) : lc_xstrdup(p);
		p = c ? c + 1 : NULL;
	}
	n = lc_strv_len(parts);
	if (!parts || n < 2 || n > 3 || !*parts[0] || !*parts[1] || /* !parts: for gcc's analyzer */
	    (n == 3 && strcmp(parts[2], "ro") && strcmp(parts[2], "rw")))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid volume specification: '%s'", v);
	m = new_mount(o, parts[0][0] != '/');
	m->kind = LC_MOUNT_BIND;
	m->readonly = n == 3 && !strcmp(parts[2], "ro");
	lc_strv_push(keep, parts[0]);
	m->source = (*keep)[lc_strv_len(*keep) - 1];
	lc_strv_push(keep, parts[1]);
	m->target = (*keep)[lc_strv_len(*keep) - 1];
	return 0;
}

/* --mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=..,tmpfs-mode=..] */
static int parse_mount_flag(struct run_opts *o, const char *v, char ***keep, struct lc_err **err)
{
	cleanup_free char *copy = lc_xstrdup(v);
	const char *type = NULL, *src = NULL, *dst = NULL, *size = NULL, *mode = NULL;
	bool ro = false;
	struct lc_mount *m;
	char *save = NULL;

	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *val = eq ? eq + 1 : NULL;

		if (eq)
			*eq = 0;
		if (!strcmp(kv, "type") && val)
			type = val;
		else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && val)
			src = val;
		else if ((!strcmp(kv, "target") || !strcmp(kv, "destination") ||
			  !strcmp(kv, "dst")) &&
			 val)
			dst = val;
		else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro"))
			ro = !val || !strcmp(val, "true") || !strcmp(val, "1");
		else if (!strcmp(kv, "tmpfs-size") && val)
			size = val;
		else if (!strcmp(kv, "tmpfs-mode") && val)
			mode = val;
		else
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid argument \"%s\" for \"--mount\" flag: unexpected "
				"key '%s'",
				v, kv);
	}
	if (!type || !dst || (strcmp(type, "tmpfs") && !src) ||
	    (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs")))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid argument \"%s\" for \"--mount\" flag: type, source and "
				  "target are needed (type bind, volume or tmpfs)",
				  v);
	if (!strcmp(type, "bind") && src[0] != '/')
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"invalid mount config for type \"bind\": bind source path must be "
			"absolute: '%s'",
			src);
	m = new_mount(o, !strcmp(type, "volume"));
	m->kind = strcmp(type, "tmpfs") ? LC_MOUNT_BIND : LC_MOUNT_TMPFS;
	m->readonly = ro;
	if (src) {
		lc_strv_push(keep, src);
		m->source = (*keep)[lc_strv_len(*keep) - 1];
	}
	lc_strv_push(keep, dst);
	m->target = (*keep)[lc_strv_len(*keep) - 1];
	if (size) {
		lc_strv_push(keep, size);
		m->size = (*keep)[lc_strv_len(*keep) - 1];
	}
	if (mode) {
		lc_strv_push(keep, mode);
		m->mode = (*keep)[lc_strv_len(*keep) - 1];
	}
	return 0;
}

/* --tmpfs PATH[:size=..,mode=..,ro,exec] */
static int parse_tmpfs_flag(struct run_opts *o, const char *v, char ***keep, struct lc_err **err)
{
	const char *colon = strchr(v, ':');
	struct lc_mount *m = new_mount(o, false);
	cleanup_free char *opts = colon ? lc_xstrdup(colon + 1) : NULL;
	char *save = NULL;

	m->kind = LC_MOUNT_TMPFS;
	lc_strv_push(keep, "");
	free((*keep)[lc_strv_len(*keep) - 1]);
	(*keep)[lc_strv_len(*keep) - 1] =
		colon ? lc_xstrndup(v, (size_t)(colon - v)) : lc_xstrdup(v);
	m->target = (*keep)[lc_strv_len(*keep) - 1];
	for (char *kv = opts ? strtok_r(opts, ",", &save) : NULL; kv;
	     kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "size=", 5)) {
			lc_strv_push(keep, kv + 5);
			m->size = (*keep)[lc_strv_len(*keep) - 1];
		} else if (!strncmp(kv, "mode=", 5)) {
			lc_strv_push(keep, kv + 5);
			m->mode = (*keep)[lc_strv_len(*keep) - 1];
		} else if (!strcmp(kv, "ro")) {
			m->readonly = true;
		} else if (!strcmp(kv, "exec")) {
			m->exec = true;
		} else if (strcmp(kv, "rw") && strcmp(kv, "noexec") && strcmp(kv, "nosuid") &&
			   strcmp(kv, "nodev")) {
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid --tmpfs option '%s' (size=, mode=, ro, rw, exec, "
				"noexec)",
				kv);
		}
	}
	return 0;
}

enum {
	OPT_MEMORY_SWAP = 256,
	OPT_MEMORY_RESERVATION,
	OPT_CPUS,
	OPT_CPUSET_CPUS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_OOM_KILL_DISABLE,
	OPT_CGROUP_PARENT,
	OPT_MOUNT,
	OPT_TMPFS,
	OPT_READ_ONLY,
	OPT_PULL,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_NET,
	OPT_UTS,
	OPT_IPC,
	OPT_PID,
	OPT_ADD_HOST,
	OPT_DNS,
	OPT_INIT,
	OPT_PRIVILEGED,
	OPT_USERNS,
	OPT_UIDMAP,
	OPT_GIDMAP,
	OPT_ULIMIT,
	OPT_DEVICE,
	OPT_RATE, /* + enum lc_cgroup_rate_kind */
	OPT_RATE_END = OPT_RATE + LC_RATE_WRITE_IOPS,
};

static bool is_limit_opt(int c)
{
	return c == 'm' || c == 'c' || (c >= OPT_MEMORY_SWAP && c <= OPT_OOM_KILL_DISABLE) ||
	       (c >= OPT_RATE && c <= OPT_RATE_END);
}

/* A decimal int64 like Go's strconv.ParseInt, with its error text. */
static int parse_int(const char *s, const char *flag, int64_t *ret, struct lc_err **err)
{
	char *end;

	errno = 0;
	*ret = strtoll(s, &end, 10);
	if (!*s || *end || errno || *s == ' ')
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: "
				  "parsing \"%s\": %s",
				  s, flag, s,
				  errno == ERANGE ? "value out of range" : "invalid syntax");
	return 0;
}

static int parse_size_flag(const char *s, const char *flag, int64_t *ret, struct lc_err **err)
{
	if (lc_parse_size(s, ret) < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", s,
				  flag, s);
	return 0;
}

/* One of docker's resource flags into l (rates appended to *rates, which l points at). */
static int parse_limit(int c, const char *v, struct lc_cgroup_limits *l,
		       struct lc_cgroup_rate **rates, struct lc_err **err)
{
	int64_t n;

	switch (c) {
	case 'm':
		return parse_size_flag(v, "-m, --memory", &l->memory, err);
	case OPT_MEMORY_SWAP:
		/* docker's MemSwapBytes: -1 is unlimited swap, else a size */
		if (!strcmp(v, "-1")) {
			l->memory_swap = -1;
			return 0;
		}
		return parse_size_flag(v, "--memory-swap", &l->memory_swap, err);
	case OPT_MEMORY_RESERVATION:
		return parse_size_flag(v, "--memory-reservation", &l->memory_reservation, err);
	case OPT_CPUS: {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		if (lc_cgroup_parse_cpus(v, ncpu > 0 ? ncpu : 1, &l->nano_cpus, err) < 0)
			return lc_err_prefix(err, "invalid argument \"%s\" for \"--cpus\" flag", v);
		return 0;
	}
	case 'c':
		return parse_int(v, "-c, --cpu-shares", &l->cpu_shares, err);
	case OPT_CPUSET_CPUS:
		if (lc_cgroup_parse_cpuset(v, err) < 0)
			return -1;
		l->cpuset_cpus = v;
		return 0;
	case OPT_PIDS_LIMIT:
		return parse_int(v, "--pids-limit", &l->pids_limit, err);
	case OPT_BLKIO_WEIGHT:
		if (parse_int(v, "--blkio-weight", &n, err) < 0)
			return -1;
		if (n < 0 || n > 65535)
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid argument \"%s\" for \"--blkio-weight\" flag: "
					  "strconv.ParseUint: parsing \"%s\": value out of range",
					  v, v);
		l->blkio_weight = (int)n;
		return 0;
	case OPT_OOM_KILL_DISABLE:
		l->oom_kill_disable = true;
		return 0;
	default: {
		struct lc_cgroup_rate r;

		if (lc_cgroup_parse_rate(v, (enum lc_cgroup_rate_kind)(c - OPT_RATE), NULL, &r,
					 err) < 0)
			return -1;
		*rates = lc_xrealloc(*rates, (l->n_rates + 1) * sizeof(**rates));
		(*rates)[l->n_rates++] = r;
		l->rates = *rates;
		return 0;
	}
	}
}

/* A usage error in *err (printed as one by cmd_usage_error): code LC_ERR_USAGE. */
static int usage(struct lc_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(struct lc_err **err, const char *fmt, ...)
{
	cleanup_free char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	return lc_err_set(err, LC_ERR_USAGE, 0, "%s", msg);
}

/*
 * --userns=auto[:size=N] (podman's syntax; its other options, uidmapping= and gidmapping=,
 * are refused): N ids, 1 to LC_USERNS_AUTO_MAX; *ret 0 without size= (the default).
 */
static int parse_userns_auto(const char *arg, uint32_t *ret, struct lc_err **err)
{
	const char *p = arg + 4;
	unsigned long long n = 0;

	*ret = 0;
	if (!*p)
		return 0;
	p++; /* ':' */
	if (strncmp(p, "size=", 5) != 0) {
		size_t k = strcspn(p, "=,");

		return usage(err,
			     "invalid --userns '%s': option '%.*s' is not supported (want "
			     "auto:size=N)",
			     arg, (int)k, p);
	}
	p += 5;
	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long long)(*p - '0');
		if (n > LC_USERNS_AUTO_MAX)
			goto bad;
	}
	if (*p || n == 0)
		goto bad;
	*ret = (uint32_t)n;
	return 0;
bad:
	return usage(err, "invalid --userns '%s': size must be a number of ids from 1 to %u", arg,
		     (unsigned)LC_USERNS_AUTO_MAX);
}

/* An error of a flag's parser becomes a usage error, its message kept. */
static int as_usage(struct lc_err **err)
{
	if (err && *err)
		(*err)->code = LC_ERR_USAGE;
	return -1;
}

int run_opts_parse(int argc, char **argv, struct run_opts *o, struct lc_err **err)
{
	static const struct option opts[] = {
		{ "rm", no_argument, NULL, 'R' },
		{ "detach", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'N' },
		{ "env", required_argument, NULL, 'e' },
		{ "entrypoint", required_argument, NULL, 'E' },
		{ "hostname", required_argument, NULL, 'h' },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "interactive", no_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'P' },
		{ "pull", required_argument, NULL, OPT_PULL },
		{ "security-opt", required_argument, NULL, 'S' },
		{ "tty", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "memory", required_argument, NULL, 'm' },
		{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
		{ "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "cpu-shares", required_argument, NULL, 'c' },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
		{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
		{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
		{ "device-read-bps", required_argument, NULL, OPT_RATE + LC_RATE_READ_BPS },
		{ "device-write-bps", required_argument, NULL, OPT_RATE + LC_RATE_WRITE_BPS },
		{ "device-read-iops", required_argument, NULL, OPT_RATE + LC_RATE_READ_IOPS },
		{ "device-write-iops", required_argument, NULL, OPT_RATE + LC_RATE_WRITE_IOPS },
		{ "oom-kill-disable", no_argument, NULL, OPT_OOM_KILL_DISABLE },
		{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
		{ "volume", required_argument, NULL, 'v' },
		{ "publish", required_argument, NULL, 'p' },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "net", required_argument, NULL, OPT_NET },
		{ "network", required_argument, NULL, OPT_NET },
		{ "uts", required_argument, NULL, OPT_UTS },
		{ "ipc", required_argument, NULL, OPT_IPC },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "add-host", required_argument, NULL, OPT_ADD_HOST },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "tmpfs", required_argument, NULL, OPT_TMPFS },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "privileged", no_argument, NULL, OPT_PRIVILEGED },
		{ "userns", required_argument, NULL, OPT_USERNS },
		{ "uidmap", required_argument, NULL, OPT_UIDMAP },
		{ "gidmap", required_argument, NULL, OPT_GIDMAP },
		{ "ulimit", required_argument, NULL, OPT_ULIMIT },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	enum run_userns userns = RUN_USERNS_HOST;
	bool userns_given = false;
	int c;

	if (!o->pull)
		o->pull = "missing";
	optind = 0; /* glibc: start afresh (start parses a second argv) */
	/* "+": options end at IMAGE; what follows is the container's command */
	while ((c = getopt_long(argc, argv, "+:de:h:ip:tu:v:w:m:c:", opts, NULL)) != -1) {
		if (is_limit_opt(c)) {
			if (parse_limit(c, optarg, &o->limits, &o->rates, err) < 0)
				return as_usage(err);
			continue;
		}
		switch (c) {
		case 'R':
			o->rm = true;
			break;
		case 'd':
			o->detach = true;
			break;
		case 'N':
			o->name = optarg;
			break;
		case 'e':
			if (!*optarg || *optarg == '=')
				return usage(err, "invalid environment variable: '%s'", optarg);
			lc_strv_push(&o->env, optarg);
			break;
		case 'E':
			o->entrypoint = optarg;
			break;
		case 'h':
			o->hostname = optarg;
			break;
		case OPT_INIT:
			o->init = true;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 't':
			o->tty = true;
			break;
		case 'P':
			o->platform = optarg;
			break;
		case OPT_PULL:
			if (strcmp(optarg, "missing") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never"))
				return usage(err,
					     "invalid --pull '%s' (want missing, always or never)",
					     optarg);
			o->pull = optarg;
			break;
		case 'S':
			if (parse_security_opt(o, optarg, err) < 0)
				return as_usage(err);
			break;
		case OPT_PRIVILEGED:
			o->privileged = true;
			break;
		case OPT_USERNS:
			if (!strcmp(optarg, "host"))
				userns = RUN_USERNS_HOST;
			else if (!strcmp(optarg, "auto") || !strncmp(optarg, "auto:", 5)) {
				userns = RUN_USERNS_AUTO;
				if (parse_userns_auto(optarg, &o->userns_size, err) < 0)
					return -1;
			} else if (!strcmp(optarg, "keep-id") && geteuid() == 0 &&
				   !lc_userns_nested())
				return usage(err,
					     "--userns=keep-id is for rootless runs (podman's); as "
					     "root use --userns=auto or --uidmap");
			else if (!strcmp(optarg, "keep-id"))
				/*
				 * Keeping the user's id inside means the layers' owners seen
				 * through another map: an idmapped mount, which the kernel
				 * refuses an unprivileged user on overlayfs (EINVAL: it is
				 * not FS_ALLOW_IDMAP) and on the store's filesystem (only
				 * the host's root may idmap it). Copying the layers per map
				 * is what layerctl never does.
				 */
				return usage(
					err,
					"--userns=keep-id is not supported rootless: it needs the "
					"layers idmapped, which the kernel allows an unprivileged "
					"user neither on overlayfs nor on the store's filesystem, "
					"and layerctl does not copy layers per mapping; run as "
					"root with --uidmap to choose the container's ids");
			else
				return usage(
					err,
					"invalid --userns '%s' (want host, auto or auto:size=N)",
					optarg);
			userns_given = true;
			break;
		case OPT_UIDMAP:
		case OPT_GIDMAP: {
			size_t *n = c == OPT_UIDMAP ? &o->n_uidmap : &o->n_gidmap;

			if (*n == LC_IDMAP_MAX)
				return usage(err, "at most %d --%s flags", LC_IDMAP_MAX,
					     c == OPT_UIDMAP ? "uidmap" : "gidmap");
			if (lc_idmap_parse(optarg,
					   c == OPT_UIDMAP ? &o->uidmap[*n] : &o->gidmap[*n],
					   err) < 0)
				return as_usage(err);
			(*n)++;
			break;
		}
		case OPT_ULIMIT: {
			struct lc_rlimit rl;

			if (lc_ulimit_parse(optarg, &rl, err) < 0) {
				lc_err_prefix(err, "invalid argument \"%s\" for \"--ulimit\" flag",
					      optarg);
				return as_usage(err);
			}
			o->rlimits =
				lc_xrealloc(o->rlimits, (o->n_rlimits + 1) * sizeof(*o->rlimits));
			o->rlimits[o->n_rlimits++] = rl;
			lc_strv_push(&o->ulimit_strs, optarg);
			break;
		}
		case OPT_DEVICE: {
			struct lc_device d;

			if (lc_device_parse(optarg, &d, err) < 0)
				return as_usage(err);
			o->devices =
				lc_xrealloc(o->devices, (o->n_devices + 1) * sizeof(*o->devices));
			o->devices[o->n_devices++] = d;
			break;
		}
		case 'u':
			o->user = optarg;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		case OPT_CGROUP_PARENT:
			if (lc_cgroup_parent_check(optarg, err) < 0)
				return as_usage(err);
			o->cgroup_parent = optarg;
			break;
		case 'v':
		case OPT_MOUNT:
		case OPT_TMPFS:
			if ((c == 'v' ? parse_volume_flag(o, optarg, &o->mount_strs, err)
			     : c == OPT_MOUNT
				     ? parse_mount_flag(o, optarg, &o->mount_strs, err)
				     : parse_tmpfs_flag(o, optarg, &o->mount_strs, err)) < 0)
				return as_usage(err);
			break;
		case OPT_READ_ONLY:
			o->read_only = true;
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP:
			if (strcasecmp(optarg, "ALL") && lc_cap_number(optarg) < 0)
				return usage(err, "invalid capability: %s", optarg);
			lc_strv_push(c == OPT_CAP_ADD ? &o->cap_add : &o->cap_drop, optarg);
			break;
		case OPT_NET:
			if (!strcmp(optarg, "host"))
				o->host_net = true;
			else if (strcmp(optarg, "none") != 0)
				return usage(
					err,
					"network '%s': layerctl has no bridge; 'none' (the "
					"default: a namespace of its own with lo only) or 'host'",
					optarg);
			break;
		case OPT_UTS:
		case OPT_IPC:
		case OPT_PID:
			if (strcmp(optarg, "host") != 0)
				return usage(err, "--%s %s is not supported (only 'host' is)",
					     c == OPT_PID   ? "pid"
					     : c == OPT_UTS ? "uts"
							    : "ipc",
					     optarg);
			*(c == OPT_UTS	 ? &o->host_uts
			  : c == OPT_IPC ? &o->host_ipc
					 : &o->host_pid) = true;
			break;
		case OPT_ADD_HOST:
		case OPT_DNS: {
			const char *ip = optarg;
			unsigned char buf[16];

			if (c == OPT_ADD_HOST) {
				const char *colon = strchr(optarg, ':');

				ip = colon ? colon + 1 : "";
				if (!colon || colon == optarg ||
				    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
						   "VWXYZ0123456789-.") != (size_t)(colon - optarg))
					return usage(
						err,
						"invalid argument \"%s\" for \"--add-host\" flag: "
						"bad format for add-host: \"%s\"",
						optarg, optarg);
			}
			if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
				return usage(err, "invalid IP address '%s' in \"%s\"", ip, optarg);
			lc_strv_push(c == OPT_DNS ? &o->dns : &o->add_hosts, optarg);
			break;
		}
		case 'p': {
			struct lc_port port;

			if (lc_port_parse(optarg, &port, err) < 0)
				return as_usage(err);
			o->ports = lc_xrealloc(o->ports, (o->n_ports + 1) * sizeof(*o->ports));
			o->ports[o->n_ports++] = port;
			break;
		}
		case 'H':
			o->help = true;
			return optind;
		default: {
			/* getopt stays quiet (the leading ':'): pflag's words, as docker's */
			const char *arg = optind > 0 ? argv[optind - 1] : "";
			int n = (int)strcspn(arg, "=");

			if (strncmp(arg, "--", 2) != 0 && c == ':')
				return usage(err, "flag needs an argument: '%c' in -%c", optopt,
					     optopt);
			if (strncmp(arg, "--", 2) != 0)
				return usage(err, "unknown shorthand flag: '%c' in %s", optopt,
					     arg);
			if (c == ':')
				return usage(err, "flag needs an argument: %.*s", n, arg);
			return usage(err, "unknown flag: %.*s", n, arg);
		}
		}
	}
	/* podman's rules: a map is a user namespace of its own, auto is not a map */
	if (o->n_gidmap && !o->n_uidmap)
		return usage(err, "--gidmap needs --uidmap");
	if (o->n_uidmap && userns_given)
		return usage(err, "--userns and --uidmap/--gidmap cannot be used together");
	o->userns = o->n_uidmap ? RUN_USERNS_MAP : userns;
	/* docker's: what shares the host's namespaces cannot be remapped */
	if (o->userns != RUN_USERNS_HOST && (o->privileged || o->host_pid || o->host_net))
		return usage(err,
			     "%s cannot be used with a user namespace (--userns host is "
			     "needed: the host's namespaces belong to the host's users)",
			     o->privileged ? "--privileged"
			     : o->host_pid ? "--pid host"
					   : "--net host");
	o->caps = caps_of(o->cap_add, o->cap_drop);
	/* docker: every capability, no seccomp filter, every device; --cap-* do not matter */
	if (o->privileged) {
		o->caps = lc_caps_ours();
		o->no_seccomp = true;
		o->limits.devices_all = true;
	}
	o->limits.devices = o->devices;
	o->limits.n_devices = o->n_devices;
	/* what `start` parses again: the options as given, up to the image */
	lc_strv_free(o->raw);
	o->raw = lc_xcalloc(1, sizeof(char *));
	for (int i = 1; i < optind && i < argc; i++)
		lc_strv_push(&o->raw, argv[i]);
	/* docker's daemon checks, before anything is pulled or started */
	if (lc_cgroup_limits_check(&o->limits, err) < 0)
		return -1;
	return optind;
}
