#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "log.h"
#include "wire.h"
#include "zone.h"
#include <ldns/sha1.h>

uint64_t name_hash(const uint8_t *name, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= name[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot: the name's hash mixed with the table's size. Tables of
 * different sizes then order their keys unrelatedly, so re-inserting one
 * table's keys in its slot order into another (a table that grows, a zone
 * xdpns saved and loads again) does not cluster. With the plain low bits
 * (h & mask) the keys came back cycling through the smaller table again
 * and again and linear probing piled them up: 15 s to load a 1M-name zone
 * that xdpns itself had saved (its own file order), 55 s to copy it. */
static size_t table_index(uint64_t h, size_t mask)
{
	h ^= (uint64_t)mask * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return (size_t)(h ^ (h >> 31)) & mask;
}

/* The 32 bits of a name's hash a node keeps: probes compare them before
 * reading a name, and a table grows without reading any. */
static uint32_t name_hash32(const uint8_t *name, size_t len)
{
	uint64_t h = name_hash(name, len);

	return (uint32_t)(h ^ (h >> 32));
}

static struct node *table_slot_h(struct node *nodes, size_t mask, uint32_t h,
				 const uint8_t *name, size_t len)
{
	size_t i = table_index(h, mask);

	for (;;) {
		struct node *n = &nodes[i];

		if (!n->name || (n->hash == h && n->len == len &&
				 !memcmp(n->name, name, len)))
			return n;
		i = (i + 1) & mask;
	}
}

static struct node *table_slot(struct node *nodes, size_t mask,
			       const uint8_t *name, size_t len)
{
	return table_slot_h(nodes, mask, name_hash32(name, len), name, len);
}

/* Where node o goes in another table (no name is read). */
static struct node *table_place(struct node *nodes, size_t mask,
				const struct node *o)
{
	size_t i = table_index(o->hash, mask);

	while (nodes[i].name)
		i = (i + 1) & mask;
	return &nodes[i];
}

struct node *zone_find(const struct zone *z, const uint8_t *name, size_t len)
{
	struct node *n;

	if (!z->nodes)
		return NULL;
	n = table_slot(z->nodes, z->mask, name, len);
	return n->name ? n : NULL;
}

struct rrset *node_rrset(const struct node *n, uint16_t type)
{
	uint32_t i;

	for (i = 0; i < n->n_sets; i++)
		if (n->sets[i].type == type)
			return &n->sets[i];
	return NULL;
}

/* ---- records in wire form ---- */

/* What a type's rdata holds up to its last domain name: '1', '2', '4'
 * fixed bytes, 'S' a character-string, 'N' a name (the layouts ldns
 * knows for these types; the rest of the rdata is opaque). */
static const char *rdata_layout(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_NS:
	case LDNS_RR_TYPE_MD:
	case LDNS_RR_TYPE_MF:
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_MB:
	case LDNS_RR_TYPE_MG:
	case LDNS_RR_TYPE_MR:
	case LDNS_RR_TYPE_PTR:
	case LDNS_RR_TYPE_NXT:
	case LDNS_RR_TYPE_DNAME:
	case LDNS_RR_TYPE_NSEC:
	case LDNS_RR_TYPE_TKEY:
	case LDNS_RR_TYPE_TSIG:
		return "N";
	case LDNS_RR_TYPE_SOA:
	case LDNS_RR_TYPE_MINFO:
	case LDNS_RR_TYPE_RP:
	case LDNS_RR_TYPE_TALINK:
		return "NN";
	case LDNS_RR_TYPE_MX:
	case LDNS_RR_TYPE_AFSDB:
	case LDNS_RR_TYPE_RT:
	case LDNS_RR_TYPE_KX:
	case LDNS_RR_TYPE_SVCB:
	case LDNS_RR_TYPE_HTTPS:
	case 107: /* LP */
		return "2N";
	case LDNS_RR_TYPE_PX:
		return "2NN";
	case LDNS_RR_TYPE_SRV:
		return "222N";
	case LDNS_RR_TYPE_NAPTR:
		return "22SSSN";
	case LDNS_RR_TYPE_SIG:
	case LDNS_RR_TYPE_RRSIG:
		return "2114442N"; /* the signer */
	}
	return NULL;
}

/* Length of the uncompressed name at rd[off] within len bytes, or 0. */
static size_t rdata_name_len(const uint8_t *rd, size_t len, size_t off)
{
	size_t i = off;

	while (i < len && i - off < 255) {
		if (rd[i] == 0)
			return i - off + 1 <= 255 ? i - off + 1 : 0;
		if (rd[i] > 63)
			return 0;
		i += rd[i] + 1;
	}
	return 0;
}

int rdata_names(uint16_t type, const uint8_t *rd, size_t len,
		uint16_t off[RDATA_MAX_NAMES])
{
	const char *f = rdata_layout(type);
	size_t at = 0, nl;
	int n = 0;

	for (; f && *f && n < RDATA_MAX_NAMES; f++) {
		switch (*f) {
		case 'N':
			nl = rdata_name_len(rd, len, at);
			if (!nl)
				return n;
			off[n++] = at;
			at += nl;
			break;
		case 'S':
			if (at >= len)
				return n;
			at += 1 + rd[at];
			break;
		default:
			at += *f - '0';
			break;
		}
		if (at > len)
			return n;
	}
	return n;
}

int rdata_compressible(uint16_t type)
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

int rdata_target(uint16_t type, const struct rr_ref *rr)
{
	uint16_t off[RDATA_MAX_NAMES];

	switch (type) {
	case LDNS_RR_TYPE_NS:
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_MX:
	case LDNS_RR_TYPE_SRV:
		return rdata_names(type, rr->rdata, rr->len, off) ? off[0] : -1;
	}
	return -1;
}

/* Names in record data are kept lowercased, as Knot serves them (they
 * compare equal either way, RFC 4343); not NSEC's next name, which is
 * signed as it is (RFC 6840 5.1). */
static void rdata_normalize(uint16_t type, uint8_t *rd, size_t len)
{
	uint16_t off[RDATA_MAX_NAMES];
	int n, k;

	if (type == LDNS_RR_TYPE_NSEC)
		return;
	n = rdata_names(type, rd, len, off);
	for (k = 0; k < n; k++)
		name_lower(rd + off[k], rd + off[k],
			   rdata_name_len(rd, len, off[k]));
}

/* ---- record sets: one allocation each ---- */

/* Room for size bytes of records: exact while small (most sets hold a
 * record or two), then doubling (big sets grow in linear time). */
static size_t rdset_room(size_t size)
{
	size_t r = 64;

	if (size <= r)
		return sizeof(struct rdset) + size;
	while (r < size)
		r *= 2;
	return sizeof(struct rdset) + r;
}

int rdset_next(const struct rdset *s, uint32_t *pos, struct rr_ref *rr)
{
	const uint8_t *p;
	uint16_t len;

	if (!s || *pos >= s->size)
		return 0;
	p = s->data + *pos;
	if (s->ttls) {
		memcpy(&rr->ttl, p, 4);
		p += 4;
	} else {
		rr->ttl = s->ttl;
	}
	memcpy(&len, p, 2);
	rr->len = len;
	rr->rdata = p + 2;
	*pos = rr->rdata + len - s->data;
	return 1;
}

int rdset_first(const struct rdset *s, struct rr_ref *rr)
{
	uint32_t pos = 0;

	return rdset_next(s, &pos, rr);
}

static int rdata_equal(const struct rr_ref *a, const uint8_t *rd, uint16_t len)
{
	return a->len == len && !memcmp(a->rdata, rd, len);
}

