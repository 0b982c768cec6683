#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""build-bomb-image.py OUTDIR MIB

An OCI layout (tag "latest") whose one layer is a decompression bomb: the gzip of a tar holding
one file of MIB MiB of zeros (gzip -9 reaches ~1030x: 1024 MiB become ~1 MB). Streamed: the
inflated tar is never held in memory. Deterministic. Used by t0600 (the compression-ratio guard).
"""
import hashlib
import json
import os
import sys
import tarfile
import zlib

out, mib = sys.argv[1], int(sys.argv[2])
size = mib << 20
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


ti = tarfile.TarInfo("zeros")
ti.size, ti.mtime, ti.mode = size, 1_600_000_000, 0o644
header = ti.tobuf(format=tarfile.USTAR_FORMAT)
tail = bytes((512 - size % 512) % 512) + bytes(1024)
diff = hashlib.sha256()
comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
gz = bytearray()
chunk = bytes(1 << 20)
diff.update(header)
gz += comp.compress(header)
for _ in range(mib):
    diff.update(chunk)
    gz += comp.compress(chunk)
diff.update(tail)
gz += comp.compress(tail) + comp.flush()
layer = put(bytes(gz))
layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
config = put(json.dumps({
    "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
    "config": {"Cmd": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]},
}, sort_keys=True).encode())
config["mediaType"] = "application/vnd.oci.image.config.v1+json"
manifest = put(json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": [layer],
}, sort_keys=True).encode())
manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
manifest["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
