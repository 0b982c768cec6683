#!/bin/bash
# t0000-harness: self-test of tests/lib.sh, testdata/build-images.sh and tests/hubproxy.py.
# Needs no layerctl binary: registry, image push, access-log counting, hub proxy flows, cleanup.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

plan 33

json_get() { "$PY" -I -c 'import json, sys; d = json.load(sys.stdin); exec(sys.argv[1])' "$1"; }
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# --- registry and images ---------------------------------------------------------------------
start_registry
like "$REG" '^127\.0\.0\.1:[0-9]+$' "registry address $REG"
is "$(curl -s "http://$REG/v2/")" "{}" "registry answers /v2/"
push_images
like "$BASE_LAYER" '^sha256:[0-9a-f]{64}$' "base layer digest $BASE_LAYER"

declare -A layers
for n in busybox nginx python; do
	layers[$n]=$(skopeo inspect --tls-verify=false "docker://$REG/$n:latest" |
		json_get 'print(" ".join(d["Layers"]))')
done
is "${layers[busybox]}" "$BASE_LAYER" "busybox is the base layer alone"
like "${layers[nginx]}" "^$BASE_LAYER sha256:[0-9a-f]{64}\$" "nginx: base layer + one layer"
like "${layers[python]}" "^$BASE_LAYER sha256:[0-9a-f]{64}\$" "python: base layer + one layer"
isnt "${layers[nginx]#* }" "${layers[python]#* }" "nginx and python differ above the base"
is "$(curl -s -o /dev/null -w '%header{docker-content-digest}' \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/python/manifests/latest")" \
	"$(oci_manifest_digest python)" "registry serves the manifest as built (no rewrite)"

data=$(registry_blob_data_path "$BASE_LAYER")
is "sha256:$(sha256sum <"$data" | cut -d' ' -f1)" "$BASE_LAYER" "base blob data file has the right digest"
# 3 manifests + 3 configs + 3 distinct layers (the base is shared): 9 data files
is "$(find "$REG_STORAGE/docker/registry/v2/blobs" -name data | wc -l)" \
	"$(find "$IMAGES_DIR"/{busybox,nginx,python}/blobs/sha256 -type f -printf '%f\n' | sort -u | wc -l)" \
	"registry stores each distinct blob once"
