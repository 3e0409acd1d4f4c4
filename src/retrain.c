/* retrain.c - the run state machine; see include/retrain.h. No I/O here. */
#include "retrain.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "gate.h"
#include "attrs.h" /* PR_PRINTF */
#include "msgid.h"
#include "metric.h"
#include "timeconst.h"

_Static_assert(RT_METRIC_MAX == GATE_METRIC_NAME_MAX,
	       "struct rt_gate holds any QualityMetric");
_Static_assert(GATE_REASON_MAX < RT_REASON_MAX,
	       "a gate reason fits in a run's reason");

/* Log texts and reasons are bounded buffers; cutting a long ARN short in a
 * message is intended, so GCC's truncation guesses are not errors here. */
#if defined(__GNUC__) && !defined(__clang__) /* clang has no such group */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define SECONDS_PER_MINUTE 60
#define STAMP_LEN 13          /* YYYYMMDDTHHMM */
#define HASH_HEX 8
#define MIN_PIPELINE_PART (1 + 1 + HASH_HEX)

/* Gating: the call outstanding on RT_SLOT_GATE (run->gate_step). */
enum { GS_NONE = 0, GS_CAMPAIGN, GS_CANDIDATE, GS_CURRENT };

/* One step's working set. */
struct ctx {
	struct rt_run *run;
	struct rt_actions *out;
	time_t now;
	uint32_t random;
	const char *request_id; /* of the reply being handled, or NULL */
	bool save;              /* persistent data changed */
	bool finished;          /* the run ended in this step */
	bool gave_up;           /* stopped polling; jobs kept (give_up) */
	enum rt_outcome gave_up_outcome;
	size_t n_creates;
	int creates[RT_NSLOTS]; /* slots to create after one intent save */
};

static struct rt_action discard; /* sink if a step ever overflowed */

/* ---- small helpers ----------------------------------------------------- */

static void copy_str(char *dst, size_t len, const char *src)
{
	if (!src)
		src = "";
	snprintf(dst, len, "%s", src);
}

static bool empty(const char *s)
{
	return !s || !*s;
}

static void fmt_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%lld", (long long)t);
}

static const char *arn_tail(const char *arn)
{
	const char *p = strrchr(arn, '/');

	return p ? p + 1 : arn;
}

static struct rt_action *push(struct rt_actions *out, enum rt_action_kind kind)
{
	struct rt_action *a;

	if (out->n >= RT_MAX_ACTIONS) {
		a = &discard;
	} else {
		a = &out->a[out->n++];
	}
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->slot = RT_SLOT_RUN;
	return a;
}

static bool is_dataset(const struct rt_run *run, int slot)
{
	return slot >= 0 && (size_t)slot < run->n_datasets;
}

static void slot_label(const struct rt_run *run, int slot, char *buf,
		       size_t len)
{
	const struct rt_slot *s = &run->slots[slot];

	if (slot == RT_SLOT_VERSION)
		snprintf(buf, len, "solution version %s", s->name);
	else if (slot == RT_SLOT_GATE)
		snprintf(buf, len, "the quality gate of %s",
			 run->slots[RT_SLOT_VERSION].name);
	else if (slot == RT_SLOT_CAMPAIGN)
		snprintf(buf, len, "campaign %s", arn_tail(run->campaign_arn));
	else if (slot == RT_SLOT_BATCH)
		snprintf(buf, len, "batch %s job %s",
			 rt_batch_kind_name(run->batch_kind), s->name);
	else
		snprintf(buf, len, "%s import job %s",
			 run->datasets[slot].ds_type, s->name);
}

static void act_log(struct ctx *c, int priority, const char *msgid, int slot,
		    const char *fmt, ...) PR_PRINTF(5, 6);
static void act_log(struct ctx *c, int priority, const char *msgid, int slot,
		    const char *fmt, ...)
{
	struct rt_action *a = push(c->out, RT_ACT_LOG);
	va_list ap;

	a->priority = priority;
	a->message_id = msgid;
	a->slot = slot;
	a->stage = rt_stage_name(c->run->stage);
	if (c->request_id)
		copy_str(a->request_id, sizeof(a->request_id), c->request_id);
	if (slot >= 0 && !empty(c->run->slots[slot].arn))
		a->job_arn = c->run->slots[slot].arn;
	va_start(ap, fmt);
	vsnprintf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
}

static uint32_t new_token(struct rt_run *run)
{
	if (++run->next_token == 0)
		run->next_token = 1;
	return run->next_token;
}

/* The batch slot's operation: the inference one or its segment twin. */
static enum rt_op batch_op(const struct rt_run *run, enum rt_op inference)
{
	if (run->batch_kind != RT_BATCH_SEGMENT)
		return inference;
	return (enum rt_op)(inference + (RT_OP_CREATE_BATCH_SEGMENT -
					 RT_OP_CREATE_BATCH_INFERENCE));
}

static enum rt_op op_find(const struct rt_run *run, int slot)
{
	if (slot == RT_SLOT_VERSION)
		return RT_OP_FIND_VERSION;
	if (slot == RT_SLOT_CAMPAIGN)
		return RT_OP_DESCRIBE_CAMPAIGN;
	if (slot == RT_SLOT_BATCH)
		return batch_op(run, RT_OP_FIND_BATCH_INFERENCE);
	return RT_OP_FIND_IMPORT;
}

static enum rt_op op_describe(const struct rt_run *run, int slot)
{
	if (slot == RT_SLOT_VERSION)
		return RT_OP_DESCRIBE_VERSION;
	if (slot == RT_SLOT_CAMPAIGN)
		return RT_OP_DESCRIBE_CAMPAIGN;
	if (slot == RT_SLOT_BATCH)
		return batch_op(run, RT_OP_DESCRIBE_BATCH_INFERENCE);
	return RT_OP_DESCRIBE_IMPORT;
}

static enum rt_op op_create(const struct rt_run *run, int slot)
{
	if (slot == RT_SLOT_VERSION)
		return RT_OP_CREATE_VERSION;
	if (slot == RT_SLOT_CAMPAIGN)
		return RT_OP_UPDATE_CAMPAIGN;
	if (slot == RT_SLOT_BATCH)
		return batch_op(run, RT_OP_CREATE_BATCH_INFERENCE);
	return RT_OP_CREATE_IMPORT;
}

static void issue_call(struct ctx *c, int slot, enum rt_op op)
{
	struct rt_run *run = c->run;
	struct rt_slot *s = &run->slots[slot];
	struct rt_action *a = push(c->out, RT_ACT_CALL);
	struct rt_call *k = &a->call;

	s->await = RT_AWAIT_CALL;
	s->token = new_token(run);
	a->slot = slot;
	a->token = s->token;
	k->op = op;
	k->name = s->name;
	k->arn = s->arn;
	if (is_dataset(run, slot)) {
		k->dataset_arn = run->datasets[slot].ds_arn;
		k->dataset_type = run->datasets[slot].ds_type;
		k->s3_path = run->datasets[slot].s3_path;
		k->role_arn = run->role_arn;
		k->import_mode = run->import_mode == RT_IMPORT_INCREMENTAL
					 ? "INCREMENTAL" : "FULL";
	} else if (slot == RT_SLOT_VERSION) {
		k->solution_arn = run->solution_arn;
		k->training_mode = run->training_mode == RT_TRAIN_UPDATE
					   ? "UPDATE" : "FULL";
	} else if (slot == RT_SLOT_BATCH) {
		k->solution_arn = run->solution_arn;
		k->version_arn = run->slots[RT_SLOT_VERSION].arn;
		k->s3_path = run->batch_input;
		k->batch_output = run->batch_output;
		k->role_arn = run->batch_role_arn;
		k->num_results = run->batch_num_results;
		k->filter_arn = empty(run->batch_filter_arn)
					? NULL : run->batch_filter_arn;
	} else if (slot == RT_SLOT_GATE) {
		k->name = run->slots[RT_SLOT_VERSION].name;
		k->solution_arn = run->solution_arn;
		if (op == RT_OP_DESCRIBE_CAMPAIGN) {
			k->arn = run->campaign_arn;
			k->campaign_arn = run->campaign_arn;
		} else {
			k->arn = run->gate_step == GS_CURRENT
					 ? run->gate_current_arn
					 : run->slots[RT_SLOT_VERSION].arn;
			k->version_arn = k->arn;
		}
	} else {
		k->name = run->slots[RT_SLOT_VERSION].name;
		k->arn = run->campaign_arn;
		k->campaign_arn = run->campaign_arn;
		k->version_arn = run->slots[RT_SLOT_VERSION].arn;
		/* the pre-check's look at this run's version, or at the
		 * one the campaign serves */
		if (op == RT_OP_DESCRIBE_VERSION)
			k->arn = run->precheck_serving
					 ? run->prev_version_arn
					 : run->slots[RT_SLOT_VERSION].arn;
	}
}

/* Arm the slot's poll timer. first: the quick check after a create or an
 * adoption; otherwise the delay doubles up to PollInterval. Jitter takes
 * up to a quarter off, from the event's random value. */
unsigned rt_backoff_ms(unsigned *base_ms, unsigned first_ms, unsigned max_ms,
		       uint32_t random)
{
	unsigned base, delay;

	if (*base_ms == 0)
		base = first_ms;
	else
		base = *base_ms > max_ms / 2 ? max_ms : *base_ms * 2;
	if (base > max_ms)
		base = max_ms;
	*base_ms = base;
	delay = base - random % (base / 4 + 1);
	return delay ? delay : 1;
}

uint32_t rt_random_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (uint32_t)((*state * 2685821657736338717ULL) >> 32);
}

static void arm_timer(struct ctx *c, int slot, bool first)
{
	struct rt_slot *s = &c->run->slots[slot];
	unsigned delay;
	struct rt_action *a;

	if (first)
		s->delay_ms = 0;
	delay = rt_backoff_ms(&s->delay_ms, RT_FIRST_POLL_MS,
			      c->run->poll_interval_s * (unsigned)MSEC_PER_SEC,
			      c->random);
	s->await = RT_AWAIT_TIMER;
	s->token = new_token(c->run);
	a = push(c->out, RT_ACT_TIMER);
	a->slot = slot;
	a->token = s->token;
	a->delay_ms = delay;
}

static void queue_create(struct ctx *c, int slot)
{
	struct rt_slot *s = &c->run->slots[slot];
	size_t i;

	s->phase = RT_PH_CREATING;
	s->await = RT_AWAIT_CALL; /* owned by the queued call */
	for (i = 0; i < c->n_creates; i++)
		if (c->creates[i] == slot)
			return;
	c->creates[c->n_creates++] = slot;
}

static void find_now(struct ctx *c, int slot)
{
	c->run->slots[slot].phase = RT_PH_FINDING;
	issue_call(c, slot, op_find(c->run, slot));
}

/* ---- finishing --------------------------------------------------------- */

static void finish(struct ctx *c, enum rt_outcome outcome, const char *fmt, ...)
	PR_PRINTF(3, 4);
static void finish(struct ctx *c, enum rt_outcome outcome, const char *fmt, ...)
{
	struct rt_run *run = c->run;
	char fire[32];
	va_list ap;
	int i;

	if (run->stage == RT_STAGE_DONE || c->gave_up)
		return;
	va_start(ap, fmt);
	vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
	va_end(ap);
	fmt_utc(run->fire_time, fire, sizeof(fire));
	if (run->kind == RT_KIND_ROLLBACK)
		act_log(c, outcome == RT_OUT_SUCCEEDED ? LOG_NOTICE : LOG_ERR,
			outcome == RT_OUT_SUCCEEDED ? MSGID_ROLLBACK
						    : MSGID_RUN_FAILED,
			RT_SLOT_RUN, "rollback of campaign %s %s: %s",
			arn_tail(run->campaign_arn),
			outcome == RT_OUT_SUCCEEDED ? "succeeded" : "failed",
			run->reason);
	else if (outcome == RT_OUT_SUCCEEDED)
		act_log(c, LOG_NOTICE, MSGID_RUN_SUCCEEDED, RT_SLOT_RUN,
			"run for %s succeeded: %s", fire, run->reason);
	else if (outcome == RT_OUT_GATED)
		act_log(c, LOG_WARNING, MSGID_QUALITY_GATE_REJECTED,
			RT_SLOT_RUN, "run for %s gated: %s", fire, run->reason);
	else if (outcome == RT_OUT_SKIPPED)
		act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN, "run for %s %s", fire,
			run->reason);
	else
		act_log(c, LOG_ERR, MSGID_RUN_FAILED, RT_SLOT_RUN,
			"run for %s %s: %s", fire,
			outcome == RT_OUT_UNREACHABLE ? "gave up" : "failed",
			run->reason);
	run->stage = RT_STAGE_DONE;
	run->outcome = outcome;
	run->finished_at = c->now;
	for (i = 0; i < RT_NSLOTS; i++)
		run->slots[i].await = RT_AWAIT_NONE;
	c->n_creates = 0;
	c->save = true;
	c->finished = true;
}

