/* SPDX-License-Identifier: MIT */
/* cmd: the CLI. One file per verb; each parses its arguments, calls the modules and prints. */
#ifndef LC_CMD_H
#define LC_CMD_H

#include <string.h>

#include "../base/base.h"
#include "../store/store.h"
#include "../fetch/fetch.h"
#include "../mount/mount.h"

/*
 * Exit codes as docker 28's: 1 for an error (a wrong number of arguments included), 125 for
 * a flag that cannot be parsed; run passes the container's status through and keeps 125-127.
 */
enum {
	EXIT_OK = 0,
	EXIT_ERR = 1,
	EXIT_FLAG = 125, /* docker's status for a flag it cannot parse, on every verb */
	EXIT_RUN_FAILED = 125,
	EXIT_RUN_CANNOT_EXEC = 126,
	EXIT_RUN_NOT_FOUND = 127,
};

struct lc_global {
	const char *root; /* --root, or NULL for the default */
};

int cmd_pull(int argc, char **argv, const struct lc_global *g);
int cmd_images(int argc, char **argv, const struct lc_global *g);
int cmd_run(int argc, char **argv, const struct lc_global *g);
int cmd_du(int argc, char **argv, const struct lc_global *g);
int cmd_system(int argc, char **argv, const struct lc_global *g);
int cmd_login(int argc, char **argv, const struct lc_global *g);
int cmd_logout(int argc, char **argv, const struct lc_global *g);
int cmd_ps(int argc, char **argv, const struct lc_global *g);
int cmd_logs(int argc, char **argv, const struct lc_global *g);
int cmd_stop(int argc, char **argv, const struct lc_global *g);
int cmd_kill(int argc, char **argv, const struct lc_global *g);
int cmd_rm(int argc, char **argv, const struct lc_global *g);
int cmd_wait(int argc, char **argv, const struct lc_global *g);
int cmd_start(int argc, char **argv, const struct lc_global *g);
int cmd_restart(int argc, char **argv, const struct lc_global *g);
int cmd_exec(int argc, char **argv, const struct lc_global *g);
int cmd_cp(int argc, char **argv, const struct lc_global *g);
int cmd_volume(int argc, char **argv, const struct lc_global *g);
int cmd_image(int argc, char **argv, const struct lc_global *g);
int cmd_rmi(int argc, char **argv, const struct lc_global *g);
int cmd_tag(int argc, char **argv, const struct lc_global *g);
int cmd_gc(int argc, char **argv, const struct lc_global *g);
int cmd_inspect(int argc, char **argv, const struct lc_global *g);
int cmd_image_inspect(int argc, char **argv, const struct lc_global *g);
int cmd_top(int argc, char **argv, const struct lc_global *g);
int cmd_diff(int argc, char **argv, const struct lc_global *g);
int cmd_stats(int argc, char **argv, const struct lc_global *g);
int cmd_completion(int argc, char **argv, const struct lc_global *g);
/* Every verb's name, space separated (for completion); the caller frees it. */
char *cmd_verb_names(void);
int cmd_history(int argc, char **argv, const struct lc_global *g);
int cmd_image_prune(int argc, char **argv, const struct lc_global *g);
int cmd_system_prune(int argc, char **argv, const struct lc_global *g);
int cmd_mount(int argc, char **argv, const struct lc_global *g);
int cmd_unmount(int argc, char **argv, const struct lc_global *g);
int cmd_verify(int argc, char **argv, const struct lc_global *g);
int cmd_save(int argc, char **argv, const struct lc_global *g);
int cmd_load(int argc, char **argv, const struct lc_global *g);

