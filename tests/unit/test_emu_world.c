/* test_emu_world.c - the emulator's world: the lifecycle clock, world files
 * (JSON and YAML), and the service's rules, called directly with a clock
 * the test controls (no HTTP, no waiting). */
#include <math.h>
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

#include "../emulator/emu.h"

#define T0 1000000
#define WALL0 1795600000000LL
#define A "arn:aws:personalize:us-east-1:123456789012:"

static void test_timeline_table(void **state)
{
	static const struct {
		int64_t stop_at; /* relative to start, -1 none */
		bool fail;
		int64_t at;      /* relative to start */
		enum emu_phase want;
		int64_t since;   /* relative to start */
	} cases[] = {
		{ -1, false, 0, EMU_PHASE_PENDING, 0 },
		{ -1, false, 99, EMU_PHASE_PENDING, 0 },
		{ -1, false, 100, EMU_PHASE_IN_PROGRESS, 100 },
		{ -1, false, 1099, EMU_PHASE_IN_PROGRESS, 100 },
		{ -1, false, 1100, EMU_PHASE_ACTIVE, 1100 },
		{ -1, false, 999999, EMU_PHASE_ACTIVE, 1100 },
		{ -1, true, 1099, EMU_PHASE_IN_PROGRESS, 100 },
		{ -1, true, 1100, EMU_PHASE_FAILED, 1100 },
		{ 50, false, 49, EMU_PHASE_PENDING, 0 },
		{ 50, false, 50, EMU_PHASE_STOPPED, 50 },      /* pending -> stopped */
		{ 500, false, 500, EMU_PHASE_STOPPING, 500 }, /* running -> stopping */
		{ 500, false, 509, EMU_PHASE_STOPPING, 500 },
		{ 500, false, 510, EMU_PHASE_STOPPED, 510 },
		{ 500, true, 2000, EMU_PHASE_STOPPED, 510 },
		{ 1200, false, 1300, EMU_PHASE_ACTIVE, 1100 }, /* too late to stop */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_timeline t = {
			.start_ms = T0, .pending_ms = 100, .run_ms = 1000, .stopping_ms = 10,
			.stop_at_ms = cases[i].stop_at < 0 ? -1 : T0 + cases[i].stop_at,
			.fail = cases[i].fail,
		};
		int64_t since = -1;
		enum emu_phase p = emu_timeline_phase(&t, T0 + cases[i].at, &since);

		if (p != cases[i].want || since != T0 + cases[i].since)
			fail_msg("case %zu: phase %d since %lld", i, p, (long long)(since - T0));
	}
	assert_true(emu_phase_running(EMU_PHASE_PENDING));
	assert_true(emu_phase_running(EMU_PHASE_STOPPING));
	assert_false(emu_phase_running(EMU_PHASE_FAILED));
	assert_false(emu_phase_running(EMU_PHASE_STOPPED));
}

static const char *world_text =
	"{\"durations\":{\"pendingMs\":10,\"importMs\":100,\"trainingMs\":200,"
	"\"campaignUpdateMs\":100,\"stoppingMs\":10},"
	"\"roles\":[\"arn:aws:iam::123456789012:role/R\"],"
	"\"datasetGroups\":[{\"name\":\"g\"}],"
	"\"datasets\":[{\"datasetGroup\":\"g\",\"type\":\"users\"},"
	"{\"datasetGroup\":\"g\",\"type\":\"INTERACTIONS\"}],"
	"\"solutions\":[{\"name\":\"s\",\"datasetGroup\":\"g\",\"newVersionMetrics\":[{\"coverage\":0.5}],"
	"\"versions\":[{\"id\":\"00000001\",\"status\":\"ACTIVE\"},"
	"{\"id\":\"00000002\",\"status\":\"CREATE FAILED\"}]}],"
	"\"campaigns\":[{\"name\":\"c\",\"version\":\"00000001\"}]}";

struct fixture {
	struct emu_world *w;
	struct emu_clock now;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;

