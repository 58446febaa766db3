// SPDX-License-Identifier: GPL-2.0
/*
 * TSIG (RFC 8945): requests signed byte for byte as dnspython signs them
 * (tsig_vectors.h, for all four algorithms), a dnspython two-message
 * reply verified in order, sign/verify round trips for each algorithm,
 * and the rules: a bad MAC is BADSIG, an unknown key name or algorithm
 * BADKEY, the time is checked only after the MAC (BADTIME needs a good
 * MAC), truncated MACs are rejected, errors reported by the peer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "tsig.h"
#include "tsig_vectors.h"

static const enum config_tsig_alg algs[] = {
	CONFIG_TSIG_SHA1, CONFIG_TSIG_SHA256, CONFIG_TSIG_SHA384,
	CONFIG_TSIG_SHA512,
};
static const size_t mac_sizes[] = { 20, 32, 48, 64 };

/* config_key is where a tsig_key's secret lives: kept static */
static struct config_key ckeys[8];
static int n_ckeys;

static struct tsig_key key_of(const char *name, enum config_tsig_alg alg,
			      const uint8_t *secret, size_t len)
{
	struct config_key *ck = &ckeys[n_ckeys++ % 8];
	struct tsig_key k;

	memset(ck, 0, sizeof(*ck));
	ck->name = (char *)name;
	ck->alg = alg;
	memcpy(ck->secret, secret, len);
	ck->secret_len = len;
	assert_int_equal(tsig_key_init(&k, ck), 0);
	return k;
}

static struct tsig_key test_key(enum config_tsig_alg alg)
{
	return key_of("test-key.", alg, vec_secret, sizeof(vec_secret));
}

/* Offset of the MAC size field in msg's TSIG record. */
static size_t mac_size_at(const uint8_t *m, size_t len)
{
	long off = tsig_find(m, len);
	size_t p;

	assert_true(off > 0);
	p = off;
	while (m[p]) /* owner, uncompressed */
		p += 1 + m[p];
	p += 1 + 10; /* type class ttl rdlength */
	while (m[p]) /* algorithm */
		p += 1 + m[p];
	return p + 1 + 6 + 2; /* time, fudge */
}

static size_t mac_at(const uint8_t *m, size_t len)
{
	return mac_size_at(m, len) + 2;
}

/* A request signed by us, ctx ready for the replies. */
static void sign_request(struct tsig_ctx *ctx, const struct tsig_key *k,
			 uint8_t *buf, size_t *len, uint64_t now)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->key = k;
	memcpy(buf, vec_req_unsigned, sizeof(vec_req_unsigned));
	*len = sizeof(vec_req_unsigned);
	assert_int_equal(tsig_sign(ctx, buf, len, 1024, now, 0), 0);
}

/* ---- against dnspython ---- */

static void test_sign_request_as_dnspython(void **state)
{
	static const struct {
		const uint8_t *msg;
		size_t len;
	} want[] = {
		{ vec_req_hmac_sha1, sizeof(vec_req_hmac_sha1) },
		{ vec_req_hmac_sha256, sizeof(vec_req_hmac_sha256) },
		{ vec_req_hmac_sha384, sizeof(vec_req_hmac_sha384) },
		{ vec_req_hmac_sha512, sizeof(vec_req_hmac_sha512) },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct tsig_key k = test_key(algs[i]);
		struct tsig_ctx ctx;
		uint8_t buf[1024];
		size_t len;

		sign_request(&ctx, &k, buf, &len, VEC_TIME);
		assert_int_equal(len, want[i].len);
		assert_memory_equal(buf, want[i].msg, len);
		assert_int_equal(ctx.mac_len, mac_sizes[i]);
	}
}

