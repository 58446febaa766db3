#include <ctype.h>
#include <malloc.h>
#include <pthread.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "engine.h"
#include "fault.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "mapsync.h"
#include "refresh.h"
#include "rrl.h"
#include "server.h"
#include "xfr.h"
#include "wire.h"
#include "zone.h"

struct dzone {
	const struct config_zone *cz;
	time_t loaded;
	char error[600]; /* last load error, empty when fine */
	int secondary; /* has primaries: data comes from transfers */
	struct refresh_zone rz; /* secondary only */
	struct stat file_st; /* the zone file as last loaded (file zones) */
	int file_st_ok;
	int stale_job; /* the running job uses primaries since replaced */
	/* saving the served data after a transfer, off the event loop: the
	 * zone is not freed (no publish) until the saver is joined */
	pthread_t saver;
	int saving;
	volatile int save_cancel; /* newer data arrived: it will be saved */
	int save_result; /* the saver's: 0, -ECANCELED (given up), -errno */
	/* the served data is not on disk: its save was given up for a
	 * transfer (or is being, after a NOTIFY); redone when that transfer
	 * brings nothing or its publish fails */
	int save_again;
	const struct zone *save_zone;
	char save_path[4096];
	/* the zone a transfer replaced, freed into the new one by the saver
	 * thread before it writes (on the loop thread that took ~10 ms at
	 * 1M names, 30-100 under load, after the flip but before the next
	 * query or command); reaping: that free has not ended (the new
	 * zone's borrowed flags are being written: no job may copy it) */
	struct zone *reap;
	int reaping;
	int defer_free; /* the publish in progress is a transfer's */
};

struct daemon {
	struct config cfg;
	struct loader loader;
	struct mapsync *ms;
	struct engine eng;
	struct dzone *dz;
	struct server *srv;
	int epfd, sigfd, ctlfd;
	int metricsfd; /* -1: no server.metrics */
	int xfrfd; /* eventfd: a transfer job ended */
	struct refresh_zone **rzs; /* &dz[i].rz, for NOTIFY */
	int stop;
	time_t started;
	time_t cookie_rotated;
	int verbose; /* log levels above server.log-level from -v */
};

#ifndef DAEMON_MMAP_THRESHOLD
#define DAEMON_MMAP_THRESHOLD (256 * 1024)
#endif

#ifndef DAEMON_COOKIE_ROTATE_S
#define DAEMON_COOKIE_ROTATE_S 3600
#endif

static const char *const pass_names[XDPNS_PASS_COUNT] = {
	[XDPNS_PASS_NOT_IP] = "not_ip",
	[XDPNS_PASS_NOT_UDP53] = "not_udp53",
	[XDPNS_PASS_IP_OPTIONS] = "ip_options",
	[XDPNS_PASS_FRAGMENT] = "fragment",
	[XDPNS_PASS_MALFORMED] = "malformed",
	[XDPNS_PASS_NOT_QUERY] = "not_query",
	[XDPNS_PASS_QNAME] = "qname",
	[XDPNS_PASS_QCLASS] = "qclass",
	[XDPNS_PASS_EDNS] = "edns",
	[XDPNS_PASS_MISS] = "miss",
	[XDPNS_PASS_ZONE_STATE] = "zone_state",
	[XDPNS_PASS_TOO_BIG] = "too_big",
	[XDPNS_PASS_ERROR] = "error",
};

static const char *const rrl_kind_names[XDPNS_RRL_KINDS] = {
	"answer", "nxdomain", "error", "referral",
};
static const char *const rrl_action_names[XDPNS_RRL_ACTIONS] = {
	"pass", "slip", "drop",
};

/* {"answer":{"pass":n,"slip":n,"drop":n},...} */
static void rrl_json(FILE *f, const uint64_t *v /* [kind][action] */)
{
	int k, a;

	fprintf(f, "{");
	for (k = 0; k < XDPNS_RRL_KINDS; k++) {
		fprintf(f, "%s\"%s\":{", k ? "," : "", rrl_kind_names[k]);
		for (a = 0; a < XDPNS_RRL_ACTIONS; a++)
			fprintf(f, "%s\"%s\":%llu", a ? "," : "",
				rrl_action_names[a],
				(unsigned long long)v[k * XDPNS_RRL_ACTIONS + a]);
		fprintf(f, "}");
	}
	fprintf(f, "}");
}

/* "  rrl answer slip   n" lines for the counters that are not zero */
static void rrl_text(FILE *f, const uint64_t *v)
{
	char name[32];
	int k, a;

	for (k = 0; k < XDPNS_RRL_KINDS; k++)
		for (a = 0; a < XDPNS_RRL_ACTIONS; a++)
			if (v[k * XDPNS_RRL_ACTIONS + a]) {
				snprintf(name, sizeof(name), "%s %s",
					 rrl_kind_names[k], rrl_action_names[a]);
				fprintf(f, "  rrl %-18s %12llu\n", name,
					(unsigned long long)v[k * XDPNS_RRL_ACTIONS + a]);
			}
}

static const char *const rcode_names[17] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS",
};

/*
 * The XDP program's single counters, one row each: the key in `stats
 * --json`, the label in `stats`, and the Prometheus series when the counter
 * has one of its own (NULL: it is a label of a shared series below).
 * A new counter is one more row here.
 */
static const struct xdp_counter {
	int idx;
	const char *json, *label, *metric, *help;
} xdp_counters[] = {
	{ XDPNS_CNT_RX, "received", "received", "xdpns_xdp_packets_total",
	  "Frames the XDP program saw." },
	{ XDPNS_CNT_ANSWERED, "answered", "answered", NULL, NULL },
	{ XDPNS_CNT_TRUNCATED, "truncated", "truncated", NULL, NULL },
	{ XDPNS_CNT_DROPPED, "dropped", "dropped", "xdpns_xdp_dropped_total",
	  "Frames XDP dropped." },
	{ XDPNS_CNT_LRU_HIT, "lru_hits", "from the LRU", "xdpns_xdp_lru_hits_total",
	  "XDP answers taken from the LRU of slow-path answers." },
	{ XDPNS_CNT_NX_SYNTH, "nx_synth", "NXDOMAIN made",
	  "xdpns_xdp_nxdomain_synthesized_total",
	  "NXDOMAIN answers XDP made from the zone's names (unsigned zones)." },
};

#define N_XDP_COUNTERS (sizeof(xdp_counters) / sizeof(xdp_counters[0]))

const char *daemon_pass_reason_name(int reason)
{
	return reason >= 0 && reason < XDPNS_PASS_COUNT ? pass_names[reason] : "?";
}

const char *daemon_rcode_name(int rcode)
{
	return rcode >= 0 && rcode <= 16 ? rcode_names[rcode] : "?";
}

/* ---- zones ---- */

/* The test hook "zone.save" (fault.h): a save that fails, or waits
 * (given up when cancelled, as a long write is) */
static int save_fault(struct dzone *dz)
{
	unsigned ms;

	if (!fault_hit(FAULT_SAVE, &ms))
		return 0;
	if (!ms)
		return -EIO;
	for (; ms; ms -= ms < 10 ? ms : 10) {
		if (dz->save_cancel)
			return -ECANCELED;
		usleep(ms < 10 ? ms * 1000 : 10000);
	}
	return 0;
}

static void *zone_saver(void *arg)
{
	struct dzone *dz = arg;
	int r;

	if (dz->reap) {
		/* the new zone takes the nodes it borrowed; not cancelled */
		zone_free_into(dz->reap, (struct zone *)dz->save_zone);
		dz->reap = NULL;
	}
	__atomic_store_n(&dz->reaping, 0, __ATOMIC_RELEASE);
	r = save_fault(dz);
	if (!r)
		r = zone_write_file_cancel(dz->save_zone, dz->save_path,
					   &dz->save_cancel);
	dz->save_result = r;
	if (r == -ECANCELED)
		log_debug_kv("zone save given up for a newer serial", "zone=%s",
			     dz->cz->name);
	else if (r)
		log_warn_kv("cannot save zone", "zone=%s path=%s reason=%s",
			    dz->cz->name, dz->save_path, strerror(-r));
	return NULL;
}

/* End zone i's save, if one runs: finished, or given up when cancel
 * (newer data is about to replace what it writes, and will be saved). */
static void zone_saver_join(struct daemon *d, int i, int cancel)
{
	if (!d->dz[i].saving)
		return;
	if (cancel)
		d->dz[i].save_cancel = 1;
	pthread_join(d->dz[i].saver, NULL);
	d->dz[i].saving = 0;
	d->dz[i].save_cancel = 0;
	if (d->dz[i].save_result == -ECANCELED)
		d->dz[i].save_again = 1;
}

/* Save zone i's served data to path in a thread: a transfer's result is
 * served first and written to disk after (a 1M-record zone takes ~1.5 s
 * to write). Saved inline when no thread can start. */
static void zone_save_async(struct daemon *d, int i, const char *path)
{
	struct dzone *dz = &d->dz[i];

	zone_saver_join(d, i, 1);
	dz->save_again = 0; /* this save covers what was given up */
	dz->save_zone = d->eng.zones[i].zone;
	snprintf(dz->save_path, sizeof(dz->save_path), "%s", path);
	dz->reaping = dz->reap != NULL;
	if (pthread_create(&dz->saver, NULL, zone_saver, dz)) {
		zone_saver(dz);
		return;
	}
	dz->saving = 1;
}

/* Make z (finished) the served data of zone i: maps flipped, engine
 * switched. Takes z; on failure frees it and what is served stays.
 * changed (n names, from an IXFR; NULL: everything) limits what is
 * recompiled to the answers those names reach. */
static int zone_publish_changed(struct daemon *d, int i, struct zone *z,
				const uint8_t *const *changed, size_t n)
{
	struct dzone *dz = &d->dz[i];
	struct engine_zone *ez = &d->eng.zones[i];
	struct engine_zone *all, fresh;
	struct engine view;
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the data being saved is about to be freed: a transfer's newer data
	 * replaces the save (it is saved in turn); a reload waits for it */
	zone_saver_join(d, i, dz->secondary);
	/* compile against a view of the engine where this zone is new */
	all = malloc(d->eng.n_zones * sizeof(*all));
	if (!all) {
		zone_free(z);
		return -ENOMEM;
	}
	memcpy(all, d->eng.zones, d->eng.n_zones * sizeof(*all));
	fresh = *ez;
	fresh.zone = z;
	all[i] = fresh;
	view.zones = all;
	view.n_zones = d->eng.n_zones;
	if (changed && ez->zone)
		r = mapsync_publish_names(d->ms, &view, &all[i], ez->zone, changed, n);
	else
		r = mapsync_publish(d->ms, &view, &all[i]);
	free(all);
	if (r) {
		snprintf(dz->error, sizeof(dz->error),
			 "compiling into the XDP maps failed: %s", strerror(-r));
		zone_free(z);
		return r;
	}
	/* the maps flipped; the slow path switches before the next query.
	 * An IXFR's zone borrows the old one's unchanged nodes: they pass
	 * to it (a transfer's: in the saver thread, zone_save_async()). */
	if (dz->defer_free && ez->zone)
		dz->reap = ez->zone;
	else
		zone_free_into(ez->zone, z);
	ez->zone = z;
	dz->loaded = time(NULL);
	dz->error[0] = 0;
	/* a whole zone replaced (load, AXFR, reload): the old one's nodes
	 * leave holes under the new one's; give their pages back (~50 us at
	 * 1M RRsets) */
	if (!changed)
		malloc_trim(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		struct mapsync_stats st;

		mapsync_get_stats(d->ms, &st);
		log_info_kv("zone loaded", "zone=%s serial=%u records=%zu rrsets=%zu "
			    "names=%zu entries=%llu slot=%u ms=%lld publish_ms=%llu "
			    "compiled=%llu written=%llu names_written=%llu names_ms=%llu",
			    dz->cz->name,
			    z->serial, z->n_records, z->n_rrsets, z->n_nodes,
			    (unsigned long long)mapsync_zone_entries(d->ms, ez->slot),
			    ez->slot,
			    (long long)((t1.tv_sec - t0.tv_sec) * 1000 +
					(t1.tv_nsec - t0.tv_nsec) / 1000000),
			    (unsigned long long)st.last_publish_us / 1000,
			    (unsigned long long)st.last_compiled,
			    (unsigned long long)st.last_written,
			    (unsigned long long)st.last_names_written,
			    (unsigned long long)(st.last_names_find_us +
						 st.last_names_write_us) / 1000);
	}
	return 0;
}

static int zone_publish(struct daemon *d, int i, struct zone *z)
{
	return zone_publish_changed(d, i, z, NULL, 0);
}

static int stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The zone file of zone i is the one served (same inode, size, mtime)
 * and it loaded fine. */
static int zone_file_unchanged(const struct dzone *dz, const struct zone *served)
{
	struct stat st;

	return served && dz->file_st_ok && !dz->error[0] &&
	       !stat(dz->cz->file, &st) && stat_same(&st, &dz->file_st);
}

/* Load the zone file of name into *z; on success *st is the file's stat
 * (for zone_file_unchanged) and *st_ok says whether it was taken. */
