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

# The daemon may be the sanitizer build (make asan; tests/run-all.sh runs
# every suite with build-asan/xdpns). Any ASan/UBSan/LSan report goes to a
# file in XDPNS_SAN_DIR and fails the suite: e2e_summary checks it, and
# tests/run-all.sh checks it again after the suite (its daemons are gone
# by then, so leaks reported at exit count too). The directory is 1777: a
# daemon that dropped privileges (server.user) still writes its report.
# Options for a plain build are ignored by it.
# A suite run by hand makes its own directory; e2e_summary then stops the
# daemon first (so its exit is checked too) and removes the directory when
# it holds no report.
XDPNS_SAN_OWN=0
if [ -z "${XDPNS_SAN_DIR:-}" ]; then
	XDPNS_SAN_DIR=$(mktemp -d /tmp/xdpns-san.XXXXXX)
	chmod 1777 "$XDPNS_SAN_DIR"
	XDPNS_SAN_OWN=1
fi
export XDPNS_SAN_DIR
export ASAN_OPTIONS="log_path=$XDPNS_SAN_DIR/report:halt_on_error=1:abort_on_error=1:exitcode=86:detect_leaks=1:disable_coredump=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_path=$XDPNS_SAN_DIR/report:halt_on_error=1:abort_on_error=1:print_stacktrace=1:disable_coredump=1"
export LSAN_OPTIONS="log_path=$XDPNS_SAN_DIR/report"

# san_reports: print every sanitizer report so far; false when there is one.
san_reports() {
	local f found=0
	for f in "$XDPNS_SAN_DIR"/*; do
		[ -e "$f" ] || continue
		found=1
		echo "  sanitizer report $f:"
		sed 's/^/       /' "$f" | head -60
	done
	[ $found = 0 ]
}

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
	[ $XDPNS_SAN_OWN = 1 ] && [ -n "${XDPNS_PID:-}" ] && netns_stop_xdpns
	if san_reports; then
		ok "no sanitizer report (ASan/UBSan/LSan) so far"
		[ $XDPNS_SAN_OWN = 1 ] && rmdir "$XDPNS_SAN_DIR" 2>/dev/null
	else
		fail "the sanitizer build reported memory errors or undefined behaviour"
	fi
	echo "$(basename "$0"): $E2E_PASS passed, $E2E_FAIL failed"
	[ "$E2E_FAIL" = 0 ]
}

e2e_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL: end-to-end tests need root (network namespaces, XDP)" >&2
		exit 1
	fi
}
