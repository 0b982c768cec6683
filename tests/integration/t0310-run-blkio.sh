#!/bin/bash
# --device-write-bps and --device-write-iops on a loop device, the lesson's way: the store (and
# so the container's upper dir) on a filesystem of that device, a dd with O_DIRECT in the
# container slowed to about the limit; the same dd without a limit is fast.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl
command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null || skip_all "no losetup or mkfs.ext4"
[[ -d /sys/fs/cgroup/blkio || -f /sys/fs/cgroup/cgroup.controllers ]] || skip_all "no blkio/io cgroup"
[[ -f /sys/fs/cgroup/cgroup.controllers ]] && ! grep -qw io /sys/fs/cgroup/cgroup.controllers &&
	skip_all "cgroup v2 without the io controller"

truncate -s 96M "$TMPD/disk.img"
LOOP=$(losetup -f --show "$TMPD/disk.img" 2>/dev/null) || skip_all "no loop device available"
# run last-registered first: unmount, then detach
at_cleanup losetup -d "$LOOP"
mkfs.ext4 -q -F "$LOOP" >/dev/null 2>&1 || bail_out "mkfs.ext4 $LOOP failed"
mkdir "$TMPD/mnt"
mount "$LOOP" "$TMPD/mnt" || bail_out "mount $LOOP failed"
at_cleanup umount -l "$TMPD/mnt"
R=$TMPD/mnt/root
PARENT=lctest-$TEST_ID

plan 7

start_registry
push_images busybox
ok -m "pull busybox into a store on $LOOP" "$LAYERCTL" --root "$R" pull -q "$REG/busybox"

# timed_dd [RUN OPTIONS]: seconds (2 decimals) a dd in the container takes to write
# $COUNT blocks of $BS with O_DIRECT into its upper dir, on $LOOP
timed_dd() {
	local t0 t1 rc=0
	t0=$(date +%s%N)
	"$LAYERCTL" --root "$R" run --rm --cgroup-parent "$PARENT" "$@" "$REG/busybox" \
		dd if=/dev/zero of=/f bs="$BS" count="$COUNT" oflag=direct 2>"$TMPD/dd.err" || rc=$?
	t1=$(date +%s%N)
	[[ $rc -eq 0 ]] || { diag "dd: exit $rc: $(cat "$TMPD/dd.err")"; echo 999; return; }
	local cs=$(((t1 - t0) / 10000000)) # centiseconds: 7 is 0.07 s, not 7 s
	printf '%d.%02d\n' $((cs / 100)) $((cs % 100))
}
# in_range VALUE LOW HIGH: LOW <= VALUE <= HIGH, decimals allowed
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

BS=1M COUNT=6
t=$(timed_dd --pids-limit 100)
ok -m "6 MiB with O_DIRECT without a rate limit: fast (${t} s)" in_range "$t" 0 1.5
t=$(timed_dd --device-write-bps "$LOOP:2mb")
ok -m "--device-write-bps $LOOP:2mb: 6 MiB take about 3 s (${t} s)" in_range "$t" 2.2 12
BS=4k COUNT=60
t=$(timed_dd --pids-limit 100)
ok -m "60 writes of 4k without a limit: fast (${t} s)" in_range "$t" 0 1.5
t=$(timed_dd --device-write-iops "$LOOP:20")
ok -m "--device-write-iops $LOOP:20: 60 writes take about 3 s (${t} s)" in_range "$t" 2.2 12

# a rate on a device that is not a block device, docker's words, 125
rc=0
"$LAYERCTL" --root "$R" run --rm --device-write-bps "$TMPD/disk.img:1mb" "$REG/busybox" true 2>"$TMPD/err" || rc=$?
like "$rc:$(cat "$TMPD/err")" "^125:.*is not an absolute path" "a rate on a file outside /dev is refused (125)"

left=$(find /sys/fs/cgroup -maxdepth 3 -path "*$PARENT/*" -type d 2>/dev/null || true)
is "$left" "" "no cgroup left under the test's parent"

done_testing
