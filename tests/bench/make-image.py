#!/usr/bin/python3 -I
"""make-image.py OUTDIR BUSYBOX_LAYOUT [--entries N] [--layers L] [--big-mib M] [--tiny L]
[--tag T]: build a bench image as an OCI layout in OUTDIR.

The image ("latest") has the busybox base layer blob of BUSYBOX_LAYOUT
(testdata/build-images.sh), byte for byte, then:
  - by default one generated layer of ~20,000 entries (~150 MB uncompressed, gzip -6): about
    1,000 directories, 18,200 regular files of log-uniform sizes from 32 B to 48 KiB plus a
    few files of several MB, 600 symlinks and 200 hard links. Most contents are word-like text
    (gzip ~3x), one in five files is incompressible, like the binaries of a real image;
    --entries N scales the counts (the few big files only from 20,000 on), --layers L makes L
    such layers of N entries each (in dirs of their own);
  - --big-mib M: one layer holding one file of M MiB of text (gzip -1, ~3x), for memory bounds;
  - --tiny L: L layers of one small file each, for the cost of many layers;
  - --tag T: a small file saying T in the generated layer (distinct images, same shape).

Deterministic: a fixed seed, sorted entries, mtime 0, uid/gid 0, `gzip -n`; the same script and
base layer give the same digests. The layer is streamed straight into gzip (no staging tree:
mass-creating and deleting files here would slow the ext4 the bench then measures).
Prints the number of tar entries of the whole image (both layers) on stdout.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

SEED = 20240101
CREATED = "2024-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def die(msg):
    sys.exit("make-image: " + msg)


class HashingWriter(io.RawIOBase):
    """Forward writes to f, hashing them (the uncompressed layer's diff_id)."""

    def __init__(self, f):
        super().__init__()
        self.f = f
        self.h = hashlib.sha256()

    def writable(self):
        return True

    def write(self, b):
        self.h.update(b)
        self.f.write(b)
        return len(b)


def put_blob(blobs, data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, hexd), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + hexd, "size": len(data)}


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def count_entries(gz_path):
    with tarfile.open(gz_path, "r|gz") as t:
        return sum(1 for _ in t)


def gen_sources():
    rnd = random.Random(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 10))) for _ in range(6000)]
    words = rnd.choices(vocab, k=1_400_000)
    for i in range(0, len(words), 12):
        words[i] += "\n"
    text = " ".join(words).encode()  # ~9 MB of text
    noise = rnd.randbytes(4 << 20)
    return text, noise


class Repeat(io.RawIOBase):
    """size bytes of src over and over (a big file without holding it)."""

    def __init__(self, src, size):
        super().__init__()
        self.src, self.left, self.off = src, size, 0

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left, len(self.src) - self.off)
        b[:n] = self.src[self.off:self.off + n]
        self.off = (self.off + n) % len(self.src)
        self.left -= n
        return n


