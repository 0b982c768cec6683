#!/bin/bash
# gc: marks from refs, containers and the leases of pulls in flight. A gc running over and over
# while another layerctl pulls (slowly) an image whose base layer is garbage when the pull
# starts must not break that pull.
. "$(dirname "$0")/../lib.sh"

start_registry
push_images
start_hubproxy --cdn-rate 3000000 # python's 7.5 MB layer takes a few seconds

drop_refs() { # the base layer and the rest become garbage: nothing names them
	python3 -c 'import json, sys; json.dump({"refs": {}}, open(sys.argv[1], "w"))' \
		"$ROOT/refs/refs.json"
}
for round in 1; do
	ok -m "round $round: pull nginx" "$LAYERCTL" pull -q "$REG/nginx"
	drop_refs
	"$LAYERCTL" pull "$HUB/python" >"$TMPD/pull.out" 2>&1 &
	ppid=$!
	n=0 gcfail=0
	while kill -0 "$ppid" 2>/dev/null; do
		"$LAYERCTL" gc >>"$TMPD/gc.out" 2>&1 || gcfail=$((gcfail + 1))
		n=$((n + 1))
	done
	wait "$ppid" && rc=0 || rc=$?
	note "round $round: $n gc runs during the pull"
	is "$rc" 0 "round $round: the pull succeeds while gc runs ($(tail -n 1 "$TMPD/pull.out"))"
	is "$gcfail" 0 "round $round: every gc succeeded"
	ok -m "round $round: gc ran during the pull" test "$n" -ge 2
	is "$("$LAYERCTL" run --rm "$HUB/python" sh -c 'echo ok')" ok \
		"round $round: the pulled image runs (every layer is there)"
	# everything else is garbage now: nginx's own layer went, python's stay
	"$LAYERCTL" gc >/dev/null
	is "$(find "$ROOT/layers/sha256" -mindepth 1 -maxdepth 1 -type d | wc -l)" 2 "round $round: gc keeps python's layers only"
	drop_refs
	ok -m "round $round: gc of an unreferenced store" "$LAYERCTL" gc
	is "$(ls "$ROOT/layers/sha256" | wc -l) $(ls "$ROOT/blobs/sha256" | wc -l)" "0 0" \
		"round $round: and it is empty"
done
like "$(cat "$TMPD/gc.out")" "deleted layer: sha256:" "some gc removed nginx's own layer meanwhile"
# a lock file nobody holds goes, one that is held stays
: >"$ROOT/tmp/locks/$(printf '%064d' 1).lock"
held=$ROOT/tmp/locks/$(printf '%064d' 2).lock
flock "$held" sleep 30 &
fpid=$!
for _ in $(seq 50); do [[ -e $held ]] && break; sleep 0.1; done
out=$("$LAYERCTL" gc)
like "$out" "Removed 1 lock file" "gc removes the lock file nobody holds"
ok -m "and keeps the held one" test -e "$held"
kill "$fpid"; wait "$fpid" 2>/dev/null || true

done_testing
