#!/bin/bash
# image prune [-a] and system prune [-a]: docker's prompts and output; what a container uses stays.
. "$(dirname "$0")/../lib.sh"

start_registry
push_images

for i in busybox nginx; do
	ok -m "pull $i" "$LAYERCTL" pull -q "$REG/$i"
done
out=$(echo n | "$LAYERCTL" image prune -a 2>&1)
like "$out" "WARNING! This will remove all images without at least one container" "a prompt first"
is "$("$LAYERCTL" images -q | wc -l)" 2 "answering no removes nothing"
out=$("$LAYERCTL" image prune -f)
is "$out" "Total reclaimed space: 0B" "image prune: nothing is dangling"

# a container whose layerctl was killed: stale, and its image is in use until it is pruned
"$LAYERCTL" run --rm "$REG/nginx" sleep 300 &
lpid=$!
cpid=$(container_pid "$lpid") || cpid=
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null || true
for _ in $(seq 50); do [[ -n $cpid ]] && kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
cid=$(ls "$ROOT/containers")
out=$("$LAYERCTL" image prune -a -f)
like "$out" "^Deleted Images:"$'\n'"Untagged: $REG/busybox:latest" "image prune -a removes busybox"
unlike "$out" "nginx" "not nginx: a container was made from it"
like "$out" "Total reclaimed space: [1-9]" "and says what it reclaimed"
is "$("$LAYERCTL" images --format json | grep -c nginx)" 1 "nginx is still there"
out=$("$LAYERCTL" system prune -a -f)
like "$out" "^Deleted Containers:"$'\n'"$cid"$'\n' "system prune removes the dead container"
like "$out" "Untagged: $REG/nginx:latest" "then the image nobody uses any more"
is "$(grep -c " $ROOT/" /proc/self/mountinfo)" 0 "nothing is left mounted"
is "$(ls "$ROOT/containers" | wc -l) $(ls "$ROOT/layers/sha256" | wc -l) $(ls "$ROOT/blobs/sha256" | wc -l)" \
	"0 0 0" "no container, layer or blob is left"
rc=0; "$LAYERCTL" image prune --bogus 2>/dev/null || rc=$?
is "$rc" 125 "an unknown flag is docker's 125"

done_testing
