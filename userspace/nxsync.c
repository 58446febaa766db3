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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "bpf_shim.h"
#include "entries.h"
#include "lib/dns.h"
#include "log.h"
#include "mapsync.h"
#include "nxsync.h"
#include "wire.h"
#include "zone.h"

/* ---- sets of names with flags ---- */

/* Records len(1) flags(1) gen(4, host order) name(len), back to back in
 * an arena; a hash table of arena offsets + 1 (0 = empty) finds them. In
 * a zone's set of served names, flags and gen are the name's live half
 * in the map (its XDP flags, RF_HALF, its generation); in a set of
 * changes, the half written for the staged generation. */
struct nameset {
	uint8_t *arena;
	size_t used, cap, dead; /* dead: bytes of deleted records */
	uint32_t *slots;
	size_t mask, n;
};

#define REC_HDR 6
#define REC_LEN(r) ((size_t)(r)[0])
#define REC_FLAGS(r) ((r)[1])
#define REC_NAME(r) ((r) + REC_HDR)
#define CUR_REC (REC_HDR + 256) /* room for a record made up */
#define RF_MAP 0x0f /* the name's XDP flags (XDPNS_NAME_F_*) */
#define RF_SIDE 0x10 /* a change: written, and not into a table slot of
			* the zone (a hash): its record goes to side */
#define RF_ABSENT 0x20 /* a change: the name goes */
#define RF_HALF 0x40 /* the half of the map value gen is in */
#define RF_DEAD 0x80 /* deleted from the set */
#define FOREACH_REC(s, r)                                                    \
	for (size_t _o = 0; (s)->arena && _o < (s)->used &&                  \
			    ((r) = (s)->arena + _o, 1);                      \
	     _o += REC_HDR + REC_LEN(r))                                     \
		if (!(REC_FLAGS(r) & RF_DEAD))

static uint32_t rec_gen(const uint8_t *r)
{
	uint32_t g;

	memcpy(&g, r + 2, 4);
	return g;
}

static void rec_set_gen(uint8_t *r, uint32_t g)
{
	memcpy(r + 2, &g, 4);
}

static int rec_half(const uint8_t *r)
{
	return (REC_FLAGS(r) & RF_HALF) ? 1 : 0;
}

static size_t set_slot(const struct nameset *s, const uint8_t *name, size_t len)
{
	size_t i;

	for (i = name_hash(name, len) & s->mask; s->slots[i]; i = (i + 1) & s->mask) {
		const uint8_t *r = s->arena + s->slots[i] - 1;

		if (REC_LEN(r) == len && !memcmp(REC_NAME(r), name, len))
			return i;
	}
	return i; /* an empty slot */
}

static uint8_t *set_find(const struct nameset *s, const uint8_t *name,
			 size_t len)
{
	size_t i;

	if (!s || !s->slots)
		return NULL;
	i = set_slot(s, name, len);
	return s->slots[i] ? s->arena + s->slots[i] - 1 : NULL;
}

