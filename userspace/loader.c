#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"
#include "loader.h"
#include "xdpns.skel.h"

/* Map sizes from the keys the zones will compile to (see mapsync_count).
 * The entries tables (names up to 32 and 64 bytes) get home slots for a
 * quarter again their keys: 4/5 full, about 4 % of the keys (1.5 % at the
 * keys counted) find no free slot in their probe and go to the overflow
 * hash of their class (docs/design.md).
 * Hashes (overflow, longer names, names for NXDOMAIN) are not
 * preallocated, but their bucket arrays are (16 bytes per power-of-two
 * slot of max_entries); arrays (tables, blobs) are wholly preallocated.
 * Headroom: a quarter (tables) or half (hashes) again the keys for names
 * a zone gains (a table past it spills into its overflow); blobs below. What does not fit fails
 * that publish (the served data stays): restart to resize, the zones on
 * disk are counted again. */
static struct bpf_map *blob_map(const struct xdpns *skel, int cls);

/* The tables: entries of class i (i < 2), names of class i - 2. */
static struct bpf_map *table_map(const struct xdpns *skel, int i)
{
	struct bpf_map *m[2 * XDPNS_TABLE_CLASSES] = {
		skel->maps.xdpns_table_32, skel->maps.xdpns_table_64,
		skel->maps.xdpns_ntable_32, skel->maps.xdpns_ntable_64,
	};

	return m[i];
}

/* A size of n, or floor when that is more: the floors are minimums (a
 * map that small is cheap), not added to what was counted. */
static uint64_t at_least(uint64_t n, uint64_t floor)
{
	return n > floor ? n : floor;
}

static void size_maps(struct xdpns *skel, const struct mapsync_sizes *sz)
{
	struct bpf_map *em[XDPNS_KEYCLASS_COUNT] = {
		skel->maps.xdpns_entries_32, skel->maps.xdpns_entries_64,
		skel->maps.xdpns_entries_128, skel->maps.xdpns_entries_256,
	};
	struct bpf_map *nm[XDPNS_KEYCLASS_COUNT] = {
		skel->maps.xdpns_names_32, skel->maps.xdpns_names_64,
		skel->maps.xdpns_names_128, skel->maps.xdpns_names_256,
	};
	static const uint64_t emin[XDPNS_KEYCLASS_COUNT] = { 16384, 16384, 4096, 4096 };
	static const uint64_t tmin[XDPNS_TABLE_CLASSES] = { 65536, 16384 };
	static const uint64_t nmin[XDPNS_KEYCLASS_COUNT] = { 16384, 16384, 4096, 4096 };
	int c;

	for (c = 0; c < XDPNS_KEYCLASS_COUNT; c++) {
		uint64_t k = sz ? sz->keys[c] : 0;
		uint64_t names = sz ? sz->names[c] + sz->names[c] / 2 : 0;

		if (c < XDPNS_TABLE_CLASSES) {
			/* room asked for: all of it in the 32-byte table, an
			 * eighth in the 64-byte one, at the keys' load (a
			 * secondary that fills it from empty must not find the
			 * table full); what does not fit goes to
			 * the overflow hash, which has buckets (not elements)
			 * for an eighth of the keys, and for the room asked
			 * for as a whole in the 64-byte class */
			uint64_t extra = sz ? sz->extra_keys : 0;
			uint64_t all = k + (c ? extra / 8 : extra);
			uint64_t home = at_least(all + all / 4, tmin[c]);

			if (home > (1u << 30))
				home = 1u << 30;
			skel->rodata->xdpns_table_home[c] = home;
			bpf_map__set_max_entries(table_map(skel, c), home + XDPNS_TABLE_PROBES - 1);
			bpf_map__set_max_entries(em[c], k / 8 + (c ? extra : extra / 8) +
								emin[c]);
		} else {
			bpf_map__set_max_entries(em[c], k + k / 2 + emin[c]);
		}
		/* names (NXDOMAIN in XDP): one per owner and empty
		 * non-terminal (counted, mapsync_count), and room for 3/4 as
		 * many names as the keys asked for (the bench zone has 2/3);
		 * up to 64 bytes in their table (home slots 1.25x both, as
		 * the entries'), the few a probe has no slot for in its
		 * overflow hash (an eighth), longer ones in the hashes. A zone whose names do not fit keeps its NXDOMAIN on
		 * the slow path. */
		if (c < XDPNS_TABLE_CLASSES) {
			uint64_t n = sz ? sz->names[c] : 0;
			uint64_t room = sz ? sz->extra_keys * 3 / (c ? 32 : 4) : 0;
			uint64_t home = at_least((n + room) + (n + room) / 4, tmin[c]);

			if (home > (1u << 30))
				home = 1u << 30;
			skel->rodata->xdpns_ntable_home[c] = home;
			bpf_map__set_max_entries(table_map(skel, 2 + c),
						 home + XDPNS_TABLE_PROBES - 1);
			bpf_map__set_max_entries(nm[c], (n + room) / 8 + nmin[c]);
		} else {
			bpf_map__set_max_entries(nm[c], names + nmin[c]);
		}
	}
	/* blobs: the bodies the zones need (estimated by class from their
	 * RRsets, mapsync_count), the room asked for (spread over the classes
	 * as a zone of mostly A/AAAA with some larger answers), and beside
	 * them one whole-zone change: publishes run one at a time and each
	 * first waits for the previous one's old bodies to be released, so
	 * the headroom is what the largest zone, or a zone filling the room,
	 * writes at once, not a second copy of everything; the floor is a
	 * minimum */
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++) {
		static const uint64_t bmin[XDPNS_BLOB_CLASSES] = {
			0, XDPNS_BLOB_S_COUNT, XDPNS_BLOB_M_COUNT,
			XDPNS_BLOB_L_COUNT, XDPNS_BLOB_XS_COUNT,
		};
		static const unsigned room_shift[XDPNS_BLOB_CLASSES] = {
			0, 3, 5, 8, 0, /* S 1/8, M 1/32, L 1/256, XS all */
		};
		uint64_t room = sz ? sz->extra_keys >> room_shift[c] : 0;
		uint64_t need = sz ? sz->blobs[c] : 0, one = sz ? sz->zone_blobs_max[c] : 0;
		uint64_t n = at_least(need + room + (one > room ? one : room), bmin[c]);

		if (n > XDPNS_REF_INDEX_MASK)
			n = XDPNS_REF_INDEX_MASK;
		bpf_map__set_max_entries(blob_map(skel, c), n);
	}
}

