/* runner.c - one pipeline on the sd-event loop: executes the actions of its
 * run (retrain.h) and turns replies and timers into events; see
 * include/runner.h. */
#include "runner.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "adopt.h"
#include "clientpool.h"
#include "config.h"
#include "creds.h"
#include "events.h"
#include "evtimer.h"
#include "exitcodes.h"
#include "gate.h"
#include "hook.h"
#include "metrics.h"
#include "log.h"
#include "msgid.h"
#include "personalize.h"
#include "plan.h"
#include "policy.h"
#include "s3.h"
#include "timeconst.h"
#include "wallclock.h"

/* Timer accuracy: poll delays are seconds long, fire times minutes. */
#define POLL_ACCURACY_USEC (50 * USEC_PER_MSEC)
#define FIRE_ACCURACY_USEC (100 * USEC_PER_MSEC)
/* Versions created this long before the fire time cannot be ours (other
 * hosts' clocks may be up to a minute ahead: twice that margin). */
#define FIND_VERSION_MARGIN_S (2 * 60)
/* Progress saves (retrain.h: neither intent nor durable) are written at
 * most this long after the change, together: a burst of replies costs one
 * write; the next intent, the end or a stop writes them at once anyway. */
#define SAVE_DELAY_USEC    (1000 * USEC_PER_MSEC)
/* The daemon tries a run stopped by a failed save again this long after. */
#define SAVE_RETRY_USEC    (60 * USEC_PER_SEC)
/* The look for work in flight after an unusable state gives up after this
 * many failures in a row when the host sets no budget. */
#define DEFAULT_ADOPT_ERRORS 4

/* The call's strings, copied when the action is executed. */
enum call_str {
	CS_NAME, CS_ARN, CS_DATASET_ARN, CS_DATASET_TYPE, CS_S3_PATH,
	CS_ROLE_ARN, CS_IMPORT_MODE, CS_SOLUTION_ARN, CS_TRAINING_MODE,
	CS_CAMPAIGN_ARN, CS_VERSION_ARN, CS_BATCH_OUTPUT, CS_FILTER_ARN,
	CS_COUNT
};

struct pcall {
	struct runner *r;
	struct pcall *next;
	int slot;
	uint32_t token;
	enum rt_op op;
	char *s[CS_COUNT];
	unsigned num_results;        /* batch jobs */
	bool queued;                 /* waiting for the rate limit */
	struct personalize_op *op_handle; /* in flight */
	struct s3_head *head_handle;      /* RT_OP_HEAD_OBJECT in flight */
	struct s3_list *list_handle;      /* the same for a folder */
	/* RT_OP_FIND_VERSION: candidates to describe, one by one */
	char **cands;
	size_t ncands, icand;
	bool other_busy;
	char *other_name;
	char request_id[64];
};

struct runner {
	const struct runner_host *host;
	unsigned owner;
	const struct pipeline *p;
	char name[RT_PIPELINE_MAX + 1];
	struct aws_client *aws;
	struct s3_client *s3;  /* SkipUnchangedData's HeadObject */
	/* The state is the file while idle: nothing of it is held but
	 * last_fire. While a retraining run is active, the rest of it is held
	 * packed (state.h) and each save writes packed + run. held: the full
	 * state, only for a rollback (`rollback` command) or when saving a
	 * finished run failed (the next run starts from it, not the file). */
	time_t last_fire;
	struct state_packed packed;
	bool have_packed;
	struct state *held;
	bool save_pending;          /* a progress save not yet written */
	sd_event_source *save_timer;
	/* errno of the latest save that failed (0: none since it last
	 * worked); a run is stopped then, and the daemon tries it again */
	int save_errno;
	sd_event_source *save_retry;
	struct rt_run *run;   /* while a run is active (NULL when idle) */
	/* a fire time that passed while the daemon was down, behind a saved
	 * run that was resumed at start: run once that run ends (CatchUp) */
	time_t catchup_fire;
	bool catchup_armed;  /* the fire timer holds that catch-up */
	/* catchup_fire is a fire time that came while a kept run (one that
	 * had stopped polling, retrain.h) was being adopted, not one that
	 * passed while the daemon was down */
	bool catchup_kept;
	/* the fire time of the run that stopped polling and is kept in the
	 * state for the next run to adopt (0: none): for the status line */
	time_t kept_fire;
	bool active;
	bool started;
	bool client_stale;   /* reloaded while a run used the old client */
	struct pcall *calls;
	sd_event_source *fire_timer;
	bool has_next;
	time_t next_fire;
	sd_event_source *deadline;
	sd_event_source *slot_timer[RT_NSLOTS];
	uint32_t slot_token[RT_NSLOTS];
	/* No credentials (RUNNER_CODE_NO_CREDS): since when, in the run of
	 * which fire time; once that lasts no_creds_wait(), the run fails
	 * and STATUS= says so until a call gets credentials again. */
	time_t no_creds_since, no_creds_fire;
	bool no_creds_failed;
	char status[RUNNER_STATUS_MAX];
	enum rt_outcome last_outcome;
	char last_stage[32];  /* STAGE= of the run's latest log line */
	struct metrics_pipeline *mp;  /* MetricsFile series, or NULL */
	enum rt_stage m_stage;        /* stage the metrics last saw */
	time_t m_stage_since;
	double m_stage_s[RT_STAGE_LAST + 1]; /* time per stage, this run */
	int rollback_refused;
	uint64_t rng;
	/* `once` after an unusable state: looking for this pipeline's work in
	 * flight before the run starts (adopt.h). The (empty) state is not
	 * held meanwhile (24 kB per pipeline): only where the unusable file
	 * went (for the log). */
	struct adopt_scan *adopt;
	char *adopt_moved_to;
	/* EventBusName: the run's events (events.h), sent through their own
	 * EventBridge client, never through the rate limit (NULL: none) */
	struct aws_client *ev_client;
	struct events_queue *events;
	char *ev_key;            /* bus, region and endpoint they were made for */
	enum rt_stage ev_stage;  /* the stage the last event reported */
};

static void execute(struct runner *r, const struct rt_actions *acts);
static int arm_fire(struct runner *r, time_t now);
static int arm_catchup(struct runner *r);
static int resume_kept(struct runner *r, struct state *st, time_t now,
		       bool at_start);
static int make_client(const struct runner_host *host, const struct pipeline *p,
		       struct aws_client **out, struct s3_client **s3_out);
static void put_clients(struct runner *r);

_Static_assert(CONFIG_DATASET_COUNT <= RT_MAX_DATASETS,
	       "a run must hold every dataset type the config can name");

/* ---- small helpers ----------------------------------------------------------- */

enum rt_result runner_map_result(enum aws_error_class e, const char *code)
{
	/* No credentials yet (a metadata service not up, a refresh that
	 * failed): nothing was sent; try again later. */
	if (e == AWS_ERR_AUTH && code && !strcmp(code, RUNNER_CODE_NO_CREDS))
		return RT_RES_TRANSIENT;
	switch (e) {
	case AWS_ERR_NONE:
		return RT_RES_OK;
	case AWS_ERR_ALREADY_EXISTS:
		return RT_RES_ALREADY_EXISTS;
	case AWS_ERR_IN_USE:
		return RT_RES_IN_USE;
	case AWS_ERR_NOT_FOUND:
		return RT_RES_NOT_FOUND;
	case AWS_ERR_CLIENT:
	case AWS_ERR_AUTH:
		return RT_RES_INVALID;
	case AWS_ERR_THROTTLED:
	case AWS_ERR_TRANSIENT:
	case AWS_ERR_LIMIT_EXCEEDED:
		return RT_RES_TRANSIENT;
	case AWS_ERR_UNAVAILABLE:
	case AWS_ERR_MALFORMED_REPLY:
	case AWS_ERR_INTERNAL:
	default:
		return RT_RES_UNKNOWN;
	}
}

int runner_spec_from_pipeline(const struct pipeline *p, unsigned max_errors,
			      struct rt_spec *spec)
{
	struct rt_spec s;
	int t;

	if (!p || !spec)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.pipeline = p->name;
	s.role_arn = p->import_role_arn;
	s.solution_arn = p->solution_arn;
	s.campaign_arn = p->campaign_arn;
	for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
		const struct config_dataset *d = &p->datasets[t];

		if (!d->set)
			continue;
		if (s.n_datasets >= RT_MAX_DATASETS)
			return -EINVAL;
		s.datasets[s.n_datasets].type =
			config_dataset_type_name((enum config_dataset_type)t);
		s.datasets[s.n_datasets].arn = d->arn;
		s.datasets[s.n_datasets].s3_path = d->s3_path;
		s.n_datasets++;
	}
	s.training_mode = p->training_mode == CONFIG_TRAINING_UPDATE ?
			  RT_TRAIN_UPDATE : RT_TRAIN_FULL;
	s.import_mode = p->import_mode == CONFIG_IMPORT_INCREMENTAL ?
			RT_IMPORT_INCREMENTAL : RT_IMPORT_FULL;
	s.gate = gate_enabled(&p->gate) ? &p->gate : NULL;
	s.skip_unchanged = p->skip_unchanged;
	s.batch_kind = p->batch_kind == CONFIG_BATCH_SEGMENT ? RT_BATCH_SEGMENT
		       : p->batch_kind == CONFIG_BATCH_INFERENCE
			       ? RT_BATCH_INFERENCE : RT_BATCH_NONE;
	s.batch_input = p->batch_input;
	s.batch_output = p->batch_output;
	s.batch_role_arn = p->batch_role_arn;
	s.batch_num_results = p->batch_num_results;
	s.batch_filter_arn = p->batch_filter_arn;
	s.poll_interval_s = p->poll_interval ? p->poll_interval : 1;
	/* 0 in the config means "no limit": a week of the run's own bound. */
	s.max_run_duration_s = p->max_run_duration ? p->max_run_duration
						   : 7u * 24 * 3600;
	/* the imports fail together: a round of them counts once per dataset */
	s.max_consecutive_errors = max_errors ?
		max_errors + 2 * (unsigned)(s.n_datasets - 1) : 0;
	*spec = s;
	return 0;
}

