#!/bin/bash
# run --rm under docker's default seccomp filter (REFERENCE.md §3C 27): one filter in
# /proc/self/status for root and for a user; unshare -U, keyctl, socket(AF_VSOCK/AF_ALG),
# mount, odd personalities and i386/x32 syscalls are refused, clone3 is ENOSYS; threads, fork,
# sockets, a 32-bit personality, nginx serving a page and python3 still work;
# --security-opt seccomp=unconfined turns it off.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 18

start_registry
push_images
B=$REG/busybox

# lc_run [RUN OPTIONS] IMAGE [CMD...]: sets rc, out (stdout) and err (stderr); stdin is ours
lc_run() {
	rc=0
	out=$("$LAYERCTL" --root "$ROOT" run --rm "$@" 2>"$TMPD/stderr") || rc=$?
	err=$(cat "$TMPD/stderr")
}

lc_run "$B" grep -E '^Seccomp' /proc/self/status
is "$out" $'Seccomp:\t2\nSeccomp_filters:\t1' "root's command runs under one seccomp filter"
lc_run -u 1000:1000 "$B" grep -E '^Seccomp' /proc/self/status
is "$out" $'Seccomp:\t2\nSeccomp_filters:\t1' "so does a user's"

# busybox's applets: what docker refuses, and what must keep working
lc_run "$B" unshare -U true
isnt "$rc" 0 "unshare -U fails (new user namespaces need CAP_SYS_ADMIN under docker's profile)"
like "$err" "Operation not permitted" "  with EPERM"
lc_run "$B" sh -c 'ls / | grep -c ^etc$; ps -o pid,comm | grep -c " ps$"; sleep 0.1; (exit 3) || echo $?'
is "$rc/$out" $'0/1\n1\n3' "pipes, subshells, ps and sleep work"
lc_run "$B" linux32 uname -m
is "$rc/$out" "0/i686" "personality(PER_LINUX32) is allowed (linux32 uname -m)"
lc_run "$B" sh -c 'exit 7'
is "$rc" 7 "the container's exit status still comes through"

# a static probe fed through stdin: the raw syscalls busybox has no applet for
cat >"$TMPD/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

static void *thread(void *arg) { return arg; }

int main(void)
{
	pthread_t t;
	pid_t pid;
	int ws;
	long r;

	errno = 0;
	show("clone3", syscall(SYS_clone3, NULL, 0));
	show("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
	show("unshare-net", unshare(CLONE_NEWNET));
	r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	show("clone-newuser", r);
	show("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
	show("x32-getpid", syscall(0x40000000 | SYS_getpid));
	show("personality-norandom", syscall(SYS_personality, 0x0040000));
	show("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
	show("pthread_create", -(long)pthread_create(&t, NULL, thread, NULL));
	pthread_join(t, NULL);
	pid = fork();
	if (pid == 0)
		_exit(0);
	show("fork", pid < 0 ? -1 : waitpid(pid, &ws, 0));
	return 0;
}
EOF
if gcc -static -O -o "$TMPD/probe" "$TMPD/probe.c" -pthread 2>"$TMPD/gcc.err"; then
	lc_run -i "$B" sh -c 'cat > /tmp/probe && chmod +x /tmp/probe && /tmp/probe' <"$TMPD/probe"
	is "$out" "clone3 ENOSYS
keyctl EPERM
unshare-net EPERM
clone-newuser EPERM
mount EPERM
x32-getpid EPERM
personality-norandom EPERM
io_uring_setup EPERM
pthread_create ok
fork ok" "raw syscalls in the container: docker's answers, and threads and fork still work"
	# outside the container the kernel has clone3 (>= 5.3): the ENOSYS above is the filter's
	host=$("$TMPD/probe" | grep '^clone3 ')
	is "$host" "clone3 EINVAL" "  (outside the container clone3 exists: EINVAL for a NULL argument)"
else
	diag "$(cat "$TMPD/gcc.err")"
	skip "no static C toolchain for the probe"
	skip "no static C toolchain for the probe"
fi

# python: sockets by family, threads
lc_run "$REG/python" python3 -c '
import socket, threading
for fam, typ in ((socket.AF_VSOCK, socket.SOCK_STREAM), (socket.AF_ALG, socket.SOCK_SEQPACKET),
                 (socket.AF_INET, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_DGRAM)):
    try:
        socket.socket(fam, typ).close()
        print(fam.name, "ok")
    except OSError as e:
        print(fam.name, e.strerror)
t = threading.Thread(target=print, args=("thread ok",))
t.start()
t.join()
print(6 * 7)'
is "$rc" 0 "python3 runs"
is "$out" "AF_VSOCK Operation not permitted
AF_ALG Operation not permitted
AF_INET ok
AF_UNIX ok
thread ok
42" "  socket(AF_VSOCK) and socket(AF_ALG) are EPERM, inet and unix sockets and threads work"

# nginx: configuration test, then a master with workers serving a page over loopback
lc_run "$REG/nginx" nginx -t
is "$rc" 0 "nginx -t works"
like "$err" "test is successful" "  and says so"
lc_run "$REG/nginx" sh -c 'nginx && for i in 1 2 3 4 5 6 7 8 9 10; do
		wget -qO- http://127.0.0.1/ 2>/dev/null && break; sleep 0.2; done | grep -o "<title>.*</title>"
	ps -o user,args | grep -c "[n]ginx: worker process"'
is "$rc" 0 "nginx starts"
like "$out" $'^<title>Welcome to nginx!</title>\n[1-9][0-9]*$' "  its workers serve the page to wget in the same container"

# the filter holds in a child of a child, after setuid and exec
lc_run "$B" sh -c 'sh -c "unshare -U true" 2>&1; echo $?'
like "$out" $'Operation not permitted\n1$' "a grandchild is filtered too"
lc_run -u 1000:1000 "$B" sh -c 'unshare -U true 2>&1; echo $?'
like "$out" $'Operation not permitted\n1$' "and so is a non-root user"
# docker's opt-out
lc_run --security-opt seccomp=unconfined "$B" sh -c 'grep -E "^Seccomp" /proc/self/status; unshare -U true && echo userns'
is "$rc/$out" $'0/Seccomp:\t0\nSeccomp_filters:\t0\nuserns' "--security-opt seccomp=unconfined: no filter, unshare -U works"

done_testing
