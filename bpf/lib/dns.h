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

/* State of the name walk, one byte per step (bpf_loop callback in BPF, a
 * plain loop in userspace: the verifier then checks one step, not 255). */
struct dns_name_walk {
	const __u8 *buf; /* XDPNS_QBUF_LEN bytes */
	struct xdpns_key *key;
	__u32 len; /* valid bytes in buf */
	__u32 label; /* bytes left in the current label */
	__u32 csum;
	__u32 name_len; /* set when the root label is seen */
	__u32 err;
};

/* One byte of the name. Returns 1 to stop (done or error), 0 to go on. */
static __always_inline long dns_name_step(__u64 idx, struct dns_name_walk *w)
{
	__u32 i = (__u32)idx & 0xff;
	__u8 c;

	if (i >= w->len) {
		w->err = DNS_PARSE_TRUNC;
		return 1;
	}
	c = w->buf[i];
	w->csum += (i & 1) ? c : ((__u32)c << 8);
	if (w->label == 0) {
		if (c == 0) {
			w->name_len = i + 1;
			return 1;
		}
		if (c > 63) {
			w->err = DNS_PARSE_QNAME;
			return 1;
		}
		w->label = c;
	} else {
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		w->label--;
	}
	w->key->name[i] = c;
	return 0;
}

#ifdef __bpf__
static long dns_name_step_cb(__u64 idx, void *ctx)
{
	return dns_name_step(idx, ctx);
}
#define DNS_NAME_WALK(w) bpf_loop(XDPNS_NAME_MAX, dns_name_step_cb, (w), 0)
#else
#define DNS_NAME_WALK(w)                                                    \
	do {                                                                 \
		__u64 _i;                                                    \
		for (_i = 0; _i < XDPNS_NAME_MAX; _i++)                      \
			if (dns_name_step(_i, (w)))                          \
				break;                                       \
	} while (0)
#endif

/*
 * Parse the question at buf[0..len) (buf holds XDPNS_QBUF_LEN bytes): fills
 * key (lowercased name, name_len, qtype; the caller zeroed it) and q.
 */
static __always_inline int dns_parse_question(const __u8 *buf, __u32 len,
					      struct xdpns_key *key,
					      struct dns_question *q)
{
	struct dns_name_walk w = { .buf = buf, .key = key, .len = len };
	__u32 csum, i;

	DNS_NAME_WALK(&w);
	if (w.err)
		return w.err;
	if (w.name_len == 0 || w.name_len > XDPNS_NAME_MAX)
		return DNS_PARSE_QNAME;
	if (w.name_len + 4 > len)
		return DNS_PARSE_TRUNC;
	csum = w.csum;
	i = w.name_len & 0xff; /* the four bytes after it are inside buf */
	q->qtype = ((__u16)buf[i] << 8) | buf[i + 1];
	q->qclass = ((__u16)buf[i + 2] << 8) | buf[i + 3];
	csum += (i & 1) ? ((__u32)buf[i] + ((__u32)buf[i + 1] << 8) +
			   (__u32)buf[i + 2] + ((__u32)buf[i + 3] << 8))
			: ((((__u32)buf[i] << 8) | buf[i + 1]) +
			   (((__u32)buf[i + 2] << 8) | buf[i + 3]));
	key->name_len = w.name_len;
	key->qtype = q->qtype;
	q->qlen = w.name_len + 4;
	q->csum = csum;
	return DNS_PARSE_OK;
}

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