static void set_idle_status(struct runner *r)
{
	const char *pre = r->no_creds_failed ?
		"last run failed: " RUNNER_NO_CREDS_TEXT "; " : "";
	char when[32];

	if (r->kept_fire) {
		char kept[32];

		sched_format_utc(r->kept_fire, kept, sizeof(kept));
		sched_format_utc(r->next_fire, when, sizeof(when));
		snprintf(r->status, sizeof(r->status),
			 "idle, the run for %s stopped polling and is kept: %s%s adopts its jobs first",
			 kept, r->has_next ? "the next run at " : "the next run",
			 r->has_next ? when : "");
	} else if (r->has_next) {
		sched_format_utc(r->next_fire, when, sizeof(when));
		snprintf(r->status, sizeof(r->status), "%sidle, next run %s",
			 pre, when);
	} else if (r->host->once) {
		snprintf(r->status, sizeof(r->status), "%sidle", pre);
	} else {
		snprintf(r->status, sizeof(r->status),
			 "%sidle, no further run scheduled", pre);
	}
}

/* How long a run waits for credentials before it fails: a minute, or ten
 * PollIntervals when they are shorter (the calls are retried with backoff
 * up to PollInterval, so the run fails at the first retry after that). */
static time_t no_creds_wait(const struct runner *r)
{
	time_t ten = 10 * (time_t)(r->p->poll_interval ? r->p->poll_interval
						       : 1);

	return ten < RUNNER_NO_CREDS_WAIT_S ? ten : RUNNER_NO_CREDS_WAIT_S;
}

/* Missing credentials are a setup problem, not a passing fault: after
 * no_creds_wait() without any, the reply becomes a rejection that fails
 * the run (its reason: RUNNER_NO_CREDS_TEXT). */
static void note_credentials(struct runner *r, const struct aws_result *res,
			     struct rt_event *e)
{
	time_t fire = r->run ? r->run->fire_time : 0;

	if (res->error != AWS_ERR_AUTH || !res->code ||
	    strcmp(res->code, RUNNER_CODE_NO_CREDS)) {
		r->no_creds_since = 0;
		if (res->error == AWS_ERR_NONE)
			r->no_creds_failed = false;
		return;
	}
	if (!r->no_creds_since || r->no_creds_fire != fire) {
		r->no_creds_since = e->now;
		r->no_creds_fire = fire;
	}
	if (e->now - r->no_creds_since < no_creds_wait(r))
		return;
	e->result = RT_RES_INVALID;
	e->error = RUNNER_NO_CREDS_TEXT " (none of: environment, systemd "
		   "credentials, profile, container or instance role; see "
		   "`personalize-retrain credentials`)";
	r->no_creds_failed = true;
}

static void changed(struct runner *r)
{
	if (r->host->changed)
		r->host->changed(r->host->userdata, r);
}

static void init_event(struct runner *r, struct rt_event *ev,
		       enum rt_event_kind kind, int slot, uint32_t token)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->slot = slot;
	ev->token = token;
	ev->now = wallclock_now();
	ev->random = rt_random_next(&r->rng);
}

static void step(struct runner *r, const struct rt_event *ev)
{
	struct rt_actions acts;
	int k;

	if (!r->active)
		return;
	k = rt_step(r->run, ev, &acts);
	if (k == -ESTALE)
		return;
	if (k < 0) {
		log_error("%s: internal error feeding the run: %s", r->name,
			  strerror(-k));
		return;
	}
	execute(r, &acts);
}

/* ---- calls ------------------------------------------------------------------------ */

static int dup_str(char **dst, const char *src)
{
	if (!src) {
		*dst = NULL;
		return 0;
	}
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static void pcall_free(struct pcall *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CS_COUNT; i++)
		free(c->s[i]);
	for (i = 0; i < c->ncands; i++)
		free(c->cands[i]);
	free(c->cands);
	free(c->other_name);
	free(c);
}

