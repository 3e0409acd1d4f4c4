/* test_emu_batch.c - the emulator's batch inference and batch segment
 * jobs: lifecycle on the job clock, the service's rules, scripted
 * failures, the output objects they write to the world's S3 objects,
 * lists, tags, and the authorizations they need. Called directly with a
 * clock the test controls (no HTTP, no waiting). */
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

#define T0 1000000
#define WALL0 1795600000000LL
#define A "arn:aws:personalize:us-east-1:123456789012:"
#define ROLE "arn:aws:iam::123456789012:role/R"
#define V_USER A "solution/s/00000001"
#define V_SEG A "solution/seg/00000003"
#define V_TREND A "solution/trend/00000004"

static const char *world_text =
	"{\"durations\":{\"pendingMs\":10,\"trainingMs\":200,"
	"\"batchInferenceMs\":100,\"batchSegmentMs\":300},"
	"\"roles\":[\"" ROLE "\"],"
	"\"datasetGroups\":[{\"name\":\"g\"}],"
	"\"solutions\":["
	"{\"name\":\"s\",\"datasetGroup\":\"g\",\"versions\":[{\"id\":\"00000001\"},"
	"{\"id\":\"00000002\",\"status\":\"CREATE FAILED\"}]},"
	"{\"name\":\"seg\",\"datasetGroup\":\"g\","
	"\"recipeArn\":\"arn:aws:personalize:::recipe/aws-item-affinity\","
	"\"versions\":[{\"id\":\"00000003\"}]},"
	"{\"name\":\"trend\",\"datasetGroup\":\"g\","
	"\"recipeArn\":\"arn:aws:personalize:::recipe/aws-trending-now\","
	"\"versions\":[{\"id\":\"00000004\"}]}]}";

static const char *objects_text =
	"[{\"uri\":\"s3://b/batch/users.json\",\"etag\":\"\\\"1\\\"\",\"size\":100},"
	"{\"uri\":\"s3://b/batch/items.json\",\"etag\":\"\\\"2\\\"\",\"size\":50},"
	"{\"uri\":\"s3://b/seg/items.json\",\"etag\":\"\\\"3\\\"\",\"size\":10}]";

struct fixture {
	struct emu_world *w;
	struct emu_s3 s3;
	struct emu_clock now;
};

static int setup_text(void **state, const char *text)
{
	struct fixture *f = calloc(1, sizeof(*f));
	cJSON *objs = cJSON_Parse(objects_text);
	char *err = NULL;

	assert_non_null(f);
	assert_non_null(objs);
	f->now.mono_ms = T0;
	f->now.wall_ms = WALL0;
	f->now.api_ms = WALL0;
	f->now.scale = 1;
	if (emu_world_parse(text, strlen(text), false, &f->now, 7, &f->w, &err) < 0)
		fail_msg("world: %s", err);
	if (emu_s3_load(&f->s3, objs, WALL0, &err) < 0)
		fail_msg("s3: %s", err);
	cJSON_Delete(objs);
	emu_world_attach_s3(f->w, &f->s3);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_text(state, world_text);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	emu_world_free(f->w);
	emu_s3_free(&f->s3);
	free(f);
	return 0;
}

/* Call op with a JSON body; the parsed answer (caller frees), the error
 * code in *code (NULL on success). */
