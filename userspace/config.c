// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration file: YAML read with the libyaml document API, checked
 * against per-section key tables. Every error is one message
 * "FILE:LINE: KEY: what is wrong; expected WHAT" and -EINVAL (or -errno
 * for I/O); the struct is left zeroed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <yaml.h>
#include <openssl/evp.h>

#include "xdpns_maps.h"
#include "config.h"

#ifndef CONFIG_MAX_FILE_SIZE
#define CONFIG_MAX_FILE_SIZE (1 << 20)
#endif

#define CONFIG_DEFAULT_CONTROL "/run/xdpns/control.sock"
#define CONFIG_DEFAULT_STORAGE "/var/lib/xdpns"
#define CONFIG_DEFAULT_XDP_MODE "native"
#define CONFIG_DEFAULT_PORT 53
#define CONFIG_MAX_IDENTITY 255 /* one TXT character-string */
#ifndef CONFIG_DEFAULT_XFR_MAX_RECORDS
#define CONFIG_DEFAULT_XFR_MAX_RECORDS 20000000ULL
#endif
#ifndef CONFIG_DEFAULT_XFR_MAX_BYTES
#define CONFIG_DEFAULT_XFR_MAX_BYTES (4ULL << 30)
#endif
#ifndef CONFIG_DEFAULT_XFR_IDLE_S
#define CONFIG_DEFAULT_XFR_IDLE_S 10
#endif
#ifndef CONFIG_DEFAULT_XFR_TIMEOUT_S
#define CONFIG_DEFAULT_XFR_TIMEOUT_S 900
#endif
#define CONFIG_MAX_SECRET_FILE 4096
/* rrl: as BIND's defaults (slip 2, window 15 s, IPv4 /24) with Knot's rate
 * (20/s); IPv6 /56, a typical customer assignment */
#define CONFIG_DEFAULT_RRL_RATE 20
/* room in the XDP maps beyond the zones on disk at start: a secondary
 * that starts empty, or zones that grow (about 40 MB) */
#define CONFIG_DEFAULT_MAP_KEYS 262144
#define CONFIG_DEFAULT_RRL_SLIP 2
#define CONFIG_DEFAULT_RRL_WINDOW 15
#define CONFIG_DEFAULT_RRL_IPV4_PREFIX 24
#define CONFIG_DEFAULT_RRL_IPV6_PREFIX 56

#define CFG_MAX_KEYS 24 /* keys per section table */
#define CFG_KEY_LEN 128 /* "zones[12].name" */
#define CFG_QUOTE_LEN 96 /* a value shown in a message */
#define CFG_LIST_LEN 256 /* "one of a, b, c" */

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define ZONE_NAME_EXPECTED                                              \
	"a domain name with labels of 1-63 letters, digits, '-', '_' " \
	"or '/' and at most 255 octets"

/* A name used before what it names may have been read (remotes[].key,
 * zones[].primaries): resolved once the whole document is parsed. */
struct cfg_ref {
	char *name;
	int line;
	char key[CFG_KEY_LEN];
	int is_key; /* a keys[] name; else a remotes[] id */
	int *dst; /* where the index goes */
};

struct cfg_ctx {
	const char *path; /* as given, for messages */
	struct cfg_ref *refs;
	int n_refs, cap_refs;
	yaml_document_t *doc;
	struct config *cfg;
	char *err;
	size_t errlen;
	int key_line; /* line of the key whose value is being parsed */
};

/* A handler parses the value of one key into obj; key is the full path
 * ("server.listen") for messages. */
typedef int (*cfg_handler)(struct cfg_ctx *ctx, const char *key,
			   yaml_node_t *node, void *obj);

struct cfg_key {
	const char *name;
	cfg_handler parse;
};

static int node_line(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

static int cfg_fail(struct cfg_ctx *ctx, int line, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cfg_fail(struct cfg_ctx *ctx, int line, const char *key,
		    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctx->err || !ctx->errlen)
		return -EINVAL;
	n = snprintf(ctx->err, ctx->errlen, "%s:%d: %s: ", ctx->path, line,
		     key);
	if (n >= 0 && (size_t)n < ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int cfg_errno(struct cfg_ctx *ctx, int ret, const char *what)
{
	if (ctx->err && ctx->errlen)
		snprintf(ctx->err, ctx->errlen, "%s %s: %s", what, ctx->path,
			 strerror(-ret));
	return ret;
}

static int cfg_nomem(struct cfg_ctx *ctx)
{
	if (ctx->err && ctx->errlen)
		snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->path);
	return -ENOMEM;
}

/* Copy len bytes of s into buf so a terminal can show them: quotes,
 * backslashes and non-printable bytes escaped, cut with "..." if long. */
static const char *cfg_escape(char *buf, size_t size, const char *s,
			      size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];
		char tmp[4];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = c;
		} else if (c < 0x20 || c >= 0x7f) {
			tmp[n++] = '\\';
			tmp[n++] = 'x';
			tmp[n++] = hex[c >> 4];
			tmp[n++] = hex[c & 0xf];
		} else {
			tmp[n++] = c;
		}
		if (o + n + 4 > size) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

static const char *cfg_quote(char *buf, size_t size, const char *s)
{
	return cfg_escape(buf, size, s, strlen(s));
}

static bool cfg_is_null(const yaml_node_t *node)
{
	const char *v;

	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)node->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The node is not what we wanted: say what it is instead. */
static int cfg_fail_kind(struct cfg_ctx *ctx, const char *key,
			 yaml_node_t *node, const char *what)
{
	char q[CFG_QUOTE_LEN];

	switch (node->type) {
	case YAML_SCALAR_NODE:
		if (cfg_is_null(node) || !node->data.scalar.length)
			return cfg_fail(ctx, node_line(node), key,
					"empty; expected %s", what);
		cfg_escape(q, sizeof(q), (const char *)node->data.scalar.value,
			   node->data.scalar.length);
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" is a string; expected %s", q, what);
	case YAML_SEQUENCE_NODE:
		return cfg_fail(ctx, node_line(node), key,
				"is a list; expected %s", what);
	case YAML_MAPPING_NODE:
		return cfg_fail(ctx, node_line(node), key,
				"is a mapping; expected %s", what);
	default:
		return cfg_fail(ctx, node_line(node), key,
				"is empty; expected %s", what);
	}
}

/* A non-empty string without NUL bytes; *out points into the document. */
static int cfg_string(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
		      const char *what, const char **out)
{
	const char *v;

	if (node->type != YAML_SCALAR_NODE || cfg_is_null(node) ||
	    !node->data.scalar.length)
		return cfg_fail_kind(ctx, key, node, what);
	v = (const char *)node->data.scalar.value;
	if (strlen(v) != node->data.scalar.length)
		return cfg_fail(ctx, node_line(node), key,
				"contains a NUL character; expected %s", what);
	*out = v;
	return 0;
}

