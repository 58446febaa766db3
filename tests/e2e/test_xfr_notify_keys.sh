#!/usr/bin/env bash
# NOTIFY under load, TSIG key rotation and transfers over IPv6, against the
# scripted primary (bad_primary.py), one per address family:
#
# - IPv6: a primary on the client's fd00:5353::2 (remote "ADDR@PORT"):
#   the first AXFR, then a NOTIFY over IPv6 and an IXFR; the answers from
#   XDP over IPv4 and IPv6.
# - NOTIFY flood: 300 signed NOTIFYs in one second from the primary's
#   address while the primary takes a second for each SOA answer and each
#   transfer. Every NOTIFY is answered NOERROR and signed; XDP and the slow
#   path keep answering during the flood; the primary sees requests one at
#   a time (never two in progress), at most 2 transfers and 3 SOA queries.
#   Then NOTIFYs from an address not in notify-from (REFUSED), unsigned,
#   with a wrong secret (NOTAUTH, TSIG error BADSIG) and with an unknown
#   key (NOTAUTH, BADKEY): each counted refused, none starts a refresh.
# - Key rotation: the remote has keys [key-old, key-new]. The primary
#   moves from accepting only key-old to only key-new (answering BADKEY to
#   key-old): a NOTIFY signed with key-new, and the IXFR still succeeds in
#   the same refresh, no failure counted, one key fallback counted; the
#   next refresh starts with key-new (no second fallback). key-old is then
#   retired from the config (restart): served from disk, NOTIFYs signed
#   with key-old are refused, key-new transfers go on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
xfr_setup xnk kdig dnspython
PORT=5302
PORT6=5303
BAD=$ROOT/tests/e2e/bad_primary.py
CTL=$TMP/scenario
CTL6=$TMP/scenario6
COUNTS=$TMP/counts.json
ZONE6=six.test
OTHER4=198.18.0.3 # a client address that is not in notify-from

S_OLD=$(xfr_secret "$TMP/old.secret")
S_NEW=$(xfr_secret "$TMP/new.secret")
S6=$(xfr_secret "$TMP/six.secret")
OLDARGS=(--zone $XFR_ZONE --key-name key-old --key-alg hmac-sha256 --secret-file "$TMP/old.secret")
NEWARGS=(--zone $XFR_ZONE --key-name key-new --key-alg hmac-sha256 --secret-file "$TMP/new.secret")
ARGS6=(--zone $ZONE6 --key-name key-6 --key-alg hmac-sha256 --secret-file "$TMP/six.secret")
ip -n "$NS_CLI" addr add $OTHER4/24 dev "$IF_CLI"

echo "good 10 key=key-old" >"$CTL"
echo "good 20" >"$CTL6"
xfr_start_primary bad $PY "$BAD" serve --addr $CLI4 --port $PORT --control "$CTL" \
	"${OLDARGS[@]}" --extra-key "key-new=$TMP/new.secret" --counts "$COUNTS"
PID_bad=$PRIM_PID
xfr_start_primary bad6 $PY "$BAD" serve --addr $CLI6 --port $PORT6 --control "$CTL6" "${ARGS6[@]}"
PID_bad6=$PRIM_PID
check "primary (IPv4) serves serial 10 signed with key-old" wait_for 10 eval \
	'[ "$(qp $PORT -y hmac-sha256:key-old:$S_OLD $XFR_ZONE SOA | head -1 | awk "{print \$3}")" = 10 ]'
check "primary (IPv6) serves serial 20" wait_for 10 eval \
	'[ "$(ip netns exec $NS_CLI kdig @$CLI6 -p $PORT6 +short +norec +time=1 +retry=0 -y hmac-sha256:key-6:$S6 $ZONE6 SOA | head -1 | awk "{print \$3}")" = 20 ]'

# config KEYS: the xfr.test remote's key list
write_config() {
	cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, $SRV6@53]
  control: $SOCK
  storage: $TMP/storage
  xfr-idle-timeout: 3
  xfr-timeout: 8
keys:
  - name: key-old
    algorithm: hmac-sha256
    secret-file: $TMP/old.secret
  - name: key-new
    algorithm: hmac-sha256
    secret-file: $TMP/new.secret
  - name: key-6
    algorithm: hmac-sha256
    secret-file: $TMP/six.secret
remotes:
  - id: bad
    address: $CLI4@$PORT
    key: $1
  - id: bad6
    address: $CLI6@$PORT6
    key: key-6
zones:
  - name: $XFR_ZONE
    primaries: [bad]
  - name: $ZONE6
    primaries: [bad6]
EOC
}
write_config "[key-old, key-new]"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1

