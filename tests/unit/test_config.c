// SPDX-License-Identifier: GPL-2.0
/*
 * config_load(): good files with and without defaults, and one exact
 * message per kind of bad file. Runs in a temporary directory so the
 * messages name "conf.yaml" as a user would see it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "unit_fs.h"

#define CONF "conf.yaml"


static int group_setup(void **state)
{
	(void)state;
	if (unit_tmpdir_enter("config"))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(CONF);
	return unit_tmpdir_leave();
}

static void write_conf(const char *text)
{
	unit_write_file(CONF, text);
}

static void load_ok(const char *text, struct config *cfg)
{
	char err[CONFIG_ERR_LEN] = "";
	int ret;

	write_conf(text);
	ret = config_load(CONF, cfg, err, sizeof(err));
	if (ret)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(ret, 0);
	assert_string_equal(err, "");
}

/* Loads text, expects ret and exactly msg, and a zeroed struct after. */
static void load_err(const char *text, int ret, const char *msg)
{
	static const struct config zero;
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	memset(err, 'x', sizeof(err));
	write_conf(text);
	assert_int_equal(config_load(CONF, &cfg, err, sizeof(err)), ret);
	assert_string_equal(err, msg);
	assert_memory_equal(&cfg, &zero, sizeof(cfg));
	config_free(&cfg);
}

static const char full[] =
	"# edge server\n"
	"server:\n"
	"  interfaces: [eth0, ens1f0]\n"
	"  listen: [192.0.2.1@5353, \"2001:db8::1@53\", 198.51.100.7]\n"
	"  identity: edge-1\n"
	"  control: /tmp/x.sock\n"
	"  storage: /srv/xdpns\n"
	"  xdp-mode: generic\n"
	"zones:\n"
	"  - name: Example.COM\n"
	"    file: /etc/xdpns/example.com.zone\n"
	"  - file: rev.zone\n"
	"    name: 2.0.192.in-addr.arpa.\n";

static void test_full(void **state)
{
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	struct config cfg;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	load_ok(full, &cfg);
	assert_string_equal(cfg.path, CONF);
	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[0], "eth0");
	assert_string_equal(cfg.ifaces[1], "ens1f0");

	assert_int_equal(cfg.n_listen, 3);
	sin = (struct sockaddr_in *)&cfg.listen[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5353);
	assert_int_equal(sin->sin_addr.s_addr, inet_addr("192.0.2.1"));
	assert_int_equal(cfg.listen[0].addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(cfg.listen[0].text, "192.0.2.1@5353");

	sin6 = (struct sockaddr_in6 *)&cfg.listen[1].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 53);
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(cfg.listen[1].addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(cfg.listen[1].text, "2001:db8::1@53");

	sin = (struct sockaddr_in *)&cfg.listen[2].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 53);
	assert_string_equal(cfg.listen[2].text, "198.51.100.7");

	assert_string_equal(cfg.identity, "edge-1");
	assert_string_equal(cfg.control, "/tmp/x.sock");
	assert_string_equal(cfg.storage, "/srv/xdpns");
	assert_string_equal(cfg.xdp_mode, "generic");

	assert_int_equal(cfg.n_zones, 2);
	assert_string_equal(cfg.zones[0].name, "example.com.");
	assert_string_equal(cfg.zones[0].file, "/etc/xdpns/example.com.zone");
	assert_int_equal(cfg.zones[0].line, 10);
	assert_string_equal(cfg.zones[1].name, "2.0.192.in-addr.arpa.");
	assert_string_equal(cfg.zones[1].file, "rev.zone");
	assert_int_equal(cfg.zones[1].line, 13);

	config_free(&cfg);
	assert_null(cfg.zones);
	assert_null(cfg.path);
	assert_int_equal(cfg.n_zones, 0);
	config_free(&cfg); /* twice is harmless */
}

static void test_defaults(void **state)
{
	char host[HOST_NAME_MAX + 1] = "";
	struct config cfg;

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	load_ok("zones:\n  - {name: example.net, file: a.zone}\n", &cfg);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_int_equal(cfg.n_listen, 0);
	assert_string_equal(cfg.identity, host);
	assert_string_equal(cfg.control, "/run/xdpns/control.sock");
	assert_string_equal(cfg.storage, "/var/lib/xdpns");
	assert_string_equal(cfg.xdp_mode, "native");
	assert_int_equal(cfg.n_zones, 1);
	assert_string_equal(cfg.zones[0].name, "example.net.");
	assert_int_equal(cfg.zones[0].line, 2);
	config_free(&cfg);

	/* empty server section and empty lists are the defaults too */
	load_ok("server:\nzones:\n  - name: a\n    file: a.zone\n", &cfg);
	assert_string_equal(cfg.xdp_mode, "native");
	config_free(&cfg);
	load_ok("server:\n  interfaces: []\n  listen: []\n"
		"zones:\n  - name: a\n    file: a.zone\n",
		&cfg);
	assert_int_equal(cfg.n_ifaces, 0);
	assert_int_equal(cfg.n_listen, 0);
	config_free(&cfg);
}

