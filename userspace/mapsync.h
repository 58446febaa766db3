/* Map sync: compiles a zone's answers into the XDP maps as a new
 * generation beside the served one, then makes it visible with one flip
 * (a single store of the zone's generation). Blobs are deduplicated and
 * freed only after a grace period, so a reader never sees them change. */
#ifndef XDPNS_MAPSYNC_H
#define XDPNS_MAPSYNC_H

#include <stddef.h>
#include <stdint.h>
#include "xdpns_maps.h"
#include "engine.h"
#include "nxsync.h"

#define MAPSYNC_GRACE_MS 50 /* before a retired blob slot is reused */

struct mapsync_fds {
	/* hashes by XDPNS_KEYCLASS(name_len): the overflow of the tables
	 * (classes 0 and 1) and the longer names */
	int entries[XDPNS_KEYCLASS_COUNT];
	/* the entries tables (names up to 32 and 64 bytes), mapped: slots,
	 * of which home slots (the rest is the last probe's run) */
	uint8_t *table_mem[XDPNS_TABLE_CLASSES];
	uint32_t n_table[XDPNS_TABLE_CLASSES], table_home[XDPNS_TABLE_CLASSES];
	int zones;
	int lru_short, lru_long; /* slow-path answers; -1: none */
	/* blob arrays by enum xdpns_blob_class (0 unused): fd, size, and the
	 * array mapped (BPF_F_MMAPABLE), where bodies are written in place */
	int blob[XDPNS_BLOB_CLASSES];
	uint32_t n_blob[XDPNS_BLOB_CLASSES];
	uint8_t *blob_mem[XDPNS_BLOB_CLASSES];
	struct nxsync_fds nx; /* NXDOMAIN in XDP; nx.nx < 0: none */
};

/* Keys the zones will compile to, counted before the maps are made so
 * they can be sized (loader_open). */
struct mapsync_sizes {
	uint64_t keys[XDPNS_KEYCLASS_COUNT]; /* by name-length class */
	uint64_t names[XDPNS_KEYCLASS_COUNT]; /* nodes (owners and empty
					       * non-terminals), by class */
	/* response bodies by blob class (index = enum xdpns_blob_class),
	 * estimated from the RRsets' sizes: every zone's, and the largest
	 * one zone needs (a whole-zone change is written beside it) */
	uint64_t blobs[XDPNS_BLOB_CLASSES];
	uint64_t zone_blobs_max[XDPNS_BLOB_CLASSES];
	uint64_t extra_keys; /* room asked for (server.map-keys): names of up
			      * to 64 bytes, any of the two short classes */
};
/* Add z's keys and estimated bodies to sz. */
void mapsync_count(const struct zone *z, struct mapsync_sizes *sz);

struct mapsync_stats {
	uint64_t lru_inserts; /* slow-path answers offered to XDP */
	uint64_t entries; /* keys in the maps */
	uint64_t entries_overflow; /* of those, in a table's overflow hash */
	uint64_t blobs[XDPNS_BLOB_CLASSES]; /* live blobs per class (index = class) */
	uint64_t blob_bytes; /* value bytes of live blobs */
	uint64_t publishes;
	uint64_t last_publish_us;
	uint64_t last_compiled; /* keys compiled by the last publish */
	uint64_t last_written; /* entries it wrote (changed, new, dropped) */
	uint64_t names; /* names for NXDOMAIN in XDP (nxsync) */
	uint64_t nx_zones; /* zones whose NXDOMAIN XDP makes */
	uint64_t last_names_written; /* names the last publish wrote */
	uint64_t last_names_find_us; /* time it took to find them */
	uint64_t last_names_write_us; /* and to write them */
};

struct mapsync;

int mapsync_new(const struct mapsync_fds *fds, struct mapsync **out);
void mapsync_free(struct mapsync *ms);

/* Compile every answer of ez (names where ez is the authoritative zone of
 * e) into the maps and flip ez->slot to it. On failure nothing served
 * changes. */
