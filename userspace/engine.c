#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "bpf_shim.h"
#include "lib/dns.h"
#include "engine.h"
#include "siphash.h"
#include <netinet/in.h>
#include <sys/socket.h>

#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_YXDOMAIN 6
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
#define RCODE_BADVERS 16

/* A fresh random cookie secret; never a predictable one. */
static void cookie_secret_new(uint8_t secret[ENGINE_COOKIE_SECRET])
{
	struct timespec ts;
	size_t i;

	if (getrandom(secret, ENGINE_COOKIE_SECRET, 0) == ENGINE_COOKIE_SECRET)
		return;
	clock_gettime(CLOCK_REALTIME, &ts); /* no entropy source: a clock mix */
	for (i = 0; i < ENGINE_COOKIE_SECRET; i++)
		secret[i] ^= (uint8_t)(ts.tv_nsec >> (i % 4 * 8)) ^
			     (uint8_t)(getpid() >> (i % 2 * 8));
}

void engine_setup_identity(struct engine *e, const char *identity)
{
	e->identity = identity;
	cookie_secret_new(e->cookie_secret);
	e->cookie_prev_valid = 0;
}

void engine_rotate_cookie_secret(struct engine *e)
{
	memcpy(e->cookie_prev, e->cookie_secret, sizeof(e->cookie_prev));
	e->cookie_prev_valid = 1;
	cookie_secret_new(e->cookie_secret);
}

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

/* ---- the response under construction: three sections of records ---- */

enum { SEC_AN = 0, SEC_NS = 1, SEC_AR = 2 };

struct item {
	const uint8_t *rdata; /* in the zone (or a synthesised CNAME's): its
			       * address is the record's identity */
	uint16_t rdlen;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *owner; /* the node's owner, or synthesised (wildcards) */
	int unit_start; /* first record of an additional RRset */
	int mandatory; /* glue at or below the cut: never cut, TC instead */
};

static void put_rr(struct wire *w, const struct item *it)
{
	uint16_t off[RDATA_MAX_NAMES];
	size_t rdlen_at, at = 0;
	int n, k;

	wire_put_name(w, it->owner, 1);
	wire_put_u16(w, it->type);
	wire_put_u16(w, DNS_CLASS_IN);
	wire_put_u32(w, it->ttl);
	rdlen_at = w->len;
	wire_put_u16(w, 0);
	/* a DNAME's target is neither compressed nor a target for later
	 * names (RFC 6672 2.5; Knot does the same) */
	n = it->type == LDNS_RR_TYPE_DNAME ? 0 :
		rdata_names(it->type, it->rdata, it->rdlen, off);
	for (k = 0; k < n; k++) {
		wire_put_bytes(w, it->rdata + at, off[k] - at);
		wire_put_name(w, it->rdata + off[k], rdata_compressible(it->type));
		at = off[k] + name_wire_len(it->rdata + off[k]);
	}
	wire_put_bytes(w, it->rdata + at, it->rdlen - at);
	if (!w->overflow) {
		size_t rdlen = w->len - rdlen_at - 2;

		w->buf[rdlen_at] = rdlen >> 8;
		w->buf[rdlen_at + 1] = rdlen & 0xff;
	}
}

struct build {
	const struct zone *z;
	int dnssec_ok;
	struct item *sec[3];
	size_t n[3], cap[3];
	int units; /* additional RRsets */
	int mandatory; /* records added now are mandatory glue */
	int oom;
};

/* Already in the response: the same record under the same owner, or in
 * another section under any owner (the NSEC that is both the answer and
 * the wildcard proof is given once, as Knot does). */
static int item_seen(const struct build *b, int sec, const uint8_t *rdata,
		     const uint8_t *owner)
{
	size_t i;
	int s;

	for (s = 0; s < 3; s++)
		for (i = 0; i < b->n[s]; i++)
			if (b->sec[s][i].rdata == rdata &&
			    (s != sec || b->sec[s][i].owner == owner))
				return 1;
	return 0;
}

static void add_rr(struct build *b, int sec, uint16_t type,
		   const struct rr_ref *rr, uint32_t ttl, const uint8_t *owner)
{
	/* the answer never repeats a record (chains stop at a repeated name);
	 * authority and additional data may repeat what is already there */
	if (b->oom || (sec != SEC_AN && item_seen(b, sec, rr->rdata, owner)))
		return;
	if (b->n[sec] == b->cap[sec]) {
		size_t cap = b->cap[sec] ? b->cap[sec] * 2 : 32;
		struct item *v = realloc(b->sec[sec], cap * sizeof(*v));

		if (!v) {
			b->oom = 1;
			return;
		}
		b->sec[sec] = v;
		b->cap[sec] = cap;
	}
	b->sec[sec][b->n[sec]++] = (struct item){ rr->rdata, rr->len, type, ttl,
						  owner, 0, b->mandatory };
}

