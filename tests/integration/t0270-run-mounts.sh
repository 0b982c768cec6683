#!/bin/bash
# Storage for containers, docker's flags: -v HOSTPATH:PATH[:ro], -v NAME:PATH (a named volume
# kept in the store, `volume ls/create/rm`), --mount type=bind|volume|tmpfs, --tmpfs,
# --read-only. Every target is resolved inside the rootfs without following the image's
# symlinks (CVE-2021-30465's class): an image whose /etc points at a host dir cannot turn a
# mount onto /etc/x into a mount on the host.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 28

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'
ok -m "pull busybox" L pull -q "$B"

H=$TMPD/hostdir
mkdir -p "$H"
echo "from the host" >"$H/in"

# --- bind mounts --------------------------------------------------------------------------------
is "$(L run --rm -v "$H:/data" "$B" sh -c 'cat /data/in; echo from-container >/data/out')" "from the host" \
	"-v HOST:PATH: the container reads the host dir"
is "$(cat "$H/out")" "from-container" "  and writes into it"
rc=0; out=$(L run --rm -v "$H:/data:ro" "$B" sh -c '(echo x >/data/ro) 2>&1; echo $?; cat /data/in') || rc=$?
like "$out" $'Read-only file system\n1\nfrom the host' "-v HOST:PATH:ro: writes refused (EROFS), reads work"
ok -m "  nothing was written on the host" test ! -e "$H/ro"
is "$(L run --rm --mount "type=bind,source=$H,target=/srv/x,readonly" "$B" sh -c 'cat /srv/x/in; grep " /srv/x " /proc/self/mountinfo | grep -c "ro,nosuid,nodev"')" \
	$'from the host\n1' "--mount type=bind,readonly: ro, nosuid, nodev"
is "$(L run --rm -v "$H/in:/etc/motd" "$B" cat /etc/motd)" "from the host" "a file bound onto a file"
rc=0; out=$(L run --rm -v "relative:/x:zz" "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*invalid volume specification" "a bad -v is docker's error, 125"
rc=0; out=$(L run --rm -v "$H:/proc/../x" "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*invalid mount target" "a target with .. is refused"

# --- named volumes -------------------------------------------------------------------------------
is "$(L volume create vol1)" "vol1" "volume create"
L run --rm -v vol1:/v "$B" sh -c 'echo kept >/v/f' >/dev/null
is "$(L run --rm -v vol1:/v "$B" cat /v/f)" "kept" "a named volume keeps data between containers"
id=$(L run -d -v vol2:/w "$B" sh -c 'echo hi >/w/g; sleep 30')
like "$(L volume ls)" $'DRIVER +VOLUME NAME\nlocal +vol1\nlocal +vol2' "volume ls: the one made by run -v too"
# du counts the volumes: LINKS the containers mounting one, the unused ones reclaimable
dd if=/dev/zero of="$ROOT/volumes/vol1/_data/big" bs=1M count=2 status=none
like "$(L du | grep '^Local Volumes')" '^Local Volumes +2 +1 +[0-9.]+[kM]B +2\.[0-9]+MB \([0-9]+%\)$' \
	"du: 2 volumes, 1 used by a container, vol1's bytes reclaimable"
like "$(L du -v | grep -E '^vol[12] ' | tr -s ' ' | tr '\n' ';')" \
	'^vol1 0 2\.[0-9]+MB;vol2 1 [0-9.]+kB;$' "du -v: each volume's LINKS and SIZE"
is "$(L du --format json | sed -n 3p | sed 's/"Size":[0-9]*,"Reclaimable":[0-9]*//')" \
	'{"Type":"Local Volumes","TotalCount":2,"Active":1,}' "du --format json counts them too"
rm -f "$ROOT/volumes/vol1/_data/big"
rc=0; out=$(L volume rm vol2 2>&1) || rc=$?
like "$rc/$out" "^1/.*volume is in use" "volume rm of a volume a container uses is refused"
ok -m "rm -f the container" L rm -f "$id"
is "$(L run --rm -v vol2:/w "$B" cat /w/g)" "hi" "  the volume survives the container's rm"
is "$(L volume rm vol1 vol2 | tr '\n' ' ')" "vol1 vol2 " "volume rm"
is "$(L volume ls -q)" "" "  gone"

# --- tmpfs and read-only ----------------------------------------------------------------------------
is "$(L run --rm --tmpfs /scratch "$B" sh -c 'echo x >/scratch/y && cat /scratch/y; grep " /scratch " /proc/self/mountinfo | cut -d" " -f6 | grep -c noexec')" \
	$'x\n1' "--tmpfs: a writable tmpfs, noexec"
is "$(L run --rm --mount type=tmpfs,target=/t,tmpfs-size=1m "$B" sh -c 'df -k /t | tail -n 1 | tr -s " " | cut -d" " -f2')" "1024" \
	"--mount type=tmpfs,tmpfs-size=1m"
rc=0; out=$(L run --rm --read-only "$B" sh -c '(touch /x) 2>&1; echo $?') || rc=$?
like "$out" $'Read-only file system\n1' "--read-only: the rootfs refuses writes"
is "$(L run --rm --read-only --tmpfs /tmp -v "$H:/data" "$B" sh -c 'touch /tmp/a /data/b && echo ok')" "ok" \
	"  while its tmpfs and bind mounts stay writable"

# --- targets never follow the image's symlinks -------------------------------------------------------
CANARY=$TMPD/canarydir/canary
mkdir -p "$(dirname "$CANARY")"; echo canary >"$CANARY"
"$TOP/testdata/build-hostile-images.sh" "$TMPD/images" --canary "$CANARY" --base "$IMAGES_DIR" --quiet ||
	bail_out "build-hostile-images.sh failed"
skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
	"oci:$TMPD/images/etc-root:latest" "docker://$REG/etc-root:latest" >/dev/null 2>&1 || bail_out "skopeo"
L pull -q "$REG/etc-root" >/dev/null
rc=0; out=$(L run --rm -v "$H:/etc/x" "$REG/etc-root" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*symlink" "-v onto /etc/x where the image's /etc -> a host dir: refused"
ok -m "  nothing appeared in the host dir" test ! -e "$(dirname "$CANARY")/x"
rc=0; out=$(L run --rm --tmpfs /etc/t "$REG/etc-root" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*symlink" "  --tmpfs too"
is "$(_lc_mounts_under "$TMPD")" "" "nothing stays mounted"

done_testing
