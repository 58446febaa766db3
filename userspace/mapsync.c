#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "log.h"
#include "mapsync.h"

/* The entries map of a key's name-length class. */
#define ENTRIES_FD(ms, k) ((ms)->fds.entries[XDPNS_KEYCLASS((k)->name_len)])

/* ---- small growable vectors ---- */
struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

static int u32vec_push(struct u32vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		uint32_t *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* ---- key sets: compact keys in an arena, hashed by offset ---- */
struct keyset {
	uint8_t *arena; /* records: qtype(2) len(1) name(len) */
	size_t used, cap;
	uint32_t *slots; /* arena offset + 1; 0 = empty */
	size_t mask, n;
};

/* A key record: qtype(2) len(1) name(len), hashed like names. */
static uint64_t key_hash(const uint8_t *rec)
{
	return name_hash(rec, 3 + rec[2]);
}

static int keyset_has(const struct keyset *ks, const uint8_t *rec)
{
	size_t i, n = 3 + rec[2];

	if (!ks->slots)
		return 0;
	for (i = key_hash(rec) & ks->mask; ks->slots[i]; i = (i + 1) & ks->mask)
		if (!memcmp(ks->arena + ks->slots[i] - 1, rec, n))
			return 1;
	return 0;
}

static int keyset_grow(struct keyset *ks)
{
	size_t size = ks->slots ? (ks->mask + 1) * 2 : 1024, i;
	uint32_t *slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; ks->slots && i <= ks->mask; i++) {
		size_t j;

		if (!ks->slots[i])
			continue;
		j = key_hash(ks->arena + ks->slots[i] - 1) & (size - 1);
		while (slots[j])
			j = (j + 1) & (size - 1);
		slots[j] = ks->slots[i];
	}
	free(ks->slots);
	ks->slots = slots;
	ks->mask = size - 1;
	return 0;
}

static int keyset_add(struct keyset *ks, const struct xdpns_key *k)
{
	uint8_t rec[3 + 256];
	size_t n = 3 + k->name_len, i;

	rec[0] = k->qtype >> 8;
	rec[1] = k->qtype & 0xff;
	rec[2] = k->name_len;
	memcpy(rec + 3, k->name, k->name_len);
	if (keyset_has(ks, rec))
		return 0;
	if ((ks->n + 1) * 2 > (ks->mask + 1) || !ks->slots)
		if (keyset_grow(ks))
			return -ENOMEM;
	if (ks->used + n > ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 65536;
		uint8_t *a;

		while (cap < ks->used + n)
			cap *= 2;
		if (cap > UINT32_MAX - 1)
			return -E2BIG;
		a = realloc(ks->arena, cap);
		if (!a)
			return -ENOMEM;
		ks->arena = a;
		ks->cap = cap;
	}
	memcpy(ks->arena + ks->used, rec, n);
	for (i = key_hash(rec) & ks->mask; ks->slots[i]; i = (i + 1) & ks->mask)
		;
	ks->slots[i] = ks->used + 1;
	ks->used += n;
	ks->n++;
	return 0;
}

static void keyset_free(struct keyset *ks)
{
	free(ks->arena);
	free(ks->slots);
	memset(ks, 0, sizeof(*ks));
}

static void keyset_rec_to_key(const uint8_t *rec, struct xdpns_key *k)
{
	memset(k, 0, sizeof(*k));
	k->qtype = (uint16_t)rec[0] << 8 | rec[1];
	k->name_len = rec[2];
	memcpy(k->name, rec + 3, rec[2]);
}

/* ---- blobs: deduplicated, refcounted, freed after a grace period ---- */
struct blobrec {
	uint64_t hash;
	uint32_t refcnt; /* 0 = free index */
	uint32_t size;
	uint8_t *content; /* value bytes as written to the map */
};

#define BLOB_TOMB UINT32_MAX

struct retired {
	uint64_t deadline_us;
	struct u32vec refs;
};

struct zone_state {
	uint32_t gen;
	uint32_t flags;
	struct keyset keys; /* keys of gen */
	struct u32vec refs; /* blob refs held by gen (one per use) */
};

