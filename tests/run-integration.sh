#!/bin/sh
# Run integration tests (TAP) against the built binary with prove: every one, or the files
# named as arguments. TEST_JOBS=N runs N at a time (tests that change host-wide state, the
# subordinate-id files and test users, take tests/lib.sh's host_state_lock and run one at a
# time). Each test starts and stops its own registry; see tests/lib.sh.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (namespaces, overlayfs, cgroups)" >&2
	exit 1
fi
if [ $# -eq 0 ]; then
	set -- tests/integration/
fi
exec prove --ext .sh --exec bash --timer -j "${TEST_JOBS:-1}" ${PROVE_OPTS:-} "$@"
