#!/bin/bash
# run -i / -t, docker's way: without -i the container reads /dev/null; -t gives it a pty of its
# own devpts (its controlling terminal: tty is /dev/pts/0, stty size is the caller's, stdout and
# stderr both go through it), the caller's terminal goes raw and comes back as it was; -it
# without a terminal on stdin is refused (125); the container never shares the caller's
# terminal: without -t its streams are pipes (TIOCSTI, TIOCSPGRP fail, /dev/tty is ENXIO).
# A python pty plays the user's terminal.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 43

start_registry
push_images busybox
B=$REG/busybox


# info KEY: a value from the last ptyrun's info file
info() { sed -n "s/^$1=//p" "$TMPD/info"; }

# ptyrun [PTYRUN OPTIONS] -- RUN ARGS...: layerctl run --rm under the pty; sets rc (the run's
# exit status) and out (what the pty showed, without the \r of its \r\n)
ptyrun() {
	local opts=()
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	out=$("$PY" -I "$TOP/tests/ptyrun.py" --info "$TMPD/info" "${opts[@]}" -- \
		"$LAYERCTL" --root "$ROOT" run --rm "$@" | tr -d '\r') || true
	rc=$(info status)
}

# left_behind WHAT: nothing mounted under $TMPD, no container dir, the pty's settings as before
left_behind() {
	local m
	m=$(_lc_mounts_under "$TMPD" || true)
	is "$m/$(ls -A "$ROOT/containers" 2>/dev/null)" "/" "  $1: nothing mounted, no container left"
}
tty_restored() {
	is "$(info stty_after)" "$(info stty_before)" "  $1: the caller's terminal settings are restored"
}

# the image is pulled once, outside any pty
ok -m "busybox pulls" "$LAYERCTL" --root "$ROOT" pull "$B"

# --- -i --------------------------------------------------------------------------------------
rc=0; out=$(echo hi | "$LAYERCTL" --root "$ROOT" run --rm "$B" cat) || rc=$?
is "$rc/$out" "0/" "without -i the container's stdin is /dev/null (cat prints nothing)"
rc=0; out=$(echo hi | "$LAYERCTL" --root "$ROOT" run --rm "$B" sh -c 'readlink /proc/self/fd/0; ls -l /proc/self/fd/0 | grep -c " 1,  *3 "') || rc=$?
is "$out" $'/dev/null\n0' "  /dev/null of the container's own /dev"
rc=0; out=$(echo hi | "$LAYERCTL" --root "$ROOT" run --rm -i "$B" cat) || rc=$?
is "$rc/$out" "0/hi" "with -i it reads ours (prints hi)"
rc=0; out=$(echo hi | "$LAYERCTL" --root "$ROOT" run --rm --interactive "$B" cat) || rc=$?
is "$rc/$out" "0/hi" "  --interactive too"
left_behind "-i"

# --- -t without a terminal -------------------------------------------------------------------
rc=0; out=$(echo hi | "$LAYERCTL" --root "$ROOT" run --rm -it "$B" true 2>&1) || rc=$?
is "$rc" 125 "-it with a pipe on stdin fails with 125"
is "$out" "layerctl: run: the input device is not a TTY" "  with docker's message, before anything starts"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm -it "$B" true 2>&1 </dev/null) || rc=$?
is "$rc/$out" "125/layerctl: run: the input device is not a TTY" "  /dev/null is no terminal either"
# -t alone: docker gives the pty, output through it, input not attached
rc=0; out=$(echo hi | "$LAYERCTL" --root "$ROOT" run --rm -t "$B" sh -c 'tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty; echo err >&2; exit 4' 2>"$TMPD/err" | tr -d '\r') || rc=$?
is "$out" $'/dev/pts/0\nall-tty\nerr' "-t without a terminal: fds 0 1 2 are the container's pty, stderr comes through it on stdout"
is "$(cat "$TMPD/err")" "" "  nothing on our stderr"
rc=0; "$LAYERCTL" --root "$ROOT" run --rm -t "$B" sh -c 'exit 4' >/dev/null </dev/null || rc=$?
is "$rc" 4 "  the exit status passes through"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm -t -u 1000:1000 "$B" sh -c 'stat -c %u /dev/pts/0; echo via-dev-stdout >/dev/stdout' </dev/null | tr -d '\r') || rc=$?
is "$rc/$out" $'0/1000\nvia-dev-stdout' "-t -u 1000: the pty belongs to the user, who can reopen it (/dev/stdout)"
left_behind "-t"

# --- -it under a terminal --------------------------------------------------------------------
ptyrun --size 33 101 -- -it "$B" sh -c 'tty; stty size; echo $((6*7)); test -t 0 && echo tty0'
is "$rc" 0 "-it in a 33x101 terminal runs"
is "$out" $'/dev/pts/0\n33 101\n42\ntty0' "  tty is /dev/pts/0, stty size is the caller's 33 101, stdin is a terminal"
tty_restored "-it"
left_behind "-it"

