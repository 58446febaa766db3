/* The daemon behind `xdpns serve`: config, zones, engine, maps, XDP
 * attach, slow path and control socket in one event loop. */
#ifndef XDPNS_DAEMON_H
#define XDPNS_DAEMON_H

/* Runs until SIGTERM/SIGINT. Logs go to stderr until it serves, then to
 * syslog when to_syslog. Returns 0, or -errno after logging why. */
int daemon_run(const char *config_path, int to_syslog);

/* Names for counters, in enum order (for reports and tests). */
const char *daemon_pass_reason_name(int reason);
const char *daemon_rcode_name(int rcode);

#endif
