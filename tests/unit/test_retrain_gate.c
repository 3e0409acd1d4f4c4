/* test_retrain_gate.c - in the run state machine: the quality gate
 * (stage gating, outcome gated), skipping unchanged data (stage checking,
 * outcome skipped), rollback runs, and what state.c keeps for them.
 * Table-driven: every reply outcome of every call they make. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate.h"
#include "msgid.h"
#include "personalize.h"
#include "retrain.h"
#include "retrain_fixture.h"
#include "state.h"

#define METRIC "normalized_discounted_cumulative_gain_at_10"
#define FOREIGN_VERSION "arn:aws:personalize:us-east-1:123456789012:solution/other/v-x"

static void with_gate(struct fx *f, double maxreg, bool has_min, double min)
{
	f->gate.metric = METRIC;
	f->gate.max_regression = maxreg;
	f->gate.has_min_quality = has_min;
	f->gate.min_quality = min;
	f->spec.gate = &f->gate;
}

static bool msgid_logged(const struct rt_actions *o, const char *id)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == RT_ACT_LOG && o->a[i].message_id &&
		    !strcmp(o->a[i].message_id, id))
			return true;
	return false;
}

static int campaign_reply(struct fx *f, int slot, enum rt_result r,
			  const char *serves, const char *upd_ver,
			  const char *upd_status)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, slot);

	ev.result = r;
	ev.error = r == RT_RES_OK ? NULL : "simulated";
	ev.campaign_version_arn = serves;
	ev.update_version_arn = upd_ver;
	ev.update_status = upd_status;
	return rf_feed(f, &ev);
}

/* A GetSolutionMetrics reply; value < 0: the metric is missing. */
static int metrics_reply(struct fx *f, enum rt_result r, const char *arn,
			 double value)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_GATE);
	struct personalize_metric m[2] = {
		{ "coverage", 0.5 }, { METRIC, value },
	};
	struct personalize_solution_metrics sm = { arn, m, value < 0 ? 1 : 2 };

	ev.result = r;
	ev.error = r == RT_RES_OK ? NULL : "simulated";
	ev.metrics = r == RT_RES_OK ? &sm : NULL;
	return rf_feed(f, &ev);
}

static int head_reply(struct fx *f, int slot, enum rt_result r,
		      const char *etag, const char *lm)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, slot);

	ev.result = r;
	ev.error = r == RT_RES_OK ? NULL : "simulated";
	ev.etag = etag;
	ev.last_modified = lm;
	return rf_feed(f, &ev);
}

/* Imports created and ACTIVE, version created and polled to ACTIVE. */
static void train_to_active(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->run.n_datasets; i++) {
		if (f->run.slots[i].phase != RT_PH_CREATING)
			continue;
		assert_int_equal(rf_reply(f, (int)i, RT_RES_OK, "arn:import", NULL), 0);
		assert_int_equal(rf_poll_due(f, (int)i), 0);
		assert_int_equal(rf_reply(f, (int)i, RT_RES_OK, NULL, "ACTIVE"), 0);
	}
	assert_int_equal(f->run.stage, RT_STAGE_TRAINING);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, VERSION_ARN, NULL), 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
	assert_int_equal(rf_reply(f, RT_SLOT_VERSION, RT_RES_OK, NULL, "ACTIVE"), 0);
}

/* A gated run with a campaign, at the gate's DescribeCampaign. */
static struct fx *at_gating(bool campaign, double maxreg, bool has_min,
			    double min)
{
	struct fx *f = rf_alloc(1, campaign);

	with_gate(f, maxreg, has_min, min);
	rf_start(f);
	assert_int_equal(f->run.stage, RT_STAGE_IMPORTING);
	train_to_active(f);
	assert_int_equal(f->run.stage, RT_STAGE_GATING);
	assert_true(rf_log_has(&f->out, "quality gate"));
	assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
	if (campaign) {
		const struct rt_action *a =
			rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_GATE);

		assert_non_null(a);
		assert_string_equal(a->call.campaign_arn, CAMPAIGN);
	} else {
		const struct rt_action *a =
			rf_call_op(&f->out, RT_OP_GET_METRICS, RT_SLOT_GATE);

		assert_non_null(a);
		assert_string_equal(a->call.version_arn, VERSION_ARN);
	}
	return f;
}

/* ---- quality gate ------------------------------------------------------ */

static void test_gate_disabled_is_default(void **state)
{
	struct fx *a = rf_alloc(2, true), *b = rf_alloc(2, true);
	size_t i;

	(void)state;
	b->gate.metric = ""; /* QualityMetric unset */
	b->spec.gate = &b->gate;
	rf_start(a);
	rf_start(b);
	train_to_active(a);
	train_to_active(b);
	assert_int_equal(a->run.stage, RT_STAGE_DEPLOYING);
	assert_int_equal(b->run.stage, RT_STAGE_DEPLOYING);
	assert_int_equal(a->out.n, b->out.n);
	for (i = 0; i < a->out.n; i++) {
		assert_int_equal(a->out.a[i].kind, b->out.a[i].kind);
		assert_string_equal(a->out.a[i].text, b->out.a[i].text);
	}
	assert_int_equal(a->run.slots[RT_SLOT_GATE].phase, RT_PH_UNUSED);
	free(a);
	free(b);
}