static void test_free_zeroed(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	config_free(&cfg);
	config_free(NULL);
}

static void test_listen_forms(void **state)
{
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	struct config cfg;

	(void)state;
	load_ok("server:\n"
		"  listen:\n"
		"    - 127.0.0.1@1\n"
		"    - \"::1\"\n"
		"    - \"::@65535\"\n"
		"    - 0.0.0.0\n"
		"zones: [{name: ., file: root.zone}]\n",
		&cfg);
	assert_int_equal(cfg.n_listen, 4);
	sin = (struct sockaddr_in *)&cfg.listen[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 1);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	sin6 = (struct sockaddr_in6 *)&cfg.listen[1].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 53);
	assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback,
			    sizeof(in6addr_loopback));
	sin6 = (struct sockaddr_in6 *)&cfg.listen[2].addr;
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_memory_equal(&sin6->sin6_addr, &in6addr_any,
			    sizeof(in6addr_any));
	assert_string_equal(cfg.listen[3].text, "0.0.0.0");
	assert_string_equal(cfg.zones[0].name, ".");
	config_free(&cfg);
}

static void test_listen_bad(void **state)
{
	static const char *const bad[] = {
		"1.2.3.4@99999", "1.2.3.4@0", "1.2.3.4@", "1.2.3.4@5x",
		"[2001:db8::1]@53", "1.2.3", "example.com", "@53",
		"1.2.3.4@53@53", "1.2.3.4@-1",
	};
	char text[256], msg[CONFIG_ERR_LEN];
	size_t i;

	(void)state;
	load_err("server:\n"
		 "  interfaces: [eth0]\n"
		 "  listen:\n"
		 "    - 192.0.2.1@53\n"
		 "    - 1.2.3.4@99999\n"
		 "zones: [{name: a, file: a.zone}]\n",
		 -EINVAL,
		 "conf.yaml:5: server.listen[1]: \"1.2.3.4@99999\" is not an address; expected ADDR[@PORT] with port 1-65535");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "zones: [{name: a, file: a.zone}]\n"
			 "server:\n  listen: [192.0.2.1@53, \"%s\"]\n",
			 bad[i]);
		snprintf(msg, sizeof(msg),
			 "conf.yaml:3: server.listen[1]: \"%s\" is not an address; expected ADDR[@PORT] with port 1-65535",
			 bad[i]);
		load_err(text, -EINVAL, msg);
	}
	/* same address and port written two ways */
	load_err("server:\n  listen: [192.0.2.1, 192.0.2.1@53]\n"
		 "zones: [{name: a, file: a.zone}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.listen[1]: \"192.0.2.1@53\" repeats server.listen[0]; expected each address once");
	load_err("server:\n  listen: [{a: 1}]\n"
		 "zones: [{name: a, file: a.zone}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.listen[0]: is a mapping; expected ADDR[@PORT] with port 1-65535");
	load_err("server:\n  listen: 192.0.2.1\n"
		 "zones: [{name: a, file: a.zone}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.listen: \"192.0.2.1\" is a string; expected a list of ADDR[@PORT]");
}

static void test_limits(void **state)
{
	char text[2048];
	int i, o;

	(void)state;
	o = snprintf(text, sizeof(text), "server:\n  interfaces:\n");
	for (i = 0; i <= CONFIG_MAX_IFACES; i++)
		o += snprintf(text + o, sizeof(text) - o, "    - eth%d\n", i);
	snprintf(text + o, sizeof(text) - o, "zones: [{name: a, file: a}]\n");
	load_err(text, -EINVAL,
		 "conf.yaml:3: server.interfaces: has 17 interfaces; expected at most 16");

	o = snprintf(text, sizeof(text), "server:\n  listen:\n");
	for (i = 0; i <= CONFIG_MAX_LISTEN; i++)
		o += snprintf(text + o, sizeof(text) - o, "    - 10.0.0.%d\n", i);
	snprintf(text + o, sizeof(text) - o, "zones: [{name: a, file: a}]\n");
	load_err(text, -EINVAL,
		 "conf.yaml:3: server.listen: has 17 addresses; expected at most 16");
}