static int rdset_has(const struct rdset *s, const uint8_t *rd, uint16_t len)
{
	struct rr_ref rr;
	uint32_t pos = 0;

	while (rdset_next(s, &pos, &rr))
		if (rdata_equal(&rr, rd, len))
			return 1;
	return 0;
}

/* A new set of the n records v, TTLs kept; NULL when out of memory. */
static struct rdset *rdset_build(const struct rr_ref *v, uint32_t n)
{
	size_t size = 0;
	uint32_t i;
	int ttls = 0;
	struct rdset *s;
	uint8_t *p;

	for (i = 0; i < n; i++) {
		size += 2 + v[i].len;
		if (v[i].ttl != v[0].ttl)
			ttls = 1;
	}
	if (ttls)
		size += 4 * (size_t)n;
	s = malloc(rdset_room(size));
	if (!s)
		return NULL;
	s->size = size;
	s->count = n;
	s->ttl = n ? v[0].ttl : 0;
	s->ttls = ttls;
	memset(s->pad, 0, sizeof(s->pad));
	p = s->data;
	for (i = 0; i < n; i++) {
		if (ttls) {
			memcpy(p, &v[i].ttl, 4);
			p += 4;
		}
		memcpy(p, &v[i].len, 2);
		memcpy(p + 2, v[i].rdata, v[i].len);
		p += 2 + v[i].len;
	}
	return s;
}

/* The records of s as an array (the caller frees it). */
static struct rr_ref *rdset_refs(const struct rdset *s)
{
	struct rr_ref *v = malloc((s->count ? s->count : 1) * sizeof(*v));
	uint32_t pos = 0, i = 0;

	while (v && i < s->count && rdset_next(s, &pos, &v[i]))
		i++;
	return v;
}

/* Append one record to *sp (created when NULL). */
static int rdset_add(struct rdset **sp, uint32_t ttl, const uint8_t *rd,
		     uint16_t len)
{
	struct rdset *s = *sp;
	struct rr_ref one = { ttl, len, rd };
	size_t need;
	uint8_t *p;

	if (!s) {
		*sp = rdset_build(&one, 1);
		return *sp ? 0 : -ENOMEM;
	}
	if (!s->ttls && ttl != s->ttl) {
		/* TTLs differ in the set: every record carries its own */
		struct rr_ref *v = malloc((s->count + 1) * sizeof(*v));
		uint32_t pos = 0, i = 0;

		if (!v)
			return -ENOMEM;
		while (i < s->count && rdset_next(s, &pos, &v[i]))
			i++;
		v[i] = one;
		*sp = rdset_build(v, s->count + 1);
		free(v);
		if (!*sp) {
			*sp = s;
			return -ENOMEM;
		}
		free(s);
		return 0;
	}
	need = s->size + (s->ttls ? 4 : 0) + 2 + len;
	if (rdset_room(need) != rdset_room(s->size)) {
		struct rdset *g = realloc(s, rdset_room(need));

		if (!g)
			return -ENOMEM;
		s = *sp = g;
	}
	p = s->data + s->size;
	if (s->ttls) {
		memcpy(p, &ttl, 4);
		p += 4;
	}
	memcpy(p, &len, 2);
	memcpy(p + 2, rd, len);
	s->size = need;
	s->count++;
	return 0;
}

/* Remove the record equal to rd: the last takes its place (the order of
 * an RRset carries no meaning, RFC 2181 5). -ENOENT: not there. */
static int rdset_remove(struct rdset **sp, const uint8_t *rd, uint16_t len)
{
	struct rdset *s = *sp, *n = NULL;
	struct rr_ref *v;
	uint32_t i;

	if (!s)
		return -ENOENT;
	v = rdset_refs(s);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->count; i++)
		if (rdata_equal(&v[i], rd, len))
			break;
	if (i == s->count) {
		free(v);
		return -ENOENT;
	}
	v[i] = v[s->count - 1];
	if (s->count > 1 && !(n = rdset_build(v, s->count - 1))) {
		free(v);
		return -ENOMEM;
	}
	free(v);
	free(s);
	*sp = n;
	return 0;
}

static struct rdset *rdset_copy(const struct rdset *s)
{
	struct rdset *c;

	if (!s)
		return NULL;
	c = malloc(rdset_room(s->size));
	if (c)
		memcpy(c, s, sizeof(*s) + s->size);
	return c;
}

/* Sort a big set by rdata (as ldns_rr_compare does: bytes, then the
 * shorter first) and drop its duplicates, keeping the first of each;
 * returns how many went. */
struct rr_sort {
	struct rr_ref rr;
	uint32_t i;
};

