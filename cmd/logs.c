/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static const char logs_usage[] =
	"Usage:  layerctl logs [OPTIONS] CONTAINER\n"
	"\n"
	"Fetch the output of a detached container (its stdout on stdout, its stderr on stderr).\n"
	"\n"
	"Options:\n"
	"  -f, --follow         follow log output until the container exits\n"
	"  -n, --tail string    number of lines to show from the end of the logs (default "
	"\"all\")\n"
	"  -t, --timestamps     show timestamps\n"
	"  -h, --help           print this help\n";

struct logs_opts {
	bool follow, timestamps;
	long tail; /* -1: all */
};

/*
 * One record of the log, "<time> <stream> <F|P> <text>" (CRI's format): text to stdout or
 * stderr; a P record is the start of a line that the next records finish.
 */
static void put_record(const char *rec, size_t len, const struct logs_opts *o, bool *mid_line)
{
	const char *sp1 = memchr(rec, ' ', len), *sp2, *sp3;
	FILE *out;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - rec))) ||
	    !(sp3 = memchr(sp2 + 1, ' ', len - (size_t)(sp2 + 1 - rec))))
		return;
	out = !strncmp(sp1 + 1, "stderr ", 7) ? stderr : stdout;
	if (o->timestamps && !*mid_line)
		fprintf(out, "%.*s ", (int)(sp1 - rec), rec);
	if (sp2[1] == 'P') {
		fwrite(sp3 + 1, 1, len - (size_t)(sp3 + 1 - rec), out);
		*mid_line = true;
	} else {
		fwrite(sp3 + 1, 1, len - (size_t)(sp3 + 1 - rec), out);
		fputc('\n', out);
		*mid_line = false;
	}
	fflush(out);
}

/* The records of buf (complete lines only); returns how many bytes were used. */
static size_t put_records(const char *buf, size_t len, const struct logs_opts *o, long skip,
			  bool *mid_line)
{
	size_t used = 0;

	while (used < len) {
		const char *nl = memchr(buf + used, '\n', len - used);

		if (!nl)
			break;
		if (skip > 0)
			skip--;
		else
			put_record(buf + used, (size_t)(nl - (buf + used)), o, mid_line);
		used = (size_t)(nl - buf) + 1;
	}
	return used;
}

/*
 * The log's records from fd's offset on, the first skip of them left out; with o->follow,
 * until the container exited (its monitor writes the log before the state says so).
 */
static int copy_log(struct lc_store *s, const char *id, int fd, const struct logs_opts *o,
		    long skip, struct lc_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0, cap = 1 << 16;
	bool mid = false;

	buf = lc_xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);
		size_t used;

		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) {
			len += (size_t)r;
			used = put_records(buf, len, o, skip, &mid);
			for (const char *p = buf; p < buf + used; p++)
				if (*p == '\n' && skip > 0)
					skip--;
			memmove(buf, buf + used, len - used);
			len -= used;
			if (len == cap) /* a record longer than the buffer: cannot be ours */
				len = 0;
			continue;
		}
		if (!o->follow)
			break;
		{
			struct ctr_state st;

			if (ctr_state_read(s, id, &st, err) < 0)
				return -1;
			/* the monitor writes the log before the state says exited */
			if (!ctr_running(&st) && strcmp(st.status, "created") != 0) {
				r = read(fd, buf + len, cap - len);
				if (r > 0) {
					len += (size_t)r;
					continue;
				}
				break;
			}
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	return 0;
}

int ctr_log_follow(struct lc_store *s, const char *id, int fd, struct lc_err **err)
{
	return copy_log(s, id, fd, &(struct logs_opts){ .follow = true, .tail = -1 }, 0, err);
}

int cmd_logs(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct logs_opts o = { .tail = -1 };
	cleanup_free char *id = NULL;
	cleanup_close int fd = -1;
	struct lc_err *err = NULL;
	struct lc_store *s = NULL;
	long skip = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, ":fn:th", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.follow = true;
			break;
		case 't':
			o.timestamps = true;
			break;
		case 'n': {
			char *end;

			if (!strcmp(optarg, "all"))
				break;
			o.tail = strtol(optarg, &end, 10);
			if (*end || !*optarg || o.tail < 0)
				return cmd_usage_error(logs_usage, "invalid --tail '%s'", optarg);
			break;
		}
		case 'h':
			fputs(logs_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(logs_usage, argv, c);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error(logs_usage, "'layerctl logs' requires exactly 1 argument");
	if (cmd_store_open(g, &s, &err) < 0 || ctr_find(s, argv[optind], &id, &err) < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	fd = lc_store_container_log_open(s, id, false, &err);
	if (fd < 0 && err->code == LC_ERR_NOTFOUND) {
		/* a container run in the foreground has no log: its output went to the caller */
		lc_err_free(err);
		lc_store_close(s);
		return EXIT_OK;
	}
	if (fd < 0) {
		lc_store_close(s);
		return cmd_report(err, EXIT_ERR);
	}
	if (o.tail >= 0) {
		/* count the records first: the log is read twice, never held whole */
		cleanup_free char *buf = lc_xmalloc(1 << 16);
		long n = 0;
		ssize_t got;

		while ((got = read(fd, buf, 1 << 16)) > 0)
			for (ssize_t i = 0; i < got; i++)
				n += buf[i] == '\n';
		skip = n > o.tail ? n - o.tail : 0;
		lseek(fd, 0, SEEK_SET);
	}
	r = copy_log(s, id, fd, &o, skip, &err);
	lc_store_close(s);
	return r < 0 ? cmd_report(err, EXIT_ERR) : EXIT_OK;
}
