/* retrain.h - one retraining run as a pure state machine (no I/O at all).
 *
 *   (run, event) -> (run', actions[])
 *
 * A run belongs to one pipeline and one scheduled fire time. Its stages:
 *
 *   [checking] (SkipUnchangedData: one HeadObject per dataset's S3 object,
 *              one ListObjectsV2 listing per folder)
 *     -> importing (one CreateDatasetImportJob per changed dataset, all at once)
 *     -> training (one CreateSolutionVersion)
 *     -> [gating] (QualityMetric set: GetSolutionMetrics, gate_evaluate)
 *     -> deploying (DescribeCampaign, the pre-check of RT_PRECHECK_REUSE_S,
 *        UpdateCampaign; skipped when there is no campaign)
 *     -> [batch] (spec.batch_kind: one CreateBatchInferenceJob or
 *        CreateBatchSegmentJob of the new version, polled until ACTIVE)
 *     -> done: succeeded | failed | unreachable | gated | skipped
 *
 * The bracketed stages exist only when the spec asks for them; without a
 * gate and without skip_unchanged a run emits exactly the actions it always
 * did.
 *
 * Checking (spec.skip_unchanged): every dataset slot gets one
 * RT_OP_HEAD_OBJECT call (call.s3_path); the reply carries ev.etag and
 * ev.last_modified (opaque strings, compared byte for byte with the
 * spec's prev_etag / prev_last_modified, which the driver fills from
 * state_dataset_get()). A dataset is "unchanged" only when the HEAD
 * succeeded and both values equal the recorded ones (a recorded pair that
 * is empty never matches). An unchanged dataset is not re-imported: its
 * slot goes straight to ACTIVE (slot.unchanged). When no dataset changed
 * the run ends RT_OUT_SKIPPED, reason "skipped: no new data", without
 * training. For a folder s3_path (ending in '/') the driver lists it
 * instead and hands in the listing's digest as ev.etag with an empty
 * ev.last_modified; the digest alone is compared then. A HEAD that fails in any way (not found, denied, transient,
 * unknown) is never retried: the dataset is imported anyway (the safe
 * default) and a warning is logged; such failures do not count towards
 * max_consecutive_errors. With INCREMENTAL imports this also keeps the
 * same rows from being appended twice. The driver records the observed
 * values with state_finish_run (state.h), which keeps them only when the
 * run ended succeeded or gated, i.e. when the data reached a trained
 * version: a run that failed after importing re-imports next time.
 *
 * Gating (spec.gate with gate_enabled()): after the version is ACTIVE, on
 * the slot RT_SLOT_GATE: with a campaign, RT_OP_DESCRIBE_CAMPAIGN tells the
 * version it serves now (ev.campaign_version_arn; "" = none); then
 * RT_OP_GET_METRICS (call.version_arn) for the new version and, when the
 * campaign serves another version, for that one; each reply carries
 * ev.metrics (struct personalize_solution_metrics, borrowed for the call).
 * Then gate_evaluate (gate.h): PASS -> deploying (or, with no campaign,
 * succeeded: only MinQuality can apply then); REJECT -> done with
 * RT_OUT_GATED, the gate's reason, a LOG with MSGID_QUALITY_GATE_REJECTED,
 * nothing deployed; ERROR (metric missing, not a number) or a rejected
 * call -> failed with the reason. Transient/unknown replies are asked again
 * after a backoff. A gating run resumed after a restart starts the gate
 * over (reads only). The gate config is copied into the run.
 *
 * Batch (spec.batch_kind != RT_BATCH_NONE): after the deploy (or after
 * training and the gate when there is no campaign), on the slot
 * RT_SLOT_BATCH: a job named rt_job_name(..., RT_BATCH_SUFFIX) of the new
 * version (call.version_arn) reading call.s3_path and writing
 * call.batch_output with call.role_arn, call.num_results (0: not sent)
 * and call.filter_arn (NULL: none); found by name with
 * RT_OP_FIND_BATCH_* (List...Jobs of that version). It comes after the
 * campaign rather than beside it so that a run the pre-check skips as
 * superseded writes no batch output of an older version either, and so
 * that a run is in one stage at a time (a resumed run adopts one stage's
 * slots). ACTIVE: the run succeeds with the output location in its
 * reason; CREATE FAILED: it fails with the service's failureReason; a
 * gated run never gets this far. A rollback has no batch stage (it puts
 * an older version back on the campaign; the batch output of that
 * version is whatever its own run wrote).
 *
 * Rollback (rt_rollback_start): a run of kind RT_KIND_ROLLBACK: stage
 * verifying (RT_OP_DESCRIBE_VERSION of the target on RT_SLOT_VERSION: must
 * be ACTIVE and of the spec's solution), then the very deploying stage of a
 * retraining run (DescribeCampaign pre-check, UpdateCampaign, polling
 * DescribeCampaign until latestCampaignUpdate is ACTIVE for the target),
 * then done; success is logged with MSGID_ROLLBACK. A rollback run emits
 * no RT_ACT_SAVE (it is an operator command, not persisted: a driver never
 * saves it as the run); its FINISHED goes to state_finish_run, which
 * records it in the history and swaps the campaign versions but leaves
 * last_fire alone. A driver's `rollback [--to ARN]`:
 *
 *   state_load(dir, pipeline, now, &st);
 *   r = rt_rollback_start(&rb, &spec, to ? to : st.campaign_prev_version,
 *                         st.campaign_version, st.has_run ? &st.run : NULL,
 *                         now, &acts, err, sizeof(err));
 *   r < 0: print err, exit 1 (-EBUSY, -ENOENT, -EALREADY) or 2 (-EINVAL)
 *   execute(acts) and feed events as for any run (no SAVE comes);
 *   FINISHED: state_finish_run(&st, &rb); state_save; exit 0 / 1.
 *
 * The daemon's single persisted run (state.run) is never a rollback, so a
 * rollback while a retraining run imports or trains is allowed but that
 * run will deploy its own version later if it passes.
 *
 * Every AWS resource the run touches is a "slot": slots 0..n_datasets-1 are
 * the import jobs, RT_SLOT_VERSION the solution version, RT_SLOT_CAMPAIGN
 * the campaign update, RT_SLOT_BATCH the batch job. Each slot has a phase (enum rt_phase) and at most
 * one thing it waits for: a call reply or a timer, identified by a token.
 * Events carry the slot and the token of the action they answer; a reply or
 * timer whose token is not the one awaited is stale and ignored, so the
 * driver never has to cancel anything.
 *
 * Never twice: names are deterministic (rt_job_name), the intent is saved
 * (RT_ACT_SAVE) before each create, and every create whose outcome is not a
 * clean success (unknown outcome, ResourceAlreadyExists, ResourceInUse,
 * transient error) or that may have been sent before a restart is followed
 * by a find-by-name (RT_OP_FIND_*) before anything is created again.
 *
 * The run is self-contained (it copies what it needs from struct rt_spec),
 * so it can be persisted (state.h) and resumed (rt_resume) after a restart.
 *
 * Driver contract: execute the actions of one step in order. A SAVE that
 * fails stops the run there: no action after it is executed (no create,
 * update or deploy is sent without its intent on disk); the driver feeds
 * RT_EV_STOP and resumes the run later (rt_resume) or leaves it to the next
 * start, which adopts what the last save that worked names. Call parameters in struct rt_action point into
 * the run and stay valid until the next rt_* call on that run: copy them
 * when the request is built.
 *
 * A driver (sd-event daemon or `once`), per pipeline:
 *
 *   state_lock(dir); state_load(dir, pipeline, now, &st);
 *   if st.has_run:        rt_resume(&st.run, now, &acts)      // adopt
 *   elif st.recovered && plan_latest_fire(s, now, &f) == 0:
 *                         rt_start(&run, &spec, f, now, true, &acts)
 *   else: p = plan_at_start(s, st.last_fire, now, CatchUp);
 *         if p.run_now:   rt_start(&run, &spec, p.run_fire, now, false, &acts)
 *         arm fire timer for p.next_fire
 *   execute(acts)
 *   on fire timer F:   switch plan_on_fire(F, st.last_fire, run active):
 *       RUN:  rt_start(&run, &spec, F, now, false, &acts); execute
 *       SKIP_BUSY: rt_step(run, {RT_EV_FIRE, fire_time=F}) (logs it);
 *             state_note_fire(&st, F); save
 *       SKIP_DONE: nothing;  then arm the timer for plan_next_fire(s, F)
 *   on reply of CALL (slot, token): map the AWS result to rt_result and
 *       the parsed fields to the event; rt_step(run, {RT_EV_REPLY ...})
 *   on TIMER (slot, token) expiry: rt_step(run, {RT_EV_POLL_DUE ...})
 *   on deadline:       rt_step(run, {RT_EV_DEADLINE})
 *   on SIGTERM:        rt_step(run, {RT_EV_STOP}); execute; exit
 *   execute(acts): for each action in order:
 *       CALL     -> start the async call, remember (slot, token)
 *       SAVE     -> state_save_packed(dir, dirfd, pipeline, &packed, run,
 *                   durable) (the rest of the state packed once by
 *                   state_pack); failed: stop here (see the driver contract)
 *       TIMER    -> one-shot monotonic timer delay_ms -> (slot, token)
 *       DEADLINE -> realtime timer at `at`
 *       LOG      -> log_struct(priority, PIPELINE=, STAGE=, JOB_ARN=,
 *                   MESSAGE_ID=message_id (msgid.h), "%s", text)
 *       STATUS   -> sd_notify("STATUS=<text>")
 *       FINISHED -> state_finish_run(&st, run); state_save; `once`
 *                   exits 0/1/69 by outcome; the daemon goes idle
 *   Every event carries `now` (wall clock) and a fresh `random`. */
