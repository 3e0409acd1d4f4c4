/* ratelimit.h - one global cap on API calls per second, shared fairly.
 *
 * A token bucket (rate per second, burst tokens) in front of a round-robin
 * over owners (pipelines): when calls queue up, each owner with a waiting
 * call gets one grant in turn, so one busy pipeline cannot starve the
 * others. Pure bookkeeping: no clock, no timers. The caller passes the
 * monotonic time in, and arms one timer for the time ratelimit_run()
 * returns. */
#ifndef PR_RATELIMIT_H
#define PR_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

typedef void (*ratelimit_grant_fn)(void *cookie);

/* rate_per_s > 0; burst >= 1 (tokens available at once). NULL on ENOMEM
 * or bad arguments. The bucket starts full. */
struct ratelimit *ratelimit_new(double rate_per_s, unsigned burst);
void ratelimit_free(struct ratelimit *rl);

/* Queue one call for owner; fn(cookie) is invoked from ratelimit_run()
 * when it is granted. 0 or -ENOMEM. */
int ratelimit_submit(struct ratelimit *rl, unsigned owner,
		     ratelimit_grant_fn fn, void *cookie);

/* Drop a queued call (e.g. its run was stopped). 0, or -ENOENT. */
int ratelimit_cancel(struct ratelimit *rl, void *cookie);

/* Grant queued calls while tokens last, at monotonic time now_usec, in
 * round-robin order of owners. Returns the monotonic time at which the
 * next queued call can be granted, or 0 when nothing is queued. Grant
 * callbacks may submit new calls. */
uint64_t ratelimit_run(struct ratelimit *rl, uint64_t now_usec);

/* Number of calls waiting. */
unsigned ratelimit_queued(const struct ratelimit *rl);

#endif
