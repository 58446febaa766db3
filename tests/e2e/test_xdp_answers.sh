#!/usr/bin/env bash
# Serve a zone on a veth: kdig over IPv4 and IPv6 gets the right answers
# from XDP (counters prove it), XDP replies equal slow-path replies byte
# for byte, reload flips to new data, a bad zone file changes nothing, and
# SIGTERM detaches XDP and removes the control socket.
. "$(dirname "$0")/lib.sh"
e2e_require_root
netns_setup e2e || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
SOCK=$TMP/control.sock
cp "$ROOT/examples/example.com.zone" "$TMP/zone"
cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53", $SRV4@5353, "$SRV6@5353"]
  control: $SOCK
  identity: e2e-test
  version: "xdpns e2e"
zones:
  - name: example.com
    file: $TMP/zone
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
cli() { ip netns exec "$NS_CLI" "$@"; }

echo "answers over IPv4 and IPv6, from XDP"
a0=$(xdp_counter answered)
out=$(cli kdig @$SRV4 www.example.com A +short +norec)
check "IPv4 A www" [ "$out" = "198.18.0.80" ]
out=$(cli kdig @$SRV6 www.example.com AAAA +short)
check "IPv6 AAAA www" [ "$out" = "fd00:5353::80" ]
out=$(cli kdig @$SRV4 ALIAS.example.com A +short +noedns)
check "IPv4 CNAME chain" [ "$out" = "$(printf 'ftp.example.com.\nwww.example.com.\n198.18.0.80')" ]
out=$(cli kdig @$SRV6 example.com MX +short +dnssec)
check "IPv6 MX with DO" [ "$out" = "10 mail.example.com." ]
a1=$(xdp_counter answered)
check "4 queries answered in XDP (counter $a0 -> $a1)" [ $((a1 - a0)) = 4 ]
# stat PATH...: a counter of stats --json, e.g. stat xdp passed miss
stat() {
	ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" |
		$PY -c "import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[k]
print(d)" "$@"
}
n0=$(xdp_counter nx_synth)
out=$(cli kdig @$SRV4 nope.example.com A +norec)
check "NXDOMAIN for a name the zone lacks" grep -q 'status: NXDOMAIN' <<<"$out"
check "NXDOMAIN carries the SOA with the negative TTL" grep -qE 'example.com\.\s+300\s+IN\s+SOA' <<<"$out"
check "and was made in XDP (nx_synth $n0 -> $(xdp_counter nx_synth))" [ $(($(xdp_counter nx_synth) - n0)) = 1 ]
out=$(cli kdig @$SRV4 www.example.com MX +norec)
check "NODATA for a type not compiled: from the slow path" grep -q 'status: NOERROR.*' <<<"$out"
l0=$(xdp_counter lru_hits)
out=$(cli kdig @$SRV4 www.example.com MX +norec)
l1=$(xdp_counter lru_hits)
check "the same NODATA again comes from the XDP LRU" [ $((l1 - l0)) = 1 ]
check "and is still NODATA with the SOA" grep -qE 'example.com\.\s+300\s+IN\s+SOA' <<<"$out"

echo "random-subdomain flood: every NXDOMAIN made in XDP, nothing reaches the slow path"
n0=$(xdp_counter nx_synth); m0=$(stat xdp passed miss); s0=$(stat slowpath udp_queries)
check "2000 random names over IPv4, each NXDOMAIN with the SOA" \
	cli $PY "$ROOT/tests/e2e/nx_flood.py" $SRV4 example.com. 2000 300 1
check "1000 random names over IPv6" \
	cli $PY "$ROOT/tests/e2e/nx_flood.py" $SRV6 example.com. 1000 300 2
n1=$(xdp_counter nx_synth); m1=$(stat xdp passed miss); s1=$(stat slowpath udp_queries)
check "nx_synth counted all 3000 ($n0 -> $n1)" [ $((n1 - n0)) = 3000 ]
check "no miss passed to the slow path ($m0 -> $m1)" [ "$m1" = "$m0" ]
check "the slow path saw no query ($s0 -> $s1)" [ "$s1" = "$s0" ]
$PY - "$TMP/flood.txt" <<'EOP'
import random, string, sys
rnd = random.Random(5353)
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        label = "".join(rnd.choice(string.ascii_lowercase + string.digits)
                        for _ in range(rnd.randint(4, 16)))
        f.write("%s.example.com %s\n" % (label, "A" if i % 2 else "AAAA"))
