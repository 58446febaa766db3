// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile zones and queries against the answer engine (issue 3, "bad
 * input"): each zone is served correctly or rejected with a clear message,
 * and no query loops, allocates without bound or crashes.
 *
 *   a CNAME chain of 1000 names    answers stop at ENGINE_MAX_CHAIN
 *   CNAME loops of 1, 3, 16, 50    end cleanly, in chain order
 *   5000 types at one name         ANY, a type in the middle, a missing one
 *   33000 types at one name        past the 16-bit RRset counters
 *   2000 and 5000 TXT in one set   UDP: TC; TCP: the answer, or TC > 64 KiB
 *   an RRset of n records          loads with work linear in n
 *   1000 NS at a delegation        referral bounded, parses
 *   127 labels (255 bytes)         answers, NODATA, wildcard, NXDOMAIN
 *   wildcards under wildcards      RFC 4592 closest encloser rules
 *   damaged queries                FORMERR or silence, live heap flat
 *
 * Heap blocks are counted by wrapping malloc and friends. Under valgrind,
 * which replaces malloc in the executable too, keep the wrappers:
 *   valgrind --soname-synonyms=somalloc=nouserintercepts \
 *            --leak-check=full --error-exitcode=1 build/tests/test_hostile
 * An argument selects tests by name (cmocka's filter).
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
#include <strings.h>
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
#define T_ANY 255
#define C_IN 1

#define NO_EDNS -1
#define UDP 0
#define TCP 1

#define SOA_LINES "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n" \
		  "@ NS ns1\nns1 A 192.0.2.53\n"

static char load_err[1024];

static struct engine_zone ezone;
static struct engine eng = { .zones = &ezone, .n_zones = 1 };

static uint8_t out[65536];
static struct respond_info info;

/* ---- the heap, counted ---- */

/* Live heap blocks, counted by wrapping glibc's allocator (the library's
 * own entry points; valgrind replaces those in turn). mallinfo2() is no
 * use here: blocks parked in the thread cache count as in use. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);
extern void __libc_free(void *p);

static long live_blocks, total_allocs;

/* Read a counter for real: the compiler takes malloc() for a builtin that
 * writes no global, and would fold reads around it. */
static long counter(const long *c)
{
	return __atomic_load_n(c, __ATOMIC_SEQ_CST);
}

static void *counted(void *p)
{
	if (p) {
		__atomic_add_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&total_allocs, 1, __ATOMIC_RELAXED);
	}
	return p;
}

void *malloc(size_t n)
{
	return counted(__libc_malloc(n));
}

void *calloc(size_t n, size_t size)
{
	return counted(__libc_calloc(n, size));
}

void *memalign(size_t align, size_t n)
{
	return counted(__libc_memalign(align, n));
}

void *aligned_alloc(size_t align, size_t n)
{
	return counted(__libc_memalign(align, n));
}

void *valloc(size_t n)
{
	return counted(__libc_valloc(n));
}

void *pvalloc(size_t n)
{
	return counted(__libc_pvalloc(n));
}

int posix_memalign(void **pp, size_t align, size_t n)
{
	void *p = counted(__libc_memalign(align, n));

	if (!p)
		return ENOMEM;
	*pp = p;
	return 0;
}

void *realloc(void *p, size_t n)
{
	void *q = __libc_realloc(p, n);

	if (!p)
		return counted(q);
	if (!n && !q) /* freed */
		__atomic_sub_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
	return q;
}

void free(void *p)
{
	if (p)
		__atomic_sub_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
	__libc_free(p);
}

/* The wrappers must see the libraries' allocations; valgrind run without
 * --soname-synonyms=somalloc=nouserintercepts diverts them. (Called
 * through a pointer: an inlined copy of malloc() would always count.) */
static void assert_counting(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	void (*volatile release)(void *) = free;
	long before = counter(&total_allocs);

	release(alloc(1));
	if (counter(&total_allocs) == before)
		fail_msg("heap blocks are not counted (under valgrind, add "
			 "--soname-synonyms=somalloc=nouserintercepts)");
}

/* ---- zones ---- */

/* A zone text built with printf-like pieces. */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static void text_open(struct text *t, const char *head)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	assert_non_null(t->f);
	fputs(head, t->f);
}

static void text_close(struct text *t)
{
	assert_int_equal(fclose(t->f), 0);
}

