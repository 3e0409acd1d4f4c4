/* test_emu_model.c - the emulator's request validation, read from the real
 * service model (tests/data/personalize/service-2.json from the repository root, or
 * PERSONALIZE_MODEL), and its Java-to-POSIX regex translation. */
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
#include "../emulator/emu-model-internal.h"

static const char *model_path(void)
{
	const char *p = getenv("PERSONALIZE_MODEL");

	return p ? p : "tests/data/personalize/service-2.json";
}

static int setup(void **state)
{
	struct emu_model *m = NULL;
	char *err = NULL;

	if (emu_model_load(model_path(), &m, &err) < 0) {
		free(err);
		*state = NULL;
		return 0;
	}
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	emu_model_free(*state);
	return 0;
}

/* Every pattern of the model translates and compiles; matches as Java's
 * String.matches() would (the whole string). */
static void test_regex_translation(void **state)
{
	static const struct {
		const char *java, *subject;
		bool match;
	} cases[] = {
		{ "^[a-zA-Z0-9][a-zA-Z0-9\\-_]*", "users-import-2026_11", true },
		{ "^[a-zA-Z0-9][a-zA-Z0-9\\-_]*", "-leading-dash", false },
		{ "^[a-zA-Z0-9][a-zA-Z0-9\\-_]*", "has space", false },
		{ "arn:([a-z\\d-]+):personalize:.*:.*:.+",
		  "arn:aws:personalize:us-east-1:123456789012:campaign/c", true },
		{ "arn:([a-z\\d-]+):personalize:.*:.*:.+",
		  "arn:aws-cn:personalize:cn-north-1:123456789012:solution/s", true },
		{ "arn:([a-z\\d-]+):personalize:.*:.*:.+", "arn:aws:s3:::bucket", false },
		{ "arn:([a-z\\d-]+):personalize:.*:.*:.+", "xarn:aws:personalize:a:b:c", false },
		{ "arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
		  "arn:aws:iam::123456789012:role/PersonalizeS3ImportRole", true },
		{ "arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
		  "arn:aws:iam::12345:role/r", false },
		{ "(s3|http|https)://.+", "s3://bucket/users.csv", true },
		{ "(s3|http|https)://.+", "ftp://bucket/users.csv", false },
		{ "rate\\(\\d+ days?\\)", "rate(7 days)", true },
		{ "rate\\(\\d+ days?\\)", "rate(7 hours)", false },
		{ "^[A-Za-z_]+$", "INTERACTIONS", true },
		{ "^[A-Za-z_]+$", "ITEMS2", false },
		{ "[A-Za-z_][A-Za-z\\d_]*", "ITEM_ID", true },
		{ "\\p{ASCII}{0,1500}", "abcDEF123==", true },
		{ "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "team:data-science", true },
		{ "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "semi;colon", false },
		{ "arn:aws.*:kms:.*:[0-9]{12}:key/.*",
		  "arn:aws:kms:us-east-1:123456789012:key/abcd", true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *ere = NULL;
		regex_t re;

		assert_int_equal(emu_regex_translate(cases[i].java, &ere), 0);
		if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0)
			fail_msg("case %zu: %s does not compile", i, ere);
		if ((regexec(&re, cases[i].subject, 0, NULL, 0) == 0) != cases[i].match)
			fail_msg("case %zu: %s on \"%s\" should %smatch", i, ere,
				 cases[i].subject, cases[i].match ? "" : "not ");
		regfree(&re);
		free(ere);
	}
}

static void test_regex_translation_errors(void **state)
{
	static const char *const bad[] = { "[abc", "\\p{Greek}", "abc\\", "\\p{L" };
	char *ere = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(emu_regex_translate(bad[i], &ere), -EINVAL);
	assert_null(ere);
}

static void test_every_model_pattern_enforced(void **state)
{
	const struct emu_model *m = *state;
	const struct emu_pattern *p;
	int n = 0;

	if (!m)
		skip();
	for (p = m->patterns; p; p = p->next, n++)
		if (!p->ok)
			fail_msg("pattern of %s not enforced", p->shape);
	assert_true(n >= 10);
}

/* What real AWS answers for each bad request. */
static void test_validation_table(void **state)
{
	static const struct {
		const char *op, *body;
		enum emu_valid want;
		const char *message; /* exact, or NULL */
		const char *contains;
	} cases[] = {
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"users-1\",\"datasetArn\":\"arn:aws:personalize:us-east-1:1:dataset/g/USERS\","
		  "\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},\"roleArn\":\"arn:aws:iam::123456789012:role/R\","
		  "\"importMode\":\"FULL\",\"unknownMember\":1}", EMU_VALID_OK, NULL, NULL },
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"users-1\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"}}",
		  EMU_VALID_CONSTRAINT,
		  "1 validation error detected: Value null at 'datasetArn' failed to satisfy "
		  "constraint: Member must not be null", NULL },
		{ "CreateDatasetImportJob", "{}", EMU_VALID_CONSTRAINT, NULL,
		  "3 validation errors detected: " },
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"bad name\",\"datasetArn\":\"arn:aws:personalize:r:1:dataset/g/USERS\","
		  "\"dataSource\":{\"dataLocation\":\"gs://b/u.csv\"}}", EMU_VALID_CONSTRAINT, NULL,
		  "2 validation errors detected: Value 'bad name' at 'jobName' failed to satisfy "
		  "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*; "
		  "Value 'gs://b/u.csv' at 'dataSource.dataLocation' failed to satisfy constraint: "
		  "Member must satisfy regular expression pattern: (s3|http|https)://.+" },
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"a\",\"datasetArn\":\"arn:aws:personalize:r:1:dataset/g/USERS\","
		  "\"dataSource\":{},\"importMode\":\"PARTIAL\"}", EMU_VALID_CONSTRAINT,
		  "1 validation error detected: Value 'PARTIAL' at 'importMode' failed to satisfy "
		  "constraint: Member must satisfy enum value set: [FULL, INCREMENTAL]", NULL },
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"a\",\"datasetArn\":\"arn:aws:personalize:r:1:dataset/g/USERS\","
		  "\"dataSource\":{},\"tags\":[{\"tagKey\":\"k\"}]}", EMU_VALID_CONSTRAINT, NULL,
		  "Value null at 'tags.1.member.tagValue'" },
		{ "CreateSolutionVersion", "{\"solutionArn\":\"arn:aws:personalize:r:1:solution/s\","
		  "\"name\":\"" "0123456789012345678901234567890123456789012345678901234567890123" "\"}",
		  EMU_VALID_CONSTRAINT, NULL,
		  "failed to satisfy constraint: Member must have length less than or equal to 63" },
		{ "CreateSolutionVersion", "{\"solutionArn\":\"arn:aws:personalize:r:1:solution/s\","
		  "\"name\":\"\"}", EMU_VALID_CONSTRAINT, NULL,
		  "Member must have length greater than or equal to 1" },
		{ "ListCampaigns", "{\"maxResults\":0}", EMU_VALID_CONSTRAINT,
		  "1 validation error detected: Value '0' at 'maxResults' failed to satisfy "
		  "constraint: Member must have value greater than or equal to 1", NULL },
		{ "ListCampaigns", "{\"maxResults\":101}", EMU_VALID_CONSTRAINT, NULL,
		  "Member must have value less than or equal to 100" },
		{ "ListCampaigns", "{\"maxResults\":100}", EMU_VALID_OK, NULL, NULL },
		{ "ListCampaigns", "{\"maxResults\":\"10\"}", EMU_VALID_SERIALIZATION, NULL, NULL },
		{ "ListCampaigns", "{\"maxResults\":1.5}", EMU_VALID_SERIALIZATION, NULL, NULL },
		{ "ListCampaigns", "[]", EMU_VALID_SERIALIZATION, NULL, NULL },
		{ "DescribeCampaign", "{\"campaignArn\":42}", EMU_VALID_SERIALIZATION, NULL, NULL },
		{ "DescribeCampaign", "{\"campaignArn\":null}", EMU_VALID_CONSTRAINT, NULL,
		  "Value null at 'campaignArn'" },
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"a\",\"datasetArn\":\"arn:aws:personalize:r:1:dataset/g/USERS\","
		  "\"dataSource\":[]}", EMU_VALID_SERIALIZATION, NULL, NULL },
		{ "CreateDatasetImportJob",
		  "{\"jobName\":\"a\",\"datasetArn\":\"arn:aws:personalize:r:1:dataset/g/USERS\","
		  "\"dataSource\":{},\"publishAttributionMetricsToS3\":\"yes\"}",
		  EMU_VALID_SERIALIZATION, NULL, NULL },
		{ "UpdateCampaign", "{\"campaignArn\":\"arn:aws:personalize:r:1:campaign/c\","
		  "\"campaignConfig\":{\"rankingInfluence\":{\"POPULARITY\":2}}}",
		  EMU_VALID_CONSTRAINT, NULL, "Member must have value less than or equal to 1" },
		{ "UpdateCampaign", "{\"campaignArn\":\"arn:aws:personalize:r:1:campaign/c\","
		  "\"campaignConfig\":{\"rankingInfluence\":{\"NOVELTY\":0.5}}}",
		  EMU_VALID_CONSTRAINT, NULL, "enum value set: [POPULARITY, FRESHNESS]" },
		{ "GetSolutionMetrics", "{\"solutionVersionArn\":\"arn:aws:personalize:us-east-1:"
		  "123456789012:solution/s/0a1b2c3d\"}", EMU_VALID_OK, NULL, NULL },
		{ "StopSolutionVersionCreation", "{\"solutionVersionArn\":\"ARN\"}",
		  EMU_VALID_CONSTRAINT, NULL, "regular expression pattern" },
		/* \p{L} is a letter of any script, as in Java's regex */
		{ "CreateSolutionVersion", "{\"solutionArn\":\"arn:aws:personalize:r:1:solution/s\","
		  "\"tags\":[{\"tagKey\":\"city\",\"tagValue\":\"Z\u00fcrich\"}]}",
		  EMU_VALID_OK, NULL, NULL },
		{ "CreateSolutionVersion", "{\"solutionArn\":\"arn:aws:personalize:r:1:solution/s\","
		  "\"tags\":[{\"tagKey\":\"who\",\"tagValue\":\"Smith, John\"}]}",
		  EMU_VALID_CONSTRAINT, NULL, "at 'tags.1.member.tagValue' failed to satisfy "
		  "constraint: Member must satisfy regular expression pattern" },
	};
	const struct emu_model *m = *state;
	size_t i;

	if (!m)
		skip();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *in = cJSON_Parse(cases[i].body);
		char *msg = NULL;
		enum emu_valid got;

		assert_non_null(in);
		got = emu_model_validate(m, cases[i].op, in, &msg);
		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %d, want %d: %s", i, cases[i].op, got,
				 cases[i].want, msg ? msg : "");
		if (cases[i].message && strcmp(msg, cases[i].message))
			fail_msg("case %zu: message\n  %s\nwanted\n  %s", i, msg, cases[i].message);
		if (cases[i].contains && !strstr(msg, cases[i].contains))
			fail_msg("case %zu: \"%s\" not in\n  %s", i, cases[i].contains, msg);
		if (got == EMU_VALID_OK)
			assert_null(msg);
		else
			assert_non_null(msg);
		free(msg);
		cJSON_Delete(in);
	}
}