#ifndef PR_RETRAIN_H
#define PR_RETRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The dataset types the configuration can name (Users, Items,
 * Interactions: the sample's three; Personalize's Actions and
 * Action_Interactions are not configurable). Every run holds this many
 * dataset slots and records (~1.7 kB each) whether used or not, so it is
 * not rounded up to Personalize's five: 1,000 pipelines running at once
 * are 3.5 MB smaller.
 * runner.c checks it against CONFIG_DATASET_COUNT at compile time. */
#define RT_MAX_DATASETS   3
#define RT_NAME_MAX       63  /* the service model's Name: max 63 */
#define RT_ARN_MAX        256 /* the service model's Arn: max 256 */
#define RT_TYPE_MAX       31
#define RT_PIPELINE_MAX   127
#define RT_STATUS_MAX     63
#define RT_REASON_MAX     384
#define RT_TEXT_MAX       512
#define RT_MAX_ACTIONS    40
#define RT_ETAG_MAX       127 /* S3 ETag as sent, quotes included */
#define RT_MODIFIED_MAX   63  /* S3 Last-Modified as sent */
#define RT_METRIC_MAX     96  /* == GATE_METRIC_NAME_MAX */

#define RT_SLOT_VERSION   RT_MAX_DATASETS
#define RT_SLOT_CAMPAIGN  (RT_MAX_DATASETS + 1)
#define RT_SLOT_GATE      (RT_MAX_DATASETS + 2) /* gating calls; never saved */
#define RT_SLOT_BATCH     (RT_MAX_DATASETS + 3) /* the batch job */
#define RT_NSLOTS         (RT_MAX_DATASETS + 4)
#define RT_SLOT_RUN       (-1) /* actions/events about the run as a whole */

