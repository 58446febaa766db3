// SPDX-License-Identifier: GPL-2.0
/*
 * zone_load_file(): counts, empty non-terminals, duplicates, signatures,
 * and one exact message per kind of bad file. Runs in a temporary
 * directory so messages name "z.zone" as a user would see it.
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

#include "wire.h"
#include "zone.h"
#include "unit_fs.h"

#define ZF "z.zone"
#define ORIGIN "example.com."


static int group_setup(void **state)
{
	(void)state;
	if (unit_tmpdir_enter("zone"))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(ZF);
	return unit_tmpdir_leave();
}

static void write_zone(const char *text)
{
	unit_write_file(ZF, text);
}

/* Loads text (NULL: the file as it is), which must succeed. */
static struct zone *load_ok(const char *text)
{
	char err[512] = "x";
	struct zone *z = NULL;
	int r;

	if (text)
		write_zone(text);
	r = zone_load_file(ZF, ORIGIN, &z, err, sizeof(err));
	if (r)
		print_error("unexpected error %d: %s\n", r, err);
	assert_int_equal(r, 0);
	assert_string_equal(err, "");
	assert_non_null(z);
	return z;
}

/* Loads text, expects ret and exactly msg, and *out left alone. */
static void load_err(const char *text, int ret, const char *msg)
{
	struct zone *sentinel = (struct zone *)&sentinel;
	struct zone *z = sentinel;
	char err[512];

	memset(err, 'x', sizeof(err));
	if (text)
		write_zone(text);
	assert_int_equal(zone_load_file(ZF, ORIGIN, &z, err, sizeof(err)), ret);
	if (strcmp(err, msg))
		print_error("zone file was:\n%s\n", text ? text : "(none)");
	assert_string_equal(err, msg);
	assert_ptr_equal(z, sentinel);
}

/* Node by presentation name, NULL when absent. */
static struct node *find(const struct zone *z, const char *name)
{
	ldns_rdf *d = ldns_dname_new_frm_str(name);
	uint8_t canon[256];
	struct node *n;

	assert_non_null(d);
	assert_true(ldns_rdf_size(d) <= sizeof(canon));
	name_lower(canon, ldns_rdf_data(d), ldns_rdf_size(d));
	n = zone_find(z, canon, ldns_rdf_size(d));
	ldns_rdf_deep_free(d);
	return n;
}

static size_t count(const struct zone *z, const char *name, uint16_t type)
{
	struct node *n = find(z, name);
	struct rrset *s = n ? node_rrset(n, type) : NULL;

	return s ? rdset_count(s->rrs) : 0;
}

static size_t nsigs(const struct zone *z, const char *name, uint16_t type)
{
	struct node *n = find(z, name);
	struct rrset *s = n ? node_rrset(n, type) : NULL;

	return s ? rdset_count(s->sigs) : 0;
}

/* The k-th record of an rdset (it must be there). */
static struct rr_ref nth(const struct rdset *set, uint32_t k)
{
	struct rr_ref rr = { 0, 0, NULL };
	uint32_t pos = 0;

	do
		assert_true(rdset_next(set, &pos, &rr));
	while (k--);
	return rr;
}

#define SOA_LINE "@ 3600 IN SOA ns1 hostmaster 2024010203 7200 900 1209600 300\n"

static const char basic[] =
	"$TTL 600\n"
	"; a comment line\n"
	SOA_LINE
	"@ NS ns1\n"
	"@ NS ns2.example.net.\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.1\n"
	"www A 192.0.2.2\n"
	"www AAAA 2001:db8::1\n"
	"mail 300 IN MX 10 mx.example.net.\n"
	"a.b.c A 192.0.2.9\n"
	"Upper.CASE TXT \"Kept As Is\"\n"
	"ftp CNAME www\n";

static void test_basic(void **state)
{
	struct zone *z;
	struct node *n;
	struct rrset *s;

	(void)state;
	z = load_ok(basic);
	assert_int_equal(z->n_records, 11);
	/* apex SOA NS, ns1 A, www A AAAA, mail MX, a.b.c A, upper TXT,
	 * ftp CNAME */
	assert_int_equal(z->n_rrsets, 9);
	assert_int_equal(z->serial, 2024010203);
	assert_int_equal(z->signed_zone, 0);
	assert_string_equal(z->name, "example.com.");
	assert_int_equal(z->apex_len, 13);
	assert_memory_equal(z->apex, "\x07" "example" "\x03" "com", 13);
	assert_non_null(z->soa);
	assert_int_equal(z->soa_ttl, 3600);
	assert_int_equal(zone_soa_u32(z, 3), 7200);
	assert_int_equal(zone_soa_u32(z, 4), 900);
	assert_int_equal(zone_soa_u32(z, 5), 1209600);
	/* min(SOA TTL 3600, MINIMUM 300) */
	assert_int_equal(zone_neg_ttl(z), 300);

	assert_int_equal(count(z, "example.com.", LDNS_RR_TYPE_SOA), 1);
	assert_int_equal(count(z, "example.com.", LDNS_RR_TYPE_NS), 2);
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_A), 2);
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_AAAA), 1);
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_MX), 0);
	assert_int_equal(count(z, "ftp.example.com.", LDNS_RR_TYPE_CNAME), 1);
	/* owner names are canonical: lookups in any case find them */
	assert_int_equal(count(z, "upper.case.example.com.", LDNS_RR_TYPE_TXT),
			 1);
	assert_int_equal(count(z, "UPPER.case.EXAMPLE.com.", LDNS_RR_TYPE_TXT),
			 1);
	n = find(z, "upper.case.example.com.");
	assert_non_null(n);
	assert_int_equal(n->len, 24);
	assert_memory_equal(n->name, "\x05" "upper" "\x04" "case", 11);

	/* $TTL and explicit TTLs */
	s = node_rrset(find(z, "www.example.com."), LDNS_RR_TYPE_A);
	assert_int_equal(nth(s->rrs, 0).ttl, 600);
	s = node_rrset(find(z, "mail.example.com."), LDNS_RR_TYPE_MX);
	assert_int_equal(nth(s->rrs, 0).ttl, 300);

	assert_null(find(z, "nope.example.com."));
	assert_null(find(z, "example.org."));
	assert_null(find(z, "com."));
	zone_free(z);
}

