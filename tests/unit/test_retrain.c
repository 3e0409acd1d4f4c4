/* test_retrain.c - the run state machine: every transition, every failure
 * event in every state (table-driven), names, polling, resume, and a seeded
 * randomized property test of the invariants. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>

#include "gate.h"
#include "msgid.h"
#include "personalize.h"
#include "retrain.h"
#include "retrain_fixture.h"

#define OTHER_VERSION SOLUTION "/v-other"
#define NEWER_VERSION SOLUTION "/v-newer"

static int campaign_reply(struct fx *f, enum rt_result r, const char *serves,
			  const char *upd_ver, const char *upd_status)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_CAMPAIGN);

	ev.result = r;
	ev.campaign_version_arn = serves;
	ev.update_version_arn = upd_ver;
	ev.update_status = upd_status;
	ev.update_failure_reason = "bad thing";
	return rf_feed(f, &ev);
}

static char job_arn_buf[RT_MAX_DATASETS][128];

static const char *job_arn(int i)
{
	snprintf(job_arn_buf[i], sizeof(job_arn_buf[i]),
		 "arn:aws:personalize:us-east-1:123456789012:dataset-import-job/j%d", i);
	return job_arn_buf[i];
}

/* All imports created, each RUNNING with a timer armed. */
static void imports_created(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->run.n_datasets; i++) {
		assert_int_equal(rf_reply(f, (int)i, RT_RES_OK, job_arn((int)i), NULL), 0);
		assert_int_equal(f->run.slots[i].phase, RT_PH_RUNNING);
	}
}

static void import_active(struct fx *f, int i)
{
	assert_int_equal(rf_poll_due(f, i), 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_IMPORT, i));
	assert_int_equal(rf_reply(f, i, RT_RES_OK, NULL, "ACTIVE"), 0);
}

/* Stage TRAINING, version create in flight. */
static struct fx *at_training(size_t n, bool campaign)
{
	struct fx *f = rf_new(n, campaign);
	size_t i;

	imports_created(f);
	for (i = 0; i < n; i++)
		import_active(f, (int)i);
	assert_int_equal(f->run.stage, RT_STAGE_TRAINING);
	assert_int_equal(f->run.slots[RT_SLOT_VERSION].phase, RT_PH_CREATING);
	return f;
}

/* Stage TRAINING, version RUNNING (created), timer armed. */
static struct fx *at_training_running(bool campaign)
{
	struct fx *f = at_training(1, campaign);

	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, VERSION_ARN, NULL), 0);
	assert_int_equal(f->run.slots[RT_SLOT_VERSION].phase, RT_PH_RUNNING);
	return f;
}

/* Stage DEPLOYING, campaign pre-check describe in flight. */
static struct fx *at_deploying(void)
{
	struct fx *f = at_training_running(true);

	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, NULL, "ACTIVE"), 0);
	assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_FINDING);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	return f;
}

/* Stage DEPLOYING, UpdateCampaign in flight. */
static struct fx *at_updating(void)
{
	struct fx *f = at_deploying();
	const struct rt_action *a;

	assert_int_equal(campaign_reply(f, RT_RES_OK, OLD_VERSION, OLD_VERSION,
					"ACTIVE"), 0);
	a = rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, RT_SLOT_CAMPAIGN);
	assert_non_null(a);
	assert_string_equal(a->call.version_arn, VERSION_ARN);
	assert_string_equal(a->call.campaign_arn, CAMPAIGN);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_CREATING);
	assert_string_equal(f->run.prev_version_arn, OLD_VERSION);
	return f;
}

/* Stage DEPLOYING, our update sent, polling. */
static struct fx *at_deploy_running(void)
{
	struct fx *f = at_updating();

	assert_int_equal(rf_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK, NULL, NULL), 0);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_RUNNING);
	assert_non_null(rf_act(&f->out, RT_ACT_TIMER, RT_SLOT_CAMPAIGN));
	return f;
}

/* The find answers: not ours, another job busy -> WAITING. */
static struct fx *busy(struct fx *f, int slot)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, slot);

	ev.result = RT_RES_OK;
	ev.other_busy = true;
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.slots[slot].phase, RT_PH_WAITING);
	return f;
}

/* The run gave up with jobs of its own in flight: kept, not ended. The
 * driver gets FINISHED (with outcome) after a durable save of the frozen
 * run; rt_done() stays false, nothing more is called or polled, and every
 * later event is stale until rt_resume. */
static void assert_kept(struct fx *f, enum rt_outcome outcome, const char *why)
{
	const struct rt_action *fin = rf_act(&f->out, RT_ACT_FINISHED, ANY);
	const struct rt_action *save = rf_act(&f->out, RT_ACT_SAVE, ANY);
	static struct rt_actions scratch; /* f->out stays for the caller */
	struct rt_event ev;
	int slot;

	assert_false(rt_done(&f->run));
	assert_true(f->run.stopped);
	assert_int_equal(f->run.outcome, RT_OUT_NONE);
	assert_non_null(fin);
	assert_int_equal(fin->outcome, outcome);
	assert_string_equal(fin->text, f->run.reason);
	assert_non_null(strstr(f->run.reason, why));
	assert_non_null(save);
	assert_true(save->durable);
	assert_true(save < fin);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
	assert_int_equal(rf_count(&f->out, RT_ACT_TIMER, ANY), 0);
	assert_true(rf_log_has(&f->out, "stopped polling"));
	assert_true(rf_log_has(&f->out, "kept for the next run to adopt"));
	for (slot = 0; slot < RT_NSLOTS; slot++)
		assert_int_equal(f->run.slots[slot].await, RT_AWAIT_NONE);
	ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);
	assert_int_equal(rt_step(&f->run, &ev, &scratch), -ESTALE);
}

/* ---- start ------------------------------------------------------------- */

static void test_start_creates_all_imports_after_intent(void **state)
{
	size_t n;

	(void)state;
	for (n = 1; n <= RT_MAX_DATASETS; n++) {
		struct fx *f = rf_new(n, true);
		size_t i, save_at = SIZE_MAX, first_call = SIZE_MAX;

		assert_int_equal(f->run.stage, RT_STAGE_IMPORTING);
		assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), n);
		for (i = 0; i < f->out.n; i++) {
			if (f->out.a[i].kind == RT_ACT_SAVE && save_at == SIZE_MAX)
				save_at = i;
			if (f->out.a[i].kind == RT_ACT_CALL && first_call == SIZE_MAX)
				first_call = i;
		}
		assert_true(save_at < first_call);
		assert_true(f->out.a[save_at].durable); /* the intent: fsync'd */
		for (i = 0; i < n; i++) {
			const struct rt_action *a =
				rf_call_op(&f->out, RT_OP_CREATE_IMPORT, (int)i);

			assert_non_null(a);
			assert_string_equal(a->call.dataset_arn, rf_ds_arns[i]);
			assert_string_equal(a->call.import_mode, "FULL");
			assert_string_equal(a->call.s3_path, "s3://bucket/data.csv");
			assert_non_null(strstr(a->call.name, "shop-recs-"));
			assert_int_equal(f->run.slots[i].phase, RT_PH_CREATING);
		}
		assert_non_null(rf_act(&f->out, RT_ACT_DEADLINE, ANY));
		assert_int_equal(rf_act(&f->out, RT_ACT_DEADLINE, ANY)->at,
				 T0 + 5 + MAXRUN_S);
		assert_non_null(rf_act(&f->out, RT_ACT_STATUS, ANY));
		assert_true(rf_log_has(&f->out, "importing 0/"));
		assert_string_equal(rf_act(&f->out, RT_ACT_LOG, ANY)->message_id,
				    MSGID_RUN_STARTED);
		free(f);
	}
}

static void test_start_rejects_bad_specs(void **state)
{
	struct rt_run *run = calloc(1, sizeof(*run));
	struct rt_actions *out = calloc(1, sizeof(*out));
	struct rt_spec s;
	char err[256];
	int i;

	(void)state;
	for (i = 0; i < 11; i++) {
		s = rf_mkspec(2, true);
		switch (i) {
		case 0: s.pipeline = ""; break;
		case 1: s.role_arn = NULL; break;
		case 2: s.solution_arn = ""; break;
		case 3: s.n_datasets = 0; break;
		case 4: s.n_datasets = RT_MAX_DATASETS + 1; break;
		case 5: s.poll_interval_s = 0; break;
		case 6: s.max_run_duration_s = 0; break;
		case 7: s.datasets[1].type = "interactions"; break; /* dup */
		case 8: s.datasets[1].s3_path = ""; break;
		case 9: s.datasets[0].arn = NULL; break;
		case 10: s.training_mode = (enum rt_training_mode)7; break;
		}
		err[0] = '\0';
		assert_int_equal(rt_spec_validate(&s, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 5);
		assert_int_equal(rt_start(run, &s, T0, T0, false, out), -EINVAL);
	}
	s = rf_mkspec(2, false);
	assert_int_equal(rt_spec_validate(&s, err, sizeof(err)), 0);
	assert_int_equal(rt_start(NULL, &s, T0, T0, false, out), -EINVAL);
	assert_int_equal(rt_start(run, NULL, T0, T0, false, out), -EINVAL);
	free(run);
	free(out);
}

static void test_modes_reach_the_calls(void **state)
{
	struct fx *f;
	const struct rt_action *a;

	(void)state;
	f = calloc(1, sizeof(*f));
	f->spec = rf_mkspec(1, false);
	f->spec.import_mode = RT_IMPORT_INCREMENTAL;
	f->spec.training_mode = RT_TRAIN_UPDATE;
	f->now = T0;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, false, &f->out), 0);
	a = rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 0);
	assert_string_equal(a->call.import_mode, "INCREMENTAL");
	assert_string_equal(a->call.role_arn, f->spec.role_arn);
	imports_created(f);
	import_active(f, 0);
	a = rf_call_op(&f->out, RT_OP_CREATE_VERSION, RT_SLOT_VERSION);
	assert_non_null(a);
	assert_string_equal(a->call.training_mode, "UPDATE");
	assert_string_equal(a->call.solution_arn, SOLUTION);
	assert_string_equal(a->call.name, f->run.slots[RT_SLOT_VERSION].name);
	free(f);
}

/* ---- happy paths ------------------------------------------------------- */

static void test_happy_paths(void **state)
{
	size_t n;
	int campaign;

	(void)state;
	for (n = 1; n <= 3; n++)
		for (campaign = 0; campaign <= 1; campaign++) {
			struct fx *f = at_training(n, campaign);

			assert_true(rf_log_has(&f->out, "training "));
			assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK,
					       VERSION_ARN, NULL), 0);
			assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
			assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK,
					       NULL, "CREATE IN_PROGRESS"), 0);
			assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
			assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK,
					       NULL, "ACTIVE"), 0);
			if (!campaign) {
				assert_true(rt_done(&f->run));
				assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
				assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
				assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
				free(f);
				continue;
			}
			assert_true(rf_log_has(&f->out, "deploying "));
			assert_int_equal(campaign_reply(f, RT_RES_OK, OLD_VERSION,
							OLD_VERSION, "ACTIVE"), 0);
			assert_int_equal(rf_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK, NULL, NULL), 0);
			assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
			/* campaign.status stays ACTIVE during the update: not done */
			assert_int_equal(campaign_reply(f, RT_RES_OK, OLD_VERSION,
							VERSION_ARN, "UPDATE IN_PROGRESS"), 0);
			assert_false(rt_done(&f->run));
			assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
			/* update ACTIVE but campaign not yet serving: not done */
			assert_int_equal(campaign_reply(f, RT_RES_OK, OLD_VERSION,
							VERSION_ARN, "ACTIVE"), 0);
			assert_false(rt_done(&f->run));
			assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
			assert_int_equal(campaign_reply(f, RT_RES_OK, VERSION_ARN,
							VERSION_ARN, "ACTIVE"), 0);
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
			assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
			assert_int_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->outcome,
					 RT_OUT_SUCCEEDED);
			free(f);
		}
}

static void test_status_lines(void **state)
{
	struct fx *f = rf_new(3, true);
	char buf[RT_TEXT_MAX];

	(void)state;
	imports_created(f);
	import_active(f, 1);
	assert_string_equal(rf_act(&f->out, RT_ACT_STATUS, ANY)->text,
			    "importing 1/3 datasets");
	import_active(f, 0);
	import_active(f, 2);
	rt_status_line(&f->run, buf, sizeof(buf));
	assert_string_equal(buf, "training shop-recs-20261118T1107-train");
	free(f);
	f = at_deploying();
	rt_status_line(&f->run, buf, sizeof(buf));
	assert_string_equal(buf, "deploying shop-recs-20261118T1107-train to shop");
	free(f);
}

/* ---- create outcomes: every result in every create state --------------- */

enum setup { S_IMPORT, S_VERSION, S_CAMPAIGN };

struct create_case {
	enum rt_result result;
	const char *arn;          /* for OK */
	enum rt_phase phase;      /* slot phase after */
	int next;                 /* -1 none, RT_ACT_TIMER, or an op + 100 */
	enum rt_outcome outcome;  /* run outcome after */
};

static struct fx *setup_create(enum setup s, int *slot)
{
	struct fx *f;

	switch (s) {
	case S_IMPORT:
		*slot = 0;
		return rf_new(2, true);
	case S_VERSION:
		*slot = RT_SLOT_VERSION;
		return at_training(1, true);
	default:
		*slot = RT_SLOT_CAMPAIGN;
		f = at_updating();
		return f;
	}
}

static enum rt_op find_op(enum setup s)
{
	return s == S_IMPORT ? RT_OP_FIND_IMPORT
	       : s == S_VERSION ? RT_OP_FIND_VERSION : RT_OP_DESCRIBE_CAMPAIGN;
}

