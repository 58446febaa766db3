/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS question parsing into the canonical lookup key. Pure code over a
 * bounded buffer: compiled into the XDP program and, through
 * userspace/bpf_shim.h, into userspace for unit tests and fuzzing.
 */
#ifndef XDPNS_LIB_DNS_H
#define XDPNS_LIB_DNS_H

#include "xdpns_maps.h"

#define DNS_HDR_LEN 12
#define DNS_TYPE_OPT 41
#define DNS_CLASS_IN 1

/* DNS header flag bits (host order view of the 16-bit flags field). */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_F_RCODE 0x000f
#define DNS_EDNS_DO 0x8000

/* Errors from dns_parse_question(), mapped to pass reasons by the caller. */
enum dns_parse_err {
	DNS_PARSE_OK = 0,
	DNS_PARSE_TRUNC = 1, /* buffer ends inside the question */
	DNS_PARSE_QNAME = 2, /* pointer, extended label type, > 255 bytes */
};

struct dns_question {
	__u16 qtype;
	__u16 qclass;
	__u16 qlen; /* name + 4 */
	__u32 csum; /* partial one's-complement sum of the question bytes as
		     * they are (case kept), starting at an even offset */
};

static __always_inline __u32 csum_fold16_(__u64 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u32)s;
}

/* The four little-endian 16-bit words of x, added (name bytes as read). */
static __always_inline __u64 dns_le_words(__u64 x)
{
	return (x & 0xffff) + ((x >> 16) & 0xffff) + ((x >> 32) & 0xffff) +
	       (x >> 48);
}

/* A sum of little-endian words folded to 16 bits and byte-swapped: the
 * big-endian one's-complement partial sum of the same bytes. */
static __always_inline __u32 dns_le_sum_fold(__u64 lesum)
{
	__u32 csum;

	lesum = (lesum & 0xffffffff) + (lesum >> 32);
	csum = csum_fold16_(lesum);
	return ((csum >> 8) | (csum << 8)) & 0xffff;
}

/* An index the verifier can bound: clang may drop a plain "& 0xff" it
 * proves redundant, and with it the bound the verifier needs. */
#ifdef __bpf__
static __always_inline __u32 dns_mask_ff(__u32 v)
{
	asm volatile("%0 &= 255" : "+r"(v));
	return v;
}
static __always_inline __u32 dns_mask_1ff(__u32 v)
{
	asm volatile("%0 &= 511" : "+r"(v));
	return v;
}
#define DNS_MASK_FF(v) dns_mask_ff(v)
#define DNS_MASK_1FF(v) dns_mask_1ff(v)
#else
#define DNS_MASK_FF(v) ((v) & 0xff)
#define DNS_MASK_1FF(v) ((v) & 0x1ff)
#endif

/* Byte-parallel lowercase of 8 bytes (SWAR): 'A'..'Z' get 0x20; every
 * other byte, label lengths (<= 63) included, is kept. */
static __always_inline __u64 dns_lower8(__u64 x)
{
	const __u64 hi = 0x8080808080808080ull;
	__u64 low7 = x & ~hi;
	__u64 ge_a = low7 + 0x3f3f3f3f3f3f3f3full; /* bit 7 set: >= 'A' */
	__u64 gt_z = low7 + 0x2525252525252525ull; /* bit 7 set: > 'Z' */
	__u64 upper = (ge_a ^ gt_z) & ~x & hi;

	return x | (upper >> 2);
}

/* The label walk: one step per label (at most 128), run by bpf_loop in
 * BPF so the verifier checks one step, and by a plain loop in userspace. */
struct dns_label_walk {
	const __u8 *buf;
	__u32 len;
	__u32 pos; /* offset of the current length byte */
	__u32 err;
	__u32 done; /* the root label was reached at pos */
};

static __always_inline long dns_label_step(__u64 idx, struct dns_label_walk *w)
{
	__u32 pos = w->pos;
	__u8 c;

	(void)idx;
	if (pos >= w->len || pos >= XDPNS_NAME_MAX) {
		w->err = pos >= w->len ? DNS_PARSE_TRUNC : DNS_PARSE_QNAME;
		return 1;
	}
	c = w->buf[DNS_MASK_FF(pos)];
	if (c == 0) {
		w->done = 1;
		return 1;
	}
	if (c > 63) {
		w->err = DNS_PARSE_QNAME;
		return 1;
	}
	w->pos = pos + c + 1;
	return 0;
}

