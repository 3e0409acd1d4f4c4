/* test_policy.c - `personalize-retrain policy`: the actions and resources
 * each kind of config gets, merging of pipelines, the import role's
 * documents, determinism, and the text a denial is reported with. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "policy.h"

#define PZ "arn:aws:personalize:us-east-1:123456789012:"
#define ROLE "arn:aws:iam::123456789012:role/ImportRole"
/* the time stamp of a job name as the policy matches it (escaped: no
 * trigraphs) */
#define STAMP "?\?\?\?\?\?\?\?T?\?\?\?"
#define CFG_BASE \
	"ImportRoleArn=" ROLE "\n" \
	"SolutionArn=" PZ "solution/sol\n" \
	"UserDatasetArn=" PZ "dataset/g/USERS\n" \
	"S3UserDatasourcePath=s3://bkt/users.csv\n" \
	"UserInteractionDatasetArn=" PZ "dataset/g/INTERACTIONS\n" \
	"S3UserInteractionDatasourcePath=s3://bkt/in/\n" \
	"RetrainingRate=rate(1 day)\n"

static struct config *load(enum config_format fmt, const char *text)
{
	struct config *cfg = NULL;
	struct config_errors errs = CONFIG_ERRORS_INIT;
	int r = config_load_buffer("t", fmt, text, strlen(text), &cfg, &errs);

	if (r < 0)
		config_errors_print(&errs, stderr);
	config_errors_free(&errs);
	assert_int_equal(r, 0);
	return cfg;
}

static cJSON *identity(struct config *cfg, const char *only, char **text)
{
	char *t = NULL;
	cJSON *doc;

	assert_int_equal(policy_identity(cfg, only, &t), 0);
	doc = cJSON_Parse(t);
	assert_non_null(doc);
	if (text)
		*text = t;
	else
		free(t);
	return doc;
}

static bool in_list_or_str(const cJSON *v, const char *want)
{
	const cJSON *e;

	if (cJSON_IsString(v))
		return !strcmp(v->valuestring, want);
	cJSON_ArrayForEach(e, v)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, want))
			return true;
	return false;
}

/* The resources the document gives action on (statements whose Action
 * names it), as one ", "-joined string; "" when the action is absent. */
static void resources_of(const cJSON *doc, const char *action, char *out,
			 size_t len)
{
	const cJSON *st;

	out[0] = '\0';
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "Statement")) {
		const cJSON *r = cJSON_GetObjectItem(st, "Resource"), *e;

		if (!in_list_or_str(cJSON_GetObjectItem(st, "Action"), action))
			continue;
		if (cJSON_IsString(r)) {
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
				 *out ? ", " : "", r->valuestring);
			continue;
		}
		cJSON_ArrayForEach(e, r)
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
				 *out ? ", " : "", e->valuestring);
	}
}

static size_t count_actions(const cJSON *doc)
{
	const cJSON *st, *a;
	size_t n = 0;

	cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "Statement")) {
		a = cJSON_GetObjectItem(st, "Action");
		n += cJSON_IsString(a) ? 1 : (size_t)cJSON_GetArraySize(a);
	}
	return n;
}

static void test_train_only(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG, CFG_BASE);
	cJSON *doc = identity(cfg, NULL, NULL);
	char r[2048];

	(void)state;
	resources_of(doc, "personalize:CreateDatasetImportJob", r, sizeof(r));
	assert_string_equal(r,
		PZ "dataset/g/INTERACTIONS, " PZ "dataset/g/USERS, "
		PZ "dataset-import-job/sol-" STAMP "-import-interactions, "
		PZ "dataset-import-job/sol-" STAMP "-import-users");
	resources_of(doc, "personalize:DescribeDatasetImportJob", r, sizeof(r));
	assert_string_equal(r,
		PZ "dataset-import-job/sol-" STAMP "-import-interactions, "
		PZ "dataset-import-job/sol-" STAMP "-import-users");
	resources_of(doc, "personalize:CreateSolutionVersion", r, sizeof(r));
	assert_string_equal(r, PZ "solution/sol");
	resources_of(doc, "personalize:DescribeSolutionVersion", r, sizeof(r));
	assert_string_equal(r, PZ "solution/sol/*");
	resources_of(doc, "personalize:ListDatasetImportJobs", r, sizeof(r));
	assert_string_equal(r, "*");
	resources_of(doc, "personalize:ListSolutionVersions", r, sizeof(r));
	assert_string_equal(r, "*");
	resources_of(doc, "iam:PassRole", r, sizeof(r));
	assert_string_equal(r, ROLE);
	/* no campaign, no gate, no SkipUnchangedData */
	resources_of(doc, "personalize:UpdateCampaign", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "personalize:DescribeCampaign", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "personalize:GetSolutionMetrics", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "s3:GetObject", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "personalize:TagResource", r, sizeof(r));
	assert_string_equal(r, "");
	/* 2 dataset + 2 job + 2 solution + 1 version + 2 list + PassRole */
	assert_int_equal(count_actions(doc), 10);
	cJSON_Delete(doc);
	config_free(cfg);
}

