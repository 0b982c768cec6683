#!/bin/bash
# Pull by digest, and the errors a user meets most: unknown tag or repository, a platform the
# image does not have, a registry that is not there. One line each, nothing left behind.
. "$(dirname "$0")/../lib.sh"

plan 12

start_registry
push_images

digest=$(oci_manifest_digest busybox)
rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/busybox@$digest" 2>&1) || rc=$?
is "$rc" 0 "pull by digest"
like "$out" "Digest: $digest" "the digest pulled is the one asked for"
like "$out" "$REG/busybox@$digest" "and the image is named by it"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/busybox:nosuchtag" 2>&1) || rc=$?
is "$rc" 1 "an unknown tag fails"
like "$out" "^layerctl: pull '$REG/busybox:nosuchtag': .*(not found|unknown)" "saying it is not found"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$REG/nosuchrepo" 2>&1) || rc=$?
is "$rc" 1 "an unknown repository fails"
is "$(printf '%s\n' "$out" | grep -c '^layerctl:')" 1 "with one error line"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull --platform linux/arm64 "$REG/nginx" 2>&1) || rc=$?
is "$rc" 1 "a platform the image lacks fails"
like "$out" "does not match the specified platform" "saying which platform it is"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "127.0.0.1:1/busybox" 2>&1) || rc=$?
like "$out" "cannot reach '127.0.0.1:1'" "an absent registry is named"

rc=0; out=$("$LAYERCTL" --root "$ROOT" images) || rc=$?
is "$(printf '%s\n' "$out" | grep -c "^$REG/busybox ")" 1 "only the digest pull made an image"
is "$(find "$ROOT/tmp" -mindepth 1 -maxdepth 1 ! -name locks ! -name trash | wc -l)" 0 \
	"nothing is left in tmp/"

done_testing
