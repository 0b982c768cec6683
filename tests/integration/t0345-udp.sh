#!/bin/bash
# -p [IP:]HOSTPORT:PORT/udp: the monitor relays datagrams between host clients and the
# container's port, a socket of its own per client address, so that each client gets its own
# answers; ps shows the port as /udp; a busy host UDP port fails the run (125).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 9

start_registry
push_images busybox python
P=$REG/python
L() { timeout -k 5 60 "$LAYERCTL" "$@"; }
at_cleanup bash -c 'for c in $("$LAYERCTL" ps -aq --no-trunc 2>/dev/null); do "$LAYERCTL" rm -f "$c" >/dev/null 2>&1; done'

ok -m "pull python" L pull -q "$P"
port=$("$PY" -I -c 'import socket; s = socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# an echo server inside: the answer names the client address it saw (inside the namespace)
id=$(L run -d --name echo -p "127.0.0.1:$port:5353/udp" "$P" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5353))
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d.upper() + b" from " + str(a[1]).encode(), a)
')
like "$id" '^[0-9a-f]{64}$' "run -d -p $port:5353/udp"
like "$(L ps)" "127\\.0\\.0\\.1:$port->5353/udp" "ps shows the port as /udp"
# two clients, each twice: their own answers, each from one socket of the monitor's
out=$("$PY" -I - "$port" <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
cs = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for c in cs:
    c.settimeout(1)
res = []
for rnd in range(2):
    for i, c in enumerate(cs):
        for attempt in range(20):  # the server may not be bound yet: a datagram is lost then
            c.sendto(b"hello%d" % i, ("127.0.0.1", port))
            try:
                res.append(c.recv(100).decode())
                break
            except socket.timeout:
                continue
        else:
            res.append("timeout")
print("\n".join(res))
PYEOF
)
is "$(sed -n 1,2p <<<"$out" | cut -d' ' -f1-2 | tr '\n' ' ')" "HELLO0 from HELLO1 from " "two clients get their own answers"
a0=$(sed -n 1p <<<"$out" | cut -d' ' -f3); a1=$(sed -n 2p <<<"$out" | cut -d' ' -f3)
isnt "$a0" "$a1" "  through a socket each (inside, they come from ports $a0 and $a1)"
is "$(sed -n 3,4p <<<"$out" | cut -d' ' -f3 | tr '\n' ' ')" "$a0 $a1 " "  and the same socket again for the same client"
rc=0; out=$(L run --rm -p "127.0.0.1:$port:53/udp" "$REG/busybox" true 2>&1) || rc=$?
like "$rc/$out" "^125/.*Bind for 127\\.0\\.0\\.1:$port/udp failed" "a busy UDP port: 125 before anything starts"
ok -m "rm -f" L rm -f echo
for _ in $(seq 1 50); do "$PY" -I -c "import socket; socket.socket(type=socket.SOCK_DGRAM).bind(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.1; done
ok -m "  the host port is free again" "$PY" -I -c "import socket; socket.socket(type=socket.SOCK_DGRAM).bind(('127.0.0.1', $port))"

done_testing
