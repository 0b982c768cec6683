/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <strings.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

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
	"  -p, --publish list        publish a container's TCP port: [IP:]HOSTPORT:PORT[/tcp];\n"
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
	"  -i, --interactive         keep STDIN attached (default: the container reads /dev/null)\n"
	"  -m, --memory bytes        memory limit (100m, 1g: k, m, g units)\n"
	"      --memory-reservation bytes  memory soft limit\n"
	"      --memory-swap bytes   memory + swap limit (-1: unlimited swap; default: twice\n"
	"                            --memory)\n"
	"      --oom-kill-disable    disable the OOM killer (cgroup v1 only)\n"
	"      --pids-limit int      tune the container's pids limit (-1: unlimited)\n"
	"      --ipc string          'host': share our IPC namespace\n"
	"      --network string      'none' (the default: its own namespace, lo only; there is\n"
	"                            no bridge) or 'host' (ours, on purpose)\n"
	"      --platform string     pull this platform if the image is missing\n"
	"      --pull string         missing (default), always or never\n"
	"      --security-opt list   seccomp=unconfined: no seccomp filter (default: docker's)\n"
	"  -t, --tty                 allocate a pseudo-TTY in the container (with -i: STDIN\n"
	"                            must be a terminal, put in raw mode while it runs)\n"
	"  -u, --user string         user name or uid[:gid]\n"
	"      --uts string          'host': share our UTS namespace (hostname)\n"
	"      --tmpfs list          mount a tmpfs (PATH[:size=..,mode=..,ro,exec])\n"
	"  -v, --volume list         bind mount HOSTPATH:PATH[:ro] or named volume NAME:PATH[:ro]\n"
	"                            (targets resolved inside the rootfs, never through its\n"
	"                            symlinks; mounted nosuid,nodev)\n"
	"  -w, --workdir string      working directory inside the container\n"
	"      --help                print this help\n";

struct run_opts {
	struct lc_mount *mounts; /* -v, --mount, --tmpfs; a named volume's source is its name */
	size_t n_mounts;
	bool *is_volume; /* per mount: source names a volume, resolved once the store is open */
	bool read_only;	 /* --read-only */
	uint64_t caps;	 /* --cap-add/--cap-drop applied to docker's default set */
	bool host_net, host_uts, host_ipc;
	char **add_hosts, **dns; /* --add-host NAME:IP, --dns IP */
	struct lc_port *ports;	 /* -p */
	size_t n_ports;
	bool rm;
	bool detach;	  /* -d */
	const char *name; /* --name */
	char **env;
	const char *entrypoint;
	const char *hostname;
	const char *platform;
	const char *pull; /* missing|always|never */
	const char *user;
	const char *workdir;
	bool no_seccomp;
	bool interactive; /* -i */
	bool tty;	  /* -t */
	struct lc_cgroup_limits limits;
	const char *cgroup_parent;
};

/* Where a container's cgroup parent is noted, for the sweep after a killed layerctl. */
#define CGROUP_PARENT_FILE    "cgroup-parent"
#define DEFAULT_CGROUP_PARENT "layerctl"

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
		cleanup_free char *dir = lc_xasprintf("%s/containers/%s", lc_store_root(s), ids[i]);
		struct ctr_spec sp = { 0 };
		struct ctr_state st;
		bool keep = false;
		cleanup_free char *parent = NULL;
		cleanup_close int dirfd =
			open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		struct lc_err *pe = NULL;

		/* its cgroup first: the dir is where we noted its parent */
		if (dirfd >= 0 &&
		    lc_read_file_at(dirfd, CGROUP_PARENT_FILE, 4096, &parent, NULL, &pe) == 0 &&
		    lc_cgroup_remove(parent, ids[i], &e) < 0 && e->code != LC_ERR_INVALID) {
			/* still there (busy): keep the container, so a later run tries again */
			lc_err_free(e);
			e = NULL;
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
	}
}

