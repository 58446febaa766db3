// SPDX-License-Identifier: GPL-2.0
/*
 * The answer engine: engine_answer() bodies and engine_respond() replies,
 * parsed back with ldns to check sections, flags and EDNS, and compared
 * byte for byte where a reply is small enough to write down.
 *
 * Two zones: example.com. (unsigned; SOA TTL 3600 > MINIMUM 300) and
 * example.org. (signed with fake signatures; SOA TTL 120 < MINIMUM 600),
 * so the negative TTL is checked taking the minimum both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_shim.h"
#include "lib/dns.h"
#include "engine.h"
#include "wire.h"
#include "zone.h"
#include "unit_fs.h"
#include "unit_dns.h"

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_RRSIG 46
#define C_IN 1
#define C_CH 3

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_CD 0x0010
#define OPC_NOTIFY (4 << 11)
#define OPC_UPDATE (5 << 11)

#define NO_EDNS -1


#define SIG_TAIL " 20300101000000 20200101000000 12345 example.org. " \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss" \
	"LS4vMDEyMzQ1Njc4OTo7PD0+Pw==\n"

#define TXT100(c) "\"" c "123456789012345678901234567890123456789012345678901" \
	"234567890123456789012345678901234567890123456789\"\n"

/* 200 octets on the wire: a DNAME to it makes long names too long */
#define LONG_TARGET "a123456789012345678901234567890123456789012345678." \
	"b123456789012345678901234567890123456789012345678." \
	"c123456789012345678901234567890123456789012345678." \
	"d12345678901234567890123456789012345678901.example.net."

static const char com_zone[] =
	"$TTL 3600\n"
	"@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.1\n"
	"ftp CNAME www\n"
	"ext CNAME www.example.net.\n"
	"loop1 CNAME loop2\n"
	"loop2 CNAME loop1\n"
	"dangling CNAME nothere\n"
	"a.b.c A 192.0.2.9\n"
	"alias 600 DNAME example.com.\n"
	"legacy 900 DNAME Example.NET.\n"
	"long DNAME " LONG_TARGET "\n"
	"dloop1 DNAME dloop2.example.com.\n"
	"dloop2 DNAME dloop1.example.com.\n"
	"big TXT " TXT100("a") "big TXT " TXT100("b") "big TXT " TXT100("c")
	"big TXT " TXT100("d") "big TXT " TXT100("e") "big TXT " TXT100("f")
	"big TXT " TXT100("g") "big TXT " TXT100("h") "big TXT " TXT100("i")
	"big TXT " TXT100("j");

static const char org_zone[] =
	"$TTL 3600\n"
	"@ 120 IN SOA ns1 hostmaster 2 7200 900 1209600 600\n"
	"@ 120 RRSIG SOA 13 2 120" SIG_TAIL
	"@ NS ns1\n"
	"@ RRSIG NS 13 2 3600" SIG_TAIL
	"ns1 A 192.0.2.54\n"
	"www A 192.0.2.10\n"
	"www RRSIG A 13 3 3600" SIG_TAIL;

static struct zone *z_com, *z_org;
static struct engine_zone zones[2];
static struct engine eng = { .zones = zones, .n_zones = 2 };