/* An RRset of node n, and with DO its signatures. ttl = 0 keeps each
 * record's; owner NULL: the node's own. */
static void add_rrset(struct build *b, int sec, const struct node *n,
		      const struct rrset *s, uint32_t ttl, const uint8_t *owner)
{
	size_t first = b->n[sec];
	struct rr_ref rr;
	uint32_t pos = 0;

	if (!s)
		return;
	if (!owner)
		owner = node_owner(n);
	if (sec == SEC_AR && b->units >= ENGINE_MAX_CUTS)
		return;
	while (rdset_next(s->rrs, &pos, &rr))
		add_rr(b, sec, s->type, &rr, ttl ? ttl : rr.ttl, owner);
	if (sec == SEC_AR && b->n[sec] > first) {
		b->sec[sec][first].unit_start = 1;
		b->units++;
	}
	first = b->n[sec];
	pos = 0;
	while (b->dnssec_ok && rdset_next(s->sigs, &pos, &rr))
		add_rr(b, sec, LDNS_RR_TYPE_RRSIG, &rr, ttl ? ttl : rr.ttl, owner);
	if (sec == SEC_AR && b->n[sec] > first) {
		b->sec[sec][first].unit_start = 1;
		b->units++;
	}
}

static int rrset_has_data(const struct rrset *s)
{
	return s && rdset_count(s->rrs) > 0;
}

static const struct rrset *node_data(const struct node *n, uint16_t type)
{
	const struct rrset *s = n ? node_rrset(n, type) : NULL;

	return rrset_has_data(s) ? s : NULL;
}

/* Label offsets of a wire name: off[0] = 0 (the name), off[k] its k-th
 * parent; returns the number of labels (root excluded). */
static int name_labels(const uint8_t *name, size_t len, uint8_t off[128])
{
	int n = 0;
	size_t i = 0;

	while (i < len && name[i] && n < 127) {
		off[n++] = i;
		i += name[i] + 1;
	}
	off[n] = i;
	return n;
}

/* ---- DNSSEC denial ---- */

static void add_nsec_node(struct build *b, const struct node *n, uint16_t type)
{
	add_rrset(b, SEC_NS, n, node_rrset(n, type), 0, NULL);
}

/* NSEC (RFC 4035 3.1.3): the NSEC at name or the one covering it. */
static void deny_nsec(struct build *b, const uint8_t *name, size_t len)
{
	int exact;
	const struct node *n = zone_nsec_find(b->z, name, len, &exact);

	if (n)
		add_nsec_node(b, n, LDNS_RR_TYPE_NSEC);
}

/* NSEC3 (RFC 5155 7.2): the record matching or covering name's hash;
 * returns whether it matched. */
static int deny_nsec3(struct build *b, const uint8_t *name, size_t len,
		      int want_match)
{
	uint8_t h[20];
	int exact = 0;
	const struct node *n;

	if (zone_nsec3_hash(b->z, name, len, h))
		return 0;
	n = zone_nsec3_find(b->z, h, &exact);
	if (n && (exact || !want_match))
		add_nsec_node(b, n, LDNS_RR_TYPE_NSEC3);
	return exact;
}

static int zone_uses_nsec3(const struct zone *z)
{
	return z->nsec3_ok && z->n_nsec3 > 0;
}

/* The closest (provable) encloser proof for name with encloser index ce
 * in off[]: NSEC3 matching the encloser and covering the next closer. */
static void nsec3_ce_proof(struct build *b, const uint8_t *name, size_t len,
			   const uint8_t *off, int ce)
{
	const struct zone *z = b->z;

	/* walk up until an encloser has an NSEC3 (opt-out may skip some) */
	while (ce < 127 && len - off[ce] >= z->apex_len &&
	       !deny_nsec3(b, name + off[ce], len - off[ce], 1))
		ce++;
	if (ce > 0)
		deny_nsec3(b, name + off[ce - 1], len - off[ce - 1], 0);
}

/* Wildcard owner "*.<name + off>" into buf; returns its length. */
static size_t wildcard_of(const uint8_t *encl, size_t elen, uint8_t *buf)
{
	if (elen + 2 > 255)
		return 0;
	buf[0] = 1;
	buf[1] = '*';
	memcpy(buf + 2, encl, elen);
	return elen + 2;
}

/* ---- lookup (RFC 1034 4.3.2) ---- */

/* The delegation on the way from the apex to name (exclusive of the apex;
 * name itself included unless ds_at_name: the parent answers DS). */
