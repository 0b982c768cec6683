/* SPDX-License-Identifier: MIT */
/*
 * ports: -p [IP:]HOSTPORT:CTRPORT[/tcp|/udp]. No bridge, no NAT: the launcher's side (the
 * monitor of a detached container, or `run` itself) listens on the host address and, for every
 * connection, connects from inside the container's network namespace to 127.0.0.1:CTRPORT and
 * copies bytes both ways until either side closes. A thread enters the container's network
 * namespace (setns is per thread) only to make that socket. UDP has no connections: one
 * thread per port, inside the namespace, keeps a socket there per client address (docker-
 * proxy's UDP mode), so the container's replies go back to the client that asked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount-int.h"

static int parse_port(const char *s, size_t n, uint16_t *ret)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*ret = (uint16_t)v;
	return 0;
}

int lc_port_parse(const char *spec, struct lc_port *ret, struct lc_err **err)
{
	struct lc_port p = { .host_ip = "127.0.0.1" };
	const char *proto = strchr(spec, '/');
	size_t len = proto ? (size_t)(proto - spec) : strlen(spec);
	const char *last = memrchr(spec, ':', len), *first;
	struct in_addr a;

	if (proto && strcmp(proto, "/tcp") != 0 && strcmp(proto, "/udp") != 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid port spec '%s': the protocol is tcp or udp", spec);
	p.udp = proto && !strcmp(proto, "/udp");
	if (!last || parse_port(last + 1, len - (size_t)(last + 1 - spec), &p.ctr_port) < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid port spec '%s': want [IP:]HOSTPORT:CONTAINERPORT", spec);
	first = memrchr(spec, ':', (size_t)(last - spec));
	if (parse_port(first ? first + 1 : spec, (size_t)(last - (first ? first + 1 : spec)),
		       &p.host_port) < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid host port in '%s'", spec);
	if (first) {
		size_t iplen = (size_t)(first - spec);

		if (iplen == 0 || iplen >= sizeof(p.host_ip))
			return lc_err_set(err, LC_ERR_INVALID, 0, "invalid host IP in '%s'", spec);
		memcpy(p.host_ip, spec, iplen);
		p.host_ip[iplen] = 0;
		if (inet_pton(AF_INET, p.host_ip, &a) != 1)
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid host IP '%s' (IPv4 only)", p.host_ip);
	}
	*ret = p;
	return 0;
}

int lc_port_listen(const struct lc_port *p, int *ret_fd, struct lc_err **err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->host_port) };
	int one = 1;
	int fd;

	if (inet_pton(AF_INET, p->host_ip, &sa.sin_addr) != 1)
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid host IP '%s'", p->host_ip);
	fd = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "socket");
	if (!p->udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (!p->udp && listen(fd, 128) < 0)) {
		int e = errno;

		close(fd);
		return lc_err_set(err, LC_ERR_EXISTS, e,
				  "driver failed programming external connectivity: Bind for "
				  "%s:%u%s failed",
				  p->host_ip, p->host_port, p->udp ? "/udp" : "");
	}
	*ret_fd = fd;
	return 0;
}

struct conn {
	int client, netns;
	uint16_t port;
};

/* copy both ways until both directions are done (a half-close is passed on) */
static void relay(int a, int b)
{
	char buf[65536];
	bool a_open = true, b_open = true;

	while (a_open || b_open) {
		struct pollfd pf[2] = { { .fd = a_open ? a : -1, .events = POLLIN },
					{ .fd = b_open ? b : -1, .events = POLLIN } };

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			int from = i ? b : a, to = i ? a : b;
			ssize_t n;

			if (!pf[i].revents)
				continue;
			n = read(from, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				*(i ? &b_open : &a_open) = false;
			} else if (lc_write_all(to, buf, (size_t)n) < 0) {
				return;
			}
		}
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(c->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = -1;

	/* this thread alone moves into the container's network namespace */
	if (setns(c->netns, CLONE_NEWNET) == 0)
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		relay(c->client, s);
	if (s >= 0)
		close(s);
	close(c->client);
	free(c);
	return NULL;
}

struct listener {
	int fd, netns;
	uint16_t port;
	struct listener *next;
};

/*
 * The listeners live as long as the process (their threads are never stopped): kept here, so
 * one whose thread has not run yet when a short-lived container's launcher exits is still ours.
 */
static struct listener *listeners; /* only the launcher's thread that starts them writes it */

static void *accept_thread(void *arg)
{
	struct listener *l = arg;

	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		struct conn *c;
		pthread_t t;
		pthread_attr_t at;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE)
				continue;
			break;
		}
		c = lc_xmalloc(sizeof(*c));
		*c = (struct conn){ .client = fd, .netns = l->netns, .port = l->port };
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_thread, c) != 0) {
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&at);
	}
	return NULL;
}

