#!/usr/bin/python3
"""Differential test against Knot DNS (issue 3, item 5).

Both servers serve the same zone files. Every query (the same wire bytes)
goes to Knot and to xdpns over UDP; the replies must agree in rcode, opcode,
header flags (QR AA TC RD RA AD CD), the OPT record (present, version,
flags with DO, payload, option codes), the question section (it must mirror
the query byte for byte, 0x20 case included) and each section compared as a
set of records (owner lowercased, type, class, TTL, rdata). For qtypes ANY
and RRSIG only rcode, flags and OPT are compared (RFC 8482 minimal answers
may differ). When one reply is truncated and the other is not, the TC flag
difference is reported and the sections are not compared; when both are,
what each kept is compared (parts tc-answer, tc-authority, tc-additional).

Parts of a difference: noreply, question, parse, rcode, opcode,
flags(BITS THAT DIFFER), opt-presence/-version/-payload/-flags/-options,
SECTION (records only one side has), SECTION-rdata-case (equal once the
names in rdata are lowercased), SECTION-count (same set, duplicates).

Each zone is given as ORIGIN=FILE; the file is read here to classify every
query (positive, nodata, wildcard-..., below-delegation, cname->END, ent,
delegation-insecure (a cut without DS in a signed zone),
nxdomain-below-..., nsec3-owner...) so the differences come out grouped
into a to-do list. Prints the differences by kind with counts and a final
line `knot-diff: N passed, M failed`; exits 1 when a difference is not
matched by the allowlist, 2 on a usage error or an allowlist entry that
cites no RFC.

Allowlist lines: a glob over the signature
    ZONEKIND CATEGORY QTYPE VARIANT PART
(e.g. `nsec3* nxdomain* * do* tc-authority`) followed by `# RFC NNNN ...`.
"""
import argparse
import collections
import fnmatch
import random
import re
import socket
import sys
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype as T
import dns.zone

QTYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "DS", "DNSKEY",
          "NSEC", "NSEC3PARAM", "SRV", "ANY", "RRSIG"]
