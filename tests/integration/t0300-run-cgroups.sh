#!/bin/bash
# run with docker's resource flags: one cgroup per container under a layerctl parent, the
# limits in its files, an OOM kill reported (the lesson's experiment verbatim), a fork bomb
# stopped by --pids-limit, docker's device allow-list, no cgroup without a limit, nothing left.
# Most runs use --cgroup-parent lctest-<id> so tests running side by side never see each
# other's cgroups (and lib.sh's cleanup finds them by name); the lesson's runs use the default.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

CG=/sys/fs/cgroup
[[ -d $CG/memory && -d $CG/pids && -d $CG/cpu ]] || [[ -f $CG/cgroup.controllers ]] ||
	skip_all "no cgroup hierarchy with memory, cpu and pids"
if [[ -f $CG/cgroup.controllers ]]; then V2=1; else V2=''; fi

plan 43

start_registry
push_images busybox python
B=$REG/busybox
P=$REG/python
PARENT=lctest-$TEST_ID

# lc_run [RUN OPTIONS] IMAGE [CMD...]: sets rc, out (stdout) and err (stderr)
lc_run() {
	rc=0
	out=$("$LAYERCTL" --root "$ROOT" run --rm "$@" 2>"$TMPD/stderr") || rc=$?
	err=$(cat "$TMPD/stderr")
}

# the container cgroups (dirs) under parent $1 in every hierarchy
cgroups_under() {
	local h
	for h in "$CG"/*/ "$CG"/; do
		[[ -d $h$1 ]] && find "$h$1" -mindepth 1 -type d
	done 2>/dev/null | sort
}

# cg_dir CTRL: the one container cgroup under $PARENT for the controller CTRL, waiting for it
cg_dir() {
	local i d
	for ((i = 0; i < 100; i++)); do
		if [[ -n $V2 ]]; then d=$(find "$CG/$PARENT" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1)
		else d=$(find "$CG/$1/$PARENT" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1); fi
		[[ -n $d ]] && { echo "$d"; return 0; }
		sleep 0.1
	done
	return 1
}

# the default parent is shared: remove what our own containers (by id) may have left there
ids_seen=()
cleanup_ids() {
	local id h d
	for id in "${ids_seen[@]}"; do
		for h in "$CG"/*/ "$CG"/; do
			for d in "$h"layerctl/"$id"*; do [[ -d $d ]] && rmdir "$d"; done
		done
	done
}
at_cleanup cleanup_ids

ok -m "pull busybox" "$LAYERCTL" --root "$ROOT" pull -q "$B"
ok -m "pull python" "$LAYERCTL" --root "$ROOT" pull -q "$P"

# --- no limit, no cgroup ---------------------------------------------------------------------
lc_run --cgroup-parent "$PARENT" "$B" cat /proc/self/cgroup
is "$rc" 0 "a run without limits works"
is "$out" "$(sed 's/:[^:]*$/:\//' /proc/self/cgroup)" "  it sees the root of its cgroup namespace in every hierarchy (no host path)"
is "$(cgroups_under "$PARENT"; find "$CG" -maxdepth 2 -name "$PARENT")" "" "  no cgroup (not even the parent) was made"

