/* test_wallclock.c - the wall clock and its test-only hooks: parsing the
 * environment variables, readings shifted by the offset, realtime timers
 * armed at wall time - offset (with clamping at the edges); the time scale
 * (its arithmetic and inverse, which readings it reaches and which it does
 * not, timers armed at the unscaled instant). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
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
	unsetenv(WALLCLOCK_SCALE_ENV);
	unsetenv(WALLCLOCK_ANCHOR_ENV);
	wallclock_reset();
	return 0;
}

/* Set (or with NULL unset) the three variables and forget what was read. */
static void set_hooks(const char *off, const char *scale, const char *anchor)
{
	const char *names[3] = { WALLCLOCK_OFFSET_ENV, WALLCLOCK_SCALE_ENV,
				 WALLCLOCK_ANCHOR_ENV };
	const char *vals[3] = { off, scale, anchor };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (vals[i])
			assert_int_equal(setenv(names[i], vals[i], 1), 0);
		else
			assert_int_equal(unsetenv(names[i]), 0);
	}
	wallclock_reset();
}

static int64_t real_usec(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

static void test_parse_scale_anchor(void **state)
{
	static const struct {
		const char *in;
		int rc;
		uint32_t v;
	} sc[] = {
		{ "1", 0, 1 }, { "20", 0, 20 }, { "3600", 0, WALLCLOCK_SCALE_MAX },
		{ "0", -EINVAL, 0 }, { "3601", -EINVAL, 0 }, { "-2", -EINVAL, 0 },
		{ "+2", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "1.5", -EINVAL, 0 },
		{ " 2", -EINVAL, 0 }, { "2x", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
	};
	static const struct {
		const char *in;
		int rc;
		int64_t v;
	} an[] = {
		{ "1", 0, 1 }, { "1795000000", 0, 1795000000 },
		{ "9999999999", 0, WALLCLOCK_ANCHOR_MAX_S },
		{ "10000000000", -EINVAL, 0 }, { "0", -EINVAL, 0 },
		{ "-5", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "now", -EINVAL, 0 },
		{ "1795000000.5", -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		uint32_t v = 777;
		int rc = wallclock_parse_scale(sc[i].in, &v);

		if (rc != sc[i].rc)
			fail_msg("scale \"%s\": rc %d, want %d", sc[i].in, rc, sc[i].rc);
		assert_int_equal(v, rc == 0 ? sc[i].v : 777);
	}
	for (i = 0; i < sizeof(an) / sizeof(an[0]); i++) {
		int64_t v = 777;
		int rc = wallclock_parse_anchor(an[i].in, &v);

		if (rc != an[i].rc)
			fail_msg("anchor \"%s\": rc %d, want %d", an[i].in, rc, an[i].rc);
		assert_int_equal(v, rc == 0 ? an[i].v : 777);
	}
	assert_int_equal(wallclock_parse_scale(NULL, NULL), -EINVAL);
	assert_int_equal(wallclock_parse_scale("2", NULL), -EINVAL);
	assert_int_equal(wallclock_parse_anchor(NULL, NULL), -EINVAL);
	assert_int_equal(wallclock_parse_anchor("2", NULL), -EINVAL);
}

#define A0 1795000000LL /* an anchor, epoch seconds */

/* scaled = anchor + (real - anchor) * scale; the inverse rounds up. */
static void test_scale_arithmetic(void **state)
{
	static const struct {
		int64_t real_us, anchor_s;
		uint32_t scale;
		int64_t scaled_us;
	} t[] = {
		/* no scale: identity, the anchor plays no part */
		{ A0 * 1000000 + 5, A0, 1, A0 * 1000000 + 5 },
		{ 123, A0, 0, 123 },
		/* the anchor is a fixed point */
		{ A0 * 1000000, A0, 20, A0 * 1000000 },
		/* 3 s after it: 60 s at 20x; a minute per second at 60x */
		{ (A0 + 3) * 1000000, A0, 20, (A0 + 60) * 1000000 },
		{ (A0 + 1) * 1000000 + 1, A0, 60, (A0 + 60) * 1000000 + 60 },
		/* before the anchor: as far before, times the scale */
		{ (A0 - 2) * 1000000, A0, 30, (A0 - 60) * 1000000 },
		{ (A0 + 1) * 1000000, A0, WALLCLOCK_SCALE_MAX, (A0 + 3600) * 1000000 },
		/* saturating */
		{ INT64_MAX, A0, 3600, INT64_MAX },
		{ INT64_MIN, A0, 3600, INT64_MIN },
		{ INT64_MAX / 2, 1, 3, INT64_MAX },
		/* an absurd anchor saturates instead of overflowing */
		{ 5, INT64_MAX, 2, INT64_MIN },
		{ 5, INT64_MIN, 2, INT64_MAX },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t s = wallclock_scale_usec(t[i].real_us, t[i].anchor_s, t[i].scale);

		if (s != t[i].scaled_us)
			fail_msg("row %zu: %lld, want %lld", i, (long long)s,
				 (long long)t[i].scaled_us);
		/* exact multiples come back exactly */
		if (s != INT64_MAX && s != INT64_MIN)
			assert_int_equal(wallclock_unscale_usec(s, t[i].anchor_s, t[i].scale),
					 t[i].real_us);
	}
}

/* The inverse is the earliest real instant at which the scaled clock has
 * reached the target: a timer armed there never wakes early, and one
 * microsecond earlier would. */
static void test_unscale_rounds_up(void **state)
{
	static const uint32_t scales[] = { 2, 3, 7, 20, 60, 3600 };
	static const int64_t deltas[] = { 0, 1, 2, 59, 60, 61, 999999, 1000000,
					  -1, -2, -59, -60, -61, -1000001,
					  86400LL * 1000000 + 17 };
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(scales) / sizeof(scales[0]); i++)
		for (j = 0; j < sizeof(deltas) / sizeof(deltas[0]); j++) {
			int64_t target = A0 * 1000000 + deltas[j];
			int64_t r = wallclock_unscale_usec(target, A0, scales[i]);

			if (wallclock_scale_usec(r, A0, scales[i]) < target ||
			    wallclock_scale_usec(r - 1, A0, scales[i]) >= target)
				fail_msg("scale %u, delta %lld: real %lld is not the "
					 "earliest", scales[i], (long long)deltas[j],
					 (long long)r);
		}
	assert_int_equal(wallclock_unscale_usec(77, A0, 1), 77);
	assert_int_equal(wallclock_unscale_usec(INT64_MAX, A0, 2),
			 A0 * 1000000 + (INT64_MAX - A0 * 1000000 + 1) / 2);
	/* INT64_MIN - anchor saturates first */
	assert_int_equal(wallclock_unscale_usec(INT64_MIN, 1, 2), INT64_MIN / 2 + 1000000);
}

static void fmt_ll(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
}

/* Refused: a bad scale, a bad anchor, a scale without an anchor, an anchor
 * too far from now; then no hook is in effect, not even a good offset. */
static void test_scale_refused(void **state)
{
	char far[32], near[32];
	static const char *const bad_scales[] = { "0", "3601", "fast", "2.5", "-3" };
	size_t i;

	(void)state;
	fmt_ll(far, sizeof(far), (long long)time(NULL) - WALLCLOCK_ANCHOR_MAX_DIST_S - 100);
	fmt_ll(near, sizeof(near), (long long)time(NULL));
	for (i = 0; i < sizeof(bad_scales) / sizeof(bad_scales[0]); i++) {
		set_hooks("5000", bad_scales[i], near);
		assert_int_equal(wallclock_init(), -EINVAL);
		assert_int_equal(wallclock_scale(), 1);
		assert_int_equal(wallclock_offset_ms(), 0);
	}
	set_hooks("5000", "20", NULL);
	assert_int_equal(wallclock_init(), -EINVAL);
	assert_int_equal(wallclock_scale(), 1);
	assert_int_equal(wallclock_offset_ms(), 0);
	set_hooks(NULL, "20", "");
	assert_int_equal(wallclock_init(), -EINVAL);
	set_hooks(NULL, "20", "yesterday");
	assert_int_equal(wallclock_init(), -EINVAL);
	set_hooks(NULL, "20", far);
	assert_int_equal(wallclock_init(), -EINVAL);
	assert_int_equal(wallclock_scale(), 1);
	fmt_ll(far, sizeof(far), (long long)time(NULL) + WALLCLOCK_ANCHOR_MAX_DIST_S + 100);
	set_hooks(NULL, "20", far);
	assert_int_equal(wallclock_init(), -EINVAL);
	/* a bad anchor is refused even when no scale needs it */
	set_hooks(NULL, NULL, "0");
	assert_int_equal(wallclock_init(), -EINVAL);
	/* accepted: scale 1 needs no anchor; an anchor alone changes nothing */
	set_hooks(NULL, "1", NULL);
	assert_int_equal(wallclock_init(), 0);
	assert_int_equal(wallclock_scale(), 1);
	set_hooks(NULL, NULL, far);
	assert_int_equal(wallclock_init(), 0);
	assert_int_equal(wallclock_scale(), 1);
	assert_int_equal(wallclock_anchor(), 0);
}

/* With scale and offset: the schedule clock is anchor + (system - anchor)
 * * N + offset; the host clock (SigV4, credentials) only carries the
 * offset; the emulator's reading carries only the scale. */
static void test_scaled_readings(void **state)
{
	static const struct {
		const char *off, *scale;
		int64_t anchor_back_s; /* anchor = now - this */
	} t[] = {
		{ "0", "20", 10 }, { "59000", "20", 3 }, { "-100", "60", 0 },
		{ "-59000", "3600", 1 }, { "100", "7", -5 /* in the future */ },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char anchor[32];
		int64_t a_s = (int64_t)time(NULL) - t[i].anchor_back_s;
		int64_t off_us = strtoll(t[i].off, NULL, 10) * 1000, lo, hi, us, em;
		uint32_t n = (uint32_t)strtoul(t[i].scale, NULL, 10);
		time_t s, h, h0, h1;
		int64_t r0, r1;

		fmt_ll(anchor, sizeof(anchor), (long long)a_s);
		set_hooks(t[i].off, t[i].scale, anchor);
		assert_int_equal(wallclock_init(), 0);
		assert_int_equal(wallclock_scale(), n);
		assert_int_equal(wallclock_anchor(), a_s);
		h0 = time(NULL);
		r0 = real_usec();
		us = (int64_t)wallclock_now_usec();
		s = wallclock_now();
		h = wallclock_host_now();
		em = wallclock_scaled_from_real_usec(r0);
		r1 = real_usec();
		h1 = time(NULL);
		lo = wallclock_scale_usec(r0, a_s, n) + off_us;
		hi = wallclock_scale_usec(r1, a_s, n) + off_us;
		if (us < lo || us > hi)
			fail_msg("row %zu: %lld not in [%lld, %lld]", i, (long long)us,
				 (long long)lo, (long long)hi);
		if ((int64_t)s < lo / 1000000 || (int64_t)s > hi / 1000000)
			fail_msg("row %zu: %lld s not in [%lld, %lld]", i, (long long)s,
				 (long long)(lo / 1000000), (long long)(hi / 1000000));
		/* the host clock: offset, no scale */
		if ((int64_t)h < (int64_t)h0 + off_us / 1000000 - 1 ||
		    (int64_t)h > (int64_t)h1 + off_us / 1000000 + 1)
			fail_msg("row %zu: host clock %lld, want %lld%+lld", i, (long long)h,
				 (long long)h0, (long long)(off_us / 1000000));
		assert_int_equal(em, wallclock_scale_usec(r0, a_s, n));
	}
}

/* Timers: a schedule time T is armed at the real instant where the scaled,
 * shifted clock reads T; a host time at host time - offset. */
static void test_scaled_timers(void **state)
{
	char anchor[32];
	int64_t a_s = (int64_t)time(NULL);
	uint64_t a_us = (uint64_t)a_s * USEC;

	(void)state;
	fmt_ll(anchor, sizeof(anchor), (long long)a_s);
	set_hooks("0", "20", anchor);
	/* a minute of schedule time after the anchor is 3 s of real time */
	assert_int_equal(wallclock_sec_to_real_usec((time_t)a_s + 60), a_us + 3 * USEC);
	assert_int_equal(wallclock_to_real_usec(a_us + 60 * USEC + 1), a_us + 3 * USEC + 1);
	assert_int_equal(wallclock_to_real_usec(a_us - 20 * USEC), a_us - 1 * USEC);
	assert_int_equal(wallclock_host_sec_to_real_usec((time_t)a_s + 60), a_us + 60 * USEC);
	/* the offset comes off before the scale: +30 s of skew is 1.5 s real */
	set_hooks("30000", "20", anchor);
	assert_int_equal(wallclock_sec_to_real_usec((time_t)a_s + 60), a_us + 1500000);
	assert_int_equal(wallclock_host_sec_to_real_usec((time_t)a_s + 60), a_us + 30 * USEC);
	set_hooks("-59000", "60", anchor);
	assert_int_equal(wallclock_sec_to_real_usec((time_t)a_s + 60), a_us + 1983334);
	assert_int_equal(wallclock_host_sec_to_real_usec((time_t)a_s), a_us + 59 * USEC);
	/* long before the anchor: in the past (the timer fires at once) */
	assert_int_equal(wallclock_sec_to_real_usec(0),
			 wallclock_unscale_usec(59 * (int64_t)USEC, a_s, 60));
	assert_true(wallclock_sec_to_real_usec(0) < a_us - 86400 * USEC);
	/* the far future stays far (no wrap) */
	assert_true(wallclock_to_real_usec(UINT64_MAX) > a_us + 1000ULL * 365 * 86400 * USEC);
	assert_int_equal(wallclock_host_sec_to_real_usec(-5), 59 * USEC);
	set_hooks("5000", NULL, NULL);
	assert_int_equal(wallclock_host_sec_to_real_usec(3), 1);
	assert_int_equal(wallclock_host_sec_to_real_usec(100), 95 * USEC);
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
		cmocka_unit_test_setup(test_parse_scale_anchor, reset),
		cmocka_unit_test_setup(test_scale_arithmetic, reset),
		cmocka_unit_test_setup(test_unscale_rounds_up, reset),
		cmocka_unit_test_setup(test_scale_refused, reset),
		cmocka_unit_test_setup(test_scaled_readings, reset),
		cmocka_unit_test_setup(test_scaled_timers, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
