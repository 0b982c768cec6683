#!/bin/bash
# run --rm, hardened like docker (REFERENCE.md §3C 21, 24-26): only fds 0-2, docker's
# capabilities and no_new_privs (a setuid-root program stays unprivileged), masked and read-only /proc and /sys, loopback-only network,
# a mount namespace of its own; -e -w -u -h --entrypoint and the image's Env/WorkingDir;
# docker's exit codes 125/126/127.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 49

start_registry
push_images busybox
B=$REG/busybox

# lc_run [RUN OPTIONS] IMAGE [CMD...]: sets rc, out (stdout) and err (stderr)
lc_run() {
	rc=0
	out=$("$LAYERCTL" --root "$ROOT" run --rm "$@" 2>"$TMPD/stderr") || rc=$?
	err=$(cat "$TMPD/stderr")
}

# push_layout NAME DIR: an OCI layout to $REG/NAME:latest, as built
push_layout() {
	skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
		"oci:$2:latest" "docker://$REG/$1:latest" >>"$TMPD/skopeo.log" 2>&1 ||
		bail_out "skopeo copy $1 failed: $(tail -n 3 "$TMPD/skopeo.log")"
}

lc_run "$B" true
is "$rc" 0 "the busybox image runs (pulled once)"

# --- item 21: fds ---------------------------------------------------------------------------
# fds the caller leaks into layerctl (not CLOEXEC) must not reach the container
echo secret >"$TMPD/leaked"
lc_run "$B" ls /proc/self/fd 7<"$TMPD/leaked" 9<>/dev/null
is "$(printf '%s\n' "$out" | tr '\n' ' ')" "0 1 2 3 " "only fds 0 1 2 (and ls's own) in the container, even when the caller leaks 7 and 9"

# --- items 25, 26: capabilities, no_new_privs -----------------------------------------------
lc_run "$B" grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status
is "$out" $'CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0' \
	"root: docker's 14 capabilities, nothing inheritable or ambient, no_new_privs off (docker's default)"
lc_run -u 1000:1000 "$B" grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status
is "$out" $'CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0' \
	"uid 1000: no capabilities left, same bounding set"

# a setuid-root program does not make a non-root user root (no_new_privs)
"$TOP/testdata/build-hostile-images.sh" "$TMPD/images" --canary "$TMPD/canary" --base "$IMAGES_DIR" --quiet ||
	bail_out "build-hostile-images.sh failed"
push_layout setuid "$TMPD/images/setuid"
lc_run "$REG/setuid" sh -c 'stat -c "%A %u" /bin/euid; /bin/euid; echo $?'
is "$out" $'-rwsr-xr-x 0\n0' "the setuid-root probe reports euid 0 when root runs it"
lc_run -u 1000 "$REG/setuid" sh -c '/bin/euid; echo $?'
is "$out" 0 "run by uid 1000 it gets euid 0 (docker's default: no_new_privs off; the bounding set still docker's)"
lc_run -u 1000 --security-opt no-new-privileges "$REG/setuid" sh -c '/bin/euid; echo $?; grep NoNewPrivs /proc/self/status'
is "$out" $((1000 & 255))$'\nNoNewPrivs:\t1' "with --security-opt no-new-privileges it keeps euid 1000: the setuid bit is ignored"

# --- item 24: masked and read-only paths ----------------------------------------------------
masked=(/proc/acpi /proc/asound /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats
	/proc/sched_debug /proc/scsi /proc/timer_list /proc/timer_stats
	/sys/devices/virtual/powercap /sys/firmware)