static void test_create_outcomes(void **state)
{
	const struct create_case cases[] = {
		{ RT_RES_OK, "arn:x", RT_PH_RUNNING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_OK, NULL, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_ALREADY_EXISTS, NULL, RT_PH_FINDING, 100, RT_OUT_NONE },
		{ RT_RES_IN_USE, NULL, RT_PH_FINDING, 100, RT_OUT_NONE },
		{ RT_RES_NOT_FOUND, NULL, RT_PH_FAILED, -1, RT_OUT_FAILED },
		{ RT_RES_INVALID, NULL, RT_PH_FAILED, -1, RT_OUT_FAILED },
		{ RT_RES_TRANSIENT, NULL, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_UNKNOWN, NULL, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
	};
	enum setup s;
	size_t i;

	(void)state;
	for (s = S_IMPORT; s <= S_CAMPAIGN; s++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct create_case *k = &cases[i];
			int slot;
			struct fx *f = setup_create(s, &slot);
			enum rt_phase want = k->phase;

			/* UpdateCampaign returns no ARN; OK is OK. */
			if (s == S_CAMPAIGN && k->result == RT_RES_OK && !k->arn)
				want = RT_PH_RUNNING;
			assert_int_equal(rf_reply(f, slot, k->result, k->arn, NULL), 0);
			assert_int_equal(f->run.slots[slot].phase, want);
			assert_int_equal(f->run.outcome, k->outcome);
			if (k->next == RT_ACT_TIMER)
				assert_non_null(rf_act(&f->out, RT_ACT_TIMER, slot));
			else if (k->next == 100)
				assert_non_null(rf_call_op(&f->out, find_op(s), slot));
			/* never a second create straight away */
			assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, slot));
			assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, slot));
			assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, slot));
			if (k->outcome == RT_OUT_FAILED) {
				assert_true(rt_done(&f->run));
				assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
				assert_non_null(strstr(f->run.reason, "rejected"));
				if (s == S_CAMPAIGN)
					assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
				if (s == S_IMPORT)
					assert_non_null(strstr(f->run.reason, "no training"));
			}
			if (k->result == RT_RES_ALREADY_EXISTS)
				assert_true(f->run.followed);
			if (k->result == RT_RES_UNKNOWN || k->result == RT_RES_TRANSIENT) {
				/* the timer leads to a find, not a create */
				assert_int_equal(rf_poll_due(f, slot), 0);
				assert_non_null(rf_call_op(&f->out, find_op(s), slot));
				assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 1);
			}
			free(f);
		}
}

/* A rejection names the service's error code, not a fixed label. */
static void test_reject_keeps_code(void **state)
{
	const struct {
		const char *code, *want;
	} cases[] = {
		{ "AccessDeniedException", "rejected (AccessDenied): " },
		{ "ExpiredTokenException", "rejected (ExpiredToken): " },
		{ "InvalidSignatureException", "rejected (InvalidSignature): " },
		{ "InvalidInputException", "rejected (InvalidInput): " },
		{ "Http403", "rejected (Http403): " },
		{ NULL, "rejected (InvalidInput): " },
	};
	enum setup s;
	size_t i;

	(void)state;
	for (s = S_IMPORT; s <= S_CAMPAIGN; s++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int slot;
			struct fx *f = setup_create(s, &slot);
			struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, slot);

			ev.result = RT_RES_INVALID;
			ev.error = "simulated";
			ev.error_code = cases[i].code;
			assert_int_equal(rf_feed(f, &ev), 0);
			assert_true(rt_done(&f->run));
			assert_non_null(strstr(f->run.reason, cases[i].want));
			assert_true(rf_log_has(&f->out, cases[i].want));
			free(f);
		}
}

/* ---- find outcomes (imports, versions) --------------------------------- */

struct find_case {
	enum rt_result result;
	bool found;
	const char *status;
	bool other_busy;
	enum rt_phase phase;
	int next; /* RT_ACT_TIMER, 200 = create call, -1 none */
	enum rt_outcome outcome;
};

/* A create answered AlreadyExists whose job the find does not list (the
 * name is another pipeline's, or a job of another version): looked for
 * again with backoff, RT_TOLERANCE times, then the slot fails naming the
 * clash, with no second create; a list that only lagged finds it and
 * adopts it. */
static void test_taken_name(void **state)
{
	enum setup s;
	int lag;

	(void)state;
	for (lag = 0; lag <= 1; lag++)
		for (s = S_IMPORT; s <= S_VERSION; s++) {
			int slot, i;
			struct fx *f = setup_create(s, &slot);
			enum rt_op create = s == S_IMPORT ? RT_OP_CREATE_IMPORT
							  : RT_OP_CREATE_VERSION;
			struct rt_event ev;

			assert_int_equal(rf_reply(f, slot, RT_RES_ALREADY_EXISTS,
						  NULL, NULL), 0);
			for (i = 0; i <= RT_TOLERANCE; i++) {
				assert_non_null(rf_call_op(&f->out, find_op(s), slot));
				ev = rf_ev_for(f, RT_EV_REPLY, slot);
				ev.result = RT_RES_OK;
				if (lag && i == 1) {
					ev.found = true;
					ev.arn = "arn:found";
					ev.status = "CREATE IN_PROGRESS";
				}
				assert_int_equal(rf_feed(f, &ev), 0);
				assert_null(rf_call_op(&f->out, create, slot));
				if (lag && i == 1)
					break;
				if (i < RT_TOLERANCE) {
					assert_int_equal(f->run.slots[slot].phase,
							 RT_PH_FINDING);
					assert_non_null(rf_act(&f->out, RT_ACT_TIMER, slot));
					f->now += 10;
					assert_int_equal(rf_poll_due(f, slot), 0);
				}
			}
			if (lag) {
				assert_int_equal(f->run.slots[slot].phase, RT_PH_RUNNING);
				assert_string_equal(f->run.slots[slot].arn, "arn:found");
				assert_false(f->run.slots[slot].taken);
			} else {
				assert_int_equal(f->run.slots[slot].phase, RT_PH_FAILED);
				assert_non_null(strstr(f->run.slots[slot].reason,
						       "a job of that name exists"));
				assert_true(rf_log_has(&f->out, "not created again"));
			}
			free(f);
		}
}

/* A create answered ResourceInUse whose find shows nothing busy (the list
 * lags): the create goes out again after a backoff, never at once. */
static void test_in_use_backoff(void **state)
{
	enum setup s;

	(void)state;
	for (s = S_IMPORT; s <= S_VERSION; s++) {
		int slot;
		struct fx *f = setup_create(s, &slot);
		enum rt_op create = s == S_IMPORT ? RT_OP_CREATE_IMPORT
						  : RT_OP_CREATE_VERSION;
		struct rt_event ev;

		assert_int_equal(rf_reply(f, slot, RT_RES_IN_USE, NULL, NULL), 0);
		assert_non_null(rf_call_op(&f->out, find_op(s), slot));
		ev = rf_ev_for(f, RT_EV_REPLY, slot);
		ev.result = RT_RES_OK;     /* nothing of ours, nothing busy */
		assert_int_equal(rf_feed(f, &ev), 0);
		assert_null(rf_call_op(&f->out, create, slot));
		assert_non_null(rf_act(&f->out, RT_ACT_TIMER, slot));
		f->now += 10;
		assert_int_equal(rf_poll_due(f, slot), 0);
		assert_non_null(rf_call_op(&f->out, find_op(s), slot));
		ev = rf_ev_for(f, RT_EV_REPLY, slot);
		ev.result = RT_RES_OK;
		assert_int_equal(rf_feed(f, &ev), 0);
		assert_non_null(rf_call_op(&f->out, create, slot));
		free(f);
	}
}

static void test_find_outcomes(void **state)
{
	const struct find_case cases[] = {
		{ RT_RES_OK, true, "ACTIVE", false, RT_PH_ACTIVE, -1, RT_OUT_NONE },
		{ RT_RES_OK, true, "CREATE IN_PROGRESS", false, RT_PH_RUNNING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_OK, true, "CREATE PENDING", true, RT_PH_RUNNING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_OK, true, "CREATE FAILED", false, RT_PH_FAILED, -1, RT_OUT_FAILED },
		{ RT_RES_OK, false, NULL, true, RT_PH_WAITING, RT_ACT_TIMER, RT_OUT_NONE },
		/* AlreadyExists, yet nothing of ours listed: look again,
		 * never create at once (test_taken_name) */
		{ RT_RES_OK, false, NULL, false, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_NOT_FOUND, false, NULL, false, RT_PH_FAILED, -1, RT_OUT_FAILED },
		{ RT_RES_INVALID, false, NULL, false, RT_PH_FAILED, -1, RT_OUT_FAILED },
		{ RT_RES_TRANSIENT, false, NULL, false, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_UNKNOWN, false, NULL, false, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_IN_USE, false, NULL, false, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
		{ RT_RES_ALREADY_EXISTS, false, NULL, false, RT_PH_FINDING, RT_ACT_TIMER, RT_OUT_NONE },
	};
	enum setup s;
	size_t i;
	int waiting;

	(void)state;
	for (waiting = 0; waiting < 2; waiting++)
	for (s = S_IMPORT; s <= S_VERSION; s++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct find_case *k = &cases[i];
			int slot;
			struct fx *f = setup_create(s, &slot);
			struct rt_event ev;
			enum rt_op create = s == S_IMPORT ? RT_OP_CREATE_IMPORT
							  : RT_OP_CREATE_VERSION;
			enum rt_phase want = k->phase;

			/* AlreadyExists leads to the find */
			assert_int_equal(rf_reply(f, slot, RT_RES_ALREADY_EXISTS, NULL, NULL), 0);
			if (waiting) {
				/* another job busy: wait, poll, find again */
				busy(f, slot);
				assert_int_equal(rf_poll_due(f, slot), 0);
				assert_non_null(rf_call_op(&f->out, find_op(s), slot));
				if (want == RT_PH_FINDING)
					want = RT_PH_WAITING;
			}
			ev = rf_ev_for(f, RT_EV_REPLY, slot);
			ev.result = k->result;
			ev.found = k->found;
			ev.arn = k->found ? "arn:found" : NULL;
			ev.status = k->status;
			ev.failure_reason = "S3 access denied";
			ev.other_busy = k->other_busy;
			ev.other_name = "someone-elses-job";
			assert_int_equal(rf_feed(f, &ev), 0);
			/* a refused find while a job of ours may run (the
			 * AlreadyExists just seen, or the other import still
			 * being created): kept for the next run, not failed;
			 * a version waiting for someone else's: failed */
			if (k->result == RT_RES_INVALID &&
			    !(waiting && s == S_VERSION)) {
				assert_kept(f, RT_OUT_FAILED, "rejected");
				assert_int_equal(f->run.slots[slot].phase,
						 waiting ? RT_PH_WAITING : RT_PH_FINDING);
				free(f);
				continue;
			}
			if (!(s == S_VERSION && k->phase == RT_PH_ACTIVE))
				assert_int_equal(f->run.slots[slot].phase, want);
			assert_int_equal(f->run.outcome, k->outcome);
			if (k->next == RT_ACT_TIMER)
				assert_non_null(rf_act(&f->out, RT_ACT_TIMER, slot));
			if (k->next == 200) {
				const struct rt_action *c = rf_call_op(&f->out, create, slot);
				size_t j, save = SIZE_MAX, callat = SIZE_MAX;

				assert_non_null(c);
				for (j = 0; j < f->out.n; j++) {
					if (f->out.a[j].kind == RT_ACT_SAVE && save == SIZE_MAX)
						save = j;
					if (&f->out.a[j] == c)
						callat = j;
				}
				assert_true(save < callat); /* intent first */
			} else {
				assert_null(rf_call_op(&f->out, create, slot));
			}
			if (k->found) {
				assert_string_equal(f->run.slots[slot].arn, "arn:found");
				assert_true(f->run.slots[slot].adopted);
			}
			if (k->other_busy && !k->found && !waiting) {
				assert_true(rf_log_has(&f->out, "someone-elses-job"));
				/* poll again: a find, and no repeated log line */
				assert_int_equal(rf_poll_due(f, slot), 0);
				assert_non_null(rf_call_op(&f->out, find_op(s), slot));
				ev = rf_ev_for(f, RT_EV_REPLY, slot);
				ev.result = RT_RES_OK;
				ev.other_busy = true;
				ev.other_name = "someone-elses-job";
				assert_int_equal(rf_feed(f, &ev), 0);
				assert_false(rf_log_has(&f->out, "someone-elses-job"));
				assert_int_equal(rf_poll_due(f, slot), 0);
				ev = rf_ev_for(f, RT_EV_REPLY, slot);
				ev.result = RT_RES_OK; /* the other one finished */
				assert_int_equal(rf_feed(f, &ev), 0);
				/* ours said AlreadyExists: look again first */
				assert_null(rf_call_op(&f->out, create, slot));
				assert_non_null(rf_act(&f->out, RT_ACT_TIMER, slot));
			}
			if (k->outcome == RT_OUT_FAILED && s == S_IMPORT)
				assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, ANY));
			free(f);
		}
}

/* ---- describe outcomes (imports, versions) ----------------------------- */

