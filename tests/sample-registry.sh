#!/bin/bash
# make registry / make registry-stop: the sample registry the README's examples use.
#   tests/sample-registry.sh start   docker-registry on 127.0.0.1:5000 (REGISTRY_ADDR) with
#                                    busybox, nginx and python (built from Debian binaries by
#                                    testdata/build-images.sh), left running in the background
#   tests/sample-registry.sh stop    stop it (by the pid it recorded) and remove its storage
# Its files live in build/registry/ (config, storage, log, pid).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$TOP/build/registry
ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
IMAGES_DIR=${LC_IMAGES_DIR:-$TOP/testdata/out}
PIDFILE=$DIR/pid

running() { [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

stop() {
	local pid i
	if ! running; then
		echo "registry: not running"
		rm -rf "$DIR"
		return 0
	fi
	pid=$(cat "$PIDFILE")
	kill -TERM "$pid"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	rm -rf "$DIR"
	echo "registry: stopped (pid $pid), its storage removed"
}

start() {
	local pid i n
	if running; then
		echo "registry: already running on $ADDR (pid $(cat "$PIDFILE")); make registry-stop ends it"
		return 0
	fi
	command -v docker-registry >/dev/null || { echo "registry: docker-registry is not installed (make deps)" >&2; exit 1; }
	if curl -s -o /dev/null --max-time 1 "http://$ADDR/v2/"; then
		echo "registry: something already answers on $ADDR; set REGISTRY_ADDR=127.0.0.1:PORT" >&2
		exit 1
	fi
	"$TOP/testdata/build-images.sh" "$IMAGES_DIR" --quiet
	rm -rf "$DIR"
	mkdir -p "$DIR/storage"
	cat >"$DIR/config.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		  formatter: text
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $DIR/storage
		  delete:
		    enabled: true
		http:
		  addr: $ADDR
		  secret: layerctl-sample-registry
	EOF
	# a session of its own: it outlives make, and only make registry-stop ends it
	setsid docker-registry serve "$DIR/config.yml" >"$DIR/log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PIDFILE"
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null --max-time 1 "http://$ADDR/v2/" && break
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "registry: docker-registry did not start: $(tail -n 3 "$DIR/log")" >&2
			rm -rf "$DIR"
			exit 1
		fi
		sleep 0.1
	done
	for n in busybox nginx python; do
		skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
			"oci:$IMAGES_DIR/$n:latest" "docker://$ADDR/$n:latest" >>"$DIR/log" 2>&1 || {
			echo "registry: pushing $n failed: $(tail -n 3 "$DIR/log")" >&2
			stop >/dev/null
			exit 1
		}
	done
	echo "registry: running on $ADDR (pid $pid) with $ADDR/busybox, $ADDR/nginx, $ADDR/python"
	echo "          try: layerctl --root /tmp/s pull $ADDR/nginx; make registry-stop ends it"
}

case ${1:-} in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