/* With Tags, personalize:TagResource on what is created with them: the
 * import jobs and the solution versions; only for the pipelines that have
 * tags. */
static void test_tags(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG, CFG_BASE
				  "Tags=team=recs\n");
	cJSON *doc = identity(cfg, NULL, NULL);
	char r[2048];

	(void)state;
	resources_of(doc, "personalize:TagResource", r, sizeof(r));
	assert_string_equal(r,
		PZ "dataset-import-job/sol-" STAMP "-import-interactions, "
		PZ "dataset-import-job/sol-" STAMP "-import-users, "
		PZ "solution/sol/*");
	assert_int_equal(count_actions(doc), 12);
	cJSON_Delete(doc);
	config_free(cfg);

	cfg = load(CONFIG_FORMAT_YAML,
		   "ImportRoleArn: " ROLE "\n"
		   "pipelines:\n"
		   "  - SolutionArn: " PZ "solution/a\n"
		   "    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
		   "    S3ItemDatasourcePath: s3://bkt/a.csv\n"
		   "    Tags: {team: recs}\n"
		   "  - SolutionArn: " PZ "solution/b\n"
		   "    ItemDatasetArn: " PZ "dataset/h/ITEMS\n"
		   "    S3ItemDatasourcePath: s3://bkt/b.csv\n");
	doc = identity(cfg, NULL, NULL);
	resources_of(doc, "personalize:TagResource", r, sizeof(r));
	assert_string_equal(r,
		PZ "dataset-import-job/a-" STAMP "-import-items, "
		PZ "solution/a/*");
	cJSON_Delete(doc);
	config_free(cfg);
}

#define BATCH_KEYS \
	"BatchInferenceInput=s3://bkt/batch/users.json\n" \
	"BatchInferenceOutput=s3://out-bkt/recs/\n"

