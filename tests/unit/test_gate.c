/* test_gate.c - the quality gate: verdicts, reasons, parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <cmocka.h>

#include "gate.h"

#define NDCG10 "normalized_discounted_cumulative_gain_at_10"
#define NEW_ARN "arn:aws:personalize:eu-west-1:123456789012:solution/s/new"
#define CUR_ARN "arn:aws:personalize:eu-west-1:123456789012:solution/s/cur"

static const struct personalize_metric cand_m[] = {
	{ "coverage", 0.31 },
	{ "mean_reciprocal_rank_at_25", 0.2 },
	{ NDCG10, 0.2810 },
	{ "precision_at_5", 0.05 },
};
static const struct personalize_metric cur_m[] = {
	{ "coverage", 0.30 },
	{ NDCG10, 0.2950 },
	{ "precision_at_5", 0.05 },
};
static const struct personalize_solution_metrics cand = {
	NEW_ARN, cand_m, sizeof(cand_m) / sizeof(cand_m[0])
};
static const struct personalize_solution_metrics cur = {
	CUR_ARN, cur_m, sizeof(cur_m) / sizeof(cur_m[0])
};

static void test_verdicts(void **state)
{
	static const struct {
		const char *metric;
		double max_reg;
		bool has_min;
		double min;
		bool with_current;
		enum gate_verdict verdict;
		const char *reason;
	} cases[] = {
		/* the documented example: 0.2810 < 0.2950 * 0.98 = 0.2891 */
		{ NDCG10, 0.02, false, 0, true, GATE_REJECT,
		  "rejected by quality gate: ndcg@10 0.2810 < 0.2950 - 2%" },
		{ NDCG10, 0, false, 0, true, GATE_REJECT,
		  "rejected by quality gate: ndcg@10 0.2810 < 0.2950" },
		/* 0.2950 * 0.95 = 0.28025 <= 0.2810 */
		{ NDCG10, 0.05, false, 0, true, GATE_PASS,
		  "quality gate passed: ndcg@10 0.2810 >= 0.2950 - 5%" },
		{ NDCG10, 0.025, false, 0, true, GATE_REJECT,
		  "rejected by quality gate: ndcg@10 0.2810 < 0.2950 - 2.5%" },
		/* MinQuality binds over a loose regression */
		{ NDCG10, 0.5, true, 0.3, true, GATE_REJECT,
		  "rejected by quality gate: ndcg@10 0.2810 < MinQuality 0.3000" },
		{ NDCG10, 0.5, true, 0.25, true, GATE_PASS,
		  "quality gate passed: ndcg@10 0.2810 >= MinQuality 0.2500" },
		{ NDCG10, 0.05, true, 0.1, true, GATE_PASS,
		  "quality gate passed: ndcg@10 0.2810 >= 0.2950 - 5%" },
		/* higher is better: an improvement always passes */
		{ "coverage", 0, false, 0, true, GATE_PASS,
		  "quality gate passed: coverage 0.3100 >= 0.3000" },
		/* equal passes */
		{ "precision_at_5", 0, false, 0, true, GATE_PASS,
		  "quality gate passed: precision@5 0.0500 >= 0.0500" },
		/* no current version */
		{ NDCG10, 0.02, false, 0, false, GATE_PASS,
		  "quality gate passed: ndcg@10 0.2810 (no current version "
		  "to compare with)" },
		{ NDCG10, 0.02, true, 0.3, false, GATE_REJECT,
		  "rejected by quality gate: ndcg@10 0.2810 < MinQuality "
		  "0.3000 (no current version to compare with)" },
		{ NDCG10, 0.02, true, 0.28, false, GATE_PASS,
		  "quality gate passed: ndcg@10 0.2810 >= MinQuality 0.2800 "
		  "(no current version to compare with)" },
		/* missing in the new version: an error naming what it has */
		{ "precision_at_10", 0, false, 0, true, GATE_ERROR,
		  "quality gate: metric precision_at_10 not in "
		  "GetSolutionMetrics of " NEW_ARN "; it has: coverage, "
		  "mean_reciprocal_rank_at_25, " NDCG10 ", precision_at_5" },
		/* missing in the current version */
		{ "mean_reciprocal_rank_at_25", 0, false, 0, true, GATE_ERROR,
		  "quality gate: metric mean_reciprocal_rank_at_25 not in "
		  "GetSolutionMetrics of " CUR_ARN "; it has: coverage, "
		  NDCG10 ", precision_at_5" },
		/* ... but without a current version it is judged */
		{ "mean_reciprocal_rank_at_25", 0, true, 0.1, false, GATE_PASS,
		  "quality gate passed: mrr@25 0.2000 >= MinQuality 0.1000 "
		  "(no current version to compare with)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gate_config cfg = {
			.metric = cases[i].metric,
			.max_regression = cases[i].max_reg,
			.has_min_quality = cases[i].has_min,
			.min_quality = cases[i].min,
		};
		struct gate_result r;

		assert_int_equal(gate_evaluate(&cfg, &cand,
					       cases[i].with_current ? &cur
								     : NULL,
					       &r), 0);
		if (r.verdict != cases[i].verdict ||
		    strcmp(r.reason, cases[i].reason) != 0)
			fail_msg("case %zu: verdict %d reason \"%s\"", i,
				 (int)r.verdict, r.reason);
	}
}

