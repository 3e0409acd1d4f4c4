/* personalize.h - typed Amazon Personalize operations over aws.h.
 *
 * One asynchronous function per operation the daemon needs. Request
 * bodies use the member names of the service model (service-2.json,
 * API 2018-05-22); optional members left NULL / 0 are not sent. Replies
 * are parsed into the structs below, whose field names are the model's
 * member names in snake_case.
 *
 * Lifetime: every string in a parsed struct points into the reply and is
 * valid only during the callback; copy what you keep. A member absent from
 * the reply is NULL (strings) or 0 (times, numbers; see the has_* flags).
 *
 * Errors: a callback always gets the struct aws_result of the (last) call;
 * on failure (res->error != AWS_ERR_NONE) the parsed pointer is NULL. A
 * reply that is JSON but lacks the expected object, or holds a member of
 * the wrong type, is reported as AWS_ERR_MALFORMED_REPLY with code
 * "MalformedReply" and a message naming the member.
 *
 * List* operations follow nextToken (maxResults PERSONALIZE_PAGE_SIZE) to
 * the end and deliver every item at once; res describes the last page
 * (res->attempts counts all pages' attempts). At most
 * PERSONALIZE_MAX_PAGES pages are fetched; a service that keeps returning
 * tokens beyond that, or the same token twice, is MalformedReply.
 *
 * Cancelling: personalize_op_cancel() (no callback afterwards). Never from
 * inside the op's own callback; the op handle is dead after its callback.
 * Cancel the ops still in flight before aws_client_free(): freeing the
 * client drops their calls silently and the ops would leak. */
#ifndef PR_PERSONALIZE_H
#define PR_PERSONALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws.h"
#include "metric.h"

#define PERSONALIZE_PAGE_SIZE 100   /* maxResults (model maximum) */
#define PERSONALIZE_MAX_PAGES 1000

/* Status strings as the service spells them. */
#define PERSONALIZE_STATUS_ACTIVE             "ACTIVE"
#define PERSONALIZE_STATUS_CREATE_PENDING     "CREATE PENDING"
#define PERSONALIZE_STATUS_CREATE_IN_PROGRESS "CREATE IN_PROGRESS"
#define PERSONALIZE_STATUS_CREATE_FAILED      "CREATE FAILED"
#define PERSONALIZE_STATUS_CREATE_STOPPING    "CREATE STOPPING"
#define PERSONALIZE_STATUS_CREATE_STOPPED     "CREATE STOPPED"
#define PERSONALIZE_STATUS_DELETE_PENDING     "DELETE PENDING"
#define PERSONALIZE_STATUS_DELETE_IN_PROGRESS "DELETE IN_PROGRESS"

struct personalize_op;

/* ---- parsed replies -------------------------------------------------------- */

/* DatasetImportJob, or a DatasetImportJobSummary in lists (then
 * dataset_arn, data_location, role_arn are NULL). */
struct personalize_dataset_import_job {
	const char *job_name;
	const char *dataset_import_job_arn;
	const char *dataset_arn;
	const char *data_location;      /* dataSource.dataLocation */
	const char *role_arn;
	const char *status;
	const char *failure_reason;
	const char *import_mode;        /* "FULL" / "INCREMENTAL" */
	time_t creation_date_time;
	time_t last_updated_date_time;
};

/* SolutionVersion, or a SolutionVersionSummary in lists. */
struct personalize_solution_version {
	const char *name;
	const char *solution_version_arn;
	const char *solution_arn;
	const char *recipe_arn;
	const char *dataset_group_arn;
	const char *event_type;
	const char *training_mode;      /* FULL / UPDATE / AUTOTRAIN */
	const char *training_type;      /* AUTOMATIC / MANUAL */
	const char *status;
	const char *failure_reason;
	bool has_training_hours;
	double training_hours;
	bool perform_hpo;
	bool perform_auto_ml;
	bool perform_incremental_update;
	time_t creation_date_time;
	time_t last_updated_date_time;
};

