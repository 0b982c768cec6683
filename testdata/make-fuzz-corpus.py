#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the fuzz targets (tests/fuzz/fuzz_<target>.c) from real inputs.

usage: make-fuzz-corpus.py OUTDIR [IMAGES_DIR]

IMAGES_DIR holds the test images that build-images.sh makes (default testdata/out; built when
missing). OUTDIR/<target>/<name> gets one file per seed, deterministic. Files named crash-*
(reproducers of crashes the fuzzer found, copied verbatim from its output) are left alone;
every other file in OUTDIR/<target>/ is rewritten. Never edit the output by hand.

Sources: the manifests, indexes and configs of the test images (and of the two-platform index
build-multi-image.py makes); layers as docker and GNU tar write them (the /etc of the busybox
layer in ustar, pax and GNU formats, gzip and zstd), the unit suite's hostile tars
(make-hostile-tars.py); /etc/passwd and /etc/group of the busybox image and of this host;
hosts.toml files as containerd documents them; the WWW-Authenticate
challenges, token answers and error bodies that Docker Hub, GHCR, Quay,
GCR and docker-registry send; references as users type them.
"""
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# the Content-Type table of fuzz_manifest.c: the seed's first byte picks one
CT_NONE, CT_OCI_INDEX, CT_OCI_MANIFEST, CT_DOCKER_LIST, CT_DOCKER_MANIFEST, CT_JSON = range(6)
CT_OF = {
    "application/vnd.oci.image.index.v1+json": CT_OCI_INDEX,
    "application/vnd.oci.image.manifest.v1+json": CT_OCI_MANIFEST,
    "application/vnd.docker.distribution.manifest.list.v2+json": CT_DOCKER_LIST,
    "application/vnd.docker.distribution.manifest.v2+json": CT_DOCKER_MANIFEST,
}

REFS = [
    "nginx", "nginx:1.25", "library/nginx", "docker.io/library/nginx:latest",
    "index.docker.io/library/busybox:1.36", "ubuntu@sha256:" + "a" * 64,
    "nginx:latest@sha256:" + "0123456789abcdef" * 4, "quay.io/podman/stable:v4",
    "ghcr.io/owner/repo/sub:tag-1.2_3", "gcr.io/distroless/static-debian12:nonroot",
    "localhost:5000/x", "localhost/app", "127.0.0.1:5000/busybox:latest",
    "[::1]:5000/ns/img:t", "registry.example.com:443/a/b/c", "user/app",
    "Docker.io/x", "a" * 64, "nginx:" + "t" * 128, "a.b/c..d", "foo/BAR",
    "my-registry.local:5000/team/app__x:v1", "nginx@md5:abc", "x:", "",
]

CHALLENGES = [
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    'scope="repository:library/nginx:pull"',
    'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/r:pull"',
    'Bearer realm="https://quay.io/v2/auth",service="quay.io"',
    'Bearer realm="https://gcr.io/v2/token",service="gcr.io",scope="repository:p/i:pull"',
    'Bearer realm="http://127.0.0.1:5001/token",service="S",scope="repository:busybox:pull"',
    'Basic realm="Registry Realm"',
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    'error="insufficient_scope"',
    'Basic realm="x", Bearer realm="https://r/t", service="s"',
    'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
    'Basic YWxhZGRpbjpvcGVuc2VzYW1l==',
    'bearer REALM="https://r/t",Service=s',
]

TOKENS = [
    {"token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
     "expires_in": 300, "issued_at": "2024-01-01T00:00:00.000000000Z"},
    {"token": "djE6b3duZXIvcmVwbzoxNzA0MDY3MjAw"},
    {"access_token": "a", "expires_in": 0},
    {"token": "t", "expires_in": 99999999},
    {"token": ""},
    {"token": "line\nbreak"},
]
ERRORS = [
    {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown",
                 "detail": {"Tag": "nope"}}]},
    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required",
                 "detail": [{"Type": "repository", "Class": "", "Name": "library/x",
                             "Action": "pull"}]}]},
    {"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate "
                 "limit. You may increase the limit by authenticating and upgrading: "
                 "https://www.docker.com/increase-rate-limits"}]},
    {"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"},
                {"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]},
]

# hosts.toml files as containerd's documentation and users write them
HOSTS = [
    'server = "https://registry-1.docker.io"\n\n'
    '[host."https://mirror.gcr.io"]\n  capabilities = ["pull", "resolve"]\n',
    'server = "https://docker.io"\n\n[host."https://registry-1.docker.io"]\n'
    '  capabilities = ["pull", "resolve"]\n  skip_verify = true\n',
    '[host."https://mirror.example.com"]\n  capabilities = ["pull"]\n'
    '  ca = "/etc/certs/mirror.pem"\n  client = [["/etc/certs/client.cert", "client.key"]]\n',
    '[host."https://10.0.0.1:5000/v2/"]\n  override_path = true\n  ca = ["a.pem", "b.pem"]\n'
    '  client = "both.pem"\n  dial_timeout = "3s"\n'
    '[host."https://10.0.0.1:5000/v2/".header]\n  x-custom = ["1"]\n',
    "# a comment\nserver = 'http://127.0.0.1:5000'\n[host.'http://127.0.0.1:5001']\n"
    "  capabilities = [\n    'pull',\n    'resolve',\n  ]\n  client = ['c.cert', 'c.key']\n",
    '[plugins."io.containerd.grpc.v1.cri"]\n  x = 1\n[host."https://m"]\n  skip_verify = false\n',
    'server = "https://registry.k8s.io"\n[host."https://k8s.mirror"]\n'
    '  capabilities = ["pull", "resolve", "push"]\n',
    '',
]

DOCKER_CONFIGS = [
    ("registry.example.com", {"auths": {"registry.example.com": {"auth": "dXNlcjpwYXNz"}}}),
    ("docker.io", {"auths": {"https://index.docker.io/v1/": {"auth": "bWU6c2VjcmV0"}},
                   "credsStore": "desktop"}),
    ("127.0.0.1:5000", {"auths": {"http://127.0.0.1:5000": {"auth": "Ojpub3VzZXI="},
                                  "127.0.0.1:5000/v2/": {"auth": "YTpi"}}}),
    ("ghcr.io", {"auths": {"ghcr.io": {}}, "credHelpers": {"gcr.io": "gcloud"}}),
    ("quay.io", {"auths": []}),
]

USER_SPECS = ["root", "0", "www-data", "33", "daemon:nogroup", "nobody:65534", "1000:1000",
              "www-data:root", "65534:nogroup", "2147483647"]


def put(out, target, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def ensure_images(images):
    if not os.path.isdir(os.path.join(images, "busybox")):
        subprocess.run([os.path.join(HERE, "build-images.sh"), images, "--quiet"], check=True)


def layout_blobs(layout):
    """(name, bytes) of every blob of an OCI layout, and of its index.json."""
    yield "index.json", open(os.path.join(layout, "index.json"), "rb").read()
    for p in sorted(glob.glob(os.path.join(layout, "blobs", "sha256", "*"))):
        yield os.path.basename(p), open(p, "rb").read()


def busybox_layer(images):
    """The busybox image's only layer, as a tarfile.TarFile (gzip inflated)."""
    layout = os.path.join(images, "busybox")
    idx = json.load(open(os.path.join(layout, "index.json")))
    man = json.load(open(os.path.join(layout, "blobs", "sha256",
                                      idx["manifests"][0]["digest"].split(":")[1])))
    blob = open(os.path.join(layout, "blobs", "sha256",
                             man["layers"][0]["digest"].split(":")[1]), "rb").read()
    return tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)))