static void test_threshold_edge(void **state)
{
	/* exactly at p*(1-r) in decimal: passes despite binary round-off */
	static const struct personalize_metric c1[] = { { "coverage", 0.98 } };
	static const struct personalize_metric p1[] = { { "coverage", 1.0 } };
	static const struct personalize_metric c2[] = { { "coverage", 0.9799 } };
	struct personalize_solution_metrics c = { NULL, c1, 1 };
	struct personalize_solution_metrics p = { NULL, p1, 1 };
	struct gate_config cfg = { .metric = "coverage", .max_regression = 0.02 };
	struct gate_result r;

	(void)state;
	assert_int_equal(gate_evaluate(&cfg, &c, &p, &r), 0);
	assert_int_equal(r.verdict, GATE_PASS);
	assert_true(r.has_current);
	c.metrics = c2;
	assert_int_equal(gate_evaluate(&cfg, &c, &p, &r), 0);
	assert_int_equal(r.verdict, GATE_REJECT);
	assert_true(fabs(r.threshold - 0.98) < 1e-12);
}

static void test_errors(void **state)
{
	static const struct personalize_metric nanm[] = { { "coverage", NAN } };
	struct personalize_solution_metrics n = { NULL, nanm, 1 };
	struct personalize_solution_metrics empty = { NULL, NULL, 0 };
	struct gate_config cfg = { .metric = "coverage" };
	struct gate_result r;

	(void)state;
	assert_int_equal(gate_evaluate(&cfg, &n, NULL, &r), 0);
	assert_int_equal(r.verdict, GATE_ERROR);
	assert_string_equal(r.reason, "quality gate: metric coverage of the "
			    "new version is not a number");
	assert_int_equal(gate_evaluate(&cfg, &cand, &n, &r), 0);
	assert_int_equal(r.verdict, GATE_ERROR);
	assert_int_equal(gate_evaluate(&cfg, &empty, NULL, &r), 0);
	assert_int_equal(r.verdict, GATE_ERROR);
	assert_string_equal(r.reason, "quality gate: metric coverage not in "
			    "GetSolutionMetrics of the new version; it has: "
			    "none");
	/* programming errors */
	assert_int_equal(gate_evaluate(NULL, &cand, NULL, &r), -EINVAL);
	assert_int_equal(gate_evaluate(&cfg, NULL, NULL, &r), -EINVAL);
	cfg.max_regression = 1.5;
	assert_int_equal(gate_evaluate(&cfg, &cand, NULL, &r), -EINVAL);
	cfg.max_regression = 0;
	cfg.metric = "";
	assert_false(gate_enabled(&cfg));
	assert_int_equal(gate_evaluate(&cfg, &cand, NULL, &r), -EINVAL);
	assert_false(gate_enabled(NULL));
}

static void test_long_reason_is_cut(void **state)
{
	struct personalize_metric many[60];
	char names[60][48];
	struct personalize_solution_metrics m = { NEW_ARN, many, 60 };
	struct gate_config cfg = { .metric = "coverage" };
	struct gate_result r;
	size_t i;

	(void)state;
	for (i = 0; i < 60; i++) {
		snprintf(names[i], sizeof(names[i]),
			 "some_long_metric_name_number_%zu", i);
		many[i].name = names[i];
		many[i].value = 0.1;
	}
	assert_int_equal(gate_evaluate(&cfg, &m, NULL, &r), 0);
	assert_int_equal(r.verdict, GATE_ERROR);
	assert_int_equal(strlen(r.reason), GATE_REASON_MAX);
	assert_string_equal(r.reason + GATE_REASON_MAX - 4, " ...");
}

