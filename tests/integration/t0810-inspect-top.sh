#!/bin/bash
# inspect, top, diff and stats of containers: inspect's Pid is the host pid of the container's
# PID 1 (its cgroup says so), its namespace inodes are those /proc shows, unlike layerctl's;
# top lists each process with both pids (the container's as ps inside sees them); diff shows
# the upper dir as A/C/D (a whiteout is D, an opaque dir C); stats reads the cgroup.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

CG=/sys/fs/cgroup
[[ -d $CG/memory || -f $CG/cgroup.controllers ]] || skip_all "no memory cgroup"

plan 35

start_registry
push_images busybox
B=$REG/busybox
PARENT=lctest-$TEST_ID
L() { "$LAYERCTL" --root "$ROOT" "$@"; }
L pull -q "$B" >/dev/null

id=$(L run -d --name box --memory 64m --cgroup-parent "$PARENT" "$B" sh -c 'sleep 300 & sleep 301')
at_cleanup "$LAYERCTL" --root "$ROOT" rm -f "$id"
# the container's processes as its memory cgroup lists them (host pids), oldest first
if [[ -f $CG/cgroup.controllers ]]; then procs_file=$CG/$PARENT/$id/cgroup.procs
else procs_file=$CG/memory/$PARENT/$id/cgroup.procs; fi
for _ in $(seq 50); do [[ $(wc -l <"$procs_file" 2>/dev/null || echo 0) -ge 3 ]] && break; sleep 0.1; done
mapfile -t cg_pids < <(sort -n "$procs_file")
init=${cg_pids[0]}

# inspect: the host pid and the namespaces, as /proc has them
is "$(L inspect -f '{{.State.Pid}}' box)" "$init" "inspect's State.Pid is the host pid of PID 1 (the cgroup's first process)"
is "$(awk '/^NSpid:/ {print $NF}' "/proc/$init/status")" 1 "which is 1 in its own pid namespace"
is "$(L inspect -f '{{.State.Status}} {{.State.Running}} {{.State.OOMKilled}} {{.State.ExitCode}}' box)" \
	"running true false 0" "State: running, not OOM-killed, exit code 0"
for ns in pid mnt net uts ipc cgroup; do
	want=$(stat -L -c %i "/proc/$init/ns/$ns")
	got=$(L inspect -f "{{.Namespaces.$ns.Inode}}" box)
	if [[ $got == "$want" && $want != "$(stat -L -c %i "/proc/self/ns/$ns")" ]]; then
		_lc_result 1 "namespace $ns: inode $got as /proc/$init/ns/$ns shows, not ours"
	else
		_lc_result 0 "namespace $ns: inode as /proc shows, not ours"
		diag "inspect: '$got', /proc/$init/ns/$ns: '$want', ours: $(stat -L -c %i "/proc/self/ns/$ns")"
	fi
done
is "$(L inspect -f '{{.GraphDriver.Data.UpperDir}} {{.GraphDriver.Data.MergedDir}}' box)" \
	"$ROOT/containers/$id/upper $ROOT/containers/$id/merged" "GraphDriver: the overlay's upper and merged dirs"
like "$(findmnt -n -o OPTIONS "$ROOT/containers/$id/merged")" "upperdir=[^,]*containers/$id/upper" "which is what is mounted"
lower=$(L inspect -f '{{.GraphDriver.Data.LowerDir}}' box)
is "$lower" "$ROOT/layers/sha256/$(L inspect --type image -f '{{.GraphDriver.Data.LowerDir}}' "$B" | sed 's|.*/||')" "LowerDir: the image's layer"
is "$(L inspect -f '{{.Cgroup.Memory.Limit}} {{.HostConfig.Memory}}' box)" "67108864 67108864" "the cgroup's memory limit"
like "$(L inspect -f '{{.Cgroup.Path}}' box)" "/$PARENT/$id\$" "and its path"
is "$(L inspect -f '{{.Cgroup.Pids.Current}}' box)" "${#cg_pids[@]}" "its pids now"
is "$(L inspect -f '{{.Name}} {{json .Config.Cmd}}' box)" '/box ["sh","-c","sleep 300 & sleep 301"]' "Name and Config"
rc=0; out=$(L inspect nosuchthing 2>&1) || rc=$?
is "$rc" 1 "inspect of nothing fails"
like "$out" "No such object: nosuchthing" "docker's words"
rc=0; out=$(L inspect --type container "$B" 2>&1) || rc=$?
like "$rc $out" "^1 .*No such container: " "--type container does not fall back to the image"
like "$(L inspect "$B")" '"RepoTags"' "an image name is still an image"

