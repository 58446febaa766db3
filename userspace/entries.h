/* Entries table: the open-addressing array XDP looks (name, type) up in
 * (bpf/lib/maps.h), as the daemon reads and writes it in place through its
 * mapping: find, fill a free slot, write a half, kill, free. One writer;
 * every write is ordered so that a reader on another CPU sees the old
 * value, the new one, or no entry (docs/design.md "The entries table"). */
#ifndef XDPNS_ENTRIES_H
#define XDPNS_ENTRIES_H

#include <stdint.h>
#include "xdpns_maps.h"

struct etable {
	uint8_t *mem; /* slots */
	uint32_t n_slots; /* n_home + XDPNS_TABLE_PROBES - 1 */
	uint32_t n_home;
	uint32_t cap; /* name bytes: 32 or 64 */
	uint32_t ssize; /* slot size: 64 or 96 */
};

/* A table of class cls (0: names up to 32 bytes, 1: up to 64) over mem.
 * Returns 0, or -EINVAL when the sizes do not fit together. */
int etable_init(struct etable *t, int cls, void *mem, uint32_t n_slots,
		uint32_t n_home);
/* The same for a names table (struct xdpns_nslot_32/64: the NXDOMAIN
 * walk's names, keys of qtype 0). Everything below but the value
 * functions (fill, read, set_half) works on both; names have theirs. */
int etable_init_names(struct etable *t, int cls, void *mem, uint32_t n_slots,
		      uint32_t n_home);
/* A name's value (zone, halves) in a names table slot; write it into a
 * free or never-used slot (the key's first 4 bytes last); write half h
 * (its flags, then its generation). */
void etable_name_read(const struct etable *t, uint32_t slot,
		      struct xdpns_name *v);
void etable_name_fill(struct etable *t, uint32_t slot, const struct xdpns_key *k,
		      const struct xdpns_name *v);
void etable_name_set_half(struct etable *t, uint32_t slot, int h,
			  const struct xdpns_name *v);
/* The home slot of key k (zero padded, variant 0), as XDP computes it. */
uint32_t etable_home(const struct etable *t, const struct xdpns_key *k);
/* The live slot holding k, or -1; *home gets its home slot. */
long etable_find(const struct etable *t, const struct xdpns_key *k,
		 uint32_t *home);
/* A slot k may be written to (free, or never used) in home's probe, or -1
 * (the key goes to the overflow hash). */
long etable_free_slot(const struct etable *t, uint32_t home);
/* The value part of a slot: zone and halves. */
void etable_read(const struct etable *t, uint32_t slot, struct xdpns_entry *v);
/* Write key k with value v into a free or never-used slot: everything
 * else first, the key's first 4 bytes (state live) last. */
void etable_fill(struct etable *t, uint32_t slot, const struct xdpns_key *k,
		 const struct xdpns_entry *v);
/* Write half h of a live slot: refs, then the generation. */
void etable_set_half(struct etable *t, uint32_t slot, int h,
		     const struct xdpns_half *v);
/* Delete (state dead: no reader matches it from now on) and, once no
 * reader can hold it any more, free (state free: etable_fill may reuse). */
void etable_kill(struct etable *t, uint32_t slot);
void etable_release(struct etable *t, uint32_t slot);
/* Slots killed and not yet free: each is released once its grace period
 * (no reader can still hold it) is over. */
struct etable_dead {
	uint64_t deadline_us;
	uint32_t slot;
	uint32_t cls;
};
struct etable_graves {
	struct etable_dead *v;
	size_t n, cap;
};
/* Kill slot of tabs[cls] and note it for release grace_ms from now (out
 * of memory: it stays dead, never reused). */
void etable_bury(struct etable *tabs, struct etable_graves *g, int cls,
		 uint32_t slot, uint32_t grace_ms);
/* Free the buried slots whose grace period is over; wait=1: every one,
 * sleeping until it is. */
void etable_reclaim(struct etable *tabs, struct etable_graves *g, int wait);
void etable_graves_free(struct etable_graves *g);
/* The key a slot holds (its first 4 + cap bytes: struct xdpns_key's
 * prefix; meaningful when its state is live). */
const uint8_t *etable_slot_key(const struct etable *t, uint32_t slot);
/* The state byte of a slot (enum xdpns_slot_state); -1: never used. */
int etable_state(const struct etable *t, uint32_t slot);
/* The overflow count of home slot home: +1 or -1 (saturating at 255,
 * which stays). */
void etable_ovf_add(struct etable *t, uint32_t home, int d);
uint8_t etable_ovf(const struct etable *t, uint32_t home);

#endif
