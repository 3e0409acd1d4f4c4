/* test_aws.c - the JSON 1.1 client: error decoding, reply decoding,
 * endpoint resolution, retry decisions, final classes, backoff bounds, the
 * retry quota, HTTP dates (tables); then whole calls against a scripted
 * loopback server: throttling, 5xx, resets, stalls, malformed replies,
 * clock skew, quota exhaustion, AWS_MAX_ATTEMPTS, cancellation, and the
 * signature of what was sent verified by the sigv4 verifier. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "aws.h"
#include "aws-engine.h"
#include "aws-internal.h"
#include "log.h"
#include "call_fixture.h"
#include "loopback.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* total timeout for requests the loopback server never answers */
#define STALL_TIMEOUT_MS 500

#define test_creds call_fixture_creds

/* ---- error decoding ------------------------------------------------------ */

struct error_case {
	const char *header;
	const char *body;
	const char *code;
	const char *message;
};

static void test_decode_error(void **state)
{
	static const struct error_case cases[] = {
		{ NULL, "{\"__type\":\"com.amazonaws.personalize#ResourceNotFoundException\",\"message\":\"Could not find resource\"}",
		  "ResourceNotFoundException", "Could not find resource" },
		{ NULL, "{\"__type\":\"ThrottlingException\",\"Message\":\"Rate exceeded\"}",
		  "ThrottlingException", "Rate exceeded" },
		{ "InvalidInputException:http://internal.amazon.com/coral/com.amazonaws.personalize/",
		  "{\"message\":\"bad input\"}", "InvalidInputException", "bad input" },
		{ "ResourceInUseException", "{\"__type\":\"x#Other\",\"message\":\"busy\"}",
		  "ResourceInUseException", "busy" },
		{ "", "{\"__type\":\"x#LimitExceededException\"}",
		  "LimitExceededException", "" },
		{ "  com.amazon.coral.service#UnrecognizedClientException  ", NULL,
		  "UnrecognizedClientException", "" },
		{ NULL, "{\"__type\":\"a.b#c#Code:http://x/y\"}", "Code", "" },
		{ NULL, "{\"code\":\"ValidationException\",\"message\":\"x\"}",
		  "ValidationException", "x" },
		{ NULL, "{\"__type\":\"X\",\"message\":\"a\\nb\\u0001c\"}", "X", "a b c" },
		{ NULL, "<html><body>503 Service Unavailable</body></html>", "", "" },
		{ NULL, "{\"__type\":\"LimitExceededException\",\"mess", "", "" },
		{ NULL, "", "", "" },
		{ NULL, "[1,2]", "", "" },
		{ NULL, "null", "", "" },
		{ NULL, "{\"__type\":123,\"message\":5}", "", "" },
		{ NULL, "{\"__type\":\"\"}", "", "" },
		{ "Bad\x01" "Code", NULL, "BadCode", "" },
		{ NULL, "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request signature we calculated does not match the signature you provided.\\n\\nThe Canonical String for this request should have been\\n'POST\\n/\\n\\nhost:x\\nx-amz-security-token:SECRETTOKEN\\n'\\n\\nThe String-to-Sign should have been\\n'AWS4-HMAC-SHA256...'\"}",
		  "InvalidSignatureException",
		  "The request signature we calculated does not match the signature you provided." },
		{ NULL, "{\"__type\":\"IncompleteSignatureException\",\"message\":\"Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKID/x, Signature=abc\"}",
		  "IncompleteSignatureException",
		  "Authorization header requires 'Credential' parameter." },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct aws_error_info e = { NULL, NULL };
		const char *b = cases[i].body;

		assert_int_equal(aws_decode_error(cases[i].header, b,
						  b ? strlen(b) : 0, &e), 0);
		if (strcmp(e.code, cases[i].code) ||
		    strcmp(e.message, cases[i].message))
			fail_msg("case %zu: got (%s, %s), want (%s, %s)", i,
				 e.code, e.message, cases[i].code,
				 cases[i].message);
		aws_error_info_free(&e);
		aws_error_info_free(&e);  /* idempotent */
	}
}

static void test_decode_error_long_message(void **state)
{
	struct aws_error_info e = { NULL, NULL };
	char body[5000];
	size_t n;

	(void)state;
	n = (size_t)snprintf(body, sizeof(body), "{\"__type\":\"X\",\"message\":\"");
	memset(body + n, 'm', 4000);
	n += 4000;
	snprintf(body + n, sizeof(body) - n, "\"}");
	assert_int_equal(aws_decode_error(NULL, body, strlen(body), &e), 0);
	assert_true(strlen(e.message) <= 1024);
	assert_true(strlen(e.message) > 100);
	aws_error_info_free(&e);
}

struct reply_case {
	const char *content_type;
	const char *body;
	int want;
};

