# shellcheck shell=bash
# tests/lib.sh: sourced by tests/integration/tNNNN-<what>.sh
#
#   . "$(dirname "$0")/../lib.sh"
#   plan 3
#   start_registry; push_images
#   ok "$LAYERCTL" pull "$REG/busybox"
#   is "$("$LAYERCTL" run --rm "$REG/busybox" echo hi)" "hi" "run echo"
#   done_testing
#
# Gives the test `set -euo pipefail`, a temp dir removed on exit, and a cleanup trap that runs
# even when the test fails midway: registered at_cleanup commands, processes in cgroups named
# after $TEST_ID, mounts under $TMPD (deepest first), the hub proxy and the registry (by PID).
# Assertions (ok, nok, is, isnt, like, unlike) print TAP, count failures and never abort the test.
# LC_KEEP_TMPD=1 keeps $TMPD for inspection.

set -euo pipefail -o errtrace

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
LAYERCTL=${LAYERCTL:-$TOP/layerctl}
IMAGES_DIR=${LC_IMAGES_DIR:-$TOP/testdata/out}
TEST_NAME=$(basename "$0" .sh)
TEST_ID=lctest-$$-$RANDOM
TMPD=$(mktemp -d "${LC_TEST_TMPDIR:-${TMPDIR:-/tmp}}/layerctl-$TEST_NAME.XXXXXX")
TMPD=$(readlink -f "$TMPD")
ROOT=$TMPD/root
# the binary must never touch the real store, even when a test forgets --root
export LAYERCTL_ROOT=$ROOT
export TOP LAYERCTL TMPD ROOT TEST_ID IMAGES_DIR
# everything here is loopback; keep proxies from the environment out of it
export no_proxy=127.0.0.1,127.0.0.2,localhost NO_PROXY=127.0.0.1,127.0.0.2,localhost

REG='' REG_PID='' REG_STORAGE='' REG_LOG=''
HUB='' HUB_PID='' HUB_LOG='' HUB_BLOB=''
BASE_LAYER=''

# ---------------------------------------------------------------------------------------------
# TAP
_lc_n=0 _lc_failed=0 _lc_planned='' _lc_done=''
_lc_err_at=''

