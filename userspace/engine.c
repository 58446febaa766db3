#include <errno.h>
#include <string.h>
#include "bpf_shim.h"
#include "lib/dns.h"
#include "engine.h"

#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
#define RCODE_BADVERS 16

const struct engine_zone *engine_find_zone(const struct engine *e,
					   const uint8_t *name, size_t len)
{
	const struct engine_zone *best = NULL;
	int i;

	for (i = 0; i < e->n_zones; i++) {
		const struct zone *z = e->zones[i].zone;

		if (!z || (best && best->zone->apex_len >= z->apex_len))
			continue;
		if (name_is_subdomain(name, len, z->apex, z->apex_len))
			best = &e->zones[i];
	}
	return best;
}

/* Types whose rdata names may be compressed (RFC 3597 section 4). */
static int rdata_compressible(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_NS:
	case LDNS_RR_TYPE_MD:
	case LDNS_RR_TYPE_MF:
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_SOA:
	case LDNS_RR_TYPE_MB:
	case LDNS_RR_TYPE_MG:
	case LDNS_RR_TYPE_MR:
	case LDNS_RR_TYPE_PTR:
	case LDNS_RR_TYPE_MINFO:
	case LDNS_RR_TYPE_MX:
		return 1;
	}
	return 0;
}

static void put_rr(struct wire *w, const ldns_rr *rr, uint32_t ttl)
{
	uint16_t type = ldns_rr_get_type(rr);
	size_t i, rdlen_at;

	wire_put_name(w, ldns_rdf_data(ldns_rr_owner(rr)), 1);
	wire_put_u16(w, type);
	wire_put_u16(w, ldns_rr_get_class(rr));
	wire_put_u32(w, ttl);
	rdlen_at = w->len;
	wire_put_u16(w, 0);
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);

		if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME)
			wire_put_name(w, ldns_rdf_data(rdf),
				      rdata_compressible(type));
		else
			wire_put_bytes(w, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	}
	if (!w->overflow) {
		size_t rdlen = w->len - rdlen_at - 2;

		w->buf[rdlen_at] = rdlen >> 8;
		w->buf[rdlen_at + 1] = rdlen & 0xff;
	}
}

/* Append an RRset (and its signatures with DO); returns records added. */
static uint16_t put_rrset(struct wire *w, const struct rrset *s, int dnssec_ok,
			  const uint32_t *ttl_override)
{
	uint16_t n = 0;
	size_t i;

	for (i = 0; s->rrs && i < ldns_rr_list_rr_count(s->rrs); i++, n++) {
		const ldns_rr *rr = ldns_rr_list_rr(s->rrs, i);

		put_rr(w, rr, ttl_override ? *ttl_override : ldns_rr_ttl(rr));
	}
	for (i = 0; dnssec_ok && s->sigs && i < ldns_rr_list_rr_count(s->sigs);
	     i++, n++) {
		const ldns_rr *rr = ldns_rr_list_rr(s->sigs, i);

		put_rr(w, rr, ttl_override ? *ttl_override : ldns_rr_ttl(rr));
	}
	return n;
}

/* All signatures at a node, for qtype RRSIG. */
static uint16_t put_node_sigs(struct wire *w, const struct node *n)
{
	uint16_t cnt = 0, i;
	size_t j;

	for (i = 0; i < n->n_sets; i++)
		for (j = 0; n->sets[i].sigs &&
			    j < ldns_rr_list_rr_count(n->sets[i].sigs);
		     j++, cnt++) {
			const ldns_rr *rr = ldns_rr_list_rr(n->sets[i].sigs, j);

			put_rr(w, rr, ldns_rr_ttl(rr));
		}
	return cnt;
}

static int rrset_has_data(const struct rrset *s)
{
	return s && s->rrs && ldns_rr_list_rr_count(s->rrs) > 0;
}

int engine_answer(const struct engine_zone *ez, const uint8_t *qname,
		  size_t qname_len, uint16_t qtype, int dnssec_ok,
		  struct answer *a)
{
	const struct zone *z = ez->zone;
	const struct node *visited[ENGINE_MAX_CHAIN + 1];
	const uint8_t *name = qname;
	size_t name_len = qname_len, body_off;
	struct wire w;
	int chain = 0, rcode = RCODE_NOERROR, negative = 0;
	uint16_t an = 0, ns = 0;

	if (qname_len == 0 || qname_len > 255)
		return -EINVAL;
	/* the message as the client will see it: header, then the question */
	wire_init(&w, a->body, sizeof(a->body));
	memset(a->body, 0, DNS_HDR_LEN);
	w.len = DNS_HDR_LEN;
	wire_put_bytes(&w, qname, qname_len);
	wire_put_u16(&w, qtype);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_add_target(&w, qname, DNS_HDR_LEN);
	body_off = w.len;

