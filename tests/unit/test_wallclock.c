/* test_wallclock.c - the wall clock and its test-only offset: parsing the
 * environment variable, readings shifted by the offset, realtime timers
 * armed at wall time - offset (with clamping at the edges). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "wallclock.h"

#define USEC 1000000ULL
#define MAXS "86400000"

static int reset(void **state)
{
	(void)state;
	unsetenv(WALLCLOCK_OFFSET_ENV);
	wallclock_reset();
	return 0;
}

static void set_offset(const char *v)
{
	assert_int_equal(setenv(WALLCLOCK_OFFSET_ENV, v, 1), 0);
	wallclock_reset();
}

static void test_parse_table(void **state)
{
	static const struct {
		const char *in;
		int rc;
		int64_t ms;
	} t[] = {
		{ "0", 0, 0 },
		{ "100", 0, 100 },
		{ "+5000", 0, 5000 },
		{ "-59000", 0, -59000 },
		{ "-0", 0, 0 },
		{ MAXS, 0, WALLCLOCK_OFFSET_MAX_MS },
		{ "-" MAXS, 0, -WALLCLOCK_OFFSET_MAX_MS },
		{ "86400001", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "+", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "10s", -EINVAL, 0 },
		{ " 10", -EINVAL, 0 },
		{ "10 ", -EINVAL, 0 },
		{ "--1", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t v = 12345;
		int rc = wallclock_parse_offset(t[i].in, &v);

		if (rc != t[i].rc)
			fail_msg("\"%s\": rc %d, want %d", t[i].in, rc, t[i].rc);
		/* out-parameter written only on success */
		assert_int_equal(v, rc == 0 ? t[i].ms : 12345);
	}
	assert_int_equal(wallclock_parse_offset(NULL, NULL), -EINVAL);
	assert_int_equal(wallclock_parse_offset("1", NULL), -EINVAL);
}

static void test_unset_is_system_clock(void **state)
{
	time_t before, now, after;

	(void)state;
	assert_int_equal(wallclock_init(), 0);
	assert_int_equal(wallclock_offset_ms(), 0);
	before = time(NULL);
	now = wallclock_now();
	after = time(NULL);
	assert_true(now >= before && now <= after);
	assert_int_equal(wallclock_to_real_usec(1000 * USEC), 1000 * USEC);
	assert_int_equal(wallclock_sec_to_real_usec(1000), 1000 * USEC);
}

static void test_empty_is_zero(void **state)
{
	(void)state;
	set_offset("");
	assert_int_equal(wallclock_init(), 0);
	assert_int_equal(wallclock_offset_ms(), 0);
}

static void test_bad_value_refused(void **state)
{
	(void)state;
	set_offset("soon");
	assert_int_equal(wallclock_init(), -EINVAL);
	assert_int_equal(wallclock_offset_ms(), 0);
	/* read once: the answer is remembered */
	assert_int_equal(setenv(WALLCLOCK_OFFSET_ENV, "5", 1), 0);
	assert_int_equal(wallclock_init(), -EINVAL);
	assert_int_equal(wallclock_offset_ms(), 0);
}

static void test_read_once(void **state)
{
	(void)state;
	set_offset("2500");
	assert_int_equal(wallclock_offset_ms(), 2500); /* lazy init */
	assert_int_equal(setenv(WALLCLOCK_OFFSET_ENV, "-7", 1), 0);
	assert_int_equal(wallclock_init(), 0);
	assert_int_equal(wallclock_offset_ms(), 2500);
}

/* Readings are shifted by the offset (bounded by two system readings). */
static void test_now_shifted(void **state)
{
	static const char *const offs[] = { "59000", "-59000", "90000",
					    "-5000", "100", "-100" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct timespec a, b;
		int64_t off_us, lo, hi, us;
		time_t s;

		set_offset(offs[i]);
		off_us = wallclock_offset_ms() * 1000;
		assert_int_equal(off_us, strtoll(offs[i], NULL, 10) * 1000);
		clock_gettime(CLOCK_REALTIME, &a);
		us = (int64_t)wallclock_now_usec();
		s = wallclock_now();
		clock_gettime(CLOCK_REALTIME, &b);
		lo = (int64_t)a.tv_sec * 1000000 + a.tv_nsec / 1000 + off_us;
		hi = (int64_t)b.tv_sec * 1000000 + b.tv_nsec / 1000 + off_us;
		if (us < lo || us > hi)
			fail_msg("offset %s: %lld not in [%lld, %lld]", offs[i],
				 (long long)us, (long long)lo, (long long)hi);
		if ((int64_t)s < lo / 1000000 || (int64_t)s > hi / 1000000)
			fail_msg("offset %s: %lld s not in [%lld, %lld]",
				 offs[i], (long long)s, (long long)(lo / 1000000),
				 (long long)(hi / 1000000));
	}
}

/* A timer for wall time T is armed at system time T - offset. */
static void test_timer_table(void **state)
{
	static const struct {
		const char *off;
		uint64_t wall_us, real_us;
	} t[] = {
		{ "0", 1795000020 * USEC, 1795000020 * USEC },
		{ "59000", 1795000020 * USEC, 1794999961 * USEC },
		{ "-59000", 1795000020 * USEC, 1795000079 * USEC },
		{ "100", 1795000020 * USEC, 1795000020 * USEC - 100000 },
		{ "-100", 1795000020 * USEC, 1795000020 * USEC + 100000 },
		/* clamped: never 0 ("now" is fine, 0 is not) nor UINT64_MAX */
		{ "5000", 4 * USEC, 1 },
		{ "5000", 0, 1 },
		{ "0", 0, 1 },
		{ "-5000", UINT64_MAX - 10, UINT64_MAX - 1 },
		{ "-5000", UINT64_MAX, UINT64_MAX - 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t r;

		set_offset(t[i].off);
		r = wallclock_to_real_usec(t[i].wall_us);
		if (r != t[i].real_us)
			fail_msg("row %zu (offset %s): %llu, want %llu", i,
				 t[i].off, (unsigned long long)r,
				 (unsigned long long)t[i].real_us);
	}
}

static void test_timer_seconds(void **state)
{
	(void)state;
	set_offset("-30000");
	assert_int_equal(wallclock_sec_to_real_usec(1795000020),
			 1795000050 * USEC);
	assert_int_equal(wallclock_sec_to_real_usec(-5), 30 * USEC);
	set_offset("30000");
	assert_int_equal(wallclock_sec_to_real_usec(-5), 1);
	assert_int_equal(wallclock_sec_to_real_usec(1795000020),
			 1794999990 * USEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_table, reset),
		cmocka_unit_test_setup(test_unset_is_system_clock, reset),
		cmocka_unit_test_setup(test_empty_is_zero, reset),
		cmocka_unit_test_setup(test_bad_value_refused, reset),
		cmocka_unit_test_setup(test_read_once, reset),
		cmocka_unit_test_setup(test_now_shifted, reset),
		cmocka_unit_test_setup(test_timer_table, reset),
		cmocka_unit_test_setup(test_timer_seconds, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
