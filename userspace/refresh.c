// SPDX-License-Identifier: GPL-2.0
/*
 * Refresh timers and NOTIFY for secondary zones. The timers follow the
 * served SOA: after a good SOA check or transfer the next check is REFRESH
 * away and expiry EXPIRE away; after a failure the next try is RETRY
 * away and expiry does not move. They are saved (temp file + rename)
 * with the zone's serial, so a restart keeps the expiry clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <ldns/ldns.h>
#include "log.h"
#include "refresh.h"
#include "wire.h"

#define REFRESH_MAX_NOTIFY_KEYS (CONFIG_MAX_PRIMARIES * CONFIG_MAX_REMOTE_KEYS)

/* Zone names become file names: lowercase, no trailing dot; the root is
 * "root". Labels can hold '/' (config allows it): replaced. */
static void file_base(const char *zone, char *out, size_t size)
{
	size_t i, n = strlen(zone);

	if (n > 1 && zone[n - 1] == '.')
		n--;
	if (!strcmp(zone, ".")) {
		snprintf(out, size, "root");
		return;
	}
	for (i = 0; i < n && i + 1 < size; i++)
		out[i] = zone[i] == '/' ? '_' : zone[i];
	out[i] = 0;
}

static int timers_load(struct refresh_zone *rz, uint32_t *serial)
{
	FILE *f = fopen(rz->timers_path, "r");
	char key[32];
	long long v;
	int have_serial = 0;

	if (!f)
		return -errno;
	while (fscanf(f, "%31s %lld", key, &v) == 2) {
		if (!strcmp(key, "serial")) {
			*serial = (uint32_t)v;
			have_serial = 1;
		} else if (!strcmp(key, "expire-at")) {
			rz->expire_at = v;
		} else if (!strcmp(key, "last-success")) {
			rz->last_success = v;
		} else if (!strcmp(key, "next-refresh")) {
			rz->next_refresh = v;
		}
	}
	fclose(f);
	return have_serial ? 0 : -EINVAL;
}

int refresh_save_timers(const struct refresh_zone *rz, uint32_t serial)
{
	char tmp[PATH_MAX + 16];
	FILE *f;
	int r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", rz->timers_path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "serial %u\nexpire-at %lld\nlast-success %lld\nnext-refresh %lld\n",
		serial, (long long)rz->expire_at, (long long)rz->last_success,
		(long long)rz->next_refresh);
	if (fflush(f) || fsync(fileno(f)))
		r = -errno;
	if (fclose(f) && !r)
		r = -EIO;
	if (!r && rename(tmp, rz->timers_path))
		r = -errno;
	if (r) {
		unlink(tmp);
		log_warn_kv("cannot save timers", "zone=%s path=%s reason=%s",
			    rz->cz->name, rz->timers_path, strerror(-r));
	}
	return r;
}

int refresh_init(struct refresh_zone *rz, const struct config *cfg,
		 const struct config_zone *cz)
{
	char base[256];
	uint32_t serial = 0;
	struct stat st;

	memset(rz, 0, sizeof(*rz));
	rz->cfg = cfg;
	rz->cz = cz;
	rz->last_primary = -1;
	file_base(cz->name, base, sizeof(base));
	if (cz->file)
		snprintf(rz->zone_path, sizeof(rz->zone_path), "%s", cz->file);
	else
		snprintf(rz->zone_path, sizeof(rz->zone_path), "%s/%s.zone",
			 cfg->storage, base);
	snprintf(rz->timers_path, sizeof(rz->timers_path), "%s/%s.timers",
		 cfg->storage, base);
	if (timers_load(rz, &serial)) {
		rz->expire_at = 0;
		rz->last_success = 0;
	}
	rz->next_refresh = 0; /* ask the primaries at once */
	return stat(rz->zone_path, &st) == 0 && S_ISREG(st.st_mode);
}

void refresh_soa_timers(const struct zone *z, uint32_t *refresh,
			uint32_t *retry, uint32_t *expire)
{
	*refresh = zone_soa_u32(z, 3);
	*retry = zone_soa_u32(z, 4);
	*expire = zone_soa_u32(z, 5);
	if (!*refresh)
		*refresh = 1;
	if (!*retry)
		*retry = 1;
	if (!*expire)
		*expire = 1;
}

/* key_idx: the remote's key that worked last (requests start with it) */
static void fill_primary(struct xfr_primary *p, const struct config *cfg,
			 int remote, int key_idx)
{
	const struct config_remote *rm = &cfg->remotes[remote];
	int k;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", rm->id);
	snprintf(p->text, sizeof(p->text), "%s", rm->addr.text);
	memcpy(&p->addr, &rm->addr.addr, rm->addr.addrlen);
	p->addrlen = rm->addr.addrlen;
	for (k = 0; k < rm->n_keys && k < CONFIG_MAX_REMOTE_KEYS; k++)
		if (!tsig_key_init(&p->keys[p->n_keys], &cfg->keys[rm->keys[k]]))
			p->n_keys++;
	if (p->n_keys) {
		p->key_idx = key_idx >= 0 && key_idx < p->n_keys ? key_idx : 0;
		p->key = p->keys[p->key_idx];
		p->has_key = 1;
	}
}