/* A list, or null for an empty one. */
static int cfg_list(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
		    const char *what, int *n)
{
	if (cfg_is_null(node)) {
		*n = 0;
		return 0;
	}
	if (node->type != YAML_SEQUENCE_NODE)
		return cfg_fail_kind(ctx, key, node, what);
	*n = node->data.sequence.items.top - node->data.sequence.items.start;
	return 0;
}

static yaml_node_t *cfg_item(struct cfg_ctx *ctx, yaml_node_t *seq, int i)
{
	return yaml_document_get_node(ctx->doc,
				      seq->data.sequence.items.start[i]);
}

static const char *cfg_key_list(const struct cfg_key *keys, size_t n,
				char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < size; i++)
		o += snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
			      keys[i].name);
	return buf;
}

/* Walk a mapping (or null, for an empty one) through a key table: unknown
 * and repeated keys are errors, each known key goes to its handler. */
static int cfg_map(struct cfg_ctx *ctx, const char *prefix, yaml_node_t *node,
		   const char *what, const struct cfg_key *keys, size_t n_keys,
		   void *obj)
{
	const char *self = *prefix ? prefix : "top level";
	int seen[CFG_MAX_KEYS] = { 0 };
	char key[CFG_KEY_LEN], name[CFG_QUOTE_LEN], list[CFG_LIST_LEN];
	yaml_node_pair_t *p;
	size_t i;
	int ret;

	if (cfg_is_null(node))
		return 0;
	if (node->type != YAML_MAPPING_NODE)
		return cfg_fail_kind(ctx, self, node, what);

	for (p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
		int line = node_line(k);

		cfg_key_list(keys, n_keys, list, sizeof(list));
		if (k->type != YAML_SCALAR_NODE)
			return cfg_fail(ctx, line, self,
					"has a %s as a key; expected one of %s",
					k->type == YAML_MAPPING_NODE ?
						"mapping" : "list",
					list);
		cfg_escape(name, sizeof(name), (const char *)k->data.scalar.value,
			   k->data.scalar.length);
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
			 name);

		for (i = 0; i < n_keys; i++)
			if (k->data.scalar.length == strlen(keys[i].name) &&
			    !memcmp(k->data.scalar.value, keys[i].name,
				    k->data.scalar.length))
				break;
		if (i == n_keys)
			return cfg_fail(ctx, line, key,
					"unknown key; expected one of %s", list);
		if (seen[i])
			return cfg_fail(ctx, line, key,
					"repeats the key on line %d; expected each key once",
					seen[i]);
		seen[i] = line;
		ctx->key_line = line;
		ret = keys[i].parse(ctx, key, v, obj);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- references by name, resolved at the end ---- */

static int cfg_add_ref(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
		       const char *name, int is_key, int *dst)
{
	struct cfg_ref *r;

	if (ctx->n_refs == ctx->cap_refs) {
		int cap = ctx->cap_refs ? ctx->cap_refs * 2 : 16;
		struct cfg_ref *n = realloc(ctx->refs, cap * sizeof(*n));

		if (!n)
			return cfg_nomem(ctx);
		ctx->refs = n;
		ctx->cap_refs = cap;
	}
	r = &ctx->refs[ctx->n_refs];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	if (!r->name)
		return cfg_nomem(ctx);
	r->line = node_line(node);
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->is_key = is_key;
	r->dst = dst;
	ctx->n_refs++;
	return 0;
}

/* A string or a list of strings (ids, key names), each recorded as a
 * reference; at most max, no repeats. */
static int cfg_ref_list(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
			const char *what, int is_key, int *dst, int *n_dst,
			int max, int allow_scalar)
{
	char ikey[CFG_KEY_LEN], q[CFG_QUOTE_LEN];
	const char *s = NULL, *t = NULL;
	int i, j, n, ret;

	if (allow_scalar && node->type == YAML_SCALAR_NODE &&
	    !cfg_is_null(node)) {
		ret = cfg_string(ctx, key, node, what, &s);
		if (ret)
			return ret;
		*n_dst = 1;
		return cfg_add_ref(ctx, key, node, s, is_key, &dst[0]);
	}
	ret = cfg_list(ctx, key, node, what, &n);
	if (ret)
		return ret;
	if (n > max)
		return cfg_fail(ctx, node_line(node), key,
				"has %d entries; expected at most %d", n, max);
	for (i = 0; i < n; i++) {
		yaml_node_t *item = cfg_item(ctx, node, i);

		snprintf(ikey, sizeof(ikey), "%s[%d]", key, i);
		ret = cfg_string(ctx, ikey, item, what, &s);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			yaml_node_t *prev = cfg_item(ctx, node, j);

			t = (const char *)prev->data.scalar.value;
			if (prev->type == YAML_SCALAR_NODE && !strcmp(s, t))
				return cfg_fail(ctx, node_line(item), ikey,
						"\"%s\" repeats %s[%d]; expected each once",
						cfg_quote(q, sizeof(q), s), key, j);
		}
		ret = cfg_add_ref(ctx, ikey, item, s, is_key, &dst[i]);
		if (ret)
			return ret;
	}
	*n_dst = n;
	return 0;
}

/* ---- server ---- */

/* Linux dev_valid_name(): 1..IFNAMSIZ-1 bytes, not "." or "..", no '/',
 * ':' or white space. */
static bool cfg_ifname_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

static int cfg_parse_interfaces(struct cfg_ctx *ctx, const char *key,
				yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	char ikey[CFG_KEY_LEN], q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int i, j, n, ret;

	ret = cfg_list(ctx, key, node, "a list of interface names", &n);
	if (ret)
		return ret;
	if (n > CONFIG_MAX_IFACES)
		return cfg_fail(ctx, node_line(node), key,
				"has %d interfaces; expected at most %d", n,
				CONFIG_MAX_IFACES);
	for (i = 0; i < n; i++) {
		yaml_node_t *item = cfg_item(ctx, node, i);

		snprintf(ikey, sizeof(ikey), "%s[%d]", key, i);
		ret = cfg_string(ctx, ikey, item, "an interface name", &s);
		if (ret)
			return ret;
		cfg_quote(q, sizeof(q), s);
		if (!cfg_ifname_ok(s))
			return cfg_fail(ctx, node_line(item), ikey,
					"\"%s\" is not an interface name; expected at most %d characters without '/', ':' or spaces",
					q, IFNAMSIZ - 1);
		for (j = 0; j < cfg->n_ifaces; j++)
			if (!strcmp(cfg->ifaces[j], s))
				return cfg_fail(ctx, node_line(item), ikey,
						"\"%s\" repeats %s[%d]; expected each interface once",
						q, key, j);
		cfg->ifaces[cfg->n_ifaces] = strdup(s);
		if (!cfg->ifaces[cfg->n_ifaces])
			return cfg_nomem(ctx);
		cfg->iface_line[cfg->n_ifaces] = node_line(item);
		cfg->n_ifaces++;
	}
	return 0;
}

