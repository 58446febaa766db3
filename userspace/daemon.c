#include <ctype.h>
#include <pthread.h>
#include <endian.h>
#include <errno.h>
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
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "mapsync.h"
#include "refresh.h"
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
	/* saving the served data after a transfer, off the event loop: the
	 * zone is not freed (no publish) until the saver is joined */
	pthread_t saver;
	int saving;
	volatile int save_cancel; /* newer data arrived: it will be saved */
	int save_again; /* a save was given up for a transfer: redo it if
			 * that transfer brings nothing */
	const struct zone *save_zone;
	char save_path[4096];
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
};

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

static const char *const rcode_names[17] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS",
};

const char *daemon_pass_reason_name(int reason)
{
	return reason >= 0 && reason < XDPNS_PASS_COUNT ? pass_names[reason] : "?";
}

const char *daemon_rcode_name(int rcode)
{
	return rcode >= 0 && rcode <= 16 ? rcode_names[rcode] : "?";
}

/* ---- zones ---- */

static void *zone_saver(void *arg)
{
	struct dzone *dz = arg;
	int r = zone_write_file_cancel(dz->save_zone, dz->save_path,
				       &dz->save_cancel);

	if (r == -ECANCELED)
		log_debug("zone %s: save of an older serial given up for a newer one",
			  dz->cz->name);
	else if (r)
		log_warn("zone %s: cannot save to %s: %s", dz->cz->name,
			 dz->save_path, strerror(-r));
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
}

/* Save zone i's served data to path in a thread: a transfer's result is
 * served first and written to disk after (a 1M-record zone takes ~1.5 s
 * to write). Saved inline when no thread can start. */
static void zone_save_async(struct daemon *d, int i, const char *path)
{
	struct dzone *dz = &d->dz[i];

	zone_saver_join(d, i, 1);
	dz->save_zone = d->eng.zones[i].zone;
	snprintf(dz->save_path, sizeof(dz->save_path), "%s", path);
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
	int r;

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
	 * to it. */
	zone_free_into(ez->zone, z);
	ez->zone = z;
	dz->loaded = time(NULL);
	dz->error[0] = 0;
	{
		struct mapsync_stats st;

		mapsync_get_stats(d->ms, &st);
		log_info("zone %s: serial %u, %zu records, %zu names, %llu XDP "
			 "entries; published in %llu ms (%llu keys compiled, %llu "
			 "entries written)",
			 dz->cz->name, z->serial, z->n_records, z->n_nodes,
			 (unsigned long long)mapsync_zone_entries(d->ms, ez->slot),
			 (unsigned long long)st.last_publish_us / 1000,
			 (unsigned long long)st.last_compiled,
			 (unsigned long long)st.last_written);
	}
	return 0;
}

static int zone_publish(struct daemon *d, int i, struct zone *z)
{
	return zone_publish_changed(d, i, z, NULL, 0);
}

/* Load zone i from its file and make it served (maps flipped, engine
 * switched) or leave the served data as it was and say why. */
