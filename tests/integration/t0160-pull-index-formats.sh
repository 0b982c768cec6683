#!/bin/bash
# A multi-platform index with zstd and uncompressed layers: the host's platform is chosen, any
# other on request, a missing one is named with what exists; a layer already in the store under
# another compression is not downloaded again (the config's diff_ids decide).
. "$(dirname "$0")/../lib.sh"

plan 15

start_registry
push_images busybox
command -v zstd >/dev/null || bail_out "zstd not installed"
/usr/bin/python3 "$TOP/testdata/build-multi-image.py" "$IMAGES_DIR/busybox" "$TMPD/multi" >/dev/null ||
	bail_out "building the multi-platform image failed"
skopeo --insecure-policy copy --quiet --all --preserve-digests --dest-tls-verify=false \
	"oci:$TMPD/multi:latest" "docker://$REG/multi:latest" >"$TMPD/skopeo-multi.log" 2>&1 ||
	bail_out "skopeo copy multi failed: $(tail -n 3 "$TMPD/skopeo-multi.log")"

ok -m "pull busybox (gzip base layer)" "$LAYERCTL" --root "$ROOT" pull -q "$REG/busybox"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/multi" 2>&1) || rc=$?
is "$rc" 0 "pull a multi-platform index"
like "$out" ": Already exists" "the zstd copy of the base layer is skipped: same diff_id"
is "$(blob_get_count "$BASE_LAYER")" 1 "the base layer was downloaded only for busybox"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/multi" cat /multi/platform 2>&1) || rc=$?
is "$out" amd64 "the host's platform was chosen (and no warning)"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/multi" sh -c 'ls /bin/busybox' 2>&1) || rc=$?
is "$out" /bin/busybox "its layers stack (the base is there)"

# a fresh store: the zstd layer itself is downloaded, inflated and verified
rc=0; out=$("$LAYERCTL" --root "$TMPD/fresh" run --rm "$REG/multi" cat /multi/platform 2>&1) || rc=$?
is "$rc" 0 "a zstd layer and an uncompressed layer unpack"
like "$out" "amd64$" "and run"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull --platform linux/s390x "$REG/multi" 2>&1) || rc=$?
is "$rc" 0 "--platform pulls another platform"
# its layers are busybox's amd64 binaries under another platform's name: it runs, with docker's warning
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/multi" cat /multi/platform 2>"$TMPD/warn") || rc=$?
is "$rc/$out" 0/s390x "the other platform's image runs (its binaries are amd64)"
like "$(cat "$TMPD/warn")" "^WARNING: The requested image's platform \(linux/s390x\) does not match the detected host platform \(linux/amd64\) and no specific platform was requested\$" \
	"with docker's warning on stderr"
is "$("$LAYERCTL" --root "$ROOT" run --rm --platform linux/s390x "$REG/multi" cat /multi/platform 2>&1)" s390x \
	"no warning once --platform asks for it"
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull --platform linux/arm64 "$REG/multi" 2>&1) || rc=$?
is "$rc" 1 "a platform the index lacks fails"
like "$out" "no matching manifest for linux/arm64" "naming what was asked"
like "$out" "available: .*linux/amd64.*linux/s390x|available: .*linux/s390x.*linux/amd64" \
	"and what exists"

done_testing
