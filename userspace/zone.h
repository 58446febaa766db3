/* A zone in memory: parsed from a file with ldns, indexed by canonical
 * owner name, with empty non-terminals. Immutable once loaded. */
#ifndef XDPNS_ZONE_H
#define XDPNS_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <ldns/ldns.h>

struct rrset {
	uint16_t type;
	ldns_rr_list *rrs; /* owned */
	ldns_rr_list *sigs; /* RRSIGs covering type, owned, may be NULL */
};

struct node {
	uint8_t *name; /* canonical wire name (owned) */
	uint8_t len;
	struct rrset *sets;
	uint16_t n_sets;
	uint16_t cap;
};

struct zone {
	uint8_t apex[256]; /* canonical wire name */
	size_t apex_len;
	char name[256]; /* presentation, trailing dot */
	struct node *nodes; /* hash table, open addressing */
	size_t n_nodes;
	size_t mask; /* table size - 1 */
	size_t n_records; /* resource records, RRSIGs included */
	size_t n_rrsets;
	uint32_t serial;
	int signed_zone; /* has RRSIGs */
	ldns_rr *soa; /* points into the apex rrset */
};

/* Parse FILE as zone ORIGIN (presentation form). On error returns -EINVAL
 * or -errno with "file:line: problem" in err; *out untouched. */
int zone_load_file(const char *file, const char *origin, struct zone **out,
		   char *err, size_t errlen);
void zone_free(struct zone *z);

/* Lookups by canonical wire name. */
struct node *zone_find(const struct zone *z, const uint8_t *name, size_t len);
struct rrset *node_rrset(const struct node *n, uint16_t type);
/* SOA MINIMUM and TTL for negative answers: min(SOA TTL, MINIMUM). */
uint32_t zone_neg_ttl(const struct zone *z);

/* Hash of a canonical wire name (FNV-1a), shared by the tables. */
uint64_t name_hash(const uint8_t *name, size_t len);

#endif
