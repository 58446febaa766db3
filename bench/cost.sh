#!/usr/bin/env bash
# The XDP program's cost per packet without a network: bench/xdpcost runs
# the real object (maps filled by the real map sync) and the reflector on
# crafted frames with BPF_PROG_TEST_RUN, interleaved, and prints the
# kernel's own time per run. Extra programs to compare on the same frames
# and maps: VARIANTS="name=obj ..." (objects built from bpf/xdpns.bpf.c
# with other flags; names starting with "xdpns" must answer byte for byte
# as the real program does).
#
# Usage (root, from the repository root): make bench-cost, or
#   SAMPLES=20000 ROUNDS=20 bench/cost.sh
# ROUNDS=SAMPLES interleaves every run (cold caches, as under real load);
# fewer rounds run each program many times in a row (warm caches).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SAMPLES=${SAMPLES:-20000}
ROUNDS=${ROUNDS:-20}
[ "$(id -u)" = 0 ] || { echo "cost: needs root (BPF)" >&2; exit 1; }
for t in ldns-keygen ldns-signzone; do
	command -v $t >/dev/null || { echo "cost: $t is not installed; run 'make deps'" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/xdpns-cost.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# the same signed copy of the example zone as bench/run.sh makes
{ printf '$ORIGIN signed.test.\n'; grep -v '^\$ORIGIN' examples/example.com.zone; } >"$TMP/signed.in"
ksk=$(cd "$TMP" && ldns-keygen -a ECDSAP256SHA256 -k signed.test.)
zsk=$(cd "$TMP" && ldns-keygen -a ECDSAP256SHA256 signed.test.)
ldns-signzone -i 20240101000000 -e 20371231000000 -o signed.test. \
	-f "$TMP/signed.zone" "$TMP/signed.in" "$TMP/$ksk" "$TMP/$zsk"
args=()
for v in ${VARIANTS:-}; do args+=(-p "$v"); done
build/xdpcost -n "$SAMPLES" -r "$ROUNDS" -z example.com=examples/example.com.zone \
	-z signed.test="$TMP/signed.zone" "${args[@]}" -p reflector=build/reflector.bpf.o ${JSON:+-j "$JSON"}