struct gate_case {
	const char *what;
	double maxreg;
	bool has_min;
	double min;
	const char *serves;   /* DescribeCampaign: what the campaign serves */
	double cand, cur;     /* < 0: metric missing */
	enum rt_outcome out;  /* NONE: passed, now deploying */
	const char *reason;
};

static const struct gate_case gate_cases[] = {
	{ "equal passes", 0, false, 0, OLD_VERSION, 0.30, 0.30, RT_OUT_NONE,
	  "quality gate passed" },
	{ "drop rejected", 0, false, 0, OLD_VERSION, 0.28, 0.30, RT_OUT_GATED,
	  "rejected by quality gate: ndcg@10 0.2800" },
	{ "drop within 2%", 0.02, false, 0, OLD_VERSION, 0.295, 0.30,
	  RT_OUT_NONE, "quality gate passed" },
	{ "drop beyond 2%", 0.02, false, 0, OLD_VERSION, 0.2810, 0.2950,
	  RT_OUT_GATED, "rejected by quality gate: ndcg@10 0.2810 < 0.2950 - 2%" },
	{ "below MinQuality", 0.5, true, 0.4, OLD_VERSION, 0.35, 0.30,
	  RT_OUT_GATED, "MinQuality" },
	{ "new metric missing", 0, false, 0, OLD_VERSION, -1, 0.30,
	  RT_OUT_FAILED, "not in GetSolutionMetrics" },
	{ "current metric missing", 0, false, 0, OLD_VERSION, 0.30, -1,
	  RT_OUT_FAILED, "not in GetSolutionMetrics" },
	{ "no current version", 0, false, 0, NULL, 0.01, 0, RT_OUT_NONE,
	  "no current version" },
	{ "no current, MinQuality rejects", 0, true, 0.2, NULL, 0.1, 0,
	  RT_OUT_GATED, "MinQuality" },
	{ "serves ours already", 0, false, 0, VERSION_ARN, 0.1, 0,
	  RT_OUT_NONE, "quality gate passed" },
};

static void test_gate_verdicts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(gate_cases) / sizeof(gate_cases[0]); i++) {
		const struct gate_case *t = &gate_cases[i];
		struct fx *f = at_gating(true, t->maxreg, t->has_min, t->min);
		bool two = t->serves && strcmp(t->serves, VERSION_ARN);
		const struct rt_action *a;

		print_message("case: %s\n", t->what);
		assert_int_equal(campaign_reply(f, RT_SLOT_GATE, RT_RES_OK,
						t->serves, t->serves, "ACTIVE"), 0);
		a = rf_call_op(&f->out, RT_OP_GET_METRICS, RT_SLOT_GATE);
		assert_non_null(a);
		assert_string_equal(a->call.version_arn, VERSION_ARN);
		assert_int_equal(metrics_reply(f, RT_RES_OK, VERSION_ARN, t->cand), 0);
		if (two && t->cand >= 0) {
			a = rf_call_op(&f->out, RT_OP_GET_METRICS, RT_SLOT_GATE);
			assert_non_null(a);
			assert_string_equal(a->call.version_arn, t->serves);
			assert_int_equal(metrics_reply(f, RT_RES_OK, t->serves,
						       t->cur), 0);
		}
		assert_int_equal(f->run.outcome, t->out);
		assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		if (t->out == RT_OUT_NONE) {
			assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
			assert_int_equal(f->run.slots[RT_SLOT_GATE].phase, RT_PH_ACTIVE);
			assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN,
						RT_SLOT_CAMPAIGN));
			assert_true(rf_log_has(&f->out, t->reason));
		} else {
			assert_true(rt_done(&f->run));
			assert_non_null(strstr(f->run.reason, t->reason));
			assert_non_null(strstr(f->run.reason, "nothing deployed"));
			a = rf_act(&f->out, RT_ACT_FINISHED, ANY);
			assert_non_null(a);
			assert_int_equal(a->outcome, t->out);
			assert_int_equal(msgid_logged(&f->out,
						      MSGID_QUALITY_GATE_REJECTED),
					 t->out == RT_OUT_GATED);
			assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
			assert_int_equal(f->run.slots[RT_SLOT_CAMPAIGN].phase,
					 RT_PH_PENDING);
		}
		free(f);
	}
}

/* Every failure of every gating call. */
struct gate_fail_case {
	int step;               /* 0 DescribeCampaign, 1 new, 2 current */
	enum rt_result r;
	bool null_metrics;      /* OK without a parsed reply */
	bool fails;             /* else: asked again after a timer */
};

static const struct gate_fail_case gate_fail_cases[] = {
	{ 0, RT_RES_NOT_FOUND, false, true }, { 0, RT_RES_INVALID, false, true },
	{ 0, RT_RES_TRANSIENT, false, false }, { 0, RT_RES_UNKNOWN, false, false },
	{ 0, RT_RES_IN_USE, false, false },
	{ 1, RT_RES_NOT_FOUND, false, true }, { 1, RT_RES_INVALID, false, true },
	{ 1, RT_RES_TRANSIENT, false, false }, { 1, RT_RES_UNKNOWN, false, false },
	{ 1, RT_RES_OK, true, false },
	{ 2, RT_RES_NOT_FOUND, false, true }, { 2, RT_RES_INVALID, false, true },
	{ 2, RT_RES_TRANSIENT, false, false }, { 2, RT_RES_UNKNOWN, false, false },
	{ 2, RT_RES_OK, true, false },
};

