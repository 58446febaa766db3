#!/usr/bin/env bash
# A guided tour for an operator, run by `make demo` as root: serve
# examples/example.com.zone from xdpns on a veth between two network
# namespaces, ask kdig a few questions over IPv4 and IPv6 (saying for each
# whether XDP or the slow path answered), run a 5-second dnsperf, print the
# daemon's stats and status, stop it and delete everything.
# Exits non-zero as soon as a step fails; namespaces, daemon and temporary
# files are removed on every exit, Ctrl-C included.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XDPNS=${XDPNS:-$ROOT/build/xdpns}
PEER_PASS_OBJ=${PEER_PASS_OBJ:-$ROOT/build/peer_pass.bpf.o}
ZONE=$ROOT/examples/example.com.zone
QUERIES=$ROOT/bench/queries/example.txt
PY=/usr/bin/python3
. "$ROOT/scripts/netns.sh"

STEP=0
step() { STEP=$((STEP + 1)); printf '\n== %d. %s\n' "$STEP" "$*"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP); run 'sudo make demo'"
for f in "$XDPNS" "$PEER_PASS_OBJ"; do
	[ -e "$f" ] || die "$f is missing; run 'make' first"
done
for t in kdig dnsperf; do
	command -v $t >/dev/null || die "$t is not installed; run 'make deps'"
done

TMP=
demo_cleanup() {
	netns_cleanup
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}

step "Topology: two network namespaces joined by a veth pair"
netns_setup demo || { demo_cleanup; die "cannot create the namespaces"; }
# netns_setup traps EXIT with netns_cleanup; widen it to our temp dir too.
trap demo_cleanup EXIT
TMP=$(mktemp -d /tmp/xdpns-demo.XXXXXX)
SOCK=$TMP/control.sock
echo "server  $NS_SRV  $IF_SRV  $SRV4  $SRV6"
echo "client  $NS_CLI  $IF_CLI  $CLI4  $CLI6"

step "Start xdpns on $IF_SRV (config $TMP/xdpns.yaml)"
cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53"]
  control: $SOCK
  identity: demo
zones:
  - name: example.com
    file: $ZONE
EOC
sed 's/^/  /' "$TMP/xdpns.yaml"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || die "xdpns did not start"
echo "daemon running (pid $XDPNS_PID), log:"
sed 's/^/  | /' "$TMP/xdpns.log"

srv() { ip netns exec "$NS_SRV" "$@"; }
cli() { ip netns exec "$NS_CLI" "$@"; }

# xdp_answered: the XDP "answered" counter, summed over CPUs.
xdp_answered() {
	srv "$XDPNS" stats --json -s "$SOCK" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["answered"])'
}

# ask TITLE EXPECT_RE SERVER KDIG_ARGS...: run kdig from the client, show its
# answer, say which path answered, and fail unless the output matches
# the extended regex EXPECT_RE. The output stays in $OUT.
ask() {
	local title=$1 expect=$2 server=$3 out rc a0 a1 path
	shift 3
	step "$title"
	echo "\$ kdig @$server $*"
	a0=$(xdp_answered) || die "cannot read the XDP counters"
	out=$(cli kdig @"$server" +noquestion +timeout=2 +retry=1 "$@" 2>&1)
	rc=$?
	OUT=$out
	a1=$(xdp_answered) || die "cannot read the XDP counters"
	# A reply over TCP always comes from the slow path; the TC reply
	# before it may come from XDP.
	if [ $((a1 - a0)) -gt 0 ] && grep -q '@53(TCP)' <<<"$out"; then
		path="XDP with TC=1 (answered counter $a0 -> $a1), then the slow path over TCP"
	elif [ $((a1 - a0)) -gt 0 ]; then
		path="XDP (answered counter $a0 -> $a1)"
	else
		path="slow path (XDP answered counter unchanged)"
	fi
	grep -v '^$' <<<"$out" | sed 's/^/  /'
	[ $rc = 0 ] || die "$title: kdig exited $rc"
	grep -qE "$expect" <<<"$out" || die "$title: expected /$expect/ in the reply"
	echo "  -> answered by $path"
}

ask "IPv4: A www.example.com" \
	'^www\.example\.com\.\s+3600\s+IN\s+A\s+198\.18\.0\.80$' \
	$SRV4 www.example.com A +norec
ask "IPv6: AAAA www.example.com" \
	'^www\.example\.com\.\s+3600\s+IN\s+AAAA\s+fd00:5353::80$' \
	$SRV6 www.example.com AAAA +norec
ask "IPv4: a CNAME chain (alias -> ftp -> www)" \
	'^www\.example\.com\.\s+3600\s+IN\s+A\s+198\.18\.0\.80$' \
	$SRV4 alias.example.com A +norec
ask "IPv6: MX at the apex" \
	'^example\.com\.\s+3600\s+IN\s+MX\s+10 mail\.example\.com\.$' \
	$SRV6 example.com MX +norec
ask "IPv4: a name that does not exist (NXDOMAIN with the SOA)" \
	'status: NXDOMAIN' \
	$SRV4 nope.example.com A +norec
ask "IPv6: DO=1 on an unsigned zone (plain answer, DO echoed in OPT)" \
	'(flags: do|Version: 0; flags: do)' \
	$SRV6 www.example.com A +norec +dnssec
ask "IPv4: 730-byte TXT without EDNS: TC over UDP, retried over TCP" \
	'ANSWER: 4;' \
	$SRV4 big.example.com TXT +norec +noedns
grep -q 'truncated reply' <<<"$OUT" || die "no TC reply over UDP first"
grep -q "From $SRV4@53(TCP)" <<<"$OUT" || die "the final reply did not come over TCP"

step "dnsperf for 5 seconds ($(wc -l <"$QUERIES") query templates from $QUERIES)"
echo "\$ dnsperf -s $SRV4 -d $QUERIES -l 5"
out=$(cli timeout --foreground -k 5 30 dnsperf -s $SRV4 -d "$QUERIES" -l 5 2>&1)
rc=$?
sed -n '/Statistics:/,$p' <<<"$out" | grep -v '^$' | sed 's/^/  /'
[ $rc = 0 ] || { echo "$out" >&2; die "dnsperf exited $rc"; }
completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' <<<"$out")
[ "${completed:-0}" -gt 0 ] || die "dnsperf got no answers"

step "xdpns stats"
srv "$XDPNS" stats -s "$SOCK" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || die "xdpns stats failed"

step "xdpns status"
srv "$XDPNS" status -s "$SOCK" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || die "xdpns status failed"

step "Stop xdpns (SIGTERM: it detaches XDP and removes its socket)"
netns_stop_xdpns
rc=$?
sed 's/^/  | /' "$TMP/xdpns.log" | tail -3
[ $rc = 0 ] || die "xdpns exited $rc on SIGTERM"
ip -n "$NS_SRV" link show "$IF_SRV" | grep -q 'prog/xdp' &&
	die "XDP is still attached to $IF_SRV after the daemon stopped"
[ -e "$SOCK" ] && die "the control socket $SOCK is still there"
echo "  stopped; XDP detached from $IF_SRV"

step "Clean up (namespaces $NS_SRV, $NS_CLI and $TMP)"
demo_cleanup
TMP=
echo "  done"