static cJSON *call(struct fixture *f, const char *op, const char *body, const char **code)
{
	struct emu_reply r = { 0 };
	cJSON *in = cJSON_Parse(body), *out;

	assert_non_null(in);
	emu_world_call(f->w, op, in, &f->now, &r);
	*code = r.error;
	out = cJSON_Parse(r.body);
	assert_non_null(out);
	assert_int_equal(r.status, r.error ? 400 : 200);
	emu_reply_clear(&r);
	cJSON_Delete(in);
	return out;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The error of op on body: NULL on success; the message into msg (may be NULL). */
static const char *error_of(struct fixture *f, const char *op, const char *body,
			    char *msg, size_t len)
{
	const char *code;
	cJSON *o = call(f, op, body, &code);

	if (msg)
		snprintf(msg, len, "%s", str_at(o, "message", NULL) ? str_at(o, "message", NULL) : "");
	cJSON_Delete(o);
	return code;
}

#define EXPECT_ERR(f, op, body, want) do { \
	const char *c_ = error_of(f, op, body, NULL, 0); \
	if (!c_ || strcmp(c_, want)) \
		fail_msg("%s:%d: %s: got %s, want %s", __FILE__, __LINE__, op, c_ ? c_ : "success", want); \
} while (0)
#define EXPECT_OK(f, op, body) do { \
	const char *c_ = error_of(f, op, body, NULL, 0); \
	if (c_) \
		fail_msg("%s:%d: %s: %s", __FILE__, __LINE__, op, c_); \
} while (0)

/* A create's body: name, version, input path, output path, extra members. */
static char *create_body(const char *name, const char *version, const char *in_path,
			 const char *out_path, const char *extra)
{
	return emu_strdup_printf("{\"jobName\":\"%s\",\"solutionVersionArn\":\"%s\","
				 "\"jobInput\":{\"s3DataSource\":{\"path\":\"%s\"}},"
				 "\"jobOutput\":{\"s3DataDestination\":{\"path\":\"%s\"}},"
				 "\"roleArn\":\"" ROLE "\"%s%s}",
				 name, version, in_path, out_path, extra ? "," : "", extra ? extra : "");
}

static const char *create(struct fixture *f, const char *op, const char *name,
			  const char *version, const char *in_path, const char *out_path,
			  const char *extra)
{
	char *b = create_body(name, version, in_path, out_path, extra);
	const char *code = error_of(f, op, b, NULL, 0);

	free(b);
	return code;
}

static cJSON *describe(struct fixture *f, const char *op, const char *member, const char *arn)
{
	char *b = emu_strdup_printf("{\"%s\":\"%s\"}", member, arn);
	const char *code;
	cJSON *o = call(f, op, b, &code);

	free(b);
	assert_null(code);
	return o;
}

static void expect_status(struct fixture *f, const char *name, const char *want)
{
	cJSON *o = describe(f, "DescribeBatchInferenceJob", "batchInferenceJobArn",
			    name);

	if (strcmp(str_at(o, "batchInferenceJob", "status"), want))
		fail_msg("%s: status %s, want %s", name, str_at(o, "batchInferenceJob", "status"), want);
	cJSON_Delete(o);
}

