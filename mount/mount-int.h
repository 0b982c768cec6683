/* SPDX-License-Identifier: MIT */
/*
 * mount: private helpers shared by overlay.c, launch.c and user.c, exposed to the unit suite.
 * Nothing here needs the store: the store adapter lives in overlay-store.c alone, so a test
 * can mount hand-made layer dirs without linking the store.
 */
#ifndef LC_MOUNT_INT_H
#define LC_MOUNT_INT_H

#include <stdint.h>

#include "mount.h"

/* ---------- overlay ---------- */

/*
 * Build the legacy mount(2) data string "lowerdir=A:B,upperdir=U,workdir=W[,index=off]" for
 * the given (relative) paths into a new string. Paths containing ':' ',' '\' or empty ones
 * are refused (LC_ERR_UNSAFE); a result of more than max_len bytes is LC_ERR_LIMIT (overlay
 * takes one page, so callers pass pagesize - 1). upper and work NULL: lowers only.
 */
int lc_overlay_legacy_opts(const char *const *lowers, size_t n_lowers, const char *upper,
			   const char *work, bool index_off, size_t max_len, char **ret,
			   struct lc_err **err);

/* How lc_overlay_mount_links may mount. */
enum lc_ovl_api {
	LC_OVL_API_AUTO = 0, /* fsconfig("lowerdir+") when the kernel has it, else mount(2) */
	LC_OVL_API_LEGACY,   /* only the one-page mount(2) string */
};

/*
 * Mount overlay at <cdir>/merged with lowers (paths relative to root, topmost first),
 * <cdir>/upper and <cdir>/work. cdir is relative to root (or absolute). Every path is looked
 * up from a thread whose cwd is rootfd, so the options stay short. Returns 0 or -1 with *err
 * explaining what the kernel's errno means here. ephemeral: the upper dies with the container
 * (run --rm): overlay's "volatile" (5.10+; without it on older kernels), so the unmount does not
 * sync the upper's whole filesystem, and lc_overlay_umount removes the marker that leaves.
 */
int lc_overlay_mount_links(int rootfd, const char *root_name, const char *const *lowers,
			   size_t n_lowers, const char *cdir, enum lc_ovl_api api, bool ephemeral,
			   struct lc_err **err);
/* The same with each lower an idmapped mount of userns_fd's mapping (fsopen only). */
int lc_overlay_mount_links_idmapped(int rootfd, const char *root_name, const char *const *lowers,
				    size_t n_lowers, const char *cdir, int userns_fd,
				    bool ephemeral, struct lc_err **err);
/* The same without upper and work: a read-only (nosuid, nodev) view on target. */
int lc_overlay_mount_links_ro(int rootfd, const char *root_name, const char *const *lowers,
			      size_t n_lowers, const char *target, enum lc_ovl_api api,
			      struct lc_err **err);

/* ---------- users ---------- */

#define LC_NAME_MAX 256

/* A parsed -u/User value: each half either numeric or a name to look up. */
struct lc_user_spec {
	bool uid_is_name;
	bool has_group;
	bool gid_is_name;
	uint32_t uid, gid;
	char name[LC_NAME_MAX];
	char group[LC_NAME_MAX];
};

/* The largest uid/gid a container may use (runc's maxID: signed 32-bit, CVE-2024-40635). */
#define LC_ID_MAX 2147483647u

/*
 * Parse "uid[:gid]" / "name[:group]" (mixed is fine). Numbers are decimal, at most
 * LC_ID_MAX (like runc: "uids and gids must be in range 0-2147483647"; CVE-2024-40635 turned
 * a larger one into root); signs, overflow, empty halves and names
 * with characters outside [A-Za-z0-9._-] (or starting with '-') are LC_ERR_INVALID. NULL or ""
 * is root (0:0). Allocates only its error.
 */
int lc_user_parse(const char *s, struct lc_user_spec *ret, struct lc_err **err);

