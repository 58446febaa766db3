// SPDX-License-Identifier: GPL-2.0
/*
 * The lookup key: dns_parse_question() (bpf/lib/dns.h, the parser the XDP
 * program runs) and mapsync_key() (what userspace writes into the map)
 * must agree to the byte, or XDP never finds what map sync published.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "bpf_shim.h"
#include "lib/dns.h"
#include "mapsync.h"

/* A question buffer as the XDP program hands it to the parser: always
 * XDPNS_QBUF_LEN bytes, of which len are valid. Filled with a poison byte
 * past the question so reading beyond len would change results. */
struct qbuf {
	__u8 b[XDPNS_QBUF_LEN];
	__u32 len;
};

static void qbuf_make(struct qbuf *q, const void *name, size_t name_len,
		      uint16_t qtype, uint16_t qclass)
{
	memset(q->b, 0xc0, sizeof(q->b));
	memcpy(q->b, name, name_len);
	q->b[name_len] = qtype >> 8;
	q->b[name_len + 1] = qtype & 0xff;
	q->b[name_len + 2] = qclass >> 8;
	q->b[name_len + 3] = qclass & 0xff;
	q->len = name_len + 4;
}

static int parse(const struct qbuf *q, struct xdpns_key *k,
		 struct dns_question *dq)
{
	memset(k, 0, sizeof(*k));
	memset(dq, 0, sizeof(*dq));
	return dns_parse_question(q->b, q->len, k, dq);
}

/* The straightforward one's-complement sum (RFC 1071) of n bytes laid out
 * from an even offset, as 16-bit big-endian words, odd tail zero padded. */
static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Build a name of exactly total wire bytes (>= 2) from labels of up to
 * 63 bytes of fill. */
static size_t long_name(uint8_t *name, size_t total, char fill)
{
	size_t o = 0, left = total - 1; /* bytes before the root */

	while (left) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (left - (l + 1) == 1) /* never leave a 1-byte remainder */
			l--;
		name[o++] = l;
		memset(name + o, fill, l);
		o += l;
		left -= l + 1;
	}
	name[o++] = 0;
	return o;
}

#define N_WWW_MIXED "\x03" "WwW" "\x07" "eXaMpLe" "\x03" "CoM"
#define N_WWW "\x03" "www" "\x07" "example" "\x03" "com"