/* ADDR[@PORT]: IPv4 or IPv6 (no brackets), port 1-65535, default 53. */
static int cfg_addr_parse(const char *s, struct config_listen *l)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	const char *at = strrchr(s, '@');
	size_t hlen = at ? (size_t)(at - s) : strlen(s);
	char host[INET6_ADDRSTRLEN];
	unsigned long port = CONFIG_DEFAULT_PORT;
	const char *p;

	if (strlen(s) >= sizeof(l->text) || !hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (at) {
		p = at + 1;
		if (!*p || strlen(p) > 5)
			return -EINVAL;
		port = 0;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			return -EINVAL;
	}

	memset(&l->addr, 0, sizeof(l->addr));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		l->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		l->addrlen = sizeof(*sin6);
	} else {
		memset(&l->addr, 0, sizeof(l->addr));
		return -EINVAL;
	}
	strcpy(l->text, s);
	return 0;
}

static int cfg_parse_listen(struct cfg_ctx *ctx, const char *key,
			    yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	char ikey[CFG_KEY_LEN], q[CFG_QUOTE_LEN];
	struct config_listen *l;
	const char *s = NULL;
	int i, j, n, ret;

	ret = cfg_list(ctx, key, node, "a list of ADDR[@PORT]", &n);
	if (ret)
		return ret;
	if (n > CONFIG_MAX_LISTEN)
		return cfg_fail(ctx, node_line(node), key,
				"has %d addresses; expected at most %d", n,
				CONFIG_MAX_LISTEN);
	for (i = 0; i < n; i++) {
		yaml_node_t *item = cfg_item(ctx, node, i);

		snprintf(ikey, sizeof(ikey), "%s[%d]", key, i);
		ret = cfg_string(ctx, ikey, item,
				 "ADDR[@PORT] with port 1-65535", &s);
		if (ret)
			return ret;
		cfg_quote(q, sizeof(q), s);
		l = &cfg->listen[cfg->n_listen];
		if (cfg_addr_parse(s, l))
			return cfg_fail(ctx, node_line(item), ikey,
					"\"%s\" is not an address; expected ADDR[@PORT] with port 1-65535",
					q);
		for (j = 0; j < cfg->n_listen; j++)
			if (cfg->listen[j].addrlen == l->addrlen &&
			    !memcmp(&cfg->listen[j].addr, &l->addr, l->addrlen))
				return cfg_fail(ctx, node_line(item), ikey,
						"\"%s\" repeats %s[%d]; expected each address once",
						q, key, j);
		cfg->n_listen++;
	}
	return 0;
}

/* A short text (at most max characters) copied into *out. */
static int cfg_text(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
		    const char *what, size_t max, char **out)
{
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, what, &s);
	if (ret)
		return ret;
	if (strlen(s) > max)
		return cfg_fail(ctx, node_line(node), key,
				"has %zu characters; expected at most %zu",
				strlen(s), max);
	*out = strdup(s);
	return *out ? 0 : cfg_nomem(ctx);
}

static int cfg_parse_identity(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	return cfg_text(ctx, key, node, "a server name", CONFIG_MAX_IDENTITY,
			&((struct config *)obj)->identity);
}

/* server.metrics: ADDR@PORT, or ADDR:PORT / [ADDR]:PORT as Prometheus
 * users write it */
static int cfg_parse_metrics(struct cfg_ctx *ctx, const char *key,
			     yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	const char *s = NULL;
	char buf[80];
	int ret;

	ret = cfg_string(ctx, key, node, "ADDR:PORT", &s);
	if (ret)
		return ret;
	if (strlen(s) >= sizeof(buf))
		goto bad;
	if (strchr(s, '@')) {
		snprintf(buf, sizeof(buf), "%s", s);
	} else if (s[0] == '[') {
		const char *end = strstr(s, "]:");

		if (!end)
			goto bad;
		snprintf(buf, sizeof(buf), "%.*s@%s", (int)(end - s - 1), s + 1,
			 end + 2);
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon || strchr(s, ':') != colon)
			goto bad;
		snprintf(buf, sizeof(buf), "%.*s@%s", (int)(colon - s), s, colon + 1);
	}
	if (cfg_addr_parse(buf, &cfg->metrics) || !strchr(buf, '@'))
		goto bad;
	snprintf(cfg->metrics.text, sizeof(cfg->metrics.text), "%s", s);
	cfg->has_metrics = 1;
	return 0;
bad:
	return cfg_fail(ctx, node_line(node), key,
			"\"%s\" is not an address; expected ADDR:PORT "
			"(e.g. 127.0.0.1:9353 or [::1]:9353)", s);
}

/* server.log-level: error, warning, info (default) or debug */
static int cfg_parse_log_level(struct cfg_ctx *ctx, const char *key,
			       yaml_node_t *node, void *obj)
{
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	struct config *cfg = obj;
	const char *s = NULL;
	int ret, i;

	ret = cfg_string(ctx, key, node, "error, warning, info or debug", &s);
	if (ret)
		return ret;
	for (i = 0; i < 4; i++)
		if (!strcmp(s, levels[i])) {
			cfg->log_level = i;
			return 0;
		}
	return cfg_fail(ctx, node_line(node), key,
			"\"%s\" is not a level; expected error, warning, info or debug",
			s);
}

/* server.user: the user to run as once XDP is attached */
static int cfg_parse_user(struct cfg_ctx *ctx, const char *key,
			  yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a user name", &s);
	if (ret)
		return ret;
	if (!*s || strlen(s) > 32 || strpbrk(s, " /:\t"))
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" is not a user name; expected a name from "
				"/etc/passwd", s);
	cfg->user = strdup(s);
	return cfg->user ? 0 : cfg_nomem(ctx);
}

/* server.version: what version.bind answers; absent: REFUSED */
static int cfg_parse_version(struct cfg_ctx *ctx, const char *key,
			     yaml_node_t *node, void *obj)
{
	return cfg_text(ctx, key, node, "a version text", CONFIG_MAX_IDENTITY,
			&((struct config *)obj)->version);
}

static int cfg_parse_control(struct cfg_ctx *ctx, const char *key,
			     yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	struct sockaddr_un sun;
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a socket path", &s);
	if (ret)
		return ret;
	if (strlen(s) >= sizeof(sun.sun_path))
		return cfg_fail(ctx, node_line(node), key,
				"path has %zu characters; expected a socket path of at most %zu",
				strlen(s), sizeof(sun.sun_path) - 1);
	cfg->control = strdup(s);
	return cfg->control ? 0 : cfg_nomem(ctx);
}

static int cfg_parse_storage(struct cfg_ctx *ctx, const char *key,
			     yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a directory path", &s);
	if (ret)
		return ret;
	cfg->storage = strdup(s);
	return cfg->storage ? 0 : cfg_nomem(ctx);
}

