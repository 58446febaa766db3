#!/usr/bin/env bash
# Every test layer, in order: unit (cmocka), BPF (prog_test_run on the real
# object), end to end (network namespaces). Needs root for BPF and netns:
# without it the run fails, it never skips. Prints one summary line.
set -u
cd "$(dirname "$0")/.."
suites_pass=0 suites_fail=0
failed=()

run() {
	local name=$1; shift
	echo "=== $name"
	if "$@"; then
		suites_pass=$((suites_pass + 1))
	else
		suites_fail=$((suites_fail + 1))
		failed+=("$name")
	fi
}

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: make test needs root (BPF programs, network namespaces)" >&2
	echo "tests: 0 passed, 1 failed"
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true

if [ "${1:-}" != --e2e ]; then # --e2e: the end-to-end suites alone
	for t in build/tests/test_*; do
		run "unit $(basename "$t")" "$t"
	done
	run "bpf" build/tests/bpf_test
	run "fuzz corpora" tests/fuzz/replay.sh build/fuzz/fuzz_*
fi
# End-to-end suites run the daemon named by XDPNS (make test: the ASan +
# UBSan build, build-asan/xdpns). Each suite gets its own directory for
# sanitizer reports, checked once the suite and its daemons are gone: a
# report fails the suite even when every check in it passed.
e2e_suite() {
	local t=$1 rc=0 f
	XDPNS_SAN_DIR=$(mktemp -d /tmp/xdpns-san.XXXXXX)
	chmod 1777 "$XDPNS_SAN_DIR"
	export XDPNS_SAN_DIR
	bash "$t" || rc=1
	for f in "$XDPNS_SAN_DIR"/*; do
		[ -e "$f" ] || continue
		echo "  FAIL sanitizer report after the suite: $f"
		sed 's/^/       /' "$f" | head -60
		rc=1
	done
	rm -rf "$XDPNS_SAN_DIR"
	unset XDPNS_SAN_DIR
	return $rc
}
echo "e2e daemon: ${XDPNS:-build/xdpns}"
for t in tests/e2e/test_*.sh; do
	run "e2e $(basename "$t")" e2e_suite "$t"
done

[ ${#failed[@]} -gt 0 ] && printf 'failed suite: %s\n' "${failed[@]}"
echo "tests: $suites_pass passed, $suites_fail failed"
[ "$suites_fail" = 0 ]
