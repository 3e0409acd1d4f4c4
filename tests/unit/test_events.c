/* test_events.c - run events on EventBridge (events.c): the Detail JSON
 * built from a run's data, the PutEvents body, the reply's failed
 * entries, the members checked against the EventBridge model, and the
 * queue's requests on the wire against the scripted loopback server (in
 * order, one at a time, signed for "events", a failure after the retries
 * and a refused entry not stopping the events after them) and the
 * endpoint the client resolves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aws-engine.h"
#include "aws-internal.h"
#include "call_fixture.h"
#include "events.h"
#include "log.h"
#include "loopback.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SOLUTION "arn:aws:personalize:eu-west-1:123456789012:solution/shop"
#define CAMPAIGN "arn:aws:personalize:eu-west-1:123456789012:campaign/shop"
#define VERSION SOLUTION "/0a1b2c3d"

static cJSON *parse_detail(const struct events_detail *d)
{
	char *text = events_detail_json(d);
	cJSON *o;

	assert_non_null(text);
	o = cJSON_Parse(text);
	free(text);
	assert_non_null(o);
	return o;
}

static const char *s_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void assert_null_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_non_null(v);  /* present, as null */
	assert_true(cJSON_IsNull(v));
}

static void test_detail(void **state)
{
	struct events_detail d = {
		.pipeline = "shop", .fire_time = 1796212800, /* 2026-12-02T12:00:00Z */
		.stage = "deploying", .outcome = "succeeded",
		.solution_version_arn = VERSION, .campaign_arn = CAMPAIGN,
		.duration_s = 5400, .reason = "",
	};
	cJSON *o;

	(void)state;
	/* the end of a run that succeeded */
	o = parse_detail(&d);
	assert_int_equal(cJSON_GetArraySize(o), 10);
	assert_string_equal(s_of(o, "pipeline"), "shop");
	assert_string_equal(s_of(o, "fireTime"), "2026-12-02T12:00:00Z");
	assert_string_equal(s_of(o, "stage"), "deploying");
	assert_string_equal(s_of(o, "outcome"), "succeeded");
	assert_string_equal(s_of(o, "solutionVersionArn"), VERSION);
	assert_string_equal(s_of(o, "campaignArn"), CAMPAIGN);
	assert_null_member(o, "batchOutput");
	assert_int_equal(cJSON_GetObjectItem(o, "durationSeconds")->valuedouble,
			 5400);
	assert_null_member(o, "reason");
	assert_null_member(o, "metrics");
	cJSON_Delete(o);
	/* a start: no outcome, no version yet, train only */
	d.stage = "started";
	d.outcome = NULL;
	d.solution_version_arn = "";
	d.campaign_arn = NULL;
	d.duration_s = 0;
	o = parse_detail(&d);
	assert_string_equal(s_of(o, "stage"), "started");
	assert_null_member(o, "outcome");
	assert_null_member(o, "solutionVersionArn");
	assert_null_member(o, "campaignArn");
	assert_int_equal(cJSON_GetObjectItem(o, "durationSeconds")->valuedouble, 0);
	cJSON_Delete(o);
	/* gated: the reason, and the gate's metric; a quote and a newline in
	 * the reason stay inside the JSON string */
	d.stage = "gating";
	d.outcome = "gated";
	d.reason = "ndcg \"0.2\" below\nthe floor";
	d.metric_name = "normalized_discounted_cumulative_gain_at_10";
	d.has_metric = true;
	d.metric_value = 0.25;
	o = parse_detail(&d);
	assert_string_equal(s_of(o, "reason"), "ndcg \"0.2\" below\nthe floor");
	{
		const cJSON *m = cJSON_GetObjectItem(o, "metrics");

		assert_true(cJSON_IsObject(m));
		assert_int_equal(cJSON_GetArraySize(m), 1);
		assert_true(cJSON_GetObjectItem(m, d.metric_name)->valuedouble == 0.25);
	}
	cJSON_Delete(o);
	/* a metric name without a value is no metric */
	d.has_metric = false;
	o = parse_detail(&d);
	assert_null_member(o, "metrics");
	cJSON_Delete(o);
	/* the batch job's output, once it is ACTIVE; "" is none */
	d.stage = "batch";
	d.outcome = "succeeded";
	d.batch_output = "s3://bkt/batch/out/";
	o = parse_detail(&d);
	assert_string_equal(s_of(o, "batchOutput"), "s3://bkt/batch/out/");
	assert_int_equal(cJSON_GetArraySize(o), 10);
	cJSON_Delete(o);
	d.batch_output = "";
	o = parse_detail(&d);
	assert_null_member(o, "batchOutput");
	cJSON_Delete(o);
	assert_null(events_detail_json(NULL));
}

