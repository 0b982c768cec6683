#!/bin/bash
# make demo: the lesson, offline, in about half a minute. Each step is one sentence, then the
# command as a user would type it (layerctl's --root, a temp store, is left out of what is
# shown), then what it printed. A local registry with Debian-built images; two images sharing
# a base layer; two containers of one image, each its own PID 1; namespaces and cgroups; the
# writable layer; a trace of the kernel's steps; then everything it made is gone again: the
# containers, their mounts and cgroups, the store, the registry.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

CG=/sys/fs/cgroup
if [[ -t 1 ]]; then BOLD=$'\033[1m' DIM=$'\033[2m' OFF=$'\033[0m'; else BOLD='' DIM='' OFF=''; fi
step() { printf '\n%s%s%s\n' "$BOLD" "$*" "$OFF"; }
# show a command as one would type it: words with shell characters in single quotes
show() {
	local a
	printf '%s$' "$DIM"
	for a in "$@"; do
		if [[ $a =~ [^A-Za-z0-9_./:=@,+-] ]]; then printf " '%s'" "${a//\'/\'\\\'\'}"; else printf ' %s' "$a"; fi
	done
	printf '%s\n' "$OFF"
}
# a command line shown exactly as given (for one with a $(...) in it)
show_raw() { printf '%s$ %s%s\n' "$DIM" "$1" "$OFF"; }
L() { show layerctl "$@"; "$LAYERCTL" --root "$ROOT" "$@"; }

# the cgroup parent "layerctl" is shared by every run and never removed by one: note where it
# exists now, so that the cleanup removes only what the demo made
parents_before=$(ls -d "$CG"/layerctl "$CG"/*/layerctl 2>/dev/null || true)
demo_cleanup() {
	local d
	for d in $(ls -d "$CG"/layerctl "$CG"/*/layerctl 2>/dev/null || true); do
		grep -qxF "$d" <<<"$parents_before" || rmdir "$d" 2>/dev/null || true
	done
}
at_cleanup demo_cleanup

step "A local registry (Debian's docker-registry on 127.0.0.1) with three sample images built from Debian binaries: busybox, and nginx and python built on busybox's layer."
start_registry
push_images >/dev/null
echo "registry at $REG"

step "Pull nginx: its two layers are downloaded, checked against their digests and unpacked in one pass."
L pull "$REG/nginx"

step "Pull python: it starts with the same busybox layer, so only python's own layer comes over the network."
L pull "$REG/python"
echo "(the registry served the shared base layer $(blob_get_count "$BASE_LAYER") time, for nginx)"

step "Each layer is stored once: SHARED SIZE is what an image has in common with others, the last line what sharing saves."
L du -v

step "Two containers of one image in the background; each is an ordinary process on the host, in namespaces of its own."
L run -d --name app1 "$REG/busybox" sleep 600 >/dev/null
L run -d --name app2 "$REG/busybox" sleep 600 >/dev/null
L ps

step "Inside, each container's app is PID 1: its pid namespace numbers its processes from 1."
L exec app1 ps
L exec app2 ps

step "The host knows the same processes by other PIDs: top shows both."
L top app1
L top app2

step "Namespaces are what a process sees: the containers' inodes differ from each other's and from the host's."
L inspect -f '{{.Name}}: pid {{.State.Pid}} on the host, pid:[{{.Namespaces.pid.Inode}}] net:[{{.Namespaces.net.Inode}}] mnt:[{{.Namespaces.mnt.Inode}}]' app1 app2
show readlink /proc/self/ns/pid /proc/self/ns/net /proc/self/ns/mnt
readlink /proc/self/ns/pid /proc/self/ns/net /proc/self/ns/mnt | tr '\n' ' '
echo

step "OverlayFS: a file written in a container lands in its upper dir, the writable layer; the image's layers stay as they were."
L exec app1 sh -c 'echo hello > /etc/motd'
L diff app1
upper=$("$LAYERCTL" --root "$ROOT" inspect -f '{{.GraphDriver.Data.UpperDir}}' app1)
lower=$("$LAYERCTL" --root "$ROOT" inspect -f '{{.GraphDriver.Data.LowerDir}}' app1)
show_raw "cat \"\$(layerctl inspect -f '{{.GraphDriver.Data.UpperDir}}' app1)/etc/motd\""
cat "$upper/etc/motd"
show_raw "ls \"\$(layerctl inspect -f '{{.GraphDriver.Data.LowerDir}}' app1)/etc\""
ls "$lower/etc"
show layerctl exec app2 cat /etc/motd
"$LAYERCTL" --root "$ROOT" exec app2 cat /etc/motd 2>&1 || true

step "Cgroups decide how much a container may use: with --memory=100m, allocating 200 MB gets it killed by the kernel (exit status 137)."
rc=0
L run --rm --memory=100m "$REG/python" python3 -c 'a = bytearray(200*1024*1024)' || rc=$?
echo "exit status: $rc"

step "--trace shows the kernel's steps of one run: the overlay mount layer by layer, each namespace created, the mounts inside, pivot_root, capabilities, seccomp, execve."
L --trace run --rm "$REG/busybox" echo hello 2>&1

step "Cleanup: the containers go (their upper dirs, mounts and cgroups with them), then the store and the registry."
L rm -f app1 app2
L rmi "$REG/nginx" "$REG/python" "$REG/busybox"
echo "done: the store in $ROOT is removed and the registry stopped on exit"