static void test_decode_reply(void **state)
{
	static const struct reply_case cases[] = {
		{ "application/x-amz-json-1.1", "{\"a\":1}", 0 },
		{ "application/json; charset=utf-8", "{}", 0 },
		{ "Application/X-Amz-Json-1.1", " {} \n", 0 },
		{ NULL, "{\"campaign\":{}}", 0 },
		{ "text/html", "{}", -EBADMSG },
		{ "application/x-amz-json-1.10", "{}", -EBADMSG },
		{ "application/x-amz-json-1.1", "", -EBADMSG },
		{ "application/x-amz-json-1.1", "{\"a\":", -EBADMSG },
		{ "application/x-amz-json-1.1", "[1]", -EBADMSG },
		{ "application/x-amz-json-1.1", "{} x", -EBADMSG },
		{ "application/x-amz-json-1.1", "{}{}", -EBADMSG },
		{ "application/x-amz-json-1.1", "null", -EBADMSG },
		{ "application/x-amz-json-1.1", "\"str\"", -EBADMSG },
		{ "application/x-amz-json-1.1", "<html>", -EBADMSG },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cJSON *j = NULL;
		const char *why = NULL;
		int r = aws_decode_reply(cases[i].content_type, cases[i].body,
					 strlen(cases[i].body), &j, &why);

		if (r != cases[i].want)
			fail_msg("case %zu: got %d want %d", i, r,
				 cases[i].want);
		if (r == 0) {
			assert_true(cJSON_IsObject(j));
			cJSON_Delete(j);
		} else {
			assert_null(j);
			assert_non_null(why);
		}
	}
	/* NULL body with a length of 0 */
	{
		cJSON *j = NULL;
		const char *why = NULL;

		assert_int_equal(aws_decode_reply(NULL, NULL, 0, &j, &why),
				 -EBADMSG);
	}
}

/* ---- endpoint -------------------------------------------------------------- */

struct endpoint_case {
	const char *config, *env_svc, *env_all, *ignore, *region;
	const char *want;  /* NULL: -EINVAL */
};

static void set_or_unset(const char *name, const char *v)
{
	if (v)
		setenv(name, v, 1);
	else
		unsetenv(name);
}