static int rr_sort_cmp(const void *x, const void *y)
{
	const struct rr_sort *a = x, *b = y;
	size_t n = a->rr.len < b->rr.len ? a->rr.len : b->rr.len;
	int c = memcmp(a->rr.rdata, b->rr.rdata, n);

	if (c)
		return c;
	if (a->rr.len != b->rr.len)
		return a->rr.len < b->rr.len ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static size_t rdset_dedupe(struct rdset **sp)
{
	struct rdset *s = *sp, *n;
	struct rr_sort *v;
	struct rr_ref *w;
	uint32_t i, k = 0, pos = 0;
	size_t gone = 0;

	if (!s || s->count < 2)
		return 0;
	v = malloc(s->count * sizeof(*v));
	w = malloc(s->count * sizeof(*w));
	if (!v || !w)
		goto out;
	for (i = 0; i < s->count && rdset_next(s, &pos, &v[i].rr); i++)
		v[i].i = i;
	qsort(v, s->count, sizeof(*v), rr_sort_cmp);
	for (i = 0; i < s->count; i++) {
		if (k && rdata_equal(&w[k - 1], v[i].rr.rdata, v[i].rr.len))
			continue;
		w[k++] = v[i].rr;
	}
	n = rdset_build(w, k);
	if (n) { /* out of memory: the set stays as it is */
		gone = s->count - k;
		free(s);
		*sp = n;
	}
out:
	free(v);
	free(w);
	return gone;
}

/* ---- the SOA ---- */

/* Offset of the SOA's numbers (after MNAME and RNAME), or 0. */
static size_t soa_numbers(const struct zone *z)
{
	uint16_t off[RDATA_MAX_NAMES];
	size_t at;

	if (!z->soa || rdata_names(LDNS_RR_TYPE_SOA, z->soa, z->soa_len, off) != 2)
		return 0;
	at = off[1] + rdata_name_len(z->soa, z->soa_len, off[1]);
	return at + 20 <= z->soa_len ? at : 0;
}

uint32_t zone_soa_u32(const struct zone *z, int field)
{
	size_t at = soa_numbers(z);
	const uint8_t *p;

	if (!at || field < 2 || field > 6)
		return 0;
	p = z->soa + at + 4 * (field - 2);
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t zone_soa_name(const struct zone *z, int k, uint8_t out[256])
{
	uint16_t off[RDATA_MAX_NAMES];
	size_t len;

	if (!z->soa || k < 0 || k > 1 ||
	    rdata_names(LDNS_RR_TYPE_SOA, z->soa, z->soa_len, off) <= k)
		return 0;
	len = rdata_name_len(z->soa, z->soa_len, off[k]);
	memcpy(out, z->soa + off[k], len);
	return len;
}

uint32_t zone_neg_ttl(const struct zone *z)
{
	uint32_t ttl = z->soa_ttl;
	uint32_t min = zone_soa_u32(z, 6);

	return ttl < min ? ttl : min;
}

/* ---- nodes ---- */

static int table_grow(struct node **tab, size_t *mask)
{
	size_t size = *tab ? (*mask + 1) * 2 : 1024;
	struct node *nodes = calloc(size, sizeof(*nodes));
	size_t i;

	if (!nodes)
		return -ENOMEM;
	for (i = 0; *tab && i <= *mask; i++) {
		struct node *o = &(*tab)[i];

		if (o->name)
			*table_place(nodes, size - 1, o) = *o;
	}
	free(*tab);
	*tab = nodes;
	*mask = size - 1;
	return 0;
}

/* Bytes of a node's names (canonical, and the cased owner). */
static size_t node_name_bytes(const struct node *n)
{
	return (size_t)n->len * (n->cased ? 2 : 1);
}

/* The node named name (canonical), created when missing; owner: the
 * name as written (any case), NULL: the canonical one. */
static struct node *table_get(struct node **tab, size_t *mask, size_t *count,
			      const uint8_t *name, size_t len,
			      const uint8_t *owner)
{
	struct node *n;
	uint32_t h;

	if (!*tab || (*count + 1) * 4 > (*mask + 1) * 3)
		if (table_grow(tab, mask))
			return NULL;
	h = name_hash32(name, len);
	n = table_slot_h(*tab, *mask, h, name, len);
	if (!n->name) {
		int cased = owner && memcmp(owner, name, len);
		uint8_t *b = malloc(len * (cased ? 2 : 1));

		if (!b)
			return NULL;
		memcpy(b, name, len);
		if (cased)
			memcpy(b + len, owner, len);
		n->sets = (struct rrset *)b;
		n->name = b;
		n->len = len;
		n->cased = cased;
		n->hash = h;
		n->cap = 0;
		n->n_sets = 0;
		(*count)++;
	}
	return n;
}

/* Make a borrowed node this zone's own before changing it: its name and
 * record sets are copied (the zone it came from still serves them). */
static int node_own(struct node *n)
{
	size_t names = node_name_bytes(n);
	struct rrset *sets;
	uint32_t j;

	if (!n->borrowed)
		return 0;
	sets = malloc(n->n_sets * sizeof(*sets) + names);
	if (!sets)
		return -ENOMEM;
	memcpy(sets, n->sets, n->n_sets * sizeof(*sets));
	memcpy((uint8_t *)(sets + n->n_sets), n->name, names);
	for (j = 0; j < n->n_sets; j++) {
		sets[j].rrs = rdset_copy(n->sets[j].rrs);
		sets[j].sigs = rdset_copy(n->sets[j].sigs);
		if ((n->sets[j].rrs && !sets[j].rrs) ||
		    (n->sets[j].sigs && !sets[j].sigs)) {
			for (;; j--) {
				free(sets[j].rrs);
				free(sets[j].sigs);
				if (!j)
					break;
			}
			free(sets);
			return -ENOMEM;
		}
	}
	n->sets = sets;
	n->name = (uint8_t *)(sets + n->n_sets);
	n->cap = n->n_sets;
	n->borrowed = 0;
	return 0;
}

static struct node *node_get(struct zone *z, const uint8_t *name, size_t len,
			     const uint8_t *owner)
{
	return table_get(&z->nodes, &z->mask, &z->n_nodes, name, len, owner);
}

static struct rrset *rrset_get(struct node *n, uint16_t type)
{
	struct rrset *s = node_rrset(n, type);

	if (s)
		return s;
	if (n->n_sets == n->cap) {
		uint32_t cap = n->cap < 4 ? n->cap + 1 : n->cap * 2;
		size_t names = node_name_bytes(n);
		uint8_t *b = realloc(n->sets, cap * sizeof(struct rrset) + names);

		if (!b)
			return NULL;
		/* the names follow the sets: move them up */
		memmove(b + cap * sizeof(struct rrset),
			b + n->cap * sizeof(struct rrset), names);
		n->sets = (struct rrset *)b;
		n->name = b + cap * sizeof(struct rrset);
		n->cap = cap;
	}
	s = &n->sets[n->n_sets++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	return s;
}

static void node_free(struct node *n)
{
	uint32_t j;

	for (j = 0; j < n->n_sets; j++) {
		free(n->sets[j].rrs);
		free(n->sets[j].sigs);
	}
	free(n->sets);
}

static void table_free(struct node *tab, size_t mask)
{
	size_t i;

	for (i = 0; tab && i <= mask; i++) {
		struct node *n = &tab[i];

		if (n->name && !n->borrowed)
			node_free(n);
	}
	free(tab);
}

void zone_free(struct zone *z)
{
	if (!z)
		return;
	table_free(z->nodes, z->mask);
	table_free(z->n3nodes, z->n3mask);
	free(z->nsec);
	free(z->nsec3);
	free(z);
}

#define ZONE_DEDUPE_LATER 64

/* Types that may live beside a CNAME (RFC 2181 10.1, RFC 4035 2.5). */
static int cname_companion(uint16_t type)
{
	return type == LDNS_RR_TYPE_NSEC || type == LDNS_RR_TYPE_RRSIG;
}

static int cname_conflict(const struct node *n, uint16_t type)
{
	uint32_t i;

	if (cname_companion(type))
		return 0;
	for (i = 0; i < n->n_sets; i++) {
		uint16_t t = n->sets[i].type;

		if (!rdset_count(n->sets[i].rrs) || t == type || cname_companion(t))
			continue;
		if (t == LDNS_RR_TYPE_CNAME || type == LDNS_RR_TYPE_CNAME)
			return 1;
	}
	return 0;
}

/* One record in wire form: owner as written (any case, len bytes), rdata
 * (normalized here, so writable). Identical records are one (RFC 2181
 * 5.2). */
static int zone_add(struct zone *z, const uint8_t *owner_in, size_t len,
		    uint16_t type, uint16_t rclass, uint32_t ttl, uint8_t *rd,
		    uint16_t rdlen, char *why, size_t whylen)
{
	uint8_t owner[256];
	struct node *n;
	struct rrset *s;

	if (len == 0 || len > 255 || rdata_name_len(owner_in, len, 0) != len) {
		snprintf(why, whylen, "bad owner name");
		return -EINVAL;
	}
	name_lower(owner, owner_in, len);
	rdata_normalize(type, rd, rdlen);
	if (rclass != LDNS_RR_CLASS_IN) {
		snprintf(why, whylen, "class is not IN");
		return -EINVAL;
	}
	if (!name_is_subdomain(owner, len, z->apex, z->apex_len)) {
		char o[200];

		name_to_str(owner, o, sizeof(o));
		snprintf(why, whylen, "%s is outside the zone %s", o, z->name);
		return -EINVAL;
	}
	if (type == LDNS_RR_TYPE_RRSIG && rdlen < 2) {
		snprintf(why, whylen, "RRSIG without a type covered");
		return -EINVAL;
	}
	if (type == LDNS_RR_TYPE_NSEC3 ||
	    (type == LDNS_RR_TYPE_RRSIG &&
	     ((uint16_t)rd[0] << 8 | rd[1]) == LDNS_RR_TYPE_NSEC3))
		n = table_get(&z->n3nodes, &z->n3mask, &z->n_n3nodes, owner,
			      len, owner_in);
	else
		n = node_get(z, owner, len, owner_in);
	if (!n || node_own(n))
		return -ENOMEM;
	if (type == LDNS_RR_TYPE_RRSIG) {
		s = rrset_get(n, (uint16_t)rd[0] << 8 | rd[1]);
		if (!s)
			return -ENOMEM;
		if (rdset_has(s->sigs, rd, rdlen))
			return 0;
		if (rdset_add(&s->sigs, ttl, rd, rdlen))
			return -ENOMEM;
		z->signed_zone = 1;
		z->n_records++;
		return 0;
	}
	if (type == LDNS_RR_TYPE_SOA && len != z->apex_len) {
		snprintf(why, whylen, "SOA record not at the zone apex");
		return -EINVAL;
	}
	if (cname_conflict(n, type)) {
		snprintf(why, whylen, "CNAME and other data at one name (RFC 2181 10.1)");
		return -EINVAL;
	}
	s = rrset_get(n, type);
	if (!s)
		return -ENOMEM;
	if (type == LDNS_RR_TYPE_SOA && rdset_count(s->rrs) > 0) {
		snprintf(why, whylen, "more than one SOA record");
		return -EINVAL;
	}
	/* identical records are one record (RFC 2181 5.2): checked at once
	 * in small sets, by sorting at finish in big ones (linear load) */
	if (rdset_count(s->rrs) >= ZONE_DEDUPE_LATER) {
		s->dedupe_later = 1;
		z->dedupe_pending = 1;
	} else if (rdset_has(s->rrs, rd, rdlen)) {
		return 0;
	}
	if (type == LDNS_RR_TYPE_CNAME && rdset_count(s->rrs)) {
		snprintf(why, whylen, "more than one CNAME at one name");
		return -EINVAL;
	}
	if (rdset_add(&s->rrs, ttl, rd, rdlen))
		return -ENOMEM;
	z->n_records++;
	return 0;
}

/* An ldns record's rdata in wire form into buf (65535 bytes). */
static int rr_rdata(const ldns_rr *rr, uint8_t *buf, uint16_t *len)
{
	size_t i, n = 0;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		size_t k = ldns_rdf_size(f);

		if (n + k > 65535)
			return -EINVAL;
		memcpy(buf + n, ldns_rdf_data(f), k);
		n += k;
	}
	*len = n;
	return 0;
}

static int zone_add_ldns(struct zone *z, const ldns_rr *rr, char *why,
			 size_t whylen)
{
	static __thread uint8_t rd[65536];
	const ldns_rdf *o = ldns_rr_owner(rr);
	uint16_t rdlen;

	if (rr_rdata(rr, rd, &rdlen)) {
		snprintf(why, whylen, "record data longer than 65535 bytes");
		return -EINVAL;
	}
	return zone_add(z, ldns_rdf_data(o), ldns_rdf_size(o),
			ldns_rr_get_type(rr), ldns_rr_get_class(rr),
			ldns_rr_ttl(rr), rd, rdlen, why, whylen);
}

int name_canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t ao[128], bo[128]; /* label offsets */
	int na = 0, nb = 0;
	size_t i;

	for (i = 0; i < alen && a[i] && na < 128; i += a[i] + 1)
		ao[na++] = i;
	for (i = 0; i < blen && b[i] && nb < 128; i += b[i] + 1)
		bo[nb++] = i;
	while (na > 0 && nb > 0) {
		const uint8_t *la = a + ao[--na], *lb = b + bo[--nb];
		size_t n = la[0] < lb[0] ? la[0] : lb[0];
		int c = memcmp(la + 1, lb + 1, n);

		if (c)
			return c;
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

static int nsec_node_cmp(const void *x, const void *y)
{
	const struct node *a = *(struct node *const *)x;
	const struct node *b = *(struct node *const *)y;

	return name_canon_cmp(a->name, a->len, b->name, b->len);
}

static int nsec3_cmp(const void *x, const void *y)
{
	return memcmp(((const struct nsec3_entry *)x)->hash,
		      ((const struct nsec3_entry *)y)->hash, 20);
}

struct node *zone_nsec_find(const struct zone *z, const uint8_t *name,
			    size_t len, int *exact)
{
	size_t lo = 0, hi = z->n_nsec;

	*exact = 0;
	if (!z->n_nsec)
		return NULL;
	/* the last owner <= name */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct node *n = z->nsec[mid];

		if (name_canon_cmp(n->name, n->len, name, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return z->nsec[z->n_nsec - 1]; /* wraps: the last covers */
	*exact = name_canon_cmp(z->nsec[lo - 1]->name, z->nsec[lo - 1]->len,
				name, len) == 0;
	return z->nsec[lo - 1];
}

int zone_nsec3_hash(const struct zone *z, const uint8_t *name, size_t len,
		    uint8_t hash[20])
{
	uint8_t buf[255 + 255];
	uint16_t i;

	if (!z->nsec3_ok)
		return -ENOENT;
	memcpy(buf, name, len);
	memcpy(buf + len, z->nsec3_salt, z->nsec3_salt_len);
	ldns_sha1(buf, len + z->nsec3_salt_len, hash);
	for (i = 0; i < z->nsec3_iterations; i++) {
		memcpy(buf, hash, 20);
		memcpy(buf + 20, z->nsec3_salt, z->nsec3_salt_len);
		ldns_sha1(buf, 20 + z->nsec3_salt_len, hash);
	}
	return 0;
}

struct node *zone_nsec3_find(const struct zone *z, const uint8_t hash[20],
			     int *exact)
{
	size_t lo = 0, hi = z->n_nsec3;

	*exact = 0;
	if (!z->n_nsec3)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (memcmp(z->nsec3[mid].hash, hash, 20) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return z->nsec3[z->n_nsec3 - 1].node;
	*exact = memcmp(z->nsec3[lo - 1].hash, hash, 20) == 0;
	return z->nsec3[lo - 1].node;
}

/* A node's name, kept while the table may grow. */
struct name_ref {
	const uint8_t *name; /* stays put when the table grows */
	size_t len;
};

/* NSEC order and the NSEC3 index (a zone may have neither). cand (n_cand
 * names, or NULL): the nodes that are not borrowed, the only ones that
 * can hold an NSEC when the zone was copied from one without
 * (base_no_nsec). */
static int zone_index_denial(struct zone *z, const struct name_ref *cand,
			     size_t n_cand)
{
	struct node *apex = zone_find(z, z->apex, z->apex_len);
	struct rrset *param = apex ? node_rrset(apex, LDNS_RR_TYPE_NSEC3PARAM) : NULL;
	/* an IXFR's copy of an unsigned zone: only the nodes the diffs
	 * touched can have an NSEC (looking into every node's sets took a
	 * 1M-name zone tens of ms, a cache miss each) */
	int skip_borrowed = z->borrows && z->base_no_nsec;
	struct rr_ref p;
	size_t i;

	z->nsec = malloc((z->n_nodes + 1) * sizeof(*z->nsec));
	if (!z->nsec)
		return -ENOMEM;

	for (i = 0; skip_borrowed && cand && i < n_cand; i++) {
		struct node *n = zone_find(z, cand[i].name, cand[i].len);
		struct rrset *s = n ? node_rrset(n, LDNS_RR_TYPE_NSEC) : NULL;

		if (s && rdset_count(s->rrs))
			z->nsec[z->n_nsec++] = n;
	}
	for (i = 0; !(skip_borrowed && cand) && i <= z->mask; i++) {
		struct node *n = &z->nodes[i];
		struct rrset *s = n->name && !(skip_borrowed && n->borrowed) ?
					  node_rrset(n, LDNS_RR_TYPE_NSEC) : NULL;

		if (s && rdset_count(s->rrs))
			z->nsec[z->n_nsec++] = n;
	}
	qsort(z->nsec, z->n_nsec, sizeof(*z->nsec), nsec_node_cmp);

	if (param && rdset_first(param->rrs, &p)) {
		/* algorithm, flags, iterations (2), salt length, salt */
		if (p.len >= 5 && p.rdata[0] == 1 && p.len - 5 == p.rdata[4]) {
			z->nsec3_ok = 1;
			z->nsec3_iterations = (uint16_t)p.rdata[2] << 8 | p.rdata[3];
			z->nsec3_salt_len = p.rdata[4];
			memcpy(z->nsec3_salt, p.rdata + 5, z->nsec3_salt_len);
		}
	}
	if (!z->n_n3nodes)
		return 0;
	z->nsec3 = calloc(z->n_n3nodes, sizeof(*z->nsec3));
	if (!z->nsec3)
		return -ENOMEM;
	for (i = 0; i <= z->n3mask; i++) {
		struct node *n = &z->n3nodes[i];
		char label[64];
		uint8_t h[64];

		if (!n->name || n->name[0] == 0 || n->name[0] > 63)
			continue;
		memcpy(label, n->name + 1, n->name[0]);
		if (ldns_b32_pton_extended_hex(label, n->name[0], h, sizeof(h)) != 20)
			continue; /* not a SHA-1 owner: ignored */
		memcpy(z->nsec3[z->n_nsec3].hash, h, 20);
		z->nsec3[z->n_nsec3].node = n;
		z->n_nsec3++;
	}
	qsort(z->nsec3, z->n_nsec3, sizeof(*z->nsec3), nsec3_cmp);
	return 0;
}

/* Every ancestor of every owner, up to the apex, exists (empty
 * non-terminals). Rrsets that only hold signatures are counted too. */
/* Duplicates in the big sets, left for now by zone_add(). */
static void zone_dedupe(struct zone *z)
{
	size_t d;

	if (!z->dedupe_pending) /* no big set grew: no pass over the table */
		return;
	z->dedupe_pending = 0;
	for (d = 0; z->nodes && d <= z->mask; d++) {
		struct node *n = &z->nodes[d];
		uint32_t j;

		for (j = 0; n->name && !n->borrowed && j < n->n_sets; j++)
			if (n->sets[j].dedupe_later) {
				z->n_records -= rdset_dedupe(&n->sets[j].rrs);
				n->sets[j].dedupe_later = 0;
			}
	}
}

/* all_names: every node's ancestors are checked for empty non-terminals;
 * otherwise only the nodes not borrowed (an IXFR's new and changed ones:
 * the borrowed ones' ancestors are there, as in the zone they come from). */
static int zone_finish(struct zone *z, int all_names, char *why, size_t whylen)
{
	size_t i, total = z->mask + 1;
	struct node *apex;
	struct rrset *soa;
	struct name_ref *names;
	size_t n_names = 0;
	struct rr_ref rr;
	int r;

	zone_dedupe(z);
	apex = zone_find(z, z->apex, z->apex_len);
	soa = apex ? node_rrset(apex, LDNS_RR_TYPE_SOA) : NULL;
	if (!soa || rdset_count(soa->rrs) != 1 || !rdset_first(soa->rrs, &rr)) {
		snprintf(why, whylen, "no SOA record at the zone apex %s", z->name);
		return -EINVAL;
	}
	z->soa = rr.rdata;
	z->soa_len = rr.len;
	z->soa_ttl = rr.ttl;
	if (!soa_numbers(z)) {
		z->soa = NULL;
		snprintf(why, whylen, "the SOA record at %s is malformed", z->name);
		return -EINVAL;
	}
	z->serial = zone_soa_u32(z, 2);

	names = malloc(z->n_nodes * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (i = 0; i < total; i++) {
		struct node *n = &z->nodes[i];

		if (!n->name)
			continue;
		if (all_names || !n->borrowed) {
			names[n_names].name = n->name;
			names[n_names++].len = n->len;
		}
		z->n_rrsets += n->n_sets;
	}
	for (i = 0; i < n_names; i++) {
		const uint8_t *nm = names[i].name;
		size_t len = names[i].len, off = 0;

		while (len - off > z->apex_len) {
			off += nm[off] + 1;
			if (zone_find(z, nm + off, len - off))
				break; /* its ancestors were added with it */
			if (!node_get(z, nm + off, len - off, NULL)) {
				free(names);
				return -ENOMEM;
			}
		}
	}
	/* an IXFR's copy: the list is of the nodes it does not borrow */
	r = zone_index_denial(z, all_names ? NULL : names, n_names);
	free(names);
	return r;
}

/* Consume blank and comment-only lines (ldns would, but then the line a
 * record starts on is lost). */
static void skip_blank_lines(FILE *fp, int *line)
{
	char buf[4096];

	for (;;) {
		long pos;
		const char *p;
		int c = getc(fp);

		/* the usual line starts with an owner or '$': one character
		 * of look-ahead decides it, no seek (a seek per record made
		 * the stream re-read its buffer every time) */
		if (c == EOF)
			return;
		ungetc(c, fp);
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ';')
			return;
		pos = ftell(fp);
		if (pos < 0 || !fgets(buf, sizeof(buf), fp))
			return;
		for (p = buf; *p == ' ' || *p == '\t' || *p == '\r'; p++)
			;
		if ((*p != '\n' && *p != ';' && *p != 0) ||
		    !strchr(buf, '\n')) {
			fseek(fp, pos, SEEK_SET);
			return;
		}
		(*line)++;
	}
}

/* ---- the common record lines without ldns ---- */

/* Most lines of a big zone are "owner [ttl] [IN] type rdata" with a type
 * of A, AAAA, NS, CNAME, PTR or MX and plain names: those are read here,
 * straight into wire form (ldns takes 1.2 us a record and allocates a
 * dozen times). Any other line, or anything unusual in one (comments,
 * quotes, escapes, parentheses, directives, a blank owner, TTL units,
 * class before TTL), returns 0 and ldns reads it, so what a file means
 * and every error message stay ldns's. */

/* A name token: labels of [A-Za-z0-9_*-], absolute with a trailing dot,
 * else relative to origin; "@" is the origin. Its wire form into out;
 * returns the length or 0 (let ldns read the line). */
static size_t fast_name(const char *t, size_t n, const uint8_t *origin,
			size_t olen, uint8_t *out)
{
	size_t o = 0, i = 0;

	if (n == 1 && t[0] == '@') {
		memcpy(out, origin, olen);
		return olen;
	}
	if (n == 1 && t[0] == '.') {
		out[0] = 0;
		return 1;
	}
	while (i < n) {
		size_t l = 0;

		while (i + l < n && t[i + l] != '.') {
			char c = t[i + l];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			      c == '*'))
				return 0;
			l++;
		}
		if (l == 0 || l > 63 || o + 1 + l > 254)
			return 0;
		out[o] = l;
		memcpy(out + o + 1, t + i, l);
		o += 1 + l;
		i += l;
		if (i == n) { /* relative */
			if (o + olen > 255)
				return 0;
			memcpy(out + o, origin, olen);
			return o + olen;
		}
		i++; /* the dot */
	}
	out[o] = 0;
	return o + 1;
}

/* A decimal number of at most digits digits, or -1. */
static long fast_number(const char *t, size_t n, size_t digits)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > digits)
		return -1;
	for (i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	return v;
}

#define FAST_MAX_TOKENS 6

/* 1: the line (len bytes, its newline included) was a record and is in
 * z, or *r holds the error zone_add gave; 0: ldns should read it. owner
 * gets the record's owner (for a later line's blank owner). */
static int fast_line(struct zone *z, const char *line, size_t len,
		     uint32_t default_ttl, const ldns_rdf *origin,
		     uint8_t owner_out[256], size_t *owner_len, int *r,
		     char *why, size_t whylen)
{
	const char *tok[FAST_MAX_TOKENS];
	uint8_t owner[256];
	size_t tl[FAST_MAX_TOKENS], nt = 0, i = 0, k;
	const uint8_t *orig = ldns_rdf_data(origin);
	size_t olen = ldns_rdf_size(origin);
	uint32_t ttl = default_ttl ? default_ttl : LDNS_DEFAULT_TTL;
	uint8_t rd[256 + 2];
	size_t rdlen, ol;
	uint16_t type;
	long v;

	if (len < 2 || line[len - 1] != '\n' || line[0] == ' ' ||
	    line[0] == '\t' || line[0] == '$')
		return 0;
	len--;
	while (i < len) {
		char c = line[i];

		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (nt == FAST_MAX_TOKENS)
			return 0;
		tok[nt] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t') {
			c = line[i];
			if (c == ';' || c == '"' || c == '\\' || c == '(' ||
			    c == ')' || c == '\r' || c == 0)
				return 0;
			i++;
		}
		tl[nt] = line + i - tok[nt];
		nt++;
	}
	if (nt < 3)
		return 0;
	ol = fast_name(tok[0], tl[0], orig, olen, owner);
	if (!ol)
		return 0;
	k = 1;
	if ((v = fast_number(tok[k], tl[k], 9)) >= 0) {
		ttl = v;
		k++;
	}
	if (k < nt && tl[k] == 2 && !memcmp(tok[k], "IN", 2))
		k++;
	if (k + 1 >= nt)
		return 0;
#define IS(s) (tl[k] == sizeof(s) - 1 && !memcmp(tok[k], s, sizeof(s) - 1))
	if (IS("A") || IS("AAAA")) {
		int v6 = IS("AAAA");
		char text[INET6_ADDRSTRLEN];

		type = v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
		if (nt != k + 2 || tl[k + 1] >= sizeof(text))
			return 0;
		memcpy(text, tok[k + 1], tl[k + 1]);
		text[tl[k + 1]] = 0;
		if (inet_pton(v6 ? AF_INET6 : AF_INET, text, rd) != 1)
			return 0;
		rdlen = v6 ? 16 : 4;
	} else if (IS("NS") || IS("CNAME") || IS("PTR")) {
		type = IS("NS") ? LDNS_RR_TYPE_NS :
		       IS("CNAME") ? LDNS_RR_TYPE_CNAME : LDNS_RR_TYPE_PTR;
		if (nt != k + 2)
			return 0;
		rdlen = fast_name(tok[k + 1], tl[k + 1], orig, olen, rd);
		if (!rdlen)
			return 0;
	} else if (IS("MX")) {
		type = LDNS_RR_TYPE_MX;
		if (nt != k + 3)
			return 0;
		v = fast_number(tok[k + 1], tl[k + 1], 5);
		if (v < 0 || v > 65535)
			return 0;
		rd[0] = v >> 8;
		rd[1] = v;
		rdlen = fast_name(tok[k + 2], tl[k + 2], orig, olen, rd + 2);
		if (!rdlen)
			return 0;
		rdlen += 2;
	} else {
		return 0;
	}
#undef IS
	memcpy(owner_out, owner, ol);
	*owner_len = ol;
	*r = zone_add(z, owner, ol, type, LDNS_RR_CLASS_IN, ttl, rd, rdlen, why,
		      whylen);
	return 1;
}

/* The rest of the line at the stream's position when it is all in the
 * stream's buffer (glibc), else NULL: then ldns reads it. */
static const char *fp_peek_line(FILE *fp, size_t *len)
{
#ifdef __GLIBC__
	const char *p = fp->_IO_read_ptr, *nl;

	if (!p || p >= fp->_IO_read_end)
		return NULL;
	nl = memchr(p, '\n', fp->_IO_read_end - p);
	if (!nl)
		return NULL;
	*len = nl - p + 1;
	return p;
#else
	(void)fp;
	(void)len;
	return NULL;
#endif
}

static void fp_consume(FILE *fp, size_t n)
{
#ifdef __GLIBC__
	fp->_IO_read_ptr += n; /* what getc() does n times */
#else
	(void)fp;
	(void)n;
#endif
}

int zone_load_file(const char *file, const char *origin, struct zone **out,
		   char *err, size_t errlen)
{
	ldns_rdf *orig = NULL, *cur_origin = NULL, *prev = NULL;
	uint8_t prev_owner[256]; /* the last owner read here, not by ldns */
	size_t prev_len = 0;
	uint32_t ttl = 3600;
	struct zone *z = NULL;
	int line = 1, r = 0;
	char why[1024] = "out of memory";
	FILE *fp;

	err[0] = 0;
	fp = fopen(file, "r");
	if (!fp) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", file, strerror(-r));
		return r;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 16); /* few lines cross its end */
	orig = ldns_dname_new_frm_str(origin);
	if (!orig) {
		snprintf(err, errlen, "%s: bad zone name %s", file, origin);
		r = -EINVAL;
		goto out;
	}
	cur_origin = ldns_rdf_clone(orig);
	z = calloc(1, sizeof(*z));
	if (!z || !cur_origin) {
		r = -ENOMEM;
		goto out;
	}
	z->apex_len = ldns_rdf_size(orig);
	name_lower(z->apex, ldns_rdf_data(orig), z->apex_len);
	name_to_str(z->apex, z->name, sizeof(z->name));

	/* record by record, so every problem has a line number */
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status st;
		const char *text;
		size_t text_len;
		int start;

		skip_blank_lines(fp, &line);
		start = line;
		text = fp_peek_line(fp, &text_len);
		if (text && fast_line(z, text, text_len, ttl, cur_origin,
				      prev_owner, &prev_len, &r, why,
				      sizeof(why))) {
			fp_consume(fp, text_len);
			line++;
			if (r) {
				snprintf(err, errlen, "%s:%d: %s", file, start, why);
				goto out;
			}
			continue;
		}
		if (prev_len) { /* the owner a blank one repeats */
			if (prev)
				ldns_rdf_deep_free(prev);
			prev = ldns_dname_new_frm_data(prev_len, prev_owner);
			prev_len = 0;
			if (!prev) {
				r = -ENOMEM;
				goto out;
			}
		}
		st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &cur_origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			snprintf(err, errlen, "%s:%d: $INCLUDE is not supported",
				 file, start);
			r = -EINVAL;
			goto out;
		}
		/* ldns counts the newline it consumed: the record started at
		 * the line we were on before the call */
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "%s:%d: %s", file, start,
				 ldns_get_errorstr_by_id(st));
			r = -EINVAL;
			goto out;
		}
		r = zone_add_ldns(z, rr, why, sizeof(why));
		ldns_rr_free(rr);
		if (r) {
			snprintf(err, errlen, "%s:%d: %s", file, start, why);
			goto out;
		}
	}
	r = zone_finish(z, 1, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "%s: %s", file, why);
		goto out;
	}
	*out = z;
	z = NULL;
