/* plan.c - next timer, catch-up, skip rule; see include/plan.h. */
#include "plan.h"

#include <errno.h>
#include <stddef.h>

/* The epoch anchors rate() schedules; sched_prev() counts fire times
 * strictly after it. */
#define EPOCH_ANCHOR ((time_t)0)

int plan_latest_fire(const struct sched *s, time_t now, time_t *out)
{
	if (!s || !out)
		return -EINVAL;
	return sched_prev(s, EPOCH_ANCHOR, now, out);
}

int plan_next_fire(const struct sched *s, time_t now, time_t *out)
{
	time_t prev;
	int r;

	if (!s || !out)
		return -EINVAL;
	if (sched_kind(s) != SCHED_RATE)
		return sched_next(s, now, out);
	r = sched_prev(s, EPOCH_ANCHOR, now, &prev);
	if (r == -ENOENT)
		prev = EPOCH_ANCHOR; /* now is before the first period */
	else if (r < 0)
		return r;
	return sched_next(s, prev, out);
}

int plan_at_start(const struct sched *s, time_t last_fire, time_t now,
		  bool catch_up, struct plan_start *out)
{
	struct plan_start p = { false, 0, false, 0 };
	time_t latest;
	int r;

	if (!s || !out)
		return -EINVAL;
	if (catch_up && last_fire != 0 &&
	    plan_latest_fire(s, now, &latest) == 0 && latest > last_fire) {
		p.run_now = true;
		p.run_fire = latest;
	}
	r = plan_next_fire(s, now, &p.next_fire);
	if (r < 0 && r != -ENOENT)
		return r;
	p.has_next = r == 0;
	*out = p;
	return 0;
}

enum plan_verdict plan_on_fire(time_t fire_time, time_t last_fire,
			       bool run_active)
{
	if (fire_time <= last_fire)
		return PLAN_SKIP_DONE;
	if (run_active)
		return PLAN_SKIP_BUSY;
	return PLAN_RUN;
}
