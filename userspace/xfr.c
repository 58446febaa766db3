// SPDX-License-Identifier: GPL-2.0
/*
 * Transfer client, run in a worker thread per zone (one job at a time per
 * zone): for each primary in order, an SOA query over UDP (TCP when
 * truncated), then IXFR from our serial (AXFR when we have nothing, on a
 * retransfer, or when IXFR fails for a reason the primary may not share
 * with AXFR). Every reply message must carry a TSIG that verifies in
 * order when the primary has a key. The records build a new zone beside
 * the served one: an IXFR is applied to a copy. Anything wrong -- a
 * signature, a timeout, a limit, a diff that does not apply, a closing
 * SOA that differs -- discards the copy; what is served never changes
 * here. The caller publishes the finished zone.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <ldns/ldns.h>
#include "clock.h"
#include "log.h"
#include "wire.h"
#include "xfr.h"

#define XFR_SLICE_MS 200 /* cancel is checked this often */
#define XFR_MAX_MSG 65535

static const char *const reason_names[XFR_R_COUNT] = {
	[XFR_OK] = "ok",
	[XFR_R_CONNECT] = "connect",
	[XFR_R_TIMEOUT] = "timeout",
	[XFR_R_TRUNCATED] = "truncated",
	[XFR_R_MALFORMED] = "malformed",
	[XFR_R_RCODE] = "refused",
	[XFR_R_TSIG_UNSIGNED] = "tsig_unsigned",
	[XFR_R_TSIG_BADSIG] = "tsig_badsig",
	[XFR_R_TSIG_BADKEY] = "tsig_badkey",
	[XFR_R_TSIG_BADTIME] = "tsig_badtime",
	[XFR_R_SOA_MISMATCH] = "soa_mismatch",
	[XFR_R_IXFR_INCONSISTENT] = "ixfr_inconsistent",
	[XFR_R_SERIAL_BACKWARDS] = "serial_backwards",
	[XFR_R_LIMIT] = "limit",
	[XFR_R_ZONE_INVALID] = "zone_invalid",
	[XFR_R_PUBLISH] = "publish",
	[XFR_R_CANCELLED] = "cancelled",
};

const char *xfr_reason_name(int r)
{
	return r >= 0 && r < XFR_R_COUNT ? reason_names[r] : "?";
}

const char *xfr_kind_name(enum xfr_kind k)
{
	return k == XFR_KIND_IXFR ? "ixfr" : k == XFR_KIND_AXFR ? "axfr" : "none";
}

int serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

uint64_t xfr_mono_us(void)
{
	return mono_us();
}

static int fail(struct xfr_job *j, int reason, const struct xfr_primary *p,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct xfr_job *j, int reason, const struct xfr_primary *p,
		const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(j->error, sizeof(j->error), "%.40s (%.60s): %s", p->id, p->text,
		 msg);
	return reason;
}

static int tsig_reason(enum tsig_status st)
{
	switch (st) {
	case TSIG_UNSIGNED: return XFR_R_TSIG_UNSIGNED;
	case TSIG_BADKEY: return XFR_R_TSIG_BADKEY;
	case TSIG_BADTIME: return XFR_R_TSIG_BADTIME;
	case TSIG_BADSIG: return XFR_R_TSIG_BADSIG;
	default: return XFR_R_MALFORMED;
	}
}

/* ---- queries ---- */

/* Wire query for (origin, type) with our SOA in the authority section for
 * IXFR, TSIG-signed when the primary has a key. */
static int build_query(struct xfr_job *j, const struct xfr_primary *p,
		       uint16_t type, uint16_t id, struct tsig_ctx *tc,
		       uint8_t *out, size_t *len)
{
	ldns_rdf *qname = ldns_dname_new_frm_str(j->origin);
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	int r = XFR_R_MALFORMED;

	if (!qname)
		return r;
	pkt = ldns_pkt_query_new(qname, type, LDNS_RR_CLASS_IN, 0);
	if (!pkt)
		return r;
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_rd(pkt, 0);
	if (type == LDNS_RR_TYPE_IXFR) {
		ldns_rr *soa = zone_soa_ldns(j->current);

		if (!soa || !ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, soa)) {
			ldns_rr_free(soa);
			goto out;
		}
	}
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK ||
	    wlen + TSIG_MAX_RR > XFR_MAX_MSG)
		goto out;
	memcpy(out, wire, wlen);
	*len = wlen;
	memset(tc, 0, sizeof(*tc));
	if (p->has_key) {
		tc->key = &p->key;
		if (tsig_sign(tc, out, len, XFR_MAX_MSG, time(NULL), 0))
			goto out;
	}
	r = 0;
