#include <stdio.h>
#include <string.h>
#include "wire.h"

void wire_init(struct wire *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap > WIRE_MAX_MSG ? WIRE_MAX_MSG : cap;
	w->len = 0;
	w->overflow = 0;
	w->n_ptrs = 0;
	w->n_names = 0;
}

void wire_put_bytes(struct wire *w, const void *p, size_t n)
{
	if (w->overflow || w->len + n > w->cap) {
		w->overflow = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void wire_put_u8(struct wire *w, uint8_t v)
{
	wire_put_bytes(w, &v, 1);
}

void wire_put_u16(struct wire *w, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	wire_put_bytes(w, b, 2);
}

void wire_put_u32(struct wire *w, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	wire_put_bytes(w, b, 4);
}

size_t name_wire_len(const uint8_t *name)
{
	size_t i = 0;

	while (i < 255) {
		if (name[i] == 0)
			return i + 1;
		if (name[i] > 63)
			return 0;
		i += name[i] + 1;
	}
	return 0;
}

void name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i;

	/* label length bytes are <= 63, below 'A': lowercasing them is a no-op */
	for (i = 0; i < len; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i];
}

int name_is_subdomain(const uint8_t *name, size_t len, const uint8_t *parent,
		      size_t plen)
{
	size_t i = 0;

	while (i < len) {
		if (len - i == plen && memcmp(name + i, parent, plen) == 0)
			return 1;
		if (name[i] == 0)
			break;
		i += name[i] + 1;
	}
	return 0;
}

void name_to_str(const uint8_t *name, char *buf, size_t size)
{
	size_t o = 0, i = 0;

	if (size == 0)
		return;
	if (name[0] == 0) {
		snprintf(buf, size, ".");
		return;
	}
	while (name[i] && i < 255) {
		uint8_t l = name[i++];

		for (; l; l--, i++) {
			uint8_t c = name[i];

			if (o + 5 >= size)
				goto out;
			if (c == '.' || c == '\\')
				o += snprintf(buf + o, size - o, "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				o += snprintf(buf + o, size - o, "\\%03u", c);
			else
				buf[o++] = c;
		}
		if (o + 2 >= size)
			goto out;
		buf[o++] = '.';
	}
out:
	buf[o] = 0;
}

/* Record every suffix of a canonical name written at off. */
static void wire_record(struct wire *w, const uint8_t *canon, size_t len,
			uint16_t off)
{
	size_t i = 0;

	while (i < len && canon[i] != 0) {
		if (w->n_ptrs >= WIRE_MAX_PTRS || off + i > 0x3fff)
			return;
		w->ptrs[w->n_ptrs].off = off + i;
		w->ptrs[w->n_ptrs].len = len - i;
		w->ptrs[w->n_ptrs].name = canon + i;
		w->n_ptrs++;
		i += canon[i] + 1;
	}
}

static const uint8_t *wire_keep(struct wire *w, const uint8_t *name, size_t len)
{
	uint8_t *c;

	if (w->n_names >= WIRE_MAX_PTRS)
		return NULL;
	c = w->names[w->n_names++];
	name_lower(c, name, len);
	return c;
}

void wire_add_target(struct wire *w, const uint8_t *name, uint16_t off)
{
	size_t len = name_wire_len(name);
	const uint8_t *c;

	if (!len)
		return;
	c = wire_keep(w, name, len);
	if (c)
		wire_record(w, c, len, off);
}

void wire_put_name(struct wire *w, const uint8_t *name, int compress)
{
	size_t len = name_wire_len(name);
	uint8_t canon[256];
	size_t i = 0;
	uint16_t start = w->len;
	const uint8_t *kept;
	int p;

	if (!len) {
		w->overflow = 1;
		return;
	}
	name_lower(canon, name, len);
	while (compress && canon[i] != 0) {
		for (p = 0; p < w->n_ptrs; p++) {
			if (w->ptrs[p].len == len - i &&
			    memcmp(w->ptrs[p].name, canon + i, len - i) == 0) {
				wire_put_bytes(w, name, i);
				wire_put_u16(w, 0xc000 | w->ptrs[p].off);
				goto record;
			}
		}
		i += canon[i] + 1;
	}
	wire_put_bytes(w, name, len);
	i = len - 1;
record:
	if (i == 0 || w->overflow)
		return;
	/* the labels written in full (canon[0..i)) become new targets */
	kept = wire_keep(w, name, len);
	if (kept) {
		size_t j = 0;

		while (j < i && kept[j] != 0) {
			if (w->n_ptrs >= WIRE_MAX_PTRS || start + j > 0x3fff)
				break;
			w->ptrs[w->n_ptrs].off = start + j;
			w->ptrs[w->n_ptrs].len = len - j;
			w->ptrs[w->n_ptrs].name = kept + j;
			w->n_ptrs++;
			j += kept[j] + 1;
		}
	}
}

uint32_t wire_sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}