/* Polling: the first check this soon after a create or adoption (bounded by
 * PollInterval), then doubling up to PollInterval, each delay shortened by
 * up to 1/4 with jitter taken from the event's random value. */
#define RT_FIRST_POLL_MS  5000u
/* Describes answering "not found" / "not our update" this many times in a
 * row are tolerated (eventual consistency) before the run fails. */
#define RT_TOLERANCE      3
/* The deploy's pre-check. UpdateCampaign is sent only after a look at the
 * campaign that is younger than this (by the events' now): the
 * DescribeCampaign every deploy starts with, or, when that reply is older
 * or the clock went back, a DescribeCampaign again. A latest update to
 * another version created after this run's version was created means a
 * newer version was deployed meanwhile (a later run on another host while
 * this one was away, or an operator): the run ends RT_OUT_SKIPPED,
 * "superseded, not deployed", so that a host coming back late never puts
 * an older version back. When this run's version's creation time is not
 * known (a run loaded from disk past training), the campaign slot first
 * asks RT_OP_DESCRIBE_VERSION (call.arn: this run's version; the reply's
 * ev.created); refused: the run fails (the deploy is not sent blind); any
 * other failure, or no creation time: cannot tell, UpdateCampaign is sent.
 * A rollback skips the comparison (it puts an older version back on
 * purpose). */
#define RT_PRECHECK_REUSE_S 60

enum rt_training_mode { RT_TRAIN_FULL, RT_TRAIN_UPDATE };
enum rt_import_mode { RT_IMPORT_FULL, RT_IMPORT_INCREMENTAL };
/* The batch job after training: none, CreateBatchInferenceJob or
 * CreateBatchSegmentJob. Persisted by name. */
enum rt_batch_kind { RT_BATCH_NONE = 0, RT_BATCH_INFERENCE, RT_BATCH_SEGMENT };

struct rt_dataset_spec {
	const char *type;    /* datasetType: "Interactions", "Items", "Users", ... */
	const char *arn;     /* dataset ARN */
	const char *s3_path; /* s3://bucket/key of the CSV */
	/* skip_unchanged: the ETag / Last-Modified recorded at the last
	 * successful import (state_dataset_get); NULL or "": none. */
	const char *prev_etag;
	const char *prev_last_modified;
};

struct gate_config;                   /* gate.h */
struct personalize_solution_metrics;  /* personalize.h */

