// SPDX-License-Identifier: GPL-2.0
/*
 * TSIG (RFC 8945). The MAC covers, in order: the previous MAC of the
 * exchange (length-prefixed; none for a request), the message as it was
 * before the TSIG was added (original ID, ARCOUNT without the TSIG), and
 * the TSIG variables -- all of them for a request and the first reply,
 * only the time and fudge for the later messages of a multi-message
 * reply (5.3.1). Verification checks the key, then the MAC (constant
 * time), and only then the time (5.2.3). A multi-message reply may leave
 * up to 99 messages in a row unsigned (5.3.1, what NSD does): they are
 * fed, whole, into the MAC that the next signed message must match, and
 * the last message must be signed (the caller checks n_unsigned).
 */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <ldns/ldns.h>
#include "tsig.h"
#include "wire.h"

#define DNS_HDR 12
#define TYPE_TSIG 250
#define CLASS_ANY 255

static const EVP_MD *tsig_md(enum config_tsig_alg a)
{
	switch (a) {
	case CONFIG_TSIG_SHA1: return EVP_sha1();
	case CONFIG_TSIG_SHA256: return EVP_sha256();
	case CONFIG_TSIG_SHA384: return EVP_sha384();
	case CONFIG_TSIG_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static int str_to_wire(const char *s, uint8_t *out, size_t *len)
{
	ldns_rdf *d = ldns_dname_new_frm_str(s);

	if (!d)
		return -EINVAL;
	*len = ldns_rdf_size(d);
	name_lower(out, ldns_rdf_data(d), *len);
	ldns_rdf_deep_free(d);
	return 0;
}

int tsig_key_init(struct tsig_key *k, const struct config_key *ck)
{
	memset(k, 0, sizeof(*k));
	if (!tsig_md(ck->alg) || str_to_wire(ck->name, k->name, &k->name_len) ||
	    str_to_wire(config_tsig_alg_name(ck->alg), k->alg, &k->alg_len))
		return -EINVAL;
	k->type = ck->alg;
	k->secret = ck->secret;
	k->secret_len = ck->secret_len;
	snprintf(k->text, sizeof(k->text), "%s", ck->name);
	return 0;
}

const char *tsig_status_name(enum tsig_status st)
{
	static const char *const names[] = {
		"ok", "unsigned", "malformed TSIG", "BADKEY", "BADSIG", "BADTIME",
	};

	return st <= TSIG_BADTIME ? names[st] : "?";
}

/* ---- walking a message ---- */

static long skip_name(const uint8_t *m, size_t len, size_t off)
{
	int n;

	for (n = 0; n < 128 && off < len; n++) {
		uint8_t c = m[off];

		if (c == 0)
			return off + 1;
		if ((c & 0xc0) == 0xc0)
			return off + 2 <= len ? (long)off + 2 : -1;
		if (c & 0xc0)
			return -1;
		off += 1 + c;
	}
	return -1;
}

/* Expand the (possibly compressed) name at off into canonical wire. */
static int read_name(const uint8_t *m, size_t len, size_t off, uint8_t *out,
		     size_t *olen)
{
	size_t o = 0;
	int hops = 0;

	while (off < len) {
		uint8_t c = m[off];

		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++hops > 32)
				return -1;
			off = (size_t)(c & 0x3f) << 8 | m[off + 1];
			continue;
		}
		if (c & 0xc0 || o + 1 + c > 255 || off + 1 + c > len)
			return -1;
		out[o] = c;
		name_lower(out + o + 1, m + off + 1, c);
		o += 1 + c;
		if (!c) {
			*olen = o;
			return 0;
		}
		off += 1 + c;
	}
	return -1;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

long tsig_find(const uint8_t *m, size_t len)
{
	unsigned qd, rrs, i;
	long off = DNS_HDR, last = 0;

	if (len < DNS_HDR)
		return -1;
	qd = get16(m + 4);
	rrs = get16(m + 6) + get16(m + 8) + get16(m + 10);
	for (i = 0; i < qd; i++) {
		off = skip_name(m, len, off);
		if (off < 0 || (size_t)off + 4 > len)
			return -1;
		off += 4;
	}
	for (i = 0; i < rrs; i++) {
		last = off;
		off = skip_name(m, len, off);
		if (off < 0 || (size_t)off + 10 > len)
			return -1;
		off += 10 + get16(m + off + 8);
		if ((size_t)off > len)
			return -1;
	}
	if (!get16(m + 10) || (size_t)off != len)
		return get16(m + 10) ? -1 : 0;
	off = skip_name(m, len, last);
	return get16(m + off) == TYPE_TSIG ? last : 0;
}

struct tsig_rr {
	uint8_t name[256], alg[256];
	size_t name_len, alg_len;
	uint64_t time;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	const uint8_t *mac, *other;
};

static int tsig_parse(const uint8_t *m, size_t len, size_t off,
		      struct tsig_rr *t)
{
	long p = skip_name(m, len, off);
	size_t rd, end;

	if (p < 0 || read_name(m, len, off, t->name, &t->name_len) ||
	    (size_t)p + 10 > len || get16(m + p) != TYPE_TSIG ||
	    get16(m + p + 2) != CLASS_ANY)
		return -1;
	rd = p + 10;
	end = rd + get16(m + p + 8);
	if (end != len)
		return -1;
	p = skip_name(m, end, rd);
	if (p < 0 || read_name(m, end, rd, t->alg, &t->alg_len) ||
	    (size_t)p + 10 > end)
		return -1;
	t->time = (uint64_t)get16(m + p) << 32 | (uint64_t)get16(m + p + 2) << 16 |
		  get16(m + p + 4);
	t->fudge = get16(m + p + 6);
	t->mac_len = get16(m + p + 8);
	p += 10;
	if ((size_t)p + t->mac_len + 6 > end)
		return -1;
	t->mac = m + p;
	p += t->mac_len;
	t->orig_id = get16(m + p);
	t->error = get16(m + p + 2);
	t->other_len = get16(m + p + 4);
	p += 6;
	if ((size_t)p + t->other_len != end)
		return -1;
	t->other = m + p;
	return 0;
}

/* ---- the MAC ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { v >> 8, v & 0xff };

	put(b, x, 2);
}

static void put48(struct buf *b, uint64_t v)
{
	uint8_t x[6] = { v >> 40, v >> 32, v >> 24, v >> 16, v >> 8, v };

	put(b, x, 6);
}

/* An HMAC with k's algorithm and secret, fed the previous MAC of the
 * exchange (length-prefixed) when there is one; NULL on failure. */
static EVP_MAC_CTX *mac_begin(const struct tsig_key *k, const uint8_t *prior,
			      size_t prior_len)
{
	EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = alg ? EVP_MAC_CTX_new(alg) : NULL;
	const EVP_MD *md = tsig_md(k->type);
	OSSL_PARAM params[2];
	uint8_t l[2] = { prior_len >> 8, prior_len & 0xff };

	EVP_MAC_free(alg); /* c holds its own reference */
	if (!c || !md)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(c, k->secret, k->secret_len, params))
		goto fail;
	if (prior_len && (!EVP_MAC_update(c, l, 2) ||
			  !EVP_MAC_update(c, prior, prior_len)))
		goto fail;
	return c;
fail:
	EVP_MAC_CTX_free(c);
	return NULL;
}