static void test_endpoint(void **state)
{
	static const struct endpoint_case cases[] = {
		{ NULL, NULL, NULL, NULL, "us-east-1",
		  "https://personalize.us-east-1.amazonaws.com" },
		{ NULL, NULL, NULL, NULL, "eu-west-1",
		  "https://personalize.eu-west-1.amazonaws.com" },
		{ NULL, NULL, NULL, NULL, "cn-north-1",
		  "https://personalize.cn-north-1.amazonaws.com.cn" },
		{ NULL, NULL, NULL, NULL, "cn-northwest-1",
		  "https://personalize.cn-northwest-1.amazonaws.com.cn" },
		{ NULL, NULL, "http://localhost:4566", NULL, "us-east-1",
		  "http://localhost:4566" },
		{ NULL, "http://svc:1/", "http://all:2", NULL, "us-east-1",
		  "http://svc:1" },
		{ "https://cfg.example", "http://svc:1", "http://all:2", NULL,
		  "us-east-1", "https://cfg.example" },
		{ NULL, "http://svc:1", "http://all:2", "true", "us-east-1",
		  "https://personalize.us-east-1.amazonaws.com" },
		{ "http://cfg:9/base/", "http://svc:1", NULL, "TRUE", "us-east-1",
		  "http://cfg:9/base" },
		{ NULL, "", "", NULL, "ap-south-1",
		  "https://personalize.ap-south-1.amazonaws.com" },
		{ "http://127.0.0.1:8080", NULL, NULL, NULL, NULL,
		  "http://127.0.0.1:8080" },
		{ NULL, NULL, NULL, NULL, "US_EAST_1", NULL },
		{ NULL, NULL, NULL, NULL, "", NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, "us-east-1/evil", NULL },
		{ NULL, NULL, NULL, NULL, "-bad", NULL },
		{ "ftp://x", NULL, NULL, NULL, "us-east-1", NULL },
		{ "localhost:4566", NULL, NULL, NULL, "us-east-1", NULL },
		{ "http://h/?q=1", NULL, NULL, NULL, "us-east-1", NULL },
		{ "http://h/#frag", NULL, NULL, NULL, "us-east-1", NULL },
		{ "http://", NULL, NULL, NULL, "us-east-1", NULL },
		{ NULL, "file:///etc/passwd", NULL, NULL, "us-east-1", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *url = NULL;
		int r;

		set_or_unset("AWS_ENDPOINT_URL_PERSONALIZE", cases[i].env_svc);
		set_or_unset("AWS_ENDPOINT_URL", cases[i].env_all);
		set_or_unset("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
			     cases[i].ignore);
		r = aws_resolve_endpoint(cases[i].config, "PERSONALIZE",
					 "personalize", cases[i].region, &url);
		if (!cases[i].want) {
			if (r != -EINVAL)
				fail_msg("case %zu: got %d (%s), want -EINVAL",
					 i, r, r == 0 ? url : "");
			continue;
		}
		if (r != 0)
			fail_msg("case %zu: got %d", i, r);
		if (strcmp(url, cases[i].want))
			fail_msg("case %zu: got %s want %s", i, url,
				 cases[i].want);
		free(url);
	}
	unsetenv("AWS_ENDPOINT_URL_PERSONALIZE");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
}

/* FIPS and dual-stack endpoints: what botocore 1.43.11's endpoint rule sets
 * resolve (EndpointRulesetResolver, ListCampaigns / GetCallerIdentity /
 * HeadObject of bucket my-bucket), NULL where it refuses. */
static const struct variant_case {
	const char *svc, *region;
	int fips, ds;
	const char *url;
} variant_cases[] = {
	{ "personalize", "eu-west-1", 1, 0, "https://personalize-fips.eu-west-1.amazonaws.com" },
	{ "personalize", "eu-west-1", 0, 1, "https://personalize.eu-west-1.api.aws" },
	{ "personalize", "eu-west-1", 1, 1, "https://personalize-fips.eu-west-1.api.aws" },
	{ "personalize", "cn-north-1", 1, 0, "https://personalize-fips.cn-north-1.amazonaws.com.cn" },
	{ "personalize", "cn-north-1", 0, 1, "https://personalize.cn-north-1.api.amazonwebservices.com.cn" },
	{ "personalize", "cn-north-1", 1, 1, "https://personalize-fips.cn-north-1.api.amazonwebservices.com.cn" },
	{ "personalize", "us-gov-west-1", 1, 0, "https://personalize-fips.us-gov-west-1.amazonaws.com" },
	{ "personalize", "us-gov-west-1", 0, 1, "https://personalize.us-gov-west-1.api.aws" },
	{ "personalize", "us-iso-east-1", 1, 0, "https://personalize-fips.us-iso-east-1.c2s.ic.gov" },
	{ "personalize", "us-iso-east-1", 0, 1, "https://personalize.us-iso-east-1.api.aws.ic.gov" },
	{ "personalize", "us-isob-east-1", 1, 1, "https://personalize-fips.us-isob-east-1.api.aws.scloud" },
	{ "sts", "eu-west-1", 1, 0, "https://sts-fips.eu-west-1.amazonaws.com" },
	{ "sts", "eu-west-1", 0, 1, "https://sts.eu-west-1.api.aws" },
	{ "sts", "us-east-1", 1, 1, "https://sts-fips.us-east-1.api.aws" },
	{ "sts", "cn-north-1", 0, 1, "https://sts.cn-north-1.api.amazonwebservices.com.cn" },
	{ "sts", "us-gov-west-1", 1, 0, "https://sts.us-gov-west-1.amazonaws.com" },
	{ "sts", "us-gov-west-1", 1, 1, "https://sts-fips.us-gov-west-1.api.aws" },
	{ "sts", "us-isob-east-1", 0, 1, "https://sts.us-isob-east-1.api.aws.scloud" },
	{ "s3", "eu-west-1", 1, 0, "https://s3-fips.eu-west-1.amazonaws.com" },
	{ "s3", "eu-west-1", 0, 1, "https://s3.dualstack.eu-west-1.amazonaws.com" },
	{ "s3", "eu-west-1", 1, 1, "https://s3-fips.dualstack.eu-west-1.amazonaws.com" },
	{ "s3", "cn-north-1", 1, 0, NULL },
	{ "s3", "cn-north-1", 0, 1, "https://s3.dualstack.cn-north-1.amazonaws.com.cn" },
	{ "s3", "cn-north-1", 1, 1, NULL },
	{ "s3", "us-gov-west-1", 1, 1, "https://s3-fips.dualstack.us-gov-west-1.amazonaws.com" },
	{ "s3", "us-iso-east-1", 0, 1, "https://s3.dualstack.us-iso-east-1.c2s.ic.gov" },
	{ "s3", "us-isob-east-1", 1, 0, "https://s3-fips.us-isob-east-1.sc2s.sgov.gov" },
};

static void test_endpoint_variants(void **state)
{
	size_t i;

	(void)state;
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_PERSONALIZE");
	for (i = 0; i < ARRAY_SIZE(variant_cases); i++) {
		const struct variant_case *c = &variant_cases[i];
		char *url = NULL;
		int r;

		setenv("AWS_USE_FIPS_ENDPOINT", c->fips ? "true" : "false", 1);
		setenv("AWS_USE_DUALSTACK_ENDPOINT", c->ds ? "TRUE" : "false", 1);
		r = aws_resolve_endpoint(NULL, "X", c->svc, c->region, &url);
		if (!c->url) {
			assert_int_equal(r, -ENOTSUP);
			continue;
		}
		if (r != 0 || strcmp(url, c->url))
			fail_msg("%s %s fips=%d ds=%d: got %d %s, want %s", c->svc,
				 c->region, c->fips, c->ds, r, url ? url : "-",
				 c->url);
		free(url);
	}
	/* a custom endpoint with either is refused, as the rule sets do */
	{
		char *url = NULL;

		assert_int_equal(aws_resolve_endpoint("http://127.0.0.1:1", "X",
						      "personalize", "eu-west-1",
						      &url), -EINVAL);
		setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
		setenv("AWS_USE_DUALSTACK_ENDPOINT", "false", 1);
		assert_int_equal(aws_resolve_endpoint("http://127.0.0.1:1", "X",
						      "personalize", "eu-west-1",
						      &url), 0);
		assert_string_equal(url, "http://127.0.0.1:1");
		free(url);
	}
	/* the profile's keys when the environment says nothing */
	{
		char path[] = "/tmp/pr-test-aws-config-XXXXXX";
		int fd = mkstemp(path);
		char *url = NULL;
		static const char conf[] = "[profile fips]\nuse_fips_endpoint = true\n";

		assert_true(fd >= 0);
		assert_int_equal(write(fd, conf, sizeof(conf) - 1),
				 (ssize_t)(sizeof(conf) - 1));
		close(fd);
		unsetenv("AWS_USE_FIPS_ENDPOINT");
		unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
		setenv("AWS_CONFIG_FILE", path, 1);
		setenv("AWS_PROFILE", "fips", 1);
		assert_int_equal(aws_resolve_endpoint(NULL, "X", "personalize",
						      "eu-west-1", &url), 0);
		assert_string_equal(url, "https://personalize-fips.eu-west-1.amazonaws.com");
		free(url);
		/* the environment wins over the profile */
		setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
		assert_int_equal(aws_resolve_endpoint(NULL, "X", "personalize",
						      "eu-west-1", &url), 0);
		assert_string_equal(url, "https://personalize.eu-west-1.amazonaws.com");
		free(url);
		unlink(path);
		unsetenv("AWS_CONFIG_FILE");
		unsetenv("AWS_PROFILE");
	}
	unsetenv("AWS_USE_FIPS_ENDPOINT");
	unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
}

static void test_normalize_code(void **state)
{
	char out[16];

	(void)state;
	aws_normalize_error_code("ns#VeryLongErrorCodeNameHere", out, sizeof(out));
	assert_string_equal(out, "VeryLongErrorCo");
	aws_normalize_error_code(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	aws_normalize_error_code("#", out, sizeof(out));
	assert_string_equal(out, "");
	aws_normalize_error_code(":http://x", out, sizeof(out));
	assert_string_equal(out, "");
}

/* ---- whole calls against the loopback server --------------------------------- */

struct call_result {
	int calls;
	enum aws_error_class error;
	char code[128];
	char message[256];
	char request_id[64];
	unsigned attempts;
	long status;
	char reply[256];
};

struct fixture {
	struct call_fixture cf;
	struct aws_client *aws;
};

static void on_call_done(const struct aws_result *res, void *userdata)
{
	struct call_result *r = userdata;

	r->calls++;
	r->error = res->error;
	r->attempts = res->attempts;
	r->status = res->http_status;
	assert_non_null(res->operation);
	snprintf(r->code, sizeof(r->code), "%s", res->code ? res->code : "");
	snprintf(r->message, sizeof(r->message), "%s",
		 res->message ? res->message : "");
	snprintf(r->request_id, sizeof(r->request_id), "%s",
		 res->request_id ? res->request_id : "");
	if (res->error == AWS_ERR_NONE) {
		char *s;

		assert_non_null(res->reply);
		assert_null(res->code);
		s = cJSON_PrintUnformatted(res->reply);
		snprintf(r->reply, sizeof(r->reply), "%s", s);
		free(s);
	} else {
		assert_null(res->reply);
		assert_non_null(res->code);
		assert_true(res->code[0] != '\0');
	}
}

static int setup(void **state)
{
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	aws_client_free(f->aws);
	unsetenv("AWS_MAX_ATTEMPTS");
	return call_fixture_delete(&f->cf);
}

/* Start the server and a client pointed at it, with tiny backoff. */
static void start(struct fixture *f, const struct lb_action *a, size_t n,
		  uint32_t total_timeout_ms)
{
	struct aws_client_config cfg = {
		.region = "us-west-2", .endpoint_url = f->cf.url,
		.total_timeout_ms = total_timeout_ms,
	};

	call_fixture_serve(&f->cf, a, n, "");
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds,
					&f->aws), 0);
	call_fixture_attach(&f->cf, f->aws->engine);
}