/* Write text to a file and load it as origin; NULL with load_err set. */
static struct zone *load(const char *origin, const char *text)
{
	struct zone *z = NULL;
	FILE *f = fopen("z.zone", "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	load_err[0] = 0;
	if (zone_load_file("z.zone", origin, &z, load_err, sizeof(load_err)))
		z = NULL;
	unlink("z.zone");
	return z;
}

static struct zone *load_text(const char *origin, struct text *t)
{
	struct zone *z;

	text_close(t);
	z = load(origin, t->buf);
	free(t->buf);
	if (!z)
		print_error("zone %s rejected: %s\n", origin, load_err);
	return z;
}

static void serve(struct zone *z)
{
	assert_non_null(z);
	ezone = (struct engine_zone){ .zone = z, .slot = 0 };
}

static void unserve(void)
{
	zone_free(ezone.zone);
	ezone.zone = NULL;
}

static int group_setup(void **state)
{
	(void)state;
	if (unit_tmpdir_enter("hostile"))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return unit_tmpdir_leave();
}

/* ---- queries ---- */

/* A query: id 0x4242, RD; udp is NO_EDNS or the OPT's payload size. */
static size_t mkq(const char *name, uint16_t qtype, int udp, int do_bit,
		  uint8_t *q)
{
	size_t o = 12;

	memset(q, 0, 12);
	q[0] = 0x42;
	q[1] = 0x42;
	q[2] = 0x01;
	q[5] = 1;
	o += unit_to_wire(name, q + o);
	q[o++] = qtype >> 8;
	q[o++] = qtype & 0xff;
	q[o++] = 0;
	q[o++] = C_IN;
	if (udp != NO_EDNS) {
		static const uint8_t opt[] = { 0, 0, 41, 0, 0, 0, 0, 0, 0, 0, 0 };

		q[11] = 1;
		memcpy(q + o, opt, sizeof(opt));
		q[o + 3] = udp >> 8;
		q[o + 4] = udp & 0xff;
		q[o + 7] = do_bit ? 0x80 : 0;
		o += sizeof(opt);
	}
	return o;
}

/* Reply to q[0..len) from an exact-size heap copy (valgrind sees reads
 * past it); 0 when there is none. */
static size_t respond_raw(const uint8_t *q, size_t len, int tcp)
{
	uint8_t *heap = malloc(len ? len : 1);
	size_t rlen;

	assert_non_null(heap);
	memcpy(heap, q, len);
	memset(out, 0xee, sizeof(out));
	rlen = engine_respond(&eng, heap, len, out, sizeof(out), tcp, &info);
	free(heap);
	return rlen;
}

static ldns_pkt *parse_out(size_t rlen)
{
	ldns_pkt *p = NULL;
	ldns_status st;

	assert_true(rlen >= 12);
	assert_true(rlen <= 65535);
	st = ldns_wire2pkt(&p, out, rlen);
	if (st != LDNS_STATUS_OK)
		print_error("reply of %zu bytes does not parse: %s\n", rlen,
			    ldns_get_errorstr_by_id(st));
	assert_int_equal(st, LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0x4242);
	assert_true(ldns_pkt_qr(p));
	return p;
}

/* The reply to name/qtype, parsed; *lenp gets its size. */
static ldns_pkt *ask_len(const char *name, uint16_t qtype, int udp, int tcp,
			 size_t *lenp)
{
	uint8_t q[600];
	size_t rlen = respond_raw(q, mkq(name, qtype, udp, 0, q), tcp);

	if (lenp)
		*lenp = rlen;
	return parse_out(rlen);
}

static ldns_pkt *ask(const char *name, uint16_t qtype, int udp, int tcp)
{
	return ask_len(name, qtype, udp, tcp, NULL);
}

/* Names compare case-insensitively (RFC 4343): rdata compressed against
 * the question shows the client's case. */
static void assert_rdata0_name(const ldns_rr *rr, const char *name)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));

	assert_non_null(s);
	if (strcasecmp(s, name))
		assert_string_equal(s, name);
	free(s);
}

static void assert_head(const ldns_pkt *p, ldns_pkt_rcode rcode, int aa,
			int tc, size_t an, size_t ns)
{
	assert_int_equal(ldns_pkt_get_rcode(p), rcode);
	assert_int_equal(ldns_pkt_aa(p), aa);
	assert_int_equal(ldns_pkt_tc(p), tc);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), an);
	assert_int_equal(ldns_pkt_nscount(p), ns);
}

/* NODATA or NXDOMAIN: no answer, the SOA alone in authority. */
static void assert_negative(const ldns_pkt *p, ldns_pkt_rcode rcode,
			    const char *apex)
{
	assert_head(p, rcode, 1, 0, 0, 1);
	assert_int_equal(ldns_rr_get_type(unit_nth(ldns_pkt_authority(p), 0)), T_SOA);
	unit_assert_owner(unit_nth(ldns_pkt_authority(p), 0), apex);
}

