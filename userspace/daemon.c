#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "engine.h"
#include "loader.h"
#include "log.h"
#include "mapsync.h"
#include "server.h"
#include "zone.h"

struct dzone {
	const struct config_zone *cz;
	time_t loaded;
	char error[600]; /* last load error, empty when fine */
};

struct daemon {
	struct config cfg;
	struct loader loader;
	struct mapsync *ms;
	struct engine eng;
	struct dzone *dz;
	struct server *srv;
	int epfd, sigfd, ctlfd;
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

/* Load zone i from its file and make it served (maps flipped, engine
 * switched) or leave the served data as it was and say why. */
static int zone_reload(struct daemon *d, int i)
{
	struct dzone *dz = &d->dz[i];
	struct engine_zone *ez = &d->eng.zones[i];
	struct engine_zone *all, fresh;
	struct engine view;
	struct zone *z = NULL;
	char err[512];
	int r;

	r = zone_load_file(dz->cz->file, dz->cz->name, &z, err, sizeof(err));
	if (r) {
		snprintf(dz->error, sizeof(dz->error), "%s", err);
		log_err("zone %s: not loaded, %s: %s", dz->cz->name,
			ez->zone ? "keeps serving the previous data" :
				   "not served", err);
		return r;
	}
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
	r = mapsync_publish(d->ms, &view, &all[i]);
	free(all);
	if (r) {
		snprintf(dz->error, sizeof(dz->error),
			 "compiling into the XDP maps failed: %s", strerror(-r));
		zone_free(z);
		return r;
	}
	/* the maps flipped; the slow path switches before the next query */
	zone_free(ez->zone);
	ez->zone = z;
	dz->loaded = time(NULL);
	dz->error[0] = 0;
	log_info("zone %s: serial %u, %zu records, %zu names, %llu XDP entries",
		 dz->cz->name, z->serial, z->n_records, z->n_nodes,
		 (unsigned long long)mapsync_zone_entries(d->ms, ez->slot));
	return 0;
}

/* ---- reports ---- */

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
		fprintf(f, "}},\"maps\":{\"entries\":%llu,\"blobs_s\":%llu,"
			   "\"blobs_m\":%llu,\"blobs_l\":%llu,\"blob_bytes\":%llu,"
			   "\"publishes\":%llu,\"last_publish_us\":%llu,\"lru_inserts\":%llu}}\n",
			(unsigned long long)ms.entries,
			(unsigned long long)ms.blobs[XDPNS_BLOB_S],
			(unsigned long long)ms.blobs[XDPNS_BLOB_M],
			(unsigned long long)ms.blobs[XDPNS_BLOB_L],
			(unsigned long long)ms.blob_bytes,
			(unsigned long long)ms.publishes,
			(unsigned long long)ms.last_publish_us,
			(unsigned long long)ms.lru_inserts);
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
}

static void report_status(struct daemon *d, FILE *f, int json)
{
	int i;

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
			z ? "served" : "not loaded",
			d->dz[i].error[0] ? "; last reload failed: " : "",
			d->dz[i].error);
	}
}

/* ---- control requests ---- */

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

/* ---- lifecycle ---- */

static int daemon_start(struct daemon *d, const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mapsync_fds fds;
	uint64_t rrsets = 0;
	char err[CONFIG_ERR_LEN];
	sigset_t mask;
	int i, r;

	r = config_load(path, &d->cfg, err, sizeof(err));
	if (r) {
		log_err("%s", err);
		return r;
	}
	d->started = time(NULL);
	d->cookie_rotated = d->started;
	d->eng.n_zones = d->cfg.n_zones;
	engine_setup_identity(&d->eng, d->cfg.identity);
	d->eng.zones = calloc(d->cfg.n_zones, sizeof(*d->eng.zones));
	d->dz = calloc(d->cfg.n_zones, sizeof(*d->dz));
	if (!d->eng.zones || !d->dz)
		return -ENOMEM;
	for (i = 0; i < d->cfg.n_zones; i++) {
		struct zone *z = NULL;

		d->dz[i].cz = &d->cfg.zones[i];
		d->eng.zones[i].slot = i;
		if (!d->cfg.zones[i].file) {
			log_err("zone %s: no file to serve it from",
				d->cfg.zones[i].name);
			return -EINVAL;
		}
		r = zone_load_file(d->cfg.zones[i].file, d->cfg.zones[i].name, &z,
				   err, sizeof(err));
		if (r) {
			log_err("zone %s: %s", d->cfg.zones[i].name, err);
			return r;
		}
		rrsets += z->n_rrsets;
		zone_free(z); /* loaded again below, once the maps exist */
	}
	r = loader_open(&d->loader, rrsets);
	if (r)
		return r;
	loader_fds(&d->loader, &fds);
	r = mapsync_new(&fds, &d->ms);
	if (r)
		return r;
	for (i = 0; i < d->eng.n_zones; i++) {
		r = zone_reload(d, i);
		if (r)
			return r;
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	r = server_open(&d->cfg, d->epfd, &d->srv);
	if (r)
		return r;
	server_set_cache(d->srv, d->ms);
	d->ctlfd = control_listen(d->cfg.control);
	if (d->ctlfd < 0) {
		log_err("control socket %s: %s", d->cfg.control,
			strerror(-d->ctlfd));
		return d->ctlfd;
	}
	ev.data.fd = d->ctlfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->ctlfd, &ev);

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
	log_info("serving %d zone(s), control socket %s", d->eng.n_zones,
		 d->cfg.control);
	return 0;
}

static void daemon_stop(struct daemon *d)
{
	int i;

	loader_close(&d->loader); /* detaches XDP first */
	server_close(d->srv);
	if (d->ctlfd > 0) {
		close(d->ctlfd);
		unlink(d->cfg.control);
	}
	if (d->sigfd > 0)
		close(d->sigfd);
	if (d->epfd > 0)
		close(d->epfd);
	mapsync_free(d->ms);
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

int daemon_run(const char *config_path)
{
	struct daemon d;
	int r;

	memset(&d, 0, sizeof(d));
	d.ctlfd = d.sigfd = d.epfd = -1;
	r = daemon_start(&d, config_path);
	while (!r && !d.stop) {
		struct epoll_event evs[32];
		int n, i;

		n = epoll_wait(d.epfd, evs, 32, 1000);
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == d.sigfd)
				signal_handle(&d);
			else if (fd == d.ctlfd)
				control_handle(&d);
			else
				server_handle(d.srv, &d.eng, fd, evs[i].events);
		}
		server_tick(d.srv);
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