/* The user the container runs as, once resolved against the image's files. */
struct lc_user {
	uint32_t uid, gid;
	uint32_t groups[LC_MAX_GROUPS]; /* supplementary */
	size_t n_groups;
	char home[1024]; /* "" when unknown */
};

/*
 * Resolve spec against the passwd and group files open at passwd_fd / group_fd (either may
 * be -1: absent). Like docker: a name must exist (LC_ERR_NOTFOUND "unable to find user
 * NAME: no matching entries in passwd file"); a numeric uid need not; the primary gid comes
 * from passwd unless given; supplementary groups are those of /etc/group listing the user's
 * name. An entry that matches but carries an id above LC_ID_MAX is LC_ERR_INVALID (malformed
 * lines are skipped). Lines longer than LC_ENT_MAX_LINE or files above LC_ENT_MAX_FILE are LC_ERR_LIMIT.
 * Works on fixed buffers (only an error allocates).
 */
int lc_user_resolve(const struct lc_user_spec *spec, int passwd_fd, int group_fd,
		    struct lc_user *ret, struct lc_err **err);

/* ---------- launch ---------- */

#define LC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Find name like exec.LookPath does, inside the root rootfd (the container's "/" once
 * pivoted): names with a '/' are taken as they are (absolute ones from rootfd, relative ones
 * from the cwd); others are tried in each element of path (empty element: "."), the first
 * regular file with an execute bit wins. Every lookup is openat2(RESOLVE_NO_MAGICLINKS, and
 * RESOLVE_IN_ROOT for absolute names): no "/proc/self/fd/N/.." or "/proc/1/root" can lead out
 * of the root. Writes the path into buf and an O_RDONLY|O_CLOEXEC fd of the file (to
 * execveat) into *ret_fd. Returns 0, or -ENOENT (not found, or no such file for a name with
 * '/'), -ENAMETOOLONG, -ELOOP (through a magic link), or -EACCES (found only
 * non-executables).
 */
int lc_launch_lookpath(int rootfd, const char *name, const char *path, char *buf, size_t bufsz,
		       int *ret_fd);

/*
 * CVE-2019-5736: refuse (LC_ERR_EXEC, exit 126) to run the file open at fd (the command name)
 * when it is, or when its chain of "#!" interpreters and ELF PT_INTERP
 * leads to, the file self_dev/self_ino: the launcher's own binary, reachable in the container
 * as /proc/self/exe until the execve (an image whose /bin/sh is "#!/proc/self/exe" would run
 * the host's binary as the container's PID 1, open to being rewritten from inside).
 * Interpreters are followed as the kernel follows them (from the current root and cwd); what
 * cannot be read is left to execve to report. *ret_script (may be NULL) tells whether the
 * file starts with "#!". Allocates only its error.
 */
int lc_launch_check_exec(const char *name, int fd, dev_t self_dev, ino_t self_ino, bool *ret_script,
			 struct lc_err **err);

/*
 * Close every fd but 0, 1, 2 and the n fds in keep, which are moved to 3, 4, ... 3+n-1 in
 * order (close-on-exec; a -1 entry stays -1 and takes no number). *keep[i] is updated.
 * Not merely close-on-exec: until execve completes, the kernel resolves the command, its "#!"
 * interpreter and its ELF interpreter with every fd still open, and /proc/self/fd/N/.. leads
 * out of any root (runc's CVE-2024-21626 class).
 */
int lc_fds_keep_only(int *const *keep, size_t n, struct lc_err **err);

/* ---------- standard streams (stdio.c) ---------- */

/*
 * Whether fd may be handed to a container as it is: a pipe, a socket, /dev/null or a closed
 * fd. Anything else (a terminal, a regular file, a directory, another device) would be
 * reachable again through /proc/self/fd/N, reopened read-write or walked, and gets a pipe.
 */
bool lc_stdio_passes_through(int fd);

