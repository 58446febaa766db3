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

static __always_inline __u32 sum16(const void *p, __u32 words)
{
	const __u16 *w = p;
	__u32 s = 0;
	__u32 i;

	for (i = 0; i < words; i++)
		s += bpf_ntohs(w[i]);
	return s;
}

static __always_inline void swap_mac(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/*
 * Make the frame new_end bytes long, keeping its first keep bytes. Grow at
 * the tail when the buffer has room there; otherwise (a veth hands XDP
 * buffers cut to the packet) grow at the head, into the headroom XDP
 * always has, and move the kept bytes to the new start.
 */
static __always_inline int grow(struct xdp_md *ctx, __u32 new_end,
				__u32 old_end, __u32 keep, __u8 *move)
{
	int d = (int)new_end - (int)old_end;
	__u32 delta;

	if (d <= 0 || !bpf_xdp_adjust_tail(ctx, d))
		return d <= 0 ? bpf_xdp_adjust_tail(ctx, d) : 0;
	delta = d;
	if (delta > 256 || keep < 1 || keep > XDPNS_MOVE_LEN)
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)delta))
		return -1;
	keep = DNS_MASK_1FF(keep - 1) + 1; /* 1..512: a bound the verifier keeps */
	if (bpf_xdp_load_bytes(ctx, delta, move, keep) ||
	    bpf_xdp_store_bytes(ctx, 0, move, keep)) {
		bpf_xdp_adjust_head(ctx, (int)delta); /* put it back as it was */
		return -1;
	}
	return 0;
}

/*
 * Build the reply. body_len = 0 and tc = 1 for a truncated reply. Returns
 * XDPNS_PASS_COUNT on success (frame ready for XDP_TX) or a pass reason;
 * on failure after the frame was changed returns XDPNS_PASS_ERROR and the
 * caller must drop (the query can no longer be passed up intact).
 */
