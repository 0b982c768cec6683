#!/bin/bash
# An interrupted pull never starts over. The base layer stalls halfway while the top layer
# arrives whole (it cannot commit before the layer below it); kill -9. The next pull replays
# both ingest files: the top layer is not asked for at all, the base is asked for the rest
# with Range (206). The tmp/ sweep keeps ingest files for a day, no longer.
. "$(dirname "$0")/../lib.sh"

plan 12

start_registry
push_images busybox python
base=$BASE_LAYER
top=$(oci_layers python | sed -n 2p)
top_size=$(stat -c %s "$(registry_blob_data_path "$top")")
base_size=$(stat -c %s "$(registry_blob_data_path "$base")")
start_hubproxy --stall-blob "$base"

"$LAYERCTL" --root "$ROOT" pull "$HUB/python" >"$TMPD/pull.out" 2>&1 &
pid=$!
ptop=$ROOT/tmp/partial-${top#sha256:}
pbase=$ROOT/tmp/partial-${base#sha256:}
for _ in $(seq 300); do
	[[ $(stat -c %s "$ptop" 2>/dev/null) == "$top_size" && $(stat -c %s "$pbase" 2>/dev/null || echo 0) -gt 0 ]] && break
	sleep 0.1
done
ok -m "the pull is still running" kill -0 "$pid"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
is "$(stat -c %s "$ptop")" "$top_size" "the top layer's bytes all arrived"
got=$(stat -c %s "$pbase")
ok -m "the base layer's stopped halfway ($got of $base_size)" test "$got" -gt 0 -a "$got" -lt "$base_size"

tops=$(blob_get_count "$top")
bases=$(blob_get_count "$base")
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/python" 2>&1) || rc=$?
is "$rc" 0 "the next pull completes"
is "$(blob_get_count "$top")" "$tops" "the top layer is not asked for again"
is "$(blob_get_count "$base")" "$((bases + 1))" "the base layer is asked for once more"
_lc_registry_log_sync
is "$(grep -cE "\"GET /v2/python/blobs/$base HTTP/[0-9.]+\" 206 $((base_size - got)) " "$REG_LOG" || true)" 1 \
	"for the rest of its bytes (Range: 206, $((base_size - got)) bytes)"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/python" python3 -c 'print(6*7)' 2>&1) || rc=$?
is "$out" 42 "the image runs"
is "$(find "$ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name locks ! -name trash | wc -l)" 0 \
	"the committed layers' ingest files are gone"

# the sweep: an ingest file nobody holds is kept a day, then removed
old=$ROOT/tmp/partial-$(printf '%064d' 1)
new=$ROOT/tmp/partial-$(printf '%064d' 2)
echo x >"$old"
echo x >"$new"
touch -d '25 hours ago' "$old"
ok -m "a command that opens the store" "$LAYERCTL" --root "$ROOT" images
ok -m "keeps a fresh ingest file" test -e "$new"
ok -m "and removes one older than a day" test ! -e "$old"

done_testing