static void test_display_names(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ NDCG10, "ndcg@10" },
		{ "normalized_discounted_cumulative_gain_at_25", "ndcg@25" },
		{ "precision_at_5", "precision@5" },
		{ "mean_reciprocal_rank_at_25", "mrr@25" },
		{ "recall_at_10", "recall@10" },
		{ "hit_at_10", "hit@10" },
		{ "average_rewards_at_5", "rewards@5" },
		{ "coverage", "coverage" },
		{ "precision_at_", "precision_at_" },
		{ "precision_at_x", "precision_at_x" },
		{ "something_new", "something_new" },
	};
	char buf[64], tiny[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gate_display_name(cases[i].in, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}
	gate_display_name("coverage", tiny, sizeof(tiny));
	assert_string_equal(tiny, "cov");
}

static void test_parse_max_regression(void **state)
{
	static const struct {
		const char *in;
		int rc;
		double out;
		const char *err;
	} cases[] = {
		{ "2%", 0, 0.02, NULL },
		{ "0.02", 0, 0.02, NULL },
		{ "0", 0, 0, NULL },
		{ "2.5 %", 0, 0.025, NULL },
		{ " 10% ", 0, 0.10, NULL },
		{ "100%", 0, 1.0, NULL },
		{ "1", 0, 1.0, NULL },
		{ "2", -EINVAL, 0, "2 is more than 1 (100%); a fraction is "
		  "between 0 and 1: write 2% for 2 percent, or 0.02 for 2%" },
		{ "150%", -EINVAL, 0, "150% is more than 100%; a drop is "
		  "between 0% and 100%" },
		{ "-1%", -EINVAL, 0, "-1% is negative; the allowed drop is 0 "
		  "(no regression) or more, e.g. 2%" },
		{ "two", -EINVAL, 0, "\"two\" is not a relative drop; write a "
		  "percentage like 2% or a fraction like 0.02" },
		{ "", -EINVAL, 0, NULL },
		{ "2%%", -EINVAL, 0, NULL },
		{ "nan", -EINVAL, 0, NULL },
		{ "inf", -EINVAL, 0, NULL },
		{ "0x1p-4", -EINVAL, 0, NULL },
		{ "1e400", -EINVAL, 0, NULL },
		{ "2 percent", -EINVAL, 0, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[200] = "";
		double v = -42;
		int rc = gate_parse_max_regression(cases[i].in, &v, err,
						   sizeof(err));

		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d", cases[i].in, rc);
		if (rc == 0) {
			assert_true(fabs(v - cases[i].out) < 1e-12);
		} else {
			assert_true(v == -42); /* untouched on failure */
			assert_true(err[0] != '\0');
			if (cases[i].err)
				assert_string_equal(err, cases[i].err);
		}
	}
}

static void test_parse_min_quality_and_metric(void **state)
{
	char err[200];
	double v;
	const char *name;

	(void)state;
	assert_int_equal(gate_parse_min_quality("0.25", &v, err, sizeof(err)), 0);
	assert_true(fabs(v - 0.25) < 1e-12);
	assert_int_equal(gate_parse_min_quality("25%", &v, err, sizeof(err)), 0);
	assert_true(fabs(v - 0.25) < 1e-12);
	assert_int_equal(gate_parse_min_quality("3.5", &v, err, sizeof(err)), 0);
	assert_int_equal(gate_parse_min_quality("-0.1", &v, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "-0.1 is negative; Personalize metrics are 0 "
			    "or more");
	assert_int_equal(gate_parse_min_quality("high", &v, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "\"high\" is not a number; write the lowest "
			    "value of QualityMetric to deploy, e.g. 0.25 or 25%");

	assert_int_equal(gate_parse_metric(NDCG10, &name, err, sizeof(err)), 0);
	assert_string_equal(name, NDCG10);
	assert_int_equal(gate_parse_metric("coverage", &name, err, sizeof(err)), 0);
	assert_int_equal(gate_parse_metric("", &name, err, sizeof(err)), -EINVAL);
	assert_int_equal(gate_parse_metric("NDCG@10", &name, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(gate_parse_metric("ndcg@10", &name, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "metric name \"ndcg@10\" may hold only "
			    "lower-case letters, digits and '_' (as "
			    "GetSolutionMetrics spells it, e.g. "
			    "mean_reciprocal_rank_at_25)");
	assert_int_equal(gate_parse_metric("1coverage", &name, err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_threshold_edge),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_reason_is_cut),
		cmocka_unit_test(test_display_names),
		cmocka_unit_test(test_parse_max_regression),
		cmocka_unit_test(test_parse_min_quality_and_metric),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