# top: each process with the pid the host sees and the one the container sees
top=$(L top box)
like "$(head -1 <<<"$top")" '^UID +PID +CONTAINER PID +PPID +C +STIME +TTY +TIME +CMD$' "top's header"
is "$(tail -n +2 <<<"$top" | awk '{print $2}' | sort -n | tr '\n' ' ')" "$(printf '%s ' "${cg_pids[@]}")" \
	"top lists the host pids of every process in the container"
is "$(tail -n +2 <<<"$top" | awk -v p="$init" '$2 == p {print $3}')" 1 "PID 1 inside is the init's host pid"
inside=$(L exec box ps -o pid,args | awk '$2 ~ /^sleep/ || $2 == "sh" {print $1}' | sort -n | tr '\n' ' ')
is "$(tail -n +2 <<<"$top" | awk '{print $3}' | sort -n | tr '\n' ' ')" "$inside" \
	"its CONTAINER PIDs are those ps shows inside"
# top with ps options, as docker: the host's ps, only the container's lines
top=$(L top box -o pid,comm)
is "$(head -1 <<<"$top" | tr -s ' ')" " PID COMMAND" "ps options: ps's own header"
is "$(tail -n +2 <<<"$top" | awk '{print $1}' | sort -n | tr '\n' ' ')" "$(printf '%s ' "${cg_pids[@]}")" \
	"and the lines of the container's processes only (none of the host's)"
rc=0; out=$(L top box -o comm 2>&1) || rc=$?
like "$rc $out" "^1 layerctl: couldn't find PID field in ps output" "ps output without a PID column is refused"

# stats from the cgroup
st=$(L stats --no-stream)
like "$(head -1 <<<"$st")" '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$' "stats' header"
like "$(grep " box " <<<"$st")" "^${id:0:12} +box +[0-9.]+% +[0-9.]+[KMG]?i?B / 64MiB +[0-9.]+% +0B / 0B +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +${#cg_pids[@]}\$" \
	"a row: CPU, memory against the 64MiB limit, no network, block I/O, pids"
is "$(L stats --no-stream --format '{{.Name}} {{.PIDs}}' box)" "box ${#cg_pids[@]}" "--format with a template"
like "$(L stats --no-stream --format json box)" '^\{"BlockIO":.*"Name":"box".*\}$' "--format json"

# diff: the upper dir against the image
L run --name changes "$B" sh -c 'echo x >/hello; mkdir -p /newdir/sub; rm /bin/arch; echo 1 >/tmp/t; rm -rf /home; mkdir /home; touch /home/u; ln -s / /escape; ln -s /etc /home/etc'
cid=$(L inspect -f '{{.Id}}' changes)
is "$(L diff changes)" "C /bin
D /bin/arch
A /escape
A /hello
C /home
A /home/etc
A /home/u
A /newdir
A /newdir/sub
C /tmp
A /tmp/t" "diff: added, changed (an opaque dir too) and deleted (a whiteout); symlinks not followed"
up=$ROOT/containers/$cid/upper
like "$(stat -c %F:%t:%T "$up/bin/arch")" "^character special file:0:0$" "/bin/arch is a whiteout in the upper dir"
is "$("$PY" -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$up/home" 2>&1)" y "/home is opaque there"
is "$(L diff box)" "" "a container that wrote nothing has no diff"
L rm changes >/dev/null

done_testing
