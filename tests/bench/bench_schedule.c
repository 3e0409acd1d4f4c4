/* bench_schedule.c - cost of one next-fire computation.
 *
 * For each representative schedule: parse once, then call sched_next()
 * repeatedly, each call starting from the previous fire time (as the daemon
 * does), restarting from 2026 when a schedule runs out. Prints nanoseconds
 * per call (best of a few rounds, CLOCK_MONOTONIC). Run through `make bench`;
 * the numbers are for comparison, not for tests to rely on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "schedule.h"

#define CALLS 200000
#define ROUNDS 5
#define START ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

static const struct {
	const char *label, *expr, *tz;
} cases[] = {
	{ "rate", "rate(5 minutes)", NULL },
	{ "simple cron", "cron(0 12 * * ? *)", NULL },
	{ "every 15 min, weekdays", "cron(0/15 8-17 ? * MON-FRI *)", NULL },
	{ "cron L (last day)", "cron(0 23 L * ? *)", NULL },
	{ "cron LW", "cron(0 18 LW * ? *)", NULL },
	{ "cron 15W", "cron(0 6 15W * ? *)", NULL },
	{ "cron 3#2", "cron(0 12 ? * 3#2 *)", NULL },
	{ "cron 6L", "cron(15 10 ? * 6L *)", NULL },
	{ "tz cron daily Berlin", "cron(0 2 * * ? *)", "Europe/Berlin" },
	{ "tz cron 15 min New_York", "cron(0/15 * * * ? *)", "America/New_York" },
	{ "tz cron 6L New_York", "cron(30 1 ? * 1L *)", "America/New_York" },
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void)
{
	size_t i;
	int round, k;

	printf("%-28s %-34s %12s\n", "schedule", "expression", "ns/next");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sched_error err;
		struct sched *s;
		double best = 0;
		time_t t = START, sink = 0;

		if (sched_parse(cases[i].expr, cases[i].tz, &s, &err) != 0) {
			fprintf(stderr, "bench_schedule: %s: %s\n", cases[i].expr,
				err.message);
			return 1;
		}
		for (round = 0; round < ROUNDS; round++) {
			double t0 = now_ns(), ns;

			for (k = 0; k < CALLS; k++) {
				if (sched_next(s, t, &t) != 0)
					t = START;
				sink ^= t;
			}
			ns = (now_ns() - t0) / CALLS;
			if (round == 0 || ns < best)
				best = ns;
		}
		printf("%-28s %-34s %12.1f\n", cases[i].label, cases[i].expr,
		       best);
		if (sink == 42) /* keep the loop */
			putchar(' ');
		sched_free(s);
	}
	return 0;
}