/* Pipes for the container's fds 0 (with_stdin), 1 and 2 that may not pass through. */
struct lc_stdio_plan {
	int child[3];  /* the end the container gets as fd i, or -1: fd i passes through */
	int parent[3]; /* the end the launcher copies from (1, 2) or to (0), or -1 */
};
int lc_stdio_plan_open(struct lc_stdio_plan *p, bool with_stdin, struct lc_err **err);
/*
 * Pipes for fds 1 and 2 whatever they are (a detached container's, copied to its log); with
 * with_stdin (-di) a pipe for fd 0 too, whose write end the launcher holds open and never
 * writes: the container's reads wait instead of seeing EOF.
 */
int lc_stdio_plan_open_log(struct lc_stdio_plan *p, bool with_stdin, struct lc_err **err);
void lc_stdio_plan_close(struct lc_stdio_plan *p);
bool lc_stdio_plan_any(const struct lc_stdio_plan *p);

/*
 * Copy the container's output pipes to our fds 1 and 2 (to log_fd with lc_stdio_log when it
 * is >= 0) and our fd 0 into its stdin pipe (not with a log: that pipe is only held open),
 * until both output pipes reach EOF and pidfd (the container's init, -1: none) is readable.
 * Our EOF on fd 0 closes the container's stdin; a failing fd 1 or 2 drops what comes (the
 * container must never block on us). SIGPIPE is ignored meanwhile. Closes the parent ends.
 */
int lc_stdio_relay(struct lc_stdio_plan *p, int pidfd, int log_fd, struct lc_err **err);

/*
 * Append buf (len bytes of the stream "stdout" or "stderr") to log_fd in CRI's format, one
 * record per line: "<time> <stream> F <line>"; a last line without its newline is a "P"
 * (partial) record, continued by the next.
 */
void lc_stdio_log(int log_fd, const char *stream, const char *buf, size_t len);

/* ---------- the last steps of a container's process (exec.c) ---------- */

/* What lc_exec_command runs, and as whom. */
struct lc_exec_spec {
	char *const *argv;
	char **envp; /* KEY=VALUE, with a free slot at envp[n_env] for HOME */
	size_t n_env;
	bool need_home; /* set HOME from the user's passwd entry */
	const char *cwd;
	const struct lc_user_spec *user;
	const char *user_label; /* for errors: what the user asked for, NULL: root */
	bool tty;		/* fd 0 is the container's pty: given to the user */
	bool no_seccomp;
	bool init; /* --init: fork, PID 1 stays as our reaper (init.c), the child execs */
	const struct lc_seccomp_prog *seccomp; /* a --security-opt profile; NULL: docker's */
	bool no_new_privs;
	const struct lc_rlimit *rlimits;
	size_t n_rlimits;
	uint64_t caps;	/* the capability set (bounding; permitted and effective for root) */
	dev_t self_dev; /* layerctl's own binary, never to be run */
	ino_t self_ino;
};

/*
 * In the container (pivoted or joined), holding only fds 0, 1, 2 and the sync pipe at 3:
 * closes every fd from 4, drops the bounding set to docker's, enters x->cwd (created like
 * docker when missing, never through a symlink), finds the command with lc_launch_lookpath
 * and checks it with lc_launch_check_exec, becomes the user (caps, groups, HOME),
 * no_new_privs, default signals, umask 022, seccomp, then execs. Returns only on failure,
 * with *ret_status 125, 126 (cannot execute) or 127 (not found) and *err.
 */
int lc_exec_command(const struct lc_exec_spec *x, int *ret_status, struct lc_err **err);

/*
 * --init (init.c): fork; the parent becomes the container's reaper for good (never returns:
 * once the child exec'd it closes every fd but 0, 1, 2, the sync pipe too, forwards signals
 * to it, reaps orphans and exits with its status); the child returns 0, leading a process
 * group of its own (the terminal's foreground group with tty), and goes on to exec the
 * command. -1: the fork failed.
 */
int lc_init_fork(bool tty, struct lc_err **err);