refs=0
for n in busybox nginx python; do
	[[ -f $REG_STORAGE/docker/registry/v2/repositories/$n/_layers/sha256/${BASE_LAYER#sha256:}/link ]] &&
		refs=$((refs + 1))
done
is "$refs" 3 "all three repositories link the one base blob"

# --- access-log counting ---------------------------------------------------------------------
is "$(blob_get_count "$BASE_LAYER")" 0 "no blob GET counted after the push (pushes only HEAD)"
curl -s -o "$TMPD/base.tgz" "http://$REG/v2/nginx/blobs/$BASE_LAYER"
is "$(blob_get_count "$BASE_LAYER")" 1 "one GET counted after one fetch"
curl -s -I -o /dev/null "http://$REG/v2/nginx/blobs/$BASE_LAYER"
curl -s -o /dev/null "http://$REG/v2/nginx/manifests/latest"
is "$(blob_get_count "$BASE_LAYER")" 1 "HEAD and manifest GET are not counted"
top=${layers[nginx]#* } # never fetched (skopeo inspect does GET the config blobs)
curl -s -o /dev/null "http://$REG/v2/python/blobs/$BASE_LAYER"
is "$(blob_get_count "$BASE_LAYER"),$(blob_get_count "$top")" "2,0" "counted per digest, any repository"

# --- hub proxy -------------------------------------------------------------------------------
start_hubproxy
like "$HUB,$HUB_BLOB" '^127\.0\.0\.1:[0-9]+,127\.0\.0\.2:[0-9]+$' "hub proxy at $HUB, CDN at $HUB_BLOB"
hdrs=$(curl -s -D - -o /dev/null "http://$HUB/v2/")
like "$hdrs" '^HTTP/1\.1 401 ' "/v2/ without token: 401"
like "$hdrs" "[Ww][Ww][Ww]-[Aa]uthenticate: Bearer realm=\"http://$HUB/token\",service=\"registry\\.docker\\.io\""$'\r' \
	"/v2/ challenge: realm and service, no scope"
hdrs=$(curl -s -D - -o /dev/null "http://$HUB/v2/library/nginx/manifests/latest")
like "$hdrs" 'scope="repository:library/nginx:pull"' "manifest challenge carries the repository scope"

tokjson=$(curl -s "http://$HUB/token?service=registry.docker.io&scope=repository:library/nginx:pull")
tok=$(json_get 'print(d["token"] if d["token"] == d["access_token"] and d["expires_in"] == 300 and d["issued_at"] else "")' <<<"$tokjson")
like "$tok" '^[A-Za-z0-9_-]{20,}$' "token endpoint issues a token"
AUTH=(-H "Authorization: Bearer $tok")
is "$(http_code "${AUTH[@]}" "http://$HUB/v2/")" 200 "/v2/ with token: 200"
is "$(http_code -H 'Authorization: Bearer forged' "http://$HUB/v2/")" 401 "/v2/ with an unknown token: 401"
is "$(http_code "${AUTH[@]}" "http://$HUB/v2/library/python/manifests/latest")" 401 \
	"token for nginx does not open python"
is "$(curl -s -o /dev/null -w '%{http_code} %header{docker-content-digest}' "${AUTH[@]}" \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$HUB/v2/library/nginx/manifests/latest")" \
	"200 $(oci_manifest_digest nginx)" "manifest through the proxy, with its digest"

loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "${AUTH[@]}" "http://$HUB/v2/library/nginx/blobs/$BASE_LAYER")
like "$loc" "^307 http://$HUB_BLOB/blobs/sha256/${BASE_LAYER#sha256:}\\?sig=" "blob GET redirected to the CDN host"
# curl, like a correct client, drops the Authorization header when the redirect changes host
got=$(curl -s -L "${AUTH[@]}" "http://$HUB/v2/library/nginx/blobs/$BASE_LAYER" | sha256sum | cut -d' ' -f1)
is "sha256:$got" "$BASE_LAYER" "blob bytes via the redirect"
is "$(blob_get_count "$BASE_LAYER")" 3 "the CDN fetch reached the registry once"
is "$(hub_leak_count)" 0 "no Authorization header reached the CDN host"
is "$(http_code "${AUTH[@]}" "http://$HUB_BLOB/blobs/sha256/${BASE_LAYER#sha256:}?sig=${loc##*sig=}")" 400 \
	"a leaked Authorization header is refused"
is "$(hub_leak_count)" 1 "... and logged as LEAK"

# --- TAP helpers and cleanup on failure, in a child test ------------------------------------
child=$TMPD/child.sh
cat >"$child" <<'CHILD'
. "$LIB"
start_registry
start_hubproxy
mkdir -p "$TMPD/m" && mount -t tmpfs none "$TMPD/m" && mkdir "$TMPD/m/sub" && mount -t tmpfs none "$TMPD/m/sub"
if [[ -d /sys/fs/cgroup/pids ]]; then cg=/sys/fs/cgroup/pids/parent-$TEST_ID; else cg=/sys/fs/cgroup/parent-$TEST_ID; fi
mkdir -p "$cg/inner"
sleep 300 >/dev/null 2>&1 &
SLEEP=$!
echo "$SLEEP" >"$cg/inner/cgroup.procs"
echo "$REG_PID $HUB_PID $TMPD ${SLEEP:-} $cg" >"$OUTF"
is a b "a deliberate failure"
ok true
false   # aborts the test (set -e), the trap must still clean up
ok -m "not reached" true
CHILD
out=$(LIB=$TOP/tests/lib.sh OUTF=$TMPD/child.out bash "$child" 2>&1) && rc=0 || rc=$?
read -r c_reg c_hub c_tmpd c_sleep c_cg <"$TMPD/child.out"
like "$rc:$out" $'^1:.*not ok 1 - a deliberate failure.*ok 2 - true.*test aborted' \
	"child: failed assertion does not stop it, set -e abort exits 1"
# shellcheck disable=SC2317 # called through ok
gone() { local p; for p; do [[ -z $p ]] || ! kill -0 "$p" 2>/dev/null || return 1; done; }
ok -m "child: registry, hub proxy, cgroup process stopped" gone "$c_reg" "$c_hub" "$c_sleep"
# shellcheck disable=SC2016 # expanded by the inner bash
ok -m "child: no mounts left, temp dir and cgroup removed" \
	bash -c '! findmnt -rn -o TARGET | grep -q "^$1" && [[ ! -e $1 && ! -e $2 ]]' _ "$c_tmpd" "$c_cg"

done_testing