	assert_non_null(f);
	f->now.mono_ms = T0;
	f->now.wall_ms = WALL0;
	f->now.api_ms = WALL0;
	f->now.scale = 1;
	if (emu_world_parse(world_text, strlen(world_text), false, &f->now, 7, &f->w, &err) < 0)
		fail_msg("world: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	emu_world_free(f->w);
	free(f);
	return 0;
}

/* Call op with a JSON body; returns the parsed answer (caller frees) and
 * the error code in *code (NULL on success). */
static cJSON *call(struct fixture *f, const char *op, const char *body, const char **code)
{
	struct emu_reply r = { 0 };
	cJSON *in = cJSON_Parse(body), *out;

	assert_non_null(in);
	emu_world_call(f->w, op, in, &f->now, &r);
	*code = r.error;
	out = cJSON_Parse(r.body);
	assert_non_null(out);
	if (r.error)
		assert_in_range(r.status, 400, 404);
	else
		assert_int_equal(r.status, 200);
	emu_reply_clear(&r);
	cJSON_Delete(in);
	return out;
}

static const char *path_str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define EXPECT_OK(f, op, body) do { const char *c_; cJSON_Delete(call(f, op, body, &c_)); \
	if (c_) fail_msg("%s: %s", op, c_); } while (0)
#define EXPECT_ERR(f, op, body, want) do { const char *c_; cJSON_Delete(call(f, op, body, &c_)); \
	if (!c_ || strcmp(c_, want)) fail_msg("%s: got %s, want %s", op, c_ ? c_ : "success", want); } while (0)

static void test_import_rules(void **state)
{
	struct fixture *f = *state;
	const char *code;
	cJSON *o;

	o = call(f, "CreateDatasetImportJob",
		 "{\"jobName\":\"j1\",\"datasetArn\":\"" A "dataset/g/USERS\","
		 "\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
		 "\"roleArn\":\"arn:aws:iam::123456789012:role/R\"}", &code);
	assert_null(code);
	assert_string_equal(path_str(o, "datasetImportJobArn", NULL), A "dataset-import-job/j1");
	cJSON_Delete(o);
	EXPECT_ERR(f, "CreateDatasetImportJob", "{\"jobName\":\"j1\",\"datasetArn\":\"" A
		   "dataset/g/INTERACTIONS\",\"dataSource\":{\"dataLocation\":\"s3://b/i.csv\"}}",
		   "ResourceAlreadyExistsException");
	EXPECT_ERR(f, "CreateDatasetImportJob", "{\"jobName\":\"j2\",\"datasetArn\":\"" A
		   "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"}}",
		   "ResourceInUseException");
	EXPECT_ERR(f, "CreateDatasetImportJob", "{\"jobName\":\"j3\",\"datasetArn\":\"" A
		   "dataset/g/ITEMS\",\"dataSource\":{\"dataLocation\":\"s3://b/x.csv\"}}",
		   "ResourceNotFoundException");
	EXPECT_ERR(f, "CreateSolutionVersion", "{\"solutionArn\":\"" A "solution/s\"}",
		   "ResourceInUseException");
	o = call(f, "DescribeDatasetImportJob", "{\"datasetImportJobArn\":\"" A "dataset-import-job/j1\"}", &code);
	assert_string_equal(path_str(o, "datasetImportJob", "status"), "CREATE PENDING");
	cJSON_Delete(o);
	f->now.mono_ms += 10;
	o = call(f, "DescribeDatasetImportJob", "{\"datasetImportJobArn\":\"" A "dataset-import-job/j1\"}", &code);
	assert_string_equal(path_str(o, "datasetImportJob", "status"), "CREATE IN_PROGRESS");
	cJSON_Delete(o);
	f->now.mono_ms += 100;
	o = call(f, "DescribeDatasetImportJob", "{\"datasetImportJobArn\":\"" A "dataset-import-job/j1\"}", &code);
	assert_string_equal(path_str(o, "datasetImportJob", "status"), "ACTIVE");
	assert_null(path_str(o, "datasetImportJob", "failureReason"));
	cJSON_Delete(o);
	/* idle now: a new import with a new name is accepted */
	EXPECT_OK(f, "CreateDatasetImportJob", "{\"jobName\":\"j2\",\"datasetArn\":\"" A
		  "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"}}");
	/* a role the world does not know: the job fails like AWS's does */
	o = call(f, "CreateDatasetImportJob", "{\"jobName\":\"j4\",\"datasetArn\":\"" A
		 "dataset/g/INTERACTIONS\",\"dataSource\":{\"dataLocation\":\"s3://b/i.csv\"},"
		 "\"roleArn\":\"arn:aws:iam::123456789012:role/Other\"}", &code);
	cJSON_Delete(o);
	f->now.mono_ms += 110;
	o = call(f, "DescribeDatasetImportJob", "{\"datasetImportJobArn\":\"" A "dataset-import-job/j4\"}", &code);
	assert_string_equal(path_str(o, "datasetImportJob", "status"), "CREATE FAILED");
	assert_non_null(path_str(o, "datasetImportJob", "failureReason"));
	cJSON_Delete(o);
}

