#!/bin/bash
# The security knobs as docker users type them: --security-opt seccomp=PROFILE.json (docker's
# format) and seccomp=unconfined, --security-opt no-new-privileges[:true|false] (docker's
# default: off), --ulimit, --privileged, --device; exec gets the container's.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 42

start_registry
push_images busybox
B=$REG/busybox
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c"; done'
ok -m "pull busybox" L pull -q "$B"

# --- seccomp profiles ------------------------------------------------------------------------
cat >"$TMPD/nomkdir.json" <<'EOF'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
	"syscalls": [
		{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" },
		{ "names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 },
		{ "names": ["chdir"], "action": "SCMP_ACT_ERRNO", "includes": { "caps": ["CAP_SYS_ADMIN"] } },
		{ "names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [ { "index": 1, "value": 10, "op": "SCMP_CMP_EQ" } ] }
	]
}
EOF
out=$(L run --rm --security-opt seccomp="$TMPD/nomkdir.json" "$B" sh -c 'mkdir /x 2>&1; echo "mkdir=$?"
	mkdir -p /y; rmdir /tmp 2>&1; cd /tmp && echo cd-ok; kill -USR1 $$ 2>&1; kill -0 $$ && echo kill0-ok
	grep Seccomp: /proc/self/status' 2>&1)
like "$out" "mkdir: can't create directory '/x': Operation not permitted" "a profile denying mkdir: mkdir fails with EPERM"
like "$out" "mkdir=1" "  its exit status 1"
like "$out" "rmdir: '/tmp': Function not implemented" "  errnoRet 38 gives ENOSYS"
like "$out" "cd-ok" "  a rule for CAP_SYS_ADMIN only (includes.caps) is left out"
like "$out" "can't kill pid [0-9]+: Operation not permitted" "  an argument rule: kill(pid, SIGUSR1) refused"
like "$out" "kill0-ok" "  kill(pid, 0) allowed"
like "$out" $'Seccomp:\t2' "  the filter is installed"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}' >"$TMPD/bad.json"
out=$(L run --rm --security-opt seccomp="$TMPD/bad.json" "$B" true 2>&1) && rc=0 || rc=$?
is "$rc" 125 "a profile that cannot be honoured: 125"
like "$out" "action 'SCMP_ACT_NOTIFY' is not supported" "  saying why"
out=$(L run --rm --security-opt seccomp="$TMPD/nonexistent.json" "$B" true 2>&1) && rc=0 || rc=$?
is "$rc" 125 "a missing profile file: 125"
like "$out" "opening seccomp profile \\($TMPD/nonexistent.json\\) failed" "  docker's words"
is "$(L run --rm --security-opt seccomp=unconfined "$B" grep Seccomp: /proc/self/status)" $'Seccomp:\t0' "seccomp=unconfined: no filter"
id=$(L run -d --name sc --security-opt seccomp="$TMPD/nomkdir.json" --security-opt no-new-privileges --ulimit nofile=100:200 "$B" sleep 1000)
like "$id" '^[0-9a-f]{64}$' "a detached container with a profile, no_new_privs and a ulimit"
out=$(L exec sc sh -c 'mkdir /z 2>&1; grep NoNewPrivs /proc/self/status; ulimit -n; ulimit -Hn')
like "$out" "Operation not permitted" "  exec gets its profile"
like "$out" $'NoNewPrivs:\t1' "  and its no_new_privs"
like "$out" $'\n100\n200$' "  and its ulimit"

# --- no-new-privileges -----------------------------------------------------------------------
is "$(L run --rm "$B" grep NoNewPrivs /proc/self/status)" $'NoNewPrivs:\t0' "no_new_privs off by default (docker's)"
is "$(L run --rm --security-opt no-new-privileges "$B" grep NoNewPrivs /proc/self/status)" $'NoNewPrivs:\t1' "--security-opt no-new-privileges: on"
is "$(L run --rm --security-opt no-new-privileges:true "$B" grep NoNewPrivs /proc/self/status)" $'NoNewPrivs:\t1' "  no-new-privileges:true"
is "$(L run --rm --security-opt no-new-privileges=false "$B" grep NoNewPrivs /proc/self/status)" $'NoNewPrivs:\t0' "  no-new-privileges=false: off"
out=$(L run --rm --security-opt label=disable "$B" true 2>&1) && rc=0 || rc=$?
is "$rc" 125 "an option we cannot honour (label=): 125"

# --- ulimits ---------------------------------------------------------------------------------
out=$(L run --rm --ulimit nofile=64:64 --ulimit nproc=10:20 --ulimit core=0 "$B" sh -c 'ulimit -n; grep -E "^Max (open files|processes|core)" /proc/self/limits' | tr -s ' ')
is "$out" $'64\nMax core file size 0 0 bytes \nMax processes 10 20 processes \nMax open files 64 64 files ' "--ulimit nofile=64:64 nproc=10:20 core=0: ulimit -n and /proc/self/limits"
is "$(L run --rm --ulimit nofile=64 "$B" sh -c 'ulimit -Hn')" 64 "--ulimit nofile=64: the hard limit is the soft one"
out=$(L run --rm --ulimit nofile=10:5 "$B" true 2>&1) && rc=0 || rc=$?
is "$rc" 125 "soft above hard: 125"
like "$out" "ulimit soft limit must be less than or equal to hard limit: 10 > 5" "  docker's words"
out=$(L run --rm --ulimit nofiles=1 "$B" true 2>&1) && rc=0 || rc=$?
like "$out" "invalid ulimit type: nofiles" "an unknown name: docker's words"

# --- --privileged ----------------------------------------------------------------------------
is "$(L run --rm "$B" sh -c 'mkdir -p /m && mount -t tmpfs t /m 2>/dev/null && echo mounted || echo refused')" refused "without --privileged: mounting a tmpfs is refused"
out=$(L run --rm --privileged "$B" sh -c 'mkdir -p /m && mount -t tmpfs t /m && echo mounted
	grep -E "^(CapEff|Seccomp):" /proc/self/status; stat -c %F /proc/timer_list; grep " /sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1
	test -c /dev/loop-control && echo has-loop-control; ls /proc/self/fd | tr "\n" " "' 2>&1) || true
like "$out" "mounted" "--privileged: mounting a tmpfs works"
like "$out" "CapEff:.$(grep CapEff /proc/self/status | cut -f2)" "  every capability we hold"
like "$out" $'Seccomp:\t0' "  no seccomp filter"
like "$out" "regular" "  /proc/timer_list not masked"
like "$out" $'\nrw\n' "  /sys writable"
like "$out" "has-loop-control" "  the host's devices in /dev"
like "$out" "0 1 2 3 \$" "  still only fds 0, 1, 2 (and ls's)"

# --- --device --------------------------------------------------------------------------------
printf 'LOOPDATA%01016d' 0 >"$TMPD/disk1"
printf 'OTHERDEV%01016d' 0 >"$TMPD/disk2"
L1=$(losetup -f --show "$TMPD/disk1")
at_cleanup losetup -d "$L1"
L2=$(losetup -f --show "$TMPD/disk2")
at_cleanup losetup -d "$L2"
m2=$(stat -c %T "$L2")
m2=$((16#$m2))
out=$(L run --rm --device "$L1" "$B" sh -c "head -c 8 $L1; echo
	mknod /tmp/other b 7 $m2 && head -c 8 /tmp/other 2>&1; mknod /dev/other b 7 $m2 && head -c 8 /dev/other 2>&1; test -e $L2 || echo no-$L2" 2>&1)
like "$out" "^LOOPDATA" "--device $L1: usable inside"
unlike "$out" "OTHERDEV" "  another loop device made with mknod does not open"
like "$out" "no-$L2" "  and is not in /dev"
out=$(L run --rm --device "$L1:/dev/xvdc:r" "$B" sh -c 'head -c 8 /dev/xvdc; echo; echo x | dd of=/dev/xvdc 2>&1' 2>&1) || true
like "$out" "^LOOPDATA" "--device HOST:/dev/xvdc:r: read works under the new name"
like "$out" "Operation not permitted" "  writing is refused by the device cgroup"
is "$(head -c 8 "$TMPD/disk1")" LOOPDATA "  the disk unchanged"
out=$(L run --rm --device /etc/passwd "$B" true 2>&1) && rc=0 || rc=$?
like "$rc:$out" "^125:.*not a device node" "--device of a regular file: 125"

done_testing
