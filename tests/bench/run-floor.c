/* run-floor: the least a container run must do, written by hand, for `make bench` to time
 * `layerctl run --rm IMAGE true` against (not part of layerctl).
 *
 *   run-floor DIR LOWER... -- CMD [ARG...]
 *
 * DIR: an empty dir of its own (upper/, work/, merged/ are made in it and removed at the end);
 * LOWER: the layers, top first (overlay's lowerdir order). The run: overlay of the lowers on
 * DIR/merged, clone() of a child in five new namespaces (mount, pid, uts, ipc, net), in it
 * / made private, /proc mounted, pivot_root, the old root detached, CMD exec'd (found in the
 * new root's /bin when it has no slash); the parent reaps it, unmounts the overlay and removes
 * the dirs it made. Exit status: CMD's. No cgroup, no /dev, no seccomp, no capability drop, no
 * documents, no lock: a floor, not a container runtime. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "run-floor: %s: %s\n", what, strerror(errno));
	exit(125);
}

static char merged[4096];
static char *const *cmd;

static int child(void *arg)
{
	(void)arg;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount / private");
	if (chdir(merged) < 0)
		die("chdir merged");
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount proc");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount old root");
	if (chdir("/") < 0)
		die("chdir /");
	char path[4096];
	const char *p = cmd[0];
	if (!strchr(p, '/')) {
		snprintf(path, sizeof path, "/bin/%s", p);
		p = path;
	}
	char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	execve(p, cmd, env);
	die("execve");
	return 125;
}

int main(int argc, char **argv)
{
	int sep = 0;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	if (argc < 5 || sep < 3 || sep + 1 >= argc) {
		fprintf(stderr, "usage: run-floor DIR LOWER... -- CMD [ARG...]\n");
		return 2;
	}
	const char *dir = argv[1];
	cmd = argv + sep + 1;
	char upper[4096], work[4096], opts[16384];
	snprintf(upper, sizeof upper, "%s/upper", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	snprintf(merged, sizeof merged, "%s/merged", dir);
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(merged, 0755) < 0)
		die("mkdir");
	size_t n = (size_t)snprintf(opts, sizeof opts, "lowerdir=");
	for (int i = 2; i < sep; i++)
		n += (size_t)snprintf(opts + n, sizeof opts - n, "%s%s", i > 2 ? ":" : "", argv[i]);
	snprintf(opts + n, sizeof opts - n, ",upperdir=%s,workdir=%s,index=off", upper, work);
	if (mount("overlay", merged, "overlay", MS_NODEV, opts) < 0)
		die("mount overlay");

	static char stack[64 * 1024] __attribute__((aligned(16)));
	pid_t pid = clone(child, stack + sizeof stack,
			  CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
				  SIGCHLD,
			  NULL);
	if (pid < 0)
		die("clone");
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (umount2(merged, UMOUNT_NOFOLLOW) < 0)
		die("umount overlay");
	char ww[4096 + 8];
	snprintf(ww, sizeof ww, "%s/work", work);
	if (rmdir(ww) < 0 || rmdir(work) < 0 || rmdir(upper) < 0 || rmdir(merged) < 0)
		die("rmdir");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