int lc_close_from(int from, struct lc_err **err); /* close every fd >= from */
/* chdir to cwd inside the root (absolute; created when missing; getcwd checked) */
int lc_enter_cwd(const char *cwd, struct lc_err **err);
void lc_reset_signals(void); /* every signal to its default, none blocked */

/* ---------- capabilities and user (caps.c) ---------- */

/* Drop every capability not in keep from the bounding set. */
int lc_caps_drop_bounding(uint64_t keep, struct lc_err **err);
/*
 * Resolve spec against the root's /etc/passwd and /etc/group, give the tty (fd 0) to the
 * user when tty, set groups, gid, uid, then caps for root (none otherwise, like docker).
 * *home_env (may be NULL) gets "HOME=<the user's home or />", the caller's.
 */
int lc_become_user(const struct lc_user_spec *spec, bool tty, uint64_t caps, char **home_env,
		   struct lc_err **err);

/* ---------- the container's filesystem (rootfs.c) ---------- */

#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT	      0x10
#endif
struct lc_open_how {
	uint64_t flags, mode, resolve;
};

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
int lc_rootfs_resolve(int rootfd, const char *path, enum target_kind kind, int flags,
		      struct lc_err **err);
/* Make every mount private, bind rootfs onto itself and open it (*ret_rootfd). */
int lc_rootfs_enter(const char *rootfs, int *ret_rootfd, struct lc_err **err);
/*
 * /proc and /dev (*ret_nullfd: its /dev/null, O_PATH) inside rootfd. privileged: /dev is not
 * nodev and holds a node (mknod) for each char and block device under the host's /dev.
 */
int lc_rootfs_mount_proc_dev(int rootfd, bool privileged, int *ret_nullfd, struct lc_err **err);
/*
 * /sys read-only, docker's masked and read-only paths, the /etc files of statefd (-1: none;
 * etc_fds, NULL or its hostname, hosts and resolv.conf opened O_PATH in our mount namespace
 * already, statefd then a dir of it too: nothing is opened again by name).
 * privileged: /sys writable, nothing masked or read-only.
 */
int lc_rootfs_finish(int rootfd, int nullfd, bool privileged, const char *state_dir, int statefd,
		     const int *etc_fds, struct lc_err **err);
/* --device: each host node (checked to be that device) bound onto its path in the rootfs. */
int lc_rootfs_devices(int rootfd, const struct lc_device *d, size_t n, struct lc_err **err);
/*
 * The user's mounts (see struct lc_launch_cfg), then the rootfs read-only when asked. src_fds
 * (NULL: none) holds for each bind mount its source opened already (O_PATH, -1: by name).
 */
int lc_rootfs_user_mounts(int rootfd, const struct lc_mount *m, size_t n, const int *src_fds,
			  bool read_only, struct lc_err **err);
/* pivot_root into rootfd, the old root detached, cwd "/". */
int lc_rootfs_pivot(int rootfd, const char *rootfs, struct lc_err **err);
/* open path inside the (pivoted) root, refusing magic links like /proc/self/fd/N */
int lc_open_in_root(const char *path, int flags);
/* The image's /etc/passwd or /etc/group: a regular file (not a FIFO to hang on), or -1. */
int lc_open_ent(const char *path, struct lc_err **err);

/* The value of KEY in a KEY=VALUE vector, or NULL. */
const char *lc_env_get(char *const *env, const char *key);

/* ---------- terminal (pty.c) ---------- */

struct winsize;

/*
 * Open a new pty in the devpts instance whose directory ptsdir is (its "ptmx" must be a devpts
 * node: LC_ERR_UNSAFE otherwise), unlock it, give it the window size ws (NULL: leave it 0x0)
 * and open its slave (TIOCGPTPEER: the peer of this master, not a name). Both fds are
 * O_CLOEXEC and O_NOCTTY; the caller owns them. Returns 0 or -1 with *err.
 */
int lc_pty_open(int ptsdir, const struct winsize *ws, int *ret_master, int *ret_slave,
		struct lc_err **err);

