#!/usr/bin/python3
"""A random-subdomain flood: COUNT queries for random names under ORIGIN
(A and AAAA, with and without EDNS, DO=1, 0x20 mixed case, one to three
random labels), sent in windows of 64 over UDP. Every reply must be
NXDOMAIN with AA, the question echoed as sent (case kept) and exactly the
zone's SOA in the authority section with TTL NEG_TTL. Prints a summary;
exits 1 on any wrong or missing reply."""
import random
import socket
import string
import sys

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype


def random_name(rnd, origin):
    labels = []
    for _ in range(rnd.randint(1, 3)):
        n = rnd.randint(8, 20)  # no name of the test zones is that long
        labels.append("".join(rnd.choice(string.ascii_letters + string.digits)
                              for _ in range(n)))
    return ".".join(labels) + "." + origin


def main():
    server, origin, count, neg_ttl = (sys.argv[1], sys.argv[2],
                                      int(sys.argv[3]), int(sys.argv[4]))
    rnd = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 7)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(2)
    bad = missing = good = 0
    sent = 0
    while sent < count:
        window = {}
        for _ in range(min(64, count - sent)):
            name = random_name(rnd, origin)
            q = dns.message.make_query(name, rnd.choice(["A", "AAAA"]))
            q.id = rnd.randrange(65536)
            while q.id in window:
                q.id = rnd.randrange(65536)
            v = sent % 3
            if v == 0:
                q.use_edns(False)
            elif v == 1:
                q.use_edns(0, payload=1232)
            else:
                q.use_edns(0, payload=4096, ednsflags=dns.flags.DO)
            wire = q.to_wire()
            window[q.id] = (name, wire)
            sock.sendto(wire, (server, 53))
            sent += 1
        while window:
            try:
                data, _ = sock.recvfrom(65535)
            except socket.timeout:
                missing += len(window)
                for name, _ in window.values():
                    print("  no reply for %s" % name)
                break
            qid = int.from_bytes(data[:2], "big")
            if qid not in window:
                continue
            name, wire = window.pop(qid)
            r = dns.message.from_wire(data)
            soa = [rr for rr in r.authority
                   if rr.rdtype == dns.rdatatype.SOA]
            qlen = len(wire) - 12 - (11 if wire[11] else 0)
            ok = (r.rcode() == dns.rcode.NXDOMAIN and
                  r.flags & dns.flags.AA and not r.answer and
                  len(r.authority) == 1 and len(soa) == 1 and
                  soa[0].name.to_text().lower() == origin.lower() and
                  soa[0].ttl == neg_ttl and
                  data[12:12 + qlen] == wire[12:12 + qlen])
            if ok:
                good += 1
            else:
                bad += 1
                print("  wrong reply for %s: %s" % (name, r.to_text()[:300]))
    print("  %d queries: %d NXDOMAIN as expected, %d wrong, %d unanswered"
          % (count, good, bad, missing))
    sys.exit(0 if good == count else 1)


if __name__ == "__main__":
    main()
