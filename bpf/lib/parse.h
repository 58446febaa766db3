/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ethernet (+ one 802.1Q tag), IPv4 (no options, no fragments), IPv6 (no
 * extension headers), UDP to port 53. Fills struct pkt with offsets; every
 * access is checked against data_end.
 */
#ifndef XDPNS_LIB_PARSE_H
#define XDPNS_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "xdpns_maps.h"

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define IP_MF_ 0x2000
#define IP_OFFSET_ 0x1fff

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

struct pkt {
	__u32 l3_off; /* offset of the IP header */
	__u32 l4_off; /* offset of the UDP header */
	__u32 dns_off; /* offset of the DNS header */
	__u32 dns_len; /* DNS message length per the UDP header */
	__u8 ipv6;
};

/* Returns XDPNS_PASS_COUNT when the frame is UDP/53 we may answer, else a
 * pass reason. */
static __always_inline int parse_l2_l4(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u16 proto;
	__u32 off;
	__u32 l4_len; /* UDP header + payload per the IP header */

	if ((void *)(eth + 1) > data_end)
		return XDPNS_PASS_MALFORMED;
	proto = bpf_ntohs(eth->h_proto);
	off = sizeof(*eth);
	if (proto == ETH_P_8021Q_ || proto == ETH_P_8021AD_) {
		struct vlan_hdr_ *vh = data + off;

		if ((void *)(vh + 1) > data_end)
			return XDPNS_PASS_MALFORMED;
		proto = bpf_ntohs(vh->proto);
		off += sizeof(*vh);
	}
	p->l3_off = off;
	if (proto == ETH_P_IP) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > data_end)
			return XDPNS_PASS_MALFORMED;
		if (ip->version != 4 || ip->ihl < 5)
			return XDPNS_PASS_MALFORMED;
		if (ip->protocol != IPPROTO_UDP)
			return XDPNS_PASS_NOT_UDP53;
		if (ip->ihl != 5)
			return XDPNS_PASS_IP_OPTIONS;
		if (ip->frag_off & bpf_htons(IP_MF_ | IP_OFFSET_))
			return XDPNS_PASS_FRAGMENT;
		if (bpf_ntohs(ip->tot_len) < sizeof(*ip) + sizeof(*udp))
			return XDPNS_PASS_MALFORMED;
		l4_len = bpf_ntohs(ip->tot_len) - sizeof(*ip);
		off += sizeof(*ip);
		p->ipv6 = 0;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return XDPNS_PASS_MALFORMED;
		if (ip6->version != 6)
			return XDPNS_PASS_MALFORMED;
		if (ip6->nexthdr != IPPROTO_UDP) {
			/* hop-by-hop, routing, fragment, dest opts, ... */
			if (ip6->nexthdr == 0 || ip6->nexthdr == 43 ||
			    ip6->nexthdr == 44 || ip6->nexthdr == 60 ||
			    ip6->nexthdr == 51 || ip6->nexthdr == 50 ||
			    ip6->nexthdr == 135 || ip6->nexthdr == 139 ||
			    ip6->nexthdr == 140)
				return XDPNS_PASS_IP_OPTIONS;
			return XDPNS_PASS_NOT_UDP53;
		}
		l4_len = bpf_ntohs(ip6->payload_len);
		off += sizeof(*ip6);
		p->ipv6 = 1;
	} else {
		return XDPNS_PASS_NOT_IP;
	}
	udp = data + off;
	if ((void *)(udp + 1) > data_end)
		return XDPNS_PASS_MALFORMED;
	if (udp->dest != bpf_htons(53))
		return XDPNS_PASS_NOT_UDP53;
	/* The UDP length must agree with the IP length, and the frame must
	 * hold it (trailing Ethernet padding is allowed). */
	if (bpf_ntohs(udp->len) != l4_len || l4_len < sizeof(*udp))
		return XDPNS_PASS_MALFORMED;
	if (data + off + l4_len > data_end)
		return XDPNS_PASS_MALFORMED;
	p->l4_off = off;
	p->dns_off = off + sizeof(*udp);
	p->dns_len = l4_len - sizeof(*udp);
	return XDPNS_PASS_COUNT;
}

#endif /* XDPNS_LIB_PARSE_H */
