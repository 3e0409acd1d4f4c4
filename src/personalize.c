/* personalize.c - typed Amazon Personalize operations; see
 * include/personalize.h. Member names are those of service-2.json. */
#include "personalize.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#define ARN_MAX_LEN 256          /* model: Arn max 256 */
#define NEXT_TOKEN_MAX_LEN 1500  /* model: NextToken max 1500 */

enum op_kind {
	OP_ARN,
	OP_DATASET_IMPORT_JOB,
	OP_DATASET_IMPORT_JOBS,
	OP_SOLUTION_VERSION,
	OP_SOLUTION_VERSIONS,
	OP_CAMPAIGN,
	OP_CAMPAIGNS,
	OP_SOLUTION_METRICS,
	OP_DATASET,
	OP_SOLUTION,
	OP_DATASET_GROUP,
	OP_BATCH_JOB,
	OP_BATCH_JOBS,
};

union op_fn {
	personalize_arn_fn arn;
	personalize_dataset_import_job_fn dataset_import_job;
	personalize_dataset_import_jobs_fn dataset_import_jobs;
	personalize_solution_version_fn solution_version;
	personalize_solution_versions_fn solution_versions;
	personalize_campaign_fn campaign;
	personalize_campaigns_fn campaigns;
	personalize_solution_metrics_fn solution_metrics;
	personalize_dataset_fn dataset;
	personalize_solution_fn solution;
	personalize_dataset_group_fn dataset_group;
	personalize_batch_job_fn batch_job;
	personalize_batch_jobs_fn batch_jobs;
};

struct personalize_op {
	struct aws_client *client;
	struct aws_call *call;
	enum op_kind kind;
	const char *operation;
	const char *member;     /* ARN member, or the list's member */
	union op_fn fn;
	void *userdata;
	bool segment;           /* batch jobs: segment, not inference */
	cJSON *request;         /* kept for pagination */
	cJSON *pages;           /* array of the pages' detached lists */
	unsigned n_pages;
	unsigned attempts;
	char *last_token;
};

/* ---- member readers -------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNull(it) ? NULL : it;
}

static int get_str(const cJSON *o, const char *name, const char **out,
		   const char **why)
{
	const cJSON *it = member(o, name);

	*out = NULL;
	if (!it)
		return 0;
	if (!cJSON_IsString(it) || !it->valuestring) {
		*why = name;
		return -EBADMSG;
	}
	*out = it->valuestring;
	return 0;
}

static int get_bool(const cJSON *o, const char *name, bool *out,
		    const char **why)
{
	const cJSON *it = member(o, name);

	*out = false;
	if (!it)
		return 0;
	if (!cJSON_IsBool(it)) {
		*why = name;
		return -EBADMSG;
	}
	*out = cJSON_IsTrue(it);
	return 0;
}

static int get_double(const cJSON *o, const char *name, double *out,
		      bool *has, const char **why)
{
	const cJSON *it = member(o, name);

	*out = 0;
	if (has)
		*has = false;
	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
		*why = name;
		return -EBADMSG;
	}
	*out = it->valuedouble;
	if (has)
		*has = true;
	return 0;
}

static int get_int(const cJSON *o, const char *name, int *out,
		   const char **why)
{
	double d;
	int r = get_double(o, name, &d, NULL, why);

	*out = 0;
	if (r < 0)
		return r;
	if (d < INT_MIN || d > INT_MAX || d != floor(d)) {
		*why = name;
		return -EBADMSG;
	}
	*out = (int)d;
	return 0;
}

/* Timestamps: epoch seconds (JSON protocol default), possibly fractional;
 * an ISO 8601 string is accepted too. */
static int get_time(const cJSON *o, const char *name, time_t *out,
		    const char **why)
{
	const cJSON *it = member(o, name);

	*out = 0;
	if (!it)
		return 0;
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;

		if (!isfinite(d) || d < 0 || d > 253402300799.0) /* 9999 */
			goto bad;
		*out = (time_t)d;
		return 0;
	}
	if (cJSON_IsString(it) && it->valuestring) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(it->valuestring, "%Y-%m-%dT%H:%M:%S", &tm);
		if (!end)
			goto bad;
		if (*end == '.')
			for (end++; *end >= '0' && *end <= '9'; end++)
				;
		if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
			goto bad;
		*out = timegm(&tm);
		if (*out == (time_t)-1)
			goto bad;
		return 0;
	}
bad:
	*why = name;
	return -EBADMSG;
}

static int get_object(const cJSON *o, const char *name, const cJSON **out,
		      bool required, const char **why)
{
	const cJSON *it = member(o, name);

	*out = NULL;
	if (!it) {
		if (!required)
			return 0;
		*why = name;
		return -EBADMSG;
	}
	if (!cJSON_IsObject(it)) {
		*why = name;
		return -EBADMSG;
	}
	*out = it;
	return 0;
}

/* ---- parsers --------------------------------------------------------------- */

