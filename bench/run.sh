#!/usr/bin/env bash
# Benchmark xdpns against its peers in one run (issue 6), run by `make bench`
# as root, in the scripts/netns.sh topology (two namespaces joined by a veth;
# no packet leaves them). Every server gets the same zones and every load
# generator the same query list; the servers run one at a time, each stopped
# by pid (or detached) before the next starts, so the server veth never
# carries more than one XDP program:
#
#   reflector  bench/reflector.bpf.c: XDP_TX of the query with QR set (ceiling)
#   xdpns      build/xdpns, XDP native on the server veth
#   knot-xdp   knotd with `xdp: listen: IF@53` (AF_XDP workers)
#   knot-udp   knotd on kernel UDP sockets
#   nsd        nsd on kernel UDP sockets
#
# For each: kxdpgun (AF_XDP on the client veth: replies/s, % answered) and
# dnsperf (UDP sockets: qps, latency). Then the XDP program's cost per packet
# from kernel.bpf_stats_enabled (run_time_ns / run_cnt) during kxdpgun runs of
# one query each: an A hit over IPv4, an AAAA hit over IPv6, a DO=1 hit in a
# signed zone, a miss that XDP passes; the reflector's figure beside them.
# bench/report.py prints the table (ratios against the reflector and against
# knot-xdp), writes bench/results/<date>.json and draws <date>.png.
#
# Knobs (environment):
#   QUERIES=bench/queries/example.txt   query list (kxdpgun format) for all peers
#   PEERS="reflector xdpns knot-xdp knot-udp nsd"   which servers, in order
#   ROUNDS=1   rounds of the throughput runs over all peers, interleaved; with
#     more, the report takes each peer's median (a noisy shared machine)
#   KXDPGUN_SECONDS=5 KXDPGUN_QPS=1000000
#   DNSPERF_SECONDS=5 DNSPERF_CLIENTS=4 DNSPERF_THREADS=2 DNSPERF_QPS (unset:
#     unlimited) DNSPERF_TIMEOUT=1 (s before a query counts as lost)
#   COST_SECONDS=3 COST_QPS=1000000 COST_MISS_QPS=100000 (the slow path answers
#     the misses; flooding it would only measure the kernel stack)
#   OUT=bench/results/<date>.json (the PNG goes beside it)
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XDPNS=${XDPNS:-$ROOT/build/xdpns}
PEER_PASS_OBJ=${PEER_PASS_OBJ:-$ROOT/build/peer_pass.bpf.o}
REFLECTOR_OBJ=${REFLECTOR_OBJ:-$ROOT/build/reflector.bpf.o}
ZONE=$ROOT/examples/example.com.zone
QUERIES=${QUERIES:-$ROOT/bench/queries/example.txt}
PEERS=${PEERS:-reflector xdpns knot-xdp knot-udp nsd}
ROUNDS=${ROUNDS:-1}
KXDPGUN_SECONDS=${KXDPGUN_SECONDS:-5}
KXDPGUN_QPS=${KXDPGUN_QPS:-1000000}
DNSPERF_SECONDS=${DNSPERF_SECONDS:-5}
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-4}
DNSPERF_THREADS=${DNSPERF_THREADS:-2}
DNSPERF_QPS=${DNSPERF_QPS:-}
DNSPERF_TIMEOUT=${DNSPERF_TIMEOUT:-1}
COST_SECONDS=${COST_SECONDS:-3}
COST_QPS=${COST_QPS:-1000000}
COST_MISS_QPS=${COST_MISS_QPS:-100000}
KXDPGUN=${KXDPGUN:-/usr/sbin/kxdpgun}
PY=/usr/bin/python3
DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/results/$DATE.json}
SIGNED=signed.test # the signed copy of the example zone (DO=1 figures)
. "$ROOT/scripts/netns.sh"

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP); run 'sudo make bench'"
for f in "$XDPNS" "$PEER_PASS_OBJ" "$REFLECTOR_OBJ" "$QUERIES" "$KXDPGUN"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench', which builds it, or 'make deps')"
done
for t in dnsperf kdig bpftool timeout knotd nsd ldns-keygen ldns-signzone gnuplot; do
	command -v $t >/dev/null || die "$t is not installed; run 'make deps'"
