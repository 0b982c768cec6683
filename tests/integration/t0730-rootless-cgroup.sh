#!/bin/bash
# Rootless cgroup limits: a limit goes into a cgroup v2 subtree delegated to the user, or is
# refused in one line saying why (125), never ignored. This host is hybrid: memory, cpu, pids
# are on cgroup v1 (never delegated to a user), /sys/fs/cgroup/unified is v2 with hugetlb only.
# So what it can show: without a delegated subtree --memory is refused for v1; with one made
# here as systemd's Delegate=yes makes it (the dir and its cgroup.procs, cgroup.subtree_control,
# cgroup.threads chowned to the user, the user's shell in a leaf of it) --memory and
# --pids-limit are refused naming the controller and that dir, while a run without limits still
# works there (ps, top, stats too). The limit applied (and OOM: 137) in a delegated subtree is
# proven by the unit test on a fake tree (check_cgroup: test_deleg_create).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
host_state_lock # /etc/subuid, /etc/subgid and test users: one such test at a time
require_layerctl
require_rootless_tools
V2=$(findmnt -rno TARGET -t cgroup2 | head -n 1)
[[ -n $V2 && -w $V2 ]] || skip_all "needs a cgroup v2 mount"

plan 17

start_registry
push_images busybox
B=$REG/busybox
U=lccg$$
CG=$V2/$TEST_ID
# removed after the user's processes (cleanups run last first): the leaf, then the subtree
at_cleanup bash -c '[[ ! -d $1 ]] || find "$1" -depth -type d -exec rmdir {} \;' _ "$CG"
user_add "$U"
subid_add "$U" 5300000 65536
R() { as_user "$U" "$@"; }
# the same from a leaf of the delegated subtree: this subshell (root may) moves into it first
RL() { (echo "$BASHPID" >"$CG/leaf/cgroup.procs" && as_user "$U" "$@"); }
# every cgroup dir of any hierarchy the user owns (a rootless run can make no other kind)
users_cgroups() { find /sys/fs/cgroup -type d -user "$U" 2>/dev/null | sort; }

# the holder of the user's namespaces starts here, in the test's cgroup
ok -m "the user pulls busybox" R pull -q "$B"

# (a) no delegated subtree: the caller is in the v2 root, and memory is v1 here anyway
rc=0; out=$(R run --rm --memory 100m "$B" echo started 2>&1) || rc=$?
if [[ -n $(findmnt -rno FSTYPE -t cgroup | head -n 1) ]]; then
	like "$rc/$out" "^125/layerctl: run '[^']+': --memory needs a cgroup, and this host's controllers are cgroup v1 \(memory here\), which the kernel never delegates to a user: run as root, or without limits$" \
		"--memory without a delegated subtree: refused, 125, one line saying why (v1)"
else
	like "$rc/$out" "^125/.*--memory needs a cgroup, and no cgroup v2 subtree is delegated.*Delegate=yes.*loginctl enable-linger" \
		"--memory without a delegated subtree: refused, 125, naming the fix"
fi
unlike "$out" "started" "  nothing ran"
is "$(R ps -aq)" "" "  no container was made"
is "$(users_cgroups)" "" "  no cgroup was made in any hierarchy"

# (b) a subtree delegated as systemd's Delegate=yes does it, the user's shell in a leaf
mkdir "$CG"
chown "$U" "$CG" "$CG/cgroup.procs" "$CG/cgroup.subtree_control" "$CG/cgroup.threads"
ok -m "the user makes a leaf in its delegated subtree" su "$U" -s /bin/sh -c "mkdir '$CG/leaf'"
is "$( (echo "$BASHPID" >"$CG/leaf/cgroup.procs" && su "$U" -s /bin/sh -c 'grep "^0::" /proc/self/cgroup'))" \
	"0::/$TEST_ID/leaf" "the user's shell runs in the leaf"
ctl=$(cat "$CG/cgroup.controllers")
rc=0; out=$(RL run --rm --memory 100m "$B" echo started 2>&1) || rc=$?
if [[ " $ctl " == *" memory "* ]]; then
	skip "this host delegates memory on v2: the refusal cannot be shown"
else
	like "$rc/$out" "^125/layerctl: run '[^']+': --memory needs the memory controller, which the delegated cgroup '$CG' lacks \(its cgroup.controllers\): this host has memory on cgroup v1, which the kernel never delegates to a user; run as root, or without the limit$" \
		"--memory in a delegated subtree without memory: refused, naming memory and the subtree"
fi
unlike "$out" "started" "  nothing ran"
rc=0; out=$(RL run --rm --pids-limit 10 "$B" echo started 2>&1) || rc=$?
like "$rc/$out" "^125/.*--pids-limit needs the pids controller, which the delegated cgroup '$CG' lacks" \
	"--pids-limit: refused the same way, naming pids"
is "$(users_cgroups)" "$CG
$CG/leaf" "  no cgroup was made beside the leaf"
is "$(RL run --rm "$B" echo hi 2>&1)" "hi" "a run without limits works from the delegated subtree"
RL run -d --name s "$B" sleep 60 >/dev/null
like "$(R ps)" "sleep 60.* s$" "  ps lists a detached one"
like "$(R top s)" "sleep 60" "  top shows its process"
like "$(R stats --no-stream s)" "^CONTAINER ID.*"$'\n'"[0-9a-f]{12} +s " "  stats reads it"
ok -m "  rm -f" R rm -f s
is "$(R ps -aq)" "" "nothing is left of the user's containers"
done_testing
