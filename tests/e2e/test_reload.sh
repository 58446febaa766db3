#!/usr/bin/env bash
# xdpns reload re-reads the configuration and the zone files while serving:
# a zone added is answered from XDP, a zone removed is REFUSED and gone from
# the maps, a nested zone takes its names over and gives them back, a TSIG
# secret fixed in its file and a new primary take effect (knotd primaries),
# an unchanged zone is neither recompiled nor transferred again, a zone
# removed mid-transfer has its transfer abandoned at once, a broken
# configuration changes nothing (exit 1, file:line and key), listen
# addresses change live, other server-only settings are reported as
# needing a restart while the rest applies, and SIGHUP does the same as
# the command. The events are logfmt lines, checked field by field.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
e2e_require_root
for tool in knotd knotc kdig; do
	command -v $tool >/dev/null || { echo "FAIL: $tool is missing; run scripts/deps.sh"; exit 1; }
done
TMP=$(mktemp -d)
netns_setup reload || { echo "FAIL: cannot create namespaces"; xfr_cleanup; exit 1; }
trap xfr_cleanup EXIT
SOCK=$TMP/control.sock
LOGFMT="$PY $ROOT/tests/e2e/logfmt.py"

SA=$(xfr_secret "$TMP/ka.secret")
SB=$(xfr_secret "$TMP/kb.secret")
head -c 32 /dev/urandom | base64 >"$TMP/xdpns-ka.secret" # wrong on purpose

xfr_knot_conf a 5301 key-a hmac-sha256 "$SA"
xfr_knot_conf b 5302 key-b hmac-sha256 "$SB"
xfr_zone "$TMP/a/zones/$XFR_ZONE.zone" 1 80
xfr_zone "$TMP/b/zones/$XFR_ZONE.zone" 5 90
xfr_start_primary a knotd -c "$TMP/a.conf"
xfr_start_primary b knotd -c "$TMP/b.conf"
check "knotd a serves serial 1" wait_for 10 eval '[ "$(qp 5301 $XFR_ZONE SOA | awk "{print \$3}")" = 1 ]'
check "knotd b serves serial 5" wait_for 10 eval '[ "$(qp 5302 $XFR_ZONE SOA | awk "{print \$3}")" = 5 ]'
# a scripted primary whose transfer of slow.test never ends (a record every
# 0.3 s): a zone removed while it transfers
SS=$(xfr_secret "$TMP/ks.secret")
echo "endless-slow 3" >"$TMP/scenario"
xfr_start_primary slowp $PY "$ROOT/tests/e2e/bad_primary.py" serve --addr $CLI4 --port 5303 \
	--control "$TMP/scenario" --zone slow.test --key-name key-s --key-alg hmac-sha256 --secret-file "$TMP/ks.secret"
check "the slow primary answers" wait_for 10 eval '[ "$(qp 5303 -y hmac-sha256:key-s:$SS slow.test SOA | head -1 | awk "{print \$3}")" = 3 ]'

cp "$ROOT/examples/example.com.zone" "$TMP/example.com.zone"
cat >"$TMP/added.zone" <<'EOZ'
$ORIGIN added.test.
$TTL 300
@	IN SOA	ns1 hostmaster 7 3600 600 86400 60
@	IN NS	ns1
ns1	IN A	198.18.0.53
www	IN A	198.18.0.77
EOZ
cat >"$TMP/child.zone" <<'EOZ'
$ORIGIN child.example.com.
$TTL 300
@	IN SOA	ns1 hostmaster 3 3600 600 86400 60
@	IN NS	ns1
ns1	IN A	198.18.0.53
www	IN A	198.18.0.99
EOZ

# conf IDENTITY LISTEN PRIMARY EXTRA-ZONES: the configuration file
conf() {
	cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: ${IFACES:-[$IF_SRV]}
  listen: [$2]${METRICS:-}
  control: $SOCK
  identity: $1
  storage: $TMP/storage
keys:
  - name: key-a
    algorithm: hmac-sha256
    secret-file: $TMP/xdpns-ka.secret
  - name: key-b
    algorithm: hmac-sha256
    secret-file: $TMP/kb.secret
  - name: key-s
    algorithm: hmac-sha256
    secret-file: $TMP/ks.secret
remotes:
  - id: slowp
    address: $CLI4@5303
    key: key-s
  - id: pa
    address: $CLI4@5301
    key: key-a
  - id: pb
    address: $CLI4@5302
    key: key-b
zones:
  - name: example.com
    file: $TMP/example.com.zone
  - name: $XFR_ZONE
    primaries: [$3]
$4
EOC
}
ADDED="  - name: added.test
    file: $TMP/added.zone"
