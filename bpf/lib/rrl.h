/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Response rate limiting (RRL) and the pass limits, configured by userspace
 * (userspace/rrl.c) in xdpns_limits and xdpns_exempt.
 *
 * RRL: one token bucket per (source prefix, response kind); a response over
 * the rate is dropped, or "slips" out as a TC=1 reply with no records so a
 * real client retries over TCP (BIND's and Knot's RRL).
 *
 * Pass limits: queries XDP would pass up to the slow path spend a token of
 * their source prefix's bucket and of the total one; without a token they
 * are dropped, so a flood of misses cannot starve transfers, NOTIFY and TCP.
 *
 * The buckets live in per-CPU maps: each CPU updates its own copy without
 * atomics or locks (an XDP program is not preempted on its CPU). The rate is
 * split between CPUs by userspace (a token costs ncpus units), so a source
 * whose queries spread over the CPUs, as RSS spreads clients that vary their
 * ports, gets the configured rate in total; one whose queries all reach one
 * CPU gets rate / ncpus.
 */
#ifndef XDPNS_LIB_RRL_H
#define XDPNS_LIB_RRL_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include "xdpns_maps.h"
#include "dns.h"
#include "parse.h"
#include "stats.h"
#include "rrl_bucket.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpns_limits);
} xdpns_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPNS_EXEMPT_ENTRIES);
	__type(key, struct xdpns_lpm_key);
	__type(value, __u32);
} xdpns_exempt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XDPNS_RRL_ENTRIES);
	__type(key, struct xdpns_rrl_key);
	__type(value, struct xdpns_rrl_bucket);
} xdpns_rrl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XDPNS_PASS_ENTRIES);
	__type(key, struct xdpns_rrl_key);
	__type(value, struct xdpns_rrl_bucket);
} xdpns_pass_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpns_rrl_bucket);
} xdpns_pass_total SEC(".maps");

/* Whether any of the limits in mask (XDPNS_LIM_F_*) is on, read inline
 * (the verifier inlines an array lookup): a response or a pass pays for
 * the call into xdpns_rrl_check() or xdpns_limit_pass() only when its
 * limit is on. */
static __always_inline int lim_on(__u32 mask)
{
	__u32 zero = 0;
	struct xdpns_limits *l = bpf_map_lookup_elem(&xdpns_limits, &zero);

	return l && (l->flags & mask);
}

/* The source prefix of the frame into k; *exempt gets the exempt trie's
 * flags for the source (0: not listed). Returns 0, or -1 when the IP
 * header cannot be read. */
static __always_inline int lim_source(struct xdp_md *ctx, __u32 l3_off,
				      __u32 ipv6, const struct xdpns_limits *l,
				      struct xdpns_rrl_key *k, __u32 *exempt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpns_lpm_key lk = { .prefixlen = 128 };
	__u32 *ex;

	if (l3_off > 32)
		return -1;
	if (!ipv6) {
		struct iphdr *ip = data + l3_off;

		if ((void *)(ip + 1) > data_end)
			return -1;
		k->addr[0] = ip->saddr & l->mask4;
		lk.addr[10] = 0xff;
		lk.addr[11] = 0xff;
		__builtin_memcpy(&lk.addr[12], &ip->saddr, 4);
	} else {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		k->ipv6 = 1;
		k->addr[0] = ip6->saddr.in6_u.u6_addr32[0] & l->mask6[0];
		k->addr[1] = ip6->saddr.in6_u.u6_addr32[1] & l->mask6[1];
		k->addr[2] = ip6->saddr.in6_u.u6_addr32[2] & l->mask6[2];
		k->addr[3] = ip6->saddr.in6_u.u6_addr32[3] & l->mask6[3];
		__builtin_memcpy(lk.addr, &ip6->saddr, 16);
	}
	*exempt = 0;
	if (l->flags & XDPNS_LIM_F_EXEMPT) {
		ex = bpf_map_lookup_elem(&xdpns_exempt, &lk);
		if (ex)
			*exempt = *ex;
	}
	return 0;
}

/* This CPU's bucket for k, created (unused: it starts full) if missing. */
static __always_inline struct xdpns_rrl_bucket *lim_bucket(void *map,
							   struct xdpns_rrl_key *k)
{
	struct xdpns_rrl_bucket *b = bpf_map_lookup_elem(map, k);
	struct xdpns_rrl_bucket fresh = {};

