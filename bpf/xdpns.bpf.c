// SPDX-License-Identifier: GPL-2.0
/*
 * xdpns XDP program: answer authoritative DNS queries from precompiled
 * responses in BPF maps; pass everything it cannot answer exactly.
 * The logic lives in lib/: parse.h (L2-L4), dns.h (question -> key),
 * answer.h (rewrite), rrl.h (rate limits), nx.h (NXDOMAIN for unsigned
 * zones), maps.h, stats.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpns_maps.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/dns.h"
#include "lib/answer.h"
#include "lib/rrl.h"
#include "lib/nx.h"

char LICENSE[] SEC("license") = "GPL";

_Static_assert(sizeof(struct nx_patch) <= XDPNS_QBUF_LEN, "nx_patch in qbuf");

/* Outcome of one frame: a pass reason, or one of these. */
#define OUT_TX (XDPNS_PASS_COUNT + 1)
#define OUT_DROP (XDPNS_PASS_COUNT + 2)
#define OUT_RRL_DROP (XDPNS_PASS_COUNT + 3) /* counted by xdpns_rrl_check() */

/* Where an answer came from. */
#define SRC_ENTRY 0
#define SRC_LRU 1 /* the LRU of slow-path answers */
#define SRC_NX 2 /* NXDOMAIN made from the zone's names */

/* The one exit: outcome -> counters -> verdict. c: this CPU's counters;
 * zslot: the zone an answer came from. */
static __always_inline int finish(struct xdp_md *ctx, struct xdpns_counters *c,
				  int outcome, int tc, __u32 rcode, int src,
				  __u32 zslot)
{
	int lim;

	if (outcome == OUT_TX) {
		stats_add(c, XDPNS_CNT_ANSWERED);
		if (src == SRC_LRU)
			stats_add(c, XDPNS_CNT_LRU_HIT);
		else if (src == SRC_NX)
			stats_add(c, XDPNS_CNT_NX_SYNTH);
		if (tc)
			stats_add(c, XDPNS_CNT_TRUNCATED);
		stats_add(c, XDPNS_CNT_RCODE_BASE + (rcode & 0xf));
		if (c && zslot < XDPNS_MAX_ZONES)
			c->zone[zslot].answered += 1;
		return XDP_TX;
	}
	if (outcome == OUT_DROP) {
		stats_add(c, XDPNS_CNT_DROPPED);
		return XDP_DROP;
	}
	if (outcome == OUT_RRL_DROP)
		return XDP_DROP;
	lim = lim_on(XDPNS_LIM_F_PASS_TOTAL | XDPNS_LIM_F_PASS_PREFIX) ?
		      xdpns_limit_pass(ctx) : 0;
	if (lim) {
		stats_add(c, lim);
		return XDP_DROP;
	}
	if (outcome < 0 || outcome >= XDPNS_PASS_COUNT)
		outcome = XDPNS_PASS_ERROR;
	stats_add(c, XDPNS_CNT_PASS_BASE + outcome);
	return XDP_PASS;
}

/* The XS blob class (tiny bodies, compact header). Defined beside its one
 * reader; the loader sizes it from the zones and makes it mmapable, as it
 * does the other blob arrays. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPNS_BLOB_XS_COUNT);
	__type(key, __u32);
	__type(value, struct xdpns_blob_xs);
} xdpns_blob_xs SEC(".maps");

static __always_inline int blob_get(__u32 ref, struct blob_view *b)
{
	__u32 idx = ref & XDPNS_REF_INDEX_MASK;

	switch (ref >> XDPNS_REF_CLASS_SHIFT) {
	case XDPNS_BLOB_XS: {
		/* its header is a blob header's first 16 bytes, no cuts: read
		 * in place (include/xdpns_maps.h) */
		struct xdpns_blob_xs *x = bpf_map_lookup_elem(&xdpns_blob_xs, &idx);

		if (!x)
			return -1;
		b->h = (const struct xdpns_blob_hdr *)x;
		b->data = x->data;
		b->cap = XDPNS_BLOB_XS_CAP;
		return 0;
	}
	case XDPNS_BLOB_S: {
		struct xdpns_blob_s *s = bpf_map_lookup_elem(&xdpns_blob_s, &idx);

		if (!s)
			return -1;
		b->h = &s->h;
		b->data = s->data;
		b->cap = XDPNS_BLOB_S_CAP;
		return 0;
	}
	case XDPNS_BLOB_M: {
		struct xdpns_blob_m *m = bpf_map_lookup_elem(&xdpns_blob_m, &idx);

		if (!m)
			return -1;
		b->h = &m->h;
		b->data = m->data;
		b->cap = XDPNS_BLOB_M_CAP;
		return 0;
	}
	case XDPNS_BLOB_L: {
		struct xdpns_blob_l *l = bpf_map_lookup_elem(&xdpns_blob_l, &idx);

		if (!l)
			return -1;
		b->h = &l->h;
		b->data = l->data;
		b->cap = XDPNS_BLOB_L_CAP;
		return 0;
	}
	}
	return -1;
}