static void test_empty_non_terminals(void **state)
{
	struct zone *z;
	struct node *n;

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE "a.b.c A 192.0.2.9\n"
		    "x.y.b.c AAAA 2001:db8::9\n"
		    "deep.1.2.3.4.5 TXT x\n");
	assert_non_null(find(z, "a.b.c.example.com."));
	n = find(z, "b.c.example.com.");
	assert_non_null(n);
	assert_int_equal(n->n_sets, 0);
	n = find(z, "c.example.com.");
	assert_non_null(n);
	assert_int_equal(n->n_sets, 0);
	assert_non_null(find(z, "y.b.c.example.com."));
	assert_int_equal(find(z, "y.b.c.example.com.")->n_sets, 0);
	assert_int_equal(find(z, "x.y.b.c.example.com.")->n_sets, 1);
	assert_non_null(find(z, "5.example.com."));
	assert_non_null(find(z, "4.5.example.com."));
	assert_non_null(find(z, "3.4.5.example.com."));
	assert_non_null(find(z, "2.3.4.5.example.com."));
	assert_non_null(find(z, "1.2.3.4.5.example.com."));
	assert_non_null(find(z, "deep.1.2.3.4.5.example.com."));
	/* nothing above the apex, no siblings invented */
	assert_null(find(z, "com."));
	assert_null(find(z, "a.example.com."));
	assert_null(find(z, "b.example.com."));
	/* ENTs hold no data: counts are about records */
	assert_int_equal(z->n_records, 4);
	assert_int_equal(z->n_rrsets, 4);
	zone_free(z);
}

static void test_duplicates_collapse(void **state)
{
	struct zone *z;

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE
		    "www A 192.0.2.1\n"
		    "www A 192.0.2.1\n"
		    "WWW.example.COM. 60 IN A 192.0.2.1\n"
		    "www A 192.0.2.2\n"
		    "www TXT \"a\"\n"
		    "www TXT \"a\"\n"
		    "www TXT \"A\"\n");
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_A), 2);
	/* TXT data is case-sensitive: "a" and "A" differ */
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_TXT), 2);
	assert_int_equal(z->n_records, 5);
	assert_int_equal(z->n_rrsets, 3);
	zone_free(z);
}

/* A syntactically valid signature (a fake 64-byte ECDSA one). */
#define SIG_TAIL " 20300101000000 20200101000000 12345 example.com. " \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss" \
	"LS4vMDEyMzQ1Njc4OTo7PD0+Pw==\n"

static void test_rrsig_attach(void **state)
{
	struct zone *z;
	struct rrset *s;

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE
		    "@ RRSIG SOA 13 2 3600" SIG_TAIL
		    "www RRSIG A 13 3 600" SIG_TAIL /* before its rrset */
		    "www A 192.0.2.1\n"
		    "www A 192.0.2.2\n"
		    "www AAAA 2001:db8::1\n"
		    "www RRSIG AAAA 13 3 600" SIG_TAIL
		    "gone RRSIG TXT 13 3 600" SIG_TAIL);
	assert_int_equal(z->signed_zone, 1);
	/* RRSIGs are records too */
	assert_int_equal(z->n_records, 8);
	/* apex SOA; www A AAAA; gone TXT (signatures only) */
	assert_int_equal(z->n_rrsets, 4);
	assert_int_equal(nsigs(z, "example.com.", LDNS_RR_TYPE_SOA), 1);
	assert_int_equal(nsigs(z, "www.example.com.", LDNS_RR_TYPE_A), 1);
	assert_int_equal(nsigs(z, "www.example.com.", LDNS_RR_TYPE_AAAA), 1);
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_A), 2);
	/* signatures are never an rrset of their own */
	assert_null(node_rrset(find(z, "www.example.com."),
			       LDNS_RR_TYPE_RRSIG));
	s = node_rrset(find(z, "www.example.com."), LDNS_RR_TYPE_A);
	/* the type covered, first in an RRSIG's rdata */
	assert_memory_equal(nth(s->sigs, 0).rdata, "\0\1", 2);
	/* the covered rrset without records exists, empty */
	assert_int_equal(count(z, "gone.example.com.", LDNS_RR_TYPE_TXT), 0);
	assert_int_equal(nsigs(z, "gone.example.com.", LDNS_RR_TYPE_TXT), 1);
	assert_null(node_rrset(find(z, "example.com."), LDNS_RR_TYPE_NS));
	zone_free(z);
}