	if (b)
		return b;
	bpf_map_update_elem(map, k, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, k);
}

/*
 * Hook before a response is written: XDPNS_RRL_PASS (send it), _SLIP (send
 * it truncated, TC=1 and no records) or _DROP, counted per kind and action.
 * Exempt sources, and everything while RRL is off, pass uncounted.
 * A global function: the verifier checks it once, not once per path of
 * the caller (inlined, it doubled the program's verification).
 */
__noinline int xdpns_rrl_check(struct xdp_md *ctx, __u32 l3_off, __u32 ipv6,
			       __u32 rcode, __u32 bflags)
{
	struct xdpns_rrl_key k = {};
	struct xdpns_rrl_bucket *b;
	struct xdpns_limits *l;
	__u32 zero = 0, exempt;
	int kind, act;

	l = bpf_map_lookup_elem(&xdpns_limits, &zero);
	if (!l || !(l->flags & XDPNS_LIM_F_RRL))
		return XDPNS_RRL_PASS;
	if (!ctx || lim_source(ctx, l3_off, ipv6, l, &k, &exempt) ||
	    (exempt & XDPNS_EXEMPT_RRL))
		return XDPNS_RRL_PASS;
	kind = rrl_kind(rcode & 0xf, bflags);
	k.kind = kind;
	b = lim_bucket(&xdpns_rrl, &k);
	if (!b || rrl_bucket_take(b, &l->rrl, bpf_ktime_get_coarse_ns()))
		act = XDPNS_RRL_PASS;
	else
		act = rrl_bucket_slip(b, l->slip);
	stats_inc(XDPNS_CNT_RRL(kind, act));
	return act;
}

/*
 * Hook at the pass exit: 0 to pass the frame up, or the counter of the
 * limit it is over (drop it). Only DNS queries to UDP port 53 count: not
 * other traffic, not TCP, not responses (QR=1), not NOTIFY (opcode 4),
 * not sources in the exempt list with XDPNS_EXEMPT_PASS (the primaries).
 */
__noinline int xdpns_limit_pass(struct xdp_md *ctx)
{
	struct xdpns_rrl_key k = { .kind = XDPNS_RRL_KINDS };
	struct xdpns_rrl_bucket *b;
	struct xdpns_limits *l;
	struct pkt p = {};
	__u32 zero = 0, exempt;
	__u16 *hdr, flags;
	__u64 now;

	l = bpf_map_lookup_elem(&xdpns_limits, &zero);
	if (!l || !(l->flags & (XDPNS_LIM_F_PASS_TOTAL | XDPNS_LIM_F_PASS_PREFIX)))
		return 0;
	if (!ctx || parse_l2_l4(ctx, &p) != XDPNS_PASS_COUNT || p.dns_off > 128)
		return 0;
	hdr = (void *)(long)ctx->data + p.dns_off;
	if ((void *)(hdr + 6) > (void *)(long)ctx->data_end ||
	    p.dns_len < DNS_HDR_LEN)
		return 0;
	flags = bpf_ntohs(hdr[1]);
	if ((flags & DNS_F_QR) || (flags & DNS_F_OPCODE) == (4 << 11))
		return 0;
	if (lim_source(ctx, p.l3_off, p.ipv6, l, &k, &exempt) ||
	    (exempt & XDPNS_EXEMPT_PASS))
		return 0;
	now = bpf_ktime_get_ns();
	if (l->flags & XDPNS_LIM_F_PASS_PREFIX) {
		b = lim_bucket(&xdpns_pass_buckets, &k);
		if (b && !rrl_bucket_take(b, &l->pass_prefix, now))
			return XDPNS_CNT_PASS_LIMIT_PREFIX;
	}
	if (l->flags & XDPNS_LIM_F_PASS_TOTAL) {
		b = bpf_map_lookup_elem(&xdpns_pass_total, &zero);
		if (b && !rrl_bucket_take(b, &l->pass_total, now))
			return XDPNS_CNT_PASS_LIMIT_TOTAL;
	}
	return 0;
}

#endif /* XDPNS_LIB_RRL_H */
