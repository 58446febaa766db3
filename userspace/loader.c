#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"
#include "loader.h"
#include "xdpns.skel.h"

static uint32_t clamp_pow2(uint64_t want, uint32_t min, uint32_t max)
{
	uint32_t v = min;

	while (v < want && v < max)
		v <<= 1;
	return v;
}

int loader_open(struct loader *l, uint64_t expected_rrsets)
{
	struct xdpns *skel;
	int r;

	memset(l, 0, sizeof(*l));
	log_route_libbpf();
	skel = xdpns__open();
	if (!skel)
		return -errno ? -errno : -EINVAL;
	/* each (name, type) has up to two distinct bodies; most are small */
	{
		struct bpf_map *em[XDPNS_KEYCLASS_COUNT] = {
			skel->maps.xdpns_entries_32, skel->maps.xdpns_entries_64,
			skel->maps.xdpns_entries_128, skel->maps.xdpns_entries_256,
		};
		struct bpf_map *nm[XDPNS_KEYCLASS_COUNT] = {
			skel->maps.xdpns_names_32, skel->maps.xdpns_names_64,
			skel->maps.xdpns_names_128, skel->maps.xdpns_names_256,
		};
		int c;

		/* not preallocated: max_entries is a cap, but the kernel
		 * allocates a 16-byte bucket per entry of it. Names (NXDOMAIN
		 * in XDP) are fewer than RRsets in most zones (one per owner
		 * and empty non-terminal): one RRset's worth, rounded up to a
		 * power of two; a zone that overflows them keeps its NXDOMAIN
		 * on the slow path */
		for (c = 0; c < XDPNS_KEYCLASS_COUNT; c++) {
			bpf_map__set_max_entries(em[c], clamp_pow2(expected_rrsets * 2,
								   1 << 16, 1u << 26));
			bpf_map__set_max_entries(nm[c], clamp_pow2(expected_rrsets,
								   1 << 14, 1u << 26));
		}
	}
	bpf_map__set_max_entries(skel->maps.xdpns_blob_s,
				 clamp_pow2(expected_rrsets * 2, XDPNS_BLOB_S_COUNT,
					    1u << 26));
	bpf_map__set_max_entries(skel->maps.xdpns_blob_m,
				 clamp_pow2(expected_rrsets / 4, XDPNS_BLOB_M_COUNT,
					    1u << 24));
	bpf_map__set_max_entries(skel->maps.xdpns_blob_l,
				 clamp_pow2(expected_rrsets / 32, XDPNS_BLOB_L_COUNT,
					    1u << 22));
	r = xdpns__load(skel);
	if (r) {
		log_err_kv("loading the XDP object failed", "reason=%s hint=%s",
			   strerror(-r), "kernel >= 5.18 with BTF is needed; see README");
		xdpns__destroy(skel);
		return r;
	}
	l->skel = skel;
	return 0;
}

int loader_prog_fd(const struct loader *l)
{
	return bpf_program__fd(l->skel->progs.xdpns_xdp);
}

void loader_limit_fds(const struct loader *l, struct loader_limit_fds *fds)
{
	fds->limits = bpf_map__fd(l->skel->maps.xdpns_limits);
	fds->exempt = bpf_map__fd(l->skel->maps.xdpns_exempt);
	fds->rrl = bpf_map__fd(l->skel->maps.xdpns_rrl);
	fds->pass_buckets = bpf_map__fd(l->skel->maps.xdpns_pass_buckets);
	fds->pass_total = bpf_map__fd(l->skel->maps.xdpns_pass_total);
}

void loader_fds(const struct loader *l, struct mapsync_fds *fds)
{
	fds->entries[0] = bpf_map__fd(l->skel->maps.xdpns_entries_32);
	fds->entries[1] = bpf_map__fd(l->skel->maps.xdpns_entries_64);
	fds->entries[2] = bpf_map__fd(l->skel->maps.xdpns_entries_128);
	fds->entries[3] = bpf_map__fd(l->skel->maps.xdpns_entries_256);
	fds->zones = bpf_map__fd(l->skel->maps.xdpns_zones);
	fds->blob_s = bpf_map__fd(l->skel->maps.xdpns_blob_s);
	fds->blob_m = bpf_map__fd(l->skel->maps.xdpns_blob_m);
	fds->blob_l = bpf_map__fd(l->skel->maps.xdpns_blob_l);
	fds->lru_short = bpf_map__fd(l->skel->maps.xdpns_lru_short);
	fds->lru_long = bpf_map__fd(l->skel->maps.xdpns_lru_long);
	fds->n_blob_s = bpf_map__max_entries(l->skel->maps.xdpns_blob_s);
	fds->n_blob_m = bpf_map__max_entries(l->skel->maps.xdpns_blob_m);
	fds->n_blob_l = bpf_map__max_entries(l->skel->maps.xdpns_blob_l);
	fds->nx.names[0] = bpf_map__fd(l->skel->maps.xdpns_names_32);
	fds->nx.names[1] = bpf_map__fd(l->skel->maps.xdpns_names_64);
	fds->nx.names[2] = bpf_map__fd(l->skel->maps.xdpns_names_128);
	fds->nx.names[3] = bpf_map__fd(l->skel->maps.xdpns_names_256);
	fds->nx.nx = bpf_map__fd(l->skel->maps.xdpns_nx);
}