static const struct node *find_cut(const struct zone *z, const uint8_t *name,
				   size_t len, int ds_at_name)
{
	uint8_t off[128];
	int nl = name_labels(name, len, off), k;

	for (k = nl - 1; k >= 0; k--) {
		const struct node *n;

		if (len - off[k] <= z->apex_len)
			continue;
		n = zone_find(z, name + off[k], len - off[k]);
		if (!n)
			return NULL; /* nothing exists below a missing name */
		if (k == 0 && ds_at_name)
			return NULL;
		if (node_data(n, LDNS_RR_TYPE_NS))
			return n;
	}
	return NULL;
}

/* A and AAAA for a target name found in the zone (glue included): the
 * name at rdata offset off of rr, when it is there. */
static void add_target(struct build *b, const struct rr_ref *rr, int off)
{
	uint8_t canon[256];
	size_t len;
	const struct node *n;

	if (off < 0)
		return;
	len = name_wire_len(rr->rdata + off);
	if (len == 0 || off + len > rr->len)
		return;
	name_lower(canon, rr->rdata + off, len);
	if (!name_is_subdomain(canon, len, b->z->apex, b->z->apex_len))
		return;
	n = zone_find(b->z, canon, len);
	if (!n)
		return;
	add_rrset(b, SEC_AR, n, node_data(n, LDNS_RR_TYPE_A), 0, NULL);
	add_rrset(b, SEC_AR, n, node_data(n, LDNS_RR_TYPE_AAAA), 0, NULL);
}

/* Additional-section processing for the answer's NS, MX and SRV. */
static void add_additional(struct build *b)
{
	size_t i, n = b->n[SEC_AN];

	for (i = 0; i < n; i++) {
		const struct item *it = &b->sec[SEC_AN][i];
		struct rr_ref rr = { it->ttl, it->rdlen, it->rdata };

		switch (it->type) {
		case LDNS_RR_TYPE_NS:
		case LDNS_RR_TYPE_MX:
		case LDNS_RR_TYPE_SRV:
			add_target(b, &rr, rdata_target(it->type, &rr));
			break;
		default:
			break;
		}
	}
}

static void referral(struct build *b, const struct node *cut)
{
	const struct rrset *ns = node_data(cut, LDNS_RR_TYPE_NS);
	int pass;

	add_rrset(b, SEC_NS, cut, ns, 0, NULL);
	if (b->dnssec_ok) {
		const struct rrset *ds = node_data(cut, LDNS_RR_TYPE_DS);

		if (ds) {
			add_rrset(b, SEC_NS, cut, ds, 0, NULL);
		} else if (zone_uses_nsec3(b->z)) {
			uint8_t off[128];

			name_labels(cut->name, cut->len, off);
			if (!deny_nsec3(b, cut->name, cut->len, 1))
				nsec3_ce_proof(b, cut->name, cut->len, off, 1);
		} else {
			add_nsec_node(b, cut, LDNS_RR_TYPE_NSEC);
		}
	}
	/* glue at or below the cut first: it is mandatory (RFC 9471), a
	 * referral that cannot carry it is truncated; other targets are
	 * optional and may be cut */
	for (pass = 0; pass < 2; pass++) {
		uint32_t pos = 0;
		struct rr_ref rr;

		while (ns && rdset_next(ns->rrs, &pos, &rr)) {
			uint8_t canon[256];
			size_t len = rdata_target(LDNS_RR_TYPE_NS, &rr) == 0 ?
					     name_wire_len(rr.rdata) : 0;
			int below;

			if (len == 0 || len > 255)
				continue;
			name_lower(canon, rr.rdata, len);
			below = name_is_subdomain(canon, len, cut->name, cut->len);
			if (below != !pass)
				continue;
			b->mandatory = below;
			add_target(b, &rr, 0);
			b->mandatory = 0;
		}
	}
}

/* The SOA for a negative answer (TTL = min(SOA TTL, MINIMUM)). */
static void negative_soa(struct build *b)
{
	const struct node *apex = zone_find(b->z, b->z->apex, b->z->apex_len);

	add_rrset(b, SEC_NS, apex, node_data(apex, LDNS_RR_TYPE_SOA),
		  zone_neg_ttl(b->z), NULL);
}

/* NODATA at an existing name (maybe an empty non-terminal). */
static void nodata_proof(struct build *b, const struct node *n,
			 const uint8_t *name, size_t len)
{
	if (!b->dnssec_ok || !b->z->signed_zone)
		return;
	if (zone_uses_nsec3(b->z)) {
		uint8_t off[128];

		name_labels(name, len, off);
		if (!deny_nsec3(b, name, len, 1))
			nsec3_ce_proof(b, name, len, off, 1);
	} else if (node_data(n, LDNS_RR_TYPE_NSEC)) {
		add_nsec_node(b, n, LDNS_RR_TYPE_NSEC);
	} else {
		deny_nsec(b, name, len); /* empty non-terminal: the cover */
	}
}