out:
	if (r && !err[0])
		snprintf(err, errlen, "%s: %s", file, strerror(-r));
	zone_free(z);
	ldns_rdf_deep_free(orig);
	if (cur_origin)
		ldns_rdf_deep_free(cur_origin);
	if (prev)
		ldns_rdf_deep_free(prev);
	fclose(fp);
	return r;
}

/* ---- zones built record by record (transfers) ---- */

struct zone *zone_new(const char *origin)
{
	ldns_rdf *orig = ldns_dname_new_frm_str(origin);
	struct zone *z;

	if (!orig)
		return NULL;
	z = calloc(1, sizeof(*z));
	if (z) {
		z->apex_len = ldns_rdf_size(orig);
		name_lower(z->apex, ldns_rdf_data(orig), z->apex_len);
		name_to_str(z->apex, z->name, sizeof(z->name));
	}
	ldns_rdf_deep_free(orig);
	return z;
}

int zone_add_rr(struct zone *z, ldns_rr *rr, char *why, size_t whylen)
{
	int r = zone_add_ldns(z, rr, why, whylen);

	if (!r)
		ldns_rr_free(rr);
	return r;
}

int zone_add_rr_copy(struct zone *z, const ldns_rr *rr, char *why,
		     size_t whylen)
{
	return zone_add_ldns(z, rr, why, whylen);
}

