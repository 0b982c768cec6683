#!/bin/bash
# A full disk mid-pull: one clear line naming what failed, and what the store held before
# (an image, its layers) stays whole and usable.
. "$(dirname "$0")/../lib.sh"

plan 7

start_registry
push_images

small=$TMPD/small
mkdir -p "$small"
mount -t tmpfs -o size=6m,mode=0700 lctest-small "$small"
at_cleanup umount -l "$small"

rc=0; out=$("$LAYERCTL" --root "$small/store" pull "$REG/busybox" 2>&1) || rc=$?
is "$rc" 0 "busybox fits"

rc=0; out=$("$LAYERCTL" --root "$small/store" pull "$REG/python" 2>&1) || rc=$?
is "$rc" 1 "python does not"
like "$out" "No space left on device" "the error says the disk is full"
note "$out"
is "$(printf '%s\n' "$out" | grep -c '^layerctl:')" 1 "in one line"
is "$(find "$small/store/tmp" -mindepth 1 -maxdepth 1 ! -name locks ! -name trash | wc -l)" 0 \
	"no staging debris is left"
rc=0; out=$("$LAYERCTL" --root "$small/store" run --rm "$REG/busybox" echo still here 2>&1) || rc=$?
is "$out" "still here" "the image pulled before still runs"
rc=0; out=$("$LAYERCTL" --root "$small/store" images) || rc=$?
is "$(printf '%s\n' "$out" | grep -c python)" 0 "and no python image appeared"

done_testing
