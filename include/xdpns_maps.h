/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one truth shared by the XDP program and userspace: map keys and values,
 * limits, counters and pass reasons. Fixed-width fields, explicit padding,
 * sizes asserted. Byte order is host unless a field says "be".
 */
#ifndef XDPNS_MAPS_H
#define XDPNS_MAPS_H

#include <linux/types.h>

/* ---- limits (resizable per build) ---- */
#ifndef XDPNS_MAX_ENTRIES
#define XDPNS_MAX_ENTRIES (1 << 20) /* (qname, qtype) entries */
#endif
#ifndef XDPNS_MAX_ZONES
#define XDPNS_MAX_ZONES 1024
#endif
#ifndef XDPNS_BLOB_XS_COUNT
#define XDPNS_BLOB_XS_COUNT (1 << 14)
#endif
/* The blob counts are minimums: the loader adds room for the zones' keys
 * (userspace/loader.c) and server.map-keys. */
#ifndef XDPNS_BLOB_S_COUNT
#define XDPNS_BLOB_S_COUNT (1 << 14)
#endif
#ifndef XDPNS_BLOB_M_COUNT
#define XDPNS_BLOB_M_COUNT (1 << 12)
#endif
#ifndef XDPNS_BLOB_L_COUNT
#define XDPNS_BLOB_L_COUNT (1 << 10)
#endif

#ifndef XDPNS_LRU_ENTRIES
#define XDPNS_LRU_ENTRIES 16384 /* answers first computed by the slow path */
#endif

#define XDPNS_NAME_MAX 255 /* wire-format name incl. root label */
#define XDPNS_KEY_NAME 256 /* key name buffer (zero padded) */
#define XDPNS_EDNS_SIZE 1232 /* our UDP payload size, advertised in OPT */
#define XDPNS_UDP_NOEDNS 512
#define XDPNS_OPT_LEN 11 /* root + type + class + ttl + rdlen, no options */

/* Blob capacities: body bytes after the question (answer, authority and
 * additional records, never the OPT). A body larger than the L class cannot
 * be sent over UDP by XDP anyway (1232 - header - smallest question). */
#define XDPNS_BLOB_XS_CAP 32 /* an A or AAAA answer: 16 or 28 bytes */
#define XDPNS_BLOB_S_CAP 120
#define XDPNS_BLOB_M_CAP 504
#define XDPNS_BLOB_L_CAP 1216

/* ---- the lookup key: one entry per (name, type) ---- */
struct xdpns_key {
	__u16 qtype; /* host order */
	__u8 name_len; /* wire length incl. root byte, 1..255 */
	__u8 variant; /* 0 in xdpns_entries; 1 + enum xdpns_variant in the LRU */
	__u8 name[XDPNS_KEY_NAME]; /* lowercased wire name, zero padded */
};
_Static_assert(sizeof(struct xdpns_key) == 260, "xdpns_key size");

/* Keys come in name-length classes: a class-N map has key_size 4 + N and
 * reads only that prefix of struct xdpns_key, so a short name is hashed
 * and compared over 36 bytes, not 260 (a 260-byte jhash cost ~150 ns). */
#define XDPNS_KEY_HDR 4
#define XDPNS_KEYCLASS_COUNT 4
#define XDPNS_KEYCLASS_0 32
#define XDPNS_KEYCLASS_1 64
#define XDPNS_KEYCLASS_2 128
#define XDPNS_KEYCLASS_3 256
#define XDPNS_KEYCLASS(len)                                                    \
	((len) <= XDPNS_KEYCLASS_0 ? 0 : (len) <= XDPNS_KEYCLASS_1 ? 1 :       \
	 (len) <= XDPNS_KEYCLASS_2 ? 2 : 3)
/* BTF types for the class maps' keys: the prefix of struct xdpns_key */
struct xdpns_key_32 {
	__u8 bytes[XDPNS_KEY_HDR + XDPNS_KEYCLASS_0];
};
struct xdpns_key_64 {
	__u8 bytes[XDPNS_KEY_HDR + XDPNS_KEYCLASS_1];
};
struct xdpns_key_128 {
	__u8 bytes[XDPNS_KEY_HDR + XDPNS_KEYCLASS_2];
};
/* the LRU has two classes: short names and the rest */
#define XDPNS_LRU_SHORT XDPNS_KEYCLASS_1

