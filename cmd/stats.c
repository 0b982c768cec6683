/* SPDX-License-Identifier: MIT */
/*
 * stats: what running containers use, like `docker stats`: CPU % over the last interval,
 * memory usage against its limit, network and block I/O, pids; from each container's cgroup
 * (v1, hybrid or v2), or, for one run without limits (no cgroup of its own), added up from
 * its processes in /proc (CPU time and resident memory of those alive; no block I/O).
 */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"

static const char stats_usage[] =
	"Usage:  layerctl stats [OPTIONS] [CONTAINER...]\n"
	"\n"
	"Display a live stream of container(s) resource usage statistics (running ones, or\n"
	"those named), redrawn every second; read from each one's cgroup.\n"
	"\n"
	"Options:\n"
	"  -a, --all             show all containers (default shows just running)\n"
	"      --format string   'table' (default), 'json', 'table TEMPLATE' or a Go template\n"
	"                        ({{.Name}}, {{.ID}}, {{.CPUPerc}}, {{.MemUsage}}, {{.MemPerc}},\n"
	"                        {{.NetIO}}, {{.BlockIO}}, {{.PIDs}})\n"
	"      --no-stream       print one sample and exit\n"
	"      --no-trunc        don't truncate output\n"
	"  -h, --help            print this help\n";

struct sample {
	char *id, *name;
	bool running;
	bool has_cg;
	int64_t cpu_ns, mem, mem_limit, pids, blk_r, blk_w;
	uint64_t rx, tx;
	bool net;
	struct timespec at;
};

static int64_t host_mem_total(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return pages > 0 && psz > 0 ? (int64_t)pages * psz : -1;
}

static void sample_take(struct lc_store *s, const char *id, struct sample *x)
{
	struct ctr_state st;
	struct lc_cgroup_usage u = { 0 };
	struct lc_err *e = NULL;

	x->cpu_ns = x->mem = x->pids = x->blk_r = x->blk_w = -1;
	x->mem_limit = -1;
	x->net = false;
	clock_gettime(CLOCK_MONOTONIC, &x->at);
	if (ctr_state_read(s, id, &st, &e) < 0 || !ctr_running(&st)) {
		lc_err_free(e);
		x->running = false;
		return;
	}
	x->running = true;
	if (lc_cgroup_usage_read(st.pid, id, &u, &e) == 0 && u.path) {
		x->has_cg = true;
		x->cpu_ns = u.cpu_ns;
		x->mem = u.mem_usage;
		x->mem_limit = u.mem_limit;
		x->pids = u.pids;
		x->blk_r = u.blk_read;
		x->blk_w = u.blk_write;
	}
	lc_err_free(e);
	e = NULL;
	lc_cgroup_usage_clear(&u);
	/* what the cgroup does not say (none of its own, no cpuacct): its processes' sum */
	if (x->cpu_ns < 0 || x->mem < 0 || x->pids < 0) {
		struct lc_proc *p = NULL;
		size_t n = 0;
		long hz = sysconf(_SC_CLK_TCK), psz = sysconf(_SC_PAGESIZE);

		if (lc_ns_procs(st.pid, &p, &n, &e) == 0) {
			int64_t cpu = 0, mem = 0;

			for (size_t i = 0; i < n; i++) {
				cpu += (int64_t)(p[i].cpu_ticks * 1000000000ULL /
						 (unsigned long long)(hz > 0 ? hz : 100));
				mem += (int64_t)p[i].rss_pages * (psz > 0 ? psz : 4096);
			}
			if (x->cpu_ns < 0)
				x->cpu_ns = cpu;
			if (x->mem < 0)
				x->mem = mem;
			if (x->pids < 0)
				x->pids = (int64_t)n;
		}
		lc_err_free(e);
		e = NULL;
		lc_procs_free(p, n);
	}
	if (x->mem_limit < 0)
		x->mem_limit = host_mem_total();
	if (lc_net_bytes(st.pid, &x->rx, &x->tx, &e) == 0)
		x->net = true;
	lc_err_free(e);
}

/* docker's row for one container, as JSON (docker stats --format json's keys) */
static json_t *row_json(const struct sample *a, const struct sample *b, bool notrunc)
{
	char cpu[32] = "--", memu[80] = "-- / --", memp[32] = "--", net[80] = "--", blk[80] = "--",
	     pids[32] = "--", idbuf[65];
	char x1[32], x2[32];

	snprintf(idbuf, sizeof(idbuf), notrunc ? "%s" : "%.12s", b->id);
	if (b->running) {
		double wall = (double)(b->at.tv_sec - a->at.tv_sec) * 1e9 +
			      (double)(b->at.tv_nsec - a->at.tv_nsec);

		if (a->running && wall > 0 && a->cpu_ns >= 0 && b->cpu_ns >= a->cpu_ns)
			snprintf(cpu, sizeof(cpu), "%.2f%%",
				 (double)(b->cpu_ns - a->cpu_ns) / wall * 100);
		else
			snprintf(cpu, sizeof(cpu), "0.00%%");
		if (b->mem >= 0) {
			lc_human_size_binary((uint64_t)b->mem, x1, sizeof(x1));
			lc_human_size_binary((uint64_t)(b->mem_limit > 0 ? b->mem_limit : 0), x2,
					     sizeof(x2));
			snprintf(memu, sizeof(memu), "%s / %s", x1, x2);
			snprintf(memp, sizeof(memp), "%.2f%%",
				 b->mem_limit > 0 ? (double)b->mem / (double)b->mem_limit * 100
						  : 0.0);
		}
		if (b->net) {
			lc_human_size(b->rx, x1, sizeof(x1));
			lc_human_size(b->tx, x2, sizeof(x2));
			snprintf(net, sizeof(net), "%s / %s", x1, x2);
		}
		if (b->blk_r >= 0) {
			lc_human_size((uint64_t)b->blk_r, x1, sizeof(x1));
			lc_human_size((uint64_t)b->blk_w, x2, sizeof(x2));
			snprintf(blk, sizeof(blk), "%s / %s", x1, x2);
		}
		if (b->pids >= 0)
			snprintf(pids, sizeof(pids), "%lld", (long long)b->pids);
	} else {
		snprintf(cpu, sizeof(cpu), "0.00%%");
		snprintf(memu, sizeof(memu), "0B / 0B");
		snprintf(memp, sizeof(memp), "0.00%%");
		snprintf(net, sizeof(net), "0B / 0B");
		snprintf(blk, sizeof(blk), "0B / 0B");
		snprintf(pids, sizeof(pids), "0");
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", blk, "CPUPerc",
			 cpu, "Container", idbuf, "ID", idbuf, "MemPerc", memp, "MemUsage", memu,
			 "Name", b->name, "NetIO", net, "PIDs", pids);
}