EOP
n0=$(xdp_counter nx_synth); m0=$(stat xdp passed miss); s0=$(stat slowpath udp_queries)
out=$(cli dnsperf -s $SRV4 -d "$TMP/flood.txt" -n 1 -c 4 -q 200 -t 2 2>&1)
n1=$(xdp_counter nx_synth); m1=$(stat xdp passed miss); s1=$(stat slowpath udp_queries)
done_n=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' <<<"$out")
nx_n=$(sed -n 's/.*NXDOMAIN \([0-9]*\).*/\1/p' <<<"$out")
echo "    dnsperf: completed ${done_n:-?}, NXDOMAIN ${nx_n:-?}, $(grep -o 'Queries per second: *[0-9.]*' <<<"$out")"
check "dnsperf: 20000 random names sent, at least 99% answered" \
	[ "${done_n:-0}" -ge 19800 ]
check "every answer NXDOMAIN" [ "${nx_n:-x}" = "${done_n:-y}" ]
check "nx_synth moved by every query XDP saw ($((n1 - n0)) >= $done_n)" [ $((n1 - n0)) -ge "${done_n:-1}" ]
check "no miss passed to the slow path ($m0 -> $m1)" [ "$m1" = "$m0" ]
check "the slow path saw no query ($s0 -> $s1)" [ "$s1" = "$s0" ]
out=$(cli kdig @$SRV4 example.org A)
check "REFUSED outside our zones" grep -q 'status: REFUSED' <<<"$out"
out=$(cli kdig @$SRV4 big.example.com TXT +noedns)
check "TC from XDP, then the full answer over TCP" grep -q 'ANSWER: 4' <<<"$out"
a2=$(xdp_counter truncated)
check "truncated counter moved" [ "$a2" -ge 1 ]

echo "xdpns lookup"
lk() { ip netns exec "$NS_SRV" "$XDPNS" lookup "$@" -s "$SOCK"; }
out=$(lk www.example.com A)
check "lookup of a compiled key is a hit in the entries" grep -q "www.example.com A: hit in the entries" <<<"$out"
check "with its rcode and counts" grep -q "rcode NOERROR, AA, answer 1, authority 0, additional 0" <<<"$out"
check "in a slot of the entries table" grep -Eq "^  table slot [0-9]+, [0-7] after its home slot" <<<"$out"
check "its body in blob class XS" grep -q "body 16 bytes in blob class XS" <<<"$out"
out=$(lk www.example.com A --json)
check "and in JSON: table, slot, probe, XS" \
	$PY -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d['where']=='table' and d['table_slot']>=0 and 0<=d['probe']<8 and d['blob_class']=='XS'))" "$out"
out=$(lk mail.example.com TXT)
check "lookup of a key XDP lacks is a miss" grep -q "mail.example.com TXT: miss" <<<"$out"
out=$(lk never.example.com TXT)
check "lookup of a name the zone lacks: NXDOMAIN made by XDP" \
	grep -q "never.example.com TXT: no entry; XDP answers NXDOMAIN from the names (closest encloser example.com.)" <<<"$out"
out=$(lk a.b.never.example.com A --json)
check "and in JSON, with the encloser" \
	$PY -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d['hit'] and d['source']=='nxdomain' and d['rcode']=='NXDOMAIN' and d['encloser']=='example.com.' and d['authority']==1))" "$out"
out=$(lk b.c.example.com A)
check "an empty non-terminal is a miss, not NXDOMAIN" grep -q "b.c.example.com A: miss" <<<"$out"
out=$(lk www.example.com MX --json)
check "lookup --json of the NODATA cached earlier: hit in the LRU" \
	$PY -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d['hit'] and d['source']=='lru' and d['rcode']=='NOERROR'))" "$out"
out=$(lk big.example.com TXT --dnssec)
check "lookup of a body too big for UDP says so" grep -q "XDP answers TC=1\|body" <<<"$out"
lk www.example.com >/dev/null 2>&1
check "lookup without a type exits 2" [ $? = 2 ]

