/* SPDX-License-Identifier: MIT */
/*
 * top: a running container's processes like `docker top`, with the pid each one has inside
 * the container next to the pid the host knows it by: the pid namespace made visible.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static const char top_usage[] =
	"Usage:  layerctl top CONTAINER\n"
	"\n"
	"Display the running processes of a container: UID, PID (on the host),\n"
	"CONTAINER PID (what the process sees as its own pid), PPID, C, STIME,\n"
	"TTY, TIME and CMD, like 'docker top' (which shows no CONTAINER PID).\n"
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
			return cmd_bad_flag("top", argv, c);
		}
	}
	if (optind >= argc)
		return cmd_usage_error("top", "\"top\" requires at least 1 argument");
	if (optind + 1 < argc)
		return cmd_usage_error("top", "ps options are not supported: layerctl reads /proc");
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