static void pcall_unlink(struct pcall *c)
{
	struct pcall **pp;

	for (pp = &c->r->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void pcall_drop(struct pcall *c)
{
	if (c->queued)
		c->r->host->cancel(c->r->host->userdata, c);
	else if (c->head_handle)
		s3_head_cancel(c->head_handle);
	else if (c->list_handle)
		s3_list_cancel(c->list_handle);
	else
		personalize_op_cancel(c->op_handle);
	pcall_free(c);
}

/* The call is over: feed the reply to the run. ev is filled but for the
 * kind/slot/token/now/random and the result fields. */
static void finish_call(struct pcall *c, struct rt_event *ev,
			const struct aws_result *res)
{
	struct runner *r = c->r;
	struct rt_event e = *ev;
	struct rt_event base;
	char denied[RT_REASON_MAX + 1];

	init_event(r, &base, RT_EV_REPLY, c->slot, c->token);
	e.kind = base.kind;
	e.slot = base.slot;
	e.token = base.token;
	e.now = base.now;
	e.random = base.random;
	if (res) {
		e.result = runner_map_result(res->error, res->code);
		e.not_sent = res->error == AWS_ERR_AUTH &&
			     aws_code_is_no_credentials(res->code);
		if (res->error != AWS_ERR_NONE) {
			e.error = res->message && *res->message ? res->message
								: res->code;
			e.error_code = res->code;
		}
		/* a denial is final (never retried): name what to fix */
		if (res->error != AWS_ERR_NONE && policy_is_denial(res->code)) {
			policy_denial_text(res->operation, res->message, denied,
					   sizeof(denied));
			e.error = denied;
		}
		if (res->request_id)
			e.request_id = res->request_id;
		note_credentials(r, res, &e);
	}
	pcall_unlink(c);
	step(r, &e);
	pcall_free(c);
}

static void on_arn(const struct aws_result *res, const char *arn, void *ud)
{
	struct pcall *c = ud;
	struct rt_event ev;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	ev.arn = arn;
	finish_call(c, &ev, res);
}

/* What the run needs of a job (import or batch) in a Describe or List
 * reply. */
struct job_view {
	const char *name, *arn, *status, *failure_reason;
};
typedef void (*job_view_fn)(const void *item, struct job_view *out);

static void view_import(const void *item, struct job_view *v)
{
	const struct personalize_dataset_import_job *j = item;

	v->name = j->job_name;
	v->arn = j->dataset_import_job_arn;
	v->status = j->status;
	v->failure_reason = j->failure_reason;
}

static void view_batch(const void *item, struct job_view *v)
{
	const struct personalize_batch_job *j = item;

	v->name = j->job_name;
	v->arn = j->batch_job_arn;
	v->status = j->status;
	v->failure_reason = j->failure_reason;
}

/* A Describe of a job answered (item NULL on failure). */
static void reply_job(struct pcall *c, const struct aws_result *res,
		      const void *item, job_view_fn view)
{
	struct rt_event ev;
	struct job_view v;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	if (item) {
		view(item, &v);
		ev.status = v.status;
		ev.failure_reason = v.failure_reason;
		ev.arn = v.arn;
	}
	finish_call(c, &ev, res);
}

/* A List of jobs answered: ours by name, else (busy_blocks: only when
 * another job in progress keeps ours from starting, as on a dataset)
 * another one in progress. */
static void reply_jobs(struct pcall *c, const struct aws_result *res,
		       const void *items, size_t n, size_t size,
		       job_view_fn view, bool busy_blocks)
{
	struct rt_event ev;
	struct job_view v;
	size_t i;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	for (i = 0; items && i < n; i++) {
		view((const char *)items + i * size, &v);
		if (v.name && c->s[CS_NAME] && !strcmp(v.name, c->s[CS_NAME])) {
			ev.found = true;
			ev.arn = v.arn;
			ev.status = v.status;
			ev.failure_reason = v.failure_reason;
			break;
		}
		if (busy_blocks && !ev.other_busy &&
		    adopt_in_progress(v.status)) {
			ev.other_busy = true;
			ev.other_name = v.name ? v.name : v.arn;
		}
	}
	if (ev.found) {
		ev.other_busy = false;
		ev.other_name = NULL;
	}
	finish_call(c, &ev, res);
}

static void on_import_job(const struct aws_result *res,
			  const struct personalize_dataset_import_job *job,
			  void *ud)
{
	reply_job(ud, res, job, view_import);
}

static void on_import_jobs(const struct aws_result *res,
			   const struct personalize_dataset_import_job *jobs,
			   size_t n, void *ud)
{
	reply_jobs(ud, res, jobs, n, sizeof(*jobs), view_import, true);
}

static void on_batch_job(const struct aws_result *res,
			 const struct personalize_batch_job *job, void *ud)
{
	reply_job(ud, res, job, view_batch);
}

/* Other batch jobs of the version do not keep ours from starting. */
static void on_batch_jobs(const struct aws_result *res,
			  const struct personalize_batch_job *jobs, size_t n,
			  void *ud)
{
	reply_jobs(ud, res, jobs, n, sizeof(*jobs), view_batch, false);
}

static void on_version(const struct aws_result *res,
		       const struct personalize_solution_version *sv, void *ud);

static int start_call(struct pcall *c);

static void on_versions(const struct aws_result *res,
			const struct personalize_solution_version *svs,
			size_t n, void *ud)
{
	struct pcall *c = ud;
	struct rt_event ev;
	time_t since = c->r->run->fire_time - FIND_VERSION_MARGIN_S;
	size_t i;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	if (res->error != AWS_ERR_NONE || !svs) {
		finish_call(c, &ev, res);
		return;
	}
	c->cands = calloc(n ? n : 1, sizeof(*c->cands));
	if (!c->cands) {
		struct aws_result r2 = *res;

		r2.error = AWS_ERR_INTERNAL;
		r2.message = "out of memory";
		finish_call(c, &ev, &r2);
		return;
	}
	/* Newest first, as the service lists them. A summary with a name (not
	 * in the model, but cheap to honour) settles it without a describe. */
	for (i = 0; i < n; i++) {
		const struct personalize_solution_version *v = &svs[i];

		if (!v->solution_version_arn)
			continue;
		if (v->name && c->s[CS_NAME]) {
			if (!strcmp(v->name, c->s[CS_NAME])) {
				ev.found = true;
				ev.arn = v->solution_version_arn;
				ev.status = v->status;
				ev.failure_reason = v->failure_reason;
				finish_call(c, &ev, res);
				return;
			}
			if (adopt_in_progress(v->status) && !c->other_busy) {
				c->other_busy = true;
				c->other_name = strdup(v->name);
			}
			continue;
		}
		if (v->creation_date_time && v->creation_date_time < since)
			continue;
		c->cands[c->ncands] = strdup(v->solution_version_arn);
		if (!c->cands[c->ncands])
			continue;
		c->ncands++;
	}
	snprintf(c->request_id, sizeof(c->request_id), "%s",
		 res->request_id ? res->request_id : "");
	if (c->ncands == 0) {
		ev.other_busy = c->other_busy;
		ev.other_name = c->other_name;
		finish_call(c, &ev, res);
		return;
	}
	c->icand = 0;
	if (start_call(c) < 0) {
		struct aws_result r2 = *res;

		r2.error = AWS_ERR_INTERNAL;
		r2.message = "could not queue DescribeSolutionVersion";
		finish_call(c, &ev, &r2);
	}
}

static void on_version(const struct aws_result *res,
		       const struct personalize_solution_version *sv, void *ud)
{
	struct pcall *c = ud;
	struct rt_event ev;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	if (c->op != RT_OP_FIND_VERSION) {
		if (sv) {
			ev.status = sv->status;
			ev.failure_reason = sv->failure_reason;
			ev.arn = sv->solution_version_arn;
			ev.solution_arn = sv->solution_arn;
			ev.created = sv->creation_date_time;
			/* counted from the version slot's describes only:
			 * the campaign slot's is the deploy's pre-check */
			if (c->r->mp && c->slot == RT_SLOT_VERSION &&
			    sv->has_training_hours &&
			    sv->status && !strcmp(sv->status,
						  PERSONALIZE_STATUS_ACTIVE))
				(void)metrics_training_hours(c->r->mp,
							     sv->training_hours);
		}
		finish_call(c, &ev, res);
		return;
	}
	/* one candidate of a find */
	if (res->error == AWS_ERR_NONE && sv) {
		if (sv->name && c->s[CS_NAME] && !strcmp(sv->name, c->s[CS_NAME])) {
			ev.found = true;
			ev.arn = sv->solution_version_arn;
			ev.status = sv->status;
			ev.failure_reason = sv->failure_reason;
			finish_call(c, &ev, res);
			return;
		}
		if (adopt_in_progress(sv->status) && !c->other_busy) {
			c->other_busy = true;
			c->other_name = strdup(sv->name ? sv->name
						 : sv->solution_version_arn);
		}
	} else if (res->error != AWS_ERR_NOT_FOUND) {
		/* cannot tell: the find failed (NOT_FOUND: deleted, skip) */
		finish_call(c, &ev, res);
		return;
	}
	if (++c->icand < c->ncands) {
		if (start_call(c) == 0)
			return;
		struct aws_result r2 = *res;

		r2.error = AWS_ERR_INTERNAL;
		r2.message = "could not queue DescribeSolutionVersion";
		finish_call(c, &ev, &r2);
		return;
	}
	ev.other_busy = c->other_busy;
	ev.other_name = c->other_name;
	finish_call(c, &ev, res);
}

static void on_campaign(const struct aws_result *res,
			const struct personalize_campaign *camp, void *ud)
{
	struct pcall *c = ud;
	struct rt_event ev;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	if (camp) {
		ev.campaign_version_arn = camp->solution_version_arn;
		ev.status = camp->status;
		if (camp->latest_campaign_update.present) {
			const struct personalize_campaign_update *u =
				&camp->latest_campaign_update;

			ev.update_version_arn = u->solution_version_arn;
			ev.update_status = u->status;
			ev.update_failure_reason = u->failure_reason;
			ev.update_created = u->creation_date_time;
		}
	}
	finish_call(c, &ev, res);
}

static void on_metrics(const struct aws_result *res,
		       const struct personalize_solution_metrics *m, void *ud)
{
	struct pcall *c = ud;
	struct rt_event ev;

	memset(&ev, 0, sizeof(ev));
	c->op_handle = NULL;
	ev.metrics = m;
	finish_call(c, &ev, res);
}

static enum rt_result map_s3(enum s3_error e)
{
	switch (e) {
	case S3_ERR_NONE:
		return RT_RES_OK;
	case S3_ERR_NOT_FOUND:
		return RT_RES_NOT_FOUND;
	case S3_ERR_ACCESS_DENIED:
	case S3_ERR_WRONG_REGION:
	case S3_ERR_CLIENT:
	case S3_ERR_CREDENTIALS:
		return RT_RES_INVALID;
	case S3_ERR_THROTTLED:
	case S3_ERR_TRANSIENT:
		return RT_RES_TRANSIENT;
	case S3_ERR_UNAVAILABLE:
	case S3_ERR_MALFORMED_REPLY:
	case S3_ERR_INTERNAL:
	default:
		return RT_RES_UNKNOWN;
	}
}

/* An S3 call's outcome in the run's reply event: its result class and,
 * when it failed, its message; a denial as the policy text naming the
 * action and the object (written into denied). */
static void s3_outcome(const struct runner *r, struct rt_event *e,
		       enum s3_error error, const char *message,
		       const char *uri, char *denied, size_t len)
{
	e->result = map_s3(error);
	if (error != S3_ERR_NONE)
		e->error = message ? message : s3_error_name(error);
	if (error == S3_ERR_ACCESS_DENIED) {
		policy_s3_denial_text(r->p->partition, uri, denied, len);
		e->error = denied;
	}
}

static void on_head(const struct s3_head_result *res, void *ud)
{
	struct pcall *c = ud;
	struct runner *r = c->r;
	struct rt_event e;
	char modified[32] = "", denied[RT_REASON_MAX + 1];

	c->head_handle = NULL;
	init_event(r, &e, RT_EV_REPLY, c->slot, c->token);
	s3_outcome(r, &e, res->error, res->message, res->uri, denied,
		   sizeof(denied));
	e.request_id = res->request_id;
	e.etag = res->etag;
	if (res->has_last_modified)
		sched_format_utc(res->last_modified, modified,
				 sizeof(modified));
	e.last_modified = modified;
	pcall_unlink(c);
	step(r, &e);
	pcall_free(c);
}

/* A folder's listing answers the run's RT_OP_HEAD_OBJECT: its digest
 * stands where a file's ETag goes (no Last-Modified), so the run compares
 * it with the one recorded at the last import as it does an ETag. */
static void on_list(const struct s3_list_result *res, void *ud)
{
	struct pcall *c = ud;
	struct runner *r = c->r;
	struct rt_event e;
	char denied[RT_REASON_MAX + 1];

	c->list_handle = NULL;
	init_event(r, &e, RT_EV_REPLY, c->slot, c->token);
	s3_outcome(r, &e, res->error, res->message, res->uri, denied,
		   sizeof(denied));
	e.request_id = res->request_id;
	e.etag = res->digest;
	e.last_modified = "";
	if (res->error == S3_ERR_NONE)
		log_debug("%s: %s: %zu objects in %u pages, %s", r->p->name,
			  res->uri, res->n_objects, res->pages, res->digest);
	pcall_unlink(c);
	step(r, &e);
	pcall_free(c);
}

static void grant(void *cookie);
static int start_call(struct pcall *c);

/* Granted by the rate limit: send it. */
static void grant(void *cookie)
{
	struct pcall *c = cookie;
	struct aws_client *aws = c->r->aws;
	char **s = c->s;
	int k = -EINVAL;

	c->queued = false;
	switch (c->op) {
	case RT_OP_CREATE_IMPORT: {
		struct personalize_create_dataset_import_job req = {
			s[CS_NAME], s[CS_DATASET_ARN], s[CS_S3_PATH],
			s[CS_ROLE_ARN], s[CS_IMPORT_MODE],
			c->r->p->tags, c->r->p->n_tags,
		};
		k = personalize_create_dataset_import_job(aws, &req, on_arn, c,
							  &c->op_handle);
		break;
	}
	case RT_OP_DESCRIBE_IMPORT:
		k = personalize_describe_dataset_import_job(
			aws, s[CS_ARN], on_import_job, c, &c->op_handle);
		break;
	case RT_OP_FIND_IMPORT:
		k = personalize_list_dataset_import_jobs(
			aws, s[CS_DATASET_ARN], on_import_jobs, c, &c->op_handle);
		break;
	case RT_OP_CREATE_VERSION: {
		struct personalize_create_solution_version req = {
			s[CS_SOLUTION_ARN], s[CS_NAME], s[CS_TRAINING_MODE],
			c->r->p->tags, c->r->p->n_tags,
		};
		k = personalize_create_solution_version(aws, &req, on_arn, c,
							&c->op_handle);
		break;
	}
	case RT_OP_DESCRIBE_VERSION:
		k = personalize_describe_solution_version(
			aws, s[CS_ARN], on_version, c, &c->op_handle);
		break;
	case RT_OP_FIND_VERSION:
		if (c->cands)
			k = personalize_describe_solution_version(
				aws, c->cands[c->icand], on_version, c,
				&c->op_handle);
		else
			k = personalize_list_solution_versions(
				aws, s[CS_SOLUTION_ARN], on_versions, c,
				&c->op_handle);
		break;
	case RT_OP_DESCRIBE_CAMPAIGN:
		k = personalize_describe_campaign(aws, s[CS_CAMPAIGN_ARN],
						  on_campaign, c, &c->op_handle);
		break;
	case RT_OP_UPDATE_CAMPAIGN: {
		struct personalize_update_campaign req = {
			s[CS_CAMPAIGN_ARN], s[CS_VERSION_ARN], 0,
		};
		k = personalize_update_campaign(aws, &req, on_arn, c,
						&c->op_handle);
		break;
	}
	case RT_OP_GET_METRICS:
		k = personalize_get_solution_metrics(aws, s[CS_VERSION_ARN],
						     on_metrics, c,
						     &c->op_handle);
		break;
	case RT_OP_CREATE_BATCH_INFERENCE:
	case RT_OP_CREATE_BATCH_SEGMENT: {
		struct personalize_create_batch_job req = {
			c->op == RT_OP_CREATE_BATCH_SEGMENT, s[CS_NAME],
			s[CS_VERSION_ARN], s[CS_S3_PATH], s[CS_BATCH_OUTPUT],
			s[CS_ROLE_ARN], c->num_results, s[CS_FILTER_ARN],
			c->r->p->tags, c->r->p->n_tags,
		};
		k = personalize_create_batch_job(aws, &req, on_arn, c,
						 &c->op_handle);
		break;
	}
	case RT_OP_DESCRIBE_BATCH_INFERENCE:
	case RT_OP_DESCRIBE_BATCH_SEGMENT:
		k = personalize_describe_batch_job(
			aws, c->op == RT_OP_DESCRIBE_BATCH_SEGMENT, s[CS_ARN],
			on_batch_job, c, &c->op_handle);
		break;
	case RT_OP_FIND_BATCH_INFERENCE:
	case RT_OP_FIND_BATCH_SEGMENT:
		k = personalize_list_batch_jobs(
			aws, c->op == RT_OP_FIND_BATCH_SEGMENT,
			s[CS_VERSION_ARN], on_batch_jobs, c, &c->op_handle);
		break;
	case RT_OP_HEAD_OBJECT:
		if (!c->r->s3) {
			k = -EINVAL;
			break;
		}
		k = s3_head_object(c->r->s3, s[CS_S3_PATH], on_head, c,
				   &c->head_handle);
		if (k == -EISDIR)  /* a folder: its listing */
			k = s3_list_folder(c->r->s3, s[CS_S3_PATH], on_list, c,
					   &c->list_handle);
		break;
	}
	if (k < 0) {
		/* Never sent: tell the run (a local failure; it retries). */
		struct rt_event ev;
		struct aws_result res;

		memset(&ev, 0, sizeof(ev));
		memset(&res, 0, sizeof(res));
		res.error = k == -EINVAL ? AWS_ERR_CLIENT : AWS_ERR_INTERNAL;
		res.message = k == -EINVAL ? "the request could not be built"
					   : "out of memory";
		c->op_handle = NULL;
		finish_call(c, &ev, &res);
	}
}

static int start_call(struct pcall *c)
{
	int k;

	k = c->r->host->submit(c->r->host->userdata, c->r->owner, grant, c);
	if (k < 0)
		return k;
	c->queued = true;
	return 0;
}

static void do_call(struct runner *r, const struct rt_action *a)
{
	const struct rt_call *k = &a->call;
	const char *src[CS_COUNT] = {
		k->name, k->arn, k->dataset_arn, k->dataset_type, k->s3_path,
		k->role_arn, k->import_mode, k->solution_arn, k->training_mode,
		k->campaign_arn, k->version_arn, k->batch_output, k->filter_arn,
	};
	struct pcall *c;
	int i, e = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->r = r;
	c->slot = a->slot;
	c->token = a->token;
	c->op = k->op;
	c->num_results = k->num_results;
	for (i = 0; i < CS_COUNT; i++)
		e |= dup_str(&c->s[i], src[i]);
	if (e)
		goto fail;
	c->next = r->calls;
	r->calls = c;
	if (start_call(c) == 0)
		return;
	pcall_unlink(c);
fail:
	pcall_free(c);
	{
		/* answer it as a local failure from the loop's next turn: the
		 * run arms a retry timer */
		struct rt_event ev;

		init_event(r, &ev, RT_EV_REPLY, a->slot, a->token);
		ev.result = RT_RES_UNKNOWN;
		ev.error = "out of memory";
		log_error("%s: out of memory starting %s", r->name,
			  rt_op_name(k->op));
		step(r, &ev);
	}
}

/* ---- timers ---------------------------------------------------------------------- */

static int on_slot_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct runner *r = ud;
	struct rt_event ev;
	int slot;

	(void)usec;
	for (slot = 0; slot < RT_NSLOTS; slot++)
		if (r->slot_timer[slot] == s)
			break;
	if (slot == RT_NSLOTS)
		return 0;
	r->slot_timer[slot] = sd_event_source_disable_unref(s);
	init_event(r, &ev, RT_EV_POLL_DUE, slot, r->slot_token[slot]);
	step(r, &ev);
	return 0;
}

static void do_timer(struct runner *r, const struct rt_action *a)
{
	uint64_t now;
	int k, slot = a->slot;

	if (slot < 0 || slot >= RT_NSLOTS)
		return;
	r->slot_timer[slot] = sd_event_source_disable_unref(r->slot_timer[slot]);
	r->slot_token[slot] = a->token;
	sd_event_now(r->host->event, CLOCK_MONOTONIC, &now);
	k = sd_event_add_time(r->host->event, &r->slot_timer[slot],
			      CLOCK_MONOTONIC,
			      now + (uint64_t)a->delay_ms * USEC_PER_MSEC,
			      POLL_ACCURACY_USEC, on_slot_timer, r);
	if (k < 0)
		log_error("%s: cannot arm a poll timer: %s", r->name,
			  strerror(-k));
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *ud)
{
	struct runner *r = ud;
	struct rt_event ev;

	(void)s;
	(void)usec;
	r->deadline = sd_event_source_disable_unref(r->deadline);
	init_event(r, &ev, RT_EV_DEADLINE, RT_SLOT_RUN, 0);
	step(r, &ev);
	return 0;
}

static void do_deadline(struct runner *r, const struct rt_action *a)
{
	int k;

	r->deadline = sd_event_source_disable_unref(r->deadline);
	k = sd_event_add_time(r->host->event, &r->deadline, CLOCK_REALTIME,
			      wallclock_sec_to_real_usec(a->at),
			      FIRE_ACCURACY_USEC, on_deadline, r);
	if (k < 0)
		log_error("%s: cannot arm the run deadline: %s", r->name,
			  strerror(-k));
}

/* ---- actions ------------------------------------------------------------------- */

static void note_fire(struct runner *r, time_t fire)
{
	if (fire > r->last_fire)
		r->last_fire = fire;
	r->packed.last_fire = r->last_fire;
}

static int write_run(struct runner *r, bool durable)
{
	int k;

	r->save_pending = false;
	if (r->save_timer)
		(void)sd_event_source_set_enabled(r->save_timer, SD_EVENT_OFF);
	note_fire(r, r->run->fire_time);
	k = state_save_packed(r->host->state_dir, r->host->state_dirfd,
			      r->name, &r->packed, r->run,
			      durable); /* logged there */
	if (k == 0)
		r->save_errno = 0;
	return k;
}

static void save_failed(struct runner *r, int k);

static int on_save_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct runner *r = ud;
	int k;

	(void)s;
	(void)usec;
	if (r->save_pending && r->active && r->have_packed &&
	    (k = write_run(r, false)) < 0)
		save_failed(r, k);
	return 0;
}

