/* SPDX-License-Identifier: GPL-2.0 */
/* Per-CPU counters indexed by enum xdpns_counter. */
#ifndef XDPNS_LIB_STATS_H
#define XDPNS_LIB_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpns_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPNS_CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} xdpns_stats SEC(".maps");

static __always_inline void stats_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&xdpns_stats, &idx);

	if (v)
		*v += 1;
}

#endif /* XDPNS_LIB_STATS_H */
