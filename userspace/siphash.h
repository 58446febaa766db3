/* SipHash-2-4 (Aumasson and Bernstein), 64-bit output, 16-byte key: the
 * MAC of DNS server cookies (RFC 9018). */
#ifndef XDPNS_SIPHASH_H
#define XDPNS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const uint8_t *in, size_t len);

#endif
