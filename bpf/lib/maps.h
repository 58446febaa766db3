/* SPDX-License-Identifier: GPL-2.0 */
/* The XDP program's maps. Userspace reaches them through the skeleton. */
#ifndef XDPNS_LIB_MAPS_H
#define XDPNS_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpns_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* RCU-freed: readers never see
					       * a recycled element */
	__uint(max_entries, XDPNS_MAX_ENTRIES);
	__type(key, struct xdpns_key_32);
	__type(value, struct xdpns_entry);
} xdpns_entries_32 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* RCU-freed: readers never see
					       * a recycled element */
	__uint(max_entries, XDPNS_MAX_ENTRIES);
	__type(key, struct xdpns_key_64);
	__type(value, struct xdpns_entry);
} xdpns_entries_64 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* RCU-freed: readers never see
					       * a recycled element */
	__uint(max_entries, XDPNS_MAX_ENTRIES);
	__type(key, struct xdpns_key_128);
	__type(value, struct xdpns_entry);
} xdpns_entries_128 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* RCU-freed: readers never see
					       * a recycled element */
	__uint(max_entries, XDPNS_MAX_ENTRIES);
	__type(key, struct xdpns_key);
	__type(value, struct xdpns_entry);
} xdpns_entries_256 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPNS_MAX_ZONES);
	__type(key, __u32);
	__type(value, struct xdpns_zone);
} xdpns_zones SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPNS_BLOB_S_COUNT);
	__type(key, __u32);
	__type(value, struct xdpns_blob_s);
} xdpns_blob_s SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPNS_BLOB_M_COUNT);
	__type(key, __u32);
	__type(value, struct xdpns_blob_m);
} xdpns_blob_m SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPNS_BLOB_L_COUNT);
	__type(key, __u32);
	__type(value, struct xdpns_blob_l);
} xdpns_blob_l SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPNS_LRU_ENTRIES);
	__type(key, struct xdpns_key_64);
	__type(value, struct xdpns_lru_value);
} xdpns_lru_short SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDPNS_LRU_ENTRIES / 4);
	__type(key, struct xdpns_key);
	__type(value, struct xdpns_lru_value);
} xdpns_lru_long SEC(".maps");

/* Lookups by the key's class (name_len is in the key). */
static __always_inline struct xdpns_entry *entries_lookup(struct xdpns_key *k)
{
	if (k->name_len <= XDPNS_KEYCLASS_0)
		return bpf_map_lookup_elem(&xdpns_entries_32, k);
	if (k->name_len <= XDPNS_KEYCLASS_1)
		return bpf_map_lookup_elem(&xdpns_entries_64, k);
	if (k->name_len <= XDPNS_KEYCLASS_2)
		return bpf_map_lookup_elem(&xdpns_entries_128, k);
	return bpf_map_lookup_elem(&xdpns_entries_256, k);
}

static __always_inline struct xdpns_lru_value *lru_lookup(struct xdpns_key *k)
{
	if (k->name_len <= XDPNS_LRU_SHORT)
		return bpf_map_lookup_elem(&xdpns_lru_short, k);
	return bpf_map_lookup_elem(&xdpns_lru_long, k);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpns_scratch);
} xdpns_scratch SEC(".maps");

/* Answers per zone, indexed by zone slot (userspace zeroes a slot when it
 * gives it to another zone). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPNS_MAX_ZONES);
	__type(key, __u32);
	__type(value, struct xdpns_zone_stats);
} xdpns_zone_stats SEC(".maps");

static __always_inline void zone_stats_answered(__u32 slot)
{
	struct xdpns_zone_stats *zs = bpf_map_lookup_elem(&xdpns_zone_stats, &slot);

	if (zs)
		zs->answered += 1;
}

#endif /* XDPNS_LIB_MAPS_H */
