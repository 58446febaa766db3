/* Crafting query frames and checking reply frames, shared by the BPF
 * tests and the fuzz/replay tools. */
#ifndef XDPNS_TEST_FRAMES_H
#define XDPNS_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include "wire.h" /* wire_sum16: the one's-complement sum */

#define FR_MAX 2048

struct frame_opts {
	int ipv6;
	int vlan; /* add one 802.1Q tag */
	int edns; /* add an OPT record */
	int dnssec_ok;
	uint16_t udp_size; /* OPT class */
	uint16_t qtype;
	uint16_t qclass; /* default IN */
	uint16_t flags; /* DNS flags (RD etc.) */
	uint16_t id;
};

static const uint8_t fr_mac_cli[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t fr_mac_srv[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static inline uint16_t fr_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Encode a presentation name ("www.Example.com") as wire; returns length. */
static inline size_t fr_name(uint8_t *out, const char *name)
{
	size_t o = 0;
	const char *p = name;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		out[o++] = l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return o;
}

/* Build a DNS message: header + question (wire name) [+ OPT]. */
static inline size_t fr_dns(uint8_t *out, const uint8_t *wname, size_t wlen,
			    const struct frame_opts *o)
{
	size_t n = 0;
	uint16_t qclass = o->qclass ? o->qclass : 1;

	out[n++] = o->id >> 8;
	out[n++] = o->id & 0xff;
	out[n++] = o->flags >> 8;
	out[n++] = o->flags & 0xff;
	out[n++] = 0;
	out[n++] = 1;
	memset(out + n, 0, 4);
	n += 4;
	out[n++] = 0;
	out[n++] = o->edns ? 1 : 0;
	memcpy(out + n, wname, wlen);
	n += wlen;
	out[n++] = o->qtype >> 8;
	out[n++] = o->qtype & 0xff;
	out[n++] = qclass >> 8;
	out[n++] = qclass & 0xff;
	if (o->edns) {
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 41;
		out[n++] = o->udp_size >> 8;
		out[n++] = o->udp_size & 0xff;
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = o->dnssec_ok ? 0x80 : 0;
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 0;
	}
	return n;
}

/* Wrap a DNS message in Ethernet/IP/UDP from client to server. */
static inline size_t fr_wrap(uint8_t *f, const uint8_t *dns, size_t dlen,
			     const struct frame_opts *o)
{
	size_t n = 0, l3, l4;
	uint32_t s;

	memcpy(f, fr_mac_srv, 6);
	memcpy(f + 6, fr_mac_cli, 6);
	n = 12;
	if (o->vlan) {
		f[n++] = 0x81;
		f[n++] = 0x00;
		f[n++] = 0x00;
		f[n++] = 0x2a;
	}
	f[n++] = o->ipv6 ? 0x86 : 0x08;
	f[n++] = o->ipv6 ? 0xdd : 0x00;
	l3 = n;
	if (!o->ipv6) {
		uint8_t ip[20] = { 0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0,
				   198, 18, 0, 2, 198, 18, 0, 1 };
		uint16_t tot = 20 + 8 + dlen;

		ip[2] = tot >> 8;
		ip[3] = tot & 0xff;
		s = ~fr_fold(wire_sum16(ip, 20)) & 0xffff;
		ip[10] = s >> 8;
		ip[11] = s & 0xff;
		memcpy(f + n, ip, 20);
		n += 20;
	} else {
		uint8_t ip[40] = { 0x60, 0, 0, 0, 0, 0, 17, 64 };
		uint16_t pl = 8 + dlen;

		ip[4] = pl >> 8;
		ip[5] = pl & 0xff;
		inet_pton(AF_INET6, "fd00:5353::2", ip + 8);
		inet_pton(AF_INET6, "fd00:5353::1", ip + 24);
		memcpy(f + n, ip, 40);
		n += 40;
	}
	l4 = n;
	f[n++] = 0xc3;
	f[n++] = 0x50; /* 50000 */
	f[n++] = 0;
	f[n++] = 53;
	f[n++] = (8 + dlen) >> 8;
	f[n++] = (8 + dlen) & 0xff;
	f[n++] = 0;
	f[n++] = 0;
	memcpy(f + n, dns, dlen);
	n += dlen;
	(void)l3;
	(void)l4;
	return n;
}

/* Verify the IPv4 header checksum and the UDP checksum of a frame;
 * returns 0 when both are right. */
static inline int fr_check_sums(const uint8_t *f, size_t len, int ipv6, int vlan)
{
	size_t l3 = 14 + (vlan ? 4 : 0), l4;
	uint32_t s;
	uint16_t ulen;

	if (!ipv6) {
		if (fr_fold(wire_sum16(f + l3, 20)) != 0xffff)
			return -1;
		l4 = l3 + 20;
		ulen = f[l4 + 4] << 8 | f[l4 + 5];
		if (l4 + ulen != len)
			return -2;
		s = wire_sum16(f + l3 + 12, 8) + 17 + ulen;
	} else {
		l4 = l3 + 40;
		ulen = f[l4 + 4] << 8 | f[l4 + 5];
		if (l4 + ulen != len)
			return -2;
		s = wire_sum16(f + l3 + 8, 32) + 17 + ulen;
	}
	s += wire_sum16(f + l4, ulen);
	return fr_fold(s) == 0xffff ? 0 : -3;
}

#endif
