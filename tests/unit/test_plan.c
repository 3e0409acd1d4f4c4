/* test_plan.c - the schedule planner: next timer, catch-up, skip rule.
 * The schedule module is built elsewhere; this file carries a
 * small fake of the three sched_* functions the planner uses, following
 * the contract in include/schedule.h (rate: anchor + k * period; cron: a
 * fixed sorted list of fire times). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"
#include "retrain.h"

#define DAY 86400
#define T0 ((time_t)1795000020) /* 2026-11-18T11:07:00Z */

struct sched {
	enum sched_kind kind;
	long period;          /* rate */
	const time_t *times;  /* cron: sorted fire times */
	size_t n;
};

enum sched_kind sched_kind(const struct sched *s)
{
	return s->kind;
}

int sched_next(const struct sched *s, time_t after, time_t *out)
{
	size_t i;

	if (s->kind == SCHED_RATE) {
		*out = after + s->period;
		return 0;
	}
	for (i = 0; i < s->n; i++)
		if (s->times[i] > after) {
			*out = s->times[i];
			return 0;
		}
	return -ENOENT;
}

int sched_prev(const struct sched *s, time_t since, time_t at, time_t *out)
{
	size_t i;

	if (at <= since)
		return -ENOENT;
	if (s->kind == SCHED_RATE) {
		long long k = ((long long)at - since) / s->period;

		if (k < 1)
			return -ENOENT;
		*out = since + (time_t)(k * s->period);
		return 0;
	}
	for (i = s->n; i-- > 0;)
		if (s->times[i] <= at) {
			if (s->times[i] <= since)
				return -ENOENT;
			*out = s->times[i];
			return 0;
		}
	return -ENOENT;
}

static struct sched rate(long period)
{
	struct sched s = { SCHED_RATE, period, NULL, 0 };

	return s;
}

/* cron(0 3 * * ? *)-like: 03:00 UTC on a few days around T0, then never. */
static const time_t cron_times[] = {
	1794798000, /* 2026-11-16T03:00:00Z */
	1794884400, 1794970800, 1795057200, 1795143600,
};
static struct sched cron(void)
{
	struct sched s = { SCHED_CRON, 0, cron_times,
			   sizeof(cron_times) / sizeof(cron_times[0]) };

	return s;
}

static void test_next_fire(void **state)
{
	struct sched r = rate(7 * DAY), h = rate(3600), c = cron();
	time_t t;

	(void)state;
	/* rate: epoch-anchored multiples, strictly after now */
	assert_int_equal(plan_next_fire(&h, T0, &t), 0);
	assert_int_equal(t % 3600, 0);
	assert_true(t > T0 && t <= T0 + 3600);
	assert_int_equal(plan_next_fire(&h, t, &t), 0);
	assert_int_equal(t % 3600, 0);
	assert_int_equal(plan_next_fire(&r, T0, &t), 0);
	assert_int_equal(t % (7 * DAY), 0);
	assert_int_equal(plan_next_fire(&h, 10, &t), 0); /* before 1st period */
	assert_int_equal(t, 3600);
	/* cron */
	assert_int_equal(plan_next_fire(&c, T0, &t), 0);
	assert_int_equal(t, 1795057200);
	assert_int_equal(plan_next_fire(&c, 1795143600, &t), -ENOENT);
	assert_int_equal(plan_latest_fire(&c, T0, &t), 0);
	assert_int_equal(t, 1794970800);
	assert_int_equal(plan_latest_fire(&c, 1794798000 - 1, &t), -ENOENT);
	assert_int_equal(plan_next_fire(NULL, T0, &t), -EINVAL);
}

/* Two hosts started at different moments compute the same fire times. */
static void test_hosts_agree_on_fire_times(void **state)
{
	const long periods[] = { 60, 300, 3600, DAY, 7 * DAY };
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		struct sched s = rate(periods[i]);
		time_t a, b;

		assert_int_equal(plan_next_fire(&s, T0, &a), 0);
		assert_int_equal(plan_next_fire(&s, T0 + 12345, &b), 0);
		while (b > a)
			assert_int_equal(plan_next_fire(&s, a, &a), 0);
		assert_int_equal(a, b);
		for (k = 0; k < 5; k++) {
			assert_int_equal(plan_next_fire(&s, a, &a), 0);
			assert_int_equal(plan_next_fire(&s, b, &b), 0);
			assert_int_equal(a, b);
			assert_int_equal(a, rt_fire_normalize(a));
		}
	}
}

static void test_at_start(void **state)
{
	struct sched h = rate(3600), c = cron();
	const time_t hour = T0 - T0 % 3600; /* latest hourly fire <= T0 */
	const struct {
		const struct sched *s;
		time_t last, now;
		bool catch_up, run_now;
		time_t run_fire, next;
		bool has_next;
	} cases[] = {
		/* first start ever: nothing was missed */
		{ &h, 0, T0, true, false, 0, hour + 3600, true },
		/* last fire is the latest: nothing missed */
		{ &h, hour, T0, true, false, 0, hour + 3600, true },
		/* one missed */
		{ &h, hour - 3600, T0, true, true, hour, hour + 3600, true },
		/* many missed: one run, for the latest */
		{ &h, hour - 50 * 3600, T0, true, true, hour, hour + 3600, true },
		/* CatchUp=no */
		{ &h, hour - 50 * 3600, T0, false, false, 0, hour + 3600, true },
		/* cron: missed one, more to come */
		{ &c, 1794884400, T0, true, true, 1794970800, 1795057200, true },
		/* cron: down past the end of the schedule */
		{ &c, 1794884400, 1795200000, true, true, 1795143600, 0, false },
		/* cron: nothing ever fired before now */
		{ &c, 1, 1794798000 - 5, true, false, 0, 1794798000, true },
	};
	struct plan_start p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(plan_at_start(cases[i].s, cases[i].last, cases[i].now,
					       cases[i].catch_up, &p), 0);
		assert_int_equal(p.run_now, cases[i].run_now);
		if (p.run_now)
			assert_int_equal(p.run_fire, cases[i].run_fire);
		assert_int_equal(p.has_next, cases[i].has_next);
		if (p.has_next)
			assert_int_equal(p.next_fire, cases[i].next);
	}
	assert_int_equal(plan_at_start(NULL, 0, T0, true, &p), -EINVAL);
}

static void test_on_fire(void **state)
{
	(void)state;
	assert_int_equal(plan_on_fire(T0, T0 - 60, false), PLAN_RUN);
	assert_int_equal(plan_on_fire(T0, 0, false), PLAN_RUN);
	assert_int_equal(plan_on_fire(T0, T0 - 60, true), PLAN_SKIP_BUSY);
	assert_int_equal(plan_on_fire(T0, T0, false), PLAN_SKIP_DONE);
	assert_int_equal(plan_on_fire(T0, T0 + 60, true), PLAN_SKIP_DONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_fire),
		cmocka_unit_test(test_hosts_agree_on_fire_times),
		cmocka_unit_test(test_at_start),
		cmocka_unit_test(test_on_fire),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
