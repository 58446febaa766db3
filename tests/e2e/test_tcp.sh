#!/usr/bin/env bash
# The slow path over TCP (issue 3, "truncation and TCP"): pipelined queries
# answered in order, a zero length closes, a silent client is closed after
# the idle timeout while others are served, a client trickling one byte a
# second blocks nobody, the cap on clients refuses the next one and frees
# up when they go, and a big answer arrives whole.
#
# The limits come from userspace/server.h, so a build that resizes them is
# tested with its own values. Two idle timeouts are waited out (silent
# client, then the clients at the cap): about 2 x SERVER_TCP_IDLE_MS.
. "$(dirname "$0")/lib.sh"
e2e_require_root
header_define() {
	sed -n "s/^#define $1 \([0-9]*\).*/\1/p" "$ROOT/userspace/server.h"
}
IDLE_MS=$(header_define SERVER_TCP_IDLE_MS)
MAX_TCP=$(header_define SERVER_MAX_TCP)
if [ -z "$IDLE_MS" ] || [ -z "$MAX_TCP" ]; then
	echo "FAIL: SERVER_TCP_IDLE_MS or SERVER_MAX_TCP not found in userspace/server.h"
	exit 1
fi
netns_setup tcp || { echo "FAIL: cannot create namespaces"; exit 1; }
TMP=$(mktemp -d)
trap 'netns_cleanup; rm -rf "$TMP"' EXIT
SOCK=$TMP/control.sock
cp "$ROOT/examples/example.com.zone" "$TMP/zone"
# and one answer of 60 KB: 230 TXT records of 250 bytes
for i in $(seq 100 329); do
	printf 'wide IN TXT "%s%0247d"\n' "$i" 0
done >>"$TMP/zone"
netns_xdpns_config "$TMP/xdpns.yaml" "$TMP/zone"
netns_start_xdpns "$TMP/xdpns.yaml" "$TMP/log" || exit 1

# The client side, in Python (stdlib sockets, dnspython for messages). Each
# part prints "ok DESCRIPTION" or "FAIL DESCRIPTION" lines.
cat >"$TMP/tcp.py" <<'EOP'
import socket, struct, sys, threading, time
import dns.message, dns.rdatatype, dns.flags, dns.zone

SRV4, SRV6 = sys.argv[2], sys.argv[3]
IDLE = int(sys.argv[4]) / 1000.0
MAX_TCP = int(sys.argv[5])
TICK = 1.0  # the daemon closes idle clients once a second

def report(ok, desc):
    print(("ok " if ok else "FAIL ") + desc, flush=True)
    return ok

def conn(addr=SRV4, timeout=2.0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, 53))
    return s

def frame(name, rdtype, qid, edns=False):
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False)
    q.id = qid
    w = q.to_wire()
    return struct.pack("!H", len(w)) + w

def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        s.settimeout(left)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf

def read_msg(s, timeout=2.0):
    deadline = time.monotonic() + timeout
    (n,) = struct.unpack("!H", recv_exact(s, 2, deadline))
    return dns.message.from_wire(recv_exact(s, n, deadline))

