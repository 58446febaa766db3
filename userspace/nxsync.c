/*
 * NXDOMAIN synthesis in XDP (docs/design.md, "NXDOMAIN in XDP"): for each
 * zone, the names XDP's closest-encloser walk must find and the zone's
 * NXDOMAIN body, written into the half of the zone's next generation
 * before mapsync's flip.
 *
 * The rule that keeps it safe: XDP may only answer NXDOMAIN for a name
 * that does not exist in the generation it serves. So every name of the
 * served generation is in the map at every instant (new names are written
 * before the flip, old ones deleted after it), and a name's half is
 * trusted only when it carries the zone's current generation; anything
 * doubtful (an unknown half, another zone's name, a write that failed)
 * makes XDP pass the query to the slow path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bpf_shim.h"
#include "lib/dns.h"
#include "log.h"
#include "mapsync.h"
#include "nxsync.h"
#include "wire.h"
#include "zone.h"

/* ---- sets of names with flags ---- */

/* Records len(1) flags(1) name(len), back to back in an arena; a hash
 * table of arena offsets + 1 (0 = empty) finds them. */
struct nameset {
	uint8_t *arena;
	size_t used, cap;
	uint32_t *slots;
	size_t mask, n;
};

#define REC_LEN(r) ((size_t)(r)[0])
#define REC_FLAGS(r) ((r)[1])
#define REC_NAME(r) ((r) + 2)
#define FOREACH_REC(s, r)                                                    \
	for (size_t _o = 0; (s)->arena && _o < (s)->used &&                  \
			    ((r) = (s)->arena + _o, 1);                      \
	     _o += 2 + REC_LEN(r))

static uint8_t *set_find(const struct nameset *s, const uint8_t *name,
			 size_t len)
{
	size_t i;

	if (!s->slots)
		return NULL;
	for (i = name_hash(name, len) & s->mask; s->slots[i];
	     i = (i + 1) & s->mask) {
		uint8_t *r = s->arena + s->slots[i] - 1;

		if (REC_LEN(r) == len && !memcmp(REC_NAME(r), name, len))
			return r;
	}
	return NULL;
}

