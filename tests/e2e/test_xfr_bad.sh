#!/usr/bin/env bash
# xdpns against a scripted bad primary (bad_primary.py, dnspython, every
# message TSIG-signed unless the scenario says otherwise). A good serial
# 10 first; then each failure, triggered by NOTIFY, `zone refresh` or
# `zone retransfer`: transfer truncated between and inside messages,
# closing SOA mismatch, bad TSIG, missing TSIG (on the last message, in
# the middle left out of the next MAC, 100 in a row), IXFR deleting a
# record that is not there, serials going backwards (SOA and transfer),
# endless transfers (record limit, byte limit, total timeout), a primary
# that never answers (idle timeout), SOA replies signed with another key,
# answered BADSIG by the primary, signed an hour ahead (BADTIME). After
# each: the same answers from XDP and the slow path, the daemon answers,
# the failure counted under its reason. Then a good serial 12 arrives by
# IXFR (two chained diffs) within a second of the NOTIFY, and serial 13
# by an AXFR signed only on its first and last messages (RFC 8945 5.3.1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
xfr_setup xbad kdig dnspython
PORT=5301
BAD=$ROOT/tests/e2e/bad_primary.py
CTL=$TMP/scenario

S=$(xfr_secret "$TMP/k.secret")
KEYARGS=(--zone $XFR_ZONE --key-name key-x --key-alg hmac-sha256 --secret-file "$TMP/k.secret")
echo "good 10" >"$CTL"
xfr_start_primary bad $PY "$BAD" serve --addr $CLI4 --port $PORT --control "$CTL" "${KEYARGS[@]}"
PID_bad=$PRIM_PID
check "bad primary serves serial 10" wait_for 10 eval '[ "$(qp $PORT -y hmac-sha256:key-x:$S $XFR_ZONE SOA | head -1 | awk "{print \$3}")" = 10 ]'

cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  storage: $TMP/storage
  xfr-idle-timeout: 1
  xfr-timeout: 3
  xfr-max-records: 100
  xfr-max-bytes: 20000
keys:
  - name: key-x
    algorithm: hmac-sha256
    secret-file: $TMP/k.secret
remotes:
  - id: bad
    address: $CLI4@$PORT
    key: key-x
zones:
  - name: $XFR_ZONE
    primaries: [bad]
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1

echo "good serial 10"
check "AXFR: serial 10 served" wait_for 10 serial_is 10
check "www answered" www_is 198.18.0.10
check "one AXFR (4 signed messages), no failure" [ "$(zstat $XFR_ZONE transfers.axfr)/$(zfails_total $XFR_ZONE)" = 1/0 ]

ctl() { ip netns exec "$NS_SRV" "$XDPNS" "$@" -s "$SOCK" >/dev/null; }
notify() { ip netns exec "$NS_CLI" $PY "$BAD" notify --server $SRV4 --port 53 "${KEYARGS[@]}"; }
idle() { [ "$(zstat $XFR_ZONE transferring)" = False ]; }
# unchanged: serial 10 from XDP (counted) and from the slow path (TCP)
served_10() {
	local a0 a1 out
	a0=$(xdp_counter answered)
	out=$(q "www.$XFR_ZONE" A)/$(q "$XFR_ZONE" SOA | awk '{print $3}')
	a1=$(xdp_counter answered)
	[ "$out/$((a1 - a0))" = "198.18.0.10/10/2" ] || { echo "    XDP: $out/$((a1 - a0))"; return 1; }
	out=$(q +tcp "www.$XFR_ZONE" A)/$(q +tcp "txt.$XFR_ZONE" TXT)
	[ "$out" = '198.18.0.10/"serial 10"' ] || { echo "    slow path: $out"; return 1; }
}

# scenario NAME SERIAL TRIGGER REASON [REASON2]: the failure counted under
# REASON (and REASON2), nothing served or saved changed, daemon healthy
scenario() {
	local name=$1 serial=$2 trig=$3 r1=$4 r2=${5:-} b1 b2 t0
	echo "$name (serial $serial, by $trig)"
	t0=$(zfails_total $XFR_ZONE)
	b1=$(zstat $XFR_ZONE failures.$r1)
	[ -n "$r2" ] && b2=$(zstat $XFR_ZONE failures.$r2)
	echo "$name $serial" >"$CTL"
	case $trig in
	notify) check "NOTIFY answered NOERROR, signed" notify ;;
	*) check "zone $trig exits 0" ctl zone $trig $XFR_ZONE ;;
	esac
	check "failure counted: $r1" wait_for 10 eval '[ "$(zstat $XFR_ZONE failures.$r1)" -gt "$b1" ]'
	[ -n "$r2" ] && check "failure counted: $r2" wait_for 5 eval '[ "$(zstat $XFR_ZONE failures.$r2)" -gt "$b2" ]'
	check "the job ended" wait_for 10 idle
	check "no other failure counted" [ $(($(zfails_total $XFR_ZONE) - t0)) = $([ -n "$r2" ] && echo 2 || echo 1) ]
	check "served unchanged (XDP and slow path)" served_10
	check "daemon alive, status answers" bash -c "kill -0 $XDPNS_PID && ip netns exec $NS_SRV $XDPNS status -s $SOCK >/dev/null"
	LAST_ERROR=$(zstat $XFR_ZONE last_error)
	echo "    last error: $LAST_ERROR"
}

