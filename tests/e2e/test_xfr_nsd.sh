#!/usr/bin/env bash
# xdpns as secondary of an NSD primary with TSIG (hmac-sha256): first
# AXFR, then a change (zone file rewritten, nsd-control reload) that NSD
# announces by signed NOTIFY: the new data answered from XDP within a
# second. NSD before 4.7 has no IXFR out (it answers an IXFR query with
# the whole zone), so the kind expected depends on the version: IXFR
# from 4.7 on (store-ixfr + create-ixfr), AXFR below.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xfr_lib.sh"
BIG_ZONE=big.test
BIG_N=30000
xfr_setup xnsd nsd nsd-control kdig
PORT=5301

NSD_VER=$(nsd -v 2>&1 | sed -n 's/^NSD version \([0-9.]*\).*/\1/p')
if printf '%s\n4.7.0\n' "$NSD_VER" | sort -V -C; then
	NSD_IXFR=0 # NSD_VER < 4.7.0
else
	NSD_IXFR=1
fi
echo "NSD $NSD_VER: IXFR out $([ $NSD_IXFR = 1 ] && echo yes || echo "no (answers IXFR with the whole zone)")"

SN=$(xfr_secret "$TMP/kn.secret")
mkdir -p "$TMP/nsd"
cat >"$TMP/nsd.conf" <<EOC
server:
  ip-address: $CLI4@$PORT
  zonesdir: "$TMP/nsd"
  pidfile: "$TMP/nsd/nsd.pid"
  xfrdfile: "$TMP/nsd/xfrd.state"
  xfrdir: "$TMP/nsd"
  zonelistfile: "$TMP/nsd/zone.list"
  database: ""
  username: ""
  chroot: ""
  server-count: 1
  verbosity: 2
remote-control:
  control-enable: yes
  control-interface: "$TMP/nsd/ctl.sock"
key:
  name: key-n
  algorithm: hmac-sha256
  secret: "$SN"
zone:
  name: $XFR_ZONE
  zonefile: "$XFR_ZONE.zone"
  provide-xfr: $SRV4 key-n
  notify: $SRV4@53 key-n
zone:
  name: $BIG_ZONE
  zonefile: "$BIG_ZONE.zone"
  provide-xfr: $SRV4 key-n
  provide-xfr: $CLI4 key-n
EOC
if [ $NSD_IXFR = 1 ]; then
	sed -i "s|^  notify: .*|&\n  store-ixfr: yes\n  create-ixfr: yes|" "$TMP/nsd.conf"
fi
check "nsd-checkconf accepts the configuration" nsd-checkconf "$TMP/nsd.conf"
xfr_zone "$TMP/nsd/$XFR_ZONE.zone" 1 80
# big enough for NSD to sign only some messages of its AXFR (RFC 8945
# 5.3.1 lets a server leave up to 99 in a row unsigned)
{
	printf '$ORIGIN %s.\n$TTL 300\n@ SOA ns1 hostmaster 7 300 2 600 60\n@ NS ns1\nns1 A %s\n' "$BIG_ZONE" "$CLI4"
	for i in $(seq 1 $BIG_N); do echo "host-$i TXT \"record number $i of the big zone, for many messages\""; done
} >"$TMP/nsd/$BIG_ZONE.zone"
xfr_start_primary nsd nsd -c "$TMP/nsd.conf" -d
PID_nsd=$PRIM_PID
check "nsd serves serial 1" wait_for 10 eval '[ "$(qp $PORT $XFR_ZONE SOA | awk "{print \$3}")" = 1 ]'

cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  storage: $TMP/storage
  xfr-idle-timeout: 2
keys:
  - name: key-n
    algorithm: hmac-sha256
    secret-file: $TMP/kn.secret
remotes:
  - id: nsd
    address: $CLI4@$PORT
    key: key-n
zones:
  - name: $XFR_ZONE
    primaries: [nsd]
  - name: $BIG_ZONE
    primaries: [nsd]
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || exit 1

xfr_first_transfer nsd "$SN"

