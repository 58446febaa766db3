#!/usr/bin/python3
"""Seeds for fuzz_xfr whose TSIG comes from another implementation:
dnspython signs the captured Knot replies (tests/fuzz/corpus/xfr/knot-*)
as the primary, against the very requests fuzz_xfr's job sends (dumped
with XDPNS_FUZZ_XFR_REQUESTS), at fuzz_xfr's fixed time, with the key
fuzz_xfr uses (xfr-key., hmac-sha256, 32 bytes of 0x5a). The first reply
carries all TSIG variables, later ones the timers only (dnspython's
multi-message signing). Writes corpus/xfr/dnspython-*.

Run from the repository root after building build/fuzz/fuzz_xfr."""
import os
import struct
import subprocess
import tempfile
import time

import dns.message
import dns.name
import dns.tsig
import dns.tsigkeyring

FZ_NOW = 1763900000
time.time = lambda: float(FZ_NOW)  # dnspython signs with time.time()
KEY = dns.tsig.Key("xfr-key.", b"\x5a" * 32, dns.tsig.HMAC_SHA256)
RING = {dns.name.from_text("xfr-key."): KEY}
CORPUS = "tests/fuzz/corpus/xfr"
FUZZ = "build/fuzz/fuzz_xfr"


def frames(data):
    out = []
    while len(data) >= 2:
        n = struct.unpack("!H", data[:2])[0]
        out.append(data[2:2 + n])
        data = data[2 + n:]
    return out


def requests(flags, replies):
    """The requests the job sends when fed these replies."""
    with tempfile.TemporaryDirectory() as d:
        inp, req = os.path.join(d, "in"), os.path.join(d, "req")
        with open(inp, "wb") as f:
            f.write(bytes([flags]) + b"".join(struct.pack("!H", len(m)) + m for m in replies))
        subprocess.run([FUZZ, "-runs=0", inp], capture_output=True, check=True,
                       env=dict(os.environ, XDPNS_FUZZ_XFR_REQUESTS=req))
        with open(req, "rb") as f:
            return frames(f.read())


def sign(request, raws):
    """raws signed as the replies to request (a chain over several)."""
    q = dns.message.from_wire(request, keyring=RING)
    ctx, out = None, []
    for raw in raws:
        m = dns.message.from_wire(raw, one_rr_per_rrset=True)
        m.id = q.id
        m.use_tsig(RING, keyname="xfr-key.", original_id=q.id)
        m.request_mac = q.mac
        w = m.to_wire(multi=len(raws) > 1, tsig_ctx=ctx)
        ctx = m.tsig_ctx
        out.append(w)
    return out


def write(name, flags, msgs):
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(bytes([flags]) + b"".join(struct.pack("!H", len(m)) + m for m in msgs))
    print("%s: %d messages" % (name, len(msgs)))


def load(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return frames(f.read()[1:])


axfr = load("knot-axfr")
ixfr_all = load("knot-ixfr")  # the SOA reply, then the IXFR messages
soa, ixfr = ixfr_all[0], ixfr_all[1:]

# AXFR, key 0x01: no SOA query, the AXFR request comes first
req = requests(0x01, [])[0]
write("dnspython-axfr-tsig", 0x01, sign(req, axfr))
# IXFR, key and zone 0x05: the SOA query, then (once its reply verifies)
# the IXFR request
soa_req = requests(0x05, [])[0]
soa_signed = sign(soa_req, [soa])
reqs = requests(0x05, soa_signed)
assert len(reqs) >= 2, "no IXFR request after the signed SOA reply"
write("dnspython-ixfr-tsig", 0x05, soa_signed + sign(reqs[1], ixfr))
# key rotation: the primary knows only the second key (0x80), answers the
# request signed with the first NOTAUTH with an unsigned TSIG saying BADKEY
# (RFC 8945 5.2.1); the job tries its second key and the harness signs the
# AXFR with it (0x02)
q = dns.message.from_wire(req, keyring=RING)
badkey = (struct.pack("!HHHHHH", q.id, 0x8009, 1, 0, 0, 1)
          + dns.name.from_text("example.com.").to_wire() + struct.pack("!HH", 252, 1)
          + dns.name.from_text("xfr-key.").to_wire() + struct.pack("!HHIH", 250, 255, 0, 0))
rdata = (dns.name.from_text("hmac-sha256.").to_wire() + struct.pack("!HIH", FZ_NOW >> 32,
         FZ_NOW & 0xFFFFFFFF, 300) + struct.pack("!H", 0) + struct.pack("!HHH", q.id, 17, 0))
badkey = badkey[:-2] + struct.pack("!H", len(rdata)) + rdata
write("gen-rotation-badkey-then-second-key", 0xB3, [badkey] + axfr)
# a reply whose MAC is wrong in its last message (one bit)
bad = sign(req, axfr)
last = bytearray(bad[-1])
last[-10] ^= 1
write("dnspython-axfr-tsig-badmac", 0x01, bad[:-1] + [bytes(last)])
