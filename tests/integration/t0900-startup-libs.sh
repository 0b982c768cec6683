#!/bin/bash
# Start-up cost: libcurl and libarchive (and their trees: TLS, GSSAPI, LDAP, libxml2 with ICU,
# ...) are loaded only by the paths that use them (fetch/curl-dl.c, store/archive-dl.c). With
# both hidden, --help, images, ps and run work; pull says what to install, in one line.
. "$(dirname "$0")/../lib.sh"

require_root
require_layerctl
command -v unshare >/dev/null || skip_all "no unshare"
plan 12

start_registry
push_images busybox
ok "$LAYERCTL" pull -q "$REG/busybox"

needed=$(readelf -d "$LAYERCTL" | awk '/NEEDED/ { print $NF }' | tr -d '[]' | tr '\n' ' ')
unlike "$needed" "libcurl|libarchive" "the binary does not link libcurl or libarchive ($needed)"

# the libraries a running `layerctl run` has mapped: none of the registry client's or the tar
# reader's trees (nor libcrypto: its sha256 is linked statically)
"$LAYERCTL" run --rm "$REG/busybox" sh -c 'trap "exit 0" TERM; sleep 30 & wait' >/dev/null 2>&1 &
runpid=$!
at_cleanup kill -KILL "$runpid"
for _ in $(seq 100); do # until the container runs: layerctl is past every library it loads
	[[ $("$LAYERCTL" ps | wc -l) -ge 2 ]] && break
	sleep 0.1
done
maps=$(awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "/proc/$runpid/maps" | sort -u | tr '\n' ' ')
like "$maps" "libc\.so" "a running layerctl run's maps were read ($maps)"
unlike "$maps" "libcurl|libarchive|libcrypto|gnutls|krb5|ldap|xml2|icu|nghttp2|ssh2" \
	"run maps neither tree"
kill -TERM "$runpid" 2>/dev/null || true
wait "$runpid" 2>/dev/null || true

# In a mount namespace of its own, each library is replaced by an empty file (the host keeps
# them: the namespace and its mounts go when the script ends)
lib_path() { readlink -f "$(ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }')"; }
curl_so=$(lib_path libcurl.so.4)
arch_so=$(lib_path libarchive.so.13)
[[ -f $curl_so && -f $arch_so ]] || bail_out "libcurl.so.4 or libarchive.so.13 not found by ldconfig"
: >"$TMPD/empty.so"
hidden() { # hidden CMD...: run CMD with both libraries hidden
	unshare --mount --propagation private bash -c \
		'mount --bind "$1" "$2" && mount --bind "$1" "$3" && shift 3 && exec "$@"' \
		_ "$TMPD/empty.so" "$curl_so" "$arch_so" "$@"
}
rc=0; out=$(hidden "$LAYERCTL" --help 2>&1) || rc=$?
is "$rc" 0 "--help without libcurl and libarchive"
rc=0; out=$(hidden "$LAYERCTL" images 2>&1) || rc=$?
is "$rc:$(grep -c busybox <<<"$out")" "0:1" "images without them"
rc=0; out=$(hidden "$LAYERCTL" ps -a 2>&1) || rc=$?
is "$rc" 0 "ps without them"
rc=0; out=$(hidden "$LAYERCTL" run --rm "$REG/busybox" echo hello 2>&1) || rc=$?
is "$rc:$out" "0:hello" "run of a pulled image without them"

rc=0; out=$(hidden "$LAYERCTL" pull "$REG/busybox" 2>&1 >/dev/null) || rc=$?
is "$rc" 1 "pull without libcurl fails with 1, no crash"
like "$out" "^layerctl: pull '[^']*busybox[^']*': needs libcurl\.so\.4: install libcurl4 \(" \
	"and says what to install, in one line ($out)"
is "$(wc -l <<<"$out")" 1 "one line on stderr"

# libcurl there, libarchive not: the layer is refused before a byte of it is asked for
rc=0
out=$(unshare --mount --propagation private bash -c \
	'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ "$TMPD/empty.so" "$arch_so" \
	"$LAYERCTL" --root "$TMPD/other" pull -q "$REG/busybox" 2>&1) || rc=$?
like "$rc:$out" "^1:layerctl: pull .*needs libarchive\.so\.13: install libarchive13 \(" \
	"pull without libarchive names it ($out)"

done_testing
