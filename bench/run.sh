#!/usr/bin/env bash
# Benchmark xdpns, run by `make bench` as root, in the scripts/netns.sh
# topology (two namespaces and a veth; no packet leaves them):
#   1. dnsperf (UDP sockets in the client namespace): replies/s, latency;
#   2. kxdpgun (AF_XDP on the client veth): replies/s and % answered;
# for each, the XDP counters before/after (share answered in XDP) and, when
# kernel.bpf_stats_enabled can be set, the XDP program's run time per packet.
# Prints a table and writes bench/results/<UTC date-time>.json.
#
# Knobs (environment): QUERIES (default bench/queries/example.txt),
# DNSPERF_SECONDS=10 DNSPERF_CLIENTS=4 DNSPERF_THREADS=2 DNSPERF_QPS (unset:
# unlimited), KXDPGUN_SECONDS=10 KXDPGUN_QPS=1000000, OUT (the JSON path).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XDPNS=${XDPNS:-$ROOT/build/xdpns}
PEER_PASS_OBJ=${PEER_PASS_OBJ:-$ROOT/build/peer_pass.bpf.o}
ZONE=$ROOT/examples/example.com.zone
QUERIES=${QUERIES:-$ROOT/bench/queries/example.txt}
DNSPERF_SECONDS=${DNSPERF_SECONDS:-10}
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-4}
DNSPERF_THREADS=${DNSPERF_THREADS:-2}
DNSPERF_QPS=${DNSPERF_QPS:-}
KXDPGUN_SECONDS=${KXDPGUN_SECONDS:-10}
KXDPGUN_QPS=${KXDPGUN_QPS:-1000000}
KXDPGUN=${KXDPGUN:-/usr/sbin/kxdpgun}
PY=/usr/bin/python3
DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/results/$DATE.json}
. "$ROOT/scripts/netns.sh"

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP); run 'sudo make bench'"
for f in "$XDPNS" "$PEER_PASS_OBJ" "$QUERIES" "$KXDPGUN"; do
	[ -e "$f" ] || die "$f is missing (run 'make' and 'make deps')"
done
for t in dnsperf kdig bpftool timeout; do
	command -v $t >/dev/null || die "$t is not installed; run 'make deps'"
done

TMP=
STATS_ORIG=
bench_cleanup() {
	netns_cleanup
	if [ -n "$STATS_ORIG" ]; then
		sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG" ||
			echo "bench: could not restore kernel.bpf_stats_enabled=$STATS_ORIG" >&2
		STATS_ORIG=
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}

say "Topology"
netns_setup bench || { bench_cleanup; die "cannot create the namespaces"; }
trap bench_cleanup EXIT
TMP=$(mktemp -d /tmp/xdpns-bench.XXXXXX)
RAW=$TMP/raw
mkdir -p "$RAW"
SOCK=$TMP/control.sock
echo "server $NS_SRV/$IF_SRV $SRV4, client $NS_CLI/$IF_CLI $CLI4"

srv() { ip netns exec "$NS_SRV" "$@"; }
cli() { ip netns exec "$NS_CLI" "$@"; }

say "Start xdpns on $IF_SRV"
cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53"]
  control: $SOCK
  identity: bench
zones:
  - name: example.com
    file: $ZONE
EOC
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || die "xdpns did not start"
out=$(cli kdig @$SRV4 www.example.com A +short +timeout=2 +retry=1)
[ "$out" = 198.18.0.80 ] || die "sanity query www.example.com A got '$out'"
PROG_ID=$(ip -n "$NS_SRV" -j link show "$IF_SRV" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])') ||
	die "no XDP program on $IF_SRV"
PEER_PROG_ID=$(ip -n "$NS_CLI" -j link show "$IF_CLI" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])') ||
	die "no XDP program on $IF_CLI"
echo "xdpns pid $XDPNS_PID, XDP program id $PROG_ID on $IF_SRV"

# Run-time stats of BPF programs: global, so set back on exit.
BPF_STATS=false
orig=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)
if [ "$orig" = 1 ]; then
	BPF_STATS=true
elif [ -n "$orig" ] && sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null; then
	STATS_ORIG=$orig
	BPF_STATS=true
fi
echo "kernel.bpf_stats_enabled: $orig -> $(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)"

# snapshot PHASE WHEN [PEER]: XDP/slow-path counters and the program's run
# time; with PEER, also the client's XDP_PASS program's (the cost floor of
# any XDP program here, measurement included).
snapshot() {
	srv "$XDPNS" stats --json -s "$SOCK" >"$RAW/$1.stats.$2.json" ||
		die "xdpns stats failed"
	if $BPF_STATS; then
		bpftool prog show id "$PROG_ID" --json >"$RAW/$1.prog.$2.json" ||
			die "bpftool prog show id $PROG_ID failed"
		if [ -n "${3:-}" ]; then
			bpftool prog show id "$PEER_PROG_ID" --json >"$RAW/$1.peer.$2.json" ||
				die "bpftool prog show id $PEER_PROG_ID failed"
		fi
	fi
}

