/* SPDX-License-Identifier: MIT */
/*
 * rootless: layerctl run by a user without root. Every such invocation joins one user
 * namespace (and the mount namespace it owns) held by a small process of ours,
 * "layerctl-ns", made by the first invocation: its uid_map and gid_map map 0 to the user and
 * 1..N to the user's first subordinate range (/etc/subuid, /etc/subgid), written by the
 * setuid newuidmap and newgidmap (Debian's uidmap). Inside, layerctl is root: a pull unpacks
 * with the image's owners (mapped to the subordinate ids), run mounts overlay and creates its
 * namespaces as usual; and every invocation sees the same mounts and may join the same
 * containers (exec, -p's forwarder). Like podman's pause process. Its pid is kept in the
 * store (rootless.pid), under rootless.lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount-int.h"

#define NS_HOLDER_NAME "layerctl-ns"
#define PID_FILE       "rootless.pid"
#define LOCK_FILE      "rootless.lock"

extern char **environ;

static const char *find_helper(const char *name)
{
	static char path[64];
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/sbin" };

	for (size_t i = 0; i < LC_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* newuidmap PID 0 ID 1 1 START COUNT (or newgidmap) */
static int run_map_helper(const char *helper, pid_t pid, unsigned id, const struct lc_idrange *r,
			  struct lc_err **err)
{
	char a_pid[16], a_id[16], a_start[16], a_count[16];
	char *argv[] = { (char *)helper, a_pid,	  (char *)"0", a_id, (char *)"1",
			 (char *)"1",	 a_start, a_count,     NULL };
	pid_t h;
	int ws;

	snprintf(a_pid, sizeof(a_pid), "%d", (int)pid);
	snprintf(a_id, sizeof(a_id), "%u", id);
	snprintf(a_start, sizeof(a_start), "%u", r->start);
	snprintf(a_count, sizeof(a_count), "%u", r->count);
	lc_trace("%s %s 0 %s 1 1 %s %s", helper, a_pid, a_id, a_start, a_count);
	h = fork();
	if (h < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: fork %s", helper);
	if (h == 0) {
		execve(helper, argv, environ);
		_exit(127);
	}
	while (waitpid(h, &ws, 0) < 0)
		if (errno != EINTR)
			return lc_err_set(err, LC_ERR_SYS, errno, "rootless: wait for %s", helper);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return lc_err_set(err, LC_ERR_SYS, 0,
				  "rootless: %s failed (status %d): check this user's line in %s",
				  helper, WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws),
				  strstr(helper, "gid") ? "/etc/subgid" : "/etc/subuid");
	return 0;
}

/* The holder: in its user and mount namespaces for good, doing nothing. */
static _Noreturn void holder_main(int up, int down)
{
	char c = 'n';
	ssize_t n;
	sigset_t all;

	setsid();
	if (unshare(CLONE_NEWUSER) == 0)
		c = 'u';
	if (write(up, &c, 1) != 1 || c != 'u')
		_exit(1);
	do
		n = read(down, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || c != 'g')
		_exit(1);
	c = 'n';
	if (setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0 && setgroups(0, NULL) == 0 &&
	    unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0)
		c = 'r';
	if (write(up, &c, 1) != 1 || c != 'r')
		_exit(1);
	prctl(PR_SET_NAME, NS_HOLDER_NAME, 0, 0, 0);
	if (chdir("/") < 0)
		_exit(1);
	lc_close_from(0, NULL);
	sigfillset(&all);
	sigdelset(&all, SIGTERM);
	sigdelset(&all, SIGKILL);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (;;)
		pause();
}