static int parse_import_job_obj(const cJSON *j,
				struct personalize_dataset_import_job *out,
				const char **why)
{
	struct personalize_dataset_import_job v;
	const cJSON *ds = NULL;
	int r = 0;

	memset(&v, 0, sizeof(v));
	r |= get_str(j, "jobName", &v.job_name, why);
	r |= get_str(j, "datasetImportJobArn", &v.dataset_import_job_arn, why);
	r |= get_str(j, "datasetArn", &v.dataset_arn, why);
	r |= get_object(j, "dataSource", &ds, false, why);
	if (ds)
		r |= get_str(ds, "dataLocation", &v.data_location, why);
	r |= get_str(j, "roleArn", &v.role_arn, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_str(j, "failureReason", &v.failure_reason, why);
	r |= get_str(j, "importMode", &v.import_mode, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int parse_solution_version_obj(const cJSON *j,
				      struct personalize_solution_version *out,
				      const char **why)
{
	struct personalize_solution_version v;
	int r = 0;

	memset(&v, 0, sizeof(v));
	r |= get_str(j, "name", &v.name, why);
	r |= get_str(j, "solutionVersionArn", &v.solution_version_arn, why);
	r |= get_str(j, "solutionArn", &v.solution_arn, why);
	r |= get_str(j, "recipeArn", &v.recipe_arn, why);
	r |= get_str(j, "datasetGroupArn", &v.dataset_group_arn, why);
	r |= get_str(j, "eventType", &v.event_type, why);
	r |= get_str(j, "trainingMode", &v.training_mode, why);
	r |= get_str(j, "trainingType", &v.training_type, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_str(j, "failureReason", &v.failure_reason, why);
	r |= get_double(j, "trainingHours", &v.training_hours,
			&v.has_training_hours, why);
	r |= get_bool(j, "performHPO", &v.perform_hpo, why);
	r |= get_bool(j, "performAutoML", &v.perform_auto_ml, why);
	r |= get_bool(j, "performIncrementalUpdate",
		      &v.perform_incremental_update, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int parse_campaign_obj(const cJSON *j, struct personalize_campaign *out,
			      const char **why)
{
	struct personalize_campaign v;
	struct personalize_campaign_update *u = &v.latest_campaign_update;
	const cJSON *lu = NULL;
	int r = 0;

	memset(&v, 0, sizeof(v));
	r |= get_str(j, "name", &v.name, why);
	r |= get_str(j, "campaignArn", &v.campaign_arn, why);
	r |= get_str(j, "solutionVersionArn", &v.solution_version_arn, why);
	r |= get_int(j, "minProvisionedTPS", &v.min_provisioned_tps, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_str(j, "failureReason", &v.failure_reason, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	r |= get_object(j, "latestCampaignUpdate", &lu, false, why);
	if (lu) {
		u->present = true;
		r |= get_str(lu, "solutionVersionArn", &u->solution_version_arn,
			     why);
		r |= get_int(lu, "minProvisionedTPS", &u->min_provisioned_tps,
			     why);
		r |= get_str(lu, "status", &u->status, why);
		r |= get_str(lu, "failureReason", &u->failure_reason, why);
		r |= get_time(lu, "creationDateTime", &u->creation_date_time,
			      why);
		r |= get_time(lu, "lastUpdatedDateTime",
			      &u->last_updated_date_time, why);
	}
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int parse_batch_job_obj(const cJSON *j, bool segment,
			       struct personalize_batch_job *out,
			       const char **why)
{
	struct personalize_batch_job v;
	const cJSON *io = NULL, *s3 = NULL;
	int r = 0;

	memset(&v, 0, sizeof(v));
	r |= get_str(j, "jobName", &v.job_name, why);
	r |= get_str(j, segment ? "batchSegmentJobArn" : "batchInferenceJobArn",
		     &v.batch_job_arn, why);
	r |= get_str(j, "solutionVersionArn", &v.solution_version_arn, why);
	r |= get_str(j, "filterArn", &v.filter_arn, why);
	r |= get_str(j, "roleArn", &v.role_arn, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_str(j, "failureReason", &v.failure_reason, why);
	r |= get_int(j, "numResults", &v.num_results, why);
	r |= get_object(j, "jobInput", &io, false, why);
	if (io)
		r |= get_object(io, "s3DataSource", &s3, false, why);
	if (s3)
		r |= get_str(s3, "path", &v.input_path, why);
	io = s3 = NULL;
	r |= get_object(j, "jobOutput", &io, false, why);
	if (io)
		r |= get_object(io, "s3DataDestination", &s3, false, why);
	if (s3)
		r |= get_str(s3, "path", &v.output_path, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

int personalize_parse_batch_job(const cJSON *reply, bool segment,
				struct personalize_batch_job *out,
				const char **why)
{
	const cJSON *j;

	if (get_object(reply, segment ? "batchSegmentJob" : "batchInferenceJob",
		       &j, true, why) < 0)
		return -EBADMSG;
	return parse_batch_job_obj(j, segment, out, why);
}

int personalize_parse_dataset_import_job(const cJSON *reply,
	struct personalize_dataset_import_job *out, const char **why)
{
	const cJSON *j;

	if (get_object(reply, "datasetImportJob", &j, true, why) < 0)
		return -EBADMSG;
	return parse_import_job_obj(j, out, why);
}

int personalize_parse_solution_version(const cJSON *reply,
	struct personalize_solution_version *out, const char **why)
{
	const cJSON *j;

	if (get_object(reply, "solutionVersion", &j, true, why) < 0)
		return -EBADMSG;
	return parse_solution_version_obj(j, out, why);
}

int personalize_parse_campaign(const cJSON *reply,
			       struct personalize_campaign *out,
			       const char **why)
{
	const cJSON *j;

	if (get_object(reply, "campaign", &j, true, why) < 0)
		return -EBADMSG;
	return parse_campaign_obj(j, out, why);
}

int personalize_parse_dataset(const cJSON *reply,
			      struct personalize_dataset *out,
			      const char **why)
{
	struct personalize_dataset v;
	const cJSON *j, *lu = NULL;
	int r = 0;

	if (get_object(reply, "dataset", &j, true, why) < 0)
		return -EBADMSG;
	memset(&v, 0, sizeof(v));
	r |= get_str(j, "name", &v.name, why);
	r |= get_str(j, "datasetArn", &v.dataset_arn, why);
	r |= get_str(j, "datasetGroupArn", &v.dataset_group_arn, why);
	r |= get_str(j, "datasetType", &v.dataset_type, why);
	r |= get_str(j, "schemaArn", &v.schema_arn, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_str(j, "trackingId", &v.tracking_id, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	r |= get_object(j, "latestDatasetUpdate", &lu, false, why);
	if (lu) {
		r |= get_str(lu, "status", &v.latest_update_status, why);
		r |= get_str(lu, "failureReason",
			     &v.latest_update_failure_reason, why);
	}
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

int personalize_parse_solution(const cJSON *reply,
			       struct personalize_solution *out,
			       const char **why)
{
	struct personalize_solution v;
	const cJSON *j, *ls = NULL;
	int r = 0;

	if (get_object(reply, "solution", &j, true, why) < 0)
		return -EBADMSG;
	memset(&v, 0, sizeof(v));
	r |= get_str(j, "name", &v.name, why);
	r |= get_str(j, "solutionArn", &v.solution_arn, why);
	r |= get_str(j, "recipeArn", &v.recipe_arn, why);
	r |= get_str(j, "datasetGroupArn", &v.dataset_group_arn, why);
	r |= get_str(j, "eventType", &v.event_type, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_bool(j, "performHPO", &v.perform_hpo, why);
	r |= get_bool(j, "performAutoML", &v.perform_auto_ml, why);
	r |= get_bool(j, "performAutoTraining", &v.perform_auto_training, why);
	r |= get_bool(j, "performIncrementalUpdate",
		      &v.perform_incremental_update, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	r |= get_object(j, "latestSolutionVersion", &ls, false, why);
	if (ls) {
		v.has_latest_solution_version = true;
		r |= parse_solution_version_obj(ls, &v.latest_solution_version,
						why) < 0;
	}
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

int personalize_parse_dataset_group(const cJSON *reply,
				    struct personalize_dataset_group *out,
				    const char **why)
{
	struct personalize_dataset_group v;
	const cJSON *j;
	int r = 0;

	if (get_object(reply, "datasetGroup", &j, true, why) < 0)
		return -EBADMSG;
	memset(&v, 0, sizeof(v));
	r |= get_str(j, "name", &v.name, why);
	r |= get_str(j, "datasetGroupArn", &v.dataset_group_arn, why);
	r |= get_str(j, "status", &v.status, why);
	r |= get_str(j, "roleArn", &v.role_arn, why);
	r |= get_str(j, "kmsKeyArn", &v.kms_key_arn, why);
	r |= get_str(j, "domain", &v.domain, why);
	r |= get_str(j, "failureReason", &v.failure_reason, why);
	r |= get_time(j, "creationDateTime", &v.creation_date_time, why);
	r |= get_time(j, "lastUpdatedDateTime", &v.last_updated_date_time, why);
	if (r)
		return -EBADMSG;
	*out = v;
	return 0;
}

int personalize_parse_solution_metrics(const cJSON *reply,
	struct personalize_solution_metrics *out,
	struct personalize_metric **metrics, const char **why)
{
	struct personalize_solution_metrics v;
	struct personalize_metric *m = NULL;
	const cJSON *map = NULL, *it;
	size_t n = 0;

	memset(&v, 0, sizeof(v));
	if (get_str(reply, "solutionVersionArn", &v.solution_version_arn,
		    why) < 0 ||
	    get_object(reply, "metrics", &map, false, why) < 0)
		return -EBADMSG;
	if (map) {
		cJSON_ArrayForEach(it, map)
			n++;
	}
	if (n) {
		m = calloc(n, sizeof(*m));
		if (!m)
			return -ENOMEM;
		n = 0;
		cJSON_ArrayForEach(it, map) {
			if (!cJSON_IsNumber(it) || !it->string ||
			    !isfinite(it->valuedouble)) {
				free(m);
				*why = "metrics";
				return -EBADMSG;
			}
			m[n].name = it->string;
			m[n].value = it->valuedouble;
			n++;
		}
	}
	v.metrics = m;
	v.n_metrics = n;
	*out = v;
	*metrics = m;
	return 0;
}

int personalize_parse_arn(const cJSON *reply, const char *name,
			  const char **arn, const char **why)
{
	const char *v;

	if (get_str(reply, name, &v, why) < 0)
		return -EBADMSG;
	if (!v || !*v) {
		*why = name;
		return -EBADMSG;
	}
	*arn = v;
	return 0;
}

/* ---- ops --------------------------------------------------------------------- */

static void op_free(struct personalize_op *op)
{
	if (!op)
		return;
	aws_call_cancel(op->call);
	cJSON_Delete(op->request);
	cJSON_Delete(op->pages);
	free(op->last_token);
	free(op);
}

void personalize_op_cancel(struct personalize_op *op)
{
	op_free(op);
}

/* Deliver a failure to the op's callback (NULL parsed data). */
static void deliver_error(struct personalize_op *op,
			  const struct aws_result *res)
{
	switch (op->kind) {
	case OP_ARN: op->fn.arn(res, NULL, op->userdata); break;
	case OP_DATASET_IMPORT_JOB:
		op->fn.dataset_import_job(res, NULL, op->userdata); break;
	case OP_DATASET_IMPORT_JOBS:
		op->fn.dataset_import_jobs(res, NULL, 0, op->userdata); break;
	case OP_SOLUTION_VERSION:
		op->fn.solution_version(res, NULL, op->userdata); break;
	case OP_SOLUTION_VERSIONS:
		op->fn.solution_versions(res, NULL, 0, op->userdata); break;
	case OP_CAMPAIGN: op->fn.campaign(res, NULL, op->userdata); break;
	case OP_CAMPAIGNS: op->fn.campaigns(res, NULL, 0, op->userdata); break;
	case OP_SOLUTION_METRICS:
		op->fn.solution_metrics(res, NULL, op->userdata); break;
	case OP_DATASET: op->fn.dataset(res, NULL, op->userdata); break;
	case OP_SOLUTION: op->fn.solution(res, NULL, op->userdata); break;
	case OP_DATASET_GROUP:
		op->fn.dataset_group(res, NULL, op->userdata); break;
	case OP_BATCH_JOB: op->fn.batch_job(res, NULL, op->userdata); break;
	case OP_BATCH_JOBS:
		op->fn.batch_jobs(res, NULL, 0, op->userdata); break;
	}
}

static void deliver_local_error(struct personalize_op *op,
				const struct aws_result *res,
				enum aws_error_class cls, const char *code,
				const char *message)
{
	struct aws_result copy = *res;

	copy.error = cls;
	copy.code = code;
	copy.message = message;
	copy.reply = NULL;
	copy.attempts = op->attempts;
	deliver_error(op, &copy);
}

static void deliver_malformed(struct personalize_op *op,
			      const struct aws_result *res, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg),
		 "%s reply: member \"%s\" is missing or of the wrong type",
		 op->operation, what ? what : "?");
	deliver_local_error(op, res, AWS_ERR_MALFORMED_REPLY, "MalformedReply",
			    msg);
}

/* Parse every item of every page and deliver the list. */
static void deliver_list(struct personalize_op *op,
			 const struct aws_result *res)
{
	const char *why = NULL;
	const cJSON *page, *it;
	size_t n = 0, i = 0;
	void *items = NULL;
	size_t size;
	int r = 0;

	cJSON_ArrayForEach(page, op->pages)
		n += (size_t)cJSON_GetArraySize(page);
	size = op->kind == OP_DATASET_IMPORT_JOBS ?
		sizeof(struct personalize_dataset_import_job) :
	       op->kind == OP_SOLUTION_VERSIONS ?
		sizeof(struct personalize_solution_version) :
	       op->kind == OP_BATCH_JOBS ?
		sizeof(struct personalize_batch_job) :
		sizeof(struct personalize_campaign);
	if (n) {
		items = calloc(n, size);
		if (!items) {
			deliver_local_error(op, res, AWS_ERR_INTERNAL,
					    "OutOfMemory", "out of memory");
			return;
		}
	}
	cJSON_ArrayForEach(page, op->pages) {
		cJSON_ArrayForEach(it, page) {
			if (!cJSON_IsObject(it)) {
				why = op->member;
				r = -EBADMSG;
			} else if (op->kind == OP_DATASET_IMPORT_JOBS) {
				r = parse_import_job_obj(it,
					(struct personalize_dataset_import_job *)items + i, &why);
			} else if (op->kind == OP_SOLUTION_VERSIONS) {
				r = parse_solution_version_obj(it,
					(struct personalize_solution_version *)items + i, &why);
			} else if (op->kind == OP_BATCH_JOBS) {
				r = parse_batch_job_obj(it, op->segment,
					(struct personalize_batch_job *)items + i, &why);
			} else {
				r = parse_campaign_obj(it,
					(struct personalize_campaign *)items + i, &why);
			}
			if (r < 0)
				break;
			i++;
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		deliver_malformed(op, res, why);
	} else {
		struct aws_result copy = *res;

		copy.attempts = op->attempts;
		if (op->kind == OP_DATASET_IMPORT_JOBS)
			op->fn.dataset_import_jobs(&copy, items, n, op->userdata);
		else if (op->kind == OP_SOLUTION_VERSIONS)
			op->fn.solution_versions(&copy, items, n, op->userdata);
		else if (op->kind == OP_BATCH_JOBS)
			op->fn.batch_jobs(&copy, items, n, op->userdata);
		else
			op->fn.campaigns(&copy, items, n, op->userdata);
	}
	free(items);
}

static void on_reply(const struct aws_result *res, void *userdata);

static int op_send(struct personalize_op *op)
{
	return aws_call(op->client, op->operation, op->request, on_reply, op,
			&op->call);
}

/* One page arrived: keep its list, then fetch the next or deliver.
 * Returns true when the op is finished (callback called). */
static bool on_page(struct personalize_op *op, const struct aws_result *res)
{
	const char *token = NULL, *why = NULL;
	cJSON *list;
	int r;

	list = cJSON_DetachItemFromObjectCaseSensitive(res->reply, op->member);
	if (list && cJSON_IsNull(list)) {
		cJSON_Delete(list);
		list = NULL;
	}
	if (list && !cJSON_IsArray(list)) {
		cJSON_Delete(list);
		deliver_malformed(op, res, op->member);
		return true;
	}
	if (!list)
		list = cJSON_CreateArray();
	if (!list || !cJSON_AddItemToArray(op->pages, list)) {
		cJSON_Delete(list);
		deliver_local_error(op, res, AWS_ERR_INTERNAL, "OutOfMemory",
				    "out of memory");
		return true;
	}
	op->n_pages++;
	if (get_str(res->reply, "nextToken", &token, &why) < 0) {
		deliver_malformed(op, res, why);
		return true;
	}
	if (!token || !*token) {
		deliver_list(op, res);
		return true;
	}
	if (op->n_pages >= PERSONALIZE_MAX_PAGES ||
	    strlen(token) > NEXT_TOKEN_MAX_LEN ||
	    (op->last_token && strcmp(op->last_token, token) == 0)) {
		deliver_local_error(op, res, AWS_ERR_MALFORMED_REPLY,
				    "MalformedReply",
				    "pagination does not end (nextToken "
				    "repeated or too many pages)");
		return true;
	}
	free(op->last_token);
	op->last_token = strdup(token);
	cJSON_DeleteItemFromObjectCaseSensitive(op->request, "nextToken");
	if (!op->last_token ||
	    !cJSON_AddStringToObject(op->request, "nextToken", token)) {
		deliver_local_error(op, res, AWS_ERR_INTERNAL, "OutOfMemory",
				    "out of memory");
		return true;
	}
	r = op_send(op);
	if (r < 0) {
		deliver_local_error(op, res, AWS_ERR_INTERNAL, "RequestFailed",
				    "the next page could not be requested");
		return true;
	}
	log_debug("personalize: %s: fetching page %u", op->operation,
		  op->n_pages + 1);
	return false;
}

static void on_reply(const struct aws_result *res, void *userdata)
{
	struct personalize_op *op = userdata;
	const char *why = NULL;
	int r = -EBADMSG;

	op->call = NULL;
	op->attempts += res->attempts;
	if (res->error != AWS_ERR_NONE || !res->reply) {
		struct aws_result copy = *res;

		copy.attempts = op->attempts;
		deliver_error(op, &copy);
		op_free(op);
		return;
	}
	switch (op->kind) {
	case OP_ARN: {
		const char *arn = NULL;

		r = personalize_parse_arn(res->reply, op->member, &arn, &why);
		if (r == 0)
			op->fn.arn(res, arn, op->userdata);
		break;
	}
	case OP_DATASET_IMPORT_JOB: {
		struct personalize_dataset_import_job v;

		r = personalize_parse_dataset_import_job(res->reply, &v, &why);
		if (r == 0)
			op->fn.dataset_import_job(res, &v, op->userdata);
		break;
	}
	case OP_SOLUTION_VERSION: {
		struct personalize_solution_version v;

		r = personalize_parse_solution_version(res->reply, &v, &why);
		if (r == 0)
			op->fn.solution_version(res, &v, op->userdata);
		break;
	}
	case OP_CAMPAIGN: {
		struct personalize_campaign v;

		r = personalize_parse_campaign(res->reply, &v, &why);
		if (r == 0)
			op->fn.campaign(res, &v, op->userdata);
		break;
	}
	case OP_SOLUTION_METRICS: {
		struct personalize_solution_metrics v;
		struct personalize_metric *m = NULL;

		r = personalize_parse_solution_metrics(res->reply, &v, &m, &why);
		if (r == 0)
			op->fn.solution_metrics(res, &v, op->userdata);
		free(m);
		if (r == -ENOMEM) {
			deliver_local_error(op, res, AWS_ERR_INTERNAL,
					    "OutOfMemory", "out of memory");
			r = 0;
		}
		break;
	}
	case OP_DATASET: {
		struct personalize_dataset v;

		r = personalize_parse_dataset(res->reply, &v, &why);
		if (r == 0)
			op->fn.dataset(res, &v, op->userdata);
		break;
	}
	case OP_SOLUTION: {
		struct personalize_solution v;

		r = personalize_parse_solution(res->reply, &v, &why);
		if (r == 0)
			op->fn.solution(res, &v, op->userdata);
		break;
	}
	case OP_DATASET_GROUP: {
		struct personalize_dataset_group v;

		r = personalize_parse_dataset_group(res->reply, &v, &why);
		if (r == 0)
			op->fn.dataset_group(res, &v, op->userdata);
		break;
	}
	case OP_BATCH_JOB: {
		struct personalize_batch_job v;

		r = personalize_parse_batch_job(res->reply, op->segment, &v,
						&why);
		if (r == 0)
			op->fn.batch_job(res, &v, op->userdata);
		break;
	}
	case OP_DATASET_IMPORT_JOBS:
	case OP_SOLUTION_VERSIONS:
	case OP_CAMPAIGNS:
	case OP_BATCH_JOBS:
		if (!on_page(op, res))
			return;  /* next page in flight */
		r = 0;
		break;
	}
	if (r < 0)
		deliver_malformed(op, res, why);
	op_free(op);
}

/* ---- request building --------------------------------------------------------- */

static bool arn_ok(const char *s)
{
	return s && *s && strlen(s) <= ARN_MAX_LEN;
}

static bool add_str(cJSON *o, const char *name, const char *v)
{
	return cJSON_AddStringToObject(o, name, v) != NULL;
}

/* Start op with request body req (consumed); segment: of a batch job. */
static int op_start_x(struct aws_client *c, enum op_kind kind, bool segment,
		      const char *operation, const char *memb, union op_fn fn,
		      void *userdata, cJSON *req, struct personalize_op **ret)
{
	struct personalize_op *op = NULL;
	int r = -ENOMEM;

	if (!req)
		return -ENOMEM;
	op = calloc(1, sizeof(*op));
	if (!op)
		goto cleanup;
	op->client = c;
	op->kind = kind;
	op->operation = operation;
	op->member = memb;
	op->fn = fn;
	op->userdata = userdata;
	op->segment = segment;
	op->request = req;
	req = NULL;
	if (kind == OP_DATASET_IMPORT_JOBS || kind == OP_SOLUTION_VERSIONS ||
	    kind == OP_CAMPAIGNS || kind == OP_BATCH_JOBS) {
		op->pages = cJSON_CreateArray();
		if (!op->pages ||
		    !cJSON_AddNumberToObject(op->request, "maxResults",
					     PERSONALIZE_PAGE_SIZE))
			goto cleanup;
	}
	r = op_send(op);
	if (r < 0)
		goto cleanup;
	if (ret)
		*ret = op;
	op = NULL;
cleanup:
	cJSON_Delete(req);
	op_free(op);
	return r;
}

static int op_start(struct aws_client *c, enum op_kind kind,
		    const char *operation, const char *memb, union op_fn fn,
		    void *userdata, cJSON *req, struct personalize_op **ret)
{
	return op_start_x(c, kind, false, operation, memb, fn, userdata, req,
			  ret);
}

/* "tags": [{"tagKey": k, "tagValue": v}, ...] when n > 0 (the service
 * model's Tags shape); false when out of memory. */
static bool add_tags(cJSON *o, const struct config_tag *tags, size_t n)
{
	cJSON *a;
	size_t i;

	if (n == 0)
		return true;
	a = cJSON_AddArrayToObject(o, "tags");
	if (!a)
		return false;
	for (i = 0; i < n; i++) {
		cJSON *t = cJSON_CreateObject();

		if (!t || !cJSON_AddItemToArray(a, t) ||
		    !add_str(t, "tagKey", tags[i].key) ||
		    !add_str(t, "tagValue", tags[i].value))
			return false;
	}
	return true;
}

/* Body {"<name>": arn} for the Describe/Get operations. */
static cJSON *arn_body(const char *name, const char *arn)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !add_str(o, name, arn)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Body for a List operation with an optional filter ARN. */
static cJSON *list_body(const char *name, const char *arn)
{
	cJSON *o = cJSON_CreateObject();

	if (o && arn && !add_str(o, name, arn)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int personalize_create_dataset_import_job(
	struct aws_client *c, const struct personalize_create_dataset_import_job *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret)
{
	cJSON *o, *ds;
	union op_fn fn = { .arn = done };

	if (!c || !req || !done || !req->job_name || !*req->job_name ||
	    !arn_ok(req->dataset_arn) || !req->data_location ||
	    !*req->data_location || (req->role_arn && !arn_ok(req->role_arn)) ||
	    (req->n_tags && !req->tags))
		return -EINVAL;
	o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	ds = cJSON_AddObjectToObject(o, "dataSource");
	if (!add_str(o, "jobName", req->job_name) ||
	    !add_str(o, "datasetArn", req->dataset_arn) || !ds ||
	    !add_str(ds, "dataLocation", req->data_location) ||
	    (req->role_arn && !add_str(o, "roleArn", req->role_arn)) ||
	    (req->import_mode && !add_str(o, "importMode", req->import_mode)) ||
	    !add_tags(o, req->tags, req->n_tags)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return op_start(c, OP_ARN, "CreateDatasetImportJob",
			"datasetImportJobArn", fn, userdata, o, ret);
}

int personalize_describe_dataset_import_job(
	struct aws_client *c, const char *arn,
	personalize_dataset_import_job_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .dataset_import_job = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_DATASET_IMPORT_JOB, "DescribeDatasetImportJob",
			NULL, fn, userdata,
			arn_body("datasetImportJobArn", arn), ret);
}

int personalize_list_dataset_import_jobs(
	struct aws_client *c, const char *dataset_arn,
	personalize_dataset_import_jobs_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .dataset_import_jobs = done };

	if (!c || !done || (dataset_arn && !arn_ok(dataset_arn)))
		return -EINVAL;
	return op_start(c, OP_DATASET_IMPORT_JOBS, "ListDatasetImportJobs",
			"datasetImportJobs", fn, userdata,
			list_body("datasetArn", dataset_arn), ret);
}

int personalize_create_solution_version(
	struct aws_client *c, const struct personalize_create_solution_version *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret)
{
	union op_fn fn = { .arn = done };
	cJSON *o;

	if (!c || !req || !done || !arn_ok(req->solution_arn) ||
	    (req->name && !*req->name) ||
	    (req->training_mode && !*req->training_mode) ||
	    (req->n_tags && !req->tags))
		return -EINVAL;
	o = arn_body("solutionArn", req->solution_arn);
	if (!o)
		return -ENOMEM;
	if ((req->name && !add_str(o, "name", req->name)) ||
	    (req->training_mode &&
	     !add_str(o, "trainingMode", req->training_mode)) ||
	    !add_tags(o, req->tags, req->n_tags)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return op_start(c, OP_ARN, "CreateSolutionVersion",
			"solutionVersionArn", fn, userdata, o, ret);
}

int personalize_describe_solution_version(
	struct aws_client *c, const char *arn,
	personalize_solution_version_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .solution_version = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_SOLUTION_VERSION, "DescribeSolutionVersion",
			NULL, fn, userdata,
			arn_body("solutionVersionArn", arn), ret);
}

int personalize_list_solution_versions(
	struct aws_client *c, const char *solution_arn,
	personalize_solution_versions_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .solution_versions = done };

	if (!c || !done || (solution_arn && !arn_ok(solution_arn)))
		return -EINVAL;
	return op_start(c, OP_SOLUTION_VERSIONS, "ListSolutionVersions",
			"solutionVersions", fn, userdata,
			list_body("solutionArn", solution_arn), ret);
}

int personalize_get_solution_metrics(
	struct aws_client *c, const char *arn,
	personalize_solution_metrics_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .solution_metrics = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_SOLUTION_METRICS, "GetSolutionMetrics", NULL, fn,
			userdata, arn_body("solutionVersionArn", arn), ret);
}

int personalize_update_campaign(
	struct aws_client *c, const struct personalize_update_campaign *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret)
{
	union op_fn fn = { .arn = done };
	cJSON *o;

	if (!c || !req || !done || !arn_ok(req->campaign_arn) ||
	    (req->solution_version_arn &&
	     !arn_ok(req->solution_version_arn)) ||
	    req->min_provisioned_tps < 0)
		return -EINVAL;
	o = arn_body("campaignArn", req->campaign_arn);
	if (!o)
		return -ENOMEM;
	if ((req->solution_version_arn &&
	     !add_str(o, "solutionVersionArn", req->solution_version_arn)) ||
	    (req->min_provisioned_tps > 0 &&
	     !cJSON_AddNumberToObject(o, "minProvisionedTPS",
				      req->min_provisioned_tps))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return op_start(c, OP_ARN, "UpdateCampaign", "campaignArn", fn,
			userdata, o, ret);
}

int personalize_describe_campaign(
	struct aws_client *c, const char *arn, personalize_campaign_fn done,
	void *userdata, struct personalize_op **ret)
{
	union op_fn fn = { .campaign = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_CAMPAIGN, "DescribeCampaign", NULL, fn, userdata,
			arn_body("campaignArn", arn), ret);
}

int personalize_list_campaigns(
	struct aws_client *c, const char *solution_arn,
	personalize_campaigns_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .campaigns = done };

	if (!c || !done || (solution_arn && !arn_ok(solution_arn)))
		return -EINVAL;
	return op_start(c, OP_CAMPAIGNS, "ListCampaigns", "campaigns", fn,
			userdata, list_body("solutionArn", solution_arn), ret);
}

int personalize_describe_dataset(
	struct aws_client *c, const char *arn, personalize_dataset_fn done,
	void *userdata, struct personalize_op **ret)
{
	union op_fn fn = { .dataset = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_DATASET, "DescribeDataset", NULL, fn, userdata,
			arn_body("datasetArn", arn), ret);
}

int personalize_describe_solution(
	struct aws_client *c, const char *arn, personalize_solution_fn done,
	void *userdata, struct personalize_op **ret)
{
	union op_fn fn = { .solution = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_SOLUTION, "DescribeSolution", NULL, fn, userdata,
			arn_body("solutionArn", arn), ret);
}

int personalize_describe_dataset_group(
	struct aws_client *c, const char *arn,
	personalize_dataset_group_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .dataset_group = done };

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start(c, OP_DATASET_GROUP, "DescribeDatasetGroup", NULL, fn,
			userdata, arn_body("datasetGroupArn", arn), ret);
}

/* {"<outer>": {"<inner>": {"path": path}}}: a batch job's jobInput or
 * jobOutput; false when out of memory. */
static bool add_s3_config(cJSON *o, const char *outer, const char *inner,
			  const char *path)
{
	cJSON *a = cJSON_AddObjectToObject(o, outer);
	cJSON *b = a ? cJSON_AddObjectToObject(a, inner) : NULL;

	return b && add_str(b, "path", path);
}

int personalize_create_batch_job(
	struct aws_client *c, const struct personalize_create_batch_job *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret)
{
	union op_fn fn = { .arn = done };
	cJSON *o;

	if (!c || !req || !done || !req->job_name || !*req->job_name ||
	    !arn_ok(req->solution_version_arn) || !req->input_path ||
	    !*req->input_path || !req->output_path || !*req->output_path ||
	    !arn_ok(req->role_arn) ||
	    (req->filter_arn && !arn_ok(req->filter_arn)) ||
	    req->num_results > INT_MAX || (req->n_tags && !req->tags))
		return -EINVAL;
	o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	if (!add_str(o, "jobName", req->job_name) ||
	    !add_str(o, "solutionVersionArn", req->solution_version_arn) ||
	    !add_s3_config(o, "jobInput", "s3DataSource", req->input_path) ||
	    !add_s3_config(o, "jobOutput", "s3DataDestination",
			   req->output_path) ||
	    !add_str(o, "roleArn", req->role_arn) ||
	    (req->num_results &&
	     !cJSON_AddNumberToObject(o, "numResults", req->num_results)) ||
	    (req->filter_arn && !add_str(o, "filterArn", req->filter_arn)) ||
	    !add_tags(o, req->tags, req->n_tags)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return op_start(c, OP_ARN,
			req->segment ? "CreateBatchSegmentJob"
				     : "CreateBatchInferenceJob",
			req->segment ? "batchSegmentJobArn"
				     : "batchInferenceJobArn",
			fn, userdata, o, ret);
}

int personalize_describe_batch_job(
	struct aws_client *c, bool segment, const char *arn,
	personalize_batch_job_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .batch_job = done };
	const char *member = segment ? "batchSegmentJobArn"
				     : "batchInferenceJobArn";

	if (!c || !done || !arn_ok(arn))
		return -EINVAL;
	return op_start_x(c, OP_BATCH_JOB, segment,
			  segment ? "DescribeBatchSegmentJob"
				  : "DescribeBatchInferenceJob",
			  NULL, fn, userdata, arn_body(member, arn), ret);
}

int personalize_list_batch_jobs(
	struct aws_client *c, bool segment, const char *solution_version_arn,
	personalize_batch_jobs_fn done, void *userdata,
	struct personalize_op **ret)
{
	union op_fn fn = { .batch_jobs = done };

	if (!c || !done ||
	    (solution_version_arn && !arn_ok(solution_version_arn)))
		return -EINVAL;
	return op_start_x(c, OP_BATCH_JOBS, segment,
			  segment ? "ListBatchSegmentJobs"
				  : "ListBatchInferenceJobs",
			  segment ? "batchSegmentJobs" : "batchInferenceJobs",
			  fn, userdata,
			  list_body("solutionVersionArn", solution_version_arn),
			  ret);
}