/* Map an array (BPF_F_MMAPABLE) shared, for writing in place. */
static int map_array(struct bpf_map *m, void **mem, size_t *len)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	*len = (size_t)bpf_map__max_entries(m) * bpf_map__value_size(m);
	*len = (*len + pg - 1) / pg * pg;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED) {
		int r = -errno;

		log_err_kv("mapping an array failed", "map=%s reason=%s",
			   bpf_map__name(m), strerror(-r));
		*len = 0;
		return r;
	}
	*mem = p;
	return 0;
}

static struct bpf_map *blob_map(const struct xdpns *skel, int cls)
{
	switch (cls) {
	case XDPNS_BLOB_XS:
		return skel->maps.xdpns_blob_xs;
	case XDPNS_BLOB_S:
		return skel->maps.xdpns_blob_s;
	case XDPNS_BLOB_M:
		return skel->maps.xdpns_blob_m;
	case XDPNS_BLOB_L:
		return skel->maps.xdpns_blob_l;
	}
	return NULL;
}

int loader_open(struct loader *l, const struct mapsync_sizes *sz)
{
	struct xdpns *skel;
	int r, c;

	memset(l, 0, sizeof(*l));
	log_route_libbpf();
	skel = xdpns__open();
	if (!skel)
		return -errno ? -errno : -EINVAL;
	size_maps(skel, sz);
	/* blob bodies are written in place through a shared mapping: no
	 * syscall per blob */
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++)
		bpf_map__set_map_flags(blob_map(skel, c), BPF_F_MMAPABLE);
	r = xdpns__load(skel);
	if (r) {
		log_err_kv("loading the XDP object failed", "reason=%s hint=%s",
			   strerror(-r), "kernel >= 5.18 with BTF is needed; see README");
		xdpns__destroy(skel);
		return r;
	}
	l->skel = skel;
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++) {
		r = map_array(blob_map(skel, c), &l->blob_mem[c], &l->blob_len[c]);
		if (r) {
			loader_close(l);
			return r;
		}
	}
	for (c = 0; c < 2 * XDPNS_TABLE_CLASSES; c++) {
		r = map_array(table_map(skel, c), &l->table_mem[c], &l->table_len[c]);
		if (r) {
			loader_close(l);
			return r;
		}
	}
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
	int c;

	fds->entries[0] = bpf_map__fd(l->skel->maps.xdpns_entries_32);
	fds->entries[1] = bpf_map__fd(l->skel->maps.xdpns_entries_64);
	fds->entries[2] = bpf_map__fd(l->skel->maps.xdpns_entries_128);
	fds->entries[3] = bpf_map__fd(l->skel->maps.xdpns_entries_256);
	fds->zones = bpf_map__fd(l->skel->maps.xdpns_zones);
	fds->lru_short = bpf_map__fd(l->skel->maps.xdpns_lru_short);
	fds->lru_long = bpf_map__fd(l->skel->maps.xdpns_lru_long);
	fds->blob[0] = -1;
	fds->n_blob[0] = 0;
	fds->blob_mem[0] = NULL;
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++) {
		struct bpf_map *m = blob_map(l->skel, c);

		fds->blob[c] = bpf_map__fd(m);
		fds->n_blob[c] = bpf_map__max_entries(m);
		fds->blob_mem[c] = l->blob_mem[c];
	}
	for (c = 0; c < XDPNS_TABLE_CLASSES; c++) {
		struct bpf_map *m = table_map(l->skel, c);

		fds->table_mem[c] = l->table_mem[c];
		fds->n_table[c] = bpf_map__max_entries(m);
		fds->table_home[c] = l->skel->rodata->xdpns_table_home[c];
		m = table_map(l->skel, 2 + c);
		fds->nx.table_mem[c] = l->table_mem[2 + c];
		fds->nx.n_table[c] = bpf_map__max_entries(m);
		fds->nx.table_home[c] = l->skel->rodata->xdpns_ntable_home[c];
	}
	fds->nx.names[0] = bpf_map__fd(l->skel->maps.xdpns_names_32);
	fds->nx.names[1] = bpf_map__fd(l->skel->maps.xdpns_names_64);
	fds->nx.names[2] = bpf_map__fd(l->skel->maps.xdpns_names_128);
	fds->nx.names[3] = bpf_map__fd(l->skel->maps.xdpns_names_256);
	fds->nx.nx = bpf_map__fd(l->skel->maps.xdpns_nx);
	fds->nx.seq = bpf_map__fd(l->skel->maps.xdpns_nx_seq);
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
	for (int c = 1; c < XDPNS_BLOB_CLASSES; c++)
		if (l->blob_mem[c])
			munmap(l->blob_mem[c], l->blob_len[c]);
	for (int c = 0; c < 2 * XDPNS_TABLE_CLASSES; c++)
		if (l->table_mem[c])
			munmap(l->table_mem[c], l->table_len[c]);
	if (l->skel)
		xdpns__destroy(l->skel);
	l->skel = NULL;
}

