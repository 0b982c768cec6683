#!/bin/bash
# make demo is the lesson: it runs clean, offline, in under a minute, shows each step's
# point (a shared layer not downloaded again, PID 1 inside and other pids outside, namespace
# inodes, the OOM kill's 137, the upper dir, a trace), and leaves nothing behind: no temp dir,
# no mount, no cgroup, no process, no registry.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 17

CG=/sys/fs/cgroup
cgroups() { find "$CG" -maxdepth 3 -type d -path '*layerctl*' 2>/dev/null | sort; }
demo_tmp=$TMPD/demo-tmp
mkdir -p "$demo_tmp"
before_cg=$(cgroups)

start=$(date +%s)
rc=0
LC_TEST_TMPDIR=$demo_tmp make --no-print-directory -C "$TOP" demo >"$TMPD/demo.out" 2>&1 </dev/null || rc=$?
secs=$(($(date +%s) - start))
out=$(cat "$TMPD/demo.out")
is "$rc" 0 "make demo runs clean"
[[ $rc -eq 0 ]] || diag "$(tail -n 30 "$TMPD/demo.out")"
ok -m "in under a minute ($secs s)" test "$secs" -lt 60
like "$out" '\$ layerctl pull 127\.0\.0\.1:[0-9]+/python' "each step shows the command as typed, without --root"
unlike "$out" 'layerctl --root' "never with the temp store"
like "$out" "Already exists" "the shared layer is not downloaded again"
like "$out" "downloaded [0-9.]+ [kMG]?B for a [0-9.]+ [kMG]?B image; 1 of 2 layers were already here" "pull tells the story in numbers"
like "$out" "[0-9]+ images: [0-9.]+[kMG]?B if stored apart, [0-9.]+[kMG]?B on disk" "du -v's closing line"
like "$out" $'PID +USER +COMMAND\n +1 root +sleep 600' "inside, the app is PID 1"
like "$out" "root +[0-9]+ +1 +[0-9]+ .*sleep 600" "top: the host's pid next to the container's 1"
n_pidns=$(grep -oE 'pid:\[[0-9]+\]' <<<"$out" | sort -u | wc -l)
ok -m "three different pid namespace inodes: two containers and the host ($n_pidns)" test "$n_pidns" -ge 3
like "$out" $'A /etc/motd\n[^\n]*\nhello' "the file written lands in the upper dir"
like "$out" "exit status: 137" "the OOM experiment ends in 137"
like "$out" 'trace: pivot_root' "a trace of one run"

# nothing left behind
is "$(find "$demo_tmp" -mindepth 1 -maxdepth 1 | wc -l)" 0 "no temp dir left"
is "$(findmnt -rn -o TARGET | grep -cF "$demo_tmp" || true)" 0 "no mount left"
is "$(pgrep -fc "$demo_tmp" || true)" 0 "no process left (the registry, the containers)"
is "$(cgroups)" "$before_cg" "no cgroup left (not even the parent, unless it was there)"

done_testing