static void call(struct fixture *f, const char *op, struct call_result *r)
{
	cJSON *body = cJSON_CreateObject();

	assert_non_null(body);
	assert_non_null(cJSON_AddStringToObject(body, "solutionVersionArn",
		"arn:aws:personalize:us-west-2:123456789012:solution/s/abc"));
	assert_int_equal(aws_call(f->aws, op, body, on_call_done, r, NULL), 0);
	cJSON_Delete(body);
	assert_int_equal(r->calls, 0);  /* never synchronous */
	call_fixture_run_until(&f->cf, &r->calls, 1);
	assert_int_equal(r->calls, 1);
}

#define JSON_CT "Content-Type: application/x-amz-json-1.1\r\n"
#define OK_REPLY { LB_REPLY, 200, JSON_CT "x-amzn-RequestId: ok-id\r\n", \
		   "{\"solutionVersion\":{\"status\":\"ACTIVE\"}}" }
#define THROTTLE { LB_REPLY, 400, JSON_CT "x-amzn-RequestId: th-id\r\n", \
	"{\"__type\":\"com.amazonaws.personalize#ThrottlingException\",\"message\":\"Rate exceeded\"}" }
#define ERR500 { LB_REPLY, 500, JSON_CT, "{\"__type\":\"InternalFailure\"}" }
#define ERR503_HTML { LB_REPLY, 503, "Content-Type: text/html\r\n", "<html>busy</html>" }

struct scenario {
	const char *name;
	struct lb_action acts[4];
	size_t n;
	const char *max_attempts_env;
	enum aws_error_class want;
	unsigned attempts;
	const char *code;
};

