#!/usr/bin/env bash
# Prometheus metrics: a real scrape over HTTP from the client namespace,
# checked by promtool, with counters that follow the traffic.
. "$(dirname "$0")/lib.sh"
e2e_require_root
command -v promtool >/dev/null || { echo "FAIL: promtool missing (scripts/deps.sh installs prometheus)"; exit 1; }
netns_setup met || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
SOCK=$TMP/control.sock
cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  metrics: $SRV4:9353
zones:
  - name: example.com
    file: $ROOT/examples/example.com.zone
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
cli() { ip netns exec "$NS_CLI" "$@"; }
scrape() { cli $PY -c "
import urllib.request, sys
r = urllib.request.urlopen('http://$SRV4:9353$1', timeout=3)
sys.stdout.write(r.read().decode())" 2>&1; }
value() { grep -E "^$1 " "$2" | awk '{print $2}'; }

for i in 1 2 3; do cli kdig @$SRV4 www.example.com A +short >/dev/null; done
cli kdig @$SRV4 nope.example.com A +short >/dev/null  # NXDOMAIN made in XDP
cli kdig @$SRV4 www.example.com MX +short >/dev/null  # NODATA: the slow path
scrape /metrics >"$TMP/m1"
check "GET /metrics answers" grep -q '^# TYPE xdpns_queries_total counter' "$TMP/m1"
check "promtool check metrics accepts it" bash -c "promtool check metrics <'$TMP/m1' >'$TMP/lint' 2>&1"
[ -s "$TMP/lint" ] && sed 's/^/    promtool: /' "$TMP/lint"
check "no lint remarks either" [ ! -s "$TMP/lint" ]
check "4 queries answered by XDP" [ "$(value 'xdpns_queries_total\{path="xdp",proto="udp"\}' "$TMP/m1")" = 4 ]
check "1 by the slow path" [ "$(value 'xdpns_queries_total\{path="slow",proto="udp"\}' "$TMP/m1")" = 1 ]
check "NXDOMAIN counted on the XDP path" [ "$(value 'xdpns_responses_total\{path="xdp",rcode="NXDOMAIN"\}' "$TMP/m1")" = 1 ]
check "and as made in XDP" [ "$(value 'xdpns_xdp_nxdomain_synthesized_total' "$TMP/m1")" = 1 ]
check "NODATA counted on the slow path" [ "$(value 'xdpns_responses_total\{path="slow",rcode="NOERROR"\}' "$TMP/m1")" = 1 ]
check "the zone's serial" [ "$(value 'xdpns_zone_serial\{zone="example.com."\}' "$TMP/m1")" = 2026112301 ]
check "a miss counted as a pass reason" [ "$(value 'xdpns_xdp_passed_total\{reason="miss"\}' "$TMP/m1")" -ge 1 ]
check "per zone: 4 answered by XDP" [ "$(value 'xdpns_zone_queries_total\{zone="example.com.",path="xdp"\}' "$TMP/m1")" = 4 ]
check "per zone: 1 by the slow path" [ "$(value 'xdpns_zone_queries_total\{zone="example.com.",path="slow"\}' "$TMP/m1")" = 1 ]
check "per zone: the slow path's NODATA" [ "$(value 'xdpns_zone_responses_total\{zone="example.com.",path="slow",rcode="NOERROR"\}' "$TMP/m1")" = 1 ]
cli kdig @$SRV4 www.example.com AAAA +short >/dev/null
cli kdig @$SRV4 www.example.org A +short >/dev/null
scrape /metrics >"$TMP/m2"
check "the counter follows the traffic" [ "$(value 'xdpns_queries_total\{path="xdp",proto="udp"\}' "$TMP/m2")" = 5 ]
check "and per zone" [ "$(value 'xdpns_zone_queries_total\{zone="example.com.",path="xdp"\}' "$TMP/m2")" = 5 ]
check "a query outside our zones counts in none" [ "$(value 'xdpns_zone_queries_total\{zone="example.com.",path="slow"\}' "$TMP/m2")" = 1 ]
check "promtool accepts the per-zone series too" bash -c "promtool check metrics <'$TMP/m2' >'$TMP/lint2' 2>&1 && [ ! -s '$TMP/lint2' ]"
[ -s "$TMP/lint2" ] && sed 's/^/    promtool: /' "$TMP/lint2"
out=$(scrape /nothing)
check "another path is a 404" grep -q "404" <<<"$out"
out=$(ip netns exec "$NS_SRV" "$XDPNS" status -s "$SOCK" 2>&1)
check "the daemon still answers its control socket" grep -q example.com <<<"$out"
e2e_summary
