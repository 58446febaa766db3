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
#ifndef XDPNS_BLOB_S_COUNT
#define XDPNS_BLOB_S_COUNT (1 << 18)
#endif
#ifndef XDPNS_BLOB_M_COUNT
#define XDPNS_BLOB_M_COUNT (1 << 16)
#endif
#ifndef XDPNS_BLOB_L_COUNT
#define XDPNS_BLOB_L_COUNT (1 << 13)
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

/* A reference to a blob: class in the top 2 bits, index below. 0 = none. */
#define XDPNS_REF_CLASS_SHIFT 30
#define XDPNS_REF_INDEX_MASK ((1u << XDPNS_REF_CLASS_SHIFT) - 1)
enum xdpns_blob_class {
	XDPNS_BLOB_NONE = 0,
	XDPNS_BLOB_S = 1,
	XDPNS_BLOB_M = 2,
	XDPNS_BLOB_L = 3,
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
 * one being served; the zone's flip selects the half (gen & 1). */
struct xdpns_entry {
	__u32 zone; /* index into the zones map */
	__u32 pad;
	struct xdpns_half half[2];
};
_Static_assert(sizeof(struct xdpns_entry) == 40, "xdpns_entry size");

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
	XDPNS_CNT_COUNT = XDPNS_CNT_RCODE_BASE + 16,
};

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
};
_Static_assert(sizeof(struct xdpns_scratch) == 1044, "scratch size");

/* Pin paths (bpffs) for maps shared with other tools. */
#define XDPNS_PIN_DIR "/sys/fs/bpf/xdpns"

#endif /* XDPNS_MAPS_H */