# variant name -> (EDNS payload, EDNS flags) or None for no EDNS
VARIANTS = {
    "noedns": None,
    "edns1232": (1232, 0),
    "do1232": (1232, dns.flags.DO),
    "do512": (512, dns.flags.DO),
}
HDR_FLAGS = [("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC),
             ("RD", dns.flags.RD), ("RA", dns.flags.RA), ("AD", dns.flags.AD),
             ("CD", dns.flags.CD)]
SECTIONS = ["answer", "authority", "additional"]
STAR = dns.name.Name([b"*"])


class Zone:
    """What the zone file holds, enough to say what kind of answer a query
    should get (a small RFC 1034 4.3.2 walk used only for grouping)."""

    def __init__(self, origin, path):
        self.origin = dns.name.from_text(origin)
        z = dns.zone.from_file(path, origin=self.origin, relativize=False,
                               check_origin=False)
        self.types = {}
        self.cname = {}
        self.dname = {}
        self.nsec3 = []
        optout = False
        for name, node in z.nodes.items():
            ts = {rds.rdtype for rds in node.rdatasets}
            if T.NSEC3 in ts:
                self.nsec3.append(name)
                for rds in node.rdatasets:
                    if rds.rdtype == T.NSEC3:
                        optout |= any(rd.flags & 1 for rd in rds)
                continue
            self.types[name] = ts - {T.RRSIG}
            if T.CNAME in ts:
                self.cname[name] = node.get_rdataset(
                    dns.rdataclass.IN, T.CNAME)[0].target
            if T.DNAME in ts:
                self.dname[name] = node.get_rdataset(
                    dns.rdataclass.IN, T.DNAME)[0].target
        self.ents = set()
        for name in self.types:
            n = name
            while n != self.origin:
                n = n.parent()
                if n not in self.types:
                    self.ents.add(n)
        apex = self.types.get(self.origin, set())
        if T.NSEC3PARAM in apex:
            self.kind = "nsec3-optout" if optout else "nsec3"
        elif T.DNSKEY in apex:
            self.kind = "nsec"
        else:
            self.kind = "unsigned"

    def exists(self, name):
        return name in self.types or name in self.ents

    def classify(self, qname, qtype, seen=None):
        if not qname.is_subdomain(self.origin):
            return "out"
        seen = seen or set()
        if qname in seen or len(seen) > 16:
            return "loop"
        seen.add(qname)
        rel = qname.relativize(self.origin).labels
        for i in range(len(rel) - 1, -1, -1):
            a = dns.name.Name(rel[i:]).derelativize(self.origin)
            if T.NS in self.types.get(a, ()):
                # an unsigned cut in a signed zone: no DS to show, its
                # absence proved (with NSEC3 opt-out, by the closest
                # provable encloser and an opt-out NSEC3, RFC 5155 7.2.7)
                ins = ("-insecure" if self.kind != "unsigned" and
                       T.DS not in self.types[a] else "")
                if a != qname:
                    return "below-delegation" + ins
                return ("delegation-ds" if qtype == T.DS else
                        "delegation") + ins
        if qname in self.nsec3:
            return "nsec3-owner"
        if qname in self.types:
            pre = "wildcard-owner-" if qname.labels[0] == b"*" else ""
            return pre + self._at(qname, qname, qtype, seen)
        if qname in self.ents:
            return "ent"
        ce = qname.parent()
        while not self.exists(ce) and ce != self.origin:
            ce = ce.parent()
        if ce in self.dname:  # RFC 6672: substitute and go on
            try:
                target = qname.relativize(ce).concatenate(self.dname[ce])
            except dns.name.NameTooLong:
                return "dname->yxdomain"
            return "dname->" + self.classify(target, qtype, seen).split("->")[-1]
        wc = STAR.concatenate(ce)
        if wc in self.types:
            return "wildcard-" + self._at(wc, qname, qtype, seen)
        if ce == self.origin:
            return "nxdomain"
        if ce in self.ents:
            return "nxdomain-below-ent"
        if T.CNAME in self.types[ce]:
            return "nxdomain-below-cname"
        if ce.labels[0] == b"*":
            return "nxdomain-below-wildcard-owner"
        if STAR.concatenate(ce.parent()) in self.types:
            return "nxdomain-below-wildcard-sibling"
        return "nxdomain-below-name"

    def _at(self, node, qname, qtype, seen):
        t = self.types[node]
        if qtype in (T.ANY, T.RRSIG):
            return "exists"
        if T.CNAME in t and qtype == T.NSEC and T.NSEC not in t:
            return "cname-qtype-nsec"  # Knot does not follow CNAME for NSEC
        if T.CNAME in t and qtype != T.CNAME and qtype not in t:
            end = self.classify(self.cname[node], qtype, seen)
            return "cname->" + end.split("->")[-1]
        return "positive" if qtype in t else "nodata"


def mixed_case(name, rnd):
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower()
                   for c in name)


def random_label(rnd):
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(3, 10)))


def zone_names(zone, rnd):
    """Names to ask about: everything in the zone, its empty non-terminals,
    a few NSEC3 owners, and names that do not exist under each point."""
    names = set(zone.types) | zone.ents | set(zone.nsec3[:3])

    def fresh(parent, depth):
        while True:
            n = parent
            for _ in range(depth):
                n = dns.name.Name([random_label(rnd).encode()]).concatenate(n)
            if not zone.exists(n):
                return n

    points = sorted(set(zone.types) | zone.ents)
    for p in points:
        names.add(fresh(p, 1))
        deep = (p in zone.ents or T.NS in zone.types.get(p, ()) or
                STAR.concatenate(p) in zone.types or p == zone.origin)
        if deep:
            names.add(fresh(p, 2))
    for _ in range(6):
        names.add(fresh(zone.origin, 1))
    # below a DNAME, the names that exist below its target
    for owner, target in zone.dname.items():
        for n in points:
            if n != target and n.is_subdomain(target):
                names.add(n.relativize(target).concatenate(owner))
    return sorted(names)


