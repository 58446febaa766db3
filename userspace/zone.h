/* A zone in memory, compact: each RRset's records (and its RRSIGs) in one
 * allocation of uncompressed wire rdata, each node's record sets and name
 * in one more; indexed by canonical owner name, with empty non-terminals.
 * ldns only parses (zone files, transfers) and prints (zone_write_file):
 * no ldns object lives as long as a zone. Immutable once finished. */
#ifndef XDPNS_ZONE_H
#define XDPNS_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <ldns/ldns.h>

/* The records of an RRset, or its RRSIGs: one allocation. Each record is
 * [ttl (4 bytes, only when ttls)] rdlen (2, host order) rdata (wire,
 * uncompressed; names lowercased except NSEC's next name). */
struct rdset {
	uint32_t size; /* bytes used in data[] */
	uint32_t count; /* records */
	uint32_t ttl; /* every record's TTL, unless ttls */
	uint8_t ttls; /* the records' TTLs differ: each carries its own */
	uint8_t pad[3];
	uint8_t data[];
};

/* One record of an rdset, as rdset_next() yields it. */
struct rr_ref {
	uint32_t ttl;
	uint16_t len;
	const uint8_t *rdata; /* inside the rdset: its address is the record's
			       * identity while the zone lives */
};

static inline uint32_t rdset_count(const struct rdset *s)
{
	return s ? s->count : 0;
}

/* The record at *pos (0 for the first), advancing *pos; 0 at the end. */
int rdset_next(const struct rdset *s, uint32_t *pos, struct rr_ref *rr);
/* The first record; 0 when there is none. */
int rdset_first(const struct rdset *s, struct rr_ref *rr);

struct rrset {
	uint16_t type;
	uint8_t dedupe_later; /* big set: duplicates removed at finish */
	struct rdset *rrs; /* owned, NULL: no records */
	struct rdset *sigs; /* RRSIGs covering type, owned, may be NULL */
};

struct node {
	uint8_t *name; /* canonical wire name, in the node's allocation */
	uint8_t len;
	uint8_t borrowed; /* name and sets belong to the zone this one was
			   * cloned from (zone_clone_unfinished) */
	uint8_t cased; /* the owner as first written (it had capitals)
			* follows name: node_owner() */
	uint32_t hash; /* of name (table probes compare it first) */
	struct rrset *sets; /* the node's one allocation: sets[cap], then
			     * name (and the cased owner) */
	uint32_t n_sets; /* up to every type (65536) */
	uint32_t cap;
};

/* The owner name records of n are written with (its case as loaded). */
static inline const uint8_t *node_owner(const struct node *n)
{
	return n->cased ? n->name + n->len : n->name;
}

/* Where a type's rdata holds domain names (RFC 1035 and later types):
 * up to RDATA_MAX_NAMES offsets of names that lie whole inside rd, in
 * order; returns how many (0 for types without names). */
#define RDATA_MAX_NAMES 2
int rdata_names(uint16_t type, const uint8_t *rd, size_t len,
		uint16_t off[RDATA_MAX_NAMES]);
/* Types whose rdata names may be compressed (RFC 3597 section 4). */
int rdata_compressible(uint16_t type);
/* The name additional-section processing follows (NS, CNAME, MX, SRV):
 * its offset in rr's rdata, or -1. */
int rdata_target(uint16_t type, const struct rr_ref *rr);

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
	const uint8_t *soa; /* the SOA's rdata, in the apex rrset */
	uint16_t soa_len;
	uint32_t soa_ttl;
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
	int base_no_nsec; /* cloned from a zone without NSEC: its borrowed
			   * nodes hold none (the index scans only the rest) */
	int dedupe_pending; /* some set has dedupe_later */
};

/* Parse FILE as zone ORIGIN (presentation form). On error returns -EINVAL
 * or -errno with "file:line: problem" in err; *out untouched. */
int zone_load_file(const char *file, const char *origin, struct zone **out,
		   char *err, size_t errlen);
void zone_free(struct zone *z);

/* Building a zone record by record (transfers): zone_new(), then
 * zone_add_rr() (copies rr, frees it on success) and zone_del_rr()
 * (-ENOENT when the record is not there), then zone_finalize() once
 * (checks the SOA, adds empty non-terminals, indexes).
 * zone_clone_unfinished() makes a new unfinished zone that borrows a
 * finished zone's nodes (the base of IXFR). */
struct zone *zone_new(const char *origin);
int zone_add_rr(struct zone *z, ldns_rr *rr, char *why, size_t whylen);
/* The same, rr left to the caller. */
int zone_add_rr_copy(struct zone *z, const ldns_rr *rr, char *why,
		     size_t whylen);
int zone_del_rr(struct zone *z, const ldns_rr *rr);
int zone_finalize(struct zone *z, char *why, size_t whylen);
struct zone *zone_clone_unfinished(const struct zone *src);
/* Free old, which heir was cloned from, except the nodes heir still
 * borrows: those become heir's own. Plain zone_free() when heir borrows
 * nothing. */
void zone_free_into(struct zone *old, struct zone *heir);
/* Every record, the SOA first (owner as node_owner(), type, record);
 * stops at fn's first non-zero return. */
int zone_foreach_rr(const struct zone *z,
		    int (*fn)(const uint8_t *owner, uint16_t type,
			      const struct rr_ref *rr, void *arg),
		    void *arg);
/* A record as a new ldns_rr (to print it, or send the SOA): NULL when
 * out of memory or ldns cannot read it. The caller frees it. */
ldns_rr *zone_rr_to_ldns(const uint8_t *owner, uint16_t type,
			 const struct rr_ref *rr);
/* The SOA as a new ldns_rr (IXFR requests carry it). */
ldns_rr *zone_soa_ldns(const struct zone *z);
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
/* The SOA's numbers by field (2 serial, 3 refresh, 4 retry, 5 expire,
 * 6 minimum); 0 without a SOA. */
uint32_t zone_soa_u32(const struct zone *z, int field);
/* The SOA's MNAME (k 0) or RNAME (k 1), canonical, into out: its
 * length, 0 without a SOA. */
size_t zone_soa_name(const struct zone *z, int k, uint8_t out[256]);

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
