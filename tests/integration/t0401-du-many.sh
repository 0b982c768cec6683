#!/bin/bash
# du stays fast with 20 images: it reads each layer's recorded size, never a layer's tree.
# The store is synthetic (blobs, refs and layer metadata as a pull leaves them), so no registry.
. "$(dirname "$0")/../lib.sh"

plan 4

"$LAYERCTL" images >/dev/null # creates the store's layout
python3 - "$ROOT" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
def sha(b): return "sha256:" + hashlib.sha256(b).hexdigest()
def blob(b):
    d = sha(b)
    with open(f"{root}/blobs/sha256/{d[7:]}", "wb") as f: f.write(b)
    return d
def layer(chain, diff, size):
    os.mkdir(f"{root}/layers/sha256/{chain[7:]}")
    meta = {"chainid": chain, "diff_id": diff, "digest": diff, "size": 1, "unpacked": size,
            "files": 1, "link": "l/" + chain[7:33]}
    with open(f"{root}/layers/sha256/{chain[7:]}.json", "w") as f: json.dump(meta, f)
    os.symlink(f"../layers/sha256/{chain[7:]}", f"{root}/l/{chain[7:33]}")
refs = {}
base = sha(b"base")
layer(base, base, 1 << 20)
for i in range(20):
    diffs, chain = [base], base
    for k in range(4):
        d = sha(b"layer %d %d" % (i, k))
        chain = sha((chain + " " + d).encode())
        layer(chain, d, (i + 1) * 4096)
        diffs.append(d)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "created": "2024-01-01T00:00:00Z", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    c = blob(cfg)
    man = json.dumps({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c,
                   "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
                    "size": 1} for d in diffs]}).encode()
    m = blob(man)
    refs[f"example.com/img{i}:latest"] = {"digest": m, "manifest": m, "config": c}
with open(f"{root}/refs/refs.json", "w") as f: json.dump({"refs": refs}, f)
PY

out=$("$LAYERCTL" du -v --format json)
is "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(len(d["Images"]), len(d["Layers"]),
      all(i["SharedSize"] == 1 << 20 and i["UniqueSize"] == i["Size"] - (1 << 20) for i in d["Images"]),
      d["LayersSize"] == (1 << 20) + sum(4 * (i + 1) * 4096 for i in range(20)),
      d["ApartSize"] == 20 * (1 << 20) + sum(4 * (i + 1) * 4096 for i in range(20)))' "$out")" \
	"20 81 True True True" "20 images sharing one base: shared, unique, total, apart"
like "$("$LAYERCTL" du)" $'\nImages +20 +0 +' "du counts 20 images"

# du must not walk a layer: what it knows of one comes from the layer's .json. Timing it here
# would measure the machine (make bench times it); the directories it lists are exact: walking
# the 21 layers would take at least one getdents64 each.
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace: no leak check for this one run of an ASan build
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=getdents64 -o "$TMPD/du.strace" "$LAYERCTL" du -v >/dev/null
	n=$(grep -c getdents64 "$TMPD/du.strace" || true)
	ok -m "du -v with 20 images lists $n directories, fewer than its 21 layers (it walks none)" \
		test "$n" -lt 21
else
	skip "no strace"
fi
ok -m "system df -v too" "$LAYERCTL" system df -v

done_testing
