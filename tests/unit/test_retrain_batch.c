/* test_retrain_batch.c - the run state machine's batch stage: the batch
 * inference or segment job after the deploy (or after training when there
 * is no campaign), its intent, its failure, adoption after a restart and
 * through the state file, and the runs that never get one (gated,
 * superseded, rollback). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate.h"
#include "personalize.h"
#include "retrain.h"
#include "retrain_fixture.h"
#include "state.h"

#define BATCH_IN "s3://bucket/batch/users.json"
#define BATCH_OUT "s3://bucket/batch/out/"
#define BATCH_ROLE "arn:aws:iam::123456789012:role/Batch"
#define FILTER "arn:aws:personalize:us-east-1:123456789012:filter/f"
#define BATCH_ARN "arn:aws:personalize:us-east-1:123456789012:batch-inference-job/b"
#define IMPORT_ARN "arn:aws:personalize:us-east-1:123456789012:dataset-import-job/j"

static void with_batch(struct fx *f, enum rt_batch_kind kind)
{
	f->spec.batch_kind = kind;
	f->spec.batch_input = BATCH_IN;
	f->spec.batch_output = BATCH_OUT;
	f->spec.batch_role_arn = BATCH_ROLE;
	f->spec.batch_num_results = 50;
	f->spec.batch_filter_arn = FILTER;
}

static struct fx *new_batch(bool campaign, enum rt_batch_kind kind)
{
	struct fx *f = rf_alloc(1, campaign);

	with_batch(f, kind);
	rf_start(f);
	return f;
}

/* From the start to the version ACTIVE (one dataset). */
static void train(struct fx *f)
{
	assert_int_equal(rf_reply(f, 0, RT_RES_OK, IMPORT_ARN, NULL), 0);
	assert_int_equal(rf_poll_due(f, 0), 0);
	assert_int_equal(rf_reply(f, 0, RT_RES_OK, NULL, "ACTIVE"), 0);
	assert_int_equal(f->run.stage, RT_STAGE_TRAINING);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, VERSION_ARN,
				  NULL), 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, NULL, "ACTIVE"),
			 0);
}

/* From the version ACTIVE to the campaign serving it. */
static void deploy(struct fx *f)
{
	assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OLD_VERSION, "ACTIVE", 0),
			 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN,
				   RT_SLOT_CAMPAIGN));
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE, ANY));
	assert_int_equal(rf_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK, NULL, NULL), 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
	assert_int_equal(rf_campaign_ok(f, VERSION_ARN, VERSION_ARN, "ACTIVE", 0),
			 0);
}

/* The batch create was just issued, after a durable intent save that
 * already says "creating". */
static void assert_batch_create(struct fx *f, enum rt_op op)
{
	const struct rt_action *save = rf_act(&f->out, RT_ACT_SAVE, ANY);
	const struct rt_action *a = rf_call_op(&f->out, op, RT_SLOT_BATCH);

	assert_int_equal(f->run.stage, RT_STAGE_BATCH);
	assert_non_null(a);
	assert_non_null(save);
	assert_true(save < a);
	assert_true(save->durable);
	assert_true(save->intent);
	assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase, RT_PH_CREATING);
	assert_string_equal(a->call.name, "shop-recs-20261118T1107-batch");
	assert_string_equal(a->call.version_arn, VERSION_ARN);
	assert_string_equal(a->call.s3_path, BATCH_IN);
	assert_string_equal(a->call.batch_output, BATCH_OUT);
	assert_string_equal(a->call.role_arn, BATCH_ROLE);
	assert_string_equal(a->call.filter_arn, FILTER);
	assert_int_equal(a->call.num_results, 50);
	assert_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
}

/* Created, polled, ACTIVE: the run succeeds with the output location. */
static void batch_active(struct fx *f, enum rt_op describe)
{
	assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK, BATCH_ARN, NULL),
			 0);
	assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase, RT_PH_RUNNING);
	assert_true(rf_log_has(&f->out, "batch "));
	assert_int_equal(rf_poll_due(f, RT_SLOT_BATCH), 0);
	assert_non_null(rf_call_op(&f->out, describe, RT_SLOT_BATCH));
	assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK, NULL,
				  "IN PROGRESS"), 0);
	assert_non_null(rf_act(&f->out, RT_ACT_TIMER, RT_SLOT_BATCH));
	assert_null(rt_batch_output(&f->run));
	assert_int_equal(rf_poll_due(f, RT_SLOT_BATCH), 0);
	assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK, NULL, "ACTIVE"),
			 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
	assert_non_null(strstr(f->run.reason, BATCH_OUT));
	assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
	assert_non_null(rt_batch_output(&f->run));
	assert_string_equal(rt_batch_output(&f->run), BATCH_OUT);
}

