#!/usr/bin/env bash
# Hostile packets over the veth to a running daemon with XDP attached
# (issue 7, item 4): compression loops and forward pointers, long labels
# and names, QDCOUNT 0/2/65535, ANCOUNT in a query, two OPTs, OPT lengths
# that lie, headers cut short, IPv4 options and fragments (alone, out of
# order, overlapping), IPv6 extension headers and fragments, UDP and IP
# lengths lying both ways, TCP length prefixes 0 and 65535, a client that
# sends one byte a second. Frames are built byte by byte in
# tests/e2e/hostile_wire.py and sent from the client namespace with an
# AF_PACKET socket. Each case checks the XDP verdict counter and the reply
# (none, FORMERR, or the right answer from the slow path); after each, a
# normal query is answered by XDP and by the slow path (UDP and TCP), the
# daemon is alive, its open fds are back where they were and the XDP
# error counter is 0. About 40 s (one TCP idle timeout of that).
. "$(dirname "$0")/lib.sh"
e2e_require_root
IDLE_MS=$(sed -n 's/^#define SERVER_TCP_IDLE_MS \([0-9]*\).*/\1/p' "$ROOT/userspace/server.h")
[ -n "$IDLE_MS" ] || { echo "FAIL: SERVER_TCP_IDLE_MS not found in userspace/server.h"; exit 1; }
netns_setup hw || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
SOCK=$TMP/control.sock
cp "$ROOT/examples/example.com.zone" "$TMP/zone"
netns_xdpns_config "$TMP/xdpns.yaml" "$TMP/zone"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
mac() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }

out=$(ip netns exec "$NS_CLI" timeout 300 $PY "$ROOT/tests/e2e/hostile_wire.py" \
	iface="$IF_CLI" mac_srv="$(mac "$NS_SRV" "$IF_SRV")" mac_cli="$(mac "$NS_CLI" "$IF_CLI")" \
	srv4=$SRV4 cli4=$CLI4 srv6=$SRV6 cli6=$CLI6 pid="$XDPNS_PID" idle_ms="$IDLE_MS" \
	stats="ip netns exec $NS_SRV $XDPNS stats --json -s $SOCK" ${HOSTILE_ONLY:+only="$HOSTILE_ONLY"} \
	2>"$TMP/py.err")
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"FAIL "*) fail "${line#FAIL }" ;;
	*) echo "       $line" ;;
	esac
done <<<"$out"
if [ $rc != 0 ]; then
	fail "the packet sender ended with status $rc"
	sed 's/^/       /' "$TMP/py.err"
fi
check "the daemon is still running" kill -0 "$XDPNS_PID"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
if [ "$E2E_FAIL" != 0 ]; then
	echo "daemon log (last 20 lines):"
	tail -n 20 "$TMP/log" | sed 's/^/       /'
fi
e2e_summary
