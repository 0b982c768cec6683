#!/bin/bash
# save and load: images move without a registry. save rebuilds each layer's tar byte for byte
# from its tar-split record (image IDs unchanged, skopeo reads both formats); load reads what
# save and skopeo write (docker-archive, oci-archive, compressed, from stdin), skips the layers
# the store holds, and the images run.
. "$(dirname "$0")/../lib.sh"

plan 45

start_registry
push_images
L=$LAYERCTL
B=$REG/busybox N=$REG/nginx
ok -m "pull busybox" "$L" pull -q "$B"
ok -m "pull nginx" "$L" pull -q "$N"
id_b=$("$L" images -q --no-trunc "$B") id_n=$("$L" images -q --no-trunc "$N")
ok -m "every layer has a tar-split record" \
	test "$(find "$ROOT/layers/sha256" -name '*.tarsplit' | wc -l)" -eq 2

# save: docker-archive, both images, the shared base once
ok -m "save -o" "$L" save -o "$TMPD/both.tar" "$B" "$N"
tar tf "$TMPD/both.tar" >"$TMPD/list"
is "$(grep -c "^blobs/sha256/." "$TMPD/list")" 6 "2 layers (the shared base once), 2 configs, 2 manifests"
ok -m "docker's manifest.json and the OCI layout" grep -qx manifest.json "$TMPD/list"
like "$(tar xOf "$TMPD/both.tar" manifest.json)" "\"RepoTags\":\\[\"$B:latest\"\\]" "RepoTags"
is "$(skopeo inspect --format '{{.Digest}}' "docker-archive:$TMPD/both.tar:$N:latest" 2>&1 | cut -c1-7)" \
	"sha256:" "skopeo inspect docker-archive: accepts it"
is "$(skopeo inspect --raw --config "docker-archive:$TMPD/both.tar:$N:latest" | sha256sum | cut -d' ' -f1)" \
	"${id_n#sha256:}" "skopeo sees the same config (image ID)"
is "$(skopeo inspect --format '{{.Layers}}' "docker-archive:$TMPD/both.tar:$N:latest")" \
	"[$("$L" image inspect -f '{{json .RootFS.Layers}}' "$N" | tr -d '"[]' | tr ',' ' ')]" \
	"skopeo's layers are nginx's diff_ids"
"$L" save --format oci-archive "$N" >"$TMPD/n-oci.tar"
ok -m "save --format oci-archive to stdout" test -s "$TMPD/n-oci.tar"
is "$(skopeo inspect --raw --config "oci-archive:$TMPD/n-oci.tar" | sha256sum | cut -d' ' -f1)" \
	"${id_n#sha256:}" "skopeo inspect oci-archive: accepts it, same config"
unlike "$(tar tf "$TMPD/n-oci.tar")" "manifest.json" "oci-archive has no docker manifest.json"
ok -m "skopeo copies the oci-archive back to a layout" \
	skopeo --insecure-policy copy --quiet "oci-archive:$TMPD/n-oci.tar" "oci:$TMPD/n-layout:n"
# a repository named without a tag is every tag of it, as docker save: two images, three names
"$L" tag "$B" "$B:v2" && "$L" tag "$N" "$B:web"
ok -m "save of a repository (no tag)" "$L" save -o "$TMPD/repo.tar" "$B"
is "$(tar xOf "$TMPD/repo.tar" manifest.json | python3 -c '
import json, sys
print(" ".join(sorted(",".join(sorted(m["RepoTags"])) for m in json.load(sys.stdin))))')" \
	"$B:latest,$B:v2 $B:web" "  every tag of it, each image once"
ok -m "  the extra tags removed" "$L" rmi "$B:v2" "$B:web"
"$L" save "$B" >"$TMPD/b1.tar"
ok -m "saved twice: the same bytes (stdout and -o)" sh -c "'$L' save -o '$TMPD/b2.tar' '$B' && cmp '$TMPD/b1.tar' '$TMPD/b2.tar'"
out=$(script -qec "'$L' save '$B'" /dev/null 2>&1 || true)
like "$out" "cowardly refusing to save to a terminal" "no archive to a terminal"