static void test_scenarios(void **state)
{
	static const struct scenario cases[] = {
		{ "ok", { OK_REPLY }, 1, NULL, AWS_ERR_NONE, 1, "" },
		{ "throttled twice then ok", { THROTTLE, THROTTLE, OK_REPLY }, 3,
		  NULL, AWS_ERR_NONE, 3, "" },
		{ "throttled always", { THROTTLE }, 1, NULL, AWS_ERR_THROTTLED, 3,
		  "ThrottlingException" },
		{ "500 always", { ERR500 }, 1, NULL, AWS_ERR_TRANSIENT, 3,
		  "InternalFailure" },
		{ "503 html then ok", { ERR503_HTML, OK_REPLY }, 2, NULL,
		  AWS_ERR_NONE, 2, "" },
		{ "reset then ok", { { LB_RESET, 0, NULL, NULL }, OK_REPLY }, 2,
		  NULL, AWS_ERR_NONE, 2, "" },
		{ "empty reply then ok", { { LB_CLOSE, 0, NULL, NULL }, OK_REPLY },
		  2, NULL, AWS_ERR_NONE, 2, "" },
		{ "truncated always", { { LB_TRUNCATE, 200, JSON_CT, "{\"a\":" } },
		  1, NULL, AWS_ERR_UNAVAILABLE, 3, "HttpConnectionReset" },
		{ "slow reply", { { LB_SLOW, 200, JSON_CT "x-amzn-RequestId: ok-id\r\n",
		  "{\"solutionVersion\":{\"status\":\"ACTIVE\"}}" } }, 1, NULL,
		  AWS_ERR_NONE, 1, "" },
		{ "stall then ok", { { LB_STALL, 0, NULL, NULL }, OK_REPLY }, 2,
		  NULL, AWS_ERR_NONE, 2, "" },
		{ "reset always, 5 attempts", { { LB_RESET, 0, NULL, NULL } }, 1,
		  "5", AWS_ERR_UNAVAILABLE, 5, "HttpConnectionReset" },
		{ "throttled, 1 attempt", { THROTTLE }, 1, "1",
		  AWS_ERR_THROTTLED, 1, "ThrottlingException" },
		{ "validation", { { LB_REPLY, 400, JSON_CT,
		  "{\"__type\":\"InvalidInputException\",\"message\":\"bad arn\"}" },
		  OK_REPLY }, 2, NULL, AWS_ERR_CLIENT, 1, "InvalidInputException" },
		{ "not found", { { LB_REPLY, 400, JSON_CT
		  "x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/coral/\r\n",
		  "{\"message\":\"no such\"}" }, OK_REPLY }, 2, NULL,
		  AWS_ERR_NOT_FOUND, 1, "ResourceNotFoundException" },
		{ "in use", { { LB_REPLY, 400, JSON_CT,
		  "{\"__type\":\"ResourceInUseException\"}" } }, 1, NULL,
		  AWS_ERR_IN_USE, 1, "ResourceInUseException" },
		{ "malformed 200", { { LB_REPLY, 200, JSON_CT "x-amzn-RequestId: bad-id\r\n", "{\"a\":tru" },
		  OK_REPLY }, 2, NULL, AWS_ERR_MALFORMED_REPLY, 1,
		  "MalformedReply" },
		{ "empty 200", { { LB_REPLY, 200, JSON_CT, "" } }, 1, NULL,
		  AWS_ERR_MALFORMED_REPLY, 1, "MalformedReply" },
		{ "html 200", { { LB_REPLY, 200, "Content-Type: text/html\r\n",
		  "{}" } }, 1, NULL, AWS_ERR_MALFORMED_REPLY, 1,
		  "MalformedReply" },
		{ "garbage 400", { { LB_REPLY, 400, NULL, "\x01\x02garbage" } },
		  1, NULL, AWS_ERR_CLIENT, 1, "Http400" },
		{ "403 auth", { { LB_REPLY, 403, JSON_CT,
		  "{\"__type\":\"UnrecognizedClientException\",\"message\":\"The security token included in the request is invalid.\"}" } },
		  1, NULL, AWS_ERR_AUTH, 1, "UnrecognizedClientException" },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct scenario *s = &cases[i];
		struct call_result r = { 0 };

		set_or_unset("AWS_MAX_ATTEMPTS", s->max_attempts_env);
		/* a short total timeout only where the server stalls on
		 * purpose; generous elsewhere so a loaded machine passes */
		start(f, s->acts, s->n,
		      s->acts[0].kind == LB_STALL ? STALL_TIMEOUT_MS : 0);
		f->cf.metrics_calls = 0;
		call(f, "DescribeSolutionVersion", &r);
		if (r.error != s->want || r.attempts != s->attempts ||
		    strcmp(r.code, s->code))
			fail_msg("%s: got %s/%u/%s (%s), want %s/%u/%s", s->name,
				 aws_error_class_name(r.error), r.attempts,
				 r.code, r.message,
				 aws_error_class_name(s->want), s->attempts,
				 s->code);
		assert_int_equal(lb_requests(&f->cf.lb), s->attempts);
		assert_int_equal(f->cf.metrics_calls, 1);
		assert_int_equal(f->cf.last_metrics.attempts, s->attempts);
		assert_int_equal(f->cf.last_metrics.error, s->want);
		assert_string_equal(f->cf.last_metrics.operation,
				    "DescribeSolutionVersion");
		if (strcmp(s->name, "malformed 200") == 0)
			assert_string_equal(r.request_id, "bad-id");
		if (s->want == AWS_ERR_NONE) {
			assert_string_equal(r.reply,
				"{\"solutionVersion\":{\"status\":\"ACTIVE\"}}");
			assert_string_equal(r.request_id, "ok-id");
		}
		f->aws = aws_client_free(f->aws);
		lb_stop(&f->cf.lb);
	}
}

/* UpdateCampaign is not repeated after an attempt that may have run (a 5xx,
 * a reset): one attempt, the error to the caller; a throttled one is
 * repeated (the service refused it). DescribeSolutionVersion with the same
 * replies is retried (test_scenarios). */
