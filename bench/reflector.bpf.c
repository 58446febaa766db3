// SPDX-License-Identifier: GPL-2.0
/* The ceiling of the benchmark harness: a bare XDP_TX reflector for DNS over
 * UDP port 53. It sends every query back as its own "response": MACs, IP
 * addresses and ports swapped, QR set, nothing looked up, nothing grown.
 * Whatever xdpns does beyond this is the price of answering.
 *
 * Checksums: swapping source and destination (addresses, ports) leaves the
 * one's-complement sums unchanged, so the IPv4 header checksum stays valid
 * as it is. Setting QR changes one 16-bit word of the UDP payload: over
 * IPv4 the UDP checksum is set to 0 (none, RFC 768), over IPv6 it is
 * mandatory and updated incrementally (RFC 1624, eqn. 3).
 *
 * Anything that is not an IPv4/IPv6 UDP query to port 53 (one optional
 * 802.1Q tag, no IPv4 options, no IPv6 extension headers) is XDP_PASS.
 *
 * Built by `make build/reflector.bpf.o` (make bench); attached by
 * bench/run.sh with `ip link set dev IF xdp obj build/reflector.bpf.o sec xdp`.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define DNS_PORT 53
#define DNS_HDR_LEN 12
#define DNS_FLAG_QR 0x8000

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline void swap_mac(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* UDP header + DNS header of a query to port 53, or NULL. */
static __always_inline struct udphdr *udp53(struct udphdr *udp, void *data_end)
{
	__be16 *flags;

	if ((void *)(udp + 1) + DNS_HDR_LEN > data_end)
		return NULL;
	if (udp->dest != bpf_htons(DNS_PORT))
		return NULL;
	flags = (__be16 *)((void *)(udp + 1) + 2);
	if (*flags & bpf_htons(DNS_FLAG_QR))
		return NULL; /* never reflect a response: no loops */
	return udp;
}

/* Set QR; returns the old and new flags words for the checksum update. */
static __always_inline void set_qr(struct udphdr *udp, __be16 *old, __be16 *new)
{
	__be16 *flags = (__be16 *)((void *)(udp + 1) + 2);

	*old = *flags;
	*flags |= bpf_htons(DNS_FLAG_QR);
	*new = *flags;
}

static __always_inline void swap_ports(struct udphdr *udp)
{
	__be16 p = udp->source;

	udp->source = udp->dest;
	udp->dest = p;
}

SEC("xdp")
int reflector(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__be16 proto, old, new;
	void *l3;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > data_end)
			return XDP_PASS;
		proto = vh->proto;
		l3 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__be32 a;

		if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		udp = udp53((struct udphdr *)(ip + 1), data_end);
		if (!udp)
			return XDP_PASS;
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a; /* header checksum: same sum, still valid */
		swap_ports(udp);
		set_qr(udp, &old, &new);
		udp->check = 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		struct in6_addr a;
		__u32 sum;
		__u16 c;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		udp = udp53((struct udphdr *)(ip6 + 1), data_end);
		if (!udp)
			return XDP_PASS;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		swap_ports(udp);
		set_qr(udp, &old, &new);
		/* RFC 1624: HC' = ~(~HC + ~m + m') */
		sum = (__u16)~udp->check;
		sum += (__u16)~old;
		sum += new;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		c = (__u16)~sum;
		udp->check = c ? c : 0xffff; /* 0 means "no checksum" */
	} else {
		return XDP_PASS;
	}
	swap_mac(eth);
	return XDP_TX;
}