/* The batch job created and polled; its describe answers r with status
 * (and failure reason), or the error code and message. */
static void describe_batch(struct fx *f, enum rt_result r, const char *status,
			   const char *failure, const char *code)
{
	struct rt_event ev;

	assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK, BATCH_ARN, NULL),
			 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_BATCH), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_BATCH);
	ev.result = r;
	ev.status = status;
	ev.failure_reason = failure;
	ev.error_code = code;
	ev.error = code ? "not allowed" : NULL;
	assert_int_equal(rf_feed(f, &ev), 0);
}

static void test_campaign_then_batch(void **state)
{
	struct fx *f = new_batch(true, RT_BATCH_INFERENCE);
	char line[RT_TEXT_MAX];

	(void)state;
	assert_true(rf_log_has(&f->out, "then a batch inference job to " BATCH_OUT));
	train(f);
	deploy(f);
	assert_batch_create(f, RT_OP_CREATE_BATCH_INFERENCE);
	rt_status_line(&f->run, line, sizeof(line));
	assert_non_null(strstr(line, "batch inference job"));
	assert_non_null(strstr(line, BATCH_OUT));
	batch_active(f, RT_OP_DESCRIBE_BATCH_INFERENCE);
	assert_non_null(strstr(f->run.reason, "deployed"));
	free(f);
}

static void test_batch_without_campaign(void **state)
{
	struct fx *f = new_batch(false, RT_BATCH_INFERENCE);

	(void)state;
	train(f);
	assert_batch_create(f, RT_OP_CREATE_BATCH_INFERENCE);
	assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase, RT_PH_UNUSED);
	batch_active(f, RT_OP_DESCRIBE_BATCH_INFERENCE);
	assert_non_null(strstr(f->run.reason, "trained"));
	free(f);
}

static void test_segment_ops(void **state)
{
	struct fx *f = new_batch(false, RT_BATCH_SEGMENT);
	struct rt_actions out;
	struct rt_run copy;

	(void)state;
	train(f);
	assert_batch_create(f, RT_OP_CREATE_BATCH_SEGMENT);
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE, ANY));
	/* resumed: the segment job is looked up with ListBatchSegmentJobs */
	copy = f->run;
	assert_int_equal(rt_resume(&copy, f->now, &out), 0);
	assert_non_null(rf_call_op(&out, RT_OP_FIND_BATCH_SEGMENT, RT_SLOT_BATCH));
	batch_active(f, RT_OP_DESCRIBE_BATCH_SEGMENT);
	assert_non_null(strstr(f->run.reason, "batch segment job"));
	free(f);
}

static void test_no_batch_without_kind(void **state)
{
	struct fx *f = rf_new(1, false);

	(void)state;
	train(f);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
	assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase, RT_PH_UNUSED);
	assert_null(rt_batch_output(&f->run));
	free(f);
}

static void test_batch_failed_fails_run(void **state)
{
	struct fx *f = new_batch(true, RT_BATCH_INFERENCE);

	(void)state;
	train(f);
	deploy(f);
	describe_batch(f, RT_RES_OK, "CREATE FAILED",
		       "Input file has no valid records", NULL);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "Input file has no valid records"));
	assert_non_null(strstr(f->run.reason, "shop-recs-20261118T1107-batch"));
	assert_null(rt_batch_output(&f->run));
	free(f);
}

static void test_batch_create_rejected(void **state)
{
	struct fx *f = new_batch(false, RT_BATCH_SEGMENT);
	struct rt_event ev;

	(void)state;
	train(f);
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_BATCH);
	ev.result = RT_RES_INVALID;
	ev.error_code = "InvalidInputException";
	ev.error = "the solution's recipe cannot make user segments";
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "CreateBatchSegmentJob"));
	assert_non_null(strstr(f->run.reason, "cannot make user segments"));
	free(f);
}

/* Created with an unknown outcome or AlreadyExists: looked up by name,
 * never created twice. */
static void test_batch_create_uncertain_finds(void **state)
{
	enum rt_result rs[] = { RT_RES_UNKNOWN, RT_RES_TRANSIENT,
				RT_RES_ALREADY_EXISTS };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		struct fx *f = new_batch(false, RT_BATCH_INFERENCE);
		const struct rt_action *a;

		train(f);
		assert_int_equal(rf_reply(f, RT_SLOT_BATCH, rs[i], NULL, NULL), 0);
		if (rs[i] != RT_RES_ALREADY_EXISTS) {
			assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE,
					       ANY));
			assert_int_equal(rf_poll_due(f, RT_SLOT_BATCH), 0);
		}
		a = rf_call_op(&f->out, RT_OP_FIND_BATCH_INFERENCE, RT_SLOT_BATCH);
		assert_non_null(a);
		assert_string_equal(a->call.version_arn, VERSION_ARN);
		assert_string_equal(a->call.name, "shop-recs-20261118T1107-batch");
		/* found: adopted and polled, no second create */
		assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK, BATCH_ARN,
					  "PENDING"), 0);
		assert_true(f->run.slots[RT_SLOT_BATCH].adopted);
		assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE, ANY));
		assert_int_equal(rf_poll_due(f, RT_SLOT_BATCH), 0);
		assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK, NULL,
					  "ACTIVE"), 0);
		assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
		free(f);
	}
}

