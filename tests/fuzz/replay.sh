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
# fuzz_xfr's seeds are real transfers (Knot's replies, TSIG from fuzz_xfr
# and from dnspython): each must end as tests/fuzz/xfr_expect.txt says
for t in "$@"; do
	[ "$(basename "$t")" = fuzz_xfr ] || continue
	bad=0 n=0
	while read -r file want; do
		case $file in ''|'#'*) continue ;; esac
		n=$((n + 1))
		got=$(XDPNS_FUZZ_VERBOSE=1 XDPNS_FUZZ_ZONE=examples/example.com.zone \
			"$t" -runs=0 "tests/fuzz/corpus/xfr/$file" 2>&1 | grep -m1 '^flags ')
		case $got in
		"$want"*) ;;
		*) echo "  FAIL fuzz_xfr seed $file: want '$want', got '$got'"; bad=1 ;;
		esac
	done <tests/fuzz/xfr_expect.txt
	if [ $bad = 0 ] && [ $n -gt 0 ]; then
		pass=$((pass + 1))
		echo "  ok   fuzz_xfr: $n seed transfers end as expected"
	else
		fail=$((fail + 1))
	fi
done
echo "fuzz-replay: $pass passed, $fail failed"
[ "$fail" = 0 ]
