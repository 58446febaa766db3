/* libFuzzer: the transfer client (userspace/xfr.c) and TSIG verification
 * (userspace/tsig.c) fed a primary's replies. One input is one transfer
 * job against a fake primary:
 *
 *   byte 0: flags
 *     0x01  the primary has a TSIG key: requests are signed, every reply
 *           must verify (hmac-sha256, key "xfr-key.")
 *     0x02  the harness signs each reply as a primary would (full
 *           variables on the first message, timers only after it), so
 *           the fuzzer's bytes get past TSIG into the transfer logic;
 *           without it the bytes are delivered as they are
 *     0x04  we have the zone already (examples/example.com.zone, serial
 *           2026112301): SOA query over UDP, then IXFR (AXFR fallback);
 *           without it, AXFR
 *     0x08  a retransfer (AXFR, no SOA query)
 *     0x10  the harness sets each reply's ID to the request's
 *     0x20  the remote has a second key (rotation): BADKEY/BADSIG from the
 *           primary makes the job try again with it
 *     0x40  limits of 50 records and 4 KB
 *     0x80  the primary knows only the second key: a request signed with
 *           the first is not verified (its replies come from the input
 *           unsigned, e.g. NOTAUTH with a BADKEY TSIG), one signed with
 *           the second is
 *   then replies, each as [length, 2 bytes big-endian][message]; the last
 *   one may be cut short. A UDP read takes one reply as a datagram; TCP
 *   reads take them as a stream with their length prefixes (a cut reply
 *   announces its full length, then the connection closes). When the
 *   replies run out, TCP sees EOF and UDP sees nothing until the timeout.
 *
 * Sockets, time and randomness are replaced (macros before xfr.c and
 * tsig.c are included here): no real network, the clock advances 50 ms
 * per reading so every timeout fires after a bounded number of steps,
 * TSIG time is fixed at FZ_NOW and message IDs are 0x4242.
 *
 * XDPNS_FUZZ_XFR_REQUESTS=FILE appends each request the job sends to FILE
 * ([length][message]): tests/fuzz/xfr_sign.py signs replies to them with
 * dnspython's TSIG for the seed corpus.
 *
 * Checks: no sanitizer report, the result is a known reason, a zone comes
 * back only on success and then carries the serial the job reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <ldns/ldns.h>
#include "config.h"
#include "log.h"
#include "tsig.h"
#include "wire.h"
#include "xfr.h"
#include "zone.h"

#define FZ_NOW 1763900000ULL
#define FZ_ID 0x4242

/* ---- the fake primary ---- */
static struct {
	const uint8_t *in;
	size_t left;
	uint8_t flags;
	uint64_t clock_ms;
	int conns;
	/* TCP: the reply being delivered, with its length prefix */
	uint8_t out[2 + 65535 + TSIG_MAX_RR];
	size_t out_len, out_off;
	/* the primary's TSIG state for the exchange on the open socket */
	struct tsig_ctx srv;
	int srv_ok, srv_msgs;
	uint16_t req_id;
} fz;

static struct tsig_key fz_keys[2];

static int fz_socket(int domain, int type, int proto)
{
	(void)domain;
	(void)proto;
	if (++fz.conns > 16) {
		errno = EMFILE;
		return -1;
	}
	fz.out_len = fz.out_off = 0;
	fz.srv_ok = 0;
	fz.srv_msgs = 0;
	return (type & 0xf) == SOCK_STREAM ? 1001 : 1002;
}

static int fz_connect(int fd, const struct sockaddr *a, socklen_t l)
{
	(void)fd;
	(void)a;
	(void)l;
	return 0;
}

static int fz_close(int fd)
{
	(void)fd;
	fz.out_len = fz.out_off = 0;
	return 0;
}

static int fz_getsockopt(int fd, int level, int name, void *v, socklen_t *l)
{
	(void)fd;
	(void)level;
	(void)name;
	if (*l >= sizeof(int))
		*(int *)v = 0;
	return 0;
}

static ssize_t fz_getrandom(void *buf, size_t n, unsigned flags)
{
	uint8_t *b = buf;
	size_t i;

	(void)flags;
	for (i = 0; i < n; i++)
		b[i] = FZ_ID & 0xff;
	return n;
}

static time_t fz_time(time_t *t)
{
	if (t)
		*t = FZ_NOW;
	return FZ_NOW;
}