static void test_non_idempotent(void **state)
{
	static const struct scenario cases[] = {
		{ "500 once", { ERR500, OK_REPLY }, 2, NULL, AWS_ERR_TRANSIENT, 1,
		  "InternalFailure" },
		{ "reset once", { { LB_RESET, 0, NULL, NULL }, OK_REPLY }, 2, NULL,
		  AWS_ERR_UNAVAILABLE, 1, "HttpConnectionReset" },
		{ "throttled twice then ok", { THROTTLE, THROTTLE, OK_REPLY }, 3,
		  NULL, AWS_ERR_NONE, 3, "" },
		{ "ok", { OK_REPLY }, 1, NULL, AWS_ERR_NONE, 1, "" },
	};
	struct fixture *f = *state;
	size_t i;

	assert_int_equal(aws_operation_idempotent("UpdateCampaign"), 0);
	assert_int_equal(aws_operation_idempotent("CreateSolutionVersion"), 1);
	assert_int_equal(aws_operation_idempotent("DescribeCampaign"), 1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct scenario *s = &cases[i];
		struct call_result r = { 0 };

		set_or_unset("AWS_MAX_ATTEMPTS", NULL);
		start(f, s->acts, s->n, 0);
		call(f, "UpdateCampaign", &r);
		if (r.error != s->want || r.attempts != s->attempts ||
		    strcmp(r.code, s->code))
			fail_msg("%s: got %s/%u/%s, want %s/%u/%s", s->name,
				 aws_error_class_name(r.error), r.attempts,
				 r.code, aws_error_class_name(s->want),
				 s->attempts, s->code);
		assert_int_equal(lb_requests(&f->cf.lb), s->attempts);
		f->aws = aws_client_free(f->aws);
		lb_stop(&f->cf.lb);
	}
}

/* Split a raw logged request into a sigv4_request (pointers into raw). */
struct parsed {
	struct sigv4_header h[32];
	struct sigv4_request req;
	char path[64];
};

static void parse_raw(char *raw, struct parsed *p)
{
	char *end = strstr(raw, "\r\n\r\n"), *line, *sp, *next;
	size_t n = 0;

	assert_non_null(end);
	*end = '\0';
	memset(&p->req, 0, sizeof(p->req));
	p->req.body = end + 4;
	p->req.body_len = strlen(end + 4);
	line = raw;
	next = strstr(line, "\r\n");
	assert_non_null(next);
	*next = '\0';
	sp = strchr(line, ' ');
	assert_non_null(sp);
	*sp = '\0';
	p->req.method = line;
	snprintf(p->path, sizeof(p->path), "%s", sp + 1);
	sp = strchr(p->path, ' ');
	if (sp)
		*sp = '\0';
	p->req.path = p->path;
	for (line = next + 2; line && *line; line = next) {
		char *colon;

		next = strstr(line, "\r\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		colon = strchr(line, ':');
		assert_non_null(colon);
		*colon = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		assert_true(n < 32);
		p->h[n].name = line;
		p->h[n].value = colon;
		n++;
	}
	p->req.headers = p->h;
	p->req.n_headers = n;
}

static void test_wire_format_and_signature(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { OK_REPLY };
	struct call_result r = { 0 };
	struct sigv4_auth auth;
	struct parsed p;
	char *log, *sep;
	const char *v;
	cJSON *body;

	start(f, acts, 1, 0);
	call(f, "DescribeSolutionVersion", &r);
	assert_int_equal(r.error, AWS_ERR_NONE);
	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	sep = strstr(log, LB_SEPARATOR);
	assert_non_null(sep);
	*sep = '\0';
	parse_raw(log, &p);
	assert_string_equal(p.req.method, "POST");
	assert_string_equal(p.req.path, "/");
	v = sigv4_find_header(&p.req, "X-Amz-Target");
	assert_string_equal(v, "AmazonPersonalize.DescribeSolutionVersion");
	v = sigv4_find_header(&p.req, "Content-Type");
	assert_string_equal(v, "application/x-amz-json-1.1");
	v = sigv4_find_header(&p.req, "User-Agent");
	assert_non_null(v);
	assert_true(strncmp(v, "personalize-retrain/", 20) == 0);
	v = sigv4_find_header(&p.req, "X-Amz-Security-Token");
	assert_string_equal(v, test_creds.session_token);
	assert_non_null(sigv4_find_header(&p.req, "X-Amz-Date"));
	v = sigv4_find_header(&p.req, "Host");
	assert_non_null(v);
	assert_non_null(strstr(f->cf.url, v));
	body = cJSON_ParseWithLength(p.req.body, p.req.body_len);
	assert_non_null(body);
	assert_string_equal(cJSON_GetObjectItem(body, "solutionVersionArn")->valuestring,
		"arn:aws:personalize:us-west-2:123456789012:solution/s/abc");
	cJSON_Delete(body);
	v = sigv4_find_header(&p.req, "Authorization");
	assert_non_null(v);
	memset(&auth, 0, sizeof(auth));
	assert_int_equal(sigv4_parse_authorization(v, &auth), 0);
	assert_string_equal(auth.region, "us-west-2");
	assert_string_equal(auth.service, "personalize");
	assert_string_equal(auth.access_key_id, "AKIDEXAMPLE");
	assert_int_equal(sigv4_verify(&p.req, &auth, test_creds.secret_access_key,
				      SIGV4_FLAGS_DEFAULT, NULL, NULL), 0);
	assert_int_equal(sigv4_verify(&p.req, &auth, "wrong-secret",
				      SIGV4_FLAGS_DEFAULT, NULL, NULL), -EACCES);
	sigv4_auth_free(&auth);
	free(log);
	assert_string_equal(f->aws->endpoint, f->cf.url);
	assert_string_equal(f->aws->region, "us-west-2");
}

static void test_clock_skew(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = {
		{ LB_REPLY, 400, JSON_CT "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n",
		  "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature expired: 20261125T100000Z is now earlier than 20261125T115500Z (20261125T120000Z - 5 min.)\"}" },
		OK_REPLY,
	};
	struct call_result r = { 0 }, r2 = { 0 };
	char *log;

	f->cf.fake_now = 1795600800;  /* 2026-11-25T10:00:00Z: two hours slow */
	start(f, acts, 2, 0);
	call(f, "DescribeCampaign", &r);
	assert_int_equal(r.error, AWS_ERR_NONE);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(aws_engine_retrier_const(f->aws->engine)->clock_offset, 7200);
	log = lb_log(&f->cf.lb);
	assert_non_null(strstr(log, "X-Amz-Date: 20261125T100000Z"));
	assert_non_null(strstr(log, "X-Amz-Date: 20261125T120000Z"));
	free(log);
	/* the skew retry took nothing from the quota */
	assert_int_equal(aws_engine_retrier_const(f->aws->engine)->quota.tokens, 500);

	/* a second skew error in the same call is not retried again */
	lb_stop(&f->cf.lb);
	f->aws = aws_client_free(f->aws);
	{
		const struct lb_action always[] = { acts[0] };

		start(f, always, 1, 0);
		call(f, "DescribeCampaign", &r2);
		assert_int_equal(r2.error, AWS_ERR_AUTH);
		assert_int_equal(r2.attempts, 2);
		assert_string_equal(r2.code, "InvalidSignatureException");
	}
}

static void test_quota_exhausted(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { ERR500, OK_REPLY };
	struct aws_test_hooks h = { .rng = call_fixture_half, .set_retry_tokens = true,
				    .retry_tokens = 4 };
	struct call_result r = { 0 }, r2 = { 0 };

	start(f, acts, 2, 0);
	call_fixture_set_hooks(aws_engine_retrier(f->aws->engine), &h);
	call(f, "DescribeCampaign", &r);
	/* 4 tokens cannot pay for a retry (5): one attempt only */
	assert_int_equal(r.error, AWS_ERR_TRANSIENT);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(aws_engine_retrier_const(f->aws->engine)->quota.tokens, 4);
	/* a success without retries puts one token back */
	call(f, "DescribeCampaign", &r2);
	assert_int_equal(r2.error, AWS_ERR_NONE);
	assert_int_equal(aws_engine_retrier_const(f->aws->engine)->quota.tokens, 5);
}

static void test_quota_accounting(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { { LB_STALL, 0, NULL, NULL },
					  THROTTLE, OK_REPLY };
	struct call_result r = { 0 };

	start(f, acts, 3, STALL_TIMEOUT_MS);
	call(f, "DescribeCampaign", &r);
	assert_int_equal(r.error, AWS_ERR_NONE);
	assert_int_equal(r.attempts, 3);
	/* -10 (timeout) -5 (throttle) +5 (success gives back the last) */
	assert_int_equal(aws_engine_retrier_const(f->aws->engine)->quota.tokens, 490);
}

static void test_cancel_during_backoff(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { THROTTLE };
	struct aws_test_hooks h = { .rng = call_fixture_half, .backoff_base_ms = 60000,
				    .backoff_max_ms = 60000 };
	struct call_result r = { 0 };
	struct aws_call *c = NULL;
	int i;

	start(f, acts, 1, 0);
	call_fixture_set_hooks(aws_engine_retrier(f->aws->engine), &h);
	assert_int_equal(aws_call(f->aws, "DescribeCampaign", NULL, on_call_done,
				  &r, &c), 0);
	for (i = 0; i < 2000 && lb_requests(&f->cf.lb) < 1; i++)
		assert_true(sd_event_run(f->cf.event, 5000) >= 0);
	/* let the reply arrive and the 30 s backoff timer be armed */
	for (i = 0; i < 20; i++)
		assert_true(sd_event_run(f->cf.event, 5000) >= 0);
	assert_int_equal(lb_requests(&f->cf.lb), 1);
	assert_int_equal(aws_engine_in_flight(f->aws->engine), 1);
	aws_call_cancel(c);
	assert_int_equal(aws_engine_in_flight(f->aws->engine), 0);
	assert_int_equal(r.calls, 0);
	/* a call in flight when the client is freed: no callback either */
	assert_int_equal(aws_call(f->aws, "DescribeCampaign", NULL, on_call_done,
				  &r, NULL), 0);
	f->aws = aws_client_free(f->aws);
	assert_int_equal(r.calls, 0);
}

static int failing_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	(void)impl;
	ready(-ENOENT, NULL, ctx);
	return 0;
}