static void test_inference_lifecycle_and_output(void **state)
{
	struct fixture *f = *state;
	const struct emu_s3_object *out;
	const char *code;
	char *body, *xml = NULL;
	cJSON *o, *j;

	body = create_body("nightly", V_USER, "s3://b/batch/users.json", "s3://b/out/",
			   "\"numResults\":25,\"filterArn\":\"" A "filter/f\","
			   "\"batchInferenceJobConfig\":{\"itemExplorationConfig\":{\"explorationWeight\":\"0.3\"}}");
	o = call(f, "CreateBatchInferenceJob", body, &code);
	free(body);
	assert_null(code);
	assert_string_equal(str_at(o, "batchInferenceJobArn", NULL), A "batch-inference-job/nightly");
	cJSON_Delete(o);

	expect_status(f, A "batch-inference-job/nightly", "CREATE PENDING");
	/* nothing written before the job is ACTIVE */
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	assert_null(emu_s3_find(&f->s3, "b", "out/users.json.out"));
	f->now.mono_ms += 10;
	expect_status(f, A "batch-inference-job/nightly", "CREATE IN_PROGRESS");
	f->now.mono_ms += 99;
	expect_status(f, A "batch-inference-job/nightly", "CREATE IN_PROGRESS");
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	assert_null(emu_s3_find(&f->s3, "b", "out/users.json.out"));
	f->now.mono_ms += 1;
	expect_status(f, A "batch-inference-job/nightly", "ACTIVE");

	o = describe(f, "DescribeBatchInferenceJob", "batchInferenceJobArn",
		     A "batch-inference-job/nightly");
	j = cJSON_GetObjectItemCaseSensitive(o, "batchInferenceJob");
	assert_string_equal(str_at(j, "jobName", NULL), "nightly");
	assert_string_equal(str_at(j, "solutionVersionArn", NULL), V_USER);
	assert_string_equal(str_at(j, "filterArn", NULL), A "filter/f");
	assert_string_equal(str_at(j, "roleArn", NULL), ROLE);
	assert_string_equal(str_at(j, "batchInferenceJobMode", NULL), "BATCH_INFERENCE");
	assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(j, "jobInput"), "s3DataSource", "path"),
			    "s3://b/batch/users.json");
	assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(j, "jobOutput"), "s3DataDestination",
				   "path"), "s3://b/out/");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "numResults")->valueint, 25);
	assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(j, "batchInferenceJobConfig"),
				   "itemExplorationConfig", "explorationWeight"), "0.3");
	assert_null(str_at(j, "failureReason", NULL));
	assert_true(cJSON_GetObjectItemCaseSensitive(j, "lastUpdatedDateTime")->valuedouble >
		    cJSON_GetObjectItemCaseSensitive(j, "creationDateTime")->valuedouble);
	cJSON_Delete(o);

	/* the output: the input file's name with ".out", under the output prefix,
	 * last modified when the job finished (5 s ago on the wall clock) */
	f->now.mono_ms += 5000;
	f->now.wall_ms += 5000;
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	out = emu_s3_find(&f->s3, "b", "out/users.json.out");
	assert_non_null(out);
	assert_true(out->size > 0);
	assert_true(out->etag[0] == '"');
	assert_true(out->last_modified_ms <= f->now.wall_ms - 4000 &&
		    out->last_modified_ms >= f->now.wall_ms - 6000);
	assert_int_equal(emu_s3_list(&f->s3, "b", "out/", NULL, 1000, 0, &xml), 0);
	assert_non_null(strstr(xml, "<Key>out/users.json.out</Key>"));
	assert_non_null(strstr(xml, "<KeyCount>1</KeyCount>"));
	free(xml);
	/* published once: a second publish adds nothing */
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	assert_int_equal(f->s3.n, 4);
}

/* An input prefix reads every object under it; an output path without
 * the final "/" is a folder all the same. */
static void test_prefix_input_and_segment(void **state)
{
	struct fixture *f = *state;
	const char *code;
	cJSON *o;

	assert_null(create(f, "CreateBatchInferenceJob", "all", V_USER, "s3://b/batch/", "s3://b/res",
			   NULL));
	assert_null(create(f, "CreateBatchSegmentJob", "segs", V_SEG, "s3://b/seg/items.json",
			   "s3://b/segments/", NULL));
	f->now.mono_ms += 110;
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	assert_non_null(emu_s3_find(&f->s3, "b", "res/users.json.out"));
	assert_non_null(emu_s3_find(&f->s3, "b", "res/items.json.out"));
	/* the segment job runs longer (batchSegmentMs) */
	assert_null(emu_s3_find(&f->s3, "b", "segments/items.json.out"));
	o = describe(f, "DescribeBatchSegmentJob", "batchSegmentJobArn", A "batch-segment-job/segs");
	assert_string_equal(str_at(o, "batchSegmentJob", "status"), "CREATE IN_PROGRESS");
	assert_null(str_at(o, "batchSegmentJob", "batchInferenceJobMode"));
	cJSON_Delete(o);
	f->now.mono_ms += 200;
	o = describe(f, "DescribeBatchSegmentJob", "batchSegmentJobArn", A "batch-segment-job/segs");
	assert_string_equal(str_at(o, "batchSegmentJob", "status"), "ACTIVE");
	cJSON_Delete(o);
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	assert_non_null(emu_s3_find(&f->s3, "b", "segments/items.json.out"));
	o = describe(f, "DescribeBatchSegmentJob", "batchSegmentJobArn", A "batch-segment-job/segs");
	assert_string_equal(str_at(o, "batchSegmentJob", "status"), "ACTIVE");
	assert_string_equal(str_at(o, "batchSegmentJob", "batchSegmentJobArn"), A "batch-segment-job/segs");
	cJSON_Delete(o);
	/* a finished job's output is the input of the next one, without
	 * anything having read S3 in between */
	assert_null(create(f, "CreateBatchInferenceJob", "stage1", V_USER, "s3://b/batch/users.json",
			   "s3://b/stage1/", NULL));
	f->now.mono_ms += 110;
	assert_null(create(f, "CreateBatchInferenceJob", "chained", V_USER, "s3://b/stage1/",
			   "s3://b/chained/", NULL));
	f->now.mono_ms += 110;
	expect_status(f, A "batch-inference-job/chained", "ACTIVE");
	/* the kinds do not mix: an inference ARN is no segment job */
	o = call(f, "DescribeBatchSegmentJob",
		 "{\"batchSegmentJobArn\":\"" A "batch-inference-job/all\"}", &code);
	assert_string_equal(code, "ResourceNotFoundException");
	cJSON_Delete(o);
}

