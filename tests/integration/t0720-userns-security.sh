#!/bin/bash
# The classic user-namespace mistakes, as tests (run --userns as root): a setuid-root program
# of the image makes a user the container's root, which is an unprivileged id of the host; a
# host file owned by the invoking user cannot be written through a bind mount, writable or not,
# unless the host dir was given to the container's root on purpose; ids the map leaves out show
# as nobody (65534) and cannot be given to a file; /proc/self/setgroups is what the writer of
# the maps allows (root wrote them: "allow", the groups a process may take are mapped ones).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
host_state_lock # /etc/subuid, /etc/subgid and test users: one such test at a time
require_layerctl
command -v gcc >/dev/null || skip_all "needs gcc (a static helper program)"

plan 16

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
rm_all() { local c; for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done; }
at_cleanup rm_all
S=3300000 # the container's root on the host with --uidmap 0:$S:65536
M=(--uidmap "0:$S:65536")
subid_add root 3400000 65536

push_layout() {
	skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
		"oci:$2:latest" "docker://$REG/$1:latest" >>"$TMPD/skopeo.log" 2>&1 ||
		bail_out "skopeo copy $1 failed: $(tail -n 3 "$TMPD/skopeo.log")"
}
"$TOP/testdata/build-hostile-images.sh" "$TMPD/images" --canary "$TMPD/canary" --base "$IMAGES_DIR" --quiet ||
	bail_out "build-hostile-images.sh failed"
push_layout setuid "$TMPD/images/setuid"
ok -m "pull busybox and the setuid image" L pull -q "$B"
L pull -q "$REG/setuid" >/dev/null

# --- setuid --------------------------------------------------------------------------------------
out=$(L run --rm --userns=auto -u 1000 "$REG/setuid" sh -c '/bin/euid; echo $?; cat /proc/self/uid_map | tr -s " "')
is "$out" $'0\n 0 3400000 65536' "the image's setuid-root program run by uid 1000 gets euid 0: the container's root"
# the same, held running, seen from the host: a static program that sleeps, made setuid-root
# by the container's root in its own /tmp (bind mounts are nosuid)
mkdir -m 755 "$TMPD/bin"
printf '#include <unistd.h>\nint main(void) { sleep(60); return 0; }\n' >"$TMPD/hold.c"
gcc -static -O2 -o "$TMPD/bin/hold" "$TMPD/hold.c" || bail_out "gcc -static failed"
ok -m "a container whose root makes /tmp/hold setuid-root" \
	L run -d --name s "${M[@]}" -v "$TMPD/bin:/h:ro" "$B" sh -c 'cp /h/hold /tmp/hold && chmod 4755 /tmp/hold && touch /tmp/ready && sleep 120'
for _ in $(seq 1 50); do L exec s test -e /tmp/ready 2>/dev/null && break; sleep 0.1; done
L exec -u 1000 s /tmp/hold >/dev/null 2>&1 &
hpid=''
for _ in $(seq 1 50); do
	hpid=$(L top s | awk '$NF == "/tmp/hold" { print $2 }')
	[[ -n $hpid ]] && break
	sleep 0.1
done
is "$(awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$hpid/status" 2>/dev/null)" "$((S + 1000)) $S $S" \
	"on the host it runs with real uid $((S + 1000)) and effective uid $S, never 0"
is "$(awk '/^CapEff:/ { print $2 }' "/proc/$hpid/status" 2>/dev/null)" "00000000a80425fb" \
	"  its capabilities: docker's set, which count in its user namespace only"
ok -m "rm -f it" L rm -f s

# --- bind mounts -----------------------------------------------------------------------------------
H=$TMPD/home
mkdir -m 755 "$H"
echo mine >"$H/f"
chmod 644 "$H/f"
out=$(L run --rm "${M[@]}" -v "$H:/h" "$B" sh -c 'stat -c "%u %g" /h/f; (echo x >>/h/f) 2>&1; (touch /h/new) 2>&1; (chmod 666 /h/f) 2>&1; true')
like "$out" $'^65534 65534\n.*Permission denied\n.*Permission denied\n.*Operation not permitted$' \
	"a host file of the invoking user (root), bound writable: shows as nobody; no write, no new file, no chmod"
is "$(cat "$H/f"; ls "$H")" $'mine\nf' "  the host's dir is unchanged"
W=$TMPD/given
mkdir -m 755 "$W"
chown "$S:$S" "$W"
is "$(L run --rm "${M[@]}" -v "$W:/w" "$B" sh -c 'echo written >/w/x && stat -c "%u %g" /w/x')" "0 0" \
	"a host dir given to the container's root on purpose (chown $S) is writable, owned by root inside"
is "$(stat -c '%u %g' "$W/x")" "$S $S" "  and by $S on the host"
rc=0; out=$(L run --rm "${M[@]}" -v "$W:/w:ro" "$B" sh -c 'echo y >/w/x' 2>&1) || rc=$?
like "$rc/$out" "^1/.*Read-only file system" "  mounted :ro, not even its owner writes"

# --- unmapped ids ----------------------------------------------------------------------------------
mkdir -m 755 "$TMPD/ids"
touch "$TMPD/ids/a" "$TMPD/ids/b"
chown 12345:12345 "$TMPD/ids/a"
chown "$((S + 7))":"$((S + 7))" "$TMPD/ids/b"
is "$(L run --rm "${M[@]}" -v "$TMPD/ids:/i:ro" "$B" sh -c 'stat -c "%n %u %g" /i/a /i/b /proc/sys/kernel/hostname')" \
	$'/i/a 65534 65534\n/i/b 7 7\n/proc/sys/kernel/hostname 65534 65534' \
	"unmapped host ids (12345, host root) show as nobody; a mapped one as its container id"
rc=0; out=$(L run --rm --uidmap 0:$S:100 "$B" sh -c 'touch /x && chown 500 /x' 2>&1) || rc=$?
like "$rc/$out" "^1/.*Invalid argument" "a file cannot be given an id the map leaves out (EINVAL)"
is "$(L run --rm --uidmap 0:$S:100 "$B" sh -c 'ls -ln /proc/1/ns/ | sed -n 2p | tr -s " " | cut -d" " -f3,4')" "0 0" \
	"  while what it owns shows as its root"

# --- setgroups -------------------------------------------------------------------------------------
out=$(L run --rm "${M[@]}" "$B" sh -c 'cat /proc/self/setgroups; id -G')
is "$out" $'allow\n0' "/proc/self/setgroups: 'allow' (root wrote the maps); the host's groups are gone (only mapped 0)"
is "$(L run --rm "${M[@]}" -u 1000:1000 "$B" sh -c 'cat /proc/self/status | grep ^Groups: | tr -d "\t "')" "Groups:" \
	"-u 1000:1000: no supplementary group left over from the launcher"
done_testing
