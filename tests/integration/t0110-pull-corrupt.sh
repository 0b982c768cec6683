#!/bin/bash
# A registry that serves altered bytes: the pull fails naming the digest, the store keeps no trace.
. "$(dirname "$0")/../lib.sh"

plan 8

start_registry
push_images

top=$(oci_layers nginx | sed -n 2p)
data=$(registry_blob_data_path "$top")
ok test -f "$data"
# flip one byte in the middle of the blob the registry will serve
size=$(stat -c %s "$data")
printf 'X' | dd of="$data" bs=1 seek=$((size / 2)) conv=notrunc status=none

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/nginx:latest" 2>&1) || rc=$?
is "$rc" 1 "the pull fails"
like "$out" "digest mismatch" "naming a digest mismatch"
like "$out" "${top:7:12}" "for the altered layer"
is "$(grep -l "${top}" "$ROOT"/layers/sha256/*.json 2>/dev/null | wc -l)" 0 "no layer record of it"
# (a layer cancelled midway keeps its bytes in tmp/partial-<hex> for the next pull)
is "$(find "$ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name locks ! -name trash ! -name 'partial-*' | wc -l)" 0 \
	"no staging debris"
ok -m "the altered layer's bytes are not kept to resume from" test ! -e "$ROOT/tmp/partial-${top#sha256:}"
out=$("$LAYERCTL" --root "$ROOT" images)
is "$(printf '%s\n' "$out" | grep -c nginx)" 0 "and no image named nginx"

done_testing