static void test_interfaces_bad(void **state)
{
	(void)state;
	load_err("server:\n  interfaces: [eth0, abcdefghijklmnop]\n"
		 "zones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.interfaces[1]: \"abcdefghijklmnop\" is not an interface name; expected at most 15 characters without '/', ':' or spaces");
	load_err("server:\n  interfaces:\n    - eth0\n    - \"eth0:1\"\n"
		 "zones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:4: server.interfaces[1]: \"eth0:1\" is not an interface name; expected at most 15 characters without '/', ':' or spaces");
	load_err("server:\n  interfaces: [eth0, eth0]\n"
		 "zones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.interfaces[1]: \"eth0\" repeats server.interfaces[0]; expected each interface once");
	load_err("server:\n  interfaces: eth0\nzones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.interfaces: \"eth0\" is a string; expected a list of interface names");
	load_err("server:\n  interfaces: [\"\"]\nzones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.interfaces[0]: empty; expected an interface name");
	load_err("server:\n  interfaces:\n    - [eth0]\n"
		 "zones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:3: server.interfaces[0]: is a list; expected an interface name");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	load_err("server:\n  foo: 1\nzones: [{name: a, file: a}]\n", -EINVAL,
		 "conf.yaml:2: server.foo: unknown key; expected one of interfaces, listen, identity, version, metrics, log-level, user, control, storage, xdp-mode, map-keys, xfr-max-records, xfr-max-bytes, xfr-idle-timeout, xfr-timeout, pass-limit, pass-limit-prefix");
	load_err("zones:\n  - name: a\n    file: a\n    primary: [p1]\n",
		 -EINVAL,
		 "conf.yaml:4: zones[0].primary: unknown key; expected one of name, file, primaries, notify-from");
	/* keys are case sensitive; odd bytes are escaped in the message */
	load_err("Server: {}\nzones: [{name: a, file: a}]\n", -EINVAL,
		 "conf.yaml:1: Server: unknown key; expected one of server, keys, remotes, zones, rrl");
	load_err("\"a\\tb\": 1\n", -EINVAL,
		 "conf.yaml:1: a\\x09b: unknown key; expected one of server, keys, remotes, zones, rrl");
	load_err("? [a]\n: 1\n", -EINVAL,
		 "conf.yaml:1: top level: has a list as a key; expected one of server, keys, remotes, zones, rrl");
}

static void test_repeated_key(void **state)
{
	(void)state;
	load_err("server:\n  identity: a\n  identity: b\n"
		 "zones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:3: server.identity: repeats the key on line 2; expected each key once");
	load_err("zones:\n  - name: a\n    file: a\n    name: b\n", -EINVAL,
		 "conf.yaml:4: zones[0].name: repeats the key on line 2; expected each key once");
}

static void test_zone_missing_parts(void **state)
{
	(void)state;
	load_err("server:\n"
		 "  interfaces: [eth0]\n"
		 "zones:\n"
		 "  - name: example.com\n"
		 "    file: /etc/xdpns/example.com.zone\n"
		 "\n"
		 "  - name: example.org\n",
		 -EINVAL,
		 "conf.yaml:7: zones[1].file: missing; expected a zone file path or primaries");
	load_err("zones:\n  - file: a.zone\n", -EINVAL,
		 "conf.yaml:2: zones[0].name: missing; expected a domain name");
	load_err("zones:\n  -\n", -EINVAL,
		 "conf.yaml:2: zones[0].name: missing; expected a domain name");
	load_err("zones:\n  - name:\n    file: a\n", -EINVAL,
		 "conf.yaml:2: zones[0].name: empty; expected a domain name with labels of 1-63 letters, digits, '-', '_' or '/' and at most 255 octets");
	load_err("zones:\n  - name: a\n    file: \"\"\n", -EINVAL,
		 "conf.yaml:3: zones[0].file: empty; expected a zone file path");
}

static void test_zones_missing(void **state)
{
	(void)state;
	load_err("server:\n  identity: x\n", -EINVAL,
		 "conf.yaml:1: zones: missing; expected at least one zone");
	load_err("", -EINVAL,
		 "conf.yaml:1: zones: missing; expected at least one zone");
	load_err("# nothing yet\n", -EINVAL,
		 "conf.yaml:1: zones: missing; expected at least one zone");
	load_err("server: {}\nzones: []\n", -EINVAL,
		 "conf.yaml:2: zones: empty; expected at least one zone");
	load_err("server: {}\nzones:\n", -EINVAL,
		 "conf.yaml:2: zones: empty; expected at least one zone");
}

