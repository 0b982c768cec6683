/* SPDX-License-Identifier: MIT */
/*
 * stdio: the container's standard streams when they must not be the caller's own files.
 * A terminal, a regular file, a directory or a device handed to the container as fd 0, 1 or 2
 * is reachable again through /proc/self/fd/N: reopened read-write (a terminal's keystrokes,
 * its settings; a host file the caller opened read-only), or walked (a directory). Such a
 * stream is replaced by a pipe that the launcher copies, as docker and podman do.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mount-int.h"

bool lc_stdio_passes_through(int fd)
{
	struct stat st;

	/* a closed fd stays closed: there is nothing to copy */
	if (fstat(fd, &st) < 0)
		return true;
	/* reopening a pipe reaches only that pipe, a socket cannot be reopened at all */
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

int lc_stdio_plan_open(struct lc_stdio_plan *p, bool with_stdin, struct lc_err **err)
{
	for (int i = 0; i < 3; i++)
		p->child[i] = p->parent[i] = -1;
	for (int i = with_stdin ? 0 : 1; i < 3; i++) {
		int fds[2];

		if (lc_stdio_passes_through(i))
			continue;
		if (pipe2(fds, O_CLOEXEC) < 0) {
			lc_stdio_plan_close(p);
			return lc_err_set(err, LC_ERR_SYS, errno, "run: pipe for fd %d", i);
		}
		/* fd 0: the container reads [0], we write [1]; fds 1, 2: the other way round */
		p->child[i] = fds[i == 0 ? 0 : 1];
		p->parent[i] = fds[i == 0 ? 1 : 0];
	}
	return 0;
}

int lc_stdio_plan_open_log(struct lc_stdio_plan *p, bool with_stdin, struct lc_err **err)
{
	for (int i = 0; i < 3; i++)
		p->child[i] = p->parent[i] = -1;
	for (int i = with_stdin ? 0 : 1; i < 3; i++) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC) < 0) {
			lc_stdio_plan_close(p);
			return lc_err_set(err, LC_ERR_SYS, errno, "run: pipe for fd %d", i);
		}
		p->child[i] = fds[i == 0 ? 0 : 1];
		p->parent[i] = fds[i == 0 ? 1 : 0];
	}
	return 0;
}

void lc_stdio_log(int log_fd, const char *stream, const char *buf, size_t len)
{
	char now[48], stamp[64];

	lc_rfc3339_now(now, sizeof(now));
	snprintf(stamp, sizeof(stamp), "%s %s ", now, stream);
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;
		struct iovec iov[3] = {
			{ .iov_base = stamp, .iov_len = strlen(stamp) },
			{ .iov_base = (void *)(nl ? "F " : "P "), .iov_len = 2 },
			{ .iov_base = (void *)buf, .iov_len = n },
		};

		/* one record, one write: O_APPEND keeps records whole for a concurrent reader */
		if (nl) {
			if (writev(log_fd, iov, 3) < 0)
				return;
		} else {
			char *rec = lc_xasprintf("%sP %.*s\n", stamp, (int)n, buf);

			if (write(log_fd, rec, strlen(rec)) < 0) {
				free(rec);
				return;
			}
			free(rec);
		}
		buf += n;
		len -= n;
	}
}

void lc_stdio_plan_close(struct lc_stdio_plan *p)
{
	for (int i = 0; i < 3; i++) {
		if (p->child[i] >= 0)
			close(p->child[i]);
		if (p->parent[i] >= 0)
			close(p->parent[i]);
		p->child[i] = p->parent[i] = -1;
	}
}

bool lc_stdio_plan_any(const struct lc_stdio_plan *p)
{
	return p->parent[0] >= 0 || p->parent[1] >= 0 || p->parent[2] >= 0;
}

/* Write what we can of buf to fd; a failing fd (a reader gone) drops what remains. */
static void put_all(int *fd, const char *buf, size_t len)
{
	if (*fd >= 0 && lc_write_all(*fd, buf, len) < 0)
		*fd = -1;
}

int lc_stdio_relay(struct lc_stdio_plan *p, int pidfd, int log_fd, struct lc_err **err)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	char inbuf[16384], outbuf[65536];
	size_t in_len = 0, in_off = 0;
	int out_to[3] = { -1, 1, 2 };
	/* a detached container's stdin pipe is held open, never fed: nothing reads our fd 0 */
	int in_from = p->parent[0] >= 0 && log_fd < 0 ? 0 : -1;
	bool gone = pidfd < 0;
	int r = 0;

	/* the container's stdin pipe never blocks us: its output must keep flowing */
	if (p->parent[0] >= 0 && fcntl(p->parent[0], F_SETFL, O_NONBLOCK) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "run: set the stdin pipe non-blocking");
	sigaction(SIGPIPE, &ign, &old_pipe);
	for (;;) {
		struct pollfd pf[5];
		int who[5];
		nfds_t np = 0;
		bool outputs = false;

		for (int i = 1; i < 3; i++)
			if (p->parent[i] >= 0) {
				who[np] = i;
				pf[np++] = (struct pollfd){ .fd = p->parent[i], .events = POLLIN };
				outputs = true;
			}
		/* every writer of the output pipes is gone, and init with them: done */
		if (!outputs && gone)
			break;
		if (p->parent[0] >= 0 && in_len) {
			who[np] = 3;
			pf[np++] = (struct pollfd){ .fd = p->parent[0], .events = POLLOUT };
		} else if (p->parent[0] >= 0 && in_from >= 0) {
			who[np] = 0;
			pf[np++] = (struct pollfd){ .fd = in_from, .events = POLLIN };
		}
		if (!gone) {
			who[np] = 4;
			pf[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		}
		if (poll(pf, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = lc_err_set(err, LC_ERR_SYS, errno, "run: poll the container's streams");
			break;
		}
		for (nfds_t k = 0; k < np; k++) {
			int i = who[k];
			ssize_t n;

			if (!pf[k].revents)
				continue;
			if (i == 1 || i == 2) {
				n = read(p->parent[i], outbuf, sizeof(outbuf));
				if (n > 0 && log_fd >= 0) {
					lc_stdio_log(log_fd, i == 1 ? "stdout" : "stderr", outbuf,
						     (size_t)n);
				} else if (n > 0) {
					put_all(&out_to[i], outbuf, (size_t)n);
				} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
					close(p->parent[i]);
					p->parent[i] = -1;
				}
			} else if (i == 0) {
				n = read(in_from, inbuf, sizeof(inbuf));
				if (n > 0) {
					in_len = (size_t)n, in_off = 0;
				} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
					/* end of our input: the container reads EOF */
					close(p->parent[0]);
					p->parent[0] = -1;
				}
			} else if (i == 3) {
				n = write(p->parent[0], inbuf + in_off, in_len - in_off);
				if (n > 0) {
					in_off += (size_t)n;
					if (in_off == in_len)
						in_len = in_off = 0;
				} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
					/* the container closed its stdin: stop feeding it */
					close(p->parent[0]);
					p->parent[0] = -1;
					in_len = in_off = 0;
				}
			} else {
				gone = true;
			}
		}
	}
	sigaction(SIGPIPE, &old_pipe, NULL);
	return r;
}