/* RFC 6672 3.2: name (canonical, len bytes) does not exist and its
 * closest encloser dn, prefix bytes into it, owns the DNAME set d. Adds
 * the DNAME (and its signatures) and the CNAME synthesised from it
 * (owner name, TTL of the DNAME, unsigned; its rdata, the target, in
 * next: the labels asked for, then the DNAME's target, canonical).
 * -ENAMETOOLONG: the target would be longer than 255 (YXDOMAIN, with
 * the DNAME alone). */
static int dname_step(struct build *b, const struct node *dn,
		      const struct rrset *d, const uint8_t *name, size_t prefix,
		      uint8_t next[256], size_t *next_len)
{
	struct rr_ref drr, cname;
	size_t tlen, nlen;

	add_rrset(b, SEC_AN, dn, d, 0, NULL);
	if (!rdset_first(d->rrs, &drr))
		return -EINVAL;
	tlen = drr.len;
	nlen = prefix + tlen;
	if (nlen > 255)
		return -ENAMETOOLONG;
	memcpy(next, name, prefix);
	memcpy(next + prefix, drr.rdata, tlen);
	*next_len = nlen;
	cname.ttl = drr.ttl;
	cname.len = nlen;
	cname.rdata = next;
	add_rr(b, SEC_AN, LDNS_RR_TYPE_CNAME, &cname, drr.ttl, name);
	return 0;
}

int engine_answer(const struct engine_zone *ez, const uint8_t *qname,
		  size_t qname_len, uint16_t qtype, int dnssec_ok,
		  struct answer *a)
{
	static __thread uint8_t targets[ENGINE_MAX_CHAIN + 1][256];
	const struct zone *z = ez->zone;
	const uint8_t *visited[ENGINE_MAX_CHAIN + 1];
	size_t visited_len[ENGINE_MAX_CHAIN + 1];
	const uint8_t *name = qname;
	size_t name_len = qname_len, body_off, i;
	struct build b;
	struct wire w;
	int chain = 0, rcode = RCODE_NOERROR, aa = 1, s, r = 0, pass, k;
	int deleg = 0;
	size_t next_len = 0;
	ssize_t last_mandatory = -1;
	struct {
		const uint8_t *name;
		size_t len;
	} proofs[ENGINE_MAX_CHAIN + 1];
	int n_proofs = 0;

	if (qname_len == 0 || qname_len > 255)
		return -EINVAL;
	memset(&b, 0, sizeof(b));
	b.z = z;
	b.dnssec_ok = dnssec_ok && z->signed_zone;