/* Note the cgroup's parent in the container's dir (for the sweep), then make the cgroup. */
static int create_cgroup(const struct run_opts *o, const char *id, const char *cdir,
			 struct lc_cgroup **ret, struct lc_err **err)
{
	const char *parent = o->cgroup_parent ? o->cgroup_parent : DEFAULT_CGROUP_PARENT;
	cleanup_close int dirfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (dirfd < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "open '%s'", cdir);
	if (lc_write_file_atomic_at(dirfd, CGROUP_PARENT_FILE, parent, strlen(parent), 0600, err) <
	    0)
		return -1;
	return lc_cgroup_create(parent, id, &o->limits, ret, err);
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

/* "127.0.0.1:8080->80/tcp", as docker's PORTS column shows a published port */
static void port_strs_push(char ***v, const struct lc_port *p)
{
	cleanup_free char *str =
		lc_xasprintf("%s:%u->%u/tcp", p->host_ip, p->host_port, p->ctr_port);

	lc_strv_push(v, str);
}

/* The container has run (or could not start): record how it ended, release its mounts. */
static int finish_container(struct lc_store *s, const char *id, const char *cdir,
			    struct lc_cgroup *cg, bool rm, const struct ctr_state *st,
			    struct lc_err **err)
{
	struct lc_err *e = NULL;
	int r = 0;

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
	if (rm && lc_store_container_remove(s, id, &e) < 0 && r == 0)
		lc_err_move(err, &e), r = -1;
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
	/* a forwarder that cannot start leaves its port refusing connections, nothing worse */
	if (lc_ports_forward(pid, x->port_fds, x->ports, x->n_ports, &e) < 0)
		lc_err_free(e);
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
		     const int *port_fds, int notify, int *ret_status, struct lc_err **err)
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
	snprintf(st.status, sizeof(st.status), r == 0 || st.started_at[0] ? "exited" : "created");
	lc_rfc3339_now(st.finished_at, sizeof(st.finished_at));
	st.pid = 0;
	st.pid_start = 0;
	if (finish_container(s, id, cdir, cg, o->rm, &st, &e) < 0 && r == 0) {
		lc_err_move(err, &e);
		r = -1;
	}
	lc_err_free(e);
	return r;
}

/*
 * run -d: a monitor process of the container's own (no daemon) runs it with its output
 * appended to its log, records its end, then unmounts it. It outlives this layerctl and the
 * terminal. We return once the command runs (the id on stdout) or failed to start (why).
 */
