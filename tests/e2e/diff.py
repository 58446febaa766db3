#!/usr/bin/python3
"""Differential check: every query goes to port 53 (answered by XDP when it
can) and to port 5353 (XDP passes it: the slow path answers). The DNS
payloads must be byte-identical. Prints one line per difference and a
summary; exits 1 on any difference or missing reply."""
import random
import socket
import sys

import dns.message
import dns.name
import dns.rdatatype
import dns.zone


def mixed_case(name, rnd):
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in name)


def ask(sock, addr, wire):
    sock.sendto(wire, addr)
    data, _ = sock.recvfrom(65535)
    return data


def main():
    server, zonefile, origin = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 400
    rnd = random.Random(5353)
    zone = dns.zone.from_file(zonefile, origin=origin, relativize=False)
    names = sorted({str(n) for n in zone.nodes.keys()})
    names += ["nope." + origin, "a.b.nope." + origin, "c." + origin]
    types = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "CAA", "HTTPS", "SRV"]
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(2)
    diffs = 0
    for i in range(count):
        name = mixed_case(rnd.choice(names), rnd)
        qtype = rnd.choice(types)
        q = dns.message.make_query(name, qtype)
        q.id = rnd.randrange(65536)
        variant = i % 4
        if variant == 0:
            q.use_edns(False)
        elif variant == 1:
            q.use_edns(0, payload=1232)
        elif variant == 2:
            q.use_edns(0, payload=512, ednsflags=dns.flags.DO)
        else:
            q.use_edns(0, payload=4096, ednsflags=dns.flags.DO)
        if rnd.random() < 0.5:
            q.flags &= ~dns.flags.RD
        if rnd.random() < 0.2:
            q.flags |= dns.flags.CD
        wire = q.to_wire()
        try:
            fast = ask(sock, (server, 53), wire)
            slow = ask(sock, (server, 5353), wire)
        except socket.timeout:
            print(f"no reply: {name} {qtype} variant {variant}")
            diffs += 1
            continue
        if fast != slow:
            diffs += 1
            print(f"differs: {name} {qtype} variant {variant}\n"
                  f"  53:   {fast.hex()}\n  5353: {slow.hex()}")
    print(f"diff: {count - diffs} passed, {diffs} failed")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
