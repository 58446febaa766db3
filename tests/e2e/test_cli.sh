#!/usr/bin/env bash
# The CLI without a daemon, with bad configs and bad usage: exit codes
# 0 / 1 / 2 and messages that say what to do.
. "$(dirname "$0")/lib.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

out=$("$XDPNS" status -s "$TMP/none.sock" 2>&1); rc=$?
check "status without a daemon exits 1" [ $rc = 1 ]
check "and says how to start it" grep -q "xdpns serve -c FILE" <<<"$out"
"$XDPNS" stats --bogus >/dev/null 2>&1; rc=$?
check "unknown option exits 2" [ $rc = 2 ]
"$XDPNS" frobnicate >/dev/null 2>&1; rc=$?
check "unknown command exits 2" [ $rc = 2 ]
"$XDPNS" serve -c /dev/null --log everywhere >/dev/null 2>&1; rc=$?
check "serve --log with a bad value exits 2" [ $rc = 2 ]
"$XDPNS" serve >/dev/null 2>&1; rc=$?
check "serve without -c exits 2" [ $rc = 2 ]
for c in serve status stats reload; do
	"$XDPNS" $c --help >/dev/null 2>&1; rc=$?
	check "$c --help exits 0" [ $rc = 0 ]
done
out=$("$XDPNS" version); check "version" grep -q '^xdpns ' <<<"$out"

printf 'server:\n  listen: [198.18.0.1@99999]\nzones:\n  - name: example.com\n    file: /x\n' >"$TMP/bad.yaml"
out=$("$XDPNS" serve -c "$TMP/bad.yaml" 2>&1); rc=$?
check "bad config exits 1" [ $rc = 1 ]
check "bad config names file:line and key" grep -q "bad.yaml:2: server.listen\[0\]" <<<"$out"

printf 'server:\n  control: %s/c.sock\nzones:\n  - name: example.com\n    file: %s/z\n' "$TMP" "$TMP" >"$TMP/z.yaml"
printf '$ORIGIN example.com.\n@ 3600 SOA ns hm 1 2 3 4 5\nwww 3600 A 1.2.3.4.5\n' >"$TMP/z"
out=$("$XDPNS" serve -c "$TMP/z.yaml" 2>&1); rc=$?
check "bad zone file at startup exits 1" [ $rc = 1 ]
check "bad zone file names file:line" grep -q "$TMP/z:3:" <<<"$out"
check "no control socket left behind" [ ! -e "$TMP/c.sock" ]
echo "check-config"
printf 'server:\n  control: %s/c.sock\nzones:\n  - name: example.com\n    file: %s\n' "$TMP" "$ROOT/examples/example.com.zone" >"$TMP/ok.yaml"
out=$("$XDPNS" check-config -c "$TMP/ok.yaml" 2>&1); rc=$?
check "check-config of a good config exits 0" [ $rc = 0 ]
check "and reports the zone's serial" grep -q "example.com.: serial 2026112301" <<<"$out"
out=$("$XDPNS" check-config -c "$TMP/z.yaml" 2>&1); rc=$?
check "check-config of a bad zone file exits 1" [ $rc = 1 ]
check "and names file:line" grep -q "$TMP/z:3:" <<<"$out"
printf 'server:\n  interfaces: [nosuch0]\nzones:\n  - name: example.com\n    file: %s\n' "$ROOT/examples/example.com.zone" >"$TMP/if.yaml"
out=$("$XDPNS" check-config -c "$TMP/if.yaml" 2>&1); rc=$?
check "check-config with a missing interface exits 1" [ $rc = 1 ]
check "and names the interface" grep -q "no interface nosuch0" <<<"$out"
out=$("$XDPNS" check-config -c "$TMP/bad.yaml" 2>&1); rc=$?
check "check-config of a bad config exits 1 with file:line" [ $rc = 1 ]
"$XDPNS" check-config >/dev/null 2>&1; rc=$?
check "check-config without -c exits 2" [ $rc = 2 ]
e2e_summary