int mapsync_publish(struct mapsync *ms, const struct engine *e,
		    const struct engine_zone *ez);
/* The same after a change to a few names (an IXFR): old is the zone ez
 * replaces, names the owners the change added or deleted records at, and
 * the names whose answers depend on them (mapsync_affected). Only their
 * keys are compiled and only what changed is written; every other entry
 * keeps answering across the flip. */
int mapsync_publish_names(struct mapsync *ms, const struct engine *e,
			  const struct engine_zone *ez, const struct zone *old,
			  const uint8_t *const *names, size_t n_names);
/* Offer an answer the slow path computed for (name, qtype, DO) in zone
 * ez to the XDP LRU. Valid until the zone's next generation. Answers too
 * big for an LRU value are not cached. Returns 0, 1 when not cached, or
 * -errno. */
int mapsync_cache(struct mapsync *ms, const struct engine_zone *ez,
		  const uint8_t *name, size_t len, uint16_t qtype, int dnssec_ok,
		  const struct answer *a);

/* What XDP would find for (name, qtype, DO): the operator's first
 * debugging step (`xdpns lookup`). */
struct mapsync_probe {
	int found; /* an entry (or LRU answer) valid for the zone's generation */
	int from_lru;
	int from_nx; /* no entry: XDP answers NXDOMAIN (nxsync.c) */
	size_t nx_encloser_at; /* offset in the name of its closest encloser */
	long nx_slot; /* the encloser's slot in its names table; -1: a hash */
	int stale; /* an entry exists but for another generation */
	long slot; /* the entry's slot in its table, or -1 */
	uint32_t probe; /* how far that slot is from the key's home */
	int overflow; /* in the overflow hash of its table's class */
	uint32_t zone, gen;
	enum xdpns_blob_class cls;
	struct xdpns_blob_hdr hdr; /* flags, counts, body length, cuts */
};
int mapsync_probe(struct mapsync *ms, const uint8_t *name, size_t len,
		  uint16_t qtype, int dnssec_ok, struct mapsync_probe *out);

/* The entry the maps hold for (name, qtype), wherever it is (its table
 * slot or a hash): 0, or -ENOENT. For tests and debugging. */
int mapsync_entry(struct mapsync *ms, const uint8_t *name, size_t len,
		  uint16_t qtype, struct xdpns_entry *out);

/* Stop serving slot from XDP and free what it used. */
int mapsync_remove(struct mapsync *ms, uint32_t slot);
/* Set zone flags (XDPNS_ZONE_F_*) without changing its data. */
int mapsync_set_flags(struct mapsync *ms, uint32_t slot, uint32_t flags);
uint32_t mapsync_generation(const struct mapsync *ms, uint32_t slot);
uint64_t mapsync_zone_entries(const struct mapsync *ms, uint32_t slot);
/* NXDOMAIN in XDP for slot's served generation: names written, and
 * whether XDP makes its NXDOMAIN (-1: no synthesis in this build). */
uint64_t mapsync_zone_names(const struct mapsync *ms, uint32_t slot);
int mapsync_zone_nx(const struct mapsync *ms, uint32_t slot);
void mapsync_get_stats(const struct mapsync *ms, struct mapsync_stats *st);

/* Build the blob for an answer (exposed for tests). */
int mapsync_blob_from_answer(const struct answer *a, struct xdpns_blob_l *b,
			     enum xdpns_blob_class *cls, size_t *value_size);
/* The XS form of an S blob whose body fits XDPNS_BLOB_XS_CAP (0), or -1. */
int mapsync_blob_xs(const struct xdpns_blob_l *b, struct xdpns_blob_xs *x,
		    size_t *value_size);
/* The canonical key for (name, type). */
void mapsync_key(struct xdpns_key *k, const uint8_t *name, size_t len,
		 uint16_t qtype);

#endif