static int zone_reload(struct daemon *d, int i)
{
	struct dzone *dz = &d->dz[i];
	struct engine_zone *ez = &d->eng.zones[i];
	struct zone *z = NULL;
	char err[512];
	int r;

	if (dz->secondary)
		return 0; /* its data comes from the primaries */
	r = zone_load_file(dz->cz->file, dz->cz->name, &z, err, sizeof(err));
	if (r) {
		snprintf(dz->error, sizeof(dz->error), "%s", err);
		log_err("zone %s: not loaded, %s: %s", dz->cz->name,
			ez->zone ? "keeps serving the previous data" :
				   "not served", err);
		return r;
	}
	return zone_publish(d, i, z);
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
		log_err("zone %s: cannot set the XDP zone flags: %s",
			d->dz[i].cz->name, strerror(-r));
	if (expired)
		log_warn("zone %s: expired (no primary answered for EXPIRE "
			 "seconds): answering SERVFAIL until a transfer succeeds",
			 d->dz[i].cz->name);
	else
		log_info("zone %s: no longer expired", d->dz[i].cz->name);
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
	r = refresh_start(rz, d->eng.zones[i].zone, force, d->xfrfd);
	if (r) {
		log_err("zone %s: cannot start a transfer: %s", rz->cz->name,
			strerror(-r));
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
	int r, had = d->eng.zones[i].zone != NULL, force;

	xfr_join(j);
	if (j->result == XFR_OK && j->zone) {
		struct zone *z = j->zone;

		j->zone = NULL;
		if (j->kind == XFR_KIND_IXFR && !j->changed_all)
			r = zone_publish_changed(d, i, z,
						 (const uint8_t *const *)j->changed,
						 j->n_changed);
		else
			r = zone_publish(d, i, z);
		if (r) {
			j->result = XFR_R_ZONE_INVALID;
			j->fails[XFR_R_ZONE_INVALID]++;
			snprintf(j->error, sizeof(j->error), "%.250s", dz->error);
		} else {
			if (j->save_path[0])
				zone_save_async(d, i, j->save_path);
			log_info("zone %s: %s from %s: serial %u -> %u, %llu bytes "
				 "in %llu ms", dz->cz->name, xfr_kind_name(j->kind),
				 j->primaries[j->primary].id, had ? old : 0,
				 d->eng.zones[i].zone->serial,
				 (unsigned long long)j->bytes,
				 (unsigned long long)j->duration_ms);
		}
	}
	if (dz->save_again && !dz->saving && j->save_path[0] && d->eng.zones[i].zone)
		zone_save_async(d, i, j->save_path); /* nothing replaced it */
	dz->save_again = 0;
	if (j->result == XFR_OK)
		zone_set_expired(d, i, 0);
	else
		log_warn("zone %s: refresh failed (%s), next try in %us",
			 dz->cz->name, xfr_reason_name(j->result),
			 (unsigned)(d->eng.zones[i].zone ?
				    ldns_rdf2native_int32(ldns_rr_rdf(
					    d->eng.zones[i].zone->soa, 4)) :
				    REFRESH_NO_DATA_RETRY_S));
	refresh_finish(rz, j, d->eng.zones[i].zone, now);
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
		log_warn("transfer events: %s", strerror(errno));
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

		if (rz->job) {
			rz->pending = 1;
		} else {
			rz->next_refresh = 0; /* started by refresh_tick, now */
			/* newer data is likely on its way: the save of what is
			 * served would be replaced; give its CPU to the
			 * transfer (saved again if none comes) */
			if (d->dz[zi].saving) {
				zone_saver_join(d, zi, 1);
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

	metric1(f, "xdpns_xdp_packets_total", "counter",
		"Frames the XDP program saw.",
		c[XDPNS_CNT_RX]);
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
	metric1(f, "xdpns_xdp_lru_hits_total", "counter",
		"XDP answers taken from the LRU of slow-path answers.",
		c[XDPNS_CNT_LRU_HIT]);
	metric1(f, "xdpns_xdp_dropped_total", "counter",
		"Frames XDP dropped.",
		c[XDPNS_CNT_DROPPED]);
	metric1(f, "xdpns_tcp_refused_total", "counter",
		"TCP connections closed at once: the client cap was reached.",
		ss.tcp_refused);
	metric1(f, "xdpns_map_entries", "gauge",
		"(name, type) entries in the XDP maps.",
		ms.entries);
	metric1(f, "xdpns_map_blob_bytes", "gauge",
		"Bytes of response bodies in the XDP maps.",
		ms.blob_bytes);

	metric_head(f, "xdpns_zone_serial", "gauge", "Serial served.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->eng.zones[i].zone)
			fprintf(f, "xdpns_zone_serial{zone=\"%s\"} %u\n",
				d->dz[i].cz->name, d->eng.zones[i].zone->serial);
	metric_head(f, "xdpns_zone_records", "gauge", "Records served.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->eng.zones[i].zone)
			fprintf(f, "xdpns_zone_records{zone=\"%s\"} %zu\n",
				d->dz[i].cz->name, d->eng.zones[i].zone->n_records);
	metric_head(f, "xdpns_zone_expired", "gauge",
		    "1 when the zone is past EXPIRE and answers SERVFAIL.");
	for (i = 0; i < d->eng.n_zones; i++)
		fprintf(f, "xdpns_zone_expired{zone=\"%s\"} %d\n",
			d->dz[i].cz->name, d->eng.zones[i].expired ? 1 : 0);
	metric_head(f, "xdpns_zone_expire_seconds", "gauge",
		    "Seconds until a secondary zone expires without a primary.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->dz[i].cz->n_primaries && d->dz[i].rz.expire_at)
			fprintf(f, "xdpns_zone_expire_seconds{zone=\"%s\"} %lld\n",
				d->dz[i].cz->name,
				(long long)(d->dz[i].rz.expire_at - now));
	metric_head(f, "xdpns_zone_transfers_total", "counter",
		    "Successful refreshes of a secondary zone, by kind.");
	for (i = 0; i < d->eng.n_zones; i++) {
		const struct refresh_stats *st = &d->dz[i].rz.st;

		if (!d->dz[i].cz->n_primaries)
			continue;
		fprintf(f, "xdpns_zone_transfers_total{zone=\"%s\",kind=\"ixfr\"} %llu\n",
			d->dz[i].cz->name, (unsigned long long)st->ixfr);
		fprintf(f, "xdpns_zone_transfers_total{zone=\"%s\",kind=\"axfr\"} %llu\n",
			d->dz[i].cz->name, (unsigned long long)st->axfr);
		fprintf(f, "xdpns_zone_transfers_total{zone=\"%s\",kind=\"up_to_date\"} %llu\n",
			d->dz[i].cz->name, (unsigned long long)st->up_to_date);
	}
	metric_head(f, "xdpns_zone_transfer_bytes_total", "counter",
		    "Bytes of transfer messages received.");
	for (i = 0; i < d->eng.n_zones; i++)
		if (d->dz[i].cz->n_primaries)
			fprintf(f, "xdpns_zone_transfer_bytes_total{zone=\"%s\"} %llu\n",
				d->dz[i].cz->name,
				(unsigned long long)d->dz[i].rz.st.bytes);
	metric_head(f, "xdpns_zone_transfer_failures_total", "counter",
		    "Failed refreshes, by reason.");
	for (i = 0; i < d->eng.n_zones; i++)
		for (k = 1; d->dz[i].cz->n_primaries && k < XFR_R_COUNT; k++)
			fprintf(f, "xdpns_zone_transfer_failures_total{zone=\"%s\","
				   "reason=\"%s\"} %llu\n",
				d->dz[i].cz->name, xfr_reason_name(k),
				(unsigned long long)d->dz[i].rz.st.fails[k]);
	metric_head(f, "xdpns_zone_notify_total", "counter",
		    "NOTIFY messages, by result.");
	for (i = 0; i < d->eng.n_zones; i++) {
		if (!d->dz[i].cz->n_primaries)
			continue;
		fprintf(f, "xdpns_zone_notify_total{zone=\"%s\",result=\"accepted\"} %llu\n",
			d->dz[i].cz->name,
			(unsigned long long)d->dz[i].rz.st.notify_accepted);
		fprintf(f, "xdpns_zone_notify_total{zone=\"%s\",result=\"refused\"} %llu\n",
			d->dz[i].cz->name,
			(unsigned long long)d->dz[i].rz.st.notify_refused);
	}
	metric_head(f, "xdpns_zone_transfer_duration_seconds", "histogram",
		    "Duration of IXFR and AXFR transfers.");
	for (i = 0; i < d->eng.n_zones; i++) {
		const struct refresh_stats *st = &d->dz[i].rz.st;

		if (!d->dz[i].cz->n_primaries)
			continue;
		for (k = 0; k < REFRESH_DUR_BUCKETS; k++)
			fprintf(f, "xdpns_zone_transfer_duration_seconds_bucket{zone=\"%s\","
				   "le=\"%g\"} %llu\n",
				d->dz[i].cz->name, refresh_dur_le[k],
				(unsigned long long)st->dur_bucket[k]);
		fprintf(f, "xdpns_zone_transfer_duration_seconds_bucket{zone=\"%s\","
			   "le=\"+Inf\"} %llu\n",
			d->dz[i].cz->name, (unsigned long long)st->dur_count);
		fprintf(f, "xdpns_zone_transfer_duration_seconds_sum{zone=\"%s\"} %.3f\n",
			d->dz[i].cz->name, st->dur_sum_ms / 1000.0);
		fprintf(f, "xdpns_zone_transfer_duration_seconds_count{zone=\"%s\"} %llu\n",
			d->dz[i].cz->name, (unsigned long long)st->dur_count);
	}
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
		fprintf(f, "{\"xdp\":{\"received\":%llu,\"answered\":%llu,"
			   "\"truncated\":%llu,\"dropped\":%llu,\"lru_hits\":%llu,"
			   "\"passed\":{",
			(unsigned long long)c[XDPNS_CNT_RX],
			(unsigned long long)c[XDPNS_CNT_ANSWERED],
			(unsigned long long)c[XDPNS_CNT_TRUNCATED],
			(unsigned long long)c[XDPNS_CNT_DROPPED],
			(unsigned long long)c[XDPNS_CNT_LRU_HIT]);
		for (i = 0; i < XDPNS_PASS_COUNT; i++)
			fprintf(f, "%s\"%s\":%llu", i ? "," : "", pass_names[i],
				(unsigned long long)c[XDPNS_CNT_PASS_BASE + i]);
		fprintf(f, "},\"rcode\":{");
		for (i = 0, first = 1; i < 16; i++) {
			fprintf(f, "%s\"%s\":%llu", first ? "" : ",", rcode_names[i],
				(unsigned long long)c[XDPNS_CNT_RCODE_BASE + i]);
			first = 0;
		}
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
		fprintf(f, "}},\"maps\":{\"entries\":%llu,\"blobs_xs\":%llu,\"blobs_s\":%llu,"
			   "\"blobs_m\":%llu,\"blobs_l\":%llu,\"blob_bytes\":%llu,"
			   "\"publishes\":%llu,\"last_publish_us\":%llu,"
			   "\"last_publish_compiled\":%llu,\"last_publish_written\":%llu,"
			   "\"lru_inserts\":%llu},"
			   "\"zones\":[",
			(unsigned long long)ms.entries,
			(unsigned long long)ms.blobs[XDPNS_BLOB_XS],
			(unsigned long long)ms.blobs[XDPNS_BLOB_S],
			(unsigned long long)ms.blobs[XDPNS_BLOB_M],
			(unsigned long long)ms.blobs[XDPNS_BLOB_L],
			(unsigned long long)ms.blob_bytes,
			(unsigned long long)ms.publishes,
			(unsigned long long)ms.last_publish_us,
			(unsigned long long)ms.last_compiled,
			(unsigned long long)ms.last_written,
			(unsigned long long)ms.lru_inserts);
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
		fprintf(f, "]}\n");
		return;
	}
	fprintf(f, "XDP\n");
	fprintf(f, "  %-22s %12llu\n", "received", (unsigned long long)c[XDPNS_CNT_RX]);
	fprintf(f, "  %-22s %12llu\n", "answered", (unsigned long long)c[XDPNS_CNT_ANSWERED]);
	fprintf(f, "  %-22s %12llu\n", "truncated", (unsigned long long)c[XDPNS_CNT_TRUNCATED]);
	fprintf(f, "  %-22s %12llu\n", "dropped", (unsigned long long)c[XDPNS_CNT_DROPPED]);
	fprintf(f, "  %-22s %12llu\n", "from the LRU", (unsigned long long)c[XDPNS_CNT_LRU_HIT]);
	for (i = 0; i < XDPNS_PASS_COUNT; i++)
		if (c[XDPNS_CNT_PASS_BASE + i])
			fprintf(f, "  passed %-15s %12llu\n", pass_names[i],
				(unsigned long long)c[XDPNS_CNT_PASS_BASE + i]);
	for (i = 0; i < 16; i++)
		if (c[XDPNS_CNT_RCODE_BASE + i])
			fprintf(f, "  rcode %-16s %12llu\n", rcode_names[i],
				(unsigned long long)c[XDPNS_CNT_RCODE_BASE + i]);
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
	fprintf(f, "Maps\n");
	fprintf(f, "  %-22s %12llu\n", "entries", (unsigned long long)ms.entries);
	fprintf(f, "  %-22s %12llu\n", "blob bytes", (unsigned long long)ms.blob_bytes);
	for (i = 0, first = 1; i < d->eng.n_zones; i++) {
		if (!d->dz[i].secondary)
			continue;
		if (first)
			fprintf(f, "Transfers\n");
		first = 0;
		report_xfr_text(d, i, f);
	}
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
					   "\"xdp_entries\":%llu,\"generation\":%u",
					z->serial, z->n_records,
					(unsigned long long)mapsync_zone_entries(
						d->ms, d->eng.zones[i].slot),
					mapsync_generation(d->ms, d->eng.zones[i].slot));
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

static void control_handle(struct daemon *d)
{
	char req[CONTROL_MAX_REQ], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int fd, json, ok = 1, i;

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
		for (i = 0; i < d->eng.n_zones; i++) {
			if (zone_reload(d, i)) {
				ok = 0;
				fprintf(f, "zone %s: %s\n", d->dz[i].cz->name,
					d->dz[i].error);
			} else {
				fprintf(f, "zone %s: serial %u loaded\n",
					d->dz[i].cz->name,
					d->eng.zones[i].zone->serial);
			}
		}
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
			p.from_lru ? "lru" : "entries", p.stale ? "true" : "false");
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
				p.hdr.len == 0xffff ? -1 : p.hdr.len, cls_name[p.cls & 3]);
		fprintf(f, "}\n");
		return 1;
	}
	if (!p.found) {
		fprintf(f, "%s %s%s: miss%s (XDP passes it to the slow path)\n", name,
			type, dnssec_ok ? " +do" : "",
			p.stale ? ", an entry of an older generation" : "");
		return 1;
	}
	fprintf(f, "%s %s%s: hit in %s, zone slot %u, generation %u\n", name, type,
		dnssec_ok ? " +do" : "", p.from_lru ? "the LRU" : "the entries",
		p.zone, p.gen);
	fprintf(f, "  rcode %s%s, answer %u, authority %u, additional %u\n",
		daemon_rcode_name(be16toh(p.hdr.flags) & 0xf),
		be16toh(p.hdr.flags) & 0x0400 ? ", AA" : "",
		be16toh(p.hdr.ancount), be16toh(p.hdr.nscount),
		be16toh(p.hdr.arcount));
	if (p.hdr.len == 0xffff)
		fprintf(f, "  body too big for UDP: XDP answers TC=1\n");
	else
		fprintf(f, "  body %u bytes in blob class %s, %u cut points\n",
			p.hdr.len, cls_name[p.cls & 3], p.hdr.n_cuts);
	return 1;
}

/* ---- lifecycle ---- */

/* server.storage exists (created, 0750, when missing) when a zone has
 * primaries. */
static int storage_prepare(struct daemon *d)
{
	struct stat st;
	int i, need = 0;

	for (i = 0; i < d->cfg.n_zones; i++)
		need |= d->cfg.zones[i].n_primaries > 0;
	if (!need)
		return 0;
	if (mkdir(d->cfg.storage, 0750) && errno != EEXIST) {
		log_err("storage %s: cannot create it: %s; set server.storage to "
			"a writable directory", d->cfg.storage, strerror(errno));
		return -1;
	}
	if (stat(d->cfg.storage, &st) || !S_ISDIR(st.st_mode)) {
		log_err("storage %s: not a directory; set server.storage to a "
			"writable directory", d->cfg.storage);
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

	r = config_load(path, &d->cfg, err, sizeof(err));
	if (r) {
		log_err("%s", err);
		return r;
	}
	/* server.log-level, raised by each -v (main set info + the -v count) */
	if (d->cfg.log_level >= 0)
		log_set_level(d->cfg.log_level + log_get_level() - LOG_LVL_INFO);
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
	if (storage_prepare(d))
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
				log_warn("zone %s: saved data not usable, transferring "
					 "it again: %s", dz->cz->name, err);
				continue;
			}
		} else {
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			r = zone_load_file(file, dz->cz->name, &z, err, sizeof(err));
			if (r) {
				log_err("zone %s: %s", dz->cz->name, err);
				free(pending);
				return r;
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			log_info("zone %s: %s parsed in %lld ms", dz->cz->name, file,
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
		log_info("zone %s: serving serial %u from %s, expires in %llds",
			 d->dz[i].cz->name, d->eng.zones[i].zone->serial,
			 rz->zone_path, (long long)(rz->expire_at - now));
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
		log_err("control socket %s: %s", d->cfg.control,
			strerror(-d->ctlfd));
		return d->ctlfd;
	}
	ev.data.fd = d->ctlfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->ctlfd, &ev);
	if (d->cfg.has_metrics) {
		d->metricsfd = metrics_listen(&d->cfg.metrics);
		if (d->metricsfd < 0) {
			log_err("metrics %s: %s", d->cfg.metrics.text,
				strerror(-d->metricsfd));
			return d->metricsfd;
		}
		ev.data.fd = d->metricsfd;
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->metricsfd, &ev);
		log_info("metrics on http://%s/metrics", d->cfg.metrics.text);
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
	log_info("serving %d zone(s), control socket %s", d->eng.n_zones,
		 d->cfg.control);
	return 0;
out:
	for (i = 0; pending && i < d->eng.n_zones; i++)
		zone_free(pending[i]);
	free(pending);
	return r;
}

static void daemon_stop(struct daemon *d)
{
	int i;

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
	for (i = 0; d->dz && i < d->eng.n_zones; i++)
		zone_saver_join(d, i, 0);
	for (i = 0; d->eng.zones && i < d->eng.n_zones; i++)
		zone_free(d->eng.zones[i].zone);
	free(d->eng.zones);
	free(d->dz);
	config_free(&d->cfg);
}

static void signal_handle(struct daemon *d)
{
	struct signalfd_siginfo si;
	int i;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading zone files");
			for (i = 0; i < d->eng.n_zones; i++)
				zone_reload(d, i);
		} else {
			log_info("signal %u: shutting down", si.ssi_signo);
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
		log_info("serving; logging to syslog from now on");
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
	return r;
}
