/* gate.h - the quality gate: deploy a new solution version only when it is
 * not worse than the one the campaign serves now. Pure: no I/O, no logging.
 *
 * Keys (parsed by the config module with the gate_parse_* functions):
 *   QualityMetric  a metric name as GetSolutionMetrics returns it
 *                  (normalized_discounted_cumulative_gain_at_10,
 *                  precision_at_5, mean_reciprocal_rank_at_25, coverage,
 *                  ...); unset: no gate.
 *   MaxRegression  relative drop allowed against the current version,
 *                  "2%" or "0.02"; 0 (the default) .. 100%.
 *   MinQuality     optional absolute floor for the new version's value.
 *
 * Direction: every offline metric Amazon Personalize reports (coverage,
 * precision_at_K, normalized_discounted_cumulative_gain_at_K,
 * mean_reciprocal_rank_at_K, and the newer recall/hit/reward metrics) is
 * higher-is-better (AWS: "For each metric, higher numbers are better than
 * lower numbers."), so the gate only ever guards against a DROP.
 *
 * Rule, with c the new version's value, p the current version's:
 *   - MinQuality set and c < MinQuality            -> reject
 *   - a current version is known and c < p * (1 - MaxRegression) -> reject
 *   - otherwise                                    -> pass
 * Comparisons allow a relative 1e-9 for decimal round-off, so a value equal
 * to the threshold passes.
 *
 * No current version (the campaign serves nothing yet, is being created, or
 * the pipeline has no campaign): only MinQuality applies; without
 * MinQuality the gate passes and says so in its reason. The current
 * version being the new one (a re-run that adopted it) compares equal and
 * passes.
 *
 * A metric absent from the new version's (or, when one is known, the
 * current version's) GetSolutionMetrics, or not a finite number, is
 * GATE_ERROR, never a pass: the driver must end the run as failed, nothing
 * deployed, with the reason. */
#ifndef PR_GATE_H
#define PR_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "metric.h"

/* Longest reason (fits in struct rt_run's reason, RT_REASON_MAX). */
#define GATE_REASON_MAX     320
/* Longest QualityMetric name accepted. */
#define GATE_METRIC_NAME_MAX 96

/* struct gate_config: metric.h */

enum gate_verdict {
	GATE_PASS = 0,  /* deploy */
	GATE_REJECT,    /* worse: do not deploy; the run ends "gated" */
	GATE_ERROR,     /* cannot judge (metric missing or not a number): the
			   run fails, nothing deployed */
};

struct gate_result {
	enum gate_verdict verdict;
	double candidate;     /* new version's value (valid unless ERROR) */
	bool has_current;
	double current;       /* current version's value when has_current */
	double threshold;     /* the bound c was compared against (the larger
				 of MinQuality and p*(1-MaxRegression)) */
	/* One line for the journal, `status` and `once`:
	 *   "rejected by quality gate: ndcg@10 0.2810 < 0.2950 - 2%"
	 *   "rejected by quality gate: ndcg@10 0.2810 < MinQuality 0.3000"
	 *   "quality gate passed: ndcg@10 0.3010 >= 0.2950 - 2%"
	 *   "quality gate passed: ndcg@10 0.3010 (no current version to
	 *    compare with)"
	 *   "quality gate: metric X not in GetSolutionMetrics of <arn>; it
	 *    has: a, b, c" */
	char reason[GATE_REASON_MAX + 1];
};

/* Judge cand (the new version's GetSolutionMetrics) against cur (the
 * campaign's current version's, or NULL when there is none). cfg->metric
 * must be set. Returns 0 and fills *out (every verdict); -EINVAL when cfg,
 * cfg->metric or cand is NULL/empty or cfg holds out-of-range numbers. */
int gate_evaluate(const struct gate_config *cfg,
		  const struct personalize_solution_metrics *cand,
		  const struct personalize_solution_metrics *cur,
		  struct gate_result *out);

/* True when cfg enables the gate (QualityMetric set). NULL: false. */
bool gate_enabled(const struct gate_config *cfg);

/* Short display name: normalized_discounted_cumulative_gain_at_K ->
 * "ndcg@K", precision_at_K -> "precision@K", mean_reciprocal_rank_at_K ->
 * "mrr@K", recall_at_K -> "recall@K", hit_at_K -> "hit@K",
 * average_rewards_at_K -> "rewards@K"; anything else (coverage, ...) is
 * returned as is. Writes at most len bytes (NUL included). */
void gate_display_name(const char *metric, char *buf, size_t len);

/* Config parsers. Each returns 0 and *out; or -EINVAL with a sentence in
 * err (no key name, no location: the caller prefixes "file:line: Key: ").
 *
 * QualityMetric: lower-case letters, digits and '_', starting with a
 * letter, at most GATE_METRIC_NAME_MAX characters. Unknown families are
 * accepted (the service adds metrics); a name the new version lacks is a
 * run-time GATE_ERROR. */
int gate_parse_metric(const char *s, const char **out, char *err,
		      size_t errlen);
/* MaxRegression: "2%", "2.5 %", "0.02", "0"; 0 <= value <= 100% (1). A
 * bare number above 1 is refused with a hint ("write 2% for two
 * percent"). */
int gate_parse_max_regression(const char *s, double *out, char *err,
			      size_t errlen);
/* MinQuality: a finite number >= 0 ("0.25"), or a percentage ("25%"). */
int gate_parse_min_quality(const char *s, double *out, char *err,
			   size_t errlen);

#endif
