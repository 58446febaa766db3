#!/usr/bin/env bash
# xdpns as secondary of two knotd primaries with TSIG (one key each; the
# first remote has two keys, as during a rotation): first AXFR, change +
# NOTIFY answered from XDP within a second by IXFR, the first primary
# killed (refresh from the second), a restart serving from disk at once,
# then a short EXPIRE: SERVFAIL in both paths, and recovery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
xfr_setup xknot knotd knotc kdig

SA=$(xfr_secret "$TMP/ka.secret")
SOLD=$(xfr_secret "$TMP/kold.secret")
SB=$(xfr_secret "$TMP/kb.secret")

knot_start() { # NAME
	xfr_start_primary "$1" knotd -c "$TMP/$1.conf"
	eval "PID_$1=$PRIM_PID"
}
knotc_() { ip netns exec "$NS_CLI" knotc -c "$TMP/$1.conf" "${@:2}" >/dev/null; }

xfr_knot_conf a 5301 key-a hmac-sha256 "$SA" notify
xfr_knot_conf b 5302 key-b hmac-sha512 "$SB" notify
xfr_zone "$TMP/a/zones/$XFR_ZONE.zone" 1 80
echo "old.sub	IN A	198.18.2.1" >>"$TMP/a/zones/$XFR_ZONE.zone" # gone in serial 2
cp "$TMP/a/zones/$XFR_ZONE.zone" "$TMP/b/zones/"
knot_start a
knot_start b
check "knotd a serves serial 1" wait_for 10 eval '[ "$(qp 5301 $XFR_ZONE SOA | awk "{print \$3}")" = 1 ]'
check "knotd b serves serial 1" wait_for 10 eval '[ "$(qp 5302 $XFR_ZONE SOA | awk "{print \$3}")" = 1 ]'

cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  metrics: 127.0.0.1:9353
  storage: $TMP/storage
  xfr-idle-timeout: 2
keys:
  - name: key-old
    algorithm: hmac-sha256
    secret-file: $TMP/kold.secret
  - name: key-a
    algorithm: hmac-sha256
    secret-file: $TMP/ka.secret
  - name: key-b
    algorithm: hmac-sha512
    secret-file: $TMP/kb.secret
remotes:
  - id: knot-a
    address: $CLI4@5301
    key: [key-a, key-old]
  - id: knot-b
    address: $CLI4@5302
    key: key-b
zones:
  - name: $XFR_ZONE
    primaries: [knot-a, knot-b]
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1

xfr_first_transfer knot-a "$SA"
check "zone saved in storage" [ -s "$TMP/storage/$XFR_ZONE.zone" ]
check "timers saved in storage" grep -q '^serial 1$' "$TMP/storage/$XFR_ZONE.timers"

# nx NAME: the full kdig answer to NAME A, which XDP answers NXDOMAIN
nx() { ip netns exec "$NS_CLI" kdig @$SRV4 +norec +time=1 +retry=0 "$1" A; }
n0=$(xdp_counter nx_synth)
out=$(nx zz.old.sub.$XFR_ZONE)
check "NXDOMAIN below old.sub (serial 1), made in XDP" \
	bash -c 'grep -q "status: NXDOMAIN" <<<"$1" && grep -qE "SOA.* 1 300 2 600 60" <<<"$1" && [ $(($2 - $3)) = 1 ]' _ "$out" "$(xdp_counter nx_synth)" "$n0"
out=$(nx zz.sub.$XFR_ZONE)
check "sub is an empty non-terminal: NXDOMAIN below it too" grep -q "status: NXDOMAIN" <<<"$out"
out=$(ip netns exec "$NS_CLI" kdig @$SRV4 +norec +time=1 +retry=0 sub.$XFR_ZONE A)
check "and NODATA (not NXDOMAIN) at it" grep -q "status: NOERROR" <<<"$out"

