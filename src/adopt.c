/* adopt.c - after an unusable state, find this pipeline's work in flight; see
 * include/adopt.h. */
#include "adopt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "evtimer.h"
#include "log.h"
#include "personalize.h"
#include "policy.h"
#include "state.h"
#include "timeconst.h"

#define RETRY_ACCURACY_USEC (50 * USEC_PER_MSEC)
#define WHY_MAX             384

/* ---- pure helpers ------------------------------------------------------------ */

bool adopt_wanted(const struct state *st)
{
	if (!st || st->has_run)
		return false;
	return st->recovered;
}

bool adopt_in_progress(const char *status)
{
	return status &&
	       (!strcmp(status, PERSONALIZE_STATUS_CREATE_PENDING) ||
		!strcmp(status, PERSONALIZE_STATUS_CREATE_IN_PROGRESS) ||
		!strcmp(status, "PENDING") || !strcmp(status, "IN PROGRESS"));
}

/* A batch job is further along than a version, a version than an
 * import. */
static int rank(enum adopt_kind k)
{
	return k == ADOPT_BATCH ? 3 : k == ADOPT_VERSION ? 2
	       : k == ADOPT_IMPORT ? 1 : 0;
}

bool adopt_consider(struct adopt_found *best, enum adopt_kind kind,
		    const char *pipeline, const char *suffix, const char *name,
		    const char *arn, const char *status)
{
	time_t fire;

	if (!best || kind == ADOPT_NONE || !name || !adopt_in_progress(status))
		return false;
	if (rt_job_name_parse(pipeline, suffix, name, &fire) < 0)
		return false;
	if (rank(kind) < rank(best->kind) ||
	    (rank(kind) == rank(best->kind) && fire <= best->fire_time))
		return false;
	best->kind = kind;
	best->fire_time = fire;
	snprintf(best->name, sizeof(best->name), "%s", name);
	snprintf(best->arn, sizeof(best->arn), "%s", arn ? arn : "");
	snprintf(best->status, sizeof(best->status), "%s", status);
	return true;
}

/* ---- the scan ----------------------------------------------------------------- */

enum phase { PH_LIST_BATCH, PH_LIST_VERSIONS, PH_DESCRIBE_VERSION,
	     PH_LIST_IMPORTS };

struct adopt_scan {
	struct adopt_io io;
	adopt_done_fn done;
	void *userdata;
	char pipeline[RT_PIPELINE_MAX + 1];
	char solution_arn[RT_ARN_MAX + 1];
	size_t n_datasets;
	char ds_arn[RT_MAX_DATASETS][RT_ARN_MAX + 1];
	char ds_suffix[RT_MAX_DATASETS][RT_SUFFIX_MAX + 1];
	enum rt_batch_kind batch_kind;
	enum phase phase;
	size_t idataset;
	char **cands;        /* versions in progress without a name */
	size_t ncands, icand;
	struct adopt_found best;
	unsigned errors;     /* failures in a row */
	unsigned delay_ms;   /* the backoff's base (rt_backoff_ms) */
	bool queued;         /* waiting for the rate limit */
	struct personalize_op *op;
	sd_event_source *timer;
	uint64_t rng;
};

static void step(struct adopt_scan *s);
static int on_retry(sd_event_source *src, uint64_t usec, void *ud);

static void free_cands(struct adopt_scan *s)
{
	size_t i;

	for (i = 0; i < s->ncands; i++)
		free(s->cands[i]);
	free(s->cands);
	s->cands = NULL;
	s->ncands = s->icand = 0;
}

static void finish(struct adopt_scan *s, bool failed, const char *why)
{
	struct adopt_found found = s->best;

	/* the callback may free s */
	s->done(s->userdata, &found, failed, why);
}

/* A call that still failed after the AWS layer's own retries: rejected
 * ones end the look, the others are tried again after a backoff until the
 * budget is spent. */
static void failed_call(struct adopt_scan *s, const char *op,
			const struct aws_result *res)
{
	char why[WHY_MAX];
	const char *msg = res->message && *res->message ? res->message
			  : res->code ? res->code
			  : aws_error_class_name(res->error);
	bool rejected = res->error == AWS_ERR_CLIENT ||
			(res->error == AWS_ERR_AUTH &&
			 !(res->code && !strcmp(res->code,
						AWS_CODE_NO_CREDENTIALS)));
	unsigned delay;
	int k;

	snprintf(why, sizeof(why), "%s failed (%s): %s", op,
		 aws_error_class_name(res->error), msg);
	if (policy_is_denial(res->code)) {
		policy_denial_text(op, res->message, why, sizeof(why));
		s->best.denied = true;
	}
	if (rejected || ++s->errors >= s->io.max_errors) {
		finish(s, true, why);
		return;
	}
	delay = rt_backoff_ms(&s->delay_ms, s->io.first_delay_ms ?
			      s->io.first_delay_ms : RT_FIRST_POLL_MS,
			      s->io.poll_interval_s * (unsigned)MSEC_PER_SEC,
			      rt_random_next(&s->rng));
	log_warning("%s: looking for in-flight jobs: %s; trying again in %u ms",
		    s->pipeline, why, delay);
	k = evtimer_arm_relative(s->io.event, &s->timer,
				 (uint64_t)delay * USEC_PER_MSEC,
				 RETRY_ACCURACY_USEC, on_retry, s, "adopt-retry");
	if (k < 0) {
		snprintf(why, sizeof(why), "cannot arm the retry timer: %s",
			 strerror(-k));
		finish(s, true, why);
	}
}