static void test_body(void **state)
{
	const char *res[] = { SOLUTION, CAMPAIGN };
	const char *train_only[] = { SOLUTION, NULL };
	const cJSON *e, *r;
	cJSON *b;

	(void)state;
	b = events_put_body("arn:aws:events:eu-west-1:123456789012:event-bus/ops",
			    res, 2, "{\"stage\":\"started\"}");
	assert_non_null(b);
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "Entries")), 1);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "Entries"), 0);
	assert_string_equal(s_of(e, "Source"), "personalize-retrain");
	assert_string_equal(s_of(e, "DetailType"),
			    "Personalize Retraining Run State Change");
	assert_string_equal(s_of(e, "EventBusName"),
			    "arn:aws:events:eu-west-1:123456789012:event-bus/ops");
	assert_string_equal(s_of(e, "Detail"), "{\"stage\":\"started\"}");
	r = cJSON_GetObjectItem(e, "Resources");
	assert_int_equal(cJSON_GetArraySize(r), 2);
	assert_string_equal(cJSON_GetArrayItem(r, 0)->valuestring, SOLUTION);
	assert_string_equal(cJSON_GetArrayItem(r, 1)->valuestring, CAMPAIGN);
	cJSON_Delete(b);
	/* train only: no campaign among the resources */
	b = events_put_body("default", train_only, 2, "{}");
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "Entries"), 0);
	r = cJSON_GetObjectItem(e, "Resources");
	assert_int_equal(cJSON_GetArraySize(r), 1);
	assert_string_equal(s_of(e, "EventBusName"), "default");
	cJSON_Delete(b);
}

static void test_reply(void **state)
{
	const char *code, *msg;
	cJSON *r;

	(void)state;
	r = cJSON_Parse("{\"FailedEntryCount\":0,\"Entries\":[{\"EventId\":\"1\"}]}");
	assert_int_equal(events_reply_failed(r, &code, &msg), 0);
	assert_null(code);
	assert_null(msg);
	cJSON_Delete(r);
	r = cJSON_Parse("{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":"
			"\"InvalidArgument\",\"ErrorMessage\":\"Detail is malformed.\"}]}");
	assert_int_equal(events_reply_failed(r, &code, &msg), 1);
	assert_string_equal(code, "InvalidArgument");
	assert_string_equal(msg, "Detail is malformed.");
	cJSON_Delete(r);
	/* a count without entries: still failed, code unknown */
	r = cJSON_Parse("{\"FailedEntryCount\":1}");
	assert_int_equal(events_reply_failed(r, &code, NULL), 1);
	assert_null(code);
	cJSON_Delete(r);
	assert_int_equal(events_reply_failed(NULL, NULL, NULL), 0);
}

/* What the client sends and reads is what the EventBridge model names. */
static void test_model(void **state)
{
	static const char *const members[][2] = {
		{ "PutEventsRequest", "Entries" },
		{ "PutEventsRequestEntry", "Source" },
		{ "PutEventsRequestEntry", "DetailType" },
		{ "PutEventsRequestEntry", "Detail" },
		{ "PutEventsRequestEntry", "EventBusName" },
		{ "PutEventsRequestEntry", "Resources" },
		{ "PutEventsResponse", "FailedEntryCount" },
		{ "PutEventsResponse", "Entries" },
		{ "PutEventsResultEntry", "ErrorCode" },
		{ "PutEventsResultEntry", "ErrorMessage" },
	};
	const cJSON *s;
	cJSON *model;

	(void)state;
	model = call_fixture_model("EVENTS_MODEL_DIR", "tests/data/events");
	s = cJSON_GetObjectItem(model, "metadata");
	assert_string_equal(cJSON_GetObjectItem(s, "protocol")->valuestring, "json");
	assert_string_equal(cJSON_GetObjectItem(s, "jsonVersion")->valuestring, "1.1");
	assert_string_equal(cJSON_GetObjectItem(s, "endpointPrefix")->valuestring,
			    EVENTS_ENDPOINT_PREFIX);
	assert_string_equal(cJSON_GetObjectItem(s, "targetPrefix")->valuestring,
			    EVENTS_TARGET_PREFIX);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(model, "operations"),
					    "PutEvents"));
	call_fixture_model_members(model, members, ARRAY_SIZE(members));
	cJSON_Delete(model);
}

/* ---- the queue on the wire ---------------------------------------------- */

struct fixture {
	struct call_fixture cf;
	struct aws_client *aws;
	struct events_queue *q;
	int drained;
};

static void on_drained(void *ud)
{
	struct fixture *f = ud;

	f->drained++;
}

static int setup(void **state)
{
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	events_queue_free(f->q);
	aws_client_free(f->aws);
	return call_fixture_delete(&f->cf);
}