static void fail_slot(struct ctx *c, int slot, const char *fmt, ...)
	PR_PRINTF(3, 4);
static void fail_slot(struct ctx *c, int slot, const char *fmt, ...)
{
	struct rt_slot *s = &c->run->slots[slot];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	s->phase = RT_PH_FAILED;
	s->await = RT_AWAIT_NONE;
	s->finished_at = c->now;
	c->save = true;
}

/* A job of ours that may be running at AWS: an import or the version
 * created (ARN known) and not finished, or whose create may have gone
 * through (sent, or answered with an unknown outcome or AlreadyExists);
 * the campaign: our UpdateCampaign sent or in progress. A slot waiting
 * for someone else's job, or about to look before creating, is not. */
static bool slot_in_flight(const struct rt_run *run, int i)
{
	const struct rt_slot *s = &run->slots[i];

	if (i == RT_SLOT_GATE || (i < RT_MAX_DATASETS && !is_dataset(run, i)))
		return false;
	if (s->phase == RT_PH_CREATING || s->phase == RT_PH_RUNNING)
		return true;
	/* the campaign slot always holds the campaign's ARN: not a sign */
	return s->phase == RT_PH_FINDING &&
	       (s->uncertain || (i != RT_SLOT_CAMPAIGN && s->arn[0]));
}

static bool jobs_in_flight(const struct rt_run *run)
{
	int i;

	for (i = 0; i < RT_NSLOTS; i++)
		if (slot_in_flight(run, i))
			return true;
	return false;
}

/* One LOG per job of ours in flight: what, prefixed, with its ARN (the
 * campaign's: the version it is being updated to). */
static void log_in_flight(struct ctx *c, int priority, const char *what)
{
	const struct rt_run *run = c->run;
	char label[160];
	const char *arn;
	int i;

	for (i = 0; i < RT_NSLOTS; i++) {
		if (!slot_in_flight(run, i))
			continue;
		slot_label(run, i, label, sizeof(label));
		arn = i == RT_SLOT_CAMPAIGN ? run->slots[RT_SLOT_VERSION].arn
					    : run->slots[i].arn;
		act_log(c, priority, NULL, i, "%s: %s (%s%s)", what, label,
			i == RT_SLOT_CAMPAIGN ? "updating it to " : "",
			empty(arn) ? "ARN not known yet" : arn);
	}
}

/* The run stops polling (the service stayed unreachable, or a describe or
 * find was refused) while jobs of its own may be running at AWS: it does
 * not end. It is frozen like a stopped run and saved durably as the run in
 * progress, so the next run (or `once`) adopts those jobs before anything
 * else instead of creating new ones beside them; the driver gets FINISHED
 * with the outcome while rt_done() stays false, and run->reason says why
 * it stopped. false (nothing done) when no job is in flight or for a
 * rollback: the caller ends the run then. */
static bool give_up(struct ctx *c, enum rt_outcome outcome, const char *fmt, ...)
	PR_PRINTF(3, 4);
static bool give_up(struct ctx *c, enum rt_outcome outcome, const char *fmt, ...)
{
	struct rt_run *run = c->run;
	char fire[32];
	va_list ap;
	int i;

	if (run->kind != RT_KIND_RETRAIN || !jobs_in_flight(run))
		return false;
	va_start(ap, fmt);
	vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
	va_end(ap);
	fmt_utc(run->fire_time, fire, sizeof(fire));
	act_log(c, LOG_ERR, MSGID_RUN_FAILED, RT_SLOT_RUN,
		"run for %s stopped polling while %s: %s; its jobs keep running at AWS and stay in the state: the next run adopts them first and creates none beside them",
		fire, rt_stage_name(run->stage), run->reason);
	log_in_flight(c, LOG_NOTICE, "kept for the next run to adopt");
	run->stopped = true;
	run->outcome = RT_OUT_NONE;
	for (i = 0; i < RT_NSLOTS; i++)
		run->slots[i].await = RT_AWAIT_NONE;
	c->n_creates = 0;
	c->gave_up = true;
	c->gave_up_outcome = outcome;
	return true;
}

static const char *prev_version(const struct rt_run *run)
{
	return empty(run->prev_version_arn) ? "its previous version (unknown)"
					    : run->prev_version_arn;
}

/* ---- status strings ---------------------------------------------------- */

enum status_class { ST_PROGRESS, ST_ACTIVE, ST_FAILED };

static enum status_class classify(const char *status)
{
	if (empty(status))
		return ST_PROGRESS;
	if (!strcmp(status, "ACTIVE"))
		return ST_ACTIVE;
	/* "CREATE STOPPING" is on its way to "CREATE STOPPED": wait for it */
	if (strstr(status, "STOPPING"))
		return ST_PROGRESS;
	if (strstr(status, "FAILED") || strstr(status, "STOP") ||
	    strstr(status, "DELETE"))
		return ST_FAILED;
	return ST_PROGRESS;
}

/* Apply a job's status (import or version) from a find or describe. */
static void apply_status(struct ctx *c, int slot, const char *status,
			 const char *failure, bool first_poll)
{
	struct rt_slot *s = &c->run->slots[slot];
	char label[160];
	bool changed = strcmp(s->status, status ? status : "") != 0;

	copy_str(s->status, sizeof(s->status), status);
	if (changed)
		c->save = true;
	slot_label(c->run, slot, label, sizeof(label));
	switch (classify(status)) {
	case ST_ACTIVE:
		s->phase = RT_PH_ACTIVE;
		s->await = RT_AWAIT_NONE;
		s->finished_at = c->now;
		c->save = true;
		act_log(c, LOG_INFO, NULL, slot, "%s is ACTIVE", label);
		break;
	case ST_FAILED:
		fail_slot(c, slot, "%s", empty(failure) ? "(no reason given)"
							 : failure);
		act_log(c, LOG_ERR, NULL, slot, "%s ended %s: %s", label,
			s->status, s->reason);
		break;
	case ST_PROGRESS:
		s->phase = RT_PH_RUNNING;
		arm_timer(c, slot, first_poll);
		break;
	}
}

/* ---- replies ----------------------------------------------------------- */

/* The length of an error code without its "Exception" suffix, as the
 * service's documentation names the errors ("AccessDenied"). */
static int code_len(const char *code)
{
	static const char sfx[] = "Exception";
	size_t n = strlen(code), k = sizeof(sfx) - 1;

	if (n > k && !strcmp(code + n - k, sfx))
		n -= k;
	return n > 64 ? 64 : (int)n;
}

static void reject(struct ctx *c, int slot, const struct rt_event *ev,
		   enum rt_op op)
{
	char label[160];
	const char *code = !empty(ev->error_code) ? ev->error_code
			   : ev->result == RT_RES_NOT_FOUND ? "ResourceNotFound"
							    : "InvalidInput";

	slot_label(c->run, slot, label, sizeof(label));
	/* a describe or find refused (expired credentials, permissions): the
	 * jobs themselves may be fine and running. Not found is an answer
	 * about the resource: the slot fails (reject), not kept. */
	if (ev->result == RT_RES_INVALID &&
	    (op == RT_OP_DESCRIBE_IMPORT || op == RT_OP_FIND_IMPORT ||
	     op == RT_OP_DESCRIBE_VERSION || op == RT_OP_FIND_VERSION ||
	     op == batch_op(c->run, RT_OP_DESCRIBE_BATCH_INFERENCE) ||
	     op == batch_op(c->run, RT_OP_FIND_BATCH_INFERENCE) ||
	     (op == RT_OP_DESCRIBE_CAMPAIGN && slot == RT_SLOT_CAMPAIGN)) &&
	    give_up(c, RT_OUT_FAILED, "%s for %s rejected (%.*s): %s",
		    rt_op_name(op), label, code_len(code), code,
		    empty(ev->error) ? "no message" : ev->error))
		return;
	fail_slot(c, slot, "%s for %s rejected (%.*s): %s", rt_op_name(op),
		  label, code_len(code), code,
		  empty(ev->error) ? "no message" : ev->error);
	act_log(c, LOG_ERR, NULL, slot, "%s", c->run->slots[slot].reason);
}

static void on_create(struct ctx *c, int slot, const struct rt_event *ev)
{
	struct rt_run *run = c->run;
	struct rt_slot *s = &run->slots[slot];
	char label[160];
	enum rt_op op = op_create(run, slot);

	slot_label(run, slot, label, sizeof(label));
	switch (ev->result) {
	case RT_RES_OK:
		if (slot != RT_SLOT_CAMPAIGN && empty(ev->arn)) {
			act_log(c, LOG_WARNING, NULL, slot,
				"%s for %s: reply without an ARN; looking it up by name",
				rt_op_name(op), label);
			s->uncertain = true; /* created: in flight */
			s->phase = RT_PH_FINDING;
			arm_timer(c, slot, true);
			break;
		}
		if (slot != RT_SLOT_CAMPAIGN)
			copy_str(s->arn, sizeof(s->arn), ev->arn);
		s->adopted = false;
		s->created_at = c->now;
		s->phase = RT_PH_RUNNING;
		c->save = true;
		if (slot == RT_SLOT_CAMPAIGN)
			act_log(c, LOG_NOTICE, NULL, slot,
				"UpdateCampaign sent: deploying %s to %s (it served %s)",
				run->slots[RT_SLOT_VERSION].name,
				arn_tail(run->campaign_arn), prev_version(run));
		else
			act_log(c, LOG_INFO, NULL, slot, "%s created", label);
		arm_timer(c, slot, true);
		break;
	case RT_RES_ALREADY_EXISTS:
		if (!s->uncertain)
			run->followed = true;
		s->uncertain = true; /* a job of this name exists: in flight */
		s->taken = true;
		s->misses = 0;
		c->save = true;
		act_log(c, LOG_NOTICE, NULL, slot,
			"%s already exists (another host or an earlier attempt created it): following it",
			label);
		find_now(c, slot);
		break;
	case RT_RES_IN_USE:
		act_log(c, LOG_NOTICE, NULL, slot,
			"%s: resource in use (%s); looking for our job or the one in progress",
			label, empty(ev->error) ? "ResourceInUse" : ev->error);
		s->in_use = true;
		find_now(c, slot);
		break;
	case RT_RES_NOT_FOUND:
	case RT_RES_INVALID:
		reject(c, slot, ev, op);
		break;
	case RT_RES_TRANSIENT:
	case RT_RES_UNKNOWN:
		act_log(c, LOG_WARNING, NULL, slot,
			"%s for %s: %s (%s); will look it up by name before trying again",
			rt_op_name(op), label,
			ev->result == RT_RES_UNKNOWN ? "outcome unknown"
			: ev->not_sent ? "not sent" : "transient failure",
			empty(ev->error) ? "no message" : ev->error);
		/* a create that never left does not make the job ours in
		 * flight (an earlier attempt that did still does) */
		if (!ev->not_sent)
			s->uncertain = true;
		s->phase = RT_PH_FINDING;
		arm_timer(c, slot, false);
		break;
	}
}

