#!/bin/bash
# run --userns as root: auto (a free 65536-id range of root's /etc/subuid and /etc/subgid, two
# containers at once get disjoint ranges, a third finds none; auto:size=N gets N ids apart from
# the live ones), --uidmap/--gidmap, exec joining
# the user namespace; the container's root is the range's first id on the host (its processes,
# the files it writes), /proc/self/uid_map shows the map, capabilities and seccomp are as
# without a user namespace, and the image's layers are never chowned or copied (idmapped
# lowers): their owners and hashes are the same after as before.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
host_state_lock # /etc/subuid, /etc/subgid and test users: one such test at a time
require_layerctl

plan 42

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
rm_all() { local c; for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done; }
at_cleanup rm_all
# without subordinate ids: one line naming the fix (this host has none for root)
if grep -q '^root:' /etc/subuid 2>/dev/null; then
	skip "root has subordinate ids of its own here: the message for none is not tested"
else
	rc=0; out=$(L run --rm --userns=auto "$B" true 2>&1) || rc=$?
	like "$rc/$out" "^125/.*--userns=auto: no subordinate uids for this user in /etc/subuid: add one \(usermod --add-subuids" \
		"--userns=auto without subordinate ids: 125, naming the fix"
fi
# two ranges of 65536 for root, well away from anything a real user has
S=3100000
subid_add root "$S" 131072