static int fz_clock_gettime(clockid_t c, struct timespec *ts)
{
	(void)c;
	fz.clock_ms += 50;
	ts->tv_sec = fz.clock_ms / 1000;
	ts->tv_nsec = (fz.clock_ms % 1000) * 1000000;
	return 0;
}

/* The request the job sent: the primary verifies its TSIG (and keeps the
 * MAC to sign the replies with). */
static ssize_t fz_send(int fd, const void *buf, size_t n, int flags)
{
	const uint8_t *m = buf;
	size_t len = n;
	int which = -1;

	(void)flags;
	if (fd == 1001) { /* TCP: skip the length prefix */
		if (n < 2)
			return n;
		m += 2;
		len -= 2;
	}
	fz.srv_ok = 0;
	fz.srv_msgs = 0;
	if (getenv("XDPNS_FUZZ_XFR_REQUESTS")) { /* for tests/fuzz/xfr_sign.py */
		FILE *f = fopen(getenv("XDPNS_FUZZ_XFR_REQUESTS"), "ab");
		uint8_t l[2] = { len >> 8, len & 0xff };

		if (f) {
			fwrite(l, 1, 2, f);
			fwrite(m, 1, len, f);
			fclose(f);
		}
	}
	if (len >= 2)
		fz.req_id = (uint16_t)(m[0] << 8 | m[1]);
	if ((fz.flags & 0x03) == 0x03)
		fz.srv_ok = tsig_verify_request(&fz.srv,
						(fz.flags & 0x80) ? fz_keys + 1 : fz_keys,
						(fz.flags & 0x80) ? 1 : 2, m, len,
						FZ_NOW, &which) == TSIG_OK;
	return n;
}

static void fz_sign(uint8_t *msg, size_t *len, size_t cap);

/* The next reply from the input into msg (cap bytes of room); 0: none.
 * *cut: the input ended inside it (TCP then announces the full length
 * and closes early). */
static int fz_next(uint8_t *msg, size_t *len, size_t cap, size_t *cut)
{
	size_t n;

	*cut = 0;
	if (fz.left < 2)
		return 0;
	n = fz.in[0] << 8 | fz.in[1];
	fz.in += 2;
	fz.left -= 2;
	if (n > fz.left) {
		*cut = n;
		n = fz.left;
	}
	if (n > cap - TSIG_MAX_RR)
		n = cap - TSIG_MAX_RR;
	memcpy(msg, fz.in, n);
	fz.in += n;
	fz.left -= n;
	*len = n;
	if ((fz.flags & 0x10) && n >= 2) {
		msg[0] = fz.req_id >> 8;
		msg[1] = fz.req_id & 0xff;
	}
	if ((fz.flags & 0x03) == 0x03 && !*cut)
		fz_sign(msg, len, cap);
	return 1;
}

static ssize_t fz_recv(int fd, void *buf, size_t n, int flags)
{
	size_t len, take, cut;

	(void)flags;
	if (fd == 1002) { /* UDP: one reply per datagram */
		static uint8_t d[65535 + TSIG_MAX_RR];

		if (!fz_next(d, &len, sizeof(d), &cut)) {
			errno = EAGAIN;
			return -1;
		}
		take = len < n ? len : n;
		memcpy(buf, d, take);
		return take;
	}
	if (fz.out_off == fz.out_len) {
		if (!fz_next(fz.out + 2, &len, sizeof(fz.out) - 2, &cut))
			return 0; /* EOF */
		fz.out[0] = (cut ? cut : len) >> 8;
		fz.out[1] = (cut ? cut : len) & 0xff;
		fz.out_len = len + 2;
		fz.out_off = 0;
	}
	take = fz.out_len - fz.out_off < n ? fz.out_len - fz.out_off : n;
	memcpy(buf, fz.out + fz.out_off, take);
	fz.out_off += take;
	return take;
}

static int fz_poll(struct pollfd *p, nfds_t n, int timeout)
{
	nfds_t i;
	int ready = 0;

	(void)timeout;
	for (i = 0; i < n; i++) {
		p[i].revents = 0;
		/* UDP with nothing left: never readable (the timeout fires) */
		if ((p[i].events & POLLIN) && p[i].fd == 1002 && fz.left < 2)
			continue;
		p[i].revents = p[i].events & (POLLIN | POLLOUT);
		ready += !!p[i].revents;
	}
	return ready;
}

