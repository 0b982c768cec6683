#!/bin/bash
# --trace (and LAYERCTL_TRACE=1): one stderr line per kernel-level step. A run with a memory
# limit names the five namespaces it creates (with inodes unlike layerctl's own), the overlay
# mount with one lowerdir per image layer, pivot_root, the memory cgroup write with its value
# and the execve; exec names its setns calls; a pull names its HTTP requests, layers, commits
# and phases, and the trace of a pull with credentials holds neither the password nor a token
# nor a signature.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 40

start_registry
push_images busybox python
P=$REG/python
PARENT=lctest-$TEST_ID
L() { "$LAYERCTL" --root "$ROOT" "$@"; }

# a pull: each request with its status, each layer committed, then one skipped
rc=0; L --trace pull "$REG/busybox" >/dev/null 2>"$TMPD/pull1" || rc=$?
is "$rc" 0 "pull --trace"
t=$(cat "$TMPD/pull1")
like "$t" "trace: GET http://$REG/v2/busybox/manifests/latest = 200, [0-9]+ bytes" "names the manifest GET with its status and size"
like "$t" "trace: GET http://$REG/v2/busybox/blobs/$BASE_LAYER = 200" "and the layer's"
like "$t" "trace: layer 1 $BASE_LAYER: committed as layers/sha256:" "the layer committed"
like "$t" "trace: layer $BASE_LAYER: extracted; commit: manifest's walk [0-9.]+ ms, syncfs [0-9.]+ ms" \
	"what its commit took: the walk and the sync"
like "$t" "trace: phase manifest resolved: [0-9.]+ ms since layerctl started" "the pull's phases, timed"
like "$t" "trace: phase image recorded: [0-9.]+ ms since layerctl started" "up to the image recorded"
rc=0; LAYERCTL_TRACE=1 L pull "$P" >/dev/null 2>"$TMPD/pull2" || rc=$?
t=$(cat "$TMPD/pull2")
like "$t" "trace: layer 1 $BASE_LAYER: skipped, the store has layers/sha256:" "LAYERCTL_TRACE=1: the shared layer skipped"
like "$t" "trace: layer 2 sha256:[0-9a-f]{64}: committed" "the other one committed"
L pull "$P" >/dev/null 2>"$TMPD/pull3"
unlike "$(cat "$TMPD/pull3")" "trace:" "without --trace, no trace"