CHILD="  - name: child.example.com
    file: $TMP/child.zone"
conf node-1 "$SRV4@53" pa ""
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1
ctl() { ip netns exec "$NS_SRV" "$XDPNS" "$@" -s "$SOCK"; }
lk() { ctl lookup "$@"; }
gen_of() { ctl lookup "$1" "$2" --json | $PY -c "import json,sys; print(json.load(sys.stdin).get('generation', 0))"; }
zc() { # zone_counters field of a zone from stats --json
	ctl stats --json | $PY -c "
import json, sys
z = [z for z in json.load(sys.stdin)['zone_counters'] if z['name'] == sys.argv[1]]
print(z[0][sys.argv[2]] if z else 'none')" "$1" "$2"
}
reload() { OUT=$(ctl reload 2>&1); RC=$?; }

echo "start: the wrong TSIG secret for pa"
check "example.com answered" [ "$(q www.example.com A)" = "198.18.0.80" ]
check "$XFR_ZONE transfer fails on TSIG" wait_for 10 eval '[ "$(zstat $XFR_ZONE failures.tsig_badsig)" -ge 1 ] || [ "$(zstat $XFR_ZONE failures.tsig_badkey)" -ge 1 ]'
check "$XFR_ZONE not served (REFUSED)" bash -c "ip netns exec $NS_CLI kdig @$SRV4 www.$XFR_ZONE A +norec | grep -q 'status: REFUSED'"
check "the failure is a logfmt event with zone and reason" \
	$LOGFMT "$TMP/xdpns.log" "transfer failed" zone=$XFR_ZONE. primary=pa address=$CLI4@5301 'reason=~tsig_bad(sig|key)'

echo "reload adding a zone"
g0=$(gen_of www.example.com A)
conf node-1 "$SRV4@53" pa "$ADDED"
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply names the zone added with its serial" grep -q "zone added.test.: added, serial 7" <<<"$OUT"
check "and example.com unchanged" grep -q "zone example.com.: unchanged" <<<"$OUT"
a0=$(xdp_counter answered)
check "the new zone is answered" [ "$(q www.added.test A)" = "198.18.0.77" ]
a1=$(xdp_counter answered)
check "from XDP (answered $a0 -> $a1)" [ $((a1 - a0)) = 1 ]
check "xdpns lookup: a hit in the entries" bash -c "ctl() { ip netns exec $NS_SRV $XDPNS \"\$@\" -s $SOCK; }; ctl lookup www.added.test A | grep -q 'hit in the entries'"
check "its per-zone XDP counter moved" [ "$(zc added.test. xdp_answers)" = 1 ]
check "example.com was not recompiled (generation $g0 kept, no flicker)" [ "$(gen_of www.example.com A)" = "$g0" ]
check "zone added is a logfmt event" $LOGFMT "$TMP/xdpns.log" "zone added" zone=added.test. serial=7 source=file 'slot=~[0-9]+'

echo "reload fixing the TSIG secret file (the configuration text unchanged)"
cp "$TMP/ka.secret" "$TMP/xdpns-ka.secret"
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply says the primaries changed" grep -q "zone $XFR_ZONE.: primaries changed, refreshing" <<<"$OUT"
check "$XFR_ZONE transferred from pa with the new secret" wait_for 10 www_is 198.18.0.80
check "the transfer is a logfmt event" $LOGFMT "$TMP/xdpns.log" "transfer done" zone=$XFR_ZONE. primary=pa address=$CLI4@5301 serial=1 'kind=~(axfr|ixfr)' 'ms=~[0-9]+'

echo "a reload that changes nothing transfers nothing and recompiles nothing"
t0=$(zstat $XFR_ZONE transfers.axfr)/$(zstat $XFR_ZONE transfers.ixfr)/$(zstat $XFR_ZONE transfers.up_to_date)/$(zstat $XFR_ZONE last_attempt)
gx=$(gen_of www.$XFR_ZONE A)
g0=$(gen_of www.example.com A)
sleep 1.1
reload
check "reload exits 0" [ $RC = 0 ]
check "0 changed" grep -q "0 added, 0 removed, 0 changed" <<<"$OUT"
sleep 0.5
t1=$(zstat $XFR_ZONE transfers.axfr)/$(zstat $XFR_ZONE transfers.ixfr)/$(zstat $XFR_ZONE transfers.up_to_date)/$(zstat $XFR_ZONE last_attempt)
check "no transfer or SOA query ($t0 = $t1)" [ "$t0" = "$t1" ]
check "generations kept ($XFR_ZONE $gx, example.com $g0)" \
	bash -c "[ \"\$1\" = \"\$2\" ] && [ \"\$3\" = \"\$4\" ]" _ "$gx" "$(gen_of www.$XFR_ZONE A)" "$g0" "$(gen_of www.example.com A)"