static void test_create_rules(void **state)
{
	struct fixture *f = *state;
	char msg[512], *body;
	const char *code;

	/* unknown version: ResourceNotFoundException */
	EXPECT_ERR(f, "CreateBatchInferenceJob",
		   "{\"jobName\":\"x\",\"solutionVersionArn\":\"" A "solution/s/ffffffff\","
		   "\"jobInput\":{\"s3DataSource\":{\"path\":\"s3://b/batch/users.json\"}},"
		   "\"jobOutput\":{\"s3DataDestination\":{\"path\":\"s3://b/o/\"}},"
		   "\"roleArn\":\"" ROLE "\"}", "ResourceNotFoundException");
	/* a failed version: InvalidInputException */
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", A "solution/s/00000002",
				   "s3://b/batch/users.json", "s3://b/o/", NULL), "InvalidInputException");
	/* a version still training: ResourceInUseException */
	EXPECT_OK(f, "CreateSolutionVersion", "{\"solutionArn\":\"" A "solution/s\"}");
	{
		cJSON *st = emu_world_state(f->w, &f->now);
		const cJSON *v;
		char *newest = NULL;

		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(st, "solutionVersions"))
			if (!strcmp(str_at(v, "status", NULL), "CREATE PENDING"))
				newest = strdup(str_at(v, "solutionVersionArn", NULL));
		cJSON_Delete(st);
		assert_non_null(newest);
		assert_string_equal(create(f, "CreateBatchInferenceJob", "x", newest,
					   "s3://b/batch/users.json", "s3://b/o/", NULL),
				    "ResourceInUseException");
		free(newest);
	}
	/* recipes: segments need USER_SEGMENTATION, inference refuses it and
	 * Trending-Now */
	body = create_body("x", V_USER, "s3://b/batch/users.json", "s3://b/o/", NULL);
	assert_string_equal(error_of(f, "CreateBatchSegmentJob", body, msg, sizeof(msg)),
			    "InvalidInputException");
	free(body);
	assert_non_null(strstr(msg, "USER_SEGMENTATION"));
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_SEG,
				   "s3://b/batch/users.json", "s3://b/o/", NULL), "InvalidInputException");
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_TREND,
				   "s3://b/batch/users.json", "s3://b/o/", NULL), "InvalidInputException");
	/* paths: an S3 URI with a bucket, and a key for the input */
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_USER,
				   "https://b/batch/users.json", "s3://b/o/", NULL), "InvalidInputException");
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_USER,
				   "s3://b/", "s3://b/o/", NULL), "InvalidInputException");
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_USER,
				   "s3://b/batch/users.json", "s3:///o/", NULL), "InvalidInputException");
	/* THEME_GENERATION wants its config */
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_USER,
				   "s3://b/batch/users.json", "s3://b/o/",
				   "\"batchInferenceJobMode\":\"THEME_GENERATION\""),
			    "InvalidInputException");
	/* tags: the rules of every create */
	assert_string_equal(create(f, "CreateBatchInferenceJob", "x", V_USER,
				   "s3://b/batch/users.json", "s3://b/o/",
				   "\"tags\":[{\"tagKey\":\"aws:x\",\"tagValue\":\"1\"}]"),
			    "InvalidInputException");
	/* nothing refused was created */
	{
		cJSON *o = call(f, "ListBatchInferenceJobs", "{}", &code);

		assert_null(code);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "batchInferenceJobs")), 0);
		cJSON_Delete(o);
	}
	/* the name is unique per kind: the same name is taken again, even
	 * after the first job finished; a segment job may share it */
	assert_null(create(f, "CreateBatchInferenceJob", "dup", V_USER, "s3://b/batch/users.json",
			   "s3://b/o/", NULL));
	f->now.mono_ms += 1000;
	body = create_body("dup", V_USER, "s3://b/batch/items.json", "s3://b/o2/", NULL);
	assert_string_equal(error_of(f, "CreateBatchInferenceJob", body, msg, sizeof(msg)),
			    "ResourceAlreadyExistsException");
	free(body);
	assert_string_equal(msg, "Another resource with Arn " A "batch-inference-job/dup already exists.");
	assert_null(create(f, "CreateBatchSegmentJob", "dup", V_SEG, "s3://b/seg/items.json",
			   "s3://b/o/", NULL));
}

