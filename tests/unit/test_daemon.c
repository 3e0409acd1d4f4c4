/* test_daemon.c - the driver's pure helpers: AWS error class -> run result,
 * the combined STATUS line, `once`'s exit status, spec from a pipeline. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aws.h"
#include "config.h"
#include "creds.h"
#include "credsprov.h"
#include "daemon.h"
#include "exitcodes.h"
#include "runner.h"

static void test_map_result(void **state)
{
	static const struct {
		enum aws_error_class in;
		const char *code;
		enum rt_result want;
	} t[] = {
		{ AWS_ERR_NONE, NULL, RT_RES_OK },
		{ AWS_ERR_ALREADY_EXISTS, "ResourceAlreadyExistsException", RT_RES_ALREADY_EXISTS },
		{ AWS_ERR_IN_USE, "ResourceInUseException", RT_RES_IN_USE },
		{ AWS_ERR_NOT_FOUND, "ResourceNotFoundException", RT_RES_NOT_FOUND },
		{ AWS_ERR_CLIENT, "InvalidInputException", RT_RES_INVALID },
		{ AWS_ERR_AUTH, "AccessDeniedException", RT_RES_INVALID },
		{ AWS_ERR_AUTH, NULL, RT_RES_INVALID },
		{ AWS_ERR_AUTH, RUNNER_CODE_NO_CREDS, RT_RES_TRANSIENT },
		{ AWS_ERR_THROTTLED, "ThrottlingException", RT_RES_TRANSIENT },
		{ AWS_ERR_TRANSIENT, "InternalFailure", RT_RES_TRANSIENT },
		{ AWS_ERR_LIMIT_EXCEEDED, "LimitExceededException", RT_RES_TRANSIENT },
		{ AWS_ERR_UNAVAILABLE, NULL, RT_RES_UNKNOWN },
		{ AWS_ERR_MALFORMED_REPLY, "MalformedReply", RT_RES_UNKNOWN },
		{ AWS_ERR_INTERNAL, NULL, RT_RES_UNKNOWN },
		{ (enum aws_error_class)999, NULL, RT_RES_UNKNOWN },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum rt_result got = runner_map_result(t[i].in, t[i].code);

		if (got != t[i].want)
			fail_msg("case %zu: class %d code %s -> %d, want %d", i,
				 (int)t[i].in, t[i].code ? t[i].code : "NULL",
				 (int)got, (int)t[i].want);
	}
}

static void test_exit_status(void **state)
{
	static const struct {
		enum rt_outcome o[3];
		size_t n;
		int want;
	} t[] = {
		{ { RT_OUT_SUCCEEDED }, 1, PR_EXIT_OK },
		{ { RT_OUT_FAILED }, 1, PR_EXIT_RUN_FAILED },
		{ { RT_OUT_UNREACHABLE }, 1, PR_EXIT_UNAVAILABLE },
		{ { RT_OUT_NONE }, 1, PR_EXIT_SOFTWARE },
		{ { RT_OUT_SUCCEEDED, RT_OUT_UNREACHABLE, RT_OUT_FAILED }, 3,
		  PR_EXIT_RUN_FAILED },
		{ { RT_OUT_UNREACHABLE, RT_OUT_SUCCEEDED }, 2, PR_EXIT_UNAVAILABLE },
		{ { RT_OUT_SUCCEEDED, RT_OUT_SUCCEEDED, RT_OUT_SUCCEEDED }, 3,
		  PR_EXIT_OK },
		{ { RT_OUT_SUCCEEDED }, 0, PR_EXIT_OK },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (daemon_exit_status(t[i].o, t[i].n) != t[i].want)
			fail_msg("case %zu: %d, want %d", i,
				 daemon_exit_status(t[i].o, t[i].n), t[i].want);
}

static void test_status_single(void **state)
{
	struct daemon_status_item it = { "shop", "importing 2/3 datasets", true };
	char buf[128];

	(void)state;
	daemon_status_compose(&it, 1, NULL, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "importing 2/3 datasets");
	it.text = "idle, next run 2026-11-26T00:00:00Z";
	it.active = false;
	daemon_status_compose(&it, 1, "shop", "2026-11-26T00:00:00Z", buf,
			      sizeof(buf));
	assert_string_equal(buf, "idle, next run 2026-11-26T00:00:00Z");
}

static void test_status_several(void **state)
{
	struct daemon_status_item it[3] = {
		{ "shop", "training shop-20261125T1200-train", true },
		{ "news", "idle, next run 2026-11-26T00:00:00Z", false },
		{ "blog", "importing 1/2 datasets", true },
	};
	char buf[256];

	(void)state;
	daemon_status_compose(it, 3, "news", "2026-11-26T00:00:00Z", buf,
			      sizeof(buf));
	assert_string_equal(buf, "2 of 3 running: shop: training "
			    "shop-20261125T1200-train; blog: importing 1/2 "
			    "datasets");
	it[0].active = it[2].active = false;
	daemon_status_compose(it, 3, "news", "2026-11-26T00:00:00Z", buf,
			      sizeof(buf));
	assert_string_equal(buf, "idle, 3 pipelines, next run "
			    "2026-11-26T00:00:00Z (news)");
	daemon_status_compose(it, 3, NULL, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "idle, 3 pipelines");
	daemon_status_compose(NULL, 0, NULL, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "idle, 0 pipelines");
}

static void test_status_truncated(void **state)
{
	struct daemon_status_item it[2] = {
		{ "shop", "training a-rather-long-version-name", true },
		{ "news", "deploying another-long-name to campaign", true },
	};
	char buf[40];
	size_t len;

	(void)state;
	for (len = 1; len <= sizeof(buf); len++) {
		memset(buf, 'x', sizeof(buf));
		daemon_status_compose(it, 2, NULL, NULL, buf, len);
		assert_true(strlen(buf) < len);
		if (len > 4)
			assert_string_equal(buf + strlen(buf) - 3, "...");
	}
	daemon_status_compose(it, 2, NULL, NULL, buf, 0); /* no write */
}

