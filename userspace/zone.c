#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

static struct node *table_slot(struct node *nodes, size_t mask,
			       const uint8_t *name, size_t len)
{
	size_t i = table_index(name_hash(name, len), mask);

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
	uint32_t i;

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
			*table_slot(nodes, size - 1, o->name, o->len) = *o;
	}
	free(*tab);
	*tab = nodes;
	*mask = size - 1;
	return 0;
}

static struct node *table_get(struct node **tab, size_t *mask, size_t *count,
			      const uint8_t *name, size_t len)
{
	struct node *n;

	if (!*tab || (*count + 1) * 4 > (*mask + 1) * 3)
		if (table_grow(tab, mask))
			return NULL;
	n = table_slot(*tab, *mask, name, len);
	if (!n->name) {
		n->name = malloc(len);
		if (!n->name)
			return NULL;
		memcpy(n->name, name, len);
		n->len = len;
		(*count)++;
	}
	return n;
}

/* Make a borrowed node this zone's own before changing it: its name and
 * record sets are copied (the zone it came from still serves them). */
static int node_own(struct node *n)
{
	uint8_t *name;
	struct rrset *sets = NULL;
	uint32_t j;

	if (!n->borrowed)
		return 0;
	name = malloc(n->len);
	if (!name)
		return -ENOMEM;
	memcpy(name, n->name, n->len);
	if (n->n_sets && !(sets = calloc(n->n_sets, sizeof(*sets)))) {
		free(name);
		return -ENOMEM;
	}
	for (j = 0; j < n->n_sets; j++) {
		sets[j].type = n->sets[j].type;
		sets[j].rrs = ldns_rr_list_clone(n->sets[j].rrs);
		sets[j].sigs = n->sets[j].sigs ? ldns_rr_list_clone(n->sets[j].sigs) : NULL;
		if (!sets[j].rrs || (n->sets[j].sigs && !sets[j].sigs)) {
			for (; ; j--) {
				ldns_rr_list_deep_free(sets[j].rrs);
				ldns_rr_list_deep_free(sets[j].sigs);
				if (!j)
					break;
			}
			free(sets);
			free(name);
			return -ENOMEM;
		}
	}
	n->name = name;
	n->sets = sets;
	n->cap = n->n_sets;
	n->borrowed = 0;
	return 0;
}

static struct node *node_get(struct zone *z, const uint8_t *name, size_t len)
{
	return table_get(&z->nodes, &z->mask, &z->n_nodes, name, len);
}

static struct rrset *rrset_get(struct node *n, uint16_t type)
{
	struct rrset *s = node_rrset(n, type);

