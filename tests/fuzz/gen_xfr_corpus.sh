#!/usr/bin/env bash
# Regenerate the fuzz_xfr seed corpus from real captures: knotd serves
# example.com in one namespace (serial ...01 as in examples/, the zone
# fuzz_xfr holds; then two changes, the first adding 800 TXT records, so
# its journal holds IXFR diffs and both AXFR and IXFR take several
# messages); tests/fuzz/xfr_capture.py in the other namespace captures the
# SOA, AXFR and IXFR replies byte for byte and writes them, in fuzz_xfr's
# input format, to tests/fuzz/corpus/xfr/knot-*. Needs root (namespaces).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
PEER_PASS_OBJ=$ROOT/build/peer_pass.bpf.o
. scripts/netns.sh
netns_setup fzx || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
KNOT_PID=
trap '[ -n "$KNOT_PID" ] && kill $KNOT_PID 2>/dev/null; wait 2>/dev/null; netns_cleanup; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/db" "$TMP/zones"
cat >"$TMP/knot.conf" <<EOC
server:
    rundir: "$TMP"
    listen: [ $CLI4@5399 ]
database:
    storage: "$TMP/db"
template:
  - id: default
    storage: "$TMP/zones"
    file: "%s.zone"
    semantic-checks: off
    zonefile-load: difference
    journal-content: changes
acl:
  - id: all
    address: 198.18.0.0/15
    action: transfer
zone:
  - domain: example.com.
    acl: all
EOC
Z=$TMP/zones/example.com.zone
cp examples/example.com.zone "$Z"
knotc_() { ip netns exec "$NS_CLI" knotc -c "$TMP/knot.conf" "$@" >/dev/null; }
serial() { ip netns exec "$NS_SRV" kdig @$CLI4 -p 5399 +short example.com SOA | awk '{print $3}'; }
wait_serial() {
	local i
	for i in $(seq 1 50); do [ "$(serial)" = "$1" ] && return 0; sleep 0.1; done
	echo "FAIL: knotd does not serve serial $1"; exit 1
}
ip netns exec "$NS_CLI" knotd -c "$TMP/knot.conf" >"$TMP/knot.log" 2>&1 &
KNOT_PID=$!
wait_serial 2026112301
sed -i 's/2026112301/2026112302/; s/^www     IN A    198.18.0.80/www     IN A    198.18.0.81/' "$Z"
echo 'new IN A 198.18.0.111' >>"$Z"
for i in $(seq 1 800); do printf 't%d IN TXT "%080d"\n' "$i" "$i"; done >>"$Z"
knotc_ zone-reload example.com.
wait_serial 2026112302
sed -i 's/2026112302/2026112303/; /^t7 IN TXT/d; /^mail    IN A/d' "$Z"
echo 'mail IN A 198.18.0.26' >>"$Z"
knotc_ zone-reload example.com.
wait_serial 2026112303
rm -f tests/fuzz/corpus/xfr/knot-*
ip netns exec "$NS_SRV" /usr/bin/python3 tests/fuzz/xfr_capture.py $CLI4 5399 tests/fuzz/corpus/xfr