static void test_describe_outcomes(void **state)
{
	const struct {
		enum rt_result result;
		const char *status;
		enum rt_phase phase;
		enum rt_outcome outcome;
	} cases[] = {
		{ RT_RES_OK, "CREATE PENDING", RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_OK, "CREATE IN_PROGRESS", RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_OK, NULL, RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_OK, "CREATE FAILED", RT_PH_FAILED, RT_OUT_FAILED },
		{ RT_RES_OK, "CREATE STOPPED", RT_PH_FAILED, RT_OUT_FAILED },
		{ RT_RES_OK, "CREATE STOPPING", RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_OK, "DELETE PENDING", RT_PH_FAILED, RT_OUT_FAILED },
		{ RT_RES_OK, "ACTIVE", RT_PH_ACTIVE, RT_OUT_NONE },
		{ RT_RES_TRANSIENT, NULL, RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_UNKNOWN, NULL, RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_IN_USE, NULL, RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_ALREADY_EXISTS, NULL, RT_PH_RUNNING, RT_OUT_NONE },
		{ RT_RES_NOT_FOUND, NULL, RT_PH_RUNNING, RT_OUT_NONE },
		/* refused (expired credentials, permissions): the job runs
		 * on; the run is kept for the next one (assert_kept) */
		{ RT_RES_INVALID, NULL, RT_PH_RUNNING, RT_OUT_NONE },
	};
	int which;
	size_t i;

	(void)state;
	for (which = 0; which < 2; which++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct fx *f;
			int slot;

			if (which == 0) {
				f = rf_new(2, true);
				imports_created(f);
				slot = 1;
			} else {
				f = at_training_running(true);
				slot = RT_SLOT_VERSION;
			}
			assert_int_equal(rf_poll_due(f, slot), 0);
			assert_non_null(rf_call_op(&f->out, which ? RT_OP_DESCRIBE_VERSION
							       : RT_OP_DESCRIBE_IMPORT, slot));
			assert_int_equal(rf_reply(f, slot, cases[i].result, NULL,
					       cases[i].status), 0);
			if (!(which == 1 && cases[i].phase == RT_PH_ACTIVE))
				assert_int_equal(f->run.slots[slot].phase, cases[i].phase);
			assert_int_equal(f->run.outcome, cases[i].outcome);
			if (cases[i].result == RT_RES_INVALID) {
				assert_kept(f, RT_OUT_FAILED, "rejected");
				assert_non_null(strstr(f->run.reason,
						       which ? "DescribeSolutionVersion"
							     : "DescribeDatasetImportJob"));
				free(f);
				continue;
			}
			if (cases[i].phase == RT_PH_RUNNING)
				assert_non_null(rf_act(&f->out, RT_ACT_TIMER, slot));
			if (cases[i].outcome == RT_OUT_FAILED) {
				assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, ANY));
				assert_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, ANY));
				assert_non_null(strstr(f->run.reason,
						       which ? "nothing deployed" : "no training"));
			}
			if (which == 1 && cases[i].phase == RT_PH_ACTIVE) {
				assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
				assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
							RT_SLOT_CAMPAIGN));
			}
			free(f);
		}
}

static void test_describe_not_found_tolerance(void **state)
{
	struct fx *f = rf_new(1, false);
	int i;

	(void)state;
	imports_created(f);
	for (i = 0; i < RT_TOLERANCE; i++) {
		assert_int_equal(rf_poll_due(f, 0), 0);
		assert_int_equal(rf_reply(f, 0, RT_RES_NOT_FOUND, NULL, NULL), 0);
		assert_false(rt_done(&f->run));
	}
	assert_int_equal(rf_poll_due(f, 0), 0);
	assert_int_equal(rf_reply(f, 0, RT_RES_NOT_FOUND, NULL, NULL), 0);
	assert_true(rt_done(&f->run));
	assert_non_null(strstr(f->run.reason, "disappeared"));
	free(f);
}

/* A failed poll is logged once with the request id, and asked again. */
static void test_retry_logged_with_request_id(void **state)
{
	struct fx *f = rf_new(1, false);
	struct rt_event ev;
	const struct rt_action *l;

	(void)state;
	imports_created(f);
	assert_int_equal(rf_poll_due(f, 0), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, 0);
	ev.result = RT_RES_TRANSIENT;
	ev.error = "ThrottlingException: Rate exceeded";
	ev.request_id = "req-123";
	assert_int_equal(rf_feed(f, &ev), 0);
	l = rf_act(&f->out, RT_ACT_LOG, 0);
	assert_non_null(l);
	assert_string_equal(l->request_id, "req-123");
	assert_non_null(strstr(l->text, "Rate exceeded"));
	assert_non_null(strstr(l->text, "asking again"));
	assert_string_equal(l->job_arn, job_arn(0));
	assert_string_equal(l->stage, "importing");
	assert_non_null(rf_act(&f->out, RT_ACT_TIMER, 0));
	free(f);
}

/* One import fails while another is still running: no training. */
static void test_one_import_fails_no_training(void **state)
{
	struct fx *f = rf_new(3, true);

	(void)state;
	imports_created(f);
	import_active(f, 0);
	assert_int_equal(rf_poll_due(f, 2), 0);
	assert_int_equal(rf_reply(f, 2, RT_RES_OK, NULL, "CREATE FAILED"), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "Users"));
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, ANY));
	/* slot 1's timer is now stale */
	assert_int_equal(rf_poll_due(f, 1), -ESTALE);
	assert_int_equal(f->out.n, 0);
	free(f);
}

/* ---- campaign ----------------------------------------------------------- */

struct camp_case {
	const char *name;
	bool running;          /* after our UpdateCampaign, else pre-check */
	enum rt_result result;
	const char *serves, *upd_ver, *upd_status;
	enum rt_phase phase;
	enum rt_outcome outcome;
	bool update_call;      /* an UpdateCampaign follows */
	bool followed;
	bool kept;             /* gave up, kept for the next run */
};

static void test_campaign_describe(void **state)
{
	const struct camp_case cases[] = {
		{ "pre: idle campaign -> update", false, RT_RES_OK, OLD_VERSION, OLD_VERSION, "ACTIVE", RT_PH_CREATING, RT_OUT_NONE, true, false },
		{ "pre: never updated -> update", false, RT_RES_OK, OLD_VERSION, NULL, NULL, RT_PH_CREATING, RT_OUT_NONE, true, false },
		{ "pre: last update failed -> update", false, RT_RES_OK, OLD_VERSION, OTHER_VERSION, "CREATE FAILED", RT_PH_CREATING, RT_OUT_NONE, true, false },
		{ "pre: other update in flight -> wait", false, RT_RES_OK, OLD_VERSION, OTHER_VERSION, "UPDATE IN_PROGRESS", RT_PH_WAITING, RT_OUT_NONE, false, false },
		{ "pre: our update in flight -> follow", false, RT_RES_OK, OLD_VERSION, VERSION_ARN, "UPDATE IN_PROGRESS", RT_PH_RUNNING, RT_OUT_NONE, false, true },
		{ "pre: already serves ours -> done", false, RT_RES_OK, VERSION_ARN, VERSION_ARN, "ACTIVE", RT_PH_ACTIVE, RT_OUT_SUCCEEDED, false, false },
		{ "pre: our update failed -> failed", false, RT_RES_OK, OLD_VERSION, VERSION_ARN, "CREATE FAILED", RT_PH_FAILED, RT_OUT_FAILED, false, false },
		{ "pre: not found", false, RT_RES_NOT_FOUND, NULL, NULL, NULL, RT_PH_FAILED, RT_OUT_FAILED, false, false },
		{ "pre: invalid", false, RT_RES_INVALID, NULL, NULL, NULL, RT_PH_FAILED, RT_OUT_FAILED, false, false },
		{ "pre: transient", false, RT_RES_TRANSIENT, NULL, NULL, NULL, RT_PH_FINDING, RT_OUT_NONE, false, false },
		{ "pre: unknown", false, RT_RES_UNKNOWN, NULL, NULL, NULL, RT_PH_FINDING, RT_OUT_NONE, false, false },
		{ "pre: in use", false, RT_RES_IN_USE, NULL, NULL, NULL, RT_PH_FINDING, RT_OUT_NONE, false, false },
		{ "run: in progress", true, RT_RES_OK, OLD_VERSION, VERSION_ARN, "UPDATE IN_PROGRESS", RT_PH_RUNNING, RT_OUT_NONE, false, false },
		{ "run: active not serving", true, RT_RES_OK, OLD_VERSION, VERSION_ARN, "ACTIVE", RT_PH_RUNNING, RT_OUT_NONE, false, false },
		{ "run: deployed", true, RT_RES_OK, VERSION_ARN, VERSION_ARN, "ACTIVE", RT_PH_ACTIVE, RT_OUT_SUCCEEDED, false, false },
		{ "run: failed", true, RT_RES_OK, OLD_VERSION, VERSION_ARN, "UPDATE FAILED", RT_PH_FAILED, RT_OUT_FAILED, false, false },
		{ "run: not ours yet", true, RT_RES_OK, OLD_VERSION, OLD_VERSION, "ACTIVE", RT_PH_RUNNING, RT_OUT_NONE, false, false },
		{ "run: transient", true, RT_RES_TRANSIENT, NULL, NULL, NULL, RT_PH_RUNNING, RT_OUT_NONE, false, false },
		{ "run: unknown", true, RT_RES_UNKNOWN, NULL, NULL, NULL, RT_PH_RUNNING, RT_OUT_NONE, false, false },
		{ "run: not found", true, RT_RES_NOT_FOUND, NULL, NULL, NULL, RT_PH_FAILED, RT_OUT_FAILED, false, false },
		/* our update in progress: kept; before it (the pre-check)
		 * nothing of ours runs: failed, as above */
		{ "run: invalid", true, RT_RES_INVALID, NULL, NULL, NULL, RT_PH_RUNNING, RT_OUT_NONE, false, false, true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct camp_case *k = &cases[i];
		struct fx *f;

		if (k->running) {
			f = at_deploy_running();
			assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
			assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
						RT_SLOT_CAMPAIGN));
		} else {
			f = at_deploying();
		}
		assert_int_equal(campaign_reply(f, k->result, k->serves, k->upd_ver,
						k->upd_status), 0);
		if (k->phase != RT_PH_ACTIVE)
			assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, k->phase);
		assert_int_equal(f->run.outcome, k->outcome);
		assert_int_equal(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY) != NULL,
				 k->update_call);
		assert_int_equal(f->run.followed, k->followed);
		if (k->kept)
			assert_kept(f, RT_OUT_FAILED, "DescribeCampaign");
		else if (rf_act(&f->out, RT_ACT_FINISHED, ANY))
			assert_true(rt_done(&f->run));
		if (k->outcome == RT_OUT_SUCCEEDED) {
			const struct rt_action *l;
			size_t j;
			bool deployed = false;

			for (j = 0; j < f->out.n; j++) {
				l = &f->out.a[j];
				if (l->kind == RT_ACT_LOG && l->message_id &&
				    !strcmp(l->message_id, MSGID_DEPLOYED))
					deployed = true;
			}
			assert_true(deployed);
		}
		if (k->outcome == RT_OUT_FAILED && k->result == RT_RES_OK)
			assert_non_null(strstr(f->run.reason, "still serves " OLD_VERSION));
		if (k->phase == RT_PH_WAITING) {
			assert_true(rf_log_has(&f->out, OTHER_VERSION));
			assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
			assert_int_equal(campaign_reply(f, RT_RES_OK, OTHER_VERSION,
							OTHER_VERSION, "ACTIVE"), 0);
			assert_non_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
			assert_string_equal(f->run.prev_version_arn, OTHER_VERSION);
		}
		free(f);
	}
}

/* ---- the deploy's pre-check (RT_PRECHECK_REUSE_S) ---------------------- */

/* Service times: when our version was created, and updates of the campaign
 * to another version made before and after that. */
#define V_CREATED  ((time_t)1794990000)
#define UPD_OLDER  (V_CREATED - 600)
#define UPD_NEWER  (V_CREATED + 600)

/* Stage DEPLOYING, the deploy's DescribeCampaign in flight; created: our
 * version's creation time as its last describe said (0: not said, as for a
 * run loaded from disk past training). */
static struct fx *at_deploying_created(time_t created)
{
	struct fx *f = at_training_running(true);
	struct rt_event ev;

	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_VERSION);
	ev.result = RT_RES_OK;
	ev.status = "ACTIVE";
	ev.created = created;
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	assert_int_equal(f->run.version_created, created);
	return f;
}

/* The pre-check's DescribeSolutionVersion of our version answers. */
static int lookup_reply(struct fx *f, enum rt_result r, time_t created)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_CAMPAIGN);

	ev.result = r;
	ev.status = "ACTIVE";
	ev.arn = VERSION_ARN;
	ev.created = created;
	ev.error = r == RT_RES_OK ? NULL : "simulated";
	ev.error_code = r == RT_RES_INVALID ? "AccessDeniedException" : NULL;
	return rf_feed(f, &ev);
}

static void assert_update_sent(struct fx *f)
{
	const struct rt_action *a = rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN,
					    RT_SLOT_CAMPAIGN);

	assert_non_null(a);
	assert_string_equal(a->call.version_arn, VERSION_ARN);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_CREATING);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 1);
	assert_false(rt_done(&f->run));
}

static void assert_superseded(struct fx *f, const char *newer)
{
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_SKIPPED);
	assert_non_null(strstr(f->run.reason, "superseded, not deployed"));
	assert_non_null(strstr(f->run.reason, newer));
	assert_non_null(strstr(f->run.reason, "would put an older version back"));
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_FAILED);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
	assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
	assert_int_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->outcome,
			 RT_OUT_SKIPPED);
}

/* The pre-check's DescribeSolutionVersion of arn (our version, or with
 * serving the one the campaign serves) is asked on the campaign slot, and
 * nothing else. */