scenario truncated 11 notify truncated
scenario truncated-mid 11 retransfer truncated
scenario soa-mismatch 11 retransfer soa_mismatch
scenario bad-tsig 11 refresh tsig_badsig
scenario no-tsig 11 retransfer tsig_unsigned
check "  the last message unsigned" [ "${LAST_ERROR#*last 1 messages are unsigned}" != "$LAST_ERROR" ]
scenario gap-tsig 11 retransfer tsig_badsig
scenario too-sparse 11 retransfer tsig_unsigned
scenario ixfr-del-missing 11 refresh ixfr_inconsistent refused
n0=$(grep -c 'XFR (' "$TMP/bad.log")
scenario backwards 9 notify serial_backwards
check "  no transfer asked for an older SOA" [ "$(grep -c 'XFR (' "$TMP/bad.log")" = "$n0" ]
scenario backwards-xfr 11 refresh serial_backwards
scenario endless 11 retransfer limit
check "  stopped at the record limit" [ "${LAST_ERROR#*more than 100 records}" != "$LAST_ERROR" ]
scenario endless-bytes 11 retransfer limit
check "  stopped at the byte limit" [ "${LAST_ERROR#*more than 20000 bytes}" != "$LAST_ERROR" ]
t0=$(date +%s%N)
scenario endless-slow 11 retransfer timeout
check "  stopped at the total timeout" [ "${LAST_ERROR#*total timeout}" != "$LAST_ERROR" ]
scenario silent 11 refresh timeout
check "  stopped at the idle timeout" [ "${LAST_ERROR#*idle timeout}" != "$LAST_ERROR" ]
scenario wrong-key 11 refresh tsig_badkey
scenario peer-badsig 11 refresh tsig_badsig
scenario badtime 11 refresh tsig_badtime

echo "after all that"
check "no transfer counted, still one AXFR" [ "$(zstat $XFR_ZONE transfers.axfr)/$(zstat $XFR_ZONE transfers.ixfr)" = 1/0 ]
check "saved timers still serial 10" grep -q '^serial 10$' "$TMP/storage/$XFR_ZONE.timers"
check "saved zone still serial 10, nothing of the bad transfers" bash -c "grep -q 'SOA.* 10 ' '$TMP/storage/$XFR_ZONE.zone' && ! grep -Eq 'more|big|192\.0\.2' '$TMP/storage/$XFR_ZONE.zone'"
check "not expired" [ "$(zstat $XFR_ZONE expired)" = False ]

echo "good serial 12 by NOTIFY: IXFR of two chained diffs (10 -> 11 -> 12)"
FAILS_BEFORE_GOOD=$(zfails_total $XFR_ZONE)
echo "good 12" >"$CTL"
t0=$(date +%s%N)
check "NOTIFY answered NOERROR, signed" notify
check "serial 12 within a second" wait_for 1 www_is 198.18.0.12
t1=$(date +%s%N)
echo "  (after $(( (t1 - t0) / 1000000 )) ms)"
check "new data from XDP" xdp_answer_is "txt.$XFR_ZONE" TXT '"serial 12"'
check "by IXFR" [ "$(zstat $XFR_ZONE transfers.ixfr)" = 1 ]
check "the IXFR asked from serial 10" grep -q 'IXFR (client serial 10): scenario good 12' "$TMP/bad.log"
check "serial 12 saved" wait_for 2 grep -q '^serial 12$' "$TMP/storage/$XFR_ZONE.timers"

echo "serial 13 by AXFR signed only on its first and last messages (as NSD)"
echo "sparse 13" >"$CTL"
check "zone retransfer exits 0" ctl zone retransfer $XFR_ZONE
check "serial 13 served" wait_for 10 www_is 198.18.0.13
check "a second AXFR, no new failure" [ "$(zstat $XFR_ZONE transfers.axfr)/$(zfails_total $XFR_ZONE)" = "2/$FAILS_BEFORE_GOOD" ]
check "the secret is in no log" bash -c "! grep -qF '$S' '$TMP/xdpns.log'"

xfr_stop_pid "$PID_bad"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
xfr_logs_if_failed
e2e_summary
