// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/wire.c: the name helpers (length, case, ancestry, presentation)
 * and the message writer's name compression, checked byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Wire names as C string literals: the literal's own NUL is the root
 * label, so sizeof() is the wire length. */
#define N_EXAMPLE "\x07" "example" "\x03" "com"
#define N_WWW "\x03" "www" N_EXAMPLE
#define N_WWW_UP "\x03" "WwW" "\x07" "ExAmPlE" "\x03" "COM"
#define N_MAIL "\x04" "mail" N_EXAMPLE
#define N_XEXAMPLE "\x08" "xexample" "\x03" "com"
#define N_ORG "\x07" "example" "\x03" "org"
#define WLEN(lit) sizeof(lit)
#define W(lit) ((const uint8_t *)(lit))

/* ---- name_wire_len ---- */

static void test_wire_len_valid(void **state)
{
	uint8_t root[1] = { 0 };

	(void)state;
	assert_int_equal(name_wire_len(root), 1);
	assert_int_equal(name_wire_len(W(N_EXAMPLE)), 13);
	assert_int_equal(name_wire_len(W(N_WWW)), 17);
	assert_int_equal(name_wire_len(W(N_WWW)), WLEN(N_WWW));
}

static void test_wire_len_63_and_255(void **state)
{
	uint8_t name[300];
	size_t i;

	(void)state;
	/* one 63-byte label is the longest allowed */
	memset(name, 'a', sizeof(name));
	name[0] = 63;
	name[64] = 0;
	assert_int_equal(name_wire_len(name), 65);

	/* 3 x (1 + 63) + (1 + 61) + root = 255, the longest name */
	for (i = 0; i < 3; i++) {
		name[i * 64] = 63;
		memset(name + i * 64 + 1, 'a', 63);
	}
	name[192] = 61;
	memset(name + 193, 'b', 61);
	name[254] = 0;
	assert_int_equal(name_wire_len(name), 255);

	/* one more byte in the last label: 256 bytes, too long */
	name[192] = 62;
	name[254] = 'b';
	name[255] = 0;
	assert_int_equal(name_wire_len(name), 0);
}

static void test_wire_len_malformed(void **state)
{
	uint8_t name[300];

	(void)state;
	memset(name, 0, sizeof(name));
	name[0] = 64; /* label > 63 */
	assert_int_equal(name_wire_len(name), 0);
	name[0] = 0xc0; /* a compression pointer is not a name here */
	name[1] = 0x0c;
	assert_int_equal(name_wire_len(name), 0);
	name[0] = 0x41; /* extended label type */
	assert_int_equal(name_wire_len(name), 0);
	/* label > 63 after a good one */
	memcpy(name, "\x03www\x40", 5);
	assert_int_equal(name_wire_len(name), 0);

	/* no root label within 255 bytes: labels of 1 byte + 'a' forever */
	memset(name, 1, sizeof(name));
	assert_int_equal(name_wire_len(name), 0);
}

/* ---- name_lower ---- */

static void test_lower(void **state)
{
	const uint8_t src[] = N_WWW_UP;
	uint8_t dst[sizeof(src)];
	const uint8_t odd[] = "\x05" "A@[Z\xc1" "\x02" "`{";
	uint8_t odd_dst[sizeof(odd)];

	(void)state;
	memset(dst, 0xee, sizeof(dst));
	name_lower(dst, src, sizeof(src));
	assert_memory_equal(dst, N_WWW, WLEN(N_WWW));

	/* only A-Z change: '@' '[' '`' '{' and bytes >= 0x80 are kept */
	name_lower(odd_dst, odd, sizeof(odd));
	assert_memory_equal(odd_dst, "\x05" "a@[z\xc1" "\x02" "`{", sizeof(odd));

	/* in place */
	memcpy(dst, src, sizeof(src));
	name_lower(dst, dst, sizeof(dst));
	assert_memory_equal(dst, N_WWW, WLEN(N_WWW));
}

/* ---- name_is_subdomain ---- */

static int sub(const char *name, size_t len, const char *parent, size_t plen)
{
	return name_is_subdomain(W(name), len, W(parent), plen);
}
#define SUB(a, b) sub(a, WLEN(a), b, WLEN(b))

