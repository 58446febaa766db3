/* SPDX-License-Identifier: GPL-2.0 */
/* Per-CPU counters: enum xdpns_counter and answers per zone slot, in one
 * value (struct xdpns_counters) that a packet looks up once. */
#ifndef XDPNS_LIB_STATS_H
#define XDPNS_LIB_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpns_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpns_counters);
} xdpns_stats SEC(".maps");

/* This CPU's counters (NULL only if the map is broken). */
static __always_inline struct xdpns_counters *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xdpns_stats, &zero);
}

static __always_inline void stats_add(struct xdpns_counters *c, __u32 idx)
{
	if (c && idx < XDPNS_CNT_COUNT)
		c->cnt[idx] += 1;
}

/* For code that has no pointer at hand (the RRL hook). */
static __always_inline void stats_inc(__u32 idx)
{
	stats_add(stats_get(), idx);
}

#endif /* XDPNS_LIB_STATS_H */
