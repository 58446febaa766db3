#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "bpf_shim.h"
#include "lib/rrl_bucket.h"
#include "log.h"
#include "rrl.h"

#define NS_PER_S 1000000000ULL
#define RRL_TABLE_BITS 16 /* slow-path buckets: 64k, 2.6 MB */
#define PASS_RESET_S 1

void rrl_rate(struct xdpns_rrl_rate *r, uint64_t rate, uint64_t window_s,
	      uint64_t reset_s, int ncpus)
{
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	r->cost = (uint64_t)(ncpus > 0 ? ncpus : 1) * NS_PER_S;
	r->credit_max = (int64_t)(rate * NS_PER_S);
	r->debt_min = -(int64_t)(rate * window_s * NS_PER_S);
	r->reset_ns = reset_s * NS_PER_S;
}

int rrl_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

static void prefix_masks(const struct config_rrl *c, uint32_t *mask4,
			 uint32_t mask6[4])
{
	int i, bits;

	*mask4 = htonl(c->ipv4_prefix >= 32 ? 0xffffffffu :
		       ~(0xffffffffu >> c->ipv4_prefix));
	for (i = 0; i < 4; i++) {
		bits = c->ipv6_prefix - 32 * i;
		mask6[i] = htonl(bits >= 32 ? 0xffffffffu :
				 bits <= 0 ? 0 : ~(0xffffffffu >> bits));
	}
}

static void lpm_key(struct xdpns_lpm_key *k, int family, const uint8_t *addr,
		    int len)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(k->addr + 12, addr, 4);
		k->prefixlen = 96 + len;
	} else {
		memcpy(k->addr, addr, 16);
		k->prefixlen = len;
	}
}

static int exempt_add(int fd, int family, const uint8_t *addr, int len,
		      uint32_t flags)
{
	struct xdpns_lpm_key k;
	uint32_t old = 0;

	lpm_key(&k, family, addr, len);
	/* an exact match only: the trie's lookup would find a shorter one */
	{
		struct xdpns_lpm_key next, cur;
		int r = bpf_map_get_next_key(fd, NULL, &next);

		while (!r) {
			cur = next;
			if (!memcmp(&cur, &k, sizeof(k)))
				bpf_map_lookup_elem(fd, &cur, &old);
			r = bpf_map_get_next_key(fd, &cur, &next);
		}
	}
	flags |= old;
	return bpf_map_update_elem(fd, &k, &flags, BPF_ANY) ? -errno : 0;
}

int rrl_bpf_setup(const struct config *cfg, int limits_fd, int exempt_fd,
		  int ncpus)
{
	const struct config_rrl *c = &cfg->rrl;
	struct xdpns_limits l;
	uint32_t zero = 0;
	int i, r, n_exempt = 0;

	memset(&l, 0, sizeof(l));
	prefix_masks(c, &l.mask4, l.mask6);
	l.slip = c->slip;
	if (c->enabled) {
		l.flags |= XDPNS_LIM_F_RRL;
		rrl_rate(&l.rrl, c->rate, c->window, c->window, ncpus);
	}
	if (cfg->pass_limit) {
		l.flags |= XDPNS_LIM_F_PASS_TOTAL;
		rrl_rate(&l.pass_total, cfg->pass_limit, 0, PASS_RESET_S, ncpus);
	}
	if (cfg->pass_limit_prefix) {
		l.flags |= XDPNS_LIM_F_PASS_PREFIX;
		rrl_rate(&l.pass_prefix, cfg->pass_limit_prefix, 0, PASS_RESET_S,
			 ncpus);
	}
	/* empty the trie, then fill it */
	{
		struct xdpns_lpm_key k;

		while (!bpf_map_get_next_key(exempt_fd, NULL, &k))
			if (bpf_map_delete_elem(exempt_fd, &k))
				return -errno;
	}
	for (i = 0; i < c->n_exempt; i++) {
		r = exempt_add(exempt_fd, c->exempt[i].family, c->exempt[i].addr,
			       c->exempt[i].len, XDPNS_EXEMPT_RRL | XDPNS_EXEMPT_PASS);
		if (r)
			return r;
		n_exempt++;
	}
	/* the primaries' refresh replies never reach port 53, but their
	 * NOTIFY and SOA queries to us must not be capped */
	for (i = 0; i < cfg->n_remotes; i++) {
		const struct sockaddr_storage *a = &cfg->remotes[i].addr.addr;

		if (a->ss_family == AF_INET)
			r = exempt_add(exempt_fd, AF_INET,
				       (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr,
				       32, XDPNS_EXEMPT_PASS);
		else
			r = exempt_add(exempt_fd, AF_INET6,
				       ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr,
				       128, XDPNS_EXEMPT_PASS);
		if (r)
			return r;
		n_exempt++;
	}
	if (n_exempt)
		l.flags |= XDPNS_LIM_F_EXEMPT;
	if (bpf_map_update_elem(limits_fd, &zero, &l, BPF_ANY))
		return -errno;
	return 0;
}

/* ---- slow path ---- */

struct rrl_slot {
	struct xdpns_rrl_key key;
	struct xdpns_rrl_bucket b;
};

struct rrl {
	struct xdpns_rrl_rate rate;
	uint32_t slip;
	uint32_t mask4, mask6[4];
	struct config_prefix exempt[CONFIG_MAX_EXEMPT];
	int n_exempt;
	struct rrl_slot *slots; /* 1 << RRL_TABLE_BITS */
};

int rrl_new(const struct config *cfg, struct rrl **out)
{
	const struct config_rrl *c = &cfg->rrl;
	struct rrl *r;

	*out = NULL;
	if (!c->enabled)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->slots = calloc(1u << RRL_TABLE_BITS, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return -ENOMEM;
	}
	/* one process, one bucket per key: the whole rate */
	rrl_rate(&r->rate, c->rate, c->window, c->window, 1);
	r->slip = c->slip;
	prefix_masks(c, &r->mask4, r->mask6);
	memcpy(r->exempt, c->exempt, sizeof(r->exempt));
	r->n_exempt = c->n_exempt;
	*out = r;
	return 0;
}

void rrl_free(struct rrl *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r);
}