static void test_parse_basic(void **state)
{
	struct qbuf q;
	struct xdpns_key k;
	struct dns_question dq;

	(void)state;
	qbuf_make(&q, N_WWW_MIXED, sizeof(N_WWW_MIXED), 28, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(k.name_len, 17);
	assert_memory_equal(k.name, N_WWW, 17);
	/* zero padded after the name */
	assert_int_equal(k.name[17], 0);
	assert_int_equal(k.name[255], 0);
	assert_int_equal(k.qtype, 28);
	assert_int_equal(k.variant, 0);
	assert_int_equal(dq.qtype, 28);
	assert_int_equal(dq.qclass, 1);
	assert_int_equal(dq.qlen, 21);
	/* the question itself is untouched (the reply copies it) */
	assert_memory_equal(q.b, N_WWW_MIXED, sizeof(N_WWW_MIXED));

	/* byte-wide qtype and qclass */
	qbuf_make(&q, N_WWW, sizeof(N_WWW), 0xfe01, 0x00fe);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(k.qtype, 0xfe01);
	assert_int_equal(dq.qtype, 0xfe01);
	assert_int_equal(dq.qclass, 0x00fe);

	/* root */
	qbuf_make(&q, "", 1, 2, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(k.name_len, 1);
	assert_int_equal(k.name[0], 0);
	assert_int_equal(dq.qlen, 5);
	assert_int_equal(k.qtype, 2);

	/* bytes after the question (an OPT) do not matter */
	qbuf_make(&q, N_WWW, sizeof(N_WWW), 1, 1);
	q.len += 11;
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(dq.qlen, 21);
}

static void test_parse_lowercase_only_letters(void **state)
{
	/* label bytes outside A-Z are kept, including ones that would turn
	 * into letters with a careless | 0x20 */
	static const char name[] = "\x06" "@[`{\xc1Z" "\x02" "A-";
	static const char want[] = "\x06" "@[`{\xc1z" "\x02" "a-";
	struct qbuf q;
	struct xdpns_key k;
	struct dns_question dq;

	(void)state;
	qbuf_make(&q, name, sizeof(name), 16, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(k.name_len, sizeof(name));
	assert_memory_equal(k.name, want, sizeof(want));
}

static void check_csum(const void *name, size_t name_len)
{
	struct qbuf q;
	struct xdpns_key k;
	struct dns_question dq;

	qbuf_make(&q, name, name_len, 0xabcd, 0x1234);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(dq.qlen, name_len + 4);
	assert_int_equal(csum_fold16(dq.csum), ref_csum(q.b, name_len + 4));
}

static void test_parse_csum(void **state)
{
	uint8_t name[256];
	size_t n;

	(void)state;
	/* name length odd: qtype and qclass start at an odd offset */
	assert_int_equal(sizeof(N_WWW_MIXED) & 1, 1);
	check_csum(N_WWW_MIXED, sizeof(N_WWW_MIXED));
	/* even */
	check_csum("\x02" "Ab" "\x03" "cOm", 8);
	check_csum("", 1);
	check_csum("\x01" "Z", 3);
	/* long names, both parities, bytes that carry in the sum */
	for (n = 250; n <= 255; n++) {
		long_name(name, n, '\xff');
		check_csum(name, n);
		long_name(name, n, 'Q');
		check_csum(name, n);
	}
}

static void test_parse_csum_offset(void **state)
{
	/* csum_at_offset(): a sum taken from an even offset, placed at an odd
	 * one, is the byte swap of the folded sum */
	static const uint8_t b[] = { 0x12, 0x34, 0x56, 0x78, 0x9a };
	uint8_t shifted[sizeof(b) + 1] = { 0 };
	uint32_t s = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(b); i++)
		s += (i & 1) ? b[i] : (uint32_t)b[i] << 8;
	memcpy(shifted + 1, b, sizeof(b));
	assert_int_equal(csum_at_offset(s, 0), ref_csum(b, sizeof(b)));
	assert_int_equal(csum_at_offset(s, 1),
			 ref_csum(shifted, sizeof(shifted)));
	assert_int_equal(csum_fold16(0x1ffff), 1);
	assert_int_equal(csum_fold16(0xffffffff), 0xffff);
}

static void test_parse_qname_errors(void **state)
{
	struct qbuf q;
	struct xdpns_key k;
	struct dns_question dq;

	(void)state;
	/* compression pointer at the start and after a label */
	qbuf_make(&q, "\xc0\x0c", 2, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
	qbuf_make(&q, "\x03" "www" "\xc0\x0c", 6, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
	/* extended label types 0x40 and 0x80 */
	qbuf_make(&q, "\x41" "a", 2, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
	qbuf_make(&q, "\x40", 1, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
	qbuf_make(&q, "\x80", 1, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
	qbuf_make(&q, "\x01" "a" "\x81", 3, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
	/* 64 is one more than the longest label */
	{
		uint8_t name[70];

		memset(name, 'a', sizeof(name));
		name[0] = 64;
		name[65] = 0;
		qbuf_make(&q, name, 66, 1, 1);
		assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
		name[0] = 63;
		name[64] = 0;
		qbuf_make(&q, name, 65, 1, 1);
		assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
		assert_int_equal(k.name_len, 65);
	}
}

static void test_parse_long_names(void **state)
{
	uint8_t name[260];
	struct qbuf q;
	struct xdpns_key k;
	struct dns_question dq;
	size_t n;

	(void)state;
	/* 255 bytes: the longest name */
	n = long_name(name, 255, 'X');
	assert_int_equal(n, 255);
	qbuf_make(&q, name, n, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);
	assert_int_equal(k.name_len, 255);
	assert_int_equal(dq.qlen, 259);
	assert_int_equal(k.name[0], name[0]);
	assert_int_equal(k.name[1], 'x');
	assert_int_equal(k.name[253], 'x');
	assert_int_equal(k.name[254], 0);
	assert_int_equal(dq.qtype, 1);
	assert_int_equal(dq.qclass, 1);

	/* 256 bytes: too long, whatever the buffer holds after it */
	n = long_name(name, 256, 'x');
	assert_int_equal(n, 256);
	qbuf_make(&q, name, n, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);

	/* 255 bytes of labels without a root: too long as well */
	n = long_name(name, 257, 'x');
	qbuf_make(&q, name, 257, 1, 1);
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_QNAME);
}

static void test_parse_trunc(void **state)
{
	struct qbuf q;
	struct xdpns_key k;
	struct dns_question dq;
	__u32 full;

	(void)state;
	qbuf_make(&q, N_WWW, sizeof(N_WWW), 1, 1);
	full = q.len;
	/* every cut inside the name or inside type/class */
	for (q.len = 0; q.len < full; q.len++) {
		int r = parse(&q, &k, &dq);

		if (r != DNS_PARSE_TRUNC)
			print_error("len %u: got %d\n", q.len, r);
		assert_int_equal(r, DNS_PARSE_TRUNC);
	}
	q.len = full;
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_OK);

	/* a label claiming more bytes than the buffer has */
	qbuf_make(&q, "\x3f" "abc", 4, 1, 1);
	q.len = 4;
	assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_TRUNC);
	/* the longest name, cut in its type */
	{
		uint8_t name[256];
		size_t n = long_name(name, 255, 'a');

		qbuf_make(&q, name, n, 1, 1);
		q.len = 255 + 3;
		assert_int_equal(parse(&q, &k, &dq), DNS_PARSE_TRUNC);
	}
}

/* mapsync_key() writes the struct the parser fills, byte for byte. */
static void check_same_key(const void *wire_as_sent, size_t len,
			   uint16_t qtype)
{
	struct xdpns_key from_parser, from_sync;
	struct dns_question dq;
	struct qbuf q;

	qbuf_make(&q, wire_as_sent, len, qtype, 1);
	memset(&from_parser, 0, sizeof(from_parser));
	assert_int_equal(dns_parse_question(q.b, q.len, &from_parser, &dq),
			 DNS_PARSE_OK);
	memset(&from_sync, 0xa5, sizeof(from_sync)); /* it must clear it */
	mapsync_key(&from_sync, wire_as_sent, len, qtype);
	assert_memory_equal(&from_parser, &from_sync, sizeof(from_parser));
	assert_int_equal(sizeof(from_parser), 260);
}

static void test_mapsync_key_matches_parser(void **state)
{
	uint8_t name[256];
	struct xdpns_key a, b;

	(void)state;
	/* the same name in three spellings gives one key */
	check_same_key(N_WWW, sizeof(N_WWW), 1);
	check_same_key(N_WWW_MIXED, sizeof(N_WWW_MIXED), 1);
	check_same_key("\x03" "WWW" "\x07" "EXAMPLE" "\x03" "COM", 17, 1);
	mapsync_key(&a, (const uint8_t *)N_WWW_MIXED, 17, 1);
	mapsync_key(&b, (const uint8_t *)N_WWW, 17, 1);
	assert_memory_equal(&a, &b, sizeof(a));
	/* different qtype, different key */
	mapsync_key(&b, (const uint8_t *)N_WWW, 17, 28);
	assert_memory_not_equal(&a, &b, sizeof(a));

	check_same_key("", 1, 6);
	check_same_key(N_WWW, sizeof(N_WWW), 0xffff);
	long_name(name, 255, 'M');
	check_same_key(name, 255, 48);
	long_name(name, 100, '\xc9');
	check_same_key(name, 100, 46);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_lowercase_only_letters),
		cmocka_unit_test(test_parse_csum),
		cmocka_unit_test(test_parse_csum_offset),
		cmocka_unit_test(test_parse_qname_errors),
		cmocka_unit_test(test_parse_long_names),
		cmocka_unit_test(test_parse_trunc),
		cmocka_unit_test(test_mapsync_key_matches_parser),
	};

	return cmocka_run_group_tests_name("key", tests, NULL, NULL);
}