ok -m "pull busybox" L pull -q "$B"
# owner, mode and content hash of every entry of every layer, as on disk
layers_state() {
	(cd "$ROOT/layers" && find . -printf '%U:%G %m %y %p\n' | sort -k4 &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
before=$(layers_state)

# --- auto: two at once, disjoint ------------------------------------------------------------------
L run -d --name a1 --userns=auto "$B" sleep 120 >"$TMPD/a1" &
p1=$!
L run -d --name a2 --userns=auto "$B" sleep 120 >"$TMPD/a2" &
p2=$!
wait "$p1"
wait "$p2"
pid1=$(L inspect -f '{{.State.Pid}}' a1)
pid2=$(L inspect -f '{{.State.Pid}}' a2)
m1=$(tr -s ' ' <"/proc/$pid1/uid_map")
m2=$(tr -s ' ' <"/proc/$pid2/uid_map")
like "$m1" "^ 0 [0-9]+ 65536$" "auto: container 1's uid_map is one range of 65536 ids"
like "$m2" "^ 0 [0-9]+ 65536$" "auto: so is container 2's"
s1=$(echo "$m1" | cut -d' ' -f3)
s2=$(echo "$m2" | cut -d' ' -f3)
ok -m "  both within root's subordinate range" test "$s1" -ge "$S" -a "$((s1 + 65536))" -le "$((S + 131072))" -a "$s2" -ge "$S" -a "$((s2 + 65536))" -le "$((S + 131072))"
ok -m "  and disjoint ($s1 and $s2)" test "$((s1 + 65536))" -le "$s2" -o "$((s2 + 65536))" -le "$s1"
is "$(tr -s ' ' <"/proc/$pid1/gid_map")" " 0 $s1 65536" "  gid_map the same range (ranges picked alike)"
is "$(stat -c %u "/proc/$pid1")" "$s1" "ps on the host: the container's root is uid $s1"
is "$(L exec a1 cat /proc/self/uid_map | tr -s ' ')" " 0 $s1 65536" "exec joins the user namespace: /proc/self/uid_map inside shows the map"
is "$(L exec a1 id)" "uid=0(root) gid=0(root)" "exec: id says root"
is "$(L exec -u 1000 a1 id -u)" "1000" "exec -u 1000 in the user namespace"
rc=0; out=$(L run --rm --userns=auto "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*--userns=auto: no free range of 65536 ids" "a third auto container finds no free range while both hold theirs: 125"
ok -m "rm -f the second" L rm -f a2
is "$(L run --rm --userns=auto "$B" cat /proc/self/uid_map | tr -s ' ')" " 0 $s2 65536" "  its range is free again"
# --userns=auto:size=N (podman's): N ids, kept apart from what live containers hold as auto's are
L run -d --name a3 --userns=auto:size=1024 "$B" sleep 120 >/dev/null
is "$(tr -s ' ' <"/proc/$(L inspect -f '{{.State.Pid}}' a3)/uid_map")" " 0 $s2 1024" \
	"auto:size=1024: a range of 1024 ids, the lowest free one (a1 holds $s1)"
is "$(L run --rm --userns=auto:size=1024 "$B" cat /proc/self/uid_map | tr -s ' ')" " 0 $((s2 + 1024)) 1024" \
	"  another one at once: the next 1024, apart from a1's and a3's"
ok -m "rm -f a3" L rm -f a3

# --- what the container's root writes -------------------------------------------------------------
ok -m "stop the first" L stop -t 1 a1
cid=$(L run -d --userns=auto "$B" sh -c 'echo data >/made; mkdir /d; touch /d/f; chown 1000:1000 /d/f; exit 0')
L wait "$cid" >/dev/null
upper=$(L inspect -f '{{.GraphDriver.Data.UpperDir}}' "$cid")
start=$(sed -n "s/^u 0:\([0-9]*\):.*/\1/p" "$ROOT/containers/$cid/idmap")
like "$start" "^[0-9]+$" "the container's range is recorded with it"
is "$(stat -c '%u:%g' "$upper")" "$start:$start" "its upper dir belongs to the mapped root"
is "$(stat -c '%u:%g' "$upper/made")" "$start:$start" "a file its root wrote is the range's first id on the host"
is "$(stat -c '%u:%g' "$upper/d/f")" "$((start + 1000)):$((start + 1000))" "one it chowned to 1000 is first id + 1000"
is "$(L start "$cid" >/dev/null && L wait "$cid" && sed -n 's/^u 0:\([0-9]*\):.*/\1/p' "$ROOT/containers/$cid/idmap")" "0"$'\n'"$start" \
	"start again: it keeps its range"

# a new named volume goes to the container's root (docker's userns-remap); one holding data keeps its owners
is "$(L run --rm --uidmap 0:3400000:65536 -v uvol:/data "$B" sh -c 'echo v >/data/f && stat -c %u:%g /data/f')" "0:0" \
	"a new named volume: its root writes there"
is "$(stat -c '%u:%g' "$ROOT/volumes/uvol/_data" "$ROOT/volumes/uvol/_data/f" | tr '\n' ' ')" "3400000:3400000 3400000:3400000 " \
	"  on the host: the mapped root's"
rc=0; out=$(L run --rm --uidmap 0:3500000:65536 -v uvol:/data "$B" sh -c 'echo w >/data/g' 2>&1) || rc=$?
like "$rc/$out" "^1/.*Permission denied" "  another mapping's root is nobody there: the volume keeps its owners"
L volume rm uvol >/dev/null

# --- --uidmap/--gidmap -----------------------------------------------------------------------------
out=$(L run --rm --uidmap 0:3400000:1000 --uidmap 1000:3500000:10 --gidmap 0:3600000:2000 "$B" \
	sh -c 'cat /proc/self/uid_map /proc/self/gid_map | tr -s " "; id')
is "$out" $' 0 3400000 1000\n 1000 3500000 10\n 0 3600000 2000\nuid=0(root) gid=0(root)' \
	"--uidmap twice, --gidmap: the maps as given; id says root"
is "$(L run --rm --uidmap 0:3400000:65536 "$B" cat /proc/self/gid_map | tr -s ' ')" " 0 3400000 65536" \
	"--uidmap alone serves for gids too (podman's)"

# --- as without a user namespace ----------------------------------------------------------------
ok -m "remove the containers (their ranges are free again)" rm_all
is "$(L run --rm --userns=auto "$B" grep -E '^(CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr '\t' ' ')" \
	$'CapPrm: 00000000a80425fb\nCapEff: 00000000a80425fb\nCapBnd: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 2' \
	"docker's capabilities and seccomp filter, as without a user namespace"
is "$(L run --rm --userns=auto "$B" sh -c 'ls -ln /bin/busybox | tr -s " " | cut -d" " -f3,4; echo x >/dev/null && echo devnull; mknod /dev/x c 1 3 2>&1 | grep -c "Operation not permitted"')" \
	$'0 0\ndevnull\n1' "the image's files show as root's; /dev/null works; mknod stays refused"
is "$(L run --rm --userns host "$B" cat /proc/self/uid_map | tr -s ' ')" " 0 0 4294967295" "--userns host: the host's namespace"
mid=$(L run -d --userns=auto --memory 64m "$B" sleep 60)
is "$(L inspect -f '{{.HostConfig.Memory}}' "$mid")" "67108864" \
	"--memory with a user namespace: its cgroup has the limit (the launcher made it)"
L rm -f "$mid" >/dev/null
is "$(L run --rm --userns=auto --init "$B" ps -o pid,user,comm | tr -s ' ')" $'PID USER COMMAND\n 1 root init\n 2 root ps' "--init: the reaper is PID 1, root of the namespace"
is "$(L run --rm --userns=auto --device /dev/zero:/dev/z "$B" sh -c 'head -c 2 /dev/z | od -An -tx1')" " 00 00" "--device: the node is bound in, the device policy allows it"

# --- refused -------------------------------------------------------------------------------------
rc=0; out=$(L run --rm --userns=bogus "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*invalid --userns 'bogus'" "--userns bogus: usage error, 125"
rc=0; out=$(L run --rm --userns=auto --privileged "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*--privileged cannot be used with a user namespace" "--privileged with --userns: refused"
rc=0; out=$(L run --rm --uidmap 0:3400000 "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*invalid ID mapping '0:3400000'" "a bad --uidmap: refused"
rc=0; out=$(L run --rm --uidmap 0:3400000:10 --uidmap 5:3500000:10 "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*container ids 0-9 and 5-14 overlap" "overlapping --uidmap lines: refused"
rc=0; out=$(L run --rm --userns=keep-id "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*keep-id is for rootless runs" "--userns=keep-id as root: refused, saying why"
is "$(layers_state)" "$before" "the image's layers: same owners, modes and hashes as before"
is "$(find "$ROOT/layers" -newer "$TMPD/a1" | wc -l)" "0" "  and nothing under layers/ changed since the first run"
done_testing