static int cfg_parse_xdp_mode(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	char q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "native or generic", &s);
	if (ret)
		return ret;
	if (strcmp(s, "native") && strcmp(s, "generic"))
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" is not a mode; expected native or generic",
				cfg_quote(q, sizeof(q), s));
	cfg->xdp_mode = strdup(s);
	return cfg->xdp_mode ? 0 : cfg_nomem(ctx);
}

/* A whole number in [min, max]. */
static int cfg_uint(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	char what[96], q[CFG_QUOTE_LEN];
	const char *s = NULL, *p;
	uint64_t v = 0;
	int ret;

	snprintf(what, sizeof(what), "a whole number from %llu to %llu",
		 (unsigned long long)min, (unsigned long long)max);
	ret = cfg_string(ctx, key, node, what, &s);
	if (ret)
		return ret;
	for (p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) || v > (UINT64_MAX - 9) / 10)
			break;
		v = v * 10 + (*p - '0');
	}
	if (*p || p == s || v < min || v > max)
		return cfg_fail(ctx, node_line(node), key, "\"%s\" is out of range; expected %s",
				cfg_quote(q, sizeof(q), s), what);
	*out = v;
	return 0;
}

static int cfg_parse_xfr_max_records(struct cfg_ctx *ctx, const char *key,
				     yaml_node_t *node, void *obj)
{
	return cfg_uint(ctx, key, node, 1, UINT32_MAX,
			&((struct config *)obj)->xfr_max_records);
}

static int cfg_parse_map_keys(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	return cfg_uint(ctx, key, node, 0, 1u << 26, &((struct config *)obj)->map_keys);
}

static int cfg_parse_xfr_max_bytes(struct cfg_ctx *ctx, const char *key,
				   yaml_node_t *node, void *obj)
{
	return cfg_uint(ctx, key, node, 512, 1ULL << 40,
			&((struct config *)obj)->xfr_max_bytes);
}

static int cfg_parse_xfr_idle(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 1, 3600, &v);

	((struct config *)obj)->xfr_idle_ms = v * 1000;
	return ret;
}

static int cfg_parse_xfr_timeout(struct cfg_ctx *ctx, const char *key,
				 yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 1, 86400, &v);

	((struct config *)obj)->xfr_timeout_ms = v * 1000;
	return ret;
}

static int cfg_parse_pass_limit(struct cfg_ctx *ctx, const char *key,
				yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 0, CONFIG_MAX_PASS_LIMIT, &v);

	((struct config *)obj)->pass_limit = v;
	return ret;
}

static int cfg_parse_pass_limit_prefix(struct cfg_ctx *ctx, const char *key,
				       yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 0, CONFIG_MAX_PASS_LIMIT, &v);

	((struct config *)obj)->pass_limit_prefix = v;
	return ret;
}

static const struct cfg_key server_keys[] = {
	{ "interfaces", cfg_parse_interfaces },
	{ "listen", cfg_parse_listen },
	{ "identity", cfg_parse_identity },
	{ "version", cfg_parse_version },
	{ "metrics", cfg_parse_metrics },
	{ "log-level", cfg_parse_log_level },
	{ "user", cfg_parse_user },
	{ "control", cfg_parse_control },
	{ "storage", cfg_parse_storage },
	{ "xdp-mode", cfg_parse_xdp_mode },
	{ "map-keys", cfg_parse_map_keys },
	{ "xfr-max-records", cfg_parse_xfr_max_records },
	{ "xfr-max-bytes", cfg_parse_xfr_max_bytes },
	{ "xfr-idle-timeout", cfg_parse_xfr_idle },
	{ "xfr-timeout", cfg_parse_xfr_timeout },
	{ "pass-limit", cfg_parse_pass_limit },
	{ "pass-limit-prefix", cfg_parse_pass_limit_prefix },
};
_Static_assert(ARRAY_SIZE(server_keys) <= CFG_MAX_KEYS, "server_keys: raise CFG_MAX_KEYS");

static int cfg_parse_server(struct cfg_ctx *ctx, const char *key,
			    yaml_node_t *node, void *obj)
{
	return cfg_map(ctx, key, node, "a mapping of server settings",
		       server_keys, ARRAY_SIZE(server_keys), obj);
}

/* ---- zones ---- */

static bool cfg_name_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '/';
}

/* Presentation name to lowercase with a trailing dot. On error returns
 * -EINVAL and says why in why ("has an empty label"). */
static int cfg_domain_name(const char *s, char *out, size_t size, char *why,
			   size_t whylen)
{
	size_t len = strlen(s), label = 0, o = 0, i;

	if (!strcmp(s, ".")) {
		snprintf(out, size, ".");
		return 0;
	}
	if (len && s[len - 1] == '.')
		len--;
	/* out ends in '.', so its wire form is one byte longer than it */
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? s[i] : '.';

		if (c == '.') {
			if (!label) {
				snprintf(why, whylen, "has an empty label");
				return -EINVAL;
			}
			label = 0;
		} else if (!cfg_name_char(c)) {
			if (c >= 0x20 && c < 0x7f)
				snprintf(why, whylen, "contains '%c'", c);
			else
				snprintf(why, whylen, "contains byte 0x%02x", c);
			return -EINVAL;
		} else if (++label > 63) {
			snprintf(why, whylen,
				 "has a label longer than 63 characters");
			return -EINVAL;
		}
		if (o + 1 > XDPNS_NAME_MAX - 1 || o + 2 > size) {
			snprintf(why, whylen, "is longer than %d octets",
				 XDPNS_NAME_MAX);
			return -EINVAL;
		}
		out[o++] = tolower(c);
	}
	out[o] = '\0';
	return 0;
}

static int cfg_parse_zone_name(struct cfg_ctx *ctx, const char *key,
			       yaml_node_t *node, void *obj)
{
	struct config_zone *z = obj, *zones = ctx->cfg->zones;
	char name[XDPNS_NAME_MAX + 1], why[64], q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, ZONE_NAME_EXPECTED, &s);
	if (ret)
		return ret;
	cfg_quote(q, sizeof(q), s);
	if (cfg_domain_name(s, name, sizeof(name), why, sizeof(why)))
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" %s; expected " ZONE_NAME_EXPECTED, q,
				why);
	for (; zones != z; zones++)
		if (!strcmp(zones->name, name))
			return cfg_fail(ctx, node_line(node), key,
					"\"%s\" repeats the zone on line %d; expected each zone once",
					q, zones->line);
	z->name = strdup(name);
	if (!z->name)
		return cfg_nomem(ctx);
	z->line = ctx->key_line;
	return 0;
}

static int cfg_parse_zone_file(struct cfg_ctx *ctx, const char *key,
			       yaml_node_t *node, void *obj)
{
	struct config_zone *z = obj;
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a zone file path", &s);
	if (ret)
		return ret;
	z->file = strdup(s);
	return z->file ? 0 : cfg_nomem(ctx);
}

