#!/usr/bin/env bash
# Scale benchmark (issue 6 item 3), run by `make bench-scale` as root, in the
# scripts/netns.sh topology. For synthetic zones of 10k, 100k and 1M RRsets
# (bench/zone_gen.py; 5M with SCALE_5M=1), one at a time:
#
#   xdpns  time from `xdpns serve` to the zone's last record answered from
#          XDP (bench/poll_ready.py from the client namespace, every 20 ms,
#          and the XDP "answered" counter of `xdpns stats --json` moving
#          across that query), the
#          BPF map memory of the xdpns program as the kernel accounts it
#          (`bpftool map show` bytes_memlock of each map the program uses),
#          the daemon's VmRSS less its mapped BPF maps (the blob arrays,
#          already in bytes_memlock) and VmHWM (/proc/PID/status, smaps);
#   knotd  time from start to the last record answered, VmRSS and VmHWM, for
#          the same zone file (plain UDP: XDP changes nothing in loading).
#
# A size xdpns cannot load (too slow, a map full, an error) is recorded with
# its error: that is a finding, not a failure of this script. Prints a table
# and writes bench/results/scale-<date>.json.
#
# Knobs (environment): SCALE_SIZES="10000 100000 1000000", SCALE_5M=1 (adds
# 5000000: ~0.5 GB of zone file, minutes to generate and load), SCALE_TIMEOUT=300
# (s per server and size), CHANGE_SIZE=1000000 (the size change latency is
# measured at; one not in SCALE_SIZES skips it), CHANGE_ROUNDS=3, OUT,
# XDPNS_MAP_KEYS (server.map-keys of the xdpns that loads the zone file;
# unset: the default room of 262144 keys, which the figures use).
#
# Item 4 of issue 6: with the CHANGE_SIZE zone (1M), NOTIFY -> served from
# XDP for a one-record IXFR, xdpns and a Knot secondary of the same Knot
# primary side by side: change_latency() below.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XDPNS=${XDPNS:-$ROOT/build/xdpns}
PEER_PASS_OBJ=${PEER_PASS_OBJ:-$ROOT/build/peer_pass.bpf.o}
SCALE_SIZES=${SCALE_SIZES:-10000 100000 1000000}
[ "${SCALE_5M:-0}" = 1 ] && SCALE_SIZES="$SCALE_SIZES 5000000"
SCALE_TIMEOUT=${SCALE_TIMEOUT:-300}
PY=/usr/bin/python3
DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/results/scale-$DATE.json}
ORIGIN=scale.test
. "$ROOT/scripts/netns.sh"

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench-scale: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP); run 'sudo make bench-scale'"
for f in "$XDPNS" "$PEER_PASS_OBJ"; do
	[ -e "$f" ] || die "$f is missing (run 'make')"
done
for t in knotd bpftool; do
	command -v $t >/dev/null || die "$t is not installed; run 'make deps'"
done

TMP=
KNOT_PID=
bench_cleanup() {
	if [ -n "$KNOT_PID" ]; then
		kill -TERM "$KNOT_PID" 2>/dev/null && wait "$KNOT_PID" 2>/dev/null
		KNOT_PID=
	fi
	[ -n "${XDPNS_PID:-}" ] && netns_stop_xdpns
	if [ -n "${NS_SRV:-}" ]; then
		ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off 2>/dev/null
		ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off 2>/dev/null
	fi
	netns_cleanup
	[ -n "$TMP" ] && rm -rf "$TMP"
	TMP=
	return 0
}

say "Topology"
netns_setup scale || { bench_cleanup; die "cannot create the namespaces"; }
trap bench_cleanup EXIT
TMP=$(mktemp -d /tmp/xdpns-scale.XXXXXX)
RAW=$TMP/raw
mkdir -p "$RAW"
SOCK=$TMP/control.sock
# Daemons are started with `ip netns exec ... &` itself, never through srv:
# $! must be the daemon's pid (ip execs it), not a subshell's.
srv() { ip netns exec "$NS_SRV" "$@"; }
cli() { ip netns exec "$NS_CLI" "$@"; }
echo "server $NS_SRV/$IF_SRV $SRV4, client $NS_CLI/$IF_CLI $CLI4"