def make_query(qname, qtype, variant, rnd):
    q = dns.message.make_query(qname, qtype, use_edns=False)
    q.id = rnd.randrange(65536)
    if rnd.random() < 0.5:
        q.flags &= ~dns.flags.RD
    if rnd.random() < 0.2:
        q.flags |= dns.flags.CD
    if rnd.random() < 0.1:
        q.flags |= dns.flags.AD
    edns = VARIANTS[variant]
    if edns:
        q.use_edns(0, ednsflags=edns[1], payload=edns[0])
    return q


class Sender:
    def __init__(self, server, ours_port, knot_port, timeout):
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.server = server
        self.ports = {"ours": ours_port, "knot": knot_port}
        self.timeout = timeout

    def ask(self, who, wire):
        """The reply from WHO to WIRE, or None after the timeout."""
        port = self.ports[who]
        self.sock.sendto(wire, (self.server, port))
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            if addr[1] == port and data[:2] == wire[:2]:
                return data


def question_len(wire):
    i = 12
    while i < len(wire) and wire[i]:
        i += wire[i] + 1
    return i + 1 + 4 - 12


def rr_key(rr):
    """(owner lowercased, type, class, TTL, rdata) with the rdata canonical
    (names in it lowercased, RFC 4034 6.2) and exact."""
    rd = rr[0]
    return ((rr.name.canonicalize().to_text(), rr.rdtype, rr.rdclass, rr.ttl,
             rd.to_digestable()), rd.to_wire())


def rr_text(key, limit=90):
    name, rdtype, rdclass, ttl, rdata = key
    s = f"{name} {ttl} {T.to_text(rdtype)}"
    try:
        s += " " + dns.rdata.from_wire(rdclass, rdtype, rdata, 0,
                                       len(rdata)).to_text()
    except Exception:  # pragma: no cover - unknown rdata: show the bytes
        s += " \\# " + rdata.hex()
    return s if len(s) <= limit else s[:limit - 3] + "..."


def section_set(msg, sec):
    rrsets = {"answer": msg.answer, "authority": msg.authority,
              "additional": msg.additional}[sec]
    exact, canon = set(), set()
    for rr in rrsets:
        k, wire = rr_key(rr)
        canon.add(k)
        exact.add(k + (wire,))
    return canon, exact


def flag_text(flags):
    return " ".join(n for n, f in HDR_FLAGS if flags & f) or "-"


def opt_text(m):
    if m.edns < 0:
        return "none"
    s = f"v{m.edns} payload {m.payload}"
    if m.ednsflags & dns.flags.DO:
        s += " DO"
    if m.options:
        s += " opts " + ",".join(str(o.otype) for o in m.options)
    return s


