/* SPDX-License-Identifier: MIT */
/*
 * mount: the overlay stack of a container and the namespace launcher. Never talks to a
 * registry.
 */
#ifndef LC_MOUNT_H
#define LC_MOUNT_H

#include <stdint.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/base.h"
#include "../store/store.h"

/* Bounds on the image's /etc/passwd and /etc/group (`layerctl help limits`). */
#define LC_ENT_MAX_LINE 65536
#define LC_ENT_MAX_FILE (16u << 20)
#define LC_MAX_GROUPS	256

/*
 * Mount overlay on <cdir>/merged with lowerdir = the layers' l/ links (lowers: chain ids,
 * topmost first), upperdir <cdir>/upper, workdir <cdir>/work, index=off, and volatile when
 * ephemeral (an upper that dies with the container, as run --rm's). Keeps the option
 * string under a page (relative l/ paths from the store root). At most LC_MAX_LAYERS layers.
 */
int lc_overlay_mount(struct lc_store *s, const char *const *lowers, size_t n_lowers,
		     const char *cdir, bool ephemeral, struct lc_err **err);
/*
 * Unmount <cdir>/merged (lazily if busy). Not mounted is success. Then removes the marker of
 * a volatile (ephemeral) mount, so that the same upper can be mounted again.
 */
int lc_overlay_umount(const char *cdir, struct lc_err **err);
/*
 * An image's merged tree on target (an existing dir): overlay of the layers (chain ids, topmost
 * first) without an upper dir, read-only, nosuid, nodev.
 */
int lc_overlay_mount_image(struct lc_store *s, const char *const *lowers, size_t n_lowers,
			   const char *target, struct lc_err **err);
/* Unmount dir (lazily if busy). Not mounted is success. */
int lc_overlay_umount_dir(const char *dir, struct lc_err **err);

/*
 * The same with every layer an idmapped mount (MOUNT_ATTR_IDMAP) of the mapping userns_fd
 * carries (lc_userns_fd): the layers' files show with the mapped owners in the container,
 * nothing on disk is copied or chowned. Done in a thread with a private mount namespace of its
 * own (the idmapped clones live there, and die with it once overlay holds them); the overlay
 * itself is attached on <cdir>/merged in ours. Needs Linux 5.19 (lc_userns_kernel_check).
 */
int lc_overlay_mount_idmapped(struct lc_store *s, const char *const *lowers, size_t n_lowers,
			      const char *cdir, int userns_fd, bool ephemeral, struct lc_err **err);

/* ---------- the user namespace (userns.c) ---------- */

/* One line of a uid_map or gid_map: container ids ctr..ctr+count-1 are host ids host.. */
struct lc_idmap {
	uint32_t ctr, host, count;
};
/* A range of ids: /etc/subuid's "name:start:count", or one a container holds. */
struct lc_idrange {
	uint32_t start, count;
};
#define LC_IDMAP_MAX	    32	       /* lines of a map (the kernel takes 340) */
#define LC_USERNS_AUTO_SIZE 65536      /* --userns=auto: ids a container gets */
#define LC_USERNS_AUTO_MAX  1000000000 /* --userns=auto:size=N: N at most */
#define LC_SUBID_MAX	    64	       /* subordinate ranges of one user we read */

/* podman's "container_id:host_id:amount" (decimal, amount >= 1, no range past 2^32-2). */
int lc_idmap_parse(const char *spec, struct lc_idmap *ret, struct lc_err **err);
/* A whole map (what: "--uidmap" for messages): 1..LC_IDMAP_MAX lines, no two overlapping on
 * either side (the kernel's rule). */
int lc_idmap_check(const struct lc_idmap *m, size_t n, const char *what, struct lc_err **err);
/* The host id of container id id; false when the map leaves it unmapped. */
bool lc_idmap_to_host(const struct lc_idmap *m, size_t n, uint32_t id, uint32_t *ret);
/*
 * The ranges /etc/subuid-format text (len bytes) gives the user name (NULL: none) or the
 * numeric id, in file order; malformed lines and comments are skipped. More than max is
 * LC_ERR_LIMIT.
 */
int lc_subid_parse(const char *text, size_t len, const char *name, uint32_t id,
		   struct lc_idrange *ret, size_t max, size_t *ret_n, struct lc_err **err);
