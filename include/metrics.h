/* metrics.h - a Prometheus text-format file (MetricsFile=) for
 * node_exporter's textfile collector.
 *
 * The driver keeps one registry, updates it as runs progress, and calls
 * metrics_write() after every run and stage change. The file is replaced
 * atomically (temp file ".<name>.XXXXXX" in the same directory, fsync,
 * rename, fsync of the directory), so the collector never reads half a
 * file; the temp name does not end in ".prom", so the collector ignores it.
 *
 * Families (all prefixed personalize_retrain_):
 *   last_run_start_timestamp_seconds{pipeline}          gauge
 *   last_run_end_timestamp_seconds{pipeline}            gauge
 *   last_run_duration_seconds{pipeline}                 gauge
 *   last_run_outcome{pipeline,outcome}                  gauge, 1 for the
 *       last run's outcome, 0 for every other outcome seen
 *   runs_total{pipeline,outcome}                        counter
 *   last_run_stage_duration_seconds{pipeline,stage}     gauge
 *   stage{pipeline,stage}                               gauge, 1 for the
 *       current stage, 0 for the others
 *   last_version_training_hours{pipeline}               gauge
 *       (trainingHours of the last solution version: what AWS bills)
 *   last_batch_output_timestamp_seconds{pipeline}       gauge
 *       (when the last batch job ended ACTIVE)
 *   last_batch_output_info{pipeline,output}             gauge, 1: where
 *       that job wrote (one series per pipeline)
 *   api_calls_total{operation}                          counter
 *   api_attempts_total{operation}                       counter
 *   api_errors_total{operation,code}                    counter
 *   api_call_duration_seconds_total{operation}          counter
 *   metrics_series_dropped_total                        counter
 * A pipeline's series appear once it is registered; timestamp/duration
 * gauges once set.
 *
 * Cardinality is bounded: pipelines (METRICS_MAX_PIPELINES), stage and
 * outcome names (METRICS_MAX_LABELS each, a fixed vocabulary the driver
 * chooses), operations (METRICS_MAX_OPERATIONS) and error codes per
 * operation (METRICS_MAX_CODES). API series have no pipeline label (one
 * client may serve many pipelines; 1,000 pipelines x operations x codes
 * would explode). Beyond a bound, further operations and codes are
 * counted under "other"; a stage/outcome name beyond the bound, or a name
 * that is not [a-z0-9_]+, is refused with -E2BIG / -EINVAL and counted in
 * metrics_series_dropped_total.
 *
 * Not thread-safe: one event loop owns the registry. */
#ifndef PR_METRICS_H
#define PR_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws.h"
#include "metrics_config.h"
#include "strbuf.h"

#define METRICS_PREFIX          "personalize_retrain_"
#define METRICS_MAX_PIPELINES   4096
#define METRICS_MAX_LABELS      16   /* distinct stage names, outcome names */
#define METRICS_MAX_OPERATIONS  32
#define METRICS_MAX_CODES       24   /* distinct error codes per operation */
#define METRICS_LABEL_NAME_MAX  32   /* stage / outcome / operation / code */
#define METRICS_OTHER           "other"

struct metrics;
struct metrics_pipeline;

/* New empty registry. 0 and *out; -ENOMEM. */
int metrics_new(struct metrics **out);
/* Free the registry and every pipeline handle. NULL is fine; returns NULL. */
struct metrics *metrics_free(struct metrics *m);

/* The handle for pipeline name (created on first use; any bytes but NUL,
 * escaped in the output). The handle stays valid until
 * metrics_pipeline_remove() of that name or metrics_free(). 0 and *out;
 * -EINVAL (NULL/empty name); -E2BIG (METRICS_MAX_PIPELINES reached);
 * -ENOMEM. */
int metrics_pipeline(struct metrics *m, const char *name,
		     struct metrics_pipeline **out);
/* Forget a pipeline (config reload removed it). Unknown names are fine. */
void metrics_pipeline_remove(struct metrics *m, const char *name);

/* A run started at `start` (wall clock): start timestamp set, end and
 * stage durations of the previous run cleared. */
void metrics_run_started(struct metrics_pipeline *p, time_t start);
/* The pipeline is now in `stage` ("idle", "importing", "training",
 * "gating", "deploying", ...: lower case, digits, '_'). 0; -EINVAL (bad
 * name, NULL); -E2BIG (too many distinct stage names). */
int metrics_set_stage(struct metrics_pipeline *p, const char *stage);
/* How long the last run spent in stage, in seconds (>= 0). Same errors. */
int metrics_stage_duration(struct metrics_pipeline *p, const char *stage,
			   double seconds);
/* The run ended at `end` with outcome ("succeeded", "failed", "gated",
 * "unreachable", "skipped", ...): end timestamp and duration set,
 * runs_total{outcome} incremented, last_run_outcome switched. Same errors
 * as metrics_set_stage. */
int metrics_run_finished(struct metrics_pipeline *p, time_t end,
			 const char *outcome);
/* trainingHours of the last solution version (finite, >= 0). 0; -EINVAL. */
int metrics_training_hours(struct metrics_pipeline *p, double hours);
/* The run's batch job ended ACTIVE at `end`, writing to output (an S3
 * location, kept as a label value). 0; -EINVAL; -ENOMEM. */
int metrics_batch_output(struct metrics_pipeline *p, time_t end,
			 const char *output);

/* One finished AWS call (the aws_client metrics hook). code NULL means
 * success. */
void metrics_api_call(struct metrics *m, const struct aws_call_metrics *c);
/* Adapter with the aws_metrics_fn signature: install with
 *   aws_client_set_metrics_hook(client, metrics_aws_hook, registry). */
void metrics_aws_hook(const struct aws_call_metrics *c, void *registry);

/* Render the registry in the Prometheus text exposition format 0.0.4
 * (HELP and TYPE before each family's samples, families in a fixed order,
 * series sorted by labels, label values escaped: \\ \" \n, and invalid
 * UTF-8 replaced by U+FFFD). Appends to sb; 0, or the strbuf's error. */
int metrics_render(const struct metrics *m, struct strbuf *sb);

/* Render and replace path atomically (mode 0644). 0; -errno from the
 * file system (with nothing replaced), -EINVAL (NULL or empty path). The
 * error is returned, not logged: the caller logs it once. Blocks for a
 * small local write and two fsyncs, like state_save. */
int metrics_write(const struct metrics *m, const char *path);

/* The config check of MetricsFile: metrics_config.h. */

#endif
