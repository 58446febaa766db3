/* EDNS options and CHAOS in engine_respond_from(): NSID (RFC 5001), DNS
 * cookies (RFC 7873, RFC 9018), Extended DNS Errors (RFC 8914), CHAOS
 * identity; and the SipHash-2-4 behind the cookies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine.h"
#include "siphash.h"
#include "zone.h"

static struct engine_zone ez;
static struct engine eng;
static uint32_t fake_now = 1800000000;
static char zpath[] = "/tmp/xdpns-edns-XXXXXX";

static uint32_t now_fn(void)
{
	return fake_now;
}

static int setup(void **state)
{
	char err[512];
	int fd = mkstemp(zpath);
	FILE *f;

	(void)state;
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	fputs("$ORIGIN example.com.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n"
	      "@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n", f);
	fclose(f);
	if (zone_load_file(zpath, "example.com", &ez.zone, err, sizeof(err)))
		return -1;
	eng.zones = &ez;
	eng.n_zones = 1;
	engine_setup_identity(&eng, "edge-1");
	eng.now = now_fn;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zone_free(ez.zone);
	unlink(zpath);
	return 0;
}

/* A query for name/qtype/qclass with an OPT holding opts. */
static size_t query(uint8_t *q, const char *name, uint16_t qtype,
		    uint16_t qclass, const uint8_t *opts, size_t olen)
{
	size_t n = 12;
	const char *p = name;

	memset(q, 0, 12);
	q[0] = 0x12;
	q[1] = 0x34;
	q[5] = 1;
	q[11] = 1;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[n++] = l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = qtype >> 8;
	q[n++] = qtype;
	q[n++] = qclass >> 8;
	q[n++] = qclass;
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 41;
	q[n++] = 0x04;
	q[n++] = 0xd0;
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = olen >> 8;
	q[n++] = olen;
	memcpy(q + n, opts, olen);
	return n + olen;
}

/* The reply's OPT options (the OPT is the last record). */
static const uint8_t *reply_opt(const uint8_t *r, size_t n, size_t *olen)
{
	size_t i;

	/* walk back: options end the message; find the OPT by scanning for
	 * root + type 41 + class 1232 from the start of the additional data */
	for (i = 12; i + 11 <= n; i++)
		if (r[i] == 0 && r[i + 1] == 0 && r[i + 2] == 41 &&
		    r[i + 3] == 0x04 && r[i + 4] == 0xd0) {
			*olen = (size_t)r[i + 9] << 8 | r[i + 10];
			if (i + 11 + *olen == n)
				return r + i + 11;
		}
	*olen = 0;
	return NULL;
}

/* Find option code in an option list; returns its data and length. */
static const uint8_t *find_opt(const uint8_t *o, size_t olen, uint16_t code,
			       size_t *len)
{
	size_t i = 0;

	while (i + 4 <= olen) {
		uint16_t c = o[i] << 8 | o[i + 1], l = o[i + 2] << 8 | o[i + 3];

		if (c == code) {
			*len = l;
			return o + i + 4;
		}
		i += 4 + l;
	}
	return NULL;
}

