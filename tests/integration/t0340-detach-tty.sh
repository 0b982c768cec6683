#!/bin/bash
# run -d with -i and/or -t (docker's `run -dit IMAGE sh`): the container stays Up, its stdin
# held open by its monitor (a pipe, or its pty under -t, whose output goes to its log) until
# stop or rm -f; exec -it into it works; start brings it back the same way.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 21

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'

ok -m "pull busybox" L pull -q "$B"

# --- -dit ---------------------------------------------------------------------------------------
rc=0; id=$(L run -dit --name box "$B" sh </dev/null) || rc=$?
is "$rc" 0 "run -dit IMAGE sh (stdin not a terminal: fine with -d)"
like "$id" '^[0-9a-f]{64}$' "  prints the id"
sleep 1
like "$(L ps)" "${id:0:12} .* Up [^ ].* box" "  the shell is still Up a second later"
like "$(L exec box readlink /proc/1/fd/0)" '^/dev/pts/[0-9]+$' "  its stdin is a pty"
is "$(L exec box stty -F /proc/1/fd/0 size)" "24 80" "  of a terminal's usual size"
ok -m "  the pty's output goes to the log" L exec box sh -c 'echo from-exec >/proc/1/fd/1'
for _ in $(seq 1 50); do [[ $(L logs box 2>/dev/null) == *from-exec* ]] && break; sleep 0.1; done
like "$(L logs box 2>/dev/null)" 'from-exec' "  logs shows it"
out=$("$PY" "$TOP/tests/ptyrun.py" --info "$TMPD/pty.info" -- "$LAYERCTL" exec -it box sh -c 'tty; echo in-exec' 2>&1 | tr -d '\r')
like "$out" $'/dev/pts/[0-9]+\nin-exec' "exec -it into it"
is "$(L stop -t 1 box)" "box" "stop (an interactive sh ignores SIGTERM: SIGKILL after 1 s)"
is "$(L wait box)" 137 "  137"
is "$(L start box)" "box" "start brings it back"
sleep 0.5
like "$(L ps)" "${id:0:12} .* Up .* box" "  Up again"
like "$(L exec box readlink /proc/1/fd/0)" '^/dev/pts/[0-9]+$' "  on a pty again"
ok -m "rm -f of the running shell" L rm -f box
is "$(ls "$ROOT/containers")" "" "  gone"

# --- -di: stdin a pipe held open -----------------------------------------------------------------
id=$(L run -di --name cat "$B" cat)
sleep 1
like "$(L ps)" "${id:0:12} .* Up .* cat" "run -di IMAGE cat: cat waits on its stdin, Up"
like "$(L exec cat readlink /proc/1/fd/0)" '^pipe:' "  its stdin is a pipe"
# --- -dt without -i: a pty, nothing typed ------------------------------------------------------
id2=$(L run -dt --name tty "$B" sh -c 'tty; exec sleep 600')
for _ in $(seq 1 50); do [[ $(L logs tty 2>/dev/null) == /dev/pts/* ]] && break; sleep 0.1; done
like "$(L logs tty 2>/dev/null | tr -d '\r')" '^/dev/pts/[0-9]+$' "run -dt: the command's terminal output in the log"
ok -m "rm -f both" L rm -f cat tty
is "$(_lc_mounts_under "$ROOT")" "" "nothing stays mounted"

done_testing
