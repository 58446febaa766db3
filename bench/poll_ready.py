#!/usr/bin/python3
"""Wait until a server answers one record, and say when (bench/scale.sh).

usage: poll_ready.py [--xdpns-stats CMD | --xdpns-sock PATH] [--pid PID] [--port N] SERVER NAME TYPE VALUE T0 TIMEOUT

Sends NAME TYPE to SERVER port 53 (or --port) every 20 ms (each query waits at most
50 ms: kdig's one-second granularity would swamp a load time) until the
answer holds VALUE. With --xdpns-stats (a command printing `xdpns stats
--json`), the XDP "answered" counter must also have moved across that
query, so the answer came from XDP and not from the slow path. With
--xdpns-sock, the counter is read from the daemon's control socket
directly ("stats --json"), ~1 ms instead of a process per reading. T0 is the
start time (seconds since the epoch, as `date +%s.%N` prints it); on
success prints the seconds from T0 to the first such answer and exits 0.
Exits 1 on TIMEOUT (seconds from T0) or when PID has exited.
"""
import json
import os
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rdatatype


def xdp_answered(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=5)
        return json.loads(r.stdout)["xdp"]["answered"]
    except (subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def xdp_answered_sock(path):
    import socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(b"stats --json\n")
            buf = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        head, _, body = buf.partition(b"\n")
        if head != b"ok":
            return None
        return json.loads(body)["xdp"]["answered"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def answered(server, q, value, port=53):
    try:
        r = dns.query.udp(q, server, timeout=0.05, port=port)
    except (dns.exception.Timeout, OSError, dns.exception.DNSException):
        return False
    return any(value in (rd.to_text() for rd in rrset) for rrset in r.answer)


def main():
    args = sys.argv[1:]
    stats = pid = None
    port = 53
    while args and args[0].startswith("--"):
        if args[0] == "--xdpns-stats" and len(args) > 1:
            stats, args = args[1], args[2:]
        elif args[0] == "--xdpns-sock" and len(args) > 1:
            stats, args = ("sock", args[1]), args[2:]
        elif args[0] == "--pid" and len(args) > 1:
            pid, args = int(args[1]), args[2:]
        elif args[0] == "--port" and len(args) > 1:
            port, args = int(args[1]), args[2:]
        else:
            break
    if len(args) != 6:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    server, name, qtype, value, t0, timeout = args
    t0, timeout = float(t0), float(timeout)
    q = dns.message.make_query(name, dns.rdatatype.from_text(qtype))
    while True:
        now = time.time()
        if now - t0 > timeout:
            print(f"not answered after {timeout:.0f} s", file=sys.stderr)
            return 1
        if pid is not None and not os.path.exists(f"/proc/{pid}"):
            print(f"process {pid} exited", file=sys.stderr)
            return 1
        read = (lambda: xdp_answered_sock(stats[1])) if isinstance(stats, tuple) else \
            (lambda: xdp_answered(stats))
        a0 = read() if stats else 0
        if a0 is not None and answered(server, q, value, port):
            t1 = time.time()
            if not stats:
                print(f"{t1 - t0:.3f}")
                return 0
            a1 = read()
            if a1 is not None and a1 > a0:
                print(f"{t1 - t0:.3f}")
                return 0
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