echo "change on the primary, NOTIFY, IXFR"
xfr_zone "$TMP/a/zones/$XFR_ZONE.zone" 2 81
echo "new.sub	IN A	198.18.2.2" >>"$TMP/a/zones/$XFR_ZONE.zone" # new in serial 2
cp "$TMP/a/zones/$XFR_ZONE.zone" "$TMP/b/zones/"
knotc_ b zone-reload $XFR_ZONE.
t0=$(date +%s%N)
knotc_ a zone-reload $XFR_ZONE.
check "new data within a second of the reload" wait_for 1 www_is 198.18.0.81
t1=$(date +%s%N)
echo "  (after $(( (t1 - t0) / 1000000 )) ms)"
check "new data from XDP" xdp_answer_is "www.$XFR_ZONE" A "198.18.0.81"
check "IXFR was used" [ "$(zstat $XFR_ZONE transfers.ixfr)" = 1 ]
# The IXFR changed the SOA, www's A and txt's TXT, added new.sub and
# deleted old.sub: only the keys those names reach were compiled (the
# apex's 11 and www, txt, new.sub; old.sub's entry ends without a
# compile), only changed entries written; the 20 hosts' entries were not
# touched and answer on.
read -r compiled written entries names_written <<<"$(ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" |
	$PY -c 'import json,sys; m=json.load(sys.stdin)["maps"]
print(m["last_publish_compiled"], m["last_publish_written"], m["entries"], m["last_publish_names_written"])')"
echo "  (IXFR publish: $compiled keys compiled, $written entries written, of $entries)"
check "IXFR publish compiled only the changed names' keys" [ "$compiled" -le 14 -a "$entries" -ge 34 ]
check "and wrote at most those (and old.sub's end)" [ "$written" -ge 3 -a "$written" -le $((compiled + 1)) ]
# names for NXDOMAIN: new.sub came, old.sub went (sub stays an empty
# non-terminal); no other name is written again
check "IXFR publish wrote 2 names for NXDOMAIN (got $names_written)" [ "$names_written" = 2 ]
check "an untouched host still answered from XDP" xdp_answer_is "h7.$XFR_ZONE" A "198.18.1.7"
check "NOTIFY accepted (signed)" [ "$(zstat $XFR_ZONE notify.accepted)" -ge 1 ]
# the log places the change's time: millisecond timestamps, and the
# stages of the NOTIFY's job (SOA query, transfer, build, publish, NOTIFY
# to the flip) on "transfer done"
check "log timestamps have milliseconds" \
	grep -qE '^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z level=' "$TMP/xdpns.log"
check "transfer done names the IXFR's stages, NOTIFY to the flip in ms" \
	$PY "$ROOT/tests/e2e/logfmt.py" "$TMP/xdpns.log" "transfer done" kind=ixfr serial=2 \
	'soa_ms=~[0-9]+' 'first_ms=~[0-9]+' 'recv_ms=~[0-9]+' 'build_ms=~[0-9]+' \
	'start_us=~[0-9]+' 'wake_us=~[0-9]+' 'publish_us=~[1-9][0-9]*' 'notify_ms=~[0-9]{1,3}'
check "serial 2 saved" wait_for 2 grep -q '^serial 2$' "$TMP/storage/$XFR_ZONE.timers"
echo "names after the IXFR: NXDOMAIN made in XDP follows them"
check "new.sub (added by the IXFR) answered" [ "$(q new.sub.$XFR_ZONE A)" = 198.18.2.2 ]
n0=$(xdp_counter nx_synth)
out=$(nx old.sub.$XFR_ZONE)
check "old.sub (deleted by the IXFR) is NXDOMAIN, SOA serial 2" \
	bash -c 'grep -q "status: NXDOMAIN" <<<"$1" && grep -qE "SOA.* 2 300 2 600 60" <<<"$1"' _ "$out"
out=$(nx zz.new.sub.$XFR_ZONE)
check "below new.sub: NXDOMAIN, SOA serial 2" \
	bash -c 'grep -q "status: NXDOMAIN" <<<"$1" && grep -qE "SOA.* 2 300 2 600 60" <<<"$1"' _ "$out"
check "both made in XDP" [ $(($(xdp_counter nx_synth) - n0)) = 2 ]

