#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "control.h"

struct cli_opts {
	const char *sock;
	int json;
	double watch;
	int zones; /* stats --watch --zones: rates per zone */
};

static int cli_parse(int argc, char **argv, const char *usage, int allow_json,
		     struct cli_opts *o)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "zones", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->sock = CONTROL_DEFAULT_PATH;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:jh", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->sock = optarg;
			break;
		case 'j':
			if (!allow_json)
				goto bad;
			o->json = 1;
			break;
		case 'w':
			/* only commands that say --watch in their usage */
			if (!strstr(usage, "--watch"))
				goto bad;
			o->watch = strtod(optarg, &end);
			if (*end || !(o->watch >= 0.1 && o->watch <= 3600))
				goto bad;
			break;
		case 'z':
			if (!strstr(usage, "--zones"))
				goto bad;
			o->zones = 1;
			break;
		case 'h':
			printf("%s", usage);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	return 1;
bad:
	fprintf(stderr, "%s", usage);
	return -2;
}

static int cli_call(const struct cli_opts *o, const char *req)
{
	int r = control_request(o->sock, req, stdout, stderr);

	if (r == -ENOENT || r == -ECONNREFUSED) {
		fprintf(stderr, "xdpns: no daemon is listening on %s; start it "
				"with 'xdpns serve -c FILE' (or pass -s PATH)\n",
			o->sock);
		return 1;
	}
	if (r == -EACCES) {
		fprintf(stderr, "xdpns: %s: permission denied; run as the "
				"daemon's user or root\n", o->sock);
		return 1;
	}
	if (r && r != -EPROTO)
		fprintf(stderr, "xdpns: control socket %s: %s\n", o->sock,
			strerror(-r));
	return r ? 1 : 0;
}

#define SOCK_HELP "  -s, --socket PATH  control socket (default " CONTROL_DEFAULT_PATH ")\n"

int cli_status(int argc, char **argv)
{
	static const char usage[] =
		"usage: xdpns status [-s PATH] [--json]\n"
		"Interfaces with XDP attached (and their mode), each zone's serial,\n"
		"record count and XDP entries.\n" SOCK_HELP
		"      --json         machine-readable output\n";
	struct cli_opts o;
	int r = cli_parse(argc, argv, usage, 1, &o);

	if (r <= 0)
		return -r;
	return cli_call(&o, o.json ? "status --json" : "status");
}

/* A number after "key": in the daemon's JSON (first occurrence after
 * the section name). */
static unsigned long long json_num(const char *js, const char *section,
				   const char *key)
{
	const char *p = section ? strstr(js, section) : js;
	char pat[64];

	if (!p)
		return 0;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* Per-zone counters from the "zone_counters" member of stats --json. */
#define WATCH_MAX_ZONES 1024
struct watch_zone {
	char name[256];
	unsigned long long xdp, slow;
};

static int zone_counters_parse(const char *js, struct watch_zone *z, int max)
{
	const char *p = strstr(js, "\"zone_counters\":[");
	int n = 0;

	while (p && n < max && (p = strstr(p, "{\"name\":\""))) {
		const char *e;
		size_t len;

		p += 9;
		for (e = p; *e && *e != '"'; e++)
			if (*e == '\\' && e[1])
				e++;
		len = (size_t)(e - p) < sizeof(z[n].name) ? (size_t)(e - p) :
							  sizeof(z[n].name) - 1;
		memcpy(z[n].name, p, len);
		z[n].name[len] = 0;
		z[n].xdp = json_num(e, NULL, "xdp_answers");
		z[n].slow = json_num(e, NULL, "slow_queries");
		n++;
		p = e;
	}
	return n;
}

/* One `stats --json` snapshot (to free), or NULL after saying why. */
static char *stats_json(const struct cli_opts *o)
{
	char *js = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&js, &len);
	int r;

	if (!f)
		return NULL;
	r = control_request(o->sock, "stats --json", f, stderr);
	fclose(f);
	if (r) {
		free(js);
		cli_call(o, "stats --json"); /* says why, as the others do */
		return NULL;
	}
	return js;
}

/* stats --watch N --zones: per zone, queries per second answered in XDP
 * and by the slow path, and the share answered in XDP. */
