#!/bin/bash
# start and restart: an exited container runs again on its kept upper dir, with the same id,
# name and options, under a monitor of its own; its log is appended to; restart stops a running
# one and starts it again.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 38

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'
state() { sed -n 's/.*"Status":"\([a-z]*\)".*/\1/p' "$ROOT/containers/$1/state.json"; }
pid_of() { sed -n 's/.*"Pid":\([0-9]*\).*/\1/p' "$ROOT/containers/$1/state.json"; }

ok -m "pull busybox" L pull -q "$B"

# --- a detached container that exits, started again ------------------------------------------
id=$(L run -d --name once -e WHO=first "$B" sh -c \
	'echo run $WHO $(wc -l 2>/dev/null </count); echo x >>/count; exec sleep 600')
like "$id" '^[0-9a-f]{64}$' "run -d"
is "$(L stop -t 1 once)" "once" "stop it"
is "$(state "$id")" exited "  it exited"
is "$(L start once)" "once" "start prints its name"
like "$(L ps)" "${id:0:12} .* Up [^ ].* once" "  ps shows it Up again, same id and name"
is "$(state "$id")" running "  its state says running"
for _ in $(seq 1 50); do [[ $(L logs once 2>/dev/null | wc -l) -ge 2 ]] && break; sleep 0.1; done
is "$(L logs once 2>/dev/null)" $'run first\nrun first 1' "  the file the first run wrote is still there; the log is appended to"
is "$(L exec once cat /count | wc -l)" 2 "  exec sees the same upper dir (a line written by each run)"
rc=0; L start once >/dev/null || rc=$?
is "$rc" 0 "start of a running container is fine (docker)"
p1=$(pid_of "$id")
is "$(L restart -t 1 once)" "once" "restart of a running container"
p2=$(pid_of "$id")
isnt "$p2" "$p1" "  a new init ($p1 -> $p2)"
like "$(L ps)" "${id:0:12} .* Up .* once" "  Up"
for _ in $(seq 1 50); do [[ $(L logs once 2>/dev/null | wc -l) -ge 3 ]] && break; sleep 0.1; done
is "$(L logs once 2>/dev/null | tail -n 1)" "run first 2" "  ran a third time on the same upper dir"
ok -m "rm -f" L rm -f once
is "$(_lc_mounts_under "$ROOT")" "" "  nothing stays mounted"

# --- an --rm container: restart keeps it (docker's), its own exit removes it -------------------
id=$(L run -d --rm --name tmp1 "$B" sh -c 'echo up >>/runs; sleep 300')
p1=$(pid_of "$id")
is "$(L restart -t 1 tmp1)" "tmp1" "restart of an --rm container"
isnt "$(pid_of "$id")" "$p1" "  it runs again, a new init"
is "$(L exec tmp1 cat /runs)" $'up\nup' "  on its upper dir (not removed by the restart's stop)"
is "$(ls "$ROOT/containers/$id/restarting" 2>/dev/null)" "" "  the restart's mark is gone"
rc=0; out=$(L stop -t 1 tmp1 2>&1) || rc=$?
is "$rc/$out" "0/tmp1" "stop of an --rm container: its name, 0 (as docker's)"
ok -m "  and then it is gone" test ! -e "$ROOT/containers/$id"
id=$(L run -d --rm "$B" sleep 300)
rc=0; out=$(L rm -f "$id" 2>&1) || rc=$?
is "$rc/$out" "0/$id" "rm -f of a running --rm container"
id=$(L run -d --rm "$B" sh -c 'sleep 1; exit 3')
rc=0; out=$(L wait "$id" 2>&1) || rc=$?
is "$rc/$out" "0/3" "wait of an --rm container: its exit code (its monitor waits for the waiter)"
for _ in $(seq 1 100); do [[ -e $ROOT/containers/$id ]] || break; sleep 0.05; done
ok -m "  then it is removed" test ! -e "$ROOT/containers/$id"

# --- a foreground container kept after it exited, started with -a ---------------------------
rc=0; L run --name fg "$B" sh -c 'echo hello; test -e /mark && exit 5; touch /mark; exit 3' >/dev/null || rc=$?
is "$rc" 3 "run in the foreground, kept"
rc=0; out=$(L start -a fg) || rc=$?
is "$rc/$out" "5/hello" "start -a: its output, then its exit status (the mark left by the first run)"
like "$(L ps -a)" "Exited \\(5\\) .* fg" "  ps -a: Exited (5)"
is "$(L wait fg)" 5 "  wait agrees"
rc=0; out=$(L start -a fg nosuch 2>&1) || rc=$?
like "$rc/$out" "^1/.*cannot start and attach multiple containers" "start -a of two: docker's refusal"
rc=0; out=$(L start nosuch 2>&1) || rc=$?
is "$rc/$out" "1/layerctl: No such container: nosuch" "start of an unknown container"
# start -a forwards the signals it gets to the container (docker's --sig-proxy)
L run --name sig "$B" sh -c 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done' \
	>/dev/null 2>&1 &
runpid=$!
for _ in $(seq 1 100); do [[ $(pid_of sig 2>/dev/null) ]] && break; sleep 0.1; done
L stop -t 5 sig >/dev/null
wait "$runpid" || true
"$LAYERCTL" --root "$ROOT" start -a sig >"$TMPD/sig.out" 2>&1 &
startpid=$!
for _ in $(seq 1 100); do grep -q ready "$TMPD/sig.out" && break; sleep 0.1; done
kill -TERM "$startpid"
rc=0; wait "$startpid" || rc=$?
is "$rc" 7 "start -a: a SIGTERM to layerctl reaches the container, whose exit status it returns"
is "$(cat "$TMPD/sig.out")" $'ready\ngot TERM' "  (the container's trap ran)"

# --- options survive: a limit and a published port ------------------------------------------
port=$(_lc_free_port)
id=$(L run -d --name web --memory 64m --cgroup-parent "lctest-$TEST_ID" -p 127.0.0.1:"$port":8080 "$B" sh -c 'exec httpd -f -p 8080 -h /etc')
ok -m "stop web" L stop -t 1 web
ok -m "start web" L start web
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then mem=/sys/fs/cgroup/lctest-$TEST_ID/$id/memory.max
else mem=/sys/fs/cgroup/memory/lctest-$TEST_ID/$id/memory.limit_in_bytes; fi
is "$(cat "$mem" 2>&1)" $((64 << 20)) "  its memory limit is set again (a cgroup of its own)"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
ok -m "  its port is published again" curl -sf -o /dev/null "http://127.0.0.1:$port/hostname"
ok -m "rm -f web" L rm -f web

done_testing
