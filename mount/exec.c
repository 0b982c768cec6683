/* SPDX-License-Identifier: MIT */
/*
 * exec: the last steps of every process layerctl starts in a container (the command of `run`,
 * the one of `exec`): only fds 0, 1, 2 and the sync pipe left open, the working dir and the
 * command resolved inside the root without /proc magic links, the command checked never to be
 * layerctl's own binary (CVE-2019-5736), the user, capabilities, no_new_privs, seccomp, execve.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount-int.h"

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

int lc_enter_cwd(const char *cwd, struct lc_err **err)
{
	cleanup_close int fd = -1;
	char buf[PATH_MAX];

	if (!cwd || !*cwd)
		cwd = "/";
	if (cwd[0] != '/')
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "working directory '%s' is not an absolute path", cwd);
	fd = lc_open_in_root(cwd, O_PATH | O_DIRECTORY);
	if (fd < 0 && errno == ENOENT) {
		/* like docker: create a missing WorkingDir (never through a symlink) */
		cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open '/'");
		fd = lc_rootfs_resolve(root, cwd, T_DIR, T_CREATE, err);
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

/* close every fd >= from; /proc/self/fd where close_range is missing (< 5.9) */
int lc_close_from(int from, struct lc_err **err)
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
	return lc_close_from(min, err);
}

void lc_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* EINVAL for SIGKILL, SIGSTOP, glibc's own: fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* docker's default filter, the profile given instead, or none (seccomp=unconfined) */
static int install_filter(const struct lc_exec_spec *x, struct lc_err **err)
{
	if (x->no_seccomp)
		return 0;
	return x->seccomp ? lc_seccomp_prog_install(x->seccomp, err) : lc_seccomp_install(err);
}

int lc_exec_command(const struct lc_exec_spec *x, int *ret_status, struct lc_err **err)
{
	cleanup_close int exe = -1;
	cleanup_close int dir = -1;
	const char *base;
	char *home = NULL;
	char path[PATH_MAX];
	const char *name = x->argv[0];
	bool script = false;
	int r;

	*ret_status = 125;
	/* from here on, only 0, 1, 2 and the sync pipe (3): no fd leads out of the root */
	if (lc_close_from(lc_trace_keep_fd(4), err) < 0)
		return -1;
	if (lc_caps_drop_bounding(x->caps, err) < 0)
		return -1;
	if (lc_enter_cwd(x->cwd, err) < 0)
		return -1;

	/* found and inspected while still root: a --x script is still run by its interpreter */
	{
		cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0)
			return lc_err_set(err, LC_ERR_SYS, errno, "open '/'");
		r = lc_launch_lookpath(root, name, lc_env_get(x->envp, "PATH"), path, sizeof(path),
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
	if (lc_launch_check_exec(name, exe, x->self_dev, x->self_ino, &script, err) < 0) {
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

	/* --ulimit, while still root (raising a hard limit needs CAP_SYS_RESOURCE) */
	if (lc_rlimits_apply(x->rlimits, x->n_rlimits, err) < 0)
		return -1;
	/*
	 * Without no_new_privs (docker's default) installing a filter needs CAP_SYS_ADMIN,
	 * which a non-root user is about to lose: it goes in now, as runc does, and binds the
	 * few steps left (user, capabilities, signals, execve) too.
	 */
	if (!x->no_new_privs && install_filter(x, err) < 0)
		return -1;
	if (lc_become_user(x->user, x->tty, x->caps, x->need_home ? &home : NULL, err) < 0)
		return lc_err_prefix(err, "user '%s'", x->user_label ? x->user_label : "root");
	/*
	 * A change of uid or gid (-u, or root of a user namespace) clears the parent-death
	 * signal the launcher's child armed: armed again, so that the container still dies
	 * with its layerctl.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (home)
		x->envp[x->n_env] = home; /* freed by execve, one way or another */
	if (x->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "set no_new_privs");
	lc_trace("prctl(PR_SET_NO_NEW_PRIVS, 1) = 0: no setuid binary can raise privileges");
	lc_reset_signals();
	umask(022);
	/*
	 * With no_new_privs, last before execve: the filter binds every syscall from here on,
	 * ours included, and none of the setup above may be refused by it. *ret_status stays
	 * 125.
	 */
	if (x->no_new_privs && install_filter(x, err) < 0)
		return -1;
	/* --init: from here on we are the reaper's child, which execs the command */
	if (x->init && lc_init_fork(x->tty, err) < 0)
		return -1;
	/*
	 * An ELF runs from the dir we resolved without magic links, by the name we checked
	 * there (execveat on the dir fd: the process is still named after the command, which
	 * execveat on the file's own fd would rename to "4" before Linux 6.14, or to a
	 * symlink's target). A "#!" script runs by its path: its interpreter must open it by
	 * name, which a close-on-exec fd would not allow. Either way no fd we hold leads out of
	 * the root, and (for run) nothing in the container
	 * runs yet to swap what we checked.
	 */
	lc_trace_phase("exec");
	lc_trace_exec(!script && dir >= 0, path, x->argv);
	if (!script && dir >= 0)
		syscall(SYS_execveat, dir, base, x->argv, x->envp, 0);
	else
		execve(path, x->argv, x->envp);
	*ret_status = errno == ENOENT ? 127 : 126;
	return lc_err_set(err, errno == ENOENT ? LC_ERR_NOEXEC : LC_ERR_EXEC, errno, "exec: \"%s\"",
			  name);
}