echo "reload changing the primary"
conf node-1 "$SRV4@53" pb "$ADDED"
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply says the primaries changed" grep -q "zone $XFR_ZONE.: primaries changed" <<<"$OUT"
check "$XFR_ZONE now from pb (serial 5)" wait_for 10 www_is 198.18.0.90
check "logged: transfer done from pb" $LOGFMT "$TMP/xdpns.log" "transfer done" zone=$XFR_ZONE. primary=pb serial=5
out=$(ctl zone show $XFR_ZONE)
check "zone show lists pb as the primary" grep -q "pb ($CLI4@5302) \[last used\]" <<<"$out"

echo "reload changing notify-from"
notify() { ip netns exec "$NS_CLI" $PY "$ROOT/tests/e2e/bad_primary.py" notify --server $SRV4 --port 53 --zone $XFR_ZONE "$@" >/dev/null 2>&1; }
check "NOTIFY signed with key-b (pb's) accepted" notify --key-name key-b --secret-file "$TMP/kb.secret"
sed -i "s/^    primaries: \[pb\]\$/    primaries: [pb]\n    notify-from: [pa]/" "$TMP/xdpns.yaml"
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply says notify-from changed" grep -q "zone $XFR_ZONE.: notify-from changed" <<<"$OUT"
check "NOTIFY signed with key-b now NOTAUTH" notify --key-name key-b --secret-file "$TMP/kb.secret" --expect NOTAUTH
check "NOTIFY signed with key-a (pa's) accepted" notify --key-name key-a --secret-file "$TMP/ka.secret"
check "the refusal is a logfmt event" $LOGFMT "$TMP/xdpns.log" "notify refused" zone=$XFR_ZONE. from=$CLI4 reason=tsig 'tsig=~.+'

echo "reload adding a zone inside another (nested)"
out=$(ip netns exec "$NS_CLI" kdig @$SRV4 www.child.example.com A +norec)
check "before: NXDOMAIN from example.com" grep -q "status: NXDOMAIN" <<<"$out"
conf node-1 "$SRV4@53" pb "$ADDED
$CHILD"
reload
check "reload exits 0" [ $RC = 0 ]
check "the child is answered" [ "$(q www.child.example.com A)" = "198.18.0.99" ]
check "from the child's entries in XDP" bash -c "ip netns exec $NS_SRV $XDPNS lookup www.child.example.com A -s $SOCK | grep -q 'hit in the entries'"
check "the child's SOA, not the parent's" [ "$(q child.example.com SOA | awk '{print $3}')" = 3 ]
check "the parent still answers its own names" [ "$(q www.example.com A)" = "198.18.0.80" ]
conf node-1 "$SRV4@53" pb "$ADDED"
reload
check "reload removing the child exits 0" [ $RC = 0 ]
out=$(ip netns exec "$NS_CLI" kdig @$SRV4 www.child.example.com A +norec)
check "after: NXDOMAIN from example.com again" grep -q "status: NXDOMAIN" <<<"$out"

echo "reload removing a zone"
slot=$(zc added.test. slot)
conf node-1 "$SRV4@53" pb ""
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply names the zone removed" grep -q "zone added.test.: removed" <<<"$OUT"
out=$(ip netns exec "$NS_CLI" kdig @$SRV4 www.added.test A +norec)
check "the removed zone is REFUSED" grep -q "status: REFUSED" <<<"$out"
out=$(lk www.added.test A)
check "its XDP entry is gone (lookup: miss)" grep -q "www.added.test A: miss" <<<"$out"
check "and it is in no report" bash -c "! ip netns exec $NS_SRV $XDPNS status -s $SOCK | grep -q added.test"
check "zone removed is a logfmt event" $LOGFMT "$TMP/xdpns.log" "zone removed" zone=added.test. slot=$slot
conf node-1 "$SRV4@53" pb "$ADDED"
reload
check "added again: answered" [ "$(q www.added.test A)" = "198.18.0.77" ]
check "its counters start from zero in the reused slot" [ "$(zc added.test. xdp_answers)" = 1 ]

echo "reload removing a zone while its transfer runs"
conf node-1 "$SRV4@53" pb "$ADDED
  - name: slow.test
    primaries: [slowp]"