static double path_num(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* On the test time scale the resources' timestamps come from api_ms and
 * advance scale ms per monotonic ms; wall_ms plays no part. */
/* Tags: the rules beyond the model's shapes (aws: prefix, duplicate keys,
 * at most 50), kept on the resource, served by ListTagsForResource and
 * shown in the state snapshot. */
static void test_tags(void **state)
{
	struct fixture *f = *state;
	char body[8192], arn[256];
	const char *code;
	const cJSON *t;
	cJSON *o;
	size_t n;
	int i;

	EXPECT_ERR(f, "CreateDatasetImportJob", "{\"jobName\":\"t1\",\"datasetArn\":\"" A
		   "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
		   "\"tags\":[{\"tagKey\":\"AWS:x\",\"tagValue\":\"1\"}]}",
		   "InvalidInputException");
	EXPECT_ERR(f, "CreateDatasetImportJob", "{\"jobName\":\"t1\",\"datasetArn\":\"" A
		   "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
		   "\"tags\":[{\"tagKey\":\"x\",\"tagValue\":\"aws:1\"}]}",
		   "InvalidInputException");
	EXPECT_ERR(f, "CreateDatasetImportJob", "{\"jobName\":\"t1\",\"datasetArn\":\"" A
		   "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
		   "\"tags\":[{\"tagKey\":\"a\",\"tagValue\":\"1\"},"
		   "{\"tagKey\":\"a\",\"tagValue\":\"2\"}]}", "InvalidInputException");
	n = (size_t)snprintf(body, sizeof(body), "{\"solutionArn\":\"" A "solution/s\",\"tags\":[");
	for (i = 0; i < 51; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s{\"tagKey\":\"k%d\",\"tagValue\":\"v\"}",
				      i ? "," : "", i);
	snprintf(body + n, sizeof(body) - n, "]}");
	EXPECT_ERR(f, "CreateSolutionVersion", body, "TooManyTagsException");
	/* nothing was created by the refused calls */
	o = emu_world_state(f->w, &f->now);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "datasetImportJobs")), 0);
	cJSON_Delete(o);

	o = call(f, "CreateDatasetImportJob", "{\"jobName\":\"t1\",\"datasetArn\":\"" A
		 "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"},"
		 "\"tags\":[{\"tagKey\":\"a\",\"tagValue\":\"1\"},{\"tagKey\":\"A\",\"tagValue\":\"\"}]}",
		 &code);
	assert_null(code);
	cJSON_Delete(o);
	o = call(f, "ListTagsForResource", "{\"resourceArn\":\"" A "dataset-import-job/t1\"}", &code);
	assert_null(code);
	t = cJSON_GetObjectItem(o, "tags");
	assert_int_equal(cJSON_GetArraySize(t), 2);
	assert_string_equal(path_str(cJSON_GetArrayItem(t, 1), "tagKey", NULL), "A");
	assert_string_equal(path_str(cJSON_GetArrayItem(t, 1), "tagValue", NULL), "");
	cJSON_Delete(o);

	f->now.mono_ms += 1000; /* the import is done: training may start */
	o = call(f, "CreateSolutionVersion", "{\"solutionArn\":\"" A "solution/s\","
		 "\"tags\":[{\"tagKey\":\"team\",\"tagValue\":\"recs\"}]}", &code);
	assert_null(code);
	snprintf(arn, sizeof(arn), "%s", path_str(o, "solutionVersionArn", NULL));
	cJSON_Delete(o);
	snprintf(body, sizeof(body), "{\"resourceArn\":\"%s\"}", arn);
	o = call(f, "ListTagsForResource", body, &code);
	assert_null(code);
	assert_string_equal(path_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "tags"), 0),
				     "tagValue", NULL), "recs");
	cJSON_Delete(o);
	o = emu_world_state(f->w, &f->now);
	t = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "datasetImportJobs"), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "tags")), 2);
	cJSON_Delete(o);
	EXPECT_ERR(f, "ListTagsForResource", "{\"resourceArn\":\"" A "dataset-import-job/nope\"}",
		   "ResourceNotFoundException");
}