static struct zone *load(const char *file, const char *text, const char *origin)
{
	char err[512];
	struct zone *z = NULL;
	FILE *f = fopen(file, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		return NULL;
	if (zone_load_file(file, origin, &z, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	unlink(file);
	return z;
}

static int group_setup(void **state)
{
	(void)state;
	if (unit_tmpdir_enter("engine"))
		return -1;
	z_com = load("com.zone", com_zone, "example.com.");
	z_org = load("org.zone", org_zone, "example.org.");
	if (!z_com || !z_org)
		return -1;
	zones[0] = (struct engine_zone){ .zone = z_com, .slot = 0 };
	zones[1] = (struct engine_zone){ .zone = z_org, .slot = 1 };
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	zone_free(z_com);
	zone_free(z_org);
	return unit_tmpdir_leave();
}

/* ---- queries ---- */

struct query {
	uint16_t id, flags;
	const char *name;
	uint16_t qtype, qclass;
	int udp; /* NO_EDNS, or the OPT's payload size */
	int do_bit;
	int version;
};

static size_t mkq(const struct query *qq, uint8_t *q)
{
	size_t o = 12;

	memset(q, 0, 12);
	q[0] = qq->id >> 8;
	q[1] = qq->id & 0xff;
	q[2] = qq->flags >> 8;
	q[3] = qq->flags & 0xff;
	q[5] = 1;
	o += unit_to_wire(qq->name, q + o);
	q[o++] = qq->qtype >> 8;
	q[o++] = qq->qtype & 0xff;
	q[o++] = qq->qclass >> 8;
	q[o++] = qq->qclass & 0xff;
	if (qq->udp != NO_EDNS) {
		q[11] = 1;
		q[o++] = 0;
		q[o++] = 0;
		q[o++] = 41;
		q[o++] = qq->udp >> 8;
		q[o++] = qq->udp & 0xff;
		q[o++] = 0; /* extended rcode */
		q[o++] = qq->version;
		q[o++] = qq->do_bit ? 0x80 : 0;
		q[o++] = 0;
		q[o++] = 0; /* rdlen */
		q[o++] = 0;
	}
	return o;
}

/* A query for name/type with defaults: id 0x1234, RD, no EDNS, IN. The
 * defaults come first and the test's fields override them. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define Q(...) (&(struct query){ .id = 0x1234, .flags = F_RD, .qclass = C_IN, \
				 .udp = NO_EDNS, __VA_ARGS__ })

static uint8_t out[65536];
static struct respond_info info;

static size_t respond_raw(const uint8_t *q, size_t len, int tcp)
{
	memset(out, 0xee, sizeof(out));
	return engine_respond(&eng, q, len, out, sizeof(out), tcp, &info);
}

/* Reply to qq, parsed. */
static ldns_pkt *ask(const struct query *qq, int tcp, size_t *lenp)
{
	uint8_t q[600];
	size_t len = mkq(qq, q), rlen;
	ldns_pkt *p = NULL;

	rlen = respond_raw(q, len, tcp);
	assert_true(rlen >= 12);
	assert_int_equal(ldns_wire2pkt(&p, out, rlen), LDNS_STATUS_OK);
	if (lenp)
		*lenp = rlen;
	return p;
}

static ldns_pkt *parse_out(size_t rlen)
{
	ldns_pkt *p = NULL;

	assert_true(rlen >= 12);
	assert_int_equal(ldns_wire2pkt(&p, out, rlen), LDNS_STATUS_OK);
	return p;
}

static size_t n_type(const ldns_rr_list *l, uint16_t type)
{
	size_t i, n = 0;

	for (i = 0; l && i < ldns_rr_list_rr_count(l); i++)
		n += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type;
	return n;
}

static uint16_t hdr16(size_t off)
{
	return (uint16_t)out[off] << 8 | out[off + 1];
}

/* ---- engine_answer ---- */

static struct answer ans;

static void answer(const struct engine_zone *ez, const char *name,
		   uint16_t qtype, int do_bit)
{
	uint8_t w[256];
	size_t len = unit_to_wire(name, w);

	memset(&ans, 0xee, sizeof(ans));
	assert_int_equal(engine_answer(ez, w, len, qtype, do_bit, &ans), 0);
}

static void test_answer_bytes(void **state)
{
	/* www.example.com. A: one record, owner compressed to the question */
	static const uint8_t www[] = {
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
		0x00, 0x04, 192, 0, 2, 1,
	};
	/* ftp.example.com. A: the CNAME (target compressed against
	 * example.com. in the question), then www's A, its owner a pointer
	 * into the CNAME's rdata at 12 + 21 + 12 */
	static const uint8_t ftp[] = {
		0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
		0x00, 0x06, 0x03, 'w',	'w',  'w',  0xc0, 0x10,
		0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
		0x00, 0x04, 192,  0,	2,    1,
	};
	uint8_t root = 0;

	(void)state;
	answer(&zones[0], "www.example.com", T_A, 0);
	assert_int_equal(ans.flags, F_QR | F_AA);
	assert_int_equal(ans.an, 1);
	assert_int_equal(ans.ns, 0);
	assert_int_equal(ans.ar, 0);
	assert_int_equal(ans.oversize, 0);
	assert_int_equal(ans.len, sizeof(www));
	assert_memory_equal(ans.body, www, sizeof(www));

	answer(&zones[0], "ftp.example.com", T_A, 0);
	assert_int_equal(ans.flags, F_QR | F_AA);
	assert_int_equal(ans.an, 2);
	assert_int_equal(ans.ns, 0);
	assert_int_equal(ans.len, sizeof(ftp));
	assert_memory_equal(ans.body, ftp, sizeof(ftp));

	/* an unsigned zone: DO changes nothing */
	answer(&zones[0], "ftp.example.com", T_A, 1);
	assert_int_equal(ans.len, sizeof(ftp));
	assert_memory_equal(ans.body, ftp, sizeof(ftp));

	/* not a name */
	assert_int_equal(engine_answer(&zones[0], &root, 0, T_A, 0, &ans),
			 -EINVAL);
}

static void test_answer_negative(void **state)
{
	(void)state;
	/* NXDOMAIN: SOA only, in authority */
	answer(&zones[0], "nope.example.com", T_A, 0);
	assert_int_equal(ans.flags, F_QR | F_AA | 3);
	assert_int_equal(ans.an, 0);
	assert_int_equal(ans.ns, 1);
	/* the SOA's owner points at example.com. inside the question */
	assert_memory_equal(ans.body, "\xc0\x11\x00\x06\x00\x01\x00\x00\x01\x2c",
			    10);
	/* NODATA */
	answer(&zones[0], "www.example.com", T_AAAA, 0);
	assert_int_equal(ans.flags, F_QR | F_AA);
	assert_int_equal(ans.an, 0);
	assert_int_equal(ans.ns, 1);
	/* the empty non-terminal is NODATA, not NXDOMAIN */
	answer(&zones[0], "b.c.example.com", T_A, 0);
	assert_int_equal(ans.flags, F_QR | F_AA);
	assert_int_equal(ans.ns, 1);
	answer(&zones[0], "c.example.com", T_A, 0);
	assert_int_equal(ans.flags, F_QR | F_AA);
	/* the same in the signed zone, with the SOA's signature under DO */
	answer(&zones[1], "nope.example.org", T_A, 1);
	assert_int_equal(ans.flags, F_QR | F_AA | 3);
	assert_int_equal(ans.ns, 2);
	answer(&zones[1], "nope.example.org", T_A, 0);
	assert_int_equal(ans.ns, 1);
}

/* ---- engine_respond: exact bytes ---- */

static void test_respond_bytes_positive(void **state)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x85, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00,
		/* question, as sent */
		0x03, 'W', 'w', 'W', 0x07, 'e', 'X', 'a', 'm', 'p', 'l', 'e',
		0x03, 'C', 'O', 'M', 0x00, 0x00, 0x01, 0x00, 0x01,
		/* answer */
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
		0x00, 0x04, 192, 0, 2, 1,
	};
	uint8_t q[512];
	size_t len, rlen;

	(void)state;
	len = mkq(Q(.name = "WwW.eXample.COM", .qtype = T_A), q);
	rlen = respond_raw(q, len, 0);
	assert_int_equal(rlen, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(info.rcode, 0);
	assert_int_equal(info.truncated, 0);
	assert_int_equal(info.edns, 0);
	assert_int_equal(info.dnssec_ok, 0);
}

static void test_respond_bytes_nxdomain_edns(void **state)
{
	static const uint8_t want[] = {
		0xbe, 0xef, 0x84, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x01,
		/* question */
		0x04, 'n', 'o', 'p', 'e', 0x07, 'e', 'x', 'a', 'm', 'p', 'l',
		'e', 0x03, 'c', 'o', 'm', 0x00, 0x00, 0x01, 0x00, 0x01,
		/* SOA: owner -> example.com. at 17, TTL 300 = min(3600, 300) */
		0xc0, 0x11, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c,
		0x00, 39,
		0x03, 'n', 's', '1', 0xc0, 0x11,
		0x0a, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 0xc0,
		0x11,
		0x00, 0x00, 0x00, 0x01, /* serial */
		0x00, 0x00, 0x1c, 0x20, /* refresh 7200 */
		0x00, 0x00, 0x03, 0x84, /* retry 900 */
		0x00, 0x12, 0x75, 0x00, /* expire 1209600 */
		0x00, 0x00, 0x01, 0x2c, /* minimum 300 */
		/* OPT: payload 1232, no DO */
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00,
	};
	uint8_t q[512];
	size_t len, rlen;

	(void)state;
	len = mkq(Q(.id = 0xbeef, .flags = 0, .name = "nope.example.com",
		    .qtype = T_A, .udp = 4096),
		  q);
	rlen = respond_raw(q, len, 0);
	assert_int_equal(rlen, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(info.rcode, 3);
	assert_int_equal(info.edns, 1);
}

/* ---- engine_respond: parsed ---- */

static void test_positive(void **state)
{
	ldns_pkt *p;

	(void)state;
	p = ask(Q(.name = "www.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_aa(p));
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	unit_assert_owner(unit_nth(ldns_pkt_answer(p), 0), "www.example.com.");
	unit_assert_rdata0(unit_nth(ldns_pkt_answer(p), 0), "192.0.2.1");
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* the apex NS and the name server's address */
	p = ask(Q(.name = "example.com", .qtype = T_NS), 0, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	unit_assert_rdata0(unit_nth(ldns_pkt_answer(p), 0), "ns1.example.com.");
	ldns_pkt_free(p);
}

static void test_cname_chain(void **state)
{
	ldns_pkt *p;
	const ldns_rr_list *an;

	(void)state;
	p = ask(Q(.name = "ftp.example.com", .qtype = T_A), 0, NULL);
	an = ldns_pkt_answer(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_rr_list_rr_count(an), 2);
	assert_int_equal(ldns_rr_get_type(unit_nth(an, 0)), T_CNAME);
	unit_assert_owner(unit_nth(an, 0), "ftp.example.com.");
	unit_assert_rdata0(unit_nth(an, 0), "www.example.com.");
	assert_int_equal(ldns_rr_get_type(unit_nth(an, 1)), T_A);
	unit_assert_owner(unit_nth(an, 1), "www.example.com.");
	unit_assert_rdata0(unit_nth(an, 1), "192.0.2.1");
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);

	/* asking for the CNAME itself does not follow it */
	p = ask(Q(.name = "ftp.example.com", .qtype = T_CNAME), 0, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(unit_nth(ldns_pkt_answer(p), 0)), T_CNAME);
	ldns_pkt_free(p);

	/* the chain ends on a type the target lacks: NODATA with the SOA */
	p = ask(Q(.name = "ftp.example.com", .qtype = T_AAAA), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(n_type(ldns_pkt_authority(p), T_SOA), 1);
	ldns_pkt_free(p);

	/* ... or on a name that does not exist: NXDOMAIN, CNAME kept */
	p = ask(Q(.name = "dangling.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(n_type(ldns_pkt_authority(p), T_SOA), 1);
	ldns_pkt_free(p);
}

static void test_cname_leaves_zone(void **state)
{
	ldns_pkt *p;

	(void)state;
	p = ask(Q(.name = "ext.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(unit_nth(ldns_pkt_answer(p), 0)), T_CNAME);
	unit_assert_rdata0(unit_nth(ldns_pkt_answer(p), 0), "www.example.net.");
	/* not a negative answer: the resolver follows the chain */
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	ldns_pkt_free(p);
}

/* RFC 6672: below a DNAME owner, the DNAME and a CNAME synthesised
 * from it (owner: the name asked, TTL of the DNAME), followed in zone. */
static void test_dname(void **state)
{
	const ldns_rr_list *an;
	ldns_pkt *p;

	(void)state;
	p = ask(Q(.name = "www.alias.example.com", .qtype = T_A), 0, NULL);
	an = ldns_pkt_answer(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_rr_list_rr_count(an), 3);
	assert_int_equal(ldns_rr_get_type(unit_nth(an, 0)), LDNS_RR_TYPE_DNAME);
	unit_assert_owner(unit_nth(an, 0), "alias.example.com.");
	unit_assert_rdata0(unit_nth(an, 0), "example.com.");
	assert_int_equal(ldns_rr_get_type(unit_nth(an, 1)), T_CNAME);
	unit_assert_owner(unit_nth(an, 1), "www.alias.example.com.");
	unit_assert_rdata0(unit_nth(an, 1), "www.example.com.");
	assert_int_equal(ldns_rr_ttl(unit_nth(an, 1)), 600);
	unit_assert_owner(unit_nth(an, 2), "www.example.com.");
	unit_assert_rdata0(unit_nth(an, 2), "192.0.2.1");
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);

	/* two labels below, out of the zone: the resolver goes on (names
	 * in rdata are served lowercased, as Knot does) */
	p = ask(Q(.name = "a.b.legacy.example.com", .qtype = T_MX), 0, NULL);
	an = ldns_pkt_answer(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_rr_list_rr_count(an), 2);
	unit_assert_rdata0(unit_nth(an, 1), "a.b.example.net.");
	assert_int_equal(ldns_rr_ttl(unit_nth(an, 1)), 900);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);

	/* in zone, to a name that does not exist: NXDOMAIN after the
	 * DNAME and CNAME, with the SOA */
	p = ask(Q(.name = "nothere.alias.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(n_type(ldns_pkt_authority(p), T_SOA), 1);
	ldns_pkt_free(p);

	/* the owner itself: an ordinary name (DNAME asked, or NODATA) */
	p = ask(Q(.name = "alias.example.com", .qtype = LDNS_RR_TYPE_DNAME), 0, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(unit_nth(ldns_pkt_answer(p), 0)),
			 LDNS_RR_TYPE_DNAME);
	ldns_pkt_free(p);
	p = ask(Q(.name = "alias.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(n_type(ldns_pkt_authority(p), T_SOA), 1);
	ldns_pkt_free(p);

	/* two DNAMEs into each other: the chain stops at the name seen
	 * before (x.dloop1 -> x.dloop2 -> x.dloop1) */
	p = ask(Q(.name = "x.dloop1.example.com", .qtype = T_A), 0, NULL);
	an = ldns_pkt_answer(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_rr_list_rr_count(an), 4);
	unit_assert_rdata0(unit_nth(an, 1), "x.dloop2.example.com.");
	unit_assert_rdata0(unit_nth(an, 3), "x.dloop1.example.com.");
	ldns_pkt_free(p);

	/* a target longer than 255 octets: YXDOMAIN with the DNAME alone */
	p = ask(Q(.name = "x1234567890123456789012345678901234567890123456789."
			  "long.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_YXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(unit_nth(ldns_pkt_answer(p), 0)),
			 LDNS_RR_TYPE_DNAME);
	ldns_pkt_free(p);
}

static void test_cname_loop(void **state)
{
	ldns_pkt *p;
	const ldns_rr_list *an;

	(void)state;
	p = ask(Q(.name = "loop1.example.com", .qtype = T_A), 0, NULL);
	an = ldns_pkt_answer(p);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_rr_list_rr_count(an), 2);
	unit_assert_owner(unit_nth(an, 0), "loop1.example.com.");
	unit_assert_rdata0(unit_nth(an, 0), "loop2.example.com.");
	unit_assert_owner(unit_nth(an, 1), "loop2.example.com.");
	unit_assert_rdata0(unit_nth(an, 1), "loop1.example.com.");
	assert_int_equal(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
}

/* Authority holds exactly the zone's SOA (and with sig, its RRSIG) with
 * the negative TTL. */
static void check_neg_soa(ldns_pkt *p, const char *apex, uint32_t ttl,
			  int sig)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);

	assert_int_equal(ldns_rr_list_rr_count(ns), 1 + sig);
	assert_int_equal(ldns_rr_get_type(unit_nth(ns, 0)), T_SOA);
	unit_assert_owner(unit_nth(ns, 0), apex);
	assert_int_equal(ldns_rr_ttl(unit_nth(ns, 0)), ttl);
	if (sig) {
		assert_int_equal(ldns_rr_get_type(unit_nth(ns, 1)), T_RRSIG);
		assert_int_equal(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(
					 unit_nth(ns, 1))),
				 T_SOA);
	}
	assert_int_equal(ldns_pkt_ancount(p), 0);
}

static void test_nodata_nxdomain(void **state)
{
	ldns_pkt *p;

	(void)state;
	/* example.com.: SOA TTL 3600, MINIMUM 300 -> 300 */
	p = ask(Q(.name = "www.example.com", .qtype = T_AAAA), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	check_neg_soa(p, "example.com.", 300, 0);
	ldns_pkt_free(p);
	p = ask(Q(.name = "nope.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	check_neg_soa(p, "example.com.", 300, 0);
	ldns_pkt_free(p);
	/* below an existing name */
	p = ask(Q(.name = "x.www.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ldns_pkt_free(p);
	/* an empty non-terminal exists */
	p = ask(Q(.name = "b.c.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_neg_soa(p, "example.com.", 300, 0);
	ldns_pkt_free(p);

	/* example.org.: SOA TTL 120, MINIMUM 600 -> 120 */
	p = ask(Q(.name = "www.example.org", .qtype = T_MX), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_neg_soa(p, "example.org.", 120, 0);
	ldns_pkt_free(p);
	p = ask(Q(.name = "nope.example.org", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	check_neg_soa(p, "example.org.", 120, 0);
	ldns_pkt_free(p);

	/* the SOA asked for directly keeps its own TTL */
	p = ask(Q(.name = "example.com", .qtype = T_SOA), 0, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_ttl(unit_nth(ldns_pkt_answer(p), 0)), 3600);
	ldns_pkt_free(p);
}

static void test_refused(void **state)
{
	ldns_pkt *p;

	(void)state;
	p = ask(Q(.name = "www.example.net", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_true(ldns_pkt_qr(p));
	assert_false(ldns_pkt_aa(p));
	assert_true(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(info.rcode, 5);
	ldns_pkt_free(p);
	/* the label-boundary trap and the parent */
	p = ask(Q(.name = "xexample.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	p = ask(Q(.name = "com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	p = ask(Q(.name = "", .qtype = T_NS), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
}

static void test_edns(void **state)
{
	ldns_pkt *p;
	size_t rlen;

	(void)state;
	p = ask(Q(.name = "www.example.com", .qtype = T_A, .udp = 4096), 0,
		&rlen);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_false(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 0);
	assert_int_equal(hdr16(10), 1); /* ARCOUNT: the OPT */
	assert_int_equal(info.edns, 1);
	assert_int_equal(info.dnssec_ok, 0);
	/* the OPT is last, 11 bytes, no options */
	assert_memory_equal(out + rlen - 11,
			    "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);
	ldns_pkt_free(p);

	/* DO mirrored, whatever the payload size asked */
	p = ask(Q(.name = "www.example.com", .qtype = T_A, .udp = 512,
		  .do_bit = 1),
		0, &rlen);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(info.dnssec_ok, 1);
	assert_memory_equal(out + rlen - 11,
			    "\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00", 11);
	ldns_pkt_free(p);
}

static void test_truncation(void **state)
{
	ldns_pkt *p;
	size_t rlen, qlen;
	uint8_t q[512];

	(void)state;
	/* 10 TXT records of 101 bytes: > 512, < 1232 */
	p = ask(Q(.name = "big.example.com", .qtype = T_TXT), 0, &rlen);
	assert_true(ldns_pkt_tc(p));
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	qlen = mkq(Q(.name = "big.example.com", .qtype = T_TXT), q);
	assert_int_equal(rlen, qlen); /* header and question only */
	assert_int_equal(info.truncated, 1);
	ldns_pkt_free(p);

	/* EDNS 1232 (asked for more): it fits */
	p = ask(Q(.name = "big.example.com", .qtype = T_TXT, .udp = 4096), 0,
		&rlen);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 10);
	assert_true(rlen > 512 && rlen <= 1232);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(info.truncated, 0);
	ldns_pkt_free(p);

	/* EDNS with a payload below 512 counts as 512 */
	p = ask(Q(.name = "big.example.com", .qtype = T_TXT, .udp = 100), 0,
		&rlen);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_true(ldns_pkt_edns(p)); /* the OPT is kept when truncated */
	ldns_pkt_free(p);
	p = ask(Q(.name = "www.example.com", .qtype = T_A, .udp = 100), 0,
		NULL);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	/* EDNS 600: too small for this one */
	p = ask(Q(.name = "big.example.com", .qtype = T_TXT, .udp = 600), 0,
		NULL);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);

	/* TCP: no limit but the message */
	p = ask(Q(.name = "big.example.com", .qtype = T_TXT), 1, NULL);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 10);
	ldns_pkt_free(p);
}

static void test_dnssec(void **state)
{
	ldns_pkt *p;
	const ldns_rr_list *an;

	(void)state;
	/* DO=1: the RRSIG comes with the answer */
	p = ask(Q(.name = "www.example.org", .qtype = T_A, .udp = 1232,
		  .do_bit = 1),
		0, NULL);
	an = ldns_pkt_answer(p);
	assert_int_equal(ldns_rr_list_rr_count(an), 2);
	assert_int_equal(ldns_rr_get_type(unit_nth(an, 0)), T_A);
	assert_int_equal(ldns_rr_get_type(unit_nth(an, 1)), T_RRSIG);
	unit_assert_owner(unit_nth(an, 1), "www.example.org.");
	assert_int_equal(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(unit_nth(an, 1))),
			 T_A);
	assert_int_equal(ldns_rr_ttl(unit_nth(an, 1)), 3600);
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);

	/* NXDOMAIN: the SOA and its RRSIG, both with the negative TTL */
	p = ask(Q(.name = "nope.example.org", .qtype = T_A, .udp = 1232,
		  .do_bit = 1),
		0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	check_neg_soa(p, "example.org.", 120, 1);
	ldns_pkt_free(p);

	/* NODATA as well */
	p = ask(Q(.name = "www.example.org", .qtype = T_AAAA, .udp = 1232,
		  .do_bit = 1),
		0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_neg_soa(p, "example.org.", 120, 1);
	ldns_pkt_free(p);

	/* DO=0 (with or without EDNS): no signatures anywhere */
	p = ask(Q(.name = "www.example.org", .qtype = T_A, .udp = 1232), 0,
		NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(n_type(ldns_pkt_answer(p), T_RRSIG), 0);
	ldns_pkt_free(p);
	p = ask(Q(.name = "www.example.org", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = ask(Q(.name = "nope.example.org", .qtype = T_A, .udp = 1232), 0,
		NULL);
	check_neg_soa(p, "example.org.", 120, 0);
	ldns_pkt_free(p);

	/* qtype RRSIG: one signature, as Knot (RFC 8482 spirit) */
	p = ask(Q(.name = "example.org", .qtype = T_RRSIG), 0, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(n_type(ldns_pkt_answer(p), T_RRSIG), 1);
	ldns_pkt_free(p);
}

static void test_flags_copied(void **state)
{
	ldns_pkt *p;

	(void)state;
	p = ask(Q(.flags = F_RD | F_CD, .name = "www.example.com", .qtype = T_A),
		0, NULL);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_cd(p));
	assert_false(ldns_pkt_ra(p));
	assert_false(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	p = ask(Q(.flags = 0, .name = "www.example.com", .qtype = T_A), 0,
		NULL);
	assert_false(ldns_pkt_rd(p));
	assert_false(ldns_pkt_cd(p));
	ldns_pkt_free(p);
	/* RD and CD copied on errors too */
	p = ask(Q(.flags = F_RD | F_CD, .name = "www.example.net", .qtype = T_A),
		0, NULL);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_cd(p));
	ldns_pkt_free(p);
	/* AD, RA and Z in the query are not echoed */
	p = ask(Q(.flags = 0x00f0, .name = "www.example.com", .qtype = T_A), 0,
		NULL);
	assert_int_equal(hdr16(2), F_QR | F_AA | F_CD);
	ldns_pkt_free(p);
}

static void test_case_preserved(void **state)
{
	uint8_t q[512];
	size_t len, rlen;
	ldns_pkt *p;

	(void)state;
	/* 0x20: the question comes back byte for byte */
	len = mkq(Q(.name = "fTp.ExAmPlE.cOm", .qtype = T_A), q);
	rlen = respond_raw(q, len, 0);
	assert_true(rlen > len);
	assert_memory_equal(out + 12, q + 12, len - 12);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	ldns_pkt_free(p);
	/* NXDOMAIN too */
	len = mkq(Q(.name = "NoPe.EXAMPLE.org", .qtype = T_A), q);
	rlen = respond_raw(q, len, 0);
	assert_memory_equal(out + 12, q + 12, len - 12);
	/* and REFUSED */
	len = mkq(Q(.name = "WWW.Example.NET", .qtype = T_A), q);
	rlen = respond_raw(q, len, 0);
	assert_int_equal(rlen, len);
	assert_memory_equal(out + 12, q + 12, len - 12);
}

/* ---- malformed and refused queries ---- */

static void test_formerr_counts(void **state)
{
	uint8_t q[512];
	size_t len, rlen;
	ldns_pkt *p;

	(void)state;
	/* QDCOUNT 0 */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	q[5] = 0;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_true(ldns_pkt_qr(p));
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(info.rcode, 1);
	ldns_pkt_free(p);
	/* a header alone with QDCOUNT 0 */
	rlen = respond_raw(q, 12, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);

	/* QDCOUNT 2 (with two questions present) */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	memcpy(q + len, q + 12, len - 12);
	len += len - 12;
	q[5] = 2;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);

	/* ANCOUNT 1 (the record is there) */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	q[7] = 1;
	memcpy(q + len, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04"
			"\xc0\x00\x02\x01", 16);
	len += 16;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* NSCOUNT 1 */
	q[7] = 0;
	q[9] = 1;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);
}

static void test_formerr_opt(void **state)
{
	uint8_t q[512];
	size_t len, rlen;
	ldns_pkt *p;

	(void)state;
	/* two OPT records */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A, .udp = 1232), q);
	memcpy(q + len, q + len - 11, 11);
	len += 11;
	q[11] = 2;
	rlen = respond_raw(q, len, 0);
	assert_true(rlen >= 12);
	assert_int_equal(out[3] & 0xf, 1);
	assert_int_equal(hdr16(6), 0); /* no answer */
	assert_int_equal(info.rcode, 1);

	/* an OPT whose owner is not the root */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	q[11] = 1;
	memcpy(q + len, "\xc0\x0c\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00",
	       12);
	len += 12;
	rlen = respond_raw(q, len, 0);
	assert_true(rlen >= 12);
	assert_int_equal(out[3] & 0xf, 1);

	/* ARCOUNT says one, nothing follows */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	q[11] = 1;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);

	/* trailing garbage after the question, and after the OPT */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	q[len++] = 0;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	len = mkq(Q(.name = "www.example.com", .qtype = T_A, .udp = 1232), q);
	memcpy(q + len, "junk", 4);
	len += 4;
	rlen = respond_raw(q, len, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);

	/* a question that does not parse: compression in the qname */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	memcpy(q + 12, "\xc0\x0c\x00\x01\x00\x01", 6);
	rlen = respond_raw(q, 18, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_qdcount(p), 0);
	ldns_pkt_free(p);
	/* and one cut short */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	rlen = respond_raw(q, len - 2, 0);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_qdcount(p), 0);
	ldns_pkt_free(p);
}

static void test_badvers(void **state)
{
	uint8_t q[512];
	size_t len, rlen;

	(void)state;
	len = mkq(Q(.name = "www.example.com", .qtype = T_A, .udp = 1232,
		    .version = 1, .do_bit = 1),
		  q);
	rlen = respond_raw(q, len, 0);
	assert_true(rlen >= 12 + 11);
	/* header rcode 0, no AA, no answer */
	assert_int_equal(hdr16(2), F_QR | F_RD);
	assert_int_equal(hdr16(6), 0);
	assert_int_equal(hdr16(8), 0);
	assert_int_equal(hdr16(10), 1);
	/* the OPT: extended rcode 1 (BADVERS = 16), version 0, DO kept */
	assert_memory_equal(out + rlen - 11,
			    "\x00\x00\x29\x04\xd0\x01\x00\x80\x00\x00\x00", 11);
	assert_int_equal(info.rcode, 16);
	{
		ldns_pkt *p = parse_out(rlen);

		assert_int_equal(ldns_pkt_get_rcode(p), 0);
		assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
		assert_int_equal(ldns_pkt_edns_version(p), 0);
		ldns_pkt_free(p);
	}
}

static void test_notimp(void **state)
{
	static const uint16_t opcodes[] = { OPC_NOTIFY, OPC_UPDATE, 1 << 11,
					    2 << 11 };
	uint8_t q[512];
	size_t len, rlen, i;
	ldns_pkt *p;

	(void)state;
	for (i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		len = mkq(Q(.flags = opcodes[i], .name = "example.com",
			    .qtype = T_SOA),
			  q);
		rlen = respond_raw(q, len, 0);
		p = parse_out(rlen);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
		assert_true(ldns_pkt_qr(p));
		assert_false(ldns_pkt_aa(p));
		assert_int_equal(ldns_pkt_ancount(p), 0);
		/* the opcode is echoed */
		assert_int_equal(hdr16(2) & 0x7800, opcodes[i]);
		assert_int_equal(info.rcode, 4);
		ldns_pkt_free(p);
	}
}

static void test_no_reply(void **state)
{
	uint8_t q[512];
	size_t len;

	(void)state;
	/* a response (QR=1) is never answered */
	len = mkq(Q(.flags = F_QR | F_AA, .name = "www.example.com",
		    .qtype = T_A),
		  q);
	assert_int_equal(respond_raw(q, len, 0), 0);
	assert_int_equal(info.rcode, -1);
	/* nor is something shorter than a header */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	for (len = 0; len < 12; len++) {
		assert_int_equal(respond_raw(q, len, 0), 0);
		assert_int_equal(info.rcode, -1);
	}
}

static void test_class_and_expiry(void **state)
{
	ldns_pkt *p;

	(void)state;
	/* CH (version.bind and friends): not ours */
	p = ask(Q(.name = "www.example.com", .qtype = T_A, .qclass = C_CH), 0,
		NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	ldns_pkt_free(p);

	/* an expired zone answers SERVFAIL, the others are unaffected */
	zones[0].expired = 1;
	p = ask(Q(.name = "www.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(info.rcode, 2);
	ldns_pkt_free(p);
	p = ask(Q(.name = "www.example.org", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
	zones[0].expired = 0;
	p = ask(Q(.name = "www.example.com", .qtype = T_A), 0, NULL);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ldns_pkt_free(p);
}

/* The engine built as a daemon with one zone would build it. */
static void test_single_zone_engine(void **state)
{
	struct engine_zone ez = { .zone = z_org, .slot = 0 };
	struct engine e = { .zones = &ez, .n_zones = 1 };
	uint8_t q[512];
	size_t len, rlen;
	ldns_pkt *p;

	(void)state;
	len = mkq(Q(.name = "www.example.org", .qtype = T_A), q);
	rlen = engine_respond(&e, q, len, out, sizeof(out), 0, &info);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	/* example.com. is not in this engine */
	len = mkq(Q(.name = "www.example.com", .qtype = T_A), q);
	rlen = engine_respond(&e, q, len, out, sizeof(out), 0, &info);
	p = parse_out(rlen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	assert_ptr_equal(engine_find_zone(&e, z_org->apex, z_org->apex_len),
			 &ez);
	assert_null(engine_find_zone(&e, z_com->apex, z_com->apex_len));
}

/* Damaged queries (fixed seed): never a crash or an out-of-bounds read
 * (run under valgrind), and every reply parses and carries the query ID. */
static void test_random_damage(void **state)
{
	static const struct query base[] = {
		{ .id = 1, .flags = F_RD, .name = "www.example.com",
		  .qtype = T_A, .qclass = C_IN, .udp = NO_EDNS },
		{ .id = 2, .name = "nope.example.org", .qtype = T_A,
		  .qclass = C_IN, .udp = 1232, .do_bit = 1 },
		{ .id = 3, .name = "ftp.example.com", .qtype = T_A,
		  .qclass = C_IN, .udp = 4096 },
	};
	uint8_t q[600], *heap;
	unsigned int seed = 12345;
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		size_t len = mkq(&base[i % 3], q), rlen, j;
		int flips = 1 + rand_r(&seed) % 4;
		ldns_pkt *p = NULL;

		while (flips--)
			q[rand_r(&seed) % len] = rand_r(&seed);
		if (rand_r(&seed) % 4 == 0)
			len = rand_r(&seed) % len; /* cut */
		/* an exact-size heap copy, so valgrind sees reads past it */
		heap = malloc(len ? len : 1);
		assert_non_null(heap);
		memcpy(heap, q, len);
		rlen = engine_respond(&eng, heap, len, out, sizeof(out),
				      rand_r(&seed) & 1, &info);
		if (rlen) {
			assert_true(rlen >= 12);
			assert_memory_equal(out, heap, 2);
			assert_true(out[2] & 0x80);
			j = ldns_wire2pkt(&p, out, rlen);
			if (j != LDNS_STATUS_OK)
				print_error("iteration %d: reply does not parse\n",
					    i);
			assert_int_equal(j, LDNS_STATUS_OK);
			ldns_pkt_free(p);
		} else {
			assert_int_equal(info.rcode, -1);
		}
		free(heap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_bytes),
		cmocka_unit_test(test_answer_negative),
		cmocka_unit_test(test_respond_bytes_positive),
		cmocka_unit_test(test_respond_bytes_nxdomain_edns),
		cmocka_unit_test(test_positive),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_leaves_zone),
		cmocka_unit_test(test_cname_loop),
		cmocka_unit_test(test_dname),
		cmocka_unit_test(test_nodata_nxdomain),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_dnssec),
		cmocka_unit_test(test_flags_copied),
		cmocka_unit_test(test_case_preserved),
		cmocka_unit_test(test_formerr_counts),
		cmocka_unit_test(test_formerr_opt),
		cmocka_unit_test(test_badvers),
		cmocka_unit_test(test_notimp),
		cmocka_unit_test(test_no_reply),
		cmocka_unit_test(test_class_and_expiry),
		cmocka_unit_test(test_single_zone_engine),
		cmocka_unit_test(test_random_damage),
	};

	return cmocka_run_group_tests_name("engine", tests, group_setup,
					   group_teardown);
}