#ifdef __bpf__
static long dns_label_step_cb(__u64 idx, void *ctx)
{
	return dns_label_step(idx, ctx);
}
/* the first labels inline (most names have few), the rest by bpf_loop */
#define DNS_LABEL_INLINE 6
#define DNS_LABEL_WALK(w)                                                   \
	do {                                                                 \
		int _k, _stop = 0;                                           \
		_Pragma("unroll") for (_k = 0; _k < DNS_LABEL_INLINE; _k++)  \
		{                                                            \
			if (dns_label_step(_k, (w))) {                       \
				_stop = 1;                                   \
				break;                                       \
			}                                                    \
		}                                                            \
		if (!_stop)                                                  \
			bpf_loop(128 - DNS_LABEL_INLINE, dns_label_step_cb, (w), 0); \
	} while (0)
#else
#define DNS_LABEL_WALK(w)                                                   \
	do {                                                                 \
		__u64 _i;                                                    \
		for (_i = 0; _i < 128; _i++)                                 \
			if (dns_label_step(_i, (w)))                         \
				break;                                       \
	} while (0)
#endif

/*
 * Parse the question at buf[0..len). buf must hold XDPNS_QBUF_LEN bytes
 * (bytes past len are read but never used). Fills the key (lowercased name
 * zero padded to 64 bytes for names up to 64, to 256 for longer ones: the
 * prefix its lookups read; name_len, qtype, variant 0) and q.
 *
 * The label walk is a bounded loop with one exit per check; the copy,
 * lowercasing, zero padding and checksum go 8 bytes at a time over a fixed
 * 256 bytes, so the verifier sees straight-line code.
 */
static __always_inline int dns_parse_question(const __u8 *buf, __u32 len,
					      struct xdpns_key *key,
					      struct dns_question *q)
{
	__u32 pos, name_len, i, w;
	__u64 lesum = 0; /* sum of little-endian 16-bit words of the name */
	__u32 csum;

	struct dns_label_walk lw = { .buf = buf, .len = len };

	DNS_LABEL_WALK(&lw);
	if (lw.err)
		return lw.err;
	if (!lw.done)
		return DNS_PARSE_QNAME;
	pos = lw.pos;
	if (pos >= XDPNS_NAME_MAX)
		return DNS_PARSE_QNAME;
	name_len = pos + 1;
	if (name_len + 4 > len)
		return DNS_PARSE_TRUNC;

	/* words past the name are written as zeros up to the key prefix the
	 * lookups read: 64 bytes for short names (the class-32 and class-64
	 * maps and the short LRU), all 256 for longer ones */
#ifdef __clang__
#pragma unroll
#endif
	for (w = 0; w < XDPNS_KEY_NAME / 8; w++) {
		__u64 x;

		if (w == XDPNS_LRU_SHORT / 8 && name_len <= XDPNS_LRU_SHORT)
			break;
		__builtin_memcpy(&x, buf + w * 8, 8);
		if (w * 8 >= name_len)
			x = 0;
		else if (w * 8 + 8 > name_len)
			x &= (1ull << ((name_len - w * 8) * 8)) - 1; /* little endian */
		lesum += dns_le_words(x);
		x = dns_lower8(x);
		__builtin_memcpy(key->name + w * 8, &x, 8);
	}
	csum = dns_le_sum_fold(lesum);

	i = DNS_MASK_FF(name_len); /* the four bytes after it are in buf */
	q->qtype = ((__u16)buf[i] << 8) | buf[i + 1];
	q->qclass = ((__u16)buf[i + 2] << 8) | buf[i + 3];
	csum += (i & 1) ? ((__u32)buf[i] + ((__u32)buf[i + 1] << 8) +
			   (__u32)buf[i + 2] + ((__u32)buf[i + 3] << 8))
			: ((((__u32)buf[i] << 8) | buf[i + 1]) +
			   (((__u32)buf[i + 2] << 8) | buf[i + 3]));
	key->name_len = name_len;
	key->qtype = q->qtype;
	key->variant = 0;
	q->qlen = name_len + 4;
	q->csum = csum;
	return DNS_PARSE_OK;
}

#ifdef __bpf__
/*
 * The fast path of the question parser, in place in the packet: no copy
 * (bpf_xdp_load_bytes is a helper call, and every call costs a return
 * through the CPU's return-stack mitigation here), no bpf_loop. It takes
 * the common case only, names of at most DNS_FAST_LABELS labels and
 * DNS_FAST_NAME bytes, well formed, and says DNS_PARSE_SLOW for anything
 * else, so that dns_parse_question() on a copy decides, exactly as it
 * always did. The key and q it fills are the same bytes that
 * dns_parse_question() would produce (the BPF tests compare the answers).
 *
 * qoff: offset of the question in the frame (< 256); avail: bytes of the
 * DNS message from there on (question + OPT), per the UDP header.
 */
#define DNS_PARSE_SLOW 3
#define DNS_FAST_LABELS 8
#define DNS_FAST_NAME 64

/* A copy of v that the verifier does not link to v: its tests narrow the
 * copy only. (Narrowed copies of a value that stays live would each be
 * verified down the rest of the program.) */
