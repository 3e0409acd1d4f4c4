/* config_keys.c - the one table of configuration keys; see include/config.h.
 *
 * --help, the man page test and every error message read this table: a key
 * added here is known everywhere. */
#include "config-internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECONDS_PER_DAY 86400UL
#define MAX_RUN_DURATION_MAX (31 * SECONDS_PER_DAY)
#define MAX_API_CALLS_MAX 1000UL
/* Longest key name we compute a suggestion for (longer input: none). */
#define SUGGEST_MAX_LEN 64
/* Shortest name matched against a key's start ("Poll" -> PollInterval). */
#define PREFIX_MIN_LEN 4

static const char *const training_modes[] = { "FULL", "UPDATE", NULL };
static const char *const import_modes[] = { "FULL", "INCREMENTAL", NULL };

const struct config_key_info config_keys[CONFIG_KEY_COUNT] = {
	[CONFIG_KEY_PIPELINE_NAME] = {
		.name = "PipelineName", .type = CONFIG_TYPE_NAME,
		.def_doc = "the name in SolutionArn",
		.min = 1, .max = 63, .type_doc = "name",
		.description = "Identity of the pipeline in logs, state and job "
			"names; must be equal on every host that runs this "
			"pipeline.",
	},
	[CONFIG_KEY_IMPORT_ROLE_ARN] = {
		.name = "ImportRoleArn", .type = CONFIG_TYPE_ROLE_ARN,
		.required = true, .resource = "role", .type_doc = "IAM role ARN",
		.description = "IAM role Personalize assumes to read the S3 data.",
	},
	[CONFIG_KEY_SOLUTION_ARN] = {
		.name = "SolutionArn", .type = CONFIG_TYPE_ARN,
		.required = true, .resource = "solution",
		.type_doc = "solution ARN",
		.description = "Solution to train a new version of.",
	},
	[CONFIG_KEY_USER_DATASET_ARN] = {
		.name = "UserDatasetArn", .type = CONFIG_TYPE_ARN,
		.resource = "dataset", .type_doc = "dataset ARN",
		.description = "Users dataset to re-import (together with "
			"S3UserDatasourcePath).",
	},
	[CONFIG_KEY_S3_USER_PATH] = {
		.name = "S3UserDatasourcePath", .type = CONFIG_TYPE_S3_PATH,
		.type_doc = "s3://bucket/key",
		.description = "CSV the users dataset is re-imported from.",
	},
	[CONFIG_KEY_ITEM_DATASET_ARN] = {
		.name = "ItemDatasetArn", .type = CONFIG_TYPE_ARN,
		.resource = "dataset", .type_doc = "dataset ARN",
		.description = "Items dataset to re-import (together with "
			"S3ItemDatasourcePath).",
	},
	[CONFIG_KEY_S3_ITEM_PATH] = {
		.name = "S3ItemDatasourcePath", .type = CONFIG_TYPE_S3_PATH,
		.type_doc = "s3://bucket/key",
		.description = "CSV the items dataset is re-imported from.",
	},
	[CONFIG_KEY_INTERACTION_DATASET_ARN] = {
		.name = "UserInteractionDatasetArn", .type = CONFIG_TYPE_ARN,
		.resource = "dataset", .type_doc = "dataset ARN",
		.description = "Interactions dataset to re-import (together "
			"with S3UserInteractionDatasourcePath).",
	},
	[CONFIG_KEY_S3_INTERACTION_PATH] = {
		.name = "S3UserInteractionDatasourcePath",
		.type = CONFIG_TYPE_S3_PATH, .type_doc = "s3://bucket/key",
		.description = "CSV the interactions dataset is re-imported "
			"from.",
	},
	[CONFIG_KEY_CAMPAIGN_ARN] = {
		.name = "CampaignArn", .type = CONFIG_TYPE_ARN,
		.resource = "campaign", .type_doc = "campaign ARN",
		.def_doc = "unset (train only)",
		.description = "Campaign updated with the new solution version; "
			"unset: train only, deploy nothing.",
	},
	[CONFIG_KEY_RETRAINING_RATE] = {
		.name = "RetrainingRate", .type = CONFIG_TYPE_SCHEDULE,
		.def = "rate(7 days)", .type_doc = "schedule",
		.description = "EventBridge schedule expression: rate(N unit) "
			"or cron(minutes hours day-of-month month day-of-week "
			"year).",
	},
	[CONFIG_KEY_SCHEDULE_TIMEZONE] = {
		.name = "ScheduleTimezone", .type = CONFIG_TYPE_TIMEZONE,
		.def_doc = "UTC", .type_doc = "IANA zone",
		.description = "Time zone whose wall-clock time a cron() "
			"schedule is read in, e.g. Europe/Berlin.",
	},
	[CONFIG_KEY_POLL_INTERVAL] = {
		.name = "PollInterval", .type = CONFIG_TYPE_SECONDS,
		.def = "600", .min = 1, .max = SECONDS_PER_DAY,
		.type_doc = "seconds",
		.description = "Cap of the backoff between status checks of a "
			"running job: the first wait is 5 s, each next one "
			"twice as long, up to this.",
	},
	[CONFIG_KEY_REGION] = {
		.name = "Region", .type = CONFIG_TYPE_REGION,
		.def_doc = "the region in the ARNs", .type_doc = "region",
		.description = "AWS region to call; must be the ARNs' region.",
	},
	[CONFIG_KEY_TRAINING_MODE] = {
		.name = "TrainingMode", .type = CONFIG_TYPE_ENUM,
		.def = "FULL", .choices = training_modes,
		.type_doc = "FULL|UPDATE",
		.description = "Training mode of each new solution version.",
	},
	[CONFIG_KEY_IMPORT_MODE] = {
		.name = "ImportMode", .type = CONFIG_TYPE_ENUM,
		.def = "FULL", .choices = import_modes,
		.type_doc = "FULL|INCREMENTAL",
		.description = "Whether an import replaces (FULL) or appends "
			"to (INCREMENTAL) the dataset's bulk data.",
	},
	[CONFIG_KEY_ENDPOINT_URL] = {
		.name = "EndpointUrl", .type = CONFIG_TYPE_URL,
		.def_doc = "the regional AWS endpoint", .type_doc = "URL",
		.description = "Personalize endpoint to call instead of AWS's, "
			"e.g. http://127.0.0.1:8080 for an emulator.",
	},
	[CONFIG_KEY_CATCH_UP] = {
		.name = "CatchUp", .type = CONFIG_TYPE_BOOL,
		.def = "yes", .type_doc = "yes|no",
		.description = "Run once at start when a fire time was missed "
			"while the daemon was not running.",
	},
	[CONFIG_KEY_MAX_RUN_DURATION] = {
		.name = "MaxRunDuration", .type = CONFIG_TYPE_SECONDS,
		.def = "0", .def_doc = "0 (7 days)",
		.min = 0, .max = MAX_RUN_DURATION_MAX, .type_doc = "seconds",
		.description = "Give up a run that takes longer than this; "
			"0: 7 days (604800).",
	},
	[CONFIG_KEY_MAX_API_CALLS_PER_SECOND] = {
		.name = "MaxApiCallsPerSecond", .type = CONFIG_TYPE_UINT,
		.scope = CONFIG_SCOPE_GLOBAL, .def = "5",
		.min = 1, .max = MAX_API_CALLS_MAX, .type_doc = "integer",
		.description = "Most Personalize API calls per second, over all "
			"pipelines of the process.",
	},
	[CONFIG_KEY_QUALITY_METRIC] = {
		.name = "QualityMetric", .type = CONFIG_TYPE_METRIC,
		.def_doc = "unset (no quality gate)", .type_doc = "metric name",
		.description = "Deploy a new version only when this metric of "
			"GetSolutionMetrics (e.g. normalized_discounted_"
			"cumulative_gain_at_10) is not worse than the served "
			"version's.",
	},
	[CONFIG_KEY_MAX_REGRESSION] = {
		.name = "MaxRegression", .type = CONFIG_TYPE_RATIO,
		.def = "0", .type_doc = "percent or fraction",
		.description = "Relative drop of QualityMetric allowed against "
			"the version the campaign serves, e.g. 2% or 0.02.",
	},
	[CONFIG_KEY_MIN_QUALITY] = {
		.name = "MinQuality", .type = CONFIG_TYPE_NUMBER,
		.def_doc = "unset (no floor)", .type_doc = "number",
		.description = "Absolute floor for the new version's "
			"QualityMetric; lower is never deployed.",
	},
	[CONFIG_KEY_SKIP_UNCHANGED_DATA] = {
		.name = "SkipUnchangedData", .type = CONFIG_TYPE_BOOL,
		.def = "no", .type_doc = "yes|no",
		.description = "HeadObject each S3 source first; re-import only "
			"the changed ones, and skip the run when none changed.",
	},
	[CONFIG_KEY_ON_RUN_END] = {
		.name = "OnRunEnd", .type = CONFIG_TYPE_COMMAND,
		.def_doc = "unset (no hook)", .type_doc = "command line",
		.description = "Program started after every run and rollback "
			"with PIPELINE, OUTCOME, STAGE, SOLUTION_VERSION_ARN, "
			"CAMPAIGN_ARN, DURATION_S, REASON, RUN_KIND and "
			"BATCH_OUTPUT in its environment; no shell.",
	},
	[CONFIG_KEY_ON_RUN_END_TIMEOUT] = {
		.name = "OnRunEndTimeout", .type = CONFIG_TYPE_SECONDS,
		.def = "60", .min = 1, .max = 3600, .type_doc = "seconds",
		.description = "An OnRunEnd program still running after this "
			"long is killed.",
	},
	[CONFIG_KEY_METRICS_FILE] = {
		.name = "MetricsFile", .type = CONFIG_TYPE_PATH,
		.scope = CONFIG_SCOPE_GLOBAL,
		.def_doc = "unset (no file)", .type_doc = "absolute path",
		.description = "Prometheus text file (*.prom, for node_exporter's "
			"textfile collector) rewritten after every run and "
			"stage change.",
	},
	[CONFIG_KEY_S3_ENDPOINT_URL] = {
		.name = "S3EndpointUrl", .type = CONFIG_TYPE_URL,
		.def_doc = "S3's regional endpoint", .type_doc = "URL",
		.description = "S3 endpoint for SkipUnchangedData's HeadObject "
			"instead of AWS's, e.g. an emulator's URL.",
	},
	[CONFIG_KEY_EVENT_BUS_NAME] = {
		.name = "EventBusName", .type = CONFIG_TYPE_EVENT_BUS,
		.def_doc = "unset (no events)", .type_doc = "bus name or ARN",
		.description = "EventBridge bus that gets an event at every "
			"run's start, stage change and end (PutEvents), e.g. "
			"default.",
	},
	[CONFIG_KEY_TAGS] = {
		.name = "Tags", .type = CONFIG_TYPE_TAGS,
		.def_doc = "unset (no tags)", .type_doc = "Key=Value,...",
		.description = "Tags put on every import job and solution "
			"version created, e.g. team=recs,env=prod (YAML: a "
			"mapping); a pipeline's add to the top level's.",
	},
	[CONFIG_KEY_BATCH_INFERENCE_INPUT] = {
		.name = "BatchInferenceInput", .type = CONFIG_TYPE_S3_PATH,
		.def_doc = "unset (no batch inference job)",
		.type_doc = "s3://bucket/key",
		.description = "JSON lines file of users (or items) that a "
			"batch inference job writes recommendations for after "
			"every trained version that passes the quality gate "
			"(together with BatchInferenceOutput).",
	},
	[CONFIG_KEY_BATCH_INFERENCE_OUTPUT] = {
		.name = "BatchInferenceOutput", .type = CONFIG_TYPE_S3_PATH,
		.def_doc = "unset", .type_doc = "s3://bucket/prefix/",
		.description = "S3 folder (ending in /) the batch inference "
			"job writes its recommendations to.",
	},
	[CONFIG_KEY_BATCH_INFERENCE_ROLE_ARN] = {
		.name = "BatchInferenceRoleArn", .type = CONFIG_TYPE_ROLE_ARN,
		.resource = "role", .def_doc = "ImportRoleArn",
		.type_doc = "IAM role ARN",
		.description = "IAM role Personalize assumes to read "
			"BatchInferenceInput and write BatchInferenceOutput.",
	},
	[CONFIG_KEY_BATCH_SEGMENT_INPUT] = {
		.name = "BatchSegmentInput", .type = CONFIG_TYPE_S3_PATH,
		.def_doc = "unset (no batch segment job)",
		.type_doc = "s3://bucket/key",
		.description = "JSON lines file of items (or attributes) that "
			"a batch segment job finds users for after every "
			"trained version that passes the quality gate; the "
			"solution's recipe must be a segmentation recipe "
			"(together with BatchSegmentOutput).",
	},
	[CONFIG_KEY_BATCH_SEGMENT_OUTPUT] = {
		.name = "BatchSegmentOutput", .type = CONFIG_TYPE_S3_PATH,
		.def_doc = "unset", .type_doc = "s3://bucket/prefix/",
		.description = "S3 folder (ending in /) the batch segment job "
			"writes its segments to.",
	},
	[CONFIG_KEY_BATCH_SEGMENT_ROLE_ARN] = {
		.name = "BatchSegmentRoleArn", .type = CONFIG_TYPE_ROLE_ARN,
		.resource = "role", .def_doc = "ImportRoleArn",
		.type_doc = "IAM role ARN",
		.description = "IAM role Personalize assumes to read "
			"BatchSegmentInput and write BatchSegmentOutput.",
	},
	[CONFIG_KEY_NUM_RESULTS] = {
		.name = "NumResults", .type = CONFIG_TYPE_UINT,
		.def_doc = "unset (the service's default: 25 items, 100 users)",
		.min = 1, .max = CONFIG_NUM_RESULTS_MAX, .type_doc = "integer",
		.description = "Items per user (batch inference) or users per "
			"segment (batch segment) the batch job writes.",
	},
	[CONFIG_KEY_FILTER_ARN] = {
		.name = "FilterArn", .type = CONFIG_TYPE_ARN,
		.resource = "filter", .type_doc = "filter ARN",
		.def_doc = "unset (no filter)",
		.description = "Personalize filter the batch job applies to "
			"its results.",
	},
};