done
for p in $PEERS; do
	case $p in reflector | xdpns | knot-xdp | knot-udp | nsd) ;;
	*) die "unknown peer '$p' in PEERS" ;; esac
done

TMP=
STATS_ORIG=
PEER=        # the server running now
PEER_PID=    # its pid (knotd, nsd); xdpns is netns.sh's XDPNS_PID
SRV_PROG_ID= # the XDP program on the server veth while PEER runs, if any

# stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL. The daemons are our
# children (started with &), so wait returns their status.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null && echo "bench: pid $pid ignored SIGTERM; killed" >&2
	wait "$pid" 2>/dev/null
}

bench_cleanup() {
	[ -n "$PEER_PID" ] && stop_pid "$PEER_PID"
	PEER_PID=
	[ -n "${XDPNS_PID:-}" ] && netns_stop_xdpns
	# The namespaces go with their veths and every XDP program on them;
	# detach first all the same, so nothing outlives a failed delete.
	if [ -n "${NS_SRV:-}" ]; then
		ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off 2>/dev/null
		ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off 2>/dev/null
	fi
	netns_cleanup
	if [ -n "$STATS_ORIG" ]; then
		sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG" ||
			echo "bench: could not restore kernel.bpf_stats_enabled=$STATS_ORIG" >&2
		STATS_ORIG=
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	TMP=
	return 0
}

say "Topology"
netns_setup bench || { bench_cleanup; die "cannot create the namespaces"; }
trap bench_cleanup EXIT
TMP=$(mktemp -d /tmp/xdpns-bench.XXXXXX)
RAW=$TMP/raw
ZDIR=$TMP/zones
mkdir -p "$RAW" "$ZDIR" "$TMP/keys"
SOCK=$TMP/control.sock
echo "server $NS_SRV/$IF_SRV $SRV4 $SRV6, client $NS_CLI/$IF_CLI $CLI4 $CLI6"

# Daemons are started with `ip netns exec ... &` itself, never through srv:
# $! must be the daemon's pid (ip execs it), not a subshell's.
srv() { ip netns exec "$NS_SRV" "$@"; }
cli() { ip netns exec "$NS_CLI" "$@"; }

# ---- zones and query lists ---------------------------------------------------

say "Zones: example.com, and $SIGNED (a signed copy, ECDSA P-256, NSEC)"
cp "$ZONE" "$ZDIR/example.com.zone"
{ printf '$ORIGIN %s.\n' "$SIGNED"; grep -v '^\$ORIGIN' "$ZONE"; } >"$ZDIR/$SIGNED.in"
ksk=$(cd "$TMP/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$SIGNED.") &&
	zsk=$(cd "$TMP/keys" && ldns-keygen -a ECDSAP256SHA256 "$SIGNED.") &&
	ldns-signzone -i 20240101000000 -e 20371231000000 -o "$SIGNED." \
		-f "$ZDIR/$SIGNED.zone" "$ZDIR/$SIGNED.in" "$TMP/keys/$ksk" "$TMP/keys/$zsk" ||
	die "cannot sign $SIGNED"
echo "$SIGNED: $(grep -c RRSIG "$ZDIR/$SIGNED.zone") RRSIGs"

# The cost runs: one query each, so the per-packet figure is that case's.
# The miss is outside every zone: the slow path answers REFUSED and never
# caches it in the XDP LRU (a name in a zone would be an LRU hit from the
# second query on), so every packet walks the whole XDP miss path.
COSTS="a_v4 aaaa_v6 do_signed miss"
echo "www.example.com. A" >"$TMP/cost.a_v4.txt"
echo "www.example.com. AAAA" >"$TMP/cost.aaaa_v6.txt"
echo "www.$SIGNED. A D" >"$TMP/cost.do_signed.txt"
echo "www.example.net. A" >"$TMP/cost.miss.txt"
cost_target() { case $1 in *_v6) echo $SRV6 ;; *) echo $SRV4 ;; esac; }
cost_qps() { case $1 in miss) echo "$COST_MISS_QPS" ;; *) echo "$COST_QPS" ;; esac; }

# ---- servers -------------------------------------------------------------------

cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53, "$SRV6@53"]
  control: $SOCK
  identity: bench
zones:
  - name: example.com
    file: $ZDIR/example.com.zone
  - name: $SIGNED
    file: $ZDIR/$SIGNED.zone
EOC