static void test_subdomain(void **state)
{
	(void)state;
	assert_int_equal(SUB(N_EXAMPLE, N_EXAMPLE), 1); /* equal */
	assert_int_equal(SUB(N_WWW, N_EXAMPLE), 1); /* child */
	assert_int_equal(SUB("\x01" "a" "\x01" "b" N_WWW, N_EXAMPLE), 1);
	assert_int_equal(SUB(N_EXAMPLE, N_WWW), 0); /* parent is not below */
	assert_int_equal(SUB(N_MAIL, N_WWW), 0); /* sibling */
	assert_int_equal(SUB(N_ORG, N_EXAMPLE), 0);
	/* suffix match that is not on a label boundary */
	assert_int_equal(SUB(N_XEXAMPLE, N_EXAMPLE), 0);
	assert_int_equal(SUB("\x03" "www" N_XEXAMPLE, N_EXAMPLE), 0);
	/* "com" is a suffix of "example.com" by bytes only at a boundary */
	assert_int_equal(SUB(N_EXAMPLE, "\x03" "com"), 1);
	assert_int_equal(SUB("\x04" "xcom", "\x03" "com"), 0);
	/* the root is the parent of everything, itself included */
	assert_int_equal(SUB(N_WWW, ""), 1);
	assert_int_equal(SUB("", ""), 1);
	assert_int_equal(SUB("", N_EXAMPLE), 0);
}

/* ---- name_to_str ---- */

static void test_to_str(void **state)
{
	char buf[1100];
	uint8_t big[256];
	size_t i;

	(void)state;
	name_to_str(W(""), buf, sizeof(buf));
	assert_string_equal(buf, ".");
	name_to_str(W(N_WWW), buf, sizeof(buf));
	assert_string_equal(buf, "www.example.com.");
	/* case is kept */
	name_to_str(W(N_WWW_UP), buf, sizeof(buf));
	assert_string_equal(buf, "WwW.ExAmPlE.COM.");
	/* a dot and a backslash inside a label */
	name_to_str(W("\x03" "a.b" "\x03" "c\\d"), buf, sizeof(buf));
	assert_string_equal(buf, "a\\.b.c\\\\d.");
	/* non-printables and space as \DDD (decimal) */
	name_to_str(W("\x04" "\x00\x1f \x7f" "\x02" "\xff" "z"), buf,
		    sizeof(buf));
	assert_string_equal(buf, "\\000\\031\\032\\127.\\255z.");

	/* small buffer: truncated, always terminated */
	memset(buf, 'x', sizeof(buf));
	name_to_str(W(N_WWW), buf, 6);
	assert_true(strlen(buf) < 6);
	assert_memory_equal(buf, "www.example.com.", strlen(buf));

	/* the longest name of escapes still fits a big buffer */
	for (i = 0; i < 3; i++) {
		big[i * 64] = 63;
		memset(big + i * 64 + 1, 0x01, 63);
	}
	big[192] = 61;
	memset(big + 193, 0x01, 61);
	big[254] = 0;
	name_to_str(big, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 250 * 4 + 4);
	assert_memory_equal(buf, "\\001\\001", 8);
	assert_string_equal(buf + strlen(buf) - 5, "\\001.");
}

/* ---- wire_put_name ---- */

struct wfix {
	struct wire w;
	uint8_t buf[512];
};

/* A message holding a zero header and a question for qname at offset 12. */
static struct wfix *msg_with_question(const uint8_t *qname, size_t qlen,
				      size_t cap)
{
	struct wfix *f = calloc(1, sizeof(*f));
	static const uint8_t zero[12];

	assert_non_null(f);
	wire_init(&f->w, f->buf, cap);
	wire_put_bytes(&f->w, zero, sizeof(zero));
	wire_put_bytes(&f->w, qname, qlen);
	wire_put_u16(&f->w, 1);
	wire_put_u16(&f->w, 1);
	wire_add_target(&f->w, qname, 12);
	assert_int_equal(f->w.overflow, 0);
	return f;
}

