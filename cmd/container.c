/* SPDX-License-Identifier: MIT */
/*
 * cmd: a container's life as the verbs see it. Its launch spec (spec.json: what to run, as
 * whom, whether it is removed on exit) and its state (state.json: created, running with the
 * host pid of its init, exited with a code) are kept in its dir; a detached container's
 * monitor writes the state, every verb reads it. No daemon: a pid is only believed while
 * /proc shows the same process (its start time), so a reused pid is never signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/file.h>

#include <jansson.h>

#include "cmd.h"

#define STATE_DOC "state.json"
#define SPEC_DOC  "spec.json"
#define DOC_MAX	  (1u << 20)

unsigned long long ctr_pid_start(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* after "pid (comm) ": field 22, starttime; comm may hold spaces and ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return start;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static void copy(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src);
}

static int state_read(struct lc_store *s, const char *id, struct ctr_state *ret,
		      struct lc_err **err)
{
	cleanup_free char *text = NULL;
	json_t *j;

	memset(ret, 0, sizeof(*ret));
	if (lc_store_container_doc_read(s, id, STATE_DOC, DOC_MAX, &text, err) < 0)
		return -1;
	j = lc_json_parse(text, strlen(text), STATE_DOC, err);
	if (!j)
		return lc_err_prefix(err, "container '%.12s'", id);
	copy(ret->status, sizeof(ret->status), jstr(j, "Status"));
	ret->pid = (pid_t)json_integer_value(json_object_get(j, "Pid"));
	ret->pid_start = (unsigned long long)json_integer_value(json_object_get(j, "PidStart"));
	ret->exit_code = (int)json_integer_value(json_object_get(j, "ExitCode"));
	ret->oom_killed = json_is_true(json_object_get(j, "OOMKilled"));
	copy(ret->started_at, sizeof(ret->started_at), jstr(j, "StartedAt"));
	copy(ret->finished_at, sizeof(ret->finished_at), jstr(j, "FinishedAt"));
	copy(ret->error, sizeof(ret->error), jstr(j, "Error"));
	json_decref(j);
	return 0;
}

/*
 * A state that says running while its init is gone and nobody holds the container: whoever ran
 * it (a monitor, or run) was killed, and the init died with it (PR_SET_PDEATHSIG: SIGKILL).
 * Record what the next run's sweep would: exited, 137, now. Under the container's lock, so
 * that a monitor still finishing (it holds the lock) records the real end itself.
 */
static void settle(struct lc_store *s, const char *id, struct ctr_state *st)
{
	struct lc_err *e = NULL;
	struct ctr_state now;

	if (strcmp(st->status, "running") != 0 || ctr_running(st) ||
	    lc_store_container_owned(s, id) || lc_store_container_take(s, id, &e) < 0) {
		lc_err_free(e);
		return;
	}
	if (state_read(s, id, &now, &e) == 0 && !strcmp(now.status, "running") &&
	    !ctr_running(&now)) {
		snprintf(now.status, sizeof(now.status), "exited");
		now.exit_code = 128 + SIGKILL;
		now.pid = 0;
		now.pid_start = 0;
		lc_rfc3339_now(now.finished_at, sizeof(now.finished_at));
		if (ctr_state_write(s, id, &now, &e) == 0)
			*st = now;
	}
	lc_err_free(e);
	lc_store_container_release(s, id);
}

int ctr_state_read(struct lc_store *s, const char *id, struct ctr_state *ret, struct lc_err **err)
{
	if (state_read(s, id, ret, err) < 0)
		return -1;
	settle(s, id, ret);
	return 0;
}

int ctr_state_write(struct lc_store *s, const char *id, const struct ctr_state *st,
		    struct lc_err **err)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:i, s:b, s:s, s:s, s:s}", "Status", st->status,
			      "Pid", (json_int_t)st->pid, "PidStart", (json_int_t)st->pid_start,
			      "ExitCode", st->exit_code, "OOMKilled", st->oom_killed, "StartedAt",
			      st->started_at, "FinishedAt", st->finished_at, "Error", st->error);
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	int r;

	json_decref(j);
	r = lc_store_container_doc_write(s, id, STATE_DOC, text, err);
	return r;
}

