/* test_sts.c - the XML tree (xml.c), the XML error decoder, the STS Query
 * adapter (sts.c): endpoints as the SDKs choose them, replies parsed,
 * whole calls against the scripted loopback server (AssumeRole signed,
 * AssumeRoleWithWebIdentity unsigned, an XML error, a malformed reply). */
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
#include "log.h"
#include "loopback.h"
#include "sts.h"
#include "sts-internal.h"
#include "xml.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_xml(void **state)
{
	static const char doc[] =
		"<?xml version=\"1.0\"?>\n<a:Root xmlns:a=\"urn:x\"><B>one</B>"
		"<C><D>two &amp; three</D><D>second</D></C><E/></a:Root>";
	struct xml_node *root = NULL;
	char deep[4096];
	size_t o = 0;
	int i;

	(void)state;
	assert_int_equal(xml_parse(doc, strlen(doc), &root), 0);
	assert_string_equal(root->name, "Root");
	assert_string_equal(xml_path_text(root, "B"), "one");
	assert_string_equal(xml_path_text(root, "C/D"), "two & three");
	assert_string_equal(xml_path_text(root, "E"), "");
	assert_null(xml_path_text(root, "C/X"));
	assert_null(xml_path(root, "B//C"));
	xml_free(root);
	/* malformed, empty, a DOCTYPE (no entity is ever declared) */
	assert_int_equal(xml_parse("<a><b></a>", 10, &root), -EBADMSG);
	assert_int_equal(xml_parse("", 0, &root), -EBADMSG);
	assert_int_equal(xml_parse("<a/><b/>", 8, &root), -EBADMSG);
	{
		static const char bomb[] =
			"<!DOCTYPE a [<!ENTITY x \"xxxxxxxx\">]><a>&x;</a>";

		assert_int_equal(xml_parse(bomb, strlen(bomb), &root), -EBADMSG);
	}
	/* too deep */
	for (i = 0; i < XML_MAX_DEPTH + 1; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "<x>");
	for (i = 0; i < XML_MAX_DEPTH + 1; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "</x>");
	assert_int_equal(xml_parse(deep, o, &root), -EBADMSG);
}