static void test_verify_dnspython_request(void **state)
{
	struct tsig_key keys[3] = {
		key_of("other-key.", CONFIG_TSIG_SHA256, vec_secret, 32),
		test_key(CONFIG_TSIG_SHA512), /* same name, other algorithm */
		test_key(CONFIG_TSIG_SHA256),
	};
	struct tsig_ctx ctx;
	int which;

	(void)state;
	assert_int_equal(tsig_verify_request(&ctx, keys, 3, vec_req_hmac_sha256,
					     sizeof(vec_req_hmac_sha256),
					     VEC_TIME + 5, &which),
			 TSIG_OK);
	assert_int_equal(which, 2);
	/* only the first two keys: none matches name and algorithm */
	assert_int_equal(tsig_verify_request(&ctx, keys, 2, vec_req_hmac_sha256,
					     sizeof(vec_req_hmac_sha256),
					     VEC_TIME, &which),
			 TSIG_BADKEY);
	assert_int_equal(tsig_verify_request(&ctx, keys, 3, vec_req_unsigned,
					     sizeof(vec_req_unsigned), VEC_TIME,
					     &which),
			 TSIG_UNSIGNED);
}

static void test_dnspython_reply_sequence(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx ctx;
	uint8_t buf[1024];
	size_t len;

	(void)state;
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(tsig_verify(&ctx, vec_reply2, sizeof(vec_reply2), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(ctx.n_verified, 2);

	/* out of order: the second message first */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply2, sizeof(vec_reply2), VEC_TIME),
			 TSIG_BADSIG);
	/* the first twice */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_BADSIG);
	/* a reply to another request (signed a second later: other MAC) */
	sign_request(&ctx, &k, buf, &len, VEC_TIME + 1);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_BADSIG);
}

/* RFC 8945 5.3.1: a client MUST accept up to 99 unsigned messages in a
 * row; the next signed one covers them, and the last must be signed. */