static struct loader_iface *find_iface(struct loader *l, const char *ifname)
{
	int i;

	for (i = 0; i < l->n_ifs; i++)
		if (!strcmp(l->ifs[i].name, ifname))
			return &l->ifs[i];
	return NULL;
}

int loader_attach(struct loader *l, const char *ifname, const char *mode)
{
	struct loader_iface *li;
	struct xdp_program *prog;
	int ifindex, r, generic = mode && !strcmp(mode, "generic");

	if (find_iface(l, ifname))
		return -EEXIST;
	if (l->n_ifs >= LOADER_MAX_IFACES)
		return -ENOSPC;
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		log_err_kv("no such interface", "iface=%s reason=%s", ifname,
			   strerror(errno));
		return -ENODEV;
	}
	prog = xdp_program__from_fd(loader_prog_fd(l));
	r = libxdp_get_error(prog);
	if (r) {
		log_err_kv("cannot wrap the XDP program", "iface=%s reason=%s",
			   ifname, strerror(-r));
		return r;
	}
	r = -EINVAL;
	if (!generic) {
		r = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
		if (r) {
			log_warn_kv("native XDP failed, falling back to generic mode",
				    "iface=%s reason=%s", ifname, strerror(-r));
			generic = 1;
		}
	}
	if (r)
		r = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	if (r) {
		log_err_kv("attaching XDP failed", "iface=%s reason=%s", ifname,
			   strerror(-r));
		xdp_program__close(prog);
		return r;
	}
	li = &l->ifs[l->n_ifs++];
	memset(li, 0, sizeof(*li));
	snprintf(li->name, sizeof(li->name), "%s", ifname);
	li->ifindex = ifindex;
	li->generic = generic;
	li->prog = prog;
	log_info_kv("xdp attached", "iface=%s mode=%s", ifname,
		    generic ? "generic" : "native");
	return 0;
}

int loader_detach(struct loader *l, const char *ifname)
{
	struct loader_iface *li = find_iface(l, ifname);
	int r;

	if (!li)
		return -ENOENT;
	r = xdp_program__detach(li->prog, li->ifindex,
				li->generic ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	if (r) {
		/* still attached: keep it known, so a later detach or the
		 * shutdown can try again */
		log_warn_kv("detaching XDP failed", "iface=%s reason=%s", ifname,
			    strerror(-r));
		return r;
	}
	log_info_kv("xdp detached", "iface=%s", ifname);
	xdp_program__close(li->prog);
	*li = l->ifs[--l->n_ifs];
	return r;
}

void loader_close(struct loader *l)
{
	while (l->n_ifs) {
		struct loader_iface *li = &l->ifs[l->n_ifs - 1];

		if (loader_detach(l, li->name)) {
			/* last resort, by netlink alone: never leave XDP behind */
			bpf_xdp_detach(li->ifindex, li->generic ? XDP_FLAGS_SKB_MODE :
								  XDP_FLAGS_DRV_MODE, NULL);
			xdp_program__close(li->prog);
			l->n_ifs--;
		}
	}
	if (l->skel)
		xdpns__destroy(l->skel);
	l->skel = NULL;
}

int loader_counters(const struct loader *l, uint64_t out[XDPNS_CNT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(l->skel->maps.xdpns_stats);
	uint64_t *vals;
	uint32_t k;
	int c;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < XDPNS_CNT_COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int loader_zone_counters(const struct loader *l, uint32_t slot,
			 struct xdpns_zone_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(l->skel->maps.xdpns_zone_stats);
	struct xdpns_zone_stats *vals;
	int c, r = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &slot, vals))
		r = -errno;
	for (c = 0; !r && c < ncpu; c++)
		out->answered += vals[c].answered;
	free(vals);
	return r;
}

int loader_zone_counters_reset(const struct loader *l, uint32_t slot)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(l->skel->maps.xdpns_zone_stats);
	struct xdpns_zone_stats *vals;
	int r = 0;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &slot, vals, BPF_ANY))
		r = -errno;
	free(vals);
	return r;
}
