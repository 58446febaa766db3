/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NXDOMAIN for unsigned zones, made in XDP: a qname with no entry is looked
 * up suffix by suffix (longest first) in the names tables (names of up to
 * 64 bytes, with an overflow hash each) and hashes (longer names); the first name
 * found is its closest encloser. When that is not the qname itself, its
 * zone is served, unsigned and current, and the name allows it
 * (XDPNS_NAME_F_SYNTH: no cut, DNAME or wildcard), the zone's NXDOMAIN
 * body is sent with its compression pointers moved by the difference in
 * question length. Anything else passes to the slow path.
 */
#ifndef XDPNS_LIB_NX_H
#define XDPNS_LIB_NX_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpns_maps.h"
#include "maps.h"
#include "dns.h"
#include "answer.h"

#define NX_NAMES_MAP(bits)                                                   \
	struct {                                                             \
		__uint(type, BPF_MAP_TYPE_HASH);                             \
		__uint(map_flags, BPF_F_NO_PREALLOC); /* RCU-freed */        \
		__uint(max_entries, XDPNS_MAX_ENTRIES);                      \
		__type(key, struct xdpns_name_key_##bits);                   \
		__type(value, struct xdpns_name);                            \
	} xdpns_names_##bits SEC(".maps")

NX_NAMES_MAP(32);
NX_NAMES_MAP(64);
NX_NAMES_MAP(128);
NX_NAMES_MAP(256);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPNS_MAX_ZONES * 2);
	__type(key, __u32);
	__type(value, struct xdpns_nx);
} xdpns_nx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpns_nx_buf);
} xdpns_nx_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpns_nx_seq);
} xdpns_nx_seq SEC(".maps");

/* The closest-encloser walk, one suffix per step (bpf_loop). */
struct nx_walk {
	__u8 *buf; /* xdpns_nx_buf: the name, zeros after it */
	__u32 len; /* name length */
	__u32 pos; /* offset of the suffix looked up next */
	__u32 found; /* the suffix at pos is a name */
	struct xdpns_name val;
};

/*
 * The slot of the name (rest bytes, zero padded after it) in a names
 * table: the key as a table slot begins (qtype 0, length, state live, the
 * name), its words read in place from the walk's buffer. Returns the
 * slot, -1 (not in the table) or -2 (not in it, but the home slot counts
 * names in the overflow hash). A global function: the verifier checks it
 * once, not at every step of the walk it is called from (inline, the two
 * unrolled probes cost ~140k verified instructions).
 */