/* 0, or -errno when the save failed: the caller stops the run then. */
static int do_save(struct runner *r, bool intent, bool durable)
{
	/* a rollback is never saved as the run (state.h) */
	if (!r->have_packed || r->run->kind == RT_KIND_ROLLBACK)
		return 0;
	if (intent || durable)
		return write_run(r, durable);
	if (r->save_pending)
		return 0;  /* the armed write will carry this change too */
	r->save_pending = true;
	if (evtimer_arm_relative(r->host->event, &r->save_timer,
				 SAVE_DELAY_USEC, POLL_ACCURACY_USEC,
				 on_save_timer, r, "state-save") < 0)
		return write_run(r, false);  /* no timer: write now */
	return 0;
}

/* The pipeline's full state: the one held, else the file's. 0 and *out
 * (the caller's to free), or -errno (logged). */
static int take_state(struct runner *r, time_t now, struct state **out)
{
	struct state *st = r->held;
	int k;

	if (st) {
		r->held = NULL;
		*out = st;
		return 0;
	}
	st = malloc(sizeof(*st));
	if (!st) {
		log_error("%s: cannot load the state: out of memory", r->name);
		return -ENOMEM;
	}
	k = state_load(r->host->state_dir, r->name, now, st);
	if (k < 0) {
		free(st);
		return k;
	}
	*out = st;
	return 0;
}

static void do_log(struct runner *r, const struct rt_action *a)
{
	char f_pipe[RT_PIPELINE_MAX + 16], f_stage[64], f_job[RT_ARN_MAX + 16],
		f_req[96], f_msg[64], f_ver[RT_ARN_MAX + 32],
		f_camp[RT_ARN_MAX + 32];
	const char *fields[8];
	size_t n = 0;

	snprintf(f_pipe, sizeof(f_pipe), "PIPELINE=%s", r->name);
	fields[n++] = f_pipe;
	if (a->stage) {
		snprintf(f_stage, sizeof(f_stage), "STAGE=%s", a->stage);
		fields[n++] = f_stage;
	}
	if (a->job_arn && *a->job_arn) {
		snprintf(f_job, sizeof(f_job), "JOB_ARN=%s", a->job_arn);
		fields[n++] = f_job;
	}
	if (a->request_id[0]) {
		snprintf(f_req, sizeof(f_req), "AWS_REQUEST_ID=%s",
			 a->request_id);
		fields[n++] = f_req;
	}
	if (a->message_id) {
		snprintf(f_msg, sizeof(f_msg), "MESSAGE_ID=%s", a->message_id);
		fields[n++] = f_msg;
		/* the catalog's deployed and succeeded texts name version
		 * and campaign */
		if (!strcmp(a->message_id, MSGID_DEPLOYED) ||
		    !strcmp(a->message_id, MSGID_RUN_SUCCEEDED)) {
			snprintf(f_ver, sizeof(f_ver), "SOLUTION_VERSION_ARN=%s",
				 r->run->slots[RT_SLOT_VERSION].arn);
			snprintf(f_camp, sizeof(f_camp), "CAMPAIGN_ARN=%s",
				 r->run->campaign_arn);
			fields[n++] = f_ver;
			fields[n++] = f_camp;
		}
	}
	fields[n] = NULL;
	log_struct(a->priority, fields, "%s", a->text);
}