	if (s)
		return s;
	if (n->n_sets == n->cap) {
		uint32_t cap = n->cap ? n->cap * 2 : 2;
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

static void table_free(struct node *tab, size_t mask)
{
	size_t i;
	uint32_t j;

	for (i = 0; tab && i <= mask; i++) {
		struct node *n = &tab[i];

		if (!n->name || n->borrowed)
			continue;
		for (j = 0; j < n->n_sets; j++) {
			ldns_rr_list_deep_free(n->sets[j].rrs);
			if (n->sets[j].sigs)
				ldns_rr_list_deep_free(n->sets[j].sigs);
		}
		free(n->sets);
		free(n->name);
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

#define ZONE_DEDUPE_LATER 64

static int rr_ptr_cmp(const void *a, const void *b)
{
	return ldns_rr_compare(*(ldns_rr *const *)a, *(ldns_rr *const *)b);
}

/* Sort a big set and drop its duplicates; returns how many went. The
 * order of records in an RRset carries no meaning (RFC 2181 5). */
static size_t rr_list_dedupe(ldns_rr_list *l)
{
	size_t n = ldns_rr_list_rr_count(l), i, k = 0;
	ldns_rr **v;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return 0;
	for (i = 0; i < n; i++)
		v[i] = ldns_rr_list_rr(l, i);
	qsort(v, n, sizeof(*v), rr_ptr_cmp);
	for (i = 0; i < n; i++) {
		if (k && !ldns_rr_compare(v[k - 1], v[i])) {
			ldns_rr_free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	for (i = 0; i < k; i++)
		ldns_rr_list_set_rr(l, v[i], i);
	ldns_rr_list_set_rr_count(l, k);
	free(v);
	return n - k;
}

static int rr_list_has(const ldns_rr_list *l, const ldns_rr *rr)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (!ldns_rr_compare(ldns_rr_list_rr(l, i), rr))
			return 1;
	return 0;
}

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

		if (!n->sets[i].rrs || !ldns_rr_list_rr_count(n->sets[i].rrs) ||
		    t == type || cname_companion(t))
			continue;
		if (t == LDNS_RR_TYPE_CNAME || type == LDNS_RR_TYPE_CNAME)
			return 1;
	}
	return 0;
}

/* Names in record data are served lowercased, as Knot does (they compare
 * equal either way, RFC 4343); not NSEC's next name, which is signed as
 * it is (RFC 6840 5.1). */
static void rr_normalize(ldns_rr *rr)
{
	size_t i;

	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC)
		return;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		ldns_rdf *rdf = ldns_rr_rdf(rr, i);

		if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME)
			name_lower(ldns_rdf_data(rdf), ldns_rdf_data(rdf),
				   ldns_rdf_size(rdf));
	}
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
	rr_normalize(rr);
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
	if (type == LDNS_RR_TYPE_NSEC3 ||
	    (type == LDNS_RR_TYPE_RRSIG && ldns_rr_rrsig_typecovered(rr) &&
	     ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) ==
		     LDNS_RR_TYPE_NSEC3))
		n = table_get(&z->n3nodes, &z->n3mask, &z->n_n3nodes, owner, len);
	else
		n = node_get(z, owner, len);
	if (!n || node_own(n))
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
		if (rr_list_has(s->sigs, rr)) {
			ldns_rr_free(rr);
			return 0;
		}
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
	if (cname_conflict(n, type)) {
		snprintf(why, whylen, "CNAME and other data at one name (RFC 2181 10.1)");
		return -EINVAL;
	}
	s = rrset_get(n, type);
	if (!s)
		return -ENOMEM;
	if (type == LDNS_RR_TYPE_SOA && ldns_rr_list_rr_count(s->rrs) > 0) {
		snprintf(why, whylen, "more than one SOA record");
		return -EINVAL;
	}
	/* identical records are one record (RFC 2181 5.2): checked at once
	 * in small sets, by sorting at finish in big ones (linear load) */
	if (ldns_rr_list_rr_count(s->rrs) >= ZONE_DEDUPE_LATER)
		s->dedupe_later = 1;
	else if (rr_list_has(s->rrs, rr)) {
		ldns_rr_free(rr);
		return 0;
	}
	if (type == LDNS_RR_TYPE_CNAME && ldns_rr_list_rr_count(s->rrs)) {
		snprintf(why, whylen, "more than one CNAME at one name");
		return -EINVAL;
	}
	if (!ldns_rr_list_push_rr(s->rrs, rr))
		return -ENOMEM;
	z->n_records++;
	return 0;
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

