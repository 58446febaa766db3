#!/usr/bin/python3
"""Capture a primary's real replies for the fuzz_xfr seed corpus
(tests/fuzz/gen_xfr_corpus.sh runs it against knotd in a namespace).

Writes corpus files in fuzz_xfr's input format (tests/fuzz/fuzz_xfr.c):
a flags byte, then each reply as [2-byte length][message], exactly as the
primary sent it (IDs are the primary's; flag 0x10 makes the harness set
them to its request's)."""
import socket
import struct
import sys
import time

import dns.message
import dns.rdatatype
import dns.rrset

ADDR, PORT, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ZONE = "example.com."
OLD_SERIAL = 2026112301


def udp_query(q):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    s.sendto(q.to_wire(), (ADDR, PORT))
    r = s.recv(65535)
    s.close()
    return r


def tcp_exchange(q):
    """Every message of the reply: read until the primary closes or has
    been quiet for 0.7 s."""
    s = socket.create_connection((ADDR, PORT), timeout=2.0)
    w = q.to_wire()
    s.sendall(struct.pack("!H", len(w)) + w)
    msgs, buf = [], b""
    s.settimeout(0.7)
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + (buf[0] << 8 | buf[1]):
            n = buf[0] << 8 | buf[1]
            msgs.append(buf[2:2 + n])
            buf = buf[2 + n:]
    s.close()
    return msgs


def frames(msgs):
    return b"".join(struct.pack("!H", len(m)) + m for m in msgs)


def write(name, flags, msgs, cut_last=0):
    """cut_last: keep only that many bytes of the last message (its length
    prefix still announces all of it: the primary closed mid-message)."""
    data = bytes([flags]) + frames(msgs)
    if cut_last:
        data = data[:len(data) - len(msgs[-1]) + cut_last]
    with open("%s/%s" % (OUT, name), "wb") as f:
        f.write(data)
    print("%s: %d messages, %d bytes" % (name, len(msgs), sum(len(m) for m in msgs)))


def ixfr_query(serial):
    q = dns.message.make_query(ZONE, "IXFR")
    soa = dns.rrset.from_text(ZONE, 0, "IN", "SOA",
                              "ns1.example.com. hostmaster.example.com. %d 3600 600 604800 300"
                              % serial)
    q.authority.append(soa)
    return q


soa = udp_query(dns.message.make_query(ZONE, "SOA"))
axfr = tcp_exchange(dns.message.make_query(ZONE, "AXFR"))
ixfr = tcp_exchange(ixfr_query(OLD_SERIAL))
cur = dns.message.from_wire(soa).answer[0][0].serial
uptodate = tcp_exchange(ixfr_query(cur))
refused = tcp_exchange(dns.message.make_query("nope.example.", "AXFR"))
assert len(axfr) >= 2, "AXFR should take several messages (%d)" % len(axfr)

# flags: 0x01 key, 0x02 harness signs, 0x04 current zone, 0x08 retransfer,
# 0x10 reply IDs set to the request's, 0x20 two keys, 0x40 small limits
write("knot-axfr", 0x10, axfr)
write("knot-axfr-tsig", 0x13, axfr)
write("knot-axfr-tsig-2keys", 0x33, axfr)
write("knot-axfr-limits", 0x50, axfr)
write("knot-axfr-unsigned-but-key", 0x11, axfr)
write("knot-retransfer", 0x1C, axfr)
write("knot-ixfr", 0x14, [soa] + ixfr)
write("knot-ixfr-tsig", 0x17, [soa] + ixfr)
write("knot-ixfr-uptodate-reply", 0x14, [soa] + uptodate)
write("knot-soa-only-tsig", 0x17, [soa])
write("knot-refused", 0x10, refused)
write("knot-refused-tsig", 0x13, refused)
# IXFR refused by the primary, then AXFR: the fallback
notimp = bytearray(ixfr[0])
notimp[3] = (notimp[3] & 0xF0) | 4
write("knot-ixfr-notimp-then-axfr", 0x14, [soa, bytes(notimp)] + axfr)
write("knot-ixfr-notimp-then-axfr-tsig", 0x17, [soa, bytes(notimp)] + axfr)
# the AXFR cut short (the primary closes mid-transfer)
write("knot-axfr-cut", 0x10, axfr[:2], cut_last=100)
