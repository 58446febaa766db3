#!/usr/bin/python3
"""Turn the raw output of one bench/run.sh run into a table and a JSON file.

usage: report.py RAWDIR OUT.json

RAWDIR holds what run.sh collected: meta.json (machine, commands), for each
phase P in (dnsperf, kxdpgun) P.out (the tool's output), P.stats.before.json
and P.stats.after.json (`xdpns stats --json`), and, when BPF run-time stats
were enabled, P.prog.before.json and P.prog.after.json (`bpftool prog show
id N --json`) for the xdpns program, and P.peer.*.json for the client's
XDP_PASS program (a floor for comparison). Exits 1 if a phase has no usable
result.
"""
import json
import os
import re
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def num(s):
    return float(s) if "." in s else int(s)


def parse_dnsperf(text):
    r = {}
    pats = {
        "queries_sent": r"Queries sent:\s+(\d+)",
        "queries_completed": r"Queries completed:\s+(\d+)",
        "queries_lost": r"Queries lost:\s+(\d+)",
        "run_time_s": r"Run time \(s\):\s+([\d.]+)",
        "qps": r"Queries per second:\s+([\d.]+)",
        "latency_stddev_s": r"Latency StdDev \(s\):\s+([\d.]+)",
    }
    for k, p in pats.items():
        m = re.search(p, text)
        if m:
            r[k] = num(m.group(1))
    m = re.search(r"Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)", text)
    if m:
        r["latency_avg_s"], r["latency_min_s"], r["latency_max_s"] = map(float, m.groups())
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        r["rcodes"] = {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+) \(", m.group(1))}
    m = re.search(r"Average packet size:\s+request (\d+), response (\d+)", text)
    if m:
        r["avg_request_bytes"], r["avg_response_bytes"] = map(int, m.groups())
    if "queries_completed" in r and r.get("queries_sent"):
        r["answered_pct"] = 100.0 * r["queries_completed"] / r["queries_sent"]
    return r


def parse_kxdpgun(text):
    r = {}
    m = re.search(r"using interface (\S+), XDP threads (\d+), (\S+), (.*) mode", text)
    if m:
        r["threads"] = int(m.group(2))
        r["mode"] = m.group(4)
    m = re.search(r"total queries:\s+(\d+) \((\d+) pps\)", text)
    if m:
        r["queries_sent"], r["queries_pps"] = map(int, m.groups())
    m = re.search(r"total replies:\s+(\d+) \((\d+) pps\) \((\d+)%\)", text)
    if m:
        r["replies"], r["replies_pps"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"average DNS reply size:\s+(\d+) B", text)
    if m:
        r["avg_reply_bytes"] = int(m.group(1))
    m = re.search(r"duration:\s+([\d.]+) s", text)
    if m:
        r["duration_s"] = num(m.group(1))
    rc = dict((k, int(v)) for k, v in re.findall(r"responded (\S+):\s+(\d+)", text))
    if rc:
        r["rcodes"] = rc
    if "replies" in r and r.get("queries_sent"):
        # kxdpgun prints a whole percentage; keep two decimals here.
        r["answered_pct"] = 100.0 * r["replies"] / r["queries_sent"]
    return r


def xdp_delta(before, after):
    b, a = before["xdp"], after["xdp"]
    d = {k: a[k] - b[k] for k in ("received", "answered", "truncated", "dropped")}
    d["passed"] = {k: a["passed"][k] - b["passed"][k] for k in a["passed"]}
    d["passed"] = {k: v for k, v in d["passed"].items() if v}
    d["answered_share_of_received_pct"] = (
        100.0 * d["answered"] / d["received"] if d["received"] else None)
    sb, sa = before["slowpath"], after["slowpath"]
    slow = {k: sa[k] - sb[k] for k in ("udp_queries", "tcp_queries", "responses")}
    return d, slow


def prog_delta(before, after):
    cnt = after.get("run_cnt", 0) - before.get("run_cnt", 0)
    ns = after.get("run_time_ns", 0) - before.get("run_time_ns", 0)
    return {"prog_id": after.get("id"), "prog_name": after.get("name"),
            "run_cnt": cnt, "run_time_ns": ns,
            "ns_per_run": ns / cnt if cnt else None}


def phase(raw, name, parser):
    out = os.path.join(raw, name + ".out")
    if not os.path.exists(out):
        return None
    with open(out, errors="replace") as f:
        res = parser(f.read())
    try:
        xdp, slow = xdp_delta(load(os.path.join(raw, name + ".stats.before.json")),
                              load(os.path.join(raw, name + ".stats.after.json")))
        res["xdp"] = xdp
        res["slowpath"] = slow
        replies = res.get("queries_completed", res.get("replies"))
        if replies:
            res["xdp"]["answered_share_of_replies_pct"] = 100.0 * xdp["answered"] / replies
    except (OSError, ValueError, KeyError) as e:
        res["xdp_error"] = str(e)
    pb = os.path.join(raw, name + ".prog.before.json")
    pa = os.path.join(raw, name + ".prog.after.json")
    if os.path.exists(pb) and os.path.exists(pa):
        res["bpf_stats"] = prog_delta(load(pb), load(pa))
    pb = os.path.join(raw, name + ".peer.before.json")
    pa = os.path.join(raw, name + ".peer.after.json")
    if os.path.exists(pb) and os.path.exists(pa):
        res["bpf_stats_client_xdp_pass"] = prog_delta(load(pb), load(pa))
    return res


def fmt_int(v):
    return "-" if v is None else f"{v:,}".replace(",", " ")


def fmt_pct(v):
    return "-" if v is None else f"{v:.2f} %"


def fmt_lat(s):
    if s is None:
        return "-"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} us"