static void test_scaled_timestamps(void **state)
{
	struct fixture f = { NULL, { T0, WALL0, WALL0 + 3600000, 5 } };
	const int64_t api0 = WALL0 + 3600000;
	const char *code;
	char *err = NULL;
	cJSON *o;

	(void)state;
	if (emu_world_parse(world_text, strlen(world_text), false, &f.now, 7, &f.w, &err) < 0)
		fail_msg("world: %s", err);
	EXPECT_OK(&f, "CreateDatasetImportJob", "{\"jobName\":\"j1\",\"datasetArn\":\"" A
		  "dataset/g/INTERACTIONS\",\"dataSource\":{\"dataLocation\":\"s3://b/i.csv\"}}");
	f.now.mono_ms += 200; /* pending 10 + import 100: ACTIVE since T0 + 110 */
	f.now.api_ms += 200 * 5;
	o = call(&f, "DescribeDatasetImportJob", "{\"datasetImportJobArn\":\"" A
		 "dataset-import-job/j1\"}", &code);
	assert_null(code);
	assert_string_equal(path_str(o, "datasetImportJob", "status"), "ACTIVE");
	assert_true(fabs(path_num(o, "datasetImportJob", "creationDateTime") -
			 (double)api0 / 1000.0) < 1e-3);
	assert_true(fabs(path_num(o, "datasetImportJob", "lastUpdatedDateTime") -
			 (double)(api0 + 110 * 5) / 1000.0) < 1e-3);
	cJSON_Delete(o);
	emu_world_free(f.w);
}

static void test_training_and_deploy(void **state)
{
	struct fixture *f = *state;
	const char *code, *v;
	char body[512];
	cJSON *o, *m;

	EXPECT_ERR(f, "UpdateCampaign", "{\"campaignArn\":\"" A "campaign/c\",\"solutionVersionArn\":\""
		   A "solution/s/00000002\"}", "InvalidInputException");
	EXPECT_ERR(f, "UpdateCampaign", "{\"campaignArn\":\"" A "campaign/c\",\"solutionVersionArn\":\""
		   A "solution/s/99999999\"}", "ResourceNotFoundException");
	o = call(f, "CreateSolutionVersion", "{\"solutionArn\":\"" A "solution/s\",\"name\":\"v1\"}", &code);
	assert_null(code);
	v = path_str(o, "solutionVersionArn", NULL);
	assert_non_null(v);
	assert_int_equal(strlen(v), strlen(A "solution/s/") + 8);
	snprintf(body, sizeof(body), "{\"campaignArn\":\"" A "campaign/c\",\"solutionVersionArn\":\"%s\"}", v);
	EXPECT_ERR(f, "UpdateCampaign", body, "InvalidInputException");
	EXPECT_ERR(f, "CreateSolutionVersion", "{\"solutionArn\":\"" A "solution/s\"}", "ResourceInUseException");
	f->now.mono_ms += 210;
	EXPECT_ERR(f, "CreateSolutionVersion", "{\"solutionArn\":\"" A "solution/s\",\"name\":\"v1\"}",
		   "ResourceAlreadyExistsException");
	{
		char mb[512];

		snprintf(mb, sizeof(mb), "{\"solutionVersionArn\":\"%s\"}", v);
		m = call(f, "GetSolutionMetrics", mb, &code);
		assert_null(code);
		/* the world's newVersionMetrics, in order */
		assert_true(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "metrics"),
							     "coverage")->valuedouble == 0.5);
		cJSON_Delete(m);
	}
	EXPECT_OK(f, "UpdateCampaign", body);
	EXPECT_ERR(f, "UpdateCampaign", body, "ResourceInUseException");
	o = (cJSON_Delete(o), NULL);
	m = call(f, "DescribeCampaign", "{\"campaignArn\":\"" A "campaign/c\"}", &code);
	assert_string_equal(path_str(m, "campaign", "status"), "ACTIVE");
	assert_string_equal(path_str(m, "campaign", "solutionVersionArn"), A "solution/s/00000001");
	assert_string_equal(path_str(cJSON_GetObjectItemCaseSensitive(m, "campaign"),
				     "latestCampaignUpdate", "status"), "UPDATE PENDING");
	cJSON_Delete(m);
	f->now.mono_ms += 110;
	m = call(f, "DescribeCampaign", "{\"campaignArn\":\"" A "campaign/c\"}", &code);
	assert_string_equal(path_str(cJSON_GetObjectItemCaseSensitive(m, "campaign"),
				     "latestCampaignUpdate", "status"), "ACTIVE");
	assert_string_not_equal(path_str(m, "campaign", "solutionVersionArn"), A "solution/s/00000001");
	cJSON_Delete(m);
	/* back to the first version, scripted to fail: the campaign keeps serving */
	{
		cJSON *script = cJSON_Parse("{\"campaignUpdateFails\":1}");
		char *err = NULL;

		assert_int_equal(emu_world_set_script(f->w, script, &err), 0);
		cJSON_Delete(script);
	}
	EXPECT_OK(f, "UpdateCampaign", "{\"campaignArn\":\"" A "campaign/c\",\"solutionVersionArn\":\""
		  A "solution/s/00000001\"}");
	f->now.mono_ms += 110;
	m = call(f, "DescribeCampaign", "{\"campaignArn\":\"" A "campaign/c\"}", &code);
	assert_string_equal(path_str(cJSON_GetObjectItemCaseSensitive(m, "campaign"),
				     "latestCampaignUpdate", "status"), "CREATE FAILED");
	assert_string_not_equal(path_str(m, "campaign", "solutionVersionArn"), A "solution/s/00000001");
	cJSON_Delete(m);
}

