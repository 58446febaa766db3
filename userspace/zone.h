/* A zone in memory: parsed from a file with ldns, indexed by canonical
 * owner name, with empty non-terminals. Immutable once loaded. */
#ifndef XDPNS_ZONE_H
#define XDPNS_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <ldns/ldns.h>

struct rrset {
	uint16_t type;
	uint8_t dedupe_later; /* big set: duplicates removed at finish */
	ldns_rr_list *rrs; /* owned */
	ldns_rr_list *sigs; /* RRSIGs covering type, owned, may be NULL */
};

struct node {
	uint8_t *name; /* canonical wire name (owned unless borrowed) */
	uint8_t len;
	uint8_t borrowed; /* name and sets belong to the zone this one was
			   * cloned from (zone_clone_unfinished) */
	struct rrset *sets;
	uint32_t n_sets; /* up to every type (65536) */
	uint32_t cap;
};

/* An NSEC3 record set, by the hash its owner's first label encodes. */
struct nsec3_entry {
	uint8_t hash[20];
	struct node *node; /* rrset NSEC3 with its RRSIGs */
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
	/* DNSSEC denial: NSEC owners in canonical order; NSEC3 records kept
	 * apart from the namespace (their owners are not names of the zone)
	 * and sorted by hash; the parameters from the apex NSEC3PARAM. */
	struct node **nsec; /* nodes holding an NSEC, canonical order */
	size_t n_nsec;
	struct node *n3nodes; /* hash table of NSEC3 owners */
	size_t n3mask, n_n3nodes;
	struct nsec3_entry *nsec3;
	size_t n_nsec3;
	int nsec3_ok; /* NSEC3PARAM found, SHA-1 */
	uint16_t nsec3_iterations;
	uint8_t nsec3_salt_len;
	uint8_t nsec3_salt[255];
	int borrows; /* some nodes are borrowed: free with zone_free_into() */
};

/* Parse FILE as zone ORIGIN (presentation form). On error returns -EINVAL
 * or -errno with "file:line: problem" in err; *out untouched. */
int zone_load_file(const char *file, const char *origin, struct zone **out,
		   char *err, size_t errlen);
void zone_free(struct zone *z);

/* Building a zone record by record (transfers): zone_new(), then
 * zone_add_rr() (takes rr on success) and zone_del_rr() (-ENOENT when
 * the record is not there), then zone_finalize() once (checks the SOA,
 * adds empty non-terminals, indexes). zone_clone_unfinished() copies a
 * finished zone's records into a new unfinished one (the base of IXFR). */
struct zone *zone_new(const char *origin);
int zone_add_rr(struct zone *z, ldns_rr *rr, char *why, size_t whylen);
int zone_del_rr(struct zone *z, ldns_rr *rr);
int zone_finalize(struct zone *z, char *why, size_t whylen);
struct zone *zone_clone_unfinished(const struct zone *src);
/* Free old, which heir was cloned from, except the nodes heir still
 * borrows: those become heir's own. Plain zone_free() when heir borrows
 * nothing. */
void zone_free_into(struct zone *old, struct zone *heir);
/* Every record, the SOA first; stops at fn's first non-zero return. */
int zone_foreach_rr(const struct zone *z,
		    int (*fn)(const ldns_rr *rr, void *arg), void *arg);
/* Presentation format, written to a temporary file then renamed. */
int zone_write_file(const struct zone *z, const char *path);
/* The same, given up (-ECANCELED, nothing renamed) once *cancel is set. */
int zone_write_file_cancel(const struct zone *z, const char *path,
			   volatile int *cancel);

/* Lookups by canonical wire name. */
struct node *zone_find(const struct zone *z, const uint8_t *name, size_t len);
struct rrset *node_rrset(const struct node *n, uint16_t type);
/* SOA MINIMUM and TTL for negative answers: min(SOA TTL, MINIMUM). */
uint32_t zone_neg_ttl(const struct zone *z);

/* DNSSEC canonical order of two canonical wire names (RFC 4034 6.1). */
int name_canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* The NSEC whose owner is the greatest <= name (wrapping to the last);
 * NULL in a zone without NSEC. exact says whether it is name itself. */
struct node *zone_nsec_find(const struct zone *z, const uint8_t *name,
			    size_t len, int *exact);
/* NSEC3 hash of a canonical name with the zone's parameters; then the
 * NSEC3 matching it (exact) or covering it. NULL without NSEC3. */
int zone_nsec3_hash(const struct zone *z, const uint8_t *name, size_t len,
		    uint8_t hash[20]);
struct node *zone_nsec3_find(const struct zone *z, const uint8_t hash[20],
			     int *exact);

/* Hash of a canonical wire name (FNV-1a), shared by the tables. */
uint64_t name_hash(const uint8_t *name, size_t len);

#endif
