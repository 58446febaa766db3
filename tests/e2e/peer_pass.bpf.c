// SPDX-License-Identifier: GPL-2.0
/* Attached to the client end of the test veth: a veth delivers frames that
 * its peer sends with XDP_TX only to a device running XDP (its NAPI). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int peer_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
