#!/bin/bash
# The bounds on what a pull unpacks, each at its edge: a gzip of zeros that would inflate to
# 1 GiB is stopped by the compression-ratio guard after 64 MiB, naming the limit and the flag
# that raises it, leaving nothing; per-layer bytes, per-image bytes and tar entries fail one
# past the limit and pass at it; `layerctl help limits` lists them all. And a --root that
# another user could swap is refused.
. "$(dirname "$0")/../lib.sh"

plan 28

start_registry
push_images busybox
/usr/bin/python3 "$TOP/testdata/build-bomb-image.py" "$TMPD/bomb" 1024 ||
	bail_out "building the bomb image failed"
skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
	"oci:$TMPD/bomb:latest" "docker://$REG/bomb:latest" >"$TMPD/skopeo-bomb.log" 2>&1 ||
	bail_out "skopeo copy bomb failed: $(tail -n 3 "$TMPD/skopeo-bomb.log")"

# nothing committed and no staging left in root $1
left_nothing() {
	local layers tmp
	layers=$(ls -A "$1/layers/sha256" 2>/dev/null | wc -l)
	tmp=$(ls -A "$1/tmp" 2>/dev/null | grep -v -x -e locks -e trash | wc -l)
	[[ $layers == 0 && $tmp == 0 && -z $("$LAYERCTL" --root "$1" images -q) ]]
}

out=$("$LAYERCTL" help limits)
for flag in --max-layer-size --max-image-size --max-layer-entries --max-compression-ratio; do
	like "$out" "pull $flag" "help limits names $flag"
done
like "$out" "zstd window +128 MiB" "and the fixed ones, with their values"

# the bomb: 1 GiB of zeros in ~1 MB of gzip
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/bomb" 2>&1) || rc=$?
is "$rc" 1 "a decompression bomb fails the pull"
like "$out" "inflates to more than 1000 times its compressed size" "naming the ratio limit"
like "$out" "raise it with --max-compression-ratio" "and the flag that raises it"
mib=$(sed -n 's/.*compressed size (\([0-9]*\) MiB from.*/\1/p' <<<"$out")
ok -m "it stopped early, once past 64 MiB (at ${mib:-?} MiB, not 1024)" \
	test "${mib:-0}" -ge 64 -a "${mib:-9999}" -lt 100
ok -m "nothing half-written stays" left_nothing "$ROOT"

# raised past what gzip reaches, the per-layer byte limit stops it
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull --max-compression-ratio 2000 \
	--max-layer-size 100m "$REG/bomb" 2>&1) || rc=$?
is "$rc" 1 "with the ratio raised, --max-layer-size 100m stops it"
like "$out" "layer unpacks to more than 100 MiB, the per-layer limit \(raise it with --max-layer-size\)" \
	"naming the limit and the flag"
ok -m "nothing half-written stays" left_nothing "$ROOT"

# the busybox layer, measured: its uncompressed stream and its entry count
read -r tar_len entries < <(/usr/bin/python3 - "$IMAGES_DIR/busybox" <<'PY'
import gzip, io, json, os, sys, tarfile
lay = sys.argv[1]
blob = lambda d: open(os.path.join(lay, "blobs", "sha256", d.split(":")[1]), "rb").read()
idx = json.load(open(os.path.join(lay, "index.json")))
man = json.loads(blob(idx["manifests"][0]["digest"]))
raw = gzip.decompress(blob(man["layers"][0]["digest"]))
print(len(raw), len(tarfile.open(fileobj=io.BytesIO(raw)).getmembers()))
PY
)
note "busybox layer: $tar_len bytes uncompressed, $entries entries"

edge() { # edge FLAG LIMIT-AT-WHICH-IT-PASSES MESSAGE
	local r1=$TMPD/r-$1-under r2=$TMPD/r-$1-at rc out
	rc=0; out=$("$LAYERCTL" --root "$r1" pull -q "$1" $(($2 - 1)) "$REG/busybox" 2>&1) || rc=$?
	is "$rc" 1 "$1 $(($2 - 1)): one under what the image needs fails"
	like "$out" "$3" "naming the limit and $1"
	ok -m "nothing half-written stays" left_nothing "$r1"
	ok -m "$1 $2: exactly what it needs passes" \
		"$LAYERCTL" --root "$r2" pull -q "$1" "$2" "$REG/busybox"
}
edge --max-layer-size "$tar_len" "the per-layer limit \(raise it with --max-layer-size\)"
edge --max-image-size "$tar_len" "image unpacks to more than $((tar_len - 1)) bytes, the per-image limit \(raise it with --max-image-size\)"
edge --max-layer-entries "$entries" "layer has more than $((entries - 1)) entries, the limit \(raise it with --max-layer-entries\)"

rc=0; "$LAYERCTL" --root "$ROOT" pull --max-layer-size 12q "$REG/busybox" 2>/dev/null || rc=$?
is "$rc" 125 "a malformed size is a flag error (docker's 125)"

# a store another user could swap: below a dir everyone can write, without the sticky bit
mkdir -m 0777 "$TMPD/pub" && chmod 0777 "$TMPD/pub"
rc=0; out=$("$LAYERCTL" --root "$TMPD/pub/s" pull -q "$REG/busybox" 2>&1) || rc=$?
is "$rc" 1 "a --root below a world-writable, non-sticky dir is refused"
like "$out" "refusing store '$TMPD/pub/s': its parent '$TMPD/pub' is writable by every user and not sticky" \
	"saying why"

done_testing
