#!/bin/bash
# cp between a container (running or stopped) and the host, docker's rules for destinations,
# tar streams both ways, and the ways out: container symlinks (absolute, ../.. chains, to a
# host path) used as source and target, a symlink swapped in a loop during the copies (docker
# cp's CVE-2018-15664), device nodes in a copied tree, hostile names, setuid bits.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 71

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 120 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c"; done'

ok -m "pull busybox" L pull -q "$B"
O=$TMPD/out
mkdir -p "$O"
# a host dir the container names by its host path: nothing may ever read or write it
CANARY=$TMPD/canary
mkdir -p "$CANARY"
echo HOSTSECRET >"$CANARY/secret"
canary_intact() { [[ $(ls -A "$CANARY") == secret && $(cat "$CANARY/secret") == HOSTSECRET ]]; }

id=$(L run -d --name c1 "$B" sleep 1000)
like "$id" '^[0-9a-f]{64}$' "a running container"
ok -m "files made in it" L exec c1 sh -c "mkdir -p /d/sub && echo hello >/d/f && echo deep >/d/sub/g &&
	ln -s /etc /d/link && chown 1000:1000 /d/f && chmod 640 /d/f && mkdir /ddd &&
	ln -s $CANARY /esc && ln -s ../../../../../../../../$CANARY /esc2 && ln -s / /root-link &&
	cp /bin/busybox /suid && chmod 4755 /suid"

# --- container to host -----------------------------------------------------------------------
ok -m "cp CTR:FILE HOSTFILE (new)" L cp c1:/d/f "$O/f"
is "$(cat "$O/f")" hello "  the content"
is "$(stat -c '%u:%g %a' "$O/f")" "0:0 640" "  owned by us, its mode kept"
ok -m "cp -a keeps the owner" L cp -a c1:/d/f "$O/fa"
is "$(stat -c '%u:%g' "$O/fa")" "1000:1000" "  uid:gid 1000:1000"
ok -m "cp CTR:DIR NEWDIR" L cp c1:/d "$O/new"
is "$(cat "$O/new/f" "$O/new/sub/g")" $'hello\ndeep' "  the tree, recursively"
is "$(readlink "$O/new/link")" /etc "  a symlink copied as a symlink"
ok -m "cp CTR:DIR EXISTINGDIR" L cp c1:/d "$O"
is "$(cat "$O/d/sub/g")" deep "  lands as EXISTINGDIR/DIR"
mkdir "$O/into"
ok -m "cp CTR:DIR/. EXISTINGDIR" L cp c1:/d/. "$O/into"
is "$(cat "$O/into/f")" hello "  its entries land in EXISTINGDIR"
ok -m "cp onto an existing file replaces it" L cp c1:/d/sub/g "$O/f"
is "$(cat "$O/f")" deep "  with the new content"
out=$(L cp c1:/nosuch "$O/x" 2>&1) && rc=0 || rc=$?
is "$rc" 1 "cp of a missing path: 1"
like "$out" "could not find the file '/nosuch' in the container" "  saying so"
nok -m "a file to a missing DIR/: refused (the directory must exist)" L cp c1:/d/f "$O/nodir/"
nok -m "a directory onto a file: refused" L cp c1:/d "$O/fa"
nok -m "CTR:FILE/ (not a directory): refused" L cp c1:/d/f/ "$O/y"
ok -m "-L follows the symlink SRC_PATH names (inside the container)" L cp -L c1:/root-link/d/f "$O/viaL"
is "$(cat "$O/viaL")" hello "  the container's file"
ok -m "cp CTR:DIR - (a tar stream)" sh -c "'$LAYERCTL' cp c1:/d - >'$O/d.tar'"
is "$(tar tf "$O/d.tar" | sort | tr '\n' ' ')" "d/ d/f d/link d/sub/ d/sub/g " "  named after the source"
ok -m "cp: setuid dropped without -a" L cp c1:/suid "$O/suid"
is "$(stat -c %a "$O/suid")" 755 "  mode 755"
ok -m "cp -a: setuid kept" L cp -a c1:/suid "$O/suid-a"
is "$(stat -c %a "$O/suid-a")" 4755 "  mode 4755"

