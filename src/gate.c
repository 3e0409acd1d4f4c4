/* gate.c - the quality gate (see gate.h). Pure: no I/O. */
#include "gate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Relative slack for decimal round-off in comparisons. */
#define GATE_EPSILON 1e-9

static const struct {
	const char *prefix; /* the service's name up to K */
	const char *shown;  /* the short name up to '@' */
} short_names[] = {
	{ "normalized_discounted_cumulative_gain_at_", "ndcg" },
	{ "precision_at_", "precision" },
	{ "mean_reciprocal_rank_at_", "mrr" },
	{ "recall_at_", "recall" },
	{ "hit_at_", "hit" },
	{ "average_rewards_at_", "rewards" },
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

void gate_display_name(const char *metric, char *buf, size_t len)
{
	size_t i;

	if (!buf || len == 0)
		return;
	if (!metric) {
		buf[0] = '\0';
		return;
	}
	for (i = 0; i < sizeof(short_names) / sizeof(short_names[0]); i++) {
		size_t n = strlen(short_names[i].prefix);

		if (strncmp(metric, short_names[i].prefix, n) == 0 &&
		    all_digits(metric + n)) {
			snprintf(buf, len, "%s@%s", short_names[i].shown,
				 metric + n);
			return;
		}
	}
	snprintf(buf, len, "%s", metric);
}

bool gate_enabled(const struct gate_config *cfg)
{
	return cfg && cfg->metric && cfg->metric[0];
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int gate_parse_metric(const char *s, const char **out, char *err,
		      size_t errlen)
{
	size_t i, n;

	if (!s || !out)
		return -EINVAL;
	n = strlen(s);
	if (n == 0) {
		set_err(err, errlen, "empty metric name; use a name as "
			"GetSolutionMetrics returns it, e.g. "
			"normalized_discounted_cumulative_gain_at_10");
		return -EINVAL;
	}
	if (n > GATE_METRIC_NAME_MAX) {
		set_err(err, errlen, "metric name longer than %d characters",
			GATE_METRIC_NAME_MAX);
		return -EINVAL;
	}
	if (!islower((unsigned char)s[0])) {
		set_err(err, errlen, "metric name \"%.*s\" must start with a "
			"lower-case letter, e.g. precision_at_5", (int)n, s);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || c == '_')) {
			set_err(err, errlen, "metric name \"%.*s\" may hold "
				"only lower-case letters, digits and '_' "
				"(as GetSolutionMetrics spells it, e.g. "
				"mean_reciprocal_rank_at_25)", (int)n, s);
			return -EINVAL;
		}
	}
	*out = s;
	return 0;
}

/* A finite decimal number, optionally followed by '%' (blanks allowed
 * around). *pct tells whether the '%' was there. */
static int parse_number(const char *s, double *out, bool *pct)
{
	char *end;
	double v;

	while (*s == ' ' || *s == '\t')
		s++;
	/* strtod would also take hex, "inf", "nan": allow plain decimals */
	if (!(isdigit((unsigned char)*s) || *s == '.' || *s == '-' ||
	      *s == '+'))
		return -EINVAL;
	if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ||
	    ((s[0] == '-' || s[0] == '+') && s[1] == '0' &&
	     (s[2] == 'x' || s[2] == 'X')))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno == ERANGE || !isfinite(v))
		return -EINVAL;
	while (*end == ' ' || *end == '\t')
		end++;
	*pct = false;
	if (*end == '%') {
		*pct = true;
		end++;
		while (*end == ' ' || *end == '\t')
			end++;
	}
	if (*end)
		return -EINVAL;
	*out = *pct ? v / 100.0 : v;
	return 0;
}

/* s as a number or percentage of 0 or more into *v and *pct; else the
 * error "\"S\" is not WHAT" or "S is negative; RANGE" and -EINVAL. */
static int parse_nonnegative(const char *s, double *v, bool *pct,
			     const char *what, const char *range, char *err,
			     size_t errlen)
{
	if (parse_number(s, v, pct) < 0) {
		set_err(err, errlen, "\"%s\" is not %s", s, what);
		return -EINVAL;
	}
	if (*v < 0) {
		set_err(err, errlen, "%s is negative; %s", s, range);
		return -EINVAL;
	}
	return 0;
}