int zone_del_rr(struct zone *z, const ldns_rr *rr)
{
	static __thread uint8_t rd[65536];
	const ldns_rdf *o = ldns_rr_owner(rr);
	uint8_t owner[256];
	size_t len = ldns_rdf_size(o);
	uint16_t type = ldns_rr_get_type(rr), rdlen;
	struct node *n;
	struct rrset *s;
	int nsec3;

	if (len == 0 || len > 255 || rr_rdata(rr, rd, &rdlen))
		return -EINVAL;
	name_lower(owner, ldns_rdf_data(o), len);
	rdata_normalize(type, rd, rdlen);
	if (type == LDNS_RR_TYPE_RRSIG && rdlen < 2)
		return -EINVAL;
	nsec3 = type == LDNS_RR_TYPE_NSEC3 ||
		(type == LDNS_RR_TYPE_RRSIG &&
		 ((uint16_t)rd[0] << 8 | rd[1]) == LDNS_RR_TYPE_NSEC3);
	if (nsec3) {
		if (!z->n3nodes)
			return -ENOENT;
		n = table_slot(z->n3nodes, z->n3mask, owner, len);
	} else {
		if (!z->nodes)
			return -ENOENT;
		n = table_slot(z->nodes, z->mask, owner, len);
	}
	if (!n->name)
		return -ENOENT;
	if (node_own(n))
		return -ENOMEM;
	if (type == LDNS_RR_TYPE_RRSIG) {
		s = node_rrset(n, (uint16_t)rd[0] << 8 | rd[1]);
		if (!s || rdset_remove(&s->sigs, rd, rdlen))
			return -ENOENT;
	} else {
		s = node_rrset(n, type);
		if (!s || rdset_remove(&s->rrs, rd, rdlen))
			return -ENOENT;
	}
	z->n_records--;
	return 0;
}

