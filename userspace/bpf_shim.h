/* Lets the BPF-side pure headers (bpf/lib/dns.h) compile in userspace. */
#ifndef XDPNS_BPF_SHIM_H
#define XDPNS_BPF_SHIM_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#endif