/* Every CPU's counters (struct xdpns_counters), in one read. */
static struct xdpns_counters *counters_read(const struct loader *l, int *ncpu)
{
	int fd = bpf_map__fd(l->skel->maps.xdpns_stats);
	struct xdpns_counters *vals;
	uint32_t zero = 0;

	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return NULL;
	vals = calloc(*ncpu, sizeof(*vals));
	if (vals && bpf_map_lookup_elem(fd, &zero, vals)) {
		free(vals);
		return NULL;
	}
	return vals;
}

int loader_counters(const struct loader *l, uint64_t out[XDPNS_CNT_COUNT])
{
	struct xdpns_counters *vals;
	int ncpu, c, k;

	memset(out, 0, XDPNS_CNT_COUNT * sizeof(out[0]));
	vals = counters_read(l, &ncpu);
	if (!vals)
		return -EIO;
	for (c = 0; c < ncpu; c++)
		for (k = 0; k < XDPNS_CNT_COUNT; k++)
			out[k] += vals[c].cnt[k];
	free(vals);
	return 0;
}

int loader_zone_counters(const struct loader *l, uint64_t answered[XDPNS_MAX_ZONES])
{
	struct xdpns_counters *vals;
	int ncpu, c, z;

	memset(answered, 0, XDPNS_MAX_ZONES * sizeof(answered[0]));
	vals = counters_read(l, &ncpu);
	if (!vals)
		return -EIO;
	for (c = 0; c < ncpu; c++)
		for (z = 0; z < XDPNS_MAX_ZONES; z++)
			answered[z] += vals[c].zone[z].answered;
	for (z = 0; z < XDPNS_MAX_ZONES; z++)
		answered[z] -= l->zone_base[z];
	free(vals);
	return 0;
}

int loader_zone_counters_reset(struct loader *l, uint32_t slot)
{
	uint64_t *now;
	int r;

	if (slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	now = calloc(XDPNS_MAX_ZONES, sizeof(*now));
	if (!now)
		return -ENOMEM;
	r = loader_zone_counters(l, now);
	if (!r) /* XDP never writes them back: the base is what we count from */
		l->zone_base[slot] += now[slot];
	free(now);
	return r;
}