static void test_xml_error(void **state)
{
	static const struct {
		const char *body, *code, *message;
	} cases[] = {
		{ "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
		  "<Error><Type>Sender</Type><Code>AccessDenied</Code>"
		  "<Message>User is not authorized to perform: sts:AssumeRole</Message>"
		  "</Error><RequestId>r1</RequestId></ErrorResponse>",
		  "AccessDenied", "User is not authorized to perform: sts:AssumeRole" },
		{ "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>",
		  "ExpiredToken", "The provided token has expired." },
		{ "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match. The Canonical String for this request should have been 'x-amz-security-token:SECRET'</Message></Error>",
		  "SignatureDoesNotMatch", "The request signature we calculated does not match." },
		{ "<html>busy</html>", "", "" },
		{ "not xml", "", "" },
		{ "", "", "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct aws_error_info e = { NULL, NULL };

		assert_int_equal(aws_decode_xml_error(cases[i].body,
						      strlen(cases[i].body),
						      &e), 0);
		assert_string_equal(e.code, cases[i].code);
		assert_string_equal(e.message, cases[i].message);
		aws_error_info_free(&e);
	}
}

static void test_endpoints(void **state)
{
	static const struct {
		const char *region, *mode, *env, *url, *signing;
	} cases[] = {
		{ "eu-west-1", NULL, NULL, "https://sts.eu-west-1.amazonaws.com", "eu-west-1" },
		{ "eu-west-1", "regional", "legacy", "https://sts.eu-west-1.amazonaws.com", "eu-west-1" },
		{ "eu-west-1", "legacy", NULL, "https://sts.amazonaws.com", "us-east-1" },
		{ "eu-west-1", NULL, "legacy", "https://sts.amazonaws.com", "us-east-1" },
		{ "af-south-1", "legacy", NULL, "https://sts.af-south-1.amazonaws.com", "af-south-1" },
		{ "cn-north-1", NULL, NULL, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1" },
		{ NULL, NULL, NULL, "https://sts.amazonaws.com", "us-east-1" },
		{ "eu-west-1", "sometimes", NULL, NULL, NULL },
	};
	static const struct {
		const char *region, *mode, *fips, *ds, *url;
	} variants[] = {
		/* botocore 1.43.11: never the global endpoint with a variant */
		{ "eu-west-1", "legacy", "true", NULL, "https://sts-fips.eu-west-1.amazonaws.com" },
		{ "us-east-1", NULL, NULL, "true", "https://sts.us-east-1.api.aws" },
		{ "us-gov-west-1", NULL, "true", NULL, "https://sts.us-gov-west-1.amazonaws.com" },
		{ NULL, NULL, "true", NULL, "https://sts-fips.us-east-1.amazonaws.com" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *url = NULL, *sr = NULL;
		int r;

		if (cases[i].env)
			setenv("AWS_STS_REGIONAL_ENDPOINTS", cases[i].env, 1);
		else
			unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
		r = sts_default_endpoint(cases[i].region, cases[i].mode, &url, &sr);
		if (!cases[i].url) {
			assert_int_equal(r, -EINVAL);
			continue;
		}
		assert_int_equal(r, 0);
		assert_string_equal(url, cases[i].url);
		assert_string_equal(sr, cases[i].signing);
		free(url);
		free(sr);
	}
	unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
	for (i = 0; i < ARRAY_SIZE(variants); i++) {
		char *url = NULL, *sr = NULL;

		if (variants[i].fips)
			setenv("AWS_USE_FIPS_ENDPOINT", variants[i].fips, 1);
		else
			unsetenv("AWS_USE_FIPS_ENDPOINT");
		if (variants[i].ds)
			setenv("AWS_USE_DUALSTACK_ENDPOINT", variants[i].ds, 1);
		else
			unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
		assert_int_equal(sts_default_endpoint(variants[i].region,
						      variants[i].mode, &url, &sr), 0);
		assert_string_equal(url, variants[i].url);
		free(url);
		free(sr);
	}
	unsetenv("AWS_USE_FIPS_ENDPOINT");
	unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
}

/* ---- calls ----------------------------------------------------------------- */

#define XML_CT "Content-Type: text/xml\r\n"
#define ASSUMED(op) \
	"<" op "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" \
	"<" op "Result><Credentials><AccessKeyId>ASIATESTKEY</AccessKeyId>" \
	"<SecretAccessKey>assumed-secret</SecretAccessKey>" \
	"<SessionToken>assumed-token</SessionToken>" \
	"<Expiration>2030-01-02T03:04:05Z</Expiration></Credentials>" \
	"<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/R/s</Arn>" \
	"<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>" \
	"</" op "Result></" op "Response>"
#define DENIED \
	"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>" \
	"<Message>not allowed</Message></Error></ErrorResponse>"

struct fixture {
	struct call_fixture cf;
	struct sts_client *sts;
};

struct got {
	int calls;
	enum aws_error_class error;
	char code[64], akid[32], secret[32], token[32], role[96];
	time_t expiration;
	unsigned attempts;
};

static void on_done(const struct sts_result *res, void *userdata)
{
	struct got *g = userdata;

	g->calls++;
	g->error = res->error;
	g->attempts = res->attempts;
	snprintf(g->code, sizeof(g->code), "%s", res->code ? res->code : "");
	snprintf(g->akid, sizeof(g->akid), "%s",
		 res->access_key_id ? res->access_key_id : "");
	snprintf(g->secret, sizeof(g->secret), "%s",
		 res->secret_access_key ? res->secret_access_key : "");
	snprintf(g->token, sizeof(g->token), "%s",
		 res->session_token ? res->session_token : "");
	snprintf(g->role, sizeof(g->role), "%s",
		 res->assumed_role_arn ? res->assumed_role_arn : "");
	g->expiration = res->expiration;
}

static int setup(void **state)
{
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sts_client_free(f->sts);
	return call_fixture_delete(&f->cf);
}

static void start(struct fixture *f, const struct lb_action *a, size_t n)
{
	struct sts_client_config cfg = { .region = "eu-west-1" };

	call_fixture_serve(&f->cf, a, n, "");
	cfg.endpoint_url = f->cf.url;
	assert_int_equal(sts_client_new(f->cf.event, f->cf.http, &cfg,
					&f->cf.creds, &f->sts), 0);
	call_fixture_attach(&f->cf, f->sts->engine);
	assert_string_equal(f->sts->endpoint, f->cf.url);
	assert_string_equal(f->sts->signing_region, "eu-west-1");
}

static void test_calls(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = {
		{ LB_REPLY, 200, XML_CT, ASSUMED("AssumeRole") },
		{ LB_REPLY, 200, XML_CT, ASSUMED("AssumeRoleWithWebIdentity") },
		{ LB_REPLY, 403, XML_CT, DENIED },
		{ LB_REPLY, 200, XML_CT, "<Unexpected/>" },
	};
	struct sts_assume_role_params p = {
		.role_arn = "arn:aws:iam::123456789012:role/R",
		.role_session_name = "s e/ss",
		.external_id = "ext id",
		.duration_seconds = 1800,
	};
	struct got g = { 0 };
	char *log, *second;

	start(f, acts, ARRAY_SIZE(acts));
	assert_int_equal(sts_assume_role(f->sts, &p, on_done, &g, NULL), 0);
	call_fixture_run_until(&f->cf, &g.calls, 1);
	assert_int_equal(g.error, AWS_ERR_NONE);
	assert_string_equal(g.akid, "ASIATESTKEY");
	assert_string_equal(g.secret, "assumed-secret");
	assert_string_equal(g.token, "assumed-token");
	assert_int_equal((long long)g.expiration, 1893553445LL);
	assert_string_equal(g.role, "arn:aws:sts::123456789012:assumed-role/R/s");
	/* web identity: unsigned, the token in the body */
	memset(&g, 0, sizeof(g));
	p.web_identity_token = "eyJhbGciOi.jwt.sig";
	assert_int_equal(sts_assume_role_with_web_identity(f->sts, &p, on_done,
							   &g, NULL), 0);
	call_fixture_run_until(&f->cf, &g.calls, 1);
	assert_int_equal(g.error, AWS_ERR_NONE);
	assert_string_equal(g.akid, "ASIATESTKEY");
	/* an XML error, then a malformed reply (no ExternalId: the log's
	 * requests after the web identity one carry none) */
	p.external_id = NULL;
	memset(&g, 0, sizeof(g));
	assert_int_equal(sts_assume_role(f->sts, &p, on_done, &g, NULL), 0);
	call_fixture_run_until(&f->cf, &g.calls, 1);
	assert_int_equal(g.error, AWS_ERR_AUTH);
	assert_string_equal(g.code, "AccessDenied");
	assert_int_equal(g.attempts, 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(sts_assume_role(f->sts, &p, on_done, &g, NULL), 0);
	call_fixture_run_until(&f->cf, &g.calls, 1);
	assert_int_equal(g.error, AWS_ERR_MALFORMED_REPLY);
	/* what went on the wire */
	assert_int_equal(lb_requests(&f->cf.lb), 4);
	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	assert_non_null(strstr(log, "Action=AssumeRole&Version=2011-06-15"
			       "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FR"
			       "&RoleSessionName=s%20e%2Fss&DurationSeconds=1800"
			       "&ExternalId=ext%20id"));
	assert_non_null(strstr(log, "Credential=AKIDEXAMPLE/"));
	assert_non_null(strstr(log, "/eu-west-1/sts/aws4_request"));
	assert_non_null(strstr(log, "application/x-www-form-urlencoded"));
	second = strstr(log, "Action=AssumeRoleWithWebIdentity");
	assert_non_null(second);
	assert_non_null(strstr(second, "WebIdentityToken=eyJhbGciOi.jwt.sig"));
	assert_null(strstr(second, "ExternalId"));
	/* the web identity request carries no signature */
	{
		char *req = second;

		while (req > log && strncmp(req, "POST ", 5) != 0)
			req--;
		*second = '\0';
		assert_null(strstr(req, "Authorization:"));
	}
	free(log);
	/* bad parameters */
	p.role_arn = NULL;
	assert_int_equal(sts_assume_role(f->sts, &p, on_done, &g, NULL), -EINVAL);
	p.role_arn = "arn:aws:iam::123456789012:role/R";
	p.web_identity_token = NULL;
	assert_int_equal(sts_assume_role_with_web_identity(f->sts, &p, on_done,
							   &g, NULL), -EINVAL);
}

/* What the client sends and reads is what the STS model names. */
static void test_model(void **state)
{
	static const char *const members[][2] = {
		{ "AssumeRoleRequest", "RoleArn" },
		{ "AssumeRoleRequest", "RoleSessionName" },
		{ "AssumeRoleRequest", "DurationSeconds" },
		{ "AssumeRoleRequest", "ExternalId" },
		{ "AssumeRoleWithWebIdentityRequest", "WebIdentityToken" },
		{ "AssumeRoleWithWebIdentityRequest", "RoleSessionName" },
		{ "AssumeRoleResponse", "Credentials" },
		{ "AssumeRoleResponse", "AssumedRoleUser" },
		{ "Credentials", "AccessKeyId" },
		{ "Credentials", "SecretAccessKey" },
		{ "Credentials", "SessionToken" },
		{ "Credentials", "Expiration" },
		{ "AssumedRoleUser", "Arn" },
	};
	const cJSON *s;
	cJSON *model;

	(void)state;
	model = call_fixture_model("STS_MODEL_DIR", "tests/data/sts");
	s = cJSON_GetObjectItem(model, "metadata");
	assert_string_equal(cJSON_GetObjectItem(s, "protocol")->valuestring, "query");
	assert_string_equal(cJSON_GetObjectItem(s, "apiVersion")->valuestring,
			    STS_API_VERSION);
	assert_string_equal(cJSON_GetObjectItem(s, "endpointPrefix")->valuestring,
			    STS_SIGNING_NAME);
	call_fixture_model_members(model, members, ARRAY_SIZE(members));
	cJSON_Delete(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_xml_error),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_model),
		cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
	};

	call_fixture_environment("STS");
	log_init(LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
