#!/usr/bin/python3
"""A scripted primary for the transfer failure tests (test_xfr_bad.sh).

    bad_primary.py serve --addr A --port P --zone Z --key-name K
                         --key-alg hmac-sha256 --secret-file F --control C
    bad_primary.py notify --server A --port P --zone Z --key-name K ...
                          [--count N --duration S --source A
                           --sign good|bad|other|none --expect RCODE]

`serve` answers SOA queries over UDP and IXFR/AXFR over TCP, every reply
TSIG-signed with the key (dnspython's own signing; every message of a
transfer signed in order, RFC 8945 5.3.1). What it does is read from the
control file at each query: one line "SCENARIO SERIAL [OPTION=VALUE...]".
The zone of a
serial S is a function of S (www A 198.18.0.<S>, TXT "serial S", 20
hosts), so an IXFR between two good serials is computed. Scenarios:

  good              SOA S; AXFR of S; IXFR from S-5..S-1 as chained diffs
                    (else the whole zone, AXFR style)
  truncated         SOA S; first message of the transfer, then close
  truncated-mid     SOA S; first message and half the second, then close
  soa-mismatch      SOA S; the closing SOA has serial S+1
  bad-tsig          SOA S; the 2nd message signed with another secret
  no-tsig           SOA S; the last message unsigned
  gap-tsig          SOA S; the 2nd message unsigned and left out of the
                    next message's MAC
  too-sparse        SOA S; 100 (empty) unsigned messages in a row after the
                    first, each covered by the next MAC (RFC 8945 allows 99)
  sparse            SOA S; AXFR of S with only the first and the last
                    message signed, the others covered by the last MAC (as
                    NSD signs large transfers; RFC 8945 5.3.1)
  ixfr-del-missing  SOA S; IXFR deleting a record that is not there;
                    AXFR: REFUSED
  backwards         SOA S (S older than the secondary's); AXFR of S
  backwards-xfr     SOA S; IXFR/AXFR of S-2 (older than the SOA said)
  endless           SOA S; the zone, then records forever (no closing SOA)
  endless-bytes     same with 2000-byte TXT records
  endless-slow      one record every 0.1 s forever
  silent            SOA S over UDP; TCP accepted, never answered
  wrong-key         the SOA reply signed with another key name
  peer-badsig       the SOA query answered NOTAUTH, TSIG error BADSIG and
                    no MAC (what a primary does with a request it cannot
                    verify)
  badtime           the SOA reply signed (good MAC) an hour ahead

Options after the serial (any scenario):

  delay=S           wait S seconds before answering an SOA query and
                    before sending a transfer (a slow primary)
  key=NAME          accept requests signed with that key only (of --key-name
                    and the --extra-key keys), and sign with it; a request
                    signed with another key is answered NOTAUTH with TSIG
                    error BADKEY, unsigned (RFC 8945 5.2.1)

Replies are signed with the key the request used. --extra-key NAME=FILE
adds keys (rotation); --counts FILE keeps a JSON object there with the SOA
queries, AXFRs and IXFRs received, requests refused BADKEY, and the most
SOA queries/transfers that were in progress at one time. --addr may be an
IPv6 address.

Every transfer is split into messages of 8 records so multi-message TSIG
is exercised. Runs until SIGTERM; logs to stderr.

`notify` sends --count NOTIFYs (default 1) spread over --duration seconds
from one socket (bound to --source when given), signed with the key, with
the same key name and a wrong secret (bad), another key name (other) or
not at all (none), then collects the replies for a second. It prints
"sent N answered M rcodes {...} verified V" and exits 0 when every NOTIFY
was answered with --expect (default NOERROR) and, when that is NOERROR
and signed good, every reply's TSIG verified.
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig

PER_MSG = 8
SKEW = [0]  # seconds added to the signing time


class _Clock:
    """dns.message signs with time.time(): this one can be ahead."""
    @staticmethod
    def time():
        return time.time() + SKEW[0]


dns.message.time = _Clock


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


class Ctx:
    def __init__(self, args):
        self.origin = dns.name.from_text(args.zone)
        self.keyname = dns.name.from_text(args.key_name)
        self.alg = dns.name.from_text(args.key_alg)
        with open(args.secret_file) as f:
            secret = base64.b64decode(f.read().strip())
        self.keyring = {self.keyname: dns.tsig.Key(self.keyname, secret, self.alg)}
        # the same key name with another secret: MACs that do not verify
        self.badring = {self.keyname: dns.tsig.Key(self.keyname, bytes(32), self.alg)}
        self.othername = dns.name.from_text("other-key.")
        self.otherring = {self.othername: dns.tsig.Key(self.othername, secret, self.alg)}
        self.control = args.control
        self.keys = {self.keyname: self.keyring[self.keyname]}
        for spec in getattr(args, "extra_key", None) or []:
            kn, path = spec.split("=", 1)
            kn = dns.name.from_text(kn)
            with open(path) as f:
                self.keys[kn] = dns.tsig.Key(kn, base64.b64decode(f.read().strip()),
                                             self.alg)
        self.counts_path = getattr(args, "counts", None)
        self.counts = {"soa": 0, "axfr": 0, "ixfr": 0, "badkey": 0,
                       "busy": 0, "max_busy": 0}
        self.lock = threading.Lock()

    def scenario(self):
        """(name, serial, options) from the control file."""
        try:
            with open(self.control) as f:
                w = f.read().split()
            opts = dict(o.split("=", 1) for o in w[2:])
            return w[0], int(w[1]), opts
        except (OSError, ValueError, IndexError):
            return "good", 1, {}

    def count(self, what, busy=0):
        """Count a request; busy +1/-1 around the work on it."""
        with self.lock:
            if what:
                self.counts[what] += 1
            self.counts["busy"] += busy
            self.counts["max_busy"] = max(self.counts["max_busy"],
                                          self.counts["busy"])
            if self.counts_path:
                tmp = self.counts_path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(self.counts, f)
                os.replace(tmp, self.counts_path)

    def hold(self, what):
        """Count a request as busy until release_busy() or the end of the
        with block. The reply's last bytes are sent after the release: the
        client may start its next request the moment they arrive, before
        this thread runs again, which must not count as an overlap."""
        return _Busy(self, what)

    def delay(self):
        d = float(self.scenario()[2].get("delay", 0))
        if d > 0:
            time.sleep(d)

    def parse_request(self, wire):
        """The request verified with an accepted key: (message, None), or
        (None, the BADKEY reply) when it is signed with another key."""
        seen = []
        accept = self.scenario()[2].get("key")
        accept = dns.name.from_text(accept) if accept else None

        def ring(_msg, name):
            seen.append(name)
            if accept is not None and name != accept:
                return None
            return self.keys.get(name)
        try:
            return dns.message.from_wire(wire, keyring=ring), None
        except dns.message.UnknownTSIGKey:
            if not seen:
                raise
            log(f"request signed with key {seen[-1]}: BADKEY")
            self.count("badkey")
            return None, tsig_error_wire(self, wire, seen[-1], dns.rcode.NOTAUTH, 17)


def soa(ctx, serial):
    # refresh and retry long: only the test triggers refreshes
    return (ctx.origin, "SOA", f"ns1 hostmaster {serial} 300 300 3600 60")


def zone(ctx, serial):
    """The records of a serial (SOA first)."""
    o = ctx.origin
    rrs = [soa(ctx, serial), (o, "NS", "ns1"),
           (dns.name.from_text("ns1", o), "A", "198.18.0.2"),
           (dns.name.from_text("www", o), "A", f"198.18.0.{serial % 250}"),
           (dns.name.from_text("txt", o), "TXT", f'"serial {serial}"')]
    rrs += [(dns.name.from_text(f"h{i}", o), "A", f"198.18.1.{i}")
            for i in range(1, 21)]
    return rrs


def rrset(ctx, rr):
    name, rdtype, text = rr
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype),
                             text, origin=ctx.origin, relativize=False)
    return dns.rrset.from_rdata(name, 300, rd)


def reply(ctx, q, rrs, ctxt=None, sign="good", rcode=0):
    """One message of a reply, signed as a part of a multi-message
    sequence; returns (wire, the TSIG context for the next message)."""
    m = dns.message.Message(id=q.id)
    m.flags = dns.flags.QR | dns.flags.AA
    m.set_opcode(q.opcode())
    m.set_rcode(rcode)
    m.question = list(q.question)
    m.answer = [rrset(ctx, rr) for rr in rrs]
    if sign == "none":
        return m.to_wire(), ctxt
    if sign == "sparse":  # unsigned, but in the next message's MAC
        wire = m.to_wire()
        ctxt.update(wire)
        return wire, ctxt
    ring, kn = {"good": (ctx.keyring, ctx.keyname), "bad": (ctx.badring, ctx.keyname),
                "other": (ctx.otherring, ctx.othername)}[sign]
    if sign == "good" and q.had_tsig:  # the key the request used
        ring, kn = {q.keyname: q.keyring}, q.keyname
    m.use_tsig(ring, keyname=kn, algorithm=ctx.alg)
    m.request_mac = q.mac
    wire = m.to_wire(multi=True, tsig_ctx=ctxt if sign == "good" else None)
    return wire, m.tsig_ctx


def chunks(rrs):
    return [rrs[i:i + PER_MSG] for i in range(0, len(rrs), PER_MSG)]


def ixfr_diff(ctx, frm, to):
    """IXFR from serial frm to serial to: one diff per serial step,
    chained (RFC 1995 condensed form is not needed)."""
    out = [soa(ctx, to)]
    for s in range(frm, to):
        old, new = zone(ctx, s), zone(ctx, s + 1)
        out += [soa(ctx, s)] + [rr for rr in old[1:] if rr not in new]
        out += [soa(ctx, s + 1)] + [rr for rr in new[1:] if rr not in old]
    return out + [soa(ctx, to)]


def client_serial(q):
    for rs in q.authority:
        if rs.rdtype == dns.rdatatype.SOA:
            return rs[0].serial
    return None


_BUSY = threading.local()


class _Busy:
    def __init__(self, ctx, what):
        self.ctx, self.what, self.held = ctx, what, False

    def __enter__(self):
        self.ctx.count(self.what, 1)
        self.held = True
        _BUSY.cur = self
        return self

    def release(self):
        if self.held:
            self.held = False
            self.ctx.count(None, -1)

    def __exit__(self, *exc):
        self.release()
        _BUSY.cur = None
        return False


def release_busy():
    """The request's work is done; what follows is its last send."""
    cur = getattr(_BUSY, "cur", None)
    if cur:
        cur.release()


