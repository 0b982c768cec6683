/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <strings.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "cmd.h"

static const char run_usage[] =
	"Usage:  layerctl run [OPTIONS] IMAGE [COMMAND] [ARG...]\n"
	"\n"
	"Create and run a new container from an image (pulled first if the store lacks it).\n"
	"\n"
	"Options:\n"
	"  -d, --detach              run in the background (a monitor of its own, no daemon) and\n"
	"                            print the container's id\n"
	"      --name string         assign a name to the container\n"
	"      --mount list          type=bind|volume|tmpfs,source=..,target=..[,readonly]\n"
	"  -p, --publish list        publish a container's port: [IP:]HOSTPORT:PORT[/tcp|/udp];\n"
	"                            IP defaults to 127.0.0.1 (no bridge, no NAT: layerctl\n"
	"                            listens there and connects to 127.0.0.1:PORT inside)\n"
	"      --read-only           mount the container's root filesystem as read only\n"
	"      --rm                  remove the container when it exits\n"
	"      --blkio-weight uint16 block IO weight, 10 to 1000 (0: the default)\n"
	"      --cgroup-parent string  parent cgroup of the container's (default \"layerctl\")\n"
	"      --cpu-shares int      CPU shares, relative weight (-c)\n"
	"      --cpus decimal        number of CPUs (e.g. 0.5)\n"
	"      --cpuset-cpus string  CPUs in which to allow execution (0-3, 0,1)\n"
	"      --device-read-bps list   limit read rate (bytes per second) from a device\n"
	"      --device-read-iops list  limit read rate (IO per second) from a device\n"
	"      --device-write-bps list  limit write rate (bytes per second) to a device\n"
	"      --device-write-iops list limit write rate (IO per second) to a device\n"
	"      --add-host list       add a line NAME:IP to the container's /etc/hosts\n"
	"      --cap-add list        add Linux capabilities (or ALL) to docker's default set\n"
	"      --cap-drop list       drop Linux capabilities (or ALL)\n"
	"      --dns list            nameservers for the container's /etc/resolv.conf\n"
	"  -e, --env list            set environment variables (KEY=VALUE, or KEY to copy ours)\n"
	"      --entrypoint string   overwrite the image's ENTRYPOINT\n"
	"  -h, --hostname string     container host name (default: the short container id)\n"
	"      --init                run a reaper of ours as PID 1 that forwards signals to the\n"
	"                            command and reaps orphaned processes\n"
	"  -i, --interactive         keep STDIN attached (default: the container reads /dev/null)\n"
	"  -m, --memory bytes        memory limit (100m, 1g: k, m, g units)\n"
	"      --memory-reservation bytes  memory soft limit\n"
	"      --memory-swap bytes   memory + swap limit (-1: unlimited swap; default: twice\n"
	"                            --memory)\n"
	"      --oom-kill-disable    disable the OOM killer (cgroup v1 only)\n"
	"      --pids-limit int      tune the container's pids limit (-1: unlimited)\n"
	"      --ipc string          'host': share our IPC namespace\n"
	"      --pid string          'host': share our PID namespace (the command is not PID 1)\n"
	"      --network string      'none' (the default: its own namespace, lo only; there is\n"
	"                            no bridge) or 'host' (ours, on purpose)\n"
	"      --platform string     pull this platform if the image is missing\n"
	"      --pull string         missing (default), always or never\n"
	"      --security-opt list   seccomp=unconfined (no filter), seccomp=FILE (docker's JSON\n"
	"                            profile format; default: docker's filter),\n"
	"                            no-new-privileges[:true|false] (default: false, as docker)\n"
	"      --privileged          every capability, no seccomp filter, no masked or read-only\n"
	"                            /proc and /sys paths, /sys writable, every host device in\n"
	"                            /dev and the device cgroup open\n"
	"      --ulimit list         ulimit options (NAME=SOFT[:HARD], e.g. nofile=64:64)\n"
	"      --device list         add a host device: HOSTPATH[:CTRPATH[:rwm]]\n"
	"  -t, --tty                 allocate a pseudo-TTY in the container (with -i: STDIN\n"
	"                            must be a terminal, put in raw mode while it runs)\n"
	"  -u, --user string         user name or uid[:gid]\n"
	"      --userns string       'host' (default) or 'auto[:size=N]': a user namespace of its\n"
	"                            own on a free range of 65536 (or N) of your /etc/subuid,\n"
	"                            /etc/subgid ids\n"
	"      --uidmap list         a user namespace mapping CTR_ID:HOST_ID:AMOUNT (podman's)\n"
	"      --gidmap list         the same for groups (default: as --uidmap)\n"
	"      --uts string          'host': share our UTS namespace (hostname)\n"
	"      --tmpfs list          mount a tmpfs (PATH[:size=..,mode=..,ro,exec])\n"
	"  -v, --volume list         bind mount HOSTPATH:PATH[:ro] or named volume NAME:PATH[:ro]\n"
	"                            (targets resolved inside the rootfs, never through its\n"
	"                            symlinks; mounted nosuid,nodev)\n"
	"  -w, --workdir string      working directory inside the container\n"
	"      --help                print this help\n";

/* Where a container's cgroup parent is noted, for the sweep after a killed layerctl. */
#define CGROUP_PARENT_FILE    "cgroup-parent"
#define DEFAULT_CGROUP_PARENT "layerctl"
/* Rootless: the delegated cgroup v2 dir its cgroup went below (lc_cgroup_deleg_find). */
#define CGROUP_BASE_FILE "cgroup-base"

