/* SPDX-License-Identifier: MIT */
/*
 * top: a running container's processes like `docker top`, with the pid each one has inside
 * the container next to the pid the host knows it by: the pid namespace made visible.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static const char top_usage[] =
	"Usage:  layerctl top CONTAINER [ps OPTIONS]\n"
	"\n"
	"Display the running processes of a container: UID, PID (on the host),\n"
	"CONTAINER PID (what the process sees as its own pid), PPID, C, STIME,\n"
	"TTY, TIME and CMD, like 'docker top' (which shows no CONTAINER PID).\n"
	"With ps OPTIONS, as docker: the host's ps(1) runs with them and only the\n"
	"lines of the container's processes are kept (its output needs a PID column).\n"
	"\n"
	"Options:\n"
	"  -h, --help   print this help\n";

static int by_pid(const void *a, const void *b)
{
	const struct lc_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* seconds since boot, from /proc/uptime */
static double uptime_s(void)
{
	cleanup_free char *t = NULL;
	struct lc_err *e = NULL;

	if (lc_read_file_at(AT_FDCWD, "/proc/uptime", 256, &t, NULL, &e) < 0) {
		lc_err_free(e);
		return 0;
	}
	return strtod(t, NULL);
}

/* the largest ps output read: the host's whole process list, with long command lines */
#define MAX_PS_OUTPUT (16u << 20)

/* run ps(1) with args (argv[0] is "ps"), its stdout in *ret (NUL-terminated) */
static int ps_run(char **args, char **ret, struct lc_err **err)
{
	cleanup_close int rd = -1;
	cleanup_free char *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return lc_err_set(err, LC_ERR_SYS, errno, "fork");
	}
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp("ps", args);
		fprintf(stderr, "layerctl: top: cannot run ps: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[1]);
	rd = p[0];
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = lc_xrealloc(buf, cap + 1);
		}
		r = read(rd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len > MAX_PS_OUTPUT) {
			kill(pid, SIGKILL);
			break;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (len > MAX_PS_OUTPUT)
		return lc_err_set(err, LC_ERR_LIMIT, 0, "ps printed more than %u bytes",
				  MAX_PS_OUTPUT);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "ps %s",
				  WIFEXITED(status) ? "failed (its message is above)"
						    : "was killed by a signal");
	buf[len] = '\0';
	*ret = buf;
	buf = NULL;
	return 0;
}

/* the index of the word "PID" in ps's header, or -1 */
static int ps_pid_column(const char *header)
{
	int i = 0;

	for (const char *p = header;;) {
		size_t w;

		p += strspn(p, " \t");
		w = strcspn(p, " \t");
		if (!w)
			return -1;
		if (w == 3 && !strncmp(p, "PID", 3))
			return i;
		p += w;
		i++;
	}
}

/* word col of line as a pid, or 0 */
static pid_t ps_pid_at(const char *line, int col)
{
	const char *p = line;
	char *end;
	long v;

	for (int i = 0;; i++) {
		size_t w;

		p += strspn(p, " \t");
		w = strcspn(p, " \t");
		if (!w)
			return 0;
		if (i == col) {
			v = strtol(p, &end, 10);
			return end == p + w && v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
		}
		p += w;
	}
}

/*
 * docker top's ps OPTIONS: ps over the whole host, then only the lines whose PID column
 * names one of the container's processes (its header first).
 */
static int top_ps(char **opts, int n_opts, const struct lc_proc *procs, size_t n,
		  struct lc_err **err)
{
	cleanup_free char **args = lc_xcalloc((size_t)n_opts + 2, sizeof(*args));
	cleanup_free char *out = NULL;
	char *line, *next;
	int col;