static void ok_call(struct adopt_scan *s)
{
	s->errors = 0;
	s->delay_ms = 0;
}

static void on_imports(const struct aws_result *res,
		       const struct personalize_dataset_import_job *jobs,
		       size_t n, void *ud)
{
	struct adopt_scan *s = ud;
	size_t i;

	s->op = NULL;
	if (res->error != AWS_ERR_NONE) {
		failed_call(s, "ListDatasetImportJobs", res);
		return;
	}
	ok_call(s);
	for (i = 0; jobs && i < n; i++)
		(void)adopt_consider(&s->best, ADOPT_IMPORT, s->pipeline,
				     s->ds_suffix[s->idataset], jobs[i].job_name,
				     jobs[i].dataset_import_job_arn,
				     jobs[i].status);
	s->idataset++;
	step(s);
}

static void on_batch_jobs(const struct aws_result *res,
			  const struct personalize_batch_job *jobs, size_t n,
			  void *ud)
{
	struct adopt_scan *s = ud;
	size_t i;

	s->op = NULL;
	if (res->error != AWS_ERR_NONE) {
		failed_call(s, s->batch_kind == RT_BATCH_SEGMENT
				       ? "ListBatchSegmentJobs"
				       : "ListBatchInferenceJobs", res);
		return;
	}
	ok_call(s);
	for (i = 0; jobs && i < n; i++)
		(void)adopt_consider(&s->best, ADOPT_BATCH, s->pipeline,
				     RT_BATCH_SUFFIX, jobs[i].job_name,
				     jobs[i].batch_job_arn, jobs[i].status);
	if (s->best.kind == ADOPT_BATCH) {
		finish(s, false, NULL);
		return;
	}
	s->phase = PH_LIST_VERSIONS;
	step(s);
}

static void on_version(const struct aws_result *res,
		       const struct personalize_solution_version *sv, void *ud)
{
	struct adopt_scan *s = ud;

	s->op = NULL;
	if (res->error != AWS_ERR_NONE && res->error != AWS_ERR_NOT_FOUND) {
		failed_call(s, "DescribeSolutionVersion", res);
		return;
	}
	ok_call(s);
	if (sv)  /* not found: deleted meanwhile, skip it */
		(void)adopt_consider(&s->best, ADOPT_VERSION, s->pipeline,
				     RT_TRAIN_SUFFIX, sv->name,
				     sv->solution_version_arn, sv->status);
	s->icand++;
	step(s);
}

static void on_versions(const struct aws_result *res,
			const struct personalize_solution_version *svs,
			size_t n, void *ud)
{
	struct adopt_scan *s = ud;
	size_t i;

	s->op = NULL;
	if (res->error != AWS_ERR_NONE) {
		failed_call(s, "ListSolutionVersions", res);
		return;
	}
	ok_call(s);
	free_cands(s);
	s->cands = calloc(n ? n : 1, sizeof(*s->cands));
	if (!s->cands) {
		finish(s, true, "out of memory");
		return;
	}
	for (i = 0; svs && i < n; i++) {
		const struct personalize_solution_version *v = &svs[i];

		if (!v->solution_version_arn || !adopt_in_progress(v->status))
			continue;
		if (v->name) {  /* not in the model's summary; honoured */
			(void)adopt_consider(&s->best, ADOPT_VERSION,
					     s->pipeline, RT_TRAIN_SUFFIX, v->name,
					     v->solution_version_arn, v->status);
			continue;
		}
		s->cands[s->ncands] = strdup(v->solution_version_arn);
		if (s->cands[s->ncands])
			s->ncands++;
	}
	s->phase = PH_DESCRIBE_VERSION;
	s->icand = 0;
	step(s);
}

