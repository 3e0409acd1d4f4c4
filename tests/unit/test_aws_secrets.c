/* test_aws_secrets.c - the transport at LOG_DEBUG against a loopback
 * server, every log line captured with log_set_sink(): the secret key, the
 * session token, every signature sent and the signing keys never appear in
 * a log line nor in a result handed to the caller - even when the server's
 * error message quotes the canonical request (as AWS's signature errors
 * do, with the token in it). */
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

#include <openssl/crypto.h>

#include "aws.h"
#include "aws-engine.h"
#include "aws-internal.h"
#include "call_fixture.h"
#include "log.h"
#include "personalize.h"
#include "strbuf.h"
#include "loopback.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSECRETKEY"
#define TOKEN  "FwoGZXIvYXdzEXAMPLESESSIONTOKENzzz9876543210"
#define ARN "arn:aws:personalize:us-east-1:123456789012:"

static const struct sigv4_credentials creds = {
	.access_key_id = "ASIAEXAMPLEKEYID",
	.secret_access_key = SECRET,
	.session_token = TOKEN,
};

static struct strbuf captured = STRBUF_INIT;
static struct strbuf results = STRBUF_INIT;
static int lines;
static int done;

static void sink(int priority, const char *line, void *userdata)
{
	(void)priority;
	(void)userdata;
	strbuf_puts(&captured, line);
	strbuf_putc(&captured, '\n');
	lines++;
}

static void keep_result(const struct aws_result *res)
{
	strbuf_printf(&results, "%s|%s|%s|%s\n", res->operation,
		      res->code ? res->code : "", res->message ? res->message : "",
		      res->request_id ? res->request_id : "");
}

static void on_call(const struct aws_result *res, void *u)
{
	(void)u;
	keep_result(res);
	done++;
}

static void on_campaign(const struct aws_result *res,
			const struct personalize_campaign *c, void *u)
{
	(void)c;
	(void)u;
	keep_result(res);
	done++;
}

static void assert_absent(const char *hay, const char *needle,
			  const char *what)
{
	if (hay && needle && *needle && strstr(hay, needle))
		fail_msg("%s found in the output", what);
}

#define JSON_CT "Content-Type: application/x-amz-json-1.1\r\n"

