#!/usr/bin/python3
"""Turn the raw output of one bench/run.sh run into a table, a JSON file and
a PNG chart.

usage: report.py RAWDIR OUT.json

RAWDIR holds what run.sh collected: meta.json (machine, peers, cost cases);
for each peer P, P.info.json (version, XDP program name) and the phases
P.kxdpgun, P.dnsperf and P.cost.CASE, each with PHASE.out (the tool's
output), PHASE.cmd (the command), and when there was one, PHASE.prog.before/
after.json (`bpftool prog show id N --json` of the XDP program on the server
veth) and PHASE.stats.before/after.json (`xdpns stats --json`).

The chart goes beside OUT.json (same name, .png), drawn by gnuplot. Exits 1
when a phase got no replies; a missed target is reported, not an error.
"""
import json
import os
import re
import subprocess
import sys

REFERENCE = ("reflector", "knot-xdp")
COST_LABELS = {
    "a_v4": "A hit, IPv4",
    "aaaa_v6": "AAAA hit, IPv6",
    "do_signed": "A hit DO=1, signed zone",
    "miss": "miss, passed (REFUSED)",
}
COST_SHORT = {"a_v4": "A v4", "aaaa_v6": "AAAA v6", "do_signed": "A DO=1 signed",
              "miss": "miss (passed)"}


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
    r["rate"] = r.get("qps")
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
    r["rate"] = r.get("replies_pps")
    return r


def xdp_delta(before, after):
    b, a = before["xdp"], after["xdp"]
    d = {k: a[k] - b[k] for k in ("received", "answered", "truncated", "dropped")
         if k in a and k in b}
    if "lru_hits" in a and "lru_hits" in b:
        d["lru_hits"] = a["lru_hits"] - b["lru_hits"]
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
    cmd = os.path.join(raw, name + ".cmd")
    if os.path.exists(cmd):
        with open(cmd) as f:
            res["command"] = f.read().strip()
    sb = os.path.join(raw, name + ".stats.before.json")
    sa = os.path.join(raw, name + ".stats.after.json")
    if os.path.exists(sb) and os.path.exists(sa):
        try:
            xdp, slow = xdp_delta(load(sb), load(sa))
            res["xdpns"] = {"xdp": xdp, "slowpath": slow}
            replies = res.get("queries_completed", res.get("replies"))
            if replies:
                xdp["answered_share_of_replies_pct"] = 100.0 * xdp["answered"] / replies
        except (OSError, ValueError, KeyError) as e:
            res["xdpns_error"] = str(e)
    pb = os.path.join(raw, name + ".prog.before.json")
    pa = os.path.join(raw, name + ".prog.after.json")
    if os.path.exists(pb) and os.path.exists(pa):
        res["bpf_stats"] = prog_delta(load(pb), load(pa))
    return res


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_int(v):
    return "-" if v is None else f"{round(v):,}".replace(",", " ")


def fmt_pct(v):
    return "-" if v is None else f"{v:.2f} %"


def fmt_x(v):
    return "-" if v is None else f"{v:.2f}x"


def fmt_ns(v):
    return "-" if v is None else f"{v:.0f}"


def fmt_lat(s):
    if s is None:
        return "-"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} us"