/* A run saved at every point of the batch stage, loaded from its JSON
 * and resumed, finds the job by name: adopted when it is there, created
 * only when the find says it is not. */
static void test_batch_resume_through_state_file(void **state)
{
	int point;

	(void)state;
	for (point = 0; point < 3; point++) {
		struct fx *f = new_batch(true, RT_BATCH_INFERENCE);
		struct state st, back;
		struct rt_actions out;
		char *text = NULL, err[256];
		const struct rt_action *a;

		train(f);
		deploy(f);
		if (point >= 1) /* created */
			assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK,
						  BATCH_ARN, NULL), 0);
		if (point >= 2) { /* polled once */
			assert_int_equal(rf_poll_due(f, RT_SLOT_BATCH), 0);
			assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK,
						  NULL, "IN PROGRESS"), 0);
		}
		state_init(&st, "shop-recs");
		state_set_run(&st, &f->run);
		assert_int_equal(state_to_json(&st, &text), 0);
		assert_non_null(strstr(text, "\"batch\""));
		assert_int_equal(state_from_json(text, strlen(text), "shop-recs",
						 &back, err, sizeof(err)), 0);
		free(text);
		assert_true(back.has_run);
		assert_int_equal(back.run.stage, RT_STAGE_BATCH);
		assert_int_equal(back.run.batch_kind, RT_BATCH_INFERENCE);
		assert_string_equal(back.run.batch_output, BATCH_OUT);
		assert_string_equal(back.run.batch_role_arn, BATCH_ROLE);
		assert_string_equal(back.run.batch_filter_arn, FILTER);
		assert_int_equal(back.run.batch_num_results, 50);
		f->run = back.run;
		assert_int_equal(rt_resume(&f->run, f->now, &out), 0);
		f->out = out;
		assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE, ANY));
		if (point == 0) {
			a = rf_call_op(&f->out, RT_OP_FIND_BATCH_INFERENCE,
				       RT_SLOT_BATCH);
			assert_non_null(a);
			/* not there: created now, after an intent */
			assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK,
						  NULL, NULL), 0);
			assert_batch_create(f, RT_OP_CREATE_BATCH_INFERENCE);
			batch_active(f, RT_OP_DESCRIBE_BATCH_INFERENCE);
		} else {
			a = rf_call_op(&f->out, RT_OP_DESCRIBE_BATCH_INFERENCE,
				       RT_SLOT_BATCH);
			assert_non_null(a);
			assert_string_equal(a->call.arn, BATCH_ARN);
			assert_int_equal(rf_reply(f, RT_SLOT_BATCH, RT_RES_OK,
						  NULL, "ACTIVE"), 0);
			assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
		}
		state_finish_run(&st, &f->run);
		assert_string_equal(st.history[0].batch_output, BATCH_OUT);
		free(f);
	}
}

/* Refused describes with the job running keep the run for the next one to
 * adopt (as for every other job). */
static void test_batch_describe_refused_kept(void **state)
{
	struct fx *f = new_batch(false, RT_BATCH_INFERENCE);

	(void)state;
	train(f);
	describe_batch(f, RT_RES_INVALID, NULL, NULL, "AccessDeniedException");
	assert_false(rt_done(&f->run));
	assert_true(f->run.stopped);
	assert_non_null(rf_act(&f->out, RT_ACT_FINISHED, ANY));
	assert_true(rf_log_has(&f->out, "kept for the next run to adopt"));
	free(f);
}

/* A gated run without a campaign (MinQuality 0.5), trained, its new
 * version's metric value given to the gate. */
static struct fx *gated_run(double value)
{
	static struct personalize_metric m = { "ndcg", 0 };
	static struct personalize_solution_metrics sm = { VERSION_ARN, &m, 1 };
	struct fx *f = rf_alloc(1, false);
	struct rt_event ev;

	with_batch(f, RT_BATCH_INFERENCE);
	f->gate.metric = "ndcg";
	f->gate.has_min_quality = true;
	f->gate.min_quality = 0.5;
	f->spec.gate = &f->gate;
	rf_start(f);
	train(f);
	assert_int_equal(f->run.stage, RT_STAGE_GATING);
	m.value = value;
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_GATE);
	ev.result = RT_RES_OK;
	ev.metrics = &sm;
	assert_int_equal(rf_feed(f, &ev), 0);
	return f;
}