static void test_batch(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG, CFG_BASE BATCH_KEYS
				  "Tags=team=recs\n");
	cJSON *doc = identity(cfg, NULL, NULL), *root;
	char r[2048], *text = NULL, err[256];

	(void)state;
	resources_of(doc, "personalize:CreateBatchInferenceJob", r, sizeof(r));
	assert_string_equal(r, PZ "batch-inference-job/sol-" STAMP "-batch");
	resources_of(doc, "personalize:DescribeBatchInferenceJob", r, sizeof(r));
	assert_string_equal(r, PZ "batch-inference-job/sol-" STAMP "-batch");
	resources_of(doc, "personalize:ListBatchInferenceJobs", r, sizeof(r));
	assert_string_equal(r, "*");
	resources_of(doc, "personalize:CreateBatchSegmentJob", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "personalize:TagResource", r, sizeof(r));
	assert_non_null(strstr(r, PZ "batch-inference-job/sol-" STAMP "-batch"));
	resources_of(doc, "s3:GetObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt/batch/users.json");
	resources_of(doc, "iam:PassRole", r, sizeof(r));
	assert_string_equal(r, ROLE);
	cJSON_Delete(doc);
	/* the import role reads the input and writes the output folder */
	assert_int_equal(policy_import_role(cfg, NULL, &text, err, sizeof(err)), 0);
	root = cJSON_Parse(text);
	doc = cJSON_GetObjectItem(root, "PolicyDocument");
	assert_non_null(doc);
	resources_of(doc, "s3:GetObject", r, sizeof(r));
	assert_non_null(strstr(r, "arn:aws:s3:::bkt/batch/users.json"));
	resources_of(doc, "s3:PutObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::out-bkt/recs/*");
	resources_of(doc, "s3:ListBucket", r, sizeof(r));
	assert_non_null(strstr(r, "arn:aws:s3:::out-bkt"));
	cJSON_Delete(root);
	free(text);
	config_free(cfg);

	/* segment jobs as a role of their own: that role is passed; the
	 * import role's policy has no batch statement */
	cfg = load(CONFIG_FORMAT_CFG, CFG_BASE
		   "BatchSegmentInput=s3://bkt/seg/items.json\n"
		   "BatchSegmentOutput=s3://bkt/seg/out/\n"
		   "BatchSegmentRoleArn=arn:aws:iam::123456789012:role/Seg\n");
	doc = identity(cfg, NULL, NULL);
	resources_of(doc, "personalize:CreateBatchSegmentJob", r, sizeof(r));
	assert_string_equal(r, PZ "batch-segment-job/sol-" STAMP "-batch");
	resources_of(doc, "personalize:ListBatchSegmentJobs", r, sizeof(r));
	assert_string_equal(r, "*");
	resources_of(doc, "personalize:CreateBatchInferenceJob", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "iam:PassRole", r, sizeof(r));
	assert_string_equal(r, ROLE ", arn:aws:iam::123456789012:role/Seg");
	cJSON_Delete(doc);
	assert_int_equal(policy_import_role(cfg, NULL, &text, err, sizeof(err)), 0);
	assert_null(strstr(text, "PutObject"));
	assert_null(strstr(text, "seg/items.json"));
	free(text);
	/* that role's own documents: the trust policy, the input read, the
	 * output written, nothing of the datasets */
	assert_int_equal(policy_batch_role(cfg, NULL, &text, err, sizeof(err)), 0);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(cJSON_GetObjectItem(root, "RoleArn")->valuestring,
			    "arn:aws:iam::123456789012:role/Seg");
	assert_non_null(strstr(text, "personalize.amazonaws.com"));
	doc = cJSON_GetObjectItem(root, "PolicyDocument");
	resources_of(doc, "s3:GetObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt/seg/items.json");
	resources_of(doc, "s3:PutObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt/seg/out/*");
	assert_non_null(strstr(text, "ReadBatchInput"));
	assert_null(strstr(text, "ImportData"));
	cJSON_Delete(root);
	free(text);
	config_free(cfg);

	/* the batch job on the import role: --batch-role is that role's
	 * whole need, as --import-role prints it */
	cfg = load(CONFIG_FORMAT_CFG, CFG_BASE BATCH_KEYS);
	{
		char *imp = NULL;

		assert_int_equal(policy_batch_role(cfg, NULL, &text, err,
						   sizeof(err)), 0);
		assert_int_equal(policy_import_role(cfg, NULL, &imp, err,
						    sizeof(err)), 0);
		assert_string_equal(text, imp);
		free(imp);
		free(text);
	}
	config_free(cfg);

	/* no batch job: said so */
	cfg = load(CONFIG_FORMAT_CFG, CFG_BASE);
	text = NULL;
	assert_int_equal(policy_batch_role(cfg, NULL, &text, err, sizeof(err)),
			 -ENODATA);
	assert_null(text);
	assert_non_null(strstr(err, "no pipeline has a batch job"));
	config_free(cfg);
}

static void test_passrole_condition(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG, CFG_BASE);
	cJSON *doc = identity(cfg, NULL, NULL), *st;
	bool seen = false;

	(void)state;
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "Statement")) {
		cJSON *c = cJSON_GetObjectItem(st, "Condition");

		if (!in_list_or_str(cJSON_GetObjectItem(st, "Action"),
				    "iam:PassRole")) {
			assert_null(c);
			continue;
		}
		seen = true;
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c,
			"StringEquals"), "iam:PassedToService")->valuestring,
			"personalize.amazonaws.com");
		assert_string_equal(cJSON_GetObjectItem(st, "Effect")->valuestring,
				    "Allow");
	}
	assert_true(seen);
	cJSON_Delete(doc);
	config_free(cfg);
}

