#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "entries.h"
#include "fault.h"
#include "log.h"
#include "mapsync.h"
#include "wire.h"

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

/* ---- key sets: compact keys in an arena, each with its map state ---- */

/* What the entries map holds for a key, as this process wrote it: 12
 * bytes a key, 16 in a keyset where some key's DO=1 answer differs from
 * its DO=0 one (a signed zone: keyset.ref1). Which keys a publish has
 * compiled is the publish's own bitmap. */
struct kstate {
	uint32_t ref0; /* ref of the live half's DO=0 answer (held) */
	uint32_t gen; /* generation of the live half; 0: not in the map */
	uint32_t off : 31; /* arena offset of the key record */
	uint32_t half : 1; /* index of the live half */
};
_Static_assert(sizeof(struct kstate) == 12, "struct kstate grew");
_Static_assert(XDPNS_VAR_COUNT == 2, "kstate holds two refs: ref0, ref1");

/* The arena's offsets fit the 31 bits of kstate.off. */
#define KEYSET_ARENA_MAX ((size_t)1 << 31)

/* Records in the arena: qtype(2) len(1) name(len), or, for a key whose
 * name the record before it already holds (the node's other types, in
 * keyset_add_shared), qtype(2) 0 offset(4, host order) of that record:
 * 7 bytes instead of ~23. A name has at least 1 byte, so len 0 is free to
 * mark it. */
#define KEYREC_SHORT 7

struct keyset {
	uint8_t *arena;
	size_t used, cap;
	size_t last_full; /* offset + 1 of the last whole record; 0: none */
	uint32_t *slots; /* key id + 1; 0 = empty */
	size_t mask;
	struct kstate *st; /* by key id */
	/* by key id, the live half's DO=1 ref (held); NULL while every key's
	 * is its ref0 (an unsigned zone: the same answer, held twice) */
	uint32_t *ref1;
	size_t n, st_cap; /* ids in use (live or not) */
	size_t live; /* ids with gen != 0 */
};

/* FNV-1a of a key record's bytes, qtype(2) then len(1) name(len) given
 * apart (a short record's name lies elsewhere). */
static uint64_t key_hash2(const uint8_t *qtype, const uint8_t *lenname)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	h = (h ^ qtype[0]) * 1099511628211ull;
	h = (h ^ qtype[1]) * 1099511628211ull;
	for (i = 0; i <= lenname[0]; i++)
		h = (h ^ lenname[i]) * 1099511628211ull;
	return h;
}

/* A whole key record: qtype(2) len(1) name(len). */
static uint64_t key_hash(const uint8_t *rec)
{
	return key_hash2(rec, rec + 2);
}

/* The record of id as stored (maybe short). */
static const uint8_t *keyset_stored(const struct keyset *ks, uint32_t id)
{
	return ks->arena + ks->st[id].off;
}

/* The whole record holding the name of the stored record r: its len(1)
 * name(len) start at the result + 2. */
static const uint8_t *keyset_named(const struct keyset *ks, const uint8_t *r)
{
	uint32_t off;

	if (r[2])
		return r;
	memcpy(&off, r + 3, sizeof(off));
	return ks->arena + off;
}

/* The record of id, for sets without short records (keyset_add only). */
static const uint8_t *keyset_rec(const struct keyset *ks, uint32_t id)
{
	return keyset_stored(ks, id);
}

static uint64_t keyset_hash(const struct keyset *ks, uint32_t id)
{
	const uint8_t *r = keyset_stored(ks, id);

	return key_hash2(r, keyset_named(ks, r) + 2);
}

/* Id's key is the whole record rec. */
static int keyset_eq(const struct keyset *ks, uint32_t id, const uint8_t *rec)
{
	const uint8_t *r = keyset_stored(ks, id);

	if (r[2])
		return !memcmp(r, rec, 3 + rec[2]);
	return r[0] == rec[0] && r[1] == rec[1] &&
	       !memcmp(keyset_named(ks, r) + 2, rec + 2, 1 + rec[2]);
}

/* The id of rec, or -1. */
static long keyset_find(const struct keyset *ks, const uint8_t *rec)
{
	size_t i;

	if (!ks->slots)
		return -1;
	for (i = key_hash(rec) & ks->mask; ks->slots[i]; i = (i + 1) & ks->mask)
		if (keyset_eq(ks, ks->slots[i] - 1, rec))
			return ks->slots[i] - 1;
	return -1;
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
		j = keyset_hash(ks, ks->slots[i] - 1) & (size - 1);
		while (slots[j])
			j = (j + 1) & (size - 1);
		slots[j] = ks->slots[i];
	}
	free(ks->slots);
	ks->slots = slots;
	ks->mask = size - 1;
	return 0;
}

/* The per-key arrays (state, and the DO=1 refs when kept) for cap keys.
 * On failure st may have grown already: only st_cap lags, which is safe. */
static int keyset_st_grow(struct keyset *ks, size_t cap)
{
	struct kstate *st = realloc(ks->st, cap * sizeof(*st));

	if (!st)
		return -ENOMEM;
	ks->st = st;
	if (ks->ref1) {
		uint32_t *r1 = realloc(ks->ref1, cap * sizeof(*r1));

		if (!r1)
			return -ENOMEM;
		ks->ref1 = r1;
	}
	ks->st_cap = cap;
	return 0;
}

/* Room for n keys without growing (a first publish knows its size). */
static int keyset_reserve(struct keyset *ks, size_t n)
{
	size_t slots = 1024;

	if (ks->n)
		return 0;
	while (slots < 2 * n + 2)
		slots *= 2;
	free(ks->slots);
	ks->slots = calloc(slots, sizeof(*ks->slots));
	if (!ks->slots)
		return -ENOMEM;
	ks->mask = slots - 1;
	if (n > ks->st_cap)
		return keyset_st_grow(ks, n);
	return 0;
}

/* The id of rec, added (state zero: not in the map) when new; -errno.
 * share: a new key whose name is the last whole record's is stored short. */
static long keyset_put(struct keyset *ks, const uint8_t *rec, int share)
{
	size_t n = 3 + rec[2], i;
	long id = keyset_find(ks, rec);
	const uint8_t *last;

	if (id >= 0)
		return id;
	if (share && ks->last_full && n > KEYREC_SHORT) {
		last = ks->arena + ks->last_full - 1;
		if (memcmp(last + 2, rec + 2, n - 2))
			share = 0;
	} else {
		share = 0;
	}
	if (share)
		n = KEYREC_SHORT;
	if ((ks->n + 1) * 2 > (ks->mask + 1) || !ks->slots)
		if (keyset_grow(ks))
			return -ENOMEM;
	if (ks->used + n > ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 65536;
		uint8_t *a;

		while (cap < ks->used + n)
			cap *= 2;
		if (cap > KEYSET_ARENA_MAX)
			return -E2BIG;
		a = realloc(ks->arena, cap);
		if (!a)
			return -ENOMEM;
		ks->arena = a;
		ks->cap = cap;
	}
	if (ks->n == ks->st_cap &&
	    keyset_st_grow(ks, ks->st_cap ? ks->st_cap * 2 : 1024))
		return -ENOMEM;
	if (share) {
		uint32_t off = ks->last_full - 1;

		memcpy(ks->arena + ks->used, rec, 2);
		ks->arena[ks->used + 2] = 0;
		memcpy(ks->arena + ks->used + 3, &off, sizeof(off));
	} else {
		memcpy(ks->arena + ks->used, rec, n);
		ks->last_full = ks->used + 1;
	}
	memset(&ks->st[ks->n], 0, sizeof(ks->st[0]));
	if (ks->ref1)
		ks->ref1[ks->n] = 0;
	ks->st[ks->n].off = ks->used;
	for (i = key_hash(rec) & ks->mask; ks->slots[i]; i = (i + 1) & ks->mask)
		;
	ks->slots[i] = ks->n + 1;
	ks->used += n;
	return ks->n++;
}

static long keyset_add(struct keyset *ks, const uint8_t *rec)
{
	return keyset_put(ks, rec, 0);
}

/* The entries' keys: a node's types share its name (KEYREC_SHORT). */
static long keyset_add_shared(struct keyset *ks, const uint8_t *rec)
{
	return keyset_put(ks, rec, 1);
}

