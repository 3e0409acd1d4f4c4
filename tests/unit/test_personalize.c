/* test_personalize.c - the typed operations: every request body sent is
 * validated against the service model (service-2.json: every member
 * exists, required members present, types, enums, bounds), X-Amz-Target
 * checked; replies parsed into structs (tables, wrong types); pagination
 * followed to the end; errors and malformed replies delivered. */
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

#include "aws.h"
#include "aws-engine.h"
#include "aws-internal.h"
#include "call_fixture.h"
#include "log.h"
#include "config.h"
#include "personalize.h"
#include "loopback.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ARN "arn:aws:personalize:us-east-1:123456789012:"

/* ---- the service model ------------------------------------------------------ */

static cJSON *model;

static cJSON *load_json(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;
	cJSON *j;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	j = cJSON_Parse(buf);
	free(buf);
	return j;
}

static const cJSON *shape(const char *name)
{
	const cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(model, "shapes"),
					     name);

	if (!s)
		fail_msg("shape %s not in the model", name);
	return s;
}

static const char *shape_type(const cJSON *s)
{
	return cJSON_GetObjectItem(s, "type")->valuestring;
}

/* Validate v against the model's shape `name`; path names the place. */
static void validate(const cJSON *v, const char *name, const char *path)
{
	const cJSON *s = shape(name), *it, *mem, *req, *bound;
	const char *t = shape_type(s);

	if (strcmp(t, "structure") == 0) {
		if (!cJSON_IsObject(v))
			fail_msg("%s: not an object", path);
		mem = cJSON_GetObjectItem(s, "members");
		cJSON_ArrayForEach(it, v) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(mem,
							it->string);
			char sub[256];

			if (!m)
				fail_msg("%s: member \"%s\" is not in shape %s",
					 path, it->string, name);
			snprintf(sub, sizeof(sub), "%s.%s", path, it->string);
			validate(it, cJSON_GetObjectItem(m, "shape")->valuestring,
				 sub);
		}
		req = cJSON_GetObjectItem(s, "required");
		cJSON_ArrayForEach(it, req)
			if (!cJSON_GetObjectItemCaseSensitive(v, it->valuestring))
				fail_msg("%s: required member \"%s\" missing",
					 path, it->valuestring);
	} else if (strcmp(t, "string") == 0) {
		size_t len;

		if (!cJSON_IsString(v))
			fail_msg("%s: not a string", path);
		len = strlen(v->valuestring);
		if ((bound = cJSON_GetObjectItem(s, "max")) &&
		    len > (size_t)bound->valuedouble)
			fail_msg("%s: longer than %g", path, bound->valuedouble);
		if ((bound = cJSON_GetObjectItem(s, "min")) &&
		    len < (size_t)bound->valuedouble)
			fail_msg("%s: shorter than %g", path, bound->valuedouble);
		if ((bound = cJSON_GetObjectItem(s, "enum"))) {
			bool found = false;

			cJSON_ArrayForEach(it, bound)
				found |= strcmp(it->valuestring,
						v->valuestring) == 0;
			if (!found)
				fail_msg("%s: \"%s\" not in the enum", path,
					 v->valuestring);
		}
	} else if (strcmp(t, "integer") == 0 || strcmp(t, "long") == 0) {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
			fail_msg("%s: not an integer", path);
		if ((bound = cJSON_GetObjectItem(s, "max")) &&
		    v->valuedouble > bound->valuedouble)
			fail_msg("%s: above %g", path, bound->valuedouble);
		if ((bound = cJSON_GetObjectItem(s, "min")) &&
		    v->valuedouble < bound->valuedouble)
			fail_msg("%s: below %g", path, bound->valuedouble);
	} else if (strcmp(t, "boolean") == 0) {
		if (!cJSON_IsBool(v))
			fail_msg("%s: not a boolean", path);
	} else if (strcmp(t, "double") == 0 || strcmp(t, "float") == 0 ||
		   strcmp(t, "timestamp") == 0) {
		if (!cJSON_IsNumber(v))
			fail_msg("%s: not a number", path);
	} else if (strcmp(t, "list") == 0) {
		const char *m = cJSON_GetObjectItem(
			cJSON_GetObjectItem(s, "member"), "shape")->valuestring;

		if (!cJSON_IsArray(v))
			fail_msg("%s: not an array", path);
		cJSON_ArrayForEach(it, v)
			validate(it, m, path);
	} else if (strcmp(t, "map") == 0) {
		const char *m = cJSON_GetObjectItem(
			cJSON_GetObjectItem(s, "value"), "shape")->valuestring;

		if (!cJSON_IsObject(v))
			fail_msg("%s: not a map", path);
		cJSON_ArrayForEach(it, v)
			validate(it, m, path);
	} else {
		fail_msg("%s: shape type %s not handled", path, t);
	}
}