/* Send fd over the unix socket sock (SCM_RIGHTS, one byte of data). */
int lc_fd_send(int sock, int fd, struct lc_err **err);
/*
 * Receive one fd sent by lc_fd_send, O_CLOEXEC. When the peer closed the socket without
 * sending, returns 0 with *ret_fd = -1. Extra fds are closed; a message without one is
 * LC_ERR_SYS.
 */
int lc_fd_recv(int sock, int *ret_fd, struct lc_err **err);

/*
 * Put the terminal fd in raw mode (cfmakeraw, as docker does for -it) and remember its settings
 * for lc_tty_restore. Until then, a fatal signal whose action is the default (SIGABRT,
 * SIGSEGV, SIGUSR1, SIGALRM, ... but not SIGINT, SIGTERM, SIGHUP, SIGQUIT, which lc_launch
 * forwards, nor SIGPIPE, which lc_pty_proxy ignores) restores the settings before the process
 * dies of it. One terminal at a time (LC_ERR_INVALID for a second). Returns 0 or -1 with *err,
 * the terminal untouched.
 */
int lc_tty_make_raw(int fd, struct lc_err **err);
/* Restore the terminal lc_tty_make_raw changed and the signal actions; no-op when none is. */
void lc_tty_restore(void);

/*
 * Proxy a container's pty master: bytes read from in_fd (-1: none) are written to master,
 * bytes read from master to out_fd, until the master reports EOF or EIO (every slave closed)
 * or pidfd (-1: none) becomes readable (the container's init exited) and the master has
 * nothing left to read. Input at EOF or error stops forwarding input; a failing out_fd drops
 * output (the container must never block on a full pty). While it runs, SIGPIPE is ignored
 * and SIGWINCH copies the window size of size_fd (-1: none) to master (once at the start
 * too). Returns 0, or -1 with *err when poll or a read of master fails otherwise.
 */
int lc_pty_proxy(int master, int in_fd, int out_fd, int size_fd, int pidfd, struct lc_err **err);
/*
 * The same for a detached container (-dt): nothing is typed into the pty (the master is held
 * open, so the container's reads wait rather than end), what comes out is appended to log_fd
 * as its stdout (lc_stdio_log).
 */
int lc_pty_proxy_log(int master, int pidfd, int log_fd, struct lc_err **err);

/* ---------- seccomp ---------- */

/*
 * Install docker's default seccomp policy (REFERENCE.md §3C 27) on the calling thread, for
 * good: keyctl, bpf, io_uring, mount, unshare, setns, kexec, modules, ... are EPERM; clone
 * with CLONE_NEW* flags and socket(AF_VSOCK or AF_ALG) are EPERM; personality takes only
 * docker's values; clone3 is ENOSYS (glibc falls back to clone); syscalls of another ABI
 * (i386, x32) are EPERM; numbers newer than the table are ENOSYS; the rest is allowed.
 * Needs no_new_privs or CAP_SYS_ADMIN. Builds the program on the stack, allocates only its
 * error (LC_ERR_SYS when the kernel refuses the filter or the architecture has none).
 */
int lc_seccomp_install(struct lc_err **err);

/*
 * docker's JSON seccomp profile, compiled (seccomp-profile.c) for a container with the
 * capabilities caps (includes/excludes.caps). LC_ERR_INVALID for what the format does not
 * allow or this machine cannot do (an architecture list without it, SCMP_ACT_NOTIFY, ...),
 * LC_ERR_LIMIT past 4096 instructions. Free with lc_seccomp_prog_free.
 */
struct lc_seccomp_prog;
int lc_seccomp_profile_compile(const char *json, size_t len, uint64_t caps,
			       struct lc_seccomp_prog **ret, struct lc_err **err);
