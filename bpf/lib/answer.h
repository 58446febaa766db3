/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turn the query frame into the answer in place: swap addresses, resize,
 * write the DNS header, splice the precompiled body behind the client's own
 * question, append the OPT, fix the checksums.
 */
#ifndef XDPNS_LIB_ANSWER_H
#define XDPNS_LIB_ANSWER_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpns_maps.h"
#include "dns.h"
#include "parse.h"

/* What the parser learnt about the query that shapes the reply. */
struct query {
	__u16 id_flags_unused;
	__u16 qflags; /* query flags, host order */
	__u16 qlen; /* question length */
	__u16 eff_size; /* the client's UDP limit for our reply */
	__u8 edns;
	__u8 dnssec_ok;
	__u32 qsum; /* partial sum of the question bytes */
};

/* One blob, whichever class it came from. */
struct blob_view {
	const struct xdpns_blob_hdr *h;
	const __u8 *data;
	__u32 cap;
	__u32 len; /* the body length chosen for this client */
	__u32 csum; /* its partial sum */
	__u16 ar; /* its additional count, host order */
};

/* A 4- and a 2-byte word each way (memcpy of the byte arrays would be
 * twelve byte loads and stores and a copy through the stack). */
static __always_inline void swap_mac(struct ethhdr *eth)
{
	__u32 *w = (__u32 *)(void *)eth;
	__u16 *h = (__u16 *)(void *)eth;
	__u32 d0 = w[0], s0;
	__u16 d1 = h[2], s1 = h[5];

	s0 = *(__u32 *)(void *)(h + 3);
	w[0] = s0;
	h[2] = s1;
	*(__u32 *)(void *)(h + 3) = d0;
	h[5] = d1;
}

/* The 32-bit words of a header as read (little-endian), added: folded and
 * byte-swapped (dns_le_sum_fold) it is the partial sum of its 16-bit
 * big-endian words; folded and complemented, its checksum as stored. */
static __always_inline __u64 le_sum32(const void *p, __u32 words)
{
	const __u32 *w = p;
	__u64 s = 0;
	__u32 i;

	for (i = 0; i < words; i++)
		s += w[i];
	return s;
}

/* A bound the verifier keeps (clang may drop a plain mask it proves
 * redundant): v & 0x1ff. */
static __always_inline __u32 ans_mask_1ff(__u32 v)
{
#ifdef __bpf__
	asm volatile("%0 &= 511" : "+r"(v));
	return v;
#else
	return v & 0x1ff;
#endif
}

/* The 32 bytes at data + off (off < 1024) if the frame holds them. The
 * barrier keeps the pointer that is checked the one that is used: clang
 * would otherwise fold the offset into the access, which the verifier
 * refuses. */
static __always_inline __u64 *pkt_u64x4(void *data, void *data_end, __u32 off)
{
	__u64 *p;

#ifdef __bpf__
	asm volatile("%0 &= 1023" : "+r"(off));
#endif
	p = data + off;
#ifdef __bpf__
	asm volatile("" : "+r"(p));
#endif
	if ((void *)(p + 4) > data_end)
		return 0;
	return p;
}

static __always_inline __u32 ans_mask_7ff(__u32 v)
{
#ifdef __bpf__
	asm volatile("%0 &= 2047" : "+r"(v));
	return v;
#else
	return v & 0x7ff;
#endif
}

static __always_inline __u64 ans_mask64_7ff(__u64 v)
{
#ifdef __bpf__
	asm volatile("%0 &= 2047" : "+r"(v));
	return v;
#else
	return v & 0x7ff;
#endif
}

/*
 * After the frame grew by d bytes at the head: move its first keep bytes
 * (headers and question, 32 <= keep <= XDPNS_MOVE_LEN) from offset d to
 * the new start, 32 bytes at a time through registers. The destination
 * lies before the source, so a forward copy never reads a byte it wrote;
 * the last 32 bytes (ending at keep) are read before anything is written,
 * so they may overlap the others.
 */
static __always_inline int xdpns_move_front(struct xdp_md *ctx, __u32 d,
						__u32 keep)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *src, *dst, *dst_last, l0, l1, l2, l3;
	__u32 i, chunks;

	d = ans_mask_1ff(d);
	keep = ans_mask_1ff(keep);
	if (keep < 32)
		return -1;
	src = pkt_u64x4(data, data_end, d + keep - 32);
	dst_last = pkt_u64x4(data, data_end, keep - 32);
	if (!src || !dst_last)
		return -1;
	l0 = src[0];
	l1 = src[1];
	l2 = src[2];
	l3 = src[3];
	/* a count of its own: the loop's tests narrow it, not keep (whose
	 * narrowed copies would each be verified down the rest of the path) */
	chunks = keep >> 5;
	for (i = 0; i < XDPNS_MOVE_LEN / 32; i++) {
		if (i >= chunks)
			break;
		src = pkt_u64x4(data, data_end, d + i * 32);
		dst = pkt_u64x4(data, data_end, i * 32);
		if (!src || !dst)
			return -1;
		dst[0] = src[0];
		dst[1] = src[1];
		dst[2] = src[2];
		dst[3] = src[3];
	}
	dst_last[0] = l0;
	dst_last[1] = l1;
	dst_last[2] = l2;
	dst_last[3] = l3;
	return 0;
}