out:
	free(wire);
	ldns_pkt_free(pkt);
	return r;
}

/* Header, TSIG and rcode checks of one reply; parses it into *pkt. */
static int check_reply(struct xfr_job *j, const struct xfr_primary *p,
		       struct tsig_ctx *tc, const uint8_t *m, size_t len,
		       uint16_t id, int first, uint16_t qtype, ldns_pkt **pkt)
{
	enum tsig_status st;
	int rcode;

	*pkt = NULL;
	if (len < 12 || (m[0] << 8 | m[1]) != id || !(m[2] & 0x80) ||
	    ((m[2] >> 3) & 0xf) != 0)
		return fail(j, XFR_R_MALFORMED, p,
			    "reply with a wrong ID, QR or opcode");
	rcode = m[3] & 0xf;
	if (p->has_key) {
		st = tsig_verify(tc, m, len, time(NULL));
		/* the primary could not verify our request (an unsigned
		 * error reply with the TSIG error): another key may do */
		j->peer_rejected_key = first &&
			((st == TSIG_BADKEY && tc->peer_error == TSIG_RCODE_BADKEY) ||
			 (st == TSIG_BADSIG && tc->peer_error == TSIG_RCODE_BADSIG));
		if (st != TSIG_OK && !(st == TSIG_UNSIGNED && first && rcode))
			return fail(j, tsig_reason(st), p,
				    "message %llu: TSIG %s (key %s)",
				    (unsigned long long)j->messages + 1,
				    tsig_status_name(st), p->key.text);
	}
	if (rcode) {
		static const char *const rn[16] = {
			"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
			"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
			"NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14",
			"RCODE15",
		};

		return fail(j, XFR_R_RCODE, p, "answered %s", rn[rcode]);
	}
	if (ldns_wire2pkt(pkt, m, len) != LDNS_STATUS_OK)
		return fail(j, XFR_R_MALFORMED, p, "message %llu cannot be parsed",
			    (unsigned long long)j->messages + 1);
	if (first || ldns_pkt_qdcount(*pkt)) {
		ldns_rr_list *q = ldns_pkt_question(*pkt);
		ldns_rr *qr = ldns_rr_list_rr_count(q) == 1 ?
				      ldns_rr_list_rr(q, 0) : NULL;
		ldns_rdf *origin = ldns_dname_new_frm_str(j->origin);
		int ok = qr && origin &&
			 !ldns_dname_compare(ldns_rr_owner(qr), origin) &&
			 ldns_rr_get_type(qr) == qtype;

		ldns_rdf_deep_free(origin);
		if (!ok) {
			ldns_pkt_free(*pkt);
			*pkt = NULL;
			return fail(j, XFR_R_MALFORMED, p,
				    "reply for another question");
		}
	}
	return 0;
}

/* ---- sockets ---- */

/* Wait for fd to be ready for events, at most until the earlier of
 * idle_until and deadline; checks cancel every slice. */
static int wait_fd(struct xfr_job *j, const struct xfr_primary *p, int fd,
		   short events, uint64_t idle_until, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms(), until = idle_until < deadline ?
							 idle_until : deadline;
		struct pollfd pfd = { .fd = fd, .events = events };
		int n;

		if (j->cancel)
			return fail(j, XFR_R_CANCELLED, p, "cancelled");
		if (now >= until)
			return fail(j, XFR_R_TIMEOUT, p, "%s",
				    now >= deadline ? "total timeout" :
						      "no data (idle timeout)");
		n = poll(&pfd, 1, until - now < XFR_SLICE_MS ? (int)(until - now) :
							       XFR_SLICE_MS);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(j, XFR_R_CONNECT, p, "poll: %s", strerror(errno));
	}
}