plan() { _lc_planned=$1; echo "1..$1"; }
diag() { local l; while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*" >&2; }
note() { local l; while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"; }

# _lc_result PASSED NAME
_lc_result() {
	_lc_n=$((_lc_n + 1))
	if [[ $1 == 1 ]]; then
		echo "ok $_lc_n - $2"
	else
		echo "not ok $_lc_n - $2"
		_lc_failed=$((_lc_failed + 1))
		# report the first caller outside this file
		local i=1
		while [[ ${BASH_SOURCE[i]:-} == "${BASH_SOURCE[0]}" ]]; do i=$((i + 1)); done
		diag "  Failed test '$2' at ${BASH_SOURCE[i]##*/} line ${BASH_LINENO[i - 1]}"
	fi
}

# _lc_run EXPECT_SUCCESS [-m NAME] CMD...: run CMD with its output captured (shown on failure)
_lc_run() {
	local want=$1 name rc=0
	shift
	if [[ ${1:-} == -m ]]; then name=$2; shift 2; else name="$*"; fi
	"$@" >"$TMPD/.ok-output" 2>&1 || rc=$?
	if { [[ $want == 1 && $rc -eq 0 ]] || [[ $want == 0 && $rc -ne 0 ]]; }; then
		_lc_result 1 "$name"
	else
		_lc_result 0 "$name"
		diag "  exit status $rc; output:"
		diag "$(tail -n 20 "$TMPD/.ok-output" | sed 's/^/    /')"
	fi
}
ok() { _lc_run 1 "$@"; }  # ok [-m NAME] CMD...   passes if CMD exits 0
nok() { _lc_run 0 "$@"; } # nok [-m NAME] CMD...  passes if CMD exits non-zero

is() { # is GOT EXPECTED NAME
	if [[ $1 == "$2" ]]; then _lc_result 1 "$3"; else
		_lc_result 0 "$3"
		diag "         got: '$1'"$'\n'"    expected: '$2'"
	fi
}
isnt() { # isnt GOT UNEXPECTED NAME
	if [[ $1 != "$2" ]]; then _lc_result 1 "$3"; else
		_lc_result 0 "$3"
		diag "         got: '$1'"$'\n'"    expected anything else"
	fi
}
like() { # like GOT ERE NAME
	if [[ $1 =~ $2 ]]; then _lc_result 1 "$3"; else
		_lc_result 0 "$3"
		diag "                  '$1'"$'\n'"    doesn't match '$2'"
	fi
}
unlike() { # unlike GOT ERE NAME
	if [[ ! $1 =~ $2 ]]; then _lc_result 1 "$3"; else
		_lc_result 0 "$3"
		diag "                  '$1'"$'\n'"          matches '$2'"
	fi
}
skip() { _lc_n=$((_lc_n + 1)); echo "ok $_lc_n # skip ${1:-}"; } # skip REASON
skip_all() { echo "1..0 # SKIP ${1:-}"; _lc_done=1; exit 0; }
bail_out() { echo "Bail out! ${1:-}"; exit 1; }
require_root() { [[ $EUID -eq 0 ]] || skip_all "needs root"; }
require_layerctl() { [[ -x $LAYERCTL ]] || skip_all "no layerctl binary at $LAYERCTL"; }

done_testing() {
	[[ -n $_lc_planned ]] || echo "1..$_lc_n"
	if [[ -n $_lc_planned && $_lc_planned != "$_lc_n" ]]; then
		diag "planned $_lc_planned tests but ran $_lc_n"
		_lc_failed=$((_lc_failed + 1))
	fi
	_lc_done=1
	[[ $_lc_failed -eq 0 ]] || diag "failed $_lc_failed of $_lc_n tests"
	exit $((_lc_failed > 0))
}

# ---------------------------------------------------------------------------------------------
# Cleanup

_lc_cleanups=()
# at_cleanup CMD...: run CMD (last registered first) when the test exits, before the rest
at_cleanup() {
	local q
	# one word holding spaces would be run as a command of that name, i.e. never: refuse it
	[[ $# -eq 1 && $1 == *[[:space:]]* ]] &&
		bail_out "at_cleanup: one argument with spaces: pass a command and its arguments, or bash -c 'CODE'"
	printf -v q '%q ' "$@"
	_lc_cleanups+=("$q")
}

# _lc_stop_pid PID: TERM, wait up to 5 s, then KILL; reap it (it is our child)
_lc_stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	if ! kill -TERM "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# _lc_mounts_under DIR: mount points at or below DIR, deepest first
_lc_mounts_under() {
	local m
	findmnt -rn -o TARGET 2>/dev/null | while IFS= read -r m; do
		m=$(printf '%b' "$m") # findmnt -r hex-escapes spaces and the like
		[[ $m == "$1" || $m == "$1"/* ]] && printf '%s\t%s\n' "${#m}" "$m"
	done | sort -rn | cut -f2-
}

_lc_umount_all() {
	local pass m left
	for pass in 1 2 3; do
		left=
		while IFS= read -r m; do
			[[ -n $m ]] || continue
			left=1
			if [[ $pass -lt 3 ]]; then umount "$m" 2>/dev/null || true; else umount -l "$m" 2>/dev/null || true; fi
		done < <(_lc_mounts_under "$1")
		[[ -n $left ]] || return 0
	done
	[[ -z $(_lc_mounts_under "$1") ]] || diag "cleanup: still mounted under $1: $(_lc_mounts_under "$1")"
}

# cgroups (v1 hierarchies and v2) whose name contains $TEST_ID: kill their processes, rmdir
_lc_cgroup_cleanup() {
	local hier d sub pid pids i
	for hier in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[[ -d $hier ]] || continue
		while IFS= read -r d; do
			[[ -d $d ]] || continue
			while IFS= read -r sub; do
				if [[ -e $sub/cgroup.kill ]]; then echo 1 >"$sub/cgroup.kill" 2>/dev/null || true; fi
				for ((i = 0; i < 50; i++)); do
					pids=$(cat "$sub/cgroup.procs" 2>/dev/null) # cgroupfs files show size 0
					[[ -n $pids ]] || break
					for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
					sleep 0.1
				done
				rmdir "$sub" 2>/dev/null || diag "cleanup: cannot remove cgroup $sub"
			done < <(find "$d" -depth -type d 2>/dev/null)
		done < <(find "$hier" -maxdepth 4 -type d -name "*$TEST_ID*" -prune 2>/dev/null)
	done
}

_lc_cleanup() {
	local rc=$? i
	set +e +o errtrace
	trap - ERR
	if [[ -z $_lc_done && $rc -ne 0 ]]; then
		echo "# test aborted with status $rc${_lc_err_at:+ after: $_lc_err_at}" >&2
	fi
	if [[ $rc -ne 0 || $_lc_failed -ne 0 ]]; then
		[[ -z $REG_LOG || ! -s $REG_LOG ]] || diag "registry log (tail):"$'\n'"$(grep -v ' level=' "$REG_LOG" | tail -n 8)"
		[[ -z $HUB_LOG || ! -s $HUB_LOG ]] || diag "hubproxy log (tail):"$'\n'"$(tail -n 8 "$HUB_LOG")"
	fi
	for ((i = ${#_lc_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_lc_cleanups[i]}" >/dev/null 2>&1
	done
	_lc_cgroup_cleanup
	_lc_umount_all "$TMPD"
	_lc_stop_pid "$HUB_PID"
	_lc_stop_pid "$REG_PID"
	if [[ -n ${LC_KEEP_TMPD:-} ]]; then
		echo "# kept $TMPD" >&2
	elif [[ -z $(_lc_mounts_under "$TMPD") ]]; then
		rm -rf --one-file-system "$TMPD"
	else
		echo "# not removing $TMPD: mounts remain" >&2
	fi
	exit "$rc"
}
trap _lc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap '_lc_err_at="${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR

# container_pid LPID: the pid of the container started by the layerctl LPID (its child, once it
# runs something other than layerctl), waiting up to 10 s; prints nothing and fails without one
container_pid() {
	local cpid i
	for ((i = 0; i < 100; i++)); do
		cpid=$(ps -o pid= --ppid "$1" | tr -d " " | head -1 || true)
		if [[ -n $cpid && $(readlink "/proc/$cpid/exe" 2>/dev/null) != "$(readlink -f "$LAYERCTL")" ]]; then
			echo "$cpid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------------------------
# Registry

_lc_free_port() {
	"$PY" -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _lc_wait_http URL PID: wait up to 10 s for URL to answer while PID lives
_lc_wait_http() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -s -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.1
	done
	return 1
}

# start_registry: docker-registry on a free 127.0.0.1 port, storage under $TMPD/registry.
# Sets REG (host:port), REG_PID, REG_STORAGE, REG_LOG (app log and combined access log).
start_registry() {
	local port cfg=$TMPD/registry.yml
	command -v docker-registry >/dev/null || bail_out "docker-registry not installed"
	REG_STORAGE=$TMPD/registry
	REG_LOG=$TMPD/registry.log
	mkdir -p "$REG_STORAGE"
	for _ in 1 2 3 4 5; do
		port=$(_lc_free_port)
		cat >"$cfg" <<-EOF
			version: 0.1
			log:
			  level: info
			  formatter: text
			  accesslog:
			    disabled: false
			storage:
			  filesystem:
			    rootdirectory: $REG_STORAGE
			  delete:
			    enabled: true
			  maintenance:
			    uploadpurging:
			      enabled: false
			http:
			  addr: 127.0.0.1:$port
			  secret: layerctl-test-$TEST_ID
		EOF
		# the access log goes to stdout, the app log to stderr: keep both, in order
		setpriv --pdeathsig TERM -- docker-registry serve "$cfg" >>"$REG_LOG" 2>&1 &
		REG_PID=$!
		if _lc_wait_http "http://127.0.0.1:$port/v2/" "$REG_PID"; then
			REG=127.0.0.1:$port
			export REG REG_PID REG_STORAGE REG_LOG
			return 0
		fi
		_lc_stop_pid "$REG_PID"
		REG_PID=
		grep -q 'address already in use' "$REG_LOG" || break
		diag "registry: port $port taken, retrying"
	done
	bail_out "registry did not start: $(tail -n 3 "$REG_LOG")"
}

# _lc_registry_log_sync: make sure requests answered so far are in the access log
# (the registry writes the line after the response): send a marker request and wait for it
_lc_registry_log_sync() {
	local mark=lcsync$RANDOM$RANDOM i
	curl -s -o /dev/null --max-time 5 "http://$REG/v2/?$mark" || true
	for ((i = 0; i < 100; i++)); do
		grep -qF "\"GET /v2/?$mark HTTP/" "$REG_LOG" && return 0
		sleep 0.05
	done
	diag "registry access log did not show $mark"
}

# blob_get_count DIGEST: GET requests for the blob (any repository, any status) in the access log.
# The access log is Apache combined format:
#   127.0.0.1 - - [30/Nov/2026:00:54:40 +0000] "GET /v2/busybox/blobs/sha256:HEX HTTP/1.1" 200 1035288 "" "curl/7.88.1"
blob_get_count() {
	_lc_registry_log_sync
	grep -cE "^[^ ]+ [^ ]+ [^ ]+ \[[^]]*\] \"GET /v2/[^ \"?]+/blobs/$1(\?[^ \"]*)? HTTP/[0-9.]+\" [0-9]{3} " \
		"$REG_LOG" || true
}

# registry_blob_data_path DIGEST: the blob's file in the registry's filesystem storage
registry_blob_data_path() {
	local hex=${1#sha256:}
	echo "$REG_STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# oci_manifest_digest NAME / oci_layers NAME / oci_config_digest NAME: from the built layouts
oci_manifest_digest() {
	"$PY" -I -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
		"$IMAGES_DIR/$1/index.json"
}
_lc_oci_manifest() {
	local d
	d=$(oci_manifest_digest "$1")
	"$PY" -I -c 'import json, sys; m = json.load(open(sys.argv[1])); exec(sys.argv[2])' \
		"$IMAGES_DIR/$1/blobs/sha256/${d#sha256:}" "$2"
}
oci_layers() { _lc_oci_manifest "$1" 'print("\n".join(l["digest"] for l in m["layers"]))'; }
oci_config_digest() { _lc_oci_manifest "$1" 'print(m["config"]["digest"])'; }

# push_images [NAME...]: build the test images (cached in $IMAGES_DIR) and push them to $REG as
# NAME:latest (default busybox nginx python), byte for byte. Sets BASE_LAYER (the shared layer).
# shellcheck disable=SC2120 # the NAME arguments are optional
push_images() {
	local names=("$@") n fd base hex link
	[[ ${#names[@]} -gt 0 ]] || names=(busybox nginx python)
	[[ -n $REG ]] || bail_out "push_images: start_registry first"
	"$TOP/testdata/build-images.sh" "$IMAGES_DIR" --quiet || bail_out "building test images failed"
	exec {fd}<"$IMAGES_DIR/.lock"
	flock -s "$fd" # no rebuild by a parallel test while we read
	for n in "${names[@]}"; do
		# --preserve-digests: fail rather than let skopeo rewrite the manifest; layers are
		# copied as they are (no --dest-compress), so the shared base keeps its digest
		skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
			"oci:$IMAGES_DIR/$n:latest" "docker://$REG/$n:latest" >>"$TMPD/skopeo.log" 2>&1 ||
			bail_out "skopeo copy $n failed: $(tail -n 3 "$TMPD/skopeo.log")"
	done
	BASE_LAYER=$(oci_layers busybox | head -n 1)
	base=$(registry_blob_data_path "$BASE_LAYER")
	for n in "${names[@]}"; do
		# same manifest as built, and every image starts with the one stored base blob
		link=$REG_STORAGE/docker/registry/v2/repositories/$n/_manifests/tags/latest/current/link
		[[ $(cat "$link" 2>/dev/null) == "$(oci_manifest_digest "$n")" ]] ||
			bail_out "push_images: registry's $n:latest is not the built manifest"
		[[ $(oci_layers "$n" | head -n 1) == "$BASE_LAYER" ]] ||
			bail_out "push_images: $n does not start with the base layer"
		hex=${BASE_LAYER#sha256:}
		link=$REG_STORAGE/docker/registry/v2/repositories/$n/_layers/sha256/$hex/link
		[[ $(cat "$link" 2>/dev/null) == "$BASE_LAYER" ]] ||
			bail_out "push_images: $n does not reference the base layer blob"
	done
	exec {fd}<&-
	[[ -f $base && $(find "$REG_STORAGE/docker/registry/v2/blobs" -path "*/${BASE_LAYER#sha256:}/data" | wc -l) -eq 1 ]] ||
		bail_out "push_images: base layer blob not stored exactly once"
	export BASE_LAYER
}

# ---------------------------------------------------------------------------------------------
# Hub proxy (tests/hubproxy.py): Docker Hub's token flow and CDN redirect in front of $REG.
# Sets HUB (127.0.0.1:port, the registry clients talk to), HUB_BLOB (127.0.0.2:port, the CDN
# host blobs are redirected to), HUB_PID, HUB_LOG (one line per request, see hubproxy.py).
# start_hubproxy [HUBPROXY OPTION...]: e.g. --cdn-rate BYTES_PER_SEC for a slow blob host
start_hubproxy() {
	local ready=$TMPD/hubproxy.ready i port blob_port
	[[ -n $REG ]] || bail_out "start_hubproxy: start_registry first"
	HUB_LOG=$TMPD/hubproxy.log
	: >"$HUB_LOG"
	setpriv --pdeathsig TERM -- "$PY" -I "$TOP/tests/hubproxy.py" --registry "$REG" \
		--log "$HUB_LOG" --ready-file "$ready" --lifetime 3600 "$@" >>"$TMPD/hubproxy.err" 2>&1 &
	HUB_PID=$!
	for ((i = 0; i < 100; i++)); do
		[[ -s $ready ]] && break
		kill -0 "$HUB_PID" 2>/dev/null || bail_out "hubproxy died: $(tail -n 5 "$TMPD/hubproxy.err")"
		sleep 0.1
	done
	read -r port blob_port <"$ready" || bail_out "hubproxy did not start"
	HUB=127.0.0.1:$port
	HUB_BLOB=127.0.0.2:$blob_port
	export HUB HUB_BLOB HUB_PID HUB_LOG
}

# hub_leak_count: requests that reached the CDN host carrying an Authorization header
hub_leak_count() { grep -c ' LEAK$' "$HUB_LOG" || true; }

# ---------------------------------------------------------------------------------------------
# Host-wide state (/etc/subuid and /etc/subgid, test users): make check runs tests two at a
# time, so a test that changes it holds one lock for the rest of its life (taken once; the fd
# closes when the test's shell exits). Tests that touch nothing of the host's never wait.
_lc_host_locked=
host_state_lock() {
	[[ -n $_lc_host_locked ]] && return 0
	exec {_lc_host_lock_fd}>>/run/lock/layerctl-tests-host-state.lock
	flock "$_lc_host_lock_fd"
	_lc_host_locked=1
}

# Subordinate ids (--userns=auto, rootless): subid_add NAME START COUNT adds "NAME:START:COUNT"
# to /etc/subuid and /etc/subgid (made when missing) and removes exactly that line on exit
# (the files too when nothing else is left in them).
_lc_subid_del() {
	local line=$1 f
	for f in /etc/subuid /etc/subgid; do
		[[ -f $f ]] || continue
		flock "$f" sh -c 'grep -vxF -- "$1" "$2" >"$2.lctest" || true; cat "$2.lctest" >"$2"; rm -f "$2.lctest"; [ -s "$2" ] || rm -f "$2"' sh "$line" "$f"
	done
}
subid_add() {
	local line="$1:$2:$3" f
	host_state_lock
	at_cleanup _lc_subid_del "$line"
	for f in /etc/subuid /etc/subgid; do
		touch "$f"
		flock "$f" sh -c 'echo "$1" >>"$2"' sh "$line" "$f"
	done
}

# ---------------------------------------------------------------------------------------------
# Unprivileged users (rootless): user_add NAME makes one with a home; on exit its containers
# are removed, its namespace holder (layerctl-ns) killed by pid and the user deleted with its
# home. as_user NAME ARGS... runs layerctl as NAME from its home, with nothing of the test's
# environment but the proxies (its store: ~/.local/share/layerctl).
as_user() {
	local u=$1 a q=''
	shift
	for a in "$@"; do q+=" $(printf '%q' "$a")"; done
	su "$u" -s /bin/sh -c "cd && env -u LAYERCTL_ROOT -u XDG_DATA_HOME HOME=/home/$u timeout -k 5 60 $LAYERCTL$q"
}
_lc_user_del() {
	local u=$1 store=/home/$1/.local/share/layerctl p c
	if [[ -s $store/rootless.pid ]]; then
		for c in $(as_user "$u" ps -aq --no-trunc 2>/dev/null); do as_user "$u" rm -f "$c" >/dev/null 2>&1; done
		p=$(cat "$store/rootless.pid" 2>/dev/null || true)
		[[ -z $p ]] || kill -KILL "$p" 2>/dev/null || true
		sleep 0.3
	fi
	userdel -r "$u" 2>/dev/null || true
}
# what user_add and a rootless layerctl need on the host, or the test is skipped
require_rootless_tools() {
	command -v newuidmap >/dev/null || skip_all "needs newuidmap (Debian's uidmap)"
	command -v useradd >/dev/null || skip_all "needs useradd"
}

user_add() {
	host_state_lock
	at_cleanup _lc_user_del "$1"
	useradd -m -s /bin/sh "$1" || bail_out "useradd $1 failed"
}