# knot_conf MODE (xdp|udp): Knot 3.2. In XDP mode its workers take UDP/53
# from AF_XDP sockets on the interface (one per queue: the veth has one);
# the socket listen stays, as knot.conf(5) recommends (TCP). Workers
# otherwise at their defaults (udp-workers = CPUs).
knot_conf() {
	mkdir -p "$TMP/knot-$1"
	cat <<EOC
server:
    rundir: "$TMP/knot-$1"
    listen: [ $SRV4@53, $SRV6@53 ]
    background-workers: 1
EOC
	[ "$1" = xdp ] && cat <<EOC
xdp:
    listen: [ $IF_SRV@53 ]
    udp: on
EOC
	cat <<EOC
database:
    storage: "$TMP/knot-$1"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$ZDIR"
    file: "%s.zone"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: example.com.
  - domain: $SIGNED.
EOC
}

# NSD 4.6: foreground (-d), one server process per CPU as Knot has one UDP
# worker per CPU, no privilege drop or chroot (a temporary directory).
nsd_conf() {
	mkdir -p "$TMP/nsd"
	cat <<EOC
server:
    ip-address: $SRV4
    ip-address: $SRV6
    port: 53
    server-count: $(nproc)
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "$ZDIR"
    database: ""
    zonelistfile: "$TMP/nsd/zone.list"
    xfrdfile: "$TMP/nsd/xfrd.state"
    xfrdir: "$TMP/nsd"
    pidfile: "$TMP/nsd/nsd.pid"
    verbosity: 1
    # Debian's NSD has response rate limiting on (200 qps per /24): a
    # benchmark from one address would measure the limiter. Knot has no
    # RRL unless its module is configured, xdpns none without an rrl
    # section.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: example.com.zone
zone:
    name: $SIGNED
    zonefile: $SIGNED.zone
EOC
}

# xdp_prog_id: the id of the XDP program on the server veth, or nothing.
xdp_prog_id() {
	ip -n "$NS_SRV" -j link show "$IF_SRV" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)[0].get("xdp",{}).get("prog",{}).get("id",""))'
}

# wait_answer: until the server answers www.example.com A (10 s at most).
wait_answer() {
	local out
	for _ in $(seq 1 100); do
		out=$(cli kdig @$SRV4 www.example.com A +short +timeout=1 +retry=0 2>/dev/null)
		[ "$out" = 198.18.0.80 ] && return 0
		sleep 0.1
	done
	return 1
}

peer_start() {
	PEER=$1
	local ver=""
	case $PEER in
	reflector)
		ip -n "$NS_SRV" link set dev "$IF_SRV" xdp obj "$REFLECTOR_OBJ" sec xdp ||
			die "cannot attach the reflector"
		# its "answer" is the query with QR=1: NOERROR, no records
		cli kdig @$SRV4 www.example.com A +timeout=1 +retry=0 | grep -q 'status: NOERROR' ||
			die "the reflector does not reflect"
		ver="bench/reflector.bpf.c"
		;;
	xdpns)
		netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/xdpns.log" || die "xdpns did not start"
		wait_answer || die "xdpns does not answer www.example.com A"
		ver=$(git -C "$ROOT" describe --always --dirty 2>/dev/null)
		;;
	knot-xdp | knot-udp)
		knot_conf "${PEER#knot-}" >"$TMP/$PEER.conf"
		ip netns exec "$NS_SRV" knotd -c "$TMP/$PEER.conf" >"$TMP/$PEER.log" 2>&1 &
		PEER_PID=$!
		wait_answer || { cat "$TMP/$PEER.log" >&2; die "$PEER does not answer"; }
		ver=$(knotd -V | head -1)
		;;
	nsd)
		nsd_conf >"$TMP/nsd.conf"
		ip netns exec "$NS_SRV" nsd -d -c "$TMP/nsd.conf" >"$TMP/nsd.log" 2>&1 &
		PEER_PID=$!
		wait_answer || { cat "$TMP/nsd.log" >&2; die "nsd does not answer"; }
		ver=$(nsd -v 2>&1 | head -1)
		;;
	esac
	SRV_PROG_ID=$(xdp_prog_id)
	case $PEER in
	reflector | xdpns | knot-xdp)
		[ -n "$SRV_PROG_ID" ] || die "$PEER: no XDP program on $IF_SRV"
		;;
	*) [ -z "$SRV_PROG_ID" ] || die "$PEER: an XDP program ($SRV_PROG_ID) is on $IF_SRV" ;;
	esac
	local prog_name=""
	[ -n "$SRV_PROG_ID" ] && prog_name=$(bpftool prog show id "$SRV_PROG_ID" --json |
		$PY -c 'import json,sys; print(json.load(sys.stdin).get("name",""))')
	printf '{"name": "%s", "version": "%s", "xdp_prog": "%s"}\n' \
		"$PEER" "$ver" "$prog_name" >"$RAW/$PEER.info.json"
	echo "$PEER up (${PEER_PID:-${XDPNS_PID:-no pid}}), XDP program on $IF_SRV: ${prog_name:-none}"
}