/* engine_answer for a lowercase presentation name. */
static struct answer ans;

static int answer(const char *name, uint16_t qtype)
{
	uint8_t w[256];
	size_t len = unit_to_wire(name, w);

	return engine_answer(&ezone, w, len, qtype, 0, &ans);
}

/* ---- CNAME chains and loops ---- */

#define CHAIN_LEN 1000

static void test_cname_chain_1000(void **state)
{
	struct text t;
	ldns_pkt *p;
	char name[64], target[64];
	int i, k;

	(void)state;
	/* c0 -> c1 -> ... -> c999 -> c1000 A */
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	for (i = 0; i < CHAIN_LEN; i++)
		fprintf(t.f, "c%d CNAME c%d\n", i, i + 1);
	fprintf(t.f, "c%d A 192.0.2.1\n", CHAIN_LEN);
	serve(load_text("example.com.", &t));

	/* every start: the chain to its end, or ENGINE_MAX_CHAIN CNAMEs */
	for (i = 0; i <= CHAIN_LEN; i++) {
		int cnames = CHAIN_LEN - i;
		int want = cnames < ENGINE_MAX_CHAIN ? cnames + 1 : ENGINE_MAX_CHAIN;

		snprintf(name, sizeof(name), "c%d.example.com", i);
		assert_int_equal(answer(name, T_A), 0);
		if (ans.an != want)
			print_error("%s A: %u answers, want %d\n", name, ans.an,
				    want);
		assert_int_equal(ans.an, want);
		assert_int_equal(ans.flags, DNS_F_QR | DNS_F_AA);
		assert_int_equal(ans.ns, 0);
		assert_int_equal(ans.oversize, 0);
	}

	/* parsed: the CNAMEs in chain order, the target never answered */
	p = ask("c0.example.com", T_A, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, ENGINE_MAX_CHAIN, 0);
	for (k = 0; k < ENGINE_MAX_CHAIN; k++) {
		const ldns_rr *rr = unit_nth(ldns_pkt_answer(p), k);

		snprintf(name, sizeof(name), "c%d.example.com.", k);
		snprintf(target, sizeof(target), "c%d.example.com.", k + 1);
		assert_int_equal(ldns_rr_get_type(rr), T_CNAME);
		unit_assert_owner(rr, name);
		unit_assert_rdata0(rr, target);
	}
	ldns_pkt_free(p);

	/* the last 15 links and the address */
	snprintf(name, sizeof(name), "c%d.example.com",
		 CHAIN_LEN - ENGINE_MAX_CHAIN + 1);
	p = ask(name, T_A, 1232, TCP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, ENGINE_MAX_CHAIN, 0);
	assert_int_equal(ldns_rr_get_type(unit_nth(ldns_pkt_answer(p),
					      ENGINE_MAX_CHAIN - 1)), T_A);
	ldns_pkt_free(p);

	/* the CNAME itself is not followed; a missing type ends NODATA */
	p = ask("c0.example.com", T_CNAME, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask("c990.example.com", T_AAAA, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 10, 1);
	ldns_pkt_free(p);
	unserve();
}

/* A loop of n names l0 -> l1 -> ... -> l(n-1) -> l0: from every start the
 * answer holds min(n, ENGINE_MAX_CHAIN) CNAMEs in order, and stops. */
static void check_loop(int n)
{
	struct text t;
	char name[64], want[64];
	int i, k, len = n < ENGINE_MAX_CHAIN ? n : ENGINE_MAX_CHAIN;

	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	for (i = 0; i < n; i++)
		fprintf(t.f, "l%d CNAME l%d\n", i, (i + 1) % n);
	serve(load_text("example.com.", &t));
	for (i = 0; i < n; i++) {
		static const uint16_t types[] = { T_A, T_TXT, T_ANY };
		size_t j;

		snprintf(name, sizeof(name), "L%d.Example.COM", i);
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
			ldns_pkt *p = ask(name, types[j], 1232, j & 1);
			/* ANY is answered with the CNAME alone (RFC 8482) */
			int an = types[j] == T_ANY ? 1 : len;

			if ((int)ldns_pkt_ancount(p) != an)
				print_error("loop of %d, %s type %u: %u answers, want %d\n",
					    n, name, types[j], ldns_pkt_ancount(p), an);
			assert_head(p, LDNS_RCODE_NOERROR, 1, 0, an, 0);
			for (k = 0; k < an; k++) {
				const ldns_rr *rr = unit_nth(ldns_pkt_answer(p), k);

				assert_int_equal(ldns_rr_get_type(rr), T_CNAME);
				snprintf(want, sizeof(want), "l%d.example.com.",
					 (i + k + 1) % n);
				assert_rdata0_name(rr, want);
			}
			ldns_pkt_free(p);
		}
	}
	unserve();
}