def manifests(out, images, tmp):
    multi = os.path.join(tmp, "multi")
    subprocess.run([sys.executable, os.path.join(HERE, "build-multi-image.py"),
                    os.path.join(images, "busybox"), multi], check=True,
                   stdout=subprocess.DEVNULL)
    seen = set()
    for layout in [os.path.join(images, n) for n in ("busybox", "nginx", "python")] + [multi]:
        for name, data in layout_blobs(layout):
            if not data.startswith(b"{") or len(data) > 65536:
                continue
            key = hashlib.sha256(data).hexdigest()[:16]
            if key in seen:
                continue
            seen.add(key)
            mt = json.loads(data).get("mediaType")
            ct = CT_OF.get(mt, CT_NONE)
            put(out, "manifest", "%s-%s" % (os.path.basename(layout), key), bytes([ct]) + data)
            if ct != CT_NONE:
                # served as application/json by a static server, and with no Content-Type
                put(out, "manifest", "%s-%s-json" % (os.path.basename(layout), key),
                    bytes([CT_JSON]) + data)


def tars(out, images, tmp):
    layer = busybox_layer(images)
    etc = [m for m in layer.getmembers()
           if m.name.startswith("etc") or m.isdir() or m.name in ("bin/sh", "bin/ls")]
    for fmt, fname in ((tarfile.USTAR_FORMAT, "ustar"), (tarfile.PAX_FORMAT, "pax"),
                       (tarfile.GNU_FORMAT, "gnu")):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
            for m in etc:
                t.addfile(m, layer.extractfile(m) if m.isfile() else None)
        raw = buf.getvalue()
        put(out, "tar", "busybox-etc-" + fname, raw)
        if fname == "pax":
            put(out, "tar", "busybox-etc-pax.gz", gzip.compress(raw, mtime=0))
            put(out, "tar", "busybox-etc-pax.zst",
                subprocess.run(["zstd", "-19", "-q", "-c"], input=raw, check=True,
                               stdout=subprocess.PIPE).stdout)
    # GNU tar's own output: a sparse file, a hard link, a long name, xattrs
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "d" * 60, "e" * 60))
    with open(os.path.join(tree, "sparse"), "wb") as f:
        f.seek(1 << 16)
        f.write(b"end")
    with open(os.path.join(tree, "d" * 60, "e" * 60, "long-name-file"), "w") as f:
        f.write("x")
    os.link(os.path.join(tree, "sparse"), os.path.join(tree, "hard"))
    os.symlink("sparse", os.path.join(tree, "link"))
    os.setxattr(os.path.join(tree, "sparse"), "user.fuzz", b"seed")
    for root, dirs, names in os.walk(tree):
        for n in dirs + names:
            if not os.path.islink(os.path.join(root, n)):
                os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)
    os.chmod(tree, 0o755)
    # (a sparse member of a posix archive is named after tar's pid: only the gnu one has it)
    for fmt, extra in (("gnu", ["--sparse"]),
                       ("posix", ["--xattrs", "--pax-option=delete=atime,delete=ctime,"
                                  "exthdr.name=%d/PaxHeaders/%f"])):
        raw = subprocess.run(["tar", "-C", tree, "--sort=name", "--mtime=@0", "--owner=0",
                              "--group=0", "--numeric-owner", "--format=" + fmt]
                             + extra + ["-cf", "-", "."], check=True,
                             stdout=subprocess.PIPE).stdout
        put(out, "tar", "gnutar-" + fmt, raw)
    # a small gzip of zeros: a file that inflates to 16 MiB (the ratio guard's case)
    zeros = io.BytesIO()
    with tarfile.open(fileobj=zeros, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("zeros")
        ti.size = 16 << 20
        t.addfile(ti, io.BytesIO(bytes(ti.size)))
    put(out, "tar", "zeros-16m.gz", gzip.compress(zeros.getvalue(), 9, mtime=0))
    # the unit suite's hostile tars (those under the fuzzer's length bound)
    hostile = os.path.join(tmp, "hostile")
    subprocess.run([sys.executable, os.path.join(HERE, "make-hostile-tars.py"), hostile,
                    "/tmp/lc-fuzz-canary"], check=True)
    for p in sorted(glob.glob(os.path.join(hostile, "*.tar"))):
        data = open(p, "rb").read()
        if len(data) <= 65536:
            put(out, "tar", "hostile-" + os.path.basename(p)[:-4], data)
    return layer


def passwd(out, layer):
    files = [("busybox", layer.extractfile("etc/passwd").read(),
              layer.extractfile("etc/group").read())]
    host = [open(p, "rb").read() for p in ("/etc/passwd", "/etc/group")]
    files.append(("host", host[0], host[1]))
    for name, pw, gr in files:
        for i, spec in enumerate(USER_SPECS):
            put(out, "passwd", "%s-%02d" % (name, i), spec.encode() + b"\n" + pw + b"\0" + gr)
        put(out, "passwd", name + "-nogroup", b"root\n" + pw)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make-fuzz-corpus.py OUTDIR [IMAGES_DIR]")
    out = sys.argv[1]
    images = sys.argv[2] if len(sys.argv) == 3 else os.path.join(HERE, "out")
    ensure_images(images)
    targets = ("ref", "manifest", "challenge", "token", "docker_config", "hosts", "passwd",
               "tar")
    for t in targets:
        os.makedirs(os.path.join(out, t), exist_ok=True)
        for p in glob.glob(os.path.join(out, t, "*")):
            if not os.path.basename(p).startswith("crash-"):
                os.unlink(p)
    for i, r in enumerate(REFS):
        put(out, "ref", "%02d" % i, r)
    for i, c in enumerate(CHALLENGES):
        put(out, "challenge", "%02d" % i, c)
    for i, t in enumerate(TOKENS):
        put(out, "token", "token-%02d" % i, b"\0" + json.dumps(t).encode())
    for i, e in enumerate(ERRORS):
        put(out, "token", "errors-%02d" % i, b"\1" + json.dumps(e).encode())
    for i, (host, c) in enumerate(DOCKER_CONFIGS):
        put(out, "docker_config", "%02d" % i, host + "\n" + json.dumps(c, indent="\t"))
    for i, h in enumerate(HOSTS):
        put(out, "hosts", "%02d" % i, h)
    with tempfile.TemporaryDirectory() as tmp:
        manifests(out, images, tmp)
        layer = tars(out, images, tmp)
        passwd(out, layer)


if __name__ == "__main__":
    main()