#define OK_REPLY "{\"FailedEntryCount\":0,\"Entries\":[{\"EventId\":\"e1\"}]}"
#define REFUSED "{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":" \
	"\"InvalidArgument\",\"ErrorMessage\":\"Parameter EventBusName is not valid.\"}]}"
#define JSON_CT "Content-Type: application/x-amz-json-1.1\r\n"

static void test_queue(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = {
		{ LB_REPLY, 200, JSON_CT, OK_REPLY },
		{ LB_REPLY, 200, JSON_CT, REFUSED },
		/* three attempts of the third event, all failing */
		{ LB_REPLY, 500, JSON_CT, "{\"__type\":\"InternalException\"}" },
		{ LB_REPLY, 500, JSON_CT, "{\"__type\":\"InternalException\"}" },
		{ LB_REPLY, 500, JSON_CT, "{\"__type\":\"InternalException\"}" },
		{ LB_REPLY, 200, JSON_CT, OK_REPLY },
	};
	static const char *const stages[] = {
		"started", "importing", "training", "deploying",
	};
	struct aws_client_config cfg;
	struct events_detail d = {
		.pipeline = "shop", .fire_time = 1796212800,
		.campaign_arn = CAMPAIGN,
	};
	char *log, *p, want[64];
	size_t i;

	call_fixture_serve(&f->cf, acts, ARRAY_SIZE(acts), "");
	events_client_config(&cfg, "eu-west-1", f->cf.url);
	cfg.max_attempts = 3;
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg,
					&f->cf.creds, &f->aws), 0);
	call_fixture_attach(&f->cf, f->aws->engine);
	assert_int_equal(events_queue_new(f->aws, "default", "shop", on_drained,
					  f, &f->q), 0);
	/* four events queued at once: sent one after the other, in order */
	for (i = 0; i < ARRAY_SIZE(stages); i++) {
		d.stage = stages[i];
		assert_int_equal(events_queue_send(f->q, &d, SOLUTION), 0);
	}
	assert_int_equal(events_queue_pending(f->q), 4);
	call_fixture_run_until(&f->cf, &f->drained, 1);
	assert_int_equal(events_queue_pending(f->q), 0);
	/* 1 + 1 + 3 attempts + 1 */
	assert_int_equal(lb_requests(&f->cf.lb), 6);
	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	assert_non_null(strstr(log, "X-Amz-Target: AWSEvents.PutEvents"));
	assert_non_null(strstr(log, "/eu-west-1/events/aws4_request"));
	assert_non_null(strstr(log, "application/x-amz-json-1.1"));
	p = log;
	for (i = 0; i < ARRAY_SIZE(stages); i++) {
		snprintf(want, sizeof(want), "\\\"stage\\\":\\\"%s\\\"", stages[i]);
		p = strstr(p, want);
		if (!p)
			fail_msg("event %s not sent after the ones before it",
				 stages[i]);
		p++;
	}
	assert_non_null(strstr(log, "\"Source\":\"personalize-retrain\""));
	assert_non_null(strstr(log, "\"EventBusName\":\"default\""));
	assert_non_null(strstr(log, "\"Resources\":[\"" SOLUTION "\",\"" CAMPAIGN "\"]"));
	free(log);
	/* the endpoint: AWS's regional one, AWS_ENDPOINT_URL_EVENTS over it,
	 * and EndpointUrl over both */
	{
		struct aws_client *c = NULL;

		events_client_config(&cfg, "eu-west-1", NULL);
		assert_string_equal(cfg.signing_name, "events");
		assert_string_equal(cfg.target_prefix, "AWSEvents");
		assert_int_equal(cfg.total_timeout_ms, EVENTS_TOTAL_TIMEOUT_MS);
		assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg,
						&f->cf.creds, &c), 0);
		assert_string_equal(c->endpoint,
				    "https://events.eu-west-1.amazonaws.com");
		aws_client_free(c);
		setenv("AWS_ENDPOINT_URL_EVENTS", "http://127.0.0.1:9", 1);
		assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg,
						&f->cf.creds, &c), 0);
		assert_string_equal(c->endpoint, "http://127.0.0.1:9");
		aws_client_free(c);
		events_client_config(&cfg, "eu-west-1", f->cf.url);
		assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg,
						&f->cf.creds, &c), 0);
		assert_string_equal(c->endpoint, f->cf.url);
		aws_client_free(c);
		unsetenv("AWS_ENDPOINT_URL_EVENTS");
	}
	/* bad arguments */
	assert_int_equal(events_queue_new(f->aws, "", "shop", NULL, NULL,
					  &f->q), -EINVAL);
	assert_int_equal(events_queue_send(NULL, &d, SOLUTION), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_model),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
	};

	call_fixture_environment("EVENTS");
	log_init(LOG_TARGET_STDERR, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