static void wait_other(struct ctx *c, int slot, const char *other)
{
	struct rt_slot *s = &c->run->slots[slot];
	char label[160];

	if (s->phase != RT_PH_WAITING) {
		slot_label(c->run, slot, label, sizeof(label));
		act_log(c, LOG_NOTICE, NULL, slot,
			"%s waits: %s started by someone else is in progress",
			label, empty(other) ? "another job" : other);
	}
	s->phase = RT_PH_WAITING;
	arm_timer(c, slot, false);
}

/* A find or describe that did not get an answer: log it, ask again later. */
static void retry_later(struct ctx *c, int slot, const struct rt_event *ev,
			enum rt_op op)
{
	char label[160];

	slot_label(c->run, slot, label, sizeof(label));
	arm_timer(c, slot, false);
	act_log(c, LOG_WARNING, NULL, slot,
		"%s for %s: %s (%s); asking again in %us", rt_op_name(op), label,
		ev->result == RT_RES_UNKNOWN ? "no answer" : "failed",
		empty(ev->error) ? "no message" : ev->error,
		(c->run->slots[slot].delay_ms + 999) / 1000);
}

static void on_find_job(struct ctx *c, int slot, const struct rt_event *ev)
{
	struct rt_slot *s = &c->run->slots[slot];
	char label[160];

	slot_label(c->run, slot, label, sizeof(label));
	switch (ev->result) {
	case RT_RES_OK:
		if (ev->found && !empty(ev->arn)) {
			s->taken = false;
			s->in_use = false;
			copy_str(s->arn, sizeof(s->arn), ev->arn);
			s->adopted = true;
			s->created_at = c->now;
			c->save = true;
			act_log(c, LOG_NOTICE, NULL, slot,
				"found %s (%s): adopting it", label,
				empty(ev->status) ? "status unknown" : ev->status);
			apply_status(c, slot, ev->status, ev->failure_reason,
				     true);
		} else if (ev->found) {
			arm_timer(c, slot, false); /* malformed: ask again */
		} else if (ev->other_busy) {
			wait_other(c, slot, ev->other_name);
		} else if (s->taken) {
			/* AlreadyExists, yet nothing of ours is listed: the
			 * name is another's, or the list lags behind */
			if (++s->misses > RT_TOLERANCE) {
				fail_slot(c, slot, "%s: a job of that name exists but %s does not list it as this run's (another pipeline with the same PipelineName in this account, or a job of another version?): not created again",
					  label, rt_op_name(op_find(c->run, slot)));
				act_log(c, LOG_ERR, NULL, slot, "%s", s->reason);
				break;
			}
			arm_timer(c, slot, false);
		} else if (s->in_use) {
			/* ResourceInUse, yet nothing busy is listed (the list
			 * lags): not again at once, after a backoff */
			s->in_use = false;
			arm_timer(c, slot, false);
		} else {
			queue_create(c, slot);
		}
		break;
	case RT_RES_NOT_FOUND:
	case RT_RES_INVALID:
		reject(c, slot, ev, op_find(c->run, slot));
		break;
	default:
		retry_later(c, slot, ev, op_find(c->run, slot));
		break;
	}
}

static bool eq(const char *a, const char *b)
{
	return !empty(a) && !empty(b) && !strcmp(a, b);
}

/* ---- the deploy's pre-check (RT_PRECHECK_REUSE_S) --------------------- */

/* Not sent: the campaign was updated to another version after this run's
 * version was created. Nothing failed: the run ends skipped and the
 * campaign keeps serving the newer version. */
static void superseded(struct ctx *c)
{
	struct rt_run *run = c->run;
	char when[32];

	fmt_utc(run->camp_seen_update_at, when, sizeof(when));
	fail_slot(c, RT_SLOT_CAMPAIGN, "not sent: superseded");
	finish(c, RT_OUT_SKIPPED,
	       "skipped: superseded, not deployed: campaign %s was updated to %s at %s, after this run's version was created (a later run, another host or an operator): deploying now would put an older version back; the campaign keeps serving that newer version",
	       run->campaign_arn, run->camp_seen_update, when);
}

/* The campaign serves this run's version: deployed, nothing to send. */
static void campaign_serves_ours(struct ctx *c)
{
	struct rt_run *run = c->run;
	struct rt_slot *s = &run->slots[RT_SLOT_CAMPAIGN];

	s->phase = RT_PH_ACTIVE;
	s->finished_at = c->now;
	s->await = RT_AWAIT_NONE;
	c->save = true;
	act_log(c, LOG_NOTICE,
		run->kind == RT_KIND_ROLLBACK ? NULL : MSGID_DEPLOYED,
		RT_SLOT_CAMPAIGN, "campaign %s serves %s",
		arn_tail(run->campaign_arn), run->slots[RT_SLOT_VERSION].name);
}

/* The pre-check's DescribeSolutionVersion: of this run's version, or
 * (serving) of the one the campaign serves. */
static void precheck_lookup(struct ctx *c, bool serving)
{
	struct rt_run *run = c->run;

	run->slots[RT_SLOT_CAMPAIGN].phase = RT_PH_FINDING;
	run->precheck_lookup = true;
	run->precheck_serving = serving;
	issue_call(c, RT_SLOT_CAMPAIGN, RT_OP_DESCRIBE_VERSION);
}

/* The campaign's latest update, to another version, failed: that version
 * never went live, so it decides nothing. The version the campaign still
 * serves does: trained after ours, it is newer and stays (skipped as
 * superseded); trained before ours (or not known), ours goes out. */
static void serving_decides(struct ctx *c)
{
	struct rt_run *run = c->run;
	const char *serving = run->prev_version_arn;
	const char *ours = run->slots[RT_SLOT_VERSION].arn;
	const char *camp = arn_tail(run->campaign_arn);

	if (eq(serving, ours)) {
		campaign_serves_ours(c);
		return;
	}
	if (!empty(serving)) {
		/* both creation times, ours first */
		if (run->version_created <= 0 || run->serving_created <= 0) {
			precheck_lookup(c, run->version_created > 0);
			return;
		}
		if (run->serving_created > run->version_created) {
			fail_slot(c, RT_SLOT_CAMPAIGN, "not sent: superseded");
			finish(c, RT_OUT_SKIPPED,
			       "skipped: superseded, not deployed: campaign %s serves %s, trained after this run's version (its latest update, to %s, failed): deploying now would put an older version back; the campaign keeps serving %s",
			       run->campaign_arn, serving,
			       run->camp_seen_update, serving);
			return;
		}
	}
	act_log(c, LOG_NOTICE, NULL, RT_SLOT_CAMPAIGN,
		"campaign %s's latest update, to %s, failed; it serves %s, trained before %s: deploying",
		camp, run->camp_seen_update,
		empty(serving) ? "(unknown)" : serving,
		run->slots[RT_SLOT_VERSION].name);
	queue_create(c, RT_SLOT_CAMPAIGN);
}

/* The campaign slot would send UpdateCampaign now (no update of ours in
 * flight, none of another in progress): decide from the latest look at the
 * campaign whether it goes out, is skipped as superseded, or needs a look
 * first (at the campaign again, or at this run's version's creation time). */
static void deploy_or_skip(struct ctx *c)
{
	struct rt_run *run = c->run;
	const char *other = run->camp_seen_update;
	time_t age = c->now - run->camp_seen_at;

	run->precheck_lookup = false;
	run->precheck_serving = false;
	if (run->kind != RT_KIND_RETRAIN) {
		queue_create(c, RT_SLOT_CAMPAIGN); /* an older version on purpose */
		return;
	}
	if (run->camp_seen_at == 0 || age < 0 || age >= RT_PRECHECK_REUSE_S) {
		act_log(c, LOG_INFO, NULL, RT_SLOT_CAMPAIGN,
			"campaign %s was last described %llds before UpdateCampaign's turn; describing it again",
			arn_tail(run->campaign_arn), (long long)age);
		find_now(c, RT_SLOT_CAMPAIGN);
		return;
	}
	if (empty(other) || eq(other, run->slots[RT_SLOT_VERSION].arn) ||
	    run->camp_seen_update_at <= 0) {
		queue_create(c, RT_SLOT_CAMPAIGN);
		return;
	}
	if (run->version_created <= 0) {
		/* compare with this run's version's creation time: ask */
		precheck_lookup(c, false);
		return;
	}
	if (run->camp_seen_update_at > run->version_created) {
		if (classify(run->slots[RT_SLOT_CAMPAIGN].status) == ST_FAILED)
			serving_decides(c); /* that update never went live */
		else
			superseded(c);
		return;
	}
	queue_create(c, RT_SLOT_CAMPAIGN);
}

/* The pre-check's DescribeSolutionVersion of this run's version, or of the
 * one the campaign serves (precheck_serving). */
static void on_precheck_version(struct ctx *c, const struct rt_event *ev)
{
	struct rt_run *run = c->run;
	bool serving = run->precheck_serving;
	const char *vname = serving ? run->prev_version_arn
				    : run->slots[RT_SLOT_VERSION].name;

	run->precheck_lookup = false;
	run->precheck_serving = false;
	if (ev->result == RT_RES_INVALID) {
		/* refused: the deploy is not sent blind */
		reject(c, RT_SLOT_CAMPAIGN, ev, RT_OP_DESCRIBE_VERSION);
		return;
	}
	if (ev->result == RT_RES_OK && ev->created > 0) {
		if (serving)
			run->serving_created = ev->created;
		else
			run->version_created = ev->created;
		deploy_or_skip(c);
		return;
	}
	act_log(c, LOG_WARNING, NULL, RT_SLOT_CAMPAIGN,
		"cannot tell when %s was created (DescribeSolutionVersion: %s); campaign %s was last updated to %s: deploying anyway",
		vname,
		ev->result == RT_RES_OK ? "no creation time"
		: empty(ev->error) ? "failed" : ev->error,
		arn_tail(run->campaign_arn), run->camp_seen_update);
	queue_create(c, RT_SLOT_CAMPAIGN);
}

/* DescribeCampaign before our update (FINDING/WAITING) or after (RUNNING). */
static void on_campaign(struct ctx *c, const struct rt_event *ev)
{
	struct rt_run *run = c->run;
	struct rt_slot *s = &run->slots[RT_SLOT_CAMPAIGN];
	const char *ours = run->slots[RT_SLOT_VERSION].arn;
	const char *vname = run->slots[RT_SLOT_VERSION].name;
	const char *camp = arn_tail(run->campaign_arn);
	enum status_class uc = classify(ev->update_status);
	bool for_ours = eq(ev->update_version_arn, ours);
	bool serves_ours = eq(ev->campaign_version_arn, ours);

	if (ev->result == RT_RES_NOT_FOUND || ev->result == RT_RES_INVALID) {
		reject(c, RT_SLOT_CAMPAIGN, ev, RT_OP_DESCRIBE_CAMPAIGN);
		return;
	}
	if (ev->result != RT_RES_OK) {
		retry_later(c, RT_SLOT_CAMPAIGN, ev, RT_OP_DESCRIBE_CAMPAIGN);
		return;
	}
	run->camp_seen_at = c->now;
	run->serving_created = 0;
	copy_str(run->camp_seen_update, sizeof(run->camp_seen_update),
		 ev->update_version_arn);
	run->camp_seen_update_at = ev->update_created;
	copy_str(s->status, sizeof(s->status), ev->update_status);
	/* No update on record yet but the campaign serves ours: deployed. */
	if (serves_ours && (empty(ev->update_version_arn) || for_ours) &&
	    (empty(ev->update_status) || uc == ST_ACTIVE)) {
		campaign_serves_ours(c);
		return;
	}
	if (for_ours) {
		if (uc == ST_FAILED) {
			fail_slot(c, RT_SLOT_CAMPAIGN,
				  "campaign update to %s failed: %s; campaign %s still serves %s",
				  vname,
				  empty(ev->update_failure_reason)
					  ? "(no reason given)"
					  : ev->update_failure_reason,
				  camp,
				  empty(ev->campaign_version_arn)
					  ? prev_version(run)
					  : ev->campaign_version_arn);
			act_log(c, LOG_ERR, NULL, RT_SLOT_CAMPAIGN, "%s",
				s->reason);
			return;
		}
		if (s->phase != RT_PH_RUNNING) {
			/* An update for our version in flight: ours. */
			if (!s->uncertain)
				run->followed = true;
			if (empty(run->prev_version_arn) &&
			    !empty(ev->campaign_version_arn) && !serves_ours)
				copy_str(run->prev_version_arn,
					 sizeof(run->prev_version_arn),
					 ev->campaign_version_arn);
			act_log(c, LOG_NOTICE, NULL, RT_SLOT_CAMPAIGN,
				"an update of campaign %s to %s is already in flight: following it",
				camp, vname);
			s->phase = RT_PH_RUNNING;
			s->created_at = c->now;
			c->save = true;
			arm_timer(c, RT_SLOT_CAMPAIGN, true);
			return;
		}
		s->misses = 0;
		arm_timer(c, RT_SLOT_CAMPAIGN, false);
		return;
	}
	/* The latest update is not for our version. */
	if (s->phase == RT_PH_RUNNING) {
		if (++s->misses > RT_TOLERANCE) {
			fail_slot(c, RT_SLOT_CAMPAIGN,
				  "campaign %s's latest update is for %s, not %s: superseded by another update; campaign serves %s",
				  camp,
				  empty(ev->update_version_arn)
					  ? "(none)" : ev->update_version_arn,
				  vname,
				  empty(ev->campaign_version_arn)
					  ? "(unknown)" : ev->campaign_version_arn);
			act_log(c, LOG_ERR, NULL, RT_SLOT_CAMPAIGN, "%s",
				s->reason);
			return;
		}
		arm_timer(c, RT_SLOT_CAMPAIGN, false);
		return;
	}
	if (!empty(ev->update_status) && uc == ST_PROGRESS) {
		wait_other(c, RT_SLOT_CAMPAIGN, ev->update_version_arn);
		return;
	}
	copy_str(run->prev_version_arn, sizeof(run->prev_version_arn),
		 ev->campaign_version_arn);
	deploy_or_skip(c);
}