static int stats_watch_zones(const struct cli_opts *o)
{
	static struct watch_zone prev[WATCH_MAX_ZONES], cur[WATCH_MAX_ZONES];
	int n_prev = -1, n, i, k;

	for (;;) {
		char *js = stats_json(o);

		if (!js)
			return 1;
		n = zone_counters_parse(js, cur, WATCH_MAX_ZONES);
		free(js);
		if (n_prev >= 0) {
			printf("%-40s %12s %12s %9s\n", "ZONE", "XDP ans/s",
			       "slow q/s", "XDP hit");
			for (i = 0; i < n; i++) {
				unsigned long long ax = 0, sq = 0;

				/* a zone new since the last snapshot: from 0 */
				for (k = 0; k < n_prev; k++)
					if (!strcmp(prev[k].name, cur[i].name))
						break;
				if (k < n_prev && cur[i].xdp >= prev[k].xdp &&
				    cur[i].slow >= prev[k].slow) {
					ax = cur[i].xdp - prev[k].xdp;
					sq = cur[i].slow - prev[k].slow;
				} else {
					ax = cur[i].xdp;
					sq = cur[i].slow;
				}
				printf("%-40s %12.0f %12.0f %8.1f%%\n", cur[i].name,
				       ax / o->watch, sq / o->watch,
				       ax + sq ? 100.0 * ax / (ax + sq) : 0.0);
			}
			printf("\n");
			fflush(stdout);
		}
		memcpy(prev, cur, sizeof(cur[0]) * n);
		n_prev = n;
		usleep((useconds_t)(o->watch * 1e6));
	}
}

/* stats --watch N: rates per second between two snapshots, forever. */
static int stats_watch(const struct cli_opts *o)
{
	unsigned long long prev[6] = { 0 }, cur[6];
	int first = 1, row = 0;

	for (;;) {
		char *js = stats_json(o);

		if (!js)
			return 1;
		cur[0] = json_num(js, "\"xdp\"", "received");
		cur[1] = json_num(js, "\"xdp\"", "answered");
		cur[2] = json_num(js, "\"slowpath\"", "udp_queries");
		cur[3] = json_num(js, "\"slowpath\"", "tcp_queries");
		cur[4] = json_num(js, "\"xdp\"", "truncated");
		cur[5] = json_num(js, "\"passed\"", "miss");
		free(js);
		if (!first) {
			double dt = o->watch;
			unsigned long long ans = cur[1] - prev[1];
			unsigned long long slow = cur[2] - prev[2] + cur[3] - prev[3];

			if (row++ % 20 == 0)
				printf("%12s %12s %12s %12s %12s %9s\n", "XDP rx/s",
				       "XDP ans/s", "slow q/s", "TC/s", "miss/s", "XDP hit");
			printf("%12.0f %12.0f %12.0f %12.0f %12.0f %8.1f%%\n",
			       (cur[0] - prev[0]) / dt, ans / dt, slow / dt,
			       (cur[4] - prev[4]) / dt, (cur[5] - prev[5]) / dt,
			       ans + slow ? 100.0 * ans / (ans + slow) : 0.0);
			fflush(stdout);
		}
		first = 0;
		memcpy(prev, cur, sizeof(prev));
		usleep((useconds_t)(o->watch * 1e6));
	}
}

int cli_stats(int argc, char **argv)
{
	static const char usage[] =
		"usage: xdpns stats [-s PATH] [--json | --watch SECONDS [--zones]]\n"
		"XDP counters summed over CPUs (received, answered, passed by reason,\n"
		"by rcode), slow-path counters, map usage and queries per zone.\n"
		"--watch prints rates per second and the share answered in XDP every\n"
		"SECONDS until interrupted; with --zones, for each zone.\n"
		SOCK_HELP
		"      --json         machine-readable output\n"
		"      --watch SECS   rates per second, every SECS seconds\n"
		"      --zones        with --watch: a table of rates per zone\n";
	struct cli_opts o;
	int r = cli_parse(argc, argv, usage, 1, &o);

	if (r <= 0)
		return -r;
	if ((o.watch > 0 && o.json) || (o.zones && !(o.watch > 0))) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (o.watch > 0 && o.zones)
		return stats_watch_zones(&o);
	if (o.watch > 0)
		return stats_watch(&o);
	return cli_call(&o, o.json ? "stats --json" : "stats");
}

int cli_reload(int argc, char **argv)
{
	static const char usage[] =
		"usage: xdpns reload [-s PATH]\n"
		"Re-read the configuration and the zone files and apply them while\n"
		"serving: zones added, removed, changed; keys, remotes, identity.\n"
		"A configuration with an error changes nothing (exit 1). Settings\n"
		"that need a restart are printed as 'needs restart: KEY'. A zone\n"
		"whose file has an error keeps serving its previous data.\n" SOCK_HELP;
	struct cli_opts o;
	int r = cli_parse(argc, argv, usage, 0, &o);

	if (r <= 0)
		return -r;
	return cli_call(&o, "reload");
}