static void t_siphash_vector(void **state)
{
	uint8_t key[16], msg[15];
	int i;

	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = i;
	for (i = 0; i < 15; i++)
		msg[i] = i;
	/* the reference implementation's vector for 15 bytes */
	assert_true(siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
	assert_true(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
}

static void t_nsid(void **state)
{
	static const uint8_t nsid[] = { 0, 3, 0, 0 };
	uint8_t q[512], r[1024];
	struct respond_info info;
	size_t n, olen, l;
	const uint8_t *o, *v;

	(void)state;
	n = query(q, "www.example.com", 1, 1, nsid, sizeof(nsid));
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 0);
	o = reply_opt(r, n, &olen);
	assert_non_null(o);
	v = find_opt(o, olen, 3, &l);
	assert_non_null(v);
	assert_int_equal(l, 6);
	assert_memory_equal(v, "edge-1", 6);
	/* not asked, not given */
	n = query(q, "www.example.com", 1, 1, NULL, 0);
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	o = reply_opt(r, n, &olen);
	assert_int_equal(olen, 0);
}

static void t_cookies(void **state)
{
	uint8_t opt[4 + 40] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t q[512], r[1024], srv[24];
	struct sockaddr_in a = { .sin_family = AF_INET }, b = a;
	struct respond_info info;
	size_t n, olen, l;
	const uint8_t *o, *v;

	(void)state;
	inet_pton(AF_INET, "198.18.0.2", &a.sin_addr);
	inet_pton(AF_INET, "198.18.0.3", &b.sin_addr);
	n = query(q, "www.example.com", 1, 1, opt, 12);
	n = engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
				&info);
	assert_int_equal(info.rcode, 0);
	assert_int_equal(info.cookie_valid, 0);
	o = reply_opt(r, n, &olen);
	v = find_opt(o, olen, 10, &l);
	assert_non_null(v);
	assert_int_equal(l, 24);
	assert_memory_equal(v, opt + 4, 8); /* client cookie echoed */
	assert_int_equal(v[8], 1); /* RFC 9018 version */
	assert_int_equal(v[9] | v[10] | v[11], 0);
	assert_int_equal((uint32_t)v[12] << 24 | v[13] << 16 | v[14] << 8 | v[15],
			 fake_now);
	memcpy(srv, v, 24);

	/* the full cookie comes back: valid from the same address only */
	opt[3] = 24;
	memcpy(opt + 4, srv, 24);
	n = query(q, "www.example.com", 1, 1, opt, 28);
	engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
			    &info);
	assert_int_equal(info.cookie_valid, 1);
	engine_respond_from(&eng, q, n, (struct sockaddr *)&b, r, sizeof(r), 0,
			    &info);
	assert_int_equal(info.cookie_valid, 0);
	/* a forged hash */
	opt[4 + 23] ^= 1;
	n = query(q, "www.example.com", 1, 1, opt, 28);
	engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
			    &info);
	assert_int_equal(info.cookie_valid, 0);
	opt[4 + 23] ^= 1;
	/* one rotation: still accepted; two: not */
	engine_rotate_cookie_secret(&eng);
	n = query(q, "www.example.com", 1, 1, opt, 28);
	engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
			    &info);
	assert_int_equal(info.cookie_valid, 1);
	engine_rotate_cookie_secret(&eng);
	engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
			    &info);
	assert_int_equal(info.cookie_valid, 0);
	/* an hour and more later a cookie is stale */
	opt[3] = 8;
	n = query(q, "www.example.com", 1, 1, opt, 12);
	n = engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
				&info);
	o = reply_opt(r, n, &olen);
	v = find_opt(o, olen, 10, &l);
	opt[3] = 24;
	memcpy(opt + 4, v, 24);
	n = query(q, "www.example.com", 1, 1, opt, 28);
	fake_now += 3601;
	engine_respond_from(&eng, q, n, (struct sockaddr *)&a, r, sizeof(r), 0,
			    &info);
	assert_int_equal(info.cookie_valid, 0);
	fake_now -= 3601;
	/* malformed lengths: FORMERR */
	opt[3] = 9;
	n = query(q, "www.example.com", 1, 1, opt, 13);
	engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 1);
	/* 8 + 32 is the longest cookie; one byte more is malformed */
	{
		uint8_t big[4 + 41] = { 0, 10, 0, 40 };

		n = query(q, "www.example.com", 1, 1, big, 4 + 40);
		engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
		assert_int_equal(info.rcode, 0);
		big[3] = 41;
		n = query(q, "www.example.com", 1, 1, big, 4 + 41);
		engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
		assert_int_equal(info.rcode, 1);
	}
}

static void t_unknown_option_ignored(void **state)
{
	static const uint8_t opt[] = { 0xfd, 0xe9, 0, 3, 1, 2, 3 };
	static const uint8_t bad[] = { 0xfd, 0xe9, 0, 9, 1, 2, 3 };
	uint8_t q[512], r[1024];
	struct respond_info info;
	size_t n;

	(void)state;
	n = query(q, "www.example.com", 1, 1, opt, sizeof(opt));
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 0);
	assert_int_equal(r[7], 1); /* the answer is there */
	/* an option longer than the OPT data: FORMERR */
	n = query(q, "www.example.com", 1, 1, bad, sizeof(bad));
	engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 1);
}

static void t_ede_on_refused(void **state)
{
	uint8_t q[512], r[1024];
	struct respond_info info;
	size_t n, olen, l;
	const uint8_t *o, *v;

	(void)state;
	n = query(q, "example.org", 1, 1, NULL, 0);
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 5);
	o = reply_opt(r, n, &olen);
	v = find_opt(o, olen, 15, &l);
	assert_non_null(v);
	assert_int_equal(l, 2);
	assert_int_equal(v[1], 20);
}

static void t_chaos(void **state)
{
	uint8_t q[512], r[1024];
	struct respond_info info;
	size_t n;

	(void)state;
	n = query(q, "id.server", 16, 3, NULL, 0);
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 0);
	assert_int_equal(r[7], 1); /* one answer */
	assert_true(r[2] & 0x04); /* AA */
	/* ... its TXT is the identity: the last bytes before the OPT */
	assert_memory_equal(r + n - 11 - 6, "edge-1", 6);
	assert_int_equal(r[n - 11 - 7], 6);
	n = query(q, "HOSTNAME.bind", 16, 3, NULL, 0);
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 0);
	assert_memory_equal(r + n - 11 - 6, "edge-1", 6);
	/* version.bind: refused unless configured */
	n = query(q, "version.bind", 16, 3, NULL, 0);
	engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 5);
	eng.version = "xdpns 0.1";
	n = query(q, "version.bind", 16, 3, NULL, 0);
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 0);
	assert_memory_equal(r + n - 11 - 9, "xdpns 0.1", 9);
	eng.version = NULL;
	/* other CHAOS names: refused; id.server A: NODATA */
	n = query(q, "foo.bind", 16, 3, NULL, 0);
	engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 5);
	n = query(q, "id.server", 1, 3, NULL, 0);
	n = engine_respond(&eng, q, n, r, sizeof(r), 0, &info);
	assert_int_equal(info.rcode, 0);
	assert_int_equal(r[7], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_siphash_vector),
		cmocka_unit_test(t_nsid),
		cmocka_unit_test(t_cookies),
		cmocka_unit_test(t_unknown_option_ignored),
		cmocka_unit_test(t_ede_on_refused),
		cmocka_unit_test(t_chaos),
	};

	return cmocka_run_group_tests_name("edns", tests, setup, teardown);
}
