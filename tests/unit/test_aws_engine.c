/* test_aws_engine.c - the call engine every AWS client runs on
 * (aws_engine.c) and the retry policy it holds (aws_retry.c): retry
 * decisions and final classes, backoff bounds, the retry quota, the
 * retrier, HTTP dates (tables); then whole calls of a small test protocol
 * against the scripted loopback server: an unsigned call, the protocol's
 * hooks (retry_kind, observe, finalize), the request freed once on
 * success, cancel and engine free, a call without a credentials provider.
 * The protocol adapters' own tests are test_aws.c (JSON 1.1), test_s3.c
 * (REST HEAD) and test_sts.c (Query/XML). */
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

#include <math.h>

#include "aws-engine.h"
#include "aws-internal.h"
#include "call_fixture.h"
#include "log.h"
#include "loopback.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- retry decisions --------------------------------------------------------- */

struct retry_case {
	enum http_error transport;
	long status;
	const char *code, *message;
	enum aws_retry_kind want;
	enum aws_error_class cls;
};

static void test_retry_table(void **state)
{
	static const struct retry_case cases[] = {
		{ HTTP_ERR_TIMEOUT, 0, NULL, NULL, AWS_RETRY_TIMEOUT, AWS_ERR_UNAVAILABLE },
		{ HTTP_ERR_RESET, 0, NULL, NULL, AWS_RETRY_CONNECTION, AWS_ERR_UNAVAILABLE },
		{ HTTP_ERR_CONNECT, 0, NULL, NULL, AWS_RETRY_CONNECTION, AWS_ERR_UNAVAILABLE },
		{ HTTP_ERR_DNS, 0, NULL, NULL, AWS_RETRY_CONNECTION, AWS_ERR_UNAVAILABLE },
		{ HTTP_ERR_TLS, 0, NULL, NULL, AWS_RETRY_CONNECTION, AWS_ERR_UNAVAILABLE },
		{ HTTP_ERR_PROTOCOL, 0, NULL, NULL, AWS_RETRY_NO, AWS_ERR_MALFORMED_REPLY },
		{ HTTP_ERR_TOO_LARGE, 0, NULL, NULL, AWS_RETRY_NO, AWS_ERR_MALFORMED_REPLY },
		{ HTTP_ERR_INTERNAL, 0, NULL, NULL, AWS_RETRY_NO, AWS_ERR_INTERNAL },
		{ HTTP_OK, 400, "ThrottlingException", "Rate exceeded", AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 400, "Throttling", NULL, AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 400, "TooManyRequestsException", NULL, AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 400, "ProvisionedThroughputExceededException", NULL, AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 400, "RequestLimitExceeded", NULL, AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 503, "SlowDown", NULL, AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 400, "LimitExceededException", NULL, AWS_RETRY_THROTTLING, AWS_ERR_LIMIT_EXCEEDED },
		{ HTTP_OK, 429, "", NULL, AWS_RETRY_THROTTLING, AWS_ERR_THROTTLED },
		{ HTTP_OK, 500, "", NULL, AWS_RETRY_TRANSIENT, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 502, NULL, NULL, AWS_RETRY_TRANSIENT, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 503, "ServiceUnavailable", NULL, AWS_RETRY_TRANSIENT, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 504, "", NULL, AWS_RETRY_TRANSIENT, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 500, "InternalFailure", NULL, AWS_RETRY_TRANSIENT, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 400, "RequestTimeoutException", NULL, AWS_RETRY_TRANSIENT, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 501, "", NULL, AWS_RETRY_NO, AWS_ERR_TRANSIENT },
		{ HTTP_OK, 400, "InvalidInputException", "bad", AWS_RETRY_NO, AWS_ERR_CLIENT },
		{ HTTP_OK, 400, "ValidationException", NULL, AWS_RETRY_NO, AWS_ERR_CLIENT },
		{ HTTP_OK, 400, "SerializationException", NULL, AWS_RETRY_NO, AWS_ERR_CLIENT },
		{ HTTP_OK, 400, "InvalidNextTokenException", NULL, AWS_RETRY_NO, AWS_ERR_CLIENT },
		{ HTTP_OK, 400, "ResourceNotFoundException", NULL, AWS_RETRY_NO, AWS_ERR_NOT_FOUND },
		{ HTTP_OK, 400, "ResourceAlreadyExistsException", NULL, AWS_RETRY_NO, AWS_ERR_ALREADY_EXISTS },
		{ HTTP_OK, 400, "ResourceInUseException", NULL, AWS_RETRY_NO, AWS_ERR_IN_USE },
		{ HTTP_OK, 400, "AccessDeniedException", NULL, AWS_RETRY_NO, AWS_ERR_AUTH },
		{ HTTP_OK, 400, "UnrecognizedClientException", NULL, AWS_RETRY_NO, AWS_ERR_AUTH },
		{ HTTP_OK, 400, "ExpiredTokenException", NULL, AWS_RETRY_CREDENTIALS, AWS_ERR_AUTH },
		{ HTTP_OK, 400, "ExpiredToken", NULL, AWS_RETRY_CREDENTIALS, AWS_ERR_AUTH },
		{ HTTP_OK, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match", AWS_RETRY_CREDENTIALS, AWS_ERR_AUTH },
		{ HTTP_OK, 403, "InvalidClientTokenId", NULL, AWS_RETRY_NO, AWS_ERR_AUTH },
		{ HTTP_OK, 403, "", NULL, AWS_RETRY_NO, AWS_ERR_AUTH },
		{ HTTP_OK, 404, "", NULL, AWS_RETRY_NO, AWS_ERR_CLIENT },
		{ HTTP_OK, 400, "SomethingNew", NULL, AWS_RETRY_NO, AWS_ERR_CLIENT },
		{ HTTP_OK, 400, "InvalidSignatureException",
		  "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)",
		  AWS_RETRY_CLOCK_SKEW, AWS_ERR_AUTH },
		{ HTTP_OK, 403, "InvalidSignatureException",
		  "Signature not yet current: 20270101T000000Z is still later than ...",
		  AWS_RETRY_CLOCK_SKEW, AWS_ERR_AUTH },
		{ HTTP_OK, 403, "InvalidSignatureException",
		  "The request signature we calculated does not match the signature you provided.",
		  AWS_RETRY_CREDENTIALS, AWS_ERR_AUTH },
		{ HTTP_OK, 403, "RequestTimeTooSkewed", NULL, AWS_RETRY_CLOCK_SKEW, AWS_ERR_AUTH },
		{ HTTP_OK, 400, "RequestExpired", NULL, AWS_RETRY_CLOCK_SKEW, AWS_ERR_AUTH },
		{ HTTP_OK, 200, NULL, NULL, AWS_RETRY_NO, AWS_ERR_NONE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct retry_case *c = &cases[i];
		enum aws_retry_kind k = aws_retry_classify(c->transport,
							   c->status, c->code,
							   c->message);
		enum aws_error_class e = aws_error_classify(c->transport,
							    c->status, c->code);

		if (k != c->want || e != c->cls)
			fail_msg("case %zu (%ld %s): retry %d want %d, class %s want %s",
				 i, c->status, c->code ? c->code : "-", k,
				 c->want, aws_error_class_name(e),
				 aws_error_class_name(c->cls));
	}
}

static void test_backoff_bounds(void **state)
{
	static const double rnds[] = { 0.0, 1e-9, 0.25, 0.5, 0.75, 0.999999,
				       1.0, 1.5, -0.5 };
	unsigned retry;
	size_t i;

	(void)state;
	assert_int_equal(aws_backoff_ms(1, 0.5, 1000, 20000), 500);
	assert_int_equal(aws_backoff_ms(2, 0.5, 1000, 20000), 1000);
	assert_int_equal(aws_backoff_ms(3, 0.5, 1000, 20000), 2000);
	assert_int_equal(aws_backoff_ms(5, 0.5, 1000, 20000), 8000);
	assert_int_equal(aws_backoff_ms(6, 0.5, 1000, 20000), 10000);
	assert_int_equal(aws_backoff_ms(64, 0.5, 1000, 20000), 10000);
	assert_int_equal(aws_backoff_ms(1000, 0.5, 1000, 20000), 10000);
	assert_int_equal(aws_backoff_ms(0, 0.5, 1000, 20000), 0);
	assert_int_equal(aws_backoff_ms(3, 0.0, 1000, 20000), 0);
	assert_int_equal(aws_backoff_ms(3, NAN, 1000, 20000), 0);
	for (retry = 1; retry < 70; retry++) {
		uint64_t ceil = 1000;
		unsigned k;

		for (k = 1; k < retry && ceil < 20000; k++)
			ceil *= 2;
		if (ceil > 20000)
			ceil = 20000;
		for (i = 0; i < ARRAY_SIZE(rnds); i++) {
			uint32_t d = aws_backoff_ms(retry, rnds[i], 1000, 20000);

			assert_true(d < ceil);  /* full jitter: [0, ceil) */
			assert_true(d < 20000);
		}
	}
}

static void test_quota(void **state)
{
	struct aws_retry_quota q;
	unsigned i;

	(void)state;
	aws_quota_init(&q, AWS_RETRY_QUOTA_CAPACITY);
	assert_int_equal(q.tokens, 500);
	assert_int_equal(aws_quota_acquire(&q, false), 5);
	assert_int_equal(q.tokens, 495);
	assert_int_equal(aws_quota_acquire(&q, true), 10);
	assert_int_equal(q.tokens, 485);
	aws_quota_release(&q, 10);
	assert_int_equal(q.tokens, 495);
	aws_quota_release(&q, 0);
	assert_int_equal(q.tokens, 496);
	for (i = 0; i < 10; i++)
		aws_quota_release(&q, 0);
	assert_int_equal(q.tokens, 500);  /* never above capacity */
	for (i = 0; i < 100; i++)
		assert_int_equal(aws_quota_acquire(&q, false), 5);
	assert_int_equal(q.tokens, 0);
	assert_int_equal(aws_quota_acquire(&q, false), 0);
	q.tokens = 7;
	assert_int_equal(aws_quota_acquire(&q, true), 0);
	assert_int_equal(q.tokens, 7);
	assert_int_equal(aws_quota_acquire(&q, false), 5);
}

static double fixed_rng(void *ud)
{
	return *(const double *)ud;
}

static time_t fixed_now(void *ud)
{
	(void)ud;
	return 1700000000;
}

/* test_retrier sets AWS_MAX_ATTEMPTS: never left behind for the tests
 * after it, whether it passed or not */
static int unset_max_attempts(void **state)
{
	(void)state;
	unsetenv("AWS_MAX_ATTEMPTS");
	return 0;
}

/* The retry machinery both clients share: attempts, quota, backoff,
 * AWS_MAX_ATTEMPTS, the signing time. */
static void test_retrier(void **state)
{
	double rnd = 0.5;
	struct aws_test_hooks h = { .rng = fixed_rng, .now = fixed_now,
				    .userdata = &rnd };
	struct aws_retrier r;
	unsigned cost = 99;

	(void)state;
	unsetenv("AWS_MAX_ATTEMPTS");
	assert_int_equal(aws_retrier_init(&r, 0, "test"), 0);
	assert_int_equal(r.max_attempts, AWS_DEFAULT_MAX_ATTEMPTS);
	assert_int_equal(r.quota.tokens, AWS_RETRY_QUOTA_CAPACITY);
	call_fixture_set_hooks(&r, &h);
	/* after attempt 1: half of the base; after 2: half of twice it */
	assert_int_equal(aws_retrier_next(&r, 1, false, &cost), AWS_BACKOFF_BASE_MS / 2);
	assert_int_equal(cost, AWS_RETRY_COST);
	assert_int_equal(aws_retrier_next(&r, 2, true, &cost), AWS_BACKOFF_BASE_MS);
	assert_int_equal(cost, AWS_RETRY_TIMEOUT_COST);
	assert_int_equal(r.quota.tokens, AWS_RETRY_QUOTA_CAPACITY - AWS_RETRY_COST -
					 AWS_RETRY_TIMEOUT_COST);
	/* the last attempt: no retry, nothing taken */
	assert_int_equal(aws_retrier_next(&r, 3, false, &cost), -E2BIG);
	assert_int_equal(r.quota.tokens, AWS_RETRY_QUOTA_CAPACITY - AWS_RETRY_COST -
					 AWS_RETRY_TIMEOUT_COST);
	/* a quota that cannot pay: no retry, nothing taken */
	h.set_retry_tokens = true;
	h.retry_tokens = AWS_RETRY_COST - 1;
	call_fixture_set_hooks(&r, &h);
	assert_int_equal(aws_retrier_next(&r, 1, false, &cost), -ENOSPC);
	assert_int_equal(r.quota.tokens, AWS_RETRY_COST - 1);
	h.retry_tokens = 100000;  /* capped at the capacity */
	call_fixture_set_hooks(&r, &h);
	assert_int_equal(r.quota.tokens, AWS_RETRY_QUOTA_CAPACITY);
	/* the signing time: the host's clock plus the learnt offset */
	r.clock_offset = -30;
	assert_int_equal(aws_retrier_signing_time(&r), 1700000000 - 30);
	/* attempts: the caller's, else AWS_MAX_ATTEMPTS, in range */
	assert_int_equal(aws_retrier_init(&r, 1, "test"), 0);
	assert_int_equal(aws_retrier_next(&r, 1, false, &cost), -E2BIG);
	assert_int_equal(aws_retrier_init(&r, AWS_MAX_MAX_ATTEMPTS + 1, "test"), -EINVAL);
	setenv("AWS_MAX_ATTEMPTS", "7", 1);
	assert_int_equal(aws_retrier_init(&r, 0, "test"), 0);
	assert_int_equal(r.max_attempts, 7);
	assert_int_equal(aws_retrier_init(&r, 2, "test"), 0);
	assert_int_equal(r.max_attempts, 2);  /* the caller's wins */
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	assert_int_equal(aws_retrier_init(&r, 0, "test"), -EINVAL);
	setenv("AWS_MAX_ATTEMPTS", "three", 1);
	assert_int_equal(aws_retrier_init(&r, 0, "test"), -EINVAL);
	assert_int_equal(r.max_attempts, 2);  /* a refusal leaves r alone */
}

static void test_http_date(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(aws_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	assert_int_equal((long long)t, 784111777LL);
	assert_int_equal(aws_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
	assert_int_equal((long long)t, 784111777LL);
	assert_int_equal(aws_parse_http_date("Sun Nov  6 08:49:37 1994", &t), 0);
	assert_int_equal((long long)t, 784111777LL);
	assert_int_equal(aws_parse_http_date("Wed, 25 Nov 2026 12:00:00 GMT", &t), 0);
	assert_int_equal(aws_parse_http_date("yesterday", &t), -EINVAL);
	assert_int_equal(aws_parse_http_date("", &t), -EINVAL);
	assert_int_equal(aws_parse_http_date(NULL, &t), -EINVAL);
	assert_int_equal(aws_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT x", &t), -EINVAL);
	assert_int_equal(aws_parse_http_date("Sun, 36 Nov 1994 08:49:37 GMT", &t), -EINVAL);
}


/* ---- the engine with a test protocol ----------------------------------------- */

struct test_req {
	char url[160];
	int built;
	int signed_builds;
	int observed;
	int finalized;
	int *freed;
	struct http_header hdr[1];
};

struct test_result {
	int calls;
	enum aws_error_class error;
	char code[64];
	char reply[64];
	unsigned attempts;
	long status;
};

static int tp_build(void *req, const struct sigv4_credentials *creds,
		    time_t now, struct http_request_spec *spec)
{
	struct test_req *t = req;

	(void)now;
	t->built++;
	if (creds)
		t->signed_builds++;
	t->hdr[0] = (struct http_header){ "X-Test", "1" };
	spec->method = "GET";
	spec->url = t->url;
	spec->headers = t->hdr;
	spec->n_headers = 1;
	return 0;
}

static int tp_decode_reply(void *req, const struct http_response *resp,
			   void **reply, const char **why)
{
	(void)req;
	if (strcmp(resp->body, "bad") == 0) {
		*why = "bad body";
		return -EBADMSG;
	}
	*reply = strdup(resp->body);
	return *reply ? 0 : -ENOMEM;
}

static int tp_decode_error(const struct http_response *resp,
			   struct aws_error_info *out)
{
	const char *c = http_response_header(resp, "x-test-code");

	out->code = strdup(c ? c : "");
	out->message = strdup("test message");
	return out->code && out->message ? 0 : -ENOMEM;
}

/* 418 is retried as if it were throttling: the protocol decides */
static enum aws_retry_kind tp_retry_kind(void *req, const struct aws_engine *e,
					 const struct http_response *resp,
					 const char *code, const char *message)
{
	(void)req;
	(void)e;
	if (resp->status == 418)
		return AWS_RETRY_THROTTLING;
	return aws_retry_classify(HTTP_OK, resp->status, code, message);
}

static void tp_observe(void *req, const struct http_response *resp)
{
	struct test_req *t = req;

	(void)resp;
	t->observed++;
}

static void tp_finalize(void *req, struct aws_engine_result *res)
{
	struct test_req *t = req;

	t->finalized++;
	if (res->status == 404)
		res->code = "TestNotFound";
}

static void tp_req_free(void *req)
{
	struct test_req *t = req;

	(*t->freed)++;
	free(t);
}

static const struct aws_protocol test_protocol = {
	.name = "test",
	.build = tp_build,
	.decode_reply = tp_decode_reply,
	.free_reply = free,
	.decode_error = tp_decode_error,
	.retry_kind = tp_retry_kind,
	.observe = tp_observe,
	.finalize = tp_finalize,
};

struct engine_fixture {
	struct call_fixture cf;
	struct aws_engine *engine;
	int freed;
};

static int engine_setup(void **state)
{
	return call_fixture_new(state, sizeof(struct engine_fixture));
}

static int engine_teardown(void **state)
{
	struct engine_fixture *f = *state;

	aws_engine_free(f->engine);
	return call_fixture_delete(&f->cf);
}

static void engine_start(struct engine_fixture *f, const struct lb_action *a,
			 size_t n, bool with_creds)
{
	struct aws_engine_config cfg = { .log_name = "test" };

	call_fixture_serve(&f->cf, a, n, "/x");
	assert_int_equal(aws_engine_new(f->cf.event, f->cf.http, &cfg,
					with_creds ? &f->cf.creds : NULL,
					&f->engine), 0);
	call_fixture_attach(&f->cf, f->engine);
}

static void on_test_done(const struct aws_engine_result *res, void *userdata)
{
	struct test_result *r = userdata;

	r->calls++;
	r->error = res->error;
	r->attempts = res->attempts;
	r->status = res->status;
	assert_non_null(res->code);
	assert_non_null(res->message);
	snprintf(r->code, sizeof(r->code), "%s", res->code);
	snprintf(r->reply, sizeof(r->reply), "%s",
		 res->reply ? (const char *)res->reply : "");
}

static struct test_req *new_req(struct engine_fixture *f)
{
	struct test_req *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->url, sizeof(t->url), "%s", f->cf.url);
	t->freed = &f->freed;
	return t;
}

static void engine_call(struct engine_fixture *f, struct test_req *t,
			bool unsigned_request, struct test_result *r)
{
	struct aws_engine_call_spec spec = {
		.proto = &test_protocol, .req = t, .req_free = tp_req_free,
		.operation = "TestOp", .label = "TestOp thing",
		.unsigned_request = unsigned_request,
		.done = on_test_done, .userdata = r,
	};

	assert_int_equal(aws_engine_call(f->engine, &spec, NULL), 0);
	assert_int_equal(r->calls, 0);  /* never synchronous */
	call_fixture_run_until(&f->cf, &r->calls, 1);
}

static void test_engine_unsigned_and_hooks(void **state)
{
	struct engine_fixture *f = *state;
	static const struct lb_action acts[] = {
		{ LB_REPLY, 418, "x-test-code: Teapot\r\n", "" },
		{ LB_REPLY, 200, "", "hello" },
		{ LB_REPLY, 404, "x-test-code: Gone\r\n", "" },
		{ LB_REPLY, 200, "", "bad" },
	};
	struct test_result r = { 0 };
	struct test_req *t;
	char *log;

	engine_start(f, acts, ARRAY_SIZE(acts), false);
	/* unsigned: no provider needed; 418 retried by the protocol's say */
	t = new_req(f);
	engine_call(f, t, true, &r);
	assert_int_equal(r.error, AWS_ERR_NONE);
	assert_string_equal(r.reply, "hello");
	assert_int_equal(r.attempts, 2);
	assert_int_equal(f->freed, 1);
	assert_int_equal(f->cf.metrics_calls, 1);
	assert_string_equal(f->cf.last_op, "TestOp");
	/* a final error goes through finalize (which renames the code) */
	memset(&r, 0, sizeof(r));
	t = new_req(f);
	engine_call(f, t, true, &r);
	assert_int_equal(r.error, AWS_ERR_CLIENT);
	assert_string_equal(r.code, "TestNotFound");
	assert_int_equal(f->freed, 2);
	/* a 2xx the protocol cannot decode */
	memset(&r, 0, sizeof(r));
	engine_call(f, new_req(f), true, &r);
	assert_int_equal(r.error, AWS_ERR_MALFORMED_REPLY);
	assert_string_equal(r.code, "MalformedReply");
	assert_int_equal(f->freed, 3);
	assert_int_equal(aws_engine_in_flight(f->engine), 0);
	/* four requests, none signed */
	assert_int_equal(lb_requests(&f->cf.lb), 4);
	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	assert_null(strcasestr(log, "Authorization:"));
	assert_non_null(strstr(log, "X-Test: 1"));
	free(log);
}

static void test_engine_signed_needs_provider(void **state)
{
	struct engine_fixture *f = *state;
	static const struct lb_action acts[] = { { LB_REPLY, 200, "", "x" } };
	struct test_result r = { 0 };

	engine_start(f, acts, ARRAY_SIZE(acts), false);
	engine_call(f, new_req(f), false, &r);
	assert_int_equal(r.error, AWS_ERR_AUTH);
	assert_string_equal(r.code, "CredentialsUnavailable");
	assert_int_equal(r.attempts, 0);
	assert_int_equal(f->freed, 1);
}

static void test_engine_signed_and_freed(void **state)
{
	struct engine_fixture *f = *state;
	static const struct lb_action acts[] = { { LB_REPLY, 200, "", "ok" } };
	struct aws_engine_call_spec spec = {
		.proto = &test_protocol, .req_free = tp_req_free,
		.operation = "TestOp", .done = on_test_done,
	};
	struct test_result r = { 0 };
	struct aws_engine_call *call = NULL;
	struct test_req *t;

	engine_start(f, acts, ARRAY_SIZE(acts), true);
	t = new_req(f);
	engine_call(f, t, false, &r);
	assert_int_equal(r.error, AWS_ERR_NONE);
	assert_int_equal(f->freed, 1);
	/* a cancelled call frees its request, no callback */
	spec.req = new_req(f);
	spec.userdata = &r;
	assert_int_equal(aws_engine_call(f->engine, &spec, &call), 0);
	aws_engine_call_cancel(call);
	assert_int_equal(f->freed, 2);
	/* freeing the engine frees the requests of calls in flight */
	spec.req = new_req(f);
	assert_int_equal(aws_engine_call(f->engine, &spec, NULL), 0);
	assert_int_equal(aws_engine_in_flight(f->engine), 1);
	f->engine = aws_engine_free(f->engine);
	assert_int_equal(f->freed, 3);
	assert_int_equal(r.calls, 1);
	/* bad arguments */
	assert_int_equal(aws_engine_call(NULL, &spec, NULL), -EINVAL);
}

static void test_engine_bad_specs(void **state)
{
	struct engine_fixture *f = *state;
	struct aws_engine_config cfg = { .log_name = "test" };
	struct aws_engine_call_spec spec = {
		.proto = &test_protocol, .operation = "TestOp",
		.done = on_test_done,
	};

	assert_int_equal(aws_engine_new(f->cf.event, f->cf.http, &cfg, NULL,
					&f->engine), 0);
	spec.operation = "";
	assert_int_equal(aws_engine_call(f->engine, &spec, NULL), -EINVAL);
	spec.operation = "TestOp";
	spec.done = NULL;
	assert_int_equal(aws_engine_call(f->engine, &spec, NULL), -EINVAL);
	spec.done = on_test_done;
	spec.proto = NULL;
	assert_int_equal(aws_engine_call(f->engine, &spec, NULL), -EINVAL);
	cfg.max_attempts = AWS_MAX_MAX_ATTEMPTS + 1;
	assert_int_equal(aws_engine_new(f->cf.event, f->cf.http, &cfg, NULL,
					&f->engine), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_table),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_quota),
		cmocka_unit_test_teardown(test_retrier, unset_max_attempts),
		cmocka_unit_test(test_http_date),
		cmocka_unit_test_setup_teardown(test_engine_unsigned_and_hooks,
						engine_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_engine_signed_needs_provider,
						engine_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_engine_signed_and_freed,
						engine_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_engine_bad_specs,
						engine_setup, engine_teardown),
	};

	call_fixture_environment(NULL);
	log_init(LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
