/* SPDX-License-Identifier: MIT */
/*
 * launch: start a container like `docker run` does, as root; reads top to bottom. The parent
 * unshares only its pid namespace for children, forks (so glibc's fork handlers keep malloc
 * sane in the child) and steps back; the child is PID 1 of the new namespace: it joins its
 * cgroup, keeps only the fds it needs, creates the mount, UTS, IPC, network and cgroup
 * namespaces, builds the rootfs (rootfs.c), pivots, and runs the command (exec.c: user and
 * capabilities from caps.c, seccomp.c's filter). Errors before execve come back over a
 * CLOEXEC pipe; EOF on it means execve succeeded. The parent then copies the container's
 * streams (stdio.c, or pty.c under -t), forwards signals and reaps it.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "mount-int.h"

static int loopback_up(struct lc_err **err)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	if (s < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "loopback: socket");
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "loopback: get flags of 'lo'");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "loopback: bring 'lo' up");
	lc_trace("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP) = 0: loopback up in the new network "
		 "namespace");
	return 0;
}

struct launch_ctx {
	const struct lc_launch_cfg *cfg;
	const char *hostname;
	struct lc_user_spec user;
	char **envp; /* with a free slot for HOME at envp[n_env] */
	size_t n_env;
	bool need_home;
	int statefd;	/* -1: no /etc files */
	dev_t self_dev; /* our own binary, which the container must never execute */
	ino_t self_ino;
	int ttysock;	   /* cfg->tty: where the pty's master goes */
	struct winsize ws; /* cfg->tty: the caller's window size, if has_ws */
	bool has_ws;
	struct lc_stdio_plan stdio; /* !cfg->tty: pipes for the fds that may not pass through */
	int targetfd;		    /* cfg->join_pid: a pidfd of the container's init */
	bool join_userns;	    /* cfg->join_pid: its user namespace is not ours */
	int etc_fds[3]; /* --userns: the state dir's hostname, hosts, resolv.conf (O_PATH) */
	struct lc_seccomp_prog *seccomp; /* cfg->seccomp_profile, compiled before the fork */
};

/*
 * fds 0, 1, 2 of the container. -t: a new pty of the container's own devpts becomes its
 * controlling terminal (we lead a session of our own by now) and all three fds; the master
 * goes to the launcher, which alone holds it from here on. Without -i, stdin is the
 * container's /dev/null (docker's); with -i it stays the caller's.
 */
