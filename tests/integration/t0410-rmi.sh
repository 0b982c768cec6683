#!/bin/bash
# Image verbs: tag, rmi (refused while a container uses the image, untag first, delete what no
# other image needs), inspect, history, images --filter; du follows.
. "$(dirname "$0")/../lib.sh"


start_registry
push_images

for i in nginx python; do
	ok -m "pull $i" "$LAYERCTL" pull -q "$REG/$i"
done
dujson() { "$LAYERCTL" du -v --format json; }
size_of() { python3 -c '
import json, sys
d = json.loads(sys.argv[1])
i = [i for i in d["Images"] if i["Repository"].endswith("/'"$2"'")]
print(i[0]["'"$3"'"] if i else "none")' "$1"; }
before=$(dujson)
total_before=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["LayersSize"])' "$before")

# tag: a second name for one image
ok -m "tag python" "$LAYERCTL" tag "$REG/python" "$REG/snake:v1"
py_id=$("$LAYERCTL" images --no-trunc --format json | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["Repository"].endswith("/python"): print(o["ID"])')
is "$("$LAYERCTL" images --format json | grep -c '"Tag":"v1"')" 1 "the new tag is listed"
rc=0; out=$("$LAYERCTL" rmi "${py_id:7:12}" 2>&1) || rc=$?
is "$rc" 1 "rmi by ID of an image with two names is refused"
like "$out" "must be forced.*referenced in multiple repositories" "docker's conflict message"
rc=0; out=$("$LAYERCTL" tag "$REG/python" "$REG/x@sha256:$(printf '%064d' 0)" 2>&1) || rc=$?
is "$rc" 1 "tag refuses a digest reference"

# inspect and history
json=$("$LAYERCTL" inspect "$REG/python")
is "$(python3 -c '
import json, sys
[i] = json.loads(sys.argv[1])
print(i["Id"] == sys.argv[2], sorted(t.split("/")[-1] for t in i["RepoTags"]), len(i["RootFS"]["Layers"]),
      i["Os"], i["Size"] > 0, len(i["GraphDriver"]["Data"]["LowerDir"].split(":")), i["RepoDigests"][0].split("@")[1][:7])' \
	"$json" "$py_id")" "True ['python:latest', 'snake:v1'] 2 linux True 2 sha256:" \
	"inspect: Id, both RepoTags, RootFS layers, Os, Size, LowerDir, RepoDigests"
lower=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["GraphDriver"]["Data"]["LowerDir"])' "$json")
ok -m "inspect's LowerDir are the layer dirs" test -d "${lower%%:*}/bin" -o -d "${lower##*:}/bin"
rc=0; "$LAYERCTL" inspect "$REG/nope" >/dev/null 2>"$TMPD/err" || rc=$?
is "$rc" 1 "inspect of a missing image fails"
like "$(cat "$TMPD/err")" "No such object: $REG/nope" "with docker's message (no container, no image of that name)"
rc=0; "$LAYERCTL" image inspect "$REG/nope" >/dev/null 2>"$TMPD/err" || rc=$?
like "$rc $(cat "$TMPD/err")" "^1 .*No such image" "image inspect: No such image"
hist=$("$LAYERCTL" history "$REG/python")
like "$hist" "^IMAGE +CREATED +CREATED BY +SIZE +COMMENT" "history: docker's columns"
is "$(grep -c . <<<"$hist")" "$(($(python3 -c '
import json, sys
print(len(json.loads(sys.argv[1])[0]["History"] or []))' "$json") + 1))" \
	"history: one line per history entry"
like "$(sed -n 2p <<<"$hist")" "^${py_id:7:12} " "the newest entry carries the image ID"

# images --filter
is "$("$LAYERCTL" images --filter "reference=*/snake" --format json | grep -c '"Tag":"v1"')" 1 \
	"images --filter reference= matches the repository"
is "$("$LAYERCTL" images --filter "reference=*/nomatch*" -q | wc -l)" 0 "and nothing else"
is "$("$LAYERCTL" images --filter dangling=true -q | wc -l)" 0 "no image is dangling"
is "$("$LAYERCTL" images --filter dangling=false -q | wc -l)" 3 "dangling=false: all three names"

# a running python container: rmi python is refused, rmi nginx is not
mkfifo "$TMPD/in"
"$LAYERCTL" run --rm -i "$REG/python" sh -c 'echo up; read x; echo still here' \
	<"$TMPD/in" >"$TMPD/run.out" 2>&1 &
lpid=$!
exec {hold}>"$TMPD/in"
for _ in $(seq 100); do grep -q up "$TMPD/run.out" && break; sleep 0.1; done
ok -m "untag snake:v1" "$LAYERCTL" rmi "$REG/snake:v1"
rc=0; out=$("$LAYERCTL" rmi "$REG/python" 2>&1) || rc=$?
is "$rc" 1 "rmi of an image a container uses is refused"
like "$out" "container [0-9a-f]{12} is using its referenced image ${py_id:7:12}" "and says which"
out=$("$LAYERCTL" rmi "$REG/nginx")
like "$out" "^Untagged: $REG/nginx:latest"$'\n'"Deleted: sha256:" "rmi nginx: Untagged, then Deleted"
is "$(grep -c '^Deleted: ' <<<"$out")" 2 "the image and its own layer, not the shared base"
after=$(dujson)
nginx_unique=$(size_of "$before" nginx UniqueSize)
is "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["LayersSize"])' "$after")" \
	"$((total_before - nginx_unique))" "du drops nginx's unique bytes only"
is "$(size_of "$after" python SharedSize) $(size_of "$after" python Size)" \
	"0 $(size_of "$before" python Size)" "python keeps its size; its base is no longer shared"
# rmi -f while the container runs: only untagged, the container still needs every layer
out=$("$LAYERCTL" rmi -f "$REG/python")
is "$out" "Untagged: $REG/python:latest" "rmi -f python: untagged, nothing deleted yet"
is "$(find "$ROOT/layers/sha256" -mindepth 1 -maxdepth 1 -type d | wc -l)" 2 "python's two layers stay"
echo >&"$hold"
exec {hold}>&-
wait "$lpid" && rc=0 || rc=$?
is "$rc" 0 "python ran to its end"
like "$(cat "$TMPD/run.out")" "still here" "undisturbed"

# gc after both are gone empties the store
out=$("$LAYERCTL" gc)
like "$out" "deleted layer: sha256:.*Total reclaimed space: [1-9]" "gc removes what the container held"
is "$(ls "$ROOT/layers/sha256" | wc -l) $(ls "$ROOT/blobs/sha256" | wc -l) $(ls "$ROOT/l" | wc -l)" \
	"0 0 0" "no layer, blob or short link is left"
is "$(find "$ROOT/tmp/locks" -name '*.lock' ! -name gc.lock | wc -l)" 0 "nor a lock file"
rc=0; out=$("$LAYERCTL" rmi "$REG/python" 2>&1) || rc=$?
is "$rc" 1 "rmi of a missing image fails"
like "$out" "No such image" "docker's message"

done_testing