static int run_detached(struct lc_store *s, const char *id, const char *cdir,
			struct lc_launch_cfg *cfg, const struct run_opts *o, struct lc_cgroup *cg,
			const int *port_fds, struct lc_err **err)
{
	int p[2];
	pid_t pid;
	char c = 0;
	ssize_t n;
	struct ctr_state st;

	if (pipe2(p, O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "run: pipe");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		st = (struct ctr_state){ .status = "created" };
		finish_container(s, id, cdir, cg, true, &st, NULL);
		return lc_err_set(err, LC_ERR_SYS, e, "run: fork the monitor");
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
		if (supervise(s, id, cdir, cfg, o, cg, port_fds, p[1], &status, &e) < 0) {
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
		printf("%s\n", id);
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

static int run_container(struct lc_store *s, const struct cmd_image *im, const struct run_opts *o,
			 char *const *user_cmd, int *ret_status, struct lc_err **err)
{
	cleanup_free char *id = NULL, *cdir = NULL, *rootfs = NULL, *taken = NULL;
	cleanup_strv char **argv = NULL, **env = NULL, **lowers = NULL;
	cleanup_strv char **volumes = NULL, **vpaths = NULL;
	cleanup_free struct lc_mount *mounts = NULL;
	cleanup_free char *vpath = NULL;
	cleanup_free int *port_fds = NULL;
	cleanup_strv char **port_strs = NULL;
	char hostname[13];
	int r;
	struct lc_launch_cfg cfg = { 0 };
	struct lc_err *cleanup_err = NULL;
	struct lc_cgroup *cg = NULL;
	struct ctr_spec spec = { 0 };
	struct ctr_state st = { .status = "created" };
	size_t i;

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
	/* a busy host port fails the run before anything is made (125) */
	port_fds = lc_xcalloc(o->n_ports + 1, sizeof(int));
	for (i = 0; i < o->n_ports; i++) {
		if (lc_port_listen(&o->ports[i], &port_fds[i], err) < 0) {
			while (i > 0)
				close(port_fds[--i]);
			return -1;
		}
		port_strs_push(&port_strs, &o->ports[i]);
	}
	if (lc_store_container_create(s, &id, &cdir, err) < 0) {
		for (i = 0; i < o->n_ports; i++)
			close(port_fds[i]);
		return -1;
	}
	snprintf(hostname, sizeof(hostname), "%.12s", id);
	/* no limit, no cgroup: the container stays in ours, and nothing is written */
	if (lc_cgroup_limits_any(&o->limits) && create_cgroup(o, id, cdir, &cg, err) < 0)
		goto fail_rm;
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
	env = ctr_build_env(im->config->env, o->env);
	cfg.argv = argv;
	cfg.env = env;
	cfg.cwd = o->workdir ? o->workdir
			     : (im->config->workdir && *im->config->workdir ? im->config->workdir
									    : "/");
	cfg.hostname = o->hostname ? o->hostname : hostname;
	cfg.no_seccomp = o->no_seccomp;
	cfg.interactive = o->interactive;
	cfg.tty = o->tty;
	cfg.user = o->user ? o->user
			   : (im->config->user && *im->config->user ? im->config->user : NULL);
	cfg.cgroup = cg;
	/* a named volume is mounted from its dir in the store (made on first use, as docker) */
	mounts = lc_xcalloc(o->n_mounts + 1, sizeof(*mounts));
	for (i = 0; i < o->n_mounts; i++) {
		mounts[i] = o->mounts[i];
		if (!o->is_volume[i])
			continue;
		if (lc_store_volume_path(s, o->mounts[i].source, true, &vpath, err) < 0)
			goto fail_rm;
		lc_strv_push(&volumes, o->mounts[i].source);
		lc_strv_push(&vpaths, vpath);
		mounts[i].source = vpaths[lc_strv_len(vpaths) - 1];
		vpath = (free(vpath), NULL);
	}
	cfg.caps_set = true;
	cfg.caps = o->caps;
	cfg.host_net = o->host_net;
	cfg.host_uts = o->host_uts;
	cfg.host_ipc = o->host_ipc;
	cfg.add_hosts = o->add_hosts;
	cfg.dns = o->dns;
	cfg.mounts = mounts;
	cfg.n_mounts = o->n_mounts;
	cfg.read_only = o->read_only;
	/* what exec, stop and ps need to know of it later */
	spec = (struct ctr_spec){
		.args = argv,
		.env = env,
		.cwd = (char *)cfg.cwd,
		.user = (char *)(cfg.user ? cfg.user : ""),
		.hostname = (char *)cfg.hostname,
		.stop_signal = im->config->stop_signal,
		.cgroup_parent =
			(char *)(o->cgroup_parent ? o->cgroup_parent : DEFAULT_CGROUP_PARENT),
		.volumes = volumes,
		.ports = port_strs,
		.caps = o->caps,
		.auto_remove = o->rm,
		.no_seccomp = o->no_seccomp,
	};
	if (ctr_spec_write(s, id, &spec, err) < 0 || ctr_state_write(s, id, &st, err) < 0)
		goto fail_rm;
	if (lc_overlay_mount(s, (const char *const *)lowers, im->n_layers, cdir, err) < 0)
		goto fail_rm;
	rootfs = lc_xasprintf("%s/merged", cdir);
	cfg.rootfs = rootfs;
	cfg.state_dir = cdir;
	if (o->detach)
		r = run_detached(s, id, cdir, &cfg, o, TAKE_PTR(cg), port_fds, err);
	else
		r = supervise(s, id, cdir, &cfg, o, TAKE_PTR(cg), port_fds, -1, ret_status, err);
	for (i = 0; i < o->n_ports; i++)
		close(port_fds[i]);
	return r;
fail_rm:
	for (i = 0; i < o->n_ports; i++)
		close(port_fds[i]);
	lc_cgroup_destroy(cg, NULL);
	lc_store_container_remove(s, id, &cleanup_err);
	lc_err_free(cleanup_err);
	return -1;
}

static bool strv_has_all(char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcasecmp(v[i], "ALL"))
			return true;
	return false;
}

/* docker's rules: defaults + adds - drops; "ALL" in adds is everything, in drops nothing */
static uint64_t caps_of(char *const *add, char *const *drop)
{
	uint64_t m = strv_has_all(add) ? lc_caps_all() : strv_has_all(drop) ? 0 : LC_DEFAULT_CAPS;

	for (size_t i = 0; add && add[i]; i++)
		if (strcasecmp(add[i], "ALL"))
			m |= 1ULL << lc_cap_number(add[i]);
	for (size_t i = 0; drop && drop[i]; i++)
		if (strcasecmp(drop[i], "ALL"))
			m &= ~(1ULL << lc_cap_number(drop[i]));
	return m;
}

static void run_opts_clear(struct run_opts *o)
{
	free(o->mounts);
	free(o->is_volume);
	free(o->ports);
	lc_strv_free(o->add_hosts);
	lc_strv_free(o->dns);
}

static struct lc_mount *new_mount(struct run_opts *o, bool volume)
{
	o->mounts = lc_xrealloc(o->mounts, (o->n_mounts + 1) * sizeof(*o->mounts));
	o->is_volume = lc_xrealloc(o->is_volume, (o->n_mounts + 1) * sizeof(*o->is_volume));
	o->is_volume[o->n_mounts] = volume;
	o->mounts[o->n_mounts] = (struct lc_mount){ 0 };
	return &o->mounts[o->n_mounts++];
}

/* -v SRC:DST[:ro|rw]: SRC absolute is a host path, else a volume's name. Pieces into *keep. */
static int parse_volume_flag(struct run_opts *o, const char *v, char ***keep, struct lc_err **err)
{
	cleanup_strv char **parts = NULL;
	struct lc_mount *m;
	const char *p = v;
	size_t n;

	while (p) {
		const char *c = strchr(p, ':');

		lc_strv_push(&parts, "");
		free(parts[lc_strv_len(parts) - 1]);
		parts[lc_strv_len(parts) - 1] = c ? lc_xstrndup(p, (size_t)(c - p)) : lc_xstrdup(p);
		p = c ? c + 1 : NULL;
	}
	n = lc_strv_len(parts);
	if (!parts || n < 2 || n > 3 || !*parts[0] || !*parts[1] || /* !parts: for gcc's analyzer */
	    (n == 3 && strcmp(parts[2], "ro") && strcmp(parts[2], "rw")))
		return lc_err_set(err, LC_ERR_INVALID, 0, "invalid volume specification: '%s'", v);
	m = new_mount(o, parts[0][0] != '/');
	m->kind = LC_MOUNT_BIND;
	m->readonly = n == 3 && !strcmp(parts[2], "ro");
	lc_strv_push(keep, parts[0]);
	m->source = (*keep)[lc_strv_len(*keep) - 1];
	lc_strv_push(keep, parts[1]);
	m->target = (*keep)[lc_strv_len(*keep) - 1];
	return 0;
}

/* --mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=..,tmpfs-mode=..] */
static int parse_mount_flag(struct run_opts *o, const char *v, char ***keep, struct lc_err **err)
{
	cleanup_free char *copy = lc_xstrdup(v);
	const char *type = NULL, *src = NULL, *dst = NULL, *size = NULL, *mode = NULL;
	bool ro = false;
	struct lc_mount *m;
	char *save = NULL;

	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *val = eq ? eq + 1 : NULL;

		if (eq)
			*eq = 0;
		if (!strcmp(kv, "type") && val)
			type = val;
		else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && val)
			src = val;
		else if ((!strcmp(kv, "target") || !strcmp(kv, "destination") ||
			  !strcmp(kv, "dst")) &&
			 val)
			dst = val;
		else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro"))
			ro = !val || !strcmp(val, "true") || !strcmp(val, "1");
		else if (!strcmp(kv, "tmpfs-size") && val)
			size = val;
		else if (!strcmp(kv, "tmpfs-mode") && val)
			mode = val;
		else
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid argument \"%s\" for \"--mount\" flag: unexpected "
				"key '%s'",
				v, kv);
	}
	if (!type || !dst || (strcmp(type, "tmpfs") && !src) ||
	    (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs")))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid argument \"%s\" for \"--mount\" flag: type, source and "
				  "target are needed (type bind, volume or tmpfs)",
				  v);
	if (!strcmp(type, "bind") && src[0] != '/')
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"invalid mount config for type \"bind\": bind source path must be "
			"absolute: '%s'",
			src);
	m = new_mount(o, !strcmp(type, "volume"));
	m->kind = strcmp(type, "tmpfs") ? LC_MOUNT_BIND : LC_MOUNT_TMPFS;
	m->readonly = ro;
	if (src) {
		lc_strv_push(keep, src);
		m->source = (*keep)[lc_strv_len(*keep) - 1];
	}
	lc_strv_push(keep, dst);
	m->target = (*keep)[lc_strv_len(*keep) - 1];
	if (size) {
		lc_strv_push(keep, size);
		m->size = (*keep)[lc_strv_len(*keep) - 1];
	}
	if (mode) {
		lc_strv_push(keep, mode);
		m->mode = (*keep)[lc_strv_len(*keep) - 1];
	}
	return 0;
}

