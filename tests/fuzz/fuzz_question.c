/* libFuzzer: the question parser shared with the XDP program. Checks the
 * key against a plain reimplementation: lowercase name, lengths, checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bpf_shim.h"
#include "lib/dns.h"

static uint32_t ref_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[XDPNS_QBUF_LEN];
	struct xdpns_key key;
	struct dns_question q;
	size_t len = size < sizeof(buf) ? size : sizeof(buf), i;
	int r;

	memset(buf, 0xa5, sizeof(buf)); /* bytes past len must not matter */
	memcpy(buf, data, len);
	memset(&key, 0, sizeof(key));
	r = dns_parse_question(buf, len, &key, &q);
	if (r != DNS_PARSE_OK)
		return 0;
	if (key.name_len < 1 || key.name_len > 255 || q.qlen != key.name_len + 4 ||
	    q.qlen > len || key.variant != 0)
		abort();
	for (i = 0; i < key.name_len; i++) {
		uint8_t c = buf[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (key.name[i] != c)
			abort();
	}
	for (i = key.name_len; i < 64; i++)
		if (key.name[i])
			abort(); /* the lookup prefix is zero padded */
	if (buf[key.name_len - 1] != 0)
		abort();
	/* one's complement: 0x0000 and 0xffff are the same number */
	if (ref_sum(buf, q.qlen) % 0xffff != csum_at_offset(q.csum, 0) % 0xffff)
		abort();
	if (q.qtype != (buf[key.name_len] << 8 | buf[key.name_len + 1]))
		abort();
	return 0;
}