static void test_campaign_gate_skip(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG,
		"ImportRoleArn=" ROLE "\n"
		"SolutionArn=" PZ "solution/sol\n"
		"ItemDatasetArn=" PZ "dataset/g/ITEMS\n"
		"S3ItemDatasourcePath=s3://bkt/items.csv\n"
		"CampaignArn=" PZ "campaign/c\n"
		"QualityMetric=coverage\n"
		"SkipUnchangedData=yes\n"
		"RetrainingRate=rate(1 day)\n");
	cJSON *doc = identity(cfg, NULL, NULL);
	char r[1024];

	(void)state;
	resources_of(doc, "personalize:UpdateCampaign", r, sizeof(r));
	assert_string_equal(r, PZ "campaign/c");
	resources_of(doc, "personalize:DescribeCampaign", r, sizeof(r));
	assert_string_equal(r, PZ "campaign/c");
	resources_of(doc, "personalize:GetSolutionMetrics", r, sizeof(r));
	assert_string_equal(r, PZ "solution/sol/*");
	resources_of(doc, "s3:GetObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt/items.csv");
	resources_of(doc, "sts:AssumeRole", r, sizeof(r));
	assert_string_equal(r, "");
	cJSON_Delete(doc);
	config_free(cfg);
}

/* EventBusName: events:PutEvents on the bus, a name in the pipeline's
 * account and region, an ARN as written; a top-level default applies to
 * every pipeline, and none without the key. */
static void test_event_bus(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG,
		CFG_BASE "EventBusName=default\n");
	cJSON *doc = identity(cfg, NULL, NULL);
	char r[1024];

	(void)state;
	resources_of(doc, "events:PutEvents", r, sizeof(r));
	assert_string_equal(r, "arn:aws:events:us-east-1:123456789012:event-bus/default");
	cJSON_Delete(doc);
	config_free(cfg);
	cfg = load(CONFIG_FORMAT_YAML,
		"ImportRoleArn: " ROLE "\n"
		"RetrainingRate: rate(1 day)\n"
		"EventBusName: ops\n"
		"pipelines:\n"
		"  - SolutionArn: " PZ "solution/a\n"
		"    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
		"    S3ItemDatasourcePath: s3://bkt/a.csv\n"
		"  - SolutionArn: " PZ "solution/b\n"
		"    ItemDatasetArn: " PZ "dataset/h/ITEMS\n"
		"    S3ItemDatasourcePath: s3://other/b.csv\n"
		"    EventBusName: arn:aws:events:eu-west-1:123456789012:event-bus/central\n");
	doc = identity(cfg, NULL, NULL);
	resources_of(doc, "events:PutEvents", r, sizeof(r));
	assert_string_equal(r, "arn:aws:events:eu-west-1:123456789012:event-bus/central, "
			    "arn:aws:events:us-east-1:123456789012:event-bus/ops");
	cJSON_Delete(doc);
	config_free(cfg);
	cfg = load(CONFIG_FORMAT_CFG, CFG_BASE);
	doc = identity(cfg, NULL, NULL);
	resources_of(doc, "events:PutEvents", r, sizeof(r));
	assert_string_equal(r, "");
	cJSON_Delete(doc);
	config_free(cfg);
}

#define YAML_TWO \
	"ImportRoleArn: " ROLE "\n" \
	"RetrainingRate: rate(1 day)\n" \
	"pipelines:\n" \
	"  - SolutionArn: " PZ "solution/a\n" \
	"    ItemDatasetArn: " PZ "dataset/g/ITEMS\n" \
	"    S3ItemDatasourcePath: s3://bkt/a.csv\n" \
	"    CampaignArn: " PZ "campaign/ca\n" \
	"    QualityMetric: coverage\n" \
	"  - SolutionArn: " PZ "solution/b\n" \
	"    ItemDatasetArn: " PZ "dataset/h/ITEMS\n" \
	"    S3ItemDatasourcePath: s3://other/b.csv\n"

