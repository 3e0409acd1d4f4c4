/* adopt.h - after an unusable state: find this pipeline's own work in flight.
 *
 * `once` names its run's jobs after "now, to the minute". When an earlier
 * `once` was killed mid-run and its state file is then unusable (moved
 * aside as *.corrupt-*) or gone, "now" names other jobs than the ones in
 * flight: the new run would wait for them (ResourceInUse) and then import
 * and train again. Before it starts such a run, `once` looks at the
 * service (a driver step before rt_start; the run machine stays as it is):
 *
 *   0. with a batch job (spec.batch_kind): ListBatchInferenceJobs (or
 *      ListBatchSegmentJobs) of the account, unfiltered (the batch job's
 *      version is not known); a job in progress named
 *      rt_job_name(pipeline, F, "batch") is a candidate, and the best of
 *      all: the run for F finds its imports, version and deploy done by
 *      name and adopts the batch job;
 *   1. ListSolutionVersions of the configured solution; every version in
 *      progress (CREATE PENDING / CREATE IN_PROGRESS) whose summary has no
 *      name (the model's summaries have none) is described, one by one;
 *      a version whose name is rt_job_name(pipeline, F, "train") for some
 *      F is a candidate;
 *   2. only when no batch job or version was found: ListDatasetImportJobs of each
 *      configured dataset; a job in progress named
 *      rt_job_name(pipeline, F, "import-<type>") is a candidate.
 *
 * The latest fire time among the candidates wins (a version before any
 * import: it is further along); the run then starts for F with find_first,
 * so every create first looks its job up by name and adopts it. Finished
 * work (ACTIVE, CREATE FAILED, ...) never counts: an earlier run that ended
 * must not stop `once` from running a full cycle now.
 *
 * Every call goes through the host's rate limit (submit/cancel, as the
 * runner's calls do) and the AWS layer's own retries. A call that still
 * fails (throttled, 5xx, reset, malformed) is tried again after a backoff
 * (RT_FIRST_POLL_MS doubling up to the PollInterval, with jitter), up to
 * max_errors failures in a row; a described version that is gone
 * (ResourceNotFound) is skipped. When the look gives up (the budget spent,
 * or a call rejected: access denied, invalid input) the scan reports
 * failure and the driver starts the run for "now" with find_first and a
 * warning: that run's own finds use the same List calls, with the run's
 * retry budget, exit codes and history, so nothing is lost and nothing
 * worse than before happens (at most a second import after the first one
 * ended, never two at once on one dataset). */
#ifndef PR_ADOPT_H
#define PR_ADOPT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "ratelimit.h"
#include "retrain.h"

struct aws_client;
struct state;

enum adopt_kind {
	ADOPT_NONE = 0, /* nothing of ours in progress */
	ADOPT_VERSION,  /* a solution version in training */
	ADOPT_IMPORT,   /* a dataset import job */
	ADOPT_BATCH,    /* a batch inference or segment job */
};

/* What was found: the best candidate so far. */
struct adopt_found {
	enum adopt_kind kind;
	time_t fire_time;
	char name[RT_NAME_MAX + 1];
	char arn[RT_ARN_MAX + 1];
	char status[RT_STATUS_MAX + 1];
	/* the look ended on an IAM denial (why names the action, the
	 * resource and `personalize-retrain policy`): no run may start
	 * blind, it could duplicate a job in flight */
	bool denied;
};

/* True when `once` should look before it starts: the state holds no run
 * and was recovered from an unusable file (moved aside). Not when there
 * is no state file: that is also every first run (a new host, a fresh
 * state directory, a `once` per container), and 1 + datasets List calls
 * per pipeline before each would be spent to find nothing. NULL: false. */
bool adopt_wanted(const struct state *st);

/* True for the statuses of work in progress: CREATE PENDING, CREATE
 * IN_PROGRESS, and the batch jobs' PENDING, IN PROGRESS (as the model's
 * documentation words them). */
bool adopt_in_progress(const char *status);

/* Consider one listed job or version: when status is in progress and name
 * is this pipeline's name for kind (suffix "batch", "train", or
 * "import-<type>") at some fire time, and it is better than *best (a batch
 * job beats a version, a version an import; then the later fire time
 * wins; the first seen on a tie), *best
 * becomes it and true is returned. NULL name/status: false. */
bool adopt_consider(struct adopt_found *best, enum adopt_kind kind,
		    const char *pipeline, const char *suffix, const char *name,
		    const char *arn, const char *status);

/* ---- the scan (asynchronous, on the host's loop) ---------------------- */

struct adopt_scan;

/* The scan ended. found->kind ADOPT_NONE and failed false: nothing of
 * ours in flight; failed true: the look gave up, why says the last error
 * (found is then what was seen so far, usually ADOPT_NONE). The scan may
 * be freed from inside the callback. */
typedef void (*adopt_done_fn)(void *userdata, const struct adopt_found *found,
			      bool failed, const char *why);

struct adopt_io {
	sd_event *event;           /* the retry timer */
	struct aws_client *aws;
	/* the host's rate limit, as in struct runner_host */
	int (*submit)(void *host, unsigned owner, ratelimit_grant_fn grant,
		      void *cookie);
	void (*cancel)(void *host, void *cookie);
	void *host;
	unsigned owner;
	unsigned max_errors;       /* failures in a row before giving up (>= 1) */
	unsigned poll_interval_s;  /* the backoff's cap (>= 1) */
	unsigned first_delay_ms;   /* the first backoff; 0: RT_FIRST_POLL_MS */
	uint64_t seed;             /* jitter */
};

/* Start the scan for spec's pipeline (pipeline, solution and datasets are
 * copied). io is copied. done runs later from the loop, exactly once,
 * unless the scan is freed first. 0 and *out, -EINVAL (bad arguments) or
 * -ENOMEM. */
int adopt_scan_start(const struct adopt_io *io, const struct rt_spec *spec,
		     adopt_done_fn done, void *userdata,
		     struct adopt_scan **out);

/* Cancel whatever is in flight (no callback), free. NULL ok. */
void adopt_scan_free(struct adopt_scan *s);

#endif
