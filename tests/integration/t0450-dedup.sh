#!/bin/bash
# File-level dedup: two images that share files but no layer (testdata/build-dedup-images.py)
# store each shared file once, hard-linked from both layers to the pool (objects/); du counts
# every inode once and says what the shared files save; a container writing to such a file
# copies it up and leaves the other image alone; gc after rmi keeps the other image's files.
. "$(dirname "$0")/../lib.sh"

plan 39

start_registry
push_images busybox
/usr/bin/python3 "$TOP/testdata/build-dedup-images.py" "$IMAGES_DIR/busybox" "$TMPD/img" >/dev/null ||
	bail_out "build-dedup-images.py failed"
for i in a b; do
	skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
		"oci:$TMPD/img/dedup-$i:latest" "docker://$REG/dedup-$i:latest" >>"$TMPD/skopeo.log" 2>&1 ||
		bail_out "skopeo copy dedup-$i failed: $(tail -n 3 "$TMPD/skopeo.log")"
done

mkdir -m 700 "$ROOT"
echo '{"dedup": true}' >"$ROOT/settings.json"
for i in a b; do
	ok -m "pull dedup-$i" "$LAYERCTL" pull -q "$REG/dedup-$i"
done
L=$ROOT/layers/sha256
layer() { "$LAYERCTL" inspect "$REG/dedup-$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["GraphDriver"]["Data"]["LowerDir"])'; }
A=$(layer a) B=$(layer b)
isnt "$A" "$B" "the two images share no layer"
ino() { stat -c %i "$1"; }
is "$(ino "$A/bin/busybox")" "$(ino "$B/bin/busybox")" "busybox is one inode in both layers"
is "$(ino "$A/data/shared.bin")" "$(ino "$B/data/shared.bin")" "so is data/shared.bin"
is "$(stat -c %h "$A/data/shared.bin")" 3 "linked from both layers and the pool"
isnt "$(ino "$A/data/own.bin")" "$(ino "$B/data/own.bin")" "different content: two files"
isnt "$(ino "$A/data/same-bytes")" "$(ino "$B/data/same-bytes")" \
	"the same bytes with another mtime: two files (a link shares the mtime)"
is "$(stat -c %h "$A/etc/resolv.conf")" 1 "an empty file is not pooled"
is "$(stat -c '%a %u %g %Y' "$A/data/shared.bin")" "644 0 0 0" "a pooled file keeps the tar's metadata"

# du: every inode once, as GNU du counts hard links
gnu() { du -sB1 -c "$@" | tail -n 1 | cut -f1; }
j() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$@"; }
json=$("$LAYERCTL" du -v --format json)
is "$(j "$json" 'd["LayersSize"]')" "$(gnu "$L"/*/)" "du's total is GNU du of every layer dir"
is "$(j "$json" '[l["Size"] for l in d["Layers"]] == [int(x) for x in sys.argv[3:]]' \
	"$(gnu "$L/$(j "$json" 'd["Layers"][0]["ID"][7:]')")" \
	"$(gnu "$L/$(j "$json" 'd["Layers"][1]["ID"][7:]')")")" True \
	"each layer's SIZE is GNU du of its dir alone"
saving=$(($(gnu "$A") + $(gnu "$B") - $(gnu "$A" "$B")))
is "$(j "$json" 'd["SharedFilesSaving"]')" "$saving" \
	"the shared files save what GNU du counts once for the two dirs together"
ok -m "that is at least busybox and shared.bin" test "$saving" -ge \
	$(($(stat -c %s "$A/bin/busybox") + 256 * 1024))
is "$(j "$json" '(d["SharedLayersSaving"], [i["SharedSize"] for i in d["Images"]])')" \
	"(0, [$saving, $saving])" "no layer is shared; each image's SHARED SIZE is the files the other links too"
is "$(j "$json" 'd["ApartSize"] - d["SharedLayersSaving"] - d["SharedFilesSaving"] == d["LayersSize"]')" \
	True "on disk: apart, less what layers and files save"
like "$("$LAYERCTL" du -v)" "Saved: 0B \(0 bytes\) by images sharing whole layers, and [0-9.]+[kM]B \($saving bytes\) on top by layers sharing files" \
	"du -v says what sharing saves"
is "$(j "$json" 'd["Layers"][0]["PooledSize"] > 0 and d["Layers"][1]["PooledSize"] > 0')" True \
	"each layer records the bytes it has in the pool"

# a container writes to the shared file: overlay copies it up, the other image is unchanged
orig=$(sha256sum <"$B/data/shared.bin")
out=$("$LAYERCTL" run --rm "$REG/dedup-a" sh -c 'echo changed >>/data/shared.bin; tail -c 8 /data/shared.bin; chmod 600 /bin/busybox' 2>&1)
is "$out" "changed" "the container sees its write"
is "$(sha256sum <"$B/data/shared.bin")" "$orig" "dedup-b's file is unchanged"
is "$(sha256sum <"$A/data/shared.bin")" "$orig" "and so is dedup-a's layer"
is "$(stat -c %a "$B/bin/busybox")" 755 "a chmod in the container is copied up too"
is "$("$LAYERCTL" run --rm "$REG/dedup-b" sh -c 'sha256sum /data/shared.bin')" \
	"${orig%% *}  /data/shared.bin" "a container of dedup-b reads the original"
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
is "$rc:$out" "0:" "verify: every layer and pool object as recorded"

# rmi + gc: dedup-b's files stay whole, what only dedup-a used goes from the pool
objs_before=$(ls "$ROOT/objects" | wc -l)
total_before=$(j "$json" 'd["LayersSize"]')
a_unique=$(j "$json" '[i["UniqueSize"] for i in d["Images"] if i["Repository"].endswith("/dedup-a")][0]')
ok -m "rmi dedup-a" "$LAYERCTL" rmi "$REG/dedup-a"
ok -m "gc" "$LAYERCTL" gc
ok -m "dedup-a's layer is gone" test ! -e "$A"
is "$(find "$ROOT/objects" -type f -links 1 | wc -l)" 0 "no pool object is left that no layer links"
is "$(ls "$ROOT/objects" | wc -l)" $((objs_before - 3)) \
	"only dedup-a's own files left the pool (data/own.bin, data/same-bytes, etc/image)"
is "$(sha256sum <"$B/data/shared.bin")" "$orig" "dedup-b's shared file is intact"
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
is "$rc:$out" "0:" "and dedup-b verifies"
total=$("$LAYERCTL" du -v --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["LayersSize"])')
is "$total" "$(gnu "$L"/*/)" "du's total is still GNU du of the layers"
is "$total" "$((total_before - a_unique))" "and dropped dedup-a's UNIQUE SIZE only"

# a pool object damaged behind the store's back: verify names it, --repair drops it from the
# pool and the layers linking it, a pull heals
obj=$(find "$ROOT/objects" -samefile "$B/data/shared.bin" -printf '%f\n')
printf 'X' | dd of="$ROOT/objects/$obj" bs=1 seek=10 conv=notrunc status=none
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
like "$rc:$out" "^1:.*pool object '$obj': content changed.*data/shared.bin: content changed" \
	"verify reports the pool object and the layer's file"
"$LAYERCTL" verify --repair >/dev/null 2>&1 || true
ok -m "a pull heals it" "$LAYERCTL" pull -q "$REG/dedup-b"
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
is "$rc:$out" "0:" "and the store verifies"

# the setting: off, a pull stores its own copies; a bad settings file is an error
echo '{"dedup": false}' >"$ROOT/settings.json"
ok -m "pull dedup-a without dedup" "$LAYERCTL" pull -q "$REG/dedup-a"
A=$(layer a) B=$(layer b)
isnt "$(ino "$A/bin/busybox")" "$(ino "$B/bin/busybox")" "dedup off: each layer has its own copy"
echo '{"dedupe": true}' >"$ROOT/settings.json"
rc=0; out=$("$LAYERCTL" images 2>&1) || rc=$?
like "$rc:$out" "^1:.*store settings: unknown key 'dedupe'" "a typo in settings.json is an error"

done_testing