def compare(qwire, qtype, ours, knot):
    """A list of (part, ours, knot) differences."""
    diffs = []
    if ours is None or knot is None:
        return [("noreply", "reply" if ours else "none",
                 "reply" if knot else "none")]
    qlen = question_len(qwire)
    for who, wire in (("ours", ours), ("knot", knot)):
        if wire[12:12 + qlen] != qwire[12:12 + qlen] or wire[4:6] != b"\0\1":
            got = wire[12:12 + qlen]
            diffs.append(("question" if who == "ours" else "knot-question",
                          got.hex() if who == "ours" else "-",
                          got.hex() if who == "knot" else "-"))
    try:
        mo = dns.message.from_wire(ours, one_rr_per_rrset=True)
    except Exception as e:
        return diffs + [("parse", f"{type(e).__name__}: {e}", "ok")]
    try:
        mk = dns.message.from_wire(knot, one_rr_per_rrset=True)
    except Exception as e:
        return diffs + [("parse", "ok", f"{type(e).__name__}: {e}")]
    if mo.rcode() != mk.rcode():
        diffs.append(("rcode", dns.rcode.to_text(mo.rcode()),
                      dns.rcode.to_text(mk.rcode())))
    if dns.opcode.from_flags(mo.flags) != dns.opcode.from_flags(mk.flags):
        diffs.append(("opcode", str(dns.opcode.from_flags(mo.flags)),
                      str(dns.opcode.from_flags(mk.flags))))
    fo = sum(f for _, f in HDR_FLAGS if mo.flags & f)
    fk = sum(f for _, f in HDR_FLAGS if mk.flags & f)
    if fo != fk:
        diffs.append((f"flags({flag_text(fo ^ fk).replace(' ', ',')})",
                      flag_text(fo), flag_text(fk)))
    if (mo.edns < 0) != (mk.edns < 0):
        diffs.append(("opt-presence", opt_text(mo), opt_text(mk)))
    elif mo.edns >= 0:
        for part, a, b in (
                ("opt-version", mo.edns, mk.edns),
                ("opt-payload", mo.payload, mk.payload),
                ("opt-flags", mo.ednsflags & 0xffff, mk.ednsflags & 0xffff),
                ("opt-options", sorted(o.otype for o in mo.options),
                 sorted(o.otype for o in mk.options))):
            if a != b:
                diffs.append((part, opt_text(mo), opt_text(mk)))
    if qtype in (T.ANY, T.RRSIG):
        return diffs
    # One side truncated and the other not: the TC flag difference says it
    # all, the sections cannot be compared. Both truncated: compare what
    # each kept (Knot keeps the RRsets that fitted, RFC 2181 9).
    if (mo.flags ^ mk.flags) & dns.flags.TC:
        return diffs
    tc = mo.flags & dns.flags.TC
    for sec in SECTIONS:
        co, eo = section_set(mo, sec)
        ck, ek = section_set(mk, sec)
        part = ("tc-" if tc else "") + sec
        if co != ck:
            only_o = sorted(co - ck)
            only_k = sorted(ck - co)
            diffs.append((part, "; ".join(rr_text(k) for k in only_o) or "-",
                          "; ".join(rr_text(k) for k in only_k) or "-"))
        elif eo != ek:
            diffs.append((part + "-rdata-case", "case of names in rdata",
                          "differs"))
        else:
            no = len({"answer": mo.answer, "authority": mo.authority,
                      "additional": mo.additional}[sec])
            nk = len({"answer": mk.answer, "authority": mk.authority,
                      "additional": mk.additional}[sec])
            if no != nk:
                diffs.append((part + "-count", f"{no} records",
                              f"{nk} records"))
    return diffs