# rm, load, same IDs, runs
ok -m "rmi both" "$L" rmi -f "$B" "$N"
ok -m "gc" "$L" gc
is "$(ls "$ROOT/layers/sha256" | wc -l)" 0 "the store holds no layer"
out=$("$L" load -i "$TMPD/both.tar")
like "$out" "Loaded image: $B:latest" "load says what it loaded (busybox)"
like "$out" "Loaded image: $N:latest" "and nginx"
is "$("$L" images -q --no-trunc "$B") $("$L" images -q --no-trunc "$N")" "$id_b $id_n" \
	"image IDs unchanged"
is "$("$L" run --rm "$N" cat /etc/nginx/nginx.conf >/dev/null && echo ran)" ran "loaded nginx runs"
ok -m "loaded layers verify" "$L" verify
ok -m "and save again, identical (their records came with the load)" \
	sh -c "'$L' save -o '$TMPD/both2.tar' '$B' '$N' && cmp '$TMPD/both.tar' '$TMPD/both2.tar'"
out=$("$L" load -i "$TMPD/both.tar")
is "$(grep -c 'Already exists' <<<"$out")" 3 "a second load skips every layer it holds"

# what skopeo writes
skopeo --insecure-policy copy --quiet "oci:$IMAGES_DIR/python:latest" \
	"docker-archive:$TMPD/py.tar:example.com/py:1" 2>>"$TMPD/skopeo.log"
skopeo --insecure-policy copy --quiet "oci:$IMAGES_DIR/python:latest" \
	"oci-archive:$TMPD/py-oci.tar:example.com/py:2" 2>>"$TMPD/skopeo.log"
out=$("$L" load -i "$TMPD/py.tar")
like "$out" "Already exists" "skopeo's docker-archive: the base layer is skipped"
like "$out" "Loaded image: example.com/py:1" "skopeo's docker-archive loads"
out=$(gzip -c "$TMPD/py-oci.tar" | "$L" load)
like "$out" "Loaded image: example.com/py:2" "skopeo's oci-archive loads gzipped from stdin"
py_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' \
	"$IMAGES_DIR/python/blobs/sha256/$(oci_manifest_digest python | cut -d: -f2)")
is "$("$L" images -q --no-trunc example.com/py:1)" "$py_id" "the image ID is its config's digest"
is "$("$L" images -q --no-trunc example.com/py:2)" "$py_id" "both ways"
is "$("$L" run --rm example.com/py:2 python3 -c 'print(6*7)')" 42 "it runs"

# saved by ID: no name (docker's RepoTags null), loaded as <none>
ok -m "save by ID" "$L" save -o "$TMPD/id.tar" "${id_b#sha256:}"
like "$(tar xOf "$TMPD/id.tar" manifest.json)" '"RepoTags":null' "by ID: RepoTags null"
like "$("$L" load -i "$TMPD/id.tar")" "Loaded image ID: $id_b" "docker's 'Loaded image ID:'"

# a damaged record: verify says so, --repair drops the layer, a pull unpacks it (and records
# it) again
top=$("$L" inspect -f '{{.GraphDriver.Data.LowerDir}}' "$N" | cut -d: -f1)
truncate -s 100 "$(readlink -f "$top").tarsplit"
out=$("$L" verify 2>&1) && rc=0 || rc=$?
like "$rc $out" "^1 .*corrupt tar-split record: it ends early" "verify reports a damaged record"
out=$("$L" verify --repair 2>&1) || true
like "$out" "$(basename "$(readlink -f "$top")"): removed" "verify --repair drops its layer"
ok -m "pull heals it" "$L" pull -q "$N"
ok -m "verify is clean again" "$L" verify
ok -m "and save works again" "$L" save -o "$TMPD/healed.tar" "$N"

# a layer changed on disk: save fails naming it, and leaves no file
f=$(find "$ROOT/layers/sha256" -path '*/bin/busybox' -type f | head -n 1)
chmod u+w "$f"
printf 'x' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
like "$("$L" save -o "$TMPD/bad.tar" "$B" 2>&1)" "changed on disk|changed in the layer" \
	"save of a changed layer fails naming it"
ok -m "and writes no archive" test ! -e "$TMPD/bad.tar"

done_testing
