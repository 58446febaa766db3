// SPDX-License-Identifier: GPL-2.0
/*
 * The slow path's response rate limiting (userspace/rrl.c): the same
 * buckets as XDP (bpf/lib/rrl_bucket.h) driven by a clock the test sets:
 * the slip pattern, prefixes, kinds, exempt list, refill and debt, and the
 * exact bytes of a slipped reply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"
#include "rrl.h"

#define S 1000000000ULL

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

static int check(struct rrl *r, const char *from, int kind, uint64_t now)
{
	struct sockaddr_storage ss = addr(from);

	return rrl_check(r, (struct sockaddr *)&ss, kind, now);
}

static struct rrl *make(uint32_t rate, uint32_t slip, uint32_t window,
			const char *exempt)
{
	struct config cfg;
	struct rrl *r = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.rrl.enabled = 1;
	cfg.rrl.rate = rate;
	cfg.rrl.slip = slip;
	cfg.rrl.window = window;
	cfg.rrl.ipv4_prefix = 24;
	cfg.rrl.ipv6_prefix = 56;
	if (exempt) {
		assert_int_equal(config_prefix_parse(exempt, &cfg.rrl.exempt[0]), 0);
		cfg.rrl.n_exempt = 1;
	}
	assert_int_equal(rrl_new(&cfg, &r), 0);
	assert_non_null(r);
	return r;
}

static void test_off(void **state)
{
	struct config cfg;
	struct rrl *r = (struct rrl *)1;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(rrl_new(&cfg, &r), 0);
	assert_null(r);
	/* a NULL limiter passes everything */
	assert_int_equal(check(NULL, "198.18.0.1", XDPNS_RRL_ANSWER, S), XDPNS_RRL_PASS);
}

static void test_slip_pattern(void **state)
{
	struct rrl *r = make(4, 2, 15, NULL);
	uint64_t t = 5 * S;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(check(r, "198.18.5.7", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	for (i = 0; i < 10; i++)
		assert_int_equal(check(r, "198.18.5.7", XDPNS_RRL_ANSWER, t),
				 i % 2 ? XDPNS_RRL_DROP : XDPNS_RRL_SLIP);
	rrl_free(r);
	r = make(4, 0, 15, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(check(r, "198.18.5.7", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	for (i = 0; i < 5; i++)
		assert_int_equal(check(r, "198.18.5.7", XDPNS_RRL_ANSWER, t), XDPNS_RRL_DROP);
	rrl_free(r);
	r = make(4, 1, 15, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(check(r, "198.18.5.7", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	for (i = 0; i < 5; i++)
		assert_int_equal(check(r, "198.18.5.7", XDPNS_RRL_ANSWER, t), XDPNS_RRL_SLIP);
	rrl_free(r);
}

static void test_prefixes_kinds_exempt(void **state)
{
	struct rrl *r = make(2, 1, 15, "198.18.9.0/24");
	uint64_t t = 5 * S;
	int i;

	(void)state;
	/* one /24 shares a bucket, the next /24 does not */
	assert_int_equal(check(r, "198.18.20.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "198.18.20.200", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "198.18.20.3", XDPNS_RRL_ANSWER, t), XDPNS_RRL_SLIP);
	assert_int_equal(check(r, "198.18.21.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	/* each kind has its own bucket */
	assert_int_equal(check(r, "198.18.20.1", XDPNS_RRL_NXDOMAIN, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "198.18.20.1", XDPNS_RRL_ERROR, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "198.18.20.1", XDPNS_RRL_REFERRAL, t), XDPNS_RRL_PASS);
	/* IPv6 /56 */
	assert_int_equal(check(r, "fd00:5353:0:100::1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "fd00:5353:0:1ff::1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "fd00:5353:0:180::1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_SLIP);
	assert_int_equal(check(r, "fd00:5353:0:200::1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	/* exempt */
	for (i = 0; i < 20; i++)
		assert_int_equal(check(r, "198.18.9.99", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	rrl_free(r);
}

static void test_refill_and_debt(void **state)
{
	struct rrl *r = make(4, 0, 2, NULL);
	uint64_t t = 100 * S;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	for (i = 0; i < 4; i++)
		assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_DROP);
	t += S; /* -4 + 4 = 0: still in debt after this one */
	assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_DROP);
	t += S / 2; /* -1 + 2 */
	assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_DROP);
	/* the debt floor: window (2 s) of the rate */
	for (i = 0; i < 100; i++)
		check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t);
	t += 2 * S - 1; /* -8 + 8 - tiny: still limited */
	assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_DROP);
	t += 3 * S; /* idle longer than the window: full */
	for (i = 0; i < 4; i++)
		assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_PASS);
	assert_int_equal(check(r, "198.18.40.1", XDPNS_RRL_ANSWER, t), XDPNS_RRL_DROP);
	rrl_free(r);
}

static void test_kind(void **state)
{
	(void)state;
	assert_int_equal(rrl_response_kind(0, 0), XDPNS_RRL_ANSWER);
	assert_int_equal(rrl_response_kind(0, 1), XDPNS_RRL_REFERRAL);
	assert_int_equal(rrl_response_kind(3, 0), XDPNS_RRL_NXDOMAIN);
	assert_int_equal(rrl_response_kind(5, 0), XDPNS_RRL_ERROR);
	assert_int_equal(rrl_response_kind(2, 1), XDPNS_RRL_ERROR);
	assert_int_equal(rrl_response_kind(16, 0), XDPNS_RRL_ERROR);
}

static void test_truncate(void **state)
{
	/* NOERROR AA reply to www.example.com A with one answer, one NS in
	 * authority (compressed), and an OPT carrying a cookie option */
	uint8_t msg[] = {
		0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 1, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
		'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 198, 18, 0, 80,
		0xc0, 16, 0, 2, 0, 1, 0, 0, 0x0e, 0x10, 0, 2, 0xc0, 12,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8,
		1, 2, 3, 4, 5, 6, 7, 8,
	};
	static const uint8_t want[] = {
		0x12, 0x34, 0x87, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
		'o', 'm', 0, 0, 1, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8,
		1, 2, 3, 4, 5, 6, 7, 8,
	};
	uint8_t noopt[] = {
		0xab, 0xcd, 0x81, 0x03, 0, 1, 0, 0, 0, 1, 0, 0,
		1, 'x', 0, 0, 1, 0, 1,
		0, 0, 6, 0, 1, 0, 0, 0, 1, 0, 2, 0xc0, 12,
	};
	size_t n;

	(void)state;
	n = rrl_truncate(msg, sizeof(msg));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(msg, want, sizeof(want));
	n = rrl_truncate(noopt, sizeof(noopt));
	assert_int_equal(n, 19);
	assert_int_equal(noopt[2], 0x83); /* TC added, rcode kept */
	assert_int_equal(noopt[3], 0x03);
	assert_memory_equal(noopt + 6, "\0\0\0\0\0\0", 6);
	/* a query, or a record running past the end: not touched */
	noopt[2] = 0x01;
	assert_int_equal(rrl_truncate(noopt, sizeof(noopt)), 0);
	msg[2] = 0x85;
	msg[7] = 1;
	assert_int_equal(rrl_truncate(msg, 40), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_slip_pattern),
		cmocka_unit_test(test_prefixes_kinds_exempt),
		cmocka_unit_test(test_refill_and_debt),
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_truncate),
	};

	return cmocka_run_group_tests_name("rrl", tests, NULL, NULL);
}