static void test_no_credentials(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { OK_REPLY };
	struct call_result r = { 0 };

	f->cf.creds.get = failing_get;
	start(f, acts, 1, 0);
	call(f, "DescribeCampaign", &r);
	assert_int_equal(r.error, AWS_ERR_AUTH);
	assert_string_equal(r.code, "CredentialsUnavailable");
	assert_int_equal(r.attempts, 0);
	assert_int_equal(lb_requests(&f->cf.lb), 0);
}

/* A source that cannot work until a person acts (include/creds.h): as
 * its callback's error (-EINVAL, -EACCES) or creds_get's return value. */
static int misconfigured_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	(void)impl;
	ready(-EINVAL, NULL, ctx);
	return 0;
}

static int refused_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	(void)impl;
	(void)ready;
	(void)ctx;
	return -EACCES;
}

static void test_credentials_misconfigured(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { OK_REPLY };
	int (*const gets[])(void *, aws_creds_ready_fn, void *) = {
		misconfigured_get, refused_get,
	};

	for (size_t i = 0; i < ARRAY_SIZE(gets); i++) {
		struct call_result r = { 0 };

		f->cf.creds.get = gets[i];
		start(f, acts, 1, 0);
		call(f, "DescribeCampaign", &r);
		assert_int_equal(r.error, AWS_ERR_AUTH);
		assert_string_equal(r.code, "CredentialsMisconfigured");
		assert_true(aws_code_is_no_credentials(r.code));
		assert_int_equal(r.attempts, 0);
		assert_int_equal(lb_requests(&f->cf.lb), 0);
		f->aws = aws_client_free(f->aws);
		lb_stop(&f->cf.lb);
	}
	assert_true(aws_code_is_no_credentials("CredentialsUnavailable"));
	assert_false(aws_code_is_no_credentials("AccessDeniedException"));
	assert_false(aws_code_is_no_credentials(NULL));
}