	args[0] = (char *)"ps";
	for (int i = 0; i < n_opts; i++)
		args[i + 1] = opts[i];
	if (ps_run(args, &out, err) < 0)
		return -1;
	next = strchr(out, '\n');
	if (next)
		*next++ = '\0';
	col = ps_pid_column(out);
	if (col < 0)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "couldn't find PID field in ps output (ps options need one)");
	printf("%s\n", out);
	for (line = next; line && *line; line = next) {
		pid_t pid;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		pid = ps_pid_at(line, col);
		for (size_t i = 0; pid && i < n; i++) {
			if (procs[i].pid == pid) {
				cleanup_free char *safe = lc_escape_ctl(line);

				printf("%s\n", safe);
				break;
			}
		}
	}
	return 0;
}

int cmd_top(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	cleanup_free char *id = NULL;
	struct lc_proc *procs = NULL;
	struct cmd_table *t;
	struct ctr_state st;
	size_t n = 0;
	long hz = sysconf(_SC_CLK_TCK);
	double up = uptime_s();
	time_t now = time(NULL);
	int c;

	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(top_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(top_usage, argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error(top_usage, "'layerctl top' requires at least 1 argument");
	if (hz <= 0)
		hz = 100;
	if (cmd_store_open(g, &s, &err) < 0 || ctr_find(s, argv[optind], &id, &err) < 0 ||
	    ctr_state_read(s, id, &st, &err) < 0)
		goto fail;
	if (!ctr_running(&st)) {
		lc_err_set(&err, LC_ERR_INVALID, 0, "container %s is not running", argv[optind]);
		goto fail;
	}
	if (lc_ns_procs(st.pid, &procs, &n, &err) < 0)
		goto fail;
	if (optind + 1 < argc) {
		int r = top_ps(argv + optind + 1, argc - optind - 1, procs, n, &err);

		lc_procs_free(procs, n);
		if (r < 0)
			goto fail;
		lc_store_close(s);
		return EXIT_OK;
	}
	qsort(procs, n, sizeof(*procs), by_pid);
	t = cmd_table_new(9);
	cmd_table_add(t, (const char *const[]){ "UID", "PID", "CONTAINER PID", "PPID", "C", "STIME",
						"TTY", "TIME", "CMD" });
	for (size_t i = 0; i < n; i++) {
		const struct lc_proc *p = &procs[i];
		struct passwd *pw = getpwuid(p->uid);
		char uid[32], pid[16], cpid[16], ppid[16], cpu[16], stime[16], tty[32], tm[32];
		double age = up - (double)p->start_ticks / (double)hz;
		unsigned long long secs = p->cpu_ticks / (unsigned long long)hz;
		time_t started = now - (time_t)(age > 0 ? age : 0);
		struct tm lt;
		cleanup_free char *cmd = lc_escape_ctl(p->cmd);

		snprintf(uid, sizeof(uid), "%s", pw ? pw->pw_name : "");
		if (!pw)
			snprintf(uid, sizeof(uid), "%u", (unsigned)p->uid);
		snprintf(pid, sizeof(pid), "%d", (int)p->pid);
		snprintf(cpid, sizeof(cpid), "%d", (int)p->ns_pid);
		snprintf(ppid, sizeof(ppid), "%d", (int)p->ppid);
		/* ps's C: CPU time over lifetime, in percent */
		snprintf(cpu, sizeof(cpu), "%d",
			 age > 0 ? (int)((double)p->cpu_ticks / (double)hz * 100 / age) : 0);
		localtime_r(&started, &lt);
		strftime(stime, sizeof(stime), now - started < 86400 ? "%H:%M" : "%b%d", &lt);
		if (p->tty_nr && major((dev_t)p->tty_nr) == 136)
			snprintf(tty, sizeof(tty), "pts/%u", minor((dev_t)p->tty_nr));
		else
			snprintf(tty, sizeof(tty), "?");
		snprintf(tm, sizeof(tm), "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60,
			 secs % 60);
		cmd_table_add(
			t, (const char *const[]){ uid, pid, cpid, ppid, cpu, stime, tty, tm, cmd });
	}
	cmd_table_print(t, stdout);
	cmd_table_free(t);
	lc_procs_free(procs, n);
	lc_store_close(s);
	return EXIT_OK;
fail:
	lc_store_close(s);
	return cmd_report(err, EXIT_ERR);
}