static void test_gate_call_failures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(gate_fail_cases) / sizeof(gate_fail_cases[0]); i++) {
		const struct gate_fail_case *t = &gate_fail_cases[i];
		struct fx *f = at_gating(true, 0, false, 0);
		struct rt_event ev;
		enum rt_op op = t->step == 0 ? RT_OP_DESCRIBE_CAMPAIGN
					     : RT_OP_GET_METRICS;
		const struct rt_action *a;

		print_message("case %zu\n", i);
		if (t->step >= 1)
			assert_int_equal(campaign_reply(f, RT_SLOT_GATE, RT_RES_OK,
							OLD_VERSION, NULL, NULL), 0);
		if (t->step == 2)
			assert_int_equal(metrics_reply(f, RT_RES_OK, VERSION_ARN,
						       0.3), 0);
		ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_GATE);
		ev.result = t->r;
		ev.error = "simulated";
		assert_int_equal(rf_feed(f, &ev), 0);
		assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		if (t->fails) {
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_FAILED);
			assert_non_null(strstr(f->run.reason, rt_op_name(op)));
			assert_false(msgid_logged(&f->out,
						  MSGID_QUALITY_GATE_REJECTED));
		} else {
			assert_false(rt_done(&f->run));
			assert_non_null(rf_act(&f->out, RT_ACT_TIMER, RT_SLOT_GATE));
			assert_int_equal(rf_poll_due(f, RT_SLOT_GATE), 0);
			a = rf_call_op(&f->out, op, RT_SLOT_GATE);
			assert_non_null(a);
			if (t->step == 2)
				assert_string_equal(a->call.version_arn, OLD_VERSION);
			if (t->step == 1)
				assert_string_equal(a->call.version_arn, VERSION_ARN);
		}
		free(f);
	}
}

static void test_gate_without_campaign(void **state)
{
	const double vals[] = { 0.5, 0.1 };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct fx *f = at_gating(false, 0, true, 0.3);

		assert_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, ANY));
		assert_int_equal(metrics_reply(f, RT_RES_OK, VERSION_ARN, vals[i]), 0);
		assert_true(rt_done(&f->run));
		if (i == 0) {
			assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
			assert_non_null(strstr(f->run.reason, "no campaign"));
			assert_non_null(strstr(f->run.reason, "quality gate passed"));
		} else {
			assert_int_equal(f->run.outcome, RT_OUT_GATED);
			assert_true(msgid_logged(&f->out, MSGID_QUALITY_GATE_REJECTED));
		}
		free(f);
	}
}

static void test_gate_stop_resume_deadline_stale(void **state)
{
	struct fx *f = at_gating(true, 0, false, 0);
	struct rt_event ev;
	uint32_t tok;

	(void)state;
	assert_int_equal(campaign_reply(f, RT_SLOT_GATE, RT_RES_OK, OLD_VERSION,
					NULL, NULL), 0);
	tok = f->run.slots[RT_SLOT_GATE].token;
	/* stale */
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_GATE);
	ev.token = tok + 7;
	assert_int_equal(rf_feed(f, &ev), -ESTALE);
	/* stop, resume: the gate starts over */
	ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
	assert_int_equal(f->run.stage, RT_STAGE_GATING);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_GATE));
	assert_true(rf_log_has(&f->out, "quality gate for"));
	/* deadline while gating */
	ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "gating"));
	free(f);
}

static void test_gate_spec_validation(void **state)
{
	struct fx *f = rf_alloc(1, true);
	char err[200];

	(void)state;
	with_gate(f, 1.5, false, 0);
	assert_int_equal(rt_spec_validate(&f->spec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "quality gate"));
	with_gate(f, 0.1, true, NAN);
	assert_int_equal(rt_spec_validate(&f->spec, err, sizeof(err)), -EINVAL);
	with_gate(f, 0.1, true, 0.2);
	assert_int_equal(rt_spec_validate(&f->spec, err, sizeof(err)), 0);
	free(f);
}

/* ---- skip unchanged data ----------------------------------------------- */

struct head_case {
	enum rt_result r;
	const char *etag, *lm;   /* reply */
	const char *prev_etag, *prev_lm;
	bool unchanged;
	const char *log;
};

static const struct head_case head_cases[] = {
	{ RT_RES_OK, "\"e1\"", "Mon, 01 Jan 2026 00:00:00 GMT", "\"e1\"",
	  "Mon, 01 Jan 2026 00:00:00 GMT", true, "unchanged since the last import" },
	{ RT_RES_OK, "\"e2\"", "Mon, 01 Jan 2026 00:00:00 GMT", "\"e1\"",
	  "Mon, 01 Jan 2026 00:00:00 GMT", false, "changed: importing it" },
	{ RT_RES_OK, "\"e1\"", "Tue, 02 Jan 2026 00:00:00 GMT", "\"e1\"",
	  "Mon, 01 Jan 2026 00:00:00 GMT", false, "changed: importing it" },
	{ RT_RES_OK, "\"e1\"", "x", NULL, NULL, false, "changed: importing it" },
	{ RT_RES_OK, NULL, NULL, "\"e1\"", "x", false, "gave no ETag" },
	{ RT_RES_NOT_FOUND, NULL, NULL, "\"e1\"", "x", false, "not found" },
	{ RT_RES_INVALID, NULL, NULL, "\"e1\"", "x", false, "importing it anyway" },
	{ RT_RES_TRANSIENT, NULL, NULL, "\"e1\"", "x", false, "importing it anyway" },
	{ RT_RES_UNKNOWN, NULL, NULL, "\"e1\"", "x", false, "importing it anyway" },
};

