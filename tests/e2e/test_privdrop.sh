#!/usr/bin/env bash
# server.user: the daemon attaches XDP as root, then runs as that user with
# only CAP_NET_ADMIN, CAP_BPF and CAP_PERFMON; it keeps answering (XDP and
# slow path), reloads, detaches/attaches, and its control socket is 0600
# and the user's.
. "$(dirname "$0")/lib.sh"
e2e_require_root
getent passwd nobody >/dev/null || { echo "FAIL: no user nobody"; exit 1; }
netns_setup priv || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
chmod 0755 "$TMP"
SOCK=$TMP/run/control.sock
mkdir -p "$TMP/run"
cp "$ROOT/examples/example.com.zone" "$TMP/zone"
chmod 0644 "$TMP/zone"
cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  user: nobody
zones:
  - name: example.com
    file: $TMP/zone
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1
cli() { ip netns exec "$NS_CLI" "$@"; }
ctl() { ip netns exec "$NS_SRV" "$XDPNS" "$@" -s "$SOCK"; }
uid=$(awk '/^Uid:/ { print $2 }' /proc/$XDPNS_PID/status)
check "runs as nobody (uid $uid)" [ "$uid" = "$(id -u nobody)" ]
capeff=$(awk '/^CapEff:/ { print $2 }' /proc/$XDPNS_PID/status)
# CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39: nothing else
check "keeps exactly NET_ADMIN, SYS_ADMIN, PERFMON, BPF (CapEff $capeff)" [ "$capeff" = "000000c000201000" ]
check "control socket is the user's, mode 0600" [ "$(stat -c '%U %a' "$SOCK")" = "nobody 600" ]
out=$(cli kdig @$SRV4 www.example.com A +short)
check "answers from XDP" [ "$out" = "198.18.0.80" ]
out=$(cli kdig @$SRV4 nope.example.com A +norec)
check "answers from the slow path" grep -q NXDOMAIN <<<"$out"
sed -i 's/^www     IN A    198.18.0.80/www     IN A    198.18.0.81/; s/2026112301/2026112302/' "$TMP/zone"
check "reload works without root (map updates)" ctl reload
out=$(cli kdig @$SRV4 www.example.com A +short)
check "the new data is served" [ "$out" = "198.18.0.81" ]
check "detach works with the kept capabilities" ctl detach $IF_SRV
check "attach works with the kept capabilities" ctl attach $IF_SRV
out=$(cli kdig @$SRV4 www.example.com A +short)
check "answers again after re-attach" [ "$out" = "198.18.0.81" ]
netns_stop_xdpns
check "exits 0 on SIGTERM" [ $? = 0 ]
check "XDP detached at exit" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
e2e_summary