/* The quality gate rejects: no batch job; it passes: the batch job. */
static void test_gated_no_batch(void **state)
{
	struct fx *f = gated_run(0.1);

	(void)state;
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_GATED);
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE, ANY));
	assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase, RT_PH_PENDING);
	free(f);
	f = gated_run(0.9);
	assert_batch_create(f, RT_OP_CREATE_BATCH_INFERENCE);
	free(f);
}

/* Superseded by a newer deploy: skipped, and no batch job of the older
 * version either. */
static void test_superseded_no_batch(void **state)
{
	struct fx *f = new_batch(true, RT_BATCH_INFERENCE);
	struct rt_event ev;

	(void)state;
	train(f);
	/* the version was created at T0+100; the campaign was updated to
	 * another one at T0+200 */
	f->run.version_created = T0 + 100;
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_CAMPAIGN);
	ev.result = RT_RES_OK;
	ev.campaign_version_arn = OLD_VERSION;
	ev.update_version_arn = OLD_VERSION;
	ev.update_status = "ACTIVE";
	ev.update_created = T0 + 200;
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_SKIPPED);
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE, ANY));
	free(f);
}

/* A rollback never creates a batch job, whatever the spec says. */
static void test_rollback_no_batch(void **state)
{
	struct fx *f = rf_alloc(1, true);
	char err[256];

	(void)state;
	with_batch(f, RT_BATCH_INFERENCE);
	assert_int_equal(rt_rollback_start(&f->run, &f->spec, OLD_VERSION,
					   VERSION_ARN, NULL, f->now, &f->out,
					   err, sizeof(err)), 0);
	assert_int_equal(f->run.batch_kind, RT_BATCH_NONE);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, NULL, "ACTIVE"),
			 0);
	assert_int_equal(rf_campaign_ok(f, VERSION_ARN, VERSION_ARN, "ACTIVE", 0),
			 0);
	assert_int_equal(rf_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK, NULL, NULL), 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
	assert_int_equal(rf_campaign_ok(f, OLD_VERSION, OLD_VERSION, "ACTIVE", 0),
			 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
	assert_int_equal(f->run.slots[RT_SLOT_BATCH].phase, RT_PH_UNUSED);
	free(f);
}

static void test_spec_and_names(void **state)
{
	struct fx *f = rf_alloc(1, false);
	char err[256];
	enum rt_batch_kind k;
	enum rt_stage st;

	(void)state;
	with_batch(f, RT_BATCH_INFERENCE);
	f->spec.batch_output = "";
	assert_int_equal(rt_spec_validate(&f->spec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "batch job"));
	f->spec.batch_output = BATCH_OUT;
	f->spec.batch_kind = (enum rt_batch_kind)7;
	assert_int_equal(rt_spec_validate(&f->spec, err, sizeof(err)), -EINVAL);
	/* no role of its own: the import role */
	f->spec.batch_kind = RT_BATCH_INFERENCE;
	f->spec.batch_role_arn = NULL;
	f->spec.batch_filter_arn = NULL;
	rf_start(f);
	assert_string_equal(f->run.batch_role_arn, f->spec.role_arn);
	assert_string_equal(f->run.batch_filter_arn, "");
	train(f);
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_BATCH_INFERENCE,
			       RT_SLOT_BATCH)->call.filter_arn);
	assert_int_equal(rt_batch_kind_parse("segment", &k), 0);
	assert_int_equal(k, RT_BATCH_SEGMENT);
	assert_int_equal(rt_batch_kind_parse("bogus", &k), -EINVAL);
	assert_int_equal(rt_stage_parse("batch", &st), 0);
	assert_int_equal(st, RT_STAGE_BATCH);
	assert_string_equal(rt_op_name(RT_OP_FIND_BATCH_SEGMENT),
			    "ListBatchSegmentJobs");
	assert_string_equal(rt_op_name(RT_OP_CREATE_BATCH_INFERENCE),
			    "CreateBatchInferenceJob");
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_campaign_then_batch),
		cmocka_unit_test(test_batch_without_campaign),
		cmocka_unit_test(test_segment_ops),
		cmocka_unit_test(test_no_batch_without_kind),
		cmocka_unit_test(test_batch_failed_fails_run),
		cmocka_unit_test(test_batch_create_rejected),
		cmocka_unit_test(test_batch_create_uncertain_finds),
		cmocka_unit_test(test_batch_resume_through_state_file),
		cmocka_unit_test(test_batch_describe_refused_kept),
		cmocka_unit_test(test_gated_no_batch),
		cmocka_unit_test(test_superseded_no_batch),
		cmocka_unit_test(test_rollback_no_batch),
		cmocka_unit_test(test_spec_and_names),
	};

	return cmocka_run_group_tests_name("retrain_batch", tests, NULL, NULL);
}