static void test_zone_names(void **state)
{
	static const struct {
		const char *name, *why;
	} bad[] = {
		{ "a..b", "has an empty label" },
		{ ".com", "has an empty label" },
		{ "com..", "has an empty label" },
		{ "exa mple.com", "contains ' '" },
		{ "exa\\\\mple.com", "contains '\\'" },
		{ "x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "has a label longer than 63 characters" },
	};
	static const char expected[] =
		"expected a domain name with labels of 1-63 letters, digits, '-', '_' or '/' and at most 255 octets";
	char text[1024], msg[CONFIG_ERR_LEN], name[300];
	struct config cfg;
	size_t i;
	int o;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "zones:\n  - name: \"%s\"\n    file: a\n", bad[i].name);
		/* YAML decodes the name, the message escapes it again: the
		 * backslash name reads the same in both */
		snprintf(msg, sizeof(msg),
			 "conf.yaml:2: zones[0].name: \"%s\" %s; %s", bad[i].name,
			 bad[i].why, expected);
		load_err(text, -EINVAL, msg);
	}

	/* 63-octet labels and 255 octets in wire form are fine: 4 labels of
	 * 63 (256 with lengths) is one too many, 3x63 + 61 is the limit */
	memset(name, 'a', sizeof(name));
	for (o = 63; o < 4 * 64; o += 64)
		name[o] = '.';
	name[4 * 64 - 1] = '\0';
	snprintf(text, sizeof(text), "zones:\n  - name: %s\n    file: a\n",
		 name);
	/* long values are cut in messages */
	snprintf(msg, sizeof(msg),
		 "conf.yaml:2: zones[0].name: \"%.92s...\" is longer than 255 octets; %s",
		 name, expected);
	load_err(text, -EINVAL, msg);
	name[3 * 64 + 61] = '.';
	name[3 * 64 + 62] = '\0';
	snprintf(text, sizeof(text), "zones:\n  - name: %s\n    file: a\n",
		 name);
	load_ok(text, &cfg);
	assert_int_equal(strlen(cfg.zones[0].name), 254);
	config_free(&cfg);

	load_ok("zones:\n  - name: _Tcp.0/25.2.0.192.IN-ADDR.arpa\n    file: a\n",
		&cfg);
	assert_string_equal(cfg.zones[0].name, "_tcp.0/25.2.0.192.in-addr.arpa.");
	config_free(&cfg);
	load_ok("zones:\n  - name: \".\"\n    file: root.zone\n", &cfg);
	assert_string_equal(cfg.zones[0].name, ".");
	config_free(&cfg);
}

static void test_zone_duplicate(void **state)
{
	(void)state;
	load_err("zones:\n"
		 "  - name: example.com\n"
		 "    file: a\n"
		 "  - name: example.org\n"
		 "    file: b\n"
		 "  - file: c\n"
		 "    name: EXAMPLE.com.\n",
		 -EINVAL,
		 "conf.yaml:7: zones[2].name: \"EXAMPLE.com.\" repeats the zone on line 2; expected each zone once");
}

static void test_node_kinds(void **state)
{
	(void)state;
	load_err("- server\n- zones\n", -EINVAL,
		 "conf.yaml:1: top level: is a list; expected a mapping with server and zones");
	load_err("hello\n", -EINVAL,
		 "conf.yaml:1: top level: \"hello\" is a string; expected a mapping with server and zones");
	load_err("server: [a, b]\nzones: [{name: a, file: a}]\n", -EINVAL,
		 "conf.yaml:1: server: is a list; expected a mapping of server settings");
	load_err("zones:\n  name: a\n  file: a\n", -EINVAL,
		 "conf.yaml:2: zones: is a mapping; expected a list of zones");
	load_err("zones:\n  - example.com\n", -EINVAL,
		 "conf.yaml:2: zones[0]: \"example.com\" is a string; expected a mapping with name and file or primaries");
	load_err("zones:\n  - name: [a]\n    file: a\n", -EINVAL,
		 "conf.yaml:2: zones[0].name: is a list; expected a domain name with labels of 1-63 letters, digits, '-', '_' or '/' and at most 255 octets");
	load_err("server:\n  identity: {a: b}\nzones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.identity: is a mapping; expected a server name");
	load_err("server:\n  storage:\nzones: [{name: a, file: a}]\n", -EINVAL,
		 "conf.yaml:2: server.storage: empty; expected a directory path");
	load_err("server:\n  identity: \"a\\0b\"\nzones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.identity: contains a NUL character; expected a server name");
}

