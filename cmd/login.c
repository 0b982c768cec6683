/* SPDX-License-Identifier: MIT */
/* login and logout: docker's verbs, the same config.json and credential helpers. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <strings.h>
#include <termios.h>

#include "cmd.h"

#define MAX_SECRET 4096

static const char login_usage[] =
	"Usage:  layerctl login [OPTIONS] [SERVER]\n"
	"\n"
	"Log in to a registry. The credentials are checked against the registry first, then\n"
	"stored as docker stores them: in the credential helper that config.json names\n"
	"(credHelpers, credsStore), else in its \"auths\" (mode 0600). If no server is given,\n"
	"Docker Hub.\n"
	"\n"
	"Options:\n"
	"  -u, --username string   username\n"
	"  -p, --password string   password (prefer --password-stdin)\n"
	"      --password-stdin    take the password from stdin\n"
	"  -h, --help              print this help\n";

static const char logout_usage[] =
	"Usage:  layerctl logout [SERVER]\n"
	"\n"
	"Log out from a registry: remove its stored credentials. If no server is given, Docker "
	"Hub.\n"
	"\n"
	"Options:\n"
	"  -h, --help   print this help\n";

/* "https://reg.example.com/v1/" -> "reg.example.com"; no server or Docker Hub's -> docker.io */
static char *server_domain(const char *arg)
{
	const char *p = arg ? arg : "docker.io";
	char *d;

	if (!strncasecmp(p, "https://", 8))
		p += 8;
	else if (!strncasecmp(p, "http://", 7))
		p += 7;
	d = lc_xstrndup(p, strcspn(p, "/"));
	for (char *c = d; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!strcmp(d, "index.docker.io") || !strcmp(d, "registry-1.docker.io")) {
		free(d);
		d = lc_xstrdup("docker.io");
	}
	return d;
}

/* One line from f without its line end, at most MAX_SECRET bytes; NULL at EOF. */
static char *read_line(FILE *f)
{
	char *buf = lc_xmalloc(MAX_SECRET + 2);

	if (!fgets(buf, MAX_SECRET + 2, f)) {
		free(buf);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = 0;
	return buf;
}

/* Ask on the terminal, without echo when secret. NULL when there is no terminal. */
static char *prompt(const char *what, bool secret)
{
	cleanup_fclose FILE *tty = fopen("/dev/tty", "r+e");
	struct termios old, quiet;
	bool restore = false;
	char *line;

	if (!tty)
		return NULL;
	fprintf(tty, "%s: ", what);
	fflush(tty);
	if (secret && tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
	}
	line = read_line(tty);
	if (restore) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	return line;
}

int cmd_login(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cleanup_free char *user = NULL;
	cleanup_free char *password = NULL;
	cleanup_free char *domain = NULL;
	cleanup_free char *name = NULL;
	struct lc_err *err = NULL;
	bool from_stdin = false;
	int c;

	(void)g;
	while ((c = getopt_long(argc, argv, ":u:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			free(user);
			user = lc_xstrdup(optarg);
			break;
		case 'p':
			free(password);
			password = lc_xstrdup(optarg);
			break;
		case 'S':
			from_stdin = true;
			break;
		case 'h':
			fputs(login_usage, stdout);
			return EXIT_OK;
		default:
			return cmd_bad_flag(login_usage, argv, c);
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error(login_usage, "'layerctl login' requires at most 1 argument");
	if (from_stdin && password)
		return cmd_usage_error(login_usage, "--password and --password-stdin are mutually "
						    "exclusive");
	if (from_stdin && !user)
		return cmd_usage_error(login_usage,
				       "Must provide --username with --password-stdin");
	if (password && !from_stdin)
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use "
				"--password-stdin.\n");
	domain = server_domain(argc - optind == 1 ? argv[optind] : NULL);
	name = lc_fetch_server_name(domain);
	if (from_stdin) {
		password = read_line(stdin);
		if (!password)
			password = lc_xstrdup("");
	}
	if (!user && !(user = prompt("Username", false))) {
		lc_err_set(&err, LC_ERR_INVALID, 0,
			   "Cannot perform an interactive login from a non TTY device");
		return cmd_report(err, EXIT_ERR);
	}
	if (!password && !(password = prompt("Password", true))) {
		lc_err_set(&err, LC_ERR_INVALID, 0,
			   "Cannot perform an interactive login from a non TTY device");
		return cmd_report(err, EXIT_ERR);
	}
	if (lc_fetch_login(domain, false, user, password, &err) < 0) {
		lc_err_prefix(&err, "login '%s'", name);
		return cmd_report(err, EXIT_ERR);
	}
	printf("Login Succeeded\n");
	return EXIT_OK;
}

int cmd_logout(int argc, char **argv, const struct lc_global *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cleanup_free char *domain = NULL;
	cleanup_free char *name = NULL;
	struct lc_err *err = NULL;
	bool found = false;
	int c;

	(void)g;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(logout_usage, stdout);
			return EXIT_OK;
		}
		return cmd_bad_flag(logout_usage, argv, c);
	}
	if (argc - optind > 1)
		return cmd_usage_error(logout_usage,
				       "'layerctl logout' requires at most 1 argument");
	domain = server_domain(argc - optind == 1 ? argv[optind] : NULL);
	name = lc_fetch_server_name(domain);
	if (lc_fetch_logout(domain, &found, &err) < 0) {
		lc_err_prefix(&err, "logout '%s'", name);
		return cmd_report(err, EXIT_ERR);
	}
	if (found)
		printf("Removing login credentials for %s\n", name);
	else
		printf("Not logged in to %s\n", name);
	return EXIT_OK;
}