/* OnRunEnd: the hook for a finished run, retraining or rollback (never
 * waited for) */
static void start_hook(struct runner *r, const struct rt_action *a)
{
	const struct rt_run *run = r->run;
	struct hook_run_info info;

	if (!r->host->hooks || !r->p->on_run_end || !*r->p->on_run_end)
		return;
	memset(&info, 0, sizeof(info));
	info.pipeline = r->name;
	info.outcome = rt_outcome_name(a->outcome);
	info.stage = r->last_stage;
	info.solution_version_arn = run->slots[RT_SLOT_VERSION].arn;
	info.campaign_arn = run->campaign_arn;
	info.reason = a->outcome == RT_OUT_SUCCEEDED ? "" : run->reason;
	info.kind = rt_kind_name(run->kind);
	info.batch_output = rt_batch_output(run);
	info.duration_s = run->finished_at > run->started_at ?
		(uint64_t)(run->finished_at - run->started_at) : 0;
	(void)hook_run(r->host->hooks, r->p->on_run_end,
		       (uint64_t)(r->p->on_run_end_timeout ?
				  r->p->on_run_end_timeout :
				  HOOK_DEFAULT_TIMEOUT_S) * USEC_PER_SEC,
		       &info); /* failures are logged there */
}

static void do_finished(struct runner *r, const struct rt_action *a)
{
	struct state *st = r->held;

	r->last_outcome = a->outcome;
	if (r->run->kind == RT_KIND_ROLLBACK) {
		/* `rollback` holds the full state */
		if (st) {
			state_finish_run(st, r->run);
			(void)state_save(r->host->state_dir, st);
		}
		start_hook(r, a);
		return;
	}
	if (!rt_done(r->run)) {
		/* gave up with jobs in flight (retrain.h): the SAVE before
		 * this kept it as the run in progress, for the next start */
		r->kept_fire = r->run->fire_time;
		if (r->catchup_fire) {
			/* a fire time waiting behind this run does not run
			 * now: the kept jobs may still be running. It counts
			 * as skipped; the next fire time adopts the run. */
			char f[RT_PIPELINE_MAX + 16], when[32], kept[32];
			const char *fields[] = { f, "STAGE=catch-up", NULL };

			snprintf(f, sizeof(f), "PIPELINE=%s", r->name);
			sched_format_utc(r->catchup_fire, when, sizeof(when));
			sched_format_utc(r->run->fire_time, kept, sizeof(kept));
			log_struct(LOG_WARNING, fields,
				   "fire time %s skipped: the run for %s stopped polling before it ended and stays kept; the next fire time adopts it first",
				   when, kept);
			note_fire(r, r->catchup_fire);
			(void)write_run(r, false); /* logged there */
			r->catchup_fire = 0;
			r->catchup_kept = false;
		}
		state_packed_free(&r->packed);
		r->have_packed = false;
		r->save_pending = false;
		r->save_timer = sd_event_source_disable_unref(r->save_timer);
		start_hook(r, a);
		return;
	}
	if (!st && r->have_packed) {
		st = malloc(sizeof(*st));
		if (st && state_unpack(&r->packed, r->name, st) < 0) {
			free(st);
			st = NULL;
		}
	}
	if (st) {
		r->held = NULL;
		state_finish_run(st, r->run);
		r->last_fire = st->last_fire;
		/* not fsync'd: should a power loss take it back, the run is
		 * resumed at the next start and finds everything done */
		int k = state_write(r->host->state_dir, r->host->state_dirfd,
				    st, false);

		if (k < 0) {
			r->held = st;  /* the next run starts from it */
			/* the file still holds the run: the next start
			 * resumes it and finds it done, creating nothing */
			r->save_errno = -k;
		} else {
			free(st);
		}
	} else if (r->have_packed) {
		/* out of memory: the finished run as the run; the next load
		 * moves it to the history */
		do_save(r, true, true);
	}
	state_packed_free(&r->packed);
	r->have_packed = false;
	r->save_pending = false;
	r->save_timer = sd_event_source_disable_unref(r->save_timer);
	start_hook(r, a);
}

/* MetricsFile: follow the run's stage (time per stage) and its end. */
static void metrics_follow(struct runner *r, bool finished,
			   enum rt_outcome outcome)
{
	time_t now = wallclock_now();
	enum rt_stage st;
	bool moved = false;
	int i;

	if (!r->mp)
		return;
	st = finished ? RT_STAGE_DONE : r->run->stage;
	if (st != r->m_stage) {
		if (r->m_stage != RT_STAGE_IDLE && r->m_stage <= RT_STAGE_LAST &&
		    now >= r->m_stage_since) {
			r->m_stage_s[r->m_stage] += (double)(now - r->m_stage_since);
			(void)metrics_stage_duration(r->mp, rt_stage_name(r->m_stage),
						     r->m_stage_s[r->m_stage]);
		}
		r->m_stage = st;
		r->m_stage_since = now;
		moved = true;
	}
	if (finished) {
		(void)metrics_run_finished(r->mp, r->run->finished_at ?
					   r->run->finished_at : now,
					   rt_outcome_name(outcome));
		if (rt_batch_output(r->run))
			(void)metrics_batch_output(r->mp,
				r->run->slots[RT_SLOT_BATCH].finished_at ?
				r->run->slots[RT_SLOT_BATCH].finished_at : now,
				rt_batch_output(r->run));
		(void)metrics_set_stage(r->mp, "idle");
		r->m_stage = RT_STAGE_IDLE;
		for (i = 0; i <= RT_STAGE_LAST; i++)
			r->m_stage_s[i] = 0;
		moved = true;
	} else if (moved) {
		(void)metrics_set_stage(r->mp, rt_stage_name(st));
	}
	if (moved && r->host->metrics_changed)
		r->host->metrics_changed(r->host->userdata);
}

/* A run (re)starts: its start time, and the stage clock. */
static void metrics_start(struct runner *r)
{
	int i;

	if (!r->mp)
		return;
	metrics_run_started(r->mp, r->run->started_at);
	r->m_stage = RT_STAGE_IDLE;
	r->m_stage_since = wallclock_now();
	for (i = 0; i <= RT_STAGE_LAST; i++)
		r->m_stage_s[i] = 0;
}

/* ---- EventBusName ------------------------------------------------------------ */

static void events_drained(void *ud)
{
	/* `once` waits for the run's last events before it exits */
	changed(ud);
}

static void put_events(struct runner *r)
{
	events_queue_free(r->events);
	client_pool_put_aws(r->host->clients, r->ev_client);
	free(r->ev_key);
	r->events = NULL;
	r->ev_client = NULL;
	r->ev_key = NULL;
}

/* The events queue for p's EventBusName (none when unset). A bus ARN
 * names its own region; a bus name is in the pipeline's. Kept as it is
 * when bus, region and endpoint did not change, so that events still
 * queued go out. A client that cannot be made is logged, and the
 * pipeline runs without events. */
static void make_events(struct runner *r, const struct pipeline *p)
{
	const char *bus = p->event_bus_name, *region = p->region;
	char reg[64], *key = NULL;
	int k;

	if (bus && !strncmp(bus, "arn:", 4)) {
		/* arn:PARTITION:events:REGION:... (validated by the config) */
		const char *b = strchr(bus + 4, ':'), *e;

		b = b ? strchr(b + 1, ':') : NULL;
		e = b ? strchr(b + 1, ':') : NULL;
		if (b && e && (size_t)(e - b - 1) < sizeof(reg) && e > b + 1) {
			snprintf(reg, sizeof(reg), "%.*s", (int)(e - b - 1), b + 1);
			region = reg;
		}
	}
	if (bus && *bus && region &&
	    asprintf(&key, "%s\n%s\n%s", bus, region,
		     p->endpoint_url ? p->endpoint_url : "") < 0)
		key = NULL;
	if (key && r->ev_key && !strcmp(key, r->ev_key)) {
		free(key);
		return;
	}
	put_events(r);
	if (!bus || !*bus)
		return;
	if (!key) {
		log_error("%s: EventBusName %s: no region for the EventBridge client; no events are sent",
			  p->name, bus);
		return;
	}
	k = client_pool_get_events(r->host->clients, region, p->endpoint_url,
				   &r->ev_client);
	if (k == 0)
		k = events_queue_new(r->ev_client, bus, p->name, events_drained,
				     r, &r->events);
	if (k < 0) {
		log_error("%s: EventBusName %s: cannot set up the EventBridge client (%s); no events are sent",
			  p->name, bus, strerror(-k));
		free(key);
		put_events(r);
		return;
	}
	r->ev_key = key;
}

/* One event from the run as it is now: stage, and outcome once it ended
 * (outcome RT_OUT_NONE: still running). */
static void send_event(struct runner *r, const char *stage,
		       enum rt_outcome outcome)
{
	const struct rt_run *run = r->run;
	struct events_detail d;
	time_t end;

	if (!r->events || !run)
		return;
	end = run->finished_at ? run->finished_at : wallclock_now();
	memset(&d, 0, sizeof(d));
	d.pipeline = r->name;
	d.fire_time = run->fire_time;
	d.stage = stage;
	d.outcome = outcome == RT_OUT_NONE ? NULL : rt_outcome_name(outcome);
	d.solution_version_arn = run->slots[RT_SLOT_VERSION].arn;
	d.campaign_arn = run->campaign_arn;
	d.batch_output = rt_batch_output(run);
	d.duration_s = end > run->started_at ?
		(uint64_t)(end - run->started_at) : 0;
	d.reason = outcome == RT_OUT_NONE || outcome == RT_OUT_SUCCEEDED ?
		NULL : run->reason;
	d.metric_name = run->gate.metric;
	d.has_metric = run->gate.enabled && run->gate_has_cand;
	d.metric_value = run->gate_cand;
	if (events_queue_send(r->events, &d, run->solution_arn) < 0)
		log_warning("%s: EventBusName: the %s event was not sent: out of memory",
			    r->name, stage);
}

/* A run starts (fresh: an event says so) or is resumed (no event until
 * its stage changes). */