static void test_lists_and_pages(void **state)
{
	struct fixture *f = *state;
	const char *code;
	cJSON *o;
	char body[256];

	for (int i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"jobName\":\"p%d\",\"datasetArn\":\"" A
			 "dataset/g/USERS\",\"dataSource\":{\"dataLocation\":\"s3://b/u.csv\"}}", i);
		EXPECT_OK(f, "CreateDatasetImportJob", body);
		f->now.mono_ms += 1000;
	}
	o = call(f, "ListDatasetImportJobs", "{\"maxResults\":2}", &code);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "datasetImportJobs")), 2);
	assert_string_equal(path_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "datasetImportJobs"), 0),
				     "jobName", NULL), "p2"); /* newest first */
	snprintf(body, sizeof(body), "{\"maxResults\":2,\"nextToken\":\"%s\"}", path_str(o, "nextToken", NULL));
	cJSON_Delete(o);
	o = call(f, "ListDatasetImportJobs", body, &code);
	assert_null(code);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "datasetImportJobs")), 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "nextToken"));
	cJSON_Delete(o);
	/* a token is bound to its listing */
	o = call(f, "ListDatasetImportJobs", "{\"maxResults\":1}", &code);
	snprintf(body, sizeof(body), "{\"nextToken\":\"%s\"}", path_str(o, "nextToken", NULL));
	cJSON_Delete(o);
	EXPECT_ERR(f, "ListSolutionVersions", body, "InvalidNextTokenException");
	EXPECT_ERR(f, "ListDatasetImportJobs", "{\"nextToken\":\"zz\"}", "InvalidNextTokenException");
	o = call(f, "ListDatasets", "{\"datasetGroupArn\":\"" A "dataset-group/g\"}", &code);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "datasets")), 2);
	cJSON_Delete(o);
	o = call(f, "ListDatasets", "{\"datasetGroupArn\":\"" A "dataset-group/other\"}", &code);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "datasets")), 0);
	cJSON_Delete(o);
	o = call(f, "DescribeDataset", "{\"datasetArn\":\"" A "dataset/g/USERS\"}", &code);
	assert_string_equal(path_str(o, "dataset", "datasetType"), "USERS");
	cJSON_Delete(o);
	EXPECT_ERR(f, "ListSolutionVersions", "{\"solutionArn\":\"" A "solution/none\"}",
		   "ResourceNotFoundException");
	EXPECT_ERR(f, "DeleteCampaign", "{}", "UnknownOperationException");
}

