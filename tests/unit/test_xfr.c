// SPDX-License-Identifier: GPL-2.0
/*
 * Transfer client pieces that need no network: RFC 1982 serial
 * arithmetic, the reason names the stats show, IXFR application to a
 * copy of a zone (a delete of a missing record fails, the served zone is
 * untouched), and the AXFR state machine run by xfr_run() against a
 * scripted primary on a Unix stream socket in a thread (no packets):
 * several messages, closing SOA mismatch, truncation, record and byte
 * limits, records after the end, a wrong ID, the idle timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "xfr.h"
#include "zone.h"

#define ORIGIN "x.test."

/* ---- serial arithmetic (RFC 1982, SERIAL_BITS 32) ---- */

static void test_serial_gt(void **state)
{
	(void)state;
	assert_true(serial_gt(2, 1));
	assert_false(serial_gt(1, 2));
	assert_false(serial_gt(5, 5));
	/* wrap: 0 follows 0xffffffff, 1 follows 0xfffffff0 */
	assert_true(serial_gt(0, 0xffffffffu));
	assert_true(serial_gt(1, 0xfffffff0u));
	assert_false(serial_gt(0xffffffffu, 0));
	/* the largest step forward is 2^31 - 1 */
	assert_true(serial_gt(0x7fffffffu, 0));
	assert_true(serial_gt(0x80000000u + 5, 6));
	/* exactly 2^31 apart: undefined, neither is greater */
	assert_false(serial_gt(0x80000000u, 0));
	assert_false(serial_gt(0, 0x80000000u));
	assert_false(serial_gt(0x80000001u, 1));
	/* 2^31 + 1 ahead is behind */
	assert_false(serial_gt(0x80000001u, 0));
	assert_true(serial_gt(0, 0x80000001u));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(xfr_reason_name(XFR_R_TRUNCATED), "truncated");
	assert_string_equal(xfr_reason_name(XFR_R_SOA_MISMATCH), "soa_mismatch");
	assert_string_equal(xfr_reason_name(XFR_R_IXFR_INCONSISTENT),
			    "ixfr_inconsistent");
	assert_string_equal(xfr_reason_name(XFR_R_SERIAL_BACKWARDS),
			    "serial_backwards");
	assert_string_equal(xfr_reason_name(XFR_R_TSIG_UNSIGNED), "tsig_unsigned");
	assert_string_equal(xfr_reason_name(XFR_R_COUNT), "?");
	assert_string_equal(xfr_reason_name(-1), "?");
	assert_string_equal(xfr_kind_name(XFR_KIND_IXFR), "ixfr");
	assert_string_equal(xfr_kind_name(XFR_KIND_AXFR), "axfr");
}

/* ---- IXFR applied to a copy ---- */

static ldns_rr *rr(const char *text)
{
	ldns_rr *r = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&r, text, 300, NULL, NULL),
			 LDNS_STATUS_OK);
	return r;
}

static const char *const base_zone[] = {
	ORIGIN " 300 IN SOA ns1.x.test. h.x.test. 1 300 2 600 60",
	ORIGIN " 300 IN NS ns1.x.test.",
	"ns1.x.test. 300 IN A 198.18.0.2",
	"www.x.test. 300 IN A 198.18.0.80",
	"www.x.test. 300 IN A 198.18.0.81",
	NULL,
};

static struct zone *make_zone(const char *const *lines)
{
	struct zone *z = zone_new(ORIGIN);
	char why[256];

	assert_non_null(z);
	for (; *lines; lines++)
		assert_int_equal(zone_add_rr(z, rr(*lines), why, sizeof(why)), 0);
	assert_int_equal(zone_finalize(z, why, sizeof(why)), 0);
	return z;
}

static int has_a(const struct zone *z, const char *owner_wire, size_t len,
		 size_t want)
{
	struct node *n = zone_find(z, (const uint8_t *)owner_wire, len);
	struct rrset *s = n ? node_rrset(n, LDNS_RR_TYPE_A) : NULL;

	return (s ? rdset_count(s->rrs) : 0) == want;
}