/* --tmpfs PATH[:size=..,mode=..,ro,exec] */
static int parse_tmpfs_flag(struct run_opts *o, const char *v, char ***keep, struct lc_err **err)
{
	const char *colon = strchr(v, ':');
	struct lc_mount *m = new_mount(o, false);
	cleanup_free char *opts = colon ? lc_xstrdup(colon + 1) : NULL;
	char *save = NULL;

	m->kind = LC_MOUNT_TMPFS;
	lc_strv_push(keep, "");
	free((*keep)[lc_strv_len(*keep) - 1]);
	(*keep)[lc_strv_len(*keep) - 1] =
		colon ? lc_xstrndup(v, (size_t)(colon - v)) : lc_xstrdup(v);
	m->target = (*keep)[lc_strv_len(*keep) - 1];
	for (char *kv = opts ? strtok_r(opts, ",", &save) : NULL; kv;
	     kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "size=", 5)) {
			lc_strv_push(keep, kv + 5);
			m->size = (*keep)[lc_strv_len(*keep) - 1];
		} else if (!strncmp(kv, "mode=", 5)) {
			lc_strv_push(keep, kv + 5);
			m->mode = (*keep)[lc_strv_len(*keep) - 1];
		} else if (!strcmp(kv, "ro")) {
			m->readonly = true;
		} else if (!strcmp(kv, "exec")) {
			m->exec = true;
		} else if (strcmp(kv, "rw") && strcmp(kv, "noexec") && strcmp(kv, "nosuid") &&
			   strcmp(kv, "nodev")) {
			return lc_err_set(
				err, LC_ERR_INVALID, 0,
				"invalid --tmpfs option '%s' (size=, mode=, ro, rw, exec, "
				"noexec)",
				kv);
		}
	}
	return 0;
}

