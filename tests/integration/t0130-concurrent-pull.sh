#!/bin/bash
# Two pulls of the same image at once: each layer is fetched and unpacked once (a lock per
# chain id), both succeed, and the store holds one copy.
. "$(dirname "$0")/../lib.sh"

plan 6

start_registry
push_images

"$LAYERCTL" --root "$ROOT" pull "$REG/nginx" >"$TMPD/a.out" 2>&1 &
a=$!
"$LAYERCTL" --root "$ROOT" pull "$REG/nginx" >"$TMPD/b.out" 2>&1 &
b=$!
rca=0; wait "$a" || rca=$?
rcb=0; wait "$b" || rcb=$?
is "$rca" 0 "the first pull succeeds"
is "$rcb" 0 "the second pull succeeds"
top=$(oci_layers nginx | sed -n 2p)
is "$(blob_get_count "$top")" 1 "the registry served the top layer once"
is "$(blob_get_count "$BASE_LAYER")" 1 "and the base layer once"
is "$(find "$ROOT/layers/sha256" -mindepth 1 -maxdepth 1 -type d | wc -l)" 2 "two layer dirs in the store"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/nginx" nginx -t 2>&1) || rc=$?
is "$rc" 0 "the image is whole"

done_testing
