#!/bin/bash
# A pull killed mid-download (SIGKILL: no cleanup runs) leaves only tmp/ debris: no image, no
# half layer. The next pull sweeps the debris and completes.
. "$(dirname "$0")/../lib.sh"

plan 9

start_registry
push_images
start_hubproxy --cdn-rate 400000 # the 7.5 MB python layer takes ~19 s

"$LAYERCTL" --root "$ROOT" pull "$HUB/python" >"$TMPD/pull.out" 2>&1 &
pid=$!
# wait until a layer is being unpacked in tmp/
for _ in $(seq 100); do
	compgen -G "$ROOT/tmp/ingest-*" >/dev/null && break
	sleep 0.1
done
sleep 0.5
ok -m "the pull is still running" kill -0 "$pid"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true

top=$(oci_layers python | sed -n 2p)
# (look before running layerctl again: opening the store sweeps debris nobody holds)
ok -m "only tmp/ holds debris" test -n "$(compgen -G "$ROOT/tmp/ingest-*")"
is "$(grep -ls "$top" "$ROOT"/layers/sha256/*.json | wc -l)" 0 "no record of the interrupted layer"
rc=0; out=$("$LAYERCTL" --root "$ROOT" images) || rc=$?
is "$(printf '%s\n' "$out" | grep -c python)" 0 "no image named python"

# the same layers from the registry directly: one store, chain ids shared across names
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/python" 2>&1) || rc=$?
is "$rc" 0 "the next pull completes"
like "$out" "${top:7:12}: Pull complete" "the interrupted layer is pulled again"
is "$(find "$ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name locks ! -name trash | wc -l)" 0 \
	"the debris was swept"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/python" python3 -c 'print(6*7)' 2>&1) || rc=$?
is "$out" 42 "the image runs"
is "$(find "$ROOT/layers/sha256" -mindepth 1 -maxdepth 1 -type d | wc -l)" 2 "two layers, once each"

done_testing
