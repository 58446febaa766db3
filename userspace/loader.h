/* Loader: the XDP object through its generated skeleton, attached with
 * libxdp (native mode, generic as a fallback with a warning). */
#ifndef XDPNS_LOADER_H
#define XDPNS_LOADER_H

#include <net/if.h>
#include <stdint.h>
#include "xdpns_maps.h"
#include "mapsync.h"

#define LOADER_MAX_IFACES 16

struct xdpns; /* the skeleton */
struct xdp_program;

struct loader_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	int generic; /* attached in generic (skb) mode */
	struct xdp_program *prog;
};

struct loader {
	struct xdpns *skel;
	struct loader_iface ifs[LOADER_MAX_IFACES];
	int n_ifs;
	void *blob_mem[XDPNS_BLOB_CLASSES]; /* the blob arrays, mapped */
	size_t blob_len[XDPNS_BLOB_CLASSES];
	/* the tables, mapped: entries by class, then names by class */
	void *table_mem[2 * XDPNS_TABLE_CLASSES];
	size_t table_len[2 * XDPNS_TABLE_CLASSES];
	uint64_t zone_base[XDPNS_MAX_ZONES]; /* per-zone counters at reset */
};

/* Open and load the object, maps sized for the keys counted in sz (NULL:
 * the minimum sizes); the blob arrays and entries tables are mapped for
 * mapsync. */
int loader_open(struct loader *l, const struct mapsync_sizes *sz);
/* mode: "native" (fallback to generic with a warning) or "generic". */
int loader_attach(struct loader *l, const char *ifname, const char *mode);
int loader_detach(struct loader *l, const char *ifname);
void loader_close(struct loader *l); /* detaches everything */
void loader_fds(const struct loader *l, struct mapsync_fds *fds);
int loader_prog_fd(const struct loader *l);
/* The rate-limit maps (bpf/lib/rrl.h). */
struct loader_limit_fds {
	int limits, exempt; /* configuration (userspace/rrl.c) */
	int rrl, pass_buckets, pass_total; /* per-CPU buckets */
};
void loader_limit_fds(const struct loader *l, struct loader_limit_fds *fds);
/* XDP counters summed over CPUs. */
int loader_counters(const struct loader *l, uint64_t out[XDPNS_CNT_COUNT]);

/* XDP answers per zone slot, summed over CPUs, since the slot's last
 * reset (it was given to another zone): the counters are never written by
 * userspace, a base per slot is subtracted. */
int loader_zone_counters(const struct loader *l, uint64_t answered[XDPNS_MAX_ZONES]);
int loader_zone_counters_reset(struct loader *l, uint32_t slot);

#endif
