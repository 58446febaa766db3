/* SPDX-License-Identifier: GPL-2.0 */
/* The XDP program's maps. Userspace reaches them through the skeleton. */
#ifndef XDPNS_LIB_MAPS_H
#define XDPNS_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpns_maps.h"

/* Entries hashes: the overflow of the tables for names of up to 32 and 64
 * bytes (keys whose probe found no free slot), and every longer name. */
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

/* The tables (include/xdpns_maps.h, docs/design.md): open addressing in
 * arrays the daemon writes in place through a mapping. The loader sizes
 * them and sets the number of home slots below (the array has
 * XDPNS_TABLE_PROBES - 1 more, so a probe never wraps). */
#define TABLE_MAP(NAME, SLOT)                                                 \
	struct {                                                             \
		__uint(type, BPF_MAP_TYPE_ARRAY);                            \
		__uint(map_flags, BPF_F_MMAPABLE);                           \
		__uint(max_entries, XDPNS_TABLE_PROBES);                     \
		__type(key, __u32);                                          \
		__type(value, struct SLOT);                                  \
	} NAME SEC(".maps")

/* the entries, by name class */
TABLE_MAP(xdpns_table_32, xdpns_slot_32);
TABLE_MAP(xdpns_table_64, xdpns_slot_64);
/* the names of the NXDOMAIN walk (bpf/lib/nx.h): one per name (qtype 0),
 * the same key prefix, a smaller value */
TABLE_MAP(xdpns_ntable_32, xdpns_nslot_32);
TABLE_MAP(xdpns_ntable_64, xdpns_nslot_64);

/* home slots per table class, set by the loader before load: entries,
 * then names */
const volatile __u32 xdpns_table_home[XDPNS_TABLE_CLASSES] = {};
const volatile __u32 xdpns_ntable_home[XDPNS_TABLE_CLASSES] = {};

/* One load that the compiler neither drops, merges nor moves across
 * another: the order of the reads below is the design's argument. */
#define TREAD(p) (*(volatile __typeof__(*(p)) *)(p))

/*
 * The slot holding the key whose first 4 + CAP bytes are the CAP / 8
 * words w and the 32-bit tail, in a table of names up to CAP bytes with
 * HOME home slots, or -1; *ovf gets the home slot's overflow count. The
 * first word of a slot (its state among them) is read first; the daemon
 * writes it last.
 */
#define TABLE_PROBE(NAME, MAP, CAP, HOME)                                     \
	static __always_inline long NAME(const __u64 *w, __u32 tail, __u32 *ovf) \
	{                                                                     \
		__u64 h = 0;                                                  \
		__u32 home, i, j;                                             \
                                                                              \
		_Pragma("unroll") for (i = 0; i < (CAP) / 8; i++)             \
			h = xdpns_hash_add(h, w[i]);                          \
		h = xdpns_hash_add(h, tail);                                  \
		home = xdpns_hash_home(h, HOME);                              \
		*ovf = 0;                                                     \
		_Pragma("unroll") for (j = 0; j < XDPNS_TABLE_PROBES; j++)    \
		{                                                             \
			__u32 idx = home + j;                                 \
			const __u8 *s = bpf_map_lookup_elem(&MAP, &idx);      \
			__u64 w0, d = 0;                                      \
                                                                              \
			if (!s)                                               \
				break;                                        \
			w0 = TREAD((const __u64 *)s);                         \
			if (j == 0)                                           \
				*ovf = TREAD(s + XDPNS_SLOT_OVF_OFF(CAP));    \
			if (w0 != w[0]) {                                     \
				if (!(__u32)w0)                               \
					break; /* never used: the end */      \
				continue;                                     \
			}                                                     \
			_Pragma("unroll") for (i = 1; i < (CAP) / 8; i++)     \
				d |= TREAD((const __u64 *)s + i) ^ w[i];      \
			d |= TREAD((const __u32 *)(s + (CAP))) ^ tail;        \
			if (!d)                                               \
				return idx;                                   \
		}                                                             \
		return -1;                                                    \
	}

/* The entries' slot of key k (its first 4 + CAP bytes), or -1. */
#define TABLE_FIND(NAME, PROBE, CAP)                                          \
	static __always_inline long NAME(const struct xdpns_key *k, __u32 *ovf) \
	{                                                                     \
		const __u64 *kw = (const __u64 *)k;                           \
		__u64 w[(CAP) / 8];                                           \
		__u32 i;                                                      \
                                                                              \
		_Pragma("unroll") for (i = 0; i < (CAP) / 8; i++)             \
			w[i] = kw[i];                                         \
		return PROBE(w, *(const __u32 *)((const __u8 *)k + (CAP)), ovf); \
	}

/*
 * The answer of slot idx for DO (dnssec_ok 0/1): *zidx, *ref, and
 * XDPNS_PASS_COUNT, or a pass reason. The reads go key (done), zone, the
 * zone's generation, the halves' generations, then the ref: the daemon
 * writes a half's refs before its generation and both before the flip.
 */