static void test_sparse_reply_sequence(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx ctx;
	uint8_t buf[1024];
	size_t len;
	int i;

	(void)state;
	/* dnspython's sequence: signed, unsigned, signed covering it */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_sparse1, sizeof(vec_sparse1), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(tsig_verify(&ctx, vec_sparse2, sizeof(vec_sparse2), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(ctx.n_unsigned, 1);
	assert_int_equal(tsig_verify(&ctx, vec_sparse3, sizeof(vec_sparse3), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(ctx.n_unsigned, 0);
	assert_int_equal(ctx.n_verified, 2);
	tsig_ctx_release(&ctx);

	/* the unsigned message changed in transit: the next MAC fails */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	memcpy(buf, vec_sparse2, sizeof(vec_sparse2));
	buf[sizeof(vec_sparse2) - 1] ^= 1; /* the A record's last octet */
	assert_int_equal(tsig_verify(&ctx, vec_sparse1, sizeof(vec_sparse1), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(tsig_verify(&ctx, buf, sizeof(vec_sparse2), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(tsig_verify(&ctx, vec_sparse3, sizeof(vec_sparse3), VEC_TIME),
			 TSIG_BADSIG);
	tsig_ctx_release(&ctx);

	/* left out: the signed message does not cover a missing one */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_sparse1, sizeof(vec_sparse1), VEC_TIME),
			 TSIG_OK);
	assert_int_equal(tsig_verify(&ctx, vec_sparse3, sizeof(vec_sparse3), VEC_TIME),
			 TSIG_BADSIG);
	tsig_ctx_release(&ctx);

	/* the first message must be signed */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_sparse2, sizeof(vec_sparse2), VEC_TIME),
			 TSIG_UNSIGNED);
	tsig_ctx_release(&ctx);

	/* 99 unsigned in a row are accepted, the 100th is not */
	sign_request(&ctx, &k, buf, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_sparse1, sizeof(vec_sparse1), VEC_TIME),
			 TSIG_OK);
	for (i = 0; i < TSIG_MAX_UNSIGNED; i++)
		assert_int_equal(tsig_verify(&ctx, vec_sparse2, sizeof(vec_sparse2),
					     VEC_TIME), TSIG_OK);
	assert_int_equal(ctx.n_unsigned, 99);
	assert_int_equal(tsig_verify(&ctx, vec_sparse2, sizeof(vec_sparse2), VEC_TIME),
			 TSIG_UNSIGNED);
	tsig_ctx_release(&ctx);
	assert_null(ctx.pending);
}

/* ---- round trips ---- */

/* The reply to buf's request: same header and question, QR set, an
 * answer-less body, signed by the server side. */
static size_t server_reply(struct tsig_ctx *sctx, uint8_t *out, uint64_t now,
			   uint16_t error)
{
	size_t len = sizeof(vec_req_unsigned);

	memcpy(out, vec_req_unsigned, len);
	out[2] |= 0x84; /* QR AA */
	assert_int_equal(tsig_sign(sctx, out, &len, 1024, now, error), 0);
	return len;
}

static void test_round_trip_each_algorithm(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct tsig_key k = test_key(algs[i]);
		struct tsig_ctx cctx, sctx;
		uint8_t req[1024], rep[1024];
		size_t qlen, rlen;
		int which;

		sign_request(&cctx, &k, req, &qlen, 1000000);
		assert_int_equal(tsig_verify_request(&sctx, &k, 1, req, qlen,
						     1000000 + 200, &which),
				 TSIG_OK);
		assert_int_equal(which, 0);
		rlen = server_reply(&sctx, rep, 1000000 + 200, 0);
		assert_int_equal(tsig_verify(&cctx, rep, rlen, 1000000 + 250), TSIG_OK);
		/* the same reply with a flipped MAC byte, for a fresh request */
		sign_request(&cctx, &k, req, &qlen, 1000000);
		rep[mac_at(rep, rlen) + mac_sizes[i] - 1] ^= 1;
		assert_int_equal(tsig_verify(&cctx, rep, rlen, 1000000), TSIG_BADSIG);
	}
}

/* A multi-message reply signed by our own server side: the first message
 * with every variable, the next ones with the timers only (tsig_sign_next);
 * the client side verifies each in order, and a changed one fails. */
static void test_round_trip_multi_message(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx cctx, sctx, saved;
	uint8_t req[1024], rep[3][1024];
	size_t qlen, rlen[3];
	int which, i;

	(void)state;
	sign_request(&cctx, &k, req, &qlen, VEC_TIME);
	assert_int_equal(tsig_verify_request(&sctx, &k, 1, req, qlen, VEC_TIME,
					     &which), TSIG_OK);
	for (i = 0; i < 3; i++) {
		rlen[i] = sizeof(vec_req_unsigned);
		memcpy(rep[i], vec_req_unsigned, rlen[i]);
		rep[i][2] |= 0x84; /* QR AA */
		if (i == 0)
			assert_int_equal(tsig_sign(&sctx, rep[i], &rlen[i], 1024,
						   VEC_TIME, 0), 0);
		else
			assert_int_equal(tsig_sign_next(&sctx, rep[i], &rlen[i], 1024,
							VEC_TIME), 0);
	}
	saved = cctx;
	for (i = 0; i < 3; i++)
		assert_int_equal(tsig_verify(&cctx, rep[i], rlen[i], VEC_TIME), TSIG_OK);
	assert_int_equal(cctx.n_verified, 3);
	/* the third message's MAC changed: the chain breaks there */
	cctx = saved;
	rep[2][mac_at(rep[2], rlen[2])] ^= 1;
	assert_int_equal(tsig_verify(&cctx, rep[0], rlen[0], VEC_TIME), TSIG_OK);
	assert_int_equal(tsig_verify(&cctx, rep[1], rlen[1], VEC_TIME), TSIG_OK);
	assert_int_equal(tsig_verify(&cctx, rep[2], rlen[2], VEC_TIME), TSIG_BADSIG);
}

static void test_wrong_secret_is_badsig(void **state)
{
	uint8_t other[32] = { 0 };
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_key bad = key_of("test-key.", CONFIG_TSIG_SHA256, other, 32);
	struct tsig_ctx ctx;
	uint8_t req[1024];
	size_t len;

	(void)state;
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	ctx.key = &bad; /* same request MAC, another secret */
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_BADSIG);
}

static void test_wrong_key_name_or_alg_is_badkey(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_key other = key_of("other-key.", CONFIG_TSIG_SHA256, vec_secret, 32);
	struct tsig_key k512 = test_key(CONFIG_TSIG_SHA512);
	struct tsig_ctx ctx;
	uint8_t req[1024];
	size_t len;

	(void)state;
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	ctx.key = &other;
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_BADKEY);
	ctx.key = &k512;
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1), VEC_TIME),
			 TSIG_BADKEY);
}

