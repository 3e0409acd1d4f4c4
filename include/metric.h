/* metric.h - plain data shared by the quality gate, the config, the run's
 * state machine and the Personalize client: a solution version's offline
 * metrics (GetSolutionMetrics, parsed by personalize.c, judged by gate.c)
 * and the gate's settings (QualityMetric, MaxRegression, MinQuality, parsed
 * by the config). No functions, no other header of ours: a pure module can
 * include it without reaching the HTTP client, sd-event or cJSON. */
#ifndef PR_METRIC_H
#define PR_METRIC_H

#include <stdbool.h>
#include <stddef.h>

struct personalize_metric {
	const char *name;   /* e.g. "coverage", "precision_at_25" */
	double value;
};

struct personalize_solution_metrics {
	const char *solution_version_arn;
	const struct personalize_metric *metrics;
	size_t n_metrics;
};

/* The quality gate's settings (gate.h says what they mean). */
struct gate_config {
	const char *metric;      /* QualityMetric; NULL or "": gate disabled */
	double max_regression;   /* fraction in [0, 1]; 0.02 for "2%" */
	bool has_min_quality;
	double min_quality;      /* MinQuality when has_min_quality */
};

#endif
