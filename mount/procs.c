/* SPDX-License-Identifier: MIT */
/*
 * procs: what a running container is made of, read from the host's /proc: its namespaces
 * (inodes as the links in /proc/<pid>/ns show them) and its processes (every process in its init's pid
 * namespace, with the pid the host sees and the pid the container sees: NSpid's last field).
 * Nothing here trusts the container: every number is parsed with bounds, every name escaped
 * by whoever prints it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "mount-int.h"

static const char *const ns_names[] = { "cgroup", "ipc", "mnt", "net", "pid", "user", "uts" };

int lc_ns_inodes(pid_t pid, struct lc_ns_inode ret[LC_NS_MAX], size_t *ret_n, struct lc_err **err)
{
	size_t n = 0;

	for (size_t i = 0; i < LC_ARRAY_SIZE(ns_names); i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_names[i]);
		if (stat(path, &st) < 0) {
			if (errno == ENOENT && i > 0 && n > 0)
				continue; /* a namespace this kernel lacks */
			return lc_err_set(err, LC_ERR_SYS, errno, "namespaces of pid %d", (int)pid);
		}
		ret[n].name = ns_names[i];
		ret[n].inode = (uint64_t)st.st_ino;
		n++;
	}
	*ret_n = n;
	return 0;
}

static uint64_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* /proc/<pid>/status: the NSpid line's last field (the innermost pid), PPid, Uid */
static void read_status(int pfd, struct lc_proc *p)
{
	cleanup_free char *text = NULL;
	struct lc_err *e = NULL;

	if (lc_read_file_at(pfd, "status", 1 << 16, &text, NULL, &e) < 0) {
		lc_err_free(e);
		return;
	}
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			p->ns_pid = last ? (pid_t)strtol(last + 1, NULL, 10) : 0;
		} else if (!strncmp(line, "PPid:", 5)) {
			p->ppid = (pid_t)strtol(line + 5, NULL, 10);
		} else if (!strncmp(line, "Uid:", 4)) {
			p->uid = (uid_t)strtoul(line + 4, NULL, 10);
		}
	}
}

/* /proc/<pid>/stat: utime, stime (fields 14, 15), starttime (22), rss (24), after "(comm) " */
static void read_stat(int pfd, struct lc_proc *p)
{
	cleanup_free char *text = NULL;
	struct lc_err *e = NULL;
	char *q;
	unsigned long long v[24] = { 0 };

	if (lc_read_file_at(pfd, "stat", 4096, &text, NULL, &e) < 0) {
		lc_err_free(e);
		return;
	}
	q = strrchr(text, ')');
	if (!q)
		return;
	q += 2;
	/* state is field 3: skip it, then fields 4.. */
	if (*q)
		q++;
	for (int f = 4; f <= 24 && *q; f++) {
		char *end;

		v[f - 1] = strtoull(q, &end, 10);
		if (end == q)
			break;
		q = end;
	}
	p->tty_nr = (int)v[6];
	p->cpu_ticks = v[13] + v[14];
	p->start_ticks = v[21];
	p->rss_pages = v[23];
}

/* argv joined by spaces (docker top's CMD), at most 4 KiB; [comm] for a kernel-less one */
static char *read_cmdline(int pfd)
{
	cleanup_free char *text = NULL;
	struct lc_err *e = NULL;
	size_t len = 0;

	if (lc_read_file_at(pfd, "cmdline", 4096, &text, &len, &e) < 0) {
		lc_err_free(e);
		text = NULL;
		len = 0;
	}
	if (len == 0) {
		cleanup_free char *comm = NULL;

		if (lc_read_file_at(pfd, "comm", 64, &comm, &len, &e) < 0) {
			lc_err_free(e);
			return lc_xstrdup("?");
		}
		comm[strcspn(comm, "\n")] = 0;
		return lc_xasprintf("[%s]", comm);
	}
	for (size_t i = 0; i + 1 < len; i++)
		if (!text[i])
			text[i] = ' ';
	return TAKE_PTR(text);
}

void lc_procs_free(struct lc_proc *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].cmd);
	free(p);
}

int lc_ns_procs(pid_t init, struct lc_proc **ret, size_t *ret_n, struct lc_err **err)
{
	cleanup_dir DIR *d = opendir("/proc");
	uint64_t pidns = ns_inode(init, "pid");
	struct lc_proc *v = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!d)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '/proc'");
	if (!pidns)
		return lc_err_set(err, LC_ERR_SYS, errno, "pid namespace of pid %d", (int)init);
	while ((de = readdir(d))) {
		cleanup_close int pfd = -1;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct lc_proc p = { 0 };

		if (*end || pid <= 0 || !isdigit((unsigned char)de->d_name[0]))
			continue;
		/* a process that ends meanwhile simply is not listed */
		if (ns_inode((pid_t)pid, "pid") != pidns)
			continue;
		pfd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue;
		p.pid = (pid_t)pid;
		read_status(pfd, &p);
		read_stat(pfd, &p);
		p.cmd = read_cmdline(pfd);
		v = lc_xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = p;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int lc_net_bytes(pid_t pid, uint64_t *ret_rx, uint64_t *ret_tx, struct lc_err **err)
{
	cleanup_free char *path = lc_xasprintf("/proc/%d/net/dev", (int)pid);
	cleanup_free char *text = NULL;
	uint64_t rx = 0, tx = 0;

	if (lc_read_file_at(AT_FDCWD, path, 1u << 20, &text, NULL, err) < 0)
		return lc_err_prefix(err, "network of pid %d", (int)pid);
	/* "  eth0: rxbytes rxpackets errs drop fifo frame compressed multicast txbytes ..." */
	for (char *line = text, *nl; line && *line; line = nl) {
		char *colon;
		unsigned long long v[9] = { 0 };
		char *q;

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		line += strspn(line, " ");
		if (!strcmp(line, "lo"))
			continue;
		q = colon + 1;
		for (int i = 0; i < 9; i++) {
			char *end;

			v[i] = strtoull(q, &end, 10);
			if (end == q)
				break;
			q = end;
		}
		rx += v[0];
		tx += v[8];
	}
	*ret_rx = rx;
	*ret_tx = tx;
	return 0;
}