def closed_within(s, timeout):
    """True when the peer closes (EOF or reset) within timeout seconds."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False

def rrs(section):
    return sorted((r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype), rd.to_text())
                  for r in section for rd in r)

def one_query(addr=SRV4, name="www.example.com.", rdtype="A", timeout=1.0):
    """A fresh connection, one query; the reply or None, and the time taken."""
    t0 = time.monotonic()
    try:
        s = conn(addr, timeout)
        try:
            s.sendall(frame(name, rdtype, 4242))
            m = read_msg(s, timeout)
        finally:
            s.close()
    except (OSError, EOFError):
        return None, time.monotonic() - t0
    return m, time.monotonic() - t0

WWW = [("www.example.com.", "A", "198.18.0.80")]

def www_ok(m):
    return m is not None and m.id == 4242 and m.rcode() == 0 and rrs(m.answer) == WWW

# ---- part "basic": pipelining, zero length, big answer ----
def basic():
    cases = [  # name, type, rcode, answer records
        ("www.example.com.", "A", 0, WWW),
        ("www.example.com.", "AAAA", 0, [("www.example.com.", "AAAA", "fd00:5353::80")]),
        ("alias.example.com.", "A", 0, [("alias.example.com.", "CNAME", "ftp.example.com."),
                                        ("ftp.example.com.", "CNAME", "www.example.com."),
                                        ("www.example.com.", "A", "198.18.0.80")]),
        ("nope.example.com.", "A", 3, []),
        ("example.com.", "MX", 0, [("example.com.", "MX", "10 mail.example.com.")]),
        ("ns2.example.com.", "AAAA", 0, [("ns2.example.com.", "AAAA", "fd00:5353::54")]),
        ("loop1.example.com.", "A", 0, [("loop1.example.com.", "CNAME", "loop2.example.com."),
                                        ("loop2.example.com.", "CNAME", "loop1.example.com.")]),
        ("out.example.com.", "A", 0, [("out.example.com.", "CNAME", "www.example.net.")]),
        ("A.b.C.example.com.", "A", 0, [("a.b.c.example.com.", "A", "198.18.0.99")]),
        ("b.c.example.com.", "A", 0, []),
    ]
    s = conn()
    s.sendall(b"".join(frame(n, t, 1000 + i, edns=i % 2 == 1)
                       for i, (n, t, _, _) in enumerate(cases)))
    got = []
    try:
        for _ in cases:
            got.append(read_msg(s))
    except (OSError, EOFError) as e:
        report(False, "pipelined: 10 queries in one send, 10 answers (got %d: %s)" % (len(got), e))
    else:
        report(True, "pipelined: 10 queries in one send, 10 answers")
        ids = [m.id for m in got]
        report(ids == list(range(1000, 1010)), "pipelined: answers in order, IDs match (%s)" % ids)
        bad = [n for (n, t, rc, an), m in zip(cases, got)
               if m.rcode() != rc or rrs(m.answer) != sorted(an)
               or m.question[0].name.to_text() != n]
        report(not bad, "pipelined: right rcode, answer and question in each (wrong: %s)" % bad)
        # the connection stays open for more
        s.sendall(frame("mail.example.com.", "A", 1010))
        try:
            m = read_msg(s)
            report(m.id == 1010 and rrs(m.answer) == [("mail.example.com.", "A", "198.18.0.25")],
                   "pipelined: the connection serves a later query")
        except (OSError, EOFError) as e:
            report(False, "pipelined: the connection serves a later query (%s)" % e)
    s.close()

    # a length of 0 closes the connection
    s = conn()
    s.sendall(b"\x00\x00")
    report(closed_within(s, 3.0), "length prefix 0 closes the connection")
    s.close()
    # ... after answering what came before it in the same send
    s = conn()
    s.sendall(frame("www.example.com.", "A", 4242) + b"\x00\x00")
    try:
        m = read_msg(s)
        report(www_ok(m), "a query then length 0: the query is answered")
    except (OSError, EOFError) as e:
        report(False, "a query then length 0: the query is answered (%s)" % e)
    report(closed_within(s, 3.0), "a query then length 0: then the connection is closed")
    s.close()

    # the big TXT RRset, which UDP truncates, arrives whole over TCP
    zone = dns.zone.from_file(sys.argv[6], origin="example.com.", relativize=False)
    big = zone.find_rrset("big.example.com.", "TXT")
    want = sorted(("big.example.com.", "TXT", rd.to_text()) for rd in big)
    rdata_bytes = sum(len(rd.to_wire()) for rd in big)
    report(len(big) >= 4 and rdata_bytes > 512,
           "big TXT in the zone: %d records, %d bytes of rdata (more than UDP's 512)"
           % (len(big), rdata_bytes))
    for edns, addr in ((False, SRV4), (True, SRV6)):
        s = conn(addr)
        s.sendall(frame("big.example.com.", "TXT", 77, edns=edns))
        try:
            m = read_msg(s)
            report(m.id == 77 and not (m.flags & dns.flags.TC) and rrs(m.answer) == want,
                   "big TXT over TCP (%s, %s): complete, TC clear"
                   % ("IPv6" if ":" in addr else "IPv4", "EDNS" if edns else "no EDNS"))
        except (OSError, EOFError) as e:
            report(False, "big TXT over TCP: complete (%s)" % e)
        s.close()
    m, _ = one_query(SRV6)
    report(www_ok(m), "a query over TCP/IPv6")

    # a 60 KB answer, read only after half a second
    wide = zone.find_rrset("wide.example.com.", "TXT")
    want = sorted(("wide.example.com.", "TXT", rd.to_text()) for rd in wide)
    s = conn()
    s.sendall(frame("wide.example.com.", "TXT", 78))
    time.sleep(0.5)
    try:
        m = read_msg(s, 3.0)
        report(m.id == 78 and not (m.flags & dns.flags.TC) and rrs(m.answer) == want,
               "a %d-record answer of 60 KB over TCP, read late: complete" % len(wide))
    except (OSError, EOFError) as e:
        report(False, "a %d-record answer of 60 KB over TCP, read late: complete (%s)"
               % (len(wide), e))
    s.close()

    # pipelined queries whose answers (140 KB) exceed the socket buffers,
    # read from half a second later: all of them, whole, in order
    N = 200
    want = sorted(("big.example.com.", "TXT", rd.to_text()) for rd in big)
    s = conn()
    s.sendall(b"".join(frame("big.example.com.", "TXT", 2000 + i) for i in range(N)))
    time.sleep(0.5)
    got, err = [], ""
    try:
        for _ in range(N):
            got.append(read_msg(s, 3.0))
    except (OSError, EOFError) as e:
        err = "; then %s" % e
    good = [m for i, m in enumerate(got) if m.id == 2000 + i and rrs(m.answer) == want]
    report(len(good) == N, "%d pipelined big TXT queries (about %d KB of answers), read late: "
           "%d answered whole and in order%s"
           % (N, N * (rdata_bytes + 80) // 1000, len(good), err))
    s.close()

# ---- part "slow": a silent client and a trickling one ----
def slow():
    # silent: 65535 announced, 100 bytes sent, then nothing
    silent = conn()
    silent.sendall(b"\xff\xff" + b"\x00" * 100)
    t_silent = time.monotonic()
    closed_at = []

    def watch():
        if closed_within(silent, IDLE + TICK + 4.0):
            closed_at.append(time.monotonic() - t_silent)
    watcher = threading.Thread(target=watch)
    watcher.start()

    # trickle: one query, one byte a second for TRICKLE bytes, then the rest
    TRICKLE = 6
    slow_result = []

    def trickle():
        try:
            s = conn()
            data = frame("mail.example.com.", "A", 555)
            for b in data[:TRICKLE]:
                s.sendall(bytes([b]))
                time.sleep(1.0)
            s.sendall(data[TRICKLE:])
            slow_result.append(read_msg(s, 2.0))
            s.close()
        except (OSError, EOFError) as e:
            slow_result.append(e)
    trickler = threading.Thread(target=trickle)
    trickler.start()

    # other clients, twice a second, while both are at it
    probes = []
    t0 = time.monotonic()
    while watcher.is_alive() and time.monotonic() - t0 < IDLE + TICK + 4.0:
        m, dt = one_query()
        probes.append((www_ok(m), dt, trickler.is_alive()))
        time.sleep(0.5)
    watcher.join()
    trickler.join()

    during = [p for p in probes if p[2]]
    report(len(during) >= TRICKLE and all(ok and dt < 1.0 for ok, dt, _ in during),
           "while a client trickles one byte a second, %d other queries answered within 1 s "
           "(answered %d, slowest %.3f s)" % (len(during), sum(ok for ok, _, _ in during),
                                               max([dt for _, dt, _ in during] or [0])))
    r = slow_result[0] if slow_result else None
    report(isinstance(r, dns.message.Message) and r.id == 555
           and rrs(r.answer) == [("mail.example.com.", "A", "198.18.0.25")],
           "the trickling client gets its answer once its query is complete (%s)"
           % (r if not isinstance(r, dns.message.Message) else "ok"))
    report(len(probes) > 0 and all(ok and dt < 1.0 for ok, dt, _ in probes),
           "while a client sits silent on a partial 65535-byte message, %d other queries "
           "answered within 1 s (answered %d)" % (len(probes), sum(ok for ok, _, _ in probes)))
    report(bool(closed_at) and IDLE - 0.2 <= closed_at[0] <= IDLE + TICK + 1.5,
           "the silent client is closed after the idle timeout of %.0f s (closed after %s)"
           % (IDLE, "%.2f s" % closed_at[0] if closed_at else "more than %.0f s, or never"
              % (IDLE + TICK + 4.0)))
    silent.close()
    m, _ = one_query()
    report(www_ok(m), "queries work after the silent client is gone")

# ---- part "cap": MAX_TCP idle clients, then one more ----
def cap():
    held = []
    try:
        for _ in range(MAX_TCP):
            held.append(conn())
    except OSError as e:
        report(False, "open %d connections (%d opened: %s)" % (MAX_TCP, len(held), e))
        return
    t_held = time.monotonic()
    time.sleep(0.5)  # the daemon accepts them all
    # one of them is served
    held[0].sendall(frame("www.example.com.", "A", 4242))
    try:
        report(www_ok(read_msg(held[0])), "at the cap, a connected client is still answered")
    except (OSError, EOFError) as e:
        report(False, "at the cap, a connected client is still answered (%s)" % e)
    # the next one: accepted by the kernel, closed by the daemon, no answer
    refused, answered = False, False
    try:
        extra = conn()
        try:
            extra.sendall(frame("www.example.com.", "A", 4242))
            read_msg(extra, 2.0)
            answered = True
        except (EOFError, ConnectionResetError, BrokenPipeError):
            refused = True
        except socket.timeout:
            pass
        extra.close()
    except ConnectionRefusedError:
        refused = True
    report(refused and not answered,
           "connection %d is closed without an answer (closed: %s, answered: %s)"
           % (MAX_TCP + 1, refused, answered))
    # UDP does not depend on TCP slots
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1.0)
    q = dns.message.make_query("www.example.com.", "A")
    q.id = 4242
    try:
        u.sendto(q.to_wire(), (SRV4, 53))
        report(www_ok(dns.message.from_wire(u.recv(4096))), "at the cap, UDP is answered")
    except OSError as e:
        report(False, "at the cap, UDP is answered (%s)" % e)
    u.close()
    # the daemon closes the idle ones; then new clients are served
    deadline = t_held + IDLE + TICK + 4.0
    closed = 0
    for s in held:
        if closed_within(s, max(deadline - time.monotonic(), 0.01)):
            closed += 1
        s.close()
    report(closed == MAX_TCP, "all %d idle clients closed by the daemon within %.0f s (closed %d)"
           % (MAX_TCP, IDLE + TICK + 4.0, closed))
    m, _ = one_query()
    report(www_ok(m), "after they are gone, a new TCP client is answered")

{"basic": basic, "slow": slow, "cap": cap}[sys.argv[1]]()
EOP

# run_part NAME TIMEOUT: one part of the client, its lines counted here;
# a part that dies or overruns is a failure of its own.
run_part() {
	local line rc out
	out=$(ip netns exec "$NS_CLI" timeout "$2" $PY "$TMP/tcp.py" "$1" $SRV4 $SRV6 \
		"$IDLE_MS" "$MAX_TCP" "$TMP/zone" 2>"$TMP/py.err")
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		*) echo "       $line" ;;
		esac
	done <<<"$out"
	if [ $rc != 0 ]; then
		fail "client part '$1' ended with status $rc"
		sed 's/^/       /' "$TMP/py.err"
	fi
}
stats_slowpath() {
	ip netns exec "$NS_SRV" "$XDPNS" stats --json -s "$SOCK" |
		$PY -c "import json,sys; print(json.load(sys.stdin)['slowpath']['$1'])"
}
IDLE_S=$(( (IDLE_MS + 999) / 1000 ))

echo "pipelining, zero length, big answers"
q0=$(stats_slowpath tcp_queries)
run_part basic 20
q1=$(stats_slowpath tcp_queries)
check "the slow path counted the TCP queries ($q0 -> $q1)" [ "${q1:-0}" -ge $((${q0:-0} + 15)) ]

echo "a silent client and a trickling one (about ${IDLE_S} s)"
run_part slow $((IDLE_S + 15))

echo "the cap of $MAX_TCP clients (about ${IDLE_S} s)"
r0=$(stats_slowpath tcp_refused)
run_part cap $((IDLE_S + 20))
r1=$(stats_slowpath tcp_refused)
check "the refused client is counted (tcp_refused $r0 -> $r1)" [ "${r1:-0}" -ge $((${r0:-0} + 1)) ]
check "the daemon is still running" kill -0 "$XDPNS_PID"
netns_stop_xdpns
check "daemon exited 0 on SIGTERM" [ $? = 0 ]
if [ "$E2E_FAIL" != 0 ]; then
	echo "daemon log (last 20 lines):"
	tail -n 20 "$TMP/log" | sed 's/^/       /'
fi
e2e_summary
