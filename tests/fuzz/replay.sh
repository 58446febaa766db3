#!/usr/bin/env bash
# Run each fuzz target once over every file of its corpus
# (tests/fuzz/corpus/<name>/): a crash, a sanitizer report or a failed
# check fails the run. Prints a summary line.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
for t in "$@"; do
	name=$(basename "$t")
	dir=tests/fuzz/corpus/${name#fuzz_}
	files=("$dir"/*)
	if [ ! -e "${files[0]}" ]; then
		echo "FAIL: $name has no corpus in $dir"
		fail=$((fail + 1))
		continue
	fi
	if XDPNS_FUZZ_ZONE=examples/example.com.zone "$t" -runs=0 "${files[@]}" >"/tmp/xdpns-replay-$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "  ok   $name: ${#files[@]} inputs"
	else
		fail=$((fail + 1))
		echo "  FAIL $name:"
		tail -20 "/tmp/xdpns-replay-$name.log"
	fi
	rm -f "/tmp/xdpns-replay-$name.log"
done
echo "fuzz-replay: $pass passed, $fail failed"
[ "$fail" = 0 ]
