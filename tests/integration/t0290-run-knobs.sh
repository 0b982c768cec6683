#!/bin/bash
# docker's switches around the defaults: --cap-add/--cap-drop (exec keeps the container's set),
# --network none|host, --uts host, --ipc host, --pid host, --add-host, --dns; what is not
# supported says so.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 18

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'
ok -m "pull busybox" L pull -q "$B"
bnd() { L run --rm "$@" "$B" sh -c 'grep CapBnd /proc/self/status | cut -f2'; }

is "$(bnd)" 00000000a80425fb "default: docker's 14 capabilities"
is "$(bnd --cap-drop NET_RAW --cap-drop chown)" 00000000a80405fa "--cap-drop NET_RAW --cap-drop chown"
is "$(bnd --cap-add SYS_ADMIN)" 00000000a82425fb "--cap-add SYS_ADMIN"
is "$(bnd --cap-drop ALL --cap-add CAP_KILL)" 0000000000000020 "--cap-drop ALL --cap-add CAP_KILL"
is "$(L run --rm --cap-drop ALL "$B" sh -c 'chown 1 /tmp 2>&1 >/dev/null | grep -c "not permitted"')" 1 \
	"  without CAP_CHOWN root cannot chown"
rc=0; out=$(L run --rm --cap-add NOPE "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*invalid capability: NOPE" "an unknown capability: 125"
id=$(L run -d --cap-drop ALL "$B" sleep 30)
is "$(L exec "$id" grep CapEff /proc/self/status | cut -f2)" 0000000000000000 "exec keeps the container's capability set (none)"
ok -m "rm -f" L rm -f "$id"

is "$(L run --rm --network host "$B" sh -c 'ls /sys/class/net | wc -l')" "$(ls /sys/class/net | wc -l)" \
	"--network host: the host's interfaces"
is "$(L run --rm --net none "$B" ls /sys/class/net)" "lo" "--net none: lo only (the default)"
is "$(L run --rm --uts host "$B" hostname)" "$(hostname)" "--uts host: the host's hostname"
is "$(L run --rm --ipc host "$B" readlink /proc/self/ns/ipc)" "$(readlink /proc/self/ns/ipc)" "--ipc host: the host's IPC namespace"
is "$(L run --rm --add-host db.example:10.1.2.3 --dns 192.0.2.53 "$B" sh -c 'grep db.example /etc/hosts; cat /etc/resolv.conf')" \
	$'10.1.2.3\tdb.example\nnameserver 192.0.2.53' "--add-host and --dns land in /etc/hosts and /etc/resolv.conf"
out=$(L run --rm --pid host "$B" sh -c 'echo $$; cat /proc/1/comm; readlink /proc/self/ns/pid')
isnt "$(sed -n 1p <<<"$out")" 1 "--pid host: the command is not PID 1"
is "$(sed -n 2,3p <<<"$out")" "$(cat /proc/1/comm)"$'\n'"$(readlink /proc/self/ns/pid)" "  it sees the host's PID 1, in the host's pid namespace"
left=$(L run --rm --pid host "$B" sh -c 'sleep 300 >/dev/null 2>&1 & echo $!')
# killed with the cgroup; a zombie until whoever inherited it reaps it
for _ in $(seq 1 50); do [[ ! -e /proc/$left ]] || grep -q '^State:.*Z' "/proc/$left/status" 2>/dev/null && break; sleep 0.1; done
ok -m "  what it leaves running dies with it (its cgroup is emptied: pid $left)" \
	sh -c "test ! -e /proc/$left || grep -q '^State:.*Z' /proc/$left/status"
rc=0; out=$(L run --rm --pid container:x "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*--pid container:x is not supported" "--pid container:NAME is refused, saying so"

done_testing
