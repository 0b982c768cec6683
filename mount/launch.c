/* SPDX-License-Identifier: MIT */
/*
 * launch: start a container like `docker run` does, as root. The parent unshares only its
 * pid namespace for children, forks (so glibc's fork handlers keep malloc sane in the child)
 * and steps back; the child is PID 1 of the new namespace and builds the rest: mount, UTS,
 * IPC and network namespaces, /proc /dev /sys and /etc files inside the rootfs (every target
 * resolved without following the image's symlinks), pivot_root, user, capabilities, execve.
 * Errors before execve come back over a CLOEXEC pipe; EOF on it means execve succeeded.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "mount-int.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT	      0x10
#endif

struct lc_open_how {
	uint64_t flags, mode, resolve;
};

/* ---------- pure helpers (unit-tested) ---------- */

const char *lc_env_get(char *const *env, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return env[i] + klen + 1;
	return NULL;
}

/*
 * Open name (absolute: from rootfd; relative: from the cwd) as the kernel would, except that
 * a /proc magic link anywhere on the way is refused (ELOOP), and an absolute name cannot
 * climb above rootfd. < 5.6 has no openat2: plain openat (the launcher holds no fd that
 * leads out by then, see lc_fds_keep_only).
 */
static int open_exec_candidate(int rootfd, const char *name, int flags)
{
	struct lc_open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_NO_MAGICLINKS |
			   (name[0] == '/' && rootfd >= 0 ? RESOLVE_IN_ROOT : 0),
	};
	int dirfd = name[0] == '/' && rootfd >= 0 ? rootfd : AT_FDCWD;
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, (int)how.flags);
	return fd;
}