/* RFC 2181 5.2: an RRset holds no duplicate records; signatures are no
 * exception, or every DO answer carries the same RRSIG twice. */
static void test_rrsig_duplicates_collapse(void **state)
{
	size_t sigs, records;
	struct zone *z;

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE
		    "www A 192.0.2.1\n"
		    "www RRSIG A 13 3 600" SIG_TAIL
		    "www RRSIG A 13 3 600" SIG_TAIL);
	sigs = nsigs(z, "www.example.com.", LDNS_RR_TYPE_A);
	records = z->n_records;
	zone_free(z); /* before a failed check leaves the test */
	assert_int_equal(sigs, 1);
	assert_int_equal(records, 3);
}

/* $ORIGIN, $TTL changes, and owners inherited from the previous line. */
static void test_directives(void **state)
{
	struct zone *z;
	struct rrset *s;

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE
		    "www A 192.0.2.1\n"
		    "    AAAA 2001:db8::1\n"
		    "$ORIGIN sub.example.com.\n"
		    "host A 192.0.2.7\n"
		    "$TTL 60\n"
		    "@ TXT here\n"
		    "$ORIGIN example.com.\n"
		    "last A 192.0.2.8\n");
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_AAAA), 1);
	assert_int_equal(count(z, "host.sub.example.com.", LDNS_RR_TYPE_A), 1);
	assert_int_equal(count(z, "sub.example.com.", LDNS_RR_TYPE_TXT), 1);
	assert_int_equal(count(z, "last.example.com.", LDNS_RR_TYPE_A), 1);
	assert_null(find(z, "host.example.com."));
	s = node_rrset(find(z, "sub.example.com."), LDNS_RR_TYPE_TXT);
	assert_int_equal(nth(s->rrs, 0).ttl, 60);
	s = node_rrset(find(z, "host.sub.example.com."), LDNS_RR_TYPE_A);
	assert_int_equal(nth(s->rrs, 0).ttl, 600);
	assert_int_equal(z->n_records, 6);
	zone_free(z);

	/* the origin given in any case is the same zone */
	write_zone("$TTL 600\n" SOA_LINE);
	{
		char err[256];
		struct zone *zz = NULL;

		assert_int_equal(zone_load_file(ZF, "EXAMPLE.Com", &zz, err,
						sizeof(err)),
				 0);
		assert_string_equal(zz->name, "example.com.");
		assert_memory_equal(zz->apex, "\x07" "example" "\x03" "com", 13);
		zone_free(zz);
	}
}

/* Enough names to grow the node table several times over. */
static void test_many_names(void **state)
{
	char *text = malloc(200000), *p;
	struct zone *z;
	char name[64];
	int i;

	(void)state;
	assert_non_null(text);
	p = text + sprintf(text, "$TTL 600\n" SOA_LINE);
	for (i = 0; i < 3000; i++)
		p += sprintf(p, "h%d.g%d A 192.0.2.%d\n", i, i % 7, i % 250);
	z = load_ok(text);
	free(text);
	assert_int_equal(z->n_records, 3001);
	assert_int_equal(z->n_rrsets, 3001);
	/* apex, 7 ENTs g0..g6, 3000 owners */
	assert_int_equal(z->n_nodes, 1 + 7 + 3000);
	assert_true(z->n_nodes * 4 <= (z->mask + 1) * 3);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%d.g%d.example.com.", i, i % 7);
		assert_int_equal(count(z, name, LDNS_RR_TYPE_A), 1);
	}
	for (i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "g%d.example.com.", i);
		assert_non_null(find(z, name));
	}
	assert_null(find(z, "h1.g0.example.com."));
	zone_free(z);
}

/* ---- errors: one exact message each ---- */


static ldns_rr *rr_of(const char *text)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL),
			 LDNS_STATUS_OK);
	return rr;
}

/* A diff's deletion and addition of the record in text, each expected to
 * succeed. */
static void del_ok(struct zone *z, const char *text)
{
	ldns_rr *rr = rr_of(text);

	assert_int_equal(zone_del_rr(z, rr), 0);
	ldns_rr_free(rr);
}

static void add_ok(struct zone *z, const char *text)
{
	char why[256];

	assert_int_equal(zone_add_rr(z, rr_of(text), why, sizeof(why)), 0);
}

/* The base of an IXFR: a clone borrows every node of the served zone and
 * copies only what a diff changes; the served zone is untouched; after the
 * flip the old zone is freed into the new one, which keeps the nodes it
 * borrowed. Empty non-terminals follow deletions and additions. */