#define WWW "\3www\1x\4test"
static void test_ixfr_on_copy(void **state)
{
	struct zone *cur = make_zone(base_zone), *c;
	ldns_rr *d;
	char why[256];

	(void)state;
	c = zone_clone_unfinished(cur);
	assert_non_null(c);
	/* the diff 1 -> 2: delete the old SOA and one A, add the new */
	d = rr(base_zone[0]);
	assert_int_equal(zone_del_rr(c, d), 0);
	ldns_rr_free(d);
	d = rr("www.x.test. 999 IN A 198.18.0.81"); /* the TTL does not matter */
	assert_int_equal(zone_del_rr(c, d), 0);
	ldns_rr_free(d);
	/* a record that is not there: -ENOENT (an inconsistent IXFR) */
	d = rr("www.x.test. 300 IN A 192.0.2.99");
	assert_int_equal(zone_del_rr(c, d), -ENOENT);
	ldns_rr_free(d);
	d = rr("nope.x.test. 300 IN A 198.18.0.80");
	assert_int_equal(zone_del_rr(c, d), -ENOENT);
	ldns_rr_free(d);
	d = rr("www.x.test. 300 IN AAAA fd00:5353::1");
	assert_int_equal(zone_del_rr(c, d), -ENOENT);
	ldns_rr_free(d);
	assert_int_equal(zone_add_rr(c, rr(ORIGIN " 300 IN SOA ns1.x.test. h.x.test. 2 300 2 600 60"),
				     why, sizeof(why)), 0);
	assert_int_equal(zone_add_rr(c, rr("new.x.test. 300 IN A 198.18.0.9"),
				     why, sizeof(why)), 0);
	assert_int_equal(zone_finalize(c, why, sizeof(why)), 0);
	assert_int_equal(c->serial, 2);
	assert_true(has_a(c, WWW, sizeof(WWW), 1));
	/* the zone served is as it was */
	assert_int_equal(cur->serial, 1);
	assert_true(has_a(cur, WWW, sizeof(WWW), 2));
	assert_null(zone_find(cur, (const uint8_t *)"\3new\1x\4test", sizeof("\3new\1x\4test")));
	zone_free(c);

	/* deleting the SOA and never adding one: not a zone */
	c = zone_clone_unfinished(cur);
	d = rr(base_zone[0]);
	assert_int_equal(zone_del_rr(c, d), 0);
	ldns_rr_free(d);
	assert_int_not_equal(zone_finalize(c, why, sizeof(why)), 0);
	zone_free(c);
	zone_free(cur);
}

/* ---- AXFR against a scripted primary (Unix stream socket) ---- */

struct script {
	int lfd;
	const char *const *msgs[8]; /* records of each message, NULL-ended */
	int n_msgs;
	int close_after; /* close after this many messages (0: all) */
	int half_message; /* then send half of the next one */
	int bad_id;
	int silent; /* read the query, never answer */
};

/* (runs in the primary's thread: no cmocka assertions; a broken
 * message is caught by the client) */
static size_t build_msg(uint16_t id, const char *const *lines, uint8_t *out)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_rr_set_owner(q, ldns_dname_new_frm_str(ORIGIN));
	ldns_rr_set_question(q, 1);
	ldns_rr_set_type(q, LDNS_RR_TYPE_AXFR);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, 1);
	ldns_pkt_set_aa(p, 1);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	for (; *lines; lines++) {
		ldns_rr *r = NULL;

		if (ldns_rr_new_frm_str(&r, *lines, 300, NULL, NULL) == LDNS_STATUS_OK)
			ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, r);
	}
	if (ldns_pkt2wire(&w, p, &n) != LDNS_STATUS_OK)
		n = 0;
	out[0] = n >> 8;
	out[1] = n & 0xff;
	memcpy(out + 2, w, n);
	free(w);
	ldns_pkt_free(p);
	return n + 2;
}

static void *primary(void *arg)
{
	struct script *s = arg;
	uint8_t q[1024], m[65538];
	int fd = accept(s->lfd, NULL, NULL), i;
	uint16_t id;
	size_t n;

	if (fd < 0)
		return NULL;
	if (read(fd, q, sizeof(q)) < 4) {
		close(fd);
		return NULL;
	}
	id = (q[2] << 8 | q[3]) ^ (s->bad_id ? 1 : 0);
	for (i = 0; i < s->n_msgs && !s->silent; i++) {
		n = build_msg(id, s->msgs[i], m);
		if (s->close_after && i == s->close_after) {
			if (s->half_message && send(fd, m, n / 2, MSG_NOSIGNAL) < 0)
				break;
			close(fd); /* mid-stream */
			return NULL;
		}
		if (send(fd, m, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
	}
	/* wait for the client to hang up, then close */
	while (read(fd, q, sizeof(q)) > 0)
		;
	close(fd);
	return NULL;
}

#define SOA1 ORIGIN " 300 IN SOA ns1.x.test. h.x.test. 7 300 2 600 60"
#define SOA_OTHER ORIGIN " 300 IN SOA ns1.x.test. h.x.test. 8 300 2 600 60"
static const char *const m_first[] = { SOA1, ORIGIN " 300 IN NS ns1.x.test.",
				       "ns1.x.test. 300 IN A 198.18.0.2", NULL };
static const char *const m_mid[] = { "a.x.test. 300 IN A 198.18.0.3",
				     "b.x.test. 300 IN A 198.18.0.4", NULL };
static const char *const m_end[] = { "c.x.test. 300 IN A 198.18.0.5", SOA1, NULL };
static const char *const m_end_other[] = { "c.x.test. 300 IN A 198.18.0.5",
					   SOA_OTHER, NULL };
static const char *const m_end_more[] = { "c.x.test. 300 IN A 198.18.0.5", SOA1,
					  "d.x.test. 300 IN A 198.18.0.6", NULL };

/* Run an AXFR (no current zone) against the script; returns the job. */
static struct xfr_job *run(struct script *s, uint64_t max_records,
			   uint64_t max_bytes)
{
	struct xfr_job *j = calloc(1, sizeof(*j));
	struct sockaddr_un *sun;
	pthread_t t;

	assert_non_null(j);
	snprintf(j->origin, sizeof(j->origin), ORIGIN);
	j->n_primaries = 1;
	snprintf(j->primaries[0].id, sizeof(j->primaries[0].id), "script");
	snprintf(j->primaries[0].text, sizeof(j->primaries[0].text), "unix");
	sun = (struct sockaddr_un *)&j->primaries[0].addr;
	sun->sun_family = AF_UNIX;
	/* abstract socket: nothing on disk */
	snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "xdpns-test-xfr-%d",
		 getpid());
	j->primaries[0].addrlen = sizeof(*sun);
	j->force_axfr = 1;
	j->max_records = max_records;
	j->max_bytes = max_bytes;
	j->idle_ms = 300;
	j->timeout_ms = 2000;
	j->done_fd = -1;

	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)sun, sizeof(*sun)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, primary, s), 0);
	xfr_run(j);
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s->lfd);
	return j;
}

