#!/bin/bash
# Containers that live on, the docker way: run -d (a monitor of their own, no daemon), ps, logs,
# exec into every namespace, stop (the image's StopSignal, then SIGKILL), kill -s, wait, rm,
# and run without --rm keeping the exited container. The lesson's PID exercise: two nginx
# containers, each sees nginx as PID 1 through exec, the host sees two other PIDs.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 56

start_registry
push_images busybox nginx
B=$REG/busybox
N=$REG/nginx
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
# every container this test made, removed even when it fails (the monitors stop with them)
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'

ok -m "pull busybox" L pull -q "$B"
ok -m "pull nginx" L pull -q "$N"

# --- run -d, ps, logs --------------------------------------------------------------------
rc=0
id=$(L run -d --name web "$B" sh -c 'echo started; echo to-stderr >&2
	trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done') || rc=$?
is "$rc" 0 "run -d returns once the command runs"
like "$id" '^[0-9a-f]{64}$' "  and prints the 64-hex id"
out=$(L ps)
like "$out" "^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES" "ps: docker's columns"
like "$out" $'\n'"${id:0:12} +$B +\"sh -c echo started;…\" +.* +Up [^ ].* +web$" "  the container: short id, image, command, Up, its name"
is "$(L ps -q)" "${id:0:12}" "ps -q: the short id"
for _ in $(seq 1 50); do [[ $(L logs web 2>/dev/null) == started ]] && break; sleep 0.1; done
is "$(L logs web 2>/dev/null)" "started" "logs: its stdout on stdout"
is "$(L logs web 2>&1 >/dev/null)" "to-stderr" "  its stderr on stderr"
like "$(L logs -t web 2>/dev/null)" '^20[0-9-]+T[0-9:.]+Z started$' "logs -t: with the time of each line"
pid=$(sed -n 's/.*"Pid":\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
like "$pid" '^[0-9]+$' "state.json records its init's host pid"
is "$(tr '\0' ' ' </proc/"$pid"/cmdline)" "sh -c echo started; echo to-stderr >&2
	trap \"echo got-term; exit 7\" TERM; while :; do sleep 0.1; done " "  which the host sees running the command"

# --- exec -------------------------------------------------------------------------------------
out=$(L exec web sh -c 'echo $$; tr "\0" " " </proc/1/cmdline | head -c 5; echo; hostname; id -u')
is "$(sed -n 2,4p <<<"$out")" $'sh -c\n'"${id:0:12}"$'\n0' "exec: PID 1 is the container's command, hostname and user are the container's"
isnt "$(head -n 1 <<<"$out")" 1 "  exec's own process is not PID 1"
for ns in mnt uts ipc net pid cgroup; do
	want=$(readlink /proc/"$pid"/ns/$ns)
	got=$(L exec web readlink /proc/self/ns/$ns)
	is "$got" "$want" "  exec shares the container's $ns namespace"
done
is "$(L exec web sh -c 'ls /proc/self/fd | tr "\n" " "')" "0 1 2 3 " "  only 0 1 2 (and ls's own dir fd) are open"
is "$(L exec web grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' ')" \
	$'CapBnd: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 2' "  with docker's capabilities, no_new_privs (off: docker's default) and the seccomp filter"
rc=0; L exec web sh -c 'exit 3' || rc=$?
is "$rc" 3 "exec: the command's exit status passes through"
rc=0; L exec web nosuchcmd 2>/dev/null || rc=$?
is "$rc" 127 "exec: a missing command is 127"
is "$(echo piped | L exec -i web cat)" "piped" "exec -i: stdin reaches the command"
is "$(L exec -e FOO=bar -w /tmp web sh -c 'echo $FOO $(pwd)')" "bar /tmp" "exec -e -w"
rc=0; out=$(L exec nosuch true 2>&1) || rc=$?
is "$rc/$out" "1/layerctl: No such container: nosuch" "exec of an unknown container: docker's words, 1"

# --- stop, wait, kill -------------------------------------------------------------------------
rc=0; out=$(L rm web 2>&1) || rc=$?
like "$rc/$out" '^1/.*container is running: stop the container before removing or force remove' "rm of a running container is refused"
is "$(L stop web)" "web" "stop: SIGTERM, trapped"
is "$(L wait web)" 7 "wait prints its exit code (the trap's 7)"
like "$(L logs web 2>/dev/null)" $'started\ngot-term' "  the trap ran (its output in the log)"
like "$(L ps -a)" "${id:0:12} .* Exited \\(7\\) .* web" "ps -a: Exited (7)"
is "$(L ps -q)" "" "ps: no running container"
is "$(_lc_mounts_under "$ROOT")" "" "  its rootfs is unmounted once it exited"
is "$(L rm web)" "web" "rm of the exited container"
ok -m "  its dir is gone" test ! -e "$ROOT/containers/$id"

id2=$(L run -d "$B" sh -c 'trap "echo usr1" USR1; echo ready; while :; do sleep 0.1; done')
for _ in $(seq 1 50); do [[ $(L logs "${id2:0:6}" 2>/dev/null) == ready ]] && break; sleep 0.1; done
is "$(L kill -s USR1 "${id2:0:6}")" "${id2:0:6}" "kill -s USR1 by an id prefix"
for _ in $(seq 1 50); do [[ $(L logs "$id2" 2>/dev/null) == *usr1* ]] && break; sleep 0.1; done
like "$(L logs "$id2" 2>/dev/null)" 'usr1' "  the container's trap saw it"
is "$(L stop -t 1 "$id2")" "$id2" "stop -t 1: an untrapped TERM is ignored by PID 1, SIGKILL after 1 s"
is "$(L wait "$id2")" 137 "  so it exits 137"
is "$(L rm "$id2")" "$id2" "  and is removed"

# logs -f follows until the container exits
id3=$(L run -d --rm "$B" sh -c 'for i in 1 2 3; do echo $i; sleep 0.3; done')
is "$(L logs -f "$id3" 2>/dev/null | tr '\n' ' ')" "1 2 3 " "logs -f follows the output until the container exits"
for _ in $(seq 1 50); do [[ -e $ROOT/containers/$id3 ]] || break; sleep 0.1; done
ok -m "run -d --rm: removed once it exits" test ! -e "$ROOT/containers/$id3"

# --- run without --rm keeps the container ------------------------------------------------------
rc=0; L run --name kept "$B" sh -c 'echo fg; exit 4' >/dev/null || rc=$?
is "$rc" 4 "run without --rm: the exit status passes through"
like "$(L ps -a)" "Exited \\(4\\) .* kept" "  and the container is kept (ps -a)"
rc=0; out=$(L run --name kept "$B" true 2>&1) || rc=$?
like "$rc/$out" '^125/.*Conflict. The container name "/kept" is already in use' "a name is unique (docker's conflict, 125)"
is "$(L rm kept)" "kept" "rm kept"

# --- the lesson's PID exercise -------------------------------------------------------------------
a=$(L run -d --name nginx-a "$N")
b=$(L run -d --name nginx-b "$N")
pa=$(sed -n 's/.*"Pid":\([0-9]*\).*/\1/p' "$ROOT/containers/$a/state.json")
pb=$(sed -n 's/.*"Pid":\([0-9]*\).*/\1/p' "$ROOT/containers/$b/state.json")
for n in nginx-a nginx-b; do
	out=$(L exec "$n" ps -o pid,args)
	like "$out" $'\n *1 nginx: master process' "exec $n ps: nginx's master is PID 1 in its container"
done
isnt "$pa" "$pb" "the host sees two nginx masters with different PIDs ($pa, $pb)"
like "$(tr '\0' ' ' </proc/"$pa"/cmdline) $(tr '\0' ' ' </proc/"$pb"/cmdline)" '^nginx: master process.* nginx: master process' "  both are nginx on the host"
is "$(L stop nginx-a nginx-b | tr '\n' ' ')" "nginx-a nginx-b " "stop both (nginx's StopSignal SIGQUIT)"
is "$(L wait nginx-a) $(L wait nginx-b)" "0 0" "  nginx exits 0 on SIGQUIT"
ok -m "rm -f both" L rm -f nginx-a nginx-b
is "$(_lc_mounts_under "$ROOT")" "" "nothing stays mounted"
is "$(ls "$ROOT/containers")" "" "no container dir is left"

done_testing