/* What the service only finds out while the job runs: the create
 * succeeds and the job ends CREATE FAILED, writing nothing. */
static void test_async_failures(void **state)
{
	struct fixture *f = *state;
	cJSON *script = cJSON_Parse("{\"batchInferenceFails\": 1}");
	char *err = NULL;
	cJSON *o;

	assert_null(create(f, "CreateBatchInferenceJob", "missing", V_USER, "s3://b/nothing/here.json",
			   "s3://b/o1/", NULL));
	assert_null(create(f, "CreateBatchInferenceJob", "other-bucket", V_USER,
			   "s3://elsewhere/batch/users.json", "s3://b/o2/", NULL));
	{
		char *body = create_body("badrole", V_USER, "s3://b/batch/users.json", "s3://b/o3/", NULL);
		char *r = strstr(body, ROLE);

		memcpy(r + strlen(ROLE) - 1, "Q", 1);
		EXPECT_OK(f, "CreateBatchInferenceJob", body);
		free(body);
	}
	assert_int_equal(emu_world_set_script(f->w, script, &err), 0);
	cJSON_Delete(script);
	assert_null(create(f, "CreateBatchInferenceJob", "scripted", V_USER, "s3://b/batch/users.json",
			   "s3://b/o4/", NULL));
	/* one scripted failure only: the next one succeeds */
	assert_null(create(f, "CreateBatchInferenceJob", "fine", V_USER, "s3://b/batch/users.json",
			   "s3://b/o5/", NULL));
	f->now.mono_ms += 10;
	expect_status(f, A "batch-inference-job/missing", "CREATE IN_PROGRESS");
	f->now.mono_ms += 100;
	{
		static const struct { const char *name, *reason; } want[] = {
			{ "missing", "Input data not found: no object at s3://b/nothing/here.json." },
			{ "other-bucket", "Input data not found" },
			{ "badrole", "Insufficient privileges for accessing data in S3" },
			{ "scripted", "Invalid input data" },
		};

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			char *a = emu_strdup_printf(A "batch-inference-job/%s", want[i].name);

			o = describe(f, "DescribeBatchInferenceJob", "batchInferenceJobArn", a);
			free(a);
			assert_string_equal(str_at(o, "batchInferenceJob", "status"), "CREATE FAILED");
			if (!strstr(str_at(o, "batchInferenceJob", "failureReason"), want[i].reason))
				fail_msg("%s: %s", want[i].name, str_at(o, "batchInferenceJob", "failureReason"));
			cJSON_Delete(o);
		}
	}
	expect_status(f, A "batch-inference-job/fine", "ACTIVE");
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	assert_null(emu_s3_find(&f->s3, "b", "o3/users.json.out"));
	assert_null(emu_s3_find(&f->s3, "b", "o4/users.json.out"));
	assert_non_null(emu_s3_find(&f->s3, "b", "o5/users.json.out"));
	/* a failure reason from the script replaces the default */
	script = cJSON_Parse("{\"batchSegmentFails\": true, \"failureReason\": \"boom\"}");
	assert_int_equal(emu_world_set_script(f->w, script, &err), 0);
	cJSON_Delete(script);
	assert_null(create(f, "CreateBatchSegmentJob", "s1", V_SEG, "s3://b/seg/items.json",
			   "s3://b/o6/", NULL));
	f->now.mono_ms += 310;
	o = describe(f, "DescribeBatchSegmentJob", "batchSegmentJobArn", A "batch-segment-job/s1");
	assert_string_equal(str_at(o, "batchSegmentJob", "status"), "CREATE FAILED");
	assert_string_equal(str_at(o, "batchSegmentJob", "failureReason"), "boom");
	cJSON_Delete(o);
}