/*
 * Remove what a killed run left of a container's cgroup (its dir: dirfd): below the delegated
 * dir its run noted (rootless), else in the host's hierarchies.
 */
static int remove_cgroup_left(int dirfd, const char *parent, const char *id, struct lc_err **err)
{
	cleanup_free char *base = NULL;
	struct lc_err *e = NULL;

	if (dirfd >= 0 && lc_read_file_at(dirfd, CGROUP_BASE_FILE, 4096, &base, NULL, &e) == 0)
		return lc_cgroup_deleg_remove(base, parent, id, err);
	lc_err_free(e);
	return lc_cgroup_remove(parent, id, err);
}

/* Entrypoint + (user command, else image Cmd), docker's rules. */
static char **build_argv(const struct lc_image_config *c, const char *entrypoint,
			 char *const *user_cmd)
{
	char **argv = NULL;
	size_t i;

	if (entrypoint) {
		if (*entrypoint)
			lc_strv_push(&argv, entrypoint);
	} else {
		for (i = 0; c->entrypoint && c->entrypoint[i]; i++)
			lc_strv_push(&argv, c->entrypoint[i]);
	}
	if (user_cmd && user_cmd[0]) {
		for (i = 0; user_cmd[i]; i++)
			lc_strv_push(&argv, user_cmd[i]);
	} else if (!entrypoint) {
		/* docker drops the image's Cmd when --entrypoint is given */
		for (i = 0; c->cmd && c->cmd[i]; i++)
			lc_strv_push(&argv, c->cmd[i]);
	}
	return argv;
}

/*
 * docker's warning when an image made for another platform is run without --platform: its
 * binaries run only under emulation, if at all.
 */
static void warn_platform(const struct cmd_image *im, const struct run_opts *o)
{
	const struct lc_image_config *c = im->config;
	const char *os, *arch, *variant;

	if (o->platform || !c || !c->os || !c->arch)
		return;
	lc_fetch_host_platform(&os, &arch, &variant);
	if (!strcmp(c->os, os) && !strcmp(c->arch, arch))
		return;
	{
		cleanup_free char *raw =
			lc_xasprintf("%s/%s%s%s", c->os, c->arch, c->variant ? "/" : "",
				     c->variant ? c->variant : "");
		cleanup_free char *img = lc_escape_ctl(raw);

		fprintf(stderr,
			"WARNING: The requested image's platform (%s) does not match the detected "
			"host platform (%s/%s%s%s) and no specific platform was requested\n",
			img, os, arch, variant ? "/" : "", variant ? variant : "");
	}
}

static int ensure_image(struct lc_store *s, const char *name, const struct run_opts *o,
			struct cmd_image *im, struct lc_err **err)
{
	struct lc_ref *ref = NULL;
	cleanup_free char *canon = NULL;
	struct lc_pull_opts po = { .platform = o->platform };
	int r;

	if (lc_ref_parse(name, &ref, err) < 0)
		return -1;
	canon = lc_ref_string(ref);
	if (strcmp(o->pull, "always") != 0) {
		r = cmd_image_load(s, canon, im, err);
		if (r == 0 || (*err)->code != LC_ERR_NOTFOUND || !strcmp(o->pull, "never")) {
			lc_ref_free(ref);
			return r;
		}
		lc_err_free(*err);
		*err = NULL;
		fprintf(stderr, "Unable to find image '%s' locally\n", name);
	}
	/* docker run shows the pull on stderr: stdout belongs to the container */
	r = cmd_pull_ref(s, ref, &po, stderr, false, err);
	lc_ref_free(ref);
	if (r < 0)
		return -1;
	return cmd_image_load(s, canon, im, err);
}

/*
 * Containers whose layerctl was killed (their init died with it: PR_SET_PDEATHSIG) are still
 * mounted and on disk. Whoever runs next cleans them up; failing that must not stop this run.
 */
static void sweep_stale_containers(struct lc_store *s)
{
	cleanup_strv char **ids = NULL;
	struct lc_err *e = NULL;

	if (lc_store_container_list_stale(s, &ids, &e) < 0) {
		lc_err_free(e);
		return;
	}
	for (size_t i = 0; ids[i]; i++) {
		cleanup_free char *dir = NULL;
		struct ctr_spec sp = { 0 };
		struct ctr_state st;
		bool keep = false;
		cleanup_free char *parent = NULL;
		cleanup_close int dirfd = -1;
		struct lc_err *pe = NULL;

		/* ours while we look: a start may have taken it since it was listed */
		if (lc_store_container_take(s, ids[i], &e) < 0) {
			lc_err_free(e);
			e = NULL;
			continue;
		}
		dir = lc_xasprintf("%s/containers/%s", lc_store_root(s), ids[i]);
		dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		/* its cgroup first: the dir is where we noted its parent */
		if (dirfd >= 0 &&
		    lc_read_file_at(dirfd, CGROUP_PARENT_FILE, 4096, &parent, NULL, &pe) == 0 &&
		    remove_cgroup_left(dirfd, parent, ids[i], &e) < 0 &&
		    e->code != LC_ERR_INVALID) {
			/* still there (busy): keep the container, so a later run tries again */
			lc_err_free(e);
			e = NULL;
			lc_store_container_release(s, ids[i]);
			continue;
		}
		lc_err_free(pe);
		/*
		 * One kept after it exits (no --rm) is not debris: its monitor or its layerctl
		 * died with it (a SIGKILL), so record that it exited; the rest goes.
		 */
		if (ctr_spec_read(s, ids[i], &sp, &e) == 0 && !sp.auto_remove) {
			keep = true;
			if (ctr_state_read(s, ids[i], &st, &e) == 0 &&
			    !strcmp(st.status, "running")) {
				snprintf(st.status, sizeof(st.status), "exited");
				st.exit_code = 128 + SIGKILL;
				st.pid = 0;
				st.pid_start = 0;
				lc_rfc3339_now(st.finished_at, sizeof(st.finished_at));
				ctr_state_write(s, ids[i], &st, &e);
			}
		}
		ctr_spec_clear(&sp);
		lc_err_free(e);
		e = NULL;
		if (lc_overlay_umount(dir, &e) == 0 && !keep)
			lc_store_container_remove(s, ids[i], &e);
		lc_err_free(e);
		e = NULL;
		lc_store_container_release(s, ids[i]);
	}
}

