#!/bin/bash
# Mirrors from containerd's hosts.toml: a docker-registry in pull-through proxy mode in front
# of the test registry serves the pull (and the pull says so for each blob); a mirror that is
# down gives way to the registry with a warning; a mirror on TLS with a private CA that wants
# a client certificate is reached with the ca and client of hosts.toml, and refused without.
. "$(dirname "$0")/../lib.sh"

plan 16

start_registry
push_images busybox nginx python
command -v openssl >/dev/null || bail_out "openssl not installed"

# start_mirror NAME [TLS]: docker-registry proxying $REG; sets MIRROR (host:port), MIRROR_LOG
start_mirror() {
	local name=$1 tls=${2:-} port cfg=$TMPD/$1.yml pid url i
	port=$(_lc_free_port)
	MIRROR_LOG=$TMPD/$name.log
	cat >"$cfg" <<-EOF
		version: 0.1
		log:
		  level: info
		  formatter: text
		  accesslog:
		    disabled: false
		storage:
		  filesystem:
		    rootdirectory: $TMPD/$name-storage
		http:
		  addr: 127.0.0.1:$port
		  secret: layerctl-test-$TEST_ID-$name
		proxy:
		  remoteurl: http://$REG
	EOF
	url=http://127.0.0.1:$port/v2/
	if [[ -n $tls ]]; then
		cat >>"$cfg" <<-EOF
			  tls:
			    certificate: $TMPD/pki/srv.pem
			    key: $TMPD/pki/srv.key
			    clientcas:
			      - $TMPD/pki/ca.pem
		EOF
		# the tls block belongs under http: move the proxy block last
		"$PY" - "$cfg" <<-'PY'
			import sys
			t = open(sys.argv[1]).read()
			head, rest = t.split("proxy:\n", 1)
			proxy, tls = rest.split("  tls:\n", 1)
			open(sys.argv[1], "w").write(head + "  tls:\n" + tls + "proxy:\n" + proxy)
		PY
		url=https://127.0.0.1:$port/v2/
	fi
	setpriv --pdeathsig TERM -- docker-registry serve "$cfg" >>"$MIRROR_LOG" 2>&1 &
	pid=$!
	at_cleanup _lc_stop_pid "$pid"
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null --max-time 1 --cacert "$TMPD/pki/ca.pem" \
			--cert "$TMPD/pki/client.pem" --key "$TMPD/pki/client.key" "$url" && break
		kill -0 "$pid" 2>/dev/null || bail_out "mirror $name died: $(tail -n 3 "$MIRROR_LOG")"
		sleep 0.1
	done
	MIRROR=127.0.0.1:$port
}

# a private CA, the mirror's certificate for 127.0.0.1 and a client certificate
mkdir -p "$TMPD/pki"
(
	cd "$TMPD/pki"
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=lctest-ca
	openssl req "${ec[@]}" -keyout srv.key -out srv.csr -subj /CN=127.0.0.1
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile srv.ext
	openssl req "${ec[@]}" -keyout client.key -out client.csr -subj /CN=lctest-client
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext
) >"$TMPD/pki.log" 2>&1 || bail_out "openssl: $(tail -n 3 "$TMPD/pki.log")"

export LAYERCTL_CERTS_D=$TMPD/certs.d
hosts=$LAYERCTL_CERTS_D/$REG/hosts.toml
mkdir -p "$(dirname "$hosts")"

# 1. a pull-through proxy mirror serves everything
start_mirror plain
cat >"$hosts" <<EOF
# containerd's layout: mirrors first, in order, then the server
server = "http://$REG"

[host."http://$MIRROR"]
  capabilities = ["pull", "resolve"]
EOF
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/busybox" 2>&1) || rc=$?
is "$rc" 0 "a pull through a pull-through proxy mirror"
like "$out" "${BASE_LAYER:0:19}: from mirror $MIRROR" "says the mirror served the layer"
like "$out" "$(oci_config_digest busybox | cut -c1-19): from mirror $MIRROR" "and the config"
_lc_registry_log_sync
is "$(grep -c '"GET /v2/busybox/blobs/[^"]*" 200 .*layerctl' "$REG_LOG" || true)" 0 \
	"the registry served no blob to layerctl"
like "$(grep -c 'GET /v2/busybox/blobs/.*layerctl' "$MIRROR_LOG" || true)" '^[1-9]' "the mirror did"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/busybox" echo whole 2>&1) || rc=$?
is "$out" whole "the image runs"

# 2. a mirror that is down: the registry serves, with a warning
down=127.0.0.1:$(_lc_free_port)
cat >"$hosts" <<EOF
server = "http://$REG"
[host."http://$down"]
  capabilities = ["pull", "resolve"]
EOF
rc=0; "$LAYERCTL" --root "$ROOT" pull "$REG/nginx" >"$TMPD/out" 2>"$TMPD/err" || rc=$?
is "$rc" 0 "a pull with a mirror that is down"
like "$(cat "$TMPD/err")" "Warning: .*mirror $down failed: cannot reach '$down'.*; trying $REG" \
	"warns that the mirror failed"
like "$(cat "$TMPD/out")" "$(oci_layers nginx | sed -n 2p | cut -c1-19): from registry $REG" \
	"and says the registry served the layer"

# 3. a mirror on TLS with a private CA that wants a client certificate
start_mirror tls tls
cat >"$hosts" <<EOF
server = "http://$REG"
[host."https://$MIRROR"]
  capabilities = ["pull", "resolve"]
  ca = "$TMPD/pki/ca.pem"
  client = [["$TMPD/pki/client.pem", "$TMPD/pki/client.key"]]
EOF
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/python" 2>&1) || rc=$?
is "$rc" 0 "a pull through a TLS mirror with a private CA and a client certificate"
like "$out" "$(oci_layers python | sed -n 2p | cut -c1-19): from mirror $MIRROR" "served by it"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$REG/python" python3 -c 'print(6*7)' 2>&1) || rc=$?
is "$out" 42 "the image runs"

# without the client certificate the mirror refuses the handshake: the registry serves
cat >"$hosts" <<EOF
server = "http://$REG"
[host."https://$MIRROR"]
  ca = "$TMPD/pki/ca.pem"
EOF
rc=0; "$LAYERCTL" --root "$TMPD/r2" pull "$REG/busybox" >"$TMPD/out" 2>"$TMPD/err" || rc=$?
is "$rc" 0 "without a client certificate"
like "$(cat "$TMPD/err")" "mirror $MIRROR failed" "the mirror refuses (a warning)"
like "$(cat "$TMPD/out")" "from registry $REG" "and the registry serves"

# what the parser does not read is refused with the line, not guessed
printf 'server = "http://%s"\n[host."http://%s"]\n  header = { x = "y" }\n' "$REG" "$MIRROR" >"$hosts"
rc=0; out=$("$LAYERCTL" --root "$TMPD/r3" pull "$REG/busybox" 2>&1) || rc=$?
like "$out" "hosts.toml': line 3: inline tables are not supported" "a hosts.toml it cannot read is named with its line"

done_testing
