#!/usr/bin/env bash
# Helpers for end-to-end tests: checks that count, and the summary.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPNS=${XDPNS:-$ROOT/build/xdpns}
PEER_PASS_OBJ=${PEER_PASS_OBJ:-$ROOT/build/peer_pass.bpf.o}
PY=/usr/bin/python3
. "$ROOT/scripts/netns.sh"
E2E_PASS=0
E2E_FAIL=0

ok() { E2E_PASS=$((E2E_PASS + 1)); echo "  ok   $*"; }
fail() { E2E_FAIL=$((E2E_FAIL + 1)); echo "  FAIL $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

# The XDP counter NAME (answered, received, ...) from stats --json.
xdp_counter() {
	ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" |
		$PY -c "import json,sys; print(json.load(sys.stdin)['xdp']['$1'])"
}

e2e_summary() {
	echo "$(basename "$0"): $E2E_PASS passed, $E2E_FAIL failed"
	[ "$E2E_FAIL" = 0 ]
}

e2e_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL: end-to-end tests need root (network namespaces, XDP)" >&2
		exit 1
	fi
}