int cli_zone(int argc, char **argv)
{
	static const char usage[] =
		"usage: xdpns zone list | zone show|refresh|retransfer NAME [-s PATH]\n"
		"list: every zone with its kind, serial, records and XDP entries.\n"
		"show: one zone in detail (primaries, timers, transfers).\n"
		"refresh: ask the zone's primaries for its SOA now and transfer\n"
		"(IXFR, else AXFR) when they have a newer serial.\n"
		"retransfer: AXFR from the primaries now, whatever the serials.\n"
		"Either runs after a transfer in progress. Follow it with\n"
		"xdpns status.\n" SOCK_HELP;
	char req[CONTROL_MAX_REQ];
	const char *verb, *name;
	struct cli_opts o;
	int r;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("%s", usage);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		r = cli_parse(argc - 1, argv + 1, usage, 0, &o);
		if (r <= 0)
			return -r;
		return cli_call(&o, "zone list");
	}
	if (argc < 3 || (strcmp(argv[1], "refresh") && strcmp(argv[1], "retransfer") &&
			 strcmp(argv[1], "show"))) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	verb = argv[1];
	name = argv[2];
	r = cli_parse(argc - 2, argv + 2, usage, 0, &o);
	if (r <= 0)
		return -r;
	if (strlen(name) > 255 || strchr(name, ' ') || strchr(name, '\n')) {
		fprintf(stderr, "xdpns: '%s' is not a zone name\n", name);
		return 2;
	}
	snprintf(req, sizeof(req), "zone %s %s", verb, name);
	return cli_call(&o, req);
}

int cli_lookup(int argc, char **argv)
{
	static const char usage[] =
		"usage: xdpns lookup NAME TYPE [--dnssec] [--json] [-s PATH]\n"
		"What the XDP maps hold for that query: hit or miss, where from\n"
		"(the compiled entries or the LRU of slow-path answers), rcode,\n"
		"section counts and body size. A miss is answered by the slow path.\n"
		SOCK_HELP
		"      --dnssec       the DO=1 variant\n"
		"      --json         machine-readable output\n";
	char req[CONTROL_MAX_REQ];
	const char *name, *type;
	struct cli_opts o;
	int i, r, dnssec = 0, n = 0;
	char *rest[8];

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("%s", usage);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	name = argv[1];
	type = argv[2];
	rest[n++] = argv[0];
	for (i = 3; i < argc && n < 7; i++) {
		if (!strcmp(argv[i], "--dnssec"))
			dnssec = 1;
		else
			rest[n++] = argv[i];
	}
	if (i < argc) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	rest[n] = NULL;
	r = cli_parse(n, rest, usage, 1, &o);
	if (r <= 0)
		return -r;
	if (strlen(name) > 255 || strpbrk(name, " \n") || strpbrk(type, " \n") ||
	    strlen(type) > 20) {
		fprintf(stderr, "xdpns: '%s %s' is not a name and a type\n", name, type);
		return 2;
	}
	snprintf(req, sizeof(req), "lookup %s %s%s%s", name, type,
		 dnssec ? " do" : "", o.json ? " --json" : "");
	return cli_call(&o, req);
}

/* attach IFACE [--mode native|generic] / detach IFACE */
int cli_attach(int argc, char **argv, int attach)
{
	static const char ausage[] =
		"usage: xdpns attach IFACE [--mode native|generic] [-s PATH]\n"
		"Attach the XDP program to IFACE while the daemon runs (native\n"
		"mode falls back to generic with a warning).\n" SOCK_HELP;
	static const char dusage[] =
		"usage: xdpns detach IFACE [-s PATH]\n"
		"Detach XDP from IFACE; its queries go to the slow path.\n" SOCK_HELP;
	const char *usage = attach ? ausage : dusage;
	char req[CONTROL_MAX_REQ], *rest[8];
	const char *iface, *mode = "native";
	struct cli_opts o;
	int i, r, n = 0;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("%s", usage);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	iface = argv[1];
	rest[n++] = argv[0];
	for (i = 2; i < argc && n < 7; i++) {
		if (attach && !strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else
			rest[n++] = argv[i];
	}
	rest[n] = NULL;
	if (strcmp(mode, "native") && strcmp(mode, "generic")) {
		fprintf(stderr, "xdpns: --mode %s: expected native or generic\n", mode);
		return 2;
	}
	if (strlen(iface) >= 16 || strpbrk(iface, " \n")) {
		fprintf(stderr, "xdpns: '%s' is not an interface name\n", iface);
		return 2;
	}
	r = cli_parse(n, rest, usage, 0, &o);
	if (r <= 0)
		return -r;
	if (attach)
		snprintf(req, sizeof(req), "attach %s %s", iface, mode);
	else
		snprintf(req, sizeof(req), "detach %s", iface);
	return cli_call(&o, req);
}