static void test_clone_borrows(void **state)
{
	char why[256];
	struct zone *old, *z, *z2;
	struct node *n;

	(void)state;
	old = load_ok("$ORIGIN example.com.\n" SOA_LINE
		      "@ NS ns1\nns1 A 192.0.2.53\n"
		      "a.b A 192.0.2.1\nwww A 192.0.2.80\nwww AAAA 2001:db8::80\n");
	assert_non_null(find(old, "b.example.com."));
	z = zone_clone_unfinished(old);
	assert_non_null(z);
	/* unchanged nodes are the same memory until changed */
	assert_ptr_equal(find(z, "www.example.com.")->sets,
			 find(old, "www.example.com.")->sets);
	/* a diff: a.b deleted (b becomes empty), c.d added, www's A changed */
	del_ok(z, "a.b.example.com. 3600 IN A 192.0.2.1");
	del_ok(z, "www.example.com. 3600 IN A 192.0.2.80");
	add_ok(z, "www.example.com. 3600 IN A 192.0.2.81");
	add_ok(z, "c.d.example.com. 3600 IN A 192.0.2.3");
	assert_int_equal(zone_finalize(z, why, sizeof(why)), 0);
	/* the served zone still has everything it had */
	assert_int_equal(count(old, "a.b.example.com.", LDNS_RR_TYPE_A), 1);
	assert_non_null(find(old, "b.example.com."));
	assert_null(find(old, "d.example.com."));
	assert_memory_equal(nth(node_rrset(find(old, "www.example.com."), 1)->rrs,
				0).rdata, "\xc0\x00\x02\x50", 4);
	/* the new one the diff's result */
	assert_null(find(z, "a.b.example.com."));
	assert_null(find(z, "b.example.com."));
	assert_non_null(find(z, "d.example.com."));
	assert_int_equal(count(z, "c.d.example.com.", LDNS_RR_TYPE_A), 1);
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_AAAA), 1);
	assert_int_equal(count(z, "ns1.example.com.", LDNS_RR_TYPE_A), 1);
	assert_int_equal(z->n_records, 6);
	/* the flip: old is freed into z, z keeps what it borrowed */
	zone_free_into(old, z);
	n = find(z, "ns1.example.com.");
	assert_non_null(n);
	assert_int_equal(n->borrowed, 0);
	assert_int_equal(count(z, "ns1.example.com.", LDNS_RR_TYPE_A), 1);
	/* a second diff on top, adding only (no rebuild), then the result
	 * thrown away (a failed transfer): z is intact */
	z2 = zone_clone_unfinished(z);
	assert_non_null(z2);
	add_ok(z2, "e.f.example.com. 3600 IN A 192.0.2.5");
	assert_int_equal(zone_finalize(z2, why, sizeof(why)), 0);
	assert_non_null(find(z2, "f.example.com."));
	assert_non_null(find(z2, "d.example.com."));
	zone_free(z2);
	assert_null(find(z, "f.example.com."));
	assert_int_equal(count(z, "www.example.com.", LDNS_RR_TYPE_A), 1);
	zone_free(z);
}

/* Every node of z owned by z (none borrowed), and how many nodes. */
static size_t owned_nodes(const struct zone *z)
{
	size_t i, k = 0;

	for (i = 0; i <= z->mask; i++) {
		if (!z->nodes[i].name)
			continue;
		assert_int_equal(z->nodes[i].borrowed, 0);
		k++;
	}
	return k;
}

/* An IXFR that adds and changes without emptying a node keeps the table
 * slot for slot: the flip hands the old zone's nodes to the new one by
 * slot (the changed node's old copy freed, its new copy kept), and the
 * NSEC index of a copy looks only at the touched nodes when the base had
 * no NSEC, at all of them when it had. (ASan's build catches a node freed
 * twice or leaked.) */
static void test_clone_hand_over_by_slot(void **state)
{
	char why[256];
	struct zone *old, *z, *z2;
	struct node *n;

	(void)state;
	old = load_ok("$ORIGIN example.com.\n" SOA_LINE
		      "@ NS ns1\nns1 A 192.0.2.53\n"
		      "www A 192.0.2.80\nmail A 192.0.2.25\n");
	assert_int_equal(old->n_nsec, 0);
	z = zone_clone_unfinished(old);
	assert_non_null(z);
	del_ok(z, "www.example.com. 3600 IN A 192.0.2.80"); /* www changes: owned */
	add_ok(z, "www.example.com. 3600 IN A 192.0.2.81");
	add_ok(z, "new.example.com. 3600 IN A 192.0.2.9");
	/* an NSEC added by the diff is indexed though the base had none */
	add_ok(z, "mail.example.com. 3600 IN NSEC new.example.com. A NSEC");
	assert_int_equal(zone_finalize(z, why, sizeof(why)), 0);
	assert_int_equal(z->mask, old->mask); /* not rebuilt, not grown */
	assert_int_equal(z->n_nsec, 1);
	assert_string_equal((const char *)z->nsec[0]->name, "\004mail\007example\003com");
	/* the unchanged nodes are old's, in the same slots */
	/* mail got the NSEC: its own copy */
	assert_true(find(z, "mail.example.com.")->sets != find(old, "mail.example.com.")->sets);
	assert_ptr_equal(find(z, "ns1.example.com.")->sets, find(old, "ns1.example.com.")->sets);
	assert_ptr_equal(find(z, "ns1.example.com.") - z->nodes,
			 find(old, "ns1.example.com.") - old->nodes);
	assert_int_equal(find(z, "ns1.example.com.")->borrowed, 1);
	zone_free_into(old, z);
	assert_int_equal(owned_nodes(z), 5); /* apex, ns1, www, mail, new */
	assert_int_equal(count(z, "ns1.example.com.", LDNS_RR_TYPE_A), 1);
	n = find(z, "www.example.com.");
	assert_non_null(n);
	assert_memory_equal(nth(node_rrset(n, LDNS_RR_TYPE_A)->rrs, 0).rdata,
			    "\xc0\x00\x02\x51", 4);

	/* a base with an NSEC: a copy that does not touch it still has it
	 * in its index (borrowed nodes scanned) */
	z2 = zone_clone_unfinished(z);
	assert_non_null(z2);
	add_ok(z2, "other.example.com. 3600 IN A 192.0.2.10");
	assert_int_equal(zone_finalize(z2, why, sizeof(why)), 0);
	assert_int_equal(z2->n_nsec, 1);
	assert_ptr_equal(z2->nsec[0], find(z2, "mail.example.com."));
	zone_free_into(z, z2);
	assert_int_equal(owned_nodes(z2), 6);
	zone_free(z2);
}