int refresh_start(struct refresh_zone *rz, const struct zone *current,
		  int force, int done_fd)
{
	struct xfr_job *j;
	int i, r;

	if (rz->job)
		return -EBUSY;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	snprintf(j->origin, sizeof(j->origin), "%s", rz->cz->name);
	for (i = 0; i < rz->cz->n_primaries; i++)
		fill_primary(&j->primaries[i], rz->cfg, rz->cz->primaries[i],
			     rz->key_idx[i]);
	j->n_primaries = rz->cz->n_primaries;
	j->current = current;
	j->force_axfr = force || !current;
	j->max_records = rz->cfg->xfr_max_records;
	j->max_bytes = rz->cfg->xfr_max_bytes;
	j->idle_ms = rz->cfg->xfr_idle_ms;
	j->timeout_ms = rz->cfg->xfr_timeout_ms;
	j->done_fd = done_fd;
	snprintf(j->save_path, sizeof(j->save_path), "%s", rz->zone_path);
	j->notified_us = rz->notified_us;
	rz->last_attempt = time(NULL);
	r = xfr_start(j);
	if (r) {
		free(j);
		return r;
	}
	rz->job = j;
	rz->notified_us = 0;
	return 0;
}

const double refresh_dur_le[REFRESH_DUR_BUCKETS] = { 0.01, 0.05, 0.1, 0.5,
							 1,    5,    30,  300 };

void refresh_finish(struct refresh_zone *rz, struct xfr_job *j,
		    const struct zone *current, time_t now)
{
	uint32_t refresh = REFRESH_NO_DATA_RETRY_S, retry = REFRESH_NO_DATA_RETRY_S,
		 expire = 0;
	int i;

	for (i = 0; i < XFR_R_COUNT; i++)
		rz->st.fails[i] += j->fails[i];
	rz->st.key_fallbacks += j->key_fallbacks;
	for (i = 0; i < j->n_primaries && i < CONFIG_MAX_PRIMARIES; i++)
		rz->key_idx[i] = j->primaries[i].key_idx;
	rz->st.bytes += j->bytes;
	if (current)
		refresh_soa_timers(current, &refresh, &retry, &expire);
	if (j->result == XFR_OK) {
		rz->last_primary = j->primary;
		rz->remote_serial = j->remote_serial;
		rz->last_success = now;
		rz->last_error[0] = 0;
		if (j->kind == XFR_KIND_IXFR)
			rz->st.ixfr++;
		else if (j->kind == XFR_KIND_AXFR)
			rz->st.axfr++;
		else
			rz->st.up_to_date++;
		if (j->kind != XFR_KIND_NONE) {
			int k;

			rz->st.last_duration_ms = j->duration_ms;
			rz->st.dur_count++;
			rz->st.dur_sum_ms += j->duration_ms;
			for (k = 0; k < REFRESH_DUR_BUCKETS; k++)
				if (j->duration_ms <= refresh_dur_le[k] * 1000)
					rz->st.dur_bucket[k]++;
		}
		rz->next_refresh = now + refresh;
		if (current)
			rz->expire_at = now + expire;
	} else {
		snprintf(rz->last_error, sizeof(rz->last_error), "%s", j->error);
		rz->next_refresh = now + retry;
		/* never wait past expiry for the next try */
		if (rz->expire_at && rz->next_refresh > rz->expire_at &&
		    rz->expire_at > now)
			rz->next_refresh = rz->expire_at;
	}
	if (current)
		refresh_save_timers(rz, current->serial);
}

/* ---- NOTIFY ---- */

static int addr_equal(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
	return 0;
}

/* The reply: the request's header and question, QR and AA set. */
static size_t notify_reply(const uint8_t *q, size_t qend, uint8_t *out,
			   size_t cap, int rcode)
{
	if (qend > cap)
		return 0;
	memcpy(out, q, qend);
	out[2] = (q[2] & 0x79) | 0x80 | 0x04; /* QR, opcode kept, AA, RD kept */
	out[3] = rcode & 0xf;
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	return qend;
}