static int tcp_connect(struct xfr_job *j, const struct xfr_primary *p,
		       uint64_t deadline, int *out)
{
	int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r, err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return fail(j, XFR_R_CONNECT, p, "socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen) &&
	    errno != EINPROGRESS) {
		r = fail(j, XFR_R_CONNECT, p, "connect: %s", strerror(errno));
		close(fd);
		return r;
	}
	r = wait_fd(j, p, fd, POLLOUT, mono_ms() + j->idle_ms, deadline);
	if (!r && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err))
		r = fail(j, XFR_R_CONNECT, p, "connect: %s", strerror(err));
	if (r) {
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

static int send_all(struct xfr_job *j, const struct xfr_primary *p, int fd,
		    const uint8_t *b, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		int r;

		if (w > 0) {
			b += w;
			n -= w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return fail(j, XFR_R_CONNECT, p, "send: %s", strerror(errno));
		r = wait_fd(j, p, fd, POLLOUT, mono_ms() + j->idle_ms, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* Read exactly n bytes; *eof set when the peer closed before any byte. */
static int recv_all(struct xfr_job *j, const struct xfr_primary *p, int fd,
		    uint8_t *b, size_t n, uint64_t deadline, int *eof)
{
	size_t got = 0;

	*eof = 0;
	while (got < n) {
		ssize_t r = recv(fd, b + got, n - got, 0);
		int w;

		if (r > 0) {
			got += r;
			continue;
		}
		if (r == 0) {
			*eof = got == 0;
			return fail(j, XFR_R_TRUNCATED, p,
				    "connection closed before the end of the transfer");
		}
		if (errno != EAGAIN && errno != EINTR)
			return fail(j, XFR_R_TRUNCATED, p, "recv: %s",
				    strerror(errno));
		w = wait_fd(j, p, fd, POLLIN, mono_ms() + j->idle_ms, deadline);
		if (w)
			return w;
	}
	return 0;
}

/* ---- the transfer state machine ---- */

enum sm_state { SM_START, SM_FIRST, SM_AXFR, SM_DEL, SM_ADD, SM_DONE };

struct xfr_sm {
	enum sm_state state;
	int ixfr; /* asked for IXFR */
	ldns_rr *first; /* first SOA (owned) */
	uint32_t serial; /* the primary's serial (first SOA) */
	uint32_t at; /* IXFR: serial the copy is at */
	struct zone *z; /* being built */
	int is_diff; /* z is the current zone plus diffs */
	uint64_t records;
	uint64_t build_ms; /* the clone of the served zone */
};

static uint32_t soa_serial(const ldns_rr *rr)
{
	return ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
}

static int is_apex_soa(const struct xfr_job *j, const ldns_rr *rr,
		       const ldns_rdf *origin)
{
	(void)j;
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
	       ldns_rr_rd_count(rr) == 7 &&
	       !ldns_dname_compare(ldns_rr_owner(rr), origin);
}

#define XFR_CHANGED_MAX 65536 /* beyond: recompile the whole zone */

void xfr_changed_free(struct xfr_job *j)
{
	size_t i;

	for (i = 0; i < j->n_changed; i++)
		free(j->changed[i]);
	free(j->changed);
	j->changed = NULL;
	j->n_changed = j->cap_changed = 0;
}

/* Note the owner of a record a diff deletes or adds. */
static void note_changed(struct xfr_job *j, const ldns_rr *rr)
{
	const ldns_rdf *o = ldns_rr_owner(rr);
	size_t len = ldns_rdf_size(o);
	uint8_t *n;

	if (j->changed_all)
		return;
	if (j->n_changed >= XFR_CHANGED_MAX || len < 1 || len > 255) {
		xfr_changed_free(j);
		j->changed_all = 1;
		return;
	}
	if (j->n_changed == j->cap_changed) {
		size_t cap = j->cap_changed ? j->cap_changed * 2 : 16;
		uint8_t **v = realloc(j->changed, cap * sizeof(*v));

		if (!v) {
			xfr_changed_free(j);
			j->changed_all = 1;
			return;
		}
		j->changed = v;
		j->cap_changed = cap;
	}
	n = malloc(len);
	if (!n) {
		xfr_changed_free(j);
		j->changed_all = 1;
		return;
	}
	name_lower(n, ldns_rdf_data(o), len);
	j->changed[j->n_changed++] = n;
}

/* Feed one record (not owned; cloned when kept). */
static int sm_feed(struct xfr_job *j, const struct xfr_primary *p,
		   struct xfr_sm *sm, const ldns_rr *rr, const ldns_rdf *origin)
{
	int soa = is_apex_soa(j, rr, origin);
	char why[256];
	int r;

	if (++sm->records > j->max_records)
		return fail(j, XFR_R_LIMIT, p, "more than %llu records",
			    (unsigned long long)j->max_records);
	switch (sm->state) {
	case SM_START:
		if (!soa)
			return fail(j, XFR_R_MALFORMED, p,
				    "the transfer does not start with the SOA");
		sm->first = ldns_rr_clone(rr);
		if (!sm->first)
			return XFR_R_MALFORMED;
		sm->serial = soa_serial(rr);
		if (j->current && !j->force_axfr &&
		    !serial_gt(sm->serial, j->current->serial) &&
		    sm->serial != j->current->serial)
			return fail(j, XFR_R_SERIAL_BACKWARDS, p,
				    "serial %u is older than ours (%u)",
				    sm->serial, j->current->serial);
		sm->state = SM_FIRST;
		return 0;
	case SM_FIRST:
		if (soa && sm->ixfr && j->current &&
		    soa_serial(rr) == j->current->serial &&
		    sm->serial != j->current->serial) {
			/* an incremental reply: the first diff starts */
			uint64_t t = mono_ms();

			sm->z = zone_clone_unfinished(j->current);
			sm->build_ms += mono_ms() - t;
			if (!sm->z)
				return fail(j, XFR_R_ZONE_INVALID, p, "out of memory");
			sm->is_diff = 1;
			sm->at = j->current->serial;
			sm->state = SM_DEL;
			goto del;
		}
		sm->z = zone_new(j->origin);
		if (!sm->z || zone_add_rr_copy(sm->z, sm->first, why, sizeof(why)))
			return fail(j, XFR_R_ZONE_INVALID, p, "out of memory");
		sm->state = SM_AXFR;
		/* rr is the first record of the zone body */
		/* fall through */
	case SM_AXFR:
		if (soa) {
			if (ldns_rr_compare(rr, sm->first))
				return fail(j, XFR_R_SOA_MISMATCH, p,
					    "closing SOA (serial %u) differs from the opening one (serial %u)",
					    soa_serial(rr), sm->serial);
			sm->state = SM_DONE;
			return 0;
		}
		break;
	case SM_DEL:
		if (soa) { /* the SOA of the version this diff makes */
			if (!serial_gt(soa_serial(rr), sm->at))
				return fail(j, XFR_R_SOA_MISMATCH, p,
					    "diff to serial %u does not follow %u",
					    soa_serial(rr), sm->at);
			sm->at = soa_serial(rr);
			sm->state = SM_ADD;
			note_changed(j, rr); /* the SOA itself changes */
			break;
		}
	del:
		note_changed(j, rr);
		r = zone_del_rr(sm->z, rr);
		if (r) {
			char *s = ldns_rr2str(rr);

			if (s && strlen(s) && s[strlen(s) - 1] == '\n')
				s[strlen(s) - 1] = 0;
			r = fail(j, XFR_R_IXFR_INCONSISTENT, p,
				 "IXFR deletes a record we do not have: %.120s",
				 s ? s : "?");
			free(s);
			return r;
		}
		return 0;
	case SM_ADD:
		if (soa) {
			if (soa_serial(rr) == sm->serial) {
				if (sm->at != sm->serial || ldns_rr_compare(rr, sm->first))
					return fail(j, XFR_R_SOA_MISMATCH, p,
						    "IXFR ends at serial %u, announced %u",
						    sm->at, sm->serial);
				sm->state = SM_DONE;
				return 0;
			}
			if (soa_serial(rr) != sm->at)
				return fail(j, XFR_R_SOA_MISMATCH, p,
					    "diff from serial %u after one to %u",
					    soa_serial(rr), sm->at);
			sm->state = SM_DEL;
			goto del;
		}
		break;
	case SM_DONE:
		return fail(j, XFR_R_MALFORMED, p, "records after the closing SOA");
	}
	/* add rr to the zone being built */
	if (sm->is_diff)
		note_changed(j, rr);
	r = zone_add_rr_copy(sm->z, rr, why, sizeof(why));
	if (r)
		return fail(j, XFR_R_ZONE_INVALID, p, "%s", why);
	return 0;
}

static void sm_free(struct xfr_sm *sm)
{
	ldns_rr_free(sm->first);
	zone_free(sm->z);
	memset(sm, 0, sizeof(*sm));
}

/* One IXFR or AXFR over TCP. On success j->zone is the new zone, or NULL
 * when the primary said we are up to date. */
static int transfer(struct xfr_job *j, const struct xfr_primary *p,
		    uint16_t qtype, uint64_t deadline)
{
	static __thread uint8_t buf[2 + XFR_MAX_MSG];
	ldns_rdf *origin = ldns_dname_new_frm_str(j->origin);
	struct xfr_sm sm = { .ixfr = qtype == LDNS_RR_TYPE_IXFR };
	struct tsig_ctx tc = { 0 };
	uint64_t t0 = mono_ms(), t1 = 0, tf, bytes = 0, msgs = 0;
	size_t qlen = 0;
	uint16_t id;
	int fd = -1, r, eof;

	/* what an earlier attempt noted does not apply to this one */
	xfr_changed_free(j);
	j->changed_all = 0;
	char why[256];

	if (!origin)
		return XFR_R_MALFORMED;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)t0;
	r = build_query(j, p, qtype, id, &tc, buf + 2, &qlen);
	if (r)
		goto out;
	buf[0] = qlen >> 8;
	buf[1] = qlen & 0xff;
	r = tcp_connect(j, p, deadline, &fd);
	if (r)
		goto out;
	r = send_all(j, p, fd, buf, qlen + 2, deadline);
	if (r)
		goto out;
	while (sm.state != SM_DONE) {
		ldns_pkt *pkt = NULL;
		ldns_rr_list *an;
		size_t len, i;

		r = recv_all(j, p, fd, buf, 2, deadline, &eof);
		if (r)
			goto out;
		if (!msgs)
			t1 = mono_ms();
		len = buf[0] << 8 | buf[1];
		bytes += len + 2;
		if (bytes > j->max_bytes) {
			r = fail(j, XFR_R_LIMIT, p, "more than %llu bytes",
				 (unsigned long long)j->max_bytes);
			goto out;
		}
		r = recv_all(j, p, fd, buf + 2, len, deadline, &eof);
		if (r)
			goto out;
		r = check_reply(j, p, &tc, buf + 2, len, id, msgs == 0, qtype, &pkt);
		if (r)
			goto out;
		msgs++;
		j->messages = msgs;
		an = ldns_pkt_answer(pkt);
		for (i = 0; !r && i < ldns_rr_list_rr_count(an); i++)
			r = sm_feed(j, p, &sm, ldns_rr_list_rr(an, i), origin);
		ldns_pkt_free(pkt);
		if (r)
			goto out;
		if (!ldns_rr_list_rr_count(an) && msgs == 1) {
			r = fail(j, XFR_R_MALFORMED, p, "empty reply");
			goto out;
		}
		/* IXFR: one SOA, our serial: nothing new */
		if (sm.state == SM_FIRST && sm.ixfr &&
		    sm.serial == j->current->serial) {
			j->remote_serial = sm.serial;
			j->kind = XFR_KIND_NONE;
			r = 0;
			goto out;
		}
	}
	if (tc.n_unsigned) {
		r = fail(j, XFR_R_TSIG_UNSIGNED, p,
			 "the last %d messages are unsigned (key %s)",
			 tc.n_unsigned, p->key.text);
		goto out;
	}
	if (sm.z == NULL) { /* "SOA SOA": a zone of only its SOA */
		sm.z = zone_new(j->origin);
		if (!sm.z || zone_add_rr_copy(sm.z, sm.first, why, sizeof(why))) {
			r = fail(j, XFR_R_ZONE_INVALID, p, "out of memory");
			goto out;
		}
	}
	tf = mono_ms();
	r = zone_finalize(sm.z, why, sizeof(why));
	if (r) {
		r = fail(j, XFR_R_ZONE_INVALID, p, "%s", why);
		goto out;
	}
	if (sm.z->serial != sm.serial) {
		r = fail(j, XFR_R_SOA_MISMATCH, p, "the result has serial %u, not %u",
			 sm.z->serial, sm.serial);
		goto out;
	}
	j->zone = sm.z;
	sm.z = NULL;
	j->kind = sm.is_diff ? XFR_KIND_IXFR : XFR_KIND_AXFR;
	j->remote_serial = sm.serial;
	j->first_ms = t1 - t0;
	j->recv_ms = tf - t1 - sm.build_ms;
	j->build_ms = sm.build_ms + mono_ms() - tf;
	r = 0;
out:
	j->bytes += bytes;
	if (!r)
		j->duration_ms = mono_ms() - t0;
	if (fd >= 0)
		close(fd);
	tsig_ctx_release(&tc);
	sm_free(&sm);
	ldns_rdf_deep_free(origin);
	return r;
}

/* ---- SOA query ---- */

static int soa_from_reply(struct xfr_job *j, const struct xfr_primary *p,
			  ldns_pkt *pkt, uint32_t *serial)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	ldns_rdf *origin = ldns_dname_new_frm_str(j->origin);
	size_t i;
	int found = 0;

	for (i = 0; origin && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (is_apex_soa(j, rr, origin)) {
			*serial = soa_serial(rr);
			found = 1;
			break;
		}
	}
	ldns_rdf_deep_free(origin);
	if (!found || !ldns_pkt_aa(pkt))
		return fail(j, XFR_R_MALFORMED, p,
			    "no authoritative SOA in the reply to our SOA query");
	return 0;
}

static int soa_query_tcp(struct xfr_job *j, const struct xfr_primary *p,
			 uint32_t *serial, uint64_t deadline)
{
	static __thread uint8_t buf[2 + XFR_MAX_MSG];
	struct tsig_ctx tc = { 0 };
	ldns_pkt *pkt = NULL;
	size_t qlen = 0, len;
	uint16_t id;
	int fd = -1, r, eof;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)mono_ms();
	r = build_query(j, p, LDNS_RR_TYPE_SOA, id, &tc, buf + 2, &qlen);
	if (!r) {
		buf[0] = qlen >> 8;
		buf[1] = qlen & 0xff;
		r = tcp_connect(j, p, deadline, &fd);
	}
	if (!r)
		r = send_all(j, p, fd, buf, qlen + 2, deadline);
	if (!r)
		r = recv_all(j, p, fd, buf, 2, deadline, &eof);
	if (!r) {
		len = buf[0] << 8 | buf[1];
		r = recv_all(j, p, fd, buf + 2, len, deadline, &eof);
		if (!r)
			r = check_reply(j, p, &tc, buf + 2, len, id, 1,
					LDNS_RR_TYPE_SOA, &pkt);
	}
	if (!r)
		r = soa_from_reply(j, p, pkt, serial);
	ldns_pkt_free(pkt);
	if (fd >= 0)
		close(fd);
	return r;
}

static int soa_query(struct xfr_job *j, const struct xfr_primary *p,
		     uint32_t *serial, uint64_t deadline)
{
	uint8_t q[XFR_MAX_MSG], a[XFR_MAX_MSG];
	int fd, try, r = XFR_R_TIMEOUT;
	struct tsig_ctx tc = { 0 };
	size_t qlen = 0;
	uint16_t id;

	fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(j, XFR_R_CONNECT, p, "socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen)) {
		r = fail(j, XFR_R_CONNECT, p, "connect: %s", strerror(errno));
		close(fd);
		return r;
	}
	for (try = 0; try < XFR_SOA_TRIES; try++) {
		uint64_t until = mono_ms() + XFR_SOA_TIMEOUT_MS;

		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint16_t)until;
		r = build_query(j, p, LDNS_RR_TYPE_SOA, id, &tc, q, &qlen);
		if (r)
			break;
		if (send(fd, q, qlen, 0) < 0) {
			r = fail(j, XFR_R_CONNECT, p, "send: %s", strerror(errno));
			continue;
		}
		for (;;) {
			ldns_pkt *pkt = NULL;
			ssize_t n;

			r = wait_fd(j, p, fd, POLLIN, until, deadline);
			if (r)
				break;
			n = recv(fd, a, sizeof(a), 0);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				r = fail(j, XFR_R_CONNECT, p, "SOA query: %s",
					 strerror(errno));
				close(fd);
				return r;
			}
			if (n < 12 || (a[0] << 8 | a[1]) != id)
				continue; /* not ours: keep waiting */
			if (a[2] & 0x02) { /* TC: ask again over TCP */
				close(fd);
				return soa_query_tcp(j, p, serial, deadline);
			}
			r = check_reply(j, p, &tc, a, n, id, 1, LDNS_RR_TYPE_SOA,
					&pkt);
			if (!r)
				r = soa_from_reply(j, p, pkt, serial);
			ldns_pkt_free(pkt);
			close(fd);
			return r;
		}
		if (r == XFR_R_CANCELLED)
			break;
	}
	close(fd);
	if (r == XFR_R_TIMEOUT)
		fail(j, r, p, "no answer to the SOA query");
	return r;
}