static void on_describe_job(struct ctx *c, int slot, const struct rt_event *ev)
{
	struct rt_slot *s = &c->run->slots[slot];
	char label[160];

	switch (ev->result) {
	case RT_RES_OK:
		s->misses = 0;
		apply_status(c, slot, ev->status, ev->failure_reason, false);
		break;
	case RT_RES_NOT_FOUND:
		if (++s->misses > RT_TOLERANCE) {
			slot_label(c->run, slot, label, sizeof(label));
			fail_slot(c, slot, "%s (%s) disappeared: %s", label,
				  s->arn, empty(ev->error) ? "ResourceNotFound"
							   : ev->error);
			act_log(c, LOG_ERR, NULL, slot, "%s", s->reason);
			break;
		}
		arm_timer(c, slot, false);
		break;
	case RT_RES_INVALID:
		reject(c, slot, ev, op_describe(c->run, slot));
		break;
	default:
		retry_later(c, slot, ev, op_describe(c->run, slot));
		break;
	}
}

/* ---- checking: HeadObject of the S3 sources (skip_unchanged) ---------- */

/* A folder (ending in '/') is listed, not HEADed: the driver hands its
 * listing's digest in as the ETag, without a Last-Modified. */
static bool s3_folder(const char *path)
{
	size_t n = strlen(path);

	return n > 0 && path[n - 1] == '/';
}

static void on_head(struct ctx *c, int slot, const struct rt_event *ev)
{
	struct rt_dataset *s = &c->run->datasets[slot];
	bool folder = s3_folder(s->s3_path);

	s->etag[0] = s->last_modified[0] = '\0';
	s->unchanged = false;
	c->save = true;
	if (ev->result != RT_RES_OK || empty(ev->etag)) {
		act_log(c, LOG_WARNING, NULL, slot,
			"%s of %s (%s dataset) %s (%s): importing it anyway",
			folder ? "ListObjectsV2" : "HeadObject",
			s->s3_path, s->ds_type,
			ev->result == RT_RES_OK ? "gave no ETag" : "failed",
			ev->result == RT_RES_NOT_FOUND ? "not found"
			: empty(ev->error) ? "no message" : ev->error);
		return;
	}
	copy_str(s->etag, sizeof(s->etag), ev->etag);
	copy_str(s->last_modified, sizeof(s->last_modified), ev->last_modified);
	/* a folder's digest covers every object's ETag and size: it alone
	 * decides */
	s->unchanged = eq(s->etag, s->prev_etag) &&
		       (folder || eq(s->last_modified, s->prev_last_modified));
	if (folder)
		act_log(c, LOG_INFO, NULL, slot,
			"%s (%s dataset) %s (listing %s)",
			s->s3_path, s->ds_type,
			s->unchanged ? "unchanged since the last import: not re-importing it"
				     : "changed: importing it",
			s->etag);
	else
		act_log(c, LOG_INFO, NULL, slot,
			"%s (%s dataset) %s (ETag %s, %s)",
			s->s3_path, s->ds_type,
			s->unchanged ? "unchanged since the last import: not re-importing it"
				     : "changed: importing it",
			s->etag, empty(s->last_modified) ? "no Last-Modified"
							 : s->last_modified);
}

static void begin_checking(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->run->n_datasets; i++) {
		c->run->slots[i].phase = RT_PH_PENDING;
		issue_call(c, (int)i, RT_OP_HEAD_OBJECT);
	}
}

/* ---- gating: GetSolutionMetrics and gate_evaluate --------------------- */

static void gate_issue(struct ctx *c)
{
	issue_call(c, RT_SLOT_GATE, c->run->gate_step == GS_CAMPAIGN
					    ? RT_OP_DESCRIBE_CAMPAIGN
					    : RT_OP_GET_METRICS);
}

static void begin_gate(struct ctx *c)
{
	struct rt_run *run = c->run;
	struct rt_slot *g = &run->slots[RT_SLOT_GATE];

	g->phase = RT_PH_RUNNING;
	g->reason[0] = '\0';
	g->delay_ms = 0;
	run->gate_has_cand = false;
	run->gate_cand = 0;
	run->gate_current_arn[0] = '\0';
	run->gate_step = empty(run->campaign_arn) ? GS_CANDIDATE : GS_CAMPAIGN;
	gate_issue(c);
}

static void gate_cfg(const struct rt_run *run, struct gate_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->metric = run->gate.metric;
	cfg->max_regression = run->gate.max_regression;
	cfg->has_min_quality = run->gate.has_min_quality;
	cfg->min_quality = run->gate.min_quality;
}

static void gate_fail(struct ctx *c, const char *reason)
{
	fail_slot(c, RT_SLOT_GATE, "%s; nothing deployed", reason);
	act_log(c, LOG_ERR, NULL, RT_SLOT_GATE, "%s",
		c->run->slots[RT_SLOT_GATE].reason);
}

/* The verdict: PASS marks the gate slot ACTIVE (advance() deploys);
 * REJECT ends the run gated; ERROR fails the gate slot. */
static void gate_verdict(struct ctx *c, int rc, const struct gate_result *res)
{
	struct rt_slot *g = &c->run->slots[RT_SLOT_GATE];

	if (rc < 0) {
		gate_fail(c, "quality gate: invalid configuration");
		return;
	}
	switch (res->verdict) {
	case GATE_PASS:
		copy_str(g->reason, sizeof(g->reason), res->reason);
		g->phase = RT_PH_ACTIVE;
		g->await = RT_AWAIT_NONE;
		g->finished_at = c->now;
		act_log(c, LOG_NOTICE, NULL, RT_SLOT_GATE, "%s", res->reason);
		break;
	case GATE_REJECT:
		g->phase = RT_PH_FAILED;
		copy_str(g->reason, sizeof(g->reason), res->reason);
		finish(c, RT_OUT_GATED, "%s; nothing deployed", res->reason);
		break;
	default:
		gate_fail(c, res->reason);
		break;
	}
}

static void on_gate(struct ctx *c, const struct rt_event *ev)
{
	struct rt_run *run = c->run;
	struct gate_config cfg;
	struct gate_result res;
	struct personalize_metric one;
	struct personalize_solution_metrics cand;
	const char *ours = run->slots[RT_SLOT_VERSION].arn;
	enum rt_op op = run->gate_step == GS_CAMPAIGN ? RT_OP_DESCRIBE_CAMPAIGN
						      : RT_OP_GET_METRICS;
	int rc;

	if (ev->result == RT_RES_NOT_FOUND || ev->result == RT_RES_INVALID) {
		reject(c, RT_SLOT_GATE, ev, op);
		return;
	}
	if (ev->result != RT_RES_OK ||
	    (op == RT_OP_GET_METRICS && !ev->metrics)) {
		retry_later(c, RT_SLOT_GATE, ev, op);
		return;
	}
	gate_cfg(run, &cfg);
	memset(&res, 0, sizeof(res));
	switch (run->gate_step) {
	case GS_CAMPAIGN:
		copy_str(run->gate_current_arn, sizeof(run->gate_current_arn),
			 ev->campaign_version_arn);
		run->gate_step = GS_CANDIDATE;
		gate_issue(c);
		return;
	case GS_CANDIDATE:
		rc = gate_evaluate(&cfg, ev->metrics, NULL, &res);
		if (rc < 0 || res.verdict == GATE_ERROR)
			break;
		run->gate_has_cand = true;
		run->gate_cand = res.candidate;
		if (!empty(run->gate_current_arn) &&
		    strcmp(run->gate_current_arn, ours)) {
			run->gate_step = GS_CURRENT;
			gate_issue(c);
			return;
		}
		/* No current version, or it is ours already (equal). */
		rc = gate_evaluate(&cfg, ev->metrics,
				   empty(run->gate_current_arn) ? NULL
								: ev->metrics,
				   &res);
		break;
	default: /* GS_CURRENT */
		one.name = run->gate.metric;
		one.value = run->gate_cand;
		cand.solution_version_arn = ours;
		cand.metrics = &one;
		cand.n_metrics = 1;
		rc = gate_evaluate(&cfg, &cand, ev->metrics, &res);
		break;
	}
	run->gate_step = GS_NONE;
	gate_verdict(c, rc, &res);
}

/* ---- rollback: the target must be an ACTIVE version of our solution --- */

static bool of_solution(const struct rt_run *run, const struct rt_event *ev)
{
	size_t n = strlen(run->solution_arn);
	const char *v = run->slots[RT_SLOT_VERSION].arn;

	if (!empty(ev->solution_arn))
		return !strcmp(ev->solution_arn, run->solution_arn);
	return !strncmp(v, run->solution_arn, n) && v[n] == '/';
}

static void on_verify(struct ctx *c, const struct rt_event *ev)
{
	struct rt_slot *v = &c->run->slots[RT_SLOT_VERSION];

	switch (ev->result) {
	case RT_RES_OK:
		copy_str(v->status, sizeof(v->status), ev->status);
		if (!of_solution(c->run, ev)) {
			fail_slot(c, RT_SLOT_VERSION,
				  "cannot roll back to %s: it is a version of %s, not of solution %s",
				  v->arn, empty(ev->solution_arn)
						  ? "another solution"
						  : ev->solution_arn,
				  c->run->solution_arn);
		} else if (classify(ev->status) != ST_ACTIVE ||
			   strcmp(ev->status, "ACTIVE")) {
			fail_slot(c, RT_SLOT_VERSION,
				  "cannot roll back to %s: its status is %s, not ACTIVE",
				  v->arn, empty(ev->status) ? "unknown"
							    : ev->status);
		} else {
			v->phase = RT_PH_ACTIVE;
			v->finished_at = c->now;
			act_log(c, LOG_INFO, NULL, RT_SLOT_VERSION,
				"%s is an ACTIVE version of solution %s",
				v->arn, arn_tail(c->run->solution_arn));
			break;
		}
		act_log(c, LOG_ERR, NULL, RT_SLOT_VERSION, "%s", v->reason);
		break;
	case RT_RES_NOT_FOUND:
	case RT_RES_INVALID:
		reject(c, RT_SLOT_VERSION, ev, RT_OP_DESCRIBE_VERSION);
		break;
	default:
		retry_later(c, RT_SLOT_VERSION, ev, RT_OP_DESCRIBE_VERSION);
		break;
	}
}