/* MAC over prior (or, when pending is given, the HMAC that already holds
 * prior and the unsigned messages since) + msg(with id, arcount fixed) +
 * variables. Consumes pending. */
static int tsig_mac(const struct tsig_key *k, const uint8_t *prior,
		    size_t prior_len, EVP_MAC_CTX *pending, const uint8_t *msg,
		    size_t msg_len, uint16_t id, uint16_t arcount,
		    int timers_only, uint64_t time, uint16_t fudge,
		    uint16_t error, const uint8_t *other, uint16_t other_len,
		    uint8_t *mac, unsigned *mac_len)
{
	static __thread uint8_t data[65536 + 1024];
	struct buf b = { data, 0, sizeof(data), 0 };
	EVP_MAC_CTX *c = pending;
	uint8_t hdr[DNS_HDR];
	size_t out = 0;
	int r = -EINVAL;

	if (msg_len < DNS_HDR)
		goto out;
	memcpy(hdr, msg, DNS_HDR);
	hdr[0] = id >> 8;
	hdr[1] = id & 0xff;
	hdr[10] = arcount >> 8;
	hdr[11] = arcount & 0xff;
	put(&b, hdr, DNS_HDR);
	put(&b, msg + DNS_HDR, msg_len - DNS_HDR);
	if (!timers_only) {
		put(&b, k->name, k->name_len);
		put16(&b, CLASS_ANY);
		put16(&b, 0);
		put16(&b, 0); /* TTL 0 */
		put(&b, k->alg, k->alg_len);
	}
	put48(&b, time);
	put16(&b, fudge);
	if (!timers_only) {
		put16(&b, error);
		put16(&b, other_len);
		put(&b, other, other_len);
	}
	if (b.overflow) {
		r = -EMSGSIZE;
		goto out;
	}
	if (!c)
		c = mac_begin(k, prior, prior_len);
	if (!c || !EVP_MAC_update(c, data, b.len) ||
	    !EVP_MAC_final(c, mac, &out, EVP_MAX_MD_SIZE))
		goto out;
	*mac_len = (unsigned)out;
	r = 0;
out:
	EVP_MAC_CTX_free(c ? c : pending);
	return r;
}