#define NAME_FIND(NAME, PROBE, CAP)                                           \
	__noinline long NAME(const struct xdpns_name_key_##CAP *key, __u32 rest) \
	{                                                                     \
		const __u8 *name = (const __u8 *)key;                         \
		__u64 w[(CAP) / 8];                                           \
		__u32 i, ovf = 0;                                             \
		long s;                                                       \
                                                                              \
		if (!key)                                                     \
			return -1;                                            \
		w[0] = (__u64)(rest & 0xff) << 16 |                           \
		       (__u64)*(const __u32 *)name << 32;                     \
		_Pragma("unroll") for (i = 1; i < (CAP) / 8; i++)             \
			w[i] = *(const __u64 *)(name + i * 8 - 4);            \
		s = PROBE(w, *(const __u32 *)(name + (CAP) - 4), &ovf);       \
		return s >= 0 ? s : ovf ? -2 : -1;                            \
	}

NAME_FIND(name_find_32, ntable_probe_32, 32)
NAME_FIND(name_find_64, ntable_probe_64, 64)

/* A name's value from its slot: zone, the generations, then the flags
 * (the daemon writes a half's flags, then its generation). */
#define NAME_READ(NAME, MAP, CAP)                                             \
	static __always_inline int NAME(__u32 idx, struct xdpns_name *v)       \
	{                                                                     \
		const __u8 *s = bpf_map_lookup_elem(&MAP, &idx);              \
		const __u32 *g;                                               \
		__u8 f;                                                       \
                                                                              \
		if (!s)                                                       \
			return 0;                                             \
		g = (const __u32 *)(s + XDPNS_NSLOT_GEN_OFF(CAP));            \
		v->zone = TREAD((const __u16 *)(s + XDPNS_SLOT_ZONE_OFF(CAP))); \
		v->gen[0] = TREAD(g);                                         \
		v->gen[1] = TREAD(g + 1);                                     \
		f = TREAD(s + XDPNS_NSLOT_FLAGS_OFF(CAP));                    \
		v->flags[0] = f & 0xf;                                        \
		v->flags[1] = f >> 4;                                         \
		return 1;                                                     \
	}

NAME_READ(name_read_32, xdpns_ntable_32, XDPNS_KEYCLASS_0)
NAME_READ(name_read_64, xdpns_ntable_64, XDPNS_KEYCLASS_1)

/* In nx_step: the name at key (rest bytes) in a names table; found: the
 * walk ends with its value; else v from the overflow hash when its home
 * slot says so. */
#define NAME_LOOKUP(FIND, READ, OVF)                                          \
	do {                                                                  \
		slot = FIND((const void *)key, rest);                         \
		if (slot >= 0 && READ(slot, &w->val))                         \
			goto found;                                           \
		if (slot == -2)                                               \
			v = bpf_map_lookup_elem(&OVF, key);                   \
	} while (0)

static long nx_step(__u64 idx, void *ctx)
{
	struct nx_walk *w = ctx;
	struct xdpns_name *v = NULL;
	__u32 pos = w->pos, rest;
	long slot;
	__u8 *key;
	__u8 c;

	(void)idx;
	if (pos >= XDPNS_NAME_MAX || pos >= w->len)
		return 1;
	pos = DNS_MASK_FF(pos);
	key = w->buf + pos;
	rest = w->len - pos;
	/* names of up to 64 bytes: their table, then, when the home slot
	 * says some are there, the overflow hash */
	if (rest <= XDPNS_KEYCLASS_0)
		NAME_LOOKUP(name_find_32, name_read_32, xdpns_names_32);
	else if (rest <= XDPNS_KEYCLASS_1)
		NAME_LOOKUP(name_find_64, name_read_64, xdpns_names_64);
	else if (rest <= XDPNS_KEYCLASS_2)
		v = bpf_map_lookup_elem(&xdpns_names_128, key);
	else
		v = bpf_map_lookup_elem(&xdpns_names_256, key);
	if (v) {
		w->val = *v;
		goto found;
	}
	c = w->buf[pos];
	if (c == 0)
		return 1; /* the root was the last suffix */
	w->pos = pos + c + 1;
	return 0;
found:
	w->found = 1;
	return 1;
}

/* Pointer words to write over the body once it is in the frame. */
struct nx_patch {
	__u32 zone; /* the zone's slot */
	__u32 n;
	__u32 sum; /* their part of the body's sum (blob.h.csum lacks it) */
	__u16 off[XDPNS_NX_PTRS];
	__u16 val[XDPNS_NX_PTRS];
};

/*
 * For the (already parsed) qname in key that has no entry: fill b with the
 * NXDOMAIN body of its zone (b->csum for this question length) and pt with
 * the pointers to patch. Returns XDPNS_PASS_COUNT when XDP may answer,
 * else a pass reason.
 */
static __always_inline int nx_lookup(const struct xdpns_key *key,
				     const struct query *q,
				     struct blob_view *b, struct nx_patch *pt)
{
	struct nx_walk w = {};
	struct xdpns_nx_buf *nb;
	struct xdpns_nx_seq *sq;
	struct xdpns_zone *zone;
	struct xdpns_nx *nx;
	__u32 zero = 0, idx, i, sum, gen, seq;
	__u16 delta;

	nb = bpf_map_lookup_elem(&xdpns_nx_scratch, &zero);
	sq = bpf_map_lookup_elem(&xdpns_nx_seq, &zero);
	if (!nb || !sq)
		return XDPNS_PASS_ERROR;
	/* names written from here on may belong to a generation this walk
	 * would wrongly judge by: checked again after the zone's generation */
	seq = *(volatile __u32 *)&sq->seq;
	/* the name as parsed (zero padded to 64 or 256 bytes), zeros up to
	 * 256; bytes 256..511 are never written: a suffix key of any class
	 * read in place ends in zeros */
#ifdef __clang__
#pragma unroll
#endif
	for (i = 0; i < XDPNS_KEY_NAME / 8; i++) {
		__u64 x = 0;

		if (i < XDPNS_LRU_SHORT / 8 || key->name_len > XDPNS_LRU_SHORT)
			__builtin_memcpy(&x, key->name + i * 8, 8);
		__builtin_memcpy(nb->name + i * 8, &x, 8);
	}
	w.buf = nb->name;
	w.len = key->name_len;
	bpf_loop(XDPNS_NAME_MAX / 2 + 1, nx_step, &w, 0);
	if (!w.found || w.pos == 0)
		return XDPNS_PASS_MISS; /* outside our zones, or the name exists */
	idx = w.val.zone;
	zone = bpf_map_lookup_elem(&xdpns_zones, &idx);
	if (!zone)
		return XDPNS_PASS_MISS;
	/* one reading of the generation: the name's half and the body are
	 * both of it (a flip meanwhile leaves that half alone for the grace
	 * period) */
	gen = *(volatile __u32 *)&zone->gen;
	if (gen == 0)
		return XDPNS_PASS_MISS;
	if (zone->flags & XDPNS_ZONE_F_EXPIRED)
		return XDPNS_PASS_ZONE_STATE;
	idx = idx * 2 + (gen & 1);
	nx = bpf_map_lookup_elem(&xdpns_nx, &idx);
	if (!nx || nx->gen != gen)
		return XDPNS_PASS_MISS;
	/* the encloser as of gen: the half valid for it (a name gen does not
	 * have yet, or no longer, has none, or no flags) */
	if (!(xdpns_name_pick(&w.val, gen) & XDPNS_NAME_F_SYNTH))
		return XDPNS_PASS_MISS;
	/* names written during the walk (for a generation after the one it
	 * began in): the walk may have missed some of them */
	if (*(volatile __u32 *)&sq->seq != seq)
		return XDPNS_PASS_MISS;
	b->h = &nx->blob.h;
	b->data = nx->blob.data;
	b->cap = XDPNS_BLOB_M_CAP;
	delta = q->qlen - nx->qlen;
	sum = 0;
	pt->n = 0;
#ifdef __clang__
#pragma unroll
#endif
	for (i = 0; i < XDPNS_NX_PTRS; i++) {
		__u16 v = nx->ptr_val[i] + delta, off = nx->ptr_off[i];

		if (i >= nx->n_ptrs)
			break;
		pt->off[i] = off;
		pt->val[i] = v;
		pt->n = i + 1;
		sum += (off & 1) ? (__u16)((v >> 8) | (v << 8)) : v;
	}
	pt->sum = sum;
	pt->zone = w.val.zone;
	return XDPNS_PASS_COUNT;
}

/* After answer_write: the pointers into the frame (its sums already count
 * them), by direct packet access (bpf_xdp_store_bytes cost ~100 ns a
 * call here). Returns 0 or -1 (the frame is half written: drop it). */
static __always_inline int nx_patch_frame(struct xdp_md *ctx,
					  const struct pkt *p,
					  const struct query *q,
					  const struct nx_patch *pt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 i, body_off = p->dns_off + DNS_HDR_LEN + q->qlen;

#ifdef __clang__
#pragma unroll
#endif
	for (i = 0; i < XDPNS_NX_PTRS; i++) {
		__u8 *w;

		if (i >= pt->n)
			break;
		w = data + ((body_off + pt->off[i]) & 0x7ff);
		if ((void *)(w + 2) > data_end)
			return -1;
		w[0] = pt->val[i] >> 8;
		w[1] = pt->val[i] & 0xff;
	}
	return 0;
}

#endif /* XDPNS_LIB_NX_H */
