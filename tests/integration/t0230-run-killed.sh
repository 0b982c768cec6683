#!/bin/bash
# layerctl run killed outright (SIGKILL: no cleanup runs): the container dies with it, and the
# next run unmounts and removes what it left.
. "$(dirname "$0")/../lib.sh"

plan 6

start_registry
push_images
ok -m "pull busybox" "$LAYERCTL" --root "$ROOT" pull -q "$REG/busybox"

"$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" sleep 300 &
lpid=$!
cpid=$(container_pid "$lpid") || cpid=
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null || true
gone=no
for _ in $(seq 50); do
	[[ -n $cpid ]] || break # no container seen: nothing to prove gone
	kill -0 "$cpid" 2>/dev/null || { gone=yes; break; }
	sleep 0.1
done
is "$gone" yes "the container's processes die with their layerctl"
isnt "$(grep -c " $ROOT/containers/" /proc/self/mountinfo)" 0 "its rootfs is left mounted"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" echo next 2>&1) || rc=$?
is "$out" next "the next run works"
is "$(grep -c " $ROOT" /proc/self/mountinfo)" 0 "and unmounted what the killed one left"
is "$(find "$ROOT/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "and removed its dir"

done_testing