static int names_in(const cJSON *page, const char *key, char *out, size_t len)
{
	const cJSON *e;
	int n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(page, key)) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s", n ? "," : "",
			 str_at(e, "jobName", NULL));
		n++;
	}
	return n;
}

static void test_list_filter_paging_tags_state(void **state)
{
	struct fixture *f = *state;
	char names[256], *body;
	const char *code, *tok;
	cJSON *o, *p, *st;

	for (int i = 1; i <= 3; i++) {
		char n[8];

		snprintf(n, sizeof(n), "j%d", i);
		assert_null(create(f, "CreateBatchInferenceJob", n, V_USER, "s3://b/batch/users.json",
				   "s3://b/o/", i == 2 ? "\"tags\":[{\"tagKey\":\"team\",\"tagValue\":\"ml\"}]"
						     : NULL));
		f->now.mono_ms += 1;
	}
	assert_null(create(f, "CreateBatchSegmentJob", "s1", V_SEG, "s3://b/seg/items.json",
			   "s3://b/o/", NULL));
	/* newest first; the filter; the segment job in its own list */
	o = call(f, "ListBatchInferenceJobs", "{}", &code);
	assert_int_equal(names_in(o, "batchInferenceJobs", names, sizeof(names)), 3);
	assert_string_equal(names, "j3,j2,j1");
	p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "batchInferenceJobs"), 0);
	assert_string_equal(str_at(p, "solutionVersionArn", NULL), V_USER);
	assert_string_equal(str_at(p, "status", NULL), "CREATE PENDING");
	assert_null(cJSON_GetObjectItemCaseSensitive(p, "jobInput")); /* a summary */
	cJSON_Delete(o);
	o = call(f, "ListBatchInferenceJobs", "{\"solutionVersionArn\":\"" V_SEG "\"}", &code);
	assert_int_equal(names_in(o, "batchInferenceJobs", names, sizeof(names)), 0);
	cJSON_Delete(o);
	o = call(f, "ListBatchSegmentJobs", "{\"solutionVersionArn\":\"" V_SEG "\"}", &code);
	assert_int_equal(names_in(o, "batchSegmentJobs", names, sizeof(names)), 1);
	cJSON_Delete(o);
	/* pages of 2 */
	o = call(f, "ListBatchInferenceJobs",
		 "{\"solutionVersionArn\":\"" V_USER "\",\"maxResults\":2}", &code);
	assert_int_equal(names_in(o, "batchInferenceJobs", names, sizeof(names)), 2);
	assert_string_equal(names, "j3,j2");
	tok = str_at(o, "nextToken", NULL);
	assert_non_null(tok);
	body = emu_strdup_printf("{\"solutionVersionArn\":\"" V_USER "\",\"maxResults\":2,"
				 "\"nextToken\":\"%s\"}", tok);
	p = call(f, "ListBatchInferenceJobs", body, &code);
	assert_null(code);
	assert_int_equal(names_in(p, "batchInferenceJobs", names, sizeof(names)), 1);
	assert_string_equal(names, "j1");
	assert_null(str_at(p, "nextToken", NULL));
	cJSON_Delete(p);
	free(body);
	/* the token is bound to its listing */
	body = emu_strdup_printf("{\"maxResults\":2,\"nextToken\":\"%s\"}", tok);
	EXPECT_ERR(f, "ListBatchInferenceJobs", body, "InvalidNextTokenException");
	free(body);
	body = emu_strdup_printf("{\"solutionVersionArn\":\"" V_USER "\",\"nextToken\":\"%s\"}", tok);
	EXPECT_ERR(f, "ListBatchSegmentJobs", body, "InvalidNextTokenException");
	free(body);
	cJSON_Delete(o);
	/* tags as created */
	o = call(f, "ListTagsForResource", "{\"resourceArn\":\"" A "batch-inference-job/j2\"}", &code);
	assert_null(code);
	assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "tags"), 0),
				   "tagKey", NULL), "team");
	cJSON_Delete(o);
	/* the state snapshot lists both kinds, with outputs and tags */
	f->now.mono_ms += 1000;
	assert_int_equal(emu_world_publish(f->w, &f->now), 0);
	st = emu_world_state(f->w, &f->now);
	p = cJSON_GetObjectItemCaseSensitive(st, "batchInferenceJobs");
	assert_int_equal(cJSON_GetArraySize(p), 3);
	assert_string_equal(str_at(cJSON_GetArrayItem(p, 1), "status", NULL), "ACTIVE");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(p, 1), "tags"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(p, 1), "outputsWritten")));
	assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(p, 0), "outputs"), 0), "uri", NULL), "s3://b/o/users.json.out");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "batchSegmentJobs")), 1);
	cJSON_Delete(st);
}