DNSPERF_ARGS=(-s $SRV4 -d "$QUERIES" -l "$DNSPERF_SECONDS"
	-c "$DNSPERF_CLIENTS" -T "$DNSPERF_THREADS")
[ -n "$DNSPERF_QPS" ] && DNSPERF_ARGS+=(-Q "$DNSPERF_QPS")
say "dnsperf ${DNSPERF_ARGS[*]}"
snapshot dnsperf before peer
cli timeout --foreground -k 5 $((DNSPERF_SECONDS + 30)) dnsperf "${DNSPERF_ARGS[@]}" \
	>"$RAW/dnsperf.out" 2>&1
rc=$?
snapshot dnsperf after peer
sed -n '/Statistics:/,$p' "$RAW/dnsperf.out" | grep -v '^$'
[ $rc = 0 ] || { cat "$RAW/dnsperf.out" >&2; die "dnsperf exited $rc"; }

# kxdpgun attaches its own XDP program (AF_XDP) to the client veth: take
# the pass-everything one off first, put it back afterwards.
KXDPGUN_ARGS=(-t "$KXDPGUN_SECONDS" -Q "$KXDPGUN_QPS" -i "$QUERIES" -I "$IF_CLI" $SRV4)
say "kxdpgun ${KXDPGUN_ARGS[*]}"
ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off || die "cannot detach XDP from $IF_CLI"
snapshot kxdpgun before
cli timeout --foreground -s INT -k 5 $((KXDPGUN_SECONDS + 30)) "$KXDPGUN" "${KXDPGUN_ARGS[@]}" \
	>"$RAW/kxdpgun.out" 2>&1
rc=$?
snapshot kxdpgun after
cat "$RAW/kxdpgun.out"
# kxdpgun 3.2 exits 0 even when it cannot open its XDP socket.
[ $rc = 0 ] && grep -q '^total replies:' "$RAW/kxdpgun.out" ||
	die "kxdpgun failed (exit $rc)"
ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off 2>/dev/null
ip -n "$NS_CLI" link set dev "$IF_CLI" xdp obj "$PEER_PASS_OBJ" sec xdp ||
	die "cannot re-attach the pass program to $IF_CLI"
out=$(cli kdig @$SRV4 www.example.com A +short +timeout=2 +retry=1)
[ "$out" = 198.18.0.80 ] || die "after the load, www.example.com A got '$out'"

say "Stop xdpns"
netns_stop_xdpns
rc=$?
[ $rc = 0 ] || { tail "$TMP/xdpns.log" >&2; die "xdpns exited $rc on SIGTERM"; }
[ -n "$STATS_ORIG" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG" && STATS_ORIG=

say "Results"
DATE=$DATE BPF_STATS=$BPF_STATS QUERIES=$QUERIES ROOT=$ROOT \
DNSPERF_CMD="dnsperf ${DNSPERF_ARGS[*]//$ROOT\//}" \
KXDPGUN_CMD="kxdpgun ${KXDPGUN_ARGS[*]//$ROOT\//}" KXDPGUN_QPS=$KXDPGUN_QPS \
$PY - "$RAW/meta.json" <<'EOF' || die "cannot write meta.json"
import json, os, subprocess, sys
e = os.environ
def sh(*cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout + r.stderr).strip()
    except OSError:
        return ""
cpu = "unknown"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
root = e["ROOT"]
commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD") or "unknown"
if sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no"):
    commit += "-dirty"
q = e["QUERIES"]
meta = {
    "date": e["DATE"],
    "commit": commit,
    "machine": {"nproc": os.cpu_count(), "kernel": os.uname().release, "cpu": cpu},
    "tools": {"dnsperf": (sh("dnsperf", "-h").splitlines() or [""])[-1],
              "kxdpgun": sh("/usr/sbin/kxdpgun", "-V")},
    "queries_file": os.path.relpath(q, root) if q.startswith(root) else q,
    "query_templates": sum(1 for l in open(q) if l.strip()),
    "topology": "scripts/netns.sh veth pair, xdpns XDP in native mode on the server end",
    "bpf_stats": e["BPF_STATS"] == "true",
    "kxdpgun_qps": int(e["KXDPGUN_QPS"]),
    "commands": {"dnsperf": e["DNSPERF_CMD"], "kxdpgun": e["KXDPGUN_CMD"]},
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
EOF
mkdir -p "$(dirname "$OUT")"
$PY "$ROOT/bench/report.py" "$RAW" "$OUT"