int config_key_lookup_n(const char *name, size_t len)
{
	int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++)
		if (strlen(config_keys[k].name) == len &&
		    memcmp(config_keys[k].name, name, len) == 0)
			return k;
	return -1;
}

/* Levenshtein distance of a and b, ignoring case (both short). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[SUGGEST_MAX_LEN + 1];

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

int config_key_nearest(const char *name, bool *close)
{
	size_t len = strlen(name), best = SIZE_MAX, limit;
	int k, found = -1;

	*close = false;
	if (len == 0 || len > SUGGEST_MAX_LEN)
		return -1;
	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		size_t d = edit_distance(name, config_keys[k].name);

		if (d < best) {
			best = d;
			found = k;
		}
	}
	/* A plausible typo: a few edits, more for longer names. */
	limit = len / 3 > 2 ? len / 3 : 2;
	*close = best <= limit;
	if (*close || len < PREFIX_MIN_LEN)
		return found;
	/* or a key cut short or extended: Poll, PollIntervalSeconds */
	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		size_t kl = strlen(config_keys[k].name);

		if (strncasecmp(name, config_keys[k].name,
				len < kl ? len : kl) == 0) {
			*close = true;
			return k;
		}
	}
	return found;
}

static const char *const dataset_arn_types[CONFIG_DATASET_COUNT] = {
	"USERS", "ITEMS", "INTERACTIONS",
};
static const char *const dataset_type_names[CONFIG_DATASET_COUNT] = {
	"Users", "Items", "Interactions",
};

const char *config_dataset_arn_type(enum config_dataset_type t)
{
	return (unsigned)t < CONFIG_DATASET_COUNT ? dataset_arn_types[t] : "?";
}

const char *config_dataset_type_name(enum config_dataset_type t)
{
	return (unsigned)t < CONFIG_DATASET_COUNT ? dataset_type_names[t] : "?";
}

const char *config_training_mode_name(enum config_training_mode m)
{
	return m == CONFIG_TRAINING_UPDATE ? "UPDATE" : "FULL";
}

const char *config_import_mode_name(enum config_import_mode m)
{
	return m == CONFIG_IMPORT_INCREMENTAL ? "INCREMENTAL" : "FULL";
}