/* CampaignUpdateSummary: the truth about a deployment in progress. */
struct personalize_campaign_update {
	bool present;                   /* latestCampaignUpdate was there */
	const char *solution_version_arn;
	int min_provisioned_tps;
	const char *status;
	const char *failure_reason;
	time_t creation_date_time;
	time_t last_updated_date_time;
};

/* Campaign, or a CampaignSummary in lists (then solution_version_arn,
 * min_provisioned_tps and latest_campaign_update are empty). */
struct personalize_campaign {
	const char *name;
	const char *campaign_arn;
	const char *solution_version_arn;
	int min_provisioned_tps;
	const char *status;
	const char *failure_reason;
	time_t creation_date_time;
	time_t last_updated_date_time;
	struct personalize_campaign_update latest_campaign_update;
};

struct personalize_dataset {
	const char *name;
	const char *dataset_arn;
	const char *dataset_group_arn;
	const char *dataset_type;       /* Interactions / Items / Users / ... */
	const char *schema_arn;
	const char *status;
	const char *tracking_id;
	const char *latest_update_status;         /* latestDatasetUpdate.status */
	const char *latest_update_failure_reason; /* ...failureReason */
	time_t creation_date_time;
	time_t last_updated_date_time;
};

struct personalize_solution {
	const char *name;
	const char *solution_arn;
	const char *recipe_arn;
	const char *dataset_group_arn;
	const char *event_type;
	const char *status;
	bool perform_hpo;
	bool perform_auto_ml;
	bool perform_auto_training;
	bool perform_incremental_update;
	time_t creation_date_time;
	time_t last_updated_date_time;
	bool has_latest_solution_version;
	struct personalize_solution_version latest_solution_version; /* summary */
};

struct personalize_dataset_group {
	const char *name;
	const char *dataset_group_arn;
	const char *status;
	const char *role_arn;
	const char *kms_key_arn;
	const char *domain;
	const char *failure_reason;
	time_t creation_date_time;
	time_t last_updated_date_time;
};

/* BatchInferenceJob or BatchSegmentJob, or their summaries in lists (then
 * only job_name, the ARN, solution_version_arn, status, failure_reason and
 * the times). The two shapes share these members but the ARN's name
 * (batchInferenceJobArn, batchSegmentJobArn). */
struct personalize_batch_job {
	const char *job_name;
	const char *batch_job_arn;
	const char *solution_version_arn;
	const char *filter_arn;
	const char *role_arn;
	const char *status;             /* PENDING, IN PROGRESS, ACTIVE,
					   CREATE FAILED */
	const char *failure_reason;
	const char *input_path;         /* jobInput.s3DataSource.path */
	const char *output_path;        /* jobOutput.s3DataDestination.path */
	int num_results;
	time_t creation_date_time;
	time_t last_updated_date_time;
};

/* struct personalize_metric, personalize_solution_metrics: metric.h */

/* ---- callbacks ------------------------------------------------------------- */

/* Create* and UpdateCampaign: the ARN of what was created / updated. */
typedef void (*personalize_arn_fn)(const struct aws_result *res,
				   const char *arn, void *userdata);
typedef void (*personalize_dataset_import_job_fn)(
	const struct aws_result *res,
	const struct personalize_dataset_import_job *job, void *userdata);
typedef void (*personalize_dataset_import_jobs_fn)(
	const struct aws_result *res,
	const struct personalize_dataset_import_job *jobs, size_t n,
	void *userdata);
typedef void (*personalize_solution_version_fn)(
	const struct aws_result *res,
	const struct personalize_solution_version *sv, void *userdata);
typedef void (*personalize_solution_versions_fn)(
	const struct aws_result *res,
	const struct personalize_solution_version *svs, size_t n,
	void *userdata);