/* ---- one primary, then the next ---- */

static int try_primary_key(struct xfr_job *j, const struct xfr_primary *p)
{
	uint64_t deadline = mono_ms() + j->timeout_ms;
	uint32_t serial = 0;
	int r;

	if (j->current && !j->force_axfr) {
		uint64_t t = mono_ms();

		r = soa_query(j, p, &serial, deadline);
		j->soa_ms = mono_ms() - t;
		if (r)
			return r;
		j->contacted = 1;
		j->remote_serial = serial;
		if (serial == j->current->serial) {
			j->kind = XFR_KIND_NONE;
			return 0;
		}
		if (!serial_gt(serial, j->current->serial))
			return fail(j, XFR_R_SERIAL_BACKWARDS, p,
				    "serial %u is older than ours (%u)", serial,
				    j->current->serial);
		r = transfer(j, p, LDNS_RR_TYPE_IXFR, deadline);
		if (!r)
			return 0;
		/* a primary without IXFR (or with broken diffs) may still
		 * have a good AXFR; TSIG and network failures are not retried
		 * with the same primary */
		if (r != XFR_R_RCODE && r != XFR_R_IXFR_INCONSISTENT &&
		    r != XFR_R_SOA_MISMATCH && r != XFR_R_MALFORMED &&
		    r != XFR_R_ZONE_INVALID)
			return r;
		j->fails[r]++;
		log_warn_kv("ixfr failed, trying axfr", "zone=%s primary=%s "
			    "address=%s reason=%s", j->origin, p->id, p->text,
			    j->error);
	}
	r = transfer(j, p, LDNS_RR_TYPE_AXFR, deadline);
	if (!r)
		j->contacted = 1;
	return r;
}

