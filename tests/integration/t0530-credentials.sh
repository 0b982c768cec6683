#!/bin/bash
# Credentials as docker keeps them: login checks them against the registry's token realm and
# stores them (config.json 0600, or the credential helper), logout removes them; credHelpers
# and credsStore helpers (docker-credential-<name> get/store/erase, written here as scripts)
# serve a password or an identity token (OAuth2 POST); a failing helper is an error, not a
# fallback; an expired token is fetched again during a pull.
. "$(dirname "$0")/../lib.sh"

plan 24

start_registry
push_images busybox python
start_hubproxy --user alice:s3cret --refresh-token rt-4711 --private busybox --private python \
	--token-ttl 1 --cdn-rate 2000000
export DOCKER_CONFIG=$TMPD/docker
cfg=$DOCKER_CONFIG/config.json
mkdir -p "$TMPD/bin"
export PATH=$TMPD/bin:$PATH

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull "$HUB/busybox" 2>&1) || rc=$?
is "$rc" 1 "a private repository needs credentials"
like "$out" "unauthorized" "saying so"

rc=0; out=$(echo wrong | "$LAYERCTL" login -u alice --password-stdin "$HUB" 2>&1) || rc=$?
is "$rc" 1 "login with a wrong password fails"
like "$out" "incorrect username or password" "saying why"
ok -m "and stores nothing" test ! -e "$cfg"

rc=0; out=$(echo s3cret | "$LAYERCTL" login -u alice --password-stdin "$HUB" 2>&1) || rc=$?
is "$rc" 0 "login with the right password"
is "$out" "Login Succeeded" "says docker's words"
is "$(stat -c %a "$cfg")" 600 "config.json is 0600"
is "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"])' "$cfg" "$HUB")" \
	"$(printf 'alice:s3cret' | base64)" "holding base64 user:password under the host"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull --max-concurrent-downloads 1 "$HUB/python" 2>&1) || rc=$?
is "$rc" 0 "the private image is pulled with them"
ntok=$(grep -c ' GET /token?' "$HUB_LOG" || true)
ok -m "tokens that expired during the pull were fetched again ($ntok)" test "$ntok" -ge 3

rc=0; out=$("$LAYERCTL" logout "$HUB" 2>&1) || rc=$?
is "$out" "Removing login credentials for $HUB" "logout"
rc=0; out=$("$LAYERCTL" logout "$HUB" 2>&1) || rc=$?
is "$out" "Not logged in to $HUB" "a second logout has nothing to remove"

# a credHelpers helper serving a password (it logs what it was asked)
cat >"$TMPD/bin/docker-credential-lctest" <<'SH'
#!/bin/sh
read -r server
echo "$1 $server" >>"$HELPER_LOG"
[ "$1" = get ] || exit 1
case $server in
"$HELPER_HOST") printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "$server" "$HELPER_USER" "$HELPER_SECRET" ;;
*) echo "credentials not found in native keychain"; exit 1 ;;
esac
SH
chmod +x "$TMPD/bin/docker-credential-lctest"
export HELPER_LOG=$TMPD/helper.log HELPER_HOST=$HUB HELPER_USER=alice HELPER_SECRET=s3cret
printf '{"credHelpers":{"%s":"lctest"}}\n' "$HUB" >"$cfg"
rc=0; out=$("$LAYERCTL" --root "$TMPD/r2" pull "$HUB/busybox" 2>&1) || rc=$?
is "$rc" 0 "a credHelpers helper serves the password"
is "$(cat "$HELPER_LOG")" "get $HUB" "asked once, for the registry's host"

# the same helper answering with an identity token: the OAuth2 refresh-token POST
export HELPER_USER='<token>' HELPER_SECRET=rt-4711
rc=0; out=$("$LAYERCTL" --root "$TMPD/r3" pull "$HUB/busybox" 2>&1) || rc=$?
is "$rc" 0 "an identity token from the helper"
like "$(grep -c ' POST /token status=200' "$HUB_LOG")" '^[1-9]' "is exchanged with an OAuth2 POST"
export HELPER_SECRET=rt-wrong
rc=0; out=$("$LAYERCTL" --root "$TMPD/r4" pull "$HUB/busybox" 2>&1) || rc=$?
is "$rc" 1 "a refused identity token fails the pull"

# a helper that fails is an error, even with good credentials in auths
printf '#!/bin/sh\necho "keychain locked" >&2\nexit 3\n' >"$TMPD/bin/docker-credential-broken"
chmod +x "$TMPD/bin/docker-credential-broken"
printf '{"credsStore":"broken","auths":{"%s":{"auth":"%s"}}}\n' "$HUB" "$(printf 'alice:s3cret' | base64)" >"$cfg"
rc=0; out=$("$LAYERCTL" --root "$TMPD/r5" pull "$HUB/busybox" 2>&1) || rc=$?
is "$rc" 1 "a failing helper fails the pull"
like "$out" "credential helper 'docker-credential-broken' failed .*keychain locked" "naming it and its words"

# login with a credsStore: the helper stores, config.json holds no password
cat >"$TMPD/bin/docker-credential-lcstore" <<'SH'
#!/bin/sh
case $1 in
store) cat >"$STORE_FILE" ;;
get) read -r s; [ -s "$STORE_FILE" ] && cat "$STORE_FILE" || { echo "credentials not found"; exit 1; } ;;
erase) read -r s; rm -f "$STORE_FILE" ;;
esac
SH
chmod +x "$TMPD/bin/docker-credential-lcstore"
export STORE_FILE=$TMPD/stored.json
printf '{"credsStore":"lcstore"}\n' >"$cfg"
rc=0; out=$(echo s3cret | "$LAYERCTL" login -u alice --password-stdin "$HUB" 2>&1) || rc=$?
is "$rc" 0 "login with a credsStore"
like "$(cat "$STORE_FILE" 2>/dev/null)" '"Username": ?"alice".*"Secret": ?"s3cret"' "stores through the helper"
unlike "$(cat "$cfg")" "auth\"" "and not in config.json"
rc=0; out=$("$LAYERCTL" --root "$TMPD/r6" pull "$HUB/busybox" 2>&1) || rc=$?
is "$rc" 0 "whose credentials the next pull uses"

done_testing