static int cfg_parse_zone_primaries(struct cfg_ctx *ctx, const char *key,
				    yaml_node_t *node, void *obj)
{
	struct config_zone *z = obj;
	int ret;

	ret = cfg_ref_list(ctx, key, node, "a list of remote ids", 0,
			   z->primaries, &z->n_primaries, CONFIG_MAX_PRIMARIES, 0);
	if (!ret && !z->n_primaries)
		return cfg_fail(ctx, node_line(node), key,
				"empty; expected a list of remote ids");
	return ret;
}

static int cfg_parse_zone_notify_from(struct cfg_ctx *ctx, const char *key,
				      yaml_node_t *node, void *obj)
{
	struct config_zone *z = obj;

	z->notify_from_set = 1;
	return cfg_ref_list(ctx, key, node, "a list of remote ids", 0,
			    z->notify_from, &z->n_notify_from,
			    CONFIG_MAX_PRIMARIES, 0);
}

static const struct cfg_key zone_keys[] = {
	{ "name", cfg_parse_zone_name },
	{ "file", cfg_parse_zone_file },
	{ "primaries", cfg_parse_zone_primaries },
	{ "notify-from", cfg_parse_zone_notify_from },
};
_Static_assert(ARRAY_SIZE(zone_keys) <= CFG_MAX_KEYS, "zone_keys: raise CFG_MAX_KEYS");

/* A list of mappings (zones, keys, remotes): each item parsed with table
 * into the next element of a new array, then check() says what is missing
 * (it gets "key[i]" and the item's line). */
typedef int (*cfg_item_check_fn)(struct cfg_ctx *ctx, const char *ikey,
				 void *elem, int line);

static int cfg_map_list(struct cfg_ctx *ctx, const char *key, yaml_node_t *node,
			const char *what, const char *item_what,
			const struct cfg_key *table, size_t n_table, void **arr,
			size_t size, int *count, cfg_item_check_fn check)
{
	char ikey[CFG_KEY_LEN];
	int i, n, ret;

	ret = cfg_list(ctx, key, node, what, &n);
	if (ret || !n)
		return ret;
	*arr = calloc(n, size);
	if (!*arr)
		return cfg_nomem(ctx);
	for (i = 0; i < n; i++) {
		yaml_node_t *item = cfg_item(ctx, node, i);
		void *elem = (char *)*arr + (size_t)i * size;

		(*count)++;
		snprintf(ikey, sizeof(ikey), "%s[%d]", key, i);
		ret = cfg_map(ctx, ikey, item, item_what, table, n_table, elem);
		if (!ret)
			ret = check(ctx, ikey, elem, node_line(item));
		if (ret)
			return ret;
	}
	return 0;
}

/* "key.sub: missing; expected what" at line */
static int cfg_missing(struct cfg_ctx *ctx, const char *ikey, const char *sub,
		       int line, const char *what)
{
	char k[CFG_KEY_LEN];

	snprintf(k, sizeof(k), "%s.%s", ikey, sub);
	return cfg_fail(ctx, line, k, "missing; expected %s", what);
}

static int cfg_check_zone(struct cfg_ctx *ctx, const char *ikey, void *elem,
			  int line)
{
	struct config_zone *z = elem;

	if (!z->name)
		return cfg_missing(ctx, ikey, "name", line, "a domain name");
	if (!z->file && !z->n_primaries)
		return cfg_missing(ctx, ikey, "file", line,
				   "a zone file path or primaries");
	if (z->notify_from_set && !z->n_primaries) {
		char k[CFG_KEY_LEN];

		snprintf(k, sizeof(k), "%s.notify-from", ikey);
		return cfg_fail(ctx, line, k, "set without primaries; expected "
					      "primaries for a secondary zone");
	}
	return 0;
}

static int cfg_parse_zones(struct cfg_ctx *ctx, const char *key,
			   yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;
	int ret;

	ret = cfg_map_list(ctx, key, node, "a list of zones",
			   "a mapping with name and file or primaries", zone_keys,
			   ARRAY_SIZE(zone_keys), (void **)&cfg->zones,
			   sizeof(*cfg->zones), &cfg->n_zones, cfg_check_zone);
	if (!ret && !cfg->n_zones)
		return cfg_fail(ctx, node_line(node), key,
				"empty; expected at least one zone");
	return ret;
}

/* ---- keys ---- */

static const struct {
	const char *name;
	enum config_tsig_alg alg;
} tsig_algs[] = {
	{ "hmac-sha1", CONFIG_TSIG_SHA1 },
	{ "hmac-sha256", CONFIG_TSIG_SHA256 },
	{ "hmac-sha384", CONFIG_TSIG_SHA384 },
	{ "hmac-sha512", CONFIG_TSIG_SHA512 },
};

const char *config_tsig_alg_name(enum config_tsig_alg alg)
{
	switch (alg) {
	case CONFIG_TSIG_SHA1: return "hmac-sha1.";
	case CONFIG_TSIG_SHA256: return "hmac-sha256.";
	case CONFIG_TSIG_SHA384: return "hmac-sha384.";
	case CONFIG_TSIG_SHA512: return "hmac-sha512.";
	default: return "?";
	}
}

static int cfg_parse_key_name(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	struct config_key *k = obj, *keys = ctx->cfg->keys;
	char name[XDPNS_NAME_MAX + 1], why[64], q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a key name", &s);
	if (ret)
		return ret;
	cfg_quote(q, sizeof(q), s);
	if (cfg_domain_name(s, name, sizeof(name), why, sizeof(why)))
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" %s; expected a key name in domain name form",
				q, why);
	for (; keys != k; keys++)
		if (!strcmp(keys->name, name))
			return cfg_fail(ctx, node_line(node), key,
					"\"%s\" repeats the key on line %d; expected each key once",
					q, keys->line);
	k->name = strdup(name);
	return k->name ? 0 : cfg_nomem(ctx);
}

static int cfg_parse_key_alg(struct cfg_ctx *ctx, const char *key,
			     yaml_node_t *node, void *obj)
{
	struct config_key *k = obj;
	char q[CFG_QUOTE_LEN];
	const char *s = NULL;
	size_t i;
	int ret;

	ret = cfg_string(ctx, key, node,
			 "hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1", &s);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(tsig_algs); i++)
		if (!strcasecmp(s, tsig_algs[i].name)) {
			k->alg = tsig_algs[i].alg;
			return 0;
		}
	return cfg_fail(ctx, node_line(node), key,
			"\"%s\" is not a TSIG algorithm; expected hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1",
			cfg_quote(q, sizeof(q), s));
}

/* The secret: base64 in a file (white space ignored). Its bytes never
 * appear in a message. */
