/* Rate limits: fills the XDP program's limit maps from the configuration
 * (RRL, pass limits, exempt prefixes), and limits the slow path's UDP
 * responses with the same buckets (bpf/lib/rrl_bucket.h). */
#ifndef XDPNS_RRL_H
#define XDPNS_RRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "xdpns_maps.h"
#include "config.h"

/* One rate of rate/s per bucket, split over ncpus per-CPU buckets, with a
 * debt of window_s seconds (0: none) and reset after reset_s idle. */
void rrl_rate(struct xdpns_rrl_rate *r, uint64_t rate, uint64_t window_s,
	      uint64_t reset_s, int ncpus);
/* CPUs that run the XDP program (online CPUs). */
int rrl_ncpus(void);
/* Write cfg's limits into the XDP maps: limits_fd (xdpns_limits) and
 * exempt_fd (xdpns_exempt; the rrl exempt list, and the primaries for the
 * pass limits). 0 or -errno. */
int rrl_bpf_setup(const struct config *cfg, int limits_fd, int exempt_fd,
		  int ncpus);

/* ---- the slow path's RRL ---- */
struct rrl;

/* NULL in *out when cfg->rrl is off. */
int rrl_new(const struct config *cfg, struct rrl **out);
void rrl_free(struct rrl *r);
/* The kind (enum xdpns_rrl_kind) of a response, as XDP classifies it. */
int rrl_response_kind(int rcode, int referral);
/* XDPNS_RRL_PASS, _SLIP or _DROP for a response of kind to from at now
 * (ns, CLOCK_MONOTONIC). */
int rrl_check(struct rrl *r, const struct sockaddr *from, int kind,
	      uint64_t now_ns);
/* Turn the reply msg[0..len) into its slip form in place: TC=1, the
 * question and the OPT kept, no other records. Returns the new length
 * (0 when msg is not a reply we can parse). */
size_t rrl_truncate(uint8_t *msg, size_t len);

#endif