now() { date +%s.%N; }
# status_kb PID FIELD: VmRSS, VmHWM... in kB
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
# bpfmap_rss_kb PID: resident kB of the BPF maps PID has mapped (xdpns
# mmaps its blob arrays): already in bytes_memlock, so not counted twice
bpfmap_rss_kb() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { m = ($0 ~ /bpf-map/) } m && $1 == "Rss:" { s += $2 }
	     END { print s + 0 }' "/proc/$1/smaps" 2>/dev/null
}

# measure_xdpns N ZONE NAME TYPE VALUE: writes $RAW/xdpns.N.json
measure_xdpns() {
	local n=$1 zone=$2 name=$3 type=$4 value=$5 t0 t1="" err="" prog maps
	cat >"$TMP/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  identity: scale${XDPNS_MAP_KEYS:+
  map-keys: $XDPNS_MAP_KEYS}
zones:
  - name: $ORIGIN
    file: $zone
EOC
	rm -f "$SOCK"
	t0=$(now)
	ip netns exec "$NS_SRV" "$XDPNS" serve -c "$TMP/xdpns.yaml" --log stderr >"$TMP/xdpns.$n.log" 2>&1 &
	XDPNS_PID=$!
	NETNS_PIDS="$NETNS_PIDS $XDPNS_PID"
	# Served from XDP: the right answer, and XDP's answered counter moved
	# across that query (the slow path would answer the same bytes).
	if t1=$(cli $PY "$ROOT/bench/poll_ready.py" --pid "$XDPNS_PID" \
		--xdpns-sock "$SOCK" \
		$SRV4 "$name" "$type" "$value" "$t0" "$SCALE_TIMEOUT" 2>"$TMP/poll.err"); then
		:
	elif kill -0 "$XDPNS_PID" 2>/dev/null; then
		err="not serving from XDP after ${SCALE_TIMEOUT} s ($(cat "$TMP/poll.err"))"
	else
		err="xdpns exited: $(grep -v '^$' "$TMP/xdpns.$n.log" | tail -3 | tr '\n' ' ')"
	fi
	local rss="" hwm="" stats="{}" mapsj="[]" vmrss="" bpfrss=""
	if [ -z "$err" ]; then
		vmrss=$(status_kb "$XDPNS_PID" VmRSS)
		bpfrss=$(bpfmap_rss_kb "$XDPNS_PID")
		rss=$((vmrss - bpfrss))
		hwm=$(status_kb "$XDPNS_PID" VmHWM)
		stats=$(srv "$XDPNS" stats --json -s "$SOCK")
		prog=$(ip -n "$NS_SRV" -j link show "$IF_SRV" |
			$PY -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')
		maps=$(bpftool prog show id "$prog" --json |
			$PY -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin).get("map_ids", []))))')
		mapsj=$(for m in $maps; do bpftool map show id "$m" --json; done |
			$PY -c 'import json,sys
d=json.JSONDecoder(); s=sys.stdin.read(); i=0; out=[]
while True:
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    o, i = d.raw_decode(s, i); out.append(o)
print(json.dumps(out))')
	fi
	netns_stop_xdpns
	ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off 2>/dev/null
	N=$n T0=$t0 T1=$t1 ERR=$err RSS=$rss HWM=$hwm STATS=$stats MAPS=$mapsj \
		VMRSS=$vmrss BPFRSS=$bpfrss \
		LOGF="$TMP/xdpns.$n.log" $PY - >"$RAW/xdpns.$n.json" <<'EOF'
import json, os
e = os.environ
r = {"rrsets": int(e["N"])}
if e["ERR"]:
    r["error"] = e["ERR"]
else:
    r["serving_xdp_s"] = float(e["T1"])
    r["rss_kb"] = int(e["RSS"] or 0)  # VmRSS without the mapped BPF maps
    r["vmrss_kb"] = int(e["VMRSS"] or 0)
    r["rss_bpf_maps_kb"] = int(e["BPFRSS"] or 0)
    r["hwm_kb"] = int(e["HWM"] or 0)
    r["stats"] = json.loads(e["STATS"])
    r["maps"] = [{k: m.get(k) for k in ("id", "name", "type", "max_entries",
                                         "bytes_key", "bytes_value", "bytes_memlock", "flags")}
                 for m in json.loads(e["MAPS"])]
    r["maps_memlock_bytes"] = sum(m.get("bytes_memlock", 0) for m in r["maps"])
    r["memory_bytes"] = r["maps_memlock_bytes"] + r["rss_kb"] * 1024
# the daemon's own account of the load, for the record
with open(e["LOGF"], errors="replace") as f:
    r["log_tail"] = [l.rstrip() for l in f.readlines()[-4:]]
print(json.dumps(r))
EOF
	$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  xdpns:", r.get("error") or
	  "serving from XDP after %.2f s, maps %.1f MiB, RSS %.1f MiB" % (r["serving_xdp_s"],
	  r["maps_memlock_bytes"]/1048576, r["rss_kb"]/1024))' "$RAW/xdpns.$n.json"
}