static int cfg_read_secret(struct cfg_ctx *ctx, const char *key, int line,
			   const char *file, struct config_key *k)
{
	char buf[CONFIG_MAX_SECRET_FILE + 1], b64[CONFIG_MAX_SECRET_FILE + 1];
	uint8_t out[CONFIG_MAX_SECRET_FILE];
	char q[CFG_QUOTE_LEN];
	size_t len = 0, n = 0, i, pad = 0;
	ssize_t r;
	int fd, dec, ret = 0;

	cfg_quote(q, sizeof(q), file);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cfg_fail(ctx, line, key, "cannot read \"%s\": %s; expected a file with a base64 secret",
				q, strerror(errno));
	while (len < sizeof(buf) &&
	       (r = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = errno;
			break;
		}
		len += r;
	}
	close(fd);
	if (ret)
		return cfg_fail(ctx, line, key, "cannot read \"%s\": %s; expected a file with a base64 secret",
				q, strerror(ret));
	for (i = 0; i < len; i++) {
		if (isspace((unsigned char)buf[i]))
			continue;
		b64[n++] = buf[i];
	}
	b64[n] = 0;
	while (n > pad && b64[n - 1 - pad] == '=')
		pad++;
	dec = n && n % 4 == 0 && len <= CONFIG_MAX_SECRET_FILE ?
		      EVP_DecodeBlock(out, (const unsigned char *)b64, n) : -1;
	if (dec >= 0)
		dec -= pad;
	memset(buf, 0, sizeof(buf));
	memset(b64, 0, sizeof(b64));
	if (dec <= 0 || dec > CONFIG_MAX_SECRET) {
		memset(out, 0, sizeof(out));
		return cfg_fail(ctx, line, key,
				"\"%s\" does not hold a secret; expected 1-%d bytes in base64",
				q, CONFIG_MAX_SECRET);
	}
	memcpy(k->secret, out, dec);
	k->secret_len = dec;
	memset(out, 0, sizeof(out));
	return 0;
}

static int cfg_parse_key_secret_file(struct cfg_ctx *ctx, const char *key,
				     yaml_node_t *node, void *obj)
{
	struct config_key *k = obj;
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a path to a file with the secret", &s);
	if (ret)
		return ret;
	k->secret_file = strdup(s);
	if (!k->secret_file)
		return cfg_nomem(ctx);
	return cfg_read_secret(ctx, key, node_line(node), s, k);
}

static const struct cfg_key key_keys[] = {
	{ "name", cfg_parse_key_name },
	{ "algorithm", cfg_parse_key_alg },
	{ "secret-file", cfg_parse_key_secret_file },
};
_Static_assert(ARRAY_SIZE(key_keys) <= CFG_MAX_KEYS, "key_keys: raise CFG_MAX_KEYS");

static int cfg_check_key(struct cfg_ctx *ctx, const char *ikey, void *elem,
			 int line)
{
	struct config_key *k = elem;

	k->line = line;
	if (!k->name)
		return cfg_missing(ctx, ikey, "name", line, "a key name");
	if (!k->alg)
		return cfg_missing(ctx, ikey, "algorithm", line,
				   "hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1");
	if (!k->secret_file)
		return cfg_missing(ctx, ikey, "secret-file", line,
				   "a path to a file with the secret");
	return 0;
}

static int cfg_parse_keys(struct cfg_ctx *ctx, const char *key,
			  yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;

	return cfg_map_list(ctx, key, node, "a list of TSIG keys",
			    "a mapping with name, algorithm and secret-file",
			    key_keys, ARRAY_SIZE(key_keys), (void **)&cfg->keys,
			    sizeof(*cfg->keys), &cfg->n_keys, cfg_check_key);
}

/* ---- remotes ---- */

static int cfg_parse_remote_id(struct cfg_ctx *ctx, const char *key,
			       yaml_node_t *node, void *obj)
{
	struct config_remote *rm = obj, *all = ctx->cfg->remotes;
	char q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "a remote id", &s);
	if (ret)
		return ret;
	for (; all != rm; all++)
		if (!strcmp(all->id, s))
			return cfg_fail(ctx, node_line(node), key,
					"\"%s\" repeats the remote on line %d; expected each id once",
					cfg_quote(q, sizeof(q), s), all->line);
	rm->id = strdup(s);
	return rm->id ? 0 : cfg_nomem(ctx);
}

static int cfg_parse_remote_address(struct cfg_ctx *ctx, const char *key,
				    yaml_node_t *node, void *obj)
{
	struct config_remote *rm = obj;
	char q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int ret;

	ret = cfg_string(ctx, key, node, "ADDR[@PORT] with port 1-65535", &s);
	if (ret)
		return ret;
	if (cfg_addr_parse(s, &rm->addr))
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" is not an address; expected ADDR[@PORT] with port 1-65535",
				cfg_quote(q, sizeof(q), s));
	return 0;
}

static int cfg_parse_remote_key(struct cfg_ctx *ctx, const char *key,
				yaml_node_t *node, void *obj)
{
	struct config_remote *rm = obj;

	return cfg_ref_list(ctx, key, node, "a key name or a list of key names",
			    1, rm->keys, &rm->n_keys, CONFIG_MAX_REMOTE_KEYS, 1);
}

static const struct cfg_key remote_keys[] = {
	{ "id", cfg_parse_remote_id },
	{ "address", cfg_parse_remote_address },
	{ "key", cfg_parse_remote_key },
};
_Static_assert(ARRAY_SIZE(remote_keys) <= CFG_MAX_KEYS, "remote_keys: raise CFG_MAX_KEYS");

static int cfg_check_remote(struct cfg_ctx *ctx, const char *ikey, void *elem,
			    int line)
{
	struct config_remote *rm = elem;

	rm->line = line; /* the items after it name it in their messages */
	if (!rm->id)
		return cfg_missing(ctx, ikey, "id", line, "a remote id");
	if (!rm->addr.addrlen)
		return cfg_missing(ctx, ikey, "address", line,
				   "ADDR[@PORT] with port 1-65535");
	return 0;
}

static int cfg_parse_remotes(struct cfg_ctx *ctx, const char *key,
			     yaml_node_t *node, void *obj)
{
	struct config *cfg = obj;

	return cfg_map_list(ctx, key, node, "a list of remotes",
			    "a mapping with id, address and key", remote_keys,
			    ARRAY_SIZE(remote_keys), (void **)&cfg->remotes,
			    sizeof(*cfg->remotes), &cfg->n_remotes, cfg_check_remote);
}