static void test_spec_from_pipeline(void **state)
{
	static const char cfgtext[] =
		"ImportRoleArn=arn:aws:iam::123456789012:role/R\n"
		"SolutionArn=arn:aws:personalize:us-east-1:123456789012:solution/s\n"
		"ItemDatasetArn=arn:aws:personalize:us-east-1:123456789012:dataset/g/ITEMS\n"
		"S3ItemDatasourcePath=s3://bkt/items.csv\n"
		"UserInteractionDatasetArn=arn:aws:personalize:us-east-1:123456789012:dataset/g/INTERACTIONS\n"
		"S3UserInteractionDatasourcePath=s3://bkt/i.csv\n"
		"TrainingMode=UPDATE\n"
		"PollInterval=30\n";
	struct config *cfg = NULL;
	struct rt_spec spec;
	char err[128];

	(void)state;
	assert_int_equal(config_load_buffer("t.cfg", CONFIG_FORMAT_CFG, cfgtext,
					    sizeof(cfgtext) - 1, &cfg, NULL), 0);
	assert_int_equal(runner_spec_from_pipeline(&cfg->pipelines[0], 4, &spec), 0);
	assert_int_equal(spec.n_datasets, 2);
	assert_string_equal(spec.datasets[0].type, "Items");
	assert_string_equal(spec.datasets[1].type, "Interactions");
	assert_string_equal(spec.datasets[1].s3_path, "s3://bkt/i.csv");
	assert_null(spec.campaign_arn);
	assert_int_equal(spec.training_mode, RT_TRAIN_UPDATE);
	assert_int_equal(spec.poll_interval_s, 30);
	assert_int_equal(spec.max_consecutive_errors, 6); /* 4 + 2 per further dataset */
	assert_int_equal(runner_spec_from_pipeline(&cfg->pipelines[0], 0, &spec), 0);
	assert_int_equal(spec.max_consecutive_errors, 0);
	assert_true(spec.max_run_duration_s > 0);
	assert_int_equal(rt_spec_validate(&spec, err, sizeof(err)), 0);
	assert_int_equal(runner_spec_from_pipeline(NULL, 0, &spec), -EINVAL);
	config_free(cfg);
}

struct got {
	int calls;
	int error;
	char akid[64];
	bool had_token;
};

static void ready(int error, const struct sigv4_credentials *c, void *ctx)
{
	struct got *g = ctx;

	g->calls++;
	g->error = error;
	if (c && c->access_key_id)
		snprintf(g->akid, sizeof(g->akid), "%s", c->access_key_id);
	g->had_token = c && c->session_token && *c->session_token;
}

/* The creds chain behind the signer's interface: environment keys are
 * delivered at once, as sigv4 credentials without a token. */
static void test_credsprov(void **state)
{
	struct creds_chain_options o;
	struct creds_chain *ch = NULL;
	struct credsprov *cp = NULL;
	struct aws_creds_provider p;
	struct got g;
	sd_event *ev = NULL;
	int k;

	(void)state;
	assert_int_equal(sd_event_new(&ev), 0);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTESTPROVIDER", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret/for/test", 1);
	unsetenv("AWS_SESSION_TOKEN");
	memset(&o, 0, sizeof(o));
	o.event = ev;
	assert_int_equal(creds_chain_new(&o, &ch), 0);
	assert_int_equal(credsprov_new(ch, &cp), 0);
	assert_int_equal(credsprov_new(NULL, &cp), -EINVAL);
	credsprov_fill(cp, &p);
	memset(&g, 0, sizeof(g));
	k = p.get(p.impl, ready, &g);
	assert_int_equal(k, 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDTESTPROVIDER");
	assert_false(g.had_token);
	p.cancel(p.impl, &g); /* nothing pending: harmless */
	credsprov_free(cp);
	credsprov_free(NULL);
	creds_chain_free(ch);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	sd_event_unref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_result),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_status_single),
		cmocka_unit_test(test_status_several),
		cmocka_unit_test(test_status_truncated),
		cmocka_unit_test(test_spec_from_pipeline),
		cmocka_unit_test(test_credsprov),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