	for (;;) {
		const struct node *n = zone_find(z, name, name_len);
		const struct rrset *s, *cname;
		int i;

		if (!n) {
			rcode = RCODE_NXDOMAIN;
			negative = 1;
			break;
		}
		for (i = 0; i < chain; i++)
			if (visited[i] == n)
				goto done; /* CNAME loop: stop with what we have */
		visited[chain] = n;
		if (qtype == LDNS_RR_TYPE_RRSIG) {
			an += put_node_sigs(&w, n);
			negative = an == 0;
			break;
		}
		if (qtype == LDNS_RR_TYPE_ANY) {
			uint16_t k;

			for (k = 0; k < n->n_sets; k++)
				if (rrset_has_data(&n->sets[k]))
					an += put_rrset(&w, &n->sets[k],
							dnssec_ok, NULL);
			negative = an == 0;
			break;
		}
		s = node_rrset(n, qtype);
		if (rrset_has_data(s)) {
			an += put_rrset(&w, s, dnssec_ok, NULL);
			break;
		}
		cname = node_rrset(n, LDNS_RR_TYPE_CNAME);
		if (!rrset_has_data(cname)) {
			negative = 1; /* NODATA */
			break;
		}
		an += put_rrset(&w, cname, dnssec_ok, NULL);
		if (++chain > ENGINE_MAX_CHAIN - 1)
			break;
		{
			const ldns_rdf *t =
				ldns_rr_rdf(ldns_rr_list_rr(cname->rrs, 0), 0);
			static __thread uint8_t target[256];

			name_len = ldns_rdf_size(t);
			name_lower(target, ldns_rdf_data(t), name_len);
			name = target;
		}
		if (!name_is_subdomain(name, name_len, z->apex, z->apex_len))
			break; /* the chain leaves the zone: the resolver goes on */
	}
done:
	if (negative) {
		const struct node *apex = zone_find(z, z->apex, z->apex_len);
		uint32_t ttl = zone_neg_ttl(z);

		ns += put_rrset(&w, node_rrset(apex, LDNS_RR_TYPE_SOA), dnssec_ok,
				&ttl);
	}
	a->flags = DNS_F_QR | DNS_F_AA | rcode;
	a->an = an;
	a->ns = ns;
	a->ar = 0;
	a->oversize = w.overflow;
	if (w.overflow) {
		a->len = 0;
		return 0;
	}
	a->len = w.len - body_off;
	memmove(a->body, a->body + body_off, a->len);
	return 0;
}

/* ---- full replies, as the XDP program assembles them ---- */

struct parsed_query {
	uint16_t id, flags;
	const uint8_t *question; /* as the client sent it */
	size_t qlen; /* question length incl. type and class */
	uint8_t qname[256]; /* canonical */
	size_t qname_len;
	uint16_t qtype, qclass;
	int edns, dnssec_ok, version;
	uint16_t udp_size;
};

/* Skip a possibly compressed name at msg[off]; returns the offset after
 * it or 0 when malformed. */