/* A reference to a blob: class in the top 3 bits, index below. 0 = none. */
#define XDPNS_REF_CLASS_SHIFT 29
#define XDPNS_REF_INDEX_MASK ((1u << XDPNS_REF_CLASS_SHIFT) - 1)
enum xdpns_blob_class {
	XDPNS_BLOB_NONE = 0,
	XDPNS_BLOB_S = 1,
	XDPNS_BLOB_M = 2,
	XDPNS_BLOB_L = 3,
	XDPNS_BLOB_XS = 4, /* compact header, no cut points: see below */
	XDPNS_BLOB_CLASSES = 5,
};

/* Response variants: the body depends on DO only. The header and the
 * question come from the query, the OPT is appended when the query had one,
 * and TC is decided from the size at answer time. */
enum xdpns_variant {
	XDPNS_VAR_NODO = 0,
	XDPNS_VAR_DO = 1,
	XDPNS_VAR_COUNT = 2,
};

/* One generation's view of an entry. */
struct xdpns_half {
	__u32 gen; /* zone generation this half belongs to; 0 = empty */
	__u32 ref[XDPNS_VAR_COUNT]; /* blob refs per variant */
	__u32 pad;
};
_Static_assert(sizeof(struct xdpns_half) == 16, "xdpns_half size");

/* Entries hold two halves so a zone's next generation is written beside the
 * one being served. A half is valid from its generation on: for the zone's
 * generation G the entry answers from the half with the highest gen <= G
 * (gen 0 = empty). So a publish writes only the entries that change (their
 * other half, with gen G + 1), an entry it does not touch keeps answering
 * across the flip, and a key the new generation drops gets a G + 1 half
 * with no refs (a miss) until it is deleted after the flip. */
struct xdpns_entry {
	__u32 zone; /* index into the zones map */
	__u32 pad;
	struct xdpns_half half[2];
};
_Static_assert(sizeof(struct xdpns_entry) == 40, "xdpns_entry size");

/* The half of e that answers for zone generation gen, or NULL (a miss). */
static inline __attribute__((always_inline)) const struct xdpns_half *
xdpns_half_pick(const struct xdpns_entry *e, __u32 gen)
{
	__u32 g0 = e->half[0].gen, g1 = e->half[1].gen;
	int ok0 = g0 && g0 <= gen, ok1 = g1 && g1 <= gen;

	if (ok0 && (!ok1 || g0 > g1))
		return &e->half[0];
	if (ok1)
		return &e->half[1];
	return 0;
}

/* ---- the entries table (docs/design.md "The entries table") ----
 * Names of up to 64 bytes are looked up in an open-addressing table held in
 * a BPF_MAP_TYPE_ARRAY (one per class: names up to 32 and up to 64 bytes),
 * which the verifier inlines (no call), mapped into the daemon, which writes
 * slots in place. A key hashes to a home slot and lives in one of the
 * XDPNS_TABLE_PROBES slots from there; one that finds none free goes to the
 * overflow hash of its class (xdpns_entries_32/64), and its home slot's ovf
 * counts it, so a key missing from the table is looked for there only when
 * its home says so. Longer names stay in the hashes xdpns_entries_128/256.
 *
 * A slot begins with the key's own first 4 + N bytes (struct xdpns_key's
 * prefix: qtype, name_len, variant, name), so XDP compares it 8 bytes at a
 * time with the key it parsed. The variant byte is the slot's state: 0 (the
 * lookup key's variant) for a live entry, so a dead or free slot never
 * compares equal. A slot whose first 4 bytes are zero was never used: the
 * probe stops there. Array index 0 is a slot like any other. */