/* Dataset 0 answers per the table, dataset 1 is always unchanged. */
static void test_skip_head_outcomes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(head_cases) / sizeof(head_cases[0]); i++) {
		const struct head_case *t = &head_cases[i];
		struct fx *f = rf_alloc(2, true);
		const struct rt_action *a;

		print_message("case %zu\n", i);
		f->spec.skip_unchanged = true;
		f->spec.datasets[0].prev_etag = t->prev_etag;
		f->spec.datasets[0].prev_last_modified = t->prev_lm;
		f->spec.datasets[1].prev_etag = "\"same\"";
		f->spec.datasets[1].prev_last_modified = "L";
		rf_start(f);
		assert_int_equal(f->run.stage, RT_STAGE_CHECKING);
		assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 2);
		assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, ANY));
		a = rf_call_op(&f->out, RT_OP_HEAD_OBJECT, 0);
		assert_non_null(a);
		assert_string_equal(a->call.s3_path, "s3://bucket/data.csv");
		assert_true(rf_log_has(&f->out, "checking 2 S3 sources"));
		assert_int_equal(head_reply(f, 0, t->r, t->etag, t->lm), 0);
		assert_true(rf_log_has(&f->out, t->log));
		assert_int_equal(f->run.datasets[0].unchanged, t->unchanged);
		assert_int_equal(f->run.stage, RT_STAGE_CHECKING);
		assert_int_equal(head_reply(f, 1, RT_RES_OK, "\"same\"", "L"), 0);
		assert_true(f->run.datasets[1].unchanged);
		assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 1));
		if (t->unchanged) {
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_SKIPPED);
			assert_string_equal(f->run.reason, "skipped: no new data");
			assert_null(rf_call_op(&f->out, RT_OP_CREATE_VERSION, ANY));
			assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 0);
			assert_int_equal(rf_act(&f->out, RT_ACT_FINISHED, ANY)->outcome,
					 RT_OUT_SKIPPED);
		} else {
			assert_int_equal(f->run.stage, RT_STAGE_IMPORTING);
			assert_non_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 0));
			assert_int_equal(f->run.slots[1].phase, RT_PH_ACTIVE);
			assert_true(rf_log_has(&f->out, "1 of 2 datasets changed"));
			/* the intent is saved before the create */
			assert_true(rf_act(&f->out, RT_ACT_SAVE, ANY) <
				    rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 0));
			train_to_active(f);
			assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
		}
		free(f);
	}
}

static void test_skip_stop_resume_and_deadline(void **state)
{
	struct fx *f = rf_alloc(2, false);
	struct rt_event ev;

	(void)state;
	f->spec.skip_unchanged = true;
	rf_start(f);
	assert_int_equal(head_reply(f, 0, RT_RES_OK, "\"a\"", "L"), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, 1);
	ev.token += 3;
	assert_int_equal(rf_feed(f, &ev), -ESTALE);
	ev = rf_ev_for(f, RT_EV_STOP, RT_SLOT_RUN);
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(rt_resume(&f->run, f->now, &f->out), 0);
	assert_int_equal(f->run.stage, RT_STAGE_CHECKING);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 2);
	assert_non_null(rf_call_op(&f->out, RT_OP_HEAD_OBJECT, 0));
	assert_non_null(rf_call_op(&f->out, RT_OP_HEAD_OBJECT, 1));
	ev = rf_ev_for(f, RT_EV_DEADLINE, RT_SLOT_RUN);
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "checking"));
	free(f);
}

/* S3 failures are not "the service is unreachable": with
 * MaxConsecutiveErrors 1 (`once`), failed HEADs still lead to imports. */
static void test_skip_head_errors_do_not_count(void **state)
{
	struct fx *f = rf_alloc(3, false);
	size_t i;

	(void)state;
	f->spec.skip_unchanged = true;
	f->spec.max_consecutive_errors = 1;
	rf_start(f);
	for (i = 0; i < 3; i++)
		assert_int_equal(head_reply(f, (int)i, i == 1 ? RT_RES_UNKNOWN
							    : RT_RES_TRANSIENT,
					    NULL, NULL), 0);
	assert_false(rt_done(&f->run));
	assert_int_equal(f->run.stage, RT_STAGE_IMPORTING);
	assert_int_equal(rf_count(&f->out, RT_ACT_CALL, ANY), 3);
	assert_int_equal(f->run.consecutive_errors, 0);
	free(f);
}