/* ---- stage progression ------------------------------------------------- */

static void begin_slot(struct ctx *c, int slot)
{
	if (slot == RT_SLOT_CAMPAIGN || c->run->find_first)
		find_now(c, slot);
	else
		queue_create(c, slot);
}

static void begin_deploy(struct ctx *c)
{
	struct rt_run *run = c->run;

	run->stage = RT_STAGE_DEPLOYING;
	c->save = true;
	if (run->kind == RT_KIND_ROLLBACK)
		act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN,
			"rolling campaign %s back to %s",
			arn_tail(run->campaign_arn),
			run->slots[RT_SLOT_VERSION].arn);
	else
		act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN,
			"%s is ACTIVE; deploying it to campaign %s",
			run->slots[RT_SLOT_VERSION].name,
			arn_tail(run->campaign_arn));
	begin_slot(c, RT_SLOT_CAMPAIGN);
}

static void begin_batch(struct ctx *c)
{
	struct rt_run *run = c->run;

	run->stage = RT_STAGE_BATCH;
	c->save = true;
	act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN,
		"creating batch %s job %s of %s: %s -> %s",
		rt_batch_kind_name(run->batch_kind),
		run->slots[RT_SLOT_BATCH].name,
		run->slots[RT_SLOT_VERSION].name, run->batch_input,
		run->batch_output);
	begin_slot(c, RT_SLOT_BATCH);
}

/* The version is ACTIVE (and passed the gate, if any) and deployed when
 * there is a campaign: the batch job, or the end. what: what the run did
 * ("deployed X to campaign Y", "trained X (no campaign to deploy to)"). */
static void after_deploy(struct ctx *c, const char *what)
{
	struct rt_run *run = c->run;

	if (run->kind == RT_KIND_RETRAIN && run->batch_kind != RT_BATCH_NONE) {
		begin_batch(c);
		return;
	}
	finish(c, RT_OUT_SUCCEEDED, "%s", what);
}

/* Checking is over when no HEAD is outstanding: skip, or import the
 * datasets that changed (the unchanged ones count as ACTIVE). */
static void end_checking(struct ctx *c)
{
	struct rt_run *run = c->run;
	size_t i, changed = 0;

	for (i = 0; i < run->n_datasets; i++) {
		if (run->slots[i].await != RT_AWAIT_NONE)
			return;
		if (!run->datasets[i].unchanged)
			changed++;
	}
	c->save = true;
	if (changed == 0) {
		for (i = 0; i < run->n_datasets; i++)
			run->slots[i].phase = RT_PH_ACTIVE;
		finish(c, RT_OUT_SKIPPED, "skipped: no new data");
		return;
	}
	run->stage = RT_STAGE_IMPORTING;
	act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN,
		"%zu of %zu dataset%s changed: importing %s", changed,
		run->n_datasets, run->n_datasets == 1 ? "" : "s",
		changed == 1 ? "it" : "them");
	for (i = 0; i < run->n_datasets; i++) {
		struct rt_slot *s = &run->slots[i];

		if (run->datasets[i].unchanged) {
			s->phase = RT_PH_ACTIVE;
			s->finished_at = c->now;
		} else {
			begin_slot(c, (int)i);
		}
	}
}

static void advance(struct ctx *c)
{
	struct rt_run *run = c->run;
	struct rt_slot *v = &run->slots[RT_SLOT_VERSION];
	size_t i, active = 0;

	if (c->gave_up)
		return;  /* frozen: nothing moves on */
	if (run->stage == RT_STAGE_CHECKING)
		end_checking(c);
	if (run->stage == RT_STAGE_VERIFYING) {
		if (v->phase == RT_PH_FAILED) {
			finish(c, RT_OUT_FAILED, "%s", v->reason);
			return;
		}
		if (v->phase != RT_PH_ACTIVE)
			return;
		begin_deploy(c);
	}
	if (run->stage == RT_STAGE_IMPORTING) {
		for (i = 0; i < run->n_datasets; i++) {
			struct rt_slot *s = &run->slots[i];

			if (s->phase == RT_PH_FAILED) {
				finish(c, RT_OUT_FAILED,
				       "import of the %s dataset failed: %s; no training",
				       run->datasets[i].ds_type, s->reason);
				return;
			}
			if (s->phase == RT_PH_ACTIVE)
				active++;
		}
		if (active < run->n_datasets)
			return;
		run->stage = RT_STAGE_TRAINING;
		c->save = true;
		act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN,
			"all %zu imports ACTIVE; training %s", active, v->name);
		begin_slot(c, RT_SLOT_VERSION);
	}
	if (run->stage == RT_STAGE_TRAINING) {
		if (v->phase == RT_PH_FAILED) {
			finish(c, RT_OUT_FAILED,
			       "training %s failed: %s; nothing deployed",
			       v->name, v->reason);
			return;
		}
		if (v->phase != RT_PH_ACTIVE)
			return;
		if (run->gate.enabled) {
			run->stage = RT_STAGE_GATING;
			c->save = true;
			act_log(c, LOG_NOTICE, NULL, RT_SLOT_RUN,
				"%s is ACTIVE; checking it against the quality gate (%s)",
				v->name, run->gate.metric);
			begin_gate(c);
			return;
		}
		if (empty(run->campaign_arn)) {
			char what[RT_REASON_MAX + 1];

			snprintf(what, sizeof(what),
				 "trained %s (no campaign to deploy to)",
				 v->name);
			after_deploy(c, what);
			return;
		}
		begin_deploy(c);
	}
	if (run->stage == RT_STAGE_GATING) {
		struct rt_slot *g = &run->slots[RT_SLOT_GATE];

		if (g->phase == RT_PH_FAILED) {
			finish(c, RT_OUT_FAILED, "%s", g->reason);
			return;
		}
		if (g->phase != RT_PH_ACTIVE)
			return;
		if (empty(run->campaign_arn)) {
			char what[RT_REASON_MAX + 1];

			snprintf(what, sizeof(what),
				 "trained %s (no campaign to deploy to); %s",
				 v->name, g->reason);
			after_deploy(c, what);
			return;
		}
		begin_deploy(c);
	}
	if (run->stage == RT_STAGE_DEPLOYING) {
		struct rt_slot *s = &run->slots[RT_SLOT_CAMPAIGN];

		if (s->phase == RT_PH_FAILED)
			finish(c, RT_OUT_FAILED, "%s", s->reason);
		else if (s->phase == RT_PH_ACTIVE && run->kind == RT_KIND_ROLLBACK)
			finish(c, RT_OUT_SUCCEEDED, "campaign %s serves %s again",
			       arn_tail(run->campaign_arn), v->arn);
		else if (s->phase == RT_PH_ACTIVE) {
			char what[RT_REASON_MAX + 1];

			snprintf(what, sizeof(what), "deployed %s to campaign %s",
				 v->name, arn_tail(run->campaign_arn));
			after_deploy(c, what);
		}
	}
	if (run->stage == RT_STAGE_BATCH) {
		struct rt_slot *b = &run->slots[RT_SLOT_BATCH];
		const char *kind = rt_batch_kind_name(run->batch_kind);

		if (b->phase == RT_PH_FAILED && !b->status[0])
			/* a rejected call: its reason names the job */
			finish(c, RT_OUT_FAILED, "%s", b->reason);
		else if (b->phase == RT_PH_FAILED)
			finish(c, RT_OUT_FAILED,
			       "batch %s job %s of %s failed: %s%s%s", kind,
			       b->name, v->name, b->reason,
			       empty(run->campaign_arn)
				       ? "" : "; the version is deployed to campaign ",
			       empty(run->campaign_arn)
				       ? "" : arn_tail(run->campaign_arn));
		else if (b->phase == RT_PH_ACTIVE && empty(run->campaign_arn))
			finish(c, RT_OUT_SUCCEEDED,
			       "trained %s (no campaign to deploy to); batch %s job %s wrote %s",
			       v->name, kind, b->name, run->batch_output);
		else if (b->phase == RT_PH_ACTIVE)
			finish(c, RT_OUT_SUCCEEDED,
			       "deployed %s to campaign %s; batch %s job %s wrote %s",
			       v->name, arn_tail(run->campaign_arn), kind,
			       b->name, run->batch_output);
	}
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Intent save before the creates (UpdateCampaign included), flushed to
 * disk (durable), then the creates; the status line. */
static void finalize(struct ctx *c)
{
	struct rt_run *run = c->run;
	struct rt_action *a;
	char line[RT_TEXT_MAX];
	uint32_t h;
	size_t i;

	if (c->gave_up) {
		/* the run as it stands, durably: the next start adopts it */
		a = push(c->out, RT_ACT_SAVE);
		a->durable = true;
		a->intent = true;
		a = push(c->out, RT_ACT_FINISHED);
		a->outcome = c->gave_up_outcome;
		copy_str(a->text, sizeof(a->text), run->reason);
		return;
	}
	if ((c->n_creates > 0 || c->save) && run->kind != RT_KIND_ROLLBACK) {
		a = push(c->out, RT_ACT_SAVE);
		a->durable = c->n_creates > 0;
		a->intent = c->n_creates > 0;
	}
	for (i = 0; i < c->n_creates; i++)
		issue_call(c, c->creates[i], op_create(run, c->creates[i]));
	rt_status_line(run, line, sizeof(line));
	h = hash_str(line);
	if (h != run->status_hash) {
		run->status_hash = h;
		a = push(c->out, RT_ACT_STATUS);
		copy_str(a->text, sizeof(a->text), line);
	}
	if (c->finished) {
		a = push(c->out, RT_ACT_FINISHED);
		a->outcome = run->outcome;
		copy_str(a->text, sizeof(a->text), run->reason);
	}
}

static void ctx_init(struct ctx *c, struct rt_run *run, struct rt_actions *out,
		     time_t now, uint32_t random)
{
	memset(c, 0, sizeof(*c));
	c->run = run;
	c->out = out;
	c->now = now;
	c->random = random;
	out->n = 0;
}

static time_t deadline_of(const struct rt_run *run)
{
	return run->started_at + (time_t)run->max_run_duration_s;
}

/* stopped: the reason the run had stopped polling with (a run kept in the
 * state and found past its deadline), or NULL. */
static void deadline_hit(struct ctx *c, const char *stopped)
{
	struct rt_run *run = c->run;
	char why[RT_REASON_MAX + 1];

	copy_str(why, sizeof(why), stopped);
	if (run->stage != RT_STAGE_DONE)
		log_in_flight(c, LOG_WARNING,
			      "past MaxRunDuration, left to itself at AWS");
	finish(c, run->consecutive_errors > 0 ? RT_OUT_UNREACHABLE
					      : RT_OUT_FAILED,
	       "run exceeded MaxRunDuration (%us) while %s%s; jobs still running at AWS are left alone%s%s",
	       run->max_run_duration_s, rt_stage_name(run->stage),
	       run->consecutive_errors > 0
		       ? " and the service kept failing" : "",
	       empty(why) ? "" : "; it had stopped polling: ", why);
}

/* ---- public ------------------------------------------------------------ */

