#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "wire.h"
#include "zone.h"

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

static struct node *table_slot(struct node *nodes, size_t mask,
			       const uint8_t *name, size_t len)
{
	size_t i = name_hash(name, len) & mask;

	for (;;) {
		struct node *n = &nodes[i];

		if (!n->name || (n->len == len && !memcmp(n->name, name, len)))
			return n;
		i = (i + 1) & mask;
	}
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
	uint16_t i;

	for (i = 0; i < n->n_sets; i++)
		if (n->sets[i].type == type)
			return &n->sets[i];
	return NULL;
}

uint32_t zone_neg_ttl(const struct zone *z)
{
	uint32_t ttl = ldns_rr_ttl(z->soa);
	uint32_t min = ldns_rdf2native_int32(ldns_rr_rdf(z->soa, 6));

	return ttl < min ? ttl : min;
}

static int table_grow(struct zone *z)
{
	size_t size = z->nodes ? (z->mask + 1) * 2 : 1024;
	struct node *nodes = calloc(size, sizeof(*nodes));
	size_t i;

	if (!nodes)
		return -ENOMEM;
	for (i = 0; z->nodes && i <= z->mask; i++) {
		struct node *o = &z->nodes[i];

		if (o->name)
			*table_slot(nodes, size - 1, o->name, o->len) = *o;
	}
	free(z->nodes);
	z->nodes = nodes;
	z->mask = size - 1;
	return 0;
}

static struct node *node_get(struct zone *z, const uint8_t *name, size_t len)
{
	struct node *n;

	if (!z->nodes || (z->n_nodes + 1) * 4 > (z->mask + 1) * 3)
		if (table_grow(z))
			return NULL;
	n = table_slot(z->nodes, z->mask, name, len);
	if (!n->name) {
		n->name = malloc(len);
		if (!n->name)
			return NULL;
		memcpy(n->name, name, len);
		n->len = len;
		z->n_nodes++;
	}
	return n;
}

static struct rrset *rrset_get(struct node *n, uint16_t type)
{
	struct rrset *s = node_rrset(n, type);

