/* SPDX-License-Identifier: MIT */
/*
 * mount: the overlay stack of a container and the namespace launcher. Never talks to a
 * registry.
 */
#ifndef LC_MOUNT_H
#define LC_MOUNT_H

#include <sys/types.h>

#include "../base/base.h"
#include "../store/store.h"

/*
 * Mount overlay on <cdir>/merged with lowerdir = the layers' l/ links (lowers: chain ids,
 * topmost first), upperdir <cdir>/upper, workdir <cdir>/work, index=off. Keeps the option
 * string under a page (relative l/ paths from the store root). At most LC_MAX_LAYERS layers.
 */
int lc_overlay_mount(struct lc_store *s, const char *const *lowers, size_t n_lowers,
		     const char *cdir, struct lc_err **err);
/* Unmount <cdir>/merged (lazily if busy). Not mounted is success. */
int lc_overlay_umount(const char *cdir, struct lc_err **err);

struct lc_launch_cfg {
	const char *rootfs;   /* the merged dir */
	char *const *argv;    /* what to exec: Entrypoint+Cmd or the user's command */
	char *const *env;     /* KEY=VALUE, NULL-terminated */
	const char *cwd;      /* inside the container; NULL: "/" */
	const char *hostname; /* UTS name; NULL: "localhost" */
	/*
	 * Where lc_launch writes the container's hostname, hosts and resolv.conf (created if
	 * missing, e.g. <cdir>/etc, outside the rootfs); they are bind-mounted over /etc/hostname,
	 * /etc/hosts and /etc/resolv.conf. NULL: the image's own files are left as they are.
	 */
	const char *state_dir;
	const char *user; /* "uid[:gid]" or "name[:group]" from the image/-u; NULL: root */
	/*
	 * -t: the container's fds 0, 1, 2 are a pty of its own devpts (its controlling
	 * terminal), proxied to the caller's fds 0 (with interactive) and 1; the caller's
	 * terminal, if stdin is one, goes raw meanwhile (with interactive) and lends its size.
	 */
	bool tty;
	bool interactive; /* -i: fd 0 is the caller's (or proxied, with tty); else /dev/null */
	bool no_seccomp;  /* skip docker's default seccomp filter (seccomp=unconfined) */
};

/*
 * Run cfg->argv in new PID, mount, UTS, IPC and network namespaces rooted at cfg->rootfs and
 * wait for it. *ret_status is what a shell would report: the exit code, or 128+signal.
 * Failures before the command runs are -1 with *err (code LC_ERR_NOEXEC when the command
 * does not exist: exit 127; LC_ERR_EXEC when it cannot be executed: 126; others 125).
 * Needs root (LC_ERR_INVALID otherwise). The command runs as PID 1 of its namespace with
 * docker's default capabilities, no_new_privs, docker's masked /proc paths, only fds 0, 1, 2
 * and docker's default seccomp filter (unless cfg->no_seccomp; a kernel that refuses the
 * filter fails the start: 125). SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the caller are
 * forwarded to it while lc_launch waits; when it returns, nothing of the container is left
 * running. The command runs in a session of its own: whatever terminal the caller has is
 * never its controlling terminal (no TIOCSTI, no TIOCSPGRP on it). cfg->tty with
 * cfg->interactive needs a terminal on fd 0 (LC_ERR_INVALID "the input device is not a TTY");
 * a terminal lc_launch made raw is restored before it returns.
 */
int lc_launch(const struct lc_launch_cfg *cfg, int *ret_status, struct lc_err **err);

#endif
