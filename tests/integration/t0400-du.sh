#!/bin/bash
# du / system df: exact bytes on disk from the layers' metadata, shared bytes counted as docker
# counts them, and equal to what GNU du reports for the same dirs.
. "$(dirname "$0")/../lib.sh"

plan 21

start_registry
push_images

for i in nginx python; do
	ok -m "pull $i" "$LAYERCTL" pull -q "$REG/$i"
done
L=$ROOT/layers/sha256
base=$("$LAYERCTL" du -v --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(l["ID"] for l in d["Layers"] if len(l["ImageIDs"]) == 2))')
is "$(wc -w <<<"$base")" 1 "one layer is used by both images"
gnu() { du -sB1 -c "$@" | tail -n 1 | cut -f1; } # GNU du, hard links once
# chain ids of an image's layers, bottom first
chain() { "$LAYERCTL" du -v --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
img = [i["ID"] for i in d["Images"] if i["Repository"].endswith("/'"$1"'")][0]
print(" ".join(l["ID"][7:] for l in d["Layers"] if img in l["ImageIDs"]))'; }
field() { "$LAYERCTL" du -v --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
i = [i for i in d["Images"] if i["Repository"].endswith("/'"$1"'")][0]
print(i["'"$2"'"])'; }
base_bytes=$(gnu "$L/${base#sha256:}")
dirs_of() { local c; for c in $(chain "$1"); do printf '%s\n' "$L/$c"; done; }
mapfile -t ndirs < <(dirs_of nginx)
mapfile -t pdirs < <(dirs_of python)
# what GNU du counts once for the two images' dirs together: the base layer and, with the
# store's dedup, the files both images' own layers hold too (one inode, hard-linked)
both=$(($(gnu "${ndirs[@]}") + $(gnu "${pdirs[@]}") - $(gnu "${ndirs[@]}" "${pdirs[@]}")))
is "$(field nginx SharedSize)" "$both" "nginx's SHARED SIZE: the bytes GNU du counts once for both images"
is "$(field python SharedSize)" "$both" "python's too"
ok -m "that is the base layer dir (GNU du) and, with dedup, the files both link" \
	test "$both" -ge "$base_bytes"
for i in nginx python; do
	dirs=()
	for c in $(chain "$i"); do dirs+=("$L/$c"); done
	is "$(field "$i" Size)" "$(gnu "${dirs[@]}")" "$i's SIZE is GNU du of its layer dirs"
	is "$(($(field "$i" Size) - $(field "$i" SharedSize)))" "$(field "$i" UniqueSize)" \
		"$i: SIZE = SHARED + UNIQUE"
done
json=$("$LAYERCTL" du -v --format json)
total=$(gnu "$L"/*/)
is "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["LayersSize"])' "$json")" \
	"$total" "the layers' total is GNU du of every layer dir"
is "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(d["ApartSize"] == sum(i["Size"] for i in d["Images"]) ==
      d["LayersSize"] + int(sys.argv[2]) + d["SharedFilesSaving"], d["SharedLayersSaving"])' \
	"$json" "$base_bytes")" "True $base_bytes" "stored apart they would take the base twice"

out=$("$LAYERCTL" du)
like "$out" $'TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +2 +0 ' "du: docker's summary table"
like "$out" $'\nContainers +0 +0 +0B +0B\nLocal Volumes +0 +0 +0B +0B' "no containers, no volumes"
is "$("$LAYERCTL" system df)" "$out" "system df is du"
is "$("$LAYERCTL" du --format json | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["Type"] == "Images": print(o["TotalCount"], o["Size"], o["Reclaimable"])')" \
	"2 $total $total" "du --format json: numbers of bytes"
out=$("$LAYERCTL" du -v)
like "$out" "Images space usage:.*SHARED SIZE +UNIQUE SIZE +CONTAINERS" "du -v: the images table"
like "$out" "${base:7:12} +[0-9.]+[kMG]?B +$REG/nginx:latest, $REG/python:latest" \
	"du -v: the shared layer and the images that use it"

# a running container: its writable layer, and the image it uses is active
mkfifo "$TMPD/in"
"$LAYERCTL" run --rm -i "$REG/python" sh -c 'head -c 300000 /dev/zero >/big; echo up; read x' \
	<"$TMPD/in" >"$TMPD/run.out" 2>&1 &
lpid=$!
exec {hold}>"$TMPD/in"
for _ in $(seq 100); do grep -q up "$TMPD/run.out" && break; sleep 0.1; done
cid=$(ls "$ROOT/containers")
json=$("$LAYERCTL" du -v --format json)
is "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
c = d["Containers"][0]
py = [i for i in d["Images"] if i["Repository"].endswith("/python")][0]
print(c["ID"], c["Size"], c["Status"], c["ImageID"] == py["ID"], py["Containers"])' "$json")" \
	"$cid $(gnu "$ROOT/containers/$cid/upper") Running True 1" \
	"du -v: the container's writable layer (GNU du of upper/) and the image it uses"
like "$("$LAYERCTL" du)" $'\nImages +2 +1 .*\nContainers +1 +1 ' "du: one active image, one running container"
echo >&"$hold"
exec {hold}>&-
wait "$lpid" || true

# du reads the metadata recorded at unpack time: bytes added behind its back do not show
dd if=/dev/zero of="$L/${base#sha256:}/lc-du-probe" bs=1M count=4 status=none
is "$("$LAYERCTL" du -v --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["LayersSize"])')" \
	"$total" "du never walks a layer's tree"
rm -f "$L/${base#sha256:}/lc-du-probe"

done_testing