enum {
	OPT_MEMORY_SWAP = 256,
	OPT_MEMORY_RESERVATION,
	OPT_CPUS,
	OPT_CPUSET_CPUS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_OOM_KILL_DISABLE,
	OPT_CGROUP_PARENT,
	OPT_MOUNT,
	OPT_TMPFS,
	OPT_READ_ONLY,
	OPT_PULL,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_NET,
	OPT_UTS,
	OPT_IPC,
	OPT_PID,
	OPT_ADD_HOST,
	OPT_DNS,
	OPT_RATE, /* + enum lc_cgroup_rate_kind */
	OPT_RATE_END = OPT_RATE + LC_RATE_WRITE_IOPS,
};

static bool is_limit_opt(int c)
{
	return c == 'm' || c == 'c' || (c >= OPT_MEMORY_SWAP && c <= OPT_OOM_KILL_DISABLE) ||
	       (c >= OPT_RATE && c <= OPT_RATE_END);
}

/* A decimal int64 like Go's strconv.ParseInt, with its error text. */
static int parse_int(const char *s, const char *flag, int64_t *ret, struct lc_err **err)
{
	char *end;

	errno = 0;
	*ret = strtoll(s, &end, 10);
	if (!*s || *end || errno || *s == ' ')
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: "
				  "parsing \"%s\": %s",
				  s, flag, s,
				  errno == ERANGE ? "value out of range" : "invalid syntax");
	return 0;
}

