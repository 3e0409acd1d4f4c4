/* wallclock.h - the daemon's one source of wall-clock time, with a
 * test-only offset.
 *
 * Every wall-clock reading of the program (what time it is, for the
 * schedule, the state, `status` and SigV4's request time) goes through
 * wallclock_now(), and every CLOCK_REALTIME timer is armed through
 * wallclock_to_real_usec(). Normally both are the plain system clock.
 *
 * Test hook: the environment variable WALLCLOCK_OFFSET_ENV
 * (PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS), a signed integer number of
 * milliseconds, read once (wallclock_init(), or lazily at the first use),
 * makes the process behave as if its host's clock were that far ahead
 * (positive) or behind (negative): wallclock_now() returns system time +
 * offset, and a timer for wall time T is armed at system time T - offset.
 * It lets one machine run "two hosts with skewed clocks" (CLOCK_REALTIME
 * cannot be namespaced). Never set it in production. */
#ifndef PR_WALLCLOCK_H
#define PR_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

#define WALLCLOCK_OFFSET_ENV "PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS"
/* Bound of the offset: one day either way (ms). */
#define WALLCLOCK_OFFSET_MAX_MS (24LL * 3600 * 1000)

/* Parse an offset: optional sign, decimal digits, nothing else, magnitude
 * at most WALLCLOCK_OFFSET_MAX_MS. 0 and *out_ms set, or -EINVAL (NULL,
 * empty, not a number, trailing characters, out of range). */
int wallclock_parse_offset(const char *s, int64_t *out_ms);

/* Read WALLCLOCK_OFFSET_ENV once (later calls return the first result).
 * Unset or empty: offset 0. 0, or -EINVAL when it is set to something
 * wallclock_parse_offset() refuses (the offset then stays 0). Logs a
 * warning when a non-zero offset is in effect. */
int wallclock_init(void);

/* Forget the offset read so that the next use reads the environment
 * again (for unit tests). */
void wallclock_reset(void);

/* The offset in effect, in milliseconds (initialises when needed). */
int64_t wallclock_offset_ms(void);

/* The wall clock in seconds: time(NULL) shifted by the offset. */
time_t wallclock_now(void);

/* The wall clock in microseconds since the epoch (shifted). */
uint64_t wallclock_now_usec(void);

/* The CLOCK_REALTIME value (µs) at which the wall clock will read
 * wall_usec: wall_usec - offset, clamped to [1, UINT64_MAX - 1] (0 and
 * UINT64_MAX have special meanings to sd-event). */
uint64_t wallclock_to_real_usec(uint64_t wall_usec);

/* Same, from whole seconds of wall time (negative: treated as 0). */
uint64_t wallclock_sec_to_real_usec(time_t wall_sec);

#endif
