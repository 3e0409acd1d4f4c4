/* wallclock.h - the daemon's one source of wall-clock time, with two
 * test-only hooks: an offset (a skewed host) and a time scale (a time
 * lapse, so that a test sees several whole-minute fire times in seconds).
 *
 * Two clocks are read through here:
 *   - the schedule clock, wallclock_now() / wallclock_now_usec(): what time
 *     it is for the schedule and the plan (fire times, catch-up), run
 *     deadlines, the state's and status's timestamps, metrics; every
 *     CLOCK_REALTIME timer for such a time is armed through
 *     wallclock_to_real_usec() / wallclock_sec_to_real_usec();
 *   - the host clock, wallclock_host_now(): the time this host tells other
 *     parties and compares with theirs: SigV4's request time (X-Amz-Date,
 *     credential scope; aws.c, s3.c, with their clock correction from the
 *     server's Date) and the expiry of temporary credentials (creds.c; its
 *     refresh timer goes through wallclock_host_sec_to_real_usec()).
 * Normally both are the plain system clock, at the cost of one branch.
 *
 * Test hooks (environment, read once: wallclock_init(), or lazily at the
 * first use; never set them in production):
 *   - WALLCLOCK_OFFSET_ENV (PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS), a
 *     signed number of milliseconds: the process behaves as if its host's
 *     clock were that far ahead (positive) or behind (negative). Both
 *     clocks carry it: a skewed host signs with its skewed time too. It
 *     lets one machine run "two hosts with skewed clocks" (CLOCK_REALTIME
 *     cannot be namespaced).
 *   - WALLCLOCK_SCALE_ENV (PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE), an
 *     integer N in 1..WALLCLOCK_SCALE_MAX, with WALLCLOCK_ANCHOR_ENV
 *     (PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR), epoch seconds within
 *     WALLCLOCK_ANCHOR_MAX_DIST_S of the system clock (required when N > 1):
 *     the schedule clock runs N times as fast from the anchor,
 *         schedule = anchor + (system - anchor) * N + offset,
 *     so processes started at different moments with the same anchor and
 *     N agree on the schedule clock (the emulator honours the same two
 *     variables for its resources' timestamps: tests/emulator/README.md).
 *     The host clock is never scaled: a request signed N times too fast
 *     would leave the server's window (AWS and the emulator accept 5
 *     minutes) within seconds, and credential expiry times come from
 *     another party's real clock. Poll and retry delays are
 *     CLOCK_MONOTONIC durations and are not scaled either. */
#ifndef PR_WALLCLOCK_H
#define PR_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

#define WALLCLOCK_OFFSET_ENV "PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS"
#define WALLCLOCK_SCALE_ENV  "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
#define WALLCLOCK_ANCHOR_ENV "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"
/* Bound of the offset: one day either way (ms). */
#define WALLCLOCK_OFFSET_MAX_MS (24LL * 3600 * 1000)
/* Bound of the scale: an hour per second. */
#define WALLCLOCK_SCALE_MAX 3600U
/* Largest anchor accepted by the parser (epoch seconds, year 2286). */
#define WALLCLOCK_ANCHOR_MAX_S 9999999999LL
/* How far the anchor may be from the system clock at wallclock_init()
 * (a test anchors at its own start): one day. */
#define WALLCLOCK_ANCHOR_MAX_DIST_S (24LL * 3600)

/* Parse an offset: optional sign, decimal digits, nothing else, magnitude
 * at most WALLCLOCK_OFFSET_MAX_MS. 0 and *out_ms set, or -EINVAL (NULL,
 * empty, not a number, trailing characters, out of range). */
int wallclock_parse_offset(const char *s, int64_t *out_ms);

/* Parse a scale: decimal digits only, 1..WALLCLOCK_SCALE_MAX. 0 and *out
 * set, or -EINVAL. */
int wallclock_parse_scale(const char *s, uint32_t *out);

/* Parse an anchor: decimal digits only (epoch seconds), 1 ..
 * WALLCLOCK_ANCHOR_MAX_S. 0 and *out_s set, or -EINVAL. */
int wallclock_parse_anchor(const char *s, int64_t *out_s);

/* The scale's arithmetic (pure): anchor_s + (real_us - anchor) * scale, in
 * µs since the epoch, saturating at INT64_MIN/INT64_MAX. scale 0 or 1:
 * real_us unchanged. */
int64_t wallclock_scale_usec(int64_t real_us, int64_t anchor_s,
			     uint32_t scale);

/* Its inverse (pure): the earliest real µs whose scaled value is at least
 * scaled_us (so that a timer armed there never wakes before its time),
 * saturating. scale 0 or 1: scaled_us unchanged. */
int64_t wallclock_unscale_usec(int64_t scaled_us, int64_t anchor_s,
			       uint32_t scale);

/* Read the three variables once (later calls return the first result).
 * Unset or empty: offset 0, scale 1. 0, or -EINVAL when one is set to
 * something the parsers refuse, the scale is above 1 without an anchor,
 * or the anchor is more than WALLCLOCK_ANCHOR_MAX_DIST_S off the system
 * clock; each problem is logged, and then no hook is in effect. Logs a
 * warning when a hook is in effect. */
int wallclock_init(void);

/* Forget what was read so that the next use reads the environment again.
 * Test seam: the unit tests try one setting after another in one process;
 * the daemon reads the environment once. */
void wallclock_reset(void);

/* The offset in effect, in milliseconds (initialises when needed). */
int64_t wallclock_offset_ms(void);

/* The scale in effect (1: none) and its anchor (epoch seconds; 0 when the
 * scale is 1). Initialise when needed. Test seam: the emulator reads
 * them for its clock and its state report; the daemon reads its clocks
 * through the functions below. */
uint32_t wallclock_scale(void);
int64_t wallclock_anchor(void);

/* The schedule clock in seconds: time(NULL), scaled and shifted. */
time_t wallclock_now(void);

/* The schedule clock in microseconds since the epoch (scaled, shifted). */
uint64_t wallclock_now_usec(void);

/* The scale alone applied to a system-clock reading (µs), without the
 * offset (wallclock_now_usec() adds it): exported for the emulator, which
 * keeps its own skew. */
int64_t wallclock_scaled_from_real_usec(int64_t real_us);

/* The CLOCK_REALTIME value (µs) at which the schedule clock will read
 * wall_usec: unscaled (wall_usec - offset), rounded up, clamped to
 * [1, UINT64_MAX - 1] (0 and UINT64_MAX have special meanings to
 * sd-event). */
uint64_t wallclock_to_real_usec(uint64_t wall_usec);

/* Same, from whole seconds of schedule time (negative: treated as 0). */
uint64_t wallclock_sec_to_real_usec(time_t wall_sec);

/* The host clock in seconds: time(NULL) shifted by the offset, never
 * scaled (SigV4 request time, credential expiry). */
time_t wallclock_host_now(void);

/* The CLOCK_REALTIME value (µs) at which the host clock will read
 * host_sec: host_sec - offset, clamped as wallclock_to_real_usec(). */
uint64_t wallclock_host_sec_to_real_usec(time_t host_sec);

#endif
