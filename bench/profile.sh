#!/usr/bin/env bash
# Where the server's CPU time goes while kxdpgun sends one query: perf
# samples (cpu-clock: this VM has no hardware counters) of the whole
# machine, symbols of the kernel, the JITed XDP program (bpf_prog_*) and
# the helpers it calls, and the program's own bpf_stats run time.
#
# Usage (root, from the repository root, after `make all`):
#   bench/profile.sh [xdpns|reflector] [QUERY] [SECONDS]
#   e.g. bench/profile.sh xdpns "www.example.com. A" 5
# Knobs: QPS (1000000), FREQ (perf sampling rate, 20000), TARGET (server
# address, 198.18.0.1; fd00:5353::1 for IPv6), OUT (perf.data path).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
PEER=${1:-xdpns}
QUERY=${2:-www.example.com. A}
SECS=${3:-5}
QPS=${QPS:-1000000}
FREQ=${FREQ:-20000}
XDPNS=${XDPNS:-$ROOT/build/xdpns}
KXDPGUN=${KXDPGUN:-/usr/sbin/kxdpgun}
PEER_PASS_OBJ=$ROOT/build/peer_pass.bpf.o
. "$ROOT/scripts/netns.sh"

die() {
	echo "profile: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (namespaces, XDP, perf)"
command -v perf >/dev/null || die "perf is not installed (Debian: linux-perf)"
[ -x "$KXDPGUN" ] || die "kxdpgun is not installed (Debian: knot-dnsutils)"
TARGET=${TARGET:-198.18.0.1}

TMP=$(mktemp -d /tmp/xdpns-profile.XXXXXX)
OUT=${OUT:-$TMP/perf.data}
STATS_ORIG=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	[ -n "${XDPNS_PID:-}" ] && netns_stop_xdpns
	netns_cleanup
	sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG"
	rm -rf "$TMP"
}
netns_setup prof || die "cannot create the namespaces"
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1

case $PEER in
xdpns)
	cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53"]
  control: $TMP/control.sock
zones:
  - name: example.com
    file: $ROOT/examples/example.com.zone
EOC
	netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || die "xdpns did not start"
	;;
reflector)
	ip -n "$NS_SRV" link set dev "$IF_SRV" xdp obj "$ROOT/build/reflector.bpf.o" sec xdp ||
		die "cannot attach build/reflector.bpf.o (make build/reflector.bpf.o)"
	;;
*) die "unknown peer $PEER (xdpns or reflector)" ;;
esac
prog=$(ip -n "$NS_SRV" -j link show "$IF_SRV" | python3 -c \
	'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])') ||
	die "no XDP program on the server veth"
pname=$(bpftool prog show id "$prog" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
echo "$QUERY" >"$TMP/q.txt"
ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off
stat_of() { bpftool prog show id "$prog" --json | python3 -c \
	'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'; }
read -r t0 c0 < <(stat_of)
ip netns exec "$NS_CLI" "$KXDPGUN" -t "$SECS" -Q "$QPS" -i "$TMP/q.txt" -I "$IF_CLI" "$TARGET" \
	>"$TMP/kxdpgun.out" 2>&1 &
gun=$!
sleep 1
perf record -q -a -g -e cpu-clock -F "$FREQ" -o "$OUT" -- sleep $((SECS - 2)) 2>/dev/null
wait $gun
read -r t1 c1 < <(stat_of)
grep -E '^total (queries|replies)' "$TMP/kxdpgun.out"
echo "bpf_stats: $(((t1 - t0) / (c1 - c0 > 0 ? c1 - c0 : 1))) ns per run over $((c1 - c0)) runs"
# Samples whose call chain passes through this XDP program: the leaf
# function of each (the program itself, or a helper and what it calls).
# Other programs of the same name may run on the machine (other tests):
# the one with the most samples is taken. (Its kernel symbol carries a tag
# that is not the one bpftool shows.)
perf script -i "$OUT" -F ip,sym,symoff 2>/dev/null | PNAME=$pname python3 -c '
import collections, os, sys
suffix = "_" + os.environ["PNAME"]
chains = []
leaf = collections.Counter()
inprog = total = 0
chain = []
def flush():
    if chain:
        chains.append(chain)
for line in sys.stdin:
    line = line.strip()
    if not line:
        flush()
        chain = []
        continue
    parts = line.split(None, 1)
    chain.append(parts[1] if len(parts) > 1 else "?")
offs = collections.Counter()
flush()
chains = [[s.split("+0x")[0] for s in c] + [c[0]] for c in chains]
progs = collections.Counter(s for c in chains for s in set(c)
                            if s.startswith("bpf_prog_") and s.endswith(suffix))
tag = progs.most_common(1)[0][0] if progs else "-"
total = len(chains)
for c in chains:
    if tag in c:
        inprog += 1
        leaf[c[0]] += 1
        if c[0] == tag:
            offs[c[-1]] += 1
print("samples: %d in all, %d (%.1f %%) in the XDP program (%s) and what it calls" %
      (total, inprog, 100.0 * inprog / max(total, 1), tag))
for s, n in leaf.most_common(30):
    print("  %5.1f %%  %s" % (100.0 * n / max(inprog, 1), s))
print("hottest places in the program itself (JIT offsets; a sample just after a")
print("call is mostly the cost of that call returning):")
for s, n in offs.most_common(12):
    print("  %5.1f %%  %s" % (100.0 * n / max(inprog, 1), s))
'

[ -n "${KEEP:-}" ] && cp "$OUT" "$KEEP" && echo "perf data kept in $KEEP"
