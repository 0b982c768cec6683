#!/bin/bash
# make demo: the offline tour. A local registry with Debian-built images, a pull that shares a
# base layer, the image list, and a container whose PID 1 is an ordinary PID on the host.
. "$(dirname "$0")/lib.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting a local registry (docker-registry on 127.0.0.1) and pushing the sample images"
start_registry
push_images
echo "registry at $REG: busybox, nginx and python, nginx and python on busybox's layer"

# show a command as one would type it: words with shell characters in single quotes
show() {
	local a
	printf '$ layerctl'
	for a in "$@"; do
		if [[ $a =~ [^A-Za-z0-9_./:=@,+-] ]]; then printf " '%s'" "${a//\'/\'\\\'\'}"; else printf ' %s' "$a"; fi
	done
	echo
}
L() { show "$@"; "$LAYERCTL" --root "$ROOT" "$@"; }

step "pull nginx: two layers downloaded, verified and unpacked in one pass"
L pull "$REG/nginx"
step "pull python: the shared base layer is not downloaded again"
L pull "$REG/python:latest"
echo "(the registry served the shared base blob $(blob_get_count "$BASE_LAYER") time(s))"

step "images"
L images

step "run: overlayfs over the image's layers, new PID/mount/UTS/IPC/net namespaces"
echo "\$ layerctl run --rm $REG/busybox sh -c 'echo inside: PID \$\$, hostname \$(hostname)'"
"$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" \
	sh -c 'echo "inside the container: PID $$, hostname $(hostname)"; sleep 2' &
lpid=$!
sleep 1
cpid=$(ps -o pid= --ppid "$lpid" | head -1 | tr -d ' ' || true)
echo "on the host:          PID $cpid (child of layerctl, PID $lpid)"
wait "$lpid"

step "run python from the python image"
L run --rm "$REG/python" python3 -c 'import sys; print("hello from python", sys.version.split()[0])'

step "done: the store is in $ROOT (removed now), the registry stopped"