/* A provider whose credentials rotate on invalidate: key 1, then 2, ... */
struct rotating {
	unsigned generation;
	unsigned invalidations;
	char akid[32];
	struct sigv4_credentials c;
};

static int rotating_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	struct rotating *rc = impl;

	snprintf(rc->akid, sizeof(rc->akid), "AKIDGEN%u", rc->generation);
	rc->c = call_fixture_creds;
	rc->c.access_key_id = rc->akid;
	ready(0, &rc->c, ctx);
	return 0;
}

static void rotating_invalidate(void *impl)
{
	struct rotating *rc = impl;

	rc->invalidations++;
	rc->generation++;
}

#define EXPIRED { LB_REPLY, 400, JSON_CT, \
	"{\"__type\":\"ExpiredTokenException\",\"message\":\"The security token included in the request is expired\"}" }

/* An expired token: the cached credentials are invalidated and the call
 * retried once with fresh ones, outside the attempt budget; a second
 * refusal is final; a provider that cannot invalidate fails at once. */
static void test_credentials_refresh(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { EXPIRED, OK_REPLY, EXPIRED, EXPIRED,
					  EXPIRED };
	struct rotating rc = { 0 };
	struct call_result r = { 0 };
	char *log;

	f->cf.creds = (struct aws_creds_provider){
		.get = rotating_get, .invalidate = rotating_invalidate,
		.impl = &rc,
	};
	setenv("AWS_MAX_ATTEMPTS", "1", 1);  /* the refresh retry is extra */
	start(f, acts, ARRAY_SIZE(acts), 0);
	call(f, "UpdateCampaign", &r);   /* refused: safe to repeat */
	assert_int_equal(r.error, AWS_ERR_NONE);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(rc.invalidations, 1);
	log = lb_log(&f->cf.lb);
	assert_non_null(strstr(log, "Credential=AKIDGEN0/"));
	assert_non_null(strstr(log, "Credential=AKIDGEN1/"));
	free(log);
	/* refused again with the fresh ones: final, one refresh per call */
	memset(&r, 0, sizeof(r));
	call(f, "DescribeCampaign", &r);
	assert_int_equal(r.error, AWS_ERR_AUTH);
	assert_string_equal(r.code, "ExpiredTokenException");
	assert_int_equal(r.attempts, 2);
	assert_int_equal(rc.invalidations, 2);
	/* no invalidate in the provider: nothing fresh to get, final */
	aws_client_free(f->aws);
	f->aws = NULL;
	lb_stop(&f->cf.lb);
	f->cf.creds.invalidate = NULL;
	start(f, acts + 2, 1, 0);
	memset(&r, 0, sizeof(r));
	call(f, "DescribeCampaign", &r);
	assert_int_equal(r.error, AWS_ERR_AUTH);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(rc.invalidations, 2);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct aws_client_config cfg = { .region = "us-east-1" };
	struct aws_client *c = NULL;
	cJSON *arr = cJSON_CreateArray();
	struct call_result r = { 0 };

	log_set_max_priority(LOG_CRIT);  /* the rejections are logged */
	cfg.region = "not a region";
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c),
			 -EINVAL);
	cfg.region = "us-east-1";
	setenv("AWS_MAX_ATTEMPTS", "zero", 1);
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c),
			 -EINVAL);
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c),
			 -EINVAL);
	unsetenv("AWS_MAX_ATTEMPTS");
	cfg.endpoint_url = "gopher://x";
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c),
			 -EINVAL);
	cfg.endpoint_url = NULL;
	log_set_max_priority(LOG_WARNING);
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), 0);
	assert_string_equal(c->endpoint,
			    "https://personalize.us-east-1.amazonaws.com");
	assert_int_equal(aws_call(c, "Describe Campaign", NULL, on_call_done, &r,
				  NULL), -EINVAL);
	assert_int_equal(aws_call(c, "", NULL, on_call_done, &r, NULL), -EINVAL);
	assert_int_equal(aws_call(c, "X", arr, on_call_done, &r, NULL), -EINVAL);
	assert_int_equal(aws_call(c, "X", NULL, NULL, &r, NULL), -EINVAL);
	assert_int_equal(aws_engine_in_flight(c->engine), 0);
	aws_client_free(c);
	aws_client_free(NULL);
	aws_call_cancel(NULL);
	cJSON_Delete(arr);
	assert_string_equal(aws_error_class_name(AWS_ERR_NOT_FOUND), "not-found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_error),
		cmocka_unit_test(test_decode_error_long_message),
		cmocka_unit_test(test_decode_reply),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_normalize_code),
		cmocka_unit_test(test_endpoint_variants),
		cmocka_unit_test_setup_teardown(test_scenarios, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_idempotent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wire_format_and_signature,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_skew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_exhausted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quota_accounting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cancel_during_backoff,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_credentials, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_credentials_misconfigured, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_credentials_refresh, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
						teardown),
	};

	call_fixture_environment("PERSONALIZE");
	log_init(LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
