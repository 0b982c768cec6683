/* SPDX-License-Identifier: MIT */
/*
 * pty: `run -t`'s terminal plumbing, like runc's console socket. The container's init opens
 * a pty in the container's own devpts instance and hands the master to the launcher over a
 * socketpair (SCM_RIGHTS); the launcher puts the caller's terminal in raw mode and copies
 * bytes between it and the master until the container is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <termios.h>
#include <unistd.h>

#include "mount-int.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* ---------- the container's side ---------- */

int lc_pty_open(int ptsdir, const struct winsize *ws, int *ret_master, int *ret_slave,
		struct lc_err **err)
{
	cleanup_close int master = -1;
	cleanup_close int slave = -1;
	struct statfs sfs;
	unsigned int n = 0;
	int unlock = 0;

	master = openat(ptsdir, "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (master < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '/dev/pts/ptmx'");
	/* only a devpts ptmx makes a pty of that instance, never a file the image left */
	if (fstatfs(master, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC)
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/dev/pts/ptmx' is not a devpts ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "unlock the pty");
	if (ws && ioctl(master, TIOCSWINSZ, ws) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set the pty's window size");
	/* the peer of this very master, not whatever a name resolves to (kernel >= 4.13) */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0 && (errno == EINVAL || errno == ENOTTY)) {
		char name[16];

		if (ioctl(master, TIOCGPTN, &n) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "get the pty's number");
		snprintf(name, sizeof(name), "%u", n);
		slave = openat(ptsdir, name, O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (slave < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open the pty's slave");
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}

int lc_fd_send(int sock, int fd, struct lc_err **err)
{
	char byte = 'T';
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return lc_err_set(err, LC_ERR_SYS, n < 0 ? errno : EIO,
				  "send the pty to the launcher");
	return 0;
}

int lc_fd_recv(int sock, int *ret_fd, struct lc_err **err)
{
	char byte;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "receive the container's pty");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfds;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = f;
			else
				close(f); /* one is all we asked for */
		}
	}
	if (n == 0 && fd < 0) {
		*ret_fd = -1; /* the peer went away without sending */
		return 0;
	}
	if (fd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		return lc_err_set(err, LC_ERR_SYS, EPROTO, "receive the container's pty: no fd");
	}
	*ret_fd = fd;
	return 0;
}

/* ---------- the caller's terminal ---------- */

static int raw_fd = -1;
static struct termios raw_saved;
/* what a fatal signal does while the terminal is raw: put it back, then die as it would */
static const int raw_fatal[] = { SIGABRT, SIGALRM, SIGBUS,  SIGFPE,  SIGILL,	SIGPROF, SIGSEGV,
				 SIGSYS,  SIGTRAP, SIGUSR1, SIGUSR2, SIGVTALRM, SIGXCPU, SIGXFSZ };
static bool raw_handled[LC_ARRAY_SIZE(raw_fatal)];

static void raw_fatal_handler(int sig)
{
	int saved = errno;

	/* SA_RESETHAND made the action SIG_DFL: the re-raised signal kills on return */
	if (raw_fd >= 0)
		tcsetattr(raw_fd, TCSANOW, &raw_saved);
	raise(sig);
	errno = saved;
}

int lc_tty_make_raw(int fd, struct lc_err **err)
{
	struct sigaction sa = { .sa_handler = raw_fatal_handler, .sa_flags = SA_RESETHAND };
	struct termios t;

	if (raw_fd >= 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "a terminal is already in raw mode");
	if (tcgetattr(fd, &raw_saved) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "get the terminal's settings");
	t = raw_saved;
	cfmakeraw(&t);
	/* the handlers first: from the tcsetattr on, any way out restores */
	raw_fd = fd;
	for (size_t i = 0; i < LC_ARRAY_SIZE(raw_fatal); i++) {
		struct sigaction old;

		/* a handler someone else set (a sanitizer's, the caller's) stays in charge */
		raw_handled[i] = sigaction(raw_fatal[i], NULL, &old) == 0 &&
				 !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL &&
				 sigaction(raw_fatal[i], &sa, NULL) == 0;
	}
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		int e = errno;

		lc_tty_restore();
		return lc_err_set(err, LC_ERR_SYS, e, "put the terminal in raw mode");
	}
	return 0;
}

void lc_tty_restore(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (raw_fd < 0)
		return;
	tcsetattr(raw_fd, TCSANOW, &raw_saved);
	for (size_t i = 0; i < LC_ARRAY_SIZE(raw_fatal); i++)
		if (raw_handled[i])
			sigaction(raw_fatal[i], &dfl, NULL);
	raw_fd = -1;
}

/* ---------- the proxy ---------- */