static int setup_stdio(struct launch_ctx *c, int rootfd, struct lc_err **err)
{
	cleanup_close int fd = -1;
	struct stat st;

	if (c->cfg->tty) {
		cleanup_close int pts = lc_rootfs_resolve(rootfd, "dev/pts", T_DIR, 0, err);
		cleanup_close int master = -1;

		if (pts < 0)
			return *err ? -1 : lc_err_set(err, LC_ERR_SYS, ENOENT, "open '/dev/pts'");
		if (lc_pty_open(pts, c->has_ws ? &c->ws : NULL, &master, &fd, err) < 0)
			return lc_err_prefix(err, "tty");
		if (ioctl(fd, TIOCSCTTY, 0) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno,
					  "tty: make it the controlling terminal");
		for (int i = 0; i < 3; i++)
			if (dup2(fd, i) < 0)
				return lc_err_set(err, LC_ERR_SYS, errno, "tty: make it fd %d", i);
		if (lc_fd_send(c->ttysock, master, err) < 0)
			return -1;
		close(c->ttysock);
		c->ttysock = -1;
		return 0;
	}
	if (c->cfg->interactive)
		return 0;
	fd = openat(rootfd, "dev/null", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/dev/null' is not the null device");
	if (dup2(fd, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "stdin from '/dev/null'");
	return 0;
}

/*
 * First thing in the child: the container's fds 0, 1, 2 (pipes where ours may not pass
 * through), the launch protocol's fds at 3 (sync pipe), 4 (state dir), 5 (tty socket), 6 (the
 * container to join), and
 * nothing else: the store's dirs and whatever else the caller had open are closed before
 * anything of the image is looked at.
 */
static int child_fds(struct launch_ctx *c, int *syncfd, struct lc_err **err)
{
	int *const keep[] = { syncfd, &c->statefd, &c->ttysock, &c->targetfd, &lc_trace_fd };

	for (int i = 0; i < 3; i++)
		if (c->stdio.child[i] >= 0 && dup2(c->stdio.child[i], i) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "stdio: make the pipe fd %d", i);
	return lc_fds_keep_only(keep, LC_ARRAY_SIZE(keep), err);
}

/*
 * In a user namespace whose maps the launcher wrote: become its root (the map's host id of 0
 * on the host), without the host's supplementary groups. Until then we are the host's uid 0,
 * unmapped here (nobody): that still lets us walk the store's 0700 dirs to the rootfs, but
 * creating a file in a filesystem of the namespace (the container's /dev) would fail. A change
 * of ids clears the parent-death signal: armed again.
 */
static int become_ns_root(struct lc_err **err)
{
	/* "deny" (a map written without privilege) forbids it; the groups are then ours only */
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return lc_err_set(err, LC_ERR_SYS, errno, "user namespace: drop the host's groups");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno,
				  "user namespace: become its root (is 0 mapped?)");
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	lc_trace("setresgid(0, 0, 0) = 0, setresuid(0, 0, 0) = 0: root of the user namespace");
	return 0;
}

/*
 * --userns, before we become the namespace's root: what we must reach through the host's dirs
 * (the store's are 0700) is opened now, in our new mount namespace: the state dir (replacing
 * c->statefd, checked to be the dir the launcher opened) and the bind mounts' sources (the
 * user named them: followed as written, as root would).
 */
static int open_as_host_root(struct launch_ctx *c, int *src_fds, struct lc_err **err)
{
	const struct lc_launch_cfg *cfg = c->cfg;

	if (c->statefd >= 0) {
		int fd = open(cfg->state_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat a, b;

		if (fd < 0 || fstat(fd, &a) < 0 || fstat(c->statefd, &b) < 0 ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			if (fd >= 0)
				close(fd);
			return lc_err_set(err, LC_ERR_UNSAFE, errno, "'%s' changed while starting",
					  cfg->state_dir);
		}
		close(c->statefd);
		c->statefd = fd;
		for (size_t i = 0; i < LC_ARRAY_SIZE(c->etc_fds); i++) {
			static const char *const files[] = { "hostname", "hosts", "resolv.conf" };

			c->etc_fds[i] = openat(fd, files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (c->etc_fds[i] < 0)
				return lc_err_set(err, LC_ERR_SYS, errno,
						  "open the container's '%s'", files[i]);
		}
	}
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (cfg->mounts[i].kind != LC_MOUNT_BIND)
			continue;
		src_fds[i] = open(cfg->mounts[i].source, O_PATH | O_CLOEXEC);
		if (src_fds[i] < 0)
			return lc_err_set(err, LC_ERR_NOTFOUND, errno, "bind source path '%s'",
					  cfg->mounts[i].source);
	}
	return 0;
}

static void close_etc_fds(struct launch_ctx *c)
{
	for (size_t i = 0; i < LC_ARRAY_SIZE(c->etc_fds); i++) {
		if (c->etc_fds[i] >= 0)
			close(c->etc_fds[i]);
		c->etc_fds[i] = -1;
	}
}

/* Runs as PID 1 of the new pid namespace, still root, still seeing the host's mounts. */
static int child_setup(struct launch_ctx *c, struct lc_err **err)
{
	const struct lc_launch_cfg *cfg = c->cfg;
	cleanup_close int rootfd = -1;
	cleanup_close int nullfd = -1;
	cleanup_free int *src_fds = lc_xcalloc(cfg->n_mounts + 1, sizeof(int));
	/* --net/--uts/--ipc host: that namespace of ours is shared, on the user's word */
	int ns = CLONE_NEWNS | CLONE_NEWCGROUP | (cfg->host_uts ? 0 : CLONE_NEWUTS) |
		 (cfg->host_ipc ? 0 : CLONE_NEWIPC) | (cfg->host_net ? 0 : CLONE_NEWNET);

	for (size_t i = 0; i < cfg->n_mounts; i++)
		src_fds[i] = -1;
	umask(0);
	/*
	 * A session of our own: the caller's terminal, if any, is no longer our controlling
	 * terminal, so the image can neither push input into it (TIOCSTI needs the controlling
	 * tty or CAP_SYS_ADMIN) nor take its foreground process group (TIOCSPGRP).
	 */
	if (setsid() < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "new session");
	if (unshare(ns) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create namespaces");
	lc_trace_ns("unshare", ns, 0);
	lc_trace_phase("namespaces made");
	/* nothing we mount from here on may propagate back to the host */
	if (lc_rootfs_enter(cfg->rootfs, &rootfd, err) < 0 ||
	    (cfg->n_uidmap > 0 &&
	     (open_as_host_root(c, src_fds, err) < 0 || become_ns_root(err) < 0)) ||
	    lc_rootfs_mount_proc_dev(rootfd, cfg->privileged, &nullfd, err) < 0 ||
	    lc_rootfs_devices(rootfd, cfg->devices, cfg->n_devices, err) < 0 ||
	    setup_stdio(c, rootfd, err) < 0 ||
	    lc_rootfs_finish(rootfd, nullfd, cfg->privileged, cfg->state_dir, c->statefd,
			     cfg->n_uidmap > 0 && c->statefd >= 0 ? c->etc_fds : NULL, err) < 0 ||
	    lc_rootfs_user_mounts(rootfd, cfg->mounts, cfg->n_mounts,
				  cfg->n_uidmap > 0 ? src_fds : NULL, cfg->read_only, err) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (src_fds[i] >= 0)
			close(src_fds[i]);
	close_etc_fds(c);
	if (c->statefd >= 0)
		close(c->statefd);
	c->statefd = -1;
	if (!cfg->host_net && loopback_up(err) < 0)
		return -1;
	if (!cfg->host_uts && sethostname(c->hostname, strlen(c->hostname)) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set hostname '%s'", c->hostname);
	if (!cfg->host_uts)
		lc_trace("sethostname(\"%s\") = 0", c->hostname);
	lc_trace_phase("rootfs built");

	return lc_rootfs_pivot(rootfd, cfg->rootfs, err);
fail:
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (src_fds[i] >= 0)
			close(src_fds[i]);
	close_etc_fds(c);
	return -1;
}

/*
 * exec: we were forked into the container's pid namespace; join its other namespaces through
 * its init's pidfd (and with the mount namespace its root and cwd), then take its streams.
 */
static int child_join(struct launch_ctx *c, struct lc_err **err)
{
	cleanup_close int rootfd = -1;
	/* the user namespace first (the kernel joins it before the others it then owns) */
	int ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP |
		 (c->join_userns ? CLONE_NEWUSER : 0);

	umask(0);
	if (setsid() < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "new session");
	if (setns(c->targetfd, ns) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno,
				  errno == EINVAL ? "join the container's namespaces (setns on a "
						    "pidfd needs Linux 5.8)"
						  : "join the container's namespaces");
	lc_trace_ns("setns", ns, 0);
	close(c->targetfd);
	c->targetfd = -1;
	if (c->join_userns && become_ns_root(err) < 0)
		return -1;
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open the container's root");
	return setup_stdio(c, rootfd, err);
}

/* What goes through the sync pipe when the child fails before execve. */
struct sync_msg {
	int32_t code, sys_errno, status;
	char msg[1024];
};

static _Noreturn void child_main(struct launch_ctx *c, int syncfd)
{
	struct lc_err *err = NULL;
	struct sync_msg m = { 0 };
	int status = 125;

	/*
	 * First of all, so that everything the container does is counted and limited (and
	 * before child_fds closes the cgroup.procs fds the parent opened for us): the child
	 * joins by itself, the parent writing our pid would need one more round trip on a pipe.
	 * The cgroup namespace child_setup creates is then rooted at the container's cgroup.
	 */
	/*
	 * exec: not dumpable until execve, so that nothing in the container can open our
	 * /proc/<pid>/exe, mem or fds while we are in its namespaces (CVE-2019-5736's class)
	 */
	if (c->cfg->join_pid > 0)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((!c->cfg->cgroup || lc_cgroup_enter(c->cfg->cgroup, &err) == 0) &&
	    (c->cfg->join_pid <= 0 || !c->cfg->cgroup_id ||
	     lc_cgroup_join_pid(c->cfg->join_pid, c->cfg->cgroup_id, &err) == 0) &&
	    child_fds(c, &syncfd, &err) == 0 &&
	    (c->cfg->join_pid > 0 ? child_join(c, &err) : child_setup(c, &err)) == 0) {
		struct lc_exec_spec x = {
			.argv = c->cfg->argv,
			.envp = c->envp,
			.n_env = c->n_env,
			.need_home = c->need_home,
			.cwd = c->cfg->cwd,
			.user = &c->user,
			.user_label = c->cfg->user,
			.tty = c->cfg->tty,
			.no_seccomp = c->cfg->no_seccomp,
			.init = c->cfg->init && c->cfg->join_pid <= 0,
			.seccomp = c->seccomp,
			.no_new_privs = c->cfg->no_new_privs,
			.rlimits = c->cfg->rlimits,
			.n_rlimits = c->cfg->n_rlimits,
			.caps = c->cfg->caps_set ? c->cfg->caps : LC_DEFAULT_CAPS,
			.self_dev = c->self_dev,
			.self_ino = c->self_ino,
		};

		lc_exec_command(&x, &status, &err);
	}
	if (!err)
		lc_err_set(&err, LC_ERR_SYS, 0, "container setup failed (no reason given: bug)");
	m.code = (int32_t)err->code;
	m.sys_errno = err->sys_errno;
	m.status = status;
	snprintf(m.msg, sizeof(m.msg), "%s", err->msg);
	lc_write_all(syncfd, &m, sizeof(m));
	_exit(status);
}

/*
 * Rootless exec, in the launcher's child: a process of rootless layerctl could enter the
 * container's pid namespace for its children, but never go back to the host's (not its user
 * namespace's); so this child enters it and forks the process that joins the container,
 * then stays as its parent: it forwards the launcher's four signals to it and exits with its
 * status. Returns only in that process.
 */
static void join_pid_ns_and_wait(struct launch_ctx *c, int syncfd)
{
	sigset_t set;
	pid_t pid;
	int ws;

	if (setns(c->targetfd, CLONE_NEWPID) < 0) {
		struct sync_msg m = { .code = LC_ERR_SYS, .sys_errno = errno, .status = 125 };

		snprintf(m.msg, sizeof(m.msg), "exec: join the container's pid namespace: %s",
			 strerror(errno));
		lc_write_all(syncfd, &m, sizeof(m));
		_exit(125);
	}
	pid = fork();
	if (pid == 0) {
		/*
		 * The launcher's signals stay blocked until the command's exec resets them. We die
		 * with our parent, which dies with the launcher (both armed before they look).
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* our parent is outside this pid namespace (0); orphaned, the container's init
		 * would be it */
		if (getppid() != 0)
			_exit(125);
		return;
	}
	if (pid < 0)
		_exit(125);
	/* only the child holds the sync pipe and the container's streams now */
	lc_close_from(3, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig > 0 && sig != SIGCHLD)
			kill(pid, sig);
		if (waitpid(pid, &ws, WNOHANG) == pid)
			_exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
	}
}

/* ---------- the parent ---------- */

static volatile sig_atomic_t forward_pid;
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void forward_signal(int sig)
{
	int saved = errno;

	if (forward_pid > 0)
		kill((pid_t)forward_pid, sig);
	errno = saved;
}

static bool hostname_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 63 || h[0] == '-' || h[0] == '.')
		return false;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

/* hostname, hosts, resolv.conf for the container, in state_dir (ours, outside the rootfs). */
static int write_state(const char *dir, const char *hostname, char *const *add_hosts,
		       char *const *dns, int *ret_fd, struct lc_err **err)
{
	cleanup_close int fd = -1;
	cleanup_free char *hosts = NULL, *hn = NULL, *resolv = NULL;
	size_t rlen = 0;
	struct lc_err *rerr = NULL;

	if (lc_mkdir_p_at(AT_FDCWD, dir, 0700, err) < 0)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", dir);
	hn = lc_xasprintf("%s\n", hostname);
	/* the container's network namespace has only loopback */
	hosts = lc_xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			     "127.0.1.1\t%s\n",
			     hostname);
	/* --add-host NAME:IP, docker's order in the file: IP, then the name */
	for (size_t i = 0; add_hosts && add_hosts[i]; i++) {
		const char *colon = strchr(add_hosts[i], ':');
		char *more;

		if (!colon)
			continue; /* checked by the caller */
		more = lc_xasprintf("%s%s\t%.*s\n", hosts, colon + 1, (int)(colon - add_hosts[i]),
				    add_hosts[i]);
		free(hosts);
		hosts = more;
	}
	if (dns && dns[0]) {
		resolv = lc_xstrdup("");
		for (size_t i = 0; dns[i]; i++) {
			char *more = lc_xasprintf("%snameserver %s\n", resolv, dns[i]);

			free(resolv);
			resolv = more;
		}
		rlen = strlen(resolv);
	} else if (lc_read_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &resolv, &rlen, &rerr) <
		   0) {
		lc_err_free(rerr);
		free(resolv);
		resolv = lc_xstrdup("");
		rlen = 0;
	}
	/* written anew at every start: no fsync */
	if (lc_write_file_replace_at(fd, "hostname", hn, strlen(hn), 0644, err) < 0 ||
	    lc_write_file_replace_at(fd, "hosts", hosts, strlen(hosts), 0644, err) < 0 ||
	    lc_write_file_replace_at(fd, "resolv.conf", resolv, rlen, 0644, err) < 0)
		return lc_err_prefix(err, "container files in '%s'", dir);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int status_of(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 125;
}

static int wait_child(pid_t pid, int *ret_ws)
{
	for (;;) {
		if (waitpid(pid, ret_ws, 0) == pid)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * Parent, -t: the container runs; until it is gone, the caller's stdin (with -i) goes into the
 * pty and the pty comes out on our stdout, the caller's terminal raw meanwhile. On failure the
 * container is killed (the caller still reaps it).
 */
static int run_tty(const struct lc_launch_cfg *cfg, pid_t pid, int master, int size_fd,
		   struct lc_err **err)
{
	cleanup_close int pidfd = -1;
	int r;

#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1 before 5.3: the pty's EIO ends it */
#endif
	/* -dt: the monitor holds the pty (input never comes, output goes to the log) */
	if (cfg->detached) {
		r = lc_pty_proxy_log(master, pidfd, cfg->log_fd, err);
		if (r < 0)
			kill(pid, SIGKILL);
		return r;
	}
	/* lc_launch checked that stdin is a terminal */
	if (cfg->interactive && lc_tty_make_raw(0, err) < 0) {
		kill(pid, SIGKILL);
		return -1;
	}
	r = lc_pty_proxy(master, cfg->interactive ? 0 : -1, 1, size_fd, pidfd, err);
	lc_tty_restore();
	if (r < 0)
		kill(pid, SIGKILL);
	return r;
}

int lc_launch(const struct lc_launch_cfg *cfg, int *ret_status, struct lc_err **err)
{
	struct launch_ctx c = { .cfg = cfg,
				.statefd = -1,
				.ttysock = -1,
				.targetfd = -1,
				.etc_fds = { -1, -1, -1 },
				.stdio = { { -1, -1, -1 }, { -1, -1, -1 } } };
	cleanup_close int targetfd = -1;
	cleanup_close int pidfd = -1;
	cleanup_free char *hostname_env = NULL;
	cleanup_close int statefd = -1;
	cleanup_close int pidns = -1;
	cleanup_close int master = -1;
	int ttysock[2] = { -1, -1 }; /* -t: the child sends the pty's master on [1] */
	int size_fd = -1;	     /* -t: the terminal whose window size the pty takes */
	int pipefd[2] = { -1, -1 };
	int alive[2] = { -1, -1 }; /* we hold the write end: its EOF tells the child we died */
	int usync[2] = { -1, -1 }; /* --userns: a byte on it tells the child its maps are there */
	bool userns = cfg->n_uidmap > 0 && cfg->join_pid <= 0;
	/*
	 * The pid namespace comes with the clone (not unshare, fork, then setns back) with
	 * --userns, and in rootless layerctl's user namespace, where going back to the host's
	 * pid namespace (not ours to enter) would be refused.
	 */
	bool nested = lc_userns_nested();
	bool clone_pid = !cfg->host_pid && cfg->join_pid <= 0 && (userns || nested);
	/* rootless exec: the same for the container's pid namespace (join_pid_ns_and_wait) */
	bool join_in_child = cfg->join_pid > 0 && nested;
	struct sigaction fwd = { .sa_handler = forward_signal }, old[LC_ARRAY_SIZE(forwarded)];
	sigset_t block, oldmask;
	struct sync_msg m;
	size_t got = 0;
	pid_t pid;
	int ws, fork_errno, pr = 0, r = -1;

	if (geteuid() != 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "run needs root (rootless mode is not supported yet)");
	if ((!cfg->rootfs && cfg->join_pid <= 0) || !cfg->argv || !cfg->argv[0])
		return lc_err_set(err, LC_ERR_INVALID, 0, "run: no rootfs or no command");
	if (!cfg->argv[0][0])
		return lc_err_set(err, LC_ERR_NOEXEC, 0,
				  "exec: \"\": executable file not found in $PATH");
	c.hostname = cfg->hostname ? cfg->hostname : "localhost";
	if (!hostname_ok(c.hostname))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid hostname '%.80s'", c.hostname);
	if (lc_user_parse(cfg->user, &c.user, err) < 0)
		return -1;
	if (cfg->tty && cfg->interactive && !cfg->detached && !isatty(0))
		return lc_err_set(err, LC_ERR_INVALID, 0, "the input device is not a TTY");

	/* the environment, with docker's defaults for what the image left out */
	c.n_env = lc_strv_len(cfg->env);
	c.envp = lc_xcalloc(c.n_env + 4, sizeof(char *));
	for (size_t i = 0; i < c.n_env; i++)
		c.envp[i] = cfg->env[i];
	if (!lc_env_get(c.envp, "PATH"))
		c.envp[c.n_env++] = (char *)"PATH=" LC_DEFAULT_PATH;
	if (!lc_env_get(c.envp, "HOSTNAME"))
		c.envp[c.n_env++] = hostname_env = lc_xasprintf("HOSTNAME=%s", c.hostname);
	c.need_home = !lc_env_get(c.envp, "HOME");

	{
		struct stat self;

		if (stat("/proc/self/exe", &self) < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "run: stat our own binary");
			goto out;
		}
		c.self_dev = self.st_dev;
		c.self_ino = self.st_ino;
	}
	/* a profile that does not compile fails the start here, before anything runs */
	if (cfg->seccomp_profile && !cfg->no_seccomp &&
	    lc_seccomp_profile_load(
		    cfg->seccomp_cache, cfg->seccomp_profile, strlen(cfg->seccomp_profile),
		    cfg->caps_set ? cfg->caps : LC_DEFAULT_CAPS, &c.seccomp, NULL, err) < 0)
		goto out;
	if (cfg->state_dir &&
	    write_state(cfg->state_dir, c.hostname, cfg->add_hosts, cfg->dns, &statefd, err) < 0)
		goto out;
	c.statefd = statefd;
	lc_trace_phase("etc files written");
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
		goto out;
	}
	if (pipe2(alive, O_CLOEXEC) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
		goto out;
	}
	if (cfg->tty) {
		/* -dt: the monitor's fds are /dev/null; the pty gets a terminal's usual 24x80 */
		size_fd = cfg->detached ? -1 : isatty(0) ? 0 : isatty(1) ? 1 : -1;
		c.has_ws = size_fd >= 0 && ioctl(size_fd, TIOCGWINSZ, &c.ws) == 0;
		if (cfg->detached) {
			c.ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
			c.has_ws = true;
		}
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttysock) < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "run: socketpair");
			goto out;
		}
		c.ttysock = ttysock[1];
	} else if ((cfg->detached ? lc_stdio_plan_open_log(&c.stdio, cfg->interactive, err)
				  : lc_stdio_plan_open(&c.stdio, cfg->interactive, err)) < 0) {
		goto out;
	}
	if (cfg->join_pid > 0) {
		struct stat ours, theirs;
		char path[64];

		targetfd = (int)syscall(SYS_pidfd_open, cfg->join_pid, 0);
		if (targetfd < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "exec: the container's process %d",
				   (int)cfg->join_pid);
			goto out;
		}
		c.targetfd = targetfd;
		/* a container run with --userns: its user namespace too */
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)cfg->join_pid);
		if (stat("/proc/self/ns/user", &ours) < 0 || stat(path, &theirs) < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "exec: stat the user namespaces");
			goto out;
		}
		c.join_userns = ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev;
	}
	if (userns && pipe2(usync, O_CLOEXEC) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
		goto out;
	}
	pidns = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (pidns < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: open our pid namespace");
		goto out;
	}

	/*
	 * Parent, privileged. Our next child becomes PID 1 of a new pid namespace; right after
	 * the fork this thread goes back to its own, so later forks are unaffected. The four
	 * signals wait until the forwarder knows the child's pid.
	 */
	sigemptyset(&block);
	for (size_t i = 0; i < LC_ARRAY_SIZE(forwarded); i++)
		sigaddset(&block, forwarded[i]);
	pthread_sigmask(SIG_BLOCK, &block, &oldmask);
	if (userns && cfg->host_pid) {
		lc_err_set(err, LC_ERR_INVALID, 0, "run: --pid host cannot have a user namespace");
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		goto out;
	}
	if (cfg->join_pid > 0		   ? !join_in_child && setns(targetfd, CLONE_NEWPID) < 0
	    : !cfg->host_pid && !clone_pid ? unshare(CLONE_NEWPID) < 0
					   : false) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: create pid namespace");
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		goto out;
	}
	/*
	 * --userns: the user namespace and the pid namespace in one clone, so that the new user
	 * namespace owns the pid namespace (mounting the container's /proc needs that) and every
	 * namespace the child creates after it. A raw clone runs no fork handlers: the launcher
	 * is single-threaded here (the mount threads are joined, the port forwarders start after).
	 */
	if (clone_pid)
		pid = (pid_t)syscall(SYS_clone,
				     (userns ? CLONE_NEWUSER : 0) | CLONE_NEWPID | SIGCHLD, 0, NULL,
				     NULL, 0);
	else
		pid = fork();
	fork_errno = errno;
	if (pid == 0) {
		struct pollfd pf;

		close(pipefd[0]);
		if (ttysock[0] >= 0)
			close(ttysock[0]);
		/*
		 * Child. A foreground container dies with its layerctl, even a SIGKILLed one
		 * (no daemon will ever reap it or unmount its rootfs). If we already lost the
		 * parent before asking, the pipe's write end is gone: stop here.
		 */
		close(alive[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		pf = (struct pollfd){ .fd = alive[0], .events = POLLIN };
		if (poll(&pf, 1, 0) != 0)
			_exit(125);
		close(alive[0]);
		/* --userns: nothing before the launcher wrote our maps (EOF: it failed) */
		if (userns) {
			char b = 0;
			ssize_t n;

			close(usync[1]);
			do
				n = read(usync[0], &b, 1);
			while (n < 0 && errno == EINTR);
			if (n != 1 || b != 'm')
				_exit(125);
			close(usync[0]);
		}
		if (join_in_child)
			join_pid_ns_and_wait(&c, pipefd[1]);
		child_main(&c, pipefd[1]);
	}
	/* back to ours for later children */
	if ((cfg->join_pid > 0 ? !join_in_child : !cfg->host_pid && !clone_pid) &&
	    setns(pidns, CLONE_NEWPID) < 0) {
		/* cannot happen for our own namespace; never leave the caller half-moved */
		int e = errno;

		if (pid > 0) {
			kill(pid, SIGKILL);
			wait_child(pid, &ws);
		}
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		lc_err_set(err, LC_ERR_SYS, e, "run: return to our pid namespace");
		goto out;
	}
	if (pid < 0) {
		lc_err_set(err, LC_ERR_SYS, fork_errno, "run: fork");
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		goto out;
	}
	lc_trace_ns(cfg->join_pid > 0 ? "setns"
		    : clone_pid	      ? "clone"
				      : "unshare",
		    (cfg->host_pid || join_in_child ? 0 : CLONE_NEWPID) |
			    (userns ? CLONE_NEWUSER : 0),
		    pid);
	if (userns) {
		struct lc_err *merr = NULL;

		close(usync[0]);
		usync[0] = -1;
		if (lc_userns_write_maps(pid, cfg->uidmap, cfg->n_uidmap, cfg->gidmap,
					 cfg->n_gidmap, &merr) < 0 ||
		    lc_write_all(usync[1], "m", 1) < 0) {
			if (!merr)
				lc_err_set(&merr, LC_ERR_SYS, errno,
					   "user namespace: wake the child");
			kill(pid, SIGKILL);
			wait_child(pid, &ws);
			pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
			lc_err_move(err, &merr);
			goto out;
		}
		close(usync[1]);
		usync[1] = -1;
	}
	lc_trace_phase("forked");
	lc_trace("fork() = %d: %s", (int)pid,
		 join_in_child	     ? "enters the container's pid namespace and forks the process "
				       "that joins it (rootless)"
		 : cfg->join_pid > 0 ? "joins the container's pid namespace"
		 : cfg->host_pid
			 ? "the container's first process, in our pid namespace (--pid host)"
			 : "PID 1 of the new pid namespace");
	close(pipefd[1]);
	pipefd[1] = -1;
	if (ttysock[1] >= 0)
		close(ttysock[1]);
	ttysock[1] = -1;
	for (int i = 0; i < 3; i++) {
		if (c.stdio.child[i] >= 0)
			close(c.stdio.child[i]);
		c.stdio.child[i] = -1;
	}
	forward_pid = pid;
	for (size_t i = 0; i < LC_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &fwd, &old[i]);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	/* the pty comes before the exec, or not at all (EOF: the child failed, the pipe says why) */
	if (cfg->tty && lc_fd_recv(ttysock[0], &master, err) < 0) {
		kill(pid, SIGKILL);
		pr = -1;
	}
	/* EOF: execve closed the pipe, the command runs; a message: it never started */
	while (pr == 0 && got < sizeof(m)) {
		ssize_t n = read(pipefd[0], (char *)&m + got, sizeof(m) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	lc_trace_phase("command started (or failed)");
	if (pr == 0 && got < sizeof(m) && cfg->on_start)
		cfg->on_start(cfg->on_start_arg, pid);
	if (pr == 0 && got < sizeof(m) && master >= 0)
		pr = run_tty(cfg, pid, master, size_fd, err);
	if (pr == 0 && got < sizeof(m) && lc_stdio_plan_any(&c.stdio)) {
#ifdef SYS_pidfd_open
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
		/* without a pidfd (< 5.3) the output pipes' EOF alone ends the copy */
		pr = lc_stdio_relay(&c.stdio, pidfd, cfg->detached ? cfg->log_fd : -1, err);
		if (pr < 0)
			kill(pid, SIGKILL);
	}
	if (wait_child(pid, &ws) < 0) {
		if (pr == 0)
			lc_err_set(err, LC_ERR_SYS, errno, "run: wait for the container");
	} else if (pr < 0) {
		/* *err says what went wrong with the terminal */
	} else if (got == sizeof(m)) {
		m.msg[sizeof(m.msg) - 1] = 0;
		lc_err_set(err, (enum lc_errc)m.code, 0, "%s", m.msg);
		if (err && *err)
			(*err)->sys_errno = m.sys_errno;
	} else {
		*ret_status = status_of(ws);
		r = 0;
	}
	lc_trace_phase("container reaped");
	forward_pid = 0;
	for (size_t i = 0; i < LC_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &old[i], NULL);
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (alive[0] >= 0)
		close(alive[0]);
	if (alive[1] >= 0)
		close(alive[1]);
	if (usync[0] >= 0)
		close(usync[0]);
	if (usync[1] >= 0)
		close(usync[1]);
	if (ttysock[0] >= 0)
		close(ttysock[0]);
	if (ttysock[1] >= 0)
		close(ttysock[1]);
	lc_stdio_plan_close(&c.stdio);
	lc_seccomp_prog_free(c.seccomp);
	free(c.envp);
	return r;
}