static void test_no_secret_in_logs(void **state)
{
	/* A signature error quoting what a server computed, token included,
	 * the way AWS words it. */
	static const char sig_error[] =
		"{\"__type\":\"InvalidSignatureException\",\"message\":"
		"\"The request signature we calculated does not match the "
		"signature you provided. Check your AWS Secret Access Key and "
		"signing method.\\n\\nThe Canonical String for this request "
		"should have been\\n'POST\\n/\\n\\nhost:127.0.0.1\\n"
		"x-amz-security-token:" TOKEN "\\n'\\n\\nThe String-to-Sign "
		"should have been\\n'AWS4-HMAC-SHA256\\n...'\\n"
		"secret " SECRET " token " TOKEN "\"}";
	static const struct lb_action acts[] = {
		{ LB_REPLY, 200, JSON_CT "x-amzn-RequestId: r1\r\n",
		  "{\"campaign\":{\"status\":\"ACTIVE\"}}" },
		{ LB_REPLY, 400, JSON_CT, "{\"__type\":\"ThrottlingException\"}" },
		{ LB_REPLY, 200, JSON_CT, "{}" },
		{ LB_REPLY, 400, JSON_CT "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n",
		  "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature expired: 20200101T000000Z is now earlier than ...\"}" },
		{ LB_REPLY, 200, JSON_CT, "{}" },
		{ LB_REPLY, 403, JSON_CT "x-amzn-ErrorType: InvalidSignatureException\r\n",
		  sig_error },
		{ LB_RESET, 0, NULL, NULL },
		{ LB_RESET, 0, NULL, NULL },
		{ LB_RESET, 0, NULL, NULL },
		{ LB_REPLY, 200, JSON_CT, "{\"a\":" },
	};
	struct aws_test_hooks hooks = { .rng = call_fixture_zero };
	struct call_fixture cf;
	struct aws_client *aws = NULL;
	char *log, *p;
	int n_sigs = 0, n_req;

	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_DEBUG);
	log_set_sink(sink, NULL);
	assert_int_equal(call_fixture_setup(&cf), 0);
	aws_creds_provider_static(&cf.creds, &creds);   /* this test's secrets */
	call_fixture_serve(&cf, acts, ARRAY_SIZE(acts), "");
	{
		struct aws_client_config cfg = { .region = "us-east-1",
						 .endpoint_url = cf.url };

		assert_int_equal(aws_client_new(cf.event, cf.http, &cfg,
						&cf.creds, &aws), 0);
	}
	call_fixture_set_hooks(aws_engine_retrier(aws->engine), &hooks);

	/* ok; throttled then ok; skewed then ok; signature error; resets;
	 * malformed */
	assert_int_equal(personalize_describe_campaign(aws, ARN "campaign/c",
						       on_campaign, NULL, NULL), 0);
	call_fixture_run_until(&cf, &done, 1);
	assert_int_equal(aws_call(aws, "DescribeSolution", NULL, on_call, NULL,
				  NULL), 0);
	call_fixture_run_until(&cf, &done, 2);
	assert_int_equal(aws_call(aws, "DescribeSolution", NULL, on_call, NULL,
				  NULL), 0);
	call_fixture_run_until(&cf, &done, 3);
	assert_int_equal(aws_call(aws, "DescribeSolution", NULL, on_call, NULL,
				  NULL), 0);
	call_fixture_run_until(&cf, &done, 4);
	assert_int_equal(aws_call(aws, "DescribeSolution", NULL, on_call, NULL,
				  NULL), 0);
	call_fixture_run_until(&cf, &done, 5);
	assert_int_equal(aws_call(aws, "DescribeSolution", NULL, on_call, NULL,
				  NULL), 0);
	call_fixture_run_until(&cf, &done, 6);
	/* 10, or 11 when libcurl itself re-sent a request once on a fresh
	 * connection after the reused one was reset (it does that) */
	n_req = (int)lb_requests(&cf.lb);
	assert_true(n_req >= 10 && n_req <= 11);

	log_set_sink(NULL, NULL);
	log_set_max_priority(LOG_WARNING);
	assert_int_equal(strbuf_error(&captured), 0);
	assert_int_equal(strbuf_error(&results), 0);
	/* the test looks at real debug output */
	assert_true(lines >= 10);
	assert_non_null(strstr(captured.buf, "attempt"));
	assert_non_null(strstr(results.buf, "InvalidSignatureException"));

	assert_absent(captured.buf, SECRET, "secret key (log)");
	assert_absent(captured.buf, TOKEN, "session token (log)");
	assert_absent(results.buf, SECRET, "secret key (result)");
	assert_absent(results.buf, TOKEN, "session token (result)");

	/* every signature and signing key actually used */
	log = lb_log(&cf.lb);
	assert_non_null(log);
	assert_non_null(strstr(log, TOKEN));  /* the token was really sent */
	for (p = log; (p = strstr(p, "Signature=")); p += 10) {
		char sig[SIGV4_HEX_LEN + 1], date[SIGV4_DATE_LEN + 1];
		unsigned char key[SIGV4_KEY_LEN];
		struct strbuf hex = STRBUF_INIT;
		const char *cred = NULL, *q;

		memcpy(sig, p + 10, SIGV4_HEX_LEN);
		sig[SIGV4_HEX_LEN] = '\0';
		assert_absent(captured.buf, sig, "signature (log)");
		assert_absent(results.buf, sig, "signature (result)");
		for (q = p; q > log; q--)
			if (strncmp(q, "Credential=", 11) == 0) {
				cred = q;
				break;
			}
		assert_non_null(cred);
		q = strchr(cred, '/');
		assert_non_null(q);
		memcpy(date, q + 1, SIGV4_DATE_LEN);
		date[SIGV4_DATE_LEN] = '\0';
		assert_int_equal(sigv4_signing_key(SECRET, date, "us-east-1",
						   "personalize", key), 0);
		strbuf_hex(&hex, key, sizeof(key));
		assert_absent(captured.buf, hex.buf, "signing key (log)");
		OPENSSL_cleanse(key, sizeof(key));
		strbuf_free_secure(&hex);
		n_sigs++;
	}
	assert_int_equal(n_sigs, n_req);
	free(log);

	aws_client_free(aws);
	call_fixture_teardown(&cf);
	strbuf_free(&captured);
	strbuf_free(&results);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_secret_in_logs),
	};

	call_fixture_environment("PERSONALIZE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