static void assert_lookup_of(struct fx *f, const char *arn, bool serving)
{
	const struct rt_action *a = rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION,
					    RT_SLOT_CAMPAIGN);

	assert_non_null(a);
	assert_string_equal(a->call.arn, arn);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 1);
	assert_true(f->run.precheck_lookup);
	assert_int_equal(f->run.precheck_serving, serving);
	assert_false(rt_done(&f->run));
}

static void assert_lookup(struct fx *f)
{
	assert_lookup_of(f, VERSION_ARN, false);
}

/* The deploy's own DescribeCampaign is the pre-check (one describe, no
 * other call): the campaign serves or was last updated to an older
 * version -> UpdateCampaign; to a version newer than ours -> skipped. */
static void test_precheck_decides_on_the_deploy_describe(void **state)
{
	struct fx *f;

	(void)state;
	/* serves an older version, updated before ours was created */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OLD_VERSION, "ACTIVE",
					UPD_OLDER), 0);
	assert_update_sent(f);
	assert_string_equal(f->run.prev_version_arn, OLD_VERSION);
	free(f);
	/* serves a newer version: updated after ours was created */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_NEWER), 0);
	assert_superseded(f, OTHER_VERSION);
	assert_true(rf_log_has(&f->out, "superseded, not deployed"));
	free(f);
	/* the same second is not after */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", V_CREATED), 0);
	assert_update_sent(f);
	free(f);
	/* the other update's time unknown: cannot tell, send */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", 0), 0);
	assert_update_sent(f);
	free(f);
	/* never updated: send */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, NULL, NULL, 0), 0);
	assert_update_sent(f);
	free(f);
}

/* The latest update, to another version, was made after ours was created
 * but failed: it never went live, so the version the campaign still serves
 * decides (asked for its creation time): trained before ours -> sent;
 * after -> skipped, naming it; ours -> deployed already; its time not to
 * be had -> sent (said); the look refused -> failed, nothing sent. */
static void test_precheck_newer_update_failed(void **state)
{
	struct fx *f;

	(void)state;
	/* serves an older version: ours goes out */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OTHER_VERSION,
					"CREATE FAILED", UPD_NEWER), 0);
	assert_lookup_of(f, OLD_VERSION, true);
	assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
	assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED - 3600), 0);
	assert_update_sent(f);
	assert_false(f->run.precheck_serving);
	assert_true(rf_log_has(&f->out, "failed; it serves"));
	free(f);
	/* serves a version trained after ours: skipped, it is named */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, NEWER_VERSION, OTHER_VERSION,
					"UPDATE FAILED", UPD_NEWER), 0);
	assert_lookup_of(f, NEWER_VERSION, true);
	assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED + 60), 0);
	assert_superseded(f, NEWER_VERSION);
	assert_non_null(strstr(f->run.reason, "failed"));
	free(f);
	/* serves ours already (the failed update came after it): deployed */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, VERSION_ARN, OTHER_VERSION,
					"UPDATE FAILED", UPD_NEWER), 0);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_ACTIVE);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
	assert_true(rf_log_has(&f->out, "serves"));
	free(f);
	/* the serving version's time cannot be had: sent, said */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OTHER_VERSION,
					"CREATE FAILED", UPD_NEWER), 0);
	assert_int_equal(lookup_reply(f, RT_RES_NOT_FOUND, 0), 0);
	assert_update_sent(f);
	assert_true(rf_log_has(&f->out, "cannot tell when"));
	free(f);
	/* the look refused: the run fails, nothing sent blind */
	f = at_deploying_created(V_CREATED);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OTHER_VERSION,
					"CREATE FAILED", UPD_NEWER), 0);
	assert_int_equal(lookup_reply(f, RT_RES_INVALID, 0), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
	free(f);
	/* our version's time not known either: ours first, then the
	 * serving one's */
	f = at_deploying_created(0);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OTHER_VERSION,
					"CREATE FAILED", UPD_NEWER), 0);
	assert_lookup(f);
	assert_false(f->run.precheck_serving);
	assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED), 0);
	assert_lookup_of(f, OLD_VERSION, true);
	assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED - 3600), 0);
	assert_update_sent(f);
	free(f);
}

/* An update to another version in progress: wait for it (no decision),
 * then decide on the describe that finds it done. */
static void test_precheck_update_in_progress(void **state)
{
	struct fx *f;
	int newer;

	(void)state;
	for (newer = 0; newer <= 1; newer++) {
		time_t at = newer ? UPD_NEWER : UPD_OLDER;

		f = at_deploying_created(V_CREATED);
		assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OTHER_VERSION,
						"UPDATE IN_PROGRESS", at), 0);
		assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase,
				 RT_PH_WAITING);
		assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
		f->now += 30;
		assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
		assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
					RT_SLOT_CAMPAIGN));
		assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
						"ACTIVE", at), 0);
		if (newer) {
			assert_superseded(f, OTHER_VERSION);
		} else {
			assert_update_sent(f);
			assert_string_equal(f->run.prev_version_arn,
					    OTHER_VERSION);
		}
		free(f);
	}
}

/* Our version's creation time not known (a run loaded past training): an
 * update of another version with a time asks DescribeSolutionVersion of
 * ours first, then decides; an update of no other version does not ask. */
static void test_precheck_version_time_unknown(void **state)
{
	struct fx *f;

	(void)state;
	f = at_deploying_created(0);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, NULL, NULL, 0), 0);
	assert_update_sent(f);
	free(f);

	/* ours is older than the update: skipped */
	f = at_deploying_created(0);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_NEWER), 0);
	assert_lookup(f);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_FINDING);
	assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
	assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED), 0);
	assert_superseded(f, OTHER_VERSION);
	assert_int_equal(f->run.version_created, V_CREATED);
	free(f);

	/* ours is newer than the update: sent */
	f = at_deploying_created(0);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_OLDER), 0);
	assert_lookup(f);
	assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED), 0);
	assert_update_sent(f);
	assert_false(f->run.precheck_lookup);
	free(f);

	/* the reply names no creation time: cannot tell, sent (said) */
	f = at_deploying_created(0);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_NEWER), 0);
	assert_int_equal(lookup_reply(f, RT_RES_OK, 0), 0);
	assert_update_sent(f);
	assert_true(rf_log_has(&f->out, "cannot tell when"));
	free(f);
}

/* The lookup fails: refused -> the run fails, nothing sent blind; not
 * found, transient, unknown -> cannot tell, sent. */
static void test_precheck_lookup_failures(void **state)
{
	const enum rt_result send[] = {
		RT_RES_NOT_FOUND, RT_RES_TRANSIENT, RT_RES_UNKNOWN,
	};
	struct fx *f;
	size_t i;

	(void)state;
	f = at_deploying_created(0);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_NEWER), 0);
	assert_int_equal(lookup_reply(f, RT_RES_INVALID, 0), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "DescribeSolutionVersion"));
	assert_non_null(strstr(f->run.reason, "AccessDenied"));
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
	free(f);
	for (i = 0; i < sizeof(send) / sizeof(send[0]); i++) {
		f = at_deploying_created(0);
		assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
						"ACTIVE", UPD_NEWER), 0);
		assert_int_equal(lookup_reply(f, send[i], 0), 0);
		assert_update_sent(f);
		assert_true(rf_log_has(&f->out, "deploying anyway"));
		free(f);
	}
}

/* The look at the campaign is reused while younger than a minute (by the
 * events' now); from a minute on, or when the clock went back, the
 * campaign is described again and the decision waits for that reply. */
static void test_precheck_reuse_window(void **state)
{
	struct fx *f;
	const time_t ages[] = { RT_PRECHECK_REUSE_S - 1, RT_PRECHECK_REUSE_S,
				RT_PRECHECK_REUSE_S + 3600, -5 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		bool again = ages[i] < 0 || ages[i] >= RT_PRECHECK_REUSE_S;
		time_t seen;

		f = at_deploying_created(0);
		seen = f->now;
		assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OLD_VERSION,
						"ACTIVE", UPD_OLDER), 0);
		assert_int_equal(f->run.camp_seen_at, seen);
		assert_lookup(f);
		f->now = seen + ages[i];
		assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED), 0);
		if (!again) {
			assert_update_sent(f);
			free(f);
			continue;
		}
		assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
					RT_SLOT_CAMPAIGN));
		assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 1);
		assert_true(rf_log_has(&f->out, "describing it again"));
		assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase,
				 RT_PH_FINDING);
		/* meanwhile another host deployed a newer version: the
		 * fresh look sees it (our creation time is known now: no
		 * second lookup) */
		f->now += 2;
		assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
						"ACTIVE", UPD_NEWER), 0);
		assert_superseded(f, OTHER_VERSION);
		free(f);
	}
}

/* The describe again fails: refused or not found -> the run fails (no
 * update of ours is in flight); transient -> asked again later, then
 * decided; an update of ours found in flight meanwhile -> followed. */
static void test_precheck_describe_again_outcomes(void **state)
{
	const enum rt_result fails[] = { RT_RES_INVALID, RT_RES_NOT_FOUND };
	struct fx *f;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		f = at_deploying_created(0);
		assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OLD_VERSION,
						"ACTIVE", UPD_OLDER), 0);
		f->now += RT_PRECHECK_REUSE_S;
		assert_int_equal(lookup_reply(f, RT_RES_OK, V_CREATED), 0);
		assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
					RT_SLOT_CAMPAIGN));
		if (i < 2) {
			assert_int_equal(campaign_reply(f, fails[i], NULL, NULL,
							NULL), 0);
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_FAILED);
			assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		} else if (i == 2) {
			assert_int_equal(campaign_reply(f, RT_RES_TRANSIENT,
							NULL, NULL, NULL), 0);
			assert_non_null(rf_act(&f->out, RT_ACT_TIMER,
					    RT_SLOT_CAMPAIGN));
			assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
			f->now += 5;
			assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
			assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
						RT_SLOT_CAMPAIGN));
			assert_int_equal(rf_campaign_ok(f, OLD_VERSION,
							OLD_VERSION, "ACTIVE",
							UPD_OLDER), 0);
			assert_update_sent(f);
		} else {
			assert_int_equal(rf_campaign_ok(f, OLD_VERSION,
							VERSION_ARN,
							"UPDATE IN_PROGRESS",
							UPD_NEWER), 0);
			assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase,
					 RT_PH_RUNNING);
			assert_true(f->run.followed);
			assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		}
		free(f);
	}
}

/* A stop during the lookup: resumed, the campaign is described first
 * (the lookup's late reply is stale). */
static void test_precheck_lookup_stopped_and_resumed(void **state)
{
	struct fx *f = at_deploying_created(0);
	struct rt_event ev;
	uint32_t tok;

	(void)state;
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_NEWER), 0);
	assert_lookup(f);
	tok = f->run.slots[RT_SLOT_CAMPAIGN].token;
	ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
	assert_false(f->run.precheck_lookup);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_CAMPAIGN);
	ev.token = tok;
	ev.result = RT_RES_OK;
	ev.created = V_CREATED;
	assert_int_equal(rf_feed(f, &ev), -ESTALE);
	assert_int_equal(rf_campaign_ok(f, OTHER_VERSION, OTHER_VERSION,
					"ACTIVE", UPD_NEWER), 0);
	assert_lookup(f);
	assert_int_equal(lookup_reply(f, RT_RES_OK, UPD_NEWER + 60), 0);
	assert_update_sent(f);
	free(f);
}

/* A rollback puts an older version back on purpose: no comparison, no
 * lookup. */
static void test_precheck_not_for_rollback(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[200] = "";
	struct rt_event ev;

	(void)state;
	assert_non_null(f);
	f->spec = rf_mkspec(1, true);
	f->now = T0 + 5;
	assert_int_equal(rt_rollback_start(&f->run, &f->spec, OLD_VERSION,
					   VERSION_ARN, NULL, f->now, &f->out,
					   err, sizeof(err)), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_VERSION);
	ev.result = RT_RES_OK;
	ev.status = "ACTIVE";
	ev.solution_arn = SOLUTION;
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
	assert_int_equal(rf_campaign_ok(f, VERSION_ARN, VERSION_ARN, "ACTIVE",
					UPD_NEWER), 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	assert_null(rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION, ANY));
	free(f);
}

static void test_campaign_superseded(void **state)
{
	struct fx *f = at_deploy_running();
	int i;

	(void)state;
	for (i = 0; i <= RT_TOLERANCE; i++) {
		assert_false(rt_done(&f->run));
		assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
		assert_int_equal(campaign_reply(f, RT_RES_OK, OTHER_VERSION,
						OTHER_VERSION, "ACTIVE"), 0);
	}
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "superseded"));
	free(f);
}

/* UpdateCampaign with an unknown outcome: the describe finds it in flight
 * for our version and follows it, never a second update. */
static void test_campaign_unknown_then_adopt(void **state)
{
	struct fx *f = at_updating();

	(void)state;
	assert_int_equal(rf_reply(f, RT_SLOT_CAMPAIGN, RT_RES_UNKNOWN, NULL, NULL), 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	assert_int_equal(campaign_reply(f, RT_RES_OK, OLD_VERSION, VERSION_ARN,
					"UPDATE IN_PROGRESS"), 0);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_RUNNING);
	assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
	assert_false(f->run.followed); /* probably our own */
	assert_string_equal(f->run.prev_version_arn, OLD_VERSION);
	free(f);
}

/* ---- deadline, stop, fire, stale: in every stage ----------------------- */

typedef struct fx *(*setup_fn)(void);
static struct fx *st_importing(void) { return rf_new(2, true); }
static struct fx *st_importing_running(void)
{
	struct fx *f = rf_new(2, true);