/* Validate one logged request: X-Amz-Target names op, body = op's input. */
static void validate_request(const char *raw, const char *op)
{
	const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(model,
						"operations"), op);
	const char *target = strstr(raw, "X-Amz-Target: AmazonPersonalize.");
	const char *body = strstr(raw, "\r\n\r\n");
	cJSON *j;
	size_t n = strlen(op);

	assert_non_null(o);
	assert_non_null(target);
	target += strlen("X-Amz-Target: AmazonPersonalize.");
	if (strncmp(target, op, n) != 0 || target[n] != '\r')
		fail_msg("target for %s is wrong", op);
	assert_non_null(body);
	j = cJSON_Parse(body + 4);
	if (!j)
		fail_msg("%s: body is not JSON", op);
	validate(j, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "input"),
					"shape")->valuestring, op);
	cJSON_Delete(j);
}

/* The idx-th request of the server log (malloc'd). */
static char *nth_request(const struct loopback *lb, unsigned idx)
{
	char *log = lb_log(lb), *p = log, *end, *out;
	unsigned i;

	assert_non_null(log);
	for (i = 0; i < idx; i++) {
		p = strstr(p, LB_SEPARATOR);
		assert_non_null(p);
		p += strlen(LB_SEPARATOR);
	}
	end = strstr(p, LB_SEPARATOR);
	assert_non_null(end);
	*end = '\0';
	out = strdup(p);
	free(log);
	return out;
}

/* ---- fixture ---------------------------------------------------------------- */

struct fixture {
	struct call_fixture cf;   /* first: call_fixture_new() */
	struct aws_client *aws;
	int done;
};

static void run_until(struct fixture *f, int want)
{
	call_fixture_run_until(&f->cf, &f->done, want);
}

static int setup(void **state)
{
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	aws_client_free(f->aws);
	return call_fixture_delete(&f->cf);
}

static void start(struct fixture *f, const struct lb_action *a, size_t n)
{
	struct aws_client_config cfg = { .region = "us-east-1",
					 .endpoint_url = f->cf.url };
	struct aws_test_hooks hooks = { .rng = call_fixture_zero };

	call_fixture_serve(&f->cf, a, n, "");
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg,
					&f->cf.creds, &f->aws), 0);
	call_fixture_set_hooks(aws_engine_retrier(f->aws->engine), &hooks);
}

#define JSON_CT "Content-Type: application/x-amz-json-1.1\r\n"
#define REPLY(body) { LB_REPLY, 200, JSON_CT, body }

static const char campaign_json[] =
	"{\"campaign\":{\"name\":\"c\",\"campaignArn\":\"" ARN "campaign/c\","
	"\"solutionVersionArn\":\"" ARN "solution/s/1\",\"minProvisionedTPS\":1,"
	"\"status\":\"ACTIVE\",\"creationDateTime\":1.700000000123E9,"
	"\"lastUpdatedDateTime\":1700000100.5,"
	"\"campaignConfig\":{\"itemExplorationConfig\":{\"explorationWeight\":\"0.3\"}},"
	"\"latestCampaignUpdate\":{\"solutionVersionArn\":\"" ARN "solution/s/2\","
	"\"minProvisionedTPS\":1,\"status\":\"CREATE IN_PROGRESS\","
	"\"creationDateTime\":1700000200,\"lastUpdatedDateTime\":1700000300}}}";

static const char solution_version_json[] =
	"{\"solutionVersion\":{\"name\":\"v\",\"solutionVersionArn\":\"" ARN "solution/s/1\","
	"\"solutionArn\":\"" ARN "solution/s\",\"performHPO\":false,"
	"\"performAutoML\":false,\"recipeArn\":\"arn:aws:personalize:::recipe/aws-user-personalization\","
	"\"datasetGroupArn\":\"" ARN "dataset-group/g\",\"trainingHours\":1.25,"
	"\"trainingMode\":\"FULL\",\"trainingType\":\"MANUAL\",\"status\":\"CREATE FAILED\","
	"\"failureReason\":\"Not enough interactions\",\"creationDateTime\":1700000000,"
	"\"lastUpdatedDateTime\":1700003600,\"solutionConfig\":{}}}";

