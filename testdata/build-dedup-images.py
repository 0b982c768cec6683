#!/usr/bin/python3
"""build-dedup-images.py BUSYBOX_LAYOUT OUTDIR

From the busybox OCI layout that build-images.sh makes, build two OCI layouts, OUTDIR/dedup-a
and OUTDIR/dedup-b ("latest"), that share files but no layer, for the store's file-level dedup:
each is ONE layer holding the busybox layer's entries (byte for byte the same files, so the
same content, mode, owner and mtime) and then:
  data/shared.bin      256 KiB, the same in both (shared)
  data/own.bin         64 KiB, different in each (not shared)
  data/same-bytes      64 KiB, the same bytes in both but another mtime (not shared: a hard
                       link would give one of them the other's mtime)
  etc/image            "a" or "b"
so the two layers (and their diff_ids, chain ids) differ. Deterministic: fixed contents, a
fixed seed, mtime fixed, gzip with mtime 0.
"""
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

src, out = sys.argv[1], sys.argv[2]


def blob(digest):
    with open(os.path.join(src, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def data(seed, size):
    return random.Random(seed).randbytes(size)


def add_file(t, name, content, mtime=0, mode=0o644):
    f = tarfile.TarInfo(name)
    f.size, f.mode, f.mtime, f.uid, f.gid = len(content), mode, mtime, 0, 0
    t.addfile(f, io.BytesIO(content))


def layer(which, base_tar):
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(base_tar)) as src_t, \
            tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in src_t.getmembers():
            t.addfile(m, src_t.extractfile(m) if m.isfile() else None)
        d = tarfile.TarInfo("data")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 0
        t.addfile(d)
        add_file(t, "data/shared.bin", data(1, 256 << 10))
        add_file(t, "data/own.bin", data(which, 64 << 10))
        add_file(t, "data/same-bytes", data(2, 64 << 10), mtime=1000 + ord(which))
        add_file(t, "etc/image", (which + "\n").encode())
    return buf.getvalue()


index = json.load(open(os.path.join(src, "index.json")))
base_manifest = json.loads(blob(index["manifests"][0]["digest"]))
base_config = json.loads(blob(base_manifest["config"]["digest"]))
base_tar = gzip.decompress(blob(base_manifest["layers"][0]["digest"]))

for which in ("a", "b"):
    dout = os.path.join(out, "dedup-" + which)
    os.makedirs(os.path.join(dout, "blobs", "sha256"), exist_ok=True)

    def put(b):
        d = hashlib.sha256(b).hexdigest()
        with open(os.path.join(dout, "blobs", "sha256", d), "wb") as f:
            f.write(b)
        return "sha256:" + d, len(b)

    tar = layer(which, base_tar)
    gz = gzip.compress(tar, mtime=0)
    l_digest, l_size = put(gz)
    config = dict(base_config)
    config["rootfs"] = {"type": "layers",
                        "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}
    config["history"] = [{"created": config.get("created", "2024-01-01T00:00:00Z"),
                          "created_by": "testdata/build-dedup-images.py: " + which}]
    c_digest, c_size = put(json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": c_digest, "size": c_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": l_digest, "size": l_size}],
    }
    m_digest, m_size = put(json.dumps(manifest, sort_keys=True).encode())
    with open(os.path.join(dout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_digest,
             "size": m_size, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
            f)
    with open(os.path.join(dout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    print(m_digest)
