#!/usr/bin/python3
"""build-multi-image.py BUSYBOX_LAYOUT OUTDIR

From the busybox OCI layout that build-images.sh makes, build OUTDIR: an OCI layout whose
"latest" is an image index with two platforms, to exercise what single-platform gzip images
do not:
  linux/amd64  the busybox layer re-compressed with zstd (same diff_id, other digest), then a
               small uncompressed tar layer holding /multi/platform = "amd64"
  linux/s390x  the busybox layer as gzip, then an uncompressed layer with "s390x"
The s390x image cannot run here; it is pulled, not run. Deterministic (tar with fixed
metadata; zstd -19 is deterministic for a given zstd version).
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

src, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def blob(digest):
    with open(os.path.join(src, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def small_tar(text):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("multi")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 0
        t.addfile(d)
        f = tarfile.TarInfo("multi/platform")
        data = (text + "\n").encode()
        f.size, f.mode, f.mtime = len(data), 0o644, 0
        t.addfile(f, io.BytesIO(data))
    return buf.getvalue()


index = json.load(open(os.path.join(src, "index.json")))
base_manifest = json.loads(blob(index["manifests"][0]["digest"]))
base_config = json.loads(blob(base_manifest["config"]["digest"]))
base_layer = base_manifest["layers"][0]
gz = blob(base_layer["digest"])
tar = subprocess.run(["gzip", "-dc"], input=gz, capture_output=True, check=True).stdout
zst = subprocess.run(["zstd", "-q", "-19", "-c"], input=tar, capture_output=True,
                     check=True).stdout

entries = []
for arch, layer0 in (("amd64", ("zstd", zst)), ("s390x", ("gzip", gz))):
    kind, data = layer0
    l0_digest, l0_size = put(data)
    top = small_tar(arch)
    l1_digest, l1_size = put(top)
    config = dict(base_config)
    config["architecture"] = arch
    config["rootfs"] = {"type": "layers", "diff_ids": [
        "sha256:" + hashlib.sha256(tar).hexdigest(),
        "sha256:" + hashlib.sha256(top).hexdigest()]}
    c_digest, c_size = put(json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": c_digest, "size": c_size},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+" + kind,
             "digest": l0_digest, "size": l0_size},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar",
             "digest": l1_digest, "size": l1_size},
        ],
    }
    m_digest, m_size = put(json.dumps(manifest, sort_keys=True).encode())
    entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": m_digest, "size": m_size,
                    "platform": {"os": "linux", "architecture": arch}})

idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": entries}
i_digest, i_size = put(json.dumps(idx, sort_keys=True).encode())
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": i_digest,
         "size": i_size, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion": "1.0.0"}')
print(i_digest)
