#!/bin/bash
# What a run does not need, it does not do: no fsync for a container that does not outlive its
# command (run --rm), no walk of its empty dirs when it is removed; a container that stays is
# still recorded durably.
. "$(dirname "$0")/../lib.sh"

require_root
require_layerctl
command -v strace >/dev/null || skip_all "no strace"
plan 11

start_registry
push_images busybox
ok "$LAYERCTL" pull -q "$REG/busybox"

# LeakSanitizer cannot run under strace (ptrace): no leak check for the traced runs
traced() { # traced OUT CMD...: strace -f -y of the syncs and directory reads of CMD
	local out=$1
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -y \
		-e trace=fsync,fdatasync,syncfs,sync,sync_file_range,getdents64 -o "$out" "$@"
}
rc=0
out=$(traced "$TMPD/rm.trace" "$LAYERCTL" run --rm "$REG/busybox" sh -c 'echo ran') || rc=$?
is "$rc:$out" "0:ran" "run --rm under strace"
is "$(grep -cE '^[0-9]+ +(fsync|fdatasync|syncfs|sync|sync_file_range)\(' "$TMPD/rm.trace" || true)" 0 \
	"run --rm syncs nothing"
is "$(grep -E 'getdents64\(' "$TMPD/rm.trace" | grep -cE '/(upper|work|merged)>|/tmp/trash/' || true)" 0 \
	"its empty dirs are removed without being listed"
is "$(find "$ROOT/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "and it is gone"
# its upper dies with it: a volatile overlay, whose unmount does not sync the whole disk
# (the mount's super options say "volatile", or "fsync=volatile" since 6.x)
like "$("$LAYERCTL" run --rm "$REG/busybox" grep ' / / ' /proc/self/mountinfo)" ' overlay .*,(fsync=)?volatile' \
	"run --rm: the overlay is volatile"
unlike "$("$LAYERCTL" run --name kept2 "$REG/busybox" grep ' / / ' /proc/self/mountinfo)" 'volatile' \
	"a container that stays: not volatile (its writes are synced at unmount)"
ok "$LAYERCTL" rm kept2

rc=0
out=$(traced "$TMPD/keep.trace" "$LAYERCTL" run --name kept "$REG/busybox" sh -c 'echo ran') || rc=$?
is "$rc:$out" "0:ran" "a run that keeps its container"
n=$(grep -cE '^[0-9]+ +fsync\(' "$TMPD/keep.trace" || true)
ok -m "records it durably ($n fsyncs)" test "$n" -ge 3
ok "$LAYERCTL" rm kept

done_testing
