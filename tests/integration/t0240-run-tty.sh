#!/bin/bash
# run -i / -t, docker's way: without -i the container reads /dev/null; -t gives it a pty of its
# own devpts (its controlling terminal: tty is /dev/pts/0, stty size is the caller's, stdout and
# stderr both go through it), the caller's terminal goes raw and comes back as it was; -it
# without a terminal on stdin is refused (125); the container never shares the caller's
# terminal session (TIOCSTI and TIOCSPGRP on the caller's terminal fail, /dev/tty is ENXIO).
# A python pty plays the user's terminal.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 43

start_registry
push_images busybox
B=$REG/busybox

# ptyrun.py [--size ROWS COLS] [--stdin FILE] [--after ERE [--send TEXT] [--resize ROWS COLS]]
#           [--mark ERE] --info FILE -- CMD...
# CMD runs as the leader of a new session whose controlling terminal is a new pty (its
# fds 0 1 2, or stdin from FILE): what it writes to the pty goes to our stdout; once the
# output matches ERE, TEXT is typed and the pty resized. FILE gets key=value lines: status (the exit status,
# 128+signal, or "timeout"), stty_before / stty_after (`stty -g` of the pty), fg_ok (when the
# output matched --mark: was CMD's process group still the pty's foreground group?), pending
# (bytes waiting in the pty's input queue at the end: what nobody typed but someone pushed).
cat >"$TMPD/ptyrun.py" <<'EOF'
import argparse, fcntl, os, re, select, signal, struct, subprocess, sys, termios, time
ap = argparse.ArgumentParser()
ap.add_argument("--size", nargs=2, type=int, default=[24, 80])
ap.add_argument("--stdin")
ap.add_argument("--send")
ap.add_argument("--after")
ap.add_argument("--resize", nargs=2, type=int)
ap.add_argument("--mark")
ap.add_argument("--info", required=True)
ap.add_argument("--timeout", type=float, default=60)
ap.add_argument("cmd", nargs="+")
a = ap.parse_args()
master, slave = os.openpty()
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", a.size[0], a.size[1], 0, 0))
def stty():
    return subprocess.run(["stty", "-g"], stdin=slave, capture_output=True, text=True).stdout.strip()
before = stty()
stdin = os.open(a.stdin, os.O_RDONLY) if a.stdin else slave
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    os.dup2(stdin, 0); os.dup2(slave, 1); os.dup2(slave, 2)
    os.execvp(a.cmd[0], a.cmd)
out, sent, fg_ok, status = b"", False, "unchecked", None
deadline = time.monotonic() + a.timeout
while status is None:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            pass
    text = out.decode("latin-1")
    if a.after and not sent and re.search(a.after, text):
        if a.send:
            os.write(master, a.send.encode())
        if a.resize:  # the kernel sends SIGWINCH to the foreground group: layerctl
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", a.resize[0], a.resize[1], 0, 0))
        sent = True
    if a.mark and fg_ok == "unchecked" and re.search(a.mark, text):
        fg_ok = "yes" if os.tcgetpgrp(master) == pid else "no (%d)" % os.tcgetpgrp(master)
    p, ws = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(ws)
        status = status if status >= 0 else 128 - status
    elif time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); status = "timeout"
os.set_blocking(master, False)
try:
    while True:
        chunk = os.read(master, 65536)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
pending = struct.unpack("i", fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0"))[0]
with open(a.info, "w") as f:
    f.write("status=%s\nstty_before=%s\nstty_after=%s\nfg_ok=%s\npending=%d\n"
            % (status, before, stty(), fg_ok, pending))
sys.stdout.write(out.decode("latin-1"))
EOF

# info KEY: a value from the last ptyrun's info file
info() { sed -n "s/^$1=//p" "$TMPD/info"; }

# ptyrun [PTYRUN OPTIONS] -- RUN ARGS...: layerctl run --rm under the pty; sets rc (the run's
# exit status) and out (what the pty showed, without the \r of its \r\n)
ptyrun() {
	local opts=()
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	out=$("$PY" -I "$TMPD/ptyrun.py" --info "$TMPD/info" "${opts[@]}" -- \
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

	/* fd 1 is the caller's terminal (stdin carried this program in) */
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
	is "$rc" 0 "the probe runs with the caller's terminal on its stdout"
	is "$out" $'isatty1 ok\ntiocsti EPERM\ntiocspgrp ENOTTY\ntiocsctty EPERM\ndevtty ENXIO\nprobe done' \
		"  TIOCSTI EPERM, TIOCSPGRP ENOTTY, TIOCSCTTY EPERM, /dev/tty ENXIO: not its controlling terminal"
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