def write_layer(tmp_tar_gz, level, add_entries):
    """Stream the tar that add_entries(tar) writes through gzip; (diff_id, entries)."""
    with open(tmp_tar_gz, "wb") as out:
        gz = subprocess.Popen(["gzip", "-n", "-%d" % level], stdin=subprocess.PIPE, stdout=out)
        hw = HashingWriter(gz.stdin)
        with tarfile.open(fileobj=hw, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            n = add_entries(tar)
        gz.stdin.close()
        if gz.wait() != 0:
            die("gzip failed")
    return "sha256:" + hw.h.hexdigest(), n


def tinfo(path, kind, mode, size=0, link=""):
    ti = tarfile.TarInfo(path)
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.type, ti.mode, ti.size, ti.linkname = kind, mode, size, link
    return ti


def gen_big(tmp_tar_gz, text, mib):
    def add(tar):
        tar.addfile(tinfo("opt", tarfile.DIRTYPE, 0o755))
        tar.addfile(tinfo("opt/big.txt", tarfile.REGTYPE, 0o644, mib << 20),
                    io.BufferedReader(Repeat(text, mib << 20), 1 << 20))
        return 2
    return write_layer(tmp_tar_gz, 1, add)


def gen_tiny(tmp_tar_gz, k):
    def add(tar):
        data = ("layer %d\n" % k).encode()
        tar.addfile(tinfo("tiny", tarfile.DIRTYPE, 0o755))
        tar.addfile(tinfo("tiny/%04d" % k, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
        return 2
    return write_layer(tmp_tar_gz, 6, add)


def gen_layer(tmp_tar_gz, sources, n_entries=20000, k=0, tag=None):
    text, noise = sources
    rnd = random.Random(SEED + k)
    scale = n_entries / 20000
    N_DIRS = max(8, int(1000 * scale))
    N_BIG = 8 if n_entries >= 20000 else 0
    N_FILES = max(1, int(18200 * scale))
    N_SYMLINKS = int(600 * scale)
    N_HARDLINKS = int(200 * scale)

    top = ["usr/share/bench", "usr/lib/bench", "opt/bench", "var/lib/bench"]
    if k:
        top = [t + "%d" % k for t in top]
    dirs = set()
    for t in top:
        p = ""
        for comp in t.split("/"):
            p = p + "/" + comp if p else comp
            dirs.add(p)
    dir_list = list(top)
    while len(dirs) < N_DIRS:
        parent = rnd.choice(dir_list)
        d = "%s/d%03d" % (parent, rnd.randrange(1000))
        if d.count("/") > 8 or d in dirs:
            continue
        dirs.add(d)
        dir_list.append(d)
    dir_list.sort()

    entries = {}  # path -> (kind, arg)
    for d in dirs:
        entries[d] = ("dir", None)
    files = []
    while len(files) < N_FILES:
        p = "%s/f%05d%s" % (rnd.choice(dir_list), rnd.randrange(100000),
                            rnd.choice([".txt", ".py", ".so", ".json", ".h", ""]))
        if p in entries:
            continue
        size = int(round(2 ** rnd.uniform(5, 15.58)))  # 32 B .. 48 KiB, log-uniform
        src = noise if rnd.random() < 0.2 else text
        off = rnd.randrange(len(src) - size)
        mode = 0o755 if p.endswith(".so") or rnd.random() < 0.05 else 0o644
        entries[p] = ("file", (src, off, size, mode))
        files.append(p)
    if tag:
        entries["opt/bench/tag"] = ("file", (tag.encode(), 0, len(tag), 0o644))
        files.append("opt/bench/tag")
    for i in range(N_BIG):
        p = "opt/bench/big%02d.bin" % i
        size = rnd.randint(2 << 20, 4 << 20)
        src = noise if i % 2 else text
        entries[p] = ("file", (src, rnd.randrange(len(src) - size), size, 0o644))
        files.append(p)
    n = 0
    while n < N_SYMLINKS:
        p = "%s/l%05d" % (rnd.choice(dir_list), rnd.randrange(100000))
        if p in entries:
            continue
        entries[p] = ("symlink", os.path.relpath(rnd.choice(files), os.path.dirname(p)))
        n += 1
    n = 0
    while n < N_HARDLINKS:
        p = "%s/h%05d" % (rnd.choice(dir_list), rnd.randrange(100000))
        if p in entries:
            continue
        entries[p] = ("hardlink", rnd.choice(files))
        n += 1

    # sorted by path components, so a directory comes before its contents (like tar --sort=name);
    # a hard link must come after its target
    order = sorted(entries, key=lambda p: p.split("/"))
    pos = {p: i for i, p in enumerate(order)}
    late = [p for p in order if entries[p][0] == "hardlink" and pos[entries[p][1]] > pos[p]]
    order = [p for p in order if p not in set(late)] + late

    def add(tar):
        for p in order:
            kind, arg = entries[p]
            ti = tarfile.TarInfo(p)
            ti.mtime = 0
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(ti)
            elif kind == "file":
                src, off, size, mode = arg
                ti.type, ti.mode, ti.size = tarfile.REGTYPE, mode, size
                tar.addfile(ti, io.BytesIO(src[off:off + size]))
            elif kind == "symlink":
                ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, arg
                tar.addfile(ti)
            else:
                ti.type, ti.mode, ti.linkname = tarfile.LNKTYPE, 0o644, arg
                tar.addfile(ti)
        return len(order)
    return write_layer(tmp_tar_gz, 6, add)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("base")
    ap.add_argument("--entries", type=int, default=20000)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--big-mib", type=int, default=0)
    ap.add_argument("--tiny", type=int, default=0)
    ap.add_argument("--tag", default=None)
    args = ap.parse_args()
    out, base = args.out, args.base
    idx = json.load(open(os.path.join(base, "index.json")))
    bman_d = idx["manifests"][0]["digest"].split(":", 1)[1]
    bman = json.load(open(os.path.join(base, "blobs/sha256", bman_d)))
    if len(bman["layers"]) != 1:
        die("%s: expected one layer" % base)
    blayer = bman["layers"][0]
    bcfg = json.load(open(os.path.join(base, "blobs/sha256", bman["config"]["digest"].split(":", 1)[1])))
    bdiff = bcfg["rootfs"]["diff_ids"][0]

    with open(os.path.abspath(__file__), "rb") as f:
        stamp = hashlib.sha256(f.read() + blayer["digest"].encode() +
                               repr(sorted(vars(args).items())).encode()).hexdigest()
    stamp_file = os.path.join(out, ".stamp")
    if os.path.isfile(stamp_file):
        old = open(stamp_file).read().split()
        if len(old) == 2 and old[0] == stamp and os.path.isfile(os.path.join(out, "index.json")):
            print(old[1])
            return

    work = out + ".tmp"
    shutil.rmtree(work, ignore_errors=True)
    blobs = os.path.join(work, "blobs/sha256")
    os.makedirs(blobs)
    shutil.copyfile(os.path.join(base, "blobs/sha256", blayer["digest"].split(":", 1)[1]),
                    os.path.join(blobs, blayer["digest"].split(":", 1)[1]))
    tmp = os.path.join(work, "layer.tar.gz")
    layers, diff_ids, n_gen = [], [], 0
    sources = gen_sources() if not args.tiny else None
    n_layers = args.tiny or (1 if args.big_mib else args.layers)
    for k in range(n_layers):
        if args.tiny:
            diff_id, n = gen_tiny(tmp, k)
        elif args.big_mib:
            diff_id, n = gen_big(tmp, sources[0], args.big_mib)
        else:
            diff_id, n = gen_layer(tmp, sources, args.entries, k, args.tag)
        hexd = file_digest(tmp)
        size = os.path.getsize(tmp)
        os.rename(tmp, os.path.join(blobs, hexd))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + hexd, "size": size})
        diff_ids.append(diff_id)
        n_gen += n

    cfg = {"architecture": "amd64", "os": "linux", "created": CREATED,
           "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
           "history": [{"created": CREATED, "created_by": "testdata/build-images.sh: busybox base"}] +
                      [{"created": CREATED, "created_by": "tests/bench/make-image.py: generated files"}] * len(layers),
           "rootfs": {"type": "layers", "diff_ids": [bdiff] + diff_ids}}
    cd = put_blob(blobs, json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode())
    cd["mediaType"] = "application/vnd.oci.image.config.v1+json"
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": cd, "layers": [blayer] + layers}
    md = put_blob(blobs, json.dumps(man, separators=(",", ":")).encode())
    md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    md["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    md["platform"] = {"architecture": "amd64", "os": "linux"}
    with open(os.path.join(work, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(work, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": [md]}, f, separators=(",", ":"))

    # the base layer must be what its config says, the generated one re-read as gzip
    with gzip.open(os.path.join(blobs, blayer["digest"].split(":", 1)[1]), "rb") as f:
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != bdiff:
        die("base layer does not match its diff_id")
    n_total = n_gen + count_entries(os.path.join(blobs, blayer["digest"].split(":", 1)[1]))

    shutil.rmtree(out, ignore_errors=True)
    os.rename(work, out)
    with open(stamp_file, "w") as f:
        f.write("%s %d\n" % (stamp, n_total))
    print(n_total)


if __name__ == "__main__":
    main()