/* Make the holder; *ret_pid its pid once its maps are written. */
static int spawn_holder(pid_t *ret_pid, struct lc_err **err)
{
	struct lc_idrange su[LC_SUBID_MAX], sg[LC_SUBID_MAX];
	size_t n_su = 0, n_sg = 0;
	const char *nu = find_helper("newuidmap"), *ng;
	char nu_path[64];
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	int up[2], down[2];
	pid_t pid;
	char c = 0;
	int r = -1, ws;

	getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp);
	if (!nu)
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"rootless: newuidmap is missing: install it (apt-get install uidmap, "
			"as root)");
	snprintf(nu_path, sizeof(nu_path), "%s", nu);
	ng = find_helper("newgidmap");
	if (!ng)
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"rootless: newgidmap is missing: install it (apt-get install uidmap, "
			"as root)");
	if (lc_subid_ranges("/etc/subuid", su, LC_SUBID_MAX, &n_su, err) < 0 ||
	    lc_subid_ranges("/etc/subgid", sg, LC_SUBID_MAX, &n_sg, err) < 0)
		return -1;
	if (n_su == 0 || n_sg == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "rootless: no subordinate %s for %s in %s: as root, run 'usermod "
				  "--add-subuids 100000-165535 --add-subgids 100000-165535 %s'",
				  n_su == 0 ? "uids" : "gids", pwp ? pwp->pw_name : "this user",
				  n_su == 0 ? "/etc/subuid" : "/etc/subgid",
				  pwp ? pwp->pw_name : "USER");
	if (pipe2(up, O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: pipe");
	if (pipe2(down, O_CLOEXEC) < 0) {
		close(up[0]);
		close(up[1]);
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: pipe");
	}
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		holder_main(up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	if (pid < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "rootless: fork");
		goto out;
	}
	if (read(up[0], &c, 1) != 1 || c != 'u') {
		lc_err_set(err, LC_ERR_SYS, 0,
			   "rootless: cannot create a user namespace (see "
			   "/proc/sys/user/max_user_namespaces and "
			   "/proc/sys/kernel/unprivileged_userns_clone)");
		goto out;
	}
	if (run_map_helper(nu_path, pid, (unsigned)getuid(), &su[0], err) < 0 ||
	    run_map_helper(ng, pid, (unsigned)getgid(), &sg[0], err) < 0)
		goto out;
	if (write(down[1], "g", 1) != 1 || read(up[0], &c, 1) != 1 || c != 'r') {
		lc_err_set(err, LC_ERR_SYS, 0, "rootless: the namespace holder failed to start");
		goto out;
	}
	lc_trace("fork() = %d: %s, holding the user and mount namespaces of rootless layerctl",
		 (int)pid, NS_HOLDER_NAME);
	*ret_pid = pid;
	r = 0;
out:
	close(up[0]);
	close(down[1]);
	if (r < 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &ws, 0);
	}
	return r;
}

/* pid is a holder of ours: our uid, named so, its uid_map "0 <our uid> 1" first. */
static bool is_holder(pid_t pid)
{
	char path[64], buf[128] = { 0 };
	struct stat st;
	unsigned long a, b, c;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(path, &st) < 0 || st.st_uid != getuid())
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || strcmp(buf, NS_HOLDER_NAME "\n") != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	memset(buf, 0, sizeof(buf));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == getuid() &&
	       c == 1;
}

int lc_rootless_enter(const char *dir, struct lc_err **err)
{
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int lock = -1;
	cleanup_close int ufd = -1;
	cleanup_close int mfd = -1;
	cleanup_free char *text = NULL;
	struct lc_err *e = NULL;
	char path[64], num[16], cwd[PATH_MAX];
	struct utsname u;
	unsigned int major = 0, minor = 0;
	pid_t pid = 0;

	if (dfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: open '%s'", dir);
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 5 || (major == 5 && minor < 11)))
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"rootless: overlay in a user namespace needs Linux 5.11 or later; "
			"this kernel is %s: run layerctl as root",
			u.release);
	lock = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: open '%s/%s'", dir, LOCK_FILE);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return lc_err_set(err, LC_ERR_SYS, errno, "rootless: lock");
	if (lc_read_file_at(dfd, PID_FILE, 32, &text, NULL, &e) == 0) {
		long v = strtol(text, NULL, 10);

		pid = v > 0 && v < (1L << 30) ? (pid_t)v : 0;
	}
	lc_err_free(e);
	if (!is_holder(pid)) {
		if (spawn_holder(&pid, err) < 0)
			return -1;
		snprintf(num, sizeof(num), "%d\n", (int)pid);
		if (lc_write_file_atomic_at(dfd, PID_FILE, num, strlen(num), 0600, err) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	ufd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	if (ufd < 0 || mfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: open the namespaces of %d",
				  (int)pid);
	/* the cwd, by name: joining a mount namespace moves us to its root */
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = 0;
	/* a user namespace needs a single-threaded caller: we are, this early */
	if (setns(ufd, CLONE_NEWUSER) < 0 || setns(mfd, CLONE_NEWNS) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: join the namespaces of %d",
				  (int)pid);
	if (cwd[0] && chdir(cwd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: back to '%s'", cwd);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "rootless: become root of the namespace");
	setgroups(0, NULL);
	lc_trace("setns(%d's user and mount namespaces) = 0: root of rootless layerctl's user "
		 "namespace",
		 (int)pid);
	return 0;
}
