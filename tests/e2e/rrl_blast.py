#!/usr/bin/env python3
"""Send N UDP queries at once and sort the replies: full answers, TC=1
replies (slips) and no reply at all. Prints one JSON line.

usage: rrl_blast.py SERVER N (same NAME | nx PREFIX | nxslow PREFIX) [QTYPE]

nx: PREFIX<i>.example.com, names that do not exist (XDP makes their
NXDOMAIN); nxslow: the same with an EDNS client cookie, which XDP passes
to the slow path.
"""
import json
import select
import socket
import struct
import sys
import time


def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def main():
    server, n, mode, arg = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    qtype = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((server, 53))
    for i in range(n):
        name = arg if mode == "same" else "%s%d.example.com" % (arg, i)
        opt = b""
        if mode == "nxslow":  # OPT, 1232 bytes, COOKIE option (8-byte client cookie)
            opt = b"\0" + struct.pack(">HHIHHH", 41, 1232, 0, 12, 10, 8) + struct.pack(">Q", i + 1)
        q = (struct.pack(">HHHHHH", i, 0, 1, 0, 0, 1 if opt else 0) + wire(name) +
             struct.pack(">HH", qtype, 1) + opt)
        s.send(q)
    full = tc = 0
    rcodes = {}
    seen = set()
    deadline = time.time() + 1.5
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], 0.1)
        if not r:
            continue
        m = s.recv(4096)
        qid, flags = struct.unpack(">HH", m[:4])
        if qid in seen:
            continue
        seen.add(qid)
        rcodes[flags & 0xF] = rcodes.get(flags & 0xF, 0) + 1
        if flags & 0x0200:
            ancount = struct.unpack(">H", m[6:8])[0]
            if ancount:
                print("TC reply with records", file=sys.stderr)
                sys.exit(1)
            tc += 1
        else:
            full += 1
    print(json.dumps({"full": full, "tc": tc, "none": n - full - tc,
                      "rcodes": rcodes}))


main()
