#!/usr/bin/env bash
# A transfer whose publish fails (the fault hook "mapsync.publish", as a
# full map would) while the save of the served data still runs (the hook
# "zone.save" holds it back, as a big zone's write takes seconds): the
# served serial stays, the failure is in the log, stats and metrics, the
# save it gave up is done again, and a restart with the primary gone
# serves the same serial from disk. Then a save a NOTIFY stopped, its
# transfer still running (the primary stopped) when the daemon stops:
# written at shutdown. docs/design.md "Fault injection".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
xfr_setup xfault knotd knotc kdig

SA=$(xfr_secret "$TMP/ka.secret")
knotc_() { ip netns exec "$NS_CLI" knotc -c "$TMP/$1.conf" "${@:2}" >/dev/null; }
# no NOTIFY: each transfer is asked for with `zone refresh` (a NOTIFY that
# stops a save has its own redo; a refresh timer or a queued refresh did
# not), and REFRESH/RETRY of an hour, so no timer transfers meanwhile
xfr_knot_conf a 5301 key-a hmac-sha256 "$SA"
zone_v() { # SERIAL WWW_OCTET
	xfr_zone "$TMP/a/zones/$XFR_ZONE.zone" "$1" "$2" 3600 3600 86400
	knotc_ a zone-reload $XFR_ZONE. 2>/dev/null
	wait_for 10 eval '[ "$(qp 5301 $XFR_ZONE SOA | awk "{print \$3}")" = '"$1"' ]'
}
xfr_zone "$TMP/a/zones/$XFR_ZONE.zone" 1 80 3600 3600 86400
xfr_start_primary a knotd -c "$TMP/a.conf"
PID_a=$PRIM_PID
check "knotd serves serial 1" wait_for 10 eval '[ "$(qp 5301 $XFR_ZONE SOA | awk "{print \$3}")" = 1 ]'

cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  metrics: 127.0.0.1:9353
  storage: $TMP/storage
keys:
  - name: key-a
    algorithm: hmac-sha256
    secret-file: $TMP/ka.secret
remotes:
  - id: knot-a
    address: $CLI4@5301
    key: key-a
zones:
  - name: $XFR_ZONE
    primaries: [knot-a]
EOC
ZF=$TMP/storage/$XFR_ZONE.zone
saved_serial() { sed -n 's/^; zone [^ ]* serial \([0-9]*\),.*/\1/p' "$ZF" 2>/dev/null; }
refresh() { ip netns exec "$NS_SRV" "$XDPNS" zone refresh $XFR_ZONE -s "$SOCK" >/dev/null; }
transfers() { echo $(($(zstat $XFR_ZONE transfers.ixfr) + $(zstat $XFR_ZONE transfers.axfr) + $(zfails_total $XFR_ZONE))); }

# publishes 1 (AXFR of 1) and 2 (IXFR to 2) go through, every later one
# fails; the second save (serial 2's) waits 30 s unless given up
XDPNS_FAULT="mapsync.publish:after=2,zone.save:after=1:count=1:delay_ms=30000" \
	netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1
check "the hook says it is armed" grep -q 'msg="fault injection armed' "$TMP/xdpns.log"
check "AXFR: serial 1 served" wait_for 10 serial_is 1
check "serial 1 saved" wait_for 5 eval '[ "$(saved_serial)" = 1 ]'

echo "serial 2 by IXFR; its save is held back"
zone_v 2 81
refresh
check "IXFR: serial 2 served" wait_for 10 serial_is 2
check "its save is held by the hook" wait_for 5 grep -q 'msg="fault injected" point=zone.save' "$TMP/xdpns.log"
check "the disk still has serial 1 (save running)" [ "$(saved_serial)" = 1 ]

echo "serial 3 by IXFR: the publish fails while serial 2 is being saved"
zone_v 3 82
n0=$(transfers)
refresh
check "the transfer ended" wait_for 10 eval '[ "$(transfers)" -gt '"$n0"' ]'
check "the publish failed (hook hit)" grep -q 'msg="fault injected" point=mapsync.publish' "$TMP/xdpns.log"
check "log: transfer failed, reason=publish, the maps' error" \
	$PY "$ROOT/tests/e2e/logfmt.py" "$TMP/xdpns.log" "transfer failed" reason=publish \
	'error=~compiling into the XDP maps failed: No space left on device'