/* RFC 8945 5.2.3: the time is checked only once the MAC is good. */
static void test_time_checked_after_mac(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx ctx;
	uint8_t req[1024], rep[1024];
	size_t len;

	(void)state;
	/* a good MAC: the fudge (300 s) decides */
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1),
				     VEC_TIME + 300), TSIG_OK);
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1),
				     VEC_TIME - 300), TSIG_OK);
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1),
				     VEC_TIME + 301), TSIG_BADTIME);
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1),
				     VEC_TIME - 301), TSIG_BADTIME);
	/* a bad MAC far outside the fudge: BADSIG, not BADTIME */
	memcpy(rep, vec_reply1, sizeof(vec_reply1));
	rep[mac_at(rep, sizeof(vec_reply1))] ^= 0x80;
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, rep, sizeof(vec_reply1), VEC_TIME + 100000),
			 TSIG_BADSIG);
	/* a request: the same order */
	memcpy(rep, vec_req_hmac_sha256, sizeof(vec_req_hmac_sha256));
	{
		int which;
		struct tsig_ctx s;

		assert_int_equal(tsig_verify_request(&s, &k, 1, rep,
						     sizeof(vec_req_hmac_sha256),
						     VEC_TIME + 100000, &which),
				 TSIG_BADTIME);
		rep[mac_at(rep, sizeof(vec_req_hmac_sha256)) + 3] ^= 1;
		assert_int_equal(tsig_verify_request(&s, &k, 1, rep,
						     sizeof(vec_req_hmac_sha256),
						     VEC_TIME + 100000, &which),
				 TSIG_BADSIG);
	}
}

/* A MAC cut to its first half (RFC 8945 5.2.2.1 allows a policy to
 * accept it; ours never does), and a MAC of length 0. */
static void test_truncated_mac_rejected(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx ctx;
	uint8_t req[1024], rep[1024];
	size_t len, at, rd, n, cut;
	long off;

	(void)state;
	for (cut = 16; cut <= 32; cut += 16) {
		memcpy(rep, vec_reply1, sizeof(vec_reply1));
		n = sizeof(vec_reply1);
		at = mac_size_at(rep, n);
		off = tsig_find(rep, n);
		rd = off + 10 + 8; /* "test-key." is 10 bytes; rdlength */
		assert_int_equal(rep[at] << 8 | rep[at + 1], 32);
		/* drop cut bytes from the end of the MAC */
		memmove(rep + at + 2 + 32 - cut, rep + at + 2 + 32, n - (at + 2 + 32));
		n -= cut;
		rep[at + 1] = 32 - cut;
		rep[rd + 1] -= cut;
		sign_request(&ctx, &k, req, &len, VEC_TIME);
		assert_int_equal(tsig_verify(&ctx, rep, n, VEC_TIME), TSIG_BADSIG);
	}
}

static void test_unsigned_and_malformed(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx ctx;
	uint8_t req[1024], rep[1024];
	size_t len;

	(void)state;
	sign_request(&ctx, &k, req, &len, VEC_TIME);
	assert_int_equal(tsig_verify(&ctx, vec_req_unsigned, sizeof(vec_req_unsigned),
				     VEC_TIME), TSIG_UNSIGNED);
	/* a byte after the TSIG: it is no longer the last record */
	memcpy(rep, vec_reply1, sizeof(vec_reply1));
	rep[sizeof(vec_reply1)] = 0;
	assert_int_equal(tsig_verify(&ctx, rep, sizeof(vec_reply1) + 1, VEC_TIME),
			 TSIG_FORMERR);
	/* cut inside the TSIG record */
	assert_int_equal(tsig_verify(&ctx, vec_reply1, sizeof(vec_reply1) - 3,
				     VEC_TIME), TSIG_FORMERR);
	assert_int_equal(tsig_find(vec_reply1, 5), -1);
	assert_int_equal(tsig_find(vec_req_unsigned, sizeof(vec_req_unsigned)), 0);
}

/* The peer's TSIG error field: BADSIG/BADKEY (unsigned, MAC size 0) and
 * BADTIME (signed, with the server's time as other data). */