static int parse_size_flag(const char *s, const char *flag, int64_t *ret, struct lc_err **err)
{
	if (lc_parse_size(s, ret) < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", s,
				  flag, s);
	return 0;
}

/* One of docker's resource flags into l (rates appended to *rates, which l points at). */
static int parse_limit(int c, const char *v, struct lc_cgroup_limits *l,
		       struct lc_cgroup_rate **rates, struct lc_err **err)
{
	int64_t n;

	switch (c) {
	case 'm':
		return parse_size_flag(v, "-m, --memory", &l->memory, err);
	case OPT_MEMORY_SWAP:
		/* docker's MemSwapBytes: -1 is unlimited swap, else a size */
		if (!strcmp(v, "-1")) {
			l->memory_swap = -1;
			return 0;
		}
		return parse_size_flag(v, "--memory-swap", &l->memory_swap, err);
	case OPT_MEMORY_RESERVATION:
		return parse_size_flag(v, "--memory-reservation", &l->memory_reservation, err);
	case OPT_CPUS: {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		if (lc_cgroup_parse_cpus(v, ncpu > 0 ? ncpu : 1, &l->nano_cpus, err) < 0)
			return lc_err_prefix(err, "invalid argument \"%s\" for \"--cpus\" flag", v);
		return 0;
	}
	case 'c':
		return parse_int(v, "-c, --cpu-shares", &l->cpu_shares, err);
	case OPT_CPUSET_CPUS:
		if (lc_cgroup_parse_cpuset(v, err) < 0)
			return -1;
		l->cpuset_cpus = v;
		return 0;
	case OPT_PIDS_LIMIT:
		return parse_int(v, "--pids-limit", &l->pids_limit, err);
	case OPT_BLKIO_WEIGHT:
		if (parse_int(v, "--blkio-weight", &n, err) < 0)
			return -1;
		if (n < 0 || n > 65535)
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "invalid argument \"%s\" for \"--blkio-weight\" flag: "
					  "strconv.ParseUint: parsing \"%s\": value out of range",
					  v, v);
		l->blkio_weight = (int)n;
		return 0;
	case OPT_OOM_KILL_DISABLE:
		l->oom_kill_disable = true;
		return 0;
	default: {
		struct lc_cgroup_rate r;

		if (lc_cgroup_parse_rate(v, (enum lc_cgroup_rate_kind)(c - OPT_RATE), NULL, &r,
					 err) < 0)
			return -1;
		*rates = lc_xrealloc(*rates, (l->n_rates + 1) * sizeof(**rates));
		(*rates)[l->n_rates++] = r;
		l->rates = *rates;
		return 0;
	}
	}
}