/* The quality gate as copied into a run (see gate.h). */
struct rt_gate {
	bool enabled;
	char metric[RT_METRIC_MAX + 1];
	double max_regression;
	bool has_min_quality;
	double min_quality;
};

enum rt_kind {
	RT_KIND_RETRAIN = 0, /* rt_start */
	RT_KIND_ROLLBACK,    /* rt_rollback_start */
};

/* What a run needs to know about its pipeline (filled by the driver from
 * the config; this module does not depend on config.h). Borrowed only
 * during rt_start: the run copies every string. */
struct rt_spec {
	const char *pipeline;      /* PipelineName; equal on every host */
	const char *role_arn;      /* ImportRoleArn */
	const char *solution_arn;
	const char *campaign_arn;  /* NULL or "": train only */
	size_t n_datasets;         /* 1..RT_MAX_DATASETS */
	struct rt_dataset_spec datasets[RT_MAX_DATASETS];
	enum rt_training_mode training_mode;
	enum rt_import_mode import_mode;
	unsigned poll_interval_s;     /* >= 1 */
	unsigned max_run_duration_s;  /* >= 1 */
	/* 0: keep retrying transient failures until the deadline; N: the run
	 * ends as RT_OUT_UNREACHABLE after N in a row (for `once`). */
	unsigned max_consecutive_errors;
	/* NULL or not gate_enabled(): no quality gate. Copied by rt_start. */
	const struct gate_config *gate;
	/* SkipUnchangedData: HEAD every S3 object first (stage checking). */
	bool skip_unchanged;
	/* The batch job (stage batch); the strings only with a kind. */
	enum rt_batch_kind batch_kind;
	const char *batch_input;      /* s3://bucket/key */
	const char *batch_output;     /* s3://bucket/prefix/ */
	const char *batch_role_arn;   /* NULL or "": role_arn */
	unsigned batch_num_results;   /* 0: the service's default */
	const char *batch_filter_arn; /* NULL or "": none */
};

/* Values are persisted by name, never by number; new ones go last. */
enum rt_stage {
	RT_STAGE_IDLE = 0,  /* not started */
	RT_STAGE_IMPORTING,
	RT_STAGE_TRAINING,
	RT_STAGE_DEPLOYING,
	RT_STAGE_DONE,      /* terminal: see outcome */
	RT_STAGE_CHECKING,  /* HeadObject of the S3 sources (skip_unchanged) */
	RT_STAGE_GATING,    /* quality gate before deploying */
	RT_STAGE_VERIFYING, /* rollback: checking the target version */
	RT_STAGE_BATCH,     /* the batch job of the new version */
};
#define RT_STAGE_LAST RT_STAGE_BATCH

enum rt_outcome {
	RT_OUT_NONE = 0,     /* still running */
	RT_OUT_SUCCEEDED,
	RT_OUT_FAILED,       /* a job failed, a call was rejected, deadline */
	RT_OUT_UNREACHABLE,  /* gave up after transient/unknown failures */
	RT_OUT_GATED,        /* the quality gate rejected it; nothing deployed */
	RT_OUT_SKIPPED,      /* no dataset changed, or superseded (the pre-check) */
};

enum rt_phase {
	RT_PH_UNUSED = 0, /* slot not part of this run */
	RT_PH_PENDING,    /* nothing done yet */
	RT_PH_CREATING,   /* intent saved, create (UpdateCampaign) sent */
	RT_PH_FINDING,    /* looking for our job by name (campaign: pre-check) */
	RT_PH_WAITING,    /* another job/update busy on the resource */
	RT_PH_RUNNING,    /* ours exists (ARN known), polling it */
	RT_PH_ACTIVE,     /* finished successfully */
	RT_PH_FAILED,     /* finished unsuccessfully */
};

enum rt_await { RT_AWAIT_NONE = 0, RT_AWAIT_CALL, RT_AWAIT_TIMER };

struct rt_slot {
	enum rt_phase phase;
	char name[RT_NAME_MAX + 1];   /* deterministic job/version name */
	char arn[RT_ARN_MAX + 1];     /* job/version ARN ("" until known) */
	char status[RT_STATUS_MAX + 1];
	char reason[RT_REASON_MAX + 1]; /* failureReason or rejection */
	bool adopted;         /* ARN found by name, not returned by our create */
	time_t created_at;    /* when we saw it created/adopted (wall clock) */
	time_t finished_at;
	/* volatile (not persisted) */
	enum rt_await await;
	uint32_t token;
	unsigned delay_ms;    /* current backoff base */
	unsigned misses;      /* consecutive not-found / not-ours describes */
	bool uncertain;       /* a create of ours may have gone through */
	bool taken;           /* our create said AlreadyExists: a find that
				 lists nothing of ours looks again (misses),
				 never creates at once */
	bool in_use;          /* our create said ResourceInUse: a find that
				 shows nothing busy waits once before the
				 create goes out again */
};