/* 0 and the fd when root/cand is an executable regular file, else -errno */
static int exec_candidate(int rootfd, const char *cand, int *ret_fd)
{
	cleanup_close int fd = open_exec_candidate(rootfd, cand, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return -EACCES;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int lc_launch_lookpath(int rootfd, const char *name, const char *path, char *buf, size_t bufsz,
		       int *ret_fd)
{
	int r;

	if (!name[0])
		return -ENOENT;
	if (strchr(name, '/')) {
		if ((size_t)snprintf(buf, bufsz, "%s", name) >= bufsz)
			return -ENAMETOOLONG;
		r = exec_candidate(rootfd, name, ret_fd);
		/* execve reports a directory or a mode without x itself: EACCES either way */
		return r;
	}
	for (const char *p = path ? path : "";;) {
		const char *e = strchr(p, ':');
		size_t dlen = e ? (size_t)(e - p) : strlen(p);
		int n;

		/* an empty element is the current directory (POSIX, Go's LookPath) */
		if (dlen == 0)
			n = snprintf(buf, bufsz, "./%s", name);
		else
			n = snprintf(buf, bufsz, "%.*s/%s", (int)dlen, p, name);
		if (n >= 0 && (size_t)n < bufsz && exec_candidate(rootfd, buf, ret_fd) == 0)
			return 0;
		if (!e)
			break;
		p = e + 1;
	}
	return -ENOENT;
}

/* ---------- the container must never run our own binary (CVE-2019-5736) ---------- */

#define EXEC_PEEK      256 /* the kernel's BINPRM_BUF_SIZE: what it reads for "#!" */
#define EXEC_MAX_DEPTH 8   /* the kernel gives up after 6 binfmt levels and one PT_INTERP */

/* The PT_INTERP path of the ELF file fd (header in buf), into interp; false when none. */
static bool elf_interp(int fd, const unsigned char *buf, size_t len, char *interp, size_t interp_sz)
{
	bool is64 = buf[EI_CLASS] == ELFCLASS64;
	uint64_t phoff, off = 0, filesz = 0;
	unsigned int phnum, phentsize;
	bool found = false;

	if (len < sizeof(Elf64_Ehdr) || buf[EI_DATA] != ELFDATA2LSB ||
	    (buf[EI_CLASS] != ELFCLASS64 && buf[EI_CLASS] != ELFCLASS32))
		return false;
	if (is64) {
		const Elf64_Ehdr *h = (const Elf64_Ehdr *)(const void *)buf;

		phoff = h->e_phoff, phnum = h->e_phnum, phentsize = h->e_phentsize;
		if (phentsize != sizeof(Elf64_Phdr))
			return false;
	} else {
		const Elf32_Ehdr *h = (const Elf32_Ehdr *)(const void *)buf;

		phoff = h->e_phoff, phnum = h->e_phnum, phentsize = h->e_phentsize;
		if (phentsize != sizeof(Elf32_Phdr))
			return false;
	}
	/* the kernel refuses program headers above 64 KiB; so do we, one at a time */
	if ((uint64_t)phnum * phentsize > 65536)
		return false;
	for (unsigned int i = 0; i < phnum && !found; i++) {
		unsigned char ph[sizeof(Elf64_Phdr)];

		if (pread(fd, ph, phentsize, (off_t)(phoff + (uint64_t)i * phentsize)) !=
		    (ssize_t)phentsize)
			return false;
		if (is64) {
			const Elf64_Phdr *p = (const Elf64_Phdr *)(const void *)ph;

			found = p->p_type == PT_INTERP;
			off = p->p_offset, filesz = p->p_filesz;
		} else {
			const Elf32_Phdr *p = (const Elf32_Phdr *)(const void *)ph;

			found = p->p_type == PT_INTERP;
			off = p->p_offset, filesz = p->p_filesz;
		}
	}
	if (!found || filesz < 2 || filesz > interp_sz)
		return false;
	if (pread(fd, interp, filesz, (off_t)off) != (ssize_t)filesz || interp[filesz - 1])
		return false;
	return true;
}

/* The interpreter named by a "#!" line in buf, into interp (the kernel's parsing). */
static bool shebang_interp(const unsigned char *buf, size_t len, char *interp, size_t interp_sz)
{
	size_t i = 2, start, n;

	if (len < 2 || buf[0] != '#' || buf[1] != '!')
		return false;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	start = i;
	while (i < len && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != 0)
		i++;
	n = i - start;
	if (n == 0 || n >= interp_sz)
		return false;
	memcpy(interp, buf + start, n);
	interp[n] = 0;
	return true;
}

/* The next interpreter of the file open at fd (regular, header peeked), into next; or false. */
static bool next_interp(int fd, char *next, size_t next_sz, bool *ret_script)
{
	unsigned char buf[EXEC_PEEK];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n <= 0)
		return false;
	if (ret_script)
		*ret_script = n >= 2 && buf[0] == '#' && buf[1] == '!';
	return shebang_interp(buf, (size_t)n, next, next_sz) ||
	       ((size_t)n >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0 &&
		elf_interp(fd, buf, (size_t)n, next, next_sz));
}

static int check_exec_at(const char *name, const char *path, dev_t self_dev, ino_t self_ino,
			 int depth, struct lc_err **err)
{
	cleanup_close int fd = -1;
	char next[PATH_MAX];
	struct stat st;

	/* an interpreter is followed like the kernel follows it: symlinks and magic links alike */
	if (depth >= EXEC_MAX_DEPTH || stat(path, &st) < 0)
		return 0; /* execve will say what is wrong */
	if (st.st_dev == self_dev && st.st_ino == self_ino)
		return lc_err_set(
			err, LC_ERR_EXEC, 0,
			"exec: \"%s\": its interpreter '%s' is the launcher's own binary: "
			"refusing to run it in the container",
			name, path);
	if (!S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (next_interp(fd, next, sizeof(next), NULL))
		return check_exec_at(name, next, self_dev, self_ino, depth + 1, err);
	return 0;
}

int lc_launch_check_exec(const char *name, int fd, dev_t self_dev, ino_t self_ino, bool *ret_script,
			 struct lc_err **err)
{
	char next[PATH_MAX];
	struct stat st;

	if (ret_script)
		*ret_script = false;
	if (fstat(fd, &st) < 0)
		return 0; /* execveat will say what is wrong */
	if (st.st_dev == self_dev && st.st_ino == self_ino)
		return lc_err_set(err, LC_ERR_EXEC, 0,
				  "exec: \"%s\": is the launcher's own binary: refusing to run it "
				  "in the container",
				  name);
	if (S_ISREG(st.st_mode) && next_interp(fd, next, sizeof(next), ret_script))
		return check_exec_at(name, next, self_dev, self_ino, 1, err);
	return 0;
}

/* ---------- the child: resolving targets inside the rootfs ---------- */

enum target_kind { T_DIR, T_FILE, T_ANY /* the last component may be either */ };
enum target_flags {
	T_CREATE = 1,	       /* create what is missing (dirs, then an empty file) */
	T_REPLACE_SYMLINK = 2, /* a symlink as the last component is replaced by a file */
};

/*
 * Open root/path as O_PATH, one component at a time, never following a symlink (an image
 * with `proc -> /` or `etc/resolv.conf -> /etc/shadow` must not send a mount to the host).
 * path is one of ours: no "." or ".." components. Missing: -1 with errno ENOENT and no
 * error set, unless T_CREATE.
 */
static int resolve_in(int rootfd, const char *path, enum target_kind kind, int flags,
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

	fd = resolve_in(rootfd, path, kind, tflags, err);
	if (fd < 0) {
		if (!*err)
			lc_err_set(err, LC_ERR_SYS, ENOENT, "mount point '/%s'", path);
		return -1;
	}
	fd_path(fd, target);
	if (mount(src, target, fstype, mflags, data) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "mount %s on '/%s'",
				  fstype ? fstype : "bind", path);
	again = resolve_in(rootfd, path, kind, 0, err);
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
	cleanup_close int fd = resolve_in(rootfd, path, T_ANY, 0, err);
	char target[32];
	struct statvfs sv;

	if (fd < 0)
		return -1;
	fd_path(fd, target);
	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "remount '/%s' read-only", path);
	if (fstatvfs(fd, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/%s' is still writable", path);
	return 0;
}

/* Bind a path onto itself read-only (docker's readonlyPaths). Missing is fine. */
static int readonly_path(int rootfd, const char *path, struct lc_err **err)
{
	cleanup_close int fd = resolve_in(rootfd, path, T_ANY, 0, err);
	char target[32];

	if (fd < 0)
		return *err ? -1 : 0;
	fd_path(fd, target);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "bind '/%s' read-only", path);
	return remount_ro(rootfd, path, MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
}

/* Hide a path (docker's maskedPaths): /dev/null over files, a read-only tmpfs over dirs. */
static int mask_path(int rootfd, int nullfd, const char *path, struct lc_err **err)
{
	cleanup_close int fd = resolve_in(rootfd, path, T_ANY, 0, err);
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
	close(fd);
	fd = resolve_in(rootfd, path, T_FILE, 0, err);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return *err ? -1 : lc_err_set(err, LC_ERR_UNSAFE, 0, "'/%s' is not masked", path);
	return 0;
}

/* docker also masks /sys/devices/system/cpu/cpuN/thermal_throttle, for every N */
static int mask_cpu_thermal(int rootfd, int nullfd, struct lc_err **err)
{
	cleanup_close int cpus = resolve_in(rootfd, "sys/devices/system/cpu", T_DIR, 0, err);
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (cpus < 0)
		return *err ? -1 : 0;
	fd = openat(cpus, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return lc_err_set(err, LC_ERR_SYS, e, "list '/sys/devices/system/cpu'");
	}
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
	close(target);
	target = openat(dev, n->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0 || fstat(target, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(n->major, n->minor))
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'/dev/%s' is not the device just bound",
				  n->name);
	return 0;
}

/* A minimal /dev: a nodev tmpfs, the six usual nodes bound from the host's, pts, shm, mqueue. */
static int setup_dev(int rootfd, int *ret_nullfd, struct lc_err **err)
{
	cleanup_close int dev = -1;
	cleanup_close int nullfd = -1;
	struct stat st;

	if (mount_in(rootfd, "dev", T_DIR, T_CREATE, "tmpfs", "tmpfs",
		     MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k", TMPFS_MAGIC,
		     err) < 0)
		return -1;
	dev = resolve_in(rootfd, "dev", T_DIR, 0, err);
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
static int setup_etc(int rootfd, const char *state_dir, int statefd, struct lc_err **err)
{
	static const char *const files[] = { "hostname", "hosts", "resolv.conf" };
	cleanup_close int dir = open(state_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat want, got;

	if (dir < 0 || fstat(dir, &got) < 0 || fstat(statefd, &want) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", state_dir);
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return lc_err_set(err, LC_ERR_UNSAFE, 0, "'%s' changed while starting", state_dir);

	for (size_t i = 0; i < LC_ARRAY_SIZE(files); i++) {
		cleanup_close int src = openat(dir, files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
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
		now = resolve_in(rootfd, target, T_FILE, 0, err);
		if (now < 0 || fstat(now, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			return *err ? -1
				    : lc_err_set(err, LC_ERR_UNSAFE, 0,
						 "'/%s' is not the file just mounted", target);
	}
	return 0;
}

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
	return 0;
}

/* open path inside the (already pivoted) root, refusing magic links like /proc/self/fd/N */
static int open_in_root(const char *path, int flags)
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
static int open_ent(const char *path, struct lc_err **err)
{
	int fd = open_in_root(path, O_RDONLY | O_NONBLOCK);
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

static int enter_cwd(const char *cwd, struct lc_err **err)
{
	cleanup_close int fd = -1;
	char buf[PATH_MAX];

	if (!cwd || !*cwd)
		cwd = "/";
	if (cwd[0] != '/')
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "working directory '%s' is not an absolute path", cwd);
	fd = open_in_root(cwd, O_PATH | O_DIRECTORY);
	if (fd < 0 && errno == ENOENT) {
		/* like docker: create a missing WorkingDir (never through a symlink) */
		cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open '/'");
		fd = resolve_in(root, cwd, T_DIR, T_CREATE, err);
		if (fd < 0)
			return *err ? lc_err_prefix(err, "working directory '%s'", cwd)
				    : lc_err_set(err, LC_ERR_SYS, ENOENT, "working directory '%s'",
						 cwd);
	}
	if (fd < 0)
		return lc_err_set(err,
				  errno == ELOOP || errno == EXDEV ? LC_ERR_UNSAFE : LC_ERR_SYS,
				  errno, "working directory '%s'", cwd);
	if (fchdir(fd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chdir to '%s'", cwd);
	/* CVE-2024-21626: a cwd reached through a leaked fd is outside the root */
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
		return lc_err_set(err, LC_ERR_UNSAFE, 0,
				  "working directory '%s' is outside the container", cwd);
	return 0;
}

static const int default_caps[] = {
	CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,	     CAP_FOWNER,
	CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,	     CAP_SETUID,
	CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
	CAP_KILL,    CAP_AUDIT_WRITE,
};

static uint64_t default_cap_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < LC_ARRAY_SIZE(default_caps); i++)
		m |= 1ULL << default_caps[i];
	return m;
}

static int drop_bounding(struct lc_err **err)
{
	uint64_t keep = default_cap_mask();

	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last cap (cap_last_cap) */
	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "drop capability %d", cap);
	return 0;
}

static int set_caps(bool root, struct lc_err **err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t m = root ? default_cap_mask() : 0;

	/* a non-root user keeps none (setuid already cleared them), like docker */
	data[0].permitted = data[0].effective = (uint32_t)m;
	data[1].permitted = data[1].effective = (uint32_t)(m >> 32);
	/* inheritable stays empty: CVE-2022-29162 */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return lc_err_set(err, LC_ERR_SYS, errno, "clear ambient capabilities");
	return 0;
}

static int set_user(const struct lc_user_spec *spec, bool tty, char **home_env, struct lc_err **err)
{
	cleanup_close int pw = -1;
	cleanup_close int gr = -1;
	struct lc_user u;

	pw = open_ent("/etc/passwd", err);
	if (pw < 0 && *err)
		return -1;
	gr = open_ent("/etc/group", err);
	if (gr < 0 && *err)
		return -1;
	if (lc_user_resolve(spec, pw, gr, &u, err) < 0)
		return -1;
	if (home_env)
		*home_env = lc_xasprintf("HOME=%s", u.home[0] ? u.home : "/");
	/* the user's own terminal, as with docker -t -u: it may reopen /dev/pts/0 (/dev/stdout) */
	if (tty && fchown(0, u.uid, (gid_t)-1) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "tty: give it to uid %u", u.uid);
	if (setgroups(u.n_groups, u.groups) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "setgroups");
	if (setgid(u.gid) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "setgid %u", u.gid);
	if (setuid(u.uid) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "setuid %u", u.uid);
	return set_caps(u.uid == 0, err);
}

/* close every fd >= from; /proc/self/fd where close_range is missing (< 5.9) */
static int close_from(int from, struct lc_err **err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;

	if (syscall(SYS_close_range, (unsigned int)from, ~0U, 0) == 0)
		return 0;
	d = opendir("/proc/self/fd");
	if (!d)
		return lc_err_set(err, LC_ERR_SYS, errno, "list open fds");
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd < from || fd == dirfd(d))
			continue;
		close((int)fd);
	}
	return 0;
}

int lc_fds_keep_only(int *const *keep, size_t n, struct lc_err **err)
{
	int tmp[8];
	int min = 3 + (int)n;

	if (n > LC_ARRAY_SIZE(tmp))
		return lc_err_set(err, LC_ERR_INVALID, 0, "keep at most %zu fds",
				  LC_ARRAY_SIZE(tmp));
	/* copies above the target slots first, so that no move overwrites a later one */
	for (size_t i = 0; i < n; i++) {
		tmp[i] = *keep[i] < 0 ? -1 : fcntl(*keep[i], F_DUPFD_CLOEXEC, min);
		if (*keep[i] >= 0 && tmp[i] < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "move fd %d", *keep[i]);
	}
	for (size_t i = 0; i < n; i++) {
		int want = 3 + (int)i;

		if (tmp[i] < 0) {
			close(want);
			*keep[i] = -1;
		} else if (dup3(tmp[i], want, O_CLOEXEC) < 0) {
			return lc_err_set(err, LC_ERR_SYS, errno, "move fd %d to %d", *keep[i],
					  want);
		} else {
			*keep[i] = want;
		}
	}
	return close_from(min, err);
}

static void reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* EINVAL for SIGKILL, SIGSTOP, glibc's own: fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
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
		cleanup_close int pts = resolve_in(rootfd, "dev/pts", T_DIR, 0, err);
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
 * through), the launch protocol's fds at 3 (sync pipe), 4 (state dir), 5 (tty socket), and
 * nothing else: the store's dirs and whatever else the caller had open are closed before
 * anything of the image is looked at.
 */
static int child_fds(struct launch_ctx *c, int *syncfd, struct lc_err **err)
{
	int *const keep[] = { syncfd, &c->statefd, &c->ttysock };

	for (int i = 0; i < 3; i++)
		if (c->stdio.child[i] >= 0 && dup2(c->stdio.child[i], i) < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "stdio: make the pipe fd %d", i);
	return lc_fds_keep_only(keep, LC_ARRAY_SIZE(keep), err);
}

/* Runs as PID 1 of the new pid namespace, still root, still seeing the host's mounts. */
static int child_setup(struct launch_ctx *c, struct lc_err **err)
{
	const struct lc_launch_cfg *cfg = c->cfg;
	cleanup_close int rootfd = -1;
	cleanup_close int nullfd = -1;

	umask(0);
	/*
	 * A session of our own: the caller's terminal, if any, is no longer our controlling
	 * terminal, so the image can neither push input into it (TIOCSTI needs the controlling
	 * tty or CAP_SYS_ADMIN) nor take its foreground process group (TIOCSPGRP).
	 */
	if (setsid() < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "new session");
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "create namespaces");
	/* nothing we mount from here on may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "make mounts private");
	if (mount(cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "bind rootfs '%s'", cfg->rootfs);
	rootfd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open rootfs '%s'", cfg->rootfs);

	if (mount_in(rootfd, "proc", T_DIR, T_CREATE, "proc", "proc",
		     MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, PROC_SUPER_MAGIC, err) < 0)
		return -1;
	if (setup_dev(rootfd, &nullfd, err) < 0 || setup_stdio(c, rootfd, err) < 0)
		return -1;
	if (mount_in(rootfd, "sys", T_DIR, T_CREATE, "sysfs", "sysfs",
		     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, SYSFS_MAGIC, err) < 0)
		return -1;
	for (size_t i = 0; i < LC_ARRAY_SIZE(masked); i++)
		if (mask_path(rootfd, nullfd, masked[i], err) < 0)
			return -1;
	if (mask_cpu_thermal(rootfd, nullfd, err) < 0)
		return -1;
	for (size_t i = 0; i < LC_ARRAY_SIZE(readonly); i++)
		if (readonly_path(rootfd, readonly[i], err) < 0)
			return -1;
	if (c->statefd >= 0 && setup_etc(rootfd, cfg->state_dir, c->statefd, err) < 0)
		return -1;
	if (c->statefd >= 0)
		close(c->statefd);
	c->statefd = -1;
	if (loopback_up(err) < 0)
		return -1;
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set hostname '%s'", c->hostname);

	/* pivot_root(".", "."): the old root ends up stacked on the new one; detach it */
	if (fchdir(rootfd) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chdir to rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "pivot_root to '%s'", cfg->rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "detach the host's root");
	if (chdir("/") < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chdir to '/'");
	return 0;
}

/* After pivot_root: cwd, user, capabilities, exec. Returns only on failure. */
static int child_exec(struct launch_ctx *c, int *ret_status, struct lc_err **err)
{
	const struct lc_launch_cfg *cfg = c->cfg;
	cleanup_close int exe = -1;
	cleanup_close int dir = -1;
	const char *base;
	char *home = NULL;
	char path[PATH_MAX];
	const char *name = cfg->argv[0];
	bool script = false;
	int r;

	*ret_status = 125;
	/* from here on, only 0, 1, 2 and the sync pipe (3): no fd leads out of the root */
	if (close_from(4, err) < 0)
		return -1;
	if (drop_bounding(err) < 0)
		return -1;
	if (enter_cwd(cfg->cwd, err) < 0)
		return -1;

	/* found and inspected while still root: a --x script is still run by its interpreter */
	{
		cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open '/'");
		r = lc_launch_lookpath(root, name, lc_env_get(c->envp, "PATH"), path, sizeof(path),
				       &exe);
	}
	if (r == -ENOENT && !strchr(name, '/')) {
		*ret_status = 127;
		return lc_err_set(err, LC_ERR_NOEXEC, 0,
				  "exec: \"%s\": executable file not found in $PATH", name);
	}
	if (r == -ENOENT) {
		*ret_status = 127;
		return lc_err_set(err, LC_ERR_NOEXEC, ENOENT, "exec: \"%s\": stat %s", name, name);
	}
	if (r == -ELOOP || r == -EXDEV) {
		*ret_status = 126;
		return lc_err_set(err, LC_ERR_EXEC, 0,
				  "exec: \"%s\": leads through a /proc magic link or a symlink "
				  "loop: refusing to run it",
				  name);
	}
	if (r < 0) {
		*ret_status = 126;
		return lc_err_set(err, LC_ERR_EXEC, -r, "exec: \"%s\"", name);
	}
	if (lc_launch_check_exec(name, exe, c->self_dev, c->self_ino, &script, err) < 0) {
		*ret_status = 126;
		return -1;
	}
	base = strrchr(path, '/') + 1; /* lookpath's paths all have one */
	if (!script) {
		struct stat a, b;
		cleanup_free char *dname = lc_xstrndup(path, (size_t)(base - path));

		dir = open_exec_candidate(-1, dname, O_PATH | O_DIRECTORY);
		if (dir < 0)
			return lc_err_set(err, LC_ERR_EXEC, errno, "exec: \"%s\": open '%s'", name,
					  dname);
		/* what execveat will find there is what we checked (symlinks followed alike) */
		if (fstat(exe, &a) < 0 || fstatat(dir, base, &b, 0) < 0 || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "exec: \"%s\": changed while starting", name);
	}

	if (set_user(&c->user, cfg->tty, c->need_home ? &home : NULL, err) < 0)
		return lc_err_prefix(err, "user '%s'", cfg->user ? cfg->user : "root");
	if (home)
		c->envp[c->n_env] = home; /* freed by execve, one way or another */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set no_new_privs");
	reset_signals();
	umask(022);
	/*
	 * Last before execve (after no_new_privs, which an unprivileged user needs for it): the
	 * filter binds every syscall from here on, ours included, and none of the setup above
	 * may be refused by it. *ret_status stays 125.
	 */
	if (!cfg->no_seccomp && lc_seccomp_install(err) < 0)
		return -1;
	/*
	 * An ELF runs from the dir we resolved without magic links, by the name we checked
	 * there (execveat on the dir fd: the process is still named after the command, which
	 * execveat on the file's own fd would rename to "4" before Linux 6.14, or to a
	 * symlink's target). A "#!" script runs by its path: its interpreter must open it by
	 * name, which a close-on-exec fd would not allow. Either way no fd we hold leads out of
	 * the root, and nothing in the container runs yet to swap what we checked.
	 */
	if (!script && dir >= 0)
		syscall(SYS_execveat, dir, base, cfg->argv, c->envp, 0);
	else
		execve(path, cfg->argv, c->envp);
	*ret_status = errno == ENOENT ? 127 : 126;
	return lc_err_set(err, errno == ENOENT ? LC_ERR_NOEXEC : LC_ERR_EXEC, errno, "exec: \"%s\"",
			  name);
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
	if ((!c->cfg->cgroup || lc_cgroup_enter(c->cfg->cgroup, &err) == 0) &&
	    child_fds(c, &syncfd, &err) == 0 && child_setup(c, &err) == 0)
		child_exec(c, &status, &err);
	if (!err)
		lc_err_set(&err, LC_ERR_SYS, 0, "container setup failed (no reason given: bug)");
	m.code = (int32_t)err->code;
	m.sys_errno = err->sys_errno;
	m.status = status;
	snprintf(m.msg, sizeof(m.msg), "%s", err->msg);
	lc_write_all(syncfd, &m, sizeof(m));
	_exit(status);
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
static int write_state(const char *dir, const char *hostname, int *ret_fd, struct lc_err **err)
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
	if (lc_read_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &resolv, &rlen, &rerr) < 0) {
		lc_err_free(rerr);
		free(resolv);
		resolv = lc_xstrdup("");
		rlen = 0;
	}
	if (lc_write_file_atomic_at(fd, "hostname", hn, strlen(hn), 0644, err) < 0 ||
	    lc_write_file_atomic_at(fd, "hosts", hosts, strlen(hosts), 0644, err) < 0 ||
	    lc_write_file_atomic_at(fd, "resolv.conf", resolv, rlen, 0644, err) < 0)
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
				.stdio = { { -1, -1, -1 }, { -1, -1, -1 } } };
	cleanup_close int pidfd = -1;
	cleanup_free char *hostname_env = NULL;
	cleanup_close int statefd = -1;
	cleanup_close int pidns = -1;
	cleanup_close int master = -1;
	int ttysock[2] = { -1, -1 }; /* -t: the child sends the pty's master on [1] */
	int size_fd = -1;	     /* -t: the terminal whose window size the pty takes */
	int pipefd[2] = { -1, -1 };
	int alive[2] = { -1, -1 }; /* we hold the write end: its EOF tells the child we died */
	struct sigaction fwd = { .sa_handler = forward_signal }, old[LC_ARRAY_SIZE(forwarded)];
	sigset_t block, oldmask;
	struct sync_msg m;
	size_t got = 0;
	pid_t pid;
	int ws, fork_errno, pr = 0, r = -1;

	if (geteuid() != 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "run needs root (rootless mode is not supported yet)");
	if (!cfg->rootfs || !cfg->argv || !cfg->argv[0])
		return lc_err_set(err, LC_ERR_INVALID, 0, "run: no rootfs or no command");
	if (!cfg->argv[0][0])
		return lc_err_set(err, LC_ERR_NOEXEC, 0,
				  "exec: \"\": executable file not found in $PATH");
	c.hostname = cfg->hostname ? cfg->hostname : "localhost";
	if (!hostname_ok(c.hostname))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid hostname '%.80s'", c.hostname);
	if (lc_user_parse(cfg->user, &c.user, err) < 0)
		return -1;
	if (cfg->tty && cfg->interactive && !isatty(0))
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
	if (cfg->state_dir && write_state(cfg->state_dir, c.hostname, &statefd, err) < 0)
		goto out;
	c.statefd = statefd;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
		goto out;
	}
	if (pipe2(alive, O_CLOEXEC) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
		goto out;
	}
	if (cfg->tty) {
		size_fd = isatty(0) ? 0 : isatty(1) ? 1 : -1;
		c.has_ws = size_fd >= 0 && ioctl(size_fd, TIOCGWINSZ, &c.ws) == 0;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttysock) < 0) {
			lc_err_set(err, LC_ERR_SYS, errno, "run: socketpair");
			goto out;
		}
		c.ttysock = ttysock[1];
	} else if (lc_stdio_plan_open(&c.stdio, cfg->interactive, err) < 0) {
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
	if (unshare(CLONE_NEWPID) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: create pid namespace");
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		goto out;
	}
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
		child_main(&c, pipefd[1]);
	}
	if (setns(pidns, CLONE_NEWPID) < 0) {
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
	if (pr == 0 && got < sizeof(m) && master >= 0)
		pr = run_tty(cfg, pid, master, size_fd, err);
	if (pr == 0 && got < sizeof(m) && lc_stdio_plan_any(&c.stdio)) {
#ifdef SYS_pidfd_open
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
		/* without a pidfd (< 5.3) the output pipes' EOF alone ends the copy */
		pr = lc_stdio_relay(&c.stdio, pidfd, err);
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
	if (ttysock[0] >= 0)
		close(ttysock[0]);
	if (ttysock[1] >= 0)
		close(ttysock[1]);
	lc_stdio_plan_close(&c.stdio);
	free(c.envp);
	return r;
}