/* Print "layerctl: <msg>" on stderr (one line) and free the error. Returns code. */
int cmd_report(struct lc_err *err, int code);
/* Open the store at g->root (or the default). */
int cmd_store_open(const struct lc_global *g, struct lc_store **ret, struct lc_err **err);
/*
 * Usage errors, shaped as docker 28's: "layerctl: <msg>", then the first line of the verb's
 * usage text, then where to read more. usage is the verb's whole --help text.
 * cmd_bad_flag: what getopt refused (c is its return, ':' for a missing value with ':'
 * leading the option string); cmd_flag_error: a flag's value that does not parse. Both
 * return EXIT_FLAG. cmd_usage_error (wrong arguments) returns EXIT_ERR.
 */
int cmd_bad_flag(const char *usage, char *const *argv, int c);
int cmd_flag_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cmd_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "unknown command: layerctl GROUP NAME", docker's words; returns EXIT_ERR. */
int cmd_unknown_command(const char *group, const char *name);

/* load: members of one archive (`help limits`) */
#define CMD_LOAD_MAX_MEMBERS 100000

/* `layerctl help limits` (limits.c). */
void cmd_help_limits(FILE *out);

/* Pull ref into the store printing docker-like progress on out. */
int cmd_pull_ref(struct lc_store *s, const struct lc_ref *ref, const struct lc_pull_opts *base,
		 FILE *out, bool quiet, struct lc_err **err);

/* An image as the store holds it: its ref, manifest, config and layer chain ids. */
struct cmd_image {
	struct lc_store_ref *ref;
	struct lc_manifest *manifest;
	struct lc_image_config *config;
	char **chainids; /* bottom first, NULL-terminated */
	size_t n_layers;
};
/* Load the image name points at. LC_ERR_NOTFOUND if the store has no such ref. */
int cmd_image_load(struct lc_store *s, const char *name, struct cmd_image *ret,
		   struct lc_err **err);
/* The same for a ref already read (from lc_store_ref_list): refs.json is not read again. */
int cmd_image_load_ref(struct lc_store *s, const struct lc_store_ref *ref, struct cmd_image *ret,
		       struct lc_err **err);
void cmd_image_clear(struct cmd_image *im);
/*
 * The refs an argument names: a reference (normalized as docker does), else an image ID or a
 * unique prefix of one ("sha256:" optional), which names every ref of that image (*ret_by_id).
 * *ret (n entries) is the caller's (lc_store_ref_list_free). LC_ERR_NOTFOUND: "No such image".
 */
int cmd_image_find(struct lc_store *s, const char *arg, struct lc_store_ref **ret, size_t *ret_n,
		   bool *ret_by_id, struct lc_err **err);
/*
 * rmi one image: refused while a container uses it (unless force), untag it (every tag of an
 * image ID: force), then remove what no other ref, container or pull needs. Prints docker's
 * "Untagged:" and "Deleted:" lines on out; adds the bytes freed to *ret_bytes (may be NULL).
 */
int cmd_image_remove(struct lc_store *s, const char *arg, bool force, FILE *out, int64_t *ret_bytes,
		     struct lc_err **err);
/* How many containers were made from the image ID; the first one's short id in first. */
size_t cmd_containers_using(struct lc_store *s, const char *image_id, char first[13]);
/* gc's removals and warnings, as gc and the prunes print them. */
void cmd_print_gc(const struct lc_gc_result *res, FILE *out);
/* Sum of the image's unpacked layer sizes. */
int64_t cmd_image_size(struct lc_store *s, const struct cmd_image *im);
/* "127.0.0.1:5000/nginx:latest" -> repository "127.0.0.1:5000/nginx", tag "latest" (familiar). */
void cmd_split_name(const char *canonical, char **repo, char **tag);
/* An image without a name: "<none>@<digest>", as verify --repair rebuilds a lost refs.json. */
static inline bool cmd_dangling(const char *ref_name)
{
	return !strncmp(ref_name, "<none>@", 7);
}
/* docker's "2 weeks ago" for an RFC 3339 time; "N/A" when unparseable. */
void cmd_human_since(const char *rfc3339, char *out, size_t outsz);

/* ---------- containers (container.c) ---------- */