static void test_skip_with_find_first_and_validation(void **state)
{
	struct fx *f = rf_alloc(1, true);
	char err[200], big[RT_ETAG_MAX + 10];

	(void)state;
	f->spec.skip_unchanged = true;
	f->rc = rt_start(&f->run, &f->spec, T0, f->now, true, &f->out);
	assert_int_equal(f->rc, 0);
	assert_non_null(rf_call_op(&f->out, RT_OP_HEAD_OBJECT, 0));
	assert_int_equal(head_reply(f, 0, RT_RES_OK, "\"e\"", "L"), 0);
	/* recovery start: look the job up by name before creating it */
	assert_non_null(rf_call_op(&f->out, RT_OP_FIND_IMPORT, 0));
	assert_null(rf_call_op(&f->out, RT_OP_CREATE_IMPORT, 0));
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f->spec.datasets[0].prev_etag = big;
	assert_int_equal(rt_spec_validate(&f->spec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ETag"));
	free(f);
}

/* ---- rollback ---------------------------------------------------------- */

static void no_save(const struct rt_actions *o)
{
	assert_int_equal(rf_count(o, RT_ACT_SAVE, ANY), 0);
}

static struct fx *rollback_started(void)
{
	struct fx *f = rf_alloc(1, true);
	char err[200] = "";
	const struct rt_action *a;

	f->rc = rt_rollback_start(&f->run, &f->spec, OLD_VERSION, VERSION_ARN,
				  NULL, f->now, &f->out, err, sizeof(err));
	assert_int_equal(f->rc, 0);
	assert_int_equal(f->run.kind, RT_KIND_ROLLBACK);
	assert_int_equal(f->run.stage, RT_STAGE_VERIFYING);
	a = rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION, RT_SLOT_VERSION);
	assert_non_null(a);
	assert_string_equal(a->call.arn, OLD_VERSION);
	assert_non_null(rf_act(&f->out, RT_ACT_DEADLINE, ANY));
	no_save(&f->out);
	return f;
}

static void test_rollback_happy(void **state)
{
	struct fx *f = rollback_started();
	struct rt_event ev;
	const struct rt_action *a;

	(void)state;
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_VERSION);
	ev.result = RT_RES_OK;
	ev.status = "ACTIVE";
	ev.solution_arn = SOLUTION;
	assert_int_equal(rf_feed(f, &ev), 0);
	no_save(&f->out);
	assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
	assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_CAMPAIGN));
	assert_true(rf_log_has(&f->out, "rolling shop back to v-old"));
	assert_int_equal(campaign_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK,
					VERSION_ARN, VERSION_ARN, "ACTIVE"), 0);
	a = rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, RT_SLOT_CAMPAIGN);
	assert_non_null(a);
	assert_string_equal(a->call.version_arn, OLD_VERSION);
	no_save(&f->out);
	assert_string_equal(f->run.prev_version_arn, VERSION_ARN);
	assert_int_equal(rf_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK, NULL, NULL), 0);
	assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
	assert_int_equal(campaign_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK,
					VERSION_ARN, OLD_VERSION,
					"UPDATE IN_PROGRESS"), 0);
	assert_false(rt_done(&f->run));
	assert_int_equal(rf_poll_due(f, RT_SLOT_CAMPAIGN), 0);
	assert_int_equal(campaign_reply(f, RT_SLOT_CAMPAIGN, RT_RES_OK,
					OLD_VERSION, OLD_VERSION, "ACTIVE"), 0);
	assert_true(rt_done(&f->run));
	assert_int_equal(f->run.outcome, RT_OUT_SUCCEEDED);
	assert_true(msgid_logged(&f->out, MSGID_ROLLBACK));
	assert_false(msgid_logged(&f->out, MSGID_DEPLOYED));
	assert_false(msgid_logged(&f->out, MSGID_RUN_SUCCEEDED));
	no_save(&f->out);
	free(f);
}

struct verify_case {
	enum rt_result r;
	const char *status, *solution;
	bool fails;
	const char *why;
};

static const struct verify_case verify_cases[] = {
	{ RT_RES_OK, "CREATE IN_PROGRESS", SOLUTION, true, "not ACTIVE" },
	{ RT_RES_OK, "CREATE FAILED", SOLUTION, true, "not ACTIVE" },
	{ RT_RES_OK, NULL, SOLUTION, true, "not ACTIVE" },
	{ RT_RES_OK, "ACTIVE", "arn:aws:personalize:us-east-1:123456789012:solution/other",
	  true, "not of solution" },
	{ RT_RES_OK, "ACTIVE", NULL, false, NULL }, /* prefix matches */
	{ RT_RES_NOT_FOUND, NULL, NULL, true, "ResourceNotFound" },
	{ RT_RES_INVALID, NULL, NULL, true, "InvalidInput" },
	{ RT_RES_TRANSIENT, NULL, NULL, false, NULL },
	{ RT_RES_UNKNOWN, NULL, NULL, false, NULL },
};

