/* The answer engine: the only code that decides what a response holds.
 * engine_answer() builds the key-dependent part (flags and the sections
 * after the question); engine_respond() assembles a full reply to a query
 * the way the XDP program does, so both paths produce the same bytes. */
#ifndef XDPNS_ENGINE_H
#define XDPNS_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"
#include "zone.h"

#define ENGINE_MAX_CHAIN 16 /* CNAMEs followed in one answer */
#define ENGINE_MAX_CUTS 64 /* additional-section RRsets in one answer */

/* Where the body may be cut when it does not fit: after the answer and
 * authority sections and each of the first additional RRsets (with their
 * signatures). Dropping trailing additional data sets no TC (RFC 2181 9). */
struct answer_cut {
	uint16_t len; /* body length up to here */
	uint16_t ar; /* additional records kept */
};

struct engine_zone {
	struct zone *zone; /* owned by the daemon's zone table */
	uint32_t slot; /* index in the XDP zones map */
	int expired;
};

#define ENGINE_COOKIE_SECRET 16

struct engine {
	struct engine_zone *zones;
	int n_zones;
	const char *identity; /* NSID, id.server, hostname.bind; NULL: none */
	const char *version; /* version.bind; NULL: REFUSED */
	/* DNS cookies (RFC 7873, RFC 9018): the current secret makes server
	 * cookies, the previous one is still accepted after a rotation */
	uint8_t cookie_secret[ENGINE_COOKIE_SECRET];
	uint8_t cookie_prev[ENGINE_COOKIE_SECRET];
	int cookie_prev_valid;
	uint32_t (*now)(void); /* seconds (RFC 9018 timestamp); NULL: time() */
};

/* The part of a response that depends only on (qname, qtype, DO). */
struct answer {
	uint16_t flags; /* QR AA rcode; RD, CD, TC are set per query */
	uint16_t an, ns, ar; /* ar excludes the OPT */
	size_t len; /* body length */
	int oversize; /* body did not fit WIRE_MAX_MSG: only TC is possible */
	int referral; /* a delegation (AA=0, NS in authority): RRL's kind */
	uint16_t n_cuts; /* ascending lengths; the full body is not one */
	struct answer_cut cuts[ENGINE_MAX_CUTS];
	uint8_t body[WIRE_MAX_MSG];
};

/* Identity for NSID and CHAOS queries, and a fresh random cookie secret. */
void engine_setup_identity(struct engine *e, const char *identity);
/* New cookie secret; the previous one stays valid (RFC 9018 rollover). */
void engine_rotate_cookie_secret(struct engine *e);

/* Zone that is authoritative for name (longest match), or NULL. */
const struct engine_zone *engine_find_zone(const struct engine *e,
					   const uint8_t *name, size_t len);

/* Answer for a canonical (lowercase wire) qname in zone z. */
int engine_answer(const struct engine_zone *ez, const uint8_t *qname,
		  size_t qname_len, uint16_t qtype, int dnssec_ok,
		  struct answer *a);

/* What engine_respond learnt, for counters. */
struct respond_info {
	int rcode; /* -1: no reply (QR=1 or unparseable) */
	int truncated;
	int edns;
	int dnssec_ok;
	int cookie_valid; /* the query had a good server cookie of ours */
	/* the zone an IN query fell in (also when it is expired), for the
	 * per-zone counters; NULL: none of ours */
	const struct engine_zone *qzone;
	/* set when the reply came from engine_answer() for an IN query: the
	 * key it depends on (for the XDP cache of slow-path answers) */
	const struct engine_zone *zone;
	const struct answer *answer;
	const uint8_t *qname; /* canonical */
	size_t qname_len;
	uint16_t qtype;
};

/* Reply to the query in q[0..qlen). tcp=0 limits the reply to the client's
 * UDP size. Returns the reply length, 0 when no reply is to be sent. */
size_t engine_respond(const struct engine *e, const uint8_t *q, size_t qlen,
		      uint8_t *out, size_t cap, int tcp,
		      struct respond_info *info);

/* The same, knowing the client's address (for DNS cookies). */
struct sockaddr;
size_t engine_respond_from(const struct engine *e, const uint8_t *q,
			   size_t qlen, const struct sockaddr *from,
			   uint8_t *out, size_t cap, int tcp,
			   struct respond_info *info);
int engine_cookie_valid(const struct engine *e, const uint8_t *cookie,
			size_t len, const struct sockaddr *from, uint32_t now);

#endif