/* The same read from file (/etc/subuid, /etc/subgid) for the calling user; none is 0 ranges. */
int lc_subid_ranges(const char *file, struct lc_idrange *ret, size_t max, size_t *ret_n,
		    struct lc_err **err);
/*
 * --userns=auto's pick: the lowest start of size ids inside one of avail that overlaps none
 * of used. 0, or -1 when none fits.
 */
int lc_idrange_pick(const struct lc_idrange *avail, size_t n_avail, const struct lc_idrange *used,
		    size_t n_used, uint32_t size, uint32_t *ret_start);
/*
 * Write pid's gid_map and uid_map, as root of the parent namespace: its setgroups stays
 * "allow" (only a map written without privilege needs "deny": layerctl never writes one; the
 * rootless maps are newuidmap's and newgidmap's).
 */
int lc_userns_write_maps(pid_t pid, const struct lc_idmap *uidmap, size_t n_uid,
			 const struct lc_idmap *gidmap, size_t n_gid, struct lc_err **err);
/* An fd of a new user namespace with these maps (for MOUNT_ATTR_IDMAP); a short-lived child
 * holds it while the maps are written. */
int lc_userns_fd(const struct lc_idmap *uidmap, size_t n_uid, const struct lc_idmap *gidmap,
		 size_t n_gid, int *ret_fd, struct lc_err **err);
/* LC_ERR_INVALID, one line, on kernels older than 5.19 (no overlay on idmapped lowers). */
int lc_userns_kernel_check(struct lc_err **err);

/* ---------- rootless (rootless.c) ---------- */

/*
 * A user without root: join the user and mount namespaces every rootless layerctl of this
 * store shares (dir: the store's root, which holds rootless.pid and rootless.lock), made on
 * first use by a holder process ("layerctl-ns") whose maps newuidmap and newgidmap write
 * (0 -> the user, 1.. -> the first /etc/subuid and /etc/subgid range), and become its root.
 * Must be called while single-threaded. Missing subordinate ranges or helpers: one line
 * saying how to fix it (LC_ERR_INVALID).
 */
int lc_rootless_enter(const char *dir, struct lc_err **err);

/* ---------- cgroups (cgroup.c) ---------- */

enum lc_cgroup_rate_kind {
	LC_RATE_READ_BPS,
	LC_RATE_WRITE_BPS,
	LC_RATE_READ_IOPS,
	LC_RATE_WRITE_IOPS,
};

/* One --device-{read,write}-{bps,iops} value, its device resolved. */
struct lc_cgroup_rate {
	unsigned int major, minor;
	enum lc_cgroup_rate_kind kind;
	uint64_t rate; /* bytes or operations per second */
};

/*
 * --device HOSTPATH[:CTRPATH[:rwm]]: the host's node bound onto CTRPATH inside the rootfs
 * (resolved without following the image's symlinks) and allowed in the device cgroup.
 */
struct lc_device {
	char host_path[1024]; /* a char or block device on the host */
	char ctr_path[1024];  /* absolute, in the container */
	char type;	      /* 'c' or 'b' */
	unsigned int major, minor;
	char access[4]; /* some of "rwm" */
};
/*
 * Parse docker's --device value (CTRPATH defaults to HOSTPATH, access to "rwm"; a second
 * field made of r, w, m only is the access) and stat HOSTPATH: LC_ERR_INVALID unless it is
 * a char or block device.
 */
int lc_device_parse(const char *spec, struct lc_device *ret, struct lc_err **err);

/* docker's resource flags, in docker's units. Zero everywhere: no limit at all. */
struct lc_cgroup_limits {
	int64_t memory;		    /* --memory, bytes; 0: none */
	int64_t memory_swap;	    /* --memory-swap: memory+swap bytes; -1: unlimited; 0: unset */
	int64_t memory_reservation; /* --memory-reservation (soft limit), bytes; 0: none */
	int64_t nano_cpus;	    /* --cpus x 1e9; 0: none */
	int64_t cpu_shares;	    /* --cpu-shares (v1 units; v2 gets runc's weight); 0: none */
	const char *cpuset_cpus;    /* --cpuset-cpus "0-1,3"; NULL: none */
	int64_t pids_limit;	    /* --pids-limit; 0 or less: none */
	int blkio_weight;	    /* --blkio-weight 10..1000; 0: none */
	struct lc_cgroup_rate *rates; /* --device-*-bps/iops; the caller owns the array */
	size_t n_rates;
	bool oom_kill_disable; /* --oom-kill-disable (v1 only) */
	/* --device: allowed beside docker's default list; devices_all (--privileged): all */
	const struct lc_device *devices;
	size_t n_devices;
	bool devices_all;
};