static const char import_job_json[] =
	"{\"datasetImportJob\":{\"jobName\":\"interactions-import-20261125T120000Z\","
	"\"datasetImportJobArn\":\"" ARN "dataset-import-job/j\","
	"\"datasetArn\":\"" ARN "dataset/g/INTERACTIONS\","
	"\"dataSource\":{\"dataLocation\":\"s3://bucket/interactions.csv\"},"
	"\"roleArn\":\"arn:aws:iam::123456789012:role/r\",\"status\":\"ACTIVE\","
	"\"creationDateTime\":\"2026-11-25T12:00:00.123Z\",\"lastUpdatedDateTime\":1795608000,"
	"\"importMode\":\"FULL\",\"publishAttributionMetricsToS3\":false}}";

/* ---- callbacks recording what arrived ------------------------------------------ */

struct got {
	enum aws_error_class error;
	char code[64];
	char message[256];
	char s1[160];
	char s2[160];
	char s3[160];
	double d;
	long long t1, t2;
	size_t n;
	unsigned attempts;
	bool flag;
};

static struct got got;

static void record_res(struct fixture *f, const struct aws_result *res)
{
	f->done++;
	memset(&got, 0, sizeof(got));
	got.error = res->error;
	got.attempts = res->attempts;
	snprintf(got.code, sizeof(got.code), "%s", res->code ? res->code : "");
	snprintf(got.message, sizeof(got.message), "%s",
		 res->message ? res->message : "");
}

#define S(dst, v) snprintf(got.dst, sizeof(got.dst), "%s", (v) ? (v) : "(null)")

static void on_arn(const struct aws_result *res, const char *arn, void *u)
{
	record_res(u, res);
	S(s1, arn);
	assert_true((res->error == AWS_ERR_NONE) == (arn != NULL));
}

static void on_job(const struct aws_result *res,
		   const struct personalize_dataset_import_job *j, void *u)
{
	record_res(u, res);
	if (!j)
		return;
	S(s1, j->status);
	S(s2, j->data_location);
	S(s3, j->job_name);
	got.t1 = j->creation_date_time;
	got.t2 = j->last_updated_date_time;
}

static void on_jobs(const struct aws_result *res,
		    const struct personalize_dataset_import_job *j, size_t n,
		    void *u)
{
	record_res(u, res);
	got.n = n;
	if (n) {
		S(s1, j[0].dataset_import_job_arn);
		S(s2, j[n - 1].dataset_import_job_arn);
		S(s3, j[n - 1].status);
	}
}

static void on_sv(const struct aws_result *res,
		  const struct personalize_solution_version *v, void *u)
{
	record_res(u, res);
	if (!v)
		return;
	S(s1, v->status);
	S(s2, v->failure_reason);
	S(s3, v->training_mode);
	got.d = v->training_hours;
	got.flag = v->has_training_hours;
	got.t1 = v->creation_date_time;
}

static void on_svs(const struct aws_result *res,
		   const struct personalize_solution_version *v, size_t n,
		   void *u)
{
	record_res(u, res);
	got.n = n;
	if (n)
		S(s1, v[0].solution_version_arn);
}

static void on_campaign(const struct aws_result *res,
			const struct personalize_campaign *c, void *u)
{
	record_res(u, res);
	if (!c)
		return;
	S(s1, c->status);
	S(s2, c->latest_campaign_update.status);
	S(s3, c->latest_campaign_update.solution_version_arn);
	got.flag = c->latest_campaign_update.present;
	got.t1 = c->creation_date_time;
	got.t2 = c->latest_campaign_update.last_updated_date_time;
}

static void on_campaigns(const struct aws_result *res,
			 const struct personalize_campaign *c, size_t n,
			 void *u)
{
	record_res(u, res);
	got.n = n;
	if (n)
		S(s1, c[0].name);
}

static void on_metrics(const struct aws_result *res,
		       const struct personalize_solution_metrics *m, void *u)
{
	size_t i;

	record_res(u, res);
	if (!m)
		return;
	got.n = m->n_metrics;
	S(s1, m->solution_version_arn);
	for (i = 0; i < m->n_metrics; i++)
		if (strcmp(m->metrics[i].name, "precision_at_25") == 0)
			got.d = m->metrics[i].value;
}

static void on_dataset(const struct aws_result *res,
		       const struct personalize_dataset *d, void *u)
{
	record_res(u, res);
	if (!d)
		return;
	S(s1, d->dataset_type);
	S(s2, d->status);
	S(s3, d->latest_update_status);
}

static void on_solution(const struct aws_result *res,
			const struct personalize_solution *s, void *u)
{
	record_res(u, res);
	if (!s)
		return;
	S(s1, s->status);
	S(s2, s->latest_solution_version.solution_version_arn);
	got.flag = s->has_latest_solution_version;
}

