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
# a dozen broken configs: each message names file:line and the key
bad() { # NAME EXPECTED-REGEX PRINTF-ARGS...: the config text
	local name=$1 re=$2
	shift 2
	# shellcheck disable=SC2059
	printf "$@" >"$TMP/$name.yaml"
	set -- "$name" "$re"
	out=$("$XDPNS" check-config -c "$TMP/$1.yaml" 2>&1); rc=$?
	check "check-config $1: exit 1, '$2'" bash -c '[ $1 = 1 ] && grep -qE -- "$2" <<<"$3"' _ $rc "$2" "$out"
}
Z="$ROOT/examples/example.com.zone"
bad port "port.yaml:2: server.listen\[0\]" 'server:\n  listen: [198.18.0.1@0]\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad unknown "unknown.yaml:2: server.nosuch: unknown key" 'server:\n  nosuch: 1\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad zname "zname.yaml:2: zones\[0\].name" 'zones:\n  - name: a..b\n    file: %s\n' "$Z"
bad nofile "nofile.yaml:2: zones\[0\]" 'zones:\n  - name: a.\n'
bad dup "dup.yaml:4: zones\[1\].name" 'zones:\n  - name: a.\n    file: %s\n  - name: A.\n    file: %s\n' "$Z" "$Z"
bad iface "iface.yaml:2: server.interfaces\[0\]: no interface nosuch1" 'server:\n  interfaces: [nosuch1]\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad mode "mode.yaml:2: server.xdp-mode" 'server:\n  xdp-mode: turbo\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad metrics "metrics.yaml:2: server.metrics" 'server:\n  metrics: nowhere\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad loglevel "loglevel.yaml:2: server.log-level" 'server:\n  log-level: loud\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad alg "alg.yaml:3: keys\[0\].algorithm" 'keys:\n  - name: k\n    algorithm: hmac-md5\n    secret-file: /nonexistent\nzones:\n  - name: a.\n    file: %s\n' "$Z"
bad secret "secret.yaml:4: keys\[0\].secret-file" 'keys:\n  - name: k\n    algorithm: hmac-sha256\n    secret-file: %s/nosecret\nzones:\n  - name: a.\n    file: %s\n' "$TMP" "$Z"
bad remote "remote.yaml:3: zones\[0\].primaries" 'zones:\n  - name: a.\n    primaries: [nobody]\n'
bad yaml "yaml.yaml:[0-9]+: .*YAML" 'server: [1, 2\n'
"$XDPNS" check-config >/dev/null 2>&1; rc=$?
check "check-config without -c exits 2" [ $rc = 2 ]
e2e_summary
