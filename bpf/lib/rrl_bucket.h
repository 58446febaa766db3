/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The token bucket of response rate limiting and of the pass limits. Pure
 * code over a bucket and a rate: compiled into the XDP program and, through
 * userspace/bpf_shim.h, into the slow path, so both limit the same way.
 */
#ifndef XDPNS_LIB_RRL_BUCKET_H
#define XDPNS_LIB_RRL_BUCKET_H

#include "xdpns_maps.h"

/*
 * Spend one token at time now (ns). Returns 1 when the bucket had it, 0
 * when the source is over its rate. As BIND: the balance is credited with
 * the time since the last use, capped at one second's worth; a bucket idle
 * longer than reset_ns (or never used) starts full; a limited source's
 * balance sinks to debt_min at most, so it must slow down for that long
 * before it is answered again.
 */
static __always_inline int rrl_bucket_take(struct xdpns_rrl_bucket *b,
					   const struct xdpns_rrl_rate *r,
					   __u64 now)
{
	__u64 age = now - b->stamp_ns;

	if (!b->stamp_ns || now < b->stamp_ns || age > r->reset_ns) {
		b->balance = r->credit_max;
		b->slip_cnt = 0;
	} else {
		b->balance += (__s64)(age * r->rate);
		if (b->balance > r->credit_max)
			b->balance = r->credit_max;
	}
	b->stamp_ns = now;
	b->balance -= (__s64)r->cost;
	if (b->balance >= 0)
		return 1;
	if (b->balance < r->debt_min)
		b->balance = r->debt_min;
	return 0;
}

/* Over the limit: slip (a TC=1 reply) the first of every slip limited
 * responses, drop the rest; slip 0 drops all, 1 slips all. */
static __always_inline int rrl_bucket_slip(struct xdpns_rrl_bucket *b,
					   __u32 slip)
{
	int act;

	if (!slip)
		return XDPNS_RRL_DROP;
	act = b->slip_cnt == 0 ? XDPNS_RRL_SLIP : XDPNS_RRL_DROP;
	if (++b->slip_cnt >= slip)
		b->slip_cnt = 0;
	return act;
}

/* The kind of a response from its rcode and blob flags. */
static __always_inline int rrl_kind(__u32 rcode, __u32 bflags)
{
	if (rcode == 3)
		return XDPNS_RRL_NXDOMAIN;
	if (rcode)
		return XDPNS_RRL_ERROR;
	if (bflags & XDPNS_BLOB_F_REFERRAL)
		return XDPNS_RRL_REFERRAL;
	return XDPNS_RRL_ANSWER;
}

#endif /* XDPNS_LIB_RRL_BUCKET_H */