echo "stats --watch"
( for i in $(seq 1 30); do cli kdig @$SRV4 www.example.com A +short >/dev/null; sleep 0.1; done ) &
load=$!
out=$(timeout 3.5 ip netns exec "$NS_SRV" "$XDPNS" stats --watch 1 -s "$SOCK")
wait $load
check "stats --watch prints a header" grep -q "XDP ans/s" <<<"$out"
check "and rates: some queries per second answered in XDP" \
	bash -c "awk 'NR > 1 && \$2 > 0 { ok = 1 } END { exit !ok }' <<<\"\$1\"" _ "$out"
ip netns exec "$NS_SRV" "$XDPNS" stats --watch 0 -s "$SOCK" >/dev/null 2>&1
check "a bad --watch is a usage error (exit 2)" [ $? = 2 ]

echo "JSON output matches its documented schema (docs/json.md)"
for c in "status --json" "stats --json" "lookup www.example.com A --json" \
	"lookup nope.example.com A --json"; do
	ip netns exec "$NS_SRV" "$XDPNS" $c -s "$SOCK" >"$TMP/out.json"
	check "every key of '$c' is in docs/json.md" $PY -c '
import json, re, sys
doc = open(sys.argv[2]).read()
def keys(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from keys(v)
    elif isinstance(o, list):
        for v in o:
            yield from keys(v)
missing = sorted({k for k in keys(json.load(open(sys.argv[1])))
                  if not re.match(r"^[A-Z0-9]+$", k) and chr(34) + k + chr(34) not in doc})
if missing:
    print("    undocumented:", missing)
sys.exit(1 if missing else 0)' "$TMP/out.json" "$ROOT/docs/json.md"
done

echo "log lines"
check "every log line is one logfmt event: ts=... level=... msg=... fields" \
	$PY "$ROOT/tests/e2e/logfmt.py" "$TMP/log"
check "the attach is an event with its fields" \
	$PY "$ROOT/tests/e2e/logfmt.py" "$TMP/log" "xdp attached" level=info iface=$IF_SRV mode=native
check "the zone load is an event with its fields" \
	$PY "$ROOT/tests/e2e/logfmt.py" "$TMP/log" "zone loaded" zone=example.com. serial=2026112301 'records=~[0-9]+' 'ms=~[0-9]+'
check "so is the start" \
	$PY "$ROOT/tests/e2e/logfmt.py" "$TMP/log" "serving" zones=1 "control=$SOCK"

echo "zone list and zone show"
out=$(ip netns exec "$NS_SRV" "$XDPNS" zone list -s "$SOCK")
check "zone list shows the zone as a served primary" grep -qE '^example\.com\. +primary +2026112301 +[0-9]+ +[0-9]+  served$' <<<"$out"
check "zone list fits 100 columns" [ "$(awk '{ if (length > m) m = length } END { print m }' <<<"$out")" -le 100 ]
out=$(ip netns exec "$NS_SRV" "$XDPNS" zone show example.com -s "$SOCK")
check "zone show gives serial and XDP entries" bash -c 'grep -q "^serial     2026112301" <<<"$1" && grep -q "^xdp        [0-9]* entries" <<<"$1"' _ "$out"
ip netns exec "$NS_SRV" "$XDPNS" zone show nosuch.example -s "$SOCK" >/dev/null 2>&1
check "zone show of an unknown zone exits 1" [ $? = 1 ]

echo "detach and attach while running"
ctl() { ip netns exec "$NS_SRV" "$XDPNS" "$@" -s "$SOCK"; }
out=$(ctl detach $IF_SRV)
check "detach succeeds" grep -q "XDP detached" <<<"$out"
check "no XDP program on the interface" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
a0=$(xdp_counter answered)
out=$(cli kdig @$SRV4 www.example.com A +short)
check "still answered meanwhile (slow path)" [ "$out" = "198.18.0.80" ]
check "and not by XDP" [ "$(xdp_counter answered)" = "$a0" ]
ctl detach $IF_SRV >/dev/null 2>&1
check "detaching again fails (exit 1)" [ $? = 1 ]
out=$(ctl attach $IF_SRV --mode native)
check "attach succeeds in native mode" grep -q "attached in native mode" <<<"$out"
out=$(cli kdig @$SRV4 www.example.com A +short)
check "answered again" [ "$out" = "198.18.0.80" ]
check "by XDP" [ "$(xdp_counter answered)" = $((a0 + 1)) ]
ctl attach $IF_SRV >/dev/null 2>&1
check "attaching twice fails (exit 1)" [ $? = 1 ]
ctl attach $IF_SRV --mode fast >/dev/null 2>&1
check "a bad mode is a usage error (exit 2)" [ $? = 2 ]

echo "identity: CHAOS, NSID, cookies"
out=$(cli kdig @$SRV4 id.server CH TXT +short)
check "id.server CH TXT gives the identity" [ "$out" = '"e2e-test"' ]
out=$(cli kdig @$SRV4 version.bind CH TXT +short)
check "version.bind gives server.version" [ "$out" = '"xdpns e2e"' ]
out=$(cli kdig @$SRV4 www.example.com A +nsid)
check "NSID carries the identity" grep -q 'NSID: .*"e2e-test"' <<<"$out"
out=$(cli kdig @$SRV4 www.example.com A +cookie)
check "a client cookie gets a server cookie back (RFC 9018: 8+16 bytes, version 1)" grep -qiE 'COOKIE: [0-9a-f]{16}01000000[0-9a-f]{24}$' <<<"$out"

echo "a TSIG-signed query: NOTAUTH with TSIG error BADKEY (RFC 8945 5.2.1)"
check "TSIG query over UDP and TCP answered NOTAUTH/BADKEY, unsigned" cli $PY -c '
import socket, struct, sys
import dns.message, dns.tsigkeyring
kr = dns.tsigkeyring.from_text({"nokey.": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"})
q = dns.message.make_query("www.example.com", "A")
q.use_tsig(kr, keyname="nokey.")
w = q.to_wire()
def check(r):
    rcode = r[3] & 0xf
    ar = struct.unpack("!H", r[10:12])[0]
    err = struct.unpack("!H", r[-4:-2])[0]
    ok = r[:2] == w[:2] and rcode == 9 and ar == 1 and err == 17
    print("    rcode %d ar %d tsig error %d" % (rcode, ar, err))
    return ok
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.sendto(w, (sys.argv[1], 53)); r1 = u.recv(4096)
t = socket.create_connection((sys.argv[1], 53), timeout=2)
t.sendall(struct.pack("!H", len(w)) + w)
hdr = t.recv(2); r2 = b""
while len(r2) < struct.unpack("!H", hdr)[0]: r2 += t.recv(4096)
sys.exit(0 if check(r1) and check(r2) else 1)' $SRV4

echo "XDP and slow path agree byte for byte"
check "differential IPv4 (400 queries)" cli $PY "$ROOT/tests/e2e/diff.py" $SRV4 "$TMP/zone" example.com. 400
check "differential IPv6 (200 queries)" cli $PY "$ROOT/tests/e2e/diff.py" $SRV6 "$TMP/zone" example.com. 200

echo "reload"
sed -i 's/^www     IN A    198.18.0.80/www     IN A    198.18.0.81/; s/2026112301/2026112302/' "$TMP/zone"
check "reload succeeds" ip netns exec "$NS_SRV" "$XDPNS" reload -s "$SOCK"
out=$(cli kdig @$SRV4 www.example.com A +short)
check "new data served after reload" [ "$out" = "198.18.0.81" ]
cp "$TMP/zone" "$TMP/zone.good"
echo 'broken IN A 300.1.2.3' >>"$TMP/zone"
err=$(ip netns exec "$NS_SRV" "$XDPNS" reload -s "$SOCK" 2>&1)
rc=$?
check "reload of a bad zone fails (exit 1)" [ $rc = 1 ]
check "the error names file:line" grep -q "$TMP/zone:[0-9]*:" <<<"$err"
out=$(cli kdig @$SRV4 www.example.com A +short)
check "old data still served" [ "$out" = "198.18.0.81" ]
out=$(ip netns exec "$NS_SRV" "$XDPNS" status -s "$SOCK")
check "status shows the attached interface" grep -qE "^$IF_SRV +native" <<<"$out"
check "status shows the serial" grep -q '2026112302' <<<"$out"

echo "shutdown"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
check "XDP detached" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
check "control socket removed" [ ! -e "$SOCK" ]
check "the stop is a logfmt event" $PY "$ROOT/tests/e2e/logfmt.py" "$TMP/log" stopped result=ok 'uptime_s=~[0-9]+'
check "so is the signal" $PY "$ROOT/tests/e2e/logfmt.py" "$TMP/log" "shutting down" signal=15
e2e_summary