/* Install it on the calling thread, for good (needs no_new_privs or CAP_SYS_ADMIN). */
int lc_seccomp_prog_install(const struct lc_seccomp_prog *p, struct lc_err **err);
void lc_seccomp_prog_free(struct lc_seccomp_prog *p);
/* a program of n instructions (1..4096) as compiled ones are, or NULL; and a program's */
struct sock_filter;
struct lc_seccomp_prog *lc_seccomp_prog_from(const struct sock_filter *f, size_t n);
const struct sock_filter *lc_seccomp_prog_filter(const struct lc_seccomp_prog *p, size_t *ret_n);
/* which build of the compiler made a program (part of the cache's key) */
extern const char lc_seccomp_compiler_id[];

/* ---------- seccomp-cache ---------- */

/*
 * lc_seccomp_profile_compile through the cache dir cache_dir (NULL: none; made 0700 if
 * missing): a cached program is loaded only after every check (seccomp-cache.c), else the
 * profile is compiled and the program cached. *ret_cached (may be NULL): it came from the cache.
 */
int lc_seccomp_profile_load(const char *cache_dir, const char *json, size_t len, uint64_t caps,
			    struct lc_seccomp_prog **ret, bool *ret_cached, struct lc_err **err);
/* the cache's key for a profile: "sha256:<hex>" of all the compilation depends on */
void lc_seccomp_cache_key(const char *json, size_t len, uint64_t caps, char key[LC_DIGEST_BUFSZ]);
/* f is a program the cache may hand out: the compiler's instructions only, jumps inside it */
bool lc_seccomp_filter_sane(const struct sock_filter *f, size_t n);
/* "mkdir" -> __NR_mkdir on this machine; -1 when it has no such syscall */
int lc_syscall_number(const char *name);

/* setrlimit each of r (the --ulimit values) on the calling process. */
int lc_rlimits_apply(const struct lc_rlimit *r, size_t n, struct lc_err **err);

/* ---------- cgroups ---------- */

enum lc_cg_ctrl {
	LC_CG_MEMORY,
	LC_CG_CPU,
	LC_CG_CPUSET,
	LC_CG_PIDS,
	LC_CG_IO,
	LC_CG_DEVICES,
	LC_CG_N
};
/* each controller's name in cgroup v2 (NULL: devices, a bpf program rather than a file) */
extern const char *const lc_cg_v2_name[LC_CG_N];
/* word is one of list's len bytes of names separated by ',', ' ' or '\n' (mount options,
 * cgroup.controllers) */
bool lc_cgroup_list_has(const char *list, size_t len, const char *word);

/* Where the cgroup hierarchies are mounted. */
struct lc_cgroup_layout {
	char *v2;	     /* the cgroup2 mount, or NULL */
	char *v1[LC_CG_N];   /* each controller's v1 hierarchy, or NULL */
	bool on_v2[LC_CG_N]; /* the controller is in <v2>/cgroup.controllers */
	bool fake;	     /* a unit test's cgroupfs: files are created, no bpf */
	bool delegated;	     /* v2 is a subtree delegated to a user (rootless): no bpf */
};

/*
 * Read the layout from mountinfo text: hierarchies mounted at their root ("/" as the root
 * field), the first mount of each. prefix (NULL: none) goes before every mount point, so a
 * test can point the layout at a fake cgroupfs in a temp dir. Reads <v2>/cgroup.controllers.
 */
int lc_cgroup_layout_parse(const char *mountinfo, const char *prefix, struct lc_cgroup_layout *ret,
			   struct lc_err **err);
void lc_cgroup_layout_clear(struct lc_cgroup_layout *lay);
/* The layout of this host, from /proc/self/mountinfo. */
int lc_cgroup_layout_load(struct lc_cgroup_layout *ret, struct lc_err **err);
/*
 * A container's own cgroup as /proc/<pid>/cgroup (read from the host) names it: only the lines
 * whose path ends in "/<id>" (never the caller's cgroup; one with ".." is refused), resolved
 * against lay. v1[c]: the dir in controller c's hierarchy when that line lists names[c] (NULL
 * names are skipped); v2: the unified dir; path: the path inside its hierarchy (the first).
 * NULL where it has none: a container without a cgroup of its own has all three NULL.
 */