/* The map key of id. */
static void keyset_key(const struct keyset *ks, uint32_t id, struct xdpns_key *k)
{
	const uint8_t *r = keyset_stored(ks, id), *nm = keyset_named(ks, r);

	memset(k, 0, sizeof(*k));
	k->qtype = (uint16_t)r[0] << 8 | r[1];
	k->name_len = nm[2];
	memcpy(k->name, nm + 3, nm[2]);
}

/* The name length of id. */
static uint8_t keyset_len(const struct keyset *ks, uint32_t id)
{
	return keyset_named(ks, keyset_stored(ks, id))[2];
}

/* The live half's refs of key id. */
static void kst_refs(const struct keyset *ks, uint32_t id, uint32_t *refs)
{
	refs[0] = ks->st[id].ref0;
	refs[1] = ks->ref1 ? ks->ref1[id] : refs[0];
}

/* Room for refs whose DO=1 one differs from the DO=0 one (ks->ref1, each
 * key's own ref0 until set). */
static int kst_need_ref1(struct keyset *ks, const uint32_t *refs)
{
	size_t i;

	if (ks->ref1 || refs[1] == refs[0])
		return 0;
	ks->ref1 = malloc((ks->st_cap ? ks->st_cap : 1) * sizeof(*ks->ref1));
	if (!ks->ref1)
		return -ENOMEM;
	for (i = 0; i < ks->n; i++)
		ks->ref1[i] = ks->st[i].ref0;
	return 0;
}

/* Set the live half's refs of key id; after kst_need_ref1(ks, refs). */
static void kst_set_refs(struct keyset *ks, uint32_t id, const uint32_t *refs)
{
	ks->st[id].ref0 = refs[0];
	if (ks->ref1)
		ks->ref1[id] = refs[1];
}

static void keyset_free(struct keyset *ks)
{
	free(ks->arena);
	free(ks->slots);
	free(ks->st);
	free(ks->ref1);
	memset(ks, 0, sizeof(*ks));
}

static void key_rec(uint8_t *rec, const uint8_t *name, size_t len, uint16_t qtype)
{
	rec[0] = qtype >> 8;
	rec[1] = qtype & 0xff;
	rec[2] = len;
	name_lower(rec + 3, name, len);
}

/* ---- blobs: deduplicated, refcounted, freed after a grace period ---- */

/* The bytes live in the mapped array itself: a record keeps the count of
 * references and the length written (the dedupe compares that prefix). */
struct blobrec {
	uint32_t refcnt; /* 0 = free index */
	uint16_t size;
	uint16_t h16; /* 16 bits of the content hash: most probes stop here */
};
_Static_assert(sizeof(struct xdpns_blob_l) <= UINT16_MAX, "blobrec.size");

#define BLOB_TOMB UINT32_MAX

static const size_t blob_vsize[XDPNS_BLOB_CLASSES] = {
	[XDPNS_BLOB_XS] = sizeof(struct xdpns_blob_xs),
	[XDPNS_BLOB_S] = sizeof(struct xdpns_blob_s),
	[XDPNS_BLOB_M] = sizeof(struct xdpns_blob_m),
	[XDPNS_BLOB_L] = sizeof(struct xdpns_blob_l),
};

struct retired {
	uint64_t deadline_us;
	struct u32vec refs;
};

struct zone_state {
	uint32_t gen;
	uint32_t flags;
	uint64_t flip_us; /* when gen became visible */
	struct keyset keys; /* every key this zone wrote, with its state */
	/* names (qtype 0 records) of nodes with a CNAME, NS, MX or SRV: where
	 * a change's reach is looked for; may hold names no longer there */
	struct keyset ptrs;
	int ptrs_ok; /* built by a whole publish */
};

struct mapsync {
	struct mapsync_fds fds;
	struct etable tab[XDPNS_TABLE_CLASSES];
	struct etable_graves dead; /* table slots deleted, in their grace */
	uint64_t n_overflow; /* keys of the tables' classes in their hashes */
	uint32_t next_free[XDPNS_BLOB_CLASSES]; /* never-used indexes (0 reserved) */
	struct u32vec free_idx[XDPNS_BLOB_CLASSES];
	struct blobrec *recs[XDPNS_BLOB_CLASSES]; /* by class, by blob index */
	uint32_t *table; /* content hash -> ref; 0 empty, BLOB_TOMB deleted */
	size_t table_mask, n_blobs, n_tomb;
	struct zone_state zones[XDPNS_MAX_ZONES];
	struct retired *retired;
	size_t n_retired;
	struct mapsync_stats st;
	struct nxsync *nx; /* NXDOMAIN in XDP (nxsync.c); NULL: none */
};

int mapsync_new(const struct mapsync_fds *fds, struct mapsync **out)
{
	struct mapsync *ms;
	int c;

	for (c = 1; c < XDPNS_BLOB_CLASSES; c++)
		if (!fds->blob_mem[c] || fds->n_blob[c] < 2)
			return -EINVAL;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->fds = *fds;
	for (c = 0; c < XDPNS_TABLE_CLASSES; c++)
		if (etable_init(&ms->tab[c], c, fds->table_mem[c], fds->n_table[c],
				fds->table_home[c])) {
			free(ms);
			return -EINVAL;
		}
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++)
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
		keyset_free(&ms->zones[i].ptrs);
	}
	for (c = 0; c < XDPNS_BLOB_CLASSES; c++) {
		free(ms->recs[c]);
		free(ms->free_idx[c].v);
	}
	free(ms->table);
	for (i = 0; i < ms->n_retired; i++)
		free(ms->retired[i].refs.v);
	free(ms->retired);
	etable_graves_free(&ms->dead);
	free(ms);
}

static uint8_t *blob_mem(const struct mapsync *ms, uint32_t ref)
{
	uint32_t cls = ref >> XDPNS_REF_CLASS_SHIFT;

	return ms->fds.blob_mem[cls] +
	       (size_t)(ref & XDPNS_REF_INDEX_MASK) * blob_vsize[cls];
}

static struct blobrec *blob_rec(struct mapsync *ms, uint32_t ref)
{
	uint32_t cls = ref >> XDPNS_REF_CLASS_SHIFT;
	uint32_t idx = ref & XDPNS_REF_INDEX_MASK;

	if (cls == 0 || cls >= XDPNS_BLOB_CLASSES || !ms->recs[cls] ||
	    idx >= ms->fds.n_blob[cls])
		return NULL;
	return &ms->recs[cls][idx];
}

static uint64_t blob_hash(const void *value, uint32_t size, uint32_t cls)
{
	return name_hash(value, size) ^ cls; /* FNV-1a of the bytes */
}

/* Rehash into a table of twice the blobs or more (load <= 1/2), without
 * tombstones: 8 to 16 bytes a blob. */