static void test_put_name_equal_target(void **state)
{
	struct wfix *f = msg_with_question(W(N_WWW), WLEN(N_WWW), 512);
	size_t at = f->w.len;

	(void)state;
	assert_int_equal(at, 12 + 17 + 4);
	wire_put_name(&f->w, W(N_WWW), 1);
	assert_int_equal(f->w.len, at + 2);
	assert_memory_equal(f->buf + at, "\xc0\x0c", 2);

	/* any case matches: the comparison is on canonical names */
	wire_put_name(&f->w, W(N_WWW_UP), 1);
	assert_int_equal(f->w.len, at + 4);
	assert_memory_equal(f->buf + at + 2, "\xc0\x0c", 2);

	/* a suffix of the question: example.com. at 12 + 4 */
	wire_put_name(&f->w, W(N_EXAMPLE), 1);
	assert_memory_equal(f->buf + at + 4, "\xc0\x10", 2);
	/* com. at 12 + 4 + 8 */
	wire_put_name(&f->w, W("\x03" "COM"), 1);
	assert_memory_equal(f->buf + at + 6, "\xc0\x18", 2);
	assert_int_equal(f->w.len, at + 8);
	assert_int_equal(f->w.overflow, 0);
	free(f);
}

static void test_put_name_shared_suffix(void **state)
{
	struct wfix *f = msg_with_question(W(N_WWW), WLEN(N_WWW), 512);
	size_t at = f->w.len, at2;

	(void)state;
	/* Mail.example.com: its own label in the case given, then a pointer
	 * to example.com. inside the question */
	wire_put_name(&f->w, W("\x04" "Mail" N_EXAMPLE), 1);
	assert_int_equal(f->w.len, at + 7);
	assert_memory_equal(f->buf + at, "\x04" "Mail" "\xc0\x10", 7);

	/* the label written becomes a target itself */
	at2 = f->w.len;
	wire_put_name(&f->w, W(N_MAIL), 1);
	assert_int_equal(f->w.len, at2 + 2);
	assert_int_equal(f->buf[at2], 0xc0 | (at >> 8));
	assert_int_equal(f->buf[at2 + 1], at & 0xff);

	/* a.mail.example.com: one label, then a pointer to the last one */
	at2 = f->w.len;
	wire_put_name(&f->w, W("\x01" "a" N_MAIL), 1);
	assert_int_equal(f->w.len, at2 + 4);
	assert_memory_equal(f->buf + at2, "\x01" "a", 2);
	assert_int_equal(f->buf[at2 + 2], 0xc0 | (at >> 8));
	assert_int_equal(f->buf[at2 + 3], at & 0xff);

	/* nothing in common: written in full */
	at2 = f->w.len;
	wire_put_name(&f->w, W(N_ORG), 1);
	assert_int_equal(f->w.len, at2 + WLEN(N_ORG));
	assert_memory_equal(f->buf + at2, N_ORG, WLEN(N_ORG));

	/* the root is never compressed (a pointer would be longer) */
	at2 = f->w.len;
	wire_put_name(&f->w, W(""), 1);
	assert_int_equal(f->w.len, at2 + 1);
	assert_int_equal(f->buf[at2], 0);
	assert_int_equal(f->w.overflow, 0);
	free(f);
}

static void test_put_name_no_compress(void **state)
{
	struct wfix *f = msg_with_question(W(N_WWW), WLEN(N_WWW), 512);
	size_t at = f->w.len, at2;

	(void)state;
	/* compress=0: the name in full, as given, even if it is a target */
	wire_put_name(&f->w, W(N_WWW_UP), 0);
	assert_int_equal(f->w.len, at + WLEN(N_WWW_UP));
	assert_memory_equal(f->buf + at, N_WWW_UP, WLEN(N_WWW_UP));

	/* ... and still recorded as a target for later names */
	wire_put_name(&f->w, W("\x01" "x" N_ORG), 0);
	at2 = f->w.len;
	wire_put_name(&f->w, W(N_ORG), 1);
	assert_int_equal(f->w.len, at2 + 2);
	assert_int_equal(f->buf[at2], 0xc0);
	assert_int_equal(f->buf[at2 + 1], at + WLEN(N_WWW_UP) + 2);
	assert_int_equal(f->w.overflow, 0);
	free(f);
}