int gate_parse_max_regression(const char *s, double *out, char *err,
			      size_t errlen)
{
	double v;
	bool pct;

	if (!s || !out)
		return -EINVAL;
	if (parse_nonnegative(s, &v, &pct, "a relative drop; write a "
			      "percentage like 2% or a fraction like 0.02",
			      "the allowed drop is 0 (no regression) or more, "
			      "e.g. 2%", err, errlen) < 0)
		return -EINVAL;
	if (v > 1) {
		if (pct)
			set_err(err, errlen, "%s is more than 100%%; a drop is "
				"between 0%% and 100%%", s);
		else
			set_err(err, errlen, "%s is more than 1 (100%%); a "
				"fraction is between 0 and 1: write %s%% for "
				"%s percent, or 0.02 for 2%%", s, s, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int gate_parse_min_quality(const char *s, double *out, char *err,
			   size_t errlen)
{
	double v;
	bool pct;

	if (!s || !out)
		return -EINVAL;
	if (parse_nonnegative(s, &v, &pct, "a number; write the lowest value "
			      "of QualityMetric to deploy, e.g. 0.25 or 25%",
			      "Personalize metrics are 0 or more", err,
			      errlen) < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct personalize_metric *
find_metric(const struct personalize_solution_metrics *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_metrics; i++)
		if (m->metrics[i].name && strcmp(m->metrics[i].name, name) == 0)
			return &m->metrics[i];
	return NULL;
}

static void copy_reason(struct gate_result *r, struct strbuf *sb)
{
	const char *text = strbuf_error(sb) == 0 && sb->buf ? sb->buf
		: "quality gate: out of memory while writing the reason";
	size_t n = strlen(text);

	if (n > GATE_REASON_MAX) {
		memcpy(r->reason, text, GATE_REASON_MAX - 4);
		memcpy(r->reason + GATE_REASON_MAX - 4, " ...", 5);
	} else {
		memcpy(r->reason, text, n + 1);
	}
}

static const char *version_name(const struct personalize_solution_metrics *m,
				const char *fallback)
{
	return m->solution_version_arn && m->solution_version_arn[0]
		       ? m->solution_version_arn : fallback;
}

static void missing_reason(struct strbuf *sb, const char *metric,
			   const struct personalize_solution_metrics *m,
			   const char *which)
{
	size_t i;

	strbuf_printf(sb, "quality gate: metric %s not in GetSolutionMetrics "
		      "of %s; it has: ", metric, version_name(m, which));
	if (m->n_metrics == 0)
		strbuf_puts(sb, "none");
	for (i = 0; i < m->n_metrics; i++) {
		if (i)
			strbuf_puts(sb, ", ");
		strbuf_puts(sb, m->metrics[i].name ? m->metrics[i].name : "?");
		if (sb->len > GATE_REASON_MAX)
			break;
	}
}

/* "2%" from 0.02 (%g drops the noise of 0.07 * 100). */
static void percent(char *buf, size_t len, double fraction)
{
	snprintf(buf, len, "%g%%", fraction * 100.0);
}

int gate_evaluate(const struct gate_config *cfg,
		  const struct personalize_solution_metrics *cand,
		  const struct personalize_solution_metrics *cur,
		  struct gate_result *out)
{
	struct strbuf sb = STRBUF_INIT;
	struct gate_result r;
	const struct personalize_metric *mc, *mp = NULL;
	char shown[GATE_METRIC_NAME_MAX + 16], pct[32];
	double floor_reg = -INFINITY, floor_min = -INFINITY, c;
	bool min_binds;

	if (!gate_enabled(cfg) || !cand || !out || (cand->n_metrics &&
						    !cand->metrics) ||
	    (cur && cur->n_metrics && !cur->metrics) ||
	    !isfinite(cfg->max_regression) || cfg->max_regression < 0 ||
	    cfg->max_regression > 1 ||
	    (cfg->has_min_quality && !isfinite(cfg->min_quality)))
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	gate_display_name(cfg->metric, shown, sizeof(shown));
	percent(pct, sizeof(pct), cfg->max_regression);

	mc = find_metric(cand, cfg->metric);
	if (!mc) {
		r.verdict = GATE_ERROR;
		missing_reason(&sb, cfg->metric, cand, "the new version");
		goto done;
	}
	if (!isfinite(mc->value)) {
		r.verdict = GATE_ERROR;
		strbuf_printf(&sb, "quality gate: metric %s of %s is not a "
			      "number", cfg->metric,
			      version_name(cand, "the new version"));
		goto done;
	}
	c = r.candidate = mc->value;
	if (cur) {
		mp = find_metric(cur, cfg->metric);
		if (!mp) {
			r.verdict = GATE_ERROR;
			missing_reason(&sb, cfg->metric, cur,
				       "the current version");
			goto done;
		}
		if (!isfinite(mp->value)) {
			r.verdict = GATE_ERROR;
			strbuf_printf(&sb, "quality gate: metric %s of %s is "
				      "not a number", cfg->metric,
				      version_name(cur, "the current version"));
			goto done;
		}
		r.has_current = true;
		r.current = mp->value;
		floor_reg = mp->value * (1.0 - cfg->max_regression);
	}
	if (cfg->has_min_quality)
		floor_min = cfg->min_quality;
	min_binds = floor_min >= floor_reg;
	r.threshold = min_binds ? floor_min : floor_reg;
	if (!r.has_current && !cfg->has_min_quality) {
		r.verdict = GATE_PASS;
		strbuf_printf(&sb, "quality gate passed: %s %.4f (no current "
			      "version to compare with)", shown, c);
		goto done;
	}
	if (c < r.threshold - GATE_EPSILON * fabs(r.threshold)) {
		r.verdict = GATE_REJECT;
		strbuf_printf(&sb, "rejected by quality gate: %s %.4f < ",
			      shown, c);
	} else {
		r.verdict = GATE_PASS;
		strbuf_printf(&sb, "quality gate passed: %s %.4f >= ", shown,
			      c);
	}
	if (min_binds)
		strbuf_printf(&sb, "MinQuality %.4f", floor_min);
	else if (cfg->max_regression > 0)
		strbuf_printf(&sb, "%.4f - %s", r.current, pct);
	else
		strbuf_printf(&sb, "%.4f", r.current);
	if (!r.has_current)
		strbuf_puts(&sb, " (no current version to compare with)");
done:
	copy_reason(&r, &sb);
	strbuf_free(&sb);
	*out = r;
	return 0;
}