#define TABLE_REF(NAME, MAP, CAP)                                             \
	static __always_inline int NAME(__u32 idx, __u32 dnssec_ok,            \
					__u32 *zidx, __u32 *ref)               \
	{                                                                     \
		const __u8 *s = bpf_map_lookup_elem(&MAP, &idx);              \
		const __u8 *hp;                                               \
		struct xdpns_zone *zone;                                      \
		__u32 z, gen, g0, g1;                                         \
		int ok0, ok1;                                                 \
                                                                              \
		if (!s)                                                       \
			return XDPNS_PASS_MISS;                               \
		z = TREAD((const __u16 *)(s + XDPNS_SLOT_ZONE_OFF(CAP)));     \
		zone = bpf_map_lookup_elem(&xdpns_zones, &z);                 \
		if (!zone)                                                    \
			return XDPNS_PASS_MISS;                               \
		gen = TREAD(&zone->gen);                                      \
		if (!gen)                                                     \
			return XDPNS_PASS_MISS;                               \
		if (TREAD(&zone->flags) & XDPNS_ZONE_F_EXPIRED)               \
			return XDPNS_PASS_ZONE_STATE;                         \
		hp = s + XDPNS_SLOT_HALF_OFF(CAP);                            \
		g0 = TREAD((const __u32 *)hp);                                \
		g1 = TREAD((const __u32 *)(hp + sizeof(struct xdpns_slot_half))); \
		ok0 = g0 && g0 <= gen;                                        \
		ok1 = g1 && g1 <= gen;                                        \
		if (ok0 && (!ok1 || g0 > g1))                                 \
			;                                                     \
		else if (ok1)                                                 \
			hp += sizeof(struct xdpns_slot_half);                 \
		else                                                          \
			return XDPNS_PASS_MISS;                               \
		*ref = TREAD((const __u32 *)(hp + 4 + 4 * (dnssec_ok & 1)));  \
		*zidx = z;                                                    \
		return XDPNS_PASS_COUNT;                                      \
	}

TABLE_PROBE(table_probe_32, xdpns_table_32, XDPNS_KEYCLASS_0, xdpns_table_home[0])
TABLE_PROBE(table_probe_64, xdpns_table_64, XDPNS_KEYCLASS_1, xdpns_table_home[1])
TABLE_PROBE(ntable_probe_32, xdpns_ntable_32, XDPNS_KEYCLASS_0, xdpns_ntable_home[0])
TABLE_PROBE(ntable_probe_64, xdpns_ntable_64, XDPNS_KEYCLASS_1, xdpns_ntable_home[1])
TABLE_FIND(table_find_32, table_probe_32, XDPNS_KEYCLASS_0)
TABLE_FIND(table_find_64, table_probe_64, XDPNS_KEYCLASS_1)
TABLE_REF(table_ref_32, xdpns_table_32, XDPNS_KEYCLASS_0)
TABLE_REF(table_ref_64, xdpns_table_64, XDPNS_KEYCLASS_1)

/* No entry for the key: the LRU and the names decide. */
#define ENT_NONE (-1)

/*
 * The entry for the parsed key (sc->key) and DO: XDPNS_PASS_COUNT with
 * *zidx and *ref (0: no body, a miss), ENT_NONE, or a pass reason. Names
 * of up to 64 bytes are looked up in their table, and in the overflow hash
 * only when the home slot counts keys there; longer ones in their hash.
 */
static __always_inline int entry_ref(struct xdpns_scratch *sc, __u32 dnssec_ok,
				     __u32 *zidx, __u32 *ref)
{
	struct xdpns_key *k = &sc->key;
	const struct xdpns_half *half;
	struct xdpns_entry *ent = NULL;
	struct xdpns_zone *zone;
	__u32 nl = k->name_len, ovf = 0, z = 0, rf = 0;
	long slot = -1;
	int r;

	if (nl <= XDPNS_KEYCLASS_0)
		slot = table_find_32(k, &ovf);
	else if (nl <= XDPNS_KEYCLASS_1)
		slot = table_find_64(k, &ovf);
	if (slot >= 0) {
		/* one state on, whichever probe found it */
		sc->ent_slot = slot;
		slot = TREAD(&sc->ent_slot);
		if (nl <= XDPNS_KEYCLASS_0)
			r = table_ref_32(slot, dnssec_ok, &z, &rf);
		else
			r = table_ref_64(slot, dnssec_ok, &z, &rf);
		goto out;
	}
	if (nl <= XDPNS_KEYCLASS_0)
		ent = ovf ? bpf_map_lookup_elem(&xdpns_entries_32, k) : NULL;
	else if (nl <= XDPNS_KEYCLASS_1)
		ent = ovf ? bpf_map_lookup_elem(&xdpns_entries_64, k) : NULL;
	else if (nl <= XDPNS_KEYCLASS_2)
		ent = bpf_map_lookup_elem(&xdpns_entries_128, k);
	else
		ent = bpf_map_lookup_elem(&xdpns_entries_256, k);
	if (!ent)
		return ENT_NONE;
	z = ent->zone;
	zone = bpf_map_lookup_elem(&xdpns_zones, &z);
	if (!zone || zone->gen == 0)
		return XDPNS_PASS_MISS;
	if (zone->flags & XDPNS_ZONE_F_EXPIRED)
		return XDPNS_PASS_ZONE_STATE;
	half = xdpns_half_pick(ent, zone->gen);
	if (!half)
		return XDPNS_PASS_MISS;
	rf = half->ref[dnssec_ok & 1];
	r = XDPNS_PASS_COUNT;
out:
	sc->ent_zone = z;
	sc->ent_ref = rf;
	*zidx = TREAD(&sc->ent_zone);
	*ref = TREAD(&sc->ent_ref);
	return r;
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


#endif /* XDPNS_LIB_MAPS_H */