	for (;;) {
		const struct node *n, *cut;
		const struct rrset *set, *cname;
		const uint8_t *owner = NULL; /* synthesised from a wildcard */
		uint8_t off[128];
		int nl, ce;

		cut = find_cut(z, name, name_len, qtype == LDNS_RR_TYPE_DS);
		if (cut) {
			referral(&b, cut);
			aa = chain > 0;
			deleg = chain == 0; /* a referral, not a CNAME into one */
			break;
		}
		n = zone_find(z, name, name_len);
		if (!n) {
			/* the closest encloser, and its wildcard */
			uint8_t wild[256];
			size_t wlen;

			const struct node *encl = NULL;
			const struct rrset *dname;

			nl = name_labels(name, name_len, off);
			for (ce = 1; ce <= nl; ce++) {
				encl = zone_find(z, name + off[ce], name_len - off[ce]);
				if (encl)
					break;
			}
			if (ce > nl)
				ce = nl; /* not reached: the apex exists */
			/* a DNAME at the closest encloser (RFC 6672 3.2) */
			dname = encl ? node_data(encl, LDNS_RR_TYPE_DNAME) : NULL;
			if (dname) {
				/* DNAMEs into each other: stop at a name seen
				 * before, as for CNAMEs */
				for (i = 0; i < (size_t)chain; i++)
					if (visited_len[i] == name_len &&
					    !memcmp(visited[i], name, name_len))
						goto done;
				r = dname_step(&b, encl, dname, name, off[ce],
					       targets[chain + 1], &next_len);
				if (r == -ENAMETOOLONG) {
					r = 0;
					rcode = RCODE_YXDOMAIN;
					break;
				}
				/* the CNAME asked for is the synthesised one */
				if (r || qtype == LDNS_RR_TYPE_CNAME)
					break;
				/* a step of the chain like a CNAME's: the loop
				 * check below looks at every name before */
				visited[chain] = name;
				visited_len[chain] = name_len;
				if (++chain > ENGINE_MAX_CHAIN - 1)
					break;
				name = targets[chain];
				name_len = next_len;
				if (!name_is_subdomain(name, name_len, z->apex,
						       z->apex_len))
					break; /* the resolver goes on */
				continue;
			}
			wlen = wildcard_of(name + off[ce], name_len - off[ce], wild);
			n = wlen ? zone_find(z, wild, wlen) : NULL;
			if (!n) {
				rcode = RCODE_NXDOMAIN;
				negative_soa(&b);
				if (b.dnssec_ok && zone_uses_nsec3(z)) {
					nsec3_ce_proof(&b, name, name_len, off, ce);
					deny_nsec3(&b, wild, wlen, 0);
				} else if (b.dnssec_ok) {
					deny_nsec(&b, name, name_len);
					deny_nsec(&b, wild, wlen);
				}
				break;
			}
			/* wildcard synthesis: the owner is the name asked; the
			 * proof that no closer name exists comes after the
			 * answer (so a record that is both is given once) */
			owner = name;
			if (b.dnssec_ok && n_proofs < ENGINE_MAX_CHAIN + 1) {
				proofs[n_proofs].name = zone_uses_nsec3(z) ?
					name + off[ce - 1] : name;
				proofs[n_proofs].len = zone_uses_nsec3(z) ?
					name_len - off[ce - 1] : name_len;
				n_proofs++;
			}
			if (!node_data(n, qtype) && qtype != LDNS_RR_TYPE_ANY &&
			    qtype != LDNS_RR_TYPE_RRSIG &&
			    (qtype == LDNS_RR_TYPE_NSEC ||
			     !node_data(n, LDNS_RR_TYPE_CNAME))) {
				/* wildcard NODATA */
				negative_soa(&b);
				if (b.dnssec_ok && zone_uses_nsec3(z)) {
					deny_nsec3(&b, name + off[ce],
						   name_len - off[ce], 1);
					deny_nsec3(&b, wild, wlen, 1);
				} else if (b.dnssec_ok) {
					add_nsec_node(&b, n, LDNS_RR_TYPE_NSEC);
				}
				break;
			}
		}
		/* a name seen before in the chain: a loop, stop with what we
		 * have (by name, so a wildcard CNAME to itself is expanded
		 * once more, as Knot does) */
		for (i = 0; i < (size_t)chain; i++)
			if (visited_len[i] == name_len &&
			    !memcmp(visited[i], name, name_len))
				goto done;
		visited[chain] = name;
		visited_len[chain] = name_len;
		if (qtype == LDNS_RR_TYPE_RRSIG) {
			uint32_t t;

			/* RFC 8482 spirit, as Knot: one signature suffices */
			for (t = 0; t < n->n_sets && !b.n[SEC_AN]; t++) {
				struct rr_ref rr;

				if (rdset_first(n->sets[t].sigs, &rr))
					add_rr(&b, SEC_AN, LDNS_RR_TYPE_RRSIG, &rr,
					       rr.ttl, owner ? owner : node_owner(n));
			}
			if (!b.n[SEC_AN]) {
				negative_soa(&b);
				nodata_proof(&b, n, name, name_len);
			}
			break;
		}
		if (qtype == LDNS_RR_TYPE_ANY) {
			uint32_t t;

			/* RFC 8482 4.1: one RRset (the first) and its RRSIGs */
			for (t = 0; t < n->n_sets && !b.n[SEC_AN]; t++)
				if (rrset_has_data(&n->sets[t]))
					add_rrset(&b, SEC_AN, n, &n->sets[t], 0, owner);
			if (!b.n[SEC_AN]) {
				negative_soa(&b);
				nodata_proof(&b, n, name, name_len);
			}
			break;
		}
		set = node_data(n, qtype);
		if (set) {
			add_rrset(&b, SEC_AN, n, set, 0, owner);
			add_additional(&b);
			break;
		}
		/* a CNAME answers every type but itself, NSEC and the
		 * meta types handled above (RFC 4035 3.1.4.1 for NSEC) */
		cname = qtype == LDNS_RR_TYPE_NSEC ? NULL :
			node_data(n, LDNS_RR_TYPE_CNAME);
		if (!cname) {
			negative_soa(&b);
			nodata_proof(&b, n, name, name_len);
			break;
		}
		add_rrset(&b, SEC_AN, n, cname, 0, owner);
		if (++chain > ENGINE_MAX_CHAIN - 1)
			break;
		{
			struct rr_ref t;

			if (!rdset_first(cname->rrs, &t) ||
			    rdata_target(LDNS_RR_TYPE_CNAME, &t) != 0)
				break;
			name_len = name_wire_len(t.rdata);
			name_lower(targets[chain], t.rdata, name_len);
			name = targets[chain];
		}
		if (!name_is_subdomain(name, name_len, z->apex, z->apex_len))
			break; /* the chain leaves the zone: the resolver goes on */
	}
done:
	for (i = 0; i < (size_t)n_proofs; i++) {
		if (zone_uses_nsec3(z))
			deny_nsec3(&b, proofs[i].name, proofs[i].len, 0);
		else
			deny_nsec(&b, proofs[i].name, proofs[i].len);
	}
	/* write it: header and question as the client will see them */
	wire_init(&w, a->body, sizeof(a->body));
	memset(a->body, 0, DNS_HDR_LEN);
	w.len = DNS_HDR_LEN;
	wire_put_bytes(&w, qname, qname_len);
	wire_put_u16(&w, qtype);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_add_target(&w, qname, DNS_HDR_LEN);
	body_off = w.len;
	a->n_cuts = 0;
	for (s = 0; s < SEC_AR; s++)
		for (i = 0; i < b.n[s]; i++)
			put_rr(&w, &b.sec[s][i]);
	/* additional: the RRsets, then their signatures (as Knot orders
	 * them), each group a place where the body may be cut, but never
	 * before mandatory glue (which comes first) */
	for (i = 0; i < b.n[SEC_AR]; i++)
		if (b.sec[SEC_AR][i].mandatory)
			last_mandatory = i;
	for (pass = 0, k = 0; pass < 2; pass++)
		for (i = 0; i < b.n[SEC_AR]; i++) {
			const struct item *it = &b.sec[SEC_AR][i];

			if ((it->type == LDNS_RR_TYPE_RRSIG) != pass)
				continue;
			if (it->unit_start && a->n_cuts < ENGINE_MAX_CUTS &&
			    !w.overflow && (pass || (ssize_t)i > last_mandatory)) {
				a->cuts[a->n_cuts].len = w.len - body_off;
				a->cuts[a->n_cuts].ar = k;
				a->n_cuts++;
			}
			put_rr(&w, it);
			k++;
		}
	a->flags = DNS_F_QR | (aa ? DNS_F_AA : 0) | rcode;
	a->referral = deleg;
	a->an = b.n[SEC_AN];
	a->ns = b.n[SEC_NS];
	a->ar = b.n[SEC_AR];
	a->oversize = w.overflow;
	a->len = w.overflow ? 0 : w.len - body_off;
	if (!w.overflow)
		memmove(a->body, a->body + body_off, a->len);
	if (b.oom)
		r = -ENOMEM;
	for (s = 0; s < 3; s++)
		free(b.sec[s]);
	return r;
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
	int nsid; /* NSID asked (RFC 5001) */
	uint8_t cookie[40]; /* client cookie (8) [+ server cookie (8-32)] */
	size_t cookie_len; /* 0: none */
};