static void test_server_values(void **state)
{
	char text[512], msg[CONFIG_ERR_LEN], path[200];

	(void)state;
	load_err("server:\n  xdp-mode: skb\nzones: [{name: a, file: a}]\n",
		 -EINVAL,
		 "conf.yaml:2: server.xdp-mode: \"skb\" is not a mode; expected native or generic");
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[120] = '\0';
	snprintf(text, sizeof(text),
		 "server:\n  control: %s\nzones: [{name: a, file: a}]\n", path);
	snprintf(msg, sizeof(msg),
		 "conf.yaml:2: server.control: path has 120 characters; expected a socket path of at most 107");
	load_err(text, -EINVAL, msg);
}

static void test_yaml_syntax(void **state)
{
	(void)state;
	load_err("server:\n  interfaces: [eth0\nzones: []\n", -EINVAL,
		 "conf.yaml:3: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence on line 2)");
	load_err("server:\n  identity: a\n identity: b\n", -EINVAL,
		 "conf.yaml:3: YAML syntax error: did not find expected key (while parsing a block mapping on line 1)");
	load_err("server:\n\tidentity: a\n", -EINVAL,
		 "conf.yaml:2: YAML syntax error: found character that cannot start any token (while scanning for the next token on line 2)");
	load_err("zones: *nope\n", -EINVAL,
		 "conf.yaml:1: YAML syntax error: found undefined alias");
	load_err("zones: [{name: a, file: a}]\n---\nzones: []\n", -EINVAL,
		 "conf.yaml:3: document: a second YAML document; expected one");
	load_err("zones: [{name: a, file: a}]\nserver: \xff\n", -EINVAL,
		 "conf.yaml:2: YAML syntax error: invalid leading UTF-8 octet");
}