/*
 * Note the cgroup's parent (and, rootless, the delegated dir it goes below) in the container's
 * dir for the sweep, then make the cgroup. Rootless without a delegated v2 subtree that has
 * every controller the limits need: refused, saying why (never run without the limit).
 */
static int create_cgroup(const struct run_opts *o, const char *id, const char *cdir,
			 struct lc_cgroup **ret, struct lc_err **err)
{
	const char *parent = o->cgroup_parent ? o->cgroup_parent : DEFAULT_CGROUP_PARENT;
	cleanup_close int dirfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	cleanup_free char *base = NULL;

	if (dirfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", cdir);
	if (lc_userns_nested() && lc_cgroup_deleg_find(&o->limits, &base, err) < 0)
		return -1;
	if (lc_write_file_atomic_at(dirfd, CGROUP_PARENT_FILE, parent, strlen(parent), 0600, err) <
	    0)
		return -1;
	if (!base)
		return lc_cgroup_create(parent, id, &o->limits, ret, err);
	if (lc_write_file_atomic_at(dirfd, CGROUP_BASE_FILE, base, strlen(base), 0600, err) < 0)
		return -1;
	return lc_cgroup_deleg_create(base, parent, id, &o->limits, ret, err);
}

/*
 * One line, beyond docker (which only records OOMKilled): the memory cgroup's OOM killer
 * killed the container, or one of its processes when the container lived on.
 */
static void report_oom(const char *id, int status, const struct lc_cgroup_limits *l)
{
	char lim[48] = "";

	if (l->memory > 0) {
		char h[24];

		lc_human_size_binary((uint64_t)l->memory, h, sizeof(h));
		snprintf(lim, sizeof(lim), " (limit %s)", h);
	}
	if (status == 128 + SIGKILL)
		fprintf(stderr, "container %.12s was killed: out of memory%s\n", id, lim);
	else
		fprintf(stderr, "container %.12s: a process was killed: out of memory%s\n", id,
			lim);
}

/* "127.0.0.1:8080->80/tcp", as docker's PORTS column shows a published port (or /udp) */
static void port_strs_push(char ***v, const struct lc_port *p)
{
	cleanup_free char *str = lc_xasprintf("%s:%u->%u/%s", p->host_ip, p->host_port, p->ctr_port,
					      p->udp ? "udp" : "tcp");

	lc_strv_push(v, str);
}

/* The container has run (or could not start): record how it ended, release its mounts. */
/*
 * An --rm container that someone waits on for its exit code (wait, start -a: a shared flock
 * of its CTR_WAITERS file) has its end recorded, and is removed once they let go. Nobody
 * waiting (the common case): nothing to write.
 */
static void let_waiters_read(struct lc_store *s, const char *id, const struct ctr_state *st)
{
	struct lc_err *e = NULL;
	cleanup_close int lock = lc_store_container_lock_open(s, id, CTR_WAITERS, false, &e);

	lc_err_free(e);
	e = NULL;
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) == 0)
		return;
	if (ctr_state_write(s, id, st, &e) < 0) {
		lc_err_free(e);
		return;
	}
	while (flock(lock, LOCK_EX) < 0 && errno == EINTR)
		;
}

static int finish_container(struct lc_store *s, const char *id, const char *cdir,
			    struct lc_cgroup *cg, bool rm, const struct ctr_state *st,
			    struct lc_err **err)
{
	struct lc_err *e = NULL;
	int r = 0;

	if (rm)
		let_waiters_read(s, id, st);
	if (!rm && ctr_state_write(s, id, st, &e) < 0)
		lc_err_move(err, &e), r = -1;
	lc_err_free(e);
	e = NULL;
	if (lc_cgroup_destroy(cg, &e) < 0 && r == 0)
		lc_err_move(err, &e), r = -1;
	lc_err_free(e);
	e = NULL;
	if (lc_overlay_umount(cdir, &e) < 0) {
		if (r == 0)
			lc_err_move(err, &e);
		lc_err_free(e);
		return -1;
	}
	lc_trace_phase("overlay unmounted");
	if (rm && lc_store_container_remove(s, id, &e) < 0 && r == 0)
		lc_err_move(err, &e), r = -1;
	lc_trace_phase("container removed");
	lc_err_free(e);
	return r;
}