/* A diff that empties nodes rebuilds the copy's table: nodes that sat
 * behind a deleted one in a probe chain move to other slots, and the
 * hand-over finds them by name (a slot-only hand-over would leave them
 * borrowed from the freed zone). */
static void test_clone_hand_over_moved(void **state)
{
	char why[256], line[64];
	struct zone *old, *z;
	size_t i, moved = 0;
	FILE *f;

	(void)state;
	f = fopen(ZF, "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN example.com.\n" SOA_LINE "@ NS ns1\nns1 A 192.0.2.53\n");
	for (i = 0; i < 400; i++)
		fprintf(f, "h%zu A 192.0.2.%zu\n", i, i % 250);
	fclose(f);
	old = load_ok(NULL);
	z = zone_clone_unfinished(old);
	assert_non_null(z);
	for (i = 0; i < 400; i += 3) {
		snprintf(line, sizeof(line), "h%zu.example.com. 3600 IN A 192.0.2.%zu",
			 i, i % 250);
		del_ok(z, line);
	}
	assert_int_equal(zone_finalize(z, why, sizeof(why)), 0);
	for (i = 1; i < 400; i += 3) {
		struct node *a, *b;

		snprintf(line, sizeof(line), "h%zu.example.com.", i);
		a = find(old, line);
		b = find(z, line);
		assert_non_null(b);
		assert_ptr_equal(a->name, b->name); /* borrowed */
		moved += (size_t)(a - old->nodes) != (size_t)(b - z->nodes);
	}
	assert_true(moved > 0); /* the case this test is about */
	zone_free_into(old, z);
	assert_int_equal(owned_nodes(z), 2 + 400 - 134);
	for (i = 1; i < 400; i += 3) {
		snprintf(line, sizeof(line), "h%zu.example.com.", i);
		assert_int_equal(count(z, line, LDNS_RR_TYPE_A), 1);
	}
	zone_free(z);
}

/* The compact store: each RRset one block of wire rdata. Names in rdata
 * lowercased (not NSEC's next name), TTLs kept per record when they
 * differ, the owner's case as first written beside the canonical name. */
static void test_compact_records(void **state)
{
	struct zone *z;
	struct rrset *s;
	struct node *n;
	struct rr_ref rr;
	uint16_t off[RDATA_MAX_NAMES];
	uint8_t name[256];

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE
		    "WwW 100 A 192.0.2.1\n"
		    "www 200 A 192.0.2.2\n"
		    "www 100 A 192.0.2.3\n"
		    "www AAAA 2001:db8::1\n"
		    "mail MX 10 MX.Example.COM.\n"
		    "_s._tcp SRV 1 2 3 Target.example.com.\n"
		    "n NSEC Next.Example.com. A\n"
		    "ttl 60 TXT \"x\"\n");
	/* the SOA's fields; MNAME and RNAME canonical */
	assert_int_equal(zone_soa_u32(z, 2), 2024010203);
	assert_int_equal(zone_soa_u32(z, 6), 300);
	assert_int_equal(zone_soa_name(z, 0, name), 17);
	assert_memory_equal(name, "\3ns1\7example\3com", 17);
	assert_int_equal(zone_soa_name(z, 1, name), 24);
	assert_memory_equal(name, "\12hostmaster\7example\3com", 24);

	/* TTLs that differ are each kept, in order */
	n = find(z, "www.example.com.");
	s = node_rrset(n, LDNS_RR_TYPE_A);
	assert_int_equal(rdset_count(s->rrs), 3);
	assert_int_equal(s->rrs->ttls, 1);
	assert_int_equal(nth(s->rrs, 0).ttl, 100);
	assert_int_equal(nth(s->rrs, 1).ttl, 200);
	assert_int_equal(nth(s->rrs, 2).ttl, 100);
	assert_int_equal(nth(s->rrs, 2).len, 4);
	assert_memory_equal(nth(s->rrs, 2).rdata, "\xc0\x00\x02\x03", 4);
	/* one TTL for all: not repeated */
	s = node_rrset(n, LDNS_RR_TYPE_AAAA);
	assert_int_equal(s->rrs->ttls, 0);
	assert_int_equal(s->rrs->size, 2 + 16);
	assert_int_equal(nth(s->rrs, 0).ttl, 600);
	/* the owner: canonical name, the case as first written beside it */
	assert_int_equal(n->cased, 1);
	assert_memory_equal(n->name, "\3www\7example\3com", 17);
	assert_memory_equal(node_owner(n), "\3WwW\7example\3com", 17);
	n = find(z, "mail.example.com.");
	assert_int_equal(n->cased, 0);
	assert_ptr_equal(node_owner(n), n->name);

	/* names in rdata: where they are, lowercased */
	rr = nth(node_rrset(n, LDNS_RR_TYPE_MX)->rrs, 0);
	assert_int_equal(rdata_names(LDNS_RR_TYPE_MX, rr.rdata, rr.len, off), 1);
	assert_int_equal(off[0], 2);
	assert_int_equal(rdata_target(LDNS_RR_TYPE_MX, &rr), 2);
	assert_memory_equal(rr.rdata + 2, "\2mx\7example\3com", 16);
	rr = nth(node_rrset(find(z, "_s._tcp.example.com."), LDNS_RR_TYPE_SRV)->rrs, 0);
	assert_int_equal(rdata_target(LDNS_RR_TYPE_SRV, &rr), 6);
	assert_memory_equal(rr.rdata + 6, "\6target\7example\3com", 20);
	/* a name cut short is not a name */
	assert_int_equal(rdata_names(LDNS_RR_TYPE_SRV, rr.rdata, rr.len - 1, off), 0);
	assert_int_equal(rdata_names(LDNS_RR_TYPE_A, rr.rdata, rr.len, off), 0);
	/* NSEC's next name as signed */
	rr = nth(node_rrset(find(z, "n.example.com."), LDNS_RR_TYPE_NSEC)->rrs, 0);
	assert_memory_equal(rr.rdata, "\4Next\7Example\3com", 18);
	zone_free(z);
}