static void on_group(const struct aws_result *res,
		     const struct personalize_dataset_group *g, void *u)
{
	record_res(u, res);
	if (!g)
		return;
	S(s1, g->status);
	S(s2, g->domain);
}

/* ---- tests --------------------------------------------------------------------- */

/* Every operation once, in order; every body validated against the model. */
static void test_all_operations(void **state)
{
	static const struct lb_action acts[] = {
		REPLY("{\"datasetImportJobArn\":\"" ARN "dataset-import-job/j\"}"),
		REPLY(import_job_json),
		REPLY("{\"datasetImportJobs\":[{\"datasetImportJobArn\":\"" ARN "dataset-import-job/a\",\"status\":\"ACTIVE\"}]}"),
		REPLY("{\"solutionVersionArn\":\"" ARN "solution/s/2\"}"),
		REPLY(solution_version_json),
		REPLY("{\"solutionVersions\":[{\"solutionVersionArn\":\"" ARN "solution/s/1\",\"status\":\"ACTIVE\"}]}"),
		REPLY("{\"campaignArn\":\"" ARN "campaign/c\"}"),
		REPLY(campaign_json),
		REPLY("{\"campaigns\":[{\"name\":\"c\",\"campaignArn\":\"" ARN "campaign/c\",\"status\":\"ACTIVE\"}]}"),
		REPLY("{\"solutionVersionArn\":\"" ARN "solution/s/1\",\"metrics\":{\"coverage\":0.27,\"precision_at_25\":0.0416,\"normalized_discounted_cumulative_gain_at_10\":0.13}}"),
		REPLY("{\"dataset\":{\"name\":\"i\",\"datasetArn\":\"" ARN "dataset/g/INTERACTIONS\",\"datasetType\":\"Interactions\",\"status\":\"ACTIVE\",\"latestDatasetUpdate\":{\"status\":\"ACTIVE\"}}}"),
		REPLY("{\"solution\":{\"name\":\"s\",\"solutionArn\":\"" ARN "solution/s\",\"status\":\"ACTIVE\",\"performAutoTraining\":false,\"latestSolutionVersion\":{\"solutionVersionArn\":\"" ARN "solution/s/9\",\"status\":\"ACTIVE\"}}}"),
		REPLY("{\"datasetGroup\":{\"name\":\"g\",\"datasetGroupArn\":\"" ARN "dataset-group/g\",\"status\":\"ACTIVE\",\"domain\":\"ECOMMERCE\"}}"),
	};
	static const char *const ops[] = {
		"CreateDatasetImportJob", "DescribeDatasetImportJob",
		"ListDatasetImportJobs", "CreateSolutionVersion",
		"DescribeSolutionVersion", "ListSolutionVersions",
		"UpdateCampaign", "DescribeCampaign", "ListCampaigns",
		"GetSolutionMetrics", "DescribeDataset", "DescribeSolution",
		"DescribeDatasetGroup",
	};
	struct fixture *f = *state;
	static char team[] = "team", recs[] = "recs", note[] = "note",
		empty[] = "";
	static const struct config_tag tags[] = {
		{ team, recs }, { note, empty },
	};
	const struct personalize_create_dataset_import_job ij = {
		.job_name = "interactions-import-20261125T120000Z",
		.tags = tags, .n_tags = ARRAY_SIZE(tags),
		.dataset_arn = ARN "dataset/g/INTERACTIONS",
		.data_location = "s3://bucket/interactions.csv",
		.role_arn = "arn:aws:iam::123456789012:role/PersonalizeS3",
		.import_mode = "FULL",
	};
	const struct personalize_create_solution_version sv = {
		.solution_arn = ARN "solution/s", .name = "retrain-20261125",
		.training_mode = "FULL", .tags = tags, .n_tags = 1,
	};
	const struct personalize_update_campaign uc = {
		.campaign_arn = ARN "campaign/c",
		.solution_version_arn = ARN "solution/s/2",
		.min_provisioned_tps = 1,
	};
	unsigned i;

	start(f, acts, ARRAY_SIZE(acts));
	assert_int_equal(personalize_create_dataset_import_job(f->aws, &ij, on_arn, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(got.error, AWS_ERR_NONE);
	assert_string_equal(got.s1, ARN "dataset-import-job/j");

	assert_int_equal(personalize_describe_dataset_import_job(f->aws, ARN "dataset-import-job/j", on_job, f, NULL), 0);
	run_until(f, 2);
	assert_string_equal(got.s1, "ACTIVE");
	assert_string_equal(got.s2, "s3://bucket/interactions.csv");
	assert_string_equal(got.s3, "interactions-import-20261125T120000Z");
	assert_int_equal(got.t1, 1795608000LL);
	assert_int_equal(got.t2, 1795608000LL);

	assert_int_equal(personalize_list_dataset_import_jobs(f->aws, ARN "dataset/g/INTERACTIONS", on_jobs, f, NULL), 0);
	run_until(f, 3);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s3, "ACTIVE");

	assert_int_equal(personalize_create_solution_version(f->aws, &sv, on_arn, f, NULL), 0);
	run_until(f, 4);
	assert_string_equal(got.s1, ARN "solution/s/2");

	assert_int_equal(personalize_describe_solution_version(f->aws, ARN "solution/s/1", on_sv, f, NULL), 0);
	run_until(f, 5);
	assert_string_equal(got.s1, "CREATE FAILED");
	assert_string_equal(got.s2, "Not enough interactions");
	assert_string_equal(got.s3, "FULL");
	assert_true(got.flag);
	assert_true(fabs(got.d - 1.25) < 1e-9);
	assert_int_equal(got.t1, 1700000000LL);

	assert_int_equal(personalize_list_solution_versions(f->aws, ARN "solution/s", on_svs, f, NULL), 0);
	run_until(f, 6);
	assert_int_equal(got.n, 1);

	assert_int_equal(personalize_update_campaign(f->aws, &uc, on_arn, f, NULL), 0);
	run_until(f, 7);
	assert_string_equal(got.s1, ARN "campaign/c");

	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, NULL), 0);
	run_until(f, 8);
	assert_string_equal(got.s1, "ACTIVE");
	assert_string_equal(got.s2, "CREATE IN_PROGRESS");
	assert_string_equal(got.s3, ARN "solution/s/2");
	assert_true(got.flag);
	assert_int_equal(got.t1, 1700000000LL);
	assert_int_equal(got.t2, 1700000300LL);

	assert_int_equal(personalize_list_campaigns(f->aws, NULL, on_campaigns, f, NULL), 0);
	run_until(f, 9);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.s1, "c");

	assert_int_equal(personalize_get_solution_metrics(f->aws, ARN "solution/s/1", on_metrics, f, NULL), 0);
	run_until(f, 10);
	assert_int_equal(got.n, 3);
	assert_true(fabs(got.d - 0.0416) < 1e-12);

	assert_int_equal(personalize_describe_dataset(f->aws, ARN "dataset/g/INTERACTIONS", on_dataset, f, NULL), 0);
	run_until(f, 11);
	assert_string_equal(got.s1, "Interactions");
	assert_string_equal(got.s3, "ACTIVE");

	assert_int_equal(personalize_describe_solution(f->aws, ARN "solution/s", on_solution, f, NULL), 0);
	run_until(f, 12);
	assert_true(got.flag);
	assert_string_equal(got.s2, ARN "solution/s/9");

	assert_int_equal(personalize_describe_dataset_group(f->aws, ARN "dataset-group/g", on_group, f, NULL), 0);
	run_until(f, 13);
	assert_string_equal(got.s2, "ECOMMERCE");

	assert_int_equal(lb_requests(&f->cf.lb), ARRAY_SIZE(ops));
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		char *raw = nth_request(&f->cf.lb, i);

		validate_request(raw, ops[i]);
		/* the Tag shape: tagKey, tagValue, an empty value sent as "" */
		if (i == 0)
			assert_non_null(strstr(raw, "\"tags\":[{\"tagKey\":"
					       "\"team\",\"tagValue\":\"recs\"},"
					       "{\"tagKey\":\"note\",\"tagValue\":"
					       "\"\"}]"));
		else if (i == 3)
			assert_non_null(strstr(raw, "\"tags\":[{\"tagKey\":"
					       "\"team\",\"tagValue\":\"recs\"}]"));
		else
			assert_null(strstr(raw, "\"tags\""));
		free(raw);
	}
}