struct started {
	struct lc_store *s;
	const char *id;
	struct ctr_state *st;
	const struct lc_port *ports; /* -p, listening on fds already */
	const int *port_fds;
	size_t n_ports;
	int notify; /* -d: the pipe to the layerctl that waits for the start, -1: none */
	struct lc_err *fwd_err; /* the ports could not be published: the container was killed */
};

/* lc_launch's on_start: the command runs; say so in the state, and to whoever waits */
static void on_started(void *arg, pid_t pid)
{
	struct started *x = arg;
	struct lc_err *e = NULL;

	snprintf(x->st->status, sizeof(x->st->status), "running");
	x->st->pid = pid;
	x->st->pid_start = ctr_pid_start(pid);
	lc_rfc3339_now(x->st->started_at, sizeof(x->st->started_at));
	if (ctr_state_write(x->s, x->id, x->st, &e) < 0)
		lc_err_free(e);
	e = NULL;
	/*
	 * A port that cannot be published fails the start (125), as a busy one does: the
	 * container goes (supervise records why); whoever waits for the start hears it then.
	 */
	if (lc_ports_forward(pid, x->port_fds, x->ports, x->n_ports, &x->fwd_err) < 0) {
		kill(pid, SIGKILL);
		return;
	}
	if (x->notify >= 0) {
		lc_write_all(x->notify, "S", 1);
		close(x->notify);
		x->notify = -1;
	}
}

/*
 * Run the container to its end and record it: what the caller of run does, and what the
 * monitor of a detached container does. Returns lc_launch's result.
 */
static int supervise(struct lc_store *s, const char *id, const char *cdir,
		     struct lc_launch_cfg *cfg, const struct run_opts *o, struct lc_cgroup *cg,
		     const int *port_fds, int notify, bool again, int *ret_status,
		     struct lc_err **err)
{
	struct ctr_state st = { .status = "created" };
	struct started x = { .s = s,
			     .id = id,
			     .st = &st,
			     .ports = o->ports,
			     .port_fds = port_fds,
			     .n_ports = o->n_ports,
			     .notify = notify };
	struct lc_err *e = NULL;
	bool oom = false;
	int r;

	cfg->on_start = on_started;
	/* x outlives the launch: the pointer is dropped again right after it */
	// cppcheck-suppress autoVariables
	cfg->on_start_arg = &x;
	r = lc_launch(cfg, ret_status, err);
	cfg->on_start = NULL;
	cfg->on_start_arg = NULL;
	if (x.fwd_err) {
		if (r == 0) {
			lc_err_move(err, &x.fwd_err);
			lc_err_prefix(err, "publish the ports");
		}
		lc_err_free(x.fwd_err);
		r = -1;
	}
	st.exit_code = r == 0					 ? *ret_status
		       : (*err && (*err)->code == LC_ERR_NOEXEC) ? EXIT_RUN_NOT_FOUND
		       : (*err && (*err)->code == LC_ERR_EXEC)	 ? EXIT_RUN_CANNOT_EXEC
								 : EXIT_RUN_FAILED;
	if (r < 0 && *err)
		snprintf(st.error, sizeof(st.error), "%s", (*err)->msg);
	if (r == 0 && lc_cgroup_oom_killed(cg, &oom, &e) == 0 && oom) {
		st.oom_killed = true;
		if (notify < 0)
			report_oom(id, *ret_status, &o->limits);
	}
	lc_err_free(e);
	e = NULL;
	/* docker: a start that fails leaves the container exited with 125-127 (created if new) */
	snprintf(st.status, sizeof(st.status),
		 r == 0 || st.started_at[0] || again ? "exited" : "created");
	lc_rfc3339_now(st.finished_at, sizeof(st.finished_at));
	st.pid = 0;
	st.pid_start = 0;
	if (finish_container(s, id, cdir, cg, o->rm && !ctr_restarting(s, id), &st, &e) < 0 &&
	    r == 0) {
		lc_err_move(err, &e);
		r = -1;
	}
	lc_err_free(e);
	return r;
}

/*
 * No monitor could be made: a new container goes, one started again stays as it was (its
 * state untouched), unmounted, without a cgroup.
 */
static void undo_start(struct lc_store *s, const char *id, const char *cdir, struct lc_cgroup *cg,
		       bool again)
{
	struct ctr_state st = { .status = "created" };

	if (!again) {
		finish_container(s, id, cdir, cg, true, &st, NULL);
		return;
	}
	lc_cgroup_destroy(cg, NULL);
	lc_overlay_umount(cdir, NULL);
}

/*
 * run -d: a monitor process of the container's own (no daemon) runs it with its output
 * appended to its log, records its end, then unmounts it. It outlives this layerctl and the
 * terminal. We return once the command runs (the id on stdout) or failed to start (why).
 */