	if (s)
		return s;
	if (n->n_sets == n->cap) {
		uint16_t cap = n->cap ? n->cap * 2 : 2;
		struct rrset *sets = realloc(n->sets, cap * sizeof(*sets));

		if (!sets)
			return NULL;
		n->sets = sets;
		n->cap = cap;
	}
	s = &n->sets[n->n_sets++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->rrs = ldns_rr_list_new();
	return s->rrs ? s : NULL;
}

void zone_free(struct zone *z)
{
	size_t i;
	uint16_t j;

	if (!z)
		return;
	for (i = 0; z->nodes && i <= z->mask; i++) {
		struct node *n = &z->nodes[i];

		if (!n->name)
			continue;
		for (j = 0; j < n->n_sets; j++) {
			ldns_rr_list_deep_free(n->sets[j].rrs);
			if (n->sets[j].sigs)
				ldns_rr_list_deep_free(n->sets[j].sigs);
		}
		free(n->sets);
		free(n->name);
	}
	free(z->nodes);
	free(z);
}

/* Owner name of rr as canonical wire into buf; returns its length. */
static size_t rr_owner(const ldns_rr *rr, uint8_t *buf)
{
	ldns_rdf *o = ldns_rr_owner(rr);
	size_t len = ldns_rdf_size(o);

	if (len == 0 || len > 255)
		return 0;
	name_lower(buf, ldns_rdf_data(o), len);
	return len;
}

/* Add one record; takes ownership of rr on success. */
static int zone_add(struct zone *z, ldns_rr *rr, char *why, size_t whylen)
{
	uint8_t owner[256];
	size_t len = rr_owner(rr, owner);
	uint16_t type = ldns_rr_get_type(rr);
	struct node *n;
	struct rrset *s;

	if (!len) {
		snprintf(why, whylen, "bad owner name");
		return -EINVAL;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		snprintf(why, whylen, "class is not IN");
		return -EINVAL;
	}
	if (!name_is_subdomain(owner, len, z->apex, z->apex_len)) {
		char o[200];

		name_to_str(owner, o, sizeof(o));
		snprintf(why, whylen, "%s is outside the zone %s", o, z->name);
		return -EINVAL;
	}
	n = node_get(z, owner, len);
	if (!n)
		return -ENOMEM;
	if (type == LDNS_RR_TYPE_RRSIG) {
		ldns_rdf *tc = ldns_rr_rrsig_typecovered(rr);

		if (!tc) {
			snprintf(why, whylen, "RRSIG without a type covered");
			return -EINVAL;
		}
		s = rrset_get(n, ldns_rdf2rr_type(tc));
		if (!s)
			return -ENOMEM;
		if (!s->sigs && !(s->sigs = ldns_rr_list_new()))
			return -ENOMEM;
		if (!ldns_rr_list_push_rr(s->sigs, rr))
			return -ENOMEM;
		z->signed_zone = 1;
		z->n_records++;
		return 0;
	}
	if (type == LDNS_RR_TYPE_SOA && len != z->apex_len) {
		snprintf(why, whylen, "SOA record not at the zone apex");
		return -EINVAL;
	}
	s = rrset_get(n, type);
	if (!s)
		return -ENOMEM;
	if (type == LDNS_RR_TYPE_SOA && ldns_rr_list_rr_count(s->rrs) > 0) {
		snprintf(why, whylen, "more than one SOA record");
		return -EINVAL;
	}
	/* identical records are one record (RFC 2181 5.2) */
	{
		size_t i;

		for (i = 0; i < ldns_rr_list_rr_count(s->rrs); i++)
			if (!ldns_rr_compare(ldns_rr_list_rr(s->rrs, i), rr)) {
				ldns_rr_free(rr);
				return 0;
			}
	}
	if (!ldns_rr_list_push_rr(s->rrs, rr))
		return -ENOMEM;
	z->n_records++;
	return 0;
}

/* Every ancestor of every owner, up to the apex, exists (empty
 * non-terminals). Rrsets that only hold signatures are counted too. */
static int zone_finish(struct zone *z, char *why, size_t whylen)
{
	size_t i, total = z->mask + 1;
	struct node *apex;
	struct rrset *soa;
	uint8_t (*names)[256];
	size_t n_names = 0;

	apex = zone_find(z, z->apex, z->apex_len);
	soa = apex ? node_rrset(apex, LDNS_RR_TYPE_SOA) : NULL;
	if (!soa || ldns_rr_list_rr_count(soa->rrs) != 1) {
		snprintf(why, whylen, "no SOA record at the zone apex %s", z->name);
		return -EINVAL;
	}
	z->soa = ldns_rr_list_rr(soa->rrs, 0);
	z->serial = ldns_rdf2native_int32(ldns_rr_rdf(z->soa, 2));

	names = malloc(z->n_nodes * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (i = 0; i < total; i++) {
		struct node *n = &z->nodes[i];

		if (!n->name)
			continue;
		memcpy(names[n_names++], n->name, n->len);
		z->n_rrsets += n->n_sets;
	}
	for (i = 0; i < n_names; i++) {
		uint8_t *nm = names[i];
		size_t len = name_wire_len(nm), off = 0;

		while (len - off > z->apex_len) {
			off += nm[off] + 1;
			if (zone_find(z, nm + off, len - off))
				break; /* its ancestors were added with it */
			if (!node_get(z, nm + off, len - off)) {
				free(names);
				return -ENOMEM;
			}
		}
	}
	free(names);
	return 0;
}

int zone_load_file(const char *file, const char *origin, struct zone **out,
		   char *err, size_t errlen)
{
	ldns_rdf *orig = NULL, *cur_origin = NULL, *prev = NULL;
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
		int start = line;
		ldns_status st;

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
		r = zone_add(z, rr, why, sizeof(why));
		if (r) {
			ldns_rr_free(rr);
			snprintf(err, errlen, "%s:%d: %s", file, start, why);
			goto out;
		}
	}
	r = zone_finish(z, why, sizeof(why));
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