/* What only a dataset slot has: run->datasets[i] goes with run->slots[i]
 * for i < n_datasets. Apart from struct rt_slot so that the four other
 * slots (version, campaign, gate, batch) do not carry its 0.9 kB each:
 * 1,000 runs at once hold 3.7 MB less. */
struct rt_dataset {
	char ds_type[RT_TYPE_MAX + 1];
	char ds_arn[RT_ARN_MAX + 1];
	char s3_path[RT_ARN_MAX + 1];
	/* skip_unchanged: recorded / observed S3 identity */
	char prev_etag[RT_ETAG_MAX + 1];
	char prev_last_modified[RT_MODIFIED_MAX + 1];
	char etag[RT_ETAG_MAX + 1];          /* from this run's HEAD, or "" */
	char last_modified[RT_MODIFIED_MAX + 1];
	bool unchanged;       /* not re-imported: same object as last time */
};

struct rt_run {
	char pipeline[RT_PIPELINE_MAX + 1];
	char role_arn[RT_ARN_MAX + 1];
	char solution_arn[RT_ARN_MAX + 1];
	char campaign_arn[RT_ARN_MAX + 1];  /* "" when train only */
	size_t n_datasets;
	enum rt_training_mode training_mode;
	enum rt_import_mode import_mode;
	unsigned poll_interval_s;
	unsigned max_run_duration_s;
	unsigned max_consecutive_errors;

	time_t fire_time;    /* the scheduled fire time this run is for */
	time_t started_at;
	time_t finished_at;
	enum rt_stage stage;
	enum rt_outcome outcome;
	char reason[RT_REASON_MAX + 1];
	/* The version the campaign served before our update ("" unknown). */
	char prev_version_arn[RT_ARN_MAX + 1];
	/* We followed a job another host created (AlreadyExists, or a campaign
	 * update for our version already in flight). */
	bool followed;
	struct rt_slot slots[RT_NSLOTS];
	struct rt_dataset datasets[RT_MAX_DATASETS]; /* of slots 0..n_datasets-1 */
	enum rt_kind kind;
	bool skip_unchanged;
	struct rt_gate gate;
	/* the batch job's settings (slot RT_SLOT_BATCH holds the job) */
	enum rt_batch_kind batch_kind;
	char batch_input[RT_ARN_MAX + 1];
	char batch_output[RT_ARN_MAX + 1];
	char batch_role_arn[RT_ARN_MAX + 1];
	unsigned batch_num_results;
	char batch_filter_arn[RT_ARN_MAX + 1];

	/* volatile */
	/* The deploy's pre-check (see RT_PRECHECK_REUSE_S): the latest
	 * DescribeCampaign reply of the campaign slot, when it came (the
	 * event's now; 0: none) and its latestCampaignUpdate's version and
	 * creation time (service clock; 0 unknown); when this run's version
	 * was created (service clock; 0: not seen since the run was loaded);
	 * the campaign slot's call is the pre-check's DescribeSolutionVersion
	 * of that version, or (precheck_serving) of the version the campaign
	 * serves when its latest update, to another version, failed: that
	 * version's creation time is serving_created (0: not seen). Not
	 * saved: a resumed run describes the campaign first. */
	time_t camp_seen_at;
	char camp_seen_update[RT_ARN_MAX + 1];
	time_t camp_seen_update_at;
	time_t version_created;
	bool precheck_lookup;
	bool precheck_serving;
	time_t serving_created;
	int gate_step;        /* which gating call is outstanding */
	bool gate_has_cand;
	double gate_cand;     /* the new version's metric value */
	char gate_current_arn[RT_ARN_MAX + 1]; /* what the campaign serves */
	bool stopped;         /* RT_EV_STOP seen: frozen until rt_resume */
	bool find_first;      /* find before every create (recovery) */
	uint32_t next_token;
	unsigned consecutive_errors;
	uint32_t status_hash; /* last status line emitted */
};

