/* test_emu_policy.c - the emulator's identity policy evaluation on a table
 * of cases (wildcards, NotAction, NotResource, Deny over Allow,
 * conditions), the parse errors, what each request must be allowed, and
 * the AccessDenied reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../emulator/emu.h"

#define PZ "arn:aws:personalize:us-east-1:123456789012:"

static struct emu_policy *parse(const char *json)
{
	cJSON *doc = cJSON_Parse(json);
	struct emu_policy *p = NULL;
	char *err = NULL;

	assert_non_null(doc);
	if (emu_policy_parse(doc, &p, &err) < 0)
		fail_msg("parse: %s", err ? err : "?");
	cJSON_Delete(doc);
	return p;
}

enum { I = EMU_DECISION_IMPLICIT_DENY, A = EMU_DECISION_ALLOW,
       D = EMU_DECISION_EXPLICIT_DENY };

static void test_table(void **state)
{
	static const struct {
		const char *name, *policy, *action, *resource;
		const char *ctx_key, *ctx_value;
		int want;
	} cases[] = {
		{ "exact", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"personalize:DescribeCampaign\",\"Resource\":\"" PZ "campaign/c\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, A },
		{ "default deny", "{\"Statement\":[]}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, I },
		{ "other resource", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"personalize:DescribeCampaign\",\"Resource\":\"" PZ "campaign/c\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/d", NULL, NULL, I },
		{ "action case-insensitive", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"PERSONALIZE:describecampaign\",\"Resource\":\"*\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, A },
		{ "resource case-sensitive", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"" PZ "campaign/C\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, I },
		{ "action star", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"personalize:Describe*\",\"Resource\":\"*\"}}",
		  "personalize:DescribeSolutionVersion", PZ "solution/s/1", NULL, NULL, A },
		{ "action star other service", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"personalize:*\",\"Resource\":\"*\"}}",
		  "iam:PassRole", "arn:aws:iam::123456789012:role/r", NULL, NULL, I },
		{ "action question mark", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"personalize:List?olutionVersions\",\"Resource\":\"*\"}}",
		  "personalize:ListSolutionVersions", "*", NULL, NULL, A },
		{ "question mark is one char", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"personalize:List?Versions\",\"Resource\":\"*\"}}",
		  "personalize:ListSolutionVersions", "*", NULL, NULL, I },
		{ "action list", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"personalize:UpdateCampaign\"],\"Resource\":\"*\"}}",
		  "personalize:UpdateCampaign", PZ "campaign/c", NULL, NULL, A },
		{ "resource wildcard", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"" PZ "solution/s/*\"}}",
		  "personalize:DescribeSolutionVersion", PZ "solution/s/0a1b2c3d", NULL, NULL, A },
		{ "solution ARN is not its versions", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"" PZ "solution/s\"}}",
		  "personalize:DescribeSolutionVersion", PZ "solution/s/0a1b2c3d", NULL, NULL, I },
		{ "resource question marks", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"" PZ "dataset-import-job/p-\?\?\?\?\?\?\?\?T\?\?\?\?-import-users\"}}",
		  "personalize:DescribeDatasetImportJob", PZ "dataset-import-job/p-20261125T1200-import-users", NULL, NULL, A },
		{ "question marks: no other pipeline", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"" PZ "dataset-import-job/p-\?\?\?\?\?\?\?\?T\?\?\?\?-import-users\"}}",
		  "personalize:DescribeDatasetImportJob", PZ "dataset-import-job/p-q-20261125T1200-import-users", NULL, NULL, I },
		{ "wildcard does not span ARN fields", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:personalize:*campaign/c\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, I },
		{ "wildcard account field", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:personalize:*:*:campaign/c\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, A },
		{ "another account", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:personalize:us-east-1:999999999999:campaign/c\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, I },
		{ "NotAction", "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":\"personalize:UpdateCampaign\",\"Resource\":\"*\"}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, A },
		{ "NotAction excludes", "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"personalize:Update*\"],\"Resource\":\"*\"}}",
		  "personalize:UpdateCampaign", PZ "campaign/c", NULL, NULL, I },
		{ "NotResource", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotResource\":\"" PZ "campaign/prod\"}}",
		  "personalize:UpdateCampaign", PZ "campaign/prod", NULL, NULL, I },
		{ "Deny over Allow", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"personalize:UpdateCampaign\",\"Resource\":\"*\"}]}",
		  "personalize:UpdateCampaign", PZ "campaign/c", NULL, NULL, D },
		{ "Deny first, Allow after", "{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"personalize:UpdateCampaign\",\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
		  "personalize:UpdateCampaign", PZ "campaign/c", NULL, NULL, D },
		{ "Deny elsewhere", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"personalize:UpdateCampaign\",\"Resource\":\"*\"}]}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, A },
		{ "NotAction Deny", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"NotAction\":\"personalize:Describe*\",\"Resource\":\"*\"}]}",
		  "personalize:UpdateCampaign", PZ "campaign/c", NULL, NULL, D },
		{ "condition holds", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"arn:aws:iam::1:role/r\",\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":\"personalize.amazonaws.com\"}}}}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", A },
		{ "condition key case-insensitive", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"IAM:passedToService\":\"personalize.amazonaws.com\"}}}}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", A },
		{ "condition fails", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":\"sagemaker.amazonaws.com\"}}}}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", I },
		{ "condition value list", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":[\"sagemaker.amazonaws.com\",\"personalize.amazonaws.com\"]}}}}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", A },
		{ "condition key absent", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":\"personalize.amazonaws.com\"}}}}",
		  "personalize:DescribeCampaign", PZ "campaign/c", NULL, NULL, I },
		{ "StringLike", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringLike\":{\"iam:PassedToService\":\"personalize.*\"}}}}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", A },
		{ "StringNotEquals in a Deny", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringNotEquals\":{\"iam:PassedToService\":\"personalize.amazonaws.com\"}}}]}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "ec2.amazonaws.com", D },
		{ "StringNotEquals in a Deny, right service", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringNotEquals\":{\"iam:PassedToService\":\"personalize.amazonaws.com\"}}}]}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", A },
		{ "two conditions, one fails", "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":\"personalize.amazonaws.com\",\"aws:SourceAccount\":\"1\"}}}}",
		  "iam:PassRole", "arn:aws:iam::1:role/r", "iam:PassedToService", "personalize.amazonaws.com", I },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_policy *p = parse(cases[i].policy);
		struct emu_kv kv = { cases[i].ctx_key, cases[i].ctx_value };
		int got = (int)emu_policy_eval(p, cases[i].action, cases[i].resource,
					       &kv, cases[i].ctx_key ? 1 : 0);

		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, got,
				 cases[i].want);
		emu_policy_free(p);
	}
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *policy, *err;
	} cases[] = {
		{ "[]", "a policy is an object with a Statement" },
		{ "{\"Statement\":{\"Effect\":\"Maybe\",\"Action\":\"*\",\"Resource\":\"*\"}}", "Effect must be Allow or Deny" },
		{ "{\"Statement\":[{\"Effect\":\"Allow\",\"Resource\":\"*\"}]}", "exactly one of Action and NotAction" },
		{ "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"*\",\"Resource\":\"*\"}]}", "exactly one of Action" },
		{ "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}]}", "Action must be a string or a non-empty list" },
		{ "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[1],\"Resource\":\"*\"}]}", "Action must hold strings only" },
		{ "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"NumericLessThan\":{\"a\":\"1\"}}}]}", "NumericLessThan is not supported" },
		{ "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}", "no Principal" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *doc = cJSON_Parse(cases[i].policy);
		struct emu_policy *p = NULL;
		char *err = NULL;

		assert_non_null(doc);
		assert_int_equal(emu_policy_parse(doc, &p, &err), -EINVAL);
		assert_non_null(err);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: %s", i, err);
		free(err);
		cJSON_Delete(doc);
	}
}

static void test_authz_of_requests(void **state)
{
	struct emu_authz a[EMU_AUTHZ_MAX];
	cJSON *in;
	size_t n;

	(void)state;
	in = cJSON_Parse("{\"jobName\":\"p-20261125T1200-import-users\","
			 "\"datasetArn\":\"" PZ "dataset/g/USERS\","
			 "\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
			 "\"roleArn\":\"arn:aws:iam::123456789012:role/r\"}");
	n = emu_authz_personalize("CreateDatasetImportJob", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 3);
	assert_string_equal(a[0].action, "personalize:CreateDatasetImportJob");
	assert_string_equal(a[0].resource, PZ "dataset/g/USERS");
	assert_string_equal(a[1].resource,
			    PZ "dataset-import-job/p-20261125T1200-import-users");
	assert_string_equal(a[2].action, "iam:PassRole");
	assert_string_equal(a[2].resource, "arn:aws:iam::123456789012:role/r");
	assert_string_equal(a[2].ctx_key, "iam:PassedToService");
	assert_string_equal(a[2].ctx_value, "personalize.amazonaws.com");
	cJSON_Delete(in);

	in = cJSON_Parse("{\"solutionVersionArn\":\"" PZ "solution/s/1\"}");
	n = emu_authz_personalize("GetSolutionMetrics", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].resource, PZ "solution/s/1");
	cJSON_Delete(in);

	in = cJSON_Parse("{\"solutionArn\":\"" PZ "solution/s\"}");
	n = emu_authz_personalize("ListSolutionVersions", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].action, "personalize:ListSolutionVersions");
	assert_string_equal(a[0].resource, "*");
	n = emu_authz_personalize("CreateSolutionVersion", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].resource, PZ "solution/s");
	cJSON_Delete(in);
	/* PutEvents: each entry's bus, by name (default when none) or ARN */
	in = cJSON_Parse("{\"Entries\":[{\"EventBusName\":\"ops\"},{},"
			 "{\"EventBusName\":\"arn:aws:events:eu-west-1:"
			 "123456789012:event-bus/central\"}]}");
	n = emu_authz_events(in, "us-east-1", "123456789012", a);
	assert_int_equal(n, 3);
	assert_string_equal(a[0].action, "events:PutEvents");
	assert_string_equal(a[0].resource,
			    "arn:aws:events:us-east-1:123456789012:event-bus/ops");
	assert_string_equal(a[1].resource,
			    "arn:aws:events:us-east-1:123456789012:event-bus/default");
	assert_string_equal(a[2].resource,
			    "arn:aws:events:eu-west-1:123456789012:event-bus/central");
	cJSON_Delete(in);

	/* with tags: personalize:TagResource on what is created */
	in = cJSON_Parse("{\"solutionArn\":\"" PZ "solution/s\","
			 "\"tags\":[{\"tagKey\":\"k\",\"tagValue\":\"v\"}]}");
	n = emu_authz_personalize("CreateSolutionVersion", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].action, "personalize:CreateSolutionVersion");
	assert_string_equal(a[1].action, "personalize:TagResource");
	assert_string_equal(a[1].resource, PZ "solution/s/*");
	cJSON_Delete(in);
	in = cJSON_Parse("{\"jobName\":\"j\",\"datasetArn\":\"" PZ "dataset/g/USERS\","
			 "\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
			 "\"roleArn\":\"arn:aws:iam::123456789012:role/r\","
			 "\"tags\":[{\"tagKey\":\"k\",\"tagValue\":\"v\"}]}");
	n = emu_authz_personalize("CreateDatasetImportJob", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 4);
	assert_string_equal(a[3].action, "personalize:TagResource");
	assert_string_equal(a[3].resource, PZ "dataset-import-job/j");
	cJSON_Delete(in);
	in = cJSON_Parse("{\"solutionArn\":\"" PZ "solution/s\",\"tags\":[]}");
	n = emu_authz_personalize("CreateSolutionVersion", in, "us-east-1",
				  "123456789012", a);
	assert_int_equal(n, 1);
	cJSON_Delete(in);
}