static void test_rollback_verify_outcomes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
		const struct verify_case *t = &verify_cases[i];
		struct fx *f = rollback_started();
		struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_VERSION);

		print_message("case %zu\n", i);
		ev.result = t->r;
		ev.status = t->status;
		ev.solution_arn = t->solution;
		ev.error = "simulated";
		assert_int_equal(rf_feed(f, &ev), 0);
		assert_null(rf_call_op(&f->out, RT_OP_UPDATE_CAMPAIGN, ANY));
		if (t->fails) {
			assert_true(rt_done(&f->run));
			assert_int_equal(f->run.outcome, RT_OUT_FAILED);
			assert_non_null(strstr(f->run.reason, t->why));
			assert_false(msgid_logged(&f->out, MSGID_ROLLBACK));
			assert_true(msgid_logged(&f->out, MSGID_RUN_FAILED));
		} else if (t->r == RT_RES_OK) {
			assert_int_equal(f->run.stage, RT_STAGE_DEPLOYING);
		} else {
			assert_non_null(rf_act(&f->out, RT_ACT_TIMER, RT_SLOT_VERSION));
			assert_int_equal(rf_poll_due(f, RT_SLOT_VERSION), 0);
			assert_non_null(rf_call_op(&f->out, RT_OP_DESCRIBE_VERSION,
						RT_SLOT_VERSION));
		}
		no_save(&f->out);
		free(f);
	}
}

static void test_rollback_foreign_version_by_prefix(void **state)
{
	struct fx *f = rf_alloc(1, true);
	struct rt_event ev;

	(void)state;
	assert_int_equal(rt_rollback_start(&f->run, &f->spec, FOREIGN_VERSION,
					   NULL, NULL, f->now, &f->out, NULL, 0), 0);
	ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_VERSION);
	ev.result = RT_RES_OK;
	ev.status = "ACTIVE";
	assert_int_equal(rf_feed(f, &ev), 0);
	assert_int_equal(f->run.outcome, RT_OUT_FAILED);
	assert_non_null(strstr(f->run.reason, "not of solution"));
	free(f);
}

