#!/usr/bin/env bash
# Differential test against Knot DNS (issue 3, item 5): the same zone content
# (tests/e2e/zones/diff.zone) served unsigned, NSEC-signed, NSEC3-signed and
# NSEC3-signed with the opt-out flag, by knotd (port 5300) and by xdpns
# (port 53, XDP attached) in one server namespace; knot_diff.py sends the
# same queries to both from the client namespace over IPv4 and IPv6 and
# compares the replies. The zones are signed here, at run time, with fresh
# keys and fixed inception/expiration dates.
#
# Not named test_*.sh yet: it fails until the engine is complete (issue 3),
# and `make test` must stay green. Run it as root from the repository:
#   tests/e2e/test_knot_diff.sh
# Environment: KNOT_DIFF_COUNT4 / KNOT_DIFF_COUNT6 (queries per family, or
# "all"), KNOT_DIFF_SHOW (differences printed per kind, or "all"),
# KNOT_DIFF_REPORT (directory for the full lists of differences),
# KNOT_DIFF_HOLD=SECONDS (keep both servers up that long after the run, to
# probe them by hand with kdig from the client namespace; SIGTERM ends it).
. "$(dirname "$0")/lib.sh"
e2e_require_root
START=$(date +%s)
COUNT4=${KNOT_DIFF_COUNT4:-8000}
COUNT6=${KNOT_DIFF_COUNT6:-3000}
SHOW=${KNOT_DIFF_SHOW:-8}
REPORT=${KNOT_DIFF_REPORT:-$ROOT/build/knot-diff}
INCEPTION=20240101000000
EXPIRATION=20371231000000

for tool in knotd knotc kdig ldns-signzone ldns-keygen; do
	if ! command -v $tool >/dev/null; then
		echo "FAIL: $tool is missing; run scripts/deps.sh as root"
		exit 1
	fi
done
if [ ! -x "$XDPNS" ] || [ ! -f "$PEER_PASS_OBJ" ]; then
	echo "FAIL: $XDPNS or $PEER_PASS_OBJ is missing; run make first"
	exit 1
fi
echo "reference: $(knotd -V)"

TMP=$(mktemp -d)
KNOT_PID=
HOLD_PID=
cleanup() {
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	if [ -n "$KNOT_PID" ]; then
		kill -TERM "$KNOT_PID" 2>/dev/null && wait "$KNOT_PID" 2>/dev/null
		KNOT_PID=
	fi
	netns_cleanup
	rm -rf "$TMP"
}
netns_setup kdiff || { echo "FAIL: cannot create namespaces"; cleanup; exit 1; }
trap cleanup EXIT
cli() { ip netns exec "$NS_CLI" "$@"; }

echo "zones"
ZONES="unsigned.test nsec.test nsec3.test nsec3o.test"
mkdir -p "$TMP/zones" "$TMP/keys" "$TMP/knot"
sign() { # ZONE [ldns-signzone NSEC3 options]
	local z=$1 ksk zsk
	shift
	ksk=$(cd "$TMP/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$z.") &&
		zsk=$(cd "$TMP/keys" && ldns-keygen -a ECDSAP256SHA256 "$z.") &&
		ldns-signzone "$@" -i $INCEPTION -e $EXPIRATION -o "$z." \
			-f "$TMP/zones/$z.zone" "$TMP/zones/$z.in" \
			"$TMP/keys/$ksk" "$TMP/keys/$zsk"
}
signed_ok=1
for z in $ZONES; do
	{ printf '$ORIGIN %s.\n$TTL 3600\n' "$z"; cat "$ROOT/tests/e2e/zones/diff.zone"; } >"$TMP/zones/$z.in"
	case $z in
	unsigned.test) cp "$TMP/zones/$z.in" "$TMP/zones/$z.zone" ;;
	nsec.test) sign "$z" || signed_ok=0 ;;
	nsec3.test) sign "$z" -n -a 1 -t 0 || signed_ok=0 ;;
	nsec3o.test) sign "$z" -n -a 1 -t 1 -s aabbccdd -p || signed_ok=0 ;;
	esac
