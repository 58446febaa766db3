#!/usr/bin/python3
"""Write a synthetic zone of N RRsets for bench/scale.sh.

usage: zone_gen.py ORIGIN N OUT.zone

The apex holds SOA, NS (2) and the NS targets' A records; the other RRsets
are hosts h<i>.ORIGIN with an A record each and, for every other host, an
AAAA as well, until the zone holds N RRsets in all. Every address is
distinct, as in a real zone: identical rdata would let the answer bodies
deduplicate and hide the cost of storing them. The A records count up from
10.0.0.0 (16M distinct; 198.18.0.0/15 has too few, and these are record
data only, never a packet's destination), the AAAA from fd00:5353::1. Prints the name of the last RRset's owner and its type
(the record that scale.sh polls for), and its address.
"""
import ipaddress
import sys


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    origin, n, out = sys.argv[1].rstrip(".") + ".", int(sys.argv[2]), sys.argv[3]
    if n < 10:
        print("zone_gen: N must be at least 10", file=sys.stderr)
        return 2
    v4 = int(ipaddress.IPv4Address("10.0.0.0"))
    v6 = int(ipaddress.IPv6Address("fd00:5353::"))
    last = None
    with open(out, "w", buffering=1 << 20) as f:
        f.write(f"$ORIGIN {origin}\n$TTL 3600\n")
        f.write(f"@ IN SOA ns1 hostmaster 1 3600 600 604800 300\n")
        f.write("@ IN NS ns1\n@ IN NS ns2\n")
        f.write("ns1 IN A 198.18.0.53\nns2 IN A 198.18.0.54\n")
        left = n - 4  # SOA, NS, ns1 A, ns2 A
        i = 0
        while left > 0:
            a = str(ipaddress.IPv4Address(v4 + (i % (1 << 24))))
            f.write(f"h{i} IN A {a}\n")
            left -= 1
            last = (f"h{i}.{origin}", "A", a)
            if left > 0 and i % 2 == 0:
                a6 = str(ipaddress.IPv6Address(v6 + i + 1))
                f.write(f"h{i} IN AAAA {a6}\n")
                left -= 1
                last = (f"h{i}.{origin}", "AAAA", a6)
            i += 1
    print(*last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
