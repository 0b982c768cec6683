/* SPDX-License-Identifier: MIT */
/*
 * init: `run --init`'s PID 1, a small reaper of our own (docker runs tini). The container's
 * first process, once it is everything the command will be (root, user, capabilities,
 * no_new_privs, seccomp filter, fds 0, 1, 2 only), forks: the child leads a process group of
 * its own (the terminal's foreground one under -t) and execs the command; the parent stays
 * PID 1 without exec'ing anything: it forwards every signal it gets to the command, reaps
 * every process that ends up its child (orphans are re-parented to PID 1) and exits with the
 * command's status (128+signal when a signal killed it), which ends the container.
 *
 * PID 1 is a copy of layerctl's memory: it is not dumpable (nothing in the container can
 * read its memory, fds or environment through /proc) and its command line shows "init", not
 * ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount-int.h"

/*
 * Overwrite our argv and environment strings (the memory /proc/self/cmdline and environ
 * show): fields 48 to 51 of /proc/self/stat, arg_start, arg_end, env_start, env_end.
 */
static void hide_args(const char *title)
{
	char buf[2048];
	unsigned long a[4];
	const char *p;
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* after "pid (comm) ": state is field 3; arg_start is field 48 */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %*u %*u %*d %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*u %*u %*u %*u %*d %*u %*u %*u %lu %lu %lu %lu",
			 &a[0], &a[1], &a[2], &a[3]) != 4)
		return;
	if (a[1] > a[0] && a[1] - a[0] > strlen(title)) {
		memset((void *)a[0], 0, a[1] - a[0]);
		memcpy((void *)a[0], title, strlen(title));
	}
	if (a[3] > a[2])
		memset((void *)a[2], 0, a[3] - a[2]);
}

static int status_of(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 125;
}

static _Noreturn void init_main(pid_t child, int ready)
{
	sigset_t all;
	char c;

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NAME, "init", 0, 0, 0);
	hide_args("init");
	/* EOF: the command runs (or failed to, and said why on the sync pipe itself) */
	while (read(ready, &c, 1) < 0 && errno == EINTR)
		;
	/*
	 * Only 0, 1, 2 from here on: the sync pipe (the launcher's EOF comes once both of us let
	 * go of it) and what the exec's lookup held open go.
	 */
	lc_close_from(3, NULL);
	sigfillset(&all);
	for (;;) {
		int sig = sigwaitinfo(&all, NULL);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* the command gets what we got; gone already: nothing to do */
			kill(child, sig);
			continue;
		}
		for (;;) {
			int ws;
			pid_t w = waitpid(-1, &ws, WNOHANG);

			if (w <= 0)
				break;
			if (w == child)
				_exit(status_of(ws));
		}
	}
}

int lc_init_fork(bool tty, struct lc_err **err)
{
	sigset_t all, old;
	int ready[2];
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "init: pipe");
	/* every signal waits for the init's loop; the child restores the mask */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		sigprocmask(SIG_SETMASK, &old, NULL);
		close(ready[0]);
		close(ready[1]);
		return lc_err_set(err, LC_ERR_SYS, e, "init: fork the command");
	}
	if (pid > 0) {
		close(ready[1]);
		init_main(pid, ready[0]);
	}
	/* the command: a process group of its own, the terminal's foreground one */
	close(ready[0]);
	lc_trace("fork() = %d: --init's reaper stays PID 1 (it forwards signals and reaps "
		 "orphans), the command runs as this child",
		 (int)getpid());
	setpgid(0, 0);
	if (tty)
		tcsetpgrp(0, getpid()); /* SIGTTOU is blocked still */
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* ready[1] is close-on-exec: the init sees EOF once we exec'd */
	return 0;
}