static void test_denied_reply(void **state)
{
	struct emu_policy *p = parse(
		"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"personalize:*\",\"Resource\":\"*\"},"
		"{\"Effect\":\"Deny\",\"Action\":\"personalize:UpdateCampaign\",\"Resource\":\"*\"}]}");
	struct emu_authz a[EMU_AUTHZ_MAX];
	struct emu_reply r = { 0 };
	cJSON *in = cJSON_Parse("{\"jobName\":\"j\",\"datasetArn\":\"" PZ "dataset/g/USERS\","
				"\"roleArn\":\"arn:aws:iam::123456789012:role/r\"}");
	cJSON *body;
	size_t n;

	(void)state;
	n = emu_authz_personalize("CreateDatasetImportJob", in, "us-east-1",
				  "123456789012", a);
	/* personalize:* allowed, iam:PassRole not */
	assert_true(emu_policy_deny(p, a, n, "arn:aws:iam::123456789012:user/AK", &r));
	assert_int_equal(r.status, 400);
	assert_string_equal(r.error, "AccessDeniedException");
	body = cJSON_Parse(r.body);
	assert_string_equal(cJSON_GetObjectItem(body, "__type")->valuestring,
			    "AccessDeniedException");
	assert_string_equal(cJSON_GetObjectItem(body, "message")->valuestring,
		"User: arn:aws:iam::123456789012:user/AK is not authorized to perform: "
		"iam:PassRole on resource: arn:aws:iam::123456789012:role/r because "
		"no identity-based policy allows the iam:PassRole action");
	cJSON_Delete(body);
	cJSON_Delete(in);

	in = cJSON_Parse("{\"campaignArn\":\"" PZ "campaign/c\"}");
	n = emu_authz_personalize("UpdateCampaign", in, "us-east-1", "123456789012", a);
	assert_true(emu_policy_deny(p, a, n, "arn:aws:iam::123456789012:user/AK", &r));
	body = cJSON_Parse(r.body);
	assert_string_equal(cJSON_GetObjectItem(body, "message")->valuestring,
		"User: arn:aws:iam::123456789012:user/AK is not authorized to perform: "
		"personalize:UpdateCampaign on resource: " PZ "campaign/c with an "
		"explicit deny in an identity-based policy");
	cJSON_Delete(body);
	n = emu_authz_personalize("DescribeCampaign", in, "us-east-1", "123456789012", a);
	emu_reply_clear(&r);
	assert_false(emu_policy_deny(p, a, n, "u", &r));
	assert_null(r.body);
	cJSON_Delete(in);
	emu_reply_clear(&r);
	emu_policy_free(p);
}

static void test_policies_per_key(void **state)
{
	struct emu_policies ps = { 0 };
	struct emu_policy *a = parse("{\"Statement\":[]}");
	struct emu_policy *b = parse("{\"Statement\":[]}");

	(void)state;
	assert_null(emu_policies_for(&ps, "AK1"));
	assert_int_equal(emu_policies_set(&ps, "AK1", a), 0);
	assert_ptr_equal(emu_policies_for(&ps, "AK1"), a);
	assert_null(emu_policies_for(&ps, "AK2"));
	assert_int_equal(emu_policies_set(&ps, NULL, b), 0);
	assert_ptr_equal(emu_policies_for(&ps, "AK2"), b);
	assert_ptr_equal(emu_policies_for(&ps, "AK1"), a);
	assert_int_equal(emu_policies_set(&ps, "AK1", NULL), 0);
	assert_ptr_equal(emu_policies_for(&ps, "AK1"), b);
	emu_policies_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_authz_of_requests),
		cmocka_unit_test(test_denied_reply),
		cmocka_unit_test(test_policies_per_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
