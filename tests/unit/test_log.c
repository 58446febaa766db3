// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/log.c: events as logfmt lines. Values that are plain stay
 * bare, the rest are quoted and escaped so that no value (a hostile zone
 * name, a primary's error text) can add a field, a quote or a line. Each
 * line is parsed back by a strict logfmt reader here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static size_t fmt(char *buf, size_t cap, const char *msg, const char *fields, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fields);
	n = log_format_kv(buf, cap, msg, fields, ap);
	va_end(ap);
	return n;
}

/* Strict logfmt: key=value pairs separated by one space; a value is bare
 * (no space, quote, '=' or backslash, printable) or quoted with the escapes
 * \" \\ \n \r \t \xHH. Fills keys/vals (decoded); returns the count or -1. */
#define MAXF 16
static int parse(const char *s, char keys[MAXF][64], char vals[MAXF][1024])
{
	int n = 0;

	while (*s) {
		size_t k = 0, v = 0;

		if (n == MAXF)
			return -1;
		while (*s && *s != '=' && *s != ' ' && *s != '"' && k < 63)
			keys[n][k++] = *s++;
		keys[n][k] = 0;
		if (!k || *s++ != '=')
			return -1;
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				char c = *s++;

				if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
					return -1;
				if (c == '\\') {
					c = *s++;
					if (c == 'n')
						c = '\n';
					else if (c == 'r')
						c = '\r';
					else if (c == 't')
						c = '\t';
					else if (c == 'x') {
						unsigned h;

						if (sscanf(s, "%2x", &h) != 1)
							return -1;
						c = (char)h;
						s += 2;
					} else if (c != '"' && c != '\\')
						return -1;
				}
				if (v < 1023)
					vals[n][v++] = c;
			}
			if (*s++ != '"')
				return -1;
		} else {
			while (*s && *s != ' ') {
				if (*s == '"' || *s == '=' || *s == '\\' ||
				    (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
					return -1;
				if (v < 1023)
					vals[n][v++] = *s;
				s++;
			}
			if (!v)
				return -1;
		}
		vals[n][v] = 0;
		n++;
		if (*s == ' ')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

static void test_event_fields(void **state)
{
	char buf[512];

	(void)state;
	fmt(buf, sizeof(buf), "zone loaded", "zone=%s serial=%u rrsets=%zu ms=%llu",
	    "example.com.", 2024010101u, (size_t)12, 3ULL);
	assert_string_equal(buf, "msg=\"zone loaded\" zone=example.com. "
				 "serial=2024010101 rrsets=12 ms=3");
	fmt(buf, sizeof(buf), "transfer failed", "zone=%s primary=%s reason=%s",
	    "a.", "198.18.0.3@53", "tsig bad signature");
	assert_string_equal(buf, "msg=\"transfer failed\" zone=a. "
				 "primary=198.18.0.3@53 reason=\"tsig bad signature\"");
	fmt(buf, sizeof(buf), "n", "a=%d b=%ld c=%lld d=%x e=%.3s f=%s", -1, -2L,
	    -3LL, 255u, "abcdef", (const char *)NULL);
	assert_string_equal(buf, "msg=\"n\" a=-1 b=-2 c=-3 d=ff e=abc f=\"\"");
}

static void test_hostile_values(void **state)
{
	static const char *const hostile[] = {
		"with space", "quote\"inside", "back\\slash", "line\nbreak",
		"cr\rtab\t", "k=v", "", "\x1b[31mred", "\xc3\xa9t\xc3\xa9",
		"x\" level=error msg=\"forged", "\"", "\\", "=", "\\\"",
		"trail\\",
	};
	char keys[MAXF][64], vals[MAXF][1024], buf[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		fmt(buf, sizeof(buf), "zone loaded", "zone=%s serial=%u", hostile[i], 7u);
		assert_null(strchr(buf, '\n'));
		assert_int_equal(parse(buf, keys, vals), 3);
		assert_string_equal(keys[0], "msg");
		assert_string_equal(vals[0], "zone loaded");
		assert_string_equal(keys[1], "zone");
		assert_string_equal(vals[1], hostile[i]); /* round trip */
		assert_string_equal(keys[2], "serial");
		assert_string_equal(vals[2], "7");
	}
	/* exact escapes */
	fmt(buf, sizeof(buf), "m\"sg", "v=%s", "a\"b\\c\nd\x01");
	assert_string_equal(buf, "msg=\"m\\\"sg\" v=\"a\\\"b\\\\c\\nd\\x01\"");
}

static void test_put_value(void **state)
{
	char buf[64];
	size_t o = 0;

	(void)state;
	log_put_value(buf, sizeof(buf), &o, "plain.example.");
	assert_string_equal(buf, "plain.example.");
	o = 0;
	log_put_value(buf, sizeof(buf), &o, "two words");
	assert_string_equal(buf, "\"two words\"");
	assert_int_equal(o, 11);
}

/* A line cut by the buffer is still one well-formed line. */
static void test_truncation(void **state)
{
	char keys[MAXF][64], vals[MAXF][1024], buf[48], big[600];
	size_t cap;

	(void)state;
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (cap = 8; cap <= sizeof(buf); cap++) {
		size_t n = fmt(buf, cap, "m", "k=%s", big);
		int f;

		assert_true(n < cap);
		assert_int_equal(strlen(buf), n);
		f = parse(buf, keys, vals);
		/* the field may be cut at its key, never left open */
		if (f < 0) {
			const char *sp = strrchr(buf, ' ');

			assert_non_null(sp); /* only a dangling key at the end */
			assert_null(strchr(sp, '"'));
		}
	}
}

static void test_levels(void **state)
{
	(void)state;
	assert_string_equal(log_level_name(LOG_LVL_ERR), "error");
	assert_string_equal(log_level_name(LOG_LVL_DEBUG), "debug");
	assert_null(log_level_name(9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_put_value),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_levels),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