static int set_rehash(struct nameset *s, size_t size)
{
	uint32_t *slots = calloc(size, sizeof(*slots));
	size_t i;

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

/* Room for n names without growing. */
static int set_reserve(struct nameset *s, size_t n)
{
	size_t size = 1024;

	while (size < n * 2)
		size *= 2;
	if (s->slots && size <= s->mask + 1)
		return 0;
	return set_rehash(s, size);
}

/* Add name (or find it: a name added twice keeps the flags both allow);
 * *out, when given, is its record. */
static int set_add(struct nameset *s, const uint8_t *name, size_t len,
		   uint8_t flags, uint8_t **out)
{
	uint8_t *r = set_find(s, name, len);
	size_t i;

	if (r) {
		REC_FLAGS(r) &= flags | ~RF_MAP;
		if (out)
			*out = r;
		return 0;
	}
	if (!s->slots || (s->n + 1) * 2 > s->mask + 1)
		if (set_rehash(s, s->slots ? (s->mask + 1) * 2 : 1024))
			return -ENOMEM;
	if (s->used + REC_HDR + len > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint8_t *a;

		while (cap < s->used + REC_HDR + len)
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
	rec_set_gen(r, 0);
	memcpy(REC_NAME(r), name, len);
	i = set_slot(s, name, len);
	s->slots[i] = s->used + 1;
	s->used += REC_HDR + len;
	s->n++;
	if (out)
		*out = r;
	return 0;
}

static void set_free(struct nameset *s)
{
	free(s->arena);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* The arena again without its deleted records. */
static int set_compact(struct nameset *s)
{
	struct nameset c;
	const uint8_t *r;
	uint8_t *nr;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = set_reserve(&c, s->n);
	FOREACH_REC(s, r) {
		if (ret)
			break;
		ret = set_add(&c, REC_NAME(r), REC_LEN(r), REC_FLAGS(r), &nr);
		if (!ret)
			rec_set_gen(nr, rec_gen(r));
	}
	if (ret) {
		set_free(&c);
		return ret;
	}
	set_free(s);
	*s = c;
	return 0;
}

/* Delete name (linear probing: the records after it in its run move up). */
static void set_del(struct nameset *s, const uint8_t *name, size_t len)
{
	size_t i, j, k;
	uint8_t *r;

	if (!s->slots)
		return;
	i = set_slot(s, name, len);
	if (!s->slots[i])
		return;
	r = s->arena + s->slots[i] - 1;
	REC_FLAGS(r) |= RF_DEAD;
	s->dead += REC_HDR + len;
	s->n--;
	for (j = i;;) {
		s->slots[i] = 0;
		for (;;) {
			const uint8_t *o;

			j = (j + 1) & s->mask;
			if (!s->slots[j])
				goto done;
			o = s->arena + s->slots[j] - 1;
			k = name_hash(REC_NAME(o), REC_LEN(o)) & s->mask;
			/* stays when its home is cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		s->slots[i] = s->slots[j];
		i = j;
	}
done:
	if (s->dead > 65536 && s->dead * 2 > s->used)
		set_compact(s); /* on failure the set stays as it is */
}

/* ---- state ---- */

/* A staging: its inputs (valid until nxsync_stage_end) and results. */
struct stage_job {
	const struct engine *e;
	const struct engine_zone *ez;
	const struct zone *old;
	const uint8_t *const *changed;
	size_t n_changed;
	int wrapped; /* the generation's NXDOMAIN record would be the served one */
	int threaded; /* ran beside the caller */
	int r; /* 0, or writing the names failed */
	int synth; /* the generation makes NXDOMAIN in XDP (rec) */
	struct xdpns_nx rec;
	const char *how;
	uint64_t find_us, write_us;
	uint64_t cpu_us; /* CPU time the staging took (its thread's) */
};

struct nxzone;
struct nxsync_job_arg {
	struct nxsync *nx;
	struct nxzone *zs;
};

struct nxzone {
	uint32_t gen; /* served generation; 0 = none */
	int synth; /* gen makes NXDOMAIN in XDP */
	/* The zone's names in the maps ("cur"), each with its live half:
	 * every name gen has, with its flags. Those in a slot of a names
	 * table under this zone are read there (cur_find, cur_next: the
	 * half gen picks); side holds the others as records: names over 64
	 * bytes, names in a table's overflow hash, and names whose key
	 * another zone took (keep_claim). */
	struct nameset side;
	size_t n; /* how many names cur has */
	uint64_t kids; /* the child zones cur's names were placed with */
	/* the map may not hold what cur says (a write failed): the next
	 * publish writes every name */
	int dirty, next_dirty;
	int staged; /* the generation about to flip has been written */
	uint32_t next_gen;
	int next_synth;
	uint64_t next_kids;
	/* the names whose half of next_gen was written: added, flags
	 * changed, or going (RF_ABSENT) */
	struct nameset delta;
	uint64_t flip_us; /* when gen became visible */
	uint8_t apex[256];
	size_t apex_len; /* 0: never staged */
	struct stage_job job; /* the staging under way */
	struct nxsync_job_arg arg;
	pthread_t thread;
	int running; /* thread is staging */
};

struct nxsync {
	struct nxsync_fds fds;
	/* the names tables (classes 0 and 1) as the entries' (entries.c): a
	 * name is a key of qtype 0, its halves' flags in ref[0] */
	struct etable nt[XDPNS_TABLE_CLASSES];
	struct etable_graves dead; /* slots deleted, in their grace period */
	struct nxzone zones[XDPNS_MAX_ZONES];
	struct answer *ans; /* scratch for the engine's answers */
	struct nxsync_stats st;
	uint32_t rel[XDPNS_MAX_ZONES]; /* scratch for related() */
	uint32_t seq; /* xdpns_nx_seq's value */
};

/* Wait for the staging of slot to end (the thread joined). */
static void stage_join(struct nxzone *zs)
{
	if (zs->running) {
		pthread_join(zs->thread, NULL);
		zs->running = 0;
	}
}

static uint64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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
	for (int c = 0; c < XDPNS_TABLE_CLASSES; c++) {
		int r = etable_init_names(&nx->nt[c], c, fds->table_mem[c],
					  fds->n_table[c], fds->table_home[c]);

		if (r) {
			free(nx->ans);
			free(nx);
			return r;
		}
	}
	*out = nx;
	return 0;
}

void nxsync_free(struct nxsync *nx)
{
	size_t i;

	if (!nx)
		return;
	for (i = 0; i < XDPNS_MAX_ZONES; i++) {
		stage_join(&nx->zones[i]);
		set_free(&nx->zones[i].side);
		set_free(&nx->zones[i].delta);
	}
	etable_graves_free(&nx->dead);
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

/* The value of a served name: its live half alone (rec: its record in
 * the zone's cur; NULL: no half). */
static void served_value(uint32_t slot, const uint8_t *rec, struct xdpns_name *v)
{
	memset(v, 0, sizeof(*v));
	v->zone = slot;
	if (rec) {
		v->gen[rec_half(rec)] = rec_gen(rec);
		v->flags[rec_half(rec)] = REC_FLAGS(rec) & RF_MAP;
	}
}

/* The hashes: names longer than 64 bytes, and the tables' overflow. */
static int hash_put(struct nxsync *nx, const uint8_t *name, size_t len,
		    const struct xdpns_name *v)
{
	uint8_t key[XDPNS_KEY_NAME];

	name_key(key, name, len);
	return bpf_map_update_elem(names_fd(nx, len), key, v, BPF_ANY) ? -errno : 0;
}

static int hash_del(struct nxsync *nx, const uint8_t *name, size_t len)
{
	uint8_t key[XDPNS_KEY_NAME];

	name_key(key, name, len);
	return bpf_map_delete_elem(names_fd(nx, len), key) ? -errno : 0;
}

static int hash_get(const struct nxsync *nx, const uint8_t *name, size_t len,
		    struct xdpns_name *v)
{
	uint8_t key[XDPNS_KEY_NAME];

	name_key(key, name, len);
	return bpf_map_lookup_elem(names_fd(nx, len), key, v) ? -errno : 0;
}

/* A name as a table key (qtype 0, state live). */
static void table_key(struct xdpns_key *k, const uint8_t *name, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->name_len = len;
	memcpy(k->name, name, len);
}

/* Where name is: its table slot (>= 0), -1 (the overflow hash) or -2
 * (nowhere); *v gets its value. */
static long name_get(const struct nxsync *nx, const uint8_t *name, size_t len,
		     struct xdpns_name *v)
{
	int c = XDPNS_KEYCLASS(len);
	const struct etable *t = &nx->nt[c & 1];
	struct xdpns_key k;
	uint32_t home;
	long s;

	if (c < XDPNS_TABLE_CLASSES) {
		table_key(&k, name, len);
		s = etable_find(t, &k, &home);
		if (s >= 0) {
			etable_name_read(t, s, v);
			return s;
		}
		if (!etable_ovf(t, home))
			return -2;
	}
	return hash_get(nx, name, len, v) ? -2 : -1;
}

/* ---- a zone's served names: its table slots, and side ---- */

/* The half of v a reader of generation gen picks (xdpns_name_pick's),
 * with flags or without; -1: none. */
static int live_half(const struct xdpns_name *v, uint32_t gen)
{
	uint32_t g0 = v->gen[0], g1 = v->gen[1];
	int ok0 = g0 && g0 <= gen, ok1 = g1 && g1 <= gen;

	if (ok0 && (!ok1 || g0 > g1))
		return 0;
	return ok1 ? 1 : -1;
}

static uint32_t zone_slot(const struct nxsync *nx, const struct nxzone *zs)
{
	return zs - nx->zones;
}

/* The record of name with half h of v, in buf (CUR_REC bytes). */
static uint8_t *rec_make(uint8_t *buf, const uint8_t *name, size_t len,
			 const struct xdpns_name *v, int h)
{
	buf[0] = len;
	buf[1] = (v->flags[h] & RF_MAP) | (h ? RF_HALF : 0);
	rec_set_gen(buf, v->gen[h]);
	memcpy(REC_NAME(buf), name, len);
	return buf;
}

/* The table slot holding name for zone slot (>= 0; *v its value), or -1. */
static long own_slot(const struct nxsync *nx, uint32_t slot,
		     const uint8_t *name, size_t len, struct xdpns_name *v)
{
	int c = XDPNS_KEYCLASS(len);
	struct xdpns_key k;
	uint32_t home;
	long s;

	if (c >= XDPNS_TABLE_CLASSES)
		return -1;
	table_key(&k, name, len);
	s = etable_find(&nx->nt[c], &k, &home);
	if (s < 0)
		return -1;
	etable_name_read(&nx->nt[c], s, v);
	return v->zone == slot ? s : -1;
}

/* name among zs's served names: its record (in side, or made in buf from
 * the live half of its table slot), or NULL. */
static const uint8_t *cur_find(const struct nxsync *nx, const struct nxzone *zs,
			       const uint8_t *name, size_t len, uint8_t *buf)
{
	const uint8_t *r = set_find(&zs->side, name, len);
	struct xdpns_name v;
	int h;

	if (r)
		return r;
	if (!zs->gen || own_slot(nx, zone_slot(nx, zs), name, len, &v) < 0)
		return NULL;
	h = live_half(&v, zs->gen);
	return h < 0 ? NULL : rec_make(buf, name, len, &v, h);
}

/* zs's served names one by one: the live slots of the tables under the
 * zone (with a half its generation picks; all: any, as a record without
 * a half), then side. it zeroed first; NULL at the end. */
struct cur_it {
	int c; /* table class; XDPNS_TABLE_CLASSES: side */
	uint32_t s;
	size_t o;
	uint8_t buf[CUR_REC];
};

static const uint8_t *cur_next(const struct nxsync *nx, const struct nxzone *zs,
			       struct cur_it *it, int all)
{
	uint32_t slot = zone_slot(nx, zs);

	if (!zs->n && !all)
		it->c = XDPNS_TABLE_CLASSES; /* nothing served */
	for (; it->c < XDPNS_TABLE_CLASSES; it->c++, it->s = 0) {
		const struct etable *t = &nx->nt[it->c];

		while (it->s < t->n_slots) {
			uint32_t i = it->s++;
			const uint8_t *key;
			struct xdpns_name v;
			int h;

			if (etable_state(t, i) != XDPNS_SLOT_LIVE)
				continue;
			etable_name_read(t, i, &v);
			if (v.zone != slot)
				continue;
			key = etable_slot_key(t, i);
			h = live_half(&v, zs->gen);
			if ((h < 0 && !all) || set_find(&zs->side, key + 4, key[2]))
				continue;
			if (h < 0) {
				memset(&v, 0, sizeof(v));
				h = 0;
			}
			return rec_make(it->buf, key + 4, key[2], &v, h);
		}
	}
	while (zs->side.arena && it->o < zs->side.used) {
		const uint8_t *r = zs->side.arena + it->o;

		it->o += REC_HDR + REC_LEN(r);
		if (!(REC_FLAGS(r) & RF_DEAD))
			return r;
	}
	return NULL;
}

/* A key of zone cur->zone is about to go to another zone (written by or
 * for giver): that zone still serves the name until its own publish
 * drops it, so its record goes to its side (the key may come back). */
static int keep_claim(struct nxsync *nx, const struct xdpns_name *cur,
		      const uint8_t *name, size_t len, uint32_t giver)
{
	struct nxzone *o;
	uint8_t *r;
	int h;

	if (cur->zone == giver || cur->zone >= XDPNS_MAX_ZONES)
		return 0;
	o = &nx->zones[cur->zone];
	h = live_half(cur, o->gen);
	if (h < 0 || set_find(&o->side, name, len))
		return 0;
	if (set_add(&o->side, name, len, 0, &r))
		return -ENOMEM;
	REC_FLAGS(r) = (cur->flags[h] & RF_MAP) | (h ? RF_HALF : 0);
	rec_set_gen(r, cur->gen[h]);
	return 0;
}

/*
 * Write name's value v. In a table (docs/design.md "The entries table"
 * and "NXDOMAIN in XDP"): a name of the same zone is written in place,
 * half by half (flags, then generation), only the halves that differ --
 * the callers write a half no reader picks yet (a generation not
 * flipped), clear one (a reader that sees it cleared passes), or write a
 * generation without an NXDOMAIN record; a name new to the table, or
 * handed to another zone, goes to a free slot of its probe (or the
 * overflow hash) and the old slot dies, so a reader sees one whole value
 * or the other. giver: the zone on whose behalf (v->zone, or a zone giving
 * the name up); another zone that held the key keeps its claim
 * (keep_claim). Returns 0 (the name is in a table), 1 (in a hash) or
 * -errno.
 */
static int write_one(struct nxsync *nx, const uint8_t *name, size_t len,
		     const struct xdpns_name *v, uint32_t giver)
{
	int c = XDPNS_KEYCLASS(len), i, r;
	struct xdpns_name cur, hv;
	struct xdpns_key k;
	struct etable *t;
	uint32_t home;
	long s, f;

	/* a name in a hash is in its zone's side already */
	if (c >= XDPNS_TABLE_CLASSES)
		return hash_put(nx, name, len, v) ?: 1;
	t = &nx->nt[c];
	table_key(&k, name, len);
	s = etable_find(t, &k, &home);
	if (s >= 0) {
		etable_name_read(t, s, &cur);
		if (cur.zone == v->zone) {
			for (i = 0; i < 2; i++)
				if (cur.gen[i] != v->gen[i] || cur.flags[i] != v->flags[i])
					etable_name_set_half(t, s, i, v);
			return 0;
		}
		r = keep_claim(nx, &cur, name, len, giver);
		if (r)
			return r;
	} else if (etable_ovf(t, home) && !hash_get(nx, name, len, &hv)) {
		return hash_put(nx, name, len, v) ?: 1; /* replaced whole */
	}
	f = etable_free_slot(t, home);
	if (f >= 0) {
		etable_name_fill(t, f, &k, v);
		r = 0;
	} else {
		etable_ovf_add(t, home, 1); /* before the element: XDP looks */
		r = hash_put(nx, name, len, v);
		if (r) {
			etable_ovf_add(t, home, -1);
			return r;
		}
		r = 1;
	}
	if (s >= 0)
		etable_bury(nx->nt, &nx->dead, c, s, NXSYNC_GRACE_MS);
	return r;
}

static void delete_one(struct nxsync *nx, const uint8_t *name, size_t len)
{
	int c = XDPNS_KEYCLASS(len);
	struct xdpns_key k;
	struct etable *t;
	uint32_t home;
	long s;

	if (c >= XDPNS_TABLE_CLASSES) {
		hash_del(nx, name, len);
		return;
	}
	t = &nx->nt[c];
	table_key(&k, name, len);
	s = etable_find(t, &k, &home);
	if (s >= 0)
		etable_bury(nx->nt, &nx->dead, c, s, NXSYNC_GRACE_MS);
	else if (etable_ovf(t, home) && !hash_del(nx, name, len))
		etable_ovf_add(t, home, -1); /* after the element */
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

/* Write the staged generation's half of every name in delta: beside the
 * name's live half (from cur), a half of next_gen with the new flags (none
 * for a name that goes). Records the half written in each delta record,
 * and RF_SIDE when the name is not in a table slot of the zone. */
static int write_delta(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs = &nx->zones[slot];
	struct batch b[XDPNS_KEYCLASS_COUNT];
	uint8_t *r;
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
	FOREACH_REC(&zs->delta, r) {
		uint8_t buf[CUR_REC];
		const uint8_t *live = cur_find(nx, zs, REC_NAME(r), REC_LEN(r), buf);
		struct xdpns_name v;
		int h = live ? !rec_half(live) : 0;

		served_value(slot, live, &v);
		v.gen[h] = zs->next_gen;
		v.flags[h] = (REC_FLAGS(r) & RF_ABSENT) ? 0 : REC_FLAGS(r) & RF_MAP;
		REC_FLAGS(r) = (REC_FLAGS(r) & ~(RF_HALF | RF_SIDE)) | (h ? RF_HALF : 0);
		rec_set_gen(r, zs->next_gen);
		if (XDPNS_KEYCLASS(REC_LEN(r)) < XDPNS_TABLE_CLASSES) {
			ret = write_one(nx, REC_NAME(r), REC_LEN(r), &v, slot);
			if (ret > 0)
				REC_FLAGS(r) |= RF_SIDE;
		} else {
			REC_FLAGS(r) |= RF_SIDE;
			ret = batch_add(&b[XDPNS_KEYCLASS(REC_LEN(r))], REC_NAME(r),
					REC_LEN(r), &v);
		}
		if (ret < 0)
			goto out;
		ret = 0;
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

		if (i == slot || !o->apex_len || !o->n)
			continue;
		if (name_is_subdomain(o->apex, o->apex_len, zs->apex, zs->apex_len) ||
		    name_is_subdomain(zs->apex, zs->apex_len, o->apex, o->apex_len))
			rel[n++] = i;
	}
	return n;
}

/* Slot gives name up: hand the key to the deepest related zone that
 * holds it, or leave a tombstone of slot (XDP passes: it has no half),
 * or delete it. */
static void give_up(struct nxsync *nx, uint32_t slot, const uint32_t *rel,
		    uint32_t n_rel, const uint8_t *name, size_t len, int tomb)
{
	const uint8_t *best_rec = NULL;
	uint32_t i, best = 0;
	size_t best_len = 0;
	struct xdpns_name v;
	uint8_t buf[CUR_REC];

	for (i = 0; i < n_rel; i++) {
		const struct nxzone *o = &nx->zones[rel[i]];

		if (!o->gen || o->apex_len < best_len ||
		    !name_is_subdomain(name, len, o->apex, o->apex_len))
			continue;
		if (cur_find(nx, o, name, len, buf)) {
			best = rel[i];
			best_len = o->apex_len;
		}
	}
	if (best_len)
		best_rec = cur_find(nx, &nx->zones[best], name, len, buf);
	if (best_rec) {
		served_value(best, best_rec, &v);
		write_one(nx, name, len, &v, slot);
	} else if (tomb) {
		served_value(slot, NULL, &v);
		write_one(nx, name, len, &v, slot);
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

/* Names written for a generation not yet flipped: a walk XDP began
 * before this must not answer for that generation (nx.h). */
static int seq_bump(struct nxsync *nx)
{
	struct xdpns_nx_seq v = { .seq = ++nx->seq };
	uint32_t zero = 0;

	return bpf_map_update_elem(nx->fds.seq, &zero, &v, BPF_ANY) ? -errno : 0;
}

/* ---- which names, and what XDP may do below them ---- */

static int has_data(const struct node *n, uint16_t type)
{
	const struct rrset *s = n ? node_rrset(n, type) : NULL;

	return s && rdset_count(s->rrs) > 0;
}

/* A zone cut (NS below the apex) or a DNAME owner: nothing below it is
 * NXDOMAIN for XDP (a referral; DNAME is not supported: the slow path). */
static int node_blocks(const struct zone *z, const struct node *n)
{
	return n && ((n->len != z->apex_len && has_data(n, LDNS_RR_TYPE_NS)) ||
		     has_data(n, LDNS_RR_TYPE_DNAME));
}

/* Nothing below this name is NXDOMAIN for XDP, and nothing below it
 * needs to be in the map (the walk stops here): a cut or DNAME owner, or
 * a name MNAME or RNAME ends with (the SOA's compression would differ
 * from the template). */
static int blocking(const struct zone *z, const struct nameset *shadow,
		    const uint8_t *name, size_t len)
{
	if (node_blocks(z, zone_find(z, name, len)))
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
			r = set_add(shadow, canon + i, len - i, 0, NULL);
			if (r)
				return r;
			i += canon[i] + 1;
		}
	}
	return 0;
}

/* Is name one of zone ez's names for XDP, and with which flags: a node
 * of the zone or a shadow name, placed in ez by the engine, not below a
 * blocking name. */
static int name_status(const struct engine *e, const struct engine_zone *ez,
		       const struct nameset *shadow, const uint8_t *name,
		       size_t len, uint8_t *flags)
{
	const struct zone *z = ez->zone;

	if (!zone_find(z, name, len) && !set_find(shadow, name, len))
		return 0;
	if (engine_find_zone(e, name, len) != ez)
		return 0;
	return !classify(z, shadow, name, len, flags);
}

/* Whether the engine may place a name of ez's zone in another zone: a
 * zone below ez's apex, or ez not the engine's zone for its own apex. */
static int placement_varies(const struct engine *e, const struct engine_zone *ez)
{
	const struct zone *z = ez->zone;
	int i;

	if (engine_find_zone(e, z->apex, z->apex_len) != ez)
		return 1;
	for (i = 0; i < e->n_zones; i++) {
		const struct zone *o = e->zones[i].zone;

		if (&e->zones[i] != ez && o && o->apex_len > z->apex_len &&
		    name_is_subdomain(o->apex, o->apex_len, z->apex, z->apex_len))
			return 1;
	}
	return 0;
}

/*
 * The names of zone ez that XDP's walk needs, with their flags: what
 * name_status() says of every node and shadow name, in two passes over
 * the nodes instead of lookups per name. The first collects the blocking
 * names (cuts, DNAME owners, shadow names) and the parents of wildcards
 * (usually few); the second judges each node against those sets alone.
 */
static int build_names(const struct engine *e, const struct engine_zone *ez,
		       struct nameset *set)
{
	const struct zone *z = ez->zone;
	struct nameset shadow, block, wparent;
	int varies = placement_varies(e, ez);
	const uint8_t *r;
	size_t i;
	int ret;

	memset(&shadow, 0, sizeof(shadow));
	memset(&block, 0, sizeof(block));
	memset(&wparent, 0, sizeof(wparent));
	ret = shadow_names(z, &shadow);
	FOREACH_REC(&shadow, r) {
		if (ret)
			break;
		ret = set_add(&block, REC_NAME(r), REC_LEN(r), 0, NULL);
	}
	for (i = 0; i <= z->mask && !ret; i++) {
		const struct node *n = &z->nodes[i];

		if (!n->name)
			continue;
		if (node_blocks(z, n))
			ret = set_add(&block, n->name, n->len, 0, NULL);
		if (!ret && n->len > 2 && n->name[0] == 1 && n->name[1] == '*')
			ret = set_add(&wparent, n->name + 2, n->len - 2, 0, NULL);
	}
	if (!ret)
		ret = set_reserve(set, z->n_nodes + shadow.n);
	for (i = 0; i <= z->mask && !ret; i++) {
		const struct node *n = &z->nodes[i];
		const uint8_t *name = n->name;
		size_t len = n->len, k = 0;
		uint8_t flags = XDPNS_NAME_F_SYNTH;
		int below = 0;

		if (!name || (varies && engine_find_zone(e, name, len) != ez))
			continue;
		/* proper ancestors down to the apex: below a blocking name? */
		while (block.n && name[k] && len - k > z->apex_len) {
			k += name[k] + 1;
			if (set_find(&block, name + k, len - k)) {
				below = 1;
				break;
			}
		}
		if (below)
			continue;
		if (set_find(&block, name, len) || set_find(&wparent, name, len))
			flags = 0;
		ret = set_add(set, name, len, flags, NULL);
	}
	/* the shadow names themselves, even when they do not exist */
	FOREACH_REC(&shadow, r) {
		uint8_t flags;

		if (ret)
			break;
		if (engine_find_zone(e, REC_NAME(r), REC_LEN(r)) != ez ||
		    classify(z, &shadow, REC_NAME(r), REC_LEN(r), &flags))
			continue;
		ret = set_add(set, REC_NAME(r), REC_LEN(r), 0, NULL);
	}
	set_free(&shadow);
	set_free(&block);
	set_free(&wparent);
	return ret;
}

/* What the names of a generation are: the served ones (cur) overlaid
 * with the staged changes (delta), or a set of every name. */
struct view {
	const struct nameset *delta; /* NULL: base is every name */
	const struct nameset *base; /* NULL: the served names of zs */
	const struct nxsync *nx;
	const struct nxzone *zs;
	uint8_t buf[CUR_REC];
};

static const uint8_t *view_find(struct view *v, const uint8_t *name,
				size_t len)
{
	const uint8_t *r = set_find(v->delta, name, len);

	if (r)
		return (REC_FLAGS(r) & RF_ABSENT) ? NULL : r;
	if (v->base)
		return set_find(v->base, name, len);
	return cur_find(v->nx, v->zs, name, len, v->buf);
}

/* A name of the view whose missing children are NXDOMAIN (the apex when
 * it allows it, else any) into out; its length, or 0: none. */
static size_t view_synth_name(struct view *v, const uint8_t *apex,
			      size_t apex_len, uint8_t out[256])
{
	const uint8_t *r = view_find(v, apex, apex_len);
	struct cur_it it;

	if (r && (REC_FLAGS(r) & XDPNS_NAME_F_SYNTH))
		goto found;
	if (v->delta)
		FOREACH_REC(v->delta, r)
			if (!(REC_FLAGS(r) & RF_ABSENT) &&
			    (REC_FLAGS(r) & XDPNS_NAME_F_SYNTH))
				goto found;
	if (v->base) {
		FOREACH_REC(v->base, r)
			if (view_find(v, REC_NAME(r), REC_LEN(r)) == r &&
			    (REC_FLAGS(r) & XDPNS_NAME_F_SYNTH))
				goto found;
		return 0;
	}
	memset(&it, 0, sizeof(it));
	while ((r = cur_next(v->nx, v->zs, &it, 0)))
		if (!set_find(v->delta, REC_NAME(r), REC_LEN(r)) &&
		    (REC_FLAGS(r) & XDPNS_NAME_F_SYNTH))
			goto found;
	return 0;
found:
	memcpy(out, REC_NAME(r), REC_LEN(r));
	return REC_LEN(r);
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
static size_t fresh_child(struct view *set, const uint8_t *ce,
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
		if (!view_find(set, out, ce_len + l + 1))
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
			  struct view *set, struct xdpns_nx *rec)
{
	const struct zone *z = ez->zone;
	uint8_t ce[256], q0[256], q1[256], body[XDPNS_BLOB_M_CAP];
	struct xdpns_blob_l *bl = NULL;
	struct answer *a = nx->ans;
	enum xdpns_blob_class cls;
	size_t l0, l1, len, vsize, ce_len = 0, i;
	const char *why = NULL;
	int k, ret = -1;

	ce_len = view_synth_name(set, z->apex, z->apex_len, ce);
	if (!ce_len)
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

/* The zones below ez's apex that the engine places names in instead of
 * ez: which names are ez's changes only when they do. */
static uint64_t kids_sig(const struct engine *e, const struct engine_zone *ez)
{
	const struct zone *z = ez->zone;
	uint64_t sig = 0;
	int i;

	for (i = 0; i < e->n_zones; i++) {
		const struct zone *o = e->zones[i].zone;

		if (&e->zones[i] == ez || !o || o->apex_len <= z->apex_len ||
		    !name_is_subdomain(o->apex, o->apex_len, z->apex, z->apex_len))
			continue;
		sig += name_hash(o->apex, o->apex_len) * 2 + 1; /* any order */
	}
	return sig;
}

/* Every name strictly below name (len), in the zone or among the served
 * names, into aff. */
static int add_below(const struct nxsync *nx, const struct nxzone *zs,
		     const struct zone *z, const uint8_t *name, size_t len,
		     struct nameset *aff)
{
	const uint8_t *r;
	struct cur_it it;
	size_t i;
	int ret = 0;

	for (i = 0; i <= z->mask && !ret; i++) {
		const struct node *n = &z->nodes[i];

		if (n->name && n->len > len &&
		    name_is_subdomain(n->name, n->len, name, len))
			ret = set_add(aff, n->name, n->len, 0, NULL);
	}
	memset(&it, 0, sizeof(it));
	while (!ret && (r = cur_next(nx, zs, &it, 0)))
		if (REC_LEN(r) > len &&
		    name_is_subdomain(REC_NAME(r), REC_LEN(r), name, len))
			ret = set_add(aff, REC_NAME(r), REC_LEN(r), 0, NULL);
	return ret;
}

/*
 * After an IXFR (changed: the n owners whose records it deleted or added,
 * old: the zone before it) into z: the names whose presence or flags may
 * differ, each judged again and compared with the served one, changes
 * into delta. A name's presence and flags depend on its own node (exists,
 * cut, DNAME), its ancestors' (cut, DNAME: it is left out below them), its
 * wildcard child and the shadow names. So the names to judge are the
 * owners, their ancestors (empty non-terminals come and go with a name;
 * a wildcard owner's parent changes its flag), every name below an owner
 * that became or stopped being a cut or a DNAME owner, and the shadow
 * names. Returns 0, 1 when that is not enough (the whole zone must be
 * looked at: no served names to compare with, other child zones, MNAME
 * or RNAME moved, signed), or -errno.
 */
static int changes_from_owners(struct nxsync *nx, const struct engine *e,
			       const struct engine_zone *ez, const struct zone *old,
			       const uint8_t *const *changed, size_t n,
			       uint64_t kids, struct nameset *delta)
{
	struct nxzone *zs = &nx->zones[ez->slot];
	const struct zone *z = ez->zone;
	struct nameset aff, shadow;
	uint8_t a[256], b[256];
	const uint8_t *r;
	size_t i, la, lb;
	int k, ret;

	if (!old || !changed || !n || !zs->gen || !zs->synth || zs->dirty ||
	    zs->kids != kids || z->signed_zone || old->signed_zone ||
	    z->apex_len != old->apex_len || memcmp(z->apex, old->apex, z->apex_len))
		return 1;
	for (k = 0; k < 2; k++) {
		la = soa_name(z, k, a);
		lb = soa_name(old, k, b);
		if (la != lb || memcmp(a, b, la))
			return 1;
	}
	memset(&aff, 0, sizeof(aff));
	memset(&shadow, 0, sizeof(shadow));
	ret = shadow_names(z, &shadow);
	FOREACH_REC(&shadow, r) {
		if (ret)
			break;
		ret = set_add(&aff, REC_NAME(r), REC_LEN(r), 0, NULL);
	}
	for (i = 0; i < n && !ret; i++) {
		const uint8_t *o = changed[i];
		size_t len = name_wire_len(o), j = 0;

		if (!len || !name_is_subdomain(o, len, z->apex, z->apex_len))
			continue;
		for (;;) { /* the owner and its ancestors down to the apex */
			ret = set_add(&aff, o + j, len - j, 0, NULL);
			if (ret || len - j <= z->apex_len)
				break;
			j += o[j] + 1;
		}
		if (!ret && node_blocks(z, zone_find(z, o, len)) !=
				    node_blocks(old, zone_find(old, o, len)))
			ret = add_below(nx, zs, z, o, len, &aff);
	}
	FOREACH_REC(&aff, r) {
		uint8_t flags = 0, buf[CUR_REC];
		const uint8_t *c;
		int in;

		if (ret)
			break;
		in = name_status(e, ez, &shadow, REC_NAME(r), REC_LEN(r), &flags);
		c = cur_find(nx, zs, REC_NAME(r), REC_LEN(r), buf);
		if (in && (!c || (REC_FLAGS(c) & RF_MAP) != flags))
			ret = set_add(delta, REC_NAME(r), REC_LEN(r), flags, NULL);
		else if (!in && c)
			ret = set_add(delta, REC_NAME(r), REC_LEN(r), RF_ABSENT, NULL);
	}
	set_free(&aff);
	set_free(&shadow);
	return ret;
}

/* Every name of the staged generation (next) compared with the served
 * ones: the changes into delta (all of next when the map may not hold what
 * cur says: force). next is taken. */
static int changes_from_all(const struct nxsync *nx, struct nxzone *zs,
			    struct nameset *next, int force, struct nameset *delta)
{
	const uint8_t *r, *c;
	uint8_t buf[CUR_REC];
	struct cur_it it;
	int ret = 0;

	if (!zs->n) { /* nothing served: every name is new */
		*delta = *next;
		memset(next, 0, sizeof(*next));
		return 0;
	}
	FOREACH_REC(next, r) {
		c = cur_find(nx, zs, REC_NAME(r), REC_LEN(r), buf);
		if (force || !c || (REC_FLAGS(c) & RF_MAP) != (REC_FLAGS(r) & RF_MAP))
			ret = set_add(delta, REC_NAME(r), REC_LEN(r),
				      REC_FLAGS(r) & RF_MAP, NULL);
		if (ret)
			goto out;
	}
	memset(&it, 0, sizeof(it));
	while ((c = cur_next(nx, zs, &it, 0))) {
		if (!set_find(next, REC_NAME(c), REC_LEN(c)))
			ret = set_add(delta, REC_NAME(c), REC_LEN(c), RF_ABSENT, NULL);
		if (ret)
			goto out;
	}
out:
	set_free(next);
	return ret;
}

/* Room in side for the names the commit adds to it (written, not into
 * a table slot of the zone), so the commit cannot fail. */
static int reserve_for(struct nxzone *zs)
{
	size_t n = 0, bytes = 0;
	const uint8_t *r;

	FOREACH_REC(&zs->delta, r)
		if ((REC_FLAGS(r) & (RF_SIDE | RF_ABSENT)) == RF_SIDE &&
		    !set_find(&zs->side, REC_NAME(r), REC_LEN(r))) {
			n++;
			bytes += REC_HDR + REC_LEN(r);
		}
	if (!n)
		return 0;
	if (set_reserve(&zs->side, zs->side.n + n))
		return -ENOMEM;
	if (zs->side.used + bytes > zs->side.cap) {
		uint8_t *a = realloc(zs->side.arena, zs->side.used + bytes);

		if (!a)
			return -ENOMEM;
		zs->side.arena = a;
		zs->side.cap = zs->side.used + bytes;
	}
	return 0;
}

/* Find the staged generation's changes and write their names (no
 * flip can make them visible yet): all of a stage that may run beside
 * the entries' compile. Fills zs->job's results. */
static void stage_prepare(struct nxsync *nx, struct nxzone *zs)
{
	enum { FROM_OWNERS, WHOLE, APEX_ONLY } how;
	struct stage_job *j = &zs->job;
	const struct engine_zone *ez = j->ez;
	const struct zone *z = ez->zone;
	struct nameset next;
	struct view v;
	uint64_t now, t0, t1, c0 = cpu_us();
	int r, synth = 0;

	/* a program that read the other halves before the last flip is
	 * done with them once the grace period is over */
	now = mono_us();
	if (zs->flip_us && now < zs->flip_us + NXSYNC_GRACE_MS * 1000)
		usleep(zs->flip_us + NXSYNC_GRACE_MS * 1000 - now);
	t0 = mono_us();
	memset(&next, 0, sizeof(next));
	set_free(&zs->delta);
	v.nx = nx;
	v.zs = zs;

	how = j->wrapped || z->signed_zone ? APEX_ONLY : FROM_OWNERS;
	if (how == FROM_OWNERS) {
		r = changes_from_owners(nx, j->e, ez, j->old, j->changed,
					j->n_changed, zs->next_kids, &zs->delta);
		v.delta = &zs->delta;
		v.base = NULL; /* the served names */
		if (r > 0)
			how = WHOLE;
		else if (r < 0 || build_template(nx, ez, &v, &j->rec))
			how = APEX_ONLY;
		else
			synth = 1;
		if (r < 0)
			log_warn_kv("NXDOMAIN stays on the slow path",
				    "zone=%s reason=%s", z->name, strerror(-r));
		if (how != FROM_OWNERS)
			set_free(&zs->delta);
	}
	if (how == WHOLE) {
		r = build_names(j->e, ez, &next);
		v.delta = NULL;
		v.base = &next;
		if (r)
			log_warn_kv("NXDOMAIN stays on the slow path",
				    "zone=%s reason=%s", z->name, strerror(-r));
		else if (!build_template(nx, ez, &v, &j->rec))
			synth = 1;
		if (synth) {
			r = changes_from_all(nx, zs, &next, zs->dirty, &zs->delta);
			if (r) {
				log_warn_kv("NXDOMAIN stays on the slow path",
					    "zone=%s reason=%s", z->name, strerror(-r));
				synth = 0;
			}
		}
		if (!synth) {
			set_free(&zs->delta);
			how = APEX_ONLY;
		}
	}
	if (how == APEX_ONLY) {
		/* only the apex, so the walk of a name in this zone stops
		 * here and never reaches a zone above */
		synth = 0;
		set_free(&next);
		r = set_add(&next, z->apex, z->apex_len, 0, NULL);
		if (!r)
			r = changes_from_all(nx, zs, &next, zs->dirty, &zs->delta);
		if (r)
			set_free(&zs->delta);
	}
	set_free(&next);
	if (r)
		set_free(&zs->delta);
	t1 = mono_us();
	if (!r)
		r = write_delta(nx, zs->job.ez->slot);
	if (!r)
		r = reserve_for(zs);
	j->r = r;
	j->synth = synth;
	j->how = how == FROM_OWNERS ? "changes" : how == WHOLE ? "whole" : "apex";
	j->find_us = t1 - t0;
	j->write_us = mono_us() - t1;
	j->cpu_us = cpu_us() - c0;
}

static void *stage_thread(void *arg)
{
	struct nxsync_job_arg *a = arg;

	stage_prepare(a->nx, a->zs);
	return NULL;
}

void nxsync_stage_begin(struct nxsync *nx, const struct engine *e,
			const struct engine_zone *ez, uint32_t gen,
			const struct zone *old, const uint8_t *const *changed,
			size_t n_changed)
{
	const struct zone *z = ez->zone;
	struct nxzone *zs;
	struct stage_job *j;

	if (ez->slot >= XDPNS_MAX_ZONES || !z)
		return;
	zs = &nx->zones[ez->slot];
	if (zs->staged)
		nxsync_abort(nx, ez->slot);
	/* slots past their grace: the thread below may fill them */
	etable_reclaim(nx->nt, &nx->dead, 0);
	j = &zs->job;
	memset(j, 0, sizeof(*j));
	j->e = e;
	j->ez = ez;
	j->old = old;
	j->changed = changed;
	j->n_changed = n_changed;
	if (zs->gen && (zs->gen & 1) == (gen & 1)) {
		/* the generation counter wrapped: its NXDOMAIN record would
		 * be the served one's */
		log_warn_kv("no NXDOMAIN in XDP: the generation reuses the served half",
			    "zone=%s gen=%u", z->name, gen);
		j->wrapped = 1;
	}
	if (zs->apex_len && (zs->apex_len != z->apex_len ||
			     memcmp(zs->apex, z->apex, z->apex_len)))
		zs->dirty = 1; /* another zone in this slot */
	memcpy(zs->apex, z->apex, z->apex_len);
	zs->apex_len = z->apex_len;
	zs->staged = 1;
	zs->next_gen = gen;
	zs->next_kids = kids_sig(e, ez);
	zs->arg.nx = nx;
	zs->arg.zs = zs;
	/* beside the caller's work when there is much to do (the whole
	 * zone) and a thread can be had; an IXFR's few names inline (a
	 * thread would cost more than it saves there) */
	if (!changed || !zs->gen || !zs->synth || zs->dirty)
		zs->running = !pthread_create(&zs->thread, NULL, stage_thread,
					      &zs->arg);
	j->threaded = zs->running;
	if (!zs->running)
		stage_prepare(nx, zs);
}

void nxsync_stage_end(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	struct stage_job *j;
	const struct zone *z;
	uint32_t key, gen;
	int r, synth;

	if (slot >= XDPNS_MAX_ZONES || !nx->zones[slot].staged)
		return;
	zs = &nx->zones[slot];
	stage_join(zs);
	j = &zs->job;
	z = j->ez->zone;
	gen = zs->next_gen;
	r = j->r;
	synth = j->synth;
	/* the names written so far are for a generation not yet flipped: a
	 * walk XDP began before them must not answer for it (nx.h) */
	if (!r && zs->delta.n)
		r = seq_bump(nx);
	if (r)
		goto failed;
	key = slot * 2 + (gen & 1);
	if (synth && !j->wrapped) {
		j->rec.gen = gen;
		if (bpf_map_update_elem(nx->fds.nx, &key, &j->rec, BPF_ANY)) {
			log_err_kv("writing the XDP NXDOMAIN failed", "zone=%s reason=%s",
				   z->name, strerror(errno));
			synth = 0;
		}
	}
	if (!synth && !j->wrapped)
		nx_record_clear(nx, slot, gen & 1);
	zs->next_synth = synth;
	nx->st.last_written = zs->delta.n;
	nx->st.last_find_us = j->find_us;
	nx->st.last_write_us = j->write_us;
	log_debug_kv("names for NXDOMAIN staged",
		     "zone=%s how=%s names_written=%zu nxdomain=%s find_ms=%llu "
		     "write_ms=%llu cpu_ms=%llu thread=%s", z->name, j->how,
		     zs->delta.n, synth ? "xdp" : "slow",
		     (unsigned long long)j->find_us / 1000,
		     (unsigned long long)j->write_us / 1000,
		     (unsigned long long)j->cpu_us / 1000, j->threaded ? "yes" : "no");
	return;
failed:
	/* this generation makes no NXDOMAIN in XDP; what was written of
	 * its names may not be what delta says: the next publish rewrites
	 * every name */
	log_err_kv("writing the XDP names failed: NXDOMAIN stays on the slow path",
		   "zone=%s reason=%s", z->name, strerror(-r));
	if (!j->wrapped)
		nx_record_clear(nx, slot, gen & 1);
	zs->next_synth = 0;
	zs->next_dirty = 1;
	{
		/* the apex may be among those not written: a tombstone, so
		 * no walk in this zone goes on to a zone above */
		struct xdpns_name tv;

		served_value(slot, NULL, &tv);
		write_one(nx, z->apex, z->apex_len, &tv, slot);
	}
}

void nxsync_stage(struct nxsync *nx, const struct engine *e,
		  const struct engine_zone *ez, uint32_t gen,
		  const struct zone *old, const uint8_t *const *changed,
		  size_t n_changed)
{
	nxsync_stage_begin(nx, e, ez, gen, old, changed, n_changed);
	nxsync_stage_end(nx, ez->slot);
}

void nxsync_commit(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	uint32_t n_rel;
	uint8_t *r, *c, buf[CUR_REC];

	if (slot >= XDPNS_MAX_ZONES || !nx->zones[slot].staged)
		return;
	zs = &nx->zones[slot];
	stage_join(zs);
	n_rel = related(nx, slot, nx->rel);
	nx->st.names -= zs->n;
	FOREACH_REC(&zs->delta, r) {
		/* served before this flip (zs->gen is still the old one) */
		int was = zs->n && cur_find(nx, zs, REC_NAME(r), REC_LEN(r), buf);

		c = set_find(&zs->side, REC_NAME(r), REC_LEN(r));
		if (REC_FLAGS(r) & RF_ABSENT) {
			/* unknown to XDP already: its half of the new
			 * generation has no flags */
			if (n_rel)
				give_up(nx, slot, nx->rel, n_rel, REC_NAME(r),
					REC_LEN(r), 0);
			else
				delete_one(nx, REC_NAME(r), REC_LEN(r));
			if (c)
				set_del(&zs->side, REC_NAME(r), REC_LEN(r));
			zs->n -= was;
			continue;
		}
		zs->n += !was;
		if (!(REC_FLAGS(r) & RF_SIDE)) {
			/* in a table slot of the zone: the map has its half */
			if (c)
				set_del(&zs->side, REC_NAME(r), REC_LEN(r));
			continue;
		}
		/* room was reserved at the stage: this cannot fail */
		if (!c && set_add(&zs->side, REC_NAME(r), REC_LEN(r), 0, &c)) {
			zs->next_dirty = 1;
			continue;
		}
		REC_FLAGS(c) = REC_FLAGS(r) & (RF_MAP | RF_HALF);
		rec_set_gen(c, rec_gen(r));
	}
	set_free(&zs->delta);
	if (zs->side.dead > 65536 && zs->side.dead * 2 > zs->side.used)
		set_compact(&zs->side);
	nx->st.names += zs->n;
	nx->st.zones_synth -= zs->synth;
	nx->st.zones_synth += zs->next_synth;
	zs->gen = zs->next_gen;
	zs->synth = zs->next_synth;
	zs->kids = zs->next_kids;
	zs->dirty = zs->next_dirty;
	zs->next_dirty = 0;
	zs->staged = 0;
	zs->flip_us = mono_us();
}

void nxsync_abort(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	const uint8_t *r, *c;
	uint32_t n_rel;

	if (slot >= XDPNS_MAX_ZONES || !nx->zones[slot].staged)
		return;
	zs = &nx->zones[slot];
	stage_join(zs);
	if (zs->job.r)
		zs->dirty = 1;
	n_rel = related(nx, slot, nx->rel);
	FOREACH_REC(&zs->delta, r) {
		uint8_t buf[CUR_REC];
		struct xdpns_name v;

		c = cur_find(nx, zs, REC_NAME(r), REC_LEN(r), buf);
		if (c) {
			/* forget the staged half: its generation number will
			 * be used again */
			served_value(slot, c, &v);
			if (write_one(nx, REC_NAME(r), REC_LEN(r), &v, slot) < 0)
				zs->dirty = 1;
		} else if (n_rel) {
			give_up(nx, slot, nx->rel, n_rel, REC_NAME(r), REC_LEN(r), 0);
		} else {
			delete_one(nx, REC_NAME(r), REC_LEN(r));
		}
	}
	if (zs->next_dirty)
		zs->dirty = 1;
	zs->next_dirty = 0;
	if (zs->next_gen && (!zs->gen || (zs->next_gen & 1) != (zs->gen & 1)))
		nx_record_clear(nx, slot, zs->next_gen & 1);
	set_free(&zs->delta);
	zs->staged = 0;
}

void nxsync_remove(struct nxsync *nx, uint32_t slot)
{
	struct nxzone *zs;
	const uint8_t *r;
	struct cur_it it;
	uint32_t n_rel;

	if (slot >= XDPNS_MAX_ZONES)
		return;
	nxsync_abort(nx, slot);
	zs = &nx->zones[slot];
	n_rel = related(nx, slot, nx->rel);
	zs->gen = 0; /* the zones map says so already */
	/* every key of the zone, with a half or not */
	memset(&it, 0, sizeof(it));
	while ((r = cur_next(nx, zs, &it, 1))) {
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
	nx->st.names -= zs->n;
	nx->st.zones_synth -= zs->synth;
	zs->synth = 0;
	zs->dirty = 0;
	zs->kids = 0;
	zs->n = 0;
	set_free(&zs->side);
}

int nxsync_probe(const struct nxsync *nx, int zones_fd, const uint8_t *name,
		 size_t len, struct nxsync_probe *out)
{
	struct xdpns_name v;
	struct xdpns_zone zv;
	struct xdpns_nx rec;
	size_t at = 0;
	uint32_t idx;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > 255)
		return -EINVAL;
	for (;;) {
		long where = name_get(nx, name + at, len - at, &v);

		if (where >= -1) {
			out->slot = where;
			break;
		}
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
	idx = v.zone * 2 + (zv.gen & 1);
	if (!(xdpns_name_pick(&v, zv.gen) & XDPNS_NAME_F_SYNTH) ||
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
	return slot < XDPNS_MAX_ZONES ? nx->zones[slot].n : 0;
}

void nxsync_get_stats(const struct nxsync *nx, struct nxsync_stats *st)
{
	*st = nx->st;
}