/* "batchJobStatuses": "MODEL" words the statuses as the model's
 * documentation does. */
static int setup_model_statuses(void **state)
{
	static char text[2048];

	snprintf(text, sizeof(text), "{\"batchJobStatuses\":\"MODEL\",%s", world_text + 1);
	return setup_text(state, text);
}

static void test_model_statuses(void **state)
{
	struct fixture *f = *state;
	struct emu_clock now = { T0, WALL0, WALL0, 1 };
	struct emu_world *w = NULL;
	char *err = NULL;

	assert_null(create(f, "CreateBatchInferenceJob", "m", V_USER, "s3://b/batch/users.json",
			   "s3://b/o/", NULL));
	expect_status(f, A "batch-inference-job/m", "PENDING");
	f->now.mono_ms += 10;
	expect_status(f, A "batch-inference-job/m", "IN PROGRESS");
	f->now.mono_ms += 100;
	expect_status(f, A "batch-inference-job/m", "ACTIVE");
	assert_int_equal(emu_world_parse("{\"batchJobStatuses\":\"x\"}", 24, false, &now, 1, &w, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "batchJobStatuses"));
	free(err);
}

static struct emu_policy *policy(const char *text)
{
	cJSON *doc = cJSON_Parse(text);
	struct emu_policy *p = NULL;
	char *err = NULL;

	assert_non_null(doc);
	if (emu_policy_parse(doc, &p, &err) < 0)
		fail_msg("policy: %s", err);
	cJSON_Delete(doc);
	return p;
}