typedef void (*personalize_campaign_fn)(const struct aws_result *res,
					const struct personalize_campaign *c,
					void *userdata);
typedef void (*personalize_campaigns_fn)(const struct aws_result *res,
					 const struct personalize_campaign *cs,
					 size_t n, void *userdata);
typedef void (*personalize_solution_metrics_fn)(
	const struct aws_result *res,
	const struct personalize_solution_metrics *m, void *userdata);
typedef void (*personalize_batch_job_fn)(
	const struct aws_result *res, const struct personalize_batch_job *job,
	void *userdata);
typedef void (*personalize_batch_jobs_fn)(
	const struct aws_result *res, const struct personalize_batch_job *jobs,
	size_t n, void *userdata);
typedef void (*personalize_dataset_fn)(const struct aws_result *res,
				       const struct personalize_dataset *d,
				       void *userdata);
typedef void (*personalize_solution_fn)(const struct aws_result *res,
					const struct personalize_solution *s,
					void *userdata);
typedef void (*personalize_dataset_group_fn)(
	const struct aws_result *res,
	const struct personalize_dataset_group *g, void *userdata);

/* ---- requests ---------------------------------------------------------------- */

struct config_tag; /* config.h: key and value */

/* CreateDatasetImportJob. Required: job_name, dataset_arn, data_location
 * (sent as dataSource.dataLocation). role_arn and import_mode ("FULL",
 * "INCREMENTAL") are sent when not NULL; tags (n_tags of them, each
 * {"tagKey", "tagValue"}) when n_tags > 0. */
struct personalize_create_dataset_import_job {
	const char *job_name;
	const char *dataset_arn;
	const char *data_location;
	const char *role_arn;
	const char *import_mode;
	const struct config_tag *tags;
	size_t n_tags;
};

/* CreateSolutionVersion. Required: solution_arn. name and training_mode
 * ("FULL", "UPDATE") are sent when not NULL; tags as above. */
struct personalize_create_solution_version {
	const char *solution_arn;
	const char *name;
	const char *training_mode;
	const struct config_tag *tags;
	size_t n_tags;
};

/* UpdateCampaign. Required: campaign_arn. solution_version_arn is sent
 * when not NULL, minProvisionedTPS when min_provisioned_tps > 0. */
struct personalize_update_campaign {
	const char *campaign_arn;
	const char *solution_version_arn;
	int min_provisioned_tps;
};

/* CreateBatchInferenceJob (segment false) or CreateBatchSegmentJob (true).
 * Required: job_name, solution_version_arn, input_path, output_path,
 * role_arn; num_results 0 and filter_arn NULL are not sent. */
struct personalize_create_batch_job {
	bool segment;
	const char *job_name;
	const char *solution_version_arn;
	const char *input_path;
	const char *output_path;
	const char *role_arn;
	unsigned num_results;
	const char *filter_arn;
	const struct config_tag *tags;
	size_t n_tags;
};

/* Every function: starts the call and returns 0 (the callback will run
 * later from the event loop, never before the function returns), or
 * returns -EINVAL (a required member missing or empty, a bad argument) or
 * -ENOMEM without calling back. *ret (may be NULL) receives a handle for
 * personalize_op_cancel(), valid until the callback returns. */
int personalize_create_dataset_import_job(
	struct aws_client *c, const struct personalize_create_dataset_import_job *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret);
int personalize_describe_dataset_import_job(
	struct aws_client *c, const char *dataset_import_job_arn,
	personalize_dataset_import_job_fn done, void *userdata,
	struct personalize_op **ret);
/* dataset_arn may be NULL (all jobs of the account and region). */
int personalize_list_dataset_import_jobs(
	struct aws_client *c, const char *dataset_arn,
	personalize_dataset_import_jobs_fn done, void *userdata,
	struct personalize_op **ret);

int personalize_create_solution_version(
	struct aws_client *c, const struct personalize_create_solution_version *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret);