bool ctr_running(const struct ctr_state *st)
{
	return !strcmp(st->status, "running") && st->pid > 0 && st->pid_start &&
	       ctr_pid_start(st->pid) == st->pid_start;
}

static char **strv_of(json_t *a)
{
	char **v = lc_xcalloc(1, sizeof(char *));
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e) if (json_is_string(e)) lc_strv_push(&v, json_string_value(e));
	return v;
}

static json_t *json_strv(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int ctr_spec_write(struct lc_store *s, const char *id, const struct ctr_spec *sp,
		   struct lc_err **err)
{
	json_t *j = json_pack(
		"{s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:b, s:s}", "Caps",
		(json_int_t)sp->caps, "RunOptions", json_strv(sp->run_options), "Ports",
		json_strv(sp->ports), "Volumes", json_strv(sp->volumes), "Args",
		json_strv(sp->args), "Env", json_strv(sp->env), "WorkingDir",
		sp->cwd ? sp->cwd : "", "User", sp->user ? sp->user : "", "Hostname",
		sp->hostname ? sp->hostname : "", "StopSignal",
		sp->stop_signal ? sp->stop_signal : "", "AutoRemove", sp->auto_remove, "NoSeccomp",
		sp->no_seccomp, "CgroupParent", sp->cgroup_parent ? sp->cgroup_parent : "");
	cleanup_free char *text = NULL;

	/* what exec must apply alike: --security-opt and --ulimit */
	json_object_set_new(j, "NoNewPrivileges", json_boolean(sp->no_new_privs));
	if (sp->seccomp_profile)
		json_object_set_new(j, "SeccompProfile", json_string(sp->seccomp_profile));
	json_object_set_new(j, "Ulimits", json_strv(sp->ulimits));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return lc_store_container_doc_write(s, id, SPEC_DOC, text, err);
}

int ctr_spec_read(struct lc_store *s, const char *id, struct ctr_spec *ret, struct lc_err **err)
{
	cleanup_free char *text = NULL;
	json_t *j;

	memset(ret, 0, sizeof(*ret));
	if (lc_store_container_doc_read(s, id, SPEC_DOC, DOC_MAX, &text, err) < 0)
		return -1;
	j = lc_json_parse(text, strlen(text), SPEC_DOC, err);
	if (!j)
		return lc_err_prefix(err, "container '%.12s'", id);
	ret->args = strv_of(json_object_get(j, "Args"));
	ret->env = strv_of(json_object_get(j, "Env"));
	ret->volumes = strv_of(json_object_get(j, "Volumes"));
	ret->ports = strv_of(json_object_get(j, "Ports"));
	ret->run_options = strv_of(json_object_get(j, "RunOptions"));
	/* a spec without Caps predates --cap-add/--cap-drop: docker's default set */
	ret->caps = json_is_integer(json_object_get(j, "Caps"))
			    ? (uint64_t)json_integer_value(json_object_get(j, "Caps"))
			    : LC_DEFAULT_CAPS;
	ret->cwd = lc_xstrdup(jstr(j, "WorkingDir"));
	ret->user = lc_xstrdup(jstr(j, "User"));
	ret->hostname = lc_xstrdup(jstr(j, "Hostname"));
	ret->stop_signal = lc_xstrdup(jstr(j, "StopSignal"));
	ret->cgroup_parent = lc_xstrdup(jstr(j, "CgroupParent"));
	ret->auto_remove = json_is_true(json_object_get(j, "AutoRemove"));
	ret->no_seccomp = json_is_true(json_object_get(j, "NoSeccomp"));
	ret->no_new_privs = json_is_true(json_object_get(j, "NoNewPrivileges"));
	if (json_is_string(json_object_get(j, "SeccompProfile")))
		ret->seccomp_profile = lc_xstrdup(jstr(j, "SeccompProfile"));
	ret->ulimits = strv_of(json_object_get(j, "Ulimits"));
	json_decref(j);
	return 0;
}

void ctr_spec_clear(struct ctr_spec *sp)
{
	lc_strv_free(sp->args);
	lc_strv_free(sp->env);
	lc_strv_free(sp->volumes);
	lc_strv_free(sp->ports);
	lc_strv_free(sp->run_options);
	free(sp->cwd);
	free(sp->user);
	free(sp->hostname);
	free(sp->stop_signal);
	free(sp->cgroup_parent);
	free(sp->seccomp_profile);
	lc_strv_free(sp->ulimits);
	memset(sp, 0, sizeof(*sp));
}

int ctr_find(struct lc_store *s, const char *ref, char **ret_id, struct lc_err **err)
{
	cleanup_strv char **ids = NULL;
	const char *found = NULL;
	size_t rlen = strlen(ref), matches = 0;

	if (!*ref)
		return lc_err_set(err, LC_ERR_INVALID, 0, "container name cannot be empty");
	if (lc_store_container_list(s, &ids, err) < 0)
		return -1;
	/* an exact id or name first, then a unique id prefix: docker's order */
	for (size_t i = 0; ids[i]; i++) {
		struct lc_container_config *c = NULL;
		struct lc_err *e = NULL;
		bool named = false;

		if (!strcmp(ids[i], ref)) {
			*ret_id = lc_xstrdup(ids[i]);
			return 0;
		}
		if (lc_store_container_config_read(s, ids[i], &c, &e) == 0)
			named = c->name && *c->name && !strcmp(c->name, ref);
		lc_err_free(e);
		lc_container_config_free(c);
		if (named) {
			*ret_id = lc_xstrdup(ids[i]);
			return 0;
		}
	}
	for (size_t i = 0; ids[i]; i++)
		if (!strncmp(ids[i], ref, rlen)) {
			found = ids[i];
			matches++;
		}
	if (matches == 1 && strspn(ref, "0123456789abcdef") == rlen) {
		*ret_id = lc_xstrdup(found);
		return 0;
	}
	if (matches > 1 && strspn(ref, "0123456789abcdef") == rlen)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "multiple IDs found with provided prefix: %s", ref);
	return lc_err_set(err, LC_ERR_NOTFOUND, 0, "No such container: %s", ref);
}