	imports_created(f);
	return f;
}
static struct fx *st_training(void) { return at_training(2, true); }
static struct fx *st_training_running(void) { return at_training_running(true); }
static struct fx *st_deploying(void) { return at_deploying(); }
static struct fx *st_updating(void) { return at_updating(); }
static struct fx *st_deploy_running(void) { return at_deploy_running(); }

static struct fx *st_import_finding(void)
{
	struct fx *f = rf_new(2, true);

	assert_int_equal(rf_reply(f, 0, RT_RES_ALREADY_EXISTS, NULL, NULL), 0);
	assert_int_equal(f->run.slots[0].phase, RT_PH_FINDING);
	return f;
}

static struct fx *st_import_waiting(void) { return busy(st_import_finding(), 0); }
static struct fx *st_version_waiting(void)
{
	struct fx *f = at_training(1, true);

	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_IN_USE, NULL, NULL), 0);
	return busy(f, RT_SLOT_VERSION);
}
static struct fx *st_campaign_waiting(void)
{
	struct fx *f = at_deploying();

	assert_int_equal(campaign_reply(f, RT_RES_OK, OLD_VERSION, OTHER_VERSION,
					"UPDATE IN_PROGRESS"), 0);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_WAITING);
	return f;
}

static const setup_fn stages[] = {
	st_importing, st_importing_running, st_import_finding, st_import_waiting,
	st_training, st_training_running, st_version_waiting,
	st_deploying, st_campaign_waiting, st_updating, st_deploy_running,
};
#define NSTAGES (sizeof(stages) / sizeof(stages[0]))

static void test_deadline_every_stage(void **state)
{
	size_t i;
	int via_event;

	(void)state;
	for (i = 0; i < NSTAGES; i++)
		for (via_event = 0; via_event < 2; via_event++) {
			struct fx *f = stages[i]();
			enum rt_stage st = f->run.stage;
			struct rt_event ev;
			int slot;

			if (via_event) {
				ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);
				assert_int_equal(rf_feed(f, &ev), 0);
			} else {
				/* any event after the deadline ends the run */
				for (slot = 0; slot < RT_NSLOTS; slot++)
					if (f->run.slots[slot].await != RT_AWAIT_NONE)
						break;
				assert_true(slot < RT_NSLOTS);
				f->now = T0 + 5 + MAXRUN_S;
				ev = rf_ev_for(f, f->run.slots[slot].await == RT_AWAIT_CALL
						       ? RT_EV_REPLY : RT_EV_POLL_DUE, slot);
				ev.result = RT_RES_OK;
				ev.status = "ACTIVE";
				assert_int_equal(rf_feed(f, &ev), 0);
			}
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_FAILED);
			assert_non_null(strstr(f->run.reason, "MaxRunDuration"));
			assert_non_null(strstr(f->run.reason, rt_stage_name(st)));
			assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
			assert_non_null(rf_act(&f->out, RT_ACT_SAVE, ANY));
			assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
			/* terminal */
			ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);
			assert_int_equal(rf_feed(f, &ev), -ESTALE);
			free(f);
		}
}

static void test_deadline_after_errors_is_unreachable(void **state)
{
	struct fx *f = rf_new(1, false);
	struct rt_event ev;

	(void)state;
	assert_int_equal(rf_reply(f, 0, RT_RES_TRANSIENT, NULL, NULL), 0);
	ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.outcome, RT_OUT_UNREACHABLE);
	free(f);
}

/* A save before a create is durable (the intent must survive a power
 * loss); a save that records progress (an ARN, a status) is not. */
static void test_save_durability(void **state)
{
	struct fx *f = rf_new(2, true);

	(void)state;
	assert_true(rf_act(&f->out, RT_ACT_SAVE, ANY)->durable);
	assert_true(rf_act(&f->out, RT_ACT_SAVE, ANY)->intent);
	assert_int_equal(rf_reply(f, 0, RT_RES_OK, job_arn(0), NULL), 0);
	assert_non_null(rf_act(&f->out, RT_ACT_SAVE, ANY));
	assert_false(rf_act(&f->out, RT_ACT_SAVE, ANY)->durable);
	assert_false(rf_act(&f->out, RT_ACT_SAVE, ANY)->intent);
	assert_int_equal(rf_reply(f, 1, RT_RES_OK, job_arn(1), NULL), 0);
	import_active(f, 0);
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, RT_SLOT_VERSION));
	import_active(f, 1);
	assert_non_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, RT_SLOT_VERSION));
	assert_true(rf_act(&f->out, RT_ACT_SAVE, ANY)->durable);
	free(f);
}

/* The save before UpdateCampaign comes first and is flushed to disk like
 * every intent before a create. */
static void test_update_intent_flushed(void **state)
{
	struct fx *f = at_updating();
	size_t i, save_at = SIZE_MAX, call_at = SIZE_MAX;

	(void)state;
	for (i = 0; i < f->out.n; i++) {
		if (f->out.a[i].kind == RT_ACT_SAVE && save_at == SIZE_MAX)
			save_at = i;
		if (f->out.a[i].kind == RT_ACT_CALL &&
		    f->out.a[i].call.op == RT_OP_UPDATE_CAMPAIGN)
			call_at = i;
	}
	assert_true(save_at < call_at && call_at != SIZE_MAX);
	assert_true(f->out.a[save_at].intent);
	assert_true(f->out.a[save_at].durable);
	free(f);
}

/* The one backoff rule (the run's polls and adopt.c's retries): first,
 * then doubling up to the cap, less up to a quarter of jitter, never 0;
 * a base of 0 starts over. */
static void test_backoff_rule(void **state)
{
	static const unsigned want[] = { 5000, 10000, 20000, 30000, 30000 };
	unsigned base = 0, d;
	uint64_t rng = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d = rt_backoff_ms(&base, 5000, 30000, rt_random_next(&rng));
		assert_int_equal(base, want[i]);
		assert_true(d <= base && d >= base - base / 4);
	}
	assert_int_equal(rt_backoff_ms(&base, 5000, 30000, 0), 30000);
	base = 0;
	assert_int_equal(rt_backoff_ms(&base, 5000, 30000, 0), 5000);
	base = 0;
	assert_int_equal(rt_backoff_ms(&base, 5000, 2000, 0), 2000); /* capped */
	base = 0;
	assert_int_equal(rt_backoff_ms(&base, 0, 0, 7), 1);          /* never 0 */
	assert_true(rng != 0);
}

static void test_stop_every_stage(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NSTAGES; i++) {
		struct fx *f = stages[i]();
		struct rt_event ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);
		enum rt_stage st = f->run.stage;
		int slot;

		assert_int_equal(rf_feed(f, &ev), 0);
		assert_non_null(rf_act(&f->out, RT_ACT_SAVE, ANY));
		assert_true(rf_act(&f->out, RT_ACT_SAVE, ANY)->durable);
		assert_true(rf_log_has(&f->out, "adopted at the next start"));
		assert_false(rt_done(&f->run));
		assert_int_equal(f->run.stage, st);
		assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
		for (slot = 0; slot < RT_NSLOTS; slot++) {
			ev = rf_ev_for(f, RT_EV_REPLY, slot);
			assert_int_equal(rf_feed(f, &ev), -ESTALE);
		}
		free(f);
	}
}

static void test_fire_during_run_is_skipped(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NSTAGES; i++) {
		struct fx *f = stages[i]();
		struct rt_event ev = rf_ev_for(f, RT_EV_FIRE, RT_SLOT_RUN);
		time_t fire = f->run.fire_time;

		ev.fire_time = T0 + 3600;
		assert_int_equal(rf_feed(f, &ev), 0);
		assert_int_equal(f->out.n, 1);
		assert_true(rf_log_has(&f->out, "skipped"));
		assert_int_equal(f->run.fire_time, fire);
		assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
		free(f);
	}
}

static void test_stale_events(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NSTAGES; i++) {
		struct fx *f = stages[i]();
		struct rt_event ev;
		int slot;

		for (slot = -1; slot <= RT_NSLOTS; slot++) {
			ev = rf_ev_for(f, RT_EV_REPLY, slot);
			ev.token ^= 0x5a5a;
			assert_int_equal(rf_feed(f, &ev), -ESTALE);
			ev = rf_ev_for(f, RT_EV_POLL_DUE, slot);
			ev.token ^= 0x5a5a;
			assert_int_equal(rf_feed(f, &ev), -ESTALE);
			/* right token, wrong kind */
			if (slot >= 0 && slot < RT_NSLOTS &&
			    f->run.slots[slot].await != RT_AWAIT_NONE) {
				ev = rf_ev_for(f, f->run.slots[slot].await == RT_AWAIT_CALL
						       ? RT_EV_POLL_DUE : RT_EV_REPLY, slot);
				assert_int_equal(rf_feed(f, &ev), -ESTALE);
			}
		}
		assert_int_equal(rt_step(NULL, &ev, &f->out), -EINVAL);
		assert_int_equal(rt_step(&f->run, NULL, &f->out), -EINVAL);
		free(f);
	}
}

static void test_unreachable_after_max_errors(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned i;

	(void)state;
	f->spec = rf_mkspec(1, false);
	f->spec.max_consecutive_errors = 3;
	f->now = T0;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, false, &f->out), 0);
	assert_int_equal(rf_reply(f, 0, RT_RES_UNKNOWN, NULL, NULL), 0);
	for (i = 0; i < 1; i++) {
		assert_int_equal(rf_poll_due(f, 0), 0);
		assert_int_equal(rf_reply(f, 0, RT_RES_TRANSIENT, NULL, NULL), 0);
	}
	assert_false(rt_done(&f->run));
	assert_int_equal(rf_poll_due(f, 0), 0);
	/* an OK in between resets the count */
	assert_int_equal(rf_reply(f, 0, RT_RES_OK, "arn:job", "CREATE PENDING"), 0);
	for (i = 0; i < 3; i++) {
		assert_false(rt_done(&f->run));
		assert_int_equal(rf_poll_due(f, 0), 0);
		assert_int_equal(rf_reply(f, 0, RT_RES_TRANSIENT, NULL, NULL), 0);
	}
	/* its import runs on at AWS: kept for the next run, not ended */
	assert_kept(f, RT_OUT_UNREACHABLE, "unreachable");
	assert_string_equal(f->run.slots[0].arn, "arn:job");
	assert_int_equal(f->run.slots[0].phase, RT_PH_RUNNING);
	free(f);

	/* nothing of ours in flight (looking before any create, after a
	 * lost state): the run ends unreachable */
	f = calloc(1, sizeof(*f));
	f->spec = rf_mkspec(1, false);
	f->spec.max_consecutive_errors = 2;
	f->now = T0;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, true, &f->out), 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, 0));
	assert_int_equal(rf_reply(f, 0, RT_RES_TRANSIENT, NULL, NULL), 0);
	assert_int_equal(rf_poll_due(f, 0), 0);
	assert_int_equal(rf_reply(f, 0, RT_RES_UNKNOWN, NULL, NULL), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_UNREACHABLE);
	assert_non_null(strstr(f->run.reason, "unreachable"));
	assert_int_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->outcome,
			 RT_OUT_UNREACHABLE);
	free(f);
}

/* ---- polling ----------------------------------------------------------- */

static void test_poll_backoff_with_jitter(void **state)
{
	const unsigned intervals[] = { 1, 3, 60, 600 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
		struct fx *f = calloc(1, sizeof(*f));
		unsigned max = intervals[k] * 1000u, prev_base = 0;
		const struct rt_action *t;
		struct rt_event ev;
		int i;

		f->spec = rf_mkspec(1, false);
		f->spec.poll_interval_s = intervals[k];
		f->now = T0;
		assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, false, &f->out), 0);
		ev = rf_ev_for(f, RT_EV_REPLY, 0);
		ev.result = RT_RES_OK;
		ev.arn = "arn:job";
		ev.random = 0;
		assert_int_equal(rf_feed(f, &ev), 0);
		t = rf_act(&f->out, RT_ACT_TIMER, 0);
		assert_non_null(t);
		/* the first check is soon, and never later than PollInterval */
		assert_int_equal(t->delay_ms, max < RT_FIRST_POLL_MS ? max : RT_FIRST_POLL_MS);
		for (i = 0; i < 30; i++) {
			assert_int_equal(rf_poll_due(f, 0), 0);
			ev = rf_ev_for(f, RT_EV_REPLY, 0);
			ev.result = RT_RES_OK;
			ev.status = "CREATE IN_PROGRESS";
			ev.random = (uint32_t)(i * 2654435761u);
			assert_int_equal(rf_feed(f, &ev), 0);
			t = rf_act(&f->out, RT_ACT_TIMER, 0);
			assert_non_null(t);
			assert_true(t->delay_ms <= max);
			assert_true(t->delay_ms >= f->run.slots[0].delay_ms * 3 / 4);
			assert_true(f->run.slots[0].delay_ms >= prev_base);
			prev_base = f->run.slots[0].delay_ms;
		}
		assert_int_equal(prev_base, max); /* reached PollInterval */
		free(f);
	}
}

/* ---- resume ------------------------------------------------------------ */

