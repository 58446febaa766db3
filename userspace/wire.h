/* DNS wire writer: a message buffer with name compression and checked
 * appends. Used by the engine to build response bodies. */
#ifndef XDPNS_WIRE_H
#define XDPNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAX_MSG 65535
#define WIRE_MAX_PTRS 512

struct wire_ptr {
	uint16_t off; /* where the suffix starts in the message */
	uint16_t len; /* wire length of that suffix */
	const uint8_t *name; /* canonical (lowercase) suffix, not owned */
};

struct wire {
	uint8_t *buf;
	size_t cap; /* <= WIRE_MAX_MSG */
	size_t len;
	int overflow; /* an append did not fit: the message is unusable */
	struct wire_ptr ptrs[WIRE_MAX_PTRS];
	int n_ptrs;
	uint8_t names[WIRE_MAX_PTRS][256]; /* canonical copies of names written */
	int n_names;
};

void wire_init(struct wire *w, uint8_t *buf, size_t cap);
void wire_put_u8(struct wire *w, uint8_t v);
void wire_put_u16(struct wire *w, uint16_t v);
void wire_put_u32(struct wire *w, uint32_t v);
void wire_put_bytes(struct wire *w, const void *p, size_t n);
/* Write a wire-format name (any case); compress=1 uses and records
 * pointers, compress=0 writes it in full (still recorded as a target). */
void wire_put_name(struct wire *w, const uint8_t *name, int compress);
/* Register a name already present at off (the question) as a target. */
void wire_add_target(struct wire *w, const uint8_t *name, uint16_t off);

/* Wire helpers on names. */
size_t name_wire_len(const uint8_t *name); /* 0 if malformed */
void name_lower(uint8_t *dst, const uint8_t *src, size_t len);
int name_is_subdomain(const uint8_t *name, size_t len, const uint8_t *parent,
		      size_t plen); /* name == parent or below it */
/* Presentation form with trailing dot into buf (for logs and CLI). */
void name_to_str(const uint8_t *name, char *buf, size_t size);
/* Sum of p's 16-bit big-endian words (an odd byte padded), unfolded: the
 * part of a one's-complement checksum XDP adds to (csum of a blob). */
uint32_t wire_sum16(const uint8_t *p, size_t n);

#endif