static void test_cname_loops(void **state)
{
	(void)state;
	check_loop(1); /* a name that points at itself */
	check_loop(3);
	check_loop(ENGINE_MAX_CHAIN);
	check_loop(50);
}

/* ---- many RRsets at one name ---- */

#define MANY_TYPES 5000
#define FIRST_TYPE 1000 /* TYPE1000..TYPE5999: all unassigned */

static void test_many_types_one_name(void **state)
{
	struct text t;
	ldns_pkt *p;
	const ldns_rr *rr;
	const ldns_rdf *rd;
	int i;

	(void)state;
	/* each RRset holds one record whose rdata is its type number */
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	for (i = 0; i < MANY_TYPES; i++)
		fprintf(t.f, "many TYPE%d \\# 2 %04x\n", FIRST_TYPE + i,
			FIRST_TYPE + i);
	fprintf(t.f, "many A 192.0.2.7\n");
	serve(load_text("example.com.", &t));
	assert_int_equal(zone_find(ezone.zone, (const uint8_t *)"\4many\7example\3com",
				   18)->n_sets,
			 MANY_TYPES + 1);

	/* ANY: one RRset (RFC 8482 4.1), over both transports */
	p = ask("many.example.com", T_ANY, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	rr = unit_nth(ldns_pkt_answer(p), 0);
	unit_assert_owner(rr, "many.example.com.");
	ldns_pkt_free(p);
	p = ask("many.example.com", T_ANY, 1232, TCP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	ldns_pkt_free(p);

	/* the types in the middle and at both ends, each its own record */
	for (i = 0; i < MANY_TYPES; i += MANY_TYPES / 10 - 1) {
		uint16_t type = FIRST_TYPE + i;

		p = ask("many.example.com", type, 1232, i & 1);
		assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
		rr = unit_nth(ldns_pkt_answer(p), 0);
		assert_int_equal(ldns_rr_get_type(rr), type);
		rd = ldns_rr_rdf(rr, 0);
		assert_int_equal(ldns_rdf_size(rd), 2);
		assert_int_equal(ldns_rdf_data(rd)[0] << 8 | ldns_rdf_data(rd)[1],
				 type);
		ldns_pkt_free(p);
	}
	p = ask("many.example.com", FIRST_TYPE + MANY_TYPES / 2, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask("many.example.com", FIRST_TYPE + MANY_TYPES - 1, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask("many.example.com", T_A, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	unit_assert_rdata0(unit_nth(ldns_pkt_answer(p), 0), "192.0.2.7");
	ldns_pkt_free(p);

	/* types it lacks: NODATA; a name below it: NXDOMAIN */
	p = ask("many.example.com", FIRST_TYPE + MANY_TYPES, NO_EDNS, UDP);
	assert_negative(p, LDNS_RCODE_NOERROR, "example.com.");
	ldns_pkt_free(p);
	p = ask("many.example.com", T_AAAA, NO_EDNS, TCP);
	assert_negative(p, LDNS_RCODE_NOERROR, "example.com.");
	ldns_pkt_free(p);
	p = ask("x.many.example.com", FIRST_TYPE, NO_EDNS, UDP);
	assert_negative(p, LDNS_RCODE_NXDOMAIN, "example.com.");
	ldns_pkt_free(p);
	unserve();
}

/* More RRsets at one name than a 16-bit count of them doubles to: the zone
 * is served (the middle type answers) or refused with a message; the
 * loader must not corrupt memory on the way. */
#define HUGE_TYPES 33000

static void test_types_past_16_bits(void **state)
{
	struct text t;
	struct zone *z;
	int i, n = 0;

	(void)state;
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	/* unassigned types: 40000..65279, then from 1000 up */
	for (i = 40000; n < HUGE_TYPES && i < 65280; i++, n++)
		fprintf(t.f, "huge TYPE%d \\# 2 %04x\n", i, i);
	for (i = 1000; n < HUGE_TYPES; i++, n++)
		fprintf(t.f, "huge TYPE%d \\# 2 %04x\n", i, i);
	text_close(&t);
	z = load("example.com.", t.buf);
	free(t.buf);
	if (!z) {
		/* refused: the message says where and why, not just ENOMEM */
		print_message("rejected: %s\n", load_err);
		assert_non_null(strstr(load_err, "z.zone:"));
		assert_null(strstr(load_err, "out of memory"));
		return;
	}
	serve(z);
	{
		ldns_pkt *p = ask("huge.example.com", 1000 + 100, NO_EDNS, TCP);

		assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
		ldns_pkt_free(p);
		p = ask("huge.example.com", 50000, NO_EDNS, TCP);
		assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
		ldns_pkt_free(p);
	}
	unserve();
}

/* ---- huge RRsets ---- */

/* n TXT records "r<i>-padding" at name: 29 bytes each on the wire. */
static void txt_set(FILE *f, const char *name, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s TXT \"r%04d-0123456789\"\n", name, i);
}

static void test_huge_txt(void **state)
{
	struct text t;
	ldns_pkt *p;
	size_t rlen, i;
	char *seen;
	static const int udp_sizes[] = { NO_EDNS, 512, 1232, 4096, 65535 };

	(void)state;
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	txt_set(t.f, "large", 2000); /* 58 KB: fits in a TCP message */
	txt_set(t.f, "huge", 5000); /* 145 KB: does not */
	serve(load_text("example.com.", &t));

	/* over UDP: TC, no records, the question kept, whatever the size */
	for (i = 0; i < sizeof(udp_sizes) / sizeof(udp_sizes[0]); i++) {
		p = ask_len("large.example.com", T_TXT, udp_sizes[i], UDP, &rlen);
		assert_head(p, LDNS_RCODE_NOERROR, 1, 1, 0, 0);
		assert_true(rlen <= 1232);
		ldns_pkt_free(p);
		p = ask_len("huge.example.com", T_TXT, udp_sizes[i], UDP, &rlen);
		assert_head(p, LDNS_RCODE_NOERROR, 1, 1, 0, 0);
		assert_true(rlen <= 1232);
		ldns_pkt_free(p);
	}

	/* over TCP: 2000 records fit, each once */
	p = ask_len("large.example.com", T_TXT, 1232, TCP, &rlen);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 2000, 0);
	assert_true(rlen > 50000);
	seen = calloc(2000, 1);
	assert_non_null(seen);
	for (i = 0; i < 2000; i++) {
		const ldns_rr *rr = unit_nth(ldns_pkt_answer(p), i);
		const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		char digits[5];
		int k;

		assert_int_equal(ldns_rr_get_type(rr), T_TXT);
		assert_int_equal(ldns_rdf_size(rd), 17);
		memcpy(digits, ldns_rdf_data(rd) + 2, 4);
		digits[4] = 0;
		k = atoi(digits);
		assert_true(k >= 0 && k < 2000 && !seen[k]);
		seen[k] = 1;
	}
	free(seen);
	ldns_pkt_free(p);

	/* 5000 records exceed 64 KiB: TC over TCP too, an empty answer */
	assert_int_equal(answer("huge.example.com", T_TXT), 0);
	assert_int_equal(ans.oversize, 1);
	p = ask_len("huge.example.com", T_TXT, NO_EDNS, TCP, &rlen);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 1, 0, 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_int_equal(rlen, 12 + 18 + 4);
	ldns_pkt_free(p);
	p = ask("huge.example.com", T_TXT, 1232, TCP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 1, 0, 0);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* ANY there is one RRset too: the same */
	p = ask("huge.example.com", T_ANY, 1232, TCP);
	assert_int_equal(ldns_pkt_tc(p), 1);
	ldns_pkt_free(p);
	/* other names are unaffected */
	p = ask("ns1.example.com", T_A, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	ldns_pkt_free(p);
	unserve();
}

/* Loading an RRset costs allocations linear in its size: four times the
 * records, not sixteen times the work (a 16000-record set must not take
 * a minute, nor a reload stall the daemon). */
static long load_allocs(int n)
{
	struct text t;
	struct zone *z;
	long before;

	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	txt_set(t.f, "big", n);
	text_close(&t);
	before = counter(&total_allocs);
	z = load("example.com.", t.buf);
	before = counter(&total_allocs) - before;
	free(t.buf);
	assert_non_null(z);
	zone_free(z);
	return before;
}

static void test_big_rrset_load_linear(void **state)
{
	long small, big;

	(void)state;
	assert_counting();
	small = load_allocs(250);
	big = load_allocs(1000);
	print_message("one RRset of 250 records: %ld allocations to load, "
		      "of 1000: %ld (x%.1f)\n", small, big,
		      (double)big / small);
	assert_true(big < 8 * small);
}

#define MANY_NS 1000

static void test_huge_delegation(void **state)
{
	struct text t;
	ldns_pkt *p;
	size_t i, ar;
	int k;

	(void)state;
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	for (k = 0; k < MANY_NS; k++)
		fprintf(t.f, "sub NS ns%d.sub\nns%d.sub A 192.0.%d.%d\n", k, k,
			k / 250, k % 250 + 1);
	serve(load_text("example.com.", &t));

	/* UDP: the NS set alone exceeds the buffer: TC */
	p = ask("www.sub.example.com", T_A, 1232, UDP);
	assert_int_equal(ldns_pkt_tc(p), 1);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	/* TCP: the referral, AA clear, glue bounded by ENGINE_MAX_CUTS */
	p = ask("www.sub.example.com", T_A, 1232, TCP);
	assert_head(p, LDNS_RCODE_NOERROR, 0, 0, 0, MANY_NS);
	ar = ldns_rr_list_rr_count(ldns_pkt_additional(p));
	assert_true(ar > 0 && ar <= ENGINE_MAX_CUTS);
	for (i = 0; i < ar; i++) {
		const ldns_rr *rr = unit_nth(ldns_pkt_additional(p), i);

		assert_int_equal(ldns_rr_get_type(rr), T_A);
	}
	ldns_pkt_free(p);
	unserve();
}

/* ---- 127 labels ---- */

/* "a." k times then "x." (k + 1 labels, 2k + 3 bytes on the wire). */
static void deep_name(char *buf, int k, const char *first)
{
	int i;

	buf[0] = 0;
	if (first) {
		strcat(buf, first);
		strcat(buf, ".");
		k--;
	}
	for (i = 0; i < k; i++)
		strcat(buf, "a.");
	strcat(buf, "x");
}

static void test_127_labels(void **state)
{
	char deep[300], name[300], want[320], wild[300];
	uint8_t w[256], q[600];
	struct text t;
	ldns_pkt *p;
	size_t rlen;
	int k;

	(void)state;
	deep_name(deep, 126, NULL); /* 127 labels, 255 bytes */
	assert_int_equal(unit_to_wire(deep, w), 255);
	deep_name(wild, 126, "*");
	text_open(&t, "$ORIGIN x.\n" SOA_LINES);
	fprintf(t.f, "%s. A 192.0.2.127\n", deep);
	fprintf(t.f, "%s. TXT \"wild\"\n", wild);
	fprintf(t.f, "@ MX 10 %s.\n", deep);
	serve(load_text("x.", &t));

	p = ask(deep, T_A, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	snprintf(want, sizeof(want), "%s.", deep);
	unit_assert_owner(unit_nth(ldns_pkt_answer(p), 0), want);
	ldns_pkt_free(p);
	/* with EDNS the query is 289 bytes, more than the parser's buffer */
	p = ask(deep, T_A, 1232, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* mixed case mirrored */
	strcpy(name, deep);
	for (k = 0; k < (int)strlen(name); k += 4)
		name[k] = name[k] == 'a' ? 'A' : name[k];
	rlen = respond_raw(q, mkq(name, T_A, NO_EDNS, 0, q), UDP);
	p = parse_out(rlen);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	assert_memory_equal(out + 12, q + 12, 255 + 4);
	ldns_pkt_free(p);
	p = ask(deep, T_AAAA, NO_EDNS, UDP);
	assert_negative(p, LDNS_RCODE_NOERROR, "x.");
	ldns_pkt_free(p);
	/* the additional A of an MX target 255 bytes long */
	p = ask("x", T_MX, NO_EDNS, TCP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	assert_int_equal(ldns_pkt_arcount(p), 1);
	unit_assert_owner(unit_nth(ldns_pkt_additional(p), 0), want);
	ldns_pkt_free(p);

	/* every ancestor is an empty non-terminal: NODATA */
	for (k = 1; k < 126; k++) {
		deep_name(name, k, NULL);
		p = ask(name, T_A, NO_EDNS, k & 1);
		assert_negative(p, LDNS_RCODE_NOERROR, "x.");
		ldns_pkt_free(p);
	}
	/* a sibling at 127 labels: the wildcard beside the deep name */
	deep_name(name, 126, "b");
	p = ask(name, T_TXT, NO_EDNS, UDP);
	assert_head(p, LDNS_RCODE_NOERROR, 1, 0, 1, 0);
	snprintf(want, sizeof(want), "%s.", name);
	unit_assert_owner(unit_nth(ldns_pkt_answer(p), 0), want);
	unit_assert_rdata0(unit_nth(ldns_pkt_answer(p), 0), "\"wild\"");
	ldns_pkt_free(p);
	p = ask(name, T_A, NO_EDNS, UDP); /* wildcard NODATA */
	assert_negative(p, LDNS_RCODE_NOERROR, "x.");
	ldns_pkt_free(p);
	/* one level up there is no wildcard: NXDOMAIN */
	deep_name(name, 125, "b");
	p = ask(name, T_A, NO_EDNS, UDP);
	assert_negative(p, LDNS_RCODE_NXDOMAIN, "x.");
	ldns_pkt_free(p);

	/* 128 labels do not fit in 255 bytes: the file is refused, by line */
	unserve();
	text_open(&t, "$ORIGIN x.\n" SOA_LINES);
	fprintf(t.f, "b.%s. A 192.0.2.128\n", deep);
	text_close(&t);
	assert_null(load("x.", t.buf));
	free(t.buf);
	print_message("128 labels: %s\n", load_err);
	assert_non_null(strstr(load_err, "z.zone:6:"));
}

/* ---- wildcards ---- */

static void test_wildcard_under_wildcard(void **state)
{
	struct text t;
	ldns_pkt *p;
	static const struct {
		const char *q;
		uint16_t qtype;
		int rcode, an;
		const char *last_owner, *last_rdata;
	} cases[] = {
		/* RFC 4592 2.2.1: *.* only matches below the literal "*" */
		{ "foo.example.com", T_A, 0, 1, "foo.example.com.", "192.0.2.1" },
		{ "a.b.example.com", T_A, 0, 1, "a.b.example.com.", "192.0.2.1" },
		{ "*.example.com", T_A, 0, 1, "*.example.com.", "192.0.2.1" },
		{ "x.*.example.com", T_A, 0, 1, "x.*.example.com.", "192.0.2.2" },
		{ "y.x.*.example.com", T_A, 0, 1, "y.x.*.example.com.", "192.0.2.2" },
		{ "*.*.example.com", T_A, 0, 1, "*.*.example.com.", "192.0.2.2" },
		{ "*.*.example.com", T_AAAA, 0, 0, NULL, NULL },
		{ "z.*.*.example.com", T_A, 0, 1, "z.*.*.example.com.", "192.0.2.3" },
		/* a wildcard CNAME to a name it synthesises again: stops */
		{ "q.w.example.com", T_A, 0, 2, "a.b.w.example.com.", "a.b.w.example.com." },
		/* a wildcard CNAME to itself: expanded once more, then stops */
		{ "q.s.example.com", T_A, 0, 2, "*.s.example.com.", "*.s.example.com." },
		/* wildcards pointing at each other's expansions */
		{ "q.p.example.com", T_A, 0, 3, "x.p.example.com.", "y.r.example.com." },
		/* no wildcard at the closest encloser ns1: NXDOMAIN */
		{ "a.ns1.example.com", T_A, 3, 0, NULL, NULL },
	};
	size_t i;

	(void)state;
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES
		  "* A 192.0.2.1\n"
		  "*.* A 192.0.2.2\n"
		  "*.*.* A 192.0.2.3\n"
		  "*.w CNAME a.b.w\n"
		  "*.s CNAME *.s\n"
		  "*.p CNAME y.r\n"
		  "*.r CNAME x.p\n");
	serve(load_text("example.com.", &t));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const ldns_rr *rr;

		p = ask(cases[i].q, cases[i].qtype, 1232, i & 1);
		if ((int)ldns_pkt_ancount(p) != cases[i].an ||
		    (int)ldns_pkt_get_rcode(p) != cases[i].rcode)
			print_error("%s type %u: rcode %d, %u answers; want %d, %d\n",
				    cases[i].q, cases[i].qtype,
				    ldns_pkt_get_rcode(p), ldns_pkt_ancount(p),
				    cases[i].rcode, cases[i].an);
		assert_int_equal(ldns_pkt_get_rcode(p), cases[i].rcode);
		assert_int_equal(ldns_pkt_ancount(p), cases[i].an);
		assert_true(ldns_pkt_aa(p));
		if (cases[i].an) {
			rr = unit_nth(ldns_pkt_answer(p), cases[i].an - 1);
			unit_assert_owner(rr, cases[i].last_owner);
			unit_assert_rdata0(rr, cases[i].last_rdata);
		} else {
			assert_int_equal(ldns_pkt_nscount(p), 1);
		}
		ldns_pkt_free(p);
	}
	unserve();
}

/* ---- damaged queries: no loop, no unbounded allocation ---- */

static void test_hostile_queries(void **state)
{
	struct text t;
	uint8_t q[65535];
	size_t len, rlen, i;
	long before;
	ldns_pkt *p;
	int k, round;

	(void)state;
	assert_counting();
	text_open(&t, "$ORIGIN example.com.\n" SOA_LINES);
	for (k = 0; k < 100; k++)
		fprintf(t.f, "c%d CNAME c%d\n", k, (k + 1) % 100);
	fprintf(t.f, "* CNAME c0\n");
	txt_set(t.f, "huge", 1000); /* 29 KB: TC over UDP, whole over TCP */
	serve(load_text("example.com.", &t));

	for (round = 0; round < 3; round++) {
		/* the first round warms up per-thread buffers and ldns */
		before = counter(&live_blocks);

		/* the question's name a pointer to itself */
		len = mkq("c0.example.com", T_A, NO_EDNS, 0, q);
		q[12] = 0xc0;
		q[13] = 12;
		rlen = respond_raw(q, 12 + 2 + 4, UDP);
		assert_true(rlen == 0 || (out[3] & 0xf) == 1);
		/* a label type 0x40 */
		q[12] = 0x41;
		rlen = respond_raw(q, len, UDP);
		assert_true(rlen == 0 || (out[3] & 0xf) == 1);

		/* ARCOUNT 65535 with one OPT there: FORMERR */
		len = mkq("c0.example.com", T_A, 1232, 0, q);
		q[10] = q[11] = 0xff;
		rlen = respond_raw(q, len, TCP);
		assert_true(rlen >= 12);
		assert_int_equal(out[3] & 0xf, 1);
		/* the OPT's owner a pointer loop */
		len = mkq("c0.example.com", T_A, 1232, 0, q);
		q[len - 11] = 0xc0;
		memmove(q + len - 9, q + len - 10, 10);
		q[len - 10] = len - 11;
		rlen = respond_raw(q, len + 1, TCP);
		assert_true(rlen == 0 || (out[3] & 0xf) == 1);

		/* an OPT full of unknown empty options (16 KB): ignored */
		len = mkq("c0.example.com", T_A, 1232, 0, q);
		for (i = 0; i < 4000; i++) {
			q[len++] = 0xfd;
			q[len++] = 0xe9;
			q[len++] = 0;
			q[len++] = 0;
		}
		q[len - 16000 - 2] = 16000 >> 8;
		q[len - 16000 - 1] = 16000 & 0xff;
		rlen = respond_raw(q, len, TCP);
		p = parse_out(rlen);
		assert_head(p, LDNS_RCODE_NOERROR, 1, 0, ENGINE_MAX_CHAIN, 0);
		ldns_pkt_free(p);

		/* a chain through a loop of 100 from a wildcard, every type */
		for (k = 0; k < 300; k++) {
			char name[64];

			snprintf(name, sizeof(name), "w%d.example.com", k);
			p = ask(name, k, k % 3 ? 1232 : NO_EDNS, k & 1);
			if (k < 128 || k > 255) /* not the meta types */
				assert_int_equal(ldns_pkt_get_rcode(p), 0);
			assert_true(ldns_pkt_ancount(p) <= ENGINE_MAX_CHAIN);
			ldns_pkt_free(p);
		}
		/* the big set again and again */
		for (k = 0; k < 20; k++) {
			p = ask("huge.example.com", T_TXT, 1232, k & 1);
			assert_int_equal(ldns_pkt_tc(p), !(k & 1));
			ldns_pkt_free(p);
		}
		if (round > 0 && counter(&live_blocks) != before)
			print_error("round %d: %ld -> %ld live heap blocks\n",
				    round, before, counter(&live_blocks));
		if (round > 0)
			assert_int_equal(counter(&live_blocks), before);
	}
	unserve();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cname_chain_1000),
		cmocka_unit_test(test_cname_loops),
		cmocka_unit_test(test_many_types_one_name),
		cmocka_unit_test(test_types_past_16_bits),
		cmocka_unit_test(test_huge_txt),
		cmocka_unit_test(test_big_rrset_load_linear),
		cmocka_unit_test(test_huge_delegation),
		cmocka_unit_test(test_127_labels),
		cmocka_unit_test(test_wildcard_under_wildcard),
		cmocka_unit_test(test_hostile_queries),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("hostile", tests, group_setup,
					   group_teardown);
}
