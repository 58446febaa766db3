/* TSIG (RFC 8945) with HMAC-SHA1/256/384/512 from OpenSSL: sign a
 * request or a reply, verify a reply or each message of a multi-message
 * reply in order (the MAC first, the time only after it). */
#ifndef XDPNS_TSIG_H
#define XDPNS_TSIG_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define TSIG_MAX_MAC 64
#define TSIG_FUDGE 300
#define TSIG_MAX_RR 512 /* room to reserve for the TSIG record */
/* unsigned messages in a row a multi-message reply may have (5.3.1) */
#define TSIG_MAX_UNSIGNED 99

/* RFC 8945 error codes (TSIG RR "error" field, and the extended RCODE). */
#define TSIG_RCODE_BADSIG 16
#define TSIG_RCODE_BADKEY 17
#define TSIG_RCODE_BADTIME 18

struct tsig_key {
	uint8_t name[256]; /* canonical wire */
	size_t name_len;
	uint8_t alg[32]; /* canonical wire of the algorithm name */
	size_t alg_len;
	enum config_tsig_alg type;
	const uint8_t *secret; /* points into the config; never logged */
	size_t secret_len;
	char text[256]; /* the key name, for logs */
};

/* Result of a verification. */
enum tsig_status {
	TSIG_OK = 0,
	TSIG_UNSIGNED, /* no TSIG record where one was required */
	TSIG_FORMERR, /* malformed message or TSIG record */
	TSIG_BADKEY, /* unknown key or algorithm (or the peer said BADKEY) */
	TSIG_BADSIG, /* MAC mismatch (or the peer said BADSIG) */
	TSIG_BADTIME, /* MAC good, time outside the fudge (or peer said so) */
};

/* State across the messages of one exchange: the MAC of the previous
 * message (the request's, then each verified reply's). */
struct tsig_ctx {
	const struct tsig_key *key;
	uint8_t mac[TSIG_MAX_MAC];
	size_t mac_len;
	int n_verified; /* replies verified so far */
	int n_unsigned; /* unsigned replies since the last signed one */
	struct evp_mac_ctx_st *pending; /* their running MAC (EVP_MAC_CTX) */
	uint16_t peer_error; /* error field of the last TSIG seen */
};

/* Frees what a multi-message exchange left pending (after any exchange
 * whose replies went through tsig_verify). */
void tsig_ctx_release(struct tsig_ctx *ctx);

int tsig_key_init(struct tsig_key *k, const struct config_key *ck);

/* Append a TSIG record to msg[0..*len) (cap bytes of room), bump
 * ARCOUNT. A request when ctx->mac_len == 0 (starts the exchange);
 * otherwise a reply to the request whose MAC ctx holds. The new MAC is
 * kept in ctx. error: TSIG error field (0, or BADTIME with other data). */
int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
	      uint64_t now, uint16_t error);
/* The same for a later message of a multi-message reply, after a first
 * one signed with tsig_sign: its MAC covers the previous MAC, the message
 * and the timers only (RFC 8945 5.3.1). */
int tsig_sign_next(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
		   uint64_t now);

/* Verify the next reply of an exchange (first: full variables; later:
 * timers only). The TSIG must be the last additional record. A later
 * reply without one is TSIG_OK with n_unsigned raised (at most
 * TSIG_MAX_UNSIGNED in a row): the next signed reply covers it, and the
 * caller must not accept an exchange that ends with n_unsigned != 0. */
enum tsig_status tsig_verify(struct tsig_ctx *ctx, const uint8_t *msg,
			     size_t len, uint64_t now);

/* Server side: the TSIG of a request (NOTIFY), looked up among keys by
 * name and algorithm; on TSIG_OK *which is the index and ctx is ready
 * for tsig_sign() of the reply. TSIG_UNSIGNED when the message has none. */
enum tsig_status tsig_verify_request(struct tsig_ctx *ctx,
				     const struct tsig_key *keys, int n_keys,
				     const uint8_t *msg, size_t len,
				     uint64_t now, int *which);

/* Server side, a request that did not verify (BADKEY, BADSIG): append
 * the unsigned TSIG record of the error reply (RFC 8945 5.2.1, 5.2.2):
 * the request's key and algorithm names, our time, no MAC, the error. */
int tsig_append_error(uint8_t *msg, size_t *len, size_t cap,
		      const uint8_t *req, size_t req_len, uint64_t now,
		      uint16_t error);

/* Offset of the TSIG record in msg (the last additional record), or 0
 * when there is none; -1 when the message cannot be walked. */
long tsig_find(const uint8_t *msg, size_t len);

const char *tsig_status_name(enum tsig_status st);

#endif
