// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/fault.c: the test hook's spec (XDPNS_FAULT). Unset, no point
 * is ever hit; after=N lets N passes go, count=M hits M after them;
 * delay_ms is handed to the point; a spec that does not parse arms
 * nothing and says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fault.h"
#include "log.h"

/* The pattern of n passes through p: '.' went on, 'x' failed, 'd' waited. */
static void pattern(enum fault_point p, int n, char *out)
{
	unsigned ms;
	int i;

	for (i = 0; i < n; i++)
		out[i] = fault_hit(p, &ms) ? (ms ? 'd' : 'x') : '.';
	out[n] = 0;
}

static void test_unset(void **state)
{
	char err[256], pat[16];

	(void)state;
	assert_int_equal(fault_init(NULL, err, sizeof(err)), 0);
	assert_int_equal(fault_armed, 0);
	pattern(FAULT_PUBLISH, 8, pat);
	assert_string_equal(pat, "........");
	assert_int_equal(fault_init("", err, sizeof(err)), 0);
	assert_int_equal(fault_armed, 0);
}

static void test_after_count(void **state)
{
	char err[256], pat[16];
	unsigned ms;

	(void)state;
	assert_int_equal(fault_init("mapsync.publish:after=2:count=3", err,
				    sizeof(err)), 0);
	assert_int_equal(fault_armed, 1);
	pattern(FAULT_PUBLISH, 8, pat);
	assert_string_equal(pat, "..xxx...");
	pattern(FAULT_SAVE, 4, pat); /* not named: never hit */
	assert_string_equal(pat, "....");

	assert_int_equal(fault_init("mapsync.publish", err, sizeof(err)), 0);
	pattern(FAULT_PUBLISH, 4, pat);
	assert_string_equal(pat, "xxxx");

	assert_int_equal(fault_init("zone.save:after=1:count=1:delay_ms=250,"
				    "mapsync.publish:after=3", err, sizeof(err)), 0);
	pattern(FAULT_SAVE, 4, pat);
	assert_string_equal(pat, ".d..");
	pattern(FAULT_PUBLISH, 5, pat);
	assert_string_equal(pat, "...xx");
	assert_int_equal(fault_init("zone.save:delay_ms=250", err, sizeof(err)), 0);
	assert_int_equal(fault_hit(FAULT_SAVE, &ms), 1);
	assert_int_equal(ms, 250);
}

static void test_bad_specs(void **state)
{
	static const char *const bad[] = {
		"nope", "mapsync.publish:after", "mapsync.publish:after=",
		"mapsync.publish:after=x", "mapsync.publish:after=-1",
		"mapsync.publish:when=1", "zone.save:delay_ms=600001",
		"mapsync.publish,nope", "mapsync.publishx", ":after=1",
	};
	char err[256], pat[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (fault_init(bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("spec \"%s\" was accepted", bad[i]);
		assert_true(err[0] != 0);
		assert_int_equal(fault_armed, 0);
		pattern(FAULT_PUBLISH, 3, pat);
		assert_string_equal(pat, "...");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_after_count),
		cmocka_unit_test(test_bad_specs),
	};

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