/* ---------- udp ---------- */

struct udp_client {
	struct sockaddr_in addr; /* the client on the host side */
	int fd;			 /* ours inside the namespace, connected to the container's port */
	struct timespec last;	 /* last datagram either way */
};

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void udp_drop(struct udp_client *cl, size_t *n, size_t i)
{
	close(cl[i].fd);
	cl[i] = cl[--*n];
}

/* A socket inside the namespace (this thread is there) for a new client; -1: none. */
static int udp_client_add(struct udp_client *cl, size_t *n, const struct sockaddr_in *from,
			  uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd;

	if (*n == LC_UDP_MAX_CLIENTS) {
		size_t oldest = 0;

		for (size_t i = 1; i < *n; i++)
			if (since(&cl[i].last) > since(&cl[oldest].last))
				oldest = i;
		udp_drop(cl, n, oldest);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	cl[*n] = (struct udp_client){ .addr = *from, .fd = fd };
	clock_gettime(CLOCK_MONOTONIC, &cl[*n].last);
	return (int)(*n)++;
}

static void *udp_thread(void *arg)
{
	struct listener *l = arg;
	struct udp_client *cl = lc_xcalloc(LC_UDP_MAX_CLIENTS, sizeof(*cl));
	struct pollfd *pf = lc_xcalloc(LC_UDP_MAX_CLIENTS + 1, sizeof(*pf));
	char buf[65536];
	size_t n = 0;

	/* for good: every client socket this thread makes is the container's */
	if (setns(l->netns, CLONE_NEWNET) < 0)
		return NULL;
	for (;;) {
		ssize_t len;

		pf[0] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
		for (size_t i = 0; i < n; i++)
			pf[i + 1] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
		if (poll(pf, n + 1, 1000) < 0 && errno != EINTR)
			break;
		/* the container's answers to their clients */
		for (size_t i = 0; i < n; i++) {
			if (!(pf[i + 1].revents & (POLLIN | POLLERR)))
				continue;
			while ((len = recv(cl[i].fd, buf, sizeof(buf), 0)) >= 0) {
				sendto(l->fd, buf, (size_t)len, MSG_DONTWAIT,
				       (struct sockaddr *)&cl[i].addr, sizeof(cl[i].addr));
				clock_gettime(CLOCK_MONOTONIC, &cl[i].last);
			}
		}
		if (pf[0].revents & POLLIN) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			size_t i;

			len = recvfrom(l->fd, buf, sizeof(buf), MSG_DONTWAIT,
				       (struct sockaddr *)&from, &fl);
			for (i = 0; len >= 0 && i < n; i++)
				if (cl[i].addr.sin_addr.s_addr == from.sin_addr.s_addr &&
				    cl[i].addr.sin_port == from.sin_port)
					break;
			if (len >= 0 && i == n && udp_client_add(cl, &n, &from, l->port) < 0)
				len = -1;
			if (len >= 0) {
				/* refused (nothing listens yet): the datagram is lost, as on a wire */
				send(cl[i].fd, buf, (size_t)len, MSG_DONTWAIT);
				clock_gettime(CLOCK_MONOTONIC, &cl[i].last);
			}
		}
		for (size_t i = 0; i < n;)
			if (since(&cl[i].last) > LC_UDP_IDLE_SECONDS)
				udp_drop(cl, &n, i);
			else
				i++;
	}
	while (n)
		udp_drop(cl, &n, 0);
	free(cl);
	free(pf);
	return NULL;
}

int lc_ports_forward(pid_t pid, const int *fds, const struct lc_port *p, size_t n,
		     struct lc_err **err)
{
	char path[64];
	int netns;

	if (!n)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	netns = open(path, O_RDONLY | O_CLOEXEC);
	if (netns < 0) {
		siginfo_t si = { 0 };
		int e = errno;

		/*
		 * Its command ended already: an exiting process drops its namespaces before it
		 * can be waited for, so wait (it is our child; WNOWAIT leaves it to the launcher)
		 * until it is gone for sure. Nothing to publish then.
		 */
		if ((e == ENOENT || e == ESRCH) &&
		    waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid)
			return 0;
		return lc_err_set(err, LC_ERR_SYS, e, "open the container's network namespace");
	}
	/* the threads and the namespace fd live as long as the process: it ends with the container */
	for (size_t i = 0; i < n; i++) {
		struct listener *l = lc_xmalloc(sizeof(*l));
		pthread_t t;

		*l = (struct listener){
			.fd = fds[i], .netns = netns, .port = p[i].ctr_port, .next = listeners
		};
		listeners = l;
		if (pthread_create(&t, NULL, p[i].udp ? udp_thread : accept_thread, l) != 0)
			return lc_err_set(err, LC_ERR_SYS, 0, "start the port forwarder");
		pthread_detach(t);
	}
	return 0;
}