/* Big sets drop duplicates at the end, sorted as ldns sorts records
 * (rdata bytes, then the shorter first); removing a record moves the
 * last into its place. */
static void test_compact_big_set(void **state)
{
	char text[8192], why[256];
	size_t o;
	struct zone *z, *c;
	struct rrset *s;
	struct rr_ref rr;
	uint32_t pos = 0, k = 0;
	ldns_rr *d;
	int i;

	(void)state;
	o = snprintf(text, sizeof(text), "$TTL 600\n" SOA_LINE);
	for (i = 99; i >= 0; i--)
		o += snprintf(text + o, sizeof(text) - o, "big TXT \"%d\"\n", i);
	o += snprintf(text + o, sizeof(text) - o, "big TXT \"7\"\nbig TXT \"42\"\n");
	z = load_ok(text);
	s = node_rrset(find(z, "big.example.com."), LDNS_RR_TYPE_TXT);
	assert_int_equal(rdset_count(s->rrs), 100);
	assert_int_equal(z->n_records, 101);
	/* "\1" "0" < "\1" "1" ... < "\2" "10": by length byte first */
	while (rdset_next(s->rrs, &pos, &rr)) {
		char want[8];

		snprintf(want, sizeof(want), "%c%u", k < 10 ? 1 : 2, k);
		assert_int_equal(rr.len, strlen(want));
		assert_memory_equal(rr.rdata, want, rr.len);
		k++;
	}
	assert_int_equal(k, 100);

	c = zone_clone_unfinished(z);
	assert_non_null(c);
	d = rr_of("big.example.com. 600 IN TXT \"3\"");
	assert_int_equal(zone_del_rr(c, d), 0);
	assert_int_equal(zone_del_rr(c, d), -ENOENT);
	ldns_rr_free(d);
	assert_int_equal(zone_finalize(c, why, sizeof(why)), 0);
	s = node_rrset(find(c, "big.example.com."), LDNS_RR_TYPE_TXT);
	assert_int_equal(rdset_count(s->rrs), 99);
	assert_memory_equal(nth(s->rrs, 3).rdata, "\2" "99", 3);
	assert_memory_equal(nth(s->rrs, 98).rdata, "\2" "98", 3);
	/* the served zone keeps its own */
	s = node_rrset(find(z, "big.example.com."), LDNS_RR_TYPE_TXT);
	assert_memory_equal(nth(s->rrs, 3).rdata, "\1" "3", 2);
	zone_free(c);
	zone_free(z);
}

/* What zone_write_file writes loads again to the same records. */
static void test_write_round_trip(void **state)
{
	struct zone *z, *y;
	char err[256], line[512];
	size_t lines = 0;
	FILE *f;

	(void)state;
	z = load_ok("$TTL 600\n" SOA_LINE
		    "WwW 100 A 192.0.2.1\nwww 200 A 192.0.2.2\n"
		    "mail MX 10 mx\n_s._tcp SRV 1 2 3 target\n"
		    "t TXT \"a b\" \"c\"\nu TYPE65000 \\# 3 010203\n"
		    "v6 AAAA 2001:db8::1:0:0:1\nv6 AAAA ::ffff:192.0.2.1\n"
		    "c CNAME @\np PTR a\\.b\nroot MX 0 .\nns NS x.Other.\n"
		    "odd\\$ A 192.0.2.9\n");
	assert_int_equal(zone_write_file(z, "w.zone"), 0);
	/* every line as ldns prints that record (most are written without
	 * it: write_fast) */
	f = fopen("w.zone", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		ldns_rr *rr = NULL;
		char *again;

		if (line[0] == ';')
			continue;
		assert_int_equal(ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL),
				 LDNS_STATUS_OK);
		again = ldns_rr2str(rr);
		assert_string_equal(again, line);
		free(again);
		ldns_rr_free(rr);
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, z->n_records);
	assert_int_equal(zone_load_file("w.zone", ORIGIN, &y, err, sizeof(err)), 0);
	unlink("w.zone");
	assert_int_equal(y->n_records, z->n_records);
	assert_int_equal(y->n_rrsets, z->n_rrsets);
	assert_int_equal(count(y, "www.example.com.", LDNS_RR_TYPE_A), 2);
	assert_int_equal(nth(node_rrset(find(y, "www.example.com."), 1)->rrs, 1).ttl,
			 200);
	assert_memory_equal(node_owner(find(y, "www.example.com.")),
			    "\3WwW", 4);
	assert_int_equal(nth(node_rrset(find(y, "u.example.com."), 65000)->rrs, 0).len,
			 3);
	assert_int_equal(count(y, "t.example.com.", LDNS_RR_TYPE_TXT), 1);
	zone_free(y);
	zone_free(z);
}

