#!/usr/bin/env bash
# Bounded load test (issue 7 item 6), run by `make bench-load` as root (not
# part of `make test`): kxdpgun at the harness's maximum rate (as
# bench/run.sh, KXDPGUN_QPS) for LOAD_SECONDS against xdpns on the
# scripts/netns.sh veth, once with RRL off and once with it on. Checks, per
# run:
#   - the daemon's RSS, sampled every second, stays flat (last - first and
#     max - first under RSS_SLACK_KB);
#   - the BPF map memory of the XDP program (the kernel's own accounting,
#     bpftool's bytes_memlock summed over its maps) is the same at the end;
#   - the daemon is alive at the end and answers a query from XDP;
#   - with RRL on: of the limited responses (slip + drop) the share sent as
#     TC=1 slips is 1/slip (within SLIP_TOLERANCE), from the XDP counters.
# Prints a table; exits non-zero when a check fails.
#
# Knobs: LOAD_SECONDS=30 KXDPGUN_QPS=1000000 RRL_RATE=100 RRL_SLIP=2
#        RSS_SLACK_KB=4096 SLIP_TOLERANCE=0.02
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XDPNS=${XDPNS:-$ROOT/build/xdpns}
PEER_PASS_OBJ=${PEER_PASS_OBJ:-$ROOT/build/peer_pass.bpf.o}
KXDPGUN=${KXDPGUN:-/usr/sbin/kxdpgun}
LOAD_SECONDS=${LOAD_SECONDS:-30}
KXDPGUN_QPS=${KXDPGUN_QPS:-1000000}
RRL_RATE=${RRL_RATE:-100}
RRL_SLIP=${RRL_SLIP:-2}
RSS_SLACK_KB=${RSS_SLACK_KB:-4096}
SLIP_TOLERANCE=${SLIP_TOLERANCE:-0.02}
PY=/usr/bin/python3
. "$ROOT/scripts/netns.sh"