/* Whether any limit is set: without one, no cgroup is made (and none is needed). */
bool lc_cgroup_limits_any(const struct lc_cgroup_limits *l);
/*
 * docker's daemon checks on l, with its messages (LC_ERR_INVALID: "Minimum memory limit
 * allowed is 6MB", "Minimum memoryswap limit should be larger than memory limit, see usage",
 * ...), then docker's default: --memory alone allows as much swap again (memory_swap =
 * 2 x memory).
 */
int lc_cgroup_limits_check(struct lc_cgroup_limits *l, struct lc_err **err);
/* --cpus: a decimal number of CPUs, in [0.01, ncpu] (0: no limit), into nanoCPUs. */
int lc_cgroup_parse_cpus(const char *s, long ncpu, int64_t *ret_nano, struct lc_err **err);
/* --cpuset-cpus: "0-3,5"; only the syntax is checked here (the kernel knows the CPUs). */
int lc_cgroup_parse_cpuset(const char *s, struct lc_err **err);
/*
 * DEVICE:RATE of a --device-*-bps (RATE a size: "1mb", "512k") or --device-*-iops flag
 * (RATE an integer), with docker's messages; DEVICE must be a block device under /dev/,
 * looked up at dev_prefix + DEVICE (NULL prefix: as it is) for its major:minor.
 */
int lc_cgroup_parse_rate(const char *s, enum lc_cgroup_rate_kind kind, const char *dev_prefix,
			 struct lc_cgroup_rate *ret, struct lc_err **err);
/* --cgroup-parent: names of [A-Za-z0-9_.-] joined by '/', no "." or ".."; a leading '/' ok. */
int lc_cgroup_parent_check(const char *parent, struct lc_err **err);
/* Refuse what this host's layout cannot honour before anything starts (--oom-kill-disable
 * on cgroup v2, docker's "Your kernel does not support OomKillDisable"). */
int lc_cgroup_check_layout(const struct lc_cgroup_limits *l, struct lc_err **err);

/* A container's cgroup: a directory in each hierarchy it uses. */
struct lc_cgroup;

/*
 * Create the cgroup <parent>/<id> in every hierarchy (v1, v2 or both, found in
 * /proc/self/mountinfo) with the limits l and docker's default device allow-list, making the
 * missing parents (v2: with the needed controllers enabled in their subtree_control; v1 cpuset:
 * with their parent's cpus and mems). An existing <id> is an error. A limit whose controller
 * the host lacks is LC_ERR_INVALID naming it. On failure nothing created is left.
 * Free with lc_cgroup_destroy.
 */
int lc_cgroup_create(const char *parent, const char *id, const struct lc_cgroup_limits *l,
		     struct lc_cgroup **ret, struct lc_err **err);
/*
 * In the container's first process, before it runs anything of the image (and before it
 * unshares its cgroup namespace, so that the namespace is rooted at cg): move the calling
 * process into cg through the fds lc_cgroup_create opened (no path is looked up here) and
 * close them.
 */
int lc_cgroup_enter(struct lc_cgroup *cg, struct lc_err **err);
/* Whether the memory cgroup's OOM killer killed a process of cg (false without a memory
 * cgroup; NULL cg is false). */
int lc_cgroup_oom_killed(const struct lc_cgroup *cg, bool *ret, struct lc_err **err);
/*
 * Kill whatever is still in cg, remove its directories (never the parents) and free it.
 * NULL is fine. Returns -1 with the first error but removes and frees all it can.
 */
int lc_cgroup_destroy(struct lc_cgroup *cg, struct lc_err **err);
/* Free cg, leaving the cgroup itself in place (another process of ours removes it). */
void lc_cgroup_forget(struct lc_cgroup *cg);
/* The same for a container whose cgroup object is gone (a killed layerctl): by name.
 * What does not exist is success. */
