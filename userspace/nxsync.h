/* NXDOMAIN synthesis in XDP: writes the names of each zone (with whether a
 * missing child is NXDOMAIN) and the zone's NXDOMAIN body into the XDP
 * maps as part of the zone's next generation; mapsync flips them with it. */
#ifndef XDPNS_NXSYNC_H
#define XDPNS_NXSYNC_H

#include <stddef.h>
#include <stdint.h>
#include "xdpns_maps.h"
#include "engine.h"

#define NXSYNC_GRACE_MS 50 /* after a flip, before the other half is written */

struct nxsync_fds {
	int names[XDPNS_KEYCLASS_COUNT]; /* by XDPNS_KEYCLASS(name length):
					  * hashes; for classes 0 and 1 the
					  * tables' overflow */
	/* the names tables (classes 0 and 1), mapped, as the entries' */
	uint8_t *table_mem[XDPNS_TABLE_CLASSES];
	uint32_t n_table[XDPNS_TABLE_CLASSES], table_home[XDPNS_TABLE_CLASSES];
	int nx; /* per zone and half: the NXDOMAIN body */
	int seq; /* bumped between names written and the flip */
};

struct nxsync_stats {
	uint64_t names; /* names in the maps (served generations) */
	uint64_t zones_synth; /* zones whose NXDOMAIN XDP makes */
	uint64_t last_written; /* names the last stage wrote */
	uint64_t last_find_us; /* its time to find them (the changes) */
	uint64_t last_write_us; /* and to write them */
};

struct nxsync;

int nxsync_new(const struct nxsync_fds *fds, struct nxsync **out);
void nxsync_free(struct nxsync *nx);

/* Before ez->slot flips to gen: write the names of ez->zone (those whose
 * zone in e is ez) that are new, go or change flags, as a half of gen,
 * and its NXDOMAIN body. After an IXFR (changed: its n_changed owners,
 * old: the zone before it) only the names those owners can reach are
 * looked at; otherwise every name, compared with the served ones. Never
 * fails the publish: on any error the generation makes no NXDOMAIN
 * (every query of the zone XDP cannot answer otherwise passes). */
void nxsync_stage(struct nxsync *nx, const struct engine *e,
		  const struct engine_zone *ez, uint32_t gen,
		  const struct zone *old, const uint8_t *const *changed,
		  size_t n_changed);
/* nxsync_stage in two steps: begin starts the work in a thread of its
 * own (the maps it writes cannot be seen before the flip), so the caller
 * can compile the entries meanwhile; end waits for it and writes what
 * must come last before the flip. e, ez, old and changed must stay valid
 * until end (or abort). */
void nxsync_stage_begin(struct nxsync *nx, const struct engine *e,
			const struct engine_zone *ez, uint32_t gen,
			const struct zone *old, const uint8_t *const *changed,
			size_t n_changed);
void nxsync_stage_end(struct nxsync *nx, uint32_t slot);
/* The flip happened: drop the names the new generation lacks. */
void nxsync_commit(struct nxsync *nx, uint32_t slot);
/* The flip did not happen: undo what the staged generation added. */
void nxsync_abort(struct nxsync *nx, uint32_t slot);
/* The zone is no longer served (its generation is already 0). */
void nxsync_remove(struct nxsync *nx, uint32_t slot);

/* What XDP's walk finds for a canonical name with no entry: the closest
 * name in the maps and whether XDP answers NXDOMAIN from it (as nx.h
 * decides, zone state included). zones_fd: the XDP zones map. */
struct nxsync_probe {
	int found; /* a suffix of the name is in the names maps */
	size_t at; /* its offset in the name */
	long slot; /* its slot in the names table of its class; -1: in a
		    * hash (a table's overflow, or a name over 64 bytes) */
	uint32_t zone, gen; /* its zone slot, the zone's generation */
	int synth; /* XDP answers NXDOMAIN */
	struct xdpns_blob_hdr hdr; /* that NXDOMAIN's header, when synth */
};
int nxsync_probe(const struct nxsync *nx, int zones_fd, const uint8_t *name,
		 size_t len, struct nxsync_probe *out);

/* Whether the served generation of slot makes NXDOMAIN in XDP, and how
 * many names it holds. */
int nxsync_zone_synth(const struct nxsync *nx, uint32_t slot);
uint64_t nxsync_zone_names(const struct nxsync *nx, uint32_t slot);
void nxsync_get_stats(const struct nxsync *nx, struct nxsync_stats *st);

#endif