static void test_authorizations(void **state)
{
	char *body = create_body("nightly", V_USER, "s3://b/batch/users.json", "s3://b/o/",
				 "\"tags\":[{\"tagKey\":\"k\",\"tagValue\":\"v\"}]");
	cJSON *in = cJSON_Parse(body);
	struct emu_authz az[EMU_AUTHZ_MAX];
	struct emu_reply r = { 0 };
	struct emu_policy *p;
	size_t n;

	(void)state;
	free(body);
	n = emu_authz_personalize("CreateBatchInferenceJob", in, "us-east-1", "123456789012", az);
	assert_int_equal(n, 3);
	assert_string_equal(az[0].action, "personalize:CreateBatchInferenceJob");
	assert_string_equal(az[0].resource, A "batch-inference-job/nightly");
	assert_string_equal(az[1].action, "iam:PassRole");
	assert_string_equal(az[1].resource, ROLE);
	assert_string_equal(az[1].ctx_key, "iam:PassedToService");
	assert_string_equal(az[1].ctx_value, "personalize.amazonaws.com");
	assert_string_equal(az[2].action, "personalize:TagResource");
	assert_string_equal(az[2].resource, A "batch-inference-job/nightly");
	n = emu_authz_personalize("CreateBatchSegmentJob", in, "us-east-1", "123456789012", az);
	assert_int_equal(n, 3);
	assert_string_equal(az[0].resource, A "batch-segment-job/nightly");

	/* allowed on every batch inference job but without TagResource: the tags deny it */
	p = policy("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"personalize:*BatchInferenceJob*\","
		   "\"Resource\":\"" A "batch-inference-job/*\"},"
		   "{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"" ROLE "\","
		   "\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":\"personalize.amazonaws.com\"}}}]}");
	n = emu_authz_personalize("CreateBatchInferenceJob", in, "us-east-1", "123456789012", az);
	assert_true(emu_policy_deny(p, az, n, "arn:aws:iam::123456789012:user/AKID", &r));
	assert_int_equal(r.status, 400);
	assert_string_equal(r.error, "AccessDeniedException");
	assert_non_null(strstr(r.body, "personalize:TagResource"));
	emu_reply_clear(&r);
	/* without tags it passes; the segment job is another resource type */
	cJSON_DeleteItemFromObject(in, "tags");
	n = emu_authz_personalize("CreateBatchInferenceJob", in, "us-east-1", "123456789012", az);
	assert_false(emu_policy_deny(p, az, n, "arn:aws:iam::123456789012:user/AKID", &r));
	n = emu_authz_personalize("CreateBatchSegmentJob", in, "us-east-1", "123456789012", az);
	assert_true(emu_policy_deny(p, az, n, "arn:aws:iam::123456789012:user/AKID", &r));
	assert_non_null(strstr(r.body, "personalize:CreateBatchSegmentJob on resource: " A
			       "batch-segment-job/nightly"));
	emu_reply_clear(&r);
	cJSON_Delete(in);
	/* Describe names its job; List has no resource-level permission */
	in = cJSON_Parse("{\"batchSegmentJobArn\":\"" A "batch-segment-job/s\"}");
	n = emu_authz_personalize("DescribeBatchSegmentJob", in, "us-east-1", "123456789012", az);
	assert_int_equal(n, 1);
	assert_string_equal(az[0].resource, A "batch-segment-job/s");
	cJSON_Delete(in);
	in = cJSON_Parse("{\"solutionVersionArn\":\"" V_USER "\"}");
	n = emu_authz_personalize("ListBatchInferenceJobs", in, "us-east-1", "123456789012", az);
	assert_int_equal(n, 1);
	assert_string_equal(az[0].resource, "*");
	assert_true(emu_policy_deny(p, az, n, "arn:aws:iam::123456789012:user/AKID", &r));
	emu_reply_clear(&r);
	cJSON_Delete(in);
	emu_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inference_lifecycle_and_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_input_and_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filter_paging_tags_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_statuses, setup_model_statuses, teardown),
		cmocka_unit_test(test_authorizations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
