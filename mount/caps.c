/* SPDX-License-Identifier: MIT */
/*
 * caps: who the container's command runs as. docker's default capability set (bounding,
 * permitted, effective; inheritable and ambient empty), the user and groups resolved from the
 * image's own /etc/passwd and /etc/group (user.c parses them), opened inside the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount-int.h"

static const char *const cap_names[] = {
	"CHOWN",
	"DAC_OVERRIDE",
	"DAC_READ_SEARCH",
	"FOWNER",
	"FSETID",
	"KILL",
	"SETGID",
	"SETUID",
	"SETPCAP",
	"LINUX_IMMUTABLE",
	"NET_BIND_SERVICE",
	"NET_BROADCAST",
	"NET_ADMIN",
	"NET_RAW",
	"IPC_LOCK",
	"IPC_OWNER",
	"SYS_MODULE",
	"SYS_RAWIO",
	"SYS_CHROOT",
	"SYS_PTRACE",
	"SYS_PACCT",
	"SYS_ADMIN",
	"SYS_BOOT",
	"SYS_NICE",
	"SYS_RESOURCE",
	"SYS_TIME",
	"SYS_TTY_CONFIG",
	"MKNOD",
	"LEASE",
	"AUDIT_WRITE",
	"AUDIT_CONTROL",
	"SETFCAP",
	"MAC_OVERRIDE",
	"MAC_ADMIN",
	"SYSLOG",
	"WAKE_ALARM",
	"BLOCK_SUSPEND",
	"AUDIT_READ",
	"PERFMON",
	"BPF",
	"CHECKPOINT_RESTORE",
};

int lc_cap_number(const char *name)
{
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (size_t i = 0; i < LC_ARRAY_SIZE(cap_names); i++)
		if (!strcasecmp(name, cap_names[i]))
			return (int)i;
	return -1;
}

uint64_t lc_caps_all(void)
{
	return (1ULL << LC_ARRAY_SIZE(cap_names)) - 1;
}

uint64_t lc_caps_ours(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return ((uint64_t)data[1].permitted << 32 | data[0].permitted) & lc_caps_all();
}

void lc_trace_caps_(const char *what, uint64_t set)
{
	char kept[1024], dropped[1024];
	size_t k = 0, d = 0, nk = 0, nd = 0;

	kept[0] = dropped[0] = 0;
	for (size_t i = 0; i < LC_ARRAY_SIZE(cap_names); i++) {
		bool in = set & (1ULL << i);
		char *b = in ? kept : dropped;
		size_t *off = in ? &k : &d;

		if (*off < sizeof(kept))
			*off += (size_t)snprintf(b + *off, sizeof(kept) - *off, "%sCAP_%s",
						 *off ? "," : "", cap_names[i]);
		*(in ? &nk : &nd) += 1;
	}
	lc_trace("%s: kept %zu: %s; dropped %zu: %s", what, nk, nk ? kept : "none", nd,
		 nd ? dropped : "none");
}

int lc_caps_drop_bounding(uint64_t keep, struct lc_err **err)
{
	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last cap (cap_last_cap) */
	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "drop capability %d", cap);
	lc_trace_caps("prctl(PR_CAPBSET_DROP) = 0 for each dropped from the bounding set", keep);
	return 0;
}

static int set_caps(bool root, uint64_t caps, struct lc_err **err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t m = root ? caps : 0;

	/* a non-root user keeps none (setuid already cleared them), like docker */
	data[0].permitted = data[0].effective = (uint32_t)m;
	data[1].permitted = data[1].effective = (uint32_t)(m >> 32);
	/* inheritable stays empty: CVE-2022-29162 */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set capabilities");
	lc_trace_caps("capset(permitted, effective) = 0, inheritable empty", m);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return lc_err_set(err, LC_ERR_SYS, errno, "clear ambient capabilities");
	return 0;
}

int lc_become_user(const struct lc_user_spec *spec, bool tty, uint64_t caps, char **home_env,
		   struct lc_err **err)
{
	cleanup_close int pw = -1;
	cleanup_close int gr = -1;
	struct lc_user u;

	pw = lc_open_ent("/etc/passwd", err);
	if (pw < 0 && *err)
		return -1;
	gr = lc_open_ent("/etc/group", err);
	if (gr < 0 && *err)
		return -1;
	if (lc_user_resolve(spec, pw, gr, &u, err) < 0)
		return -1;
	if (home_env)
		*home_env = lc_xasprintf("HOME=%s", u.home[0] ? u.home : "/");
	/* the user's own terminal, as with docker -t -u: it may reopen /dev/pts/0 (/dev/stdout) */
	if (tty && fchown(0, u.uid, (gid_t)-1) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "tty: give it to uid %u", u.uid);
	if (setgroups(u.n_groups, u.groups) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "setgroups");
	if (setgid(u.gid) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "setgid %u", u.gid);
	if (setuid(u.uid) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "setuid %u", u.uid);
	lc_trace("setgroups(%zu) = 0, setgid(%u) = 0, setuid(%u) = 0", (size_t)u.n_groups,
		 (unsigned)u.gid, (unsigned)u.uid);
	return set_caps(u.uid == 0, caps, err);
}