/*
 * The question from a bounded copy, for what dns_parse_pkt() leaves
 * (DNS_PARSE_SLOW: long names, many labels). A global function: the
 * verifier checks it once, not once per state that reaches it (its word
 * loop forks on the name length, and that times every path into it
 * exceeded the verifier's limit once RRL, NX and the in-place parser
 * were in one program). Only unusual names pay for the call. Returns a
 * DNS_PARSE_* code, or -1 when the bytes cannot be copied.
 */
__noinline int xdpns_parse_slow(struct xdp_md *ctx, __u32 off, __u64 n,
				struct xdpns_scratch *sc, struct dns_question *dq)
{
	if (!ctx || !sc || !dq)
		return -1;
	if (off > 512)
		return -1;
	/* 64-bit, two tests the verifier sees as such on the register it
	 * passes (clang would fold them into one range test on n - 1) */
	if (n > XDPNS_QBUF_LEN)
		return -1;
	asm volatile("" : "+r"(n));
	if (n < 1)
		return -1;
	if (bpf_xdp_load_bytes(ctx, off, sc->qbuf, n))
		return -1;
	return dns_parse_question(sc->qbuf, n, &sc->key, dq);
}

static __always_inline int handle(struct xdp_md *ctx, int *tc, __u32 *rcode,
				  int *src, __u32 *zslot)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpns_scratch *sc;
	struct xdpns_zone *zone;
	struct nx_patch *pt;
	struct dns_question dq = {};
	struct blob_view b = {};
	struct query q = {};
	struct pkt p = {};
	__u8 opt[XDPNS_OPT_LEN + 1] = {}; /* zeros: type 0, not an OPT */
	__u16 *hdr;
	__u32 zero = 0, n, zidx, ref, total, nx_n = 0, nx_sum = 0;
	int r;

	r = parse_l2_l4(ctx, &p);
	if (r != XDPNS_PASS_COUNT)
		return r;
	if (p.dns_off > 128)
		return XDPNS_PASS_MALFORMED;
	hdr = data + p.dns_off;
	if ((void *)(hdr + 6) > data_end || p.dns_len < DNS_HDR_LEN)
		return XDPNS_PASS_MALFORMED;
	q.qflags = bpf_ntohs(hdr[1]);
	if (q.qflags & (DNS_F_QR | DNS_F_OPCODE | DNS_F_TC))
		return XDPNS_PASS_NOT_QUERY;
	if (hdr[2] != bpf_htons(1) || hdr[3] || hdr[4] ||
	    bpf_ntohs(hdr[5]) > 1)
		return XDPNS_PASS_NOT_QUERY;
	q.edns = hdr[5] ? 1 : 0;

	sc = bpf_map_lookup_elem(&xdpns_scratch, &zero);
	if (!sc)
		return XDPNS_PASS_ERROR;

	n = p.dns_len - DNS_HDR_LEN;
	if (n > XDPNS_QBUF_LEN)
		return q.edns ? XDPNS_PASS_EDNS : XDPNS_PASS_QNAME;
	if (n < 5)
		return XDPNS_PASS_MALFORMED;
	/* the common question in place; anything else from a bounded copy */
	r = dns_parse_pkt(data, data_end, p.dns_off + DNS_HDR_LEN, n, &sc->key,
			  &dq);
	if (r == DNS_PARSE_SLOW) {
		r = xdpns_parse_slow(ctx, p.dns_off + DNS_HDR_LEN, n, sc, &dq);
		if (r < 0)
			return XDPNS_PASS_MALFORMED;
		if (r == DNS_PARSE_OK && q.edns) {
			__u32 o = DNS_MASK_1FF(dq.qlen);

			if (o + XDPNS_OPT_LEN <= XDPNS_QBUF_LEN)
				__builtin_memcpy(opt, sc->qbuf + o, XDPNS_OPT_LEN);
		}
	} else if (r == DNS_PARSE_OK && q.edns) {
		/* the OPT's 11 bytes, if the frame has them */
		const __u8 *o = data + (DNS_MASK_1FF(p.dns_off + DNS_HDR_LEN +
						     dq.qlen) & 0x1ff);

		asm volatile("" : "+r"(o));
		if ((void *)(o + XDPNS_OPT_LEN) <= data_end)
			__builtin_memcpy(opt, o, XDPNS_OPT_LEN);
	}
	if (r == DNS_PARSE_TRUNC)
		return XDPNS_PASS_MALFORMED;
	if (r != DNS_PARSE_OK)
		return XDPNS_PASS_QNAME;
	if (dq.qclass != DNS_CLASS_IN)
		return XDPNS_PASS_QCLASS;
	/* read back from the key: the two parsers' lengths would otherwise be
	 * verified as different states down the rest of the program */
	q.qlen = (__u32)*(volatile __u8 *)&sc->key.name_len + 4;
	q.qsum = dq.csum;

	if (q.edns) {
		__u32 o = q.qlen;
		__u16 csize;

		/* exactly one OPT, no options, version 0, nothing after */
		if (n != o + XDPNS_OPT_LEN)
			return XDPNS_PASS_EDNS;
		if (opt[0] != 0 || opt[1] != 0 || opt[2] != DNS_TYPE_OPT)
			return XDPNS_PASS_EDNS;
		if (opt[6] != 0) /* version */
			return XDPNS_PASS_EDNS;
		if (opt[9] || opt[10]) /* options */
			return XDPNS_PASS_EDNS;
		if (opt[5] != 0) /* extended rcode in a query */
			return XDPNS_PASS_EDNS;
		csize = ((__u16)opt[3] << 8) | opt[4];
		if (csize < XDPNS_UDP_NOEDNS)
			csize = XDPNS_UDP_NOEDNS;
		if (csize > XDPNS_EDNS_SIZE)
			csize = XDPNS_EDNS_SIZE;
		q.eff_size = csize;
		q.dnssec_ok = (opt[7] & 0x80) ? 1 : 0;
	} else {
		if (n != q.qlen)
			return XDPNS_PASS_MALFORMED;
		q.eff_size = XDPNS_UDP_NOEDNS;
	}

	/* the NXDOMAIN pointers to patch go to the scratch's qbuf, dead by
	 * now (the question is parsed, its OPT copied): as a local struct its
	 * fields were values the compiler zeroed and spilled to the stack on
	 * every answer's path; only their count and sum are locals */
	pt = (struct nx_patch *)(void *)sc->qbuf;
	r = entry_ref(sc, q.dnssec_ok, &zidx, &ref);
	if (r == XDPNS_PASS_COUNT) {
		if (blob_get(ref, &b))
			return XDPNS_PASS_MISS;
	} else if (r != ENT_NONE) {
		return r;
	} else {
		/* an answer the slow path computed earlier? */
		struct xdpns_lru_value *lv;

		sc->key.variant = 1 + (q.dnssec_ok ? XDPNS_VAR_DO : XDPNS_VAR_NODO);
		lv = lru_lookup(&sc->key);
		if (lv) {
			zidx = lv->zone;
			zone = bpf_map_lookup_elem(&xdpns_zones, &zidx);
			if (!zone || zone->gen == 0 || lv->gen != zone->gen)
				lv = NULL; /* of a retired generation */
		}
		if (lv) {
			if (zone->flags & XDPNS_ZONE_F_EXPIRED)
				return XDPNS_PASS_ZONE_STATE;
			b.h = &lv->blob.h;
			b.data = lv->blob.data;
			b.cap = XDPNS_BLOB_M_CAP;
			*src = SRC_LRU;
		} else {
			/* a name that does not exist in an unsigned zone? */
			r = nx_lookup(&sc->key, &q, &b, pt);
			if (r != XDPNS_PASS_COUNT)
				return r;
			zidx = pt->zone;
			nx_n = pt->n;
			nx_sum = pt->sum;
			*src = SRC_NX;
		}
	}

	b.len = b.h->len;
	b.csum = b.h->csum + nx_sum;
	b.ar = bpf_ntohs(b.h->arcount);
	total = DNS_HDR_LEN + q.qlen + (q.edns ? XDPNS_OPT_LEN : 0);
	*tc = total + b.len > q.eff_size;
	if (*tc) {
		/* drop trailing additional RRsets if that is enough */
		__u32 k;

		for (k = 0; k < XDPNS_CUTS; k++) {
			if (k >= b.h->n_cuts)
				break;
			if (total + b.h->cut_len[k] <= q.eff_size) {
				b.len = b.h->cut_len[k];
				b.csum = b.h->cut_csum[k];
				b.ar = b.h->cut_ar[k];
				*tc = 0;
				break;
			}
		}
		if (*tc && (b.h->bflags & XDPNS_BLOB_F_MORE_CUTS))
			return XDPNS_PASS_TOO_BIG;
	}
	*rcode = bpf_ntohs(b.h->flags) & DNS_F_RCODE;
	r = lim_on(XDPNS_LIM_F_RRL) ?
		    xdpns_rrl_check(ctx, p.l3_off, p.ipv6, *rcode, b.h->bflags) :
		    XDPNS_RRL_PASS;
	if (r == XDPNS_RRL_DROP)
		return OUT_RRL_DROP;
	if (r == XDPNS_RRL_SLIP)
		*tc = 1;
	r = answer_write(ctx, &p, &q, &b, *tc, (struct xdpns_reply *)sc->move);
	if (r == XDPNS_PASS_COUNT && !*tc && nx_n && nx_patch_frame(ctx, &p, &q, pt))
		return OUT_DROP;
	if (r == XDPNS_PASS_COUNT) {
		*zslot = zidx;
		return OUT_TX;
	}
	if (r == XDPNS_PASS_TOO_BIG)
		return r; /* frame untouched */
	return OUT_DROP; /* frame half rewritten: cannot pass it up */
}

SEC("xdp")
int xdpns_xdp(struct xdp_md *ctx)
{
	struct xdpns_counters *c = stats_get();
	__u32 rcode = 0, zslot = XDPNS_MAX_ZONES;
	int tc = 0, src = SRC_ENTRY;
	int outcome;

	stats_add(c, XDPNS_CNT_RX);
	outcome = handle(ctx, &tc, &rcode, &src, &zslot);
	return finish(ctx, c, outcome, tc, rcode, src, zslot);
}