/* Granted by the rate limit: send the current call. */
static void grant(void *cookie)
{
	struct adopt_scan *s = cookie;
	struct aws_result res;
	const char *op = "ListSolutionVersions";
	int k = -EINVAL;

	s->queued = false;
	switch (s->phase) {
	case PH_LIST_BATCH:
		op = s->batch_kind == RT_BATCH_SEGMENT ? "ListBatchSegmentJobs"
						       : "ListBatchInferenceJobs";
		k = personalize_list_batch_jobs(s->io.aws,
						s->batch_kind == RT_BATCH_SEGMENT,
						NULL, on_batch_jobs, s, &s->op);
		break;
	case PH_LIST_VERSIONS:
		k = personalize_list_solution_versions(s->io.aws,
						       s->solution_arn,
						       on_versions, s, &s->op);
		break;
	case PH_DESCRIBE_VERSION:
		op = "DescribeSolutionVersion";
		k = personalize_describe_solution_version(s->io.aws,
							  s->cands[s->icand],
							  on_version, s, &s->op);
		break;
	case PH_LIST_IMPORTS:
		op = "ListDatasetImportJobs";
		k = personalize_list_dataset_import_jobs(s->io.aws,
							 s->ds_arn[s->idataset],
							 on_imports, s, &s->op);
		break;
	}
	if (k < 0) {
		/* never sent: a local failure, tried again like any other */
		memset(&res, 0, sizeof(res));
		res.error = AWS_ERR_INTERNAL;
		res.message = k == -ENOMEM ? "out of memory"
					   : "the request could not be built";
		s->op = NULL;
		failed_call(s, op, &res);
	}
}

static void submit(struct adopt_scan *s)
{
	int k = s->io.submit(s->io.host, s->io.owner, grant, s);

	if (k < 0) {
		char why[WHY_MAX];

		snprintf(why, sizeof(why), "cannot queue a call: %s",
			 strerror(-k));
		finish(s, true, why);
		return;
	}
	s->queued = true;
}

static int on_retry(sd_event_source *src, uint64_t usec, void *ud)
{
	struct adopt_scan *s = ud;

	(void)src;
	(void)usec;
	submit(s);
	return 0;
}

/* The next call of the scan, or its end. */
static void step(struct adopt_scan *s)
{
	if (s->phase == PH_DESCRIBE_VERSION && s->icand >= s->ncands) {
		free_cands(s);
		if (s->best.kind == ADOPT_VERSION) {
			finish(s, false, NULL);
			return;
		}
		s->phase = PH_LIST_IMPORTS;
		s->idataset = 0;
	}
	if (s->phase == PH_LIST_IMPORTS && s->idataset >= s->n_datasets) {
		finish(s, false, NULL);
		return;
	}
	submit(s);
}

int adopt_scan_start(const struct adopt_io *io, const struct rt_spec *spec,
		     adopt_done_fn done, void *userdata,
		     struct adopt_scan **out)
{
	struct adopt_scan *s;
	size_t i;

	if (!io || !io->event || !io->aws || !io->submit || !io->cancel ||
	    !io->max_errors || !io->poll_interval_s || !spec ||
	    !spec->pipeline || !*spec->pipeline || !spec->solution_arn ||
	    !*spec->solution_arn || spec->n_datasets > RT_MAX_DATASETS ||
	    !done || !out)
		return -EINVAL;
	for (i = 0; i < spec->n_datasets; i++)
		if (!spec->datasets[i].arn || !spec->datasets[i].type ||
		    strlen(spec->datasets[i].type) > RT_TYPE_MAX)
			return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->io = *io;
	s->done = done;
	s->userdata = userdata;
	s->rng = io->seed ? io->seed : 0x9E3779B97F4A7C15ULL;
	snprintf(s->pipeline, sizeof(s->pipeline), "%s", spec->pipeline);
	snprintf(s->solution_arn, sizeof(s->solution_arn), "%s",
		 spec->solution_arn);
	s->n_datasets = spec->n_datasets;
	for (i = 0; i < spec->n_datasets; i++) {
		snprintf(s->ds_arn[i], sizeof(s->ds_arn[i]), "%s",
			 spec->datasets[i].arn);
		snprintf(s->ds_suffix[i], sizeof(s->ds_suffix[i]), "%s%s",
			 RT_IMPORT_PREFIX, spec->datasets[i].type);
	}
	s->batch_kind = spec->batch_kind;
	s->phase = s->batch_kind != RT_BATCH_NONE ? PH_LIST_BATCH
						  : PH_LIST_VERSIONS;
	if (s->io.submit(s->io.host, s->io.owner, grant, s) < 0) {
		free(s);
		return -ENOMEM;
	}
	s->queued = true;
	*out = s;
	return 0;
}

void adopt_scan_free(struct adopt_scan *s)
{
	if (!s)
		return;
	if (s->queued)
		s->io.cancel(s->io.host, s);
	else if (s->op)
		personalize_op_cancel(s->op);
	s->timer = sd_event_source_disable_unref(s->timer);
	free_cands(s);
	free(s);
}