reload
check "reload adding slow.test exits 0" [ $RC = 0 ]
check "its transfer is running" wait_for 5 eval '[ "$(zstat slow.test transferring)" = True ]'
sleep 1
conf node-1 "$SRV4@53" pb "$ADDED"
t0=$(date +%s%N)
reload
ms=$((($(date +%s%N) - t0) / 1000000))
check "reload removing it exits 0 in ${ms} ms (transfer abandoned, < 2 s)" bash -c "[ $RC = 0 ] && [ $ms -lt 2000 ]"
check "the reply names it removed" grep -q "zone slow.test.: removed" <<<"$OUT"
check "slow.test is REFUSED" bash -c "ip netns exec $NS_CLI kdig @$SRV4 slow.test SOA +norec | grep -q 'status: REFUSED'"
check "the daemon still serves" [ "$(q www.added.test A)" = "198.18.0.77" ]
check "and reports no zone slow.test" bash -c "! ip netns exec $NS_SRV $XDPNS zone list -s $SOCK | grep -q slow.test"

echo "a broken configuration changes nothing"
cp "$TMP/xdpns.yaml" "$TMP/good.yaml"
conf node-2 "$SRV4@53" nosuch "$ADDED
  - name: broken.test
    file: $TMP/added.zone"
line=$(grep -n "primaries: \[nosuch\]" "$TMP/xdpns.yaml" | cut -d: -f1)
reload
check "reload exits 1" [ $RC = 1 ]
check "the error names file:line and the key" grep -q "xdpns.yaml:$line: zones\[1\].primaries" <<<"$OUT"
check "and says nothing changed" grep -q "nothing changed" <<<"$OUT"
check "old zones still answered" bash -c '[ "$1" = 198.18.0.80 ] && [ "$2" = 198.18.0.90 ] && [ "$3" = 198.18.0.77 ]' _ \
	"$(q www.example.com A)" "$(q www.$XFR_ZONE A)" "$(q www.added.test A)"
check "identity unchanged" [ "$(q id.server CH TXT)" = '"node-1"' ]
check "logged: reload rejected with the error" $LOGFMT "$TMP/xdpns.log" "reload rejected" "error=~.*xdpns.yaml:$line: zones\[1\]\.primaries.*"
conf node-1 "$SRV4@53" pb "$ADDED
  - name: bad.test
    file: $TMP/example.com.zone"
reload
check "a new zone whose file does not load: rejected (exit 1)" [ $RC = 1 ]
check "the error names the zone" grep -q "bad.test" <<<"$OUT"
check "nothing changed: bad.test not served" bash -c "ip netns exec $NS_CLI kdig @$SRV4 bad.test SOA +norec | grep -q 'status: REFUSED'"

echo "server-only settings need a restart, the rest applies"
conf node-2 "$SRV4@53" pb "$ADDED"
sed -i 's/^  identity: node-2$/  identity: node-2\n  xdp-mode: generic/' "$TMP/xdpns.yaml"
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply says server.xdp-mode needs a restart" grep -q "needs restart: server.xdp-mode" <<<"$OUT"
check "the new identity applies" [ "$(q id.server CH TXT)" = '"node-2"' ]
check "XDP still attached in native mode" bash -c "ip netns exec $NS_SRV $XDPNS status -s $SOCK | grep -qE '^$IF_SRV +native'"
check "logged: needs restart with the key" $LOGFMT "$TMP/xdpns.log" "reload: needs restart" key=server.xdp-mode level=warning
reload
check "reported again by the next reload (still not applied)" grep -q "needs restart: server.xdp-mode" <<<"$OUT"

echo "listen addresses change live (new sockets before the old close)"
q5353() { ip netns exec "$NS_CLI" kdig @$SRV4 -p 5353 +short +norec +time=1 +retry=0 "$@"; }
check "nothing on port 5353 yet" [ -z "$(q5353 www.example.com A)" ]
conf node-2 "$SRV4@53, $SRV4@5353" pb "$ADDED"
reload
check "reload exits 0" [ $RC = 0 ]
check "the reply says listen changed" grep -q "server.listen changed" <<<"$OUT"
check "port 5353 answers (slow path)" [ "$(q5353 www.example.com A)" = "198.18.0.80" ]
check "port 53 still answers over TCP (kept socket)" [ "$(q +tcp www.example.com A)" = "198.18.0.80" ]
conf node-2 "$SRV4@5353" pb "$ADDED"
reload
check "dropping port 53 from listen: exit 0" [ $RC = 0 ]
check "TCP to port 53 refused now" bash -c "! ip netns exec $NS_CLI kdig @$SRV4 +tcp +time=1 +retry=0 www.example.com A | grep -q NOERROR"
check "port 5353 answers" [ "$(q5353 www.example.com A)" = "198.18.0.80" ]
conf node-2 "$SRV4@53, 198.18.9.9@53" pb "$ADDED"
reload
check "an address that cannot be bound: exit 0, needs restart" grep -q "needs restart: server.listen (198.18.9.9@53: " <<<"$OUT"
check "and nothing changed: 5353 still answers" [ "$(q5353 www.example.com A)" = "198.18.0.80" ]
conf node-2 "$SRV4@53" pb "$ADDED"
reload
check "back to port 53 only" bash -c '[ "$1" = 198.18.0.80 ] && [ -z "$2" ]' _ "$(q +tcp www.example.com A)" "$(q5353 www.example.com A)"