done
check "zones signed (NSEC, NSEC3, NSEC3 opt-out; valid $INCEPTION-$EXPIRATION)" [ $signed_ok = 1 ]

{
	cat <<EOC
server:
    rundir: "$TMP/knot"
    listen: [ $SRV4@5300, $SRV6@5300 ]
    udp-max-payload: 1232
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$TMP/knot"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$TMP/zones"
    file: "%s.zone"
    dnssec-signing: off
    semantic-checks: off
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
zone:
EOC
	for z in $ZONES; do echo "  - domain: $z."; done
} >"$TMP/knot.conf"
ip netns exec "$NS_SRV" knotd -c "$TMP/knot.conf" >"$TMP/knot.log" 2>&1 &
KNOT_PID=$!
knot_up=0
for _ in $(seq 1 100); do
	n=0
	for z in $ZONES; do
		[ -n "$(cli kdig @$SRV4 -p 5300 +short +time=1 +retry=0 SOA $z. 2>/dev/null)" ] && n=$((n + 1))
	done
	[ $n = 4 ] && { knot_up=1; break; }
	kill -0 "$KNOT_PID" 2>/dev/null || break
	sleep 0.1
done
check "knotd serves the four zones" [ $knot_up = 1 ]
if [ $knot_up != 1 ]; then
	echo "knotd log:"
	cat "$TMP/knot.log"
	e2e_summary
	exit 1
fi
ip netns exec "$NS_SRV" knotc -c "$TMP/knot.conf" zone-status | sed 's/^/  knot: /'

SOCK=$TMP/control.sock
{
	cat <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53"]
  control: $SOCK
zones:
EOC
	for z in $ZONES; do
		printf '  - name: %s\n    file: %s\n' "$z." "$TMP/zones/$z.zone"
	done
} >"$TMP/xdpns.yaml"
if netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log"; then
	ok "xdpns serves the four zones with XDP on $IF_SRV"
else
	fail "xdpns serves the four zones with XDP on $IF_SRV"
	e2e_summary
	exit 1
fi

mkdir -p "$REPORT"
diffrun() { # FAMILY ADDRESS COUNT SEED
	cli $PY "$ROOT/tests/e2e/knot_diff.py" "$2" \
		--count "$3" --seed "$4" --show "$SHOW" \
		--allow "$ROOT/tests/e2e/knot_diff_allow.txt" \
		--report "$REPORT/$1.txt" \
		$(for z in $ZONES; do echo "$z.=$TMP/zones/$z.zone"; done)
}
echo "differences over IPv4"
diffrun ipv4 $SRV4 "$COUNT4" 5300
check "IPv4: xdpns answers as Knot does ($COUNT4 queries)" [ $? = 0 ]
echo "differences over IPv6"
diffrun ipv6 $SRV6 "$COUNT6" 5301
check "IPv6: xdpns answers as Knot does ($COUNT6 queries)" [ $? = 0 ]
echo "full lists: $REPORT/ipv4.txt $REPORT/ipv6.txt"
echo "xdpns XDP counters (both paths were exercised): $(ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" |
	$PY -c 'import json, sys; x = json.load(sys.stdin)["xdp"]; print(", ".join(f"{k} {v}" for k, v in x.items() if not isinstance(v, dict) and v) + "; passed: " + ", ".join(f"{k} {v}" for k, v in x.get("passed", {}).items() if v))' 2>&1)"
if [ -n "${KNOT_DIFF_HOLD:-}" ]; then
	echo "holding ${KNOT_DIFF_HOLD}s: ip netns exec $NS_CLI kdig @$SRV4 [-p 5300] ...; kill -TERM $$ to stop"
	sleep "$KNOT_DIFF_HOLD" &
	HOLD_PID=$!
	wait $HOLD_PID
	HOLD_PID=
fi

netns_stop_xdpns
check "xdpns exited 0 on SIGTERM" [ $? = 0 ]
kill -TERM "$KNOT_PID" 2>/dev/null
wait "$KNOT_PID" 2>/dev/null
KNOT_PID=
echo "run time: $(($(date +%s) - START))s"
e2e_summary