/* Minimal requests: only the required members. */
static void test_minimal_requests(void **state)
{
	static const struct lb_action acts[] = {
		REPLY("{\"datasetImportJobArn\":\"x\"}"),
		REPLY("{\"solutionVersionArn\":\"y\"}"),
		REPLY("{\"campaignArn\":\"z\"}"),
	};
	static const char *const ops[] = { "CreateDatasetImportJob",
		"CreateSolutionVersion", "UpdateCampaign" };
	struct fixture *f = *state;
	const struct personalize_create_dataset_import_job ij = {
		.job_name = "j", .dataset_arn = ARN "dataset/g/ITEMS",
		.data_location = "s3://b/items.csv",
	};
	const struct personalize_create_solution_version sv = {
		.solution_arn = ARN "solution/s" };
	const struct personalize_update_campaign uc = {
		.campaign_arn = ARN "campaign/c" };
	unsigned i;

	start(f, acts, ARRAY_SIZE(acts));
	assert_int_equal(personalize_create_dataset_import_job(f->aws, &ij, on_arn, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(personalize_create_solution_version(f->aws, &sv, on_arn, f, NULL), 0);
	run_until(f, 2);
	assert_int_equal(personalize_update_campaign(f->aws, &uc, on_arn, f, NULL), 0);
	run_until(f, 3);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		char *raw = nth_request(&f->cf.lb, i);

		validate_request(raw, ops[i]);
		assert_null(strstr(raw, "roleArn"));
		assert_null(strstr(raw, "minProvisionedTPS"));
		free(raw);
	}
}

static void test_pagination(void **state)
{
	static const struct lb_action acts[] = {
		REPLY("{\"datasetImportJobs\":[{\"datasetImportJobArn\":\"a1\",\"status\":\"ACTIVE\"},{\"datasetImportJobArn\":\"a2\",\"status\":\"ACTIVE\"}],\"nextToken\":\"tok-1\"}"),
		REPLY("{\"datasetImportJobs\":[],\"nextToken\":\"tok-2\"}"),
		{ LB_REPLY, 400, JSON_CT, "{\"__type\":\"ThrottlingException\"}" },
		REPLY("{\"datasetImportJobs\":[{\"datasetImportJobArn\":\"a3\",\"status\":\"CREATE IN_PROGRESS\"}]}"),
	};
	struct fixture *f = *state;
	char *raw;
	cJSON *j;

	start(f, acts, ARRAY_SIZE(acts));
	assert_int_equal(personalize_list_dataset_import_jobs(f->aws, NULL, on_jobs, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(got.error, AWS_ERR_NONE);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.s1, "a1");
	assert_string_equal(got.s2, "a3");
	assert_string_equal(got.s3, "CREATE IN_PROGRESS");
	assert_int_equal(got.attempts, 4);  /* 3 pages, one throttled retry */
	assert_int_equal(lb_requests(&f->cf.lb), 4);
	raw = nth_request(&f->cf.lb, 0);
	validate_request(raw, "ListDatasetImportJobs");
	j = cJSON_Parse(strstr(raw, "\r\n\r\n") + 4);
	assert_int_equal(cJSON_GetObjectItem(j, "maxResults")->valueint, 100);
	assert_null(cJSON_GetObjectItem(j, "nextToken"));
	cJSON_Delete(j);
	free(raw);
	raw = nth_request(&f->cf.lb, 3);
	validate_request(raw, "ListDatasetImportJobs");
	j = cJSON_Parse(strstr(raw, "\r\n\r\n") + 4);
	assert_string_equal(cJSON_GetObjectItem(j, "nextToken")->valuestring,
			    "tok-2");
	cJSON_Delete(j);
	free(raw);
}

static void test_pagination_loop(void **state)
{
	static const struct lb_action acts[] = {
		REPLY("{\"campaigns\":[],\"nextToken\":\"same\"}"),
	};
	struct fixture *f = *state;

	start(f, acts, 1);
	assert_int_equal(personalize_list_campaigns(f->aws, ARN "solution/s", on_campaigns, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);
	assert_string_equal(got.code, "MalformedReply");
	assert_int_equal(lb_requests(&f->cf.lb), 2);
}

static void test_errors_and_malformed(void **state)
{
	static const struct lb_action acts[] = {
		{ LB_REPLY, 400, JSON_CT, "{\"__type\":\"com.amazonaws.personalize#ResourceNotFoundException\",\"message\":\"Could not find campaign\"}" },
		REPLY("{\"notCampaign\":{}}"),
		REPLY("{\"campaign\":{\"status\":42}}"),
		REPLY("{\"campaign\":{\"latestCampaignUpdate\":[]}}"),
		REPLY("{\"solutionVersionArn\":5}"),
		REPLY("{\"solutionVersions\":{\"a\":1}}"),
		REPLY("{\"solutionVersions\":[1,2]}"),
		REPLY("{\"metrics\":{\"coverage\":\"high\"}}"),
		REPLY("{\"campaign\":{\"creationDateTime\":\"yesterday\"}}"),
	};
	struct fixture *f = *state;
	const struct personalize_create_solution_version sv = {
		.solution_arn = ARN "solution/s" };

	start(f, acts, ARRAY_SIZE(acts));
	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(got.error, AWS_ERR_NOT_FOUND);
	assert_string_equal(got.code, "ResourceNotFoundException");
	assert_string_equal(got.message, "Could not find campaign");

	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, NULL), 0);
	run_until(f, 2);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);
	assert_non_null(strstr(got.message, "\"campaign\""));

	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, NULL), 0);
	run_until(f, 3);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);
	assert_non_null(strstr(got.message, "\"status\""));

	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, NULL), 0);
	run_until(f, 4);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);

	assert_int_equal(personalize_create_solution_version(f->aws, &sv, on_arn, f, NULL), 0);
	run_until(f, 5);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);

	assert_int_equal(personalize_list_solution_versions(f->aws, NULL, on_svs, f, NULL), 0);
	run_until(f, 6);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);

	assert_int_equal(personalize_list_solution_versions(f->aws, NULL, on_svs, f, NULL), 0);
	run_until(f, 7);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);

	assert_int_equal(personalize_get_solution_metrics(f->aws, ARN "solution/s/1", on_metrics, f, NULL), 0);
	run_until(f, 8);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);

	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, NULL), 0);
	run_until(f, 9);
	assert_int_equal(got.error, AWS_ERR_MALFORMED_REPLY);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	static const struct lb_action acts[] = { REPLY("{}") };
	struct personalize_create_dataset_import_job ij = {
		.job_name = "j", .dataset_arn = ARN "dataset/g/ITEMS",
		.data_location = NULL,
	};
	struct personalize_create_solution_version sv = { .solution_arn = "" };
	struct personalize_update_campaign uc = { .campaign_arn = NULL };
	char long_arn[300];

	memset(long_arn, 'a', sizeof(long_arn) - 1);
	long_arn[sizeof(long_arn) - 1] = '\0';
	start(f, acts, 1);
	assert_int_equal(personalize_create_dataset_import_job(f->aws, &ij, on_arn, f, NULL), -EINVAL);
	ij.data_location = "s3://b/x";
	ij.job_name = "";
	assert_int_equal(personalize_create_dataset_import_job(f->aws, &ij, on_arn, f, NULL), -EINVAL);
	assert_int_equal(personalize_create_solution_version(f->aws, &sv, on_arn, f, NULL), -EINVAL);
	assert_int_equal(personalize_update_campaign(f->aws, &uc, on_arn, f, NULL), -EINVAL);
	uc.campaign_arn = ARN "campaign/c";
	uc.min_provisioned_tps = -1;
	assert_int_equal(personalize_update_campaign(f->aws, &uc, on_arn, f, NULL), -EINVAL);
	assert_int_equal(personalize_describe_campaign(f->aws, NULL, on_campaign, f, NULL), -EINVAL);
	assert_int_equal(personalize_describe_campaign(f->aws, long_arn, on_campaign, f, NULL), -EINVAL);
	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", NULL, f, NULL), -EINVAL);
	assert_int_equal(personalize_list_campaigns(f->aws, "", on_campaigns, f, NULL), -EINVAL);
	assert_int_equal(aws_engine_in_flight(f->aws->engine), 0);
	personalize_op_cancel(NULL);
}

