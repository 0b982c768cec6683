#!/bin/bash
# build-hostile-images.sh OUTDIR --canary PATH [--base DIR] [--quiet]
#
# Build small hostile OCI image layouts for the launcher's tests (tests/integration/t0220-*):
# each is the busybox base layer that build-images.sh produces (DIR/busybox, default
# testdata/out, built there first if needed; its blob is copied byte for byte) plus, for most,
# one small layer, and a config. PATH is an absolute path on the host that some images point
# symlinks at (a file the tests create and check untouched); its directory is the target of
# others. Every layout is OUTDIR/<name> tagged "latest":
#
#   proc-root        /proc -> /                          sys-root    /sys -> /
#   dev-escape       /dev -> ../../../tmp/x               etc-root    /etc -> dirname(PATH)
#   etc-links        /etc/resolv.conf -> PATH, /etc/hosts -> PATH,
#                    /etc/hostname -> ../../../../../../../..PATH
#   workdir-fd       WorkingDir /proc/self/fd/3           user-big    User 4294967296:0
#   user-int32       User 2147483648                      user-neg    User -1
#   group-huge       /etc/group with one 2 MiB line       passwd-fifo /etc/passwd is a FIFO
#   passwd-zero      /etc/passwd -> /dev/zero
#   self-exe         /bin/sh is "#!/proc/self/exe" (Cmd ["/bin/sh"]); /bin/chain is
#                    "#!/bin/sh"; /bin/direct -> /proc/self/exe; /bin/elf is an ELF whose
#                    PT_INTERP is /proc/self/exe; /bin/ok is "#!/bin/busybox sh" (a control)
#   env-workdir      Env FOO=from-image, WorkingDir /srv/app (created by the launcher)
#   setuid           /bin/euid: a 140-byte static x86-64 program, setuid root (mode 4755), whose
#                    exit status is its effective uid & 255 (0 when it ran as root)
#   fd-entry-N       (N = 3..12) Entrypoint /proc/self/fd/N/../../(x20)dirname(PATH)/sh,
#                    Cmd -c "echo ESCAPED": a host program through an fd the launcher held
#   fd-path          Env PATH of /proc/self/fd/N/../..(x20)dirname(PATH) for N = 3..12, Cmd sh
#   fd-shebang       /bin/fdN (N = 3..12) are "#!/proc/self/fd/N/../..(x20)dirname(PATH)/sh"
#
# Deterministic for a given base layer and PATH (sorted tar, mtime 0, uid/gid 0, gzip without
# a timestamp). The layouts are small: build them per test run, into the test's temp dir.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

