#!/bin/bash
# load of hostile archives: a blob that does not hash to its name, a layer that does not hash
# to its diff_id, a member named with '..' or absolute, a link out of the archive, an
# oversized manifest.json, no manifest at all, a second layer that breaks once the first is
# committed, a truncated archive. Each is refused with one line, exit 1, and leaves nothing in
# the store: no image, no layer, no blob, no spool in tmp/.
. "$(dirname "$0")/../lib.sh"

plan 27

start_registry
push_images busybox nginx
L=$LAYERCTL
ok -m "pull busybox" "$L" pull -q "$REG/busybox"
ok -m "save it" "$L" save -o "$TMPD/good.tar" "$REG/busybox"
ok -m "pull nginx" "$L" pull -q "$REG/nginx"
ok -m "save it" "$L" save -o "$TMPD/nginx.tar" "$REG/nginx"
ok -m "rmi" "$L" rmi "$REG/busybox" "$REG/nginx"
ok -m "gc" "$L" gc

W=$TMPD/work
# make_archive NAME: edit a copy of the saved archive's tree with the commands on stdin
make_archive() {
	rm -rf "$W" && mkdir -p "$W" && tar -xf "$TMPD/good.tar" -C "$W"
	(cd "$W" && bash -e)
	tar -cf "$TMPD/$1.tar" -C "$W" .
}
# refused NAME ERE: load fails with one line matching ERE, and the store stays empty
refused() {
	local out rc=0
	out=$("$L" load -q -i "$TMPD/$1.tar" 2>&1) || rc=$?
	if [[ $rc -eq 1 && $(wc -l <<<"$out") -eq 1 && $out =~ $2 ]]; then
		_lc_result 1 "$1: refused ($out)"
	else
		diag "rc=$rc out=$out"
		_lc_result 0 "$1: refused"
	fi
	local left
	left=$(find "$ROOT/layers/sha256" "$ROOT/blobs/sha256" -mindepth 1 | wc -l)
	left=$((left + $(find "$ROOT/tmp" -maxdepth 1 -name 'load-*' -o -maxdepth 1 -name 'ingest-*' | wc -l)))
	is "$left $("$L" images -q | wc -l)" "0 0" "$1: nothing left in the store"
}

cfg=$(tar xOf "$TMPD/good.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"])')
lay=$(tar xOf "$TMPD/good.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0])')

# a layer whose bytes are not its diff_id (docker-archive: checked before anything unpacks)
make_archive bad-layer <<EOF2
printf 'x' | dd of=$lay bs=1 seek=600 conv=notrunc 2>/dev/null
EOF2
refused bad-layer "diff_id mismatch"

# the OCI way in: the layout's blob does not hash to its name
make_archive bad-blob <<EOF2
rm manifest.json
printf 'x' | dd of=$lay bs=1 seek=600 conv=notrunc 2>/dev/null
EOF2
refused bad-blob "digest mismatch"

# a config that is not the one the manifest names (OCI)
make_archive bad-config <<EOF2
rm manifest.json
python3 -c 'import json; c=json.load(open("$cfg")); c["os"]="plan9"; open("$cfg","w").write(json.dumps(c))'
EOF2
refused bad-config "digest mismatch"

# member names that leave the archive
python3 - "$TMPD" <<'EOF2'
import io, sys, tarfile
d = sys.argv[1]
def mk(name, members):
    with tarfile.open(f"{d}/{name}.tar", "w") as t:
        for m in members:
            ti = tarfile.TarInfo(m[0])
            if m[1] == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = m[2]; t.addfile(ti)
            else:
                ti.size = len(m[2]); t.addfile(ti, io.BytesIO(m[2]))
mk("dotdot", [("../evil", "file", b"x"), ("manifest.json", "file", b"[]")])
mk("absolute", [("/etc/evil", "file", b"x"), ("manifest.json", "file", b"[]")])
mk("link-out", [("manifest.json", "sym", "../../etc/passwd")])
mk("huge-manifest", [("manifest.json", "file", b" " * (5 << 20))])
mk("no-manifest", [("hello", "file", b"hi")])
EOF2
refused dotdot "leaves the archive"
refused absolute "is absolute"
refused link-out "links outside the archive"
refused huge-manifest "larger than 4 MiB"
refused no-manifest "neither manifest.json nor index.json"

# the base layer loads, then nginx's own layer (gzip: only its ingest can check it) is damaged:
# the base layer committed meanwhile goes too
n_top=$(tar xOf "$TMPD/nginx.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][1])')
rm -rf "$W" && mkdir -p "$W" && tar -xf "$TMPD/nginx.tar" -C "$W"
(cd "$W" && printf 'x' | dd of="$n_top" bs=1 seek=600 conv=notrunc 2>/dev/null && gzip -n "$n_top" &&
	mv "$n_top.gz" "$n_top")
tar -cf "$TMPD/second-layer-bad.tar" -C "$W" .
refused second-layer-bad "layer sha256:[0-9a-f]{64}: (bad tar|diff_id mismatch)"

# truncated in the middle of a layer
head -c 200000 "$TMPD/good.tar" >"$TMPD/truncated.tar"
refused truncated "truncated|bad archive|archive"

# and the good one still loads
like "$("$L" load -i "$TMPD/good.tar")" "Loaded image: $REG/busybox:latest" "the untouched archive loads"

done_testing