/* tsig_sign, and with timers_only a later message of a multi-message
 * reply (its MAC covers the previous MAC, the message and the timers). */
static int sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
		uint64_t now, uint16_t error, int timers_only)
{
	const struct tsig_key *k = ctx->key;
	uint8_t mac[EVP_MAX_MD_SIZE], other[6];
	uint16_t other_len = 0, id, ar;
	unsigned mac_len = 0;
	struct buf b;
	size_t rdlen_at;
	int r;

	if (*len < DNS_HDR)
		return -EINVAL;
	id = get16(msg);
	ar = get16(msg + 10);
	if (error == TSIG_RCODE_BADTIME) {
		other_len = 6;
		for (r = 0; r < 6; r++)
			other[r] = now >> (40 - 8 * r);
	}
	r = tsig_mac(k, ctx->mac, ctx->mac_len, NULL, msg, *len, id, ar,
		     timers_only, now, TSIG_FUDGE, error, other, other_len, mac,
		     &mac_len);
	if (r)
		return r;
	b = (struct buf){ msg, *len, cap, 0 };
	put(&b, k->name, k->name_len);
	put16(&b, TYPE_TSIG);
	put16(&b, CLASS_ANY);
	put16(&b, 0);
	put16(&b, 0);
	rdlen_at = b.len;
	put16(&b, 0);
	put(&b, k->alg, k->alg_len);
	put48(&b, now);
	put16(&b, TSIG_FUDGE);
	put16(&b, mac_len);
	put(&b, mac, mac_len);
	put16(&b, id);
	put16(&b, error);
	put16(&b, other_len);
	put(&b, other, other_len);
	if (b.overflow)
		return -EMSGSIZE;
	msg[rdlen_at] = (b.len - rdlen_at - 2) >> 8;
	msg[rdlen_at + 1] = (b.len - rdlen_at - 2) & 0xff;
	ar++;
	msg[10] = ar >> 8;
	msg[11] = ar & 0xff;
	*len = b.len;
	memcpy(ctx->mac, mac, mac_len);
	ctx->mac_len = mac_len;
	return 0;
}

int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
	      uint64_t now, uint16_t error)
{
	return sign(ctx, msg, len, cap, now, error, 0);
}

int tsig_sign_next(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap,
		   uint64_t now)
{
	return sign(ctx, msg, len, cap, now, 0, 1);
}

static enum tsig_status verify_with(struct tsig_ctx *ctx, const uint8_t *msg,
				    size_t len, size_t off,
				    const struct tsig_rr *t, uint64_t now,
				    int timers_only)
{
	const struct tsig_key *k = ctx->key;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	uint64_t lo, hi;
	int r;

	(void)len;
	ctx->peer_error = t->error;
	if (t->name_len != k->name_len || memcmp(t->name, k->name, k->name_len) ||
	    t->alg_len != k->alg_len || memcmp(t->alg, k->alg, k->alg_len))
		return TSIG_BADKEY;
	/* the peer could not verify our request: its reply is unsigned */
	if (t->error == TSIG_RCODE_BADKEY)
		return TSIG_BADKEY;
	if (t->error == TSIG_RCODE_BADSIG)
		return TSIG_BADSIG;
	r = tsig_mac(k, ctx->mac, ctx->mac_len, ctx->pending, msg, off,
		     t->orig_id, get16(msg + 10) - 1, timers_only, t->time,
		     t->fudge, t->error, t->other, t->other_len, mac, &mac_len);
	ctx->pending = NULL;
	ctx->n_unsigned = 0;
	if (r)
		return TSIG_FORMERR;
	/* only full-length MACs are accepted (no truncation, 5.2.2.1) */
	if (t->mac_len != mac_len || CRYPTO_memcmp(mac, t->mac, mac_len))
		return TSIG_BADSIG;
	memcpy(ctx->mac, mac, mac_len);
	ctx->mac_len = mac_len;
	if (t->error == TSIG_RCODE_BADTIME)
		return TSIG_BADTIME;
	/* the time, only now that the MAC is known to be good */
	lo = t->time > t->fudge ? t->time - t->fudge : 0;
	hi = t->time + t->fudge;
	if (now < lo || now > hi)
		return TSIG_BADTIME;
	return TSIG_OK;
}