# measure_knot N ZONEDIR NAME TYPE VALUE: writes $RAW/knot.N.json
measure_knot() {
	local n=$1 zdir=$2 name=$3 type=$4 value=$5 t0 t1="" err=""
	mkdir -p "$TMP/knot"
	rm -rf "$TMP/knot"/*
	cat >"$TMP/knot.conf" <<EOC
server:
    rundir: "$TMP/knot"
    listen: [ $SRV4@53 ]
    background-workers: 1
database:
    storage: "$TMP/knot"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$zdir"
    file: "%s.zone"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $ORIGIN.
EOC
	t0=$(now)
	ip netns exec "$NS_SRV" knotd -c "$TMP/knot.conf" >"$TMP/knot.$n.log" 2>&1 &
	KNOT_PID=$!
	if t1=$(cli $PY "$ROOT/bench/poll_ready.py" --pid "$KNOT_PID" \
		$SRV4 "$name" "$type" "$value" "$t0" "$SCALE_TIMEOUT" 2>"$TMP/poll.err"); then
		:
	elif kill -0 "$KNOT_PID" 2>/dev/null; then
		err="not serving after ${SCALE_TIMEOUT} s ($(cat "$TMP/poll.err"))"
	else
		err="knotd exited: $(tail -3 "$TMP/knot.$n.log" | tr '\n' ' ')"
	fi
	local rss="" hwm=""
	if [ -z "$err" ]; then
		rss=$(status_kb "$KNOT_PID" VmRSS)
		hwm=$(status_kb "$KNOT_PID" VmHWM)
	fi
	kill -TERM "$KNOT_PID" 2>/dev/null && wait "$KNOT_PID" 2>/dev/null
	KNOT_PID=
	N=$n T0=$t0 T1=$t1 ERR=$err RSS=$rss HWM=$hwm $PY - >"$RAW/knot.$n.json" <<'EOF'
import json, os
e = os.environ
r = {"rrsets": int(e["N"])}
if e["ERR"]:
    r["error"] = e["ERR"]
else:
    r["serving_s"] = float(e["T1"])
    r["rss_kb"] = int(e["RSS"] or 0)
    r["hwm_kb"] = int(e["HWM"] or 0)
print(json.dumps(r))
EOF
	$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  knotd:", r.get("error") or
	  "serving after %.2f s, RSS %.1f MiB" % (r["serving_s"], r["rss_kb"]/1024))' "$RAW/knot.$n.json"
}

# change_latency N ZONE NAME TYPE VALUE: issue 6 item 4, with the N-RRset
# zone (CHANGE_SIZE, 1M by default):
#   1. knotd as the primary in the client namespace ($CLI4@5300, the zone
#      file, journal on so it serves IXFR), NOTIFY to both secondaries;
#   2. xdpns as its secondary ($SRV4@53, XDP), waited until the zone's last
#      record is answered from XDP (the initial AXFR, recorded too), and a
#      knotd secondary of the same primary in the server namespace
#      ($SRV4@5302), waited until it answers the same record;
#   3. CHANGE_ROUNDS times: one record added on the primary (`knotc
#      zone-begin/zone-set/zone-commit`: Knot bumps the serial and sends
#      NOTIFY, the secondaries ask IXFR), and the time from just before the
#      knotc commands to the new record answered, polled every 20 ms on
#      both secondaries at once by pollers started 1.5 s before (so their
#      own start is not measured; POLL_AFTER=1 starts them after the
#      commit, as before); for xdpns the XDP answered counter must move
#      across that query (bench/poll_ready.py), as for the load time.
# Writes $RAW/change_latency.json.
CHANGE_SIZE=${CHANGE_SIZE:-1000000}
CHANGE_ROUNDS=${CHANGE_ROUNDS:-3}
change_latency() {
	local n=$1 zone=$2 name=$3 type=$4 value=$5 err="" t0 k xs ks px pk
	local d=$TMP/chg PRIM_PID="" SEC_PID="" tx="" tk=""
	rm -rf "$d"
	mkdir -p "$d/p/zones" "$d/p/db" "$d/s/db" "$d/s/zones" "$d/xstore"
	cp "$zone" "$d/p/zones/$ORIGIN.zone"
	cat >"$d/p.conf" <<EOC
server:
    rundir: "$d/p"
    listen: [ $CLI4@5300 ]
    background-workers: 1
database:
    storage: "$d/p/db"
log:
  - target: stderr
    any: info
remote:
  - id: xdpns
    address: $SRV4@53
  - id: knot2
    address: $SRV4@5302
acl:
  - id: xfr
    address: $SRV4
    action: transfer
template:
  - id: default
    storage: "$d/p/zones"
    file: "%s.zone"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
zone:
  - domain: $ORIGIN.
    notify: [xdpns, knot2]
    acl: xfr
EOC
	cat >"$d/s.conf" <<EOC
server:
    rundir: "$d/s"
    listen: [ $SRV4@5302 ]
    background-workers: 1
database:
    storage: "$d/s/db"
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: $CLI4@5300
acl:
  - id: notify
    address: $CLI4
    action: notify
template:
  - id: default
    storage: "$d/s/zones"
    file: "%s.zone"
    semantic-checks: off
zone:
  - domain: $ORIGIN.
    master: primary
    acl: notify
EOC
	cat >"$d/xdpns.yaml" <<EOC
server:
  interfaces: [$IF_SRV]
  listen: [$SRV4@53]
  control: $SOCK
  storage: $d/xstore
  map-keys: $((n + 1000))
remotes:
  - id: primary
    address: $CLI4@5300
zones:
  - name: $ORIGIN
    primaries: [primary]
EOC
	t0=$(now)
	ip netns exec "$NS_CLI" knotd -c "$d/p.conf" >"$d/p.log" 2>&1 &
	PRIM_PID=$!
	NETNS_PIDS="$NETNS_PIDS $PRIM_PID"
	cli $PY "$ROOT/bench/poll_ready.py" --pid "$PRIM_PID" --port 5300 \
		$CLI4 "$name" "$type" "$value" "$t0" "$SCALE_TIMEOUT" >/dev/null 2>"$TMP/poll.err" ||
		err="primary not serving: $(cat "$TMP/poll.err")"
	if [ -z "$err" ]; then
		rm -f "$SOCK"
		t0=$(now)
		ip netns exec "$NS_SRV" "$XDPNS" serve -c "$d/xdpns.yaml" --log stderr >"$d/xdpns.log" 2>&1 &
		XDPNS_PID=$!
		NETNS_PIDS="$NETNS_PIDS $XDPNS_PID"
		tx=$(cli $PY "$ROOT/bench/poll_ready.py" --pid "$XDPNS_PID" \
			--xdpns-sock "$SOCK" \
			$SRV4 "$name" "$type" "$value" "$t0" "$SCALE_TIMEOUT" 2>"$TMP/poll.err") ||
			err="xdpns secondary not serving: $(cat "$TMP/poll.err"; tail -3 "$d/xdpns.log")"
	fi
	if [ -z "$err" ]; then
		t0=$(now)
		ip netns exec "$NS_SRV" knotd -c "$d/s.conf" >"$d/s.log" 2>&1 &
		SEC_PID=$!
		NETNS_PIDS="$NETNS_PIDS $SEC_PID"
		tk=$(cli $PY "$ROOT/bench/poll_ready.py" --pid "$SEC_PID" --port 5302 \
			$SRV4 "$name" "$type" "$value" "$t0" "$SCALE_TIMEOUT" 2>"$TMP/poll.err") ||
			err="knot secondary not serving: $(cat "$TMP/poll.err")"
	fi
	printf '  secondaries of the %s-RRset zone (AXFR, from start): xdpns from XDP after %s s, knotd after %s s\n' \
		"$n" "${tx:--}" "${tk:--}"
	: >"$d/rounds"
	: >"$d/t0s"
	# knotc_change K: one record added on the primary, committed (Knot
	# bumps the serial and sends NOTIFY to both secondaries)
	knotc_change() {
		ip netns exec "$NS_CLI" knotc -c "$d/p.conf" zone-begin $ORIGIN. >/dev/null &&
			ip netns exec "$NS_CLI" knotc -c "$d/p.conf" zone-set $ORIGIN. \
				"chg$1.$ORIGIN." 300 A "198.19.$1.$1" >/dev/null &&
			ip netns exec "$NS_CLI" knotc -c "$d/p.conf" zone-commit $ORIGIN. >/dev/null
	}
	for k in $(seq 1 "$CHANGE_ROUNDS"); do
		[ -z "$err" ] || break
		sleep 2 # both settled (Knot flushes, xdpns saved)
		# The pollers start first, and the change at t0, 1.5 s later:
		# a poller started after the commit spent its own start (Python
		# and dnspython, 0.15-0.4 s under load) before its first query,
		# and that floor, not the secondaries, was measured.
		# POLL_AFTER=1: the old way (pollers after the commit).
		t0=$(now)
		[ "${POLL_AFTER:-0}" = 1 ] || t0=$(echo "$t0 + 1.5" | bc)
		if [ "${POLL_AFTER:-0}" = 1 ]; then
			knotc_change $k || { err="knotc could not change the zone"; break; }
		fi
		cli $PY "$ROOT/bench/poll_ready.py" --pid "$XDPNS_PID" \
			--xdpns-sock "$SOCK" \
			$SRV4 "chg$k.$ORIGIN." A "198.19.$k.$k" "$t0" 30 >"$d/x.$k" 2>"$d/x.$k.err" &
		px=$!
		cli $PY "$ROOT/bench/poll_ready.py" --pid "$SEC_PID" --port 5302 \
			$SRV4 "chg$k.$ORIGIN." A "198.19.$k.$k" "$t0" 30 >"$d/k.$k" 2>"$d/k.$k.err" &
		pk=$!
		if [ "${POLL_AFTER:-0}" != 1 ]; then
			$PY -c 'import sys, time; time.sleep(max(0.0, float(sys.argv[1]) - time.time()))' "$t0"
			knotc_change $k || { err="knotc could not change the zone"; kill $px $pk 2>/dev/null; wait; break; }
		fi
		wait $px
		wait $pk
		xs=$(cat "$d/x.$k")
		ks=$(cat "$d/k.$k")
		echo "  change $k: xdpns ${xs:-not served ($(cat "$d/x.$k.err"))} s, knotd ${ks:-not served ($(cat "$d/k.$k.err"))} s"
		echo "$t0" >>"$d/t0s"
		echo "${xs:-null} ${ks:-null} $(srv "$XDPNS" stats --json -s "$SOCK" | $PY -c 'import json,sys
m=json.load(sys.stdin)["maps"]; print(m["last_publish_us"], m.get("last_publish_compiled", "null"), m.get("last_publish_written", "null"), m["entries"])')" >>"$d/rounds"
	done
	grep -iE "ixfr|axfr" "$d/xdpns.log" | tail -4 >"$d/xfr.log"
	# each change's stages, with millisecond timestamps: both
	# secondaries' NOTIFY, transfer and served lines
	grep -E 'msg="(notify accepted|transfer done|zone loaded)"' "$d/xdpns.log" |
		tail -$((3 * CHANGE_ROUNDS)) >"$d/xfr.stages"
	grep -iE "notify|refresh|IXFR|loaded" "$d/s.log" | tail -$((6 * CHANGE_ROUNDS)) >"$d/knot.stages"
	if [ -n "$SEC_PID" ]; then
		kill -TERM "$SEC_PID" 2>/dev/null && wait "$SEC_PID" 2>/dev/null
	fi
	netns_stop_xdpns
	ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off 2>/dev/null
	kill -TERM "$PRIM_PID" 2>/dev/null && wait "$PRIM_PID" 2>/dev/null
	N=$n ERR=$err TX=$tx TK=$tk ROUNDS="$d/rounds" XLOG="$d/xfr.log" T0S="$d/t0s" \
		XSTAGES="$d/xfr.stages" KSTAGES="$d/knot.stages" POLL_AFTER=${POLL_AFTER:-0} $PY - >"$RAW/change_latency.json" <<'EOF'
import json, os, statistics
e = os.environ
r = {"measured": True, "rrsets": int(e["N"]), "rounds": [],
     "pollers_start": "after the commit" if e["POLL_AFTER"] == "1" else "1.5 s before the change"}
if e["ERR"]:
    r["error"] = e["ERR"]
r["secondary_initial_serving_s"] = {"xdpns_xdp": float(e["TX"]) if e["TX"] else None,
                                    "knot": float(e["TK"]) if e["TK"] else None}
num = lambda v: None if v == "null" else float(v)
for line in open(e["ROUNDS"]):
    f = line.split()
    r["rounds"].append({"xdpns_xdp_s": num(f[0]), "knot_s": num(f[1]),
                        "xdpns_publish_us": num(f[2]), "xdpns_keys_compiled": num(f[3]),
                        "xdpns_entries_written": num(f[4]), "xdpns_entries": num(f[5])})
xs = [x["xdpns_xdp_s"] for x in r["rounds"] if x["xdpns_xdp_s"] is not None]
ks = [x["knot_s"] for x in r["rounds"] if x["knot_s"] is not None]
r["xdpns_median_s"] = statistics.median(xs) if xs else None
r["knot_median_s"] = statistics.median(ks) if ks else None
r["xdpns_log"] = [l.rstrip() for l in open(e["XLOG"])]
# when each change was committed (epoch s), and both secondaries' logs of
# it: the stages from the commit to the flip
for x, t in zip(r["rounds"], open(e["T0S"])):
    x["t0"] = float(t)
r["xdpns_stages_log"] = [l.rstrip() for l in open(e["XSTAGES"])]
r["knot_stages_log"] = [l.rstrip() for l in open(e["KSTAGES"])]
print(json.dumps(r))
EOF
}

# memory_need N: bytes xdpns would take for N RRsets at the last loaded
# size's bytes per RRset (maps + RSS), times 1.5 for the compile's peak.
LAST_OK=
memory_need() {
	[ -n "$LAST_OK" ] || return 0
	$PY -c 'import json,sys; r=json.load(open(sys.argv[1]))
if "memory_bytes" in r: print(int(r["memory_bytes"] / r["rrsets"] * int(sys.argv[2]) * 1.5))' \
		"$RAW/xdpns.$LAST_OK.json" "$1"
}

# ---- run ---------------------------------------------------------------------
T0=$(date +%s)
for n in $SCALE_SIZES; do
	say "$n RRsets"
	mkdir -p "$TMP/z"
	tg=$(now)
	last=$($PY "$ROOT/bench/zone_gen.py" $ORIGIN "$n" "$TMP/z/$ORIGIN.zone") ||
		die "zone_gen.py failed"
	set -- $last
	printf '  zone: %s lines, %s MiB, generated in %.1f s; polling %s %s\n' \
		"$(wc -l <"$TMP/z/$ORIGIN.zone")" "$(($(stat -c %s "$TMP/z/$ORIGIN.zone") / 1048576))" \
		"$(echo "$(now) - $tg" | bc)" "$1" "$2"
	# RAM guard (5M on a 24 GiB machine): extrapolate from the last size
	# that loaded; skip, and say so, when it would not fit comfortably.
	need=$(memory_need "$n")
	avail=$(awk '$1 == "MemAvailable:" { print $2 * 1024 }' /proc/meminfo)
	if [ -n "$need" ] && [ "$need" -gt $((avail * 8 / 10)) ]; then
		msg="skipped: needs about $((need >> 30)) GiB (extrapolated), $((avail >> 30)) GiB available"
		echo "  xdpns: $msg"
		printf '{"rrsets": %s, "error": "%s"}\n' "$n" "$msg" >"$RAW/xdpns.$n.json"
	else
		measure_xdpns "$n" "$TMP/z/$ORIGIN.zone" "$1" "$2" "$3"
		grep -q '"error"' "$RAW/xdpns.$n.json" || LAST_OK=$n
	fi
	measure_knot "$n" "$TMP/z" "$1" "$2" "$3"
	[ "$n" = "$CHANGE_SIZE" ] && change_latency "$n" "$TMP/z/$ORIGIN.zone" "$1" "$2" "$3"
	rm -f "$TMP/z/$ORIGIN.zone"
done
[ -e "$RAW/change_latency.json" ] ||
	echo "{\"measured\": false, \"reason\": \"CHANGE_SIZE=$CHANGE_SIZE is not among the sizes\"}" >"$RAW/change_latency.json"
echo "measured in $(($(date +%s) - T0)) s"

say "Results"
mkdir -p "$(dirname "$OUT")"
DATE=$DATE ROOT=$ROOT SIZES="$SCALE_SIZES" $PY - "$RAW" "$OUT" <<'EOF'
import json, os, subprocess, sys
e = os.environ
raw, out = sys.argv[1], sys.argv[2]
def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip()
root = e["ROOT"]
commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD") or "unknown"
if sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no"):
    commit += "-dirty"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown")
mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:")), 0)
res = {"date": e["DATE"], "commit": commit,
       "machine": {"nproc": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release,
                   "mem_gib": round(mem / 1048576, 1)},
       "knot": sh("knotd", "-V").splitlines()[0],
       "zone": "bench/zone_gen.py: hosts with an A each and an AAAA every other host, distinct rdata",
       "sizes": []}
for n in e["SIZES"].split():
    x = json.load(open(os.path.join(raw, f"xdpns.{n}.json")))
    k = json.load(open(os.path.join(raw, f"knot.{n}.json")))
    res["sizes"].append({"rrsets": int(n), "xdpns": x, "knot": k})
res["change_latency"] = json.load(open(os.path.join(raw, "change_latency.json")))

# marginal bytes per RRset between consecutive sizes that both loaded: the
# preallocated blob arrays are a constant, the slope is what an RRset costs
ok = [s for s in res["sizes"] if "error" not in s["xdpns"]]
for a, b in zip(ok, ok[1:]):
    dn = b["rrsets"] - a["rrsets"]
    b["xdpns"]["marginal_maps_bytes_per_rrset"] = (
        b["xdpns"]["maps_memlock_bytes"] - a["xdpns"]["maps_memlock_bytes"]) / dn
    b["xdpns"]["marginal_rss_bytes_per_rrset"] = (
        b["xdpns"]["rss_kb"] - a["xdpns"]["rss_kb"]) * 1024 / dn
kok = [s for s in res["sizes"] if "error" not in s["knot"]]
for a, b in zip(kok, kok[1:]):
    b["knot"]["marginal_rss_bytes_per_rrset"] = (
        b["knot"]["rss_kb"] - a["knot"]["rss_kb"]) * 1024 / (b["rrsets"] - a["rrsets"])

def mib(b):
    return f"{b / 1048576:.1f}"
print(f"xdpns bench-scale {res['date']}  commit {commit}; {res['knot']}")
print(f"  {'RRsets':>9} | {'xdpns s':>8} {'maps MiB':>9} {'RSS MiB':>8} {'B/RRset':>8} {'marg B':>7} "
      f"{'entries':>9} | {'knot s':>7} {'RSS MiB':>8} {'B/RRset':>8} | {'mem x knot':>10}")
for s in res["sizes"]:
    x, k, n = s["xdpns"], s["knot"], s["rrsets"]
    if "error" in x:
        xs = f"{'FAILED: ' + x['error'][:60]:<62}"
    else:
        ent = x["stats"].get("maps", {}).get("entries", 0)
        marg = x.get("marginal_maps_bytes_per_rrset")
        marg = "-" if marg is None else f"{marg + x.get('marginal_rss_bytes_per_rrset', 0):.0f}"
        xs = (f"{x['serving_xdp_s']:>8.2f} {mib(x['maps_memlock_bytes']):>9} "
              f"{mib(x['rss_kb'] * 1024):>8} {x['memory_bytes'] / n:>8.0f} {marg:>7} {ent:>9}")
    if "error" in k:
        ks = f"{'FAILED':>7} {'-':>8} {'-':>8}"
    else:
        ks = f"{k['serving_s']:>7.2f} {mib(k['rss_kb'] * 1024):>8} {k['rss_kb'] * 1024 / n:>8.0f}"
    ratio = "-"
    if "error" not in x and "error" not in k and k["rss_kb"]:
        ratio = f"{x['memory_bytes'] / (k['rss_kb'] * 1024):.2f}x"
        s["memory_vs_knot_rss"] = x["memory_bytes"] / (k["rss_kb"] * 1024)
    print(f"  {n:>9} | {xs} | {ks} | {ratio:>10}")
print("  (B/RRset: (maps memlock + RSS) / RRsets; marg B: the same between this size and the previous)")
m = next((s for s in res["sizes"] if s["rrsets"] == 1000000), None)
if m:
    x = m["xdpns"]
    t1 = None if "error" in x else x["serving_xdp_s"] <= 5
    t2 = m.get("memory_vs_knot_rss")
    res["targets"] = [
        {"target": "1M RRsets from start to serving <= 5 s",
         "value": None if "error" in x else x["serving_xdp_s"], "met": t1},
        {"target": "memory (maps + RSS) <= 2 x Knot's RSS, 1M RRsets",
         "value": t2, "met": None if t2 is None else t2 <= 2}]
    for t in res["targets"]:
        st = {True: "met", False: "MISSED", None: "n/a (" + x.get("error", "no figure")[:50] + ")"}[t["met"]]
        v = "-" if t["value"] is None else f"{t['value']:.2f}"
        print(f"  target: {t['target']:<50} {v:>6}  {st}")
print(f"  change latency: {res['change_latency']}")
with open(out + ".tmp", "w") as f:
    json.dump(res, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(out + ".tmp", out)
print(f"results written to {out}")
EOF