size_t refresh_notify(struct refresh_zone *const *zones, int n_zones,
		      const uint8_t *q, size_t qlen, const struct sockaddr *from,
		      uint8_t *out, size_t cap, int *zone_idx)
{
	struct tsig_key keys[REFRESH_MAX_NOTIFY_KEYS];
	uint8_t name[256], apex[256];
	size_t off = 12, nlen = 0, qend, apex_len, n;
	char addr[INET6_ADDRSTRLEN] = "?";
	struct refresh_zone *rz = NULL;
	int i, k, n_keys = 0, allowed = 0, keyless = 0, which;
	struct tsig_ctx tc;
	enum tsig_status st;

	*zone_idx = -1;
	if (qlen < 12 || (q[2] & 0x80) || ((q[2] >> 3) & 0xf) != 4)
		return 0;
	if (from->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)from)->sin_addr,
			  addr, sizeof(addr));
	else if (from->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)from)->sin6_addr,
			  addr, sizeof(addr));
	if ((q[4] << 8 | q[5]) != 1)
		return notify_reply(q, 12, out, cap, LDNS_RCODE_FORMERR);
	while (off < qlen && q[off] && nlen < 255) {
		uint8_t l = q[off];

		if (l > 63 || off + 1 + l > qlen || nlen + 1 + l > 254)
			return notify_reply(q, 12, out, cap, LDNS_RCODE_FORMERR);
		name[nlen] = l;
		name_lower(name + nlen + 1, q + off + 1, l);
		nlen += 1 + l;
		off += 1 + l;
	}
	if (off + 5 > qlen)
		return notify_reply(q, 12, out, cap, LDNS_RCODE_FORMERR);
	name[nlen++] = 0;
	qend = off + 5;

	for (i = 0; i < n_zones; i++) {
		ldns_rdf *d;

		if (!zones[i]->cz || !zones[i]->cz->n_primaries)
			continue;
		d = ldns_dname_new_frm_str(zones[i]->cz->name);
		if (!d)
			continue;
		apex_len = ldns_rdf_size(d);
		name_lower(apex, ldns_rdf_data(d), apex_len);
		ldns_rdf_deep_free(d);
		if (apex_len == nlen && !memcmp(apex, name, nlen)) {
			rz = zones[i];
			*zone_idx = i;
			break;
		}
	}
	if (!rz) {
		log_info_kv("notify refused", "from=%s reason=%s", addr,
			    "not secondary for the zone");
		return notify_reply(q, qend, out, cap, LDNS_RCODE_NOTAUTH);
	}
	/* the source must be one of notify-from; their keys are the ones
	 * a signed NOTIFY may use */
	for (i = 0; i < rz->cz->n_notify_from; i++) {
		const struct config_remote *rm =
			&rz->cfg->remotes[rz->cz->notify_from[i]];

		if (!addr_equal(from, &rm->addr.addr))
			continue;
		allowed = 1;
		if (!rm->n_keys)
			keyless = 1;
		for (k = 0; k < rm->n_keys && n_keys < REFRESH_MAX_NOTIFY_KEYS; k++)
			if (!tsig_key_init(&keys[n_keys], &rz->cfg->keys[rm->keys[k]]))
				n_keys++;
	}
	if (!allowed) {
		rz->st.notify_refused++;
		*zone_idx = -1;
		log_info_kv("notify refused", "zone=%s from=%s reason=%s",
			    rz->cz->name, addr, "not in notify-from");
		return notify_reply(q, qend, out, cap, LDNS_RCODE_REFUSED);
	}
	st = n_keys ? tsig_verify_request(&tc, keys, n_keys, q, qlen, time(NULL),
					  &which) :
		      TSIG_UNSIGNED;
	if (st != TSIG_OK && !(st == TSIG_UNSIGNED && keyless)) {
		rz->st.notify_refused++;
		*zone_idx = -1;
		log_info_kv("notify refused", "zone=%s from=%s reason=%s tsig=%s",
			    rz->cz->name, addr, "tsig", tsig_status_name(st));
		n = notify_reply(q, qend, out, cap, LDNS_RCODE_NOTAUTH);
		if (n && st == TSIG_BADTIME) /* signed, with our time */
			tsig_sign(&tc, out, &n, cap, time(NULL), TSIG_RCODE_BADTIME);
		else if (n && (st == TSIG_BADKEY || st == TSIG_BADSIG))
			/* unsigned, the error in a TSIG without MAC */
			tsig_append_error(out, &n, cap, q, qlen, time(NULL),
					  st == TSIG_BADKEY ? TSIG_RCODE_BADKEY :
							      TSIG_RCODE_BADSIG);
		return n;
	}
	rz->st.notify_accepted++;
	log_info_kv("notify accepted", "zone=%s from=%s key=%s", rz->cz->name,
		    addr, st == TSIG_OK ? tc.key->text : "-");
	n = notify_reply(q, qend, out, cap, LDNS_RCODE_NOERROR);
	if (n && st == TSIG_OK && tsig_sign(&tc, out, &n, cap, time(NULL), 0))
		n = 0;
	return n;
}
