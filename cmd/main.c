/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>

#include "cmd.h"

#define LAYERCTL_VERSION "0.1.0"

static const char main_usage[] =
	"Usage:  layerctl [OPTIONS] COMMAND\n"
	"\n"
	"Pull OCI images into a content-addressable store and run them with overlayfs and\n"
	"namespaces. No daemon.\n"
	"\n"
	"Options:\n"
	"      --root DIR   store location (default $LAYERCTL_ROOT, else /var/lib/layerctl)\n"
	"      --debug      accepted, as docker's; errors are one full line either way\n"
	"      --trace      print each kernel-level step on stderr (namespaces, mounts, cgroup\n"
	"                   writes, capabilities, seccomp, execve; a pull's HTTP requests and\n"
	"                   layers; a run's phases with their times), also with\n"
	"                   LAYERCTL_TRACE=1\n"
	"  -h, --help       print this help\n"
	"  -v, --version    print the version\n"
	"\n"
	"Commands:\n"
	"  pull      Download an image from a registry\n"
	"  images    List images\n"
	"  run       Create and run a container from an image\n"
	"  exec      Run a command in a running container\n"
	"  cp        Copy files between a container and the local filesystem\n"
	"  top       Display the running processes of a container, with their pids inside\n"
	"  stats     Display a live stream of containers' resource usage\n"
	"  diff      Inspect changes to files or directories on a container's filesystem\n"
	"  ps        List containers\n"
	"  logs      Fetch the logs of a detached container\n"
	"  start     Start stopped containers again\n"
	"  restart   Restart containers\n"
	"  stop      Stop running containers\n"
	"  kill      Kill running containers\n"
	"  wait      Wait for containers to stop and print their exit codes\n"
	"  rm        Remove containers\n"
	"  volume    Manage named volumes (create, ls, rm)\n"
	"  du        Show the store's disk usage (also 'system df')\n"
	"  gc        Remove blobs and layers that nothing needs\n"
	"  history   Show the history of an image\n"
	"  image     Manage images (ls, rm, tag, inspect, history, prune)\n"
	"  inspect   Display detailed information on containers and images\n"
	"  mount     Mount an image's tree read-only on a directory\n"
	"  rmi       Remove one or more images\n"
	"  save      Save images to a tar archive (docker-archive or oci-archive)\n"
	"  load      Load images from a tar archive or STDIN\n"
	"  system    Manage the store (df, prune)\n"
	"  tag       Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n"
	"  login     Log in to a registry\n"
	"  logout    Log out from a registry\n"
	"  unmount   Unmount an image mounted with 'mount'\n"
	"  verify    Check the store (blobs, layers file by file, images)\n"
	"  completion  Print a bash completion script ('completion bash')\n"
	"\n"
	"Run 'layerctl COMMAND --help' or 'layerctl help COMMAND' for more information on a\n"
	"command, 'layerctl help limits' for the bounds on what layerctl reads.\n";

int cmd_report(struct lc_err *err, int code)
{
	/* messages quote references, registry answers and file names: one line, no escapes */
	cleanup_free char *msg = lc_escape_ctl(err && err->msg ? err->msg : "unknown error");

	fprintf(stderr, "layerctl: %s\n", msg);
	lc_err_free(err);
	return code;
}

/* "Usage:  layerctl image prune [OPTIONS]\n..." -> "image prune" ("" for layerctl's own):
 * the words in lower case after "layerctl"; OPTIONS, IMAGE or [ start the arguments */
static char *usage_verb(const char *usage)
{
	const char *p = strstr(usage, "layerctl");
	const char *end;

	p = p ? p + strlen("layerctl") : usage;
	end = p;
	while (*end == ' ' && end[1] >= 'a' && end[1] <= 'z') {
		end++;
		while ((*end >= 'a' && *end <= 'z') || *end == '-')
			end++;
	}
	while (*p == ' ')
		p++;
	return lc_xstrndup(p, end > p ? (size_t)(end - p) : 0);
}

/*
 * docker 28's shape: the error, the verb's usage line, where to read more. "See" after an
 * argument error, "Run" after a flag error, as docker words them.
 */
static void usage_print(const char *usage, const char *see, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void usage_print(const char *usage, const char *see, const char *fmt, va_list ap)
{
	cleanup_free char *raw = NULL;
	cleanup_free char *msg = NULL;
	cleanup_free char *verb = usage_verb(usage);
	size_t line = strcspn(usage, "\n");

	if (vasprintf(&raw, fmt, ap) < 0)
		abort();
	msg = lc_escape_ctl(raw);
	fprintf(stderr, "layerctl: %s\n\n%.*s\n\n%s 'layerctl%s%s --help' for more information\n",
		msg, (int)line, usage, see, *verb ? " " : "", verb);
}

int cmd_unknown_command(const char *group, const char *name)
{
	cleanup_free char *what = lc_escape_ctl(name);

	fprintf(stderr,
		"layerctl: unknown command: layerctl%s%s %s\n\nRun 'layerctl%s%s --help' for more "
		"information\n",
		*group ? " " : "", group, what, *group ? " " : "", group);
	return EXIT_ERR;
}

int cmd_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_print(usage, "See", fmt, ap);
	va_end(ap);
	return EXIT_ERR;
}

int cmd_flag_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_print(usage, "Run", fmt, ap);
	va_end(ap);
	return EXIT_FLAG;
}