#ifndef XDPNS_TABLE_PROBES
#define XDPNS_TABLE_PROBES 8
#endif
#define XDPNS_TABLE_CLASSES 2 /* classes 0 and 1 of XDPNS_KEYCLASS */
enum xdpns_slot_state {
	XDPNS_SLOT_LIVE = 0,
	XDPNS_SLOT_DEAD = 1, /* deleted, in its grace period: readers may hold it */
	XDPNS_SLOT_FREE = 2, /* deleted and past it: the writer may reuse it */
};
/* A half as in struct xdpns_half, without padding. */
struct xdpns_slot_half {
	__u32 gen;
	__u32 ref[XDPNS_VAR_COUNT];
};
struct xdpns_slot_32 {
	__u16 qtype; /* the key prefix: struct xdpns_key's first 36 bytes */
	__u8 name_len; /* 0 (and qtype 0): never used */
	__u8 state; /* enum xdpns_slot_state */
	__u8 name[XDPNS_KEYCLASS_0];
	__u16 zone;
	__u8 ovf; /* keys whose home is this slot that are in the overflow
		   * hash (255: at least that many, never decremented) */
	__u8 pad;
	struct xdpns_slot_half half[2];
};
struct xdpns_slot_64 {
	__u16 qtype;
	__u8 name_len;
	__u8 state;
	__u8 name[XDPNS_KEYCLASS_1];
	__u16 zone;
	__u8 ovf;
	__u8 pad;
	struct xdpns_slot_half half[2];
};
_Static_assert(sizeof(struct xdpns_slot_half) == 12, "slot half size");
_Static_assert(sizeof(struct xdpns_slot_32) == 64, "slot_32 size");
_Static_assert(sizeof(struct xdpns_slot_64) == 96, "slot_64 size");
_Static_assert(XDPNS_MAX_ZONES <= 65536, "zone slot fits a table slot's u16");
/* A names table slot (bpf/lib/nx.h): the same key prefix (qtype 0), zone
 * and overflow count at the same offsets, then both halves' flags in one
 * byte (half 0 in the low nibble) and their generations. */
struct xdpns_nslot_value {
	__u16 zone;
	__u8 ovf;
	__u8 flags; /* XDPNS_NAME_F_* of half 0 | those of half 1 << 4 */
	__u32 gen[2];
};
struct xdpns_nslot_32 {
	__u16 qtype; /* 0 */
	__u8 name_len;
	__u8 state;
	__u8 name[XDPNS_KEYCLASS_0];
	struct xdpns_nslot_value v;
};
struct xdpns_nslot_64 {
	__u16 qtype;
	__u8 name_len;
	__u8 state;
	__u8 name[XDPNS_KEYCLASS_1];
	struct xdpns_nslot_value v;
};
_Static_assert(sizeof(struct xdpns_nslot_32) == 48, "nslot_32 size");
_Static_assert(sizeof(struct xdpns_nslot_64) == 80, "nslot_64 size");
#define XDPNS_NSLOT_FLAGS_OFF(cap) (7 + (cap))
#define XDPNS_NSLOT_GEN_OFF(cap) (8 + (cap))
#define XDPNS_SLOT_ZONE_OFF(cap) (4 + (cap)) /* offsets by name capacity */
#define XDPNS_SLOT_OVF_OFF(cap) (6 + (cap))
#define XDPNS_SLOT_HALF_OFF(cap) (8 + (cap))

/* The key's hash: its first 4 + cap bytes (cap 32 or 64) as cap/8 64-bit
 * words and a 32-bit tail, little endian as loaded (x86, and BPF on it).
 * XDP computes it from the key it parsed, the daemon from the same bytes. */
#define XDPNS_HASH_M1 0x9e3779b97f4a7c15ull
#define XDPNS_HASH_M2 0xbf58476d1ce4e5b9ull
static inline __attribute__((always_inline)) __u64 xdpns_hash_add(__u64 h,
								  __u64 w)
{
	return (h ^ w) * XDPNS_HASH_M1;
}
/* The home slot in [0, n_home): the high bits, mixed, scaled (no modulo). */
static inline __attribute__((always_inline)) __u32 xdpns_hash_home(__u64 h,
								   __u32 n_home)
{
	h ^= h >> 32;
	h *= XDPNS_HASH_M2;
	h ^= h >> 29;
	return (__u32)(((h >> 32) * (__u64)n_home) >> 32);
}

/* Per-zone state read by XDP. A flip is one aligned 32-bit store of gen. */
#define XDPNS_ZONE_F_EXPIRED 0x1 /* answer nothing from XDP (slow path: SERVFAIL) */
struct xdpns_zone {
	__u32 gen; /* active generation; 0 = zone not served from XDP */
	__u32 flags;
};
_Static_assert(sizeof(struct xdpns_zone) == 8, "xdpns_zone size");

/* Where a body too big for the client may be cut instead of truncated:
 * after answer + authority and after each leading additional RRset
 * (RFC 2181 9: additional data may be dropped without TC). The largest
 * XDPNS_CUTS cut points are stored, longest first. */