struct mapsync {
	struct mapsync_fds fds;
	int blob_fd[4];
	uint32_t blob_cap[4];
	uint32_t next_free[4]; /* never-used indexes start here (0 reserved) */
	struct u32vec free_idx[4];
	struct blobrec *recs[4]; /* by class, indexed by blob index */
	uint32_t *table; /* content hash -> ref; 0 empty, BLOB_TOMB deleted */
	size_t table_mask, n_blobs, n_tomb;
	struct zone_state zones[XDPNS_MAX_ZONES];
	struct retired *retired;
	size_t n_retired;
	struct mapsync_stats st;
	struct nxsync *nx; /* NXDOMAIN in XDP (nxsync.c); NULL: none */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int mapsync_new(const struct mapsync_fds *fds, struct mapsync **out)
{
	struct mapsync *ms = calloc(1, sizeof(*ms));
	int c;

	if (!ms)
		return -ENOMEM;
	ms->fds = *fds;
	ms->blob_fd[XDPNS_BLOB_S] = fds->blob_s;
	ms->blob_fd[XDPNS_BLOB_M] = fds->blob_m;
	ms->blob_fd[XDPNS_BLOB_L] = fds->blob_l;
	ms->blob_cap[XDPNS_BLOB_S] = fds->n_blob_s;
	ms->blob_cap[XDPNS_BLOB_M] = fds->n_blob_m;
	ms->blob_cap[XDPNS_BLOB_L] = fds->n_blob_l;
	for (c = 1; c < 4; c++)
		ms->next_free[c] = 1; /* index 0 is never used: ref 0 = none */
	if (fds->nx.nx >= 0 && (c = nxsync_new(&fds->nx, &ms->nx))) {
		free(ms);
		return c;
	}
	*out = ms;
	return 0;
}

void mapsync_free(struct mapsync *ms)
{
	size_t i;
	int c;

	if (!ms)
		return;
	nxsync_free(ms->nx);
	for (i = 0; i < XDPNS_MAX_ZONES; i++) {
		keyset_free(&ms->zones[i].keys);
		free(ms->zones[i].refs.v);
	}
	for (c = 1; c < 4; c++) {
		for (i = 0; ms->recs[c] && i < ms->blob_cap[c]; i++)
			free(ms->recs[c][i].content);
		free(ms->recs[c]);
	}
	free(ms->table);
	for (i = 0; i < ms->n_retired; i++)
		free(ms->retired[i].refs.v);
	free(ms->retired);
	for (c = 0; c < 4; c++)
		free(ms->free_idx[c].v);
	free(ms);
}

static struct blobrec *blob_rec(struct mapsync *ms, uint32_t ref)
{
	uint32_t cls = ref >> XDPNS_REF_CLASS_SHIFT;
	uint32_t idx = ref & XDPNS_REF_INDEX_MASK;

	if (cls == 0 || !ms->recs[cls] || idx >= ms->blob_cap[cls])
		return NULL;
	return &ms->recs[cls][idx];
}

static int table_grow(struct mapsync *ms)
{
	size_t size = ms->table ? (ms->table_mask + 1) * 2 : 4096, i;
	uint32_t *t;

	while (size < (ms->n_blobs + 1) * 4)
		size *= 2;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; ms->table && i <= ms->table_mask; i++) {
		uint32_t ref = ms->table[i];
		size_t j;

		if (!ref || ref == BLOB_TOMB)
			continue;
		j = blob_rec(ms, ref)->hash & (size - 1);
		while (t[j])
			j = (j + 1) & (size - 1);
		t[j] = ref;
	}
	free(ms->table);
	ms->table = t;
	ms->table_mask = size - 1;
	ms->n_tomb = 0;
	return 0;
}

