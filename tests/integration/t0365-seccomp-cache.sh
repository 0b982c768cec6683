#!/bin/bash
# A --security-opt seccomp=PROFILE is compiled once and cached in the store's seccomp/ (0700,
# one 0600 file a profile, capabilities and kernel); a later run and each exec load it. A
# cache file that was tampered with (an instruction changed, truncated, replaced by a symlink,
# made writable by others) is never loaded: the profile is compiled again, the file rewritten,
# and the container gets the profile's filter all the same.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 19

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
# shellcheck disable=SC2016 # the inner bash expands them
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c"; done'
ok -m "pull busybox" L pull -q "$B"

cat >"$TMPD/nomkdir.json" <<'EOF'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
	"syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" } ]
}
EOF
probe='mkdir /x 2>/dev/null; echo "mkdir=$?"'
run_probe() { # run_probe: the profile's run, its trace in $TMPD/trace
	L --trace run --rm --security-opt seccomp="$TMPD/nomkdir.json" "$B" sh -c "$probe" 2>"$TMPD/trace"
}
is "$(run_probe)" "mkdir=1" "the profile denies mkdir"
like "$(cat "$TMPD/trace")" "seccomp profile: compiled, cached as sha256:[0-9a-f]{64}" "first run: compiled and cached"
files=("$ROOT"/seccomp/*)
is "${#files[@]}" 1 "one cache file"
f=${files[0]}
is "$(stat -c %a:%U "$ROOT/seccomp"):$(stat -c %a:%U:%h "$f")" "700:root:600:root:1" "seccomp/ 0700, the file 0600, root's, one link"
cp "$f" "$TMPD/good"
is "$(run_probe)" "mkdir=1" "second run: denied as before"
like "$(cat "$TMPD/trace")" "seccomp profile: the compiled program loaded from the cache" "second run: loaded from the cache"

# tampered: the default action (the last instruction, SCMP_ACT_ALLOW) made the errno action,
# a truncation, a symlink to a good copy, a file writable by others
tamper() {
	case $1 in
	flip) "$PY" -I -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-2] ^= 0x40; open(p, "wb").write(b)' "$f" ;;
	truncate) truncate -s -8 "$f" ;;
	symlink) rm -f "$f" && ln -s "$TMPD/good" "$f" ;;
	mode) chmod 0622 "$f" ;;
	esac
}
for how in flip truncate symlink mode; do
	tamper "$how"
	is "$(run_probe)" "mkdir=1" "$how: the profile's filter all the same"
	like "$(cat "$TMPD/trace")" "seccomp profile: compiled, cached as" "$how: never loaded, compiled again"
	[[ ! -L $f ]] && cmp -s "$f" "$TMPD/good" && [[ $(stat -c %a "$f") == 600 ]] && r=ok || r=bad
	is "$r" ok "$how: the cache file rewritten as it was"
done
