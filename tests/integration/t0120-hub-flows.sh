#!/bin/bash
# Docker Hub's flows on loopback: anonymous Bearer token from the challenge, blobs redirected to
# another host that must never see our Authorization header.
. "$(dirname "$0")/../lib.sh"

plan 5

start_registry
push_images
start_hubproxy

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$HUB/python:latest" 2>&1) || rc=$?
is "$rc" 0 "pull through a token-auth registry with redirected blobs"
like "$out" "Status: Downloaded newer image" "the image is pulled"
ok grep -q "GET /token" "$HUB_LOG"
ok -m "blobs came from the other host (the CDN)" grep -q "^[^ ]* cdn GET /blobs/" "$HUB_LOG"
is "$(hub_leak_count)" 0 "no Authorization header reached the blob host"

done_testing