static void test_operations_and_redaction(void **state)
{
	const struct emu_model *m = *state;
	cJSON *in, *out;
	char *s;

	if (!m)
		skip();
	assert_true(emu_model_has_operation(m, "CreateDatasetImportJob"));
	assert_true(emu_model_has_operation(m, "StopSolutionVersionCreation"));
	assert_false(emu_model_has_operation(m, "DeleteEverything"));
	in = cJSON_Parse("{\"jobName\":\"j\",\"tags\":[{\"tagKey\":\"owner\",\"tagValue\":\"alice\"}]}");
	out = emu_model_redact(m, "CreateDatasetImportJob", in);
	s = cJSON_PrintUnformatted(out);
	assert_non_null(s);
	assert_null(strstr(s, "alice"));
	assert_null(strstr(s, "owner"));
	assert_non_null(strstr(s, "\"jobName\":\"j\""));
	free(s);
	cJSON_Delete(out);
	cJSON_Delete(in);
}

static void test_load_errors(void **state)
{
	struct emu_model *m = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(emu_model_load("/nonexistent/service-2.json", &m, &err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/service-2.json"));
	assert_null(m);
	free(err);
	err = NULL;
	assert_int_equal(emu_model_load("/dev/null", &m, &err), -EINVAL);
	assert_non_null(strstr(err, "not a service model"));
	assert_null(m);
	free(err);
	emu_model_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_translation),
		cmocka_unit_test(test_regex_translation_errors),
		cmocka_unit_test(test_every_model_pattern_enforced),
		cmocka_unit_test(test_validation_table),
		cmocka_unit_test(test_operations_and_redaction),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