static void events_start(struct runner *r, bool fresh)
{
	r->ev_stage = fresh ? RT_STAGE_IDLE : r->run->stage;
	if (fresh)
		send_event(r, "started", RT_OUT_NONE);
}

/* After the run's actions: an event for a new stage, or for its end
 * (with the stage it ended in). */
static void events_follow(struct runner *r, bool finished,
			  enum rt_outcome outcome)
{
	enum rt_stage st = r->run->stage;

	if (finished) {
		/* a run that ended in its first step reported no stage */
		send_event(r, r->ev_stage == RT_STAGE_IDLE ? "started" :
			   rt_stage_name(r->ev_stage), outcome);
		r->ev_stage = RT_STAGE_IDLE;
	} else if (st != r->ev_stage && st != RT_STAGE_DONE &&
		   st != RT_STAGE_IDLE) {
		r->ev_stage = st;
		send_event(r, rt_stage_name(st), RT_OUT_NONE);
	}
}

static int on_save_retry(sd_event_source *s, uint64_t usec, void *ud)
{
	struct runner *r = ud;
	struct rt_actions acts;
	time_t now = wallclock_now();

	(void)s;
	(void)usec;
	r->save_retry = sd_event_source_disable_unref(r->save_retry);
	if (!r->active || !r->run || !r->save_errno)
		return 0;
	r->save_errno = 0;
	log_notice("%s: trying the run stopped by a failed save again",
		   r->name);
	if (rt_resume(r->run, now, &acts) == 0)
		execute(r, &acts);
	return 0;
}

/* A save failed (-errno k): nothing more is sent for the run. It is frozen
 * (replies and timers of calls in flight are stale from now on), its calls
 * not yet sent are dropped, and the journal and STATUS= say why. What was
 * sent before is in the last save that worked and is adopted at the next
 * start; `once` ends (exit status 74); the daemon keeps the run, skips
 * fire times meanwhile, and resumes it (finds first) SAVE_RETRY_USEC
 * later. */
static void save_failed(struct runner *r, int k)
{
	char f_pipe[RT_PIPELINE_MAX + 16], f_stage[64], fire[32];
	const char *fields[] = { f_pipe, f_stage, MSGID_FIELD(MSGID_RUN_FAILED),
				 NULL };
	struct rt_actions ignored;
	struct rt_event ev;
	struct pcall *c;
	int slot;

	if (!r->active || !r->run)
		return;
	r->save_errno = -k;
	init_event(r, &ev, RT_EV_STOP, RT_SLOT_RUN, 0);
	(void)rt_step(r->run, &ev, &ignored);  /* its save would fail too */
	while ((c = r->calls)) {
		r->calls = c->next;
		pcall_drop(c);
	}
	for (slot = 0; slot < RT_NSLOTS; slot++)
		r->slot_timer[slot] =
			sd_event_source_disable_unref(r->slot_timer[slot]);
	r->deadline = sd_event_source_disable_unref(r->deadline);
	r->save_pending = false;
	r->save_timer = sd_event_source_disable_unref(r->save_timer);
	snprintf(f_pipe, sizeof(f_pipe), "PIPELINE=%s", r->name);
	snprintf(f_stage, sizeof(f_stage), "STAGE=%s",
		 rt_stage_name(r->run->stage));
	sched_format_utc(r->run->fire_time, fire, sizeof(fire));
	log_struct(LOG_ERR, fields,
		   "cannot save the state (%s): the run for %s stopped while %s, before its next call; what was already sent is adopted at the next start%s",
		   strerror(-k), fire, rt_stage_name(r->run->stage),
		   r->host->once ? "" : " (trying again in a minute)");
	snprintf(r->status, sizeof(r->status),
		 "stopped: cannot save the state (%s)", strerror(-k));
	if (r->host->once) {
		r->active = false;
		r->last_outcome = RT_OUT_NONE;
		free(r->run);
		r->run = NULL;
		state_packed_free(&r->packed);
		r->have_packed = false;
	} else if (evtimer_arm_relative(r->host->event, &r->save_retry,
					SAVE_RETRY_USEC, FIRE_ACCURACY_USEC,
					on_save_retry, r, "save-retry") < 0) {
		log_error("%s: cannot arm the retry timer", r->name);
	}
	changed(r);
}

static void execute(struct runner *r, const struct rt_actions *acts)
{
	bool status_changed = false, finished = false;
	enum rt_outcome outcome = RT_OUT_NONE;
	size_t i;

	for (i = 0; i < acts->n; i++) {
		const struct rt_action *a = &acts->a[i];

		switch (a->kind) {
		case RT_ACT_CALL:
			do_call(r, a);
			break;
		case RT_ACT_SAVE: {
			int k = do_save(r, a->intent, a->durable);

			if (k < 0) {
				/* nothing after a save that failed is sent */
				save_failed(r, k);
				return;
			}
			break;
		}
		case RT_ACT_TIMER:
			do_timer(r, a);
			break;
		case RT_ACT_DEADLINE:
			do_deadline(r, a);
			break;
		case RT_ACT_LOG:
			do_log(r, a);
			if (a->stage)
				snprintf(r->last_stage, sizeof(r->last_stage),
					 "%s", a->stage);
			break;
		case RT_ACT_STATUS:
			snprintf(r->status, sizeof(r->status), "%s", a->text);
			status_changed = true;
			break;
		case RT_ACT_FINISHED:
			do_finished(r, a);
			finished = true;
			outcome = a->outcome;
			break;
		}
		/* do_call() may have stepped the run (a local failure) and
		 * finished it, or stopped it on a failed save: nothing more
		 * to do then */
		if (!r->active ||
		    (a->kind == RT_ACT_CALL && r->save_errno && r->run->stopped))
			return;
	}
	events_follow(r, finished || rt_done(r->run),
		      finished ? outcome : r->run->outcome);
	metrics_follow(r, finished || rt_done(r->run),
		       finished ? outcome : r->run->outcome);
	if (finished || rt_done(r->run)) {
		int slot;
		struct pcall *c;

		r->active = false;
		r->deadline = sd_event_source_disable_unref(r->deadline);
		for (slot = 0; slot < RT_NSLOTS; slot++)
			r->slot_timer[slot] =
				sd_event_source_disable_unref(r->slot_timer[slot]);
		while ((c = r->calls)) {
			r->calls = c->next;
			pcall_drop(c);
		}
		free(r->run);
		r->run = NULL;
		set_idle_status(r);
		status_changed = true;
		if (r->catchup_fire)
			(void)arm_catchup(r);
	}
	if (status_changed)
		changed(r);
}

/* ---- fire timer --------------------------------------------------------------- */

/* Start a run for fire. st: the pipeline's full state when the caller has
 * it (taken over: freed here), or NULL (loaded here). A state recovered
 * from an unusable file makes the run find before every create. */
static void start_run(struct runner *r, time_t fire, time_t now, bool find_first,
		      struct state *st)
{
	struct rt_spec spec;
	struct rt_actions acts;
	char err[256];
	size_t i;
	int k;

	if (!st && take_state(r, now, &st) < 0) {
		log_error("%s: cannot start the run for this fire time: the state file cannot be read",
			  r->name);
		return;
	}
	if (st->recovered)
		find_first = true;

	if (r->client_stale) {
		struct aws_client *aws = NULL;

		struct s3_client *s3 = NULL;

		/* no call is in flight between runs: switch clients now */
		if (make_client(r->host, r->p, &aws, &s3) == 0) {
			put_clients(r);
			r->aws = aws;
			r->s3 = s3;
			r->client_stale = false;
			make_events(r, r->p);
		}
	}
	if (st->has_run && st->run.kind == RT_KIND_RETRAIN) {
		/* the last run stopped polling before it ended (retrain.h):
		 * its jobs may still run. Adopt them first, never create
		 * new ones beside them; this fire time runs once that run
		 * has ended (a catch-up), or is skipped should it stop
		 * polling again. */
		char f[RT_PIPELINE_MAX + 16], when[32], kept[32];
		const char *fields[] = { f, NULL };
		time_t kept_fire = st->run.fire_time;

		snprintf(f, sizeof(f), "PIPELINE=%s", r->name);
		sched_format_utc(fire, when, sizeof(when));
		sched_format_utc(kept_fire, kept, sizeof(kept));
		log_struct(LOG_NOTICE, fields,
			   "fire time %s: the run for %s stopped polling before it ended; adopting its jobs before this fire time's run",
			   when, kept);
		k = resume_kept(r, st, now, false);
		if (k > 0 && !r->host->once && fire > kept_fire) {
			r->catchup_fire = fire;
			r->catchup_kept = true;
		}
		if (k != 0)
			return;
		/* past its deadline and recorded: on with this fire time */
		if (take_state(r, now, &st) < 0) {
			log_error("%s: cannot start the run for this fire time: the state file cannot be read",
				  r->name);
			return;
		}
		if (st->has_run) {
			r->held = st; /* the kept run could not be recorded */
			return;
		}
	}
	k = runner_spec_from_pipeline(r->p, r->host->max_consecutive_errors,
				      &spec);
	if (k == 0)
		k = rt_spec_validate(&spec, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "too many datasets");
	if (k < 0) {
		log_error("%s: cannot start a run: %s", r->name, err);
		goto keep;
	}
	for (i = 0; spec.skip_unchanged && i < spec.n_datasets; i++) {
		const struct state_dataset *d =
			state_dataset_get(st, spec.datasets[i].arn);

		if (d) {
			spec.datasets[i].prev_etag = d->etag;
			spec.datasets[i].prev_last_modified = d->last_modified;
		}
	}
	if (!r->run)
		r->run = malloc(sizeof(*r->run));
	if (!r->run) {
		log_error("%s: cannot start a run: out of memory", r->name);
		goto keep;
	}
	k = rt_start(r->run, &spec, fire, now, find_first, &acts);
	if (k == 0) {
		state_packed_free(&r->packed);
		k = state_pack(st, &r->packed);
	}
	if (k < 0) {
		log_error("%s: cannot start a run: %s", r->name, strerror(-k));
		free(r->run);
		r->run = NULL;
		goto keep;
	}
	r->have_packed = true;
	r->last_fire = st->last_fire;
	r->kept_fire = 0;
	free(st);
	r->active = true;
	metrics_start(r);
	events_start(r, true);
	execute(r, &acts);
	return;
keep:
	/* nothing started: what was read stays as it is (held: it may be a
	 * finished run's state that could not be saved) */
	if (st->last_fire > r->last_fire)
		r->last_fire = st->last_fire;
	r->held = st;
}