/* Does a node of this table need compaction: an rrset left empty, or an
 * owned node without any (a node of a zone being built that was emptied;
 * borrowed empty non-terminals are fine while nothing was removed). */
static int table_needs_compact(const struct node *tab, size_t mask)
{
	size_t i;
	uint32_t j;

	for (i = 0; tab && i <= mask; i++) {
		const struct node *o = &tab[i];

		if (!o->name || o->borrowed)
			continue;
		if (!o->n_sets)
			return 1;
		for (j = 0; j < o->n_sets; j++)
			if (!o->sets[j].rrs && !o->sets[j].sigs)
				return 1;
	}
	return 0;
}

/* Drop rrsets left empty by deletions, and nodes left without rrsets. */
static int table_compact(struct node **tab, size_t *mask, size_t *count)
{
	struct node *nodes;
	size_t i, size = *mask + 1;

	if (!*tab)
		return 0;
	nodes = calloc(size, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	*count = 0;
	for (i = 0; i < size; i++) {
		struct node *o = &(*tab)[i];
		uint16_t j, k;

		if (!o->name)
			continue;
		if (o->borrowed) {
			/* unchanged since its zone was finished: no empty
			 * sets; an empty non-terminal is dropped (finish adds
			 * it again) without freeing what is not ours */
			if (o->n_sets) {
				*table_place(nodes, size - 1, o) = *o;
				(*count)++;
			}
			continue;
		}
		for (j = 0, k = 0; j < o->n_sets; j++) {
			struct rrset *st = &o->sets[j];

			if (st->rrs || st->sigs)
				o->sets[k++] = *st;
		}
		o->n_sets = k;
		if (!k) {
			free(o->sets);
			continue;
		}
		*table_place(nodes, size - 1, o) = *o;
		(*count)++;
	}
	free(*tab);
	*tab = nodes;
	return 0;
}

int zone_finalize(struct zone *z, char *why, size_t whylen)
{
	int r;

	snprintf(why, whylen, "out of memory");
	/* a diff that emptied nothing leaves the table as it is (and the
	 * empty non-terminals it borrowed); otherwise rebuilt, every
	 * empty non-terminal found again */
	if (!z->borrows || table_needs_compact(z->nodes, z->mask) ||
	    table_needs_compact(z->n3nodes, z->n3mask)) {
		r = table_compact(&z->nodes, &z->mask, &z->n_nodes);
		if (!r)
			r = table_compact(&z->n3nodes, &z->n3mask, &z->n_n3nodes);
		if (!r)
			r = zone_finish(z, 1, why, whylen);
		return r;
	}
	return zone_finish(z, 0, why, whylen);
}

int zone_foreach_rr(const struct zone *z,
		    int (*fn)(const uint8_t *owner, uint16_t type,
			      const struct rr_ref *rr, void *arg),
		    void *arg)
{
	const struct node *tabs[2] = { z->nodes, z->n3nodes };
	size_t masks[2] = { z->mask, z->n3mask };
	const struct node *apex = zone_find(z, z->apex, z->apex_len);
	const struct rrset *soa = apex ? node_rrset(apex, LDNS_RR_TYPE_SOA) : NULL;
	struct rr_ref rr;
	int t, r;

	if (soa && rdset_first(soa->rrs, &rr) &&
	    (r = fn(node_owner(apex), LDNS_RR_TYPE_SOA, &rr, arg)))
		return r;
	for (t = 0; t < 2; t++) {
		size_t i;

		for (i = 0; tabs[t] && i <= masks[t]; i++) {
			const struct node *n = &tabs[t][i];
			uint32_t j;

			if (!n->name)
				continue;
			for (j = 0; j < n->n_sets; j++) {
				const struct rrset *st = &n->sets[j];
				uint32_t pos = 0;

				while (st != soa && rdset_next(st->rrs, &pos, &rr))
					if ((r = fn(node_owner(n), st->type, &rr, arg)))
						return r;
				pos = 0;
				while (rdset_next(st->sigs, &pos, &rr))
					if ((r = fn(node_owner(n), LDNS_RR_TYPE_RRSIG,
						    &rr, arg)))
						return r;
			}
		}
	}
	return 0;
}

ldns_rr *zone_rr_to_ldns(const uint8_t *owner, uint16_t type,
			 const struct rr_ref *rr)
{
	static __thread uint8_t buf[256 + 10 + 65535];
	size_t len = name_wire_len(owner), pos = 0;
	ldns_rr *out = NULL;
	uint8_t *p;

	if (!len)
		return NULL;
	memcpy(buf, owner, len);
	p = buf + len;
	p[0] = type >> 8;
	p[1] = type;
	p[2] = 0;
	p[3] = LDNS_RR_CLASS_IN;
	p[4] = rr->ttl >> 24;
	p[5] = rr->ttl >> 16;
	p[6] = rr->ttl >> 8;
	p[7] = rr->ttl;
	p[8] = rr->len >> 8;
	p[9] = rr->len;
	memcpy(p + 10, rr->rdata, rr->len);
	if (ldns_wire2rr(&out, buf, len + 10 + rr->len, &pos,
			 LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
		return NULL;
	return out;
}

ldns_rr *zone_soa_ldns(const struct zone *z)
{
	struct rr_ref rr = { z->soa_ttl, z->soa_len, z->soa };

	return z->soa ? zone_rr_to_ldns(z->apex, LDNS_RR_TYPE_SOA, &rr) : NULL;
}

/* Copy a node table slot for slot, every node borrowed: the same hash and
 * size, so nothing is inserted again, and no record is copied until a
 * diff changes its node (node_own). (Re-inserting a table's keys in its
 * own slot order into a growing linear-probing table clusters them: that
 * took a 1M-name zone 55 s; copying every record took 1.7 s.) */
static int table_clone(struct node **dst, const struct node *src, size_t mask)
{
	size_t i;

	*dst = NULL;
	if (!src)
		return 0;
	*dst = malloc((mask + 1) * sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, (mask + 1) * sizeof(**dst));
	for (i = 0; i <= mask; i++)
		(*dst)[i].borrowed = (*dst)[i].name != NULL;
	return 0;
}

struct zone *zone_clone_unfinished(const struct zone *src)
{
	struct zone *z = zone_new(src->name);

	if (!z)
		return NULL;
	z->mask = src->mask;
	z->n_nodes = src->n_nodes;
	z->n3mask = src->n3mask;
	z->n_n3nodes = src->n_n3nodes;
	z->n_records = src->n_records;
	z->signed_zone = src->signed_zone;
	z->borrows = 1;
	z->base_no_nsec = src->n_nsec == 0;
	if (table_clone(&z->nodes, src->nodes, src->mask) ||
	    table_clone(&z->n3nodes, src->n3nodes, src->n3mask)) {
		zone_free(z);
		return NULL;
	}
	/* the rest (SOA, serial, counts, denial indexes, empty
	 * non-terminals) is rebuilt by zone_finalize() */
	return z;
}

static void table_hand_over(struct node *old, size_t omask, struct node *heir,
			    size_t hmask)
{
	size_t i;

	for (i = 0; old && heir && i <= omask; i++) {
		struct node *o = &old[i], *h;

		if (!o->name)
			continue;
		/* the heir's table is a slot-for-slot copy unless a diff
		 * emptied a node (rebuilt) or it grew: a node still borrowed
		 * is then in the same slot, the same name pointer, found
		 * without hashing and comparing a name that is a cache miss
		 * away (that took a 1M-name zone ~30 ms) */
		if (hmask == omask && heir[i].name == o->name)
			h = &heir[i];
		else
			h = table_slot_h(heir, hmask, o->hash, o->name, o->len);
		if (h->name == o->name) { /* borrowed: now the heir's */
			h->borrowed = 0;
			o->borrowed = 1;
		}
	}
}

void zone_free_into(struct zone *old, struct zone *heir)
{
	if (old && heir && heir->borrows) {
		table_hand_over(old->nodes, old->mask, heir->nodes, heir->mask);
		table_hand_over(old->n3nodes, old->n3mask, heir->n3nodes, heir->n3mask);
		heir->borrows = 0;
	}
	zone_free(old);
}

struct write_ctx {
	FILE *f;
	volatile int *cancel;
	ldns_buffer *buf; /* one text buffer for every record */
};

/* A name of plain labels ([A-Za-z0-9_*-]) as ldns prints it; 0 when it
 * has anything ldns would escape. */
static int write_name(FILE *f, const uint8_t *name, size_t max)
{
	char buf[256];
	size_t i = 0, o = 0;

	if (max < 1)
		return 0;
	if (name[0] == 0)
		return fputs(".", f) >= 0;
	while (i < max && name[i]) {
		uint8_t l = name[i++], k;

		if (l > 63 || i + l > max)
			return 0;
		for (k = 0; k < l; k++, i++) {
			char c = name[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			      c == '*'))
				return 0;
			buf[o++] = c;
		}
		buf[o++] = '.';
	}
	if (i >= max)
		return 0;
	buf[o] = 0;
	return fputs(buf, f) >= 0;
}

/* The common records in ldns's own format, without an ldns_rr; 0: ldns
 * writes this one (nothing was written). */
static int write_fast(FILE *f, const uint8_t *owner, uint16_t type,
		      const struct rr_ref *rr)
{
	char addr[INET6_ADDRSTRLEN];
	const char *tn;
	long at = ftell(f);
	int ok = 1;

	switch (type) {
	case LDNS_RR_TYPE_A:
		if (rr->len != 4)
			return 0;
		tn = "A";
		break;
	case LDNS_RR_TYPE_AAAA:
		if (rr->len != 16)
			return 0;
		tn = "AAAA";
		break;
	case LDNS_RR_TYPE_NS:
		tn = "NS";
		break;
	case LDNS_RR_TYPE_CNAME:
		tn = "CNAME";
		break;
	case LDNS_RR_TYPE_PTR:
		tn = "PTR";
		break;
	case LDNS_RR_TYPE_MX:
		if (rr->len < 3)
			return 0;
		tn = "MX";
		break;
	default:
		return 0;
	}
	if (at < 0 || !write_name(f, owner, 256))
		goto undo;
	fprintf(f, "\t%u\tIN\t%s\t", rr->ttl, tn);
	switch (type) {
	case LDNS_RR_TYPE_A:
	case LDNS_RR_TYPE_AAAA:
		inet_ntop(type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6, rr->rdata,
			  addr, sizeof(addr));
		fputs(addr, f);
		break;
	case LDNS_RR_TYPE_MX:
		fprintf(f, "%u ", (unsigned)rr->rdata[0] << 8 | rr->rdata[1]);
		ok = rdata_name_len(rr->rdata, rr->len, 2) == rr->len - 2U &&
		     write_name(f, rr->rdata + 2, rr->len - 2);
		break;
	default:
		ok = rdata_name_len(rr->rdata, rr->len, 0) == rr->len &&
		     write_name(f, rr->rdata, rr->len);
		break;
	}
	if (ok) {
		fputc('\n', f);
		return 1;
	}
undo: /* ldns writes it: back to where the line began */
	fseek(f, at, SEEK_SET);
	return 0;
}

static int write_one(const uint8_t *owner, uint16_t type,
		     const struct rr_ref *ref, void *arg)
{
	struct write_ctx *w = arg;
	ldns_rr *rr;
	ldns_status st;

	if (w->cancel && *w->cancel)
		return -ECANCELED;
	if (write_fast(w->f, owner, type, ref))
		return ferror(w->f) ? -EIO : 0;
	ldns_buffer_clear(w->buf);
	rr = zone_rr_to_ldns(owner, type, ref);
	if (!rr)
		return -ENOMEM;
	st = ldns_rr2buffer_str(w->buf, rr);
	ldns_rr_free(rr);
	if (st != LDNS_STATUS_OK)
		return -ENOMEM;
	if (fwrite(ldns_buffer_begin(w->buf), 1, ldns_buffer_position(w->buf),
		   w->f) != ldns_buffer_position(w->buf))
		return -EIO;
	return 0;
}

int zone_write_file(const struct zone *z, const char *path)
{
	return zone_write_file_cancel(z, path, NULL);
}

int zone_write_file_cancel(const struct zone *z, const char *path,
			   volatile int *cancel)
{
	struct write_ctx w = { NULL, cancel, NULL };
	char tmp[4096];
	FILE *f;
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	fprintf(f, "; zone %s serial %u, written by xdpns after a transfer\n",
		z->name, z->serial);
	w.f = f;
	w.buf = ldns_buffer_new(512);
	r = w.buf ? zone_foreach_rr(z, write_one, &w) : -ENOMEM;
	if (w.buf)
		ldns_buffer_free(w.buf);
	if (!r && (fflush(f) || fsync(fileno(f))))
		r = -errno;
	if (fclose(f) && !r)
		r = -EIO;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
