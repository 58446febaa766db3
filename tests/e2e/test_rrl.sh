#!/usr/bin/env bash
# Response rate limiting and pass limits over a veth, from a client that
# fires bursts of queries: with rrl off nothing is limited; with it on,
# XDP answers up to the rate, then slips (TC=1, no records) and drops in
# the configured proportion, and the slow path does the same to its UDP
# replies; with server.pass-limit-prefix a flood of misses is dropped in
# XDP while TCP and queries from other prefixes still get answers. What
# the client sees must equal what the counters (stats --json, /metrics) say.
. "$(dirname "$0")/lib.sh"
e2e_require_root
netns_setup rrl || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
SOCK=$TMP/control.sock
cp "$ROOT/examples/example.com.zone" "$TMP/zone"
cli() { ip netns exec "$NS_CLI" "$@"; }
# the client on one CPU: a veth runs XDP on the sender's CPU, and the
# buckets are per CPU (a source that moves to another CPU finds that CPU's
# share of its rate unspent)
blast() { cli taskset -c 0 $PY "$ROOT/tests/e2e/rrl_blast.py" "$@"; }
stats() { ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK"; }
# j JSON EXPR: evaluate a python expression over the parsed JSON d
# in_range V LO HI
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
j() { $PY -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }

config() { netns_xdpns_config "$TMP/xdpns.yaml" "$TMP/zone" "$1"; }

echo "rrl off: a burst of 300 gets 300 full answers"
config ""
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
out=$(blast $SRV4 300 same www.example.com)
check "300 full answers, no TC, none lost ($out)" \
	[ "$(j "$out" '(d["full"], d["tc"], d["none"])')" = "(300, 0, 0)" ]
out=$(blast $SRV4 100 nxslow off)
check "100 NXDOMAIN from the slow path, none limited ($out)" \
	[ "$(j "$out" '(d["full"], d["tc"], d["none"])')" = "(100, 0, 0)" ]
s=$(stats)
check "no RRL counter moved" [ "$(j "$s" 'sum(v for k in d["xdp"]["rrl"].values() for v in k.values()) + sum(v for k in d["slowpath"]["rrl"].values() for v in k.values())')" = 0 ]
netns_stop_xdpns

echo "rrl on: rate 10, slip 2"
config "  metrics: $SRV4:9353
rrl:
  rate: 10
  slip: 2
  window: 5
  exempt: [\"fd00:5353::/64\"]"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
check "the log says rrl is on (logfmt fields)" grep -q "msg=\"rrl on\" rate=10 " "$TMP/log"
out=$(blast $SRV4 300 same www.example.com)
s=$(stats)
full=$(j "$out" 'd["full"]'); tc=$(j "$out" 'd["tc"]'); none=$(j "$out" 'd["none"]')
pass=$(j "$s" 'd["xdp"]["rrl"]["answer"]["pass"]')
slip=$(j "$s" 'd["xdp"]["rrl"]["answer"]["slip"]')
drop=$(j "$s" 'd["xdp"]["rrl"]["answer"]["drop"]')
echo "    client: full $full, TC $tc, none $none; XDP counters: pass $pass, slip $slip, drop $drop"
check "XDP counted every response: pass + slip + drop = 300" [ $((pass + slip + drop)) = 300 ]
check "answers up to the rate (5..14: the rate split over CPUs, refill during the burst)" \
	in_range "$pass" 5 14
check "slip 2: slips and drops each half of the rest (differ by at most one per CPU)" \
	in_range $((slip - drop)) -2 2
check "the client saw exactly that: full = pass, TC = slip, nothing = drop" \
	[ "$full $tc $none" = "$pass $slip $drop" ]
out=$(blast $SRV4 3 same www.example.com)
check "right after, the source is still limited (its debt) ($out)" [ "$(j "$out" 'd["full"]')" = 0 ]
t_limited=$(date +%s.%N)
out=$(blast $SRV6 100 same www.example.com 28)
check "an exempt prefix is never limited ($out)" \
	[ "$(j "$out" '(d["full"], d["tc"], d["none"])')" = "(100, 0, 0)" ]
out=$(cli kdig @$SRV4 www.example.com A +tcp +short)
check "TCP is never limited: the answer over TCP at once" [ "$out" = "198.18.0.80" ]
out=$(blast $SRV4 100 nxslow slow)
s=$(stats)
sp=$(j "$s" 'd["slowpath"]["rrl"]["nxdomain"]["pass"]')
ss=$(j "$s" 'd["slowpath"]["rrl"]["nxdomain"]["slip"]')
sd=$(j "$s" 'd["slowpath"]["rrl"]["nxdomain"]["drop"]')
echo "    client: $out; slow path: pass $sp, slip $ss, drop $sd"
check "the slow path limits its NXDOMAINs: 10..13 answered" in_range "$sp" 10 13
check "then slips and drops alternate" in_range $((ss - sd)) 0 1
check "the client saw exactly that" \
	[ "$(j "$out" '(d["full"], d["tc"], d["none"])')" = "($sp, $ss, $sd)" ]
check "slow-path slips are NXDOMAIN with TC" [ "$(j "$out" 'd["rcodes"].get("3", 0)')" = $((sp + ss)) ]
out=$(blast $SRV4 100 nx xdpnx)
s=$(stats)
np=$(j "$s" 'd["xdp"]["rrl"]["nxdomain"]["pass"]')
ns=$(j "$s" 'd["xdp"]["rrl"]["nxdomain"]["slip"]')
nd=$(j "$s" 'd["xdp"]["rrl"]["nxdomain"]["drop"]')
echo "    client: $out; XDP nxdomain: pass $np, slip $ns, drop $nd"
check "XDP's own NXDOMAINs are limited too (their own kind): pass + slip + drop = 100" \
	[ $((np + ns + nd)) = 100 ]
check "  up to the rate, then slips and drops" bash -c "[ $np -ge 5 ] && [ $np -le 14 ] && [ $((ns - nd)) -ge -2 ] && [ $((ns - nd)) -le 2 ]"
check "  the client saw exactly that" \
	[ "$(j "$out" '(d["full"], d["tc"], d["none"])')" = "($np, $ns, $nd)" ]
txt=$(ip netns exec "$NS_SRV" "$XDPNS" stats -s "$SOCK")
slip=$(j "$(stats)" 'd["xdp"]["rrl"]["answer"]["slip"]')
check "xdpns stats shows the rrl counters (answer slip $slip)" \
	grep -qE "rrl answer slip +$slip\$" <<<"$txt"
metric() {
	cli $PY -c "
import re, sys, urllib.request
text = urllib.request.urlopen('http://$SRV4:9353/metrics', timeout=3).read().decode()
m = re.search(r'^' + re.escape(sys.argv[1]) + r' (\d+)$', text, re.M)
print(m.group(1) if m else 'missing')" "$1"
}
s=$(stats)
for a in pass slip drop; do
	want=$(j "$s" "d['xdp']['rrl']['answer']['$a']")
	got=$(metric "xdpns_rrl_responses_total{path=\"xdp\",kind=\"answer\",action=\"$a\"}")
	check "/metrics has the XDP answer $a count ($got = $want)" [ "$got" = "$want" ]
done
want=$(j "$s" "d['slowpath']['rrl']['nxdomain']['slip']")
got=$(metric 'xdpns_rrl_responses_total{path="slow",kind="nxdomain",action="slip"}')
check "/metrics has the slow path's nxdomain slips ($got = $want)" [ "$got" = "$want" ]
# past the window (5 s) since it was last limited: answered again
sleep "$($PY -c "import sys; print(max(0, 5.3 - ($(date +%s.%N) - $t_limited)))")"
out=$(blast $SRV4 3 same www.example.com)
check "after the window the source gets full answers again ($out)" [ "$(j "$out" 'd["full"]')" = 3 ]
netns_stop_xdpns

echo "pass limit: 20 queries/s per prefix"
config "  pass-limit-prefix: 20
  metrics: $SRV4:9353"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
out=$(blast $SRV4 300 nxslow flood)
s=$(stats)
lim=$(j "$s" 'd["xdp"]["pass_limited"]["prefix"]')
miss=$(j "$s" 'd["xdp"]["passed"]["edns"]') # queries with a cookie pass as edns
echo "    client: $out; XDP: passed (edns option) $miss, pass-limited $lim"
check "most of the flood is dropped in XDP and counted" [ "$lim" -ge 270 ]
check "what was passed up (10..30) was answered" \
	[ "$(j "$out" 'd["full"] if 10 <= d["full"] <= 30 else -1')" = "$miss" ]
check "passed + limited = the flood" [ $((lim + miss)) = 300 ]
out=$(cli kdig @$SRV4 www.example.com A +short)
check "hits are still answered from XDP" [ "$out" = "198.18.0.80" ]
out=$(cli kdig @$SRV4 other.example.com A +tcp)
check "TCP reaches the slow path during the limit" grep -q "status: NXDOMAIN" <<<"$out"
out=$(cli kdig @$SRV6 other6.example.com A)
check "another prefix (IPv6) is not limited" grep -q "status: NXDOMAIN" <<<"$out"
got=$(metric 'xdpns_xdp_pass_limited_total{scope="prefix"}')
check "/metrics has the pass-limited count ($got = $lim)" [ "$got" = "$lim" ]
check "the daemon is alive" kill -0 "$XDPNS_PID"
netns_stop_xdpns

echo "rrl turned on and off by xdpns reload"
config ""
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
out=$(blast $SRV4 100 same www.example.com)
check "off: 100 full answers ($out)" [ "$(j "$out" 'd["full"]')" = 100 ]
config "rrl:
  rate: 10
  slip: 2"
out=$(ip netns exec "$NS_SRV" "$XDPNS" reload -s "$SOCK")
check "reload reports the new limits" grep -q "rate limits changed: rrl on" <<<"$out"
out=$(blast $SRV4 300 same www.example.com)
check "on after the reload: limited, slips and drops ($out)" \
	[ "$(j "$out" '1 if 5 <= d["full"] <= 14 and d["tc"] > 100 and d["none"] > 100 else 0')" = 1 ]
config ""
out=$(ip netns exec "$NS_SRV" "$XDPNS" reload -s "$SOCK")
check "reload reports rrl off" grep -q "rate limits changed: rrl off" <<<"$out"
out=$(blast $SRV4 100 same www.example.com)
check "off again: 100 full answers ($out)" [ "$(j "$out" 'd["full"]')" = 100 ]
out=$(ip netns exec "$NS_SRV" "$XDPNS" reload -s "$SOCK")
check "a reload that changes nothing says nothing of limits" bash -c "! grep -q 'rate limits' <<<'$out'"
netns_stop_xdpns
e2e_summary
