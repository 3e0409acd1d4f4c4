/* daemon.h - the event loop that drives every pipeline: `run` and `once`.
 *
 * One sd-event loop for all pipelines (runner.h), one HTTP client (curl
 * multi on the loop), one credentials chain (creds.h), one global rate
 * limit on API calls (ratelimit.h, MaxApiCallsPerSecond, one timer for its
 * next grant), the state directory's lock taken once.
 *
 * `run` (the daemon): READY=1 once config and state are loaded, with the
 * combined STATUS line; WATCHDOG=1 every half WATCHDOG_USEC; SIGTERM and
 * SIGINT: STOPPING=1, every run saved and frozen (its jobs keep running at
 * AWS and are adopted at the next start), exit 0; SIGHUP: RELOADING=1, the
 * config read again (a bad one is refused, each `file:line: ...` error
 * logged, the old one kept), pipelines added, removed and changed (a run in
 * progress keeps its spec), then READY=1.
 *
 * `once`: the same loop without fire timers; every selected pipeline
 * resumes its unfinished run or starts one for now (truncated to the
 * minute); the loop ends when every run has finished. */
#ifndef PR_DAEMON_H
#define PR_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "retrain.h"

struct config;

/* `once`: transient failures in a row after which a run ends as
 * unreachable (exit 69); each is a call that already used the AWS layer's
 * own retries. */
#define DAEMON_ONCE_MAX_ERRORS 4
/* Tokens the global rate limit holds at once: 1, so that no second sees
 * more than MaxApiCallsPerSecond + 1 calls. */
#define DAEMON_RATE_BURST 1
/* STATUS= is sent at most this often (microseconds): the first change at
 * once, the latest of the following ones at the end of the interval. */
#define DAEMON_STATUS_MIN_USEC 200000ULL
/* After SIGTERM/SIGINT, events still queued for EventBridge
 * (EventBusName) go out before the exit, for at most this long; what is
 * still queued then is dropped with a warning. Far below the unit's
 * TimeoutStopSec. */
#define DAEMON_EVENTS_FLUSH_USEC 5000000ULL

struct daemon_options {
	const char *config_path; /* re-read on SIGHUP */
	const char *state_dir;
	bool once;
	const char *pipeline;    /* once: only this one (NULL: all) */
	/* `rollback` (set once too): roll the pipeline's campaign back to
	 * rollback_to, or to the version it served before the last deploy
	 * (NULL); exit status as once's, or 1/2 when refused (runner.h). */
	bool rollback;
	const char *rollback_to;
};

/* Run the loop with cfg (ownership taken: freed before returning).
 * Returns the process exit status (exitcodes.h): run: 0 after SIGTERM, 70
 * on a setup failure, 78 when the state directory is locked by another
 * process or cannot be used (missing, not writable); once: 0 every run succeeded, 1 one failed, 69 one gave up
 * unreachable, 70 internal error, 128+signal when stopped by a signal
 * (the run is saved; the next `once` or `run` finishes it). */
int daemon_main(const struct daemon_options *opt, struct config *cfg);

/* `once`'s exit status from the outcomes of its runs: any FAILED -> 1,
 * else any UNREACHABLE -> 69, else any NONE (did not finish) -> 70, else 0
 * (also for n == 0). */
int daemon_exit_status(const enum rt_outcome *outcomes, size_t n);

/* One pipeline's line for the combined status. */
struct daemon_status_item {
	const char *name;
	const char *text;  /* runner_status() */
	bool active;
};

/* The STATUS= line for n pipelines into buf (always NUL-terminated,
 * cut with "..." when too long): one pipeline: its text; several: the
 * active ones as "name: text" joined by "; " after "K of N running: ",
 * or, when none is active, "idle, N pipelines, next run <ISO> (<name>)"
 * from the earliest next fire time passed in next_name/next_text
 * (NULL: "idle, N pipelines"). */
void daemon_status_compose(const struct daemon_status_item *items, size_t n,
			   const char *next_name, const char *next_when,
			   char *buf, size_t len);

#endif