def median_run(runs):
    """The run with the median rate (the lower middle one for an even
    count), with every round's rate beside it."""
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    order = sorted(runs, key=lambda x: x.get("rate") or 0)
    m = dict(order[(len(order) - 1) // 2])
    m["rounds_rate"] = [x.get("rate") for x in runs]
    return m


def collect(raw, meta):
    peers = {}
    for p in meta["peers"]:
        info_path = os.path.join(raw, p + ".info.json")
        r = {"info": load(info_path) if os.path.exists(info_path) else {"name": p}}
        for tool, parser in (("kxdpgun", parse_kxdpgun), ("dnsperf", parse_dnsperf)):
            runs = [phase(raw, f"{p}.{tool}" + (f".r{i}" if i > 1 else ""), parser)
                    for i in range(1, meta.get("rounds", 1) + 1)]
            runs = [x for x in runs if x is not None]
            r[tool] = median_run(runs)
        costs = {}
        for c in meta["costs"]:
            ph = phase(raw, f"{p}.cost.{c}", parse_kxdpgun)
            if ph is not None:
                costs[c] = ph
        if costs:
            r["cost"] = costs
        peers[p] = r
    for tool in ("kxdpgun", "dnsperf"):
        for ref in REFERENCE:
            refv = ((peers.get(ref) or {}).get(tool) or {}).get("rate")
            for p, r in peers.items():
                if r.get(tool):
                    r[tool].setdefault("ratio", {})[f"vs_{ref}"] = ratio(r[tool].get("rate"), refv)
    return peers


def cost_ns(peers, peer, case):
    c = ((peers.get(peer) or {}).get("cost") or {}).get(case) or {}
    return (c.get("bpf_stats") or {}).get("ns_per_run")


def targets(peers):
    """Issue 6 targets that this run can judge (ratios in the same run)."""
    t = []
    x = (peers.get("xdpns") or {}).get("kxdpgun") or {}
    refl = (peers.get("reflector") or {}).get("kxdpgun") or {}
    kx = (peers.get("knot-xdp") or {}).get("kxdpgun") or {}
    r1 = ratio(x.get("rate"), refl.get("rate"))
    t.append({"target": "kxdpgun replies/s of xdpns >= 0.95 x reflector",
              "value": r1, "met": None if r1 is None else r1 >= 0.95})
    r2 = ratio(x.get("rate"), kx.get("rate"))
    t.append({"target": "kxdpgun replies/s of xdpns >= 2 x knot-xdp",
              "value": r2, "met": None if r2 is None else r2 >= 2.0})
    a = x.get("answered_pct")
    t.append({"target": "xdpns answers 100 % under kxdpgun",
              "value": a, "met": None if a is None else x.get("replies") == x.get("queries_sent")})
    r3 = ratio(cost_ns(peers, "xdpns", "a_v4"), cost_ns(peers, "reflector", "a_v4"))
    t.append({"target": "XDP run time per A hit <= 3 x the reflector's per packet",
              "value": r3, "met": None if r3 is None else r3 <= 3.0})
    return t


def table(meta, peers, tg):
    m = meta["machine"]
    print(f"xdpns bench {meta['date']}  commit {meta['commit']}")
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, {m.get('mem_gib', '?')} GiB, Linux {m['kernel']}")
    print(f"queries: {meta['queries_file']} ({meta['query_templates']} templates); "
          f"kxdpgun asked for {meta['kxdpgun_qps']} qps"
          + (f"; median of {meta['rounds']} rounds" if meta.get("rounds", 1) > 1 else ""))
    print()
    hdr = (f"  {'peer':<10} {'kxdpgun r/s':>12} {'answ':>8} {'x refl':>7} {'x knotxdp':>9}"
           f"   {'dnsperf qps':>11} {'answ':>8} {'lat avg':>8} {'x refl':>7} {'x knotxdp':>9}")
    print(hdr)
    for p, r in peers.items():
        k = r.get("kxdpgun") or {}
        d = r.get("dnsperf") or {}
        kr, dr = k.get("ratio", {}), d.get("ratio", {})
        print(f"  {p:<10} {fmt_int(k.get('rate')):>12} {fmt_pct(k.get('answered_pct')):>8} "
              f"{fmt_x(kr.get('vs_reflector')):>7} {fmt_x(kr.get('vs_knot-xdp')):>9}"
              f"   {fmt_int(d.get('rate')):>11} {fmt_pct(d.get('answered_pct')):>8} "
              f"{fmt_lat(d.get('latency_avg_s')):>8} {fmt_x(dr.get('vs_reflector')):>7} "
              f"{fmt_x(dr.get('vs_knot-xdp')):>9}")
    print()
    print("  XDP program on the server veth, ns per packet (bpf_stats, during kxdpgun):")
    for p, r in peers.items():
        b = (r.get("kxdpgun") or {}).get("bpf_stats")
        if b and b.get("ns_per_run"):
            print(f"    {p:<10} query mix   {fmt_ns(b['ns_per_run']):>6} ns  ({b.get('prog_name')}, "
                  f"{fmt_int(b['run_cnt'])} runs)")
    print()
    refl = {c: cost_ns(peers, "reflector", c) for c in meta["costs"]}
    print(f"    {'case':<26} {'xdpns ns':>9} {'reflector ns':>13} {'ratio':>7} {'in XDP':>8} {'kxdpgun r/s':>12}")
    for c in meta["costs"]:
        ph = ((peers.get("xdpns") or {}).get("cost") or {}).get(c) or {}
        xs = (ph.get("xdpns") or {}).get("xdp", {})
        print(f"    {COST_LABELS.get(c, c):<26} {fmt_ns(cost_ns(peers, 'xdpns', c)):>9} "
              f"{fmt_ns(refl.get(c)):>13} {fmt_x(ratio(cost_ns(peers, 'xdpns', c), refl.get(c))):>7} "
              f"{fmt_pct(xs.get('answered_share_of_received_pct')):>8} {fmt_int(ph.get('rate')):>12}")
    for p, r in peers.items():
        for name in ("kxdpgun", "dnsperf"):
            xd = ((r.get(name) or {}).get("xdpns") or {}).get("xdp", {})
            if xd.get("passed"):
                print(f"  {p} {name}: XDP passed by reason: {xd['passed']}")
    if not meta.get("bpf_stats"):
        print("  (kernel.bpf_stats_enabled could not be set: no XDP run-time figures)")
    print()
    print("  issue 6 targets (this run):")
    for t in tg:
        v = t["value"]
        vs = "-" if v is None else (f"{v:.2f} %" if "100 %" in t["target"] else f"{v:.2f}x")
        st = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        print(f"    {t['target']:<58} {vs:>9}  {st}")


def chart(meta, peers, png):
    """Two panels: replies/s per peer (kxdpgun, dnsperf), and XDP ns/packet."""
    base = os.path.splitext(png)[0]
    dat1, dat2, gp = base + ".rate.dat", base + ".cost.dat", base + ".gp"
    with open(dat1, "w") as f:
        for p, r in peers.items():
            k = (r.get("kxdpgun") or {}).get("rate") or 0
            d = (r.get("dnsperf") or {}).get("rate") or 0
            f.write(f"{p} {k / 1000:.1f} {d / 1000:.1f}\n")
    with open(dat2, "w") as f:
        for c in meta["costs"]:
            x = cost_ns(peers, "xdpns", c) or 0
            rf = cost_ns(peers, "reflector", c) or 0
            f.write(f"\"{COST_SHORT.get(c, c)}\" {x:.0f} {rf:.0f}\n")
    m = meta["machine"]
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 1200,480 noenhanced font ",10"
set output "{png}"
set multiplot layout 1,2 title "xdpns bench {meta['date']} (commit {meta['commit']}, {m['nproc']} CPUs, Linux {m['kernel']}, veth)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top right
set yrange [0:*]
set title "replies per second (thousands), same zone and queries"
set ylabel "k replies/s"
plot "{dat1}" using 2:xtic(1) title "kxdpgun (AF_XDP)", "" using 3 title "dnsperf (UDP sockets)"
set title "XDP program run time per packet (bpf_stats)"
set ylabel "ns per packet"
plot "{dat2}" using 2:xtic(1) title "xdpns", "" using 3 title "reflector"
unset multiplot
""")
    try:
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    except OSError as e:
        return str(e)
    for p in (dat1, dat2, gp):
        os.remove(p)
    return None if r.returncode == 0 else r.stderr.strip()


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    raw, out = sys.argv[1], sys.argv[2]
    meta = load(os.path.join(raw, "meta.json"))
    peers = collect(raw, meta)
    tg = targets(peers)
    result = dict(meta)
    result["peers"] = peers
    result["targets"] = tg
    # Issue 6 items 3 and 4 come from bench/scale.sh (bench/results/scale-*.json);
    # change latency (NOTIFY -> served from XDP) waits for zone transfers.
    table(meta, peers, tg)
    with open(out + ".tmp", "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)
    print(f"\nresults written to {out}")
    png = os.path.splitext(out)[0] + ".png"
    err = chart(meta, peers, png)
    if err:
        print(f"bench: chart not drawn: {err}", file=sys.stderr)
    else:
        print(f"chart drawn in {png}")
    bad = []
    for p, r in peers.items():
        for name in ("kxdpgun", "dnsperf"):
            ph = r.get(name)
            if not ph or not (ph.get("replies") or ph.get("queries_completed")):
                bad.append(f"{p}: {name} got no replies")
        for c, ph in (r.get("cost") or {}).items():
            if not ph.get("replies"):
                bad.append(f"{p}: cost run {c} got no replies")
    for b in bad:
        print(f"bench: FAILED: {b}", file=sys.stderr)
    return 1 if bad or err else 0


if __name__ == "__main__":
    sys.exit(main())