int lc_cgroup_remove(const char *parent, const char *id, struct lc_err **err);
/*
 * Move the calling process into every cgroup of pid whose path ends in "/<id>" (the
 * container's, found through /proc/<pid>/cgroup and the host's cgroup mounts): what `exec`
 * does. None such is success (the container has no cgroup).
 */
int lc_cgroup_join_pid(pid_t pid, const char *id, struct lc_err **err);

/* ---------- rootless cgroups (cgroup-deleg.c) ---------- */

/*
 * Rootless: the cgroup v2 dir delegated to this user (owned, cgroup.procs and
 * cgroup.subtree_control writable: systemd's Delegate=yes) nearest above layerctl's own cgroup,
 * in *ret_base (absolute, caller frees), when it has every controller l needs. Otherwise
 * LC_ERR_INVALID in one line naming the flag, the reason and the fix: a controller on cgroup v1
 * (never delegated), no delegated subtree (naming layerctl's cgroup), a controller the dir's
 * cgroup.controllers lacks (naming both), --device (a device policy needs root).
 */
int lc_cgroup_deleg_find(const struct lc_cgroup_limits *l, char **ret_base, struct lc_err **err);
/* lc_cgroup_create below base (from lc_cgroup_deleg_find): <base>/<parent>/<id>, no bpf. */
int lc_cgroup_deleg_create(const char *base, const char *parent, const char *id,
			   const struct lc_cgroup_limits *l, struct lc_cgroup **ret,
			   struct lc_err **err);
/* lc_cgroup_remove below base; a base that is not a clean dir of the v2 mount: LC_ERR_INVALID. */
int lc_cgroup_deleg_remove(const char *base, const char *parent, const char *id,
			   struct lc_err **err);

/* A mount the user asked for (-v, --mount, --tmpfs). */
enum lc_mount_kind { LC_MOUNT_BIND, LC_MOUNT_TMPFS };
struct lc_mount {
	enum lc_mount_kind kind;
	const char *source; /* bind: a host path (a named volume's dir is one) */
	const char *target; /* absolute, inside the container, no ".." */
	bool readonly;
	bool exec;	  /* tmpfs: allow exec (docker's default is noexec) */
	const char *size; /* tmpfs: size= (NULL: 65536k) */
	const char *mode; /* tmpfs: mode= in octal (NULL: 1777) */
};