present=()
for p in "${masked[@]}"; do [[ -e $p ]] && present+=("$p"); done
note "masked paths this kernel has: ${present[*]}"
[[ ${#present[@]} -gt 0 ]] || bail_out "the host has none of docker's masked paths"
# a masked file reads as empty, a masked dir lists nothing; print what is left otherwise
lc_run "$B" sh -c 'for p; do
		if [ -d "$p" ]; then n=$(ls -A "$p" | wc -l); else n=$(cat "$p" 2>/dev/null | wc -c); fi
		echo "$p $n"; done' sh "${present[@]}"
want=$(for p in "${present[@]}"; do echo "$p 0"; done)
is "$out" "$want" "docker's masked /proc and /sys paths are empty in the container"
lc_run "$B" sh -c 'echo x 2>/dev/null >/proc/sys/kernel/hostname; echo $?; hostname'
like "$out" $'^[1-9][0-9]*\n[0-9a-f]{12}$' "writing /proc/sys/kernel/hostname fails (/proc/sys is read-only)"
like "$err" "Read-only file system|^$" "with EROFS"
core_before=$(cat /proc/sys/kernel/core_pattern)
lc_run "$B" sh -c 'echo x >/proc/sys/kernel/core_pattern'
isnt "$rc" 0 "writing /proc/sys/kernel/core_pattern fails"
like "$err" "Read-only file system" "  because /proc/sys is read-only"
is "$(cat /proc/sys/kernel/core_pattern)" "$core_before" "  the host's core_pattern is unchanged"
lc_run "$B" sh -c 'touch /sys/x; echo 1 > /sys/kernel/uevent_helper'
isnt "$rc" 0 "/sys cannot be written"
like "$err" "touch: /sys/x: Read-only file system" "  /sys is mounted read-only"
lc_run "$B" sh -c 'for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
		[ -e $p ] || continue; grep -q " $p ro," /proc/self/mountinfo && echo "$p ro" || echo "$p RW"; done'
unlike "$out" "RW" "/proc/bus, /proc/fs, /proc/irq, /proc/sys (and sysrq-trigger) are read-only mounts"
like "$out" "/proc/sys ro" "  /proc/sys among them"

# --- network namespace: loopback only, up ---------------------------------------------------
lc_run "$B" sh -c 'ls /sys/class/net; cat /sys/class/net/lo/flags; ip -o link | cut -d: -f2'
is "$out" $'lo\n0x9\n lo' "the network namespace has only lo, and it is up (IFF_UP|IFF_LOOPBACK)"
lc_run "$B" sh -c 'ip -o -4 addr show lo | grep -o "inet [0-9./]*"'
is "$out" "inet 127.0.0.1/8" "lo has 127.0.0.1"

# --- mount namespace ------------------------------------------------------------------------
lc_run "$B" cat /proc/self/mountinfo
is "$rc" 0 "mountinfo readable"
mpoints=$(printf '%s\n' "$out" | awk '{print $5}')
unexpected=$(printf '%s\n' "$mpoints" | grep -vxE '/|/proc(/(acpi|asound|interrupts|kcore|keys|latency_stats|sched_debug|scsi|timer_list|timer_stats|bus|fs|irq|sys|sysrq-trigger))?|/dev(/(pts|shm|mqueue|null|zero|full|random|urandom|tty))?|/sys(/firmware|/devices/virtual/powercap)?|/etc/(hostname|hosts|resolv\.conf)' || true)
is "$unexpected" "" "the container sees only its own mounts (no host mount points)"
is "$(printf '%s\n' "$mpoints" | grep -c "^$TMPD" || true)" 0 "no mount point at a host path"
lc_run "$B" sh -c 'ls /work /mnt 2>/dev/null; ls /proc/1/root/ | tr "\n" " "'
unlike "$out" "main|sandboxing" "host directories are not reachable"
lc_run "$B" sh -c 'echo hi > /dev/null && head -c 3 /dev/zero | wc -c && ls /dev/pts && stat -c %a /dev/shm'
is "$out" $'3\nptmx\n1777' "/dev: null, zero, a private devpts, shm 1777"

# --- hostname, environment, user, working dir, entrypoint -----------------------------------
lc_run "$B" sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME; grep -c "$(hostname)" /etc/hosts'
like "$out" $'^([0-9a-f]{12})\n\\1\n\\1\n1$' "hostname, /etc/hostname, \$HOSTNAME and /etc/hosts agree on the short id"
lc_run -h web1 "$B" sh -c 'hostname; echo $HOSTNAME'
is "$out" $'web1\nweb1' "-h sets the hostname"
is "$(hostname)" "$(cat /proc/sys/kernel/hostname)" "the host's hostname is its own"
lc_run -h 'bad name' "$B" true
is "$rc" 125 "an invalid -h is refused with 125"

export LCTEST_FROM_HOST=hostval
lc_run -e FOO=bar -e PATH=/bin -e LCTEST_FROM_HOST -e LCTEST_UNSET_VAR "$B" sh -c \
	'echo "$FOO $PATH $LCTEST_FROM_HOST ${LCTEST_UNSET_VAR-unset} $HOME"'
is "$out" "bar /bin hostval unset /root" "-e KEY=VALUE overrides, -e KEY copies ours (skipped if unset), root's HOME"
lc_run -w /tmp/new/dir "$B" pwd
is "$out" "/tmp/new/dir" "-w sets (and creates) the working directory"
lc_run -w relative "$B" pwd
is "$rc" 125 "-w must be absolute (125)"

lc_run -u 1000:1000 "$B" sh -c 'id -u; id -g; echo $HOME'
is "$out" $'1000\n1000\n/' "-u 1000:1000: id -u prints 1000, gid 1000, HOME / (no passwd entry)"
lc_run -u daemon "$B" sh -c 'id -u; id -g; echo $HOME'
is "$out" $'1\n1\n/usr/sbin' "-u daemon: uid, gid and home from the image's passwd"
lc_run -u 1000 "$B" sh -c 'touch /etc/x'
isnt "$rc" 0 "a non-root user cannot write root's /etc"
lc_run -u ghost "$B" true
is "$rc" 125 "-u with an unknown name: 125"
like "$err" "unable to find user ghost: no matching entries in passwd file" "  docker's message"

lc_run --entrypoint /bin/echo "$B" a b
is "$out" "a b" "--entrypoint replaces the entrypoint, the arguments follow"
lc_run --entrypoint sh "$B" -c 'echo $0'
is "$out" "sh" "--entrypoint is looked up in PATH"

# the image's Env and WorkingDir
push_layout env-workdir "$TMPD/images/env-workdir"
lc_run "$REG/env-workdir"
is "$out" "from-image /srv/app" "the image's Env and WorkingDir are honoured (the dir is created)"
lc_run -e FOO=cli -w /tmp "$REG/env-workdir"
is "$out" "cli /tmp" "-e and -w override them"

# --- exit codes -----------------------------------------------------------------------------
lc_run "$B" sh -c 'exit 3'
is "$rc" 3 "the command's status passes through"
lc_run "$B" nosuchcmd
is "$rc" 127 "a command not in PATH: 127"
lc_run "$B" /no/such/file
is "$rc" 127 "a missing path: 127"
lc_run "$B" /etc/passwd
is "$rc" 126 "a non-executable file: 126"
like "$err" 'exec: "/etc/passwd": Permission denied' "  with the reason"
lc_run "$B" /etc
is "$rc" 126 "a directory: 126"
lc_run --pull never "$REG/nosuchimage" true
is "$rc" 125 "a missing image with --pull never: 125"

# --- nothing left behind --------------------------------------------------------------------
is "$(_lc_mounts_under "$TMPD")" "" "nothing is mounted under \$TMPD"
is "$(find "$ROOT/containers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "containers/ is empty"

done_testing