static void test_peer_errors(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx cctx, sctx;
	uint8_t req[1024], rep[1024];
	size_t qlen, rlen, at;
	int which, err;

	(void)state;
	sign_request(&cctx, &k, req, &qlen, VEC_TIME);
	assert_int_equal(tsig_verify_request(&sctx, &k, 1, req, qlen, VEC_TIME,
					     &which), TSIG_OK);
	rlen = server_reply(&sctx, rep, VEC_TIME + 1000, TSIG_RCODE_BADTIME);
	assert_int_equal(tsig_verify(&cctx, rep, rlen, VEC_TIME), TSIG_BADTIME);
	assert_int_equal(cctx.peer_error, TSIG_RCODE_BADTIME);

	/* turn a signed reply into an unsigned error: MAC size 0 */
	for (err = TSIG_RCODE_BADSIG; err <= TSIG_RCODE_BADKEY; err++) {
		long off;

		sign_request(&cctx, &k, req, &qlen, VEC_TIME);
		assert_int_equal(tsig_verify_request(&sctx, &k, 1, req, qlen,
						     VEC_TIME, &which), TSIG_OK);
		rlen = server_reply(&sctx, rep, VEC_TIME, 0);
		at = mac_size_at(rep, rlen);
		off = tsig_find(rep, rlen);
		memmove(rep + at + 2, rep + at + 2 + 32, rlen - (at + 2 + 32));
		rlen -= 32;
		rep[at] = rep[at + 1] = 0;
		rep[off + 10 + 8 + 1] -= 32; /* rdlength */
		rep[at + 2 + 2] = err >> 8; /* error, after the original ID */
		rep[at + 2 + 3] = err & 0xff;
		assert_int_equal(tsig_verify(&cctx, rep, rlen, VEC_TIME),
				 err == TSIG_RCODE_BADSIG ? TSIG_BADSIG : TSIG_BADKEY);
		assert_int_equal(cctx.peer_error, err);
	}
}

/* tsig_append_error: the unsigned error TSIG of a reply to a request
 * that did not verify carries the request's key and algorithm names and
 * original ID, our time, no MAC; the requester reads the peer's error. */
static void test_append_error(void **state)
{
	struct tsig_key k = test_key(CONFIG_TSIG_SHA256);
	struct tsig_ctx cctx;
	uint8_t req[1024], rep[1024];
	size_t qlen, rlen, base;
	int err;

	(void)state;
	for (err = TSIG_RCODE_BADSIG; err <= TSIG_RCODE_BADKEY; err++) {
		sign_request(&cctx, &k, req, &qlen, VEC_TIME);
		base = sizeof(vec_req_unsigned); /* header and question */
		memcpy(rep, req, base);
		rep[2] |= 0x80;
		rep[3] = 9; /* NOTAUTH */
		rep[10] = rep[11] = 0; /* the request's TSIG not copied */
		rlen = base;
		assert_int_equal(tsig_append_error(rep, &rlen, sizeof(rep), req, qlen,
						   VEC_TIME + 5, err), 0);
		assert_int_equal(rep[11], 1); /* ARCOUNT */
		assert_int_equal(mac_size_at(rep, rlen) + 2 + 6, rlen); /* no MAC */
		assert_int_equal(rep[mac_size_at(rep, rlen)], 0);
		assert_int_equal(tsig_verify(&cctx, rep, rlen, VEC_TIME),
				 err == TSIG_RCODE_BADSIG ? TSIG_BADSIG : TSIG_BADKEY);
		assert_int_equal(cctx.peer_error, err);
		/* no room, or a request without TSIG: nothing appended */
		rlen = base;
		assert_int_not_equal(tsig_append_error(rep, &rlen, base + 10, req,
						       qlen, VEC_TIME, err), 0);
		assert_int_not_equal(tsig_append_error(rep, &rlen, sizeof(rep),
						       vec_req_unsigned,
						       sizeof(vec_req_unsigned),
						       VEC_TIME, err), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_request_as_dnspython),
		cmocka_unit_test(test_verify_dnspython_request),
		cmocka_unit_test(test_dnspython_reply_sequence),
		cmocka_unit_test(test_sparse_reply_sequence),
		cmocka_unit_test(test_round_trip_each_algorithm),
		cmocka_unit_test(test_round_trip_multi_message),
		cmocka_unit_test(test_wrong_secret_is_badsig),
		cmocka_unit_test(test_wrong_key_name_or_alg_is_badkey),
		cmocka_unit_test(test_time_checked_after_mac),
		cmocka_unit_test(test_truncated_mac_rejected),
		cmocka_unit_test(test_unsigned_and_malformed),
		cmocka_unit_test(test_peer_errors),
		cmocka_unit_test(test_append_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