static void test_pipelines_merged(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_YAML, YAML_TWO);
	char *text;
	cJSON *doc = identity(cfg, NULL, &text), *st;
	char r[2048];
	bool v1 = false, v2 = false;

	(void)state;
	resources_of(doc, "personalize:CreateSolutionVersion", r, sizeof(r));
	assert_string_equal(r, PZ "solution/a, " PZ "solution/b");
	/* the gate is a's only: GetSolutionMetrics on a's versions alone */
	resources_of(doc, "personalize:GetSolutionMetrics", r, sizeof(r));
	assert_string_equal(r, PZ "solution/a/*");
	resources_of(doc, "personalize:DescribeSolutionVersion", r, sizeof(r));
	assert_string_equal(r, PZ "solution/a/*, " PZ "solution/b/*");
	resources_of(doc, "personalize:UpdateCampaign", r, sizeof(r));
	assert_string_equal(r, PZ "campaign/ca");
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "Statement")) {
		const char *sid = cJSON_GetObjectItem(st, "Sid")->valuestring;

		v1 |= !strcmp(sid, "SolutionVersions1");
		v2 |= !strcmp(sid, "SolutionVersions2");
	}
	assert_true(v1 && v2);
	/* the same config, the same bytes */
	{
		char *again = NULL;

		assert_int_equal(policy_identity(cfg, NULL, &again), 0);
		assert_string_equal(text, again);
		free(again);
	}
	free(text);
	cJSON_Delete(doc);

	doc = identity(cfg, "b", NULL);
	resources_of(doc, "personalize:CreateSolutionVersion", r, sizeof(r));
	assert_string_equal(r, PZ "solution/b");
	resources_of(doc, "personalize:GetSolutionMetrics", r, sizeof(r));
	assert_string_equal(r, "");
	resources_of(doc, "personalize:UpdateCampaign", r, sizeof(r));
	assert_string_equal(r, "");
	cJSON_Delete(doc);
	assert_int_equal(policy_identity(cfg, "nope", &text), -ENOENT);
	config_free(cfg);
}

static void test_import_job_names(void **state)
{
	/* a pipeline name too long for the job names is cut and hashed
	 * there: the policy names what rt_job_name() makes of it */
	struct config *cfg = load(CONFIG_FORMAT_CFG,
		"PipelineName=shop_" "0123456789012345678901234567890123456789"
		"0123456789\n" CFG_BASE);
	cJSON *doc = identity(cfg, NULL, NULL);
	char r[1024];

	(void)state;
	resources_of(doc, "personalize:DescribeDatasetImportJob", r, sizeof(r));
	assert_non_null(strstr(r, "dataset-import-job/shop_0123"));
	assert_non_null(strstr(r, "-" STAMP "-import-users"));
	assert_null(strstr(r, "*"));
	cJSON_Delete(doc);
	config_free(cfg);
}

static void test_import_role(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG, CFG_BASE);
	char *text = NULL, err[256];
	cJSON *doc, *trust, *pol, *st;
	char r[1024];

	(void)state;
	assert_int_equal(policy_import_role(cfg, NULL, &text, err, sizeof(err)), 0);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "RoleArn")->valuestring, ROLE);
	trust = cJSON_GetObjectItem(doc, "AssumeRolePolicyDocument");
	st = cJSON_GetArrayItem(cJSON_GetObjectItem(trust, "Statement"), 0);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(st,
		"Principal"), "Service")->valuestring, "personalize.amazonaws.com");
	assert_string_equal(cJSON_GetObjectItem(st, "Action")->valuestring,
			    "sts:AssumeRole");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(st, "Condition"), "StringEquals"),
		"aws:SourceAccount")->valuestring, "123456789012");
	pol = cJSON_GetObjectItem(doc, "PolicyDocument");
	resources_of(pol, "s3:GetObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt/in/*, arn:aws:s3:::bkt/users.csv");
	resources_of(pol, "s3:ListBucket", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt");
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(pol, "Statement")) {
		cJSON *c = cJSON_GetObjectItem(st, "Condition");

		if (!c)
			continue;
		c = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "StringLike"),
					"s3:prefix");
		assert_int_equal(cJSON_GetArraySize(c), 2);
		assert_string_equal(cJSON_GetArrayItem(c, 0)->valuestring, "in/*");
		assert_string_equal(cJSON_GetArrayItem(c, 1)->valuestring,
				    "users.csv");
	}
	cJSON_Delete(doc);
	free(text);
	config_free(cfg);

	/* two roles: pick one */
	cfg = load(CONFIG_FORMAT_YAML, YAML_TWO
		   "    ImportRoleArn: arn:aws:iam::123456789012:role/Other\n");
	assert_int_equal(policy_import_role(cfg, NULL, &text, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "choose one pipeline with -p"));
	assert_int_equal(policy_import_role(cfg, "b", &text, err, sizeof(err)), 0);
	assert_non_null(strstr(text, "role/Other"));
	assert_non_null(strstr(text, "arn:aws:s3:::other/b.csv"));
	assert_null(strstr(text, "a.csv"));
	free(text);
	config_free(cfg);
}