/* `rollback`: put the campaign back on host->rollback_to or the state's
 * previous version (retrain.h's rollback driver flow). */
static int start_rollback(struct runner *r, time_t now)
{
	struct rt_spec spec;
	struct rt_actions acts;
	const char *to = r->host->rollback_to;
	char err[RT_REASON_MAX + 1];
	int k;

	k = runner_spec_from_pipeline(r->p, r->host->max_consecutive_errors,
				      &spec);
	if (k < 0) {
		log_error("%s: cannot roll back: too many datasets", r->name);
		r->rollback_refused = PR_EXIT_USAGE;
		return k;
	}
	r->run = malloc(sizeof(*r->run));
	if (!r->run) {
		log_error("%s: cannot roll back: out of memory", r->name);
		r->rollback_refused = PR_EXIT_SOFTWARE;
		return -ENOMEM;
	}
	k = rt_rollback_start(r->run, &spec,
			      to && *to ? to : r->held->campaign_prev_version,
			      r->held->campaign_version,
			      r->held->has_run ? &r->held->run : NULL, now, &acts,
			      err, sizeof(err));
	if (k < 0) {
		char f[RT_PIPELINE_MAX + 16];
		const char *fields[] = { f, "STAGE=rollback", NULL };

		snprintf(f, sizeof(f), "PIPELINE=%s", r->name);
		log_struct(LOG_ERR, fields, "rollback refused: %s", err);
		r->rollback_refused = k == -EINVAL ? PR_EXIT_USAGE
						   : PR_EXIT_RUN_FAILED;
		free(r->run);
		r->run = NULL;
		return k;
	}
	r->active = true;
	metrics_start(r);
	events_start(r, true);
	execute(r, &acts);
	return 0;
}

static int on_fire(sd_event_source *s, uint64_t usec, void *ud)
{
	struct runner *r = ud;
	time_t fire = r->next_fire, now = wallclock_now();
	struct rt_event ev;

	(void)s;
	(void)usec;
	r->fire_timer = sd_event_source_disable_unref(r->fire_timer);
	r->catchup_armed = false;
	switch (plan_on_fire(fire, r->last_fire, r->active)) {
	case PLAN_RUN:
		r->has_next = false;
		start_run(r, fire, now, false, NULL);
		break;
	case PLAN_SKIP_BUSY:
		init_event(r, &ev, RT_EV_FIRE, RT_SLOT_RUN, 0);
		ev.fire_time = fire;
		step(r, &ev);
		note_fire(r, fire);
		if (r->active)
			do_save(r, false, false);
		break;
	case PLAN_SKIP_DONE:
		break;
	}
	/* the next fire time after this one (never "now": skew-safe) */
	(void)arm_fire(r, fire > now ? fire : now);
	if (!r->active) {
		set_idle_status(r);
		changed(r);
	}
	return 0;
}

/* The resumed run has ended: the fire time that passed while the daemon
 * was down behind it runs now (through on_fire, like any fire time). */
static int arm_catchup(struct runner *r)
{
	char f[RT_PIPELINE_MAX + 16], when[32];
	const char *fields[] = { f, "STAGE=catch-up", NULL };
	time_t fire = r->catchup_fire;
	bool kept = r->catchup_kept;
	int k;

	r->catchup_fire = 0;
	r->catchup_kept = false;
	if (fire <= r->last_fire || r->host->once)
		return 0;
	snprintf(f, sizeof(f), "PIPELINE=%s", r->name);
	sched_format_utc(fire, when, sizeof(when));
	if (kept)
		log_struct(LOG_NOTICE, fields,
			   "fire time %s came while an earlier run that had "
			   "stopped polling was adopted; that run has ended: "
			   "running the fire time's run now", when);
	else
		log_struct(LOG_NOTICE, fields,
			   "fire time %s passed while the daemon was down, behind the "
			   "run it resumed: catching up with one run", when);
	r->fire_timer = sd_event_source_disable_unref(r->fire_timer);
	k = sd_event_add_time(r->host->event, &r->fire_timer, CLOCK_REALTIME,
			      0, FIRE_ACCURACY_USEC, on_fire, r);
	if (k < 0) {
		log_error("%s: cannot arm the catch-up: %s", r->name,
			  strerror(-k));
		return k;
	}
	r->next_fire = fire;
	r->has_next = true;
	r->catchup_armed = true;
	return 0;
}