/* Common lines are read without ldns (fast_line): the same file with a
 * comment on every line, which only ldns reads, must give the same zone,
 * written out byte for byte, and the same error at the same line. */
static const char *const fast_lines[] = {
	"$ORIGIN example.com.", "$TTL 0", "@ SOA ns1 host 1 2 3 4 5",
	"@ NS ns1", "ns1 A 192.0.2.1", "\tAAAA 2001:db8::1",
	"www 300 IN A 192.0.2.2", "WWW.example.com. A 192.0.2.4",
	"    TXT blank-owner", "mx MX 10 mail", "mx MX 20 Mail.Other.",
	"mx2 MX 0 .", "cn CNAME www", "ptr PTR @", "n2 NS ns1.example.com.",
	"$TTL 600", "t1 A 10.0.0.1", "$ORIGIN sub.example.com.",
	"x A 10.0.0.2", "y CNAME x", "@ A 10.0.0.3", "\tMX 1 x",
	"$ORIGIN example.com.", "z 1h A 10.0.0.4", "in A 10.0.0.5",
	"a 4294967295 A 10.0.0.6", "b 999999999 A 10.0.0.7",
	"*.w A 10.0.0.8", "_x._tcp A 10.0.0.9", "a-b 7 IN AAAA ::ffff:1.2.3.4",
	"e AAAA ::", "Mixed.Case A 10.0.0.13", "mixed.case AAAA ::2",
	"dn NS Ns.Elsewhere.", "1.2.3.4 A 1.2.3.4",
	"mxo MX 70000 mail", /* ldns wraps it: 4464 */ NULL,
};

static void fast_text(char *buf, size_t size, const char *const *lines,
		      int comments)
{
	size_t o = 0;

	for (; *lines; lines++)
		o += snprintf(buf + o, size - o, "%s%s\n", *lines,
			      comments ? " ; ldns" : "");
}

static void test_fast_lines_as_ldns(void **state)
{
	static const char *const bad[][2] = {
		{ "www.example.org. A 192.0.2.1", ":3: www.example.org. is outside the zone example.com." },
		{ "www CNAME a\nwww A 192.0.2.1", ":4: CNAME and other data at one name (RFC 2181 10.1)" },
		{ "www A 300.1.1.1", ":3: Syntax error, could not parse the RR's rdata" },
	};
	char text[4096], ta[8192], tb[8192], ea[512], eb[512];
	struct zone *a, *b;
	FILE *f;
	size_t na, nb, i;

	(void)state;
	fast_text(text, sizeof(text), fast_lines, 0);
	a = load_ok(text);
	fast_text(text, sizeof(text), fast_lines, 1);
	b = load_ok(text);
	assert_int_equal(zone_write_file(a, "a.zone"), 0);
	assert_int_equal(zone_write_file(b, "b.zone"), 0);
	f = fopen("a.zone", "r");
	na = fread(ta, 1, sizeof(ta), f);
	fclose(f);
	f = fopen("b.zone", "r");
	nb = fread(tb, 1, sizeof(tb), f);
	fclose(f);
	unlink("a.zone");
	unlink("b.zone");
	assert_int_equal(na, nb);
	assert_memory_equal(ta, tb, na);
	assert_int_equal(a->n_records, 31);
	assert_int_equal(count(a, "www.example.com.", LDNS_RR_TYPE_A), 2);
	assert_int_equal(nth(node_rrset(find(a, "ns1.example.com."), 1)->rrs, 0).ttl,
			 3600); /* $TTL 0: ldns's default */
	zone_free(a);
	zone_free(b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int c = 0; c < 2; c++) {
			char *e = c ? eb : ea;
			struct zone *z = NULL;

			snprintf(text, sizeof(text), "$TTL 600\n" SOA_LINE "%s%s\n",
				 bad[i][0], c ? " ; ldns" : "");
			write_zone(text);
			assert_int_not_equal(zone_load_file(ZF, ORIGIN, &z, e, 512), 0);
		}
		assert_string_equal(ea, eb);
		snprintf(text, sizeof(text), ZF "%s", bad[i][1]);
		assert_string_equal(ea, text);
	}
}