struct lc_cgroup_dirs {
	char *path, *v2, *v1[LC_CG_N];
};
/*
 * The parser: text is a /proc/<pid>/cgroup file's. Lines whose path does not end in "/<id>"
 * are another cgroup's (the caller's, a named hierarchy's): skipped. Refused (LC_ERR_INVALID,
 * naming the line): a line that is not "hierarchy:controllers:path", a hierarchy ID that is not
 * a number, a path that is empty, not absolute or PATH_MAX long, and a path of the container's
 * with a "." or ".." component (a cgroup outside the reader's cgroup namespace: "/../..").
 */
int lc_cgroup_dirs_parse(const char *text, const char *id, const struct lc_cgroup_layout *lay,
			 const char *const names[LC_CG_N], struct lc_cgroup_dirs *ret,
			 struct lc_err **err);
/* The reader: lc_cgroup_dirs_parse on /proc/<pid>/cgroup (at most 1 MiB). */
int lc_cgroup_dirs_of(pid_t pid, const char *id, const struct lc_cgroup_layout *lay,
		      const char *const names[LC_CG_N], struct lc_cgroup_dirs *ret,
		      struct lc_err **err);
void lc_cgroup_dirs_clear(struct lc_cgroup_dirs *d);
/* cgroup v2 alone (no v1 controller of ours mounted): the container gets a cgroup namespace. */
bool lc_cgroup_layout_unified(const struct lc_cgroup_layout *lay);
/* lc_cgroup_create and lc_cgroup_remove on a given layout. */
int lc_cgroup_create_in(const struct lc_cgroup_layout *lay, const char *parent, const char *id,
			const struct lc_cgroup_limits *l, struct lc_cgroup **ret,
			struct lc_err **err);
int lc_cgroup_remove_in(const struct lc_cgroup_layout *lay, const char *parent, const char *id,
			struct lc_err **err);
/*
 * cgroup-deleg.c. The path of the "0::" line of /proc/self/cgroup's text, in *ret (caller
 * frees): LC_ERR_NOTFOUND without one, LC_ERR_INVALID for a path outside our cgroup namespace.
 */
int lc_cgroup_self_v2_path(const char *text, char **ret, struct lc_err **err);
/*
 * lc_cgroup_deleg_find on a given layout, for a process in the v2 cgroup self (a path inside
 * lay->v2) whose files are owned by uid as this process sees it.
 */
int lc_cgroup_deleg_find_in(const struct lc_cgroup_layout *lay, const char *self, uid_t uid,
			    const struct lc_cgroup_limits *l, char **ret_base, struct lc_err **err);
/* A layout of the delegated dir base alone (its cgroup.controllers read), fake as given. */
int lc_cgroup_deleg_layout(const char *base, bool fake, struct lc_cgroup_layout *ret,
			   struct lc_err **err);
/* runc's --cpu-shares to cpu.weight: 1 + ((shares - 2) * 9999) / 262142, shares clamped. */
uint64_t lc_cgroup_shares_to_weight(uint64_t shares);

struct bpf_insn;
/* docker's device allow-list as a BPF_PROG_TYPE_CGROUP_DEVICE program: writes at most max
 * instructions into out and returns how many it takes. */
size_t lc_cgroup_device_prog(const struct lc_device *extra, size_t n_extra, struct bpf_insn *out,
			     size_t max);
/* Load that program (with extra: --device's nodes) and attach it to the v2 cgroup dir
 * (BPF_F_ALLOW_MULTI). */
int lc_cgroup_bpf_devices(const char *dir, const struct lc_device *extra, size_t n_extra,
			  struct lc_err **err);

/* trace: one line naming the capabilities in set and those not (caps.c) */
void lc_trace_caps_(const char *what, uint64_t set);
#define lc_trace_caps(what, set)                                                                   \
	do {                                                                                       \
		if (__builtin_expect(lc_trace_fd >= 0, 0))                                         \
			lc_trace_caps_(what, set);                                                 \
	} while (0)

#endif
