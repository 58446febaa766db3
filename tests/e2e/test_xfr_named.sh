#!/usr/bin/env bash
# xdpns as secondary of a BIND named primary with TSIG (hmac-sha512):
# first AXFR, then a change (zone file rewritten, rndc reload) that named
# turns into a journal diff (ixfr-from-differences) and announces by
# signed NOTIFY (also-notify): the new data answered from XDP within a
# second, by IXFR. Then a second change by IXFR, and a retransfer (AXFR).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
xfr_setup xnamed named rndc kdig
PORT=5301
RNDC_PORT=5953

SB=$(xfr_secret "$TMP/kb.secret")
SR=$(head -c 32 /dev/urandom | base64)
mkdir -p "$TMP/named"
cat >"$TMP/named.conf" <<EOC
options {
	directory "$TMP/named";
	pid-file "$TMP/named/named.pid";
	session-keyfile "$TMP/named/session.key";
	managed-keys-directory "$TMP/named";
	listen-on port $PORT { $CLI4; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify explicit;
	notify-delay 0;
};
key "key-b" { algorithm hmac-sha512; secret "$SB"; };
key "rndc-key" { algorithm hmac-sha256; secret "$SR"; };
controls { inet 127.0.0.1 port $RNDC_PORT allow { 127.0.0.1; } keys { "rndc-key"; }; };
logging { channel e { stderr; severity info; print-time yes; }; category default { e; }; };
zone "$XFR_ZONE" {
	type primary;
	file "$XFR_ZONE.zone";
	ixfr-from-differences yes;
	allow-transfer { key "key-b"; };
	also-notify { $SRV4 port 53 key "key-b"; };
};
EOC
cat >"$TMP/rndc.conf" <<EOC
key "rndc-key" { algorithm hmac-sha256; secret "$SR"; };
options { default-key "rndc-key"; default-server 127.0.0.1; default-port $RNDC_PORT; };
EOC
check "named-checkconf accepts the configuration" named-checkconf "$TMP/named.conf"
xfr_zone "$TMP/named/$XFR_ZONE.zone" 1 80
xfr_start_primary named named -g -c "$TMP/named.conf"
PID_named=$PRIM_PID
check "named serves serial 1" wait_for 10 eval '[ "$(qp $PORT $XFR_ZONE SOA | awk "{print \$3}")" = 1 ]'
rndc_() { ip netns exec "$NS_CLI" rndc -c "$TMP/rndc.conf" "$@" >/dev/null; }
# a rewritten zone file must look newer to named than the one it loaded
newer_zone() { # SERIAL WWW_OCTET
	xfr_zone "$TMP/named/$XFR_ZONE.zone" "$1" "$2"
	touch -d "@$(( $(date +%s) + $1 ))" "$TMP/named/$XFR_ZONE.zone"
}

cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  storage: $TMP/storage
  xfr-idle-timeout: 2
keys:
  - name: key-b
    algorithm: hmac-sha512
    secret-file: $TMP/kb.secret
remotes:
  - id: named
    address: $CLI4@$PORT
    key: key-b
zones:
  - name: $XFR_ZONE
    primaries: [named]
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1

xfr_first_transfer named "$SB"

echo "change on the primary, rndc reload, NOTIFY, IXFR"
newer_zone 2 81
t0=$(date +%s%N)
check "rndc reload" rndc_ reload $XFR_ZONE
check "new data within a second of the reload" wait_for 1 www_is 198.18.0.81
t1=$(date +%s%N)
echo "  (after $(( (t1 - t0) / 1000000 )) ms)"
check "serial 2 served" serial_is 2
check "new data from XDP" xdp_answer_is "www.$XFR_ZONE" A "198.18.0.81"
check "TXT of the new serial from XDP" [ "$(q "txt.$XFR_ZONE" TXT)" = '"serial 2"' ]
check "IXFR was used" [ "$(zstat $XFR_ZONE transfers.ixfr)/$(zstat $XFR_ZONE transfers.axfr)" = 1/1 ]
check "signed NOTIFY accepted" [ "$(zstat $XFR_ZONE notify.accepted)" -ge 1 ]
check "NOTIFY refused: none" [ "$(zstat $XFR_ZONE notify.refused)" = 0 ]
check "no failure counted" [ "$(zfails_total $XFR_ZONE)" = 0 ]
check "serial 2 saved" wait_for 2 grep -q '^serial 2$' "$TMP/storage/$XFR_ZONE.timers"

echo "a second change: IXFR again"
newer_zone 3 82
check "rndc reload" rndc_ reload $XFR_ZONE
check "serial 3 within a second" wait_for 1 www_is 198.18.0.82
check "TXT of serial 3" [ "$(q "txt.$XFR_ZONE" TXT)" = '"serial 3"' ]
check "two IXFRs, one AXFR" [ "$(zstat $XFR_ZONE transfers.ixfr)/$(zstat $XFR_ZONE transfers.axfr)" = 2/1 ]
check "the saved copy is serial 3" grep -q 'IN[[:space:]]*SOA.* 3 ' "$TMP/storage/$XFR_ZONE.zone"

echo "retransfer: AXFR of the same data"
check "zone retransfer (CLI) exits 0" ip netns exec "$NS_SRV" "$XDPNS" zone retransfer $XFR_ZONE -s "$SOCK"
check "retransfer made an AXFR" wait_for 5 eval '[ "$(zstat $XFR_ZONE transfers.axfr)" = 2 ]'
check "still serial 3" serial_is 3
check "no failure counted" [ "$(zfails_total $XFR_ZONE)" = 0 ]

xfr_stop_pid "$PID_named"
check "named stopped" bash -c "! kill -0 $PID_named 2>/dev/null"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
xfr_logs_if_failed
e2e_summary