# --- host to container -----------------------------------------------------------------------
mkdir -p "$TMPD/src/sub"
echo from-host >"$TMPD/src/sub/h"
ln -s /etc/passwd "$TMPD/src/plink"
ok -m "cp HOSTDIR CTR:/tmp" L cp "$TMPD/src" c1:/tmp
is "$(L exec c1 sh -c 'cat /tmp/src/sub/h; readlink /tmp/src/plink; stat -c %u /tmp/src/sub/h')" \
	$'from-host\n/etc/passwd\n0' "  in the container, the symlink as a symlink, owned by root"
ok -m "cp -L HOSTLINK CTR:FILE" L cp -L "$TMPD/src/plink" c1:/tmp/passwd-copy
is "$(L exec c1 sh -c 'test -L /tmp/passwd-copy || head -c 5 /tmp/passwd-copy')" "root:" "  the file the link names"
tar -C "$TMPD/src" -cf "$TMPD/in.tar" sub
ok -m "cp - CTR:DIR (tar from stdin)" sh -c "'$LAYERCTL' cp - c1:/ddd <'$TMPD/in.tar'"
is "$(L exec c1 cat /ddd/sub/h)" from-host "  extracted there"
"$PY" - "$TMPD/evil.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../../../../../../tmp/evil-from-tar"); d = b"x"; i.size = 1
    t.addfile(i, io.BytesIO(d))
EOF
nok -m "a tar entry with '..': refused" sh -c "'$LAYERCTL' cp - c1:/ddd <'$TMPD/evil.tar'"
ok -m "  nothing outside, in the container or on the host" sh -c "! test -e /tmp/evil-from-tar && ! '$LAYERCTL' exec c1 test -e /tmp/evil-from-tar"

# --- the ways out: container symlinks as source and target ---------------------------------
nok -m "CTR:/esc/secret (esc -> the host's canary dir): not the host's file" L cp c1:/esc/secret "$O/s1"
nok -m "CTR:/esc2/secret (a ../.. chain to it): not the host's file" L cp c1:/esc2/secret "$O/s2"
ok -m "  nothing copied" test ! -e "$O/s1" -a ! -e "$O/s2"
echo intruder >"$TMPD/intruder"
L cp "$TMPD/intruder" c1:/esc/ 2>/dev/null || true
L cp "$TMPD/intruder" c1:/esc2/intruder 2>/dev/null || true
ok -m "cp into CTR:/esc/ and /esc2/...: the host's dir untouched" canary_intact
ok -m "cp onto CTR:/esc (a symlink to a host path) replaces the link inside" L cp "$TMPD/intruder" c1:/esc
is "$(L exec c1 sh -c 'test -L /esc || cat /esc')" intruder "  the container's /esc is now the file"
ok -m "  the host's dir untouched" canary_intact
ok -m "cp into CTR:/root-link/../../tmp (a symlink to / then ..): inside" L cp "$TMPD/intruder" c1:/root-link/../../tmp/in-root
is "$(L exec c1 cat /tmp/in-root)" intruder "  landed in the container's /tmp"
ok -m "  not in the host's" test ! -e /tmp/in-root

# --- the race: /x swapped between a dir and a symlink to the host's dir, while cp runs -------
L run -d --name racer "$B" sh -c "mkdir /xd && echo ctr >/xd/secret && while :; do ln -sfn /xd /x; ln -sfn $CANARY /x; rm -f /x; mkdir /x; echo ctr >/x/secret; rm -rf /x; done" >/dev/null
leaked=0 got=0
for i in $(seq 1 60); do
	rm -f "$O/race"
	if L cp racer:/x/secret "$O/race" 2>/dev/null; then
		got=$((got + 1))
		[[ $(cat "$O/race") != HOSTSECRET ]] || leaked=$((leaked + 1))
	fi
	L cp "$TMPD/intruder" racer:/x/intruder-$i 2>/dev/null || true
