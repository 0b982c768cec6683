#!/bin/bash
# run --rm with hostile images (REFERENCE.md §3C 21-23, 28), built by
# testdata/build-hostile-images.sh on the busybox base layer: symlinked mount points aimed at
# the host, WorkingDir through a leaked fd, out-of-range users, a huge /etc/group line, a FIFO
# or /dev/zero as /etc/passwd, and a /bin/sh that is "#!/proc/self/exe". Each start is refused
# (125/126, one clear line) or confined; host files stay untouched and nothing stays mounted.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 67

start_registry
push_images busybox

# the host files the images aim at, with an old mtime so that any write shows
CDIR=$TMPD/host
CANARY=$CDIR/canary
mkdir -p "$CDIR"
echo "host canary" >"$CANARY"
touch -d @1000000000 "$CANARY" "$CDIR"
canary_state() { echo "$(cat "$CANARY") $(stat -c '%Y %s %i' "$CANARY") $(ls -A "$CDIR" | tr '\n' ' ')"; }
CANARY_STATE=$(canary_state)

"$TOP/testdata/build-hostile-images.sh" "$TMPD/images" --canary "$CANARY" --base "$IMAGES_DIR" --quiet ||
	bail_out "build-hostile-images.sh failed"
for d in "$TMPD"/images/*/; do
	n=$(basename "$d")
	skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
		"oci:$d:latest" "docker://$REG/$n:latest" >>"$TMPD/skopeo.log" 2>&1 ||
		bail_out "skopeo copy $n failed: $(tail -n 3 "$TMPD/skopeo.log")"
	"$LAYERCTL" --root "$ROOT" pull --quiet "$REG/$n" >/dev/null 2>>"$TMPD/pull.log" ||
		bail_out "pull $n failed: $(tail -n 3 "$TMPD/pull.log")"
done
"$LAYERCTL" --root "$ROOT" pull --quiet "$REG/busybox" >/dev/null

SELF_SHA=$(sha256sum <"$(readlink -f "$LAYERCTL")")
SELF_MTIME=$(stat -c %Y "$(readlink -f "$LAYERCTL")")

# lc_run [RUN OPTIONS] IMAGE [CMD...]: sets rc, out, err; a hang is a failure (rc 124), not a
# stuck test
lc_run() {
	rc=0
	out=$(timeout -k 5 20 "$LAYERCTL" --root "$ROOT" run --rm --pull never "$@" 2>"$TMPD/stderr") || rc=$?
	err=$(cat "$TMPD/stderr")
}

# after_each NAME: what every hostile start must leave as it found it
after_each() {
	is "$(_lc_mounts_under "$TMPD")" "" "$1: nothing stays mounted"
	is "$(find "$ROOT/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "$1: no container dir left"
}

# one line of error, docker's "layerctl: run 'IMAGE': reason" shape
one_line() { [[ $(printf '%s\n' "$err" | wc -l) -eq 1 && $err == "layerctl: run '"* ]]; }

# --- item 23: symlinked mount points ----------------------------------------------------------
for n in proc-root sys-root dev-escape etc-root; do
	lc_run "$REG/$n" true
	is "$rc" 125 "$n: start refused (125)"
	like "$err" "in the image is a symlink: refusing to mount through it" "$n: the reason says so"
	after_each "$n"
done
ok -m "dev-escape: nothing created at /tmp/x or beside the store" \
	test ! -e /tmp/x -a ! -e "$ROOT/tmp/x" -a ! -e "$ROOT/containers/tmp"
is "$(canary_state)" "$CANARY_STATE" "etc-root: the host dir /etc pointed at is untouched"

# /etc/resolv.conf -> the canary, /etc/hosts -> the canary, /etc/hostname -> ../../..canary:
# the container gets its own files (the links are replaced in its upper dir), and writes stay there
lc_run "$REG/etc-links" sh -c 'cat /etc/resolv.conf; cat /etc/hostname;
	echo pwned >/etc/resolv.conf; echo pwned >>/etc/hosts; echo pwned >/etc/hostname;
	cat /etc/resolv.conf; readlink /etc/resolv.conf || echo notalink'
is "$rc" 0 "etc-links: runs (the links are confined, not followed)"
unlike "$out" "host canary" "etc-links: the container does not read the host file"
like "$out" $'\npwned\nnotalink$' "etc-links: the container writes its own resolv.conf"
is "$(canary_state)" "$CANARY_STATE" "etc-links: the host canary is untouched (content, mtime, size, inode)"
after_each etc-links

# --- item 21: WorkingDir through a leaked fd --------------------------------------------------
lc_run "$REG/workdir-fd" 3<"$CDIR"
is "$rc" 125 "workdir-fd: WorkingDir /proc/self/fd/3 is refused, even with a dir open at fd 3"
like "$err" "working directory '/proc/self/fd/3'" "workdir-fd: the reason names it"
ok -m "workdir-fd: one line of error" one_line
for w in /proc/self/fd/7 /proc/self/cwd /proc/1/root/etc; do
	lc_run -w "$w" "$REG/busybox" pwd 7<"$CDIR"
	like "$rc $err" "^125 .*working directory '$w'" "-w $w: refused"
done
after_each workdir-fd

# --- item 28: users -----------------------------------------------------------------------------
for n in user-big user-int32 user-neg; do
	lc_run "$REG/$n"
	is "$rc" 125 "$n: refused with 125"
	ok -m "$n: one line of error" one_line
done
like "$(lc_run "$REG/user-big"; echo "$err")" "user '4294967296:0': user id '4294967296' is out of range: uids and gids must be in range 0-2147483647" \
	"user-big: the reason is the range"
like "$(lc_run "$REG/user-int32"; echo "$err")" "user '2147483648'.*out of range" "user-int32: above INT32_MAX is out of range"
like "$(lc_run "$REG/user-neg"; echo "$err")" "user '-1': invalid user '-1'" "user-neg: a sign is invalid"
lc_run -u 2147483647:2147483647 "$REG/busybox" sh -c 'id -u; id -g'
is "$out" $'2147483647\n2147483647' "the largest id, 2147483647, is allowed"
lc_run -u 0:4294967295 "$REG/busybox" id
like "$rc $err" "^125 .*out of range" "-u 0:4294967295 is refused"
after_each users

# /etc/group with one 2 MiB line: bounded, a clear error, quickly
start=$SECONDS
lc_run "$REG/group-huge"
is "$rc" 125 "group-huge: refused (125), not a hang"
like "$err" "/etc/group has a line longer than 65536 bytes" "group-huge: the reason is the line length"
ok -m "group-huge: answered within 10 s" test $((SECONDS - start)) -lt 10
lc_run -u 1000:1000 "$REG/group-huge" id -u
is "$out" 1000 "group-huge: a numeric user with a group needs no /etc/group lookup and runs"

lc_run "$REG/passwd-fifo"
is "$rc" 125 "passwd-fifo: a FIFO /etc/passwd is refused, not waited on"
like "$err" "'/etc/passwd' in the image is not a regular file" "passwd-fifo: the reason"
lc_run "$REG/passwd-zero"
is "$rc" 125 "passwd-zero: /etc/passwd -> /dev/zero is refused, not read forever"
after_each passwd

# --- item 22: the launcher's binary is never run in the container ------------------------------
lc_run "$REG/self-exe"
is "$rc" 126 "self-exe: /bin/sh = '#!/proc/self/exe' is refused (126)"
like "$err" "exec: \"/bin/sh\": its interpreter '/proc/self/exe' is the launcher's own binary" \
	"self-exe: the reason"
for c in /bin/chain /bin/direct /bin/elf /proc/self/exe /proc/1/exe; do
	lc_run "$REG/self-exe" "$c"
	like "$rc $err" "^126 .*(launcher's own binary|a /proc magic link).*: refusing" "self-exe: $c (a chain, a symlink, PT_INTERP, a magic link) is refused"
done
lc_run "$REG/self-exe" /bin/ok
is "$out" "ok" "self-exe: an ordinary script in the same image runs"
is "$(sha256sum <"$(readlink -f "$LAYERCTL")")" "$SELF_SHA" "the layerctl binary's sha256 is unchanged"
is "$(stat -c %Y "$(readlink -f "$LAYERCTL")")" "$SELF_MTIME" "  and so is its mtime"
after_each self-exe

is "$(canary_state)" "$CANARY_STATE" "the host canary is untouched at the end"

done_testing
