/* SPDX-License-Identifier: MIT */
/*
 * trace: `--trace` (or LAYERCTL_TRACE=1). One line per kernel-level step on the caller's
 * stderr, written whole by one write(2) so that the lines of the launcher and of the
 * container's first process (a fork, before its execve) never mix within a line. Off, each
 * call site costs one branch on lc_trace_fd (the macros in base.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "base.h"

int lc_trace_fd = -1;
/* when tracing began (CLOCK_MONOTONIC, ns): the phase lines' origin */
static uint64_t trace_t0, trace_tlast;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* the namespaces layerctl itself was started in, read when tracing began */
static const struct {
	int flag;
	const char *flag_name, *ns;
} ns_kinds[] = {
	{ CLONE_NEWPID, "CLONE_NEWPID", "pid" },
	{ CLONE_NEWNS, "CLONE_NEWNS", "mnt" },
	{ CLONE_NEWUTS, "CLONE_NEWUTS", "uts" },
	{ CLONE_NEWIPC, "CLONE_NEWIPC", "ipc" },
	{ CLONE_NEWNET, "CLONE_NEWNET", "net" },
	{ CLONE_NEWCGROUP, "CLONE_NEWCGROUP", "cgroup" },
	{ CLONE_NEWUSER, "CLONE_NEWUSER", "user" },
};
static ino_t host_ns[LC_ARRAY_SIZE(ns_kinds)];

static ino_t ns_inode(const char *who, const char *ns)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", who, ns);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

void lc_trace_open(int fd)
{
	int saved = errno;
	int t = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (t < 0)
		return;
	lc_trace_fd = t;
	trace_t0 = trace_tlast = mono_ns();
	for (size_t i = 0; i < LC_ARRAY_SIZE(ns_kinds); i++)
		host_ns[i] = ns_inode("self", ns_kinds[i].ns);
	errno = saved;
}

void lc_trace_line(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n, saved = errno;

	memcpy(buf, "trace: ", 7);
	va_start(ap, fmt);
	n = vsnprintf(buf + 7, sizeof(buf) - 8, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	n += 7;
	if ((size_t)n > sizeof(buf) - 2) {
		n = (int)sizeof(buf) - 5;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	/* text from an image or a registry must not drive the terminal */
	for (int i = 7; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[n++] = '\n';
	lc_write_all(lc_trace_fd, buf, (size_t)n);
	errno = saved;
}

void lc_trace_phase_(const char *what)
{
	uint64_t now = mono_ns();

	/* a forked child inherits trace_tlast: its first step counts from the fork */
	lc_trace_line(
		"phase %s: %.3f ms since layerctl started, %.3f ms since the step before (pid %d)",
		what, (double)(now - trace_t0) / 1e6, (double)(now - trace_tlast) / 1e6,
		(int)getpid());
	trace_tlast = now;
}

void lc_trace_ns_(const char *call, int flags, pid_t pid)
{
	char who[32];

	if (pid > 0)
		snprintf(who, sizeof(who), "%d", (int)pid);
	else
		snprintf(who, sizeof(who), "thread-self");
	for (size_t i = 0; i < LC_ARRAY_SIZE(ns_kinds); i++) {
		ino_t now;

		if (!(flags & ns_kinds[i].flag))
			continue;
		now = ns_inode(who, ns_kinds[i].ns);
		lc_trace_line("%s(%s) = 0: /proc/%s/ns/%s is %s:[%llu], layerctl's %s:[%llu]", call,
			      ns_kinds[i].flag_name, pid > 0 ? who : "self", ns_kinds[i].ns,
			      ns_kinds[i].ns, (unsigned long long)now, ns_kinds[i].ns,
			      (unsigned long long)host_ns[i]);
	}
}

const char *lc_trace_mount_flags(unsigned long f, char *buf, size_t bufsz)
{
	static const struct {
		unsigned long flag;
		const char *name;
	} names[] = {
		{ MS_RDONLY, "MS_RDONLY" },
		{ MS_NOSUID, "MS_NOSUID" },
		{ MS_NODEV, "MS_NODEV" },
		{ MS_NOEXEC, "MS_NOEXEC" },
		{ MS_REMOUNT, "MS_REMOUNT" },
		{ MS_BIND, "MS_BIND" },
		{ MS_MOVE, "MS_MOVE" },
		{ MS_REC, "MS_REC" },
		{ MS_PRIVATE, "MS_PRIVATE" },
		{ MS_SLAVE, "MS_SLAVE" },
		{ MS_SHARED, "MS_SHARED" },
		{ MS_STRICTATIME, "MS_STRICTATIME" },
		{ MS_RELATIME, "MS_RELATIME" },
		{ MS_NOATIME, "MS_NOATIME" },
		{ MS_NODIRATIME, "MS_NODIRATIME" },
	};
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < LC_ARRAY_SIZE(names) && off < bufsz; i++) {
		if (!(f & names[i].flag))
			continue;
		off += (size_t)snprintf(buf + off, bufsz - off, "%s%s", off ? "|" : "",
					names[i].name);
		f &= ~names[i].flag;
	}
	if (f && off < bufsz)
		off += (size_t)snprintf(buf + off, bufsz - off, "%s%#lx", off ? "|" : "", f);
	if (!off)
		snprintf(buf, bufsz, "0");
	return buf;
}

void lc_trace_mount_(const char *src, const char *target, const char *fstype, unsigned long flags,
		     const char *data)
{
	char fl[256];

	lc_trace_line("mount(%s%s%s, \"%s\", %s%s%s, %s, %s%s%s) = 0", src ? "\"" : "",
		      src ? src : "NULL", src ? "\"" : "", target, fstype ? "\"" : "",
		      fstype ? fstype : "NULL", fstype ? "\"" : "",
		      lc_trace_mount_flags(flags, fl, sizeof(fl)), data ? "\"" : "",
		      data ? data : "NULL", data ? "\"" : "");
}

void lc_trace_exec_(bool at, const char *path, char *const *argv)
{
	const char *base = strrchr(path, '/');
	int dlen = base ? (int)(base - path) : 0;
	char buf[3072];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; argv && argv[i] && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\"%s\"", i ? ", " : "",
					argv[i]);
	if (at && base)
		lc_trace_line("execveat(fd of \"%.*s\", \"%s\", [%s], envp, 0): the command runs",
			      dlen ? dlen : 1, dlen ? path : "/", base + 1, buf);
	else
		lc_trace_line("execve(\"%s\", [%s], envp): the command runs", path, buf);
}

const char *lc_trace_in_root(const char *path)
{
	/* a few at once: one trace line may name two (single-threaded callers only) */
	static char bufs[4][512];
	static unsigned next;
	char *b = bufs[next++ % LC_ARRAY_SIZE(bufs)];

	snprintf(b, sizeof(bufs[0]), "<rootfs>/%s", path + strspn(path, "/"));
	return b;
}

int lc_trace_keep_fd(int lowest)
{
	if (lc_trace_fd < 0)
		return lowest;
	if (lc_trace_fd != lowest) {
		if (dup3(lc_trace_fd, lowest, O_CLOEXEC) < 0) {
			lc_trace_fd = -1; /* no trace rather than an fd we did not mean to keep */
			return lowest;
		}
		close(lc_trace_fd);
		lc_trace_fd = lowest;
	}
	return lowest + 1;
}