static void test_resume_every_stage(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NSTAGES; i++) {
		struct fx *f = stages[i]();
		struct rt_event ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);
		struct rt_run copy;
		int slot;

		assert_int_equal(rf_feed(f, &ev), 0);
		copy = f->run;
		f->now += 60;
		assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
		assert_non_null(rf_act(&f->out, RT_ACT_DEADLINE, ANY));
		assert_int_equal(rf_act(&f->out, RT_ACT_DEADLINE, ANY)->at,
				 T0 + 5 + MAXRUN_S);
		/* never a create on resume: a find or a describe first */
		assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, ANY));
		assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, ANY));
		assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		assert_true(rf_count(&f->out, RT_ACT_CALL, ANY) >= 1);
		for (slot = 0; slot < RT_NSLOTS; slot++) {
			const struct rt_slot *s = &copy.slots[slot];

			if (s->phase == RT_PH_RUNNING)
				assert_true(rf_call_op(&f->out, RT_OP_DESCRIBE_IMPORT, slot) ||
					    rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION, slot) ||
					    rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, slot));
			if (s->phase == RT_PH_CREATING || s->phase == RT_PH_FINDING ||
			    s->phase == RT_PH_WAITING)
				assert_true(rf_call_op(&f->out, RT_OP_FIND_IMPORT, slot) ||
					    rf_call_op(&f->out, RT_OP_FIND_VERSION, slot) ||
					    rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, slot));
		}
		free(f);
	}
}

static void test_resume_finishes_dead_and_past_deadline(void **state)
{
	struct fx *f = st_training_running();
	struct rt_event ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);

	(void)state;
	assert_int_equal(rt_resume(NULL, T0, &f->out), -EINVAL);
	rf_feed(f, &ev);
	assert_true(rt_done(&f->run));
	assert_int_equal(rt_resume(&f->run, T0, &f->out), 0);
	assert_int_equal(f->out.n, 0);
	free(f);
	f = st_training_running();
	ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);
	rf_feed(f, &ev);
	assert_int_equal(rt_resume(&f->run, T0 + 5 + MAXRUN_S, &f->out), 0);
	assert_true(rt_done(&f->run));
	assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
	free(f);
}

/* A restart while all imports were ACTIVE but the stage not yet advanced:
 * resume advances and starts training. */
static void test_resume_advances(void **state)
{
	struct fx *f = rf_new(1, false);

	(void)state;
	f->run.slots[0].phase = RT_PH_ACTIVE;
	f->run.stopped = true;
	assert_int_equal(rt_resume(&f->run, T0 + 10, &f->out), 0);
	assert_int_equal(f->run.stage, RT_STAGE_TRAINING);
	assert_non_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, RT_SLOT_VERSION));
	free(f);
}

/* A damaged record (running without an ARN) is looked up by name. */
static void test_resume_running_without_arn(void **state)
{
	struct fx *f = st_importing_running();
	struct rt_event ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);

	(void)state;
	rf_feed(f, &ev);
	f->run.slots[1].arn[0] = '\0';
	assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_IMPORT, 0));
	assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, 1));
	free(f);
}

static void test_finished_carries_reason(void **state)
{
	struct fx *f = at_training_running(false);

	(void)state;
	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, NULL, "CREATE FAILED"), 0);
	assert_string_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->text, f->run.reason);
	assert_non_null(strstr(f->run.reason, "nothing deployed"));
	assert_int_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->outcome, RT_OUT_FAILED);
	free(f);
}

static void test_find_first_start(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	(void)state;
	f->spec = rf_mkspec(2, true);
	f->now = T0;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, true, &f->out), 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, 0));
	assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, 1));
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, ANY));
	free(f);
}

/* ---- names ------------------------------------------------------------- */

static bool valid_name(const char *s)
{
	size_t i;

	if (!s[0] || strlen(s) > RT_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static void test_job_names(void **state)
{
	const struct {
		const char *pipeline, *suffix, *want;
	} cases[] = {
		{ "shop", "train", "shop-20261118T1107-train" },
		{ "shop", "import-Interactions", "shop-20261118T1107-import-interactions" },
		{ "a", "import-Action_Interactions", "a-20261118T1107-import-action_interactions" },
		{ "shop.recs", "train", NULL },  /* sanitised + hashed */
		{ "_x", "train", NULL },
		{ "a-very-long-pipeline-name-that-goes-on-and-on-and-on-forever", "import-Action_Interactions", NULL },
		{ "a-very-long-pipeline-name-that-goes-on-and-on-and-on-forever-2", "import-Action_Interactions", NULL },
		{ "ünïcödé", "train", NULL },
	};
	char a[RT_NAME_MAX + 1], b[RT_NAME_MAX + 1], small[10];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(rt_job_name(cases[i].pipeline, T0, cases[i].suffix,
					     a, sizeof(a)), 0);
		assert_true(valid_name(a));
		if (cases[i].want)
			assert_string_equal(a, cases[i].want);
		/* deterministic, and a fire time a few seconds off names the same */
		assert_int_equal(rt_job_name(cases[i].pipeline, T0 + 25,
					     cases[i].suffix, b, sizeof(b)), 0);
		assert_string_equal(a, b);
		assert_int_equal(rt_job_name(cases[i].pipeline, T0 - 29,
					     cases[i].suffix, b, sizeof(b)), 0);
		assert_string_equal(a, b);
		assert_int_equal(rt_job_name(cases[i].pipeline, T0 + 60,
					     cases[i].suffix, b, sizeof(b)), 0);
		assert_string_not_equal(a, b);
	}
	/* long names differing only at the end stay different */
	rt_job_name(cases[5].pipeline, T0, "train", a, sizeof(a));
	rt_job_name(cases[6].pipeline, T0, "train", b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_true(strlen(a) <= RT_NAME_MAX);
	rt_job_name("shop.recs", T0, "train", a, sizeof(a));
	rt_job_name("shop-recs", T0, "train", b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_int_equal(rt_job_name("", T0, "train", a, sizeof(a)), -EINVAL);
	assert_int_equal(rt_job_name(NULL, T0, "train", a, sizeof(a)), -EINVAL);
	assert_int_equal(rt_job_name("x", T0, "train", small, sizeof(small)), -EINVAL);
}

static void test_fire_normalize(void **state)
{
	(void)state;
	assert_int_equal(rt_fire_normalize(T0), T0);
	assert_int_equal(rt_fire_normalize(T0 + 29), T0);
	assert_int_equal(rt_fire_normalize(T0 + 30), T0 + 60);
	assert_int_equal(rt_fire_normalize(T0 - 1), T0);
	assert_int_equal(rt_fire_normalize(T0 - 30), T0);
	assert_int_equal(rt_fire_normalize(T0 - 31), T0 - 60);
	assert_int_equal(rt_fire_normalize(-1), 0);
}

static void test_names_roundtrip(void **state)
{
	enum rt_stage st;
	enum rt_outcome o;
	enum rt_phase p;
	int i;

	(void)state;
	for (i = RT_STAGE_IDLE; i <= RT_STAGE_DONE; i++) {
		assert_int_equal(rt_stage_parse(rt_stage_name((enum rt_stage)i), &st), 0);
		assert_int_equal(st, i);
	}
	for (i = RT_OUT_NONE; i <= RT_OUT_UNREACHABLE; i++) {
		assert_int_equal(rt_outcome_parse(rt_outcome_name((enum rt_outcome)i), &o), 0);
		assert_int_equal(o, i);
	}
	for (i = RT_PH_UNUSED; i <= RT_PH_FAILED; i++) {
		assert_int_equal(rt_phase_parse(rt_phase_name((enum rt_phase)i), &p), 0);
		assert_int_equal(p, i);
	}
	assert_int_equal(rt_stage_parse("nope", &st), -EINVAL);
	assert_string_equal(rt_stage_name((enum rt_stage)99), "?");
	assert_string_equal(rt_op_name(RT_OP_UPDATE_CAMPAIGN), "UpdateCampaign");
}

/* ---- a run that stops polling keeps its jobs --------------------------- */

__attribute__((noinline)) static const struct rt_action *
log_with(const struct rt_actions *o, const char *needle)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == RT_ACT_LOG && strstr(o->a[i].text, needle))
			return &o->a[i];
	return NULL;
}

/* A DescribeSolutionVersion refused (expired credentials) mid-training:
 * the version is kept by ARN; the next run resumes it with a describe,
 * never a create, and goes on to deploy it. */
static void test_kept_version_resumed(void **state)
{
	struct fx *f = at_training_running(true);
	struct rt_event ev;
	const struct rt_action *l;

	(void)state;
	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_VERSION);
	ev.result = RT_RES_INVALID;
	ev.error = "The security token included in the request is expired";
	ev.error_code = "ExpiredTokenException";
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_kept(f, RT_OUT_FAILED, "rejected (ExpiredToken)");
	assert_int_equal(f->run.stage, RT_STAGE_TRAINING);
	l = log_with(&f->out, "kept for the next run to adopt");
	assert_non_null(l);
	assert_string_equal(l->job_arn, VERSION_ARN);
	assert_non_null(strstr(l->text, VERSION_ARN));
	/* one line per job in flight: only the version here */
	assert_int_equal(rf_count(&f->out, RT_ACT_LOG, RT_SLOT_VERSION), 1);
	/* a poll or a fire for the frozen run: stale / ignored */
	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), -ESTALE);

	f->now += 3600;
	assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
	assert_false(f->run.stopped);
	assert_string_equal(f->run.reason, "");
	assert_true(rf_log_has(&f->out, "it had stopped polling: DescribeSolutionVersion"));
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION, RT_SLOT_VERSION));
	assert_string_equal(rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION,
				    RT_SLOT_VERSION)->call.arn, VERSION_ARN);
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, ANY));
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, ANY));
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, NULL, "ACTIVE"), 0);
	assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	free(f);
}

/* The service stays unreachable while the imports' creates have unknown
 * outcomes: kept; the next run looks every one up by name before it
 * creates anything (the same names: never a second job beside one). */
static void test_kept_imports_found_before_create(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t i;

	(void)state;
	f->spec = rf_mkspec(3, true);
	f->spec.max_consecutive_errors = 3;
	f->now = T0;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, false, &f->out), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(rf_reply(f, (int)i, RT_RES_UNKNOWN, NULL, NULL), 0);
	assert_kept(f, RT_OUT_UNREACHABLE, "unreachable: 3 failures in a row");
	assert_int_equal(rf_count(&f->out, RT_ACT_LOG, ANY), 1 + 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->run.slots[i].phase, i < 2 ? RT_PH_FINDING
								 : RT_PH_CREATING);
		assert_non_null(log_with(&f->out, f->run.slots[i].name));
	}
	/* saved and loaded again: the volatile fields are gone */
	for (i = 0; i < RT_NSLOTS; i++)
		f->run.slots[i].uncertain = false;
	f->now += 600;
	assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
	for (i = 0; i < 3; i++)
		assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, (int)i));
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, ANY));
	/* still unreachable: kept again, not ended (the finds may follow
	 * creates that went through) */
	for (i = 0; i < 3; i++)
		assert_int_equal(rf_reply(f, (int)i, RT_RES_TRANSIENT, NULL, NULL), 0);
	assert_kept(f, RT_OUT_UNREACHABLE, "unreachable");
	free(f);
}

/* A kept run found past its MaxRunDuration is not resumed: it ends failed
 * at once, naming why it had stopped and, in the log, the jobs it leaves
 * to themselves at AWS; nothing is called. */
static void test_kept_past_deadline_dropped(void **state)
{
	struct fx *f = rf_new(2, true);
	struct rt_event ev;
	const struct rt_action *l;

	(void)state;
	imports_created(f);
	assert_int_equal(rf_poll_due(f, 0), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, 0);
	ev.result = RT_RES_INVALID;
	ev.error = "User is not authorized";
	ev.error_code = "AccessDeniedException";
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_kept(f, RT_OUT_FAILED, "AccessDenied");
	assert_int_equal(rf_count(&f->out, RT_ACT_LOG, 0), 1);
	assert_int_equal(rf_count(&f->out, RT_ACT_LOG, 1), 1);

	assert_int_equal(rt_resume(&f->run, T0 + 5 + MAXRUN_S, &f->out), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "MaxRunDuration"));
	assert_non_null(strstr(f->run.reason, "it had stopped polling: DescribeDatasetImportJob"));
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
	assert_int_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->outcome, RT_OUT_FAILED);
	assert_true(rf_log_has(&f->out, "not resuming the run"));
	l = log_with(&f->out, "left to itself at AWS");
	assert_non_null(l);
	assert_string_equal(l->job_arn, job_arn(0));
	assert_int_equal(l->priority, LOG_WARNING);
	assert_non_null(log_with(&f->out, job_arn(1)));
	free(f);
}

/* Nothing of ours runs (a refused DescribeCampaign before our update, a
 * refused find after a lost state): the run ends as it always did. */
static void test_giveup_needs_jobs_in_flight(void **state)
{
	struct fx *f = at_deploying();

	(void)state;
	assert_int_equal(campaign_reply(f, RT_RES_INVALID, NULL, NULL, NULL), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_false(rf_log_has(&f->out, "stopped polling"));
	free(f);

	f = calloc(1, sizeof(*f));
	f->spec = rf_mkspec(1, false);
	f->now = T0;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, true, &f->out), 0);
	assert_int_equal(rf_reply(f, 0, RT_RES_INVALID, NULL, NULL), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	free(f);
}

/* Creates that never left (no credentials) make no job in flight: when
 * the look-ups are then refused the run fails, it is not kept. The same
 * creates with an unknown outcome keep it. */