echo "a big zone: many messages"
# the secondary has no data of it at start: it fits in the default room
# of server.map-keys (docs/design.md, Map sizes)
# How many of its messages NSD signs (RFC 8945 5.3.1 lets it leave up to
# 99 in a row unsigned; the secondary must accept that): an AXFR from the
# client side, reading the messages until the connection is quiet.
signed=$(ip netns exec "$NS_CLI" $PY - "$CLI4" "$PORT" "$BIG_ZONE" "$SN" <<'EOP'
import socket, struct, sys
import dns.message, dns.name, dns.tsig
addr, port, zone, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
key = dns.tsig.Key("key-n.", secret, "hmac-sha256")
q = dns.message.make_query(zone, "AXFR")
q.use_tsig(key)
w = q.to_wire()
s = socket.create_connection((addr, port), timeout=2)
s.sendall(struct.pack("!H", len(w)) + w)
buf, n, signed = b"", 0, 0
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            ln = struct.unpack("!H", buf[:2])[0]
            m, buf = buf[2:2 + ln], buf[2 + ln:]
            n += 1
            signed += struct.unpack("!H", m[10:12])[0] > 0  # only a TSIG
except socket.timeout:
    pass
print(f"{signed}/{n}")
EOP
)
echo "  (NSD signed $signed messages of its AXFR of $BIG_ZONE)"
check "more than 100 messages" [ "${signed#*/}" -gt 100 ]
check "transferred and served" wait_for 20 eval '[ "$(q "host-$BIG_N.$BIG_ZONE" TXT)" = "\"record number $BIG_N of the big zone, for many messages\"" ]'
check "one AXFR, no failure" [ "$(zstat $BIG_ZONE transfers.axfr)/$(zfails_total $BIG_ZONE)" = 1/0 ]

echo "change on the primary, nsd-control reload, NOTIFY"
xfr_zone "$TMP/nsd/$XFR_ZONE.zone" 2 81
t0=$(date +%s%N)
nsd_control() { ip netns exec "$NS_CLI" nsd-control -c "$TMP/nsd.conf" "$@" >/dev/null; }
check "nsd-control reload" nsd_control reload $XFR_ZONE
check "new data within a second of the reload" wait_for 1 www_is 198.18.0.81
t1=$(date +%s%N)
echo "  (after $(( (t1 - t0) / 1000000 )) ms)"
check "serial 2 served" serial_is 2
check "new data from XDP" xdp_answer_is "www.$XFR_ZONE" A "198.18.0.81"
check "TXT of the new serial from XDP" [ "$(q "txt.$XFR_ZONE" TXT)" = '"serial 2"' ]
check "signed NOTIFY accepted" [ "$(zstat $XFR_ZONE notify.accepted)" -ge 1 ]
check "NOTIFY refused: none" [ "$(zstat $XFR_ZONE notify.refused)" = 0 ]
ixfr=$(zstat $XFR_ZONE transfers.ixfr)
axfr=$(zstat $XFR_ZONE transfers.axfr)
echo "  (transfers: ixfr $ixfr, axfr $axfr)"
if [ $NSD_IXFR = 1 ]; then
	check "IXFR was used" [ "$ixfr/$axfr" = 1/1 ]
else
	check "NSD $NSD_VER answered our IXFR query with the whole zone (AXFR)" [ "$ixfr/$axfr" = 0/2 ]
fi
check "no failure counted" [ "$(zfails_total $XFR_ZONE)" = 0 ]
check "serial 2 saved" wait_for 2 grep -q '^serial 2$' "$TMP/storage/$XFR_ZONE.timers"

echo "refresh with nothing new"
check "zone refresh (CLI) exits 0" ip netns exec "$NS_SRV" "$XDPNS" zone refresh $XFR_ZONE -s "$SOCK"
check "up to date after refresh" wait_for 5 eval '[ "$(zstat $XFR_ZONE transfers.up_to_date)" -ge 1 ]'
check "still serial 2" serial_is 2

xfr_stop_pid "$PID_nsd"
check "nsd stopped" bash -c "! kill -0 $PID_nsd 2>/dev/null"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
xfr_logs_if_failed
e2e_summary