/* A primary with several keys (rotation): when it answers BADKEY or
 * BADSIG to our request, the same attempt again with its next key, each
 * key once; the key that worked stays in p->key_idx for the next job.
 * A key rejected and then a good one is not a failure (counted in
 * key_fallbacks). */
static int try_primary(struct xfr_job *j, struct xfr_primary *p)
{
	int r, tries;

	for (tries = 1;; tries++) {
		j->peer_rejected_key = 0;
		r = try_primary_key(j, p);
		if (!r || !j->peer_rejected_key || tries >= p->n_keys || j->cancel)
			return r;
		j->key_fallbacks++;
		p->key_idx = (p->key_idx + 1) % p->n_keys;
		log_warn_kv("tsig key rejected, trying the next key",
			    "zone=%s primary=%s reason=%s key=%s", j->origin,
			    p->id, j->error, p->keys[p->key_idx].text);
		p->key = p->keys[p->key_idx];
	}
}

void xfr_run(struct xfr_job *j)
{
	uint64_t t0 = mono_ms();
	int i, r = XFR_R_CONNECT;

	j->primary = -1;
	j->zone = NULL;
	j->kind = XFR_KIND_NONE;
	for (i = 0; i < j->n_primaries; i++) {
		struct xfr_primary *p = &j->primaries[i];

		if (j->cancel) {
			r = XFR_R_CANCELLED;
			break;
		}
		r = try_primary(j, p);
		if (!r) {
			j->primary = i;
			break;
		}
		j->fails[r]++;
		log_warn_kv("transfer attempt failed", "zone=%s reason=%s",
			    j->origin, j->error);
	}
	if (!r)
		j->error[0] = 0;
	j->result = r;
	if (!j->duration_ms)
		j->duration_ms = mono_ms() - t0;
}

static void *xfr_thread(void *arg)
{
	struct xfr_job *j = arg;
	uint64_t one = 1;

	xfr_run(j);
	j->ended_us = xfr_mono_us();
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	if (j->done_fd >= 0 && write(j->done_fd, &one, sizeof(one)) < 0)
		log_warn_kv("cannot wake the event loop", "zone=%s", j->origin);
	return NULL;
}

int xfr_start(struct xfr_job *j)
{
	int r;

	j->done = 0;
	j->started_us = xfr_mono_us();
	r = pthread_create(&j->thread, NULL, xfr_thread, j);
	if (r)
		return -r;
	j->started = 1;
	return 0;
}

void xfr_join(struct xfr_job *j)
{
	if (j->started)
		pthread_join(j->thread, NULL);
	j->started = 0;
}