echo "interfaces and metrics change live"
IFACES="[]"
conf node-2 "$SRV4@53" pb "$ADDED"
reload
check "reload dropping the interface exits 0" [ $RC = 0 ]
check "the reply says XDP detached" grep -q "interface $IF_SRV: XDP detached" <<<"$OUT"
check "no XDP program on the interface" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
a0=$(xdp_counter answered)
check "queries answered by the slow path meanwhile" [ "$(q www.example.com A)" = "198.18.0.80" ]
check "not by XDP" [ "$(xdp_counter answered)" = "$a0" ]
unset IFACES
METRICS="
  metrics: $SRV4:9353"
conf node-2 "$SRV4@53" pb "$ADDED"
reload
check "reload adding the interface and metrics exits 0" [ $RC = 0 ]
check "the reply says XDP attached" grep -q "interface $IF_SRV: XDP attached" <<<"$OUT"
check "XDP on the interface again" bash -c "ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
a0=$(xdp_counter answered)
check "answered from XDP again" bash -c '[ "$1" = 198.18.0.80 ]' _ "$(q www.example.com A)"
check "(XDP counter moved)" [ "$(xdp_counter answered)" -gt "$a0" ]
scrape() { ip netns exec "$NS_CLI" $PY -c "
import urllib.request, sys
sys.stdout.write(urllib.request.urlopen('http://$SRV4:9353/metrics', timeout=3).read().decode())" 2>&1; }
check "/metrics served after the reload, with per-zone series" bash -c 'grep -q "^xdpns_zone_queries_total{zone=\"example.com.\",path=\"xdp\"} [1-9]" <<<"$1"' _ "$(scrape)"
unset METRICS
conf node-2 "$SRV4@53" pb "$ADDED"
reload
check "reload without metrics: the listener is closed" bash -c '! grep -q xdpns_ <<<"$1"' _ "$(scrape)"

echo "SIGHUP reloads the same way"
conf node-3 "$SRV4@53" pb ""
kill -HUP "$XDPNS_PID"
check "after SIGHUP the removed zone is REFUSED" wait_for 5 eval "ip netns exec $NS_CLI kdig @$SRV4 www.added.test A +norec | grep -q 'status: REFUSED'"
check "and the new identity applies" [ "$(q id.server CH TXT)" = '"node-3"' ]
check "logged: reload requested by SIGHUP" $LOGFMT "$TMP/xdpns.log" "reload requested" by=SIGHUP

echo "stats --watch --zones"
( for i in $(seq 1 25); do q www.example.com A >/dev/null; q +tcp n$i.example.com A >/dev/null; sleep 0.1; done ) &
load=$!
out=$(timeout 3.5 ip netns exec "$NS_SRV" "$XDPNS" stats --watch 1 --zones -s "$SOCK")
wait $load
check "per-zone rates: a header" grep -q "^ZONE .*XDP ans/s .*slow q/s .*XDP hit" <<<"$out"
check "example.com. answered in XDP and by the slow path each second" \
	bash -c "awk '\$1 == \"example.com.\" && \$2 > 0 && \$3 > 0 { ok = 1 } END { exit !ok }' <<<\"\$1\"" _ "$out"
check "$XFR_ZONE. listed" grep -q "^$XFR_ZONE. " <<<"$out"
ip netns exec "$NS_SRV" "$XDPNS" stats --zones -s "$SOCK" >/dev/null 2>&1
check "--zones without --watch is a usage error (exit 2)" [ $? = 2 ]

echo "logs"
check "every line of the daemon's log is logfmt" $LOGFMT "$TMP/xdpns.log"
out=$(ctl stats | sed -n '/^Zones/,$p')
check "stats has a per-zone table" grep -qE "^  $XFR_ZONE\. +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$" <<<"$out"
check "within 100 columns" [ "$(awk '{ if (length > m) m = length } END { print m }' <<<"$out")" -le 100 ]

netns_stop_xdpns
check "daemon exited 0" [ $? = 0 ]
xfr_logs_if_failed 30
e2e_summary