ptyrun -- -it "$B" sh -c 'exit 3'
is "$rc" 3 "-it: the exit status passes through (exit 3)"
tty_restored "exit 3"
left_behind "exit 3"

ptyrun -- -it "$B" sh -c 'stty -a | grep -c -- "-icanon\|-echo \|-isig"'
is "$out" 0 "-it: the container's own pty is cooked (icanon, echo, isig), not raw like ours"

# an interactive session: typed at the prompt (busybox then asks the terminal where its cursor
# is: ESC[6n), echoed by the container's pty
ptyrun --send $'echo hel""lo\nexit 5\n' --after '/ # ' -- -it "$B" sh
is "$rc" 5 "-it sh: 'exit 5' typed at the prompt ends it with 5"
like "$out" $'echo hel""lo\nhello\n' "  the typed line is echoed by the container's pty and runs (hello)"
tty_restored "interactive sh"
left_behind "interactive sh"

# Ctrl-C is a byte in raw mode: the container's tty driver turns it into SIGINT for sleep. The
# child that prints ready becomes sleep (exec): a SIGINT right after ready cannot come too early.
ptyrun --send $'\x03' --after 'ready' -- -it "$B" sh -c 'trap "echo trapped" INT; sh -c "echo ready; exec sleep 30"; echo "sleep: $?"'
like "$out" $'^ready\n\\^C' "-it: Ctrl-C reaches the container's pty as a byte (echoed ^C)"
like "$out" $'trapped\n' "  which sends SIGINT to the container's foreground group: the shell's trap runs"
like "$out" $'sleep: 130$' "  and sleep dies of it"
is "$rc" 0 "  the shell goes on and exits 0"
tty_restored "Ctrl-C"

# a long output arrives whole, after the container has already exited
ptyrun -- -t "$B" sh -c 'seq 1 20000'
is "$(printf '%s\n' "$out" | wc -l)/$(printf '%s\n' "$out" | tail -n 1)" "20000/20000" "-t: 20000 lines arrive whole"
left_behind "seq"

# the window size follows a resize (SIGWINCH to layerctl, TIOCSWINSZ on the container's pty)
ptyrun --after ready --resize 50 132 -- -it "$B" sh -c 'stty size; echo ready
	for i in $(seq 1 100); do s=$(stty size); [ "$s" = "50 132" ] && echo "$s" && exit 0; sleep 0.1; done; exit 1'
is "$rc/$out" $'0/24 80\nready\n50 132' "-it: a resize of the caller's terminal reaches the container's pty (24 80, then 50 132)"
left_behind "resize"

# --- the caller's terminal is out of the container's reach ------------------------------------
cat >"$TMPD/ttyprobe.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%s %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
	pid_t pg = getpgrp();
	int fd;

	/* fd 1 would be the caller's terminal, were it handed over (stdin carried this program in) */
	show("isatty1", isatty(1) ? 0 : -1);
	show("tiocsti", ioctl(1, TIOCSTI, "x"));
	show("tiocspgrp", ioctl(1, TIOCSPGRP, &pg));
	show("tiocsctty", ioctl(1, TIOCSCTTY, 1));
	fd = open("/dev/tty", O_RDWR);
	show("devtty", fd);
	printf("probe done\n");
	fflush(stdout);
	sleep(1); /* the driver looks at the foreground group now */
	return 0;
}
EOF
if gcc -static -O -o "$TMPD/ttyprobe" "$TMPD/ttyprobe.c" 2>"$TMPD/gcc.err"; then
	ptyrun --stdin "$TMPD/ttyprobe" --mark 'probe done' -- -i "$B" sh -c 'cat >/tmp/p && chmod +x /tmp/p && exec /tmp/p'
	is "$rc" 0 "the probe runs under the caller's terminal"
	is "$out" $'isatty1 ENOTTY\ntiocsti ENOTTY\ntiocspgrp ENOTTY\ntiocsctty ENOTTY\ndevtty ENXIO\nprobe done' \
		"  its stdout is a pipe, not the caller's terminal: no TIOCSTI, TIOCSPGRP, TIOCSCTTY; /dev/tty ENXIO"
	is "$(info pending)" 0 "  nothing was pushed into the caller's input"
	is "$(info fg_ok)" yes "  the caller's foreground process group is unchanged"
	tty_restored "probe"
	left_behind "probe"
else
	diag "$(cat "$TMPD/gcc.err")"
	for _ in 1 2 3 4 5 6; do skip "no static C toolchain for the probe"; done
fi

# the help documents both
out=$("$LAYERCTL" run --help)
like "$out" "-i, --interactive" "run --help documents -i"
like "$out" "-t, --tty" "run --help documents -t"

done_testing