ctl() { ip netns exec "$NS_SRV" "$XDPNS" "$@" -s "$SOCK" >/dev/null; }
idle() { [ "$(zstat "$1" transferring)" = False ]; }
# notify ARGS...: bad_primary.py notify from the client namespace
notify() { ip netns exec "$NS_CLI" $PY "$BAD" notify --port 53 "$@"; }
# counts KEY: what the IPv4 primary received
counts() { $PY -c "import json; print(json.load(open('$COUNTS'))['$1'])"; }
q6() { ip netns exec "$NS_CLI" kdig @$SRV6 +short +norec +time=1 +retry=0 "$@"; }

echo "first transfers"
check "xfr.test: AXFR, serial 10 served" wait_for 10 serial_is 10
check "six.test: AXFR over IPv6, serial 20 served" wait_for 10 eval '[ "$(q $ZONE6 SOA | awk "{print \$3}")" = 20 ]'
check "no failure, no key fallback" [ "$(zfails_total $XFR_ZONE)/$(zfails_total $ZONE6)/$(zstat $XFR_ZONE tsig_key_fallbacks)" = 0/0/0 ]

echo "IPv6: NOTIFY from fd00:5353::2, IXFR"
echo "good 21" >"$CTL6"
check "NOTIFY over IPv6 answered NOERROR, signed" notify --server $SRV6 "${ARGS6[@]}"
check "serial 21 within 2 s" wait_for 2 eval '[ "$(q6 www.$ZONE6 A)" = 198.18.0.21 ]'
a0=$(xdp_counter answered)
out=$(q "txt.$ZONE6" TXT)/$(q6 "txt.$ZONE6" TXT)
a1=$(xdp_counter answered)
check "new data from XDP over IPv4 and IPv6" [ "$out/$((a1 - a0))" = '"serial 21"/"serial 21"/2' ]
check "one AXFR then one IXFR, no failure" [ "$(zstat $ZONE6 transfers.axfr)/$(zstat $ZONE6 transfers.ixfr)/$(zfails_total $ZONE6)" = 1/1/0 ]
check "the IXFR asked from serial 20, over IPv6" grep -q 'IXFR (client serial 20): scenario good 21' "$TMP/bad6.log"
check "primary used: bad6" [ "$(zstat $ZONE6 primary)" = bad6 ]

echo "NOTIFY flood: 300 signed NOTIFYs in 1 s, the primary slow (1 s per SOA answer and transfer)"
wait_for 5 idle $XFR_ZONE
n_soa=$(counts soa); n_xfr=$(($(counts axfr) + $(counts ixfr)))
acc0=$(zstat $XFR_ZONE notify.accepted)
echo "good 11 key=key-old delay=1" >"$CTL"
notify --server $SRV4 "${OLDARGS[@]}" --count 300 --duration 1 >"$TMP/flood.out" 2>&1 &
FLOOD=$!
# meanwhile: XDP (UDP, counted) and the slow path (TCP) answer
during_ok=0 during_n=0
a0=$(xdp_counter answered)
t_end=$(($(date +%s%N) + 1000000000))
while [ "$(date +%s%N)" -lt "$t_end" ]; do
	during_n=$((during_n + 1))
	u=$(q "h7.$XFR_ZONE" A)
	t=$(q +tcp "h8.$XFR_ZONE" A)
	[ "$u/$t" = 198.18.1.7/198.18.1.8 ] && during_ok=$((during_ok + 1))
done
a1=$(xdp_counter answered)
wait "$FLOOD"
rc=$?
echo "    $(cat "$TMP/flood.out")"
check "every NOTIFY answered NOERROR, its TSIG verified" [ $rc = 0 ]
check "during the flood: $during_ok/$during_n UDP+TCP query pairs answered" eval '[ "$during_n" -gt 2 ] && [ "$during_ok" = "$during_n" ]'
check "during the flood: the UDP ones from XDP" [ $((a1 - a0)) -ge "$during_n" ]
check "300 NOTIFYs counted accepted" [ $(($(zstat $XFR_ZONE notify.accepted) - acc0)) = 300 ]
check "serial 11 served" wait_for 8 serial_is 11
check "then the refreshes end" wait_for 8 idle $XFR_ZONE
sleep 0.5 # a refresh queued behind would have started by now
check "and stay ended" idle $XFR_ZONE
d_soa=$(($(counts soa) - n_soa))
d_xfr=$(($(counts axfr) + $(counts ixfr) - n_xfr))
echo "    the primary saw $d_soa SOA queries, $d_xfr transfers, at most $(counts max_busy) at a time"
check "one request at a time at the primary" [ "$(counts max_busy)" = 1 ]
check "a bounded number of SOA queries (1..3)" eval '[ "$d_soa" -ge 1 ] && [ "$d_soa" -le 3 ]'
check "a bounded number of transfers (1..2)" eval '[ "$d_xfr" -ge 1 ] && [ "$d_xfr" -le 2 ]'
check "no failure" [ "$(zfails_total $XFR_ZONE)" = 0 ]
check "daemon alive, status answers" bash -c "kill -0 $XDPNS_PID && ip netns exec $NS_SRV $XDPNS status -s $SOCK >/dev/null"