static void job_free(struct xfr_job *j)
{
	zone_free(j->zone);
	free(j);
}

static void test_axfr_several_messages(void **state)
{
	struct script s = { .msgs = { m_first, m_mid, m_end }, .n_msgs = 3 };
	struct xfr_job *j = run(&s, 100, 100000);

	(void)state;
	assert_int_equal(j->result, XFR_OK);
	assert_int_equal(j->kind, XFR_KIND_AXFR);
	assert_non_null(j->zone);
	assert_int_equal(j->zone->serial, 7);
	assert_int_equal(j->zone->n_records, 6);
	assert_int_equal(j->messages, 3);
	assert_int_equal(j->primary, 0);
	job_free(j);
}

static void test_axfr_failures(void **state)
{
	static const struct {
		const char *what;
		struct script s;
		uint64_t max_records, max_bytes;
		int reason;
	} cases[] = {
		{ "closing SOA differs",
		  { .msgs = { m_first, m_mid, m_end_other }, .n_msgs = 3 },
		  100, 100000, XFR_R_SOA_MISMATCH },
		{ "closed between messages",
		  { .msgs = { m_first, m_mid, m_end }, .n_msgs = 3, .close_after = 2 },
		  100, 100000, XFR_R_TRUNCATED },
		{ "closed inside a message",
		  { .msgs = { m_first, m_mid, m_end }, .n_msgs = 3, .close_after = 1,
		    .half_message = 1 },
		  100, 100000, XFR_R_TRUNCATED },
		{ "record limit",
		  { .msgs = { m_first, m_mid, m_end }, .n_msgs = 3 },
		  4, 100000, XFR_R_LIMIT },
		{ "byte limit",
		  { .msgs = { m_first, m_mid, m_end }, .n_msgs = 3 },
		  100, 150, XFR_R_LIMIT },
		{ "records after the closing SOA",
		  { .msgs = { m_first, m_end_more }, .n_msgs = 2 },
		  100, 100000, XFR_R_MALFORMED },
		{ "does not start with the SOA",
		  { .msgs = { m_mid, m_end }, .n_msgs = 2 },
		  100, 100000, XFR_R_MALFORMED },
		{ "reply with another ID",
		  { .msgs = { m_first, m_end }, .n_msgs = 2, .bad_id = 1 },
		  100, 100000, XFR_R_MALFORMED },
		{ "never answers",
		  { .msgs = { m_first }, .n_msgs = 1, .silent = 1 },
		  100, 100000, XFR_R_TIMEOUT },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script s = cases[i].s;
		struct xfr_job *j = run(&s, cases[i].max_records, cases[i].max_bytes);

		if (j->result != cases[i].reason)
			fail_msg("%s: result %s, expected %s (%s)", cases[i].what,
				 xfr_reason_name(j->result),
				 xfr_reason_name(cases[i].reason), j->error);
		assert_null(j->zone);
		assert_int_equal(j->fails[cases[i].reason], 1);
		assert_int_equal(j->primary, -1);
		job_free(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_gt),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ixfr_on_copy),
		cmocka_unit_test(test_axfr_several_messages),
		cmocka_unit_test(test_axfr_failures),
	};

	log_set_level(LOG_LVL_ERR); /* the failures are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
