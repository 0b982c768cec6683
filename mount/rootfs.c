/* SPDX-License-Identifier: MIT */
/*
 * rootfs: the container's filesystem, built inside its mount namespace before pivot_root:
 * /proc, a nodev /dev with the host's six usual nodes bound in, a read-only /sys, docker's
 * masked and read-only paths, the container's /etc files; every mount target is resolved
 * inside the rootfs without following the image's symlinks (the CVE-2021-30465 family), and
 * checked after mounting. Also what opens files inside the root once pivoted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mount-int.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/*
 * Open root/path as O_PATH, one component at a time, never following a symlink (an image
 * with `proc -> /` or `etc/resolv.conf -> /etc/shadow` must not send a mount to the host).
 * path is one of ours: no "." or ".." components. Missing: -1 with errno ENOENT and no
 * error set, unless T_CREATE.
 */
int lc_rootfs_resolve(int rootfd, const char *path, enum target_kind kind, int flags,
		      struct lc_err **err)
{
	cleanup_close int cur = -1;
	const char *p;

	while (*path == '/')
		path++; /* our messages add the one '/' */
	p = path;
	cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open the rootfs");
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool last = !e || !e[1 + strspn(e + 1, "/")];
		char comp[NAME_MAX + 1];
		struct stat st;
		int fd;

		if (len > NAME_MAX)
			return lc_err_set(err, LC_ERR_INVALID, 0, "'/%s': name too long", path);
		memcpy(comp, p, len);
		comp[len] = 0;
	again:
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && (flags & T_CREATE)) {
			if (!last || kind == T_DIR) {
				if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
					return lc_err_set(err, LC_ERR_SYS, errno,
							  "create mount point '/%s'", path);
			} else {
				int nfd = openat(
					cur, comp,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

				if (nfd < 0 && errno != EEXIST)
					return lc_err_set(err, LC_ERR_SYS, errno,
							  "create mount point '/%s'", path);
				if (nfd >= 0)
					close(nfd);
			}
			goto again;
		}
		if (fd < 0) {
			if (errno == ENOENT)
				return -1; /* caller decides: skip or fail */
			return lc_err_set(err, LC_ERR_SYS, errno, "open '/%s' in the rootfs", path);
		}
		if (fstat(fd, &st) < 0) {
			int e2 = errno;

			close(fd);
			return lc_err_set(err, LC_ERR_SYS, e2, "stat '/%s' in the rootfs", path);
		}
		if (S_ISLNK(st.st_mode) && last && (flags & T_REPLACE_SYMLINK)) {
			/* our file replaces the image's link in the container's own upper dir */
			close(fd);
			if (unlinkat(cur, comp, 0) < 0)
				return lc_err_set(err, LC_ERR_SYS, errno,
						  "replace symlink '/%s' in the rootfs", path);
			goto again;
		}
		if (S_ISLNK(st.st_mode)) {
			close(fd);
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "'/%.*s' in the image is a symlink: refusing to mount "
					  "through it",
					  (int)(p - path) + (int)len, path);
		}
		if ((!last || kind == T_DIR) && !S_ISDIR(st.st_mode)) {
			close(fd);
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "'/%.*s' in the image is not a directory",
					  (int)(p - path) + (int)len, path);
		}
		if (last && kind == T_FILE && S_ISDIR(st.st_mode)) {
			close(fd);
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "'/%s' in the image is a directory", path);
		}
		close(cur);
		cur = fd;
		p += len;
		while (*p == '/')
			p++;
	}
	return TAKE_FD(cur);
}

static void fd_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/*
 * Mount fstype (or bind src when fstype is NULL) on root/path, then look path up again and
 * check that what is there now is what we mounted (magic: the fs type; 0 for binds).
 */