static void test_world_errors(void **state)
{
	static const struct {
		const char *text;
		bool yaml;
		const char *err;
	} cases[] = {
		{ "[]", false, "the world must be an object" },
		{ "{", false, "malformed JSON" },
		{ "{\"datasetGroups\":[{}]}", false, "datasetGroups[1]: \"name\"" },
		{ "{\"datasetGroups\":[{\"name\":\"g\"}],\"datasets\":[{\"datasetGroup\":\"x\",\"type\":\"USERS\"}]}",
		  false, "datasets[1]: \"datasetGroup\" names no dataset group" },
		{ "{\"datasetGroups\":[{\"name\":\"g\"}],\"datasets\":[{\"datasetGroup\":\"g\"}]}",
		  false, "datasets[1]: \"type\"" },
		{ "{\"datasetGroups\":[{\"name\":\"g\"}],\"campaigns\":[{\"name\":\"c\",\"version\":\"nope\"}]}",
		  false, "campaigns[1]: \"version\"" },
		{ "{\"campaignUpdateStatuses\":\"SOMETIMES\"}", false, "campaignUpdateStatuses" },
		{ "{\"script\":{\"importFails\":5}}", false, "script.importFails" },
		{ "a: [1, 2\nb: c", true, "line " },
		{ "a: &x 1\nb: *x\n", true, "aliases are not supported" },
	};
	struct emu_clock now = { T0, WALL0, WALL0, 1 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_world *w = NULL;
		char *err = NULL;

		assert_int_equal(emu_world_parse(cases[i].text, strlen(cases[i].text), cases[i].yaml,
						 &now, 1, &w, &err), -EINVAL);
		assert_null(w);
		if (!err || !strstr(err, cases[i].err))
			fail_msg("case %zu: error \"%s\", wanted \"%s\"", i, err ? err : "(none)", cases[i].err);
		free(err);
	}
}

/* The shipped worlds load, and the YAML one equals the JSON one. */
static void test_shipped_worlds(void **state)
{
	static const char *const files[] = {
		"tests/emulator/worlds/demo.json", "tests/emulator/worlds/test.json",
		"tests/emulator/worlds/test.yaml",
	};
	struct emu_clock now = { T0, WALL0, WALL0, 1 };
	char *dumps[3] = { NULL, NULL, NULL };

	(void)state;
	if (access(files[0], R_OK) != 0)
		skip();
	for (size_t i = 0; i < 3; i++) {
		struct emu_world *w = NULL;
		char *err = NULL;
		cJSON *st;

		if (emu_world_load(files[i], &now, 1, &w, &err) < 0)
			fail_msg("%s: %s", files[i], err);
		st = emu_world_state(w, &now);
		dumps[i] = cJSON_PrintUnformatted(st);
		cJSON_Delete(st);
		emu_world_free(w);
	}
	assert_non_null(strstr(dumps[0], A "campaign/my-campaign"));
	assert_non_null(strstr(dumps[0], A "dataset/my-dataset-group/INTERACTIONS"));
	assert_string_equal(dumps[1], dumps[2]);
	for (size_t i = 0; i < 3; i++)
		free(dumps[i]);
}

static void test_yaml_scalars(void **state)
{
	const char *y = "n: 12\nf: 0.5\nt: true\nno: false\nz: ~\ns: \"12\"\nl: [a, 1]\n";
	char *err = NULL, *s;
	cJSON *o = emu_yaml_to_json(y, strlen(y), &err);

	(void)state;
	assert_non_null(o);
	s = cJSON_PrintUnformatted(o);
	assert_string_equal(s, "{\"n\":12,\"f\":0.5,\"t\":true,\"no\":false,\"z\":null,\"s\":\"12\",\"l\":[\"a\",1]}");
	free(s);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeline_table),
		cmocka_unit_test_setup_teardown(test_import_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_training_and_deploy, setup, teardown),
		cmocka_unit_test(test_scaled_timestamps),
		cmocka_unit_test_setup_teardown(test_lists_and_pages, setup, teardown),
		cmocka_unit_test(test_world_errors),
		cmocka_unit_test(test_shipped_worlds),
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