static void test_no_file(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(config_load("missing.yaml", &cfg, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err,
			    "cannot open missing.yaml: No such file or directory");
	assert_null(cfg.path);
	assert_null(cfg.zones);
	config_free(&cfg);

	assert_int_equal(config_load(".", &cfg, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "cannot read .: Is a directory");

	/* no error buffer is fine too */
	assert_int_equal(config_load("missing.yaml", &cfg, NULL, 0), -ENOENT);
}

/* Anchors and aliases resolve to the same nodes: a shared zone mapping is
 * a duplicate zone, not a crash. */
static void test_aliases(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("zones:\n  - {name: a, file: &f a.zone}\n"
		"  - {name: b, file: *f}\n",
		&cfg);
	assert_string_equal(cfg.zones[1].file, "a.zone");
	config_free(&cfg);
	load_err("zones:\n  - &z {name: a, file: a.zone}\n  - *z\n", -EINVAL,
		 "conf.yaml:2: zones[1].name: \"a\" repeats the zone on line 2; expected each zone once");
}


/* ---- keys, remotes, primaries (issue 4) ---- */

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const char secondary[] =
	"server:\n"
	"  xfr-idle-timeout: 3\n"
	"  map-keys: 2000000\n"
	"  xfr-max-records: 1000\n"
	"keys:\n"
	"  - name: Xfr-Key\n"
	"    algorithm: hmac-sha256\n"
	"    secret-file: k1.secret\n"
	"  - name: old-key.\n"
	"    algorithm: HMAC-SHA1\n"
	"    secret-file: k2.secret\n"
	"remotes:\n"
	"  - id: primary-a\n"
	"    address: 192.0.2.10@5353\n"
	"    key: [xfr-key, old-key]\n"
	"  - id: primary-b\n"
	"    address: 2001:db8::10\n"
	"    key: old-key\n"
	"  - id: hidden\n"
	"    address: 192.0.2.99\n"
	"zones:\n"
	"  - name: example.com\n"
	"    primaries: [primary-b, primary-a]\n"
	"  - name: example.net\n"
	"    file: net.zone\n"
	"    primaries: [primary-a]\n"
	"    notify-from: [hidden, primary-a]\n"
	"  - name: example.org\n"
	"    file: org.zone\n";

static void test_secondary(void **state)
{
	struct sockaddr_in *sin;
	struct config cfg;

	(void)state;
	write_file("k1.secret", "c2VjcmV0LW9uZS0xMjM0NTY3ODkw\n");
	write_file("k2.secret", "  dHdv\n");
	load_ok(secondary, &cfg);
	assert_int_equal(cfg.n_keys, 2);
	assert_string_equal(cfg.keys[0].name, "xfr-key.");
	assert_int_equal(cfg.keys[0].alg, CONFIG_TSIG_SHA256);
	assert_int_equal(cfg.keys[0].secret_len, 21);
	assert_memory_equal(cfg.keys[0].secret, "secret-one-1234567890", 21);
	assert_int_equal(cfg.keys[1].alg, CONFIG_TSIG_SHA1);
	assert_int_equal(cfg.keys[1].secret_len, 3);
	assert_memory_equal(cfg.keys[1].secret, "two", 3);
	assert_string_equal(config_tsig_alg_name(cfg.keys[0].alg), "hmac-sha256.");

	assert_int_equal(cfg.n_remotes, 3);
	assert_string_equal(cfg.remotes[0].id, "primary-a");
	sin = (struct sockaddr_in *)&cfg.remotes[0].addr.addr;
	assert_int_equal(ntohs(sin->sin_port), 5353);
	assert_int_equal(cfg.remotes[0].n_keys, 2);
	assert_int_equal(cfg.remotes[0].keys[0], 0);
	assert_int_equal(cfg.remotes[0].keys[1], 1);
	assert_int_equal(cfg.remotes[1].n_keys, 1);
	assert_int_equal(cfg.remotes[1].keys[0], 1);
	assert_int_equal(cfg.remotes[1].addr.addr.ss_family, AF_INET6);
	assert_int_equal(cfg.remotes[2].n_keys, 0);

	assert_null(cfg.zones[0].file);
	assert_int_equal(cfg.zones[0].n_primaries, 2);
	assert_int_equal(cfg.zones[0].primaries[0], 1);
	assert_int_equal(cfg.zones[0].primaries[1], 0);
	/* notify-from defaults to the primaries */
	assert_int_equal(cfg.zones[0].n_notify_from, 2);
	assert_int_equal(cfg.zones[0].notify_from[0], 1);
	assert_int_equal(cfg.zones[0].notify_from[1], 0);
	assert_string_equal(cfg.zones[1].file, "net.zone");
	assert_int_equal(cfg.zones[1].n_notify_from, 2);
	assert_int_equal(cfg.zones[1].notify_from[0], 2);
	assert_int_equal(cfg.zones[2].n_primaries, 0);

	assert_int_equal(cfg.xfr_idle_ms, 3000);
	assert_int_equal(cfg.xfr_max_records, 1000);
	assert_int_equal(cfg.map_keys, 2000000);
	assert_true(cfg.xfr_timeout_ms > 0);
	assert_true(cfg.xfr_max_bytes > 0);
	config_free(&cfg);
	unlink("k1.secret");
	unlink("k2.secret");
}

static void test_secondary_bad(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	(void)state;
	write_file("k.secret", "c2VjcmV0LW9uZS0xMjM0NTY3ODkw\n");
	write_file("bad.secret", "not base64 at all!!\n");
	load_err("zones:\n  - name: a\n    primaries: [p]\n", -EINVAL,
		 "conf.yaml:3: zones[0].primaries[0]: \"p\" is not defined; expected the id of one of remotes");
	load_err("remotes:\n  - id: p\n    address: 192.0.2.1\n    key: k\n"
		 "zones:\n  - name: a\n    primaries: [p]\n", -EINVAL,
		 "conf.yaml:4: remotes[0].key: \"k\" is not defined; expected the name of one of keys");
	load_err("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		 "zones:\n  - name: a\n    primaries: [p, p]\n", -EINVAL,
		 "conf.yaml:6: zones[0].primaries[1]: \"p\" repeats zones[0].primaries[0]; expected each once");
	load_err("remotes:\n  - id: p\n    address: 192.0.2.1@0\n"
		 "zones:\n  - name: a\n    primaries: [p]\n", -EINVAL,
		 "conf.yaml:3: remotes[0].address: \"192.0.2.1@0\" is not an address; expected ADDR[@PORT] with port 1-65535");
	load_err("remotes:\n  - id: p\n    address: 192.0.2.1\n  - id: p\n"
		 "    address: 192.0.2.2\nzones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:4: remotes[1].id: \"p\" repeats the remote on line 2; expected each id once");
	load_err("remotes:\n  - id: p\nzones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:2: remotes[0].address: missing; expected ADDR[@PORT] with port 1-65535");
	load_err("keys:\n  - name: k\n    algorithm: hmac-md5\n    secret-file: k.secret\n"
		 "zones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:3: keys[0].algorithm: \"hmac-md5\" is not a TSIG algorithm; expected hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1");
	load_err("keys:\n  - name: k\n    algorithm: hmac-sha256\n    secret-file: missing.secret\n"
		 "zones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:4: keys[0].secret-file: cannot read \"missing.secret\": No such file or directory; expected a file with a base64 secret");
	load_err("keys:\n  - name: k\n    algorithm: hmac-sha256\n    secret-file: bad.secret\n"
		 "zones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:4: keys[0].secret-file: \"bad.secret\" does not hold a secret; expected 1-128 bytes in base64");
	load_err("keys:\n  - name: k\n    secret-file: k.secret\n"
		 "zones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:2: keys[0].algorithm: missing; expected hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1");
	load_err("keys:\n  - name: k\n    algorithm: hmac-sha256\n    secret-file: k.secret\n"
		 "  - name: K.\n    algorithm: hmac-sha256\n    secret-file: k.secret\n"
		 "zones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:5: keys[1].name: \"K.\" repeats the key on line 2; expected each key once");
	load_err("remotes:\n  - id: p\n    address: 192.0.2.1\n"
		 "zones:\n  - name: a\n    file: a\n    notify-from: [p]\n", -EINVAL,
		 "conf.yaml:5: zones[0].notify-from: set without primaries; expected primaries for a secondary zone");
	load_err("zones:\n  - name: a\n    primaries: []\n", -EINVAL,
		 "conf.yaml:3: zones[0].primaries: empty; expected a list of remote ids");
	load_err("server:\n  xfr-idle-timeout: 0\nzones:\n  - name: a\n    file: a\n", -EINVAL,
		 "conf.yaml:2: server.xfr-idle-timeout: \"0\" is out of range; expected a whole number from 1 to 3600");
	/* the secret never appears in a message */
	write_file("k.secret", "c2VjcmV0\n");
	write_conf("keys:\n  - name: k\n    algorithm: sha256\n    secret-file: k.secret\n"
		   "zones:\n  - name: a\n    file: a\n");
	assert_int_equal(config_load(CONF, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "c2VjcmV0"));
	assert_null(strstr(err, "secret\""));
	unlink("k.secret");
	unlink("bad.secret");
}

static void test_metrics_key(void **state)
{
	const struct sockaddr_in *sin;
	struct config cfg;

	(void)state;
	load_ok("server:\n  metrics: 127.0.0.1:9353\n"
		"zones:\n  - name: example.com\n    file: /x\n", &cfg);
	assert_true(cfg.has_metrics);
	sin = (const struct sockaddr_in *)&cfg.metrics.addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9353);
	config_free(&cfg);
	load_ok("server:\n  metrics: \"[::1]:9353\"\n"
		"zones:\n  - name: example.com\n    file: /x\n", &cfg);
	assert_int_equal(cfg.metrics.addr.ss_family, AF_INET6);
	config_free(&cfg);
	load_err("server:\n  metrics: 127.0.0.1\n"
		 "zones:\n  - name: example.com\n    file: /x\n", -EINVAL,
		 "conf.yaml:2: server.metrics: \"127.0.0.1\" is not an address; "
		 "expected ADDR:PORT (e.g. 127.0.0.1:9353 or [::1]:9353)");
}

static void test_log_level_key(void **state)
{
	struct config cfg;

	(void)state;
	load_ok("zones:\n  - name: example.com\n    file: /x\n", &cfg);
	assert_int_equal(cfg.log_level, -1);
	config_free(&cfg);
	load_ok("server:\n  log-level: debug\n"
		"zones:\n  - name: example.com\n    file: /x\n", &cfg);
	assert_int_equal(cfg.log_level, 3);
	config_free(&cfg);
	load_err("server:\n  log-level: loud\n"
		 "zones:\n  - name: example.com\n    file: /x\n", -EINVAL,
		 "conf.yaml:2: server.log-level: \"loud\" is not a level; "
		 "expected error, warning, info or debug");
}

static void test_rrl(void **state)
{
	struct config cfg;

	(void)state;
	/* no section: off, with the defaults documented in xdpns.conf(5) */
	load_ok("zones:\n  - {name: a, file: a.zone}\n", &cfg);
	assert_int_equal(cfg.rrl.enabled, 0);
	assert_int_equal(cfg.rrl.rate, 20);
	assert_int_equal(cfg.rrl.slip, 2);
	assert_int_equal(cfg.rrl.window, 15);
	assert_int_equal(cfg.rrl.ipv4_prefix, 24);
	assert_int_equal(cfg.rrl.ipv6_prefix, 56);
	assert_int_equal(cfg.map_keys, 262144); /* server.map-keys default */
	assert_int_equal(cfg.pass_limit, 0);
	assert_int_equal(cfg.pass_limit_prefix, 0);
	config_free(&cfg);
	/* a section: on unless enabled: false */
	load_ok("rrl:\n  rate: 5\n  slip: 0\n  window: 3\n  ipv4-prefix: 32\n"
		"  ipv6-prefix: 64\n  exempt: [198.18.0.0/15, 'fd00:5353::/64', 198.18.1.1]\n"
		"server:\n  pass-limit: 10000\n  pass-limit-prefix: 200\n"
		"zones:\n  - {name: a, file: a.zone}\n", &cfg);
	assert_int_equal(cfg.rrl.enabled, 1);
	assert_int_equal(cfg.rrl.rate, 5);
	assert_int_equal(cfg.rrl.slip, 0);
	assert_int_equal(cfg.rrl.window, 3);
	assert_int_equal(cfg.rrl.ipv4_prefix, 32);
	assert_int_equal(cfg.rrl.ipv6_prefix, 64);
	assert_int_equal(cfg.rrl.n_exempt, 3);
	assert_int_equal(cfg.rrl.exempt[0].family, AF_INET);
	assert_int_equal(cfg.rrl.exempt[0].len, 15);
	assert_int_equal(cfg.rrl.exempt[1].family, AF_INET6);
	assert_int_equal(cfg.rrl.exempt[1].len, 64);
	assert_int_equal(cfg.rrl.exempt[2].len, 32);
	assert_int_equal(cfg.pass_limit, 10000);
	assert_int_equal(cfg.pass_limit_prefix, 200);
	config_free(&cfg);
	load_ok("rrl: {enabled: false, rate: 9}\nzones:\n  - {name: a, file: a.zone}\n",
		&cfg);
	assert_int_equal(cfg.rrl.enabled, 0);
	assert_int_equal(cfg.rrl.rate, 9);
	config_free(&cfg);

	load_err("rrl:\n  rate: 0\nzones:\n  - {name: a, file: a.zone}\n", -EINVAL,
		 "conf.yaml:2: rrl.rate: \"0\" is out of range; expected a whole "
		 "number from 1 to 1000000");
	load_err("rrl:\n  slip: 11\nzones:\n  - {name: a, file: a.zone}\n", -EINVAL,
		 "conf.yaml:2: rrl.slip: \"11\" is out of range; expected a whole "
		 "number from 0 to 10");
	load_err("rrl:\n  enabled: maybe\nzones:\n  - {name: a, file: a.zone}\n",
		 -EINVAL,
		 "conf.yaml:2: rrl.enabled: \"maybe\" is not a boolean; expected "
		 "true or false");
	load_err("rrl:\n  exempt:\n    - 198.18.0.1/24\nzones:\n  - {name: a, file: a.zone}\n",
		 -EINVAL,
		 "conf.yaml:3: rrl.exempt[0]: \"198.18.0.1/24\" is not a prefix; "
		 "expected ADDR/LEN (IPv4 /0-32, IPv6 /0-128) with the host bits clear");
	load_err("rrl:\n  ipv6-prefix: 129\nzones:\n  - {name: a, file: a.zone}\n",
		 -EINVAL,
		 "conf.yaml:2: rrl.ipv6-prefix: \"129\" is out of range; expected a "
		 "whole number from 16 to 128");
	load_err("rrl:\n  burst: 3\nzones:\n  - {name: a, file: a.zone}\n", -EINVAL,
		 "conf.yaml:2: rrl.burst: unknown key; expected one of enabled, rate, "
		 "slip, window, ipv4-prefix, ipv6-prefix, exempt");
	load_err("server:\n  pass-limit: lots\nzones:\n  - {name: a, file: a.zone}\n",
		 -EINVAL,
		 "conf.yaml:2: server.pass-limit: \"lots\" is out of range; expected a "
		 "whole number from 0 to 100000000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_free_zeroed),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_listen_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_interfaces_bad),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_metrics_key),
		cmocka_unit_test(test_log_level_key),
		cmocka_unit_test(test_repeated_key),
		cmocka_unit_test(test_zone_missing_parts),
		cmocka_unit_test(test_zones_missing),
		cmocka_unit_test(test_zone_names),
		cmocka_unit_test(test_zone_duplicate),
		cmocka_unit_test(test_node_kinds),
		cmocka_unit_test(test_server_values),
		cmocka_unit_test(test_yaml_syntax),
		cmocka_unit_test(test_no_file),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_secondary),
		cmocka_unit_test(test_secondary_bad),
		cmocka_unit_test(test_rrl),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