/* Every name used resolves; notify-from defaults to the primaries. */
static int cfg_resolve(struct cfg_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	char q[CFG_QUOTE_LEN], name[XDPNS_NAME_MAX + 1], why[64];
	int i, j;

	for (i = 0; i < ctx->n_refs; i++) {
		struct cfg_ref *r = &ctx->refs[i];
		int found = -1;

		cfg_quote(q, sizeof(q), r->name);
		if (r->is_key) {
			if (cfg_domain_name(r->name, name, sizeof(name), why,
					    sizeof(why)))
				name[0] = 0;
			for (j = 0; j < cfg->n_keys && found < 0; j++)
				if (!strcmp(cfg->keys[j].name, name))
					found = j;
		} else {
			for (j = 0; j < cfg->n_remotes && found < 0; j++)
				if (!strcmp(cfg->remotes[j].id, r->name))
					found = j;
		}
		if (found < 0)
			return cfg_fail(ctx, r->line, r->key,
					"\"%s\" is not defined; expected the %s of one of %s",
					q, r->is_key ? "name" : "id",
					r->is_key ? "keys" : "remotes");
		*r->dst = found;
	}
	for (i = 0; i < cfg->n_zones; i++) {
		struct config_zone *z = &cfg->zones[i];

		if (z->notify_from_set)
			continue;
		memcpy(z->notify_from, z->primaries, sizeof(z->primaries));
		z->n_notify_from = z->n_primaries;
	}
	return 0;
}

/* ---- rrl ---- */

int config_prefix_parse(const char *s, struct config_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	int max, i, len = 0;

	memset(p, 0, sizeof(*p));
	if (!hlen || hlen >= sizeof(host) || strlen(s) >= sizeof(p->text))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		const char *d = slash + 1;

		if (!*d || strlen(d) > 3)
			return -EINVAL;
		for (; *d; d++) {
			if (!isdigit((unsigned char)*d))
				return -EINVAL;
			len = len * 10 + (*d - '0');
		}
		if (len > max)
			return -EINVAL;
	} else {
		len = max;
	}
	for (i = len; i < max; i++) /* host bits must be clear */
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	p->len = len;
	strcpy(p->text, s);
	return 0;
}

static int cfg_parse_rrl_enabled(struct cfg_ctx *ctx, const char *key,
				 yaml_node_t *node, void *obj)
{
	const char *s = NULL;
	char q[CFG_QUOTE_LEN];
	int ret = cfg_string(ctx, key, node, "true or false", &s);

	if (ret)
		return ret;
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
		((struct config_rrl *)obj)->enabled = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
		((struct config_rrl *)obj)->enabled = 0;
	else
		return cfg_fail(ctx, node_line(node), key,
				"\"%s\" is not a boolean; expected true or false",
				cfg_quote(q, sizeof(q), s));
	return 0;
}

static int cfg_parse_rrl_rate(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 1, CONFIG_RRL_MAX_RATE, &v);

	((struct config_rrl *)obj)->rate = v;
	return ret;
}

static int cfg_parse_rrl_slip(struct cfg_ctx *ctx, const char *key,
			      yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 0, 10, &v);

	((struct config_rrl *)obj)->slip = v;
	return ret;
}

static int cfg_parse_rrl_window(struct cfg_ctx *ctx, const char *key,
				yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 1, CONFIG_RRL_MAX_WINDOW, &v);

	((struct config_rrl *)obj)->window = v;
	return ret;
}

static int cfg_parse_rrl_ipv4_prefix(struct cfg_ctx *ctx, const char *key,
				     yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 8, 32, &v);

	((struct config_rrl *)obj)->ipv4_prefix = v;
	return ret;
}

static int cfg_parse_rrl_ipv6_prefix(struct cfg_ctx *ctx, const char *key,
				     yaml_node_t *node, void *obj)
{
	uint64_t v = 0;
	int ret = cfg_uint(ctx, key, node, 16, 128, &v);

	((struct config_rrl *)obj)->ipv6_prefix = v;
	return ret;
}

static int cfg_parse_rrl_exempt(struct cfg_ctx *ctx, const char *key,
				yaml_node_t *node, void *obj)
{
	struct config_rrl *rrl = obj;
	char ikey[CFG_KEY_LEN], q[CFG_QUOTE_LEN];
	const char *s = NULL;
	int i, n, ret;

	ret = cfg_list(ctx, key, node, "a list of ADDR/LEN prefixes", &n);
	if (ret)
		return ret;
	if (n > CONFIG_MAX_EXEMPT)
		return cfg_fail(ctx, node_line(node), key,
				"has %d prefixes; expected at most %d", n,
				CONFIG_MAX_EXEMPT);
	for (i = 0; i < n; i++) {
		yaml_node_t *item = cfg_item(ctx, node, i);

		snprintf(ikey, sizeof(ikey), "%s[%d]", key, i);
		ret = cfg_string(ctx, ikey, item, "ADDR/LEN", &s);
		if (ret)
			return ret;
		if (config_prefix_parse(s, &rrl->exempt[rrl->n_exempt]))
			return cfg_fail(ctx, node_line(item), ikey,
					"\"%s\" is not a prefix; expected ADDR/LEN "
					"(IPv4 /0-32, IPv6 /0-128) with the host bits clear",
					cfg_quote(q, sizeof(q), s));
		rrl->n_exempt++;
	}
	return 0;
}

static const struct cfg_key rrl_keys[] = {
	{ "enabled", cfg_parse_rrl_enabled },
	{ "rate", cfg_parse_rrl_rate },
	{ "slip", cfg_parse_rrl_slip },
	{ "window", cfg_parse_rrl_window },
	{ "ipv4-prefix", cfg_parse_rrl_ipv4_prefix },
	{ "ipv6-prefix", cfg_parse_rrl_ipv6_prefix },
	{ "exempt", cfg_parse_rrl_exempt },
};
_Static_assert(ARRAY_SIZE(rrl_keys) <= CFG_MAX_KEYS, "rrl_keys: raise CFG_MAX_KEYS");

/* rrl: present means on (unless enabled: false) */
static int cfg_parse_rrl(struct cfg_ctx *ctx, const char *key,
			 yaml_node_t *node, void *obj)
{
	struct config_rrl *rrl = &((struct config *)obj)->rrl;

	rrl->enabled = 1;
	return cfg_map(ctx, key, node, "a mapping of rate-limiting settings",
		       rrl_keys, ARRAY_SIZE(rrl_keys), rrl);
}

/* ---- top level ---- */

static const struct cfg_key top_keys[] = {
	{ "server", cfg_parse_server },
	{ "keys", cfg_parse_keys },
	{ "remotes", cfg_parse_remotes },
	{ "zones", cfg_parse_zones },
	{ "rrl", cfg_parse_rrl },
};
_Static_assert(ARRAY_SIZE(top_keys) <= CFG_MAX_KEYS, "top_keys: raise CFG_MAX_KEYS");

static int cfg_parse_root(struct cfg_ctx *ctx, yaml_node_t *root)
{
	int line = root ? node_line(root) : 1;
	int ret;

	if (root) {
		ret = cfg_map(ctx, "", root, "a mapping with server and zones",
			      top_keys, ARRAY_SIZE(top_keys), ctx->cfg);
		if (ret)
			return ret;
	}
	if (!ctx->cfg->n_zones)
		return cfg_fail(ctx, line, "zones",
				"missing; expected at least one zone");
	return cfg_resolve(ctx);
}