int ctr_name_taken(struct lc_store *s, const char *name, char **ret_id)
{
	cleanup_strv char **ids = NULL;
	struct lc_err *e = NULL;
	int r = 0;

	if (lc_store_container_list(s, &ids, &e) < 0) {
		lc_err_free(e);
		return 0;
	}
	for (size_t i = 0; ids[i] && !r; i++) {
		struct lc_container_config *c = NULL;

		if (lc_store_container_config_read(s, ids[i], &c, &e) == 0 && c->name &&
		    !strcmp(c->name, name)) {
			r = 1;
			if (ret_id)
				*ret_id = lc_xstrdup(ids[i]);
		}
		lc_err_free(e);
		e = NULL;
		lc_container_config_free(c);
	}
	return r;
}

int ctr_signal(const struct ctr_state *st, int sig, struct lc_err **err)
{
	if (!ctr_running(st))
		return lc_err_set(err, LC_ERR_INVALID, 0, "container is not running");
	if (kill(st->pid, sig) < 0 && errno != ESRCH)
		return lc_err_set(err, LC_ERR_SYS, errno, "signal %d to pid %d", sig, (int)st->pid);
	lc_trace("kill(%d, %d) = 0: SIG%s to the container's init (PID 1 inside)", (int)st->pid,
		 sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	return 0;
}

int ctr_wait_exit_code(struct lc_store *s, const char *id, struct ctr_state *ret,
		       struct lc_err **err)
{
	cleanup_close int lock = lc_store_container_lock_open(s, id, CTR_WAITERS, true, err);
	struct ctr_spec sp = { 0 };
	bool rm;

	if (lock < 0 || ctr_spec_read(s, id, &sp, err) < 0)
		return -1;
	rm = sp.auto_remove;
	ctr_spec_clear(&sp);
	if (!rm)
		return ctr_wait_exit(s, id, -1, ret, err);
	while (flock(lock, LOCK_SH) < 0)
		if (errno != EINTR)
			return lc_err_set(err, LC_ERR_SYS, errno, "container '%.12s': lock", id);
	/* its monitor records the end, then waits for us before it removes it */
	for (;;) {
		if (ctr_state_read(s, id, ret, err) < 0)
			return ctr_wait_exit(s, id, -1, ret, err); /* gone already: says so */
		if (!ctr_running(ret) && !strcmp(ret->status, "exited"))
			return 1;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
}

bool ctr_restarting(struct lc_store *s, const char *id)
{
	cleanup_free char *text = NULL;
	struct lc_err *e = NULL;

	if (lc_store_container_doc_read(s, id, CTR_RESTARTING, 16, &text, &e) < 0) {
		lc_err_free(e);
		return false;
	}
	return true;
}

int ctr_wait_exit(struct lc_store *s, const char *id, int timeout_ms, struct ctr_state *ret,
		  struct lc_err **err)
{
	for (int waited = 0;; waited += 20) {
		if (ctr_state_read(s, id, ret, err) < 0) {
			/* gone: an --rm container that its monitor removed once it exited */
			if ((*err)->code != LC_ERR_NOTFOUND && (*err)->sys_errno != ENOENT)
				return -1;
			lc_err_free(*err);
			*err = NULL;
			*ret = (struct ctr_state){ .status = "removed", .exit_code = -1 };
			return 1;
		}
		/* its monitor (or run) holds it until it has recorded the end and unmounted */
		if (!ctr_running(ret) && !lc_store_container_in_use(s, id))
			return 1;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
}

int ctr_signal_number(const char *name)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {
		{ "HUP", SIGHUP },     { "INT", SIGINT },   { "QUIT", SIGQUIT },
		{ "KILL", SIGKILL },   { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		{ "TERM", SIGTERM },   { "CONT", SIGCONT }, { "STOP", SIGSTOP },
		{ "WINCH", SIGWINCH }, { "ALRM", SIGALRM },
	};
	char *end;
	long n;

	if (!name || !*name)
		return -1;
	n = strtol(name, &end, 10);
	if (!*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < LC_ARRAY_SIZE(sigs); i++)
		if (!strcasecmp(sigs[i].name, name))
			return sigs[i].sig;
	return -1;
}

bool ctr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '/')
		name++, n--;
	if (n < 1 || n > 128 ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       n;
}

/*
 * Image Env, then -e overrides by key. The launcher adds what docker adds when it is missing
 * (PATH, HOSTNAME, HOME from the user's passwd entry).
 */
char **ctr_build_env(char *const *image_env, char *const *overrides)
{
	char **env = NULL;
	size_t i, j;

	for (i = 0; image_env && image_env[i]; i++)
		lc_strv_push(&env, image_env[i]);
	for (i = 0; overrides && overrides[i]; i++) {
		const char *o = overrides[i];
		size_t klen = strcspn(o, "=");
		cleanup_free char *kv = NULL;

		if (!o[klen]) {
			/* "-e KEY": take our own value, skip if unset (docker) */
			const char *v = getenv(o);

			if (!v)
				continue;
			kv = lc_xasprintf("%s=%s", o, v);
		} else {
			kv = lc_xstrdup(o);
		}
		for (j = 0; env && env[j]; j++)
			if (!strncmp(env[j], kv, klen + 1))
				break;
		if (env && env[j]) {
			free(env[j]);
			env[j] = TAKE_PTR(kv);
		} else {
			lc_strv_push(&env, kv);
		}
	}
	return env ? env : lc_xcalloc(1, sizeof(char *));
}