#define EDNS_OPT_NSID 3
#define EDNS_OPT_COOKIE 10
#define EDNS_OPT_EDE 15

/* Options of the query's OPT record; returns 0 or FORMERR. */
static int parse_options(const uint8_t *p, size_t len, struct parsed_query *pq)
{
	size_t off = 0;

	while (off < len) {
		uint16_t code, olen;

		if (off + 4 > len)
			return RCODE_FORMERR;
		code = (uint16_t)p[off] << 8 | p[off + 1];
		olen = (uint16_t)p[off + 2] << 8 | p[off + 3];
		off += 4;
		if (off + olen > len)
			return RCODE_FORMERR;
		if (code == EDNS_OPT_NSID) {
			pq->nsid = 1;
		} else if (code == EDNS_OPT_COOKIE) {
			/* RFC 7873 5.2.2: a client cookie alone, or with a
			 * server cookie of 8 to 32 bytes; twice is malformed */
			if (pq->cookie_len || !(olen == 8 || (olen >= 16 && olen <= 40)))
				return RCODE_FORMERR;
			memcpy(pq->cookie, p + off, olen);
			pq->cookie_len = olen;
		}
		/* unknown options are ignored (RFC 6891 6.1.2) */
		off += olen;
	}
	return 0;
}

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
	{
		/* the parser reads a whole XDPNS_QBUF_LEN buffer */
		uint8_t qbuf[XDPNS_QBUF_LEN] = { 0 };
		size_t n = len - DNS_HDR_LEN;

		memcpy(qbuf, q + DNS_HDR_LEN, n < sizeof(qbuf) ? n : sizeof(qbuf));
		r = dns_parse_question(qbuf, n < sizeof(qbuf) ? n : sizeof(qbuf),
				       &key, &dq);
	}
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
			if (parse_options(q + off + 10, rdlen, pq))
				return RCODE_FORMERR;
		}
		off += 10 + rdlen;
	}
	if (off != len)
		return RCODE_FORMERR; /* trailing bytes */
	if (pq->edns && pq->version > 0)
		return RCODE_BADVERS;
	return 0;
}