static void test_not_sent_creates_not_kept(void **state)
{
	struct fx *f;
	size_t i;
	int sent;

	(void)state;
	for (sent = 0; sent < 2; sent++) {
		f = calloc(1, sizeof(*f));
		f->spec = rf_mkspec(3, false);
		f->now = T0;
		assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, false, &f->out), 0);
		for (i = 0; i < 3; i++) {
			struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, (int)i);

			assert_int_equal(f->run.slots[i].phase, RT_PH_CREATING);
			ev.result = RT_RES_TRANSIENT;
			ev.error = "no credentials";
			ev.not_sent = !sent;
			assert_int_equal(rf_feed(f, &ev), 0);
			assert_int_equal(f->run.slots[i].phase, RT_PH_FINDING);
		}
		f->now += 60;
		for (i = 0; i < 3; i++)
			assert_int_equal(rf_poll_due(f, (int)i), 0);
		assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, ANY));
		assert_int_equal(rf_reply(f, 0, RT_RES_INVALID, NULL, NULL), 0);
		if (sent) {
			assert_false(rt_done(&f->run));
			assert_true(rf_log_has(&f->out, "stopped polling"));
		} else {
			assert_false(rf_log_has(&f->out, "stopped polling"));
			for (i = 1; i < 3; i++)
				(void)rf_reply(f, (int)i, RT_RES_INVALID, NULL, NULL);
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_FAILED);
		}
		free(f);
	}
}

/* ---- randomized property test ------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

struct pending {
	enum rt_event_kind kind;
	int slot;
	uint32_t token;
	enum rt_op op;
};

struct model {
	struct pending p[64];
	size_t np;
	/* per slot: a create was sent and no "not found" find answer since */
	bool create_blocked[RT_NSLOTS];
	bool version_active_seen;
	bool import_failed_seen;
	bool finished;
	size_t finished_count;
	/* FINISHED without rt_done: gave up with jobs in flight, kept (the
	 * driver resumes it later, like the next run adopting it) */
	bool kept;
	size_t kept_count;
	/* for the gate and skip checks */
	bool update_sent;       /* an UpdateCampaign was ever issued */
	bool create_sent;       /* a CreateDatasetImportJob/SolutionVersion */
	bool batch_sent;        /* a CreateBatch*Job was ever issued */
};

static bool is_batch_create(enum rt_op op)
{
	return op == RT_OP_CREATE_BATCH_INFERENCE ||
	       op == RT_OP_CREATE_BATCH_SEGMENT;
}

static bool is_batch_op(enum rt_op op)
{
	return op >= RT_OP_CREATE_BATCH_INFERENCE &&
	       op <= RT_OP_FIND_BATCH_SEGMENT;
}

static const char *const statuses[] = {
	"CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE", "ACTIVE", "ACTIVE",
	"ACTIVE", "CREATE IN_PROGRESS", "ACTIVE", "ACTIVE", "ACTIVE",
	"CREATE FAILED", NULL,
};
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* UpdateCampaign of a retraining run goes out only on a look at the
 * campaign younger than a minute that shows no update to another version
 * made after ours was created (when both times are known). */
static void check_precheck(const struct fx *f)
{
	const struct rt_run *run = &f->run;

	assert_true(run->camp_seen_at > 0);
	assert_true(f->now >= run->camp_seen_at);
	assert_true(f->now - run->camp_seen_at < RT_PRECHECK_REUSE_S);
	if (run->version_created > 0 && run->camp_seen_update_at > 0 &&
	    run->camp_seen_update[0] && strcmp(run->camp_seen_update, VERSION_ARN) &&
	    run->camp_seen_update_at > run->version_created) {
		/* a newer update only when it failed, the version still
		 * served then not trained after ours (or its time unknown) */
		assert_non_null(strstr(run->slots[RT_SLOT_CAMPAIGN].status,
				       "FAILED"));
		assert_true(run->serving_created <= run->version_created);
	}
}

static void check_batch(struct fx *f, struct model *m)
{
	size_t i;
	bool saved = false, durable = false;

	assert_true(f->out.n < RT_MAX_ACTIONS);
	for (i = 0; i < f->out.n; i++) {
		const struct rt_action *a = &f->out.a[i];

		if (a->kind == RT_ACT_SAVE) {
			saved = true;
			durable = durable || a->durable;
		}
		if (a->kind == RT_ACT_FINISHED && !rt_done(&f->run)) {
			/* gave up: frozen, saved durably first, the last
			 * action; nothing called or polled in this batch */
			assert_true(f->run.stopped);
			assert_int_equal(f->run.outcome, RT_OUT_NONE);
			assert_true(a->outcome == RT_OUT_FAILED ||
				    a->outcome == RT_OUT_UNREACHABLE);
			assert_true(f->run.reason[0] != '\0');
			assert_true(durable);
			assert_int_equal(i, f->out.n - 1);
			assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
			assert_int_equal(rf_count(&f->out, RT_ACT_TIMER, ANY), 0);
			m->kept = true;
			m->kept_count++;
			continue;
		}
		if (a->kind == RT_ACT_FINISHED) {
			m->finished = true;
			m->finished_count++;
			assert_true(rt_done(&f->run));
		}
		if (a->kind == RT_ACT_LOG || a->kind == RT_ACT_STATUS)
			assert_true(strlen(a->text) < RT_TEXT_MAX);
		if (a->kind == RT_ACT_TIMER) {
			assert_true(a->delay_ms >= 1);
			assert_true(a->delay_ms <= f->run.poll_interval_s * 1000u);
		}
		if (a->kind != RT_ACT_CALL && a->kind != RT_ACT_TIMER)
			continue;
		assert_false(m->finished);
		if (a->kind == RT_ACT_CALL) {
			enum rt_op op = a->call.op;

			if (op == RT_OP_CREATE_IMPORT || op == RT_OP_CREATE_VERSION ||
			    op == RT_OP_UPDATE_CAMPAIGN || is_batch_create(op)) {
				/* no duplicate without an adopt-check */
				assert_false(m->create_blocked[a->slot]);
				m->create_blocked[a->slot] = true;
				assert_true(saved); /* intent before create */
			}
			if (op == RT_OP_CREATE_VERSION)
				assert_false(m->import_failed_seen);
			if (op == RT_OP_CREATE_IMPORT || op == RT_OP_CREATE_VERSION)
				m->create_sent = true;
			/* HEADs only while checking, and an unchanged dataset is
			 * never imported again */
			if (op == RT_OP_HEAD_OBJECT)
				assert_int_equal(f->run.stage, RT_STAGE_CHECKING);
			if (op == RT_OP_CREATE_IMPORT || op == RT_OP_FIND_IMPORT)
				assert_false(f->run.datasets[a->slot].unchanged);
			/* the batch job: its own kind's operations, in its
			 * stage, only of a version that is ACTIVE, passed
			 * the gate and (with a campaign) is deployed */
			if (is_batch_op(op)) {
				assert_int_equal(a->slot, RT_SLOT_BATCH);
				assert_int_equal(f->run.stage, RT_STAGE_BATCH);
				assert_true((op >= RT_OP_CREATE_BATCH_SEGMENT) ==
					    (f->run.batch_kind == RT_BATCH_SEGMENT));
				assert_int_equal(f->run.slots[RT_SLOT_VERSION].phase,
						 RT_PH_ACTIVE);
				assert_string_equal(a->call.version_arn, VERSION_ARN);
				if (f->run.campaign_arn[0])
					assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase,
							 RT_PH_ACTIVE);
				if (f->run.gate.enabled)
					assert_int_equal(f->run.slots[RT_SLOT_GATE].phase,
							 RT_PH_ACTIVE);
			}
			if (is_batch_create(op))
				m->batch_sent = true;
			if (op == RT_OP_GET_METRICS) {
				assert_int_equal(f->run.stage, RT_STAGE_GATING);
				assert_int_equal(a->slot, RT_SLOT_GATE);
			}
			if (op == RT_OP_UPDATE_CAMPAIGN) {
				assert_true(m->version_active_seen);
				assert_int_equal(f->run.slots[RT_SLOT_VERSION].phase,
						 RT_PH_ACTIVE);
				assert_string_equal(a->call.version_arn, VERSION_ARN);
				if (f->run.kind == RT_KIND_RETRAIN)
					check_precheck(f);
				/* never deploy without the gate's PASS */
				if (f->run.gate.enabled)
					assert_int_equal(f->run.slots[RT_SLOT_GATE].phase,
							 RT_PH_ACTIVE);
				m->update_sent = true;
			}
		}
		assert_true(m->np < sizeof(m->p) / sizeof(m->p[0]));
		m->p[m->np].kind = a->kind == RT_ACT_CALL ? RT_EV_REPLY : RT_EV_POLL_DUE;
		m->p[m->np].slot = a->slot;
		m->p[m->np].token = a->token;
		m->p[m->np].op = a->call.op;
		m->np++;
	}
}

static void random_reply(struct model *m, const struct pending *p,
			 struct rt_event *ev)
{
	uint32_t r = rnd() % 100;

	/* mostly progress, so that runs go deep; every outcome occurs */
	ev->result = r < 70 ? RT_RES_OK
		     : r < 75 ? RT_RES_ALREADY_EXISTS
		     : r < 80 ? RT_RES_IN_USE
		     : r < 88 ? RT_RES_TRANSIENT
		     : r < 96 ? RT_RES_UNKNOWN
		     : r < 98 ? RT_RES_NOT_FOUND : RT_RES_INVALID;
	ev->error = "random";
	switch (p->op) {
	case RT_OP_CREATE_IMPORT:
		ev->arn = "arn:import";
		break;
	case RT_OP_CREATE_VERSION:
		ev->arn = VERSION_ARN;
		break;
	case RT_OP_FIND_IMPORT:
	case RT_OP_FIND_VERSION:
		ev->found = rnd() % 2;
		ev->arn = ev->found ? (p->op == RT_OP_FIND_VERSION ? VERSION_ARN
								    : "arn:import")
				    : NULL;
		ev->status = statuses[rnd() % NSTATUSES];
		ev->other_busy = !ev->found && rnd() % 3 == 0;
		if (ev->result == RT_RES_OK && !ev->found && !ev->other_busy)
			m->create_blocked[p->slot] = false;
		break;
	case RT_OP_CREATE_BATCH_INFERENCE:
	case RT_OP_CREATE_BATCH_SEGMENT:
		ev->arn = "arn:batch";
		break;
	case RT_OP_FIND_BATCH_INFERENCE:
	case RT_OP_FIND_BATCH_SEGMENT:
		ev->found = rnd() % 2;
		ev->arn = ev->found ? "arn:batch" : NULL;
		ev->status = statuses[rnd() % NSTATUSES];
		if (ev->result == RT_RES_OK && !ev->found)
			m->create_blocked[p->slot] = false;
		break;
	case RT_OP_DESCRIBE_BATCH_INFERENCE:
	case RT_OP_DESCRIBE_BATCH_SEGMENT:
	case RT_OP_DESCRIBE_IMPORT:
	case RT_OP_DESCRIBE_VERSION:
		ev->status = statuses[rnd() % NSTATUSES];
		if (p->op == RT_OP_DESCRIBE_VERSION)
			ev->created = rnd() % 4 ? T0 + 300 : 0;
		break;
	case RT_OP_DESCRIBE_CAMPAIGN: {
		const char *vers[] = { VERSION_ARN, OLD_VERSION, OTHER_VERSION, NULL };
		const char *st[] = { "ACTIVE", "UPDATE IN_PROGRESS", "ACTIVE", "UPDATE FAILED", NULL };

		ev->campaign_version_arn = vers[rnd() % 4];
		ev->update_version_arn = rnd() % 2 ? VERSION_ARN : vers[rnd() % 4];
		if (rnd() % 2)
			ev->campaign_version_arn = ev->update_version_arn;
		ev->update_status = st[rnd() % 5];
		/* before or after our version was created (T0 + 300), or
		 * not said */
		ev->update_created = rnd() % 3 ? T0 + (time_t)(rnd() % 600) : 0;
		/* a describe showing no update of ours in flight is the
		 * adopt-check that allows a new UpdateCampaign */
		if (ev->result == RT_RES_OK &&
		    (!ev->update_version_arn ||
		     strcmp(ev->update_version_arn, VERSION_ARN)))
			m->create_blocked[p->slot] = false;
		break;
	}
	case RT_OP_HEAD_OBJECT:
		ev->etag = rnd() % 3 ? "\"e1\"" : rnd() % 2 ? "\"e2\"" : NULL;
		ev->last_modified = rnd() % 4 ? "L1" : "L2";
		break;
	case RT_OP_GET_METRICS: {
		static const struct personalize_metric ms[][2] = {
			{ { "coverage", 0.5 }, { "ndcg", 0.30 } },
			{ { "coverage", 0.5 }, { "ndcg", 0.20 } },
			{ { "coverage", 0.5 }, { "ndcg", 0.31 } },
			{ { "coverage", 0.5 }, { "other", 0.31 } },
		};
		static struct personalize_solution_metrics sm;
		uint32_t w = rnd() % 10;

		sm.solution_version_arn = VERSION_ARN;
		sm.metrics = ms[w < 3 ? w : w < 9 ? 0 : 3];
		sm.n_metrics = 2;
		ev->metrics = rnd() % 8 ? &sm : NULL;
		break;
	}
	default:
		break;
	}
	if (ev->result == RT_RES_OK && ev->status) {
		if (p->op == RT_OP_DESCRIBE_VERSION || p->op == RT_OP_FIND_VERSION) {
			if (!strcmp(ev->status, "ACTIVE") &&
			    (p->op == RT_OP_DESCRIBE_VERSION || ev->found))
				m->version_active_seen = true;
		}
		if ((p->op == RT_OP_DESCRIBE_IMPORT ||
		     (p->op == RT_OP_FIND_IMPORT && ev->found)) &&
		    strstr(ev->status, "FAILED"))
			m->import_failed_seen = true;
	}
}

