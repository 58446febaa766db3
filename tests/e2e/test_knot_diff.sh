#!/usr/bin/env bash
# Differential test against Knot DNS (issue 3, item 5): the same zone content
# (tests/e2e/zones/diff.zone) served unsigned, NSEC-signed, NSEC3-signed and
# NSEC3-signed with opt-out (a real one: no NSEC3 for the unsigned
# delegations, their gaps covered by opt-out NSEC3 records), by knotd
# (port 5300) and by xdpns (port 53, XDP attached) in one server namespace;
# knot_diff.py sends the same queries to both from the client namespace over
# IPv4 and IPv6 and compares the replies. The zones are signed here, at run time, with fresh
# keys and fixed inception/expiration dates: NSEC and NSEC3 by ldns-signzone,
# NSEC3 opt-out by BIND's dnssec-signzone -A (ldns-signzone -p sets the
# opt-out flag but still writes an NSEC3 for every unsigned delegation).
#
# Run by `make test`; accepted differences: knot_diff_allow.txt and
# docs/knot-differences.md. Run it alone as root from the repository:
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

for tool in knotd knotc kdig ldns-signzone ldns-keygen ldns-nsec3-hash \
	dnssec-signzone dnssec-keygen; do
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
# NSEC3 with opt-out (RFC 5155 6, 7.1): dnssec-signzone -A leaves out the
# NSEC3 records of insecure delegations (NS, no DS), so queries at and below
# them get closest provable encloser proofs with an opt-out NSEC3 covering
# the next closer name. -O full: one record a line, owners absolute.
sign_optout() { # ZONE SALT ITERATIONS
	local z=$1
	(cd "$TMP/keys" &&
		dnssec-keygen -q -K . -a ECDSAP256SHA256 -3 -f KSK "$z." >/dev/null &&
		dnssec-keygen -q -K . -a ECDSAP256SHA256 -3 "$z." >/dev/null &&
		dnssec-signzone -q -K . -S -O full -3 "$2" -H "$3" -A \
			-s $INCEPTION -e $EXPIRATION -o "$z." \
			-f "$TMP/zones/$z.zone" "$TMP/zones/$z.in" >/dev/null)
}
nsec3_count() { awk '$4 == "NSEC3"' "$TMP/zones/$1.zone" | wc -l; }
# Owners with NS and no DS below the apex of the signed zone file $1.
insecure_cuts() {
	awk -v apex="$1." '$3 == "IN" && $1 != apex && $4 == "NS" { ns[tolower($1)] = 1 }
		$3 == "IN" && $4 == "DS" { ds[tolower($1)] = 1 }
		END { for (n in ns) if (!(n in ds)) print n }' "$TMP/zones/$1.zone" | sort
}
signed_ok=1
for z in $ZONES; do
	{ printf '$ORIGIN %s.\n$TTL 3600\n' "$z"; cat "$ROOT/tests/e2e/zones/diff.zone"; } >"$TMP/zones/$z.in"
	case $z in
	unsigned.test) cp "$TMP/zones/$z.in" "$TMP/zones/$z.zone" ;;
	nsec.test) sign "$z" || signed_ok=0 ;;
	nsec3.test) sign "$z" -n -a 1 -t 0 || signed_ok=0 ;;
	nsec3o.test) sign_optout "$z" aabbccdd 1 || signed_ok=0 ;;
	esac
done
check "zones signed (NSEC, NSEC3, NSEC3 opt-out; valid $INCEPTION-$EXPIRATION)" [ $signed_ok = 1 ]

# The opt-out zone must really opt out: fewer NSEC3 records than the
# NSEC3 zone (same content), all with the opt-out flag, and none whose
# owner is the hash of an insecure delegation.
n3=$(nsec3_count nsec3.test)
n3o=$(nsec3_count nsec3o.test)
n3o_flag=$(awk '$4 == "NSEC3" && $6 == 1' "$TMP/zones/nsec3o.test.zone" | wc -l)
cuts=$(insecure_cuts nsec3o.test)
hashed=0
for cut in $cuts; do
	h=$(ldns-nsec3-hash -a 1 -t 1 -s aabbccdd "$cut" | cut -d. -f1)
	if awk -v o="$h.nsec3o.test." '$4 == "NSEC3" && tolower($1) == o { f = 1 } END { exit !f }' \
		"$TMP/zones/nsec3o.test.zone"; then
		echo "  NSEC3 for insecure delegation $cut ($h)"
		hashed=$((hashed + 1))
	fi
done
echo "  NSEC3 records: nsec3.test $n3, nsec3o.test $n3o ($n3o_flag with opt-out);" \
	"insecure delegations: $(echo $cuts)"
optout_ok=0
[ "$n3o" -gt 0 ] && [ "$n3o" -lt "$n3" ] && [ "$n3o_flag" = "$n3o" ] &&
	[ -n "$cuts" ] && [ "$hashed" = 0 ] && optout_ok=1
check "nsec3o.test opts out: fewer NSEC3 ($n3o < $n3), all flagged, none for the $(echo $cuts | wc -w) insecure delegations" \
	[ $optout_ok = 1 ]

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
