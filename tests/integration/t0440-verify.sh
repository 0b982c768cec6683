#!/bin/bash
# verify [--repair]: every blob re-hashed, every layer walked against the manifest recorded at
# unpack time; what --repair drops, a pull heals. A damaged refs.json is rebuilt from the blobs.
. "$(dirname "$0")/../lib.sh"

start_registry
push_images

for i in nginx python; do
	ok -m "pull $i" "$LAYERCTL" pull -q "$REG/$i"
done
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
is "$rc:$out" "0:" "a fresh store verifies, silently"
ls "$ROOT"/layers/sha256/*.files >/dev/null 2>&1
ok -m "every layer has a manifest" test "$(ls "$ROOT"/layers/sha256/*.files | wc -l)" -eq 3

# one byte changed in a file of nginx's own layer
top=$("$LAYERCTL" inspect "$REG/nginx" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["GraphDriver"]["Data"]["LowerDir"].split(":")[0])')
f=$(cd "$top" && find . -type f -size +1k | sort | head -n 1)
f=${f#./}
cp "$top/$f" "$TMPD/orig"
printf 'X' | dd of="$top/$f" bs=1 seek=100 conv=notrunc status=none
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
is "$rc" 1 "verify fails"
like "$out" "layer sha256:${top##*/}: $f: content changed" "and names the file that changed"
chmod 0600 "$top/$f"
like "$("$LAYERCTL" verify 2>&1)" "$f: mode changed" "a changed mode is reported too"
rc=0; out=$("$LAYERCTL" verify --repair 2>&1) || rc=$?
is "$rc" 1 "verify --repair reports what it found"
like "$out" "layer sha256:${top##*/}: removed" "and drops the damaged layer"
like "$("$LAYERCTL" verify 2>&1)" "image '$REG/nginx:latest': layer sha256:${top##*/} is missing" \
	"then the image is incomplete"
out=$("$LAYERCTL" pull "$REG/nginx" 2>&1)
like "$out" "Pull complete" "a pull fetches the layer again"
rc=0; out=$("$LAYERCTL" verify 2>&1) || rc=$?
is "$rc:$out" "0:" "and the store verifies"
ok -m "the file is whole again" cmp "$TMPD/orig" "$top/$f"

# a corrupt blob (python's config)
cfg=$("$LAYERCTL" inspect "$REG/python" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"][7:])')
chmod u+w "$ROOT/blobs/sha256/$cfg"
printf 'X' | dd of="$ROOT/blobs/sha256/$cfg" bs=1 seek=1 conv=notrunc status=none
rc=0; out=$("$LAYERCTL" images 2>&1) || rc=$?
is "$rc" 0 "images still works with one broken image"
like "$out" "warning: image '$REG/python:latest'" "warns about it"
like "$out" "$REG/nginx +latest" "and lists the others"
like "$("$LAYERCTL" verify --repair 2>&1)" "blob sha256:$cfg: corrupt .*removed" "verify --repair drops the corrupt blob"
ok -m "a pull heals it" "$LAYERCTL" pull -q "$REG/python"
ok -m "the store verifies again" "$LAYERCTL" verify

# refs.json damaged: nothing works until verify --repair rebuilds it from the blobs
echo '{"refs": {' >"$ROOT/refs/refs.json"
nok -m "images refuses a damaged refs.json" "$LAYERCTL" images
rc=0; out=$("$LAYERCTL" verify --repair 2>&1) || rc=$?
is "$rc" 1 "verify --repair reports it"
like "$out" "refs/refs.json: rebuilt from the blobs: 2 unnamed image" "and rebuilds it"
out=$("$LAYERCTL" images)
is "$(grep -c '^<none> ' <<<"$out")" 2 "both images are back, unnamed"
is "$("$LAYERCTL" images --filter dangling=true -q | wc -l)" 2 "and dangling"
ok -m "a pull names nginx again" "$LAYERCTL" pull -q "$REG/nginx"
like "$("$LAYERCTL" image prune -f)" "Total reclaimed space: [1-9]" "image prune drops the dangling ones"
is "$("$LAYERCTL" images --format json | python3 -c '
import json, sys
print(" ".join(json.loads(l)["Repository"].rsplit("/")[-1] for l in sys.stdin))')" "nginx" \
	"nginx stays"
ok -m "and the store verifies" "$LAYERCTL" verify

done_testing