static int run_detached(struct lc_store *s, const char *id, const char *cdir,
			struct lc_launch_cfg *cfg, const struct run_opts *o, struct lc_cgroup *cg,
			const int *port_fds, bool again, struct lc_err **err)
{
	int p[2];
	pid_t pid;
	char c = 0;
	ssize_t n;
	struct ctr_state st;

	if (pipe2(p, O_CLOEXEC) < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
		undo_start(s, id, cdir, cg, again);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		lc_err_set(err, LC_ERR_SYS, errno, "run: fork the monitor");
		close(p[0]);
		close(p[1]);
		undo_start(s, id, cdir, cg, again);
		return -1;
	}
	if (pid == 0) {
		struct lc_err *e = NULL;
		int status = 0, nullfd, logfd;

		/* the monitor: a session of its own, no terminal, nothing of the caller's */
		close(p[0]);
		setsid();
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		logfd = lc_store_container_log_open(s, id, true, &e);
		if (nullfd < 0 || logfd < 0)
			_exit(EXIT_RUN_FAILED);
		for (int i = 0; i < 3; i++)
			dup2(nullfd, i);
		cfg->detached = true;
		cfg->log_fd = logfd;
		if (supervise(s, id, cdir, cfg, o, cg, port_fds, p[1], again, &status, &e) < 0) {
			/* not started: the waiting layerctl prints why (it reads our pipe) */
			char code = e && e->code == LC_ERR_NOEXEC ? 'N'
				    : e && e->code == LC_ERR_EXEC ? 'X'
								  : 'F';

			lc_write_all(p[1], &code, 1);
			if (e && e->msg)
				lc_write_all(p[1], e->msg, strlen(e->msg));
		}
		lc_err_free(e);
		_exit(0);
	}
	close(p[1]);
	lc_cgroup_forget(cg); /* the monitor's now */
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'S') {
		close(p[0]);
		return 0;
	}
	{
		char msg[1024];
		size_t got = 0;

		while (got < sizeof(msg) - 1) {
			n = read(p[0], msg + got, sizeof(msg) - 1 - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		msg[got] = 0;
		close(p[0]);
		if (!got && ctr_state_read(s, id, &st, err) == 0 && st.error[0])
			snprintf(msg, sizeof(msg), "%s", st.error);
		return lc_err_set(err,
				  c == 'N'   ? LC_ERR_NOEXEC
				  : c == 'X' ? LC_ERR_EXEC
					     : LC_ERR_SYS,
				  0, "%s", got ? msg : "the container's monitor died");
	}
}

/* Listen on o's host ports (a busy one fails the start before anything runs: 125). */
static int listen_ports(const struct run_opts *o, int **ret_fds, struct lc_err **err)
{
	cleanup_free int *fds = lc_xcalloc(o->n_ports + 1, sizeof(int));

	for (size_t i = 0; i < o->n_ports; i++) {
		if (lc_port_listen(&o->ports[i], &fds[i], err) < 0) {
			while (i > 0)
				close(fds[--i]);
			return -1;
		}
	}
	*ret_fds = TAKE_PTR(fds);
	return 0;
}

/* What a container made already is started with. */
struct start_plan {
	const char *id, *cdir;
	const struct ctr_spec *sp; /* its command, env, working dir, user, hostname */
	char *const *lowers;	   /* its layers, topmost first */
	size_t n_lowers;
	const struct ctr_idmaps *maps; /* its user namespace (n_uid 0: none) */
	bool again;	/* it ran before (start, restart): a failed start leaves it exited */
	bool detach;	/* a monitor runs it; else we do, to its end (*ret_status) */
	bool ephemeral; /* --rm: its upper dies with it, a volatile overlay (no sync at unmount) */
};

/*
 * --userns: the upper dir goes to the container's root (the host ids its 0 maps to), so that
 * what it writes there is its own; the layers are mounted idmapped under it, never chowned.
 */
static int mount_userns(struct lc_store *s, const struct start_plan *pl, struct lc_err **err)
{
	cleanup_close int dirfd = -1;
	cleanup_close int usfd = -1;
	uint32_t hu, hg;

	if (lc_userns_kernel_check(err) < 0)
		return -1;
	if (!lc_idmap_to_host(pl->maps->uid, pl->maps->n_uid, 0, &hu) ||
	    !lc_idmap_to_host(pl->maps->gid, pl->maps->n_gid, 0, &hg))
		return lc_err_set(err, LC_ERR_INVALID, 0, "the user namespace maps no root");
	dirfd = open(pl->cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", pl->cdir);
	if (fchownat(dirfd, "upper", hu, hg, AT_SYMLINK_NOFOLLOW) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "chown '%s/upper' to %u:%u", pl->cdir, hu,
				  hg);
	lc_trace("fchownat(\"upper\", %u, %u) = 0: the upper dir belongs to the container's root",
		 hu, hg);
	if (lc_userns_fd(pl->maps->uid, pl->maps->n_uid, pl->maps->gid, pl->maps->n_gid, &usfd,
			 err) < 0)
		return -1;
	return lc_overlay_mount_idmapped(s, (const char *const *)pl->lowers, pl->n_lowers, pl->cdir,
					 usfd, pl->ephemeral, err);
}

/*
 * --userns and a named volume: one that is new (empty, still root's) goes to the container's
 * root, as docker's userns-remap makes its volumes; one that holds data keeps its owners (other
 * containers may use it), and the container's root is then nobody there.
 */
static int volume_for_userns(const char *path, const struct ctr_idmaps *maps, struct lc_err **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	uint32_t hu, hg;

	if (fd < 0 || fstat(fd, &st) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "volume '%s'", path);
	if (st.st_uid != 0 || st.st_gid != 0 || !lc_idmap_to_host(maps->uid, maps->n_uid, 0, &hu) ||
	    !lc_idmap_to_host(maps->gid, maps->n_gid, 0, &hg))
		return 0;
	d = fdopendir(dup(fd));
	if (!d)
		return lc_err_set(err, LC_ERR_SYS, errno, "volume '%s'", path);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return 0;
	if (fchown(fd, hu, hg) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "volume '%s': chown to %u:%u", path, hu,
				  hg);
	lc_trace("fchown(\"%s\", %u, %u) = 0: a new volume belongs to the container's root", path,
		 hu, hg);
	return 0;
}

/*
 * Start a container whose dir this store handle holds: listen on its ports, make its cgroup,
 * mount its rootfs on its (kept) upper dir, run it. What fails before its command runs leaves
 * nothing listening, mounted or in a cgroup; the dir stays (a new one is the caller's to drop).
 * *ret_launched: it got as far as the launch, whose end (or failure) is recorded in its state.
 */
static int start_container(struct lc_store *s, const struct run_opts *o,
			   const struct start_plan *pl, bool *ret_launched, int *ret_status,
			   struct lc_err **err)
{
	cleanup_free char *rootfs = NULL;
	cleanup_free struct lc_mount *mounts = NULL;
	cleanup_free int *port_fds = NULL;
	cleanup_strv char **vpaths = NULL;
	cleanup_free char *seccomp_cache = NULL;
	struct lc_launch_cfg cfg = { 0 };
	struct lc_cgroup *cg = NULL;
	int r;
	size_t i;

	if (listen_ports(o, &port_fds, err) < 0)
		return -1;
	/*
	 * No limit, no cgroup: the container stays in ours, and nothing is written. Except with
	 * --pid host, where no pid namespace ends with its first process: its cgroup is what
	 * finds (and kills) what the container left running.
	 */
	if (o->host_pid && lc_userns_nested()) {
		lc_err_set(
			err, LC_ERR_INVALID, 0,
			"--pid host is for root: rootless layerctl's user namespace does not own "
			"the host's pid namespace, so the container could not mount its /proc");
		goto fail;
	}
	if ((lc_cgroup_limits_any(&o->limits) || o->host_pid) &&
	    create_cgroup(o, pl->id, pl->cdir, &cg, err) < 0)
		goto fail;
	/* a named volume is mounted from its dir in the store (made on first use, as docker) */
	mounts = lc_xcalloc(o->n_mounts + 1, sizeof(*mounts));
	for (i = 0; i < o->n_mounts; i++) {
		cleanup_free char *vpath = NULL;

		mounts[i] = o->mounts[i];
		if (!o->is_volume[i])
			continue;
		if (lc_store_volume_path(s, o->mounts[i].source, true, &vpath, err) < 0 ||
		    (pl->maps->n_uid > 0 && volume_for_userns(vpath, pl->maps, err) < 0))
			goto fail;
		lc_strv_push(&vpaths, vpath);
		mounts[i].source = vpaths[lc_strv_len(vpaths) - 1];
	}
	cfg.argv = pl->sp->args;
	cfg.env = pl->sp->env;
	cfg.cwd = pl->sp->cwd && *pl->sp->cwd ? pl->sp->cwd : "/";
	cfg.hostname = pl->sp->hostname;
	cfg.user = pl->sp->user && *pl->sp->user ? pl->sp->user : NULL;
	cfg.no_seccomp = o->no_seccomp;
	cfg.seccomp_profile = o->seccomp_profile;
	cfg.seccomp_cache = seccomp_cache = lc_xasprintf("%s/seccomp", lc_store_root(s));
	cfg.no_new_privs = o->no_new_privs;
	cfg.privileged = o->privileged;
	cfg.rlimits = o->rlimits;
	cfg.n_rlimits = o->n_rlimits;
	cfg.devices = o->devices;
	cfg.n_devices = o->n_devices;
	cfg.interactive = o->interactive;
	cfg.tty = o->tty;
	cfg.init = o->init;
	cfg.cgroup = cg;
	cfg.caps_set = true;
	cfg.caps = o->caps;
	cfg.host_net = o->host_net;
	cfg.host_uts = o->host_uts;
	cfg.host_ipc = o->host_ipc;
	cfg.host_pid = o->host_pid;
	cfg.add_hosts = o->add_hosts;
	cfg.dns = o->dns;
	cfg.mounts = mounts;
	cfg.n_mounts = o->n_mounts;
	cfg.read_only = o->read_only;
	if (pl->maps->n_uid > 0) {
		if (mount_userns(s, pl, err) < 0)
			goto fail;
		cfg.uidmap = pl->maps->uid;
		cfg.n_uidmap = pl->maps->n_uid;
		cfg.gidmap = pl->maps->gid;
		cfg.n_gidmap = pl->maps->n_gid;
	} else if (lc_overlay_mount(s, (const char *const *)pl->lowers, pl->n_lowers, pl->cdir,
				    pl->ephemeral, err) < 0) {
		goto fail;
	}
	lc_trace_phase("overlay mounted");
	rootfs = lc_xasprintf("%s/merged", pl->cdir);
	cfg.rootfs = rootfs;
	cfg.state_dir = pl->cdir;
	*ret_launched = true;
	if (pl->detach)
		r = run_detached(s, pl->id, pl->cdir, &cfg, o, TAKE_PTR(cg), port_fds, pl->again,
				 err);
	else
		r = supervise(s, pl->id, pl->cdir, &cfg, o, TAKE_PTR(cg), port_fds, -1, pl->again,
			      ret_status, err);
	for (i = 0; i < o->n_ports; i++)
		close(port_fds[i]);
	return r;
fail:
	for (i = 0; i < o->n_ports; i++)
		close(port_fds[i]);
	lc_cgroup_destroy(cg, NULL);
	return -1;
}

static int run_container(struct lc_store *s, const struct cmd_image *im, const struct run_opts *o,
			 char *const *user_cmd, int *ret_status, struct lc_err **err)
{
	cleanup_free char *id = NULL, *cdir = NULL, *taken = NULL;
	cleanup_strv char **argv = NULL, **env = NULL, **lowers = NULL;
	cleanup_strv char **volumes = NULL, **port_strs = NULL;
	char hostname[13];
	struct lc_err *cleanup_err = NULL;
	struct ctr_spec spec = { 0 };
	struct ctr_state st = { .status = "created" };
	struct ctr_idmaps maps = { 0 };
	bool launched = false;
	size_t i;
	int r;

	argv = build_argv(im->config, o->entrypoint, user_cmd);
	if (!argv || !argv[0])
		return lc_err_set(err, LC_ERR_INVALID, 0, "no command specified");
	sweep_stale_containers(s);
	if (o->name && ctr_name_taken(s, o->name, &taken))
		return lc_err_set(err, LC_ERR_EXISTS, 0,
				  "Conflict. The container name \"/%s\" is already in use by "
				  "container \"%s\". You have to remove (or rename) that container "
				  "to be able to reuse that name.",
				  o->name, taken);
	for (i = 0; i < o->n_ports; i++)
		port_strs_push(&port_strs, &o->ports[i]);
	for (i = 0; i < o->n_mounts; i++)
		if (o->is_volume[i])
			lc_strv_push(&volumes, o->mounts[i].source);
	if (lc_store_container_create(s, &id, &cdir, err) < 0)
		return -1;
	if (o->rm) /* nothing of it outlives this run: no fsync of its documents */
		lc_store_container_set_volatile(s, id);
	snprintf(hostname, sizeof(hostname), "%.12s", id);
	/* overlay wants the topmost layer first */
	lowers = lc_xcalloc(im->n_layers + 1, sizeof(char *));
	for (i = 0; i < im->n_layers; i++)
		lowers[i] = lc_xstrdup(im->chainids[im->n_layers - 1 - i]);
	/* which image it uses: rmi, du and gc read it */
	if (lc_store_container_config_write(s,
					    &(struct lc_container_config){
						    .id = id,
						    .name = (char *)(o->name ? o->name : ""),
						    .image = im->ref->name,
						    .image_id = im->ref->config,
						    .layers = lowers,
						    .n_layers = im->n_layers,
					    },
					    err) < 0)
		goto fail_rm;
	/* rootless: the container is in the user's namespace already, its root is the user */
	if (o->userns != RUN_USERNS_HOST && lc_userns_nested()) {
		lc_err_set(err, LC_ERR_INVALID, 0,
			   "--userns and --uidmap are for root: rootless layerctl runs every "
			   "container in the user's namespace (its root is you, its other ids your "
			   "/etc/subuid range)");
		goto fail_rm;
	}
	/* its user namespace, if any: a range of its own, recorded before it runs */
	if (ctr_idmaps_assign(s, id, o, &maps, err) < 0)
		goto fail_rm;
	env = ctr_build_env(im->config->env, o->env);
	/* what exec, stop, ps and start need to know of it later */
	spec = (struct ctr_spec){
		.args = argv,
		.env = env,
		.cwd = (char *)(o->workdir				      ? o->workdir
				: im->config->workdir && *im->config->workdir ? im->config->workdir
									      : "/"),
		.user = (char *)(o->user				 ? o->user
				 : im->config->user && *im->config->user ? im->config->user
									 : ""),
		.hostname = (char *)(o->hostname ? o->hostname : hostname),
		.stop_signal = im->config->stop_signal,
		.cgroup_parent =
			(char *)(o->cgroup_parent ? o->cgroup_parent : DEFAULT_CGROUP_PARENT),
		.volumes = volumes,
		.ports = port_strs,
		.run_options = o->raw,
		.caps = o->caps,
		.auto_remove = o->rm,
		.no_seccomp = o->no_seccomp,
		.no_new_privs = o->no_new_privs,
		.seccomp_profile = o->seccomp_profile,
		.ulimits = o->ulimit_strs,
	};
	if (ctr_spec_write(s, id, &spec, err) < 0 || ctr_state_write(s, id, &st, err) < 0)
		goto fail_rm;
	lc_trace_phase("container created");
	r = start_container(s, o,
			    &(struct start_plan){ .id = id,
						  .cdir = cdir,
						  .sp = &spec,
						  .lowers = lowers,
						  .n_lowers = im->n_layers,
						  .maps = &maps,
						  .detach = o->detach,
						  .ephemeral = o->rm },
			    &launched, ret_status, err);
	if (r < 0 && !launched)
		goto fail_rm;
	if (r == 0 && o->detach)
		printf("%s\n", id);
	return r;
fail_rm:
	lc_store_container_remove(s, id, &cleanup_err);
	lc_err_free(cleanup_err);
	return -1;
}

int ctr_start(struct lc_store *s, const char *id, struct lc_err **err)
{
	__attribute__((cleanup(run_opts_clear))) struct run_opts o = { 0 };
	cleanup_free char *cdir = NULL;
	cleanup_close int cdirfd = -1;
	cleanup_strv char **argv = NULL;
	struct lc_container_config *cc = NULL;
	struct ctr_spec sp = { 0 };
	struct ctr_idmaps maps;
	struct ctr_state st;
	bool launched = false;
	int r = -1, status = 0;

	/* who holds it runs it (or is starting it): docker leaves a running one alone */
	if (lc_store_container_take(s, id, err) < 0) {
		if ((*err)->code != LC_ERR_EXISTS)
			return -1;
		lc_err_free(*err);
		*err = NULL;
		return 0;
	}
	/* a restart's stop is over (its monitor is gone): --rm holds again from this start on */
	if (lc_store_container_doc_remove(s, id, CTR_RESTARTING, err) < 0)
		goto out;
	if (ctr_state_read(s, id, &st, err) < 0 || ctr_spec_read(s, id, &sp, err) < 0 ||
	    lc_store_container_config_read(s, id, &cc, err) < 0 ||
	    ctr_idmaps_read(s, id, &maps, err) < 0)
		goto out;
	if (ctr_running(&st)) {
		r = 0;
		goto out;
	}
	/* the options it was run with, parsed again as run parsed them */
	lc_strv_push(&argv, "run");
	for (size_t i = 0; sp.run_options && sp.run_options[i]; i++)
		lc_strv_push(&argv, sp.run_options[i]);
	if (run_opts_parse((int)lc_strv_len(argv), argv, &o, err) < 0 ||
	    lc_cgroup_check_layout(&o.limits, err) < 0) {
		lc_err_prefix(err, "the options it was run with");
		goto out;
	}

	cdir = lc_xasprintf("%s/containers/%s", lc_store_root(s), id);
	/* whatever a killed run or monitor left of it goes first (a cgroup, a mount) */
	cdirfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (remove_cgroup_left(cdirfd, sp.cgroup_parent, id, err) < 0 &&
	    (*err)->code != LC_ERR_INVALID)
		goto out;
	lc_err_free(*err);
	*err = NULL;
	if (lc_overlay_umount(cdir, err) < 0)
		goto out;
	r = start_container(s, &o,
			    &(struct start_plan){ .id = id,
						  .cdir = cdir,
						  .sp = &sp,
						  .lowers = cc->layers,
						  .n_lowers = cc->n_layers,
						  .maps = &maps,
						  .again = true,
						  .detach = true,
						  .ephemeral = o.rm },
			    &launched, &status, err);
out:
	/* the monitor holds it now (or nobody: it stays as it was) */
	lc_store_container_release(s, id);
	lc_container_config_free(cc);
	ctr_spec_clear(&sp);
	return r;
}

int cmd_run(int argc, char **argv, const struct lc_global *g)
{
	__attribute__((cleanup(run_opts_clear))) struct run_opts o = { 0 };
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct cmd_image im = { 0 };
	int status = 0, r, img;

	img = run_opts_parse(argc, argv, &o, &err);
	if (img < 0 && err->code == LC_ERR_USAGE) {
		cmd_flag_error(run_usage, "%s", err->msg);
		lc_err_free(err);
		return EXIT_RUN_FAILED;
	}
	if (img < 0) {
		lc_err_prefix(&err, "run");
		return cmd_report(err, EXIT_RUN_FAILED);
	}
	if (o.help) {
		fputs(run_usage, stdout);
		return EXIT_OK;
	}
	if (img >= argc) {
		/* docker's: 1, not 125 */
		return cmd_usage_error(run_usage, "'layerctl run' requires at least 1 argument");
	}
	if (o.name && !ctr_name_ok(o.name)) {
		cmd_flag_error(run_usage,
			       "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
			       "allowed",
			       o.name);
		return EXIT_RUN_FAILED;
	}
	/* docker's check, before anything is pulled or started */
	if (o.tty && o.interactive && !o.detach && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "layerctl: run: the input device is not a TTY\n");
		return EXIT_RUN_FAILED;
	}
	/* docker's daemon checks, before anything is pulled or started */
	if (lc_cgroup_check_layout(&o.limits, &err) < 0) {
		lc_err_prefix(&err, "run");
		return cmd_report(err, EXIT_RUN_FAILED);
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_RUN_FAILED);
	lc_trace_phase("store opened");
	/* rootless (the store's user namespace joined): a limit no delegated subtree can take is
	 * refused before anything is pulled (and again when its cgroup is made) */
	if (lc_userns_nested() && lc_cgroup_limits_any(&o.limits)) {
		cleanup_free char *base = NULL;

		if (lc_cgroup_deleg_find(&o.limits, &base, &err) < 0) {
			lc_store_close(s);
			lc_err_prefix(&err, "run '%s'", argv[img]);
			return cmd_report(err, EXIT_RUN_FAILED);
		}
	}
	r = ensure_image(s, argv[img], &o, &im, &err);
	lc_trace_phase("image read");
	if (r == 0)
		warn_platform(&im, &o);
	if (r == 0)
		r = run_container(s, &im, &o, argv + img + 1, &status, &err);
	cmd_image_clear(&im);
	lc_store_close(s);
	if (r < 0) {
		int code = EXIT_RUN_FAILED;

		if (err && err->code == LC_ERR_NOEXEC)
			code = EXIT_RUN_NOT_FOUND;
		else if (err && err->code == LC_ERR_EXEC)
			code = EXIT_RUN_CANNOT_EXEC;
		lc_err_prefix(&err, "run '%s'", argv[img]);
		return cmd_report(err, code);
	}
	return status;
}
