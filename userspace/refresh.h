/* Refresh of secondary zones (RFC 1996, RFC 1034 4.3.5): per-zone timers
 * from the SOA (refresh, retry, expire), at most one transfer job at a
 * time per zone, NOTIFY accepted from allowed remotes (and keys), the
 * timers kept on disk beside the zone. The daemon publishes the zones. */
#ifndef XDPNS_REFRESH_H
#define XDPNS_REFRESH_H

#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>
#include "config.h"
#include "xfr.h"
#include "zone.h"

#ifndef REFRESH_NO_DATA_RETRY_S
#define REFRESH_NO_DATA_RETRY_S 10 /* retry for a zone never transferred */
#endif

#define REFRESH_DUR_BUCKETS 8
/* upper bounds of the duration buckets, seconds (then +Inf) */
extern const double refresh_dur_le[REFRESH_DUR_BUCKETS];

struct refresh_stats {
	uint64_t ixfr, axfr, up_to_date; /* successful attempts by kind */
	uint64_t bytes; /* transfer message bytes */
	uint64_t last_duration_ms;
	uint64_t fails[XFR_R_COUNT];
	uint64_t notify_accepted, notify_refused;
	uint64_t key_fallbacks; /* a primary rejected a key, the next one tried */
	/* duration of transfers (IXFR, AXFR) as a histogram */
	uint64_t dur_bucket[REFRESH_DUR_BUCKETS]; /* <= refresh_dur_le[k] s */
	uint64_t dur_count;
	uint64_t dur_sum_ms;
};

struct refresh_zone {
	const struct config *cfg;
	const struct config_zone *cz;
	char zone_path[PATH_MAX]; /* where transfers are saved */
	char timers_path[PATH_MAX];
	struct xfr_job *job; /* running, or NULL */
	int pending; /* a refresh was asked while the job ran */
	int pending_force;
	uint64_t notified_us; /* a NOTIFY not yet answered by a job start */
	time_t next_refresh; /* wall clock; 0: now */
	time_t expire_at; /* 0: no data from a primary yet */
	time_t last_attempt, last_success;
	int last_primary; /* index into cz->primaries, -1: none */
	int key_idx[CONFIG_MAX_PRIMARIES]; /* per primary: the key that worked */
	uint32_t remote_serial;
	char last_error[300];
	struct refresh_stats st;
};

/* Paths and initial state; reads the timers file when there is one.
 * Returns 1 when the zone has saved data at zone_path. */
int refresh_init(struct refresh_zone *rz, const struct config *cfg,
		 const struct config_zone *cz);
/* Start a job against the current zone (may be NULL). force: AXFR. */
int refresh_start(struct refresh_zone *rz, const struct zone *current,
		  int force, int done_fd);
/* Account a finished job and set the timers; current is the zone served
 * after the job was applied. Saves the timers. */
void refresh_finish(struct refresh_zone *rz, struct xfr_job *j,
		    const struct zone *current, time_t now);
/* Record new timers for a zone loaded without transfer (from disk). */
int refresh_save_timers(const struct refresh_zone *rz, uint32_t serial);
/* The SOA timers of z, clamped to at least 1 s. */
void refresh_soa_timers(const struct zone *z, uint32_t *refresh,
			uint32_t *retry, uint32_t *expire);

/* NOTIFY (opcode 4) for one of zones: checks the source against each
 * zone's notify-from remotes and their keys, writes the reply into out.
 * Returns the reply length (0: none) and in *zone_idx the zone to
 * refresh (-1: none). */
size_t refresh_notify(struct refresh_zone *const *zones, int n_zones,
		      const uint8_t *q, size_t qlen, const struct sockaddr *from,
		      uint8_t *out, size_t cap, int *zone_idx);

#endif