static int mount_in(int rootfd, const char *path, enum target_kind kind, int tflags,
		    const char *src, const char *fstype, unsigned long mflags, const char *data,
		    long magic, struct lc_err **err)
{
	cleanup_close int fd = -1;
	cleanup_close int again = -1;
	char target[32];
	struct statfs sfs;

	fd = lc_rootfs_resolve(rootfd, path, kind, tflags, err);
	if (fd < 0) {
		if (!*err)
			lc_err_set(err, LC_ERR_SYS, ENOENT, "mount point '/%s'", path);
		return -1;
	}
	fd_path(fd, target);
	if (mount(src, target, fstype, mflags, data) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "mount %s on '/%s'",
				  fstype ? fstype : "bind", path);
	lc_trace_mount(src, lc_trace_in_root(path), fstype, mflags, data);
	again = lc_rootfs_resolve(rootfd, path, kind, 0, err);
	if (again < 0) {
		if (!*err)
			lc_err_set(err, LC_ERR_UNSAFE, ENOENT, "'/%s' vanished after mounting",
				   path);
		return -1;
	}
	if (magic && (fstatfs(again, &sfs) < 0 || sfs.f_type != magic))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/%s' is not the %s just mounted", path,
				  fstype);
	return 0;
}

/* Remount an existing mount at root/path read-only, keeping nosuid/nodev/noexec. */
static int remount_ro(int rootfd, const char *path, unsigned long keep, struct lc_err **err)
{
	cleanup_close int fd = lc_rootfs_resolve(rootfd, path, T_ANY, 0, err);
	char target[32];
	struct statvfs sv;

	if (fd < 0)
		return -1;
	fd_path(fd, target);
	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "remount '/%s' read-only", path);
	lc_trace_mount(NULL, lc_trace_in_root(path), NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep,
		       NULL);
	if (fstatvfs(fd, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/%s' is still writable", path);
	return 0;
}

/* Bind a path onto itself read-only (docker's readonlyPaths). Missing is fine. */
static int readonly_path(int rootfd, const char *path, struct lc_err **err)
{
	cleanup_close int fd = lc_rootfs_resolve(rootfd, path, T_ANY, 0, err);
	char target[32];

	if (fd < 0)
		return *err ? -1 : 0;
	fd_path(fd, target);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "bind '/%s' read-only", path);
	lc_trace_mount(lc_trace_in_root(path), lc_trace_in_root(path), NULL, MS_BIND | MS_REC,
		       NULL);
	return remount_ro(rootfd, path, MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
}

/* Hide a path (docker's maskedPaths): /dev/null over files, a read-only tmpfs over dirs. */
static int mask_path(int rootfd, int nullfd, const char *path, struct lc_err **err)
{
	cleanup_close int fd = lc_rootfs_resolve(rootfd, path, T_ANY, 0, err);
	struct stat st;
	char target[32], src[32];

	if (fd < 0)
		return *err ? -1 : 0; /* not on this kernel: nothing to hide */
	if (fstat(fd, &st) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "stat '/%s'", path);
	if (S_ISDIR(st.st_mode))
		return mount_in(rootfd, path, T_DIR, 0, "tmpfs", "tmpfs", MS_RDONLY, "size=0k",
				TMPFS_MAGIC, err);
	fd_path(fd, target);
	fd_path(nullfd, src);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "mask '/%s'", path);
	lc_trace_mount("/dev/null", lc_trace_in_root(path), NULL, MS_BIND, NULL);
	close(fd);
	fd = lc_rootfs_resolve(rootfd, path, T_FILE, 0, err);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return *err ? -1 : lc_err_set(err, LC_ERR_UNSAFE, 0, "'/%s' is not masked", path);
	return 0;
}

/* docker also masks /sys/devices/system/cpu/cpuN/thermal_throttle, for every N */
static int mask_cpu_thermal(int rootfd, int nullfd, struct lc_err **err)
{
	cleanup_close int cpus = lc_rootfs_resolve(rootfd, "sys/devices/system/cpu", T_DIR, 0, err);
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (cpus < 0)
		return *err ? -1 : 0;
	fd = openat(cpus, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "list '/sys/devices/system/cpu'");
	while ((de = readdir(d))) {
		cleanup_free char *path = NULL;

		if (strncmp(de->d_name, "cpu", 3) != 0 || !de->d_name[3] ||
		    strspn(de->d_name + 3, "0123456789") != strlen(de->d_name + 3))
			continue;
		path = lc_xasprintf("sys/devices/system/cpu/%s/thermal_throttle", de->d_name);
		if (mask_path(rootfd, nullfd, path, err) < 0)
			return -1;
	}
	return 0;
}