int cmd_run(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "rm", no_argument, NULL, 'R' },
		{ "detach", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'N' },
		{ "env", required_argument, NULL, 'e' },
		{ "entrypoint", required_argument, NULL, 'E' },
		{ "hostname", required_argument, NULL, 'h' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'P' },
		{ "pull", required_argument, NULL, OPT_PULL },
		{ "security-opt", required_argument, NULL, 'S' },
		{ "tty", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "memory", required_argument, NULL, 'm' },
		{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
		{ "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "cpu-shares", required_argument, NULL, 'c' },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
		{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
		{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
		{ "device-read-bps", required_argument, NULL, OPT_RATE + LC_RATE_READ_BPS },
		{ "device-write-bps", required_argument, NULL, OPT_RATE + LC_RATE_WRITE_BPS },
		{ "device-read-iops", required_argument, NULL, OPT_RATE + LC_RATE_READ_IOPS },
		{ "device-write-iops", required_argument, NULL, OPT_RATE + LC_RATE_WRITE_IOPS },
		{ "oom-kill-disable", no_argument, NULL, OPT_OOM_KILL_DISABLE },
		{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
		{ "volume", required_argument, NULL, 'v' },
		{ "publish", required_argument, NULL, 'p' },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "net", required_argument, NULL, OPT_NET },
		{ "network", required_argument, NULL, OPT_NET },
		{ "uts", required_argument, NULL, OPT_UTS },
		{ "ipc", required_argument, NULL, OPT_IPC },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "add-host", required_argument, NULL, OPT_ADD_HOST },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "tmpfs", required_argument, NULL, OPT_TMPFS },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	__attribute__((cleanup(run_opts_clear))) struct run_opts o = { .pull = "missing" };
	cleanup_strv char **mount_strs = NULL; /* what o.mounts point into */
	cleanup_strv char **cap_add = NULL, **cap_drop = NULL;
	cleanup_strv char **env = NULL;			  /* o.env, freed on every way out */
	cleanup_free struct lc_cgroup_rate *rates = NULL; /* o.limits.rates */
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	struct cmd_image im = { 0 };
	int c, status = 0, r;

	/* "+": options end at IMAGE; what follows is the container's command */
	while ((c = getopt_long(argc, argv, "+:de:h:ip:tu:v:w:m:c:", opts, NULL)) != -1) {
		if (is_limit_opt(c)) {
			if (parse_limit(c, optarg, &o.limits, &rates, &err) < 0) {
				cmd_usage_error("run", "%s", err->msg);
				lc_err_free(err);
				return EXIT_RUN_FAILED;
			}
			continue;
		}
		switch (c) {
		case 'R':
			o.rm = true;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'N':
			o.name = optarg;
			break;
		case 'e':
			if (!*optarg || *optarg == '=') {
				cmd_usage_error("run", "invalid environment variable: '%s'",
						optarg);
				return EXIT_RUN_FAILED;
			}
			lc_strv_push(&env, optarg);
			break;
		case 'E':
			o.entrypoint = optarg;
			break;
		case 'h':
			o.hostname = optarg;
			break;
		case 'i':
			o.interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case 'P':
			o.platform = optarg;
			break;
		case OPT_PULL:
			if (strcmp(optarg, "missing") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never")) {
				cmd_usage_error(
					"run",
					"invalid --pull '%s' (want missing, always or never)",
					optarg);
				return EXIT_RUN_FAILED;
			}
			o.pull = optarg;
			break;
		case 'S':
			if (!strcmp(optarg, "seccomp=unconfined") ||
			    !strcmp(optarg, "seccomp:unconfined")) {
				o.no_seccomp = true;
			} else if (strcmp(optarg, "no-new-privileges") != 0 &&
				   strcmp(optarg, "no-new-privileges=true") != 0 &&
				   strcmp(optarg, "no-new-privileges:true") != 0) {
				/* no_new_privs is always on; anything else we cannot honour */
				cmd_usage_error("run", "unsupported --security-opt '%s'", optarg);
				return EXIT_RUN_FAILED;
			}
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case OPT_CGROUP_PARENT:
			if (lc_cgroup_parent_check(optarg, &err) < 0) {
				cmd_usage_error("run", "%s", err->msg);
				lc_err_free(err);
				return EXIT_RUN_FAILED;
			}
			o.cgroup_parent = optarg;
			break;
		case 'v':
		case OPT_MOUNT:
		case OPT_TMPFS:
			if ((c == 'v' ? parse_volume_flag(&o, optarg, &mount_strs, &err)
			     : c == OPT_MOUNT
				     ? parse_mount_flag(&o, optarg, &mount_strs, &err)
				     : parse_tmpfs_flag(&o, optarg, &mount_strs, &err)) < 0) {
				cmd_usage_error("run", "%s", err->msg);
				lc_err_free(err);
				return EXIT_RUN_FAILED;
			}
			break;
		case OPT_READ_ONLY:
			o.read_only = true;
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP:
			if (strcasecmp(optarg, "ALL") && lc_cap_number(optarg) < 0) {
				cmd_usage_error("run", "invalid capability: %s", optarg);
				return EXIT_RUN_FAILED;
			}
			lc_strv_push(c == OPT_CAP_ADD ? &cap_add : &cap_drop, optarg);
			break;
		case OPT_NET:
			if (!strcmp(optarg, "host")) {
				o.host_net = true;
			} else if (strcmp(optarg, "none") != 0) {
				cmd_usage_error(
					"run",
					"network '%s': layerctl has no bridge; 'none' (the "
					"default: a namespace of its own with lo only) or 'host'",
					optarg);
				return EXIT_RUN_FAILED;
			}
			break;
		case OPT_UTS:
		case OPT_IPC:
		case OPT_PID:
			if (c == OPT_PID || strcmp(optarg, "host") != 0) {
				cmd_usage_error(
					"run",
					"--%s %s is not supported (--uts host and --ipc host are)",
					c == OPT_PID   ? "pid"
					: c == OPT_UTS ? "uts"
						       : "ipc",
					optarg);
				return EXIT_RUN_FAILED;
			}
			*(c == OPT_UTS ? &o.host_uts : &o.host_ipc) = true;
			break;
		case OPT_ADD_HOST:
		case OPT_DNS: {
			const char *ip = optarg;
			unsigned char buf[16];

			if (c == OPT_ADD_HOST) {
				const char *colon = strchr(optarg, ':');

				ip = colon ? colon + 1 : "";
				if (!colon || colon == optarg ||
				    strspn(optarg,
					   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
					   "VWXYZ0123456789-.") != (size_t)(colon - optarg)) {
					cmd_usage_error(
						"run",
						"invalid argument \"%s\" for \"--add-host\" flag: "
						"bad format for add-host: \"%s\"",
						optarg, optarg);
					return EXIT_RUN_FAILED;
				}
			}
			if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1) {
				cmd_usage_error("run", "invalid IP address '%s' in \"%s\"", ip,
						optarg);
				return EXIT_RUN_FAILED;
			}
			lc_strv_push(c == OPT_DNS ? &o.dns : &o.add_hosts, optarg);
			break;
		}
		case 'p': {
			struct lc_port port;

			if (lc_port_parse(optarg, &port, &err) < 0) {
				cmd_usage_error("run", "%s", err->msg);
				lc_err_free(err);
				return EXIT_RUN_FAILED;
			}
			o.ports = lc_xrealloc(o.ports, (o.n_ports + 1) * sizeof(*o.ports));
			o.ports[o.n_ports++] = port;
			break;
		}
		case 'H':
			fputs(run_usage, stdout);
			return EXIT_OK;
		default:
			cmd_bad_flag("run", argv, c);
			return EXIT_RUN_FAILED;
		}
	}
	if (optind >= argc) {
		cmd_usage_error("run", "\"run\" requires at least 1 argument");
		return EXIT_RUN_FAILED;
	}
	o.caps = caps_of(cap_add, cap_drop);
	if (o.detach && o.tty) {
		cmd_usage_error("run", "-d with -t is not supported yet");
		return EXIT_RUN_FAILED;
	}
	if (o.detach && o.interactive) {
		cmd_usage_error("run", "-d with -i is not supported yet");
		return EXIT_RUN_FAILED;
	}
	if (o.name && !ctr_name_ok(o.name)) {
		cmd_usage_error("run",
				"Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
				"allowed",
				o.name);
		return EXIT_RUN_FAILED;
	}
	/* docker's check, before anything is pulled or started */
	if (o.tty && o.interactive && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "layerctl: run: the input device is not a TTY\n");
		return EXIT_RUN_FAILED;
	}
	/* docker's daemon checks, before anything is pulled or started */
	if (lc_cgroup_limits_check(&o.limits, &err) < 0 ||
	    lc_cgroup_check_layout(&o.limits, &err) < 0) {
		lc_err_prefix(&err, "run");
		return cmd_report(err, EXIT_RUN_FAILED);
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_RUN_FAILED);
	o.env = env;
	r = ensure_image(s, argv[optind], &o, &im, &err);
	if (r == 0)
		r = run_container(s, &im, &o, argv + optind + 1, &status, &err);
	cmd_image_clear(&im);
	lc_store_close(s);
	if (r < 0) {
		int code = EXIT_RUN_FAILED;

		if (err && err->code == LC_ERR_NOEXEC)
			code = EXIT_RUN_NOT_FOUND;
		else if (err && err->code == LC_ERR_EXEC)
			code = EXIT_RUN_CANNOT_EXEC;
		lc_err_prefix(&err, "run '%s'", argv[optind]);
		return cmd_report(err, code);
	}
	return status;
}