/* The 8 bytes at data + off (off < 2048) if the frame holds them; see
 * pkt_u64x4 for the barrier. */
static __always_inline __u64 *pkt_u64(void *data, void *data_end, __u32 off)
{
	__u64 *p;

#ifdef __bpf__
	asm volatile("%0 &= 2047" : "+r"(off));
#endif
	p = data + off;
#ifdef __bpf__
	asm volatile("" : "+r"(p));
#endif
	if ((void *)(p + 1) > data_end)
		return 0;
	return p;
}

/*
 * Copy a blob's first len bytes (8 <= len <= its capacity) into the frame
 * at off, 8 bytes at a time, the last word being the 8 bytes that end at
 * len (it may overlap the one before). Global functions: the verifier
 * checks each once, not once per path that reaches it, and a call costs
 * less than bpf_xdp_store_bytes, which copies through two more calls.
 */
#define XDPNS_BODY_COPY(cls, CAP)                                              \
	static __always_inline int xdpns_body_##cls(                      \
		struct xdp_md *ctx, const struct xdpns_blob_##cls *blob,       \
		__u32 off, __u32 len)                                          \
	{                                                                      \
		void *data = (void *)(long)ctx->data;                          \
		void *data_end = (void *)(long)ctx->data_end;                  \
		__u32 i, words;                                                \
		__u64 t;                                                       \
		__u64 *dst, w;                                                 \
                                                                               \
		if (!blob || len < 8 || len > CAP || off > 1024)               \
			return -1;                                             \
		words = len >> 3;                                              \
		for (i = 0; i < CAP / 8; i++) {                                \
			if (i >= words)                                        \
				break;                                         \
			t = ans_mask64_7ff(i * 8);                             \
			if (t > CAP - 8)                                       \
				return -1;                                     \
			dst = pkt_u64(data, data_end, off + t);                \
			if (!dst)                                              \
				return -1;                                     \
			*dst = *(const __u64 *)(blob->data + t);               \
		}                                                              \
		t = ans_mask64_7ff(len - 8);                                   \
		if (t > CAP - 8)                                               \
			return -1;                                             \
		dst = pkt_u64(data, data_end, off + t);                        \
		if (!dst)                                                      \
			return -1;                                             \
		w = *(const __u64 *)(blob->data + t);                          \
		*dst = w;                                                      \
		return 0;                                                      \
	}
XDPNS_BODY_COPY(xs, XDPNS_BLOB_XS_CAP)
XDPNS_BODY_COPY(s, XDPNS_BLOB_S_CAP)
XDPNS_BODY_COPY(m, XDPNS_BLOB_M_CAP)

/*
 * Make the frame new_end bytes long, keeping its first keep bytes: 0, or
 * -1 with the frame untouched, or -2 if it may be half changed. Grow at
 * the head, into the headroom XDP always has, and move the kept bytes to
 * the new start; when the head has no room, at the tail. Head first
 * because a veth hands XDP buffers cut to the packet, where a try at the
 * tail is a helper call that fails; the move costs a few word copies. The
 * frame is linear: the program is not loaded for multi-buffer XDP.
 */
static __always_inline int grow(struct xdp_md *ctx, __u32 new_end,
				__u32 keep)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int d = (int)new_end - (int)(data_end - data);
	__u32 delta;

	/* the helpers fail with an errno; -1 says "untouched" to the caller */
	if (d <= 0)
		return d && bpf_xdp_adjust_tail(ctx, d) ? -1 : 0;
	delta = d;
	/* keep: Ethernet to the end of the question, at least 59 bytes */
	if (delta > 256 || keep < 32 || keep > XDPNS_MOVE_LEN ||
	    bpf_xdp_adjust_head(ctx, -(int)delta))
		return bpf_xdp_adjust_tail(ctx, d) ? -1 : 0;
	/* cannot fail for a frame parse_l2_l4() accepted (keep <= the old
	 * length); if it did, the frame may be half moved: drop it */
	if (xdpns_move_front(ctx, delta, keep))
		return -2;
	return 0;
}

/* What the last steps of a reply need, in one place: the argument of a
 * global function must be a pointer to scalars. */
