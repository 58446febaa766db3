#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "entries.h"

_Static_assert(offsetof(struct xdpns_slot_32, zone) == XDPNS_SLOT_ZONE_OFF(32), "zone off");
_Static_assert(offsetof(struct xdpns_slot_32, ovf) == XDPNS_SLOT_OVF_OFF(32), "ovf off");
_Static_assert(offsetof(struct xdpns_slot_32, half) == XDPNS_SLOT_HALF_OFF(32), "half off");
_Static_assert(offsetof(struct xdpns_slot_64, zone) == XDPNS_SLOT_ZONE_OFF(64), "zone off");
_Static_assert(offsetof(struct xdpns_slot_64, ovf) == XDPNS_SLOT_OVF_OFF(64), "ovf off");
_Static_assert(offsetof(struct xdpns_slot_64, half) == XDPNS_SLOT_HALF_OFF(64), "half off");
_Static_assert(offsetof(struct xdpns_key, name) == 4, "a slot begins with the key");

/* Release stores: the compiler keeps every write before them before them,
 * and x86 (TSO) makes stores visible in program order. */
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static uint8_t *slot_at(const struct etable *t, uint32_t slot)
{
	return t->mem + (size_t)slot * t->ssize;
}

#define NSLOT_OFFS(N)                                                          \
	_Static_assert(offsetof(struct xdpns_nslot_##N, v.zone) == XDPNS_SLOT_ZONE_OFF(N) && \
			       offsetof(struct xdpns_nslot_##N, v.ovf) == XDPNS_SLOT_OVF_OFF(N) && \
			       offsetof(struct xdpns_nslot_##N, v.flags) == XDPNS_NSLOT_FLAGS_OFF(N) && \
			       offsetof(struct xdpns_nslot_##N, v.gen) == XDPNS_NSLOT_GEN_OFF(N), \
		       "names slot offsets")
NSLOT_OFFS(32);
NSLOT_OFFS(64);

static int table_init(struct etable *t, int cls, void *mem, uint32_t n_slots,
		      uint32_t n_home, const uint32_t ssize[XDPNS_TABLE_CLASSES])
{
	memset(t, 0, sizeof(*t));
	if (cls < 0 || cls >= XDPNS_TABLE_CLASSES || !mem || !n_home ||
	    (uint64_t)n_home + XDPNS_TABLE_PROBES - 1 > n_slots)
		return -EINVAL;
	t->mem = mem;
	t->n_slots = n_slots;
	t->n_home = n_home;
	t->cap = cls ? XDPNS_KEYCLASS_1 : XDPNS_KEYCLASS_0;
	t->ssize = ssize[cls];
	return 0;
}

int etable_init(struct etable *t, int cls, void *mem, uint32_t n_slots,
		uint32_t n_home)
{
	static const uint32_t ssize[XDPNS_TABLE_CLASSES] = {
		sizeof(struct xdpns_slot_32), sizeof(struct xdpns_slot_64),
	};

	return table_init(t, cls, mem, n_slots, n_home, ssize);
}

int etable_init_names(struct etable *t, int cls, void *mem, uint32_t n_slots,
		      uint32_t n_home)
{
	static const uint32_t ssize[XDPNS_TABLE_CLASSES] = {
		sizeof(struct xdpns_nslot_32), sizeof(struct xdpns_nslot_64),
	};

	return table_init(t, cls, mem, n_slots, n_home, ssize);
}

uint32_t etable_home(const struct etable *t, const struct xdpns_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0, w;
	uint32_t i, tail;

	for (i = 0; i < t->cap / 8; i++) {
		memcpy(&w, b + i * 8, 8);
		h = xdpns_hash_add(h, w);
	}
	memcpy(&tail, b + t->cap, 4);
	h = xdpns_hash_add(h, tail);
	return xdpns_hash_home(h, t->n_home);
}

long etable_find(const struct etable *t, const struct xdpns_key *k,
		 uint32_t *home)
{
	uint32_t h = etable_home(t, k), j;

	*home = h;
	if (k->variant != XDPNS_SLOT_LIVE || k->name_len == 0 || k->name_len > t->cap)
		return -1;
	for (j = 0; j < XDPNS_TABLE_PROBES; j++) {
		const uint8_t *s = slot_at(t, h + j);
		uint32_t hdr;

		memcpy(&hdr, s, 4);
		if (!hdr)
			break; /* never used: the probe ends, as in XDP */
		if (!memcmp(s, k, 4 + t->cap))
			return h + j;
	}
	return -1;
}

long etable_free_slot(const struct etable *t, uint32_t home)
{
	uint32_t j;

	for (j = 0; j < XDPNS_TABLE_PROBES; j++) {
		int st = etable_state(t, home + j);

		if (st < 0 || st == XDPNS_SLOT_FREE)
			return home + j;
	}
	return -1;
}

const uint8_t *etable_slot_key(const struct etable *t, uint32_t slot)
{
	return slot_at(t, slot);
}

int etable_state(const struct etable *t, uint32_t slot)
{
	const uint8_t *s = slot_at(t, slot);
	uint32_t hdr;

	memcpy(&hdr, s, 4);
	return hdr ? s[3] : -1;
}

void etable_read(const struct etable *t, uint32_t slot, struct xdpns_entry *v)
{
	const uint8_t *s = slot_at(t, slot);
	struct xdpns_slot_half h;
	uint16_t zone;
	int i;

	memset(v, 0, sizeof(*v));
	memcpy(&zone, s + XDPNS_SLOT_ZONE_OFF(t->cap), 2);
	v->zone = zone;
	for (i = 0; i < 2; i++) {
		memcpy(&h, s + XDPNS_SLOT_HALF_OFF(t->cap) + i * sizeof(h), sizeof(h));
		v->half[i].gen = h.gen;
		memcpy(v->half[i].ref, h.ref, sizeof(h.ref));
	}
}

/* The key's first 4 bytes, state live, in one store: a fill's last. */
static void put_hdr(uint8_t *s, const struct xdpns_key *k)
{
	uint32_t hdr;

	memcpy(&hdr, k, 4);
	((uint8_t *)&hdr)[3] = XDPNS_SLOT_LIVE;
	STORE_REL((uint32_t *)s, hdr);
}

static void put_half(uint8_t *p, const struct xdpns_half *v)
{
	struct xdpns_slot_half *h = (struct xdpns_slot_half *)p;
	int r;

	for (r = 0; r < XDPNS_VAR_COUNT; r++)
		STORE_REL(&h->ref[r], v->ref[r]);
	STORE_REL(&h->gen, v->gen); /* last: a reader picks by it */
}

void etable_fill(struct etable *t, uint32_t slot, const struct xdpns_key *k,
		 const struct xdpns_entry *v)
{
	uint8_t *s = slot_at(t, slot);
	uint16_t zone = v->zone;
	int i;

	/* the slot is free (its state makes every reader skip it) or was
	 * never used (its zero first word ends every probe before it) */
	memcpy(s + 4, k->name, t->cap);
	memcpy(s + XDPNS_SLOT_ZONE_OFF(t->cap), &zone, 2); /* ovf kept */
	for (i = 0; i < 2; i++)
		put_half(s + XDPNS_SLOT_HALF_OFF(t->cap) + i * sizeof(struct xdpns_slot_half),
			 &v->half[i]);
	put_hdr(s, k); /* last: qtype, length and state live, in one store */
}

void etable_name_read(const struct etable *t, uint32_t slot,
		      struct xdpns_name *v)
{
	const uint8_t *s = slot_at(t, slot);
	uint16_t zone;
	uint8_t f = s[XDPNS_NSLOT_FLAGS_OFF(t->cap)];

	memset(v, 0, sizeof(*v));
	memcpy(&zone, s + XDPNS_SLOT_ZONE_OFF(t->cap), 2);
	v->zone = zone;
	memcpy(v->gen, s + XDPNS_NSLOT_GEN_OFF(t->cap), sizeof(v->gen));
	v->flags[0] = f & 0xf;
	v->flags[1] = f >> 4;
}

void etable_name_set_half(struct etable *t, uint32_t slot, int h,
			  const struct xdpns_name *v)
{
	uint8_t *s = slot_at(t, slot), *f = s + XDPNS_NSLOT_FLAGS_OFF(t->cap);
	uint32_t *g = (uint32_t *)(s + XDPNS_NSLOT_GEN_OFF(t->cap));

	h &= 1;
	/* the flags byte holds both halves: the other half's nibble is
	 * stored again unchanged */
	STORE_REL(f, (uint8_t)(h ? (*f & 0x0f) | (v->flags[1] & 0xf) << 4 :
				   (*f & 0xf0) | (v->flags[0] & 0xf)));
	STORE_REL(&g[h], v->gen[h]); /* last: a reader picks by it */
}

void etable_name_fill(struct etable *t, uint32_t slot, const struct xdpns_key *k,
		      const struct xdpns_name *v)
{
	uint8_t *s = slot_at(t, slot);
	uint16_t zone = v->zone;

	memcpy(s + 4, k->name, t->cap);
	memcpy(s + XDPNS_SLOT_ZONE_OFF(t->cap), &zone, 2); /* ovf kept */
	etable_name_set_half(t, slot, 0, v);
	etable_name_set_half(t, slot, 1, v);
	put_hdr(s, k);
}

void etable_set_half(struct etable *t, uint32_t slot, int h,
		     const struct xdpns_half *v)
{
	put_half(slot_at(t, slot) + XDPNS_SLOT_HALF_OFF(t->cap) +
			 (h & 1) * sizeof(struct xdpns_slot_half),
		 v);
}

void etable_kill(struct etable *t, uint32_t slot)
{
	STORE_REL(slot_at(t, slot) + 3, (uint8_t)XDPNS_SLOT_DEAD);
}

void etable_release(struct etable *t, uint32_t slot)
{
	uint8_t *s = slot_at(t, slot);

	if (s[3] == XDPNS_SLOT_DEAD)
		STORE_REL(s + 3, (uint8_t)XDPNS_SLOT_FREE);
}

void etable_ovf_add(struct etable *t, uint32_t home, int d)
{
	uint8_t *o = slot_at(t, home) + XDPNS_SLOT_OVF_OFF(t->cap);

	if (*o == 255)
		return; /* saturated: stays set */
	if (d > 0)
		STORE_REL(o, (uint8_t)(*o + 1));
	else if (*o)
		STORE_REL(o, (uint8_t)(*o - 1));
}

uint8_t etable_ovf(const struct etable *t, uint32_t home)
{
	return slot_at(t, home)[XDPNS_SLOT_OVF_OFF(t->cap)];
}

void etable_bury(struct etable *tabs, struct etable_graves *g, int cls,
		 uint32_t slot, uint32_t grace_ms)
{
	etable_kill(&tabs[cls], slot);
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct etable_dead *d = realloc(g->v, cap * sizeof(*d));

		if (!d)
			return; /* no memory: the slot stays dead, never reused */
		g->v = d;
		g->cap = cap;
	}
	g->v[g->n].deadline_us = mono_us() + grace_ms * 1000ull;
	g->v[g->n].slot = slot;
	g->v[g->n].cls = cls;
	g->n++;
}

void etable_reclaim(struct etable *tabs, struct etable_graves *g, int wait)
{
	size_t i, keep = 0;

	for (i = 0; i < g->n; i++) {
		struct etable_dead *d = &g->v[i];
		uint64_t now = mono_us();

		if (d->deadline_us > now) {
			if (!wait) {
				g->v[keep++] = *d;
				continue;
			}
			usleep(d->deadline_us - now);
		}
		etable_release(&tabs[d->cls], d->slot);
	}
	g->n = keep;
}

void etable_graves_free(struct etable_graves *g)
{
	free(g->v);
	memset(g, 0, sizeof(*g));
}