/* NSEC order and the NSEC3 index (a zone may have neither). */
static int zone_index_denial(struct zone *z)
{
	struct node *apex = zone_find(z, z->apex, z->apex_len);
	struct rrset *param = apex ? node_rrset(apex, LDNS_RR_TYPE_NSEC3PARAM) : NULL;
	size_t i;

	z->nsec = malloc((z->n_nodes + 1) * sizeof(*z->nsec));
	if (!z->nsec)
		return -ENOMEM;
	for (i = 0; i <= z->mask; i++) {
		struct node *n = &z->nodes[i];
		struct rrset *s = n->name ? node_rrset(n, LDNS_RR_TYPE_NSEC) : NULL;

		if (s && s->rrs && ldns_rr_list_rr_count(s->rrs))
			z->nsec[z->n_nsec++] = n;
	}
	qsort(z->nsec, z->n_nsec, sizeof(*z->nsec), nsec_node_cmp);

	if (param && param->rrs && ldns_rr_list_rr_count(param->rrs)) {
		const ldns_rr *p = ldns_rr_list_rr(param->rrs, 0);
		const ldns_rdf *salt = ldns_rr_rdf(p, 3);

		if (ldns_rdf2native_int8(ldns_rr_rdf(p, 0)) == 1 && salt &&
		    ldns_rdf_size(salt) >= 1 &&
		    ldns_rdf_size(salt) - 1 == ldns_rdf_data(salt)[0]) {
			z->nsec3_ok = 1;
			z->nsec3_iterations = ldns_rdf2native_int16(ldns_rr_rdf(p, 2));
			z->nsec3_salt_len = ldns_rdf_data(salt)[0];
			memcpy(z->nsec3_salt, ldns_rdf_data(salt) + 1,
			       z->nsec3_salt_len);
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

	for (d = 0; z->nodes && d <= z->mask; d++) {
		struct node *n = &z->nodes[d];
		uint32_t j;

		for (j = 0; n->name && !n->borrowed && j < n->n_sets; j++)
			if (n->sets[j].dedupe_later) {
				z->n_records -= rr_list_dedupe(n->sets[j].rrs);
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
	uint8_t **names; /* node names stay put when the table grows */
	size_t n_names = 0;

	zone_dedupe(z);
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
		if (all_names || !n->borrowed)
			names[n_names++] = n->name;
		z->n_rrsets += n->n_sets;
	}
	for (i = 0; i < n_names; i++) {
		const uint8_t *nm = names[i];
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
	return zone_index_denial(z);
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
		ldns_status st;
		int start;

		skip_blank_lines(fp, &line);
		start = line;

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
	return zone_add(z, rr, why, whylen);
}

static int rr_list_remove(ldns_rr_list *l, const ldns_rr *rr)
{
	size_t i, n = ldns_rr_list_rr_count(l);

	for (i = 0; i < n; i++) {
		ldns_rr *x = ldns_rr_list_rr(l, i);

		if (ldns_rr_compare(x, rr))
			continue;
		ldns_rr_list_set_rr(l, ldns_rr_list_rr(l, n - 1), i);
		ldns_rr_list_set_rr_count(l, n - 1);
		ldns_rr_free(x);
		return 0;
	}
	return -ENOENT;
}

int zone_del_rr(struct zone *z, ldns_rr *rr)
{
	uint8_t owner[256];
	size_t len = rr_owner(rr, owner);
	uint16_t type = ldns_rr_get_type(rr);
	struct node *n;
	struct rrset *s;
	int nsec3;

	if (!len)
		return -EINVAL;
	rr_normalize(rr);
	if (type == LDNS_RR_TYPE_RRSIG && !ldns_rr_rrsig_typecovered(rr))
		return -EINVAL;
	nsec3 = type == LDNS_RR_TYPE_NSEC3 ||
		(type == LDNS_RR_TYPE_RRSIG &&
		 ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) ==
			 LDNS_RR_TYPE_NSEC3);
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
		s = node_rrset(n, ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)));
		if (!s || !s->sigs || rr_list_remove(s->sigs, rr))
			return -ENOENT;
	} else {
		s = node_rrset(n, type);
		if (!s || rr_list_remove(s->rrs, rr))
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
			if (!ldns_rr_list_rr_count(o->sets[j].rrs) &&
			    !(o->sets[j].sigs && ldns_rr_list_rr_count(o->sets[j].sigs)))
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
				*table_slot(nodes, size - 1, o->name, o->len) = *o;
				(*count)++;
			}
			continue;
		}
		for (j = 0, k = 0; j < o->n_sets; j++) {
			struct rrset *st = &o->sets[j];

			if (ldns_rr_list_rr_count(st->rrs) ||
			    (st->sigs && ldns_rr_list_rr_count(st->sigs))) {
				o->sets[k++] = *st;
				continue;
			}
			ldns_rr_list_deep_free(st->rrs);
			if (st->sigs)
				ldns_rr_list_deep_free(st->sigs);
		}
		o->n_sets = k;
		if (!k) {
			free(o->sets);
			free(o->name);
			continue;
		}
		*table_slot(nodes, size - 1, o->name, o->len) = *o;
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

int zone_foreach_rr(const struct zone *z, int (*fn)(const ldns_rr *rr, void *arg),
		    void *arg)
{
	const struct node *tabs[2] = { z->nodes, z->n3nodes };
	size_t masks[2] = { z->mask, z->n3mask };
	int t, r;

	if (z->soa && (r = fn(z->soa, arg)))
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
				size_t k;

				for (k = 0; k < ldns_rr_list_rr_count(st->rrs); k++) {
					const ldns_rr *rr = ldns_rr_list_rr(st->rrs, k);

					if (rr != z->soa && (r = fn(rr, arg)))
						return r;
				}
				for (k = 0; st->sigs &&
					    k < ldns_rr_list_rr_count(st->sigs); k++)
					if ((r = fn(ldns_rr_list_rr(st->sigs, k), arg)))
						return r;
			}
		}
	}
	return 0;
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
		h = table_slot(heir, hmask, o->name, o->len);
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

static int write_one(const ldns_rr *rr, void *arg)
{
	struct write_ctx *w = arg;

	if (w->cancel && *w->cancel)
		return -ECANCELED;
	ldns_buffer_clear(w->buf);
	if (ldns_rr2buffer_str(w->buf, rr) != LDNS_STATUS_OK)
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