int personalize_describe_solution_version(
	struct aws_client *c, const char *solution_version_arn,
	personalize_solution_version_fn done, void *userdata,
	struct personalize_op **ret);
/* solution_arn may be NULL. */
int personalize_list_solution_versions(
	struct aws_client *c, const char *solution_arn,
	personalize_solution_versions_fn done, void *userdata,
	struct personalize_op **ret);
int personalize_get_solution_metrics(
	struct aws_client *c, const char *solution_version_arn,
	personalize_solution_metrics_fn done, void *userdata,
	struct personalize_op **ret);

int personalize_update_campaign(
	struct aws_client *c, const struct personalize_update_campaign *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret);
int personalize_describe_campaign(
	struct aws_client *c, const char *campaign_arn,
	personalize_campaign_fn done, void *userdata,
	struct personalize_op **ret);
/* solution_arn may be NULL. */
int personalize_list_campaigns(
	struct aws_client *c, const char *solution_arn,
	personalize_campaigns_fn done, void *userdata,
	struct personalize_op **ret);

int personalize_create_batch_job(
	struct aws_client *c, const struct personalize_create_batch_job *req,
	personalize_arn_fn done, void *userdata, struct personalize_op **ret);
/* DescribeBatchInferenceJob / DescribeBatchSegmentJob */
int personalize_describe_batch_job(
	struct aws_client *c, bool segment, const char *arn,
	personalize_batch_job_fn done, void *userdata,
	struct personalize_op **ret);
/* ListBatchInferenceJobs / ListBatchSegmentJobs; solution_version_arn
 * may be NULL. */
int personalize_list_batch_jobs(
	struct aws_client *c, bool segment, const char *solution_version_arn,
	personalize_batch_jobs_fn done, void *userdata,
	struct personalize_op **ret);

int personalize_describe_dataset(
	struct aws_client *c, const char *dataset_arn,
	personalize_dataset_fn done, void *userdata,
	struct personalize_op **ret);
int personalize_describe_solution(
	struct aws_client *c, const char *solution_arn,
	personalize_solution_fn done, void *userdata,
	struct personalize_op **ret);
int personalize_describe_dataset_group(
	struct aws_client *c, const char *dataset_group_arn,
	personalize_dataset_group_fn done, void *userdata,
	struct personalize_op **ret);

/* Abort an op in flight (no callback). NULL is fine. */
void personalize_op_cancel(struct personalize_op *op);

/* ---- reply parsers (also used by the tests and the fuzz harness) --------------
 * Each parses the JSON object of one reply into *out (pointers into
 * reply). Returns 0, or -EBADMSG with *why set to the name of the member
 * that is missing or of the wrong type (a static string). */
int personalize_parse_dataset_import_job(const cJSON *reply,
	struct personalize_dataset_import_job *out, const char **why);
int personalize_parse_solution_version(const cJSON *reply,
	struct personalize_solution_version *out, const char **why);
int personalize_parse_campaign(const cJSON *reply,
	struct personalize_campaign *out, const char **why);
int personalize_parse_batch_job(const cJSON *reply, bool segment,
	struct personalize_batch_job *out, const char **why);
int personalize_parse_dataset(const cJSON *reply,
	struct personalize_dataset *out, const char **why);
int personalize_parse_solution(const cJSON *reply,
	struct personalize_solution *out, const char **why);
int personalize_parse_dataset_group(const cJSON *reply,
	struct personalize_dataset_group *out, const char **why);
/* *metrics is malloc'd (free() it; NULL when there are none). */
int personalize_parse_solution_metrics(const cJSON *reply,
	struct personalize_solution_metrics *out,
	struct personalize_metric **metrics, const char **why);
/* The ARN member of a Create... or UpdateCampaign reply ("datasetImportJobArn",
 * "solutionVersionArn", "campaignArn"). */
int personalize_parse_arn(const cJSON *reply, const char *member,
			  const char **arn, const char **why);

#endif