int rt_spec_validate(const struct rt_spec *spec, char *err, size_t errlen)
{
	char e[256] = "";
	size_t i, j;

	if (!spec) {
		snprintf(e, sizeof(e), "no pipeline spec");
		goto cleanup;
	}
	if (empty(spec->pipeline) || strlen(spec->pipeline) > RT_PIPELINE_MAX)
		snprintf(e, sizeof(e),
			 "pipeline name must be 1 to %d characters",
			 RT_PIPELINE_MAX);
	else if (empty(spec->role_arn) || strlen(spec->role_arn) > RT_ARN_MAX)
		snprintf(e, sizeof(e), "role ARN must be 1 to %d characters",
			 RT_ARN_MAX);
	else if (empty(spec->solution_arn) ||
		 strlen(spec->solution_arn) > RT_ARN_MAX)
		snprintf(e, sizeof(e),
			 "solution ARN must be 1 to %d characters", RT_ARN_MAX);
	else if (spec->campaign_arn && strlen(spec->campaign_arn) > RT_ARN_MAX)
		snprintf(e, sizeof(e), "campaign ARN is longer than %d characters",
			 RT_ARN_MAX);
	else if (spec->n_datasets < 1 || spec->n_datasets > RT_MAX_DATASETS)
		snprintf(e, sizeof(e), "a run needs 1 to %d datasets, not %zu",
			 RT_MAX_DATASETS, spec->n_datasets);
	else if (spec->poll_interval_s < 1 || spec->poll_interval_s > 86400)
		snprintf(e, sizeof(e), "poll interval must be 1 to 86400 seconds");
	else if (spec->max_run_duration_s < 1)
		snprintf(e, sizeof(e), "max run duration must be at least 1 second");
	else if (spec->training_mode != RT_TRAIN_FULL &&
		 spec->training_mode != RT_TRAIN_UPDATE)
		snprintf(e, sizeof(e), "unknown training mode");
	else if (spec->import_mode != RT_IMPORT_FULL &&
		 spec->import_mode != RT_IMPORT_INCREMENTAL)
		snprintf(e, sizeof(e), "unknown import mode");
	else if (gate_enabled(spec->gate) &&
		 (strlen(spec->gate->metric) > RT_METRIC_MAX ||
		  !(spec->gate->max_regression >= 0 &&
		    spec->gate->max_regression <= 1) ||
		  (spec->gate->has_min_quality &&
		   !(spec->gate->min_quality >= 0 &&
		     spec->gate->min_quality < 1e300))))
		snprintf(e, sizeof(e),
			 "quality gate: metric name longer than %d characters or a number out of range",
			 RT_METRIC_MAX);
	else if (spec->batch_kind != RT_BATCH_NONE &&
		 spec->batch_kind != RT_BATCH_INFERENCE &&
		 spec->batch_kind != RT_BATCH_SEGMENT)
		snprintf(e, sizeof(e), "unknown batch job kind");
	else if (spec->batch_kind != RT_BATCH_NONE &&
		 (empty(spec->batch_input) || empty(spec->batch_output) ||
		  strlen(spec->batch_input) > RT_ARN_MAX ||
		  strlen(spec->batch_output) > RT_ARN_MAX ||
		  (spec->batch_role_arn &&
		   strlen(spec->batch_role_arn) > RT_ARN_MAX) ||
		  (spec->batch_filter_arn &&
		   strlen(spec->batch_filter_arn) > RT_ARN_MAX)))
		snprintf(e, sizeof(e),
			 "batch job: input and output must be 1 to %d characters, the role and filter ARNs at most that",
			 RT_ARN_MAX);
	for (i = 0; !*e && i < spec->n_datasets; i++) {
		const struct rt_dataset_spec *d = &spec->datasets[i];

		if (empty(d->type) || strlen(d->type) > RT_TYPE_MAX)
			snprintf(e, sizeof(e),
				 "dataset %zu: type must be 1 to %d characters",
				 i + 1, RT_TYPE_MAX);
		else if (empty(d->arn) || strlen(d->arn) > RT_ARN_MAX)
			snprintf(e, sizeof(e),
				 "dataset %zu: ARN must be 1 to %d characters",
				 i + 1, RT_ARN_MAX);
		else if (empty(d->s3_path) || strlen(d->s3_path) > RT_ARN_MAX)
			snprintf(e, sizeof(e),
				 "dataset %zu: S3 path must be 1 to %d characters",
				 i + 1, RT_ARN_MAX);
		else if ((d->prev_etag && strlen(d->prev_etag) > RT_ETAG_MAX) ||
			 (d->prev_last_modified &&
			  strlen(d->prev_last_modified) > RT_MODIFIED_MAX))
			snprintf(e, sizeof(e),
				 "dataset %zu: recorded ETag or Last-Modified too long",
				 i + 1);
		for (j = 0; !*e && j < i; j++)
			if (!strcasecmp(d->type, spec->datasets[j].type) ||
			    !strcmp(d->arn, spec->datasets[j].arn))
				snprintf(e, sizeof(e),
					 "datasets %zu and %zu have the same type or ARN",
					 j + 1, i + 1);
	}
cleanup:
	if (!*e)
		return 0;
	if (err && errlen)
		copy_str(err, errlen, e);
	return -EINVAL;
}

