/* fuzz_state.c - libFuzzer harness for the state file loader: any bytes
 * must be either refused with a message or accepted, and an accepted state
 * must serialise and re-parse to the same text (round trip is stable). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "state.h"

/* The fuzz build links every src/*.c; plan.c needs the schedule module.
 * Weak stand-ins (never called here) keep this harness linkable without
 * it; the real src/schedule.c overrides them. */
__attribute__((weak)) enum sched_kind sched_kind(const struct sched *s)
{
	(void)s;
	return SCHED_RATE;
}

__attribute__((weak)) int sched_next(const struct sched *s, time_t after,
				     time_t *out)
{
	(void)s;
	(void)after;
	(void)out;
	return -1;
}

__attribute__((weak)) int sched_prev(const struct sched *s, time_t since,
				     time_t at, time_t *out)
{
	(void)s;
	(void)since;
	(void)at;
	(void)out;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state st, again;
	char err[256], *one = NULL, *two = NULL;

	if (state_from_json((const char *)data, size, NULL, &st, err,
			    sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* every refusal says why */
		return 0;
	}
	if (state_to_json(&st, &one) < 0)
		abort();
	if (state_from_json(one, strlen(one), st.pipeline, &again, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "re-parse failed: %s\n%s\n", err, one);
		abort();
	}
	if (state_to_json(&again, &two) < 0 || strcmp(one, two) != 0)
		abort();
	free(one);
	free(two);
	return 0;
}
