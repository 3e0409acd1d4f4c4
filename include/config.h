/* config.h - the configuration of personalize-retrain.
 *
 * Two formats, chosen by the file name's extension:
 *  - parameters.cfg (anything but .yaml/.yml): the AWS sample's Key=Value
 *    lines, one pipeline per file; CRLF, a UTF-8 BOM, blank lines and
 *    '#' comment lines are tolerated; an empty value means "not set".
 *  - YAML (.yaml/.yml): the same keys in a mapping; optionally a top-level
 *    `pipelines:` sequence of mappings, one per pipeline, in which case the
 *    top-level pipeline keys are defaults for every entry.
 *
 * One table (config_keys[]) holds every key's name, type, default, bounds
 * and description; --help, the man page and the error messages come from it.
 *
 * Loading never writes any file. Every problem found is reported as
 * "file:line: what is wrong, and what would be right", all at once. */
#ifndef PR_CONFIG_H
#define PR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* struct gate_config (metric.h). gate.h rather than metric.h because
 * runner.c calls gate_enabled() without including gate.h itself. */
#include "metric.h"
#include "schedule.h" /* struct sched */

/* Where the config is read from when neither -c nor $PARAMS_FILE say. */
#define CONFIG_DEFAULT_PATH "/etc/personalize-retrain/parameters.cfg"
/* The environment variable of the AWS sample naming the config file. */
#define CONFIG_ENV_PATH "PARAMS_FILE"

/* Every key, in the order of the table (and of the man page). */
enum config_key {
	CONFIG_KEY_PIPELINE_NAME,
	CONFIG_KEY_IMPORT_ROLE_ARN,
	CONFIG_KEY_SOLUTION_ARN,
	CONFIG_KEY_USER_DATASET_ARN,
	CONFIG_KEY_S3_USER_PATH,
	CONFIG_KEY_ITEM_DATASET_ARN,
	CONFIG_KEY_S3_ITEM_PATH,
	CONFIG_KEY_INTERACTION_DATASET_ARN,
	CONFIG_KEY_S3_INTERACTION_PATH,
	CONFIG_KEY_CAMPAIGN_ARN,
	CONFIG_KEY_RETRAINING_RATE,
	CONFIG_KEY_SCHEDULE_TIMEZONE,
	CONFIG_KEY_POLL_INTERVAL,
	CONFIG_KEY_REGION,
	CONFIG_KEY_TRAINING_MODE,
	CONFIG_KEY_IMPORT_MODE,
	CONFIG_KEY_ENDPOINT_URL,
	CONFIG_KEY_CATCH_UP,
	CONFIG_KEY_MAX_RUN_DURATION,
	CONFIG_KEY_MAX_API_CALLS_PER_SECOND,
	CONFIG_KEY_QUALITY_METRIC,
	CONFIG_KEY_MAX_REGRESSION,
	CONFIG_KEY_MIN_QUALITY,
	CONFIG_KEY_SKIP_UNCHANGED_DATA,
	CONFIG_KEY_S3_ENDPOINT_URL,
	CONFIG_KEY_ON_RUN_END,
	CONFIG_KEY_ON_RUN_END_TIMEOUT,
	CONFIG_KEY_METRICS_FILE,
	CONFIG_KEY_EVENT_BUS_NAME,
	CONFIG_KEY_TAGS,
	CONFIG_KEY_BATCH_INFERENCE_INPUT,
	CONFIG_KEY_BATCH_INFERENCE_OUTPUT,
	CONFIG_KEY_BATCH_INFERENCE_ROLE_ARN,
	CONFIG_KEY_BATCH_SEGMENT_INPUT,
	CONFIG_KEY_BATCH_SEGMENT_OUTPUT,
	CONFIG_KEY_BATCH_SEGMENT_ROLE_ARN,
	CONFIG_KEY_NUM_RESULTS,
	CONFIG_KEY_FILTER_ARN,
	CONFIG_KEY_COUNT
};