/* Extended DNS Error (RFC 8914) carried in the OPT, -1 for none. */
#define EDE_NOT_AUTHORITATIVE 20

static size_t assemble(const struct parsed_query *pq, const struct answer *a,
		       int rcode_ext, const uint8_t *opts, size_t opts_len,
		       uint8_t *out, size_t cap, size_t limit)
{
	size_t body = a->oversize ? 0 : a->len;
	size_t qlen = pq->question ? pq->qlen : 0;
	size_t opt_len = pq->edns ? XDPNS_OPT_LEN + opts_len : 0;
	size_t total = DNS_HDR_LEN + qlen + body + opt_len;
	uint16_t flags = a->flags | (pq->flags & (DNS_F_RD | DNS_F_CD | DNS_F_OPCODE));
	int tc = a->oversize || total > limit;
	uint16_t an = a->an, ns = a->ns, ar = a->ar;
	size_t o = 0;
	int k;

	/* too big: drop trailing additional RRsets while that is enough */
	for (k = a->n_cuts - 1; tc && !a->oversize && k >= 0; k--) {
		size_t t = DNS_HDR_LEN + qlen + a->cuts[k].len + opt_len;

		if (t <= limit) {
			tc = 0;
			body = a->cuts[k].len;
			ar = a->cuts[k].ar;
			total = t;
		}
	}

	if (tc) {
		flags |= DNS_F_TC;
		body = 0;
		an = ns = ar = 0;
		total = DNS_HDR_LEN + qlen + opt_len;
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
	if (qlen) /* no question: pq->question is NULL */
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
		out[o++] = opts_len >> 8;
		out[o++] = opts_len & 0xff;
		memcpy(out + o, opts, opts_len);
		o += opts_len;
	}
	return o;
}

static void put_opt(uint8_t *buf, size_t *len, uint16_t code,
		    const uint8_t *data, size_t n)
{
	buf[(*len)++] = code >> 8;
	buf[(*len)++] = code & 0xff;
	buf[(*len)++] = n >> 8;
	buf[(*len)++] = n & 0xff;
	memcpy(buf + *len, data, n);
	*len += n;
}

/* RFC 9018 server cookie for (client cookie, timestamp, client address). */
static void cookie_make(const uint8_t secret[ENGINE_COOKIE_SECRET],
			const uint8_t client[8], uint32_t ts,
			const struct sockaddr *from, uint8_t out[16])
{
	uint8_t in[8 + 8 + 16];
	size_t n = 0;
	uint64_t h;
	int i;

	memcpy(in, client, 8);
	n = 8;
	in[n++] = 1; /* version */
	in[n++] = 0;
	in[n++] = 0;
	in[n++] = 0;
	in[n++] = ts >> 24;
	in[n++] = ts >> 16;
	in[n++] = ts >> 8;
	in[n++] = ts;
	if (from && from->sa_family == AF_INET) {
		memcpy(in + n, &((const struct sockaddr_in *)from)->sin_addr, 4);
		n += 4;
	} else if (from && from->sa_family == AF_INET6) {
		memcpy(in + n, &((const struct sockaddr_in6 *)from)->sin6_addr, 16);
		n += 16;
	}
	h = siphash24(secret, in, n);
	memcpy(out, in + 8, 8);
	for (i = 0; i < 8; i++)
		out[8 + i] = h >> (56 - 8 * i);
}

/* Does the query carry a server cookie we made, still fresh? */
int engine_cookie_valid(const struct engine *e, const uint8_t *cookie,
			size_t len, const struct sockaddr *from, uint32_t now)
{
	uint8_t want[16];
	uint32_t ts;

	if (len != 24 || cookie[8] != 1)
		return 0;
	ts = (uint32_t)cookie[12] << 24 | (uint32_t)cookie[13] << 16 |
	     (uint32_t)cookie[14] << 8 | cookie[15];
	/* RFC 9018 4.3: not older than an hour, not more than 5 min ahead */
	if ((int32_t)(now - ts) > 3600 || (int32_t)(ts - now) > 300)
		return 0;
	cookie_make(e->cookie_secret, cookie, ts, from, want);
	if (!memcmp(want, cookie + 8, 16))
		return 1;
	if (!e->cookie_prev_valid)
		return 0;
	cookie_make(e->cookie_prev, cookie, ts, from, want);
	return !memcmp(want, cookie + 8, 16);
}