peer_stop() {
	case $PEER in
	reflector) ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off || die "cannot detach the reflector" ;;
	xdpns)
		cp "$TMP/xdpns.log" "$RAW/xdpns.log"
		netns_stop_xdpns || { tail "$TMP/xdpns.log" >&2; die "xdpns exited non-zero on SIGTERM"; }
		;;
	*)
		stop_pid "$PEER_PID"
		PEER_PID=
		;;
	esac
	# One XDP program at a time on the server veth. xdpns detaches its own
	# on SIGTERM; knotd 3.2 leaves its redirect program attached when it
	# exits (for a quick restart), so it is taken off here.
	local left
	left=$(xdp_prog_id)
	if [ -n "$left" ]; then
		ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off ||
			die "cannot detach XDP program $left from $IF_SRV"
		[ "$PEER" = knot-xdp ] || die "$PEER left XDP program $left on $IF_SRV"
		echo "$PEER left its XDP program ($left) on $IF_SRV: detached"
	fi
	[ -z "$(xdp_prog_id)" ] || die "an XDP program is still on $IF_SRV after $PEER"
	PEER=
	SRV_PROG_ID=
}

# ---- measurements ---------------------------------------------------------------

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

# snapshot LABEL WHEN: the server's XDP program run time, xdpns counters.
snapshot() {
	if $BPF_STATS && [ -n "$SRV_PROG_ID" ]; then
		bpftool prog show id "$SRV_PROG_ID" --json >"$RAW/$1.prog.$2.json" ||
			die "bpftool prog show id $SRV_PROG_ID failed"
	fi
	if [ "$PEER" = xdpns ]; then
		srv "$XDPNS" stats --json -s "$SOCK" >"$RAW/$1.stats.$2.json" ||
			die "xdpns stats failed"
	fi
}

# run_dnsperf LABEL
run_dnsperf() {
	local args=(-s "$SRV4" -d "$QUERIES" -l "$DNSPERF_SECONDS" -t "$DNSPERF_TIMEOUT"
		-c "$DNSPERF_CLIENTS" -T "$DNSPERF_THREADS")
	[ -n "$DNSPERF_QPS" ] && args+=(-Q "$DNSPERF_QPS")
	echo "dnsperf ${args[*]//$ROOT\//}" >"$RAW/$1.cmd"
	snapshot "$1" before
	cli timeout --foreground -k 5 $((DNSPERF_SECONDS + DNSPERF_TIMEOUT + 30)) \
		dnsperf "${args[@]}" >"$RAW/$1.out" 2>&1
	local rc=$?
	snapshot "$1" after
	[ $rc = 0 ] || { cat "$RAW/$1.out" >&2; die "$1: dnsperf exited $rc"; }
	printf '  %-26s %s\n' "$1" "$(grep -E 'Queries (per second|completed)' "$RAW/$1.out" | tr -s ' \n' ' ')"
}