# a run with a memory limit
nlayers=$(oci_layers python | wc -l)
rc=0; out=$(L --trace run --rm --memory=64m --cgroup-parent "$PARENT" "$P" echo hi 2>"$TMPD/run") || rc=$?
t=$(cat "$TMPD/run")
is "$rc/$out" "0/hi" "run --trace --memory=64m runs as usual"
for f in CLONE_NEWPID CLONE_NEWNS CLONE_NEWUTS CLONE_NEWIPC CLONE_NEWNET; do
	line=$(grep -E "^trace: unshare\($f\) = 0" <<<"$t" || true)
	# the new namespace's inode differs from the one layerctl runs in
	if [[ $line =~ is\ ([a-z]+):\[([0-9]+)\],\ layerctl\'s\ [a-z]+:\[([0-9]+)\] ]] &&
		[[ ${BASH_REMATCH[2]} != 0 && ${BASH_REMATCH[2]} != "${BASH_REMATCH[3]}" ]]; then
		_lc_result 1 "$f created, its inode not layerctl's"
	else
		_lc_result 0 "$f created, its inode not layerctl's"
		diag "line: '$line'"
	fi
done
is "$(grep -cE '^trace: lowerdir [0-9]+ of '"$nlayers"' \((top|middle|bottom)\): l/[^ ]+ is layer sha256:' <<<"$t")" "$nlayers" \
	"the overlay names each of the image's $nlayers layers"
n=$(grep -cE '^trace: fsconfig\([0-9]+, FSCONFIG_SET_STRING, "lowerdir\+", "l/' <<<"$t" || true)
if [[ $n -eq 0 ]]; then # kernels before 6.8: one mount(2) with every lowerdir in its options
	n=$(grep -E '^trace: mount\("overlay", .*"lowerdir=' <<<"$t" | sed 's/.*lowerdir=\([^,]*\).*/\1/' | tr ':' '\n' | grep -c . || true)
fi
is "$n" "$nlayers" "the overlay mount has as many lowerdirs as the image has layers"
like "$t" 'trace: (fsconfig\([0-9]+, FSCONFIG_SET_STRING, "upperdir", "containers/[0-9a-f]{64}/upper"\)|mount\("overlay", .*upperdir=containers/[0-9a-f]{64}/upper)' "and the container's upper dir"
like "$t" 'trace: mount\("proc", "<rootfs>/proc", "proc", MS_NOSUID\|MS_NODEV\|MS_NOEXEC, NULL\) = 0' "the container's /proc"
like "$t" 'trace: pivot_root\("\.", "\."\) = 0' "pivot_root"
like "$t" "trace: write\(\"/sys/fs/cgroup/[^\"]*$PARENT/[0-9a-f]{64}/memory\.(limit_in_bytes|max)\", \"67108864\"\)" \
	"the memory cgroup write with its value"
like "$t" 'trace: prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, \{len=[0-9]+\}\)' "the seccomp filter's size"
like "$t" 'kept 14: CAP_CHOWN,.*dropped [0-9]+: .*CAP_SYS_ADMIN' "capabilities kept and dropped"
like "$t" 'trace: execveat\(fd of "/bin", "echo", \["echo", "hi"\], envp, 0\)' "the execve with its argv"
# order: namespaces, then mounts, pivot_root, execve
order=$(grep -nE '^trace: (unshare\(CLONE_NEWNS\)|pivot_root|execve)' <<<"$t" | cut -d: -f3 | cut -c2-8 | tr '\n' ' ')
is "$order" "unshare pivot_r execvea " "in the order they happen"
# the phases, each with its time since the start and since the step before: the launcher's
# in order, the container's PID 1's in order (the two processes' lines may interleave)
phase_re='^trace: phase ([^:]+): ([0-9.]+) ms since layerctl started, ([0-9.]+) ms since the step before \(pid ([0-9]+)\)$'
phases() { sed -nE "s/$phase_re/\4 \1/p" <<<"$t" | awk -v one="$1" '($1 == 1) == (one == 1) { sub(/^[0-9]+ /, ""); printf "%s,", $0 }'; }
is "$(phases 0)" "store opened,image read,container created,overlay mounted,etc files written,forked,command started (or failed),container reaped,overlay unmounted,container removed," \
	"the launcher's phases, in order"
is "$(phases 1)" "namespaces made,rootfs built,exec," "the container's PID 1's phases, in order"
sorted() { sed -nE "s/$phase_re/\4 \2/p" <<<"$t" | awk -v one="$1" '($1 == 1) == (one == 1) { print $2 }' | sort -g -c && echo sorted; }
is "$(sorted 0)/$(sorted 1)" "sorted/sorted" "their times since the start only grow"
t=$(L --trace run --rm --init "$P" true 2>&1)
like "$t" "trace: fork\(\) = 2: --init's reaper stays PID 1 .*"$'\n'"trace: execveat\(fd of \"/bin\", \"true\"" \
	"--init: the reaper's fork, then the command's execve"

# exec joins with setns; rm unmounts
id=$(L run -d "$P" sleep 30)
rc=0; out=$(L --trace exec "$id" echo joined 2>"$TMPD/exec") || rc=$?
t=$(cat "$TMPD/exec")
is "$rc/$out" "0/joined" "exec --trace"
cpid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["Pid"])' "$ROOT/containers/$id/state.json")
want=$(stat -L -c %i "/proc/$cpid/ns/net")
like "$t" "trace: setns\(CLONE_NEWNET\) = 0: /proc/self/ns/net is net:\[$want\]" "exec: setns into the container's network namespace (its init's inode)"
like "$t" "trace: setns\(CLONE_NEWPID\) = 0: /proc/[0-9]+/ns/pid is pid:\[$(stat -L -c %i "/proc/$cpid/ns/pid")\]" "and its pid namespace"
rc=0; L --trace rm -f "$id" >/dev/null 2>"$TMPD/rm" || rc=$?
t=$(cat "$TMPD/rm")
like "$t" "trace: kill\($cpid, 9\) = 0: SIGKILL to the container's init" "rm -f --trace: the container's init killed"
like "$t" "trace: removed '[^']*containers/$id': its upper dir" "and its dir removed"

# a pull with credentials: the trace shows the requests, never a secret
start_hubproxy --user alice:s3cret --private busybox
export DOCKER_CONFIG=$TMPD/docker
mkdir -p "$DOCKER_CONFIG"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$HUB" "$(printf 'alice:s3cret' | base64)" >"$DOCKER_CONFIG/config.json"
rc=0; L --root "$TMPD/r2" --trace pull "$HUB/busybox" >/dev/null 2>"$TMPD/hub" || rc=$?
t=$(cat "$TMPD/hub")
is "$rc" 0 "a private image pulled with --trace"
like "$t" "trace: GET http://$HUB/token\?service=registry.docker.io&scope=repository(:|%3A)busybox(:|%3A)pull = 200, [0-9]+ bytes, [0-9.]+ s, Authorization sent \(not shown\)" "the token request, its scope shown"
like "$t" "trace: GET http://$HUB_BLOB/blobs/sha256/[0-9a-f]{64}\?sig=REDACTED = 200" "a CDN's signature redacted"
unlike "$t" "s3cret|$(printf 'alice:s3cret' | base64)|Basic |Bearer " "neither the password nor an Authorization value"
# a token is 43 URL-safe characters; digests and ids are hex
tokens=$(grep -oE '[A-Za-z0-9_-]{32,}' <<<"$t" | grep -vE '^[0-9a-f]+$' || true)
is "$tokens" "" "nor anything shaped like a token"

done_testing
