#!/bin/bash
# Pull from a real registry: layers verified and unpacked once, a shared base downloaded once.
. "$(dirname "$0")/../lib.sh"

plan 20

start_registry
push_images

base=$(oci_layers busybox | sed -n 1p)
is "$(oci_layers nginx | sed -n 1p)" "$base" "nginx sits on the busybox layer"
is "$(oci_layers python | sed -n 1p)" "$base" "python sits on the busybox layer"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/busybox" 2>&1) || rc=$?
is "$rc" 0 "pull busybox"
like "$out" "Using default tag: latest" "a missing tag means latest"
like "$out" "${base:7:12}: Pull complete" "the layer is pulled"
like "$out" "Status: Downloaded newer image for $REG/busybox:latest" "docker's status line"
like "$out" "Digest: sha256:[0-9a-f]{64}" "the digest is shown"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/nginx:latest" 2>&1) || rc=$?
is "$rc" 0 "pull nginx"
like "$out" "${base:7:12}: Already exists" "nginx's base layer already exists"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/python:latest" 2>&1) || rc=$?
is "$rc" 0 "pull python"
like "$out" "${base:7:12}: Already exists" "python's base layer already exists"
is "$(blob_get_count "$base")" 1 "the registry served the shared base blob once"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/python:latest" 2>&1) || rc=$?
like "$out" "Status: Image is up to date for $REG/python:latest" "a second pull is up to date"
is "$(blob_get_count "$(oci_layers python | sed -n 2p)")" 1 "and downloads nothing again"

rc=0; out=$("$LAYERCTL" --root "$ROOT" images) || rc=$?
is "$rc" 0 "images"
is "$(printf '%s\n' "$out" | grep -c "^$REG/")" 3 "images lists the three images"
cfg=$(oci_config_digest busybox)
out=$("$LAYERCTL" --root "$ROOT" images --format json)
is "$(printf '%s\n' "$out" | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["Repository"].endswith("/busybox"):
        print(o["Tag"], o["ID"], o["VirtualSize"] > 0)')" "latest ${cfg:7:12} True" \
	"images --format json: busybox's tag, image ID (its config digest) and size"
is "$(printf '%s\n' "$out" | grep -c '"VirtualSize":[1-9]')" 3 "every image has a size"
is "$("$LAYERCTL" --root "$ROOT" images -q | sort | tr '\n' ' ')" \
	"$(for i in busybox nginx python; do d=$(oci_config_digest $i); echo "${d:7:12}"; done |
		sort | tr '\n' ' ')" "images -q lists the three image IDs"
is "$(find "$ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name locks ! -name trash | wc -l)" 0 \
	"nothing is left in tmp/"

done_testing
