/* fuzz_schedule.c - libFuzzer harness for the schedule parser.
 *
 * Input: one byte choosing a time zone, then the expression. Any bytes must
 * be rejected cleanly or parsed; for parsed cron schedules a few next fire
 * times from a few start instants must be whole minutes, strictly
 * increasing, and agree with sched_prev. The same bytes also go through
 * sched_parse_time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zones[] = {
	NULL, "America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
	"Pacific/Chatham", "UTC",
};

/* Start instants: around the epoch, DST changes, now-ish, near 2199. */
static const time_t starts[] = {
	-100000, 0, 1773000000, 1792300000, 1795608000, 4102444800,
	7258118000, 7258200000,
};

#define NEXTS 4

static void check_schedule(const struct sched *s, time_t from)
{
	time_t t = from, n, p;
	int k;

	for (k = 0; k < NEXTS; k++) {
		if (sched_next(s, t, &n) != 0)
			return;
		if (n <= t)
			abort();
		if (sched_kind(s) == SCHED_CRON) {
			if (n % 60 != 0)
				abort();
			/* the fire at or before n is n; before it, not after t */
			if (sched_prev(s, t, n, &p) != 0 || p != n)
				abort();
			if (sched_prev(s, t, n - 1, &p) == 0 && (p <= t || p >= n))
				abort();
		}
		t = n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched_error err;
	struct sched *s = NULL;
	char *expr;
	time_t t;
	size_t i;

	if (size < 1 || size > 512)
		return 0;
	expr = malloc(size);
	if (!expr)
		return 0;
	memcpy(expr, data + 1, size - 1);
	expr[size - 1] = '\0';
	(void)sched_parse_time(expr, &t);
	if (sched_parse(expr, zones[data[0] % (sizeof(zones) / sizeof(zones[0]))],
			&s, &err) == 0) {
		for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
			check_schedule(s, starts[i] + (data[0] >> 3) * 977);
		sched_free(s);
	} else if (err.column < 0 || err.field[0] == '\0' ||
		   err.message[0] == '\0' ||
		   err.column > (int)strlen(expr) + 1) {
		abort();
	}
	free(expr);
	return 0;
}