static __always_inline __u32 dns_copy_7ff(__u32 v)
{
	asm volatile("%0 &= 2047" : "+r"(v));
	return v;
}

static __always_inline int dns_parse_pkt(void *data, void *data_end,
					 __u32 qoff, __u32 avail,
					 struct xdpns_key *key,
					 struct dns_question *q)
{
	__u32 pos = 0, name_len, w, k;
	__u64 lesum = 0;
	__u32 csum;
	__u8 *p;

	if (qoff > 255 || avail > 1500)
		return DNS_PARSE_SLOW;
#pragma unroll
	for (k = 0; k < DNS_FAST_LABELS; k++) {
		__u8 c;

		/* no test against avail here: a walk that runs past it (into
		 * Ethernet padding) ends SLOW all the same, by the frame's end,
		 * a bad label, the length limits or name_len + 4 > avail below */
		p = data + (DNS_MASK_1FF(qoff + pos) & 0x1ff);
		asm volatile("" : "+r"(p));
		if ((void *)(p + 1) > data_end)
			return DNS_PARSE_SLOW;
		c = *p;
		if (c == 0)
			break;
		if (c > 63)
			return DNS_PARSE_SLOW;
		pos += c + 1;
		if (pos >= DNS_FAST_NAME)
			return DNS_PARSE_SLOW;
	}
	if (k == DNS_FAST_LABELS)
		return DNS_PARSE_SLOW;
	/* read back from the key: the same value whichever label ended the
	 * walk, as far as the verifier knows, so one state goes on */
	key->name_len = pos + 1;
	name_len = *(volatile __u8 *)&key->name_len;
	if (name_len < 1 || name_len > DNS_FAST_NAME ||
	    name_len + 4 > dns_copy_7ff(avail))
		return DNS_PARSE_SLOW;

	/* the name 8 bytes at a time, zero padded to 64 bytes (the prefix
	 * that the class-32 and class-64 maps and the short LRU read); the
	 * word that would run past the message is loaded from its last 8
	 * bytes and shifted into place */
#pragma unroll
	for (w = 0; w < DNS_FAST_NAME / 8; w++) {
		__u32 nl = DNS_MASK_FF(name_len), av = dns_copy_7ff(avail);
		__u32 off = w * 8, sh = 0;
		__u64 x, *wp;

		/* one 8-byte store (the word sits at offset 4 of the key: a
		 * memcpy of a byte array would be eight byte stores) */
		if (w * 8 >= nl) {
			*(__u64 *)(void *)(key->name + w * 8) = 0;
			continue;
		}
		if (off + 8 > av) {
			sh = off + 8 - av; /* 1..3 */
			off = av - 8;
		}
		wp = data + (DNS_MASK_1FF(qoff + off) & 0x1ff);
		asm volatile("" : "+r"(wp));
		if ((void *)(wp + 1) > data_end)
			return DNS_PARSE_SLOW;
		x = *wp >> (DNS_MASK_FF(sh) & 7) * 8;
		if (w * 8 + 8 > nl)
			x &= (1ull << ((nl - w * 8) & 7) * 8) - 1;
		/* the 16-bit words in two 32-bit lanes (dns_le_words, in half
		 * the instructions): each lane stays under 2^21 */
		lesum += (x & 0x0000ffff0000ffffull) +
			 ((x >> 16) & 0x0000ffff0000ffffull);
		*(__u64 *)(void *)(key->name + w * 8) = dns_lower8(x);
	}
	csum = dns_le_sum_fold(lesum);

	p = data + (DNS_MASK_1FF(qoff + name_len) & 0x1ff);
	asm volatile("" : "+r"(p));
	if ((void *)(p + 4) > data_end)
		return DNS_PARSE_SLOW;
	q->qtype = ((__u16)p[0] << 8) | p[1];
	q->qclass = ((__u16)p[2] << 8) | p[3];
	csum += (name_len & 1) ? ((__u32)p[0] + ((__u32)p[1] << 8) +
				  (__u32)p[2] + ((__u32)p[3] << 8))
			       : ((((__u32)p[0] << 8) | p[1]) +
				  (((__u32)p[2] << 8) | p[3]));
	key->qtype = q->qtype;
	key->variant = 0;
	q->qlen = name_len + 4;
	q->csum = csum;
	return DNS_PARSE_OK;
}
#endif

/* Fold a 32-bit partial sum to 16 bits (not complemented). */
static __always_inline __u16 csum_fold16(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* The sum of bytes placed at an odd offset is the byte-swapped sum. */
static __always_inline __u32 csum_at_offset(__u32 sum, __u32 offset)
{
	__u16 f = csum_fold16(sum);

	if (offset & 1)
		f = (__u16)((f >> 8) | (f << 8));
	return f;
}

#endif /* XDPNS_LIB_DNS_H */
