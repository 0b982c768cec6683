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
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount-int.h"

static const int default_caps[] = {
	CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,	     CAP_FOWNER,
	CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,	     CAP_SETUID,
	CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
	CAP_KILL,    CAP_AUDIT_WRITE,
};

static uint64_t default_cap_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < LC_ARRAY_SIZE(default_caps); i++)
		m |= 1ULL << default_caps[i];
	return m;
}

int lc_caps_drop_bounding(struct lc_err **err)
{
	uint64_t keep = default_cap_mask();

	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last cap (cap_last_cap) */
	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "drop capability %d", cap);
	return 0;
}

static int set_caps(bool root, struct lc_err **err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t m = root ? default_cap_mask() : 0;

	/* a non-root user keeps none (setuid already cleared them), like docker */
	data[0].permitted = data[0].effective = (uint32_t)m;
	data[1].permitted = data[1].effective = (uint32_t)(m >> 32);
	/* inheritable stays empty: CVE-2022-29162 */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return lc_err_set(err, LC_ERR_SYS, errno, "clear ambient capabilities");
	return 0;
}

int lc_become_user(const struct lc_user_spec *spec, bool tty, char **home_env, struct lc_err **err)
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
	return set_caps(u.uid == 0, err);
}
