#!/bin/bash
# -p [IP:]HOSTPORT:PORT: no bridge, no NAT; layerctl (the monitor of a detached container)
# listens on the host address and connects to 127.0.0.1:PORT inside the container's network
# namespace for every connection. A busy host port fails the run before it starts (125).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 11

start_registry
push_images busybox nginx
B=$REG/busybox
N=$REG/nginx
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'
ok -m "pull nginx" L pull -q "$N"
ok -m "pull busybox" L pull -q "$B"

PORT=$(_lc_free_port)
id=$(L run -d --name web -p "127.0.0.1:$PORT:80" "$N")
like "$id" '^[0-9a-f]{64}$' "run -d -p 127.0.0.1:$PORT:80 nginx"
page=''
for _ in $(seq 1 50); do page=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/" || true); [[ -n $page ]] && break; sleep 0.1; done
like "$page" "nginx|html" "an HTTP GET from the host reaches nginx in the container"
like "$(L ps)" "127.0.0.1:$PORT->80/tcp +web" "ps shows the published port"
rc=0; out=$(L run -d -p "127.0.0.1:$PORT:80" "$N" 2>&1) || rc=$?
like "$rc/$out" "^125/.*Bind for 127.0.0.1:$PORT failed" "a second container on the same port: 125, clearly"
is "$(L ps -aq | wc -l)" 1 "  and no container was made for it"
rc=0; out=$(L run --rm -p 99999:80 "$B" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*invalid host port" "an impossible port is a usage error (125)"
# a foreground run publishes too, for as long as it runs
P2=$(_lc_free_port)
L run --rm -p "$P2:8080" "$B" sh -c 'echo pong | nc -l -p 8080' >"$TMPD/fg.out" &
fg=$!
got=''
for _ in $(seq 1 50); do got=$(curl -s --http0.9 --max-time 1 "http://127.0.0.1:$P2/" 2>/dev/null || true); [[ -n $got ]] && break; sleep 0.1; done
wait "$fg" || true
is "$got" "pong" "run (foreground) -p: the host reaches a server on the container's loopback"
ok -m "stop web" L stop -t 2 web
rc=0; curl -s --max-time 2 "http://127.0.0.1:$PORT/" >/dev/null 2>&1 || rc=$?
isnt "$rc" 0 "  once it stopped, nothing listens on the port"

done_testing