die() { echo "bench-load: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP); run 'sudo make bench-load'"
for f in "$XDPNS" "$PEER_PASS_OBJ" "$KXDPGUN"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench-load', which builds it, or 'make deps')"
done
for t in kdig bpftool timeout; do
	command -v $t >/dev/null || die "$t is not installed; run 'make deps'"
done

TMP=
load_cleanup() {
	[ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null && wait "$SAMPLER" 2>/dev/null
	[ -n "${XDPNS_PID:-}" ] && netns_stop_xdpns
	if [ -n "${NS_SRV:-}" ]; then
		ip -n "$NS_SRV" link set dev "$IF_SRV" xdp off 2>/dev/null
		ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off 2>/dev/null
	fi
	netns_cleanup
	[ -n "$TMP" ] && rm -rf "$TMP"
	return 0
}
netns_setup load || { load_cleanup; die "cannot create the namespaces"; }
trap load_cleanup EXIT
TMP=$(mktemp -d /tmp/xdpns-load.XXXXXX)
SOCK=$TMP/control.sock
cp "$ROOT/examples/example.com.zone" "$TMP/example.com.zone"
# the bench's query list, and 500 names that do not exist: each a miss the
# slow path answers once, then an answer from the XDP LRU
{ cat "$ROOT/bench/queries/example.txt"
  for i in $(seq 1 500); do echo "nx$i.example.com. A"; done; } >"$TMP/queries.txt"
cli() { ip netns exec "$NS_CLI" "$@"; }
stats() { ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK"; }

# map_bytes: the kernel's memory accounting of the XDP program's maps
map_bytes() {
	local id
	id=$(ip -n "$NS_SRV" -j link show "$IF_SRV" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)[0].get("xdp",{}).get("prog",{}).get("id",""))')
	[ -n "$id" ] || { echo 0; return; }
	bpftool prog show id "$id" --json |
		$PY -c '
import json, subprocess, sys
total = 0
for m in json.load(sys.stdin).get("map_ids", []):
    out = subprocess.run(["bpftool", "map", "show", "id", str(m), "--json"],
                         capture_output=True, text=True, check=True).stdout
    total += json.loads(out).get("bytes_memlock", 0)
print(total)'
}

RESULTS=$TMP/results
: >"$RESULTS"
FAILED=0
note_fail() { echo "  FAIL $*"; FAILED=$((FAILED + 1)); }

# run LABEL RRL_SECTION
run() {
	local label=$1 rrl=$2 before after out rc
	netns_xdpns_config "$TMP/xdpns.yaml" "$TMP/example.com.zone" "$rrl"
	echo "== $label: kxdpgun -Q $KXDPGUN_QPS for ${LOAD_SECONDS}s"
	netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/$label.log" || die "xdpns did not start"
	out=$(cli kdig @$SRV4 www.example.com A +short +timeout=1 +retry=2)
	[ "$out" = 198.18.0.80 ] || die "$label: xdpns does not answer"
	before=$(stats)
	: >"$TMP/$label.rss"
	: >"$TMP/$label.maps"
	( while kill -0 "$XDPNS_PID" 2>/dev/null; do
		awk '/^VmRSS:/ { print $2 }' "/proc/$XDPNS_PID/status" >>"$TMP/$label.rss"
		map_bytes >>"$TMP/$label.maps"
		sleep 1
	done ) &
	SAMPLER=$!
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off
	cli timeout --foreground -s INT -k 5 $((LOAD_SECONDS + 30)) "$KXDPGUN" \
		-t "$LOAD_SECONDS" -Q "$KXDPGUN_QPS" -i "$TMP/queries.txt" -I "$IF_CLI" $SRV4 \
		>"$TMP/$label.kxdpgun" 2>&1
	rc=$?
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp off 2>/dev/null
	ip -n "$NS_CLI" link set dev "$IF_CLI" xdp obj "$PEER_PASS_OBJ" sec xdp ||
		die "cannot re-attach the pass program"
	sleep 1
	kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
	[ $rc = 0 ] && grep -q '^total replies:' "$TMP/$label.kxdpgun" ||
		{ cat "$TMP/$label.kxdpgun" >&2; die "$label: kxdpgun failed (exit $rc)"; }
	grep -E '^total (queries|replies):' "$TMP/$label.kxdpgun" | sed 's/^/  /'
	local alive=yes answers=no a0 a1
	kill -0 "$XDPNS_PID" 2>/dev/null || alive=no
	if [ $alive = yes ]; then
		after=$(stats)
		a0=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["xdp"]["answered"])' "$(stats)")
		out=$(cli kdig @$SRV6 www.example.com AAAA +short +timeout=1 +retry=2)
		a1=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["xdp"]["answered"])' "$(stats)")
		[ "$out" = fd00:5353::80 ] && [ $((a1 - a0)) -ge 1 ] && answers=yes
	else
		after=$before
	fi
	$PY - "$label" "$TMP/$label.rss" "$TMP/$label.maps" "$TMP/$label.kxdpgun" \
		"$before" "$after" "$alive" "$answers" "$RRL_SLIP" "$RSS_SLACK_KB" \
		"$SLIP_TOLERANCE" "$([ -n "$rrl" ] && echo on || echo off)" >>"$RESULTS" <<'EOP'
import json, re, sys
(label, rss_f, maps_f, kx_f, before, after, alive, answers, slip, slack, tol,
 rrl) = sys.argv[1:]
rss = [int(x) for x in open(rss_f).read().split()]
maps = [int(x) for x in open(maps_f).read().split()]
kx = open(kx_f).read()
q = int(re.search(r"^total queries:\s+(\d+)", kx, re.M).group(1))
r = int(re.search(r"^total replies:\s+(\d+)", kx, re.M).group(1))
b, a = json.loads(before), json.loads(after)
def d(*path):
    x, y = a, b
    for p in path:
        x, y = x[p], y[p]
    return x - y
res = {"label": label, "rrl": rrl, "queries": q, "replies": r,
       "rss_first_kb": rss[0], "rss_last_kb": rss[-1], "rss_max_kb": max(rss),
       "rss_samples": len(rss), "maps_first": maps[0], "maps_last": maps[-1],
       "maps_max": max(maps), "alive": alive, "answers": answers,
       "answered": d("xdp", "answered"), "passed_miss": d("xdp", "passed", "miss"),
       "slow_udp": d("slowpath", "udp_queries")}
ok = {"rss flat": res["rss_last_kb"] - res["rss_first_kb"] <= int(slack)
                  and res["rss_max_kb"] - res["rss_first_kb"] <= int(slack),
      "maps flat": res["maps_last"] == res["maps_first"] and res["maps_max"] == res["maps_first"],
      "alive": alive == "yes", "answers after": answers == "yes"}
if rrl == "on":
    k = a["xdp"]["rrl"]["answer"]
    kb = b["xdp"]["rrl"]["answer"]
    p, s, dr = (sum(a["xdp"]["rrl"][x][y] - b["xdp"]["rrl"][x][y]
                    for x in a["xdp"]["rrl"]) for y in ("pass", "slip", "drop"))
    res.update({"rrl_pass": p, "rrl_slip": s, "rrl_drop": dr})
    share = s / (s + dr) if s + dr else 0.0
    res["slip_share"] = round(share, 4)
    ok["slip share 1/%s" % slip] = s + dr > 0 and abs(share - 1.0 / int(slip)) <= float(tol)
res["checks"] = ok
print(json.dumps(res))
EOP
	netns_stop_xdpns || note_fail "$label: xdpns exited non-zero on SIGTERM"
}

run rrl-off ""
run rrl-on "rrl:
  rate: $RRL_RATE
  slip: $RRL_SLIP
  window: 5"

$PY - "$RESULTS" <<'EOP'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("%-8s %10s %10s %9s %9s %9s %12s %12s %6s %8s %8s %8s %6s" % (
    "run", "queries", "replies", "rss0 KB", "rss1 KB", "rssmax", "maps0 B",
    "maps1 B", "alive", "pass", "slip", "drop", "slip%"))
for r in rows:
    print("%-8s %10d %10d %9d %9d %9d %12d %12d %6s %8s %8s %8s %6s" % (
        r["label"], r["queries"], r["replies"], r["rss_first_kb"], r["rss_last_kb"],
        r["rss_max_kb"], r["maps_first"], r["maps_last"], r["alive"],
        r.get("rrl_pass", "-"), r.get("rrl_slip", "-"), r.get("rrl_drop", "-"),
        "%.1f" % (100 * r["slip_share"]) if "slip_share" in r else "-"))
print()
bad = 0
for r in rows:
    for name, ok in r["checks"].items():
        print("  %-4s %s: %s" % ("ok" if ok else "FAIL", r["label"], name))
        bad += not ok
print("bench-load: %d checks, %d failed" % (sum(len(r["checks"]) for r in rows), bad))
sys.exit(1 if bad else 0)
EOP
rc=$?
[ $FAILED = 0 ] && [ $rc = 0 ]