#define socket(d, t, p) fz_socket(d, t, p)
#define connect(f, a, l) fz_connect(f, a, l)
#define close(f) fz_close(f)
#define getsockopt(f, l, n, v, s) fz_getsockopt(f, l, n, v, s)
#define getrandom(b, n, f) fz_getrandom(b, n, f)
#define time(t) fz_time(t)
#define clock_gettime(c, t) fz_clock_gettime(c, t)
#define send(f, b, n, fl) fz_send(f, b, n, fl)
#define recv(f, b, n, fl) fz_recv(f, b, n, fl)
#define poll(p, n, t) fz_poll(p, n, t)

#include "../../userspace/tsig.c"
#include "../../userspace/xfr.c"

#undef socket
#undef connect
#undef close
#undef getsockopt
#undef getrandom
#undef time
#undef clock_gettime
#undef send
#undef recv
#undef poll

/* Sign a reply as the primary: the first with all variables, later ones
 * with the timers only (RFC 8945 5.3.1). */
static void fz_sign(uint8_t *msg, size_t *len, size_t cap)
{
	if (!fz.srv_ok || *len < DNS_HDR)
		return;
	if (fz.srv_msgs++ == 0)
		tsig_sign(&fz.srv, msg, len, cap, FZ_NOW, 0);
	else
		tsig_sign_next(&fz.srv, msg, len, cap, FZ_NOW);
}

/* ---- the job ---- */
static struct config_key ck[2];
static struct zone *current;

static void setup(void)
{
	char err[512];
	const char *zf = getenv("XDPNS_FUZZ_ZONE");
	int i;

	log_set_level(LOG_LVL_ERR);
	for (i = 0; i < 2; i++) {
		ck[i].name = i ? "xfr-key-2." : "xfr-key.";
		ck[i].alg = CONFIG_TSIG_SHA256;
		memset(ck[i].secret, 0x5a + i, 32);
		ck[i].secret_len = 32;
		if (tsig_key_init(&fz_keys[i], &ck[i]))
			abort();
	}
	if (zone_load_file(zf ? zf : "examples/example.com.zone", "example.com",
			   &current, err, sizeof(err)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xfr_job j;
	struct xfr_primary *p;
	struct sockaddr_in *sin;

	if (!current)
		setup();
	if (size < 1)
		return 0;
	memset(&fz, 0, sizeof(fz));
	fz.flags = data[0];
	fz.in = data + 1;
	fz.left = size - 1;

	memset(&j, 0, sizeof(j));
	snprintf(j.origin, sizeof(j.origin), "example.com.");
	j.n_primaries = 1;
	p = &j.primaries[0];
	snprintf(p->id, sizeof(p->id), "fuzz");
	snprintf(p->text, sizeof(p->text), "198.18.0.9@53");
	sin = (struct sockaddr_in *)&p->addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53);
	sin->sin_addr.s_addr = htonl(0xc6120009);
	p->addrlen = sizeof(*sin);
	if (fz.flags & 0x01) {
		p->has_key = 1;
		p->keys[0] = fz_keys[0];
		p->n_keys = 1;
		if (fz.flags & 0x20) {
			p->keys[1] = fz_keys[1];
			p->n_keys = 2;
		}
		p->key = p->keys[0];
	}
	j.current = (fz.flags & 0x04) ? current : NULL;
	j.force_axfr = (fz.flags & 0x08) != 0;
	j.max_records = (fz.flags & 0x40) ? 50 : 100000;
	j.max_bytes = (fz.flags & 0x40) ? 4096 : 16 << 20;
	j.idle_ms = 1000;
	j.timeout_ms = 10000;
	j.done_fd = -1;

	xfr_run(&j);
	if (getenv("XDPNS_FUZZ_VERBOSE"))
		fprintf(stderr, "flags 0x%02x: %s, %s, serial %u, %llu messages, "
			"%d key fallbacks, %s\n", fz.flags,
			j.result ? xfr_reason_name(j.result) : "ok",
			xfr_kind_name(j.kind), j.remote_serial,
			(unsigned long long)j.messages, j.key_fallbacks, j.error);

	if (j.result < 0 || j.result >= XFR_R_COUNT)
		abort();
	if (j.zone) {
		if (j.result != XFR_OK || j.zone->serial != j.remote_serial ||
		    j.kind == XFR_KIND_NONE)
			abort();
		zone_free(j.zone);
	} else if (j.result == XFR_OK && j.kind != XFR_KIND_NONE) {
		abort(); /* a transfer that succeeded without a zone */
	}
	xfr_changed_free(&j); /* an IXFR's changed names, as the daemon does */
	return 0;
}
