/* Configuration file (YAML via libyaml): config_load() fills struct config
 * or reports one error as "file:line: key: expected ..." and fails. */
#ifndef XDPNS_CONFIG_H
#define XDPNS_CONFIG_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>

#define CONFIG_MAX_IFACES 16
#define CONFIG_MAX_LISTEN 16
#define CONFIG_ERR_LEN 512

struct config_listen {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set */
	socklen_t addrlen;
	char text[64]; /* as written, for messages */
};

struct config_zone {
	char *name; /* presentation form, lowercased, with trailing dot */
	char *file; /* zone file path, may be NULL later (secondary) */
	int line; /* line of the "name:" key, for messages */
};

struct config {
	char *path; /* the file it came from */
	char *ifaces[CONFIG_MAX_IFACES];
	int n_ifaces;
	struct config_listen listen[CONFIG_MAX_LISTEN];
	int n_listen;
	char *identity; /* default: gethostname() */
	char *control; /* default: /run/xdpns/control.sock */
	char *storage; /* default: /var/lib/xdpns */
	char *xdp_mode; /* "native" (default, falls back to generic) or "generic" */
	struct config_zone *zones;
	int n_zones;
};

/* Load and validate. On error returns -EINVAL (or -errno for I/O) and writes
 * one message "file:line: what is wrong, what was expected" into err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
void config_free(struct config *cfg);

#endif