struct lc_launch_cfg {
	const char *rootfs;   /* the merged dir */
	char *const *argv;    /* what to exec: Entrypoint+Cmd or the user's command */
	char *const *env;     /* KEY=VALUE, NULL-terminated */
	const char *cwd;      /* inside the container; NULL: "/" */
	const char *hostname; /* UTS name; NULL: "localhost" */
	/*
	 * Where lc_launch writes the container's hostname, hosts and resolv.conf (created if
	 * missing, e.g. <cdir>/etc, outside the rootfs); they are bind-mounted over /etc/hostname,
	 * /etc/hosts and /etc/resolv.conf. NULL: the image's own files are left as they are.
	 */
	const char *state_dir;
	const char *user; /* "uid[:gid]" or "name[:group]" from the image/-u; NULL: root */
	/*
	 * -t: the container's fds 0, 1, 2 are a pty of its own devpts (its controlling
	 * terminal), proxied to the caller's fds 0 (with interactive) and 1; the caller's
	 * terminal, if stdin is one, goes raw meanwhile (with interactive) and lends its size.
	 */
	bool tty;
	bool interactive; /* -i: fd 0 is the caller's (or proxied, with tty); else /dev/null */
	bool no_seccomp;  /* skip docker's default seccomp filter (seccomp=unconfined) */
	/* --security-opt seccomp=FILE: the profile's JSON text instead of docker's default */
	const char *seccomp_profile;
	/* where compiled profiles are cached (the store's seccomp/; NULL: compile every time) */
	const char *seccomp_cache;
	bool no_new_privs; /* --security-opt no-new-privileges (docker's default: off) */
	/*
	 * --privileged: every capability (the caller sets caps), no seccomp (no_seccomp), no
	 * masked or read-only /proc and /sys paths, /sys writable, /dev a tmpfs (not nodev)
	 * holding every device node of the host's /dev (made with mknod; the device cgroup,
	 * when there is one, allows all).
	 */
	bool privileged;
	const struct lc_rlimit *rlimits; /* --ulimit, set before the command runs */
	size_t n_rlimits;
	const struct lc_device *devices; /* --device, bound into the rootfs */
	size_t n_devices;
	/*
	 * --init: PID 1 is a small reaper of ours (with the command's user, capabilities,
	 * no_new_privs, seccomp filter and fds, not dumpable) whose child, leading a process
	 * group of its own, runs the command; it forwards signals to it, reaps every orphan and
	 * exits with the command's status (128+signal when it was killed).
	 */
	bool init;
	/*
	 * The container's cgroup (NULL: none, the caller's). The container's first process
	 * joins it before it does anything else (lc_cgroup_enter); the caller creates and
	 * removes it, and asks it about OOM kills after lc_launch returns.
	 */
	struct lc_cgroup *cgroup;
	/*
	 * The user's mounts, in order, each target resolved inside the rootfs without following
	 * the image's symlinks (created when missing), nosuid and nodev; read_only: the rootfs
	 * itself is read-only (--read-only), the user's mounts keep their own mode.
	 */
	bool caps_set; /* caps is the capability set; otherwise docker's 14 (LC_DEFAULT_CAPS) */
	uint64_t caps;
	/*
	 * --net host, --uts host, --ipc host, --pid host: share that namespace of ours on purpose
	 * (--pid host: the command is not PID 1, /proc shows the host's processes, and what it
	 * leaves running when it exits is not killed by the kernel: give it a cgroup)
	 */
	bool host_net, host_uts, host_ipc, host_pid;
	/* --add-host "NAME:IP" and --dns "IP" lines for the container's /etc/hosts, resolv.conf */
	char *const *add_hosts;
	char *const *dns;
	const struct lc_mount *mounts;
	size_t n_mounts;
	bool read_only;
	/*
	 * A detached container: its fds 1 and 2 are pipes whose lines are appended to log_fd in
	 * CRI's log format ("<RFC 3339 time> stdout|stderr F|P <text>"), fd 0 is /dev/null, or
	 * with interactive a pipe held open and never written (-di: reads wait, no EOF); with tty
	 * all three are its pty, whose master the launcher holds and drains into the log (-dt).
	 * Only with detached; otherwise the caller's streams (pipes where they may not pass).
	 */
	bool detached;
	int log_fd;
	/*
	 * exec: > 0 runs argv in the running container whose init has this host pid instead of
	 * creating one: the process joins its pid, mount, UTS, IPC, network and cgroup namespaces
	 * (setns through a pidfd: Linux 5.8), its cgroups (those of the pid whose path ends in
	 * "/<cgroup_id>", when cgroup_id is set), and gets the same fd hygiene, capabilities,
	 * no_new_privs and seccomp filter as the container's command. rootfs and state_dir are
	 * not used.
	 */
	pid_t join_pid;
	const char *cgroup_id;
	/*
	 * --userns: n_uidmap > 0 runs the container in a user namespace of its own with these
	 * maps, created together with its pid namespace (clone), before every other namespace,
	 * which it then owns. The launcher writes the maps before the container does anything;
	 * its root is the map's host id of 0 on the host. exec (join_pid) joins the container's
	 * user namespace whenever it has one: the maps are not needed there.
	 */
	const struct lc_idmap *uidmap, *gidmap;
	size_t n_uidmap, n_gidmap;
	/* Called in the caller once the command runs (execve succeeded), with its host pid. */
	void (*on_start)(void *arg, pid_t pid);
	void *on_start_arg;
};