/* containers/<id>/state.json: what a container is doing. */
struct ctr_state {
	char status[16];	      /* "created", "running", "exited"; "removed" (--rm, gone) */
	pid_t pid;		      /* running: its init, on the host */
	unsigned long long pid_start; /* that process's start time: a reused pid is not it */
	int exit_code;
	bool oom_killed;
	char started_at[40], finished_at[40]; /* RFC 3339, "" when not yet */
	char error[512];		      /* why it could not start */
};
/* containers/<id>/spec.json: what it runs, as whom; enough for exec, stop and ps. */
struct ctr_spec {
	char **args, **env;
	char **volumes;	    /* the named volumes it mounts */
	char **ports;	    /* published ports, "127.0.0.1:8080->80/tcp" */
	char **run_options; /* run's options as given (up to the image): start parses them again */
	char *cwd, *user, *hostname, *stop_signal, *cgroup_parent;
	bool auto_remove, no_seccomp;
	uint64_t caps;	       /* its capability set: exec gets the same */
	bool no_new_privs;     /* --security-opt no-new-privileges */
	char *seccomp_profile; /* --security-opt seccomp=FILE: the JSON text; NULL: none */
	char **ulimits;	       /* --ulimit values, as given */
};
/* /proc/<pid>/stat's start time, 0 when there is no such process */
unsigned long long ctr_pid_start(pid_t pid);
int ctr_state_read(struct lc_store *s, const char *id, struct ctr_state *ret, struct lc_err **err);
int ctr_state_write(struct lc_store *s, const char *id, const struct ctr_state *st,
		    struct lc_err **err);
/* "running" and its init is still the process that was recorded */
bool ctr_running(const struct ctr_state *st);
int ctr_spec_write(struct lc_store *s, const char *id, const struct ctr_spec *sp,
		   struct lc_err **err);
int ctr_spec_read(struct lc_store *s, const char *id, struct ctr_spec *ret, struct lc_err **err);
void ctr_spec_clear(struct ctr_spec *sp);
/* A full id, a name or a unique id prefix to the id (docker's "No such container: X"). */
int ctr_find(struct lc_store *s, const char *ref, char **ret_id, struct lc_err **err);
/* 1 when a container has that name (its id into *ret_id when not NULL) */
int ctr_name_taken(struct lc_store *s, const char *name, char **ret_id);
/* Send sig to a running container's init (LC_ERR_INVALID when it does not run). */
int ctr_signal(const struct ctr_state *st, int sig, struct lc_err **err);
/*
 * Wait up to timeout_ms (-1: for ever) until the container has exited and its monitor has
 * finished with it. 1: exited (*ret its state), 0: still running, -1: error.
 */
/*
 * A waiter that wants an --rm container's exit code (wait, start -a) holds a shared flock of
 * its CTR_WAITERS file: the monitor then records the end before it removes the container,
 * and removes it only once every such waiter has read it and let go.
 */
#define CTR_WAITERS "waiters"
int ctr_wait_exit_code(struct lc_store *s, const char *id, struct ctr_state *ret,
		       struct lc_err **err);
int ctr_wait_exit(struct lc_store *s, const char *id, int timeout_ms, struct ctr_state *ret,
		  struct lc_err **err);
/* base's KEY=VALUE entries, then overrides by key ("KEY" alone: ours, skipped if unset) */
char **ctr_build_env(char *const *base, char *const *overrides);
/* docker's [a-zA-Z0-9][a-zA-Z0-9_.-]* (a leading '/' allowed) */
bool ctr_name_ok(const char *name);
/*
 * For each of names (an id, a name or a prefix), fn with its id; then the name on stdout
 * when print_name. An error is reported on its own line and the rest go on; returns 0 when
 * all went well, 1 otherwise (docker's way for stop, kill, rm, wait).
 */
int ctr_each(const struct lc_global *g, char **names, int n,
	     int (*fn)(struct lc_store *s, const char *id, const char *name, void *arg,
		       struct lc_err **err),
	     void *arg, bool print_name);
