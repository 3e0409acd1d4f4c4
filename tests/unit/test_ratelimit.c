/* test_ratelimit.c - global API cap: rate, burst, fairness, cancel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000ULL

static unsigned order[64];
static unsigned n_order;

static void grant(void *cookie)
{
	order[n_order++] = (unsigned)(uintptr_t)cookie;
}

static void test_bad_args(void **state)
{
	(void)state;
	assert_null(ratelimit_new(0, 1));
	assert_null(ratelimit_new(-1, 1));
	assert_null(ratelimit_new(5, 0));
}

static void test_burst_then_rate(void **state)
{
	struct ratelimit *rl = ratelimit_new(2.0, 2);
	uint64_t next;
	uintptr_t i;

	(void)state;
	n_order = 0;
	for (i = 1; i <= 5; i++)
		assert_int_equal(ratelimit_submit(rl, 0, grant, (void *)i), 0);
	next = ratelimit_run(rl, 10 * SEC);
	assert_int_equal(n_order, 2);          /* the burst */
	assert_true(next > 10 * SEC && next <= 10 * SEC + SEC / 2 + 1);
	next = ratelimit_run(rl, 10 * SEC + SEC / 4);
	assert_int_equal(n_order, 2);          /* half a token only */
	next = ratelimit_run(rl, 10 * SEC + SEC / 2);
	assert_int_equal(n_order, 3);
	next = ratelimit_run(rl, 12 * SEC);    /* tokens capped at burst */
	assert_int_equal(n_order, 5);
	assert_int_equal(next, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(order[i], i + 1); /* FIFO per owner */
	ratelimit_free(rl);
}

static void test_round_robin_fairness(void **state)
{
	struct ratelimit *rl = ratelimit_new(1.0, 1);
	uint64_t t = 0;
	uintptr_t i;

	(void)state;
	n_order = 0;
	/* owner 7 floods first, owners 8 and 9 ask once each afterwards */
	for (i = 0; i < 5; i++)
		ratelimit_submit(rl, 7, grant, (void *)(70 + i));
	ratelimit_submit(rl, 8, grant, (void *)80);
	ratelimit_submit(rl, 9, grant, (void *)90);
	for (i = 0; i < 7; i++, t += SEC)
		ratelimit_run(rl, t);
	assert_int_equal(n_order, 7);
	assert_int_equal(order[0], 70);
	assert_int_equal(order[1], 80);
	assert_int_equal(order[2], 90);
	assert_int_equal(order[3], 71);
	assert_int_equal(order[4], 72);
	assert_int_equal(ratelimit_queued(rl), 0);
	ratelimit_free(rl);
}

static void test_cancel_and_free_with_queue(void **state)
{
	struct ratelimit *rl = ratelimit_new(1.0, 1);

	(void)state;
	n_order = 0;
	ratelimit_submit(rl, 1, grant, (void *)11);
	ratelimit_submit(rl, 2, grant, (void *)21);
	ratelimit_submit(rl, 2, grant, (void *)22);
	assert_int_equal(ratelimit_cancel(rl, (void *)11), 0);
	assert_int_equal(ratelimit_cancel(rl, (void *)11), -ENOENT);
	assert_int_equal(ratelimit_queued(rl), 2);
	ratelimit_run(rl, 0);
	assert_int_equal(n_order, 1);
	assert_int_equal(order[0], 21);
	ratelimit_free(rl); /* 22 still queued: no leak under ASan */
}

/* Owners with large ids (the daemon numbers its pipelines, and a reload
 * numbers new ones on): round robin in the order they joined; one that
 * leaves (all its calls cancelled) and comes back joins at the end. */
static void test_many_owners_leave_and_rejoin(void **state)
{
	struct ratelimit *rl = ratelimit_new(1.0, 1);
	unsigned want[64], n = 0, k;
	uint64_t t = 0;
	uintptr_t j;

	(void)state;
	n_order = 0;
	for (k = 0; k < 20; k++)
		for (j = 0; j < 2; j++)
			assert_int_equal(ratelimit_submit(rl, 5000 + k * 7, grant,
							  (void *)(k * 2 + j)), 0);
	assert_int_equal(ratelimit_cancel(rl, (void *)20), 0);
	assert_int_equal(ratelimit_cancel(rl, (void *)21), 0);  /* 10 leaves */
	assert_int_equal(ratelimit_submit(rl, 5000 + 10 * 7, grant,
					  (void *)99), 0);        /* and rejoins */
	for (k = 0; k < 20; k++)
		if (k != 10)
			want[n++] = k * 2;
	want[n++] = 99;
	for (k = 0; k < 20; k++)
		if (k != 10)
			want[n++] = k * 2 + 1;
	for (k = 0; k < n; k++, t += SEC)
		ratelimit_run(rl, t);
	assert_int_equal(n_order, n);
	for (k = 0; k < n; k++)
		assert_int_equal(order[k], want[k]);
	assert_int_equal(ratelimit_queued(rl), 0);
	assert_int_equal(ratelimit_run(rl, t), 0);
	ratelimit_free(rl);
}

static struct ratelimit *resubmit_rl;

static void grant_and_resubmit(void *cookie)
{
	grant(cookie);
	if ((uintptr_t)cookie < 3)
		ratelimit_submit(resubmit_rl, 0, grant_and_resubmit,
				 (void *)((uintptr_t)cookie + 1));
}

static void test_submit_from_grant(void **state)
{
	(void)state;
	n_order = 0;
	resubmit_rl = ratelimit_new(100.0, 10);
	ratelimit_submit(resubmit_rl, 0, grant_and_resubmit, (void *)1);
	assert_int_equal(ratelimit_run(resubmit_rl, 0), 0);
	assert_int_equal(n_order, 3);
	ratelimit_free(resubmit_rl);
}

static void test_long_run_respects_rate(void **state)
{
	struct ratelimit *rl = ratelimit_new(5.0, 5);
	uint64_t t = 0, next;
	uintptr_t i;

	(void)state;
	n_order = 0;
	for (i = 0; i < 60; i++)
		ratelimit_submit(rl, (unsigned)(i % 4), grant, (void *)i);
	/* drive it exactly as a timer would: at the time it asks for */
	while ((next = ratelimit_run(rl, t)) != 0 && n_order < 64)
		t = next;
	assert_int_equal(n_order, 60);
	/* 5 at once, then 55 more at 5/s: about 11 s */
	assert_true(t >= 10 * SEC && t <= 11 * SEC + 100);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_round_robin_fairness),
		cmocka_unit_test(test_cancel_and_free_with_queue),
		cmocka_unit_test(test_many_owners_leave_and_rejoin),
		cmocka_unit_test(test_submit_from_grant),
		cmocka_unit_test(test_long_run_respects_rate),
	};
	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