/* A reply message without a TSIG: the first must be signed; after it,
 * up to TSIG_MAX_UNSIGNED in a row go into the MAC of the next one. */
static enum tsig_status unsigned_message(struct tsig_ctx *ctx,
					 const uint8_t *msg, size_t len)
{
	if (ctx->n_verified == 0 || ctx->n_unsigned >= TSIG_MAX_UNSIGNED)
		return TSIG_UNSIGNED;
	if (!ctx->pending)
		ctx->pending = mac_begin(ctx->key, ctx->mac, ctx->mac_len);
	if (!ctx->pending || !EVP_MAC_update(ctx->pending, msg, len))
		return TSIG_FORMERR;
	ctx->n_unsigned++;
	return TSIG_OK;
}

void tsig_ctx_release(struct tsig_ctx *ctx)
{
	EVP_MAC_CTX_free(ctx->pending);
	ctx->pending = NULL;
	ctx->n_unsigned = 0;
}

enum tsig_status tsig_verify(struct tsig_ctx *ctx, const uint8_t *msg,
			     size_t len, uint64_t now)
{
	struct tsig_rr t;
	enum tsig_status st;
	long off = tsig_find(msg, len);

	if (off < 0)
		return TSIG_FORMERR;
	if (off == 0)
		return unsigned_message(ctx, msg, len);
	if (tsig_parse(msg, len, off, &t))
		return TSIG_FORMERR;
	st = verify_with(ctx, msg, len, off, &t, now, ctx->n_verified > 0);
	if (st == TSIG_OK)
		ctx->n_verified++;
	return st;
}

int tsig_append_error(uint8_t *msg, size_t *len, size_t cap,
		      const uint8_t *req, size_t req_len, uint64_t now,
		      uint16_t error)
{
	struct tsig_rr t;
	struct buf b;
	size_t rdlen_at;
	long off = tsig_find(req, req_len);
	uint16_t ar;

	if (off <= 0 || tsig_parse(req, req_len, off, &t) || *len < DNS_HDR)
		return -EINVAL;
	b = (struct buf){ msg, *len, cap, 0 };
	put(&b, t.name, t.name_len);
	put16(&b, TYPE_TSIG);
	put16(&b, CLASS_ANY);
	put16(&b, 0);
	put16(&b, 0);
	rdlen_at = b.len;
	put16(&b, 0);
	put(&b, t.alg, t.alg_len);
	put48(&b, now);
	put16(&b, TSIG_FUDGE);
	put16(&b, 0); /* no MAC */
	put16(&b, t.orig_id);
	put16(&b, error);
	put16(&b, 0);
	if (b.overflow)
		return -EMSGSIZE;
	msg[rdlen_at] = (b.len - rdlen_at - 2) >> 8;
	msg[rdlen_at + 1] = (b.len - rdlen_at - 2) & 0xff;
	ar = get16(msg + 10) + 1;
	msg[10] = ar >> 8;
	msg[11] = ar & 0xff;
	*len = b.len;
	return 0;
}

enum tsig_status tsig_verify_request(struct tsig_ctx *ctx,
				     const struct tsig_key *keys, int n_keys,
				     const uint8_t *msg, size_t len,
				     uint64_t now, int *which)
{
	struct tsig_rr t;
	long off = tsig_find(msg, len);
	int i;

	*which = -1;
	if (off < 0)
		return TSIG_FORMERR;
	if (off == 0)
		return TSIG_UNSIGNED;
	if (tsig_parse(msg, len, off, &t))
		return TSIG_FORMERR;
	for (i = 0; i < n_keys; i++) {
		if (t.name_len != keys[i].name_len ||
		    memcmp(t.name, keys[i].name, t.name_len) ||
		    t.alg_len != keys[i].alg_len ||
		    memcmp(t.alg, keys[i].alg, t.alg_len))
			continue;
		*which = i;
		memset(ctx, 0, sizeof(*ctx));
		ctx->key = &keys[i];
		return verify_with(ctx, msg, len, off, &t, now, 0);
	}
	return TSIG_BADKEY;
}
