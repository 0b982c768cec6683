#!/bin/bash
# Rootless: an unprivileged user (made here with a subordinate range, removed on exit) pulls,
# lists, runs, execs, publishes a port, reads logs, stops and removes, with the store in
# ~/.local/share/layerctl. Every invocation joins one user namespace (0 -> the user, 1.. -> the
# subordinate range, written by newuidmap/newgidmap) held by a "layerctl-ns" process: the
# image's files keep their uids (mapped), the container's root is the user on the host, and
# a limit that needs a cgroup is refused saying why (t0730 has more). A user without subordinate ids gets one
# line saying how to add them.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
host_state_lock # /etc/subuid, /etc/subgid and test users: one such test at a time
require_layerctl
require_rootless_tools

plan 30

start_registry
push_images busybox nginx
B=$REG/busybox
N=$REG/nginx
U=lcrl$$
U2=lcrn$$
S=5200000
user_add "$U"
user_add "$U2"
R() { as_user "$U" "$@"; }
subid_add "$U" "$S" 65536
UID1=$(id -u "$U")
STORE=/home/$U/.local/share/layerctl

ok -m "the user pulls busybox" R pull -q "$B"
ok -m "  and nginx (its shared base layer: already there)" R pull -q "$N"
ok -m "the store is ~/.local/share/layerctl, the user's" test "$(stat -c %U "$STORE")" = "$U"
like "$(R images)" "$REG/busybox +latest" "images lists them"
like "$(R du)" "^TYPE +TOTAL" "du works"
holder=$(cat "$STORE/rootless.pid")
is "$(tr -s ' ' <"/proc/$holder/uid_map")" " 0 $UID1 1
 1 $S 65536" "the holder's uid_map: 0 is the user, 1.. its subordinate range (newuidmap)"
# the image's files keep their owners: root's are the user's, nginx's www-data (33) is S+32
is "$(stat -c %u "$STORE"/layers/sha256/*/bin/busybox | sort -u)" "$UID1" "a layer's root-owned file belongs to the user on the host"
www=$(find "$STORE"/layers/sha256 -user "$((S + 32))" 2>/dev/null | head -n 1)
if [[ -n $www ]]; then
	ok -m "a file the image gives uid 33 is $((S + 32)) on the host" test -n "$www"
else
	is "$(find "$STORE"/layers/sha256 -mindepth 2 ! -user "$UID1" | head -n 1)" "" \
		"every file of these images is root's, so the user's (no other uid to map)"
fi

is "$(R run --rm "$B" sh -c 'id; cat /proc/self/uid_map | tr -s " "')" "uid=0(root) gid=0(root)
 0 $UID1 1
 1 $S 65536" "run: id inside says root; /proc/self/uid_map shows the user and its range"
cid=$(R run -d --name o "$B" sh -c 'touch /o && chown 33:33 /o')
R wait o >/dev/null
is "$(stat -c '%u %g' "$(R inspect -f '{{.GraphDriver.Data.UpperDir}}' o)/o")" "$((S + 32)) $((S + 32))" \
	"a file the container gives uid 33 is $((S + 32)) on the host (as a pull's chown is)"
ok -m "rm o" R rm o
# an opaque dir in the upper dir: overlay's user.overlay.* xattrs (userxattr), no trusted.*
is "$(R run --rm "$B" sh -c 'mkdir -p /var/old && rm -rf /var && mkdir /var && ls -A /var | wc -l; echo x >/var/y && cat /var/y')" $'0\nx' \
	"a dir removed and made again hides the image's (an opaque dir, overlay's userxattr)"
cid=$(R run -d --name w "$B" sleep 120)
like "$cid" '^[0-9a-f]{64}$' "run -d"
pid=$(R inspect -f '{{.State.Pid}}' w)
is "$(ps -o uid= -p "$pid" | tr -d ' ')" "$UID1" "ps on the host: the container's root is the user's own uid"
like "$(R ps)" "sleep 120.* w$" "ps lists it"
is "$(R exec w id)" "uid=0(root) gid=0(root)" "exec joins it"
is "$(R exec -u 1000 w id -u)" "1000" "exec -u 1000"
is "$(ps -o uid= -C sleep | tr -d ' ' | sort -u | grep -c "^$UID1$")" "1" "  its processes are the user's on the host"
R exec w sh -c "echo to-log >/proc/1/fd/1" || { R ps -a; R logs w; cat "$STORE/containers/$cid/state.json"; }
like "$(R logs w)" "to-log" "logs"
ok -m "stop" R stop -t 1 w
ok -m "start it again" R start w
is "$(R exec w cat /proc/1/cmdline | tr '\0' ' ')" "sleep 120 " "  it runs again, exec joins it"
ok -m "stop" R stop -t 1 w
ok -m "rm" R rm w

PORT=$(_lc_free_port)
R run -d --name web -p "127.0.0.1:$PORT:80" "$N" >/dev/null
page=''
for _ in $(seq 1 50); do page=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/" || true); [[ -n $page ]] && break; sleep 0.1; done
like "$page" "nginx|html" "-p: an HTTP GET from the host reaches nginx in the rootless container"
ok -m "rm -f web" R rm -f web

rc=0; out=$(R run --rm --memory 64m "$B" true 2>&1) || rc=$?
if [[ -n $(findmnt -rno FSTYPE -t cgroup | head -n 1) ]]; then
	like "$rc/$out" "^125/.*needs a cgroup, and this host's controllers are cgroup v1.*never delegates" \
		"--memory: refused, saying why (cgroup v1 here: never delegated to a user)"
else
	like "$rc/$out" "^125/.*needs a cgroup, and no cgroup v2 subtree is delegated" "--memory: refused, saying why"
fi
rc=0; out=$(R run --rm --userns=auto "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*--userns and --uidmap are for root" "--userns in rootless mode: refused"
rc=0; out=$(R run --rm --userns=keep-id "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*keep-id is not supported rootless: it needs the layers idmapped" \
	"--userns=keep-id in rootless mode: refused, saying why (never run unmapped)"

rc=0; out=$(su "$U2" -s /bin/sh -c "cd && env -u LAYERCTL_ROOT HOME=/home/$U2 timeout 30 $LAYERCTL images" 2>&1) || rc=$?
like "$rc/$out" "^1/.*no subordinate uids for $U2 in /etc/subuid: as root, run 'usermod --add-subuids" \
	"a user without subordinate ids: one line naming the fix"
done_testing
