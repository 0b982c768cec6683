#!/bin/bash
# What a detached container's life must hold: exec joins its cgroup; a run -d --memory keeps
# its cgroup while it runs and leaves none once removed; a container whose monitor was killed
# shows as Exited (137) (not Created) and can be started again; -p with a command that exits
# at once is no error.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

CG=/sys/fs/cgroup
[[ -d $CG/memory ]] || [[ -f $CG/cgroup.controllers ]] || skip_all "no memory cgroup"
if [[ -f $CG/cgroup.controllers ]]; then MEMCG=$CG; else MEMCG=$CG/memory; fi

plan 19

start_registry
push_images busybox
B=$REG/busybox
PARENT=lctest-$TEST_ID
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'
pid_of() { sed -n 's/.*"Pid":\([0-9]*\).*/\1/p' "$ROOT/containers/$1/state.json"; }
# every cgroup dir of ours, in every hierarchy
cgroups() { find "$CG" -mindepth 1 -maxdepth 3 -type d -path "*/$PARENT/*" 2>/dev/null | sort; }

ok -m "pull busybox" L pull -q "$B"

# --- run -d --memory: its cgroup lives as long as it runs; exec joins it ----------------------
id=$(L run -d --name mem --memory 64m --cgroup-parent "$PARENT" "$B" sleep 600)
dir=$MEMCG/$PARENT/$id
ok -m "run -d --memory 64m: its memory cgroup exists" test -d "$dir"
pid=$(pid_of "$id")
is "$(cat "$dir/cgroup.procs")" "$pid" "  holding the container's init ($pid)"
is "$(cat "$dir"/memory.max 2>/dev/null || cat "$dir"/memory.limit_in_bytes)" $((64 << 20)) "  with its limit"
is "$(L exec mem cat /proc/self/cgroup)" "$(L exec mem cat /proc/1/cgroup)" "exec: /proc/self/cgroup is the init's (inside its cgroup namespace)"
L exec mem sleep 3 &
epid=$!
for _ in $(seq 1 50); do [[ $(wc -l <"$dir/cgroup.procs") -ge 2 ]] && break; sleep 0.1; done
procs=$(cat "$dir/cgroup.procs")
is "$(wc -l <<<"$procs")" 2 "  and on the host, the cgroup holds exec's process too"
xp=$(grep -vx "$pid" <<<"$procs")
like "$(tr '\0' ' ' <"/proc/$xp/cmdline" 2>/dev/null)" '^sleep 3' "  which is exec's sleep ($xp)"
wait "$epid"
is "$(cat "$dir/cgroup.procs")" "$pid" "  gone from it once it ended"
sleep 1
ok -m "the cgroup stays while the container runs" test -d "$dir"
is "$(L stop -t 1 mem)" mem "stop"
is "$(L rm mem)" mem "rm"
is "$(cgroups)" "" "  no cgroup of it is left in any hierarchy"

# --- a killed monitor ---------------------------------------------------------------------------
id=$(L run -d --name orphan "$B" sh -c 'echo up; exec sleep 600')
pid=$(pid_of "$id")
mon=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
like "$(tr '\0' ' ' <"/proc/$mon/cmdline")" "run -d --name orphan" "the init's parent is the monitor ($mon)"
kill -KILL "$mon"
for _ in $(seq 1 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
like "$(L ps -a)" "${id:0:12} .* Exited \\(137\\) .* orphan" "ps -a: a container whose monitor was killed is Exited (137), not Created"
is "$(L wait orphan)" 137 "  wait says 137"
is "$(L start orphan)" orphan "  it can be started again"
like "$(L ps)" "${id:0:12} .* Up .* orphan" "  Up"
ok -m "rm -f" L rm -f orphan

# --- -p with a command that ends at once --------------------------------------------------------
port=$(_lc_free_port)
fails=0
for _ in $(seq 1 20); do L run --rm -p "127.0.0.1:$port:80" "$B" true || fails=$((fails + 1)); done
is "$fails" 0 "-p with a command that exits at once: never an error (nothing to publish)"

done_testing