/*
 * Stop a running container: sig (<= 0: the image's StopSignal, else SIGTERM), then SIGKILL
 * after secs (< 0: never); returns once it exited and its monitor let go of it. A container
 * that does not run is fine (docker).
 */
int ctr_stop(struct lc_store *s, const char *id, int sig, long secs, struct lc_err **err);
/*
 * Start an exited (or created) container again (run.c): the options it was run with are
 * parsed again, its rootfs mounted on its kept upper dir, and a monitor of its own runs it;
 * returns once the command runs. A running container is left alone (0).
 */
int ctr_start(struct lc_store *s, const char *id, struct lc_err **err);
/*
 * restart of a --rm container: the mark (a document in its dir) that tells its monitor to
 * keep it when it exits; ctr_start removes it.
 */
#define CTR_RESTARTING "restarting"
bool ctr_restarting(struct lc_store *s, const char *id);
/* Copy what the container's log gets from fd's offset on (logs.c) until it exited. */
int ctr_log_follow(struct lc_store *s, const char *id, int fd, struct lc_err **err);
/* "TERM", "SIGTERM", "15" -> 15; -1 when unknown */
int ctr_signal_number(const char *name);

/* ---------- run's options (runopts.c) ---------- */

/* What `run` was asked for; `start` parses the same options again (spec.json keeps them). */
/* --userns */
enum run_userns {
	RUN_USERNS_HOST = 0, /* ours (docker's default) */
	RUN_USERNS_AUTO,     /* a free range of the user's subordinate ids */
	RUN_USERNS_MAP,	     /* --uidmap/--gidmap */
};

struct run_opts {
	enum run_userns userns;
	uint32_t userns_size; /* --userns=auto:size=N; 0: LC_USERNS_AUTO_SIZE */
	struct lc_idmap uidmap[LC_IDMAP_MAX], gidmap[LC_IDMAP_MAX]; /* --uidmap, --gidmap */
	size_t n_uidmap, n_gidmap;
	struct lc_mount *mounts; /* -v, --mount, --tmpfs; a named volume's source is its name */
	size_t n_mounts;
	bool *is_volume; /* per mount: source names a volume, resolved once the store is open */
	bool read_only;	 /* --read-only */
	uint64_t caps;	 /* --cap-add/--cap-drop applied to docker's default set */
	bool host_net, host_uts, host_ipc, host_pid;
	char **add_hosts, **dns; /* --add-host NAME:IP, --dns IP */
	struct lc_port *ports;	 /* -p */
	size_t n_ports;
	bool rm;
	bool detach;	  /* -d */
	bool init;	  /* --init: a reaper of ours is PID 1, the command its child */
	bool help;	  /* --help: nothing else was parsed */
	const char *name; /* --name */
	char **env;	  /* -e, as given */
	const char *entrypoint;
	const char *hostname;
	const char *platform;
	const char *pull; /* missing|always|never */
	const char *user;
	const char *workdir;
	bool no_seccomp;
	char *seccomp_profile;	   /* --security-opt seccomp=FILE: its text (read when parsed) */
	bool no_new_privs;	   /* --security-opt no-new-privileges (docker's default: off) */
	bool privileged;	   /* --privileged */
	struct lc_rlimit *rlimits; /* --ulimit */
	size_t n_rlimits;
	char **ulimit_strs;
	struct lc_device *devices; /* --device */
	size_t n_devices;
	bool interactive; /* -i */
	bool tty;	  /* -t */
	struct lc_cgroup_limits limits;
	const char *cgroup_parent;
	/* owned: what the fields above point into (strings point into argv) */
	char **mount_strs, **cap_add, **cap_drop;
	struct lc_cgroup_rate *rates;
	char **raw; /* the options as given, argv[1] up to the image: what start parses again */
};
/*
 * Parse run's options, argv[0] being the verb, up to the image (getopt restarted). Returns the
 * index of the image argument (argc when there is none) or -1 with *err: LC_ERR_USAGE for a
 * flag docker would refuse (print it as a usage error), else docker's daemon checks of the
 * limits (LC_ERR_INVALID). The strings in *o point into argv, which must outlive it.
 */
