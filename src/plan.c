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

static time_t distance(time_t a, time_t b)
{
	return a > b ? a - b : b - a;
}

int plan_snap(const struct sched *s, time_t t, time_t *out)
{
	time_t before = 0, after = 0, best, n, gap = 0;
	bool has_before, has_after, has_gap = false;

	if (!s || !out)
		return -EINVAL;
	has_before = plan_latest_fire(s, t, &before) == 0;
	has_after = plan_next_fire(s, t, &after) == 0;
	if (has_before && (!has_after || t - before <= after - t))
		best = before;
	else if (has_after)
		best = after;
	else
		return -ENOENT;
	/* the smaller gap from best to its neighbours */
	if (plan_latest_fire(s, best - 1, &n) == 0) {
		gap = best - n;
		has_gap = true;
	}
	if (plan_next_fire(s, best, &n) == 0 && (!has_gap || n - best < gap)) {
		gap = n - best;
		has_gap = true;
	}
	if (distance(t, best) > PLAN_SKEW_TOLERANCE_S ||
	    (has_gap && distance(t, best) * 2 > gap))
		return -ENOENT;
	*out = best;
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