/*
 * Run cfg->argv in new PID, mount, UTS, IPC and network namespaces rooted at cfg->rootfs and
 * wait for it. *ret_status is what a shell would report: the exit code, or 128+signal.
 * Failures before the command runs are -1 with *err (code LC_ERR_NOEXEC when the command
 * does not exist: exit 127; LC_ERR_EXEC when it cannot be executed: 126; others 125).
 * Needs root (LC_ERR_INVALID otherwise). The command runs as PID 1 of its namespace with
 * docker's default capabilities (or cfg->caps), no_new_privs only with cfg->no_new_privs,
 * docker's masked /proc paths, only fds 0, 1, 2 and docker's default seccomp filter (or the
 * profile cfg->seccomp_profile; none with cfg->no_seccomp; a profile that does not compile or
 * a kernel that refuses the filter fails the start: 125). SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the caller are
 * forwarded to it while lc_launch waits; when it returns, nothing of the container is left
 * running. The command runs in a session of its own: whatever terminal the caller has is
 * never its controlling terminal (no TIOCSTI, no TIOCSPGRP on it). cfg->tty with
 * cfg->interactive needs a terminal on fd 0 (LC_ERR_INVALID "the input device is not a TTY");
 * a terminal lc_launch made raw is restored before it returns.
 */
int lc_launch(const struct lc_launch_cfg *cfg, int *ret_status, struct lc_err **err);

/* ---------- --ulimit (ulimit.c) ---------- */

struct lc_rlimit {
	int resource;	     /* RLIMIT_* */
	uint64_t soft, hard; /* RLIM_INFINITY for -1 (unlimited) */
};
/*
 * docker's --ulimit NAME=SOFT[:HARD] (HARD defaults to SOFT; -1 is unlimited; names core,
 * cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime,
 * sigpending, stack, as) with docker's messages (LC_ERR_INVALID).
 */
int lc_ulimit_parse(const char *s, struct lc_rlimit *ret, struct lc_err **err);

/* ---------- capabilities (caps.c) ---------- */

/* docker's default capability set (CapBnd 00000000a80425fb) */
#define LC_DEFAULT_CAPS 0x00000000a80425fbULL
/* "NET_ADMIN", "CAP_NET_ADMIN" (any case) -> its number; -1 when unknown */
int lc_cap_number(const char *name);
/* every capability this build knows of, as a mask */
uint64_t lc_caps_all(void);
/* the capabilities we hold (permitted), as a mask: what --privileged can give */
uint64_t lc_caps_ours(void);

/* ---------- cp (copy.c) ---------- */

/* One end of a copy. */
struct lc_cp_end {
	bool in_container; /* path is inside the container's root, else on the host */
	const char *path; /* NULL: a tar stream, stdin as the source or stdout as the destination */
};
struct lc_cp_opts {
	bool archive; /* -a: keep owners (uid/gid) and setuid/setgid bits; else ours, bits off */
	bool follow;  /* -L: follow a symlink SRC_PATH itself names (never those below it) */
	/* told of each device node or socket not copied (path: as in the destination) */
	void (*skipped)(void *arg, const char *path, const char *why);
	void *arg;
};

/*
 * Copy src to dst with docker cp's rules (an existing directory receives the source under
 * its name, or its entries when SRC_PATH ends in "/."; a missing destination is created
 * under that name, its parent must exist; a directory never replaces a file nor the reverse;
 * a tar stream from stdin goes into an existing directory, one to stdout is named after the
 * source). rootfd is the container's root for the end that is in_container. Container paths
 * are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) (LC_ERR_INVALID without
 * openat2); below them nothing is followed: symlinks are copied as symlinks, FIFOs made,
 * device nodes and sockets skipped (o->skipped), files created with O_EXCL | O_NOFOLLOW
 * after unlinking what was there. Owned by us unless o->archive. Tar names with ".." are
 * LC_ERR_UNSAFE. Stops at the first error (what was copied stays).
 */
int lc_cp(int rootfd, const struct lc_cp_end *src, const struct lc_cp_end *dst,
	  const struct lc_cp_opts *o, struct lc_err **err);
/* The root of a running container: /proc/<pid>/root of its init, O_PATH (the caller checks
 * that pid is still that process once it holds the fd). */
int lc_cp_root_of_pid(pid_t pid, int *ret_fd, struct lc_err **err);
/*
 * lc_cp for a container that does not run (the caller holds its lock): in a child process
 * with a private mount namespace, its overlay (lowers: chain ids, topmost first, and cdir's
 * upper) is mounted on <cdir>/merged, seen by that child alone, and gone with it.
 */
int lc_cp_stopped(struct lc_store *s, const char *const *lowers, size_t n_lowers, const char *cdir,
		  const struct lc_cp_end *src, const struct lc_cp_end *dst,
		  const struct lc_cp_opts *o, struct lc_err **err);