def table(meta, dp, kx):
    dp = dp or {}
    kx = kx or {}
    dx, kxx = dp.get("xdp", {}), kx.get("xdp", {})
    db, kb = dp.get("bpf_stats", {}), kx.get("bpf_stats", {})
    lat = "-"
    if "latency_avg_s" in dp:
        lat = "/".join(fmt_lat(dp[k]) for k in ("latency_avg_s", "latency_min_s", "latency_max_s"))
    rows = [
        ("", "dnsperf", "kxdpgun"),
        ("client", "UDP sockets", f"AF_XDP, {kx.get('threads', '?')} thread(s)"),
        ("duration (s)", f"{dp.get('run_time_s', 0):.1f}", str(kx.get("duration_s", "-"))),
        ("queries sent", fmt_int(dp.get("queries_sent")), fmt_int(kx.get("queries_sent"))),
        ("replies", fmt_int(dp.get("queries_completed")), fmt_int(kx.get("replies"))),
        ("replies per second", fmt_int(round(dp["qps"])) if "qps" in dp else "-",
         fmt_int(kx.get("replies_pps"))),
        ("answered", fmt_pct(dp.get("answered_pct")), fmt_pct(kx.get("answered_pct"))),
        ("latency avg/min/max", lat, "-"),
        ("XDP received", fmt_int(dx.get("received")), fmt_int(kxx.get("received"))),
        ("XDP answered", fmt_int(dx.get("answered")), fmt_int(kxx.get("answered"))),
        ("  of XDP received", fmt_pct(dx.get("answered_share_of_received_pct")),
         fmt_pct(kxx.get("answered_share_of_received_pct"))),
        ("  of client replies", fmt_pct(dx.get("answered_share_of_replies_pct")),
         fmt_pct(kxx.get("answered_share_of_replies_pct"))),
        ("  with TC=1", fmt_int(dx.get("truncated")), fmt_int(kxx.get("truncated"))),
        ("slow-path queries", fmt_int(dp.get("slowpath", {}).get("udp_queries")),
         fmt_int(kx.get("slowpath", {}).get("udp_queries"))),
        ("XDP prog runs", fmt_int(db.get("run_cnt")), fmt_int(kb.get("run_cnt"))),
        ("XDP prog ns per run",
         f"{db['ns_per_run']:.0f}" if db.get("ns_per_run") else "-",
         f"{kb['ns_per_run']:.0f}" if kb.get("ns_per_run") else "-"),
    ]
    pp = dp.get("bpf_stats_client_xdp_pass", {})
    if pp.get("ns_per_run"):
        rows.append(("  client XDP_PASS prog", f"{pp['ns_per_run']:.0f}", "-"))
    m = meta["machine"]
    print(f"xdpns bench {meta['date']}  commit {meta['commit']}")
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}")
    print(f"queries: {meta['queries_file']} ({meta['query_templates']} templates)")
    for r in rows:
        print(f"  {r[0]:<22}{r[1]:>26}  {r[2]:>26}")
    for name, res in (("dnsperf", dp), ("kxdpgun", kx)):
        if res.get("xdp", {}).get("passed"):
            print(f"  {name}: XDP passed by reason: {res['xdp']['passed']}")
    if not meta.get("bpf_stats"):
        print("  (kernel.bpf_stats_enabled could not be set: no XDP run-time figures)")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    raw, out = sys.argv[1], sys.argv[2]
    meta = load(os.path.join(raw, "meta.json"))
    dp = phase(raw, "dnsperf", parse_dnsperf)
    kx = phase(raw, "kxdpgun", parse_kxdpgun)
    if dp is not None:
        dp["command"] = meta["commands"]["dnsperf"]
    if kx is not None:
        kx["command"] = meta["commands"]["kxdpgun"]
        kx["qps_requested"] = meta["kxdpgun_qps"]
    result = {k: v for k, v in meta.items() if k != "commands"}
    result["dnsperf"] = dp
    result["kxdpgun"] = kx
    table(meta, dp, kx)
    with open(out + ".tmp", "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)
    print(f"results written to {out}")
    bad = []
    if not dp or not dp.get("queries_completed"):
        bad.append("dnsperf got no replies")
    if not kx or not kx.get("replies"):
        bad.append("kxdpgun got no replies")
    for b in bad:
        print(f"bench: FAILED: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