static void test_property_random_runs(void **state)
{
	unsigned seed;
	size_t total_events = 0, gated_runs = 0, skipped_runs = 0, kept_runs = 0;
	size_t superseded_runs = 0, batch_runs = 0;

	(void)state;
	static const struct gate_config gate = { "ndcg", 0.02, false, 0 };

	/* seeds 1..3000: the default run (no gate, no skip), as always;
	 * 3001..: every mix of the quality gate and skip_unchanged */
	for (seed = 1; seed <= 5000; seed++) {
		struct fx *f = calloc(1, sizeof(*f));
		struct model *m = calloc(1, sizeof(*m));
		int step;

		assert_non_null(f);
		assert_non_null(m);
		rng_state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed * 0x100000001b3ull);
		f->spec = rf_mkspec(1 + rnd() % RT_MAX_DATASETS, rnd() % 4 != 0);
		f->spec.poll_interval_s = 1 + rnd() % 900;
		f->spec.max_consecutive_errors = rnd() % 5 == 0 ? 3 + rnd() % 10 : 0;
		if (seed > 3000) {
			size_t i;

			f->spec.gate = seed % 4 != 2 ? &gate : NULL;
			f->spec.skip_unchanged = seed % 4 >= 2;
			/* a third of them with a batch job after training */
			if (seed % 3 == 0) {
				f->spec.batch_kind = seed % 2 ? RT_BATCH_SEGMENT
							      : RT_BATCH_INFERENCE;
				f->spec.batch_input = "s3://b/in.json";
				f->spec.batch_output = "s3://b/out/";
			}
			for (i = 0; i < f->spec.n_datasets; i++)
				if (rnd() % 2) {
					f->spec.datasets[i].prev_etag = "\"e1\"";
					f->spec.datasets[i].prev_last_modified = "L1";
				}
		}
		f->now = T0;
		assert_int_equal(rt_start(&f->run, &f->spec, T0, T0, rnd() % 5 == 0,
					  &f->out), 0);
		check_batch(f, m);
		for (step = 0; step < 400 && !m->finished; step++) {
			struct rt_event ev;
			uint32_t what = rnd() % 100;
			size_t k;
			struct pending p;

			memset(&ev, 0, sizeof(ev));
			f->now += rnd() % 30;
			ev.now = f->now;
			ev.random = rnd();
			if (what < 3) {
				/* restart: stop, then resume; all in flight lost */
				ev.kind = RT_EV_STOP;
				assert_int_equal(rt_step(&f->run, &ev, &f->out), 0);
				assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
				m->np = 0;
				assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
				check_batch(f, m);
				continue;
			}
			if (what < 5) {
				ev.kind = RT_EV_FIRE;
				ev.fire_time = f->now;
				assert_int_equal(rt_step(&f->run, &ev, &f->out), 0);
				assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
				continue;
			}
			if (m->np == 0)
				break; /* nothing awaited: must be finished */
			k = rnd() % m->np;
			p = m->p[k];
			m->p[k] = m->p[--m->np];
			ev.kind = p.kind;
			ev.slot = p.slot;
			ev.token = p.token;
			if (what < 8)
				ev.token++; /* a stale one */
			else if (p.kind == RT_EV_REPLY)
				random_reply(m, &p, &ev);
			f->rc = rt_step(&f->run, &ev, &f->out);
			total_events++;
			if (what < 8) {
				assert_int_equal(f->rc, -ESTALE);
				m->p[m->np++] = p; /* still pending */
				continue;
			}
			assert_int_equal(f->rc, 0);
			check_batch(f, m);
			if (m->kept) {
				/* kept: everything in flight is stale; the
				 * next run resumes it, and creates nothing
				 * without a find first (create_blocked) */
				size_t j;

				for (j = 0; j < m->np; j++) {
					memset(&ev, 0, sizeof(ev));
					ev.kind = m->p[j].kind;
					ev.slot = m->p[j].slot;
					ev.token = m->p[j].token;
					ev.now = f->now;
					assert_int_equal(rt_step(&f->run, &ev, &f->out),
							 -ESTALE);
				}
				m->np = 0;
				m->kept = false;
				f->now += rnd() % 600;
				assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
				assert_true(f->run.reason[0] == '\0' || rt_done(&f->run));
				check_batch(f, m);
			}
		}
		if (!m->finished) {
			struct rt_event ev;

			/* nothing pending means the machine has stalled: only
			 * allowed when finished */
			assert_true(m->np > 0);
			memset(&ev, 0, sizeof(ev));
			ev.kind = RT_EV_DEADLINE;
			ev.now = f->now;
			assert_int_equal(rt_step(&f->run, &ev, &f->out), 0);
			check_batch(f, m);
			assert_true(m->finished);
		}
		assert_int_equal(m->finished_count, 1);
		kept_runs += m->kept_count;
		assert_true(rt_done(&f->run));
		assert_true(f->run.outcome != RT_OUT_NONE);
		if (f->run.outcome == RT_OUT_SUCCEEDED) {
			assert_int_equal(f->run.slots[RT_SLOT_VERSION].phase, RT_PH_ACTIVE);
			if (f->spec.campaign_arn[0])
				assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase,
						 RT_PH_ACTIVE);
			if (f->spec.gate)
				assert_int_equal(f->run.slots[RT_SLOT_GATE].phase,
						 RT_PH_ACTIVE);
			if (f->spec.batch_kind != RT_BATCH_NONE) {
				assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase,
						 RT_PH_ACTIVE);
				assert_string_equal(rt_batch_output(&f->run),
						    "s3://b/out/");
				batch_runs++;
			}
		}
		if (f->spec.batch_kind == RT_BATCH_NONE)
			assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase, RT_PH_UNUSED);
		/* gated, or the gate could not judge: nothing deployed, no
		 * batch job */
		if (f->run.outcome == RT_OUT_GATED ||
		    f->run.slots[RT_SLOT_GATE].phase == RT_PH_FAILED) {
			assert_false(m->update_sent);
			assert_false(m->batch_sent);
		}
		if (f->run.outcome == RT_OUT_GATED)
			gated_runs++;
		/* skipped as superseded: the deploy's pre-check */
		if (f->run.outcome == RT_OUT_SKIPPED &&
		    f->run.slots[RT_SLOT_CAMPAIGN].phase == RT_PH_FAILED) {
			assert_non_null(strstr(f->run.reason, "superseded, not deployed"));
			assert_false(m->batch_sent);
			superseded_runs++;
		/* skipped: nothing imported, nothing trained */
		} else if (f->run.outcome == RT_OUT_SKIPPED) {
			assert_true(f->spec.skip_unchanged);
			assert_false(m->create_sent);
			skipped_runs++;
		}
		if (!f->spec.gate)
			assert_int_equal(f->run.slots[RT_SLOT_GATE].phase, RT_PH_UNUSED);
		/* terminal: everything afterwards is stale */
		while (m->np > 0) {
			struct rt_event ev;
			struct pending p = m->p[--m->np];

			memset(&ev, 0, sizeof(ev));
			ev.kind = p.kind;
			ev.slot = p.slot;
			ev.token = p.token;
			ev.now = f->now;
			assert_int_equal(rt_step(&f->run, &ev, &f->out), -ESTALE);
			assert_int_equal(f->out.n, 0);
		}
		free(f);
		free(m);
	}
	assert_true(total_events > 10000);
	assert_true(kept_runs > 50);
	assert_true(gated_runs > 10);
	assert_true(skipped_runs > 10);
	assert_true(superseded_runs > 10);
	assert_true(batch_runs > 10);
}

/* A folder dataset with SkipUnchangedData: the driver hands in its
 * listing's digest as the ETag, with no Last-Modified; the digest alone
 * decides. */
static void test_skip_folder_digest(void **state)
{
	static const char *const digests[] = {
		"sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"sha256:2222222222222222222222222222222222222222222222222222222222222222",
	};

	(void)state;
	for (int changed = 0; changed < 2; changed++) {
		struct fx *f = calloc(1, sizeof(*f));
		struct rt_event ev;
		const struct rt_action *a;

		assert_non_null(f);
		f->spec = rf_mkspec(1, false);
		f->spec.datasets[0].s3_path = "s3://bucket/interactions/";
		f->spec.skip_unchanged = true;
		f->spec.datasets[0].prev_etag = digests[0];
		f->spec.datasets[0].prev_last_modified = NULL;
		f->now = T0 + 5;
		assert_int_equal(rt_start(&f->run, &f->spec, T0, f->now, false, &f->out), 0);
		assert_int_equal(f->run.stage, RT_STAGE_CHECKING);
		a = rf_call_op(&f->out, RT_OP_HEAD_OBJECT, 0);
		assert_non_null(a);
		assert_string_equal(a->call.s3_path, "s3://bucket/interactions/");
		ev = rf_ev_for(f, RT_EV_REPLY, 0);
		ev.result = RT_RES_OK;
		ev.etag = digests[changed];
		ev.last_modified = "";
		assert_int_equal(rf_feed(f, &ev), 0);
		assert_true(rf_log_has(&f->out, digests[changed]));
		assert_true(rf_log_has(&f->out, "(listing sha256:"));
		assert_int_equal(f->run.datasets[0].unchanged, !changed);
		assert_string_equal(f->run.datasets[0].etag, digests[changed]);
		assert_string_equal(f->run.datasets[0].last_modified, "");
		if (!changed) {
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_SKIPPED);
			assert_string_equal(f->run.reason, "skipped: no new data");
			assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, ANY));
		} else {
			assert_int_equal(f->run.stage, RT_STAGE_IMPORTING);
			a = rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 0);
			assert_non_null(a);
			assert_string_equal(a->call.s3_path, "s3://bucket/interactions/");
			assert_true(rf_log_has(&f->out, "changed: importing it"));
		}
		free(f);
	}
}

/* A listing that fails imports the folder anyway, naming ListObjectsV2. */
static void test_skip_folder_list_fails(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rt_event ev;

	(void)state;
	assert_non_null(f);
	f->spec = rf_mkspec(1, false);
	f->spec.datasets[0].s3_path = "s3://bucket/interactions/";
	f->spec.skip_unchanged = true;
	f->spec.datasets[0].prev_etag =
		"sha256:1111111111111111111111111111111111111111111111111111111111111111";
	f->now = T0 + 5;
	assert_int_equal(rt_start(&f->run, &f->spec, T0, f->now, false, &f->out), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, 0);
	ev.result = RT_RES_INVALID;
	ev.error = "access denied to s3:ListBucket";
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_true(rf_log_has(&f->out, "ListObjectsV2 of s3://bucket/interactions/"));
	assert_true(rf_log_has(&f->out, "importing it anyway"));
	assert_int_equal(f->run.stage, RT_STAGE_IMPORTING);
	assert_non_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 0));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_creates_all_imports_after_intent),
		cmocka_unit_test(test_start_rejects_bad_specs),
		cmocka_unit_test(test_modes_reach_the_calls),
		cmocka_unit_test(test_happy_paths),
		cmocka_unit_test(test_status_lines),
		cmocka_unit_test(test_create_outcomes),
		cmocka_unit_test(test_reject_keeps_code),
		cmocka_unit_test(test_find_outcomes),
		cmocka_unit_test(test_taken_name),
		cmocka_unit_test(test_in_use_backoff),
		cmocka_unit_test(test_describe_outcomes),
		cmocka_unit_test(test_describe_not_found_tolerance),
		cmocka_unit_test(test_retry_logged_with_request_id),
		cmocka_unit_test(test_one_import_fails_no_training),
		cmocka_unit_test(test_campaign_describe),
		cmocka_unit_test(test_campaign_superseded),
		cmocka_unit_test(test_precheck_decides_on_the_deploy_describe),
		cmocka_unit_test(test_precheck_newer_update_failed),
		cmocka_unit_test(test_precheck_update_in_progress),
		cmocka_unit_test(test_precheck_version_time_unknown),
		cmocka_unit_test(test_precheck_lookup_failures),
		cmocka_unit_test(test_precheck_reuse_window),
		cmocka_unit_test(test_precheck_describe_again_outcomes),
		cmocka_unit_test(test_precheck_lookup_stopped_and_resumed),
		cmocka_unit_test(test_precheck_not_for_rollback),
		cmocka_unit_test(test_campaign_unknown_then_adopt),
		cmocka_unit_test(test_deadline_every_stage),
		cmocka_unit_test(test_deadline_after_errors_is_unreachable),
		cmocka_unit_test(test_save_durability),
		cmocka_unit_test(test_update_intent_flushed),
		cmocka_unit_test(test_backoff_rule),
		cmocka_unit_test(test_stop_every_stage),
		cmocka_unit_test(test_fire_during_run_is_skipped),
		cmocka_unit_test(test_stale_events),
		cmocka_unit_test(test_unreachable_after_max_errors),
		cmocka_unit_test(test_poll_backoff_with_jitter),
		cmocka_unit_test(test_resume_every_stage),
		cmocka_unit_test(test_resume_finishes_dead_and_past_deadline),
		cmocka_unit_test(test_resume_advances),
		cmocka_unit_test(test_resume_running_without_arn),
		cmocka_unit_test(test_finished_carries_reason),
		cmocka_unit_test(test_find_first_start),
		cmocka_unit_test(test_job_names),
		cmocka_unit_test(test_fire_normalize),
		cmocka_unit_test(test_names_roundtrip),
		cmocka_unit_test(test_kept_version_resumed),
		cmocka_unit_test(test_kept_imports_found_before_create),
		cmocka_unit_test(test_kept_past_deadline_dropped),
		cmocka_unit_test(test_giveup_needs_jobs_in_flight),
		cmocka_unit_test(test_not_sent_creates_not_kept),
		cmocka_unit_test(test_property_random_runs),
		cmocka_unit_test(test_skip_folder_digest),
		cmocka_unit_test(test_skip_folder_list_fails),
	};

	return cmocka_run_group_tests_name("retrain", tests, NULL, NULL);
}