static size_t skip_name(const uint8_t *msg, size_t len, size_t off)
{
	size_t n = 0;

	while (off < len && n++ < 128) {
		uint8_t c = msg[off];

		if (c == 0)
			return off + 1;
		if ((c & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (c > 63)
			return 0;
		off += c + 1;
	}
	return 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)p[0] << 8 | p[1];
}

/* 0 ok, else an rcode; -1 when the message gets no reply at all. */
static int parse_query(const uint8_t *q, size_t len, struct parsed_query *pq)
{
	struct xdpns_key key;
	struct dns_question dq;
	size_t off;
	uint16_t ar, i;
	int r;

	memset(pq, 0, sizeof(*pq));
	if (len < DNS_HDR_LEN)
		return -1;
	pq->id = get16(q);
	pq->flags = get16(q + 2);
	if (pq->flags & DNS_F_QR)
		return -1;
	if ((pq->flags & DNS_F_OPCODE) != 0)
		return RCODE_NOTIMP;
	if (get16(q + 4) != 1)
		return RCODE_FORMERR;
	memset(&key, 0, sizeof(key));
	r = dns_parse_question(q + DNS_HDR_LEN, len - DNS_HDR_LEN, &key, &dq);
	if (r)
		return RCODE_FORMERR;
	pq->question = q + DNS_HDR_LEN;
	pq->qlen = dq.qlen;
	pq->qname_len = key.name_len;
	memcpy(pq->qname, key.name, key.name_len);
	pq->qtype = dq.qtype;
	pq->qclass = dq.qclass;
	if (get16(q + 6) || get16(q + 8))
		return RCODE_FORMERR;
	ar = get16(q + 10);
	off = DNS_HDR_LEN + dq.qlen;
	for (i = 0; i < ar; i++) {
		size_t name_at = off;
		uint16_t type, rdlen;

		off = skip_name(q, len, off);
		if (!off || off + 10 > len)
			return RCODE_FORMERR;
		type = get16(q + off);
		rdlen = get16(q + off + 8);
		if (off + 10 + rdlen > len)
			return RCODE_FORMERR;
		if (type == DNS_TYPE_OPT) {
			if (pq->edns || q[name_at] != 0)
				return RCODE_FORMERR;
			pq->edns = 1;
			pq->udp_size = get16(q + off + 2);
			pq->version = q[off + 5];
			pq->dnssec_ok = (get16(q + off + 6) & DNS_EDNS_DO) != 0;
			/* options: none understood yet, all ignored */
		}
		off += 10 + rdlen;
	}
	if (off != len)
		return RCODE_FORMERR; /* trailing bytes */
	if (pq->edns && pq->version > 0)
		return RCODE_BADVERS;
	return 0;
}

static size_t assemble(const struct parsed_query *pq, const struct answer *a,
		       int rcode_ext, uint8_t *out, size_t cap, size_t limit)
{
	size_t body = a->oversize ? 0 : a->len;
	size_t qlen = pq->question ? pq->qlen : 0;
	size_t total = DNS_HDR_LEN + qlen + body + (pq->edns ? XDPNS_OPT_LEN : 0);
	uint16_t flags = a->flags | (pq->flags & (DNS_F_RD | DNS_F_CD | DNS_F_OPCODE));
	int tc = a->oversize || total > limit;
	uint16_t an = a->an, ns = a->ns, ar = a->ar;
	size_t o = 0;

	if (tc) {
		flags |= DNS_F_TC;
		body = 0;
		an = ns = ar = 0;
		total = DNS_HDR_LEN + qlen + (pq->edns ? XDPNS_OPT_LEN : 0);
	}
	if (total > cap)
		return 0;
	out[o++] = pq->id >> 8;
	out[o++] = pq->id & 0xff;
	out[o++] = flags >> 8;
	out[o++] = flags & 0xff;
	out[o++] = 0;
	out[o++] = qlen ? 1 : 0;
	out[o++] = an >> 8;
	out[o++] = an & 0xff;
	out[o++] = ns >> 8;
	out[o++] = ns & 0xff;
	ar += pq->edns ? 1 : 0;
	out[o++] = ar >> 8;
	out[o++] = ar & 0xff;
	memcpy(out + o, pq->question, qlen);
	o += qlen;
	memcpy(out + o, a->body, body);
	o += body;
	if (pq->edns) {
		uint16_t do_bit = pq->dnssec_ok ? DNS_EDNS_DO : 0;

		out[o++] = 0;
		out[o++] = 0;
		out[o++] = DNS_TYPE_OPT;
		out[o++] = XDPNS_EDNS_SIZE >> 8;
		out[o++] = XDPNS_EDNS_SIZE & 0xff;
		out[o++] = rcode_ext;
		out[o++] = 0;
		out[o++] = do_bit >> 8;
		out[o++] = do_bit & 0xff;
		out[o++] = 0;
		out[o++] = 0;
	}
	return o;
}

size_t engine_respond(const struct engine *e, const uint8_t *q, size_t qlen,
		      uint8_t *out, size_t cap, int tcp,
		      struct respond_info *info)
{
	static __thread struct answer a;
	struct parsed_query pq;
	const struct engine_zone *ez;
	size_t limit;
	int r, ext = 0;

	memset(info, 0, sizeof(*info));
	r = parse_query(q, qlen, &pq);
	info->edns = pq.edns;
	info->dnssec_ok = pq.dnssec_ok;
	if (r < 0) {
		info->rcode = -1;
		return 0;
	}
	limit = tcp ? 65535 :
		!pq.edns ? XDPNS_UDP_NOEDNS :
		pq.udp_size < XDPNS_UDP_NOEDNS ? XDPNS_UDP_NOEDNS :
		pq.udp_size > XDPNS_EDNS_SIZE ? XDPNS_EDNS_SIZE : pq.udp_size;
	a.an = a.ns = a.ar = 0;
	a.len = 0;
	a.oversize = 0;
	if (r == 0 && pq.qclass != DNS_CLASS_IN)
		r = RCODE_REFUSED;
	if (r == 0) {
		ez = engine_find_zone(e, pq.qname, pq.qname_len);
		if (!ez)
			r = RCODE_REFUSED;
		else if (ez->expired)
			r = RCODE_SERVFAIL;
		else if (engine_answer(ez, pq.qname, pq.qname_len, pq.qtype,
				       pq.dnssec_ok, &a))
			r = RCODE_SERVFAIL;
	}
	if (r) {
		if (r == RCODE_FORMERR || r == RCODE_NOTIMP) {
			/* keep the question only if it parsed */
			if (!pq.qname_len)
				pq.question = NULL;
		}
		if (r == RCODE_BADVERS) {
			ext = RCODE_BADVERS >> 4;
			r = RCODE_BADVERS & 0xf;
		}
		a.flags = DNS_F_QR | r;
		a.an = a.ns = a.ar = 0;
		a.len = 0;
		info->rcode = ext ? RCODE_BADVERS : r;
	} else {
		info->rcode = a.flags & DNS_F_RCODE;
	}
	r = assemble(&pq, &a, ext, out, cap, limit);
	info->truncated = r > 0 && (out[2] & (DNS_F_TC >> 8));
	return r;
}
