/* runner.h - one pipeline driven on the daemon's sd-event loop.
 *
 * A runner owns what one pipeline needs at run time: its state (state.h),
 * the run in progress (retrain.h), its AWS client, its fire timer
 * (CLOCK_REALTIME, the next fire time of the schedule), its run deadline
 * (CLOCK_REALTIME) and one poll timer per slot (CLOCK_MONOTONIC). It
 * executes the run's actions as retrain.h's driver contract says: CALL ->
 * the personalize.h operation, submitted through the host's global rate
 * limit; SAVE -> state_save_packed (intents and stops at once, fsync'd
 * when durable; progress saves within a second, merged); TIMER; DEADLINE;
 * LOG -> log_struct with PIPELINE=, STAGE=, JOB_ARN=, AWS_REQUEST_ID=,
 * MESSAGE_ID=; STATUS -> the runner's status text (the host combines the
 * texts of all runners into one STATUS= line); FINISHED ->
 * state_finish_run + state_save.
 *
 * Memory: an idle runner holds none of its state (the file is the state;
 * only last_fire is kept); an active one holds its run and the rest of the
 * state packed (state.h), about 17 kB, so that 1,000 pipelines fit in a
 * few megabytes while idle.
 *
 * The host (daemon.c) owns the loop, the HTTP client, the credentials, the
 * rate limit and the state directory's lock, and is told through
 * runner_host.changed() whenever a runner's status text changes or its
 * run finishes. */
#ifndef PR_RUNNER_H
#define PR_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "ratelimit.h"
#include "retrain.h"
#include "state.h"

struct pipeline;
struct runner;
struct hook_runner;

#define RUNNER_STATUS_MAX 256

/* What the host lends every runner (must outlive them). */
struct runner_host {
	sd_event *event;
	struct http_client *http;
	const struct aws_creds_provider *creds;
	/* the AWS and S3 clients, shared by the runners of one region and
	 * endpoint (clientpool.h; required) */
	struct client_pool *clients;
	const char *state_dir;
	/* state_dir opened (state_dir_open), or -1: the state writes use it */
	int state_dirfd;
	/* Queue one API call behind the global rate limit; grant(cookie) runs
	 * from the loop when it may be sent. 0 or -ENOMEM. */
	int (*submit)(void *host, unsigned owner, ratelimit_grant_fn grant,
		      void *cookie);
	/* Forget a queued call. */
	void (*cancel)(void *host, void *cookie);
	/* The runner's status text changed, or its run finished. */
	void (*changed)(void *host, struct runner *r);
	void *userdata;
	/* `once`: no fire timer, runs end as unreachable after this many
	 * transient failures in a row (0: keep trying until the deadline). */
	bool once;
	unsigned max_consecutive_errors;
	/* `rollback` (with once): runner_start starts a rollback run
	 * (rt_rollback_start) to rollback_to, or when NULL to the state's
	 * campaign_prev_version, instead of resuming or starting a
	 * retraining run; an unfinished retraining run in the state is left
	 * as it is. */
	bool rollback;
	const char *rollback_to;
	/* OnRunEnd: started here after every retraining run (NULL: none) */
	struct hook_runner *hooks;
	/* MetricsFile: the registry (NULL: none); every runner updates its
	 * pipeline's series and the AWS clients count their calls in it;
	 * metrics_changed() after every stage change and run end (the host
	 * writes the file). */
	struct metrics *metrics;
	void (*metrics_changed)(void *host);
};

/* Create the runner for pipeline p (borrowed: it must stay valid until
 * runner_set_pipeline() or runner_free()); owner is its id for the rate
 * limit. Creates its AWS client (region and endpoint from p). Nothing is
 * read or armed yet. 0, -EINVAL (bad pipeline, AWS client refused it, a
 * message is logged), -ENOMEM. */
int runner_new(const struct runner_host *host, unsigned owner,
	       const struct pipeline *p, struct runner **out);

/* Stop everything in flight without saving (no callbacks), free. NULL ok. */
void runner_free(struct runner *r);

/* Load the state (the host holds the directory's lock), then per
 * retrain.h: resume an unfinished run; after a recovered (corrupt) state
 * file, start the latest fire time with find-first; else catch up per
 * plan_at_start(). The daemon then arms the fire timer; `once` (host->once)
 * instead starts a fresh run for `now` truncated to the minute when there
 * is nothing to resume, except after a recovered (corrupt) state file
 * (adopt_wanted): it first looks for this pipeline's work in flight
 * (adopt.h; runner_active() is true meanwhile) and, when found, starts the
 * run for that work's fire time with find-first. 0, or -errno (state
 * unreadable: logged). */
int runner_start(struct runner *r, time_t now);

/* Shutting down: RT_EV_STOP to the run (it saves), cancel calls and
 * timers. The jobs keep running at AWS and are adopted at the next start. */
void runner_stop(struct runner *r);

/* A reloaded config: p is the pipeline's new definition (same name). A run
 * in progress keeps the spec it started with; the next run uses p. The
 * fire timer is re-armed for p's schedule. A runner whose state could not
 * be loaded at start is started now (runner_start). 0 or -errno. */
int runner_set_pipeline(struct runner *r, const struct pipeline *p,
			time_t now);

const char *runner_name(const struct runner *r);
/* A run is in progress. */
bool runner_active(const struct runner *r);
/* EventBusName: events queued or being sent (`once` waits for them). */
size_t runner_events_pending(const struct runner *r);
/* The current status text: the run's last STATUS line, or "idle, next run
 * <ISO time>" / "idle, no further run scheduled". */
const char *runner_status(const struct runner *r);
/* The next fire time armed (false: none). */
bool runner_next_fire(const struct runner *r, time_t *out);
/* The outcome of the last run this process finished (RT_OUT_NONE: none). */
enum rt_outcome runner_last_outcome(const struct runner *r);
/* errno of the latest state save that failed (a run stopped by it, or a
 * finished run whose end is not on disk), 0 if none since. */
int runner_save_error(const struct runner *r);
/* `rollback`: the exit status (exitcodes.h) when the rollback could not
 * even start (1: refused, e.g. no previous version, a run deploying, the
 * campaign already serves it; 2: bad arguments, no campaign), else 0. */
int runner_rollback_refused(const struct runner *r);

/* The aws layer's code when no credentials could be had (nothing sent). */
#define RUNNER_CODE_NO_CREDS AWS_CODE_NO_CREDENTIALS
/* A run without credentials for this long (at most; ten PollIntervals when
 * shorter) fails with this reason; STATUS= says it until credentials
 * work again. */
#define RUNNER_NO_CREDS_WAIT_S 60
#define RUNNER_NO_CREDS_TEXT "no AWS credentials"

/* Map the AWS layer's error class (and code, may be NULL) to the run's
 * result class: exists, in use, not found as such; client and auth errors
 * INVALID, except credentials that could not be loaded (code
 * RUNNER_CODE_NO_CREDS: nothing was sent), TRANSIENT; throttling,
 * transient and limit-exceeded TRANSIENT; unavailable (transport),
 * malformed replies and local failures UNKNOWN (a create may have gone
 * through). */
enum rt_result runner_map_result(enum aws_error_class e, const char *code);

/* Fill spec from pipeline p (pointers into p; valid while p is); a run
 * gives up as unreachable after max_errors + 2 per further dataset
 * transient failures in a row (max_errors 0: never). 0 or -EINVAL (more
 * datasets than a run holds). */
int runner_spec_from_pipeline(const struct pipeline *p, unsigned max_errors,
			      struct rt_spec *spec);

#endif