static volatile sig_atomic_t stop;
static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

static void ms_sleep(int ms)
{
	poll(NULL, 0, ms);
}

int cmd_stats(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },	 { "format", required_argument, NULL, 'f' },
		{ "no-stream", no_argument, NULL, 'n' }, { "no-trunc", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },	 { NULL, 0, NULL, 0 },
	};
	struct cmd_format fmt = { .kind = CMD_FORMAT_TABLE };
	bool all = false, no_stream = false, notrunc = false, tty = isatty(1);
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	struct sample *prev = NULL, *cur = NULL;
	cleanup_strv char **ids = NULL;
	size_t n = 0;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, ":ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'f':
			if (cmd_format_parse(optarg, &fmt, stats_usage) != 0)
				return EXIT_ERR;
			break;
		case 'n':
			no_stream = true;
			break;
		case 't':
			notrunc = true;
			break;
		case 'h':
			fputs(stats_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(stats_usage, argv, c);
		}
	}
	if (cmd_store_open(g, &s, &err) < 0)
		return cmd_report(err, EXIT_ERR);
	ids = lc_xcalloc(1, sizeof(char *));
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			cleanup_free char *id = NULL;

			if (ctr_find(s, argv[i], &id, &err) < 0) {
				lc_strv_free(TAKE_PTR(ids));
				lc_store_close(s);
				return cmd_report(err, EXIT_ERR);
			}
			lc_strv_push(&ids, id);
		}
	} else {
		cleanup_strv char **list = NULL;

		if (lc_store_container_list(s, &list, &err) < 0) {
			lc_store_close(s);
			return cmd_report(err, EXIT_ERR);
		}
		for (size_t i = 0; list[i]; i++) {
			struct ctr_state st;
			struct lc_err *e = NULL;

			if (ctr_state_read(s, list[i], &st, &e) < 0) {
				lc_err_free(e);
				continue;
			}
			if (all || ctr_running(&st))
				lc_strv_push(&ids, list[i]);
		}
	}
	n = lc_strv_len(ids);
	prev = lc_xcalloc(n ? n : 1, sizeof(*prev));
	cur = lc_xcalloc(n ? n : 1, sizeof(*cur));
	for (size_t i = 0; i < n; i++) {
		struct lc_container_config *cc = NULL;
		struct lc_err *e = NULL;

		prev[i].id = cur[i].id = ids[i];
		if (lc_store_container_config_read(s, ids[i], &cc, &e) == 0 && cc->name &&
		    *cc->name)
			prev[i].name = lc_xstrdup(cc->name);
		else
			prev[i].name = lc_xasprintf("%.12s", ids[i]);
		cur[i].name = prev[i].name;
		lc_err_free(e);
		lc_container_config_free(cc);
		sample_take(s, ids[i], &prev[i]);
	}
	if (!no_stream) {
		struct sigaction sa = { .sa_handler = on_int };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	/* CPU % is a rate: a first interval before the first figures */
	for (int round = 0; !stop; round++) {
		json_t **rows = lc_xcalloc(n ? n : 1, sizeof(*rows));

		ms_sleep(round == 0 && no_stream ? 500 : 1000);
		if (stop) {
			free(rows);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			sample_take(s, ids[i], &cur[i]);
			rows[i] = row_json(&prev[i], &cur[i], notrunc);
			prev[i].cpu_ns = cur[i].cpu_ns;
			prev[i].at = cur[i].at;
			prev[i].running = cur[i].running;
		}
		if (!no_stream && tty && fmt.kind != CMD_FORMAT_JSON)
			fputs("\033[2J\033[H", stdout); /* docker redraws the screen */
		if (fmt.kind == CMD_FORMAT_JSON) {
			for (size_t i = 0; i < n; i++) {
				cleanup_free char *line = json_dumps(rows[i], JSON_COMPACT);

				printf("%s\n", line);
			}
		} else {
			struct cmd_format f = fmt;

			if (f.kind == CMD_FORMAT_TABLE) {
				f.table = true;
				f.tmpl = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t"
					 "{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
			}
			if (cmd_format_rows(&f, rows, n, stdout, &err) < 0) {
				rc = cmd_report(err, EXIT_ERR);
				stop = 1;
			}
		}
		fflush(stdout);
		for (size_t i = 0; i < n; i++)
			json_decref(rows[i]);
		free(rows);
		if (no_stream)
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(prev[i].name);
	free(prev);
	free(cur);
	lc_store_close(s);
	return rc;
}