static void test_err_syntax(void **state)
{
	(void)state;
	load_err("$TTL 600\n" SOA_LINE "www IN A 192.0.2.1\n"
		 "www IN A 300.1.1.1\n",
		 -EINVAL, ZF ":4: Syntax error, could not parse the RR's rdata");
	load_err("$TTL 600\n" SOA_LINE "www IN A\n", -EINVAL,
		 ZF ":3: Syntax error, value expected");
	/* a record over several lines is reported at its first line */
	load_err("$TTL 600\n" SOA_LINE "www IN MX (\n 10\n mx.example.net.\n"
		 " extra )\n",
		 -EINVAL, ZF ":3: Syntax error, superfluous text present");
	/* and the record after it at its own */
	load_err("$TTL 600\n" SOA_LINE "www IN MX (\n 10\n mx.example.net. )\n"
		 "www IN A 300.1.1.1\n",
		 -EINVAL, ZF ":6: Syntax error, could not parse the RR's rdata");
}

static void test_err_outside(void **state)
{
	(void)state;
	load_err("$TTL 600\n" SOA_LINE "www.example.org. A 192.0.2.1\n",
		 -EINVAL,
		 ZF ":3: www.example.org. is outside the zone example.com.");
	/* a suffix that is not on a label boundary is outside too */
	load_err("$TTL 600\n" SOA_LINE "xexample.com. A 192.0.2.1\n",
		 -EINVAL, ZF ":3: xexample.com. is outside the zone example.com.");
	/* the parent */
	load_err("$TTL 600\n" SOA_LINE "com. A 192.0.2.1\n", -EINVAL,
		 ZF ":3: com. is outside the zone example.com.");
}

static void test_err_soa(void **state)
{
	(void)state;
	load_err("$TTL 600\n" SOA_LINE
		 "sub 600 IN SOA ns1 hostmaster 1 2 3 4 5\n",
		 -EINVAL, ZF ":3: SOA record not at the zone apex");
	load_err("$TTL 600\n" SOA_LINE
		 "@ 600 IN SOA ns2 hostmaster 1 2 3 4 5\n",
		 -EINVAL, ZF ":3: more than one SOA record");
	load_err("$TTL 600\n@ NS ns1\nns1 A 192.0.2.1\n", -EINVAL,
		 ZF ": no SOA record at the zone apex example.com.");
	/* only signatures of an SOA is still no SOA */
	load_err("$TTL 600\n@ RRSIG SOA 13 2 3600" SIG_TAIL, -EINVAL,
		 ZF ": no SOA record at the zone apex example.com.");
	load_err("", -EINVAL, ZF ": no SOA record at the zone apex example.com.");
}

static void test_err_misc(void **state)
{
	(void)state;
	load_err("$TTL 600\n" SOA_LINE "www CH A 192.0.2.1\n", -EINVAL,
		 ZF ":3: class is not IN");
	load_err("$TTL 600\n" SOA_LINE "$INCLUDE other.zone\n", -EINVAL,
		 ZF ":3: $INCLUDE is not supported");
	unlink(ZF);
	load_err(NULL, -ENOENT, "cannot open " ZF ": No such file or directory");
}

/* The line in a message is the record's own, whatever comes before it. */
static void test_err_line_after_comments(void **state)
{
	(void)state;
	/* blank lines */
	load_err("$TTL 600\n" SOA_LINE "\n\nwww IN A 300.1.1.1\n", -EINVAL,
		 ZF ":5: Syntax error, could not parse the RR's rdata");
	/* a comment at the end of the previous record */
	load_err("$TTL 600\n" SOA_LINE "a A 192.0.2.1 ; fine\n"
		 "www.example.org. A 192.0.2.1\n",
		 -EINVAL,
		 ZF ":4: www.example.org. is outside the zone example.com.");
	/* whole-line comments between records */
	load_err("$TTL 600\n" SOA_LINE "; one\n; two\n"
		 "www.example.org. A 192.0.2.1\n",
		 -EINVAL,
		 ZF ":5: www.example.org. is outside the zone example.com.");
	load_err("$TTL 600\n" SOA_LINE "; one\nwww IN A 300.1.1.1\n", -EINVAL,
		 ZF ":4: Syntax error, could not parse the RR's rdata");
}

static void test_err_cname_conflict(void **state)
{
	(void)state;
	load_err("$TTL 600\n" SOA_LINE "www CNAME a\nwww A 192.0.2.1\n", -EINVAL,
		 ZF ":4: CNAME and other data at one name (RFC 2181 10.1)");
	load_err("$TTL 600\n" SOA_LINE "www A 192.0.2.1\nwww CNAME a\n", -EINVAL,
		 ZF ":4: CNAME and other data at one name (RFC 2181 10.1)");
	load_err("$TTL 600\n" SOA_LINE "www CNAME a\nwww CNAME b\n", -EINVAL,
		 ZF ":4: more than one CNAME at one name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty_non_terminals),
		cmocka_unit_test(test_duplicates_collapse),
		cmocka_unit_test(test_rrsig_attach),
		cmocka_unit_test(test_rrsig_duplicates_collapse),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_clone_borrows),
		cmocka_unit_test(test_clone_hand_over_by_slot),
		cmocka_unit_test(test_clone_hand_over_moved),
		cmocka_unit_test(test_compact_records),
		cmocka_unit_test(test_compact_big_set),
		cmocka_unit_test(test_write_round_trip),
		cmocka_unit_test(test_fast_lines_as_ldns),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_outside),
		cmocka_unit_test(test_err_soa),
		cmocka_unit_test(test_err_misc),
		cmocka_unit_test(test_err_line_after_comments),
		cmocka_unit_test(test_err_cname_conflict),
	};

	return cmocka_run_group_tests_name("zone", tests, group_setup,
					   group_teardown);
}