int cmd_bad_flag(const char *usage, char *const *argv, int c)
{
	/* getopt stays quiet (a leading ':' in the option string); pflag's words */
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (!strncmp(arg, "--", 2)) {
		int n = (int)strcspn(arg, "=");

		if (c == ':')
			return cmd_flag_error(usage, "flag needs an argument: %.*s", n, arg);
		return cmd_flag_error(usage, "unknown flag: %.*s", n, arg);
	}
	if (c == ':')
		return cmd_flag_error(usage, "flag needs an argument: '%c' in -%c", optopt, optopt);
	return cmd_flag_error(usage, "unknown shorthand flag: '%c' in %s", optopt, arg);
}

/* Rootless: the store we joined the user namespace of (the default root is root's inside). */
static char *rootless_root;

int cmd_store_open(const struct lc_global *g, struct lc_store **ret, struct lc_err **err)
{
	cleanup_free char *def = NULL;
	const char *root = g->root ? g->root : rootless_root;

	if (!root)
		root = def = lc_store_default_root();
	if (!root)
		return lc_err_set(
			err, LC_ERR_INVALID, 0,
			"no store: set HOME, XDG_DATA_HOME or LAYERCTL_ROOT, or give --root");
	/* a user without root: into the user namespace of this store's rootless layerctl */
	if (geteuid() != 0 && !rootless_root) {
		cleanup_free char *abs = NULL;

		if (lc_store_vouch(root, &abs, err) < 0)
			return lc_err_prefix(err, "store '%s'", root);
		if (lc_rootless_enter(abs, err) < 0)
			return -1;
		rootless_root = TAKE_PTR(abs);
		root = rootless_root;
	}
	if (lc_store_open(root, ret, err) < 0)
		return lc_err_prefix(err, "store '%s'", root);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv, const struct lc_global *g);
} verbs[] = {
	{ "pull", cmd_pull },
	{ "images", cmd_images },
	{ "run", cmd_run },
	{ "du", cmd_du },
	{ "system", cmd_system },
	{ "login", cmd_login },
	{ "logout", cmd_logout },
	{ "ps", cmd_ps },
	{ "logs", cmd_logs },
	{ "stop", cmd_stop },
	{ "kill", cmd_kill },
	{ "rm", cmd_rm },
	{ "wait", cmd_wait },
	{ "exec", cmd_exec },
	{ "volume", cmd_volume },
	{ "image", cmd_image },
	{ "rmi", cmd_rmi },
	{ "tag", cmd_tag },
	{ "gc", cmd_gc },
	{ "inspect", cmd_inspect },
	{ "history", cmd_history },
	{ "mount", cmd_mount },
	{ "unmount", cmd_unmount },
	{ "verify", cmd_verify },
	{ "save", cmd_save }, /* save.c: images to a tar */
	{ "load", cmd_load }, /* load.c: and back */
	{ "start", cmd_start },
	{ "restart", cmd_restart },
	{ "cp", cmd_cp },
	{ "top", cmd_top },
	{ "diff", cmd_diff },
	{ "stats", cmd_stats },
	{ "completion", cmd_completion },
};

char *cmd_verb_names(void)
{
	char *out = lc_xstrdup("help version");

	for (size_t i = 0; i < LC_ARRAY_SIZE(verbs); i++) {
		char *next = lc_xasprintf("%s %s", out, verbs[i].name);

		free(out);
		out = next;
	}
	return out;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "debug", no_argument, NULL, 'D' },
		{ "trace", no_argument, NULL, 'T' },	  { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },	  { NULL, 0, NULL, 0 },
	};
	struct lc_global g = { 0 };
	const char *trace_env = getenv("LAYERCTL_TRACE");
	bool trace = trace_env && *trace_env && strcmp(trace_env, "0") != 0;
	int c;
	size_t i;

	/* "+": stop at the verb, its options are its own */
	while ((c = getopt_long(argc, argv, "+:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			g.root = optarg;
			break;
		case 'D': /* docker's flag: scripts pass it; nothing more to print */
			break;
		case 'T':
			trace = true;
			break;
		case 'h':
			fputs(main_usage, stdout);
			return EXIT_OK;
		case 'v':
			printf("layerctl version %s\n", LAYERCTL_VERSION);
			return EXIT_OK;
		default:
			return cmd_bad_flag(main_usage, argv, c);
		}
	}
	if (trace)
		lc_trace_open(2);
	if (optind >= argc) { /* docker's: the help, status 0 */
		fputs(main_usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 < argc && !strcmp(argv[optind + 1], "limits")) {
			cmd_help_limits(stdout);
			return EXIT_OK;
		}
		/* help VERB: the verb's own --help */
		for (i = 0; optind + 1 < argc && i < LC_ARRAY_SIZE(verbs); i++) {
			if (!strcmp(argv[optind + 1], verbs[i].name)) {
				char *hargv[] = { argv[optind + 1], (char *)"--help", NULL };

				optind = 0;
				return verbs[i].fn(2, hargv, &g);
			}
		}
		if (optind + 1 < argc) {
			cleanup_free char *topic = lc_escape_ctl(argv[optind + 1]);

			fprintf(stderr, "layerctl: unknown help topic: %s (a command, or limits)\n",
				topic);
			return EXIT_ERR;
		}
		fputs(main_usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[optind], "version")) {
		printf("layerctl version %s\n", LAYERCTL_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < LC_ARRAY_SIZE(verbs); i++) {
		if (!strcmp(argv[optind], verbs[i].name)) {
			/* the verb sees argv[0] = its own name, getopt restarted */
			int vargc = argc - optind;
			char **vargv = argv + optind;

			optind = 0;
			return verbs[i].fn(vargc, vargv, &g);
		}
	}
	return cmd_unknown_command("", argv[optind]);
}