/* ---------- -p: published ports (ports.c) ---------- */

struct lc_port {
	char host_ip
		[64]; /* IPv4, default 127.0.0.1 (no bridge, no NAT: loopback is the safe default) */
	uint16_t host_port, ctr_port;
	bool udp; /* "/udp": datagrams, relayed per client address */
};
/* Parse "[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]" (LC_ERR_INVALID, e.g. a port above 65535). */
int lc_port_parse(const char *spec, struct lc_port *ret, struct lc_err **err);
/* Bind and listen on p's host address; a busy port is LC_ERR_EXISTS (docker's words). */
int lc_port_listen(const struct lc_port *p, int *ret_fd, struct lc_err **err);
/*
 * Forward connections accepted on fds[i] to 127.0.0.1:p[i].ctr_port inside the network
 * namespace of pid (the container's init), one thread per listener and per connection, for
 * the rest of the calling process's life. A udp port: one thread relays the datagrams of each
 * client address through a socket of its own inside the namespace (so replies find their
 * client), dropped after LC_UDP_IDLE_SECONDS without traffic, at most LC_UDP_MAX_CLIENTS at
 * once (the longest idle one makes room), as docker-proxy does. A pid that has exited
 * already (its namespace is gone; pid must be the caller's child) is success: there is
 * nothing to publish.
 */
#define LC_UDP_IDLE_SECONDS 90
#define LC_UDP_MAX_CLIENTS  1024
int lc_ports_forward(pid_t pid, const int *fds, const struct lc_port *p, size_t n,
		     struct lc_err **err);

/* ---------- a running container seen from the host (procs.c, cgstat.c) ---------- */

/* A namespace of a process: "net" and the inode /proc/<pid>/ns/net shows. */
struct lc_ns_inode {
	const char *name; /* static */
	uint64_t inode;
};
#define LC_NS_MAX 8
/* The namespaces of pid (cgroup, ipc, mnt, net, pid, user, uts; those the kernel has). */
int lc_ns_inodes(pid_t pid, struct lc_ns_inode ret[LC_NS_MAX], size_t *ret_n, struct lc_err **err);

/* One process of a container, as the host sees it. */
struct lc_proc {
	pid_t pid;			/* on the host */
	pid_t ns_pid;			/* in the container's pid namespace (NSpid's last field) */
	pid_t ppid;			/* on the host */
	uid_t uid;			/* real uid */
	int tty_nr;			/* its controlling terminal (0: none) */
	unsigned long long cpu_ticks;	/* utime + stime, in clock ticks */
	unsigned long long start_ticks; /* since boot */
	unsigned long long rss_pages;
	char *cmd; /* its argv joined by spaces (untrusted: escape it to print) */
};
/*
 * Every process in the pid namespace of init (a container's PID 1, host pid), in /proc's
 * order (ascending host pids). *ret (n entries) is the caller's: lc_procs_free.
 */
int lc_ns_procs(pid_t init, struct lc_proc **ret, size_t *ret_n, struct lc_err **err);
void lc_procs_free(struct lc_proc *p, size_t n);
/* Bytes received and sent on the network interfaces other than lo in pid's namespace. */
int lc_net_bytes(pid_t pid, uint64_t *ret_rx, uint64_t *ret_tx, struct lc_err **err);

/* A container's cgroup and what it uses now; -1: unknown (no such file or controller). */
struct lc_cgroup_usage {
	char *path;	   /* its cgroup, relative to the hierarchies ("/layerctl/<id>"); NULL:
			     it has none of its own (run without limits) */
	char *memory_dir;  /* the memory cgroup dir the figures come from */
	int64_t mem_usage; /* bytes, the inactive page cache left out (as docker stats) */
	int64_t mem_limit; /* bytes; -1: unlimited */
	int64_t cpu_ns;	   /* CPU time used, all its processes, exited ones too */
	int64_t pids, pids_limit;
	int64_t blk_read, blk_write; /* bytes */
	int64_t oom_kills;
};
/* Read the usage of the container id whose init is pid. No cgroup of its own is not an error. */
int lc_cgroup_usage_read(pid_t pid, const char *id, struct lc_cgroup_usage *ret,
			 struct lc_err **err);
void lc_cgroup_usage_clear(struct lc_cgroup_usage *u);

#endif