static void test_denial_text(void **state)
{
	char buf[512];

	(void)state;
	assert_true(policy_is_denial("AccessDeniedException"));
	assert_true(policy_is_denial("com.amazon.coral.service#AccessDeniedException"));
	assert_true(policy_is_denial("AccessDenied"));
	assert_false(policy_is_denial("InvalidInputException"));
	assert_false(policy_is_denial(NULL));
	policy_denial_text("UpdateCampaign",
		"User: arn:aws:iam::1:user/u is not authorized to perform: "
		"personalize:UpdateCampaign on resource: " PZ "campaign/c "
		"because no identity-based policy allows the "
		"personalize:UpdateCampaign action", buf, sizeof(buf));
	assert_string_equal(buf, "access denied to personalize:UpdateCampaign on "
			    PZ "campaign/c; `personalize-retrain policy` prints the "
			    "IAM policy this config needs");
	policy_denial_text("UpdateCampaign",
		"User: u is not authorized to perform: iam:PassRole on resource: "
		"r with an explicit deny in an identity-based policy", buf,
		sizeof(buf));
	assert_string_equal(buf, "access denied to iam:PassRole on r (an explicit "
			    "Deny); `personalize-retrain policy` prints the IAM "
			    "policy this config needs");
	policy_denial_text("DescribeCampaign", "denied", buf, sizeof(buf));
	assert_string_equal(buf, "access denied to personalize:DescribeCampaign: "
			    "denied; `personalize-retrain policy` prints the IAM "
			    "policy this config needs");
	policy_denial_text("X", NULL, buf, 8);
	assert_int_equal(strlen(buf), 7);
}

/* SkipUnchangedData with folders: s3:ListBucket on each bucket, limited to
 * the folders by StringLike s3:prefix; s3:GetObject only on the files. */
static void test_skip_folders(void **state)
{
	struct config *cfg = load(CONFIG_FORMAT_CFG, CFG_BASE
		"ItemDatasetArn=" PZ "dataset/g/ITEMS\n"
		"S3ItemDatasourcePath=s3://other/items/\n"
		"SkipUnchangedData=yes\n");
	cJSON *doc = identity(cfg, NULL, NULL);
	const cJSON *st, *cond;
	char r[1024];
	int lists = 0;

	(void)state;
	resources_of(doc, "s3:GetObject", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt/users.csv");
	resources_of(doc, "s3:ListBucket", r, sizeof(r));
	assert_string_equal(r, "arn:aws:s3:::bkt, arn:aws:s3:::other");
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "Statement")) {
		const char *res;

		if (!in_list_or_str(cJSON_GetObjectItem(st, "Action"), "s3:ListBucket"))
			continue;
		lists++;
		res = cJSON_GetObjectItem(st, "Resource")->valuestring;
		cond = cJSON_GetObjectItem(cJSON_GetObjectItem(
			cJSON_GetObjectItem(st, "Condition"), "StringLike"), "s3:prefix");
		assert_non_null(cond);
		assert_true(in_list_or_str(cond, !strcmp(res, "arn:aws:s3:::bkt") ? "in/*" : "items/*"));
		assert_int_equal(cJSON_IsString(cond) ? 1 : cJSON_GetArraySize(cond), 1);
	}
	assert_int_equal(lists, 2);
	cJSON_Delete(doc);
	config_free(cfg);
}

static void test_folder_denial_text(void **state)
{
	char buf[512];

	(void)state;
	policy_s3_denial_text("aws", "s3://bkt/in/", buf, sizeof(buf));
	assert_string_equal(buf, "access denied to s3:ListBucket on arn:aws:s3:::bkt "
			    "(s3:prefix \"in/\"); `personalize-retrain policy` prints the "
			    "IAM policy this config needs");
	policy_s3_denial_text("aws-cn", "s3://bkt/a.csv", buf, sizeof(buf));
	assert_string_equal(buf, "access denied to s3:GetObject on arn:aws-cn:s3:::bkt/a.csv; "
			    "`personalize-retrain policy` prints the IAM policy this config needs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_train_only),
		cmocka_unit_test(test_passrole_condition),
		cmocka_unit_test(test_campaign_gate_skip),
		cmocka_unit_test(test_event_bus),
		cmocka_unit_test(test_pipelines_merged),
		cmocka_unit_test(test_import_job_names),
		cmocka_unit_test(test_import_role),
		cmocka_unit_test(test_denial_text),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_skip_folders),
		cmocka_unit_test(test_folder_denial_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
