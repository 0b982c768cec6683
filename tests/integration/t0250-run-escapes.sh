#!/bin/bash
# Ways out of a container that docker, podman and runc close, tried as an attacker would:
# 1. host directories through fds the launcher held (CVE-2024-21626's class): for every fd the
#    launcher may hold, a command, --entrypoint, the image's Entrypoint, a PATH entry (-e and the
#    image's), a "#!" interpreter and -w spelled /proc/self/fd/N/../../<host path> must not
#    reach the host program planted there;
# 2. host devices through mknod: nodes outside docker's list open nothing (the overlay root and
#    /dev are nodev), while /dev/null, zero, full, urandom, tty and pts still work;
# 3. the caller's terminal: without -t the container's streams are pipes, never the terminal
#    itself; the terminal's settings are the same after the run;
# 4. the container's /proc/self/cgroup names no host cgroup.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 91

start_registry
push_images busybox
B=$REG/busybox

# the host program the hostile images aim at: a static busybox named sh, which says ESCAPED
# when anything runs it
CDIR=$TMPD/host
mkdir -p "$CDIR"
echo "host canary" >"$CDIR/canary"
BUSYBOX=$(command -v busybox)
cp "$BUSYBOX" "$CDIR/sh"
VICTIM_SHA=$(sha256sum <"$CDIR/sh")
UP=$(printf '../%.0s' $(seq 1 20))

"$TOP/testdata/build-hostile-images.sh" "$TMPD/images" --canary "$CDIR/canary" --base "$IMAGES_DIR" --quiet ||
	bail_out "build-hostile-images.sh failed"
for n in fd-path fd-shebang $(seq -f 'fd-entry-%g' 3 12); do
	skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
		"oci:$TMPD/images/$n:latest" "docker://$REG/$n:latest" >>"$TMPD/skopeo.log" 2>&1 ||
		bail_out "skopeo copy $n failed: $(tail -n 3 "$TMPD/skopeo.log")"
	"$LAYERCTL" pull --quiet "$REG/$n" >/dev/null 2>>"$TMPD/pull.log" ||
		bail_out "pull $n failed: $(tail -n 3 "$TMPD/pull.log")"
done
"$LAYERCTL" pull --quiet "$B" >/dev/null

# lc_run [RUN OPTIONS] IMAGE [CMD...]: sets rc, out (stdout and stderr); a hang is rc 124
lc_run() {
	rc=0
	out=$(timeout -k 5 20 "$LAYERCTL" run --rm --pull never "$@" 2>&1) || rc=$?
}
# refused WHAT: the start failed as a command that is not there or not runnable, or as a
# refused working directory, and nothing of the host ran
refused() {
	if [[ $rc =~ ^(125|126|127)$ && $out != *ESCAPED* ]]; then
		_lc_result 1 "$1: refused ($rc)"
	else
		_lc_result 0 "$1: refused"
		diag "  exit status $rc; output: $out"
	fi
}