#define XDPNS_CUTS 4
#define XDPNS_BLOB_F_MORE_CUTS 0x1 /* shorter cuts exist than those stored:
				    * when none stored fits, pass to userspace */
#define XDPNS_BLOB_F_REFERRAL 0x2 /* a referral (delegation): RRL kind */

/* Blob header: the response header fields we own and the body. */
struct xdpns_blob_hdr {
	__be16 flags; /* QR AA TC RD RA Z AD CD rcode as on the wire, RD=CD=0 */
	__be16 ancount;
	__be16 nscount;
	__be16 arcount; /* excluding the OPT */
	__u16 len; /* body length in data[]; 0xffff: never fits UDP */
	__u8 n_cuts; /* valid entries in cut_* */
	__u8 bflags; /* XDPNS_BLOB_F_* */
	__u32 csum; /* 32-bit one's-complement partial sum of data[0..len) as
		     * big-endian 16-bit words starting at an even offset */
	__u16 cut_len[XDPNS_CUTS];
	__u16 cut_ar[XDPNS_CUTS]; /* host order */
	__u32 cut_csum[XDPNS_CUTS]; /* partial sum of data[0..cut_len) */
};
_Static_assert(sizeof(struct xdpns_blob_hdr) == 48, "blob hdr size");

struct xdpns_blob_s {
	struct xdpns_blob_hdr h;
	__u8 data[XDPNS_BLOB_S_CAP];
};
struct xdpns_blob_m {
	struct xdpns_blob_hdr h;
	__u8 data[XDPNS_BLOB_M_CAP];
};
struct xdpns_blob_l {
	struct xdpns_blob_hdr h;
	__u8 data[XDPNS_BLOB_L_CAP];
};
/* The XS class holds the many tiny bodies (one A or AAAA) in 48 bytes
 * instead of 168: a 16-byte header without cut points (a body this short
 * always fits: 12 + 259 + 32 + 11 < 512). Its header is the first 16
 * bytes of struct xdpns_blob_hdr with n_cuts 0, so XDP reads an XS value
 * through that header as it is (the cut fields it would overlay are
 * never read with no cuts). */
struct xdpns_blob_xs_hdr {
	__be16 flags;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
	__u16 len; /* 1..XDPNS_BLOB_XS_CAP */
	__u8 n_cuts; /* always 0 */
	__u8 bflags;
	__u32 csum;
};
struct xdpns_blob_xs {
	struct xdpns_blob_xs_hdr h;
	__u8 data[XDPNS_BLOB_XS_CAP];
};
_Static_assert(sizeof(struct xdpns_blob_xs_hdr) == 16, "blob_xs hdr size");
_Static_assert(sizeof(struct xdpns_blob_xs) == 48, "blob_xs size");
_Static_assert(__builtin_offsetof(struct xdpns_blob_xs_hdr, bflags) ==
		       __builtin_offsetof(struct xdpns_blob_hdr, bflags) &&
	       __builtin_offsetof(struct xdpns_blob_xs_hdr, csum) ==
		       __builtin_offsetof(struct xdpns_blob_hdr, csum) &&
	       sizeof(struct xdpns_blob_xs) == sizeof(struct xdpns_blob_hdr),
	       "an XS blob reads as a blob header with no cuts");
_Static_assert(sizeof(struct xdpns_blob_s) == 168, "blob_s size");
_Static_assert(sizeof(struct xdpns_blob_m) == 552, "blob_m size");
_Static_assert(sizeof(struct xdpns_blob_l) == 1264, "blob_l size");

/* An answer the slow path computed (a wildcard hit, a name under a
 * delegation, an NXDOMAIN), cached for XDP in an LRU map so the next
 * identical query is answered at the edge; bounded, so a random-subdomain
 * flood cannot grow memory. Valid while the zone's generation is gen. */
struct xdpns_lru_value {
	__u32 zone;
	__u32 gen;
	struct xdpns_blob_m blob;
};
_Static_assert(sizeof(struct xdpns_lru_value) == 560, "lru value size");