die() { printf 'build-hostile-images: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: $0 OUTDIR --canary PATH [--base DIR] [--quiet]" >&2; exit 2; }

OUT='' CANARY='' BASE=$HERE/out QUIET=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--canary) [[ $# -ge 2 ]] || usage; CANARY=$2; shift 2 ;;
	--base) [[ $# -ge 2 ]] || usage; BASE=$2; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	-*) usage ;;
	*) [[ -z $OUT ]] || usage; OUT=$1; shift ;;
	esac
done
[[ -n $OUT && -n $CANARY ]] || usage
[[ $CANARY == /* && $CANARY != */ && $CANARY != *//* ]] || die "--canary must be an absolute file path"

# the base layer comes from build-images.sh's output (a no-op when it is up to date)
"$HERE/build-images.sh" "$BASE" ${QUIET:+--quiet} || die "build-images.sh failed"
BASE=$(readlink -f "$BASE")
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
exec 9<"$BASE/.lock"
flock -s 9 # no rebuild of the base while we copy from it

"$PY" -I - "$BASE/busybox" "$OUT" "$CANARY" "${QUIET:-}" <<'EOF'
import gzip, hashlib, io, json, os, struct, sys, tarfile

base_dir, out, canary, quiet = sys.argv[1:5]
CREATED = "2024-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def load(d, digest):
    with open(os.path.join(d, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        data = f.read()
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        sys.exit("base blob %s is corrupt" % digest)
    return data


idx = json.load(open(os.path.join(base_dir, "index.json")))
base_man = json.loads(load(base_dir, idx["manifests"][0]["digest"]))
base_cfg = json.loads(load(base_dir, base_man["config"]["digest"]))
if len(base_man["layers"]) != 1:
    sys.exit("the busybox image should have exactly one layer")
BASE_LAYER = base_man["layers"][0]
BASE_DIFFID = base_cfg["rootfs"]["diff_ids"][0]
BASE_BLOB = load(base_dir, BASE_LAYER["digest"])


def entry(name, kind="file", data=b"", mode=None, target=""):
    ti = tarfile.TarInfo(name)
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if kind == "file":
        ti.type, ti.mode, ti.size = tarfile.REGTYPE, 0o644 if mode is None else mode, len(data)
    elif kind == "dir":
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755 if mode is None else mode
    elif kind == "link":
        ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, target
    elif kind == "fifo":
        ti.type, ti.mode = tarfile.FIFOTYPE, 0o644
    return (ti, data if kind == "file" else None)


def layer(entries):
    """(gzipped blob, diff_id) of a tar holding entries, sorted by name."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for ti, data in sorted(entries, key=lambda e: e[0].name):
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    tar = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(tar)
    return gz.getvalue(), "sha256:" + hashlib.sha256(tar).hexdigest()


def elf_with_interp(interp):
    """A minimal x86-64 ELF header + one PT_INTERP program header naming interp."""
    path = interp.encode() + b"\0"
    phoff, ehsize, phsize = 64, 64, 56
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, phoff, 0, 0, ehsize, phsize, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 3, 4, ehsize + phsize, 0, 0, len(path), len(path), 1)
    return eh + ph + path


def euid_program():
    """A static x86-64 ELF: exit(geteuid()). No libc, no interpreter: one PT_LOAD."""
    code = bytes.fromhex("b86b000000" "0f05" "89c7" "b83c000000" "0f05")
    base, off = 0x400000, 64 + 56
    size = off + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, base + off, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return eh + ph + code


def write_blob(d, data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(d, "blobs", "sha256", hexd), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + hexd, "size": len(data)}


def image(name, entries=None, cmd=("true",), **config):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    layers = [dict(BASE_LAYER)]
    diff_ids = [BASE_DIFFID]
    write_blob(d, BASE_BLOB)
    history = [{"created": CREATED, "created_by": "busybox base layer (build-images.sh)"}]
    if entries:
        blob, diff_id = layer(entries)
        desc = write_blob(d, blob)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **desc})
        diff_ids.append(diff_id)
        history.append({"created": CREATED, "created_by": "build-hostile-images.sh: " + name})
    cfg = {"Env": config.pop("Env", [PATH_ENV]), "Cmd": list(cmd)}
    cfg.update(config)
    conf = {"architecture": "amd64", "config": cfg, "created": CREATED, "history": history,
            "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdesc = write_blob(d, json.dumps(conf, sort_keys=True, separators=(",", ":")).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cdesc},
           "layers": layers}
    mdesc = write_blob(d, json.dumps(man, separators=(",", ":")).encode())
    with open(os.path.join(d, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                  **mdesc,
                                  "annotations": {"org.opencontainers.image.ref.name": "latest"},
                                  "platform": {"architecture": "amd64", "os": "linux"}}]},
                  f, separators=(",", ":"))
    if not quiet:
        print("build-hostile-images: %s: %s" % (name, mdesc["digest"]), file=sys.stderr)


canary_dir = os.path.dirname(canary)
up = "../" * 8
image("proc-root", [entry("proc", "link", target="/")])
image("sys-root", [entry("sys", "link", target="/")])
image("dev-escape", [entry("dev", "link", target="../../../tmp/x")])
image("etc-root", [entry("etc", "link", target=canary_dir)])
image("etc-links", [entry("etc", "dir"), entry("etc/resolv.conf", "link", target=canary),
                    entry("etc/hosts", "link", target=canary),
                    entry("etc/hostname", "link", target=up.rstrip("/") + canary)],
      cmd=("sh", "-c", "cat /etc/resolv.conf"))
image("workdir-fd", cmd=("pwd",), WorkingDir="/proc/self/fd/3")
image("user-big", cmd=("id",), User="4294967296:0")
image("user-int32", cmd=("id",), User="2147483648")
image("user-neg", cmd=("id",), User="-1")
huge = b"root:x:0:\nhuge:x:5:" + b"a," * (1 << 20) + b"root\ndaemon:x:1:\n"
image("group-huge", [entry("etc", "dir"), entry("etc/group", data=huge)], cmd=("id",))
image("passwd-fifo", [entry("etc", "dir"), entry("etc/passwd", "fifo")], cmd=("id",))
image("passwd-zero", [entry("etc", "dir"), entry("etc/passwd", "link", target="/dev/zero")], cmd=("id",))
image("self-exe", [entry("bin", "dir"), entry("bin/sh", data=b"#!/proc/self/exe\n", mode=0o755),
                   entry("bin/chain", data=b"#!/bin/sh\necho chained\n", mode=0o755),
                   entry("bin/direct", "link", target="/proc/self/exe"),
                   entry("bin/elf", data=elf_with_interp("/proc/self/exe"), mode=0o755),
                   entry("bin/ok", data=b"#!/bin/busybox sh\necho ok\n", mode=0o755)],
      cmd=("/bin/sh",))
image("setuid", [entry("bin", "dir"), entry("bin/euid", data=euid_program(), mode=0o4755)],
      cmd=("/bin/euid",))
fd_dir = lambda n: "/proc/self/fd/%d/%s%s" % (n, "../" * 20, canary_dir.lstrip("/"))
for n in range(3, 13):
    image("fd-entry-%d" % n, cmd=("-c", "echo ESCAPED"), Entrypoint=[fd_dir(n) + "/sh"])
image("fd-path", cmd=("sh", "-c", "echo ESCAPED"),
      Env=["PATH=" + ":".join(fd_dir(n) for n in range(3, 13))])
image("fd-shebang", [entry("bin", "dir")] +
      [entry("bin/fd%d" % n, data=("#!%s/sh\necho ESCAPED\n" % fd_dir(n)).encode(), mode=0o755)
       for n in range(3, 13)], cmd=("/bin/fd3",))
image("env-workdir", cmd=("sh", "-c", 'echo "$FOO $(pwd)"'),
      Env=[PATH_ENV, "FOO=from-image"], WorkingDir="/srv/app")
EOF