# --- 1. fds of the launcher ----------------------------------------------------------------
# the control: the same spelling through a directory of the container does run (.. stops at
# its root); /proc/self/cwd, a magic link even to a dir inside, does not
lc_run "$B" "/tmp/$UP/bin/echo" reachable
is "$rc/$out" "0/reachable" "control: /tmp/../../bin/echo runs"
lc_run "$B" "/proc/self/cwd/$UP/bin/echo" reachable
refused "a magic link to a dir inside"
lc_run "$B" sh -c 'ls /proc/self/fd'
is "$out" $'0\n1\n2\n3' "the container's command holds 0 1 2 and ls's own dir fd, nothing else"
for fd in $(seq 3 12); do
	P=/proc/self/fd/$fd/$UP${CDIR#/}
	lc_run "$B" "$P/sh" -c 'echo ESCAPED'
	refused "fd $fd: the command"
	lc_run --entrypoint "$P/sh" "$B" -c 'echo ESCAPED'
	refused "fd $fd: --entrypoint"
	lc_run "$REG/fd-entry-$fd"
	refused "fd $fd: the image's Entrypoint"
	lc_run -e "PATH=$P" "$B" sh -c 'echo ESCAPED'
	refused "fd $fd: -e PATH"
	lc_run "$REG/fd-shebang" "/bin/fd$fd"
	refused "fd $fd: a #! interpreter"
	lc_run -w "$P" "$B" sh -c 'pwd; ls'
	if [[ $out != *canary* && $out != "$CDIR"* ]]; then
		_lc_result 1 "fd $fd: -w does not reach the host dir ($rc)"
	else
		_lc_result 0 "fd $fd: -w does not reach the host dir"
		diag "  exit status $rc; output: $out"
	fi
done
lc_run "$REG/fd-path"
refused "the image's PATH through fds 3..12"
is "$(sha256sum <"$CDIR/sh")" "$VICTIM_SHA" "the host program is unchanged"
is "$(_lc_mounts_under "$TMPD")" "" "nothing stays mounted"

# --- 2. device nodes --------------------------------------------------------------------------
# docker's defaults plus what the issue names: loop0, kmsg, vcs1, kvm, tty0, loop-control,
# fuse, mem; made in the overlay root, in /dev (tmpfs), /dev/shm and /tmp
MARK="from-a-container-$$-$RANDOM"
for spec in "b 7 0" "c 1 11" "c 7 1" "c 10 232" "c 4 0" "c 10 237" "c 10 229" "c 1 1" "b 8 0"; do
	lc_run "$B" sh -c "for d in / /dev/ /dev/shm/ /tmp/; do
		mknod \${d}node $spec || { echo mknod-failed; continue; }
		head -c 1 \${d}node >/dev/null 2>&1 && echo opened-r
		echo '<3>$MARK' 2>/dev/null >\${d}node && echo opened-w
	done; echo done"
	is "$rc/$out" "0/done" "mknod $spec: made in /, /dev, /dev/shm, /tmp (CAP_MKNOD), opens nothing"
done
if dmesg >/dev/null 2>&1; then
	is "$(dmesg | grep -c "$MARK")" 0 "nothing reached the host's kernel log"
else
	skip "dmesg unreadable here"
fi
lc_run "$B" sh -c 'head -c 4 /dev/zero | od -An -tx1 | tr -d " "; echo x >/dev/null && echo null-ok
	head -c 16 /dev/urandom | wc -c; head -c 16 /dev/random | wc -c
	echo x 2>&1 >/dev/full | grep -c "No space"; ls /dev/pts | grep -c ptmx'
is "$rc/$out" $'0/00000000\nnull-ok\n16\n16\n1\n1' "/dev/zero, null, urandom, random, full, pts still work"
lc_run "$B" sh -c 'for n in null zero full random urandom tty; do stat -c "%n %t:%T" /dev/$n; done'
is "$out" $'/dev/null 1:3\n/dev/zero 1:5\n/dev/full 1:7\n/dev/random 1:8\n/dev/urandom 1:9\n/dev/tty 5:0' \
	"/dev holds the six usual nodes"
lc_run "$B" awk '$5 == "/" || $5 == "/dev" { print $5, ($6 ~ /(^|,)nodev(,|$)/) }' /proc/self/mountinfo
is "$out" $'/ 1\n/dev 1' "the root and /dev are mounted nodev"
lc_run -t "$B" sh -c 'echo hi >/dev/tty && echo tty-ok'
is "$(printf '%s' "$out" | tr -d '\r')" $'hi\ntty-ok' "/dev/tty works under -t"

# --- 3. the caller's terminal -----------------------------------------------------------------
info() { sed -n "s/^$1=//p" "$TMPD/info"; }
ptyrun() {
	local opts=()
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	out=$("$PY" -I "$TOP/tests/ptyrun.py" --info "$TMPD/info" "${opts[@]}" -- \
		"$LAYERCTL" run --rm "$@" | tr -d '\r') || true
	rc=$(info status)
}
ptyrun -- "$B" sh -c 'for i in 0 1 2; do [ -t $i ] && echo tty$i; done
	for i in 1 2; do ls -l /proc/self/fd/$i | grep -o "pipe:.*" | sed "s/:.*//"; done
	stty -F /proc/self/fd/1 -echo raw 2>/dev/null && echo stty-changed
	echo end'
is "$rc" 0 "under a terminal, without -t: runs"
is "$out" $'pipe\npipe\nend' "  no fd is a terminal, 1 and 2 are pipes, stty on /proc/self/fd/1 fails"
is "$(info stty_after)" "$(info stty_before)" "  the caller's terminal settings are unchanged"
ptyrun -- "$B" sh -c 'echo out; echo err >&2; exit 3'
is "$rc/$out" $'3/out\nerr' "  stdout and stderr are copied to the terminal, the exit status passes"
# -i without -t: what the user types reaches the container through a pipe (Ctrl-D ends it)
ptyrun --after ready --send $'typed\n\x04' -- -i "$B" sh -c '[ -t 0 ] || echo stdin-not-tty; echo ready; cat'
is "$rc" 0 "-i under a terminal: runs"
like "$out" $'stdin-not-tty\nready\n(typed\n)?typed$' "  stdin is a pipe that carries what is typed, and its EOF"
is "$(info stty_after)" "$(info stty_before)" "  the caller's terminal settings are unchanged"
# a regular file or a directory on fd 1 is copied too: the container cannot reopen it
lc_run "$B" true
echo "host data" >"$TMPD/file"
rc=0
"$LAYERCTL" run --rm "$B" sh -c 'ls -l /proc/self/fd/1 | grep -o "pipe:"; timeout 1 head -c 100 /proc/self/fd/1 2>/dev/null; echo written' \
	>>"$TMPD/file" || rc=$?
is "$rc/$(cat "$TMPD/file")" $'0/host data\npipe:\nwritten' "a file on stdout: the container writes to a pipe, cannot read the file back"
rc=0
out=$("$LAYERCTL" run --rm -i "$B" sh -c 'ls /proc/self/fd/0/ 2>&1 | head -n 1; echo done' <"$CDIR") || rc=$?
unlike "$out" "canary|sh$" "a host directory as stdin: cannot be listed through /proc/self/fd/0"

# --- 4. cgroup namespace ----------------------------------------------------------------------
lc_run "$B" cat /proc/self/cgroup
unlike "$out" "user.slice|system.slice|session|docker|layerctl" "/proc/self/cgroup names no host cgroup"
like "$out" "^0::/$|:/$" "  it shows the container's own root"

done_testing
