/* Configuration file (YAML via libyaml): config_load() fills struct config
 * or reports one error as "file:line: key: expected ..." and fails. */
#ifndef XDPNS_CONFIG_H
#define XDPNS_CONFIG_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_IFACES 16
#define CONFIG_MAX_LISTEN 16
#define CONFIG_ERR_LEN 512
#define CONFIG_MAX_REMOTE_KEYS 4 /* keys valid at once for one remote */
#define CONFIG_MAX_PRIMARIES 8 /* per zone, and notify-from entries */
#define CONFIG_MAX_SECRET 128 /* decoded TSIG secret bytes */

struct config_listen {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set */
	socklen_t addrlen;
	char text[64]; /* as written, for messages */
};

/* TSIG algorithms (RFC 8945 6). */
enum config_tsig_alg {
	CONFIG_TSIG_NONE = 0,
	CONFIG_TSIG_SHA1,
	CONFIG_TSIG_SHA256,
	CONFIG_TSIG_SHA384,
	CONFIG_TSIG_SHA512,
};

struct config_key {
	char *name; /* key name, lowercased, with trailing dot */
	enum config_tsig_alg alg;
	char *secret_file;
	uint8_t secret[CONFIG_MAX_SECRET]; /* never logged */
	size_t secret_len;
	int line;
};

struct config_remote {
	char *id;
	struct config_listen addr; /* ADDR@PORT, port default 53 */
	int keys[CONFIG_MAX_REMOTE_KEYS]; /* indexes into config.keys; the
					   * first one signs requests */
	int n_keys;
	int line;
};

struct config_zone {
	char *name; /* presentation form, lowercased, with trailing dot */
	char *file; /* zone file path; NULL for a secondary kept in storage */
	int line; /* line of the "name:" key, for messages */
	int primaries[CONFIG_MAX_PRIMARIES]; /* indexes into config.remotes */
	int n_primaries; /* 0: a zone served from its file */
	int notify_from[CONFIG_MAX_PRIMARIES]; /* default: the primaries */
	int n_notify_from;
	int notify_from_set; /* written in the file (else copied) */
};

/* An address prefix (server.rrl exempt list). */
struct config_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
	int len; /* prefix length */
	char text[64]; /* as written */
};

#define CONFIG_MAX_EXEMPT 64
#define CONFIG_RRL_MAX_RATE 1000000 /* responses/s */
#define CONFIG_RRL_MAX_WINDOW 3600 /* s */
#define CONFIG_MAX_PASS_LIMIT 100000000 /* packets/s */

/* Response rate limiting (the rrl section); its prefix lengths and exempt
 * list also serve server.pass-limit-prefix. */
struct config_rrl {
	int enabled; /* the section is there and enabled is not false */
	uint32_t rate; /* responses/s per source prefix and kind */
	uint32_t slip; /* 0: drop all, 1: slip all, N: one in N */
	uint32_t window; /* s: how deep a flooding source's debt goes */
	int ipv4_prefix, ipv6_prefix;
	struct config_prefix exempt[CONFIG_MAX_EXEMPT];
	int n_exempt;
};

struct config {
	char *path; /* the file it came from */
	char *ifaces[CONFIG_MAX_IFACES];
	int iface_line[CONFIG_MAX_IFACES]; /* for messages */
	int n_ifaces;
	struct config_listen listen[CONFIG_MAX_LISTEN];
	int n_listen;
	char *identity; /* default: gethostname() */
	char *version; /* version.bind / version.server; NULL: REFUSED */
	struct config_listen metrics; /* Prometheus /metrics over HTTP */
	int log_level; /* enum log_level; -1: not set (info, or -v) */
	char *user; /* drop root to this user once serving; NULL: stay */
	int has_metrics;
	char *control; /* default: /run/xdpns/control.sock */
	char *storage; /* default: /var/lib/xdpns */
	char *xdp_mode; /* "native" (default, falls back to generic) or "generic" */
	struct config_zone *zones;
	int n_zones;
	struct config_key *keys;
	int n_keys;
	struct config_remote *remotes;
	int n_remotes;
	/* zone transfer limits (server.xfr-*) */
	uint64_t map_keys; /* XDP map room beyond the zones on disk at start */
	uint64_t xfr_max_records; /* per transfer (and zone) */
	uint64_t xfr_max_bytes; /* message bytes per transfer */
	uint32_t xfr_idle_ms; /* no byte from the primary for that long */
	uint32_t xfr_timeout_ms; /* whole transfer */
	/* queries XDP may pass up per second (server.pass-limit*); 0: no cap */
	uint32_t pass_limit; /* in total */
	uint32_t pass_limit_prefix; /* per source prefix */
	struct config_rrl rrl;
};

const char *config_tsig_alg_name(enum config_tsig_alg alg); /* "hmac-sha256." */

/* Load and validate. On error returns -EINVAL (or -errno for I/O) and writes
 * one message "file:line: what is wrong, what was expected" into err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
void config_free(struct config *cfg);
/* "198.18.0.0/24", "fd00::/56" or a bare address (a host prefix) into p;
 * 0 or -EINVAL. Host bits must be clear. */
int config_prefix_parse(const char *s, struct config_prefix *p);

#endif