int rt_job_name(const char *pipeline, time_t fire_time, const char *suffix,
		char *buf, size_t len)
{
	char pipe[RT_PIPELINE_MAX + 2];
	char sfx[RT_SUFFIX_MAX + 1];
	char stamp[STAMP_LEN + 1];
	struct tm tm;
	size_t plen, budget, i, rest;
	bool altered = false;
	time_t t = rt_fire_normalize(fire_time);

	if (empty(pipeline) || empty(suffix) || !buf || len < RT_NAME_MAX + 1 ||
	    strlen(suffix) > RT_SUFFIX_MAX || !gmtime_r(&t, &tm))
		return -EINVAL;
	if (strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M", &tm) != STAMP_LEN)
		return -EINVAL;
	plen = 0;
	if (!isalnum((unsigned char)pipeline[0])) {
		pipe[plen++] = 'p';
		altered = true;
	}
	for (i = 0; pipeline[i] && plen < sizeof(pipe) - 1; i++) {
		unsigned char ch = (unsigned char)pipeline[i];

		if (isalnum(ch) || ch == '-' || ch == '_') {
			pipe[plen++] = (char)ch;
		} else {
			pipe[plen++] = '-';
			altered = true;
		}
	}
	if (pipeline[i])
		altered = true;
	pipe[plen] = '\0';
	for (i = 0; suffix[i]; i++) {
		unsigned char ch = (unsigned char)suffix[i];

		sfx[i] = isalnum(ch) || ch == '-' || ch == '_'
				 ? (char)tolower(ch) : '-';
	}
	sfx[i] = '\0';
	rest = 1 + STAMP_LEN + 1 + strlen(sfx);
	budget = RT_NAME_MAX - rest;
	if (plen > budget || altered) {
		size_t keep = plen > budget - 1 - HASH_HEX ? budget - 1 - HASH_HEX
							  : plen;

		snprintf(pipe + keep, sizeof(pipe) - keep, "-%08x",
			 (unsigned)hash_str(pipeline));
	}
	snprintf(buf, len, "%s-%s-%s", pipe, stamp, sfx);
	return 0;
}

int rt_job_name_parse(const char *pipeline, const char *suffix,
		      const char *name, time_t *fire_time)
{
	char want[RT_NAME_MAX + 1];
	size_t len, at, i;
	struct tm tm;
	time_t t;

	if (empty(pipeline) || empty(suffix) || !name || !fire_time)
		return -EINVAL;
	/* The pipeline part and the suffix do not depend on the fire time and
	 * the stamp has a fixed width: any fire time gives the frame. */
	if (rt_job_name(pipeline, 0, suffix, want, sizeof(want)) < 0)
		return -EINVAL;
	len = strlen(want);
	at = len - strlen(suffix) - 1 - STAMP_LEN;
	if (strlen(name) != len || strncmp(name, want, at) != 0 ||
	    strcmp(name + at + STAMP_LEN, want + at + STAMP_LEN) != 0)
		return -ENOENT;
	for (i = 0; i < STAMP_LEN; i++) {
		bool digit = isdigit((unsigned char)name[at + i]);

		if (i == 8 ? name[at + i] != 'T' : !digit)
			return -ENOENT;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (name[at] - '0') * 1000 + (name[at + 1] - '0') * 100 +
		     (name[at + 2] - '0') * 10 + (name[at + 3] - '0') - 1900;
	tm.tm_mon = (name[at + 4] - '0') * 10 + (name[at + 5] - '0') - 1;
	tm.tm_mday = (name[at + 6] - '0') * 10 + (name[at + 7] - '0');
	tm.tm_hour = (name[at + 9] - '0') * 10 + (name[at + 10] - '0');
	tm.tm_min = (name[at + 11] - '0') * 10 + (name[at + 12] - '0');
	t = timegm(&tm);
	/* the round trip rejects what timegm normalised (month 13, 24:00) */
	if (t == (time_t)-1 ||
	    rt_job_name(pipeline, t, suffix, want, sizeof(want)) < 0 ||
	    strcmp(want, name) != 0)
		return -ENOENT;
	*fire_time = t;
	return 0;
}

time_t rt_fire_normalize(time_t t)
{
	time_t r = t % SECONDS_PER_MINUTE;

	if (r < 0)
		r += SECONDS_PER_MINUTE;
	return r * 2 >= SECONDS_PER_MINUTE ? t - r + SECONDS_PER_MINUTE : t - r;
}

int rt_start(struct rt_run *run, const struct rt_spec *spec, time_t fire_time,
	     time_t now, bool find_first, struct rt_actions *out)
{
	char fire[32], sfx[RT_SUFFIX_MAX + 1];
	struct ctx c;
	size_t i;
	int r;

	if (!run || !out || rt_spec_validate(spec, NULL, 0) < 0)
		return -EINVAL;
	memset(run, 0, sizeof(*run));
	copy_str(run->pipeline, sizeof(run->pipeline), spec->pipeline);
	copy_str(run->role_arn, sizeof(run->role_arn), spec->role_arn);
	copy_str(run->solution_arn, sizeof(run->solution_arn), spec->solution_arn);
	copy_str(run->campaign_arn, sizeof(run->campaign_arn), spec->campaign_arn);
	run->n_datasets = spec->n_datasets;
	run->training_mode = spec->training_mode;
	run->import_mode = spec->import_mode;
	run->poll_interval_s = spec->poll_interval_s;
	run->max_run_duration_s = spec->max_run_duration_s;
	run->max_consecutive_errors = spec->max_consecutive_errors;
	run->fire_time = rt_fire_normalize(fire_time);
	run->started_at = now;
	run->stage = spec->skip_unchanged ? RT_STAGE_CHECKING
					  : RT_STAGE_IMPORTING;
	run->skip_unchanged = spec->skip_unchanged;
	run->find_first = find_first;
	run->batch_kind = spec->batch_kind;
	if (run->batch_kind != RT_BATCH_NONE) {
		copy_str(run->batch_input, sizeof(run->batch_input),
			 spec->batch_input);
		copy_str(run->batch_output, sizeof(run->batch_output),
			 spec->batch_output);
		copy_str(run->batch_role_arn, sizeof(run->batch_role_arn),
			 empty(spec->batch_role_arn) ? spec->role_arn
						     : spec->batch_role_arn);
		copy_str(run->batch_filter_arn, sizeof(run->batch_filter_arn),
			 spec->batch_filter_arn);
		run->batch_num_results = spec->batch_num_results;
	}
	if (gate_enabled(spec->gate)) {
		run->gate.enabled = true;
		copy_str(run->gate.metric, sizeof(run->gate.metric),
			 spec->gate->metric);
		run->gate.max_regression = spec->gate->max_regression;
		run->gate.has_min_quality = spec->gate->has_min_quality;
		run->gate.min_quality = spec->gate->min_quality;
	}
	for (i = 0; i < spec->n_datasets; i++) {
		struct rt_slot *s = &run->slots[i];
		struct rt_dataset *d = &run->datasets[i];

		snprintf(sfx, sizeof(sfx), RT_IMPORT_PREFIX "%s",
			 spec->datasets[i].type);
		r = rt_job_name(run->pipeline, run->fire_time, sfx, s->name,
				sizeof(s->name));
		if (r < 0)
			return r;
		s->phase = RT_PH_PENDING;
		copy_str(d->ds_type, sizeof(d->ds_type), spec->datasets[i].type);
		copy_str(d->ds_arn, sizeof(d->ds_arn), spec->datasets[i].arn);
		copy_str(d->s3_path, sizeof(d->s3_path), spec->datasets[i].s3_path);
		if (run->skip_unchanged) {
			copy_str(d->prev_etag, sizeof(d->prev_etag),
				 spec->datasets[i].prev_etag);
			copy_str(d->prev_last_modified,
				 sizeof(d->prev_last_modified),
				 spec->datasets[i].prev_last_modified);
		}
	}
	r = rt_job_name(run->pipeline, run->fire_time, RT_TRAIN_SUFFIX,
			run->slots[RT_SLOT_VERSION].name, RT_NAME_MAX + 1);
	if (r < 0)
		return r;
	run->slots[RT_SLOT_VERSION].phase = RT_PH_PENDING;
	if (!empty(run->campaign_arn)) {
		run->slots[RT_SLOT_CAMPAIGN].phase = RT_PH_PENDING;
		/* not sent to AWS (UpdateCampaign has no name); for the logs */
		r = rt_job_name(run->pipeline, run->fire_time, "deploy",
				run->slots[RT_SLOT_CAMPAIGN].name, RT_NAME_MAX + 1);
		if (r < 0)
			return r;
		copy_str(run->slots[RT_SLOT_CAMPAIGN].arn, RT_ARN_MAX + 1,
			 run->campaign_arn);
	}

	if (run->batch_kind != RT_BATCH_NONE) {
		run->slots[RT_SLOT_BATCH].phase = RT_PH_PENDING;
		r = rt_job_name(run->pipeline, run->fire_time, RT_BATCH_SUFFIX,
				run->slots[RT_SLOT_BATCH].name,
				RT_NAME_MAX + 1);
		if (r < 0)
			return r;
	}

	ctx_init(&c, run, out, now, 0);
	push(out, RT_ACT_DEADLINE)->at = deadline_of(run);
	fmt_utc(run->fire_time, fire, sizeof(fire));
	act_log(&c, LOG_NOTICE, MSGID_RUN_STARTED, RT_SLOT_RUN,
		"run for %s started: importing %zu dataset%s (%s), then training (%s)%s%s%s%s",
		fire, run->n_datasets, run->n_datasets == 1 ? "" : "s",
		run->import_mode == RT_IMPORT_INCREMENTAL ? "INCREMENTAL" : "FULL",
		run->training_mode == RT_TRAIN_UPDATE ? "UPDATE" : "FULL",
		empty(run->campaign_arn) ? "" : ", then deploying to campaign ",
		empty(run->campaign_arn) ? "" : arn_tail(run->campaign_arn),
		run->batch_kind == RT_BATCH_NONE ? ""
		: run->batch_kind == RT_BATCH_SEGMENT
			? ", then a batch segment job to "
			: ", then a batch inference job to ",
		run->batch_kind == RT_BATCH_NONE ? "" : run->batch_output);
	if (run->skip_unchanged)
		begin_checking(&c);
	else
		for (i = 0; i < run->n_datasets; i++)
			begin_slot(&c, (int)i);
	c.save = true;
	finalize(&c);
	return 0;
}

int rt_rollback_start(struct rt_run *run, const struct rt_spec *spec,
		      const char *version_arn, const char *serving_arn,
		      const struct rt_run *current, time_t now,
		      struct rt_actions *out, char *err, size_t errlen)
{
	struct rt_slot *v, *k;
	char e[RT_REASON_MAX] = "";
	struct ctx c;
	int r = -EINVAL;

	if (!run || !out) {
		snprintf(e, sizeof(e), "no run or action buffer");
		goto cleanup;
	}
	if (rt_spec_validate(spec, e, sizeof(e)) < 0)
		goto cleanup;
	if (empty(spec->campaign_arn)) {
		snprintf(e, sizeof(e),
			 "pipeline %s has no campaign: nothing to roll back",
			 spec->pipeline);
		goto cleanup;
	}
	if (empty(version_arn)) {
		snprintf(e, sizeof(e),
			 "no previous solution version is known for campaign %s; name one with --to",
			 arn_tail(spec->campaign_arn));
		r = -ENOENT;
		goto cleanup;
	}
	if (strlen(version_arn) > RT_ARN_MAX) {
		snprintf(e, sizeof(e), "solution version ARN is longer than %d characters",
			 RT_ARN_MAX);
		goto cleanup;
	}
	if (current && !rt_done(current) &&
	    (current->stage == RT_STAGE_GATING ||
	     current->stage == RT_STAGE_DEPLOYING ||
	     current->stage == RT_STAGE_BATCH)) {
		snprintf(e, sizeof(e),
			 "a run of pipeline %s is %s: try again when it has finished",
			 spec->pipeline, rt_stage_name(current->stage));
		r = -EBUSY;
		goto cleanup;
	}
	if (!empty(serving_arn) && !strcmp(serving_arn, version_arn)) {
		snprintf(e, sizeof(e), "campaign %s already serves %s",
			 arn_tail(spec->campaign_arn), version_arn);
		r = -EALREADY;
		goto cleanup;
	}
	memset(run, 0, sizeof(*run));
	run->kind = RT_KIND_ROLLBACK;
	copy_str(run->pipeline, sizeof(run->pipeline), spec->pipeline);
	copy_str(run->role_arn, sizeof(run->role_arn), spec->role_arn);
	copy_str(run->solution_arn, sizeof(run->solution_arn), spec->solution_arn);
	copy_str(run->campaign_arn, sizeof(run->campaign_arn), spec->campaign_arn);
	run->training_mode = spec->training_mode;
	run->import_mode = spec->import_mode;
	run->poll_interval_s = spec->poll_interval_s;
	run->max_run_duration_s = spec->max_run_duration_s;
	run->max_consecutive_errors = spec->max_consecutive_errors;
	run->fire_time = now;
	run->started_at = now;
	run->stage = RT_STAGE_VERIFYING;
	v = &run->slots[RT_SLOT_VERSION];
	v->phase = RT_PH_RUNNING;
	copy_str(v->arn, sizeof(v->arn), version_arn);
	copy_str(v->name, sizeof(v->name), arn_tail(version_arn));
	k = &run->slots[RT_SLOT_CAMPAIGN];
	k->phase = RT_PH_PENDING;
	copy_str(k->name, sizeof(k->name), "rollback");
	copy_str(k->arn, sizeof(k->arn), run->campaign_arn);

	ctx_init(&c, run, out, now, 0);
	push(out, RT_ACT_DEADLINE)->at = deadline_of(run);
	act_log(&c, LOG_NOTICE, NULL, RT_SLOT_RUN,
		"rollback of campaign %s to %s started%s%s",
		arn_tail(run->campaign_arn), version_arn,
		empty(serving_arn) ? "" : "; it serves ",
		empty(serving_arn) ? "" : serving_arn);
	issue_call(&c, RT_SLOT_VERSION, RT_OP_DESCRIBE_VERSION);
	finalize(&c);
	r = 0;
cleanup:
	if (r < 0 && err && errlen)
		copy_str(err, errlen, e);
	return r;
}

int rt_step(struct rt_run *run, const struct rt_event *ev,
	    struct rt_actions *out)
{
	struct rt_slot *s;
	struct ctx c;
	char fire[32], cur[32];

	if (!run || !ev || !out)
		return -EINVAL;
	out->n = 0;
	if (rt_done(run) || run->stopped || run->stage == RT_STAGE_IDLE)
		return -ESTALE;
	ctx_init(&c, run, out, ev->now, ev->random);
	if (ev->kind == RT_EV_REPLY)
		c.request_id = ev->request_id;

	switch (ev->kind) {
	case RT_EV_FIRE:
		fmt_utc(rt_fire_normalize(ev->fire_time), fire, sizeof(fire));
		fmt_utc(run->fire_time, cur, sizeof(cur));
		act_log(&c, LOG_NOTICE, NULL, RT_SLOT_RUN,
			"fire time %s skipped: the run for %s is still %s",
			fire, cur, rt_stage_name(run->stage));
		return 0;
	case RT_EV_STOP: {
		struct rt_action *a;
		int i;

		run->stopped = true;
		for (i = 0; i < RT_NSLOTS; i++)
			run->slots[i].await = RT_AWAIT_NONE;
		fmt_utc(run->fire_time, cur, sizeof(cur));
		act_log(&c, LOG_NOTICE, NULL, RT_SLOT_RUN,
			"stopping while %s (run for %s): jobs keep running at AWS and are adopted at the next start",
			rt_stage_name(run->stage), cur);
		a = push(out, RT_ACT_SAVE);
		a->durable = true;
		a->intent = true;
		return 0;
	}
	case RT_EV_DEADLINE:
		deadline_hit(&c, NULL);
		finalize(&c);
		return 0;
	case RT_EV_REPLY:
	case RT_EV_POLL_DUE:
		break;
	default:
		return -EINVAL;
	}

	if (ev->slot < 0 || ev->slot >= RT_NSLOTS)
		return -ESTALE;
	s = &run->slots[ev->slot];
	if (s->phase == RT_PH_UNUSED || s->token != ev->token ||
	    s->await != (ev->kind == RT_EV_REPLY ? RT_AWAIT_CALL
						 : RT_AWAIT_TIMER))
		return -ESTALE;
	s->await = RT_AWAIT_NONE;
	/* the pre-check compares with it (RT_PRECHECK_REUSE_S) */
	if (ev->kind == RT_EV_REPLY && ev->slot == RT_SLOT_VERSION &&
	    ev->result == RT_RES_OK && ev->created > 0)
		run->version_created = ev->created;

	if (ev->now >= deadline_of(run)) {
		deadline_hit(&c, NULL);
		finalize(&c);
		return 0;
	}

	if (ev->kind == RT_EV_POLL_DUE) {
		if (ev->slot == RT_SLOT_GATE) {
			gate_issue(&c);
		} else if (s->phase == RT_PH_RUNNING) {
			issue_call(&c, ev->slot, op_describe(run, ev->slot));
		} else {
			/* FINDING, WAITING: look again */
			if (s->phase != RT_PH_WAITING)
				s->phase = RT_PH_FINDING;
			issue_call(&c, ev->slot, op_find(run, ev->slot));
		}
		finalize(&c);
		return 0;
	}

	/* A HEAD is never retried (the dataset is imported anyway), so S3
	 * failures neither count towards MaxConsecutiveErrors nor reset it. */
	if (run->stage == RT_STAGE_CHECKING && is_dataset(run, ev->slot)) {
		on_head(&c, ev->slot, ev);
		advance(&c);
		finalize(&c);
		return 0;
	}
	if (ev->result == RT_RES_TRANSIENT || ev->result == RT_RES_UNKNOWN) {
		run->consecutive_errors++;
		if (run->max_consecutive_errors &&
		    run->consecutive_errors >= run->max_consecutive_errors) {
			if (!give_up(&c, RT_OUT_UNREACHABLE,
				     "the service stayed unreachable: %u failures in a row (last: %s)",
				     run->consecutive_errors,
				     empty(ev->error) ? "no message" : ev->error))
				finish(&c, RT_OUT_UNREACHABLE,
				       "the service stayed unreachable: %u failures in a row (last: %s)",
				       run->consecutive_errors,
				       empty(ev->error) ? "no message" : ev->error);
			finalize(&c);
			return 0;
		}
	} else {
		run->consecutive_errors = 0;
	}

	if (ev->slot == RT_SLOT_GATE) {
		on_gate(&c, ev);
		advance(&c);
		finalize(&c);
		return 0;
	}
	if (run->stage == RT_STAGE_VERIFYING && ev->slot == RT_SLOT_VERSION) {
		on_verify(&c, ev);
		advance(&c);
		finalize(&c);
		return 0;
	}
	if (ev->slot == RT_SLOT_CAMPAIGN && run->precheck_lookup) {
		on_precheck_version(&c, ev);
		advance(&c);
		finalize(&c);
		return 0;
	}
	switch (s->phase) {
	case RT_PH_CREATING:
		on_create(&c, ev->slot, ev);
		break;
	case RT_PH_FINDING:
	case RT_PH_WAITING:
		if (ev->slot == RT_SLOT_CAMPAIGN)
			on_campaign(&c, ev);
		else
			on_find_job(&c, ev->slot, ev);
		break;
	case RT_PH_RUNNING:
		if (ev->slot == RT_SLOT_CAMPAIGN)
			on_campaign(&c, ev);
		else
			on_describe_job(&c, ev->slot, ev);
		break;
	default:
		break;
	}
	advance(&c);
	finalize(&c);
	return 0;
}

int rt_resume(struct rt_run *run, time_t now, struct rt_actions *out)
{
	char fire[32], stopped[RT_REASON_MAX + 1];
	struct ctx c;
	int i, first = 0, last = -1;

	if (!run || !out)
		return -EINVAL;
	out->n = 0;
	if (rt_done(run) || run->stage == RT_STAGE_IDLE)
		return 0;
	/* why the run had stopped polling (give_up), if it had: moot once it
	 * polls again */
	copy_str(stopped, sizeof(stopped), run->reason);
	run->reason[0] = '\0';
	run->stopped = false;
	run->consecutive_errors = 0;
	run->status_hash = 0;
	run->precheck_lookup = false; /* the campaign is described first */
	run->precheck_serving = false;
	run->serving_created = 0;
	for (i = 0; i < RT_NSLOTS; i++) {
		run->slots[i].await = RT_AWAIT_NONE;
		run->slots[i].delay_ms = 0;
		run->slots[i].misses = 0;
		/* whether a find follows a create that may have gone through
		 * is not saved: assume it does (in flight, for give_up) */
		if (run->slots[i].phase == RT_PH_FINDING)
			run->slots[i].uncertain = true;
	}
	ctx_init(&c, run, out, now, 0);
	push(out, RT_ACT_DEADLINE)->at = deadline_of(run);
	fmt_utc(run->fire_time, fire, sizeof(fire));
	if (now >= deadline_of(run)) {
		/* not resumed: a run is never polled past its MaxRunDuration,
		 * however often it was stopped or kept */
		act_log(&c, LOG_WARNING, NULL, RT_SLOT_RUN,
			"not resuming the run for %s (%s when it stopped): it is past its MaxRunDuration (%us)",
			fire, rt_stage_name(run->stage), run->max_run_duration_s);
		deadline_hit(&c, stopped);
		finalize(&c);
		return 0;
	}
	act_log(&c, LOG_NOTICE, NULL, RT_SLOT_RUN,
		"resuming the run for %s while %s: adopting its jobs by name%s%s",
		fire, rt_stage_name(run->stage),
		empty(stopped) ? "" : "; it had stopped polling: ", stopped);
	if (run->stage == RT_STAGE_IMPORTING) {
		first = 0;
		last = (int)run->n_datasets - 1;
	} else if (run->stage == RT_STAGE_TRAINING) {
		first = last = RT_SLOT_VERSION;
	} else if (run->stage == RT_STAGE_DEPLOYING) {
		first = last = RT_SLOT_CAMPAIGN;
	} else if (run->stage == RT_STAGE_VERIFYING) {
		first = last = RT_SLOT_VERSION;
	} else if (run->stage == RT_STAGE_BATCH) {
		first = last = RT_SLOT_BATCH;
	} else if (run->stage == RT_STAGE_CHECKING) {
		begin_checking(&c); /* HEADs are reads: ask again */
	} else if (run->stage == RT_STAGE_GATING) {
		begin_gate(&c);     /* reads only: start the gate over */
	}
	for (i = first; i <= last; i++) {
		struct rt_slot *s = &run->slots[i];

		switch (s->phase) {
		case RT_PH_RUNNING:
			if (s->arn[0])
				issue_call(&c, i, op_describe(run, i));
			else
				find_now(&c, i); /* damaged record: by name */
			break;
		case RT_PH_CREATING:
			s->uncertain = true;
			find_now(&c, i);
			break;
		case RT_PH_PENDING:
		case RT_PH_FINDING:
		case RT_PH_WAITING:
			find_now(&c, i);
			break;
		default:
			break;
		}
	}
	advance(&c);
	finalize(&c);
	return 0;
}

bool rt_done(const struct rt_run *run)
{
	return run && run->stage == RT_STAGE_DONE;
}

/* ---- names ------------------------------------------------------------- */

static const char *const stage_names[] = {
	[RT_STAGE_IDLE] = "idle", [RT_STAGE_IMPORTING] = "importing",
	[RT_STAGE_TRAINING] = "training", [RT_STAGE_DEPLOYING] = "deploying",
	[RT_STAGE_DONE] = "done", [RT_STAGE_CHECKING] = "checking",
	[RT_STAGE_GATING] = "gating", [RT_STAGE_VERIFYING] = "verifying",
	[RT_STAGE_BATCH] = "batch",
};
static const char *const batch_kind_names[] = {
	[RT_BATCH_NONE] = "none", [RT_BATCH_INFERENCE] = "inference",
	[RT_BATCH_SEGMENT] = "segment",
};
static const char *const outcome_names[] = {
	[RT_OUT_NONE] = "none", [RT_OUT_SUCCEEDED] = "succeeded",
	[RT_OUT_FAILED] = "failed", [RT_OUT_UNREACHABLE] = "unreachable",
	[RT_OUT_GATED] = "gated", [RT_OUT_SKIPPED] = "skipped",
};
static const char *const kind_names[] = {
	[RT_KIND_RETRAIN] = "retrain", [RT_KIND_ROLLBACK] = "rollback",
};
static const char *const phase_names[] = {
	[RT_PH_UNUSED] = "unused", [RT_PH_PENDING] = "pending",
	[RT_PH_CREATING] = "creating", [RT_PH_FINDING] = "finding",
	[RT_PH_WAITING] = "waiting", [RT_PH_RUNNING] = "running",
	[RT_PH_ACTIVE] = "active", [RT_PH_FAILED] = "failed",
};
static const char *const op_names[] = {
	[RT_OP_CREATE_IMPORT] = "CreateDatasetImportJob",
	[RT_OP_DESCRIBE_IMPORT] = "DescribeDatasetImportJob",
	[RT_OP_FIND_IMPORT] = "ListDatasetImportJobs",
	[RT_OP_CREATE_VERSION] = "CreateSolutionVersion",
	[RT_OP_DESCRIBE_VERSION] = "DescribeSolutionVersion",
	[RT_OP_FIND_VERSION] = "ListSolutionVersions",
	[RT_OP_DESCRIBE_CAMPAIGN] = "DescribeCampaign",
	[RT_OP_UPDATE_CAMPAIGN] = "UpdateCampaign",
	[RT_OP_GET_METRICS] = "GetSolutionMetrics",
	[RT_OP_HEAD_OBJECT] = "HeadObject",
	[RT_OP_CREATE_BATCH_INFERENCE] = "CreateBatchInferenceJob",
	[RT_OP_DESCRIBE_BATCH_INFERENCE] = "DescribeBatchInferenceJob",
	[RT_OP_FIND_BATCH_INFERENCE] = "ListBatchInferenceJobs",
	[RT_OP_CREATE_BATCH_SEGMENT] = "CreateBatchSegmentJob",
	[RT_OP_DESCRIBE_BATCH_SEGMENT] = "DescribeBatchSegmentJob",
	[RT_OP_FIND_BATCH_SEGMENT] = "ListBatchSegmentJobs",
};

#define NAME_OF(tab, v) \
	((unsigned)(v) < sizeof(tab) / sizeof(tab[0]) && tab[v] ? tab[v] : "?")

const char *rt_stage_name(enum rt_stage s) { return NAME_OF(stage_names, s); }
const char *rt_outcome_name(enum rt_outcome o) { return NAME_OF(outcome_names, o); }
const char *rt_phase_name(enum rt_phase p) { return NAME_OF(phase_names, p); }
const char *rt_op_name(enum rt_op op) { return NAME_OF(op_names, op); }
const char *rt_kind_name(enum rt_kind k) { return NAME_OF(kind_names, k); }
const char *rt_batch_kind_name(enum rt_batch_kind k)
{
	return NAME_OF(batch_kind_names, k);
}

const char *rt_batch_output(const struct rt_run *run)
{
	if (!run || run->batch_kind == RT_BATCH_NONE ||
	    run->slots[RT_SLOT_BATCH].phase != RT_PH_ACTIVE)
		return NULL;
	return run->batch_output;
}

#define COUNT_OF(tab) (sizeof(tab) / sizeof(tab[0]))

static int parse_name(const char *const *tab, size_t n, const char *s, int *out)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (tab[i] && !strcmp(tab[i], s)) {
			*out = (int)i;
			return 0;
		}
	return -EINVAL;
}

int rt_stage_parse(const char *s, enum rt_stage *out)
{
	int v, r = parse_name(stage_names, COUNT_OF(stage_names), s, &v);

	if (r == 0)
		*out = (enum rt_stage)v;
	return r;
}

int rt_outcome_parse(const char *s, enum rt_outcome *out)
{
	int v, r = parse_name(outcome_names, COUNT_OF(outcome_names), s, &v);

	if (r == 0)
		*out = (enum rt_outcome)v;
	return r;
}

int rt_phase_parse(const char *s, enum rt_phase *out)
{
	int v, r = parse_name(phase_names, COUNT_OF(phase_names), s, &v);

	if (r == 0)
		*out = (enum rt_phase)v;
	return r;
}

int rt_batch_kind_parse(const char *s, enum rt_batch_kind *out)
{
	int v, r = parse_name(batch_kind_names, COUNT_OF(batch_kind_names),
			      s, &v);

	if (r == 0)
		*out = (enum rt_batch_kind)v;
	return r;
}

int rt_kind_parse(const char *s, enum rt_kind *out)
{
	int v, r = parse_name(kind_names, COUNT_OF(kind_names), s, &v);

	if (r == 0)
		*out = (enum rt_kind)v;
	return r;
}

void rt_status_line(const struct rt_run *run, char *buf, size_t len)
{
	size_t i, active = 0;
	char fire[32];

	if (!buf || !len)
		return;
	if (!run) {
		copy_str(buf, len, "idle");
		return;
	}
	switch (run->stage) {
	case RT_STAGE_IMPORTING:
		for (i = 0; i < run->n_datasets; i++)
			if (run->slots[i].phase == RT_PH_ACTIVE)
				active++;
		snprintf(buf, len, "importing %zu/%zu datasets", active,
			 run->n_datasets);
		break;
	case RT_STAGE_TRAINING:
		snprintf(buf, len, "training %s",
			 run->slots[RT_SLOT_VERSION].name);
		break;
	case RT_STAGE_CHECKING:
		snprintf(buf, len, "checking %zu S3 source%s for new data",
			 run->n_datasets, run->n_datasets == 1 ? "" : "s");
		break;
	case RT_STAGE_GATING:
		snprintf(buf, len, "quality gate for %s (%s)",
			 run->slots[RT_SLOT_VERSION].name, run->gate.metric);
		break;
	case RT_STAGE_VERIFYING:
		snprintf(buf, len, "rollback: checking %s",
			 run->slots[RT_SLOT_VERSION].arn);
		break;
	case RT_STAGE_DEPLOYING:
		if (run->kind == RT_KIND_ROLLBACK) {
			snprintf(buf, len, "rolling %s back to %s",
				 arn_tail(run->campaign_arn),
				 run->slots[RT_SLOT_VERSION].name);
			break;
		}
		snprintf(buf, len, "deploying %s to %s",
			 run->slots[RT_SLOT_VERSION].name,
			 arn_tail(run->campaign_arn));
		break;
	case RT_STAGE_BATCH:
		snprintf(buf, len, "batch %s job %s -> %s",
			 rt_batch_kind_name(run->batch_kind),
			 run->slots[RT_SLOT_BATCH].name, run->batch_output);
		break;
	case RT_STAGE_DONE:
		fmt_utc(run->fire_time, fire, sizeof(fire));
		if (run->kind == RT_KIND_ROLLBACK)
			snprintf(buf, len, "rollback %s",
				 rt_outcome_name(run->outcome));
		else
			snprintf(buf, len, "run for %s %s", fire,
				 rt_outcome_name(run->outcome));
		break;
	default:
		copy_str(buf, len, "idle");
		break;
	}
}