static int arm_fire(struct runner *r, time_t after)
{
	int k;

	r->fire_timer = sd_event_source_disable_unref(r->fire_timer);
	r->has_next = false;
	if (r->host->once)
		return 0;
	k = plan_next_fire(r->p->schedule, after, &r->next_fire);
	if (k == -ENOENT)
		return 0;
	if (k < 0)
		return k;
	k = sd_event_add_time(r->host->event, &r->fire_timer, CLOCK_REALTIME,
			      wallclock_sec_to_real_usec(r->next_fire),
			      FIRE_ACCURACY_USEC, on_fire, r);
	if (k < 0) {
		log_error("%s: cannot arm the fire timer: %s", r->name,
			  strerror(-k));
		return k;
	}
	r->has_next = true;
	return 0;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static int make_client(const struct runner_host *host, const struct pipeline *p,
		       struct aws_client **out, struct s3_client **s3_out)
{
	struct s3_client *s3 = NULL;
	const char *arns[] = { p->solution_arn };
	const char *reg = p->region;
	char *region = NULL;
	int k;

	if (!reg || !*reg) {
		/* not in the config: the environment, the profile, the ARN */
		k = creds_region_resolve(NULL, NULL, arns, 1, &region, NULL);
		if (k < 0) {
			log_error("%s: no AWS region (set Region, or AWS_REGION)",
				  p->name);
			return k;
		}
		reg = region;
	}
	/* S3 only for SkipUnchangedData (the buckets are in the region of
	 * the import: Personalize reads them from there) */
	if (p->skip_unchanged) {
		k = client_pool_get_s3(host->clients, reg, p->s3_endpoint_url,
				       &s3);
		if (k < 0) {
			log_error("%s: cannot set up the S3 client: %s",
				  p->name, strerror(-k));
			free(region);
			return k;
		}
	}
	k = client_pool_get_aws(host->clients, reg, p->endpoint_url, out);
	free(region);
	if (k < 0) {
		client_pool_put_s3(host->clients, s3);
		return k;
	}
	*s3_out = s3;
	return 0;
}

static void put_clients(struct runner *r)
{
	client_pool_put_aws(r->host->clients, r->aws);
	client_pool_put_s3(r->host->clients, r->s3);
	r->aws = NULL;
	r->s3 = NULL;
}

int runner_new(const struct runner_host *host, unsigned owner,
	       const struct pipeline *p, struct runner **out)
{
	struct runner *r;
	int k;

	if (!host || !p || !p->name || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->host = host;
	r->owner = owner;
	r->p = p;
	snprintf(r->name, sizeof(r->name), "%s", p->name);
	if (getrandom(&r->rng, sizeof(r->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(r->rng))
		r->rng = (uint64_t)wallclock_now() * 0x9E3779B97F4A7C15ULL + owner;
	if (!r->rng)
		r->rng = 1;
	k = make_client(host, p, &r->aws, &r->s3);
	if (k < 0) {
		log_error("%s: cannot set up the AWS client: %s", r->name,
			  strerror(-k));
		free(r);
		return k;
	}
	make_events(r, p);
	if (host->metrics &&
	    metrics_pipeline(host->metrics, p->name, &r->mp) == 0)
		(void)metrics_set_stage(r->mp, "idle");
	set_idle_status(r);
	*out = r;
	return 0;
}

static void drop_all(struct runner *r)
{
	struct pcall *c;
	int slot;

	while ((c = r->calls)) {
		r->calls = c->next;
		pcall_drop(c);
	}
	for (slot = 0; slot < RT_NSLOTS; slot++)
		r->slot_timer[slot] =
			sd_event_source_disable_unref(r->slot_timer[slot]);
	r->deadline = sd_event_source_disable_unref(r->deadline);
	r->fire_timer = sd_event_source_disable_unref(r->fire_timer);
	r->save_timer = sd_event_source_disable_unref(r->save_timer);
	r->save_retry = sd_event_source_disable_unref(r->save_retry);
	adopt_scan_free(r->adopt);
	r->adopt = NULL;
	free(r->adopt_moved_to);
	r->adopt_moved_to = NULL;
}

void runner_free(struct runner *r)
{
	if (!r)
		return;
	drop_all(r);
	put_events(r);
	put_clients(r);
	free(r->run);
	state_packed_free(&r->packed);
	free(r->held);
	free(r);
}

/* The look for work in flight ended (adopt.h): start the run for the
 * fire time found, else for now. */
static void on_adopt_done(void *ud, const struct adopt_found *found,
			  bool failed, const char *why)
{
	struct runner *r = ud;
	struct state *st;
	char f[RT_PIPELINE_MAX + 16], j[RT_ARN_MAX + 16], when[32];
	const char *fields[] = { f, "STAGE=adopt", NULL, NULL };
	time_t now = wallclock_now();
	char lost[600];

	adopt_scan_free(r->adopt);
	r->adopt = NULL;
	snprintf(f, sizeof(f), "PIPELINE=%s", r->name);
	/* adopt_wanted: only after an unusable state */
	snprintf(lost, sizeof(lost), "state was unusable (moved to %s)",
		 r->adopt_moved_to ? r->adopt_moved_to : "a .corrupt file");
	free(r->adopt_moved_to);
	r->adopt_moved_to = NULL;
	/* the state as it was loaded: empty and recovered (start_run loads
	 * it if this allocation fails); every job is looked up by name */
	st = malloc(sizeof(*st));
	if (st) {
		state_init(st, r->name);
		st->recovered = true;
	}
	if (found->kind != ADOPT_NONE) {
		sched_format_utc(found->fire_time, when, sizeof(when));
		if (found->arn[0]) {
			snprintf(j, sizeof(j), "JOB_ARN=%s", found->arn);
			fields[2] = j;
		}
		log_struct(LOG_NOTICE, fields,
			   "%s: adopting in-flight %s %s (%s); the run keeps "
			   "fire time %s",
			   lost, found->kind == ADOPT_BATCH ? "batch job" :
			   found->kind == ADOPT_VERSION ?
			   "solution version" : "import", found->name,
			   found->status, when);
		start_run(r, found->fire_time, now, true, st);
	} else if (failed && found->denied) {
		/* a run started now could duplicate a job in flight that the
		 * look could not see */
		log_struct(LOG_ERR, fields,
			   "%s and the look for in-flight jobs of this pipeline "
			   "was denied: %s; no run started", lost,
			   why ? why : "access denied");
		free(st);
		r->last_outcome = RT_OUT_FAILED;
		snprintf(r->status, sizeof(r->status),
			 "failed: the look for in-flight jobs was denied: %s",
			 why ? why : "access denied");
		changed(r);
		return;
	} else if (failed) {
		log_struct(LOG_WARNING, fields,
			   "%s and the look for in-flight jobs of this "
			   "pipeline gave up (%s): starting the run for now, "
			   "looking each job up by name before creating it",
			   lost, why ? why : "unknown error");
		start_run(r, now - now % 60, now, true, st);
	} else {
		log_struct(LOG_INFO, fields,
			   "%s: no job of this pipeline in flight; starting "
			   "the run for now", lost);
		start_run(r, now - now % 60, now, true, st);
	}
	if (!r->active)
		set_idle_status(r);
	changed(r);
}

/* `once` with no run in an unusable state: look for this
 * pipeline's work in flight first (adopt.h). st (empty) is freed on
 * success; on failure the caller still owns it. */
static int start_adopt(struct runner *r, struct state *st)
{
	struct adopt_io io;
	struct rt_spec spec;
	int k;

	k = runner_spec_from_pipeline(r->p, r->host->max_consecutive_errors,
				      &spec);
	if (k < 0 || rt_spec_validate(&spec, NULL, 0) < 0)
		return -EINVAL;  /* start_run says why */
	memset(&io, 0, sizeof(io));
	io.event = r->host->event;
	io.aws = r->aws;
	io.submit = r->host->submit;
	io.cancel = r->host->cancel;
	io.host = r->host->userdata;
	io.owner = r->owner;
	io.max_errors = spec.max_consecutive_errors ?
			spec.max_consecutive_errors : DEFAULT_ADOPT_ERRORS;
	io.poll_interval_s = spec.poll_interval_s;
	io.seed = r->rng;
	k = adopt_scan_start(&io, &spec, on_adopt_done, r, &r->adopt);
	if (k < 0) {
		log_error("%s: cannot look for in-flight jobs: %s", r->name,
			  strerror(-k));
		return k;
	}
	r->adopt_moved_to = strdup(st->moved_to);
	free(st);
	snprintf(r->status, sizeof(r->status),
		 "state unusable: looking for this pipeline's jobs in flight");
	changed(r);
	return 0;
}

/* Resume the run kept in st (taken over): the run in progress that the
 * daemon or `once` finds at its start (at_start), or that a fire time
 * finds because it stopped polling before it ended (retrain.h). 1: resumed
 * (r->active). 0: it ended at once, being past its MaxRunDuration: not
 * resumed but recorded in the history as failed, its jobs left to
 * themselves at AWS named in the log; the caller goes on from the state as
 * it is now (take_state). -errno: not resumed (logged; st freed, or held
 * for the next run when it could not be recorded). */
static int resume_kept(struct runner *r, struct state *st, time_t now,
		       bool at_start)
{
	struct rt_actions acts;
	time_t latest;
	bool ended;
	int k;

	r->run = malloc(sizeof(*r->run));
	k = r->run ? state_pack(st, &r->packed) : -ENOMEM;
	if (k < 0) {
		log_error("%s: cannot resume the saved run: %s", r->name,
			  strerror(-k));
		free(r->run);
		r->run = NULL;
		free(st);
		return k;
	}
	r->have_packed = true;
	*r->run = st->run;
	r->kept_fire = 0;
	/* how long to keep trying is this process's choice (`once` gives
	 * up, the daemon does not), not the saved run's */
	r->run->max_consecutive_errors =
		r->host->max_consecutive_errors ?
		r->host->max_consecutive_errors +
		2 * (unsigned)(r->run->n_datasets ? r->run->n_datasets - 1 : 0)
		: 0;
	k = rt_resume(r->run, now, &acts);
	if (k < 0) {
		log_error("%s: the saved run cannot be resumed: %s",
			  r->name, strerror(-k));
		/* kept as it is until a run replaces it */
		free(r->run);
		r->run = NULL;
		state_packed_free(&r->packed);
		r->have_packed = false;
		r->held = st;
		return k;
	}
	free(st);
	ended = rt_done(r->run);
	/* a fire time after the saved run's that passed while the daemon
	 * was down: caught up once the saved run ends (one that ended at
	 * once leaves that to the caller's usual start) */
	if (at_start && !ended && r->p->catch_up && !r->host->once &&
	    plan_latest_fire(r->p->schedule, now, &latest) == 0 &&
	    latest > r->last_fire && latest > r->run->fire_time) {
		r->catchup_fire = latest;
		r->catchup_kept = false;
	}
	r->active = true;
	metrics_start(r);
	events_start(r, false);
	execute(r, &acts);
	if (r->active)
		return 1;
	/* ended at once and recorded, or stopped by a save that failed */
	return ended && !r->run ? 0 : -EIO;
}

int runner_start(struct runner *r, time_t now)
{
	struct plan_start ps;
	struct state *st = NULL;
	time_t latest;
	int k;

	k = take_state(r, now, &st);
	if (k < 0) {
		snprintf(r->status, sizeof(r->status),
			 "stopped: state unreadable (%s); fix it and reload",
			 strerror(-k));
		changed(r);
		return k;
	}
	r->started = true;
	r->last_fire = st->last_fire;
	if (r->host->rollback) {
		r->held = st;
		(void)start_rollback(r, now); /* refusals: rollback_refused */
		changed(r);
		return 0;
	}
	if (st->has_run) {
		k = resume_kept(r, st, now, true);
		st = NULL;
		if (k == -ENOMEM)
			return k;
		/* past its deadline and recorded: on as from an idle state */
		if (k == 0 && take_state(r, now, &st) == 0)
			r->last_fire = st->last_fire;
	}
	if (r->host->once) {
		if (!r->active && st && adopt_wanted(st) &&
		    start_adopt(r, st) == 0)
			return 0;  /* the run starts when the look ends */
		if (!r->active && st)
			start_run(r, now - now % 60, now, st->recovered, st);
		else
			free(st);
		return 0;
	}
	if (!r->active && st) {
		if (st->recovered &&
		    plan_latest_fire(r->p->schedule, now, &latest) == 0) {
			start_run(r, latest, now, true, st);
			st = NULL;
		} else if (plan_at_start(r->p->schedule, st->last_fire, now,
					 r->p->catch_up, &ps) == 0 &&
			   ps.run_now) {
			char f[RT_PIPELINE_MAX + 16];
			const char *fields[] = { f, "STAGE=catch-up", NULL };

			snprintf(f, sizeof(f), "PIPELINE=%s", r->name);
			log_struct(LOG_NOTICE, fields,
				   "a fire time passed while the daemon was "
				   "down: catching up with one run");
			start_run(r, ps.run_fire, now, false, st);
			st = NULL;
		}
	}
	free(st);  /* idle: the file is the state */
	/* a resumed run that ended at once may have armed its catch-up */
	k = r->catchup_armed ? 0 : arm_fire(r, now);
	if (!r->active)
		set_idle_status(r);
	changed(r);
	return k;
}

void runner_stop(struct runner *r)
{
	struct rt_event ev;

	if (!r)
		return;
	if (r->active) {
		init_event(r, &ev, RT_EV_STOP, RT_SLOT_RUN, 0);
		step(r, &ev);
		/* make sure the latest run is on disk even if STOP said nothing */
		if (r->active)
			do_save(r, true, true);
	}
	drop_all(r);
}

int runner_set_pipeline(struct runner *r, const struct pipeline *p, time_t now)
{
	struct aws_client *aws = NULL;
	struct s3_client *s3 = NULL;
	int k;

	if (!r || !p)
		return -EINVAL;
	/* calls in flight use the old client: keep it while a run is active
	 * unless region and endpoint are unchanged */
	if (!r->active) {
		k = make_client(r->host, p, &aws, &s3);
		if (k < 0)
			return k;
		put_clients(r);
		r->aws = aws;
		r->s3 = s3;
		make_events(r, p);
	} else {
		r->client_stale = true;
	}
	r->p = p;
	if (!r->started && !r->host->once)
		return runner_start(r, now); /* its state was unreadable: retry */
	if (r->started) {
		k = r->catchup_armed ? 0 :
			arm_fire(r, r->last_fire > now ? r->last_fire : now);
		if (!r->active) {
			set_idle_status(r);
			changed(r);
		}
		return k;
	}
	return 0;
}

const char *runner_name(const struct runner *r)
{
	return r->name;
}

bool runner_active(const struct runner *r)
{
	return r->active || r->adopt;
}

size_t runner_events_pending(const struct runner *r)
{
	return events_queue_pending(r->events);
}

const char *runner_status(const struct runner *r)
{
	return r->status;
}

bool runner_next_fire(const struct runner *r, time_t *out)
{
	if (r->has_next && out)
		*out = r->next_fire;
	return r->has_next;
}

enum rt_outcome runner_last_outcome(const struct runner *r)
{
	return r->last_outcome;
}

int runner_save_error(const struct runner *r)
{
	return r->save_errno;
}

int runner_rollback_refused(const struct runner *r)
{
	return r->rollback_refused;
}