struct xdpns_reply {
	__u32 l3_off, l4_off, dns_off;
	__u32 qlen; /* question length */
	__u32 body_len; /* 0 for TC=1 */
	__u32 l4_len; /* UDP header + DNS message */
	__u32 sum; /* partial sum of the question and the body, placed */
	__u32 flags; /* DNS flags, host order */
	__u16 an, ns, ar; /* counts, host order (ar with the OPT) */
	__u8 ipv6, edns, dnssec_ok, pad;
};

/*
 * Finish a reply whose body is in place: DNS header (the ID kept), the
 * OPT, Ethernet, IP and UDP swapped and resized, both checksums. A global
 * function, checked once by the verifier rather than once per path into
 * it. Returns 0, or -1 if an offset is out of the frame.
 */
static __always_inline int xdpns_reply_finish(struct xdp_md *ctx,
						 const struct xdpns_reply *r)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u16 *dns;
	__u32 sum, l4_len, off, l3_off, l4_off, dns_off;

	if (!r)
		return -1;
	/* bounded where the verifier sees it (they are small: headers) */
	l3_off = ans_mask_7ff(r->l3_off) & 0x3f;
	l4_off = ans_mask_7ff(r->l4_off) & 0xff;
	dns_off = ans_mask_7ff(r->dns_off) & 0xff;
	l4_len = r->l4_len & 0xffff;
	sum = r->sum;

	dns = data + dns_off;
	if ((void *)(dns + 6) > data_end)
		return -1;
	dns[1] = bpf_htons(r->flags);
	dns[2] = bpf_htons(1);
	dns[3] = bpf_htons(r->an);
	dns[4] = bpf_htons(r->ns);
	dns[5] = bpf_htons(r->ar);
	sum += bpf_ntohs(dns[0]) + r->flags + 1 + r->an + r->ns + r->ar;

	if (r->edns) {
		__u16 ttl_lo = r->dnssec_ok ? DNS_EDNS_DO : 0;
		__u8 *o;

		/* the OPT goes after the body: root, type, class (our size),
		 * TTL (extended rcode 0, version 0, DO mirrored), rdlen 0 */
		off = DNS_HDR_LEN + r->qlen + r->body_len;
		o = data + ans_mask_7ff(dns_off + off);
#ifdef __bpf__
		asm volatile("" : "+r"(o));
#endif
		if ((void *)(o + XDPNS_OPT_LEN) > data_end)
			return -1;
		o[0] = 0;
		o[1] = 0;
		o[2] = DNS_TYPE_OPT;
		o[3] = XDPNS_EDNS_SIZE >> 8;
		o[4] = XDPNS_EDNS_SIZE & 0xff;
		o[5] = 0;
		o[6] = 0;
		o[7] = ttl_lo >> 8;
		o[8] = ttl_lo & 0xff;
		o[9] = 0;
		o[10] = 0;
		/* its words from the type on (offset off + 1): type, size, 0, DO, 0 */
		sum += csum_at_offset(DNS_TYPE_OPT + XDPNS_EDNS_SIZE + ttl_lo,
				      off + 1);
	}

	if ((void *)(eth + 1) > data_end)
		return -1;
	swap_mac(eth);

	udp = data + l4_off;
	if ((void *)(udp + 1) > data_end)
		return -1;
	{
		__be16 port = udp->source;

		udp->source = udp->dest;
		udp->dest = port;
	}
	udp->len = bpf_htons(l4_len);
	/* pseudo header (protocol, length) and UDP header (ports, length) */
	sum += 17 + l4_len + bpf_ntohs(udp->source) + bpf_ntohs(udp->dest) + l4_len;

	if (!r->ipv6) {
		struct iphdr *ip = data + l3_off;
		__be32 a;

		if ((void *)(ip + 1) > data_end)
			return -1;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tot_len = bpf_htons(sizeof(*ip) + l4_len);
		ip->ttl = 64;
		ip->check = 0;
		{
			__u64 as = le_sum32(&ip->saddr, 2);
			__u64 hs = as + le_sum32(ip, 3);

			ip->check = ~csum_fold16_((hs & 0xffffffff) + (hs >> 32)) & 0xffff;
			sum += dns_le_sum_fold(as);
		}
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct in6_addr a;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(l4_len);
		ip6->hop_limit = 64;
		sum += dns_le_sum_fold(le_sum32(&ip6->saddr, 8));
	}
	{
		__u16 c = ~csum_fold16(sum) & 0xffff;

		udp->check = bpf_htons(c ? c : 0xffff);
	}
	return 0;
}

