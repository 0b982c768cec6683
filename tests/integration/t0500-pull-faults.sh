#!/bin/bash
# Faults a pull meets on the way: a 10 s storm of 429s without Retry-After (outlasted with
# backoff), connections reset mid-blob (resumed with Range), Docker Hub's pull quota shown,
# concurrent pulls that fetch the config once, and references that are usage errors or carry control characters.
. "$(dirname "$0")/../lib.sh"

plan 18

start_registry
push_images busybox python
start_hubproxy --storm-429 10 --reset-blobs 2 --ratelimit 76 --schema1-tag old

t0=$(date +%s)
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$HUB/busybox" 2>&1) || rc=$?
t1=$(date +%s)
is "$rc" 0 "a pull outlasts a 10 s storm of 429s and two resets"
n429=$(grep -c 'status=429' "$HUB_LOG" || true)
ok -m "the registry refused it several times ($n429)" test "$n429" -ge 4
ok -m "and it backed off: at most 12 requests in the storm" test "$n429" -le 12
ok -m "it took the storm's 10 s and not much more ($((t1 - t0)) s)" test $((t1 - t0)) -ge 9 -a $((t1 - t0)) -le 30
like "$(grep 'cdn GET' "$HUB_LOG" | grep -c 'RESET')" '^[12]$' "blob transfers were cut"
like "$(grep 'cdn GET' "$HUB_LOG" | grep -v RESET | grep -E 'range=bytes=[1-9][0-9]*-' | grep -c 'status=206')" '^[1-9]' \
	"and resumed with Range (206)"
like "$out" "rate limit: 76 of 100 pulls left \(per 21600 s\)" "Docker Hub's quota is shown"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm "$HUB/busybox" echo whole 2>&1) || rc=$?
is "$out" "whole" "the image is whole"

# two pulls at once: the config (and each layer) comes from the registry once
"$LAYERCTL" --root "$TMPD/r2" pull "$REG/python" >"$TMPD/a.out" 2>&1 &
a=$!
"$LAYERCTL" --root "$TMPD/r2" pull "$REG/python" >"$TMPD/b.out" 2>&1 &
b=$!
rca=0; wait "$a" || rca=$?
rcb=0; wait "$b" || rcb=$?
is "$rca$rcb" 00 "two concurrent pulls succeed"
is "$(blob_get_count "$(oci_config_digest python)")" 1 "the config was fetched once"

# an impossible port is a usage error, said before any connection
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull 127.0.0.1:99999/busybox 2>&1) || rc=$?
is "$rc" 1 "port 99999 is an invalid reference (1, as docker's)"
like "$out" "port '99999' is out of range" "saying why"
unlike "$out" "cannot reach" "not a network error"

# a Docker schema 1 image: refused, saying what it is and what to do
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$HUB/busybox:old" 2>&1) || rc=$?
is "$rc" 1 "a schema 1 manifest is refused"
like "$out" "Docker schema 1 manifests .* are not supported" "saying so"
like "$out" "push it again .*skopeo copy --format v2s2" "and what to do"

# control characters in a reference never reach the terminal raw
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull $'nginx:\e[2J\nX' 2>&1) || rc=$?
is "$(printf '%s\n' "$out" | wc -l)" 1 "an error with a newline in the reference is one line"
like "$out" '\\x1b\[2J\\nX' "its control characters escaped"

done_testing