int run_opts_parse(int argc, char **argv, struct run_opts *o, struct lc_err **err);
void run_opts_clear(struct run_opts *o);

/* A container's user namespace maps (userns.c); n_uid 0: none, it runs in ours. */
struct ctr_idmaps {
	struct lc_idmap uid[LC_IDMAP_MAX], gid[LC_IDMAP_MAX];
	size_t n_uid, n_gid;
};
/* Lines "u C:H:N" and "g C:H:N": the container's "idmap" document. */
char *ctr_idmaps_text(const struct ctr_idmaps *m);
int ctr_idmaps_parse(const char *text, struct ctr_idmaps *ret, struct lc_err **err);
/* The container's maps (none when it has no document: --userns host). */
int ctr_idmaps_read(struct lc_store *s, const char *id, struct ctr_idmaps *ret,
		    struct lc_err **err);
/*
 * The maps o asks for, recorded in the new container id's document: --uidmap/--gidmap as
 * given (the uid map serves for gids when --gidmap is absent), or for --userns=auto the lowest
 * LC_USERNS_AUTO_SIZE (or auto:size=N) ids of the user's /etc/subuid and /etc/subgid ranges that no other
 * container's document holds (the pick and the write under a flock of containers/, so
 * concurrent runs get disjoint ranges). Host: nothing, *ret empty.
 */
int ctr_idmaps_assign(struct lc_store *s, const char *id, const struct run_opts *o,
		      struct ctr_idmaps *ret, struct lc_err **err);

/* Column-aligned output like docker's tables. */
struct cmd_table;
struct cmd_table *cmd_table_new(size_t ncols);
void cmd_table_add(struct cmd_table *t, const char *const *row); /* copies ncols cells */
void cmd_table_print(const struct cmd_table *t, FILE *out);
void cmd_table_free(struct cmd_table *t);

/* A container as docker's inspect shows it, with its namespaces and cgroup usage (ctrinspect.c). */
struct json_t *ctr_inspect_json(struct lc_store *s, const char *id, struct lc_err **err);

/* ---------- --format (format.c): docker's Go-template subset ---------- */

struct json_t;
enum cmd_format_kind { CMD_FORMAT_TABLE, CMD_FORMAT_JSON, CMD_FORMAT_TEMPLATE };
struct cmd_format {
	enum cmd_format_kind kind;
	bool table;	       /* "table {{.A}}\t{{.B}}": a header row, columns aligned */
	const char *tmpl;      /* CMD_FORMAT_TEMPLATE: the template (after "table ") */
	const char *id_header; /* the header of {{.ID}}: NULL "CONTAINER ID" */
};
/*
 * --format's argument: "table", "json", "table TEMPLATE" or TEMPLATE; else a usage error
 * printed with the verb's usage text (returns EXIT_ERR).
 */
int cmd_format_parse(const char *arg, struct cmd_format *ret, const char *usage);
/*
 * Render tmpl against obj: text, {{.Field}}, {{.A.B}}, {{.}}, {{json .X}}, {{upper .X}},
 * {{lower .X}}; "\t" and "\n" in the template are a tab and a newline. Other actions are
 * LC_ERR_USAGE. *ret is the caller's.
 */
int cmd_format(const char *tmpl, struct json_t *obj, char **ret, struct lc_err **err);
/* The header row docker prints for a "table" template ("{{.ID}}\t{{.Image}}" -> "CONTAINER ID\tIMAGE"). */
char *cmd_format_header(const char *tmpl, const char *id_header);
/* Every row through f's template, one line each, or aligned under a header for "table ...". */
int cmd_format_rows(const struct cmd_format *f, struct json_t *const *rows, size_t n, FILE *out,
		    struct lc_err **err);

#endif