/* Find or create the blob with these value bytes; takes one reference. */
static int blob_get(struct mapsync *ms, enum xdpns_blob_class cls,
		    const void *value, uint32_t size, uint32_t *ref)
{
	uint64_t h = name_hash(value, size) ^ cls; /* FNV-1a of the bytes */
	uint8_t full[sizeof(struct xdpns_blob_l)];
	size_t vsize = cls == XDPNS_BLOB_S ? sizeof(struct xdpns_blob_s) :
		       cls == XDPNS_BLOB_M ? sizeof(struct xdpns_blob_m) :
					     sizeof(struct xdpns_blob_l);
	struct blobrec *b;
	size_t i, tomb = SIZE_MAX;
	uint32_t idx;
	int r;

	if (!ms->table || (ms->n_blobs + ms->n_tomb + 1) * 2 > ms->table_mask + 1)
		if ((r = table_grow(ms)))
			return r;
	for (i = h & ms->table_mask; ms->table[i]; i = (i + 1) & ms->table_mask) {
		if (ms->table[i] == BLOB_TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		b = blob_rec(ms, ms->table[i]);
		if (b->hash == h && b->size == size &&
		    (ms->table[i] >> XDPNS_REF_CLASS_SHIFT) == (uint32_t)cls &&
		    !memcmp(b->content, value, size)) {
			b->refcnt++;
			*ref = ms->table[i];
			return 0;
		}
	}
	if (!ms->recs[cls]) {
		ms->recs[cls] = calloc(ms->blob_cap[cls], sizeof(struct blobrec));
		if (!ms->recs[cls])
			return -ENOMEM;
	}
	/* a new blob: a free index of this class */
	if (ms->free_idx[cls].n)
		idx = ms->free_idx[cls].v[--ms->free_idx[cls].n];
	else if (ms->next_free[cls] < ms->blob_cap[cls])
		idx = ms->next_free[cls]++;
	else
		return -ENOSPC;
	b = &ms->recs[cls][idx];
	b->content = malloc(size);
	if (!b->content) {
		u32vec_push(&ms->free_idx[cls], idx);
		return -ENOMEM;
	}
	memset(full, 0, vsize);
	memcpy(full, value, size);
	if (bpf_map_update_elem(ms->blob_fd[cls], &idx, full, BPF_ANY)) {
		r = -errno;
		free(b->content);
		b->content = NULL;
		u32vec_push(&ms->free_idx[cls], idx);
		return r;
	}
	memcpy(b->content, value, size);
	b->hash = h;
	b->size = size;
	b->refcnt = 1;
	if (tomb != SIZE_MAX) {
		i = tomb;
		ms->n_tomb--;
	}
	ms->table[i] = ((uint32_t)cls << XDPNS_REF_CLASS_SHIFT) | idx;
	ms->n_blobs++;
	ms->st.blobs[cls]++;
	ms->st.blob_bytes += vsize;
	*ref = ms->table[i];
	return 0;
}

static void blob_put(struct mapsync *ms, uint32_t ref)
{
	uint32_t cls = ref >> XDPNS_REF_CLASS_SHIFT;
	struct blobrec *b = blob_rec(ms, ref);
	size_t i;

	if (!b || !b->refcnt || --b->refcnt)
		return;
	for (i = b->hash & ms->table_mask; ms->table[i];
	     i = (i + 1) & ms->table_mask)
		if (ms->table[i] == ref) {
			ms->table[i] = BLOB_TOMB;
			ms->n_tomb++;
			break;
		}
	u32vec_push(&ms->free_idx[cls], ref & XDPNS_REF_INDEX_MASK);
	ms->st.blobs[cls]--;
	ms->st.blob_bytes -= cls == XDPNS_BLOB_S ? sizeof(struct xdpns_blob_s) :
			     cls == XDPNS_BLOB_M ? sizeof(struct xdpns_blob_m) :
						   sizeof(struct xdpns_blob_l);
	free(b->content);
	memset(b, 0, sizeof(*b));
	ms->n_blobs--;
}

/* ---- retiring a generation's blobs ---- */
static int retire(struct mapsync *ms, struct u32vec *refs)
{
	struct retired *r;

	if (!refs->n)
		return 0;
	r = realloc(ms->retired, (ms->n_retired + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	ms->retired = r;
	r[ms->n_retired].deadline_us = now_us() + MAPSYNC_GRACE_MS * 1000;
	r[ms->n_retired].refs = *refs;
	ms->n_retired++;
	memset(refs, 0, sizeof(*refs));
	return 0;
}

/* Release retired blobs whose grace period is over; wait=1 waits for all. */
static void reclaim(struct mapsync *ms, int wait)
{
	size_t i, keep = 0;

	for (i = 0; i < ms->n_retired; i++) {
		struct retired *r = &ms->retired[i];
		uint64_t now = now_us();
		size_t j;

		if (r->deadline_us > now) {
			if (!wait) {
				ms->retired[keep++] = *r;
				continue;
			}
			usleep(r->deadline_us - now);
		}
		for (j = 0; j < r->refs.n; j++)
			blob_put(ms, r->refs.v[j]);
		free(r->refs.v);
	}
	ms->n_retired = keep;
}

void mapsync_key(struct xdpns_key *k, const uint8_t *name, size_t len,
		 uint16_t qtype)
{
	memset(k, 0, sizeof(*k));
	name_lower(k->name, name, len);
	k->name_len = len;
	k->qtype = qtype;
}

static uint32_t sum_bytes(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

int mapsync_blob_from_answer(const struct answer *a, struct xdpns_blob_l *b,
			     enum xdpns_blob_class *cls, size_t *value_size)
{
	memset(&b->h, 0, sizeof(b->h));
	b->h.flags = htobe16(a->flags);
	b->h.ancount = htobe16(a->an);
	b->h.nscount = htobe16(a->ns);
	b->h.arcount = htobe16(a->ar);
	if (a->referral)
		b->h.bflags |= XDPNS_BLOB_F_REFERRAL;
	if (a->oversize || a->len > XDPNS_BLOB_L_CAP) {
		/* never fits a UDP reply: XDP answers TC from the header */
		b->h.len = 0xffff;
		/* a shorter cut may fit the client: let the slow path cut */
		if (a->n_cuts && !a->oversize)
			b->h.bflags |= XDPNS_BLOB_F_MORE_CUTS;
		*cls = XDPNS_BLOB_S;
		*value_size = sizeof(b->h);
		return 0;
	}
	b->h.len = a->len;
	b->h.csum = sum_bytes(a->body, a->len);
	{
		int k, n = 0;

		for (k = a->n_cuts - 1; k >= 0 && n < XDPNS_CUTS; k--, n++) {
			b->h.cut_len[n] = a->cuts[k].len;
			b->h.cut_ar[n] = a->cuts[k].ar;
			b->h.cut_csum[n] = sum_bytes(a->body, a->cuts[k].len);
		}
		b->h.n_cuts = n;
		if (a->n_cuts > XDPNS_CUTS)
			b->h.bflags |= XDPNS_BLOB_F_MORE_CUTS;
	}
	memcpy(b->data, a->body, a->len);
	*cls = a->len <= XDPNS_BLOB_S_CAP ? XDPNS_BLOB_S :
	       a->len <= XDPNS_BLOB_M_CAP ? XDPNS_BLOB_M : XDPNS_BLOB_L;
	*value_size = sizeof(b->h) + a->len;
	return 0;
}

/* Types answered for a node beyond those it holds: NODATA at the apex and
 * the CNAME answer for common types at a CNAME owner. */
static const uint16_t apex_extra[] = { 1, 2, 6, 15, 16, 28, 43, 48, 64, 65, 257 };
static const uint16_t cname_extra[] = { 1, 15, 16, 28, 64, 65 };

struct publish_ctx {
	struct mapsync *ms;
	const struct engine_zone *ez;
	uint32_t gen;
	struct keyset keys;
	struct u32vec refs;
	struct answer *ans;
	struct xdpns_blob_l blob;
};

static int publish_key(struct publish_ctx *pc, const struct node *n,
		       uint16_t qtype)
{
	struct mapsync *ms = pc->ms;
	struct xdpns_entry ent;
	struct xdpns_key key;
	int v, r, h = pc->gen & 1;
	uint32_t refs[XDPNS_VAR_COUNT];

	mapsync_key(&key, n->name, n->len, qtype);
	{
		uint8_t rec[3 + 256];

		rec[0] = qtype >> 8;
		rec[1] = qtype & 0xff;
		rec[2] = n->len;
		memcpy(rec + 3, key.name, n->len);
		if (keyset_has(&pc->keys, rec))
			return 0;
	}
	for (v = 0; v < XDPNS_VAR_COUNT; v++) {
		enum xdpns_blob_class cls;
		size_t vsize;

		r = engine_answer(pc->ez, n->name, n->len, qtype,
				  v == XDPNS_VAR_DO, pc->ans);
		if (r)
			return r;
		mapsync_blob_from_answer(pc->ans, &pc->blob, &cls, &vsize);
		r = blob_get(ms, cls, &pc->blob, vsize, &refs[v]);
		if (r)
			return r;
		r = u32vec_push(&pc->refs, refs[v]);
		if (r) {
			blob_put(ms, refs[v]);
			return r;
		}
	}
	if (bpf_map_lookup_elem(ENTRIES_FD(ms, &key), &key, &ent) ||
	    ent.zone != pc->ez->slot)
		memset(&ent, 0, sizeof(ent));
	ent.zone = pc->ez->slot;
	ent.half[h].gen = pc->gen;
	for (v = 0; v < XDPNS_VAR_COUNT; v++)
		ent.half[h].ref[v] = refs[v];
	if (bpf_map_update_elem(ENTRIES_FD(ms, &key), &key, &ent, BPF_ANY))
		return -errno;
	return keyset_add(&pc->keys, &key);
}

/* Delete an entry if zone slot still owns it: a zone added inside
 * another one (a reload) takes over the names below its apex, and the
 * outer zone's next publish or removal must not delete them. */
static void delete_owned(struct mapsync *ms, struct xdpns_key *key,
			 uint32_t slot)
{
	struct xdpns_entry ent;

	if (!bpf_map_lookup_elem(ENTRIES_FD(ms, key), key, &ent) &&
	    ent.zone == slot)
		bpf_map_delete_elem(ENTRIES_FD(ms, key), key);
}

/* Delete the keys of set that keep lacks (those slot still owns). */
static void drop_new_keys(struct mapsync *ms, const struct keyset *set,
			  const struct keyset *keep, uint32_t slot)
{
	size_t i;

	for (i = 0; set->slots && i <= set->mask; i++) {
		struct xdpns_key key;
		const uint8_t *rec;

		if (!set->slots[i])
			continue;
		rec = set->arena + set->slots[i] - 1;
		if (keyset_has(keep, rec))
			continue;
		keyset_rec_to_key(rec, &key);
		delete_owned(ms, &key, slot);
	}
}

int mapsync_publish(struct mapsync *ms, const struct engine *e,
		    const struct engine_zone *ez)
{
	struct zone_state *zs;
	struct publish_ctx pc;
	const struct zone *z = ez->zone;
	struct xdpns_zone zv;
	uint64_t t0 = now_us();
	size_t i, k;
	int r = 0;

	if (ez->slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	zs = &ms->zones[ez->slot];
	reclaim(ms, 1); /* the half we are about to write must be unused */
	memset(&pc, 0, sizeof(pc));
	pc.ms = ms;
	pc.ez = ez;
	pc.gen = zs->gen + 1 ? zs->gen + 1 : 1;
	pc.ans = malloc(sizeof(*pc.ans));
	if (!pc.ans)
		return -ENOMEM;

	for (i = 0; i <= z->mask && !r; i++) {
		const struct node *n = &z->nodes[i];
		uint32_t j;

		if (!n->name || engine_find_zone(e, n->name, n->len) != ez)
			continue;
		for (j = 0; j < n->n_sets && !r; j++)
			if (n->sets[j].rrs && ldns_rr_list_rr_count(n->sets[j].rrs))
				r = publish_key(&pc, n, n->sets[j].type);
		if (n->len == z->apex_len)
			for (k = 0; k < sizeof(apex_extra) / 2 && !r; k++)
				r = publish_key(&pc, n, apex_extra[k]);
		if (node_rrset(n, LDNS_RR_TYPE_CNAME))
			for (k = 0; k < sizeof(cname_extra) / 2 && !r; k++)
				r = publish_key(&pc, n, cname_extra[k]);
	}
	if (r) {
		/* nothing was flipped: the served half is intact. Release the
		 * blobs now-unreferenced (after grace: XDP never saw them, but
		 * keep the rule simple) and leave stale halves to be
		 * overwritten by the next attempt. */
		log_err_kv("compiling into the XDP maps failed", "zone=%s reason=%s",
			   z->name, strerror(-r));
		retire(ms, &pc.refs);
		/* keys only this attempt wrote must go: the next successful
		 * publish reuses this generation number */
		drop_new_keys(ms, &pc.keys, &zs->keys, ez->slot);
		keyset_free(&pc.keys);
		free(pc.ans);
		return r;
	}

	/* names and NXDOMAIN body of the new generation (nxsync.c) */
	if (ms->nx)
		nxsync_stage(ms->nx, e, ez, pc.gen);

	/* the flip */
	zv.gen = pc.gen;
	zv.flags = zs->flags;
	if (bpf_map_update_elem(ms->fds.zones, &ez->slot, &zv, BPF_ANY)) {
		r = -errno;
		if (ms->nx)
			nxsync_abort(ms->nx, ez->slot);
		retire(ms, &pc.refs);
		drop_new_keys(ms, &pc.keys, &zs->keys, ez->slot);
		keyset_free(&pc.keys);
		free(pc.ans);
		return r;
	}

	/* keys of the old generation that the new one lacks: they are
	 * already misses (stale generation); delete them */
	drop_new_keys(ms, &zs->keys, &pc.keys, ez->slot);
	if (ms->nx)
		nxsync_commit(ms->nx, ez->slot);
	ms->st.entries += pc.keys.n;
	ms->st.entries -= zs->keys.n;
	keyset_free(&zs->keys);
	zs->keys = pc.keys;
	retire(ms, &zs->refs);
	zs->refs = pc.refs;
	zs->gen = pc.gen;
	free(pc.ans);
	ms->st.publishes++;
	ms->st.last_publish_us = now_us() - t0;
	return 0;
}

int mapsync_cache(struct mapsync *ms, const struct engine_zone *ez,
		  const uint8_t *name, size_t len, uint16_t qtype, int dnssec_ok,
		  const struct answer *a)
{
	static __thread struct xdpns_blob_l blob;
	struct xdpns_lru_value v;
	enum xdpns_blob_class cls;
	struct xdpns_key key;
	size_t vsize;

	if (ms->fds.lru_short < 0 || ez->slot >= XDPNS_MAX_ZONES ||
	    !ms->zones[ez->slot].gen || len == 0 || len > 255)
		return 1;
	mapsync_blob_from_answer(a, &blob, &cls, &vsize);
	if (cls == XDPNS_BLOB_L || vsize > sizeof(v.blob))
		return 1;
	memset(&v, 0, sizeof(v));
	v.zone = ez->slot;
	v.gen = ms->zones[ez->slot].gen;
	memcpy(&v.blob, &blob, vsize);
	mapsync_key(&key, name, len, qtype);
	key.variant = 1 + (dnssec_ok ? XDPNS_VAR_DO : XDPNS_VAR_NODO);
	if (bpf_map_update_elem(key.name_len <= XDPNS_LRU_SHORT ? ms->fds.lru_short :
							       ms->fds.lru_long,
				&key, &v, BPF_ANY))
		return -errno;
	ms->st.lru_inserts++;
	return 0;
}

int mapsync_probe(struct mapsync *ms, const uint8_t *name, size_t len,
		  uint16_t qtype, int dnssec_ok, struct mapsync_probe *out)
{
	struct xdpns_lru_value lv;
	struct xdpns_entry ent;
	struct xdpns_zone zv;
	struct xdpns_key key;
	uint32_t ref, idx;
	int lru_fd;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > 255)
		return -EINVAL;
	mapsync_key(&key, name, len, qtype);
	if (!bpf_map_lookup_elem(ENTRIES_FD(ms, &key), &key, &ent)) {
		struct xdpns_blob_l blob;

		out->zone = ent.zone;
		if (bpf_map_lookup_elem(ms->fds.zones, &ent.zone, &zv) || !zv.gen)
			return 0;
		out->gen = zv.gen;
		if (ent.half[zv.gen & 1].gen != zv.gen) {
			out->stale = 1;
			return 0;
		}
		ref = ent.half[zv.gen & 1].ref[dnssec_ok ? XDPNS_VAR_DO : XDPNS_VAR_NODO];
		out->cls = ref >> XDPNS_REF_CLASS_SHIFT;
		idx = ref & XDPNS_REF_INDEX_MASK;
		if (out->cls < XDPNS_BLOB_S || out->cls > XDPNS_BLOB_L ||
		    bpf_map_lookup_elem(ms->blob_fd[out->cls], &idx, &blob))
			return -EIO;
		out->hdr = blob.h;
		out->found = 1;
		return 0;
	}
	key.variant = 1 + (dnssec_ok ? XDPNS_VAR_DO : XDPNS_VAR_NODO);
	lru_fd = key.name_len <= XDPNS_LRU_SHORT ? ms->fds.lru_short : ms->fds.lru_long;
	if (lru_fd >= 0 && !bpf_map_lookup_elem(lru_fd, &key, &lv)) {
		out->zone = lv.zone;
		if (bpf_map_lookup_elem(ms->fds.zones, &lv.zone, &zv))
			return 0;
		out->gen = zv.gen;
		out->from_lru = 1;
		out->stale = lv.gen != zv.gen;
		out->found = !out->stale;
		out->cls = XDPNS_BLOB_M;
		out->hdr = lv.blob.h;
		return 0;
	}
	if (ms->nx) {
		struct nxsync_probe np;

		if (!nxsync_probe(ms->nx, ms->fds.zones, key.name, len, &np) &&
		    np.synth) {
			out->found = out->from_nx = 1;
			out->nx_encloser_at = np.at;
			out->zone = np.zone;
			out->gen = np.gen;
			out->cls = XDPNS_BLOB_M;
			out->hdr = np.hdr;
		}
	}
	return 0;
}

int mapsync_remove(struct mapsync *ms, uint32_t slot)
{
	struct zone_state *zs;
	struct xdpns_zone zv = { 0, 0 };
	size_t i;

	if (slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	zs = &ms->zones[slot];
	if (bpf_map_update_elem(ms->fds.zones, &slot, &zv, BPF_ANY))
		return -errno;
	if (ms->nx)
		nxsync_remove(ms->nx, slot);
	for (i = 0; zs->keys.slots && i <= zs->keys.mask; i++) {
		struct xdpns_key key;

		if (!zs->keys.slots[i])
			continue;
		keyset_rec_to_key(zs->keys.arena + zs->keys.slots[i] - 1, &key);
		delete_owned(ms, &key, slot);
	}
	ms->st.entries -= zs->keys.n;
	keyset_free(&zs->keys);
	retire(ms, &zs->refs);
	zs->flags = 0;
	/* gen is kept so a later publish on this slot moves forward */
	return 0;
}

int mapsync_set_flags(struct mapsync *ms, uint32_t slot, uint32_t flags)
{
	struct xdpns_zone zv;

	if (slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	ms->zones[slot].flags = flags;
	if (!ms->zones[slot].keys.n)
		return 0;
	zv.gen = ms->zones[slot].gen;
	zv.flags = flags;
	return bpf_map_update_elem(ms->fds.zones, &slot, &zv, BPF_ANY) ? -errno : 0;
}

uint32_t mapsync_generation(const struct mapsync *ms, uint32_t slot)
{
	return slot < XDPNS_MAX_ZONES ? ms->zones[slot].gen : 0;
}

uint64_t mapsync_zone_entries(const struct mapsync *ms, uint32_t slot)
{
	return slot < XDPNS_MAX_ZONES ? ms->zones[slot].keys.n : 0;
}

uint64_t mapsync_zone_names(const struct mapsync *ms, uint32_t slot)
{
	return ms->nx ? nxsync_zone_names(ms->nx, slot) : 0;
}

int mapsync_zone_nx(const struct mapsync *ms, uint32_t slot)
{
	return ms->nx ? nxsync_zone_synth(ms->nx, slot) : -1;
}

void mapsync_get_stats(const struct mapsync *ms, struct mapsync_stats *st)
{
	*st = ms->st;
	if (ms->nx) {
		struct nxsync_stats ns;

		nxsync_get_stats(ms->nx, &ns);
		st->names = ns.names;
		st->nx_zones = ns.zones_synth;
	}
}