static int cfg_defaults(struct cfg_ctx *ctx)
{
	struct config *cfg = ctx->cfg;
	char host[HOST_NAME_MAX + 1];
	int ret;

	if (!cfg->identity) {
		if (gethostname(host, sizeof(host))) {
			ret = -errno;
			if (ctx->err && ctx->errlen)
				snprintf(ctx->err, ctx->errlen,
					 "%s: cannot get the host name: %s; set server.identity",
					 ctx->path, strerror(-ret));
			return ret;
		}
		host[sizeof(host) - 1] = '\0';
		cfg->identity = strdup(host);
		if (!cfg->identity)
			return cfg_nomem(ctx);
	}
	if (!cfg->control) {
		cfg->control = strdup(CONFIG_DEFAULT_CONTROL);
		if (!cfg->control)
			return cfg_nomem(ctx);
	}
	if (!cfg->storage) {
		cfg->storage = strdup(CONFIG_DEFAULT_STORAGE);
		if (!cfg->storage)
			return cfg_nomem(ctx);
	}
	if (!cfg->xfr_max_records)
		cfg->xfr_max_records = CONFIG_DEFAULT_XFR_MAX_RECORDS;
	if (!cfg->xfr_max_bytes)
		cfg->xfr_max_bytes = CONFIG_DEFAULT_XFR_MAX_BYTES;
	if (!cfg->xfr_idle_ms)
		cfg->xfr_idle_ms = CONFIG_DEFAULT_XFR_IDLE_S * 1000;
	if (!cfg->xfr_timeout_ms)
		cfg->xfr_timeout_ms = CONFIG_DEFAULT_XFR_TIMEOUT_S * 1000;
	if (!cfg->xdp_mode) {
		cfg->xdp_mode = strdup(CONFIG_DEFAULT_XDP_MODE);
		if (!cfg->xdp_mode)
			return cfg_nomem(ctx);
	}
	return 0;
}

static int cfg_yaml_error(struct cfg_ctx *ctx, yaml_parser_t *parser,
			  const char *buf)
{
	const char *problem = parser->problem ? parser->problem : "unknown error";
	int line = 1;
	size_t i;

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return cfg_nomem(ctx);
	case YAML_READER_ERROR:
		for (i = 0; i < parser->problem_offset && buf[i]; i++)
			line += buf[i] == '\n';
		break;
	default:
		line = (int)parser->problem_mark.line + 1;
		break;
	}
	if (!ctx->err || !ctx->errlen)
		return -EINVAL;
	if (parser->context)
		snprintf(ctx->err, ctx->errlen,
			 "%s:%d: YAML syntax error: %s (%s on line %d)",
			 ctx->path, line, problem, parser->context,
			 (int)parser->context_mark.line + 1);
	else
		snprintf(ctx->err, ctx->errlen, "%s:%d: YAML syntax error: %s",
			 ctx->path, line, problem);
	return -EINVAL;
}

/* The whole file, NUL terminated, at most CONFIG_MAX_FILE_SIZE bytes. */
static int cfg_read(struct cfg_ctx *ctx, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL, *nbuf;
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(ctx->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cfg_errno(ctx, -errno, "cannot open");
	if (fstat(fd, &st)) {
		ret = cfg_errno(ctx, -errno, "cannot read");
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = cfg_errno(ctx, -EISDIR, "cannot read");
		goto out;
	}
	for (;;) {
		if (len + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = cfg_nomem(ctx);
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = cfg_errno(ctx, -errno, "cannot read");
			goto out;
		}
		if (!n)
			break;
		len += n;
		if (len > CONFIG_MAX_FILE_SIZE) {
			ret = cfg_errno(ctx, -EFBIG, "cannot read");
			goto out;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct cfg_ctx ctx = {
		.path = path, .cfg = cfg, .err = err, .errlen = errlen,
	};
	bool parser_ok = false, doc_ok = false;
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	yaml_node_t *node;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
	cfg->rrl.rate = CONFIG_DEFAULT_RRL_RATE;
	cfg->map_keys = CONFIG_DEFAULT_MAP_KEYS;
	cfg->rrl.slip = CONFIG_DEFAULT_RRL_SLIP;
	cfg->rrl.window = CONFIG_DEFAULT_RRL_WINDOW;
	cfg->rrl.ipv4_prefix = CONFIG_DEFAULT_RRL_IPV4_PREFIX;
	cfg->rrl.ipv6_prefix = CONFIG_DEFAULT_RRL_IPV6_PREFIX;
	if (err && errlen)
		err[0] = '\0';

	ret = cfg_read(&ctx, &buf, &len);
	if (ret)
		goto out;
	cfg->path = strdup(path);
	if (!cfg->path) {
		ret = cfg_nomem(&ctx);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		ret = cfg_nomem(&ctx);
		goto out;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	/* yaml_parser_load() frees the document itself when it fails */
	if (!yaml_parser_load(&parser, &doc)) {
		ret = cfg_yaml_error(&ctx, &parser, buf);
		goto out;
	}
	doc_ok = true;
	if (!yaml_parser_load(&parser, &extra)) {
		ret = cfg_yaml_error(&ctx, &parser, buf);
		goto out;
	}
	node = yaml_document_get_root_node(&extra);
	if (node)
		ret = cfg_fail(&ctx, node_line(node),
			       "document", "a second YAML document; expected one");
	yaml_document_delete(&extra);
	if (ret)
		goto out;

	ctx.doc = &doc;
	ret = cfg_parse_root(&ctx, yaml_document_get_root_node(&doc));
	if (ret)
		goto out;
	ret = cfg_defaults(&ctx);
out:
	for (int i = 0; i < ctx.n_refs; i++)
		free(ctx.refs[i].name);
	free(ctx.refs);
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	free(buf);
	if (ret)
		config_free(cfg);
	return ret;
}

void config_free(struct config *cfg)
{
	int i;

	if (!cfg)
		return;
	free(cfg->path);
	for (i = 0; i < cfg->n_ifaces; i++)
		free(cfg->ifaces[i]);
	free(cfg->identity);
	free(cfg->version);
	free(cfg->user);
	free(cfg->control);
	free(cfg->storage);
	free(cfg->xdp_mode);
	for (i = 0; i < cfg->n_zones; i++) {
		free(cfg->zones[i].name);
		free(cfg->zones[i].file);
	}
	free(cfg->zones);
	for (i = 0; i < cfg->n_keys; i++) {
		free(cfg->keys[i].name);
		free(cfg->keys[i].secret_file);
	}
	if (cfg->keys)
		memset(cfg->keys, 0, cfg->n_keys * sizeof(*cfg->keys));
	free(cfg->keys);
	for (i = 0; i < cfg->n_remotes; i++)
		free(cfg->remotes[i].id);
	free(cfg->remotes);
	memset(cfg, 0, sizeof(*cfg));
}