done
is "$leaked" 0 "60 copies out of the swapped path: never the host's file ($got got the container's)"
ok -m "60 copies into it: the host's dir untouched" canary_intact

# --- devices, FIFOs, sockets in a copied tree ------------------------------------------------
ok -m "a tree with device nodes and a FIFO" L exec c1 sh -c 'mkdir /t && mknod /t/sda b 8 0 && mknod /t/mem c 1 1 && mkfifo /t/fifo && echo x >/t/file'
err=$(L cp c1:/t "$O/t" 2>&1 >/dev/null) && rc=0 || rc=$?
is "$rc" 0 "cp of it succeeds"
ok -m "  the file and the FIFO copied, no device node made" sh -c "test -f '$O/t/file' && test -p '$O/t/fifo' && test ! -e '$O/t/sda' && test ! -e '$O/t/mem'"
like "$err" "skipping '.*t/sda': a device node" "  each device skipped with a warning"
nok -m "a device node named as SRC_PATH: refused" L cp c1:/t/sda "$O/sda"
mkdir "$TMPD/devsrc" && mknod "$TMPD/devsrc/null2" c 1 3 && echo y >"$TMPD/devsrc/y"
ok -m "a host tree with a device node into the container" L cp "$TMPD/devsrc" c1:/tmp 2>/dev/null
is "$(L exec c1 sh -c 'cat /tmp/devsrc/y; test -e /tmp/devsrc/null2 && echo made')" y "  the device skipped"

# --- hostile names ---------------------------------------------------------------------------
H=$TMPD/names
mkdir -p "$H"
long=$(printf 'n%.0s' $(seq 1 255))
for n in $'new\nline' '-rf' 'colon:name' 'back\slash' ' sp ace ' $'\e[31mred' "$long" '..dots' 'ü-ñ'; do
	echo "$n" >"$H/$n"
done
ok -m "hostile names into the container" L cp "$H" c1:/tmp
ok -m "  and back" L cp c1:/tmp/names "$O/names-back"
ok -m "  the same tree" diff -r "$H" "$O/names-back"
ok -m "a local path with ':' starting with '.' is local" sh -c "cd '$H' && '$LAYERCTL' cp ./colon:name c1:/tmp/colon-copy"
is "$(L exec c1 cat /tmp/colon-copy)" "colon:name" "  copied"

# --- a stopped container ---------------------------------------------------------------------
L run --name st "$B" sh -c "echo persisted >/p; ln -s $CANARY /esc; ln -s ../../../../../$CANARY /esc2" >/dev/null
ok -m "cp from a stopped container" L cp st:/p "$O/p"
is "$(cat "$O/p")" persisted "  its upper layer's file"
ok -m "cp from the image's layers of a stopped container" L cp st:/bin/busybox "$O/bb"
ok -m "cp into a stopped container" L cp "$TMPD/intruder" st:/q
sid=$(grep -l '"Name": *"st"' "$ROOT"/containers/*/config.json | head -1 | xargs dirname | xargs basename)
is "$(cat "$ROOT/containers/$sid/upper/q")" intruder "  lands in its upper dir"
nok -m "stopped: CTR:/esc/secret is not the host's" L cp st:/esc2/secret "$O/s3"
L cp "$TMPD/intruder" st:/esc/ 2>/dev/null || true
ok -m "stopped: cp into /esc/: the host's dir untouched" canary_intact
is "$(grep -c "containers/$sid" /proc/self/mountinfo || true)" 0 "no mount of it left on the host"
ok -m "rm works after the copies (no lock left)" L rm st

done_testing