check "stats: failures.publish = 1" [ "$(zstat $XFR_ZONE failures.publish)" = 1 ]
check "stats: last_error names the maps" \
	bash -c '[[ "$1" == "compiling into the XDP maps failed"* ]]' _ "$(zstat $XFR_ZONE last_error)"
ip netns exec "$NS_SRV" $PY -c "
import urllib.request, sys
sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:9353/metrics', timeout=3).read().decode())" >"$TMP/metrics" 2>&1
check "metrics: the failure under reason=publish" \
	grep -qE '^xdpns_zone_transfer_failures_total\{zone="xfr\.test\.?",reason="publish"\} 1$' "$TMP/metrics"
out=$(ip netns exec "$NS_SRV" "$XDPNS" zone show "$XFR_ZONE" -s "$SOCK")
check "zone show: serial 2, the failure as last error" \
	bash -c 'grep -q "^serial     2$" <<<"$1" && grep -q "^last error compiling into the XDP maps failed: No space left on device$" <<<"$1"' _ "$out"
check "serial 2 still served" serial_is 2
check "www of serial 2 from XDP" xdp_answer_is "www.$XFR_ZONE" A 198.18.0.81
# the save of serial 2 was given up for serial 3, which did not come: it
# is done again (at once: the hook held only the one save)
check "the disk has the served serial 2 again" wait_for 5 eval '[ "$(saved_serial)" = 2 ]'
check "timers say serial 2" grep -q '^serial 2$' "$TMP/storage/$XFR_ZONE.timers"

echo "restart, primary gone: the served serial from disk"
netns_stop_xdpns
check "daemon exited 0" [ $? = 0 ]
xfr_stop_pid "$PID_a"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns2.log" || exit 1
check "restart: serial 2 served from disk at once" serial_is 2
check "restart: www of serial 2" www_is 198.18.0.81
check "no hook without XDPNS_FAULT" bash -c "! grep -q 'fault injection' '$TMP/xdpns2.log'"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]

echo "a NOTIFY stops a save, then the daemon stops before its transfer ends"
xfr_start_primary a knotd -c "$TMP/a.conf" # still serial 3
PID_a=$PRIM_PID
check "knotd serves serial 3" wait_for 10 eval '[ "$(qp 5301 $XFR_ZONE SOA | awk "{print \$3}")" = 3 ]'
XDPNS_FAULT="zone.save:count=1:delay_ms=30000" \
	netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns3.log" || exit 1
check "IXFR 2 -> 3 at start: serial 3 served" wait_for 10 serial_is 3
check "its save is held by the hook" wait_for 5 grep -q 'msg="fault injected" point=zone.save' "$TMP/xdpns3.log"
check "the disk has serial 2" [ "$(saved_serial)" = 2 ]
kill -STOP "$PID_a" # the NOTIFY's SOA query gets no answer
acc0=$(zstat $XFR_ZONE notify.accepted)
notify_a() {
	ip netns exec "$NS_CLI" $PY "$ROOT/tests/e2e/bad_primary.py" notify --server $SRV4 \
		--port 53 --zone $XFR_ZONE --key-name key-a --secret-file "$TMP/ka.secret" >/dev/null
}
check "a signed NOTIFY answered" notify_a
check "accepted, its transfer under way" \
	wait_for 2 eval '[ "$(zstat $XFR_ZONE notify.accepted)/$(zstat $XFR_ZONE transferring)" = "$((acc0 + 1))/True" ]'
netns_stop_xdpns # (the held save gives up at once: the NOTIFY stopped it)
check "daemon exited 0" [ $? = 0 ]
kill -CONT "$PID_a"
xfr_stop_pid "$PID_a"
check "the served serial 3 was written at shutdown" [ "$(saved_serial)" = 3 ]
check "and logged" $PY "$ROOT/tests/e2e/logfmt.py" "$TMP/xdpns3.log" "zone saved at shutdown" serial=3
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns4.log" || exit 1
check "restart: serial 3 served from disk" serial_is 3
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
xfr_logs_if_failed
e2e_summary