# --- the lesson's experiment, verbatim ---------------------------------------------------------
lc_run --memory=100m "$P" python3 -c 'a = bytearray(200*1024*1024)'
is "$rc" 137 "--memory=100m: allocating 200 MB is killed (137)"
like "$err" '^container [0-9a-f]{12} was killed: out of memory \(limit 100MiB\)$' "  with one line on stderr saying so"
short=$(sed -n 's/^container \([0-9a-f]\{12\}\) was killed.*/\1/p' <<<"$err")
[[ -z $short ]] || ids_seen+=("$short")
left=$(for h in "$CG"/*/ "$CG"/; do [[ -n $short ]] && ls -d "$h"layerctl/"$short"* 2>/dev/null; done || true)
is "$left" "" "  its cgroup is removed"
lc_run --memory=100m "$P" python3 -c 'a = bytearray(50*1024*1024); print(len(a))'
is "$rc:$out:$err" "0:52428800:" "--memory=100m: allocating 50 MB works, nothing on stderr"
lc_run "$B" echo unharmed
is "$rc:$out" "0:unharmed" "the host is unharmed: the next run works"

# --- the limits in the cgroup's files, read from the host while the container runs -------------
opts=(--cgroup-parent "$PARENT" --cpus 0.5 --memory 64m --memory-reservation 32m --pids-limit 50
	--cpu-shares 512 --cpuset-cpus 0)
"$LAYERCTL" --root "$ROOT" run --rm "${opts[@]}" "$B" sleep 60 >/dev/null 2>&1 &
lpid=$!
cpid=$(container_pid "$lpid") || cpid=
if [[ -n $V2 ]]; then
	d=$(cg_dir) || d=/nonexistent
	is "$(cat "$d/cpu.max")" "50000 100000" "--cpus 0.5: cpu.max"
	is "$(cat "$d/memory.max")" $((64 << 20)) "--memory 64m: memory.max"
	is "$(cat "$d/memory.low")" $((32 << 20)) "--memory-reservation: memory.low"
	is "$(cat "$d/pids.max")" 50 "--pids-limit: pids.max"
	is "$(cat "$d/cpu.weight")" $((1 + (512 - 2) * 9999 / 262142)) "--cpu-shares 512: cpu.weight"
	is "$(cat "$d/cpuset.cpus")" 0 "--cpuset-cpus: cpuset.cpus"
	like "$(cat "$d/cgroup.procs")" "(^|$'\n')$cpid($'\n'|$)" "the container is in it"
	skip "v1 only: memory.memsw"
	skip "v1 only: devices.list (v2: a bpf program, see check_cgroup)"
else
	d=$(cg_dir cpu) || d=/nonexistent
	is "$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us")" "50000 100000" "--cpus 0.5: cfs quota and period"
	is "$(cat "$d/cpu.shares")" 512 "--cpu-shares: cpu.shares"
	d=$(cg_dir memory) || d=/nonexistent
	is "$(cat "$d/memory.limit_in_bytes")" $((64 << 20)) "--memory 64m: memory.limit_in_bytes"
	is "$(cat "$d/memory.soft_limit_in_bytes")" $((32 << 20)) "--memory-reservation: soft limit"
	if [[ -f $CG/memory/memory.memsw.limit_in_bytes ]]; then
		is "$(cat "$d/memory.memsw.limit_in_bytes")" $((128 << 20)) "memory+swap defaults to twice --memory"
	else skip "no swap accounting"; fi
	like "$(cat "$d/cgroup.procs")" "(^|$'\n')$cpid($'\n'|$)" "the container is in the memory cgroup"
	d=$(cg_dir pids) || d=/nonexistent
	is "$(cat "$d/pids.max")" 50 "--pids-limit: pids.max"
	d=$(cg_dir cpuset) || d=/nonexistent
	is "$(cat "$d/cpuset.cpus")" 0 "--cpuset-cpus: cpuset.cpus"
	d=$(cg_dir devices) || d=/nonexistent
	is "$(LC_ALL=C sort "$d/devices.list" | tr '\n' ' ')" "b *:* m c *:* m c 10:200 rwm c 136:* rwm c 1:3 rwm c 1:5 rwm c 1:7 rwm c 1:8 rwm c 1:9 rwm c 5:0 rwm c 5:1 rwm c 5:2 rwm " \
		"the device cgroup holds docker's default allow-list, nothing else"
fi
# PID 1 ignores SIGTERM without a handler: end the container with SIGKILL
[[ -z $cpid ]] || kill -KILL "$cpid"
wait "$lpid" || true
is "$(cgroups_under "$PARENT")" "" "the container's cgroups are gone when it is"

# --- --pids-limit stops a fork bomb ------------------------------------------------------------
# bounded first (200 sleeps would not hurt the host if the limit did not hold)
lc_run --cgroup-parent "$PARENT" --pids-limit 20 "$B" sh -c \
	'(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i + 1)); done) 2>/dev/null
	set -- /proc/[0-9]*; echo $#'
is "$rc" 0 "--pids-limit 20: a container starting 200 sleeps ends"
if [[ $out =~ ^[0-9]+$ && $out -le 20 ]]; then
	_lc_result 1 "  and at most 20 of its processes ever existed together ($out)"
	start=$SECONDS
	rc=0
	timeout -s KILL 60 "$LAYERCTL" --root "$ROOT" run --rm --cgroup-parent "$PARENT" --pids-limit 20 "$B" \
		sh -c '(b() { b | b & }; b) 2>/dev/null
		i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done
		set -- /proc/[0-9]*; echo $#' >"$TMPD/bomb.out" 2>/dev/null || rc=$?
	out=$(tail -n 1 "$TMPD/bomb.out")
	like "$rc:$out" "^0:([1-9]|1[0-9]|20)$" "a real fork bomb is held at 20 processes and the container still ends (in $((SECONDS - start)) s)"
else
	_lc_result 0 "  and at most 20 of its processes ever existed together ($out)"
	skip "the fork bomb: the limit did not hold"
fi
is "$(cgroups_under "$PARENT")" "" "  no cgroup left"

# --- docker's device allow-list ------------------------------------------------------------------
lc_run --cgroup-parent "$PARENT" --pids-limit 100 "$B" sh -c '
	mknod /kmsg c 1 11 && echo mknod ok
	echo "<3>from a container" 2>/dev/null >/kmsg && echo kmsg written
	mknod /blk b 7 0 && echo mknod ok
	head -c 1 /blk >/dev/null 2>&1 && echo blk read
	echo x >/dev/null && echo null ok
	[ "$(head -c 4 /dev/zero | wc -c)" = 4 ] && echo zero ok
	[ "$(head -c 4 /dev/urandom | wc -c)" = 4 ] && echo urandom ok
	[ "$(head -c 4 /dev/random | wc -c)" = 4 ] && echo random ok
	echo x >/dev/full 2>/dev/null || echo full ok'
is "$out" $'mknod ok\nmknod ok\nnull ok\nzero ok\nurandom ok\nrandom ok\nfull ok' \
	"with a cgroup: mknod works, but char 1:11 and block 7:0 cannot be opened; /dev/null, zero, urandom, random, full can"
lc_run --cgroup-parent "$PARENT" --pids-limit 100 "$B" sh -c 'mknod /mem c 1 1; head -c 1 /mem; echo $?'
like "$err" "Operation not permitted|Permission denied" "/dev/mem made by mknod cannot be read (nodev: EACCES; the device cgroup: EPERM)"

# --- flag errors, docker's words, exit 125, nothing made ----------------------------------------
bad() { # bad EXPECTED-ERE OPTIONS...
	local want=$1
	shift
	lc_run --cgroup-parent "$PARENT" "$@" "$B" true
	like "$rc:$err" "^125:.*$want" "$* refused: $want"
}
bad "invalid argument \"100x\" for \"-m, --memory\" flag: invalid size: '100x'" --memory 100x
bad "Minimum memory limit allowed is 6MB" --memory 1m
bad "Minimum memoryswap limit should be larger than memory limit" --memory 100m --memory-swap 50m
bad "You should always set the Memory limit when using Memoryswap limit" --memory-swap 1g
bad "Minimum memory limit can not be less than memory reservation limit" --memory 64m --memory-reservation 128m
bad "failed to parse abc as a rational number" --cpus abc
bad "Range of CPUs is from 0.01 to $(nproc).00, as there are only $(nproc) CPUs available" --cpus 1000
bad "Range of blkio weight is from 10 to 1000" --blkio-weight 5
bad "invalid argument \"x\" for \"--pids-limit\" flag" --pids-limit x
bad "bad format: /dev/null" --device-write-bps /dev/null
bad "'/dev/null' is not a block device" --device-write-bps /dev/null:1mb
bad "invalid rate for device: /dev/loop0:1x" --device-read-iops /dev/loop0:1x
if [[ -n $V2 ]]; then bad "does not support OomKillDisable" --memory 64m --oom-kill-disable
else
	"$LAYERCTL" --root "$ROOT" run --rm --cgroup-parent "$PARENT" --memory 64m --oom-kill-disable "$B" sleep 60 >/dev/null 2>&1 &
	lpid=$!
	cpid=$(container_pid "$lpid") || cpid=
	d=$(cg_dir memory) || d=/nonexistent
	like "$(cat "$d/memory.oom_control" 2>&1)" "oom_kill_disable 1" "--oom-kill-disable (v1): memory.oom_control"
	[[ -z $cpid ]] || kill -KILL "$cpid"
	wait "$lpid" || true
fi
is "$(cgroups_under "$PARENT")" "" "no cgroup left by the refused runs"

# --- a layerctl killed outright: the next run removes its cgroups --------------------------------
"$LAYERCTL" --root "$ROOT" run --rm --cgroup-parent "$PARENT" --memory 64m "$B" sleep 300 >/dev/null 2>&1 &
lpid=$!
container_pid "$lpid" >/dev/null || true
isnt "$(cgroups_under "$PARENT")" "" "a running container with a limit has its cgroups"
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null || true
lc_run "$B" true
is "$rc" 0 "after its layerctl is killed, the next run works"
is "$(cgroups_under "$PARENT")" "" "  and removed the killed one's cgroups"

done_testing