static void test_rollback_refusals(void **state)
{
	struct fx *f = rf_alloc(1, true), *busy = rf_alloc(1, true);
	struct rt_spec nocamp = rf_mkspec(1, false);
	char err[200];
	static const enum rt_stage stages[] = {
		RT_STAGE_IMPORTING, RT_STAGE_TRAINING, RT_STAGE_GATING,
		RT_STAGE_DEPLOYING, RT_STAGE_DONE, RT_STAGE_CHECKING,
	};
	size_t i;

	(void)state;
	f->run.stage = RT_STAGE_TRAINING; /* must stay untouched */
	assert_int_equal(rt_rollback_start(&f->run, &nocamp, OLD_VERSION, NULL,
					   NULL, f->now, &f->out, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "no campaign"));
	assert_int_equal(rt_rollback_start(&f->run, &f->spec, "", NULL, NULL,
					   f->now, &f->out, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "--to"));
	assert_int_equal(rt_rollback_start(&f->run, &f->spec, NULL, NULL, NULL,
					   f->now, &f->out, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(rt_rollback_start(&f->run, &f->spec, OLD_VERSION,
					   OLD_VERSION, NULL, f->now, &f->out,
					   err, sizeof(err)), -EALREADY);
	assert_non_null(strstr(err, "already serves"));
	assert_int_equal(rt_rollback_start(NULL, &f->spec, OLD_VERSION, NULL,
					   NULL, f->now, &f->out, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(f->run.stage, RT_STAGE_TRAINING);
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		bool refuse = stages[i] == RT_STAGE_GATING ||
			      stages[i] == RT_STAGE_DEPLOYING;

		busy->run.stage = stages[i];
		f->rc = rt_rollback_start(&f->run, &f->spec, OLD_VERSION, NULL,
					  &busy->run, f->now, &f->out, err,
					  sizeof(err));
		assert_int_equal(f->rc, refuse ? -EBUSY : 0);
		if (refuse)
			assert_non_null(strstr(err, rt_stage_name(stages[i])));
	}
	free(f);
	free(busy);
}

/* ---- names ------------------------------------------------------------- */

static void test_new_names(void **state)
{
	enum rt_outcome o;
	enum rt_stage s;
	enum rt_kind k;

	(void)state;
	assert_string_equal(rt_outcome_name(RT_OUT_GATED), "gated");
	assert_string_equal(rt_outcome_name(RT_OUT_SKIPPED), "skipped");
	assert_int_equal(rt_outcome_parse("gated", &o), 0);
	assert_int_equal(o, RT_OUT_GATED);
	assert_int_equal(rt_outcome_parse("skipped", &o), 0);
	assert_int_equal(o, RT_OUT_SKIPPED);
	assert_int_equal(rt_stage_parse("gating", &s), 0);
	assert_int_equal(s, RT_STAGE_GATING);
	assert_int_equal(rt_stage_parse("checking", &s), 0);
	assert_int_equal(s, RT_STAGE_CHECKING);
	assert_int_equal(rt_stage_parse("verifying", &s), 0);
	assert_int_equal(rt_kind_parse("rollback", &k), 0);
	assert_int_equal(k, RT_KIND_ROLLBACK);
	assert_int_equal(rt_kind_parse("nope", &k), -EINVAL);
	assert_string_equal(rt_op_name(RT_OP_GET_METRICS), "GetSolutionMetrics");
	assert_string_equal(rt_op_name(RT_OP_HEAD_OBJECT), "HeadObject");
	assert_string_equal(rt_kind_name(RT_KIND_RETRAIN), "retrain");
}

/* ---- state ------------------------------------------------------------- */

static void roundtrip(const struct state *st, struct state *back)
{
	char *json = NULL, err[256] = "";

	assert_int_equal(state_to_json(st, &json), 0);
	assert_int_equal(state_from_json(json, strlen(json), st->pipeline, back,
					 err, sizeof(err)), 0);
	free(json);
}

static void test_state_keeps_gate_and_skip(void **state)
{
	struct fx *f = at_gating(true, 0.02, true, 0.25);
	struct state *st = calloc(1, sizeof(*st)), *back = calloc(1, sizeof(*back));
	struct rt_actions *out = calloc(1, sizeof(*out));

	(void)state;
	assert_non_null(st);
	assert_non_null(back);
	assert_non_null(out);
	state_init(st, "shop-recs");
	rf_state_set_run(st, &f->run);
	roundtrip(st, back);
	assert_true(back->has_run);
	assert_int_equal(back->run.stage, RT_STAGE_GATING);
	assert_true(back->run.gate.enabled);
	assert_string_equal(back->run.gate.metric, METRIC);
	assert_true(back->run.gate.max_regression == 0.02);
	assert_true(back->run.gate.has_min_quality);
	assert_true(back->run.gate.min_quality == 0.25);
	assert_int_equal(rt_resume(&back->run, f->now, out), 0);
	assert_non_null(rf_call_op(out, RT_OP_DESCRIBE_CAMPAIGN, RT_SLOT_GATE));
	free(f);

	/* a run in checking, with recorded and observed identities */
	f = rf_alloc(2, true);
	f->spec.skip_unchanged = true;
	f->spec.datasets[0].prev_etag = "\"p\"";
	f->spec.datasets[0].prev_last_modified = "PL";
	rf_start(f);
	assert_int_equal(head_reply(f, 0, RT_RES_OK, "\"n\"", "NL"), 0);
	state_init(st, "shop-recs");
	rf_state_set_run(st, &f->run);
	roundtrip(st, back);
	assert_int_equal(back->run.stage, RT_STAGE_CHECKING);
	assert_true(back->run.skip_unchanged);
	assert_string_equal(back->run.datasets[0].prev_etag, "\"p\"");
	assert_string_equal(back->run.datasets[0].prev_last_modified, "PL");
	assert_string_equal(back->run.datasets[0].etag, "\"n\"");
	assert_string_equal(back->run.datasets[0].last_modified, "NL");
	assert_false(back->run.gate.enabled);
	free(f);
	free(st);
	free(back);
	free(out);
}

/* Without gate and skip, the file holds none of their members: a build
 * that does not know them reads it. */
static void test_state_default_file_unchanged(void **state)
{
	static const char *const absent[] = {
		"\"gate\"", "skip_unchanged", "etag", "last_modified",
		"unchanged", "\"datasets\"", "\"kind\"",
	};
	struct fx *f = rf_alloc(2, true);
	struct state *st = calloc(1, sizeof(*st));
	char *json = NULL;
	size_t i;

	(void)state;
	assert_non_null(st);
	rf_start(f);
	train_to_active(f);
	state_init(st, "shop-recs");
	rf_state_set_run(st, &f->run);
	assert_int_equal(state_to_json(st, &json), 0);
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		assert_null(strstr(json, absent[i]));
	free(json);
	free(st);
	free(f);
}

static void test_state_records_imports(void **state)
{
	static const enum rt_outcome outs[] = {
		RT_OUT_SUCCEEDED, RT_OUT_GATED, RT_OUT_FAILED, RT_OUT_SKIPPED,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		struct fx *f = rf_alloc(2, true);
		struct state *st = calloc(1, sizeof(*st));
		struct state *back = calloc(1, sizeof(*back));
		const struct state_dataset *d;
		bool keep = outs[i] == RT_OUT_SUCCEEDED || outs[i] == RT_OUT_GATED;

		assert_non_null(st);
		assert_non_null(back);
		f->spec.skip_unchanged = true;
		f->spec.datasets[1].prev_etag = "\"u\"";
		f->spec.datasets[1].prev_last_modified = "UL";
		rf_start(f);
		assert_int_equal(head_reply(f, 0, RT_RES_OK, "\"n\"", "NL"), 0);
		assert_int_equal(head_reply(f, 1, RT_RES_OK, "\"u\"", "UL"), 0);
		train_to_active(f);
		/* pretend the run ended so */
		f->run.stage = RT_STAGE_DONE;
		f->run.outcome = outs[i];
		state_init(st, "shop-recs");
		st->last_fire = T0 - 60;
		state_finish_run(st, &f->run);
		assert_int_equal(st->last_fire, T0);
		d = state_dataset_get(st, rf_ds_arns[0]);
		if (keep) {
			assert_non_null(d);
			assert_string_equal(d->etag, "\"n\"");
			assert_string_equal(d->last_modified, "NL");
		} else {
			assert_null(d);
		}
		/* the unchanged one is not rewritten (nothing recorded here) */
		assert_null(state_dataset_get(st, rf_ds_arns[1]));
		roundtrip(st, back);
		assert_int_equal(back->n_datasets, st->n_datasets);
		assert_int_equal(back->history[0].outcome, outs[i]);
		free(f);
		free(st);
		free(back);
	}
}

static void test_state_dataset_overflow(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	struct fx *f = rf_alloc(1, false);
	char arn[64];
	int i;

	(void)state;
	assert_non_null(st);
	state_init(st, "shop-recs");
	for (i = 0; i < STATE_DATASETS_MAX + 3; i++) {
		memset(&f->run, 0, sizeof(f->run));
		snprintf(arn, sizeof(arn), "arn:ds/%d", i);
		f->run.n_datasets = 1;
		f->run.stage = RT_STAGE_DONE;
		f->run.outcome = RT_OUT_SUCCEEDED;
		f->run.slots[0].phase = RT_PH_ACTIVE;
		snprintf(f->run.datasets[0].ds_arn,
			 sizeof(f->run.datasets[0].ds_arn), "%s", arn);
		snprintf(f->run.datasets[0].etag,
			 sizeof(f->run.datasets[0].etag), "e%d", i);
		state_finish_run(st, &f->run);
	}
	assert_int_equal(st->n_datasets, STATE_DATASETS_MAX);
	assert_null(state_dataset_get(st, "arn:ds/0"));
	assert_non_null(state_dataset_get(st, arn));
	assert_null(state_dataset_get(NULL, arn));
	free(st);
	free(f);
}

static void test_state_rollback_records(void **state)
{
	struct fx *f = rollback_started();
	struct state *st = calloc(1, sizeof(*st));
	struct fx *other = rf_alloc(1, true);

	(void)state;
	assert_non_null(st);
	rf_start(other);
	state_init(st, "shop-recs");
	rf_state_set_run(st, &other->run); /* a retraining run in progress */
	st->last_fire = T0 + 3600;
	f->run.stage = RT_STAGE_DONE;
	f->run.outcome = RT_OUT_SUCCEEDED;
	snprintf(f->run.prev_version_arn, sizeof(f->run.prev_version_arn), "%s",
		 VERSION_ARN);
	state_finish_run(st, &f->run);
	assert_int_equal(st->last_fire, T0 + 3600);
	assert_true(st->has_run);
	assert_int_equal(st->run.stage, RT_STAGE_IMPORTING);
	assert_string_equal(st->campaign_version, OLD_VERSION);
	assert_string_equal(st->campaign_prev_version, VERSION_ARN);
	assert_int_equal(st->n_history, 1);
	free(st);
	free(f);
	free(other);
}

static void test_state_rejects_inconsistent(void **state)
{
	static const char *const bad[] = {
		/* gating without a gate */
		"\"stage\":\"gating\"",
		/* checking without skip_unchanged */
		"\"stage\":\"checking\"",
		/* rollbacks are never saved */
		"\"stage\":\"verifying\"",
	};
	struct fx *f = at_gating(true, 0, false, 0);
	struct state *st = calloc(1, sizeof(*st)), *back = calloc(1, sizeof(*back));
	char *json = NULL, err[256];
	size_t i;

	(void)state;
	assert_non_null(st);
	assert_non_null(back);
	f->run.gate.enabled = false;
	state_init(st, "shop-recs");
	rf_state_set_run(st, &f->run);
	assert_int_equal(state_to_json(st, &json), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *copy = strdup(json), *p;

		assert_non_null(copy);
		p = strstr(copy, "\"stage\":\t\"gating\"");
		if (!p)
			p = strstr(copy, "\"stage\": \"gating\"");
		assert_non_null(p);
		/* replace the stage value in place (same JSON shape) */
		{
			char *q = strchr(p + 8, '"');
			char *r = q ? strchr(q + 1, '"') : NULL;
			char buf[4096];
			const char *val = strchr(bad[i] + 8, '"');

			assert_non_null(q);
			assert_non_null(r);
			assert_non_null(val);
			snprintf(buf, sizeof(buf), "%.*s%s", (int)(q - copy), copy, val);
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", r + 1);
			assert_int_equal(state_from_json(buf, strlen(buf), "shop-recs",
							 back, err, sizeof(err)),
					 -EINVAL);
			assert_non_null(strstr(err, "stage"));
		}
		free(copy);
	}
	free(json);
	free(st);
	free(back);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_disabled_is_default),
		cmocka_unit_test(test_gate_verdicts),
		cmocka_unit_test(test_gate_call_failures),
		cmocka_unit_test(test_gate_without_campaign),
		cmocka_unit_test(test_gate_stop_resume_deadline_stale),
		cmocka_unit_test(test_gate_spec_validation),
		cmocka_unit_test(test_skip_head_outcomes),
		cmocka_unit_test(test_skip_stop_resume_and_deadline),
		cmocka_unit_test(test_skip_head_errors_do_not_count),
		cmocka_unit_test(test_skip_with_find_first_and_validation),
		cmocka_unit_test(test_rollback_happy),
		cmocka_unit_test(test_rollback_verify_outcomes),
		cmocka_unit_test(test_rollback_foreign_version_by_prefix),
		cmocka_unit_test(test_rollback_refusals),
		cmocka_unit_test(test_new_names),
		cmocka_unit_test(test_state_keeps_gate_and_skip),
		cmocka_unit_test(test_state_default_file_unchanged),
		cmocka_unit_test(test_state_records_imports),
		cmocka_unit_test(test_state_dataset_overflow),
		cmocka_unit_test(test_state_rollback_records),
		cmocka_unit_test(test_state_rejects_inconsistent),
	};

	/* the poll jitter these expectations were worked out with */
	rf_random = 777;
	return cmocka_run_group_tests_name("retrain_gate", tests, NULL, NULL);
}
