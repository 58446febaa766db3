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
	int entries[XDPNS_KEYCLASS_COUNT]; /* by XDPNS_KEYCLASS(name_len) */
	int zones, blob_s, blob_m, blob_l;
	int lru_short, lru_long; /* slow-path answers; -1: none */
	uint32_t n_blob_s, n_blob_m, n_blob_l; /* map sizes */
	struct nxsync_fds nx; /* NXDOMAIN in XDP; nx.nx < 0: none */
};

struct mapsync_stats {
	uint64_t lru_inserts; /* slow-path answers offered to XDP */
	uint64_t entries; /* keys in the maps */
	uint64_t blobs[4]; /* live blobs per class (index = class) */
	uint64_t blob_bytes; /* value bytes of live blobs */
	uint64_t publishes;
	uint64_t last_publish_us;
	uint64_t names; /* names for NXDOMAIN in XDP (nxsync) */
	uint64_t nx_zones; /* zones whose NXDOMAIN XDP makes */
};

struct mapsync;

int mapsync_new(const struct mapsync_fds *fds, struct mapsync **out);
void mapsync_free(struct mapsync *ms);

/* Compile every answer of ez (names where ez is the authoritative zone of
 * e) into the maps and flip ez->slot to it. On failure nothing served
 * changes. */
int mapsync_publish(struct mapsync *ms, const struct engine *e,
		    const struct engine_zone *ez);
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
	int stale; /* an entry exists but for another generation */
	uint32_t zone, gen;
	enum xdpns_blob_class cls;
	struct xdpns_blob_hdr hdr; /* flags, counts, body length, cuts */
};
int mapsync_probe(struct mapsync *ms, const uint8_t *name, size_t len,
		  uint16_t qtype, int dnssec_ok, struct mapsync_probe *out);

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
/* The canonical key for (name, type). */
void mapsync_key(struct xdpns_key *k, const uint8_t *name, size_t len,
		 uint16_t qtype);

#endif
