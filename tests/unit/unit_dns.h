/* Unit-test helpers for DNS messages: names to wire, and checks on
 * records parsed by ldns. Include after cmocka.h and ldns. */
#ifndef XDPNS_UNIT_DNS_H
#define XDPNS_UNIT_DNS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Presentation name (no escapes, case kept, "." alone is the root) to
 * wire; returns its length. */
static inline size_t unit_to_wire(const char *name, uint8_t *w)
{
	size_t o = 0;
	const char *p = name;

	while (*p && strcmp(p, ".")) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		assert_true(l > 0 && l < 64);
		assert_true(o + l + 2 <= 255);
		w[o++] = l;
		memcpy(w + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	w[o++] = 0;
	return o;
}

static inline const ldns_rr *unit_nth(const ldns_rr_list *l, size_t i)
{
	assert_true(i < ldns_rr_list_rr_count(l));
	return ldns_rr_list_rr(l, i);
}

static inline void unit_assert_owner(const ldns_rr *rr, const char *name)
{
	char *s = ldns_rdf2str(ldns_rr_owner(rr));

	assert_non_null(s);
	assert_string_equal(s, name);
	free(s);
}

static inline void unit_assert_rdata0(const ldns_rr *rr, const char *text)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));

	assert_non_null(s);
	assert_string_equal(s, text);
	free(s);
}

#endif