static int table_grow(struct mapsync *ms)
{
	size_t size = 4096, i;
	uint32_t *t;

	while (size < (ms->n_blobs + 1) * 2)
		size *= 2;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; ms->table && i <= ms->table_mask; i++) {
		uint32_t ref = ms->table[i];
		size_t j;

		if (!ref || ref == BLOB_TOMB)
			continue;
		j = blob_hash(blob_mem(ms, ref), blob_rec(ms, ref)->size,
			      ref >> XDPNS_REF_CLASS_SHIFT) & (size - 1);
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

/* Find or create the blob with these value bytes; takes one reference.
 * A new blob is written straight into the mapped array, at an index no
 * entry refers to. */
static int blob_get(struct mapsync *ms, enum xdpns_blob_class cls,
		    const void *value, uint32_t size, uint32_t *ref)
{
	uint64_t h = blob_hash(value, size, cls);
	struct blobrec *b;
	size_t i, tomb = SIZE_MAX;
	uint32_t idx;
	int r;

	/* linear probing up to a load of 3/4, tombstones counted */
	if (!ms->table || (ms->n_blobs + ms->n_tomb + 1) * 4 > (ms->table_mask + 1) * 3)
		if ((r = table_grow(ms)))
			return r;
	for (i = h & ms->table_mask; ms->table[i]; i = (i + 1) & ms->table_mask) {
		uint32_t t = ms->table[i];

		if (t == BLOB_TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		b = blob_rec(ms, t);
		if (b->size == size && b->h16 == (uint16_t)(h >> 48) &&
		    (t >> XDPNS_REF_CLASS_SHIFT) == (uint32_t)cls &&
		    !memcmp(blob_mem(ms, t), value, size)) {
			b->refcnt++;
			*ref = t;
			return 0;
		}
	}
	if (!ms->recs[cls]) {
		ms->recs[cls] = calloc(ms->fds.n_blob[cls], sizeof(struct blobrec));
		if (!ms->recs[cls])
			return -ENOMEM;
	}
	/* a new blob: a free index of this class */
	if (ms->free_idx[cls].n)
		idx = ms->free_idx[cls].v[--ms->free_idx[cls].n];
	else if (ms->next_free[cls] < ms->fds.n_blob[cls])
		idx = ms->next_free[cls]++;
	else
		return -ENOSPC;
	b = &ms->recs[cls][idx];
	*ref = ((uint32_t)cls << XDPNS_REF_CLASS_SHIFT) | idx;
	memcpy(blob_mem(ms, *ref), value, size);
	b->size = size;
	b->h16 = h >> 48;
	b->refcnt = 1;
	if (tomb != SIZE_MAX) {
		i = tomb;
		ms->n_tomb--;
	}
	ms->table[i] = *ref;
	ms->n_blobs++;
	ms->st.blobs[cls]++;
	ms->st.blob_bytes += blob_vsize[cls];
	return 0;
}

static void blob_put(struct mapsync *ms, uint32_t ref)
{
	uint32_t cls = ref >> XDPNS_REF_CLASS_SHIFT;
	struct blobrec *b = blob_rec(ms, ref);
	size_t i;

	if (!b || !b->refcnt || --b->refcnt)
		return;
	for (i = blob_hash(blob_mem(ms, ref), b->size, cls) & ms->table_mask;
	     ms->table[i]; i = (i + 1) & ms->table_mask)
		if (ms->table[i] == ref) {
			ms->table[i] = BLOB_TOMB;
			ms->n_tomb++;
			break;
		}
	u32vec_push(&ms->free_idx[cls], ref & XDPNS_REF_INDEX_MASK);
	ms->st.blobs[cls]--;
	ms->st.blob_bytes -= blob_vsize[cls];
	memset(b, 0, sizeof(*b));
	ms->n_blobs--;
}

/* ---- retiring blobs a generation no longer uses ---- */
static int retire(struct mapsync *ms, struct u32vec *refs)
{
	struct retired *r;

	if (!refs->n)
		return 0;
	r = realloc(ms->retired, (ms->n_retired + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	ms->retired = r;
	r[ms->n_retired].deadline_us = mono_us() + MAPSYNC_GRACE_MS * 1000;
	r[ms->n_retired].refs = *refs;
	ms->n_retired++;
	memset(refs, 0, sizeof(*refs));
	return 0;
}

/* Free the table slots deleted before the grace period; wait=1 waits for
 * all. */
/* Delete a table slot: dead now, free after the grace period. */
static void slot_kill(struct mapsync *ms, int cls, uint32_t slot)
{
	etable_bury(ms->tab, &ms->dead, cls, slot, MAPSYNC_GRACE_MS);
}

/* Release retired blobs whose grace period is over; wait=1 waits for all
 * (and for the deleted table slots). */
static void reclaim(struct mapsync *ms, int wait)
{
	size_t i, keep = 0;

	etable_reclaim(ms->tab, &ms->dead, wait);

	for (i = 0; i < ms->n_retired; i++) {
		struct retired *r = &ms->retired[i];
		uint64_t now = mono_us();
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
	b->h.csum = wire_sum16(a->body, a->len);
	{
		int k, n = 0;

		for (k = a->n_cuts - 1; k >= 0 && n < XDPNS_CUTS; k--, n++) {
			b->h.cut_len[n] = a->cuts[k].len;
			b->h.cut_ar[n] = a->cuts[k].ar;
			b->h.cut_csum[n] = wire_sum16(a->body, a->cuts[k].len);
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

int mapsync_blob_xs(const struct xdpns_blob_l *b, struct xdpns_blob_xs *x,
		    size_t *value_size)
{
	if (b->h.len < 1 || b->h.len > XDPNS_BLOB_XS_CAP)
		return -1;
	/* no cut points needed: 12 + 259 + 32 + 11 bytes always fit 512 */
	memset(&x->h, 0, sizeof(x->h));
	x->h.flags = b->h.flags;
	x->h.ancount = b->h.ancount;
	x->h.nscount = b->h.nscount;
	x->h.arcount = b->h.arcount;
	x->h.len = b->h.len;
	x->h.bflags = b->h.bflags & ~XDPNS_BLOB_F_MORE_CUTS;
	x->h.csum = b->h.csum;
	memcpy(x->data, b->data, b->h.len);
	*value_size = sizeof(x->h) + b->h.len;
	return 0;
}

/* Types answered for a node beyond those it holds: NODATA at the apex and
 * the CNAME answer for common types at a CNAME owner. */
static const uint16_t apex_extra[] = { 1, 2, 6, 15, 16, 28, 43, 48, 64, 65, 257 };
static const uint16_t cname_extra[] = { 1, 15, 16, 28, 64, 65 };

/* Call fn for every key node n compiles to in zone z. */
static int node_keys(const struct zone *z, const struct node *n,
		     int (*fn)(void *ctx, const struct node *n, uint16_t qtype),
		     void *ctx)
{
	uint32_t j;
	size_t k;
	int r = 0;

	for (j = 0; j < n->n_sets && !r; j++)
		if (rdset_count(n->sets[j].rrs))
			r = fn(ctx, n, n->sets[j].type);
	if (n->len == z->apex_len)
		for (k = 0; k < sizeof(apex_extra) / 2 && !r; k++)
			r = fn(ctx, n, apex_extra[k]);
	if (node_rrset(n, LDNS_RR_TYPE_CNAME))
		for (k = 0; k < sizeof(cname_extra) / 2 && !r; k++)
			r = fn(ctx, n, cname_extra[k]);
	return r;
}

/* The blob class of a body of len bytes. */
static int body_class(uint64_t len)
{
	return len <= XDPNS_BLOB_XS_CAP ? XDPNS_BLOB_XS :
	       len <= XDPNS_BLOB_S_CAP	 ? XDPNS_BLOB_S :
	       len <= XDPNS_BLOB_M_CAP	 ? XDPNS_BLOB_M : XDPNS_BLOB_L;
}

/* Wire bytes of an rdset's records after a compressed owner: pointer (2),
 * type, class, TTL (8), rdlen and rdata (its size holds those; not the
 * per-record TTLs). Names in rdata are counted uncompressed. */
static uint64_t rdset_wire(const struct rdset *s)
{
	if (!s)
		return 0;
	return s->size - (s->ttls ? 4ull * s->count : 0) + 10ull * s->count;
}

struct count_ctx {
	struct mapsync_sizes *sz;
	const struct zone *z;
	uint64_t soa, soa_sig; /* the SOA's wire bytes, its RRSIGs' */
	uint64_t blobs[XDPNS_BLOB_CLASSES];
};

/* Count a body of lo..hi bytes in every class that range touches (the
 * estimate is rough: compression shrinks names, additional records and
 * CNAME targets add), so no class is short of a body it may get. */
static void count_body(struct count_ctx *cc, uint64_t lo, uint64_t hi)
{
	int a = body_class(lo), b = body_class(hi);

	cc->blobs[a]++;
	if (b != a)
		cc->blobs[b]++;
}

/* The bodies a key compiles to, by size: the RRset's records (plus glue
 * for NS/MX/SRV), a CNAME's record and its target's answer, or a NODATA
 * (the SOA); DO=1 bodies of signed zones add RRSIGs (and NSECs). */
static int count_key(void *ctx, const struct node *n, uint16_t qtype)
{
	struct count_ctx *cc = ctx;
	const struct rrset *rs = node_rrset(n, qtype);
	uint64_t lo, hi, sig = 0;

	cc->sz->keys[XDPNS_KEYCLASS(n->len)]++;
	if (rs && rdset_count(rs->rrs)) {
		lo = rdset_wire(rs->rrs);
		hi = lo;
		if (qtype == LDNS_RR_TYPE_NS || qtype == LDNS_RR_TYPE_MX ||
		    qtype == LDNS_RR_TYPE_SRV)
			hi += 2 * 28ull * rs->rrs->count; /* an A and an AAAA each */
		sig = rdset_wire(rs->sigs);
	} else if ((rs = node_rrset(n, LDNS_RR_TYPE_CNAME))) {
		lo = rdset_wire(rs->rrs);
		hi = lo + XDPNS_BLOB_S_CAP; /* the target's answer, or its NODATA */
		sig = rdset_wire(rs->sigs);
	} else {
		/* NODATA: the SOA, its owner uncompressed at worst; signed:
		 * its RRSIG and the NSEC(3) proof */
		lo = cc->soa;
		hi = lo + cc->z->apex_len;
		sig = cc->soa_sig ? cc->soa_sig + 2 * XDPNS_BLOB_S_CAP : 0;
	}
	count_body(cc, lo, hi);
	if (cc->z->signed_zone) /* DO=1: the RRSIGs (NSEC/NSEC3 proofs) */
		count_body(cc, lo + sig, hi + sig + (sig ? XDPNS_BLOB_S_CAP : 0));
	return 0;
}

void mapsync_count(const struct zone *z, struct mapsync_sizes *sz)
{
	struct count_ctx cc = { .sz = sz, .z = z };
	const struct node *apex = zone_find(z, z->apex, z->apex_len);
	const struct rrset *soa = apex ? node_rrset(apex, LDNS_RR_TYPE_SOA) : NULL;
	size_t i;
	int c;

	cc.soa = soa ? rdset_wire(soa->rrs) : XDPNS_BLOB_XS_CAP + 1;
	cc.soa_sig = soa ? rdset_wire(soa->sigs) : 0;
	for (i = 0; i <= z->mask; i++)
		if (z->nodes[i].name) {
			node_keys(z, &z->nodes[i], count_key, &cc);
			sz->names[XDPNS_KEYCLASS(z->nodes[i].len)]++;
		}
	/* the shadow names (nxsync.c): MNAME's and RNAME's ends */
	sz->names[0] += 2;
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++) {
		sz->blobs[c] += cc.blobs[c];
		if (cc.blobs[c] > sz->zone_blobs_max[c])
			sz->zone_blobs_max[c] = cc.blobs[c];
	}
}

/* ---- publishing: compile, write what changed, flip ---- */

static int node_points(const struct node *n);

/* An entry to write: a key whose answer changed, a new key, or a key the
 * new generation drops (tomb: its new half has no refs). */
/* An entry a publish writes: 12 bytes a key (the peak of a zone's first
 * publish). Ids fit 31 bits: a key record takes 7 bytes or more of an
 * arena of at most 2 GiB. */
struct pending {
	uint32_t id : 31;
	uint32_t tomb : 1;
	uint32_t ref[XDPNS_VAR_COUNT];
};
_Static_assert(sizeof(struct pending) == 12, "struct pending grew");

struct publish_ctx {
	struct mapsync *ms;
	const struct engine *e;
	const struct engine_zone *ez;
	struct zone_state *zs;
	uint32_t gen;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct answer *ans;
	struct xdpns_blob_l blob;
	struct xdpns_blob_xs xs;
	uint64_t compiled; /* keys compiled */
	struct keyset ptrs; /* a whole publish: the pointing names, rebuilt */
	uint64_t *seen; /* by key id: compiled (or tombed) by this publish */
	size_t seen_words;
	/* entries of another zone this publish replaced (a zone inside that
	 * one takes its keys over, a reload): put back if it is undone, by
	 * key id (sorted before the undo) */
	struct taken *taken;
	size_t n_taken, cap_taken;
	int nested; /* a zone above this one is served: a longer name's
		     * entry may be its (looked up before it is replaced) */
};

struct taken {
	uint32_t id;
	uint32_t pos; /* in its batch, while that is written */
	struct xdpns_entry prev;
};

static int taken_push(struct publish_ctx *pc, uint32_t id, uint32_t pos,
		      const struct xdpns_entry *prev)
{
	if (pc->n_taken == pc->cap_taken) {
		size_t cap = pc->cap_taken ? pc->cap_taken * 2 : 64;
		struct taken *t = realloc(pc->taken, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		pc->taken = t;
		pc->cap_taken = cap;
	}
	pc->taken[pc->n_taken].id = id;
	pc->taken[pc->n_taken].pos = pos;
	pc->taken[pc->n_taken].prev = *prev;
	pc->n_taken++;
	return 0;
}

static int taken_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct taken *)a)->id, y = ((const struct taken *)b)->id;

	return x < y ? -1 : x > y;
}

/* The entry key id replaced (after taken_sort), or NULL. */
static const struct xdpns_entry *taken_find(const struct publish_ctx *pc, uint32_t id)
{
	struct taken k = { .id = id }, *t;

	if (!pc->n_taken)
		return NULL;
	t = bsearch(&k, pc->taken, pc->n_taken, sizeof(k), taken_cmp);
	return t ? &t->prev : NULL;
}

/* Room in the seen bitmap for key id. */
static int seen_room(struct publish_ctx *pc, size_t id)
{
	size_t words = pc->seen_words ? pc->seen_words : 1024;
	uint64_t *s;

	if (id / 64 < pc->seen_words)
		return 0;
	while (words <= id / 64)
		words *= 2;
	s = realloc(pc->seen, words * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + pc->seen_words, 0, (words - pc->seen_words) * sizeof(*s));
	pc->seen = s;
	pc->seen_words = words;
	return 0;
}

static int seen_test(const struct publish_ctx *pc, size_t id)
{
	return id / 64 < pc->seen_words && (pc->seen[id / 64] >> (id % 64) & 1);
}

/* After seen_room(pc, id). */
static void seen_set(struct publish_ctx *pc, size_t id)
{
	pc->seen[id / 64] |= (uint64_t)1 << (id % 64);
}

static int pend_push(struct publish_ctx *pc, uint32_t id, const uint32_t *ref,
		     int tomb)
{
	struct pending *p;

	if (pc->n_pend == pc->cap_pend) {
		size_t cap = pc->cap_pend ? pc->cap_pend * 2 : 256;

		p = realloc(pc->pend, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		pc->pend = p;
		pc->cap_pend = cap;
	}
	p = &pc->pend[pc->n_pend++];
	p->id = id;
	p->tomb = tomb;
	memcpy(p->ref, ref, sizeof(p->ref));
	return 0;
}

static int publish_key(void *ctx, const struct node *n, uint16_t qtype)
{
	struct publish_ctx *pc = ctx;
	struct mapsync *ms = pc->ms;
	struct keyset *ks = &pc->zs->keys;
	uint32_t refs[XDPNS_VAR_COUNT];
	uint8_t rec[3 + 256];
	struct kstate *st;
	long id;
	int v, r, same = 0;

	key_rec(rec, n->name, n->len, qtype);
	id = keyset_add_shared(ks, rec);
	if (id < 0)
		return id;
	if (seen_test(pc, id))
		return 0; /* compiled already in this publish */
	if ((r = seen_room(pc, id)))
		return r;
	for (v = 0; v < XDPNS_VAR_COUNT; v++) {
		enum xdpns_blob_class cls;
		const void *val = &pc->blob;
		size_t vsize;

		if (v && !pc->ez->zone->signed_zone) {
			/* the engine ignores DO in an unsigned zone: the
			 * same body, one more reference */
			refs[v] = refs[0];
			blob_rec(ms, refs[0])->refcnt++;
			continue;
		}
		r = engine_answer(pc->ez, n->name, n->len, qtype,
				  v == XDPNS_VAR_DO, pc->ans);
		if (!r) {
			mapsync_blob_from_answer(pc->ans, &pc->blob, &cls, &vsize);
			if (cls == XDPNS_BLOB_S && !mapsync_blob_xs(&pc->blob, &pc->xs, &vsize)) {
				cls = XDPNS_BLOB_XS;
				val = &pc->xs;
			}
			r = blob_get(ms, cls, val, vsize, &refs[v]);
		}
		if (r) {
			while (v--)
				blob_put(ms, refs[v]);
			return r;
		}
	}
	pc->compiled++;
	st = &ks->st[id];
	seen_set(pc, id);
	if (st->gen) {
		uint32_t cur[XDPNS_VAR_COUNT];

		kst_refs(ks, id, cur);
		same = !memcmp(cur, refs, sizeof(refs));
	}
	if (!same && (r = kst_need_ref1(ks, refs))) {
		for (v = 0; v < XDPNS_VAR_COUNT; v++)
			blob_put(ms, refs[v]);
		return r;
	}
	if (same) {
		/* the same answer: the live half serves the new generation */
		for (v = 0; v < XDPNS_VAR_COUNT; v++)
			blob_put(ms, refs[v]);
		return 0;
	}
	r = pend_push(pc, id, refs, 0);
	if (r)
		for (v = 0; v < XDPNS_VAR_COUNT; v++)
			blob_put(ms, refs[v]);
	return r;
}

/* Where a key's entry is: a slot of its table (slot >= 0), the hash of its
 * class (in_hash: the overflow for the tables' classes), or nowhere. */
struct eloc {
	int cls; /* XDPNS_KEYCLASS */
	long slot;
	uint32_t home; /* the table's home slot for the key */
	int in_hash;
};

/* Find k's entry: 1 with its value in *v, or 0. The overflow hash is
 * asked only when the key's home slot counts keys there, as XDP does. */
static int entry_locate(struct mapsync *ms, const struct xdpns_key *k,
			struct eloc *l, struct xdpns_entry *v)
{
	int c = XDPNS_KEYCLASS(k->name_len);

	memset(l, 0, sizeof(*l));
	l->cls = c;
	l->slot = -1;
	if (c < XDPNS_TABLE_CLASSES) {
		l->slot = etable_find(&ms->tab[c], k, &l->home);
		if (l->slot >= 0) {
			etable_read(&ms->tab[c], l->slot, v);
			return 1;
		}
		if (!etable_ovf(&ms->tab[c], l->home))
			return 0;
	}
	if (!bpf_map_lookup_elem(ms->fds.entries[c], k, v)) {
		l->in_hash = 1;
		return 1;
	}
	return 0;
}

/* Remove the entry entry_locate() found. */
static void entry_remove(struct mapsync *ms, const struct xdpns_key *k,
			 const struct eloc *l)
{
	if (l->slot >= 0) {
		slot_kill(ms, l->cls, l->slot);
		return;
	}
	if (!bpf_map_delete_elem(ms->fds.entries[l->cls], k) &&
	    l->cls < XDPNS_TABLE_CLASSES) {
		etable_ovf_add(&ms->tab[l->cls], l->home, -1);
		ms->n_overflow--;
	}
}

/* Put an entry for k, which has none: a free slot of its probe, else the
 * overflow hash (its home slot counts it first: a reader that sees the
 * count before the element misses, and passes). */
static int entry_insert(struct mapsync *ms, const struct xdpns_key *k,
			const struct xdpns_entry *v)
{
	int c = XDPNS_KEYCLASS(k->name_len);
	struct etable *t;
	uint32_t home;
	long slot;

	if (c >= XDPNS_TABLE_CLASSES)
		return bpf_map_update_elem(ms->fds.entries[c], k, v, BPF_ANY) ? -errno : 0;
	t = &ms->tab[c];
	home = etable_home(t, k);
	slot = etable_free_slot(t, home);
	if (slot >= 0) {
		etable_fill(t, slot, k, v);
		return 0;
	}
	etable_ovf_add(t, home, 1);
	if (bpf_map_update_elem(ms->fds.entries[c], k, v, BPF_NOEXIST)) {
		int r = -errno;

		etable_ovf_add(t, home, -1);
		return r;
	}
	ms->n_overflow++;
	return 0;
}

/* Delete an entry if zone slot still owns it: a zone added inside
 * another one (a reload) takes over the names below its apex, and the
 * outer zone's next publish or removal must not delete them. */
static void delete_owned(struct mapsync *ms, struct xdpns_key *key,
			 uint32_t slot)
{
	struct xdpns_entry ent;
	struct eloc l;

	if (entry_locate(ms, key, &l, &ent) && ent.zone == slot)
		entry_remove(ms, key, &l);
}

/* The entry value for pending p: the live half kept, the other one the
 * new generation's (or empty, when undo). */
static void pend_value(const struct publish_ctx *pc, const struct pending *p,
		       int undo, struct xdpns_entry *ent)
{
	const struct kstate *st = &pc->zs->keys.st[p->id];
	int other = st->gen ? !st->half : 0;

	memset(ent, 0, sizeof(*ent));
	ent->zone = pc->ez->slot;
	if (st->gen) {
		ent->half[st->half].gen = st->gen;
		kst_refs(&pc->zs->keys, p->id, ent->half[st->half].ref);
	}
	if (undo)
		return;
	ent->half[other].gen = pc->gen;
	if (!p->tomb)
		memcpy(ent->half[other].ref, p->ref, sizeof(p->ref));
}

/* Write (or, undo=1, take back) pending p in a table's class: in place
 * when its slot is the zone's own (the half the served generation does
 * not use: refs, then generation), else a new slot (or the overflow hash)
 * before the old slot is deleted. */
static int pend_write_table(struct publish_ctx *pc, const struct pending *p,
			    int undo)
{
	const struct kstate *st = &pc->zs->keys.st[p->id];
	struct mapsync *ms = pc->ms;
	struct xdpns_entry cur, val;
	struct xdpns_key k;
	struct eloc l;
	int found, other = st->gen ? !st->half : 0;

	keyset_key(&pc->zs->keys, p->id, &k);
	found = entry_locate(ms, &k, &l, &cur);
	if (undo) {
		const struct xdpns_entry *prev;

		if (!found || cur.zone != pc->ez->slot)
			return 0;
		if (!st->gen) {
			/* a key that was not there: delete; one another zone
			 * had (its slot killed, its element replaced): its
			 * entry back, as it was */
			prev = taken_find(pc, p->id);
			if (prev && l.in_hash)
				return bpf_map_update_elem(ms->fds.entries[l.cls], &k,
							   prev, BPF_ANY) ? -errno : 0;
			entry_remove(ms, &k, &l);
			return prev ? entry_insert(ms, &k, prev) : 0;
		}
		pend_value(pc, p, 1, &val);
		if (l.slot >= 0) {
			etable_set_half(&ms->tab[l.cls], l.slot, other, &val.half[other]);
			return 0;
		}
		return bpf_map_update_elem(ms->fds.entries[l.cls], &k, &val, BPF_ANY) ?
			       -errno : 0;
	}
	/* a key to drop that is not there, or that a zone inside this one
	 * took over (a reload): not ours to end */
	if (p->tomb && (!found || cur.zone != pc->ez->slot))
		return 0;
	pend_value(pc, p, 0, &val);
	if (found && l.slot >= 0 && cur.zone == pc->ez->slot && st->gen &&
	    cur.half[st->half].gen == st->gen) {
		etable_set_half(&ms->tab[l.cls], l.slot, other, &val.half[other]);
		return 0;
	}
	if (found && l.in_hash) {
		if (cur.zone != pc->ez->slot && !st->gen &&
		    taken_push(pc, p->id, 0, &cur))
			return -ENOMEM;
		if (bpf_map_update_elem(ms->fds.entries[l.cls], &k, &val, BPF_ANY)) {
			int r = -errno;

			if (cur.zone != pc->ez->slot && !st->gen)
				pc->n_taken--; /* not replaced */
			return r;
		}
		return 0;
	}
	/* new, or another zone's slot: a slot of our own, then the old one
	 * deleted (a reader meanwhile finds either, both this key's) */
	if (found && cur.zone != pc->ez->slot && !st->gen &&
	    taken_push(pc, p->id, 0, &cur))
		return -ENOMEM;
	{
		int r = entry_insert(ms, &k, &val);

		if (r && found && cur.zone != pc->ez->slot && !st->gen)
			pc->n_taken--; /* its slot stays */
		if (!r && found)
			slot_kill(ms, l.cls, l.slot);
		return r;
	}
}

#define BATCH 4096

/* Write (or, undo=1, take back) the pending entries [from, to): the
 * tables' classes slot by slot, the longer names batched per class.
 * Returns 0 or -errno; *done counts entries written in order before a
 * failure. */
static int pend_write(struct publish_ctx *pc, size_t from, size_t to, int undo,
		      size_t *done)
{
	static const uint32_t ksize[XDPNS_KEYCLASS_COUNT] = {
		XDPNS_KEY_HDR + XDPNS_KEYCLASS_0, XDPNS_KEY_HDR + XDPNS_KEYCLASS_1,
		XDPNS_KEY_HDR + XDPNS_KEYCLASS_2, XDPNS_KEY_HDR + XDPNS_KEYCLASS_3,
	};
	const struct keyset *ks = &pc->zs->keys;
	struct mapsync *ms = pc->ms;
	uint8_t *keys = NULL;
	struct xdpns_entry *vals = NULL;
	size_t i, n;
	int c, r = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	*done = 0;
	for (i = from; i < to && !r; i++) {
		if (XDPNS_KEYCLASS(keyset_len(ks, pc->pend[i].id)) >= XDPNS_TABLE_CLASSES)
			continue;
		r = pend_write_table(pc, &pc->pend[i], undo);
		if (!r)
			(*done)++;
	}
	if (r)
		return r;
	keys = malloc((size_t)BATCH * sizeof(struct xdpns_key));
	vals = malloc((size_t)BATCH * sizeof(*vals));
	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	/* one pass per class keeps each batch to one map; entries are
	 * independent, so order across classes does not matter */
	for (c = XDPNS_TABLE_CLASSES; c < XDPNS_KEYCLASS_COUNT && !r; c++) {
		i = from;
		while (i < to && !r) {
			size_t taken0 = pc->n_taken;
			uint32_t cnt;

			for (n = 0; i < to && n < BATCH; i++) {
				const struct pending *p = &pc->pend[i];
				struct xdpns_key k;

				if (XDPNS_KEYCLASS(keyset_len(ks, p->id)) != c)
					continue;
				keyset_key(ks, p->id, &k);
				if (p->tomb && !undo) {
					struct xdpns_entry cur;

					/* taken over by a zone inside this one
					 * (a reload): not ours to end */
					if (!bpf_map_lookup_elem(ms->fds.entries[c], &k, &cur) &&
					    cur.zone != pc->ez->slot)
						continue;
				}
				if (undo && !ks->st[p->id].gen) {
					/* a key that was not there: delete, or
					 * put back the entry of the zone that
					 * had it; one not replaced is left */
					const struct xdpns_entry *prev = taken_find(pc, p->id);
					struct xdpns_entry cur;

					if (prev)
						bpf_map_update_elem(ms->fds.entries[c], &k,
								    prev, BPF_ANY);
					else if (!pc->nested ||
						 bpf_map_lookup_elem(ms->fds.entries[c], &k, &cur) ||
						 cur.zone == pc->ez->slot)
						bpf_map_delete_elem(ms->fds.entries[c], &k);
					continue;
				}
				if (!undo && !p->tomb && pc->nested && !ks->st[p->id].gen) {
					struct xdpns_entry cur;

					/* a zone above had it: kept for an undo */
					if (!bpf_map_lookup_elem(ms->fds.entries[c], &k, &cur) &&
					    cur.zone != pc->ez->slot &&
					    taken_push(pc, p->id, n, &cur)) {
						r = -ENOMEM;
						break;
					}
				}
				memcpy(keys + n * ksize[c], &k, ksize[c]);
				pend_value(pc, p, undo, &vals[n]);
				n++;
			}
			if (!n || r)
				continue;
			cnt = n;
			if (bpf_map_update_batch(ms->fds.entries[c], keys, vals, &cnt,
						 &opts)) {
				r = -errno;
				*done += cnt;
				/* the entries not replaced are not taken */
				while (taken0 < pc->n_taken &&
				       pc->taken[pc->n_taken - 1].pos >= cnt)
					pc->n_taken--;
				break;
			}
			*done += n;
		}
	}
out:
	free(keys);
	free(vals);
	return r;
}

/* Keys of the old generation the new one lacks: tombstones. */
static int tomb_stale(struct publish_ctx *pc)
{
	struct keyset *ks = &pc->zs->keys;
	static const uint32_t none[XDPNS_VAR_COUNT];
	size_t id;
	int r;

	for (id = 0; id < ks->n; id++)
		if (ks->st[id].gen && !seen_test(pc, id))
			if ((r = pend_push(pc, id, none, 1)))
				return r;
	return 0;
}

static int tomb_node_key(void *ctx, const struct node *n, uint16_t qtype)
{
	struct publish_ctx *pc = ctx;
	struct keyset *ks = &pc->zs->keys;
	static const uint32_t none[XDPNS_VAR_COUNT];
	uint8_t rec[3 + 256];
	long id;

	key_rec(rec, n->name, n->len, qtype);
	id = keyset_find(ks, rec);
	if (id < 0 || !ks->st[id].gen || seen_test(pc, id))
		return 0;
	if (seen_room(pc, id))
		return -ENOMEM;
	seen_set(pc, id); /* once */
	return pend_push(pc, id, none, 1);
}

/* Undo a publish that did not flip: nothing it wrote is visible (its
 * halves carry a generation the zone never reached); take them back so a
 * later publish of the same number starts clean. */
static void publish_abort(struct publish_ctx *pc, size_t written)
{
	size_t i, done;

	if (pc->n_taken > 1)
		qsort(pc->taken, pc->n_taken, sizeof(*pc->taken), taken_cmp);
	if (written)
		pend_write(pc, 0, pc->n_pend, 1, &done);
	for (i = 0; i < pc->n_pend; i++) {
		int v;

		if (pc->pend[i].tomb)
			continue;
		for (v = 0; v < XDPNS_VAR_COUNT; v++)
			blob_put(pc->ms, pc->pend[i].ref[v]);
	}
}

/* After the flip: the pending entries are the zone's state; the blobs the
 * old halves held retire; dropped keys leave the map. */
static void publish_commit(struct publish_ctx *pc)
{
	struct mapsync *ms = pc->ms;
	struct keyset *ks = &pc->zs->keys;
	struct u32vec old = { 0 };
	size_t i;

	for (i = 0; i < pc->n_pend; i++) {
		const struct pending *p = &pc->pend[i];
		struct kstate *st = &ks->st[p->id];
		uint32_t cur[XDPNS_VAR_COUNT];
		int v;

		kst_refs(ks, p->id, cur);
		if (st->gen)
			for (v = 0; v < XDPNS_VAR_COUNT; v++)
				if (u32vec_push(&old, cur[v]))
					blob_put(ms, cur[v]); /* no memory: at once */
		if (p->tomb) {
			struct xdpns_key k;

			keyset_key(ks, p->id, &k);
			delete_owned(ms, &k, pc->ez->slot);
			if (st->gen)
				ks->live--;
			st->gen = 0;
			memset(cur, 0, sizeof(cur));
			kst_set_refs(ks, p->id, cur);
			continue;
		}
		if (!st->gen)
			ks->live++;
		st->half = st->gen ? !st->half : 0;
		st->gen = pc->gen;
		kst_set_refs(ks, p->id, p->ref); /* room made by publish_key */
	}
	if (retire(ms, &old))
		for (i = 0; i < old.n; i++)
			blob_put(ms, old.v[i]);
	free(old.v);
}

/* Each node of z that ez serves, or (names != NULL) only those names. */
static int publish_nodes(struct publish_ctx *pc, const struct zone *z,
			 const struct zone *old, const uint8_t *const *names,
			 size_t n_names)
{
	size_t i;
	int r = 0;

	if (!names) {
		for (i = 0; i <= z->mask && !r; i++) {
			const struct node *n = &z->nodes[i];

			if (!n->name)
				continue;
			/* a name may belong to a zone cut below it */
			if (pc->e->n_zones > 1 &&
			    engine_find_zone(pc->e, n->name, n->len) != pc->ez)
				continue;
			if (node_points(n)) {
				uint8_t rec[3 + 256];

				key_rec(rec, n->name, n->len, 0);
				if (keyset_add(&pc->ptrs, rec) < 0)
					return -ENOMEM;
			}
			r = node_keys(z, n, publish_key, pc);
		}
		return r ? r : tomb_stale(pc);
	}
	for (i = 0; i < n_names && !r; i++) {
		const uint8_t *name = names[i];
		size_t len = name_wire_len(name);
		const struct node *n;

		if (engine_find_zone(pc->e, name, len) != pc->ez)
			continue;
		n = zone_find(z, name, len);
		if (n && node_points(n)) {
			uint8_t rec[3 + 256];

			key_rec(rec, n->name, n->len, 0);
			if (keyset_add(&pc->zs->ptrs, rec) < 0)
				return -ENOMEM;
		}
		if (n)
			r = node_keys(z, n, publish_key, pc);
	}
	/* keys the names had before and have no longer */
	for (i = 0; i < n_names && !r && old; i++) {
		const uint8_t *name = names[i];
		const struct node *n = zone_find(old, name, name_wire_len(name));

		if (n)
			r = node_keys(old, n, tomb_node_key, pc);
	}
	return r;
}

/* ---- which names a change reaches ---- */

struct nameset {
	struct keyset ks; /* records with qtype 0 */
};

static int nameset_add(struct nameset *s, const uint8_t *name, size_t len, int *added)
{
	uint8_t rec[3 + 256];
	size_t before = s->ks.n;
	long id;

	key_rec(rec, name, len, 0);
	id = keyset_add(&s->ks, rec);
	if (id < 0)
		return id;
	if (added)
		*added = s->ks.n != before;
	return 0;
}

static int nameset_has(const struct nameset *s, const uint8_t *name, size_t len)
{
	uint8_t rec[3 + 256];

	key_rec(rec, name, len, 0);
	return keyset_find(&s->ks, rec) >= 0;
}

/* The rdata field holding the name whose records an answer for this
 * type pulls in (CNAME chain, additional A/AAAA for NS, MX and SRV), or
 * -1. */
static int target_field(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_NS:
		return 0;
	case LDNS_RR_TYPE_MX:
		return 1;
	case LDNS_RR_TYPE_SRV:
		return 3;
	}
	return -1;
}

static int node_points(const struct node *n)
{
	uint32_t j;

	for (j = 0; j < n->n_sets; j++)
		if (target_field(n->sets[j].type) >= 0)
			return 1;
	return 0;
}

static int node_changes_all(const struct zone *z, const struct node *n)
{
	/* a delegation changes every name below it; a wildcard the names it
	 * covers; a DNAME-less engine has nothing else that reaches down */
	if (n->len != z->apex_len && node_rrset(n, LDNS_RR_TYPE_NS))
		return 1;
	return n->len >= 2 && n->name[0] == 1 && n->name[1] == '*';
}

/* Expand the changed owners of an IXFR into every name whose eagerly
 * compiled answers may differ: the owners themselves, owners of a CNAME,
 * NS, MX or SRV pointing at one of them (to a fixed point: chains), and
 * with the apex (its SOA changes with every serial) every CNAME owner,
 * whose chain may end in a NODATA carrying the SOA. Returns 1 when the
 * change reaches too far to list (a delegation, a wildcard, an NSEC3
 * owner): then the whole zone is compiled. */
static int affected_names(const struct zone *z, const struct zone *old,
			  const uint8_t *const *names, size_t n_names,
			  const struct keyset *ptrs, struct nameset *out)
{
	size_t i, round;
	int r, grew = 1, apex = 0;

	for (i = 0; i < n_names; i++) {
		const uint8_t *name = names[i];
		size_t len = name_wire_len(name);
		const struct node *nn = zone_find(z, name, len);
		const struct node *on = old ? zone_find(old, name, len) : NULL;

		if (!len)
			return 1;
		if (!nn && !on)
			return 1; /* not a node: an NSEC3 owner, or unknown */
		if ((nn && node_changes_all(z, nn)) || (on && node_changes_all(old, on)))
			return 1;
		if (len == z->apex_len)
			apex = 1;
		if ((r = nameset_add(out, name, len, NULL)))
			return 1;
	}
	for (round = 0; grew && round <= 17; round++) {
		grew = 0;
		/* the nodes that point somewhere: the zone's list of them, or
		 * every node (no whole publish yet) */
		for (i = 0; ptrs ? i < ptrs->n : i <= z->mask; i++) {
			const struct node *n;
			uint32_t j;

			if (ptrs) {
				const uint8_t *rec = keyset_rec(ptrs, i);

				n = zone_find(z, rec + 3, rec[2]);
				if (!n)
					continue;
			} else {
				n = &z->nodes[i];
			}
			if (!n->name || !node_points(n) ||
			    nameset_has(out, n->name, n->len))
				continue;
			for (j = 0; j < n->n_sets; j++) {
				int f = target_field(n->sets[j].type), add = 0;
				uint32_t pos = 0;
				struct rr_ref rr;

				if (apex && n->sets[j].type == LDNS_RR_TYPE_CNAME)
					add = 1;
				while (f >= 0 && !add &&
				       rdset_next(n->sets[j].rrs, &pos, &rr)) {
					int t = rdata_target(n->sets[j].type, &rr);
					size_t tl = t >= 0 ? name_wire_len(rr.rdata + t) : 0;

					if (tl && nameset_has(out, rr.rdata + t, tl))
						add = 1;
				}
				if (add) {
					if (nameset_add(out, n->name, n->len, NULL))
						return 1;
					grew = 1;
					break;
				}
			}
		}
	}
	return grew; /* still growing after 17 rounds: give up listing */
}

static int publish(struct mapsync *ms, const struct engine *e,
		   const struct engine_zone *ez, const struct zone *old,
		   const uint8_t *const *names, size_t n_names)
{
	struct zone_state *zs;
	struct publish_ctx pc;
	const struct zone *z = ez->zone;
	struct xdpns_zone zv;
	uint64_t t0 = mono_us(), t;
	size_t written = 0;
	int r = 0;
	/* the names for NXDOMAIN follow the IXFR's owners even when the
	 * entries compile the whole zone */
	const uint8_t *const *nx_names = names;
	size_t nx_n = n_names;

	if (ez->slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	zs = &ms->zones[ez->slot];
	/* the halves we are about to write must be unused: a reader of the
	 * generation before the last flip is done after the grace period */
	reclaim(ms, 1);
	t = mono_us();
	if (zs->flip_us + MAPSYNC_GRACE_MS * 1000 > t)
		usleep(zs->flip_us + MAPSYNC_GRACE_MS * 1000 - t);
	memset(&pc, 0, sizeof(pc));
	pc.ms = ms;
	pc.e = e;
	pc.ez = ez;
	pc.zs = zs;
	pc.gen = zs->gen + 1 ? zs->gen + 1 : 1;
	for (int i = 0; i < e->n_zones; i++) {
		const struct zone *o = e->zones[i].zone;

		if (o && e->zones[i].slot != ez->slot && o->apex_len < z->apex_len &&
		    name_is_subdomain(z->apex, z->apex_len, o->apex, o->apex_len))
			pc.nested = 1;
	}
	pc.ans = malloc(sizeof(*pc.ans));
	if (!pc.ans)
		return -ENOMEM;

	/* the names for NXDOMAIN of the new generation (nxsync.c), found
	 * and written beside the compile (a thread) */
	if (ms->nx)
		nxsync_stage_begin(ms->nx, e, ez, pc.gen, old, nx_names, nx_n);
	if (names) {
		struct nameset ns = { 0 };

		if (affected_names(z, old, names, n_names,
				   zs->ptrs_ok ? &zs->ptrs : NULL, &ns)) {
			keyset_free(&ns.ks);
			names = NULL; /* the whole zone */
		} else {
			uint8_t **list = malloc((ns.ks.n + 1) * sizeof(*list));
			size_t i;

			if (!list) {
				keyset_free(&ns.ks);
				free(pc.ans);
				if (ms->nx)
					nxsync_abort(ms->nx, ez->slot);
				return -ENOMEM;
			}
			for (i = 0; i < ns.ks.n; i++)
				list[i] = (uint8_t *)keyset_rec(&ns.ks, i) + 3;
			r = publish_nodes(&pc, z, old, (const uint8_t *const *)list,
					  ns.ks.n);
			free(list);
			keyset_free(&ns.ks);
			goto compiled;
		}
	}
	/* a zone's first publish: its keys are about its RRsets */
	r = keyset_reserve(&zs->keys, z->n_rrsets + 64);
	if (!r)
		r = publish_nodes(&pc, z, old, NULL, 0);
compiled:
	if (!r) {
		size_t to = pc.n_pend;
		unsigned wait_ms;

		/* the test hook "mapsync.publish" (fault.h): half written */
		if (fault_hit(FAULT_PUBLISH, &wait_ms))
			to /= 2;
		r = pend_write(&pc, 0, to, 0, &written);
		if (!r && to < pc.n_pend)
			r = -ENOSPC;
	}
	if (!r) {
		/* the names written, then the NXDOMAIN body (nxsync.c) */
		if (ms->nx)
			nxsync_stage_end(ms->nx, ez->slot);
		/* the flip */
		zv.gen = pc.gen;
		zv.flags = zs->flags;
		if (bpf_map_update_elem(ms->fds.zones, &ez->slot, &zv, BPF_ANY))
			r = -errno;
	}
	if (r) {
		/* nothing was flipped: the served halves are intact */
		if (ms->nx)
			nxsync_abort(ms->nx, ez->slot);
		log_err_kv("compiling into the XDP maps failed", "zone=%s reason=%s",
			   z->name, strerror(-r));
		publish_abort(&pc, written || r);
		keyset_free(&pc.ptrs);
		free(pc.pend);
		free(pc.seen);
		free(pc.taken);
		free(pc.ans);
		return r;
	}
	zs->flip_us = mono_us();
	zs->gen = pc.gen;
	publish_commit(&pc);
	if (ms->nx)
		nxsync_commit(ms->nx, ez->slot);
	if (!names) { /* a whole publish: its list of pointing names */
		keyset_free(&zs->ptrs);
		zs->ptrs = pc.ptrs;
		zs->ptrs_ok = 1;
	}
	ms->st.entries = 0;
	for (size_t i = 0; i < XDPNS_MAX_ZONES; i++)
		ms->st.entries += ms->zones[i].keys.live;
	ms->st.publishes++;
	ms->st.last_publish_us = mono_us() - t0;
	ms->st.last_compiled = pc.compiled;
	ms->st.last_written = pc.n_pend;
	free(pc.pend);
	free(pc.seen);
	free(pc.taken);
	free(pc.ans);
	return 0;
}

int mapsync_publish(struct mapsync *ms, const struct engine *e,
		    const struct engine_zone *ez)
{
	return publish(ms, e, ez, NULL, NULL, 0);
}

int mapsync_publish_names(struct mapsync *ms, const struct engine *e,
			  const struct engine_zone *ez, const struct zone *old,
			  const uint8_t *const *names, size_t n_names)
{
	return publish(ms, e, ez, old, names, n_names);
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
	struct eloc l;
	uint32_t ref, idx;
	int lru_fd;

	memset(out, 0, sizeof(*out));
	out->slot = -1;
	if (len == 0 || len > 255)
		return -EINVAL;
	mapsync_key(&key, name, len, qtype);
	if (entry_locate(ms, &key, &l, &ent)) {
		const struct xdpns_half *half;

		out->slot = l.slot;
		out->probe = l.slot >= 0 ? (uint32_t)(l.slot - l.home) : 0;
		out->overflow = l.in_hash && l.cls < XDPNS_TABLE_CLASSES;
		out->zone = ent.zone;
		if (bpf_map_lookup_elem(ms->fds.zones, &ent.zone, &zv) || !zv.gen)
			return 0;
		out->gen = zv.gen;
		half = xdpns_half_pick(&ent, zv.gen);
		if (!half) {
			out->stale = 1;
			return 0;
		}
		ref = half->ref[dnssec_ok ? XDPNS_VAR_DO : XDPNS_VAR_NODO];
		if (!ref) {
			out->stale = 1; /* dropped by the zone's generation */
			return 0;
		}
		out->cls = ref >> XDPNS_REF_CLASS_SHIFT;
		idx = ref & XDPNS_REF_INDEX_MASK;
		if (out->cls < XDPNS_BLOB_S || out->cls >= XDPNS_BLOB_CLASSES ||
		    idx >= ms->fds.n_blob[out->cls])
			return -EIO;
		if (out->cls == XDPNS_BLOB_XS) {
			const struct xdpns_blob_xs *x = (const void *)blob_mem(ms, ref);

			memset(&out->hdr, 0, sizeof(out->hdr));
			out->hdr.flags = x->h.flags;
			out->hdr.ancount = x->h.ancount;
			out->hdr.nscount = x->h.nscount;
			out->hdr.arcount = x->h.arcount;
			out->hdr.len = x->h.len;
			out->hdr.bflags = x->h.bflags;
			out->hdr.csum = x->h.csum;
		} else {
			memcpy(&out->hdr, blob_mem(ms, ref), sizeof(out->hdr));
		}
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
			out->nx_slot = np.slot;
			out->zone = np.zone;
			out->gen = np.gen;
			out->cls = XDPNS_BLOB_M;
			out->hdr = np.hdr;
		}
	}
	return 0;
}

int mapsync_entry(struct mapsync *ms, const uint8_t *name, size_t len,
		  uint16_t qtype, struct xdpns_entry *out)
{
	struct xdpns_key key;
	struct eloc l;

	if (len == 0 || len > 255)
		return -EINVAL;
	mapsync_key(&key, name, len, qtype);
	return entry_locate(ms, &key, &l, out) ? 0 : -ENOENT;
}

int mapsync_remove(struct mapsync *ms, uint32_t slot)
{
	struct zone_state *zs;
	struct xdpns_zone zv = { 0, 0 };
	struct u32vec old = { 0 };
	size_t i;
	int v;

	if (slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	zs = &ms->zones[slot];
	if (bpf_map_update_elem(ms->fds.zones, &slot, &zv, BPF_ANY))
		return -errno;
	if (ms->nx)
		nxsync_remove(ms->nx, slot);
	for (i = 0; i < zs->keys.n; i++) {
		struct kstate *st = &zs->keys.st[i];
		uint32_t cur[XDPNS_VAR_COUNT];
		struct xdpns_key key;

		if (!st->gen)
			continue;
		keyset_key(&zs->keys, i, &key);
		delete_owned(ms, &key, slot);
		kst_refs(&zs->keys, i, cur);
		for (v = 0; v < XDPNS_VAR_COUNT; v++)
			if (u32vec_push(&old, cur[v]))
				blob_put(ms, cur[v]);
	}
	ms->st.entries -= zs->keys.live;
	keyset_free(&zs->keys);
	keyset_free(&zs->ptrs);
	zs->ptrs_ok = 0;
	if (retire(ms, &old))
		for (i = 0; i < old.n; i++)
			blob_put(ms, old.v[i]);
	free(old.v);
	zs->flags = 0;
	zs->flip_us = mono_us();
	/* gen is kept so a later publish on this slot moves forward */
	return 0;
}

int mapsync_set_flags(struct mapsync *ms, uint32_t slot, uint32_t flags)
{
	struct xdpns_zone zv;

	if (slot >= XDPNS_MAX_ZONES)
		return -EINVAL;
	ms->zones[slot].flags = flags;
	if (!ms->zones[slot].keys.live)
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
	return slot < XDPNS_MAX_ZONES ? ms->zones[slot].keys.live : 0;
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
	st->entries_overflow = ms->n_overflow;
	if (ms->nx) {
		struct nxsync_stats ns;

		nxsync_get_stats(ms->nx, &ns);
		st->names = ns.names;
		st->nx_zones = ns.zones_synth;
		st->last_names_written = ns.last_written;
		st->last_names_find_us = ns.last_find_us;
		st->last_names_write_us = ns.last_write_us;
	}
}
