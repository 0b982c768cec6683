#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the layer tars the store's unit suite ingests (hostile and ordinary ones).

usage: make-hostile-tars.py OUTDIR CANARY_DIR

CANARY_DIR is a directory outside the store that the hostile tars aim at (absolute symlinks and
hard links point into it); the tests assert it is untouched. Every tar is OUTDIR/<case>.tar and
is deterministic (fixed mtimes, numeric ids), so its sha256 is its diff_id.
"""
import io
import os
import random
import sys
import tarfile

MTIME = 1_600_000_000


def info(name, type_=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, linkname="", pax=None,
         mtime=MTIME, devmajor=0, devminor=0):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""
    ti.mtime = mtime
    ti.linkname = linkname
    ti.devmajor, ti.devminor = devmajor, devminor
    if pax:
        ti.pax_headers = dict(pax)
    return ti


def f(name, data=b"", **kw):
    return (info(name, **kw), data)


def d(name, mode=0o755, **kw):
    return (info(name, tarfile.DIRTYPE, mode=mode, **kw), None)


def sym(name, target, **kw):
    return (info(name, tarfile.SYMTYPE, linkname=target, **kw), None)


def hard(name, target, **kw):
    return (info(name, tarfile.LNKTYPE, linkname=target, **kw), None)


def write(out, case, entries):
    fmt = tarfile.PAX_FORMAT
    if isinstance(entries, tuple):  # (format, entries)
        fmt, entries = entries
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    with open(os.path.join(out, case + ".tar"), "wb") as fh:
        fh.write(buf.getvalue())


def sparse(name, realsize, segments, **kw):
    """A GNU sparse 1.0 file (pax): its map, then only the segments' bytes (whole blocks)."""
    m = "%d\n" % len(segments) + "".join("%d\n%d\n" % (off, len(b)) for off, b in segments)
    m = m.encode()
    m += bytes(-len(m) % 512)
    pax = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
           "GNU.sparse.realsize": str(realsize)}
    return f("GNUSparseFile.0/" + name, m + b"".join(b for _, b in segments), pax=pax, **kw)