enum rt_op {
	RT_OP_CREATE_IMPORT,     /* CreateDatasetImportJob */
	RT_OP_DESCRIBE_IMPORT,   /* DescribeDatasetImportJob(arn) */
	RT_OP_FIND_IMPORT,       /* ListDatasetImportJobs(dataset_arn), match name */
	RT_OP_CREATE_VERSION,    /* CreateSolutionVersion(name, solution, mode) */
	RT_OP_DESCRIBE_VERSION,  /* DescribeSolutionVersion(arn) */
	/* ListSolutionVersions(solution_arn) + DescribeSolutionVersion of the
	 * candidates (the list summaries carry no name), match name. */
	RT_OP_FIND_VERSION,
	RT_OP_DESCRIBE_CAMPAIGN, /* DescribeCampaign(campaign_arn) */
	RT_OP_UPDATE_CAMPAIGN,   /* UpdateCampaign(campaign_arn, version_arn) */
	RT_OP_GET_METRICS,       /* GetSolutionMetrics(version_arn) */
	RT_OP_HEAD_OBJECT,       /* S3 HeadObject(s3_path = s3://bucket/key) */
	/* the batch job: CreateBatchInferenceJob(name, version_arn, s3_path,
	 * batch_output, role_arn, num_results, filter_arn),
	 * DescribeBatchInferenceJob(arn), ListBatchInferenceJobs(version_arn)
	 * matched by name; the same for segment jobs */
	RT_OP_CREATE_BATCH_INFERENCE,
	RT_OP_DESCRIBE_BATCH_INFERENCE,
	RT_OP_FIND_BATCH_INFERENCE,
	RT_OP_CREATE_BATCH_SEGMENT,
	RT_OP_DESCRIBE_BATCH_SEGMENT,
	RT_OP_FIND_BATCH_SEGMENT,
};

enum rt_action_kind {
	RT_ACT_CALL,        /* make an API call; answer with RT_EV_REPLY */
	RT_ACT_SAVE,        /* persist the run now (before the next call);
			     * durable when a create follows */
	RT_ACT_TIMER,       /* answer with RT_EV_POLL_DUE after delay_ms */
	RT_ACT_DEADLINE,    /* arm the run's deadline at wall time `at` */
	RT_ACT_LOG,         /* log text at priority with the fields */
	RT_ACT_STATUS,      /* new status line (sd_notify STATUS=) */
	RT_ACT_FINISHED,    /* the run ended with `outcome` (reason in run) */
};

struct rt_call {
	enum rt_op op;
	/* our deterministic job/version name (campaign calls: the version's
	 * name, for the log; UpdateCampaign takes no name) */
	const char *name;
	const char *arn;           /* describe target: job/version ARN */
	const char *dataset_arn;   /* imports */
	const char *dataset_type;
	const char *s3_path;
	const char *role_arn;
	const char *import_mode;   /* "FULL" | "INCREMENTAL" */
	const char *solution_arn;  /* versions */
	const char *training_mode; /* "FULL" | "UPDATE" */
	const char *campaign_arn;  /* campaign */
	const char *version_arn;   /* UpdateCampaign: the new version;
				      GetSolutionMetrics: whose metrics;
				      batch jobs: the version they use */
	const char *batch_output;  /* batch jobs: s3://bucket/prefix/ */
	const char *filter_arn;    /* batch jobs: NULL or a filter */
	unsigned num_results;      /* batch jobs: 0 (not sent) or 1.. */
};

struct rt_action {
	enum rt_action_kind kind;
	int slot;                  /* RT_SLOT_RUN or a slot index */
	uint32_t token;            /* CALL, TIMER: echo it in the event */
	struct rt_call call;       /* CALL */
	unsigned delay_ms;         /* TIMER */
	time_t at;                 /* DEADLINE */
	int priority;              /* LOG: syslog priority */
	const char *message_id;    /* LOG: a msgid.h MSGID_* or NULL */
	const char *stage;         /* LOG: STAGE= value */
	const char *job_arn;       /* LOG: JOB_ARN= value or NULL */
	char request_id[64];       /* LOG: AWS_REQUEST_ID= of the reply, or "" */
	enum rt_outcome outcome;   /* FINISHED */
	/* SAVE: true when the save is an intent (a create or UpdateCampaign
	 * follows) or the run is stopping: it must reach the disk before
	 * going on (fsync of the file and the directory); false for progress
	 * (a crash-consistent write is enough: losing it costs one more
	 * Describe after a power loss, never a duplicate) */
	bool durable;
	/* SAVE: an intent (a create or UpdateCampaign follows) or a stop:
	 * written before going on, not merged with later progress */
	bool intent;
	char text[RT_TEXT_MAX];    /* LOG, STATUS; FINISHED: the reason */
};

struct rt_actions {
	size_t n;
	struct rt_action a[RT_MAX_ACTIONS];
};

/* The fire that starts a run is rt_start(); RT_EV_FIRE is a fire time that
 * comes while this run is in progress: it is logged and skipped. */
enum rt_event_kind {
	RT_EV_FIRE,      /* a scheduled fire time came (during this run) */
	RT_EV_REPLY,     /* a CALL finished (any outcome) */
	RT_EV_POLL_DUE,  /* a TIMER expired */
	RT_EV_DEADLINE,  /* MaxRunDuration exceeded */
	RT_EV_STOP,      /* shutting down: save and freeze */
};