/* ---- NXDOMAIN synthesis for unsigned zones (docs/design.md) ----
 * When a qname has no entry, XDP looks its suffixes up, longest first, in
 * the names maps to find the closest encloser. The key is the lowercased
 * wire name alone, zero padded to its class (32, 64, 128, 256 bytes as
 * XDPNS_KEYCLASS): a wire name read from its first byte ends at its root
 * label, so padding cannot make two names equal. */
struct xdpns_name_key_32 {
	__u8 name[XDPNS_KEYCLASS_0];
};
struct xdpns_name_key_64 {
	__u8 name[XDPNS_KEYCLASS_1];
};
struct xdpns_name_key_128 {
	__u8 name[XDPNS_KEYCLASS_2];
};
struct xdpns_name_key_256 {
	__u8 name[XDPNS_KEYCLASS_3];
};

/* The name is a closest encloser whose missing children are NXDOMAIN:
 * not at a zone cut, not a DNAME owner, no wildcard child, not a name the
 * SOA's MNAME/RNAME could compress against (and the zone is unsigned). */
#define XDPNS_NAME_F_SYNTH 0x1

/* One name of a zone: two halves, valid from their generation on like an
 * entry's (xdpns_name_pick): a publish that adds a name, drops one or
 * changes its flags writes that name's other half with gen G + 1; a name
 * it does not touch keeps its half across the flip. A dropped name's
 * G + 1 half has no flags (pass) until it is deleted after the flip. */
struct xdpns_name {
	__u32 zone; /* index into the zones map */
	__u32 gen[2]; /* 0 = empty */
	__u8 flags[2]; /* XDPNS_NAME_F_* per half */
	__u16 pad;
};
_Static_assert(sizeof(struct xdpns_name) == 16, "xdpns_name size");

/* The flags of name n for zone generation gen: those of the half with the
 * highest gen <= gen; 0 (pass) when there is none. */
static inline __attribute__((always_inline)) __u8
xdpns_name_pick(const struct xdpns_name *n, __u32 gen)
{
	__u32 g0 = n->gen[0], g1 = n->gen[1];
	int ok0 = g0 && g0 <= gen, ok1 = g1 && g1 <= gen;

	if (ok0 && (!ok1 || g0 > g1))
		return n->flags[0];
	if (ok1)
		return n->flags[1];
	return 0;
}

/* xdpns_nx_seq[0]: bumped by the daemon after it writes names and before
 * the flip that makes them visible. XDP reads it before its walk and
 * again after it has read the zone's generation, and passes when it
 * moved: a walk that began before names of generation G + 1 were written
 * never answers for G + 1. */
struct xdpns_nx_seq {
	__u32 seq;
};

/* Per zone and half (index slot * 2 + (gen & 1)): the zone's NXDOMAIN
 * body (the SOA with the negative TTL) as the engine makes it for a
 * question of qlen bytes. For a question of another length XDP adds the
 * difference to each compression pointer listed (they all point into the
 * zone apex's part of the question or into the body, which move with the
 * question's length). blob.h.csum is the sum with those pointers' bytes
 * as zero; XDP adds the pointers it writes. */
#define XDPNS_NX_PTRS 3 /* SOA owner, MNAME, RNAME */
struct xdpns_nx {
	__u32 gen; /* generation this half belongs to; 0 = none */
	__u16 qlen;
	__u16 n_ptrs;
	__u16 ptr_off[XDPNS_NX_PTRS]; /* body offsets, host order */
	__u16 ptr_val[XDPNS_NX_PTRS]; /* pointer words for qlen, host order */
	struct xdpns_blob_m blob;
};
_Static_assert(sizeof(struct xdpns_nx) == 572, "xdpns_nx size");

/* Per-CPU buffer of the closest-encloser walk: the lowercased qname, zero
 * padded so every suffix is a key of its class read in place. */
#define XDPNS_NX_BUF 512
struct xdpns_nx_buf {
	__u8 name[XDPNS_NX_BUF];
};

