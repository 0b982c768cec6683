#!/bin/bash
# run --init: a reaper of ours is PID 1 (not the command), forwards signals to the command,
# reaps orphans, and exits with the command's status; it keeps the command's capabilities,
# no_new_privs, seccomp filter and fds, and shows the container nothing of layerctl.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 18

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'

ok -m "pull busybox" L pull -q "$B"

out=$(L run --rm --init "$B" sh -c 'echo $$; cat /proc/1/comm; tr "\0" " " </proc/1/cmdline; echo')
is "$(sed -n 2p <<<"$out")" "init" "PID 1 is the init"
isnt "$(sed -n 1p <<<"$out")" 1 "  the command is not PID 1"
is "$(sed -n 3p <<<"$out" | tr -d ' ')" "init" "  its command line is 'init', nothing of layerctl's"
rc=0; L run --rm --init "$B" sh -c 'exit 3' || rc=$?
is "$rc" 3 "the command's exit status passes through"
rc=0; L run --rm --init "$B" sh -c 'kill -USR1 $$' || rc=$?
is "$rc" $((128 + 10)) "  a signal that killed it: 128+signal"
rc=0; L run --rm --init "$B" nosuchcmd 2>/dev/null || rc=$?
is "$rc" 127 "a missing command is still 127"
is "$(L run --rm --init --security-opt no-new-privileges "$B" sh -c 'grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/1/status | tr -s "\t" " "; ls /proc/1/fd | tr "\n" " "')" \
	$'CapBnd: 00000000a80425fb\nNoNewPrivs: 1\nSeccomp: 2\n0 1 2 ' \
	"the init has the command's capabilities, no_new_privs, seccomp filter, and only fds 0 1 2"
is "$(L run --rm --init "$B" sh -c 'readlink /proc/1/exe || echo no-exe; cat /proc/1/environ || echo no-env; readlink /proc/1/fd/0 || echo no-fd' 2>/dev/null)" \
	$'no-exe\nno-env\nno-fd' "  it is not dumpable: its binary, environment and fds cannot be opened from inside"
is "$(L run --rm --init -u 1000 "$B" sh -c 'stat -c %u /proc/1')" "1000" "  and its user"

# zombies: an orphan ends up PID 1's child; sleep as PID 1 never reaps it, the init does
id=$(L run -d --name noinit "$B" sh -c 'sh -c "sleep 0.2 &"; exec sleep 600')
id2=$(L run -d --init --name withinit "$B" sh -c 'sh -c "sleep 0.2 &"; exec sleep 600')
sleep 1.5
like "$(L exec noinit ps -o stat,comm)" $'\nZ[^ ]* +sleep' "without --init, the orphan stays a zombie (the check can fail)"
unlike "$(L exec withinit ps -o stat,comm)" $'\nZ' "with --init, no zombie"
like "$(L exec withinit ps -o pid,comm)" $'\n *1 init\n' "  exec sees the init as PID 1"

# stop: SIGTERM reaches the command (not PID 1 any more, so its default action applies)
t0=$(date +%s%N)
is "$(L stop withinit)" "withinit" "stop with --init"
t=$((($(date +%s%N) - t0) / 1000000))
ok -m "  fast: the command got SIGTERM and died (${t} ms < 5000)" test "$t" -lt 5000
is "$(L wait withinit)" 143 "  exit status 143 (SIGTERM), passed through by the init"
ok -m "rm -f both" L rm -f noinit withinit

# -t: the command is the terminal's foreground process group
out=$("$PY" "$TOP/tests/ptyrun.py" --info "$TMPD/pty.info" -- "$LAYERCTL" run --rm --init -t "$B" sh -c 'echo pg=$(cut -d" " -f5 /proc/$$/stat) fg=$(cut -d" " -f8 /proc/$$/stat)' 2>&1 | tr -d '\r')
like "$out" 'pg=([0-9]+) fg=\1' "-t: the command leads the terminal's foreground process group"

done_testing