static int zone_file_load(const char *name, const char *file, struct zone **z,
			  char *err, size_t errlen, struct stat *st, int *st_ok)
{
	int ok = !stat(file, st), r;

	r = zone_load_file(file, name, z, err, errlen);
	if (!r)
		*st_ok = ok;
	return r;
}

/* ---- secondary zones: refresh, transfers, expiry ---- */

static void zone_set_expired(struct daemon *d, int i, int expired)
{
	struct engine_zone *ez = &d->eng.zones[i];
	int r;

	if (ez->expired == expired)
		return;
	ez->expired = expired;
	r = mapsync_set_flags(d->ms, ez->slot, expired ? XDPNS_ZONE_F_EXPIRED : 0);
	if (r)
		log_err_kv("cannot set the XDP zone flags", "zone=%s reason=%s",
			   d->dz[i].cz->name, strerror(-r));
	if (expired)
		log_warn_kv("zone expired", "zone=%s answers=SERVFAIL reason=%s",
			    d->dz[i].cz->name,
			    "no primary answered for EXPIRE seconds");
	else
		log_info_kv("zone no longer expired", "zone=%s", d->dz[i].cz->name);
}

static int zone_refresh_now(struct daemon *d, int i, int force)
{
	struct refresh_zone *rz = &d->dz[i].rz;
	int r;

	if (rz->job) {
		rz->pending = 1;
		rz->pending_force |= force;
		return 1;
	}
	/* the job copies the served zone: not while the saver hands the
	 * replaced zone's nodes to it (~10 ms after a transfer's flip) */
	while (__atomic_load_n(&d->dz[i].reaping, __ATOMIC_ACQUIRE))
		usleep(500);
	r = refresh_start(rz, d->eng.zones[i].zone, force, d->xfrfd);
	if (!r)
		log_debug_kv("refresh started", "zone=%s serial=%u force=%d",
			     rz->cz->name, d->eng.zones[i].zone ?
					   d->eng.zones[i].zone->serial : 0,
			     force);
	if (r) {
		log_err_kv("cannot start a transfer", "zone=%s reason=%s",
			   rz->cz->name, strerror(-r));
		rz->next_refresh = time(NULL) + REFRESH_NO_DATA_RETRY_S;
	}
	return r;
}

/* A job ended: publish its zone (one flip), then timers and counters. */
static void zone_job_done(struct daemon *d, int i)
{
	struct dzone *dz = &d->dz[i];
	struct refresh_zone *rz = &dz->rz;
	struct xfr_job *j = rz->job;
	time_t now = time(NULL);
	uint32_t old = d->eng.zones[i].zone ? d->eng.zones[i].zone->serial : 0;
	int r, had = d->eng.zones[i].zone != NULL, force, published = 0;
	uint64_t picked = xfr_mono_us(), flipped;

	xfr_join(j);
	if (j->result == XFR_OK && j->zone) {
		struct zone *z = j->zone;

		j->zone = NULL;
		/* the old zone is freed by the save that follows */
		dz->defer_free = j->save_path[0] != 0;
		if (j->kind == XFR_KIND_IXFR && !j->changed_all)
			r = zone_publish_changed(d, i, z,
						 (const uint8_t *const *)j->changed,
						 j->n_changed);
		else
			r = zone_publish(d, i, z);
		dz->defer_free = 0;
		flipped = xfr_mono_us();
		if (r) {
			j->result = XFR_R_PUBLISH;
			j->fails[XFR_R_PUBLISH]++;
			snprintf(j->error, sizeof(j->error), "%.250s", dz->error);
		} else {
			char since[24] = "-";

			published = 1;
			if (j->save_path[0])
				zone_save_async(d, i, j->save_path);
			/* the stages, so a slow change can be placed: NOTIFY
			 * to the job's start, the SOA query, the transfer's
			 * first reply and the rest of it, the new zone built,
			 * the job's end to the event loop, the publish (maps
			 * flipped); notify_ms: from the NOTIFY to the flip */
			if (j->notified_us)
				snprintf(since, sizeof(since), "%llu",
					 (unsigned long long)(flipped - j->notified_us) / 1000);
			log_info_kv("transfer done", "zone=%s kind=%s primary=%s "
				    "address=%s from_serial=%u serial=%u bytes=%llu "
				    "ms=%llu soa_ms=%llu first_ms=%llu recv_ms=%llu "
				    "build_ms=%llu start_us=%llu wake_us=%llu "
				    "publish_us=%llu notify_ms=%s", dz->cz->name,
				    xfr_kind_name(j->kind),
				    j->primaries[j->primary].id,
				    j->primaries[j->primary].text, had ? old : 0,
				    d->eng.zones[i].zone->serial,
				    (unsigned long long)j->bytes,
				    (unsigned long long)j->duration_ms,
				    (unsigned long long)j->soa_ms,
				    (unsigned long long)j->first_ms,
				    (unsigned long long)j->recv_ms,
				    (unsigned long long)j->build_ms,
				    (unsigned long long)(j->notified_us ?
					j->started_us - j->notified_us : 0),
				    (unsigned long long)(picked - j->ended_us),
				    (unsigned long long)(flipped - picked), since);
		}
	}
	/* nothing replaced the save given up for this job (it brought no
	 * data, or its publish failed after stopping the save): redo it (the
	 * given-up thread is joined first) */
	if (dz->save_again && !published && j->save_path[0] && d->eng.zones[i].zone)
		zone_save_async(d, i, j->save_path);
	dz->save_again = 0;
	if (j->result == XFR_OK)
		zone_set_expired(d, i, 0);
	else {
		/* the primaries are tried in order: the reason is the last's */
		int pi = j->primary >= 0 && j->primary < j->n_primaries ?
				 j->primary : j->n_primaries - 1;

		log_warn_kv("transfer failed", "zone=%s primary=%s address=%s "
			    "reason=%s error=%s retry_s=%u", dz->cz->name,
			    pi >= 0 ? j->primaries[pi].id : "-",
			    pi >= 0 ? j->primaries[pi].text : "-",
			    xfr_reason_name(j->result), j->error,
			    (unsigned)(d->eng.zones[i].zone ?
				       zone_soa_u32(d->eng.zones[i].zone, 4) :
				       REFRESH_NO_DATA_RETRY_S));
	}
	refresh_finish(rz, j, d->eng.zones[i].zone, now);
	if (dz->stale_job) { /* its primary and key indexes are the old list's */
		rz->last_primary = -1;
		memset(rz->key_idx, 0, sizeof(rz->key_idx));
		dz->stale_job = 0;
	}
	zone_free(j->zone);
	xfr_changed_free(j);
	free(j);
	rz->job = NULL;
	if (rz->pending) {
		force = rz->pending_force;
		rz->pending = rz->pending_force = 0;
		zone_refresh_now(d, i, force);
	}
}