echo "NOTIFYs refused"
echo "good 11 key=key-old" >"$CTL"
ref0=$(zstat $XFR_ZONE notify.refused)
acc0=$(zstat $XFR_ZONE notify.accepted)
n_soa=$(counts soa)
refused() {
	local out
	out=$(notify --server $SRV4 --count 5 --duration 0.2 "$@")
	local rc=$?
	echo "    $out"
	[ $rc = 0 ] || return 1
	LAST_OUT=$out
}
check "from $OTHER4 (not in notify-from), signed: REFUSED" refused "${OLDARGS[@]}" --source $OTHER4 --expect REFUSED
check "unsigned: NOTAUTH" refused "${OLDARGS[@]}" --sign none --expect NOTAUTH
check "key-old with a wrong secret: NOTAUTH" refused "${OLDARGS[@]}" --sign bad --expect NOTAUTH
check "  with TSIG error BADSIG (unsigned)" eval '[[ "$LAST_OUT" == *"\"PeerBadSignature\": 5"* ]]'
check "an unknown key: NOTAUTH" refused "${OLDARGS[@]}" --sign other --expect NOTAUTH
check "  with TSIG error BADKEY (unsigned)" eval '[[ "$LAST_OUT" == *"\"PeerBadKey\": 5"* ]]'
check "20 counted refused, none accepted" [ "$(($(zstat $XFR_ZONE notify.refused) - ref0))/$(($(zstat $XFR_ZONE notify.accepted) - acc0))" = 20/0 ]
sleep 0.6
check "no refresh started by them" [ "$(counts soa)/$(zstat $XFR_ZONE transferring)" = "$n_soa/False" ]

echo "key rotation: the primary accepts only key-new now"
badkey0=$(counts badkey)
echo "good 12 key=key-new" >"$CTL"
check "NOTIFY signed with key-new answered NOERROR, signed" notify --server $SRV4 "${NEWARGS[@]}"
check "serial 12 within 2 s" wait_for 2 www_is 198.18.0.12
check "refreshes end" wait_for 5 idle $XFR_ZONE
check "by IXFR, signed with key-new" grep -q 'IXFR (client serial 11): scenario good 12, key key-new' "$TMP/bad.log"
check "the primary refused key-old (BADKEY) once" [ $(($(counts badkey) - badkey0)) = 1 ]
check "no failure counted, one key fallback" [ "$(zfails_total $XFR_ZONE)/$(zstat $XFR_ZONE tsig_key_fallbacks)" = 0/1 ]
check "two IXFRs in all" [ "$(zstat $XFR_ZONE transfers.ixfr)" = 2 ]
echo "good 13 key=key-new" >"$CTL"
check "the next NOTIFY (key-new)" notify --server $SRV4 "${NEWARGS[@]}"
check "serial 13 within 2 s" wait_for 2 www_is 198.18.0.13
check "refreshes end" wait_for 5 idle $XFR_ZONE
check "key-new first this time: no BADKEY, no second fallback" [ "$(($(counts badkey) - badkey0))/$(zstat $XFR_ZONE tsig_key_fallbacks)/$(zfails_total $XFR_ZONE)" = 1/1/0 ]

echo "key-old retired from the config (restart)"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
write_config "[key-new]"
cp "$TMP/xdpns.log" "$TMP/xdpns-1.log"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1
check "serial 13 served from disk" wait_for 3 www_is 198.18.0.13
check "the SOA check with key-new: up to date, no failure" wait_for 5 eval '[ "$(zstat $XFR_ZONE transfers.up_to_date)/$(zfails_total $XFR_ZONE)" = 1/0 ]'
check "a NOTIFY signed with key-old: NOTAUTH, TSIG error BADKEY" eval \
	'notify --server $SRV4 "${OLDARGS[@]}" --expect NOTAUTH | grep -q "\"PeerBadKey\": 1"'
check "  counted refused" [ "$(zstat $XFR_ZONE notify.refused)" = 1 ]
echo "good 14 key=key-new" >"$CTL"
check "NOTIFY signed with key-new" notify --server $SRV4 "${NEWARGS[@]}"
check "serial 14 within 2 s, by IXFR" wait_for 2 eval '[ "$(q www.$XFR_ZONE A)/$(zstat $XFR_ZONE transfers.ixfr)" = 198.18.0.14/1 ]'
check "no failure, no key fallback" [ "$(zfails_total $XFR_ZONE)/$(zstat $XFR_ZONE tsig_key_fallbacks)" = 0/0 ]
check "six.test still serial 21 (from disk)" [ "$(q6 txt.$ZONE6 TXT)" = '"serial 21"' ]
check "no secret in the logs" bash -c "! grep -qF -e '$S_OLD' -e '$S_NEW' -e '$S6' '$TMP/xdpns.log' '$TMP/xdpns-1.log'"

xfr_stop_pid "$PID_bad"
xfr_stop_pid "$PID_bad6"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
xfr_logs_if_failed
e2e_summary