enum config_type {
	CONFIG_TYPE_NAME,        /* Personalize name: [a-zA-Z0-9][a-zA-Z0-9_-]* */
	CONFIG_TYPE_ROLE_ARN,    /* arn:PARTITION:iam::ACCOUNT:role/NAME */
	CONFIG_TYPE_ARN,         /* Personalize ARN of resource type `resource` */
	CONFIG_TYPE_S3_PATH,     /* s3://bucket/key */
	CONFIG_TYPE_SCHEDULE,    /* rate(...) or cron(...) */
	CONFIG_TYPE_TIMEZONE,    /* IANA zone name */
	CONFIG_TYPE_SECONDS,     /* unsigned, optional suffix s|m|h|d */
	CONFIG_TYPE_UINT,        /* unsigned integer */
	CONFIG_TYPE_REGION,      /* AWS region name */
	CONFIG_TYPE_ENUM,        /* one of `choices` (exact, upper case) */
	CONFIG_TYPE_URL,         /* http:// or https:// URL */
	CONFIG_TYPE_BOOL,        /* yes|no (also true|false) */
	CONFIG_TYPE_METRIC,      /* GetSolutionMetrics name (gate_parse_metric) */
	CONFIG_TYPE_RATIO,       /* "2%" or "0.02" (gate_parse_max_regression) */
	CONFIG_TYPE_NUMBER,      /* number >= 0 or "25%" (gate_parse_min_quality) */
	CONFIG_TYPE_COMMAND,     /* command line, split without a shell (hook.h) */
	CONFIG_TYPE_PATH,        /* absolute path (metrics_check_path) */
	CONFIG_TYPE_EVENT_BUS,   /* EventBridge bus name or event-bus ARN */
	CONFIG_TYPE_TAGS,        /* Key=Value,Key2=Value2; YAML: a mapping */
};

enum config_scope {
	CONFIG_SCOPE_PIPELINE,   /* one value per pipeline */
	CONFIG_SCOPE_GLOBAL,     /* one value for the whole process */
};

struct config_key_info {
	const char *name;        /* as written in the file: "SolutionArn" */
	enum config_type type;
	enum config_scope scope;
	bool required;
	const char *def;         /* default as text, NULL: none (unset) */
	const char *def_doc;     /* the default explained when not a literal */
	unsigned long min, max;  /* bounds of SECONDS/UINT keys */
	const char *resource;    /* ARN: "dataset", "solution", "campaign" */
	const char *const *choices; /* ENUM: NULL-terminated */
	const char *type_doc;    /* short type for --help and the man page */
	const char *description; /* one line */
};

extern const struct config_key_info config_keys[CONFIG_KEY_COUNT];

/* The known key nearest to name whatever the distance (-1 only for an
 * empty or very long name); *close says whether it is a plausible typo. */
int config_key_nearest(const char *name, bool *close);

enum config_dataset_type {
	CONFIG_DATASET_USERS,
	CONFIG_DATASET_ITEMS,
	CONFIG_DATASET_INTERACTIONS,
	CONFIG_DATASET_COUNT
};
/* "USERS", "ITEMS", "INTERACTIONS": the last element of the dataset ARN. */
const char *config_dataset_arn_type(enum config_dataset_type t);
/* Personalize's datasetType strings: "Users", "Items", "Interactions". */
const char *config_dataset_type_name(enum config_dataset_type t);

enum config_training_mode { CONFIG_TRAINING_FULL, CONFIG_TRAINING_UPDATE };
/* The batch job a pipeline writes after training, if any: recommendations
 * (CreateBatchInferenceJob) or user segments (CreateBatchSegmentJob, for
 * a segmentation recipe); one or the other, since a solution has one
 * recipe. */
enum config_batch_kind {
	CONFIG_BATCH_NONE,
	CONFIG_BATCH_INFERENCE,
	CONFIG_BATCH_SEGMENT,
};
enum config_import_mode { CONFIG_IMPORT_FULL, CONFIG_IMPORT_INCREMENTAL };
/* The API strings: "FULL"/"UPDATE" and "FULL"/"INCREMENTAL". */
const char *config_training_mode_name(enum config_training_mode m);
const char *config_import_mode_name(enum config_import_mode m);

struct config_dataset {
	bool set;                /* both ARN and S3 path given */
	char *arn;               /* NULL when not set */
	char *s3_path;           /* NULL when not set */
};

/* One resource tag (Personalize's Tag shape: tagKey, tagValue). */
struct config_tag {
	char *key;
	char *value;             /* "" when empty, never NULL */
};

/* NumResults at most: the most recommendations Personalize returns for
 * one user (GetRecommendations' numResults, the same bound for a batch
 * job's; the service model's NumBatchResults has none of its own). */
/* NumResults: items per user of a batch inference job (at most 500), users
 * per segment of a batch segment job (at most 5 million). */
#define CONFIG_NUM_RESULTS_MAX 5000000
#define CONFIG_NUM_RESULTS_INFERENCE_MAX 500
/* An S3 path as Personalize takes it (the model's S3Location: max 256). */
#define CONFIG_S3_PATH_MAX 256

/* Personalize's tag limits (config_tags.c cites where they come from). */
#define CONFIG_TAGS_MAX 50
#define CONFIG_TAG_KEY_MAX 128
#define CONFIG_TAG_VALUE_MAX 256