static int set_grow(struct nameset *s)
{
	size_t size = s->slots ? (s->mask + 1) * 2 : 1024, i;
	uint32_t *slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; s->slots && i <= s->mask; i++) {
		const uint8_t *r;
		size_t j;

		if (!s->slots[i])
			continue;
		r = s->arena + s->slots[i] - 1;
		j = name_hash(REC_NAME(r), REC_LEN(r)) & (size - 1);
		while (slots[j])
			j = (j + 1) & (size - 1);
		slots[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->mask = size - 1;
	return 0;
}

/* Add name; a name added twice keeps the flags both allow. */
static int set_add(struct nameset *s, const uint8_t *name, size_t len,
		   uint8_t flags)
{
	uint8_t *r = set_find(s, name, len);
	size_t i;

	if (r) {
		REC_FLAGS(r) &= flags;
		return 0;
	}
	if (!s->slots || (s->n + 1) * 2 > s->mask + 1)
		if (set_grow(s))
			return -ENOMEM;
	if (s->used + 2 + len > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint8_t *a;

		while (cap < s->used + 2 + len)
			cap *= 2;
		if (cap > UINT32_MAX - 1)
			return -E2BIG;
		a = realloc(s->arena, cap);
		if (!a)
			return -ENOMEM;
		s->arena = a;
		s->cap = cap;
	}
	r = s->arena + s->used;
	r[0] = len;
	r[1] = flags;
	memcpy(r + 2, name, len);
	for (i = name_hash(name, len) & s->mask; s->slots[i]; i = (i + 1) & s->mask)
		;
	s->slots[i] = s->used + 1;
	s->used += 2 + len;
	s->n++;
	return 0;
}

static void set_free(struct nameset *s)
{
	free(s->arena);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* ---- state ---- */

struct nxzone {
	uint32_t gen; /* served generation; 0 = none */
	int synth; /* gen makes NXDOMAIN in XDP */
	/* where cur's flags are in the map: the half, and the generation it
	 * carries (gen, or an earlier one when publishes changed no name) */
	uint32_t names_gen, names_half;
	uint32_t next_names_gen, next_names_half;
	int next_skip; /* the staged generation keeps cur as it is */
	struct nameset cur; /* names of gen */
	int staged; /* next holds the generation about to flip */
	uint32_t next_gen;
	int next_synth;
	struct nameset next;
	uint64_t flip_us; /* when gen became visible */
	uint8_t apex[256];
	size_t apex_len; /* 0: never staged */
};

struct nxsync {
	struct nxsync_fds fds;
	struct nxzone zones[XDPNS_MAX_ZONES];
	struct answer *ans; /* scratch for the engine's answers */
	struct nxsync_stats st;
	uint32_t rel[XDPNS_MAX_ZONES]; /* scratch for related() */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int nxsync_new(const struct nxsync_fds *fds, struct nxsync **out)
{
	struct nxsync *nx = calloc(1, sizeof(*nx));

	if (!nx)
		return -ENOMEM;
	nx->ans = malloc(sizeof(*nx->ans));
	if (!nx->ans) {
		free(nx);
		return -ENOMEM;
	}
	nx->fds = *fds;
	*out = nx;
	return 0;
}

void nxsync_free(struct nxsync *nx)
{
	size_t i;

	if (!nx)
		return;
	for (i = 0; i < XDPNS_MAX_ZONES; i++) {
		set_free(&nx->zones[i].cur);
		set_free(&nx->zones[i].next);
	}
	free(nx->ans);
	free(nx);
}

/* ---- map writes ---- */

static int names_fd(const struct nxsync *nx, size_t len)
{
	return nx->fds.names[XDPNS_KEYCLASS(len)];
}

static void name_key(uint8_t key[XDPNS_KEY_NAME], const uint8_t *name,
		     size_t len)
{
	memset(key, 0, XDPNS_KEY_NAME);
	memcpy(key, name, len);
}

/* The value zone slot holds for name in its served generation (cur). */
static void served_value(const struct nxzone *zs, uint32_t slot,
			 const uint8_t *rec, struct xdpns_name *v)
{
	memset(v, 0, sizeof(*v));
	v->zone = slot;
	if (rec && zs->gen && zs->names_gen) {
		v->gen[zs->names_half & 1] = zs->names_gen;
		v->flags[zs->names_half & 1] = REC_FLAGS(rec);
	}
}

static int write_one(struct nxsync *nx, const uint8_t *name, size_t len,
		     const struct xdpns_name *v)
{
	uint8_t key[XDPNS_KEY_NAME];

	name_key(key, name, len);
	return bpf_map_update_elem(names_fd(nx, len), key, v, BPF_ANY) ? -errno : 0;
}

static void delete_one(struct nxsync *nx, const uint8_t *name, size_t len)
{
	uint8_t key[XDPNS_KEY_NAME];

	name_key(key, name, len);
	bpf_map_delete_elem(names_fd(nx, len), key);
}

/* Updates gathered per key class and written with one syscall each. */
#define BATCH_MAX 4096
struct batch {
	int fd;
	size_t ksize, n;
	uint8_t *keys;
	struct xdpns_name *vals;
};

static int batch_flush(struct batch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	__u32 count = b->n, i;

	if (!b->n)
		return 0;
	if (bpf_map_update_batch(b->fd, b->keys, b->vals, &count, &o)) {
		/* count says how many went in; the rest one by one, so a
		 * kernel without batches still works */
		if (count > b->n)
			count = 0;
		for (i = count; i < b->n; i++)
			if (bpf_map_update_elem(b->fd, b->keys + i * b->ksize,
						&b->vals[i], BPF_ANY))
				return -errno;
	}
	b->n = 0;
	return 0;
}

static int batch_add(struct batch *b, const uint8_t *name, size_t len,
		     const struct xdpns_name *v)
{
	uint8_t *k = b->keys + b->n * b->ksize;

	memset(k, 0, b->ksize);
	memcpy(k, name, len);
	b->vals[b->n++] = *v;
	return b->n == BATCH_MAX ? batch_flush(b) : 0;
}

/* Write every name of the staged set with its half of gen; the other
 * half keeps the served generation's view of the name. */
static int write_staged(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs = &nx->zones[slot];
	struct batch b[XDPNS_KEYCLASS_COUNT];
	uint32_t h = zs->next_names_half & 1;
	const uint8_t *r;
	int c, ret = 0;

	memset(b, 0, sizeof(b));
	for (c = 0; c < XDPNS_KEYCLASS_COUNT; c++) {
		static const size_t sz[XDPNS_KEYCLASS_COUNT] = {
			XDPNS_KEYCLASS_0, XDPNS_KEYCLASS_1, XDPNS_KEYCLASS_2,
			XDPNS_KEYCLASS_3,
		};

		b[c].fd = nx->fds.names[c];
		b[c].ksize = sz[c];
		b[c].keys = malloc(BATCH_MAX * sz[c]);
		b[c].vals = malloc(BATCH_MAX * sizeof(*b[c].vals));
		if (!b[c].keys || !b[c].vals) {
			ret = -ENOMEM;
			goto out;
		}
	}
	FOREACH_REC(&zs->next, r) {
		struct xdpns_name v;

		served_value(zs, slot, set_find(&zs->cur, REC_NAME(r), REC_LEN(r)), &v);
		v.gen[h] = zs->next_names_gen;
		v.flags[h] = REC_FLAGS(r);
		ret = batch_add(&b[XDPNS_KEYCLASS(REC_LEN(r))], REC_NAME(r),
				REC_LEN(r), &v);
		if (ret)
			goto out;
	}
	for (c = 0; c < XDPNS_KEYCLASS_COUNT && !ret; c++)
		ret = batch_flush(&b[c]);
out:
	for (c = 0; c < XDPNS_KEYCLASS_COUNT; c++) {
		free(b[c].keys);
		free(b[c].vals);
	}
	return ret;
}

/* Other zones whose apex is above or below this one's and that have
 * names: a key may then be claimed by two zones and must not simply be
 * deleted. Fills rel (XDPNS_MAX_ZONES slots) and returns how many. */
static uint32_t related(const struct nxsync *nx, uint32_t slot, uint32_t *rel)
{
	const struct nxzone *zs = &nx->zones[slot];
	uint32_t i, n = 0;

	for (i = 0; i < XDPNS_MAX_ZONES; i++) {
		const struct nxzone *o = &nx->zones[i];

		if (i == slot || !o->apex_len || !o->cur.n)
			continue;
		if (name_is_subdomain(o->apex, o->apex_len, zs->apex, zs->apex_len) ||
		    name_is_subdomain(zs->apex, zs->apex_len, o->apex, o->apex_len))
			rel[n++] = i;
	}
	return n;
}

/* Slot gives name up: hand the key to the deepest related zone that
 * holds it, or leave a tombstone of slot (XDP passes: its generation is
 * not current), or delete it. */
static void give_up(struct nxsync *nx, uint32_t slot, const uint32_t *rel,
		    uint32_t n_rel, const uint8_t *name, size_t len, int tomb)
{
	const uint8_t *best_rec = NULL;
	uint32_t i, best = 0;
	size_t best_len = 0;
	struct xdpns_name v;

	for (i = 0; i < n_rel; i++) {
		const struct nxzone *o = &nx->zones[rel[i]];
		const uint8_t *r;

		if (!o->gen || o->apex_len < best_len ||
		    !name_is_subdomain(name, len, o->apex, o->apex_len))
			continue;
		r = set_find(&o->cur, name, len);
		if (r) {
			best = rel[i];
			best_rec = r;
			best_len = o->apex_len;
		}
	}
	if (best_rec) {
		served_value(&nx->zones[best], best, best_rec, &v);
		write_one(nx, name, len, &v);
	} else if (tomb) {
		memset(&v, 0, sizeof(v));
		v.zone = slot;
		write_one(nx, name, len, &v);
	} else {
		delete_one(nx, name, len);
	}
}

static void nx_record_clear(struct nxsync *nx, uint32_t slot, uint32_t half)
{
	struct xdpns_nx rec;
	uint32_t key = slot * 2 + half;

	memset(&rec, 0, sizeof(rec));
	bpf_map_update_elem(nx->fds.nx, &key, &rec, BPF_ANY);
}

/* ---- which names, and what XDP may do below them ---- */

static int has_data(const struct node *n, uint16_t type)
{
	const struct rrset *s = n ? node_rrset(n, type) : NULL;

	return s && rdset_count(s->rrs) > 0;
}

/* Nothing below this name is NXDOMAIN for XDP, and nothing below it
 * needs to be in the map (the walk stops here): a zone cut (referral), a
 * DNAME owner (not supported: the slow path), or a name MNAME or RNAME
 * ends with (the SOA's compression would differ from the template). */
static int blocking(const struct zone *z, const struct nameset *shadow,
		    const uint8_t *name, size_t len)
{
	const struct node *n = zone_find(z, name, len);

	if (n && len != z->apex_len && has_data(n, LDNS_RR_TYPE_NS))
		return 1;
	if (n && has_data(n, LDNS_RR_TYPE_DNAME))
		return 1;
	return set_find(shadow, name, len) != NULL;
}

/* 0: name goes in with *flags; 1: it is below a blocking name (left out). */
static int classify(const struct zone *z, const struct nameset *shadow,
		    const uint8_t *name, size_t len, uint8_t *flags)
{
	uint8_t wild[256];
	size_t i = 0;

	/* proper ancestors down to the apex */
	while (name[i] && len - i > z->apex_len) {
		i += name[i] + 1;
		if (blocking(z, shadow, name + i, len - i))
			return 1;
	}
	*flags = 0;
	if (blocking(z, shadow, name, len))
		return 0;
	if (len + 2 <= 255) {
		wild[0] = 1;
		wild[1] = '*';
		memcpy(wild + 2, name, len);
		if (zone_find(z, wild, len + 2))
			return 0; /* the engine synthesises from the wildcard */
	}
	*flags = XDPNS_NAME_F_SYNTH;
	return 0;
}

/* MNAME and RNAME, when in the zone, and their ancestors below the apex. */
static int shadow_names(const struct zone *z, struct nameset *shadow)
{
	int k, r;

	for (k = 0; k < 2; k++) {
		uint8_t canon[256];
		size_t len = zone_soa_name(z, k, canon), i = 0;

		if (len == 0)
			continue;
		if (!name_is_subdomain(canon, len, z->apex, z->apex_len))
			continue;
		while (len - i > z->apex_len) {
			r = set_add(shadow, canon + i, len - i, 0);
			if (r)
				return r;
			i += canon[i] + 1;
		}
	}
	return 0;
}

/* The names of zone ez that XDP's walk needs, with their flags. */
static int build_names(const struct engine *e, const struct engine_zone *ez,
		       struct nameset *set)
{
	const struct zone *z = ez->zone;
	struct nameset shadow;
	const uint8_t *r;
	size_t i;
	int ret;

	memset(&shadow, 0, sizeof(shadow));
	ret = shadow_names(z, &shadow);
	for (i = 0; i <= z->mask && !ret; i++) {
		const struct node *n = &z->nodes[i];
		uint8_t flags;

		if (!n->name || engine_find_zone(e, n->name, n->len) != ez)
			continue;
		if (classify(z, &shadow, n->name, n->len, &flags))
			continue;
		ret = set_add(set, n->name, n->len, flags);
	}
	/* the shadow names themselves, even when they do not exist */
	FOREACH_REC(&shadow, r) {
		uint8_t flags;

		if (ret)
			break;
		if (engine_find_zone(e, REC_NAME(r), REC_LEN(r)) != ez ||
		    classify(z, &shadow, REC_NAME(r), REC_LEN(r), &flags))
			continue;
		ret = set_add(set, REC_NAME(r), REC_LEN(r), 0);
	}
	set_free(&shadow);
	return ret;
}

/* ---- the NXDOMAIN template ---- */

/* A name's compression pointer, if it ends in one, into rec. */
static int scan_name(const uint8_t *b, size_t len, size_t *off,
		     struct xdpns_nx *rec)
{
	size_t o = *off;
	int n;

	for (n = 0; o < len && n < 128; n++) {
		uint8_t c = b[o];

		if (c == 0) {
			*off = o + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (o + 2 > len || rec->n_ptrs >= XDPNS_NX_PTRS)
				return -1;
			rec->ptr_off[rec->n_ptrs] = o;
			rec->ptr_val[rec->n_ptrs] = (uint16_t)b[o] << 8 | b[o + 1];
			rec->n_ptrs++;
			*off = o + 2;
			return 0;
		}
		if (c > 63)
			return -1;
		o += c + 1;
	}
	return -1;
}

/* The body must be one SOA record (owner a pointer into the question),
 * nothing else; its pointers go into rec. */
static int parse_soa_body(const uint8_t *b, size_t len, struct xdpns_nx *rec)
{
	size_t o = 0, rdlen;

	rec->n_ptrs = 0;
	if (scan_name(b, len, &o, rec) || rec->n_ptrs != 1 || rec->ptr_off[0] != 0)
		return -1;
	if (o + 10 > len || ((uint16_t)b[o] << 8 | b[o + 1]) != LDNS_RR_TYPE_SOA)
		return -1;
	rdlen = (size_t)b[o + 8] << 8 | b[o + 9];
	o += 10;
	if (o + rdlen != len)
		return -1;
	if (scan_name(b, len, &o, rec) || scan_name(b, len, &o, rec))
		return -1;
	return o + 20 == len ? 0 : -1;
}

/* "label.ce" that is not in set (so it does not exist, and MNAME and
 * RNAME do not end with it); label is prefix + a number. */
static size_t fresh_child(const struct nameset *set, const uint8_t *ce,
			  size_t ce_len, const char *prefix, uint8_t *out)
{
	unsigned k;

	for (k = 0; k < 1000; k++) {
		char label[64];
		int l = snprintf(label, sizeof(label), "%s%u", prefix, k);

		if (l <= 0 || l > 63 || ce_len + l + 1 > 255)
			return 0;
		out[0] = l;
		memcpy(out + 1, label, l);
		memcpy(out + 1 + l, ce, ce_len);
		if (!set_find(set, out, ce_len + l + 1))
			return ce_len + l + 1;
	}
	return 0;
}

/* The engine's NXDOMAIN for a child of a name that allows it, as a
 * template XDP can move to any question length; checked against the
 * engine's answer for a question of another length (and with DO).
 * Returns 0 with rec filled, or -1 when XDP cannot make this zone's
 * NXDOMAIN (the reason is logged). */
static int build_template(struct nxsync *nx, const struct engine_zone *ez,
			  const struct nameset *set, struct xdpns_nx *rec)
{
	const struct zone *z = ez->zone;
	const uint8_t *ce = NULL, *r;
	uint8_t q0[256], q1[256], body[XDPNS_BLOB_M_CAP];
	struct xdpns_blob_l *bl = NULL;
	struct answer *a = nx->ans;
	enum xdpns_blob_class cls;
	size_t l0, l1, len, vsize, ce_len = 0, i;
	const char *why = NULL;
	int k, ret = -1;

	r = set_find(set, z->apex, z->apex_len);
	if (r && (REC_FLAGS(r) & XDPNS_NAME_F_SYNTH)) {
		ce = REC_NAME(r);
		ce_len = REC_LEN(r);
	} else {
		FOREACH_REC(set, r) {
			if (REC_FLAGS(r) & XDPNS_NAME_F_SYNTH) {
				ce = REC_NAME(r);
				ce_len = REC_LEN(r);
				break;
			}
		}
	}
	if (!ce)
		return -1; /* no name allows it: nothing to do */
	memset(rec, 0, sizeof(*rec));
	l0 = fresh_child(set, ce, ce_len, "nx", q0);
	l1 = fresh_child(set, ce, ce_len, "nxdomain-probe-", q1);
	if (!l0 || !l1 || l0 == l1) {
		why = "no free name to make it with";
		goto out;
	}
	if (engine_answer(ez, q0, l0, LDNS_RR_TYPE_A, 0, a) ||
	    (a->flags & DNS_F_RCODE) != 3 || a->an || a->ns != 1 || a->ar ||
	    a->oversize || a->n_cuts || a->len > XDPNS_BLOB_M_CAP) {
		why = "the engine's NXDOMAIN is not a lone SOA of at most 504 bytes";
		goto out;
	}
	len = a->len;
	memcpy(body, a->body, len);
	if (parse_soa_body(body, len, rec)) {
		why = "unexpected SOA encoding";
		goto out;
	}
	bl = malloc(sizeof(*bl));
	if (!bl) {
		why = "out of memory";
		goto out;
	}
	mapsync_blob_from_answer(a, bl, &cls, &vsize);
	/* the same bytes, pointers moved, for another length and with DO */
	for (k = 0; k < 2; k++) {
		int d = (int)l1 - (int)l0;

		if (engine_answer(ez, q1, l1, k ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A,
				  k, a) ||
		    a->len != len || a->an || a->ns != 1 || a->ar || a->oversize ||
		    htobe16(a->flags) != bl->h.flags) {
			why = "the engine's NXDOMAIN differs by question";
			goto out;
		}
		for (i = 0; i < len; i++) {
			uint16_t want = body[i];
			int p;

			for (p = 0; p < rec->n_ptrs; p++) {
				if (i == rec->ptr_off[p])
					want = (rec->ptr_val[p] + d) >> 8;
				else if (i == rec->ptr_off[p] + 1u)
					want = (rec->ptr_val[p] + d) & 0xff;
			}
			if (a->body[i] != want) {
				why = "the engine's NXDOMAIN is not the same bytes for "
				      "another question length";
				goto out;
			}
		}
	}
	rec->qlen = l0 + 4;
	rec->blob.h = bl->h;
	memcpy(rec->blob.data, body, len);
	/* the sum without the pointers: XDP adds the ones it writes */
	for (k = 0; k < rec->n_ptrs; k++) {
		body[rec->ptr_off[k]] = 0;
		body[rec->ptr_off[k] + 1] = 0;
	}
	rec->blob.h.csum = wire_sum16(body, len);
	ret = 0;
out:
	if (why)
		log_warn_kv("NXDOMAIN stays on the slow path", "zone=%s reason=%s",
			    z->name, why);
	free(bl);
	return ret;
}

/* ---- the generation cycle ---- */

/* The SOA's MNAME or RNAME (field k), canonical, or length 0. */
static size_t soa_name(const struct zone *z, int k, uint8_t out[256])
{
	return zone_soa_name(z, k, out);
}

static int has_records(const struct node *n)
{
	uint32_t j;

	for (j = 0; n && j < n->n_sets; j++)
		if (rdset_count(n->sets[j].rrs))
			return 1;
	return 0;
}

/* An IXFR changed only the records of names (owners) of old into z: are
 * the names XDP needs and their flags the same? Yes when every owner
 * holds records before and after (no name, and so no empty non-terminal,
 * came or went), none became or stopped being a cut or a DNAME (a
 * wildcard owner that stays keeps its parent's flag), and MNAME and RNAME
 * did not move. Conservative: anything else restages every name. */
static int names_unchanged(const struct zone *z, const struct zone *old,
			   const uint8_t *const *names, size_t n)
{
	uint8_t a[256], b[256];
	size_t i, la, lb;
	int k;

	if (!old || !names || z->signed_zone || old->signed_zone ||
	    z->apex_len != old->apex_len || memcmp(z->apex, old->apex, z->apex_len))
		return 0;
	for (k = 0; k < 2; k++) {
		la = soa_name(z, k, a);
		lb = soa_name(old, k, b);
		if (la != lb || memcmp(a, b, la))
			return 0;
	}
	for (i = 0; i < n; i++) {
		size_t len = name_wire_len(names[i]);
		const struct node *nn = len ? zone_find(z, names[i], len) : NULL;
		const struct node *on = len ? zone_find(old, names[i], len) : NULL;

		if (!has_records(nn) || !has_records(on))
			return 0;
		if (has_data(nn, LDNS_RR_TYPE_NS) != has_data(on, LDNS_RR_TYPE_NS) ||
		    has_data(nn, LDNS_RR_TYPE_DNAME) != has_data(on, LDNS_RR_TYPE_DNAME))
			return 0;
	}
	return 1;
}

void nxsync_stage(struct nxsync *nx, const struct engine *e,
		  const struct engine_zone *ez, uint32_t gen,
		  const struct zone *old, const uint8_t *const *changed,
		  size_t n_changed)
{
	const struct zone *z = ez->zone;
	struct xdpns_nx rec;
	struct nxzone *zs;
	uint32_t key;
	uint64_t now, t0;
	int r, synth;

	if (ez->slot >= XDPNS_MAX_ZONES || !z)
		return;
	zs = &nx->zones[ez->slot];
	if (zs->staged)
		nxsync_abort(nx, ez->slot);
	if (zs->gen && (zs->gen & 1) == (gen & 1)) {
		/* the generation counter wrapped onto the served half */
		log_warn_kv("no NXDOMAIN in XDP: the generation reuses the served half",
			    "zone=%s gen=%u", z->name, gen);
		gen = 0;
	}
	/* a program that read the other half before the last flip is done
	 * with it once the grace period is over */
	now = now_us();
	if (zs->flip_us && now < zs->flip_us + NXSYNC_GRACE_MS * 1000)
		usleep(zs->flip_us + NXSYNC_GRACE_MS * 1000 - now);
	memcpy(zs->apex, z->apex, z->apex_len);
	zs->apex_len = z->apex_len;
	zs->staged = 1;
	zs->next_gen = gen;
	zs->next_synth = 0;
	zs->next_skip = 0;
	/* new names go into the half the served ones are not in */
	zs->next_names_gen = gen;
	zs->next_names_half = zs->gen && zs->names_gen ? !zs->names_half : (gen & 1);
	if (!gen) {
		/* the apex alone, as a tombstone: the whole zone passes */
		struct xdpns_name v;

		memset(&v, 0, sizeof(v));
		v.zone = ez->slot;
		if (set_add(&zs->next, z->apex, z->apex_len, 0) ||
		    write_one(nx, z->apex, z->apex_len, &v))
			log_err_kv("cannot write the XDP names", "zone=%s", z->name);
		return;
	}

	t0 = now_us();
	if (zs->gen && zs->synth && zs->names_gen &&
	    names_unchanged(z, old, changed, n_changed) &&
	    !build_template(nx, ez, &zs->cur, &rec)) {
		/* an IXFR that changed no name: the served names stand for
		 * this generation too; only its NXDOMAIN body is new */
		key = ez->slot * 2 + (gen & 1);
		rec.gen = gen;
		rec.names_gen = zs->names_gen;
		rec.names_half = zs->names_half;
		if (!bpf_map_update_elem(nx->fds.nx, &key, &rec, BPF_ANY)) {
			zs->next_skip = 1;
			zs->next_synth = 1;
			zs->next_names_gen = zs->names_gen;
			zs->next_names_half = zs->names_half;
			log_debug_kv("names for NXDOMAIN kept", "zone=%s names=%zu",
				     z->name, zs->cur.n);
			return;
		}
	}
	r = -1;
	if (!z->signed_zone) {
		r = build_names(e, ez, &zs->next);
		if (r)
			log_warn_kv("NXDOMAIN stays on the slow path",
				    "zone=%s reason=%s", z->name, strerror(-r));
		else
			r = build_template(nx, ez, &zs->next, &rec);
	}
	synth = !r;
	if (r) {
		/* only the apex, so the walk of a name in this zone stops
		 * here and never reaches a zone above */
		set_free(&zs->next);
		if (set_add(&zs->next, z->apex, z->apex_len, 0))
			log_err_kv("out of memory for the XDP names", "zone=%s", z->name);
	}
	r = write_staged(nx, ez->slot);
	if (r) {
		struct xdpns_name v;

		log_err_kv("writing the XDP names failed: NXDOMAIN stays on the "
			   "slow path", "zone=%s reason=%s", z->name, strerror(-r));
		nx_record_clear(nx, ez->slot, gen & 1);
		/* the apex may be among those not written: a tombstone, so no
		 * walk in this zone goes on to a zone above */
		memset(&v, 0, sizeof(v));
		v.zone = ez->slot;
		write_one(nx, z->apex, z->apex_len, &v);
		return;
	}
	key = ez->slot * 2 + (gen & 1);
	if (synth) {
		rec.gen = gen;
		rec.names_gen = zs->next_names_gen;
		rec.names_half = zs->next_names_half;
		if (bpf_map_update_elem(nx->fds.nx, &key, &rec, BPF_ANY)) {
			log_err_kv("writing the XDP NXDOMAIN failed", "zone=%s reason=%s",
				   z->name, strerror(errno));
			nx_record_clear(nx, ez->slot, gen & 1);
			return;
		}
		zs->next_synth = 1;
	} else {
		nx_record_clear(nx, ez->slot, gen & 1);
	}
	log_debug_kv("names for NXDOMAIN staged", "zone=%s names=%zu nxdomain=%s ms=%llu",
		     z->name, zs->next.n, zs->next_synth ? "xdp" : "slow",
		     (unsigned long long)(now_us() - t0) / 1000);
}

void nxsync_commit(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	uint32_t n_rel;
	const uint8_t *r;

	if (slot >= XDPNS_MAX_ZONES || !nx->zones[slot].staged)
		return;
	zs = &nx->zones[slot];
	if (zs->next_skip) { /* the names stay as they are */
		zs->gen = zs->next_gen;
		zs->synth = zs->next_synth;
		zs->staged = 0;
		zs->next_skip = 0;
		zs->flip_us = now_us();
		return;
	}
	n_rel = related(nx, slot, nx->rel);
	/* names the new generation lacks: unknown to XDP already (their
	 * half of the new generation is not current) */
	FOREACH_REC(&zs->cur, r) {
		if (set_find(&zs->next, REC_NAME(r), REC_LEN(r)))
			continue;
		if (n_rel)
			give_up(nx, slot, nx->rel, n_rel, REC_NAME(r), REC_LEN(r), 0);
		else
			delete_one(nx, REC_NAME(r), REC_LEN(r));
	}
	nx->st.names -= zs->cur.n;
	nx->st.names += zs->next.n;
	nx->st.zones_synth -= zs->synth;
	nx->st.zones_synth += zs->next_synth;
	set_free(&zs->cur);
	zs->cur = zs->next;
	memset(&zs->next, 0, sizeof(zs->next));
	zs->gen = zs->next_gen;
	zs->names_gen = zs->next_names_gen;
	zs->names_half = zs->next_names_half;
	zs->synth = zs->next_synth;
	zs->staged = 0;
	zs->flip_us = now_us();
}

void nxsync_abort(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	const uint8_t *r, *c;
	uint32_t n_rel;

	if (slot >= XDPNS_MAX_ZONES || !nx->zones[slot].staged)
		return;
	zs = &nx->zones[slot];
	n_rel = related(nx, slot, nx->rel);
	FOREACH_REC(&zs->next, r) { /* none when the names were kept */
		struct xdpns_name v;

		c = set_find(&zs->cur, REC_NAME(r), REC_LEN(r));
		if (c) {
			/* forget the staged half: its generation number will
			 * be used again */
			served_value(zs, slot, c, &v);
			write_one(nx, REC_NAME(r), REC_LEN(r), &v);
		} else if (n_rel) {
			give_up(nx, slot, nx->rel, n_rel, REC_NAME(r), REC_LEN(r), 0);
		} else {
			delete_one(nx, REC_NAME(r), REC_LEN(r));
		}
	}
	if (zs->next_gen && (!zs->gen || (zs->next_gen & 1) != (zs->gen & 1)))
		nx_record_clear(nx, slot, zs->next_gen & 1);
	set_free(&zs->next);
	zs->staged = 0;
	zs->next_skip = 0;
}

void nxsync_remove(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	const uint8_t *r;
	uint32_t n_rel;

	if (slot >= XDPNS_MAX_ZONES)
		return;
	nxsync_abort(nx, slot);
	zs = &nx->zones[slot];
	n_rel = related(nx, slot, nx->rel);
	zs->gen = 0; /* the zones map says so already */
	FOREACH_REC(&zs->cur, r) {
		int apex = REC_LEN(r) == zs->apex_len &&
			   !memcmp(REC_NAME(r), zs->apex, zs->apex_len);

		if (n_rel)
			/* the apex stays as a tombstone (pass) unless a zone
			 * above claims it: names below it must not reach the
			 * zone above through a missing key */
			give_up(nx, slot, nx->rel, n_rel, REC_NAME(r), REC_LEN(r),
				apex);
		else
			delete_one(nx, REC_NAME(r), REC_LEN(r));
	}
	/* the NXDOMAIN records stay: a program may still be reading one, and
	 * the zone's later generations never equal theirs */
	nx->st.names -= zs->cur.n;
	nx->st.zones_synth -= zs->synth;
	zs->synth = 0;
	set_free(&zs->cur);
}

int nxsync_probe(const struct nxsync *nx, int zones_fd, const uint8_t *name,
		 size_t len, struct nxsync_probe *out)
{
	struct xdpns_name v;
	struct xdpns_zone zv;
	struct xdpns_nx rec;
	uint8_t key[XDPNS_KEY_NAME];
	size_t at = 0;
	uint32_t h, idx;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > 255)
		return -EINVAL;
	for (;;) {
		name_key(key, name + at, len - at);
		if (!bpf_map_lookup_elem(names_fd(nx, len - at), key, &v))
			break;
		if (name[at] == 0)
			return 0; /* no suffix in the maps */
		at += name[at] + 1;
		if (at >= len)
			return 0;
	}
	out->found = 1;
	out->at = at;
	out->zone = v.zone;
	if (at == 0 || bpf_map_lookup_elem(zones_fd, &v.zone, &zv) || !zv.gen ||
	    (zv.flags & XDPNS_ZONE_F_EXPIRED))
		return 0;
	out->gen = zv.gen;
	h = zv.gen & 1;
	idx = v.zone * 2 + h;
	if (v.gen[h] != zv.gen || !(v.flags[h] & XDPNS_NAME_F_SYNTH) ||
	    bpf_map_lookup_elem(nx->fds.nx, &idx, &rec) || rec.gen != zv.gen)
		return 0;
	out->synth = 1;
	out->hdr = rec.blob.h;
	return 0;
}

int nxsync_zone_synth(const struct nxsync *nx, uint32_t slot)
{
	return slot < XDPNS_MAX_ZONES ? nx->zones[slot].synth : 0;
}

uint64_t nxsync_zone_names(const struct nxsync *nx, uint32_t slot)
{
	return slot < XDPNS_MAX_ZONES ? nx->zones[slot].cur.n : 0;
}

void nxsync_get_stats(const struct nxsync *nx, struct nxsync_stats *st)
{
	*st = nx->st;
}