static int prefix_match(const struct config_prefix *p, const uint8_t *addr)
{
	int full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr, addr, full))
		return 0;
	return !rest || !((p->addr[full] ^ addr[full]) & (0xff00 >> rest));
}

static uint32_t key_hash(const struct xdpns_rrl_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int rrl_check(struct rrl *r, const struct sockaddr *from, int kind,
	      uint64_t now_ns)
{
	struct xdpns_rrl_key k;
	struct rrl_slot *s;
	const uint8_t *addr;
	int family, i;

	if (!r || !from || kind < 0 || kind >= XDPNS_RRL_KINDS)
		return XDPNS_RRL_PASS;
	memset(&k, 0, sizeof(k));
	k.kind = kind;
	family = from->sa_family;
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)from;

		addr = (const uint8_t *)&sin->sin_addr;
		k.addr[0] = sin->sin_addr.s_addr & r->mask4;
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;

		addr = sin6->sin6_addr.s6_addr;
		k.ipv6 = 1;
		for (i = 0; i < 4; i++) {
			uint32_t w;

			memcpy(&w, addr + 4 * i, 4);
			k.addr[i] = w & r->mask6[i];
		}
	} else {
		return XDPNS_RRL_PASS;
	}
	for (i = 0; i < r->n_exempt; i++)
		if (r->exempt[i].family == family && prefix_match(&r->exempt[i], addr))
			return XDPNS_RRL_PASS;
	/* one slot per hash: a colliding key takes it over, fresh (memory
	 * stays bounded; the source it evicts starts with a full bucket) */
	s = &r->slots[key_hash(&k) & ((1u << RRL_TABLE_BITS) - 1)];
	if (memcmp(&s->key, &k, sizeof(k))) {
		s->key = k;
		memset(&s->b, 0, sizeof(s->b));
	}
	if (rrl_bucket_take(&s->b, &r->rate, now_ns))
		return XDPNS_RRL_PASS;
	return rrl_bucket_slip(&s->b, r->slip);
}

int rrl_response_kind(int rcode, int referral)
{
	return rrl_kind(rcode, referral ? XDPNS_BLOB_F_REFERRAL : 0);
}

/* Skip a (possibly compressed) name; 0 when malformed. */
static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
	int n = 0;

	while (off < len && n++ < 128) {
		if (m[off] == 0)
			return off + 1;
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (m[off] > 63)
			return 0;
		off += m[off] + 1;
	}
	return 0;
}

size_t rrl_truncate(uint8_t *msg, size_t len)
{
	size_t off = 12, qend, opt = 0, opt_len = 0;
	unsigned qd, n, i;

	if (len < 12 || !(msg[2] & 0x80))
		return 0;
	qd = (unsigned)msg[4] << 8 | msg[5];
	n = ((unsigned)msg[6] << 8 | msg[7]) + ((unsigned)msg[8] << 8 | msg[9]) +
	    ((unsigned)msg[10] << 8 | msg[11]);
	if (qd > 1)
		return 0;
	if (qd) {
		off = skip_name(msg, len, off);
		if (!off || off + 4 > len)
			return 0;
		off += 4;
	}
	qend = off;
	for (i = 0; i < n; i++) {
		size_t at = off;
		unsigned type, rdlen;

		off = skip_name(msg, len, off);
		if (!off || off + 10 > len)
			return 0;
		type = (unsigned)msg[off] << 8 | msg[off + 1];
		rdlen = (unsigned)msg[off + 8] << 8 | msg[off + 9];
		if (off + 10 + rdlen > len)
			return 0;
		off += 10 + rdlen;
		if (type == 41) {
			opt = at;
			opt_len = off - at;
		}
	}
	if (opt)
		memmove(msg + qend, msg + opt, opt_len);
	msg[2] |= 0x02; /* TC */
	memset(msg + 6, 0, 6);
	msg[11] = opt ? 1 : 0;
	return qend + opt_len;
}