struct pipeline {
	char *name;              /* PipelineName; default: the solution's name */
	char *import_role_arn;
	char *solution_arn;
	char *campaign_arn;      /* NULL: train only, no deployment */
	struct config_dataset datasets[CONFIG_DATASET_COUNT];
	size_t n_datasets;       /* how many are set (>= 1) */
	char *schedule_expr;     /* RetrainingRate as written */
	char *timezone;          /* ScheduleTimezone; NULL: UTC */
	struct sched *schedule;  /* parsed with timezone */
	unsigned poll_interval;  /* seconds, 1..86400 */
	unsigned max_run_duration; /* seconds, 0: 7 days (runner.c) */
	enum config_training_mode training_mode;
	enum config_import_mode import_mode;
	bool catch_up;
	char *endpoint_url;      /* NULL: the regional AWS endpoint */
	char *region;            /* Region, or the ARNs' region */
	char *account;           /* the ARNs' 12-digit account */
	char *partition;         /* the ARNs' partition: "aws", "aws-cn", ... */
	/* QualityMetric, MaxRegression, MinQuality; gate.metric points to
	 * quality_metric (NULL: no gate) */
	char *quality_metric;
	struct gate_config gate;
	bool skip_unchanged;     /* SkipUnchangedData */
	char *s3_endpoint_url;   /* S3EndpointUrl; NULL: S3's own endpoint */
	char *on_run_end;        /* OnRunEnd; NULL: no hook */
	unsigned on_run_end_timeout; /* OnRunEndTimeout, seconds */
	char *event_bus_name;    /* EventBusName, name or ARN; NULL: no events */
	/* Tags: the top level's merged with the pipeline's own (its own win
	 * on the same key); put on every import job and solution version */
	struct config_tag *tags;
	size_t n_tags;
	/* BatchInference* or BatchSegment*: the batch job after training */
	enum config_batch_kind batch_kind;
	char *batch_input;       /* s3://bucket/key of the JSON lines input */
	char *batch_output;      /* s3://bucket/prefix/ (ends in '/') */
	char *batch_role_arn;    /* the kind's role key, else ImportRoleArn */
	unsigned batch_num_results; /* NumResults; 0: the service's default */
	char *batch_filter_arn;  /* FilterArn; NULL: none */
	unsigned line;           /* where the pipeline starts (1 for .cfg) */
	unsigned key_line[CONFIG_KEY_COUNT]; /* where each key was set; 0: default */
};

struct config_globals {
	unsigned max_api_calls_per_second;
	char *metrics_file;      /* MetricsFile; NULL: none */
	unsigned key_line[CONFIG_KEY_COUNT]; /* only global keys are filled */
};

enum config_format { CONFIG_FORMAT_CFG, CONFIG_FORMAT_YAML };

struct config {
	char *source;            /* the path (or buffer name) it came from */
	enum config_format format;
	struct pipeline *pipelines;
	size_t n;                /* >= 1 */
	struct config_globals globals;
};

/* One problem: file:line: message (line 0: the file as a whole). */
struct config_error {
	char *file;
	unsigned line;
	char *message;
};

/* At most this many errors are kept; the rest are only counted. */
#define CONFIG_MAX_ERRORS 200
/* At most this many pipelines in one file. */
#define CONFIG_MAX_PIPELINES 1000

struct config_errors {
	struct config_error *v;
	size_t n;
	size_t dropped;          /* errors beyond CONFIG_MAX_ERRORS */
	bool oom;                /* an error could not be recorded */
};
#define CONFIG_ERRORS_INIT { NULL, 0, 0, false }

/* The format a path implies: YAML for .yaml/.yml, else Key=Value. */
enum config_format config_format_for_path(const char *path);

/* Read and validate the config at path. On success 0 and *out is a new
 * config (free with config_free). On failure *out is untouched, nothing is
 * left allocated but the messages appended to errs (which may be NULL), and:
 * -EINVAL the config is invalid; -ENOENT/-EACCES/... it could not be read
 * (errs says why); -ENOMEM out of memory. Never writes any file. */
int config_load(const char *path, struct config **out,
		struct config_errors *errs);

/* The same for a config in memory: name is used in messages and as
 * source, fmt says how to parse buf (len bytes, NUL not needed). */
int config_load_buffer(const char *name, enum config_format fmt,
		       const char *buf, size_t len, struct config **out,
		       struct config_errors *errs);

/* Free a config and all it holds; NULL is fine. */
void config_free(struct config *cfg);

/* The pipeline called name, or NULL. */
const struct pipeline *config_find_pipeline(const struct config *cfg,
					    const char *name);

/* Print each error as "file:line: message\n" (sorted by line). */
void config_errors_print(const struct config_errors *errs, FILE *f);
/* Free the messages and reset to empty; NULL is fine. */
void config_errors_free(struct config_errors *errs);

#endif
