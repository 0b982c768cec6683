#!/bin/sh
# Run every integration test (TAP) against the built binary with prove.
# Each test starts and stops its own registry; see tests/lib.sh.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (namespaces, overlayfs, cgroups)" >&2
	exit 1
fi
exec prove --ext .sh --exec bash --timer ${PROVE_OPTS:-} tests/integration/