/* How a call ended, as classified by the driver from the AWS layer's
 * result after that layer's own retries. A create is never repeated on
 * TRANSIENT or UNKNOWN without a find first, so when in doubt say UNKNOWN. */
enum rt_result {
	RT_RES_OK,
	RT_RES_ALREADY_EXISTS, /* ResourceAlreadyExistsException */
	RT_RES_IN_USE,         /* ResourceInUseException */
	RT_RES_NOT_FOUND,      /* ResourceNotFoundException */
	RT_RES_INVALID,        /* InvalidInputException, access denied, other 4xx */
	RT_RES_TRANSIENT,      /* throttling, LimitExceeded, 5xx */
	RT_RES_UNKNOWN,        /* timeout, reset, malformed reply */
};

struct rt_event {
	enum rt_event_kind kind;
	int slot;
	uint32_t token;
	time_t now;          /* wall clock (timestamps, deadline check) */
	uint32_t random;     /* any random value: poll jitter */
	time_t fire_time;    /* RT_EV_FIRE */
	/* RT_EV_REPLY */
	enum rt_result result;
	const char *error;       /* error message of a failed call, or NULL */
	/* the service's error code of a failed call ("AccessDeniedException"),
	 * or NULL: named in the reason of a rejection */
	const char *error_code;
	const char *request_id;  /* x-amzn-RequestId: copied to the LOG actions */
	/* RT_RES_TRANSIENT of a request that never left this host (no
	 * credentials to sign it with): a create answered so did not happen */
	bool not_sent;
	const char *arn;         /* create: the new ARN; find: ours if found */
	bool found;              /* find: a job/version with our name exists */
	const char *status;      /* find/describe: its status */
	const char *failure_reason;
	/* find, when not found: a job not ours on the same dataset (version
	 * on the same solution) is CREATE PENDING / CREATE IN_PROGRESS */
	bool other_busy;
	const char *other_name;  /* ... its name or ARN, for the log */
	/* RT_OP_DESCRIBE_CAMPAIGN */
	const char *campaign_version_arn;   /* campaign.solutionVersionArn */
	const char *update_version_arn;     /* latestCampaignUpdate.solutionVersionArn */
	const char *update_status;          /* latestCampaignUpdate.status */
	const char *update_failure_reason;  /* latestCampaignUpdate.failureReason */
	time_t update_created;  /* latestCampaignUpdate.creationDateTime; 0 unknown */
	/* RT_OP_DESCRIBE_VERSION: solutionVersion.creationDateTime; 0 unknown */
	time_t created;
	/* RT_OP_DESCRIBE_VERSION: solutionVersion.solutionArn (rollback checks
	 * it; when absent the version ARN must start with the solution's) */
	const char *solution_arn;
	/* RT_OP_GET_METRICS, result OK: the reply (NULL is a malformed reply) */
	const struct personalize_solution_metrics *metrics;
	/* RT_OP_HEAD_OBJECT, result OK: the ETag and Last-Modified headers */
	const char *etag;
	const char *last_modified;
};

/* Validate spec; on error -EINVAL and a sentence in err (if errlen > 0). */
int rt_spec_validate(const struct rt_spec *spec, char *err, size_t errlen);

/* Start a run for fire_time (normalised with rt_fire_normalize) at wall
 * time now: initialises *run, emits the first actions into *out (deadline,
 * start log, intent save, one create per dataset). find_first: look every
 * job up by name before creating it (use after a lost/corrupt state, when
 * jobs of this fire time may exist). -EINVAL on a bad spec (nothing
 * written to *run then). */
int rt_start(struct rt_run *run, const struct rt_spec *spec, time_t fire_time,
	     time_t now, bool find_first, struct rt_actions *out);

/* Feed one event. 0: handled (actions in *out, possibly none);
 * -ESTALE: the event answers nothing the run waits for (late reply, old
 * timer, run finished or stopped) and was ignored (out->n == 0);
 * -EINVAL: bad arguments. */
int rt_step(struct rt_run *run, const struct rt_event *ev,
	    struct rt_actions *out);

/* Continue a run loaded from disk (or frozen by RT_EV_STOP) after a
 * restart: every call that may have been in flight is replaced by a find
 * (by name) or a describe (by ARN); the deadline is re-armed. A finished
 * run yields no actions. 0, or -EINVAL. */
int rt_resume(struct rt_run *run, time_t now, struct rt_actions *out);