static void test_put_name_overflow(void **state)
{
	struct wfix *f;
	uint8_t buf[16];
	struct wire *w = malloc(sizeof(*w));

	(void)state;
	assert_non_null(w);
	/* the name does not fit */
	wire_init(w, buf, 10);
	wire_put_name(w, W(N_WWW), 1);
	assert_int_equal(w->overflow, 1);
	assert_int_equal(w->len, 0);

	/* exactly fits */
	wire_init(w, buf, WLEN(N_WWW));
	wire_put_name(w, W(N_WWW), 1);
	assert_int_equal(w->overflow, 0);
	assert_int_equal(w->len, WLEN(N_WWW));
	/* and then nothing else does, not even a pointer */
	wire_put_name(w, W(N_WWW), 1);
	assert_int_equal(w->overflow, 1);
	assert_int_equal(w->len, WLEN(N_WWW));
	/* the flag sticks: a later small append is refused too */
	w->cap = sizeof(buf);
	wire_put_u8(w, 0);
	assert_int_equal(w->overflow, 1);
	assert_int_equal(w->len, WLEN(N_WWW));

	/* the pointer alone does not fit after labels: 2 bytes short */
	f = msg_with_question(W(N_WWW), WLEN(N_WWW), 12 + 17 + 4 + 6);
	wire_put_name(&f->w, W(N_MAIL), 1);
	assert_int_equal(f->w.overflow, 1);
	free(f);

	/* a malformed name is an unusable message, not a silent skip */
	wire_init(w, buf, sizeof(buf));
	wire_put_name(w, W("\x40"), 1);
	assert_int_equal(w->overflow, 1);
	free(w);
}

/* A pointer holds 14 bits: names past offset 0x3fff are never targets. */
static void test_put_name_far_offsets(void **state)
{
	struct wire *w = malloc(sizeof(*w));
	uint8_t *buf = calloc(1, 0x5000);
	static uint8_t pad[0x4200];
	size_t at;

	(void)state;
	assert_non_null(w);
	assert_non_null(buf);
	wire_init(w, buf, 0x5000);
	wire_put_bytes(w, pad, 0x3ff0);
	/* www @0x3ff0, example.com @0x3ff4, com @0x3ffc: all reachable */
	wire_put_name(w, W(N_WWW), 1);
	wire_put_bytes(w, pad, 0x4100 - w->len);
	/* example.org @0x4100 and org @0x4108: beyond reach */
	wire_put_name(w, W(N_ORG), 1);
	assert_int_equal(w->len, 0x4100 + WLEN(N_ORG));

	at = w->len;
	wire_put_name(w, W(N_ORG), 1);
	assert_int_equal(w->len, at + WLEN(N_ORG));
	assert_memory_equal(buf + at, N_ORG, WLEN(N_ORG));

	at = w->len;
	wire_put_name(w, W(N_MAIL), 1);
	assert_int_equal(w->len, at + 7);
	assert_memory_equal(buf + at, "\x04" "mail" "\xff\xf4", 7);

	at = w->len;
	wire_put_name(w, W("\x03" "com"), 1);
	assert_memory_equal(buf + at, "\xff\xfc", 2);
	assert_int_equal(w->overflow, 0);
	free(buf);
	free(w);
}

static void test_put_ints(void **state)
{
	uint8_t buf[8];
	struct wire *w = malloc(sizeof(*w));

	(void)state;
	assert_non_null(w);
	wire_init(w, buf, sizeof(buf));
	wire_put_u8(w, 0xab);
	wire_put_u16(w, 0x1234);
	wire_put_u32(w, 0xdeadbeef);
	assert_int_equal(w->len, 7);
	assert_memory_equal(buf, "\xab\x12\x34\xde\xad\xbe\xef", 7);
	wire_put_u16(w, 1); /* one byte left */
	assert_int_equal(w->overflow, 1);
	assert_int_equal(w->len, 7);
	/* cap is clamped to the largest DNS message */
	wire_init(w, buf, 100000);
	assert_int_equal(w->cap, WIRE_MAX_MSG);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_len_valid),
		cmocka_unit_test(test_wire_len_63_and_255),
		cmocka_unit_test(test_wire_len_malformed),
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_subdomain),
		cmocka_unit_test(test_to_str),
		cmocka_unit_test(test_put_name_equal_target),
		cmocka_unit_test(test_put_name_shared_suffix),
		cmocka_unit_test(test_put_name_no_compress),
		cmocka_unit_test(test_put_name_overflow),
		cmocka_unit_test(test_put_name_far_offsets),
		cmocka_unit_test(test_put_ints),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