/* CHAOS TXT identity (id.server, hostname.bind) and version.bind. */
static int chaos_answer(const struct engine *e, const struct parsed_query *pq,
			struct answer *a)
{
	static const uint8_t id_server[] = "\002id\006server";
	static const uint8_t hostname_bind[] = "\010hostname\004bind";
	static const uint8_t version_bind[] = "\007version\004bind";
	static const uint8_t version_server[] = "\007version\006server";
	const char *text = NULL;
	size_t o = 0, tl;

#define IS(n) (pq->qname_len == sizeof(n) && !memcmp(pq->qname, n, sizeof(n)))
	if (IS(id_server) || IS(hostname_bind))
		text = e->identity;
	else if (IS(version_bind) || IS(version_server))
		text = e->version;
#undef IS
	if (!text)
		return RCODE_REFUSED;
	a->flags = DNS_F_QR | DNS_F_AA;
	a->an = a->ns = a->ar = 0;
	a->len = 0;
	if (pq->qtype != LDNS_RR_TYPE_TXT && pq->qtype != LDNS_RR_TYPE_ANY)
		return 0; /* NODATA */
	tl = strlen(text) > 255 ? 255 : strlen(text);
	a->body[o++] = 0xc0; /* owner: the question */
	a->body[o++] = DNS_HDR_LEN;
	a->body[o++] = 0;
	a->body[o++] = LDNS_RR_TYPE_TXT;
	a->body[o++] = 0;
	a->body[o++] = LDNS_RR_CLASS_CH;
	memset(a->body + o, 0, 4); /* TTL 0 */
	o += 4;
	a->body[o++] = 0;
	a->body[o++] = tl + 1;
	a->body[o++] = tl;
	memcpy(a->body + o, text, tl);
	o += tl;
	a->len = o;
	a->an = 1;
	return 0;
}

size_t engine_respond(const struct engine *e, const uint8_t *q, size_t qlen,
		      uint8_t *out, size_t cap, int tcp,
		      struct respond_info *info)
{
	return engine_respond_from(e, q, qlen, NULL, out, cap, tcp, info);
}

size_t engine_respond_from(const struct engine *e, const uint8_t *q,
			   size_t qlen, const struct sockaddr *from,
			   uint8_t *out, size_t cap, int tcp,
			   struct respond_info *info){
	static __thread struct answer a;
	struct parsed_query pq;
	const struct engine_zone *ez;
	uint8_t opts[300];
	size_t limit, opts_len = 0;
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
	a.referral = 0;
	a.n_cuts = 0;
	if (r == 0 && pq.qclass == LDNS_RR_CLASS_CH)
		r = chaos_answer(e, &pq, &a);
	else if (r == 0 && pq.qclass != DNS_CLASS_IN)
		r = RCODE_REFUSED;
	else if (r == 0) {
		ez = engine_find_zone(e, pq.qname, pq.qname_len);
		info->qzone = ez;
		if (!ez)
			r = RCODE_REFUSED;
		else if (ez->expired)
			r = RCODE_SERVFAIL;
		else if (engine_answer(ez, pq.qname, pq.qname_len, pq.qtype,
				       pq.dnssec_ok, &a))
			r = RCODE_SERVFAIL;
		else {
			static __thread uint8_t qname[256];

			memcpy(qname, pq.qname, pq.qname_len);
			info->zone = ez;
			info->answer = &a;
			info->qname = qname;
			info->qname_len = pq.qname_len;
			info->qtype = pq.qtype;
		}
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
		a.n_cuts = 0;
		info->rcode = ext ? RCODE_BADVERS : r;
	} else {
		info->rcode = a.flags & DNS_F_RCODE;
	}
	/* EDNS options of the reply: NSID, COOKIE, EDE */
	if (pq.edns && pq.nsid && e->identity) {
		size_t n = strlen(e->identity);

		put_opt(opts, &opts_len, EDNS_OPT_NSID,
			(const uint8_t *)e->identity, n > 255 ? 255 : n);
	}
	if (pq.edns && pq.cookie_len >= 8) {
		uint8_t cookie[24];
		uint32_t now = e->now ? e->now() : (uint32_t)time(NULL);

		memcpy(cookie, pq.cookie, 8);
		cookie_make(e->cookie_secret, pq.cookie, now, from, cookie + 8);
		put_opt(opts, &opts_len, EDNS_OPT_COOKIE, cookie, 24);
		info->cookie_valid = engine_cookie_valid(e, pq.cookie, pq.cookie_len,
							 from, now);
	}
	if (pq.edns && info->rcode == RCODE_REFUSED && pq.qname_len &&
	    pq.qclass == DNS_CLASS_IN) {
		uint8_t ede[2] = { 0, EDE_NOT_AUTHORITATIVE };

		put_opt(opts, &opts_len, EDNS_OPT_EDE, ede, 2);
	}
	r = assemble(&pq, &a, ext, opts, opts_len, out, cap, limit);
	info->truncated = r > 0 && (out[2] & (DNS_F_TC >> 8));
	return r;
}
