#!/bin/bash
# A damaged store is healed by pulling: a config blob whose bytes changed on disk, a manifest
# cut short and a layer that lost its metadata are each found, warned about in one line and
# fetched again; the pull exits 0 and the image runs.
. "$(dirname "$0")/../lib.sh"

plan 10

start_registry
push_images busybox nginx

ok -m "first pull" "$LAYERCTL" --root "$ROOT" pull "$REG/nginx"
cfg=$(oci_config_digest nginx)
man=$(oci_manifest_digest nginx)
top=$(oci_layers nginx | sed -n 2p)
cfgfile=$ROOT/blobs/sha256/${cfg#sha256:}
# flip a byte of the config (blobs are read-only: as root we write anyway)
printf 'X' | dd of="$cfgfile" bs=1 seek=10 conv=notrunc status=none
# cut the manifest short
truncate -s 20 "$ROOT/blobs/sha256/${man#sha256:}"
# a layer dir without its .json: the one whose record names the top layer
meta=$(grep -l "$top" "$ROOT"/layers/sha256/*.json)
rm -f "$meta"

rc=0; "$LAYERCTL" --root "$ROOT" run --rm "$REG/nginx" true >/dev/null 2>&1 || rc=$?
isnt "$rc" 0 "the damaged image does not run"

rc=0; "$LAYERCTL" --root "$ROOT" pull "$REG/nginx" >"$TMPD/out" 2>"$TMPD/err" || rc=$?
is "$rc" 0 "pull exits 0"
like "$(cat "$TMPD/err")" "Warning: blob ${cfg} is corrupt: .*; fetching it again" \
	"the corrupt config is named in a warning"
like "$(cat "$TMPD/err")" "Warning: blob ${man} is corrupt" "so is the manifest"
is "$(grep -c '^Warning:' "$TMPD/err")" 2 "one line each"
like "$(cat "$TMPD/out")" "${top:7:12}: Pull complete" "the layer without metadata is pulled again"
is "$(sha256sum <"$cfgfile" | cut -d' ' -f1)" "${cfg#sha256:}" "the config is whole again"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/nginx" nginx -t 2>&1) || rc=$?
is "$rc" 0 "the image runs"
is "$(find "$ROOT/layers/sha256" -mindepth 1 -maxdepth 1 -type d | wc -l)" 2 "two layer dirs, no stale one"

done_testing