struct devnode {
	const char *name;
	unsigned int major, minor;
};
static const struct devnode devnodes[] = {
	{ "null", 1, 3 },   { "zero", 1, 5 },	 { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};
static const char *const devlinks[][2] = {
	{ "fd", "/proc/self/fd" },	 { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};
static const char *const masked[] = {
	"proc/acpi",	   "proc/asound",	 "proc/interrupts",  "proc/kcore",
	"proc/keys",	   "proc/latency_stats", "proc/sched_debug", "proc/scsi",
	"proc/timer_list", "proc/timer_stats",	 "sys/firmware",     "sys/devices/virtual/powercap",
};
static const char *const readonly[] = {
	"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

/*
 * Bind the host's device node /dev/<name> (checked to be that char device, opened without
 * following links, mounted from the fd: CVE-2025-31133) onto a new empty file in dev. The
 * container's /dev is nodev, so these binds (which keep the host's /dev mount flags) are the
 * only device nodes in it that open: one it makes with mknod opens nothing.
 */
static int bind_devnode(int dev, const struct devnode *n, struct lc_err **err)
{
	cleanup_close int host = -1;
	cleanup_close int target = -1;
	cleanup_free char *hpath = lc_xasprintf("/dev/%s", n->name);
	char src[32], dst[32];
	struct stat st;

	host = open(hpath, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (host < 0 || fstat(host, &st) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open the host's '%s'", hpath);
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(n->major, n->minor))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "the host's '%s' is not device %u:%u",
				  hpath, n->major, n->minor);
	target = openat(dev, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (target < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create '/dev/%s'", n->name);
	fd_path(host, src);
	fd_path(target, dst);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "bind the host's '%s'", hpath);
	lc_trace_mount(hpath, lc_trace_in_root(hpath + 1), NULL, MS_BIND, NULL);
	close(target);
	target = openat(dev, n->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0 || fstat(target, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(n->major, n->minor))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/dev/%s' is not the device just bound",
				  n->name);
	return 0;
}

/*
 * --privileged: a node for each char and block device below the host's dir hostdir (made with
 * mknod, the host's mode and owner), its subdirectories too (but not pts, shm, mqueue: our
 * own), symlinks and what /dev already holds left out.
 */
static int copy_host_devices(int hostdir, int dev, int depth, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd = openat(hostdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!(d = lc_fdopendir(fd)))
		return lc_err_set(err, LC_ERR_SYS, errno, "privileged: list the host's /dev");
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    (depth == 0 && (!strcmp(de->d_name, "pts") || !strcmp(de->d_name, "shm") ||
				    !strcmp(de->d_name, "mqueue") || !strcmp(de->d_name, "fd"))))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    faccessat(dev, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 4) {
			cleanup_close int sub = -1;
			cleanup_close int hsub = -1;

			if (mkdirat(dev, de->d_name, st.st_mode & 07777) < 0)
				return lc_err_set(err, LC_ERR_SYS, errno,
						  "privileged: mkdir '/dev/%s'", de->d_name);
			sub = openat(dev, de->d_name,
				     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			hsub = openat(dirfd(d), de->d_name,
				      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || hsub < 0)
				return lc_err_set(err, LC_ERR_SYS, errno,
						  "privileged: open '/dev/%s'", de->d_name);
			if (copy_host_devices(hsub, sub, depth + 1, err) < 0)
				return -1;
			continue;
		}
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			continue;
		if (mknodat(dev, de->d_name, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0 ||
		    fchownat(dev, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "privileged: mknod '/dev/%s'",
					  de->d_name);
	}
	return 0;
}

/* A minimal /dev: a nodev tmpfs, the six usual nodes bound from the host's, pts, shm, mqueue. */
static int setup_dev(int rootfd, bool privileged, int *ret_nullfd, struct lc_err **err)
{
	cleanup_close int dev = -1;
	cleanup_close int nullfd = -1;
	struct stat st;

	/* --privileged: the nodes below must open, so no nodev (docker's privileged /dev) */
	if (mount_in(rootfd, "dev", T_DIR, T_CREATE, "tmpfs", "tmpfs",
		     MS_NOSUID | (privileged ? 0 : MS_NODEV) | MS_STRICTATIME,
		     "mode=755,size=65536k", TMPFS_MAGIC, err) < 0)
		return -1;
	dev = lc_rootfs_resolve(rootfd, "dev", T_DIR, 0, err);
	if (dev < 0)
		return *err ? -1 : lc_err_set(err, LC_ERR_SYS, ENOENT, "open '/dev'");
	/* our own empty tmpfs: nothing of the image is left in it to trick us */
	for (size_t i = 0; i < LC_ARRAY_SIZE(devnodes); i++)
		if (bind_devnode(dev, &devnodes[i], err) < 0)
			return -1;
	for (size_t i = 0; i < LC_ARRAY_SIZE(devlinks); i++)
		if (symlinkat(devlinks[i][1], dev, devlinks[i][0]) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "create '/dev/%s'",
					  devlinks[i][0]);
	if (privileged) {
		cleanup_close int host = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (host < 0)
			return lc_err_set(err, LC_ERR_SYS, errno,
					  "privileged: open the host's /dev");
		if (copy_host_devices(host, dev, 0, err) < 0)
			return -1;
	}
	if (mount_in(rootfd, "dev/pts", T_DIR, T_CREATE, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620,gid=5", DEVPTS_SUPER_MAGIC, err) < 0 ||
	    mount_in(rootfd, "dev/shm", T_DIR, T_CREATE, "shm", "tmpfs",
		     MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", TMPFS_MAGIC,
		     err) < 0 ||
	    mount_in(rootfd, "dev/mqueue", T_DIR, T_CREATE, "mqueue", "mqueue",
		     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, MQUEUE_MAGIC, err) < 0)
		return -1;
	nullfd = openat(dev, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (nullfd < 0 || fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(1, 3))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/dev/null' is not the null device");
	*ret_nullfd = TAKE_FD(nullfd);
	return 0;
}

/*
 * Bind the container's hostname, hosts and resolv.conf over the image's. statefd (opened by
 * the parent) proves which dir we mean; the dir is opened again by name because a bind
 * source must be a mount of our own (new) mount namespace.
 */
static int setup_etc(int rootfd, const char *state_dir, int statefd, const int *etc_fds,
		     struct lc_err **err)
{
	static const char *const files[] = { "hostname", "hosts", "resolv.conf" };
	/* etc_fds: the files were opened in our mount namespace already (--userns) */
	cleanup_close int dir =
		etc_fds ? fcntl(statefd, F_DUPFD_CLOEXEC, 3)
			: open(state_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat want, got;

	if (dir < 0 || fstat(dir, &got) < 0 || fstat(statefd, &want) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", state_dir);
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'%s' changed while starting", state_dir);

	for (size_t i = 0; i < LC_ARRAY_SIZE(files); i++) {
		cleanup_close int src =
			etc_fds ? fcntl(etc_fds[i], F_DUPFD_CLOEXEC, 3)
				: openat(dir, files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		cleanup_free char *target = lc_xasprintf("etc/%s", files[i]);
		cleanup_close int now = -1;
		char srcpath[32];
		struct stat a, b;

		if (src < 0 || fstat(src, &a) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open the container's '%s'",
					  files[i]);
		fd_path(src, srcpath);
		if (mount_in(rootfd, target, T_FILE, T_CREATE | T_REPLACE_SYMLINK, srcpath, NULL,
			     MS_BIND, NULL, 0, err) < 0)
			return -1;
		now = lc_rootfs_resolve(rootfd, target, T_FILE, 0, err);
		if (now < 0 || fstat(now, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			return *err ? -1
				    : lc_err_set(err, LC_ERR_UNSAFE, 0,
						 "'/%s' is not the file just mounted", target);
	}
	return 0;
}

/* open path inside the (already pivoted) root, refusing magic links like /proc/self/fd/N */
int lc_open_in_root(const char *path, int flags)
{
	struct lc_open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				   .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (root < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(root, path, flags | O_CLOEXEC); /* < 5.6 or filtered: getcwd check */
	return fd;
}

/* The image's /etc/passwd or /etc/group: a regular file (not a FIFO to hang on), or -1. */
int lc_open_ent(const char *path, struct lc_err **err)
{
	int fd = lc_open_in_root(path, O_RDONLY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? -1 : lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'%s' in the image is not a regular file",
				  path);
	}
	return fd;
}

int lc_rootfs_enter(const char *rootfs, int *ret_rootfd, struct lc_err **err)
{
	int fd;

	/* nothing we mount from here on may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "make mounts private");
	lc_trace_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "bind rootfs '%s'", rootfs);
	lc_trace_mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
	fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open rootfs '%s'", rootfs);
	*ret_rootfd = fd;
	return 0;
}

int lc_rootfs_mount_proc_dev(int rootfd, bool privileged, int *ret_nullfd, struct lc_err **err)
{
	if (mount_in(rootfd, "proc", T_DIR, T_CREATE, "proc", "proc",
		     MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, PROC_SUPER_MAGIC, err) < 0)
		return -1;
	return setup_dev(rootfd, privileged, ret_nullfd, err);
}

int lc_rootfs_finish(int rootfd, int nullfd, bool privileged, const char *state_dir, int statefd,
		     const int *etc_fds, struct lc_err **err)
{
	/* --privileged: docker's /sys is writable, nothing masked or read-only */
	if (mount_in(rootfd, "sys", T_DIR, T_CREATE, "sysfs", "sysfs",
		     (privileged ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		     SYSFS_MAGIC, err) < 0)
		return -1;
	if (privileged)
		return statefd >= 0 ? setup_etc(rootfd, state_dir, statefd, etc_fds, err) : 0;
	for (size_t i = 0; i < LC_ARRAY_SIZE(masked); i++)
		if (mask_path(rootfd, nullfd, masked[i], err) < 0)
			return -1;
	if (mask_cpu_thermal(rootfd, nullfd, err) < 0)
		return -1;
	for (size_t i = 0; i < LC_ARRAY_SIZE(readonly); i++)
		if (readonly_path(rootfd, readonly[i], err) < 0)
			return -1;
	if (statefd >= 0 && setup_etc(rootfd, state_dir, statefd, etc_fds, err) < 0)
		return -1;
	return 0;
}

/* a target of the user's: absolute, not "/", no "." or ".." component */
static bool target_ok(const char *t)
{
	if (!t || t[0] != '/' || !t[strspn(t, "/")])
		return false;
	for (const char *p = t; *p;) {
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
	}
	return true;
}

static bool tmpfs_value_ok(const char *v, const char *allowed)
{
	return v && *v && strspn(v, allowed) == strlen(v) && strlen(v) < 32;
}

static int bind_user(int rootfd, const struct lc_mount *m, int presrc, struct lc_err **err)
{
	cleanup_close int src = presrc >= 0 ? fcntl(presrc, F_DUPFD_CLOEXEC, 3)
					    : open(m->source, O_PATH | O_CLOEXEC);
	cleanup_close int tgt = -1;
	cleanup_close int again = -1;
	char from[32], to[32];
	struct stat a, b;
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;

	/* the host side is the user's to name: followed as they wrote it */
	if (src < 0 || fstat(src, &a) < 0)
		return lc_err_set(err, LC_ERR_NOTFOUND, errno, "bind source path '%s'", m->source);
	tgt = lc_rootfs_resolve(rootfd, m->target, S_ISDIR(a.st_mode) ? T_DIR : T_FILE, T_CREATE,
				err);
	if (tgt < 0)
		return *err ? lc_err_prefix(err, "mount '%s'", m->target)
			    : lc_err_set(err, LC_ERR_SYS, ENOENT, "mount '%s'", m->target);
	fd_path(src, from);
	fd_path(tgt, to);
	if (mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "bind '%s' on '%s'", m->source,
				  m->target);
	lc_trace_mount(m->source, lc_trace_in_root(m->target), NULL, MS_BIND | MS_REC, NULL);
	/* what is there now must be what we bound, then it gets its flags */
	again = lc_rootfs_resolve(rootfd, m->target, T_ANY, 0, err);
	if (again < 0 || fstat(again, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return *err ? -1
			    : lc_err_set(err, LC_ERR_UNSAFE, 0, "'%s' is not the bind just made",
					 m->target);
	fd_path(again, to);
	if (m->readonly)
		fl |= MS_RDONLY;
	if (mount(NULL, to, NULL, fl, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "remount '%s' nosuid,nodev%s", m->target,
				  m->readonly ? ",ro" : "");
	lc_trace_mount(NULL, lc_trace_in_root(m->target), NULL, fl, NULL);
	return 0;
}

int lc_rootfs_user_mounts(int rootfd, const struct lc_mount *m, size_t n, const int *src_fds,
			  bool read_only, struct lc_err **err)
{
	for (size_t i = 0; i < n; i++) {
		if (!target_ok(m[i].target))
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid mount target '%s': must be an absolute path "
					  "other than / without . or ..",
					  m[i].target ? m[i].target : "");
		if (m[i].kind == LC_MOUNT_BIND) {
			if (bind_user(rootfd, &m[i], src_fds ? src_fds[i] : -1, err) < 0)
				return -1;
		} else {
			cleanup_free char *data = NULL;
			const char *size = m[i].size ? m[i].size : "65536k";
			const char *mode = m[i].mode ? m[i].mode : "1777";

			if (!tmpfs_value_ok(size, "0123456789kmgKMG%") ||
			    !tmpfs_value_ok(mode, "01234567"))
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "invalid tmpfs options for '%s'", m[i].target);
			data = lc_xasprintf("mode=%s,size=%s", mode, size);
			if (mount_in(rootfd, m[i].target, T_DIR, T_CREATE, "tmpfs", "tmpfs",
				     MS_NOSUID | MS_NODEV | (m[i].exec ? 0 : MS_NOEXEC) |
					     (m[i].readonly ? MS_RDONLY : 0),
				     data, TMPFS_MAGIC, err) < 0)
				return -1;
		}
	}
	if (read_only) {
		char root[32];
		struct statvfs sv;

		fd_path(rootfd, root);
		if (mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NODEV, NULL) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "remount the rootfs read-only");
		lc_trace_mount(NULL, "<rootfs>", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NODEV,
			       NULL);
		if (fstatvfs(rootfd, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
			return lc_err_set(err, LC_ERR_UNSAFE, 0, "the rootfs is still writable");
	}
	return 0;
}

int lc_rootfs_pivot(int rootfd, const char *rootfs, struct lc_err **err)
{
	/* pivot_root(".", "."): the old root ends up stacked on the new one; detach it */
	if (fchdir(rootfd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chdir to rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "pivot_root to '%s'", rootfs);
	lc_trace("pivot_root(\".\", \".\") = 0: cwd '%s' is the new root", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "detach the host's root");
	lc_trace("umount2(\".\", MNT_DETACH) = 0: the host's root, stacked under it, detached");
	if (chdir("/") < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chdir to '/'");
	return 0;
}

/* docker's validDeviceMode: one to three of r, w, m, each at most once */
static bool valid_mode(const char *s, size_t n)
{
	int seen = 0;

	if (n == 0 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *at = strchr("rwm", s[i]);

		if (!s[i] || !at || (seen & (1 << (at - "rwm"))))
			return false;
		seen |= 1 << (at - "rwm");
	}
	return true;
}

int lc_device_parse(const char *spec, struct lc_device *ret, struct lc_err **err)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *access = "rwm";
	struct lc_device d = { 0 };
	size_t hlen = c1 ? (size_t)(c1 - spec) : strlen(spec);
	struct stat st;

	if (c2 && strchr(c2 + 1, ':'))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid device specification: %s", spec);
	if (hlen == 0 || hlen >= sizeof(d.host_path))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid device specification: %s", spec);
	memcpy(d.host_path, spec, hlen);
	if (c1) {
		const char *f2 = c1 + 1;
		size_t len2 = c2 ? (size_t)(c2 - f2) : strlen(f2);
		bool mode2 = valid_mode(f2, len2);

		if (c2) {
			access = c2 + 1;
			if (!valid_mode(access, strlen(access)))
				return lc_err_set(err, LC_ERR_INVALID, 0, "bad mode specified: %s",
						  access);
		}
		if (mode2 && !c2) {
			access = f2;
		} else {
			if (len2 == 0 || len2 >= sizeof(d.ctr_path))
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "invalid device specification: %s", spec);
			memcpy(d.ctr_path, f2, len2);
		}
	}
	if (!d.ctr_path[0])
		memcpy(d.ctr_path, d.host_path, hlen + 1);
	if (d.ctr_path[0] != '/' || !target_ok(d.ctr_path))
		return lc_err_set(err, LC_ERR_INVALID, 0, "bad format for path: %s", d.ctr_path);
	snprintf(d.access, sizeof(d.access), "%s", access);
	/* the host side is the user's to name: followed as they wrote it */
	if (stat(d.host_path, &st) < 0)
		return lc_err_set(err, LC_ERR_INVALID, errno,
				  "error gathering device information while adding custom "
				  "device \"%s\"",
				  d.host_path);
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "error gathering device information while adding custom device "
				  "\"%s\": not a device node",
				  d.host_path);
	d.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
	d.major = major(st.st_rdev);
	d.minor = minor(st.st_rdev);
	*ret = d;
	return 0;
}

int lc_rootfs_devices(int rootfd, const struct lc_device *d, size_t n, struct lc_err **err)
{
	for (size_t i = 0; i < n; i++) {
		cleanup_close int host = open(d[i].host_path, O_PATH | O_CLOEXEC);
		cleanup_close int tgt = -1;
		cleanup_close int again = -1;
		mode_t want = d[i].type == 'c' ? S_IFCHR : S_IFBLK;
		char from[32], to[32];
		struct stat st;

		if (host < 0 || fstat(host, &st) < 0 || (st.st_mode & S_IFMT) != want ||
		    st.st_rdev != makedev(d[i].major, d[i].minor))
			return lc_err_set(err, LC_ERR_UNSAFE, errno,
					  "device '%s' is not the device it was", d[i].host_path);
		tgt = lc_rootfs_resolve(rootfd, d[i].ctr_path, T_FILE, T_CREATE, err);
		if (tgt < 0)
			return *err ? lc_err_prefix(err, "device '%s'", d[i].ctr_path)
				    : lc_err_set(err, LC_ERR_SYS, ENOENT, "device '%s'",
						 d[i].ctr_path);
		fd_path(host, from);
		fd_path(tgt, to);
		/* the bind keeps the host /dev's flags (no nodev): the only way this node opens */
		if (mount(from, to, NULL, MS_BIND, NULL) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "bind device '%s' on '%s'",
					  d[i].host_path, d[i].ctr_path);
		again = lc_rootfs_resolve(rootfd, d[i].ctr_path, T_FILE, 0, err);
		if (again < 0 || fstat(again, &st) < 0 || (st.st_mode & S_IFMT) != want ||
		    st.st_rdev != makedev(d[i].major, d[i].minor))
			return *err ? -1
				    : lc_err_set(err, LC_ERR_UNSAFE, 0,
						 "'%s' is not the device just bound",
						 d[i].ctr_path);
	}
	return 0;
}