echo "first primary down: refresh from the second"
xfr_stop_pid "$PID_a"
xfr_zone "$TMP/b/zones/$XFR_ZONE.zone" 3 82
knotc_ b zone-reload $XFR_ZONE.
check "served from knot-b after NOTIFY" wait_for 5 www_is 198.18.0.82
check "primary used is knot-b" [ "$(zstat $XFR_ZONE primary)" = knot-b ]
check "a connect failure counted for knot-a" [ "$(zstat $XFR_ZONE failures.connect)" -ge 1 ]
check "zone refresh (CLI) exits 0" ip netns exec "$NS_SRV" "$XDPNS" zone refresh $XFR_ZONE -s "$SOCK"
check "up to date after refresh" wait_for 5 eval '[ "$(zstat $XFR_ZONE transfers.up_to_date)" -ge 1 ]'
check "zone retransfer (CLI) exits 0" ip netns exec "$NS_SRV" "$XDPNS" zone retransfer $XFR_ZONE -s "$SOCK"
check "retransfer made an AXFR" wait_for 5 eval '[ "$(zstat $XFR_ZONE transfers.axfr)" = 2 ]'
ip netns exec "$NS_SRV" "$XDPNS" zone refresh nope.test -s "$SOCK" >/dev/null 2>&1
check "zone refresh of an unknown zone exits 1" [ $? = 1 ]

echo "short EXPIRE, restart from disk"
xfr_zone "$TMP/b/zones/$XFR_ZONE.zone" 4 83 1 1 6
knotc_ b zone-reload $XFR_ZONE.
check "serial 4 (expire 6s) served" wait_for 5 serial_is 4
netns_stop_xdpns
check "daemon exited 0" [ $? = 0 ]
xfr_stop_pid "$PID_b"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns2.log" || exit 1
check "restart: serial 4 served at once from disk" serial_is 4
check "restart: www from disk" www_is 198.18.0.83
check "the expiry clock kept running" [ "$(zstat $XFR_ZONE expires_in)" -le 6 ]
check "SERVFAIL once expired (slow path)" wait_for 10 eval 'ip netns exec "$NS_CLI" kdig @$SRV4 +time=1 +retry=0 www.$XFR_ZONE A | grep -q "status: SERVFAIL"'
p0=$(ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" | $PY -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["passed"]["zone_state"])')
out=$(ip netns exec "$NS_CLI" kdig @$SRV4 +time=1 +retry=0 www.$XFR_ZONE A)
p1=$(ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" | $PY -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["passed"]["zone_state"])')
check "XDP passes the expired zone (zone_state $p0 -> $p1)" [ $((p1 - p0)) = 1 ]
check "status says EXPIRED" bash -c "ip netns exec $NS_SRV $XDPNS status -s $SOCK | grep -q EXPIRED"
knot_start b
check "recovers once a primary answers" wait_for 10 www_is 198.18.0.83
a0=$(xdp_counter answered)
q "www.$XFR_ZONE" A >/dev/null
a1=$(xdp_counter answered)
check "answered from XDP again" [ $((a1 - a0)) = 1 ]

ip netns exec "$NS_SRV" $PY -c "
import urllib.request, sys
sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:9353/metrics', timeout=3).read().decode())" >"$TMP/metrics" 2>&1
check "metrics of a secondary pass promtool" bash -c "promtool check metrics <'$TMP/metrics'"
out=$(ip netns exec "$NS_SRV" "$XDPNS" zone show "$XFR_ZONE" -s "$SOCK")
check "zone show of a secondary names its primaries and timers" \
	bash -c 'grep -q "^kind       secondary" <<<"$1" && grep -q "^primaries " <<<"$1" && grep -q "^timers     next refresh in" <<<"$1"' _ "$out"
out=$(ip netns exec "$NS_SRV" "$XDPNS" zone list -s "$SOCK")
check "zone list shows it as a secondary" grep -qE "^${XFR_ZONE//./\\.}\.? +secondary " <<<"$out"
# (the daemon was restarted above: its counters start again from zero)
check "refreshes counted in the metrics" grep -qE '^xdpns_zone_transfers_total\{zone="[^"]+",kind="[a-z_]+"\} [1-9]' "$TMP/metrics"
check "transfer durations as a histogram" grep -qE '^xdpns_zone_transfer_duration_seconds_bucket\{zone="[^"]+",le="\+Inf"\} [0-9]+' "$TMP/metrics"
check "time to expiry exported" grep -qE '^xdpns_zone_expire_seconds\{zone="[^"]+"\} [0-9]+' "$TMP/metrics"

netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
e2e_summary