/* ---- counters: per-CPU array indexed by enum ---- */
enum xdpns_pass_reason {
	XDPNS_PASS_NOT_IP = 0, /* not IPv4/IPv6 (ARP, ...) */
	XDPNS_PASS_NOT_UDP53, /* not UDP to port 53 */
	XDPNS_PASS_IP_OPTIONS, /* IPv4 options or IPv6 extension headers */
	XDPNS_PASS_FRAGMENT,
	XDPNS_PASS_MALFORMED, /* truncated or inconsistent headers */
	XDPNS_PASS_NOT_QUERY, /* QR=1, opcode != QUERY, counts not 1/0/0/<=1 */
	XDPNS_PASS_QNAME, /* compression, bad labels, name too long */
	XDPNS_PASS_QCLASS, /* class not IN */
	XDPNS_PASS_EDNS, /* OPT we don't answer in XDP: options, version, bad */
	XDPNS_PASS_MISS, /* no entry, or stale generation */
	XDPNS_PASS_ZONE_STATE, /* zone expired or unknown */
	XDPNS_PASS_TOO_BIG, /* response would not fit the frame */
	XDPNS_PASS_ERROR, /* helper failure */
	XDPNS_PASS_COUNT,
};

enum xdpns_counter {
	XDPNS_CNT_RX = 0, /* every frame the program saw */
	XDPNS_CNT_ANSWERED, /* XDP_TX */
	XDPNS_CNT_TRUNCATED, /* answered with TC=1 */
	XDPNS_CNT_DROPPED, /* XDP_DROP: could not be valid IP/UDP */
	XDPNS_CNT_LRU_HIT, /* answered from the LRU of slow-path answers */
	XDPNS_CNT_PASS_BASE, /* + enum xdpns_pass_reason */
	XDPNS_CNT_RCODE_BASE = XDPNS_CNT_PASS_BASE + XDPNS_PASS_COUNT,
	/* + rcode 0..15 */
	XDPNS_CNT_RRL_BASE = XDPNS_CNT_RCODE_BASE + 16,
	/* + XDPNS_CNT_RRL(kind, action): responses RRL let through, slipped
	 * (sent TC=1 with no records) and dropped */
	XDPNS_CNT_PASS_LIMIT_PREFIX = XDPNS_CNT_RRL_BASE + 12,
	/* queries dropped instead of passed: over server.pass-limit-prefix */
	XDPNS_CNT_PASS_LIMIT_TOTAL, /* over server.pass-limit */
	XDPNS_CNT_NX_SYNTH, /* NXDOMAIN made in XDP (also in rcode 3) */
	XDPNS_CNT_COUNT,
};

/* ---- response rate limiting (bpf/lib/rrl.h, userspace/rrl.c) ---- */
enum xdpns_rrl_kind {
	XDPNS_RRL_ANSWER = 0, /* NOERROR with data, or NODATA */
	XDPNS_RRL_NXDOMAIN,
	XDPNS_RRL_ERROR, /* any other rcode */
	XDPNS_RRL_REFERRAL, /* blob flag XDPNS_BLOB_F_REFERRAL */
	XDPNS_RRL_KINDS,
};
enum xdpns_rrl_action {
	XDPNS_RRL_PASS = 0,
	XDPNS_RRL_SLIP,
	XDPNS_RRL_DROP,
	XDPNS_RRL_ACTIONS,
};
#define XDPNS_CNT_RRL(kind, action)                                            \
	(XDPNS_CNT_RRL_BASE + (kind) * XDPNS_RRL_ACTIONS + (action))
_Static_assert(XDPNS_RRL_KINDS * XDPNS_RRL_ACTIONS == 12, "rrl counters");

#ifndef XDPNS_RRL_ENTRIES
#define XDPNS_RRL_ENTRIES 65536 /* buckets per CPU (LRU) */
#endif
#ifndef XDPNS_PASS_ENTRIES
#define XDPNS_PASS_ENTRIES 16384 /* pass-limit buckets per CPU (LRU) */
#endif
#ifndef XDPNS_EXEMPT_ENTRIES
#define XDPNS_EXEMPT_ENTRIES 1024
#endif

/* Bucket key: the source masked to its prefix, and the kind
 * (XDPNS_RRL_KINDS in the pass-limit map). */
struct xdpns_rrl_key {
	__u8 kind;
	__u8 ipv6;
	__u8 pad[2];
	__be32 addr[4]; /* IPv4: addr[0] */
};
_Static_assert(sizeof(struct xdpns_rrl_key) == 20, "rrl key size");

/* A token bucket as BIND keeps it: a balance credited with time, capped at
 * one second's worth, debited one token per response, floored at -window
 * seconds' worth (a source that keeps flooding stays limited for window
 * seconds after it stops). In units: one token = rate.cost units; time
 * credits elapsed_ns * rate.rate units. stamp 0: never used. */