def load_allow(path):
    """Allowlist patterns; an entry without an RFC in its comment is an
    error (every deliberate difference needs its justification)."""
    allow = []
    if not path:
        return allow
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            pat, _, comment = line.partition("#")
            pat = " ".join(pat.split())
            if not pat:
                continue
            if not re.search(r"RFC ?\d+", comment):
                raise ValueError(f"{path}:{lineno}: '{pat}' cites no RFC "
                                 "in its comment")
            allow.append(pat)
    return allow


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("server", help="address of both servers")
    ap.add_argument("zones", nargs="+", metavar="ORIGIN=FILE")
    ap.add_argument("--ours-port", type=int, default=53)
    ap.add_argument("--knot-port", type=int, default=5300)
    ap.add_argument("--count", default="8000",
                    help="queries to send, or 'all' (every name x qtype x "
                    "variant)")
    ap.add_argument("--seed", type=int, default=5300)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--allow", help="allowlist file")
    ap.add_argument("--show", default="8",
                    help="differences printed per kind, or 'all'")
    ap.add_argument("--report", help="write every difference to this file")
    args = ap.parse_args()
    try:
        allow = load_allow(args.allow)
    except (OSError, ValueError) as e:
        print(f"knot-diff: bad allowlist: {e}", file=sys.stderr)
        return 2

    rnd = random.Random(args.seed)
    zones = []
    for spec in args.zones:
        origin, _, path = spec.partition("=")
        zones.append(Zone(origin, path))
    combos = []
    for z in zones:
        for n in zone_names(z, rnd):
            for t in QTYPES:
                for v in VARIANTS:
                    combos.append((z, n, T.from_text(t), v))
    for n in ("elsewhere.test.", "www.elsewhere.test.", "test."):
        for t in ("A", "NS", "SOA"):
            for v in VARIANTS:
                combos.append((zones[0], dns.name.from_text(n),
                               T.from_text(t), v))
    rnd.shuffle(combos)
    if args.count != "all":
        combos = combos[:int(args.count)]

    sender = Sender(args.server, args.ours_port, args.knot_port, args.timeout)
    groups = collections.OrderedDict()
    all_lines = []
    passed = failed = allowed = 0
    sanity_n = sanity_bad = 0
    t0 = time.monotonic()
    for z, name, qtype, variant in combos:
        cat = z.classify(name, qtype)
        kind = z.kind if cat != "out" else "none"
        q = make_query(mixed_case(name.to_text(), rnd), qtype, variant, rnd)
        wire = q.to_wire()
        ours = sender.ask("ours", wire)
        knot = sender.ask("knot", wire)
        diffs = compare(wire, qtype, ours, knot)
        plain = (kind == "unsigned" and cat == "positive" and
                 qtype not in (T.NS, T.MX, T.SRV))
        if plain:
            sanity_n += 1
            sanity_bad += any(d[0] != "flags(CD)" for d in diffs)
        if not diffs:
            passed += 1
            continue
        qtext = (f"{q.question[0].name} {T.to_text(qtype)} {variant}"
                 f" [{kind} {cat}]")
        hard = False
        for part, o, k in diffs:
            sig = f"{kind} {cat} {T.to_text(qtype)} {variant} {part}"
            if any(fnmatch.fnmatchcase(sig, p) for p in allow):
                allowed += 1
                continue
            hard = True
            line = f"{qtext}: {part}: ours {o} | knot {k}"
            all_lines.append(line)
            groups.setdefault((part, cat), []).append(
                (line, kind, T.to_text(qtype), variant))
        if hard:
            failed += 1
        else:
            passed += 1
    elapsed = time.monotonic() - t0

    show = None if args.show == "all" else int(args.show)
    print(f"knot-diff: {args.server}: {len(combos)} queries over "
          f"{len(zones)} zones in {elapsed:.1f}s")
    parts = collections.Counter()
    for (part, _), items in groups.items():
        parts[part] += len(items)
    if parts:
        print("knot-diff: differences by part: " +
              ", ".join(f"{p} {n}" for p, n in parts.most_common()))
    for (part, cat), items in sorted(groups.items(),
                                     key=lambda kv: -len(kv[1])):
        by = lambda i: ", ".join(f"{k} {c}" for k, c in
                                 collections.Counter(x[i] for x in items)
                                 .most_common())
        print(f"== {part} @ {cat}: {len(items)}  "
              f"(zones: {by(1)}; qtypes: {by(2)}; variants: {by(3)})")
        for line, *_ in items[:show]:
            print(f"   {line}")
        if show is not None and len(items) > show:
            print(f"   ... {len(items) - show} more")
    if args.report:
        with open(args.report, "w") as f:
            f.write("\n".join(all_lines) + "\n")
    print(f"knot-diff: sanity: plain positive answers in the unsigned zone: "
          f"{sanity_n} queries, {sanity_bad} with differences (beyond CD, "
          f"which Knot clears); must be 0, or the harness is wrong")
    if allowed:
        print(f"knot-diff: {allowed} differences matched the allowlist")
    print(f"knot-diff: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