static __always_inline int answer_write(struct xdp_md *ctx, struct pkt *p,
					struct query *q, struct blob_view *b,
					int tc, __u8 *move)
{
	void *data, *data_end;
	struct udphdr *udp;
	__u8 *dns;
	__u32 body_len = tc ? 0 : b->len;
	__u32 dns_len = DNS_HDR_LEN + q->qlen + body_len +
			(q->edns ? XDPNS_OPT_LEN : 0);
	__u32 l4_len = sizeof(struct udphdr) + dns_len;
	__u32 new_end = p->l4_off + l4_len;
	__u32 old_end = bpf_xdp_get_buff_len(ctx);
	__u32 sum, flags, body_off;
	__u16 hdr[6];
	__u8 opt[XDPNS_OPT_LEN + 1];

	body_off = p->dns_off + DNS_HDR_LEN + q->qlen;
	flags = bpf_ntohs(b->h->flags) | (q->qflags & (DNS_F_RD | DNS_F_CD));
	if (tc)
		flags |= DNS_F_TC;
	/* hdr[0] (the ID) is filled from the packet below */
	hdr[1] = bpf_htons(flags);
	hdr[2] = bpf_htons(1);
	hdr[3] = tc ? 0 : b->h->ancount;
	hdr[4] = tc ? 0 : b->h->nscount;
	hdr[5] = bpf_htons((tc ? 0 : b->ar) +
			   (q->edns ? 1 : 0));

	if (grow(ctx, new_end, old_end, body_off, move))
		return XDPNS_PASS_TOO_BIG;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (p->dns_off > 128)
		return XDPNS_PASS_ERROR;
	dns = data + p->dns_off;
	if ((void *)(dns + DNS_HDR_LEN) > data_end)
		return XDPNS_PASS_ERROR;
	__builtin_memcpy(&hdr[0], dns, 2);
	__builtin_memcpy(dns + 2, &hdr[1], 10);

	if (body_len) {
		/* store_bytes wants a size the verifier can bound by the
		 * blob's own capacity: check in 64-bit, one call per class */
		__u64 len = body_len;
		long r;

		body_off &= 0x3ff;
		if (b->cap == XDPNS_BLOB_S_CAP) {
			asm volatile("" : "+r"(len));
			if (len < 1 || len > XDPNS_BLOB_S_CAP)
				return XDPNS_PASS_ERROR;
			r = bpf_xdp_store_bytes(ctx, body_off, (void *)b->data,
						len);
		} else if (b->cap == XDPNS_BLOB_M_CAP) {
			asm volatile("" : "+r"(len));
			if (len < 1 || len > XDPNS_BLOB_M_CAP)
				return XDPNS_PASS_ERROR;
			r = bpf_xdp_store_bytes(ctx, body_off, (void *)b->data,
						len);
		} else {
			asm volatile("" : "+r"(len));
			if (len < 1 || len > XDPNS_BLOB_L_CAP)
				return XDPNS_PASS_ERROR;
			r = bpf_xdp_store_bytes(ctx, body_off, (void *)b->data,
						len);
		}
		if (r)
			return XDPNS_PASS_ERROR;
	}
	sum = 0;
	if (q->edns) {
		__u16 ttl_lo = q->dnssec_ok ? DNS_EDNS_DO : 0;
		__u32 opt_off = DNS_HDR_LEN + q->qlen + body_len;

		opt[0] = 0; /* root */
		opt[1] = 0;
		opt[2] = DNS_TYPE_OPT;
		opt[3] = XDPNS_EDNS_SIZE >> 8;
		opt[4] = XDPNS_EDNS_SIZE & 0xff;
		opt[5] = 0; /* extended rcode */
		opt[6] = 0; /* version */
		opt[7] = ttl_lo >> 8;
		opt[8] = ttl_lo & 0xff;
		opt[9] = 0; /* rdlen */
		opt[10] = 0;
		opt[11] = 0;
		if (bpf_xdp_store_bytes(ctx, (p->dns_off + opt_off) & 0x3ff, opt,
					XDPNS_OPT_LEN))
			return XDPNS_PASS_ERROR;
		/* 11 bytes: as 6 words with a zero pad, placed at opt_off */
		sum += csum_at_offset(sum16(opt, 6), opt_off);
	}

	/* re-derive pointers: store_bytes may have invalidated them */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (p->l4_off > 128)
		return XDPNS_PASS_ERROR;
	udp = data + p->l4_off;
	if ((void *)(udp + 1) > data_end)
		return XDPNS_PASS_ERROR;
	{
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > data_end)
			return XDPNS_PASS_ERROR;
		swap_mac(eth);
	}
	{
		__be16 port = udp->source;

		udp->source = udp->dest;
		udp->dest = port;
	}
	udp->len = bpf_htons(l4_len);
	udp->check = 0;

	/* UDP sum: pseudo header + UDP header + DNS header + question +
	 * body (precomputed) + OPT */
	sum += 17 + l4_len; /* protocol + UDP length (pseudo) */
	sum += bpf_ntohs(udp->source) + bpf_ntohs(udp->dest) + l4_len;
	sum += bpf_ntohs(hdr[0]) + flags + 1 + bpf_ntohs(hdr[3]) +
	       bpf_ntohs(hdr[4]) + bpf_ntohs(hdr[5]);
	sum += q->qsum;
	if (body_len)
		sum += csum_at_offset(b->csum, q->qlen);

	if (p->l3_off > 32)
		return XDPNS_PASS_ERROR;
	if (!p->ipv6) {
		struct iphdr *ip = data + p->l3_off;
		__be32 a;

		if ((void *)(ip + 1) > data_end)
			return XDPNS_PASS_ERROR;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tot_len = bpf_htons(sizeof(*ip) + l4_len);
		ip->ttl = 64;
		ip->check = 0;
		ip->check = ~csum_fold16(sum16(ip, sizeof(*ip) / 2)) & 0xffff;
		ip->check = bpf_htons(ip->check);
		sum += sum16(&ip->saddr, 4);
	} else {
		struct ipv6hdr *ip6 = data + p->l3_off;
		struct in6_addr a;

		if ((void *)(ip6 + 1) > data_end)
			return XDPNS_PASS_ERROR;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(l4_len);
		ip6->hop_limit = 64;
		sum += sum16(&ip6->saddr, 16);
	}
	{
		__u16 c = ~csum_fold16(sum) & 0xffff;

		udp->check = bpf_htons(c ? c : 0xffff);
	}
	return XDPNS_PASS_COUNT;
}

#endif /* XDPNS_LIB_ANSWER_H */