static void xfr_events(struct daemon *d)
{
	uint64_t v;
	int i;

	if (read(d->xfrfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn_kv("reading transfer events failed", "reason=%s",
			    strerror(errno));
	for (i = 0; i < d->eng.n_zones; i++) {
		struct xfr_job *j = d->dz[i].rz.job;

		if (d->dz[i].secondary && j &&
		    __atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
			zone_job_done(d, i);
	}
}

/* Timers: start due refreshes, expire zones. */
static void refresh_tick(struct daemon *d)
{
	time_t now = time(NULL);
	int i;

	for (i = 0; i < d->eng.n_zones; i++) {
		struct refresh_zone *rz = &d->dz[i].rz;

		if (!d->dz[i].secondary)
			continue;
		if (d->eng.zones[i].zone && rz->expire_at && now >= rz->expire_at)
			zone_set_expired(d, i, 1);
		if (!rz->job && now >= rz->next_refresh)
			zone_refresh_now(d, i, 0);
	}
}

static size_t daemon_notify(void *ctx, const uint8_t *q, size_t qlen,
			    const struct sockaddr *from, uint8_t *out, size_t cap)
{
	struct daemon *d = ctx;
	size_t n;
	int zi = -1;

	n = refresh_notify(d->rzs, d->eng.n_zones, q, qlen, from, out, cap, &zi);
	if (zi >= 0 && d->dz[zi].secondary) {
		struct refresh_zone *rz = &d->dz[zi].rz;

		if (!rz->notified_us)
			rz->notified_us = xfr_mono_us();
		if (rz->job) {
			rz->pending = 1;
		} else {
			rz->next_refresh = 0; /* started by refresh_tick, now */
			/* newer data is likely on its way: the save of what is
			 * served would be replaced; give its CPU to the
			 * transfer (saved again if none comes). Not waited
			 * for here: a save in its fsync held the job's start
			 * back by tens of ms; the thread ends by itself, and
			 * it is joined before what it reads is freed */
			if (d->dz[zi].saving) {
				d->dz[zi].save_cancel = 1;
				d->dz[zi].save_again = 1;
			}
		}
	}
	return n;
}

/* ---- reports ---- */

static void json_str(FILE *f, const char *s);

/* Transfer state of a secondary zone, as JSON members (leading comma). */
static void report_xfr_json(struct daemon *d, int i, FILE *f)
{
	const struct refresh_zone *rz = &d->dz[i].rz;
	const struct config_zone *cz = d->dz[i].cz;
	time_t now = time(NULL);
	int k, first = 1;

	fprintf(f, ",\"secondary\":true,\"expired\":%s,\"primary\":",
		d->eng.zones[i].expired ? "true" : "false");
	if (rz->last_primary >= 0)
		fprintf(f, "\"%s\"", d->cfg.remotes[cz->primaries[rz->last_primary]].id);
	else
		fprintf(f, "null");
	fprintf(f, ",\"remote_serial\":%u,\"last_attempt\":%lld,"
		   "\"last_success\":%lld,\"next_refresh_in\":%lld,"
		   "\"expires_in\":",
		rz->remote_serial, (long long)rz->last_attempt,
		(long long)rz->last_success,
		(long long)(rz->job ? 0 : rz->next_refresh > now ? rz->next_refresh - now : 0));
	if (rz->expire_at)
		fprintf(f, "%lld", (long long)(rz->expire_at - now));
	else
		fprintf(f, "null");
	fprintf(f, ",\"transferring\":%s,\"transfers\":{\"ixfr\":%llu,"
		   "\"axfr\":%llu,\"up_to_date\":%llu},\"bytes\":%llu,"
		   "\"last_duration_ms\":%llu,\"notify\":{\"accepted\":%llu,"
		   "\"refused\":%llu},\"tsig_key_fallbacks\":%llu,\"failures\":{",
		rz->job ? "true" : "false",
		(unsigned long long)rz->st.ixfr, (unsigned long long)rz->st.axfr,
		(unsigned long long)rz->st.up_to_date,
		(unsigned long long)rz->st.bytes,
		(unsigned long long)rz->st.last_duration_ms,
		(unsigned long long)rz->st.notify_accepted,
		(unsigned long long)rz->st.notify_refused,
		(unsigned long long)rz->st.key_fallbacks);
	for (k = 1; k < XFR_R_COUNT; k++) {
		fprintf(f, "%s\"%s\":%llu", first ? "" : ",", xfr_reason_name(k),
			(unsigned long long)rz->st.fails[k]);
		first = 0;
	}
	fprintf(f, "},\"last_error\":\"");
	json_str(f, rz->last_error);
	fprintf(f, "\"");
}

static void json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
}

/* Human form: one line per secondary. */
static void report_xfr_text(struct daemon *d, int i, FILE *f)
{
	const struct refresh_zone *rz = &d->dz[i].rz;
	const struct config_zone *cz = d->dz[i].cz;
	time_t now = time(NULL);
	int k;

	fprintf(f, "  %s: primary %s, ", cz->name,
		rz->last_primary >= 0 ?
			d->cfg.remotes[cz->primaries[rz->last_primary]].id : "-");
	if (rz->job)
		fprintf(f, "transfer running");
	else
		fprintf(f, "next refresh in %llds",
			(long long)(rz->next_refresh > now ? rz->next_refresh - now : 0));
	if (rz->expire_at)
		fprintf(f, ", %s %llds", d->eng.zones[i].expired ? "EXPIRED" : "expires in",
			(long long)(d->eng.zones[i].expired ? now - rz->expire_at :
							      rz->expire_at - now));
	fprintf(f, ", last success %llds ago, ixfr %llu axfr %llu up-to-date %llu, %llu bytes",
		rz->last_success ? (long long)(now - rz->last_success) : -1LL,
		(unsigned long long)rz->st.ixfr, (unsigned long long)rz->st.axfr,
		(unsigned long long)rz->st.up_to_date,
		(unsigned long long)rz->st.bytes);
	for (k = 1; k < XFR_R_COUNT; k++)
		if (rz->st.fails[k])
			fprintf(f, ", %s %llu", xfr_reason_name(k),
				(unsigned long long)rz->st.fails[k]);
	if (rz->st.key_fallbacks)
		fprintf(f, ", TSIG key fallbacks %llu",
			(unsigned long long)rz->st.key_fallbacks);
	fprintf(f, "\n");
	if (rz->last_error[0])
		fprintf(f, "    last error: %s\n", rz->last_error);
}

/* ---- Prometheus exposition (text format 0.0.4) ---- */

static void metric_head(FILE *f, const char *name, const char *type,
			const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with one sample and no labels. */
static void metric1(FILE *f, const char *name, const char *type,
		    const char *help, uint64_t v)
{
	metric_head(f, name, type, help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* ---- per-zone counters (a section of stats and /metrics) ---- */

struct zone_counters {
	uint64_t xdp; /* answered by XDP */
	struct server_zone_stats slow;
};

/* xdp: every slot's XDP answers (loader_zone_counters), read once per
 * report. */
static void zone_counters_get(struct daemon *d, const uint64_t *xdp, int i,
			      struct zone_counters *zc)
{
	uint32_t slot = d->eng.zones[i].slot;

	memset(zc, 0, sizeof(*zc));
	if (slot < XDPNS_MAX_ZONES)
		zc->xdp = xdp[slot];
	server_get_zone_stats(d->srv, slot, &zc->slow);
}

/* One sample of a per-zone series: metric{zone="ZONE" (the name escaped
 * as a Prometheus label value: backslash, quote and newline), then the
 * rest of its labels, the closing brace and the value from fmt. */
static void __attribute__((format(printf, 4, 5)))
zone_sample(FILE *f, const char *metric, const char *zone, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%s{zone=\"", metric);
	for (; *zone; zone++) {
		if (*zone == '\\' || *zone == '"')
			fprintf(f, "\\%c", *zone);
		else if (*zone == '\n')
			fputs("\\n", f);
		else
			fputc(*zone, f);
	}
	fputc('"', f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

#define ZC_TEXT 0
#define ZC_JSON 1
#define ZC_PROM 2

/* Queries per zone: answered in XDP, and in the slow path with its
 * rcodes. Text: a table within 100 columns; JSON: the "zone_counters"
 * member (leading comma); Prometheus: labelled series. */
static void report_zone_counters(struct daemon *d, FILE *f, int how)
{
	uint64_t xdp[XDPNS_MAX_ZONES];
	struct zone_counters zc;
	int i, k, first;

	if (loader_zone_counters(&d->loader, xdp))
		memset(xdp, 0, sizeof(xdp));

	if (how == ZC_JSON) {
		fprintf(f, ",\"zone_counters\":[");
		for (i = 0; i < d->eng.n_zones; i++) {
			zone_counters_get(d, xdp, i, &zc);
			fprintf(f, "%s{\"name\":\"", i ? "," : "");
			json_str(f, d->dz[i].cz->name);
			fprintf(f, "\",\"slot\":%u,\"xdp_answers\":%llu,"
				   "\"slow_queries\":%llu,\"slow_rcode\":{",
				d->eng.zones[i].slot, (unsigned long long)zc.xdp,
				(unsigned long long)zc.slow.queries);
			for (k = 0, first = 1; k <= 16; k++) {
				if (!zc.slow.rcode[k])
					continue;
				fprintf(f, "%s\"%s\":%llu", first ? "" : ",",
					daemon_rcode_name(k),
					(unsigned long long)zc.slow.rcode[k]);
				first = 0;
			}
			fprintf(f, "}}");
		}
		fprintf(f, "]");
		return;
	}
	if (how == ZC_PROM) {
		metric_head(f, "xdpns_zone_queries_total", "counter",
			    "Queries that fell in a zone, by path (xdp or slow).");
		for (i = 0; i < d->eng.n_zones; i++) {
			zone_counters_get(d, xdp, i, &zc);
			zone_sample(f, "xdpns_zone_queries_total", d->dz[i].cz->name,
				    ",path=\"xdp\"} %llu\n", (unsigned long long)zc.xdp);
			zone_sample(f, "xdpns_zone_queries_total", d->dz[i].cz->name,
				    ",path=\"slow\"} %llu\n",
				    (unsigned long long)zc.slow.queries);
		}
		metric_head(f, "xdpns_zone_responses_total", "counter",
			    "Slow-path responses in a zone, by rcode.");
		for (i = 0; i < d->eng.n_zones; i++) {
			zone_counters_get(d, xdp, i, &zc);
			for (k = 0; k <= 16; k++) {
				if (!zc.slow.rcode[k])
					continue;
				zone_sample(f, "xdpns_zone_responses_total",
					    d->dz[i].cz->name,
					    ",path=\"slow\",rcode=\"%s\"} %llu\n",
					    daemon_rcode_name(k),
					    (unsigned long long)zc.slow.rcode[k]);
			}
		}
		return;
	}
	fprintf(f, "Zones\n  %-32s %11s %11s %9s %9s %9s %9s\n", "ZONE",
		"XDP ANSWERS", "SLOW QUERY", "NOERROR", "NXDOMAIN", "SERVFAIL",
		"OTHER");
	for (i = 0; i < d->eng.n_zones; i++) {
		const char *name = d->dz[i].cz->name;
		uint64_t other;

		zone_counters_get(d, xdp, i, &zc);
		other = 0;
		for (k = 0; k <= 16; k++)
			if (k != 0 && k != 2 && k != 3)
				other += zc.slow.rcode[k];
		if (strlen(name) > 32) { /* long names on a line of their own */
			fprintf(f, "  %s\n", name);
			name = "";
		}
		fprintf(f, "  %-32s %11llu %11llu %9llu %9llu %9llu %9llu\n", name,
			(unsigned long long)zc.xdp,
			(unsigned long long)zc.slow.queries,
			(unsigned long long)zc.slow.rcode[0],
			(unsigned long long)zc.slow.rcode[3],
			(unsigned long long)zc.slow.rcode[2],
			(unsigned long long)other);
	}
}

static void report_metrics(void *ctx, FILE *f)
{
	struct daemon *d = ctx;
	uint64_t c[XDPNS_CNT_COUNT];
	struct server_stats ss;
	struct mapsync_stats ms;
	time_t now = time(NULL);
	int i, k;

	memset(c, 0, sizeof(c));
	loader_counters(&d->loader, c);
	server_get_stats(d->srv, &ss);
	mapsync_get_stats(d->ms, &ms);

	for (k = 0; k < (int)N_XDP_COUNTERS; k++)
		if (xdp_counters[k].metric)
			metric1(f, xdp_counters[k].metric, "counter",
				xdp_counters[k].help, c[xdp_counters[k].idx]);
	metric_head(f, "xdpns_queries_total", "counter",
		    "Queries answered, by path (xdp or slow) and transport.");
	fprintf(f, "xdpns_queries_total{path=\"xdp\",proto=\"udp\"} %llu\n",
		(unsigned long long)c[XDPNS_CNT_ANSWERED]);
	fprintf(f, "xdpns_queries_total{path=\"slow\",proto=\"udp\"} %llu\n",
		(unsigned long long)ss.udp_queries);
	fprintf(f, "xdpns_queries_total{path=\"slow\",proto=\"tcp\"} %llu\n",
		(unsigned long long)ss.tcp_queries);
	metric_head(f, "xdpns_responses_total", "counter",
		    "Responses sent, by path and rcode.");
	for (k = 0; k < 16; k++)
		if (c[XDPNS_CNT_RCODE_BASE + k])
			fprintf(f, "xdpns_responses_total{path=\"xdp\",rcode=\"%s\"} %llu\n",
				daemon_rcode_name(k),
				(unsigned long long)c[XDPNS_CNT_RCODE_BASE + k]);
	for (k = 0; k <= 16; k++)
		if (ss.rcode[k])
			fprintf(f, "xdpns_responses_total{path=\"slow\",rcode=\"%s\"} %llu\n",
				daemon_rcode_name(k), (unsigned long long)ss.rcode[k]);
	metric_head(f, "xdpns_xdp_passed_total", "counter",
		    "Frames XDP passed to the kernel, by reason.");
	for (k = 0; k < XDPNS_PASS_COUNT; k++)
		fprintf(f, "xdpns_xdp_passed_total{reason=\"%s\"} %llu\n",
			daemon_pass_reason_name(k),
			(unsigned long long)c[XDPNS_CNT_PASS_BASE + k]);
	metric_head(f, "xdpns_truncated_total", "counter",
		    "Responses sent with TC=1, by path.");
	fprintf(f, "xdpns_truncated_total{path=\"xdp\"} %llu\n",
		(unsigned long long)c[XDPNS_CNT_TRUNCATED]);
	fprintf(f, "xdpns_truncated_total{path=\"slow\"} %llu\n",
		(unsigned long long)ss.truncated);
	metric_head(f, "xdpns_rrl_responses_total", "counter",
		    "Responses seen by response rate limiting, by path, kind and "
		    "action (pass, slip: sent TC=1, drop).");
	for (k = 0; k < XDPNS_RRL_KINDS; k++)
		for (i = 0; i < XDPNS_RRL_ACTIONS; i++) {
			fprintf(f, "xdpns_rrl_responses_total{path=\"xdp\",kind=\"%s\","
				   "action=\"%s\"} %llu\n",
				rrl_kind_names[k], rrl_action_names[i],
				(unsigned long long)c[XDPNS_CNT_RRL(k, i)]);
			fprintf(f, "xdpns_rrl_responses_total{path=\"slow\",kind=\"%s\","
				   "action=\"%s\"} %llu\n",
				rrl_kind_names[k], rrl_action_names[i],
				(unsigned long long)ss.rrl[k][i]);
		}
	metric_head(f, "xdpns_xdp_pass_limited_total", "counter",
		    "Queries XDP dropped instead of passing up: over "
		    "server.pass-limit-prefix (prefix) or server.pass-limit (total).");
	fprintf(f, "xdpns_xdp_pass_limited_total{scope=\"prefix\"} %llu\n",
		(unsigned long long)c[XDPNS_CNT_PASS_LIMIT_PREFIX]);
	fprintf(f, "xdpns_xdp_pass_limited_total{scope=\"total\"} %llu\n",
		(unsigned long long)c[XDPNS_CNT_PASS_LIMIT_TOTAL]);
	metric1(f, "xdpns_tcp_refused_total", "counter",
		"TCP connections closed at once: the client cap was reached.",
		ss.tcp_refused);
	metric1(f, "xdpns_map_entries", "gauge",
		"(name, type) entries in the XDP maps.",
		ms.entries);
	metric1(f, "xdpns_map_blob_bytes", "gauge",
		"Bytes of response bodies in the XDP maps.",
		ms.blob_bytes);
	metric1(f, "xdpns_map_names", "gauge",
		"Names in the XDP maps for NXDOMAIN made in XDP.", ms.names);

	metric_head(f, "xdpns_zone_serial", "gauge", "Serial served.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->eng.zones[i].zone)
			zone_sample(f, "xdpns_zone_serial", d->dz[i].cz->name,
				    "} %u\n", d->eng.zones[i].zone->serial);
	metric_head(f, "xdpns_zone_records", "gauge", "Records served.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->eng.zones[i].zone)
			zone_sample(f, "xdpns_zone_records", d->dz[i].cz->name,
				    "} %zu\n", d->eng.zones[i].zone->n_records);
	metric_head(f, "xdpns_zone_expired", "gauge",
		    "1 when the zone is past EXPIRE and answers SERVFAIL.");
	for (i = 0; i < d->eng.n_zones; i++)
		zone_sample(f, "xdpns_zone_expired", d->dz[i].cz->name,
			    "} %d\n", d->eng.zones[i].expired ? 1 : 0);
	metric_head(
	    f, "xdpns_zone_expire_seconds", "gauge",
	    "Seconds until a secondary zone expires without a primary.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->dz[i].cz->n_primaries && d->dz[i].rz.expire_at)
			zone_sample(f, "xdpns_zone_expire_seconds",
				    d->dz[i].cz->name, "} %lld\n",
				    (long long)(d->dz[i].rz.expire_at - now));
	metric_head(f, "xdpns_zone_transfers_total", "counter",
		    "Successful refreshes of a secondary zone, by kind.");
	for (i = 0; i < d->eng.n_zones; i++) {
		const struct refresh_stats *st = &d->dz[i].rz.st;

		if (!d->dz[i].cz->n_primaries)
			continue;
		zone_sample(f, "xdpns_zone_transfers_total", d->dz[i].cz->name,
			    ",kind=\"ixfr\"} %llu\n",
			    (unsigned long long)st->ixfr);
		zone_sample(f, "xdpns_zone_transfers_total", d->dz[i].cz->name,
			    ",kind=\"axfr\"} %llu\n",
			    (unsigned long long)st->axfr);
		zone_sample(f, "xdpns_zone_transfers_total", d->dz[i].cz->name,
			    ",kind=\"up_to_date\"} %llu\n",
			    (unsigned long long)st->up_to_date);
	}
	metric_head(f, "xdpns_zone_transfer_bytes_total", "counter",
		    "Bytes of transfer messages received.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->dz[i].cz->n_primaries)
			zone_sample(f, "xdpns_zone_transfer_bytes_total",
				    d->dz[i].cz->name, "} %llu\n",
				    (unsigned long long)d->dz[i].rz.st.bytes);
	metric_head(f, "xdpns_zone_transfer_failures_total", "counter",
		    "Failed refreshes, by reason.");
	for (i = 0; i < d->eng.n_zones; i++)
		for (k = 1; d->dz[i].cz->n_primaries && k < XFR_R_COUNT; k++)
			zone_sample(
			    f, "xdpns_zone_transfer_failures_total",
			    d->dz[i].cz->name,
			    ","
			    "reason=\"%s\"} %llu\n",
			    xfr_reason_name(k),
			    (unsigned long long)d->dz[i].rz.st.fails[k]);
	metric_head(f, "xdpns_zone_notify_total", "counter",
		    "NOTIFY messages, by result.");
	for (i = 0; i < d->eng.n_zones; i++) {
		if (!d->dz[i].cz->n_primaries)
			continue;
		zone_sample(f, "xdpns_zone_notify_total", d->dz[i].cz->name,
			    ",result=\"accepted\"} %llu\n",
			    (unsigned long long)d->dz[i].rz.st.notify_accepted);
		zone_sample(f, "xdpns_zone_notify_total", d->dz[i].cz->name,
			    ",result=\"refused\"} %llu\n",
			    (unsigned long long)d->dz[i].rz.st.notify_refused);
	}
	metric_head(f, "xdpns_zone_transfer_duration_seconds", "histogram",
		    "Duration of IXFR and AXFR transfers.");
	for (i = 0; i < d->eng.n_zones; i++) {
		const struct refresh_stats *st = &d->dz[i].rz.st;

		if (!d->dz[i].cz->n_primaries)
			continue;
		for (k = 0; k < REFRESH_DUR_BUCKETS; k++)
			zone_sample(
			    f, "xdpns_zone_transfer_duration_seconds_bucket",
			    d->dz[i].cz->name,
			    ","
			    "le=\"%g\"} %llu\n",
			    refresh_dur_le[k],
			    (unsigned long long)st->dur_bucket[k]);
		zone_sample(f, "xdpns_zone_transfer_duration_seconds_bucket",
			    d->dz[i].cz->name,
			    ","
			    "le=\"+Inf\"} %llu\n",
			    (unsigned long long)st->dur_count);
		zone_sample(f, "xdpns_zone_transfer_duration_seconds_sum",
			    d->dz[i].cz->name, "} %.3f\n",
			    st->dur_sum_ms / 1000.0);
		zone_sample(f, "xdpns_zone_transfer_duration_seconds_count",
			    d->dz[i].cz->name, "} %llu\n",
			    (unsigned long long)st->dur_count);
	}
	report_zone_counters(d, f, ZC_PROM);
}

static void report_stats(struct daemon *d, FILE *f, int json)
{
	uint64_t c[XDPNS_CNT_COUNT];
	struct server_stats ss;
	struct mapsync_stats ms;
	int i, first;

	memset(c, 0, sizeof(c));
	loader_counters(&d->loader, c);
	server_get_stats(d->srv, &ss);
	mapsync_get_stats(d->ms, &ms);
	if (json) {
		fprintf(f, "{\"xdp\":{");
		for (i = 0; i < (int)N_XDP_COUNTERS; i++)
			fprintf(f, "\"%s\":%llu,", xdp_counters[i].json,
				(unsigned long long)c[xdp_counters[i].idx]);
		fprintf(f, "\"passed\":{");
		for (i = 0; i < XDPNS_PASS_COUNT; i++)
			fprintf(f, "%s\"%s\":%llu", i ? "," : "", pass_names[i],
				(unsigned long long)c[XDPNS_CNT_PASS_BASE + i]);
		fprintf(f, "},\"rcode\":{");
		for (i = 0, first = 1; i < 16; i++) {
			fprintf(f, "%s\"%s\":%llu", first ? "" : ",", rcode_names[i],
				(unsigned long long)c[XDPNS_CNT_RCODE_BASE + i]);
			first = 0;
		}
		fprintf(f, "},\"rrl\":");
		rrl_json(f, &c[XDPNS_CNT_RRL_BASE]);
		fprintf(f, ",\"pass_limited\":{\"prefix\":%llu,\"total\":%llu",
			(unsigned long long)c[XDPNS_CNT_PASS_LIMIT_PREFIX],
			(unsigned long long)c[XDPNS_CNT_PASS_LIMIT_TOTAL]);
		fprintf(f, "}},\"slowpath\":{\"udp_queries\":%llu,"
			   "\"tcp_queries\":%llu,\"responses\":%llu,"
			   "\"truncated\":%llu,\"no_reply\":%llu,"
			   "\"tcp_refused\":%llu,\"rcode\":{",
			(unsigned long long)ss.udp_queries,
			(unsigned long long)ss.tcp_queries,
			(unsigned long long)ss.responses,
			(unsigned long long)ss.truncated,
			(unsigned long long)ss.no_reply,
			(unsigned long long)ss.tcp_refused);
		for (i = 0; i <= 16; i++)
			fprintf(f, "%s\"%s\":%llu", i ? "," : "", rcode_names[i],
				(unsigned long long)ss.rcode[i]);
		fprintf(f, "},\"rrl\":");
		rrl_json(f, &ss.rrl[0][0]);
		fprintf(f, "},\"maps\":{\"entries\":%llu,\"entries_overflow\":%llu,"
			   "\"blobs_xs\":%llu,\"blobs_s\":%llu,"
			   "\"blobs_m\":%llu,\"blobs_l\":%llu,\"blob_bytes\":%llu,"
			   "\"publishes\":%llu,\"last_publish_us\":%llu,"
			   "\"last_publish_compiled\":%llu,\"last_publish_written\":%llu,"
			   "\"lru_inserts\":%llu,\"names\":%llu,\"nx_zones\":%llu,"
			   "\"last_publish_names_written\":%llu,\"last_publish_names_us\":%llu},"
			   "\"zones\":[",
			(unsigned long long)ms.entries,
			(unsigned long long)ms.entries_overflow,
			(unsigned long long)ms.blobs[XDPNS_BLOB_XS],
			(unsigned long long)ms.blobs[XDPNS_BLOB_S],
			(unsigned long long)ms.blobs[XDPNS_BLOB_M],
			(unsigned long long)ms.blobs[XDPNS_BLOB_L],
			(unsigned long long)ms.blob_bytes,
			(unsigned long long)ms.publishes,
			(unsigned long long)ms.last_publish_us,
			(unsigned long long)ms.last_compiled,
			(unsigned long long)ms.last_written,
			(unsigned long long)ms.lru_inserts,
			(unsigned long long)ms.names,
			(unsigned long long)ms.nx_zones,
			(unsigned long long)ms.last_names_written,
			(unsigned long long)(ms.last_names_find_us +
					     ms.last_names_write_us));
		for (i = 0, first = 1; i < d->eng.n_zones; i++) {
			const struct zone *z = d->eng.zones[i].zone;

			fprintf(f, "%s{\"name\":\"%s\",\"serial\":", first ? "" : ",",
				d->dz[i].cz->name);
			if (z)
				fprintf(f, "%u", z->serial);
			else
				fprintf(f, "null");
			if (d->dz[i].secondary)
				report_xfr_json(d, i, f);
			fprintf(f, "}");
			first = 0;
		}
		fprintf(f, "]");
		report_zone_counters(d, f, ZC_JSON);
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, "XDP\n");
	for (i = 0; i < (int)N_XDP_COUNTERS; i++)
		fprintf(f, "  %-22s %12llu\n", xdp_counters[i].label,
			(unsigned long long)c[xdp_counters[i].idx]);
	for (i = 0; i < XDPNS_PASS_COUNT; i++)
		if (c[XDPNS_CNT_PASS_BASE + i])
			fprintf(f, "  passed %-15s %12llu\n", pass_names[i],
				(unsigned long long)c[XDPNS_CNT_PASS_BASE + i]);
	for (i = 0; i < 16; i++)
		if (c[XDPNS_CNT_RCODE_BASE + i])
			fprintf(f, "  rcode %-16s %12llu\n", rcode_names[i],
				(unsigned long long)c[XDPNS_CNT_RCODE_BASE + i]);
	rrl_text(f, &c[XDPNS_CNT_RRL_BASE]);
	if (c[XDPNS_CNT_PASS_LIMIT_PREFIX])
		fprintf(f, "  %-22s %12llu\n", "pass-limited prefix",
			(unsigned long long)c[XDPNS_CNT_PASS_LIMIT_PREFIX]);
	if (c[XDPNS_CNT_PASS_LIMIT_TOTAL])
		fprintf(f, "  %-22s %12llu\n", "pass-limited total",
			(unsigned long long)c[XDPNS_CNT_PASS_LIMIT_TOTAL]);
	fprintf(f, "Slow path\n");
	fprintf(f, "  %-22s %12llu\n", "udp queries", (unsigned long long)ss.udp_queries);
	fprintf(f, "  %-22s %12llu\n", "tcp queries", (unsigned long long)ss.tcp_queries);
	fprintf(f, "  %-22s %12llu\n", "responses", (unsigned long long)ss.responses);
	fprintf(f, "  %-22s %12llu\n", "truncated", (unsigned long long)ss.truncated);
	fprintf(f, "  %-22s %12llu\n", "no reply", (unsigned long long)ss.no_reply);
	for (i = 0; i <= 16; i++)
		if (ss.rcode[i])
			fprintf(f, "  rcode %-16s %12llu\n", rcode_names[i],
				(unsigned long long)ss.rcode[i]);
	rrl_text(f, &ss.rrl[0][0]);
	fprintf(f, "Maps\n");
	fprintf(f, "  %-22s %12llu\n", "entries", (unsigned long long)ms.entries);
	fprintf(f, "  %-22s %12llu\n", "  in overflow hashes",
		(unsigned long long)ms.entries_overflow);
	fprintf(f, "  %-22s %12llu\n", "blob bytes", (unsigned long long)ms.blob_bytes);
	fprintf(f, "  %-22s %12llu\n", "names (NXDOMAIN)", (unsigned long long)ms.names);
	for (i = 0, first = 1; i < d->eng.n_zones; i++) {
		if (!d->dz[i].secondary)
			continue;
		if (first)
			fprintf(f, "Transfers\n");
		first = 0;
		report_xfr_text(d, i, f);
	}
	report_zone_counters(d, f, ZC_TEXT);
}

static void report_status(struct daemon *d, FILE *f, int json)
{
	int i, first;

	if (json) {
		fprintf(f, "{\"identity\":\"%s\",\"uptime\":%lld,\"interfaces\":[",
			d->cfg.identity, (long long)(time(NULL) - d->started));
		for (i = 0; i < d->loader.n_ifs; i++)
			fprintf(f, "%s{\"name\":\"%s\",\"mode\":\"%s\"}", i ? "," : "",
				d->loader.ifs[i].name,
				d->loader.ifs[i].generic ? "generic" : "native");
		fprintf(f, "],\"zones\":[");
		for (i = 0; i < d->eng.n_zones; i++) {
			const struct zone *z = d->eng.zones[i].zone;

			fprintf(f, "%s{\"name\":\"%s\",\"loaded\":%s", i ? "," : "",
				d->dz[i].cz->name, z ? "true" : "false");
			if (z)
				fprintf(f, ",\"serial\":%u,\"records\":%zu,"
					   "\"xdp_entries\":%llu,\"generation\":%u,"
					   "\"xdp_names\":%llu,\"xdp_nxdomain\":%s",
					z->serial, z->n_records,
					(unsigned long long)mapsync_zone_entries(
						d->ms, d->eng.zones[i].slot),
					mapsync_generation(d->ms, d->eng.zones[i].slot),
					(unsigned long long)mapsync_zone_names(
						d->ms, d->eng.zones[i].slot),
					mapsync_zone_nx(d->ms, d->eng.zones[i].slot) > 0 ?
						"true" : "false");
			if (d->dz[i].secondary)
				report_xfr_json(d, i, f);
			if (d->dz[i].error[0]) {
				const char *p;

				fprintf(f, ",\"error\":\"");
				for (p = d->dz[i].error; *p; p++)
					fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
				fprintf(f, "\"");
			}
			fprintf(f, "}");
		}
		fprintf(f, "]}\n");
		return;
	}
	fprintf(f, "identity %s, up %llds\n", d->cfg.identity,
		(long long)(time(NULL) - d->started));
	fprintf(f, "%-16s %-8s\n", "INTERFACE", "MODE");
	for (i = 0; i < d->loader.n_ifs; i++)
		fprintf(f, "%-16s %-8s\n", d->loader.ifs[i].name,
			d->loader.ifs[i].generic ? "generic" : "native");
	if (!d->loader.n_ifs)
		fprintf(f, "(no interface attached: slow path only)\n");
	fprintf(f, "%-32s %12s %10s %10s  %s\n", "ZONE", "SERIAL", "RECORDS",
		"ENTRIES", "STATE");
	for (i = 0; i < d->eng.n_zones; i++) {
		const struct zone *z = d->eng.zones[i].zone;

		fprintf(f, "%-32s %12u %10zu %10llu  %s%s%s\n", d->dz[i].cz->name,
			z ? z->serial : 0, z ? z->n_records : 0,
			(unsigned long long)mapsync_zone_entries(
				d->ms, d->eng.zones[i].slot),
			!z ? "not loaded" : d->eng.zones[i].expired ? "EXPIRED" : "served",
			d->dz[i].error[0] ? "; last load failed: " : "",
			d->dz[i].error);
	}
	for (i = 0, first = 1; i < d->eng.n_zones; i++) {
		if (!d->dz[i].secondary)
			continue;
		if (first)
			fprintf(f, "Transfers\n");
		first = 0;
		report_xfr_text(d, i, f);
	}
}

/* ---- control requests ---- */

static int control_lookup(struct daemon *d, const char *args, FILE *f, int json);

/* "refresh NAME" or "retransfer NAME" */
/* zone list: one line per zone, columns that fit 100. */
static int zone_list(struct daemon *d, FILE *f)
{
	int i;

	fprintf(f, "%-34s %-9s %12s %10s %10s  %s\n", "ZONE", "KIND", "SERIAL",
		"RECORDS", "ENTRIES", "STATE");
	for (i = 0; i < d->eng.n_zones; i++) {
		const struct zone *z = d->eng.zones[i].zone;

		fprintf(f, "%-34s %-9s %12u %10zu %10llu  %s\n", d->dz[i].cz->name,
			d->dz[i].secondary ? "secondary" : "primary",
			z ? z->serial : 0, z ? z->n_records : 0,
			(unsigned long long)mapsync_zone_entries(d->ms,
								 d->eng.zones[i].slot),
			!z ? "no data" : d->eng.zones[i].expired ? "EXPIRED" : "served");
	}
	return 1;
}

/* zone show NAME: everything known about one zone. */
static int zone_show(struct daemon *d, int i, FILE *f)
{
	const struct zone *z = d->eng.zones[i].zone;
	const struct dzone *dz = &d->dz[i];
	time_t now = time(NULL);
	int k;

	fprintf(f, "zone       %s\n", dz->cz->name);
	fprintf(f, "kind       %s\n", dz->secondary ? "secondary" : "primary (file)");
	if (dz->cz->file)
		fprintf(f, "file       %s\n", dz->cz->file);
	fprintf(f, "state      %s\n", !z ? "no data" :
			d->eng.zones[i].expired ? "EXPIRED (SERVFAIL)" : "served");
	if (z) {
		fprintf(f, "serial     %u\n", z->serial);
		fprintf(f, "records    %zu in %zu RRsets at %zu names%s\n",
			z->n_records, z->n_rrsets, z->n_nodes,
			z->signed_zone ? ", signed" : "");
		if (z->signed_zone)
			fprintf(f, "denial     %s\n", z->nsec3_ok ? "NSEC3" : "NSEC");
	}
	fprintf(f, "xdp        %llu entries, generation %u\n",
		(unsigned long long)mapsync_zone_entries(d->ms, d->eng.zones[i].slot),
		mapsync_generation(d->ms, d->eng.zones[i].slot));
	fprintf(f, "nxdomain   %s, %llu names\n",
		mapsync_zone_nx(d->ms, d->eng.zones[i].slot) > 0 ? "made in XDP" :
		z && z->signed_zone ? "slow path (signed zone)" : "slow path",
		(unsigned long long)mapsync_zone_names(d->ms, d->eng.zones[i].slot));
	if (dz->secondary) {
		const struct refresh_zone *rz = &dz->rz;

		fprintf(f, "primaries ");
		for (k = 0; k < dz->cz->n_primaries; k++)
			fprintf(f, " %s (%s)%s", d->cfg.remotes[dz->cz->primaries[k]].id,
				d->cfg.remotes[dz->cz->primaries[k]].addr.text,
				k == rz->last_primary ? " [last used]" : "");
		fprintf(f, "\nremote     serial %u\n", rz->remote_serial);
		fprintf(f, "timers     next refresh in %llds",
			(long long)(rz->job ? 0 : rz->next_refresh > now ?
						   rz->next_refresh - now : 0));
		if (rz->expire_at)
			fprintf(f, ", expires in %llds", (long long)(rz->expire_at - now));
		fprintf(f, "\n");
		report_xfr_text(d, i, f);
	}
	if (dz->error[0])
		fprintf(f, "last error %s\n", dz->error);
	return 1;
}

static int control_zone(struct daemon *d, const char *args, FILE *f)
{
	char verb[16], name[300];
	size_t n;
	int i, force;

	if (!strcmp(args, "list"))
		return zone_list(d, f);
	if (sscanf(args, "%15s %295s", verb, name) != 2 ||
	    (strcmp(verb, "refresh") && strcmp(verb, "retransfer") &&
	     strcmp(verb, "show"))) {
		fprintf(f, "usage: zone list | zone show|refresh|retransfer NAME\n");
		return 0;
	}
	force = !strcmp(verb, "retransfer");
	n = strlen(name);
	if (n && name[n - 1] != '.' && n + 1 < sizeof(name)) {
		name[n++] = '.';
		name[n] = 0;
	}
	for (i = 0; name[i]; i++)
		name[i] = tolower((unsigned char)name[i]);
	for (i = 0; i < d->eng.n_zones; i++)
		if (!strcmp(d->dz[i].cz->name, name))
			break;
	if (i == d->eng.n_zones) {
		fprintf(f, "no zone %s in the configuration; see xdpns status\n",
			name);
		return 0;
	}
	if (!strcmp(verb, "show"))
		return zone_show(d, i, f);
	if (!d->dz[i].secondary) {
		fprintf(f, "zone %s has no primaries (it is served from %s); use "
			   "xdpns reload\n", name, d->dz[i].cz->file);
		return 0;
	}
	if (zone_refresh_now(d, i, force) == 1)
		fprintf(f, "zone %s: a transfer is running; %s queued after it\n",
			name, verb);
	else
		fprintf(f, "zone %s: %s started\n", name, verb);
	return 1;
}

/* ---- reload: configuration and zone files ---- */

static int storage_prepare(const struct config *cfg, const char *storage);

static int str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

static int listen_differs(const struct config_listen *a, int na,
			  const struct config_listen *b, int nb)
{
	int i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++)
		if (a[i].addrlen != b[i].addrlen ||
		    memcmp(&a[i].addr, &b[i].addr, a[i].addrlen))
			return 1;
	return 0;
}

static int key_same(const struct config_key *x, const struct config_key *y)
{
	return !strcmp(x->name, y->name) && x->alg == y->alg &&
	       x->secret_len == y->secret_len &&
	       !memcmp(x->secret, y->secret, x->secret_len);
}

static int remote_same(const struct config *a, int ra, const struct config *b,
		       int rb)
{
	const struct config_remote *x = &a->remotes[ra], *y = &b->remotes[rb];
	int k;

	if (strcmp(x->id, y->id) || x->n_keys != y->n_keys ||
	    listen_differs(&x->addr, 1, &y->addr, 1))
		return 0;
	for (k = 0; k < x->n_keys; k++)
		if (!key_same(&a->keys[x->keys[k]], &b->keys[y->keys[k]]))
			return 0;
	return 1;
}

/* Two lists of remotes (indexes into a's and b's remotes) are the same:
 * same ids, addresses, keys and secrets, in the same order. */
static int remotes_same(const struct config *a, const int *ia, int na,
			const struct config *b, const int *ib, int nb)
{
	int k;

	if (na != nb)
		return 0;
	for (k = 0; k < na; k++)
		if (!remote_same(a, ia[k], b, ib[k]))
			return 0;
	return 1;
}

#define SWAP(a, b)                                                             \
	do {                                                                   \
		__typeof__(a) t_ = (a);                                        \
		(a) = (b);                                                     \
		(b) = t_;                                                      \
	} while (0)

static int iface_listed(const struct config *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_ifaces; i++)
		if (!strcmp(c->ifaces[i], name))
			return 1;
	return 0;
}

static void needs_restart(FILE *f, const char *key, const char *why)
{
	if (why) {
		fprintf(f, "needs restart: %s (%s)\n", key, why);
		log_warn_kv("reload: needs restart", "key=%s reason=%s", key, why);
	} else {
		fprintf(f, "needs restart: %s\n", key);
		log_warn_kv("reload: needs restart", "key=%s", key);
	}
}

/* server.interfaces: attach the new ones (in the running xdp-mode) before
 * detaching those no longer listed; when one cannot be attached, those
 * just attached are detached again and nothing changes. Returns 1 when
 * applied. */
static int reload_ifaces(struct daemon *d, const struct config *nc, FILE *f)
{
	const struct config *oc = &d->cfg;
	int att[CONFIG_MAX_IFACES] = { 0 }, i, r;
	char why[200];

	for (i = 0; i < nc->n_ifaces; i++) {
		if (iface_listed(oc, nc->ifaces[i]))
			continue;
		r = loader_attach(&d->loader, nc->ifaces[i], oc->xdp_mode);
		if (r == -EEXIST) /* attached by hand already */
			continue;
		if (r) {
			snprintf(why, sizeof(why), "attaching %s: %s", nc->ifaces[i],
				 strerror(-r));
			while (i--)
				if (att[i])
					loader_detach(&d->loader, nc->ifaces[i]);
			needs_restart(f, "server.interfaces", why);
			return 0;
		}
		att[i] = 1;
		fprintf(f, "interface %s: XDP attached\n", nc->ifaces[i]);
	}
	for (i = 0; i < oc->n_ifaces; i++) {
		if (iface_listed(nc, oc->ifaces[i]))
			continue;
		r = loader_detach(&d->loader, oc->ifaces[i]);
		if (r && r != -ENOENT) /* -ENOENT: detached by hand already */
			fprintf(f, "interface %s: detaching XDP failed: %s\n",
				oc->ifaces[i], strerror(-r));
		else
			fprintf(f, "interface %s: XDP detached\n", oc->ifaces[i]);
	}
	return 1;
}

/* server.metrics: the new listener opened before the old one is closed.
 * Returns 1 when applied. */
static int reload_metrics(struct daemon *d, const struct config *nc, FILE *f)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char why[200];
	int fd = -1;

	if (nc->has_metrics) {
		fd = metrics_listen(&nc->metrics);
		ev.data.fd = fd;
		if (fd >= 0 && epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			fd = -errno;
		}
		if (fd < 0) {
			snprintf(why, sizeof(why), "%s: %s", nc->metrics.text,
				 strerror(-fd));
			needs_restart(f, "server.metrics", why);
			return 0;
		}
	}
	if (d->metricsfd >= 0)
		close(d->metricsfd);
	d->metricsfd = fd;
	fprintf(f, "server.metrics changed: %s\n",
		nc->has_metrics ? nc->metrics.text : "off");
	log_info_kv("reload: metrics changed", "address=%s",
		    nc->has_metrics ? nc->metrics.text : "off");
	return 1;
}

/* Server settings. interfaces, listen and metrics are applied when every
 * new one can be opened before the old ones close; control, storage,
 * user and xdp-mode only change with a restart. Each one not applied is
 * reported "needs restart: KEY" and keeps its running value in d->cfg (nc
 * gets the unapplied one, freed with it). Returns how many. */
static int reload_restart_keys(struct daemon *d, struct config *nc, FILE *f)
{
	struct config *oc = &d->cfg;
	int n = 0, i, ifs = oc->n_ifaces != nc->n_ifaces;
	int ifs_done = 0, listen_done = 0, metrics_done = 0;
	char why[200];

	for (i = 0; !ifs && i < oc->n_ifaces; i++)
		ifs = strcmp(oc->ifaces[i], nc->ifaces[i]) != 0;
	if (ifs) {
		ifs_done = reload_ifaces(d, nc, f);
		n += !ifs_done;
	}
	if (listen_differs(oc->listen, oc->n_listen, nc->listen, nc->n_listen)) {
		/* new sockets first, then the old ones closed */
		listen_done = !server_relisten(d->srv, nc, why, sizeof(why));
		if (listen_done) {
			fprintf(f, "server.listen changed: listening on the new "
				   "addresses\n");
			log_info_kv("reload: listen changed", "listen=%d",
				    nc->n_listen);
		} else {
			needs_restart(f, "server.listen", why);
			n++;
		}
	}
	if (oc->has_metrics != nc->has_metrics ||
	    (nc->has_metrics && listen_differs(&oc->metrics, 1, &nc->metrics, 1))) {
		metrics_done = reload_metrics(d, nc, f);
		n += !metrics_done;
	}
#define RESTART(cond, key)                                                     \
	do {                                                                   \
		if (cond) {                                                    \
			n++;                                                   \
			needs_restart(f, key, NULL);                           \
		}                                                              \
	} while (0)
	RESTART(str_differs(oc->control, nc->control), "server.control");
	RESTART(str_differs(oc->storage, nc->storage), "server.storage");
	RESTART(str_differs(oc->user, nc->user), "server.user");
	RESTART(str_differs(oc->xdp_mode, nc->xdp_mode), "server.xdp-mode");
#undef RESTART
	/* what runs stays in d->cfg */
	if (!ifs_done) {
		for (i = 0; i < CONFIG_MAX_IFACES; i++) {
			SWAP(oc->ifaces[i], nc->ifaces[i]);
			SWAP(oc->iface_line[i], nc->iface_line[i]);
		}
		SWAP(oc->n_ifaces, nc->n_ifaces);
	}
	if (!listen_done) {
		for (i = 0; i < CONFIG_MAX_LISTEN; i++)
			SWAP(oc->listen[i], nc->listen[i]);
		SWAP(oc->n_listen, nc->n_listen);
	}
	if (!metrics_done) {
		SWAP(oc->has_metrics, nc->has_metrics);
		SWAP(oc->metrics, nc->metrics);
	}
	SWAP(oc->control, nc->control);
	SWAP(oc->storage, nc->storage);
	SWAP(oc->user, nc->user);
	SWAP(oc->xdp_mode, nc->xdp_mode);
	return n;
}

/* What reload prepares for each zone of the new configuration before
 * anything changes. */
struct reload_zone {
	int old; /* index in the running zones, -1: added */
	struct zone *fresh; /* data to publish (a file, or saved data) */
	int new_rz; /* rz below is new (an added or newly secondary zone) */
	struct refresh_zone rz;
	struct stat file_st; /* of the file loaded into fresh */
	int file_st_ok;
	char error[600]; /* the file did not load: keeps serving old data */
};

static int find_zone(const struct daemon *d, const char *name)
{
	int i;

	for (i = 0; i < d->eng.n_zones; i++)
		if (!strcmp(d->dz[i].cz->name, name))
			return i;
	return -1;
}

/* A job of a zone no longer a secondary, or gone: abandoned, nothing it
 * did is served (its file may be saved, harmlessly). */
static void job_abandon(struct refresh_zone *rz)
{
	struct xfr_job *j = rz->job;

	if (!j)
		return;
	j->cancel = 1;
	xfr_join(j);
	zone_free(j->zone);
	free(j);
	rz->job = NULL;
	rz->pending = rz->pending_force = 0;
}

static void reload_free(struct reload_zone *rl, int n)
{
	int j;

	for (j = 0; rl && j < n; j++)
		zone_free(rl[j].fresh);
	free(rl);
}

/* Phase one: read and check everything; nothing served changes. Returns
 * 0, or -EINVAL with err set (the reload is rejected). */
static int reload_prepare(struct daemon *d, struct config *nc,
			  struct reload_zone *rl, char *err, size_t errlen)
{
	int j, kept = 0, added = 0;

	if (storage_prepare(nc, d->cfg.storage)) {
		snprintf(err, errlen, "%s: server.storage: %s is not a usable "
			 "directory", nc->path, d->cfg.storage);
		return -EINVAL;
	}
	for (j = 0; j < nc->n_zones; j++) {
		const struct config_zone *cz = &nc->zones[j];
		struct reload_zone *r = &rl[j];
		int i = find_zone(d, cz->name), e;
		const struct dzone *od = i >= 0 ? &d->dz[i] : NULL;
		char zerr[512];

		r->old = i;
		if (i >= 0)
			kept++;
		else
			added++;
		if (cz->n_primaries) {
			if (od && od->secondary)
				continue; /* keeps its state and data */
			r->new_rz = 1;
			/* serve what was saved, if anything; else the old
			 * data (a file zone turned secondary) until the
			 * first transfer */
			if (refresh_init(&r->rz, &d->cfg, cz) == 1 &&
			    (!od || !d->eng.zones[i].zone)) {
				e = zone_load_file(r->rz.zone_path, cz->name,
						   &r->fresh, zerr, sizeof(zerr));
				if (e)
					log_warn_kv("saved zone not usable, "
						    "transferring it again",
						    "zone=%s file=%s error=%s",
						    cz->name, r->rz.zone_path, zerr);
			}
			continue;
		}
		/* a zone from a file: read it unless it is the one served */
		if (od && !od->secondary && !strcmp(od->cz->file, cz->file) &&
		    zone_file_unchanged(od, d->eng.zones[i].zone))
			continue;
		e = zone_file_load(cz->name, cz->file, &r->fresh, zerr, sizeof(zerr),
				   &r->file_st, &r->file_st_ok);
		if (!e)
			continue;
		if (od && !od->secondary && !strcmp(od->cz->file, cz->file)) {
			/* as before the reload: the old data stays served */
			snprintf(r->error, sizeof(r->error), "%s", zerr);
			continue;
		}
		/* a new zone (or a new file) that does not load: a restart
		 * with this configuration would fail, so nothing changes */
		snprintf(err, errlen, "%s:%d: zones[%d] %s: %s", nc->path, cz->line,
			 j, cz->name, zerr);
		return -EINVAL;
	}
	if (kept + added > XDPNS_MAX_ZONES) {
		snprintf(err, errlen, "%s: zones: %d zones, at most %d", nc->path,
			 nc->n_zones, XDPNS_MAX_ZONES);
		return -EINVAL;
	}
	return 0;
}

/* Re-read the configuration and the zone files; apply all that can change
 * live, report what needs a restart. Replies into f; returns 1 when all
 * went well, 0 when rejected (nothing changed) or a zone failed. */
/* The rate limits (rrl, server.pass-limit*, and the primaries, which the
 * pass limits exempt) differ between two configurations. */
static int limits_differ(const struct config *a, const struct config *b)
{
	const struct config_rrl *x = &a->rrl, *y = &b->rrl;
	int i;

	if (x->enabled != y->enabled || x->rate != y->rate ||
	    x->slip != y->slip || x->window != y->window ||
	    x->ipv4_prefix != y->ipv4_prefix || x->ipv6_prefix != y->ipv6_prefix ||
	    x->n_exempt != y->n_exempt || a->pass_limit != b->pass_limit ||
	    a->pass_limit_prefix != b->pass_limit_prefix ||
	    a->n_remotes != b->n_remotes)
		return 1;
	for (i = 0; i < x->n_exempt; i++)
		if (x->exempt[i].family != y->exempt[i].family ||
		    x->exempt[i].len != y->exempt[i].len ||
		    memcmp(x->exempt[i].addr, y->exempt[i].addr, 16))
			return 1;
	for (i = 0; i < a->n_remotes; i++)
		if (listen_differs(&a->remotes[i].addr, 1, &b->remotes[i].addr, 1))
			return 1;
	return 0;
}

/* Applies nc's rate limits to XDP and the slow path when they changed;
 * 1 when they could not be (reported as needing a restart; the running
 * ones are kept, in nc too). */
static int reload_limits(struct daemon *d, struct config *nc, FILE *f)
{
	struct loader_limit_fds lf;
	int r;

	if (!limits_differ(&d->cfg, nc))
		return 0;
	loader_limit_fds(&d->loader, &lf);
	r = rrl_bpf_setup(nc, lf.limits, lf.exempt, rrl_ncpus());
	if (!r)
		r = server_set_rrl(d->srv, nc);
	if (r) {
		/* XDP may hold part of the new limits: put the old back */
		rrl_bpf_setup(&d->cfg, lf.limits, lf.exempt, rrl_ncpus());
		needs_restart(f, "rrl", strerror(-r));
		/* what runs stays in d->cfg */
		SWAP(d->cfg.rrl, nc->rrl);
		SWAP(d->cfg.pass_limit, nc->pass_limit);
		SWAP(d->cfg.pass_limit_prefix, nc->pass_limit_prefix);
		return 1;
	}
	fprintf(f, "rate limits changed: rrl %s, pass-limit %u, "
		   "pass-limit-prefix %u\n", nc->rrl.enabled ? "on" : "off",
		nc->pass_limit, nc->pass_limit_prefix);
	log_info_kv("reload: rate limits changed",
		    "rrl=%s rate=%u slip=%u pass_limit=%u pass_limit_prefix=%u",
		    nc->rrl.enabled ? "on" : "off", nc->rrl.rate, nc->rrl.slip,
		    nc->pass_limit, nc->pass_limit_prefix);
	return 0;
}

static int daemon_reload(struct daemon *d, FILE *f)
{
	struct config nc, oc;
	struct reload_zone *rl = NULL;
	struct dzone *ndz = NULL, *odz;
	struct engine_zone *nez = NULL, *oez;
	struct refresh_zone **nrzs = NULL;
	uint8_t *used = NULL;
	char err[CONFIG_ERR_LEN + 600];
	int i, j, r, n_old = d->eng.n_zones, ok = 1, added = 0, removed = 0;
	int changed = 0, restart, *republish = NULL;

	memset(&nc, 0, sizeof(nc));
	r = config_load(d->cfg.path, &nc, err, sizeof(err));
	if (!r) {
		rl = calloc(nc.n_zones ? nc.n_zones : 1, sizeof(*rl));
		ndz = calloc(nc.n_zones ? nc.n_zones : 1, sizeof(*ndz));
		nez = calloc(nc.n_zones ? nc.n_zones : 1, sizeof(*nez));
		nrzs = calloc(nc.n_zones ? nc.n_zones : 1, sizeof(*nrzs));
		used = calloc(XDPNS_MAX_ZONES, 1);
		republish = calloc(nc.n_zones ? nc.n_zones : 1, sizeof(*republish));
		if (!rl || !ndz || !nez || !nrzs || !used || !republish) {
			snprintf(err, sizeof(err), "out of memory");
			r = -ENOMEM;
		}
	}
	if (!r)
		r = reload_prepare(d, &nc, rl, err, sizeof(err));
	if (r) {
		fprintf(f, "reload rejected, nothing changed: %s\n", err);
		log_err_kv("reload rejected", "config=%s error=%s", d->cfg.path, err);
		reload_free(rl, nc.n_zones);
		free(ndz);
		free(nez);
		free(nrzs);
		free(used);
		free(republish);
		config_free(&nc);
		return 0;
	}

	/* phase two: nothing below is refused. A save thread holds its zone
	 * entry, which moves to the new table below: let it end first (it
	 * also frees the zone a transfer replaced) */
	for (i = 0; i < n_old; i++)
		zone_saver_join(d, i, 0);
	restart = reload_restart_keys(d, &nc, f);
	restart += reload_limits(d, &nc, f);
	for (j = 0; j < nc.n_zones; j++)
		if (rl[j].old >= 0)
			used[d->eng.zones[rl[j].old].slot] = 1;
	for (j = 0; j < nc.n_zones; j++) {
		struct reload_zone *rz = &rl[j];
		const struct config_zone *cz = &nc.zones[j];

		if (rz->old >= 0) {
			ndz[j] = d->dz[rz->old];
			nez[j] = d->eng.zones[rz->old];
		} else {
			uint32_t s = 0;

			while (used[s])
				s++;
			used[s] = 1;
			nez[j].slot = s;
			server_reset_zone_stats(d->srv, s);
			loader_zone_counters_reset(&d->loader, s);
		}
		ndz[j].cz = cz;
		if (rz->new_rz) {
			job_abandon(&ndz[j].rz); /* none: not a secondary before */
			ndz[j].rz = rz->rz;
			ndz[j].rz.next_refresh = 0; /* ask the primaries now */
		} else if (cz->n_primaries &&
			   (!remotes_same(&d->cfg, d->dz[rz->old].cz->primaries,
					  d->dz[rz->old].cz->n_primaries, &nc,
					  cz->primaries, cz->n_primaries))) {
			/* new primaries, addresses, keys or secrets: start
			 * over with them (an SOA query first: an unchanged
			 * zone is not transferred again) */
			ndz[j].rz.last_primary = -1;
			memset(ndz[j].rz.key_idx, 0, sizeof(ndz[j].rz.key_idx));
			if (ndz[j].rz.job) {
				ndz[j].rz.pending = 1;
				ndz[j].stale_job = 1;
			} else
				ndz[j].rz.next_refresh = 0;
			fprintf(f, "zone %s: primaries changed, refreshing\n",
				cz->name);
			log_info_kv("zone primaries changed", "zone=%s action=refresh",
				    cz->name);
			changed++;
		} else if (cz->n_primaries &&
			   !remotes_same(&d->cfg, d->dz[rz->old].cz->notify_from,
					 d->dz[rz->old].cz->n_notify_from, &nc,
					 cz->notify_from, cz->n_notify_from)) {
			fprintf(f, "zone %s: notify-from changed\n", cz->name);
			log_info_kv("zone notify-from changed", "zone=%s", cz->name);
			changed++;
		}
		if (!cz->n_primaries) {
			if (rz->old >= 0 && d->dz[rz->old].secondary) {
				job_abandon(&ndz[j].rz);
				memset(&ndz[j].rz, 0, sizeof(ndz[j].rz));
			}
			if (rz->fresh) {
				ndz[j].file_st = rz->file_st;
				ndz[j].file_st_ok = rz->file_st_ok;
			}
		}
		ndz[j].secondary = cz->n_primaries > 0;
		if (ndz[j].secondary && cz->file && !rz->new_rz &&
		    strcmp(cz->file, ndz[j].rz.zone_path)) /* saved elsewhere now */
			snprintf(ndz[j].rz.zone_path, sizeof(ndz[j].rz.zone_path),
				 "%s", cz->file);
		ndz[j].rz.cfg = &d->cfg;
		ndz[j].rz.cz = cz;
		nrzs[j] = &ndz[j].rz;
	}
	/* zones gone: their transfers abandoned (they run on copies) */
	for (i = 0; i < n_old; i++) {
		for (j = 0; j < nc.n_zones && rl[j].old != i; j++)
			;
		if (j == nc.n_zones)
			job_abandon(&d->dz[i].rz);
	}

	/* the switch: the new zone table, configuration and engine view */
	oc = d->cfg;
	odz = d->dz;
	oez = d->eng.zones;
	d->cfg = nc;
	for (j = 0; j < d->cfg.n_zones; j++) {
		ndz[j].cz = &d->cfg.zones[j];
		ndz[j].rz.cz = ndz[j].cz;
	}
	d->dz = ndz;
	d->eng.zones = nez;
	d->eng.n_zones = d->cfg.n_zones;
	free(d->rzs);
	d->rzs = nrzs;
	d->eng.identity = d->cfg.identity;
	d->eng.version = d->cfg.version;
	log_set_level((d->cfg.log_level >= 0 ? d->cfg.log_level : LOG_LVL_INFO) +
		      d->verbose);

	/* zones removed: out of XDP (their slot free for later zones), the
	 * slow path no longer knows them: REFUSED, or the enclosing zone */
	for (i = 0; i < n_old; i++) {
		for (j = 0; j < d->eng.n_zones && rl[j].old != i; j++)
			;
		if (j < d->eng.n_zones)
			continue;
		r = mapsync_remove(d->ms, oez[i].slot);
		if (r)
			log_err_kv("removing a zone from the XDP maps failed",
				   "zone=%s reason=%s", odz[i].cz->name, strerror(-r));
		fprintf(f, "zone %s: removed\n", odz[i].cz->name);
		log_info_kv("zone removed", "zone=%s slot=%u", odz[i].cz->name,
			    oez[i].slot);
		removed++;
		/* an enclosing zone answers its names again */
		for (j = 0; j < d->eng.n_zones; j++)
			if (d->eng.zones[j].zone && oez[i].zone &&
			    name_is_subdomain(oez[i].zone->apex, oez[i].zone->apex_len,
					      d->eng.zones[j].zone->apex,
					      d->eng.zones[j].zone->apex_len))
				republish[j] = 1;
		zone_free(oez[i].zone);
	}

	/* new data: added zones, changed files, saved data of new secondaries */
	for (j = 0; j < d->eng.n_zones; j++) {
		struct reload_zone *rz = &rl[j];
		const char *name = d->dz[j].cz->name;
		struct zone *z = rz->fresh;

		rz->fresh = NULL;
		if (rz->old < 0)
			added++;
		if (rz->error[0]) {
			ok = 0;
			snprintf(d->dz[j].error, sizeof(d->dz[j].error), "%s", rz->error);
			fprintf(f, "zone %s: not reloaded, keeps serving serial %u: %s\n",
				name, d->eng.zones[j].zone ? d->eng.zones[j].zone->serial : 0,
				rz->error);
			log_err_kv("zone not loaded", "zone=%s file=%s served=%s error=%s",
				   name, d->dz[j].cz->file, "previous data", rz->error);
			continue;
		}
		if (!z) {
			if (rz->old < 0) {
				fprintf(f, "zone %s: added, transferring\n", name);
				log_info_kv("zone added", "zone=%s slot=%u source=%s",
					    name, d->eng.zones[j].slot, "primaries");
			} else {
				fprintf(f, "zone %s: unchanged, serial %u%s\n", name,
					d->eng.zones[j].zone ?
						d->eng.zones[j].zone->serial : 0,
					d->dz[j].secondary ? " (secondary)" : "");
			}
			continue;
		}
		r = zone_publish(d, j, z);
		if (r) {
			ok = 0;
			fprintf(f, "zone %s: %s\n", name, d->dz[j].error);
			continue;
		}
		if (rz->old < 0) {
			fprintf(f, "zone %s: added, serial %u\n", name,
				d->eng.zones[j].zone->serial);
			log_info_kv("zone added", "zone=%s slot=%u serial=%u source=%s",
				    name, d->eng.zones[j].slot,
				    d->eng.zones[j].zone->serial,
				    d->dz[j].secondary ? "storage" : "file");
		} else {
			fprintf(f, "zone %s: reloaded, serial %u\n", name,
				d->eng.zones[j].zone->serial);
			changed++;
		}
		if (d->dz[j].secondary && !d->dz[j].rz.expire_at) {
			uint32_t rf, rt, ex;

			refresh_soa_timers(d->eng.zones[j].zone, &rf, &rt, &ex);
			d->dz[j].rz.expire_at = time(NULL) + ex;
			refresh_save_timers(&d->dz[j].rz, d->eng.zones[j].zone->serial);
		}
		if (rz->old < 0) /* enclosing zones give up its names */
			for (i = 0; i < d->eng.n_zones; i++)
				if (i != j && d->eng.zones[i].zone &&
				    name_is_subdomain(d->eng.zones[j].zone->apex,
						      d->eng.zones[j].zone->apex_len,
						      d->eng.zones[i].zone->apex,
						      d->eng.zones[i].zone->apex_len) &&
				    d->eng.zones[i].zone->apex_len <
					    d->eng.zones[j].zone->apex_len)
					republish[i] = 1;
	}
	for (j = 0; j < d->eng.n_zones; j++) {
		if (!republish[j] || !d->eng.zones[j].zone)
			continue;
		r = mapsync_publish(d->ms, &d->eng, &d->eng.zones[j]);
		if (r)
			log_err_kv("recompiling an enclosing zone failed",
				   "zone=%s reason=%s", d->dz[j].cz->name, strerror(-r));
		else
			log_info_kv("zone recompiled", "zone=%s reason=%s",
				    d->dz[j].cz->name, "a zone inside it came or went");
	}

	fprintf(f, "configuration reloaded: %d zones, %d added, %d removed, "
		   "%d changed%s\n", d->eng.n_zones, added, removed, changed,
		restart ? "; some settings need a restart" : "");
	log_info_kv("reload done", "config=%s zones=%d added=%d removed=%d "
		    "changed=%d needs_restart=%d ok=%d", d->cfg.path, d->eng.n_zones,
		    added, removed, changed, restart, ok);
	free(odz);
	free(oez);
	free(used);
	free(republish);
	reload_free(rl, d->eng.n_zones);
	config_free(&oc);
	return ok;
}

static void control_handle(struct daemon *d)
{
	char req[CONTROL_MAX_REQ], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int fd, json, ok = 1;

	fd = control_accept(d->ctlfd, req, sizeof(req));
	if (fd < 0)
		return;
	json = strstr(req, "--json") != NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		close(fd);
		return;
	}
	if (!strncmp(req, "stats", 5)) {
		report_stats(d, f, json);
	} else if (!strncmp(req, "status", 6)) {
		report_status(d, f, json);
	} else if (!strncmp(req, "zone ", 5)) {
		ok = control_zone(d, req + 5, f);
	} else if (!strncmp(req, "attach ", 7) || !strncmp(req, "detach ", 7)) {
		char ifname[IF_NAMESIZE + 1] = "", mode[16] = "native";
		int r;

		if (sscanf(req + 7, "%16s %15s", ifname, mode) < 1 ||
		    strlen(ifname) >= IF_NAMESIZE) {
			ok = 0;
			fprintf(f, "usage: attach IFACE [native|generic] | detach IFACE\n");
		} else if (req[0] == 'a') {
			r = loader_attach(&d->loader, ifname, mode);
			ok = !r;
			if (r)
				fprintf(f, "attaching XDP to %s failed: %s\n", ifname,
					r == -EEXIST ? "already attached" : strerror(-r));
			else
				fprintf(f, "%s: XDP attached in %s mode\n", ifname,
					d->loader.ifs[d->loader.n_ifs - 1].generic ?
						"generic" : "native");
		} else {
			r = loader_detach(&d->loader, ifname);
			ok = !r;
			if (r)
				fprintf(f, "detaching XDP from %s failed: %s\n", ifname,
					r == -ENOENT ? "not attached by xdpns" :
						       strerror(-r));
			else
				fprintf(f, "%s: XDP detached; the slow path answers "
					   "its queries\n", ifname);
		}
	} else if (!strncmp(req, "lookup ", 7)) {
		ok = control_lookup(d, req + 7, f, json);
	} else if (!strcmp(req, "reload")) {
		ok = daemon_reload(d, f);
	} else {
		ok = 0;
		fprintf(f, "unknown request '%s'\n", req);
	}
	fclose(f);
	if (send(fd, ok ? "ok\n" : "error: ", ok ? 3 : 7, MSG_NOSIGNAL) > 0)
		send(fd, buf, len, MSG_NOSIGNAL);
	free(buf);
	close(fd);
}

/* "lookup NAME TYPE [do]": what XDP holds for that key. */
static int control_lookup(struct daemon *d, const char *args, FILE *f, int json)
{
	static const char *const cls_name[] = { "none", "S", "M", "L", "XS" };
	char name[300], type[32], opt[16] = "";
	struct mapsync_probe p;
	ldns_rdf *dn;
	ldns_rr_type t;
	uint8_t canon[256];
	size_t len;
	int dnssec_ok, r;

	if (sscanf(args, "%299s %31s %15s", name, type, opt) < 2) {
		fprintf(f, "usage: lookup NAME TYPE [do]\n");
		return 0;
	}
	dnssec_ok = !strcmp(opt, "do");
	t = ldns_get_rr_type_by_name(type);
	dn = ldns_dname_new_frm_str(name);
	if (!t || !dn) {
		fprintf(f, "'%s %s' is not a name and a type\n", name, type);
		if (dn)
			ldns_rdf_deep_free(dn);
		return 0;
	}
	len = ldns_rdf_size(dn);
	name_lower(canon, ldns_rdf_data(dn), len);
	ldns_rdf_deep_free(dn);
	r = mapsync_probe(d->ms, canon, len, t, dnssec_ok, &p);
	if (r) {
		fprintf(f, "reading the maps failed: %s\n", strerror(-r));
		return 0;
	}
	if (json) {
		fprintf(f, "{\"name\":\"%s\",\"type\":\"%s\",\"dnssec_ok\":%s,"
			   "\"hit\":%s,\"source\":\"%s\",\"stale\":%s",
			name, type, dnssec_ok ? "true" : "false",
			p.found ? "true" : "false",
			p.from_nx ? "nxdomain" : p.from_lru ? "lru" : "entries",
			p.stale ? "true" : "false");
		if (p.from_nx) {
			char enc[1024];

			name_to_str(canon + p.nx_encloser_at, enc, sizeof(enc));
			fprintf(f, ",\"encloser\":\"%s\"", enc);
		}
		if (p.found)
			fprintf(f, ",\"zone_slot\":%u,\"generation\":%u,"
				   "\"rcode\":\"%s\",\"aa\":%s,\"answer\":%u,"
				   "\"authority\":%u,\"additional\":%u,"
				   "\"body_bytes\":%d,\"blob_class\":\"%s\"",
				p.zone, p.gen,
				daemon_rcode_name(be16toh(p.hdr.flags) & 0xf),
				be16toh(p.hdr.flags) & 0x0400 ? "true" : "false",
				be16toh(p.hdr.ancount), be16toh(p.hdr.nscount),
				be16toh(p.hdr.arcount),
				p.hdr.len == 0xffff ? -1 : p.hdr.len,
				p.cls < XDPNS_BLOB_CLASSES ? cls_name[p.cls] : "?");
		if (p.found && !p.from_lru && !p.from_nx)
			fprintf(f, ",\"where\":\"%s\",\"table_slot\":%ld,\"probe\":%u",
				p.slot >= 0 ? "table" : p.overflow ? "overflow" : "hash",
				p.slot, p.probe);
		fprintf(f, "}\n");
		return 1;
	}
	if (!p.found) {
		fprintf(f, "%s %s%s: miss%s (XDP passes it to the slow path)\n", name,
			type, dnssec_ok ? " +do" : "",
			p.stale ? ", an entry of an older generation" : "");
		return 1;
	}
	if (p.from_nx) {
		char enc[1024];

		name_to_str(canon + p.nx_encloser_at, enc, sizeof(enc));
		fprintf(f, "%s %s%s: no entry; XDP answers NXDOMAIN from the names "
			   "(closest encloser %s), zone slot %u, generation %u\n",
			name, type, dnssec_ok ? " +do" : "", enc, p.zone, p.gen);
	} else {
		fprintf(f, "%s %s%s: hit in %s, zone slot %u, generation %u\n", name,
			type, dnssec_ok ? " +do" : "",
			p.from_lru ? "the LRU" : "the entries", p.zone, p.gen);
		if (!p.from_lru && p.slot >= 0)
			fprintf(f, "  table slot %ld, %u after its home slot\n", p.slot,
				p.probe);
		else if (!p.from_lru)
			fprintf(f, "  in the %s hash\n", p.overflow ? "overflow" : "long names'");
	}
	fprintf(f, "  rcode %s%s, answer %u, authority %u, additional %u\n",
		daemon_rcode_name(be16toh(p.hdr.flags) & 0xf),
		be16toh(p.hdr.flags) & 0x0400 ? ", AA" : "",
		be16toh(p.hdr.ancount), be16toh(p.hdr.nscount),
		be16toh(p.hdr.arcount));
	if (p.hdr.len == 0xffff)
		fprintf(f, "  body too big for UDP: XDP answers TC=1\n");
	else
		fprintf(f, "  body %u bytes in blob class %s, %u cut points\n",
			p.hdr.len, p.cls < XDPNS_BLOB_CLASSES ? cls_name[p.cls] : "?",
			p.hdr.n_cuts);
	return 1;
}

/* ---- lifecycle ---- */

/* server.storage exists (created, 0750, when missing) when a zone has
 * primaries. */
static int storage_prepare(const struct config *cfg, const char *storage)
{
	struct stat st;
	int i, need = 0;

	for (i = 0; i < cfg->n_zones; i++)
		need |= cfg->zones[i].n_primaries > 0;
	if (!need)
		return 0;
	if (mkdir(storage, 0750) && errno != EEXIST) {
		log_err_kv("cannot create the storage directory",
			   "key=server.storage path=%s reason=%s hint=%s",
			   storage, strerror(errno),
			   "set server.storage to a writable directory");
		return -1;
	}
	if (stat(storage, &st) || !S_ISDIR(st.st_mode)) {
		log_err_kv("storage is not a directory",
			   "key=server.storage path=%s hint=%s", storage,
			   "set server.storage to a writable directory");
		return -1;
	}
	return 0;
}

static int daemon_start(struct daemon *d, const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mapsync_fds fds;
	struct zone **pending = NULL;
	struct mapsync_sizes sizes;
	char err[CONFIG_ERR_LEN];
	sigset_t mask;
	int i, r;

	/* Arrays of 256 KiB and more (key and blob tables, the zone's node
	 * table, a publish's pending list) are mapped on their own and given
	 * back when freed. glibc's default threshold rises to the size of the
	 * largest such array freed, after which the next ones (a table grown,
	 * the pending list) come from the heap and leave holes there that
	 * stay resident: 61 MiB of the RSS at 1M RRsets (bench/RESULTS.md
	 * "Where the daemon's memory goes"). */
	mallopt(M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD);
	r = fault_init(getenv(FAULT_ENV), err, sizeof(err));
	if (r) {
		log_err_kv("fault injection rejected", "env=%s error=%s",
			   FAULT_ENV, err);
		return r;
	}
	r = config_load(path, &d->cfg, err, sizeof(err));
	if (r) {
		log_err_kv("configuration rejected", "config=%s error=%s", path,
			   err);
		return r;
	}
	/* server.log-level, raised by each -v (main set info + the -v count) */
	d->verbose = log_get_level() - LOG_LVL_INFO;
	if (d->cfg.log_level >= 0)
		log_set_level(d->cfg.log_level + d->verbose);
	d->started = time(NULL);
	d->cookie_rotated = d->started;
	d->eng.n_zones = d->cfg.n_zones;
	engine_setup_identity(&d->eng, d->cfg.identity);
	d->eng.version = d->cfg.version;
	d->eng.zones = calloc(d->cfg.n_zones, sizeof(*d->eng.zones));
	d->dz = calloc(d->cfg.n_zones, sizeof(*d->dz));
	if (!d->eng.zones || !d->dz)
		return -ENOMEM;
	d->rzs = calloc(d->cfg.n_zones, sizeof(*d->rzs));
	if (!d->rzs)
		return -ENOMEM;
	if (storage_prepare(&d->cfg, d->cfg.storage))
		return -EINVAL;
	pending = calloc(d->cfg.n_zones, sizeof(*pending));
	if (!pending)
		return -ENOMEM;
	memset(&sizes, 0, sizeof(sizes));
	for (i = 0; i < d->cfg.n_zones; i++) {
		struct dzone *dz = &d->dz[i];
		struct zone *z = NULL;
		const char *file = d->cfg.zones[i].file;

		dz->cz = &d->cfg.zones[i];
		d->rzs[i] = &dz->rz;
		d->eng.zones[i].slot = i;
		if (dz->cz->n_primaries) {
			dz->secondary = 1;
			/* serve at once what was saved; the primaries are
			 * asked right after start */
			if (!refresh_init(&dz->rz, &d->cfg, dz->cz))
				continue;
			file = dz->rz.zone_path;
			r = zone_load_file(file, dz->cz->name, &z, err, sizeof(err));
			if (r) {
				log_warn_kv("saved zone not usable, transferring it "
					    "again", "zone=%s file=%s error=%s",
					    dz->cz->name, file, err);
				continue;
			}
		} else {
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			r = zone_file_load(dz->cz->name, file, &z, err, sizeof(err),
					   &dz->file_st, &dz->file_st_ok);
			if (r) {
				log_err_kv("zone not loaded", "zone=%s file=%s error=%s",
					   dz->cz->name, file, err);
				free(pending);
				return r;
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			log_info_kv("zone parsed", "zone=%s file=%s ms=%lld",
				    dz->cz->name, file,
				    (long long)((t1.tv_sec - t0.tv_sec) * 1000 +
						(t1.tv_nsec - t0.tv_nsec) / 1000000));
		}
		mapsync_count(z, &sizes);
		pending[i] = z;
	}
	/* sized from the keys the zones compile to, with headroom, and the
	 * room server.map-keys asks for (secondaries without data yet) */
	sizes.extra_keys = d->cfg.map_keys;
	r = loader_open(&d->loader, &sizes);
	if (r)
		goto out;
	loader_fds(&d->loader, &fds);
	r = mapsync_new(&fds, &d->ms);
	if (r)
		goto out;
	{
		struct loader_limit_fds lf;

		loader_limit_fds(&d->loader, &lf);
		r = rrl_bpf_setup(&d->cfg, lf.limits, lf.exempt, rrl_ncpus());
		if (r) {
			log_err_kv("rate limits: cannot fill the XDP maps",
				   "reason=%s", strerror(-r));
			goto out;
		}
		if (d->cfg.rrl.enabled)
			log_info_kv("rrl on", "rate=%u ipv4_prefix=%d ipv6_prefix=%d "
				    "slip=%u window_s=%u cpus=%d",
				    d->cfg.rrl.rate, d->cfg.rrl.ipv4_prefix,
				    d->cfg.rrl.ipv6_prefix, d->cfg.rrl.slip,
				    d->cfg.rrl.window, rrl_ncpus());
		if (d->cfg.pass_limit || d->cfg.pass_limit_prefix)
			log_info_kv("pass limits", "total=%u prefix=%u",
				    d->cfg.pass_limit, d->cfg.pass_limit_prefix);
	}
	for (i = 0; i < d->eng.n_zones; i++) {
		struct refresh_zone *rz = &d->dz[i].rz;
		struct zone *z = pending[i];
		time_t now = time(NULL);

		if (!z)
			continue;
		pending[i] = NULL;
		r = zone_publish(d, i, z);
		if (r)
			goto out;
		if (!d->dz[i].secondary)
			continue;
		/* the expiry clock runs on from what was saved */
		if (!rz->expire_at) {
			uint32_t rf, rt, ex;

			refresh_soa_timers(d->eng.zones[i].zone, &rf, &rt, &ex);
			rz->expire_at = now + ex;
			refresh_save_timers(rz, d->eng.zones[i].zone->serial);
		}
		if (now >= rz->expire_at)
			zone_set_expired(d, i, 1);
		log_info_kv("zone served from storage", "zone=%s serial=%u "
			    "file=%s expires_in_s=%lld", d->dz[i].cz->name,
			    d->eng.zones[i].zone->serial, rz->zone_path,
			    (long long)(rz->expire_at - now));
	}
	free(pending);
	pending = NULL;
	d->xfrfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->xfrfd < 0)
		return -errno;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	ev.data.fd = d->xfrfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->xfrfd, &ev);
	r = server_open(&d->cfg, d->epfd, &d->srv);
	if (r)
		return r;
	server_set_cache(d->srv, d->ms);
	server_set_notify(d->srv, daemon_notify, d);
	d->ctlfd = control_listen(d->cfg.control);
	if (d->ctlfd < 0) {
		log_err_kv("cannot open the control socket",
			   "key=server.control path=%s reason=%s", d->cfg.control,
			   strerror(-d->ctlfd));
		return d->ctlfd;
	}
	ev.data.fd = d->ctlfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->ctlfd, &ev);
	if (d->cfg.has_metrics) {
		d->metricsfd = metrics_listen(&d->cfg.metrics);
		if (d->metricsfd < 0) {
			log_err_kv("cannot listen for metrics",
				   "key=server.metrics address=%s reason=%s",
				   d->cfg.metrics.text, strerror(-d->metricsfd));
			return d->metricsfd;
		}
		ev.data.fd = d->metricsfd;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->metricsfd, &ev);
		log_info_kv("metrics listening", "url=http://%s/metrics",
			    d->cfg.metrics.text);
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return -errno;
	ev.data.fd = d->sigfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev);

	/* attach last: by now every zone is in the maps */
	for (i = 0; i < d->cfg.n_ifaces; i++) {
		r = loader_attach(&d->loader, d->cfg.ifaces[i], d->cfg.xdp_mode);
		if (r)
			return r;
	}
	if (d->cfg.user) {
		const char *paths[] = { d->cfg.control, d->cfg.storage, NULL };

		r = privdrop_to(d->cfg.user, paths);
		if (r)
			return r;
	}
	log_info_kv("serving", "zones=%d control=%s interfaces=%d pid=%d",
		    d->eng.n_zones, d->cfg.control, d->loader.n_ifs, (int)getpid());
	return 0;
out:
	for (i = 0; pending && i < d->eng.n_zones; i++)
		zone_free(pending[i]);
	free(pending);
	return r;
}

static void daemon_stop(struct daemon *d)
{
	int i, r;

	/* transfers in flight are abandoned: nothing they did is served */
	for (i = 0; d->dz && i < d->eng.n_zones; i++) {
		struct xfr_job *j = d->dz[i].rz.job;

		if (!j)
			continue;
		j->cancel = 1;
		xfr_join(j);
		zone_free(j->zone);
		xfr_changed_free(j);
		free(j);
		d->dz[i].rz.job = NULL;
	}
	if (d->xfrfd > 0)
		close(d->xfrfd);
	free(d->rzs);

	loader_close(&d->loader); /* detaches XDP first */
	server_close(d->srv);
	if (d->metricsfd >= 0)
		close(d->metricsfd);
	if (d->ctlfd > 0) {
		close(d->ctlfd);
		unlink(d->cfg.control);
	}
	if (d->sigfd > 0)
		close(d->sigfd);
	if (d->epfd > 0)
		close(d->epfd);
	mapsync_free(d->ms);
	for (i = 0; d->dz && i < d->eng.n_zones; i++) {
		struct dzone *dz = &d->dz[i];

		zone_saver_join(d, i, 0);
		/* a save given up for a transfer that did not end (cancelled
		 * above): write the served data now, a restart serves what is
		 * on disk */
		if (dz->save_again && d->eng.zones && d->eng.zones[i].zone &&
		    dz->rz.zone_path[0]) {
			r = zone_write_file(d->eng.zones[i].zone, dz->rz.zone_path);
			if (r)
				log_warn_kv("cannot save zone", "zone=%s path=%s reason=%s",
					    dz->cz->name, dz->rz.zone_path, strerror(-r));
			else
				log_info_kv("zone saved at shutdown", "zone=%s serial=%u",
					    dz->cz->name, d->eng.zones[i].zone->serial);
		}
	}
	for (i = 0; d->eng.zones && i < d->eng.n_zones; i++)
		zone_free(d->eng.zones[i].zone);
	free(d->eng.zones);
	free(d->dz);
	config_free(&d->cfg);
}

static void signal_handle(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			/* the same as xdpns reload; the events are logged */
			log_info_kv("reload requested", "by=SIGHUP");
			if (f) {
				daemon_reload(d, f);
				fclose(f);
			}
			free(buf);
		} else {
			log_info_kv("shutting down", "signal=%u", si.ssi_signo);
			d->stop = 1;
		}
	}
}

int daemon_run(const char *config_path, int to_syslog)
{
	struct daemon d;
	int r;

	memset(&d, 0, sizeof(d));
	d.ctlfd = d.sigfd = d.epfd = d.xfrfd = d.metricsfd = -1;
	r = daemon_start(&d, config_path);
	if (!r && to_syslog) {
		log_info_kv("logging to syslog from now on", NULL);
		log_set_syslog(1);
	}
	while (!r && !d.stop) {
		struct epoll_event evs[32];
		int n, i;

		n = epoll_wait(d.epfd, evs, 32, 500);
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == d.sigfd)
				signal_handle(&d);
			else if (fd == d.xfrfd)
				xfr_events(&d);
			else if (fd == d.ctlfd)
				control_handle(&d);
			else if (fd == d.metricsfd)
				metrics_handle(d.metricsfd, report_metrics, &d);
			else
				server_handle(d.srv, &d.eng, fd, evs[i].events);
		}
		server_tick(d.srv);
		refresh_tick(&d);
		/* RFC 9018: rotate the cookie secret; the previous one is
		 * still accepted for one more period */
		if (time(NULL) - d.cookie_rotated >= DAEMON_COOKIE_ROTATE_S) {
			engine_rotate_cookie_secret(&d.eng);
			d.cookie_rotated = time(NULL);
		}
	}
	daemon_stop(&d);
	log_info_kv("stopped", "uptime_s=%lld result=%s",
		    (long long)(d.started ? time(NULL) - d.started : 0),
		    r ? strerror(-r) : "ok");
	return r;
}