struct xdpns_rrl_bucket {
	__s64 balance;
	__u64 stamp_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last use */
	__u32 slip_cnt; /* limited responses since the last slip */
	__u32 pad;
};
_Static_assert(sizeof(struct xdpns_rrl_bucket) == 24, "rrl bucket size");

/* One rate, precomputed by userspace (rrl_rate()). */
struct xdpns_rrl_rate {
	__u64 rate; /* tokens per second per bucket, over all CPUs */
	__u64 cost; /* units per token: ncpus * 1e9 (per-CPU share) */
	__s64 credit_max; /* rate * 1e9: one second */
	__s64 debt_min; /* -(rate * window * 1e9); 0: no debt */
	__u64 reset_ns; /* idle longer than this: the bucket starts full */
};
_Static_assert(sizeof(struct xdpns_rrl_rate) == 40, "rrl rate size");

#define XDPNS_LIM_F_RRL 0x1 /* response rate limiting on */
#define XDPNS_LIM_F_PASS_TOTAL 0x2 /* server.pass-limit */
#define XDPNS_LIM_F_PASS_PREFIX 0x4 /* server.pass-limit-prefix */
#define XDPNS_LIM_F_EXEMPT 0x8 /* the exempt trie has entries */
struct xdpns_limits {
	__u32 flags; /* XDPNS_LIM_F_* */
	__u32 slip; /* 0: drop all, 1: slip all, N: one in N */
	__be32 mask4; /* source prefix masks */
	__be32 mask6[4];
	__u32 pad;
	struct xdpns_rrl_rate rrl;
	struct xdpns_rrl_rate pass_total;
	struct xdpns_rrl_rate pass_prefix;
};
_Static_assert(sizeof(struct xdpns_limits) == 152, "limits size");

/* Exempt prefixes: an LPM trie over IPv6 addresses, IPv4 mapped into
 * ::ffff:0:0/96. The value says from what. */
#define XDPNS_EXEMPT_RRL 0x1
#define XDPNS_EXEMPT_PASS 0x2
struct xdpns_lpm_key {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct xdpns_lpm_key) == 20, "lpm key size");

/* ---- counters: one per-CPU value holds them all (xdpns_stats), so a
 * packet looks it up once ---- */
struct xdpns_zone_stats {
	__u64 answered; /* XDP_TX answers from this zone's entries, LRU or names */
};
_Static_assert(sizeof(struct xdpns_zone_stats) == 8, "zone stats size");
struct xdpns_counters {
	__u64 cnt[XDPNS_CNT_COUNT]; /* by enum xdpns_counter */
	struct xdpns_zone_stats zone[XDPNS_MAX_ZONES]; /* by zone slot; never
							* reset: userspace keeps a
							* base per slot */
};
_Static_assert(sizeof(struct xdpns_counters) ==
		       8 * (XDPNS_CNT_COUNT + XDPNS_MAX_ZONES), "counters size");

/* Per-CPU scratch: the key under construction (the lowercased wire qname,
 * whichever parser made it) and, for questions the in-place parser leaves
 * to the copy, a copy of the question (and OPT) so the parser indexes a
 * bounded buffer, not the packet. */
#define XDPNS_QBUF_LEN 272 /* 255 name + 4 + 11 OPT, rounded */
/* The most the reply keeps of the query in front of its body when it grows
 * at the head (Ethernet, VLAN, IPv6, UDP, DNS header, question). move[]
 * holds the reply's plan (struct xdpns_reply, bpf/lib/answer.h) while the
 * reply is written. */
#define XDPNS_MOVE_LEN 512
struct xdpns_scratch {
	struct xdpns_key key;
	__u8 qbuf[XDPNS_QBUF_LEN];
	__u8 move[XDPNS_MOVE_LEN];
	/* the entries lookup's results, stored and read back so that the
	 * verifier sees one state after it whichever map answered */
	__u32 ent_slot, ent_zone, ent_ref, ent_pad;
};
_Static_assert(sizeof(struct xdpns_scratch) == 1044 + 16, "scratch size");

/* Pin paths (bpffs) for maps shared with other tools. */
#define XDPNS_PIN_DIR "/sys/fs/bpf/xdpns"

#endif /* XDPNS_MAPS_H */