/*
 * Build the reply. body_len = 0 and tc = 1 for a truncated reply. Returns
 * XDPNS_PASS_COUNT on success (frame ready for XDP_TX) or a pass reason;
 * on failure after the frame was changed returns XDPNS_PASS_ERROR and the
 * caller must drop (the query can no longer be passed up intact).
 *
 * The plan of the reply goes through scratch memory (rp, in the per-CPU
 * scratch map): read back, its fields are values the verifier knows
 * nothing about, the same on every path that gets here, so the writing
 * below is verified once per kind of blob rather than once per path
 * (IPv4/IPv6, VLAN, EDNS, cut points...). All of it is inline: every
 * call costs a return through the CPU's return-stack mitigation.
 */
static __always_inline int answer_write(struct xdp_md *ctx, struct pkt *p,
					struct query *q, struct blob_view *b,
					int tc, struct xdpns_reply *rp)
{
	__u32 body_len = tc ? 0 : b->len;
	__u32 dns_len = DNS_HDR_LEN + q->qlen + body_len +
			(q->edns ? XDPNS_OPT_LEN : 0);
	__u32 body_off;
	int r;

	rp->l3_off = p->l3_off;
	rp->l4_off = p->l4_off;
	rp->dns_off = p->dns_off;
	rp->qlen = q->qlen;
	rp->body_len = body_len;
	rp->l4_len = sizeof(struct udphdr) + dns_len;
	rp->flags = bpf_ntohs(b->h->flags) | (q->qflags & (DNS_F_RD | DNS_F_CD)) |
		    (tc ? DNS_F_TC : 0);
	rp->an = tc ? 0 : bpf_ntohs(b->h->ancount);
	rp->ns = tc ? 0 : bpf_ntohs(b->h->nscount);
	rp->ar = (tc ? 0 : b->ar) + (q->edns ? 1 : 0);
	rp->ipv6 = p->ipv6;
	rp->edns = q->edns;
	rp->dnssec_ok = q->dnssec_ok;
	rp->sum = q->qsum + (body_len ? csum_at_offset(b->csum, q->qlen) : 0);

	/* from here on, what the verifier knows comes from rp */
	body_off = ans_mask_7ff(*(volatile __u32 *)&rp->dns_off +
				DNS_HDR_LEN + *(volatile __u32 *)&rp->qlen);
	r = grow(ctx, *(volatile __u32 *)&rp->l4_off + *(volatile __u32 *)&rp->l4_len,
		 body_off);
	if (r)
		return r == -1 ? XDPNS_PASS_TOO_BIG : XDPNS_PASS_ERROR;

	body_len = *(volatile __u32 *)&rp->body_len;
	if (body_len) {
		/* store_bytes wants a size the verifier can bound by the
		 * blob's own capacity: check in 64-bit, one call per class */
		__u64 len = body_len;
		long rc;

		if (b->cap == XDPNS_BLOB_XS_CAP && len >= 8) {
			rc = xdpns_body_xs(ctx, (const struct xdpns_blob_xs *)b->h,
					   body_off, len);
		} else if (b->cap == XDPNS_BLOB_S_CAP && len >= 8) {
			rc = xdpns_body_s(ctx, (const struct xdpns_blob_s *)b->h,
					  body_off, len);
		} else if (b->cap == XDPNS_BLOB_M_CAP && len >= 8) {
			rc = xdpns_body_m(ctx, (const struct xdpns_blob_m *)b->h,
					  body_off, len);
		} else if (b->cap == XDPNS_BLOB_S_CAP || b->cap == XDPNS_BLOB_XS_CAP) {
			/* bodies under 8 bytes: within either capacity */
			asm volatile("" : "+r"(len));
			if (len < 1 || len > XDPNS_BLOB_XS_CAP)
				return XDPNS_PASS_ERROR;
			rc = bpf_xdp_store_bytes(ctx, body_off & 0x3ff,
						 (void *)b->data, len);
		} else if (b->cap == XDPNS_BLOB_M_CAP) {
			asm volatile("" : "+r"(len));
			if (len < 1 || len > XDPNS_BLOB_M_CAP)
				return XDPNS_PASS_ERROR;
			rc = bpf_xdp_store_bytes(ctx, body_off & 0x3ff,
						 (void *)b->data, len);
		} else {
			asm volatile("" : "+r"(len));
			if (len < 1 || len > XDPNS_BLOB_L_CAP)
				return XDPNS_PASS_ERROR;
			rc = bpf_xdp_store_bytes(ctx, body_off & 0x3ff,
						 (void *)b->data, len);
		}
		if (rc)
			return XDPNS_PASS_ERROR;
	}
	if (xdpns_reply_finish(ctx, rp))
		return XDPNS_PASS_ERROR;
	return XDPNS_PASS_COUNT;
}

#endif /* XDPNS_LIB_ANSWER_H */
