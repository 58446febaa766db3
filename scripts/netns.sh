#!/usr/bin/env bash
# Test topology, sourced by tests, demo and bench:
#
#   netns "$NS_CLI"  veth $IF_CLI 198.18.0.2/24 fd00:5353::2/64
#        |
#   netns "$NS_SRV"  veth $IF_SRV 198.18.0.1/24 fd00:5353::1/64  (xdpns here)
#
# Both ends live in namespaces this script creates; nothing touches the
# root namespace. netns_setup installs an EXIT trap that deletes them.

SRV4=198.18.0.1
CLI4=198.18.0.2
SRV6=fd00:5353::1
CLI6=fd00:5353::2

netns_cleanup() {
	local pid
	for pid in ${NETNS_PIDS:-}; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	NETNS_PIDS=
	[ -n "${NS_SRV:-}" ] && ip netns del "$NS_SRV" 2>/dev/null
	[ -n "${NS_CLI:-}" ] && ip netns del "$NS_CLI" 2>/dev/null
	return 0
}

# netns_setup TAG: create the pair of namespaces (names carry TAG and $$).
netns_setup() {
	local tag=${1:-t}
	NS_SRV="xdpns-$tag-srv-$$"
	NS_CLI="xdpns-$tag-cli-$$"
	IF_SRV="xs$$"
	IF_CLI="xc$$"
	NETNS_PIDS=
	trap netns_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS_SRV" || return 1
	ip netns add "$NS_CLI" || return 1
	ip link add "$IF_SRV" netns "$NS_SRV" type veth peer "$IF_CLI" netns "$NS_CLI" || return 1
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_CLI" link set lo up
	ip -n "$NS_SRV" addr add $SRV4/24 dev "$IF_SRV"
	ip -n "$NS_CLI" addr add $CLI4/24 dev "$IF_CLI"
	ip -n "$NS_SRV" addr add $SRV6/64 dev "$IF_SRV" nodad
	ip -n "$NS_CLI" addr add $CLI6/64 dev "$IF_CLI" nodad
	ip -n "$NS_SRV" link set "$IF_SRV" up
	ip -n "$NS_CLI" link set "$IF_CLI" up
	# A veth delivers what its peer sends with XDP_TX only while it runs
	# XDP itself (its NAPI is on): a pass-everything program on the client.
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp obj "${PEER_PASS_OBJ:-build/peer_pass.bpf.o}" sec xdp || return 1
	# static neighbours: no ARP/ND delay on the first query
	local mac_srv mac_cli
	mac_srv=$(ip -n "$NS_SRV" -o link show "$IF_SRV" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	mac_cli=$(ip -n "$NS_CLI" -o link show "$IF_CLI" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	ip -n "$NS_CLI" neigh replace $SRV4 lladdr "$mac_srv" dev "$IF_CLI"
	ip -n "$NS_CLI" neigh replace $SRV6 lladdr "$mac_srv" dev "$IF_CLI"
	ip -n "$NS_SRV" neigh replace $CLI4 lladdr "$mac_cli" dev "$IF_SRV"
	ip -n "$NS_SRV" neigh replace $CLI6 lladdr "$mac_cli" dev "$IF_SRV"
}

# netns_xdpns_config FILE ZONEFILE [TEXT]: the usual configuration of the
# tests: XDP on the server end, the slow path on both addresses, the
# control socket $SOCK, example.com from ZONEFILE; TEXT (more server keys,
# indented, and whole sections) goes after the control line.
netns_xdpns_config() {
	cat >"$1" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53"]
  control: $SOCK
${3:-}
zones:
  - name: example.com
    file: $2
EOC
}

# netns_start_xdpns CONFIG LOG: run the daemon in the server namespace and
# wait until its control socket answers. Sets XDPNS_PID.
netns_start_xdpns() {
	local cfg=$1 log=$2 sock i
	sock=$(sed -n 's/^ *control: *//p' "$cfg" | head -1)
	ip netns exec "$NS_SRV" "$XDPNS" serve -c "$cfg" --log stderr >"$log" 2>&1 &
	XDPNS_PID=$!
	NETNS_PIDS="$NETNS_PIDS $XDPNS_PID"
	for i in $(seq 1 100); do
		if ip netns exec "$NS_SRV" "$XDPNS" status -s "$sock" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$XDPNS_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "xdpns did not start; its log:" >&2
	cat "$log" >&2
	return 1
}

# netns_stop_xdpns: SIGTERM and wait (the daemon detaches XDP itself).
netns_stop_xdpns() {
	[ -n "${XDPNS_PID:-}" ] || return 0
	kill -TERM "$XDPNS_PID" 2>/dev/null
	wait "$XDPNS_PID" 2>/dev/null
	local rc=$?
	NETNS_PIDS=$(echo "$NETNS_PIDS" | sed "s/\b$XDPNS_PID\b//")
	XDPNS_PID=
	return $rc
}