def send(sock, wire):
    sock.sendall(struct.pack("!H", len(wire)) + wire)


def send_all(ctx, sock, q, msgs, sign_of=lambda i: "good"):
    t = None
    for i, rrs in enumerate(msgs):
        wire, t = reply(ctx, q, rrs, t, sign_of(i))
        if i == len(msgs) - 1:
            release_busy()
        send(sock, wire)


def transfer(ctx, sock, q):
    name, serial, _ = ctx.scenario()
    qtype = q.question[0].rdtype
    kind = dns.rdatatype.to_text(qtype)
    cs = client_serial(q)
    log(f"{kind} (client serial {cs}): scenario {name} {serial}"
        f"{', key ' + q.keyname.to_text() if q.had_tsig else ''}")
    ctx.delay()
    full = zone(ctx, serial)
    body = full + [soa(ctx, serial)]
    if name == "good":
        if qtype == dns.rdatatype.IXFR and cs == serial:
            send_all(ctx, sock, q, [[soa(ctx, serial)]])
        elif qtype == dns.rdatatype.IXFR and cs is not None and 0 < serial - cs <= 5:
            send_all(ctx, sock, q, chunks(ixfr_diff(ctx, cs, serial)))
        else:
            send_all(ctx, sock, q, chunks(body))
    elif name == "truncated":
        send_all(ctx, sock, q, chunks(body)[:1])
        time.sleep(0.1)  # then close: the rest never comes
    elif name == "truncated-mid":
        t = None
        for i, rrs in enumerate(chunks(body)[:2]):
            wire, t = reply(ctx, q, rrs, t)
            wire = struct.pack("!H", len(wire)) + wire
            sock.sendall(wire if i == 0 else wire[:len(wire) // 2])
        time.sleep(0.1)
    elif name == "soa-mismatch":
        send_all(ctx, sock, q, chunks(full + [soa(ctx, serial + 1)]))
    elif name == "bad-tsig":
        send_all(ctx, sock, q, chunks(body), lambda i: "bad" if i == 1 else "good")
    elif name == "no-tsig":
        msgs = chunks(body)
        send_all(ctx, sock, q, msgs, lambda i: "none" if i == len(msgs) - 1 else "good")
    elif name == "gap-tsig":
        send_all(ctx, sock, q, chunks(body), lambda i: "none" if i == 1 else "good")
    elif name == "too-sparse":
        msgs = chunks(body)
        msgs = msgs[:1] + [[]] * 100 + msgs[1:]
        send_all(ctx, sock, q, msgs, lambda i: "sparse" if 1 <= i <= 100 else "good")
    elif name == "sparse":
        msgs = chunks(body)
        send_all(ctx, sock, q, msgs,
                 lambda i: "good" if i in (0, len(msgs) - 1) else "sparse")
    elif name == "ixfr-del-missing":
        if qtype != dns.rdatatype.IXFR:
            log("AXFR: REFUSED")
            refused(ctx, sock, q)
            return
        www = dns.name.from_text("www", ctx.origin)
        diff = [soa(ctx, serial), soa(ctx, cs), (www, "A", "192.0.2.99"),
                soa(ctx, serial), (www, "A", "192.0.2.100"), soa(ctx, serial)]
        send_all(ctx, sock, q, chunks(diff))
    elif name == "backwards":
        send_all(ctx, sock, q, chunks(body))
    elif name == "backwards-xfr":
        send_all(ctx, sock, q, chunks(zone(ctx, serial - 2) + [soa(ctx, serial - 2)]))
    elif name in ("endless", "endless-bytes", "endless-slow"):
        t, i = None, 0
        wire, t = reply(ctx, q, full, t)
        send(sock, wire)
        while True:
            if name == "endless-bytes":
                rrs = [(dns.name.from_text(f"big{i}-{k}", ctx.origin), "TXT",
                        " ".join(['"' + "x" * 250 + '"'] * 8)) for k in range(8)]
            else:
                rrs = [(dns.name.from_text(f"more{i}-{k}", ctx.origin), "A",
                        "198.18.2.1") for k in range(1 if name == "endless-slow" else PER_MSG)]
            wire, t = reply(ctx, q, rrs, t)
            send(sock, wire)
            i += 1
            if name == "endless-slow":
                time.sleep(0.1)  # 10x inside the 1 s idle timeout, even on a loaded machine
    elif name == "silent":
        while sock.recv(4096):
            pass
    else:
        log(f"unknown scenario {name}")


def refused(ctx, sock, q):
    wire, _ = reply(ctx, q, [], None, "good", dns.rcode.REFUSED)
    send(sock, wire)


def recv_exact(sock, n):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def soa_reply(ctx, q):
    name, serial, _ = ctx.scenario()
    log(f"SOA query: {serial} (scenario {name})")
    ctx.delay()
    if name == "wrong-key":
        return reply(ctx, q, [soa(ctx, serial)], None, "other")[0]
    if name == "peer-badsig":
        return tsig_error_reply(ctx, q, dns.rcode.NOTAUTH, 16)
    SKEW[0] = 3600 if name == "badtime" else 0
    try:
        return reply(ctx, q, [soa(ctx, serial)])[0]
    finally:
        SKEW[0] = 0


def tsig_error_reply(ctx, q, rcode, error):
    """An error reply with a TSIG record carrying error and no MAC
    (RFC 8945 5.2.2, 5.2.3): built by hand, dnspython would sign it."""
    m = dns.message.Message(id=q.id)
    m.flags = dns.flags.QR
    m.set_rcode(rcode)
    m.question = list(q.question)
    return tsig_error_add(ctx, bytearray(m.to_wire()), ctx.keyname, q.id, error)


def tsig_error_add(ctx, wire, keyname, qid, error):
    rdata = ctx.alg.to_wire() + struct.pack("!HIHHHHH", 0, int(time.time()), 300, 0,
                                            qid, error, 0)
    wire += keyname.to_wire() + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    wire[10:12] = struct.pack("!H", struct.unpack("!H", wire[10:12])[0] + 1)
    return bytes(wire)


def tsig_error_wire(ctx, wire, keyname, rcode, error):
    """The same from a request dnspython would not parse (unknown key):
    its header and (uncompressed) question, copied."""
    off = 12
    while wire[off]:
        off += 1 + wire[off]
    off += 5
    hdr = bytearray(wire[:12])
    hdr[2] = (wire[2] & 0x79) | 0x80
    hdr[3] = rcode & 0xf
    hdr[4:12] = struct.pack("!HHHH", 1, 0, 0, 0)
    return tsig_error_add(ctx, hdr + wire[12:off], keyname,
                          struct.unpack("!H", wire[:2])[0], error)


def tcp_conn(ctx, sock):
    try:
        with sock:
            sock.settimeout(30)
            if ctx.scenario()[0] == "silent":
                log("TCP connection: silent")
                while sock.recv(4096):
                    pass
                return
            hdr = recv_exact(sock, 2)
            if not hdr:
                return
            wire = recv_exact(sock, struct.unpack("!H", hdr)[0])
            q, err = ctx.parse_request(wire)
            if err:
                send(sock, err)
                return
            qtype = q.question[0].rdtype
            if qtype == dns.rdatatype.SOA:
                with ctx.hold("soa"):
                    wire = soa_reply(ctx, q)
                    release_busy()
                    send(sock, wire)
            elif qtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
                with ctx.hold(dns.rdatatype.to_text(qtype).lower()):
                    transfer(ctx, sock, q)
    except (OSError, dns.exception.DNSException) as e:
        log(f"TCP connection ended: {e!r}")


def udp_query(ctx, s, wire, peer):
    try:
        q, err = ctx.parse_request(wire)
    except dns.exception.DNSException as e:
        log(f"UDP query from {peer} rejected: {e!r}")
        return
    try:
        if err:
            s.sendto(err, peer)
        elif q.question and q.question[0].rdtype == dns.rdatatype.SOA:
            with ctx.hold("soa"):
                wire = soa_reply(ctx, q)
                release_busy()
                s.sendto(wire, peer)
    except Exception as e:  # keep serving; the test sees the log
        log(f"UDP reply failed: {e!r}")


def udp_loop(ctx, s):
    # a thread per query: a slow answer (delay=) does not hold the others,
    # so overlapping requests would show in max_busy
    while True:
        wire, peer = s.recvfrom(65535)
        threading.Thread(target=udp_query, args=(ctx, s, wire, peer),
                         daemon=True).start()


def serve(args):
    ctx = Ctx(args)
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    ctx.count(None)  # the counts file exists from the start
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind((args.addr, args.port))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((args.addr, args.port))
    t.listen(16)
    threading.Thread(target=udp_loop, args=(ctx, u), daemon=True).start()
    log(f"serving {ctx.origin} on {args.addr}@{args.port}")
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_conn, args=(ctx, c), daemon=True).start()


def notify_msg(ctx, sign):
    m = dns.message.make_query(ctx.origin, "SOA")
    m.flags = dns.flags.AA
    m.set_opcode(dns.opcode.NOTIFY)
    if sign != "none":
        ring, kn = {"good": (ctx.keyring, ctx.keyname),
                    "bad": (ctx.badring, ctx.keyname),
                    "other": (ctx.otherring, ctx.othername)}[sign]
        m.use_tsig(ring, keyname=kn, algorithm=ctx.alg)
    return m


def notify(args):
    ctx = Ctx(args)
    if (args.count == 1 and args.sign == "good" and not args.source and
            args.expect == "NOERROR"):
        m = notify_msg(ctx, "good")
        # dns.query verifies the reply's TSIG against our request
        r = dns.query.udp(m, args.server, port=args.port, timeout=2)
        if r.rcode() != dns.rcode.NOERROR or not r.had_tsig:
            print(f"NOTIFY answered {dns.rcode.to_text(r.rcode())}, signed: {r.had_tsig}",
                  file=sys.stderr)
            return 1
        return 0
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if args.source:
        s.bind((args.source, 0))
    s.settimeout(0.05)
    sent, macs, rcodes, tsig_errors = {}, {}, {}, {}
    answered = verified = 0
    # replies are read with every key we may have used: an error reply
    # names the request's key
    ring = {ctx.keyname: ctx.keyring[ctx.keyname],
            ctx.othername: ctx.otherring[ctx.othername]}

    def collect():
        nonlocal answered, verified
        try:
            wire, _ = s.recvfrom(65535)
        except socket.timeout:
            return False
        qid = struct.unpack("!H", wire[:2])[0]
        if qid not in sent or sent[qid] is None:
            return True
        sent[qid] = None
        answered += 1
        rc = dns.rcode.to_text(wire[3] & 0xf)
        rcodes[rc] = rcodes.get(rc, 0) + 1
        try:
            r = dns.message.from_wire(wire, keyring=ring, request_mac=macs[qid])
            verified += bool(r.had_tsig)
        except dns.tsig.PeerError as e:  # an unsigned TSIG error
            n = type(e).__name__
            tsig_errors[n] = tsig_errors.get(n, 0) + 1
        except dns.exception.DNSException:
            pass
        return True

    t0 = time.time()
    for i in range(args.count):
        m = notify_msg(ctx, args.sign)
        while m.id in sent:
            m.id = (m.id + 1) & 0xffff
        wire = m.to_wire()
        sent[m.id] = True
        macs[m.id] = m.mac
        s.sendto(wire, (args.server, args.port))
        # pace: NOTIFY i leaves at duration * i / count
        while time.time() < t0 + args.duration * (i + 1) / args.count:
            s.settimeout(max(0.0005, t0 + args.duration * (i + 1) / args.count - time.time()))
            collect()
    end = time.time() + 1.5
    s.settimeout(0.05)
    while answered < args.count and time.time() < end:
        collect()
    print(f"sent {args.count} answered {answered} rcodes {json.dumps(rcodes, sort_keys=True)}"
          f" verified {verified} tsig_errors {json.dumps(tsig_errors, sort_keys=True)}"
          f" in {time.time() - t0:.2f}s")
    ok = answered == args.count and rcodes.get(args.expect, 0) == args.count
    if ok and args.expect == "NOERROR" and args.sign == "good":
        ok = verified == args.count
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "notify"])
    p.add_argument("--addr", default="198.18.0.2")
    p.add_argument("--port", type=int, default=5301)
    p.add_argument("--server", default="198.18.0.1")
    p.add_argument("--zone", required=True)
    p.add_argument("--key-name", required=True)
    p.add_argument("--key-alg", default="hmac-sha256")
    p.add_argument("--secret-file", required=True)
    p.add_argument("--control", default="/dev/null")
    p.add_argument("--extra-key", action="append", metavar="NAME=FILE")
    p.add_argument("--counts")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--source")
    p.add_argument("--sign", choices=["good", "bad", "other", "none"], default="good")
    p.add_argument("--expect", default="NOERROR")
    args = p.parse_args()
    if args.mode == "notify":
        return notify(args)
    serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
