#!/usr/bin/python3
"""Hostile packets over the veth to a running xdpns (tests/e2e/test_hostile_wire.sh).

Runs in the client namespace. Each case is built byte by byte (Ethernet, IP,
UDP, DNS; stdlib only, dnspython just to read replies) and sent with an
AF_PACKET socket, so nothing in the client's stack fixes it up. Replies come
back to an ordinary UDP socket bound to the source port the frames carry.

For every case it checks what must happen: the XDP verdict counter that must
move (and that XDP answered nothing), and the reply (none, FORMERR, or the
right answer through the slow path once the kernel has accepted the packet).
After every case: a normal query answered by XDP (answered +1), one answered
by the slow path over UDP (an EDNS option makes XDP pass it) and one over
TCP, the daemon alive, its open fds back to where they were, and the XDP
error counter still 0. Prints "ok ..." / "FAIL ..." lines.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import dns.flags
import dns.message
import dns.rcode

ARGS = dict(a.split("=", 1) for a in sys.argv[1:])
IFACE = ARGS["iface"]
MAC_SRV = bytes.fromhex(ARGS["mac_srv"].replace(":", ""))
MAC_CLI = bytes.fromhex(ARGS["mac_cli"].replace(":", ""))
SRV4, CLI4 = ARGS["srv4"], ARGS["cli4"]
SRV6, CLI6 = ARGS["srv6"], ARGS["cli6"]
PID = int(ARGS["pid"])
STATS_CMD = ARGS["stats"].split()  # ip netns exec NS xdpns stats --json -s SOCK
TCP_IDLE = int(ARGS["idle_ms"]) / 1000.0
ONLY = ARGS.get("only", "")

NO_REPLY_WAIT = 0.4
FAILS = 0


def report(ok, desc):
    global FAILS
    if not ok:
        FAILS += 1
    print(("ok " if ok else "FAIL ") + desc, flush=True)
    return ok


# ---------------------------------------------------------------- the daemon
def stats():
    out = subprocess.run(STATS_CMD, capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError("stats failed: %s" % out.stderr.strip())
    return json.loads(out.stdout)


def flat(st):
    """One level of names: xdp.answered, xdp.passed.qname, slow.rcode.FORMERR."""
    f = {}
    x = st["xdp"]
    for k in ("received", "answered", "truncated", "dropped", "lru_hits"):
        f["xdp." + k] = x[k]
    for k, v in x["passed"].items():
        f["pass." + k] = v
    s = st["slowpath"]
    for k in ("udp_queries", "tcp_queries", "responses", "no_reply", "tcp_refused"):
        f["slow." + k] = s[k]
    for k, v in s["rcode"].items():
        f["slow.rcode." + k] = v
    return f


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after}


def fd_count():
    return len(os.listdir("/proc/%d/fd" % PID))


# ---------------------------------------------------------------- DNS bytes
def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(qid, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name="www.example.com", qtype=1, qclass=1):
    return qname_wire(name) + struct.pack("!HH", qtype, qclass)


def opt(size=1232, options=b"", rdlen=None, do=False):
    rdlen = len(options) if rdlen is None else rdlen
    return b"\x00" + struct.pack("!HHBBHH", 41, size, 0, 0, 0x8000 if do else 0,
                                 rdlen) + options


def query(name="www.example.com", qtype=1, qid=0x4242, edns=False, options=b""):
    ar = 1 if edns or options else 0
    return header(qid, ar=ar) + question(name, qtype) + (
        opt(options=options) if ar else b"")


# ---------------------------------------------------------------- L2-L4 bytes
def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4_addr(a):
    return socket.inet_pton(socket.AF_INET, a)


def ip6_addr(a):
    return socket.inet_pton(socket.AF_INET6, a)


def udp(sport, payload, v6=False, ulen=None, src=None, dst=None, csum_len=None):
    """UDP header + payload. ulen: the length field (a lie if it differs);
    the checksum covers csum_len bytes (default ulen) as the kernel will."""
    ulen = 8 + len(payload) if ulen is None else ulen
    seg = struct.pack("!HHHH", sport, 53, ulen & 0xFFFF, 0) + payload
    n = min(ulen if csum_len is None else csum_len, len(seg))
    if v6:
        pseudo = ip6_addr(src or CLI6) + ip6_addr(dst or SRV6) + struct.pack("!IxxxB", ulen, 17)
    else:
        pseudo = ip4_addr(src or CLI4) + ip4_addr(dst or SRV4) + struct.pack("!xBH", 17, ulen)
    c = csum(pseudo + seg[:n]) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def ip4(payload, proto=17, options=b"", frag=0, ident=0x1234, tot_len=None):
    ihl = 5 + len(options) // 4
    assert len(options) % 4 == 0
    tot = 4 * ihl + len(payload) if tot_len is None else tot_len
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, ident, frag, 64, proto, 0,
                    ip4_addr(CLI4), ip4_addr(SRV4)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6(payload, nexthdr=17, plen=None):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nexthdr, 64,
                       ip6_addr(CLI6), ip6_addr(SRV6)) + payload


def eth(l3, v6=False):
    return MAC_SRV + MAC_CLI + struct.pack("!H", 0x86DD if v6 else 0x0800) + l3


RAW = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
RAW.bind((IFACE, 0))


def send_frames(frames, gap=0.0):
    for f in frames:
        RAW.send(f)
        if gap:
            time.sleep(gap)


class Client:
    """A UDP socket whose port the crafted frames use as their source."""

    def __init__(self, v6=False):
        self.v6 = v6
        self.s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((CLI6 if v6 else CLI4, 0))
        self.port = self.s.getsockname()[1]

    def replies(self, wait, first_only=False):
        """Every datagram that arrives within wait seconds (first_only:
        return as soon as one has)."""
        got, end = [], time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            self.s.settimeout(left)
            try:
                got.append(self.s.recv(65535))
            except socket.timeout:
                return got
            if first_only:
                return got

    def close(self):
        self.s.close()


def udp4_frame(c, dnsmsg, **kw):
    return eth(ip4(udp(c.port, dnsmsg), **kw))


def udp6_frame(c, dnsmsg):
    return eth(ip6(udp(c.port, dnsmsg, v6=True)), v6=True)


# ---------------------------------------------------------------- checks of replies
WANT = {"www.example.com.": "198.18.0.80", "mail.example.com.": "198.18.0.25"}


def answer_ok(wire, name="www.example.com.", qid=0x4242):
    try:
        m = dns.message.from_wire(wire)
    except Exception as e:  # noqa: BLE001 - any parse error is a wrong reply
        return False, "unparseable reply (%s)" % e
    a = [rd.to_text() for rr in m.answer for rd in rr]
    ok = (m.id == qid and m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.QR
          and m.flags & dns.flags.AA and a == [WANT[name]]
          and [q.name.to_text().lower() for q in m.question] == [name])
    return ok, "id %04x rcode %s answer %s" % (m.id, dns.rcode.to_text(m.rcode()), a)


def rcode_of(wire):
    """(id, rcode) from the header alone: a FORMERR may carry no question."""
    if len(wire) < 12:
        return None, None
    qid, flags = struct.unpack("!HH", wire[:4])
    return qid, flags & 0xF


# ---------------------------------------------------------------- health after each case
def health(tag, fd_base):
    """Normal queries still answered by XDP and by the slow path (UDP, TCP),
    the daemon alive, fds back to base, no XDP error."""
    ok = True
    before = flat(stats())
    c = Client()
    c.s.settimeout(2.0)
    c.s.sendto(query(qid=0x1111), (SRV4, 53))
    try:
        good, why = answer_ok(c.s.recv(4096), qid=0x1111)
    except socket.timeout:
        good, why = False, "no reply"
    mid = flat(stats())
    d = delta(before, mid)
    ok &= report(good and d["xdp.answered"] == 1 and d["slow.udp_queries"] == 0,
                 "%s: then www A is answered by XDP (%s, answered +%d, slow path +%d)"
                 % (tag, why, d["xdp.answered"], d["slow.udp_queries"]))
    # an NSID option: XDP passes it (reason edns), the slow path answers
    c.s.sendto(query("mail.example.com", qid=0x2222, options=b"\x00\x03\x00\x00"), (SRV4, 53))
    try:
        good, why = answer_ok(c.s.recv(4096), "mail.example.com.", 0x2222)
    except socket.timeout:
        good, why = False, "no reply"
    c.close()
    after = flat(stats())
    d = delta(mid, after)
    ok &= report(good and d["pass.edns"] == 1 and d["slow.udp_queries"] == 1,
                 "%s: then mail A with EDNS NSID is answered by the slow path (%s, "
                 "passed edns +%d, slow path udp +%d)"
                 % (tag, why, d["pass.edns"], d["slow.udp_queries"]))
    # and over TCP
    try:
        s = socket.create_connection((SRV4, 53), timeout=2.0)
        w = query(qid=0x3333)
        s.sendall(struct.pack("!H", len(w)) + w)
        good, why = answer_ok(recv_msg(s, 2.0), qid=0x3333)
        s.close()
    except (OSError, EOFError) as e:
        good, why = False, str(e)
    ok &= report(good, "%s: then www A over TCP is answered (%s)" % (tag, why))
    alive = os.path.exists("/proc/%d/status" % PID)
    ok &= report(alive, "%s: the daemon is alive" % tag)
    n = fd_count() if alive else -1
    end = time.monotonic() + 2.0
    while alive and n != fd_base and time.monotonic() < end:
        time.sleep(0.1)  # a closed TCP client is released on the next event
        n = fd_count()
    ok &= report(n == fd_base, "%s: open fds back to %d (%d)" % (tag, fd_base, n))
    final = flat(stats())
    ok &= report(final["pass.error"] == 0,
                 "%s: XDP error counter is 0 (%d)" % (tag, final["pass.error"]))
    return ok


def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out after %d of %d bytes" % (len(buf), n))
        s.settimeout(left)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_msg(s, timeout):
    deadline = time.monotonic() + timeout
    (n,) = struct.unpack("!H", recv_exact(s, 2, deadline))
    return recv_exact(s, n, deadline)


# ---------------------------------------------------------------- UDP cases
def formerr_check(replies, qid):
    if len(replies) != 1:
        return False, "%d replies" % len(replies)
    rid, rc = rcode_of(replies[0])
    return rid == qid and rc == 1, "id %s rcode %s" % (
        "%04x" % rid if rid is not None else "-", rc)


def answer_check(replies, qid, name="www.example.com."):
    if len(replies) != 1:
        return False, "%d replies" % len(replies)
    return answer_ok(replies[0], name, qid)


def none_check(replies, qid):
    return not replies, "%d replies" % len(replies)


def rcode_check(rcode):
    def check(replies, qid):
        if len(replies) != 1:
            return False, "%d replies" % len(replies)
        rid, rc = rcode_of(replies[0])
        return rid == qid and rc == rcode, "id %s rcode %s" % (
            "%04x" % rid if rid is not None else "-", rc)
    return check


EXPECT = {"FORMERR": formerr_check, "answer": answer_check, "none": none_check,
          "NXDOMAIN": rcode_check(3)}


def udp_case(desc, build, counter, count, reply, v6=False, wait=None, also=None):
    """build(client) -> list of frames. counter: the XDP pass reason (or
    'xdp.dropped') that must grow by count; XDP must answer none of them.
    reply: FORMERR, answer, NXDOMAIN or none (qid 0x4242)."""
    c = Client(v6)
    before = flat(stats())
    send_frames(build(c))
    if reply == "none":
        replies = c.replies(wait or NO_REPLY_WAIT)
    else:
        replies = c.replies(wait or 2.0, first_only=True)
        replies += c.replies(0.2)  # and no second reply
    c.close()
    after = flat(stats())
    d = delta(before, after)
    if counter == "miss|answered":
        # a name that does not exist: passed (miss) and NXDOMAIN from the
        # slow path, or NXDOMAIN synthesized in XDP
        got = d["pass.miss"] + d["xdp.answered"]
        okc = got == count and (d["xdp.answered"] == 1 or d["slow.rcode.NXDOMAIN"] == 1)
    else:
        got = d.get(counter, 0)
        okc = got == count and d["xdp.answered"] == 0
    # the slow path's own count of what it sent agrees with what came back
    # (a late reply, after the wait, still shows here)
    slow = {"none": {"slow.responses": 0},
            "FORMERR": {"slow.responses": 1, "slow.rcode.FORMERR": 1},
            "answer": {"slow.responses": 1, "slow.rcode.NOERROR": 1},
            "NXDOMAIN": {}}[reply]
    also = dict(slow, **(also or {}))
    okc &= all(d.get(k, 0) == v for k, v in also.items())
    good, why = EXPECT[reply](replies, 0x4242)
    report(okc and good, "%s: XDP %s +%d (want +%d), answered +%d%s; reply %s: %s"
           % (desc, counter, got, count, d["xdp.answered"],
              "".join(", %s +%d" % (k, d.get(k, 0)) for k in also),
              reply, why))


def cases_udp():
    q = query()
    out = []

    def simple(desc, msg, counter, reply, count=1, v6=False, also=None):
        out.append((desc, lambda c, m=msg: [(udp6_frame if v6 else udp4_frame)(c, m)],
                    counter, count, reply, v6, also))

    # compression pointers in the qname
    simple("qname is a pointer to itself", header(0x4242) + b"\xc0\x0c" + b"\x00\x01\x00\x01",
           "pass.qname", "FORMERR")
    simple("qname: a label, then a pointer back to its start (loop)",
           header(0x4242) + b"\x03www\xc0\x0c" + b"\x00\x01\x00\x01", "pass.qname", "FORMERR")
    simple("qname: two pointers to each other",
           header(0x4242) + b"\xc0\x0e\xc0\x0c" + b"\x00\x01\x00\x01", "pass.qname", "FORMERR")
    simple("qname: forward pointer to a name after the question",
           header(0x4242) + b"\xc0\x12\x00\x01\x00\x01" + qname_wire("www.example.com"),
           "pass.qname", "FORMERR")
    simple("qname: pointer past the end of the message",
           header(0x4242) + b"\x03www\xc3\xff\x00\x01\x00\x01", "pass.qname", "FORMERR")
    # label lengths
    for n in (64, 65, 127):
        simple("qname: a label of %d bytes" % n,
               header(0x4242) + bytes([n]) + b"a" * n + qname_wire("example.com")
               + b"\x00\x01\x00\x01", "pass.qname", "FORMERR")
    simple("qname: label type 0x80 (reserved)",
           header(0x4242) + b"\x83www" + qname_wire("example.com") + b"\x00\x01\x00\x01",
           "pass.qname", "FORMERR")
    # name lengths: 255 is the most a name may have, in the zone: NXDOMAIN
    lab = ["a" * 63, "b" * 63, "c" * 63, "d" * 49, "example", "com"]
    assert len(qname_wire(".".join(lab))) == 255
    simple("qname of 255 bytes (the maximum) under the zone: NXDOMAIN",
           header(0x4242) + question(".".join(lab)), "miss|answered", "NXDOMAIN")
    lab[3] = "d" * 50
    simple("qname of 256 bytes", header(0x4242) + question(".".join(lab)),
           "pass.qname", "FORMERR")
    simple("qname of 321 bytes (5 labels of 63)",
           header(0x4242) + question(".".join(["x" * 63] * 5)), "pass.qname", "FORMERR")
    simple("qname without its root label (message ends in the name)",
           header(0x4242) + b"\x03www\x07example\x03com", "pass.malformed", "FORMERR")
    # section counts
    simple("QDCOUNT 0", header(0x4242, qd=0), "pass.not_query", "FORMERR")
    simple("QDCOUNT 0 with a question present", header(0x4242, qd=0) + question(),
           "pass.not_query", "FORMERR")
    simple("QDCOUNT 2, two questions", header(0x4242, qd=2) + question() + question(),
           "pass.not_query", "FORMERR")
    simple("QDCOUNT 65535, one question", header(0x4242, qd=65535) + question(),
           "pass.not_query", "FORMERR")
    rr = qname_wire("www.example.com") + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([198, 18, 0, 1])
    simple("ANCOUNT 1 in a query (an answer record)", header(0x4242, an=1) + question() + rr,
           "pass.not_query", "FORMERR")
    simple("ANCOUNT 65535 in a query, no records", header(0x4242, an=65535) + question(),
           "pass.not_query", "FORMERR")
    simple("NSCOUNT 1 in a query", header(0x4242, ns=1) + question() + rr,
           "pass.not_query", "FORMERR")
    simple("ARCOUNT 1, no record there", header(0x4242, ar=1) + question(),
           "pass.edns", "FORMERR")
    # OPT records
    simple("two OPT records", header(0x4242, ar=2) + question() + opt() + opt(),
           "pass.not_query", "FORMERR")
    simple("OPT rdlen past the end of the message",
           header(0x4242, ar=1) + question() + opt(rdlen=40), "pass.edns", "FORMERR")
    simple("OPT rdlen 65535, 4 bytes there",
           header(0x4242, ar=1) + question() + opt(options=b"\x00\x03\x00\x00", rdlen=65535),
           "pass.edns", "FORMERR")
    simple("OPT option length past the rdlen",
           header(0x4242, ar=1) + question() + opt(options=b"\x00\x03\x00\x10" + b"x" * 4),
           "pass.edns", "FORMERR")
    simple("OPT option header cut short (3 bytes of rdata)",
           header(0x4242, ar=1) + question() + opt(options=b"\x00\x03\x00"),
           "pass.edns", "FORMERR")
    simple("OPT with a non-root owner name",
           header(0x4242, ar=1) + question() + b"\x01x" + opt()[1:], "pass.edns", "FORMERR")
    simple("OPT record cut inside its fixed part",
           header(0x4242, ar=1) + question() + opt()[:7], "pass.edns", "FORMERR")
    simple("bytes after the question (no record announced)", q + b"\x00" * 7,
           "pass.malformed", "FORMERR")
    # headers cut short: no reply at all
    for n in range(12):
        simple("DNS message of %d bytes (header cut short)" % n, q[:n], "pass.malformed", "none")
    simple("a response (QR=1) sent to port 53: never answered",
           header(0x4242, flags=0x8400) + question(), "pass.not_query", "none")
    simple("IPv6: QDCOUNT 2", header(0x4242, qd=2) + question() + question(),
           "pass.not_query", "FORMERR", v6=True)
    simple("IPv6: qname pointer loop", header(0x4242) + b"\xc0\x0c\x00\x01\x00\x01",
           "pass.qname", "FORMERR", v6=True)
    simple("IPv6: header of 5 bytes", q[:5], "pass.malformed", "none", v6=True)

    # IPv4 options: XDP passes, the kernel accepts, the slow path answers
    for desc, o in (("NOPs and EOL", b"\x01\x01\x01\x00"),
                    ("Router Alert", b"\x94\x04\x00\x00"),
                    ("40 bytes (the most): NOPs", b"\x01" * 40)):
        out.append(("IPv4 with options (%s)" % desc,
                    lambda c, o=o: [eth(ip4(udp(c.port, q), options=o))],
                    "pass.ip_options", 1, "answer", False, None))
    out.append(("IPv4 with options and a bad qname",
                lambda c: [eth(ip4(udp(c.port, header(0x4242) + b"\xc0\x0c\x00\x01\x00\x01"),
                                   options=b"\x01\x01\x01\x00"))],
                "pass.ip_options", 1, "FORMERR", False, None))

    # IPv4 fragments: a UDP datagram cut at 8-byte boundaries
    def frags4(c, payload, cuts, ident, overlap=None):
        seg = udp(c.port, payload)
        pieces, off = [], 0
        for i, end in enumerate(cuts + [len(seg)]):
            more = 0x2000 if i < len(cuts) else 0
            pieces.append(eth(ip4(seg[off:end], frag=more | (off // 8), ident=ident)))
            off = end
        return pieces

    out.append(("IPv4 first fragment alone", lambda c: frags4(c, q, [16], 0x100)[:1],
                "pass.fragment", 1, "none", False, None))
    out.append(("IPv4 later fragment alone", lambda c: frags4(c, q, [16], 0x101)[1:],
                "pass.fragment", 1, "none", False, None))
    out.append(("IPv4 query in two fragments: reassembled, slow path answers",
                lambda c: frags4(c, q, [16], 0x102), "pass.fragment", 2, "answer", False,
                None))
    out.append(("IPv4 query in three fragments, last first",
                lambda c: frags4(c, q, [8, 24], 0x103)[::-1], "pass.fragment", 3, "answer",
                False, None))

    def overlapping(c):
        seg = udp(c.port, q)
        a = eth(ip4(seg[:24], frag=0x2000, ident=0x104))
        # offset 16 overlaps bytes 16..23 with different data
        b = eth(ip4(b"\xff" * 8 + seg[24:], frag=16 // 8, ident=0x104))
        return [a, b]
    out.append(("IPv4 overlapping fragments: dropped by the kernel", overlapping,
                "pass.fragment", 2, "none", False, None))

    def frag_options(c):
        seg = udp(c.port, q)
        return [eth(ip4(seg[:16], frag=0x2000, ident=0x105, options=b"\x01\x01\x01\x00")),
                eth(ip4(seg[16:], frag=2, ident=0x105, options=b"\x01\x01\x01\x00"))]
    out.append(("IPv4 fragments with options", frag_options, "pass.ip_options", 2,
                "answer", False, None))

    # IPv6 extension headers
    def ext(nexthdr_chain):
        """A chain of (type, body) extension headers, UDP last."""
        def build(c):
            seg = udp(c.port, q, v6=True)
            payload = seg
            first = 17
            for typ, body in reversed(nexthdr_chain):
                h = bytes([first]) + body
                assert len(h) % 8 == 0
                if typ != 44:
                    h = h[:1] + bytes([len(h) // 8 - 1]) + h[2:]
                payload = h + payload
                first = typ
            return [eth(ip6(payload, nexthdr=first), v6=True)]
        return build
    padn = b"\x00\x01\x04\x00\x00\x00\x00"  # hdrlen placeholder, PadN of 4
    rt0 = b"\x00\x00\x00\x00\x00\x00\x00"  # hdrlen, type 0, segments left 0, reserved
    atomic = b"\x00\x00\x00\x00\x00\x00\x42"  # reserved, offset 0 M=0, id
    for desc, chain in (("hop-by-hop", [(0, padn)]),
                        ("destination options", [(60, padn)]),
                        ("routing (type 0, segments left 0)", [(43, rt0)]),
                        ("fragment header, atomic (offset 0, M=0)", [(44, atomic)]),
                        ("hop-by-hop, destination options, routing",
                         [(0, padn), (60, padn), (43, rt0)])):
        out.append(("IPv6 with %s" % desc, ext(chain), "pass.ip_options", 1, "answer",
                    True, None))

    def frags6(c, order, ident=0x77):
        seg = udp(c.port, q, v6=True)
        one = b"\x11\x00" + struct.pack("!HI", 0x0001, ident) + seg[:16]
        two = b"\x11\x00" + struct.pack("!HI", 16, ident) + seg[16:]
        fr = [eth(ip6(one, nexthdr=44), v6=True), eth(ip6(two, nexthdr=44), v6=True)]
        return [fr[i] for i in order]
    out.append(("IPv6 query in two fragments: reassembled, slow path answers",
                lambda c: frags6(c, [0, 1]), "pass.ip_options", 2, "answer", True, None))
    out.append(("IPv6 first fragment alone", lambda c: frags6(c, [0], 0x78),
                "pass.ip_options", 1, "none", True, None))
    out.append(("IPv6 extension header with the UDP header cut off",
                lambda c: [eth(ip6(bytes([17, 0]) + padn[1:] + b"\x00" * 4, nexthdr=0), v6=True)],
                "pass.ip_options", 1, "none", True, None))

    # UDP length lying
    out.append(("UDP length longer than the IP payload",
                lambda c: [eth(ip4(udp(c.port, q, ulen=8 + len(q) + 20)))],
                "pass.malformed", 1, "none", False, None))
    out.append(("UDP length 65535, IP payload 41 bytes",
                lambda c: [eth(ip4(udp(c.port, q, ulen=65535)))],
                "pass.malformed", 1, "none", False, None))
    out.append(("UDP length shorter than the IP payload (junk after the query)",
                lambda c: [eth(ip4(udp(c.port, q + b"JUNKJUNK", ulen=8 + len(q))))],
                "pass.malformed", 1, "answer", False, None))
    out.append(("UDP length shorter, cutting the DNS header",
                lambda c: [eth(ip4(udp(c.port, q, ulen=8 + 6)))],
                "pass.malformed", 1, "none", False, None))
    out.append(("UDP length 4 (less than its own header)",
                lambda c: [eth(ip4(udp(c.port, q, ulen=4, csum_len=8 + len(q))))],
                "pass.malformed", 1, "none", False, None))
    out.append(("IPv4 total length shorter than its own header",
                lambda c: [eth(ip4(udp(c.port, q), tot_len=16))],
                "pass.malformed", 1, "none", False, None))
    out.append(("IPv4 total length longer than the frame",
                lambda c: [eth(ip4(udp(c.port, q), tot_len=28 + len(q) + 100))],
                "pass.malformed", 1, "none", False, None))
    out.append(("IPv6 UDP length longer than the payload",
                lambda c: [eth(ip6(udp(c.port, q, v6=True, ulen=8 + len(q) + 20)), v6=True)],
                "pass.malformed", 1, "none", True, None))
    out.append(("IPv6 UDP length shorter (junk after the query)",
                lambda c: [eth(ip6(udp(c.port, q + b"JUNK", v6=True, ulen=8 + len(q))), v6=True)],
                "pass.malformed", 1, "answer", True, None))
    out.append(("IPv6 payload length longer than the frame",
                lambda c: [eth(ip6(udp(c.port, q, v6=True), plen=8 + len(q) + 64), v6=True)],
                "pass.malformed", 1, "none", True, None))
    return out


# ---------------------------------------------------------------- TCP cases
def tcp_cases():
    res = []

    def zero_len():
        s = socket.create_connection((SRV4, 53), timeout=2.0)
        s.sendall(b"\x00\x00")
        s.settimeout(3.0)
        try:
            data = s.recv(100)
            closed = data == b""
        except ConnectionResetError:
            data, closed = b"", True
        except socket.timeout:
            data, closed = b"", False
        s.close()
        return closed and not data, "closed %s, %d bytes back" % (closed, len(data))
    res.append(("TCP length prefix 0: closed, nothing sent", zero_len))

    def max_len():
        # 65535 bytes: a header with QDCOUNT 0 and zeros, then a normal
        # query on the same connection
        s = socket.create_connection((SRV4, 53), timeout=2.0)
        msg = header(0x4242, qd=0) + b"\x00" * (65535 - 12)
        s.sendall(b"\xff\xff" + msg)
        try:
            qid, rc = rcode_of(recv_msg(s, 3.0))
            w = query(qid=0x5555)
            s.sendall(struct.pack("!H", len(w)) + w)
            good, why = answer_ok(recv_msg(s, 2.0), qid=0x5555)
        except (OSError, EOFError) as e:
            s.close()
            return False, str(e)
        s.close()
        return (qid == 0x4242 and rc == 1 and good,
                "first reply id %04x rcode %s; next query: %s" % (qid, rc, why))
    res.append(("TCP length prefix 65535 with 65535 bytes (QDCOUNT 0): FORMERR, "
                "the connection then serves a query", max_len))

    def max_len_query():
        # a real query padded to 65535 bytes: trailing bytes are FORMERR
        s = socket.create_connection((SRV4, 53), timeout=2.0)
        msg = query() + b"\x00" * (65535 - len(query()))
        s.sendall(b"\xff\xff" + msg)
        try:
            qid, rc = rcode_of(recv_msg(s, 3.0))
        except (OSError, EOFError) as e:
            s.close()
            return False, str(e)
        s.close()
        return qid == 0x4242 and rc == 1, "id %04x rcode %s" % (qid, rc)
    res.append(("TCP length prefix 65535, a query and 65493 bytes of padding: FORMERR",
                max_len_query))

    def max_len_short():
        # 65535 announced, 41 bytes sent, write side closed: no answer, closed
        s = socket.create_connection((SRV4, 53), timeout=2.0)
        s.sendall(b"\xff\xff" + query())
        s.shutdown(socket.SHUT_WR)
        s.settimeout(3.0)
        try:
            data = s.recv(100)
            closed = data == b""
        except ConnectionResetError:
            data, closed = b"", True
        except socket.timeout:
            data, closed = b"", False
        s.close()
        return closed and not data, "closed %s, %d bytes back" % (closed, len(data))
    res.append(("TCP length prefix 65535, 41 bytes then EOF: closed without an answer",
                max_len_short))

    def trickle():
        """One byte a second of a 65535-byte message: closed once the
        message has taken longer than the idle timeout, while others are
        answered."""
        s = socket.create_connection((SRV4, 53), timeout=2.0)
        t0 = time.monotonic()
        closed_at = []
        stop = threading.Event()

        def drip():
            data = b"\xff\xff" + query() + b"\x00" * 100
            for i, b in enumerate(data):
                if stop.is_set():
                    return
                try:
                    s.sendall(bytes([b]))
                except OSError:
                    closed_at.append(time.monotonic() - t0)
                    return
                # a closed connection shows as EOF on the read side
                s.settimeout(1.0)
                try:
                    if s.recv(100) == b"":
                        closed_at.append(time.monotonic() - t0)
                        return
                except socket.timeout:
                    pass
                except OSError:
                    closed_at.append(time.monotonic() - t0)
                    return
        th = threading.Thread(target=drip)
        th.start()
        probes = []
        limit = TCP_IDLE + 5.0
        while th.is_alive() and time.monotonic() - t0 < limit:
            c = Client()
            c.s.settimeout(1.0)
            t1 = time.monotonic()
            try:
                c.s.sendto(query("mail.example.com", qid=0x6666, options=b"\x00\x03\x00\x00"),
                           (SRV4, 53))
                good, _ = answer_ok(c.s.recv(4096), "mail.example.com.", 0x6666)
            except socket.timeout:
                good = False
            c.close()
            try:
                t = socket.create_connection((SRV4, 53), timeout=1.0)
                w = query(qid=0x7777)
                t.sendall(struct.pack("!H", len(w)) + w)
                tgood, _ = answer_ok(recv_msg(t, 1.0), qid=0x7777)
                t.close()
            except (OSError, EOFError):
                tgood = False
            probes.append(good and tgood and time.monotonic() - t1 < 1.5)
            time.sleep(0.5)
        stop.set()
        th.join()
        s.close()
        ok_probes = len(probes) >= 10 and all(probes)
        closed = bool(closed_at) and TCP_IDLE - 0.5 <= closed_at[0] <= TCP_IDLE + 3.0
        return ok_probes and closed, (
            "closed after %s (idle timeout %.0f s); meanwhile %d/%d UDP+TCP probes answered"
            % ("%.1f s" % closed_at[0] if closed_at else "never", TCP_IDLE,
               sum(probes), len(probes)))
    res.append(("TCP client sending one byte a second: timed out, others served", trickle))
    return res


def main():
    # warm up: the first query may meet an empty neighbour cache
    c = Client()
    c.s.settimeout(1.0)
    c.s.sendto(query(), (SRV4, 53))
    try:
        c.s.recv(4096)
    except socket.timeout:
        pass
    c.close()
    fd_base = fd_count()
    report(True, "daemon pid %d has %d open fds to begin with" % (PID, fd_base))
    for desc, build, counter, count, reply, v6, also in cases_udp():
        if ONLY and ONLY not in desc:
            continue
        udp_case(desc, build, counter, count, reply, v6=v6, also=also)
        health("  after it", fd_base)
    for desc, fn in tcp_cases():
        if ONLY and ONLY not in desc:
            continue
        before = flat(stats())
        good, why = fn()
        d = delta(before, flat(stats()))
        report(good and d["pass.error"] == 0, "%s (%s)" % (desc, why))
        health("  after it", fd_base)
    report(stats()["xdp"]["passed"]["error"] == 0, "no XDP error in the whole run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
