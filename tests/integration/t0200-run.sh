#!/bin/bash
# run --rm: the image's layers stacked by overlayfs, entered by the namespace launcher.
. "$(dirname "$0")/../lib.sh"

plan 17

start_registry
push_images

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" echo hi 2>"$TMPD/err") || rc=$?
is "$rc" 0 "run pulls a missing image and runs it"
is "$out" "hi" "echo hi prints hi"
like "$(cat "$TMPD/err")" "Unable to find image" "the implicit pull is reported on stderr"

is "$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sh -c 'echo $$')" 1 "the command is PID 1"

h=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" hostname)
isnt "$h" "$(hostname)" "the hostname is not the host's"
like "$h" "^[0-9a-f]{12}$" "it is the short container id"

rc=0; "$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sh -c 'exit 7' || rc=$?
is "$rc" 7 "the container's exit status passes through"

# PID 1 of a pid namespace ignores signals it has no handler for when they come from inside,
# as under docker: kill the container's init from the host instead
"$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sleep 60 &
lpid=$!
cpid=$(container_pid "$lpid") || cpid=
kill -KILL "$cpid"
rc=0; wait "$lpid" || rc=$?
is "$rc" 137 "a container killed by SIGKILL exits 128+9"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" nosuchcmd 2>&1) || rc=$?
is "$rc" 127 "a missing command is 127"
like "$out" "executable file not found" "with docker's reason"

# sh is PID 1; ls, grep and a subshell are the only others that can exist
pids=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sh -c 'ls /proc | grep "^[0-9]" | sort -n | tr "\n" " "')
like "$pids" "^1 [0-9 ]{0,12}$" "/proc shows only the container's few processes, from PID 1 ($pids)"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/nginx" nginx -t 2>&1) || rc=$?
is "$rc" 0 "nginx -t works in the nginx image"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/python" python3 -c 'print(6*7)' 2>"$TMPD/err") || rc=$?
is "$out" 42 "python3 runs in the python image"

ok "$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sh -c 'echo scratch > /etc/written'
is "$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sh -c 'test -e /etc/written || echo absent')" \
	absent "writes stay in the container's own upper dir"

is "$(grep -c " $ROOT" /proc/self/mountinfo)" 0 "nothing stays mounted after --rm"
is "$(find "$ROOT/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "no container dir is left"

done_testing
