/* plan.h - when a pipeline runs: next timer, catch-up at start, what to do
 * with a fire time (pure; built on schedule.h's sched_next/sched_prev).
 *
 * Fire times come from the schedule, never from the clock:
 *   - cron(): minute resolution, absolute;
 *   - rate(N unit): anchored at the Unix epoch (fire times are multiples of
 *     the period since 1970-01-01T00:00:00Z), so every host, whenever it
 *     started, computes the same fire times.
 * The driver arms its timer for a fire time F and, when it expires, runs F
 * (not "now"). Two hosts whose clocks differ by up to a minute therefore
 * wake at different moments but run the same F, and the job names derived
 * from F (rt_job_name) are equal: the later one finds the earlier one's
 * jobs by name and follows them. rt_fire_normalize() rounds a fire time to
 * the minute as a last guard. */
#ifndef PR_PLAN_H
#define PR_PLAN_H

#include <stdbool.h>
#include <time.h>

#include "schedule.h"

struct plan_start {
	bool run_now;     /* catch up: run run_fire now */
	time_t run_fire;
	bool has_next;    /* false: the schedule never fires again */
	time_t next_fire; /* arm the timer for this */
};

/* The first fire time strictly after now. 0, or -ENOENT (never again),
 * -EINVAL (NULL). */
int plan_next_fire(const struct sched *s, time_t now, time_t *out);

/* The latest fire time at or before now. 0, or -ENOENT (none). */
int plan_latest_fire(const struct sched *s, time_t now, time_t *out);

/* At start: last_fire is the state's (0: never ran). With catch_up, when a
 * fire time passed after last_fire while we were down, run the latest one
 * now: one run however many were missed. Never on the very first start
 * (last_fire 0: nothing was missed). 0 or -EINVAL. */
int plan_at_start(const struct sched *s, time_t last_fire, time_t now,
		  bool catch_up, struct plan_start *out);

enum plan_verdict {
	PLAN_RUN,        /* start a run for this fire time */
	PLAN_SKIP_BUSY,  /* a run is in progress: log it (feed RT_EV_FIRE to
			  * the run for the line), record it, skip it */
	PLAN_SKIP_DONE,  /* at or before last_fire: already run or skipped
			  * (a timer that fired twice, a clock stepped back) */
};

/* What to do when the timer for fire_time expires. */
enum plan_verdict plan_on_fire(time_t fire_time, time_t last_fire,
			       bool run_active);

#endif