/* Start a rollback of spec's campaign to version_arn (the `--to` ARN, or
 * the state's campaign_prev_version) at wall time now; see the top
 * comment. current: the pipeline's run in progress, or NULL. Errors, with
 * a sentence in err: -EINVAL bad spec or arguments, or no campaign in the
 * spec; -ENOENT version_arn empty (no previous version known); -EBUSY
 * current is gating or deploying (a rollback would race its
 * UpdateCampaign); -EALREADY version_arn is the version the state says the
 * campaign serves (campaign_version; pass NULL to skip that check).
 * Nothing is written to *run on error. */
int rt_rollback_start(struct rt_run *run, const struct rt_spec *spec,
		      const char *version_arn, const char *serving_arn,
		      const struct rt_run *current, time_t now,
		      struct rt_actions *out, char *err, size_t errlen);

/* True when the run has finished (terminal; further events are stale). */
bool rt_done(const struct rt_run *run);

/* The suffixes of job names: RT_IMPORT_PREFIX + the dataset type for an
 * import, RT_TRAIN_SUFFIX for the solution version; RT_SUFFIX_MAX long at
 * most. */
#define RT_IMPORT_PREFIX "import-"
#define RT_TRAIN_SUFFIX  "train"
#define RT_BATCH_SUFFIX  "batch"
#define RT_SUFFIX_MAX    (sizeof(RT_IMPORT_PREFIX) - 1 + RT_TYPE_MAX)

/* Deterministic name of a job: from the pipeline name, the fire time and a
 * suffix only ("import-<datasettype>" or "train"), never the host or the
 * start time: "<pipeline>-<YYYYMMDDTHHMM>-<suffix>", characters outside
 * [A-Za-z0-9_-] replaced by '-', at most RT_NAME_MAX characters; a long
 * pipeline name is cut and followed by an 8-hex-digit hash of the full
 * name so that different long names stay different. 0, or -EINVAL
 * (empty pipeline, len < RT_NAME_MAX + 1). */
int rt_job_name(const char *pipeline, time_t fire_time, const char *suffix,
		char *buf, size_t len);

/* The inverse of rt_job_name: when name is the name rt_job_name gives
 * pipeline and suffix for some fire time, that fire time (a whole minute,
 * UTC) in *fire_time. Exact: rt_job_name(pipeline, *fire_time, suffix)
 * equals name (a name of another pipeline, another suffix, a stamp that is
 * no valid time, a different length: no match). 0; -ENOENT not such a
 * name; -EINVAL (empty pipeline or suffix, NULL name or fire_time). */
int rt_job_name_parse(const char *pipeline, const char *suffix,
		      const char *name, time_t *fire_time);

/* The next backoff delay in ms, as the run polls: the base starts at
 * first_ms (when *base_ms is 0), then doubles, up to max_ms, and is kept
 * in *base_ms (0 again starts over); the delay is the base less a jitter
 * of up to a quarter of it taken from random, at least 1. */
unsigned rt_backoff_ms(unsigned *base_ms, unsigned first_ms, unsigned max_ms,
		       uint32_t random);

/* Step *state (xorshift64*, never 0 in, never 0 out) and return 32 bits of
 * it: the jitter drivers pass in as rt_event.random. Not for security. */
uint32_t rt_random_next(uint64_t *state);

/* Fire times are always whole minutes: cron() has minute resolution, and
 * rate() is anchored at the Unix epoch in whole minutes (see plan.h). This
 * rounds t to the nearest whole minute, so a fire time that reached us a
 * few seconds off (a timer woken by a stepped clock) still names the same
 * jobs. The fire time itself always comes from the schedule, never from
 * the clock. */
time_t rt_fire_normalize(time_t t);

const char *rt_stage_name(enum rt_stage s);   /* "importing", ... */
const char *rt_outcome_name(enum rt_outcome o); /* "succeeded", ... */
const char *rt_phase_name(enum rt_phase p);   /* "pending", ... */
const char *rt_op_name(enum rt_op op);        /* "CreateDatasetImportJob" */
const char *rt_kind_name(enum rt_kind k);     /* "retrain", "rollback" */
/* "none", "inference", "segment" */
const char *rt_batch_kind_name(enum rt_batch_kind k);
/* The batch job's output location when the run's batch job is ACTIVE,
 * else NULL. */
const char *rt_batch_output(const struct rt_run *run);
/* Parse the names above back; -EINVAL if unknown. */
int rt_stage_parse(const char *s, enum rt_stage *out);
int rt_outcome_parse(const char *s, enum rt_outcome *out);
int rt_phase_parse(const char *s, enum rt_phase *out);
int rt_kind_parse(const char *s, enum rt_kind *out);
int rt_batch_kind_parse(const char *s, enum rt_batch_kind *out);

/* The status line for the run's current stage ("importing 2/3 datasets",
 * "training <name>", "deploying <name> to <campaign>", "succeeded ..."). */
void rt_status_line(const struct rt_run *run, char *buf, size_t len);

#endif