def cases(canary):
    rel_up = "../" * 16
    c = {}
    # ordinary layers
    c["basic"] = [d("etc"), f("etc/hostname", b"layerctl\n"), f("bin/tool", b"#!/bin/sh\n", mode=0o4755),
                  sym("bin/sh", "tool"), hard("bin/tool2", "bin/tool"), d("m", mtime=1_000_000),
                  f("m/f", b"x"), (info("p", tarfile.FIFOTYPE, mode=0o640, uid=7, gid=8), None),
                  f("owned", b"o", uid=1000, gid=1001, mode=0o600), d("./", mode=0o755)]
    c["lower-tmp"] = [d("tmp", mode=0o1777, uid=1000, gid=1000), d("var"), d("var/lib", mode=0o700)]
    c["upper-tmp"] = [f("tmp/x", b"x"), f("var/lib/y", b"y"), f("new/dir/z", b"z")]
    c["big"] = [f("zeros", bytes(2 << 20))]
    # the same file under two names (not a hard link), and a hard link to the second: dedup
    # makes all three one inode; the same with files of more than 4 blocks, which the commit
    # counts after its sync
    c["twins"] = [f("a", b"twin\n" * 2000), d("d"), f("d/b", b"twin\n" * 2000), hard("d/c", "d/b"),
                  f("big", b"big twin\n" * 8000), f("d/big", b"big twin\n" * 8000),
                  hard("d/big2", "d/big")]
    # past the size from which a blob's ingest file is written with direct I/O (partial.c)
    c["big-8m"] = [f("data", random.Random(8).randbytes((8 << 20) + 12345))]
    c["whiteouts"] = [d("a"), f("a/.wh.b"), d("c"), f("c/.wh..wh..opq"), f("c/keep", b"k"),
                      f("k", b"same layer"), f(".wh.k"), d(".wh..wh.plnk"), f(".wh..wh.plnk/1", b"")]
    c["wh-then-dir"] = [f(".wh.gone"), d("gone"), f("gone/new", b"n")]
    # sparse files (each map ends at the real size, as GNU tar writes it): holes in the middle
    # and at the end, at the start, nothing but a hole; and a plain file among them
    c["sparse"] = [sparse("mid-end", 100000, [(0, b"h" * 512), (90112, b"t" * 512), (100000, b"")]),
                   sparse("start", 8192, [(4096, b"x" * 4096), (8192, b"")]),
                   sparse("all", 51200, [(51200, b"")]), f("plain", b"p")]
    # hostile: names
    c["dotdot"] = [f("../../x", b"pwn")]
    c["dotdot-mid"] = [d("a"), f("a/../../x", b"pwn")]
    c["dotdot-dot"] = [f("./../x", b"pwn")]
    c["absolute"] = [f("/etc/x", b"re-anchored")]
    # hostile: symlinks
    c["symlink-dir"] = [sym("evil", canary), f("evil/passwd", b"pwn")]
    c["symlink-rel"] = [sym("rel", rel_up), f("rel" + canary + "/pwn", b"pwn")]
    c["symlink-mode"] = [(info("f", tarfile.SYMTYPE, mode=0o777, uid=4242, gid=4242,
                               linkname=canary + "/file"), None)]
    c["stale-dir"] = [d("d"), f("d/a", b"a"), sym("d", canary), f("d/b", b"pwn")]
    # hostile: hard links
    c["hardlink-rel"] = [hard("h", rel_up + canary.lstrip("/") + "/file")]
    c["hardlink-abs"] = [hard("h", canary + "/file")]
    c["hardlink-sym"] = [sym("s", canary + "/file"), hard("h", "s")]
    c["hardlink-overwrite"] = [f("y", b"A"), hard("x", "y"), f("x", b"B")]
    c["hardlink-self"] = [f("a", b"a"), hard("a", "a")]
    # names met again: what happens must not depend on which thread wrote the first
    c["file-then-child"] = [f("a", b"x"), f("a/b", b"y")]
    c["names-again"] = [f("x", b"A"), f("x", b"B"), f("y", b"1"), d("y"), f("y/z", b"2"),
                        f("w", b"3"), hard("v", "w"), f("w", b"4"), f("s", b"5"), sym("s", "w")]
    # owners: a setgid dir gives new files its group, which must not stay
    c["setgid-owner"] = [d("sg", mode=0o2775, gid=50), f("sg/a", b"a"), f("sg/b", b"b", gid=50),
                         f("sg/c", b"c", uid=1000, gid=0), f("top", b"t")]
    c["hardlink-dir"] = [d("dd"), hard("h", "dd")]
    # hostile: whiteouts
    c["wh-dotdot"] = [f(".wh..")]
    c["wh-empty"] = [f(".wh.")]
    c["wh-dots"] = [f(".wh...")]
    c["wh-symlink"] = [sym("s", canary), f("s/.wh.passwd")]
    # hostile: devices, xattrs
    c["devices"] = [d("dev"), (info("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), None),
                    (info("dev/mem", tarfile.CHRTYPE, devmajor=1, devminor=1), None), f("ok", b"ok")]
    c["xattrs"] = [d("x", pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                               "SCHILY.xattr.user.overlay.redirect": "/etc",
                               "SCHILY.xattr.security.selinux": "system_u:object_r:shadow_t:s0",
                               "SCHILY.xattr.user.kept": "yes"})]
    c["wh-owned"] = [d("a"), f("a/.wh.gone", uid=1000, gid=1001), f(".wh.top", uid=7, gid=8)]
    # an opaque dir in a middle layer hides what the bottom layer has below it
    c["opq-bottom"] = [d("a", mode=0o700, uid=1000, gid=1000), d("a/b", mode=0o711, uid=1234, gid=1234)]
    c["opq-middle"] = [d("a", mode=0o750, uid=7, gid=7), f("a/.wh..wh..opq")]
    c["opq-top"] = [f("a/b/c", b"c")]
    # header bombs: libarchive refuses special headers over 1 MiB before buffering them
    c["gnu-longname"] = (tarfile.GNU_FORMAT, [f("n" * (1 << 20), b"x")])
    c["gnu-longlink"] = (tarfile.GNU_FORMAT, [sym("l", "t" * (1 << 20))])
    c["pax-longpath"] = [f("p" * (1 << 20), b"x")]
    # long, but under libarchive's bound: refused by the path length check
    c["long-path"] = [f("q" * 8000, b"x")]
    c["long-linkname"] = [sym("l", "t" * 4096)]
    # extended attributes: at most 128 an entry, each at most 64 KiB
    c["xattrs-many"] = [f("x", pax={"SCHILY.xattr.user.a%03d" % i: "v" for i in range(129)})]
    c["xattrs-128"] = [f("x", pax={"SCHILY.xattr.user.a%03d" % i: "v" for i in range(128)})]
    c["xattr-big"] = [f("x", pax={"SCHILY.xattr.user.big": "v" * (64 * 1024 + 1)})]
    # entry count bound (the suite lowers it to 100)
    c["many-entries"] = [f("e%03d" % i) for i in range(101)]
    return c


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-hostile-tars.py OUTDIR CANARY_DIR")
    out, canary = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    for case, entries in cases(canary).items():
        write(out, case, entries)


if __name__ == "__main__":
    main()