# run_kxdpgun LABEL QUERYFILE TARGET QPS SECONDS. kxdpgun attaches its own
# XDP program (AF_XDP) to the client veth and leaves it there when it exits
# (3.2.6): take the pass-everything one off first, restore it afterwards.
run_kxdpgun() {
	local label=$1 q=$2 target=$3 qps=$4 secs=$5
	local args=(-t "$secs" -Q "$qps" -i "$q" -I "$IF_CLI" "$target")
	echo "kxdpgun ${args[*]//$TMP\//}" | sed "s#$ROOT/##g" >"$RAW/$label.cmd"
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off || die "cannot detach XDP from $IF_CLI"
	snapshot "$label" before
	cli timeout --foreground -s INT -k 5 $((secs + 30)) "$KXDPGUN" "${args[@]}" \
		>"$RAW/$label.out" 2>&1
	local rc=$?
	snapshot "$label" after
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off 2>/dev/null
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp obj "$PEER_PASS_OBJ" sec xdp ||
		die "cannot re-attach the pass program to $IF_CLI"
	# kxdpgun 3.2 exits 0 even when it cannot open its XDP socket.
	[ $rc = 0 ] && grep -q '^total replies:' "$RAW/$label.out" ||
		{ cat "$RAW/$label.out" >&2; die "$label: kxdpgun failed (exit $rc)"; }
	printf '  %-26s %s\n' "$label" "$(grep -E '^total (queries|replies):' "$RAW/$label.out" | tr -s ' \n' ' ')"
}

T0=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
for p in $PEERS; do
	# later rounds: the throughput runs again (the report takes the median)
	sfx=
	[ "$round" -gt 1 ] && sfx=.r$round
	say "$p${sfx:+ (round $round of $ROUNDS)}"
	peer_start "$p"
	run_kxdpgun "$p.kxdpgun$sfx" "$QUERIES" $SRV4 "$KXDPGUN_QPS" "$KXDPGUN_SECONDS"
	run_dnsperf "$p.dnsperf$sfx"
	case $p in
	xdpns) cases=$COSTS ;;
	reflector) cases=$COSTS ;; # it does not look: the same work for each
	*) cases= ;;
	esac
	[ "$round" -gt 1 ] && cases=
	for c in $cases; do
		run_kxdpgun "$p.cost.$c" "$TMP/cost.$c.txt" "$(cost_target $c)" \
			"$(cost_qps $c)" "$COST_SECONDS"
	done
	# the server still answers after the load
	case $p in reflector) ;; *) wait_answer || die "$p stopped answering under load" ;; esac
	peer_stop
done
done
echo "measured in $(($(date +%s) - T0)) s"
[ -n "$STATS_ORIG" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_ORIG" && STATS_ORIG=

# ---- report ---------------------------------------------------------------------

say "Results"
DATE=$DATE BPF_STATS=$BPF_STATS QUERIES=$QUERIES ROOT=$ROOT PEERS="$PEERS" COSTS="$COSTS" \
ROUNDS=$ROUNDS KXDPGUN_QPS=$KXDPGUN_QPS COST_QPS=$COST_QPS COST_MISS_QPS=$COST_MISS_QPS SIGNED=$SIGNED \
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
mem_kb = 0
with open("/proc/meminfo") as f:
    for line in f:
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
root = e["ROOT"]
commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD") or "unknown"
if sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no"):
    commit += "-dirty"
q = e["QUERIES"]
meta = {
    "date": e["DATE"],
    "commit": commit,
    "machine": {"nproc": os.cpu_count(), "kernel": os.uname().release, "cpu": cpu,
                "mem_gib": round(mem_kb / 1048576, 1)},
    "tools": {"dnsperf": "dnsperf " + sh("dpkg-query", "-W", "-f=${Version}", "dnsperf"),
              "kxdpgun": sh("/usr/sbin/kxdpgun", "-V"),
              "knotd": sh("knotd", "-V"), "nsd": (sh("nsd", "-v").splitlines() or [""])[0]},
    "queries_file": os.path.relpath(q, root) if q.startswith(root) else q,
    "query_templates": sum(1 for l in open(q) if l.strip()),
    "zones": ["example.com (examples/example.com.zone)",
              e["SIGNED"] + " (the same records, signed with ldns-signzone, ECDSA P-256, NSEC)"],
    "topology": "scripts/netns.sh veth pair (1 queue), servers one at a time on the server end",
    "bpf_stats": e["BPF_STATS"] == "true",
    "peers": e["PEERS"].split(),
    "costs": e["COSTS"].split(),
    "rounds": int(e["ROUNDS"]),
    "kxdpgun_qps": int(e["KXDPGUN_QPS"]),
    "cost_qps": int(e["COST_QPS"]),
    "cost_miss_qps": int(e["COST_MISS_QPS"]),
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
EOF
mkdir -p "$(dirname "$OUT")"
$PY "$ROOT/bench/report.py" "$RAW" "$OUT"
