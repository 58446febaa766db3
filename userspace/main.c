/* xdpns: one binary, daemon and CLI. `xdpns COMMAND [options]`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include "cli.h"
#include "config.h"
#include "zone.h"
#include "daemon.h"
#include "log.h"

#ifndef XDPNS_VERSION
#define XDPNS_VERSION "0.1.0"
#endif

static const char usage[] =
	"usage: xdpns COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  serve -c FILE [-v]   run the daemon in the foreground\n"
	"  check-config -c FILE validate the configuration and zone files\n"
	"  lookup NAME TYPE     what the XDP maps hold for that query\n"
	"  attach IFACE         attach XDP while running (--mode native|generic)\n"
	"  detach IFACE         detach XDP; the slow path answers meanwhile\n"
	"  status [--json]      attached interfaces, zones and serials\n"
	"  stats [--json]       XDP and slow-path counters\n"
	"  reload               re-read the configuration and zone files\n"
	"  zone list            every zone: kind, serial, records, entries\n"
	"  zone show NAME       one zone in detail\n"
	"  zone refresh NAME    check the primaries of a secondary zone now\n"
	"  zone retransfer NAME AXFR a secondary zone now\n"
	"  version              print the version\n"
	"\n"
	"Each command takes --help.\n";

/* check-config: the config parses, every zone file loads, the interfaces
 * exist; keys' secrets were read by config_load(). Prints each problem. */
static int cmd_check_config(int argc, char **argv)
{
	static const char check_usage[] =
		"usage: xdpns check-config -c FILE\n"
		"Validate without running: the configuration (keys' secret files\n"
		"included), every zone file, and that each interface exists.\n"
		"  -c, --config FILE  configuration file (YAML)\n";
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	char err[1024];
	struct config cfg;
	int c, i, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			printf("%s", check_usage);
			return 0;
		default:
			fprintf(stderr, "%s", check_usage);
			return 2;
		}
	}
	if (!path || optind != argc) {
		fprintf(stderr, "%s", check_usage);
		return 2;
	}
	if (config_load(path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "xdpns: %s\n", err);
		return 1;
	}
	for (i = 0; i < cfg.n_ifaces; i++)
		if (!if_nametoindex(cfg.ifaces[i])) {
			fprintf(stderr, "xdpns: %s:%d: server.interfaces[%d]: no "
					"interface %s in this network namespace; "
					"expected an existing interface\n",
				path, cfg.iface_line[i], i, cfg.ifaces[i]);
			bad = 1;
		}
	for (i = 0; i < cfg.n_zones; i++) {
		struct zone *z = NULL;

		if (!cfg.zones[i].file)
			continue; /* a secondary: its data comes from primaries */
		if (zone_load_file(cfg.zones[i].file, cfg.zones[i].name, &z, err,
				   sizeof(err))) {
			fprintf(stderr, "xdpns: zone %s: %s\n", cfg.zones[i].name, err);
			bad = 1;
			continue;
		}
		printf("zone %s: serial %u, %zu records\n", cfg.zones[i].name,
		       z->serial, z->n_records);
		zone_free(z);
	}
	config_free(&cfg);
	if (!bad)
		printf("%s: ok\n", path);
	return bad;
}

static int cmd_serve(int argc, char **argv)
{
	static const char serve_usage[] =
		"usage: xdpns serve -c FILE [-v]...\n"
		"Run the daemon in the foreground, logging to stderr. SIGTERM or\n"
		"SIGINT detach XDP and stop; SIGHUP re-reads zone files.\n"
		"  -c, --config FILE  configuration file (YAML)\n"
		"  -v, --verbose      more logging (repeat for debug)\n"
		"  -l, --log WHERE    stderr, syslog, or auto (default: stderr when\n"
		"                     it is a terminal, else syslog once serving)\n";
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg = NULL;
	int c, level = LOG_LVL_INFO, to_syslog = -1; /* -1: auto */

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:vl:h", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg = optarg;
			break;
		case 'v':
			level++;
			break;
		case 'l':
			if (!strcmp(optarg, "stderr"))
				to_syslog = 0;
			else if (!strcmp(optarg, "syslog"))
				to_syslog = 1;
			else if (strcmp(optarg, "auto")) {
				fprintf(stderr, "xdpns: --log %s: expected stderr, "
						"syslog or auto\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s", serve_usage);
			return 0;
		default:
			fprintf(stderr, "%s", serve_usage);
			return 2;
		}
	}
	if (!cfg || optind != argc) {
		fprintf(stderr, "%s", serve_usage);
		return 2;
	}
	log_set_level(level);
	if (to_syslog < 0)
		to_syslog = !isatty(STDERR_FILENO);
	return daemon_run(cfg, to_syslog) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "attach") || !strcmp(cmd, "detach"))
		return cli_attach(argc - 1, argv + 1, cmd[0] == 'a');
	if (!strcmp(cmd, "lookup"))
		return cli_lookup(argc - 1, argv + 1);
	if (!strcmp(cmd, "check-config"))
		return cmd_check_config(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cli_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "stats"))
		return cli_stats(argc - 1, argv + 1);
	if (!strcmp(cmd, "reload"))
		return cli_reload(argc - 1, argv + 1);
	if (!strcmp(cmd, "zone"))
		return cli_zone(argc - 1, argv + 1);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("xdpns %s\n", XDPNS_VERSION);
		return 0;
	}
	fprintf(stderr, "xdpns: unknown command '%s'\n%s", cmd, usage);
	return 2;
}
