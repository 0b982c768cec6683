#!/bin/bash
# mount IMAGE DIR / unmount IMAGE|DIR: a read-only overlay view of an image's merged tree,
# whiteouts and opaque dirs applied; gc keeps what a mount shows.
. "$(dirname "$0")/../lib.sh"

start_registry

# three layers: files, then whiteouts (a file, a dir made opaque, a top file), then a whole
# dir whited out and new files
python3 - "$TMPD/wh" <<'PY'
import hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
os.makedirs(f"{out}/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(b)
    return "sha256:" + d, len(b)
def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            i = tarfile.TarInfo(name)
            i.mtime = 1700000000
            if data is None:
                i.type, i.mode = tarfile.DIRTYPE, 0o755
                t.addfile(i)
            else:
                i.size, i.mode = len(data), 0o644
                t.addfile(i, io.BytesIO(data))
    return buf.getvalue()
layers = [
    layer([("a", None), ("a/x", b"x"), ("a/y", b"y"), ("b", None), ("b/1", b"1"),
           ("b/2", b"2"), ("top1", b"t1"), ("d", None), ("d/keep", b"k")]),
    layer([("a", None), ("a/.wh.x", b""), ("b", None), ("b/.wh..wh..opq", b""),
           ("b/3", b"3"), (".wh.top1", b""), ("top2", b"t2")]),
    layer([("a", None), ("a/z", b"z"), ("c", None), ("c/f", b"f"), (".wh.d", b"")]),
]
descs, diffs = [], []
for l in layers:
    d, n = put(l)
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n})
    diffs.append(d)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": diffs},
                  "history": [{"created_by": "layer %d" % i} for i in range(3)]}).encode()
c, cn = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                             "digest": c, "size": cn}, "layers": descs}).encode()
m, mn = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": m, "size": mn, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
          open(f"{out}/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(f"{out}/oci-layout", "w"))
PY
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$TMPD/wh:latest" \
	"docker://$REG/wh:latest" >"$TMPD/skopeo.log" 2>&1 || bail_out "skopeo: $(cat "$TMPD/skopeo.log")"
ok -m "pull the three-layer image" "$LAYERCTL" pull -q "$REG/wh"

tree() { (cd "$1" && find . -mindepth 1 -printf '%y %P\n' | sort | tr '\n' ' '); }
want="d a d b d c f a/y f a/z f b/3 f c/f f top2 "
mkdir "$TMPD/mnt"
out=$("$LAYERCTL" mount "$REG/wh" "$TMPD/mnt")
is "$out" "$TMPD/mnt" "mount prints the dir"
is "$(tree "$TMPD/mnt")" "$want" "the merged tree: whiteouts hide, opaque dirs hide, new files show"
is "$(cat "$TMPD/mnt/a/y" "$TMPD/mnt/b/3" "$TMPD/mnt/top2")" "y3t2" "with their contents"
nok -m "the view is read-only" touch "$TMPD/mnt/new"
like "$(findmnt -n -o OPTIONS "$TMPD/mnt")" "ro,.*nosuid,nodev" "mounted ro, nosuid, nodev"
ok -m "unmount IMAGE" "$LAYERCTL" unmount "$REG/wh"
is "$(tree "$TMPD/mnt")" "" "the dir is empty again"
nok -m "unmount IMAGE when it is not mounted fails" "$LAYERCTL" unmount "$REG/wh"
nok -m "unmount refuses a dir layerctl did not mount" "$LAYERCTL" unmount "$TMPD"

# rmi while mounted: untagged, but gc keeps what the mount shows until it is gone
ok -m "mount again" "$LAYERCTL" mount "$REG/wh" "$TMPD/mnt"
out=$("$LAYERCTL" rmi "$REG/wh")
is "$out" "Untagged: $REG/wh:latest" "rmi while mounted only untags"
"$LAYERCTL" gc >/dev/null
is "$(tree "$TMPD/mnt")" "$want" "after gc the view is whole"
ok -m "unmount DIR" "$LAYERCTL" unmount "$TMPD/mnt"
like "$("$LAYERCTL" gc)" "deleted layer: .*deleted layer: .*deleted layer: " "then gc removes the layers"
is "$(ls "$ROOT/layers/sha256" | wc -l)" 0 "all of them"

# a single layer: overlay without an upper dir wants two lowers (an empty one goes below)
push_images busybox
ok -m "pull busybox" "$LAYERCTL" pull -q "$REG/busybox"
ok -m "mount a one-layer image" "$LAYERCTL" mount "$REG/busybox" "$TMPD/mnt"
ok -m "its tree shows" test -x "$TMPD/mnt/bin/busybox"
ok -m "unmount it" "$LAYERCTL" unmount "$TMPD/mnt"

done_testing