static volatile sig_atomic_t winch_pending;

static void on_winch(int sig)
{
	(void)sig;
	winch_pending = 1;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/*
 * The master is drained into out_fd (a failing out_fd, a closed pipe, drops output), or into
 * a detached container's log (log_fd >= 0) as its stdout.
 */
static void put_out(int *out_fd, int log_fd, const char *buf, size_t len)
{
	if (log_fd >= 0)
		lc_stdio_log(log_fd, "stdout", buf, len);
	else if (*out_fd >= 0 && lc_write_all(*out_fd, buf, len) < 0)
		*out_fd = -1;
}

static int proxy_loop(int master, int in_fd, int out_fd, int log_fd, int size_fd, int pidfd,
		      const sigset_t *wait_mask, struct lc_err **err)
{
	char inbuf[4096], outbuf[16384];
	size_t in_len = 0, in_off = 0;
	bool gone = false;

	for (;;) {
		struct pollfd p[3];
		nfds_t np = 1, in_i = 0, pid_i = 0;
		ssize_t n;

		if (winch_pending && size_fd >= 0) {
			winch_pending = 0;
			copy_winsize(size_fd, master);
		}
		if (gone) {
			/* init has exited: the namespace is dead, take what is left in the pty */
			n = read(master, outbuf, sizeof(outbuf));
			if (n > 0) {
				put_out(&out_fd, log_fd, outbuf, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			return 0;
		}
		p[0] = (struct pollfd){ .fd = master, .events = POLLIN | (in_len ? POLLOUT : 0) };
		if (in_fd >= 0 && !in_len) {
			in_i = np;
			p[np++] = (struct pollfd){ .fd = in_fd, .events = POLLIN };
		}
		if (pidfd >= 0) {
			pid_i = np;
			p[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		}
		if (ppoll(p, np, NULL, wait_mask) < 0) {
			if (errno == EINTR)
				continue;
			return lc_err_set(err, LC_ERR_SYS, errno, "tty: poll");
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(master, outbuf, sizeof(outbuf));
			if (n > 0)
				put_out(&out_fd, log_fd, outbuf, (size_t)n);
			else if (n == 0 || errno == EIO)
				return 0; /* every slave is closed */
			else if (errno != EAGAIN && errno != EINTR)
				return lc_err_set(err, LC_ERR_SYS, errno, "tty: read the pty");
		}
		if ((p[0].revents & POLLOUT) && in_len) {
			n = write(master, inbuf + in_off, in_len - in_off);
			if (n > 0) {
				in_off += (size_t)n;
				if (in_off == in_len)
					in_len = in_off = 0;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				in_len = in_off = 0; /* the container stopped listening: drop it */
			}
		}
		if (in_i && p[in_i].revents) {
			n = read(in_fd, inbuf, sizeof(inbuf));
			if (n > 0)
				in_len = (size_t)n, in_off = 0;
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				in_fd = -1; /* end of input (a hung-up terminal): stop forwarding */
		}
		if (pid_i && (p[pid_i].revents & (POLLIN | POLLHUP | POLLERR)))
			gone = true;
	}
}

static int pty_proxy(int master, int in_fd, int out_fd, int log_fd, int size_fd, int pidfd,
		     struct lc_err **err)
{
	struct sigaction winch = { .sa_handler = on_winch }, ign = { .sa_handler = SIG_IGN };
	struct sigaction old_winch, old_pipe;
	sigset_t block, old_mask, wait_mask;
	int fl = fcntl(master, F_GETFL), r;

	/* the master is ours alone: non-blocking, so input never stalls output */
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "tty: set the pty non-blocking");
	/* SIGWINCH only wakes ppoll: no resize is lost between a check and the wait */
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &block, &old_mask);
	wait_mask = old_mask;
	sigdelset(&wait_mask, SIGWINCH);
	sigaction(SIGWINCH, &winch, &old_winch);
	/* a reader of our stdout that went away must not kill us with the terminal raw */
	sigaction(SIGPIPE, &ign, &old_pipe);
	winch_pending = 1; /* a resize while the container started */

	r = proxy_loop(master, in_fd, out_fd, log_fd, size_fd, pidfd, &wait_mask, err);

	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGWINCH, &old_winch, NULL);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	fcntl(master, F_SETFL, fl);
	return r;
}

int lc_pty_proxy(int master, int in_fd, int out_fd, int size_fd, int pidfd, struct lc_err **err)
{
	return pty_proxy(master, in_fd, out_fd, -1, size_fd, pidfd, err);
}

int lc_pty_proxy_log(int master, int pidfd, int log_fd, struct lc_err **err)
{
	return pty_proxy(master, -1, -1, log_fd, -1, pidfd, err);
}