static void test_cancel(void **state)
{
	static const struct lb_action acts[] = { { LB_STALL, 0, NULL, NULL } };
	struct fixture *f = *state;
	struct personalize_op *op = NULL;
	int i;

	start(f, acts, 1);
	assert_int_equal(personalize_describe_campaign(f->aws, ARN "campaign/c", on_campaign, f, &op), 0);
	assert_non_null(op);
	for (i = 0; i < 1000 && lb_requests(&f->cf.lb) < 1; i++)
		assert_true(sd_event_run(f->cf.event, 10000) >= 0);
	assert_int_equal(aws_engine_in_flight(f->aws->engine), 1);
	personalize_op_cancel(op);
	assert_int_equal(aws_engine_in_flight(f->aws->engine), 0);
	assert_int_equal(f->done, 0);
}

/* Parsers directly, without a server. */
static void test_parsers(void **state)
{
	struct personalize_campaign c;
	struct personalize_solution_version sv;
	struct personalize_solution_metrics m;
	struct personalize_metric *mm = NULL;
	const char *why = NULL, *arn = NULL;
	cJSON *j;

	(void)state;
	j = cJSON_Parse(campaign_json);
	assert_int_equal(personalize_parse_campaign(j, &c, &why), 0);
	assert_string_equal(c.latest_campaign_update.status, "CREATE IN_PROGRESS");
	assert_int_equal(c.min_provisioned_tps, 1);
	assert_int_equal(personalize_parse_solution_version(j, &sv, &why), -EBADMSG);
	assert_string_equal(why, "solutionVersion");
	cJSON_Delete(j);

	j = cJSON_Parse("{\"campaign\":{\"name\":null,\"minProvisionedTPS\":1.5}}");
	assert_int_equal(personalize_parse_campaign(j, &c, &why), -EBADMSG);
	assert_string_equal(why, "minProvisionedTPS");
	cJSON_Delete(j);

	j = cJSON_Parse("{\"campaign\":{}}");
	assert_int_equal(personalize_parse_campaign(j, &c, &why), 0);
	assert_null(c.status);
	assert_false(c.latest_campaign_update.present);
	cJSON_Delete(j);

	j = cJSON_Parse("{\"solutionVersion\":{\"trainingHours\":\"2\"}}");
	assert_int_equal(personalize_parse_solution_version(j, &sv, &why), -EBADMSG);
	assert_string_equal(why, "trainingHours");
	cJSON_Delete(j);

	j = cJSON_Parse("{\"solutionVersion\":{\"performHPO\":1}}");
	assert_int_equal(personalize_parse_solution_version(j, &sv, &why), -EBADMSG);
	cJSON_Delete(j);

	j = cJSON_Parse("{\"solutionVersion\":{\"creationDateTime\":-5}}");
	assert_int_equal(personalize_parse_solution_version(j, &sv, &why), -EBADMSG);
	cJSON_Delete(j);

	/* batch jobs: the two shapes differ in the ARN's member only */
	{
		struct personalize_batch_job b;

		j = cJSON_Parse("{\"batchInferenceJob\":{\"jobName\":\"n\","
				"\"batchInferenceJobArn\":\"arn:b\",\"status\":\"CREATE FAILED\","
				"\"failureReason\":\"no input\",\"numResults\":25,"
				"\"jobInput\":{\"s3DataSource\":{\"path\":\"s3://b/in.json\"}},"
				"\"jobOutput\":{\"s3DataDestination\":{\"path\":\"s3://b/out/\"}},"
				"\"creationDateTime\":1700000000}}");
		assert_int_equal(personalize_parse_batch_job(j, false, &b, &why), 0);
		assert_string_equal(b.job_name, "n");
		assert_string_equal(b.batch_job_arn, "arn:b");
		assert_string_equal(b.status, "CREATE FAILED");
		assert_string_equal(b.failure_reason, "no input");
		assert_string_equal(b.input_path, "s3://b/in.json");
		assert_string_equal(b.output_path, "s3://b/out/");
		assert_int_equal(b.num_results, 25);
		assert_int_equal(b.creation_date_time, 1700000000);
		assert_int_equal(personalize_parse_batch_job(j, true, &b, &why),
				 -EBADMSG);
		assert_string_equal(why, "batchSegmentJob");
		cJSON_Delete(j);
		j = cJSON_Parse("{\"batchSegmentJob\":{\"batchSegmentJobArn\":\"arn:s\","
				"\"batchInferenceJobArn\":\"arn:not-this\"}}");
		assert_int_equal(personalize_parse_batch_job(j, true, &b, &why), 0);
		assert_string_equal(b.batch_job_arn, "arn:s");
		cJSON_Delete(j);
		j = cJSON_Parse("{\"batchSegmentJob\":{\"jobOutput\":{\"s3DataDestination\":7}}}");
		assert_int_equal(personalize_parse_batch_job(j, true, &b, &why),
				 -EBADMSG);
		assert_string_equal(why, "s3DataDestination");
		cJSON_Delete(j);
	}

	j = cJSON_Parse("{\"solutionVersionArn\":\"a\"}");
	assert_int_equal(personalize_parse_solution_metrics(j, &m, &mm, &why), 0);
	assert_int_equal(m.n_metrics, 0);
	assert_null(mm);
	assert_int_equal(personalize_parse_arn(j, "solutionVersionArn", &arn, &why), 0);
	assert_string_equal(arn, "a");
	assert_int_equal(personalize_parse_arn(j, "campaignArn", &arn, &why), -EBADMSG);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test_setup_teardown(test_all_operations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimal_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pagination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pagination_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};
	const char *dir = getenv("PERSONALIZE_MODEL_DIR");
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s/service-2.json",
		 dir ? dir : "tests/data/personalize");
	model = load_json(path);
	if (!model) {
		fprintf(stderr, "cannot load the service model %s "
			"(set PERSONALIZE_MODEL_DIR)\n", path);
		return 1;
	}
	call_fixture_environment("PERSONALIZE");
	log_init(LOG_TARGET_STDERR, LOG_WARNING);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	cJSON_Delete(model);
	return r;
}
