/* test_metrics.c - the Prometheus metrics file, read back by a strict
 * parser of the text exposition format written here from the format's
 * description (independent of metrics.c's renderer). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "metrics.h"

/* ---- the strict parser ------------------------------------------------------ */

#define P_MAX_SAMPLES 4096
#define P_MAX_FAMILIES 64

struct psample {
	char name[128];
	char labels[512]; /* canonical: k="raw value"\x1f... sorted by key */
	double value;
};

struct pfamily {
	char name[128];
	char type[16];
	bool help, typed, closed;
};

struct parsed {
	struct psample s[P_MAX_SAMPLES];
	size_t n;
	struct pfamily f[P_MAX_FAMILIES];
	size_t nf;
	char err[256];
};

static bool is_name_start(int c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':');
}

static bool is_name_char(int c, bool colon)
{
	return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

/* name at *p; advance. */
static bool p_name(const char **p, char *out, size_t len, bool colon)
{
	size_t n = 0;

	if (!is_name_start((unsigned char)**p, colon))
		return false;
	while (is_name_char((unsigned char)**p, colon)) {
		if (n + 1 >= len)
			return false;
		out[n++] = *(*p)++;
	}
	out[n] = '\0';
	return true;
}

/* Go's ParseFloat-ish decimal syntax, NaN, +Inf, -Inf. Whole token. */
static bool p_float(const char *tok, double *out)
{
	const char *s = tok;
	bool digits = false;

	if (strcmp(tok, "NaN") == 0) { *out = NAN; return true; }
	if (strcmp(tok, "+Inf") == 0 || strcmp(tok, "Inf") == 0) {
		*out = INFINITY; return true;
	}
	if (strcmp(tok, "-Inf") == 0) { *out = -INFINITY; return true; }
	if (*s == '+' || *s == '-')
		s++;
	while (*s >= '0' && *s <= '9') { s++; digits = true; }
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') { s++; digits = true; }
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s)
		return false;
	*out = strtod(tok, NULL);
	return true;
}

/* UTF-8 as RFC 3629 defines it (decode, then check the range). */
static bool utf8_ok(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	while (*s) {
		uint32_t cp, min;
		int more;

		if (*s < 0x80) { s++; continue; }
		else if ((*s & 0xe0) == 0xc0) { cp = *s & 0x1f; more = 1; min = 0x80; }
		else if ((*s & 0xf0) == 0xe0) { cp = *s & 0x0f; more = 2; min = 0x800; }
		else if ((*s & 0xf8) == 0xf0) { cp = *s & 0x07; more = 3; min = 0x10000; }
		else return false;
		s++;
		while (more--) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*s++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static struct pfamily *p_family(struct parsed *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->nf; i++)
		if (strcmp(ps->f[i].name, name) == 0)
			return &ps->f[i];
	return NULL;
}

/* The family a sample name belongs to (counters may carry no suffix here:
 * our files use only gauge and counter). */
static int parse_text(const char *text, struct parsed *ps)
{
	const char *p = text;
	struct pfamily *cur = NULL;
	size_t line = 0;

	memset(ps, 0, sizeof(*ps));
	if (!utf8_ok(text)) {
		snprintf(ps->err, sizeof(ps->err), "not UTF-8");
		return -1;
	}
	if (*text && text[strlen(text) - 1] != '\n') {
		snprintf(ps->err, sizeof(ps->err), "no final newline");
		return -1;
	}
	while (*p) {
		char name[128];
		const char *eol = strchr(p, '\n');

		line++;
		if (eol == p) {
			snprintf(ps->err, sizeof(ps->err), "%zu: empty line", line);
			return -1;
		}
		if (*p == '#') {
			char kind[8] = "";
			struct pfamily *f;

			if (strncmp(p, "# HELP ", 7) == 0)
				strcpy(kind, "HELP");
			else if (strncmp(p, "# TYPE ", 7) == 0)
				strcpy(kind, "TYPE");
			else {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: comment that is not HELP/TYPE", line);
				return -1;
			}
			p += 7;
			if (!p_name(&p, name, sizeof(name), true) ||
			    *p != ' ') {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: bad family name", line);
				return -1;
			}
			p++;
			f = p_family(ps, name);
			if (f && f->closed) {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: %s metadata after its samples", line, name);
				return -1;
			}
			if (!f) {
				if (ps->nf == P_MAX_FAMILIES)
					return -1;
				if (cur)
					cur->closed = true;
				f = &ps->f[ps->nf++];
				snprintf(f->name, sizeof(f->name), "%s", name);
				cur = f;
			}
			if (f != cur) {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: %s interleaved", line, name);
				return -1;
			}
			if (strcmp(kind, "HELP") == 0) {
				if (f->help) {
					snprintf(ps->err, sizeof(ps->err),
						 "%zu: second HELP", line);
					return -1;
				}
				f->help = true;
				/* help text: \\ and \n are the only escapes */
				for (; p < eol; p++) {
					if (*p != '\\')
						continue;
					if (p[1] != '\\' && p[1] != 'n') {
						snprintf(ps->err, sizeof(ps->err),
							 "%zu: bad HELP escape", line);
						return -1;
					}
					p++;
				}
			} else {
				size_t n = (size_t)(eol - p);

				if (f->typed) {
					snprintf(ps->err, sizeof(ps->err),
						 "%zu: second TYPE", line);
					return -1;
				}
				if (n >= sizeof(f->type))
					return -1;
				memcpy(f->type, p, n);
				f->type[n] = '\0';
				if (strcmp(f->type, "counter") &&
				    strcmp(f->type, "gauge") &&
				    strcmp(f->type, "histogram") &&
				    strcmp(f->type, "summary") &&
				    strcmp(f->type, "untyped")) {
					snprintf(ps->err, sizeof(ps->err),
						 "%zu: bad type %s", line, f->type);
					return -1;
				}
				f->typed = true;
			}
			p = eol + 1;
			continue;
		}
		/* sample */
		{
			struct psample *s;
			struct pfamily *f;
			char keys[16][64], vals[16][256], tok[64];
			size_t nl = 0, i, j, t = 0;

			if (ps->n == P_MAX_SAMPLES)
				return -1;
			s = &ps->s[ps->n];
			if (!p_name(&p, s->name, sizeof(s->name), true)) {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: bad metric name", line);
				return -1;
			}
			f = p_family(ps, s->name);
			if (!f || !f->typed || f != cur) {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: sample of %s without its TYPE "
					 "just before", line, s->name);
				return -1;
			}
			if (*p == '{') {
				p++;
				while (*p != '}') {
					size_t vn = 0;

					if (nl == 16 || !p_name(&p, keys[nl],
							       sizeof(keys[0]), false) ||
					    strncmp(keys[nl], "__", 2) == 0 ||
					    *p++ != '=' || *p++ != '"') {
						snprintf(ps->err, sizeof(ps->err),
							 "%zu: bad label", line);
						return -1;
					}
					for (;;) {
						char c = *p++;

						if (c == '\0' || c == '\n') {
							snprintf(ps->err, sizeof(ps->err),
								 "%zu: open label value", line);
							return -1;
						}
						if (c == '"')
							break;
						if (c == '\\') {
							c = *p++;
							if (c == 'n')
								c = '\n';
							else if (c != '\\' && c != '"') {
								snprintf(ps->err, sizeof(ps->err),
									 "%zu: bad escape", line);
								return -1;
							}
						}
						if (vn + 1 >= sizeof(vals[0]))
							return -1;
						vals[nl][vn++] = c;
					}
					vals[nl][vn] = '\0';
					for (i = 0; i < nl; i++)
						if (strcmp(keys[i], keys[nl]) == 0) {
							snprintf(ps->err, sizeof(ps->err),
								 "%zu: label twice", line);
							return -1;
						}
					nl++;
					if (*p == ',')
						p++;
					else if (*p != '}') {
						snprintf(ps->err, sizeof(ps->err),
							 "%zu: expected , or }", line);
						return -1;
					}
				}
				p++;
			}
			if (*p++ != ' ') {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: expected one blank", line);
				return -1;
			}
			while (p < eol && *p != ' ' && t + 1 < sizeof(tok))
				tok[t++] = *p++;
			tok[t] = '\0';
			if (!p_float(tok, &s->value)) {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: bad value \"%s\"", line, tok);
				return -1;
			}
			if (p != eol) { /* optional integer timestamp */
				p++;
				if (p == eol)
					return -1;
				for (; p < eol; p++)
					if (!(*p >= '0' && *p <= '9') && *p != '-')
						return -1;
			}
			if (strcmp(f->type, "counter") == 0 &&
			    !(s->value >= 0)) {
				snprintf(ps->err, sizeof(ps->err),
					 "%zu: negative counter", line);
				return -1;
			}
			/* canonical label string, keys sorted */
			for (i = 0; i < nl; i++) {
				size_t min = i;

				for (j = i + 1; j < nl; j++)
					if (strcmp(keys[j], keys[min]) < 0)
						min = j;
				if (min != i) {
					char tk[64], tv[256];

					memcpy(tk, keys[i], sizeof(tk));
					memcpy(tv, vals[i], sizeof(tv));
					memcpy(keys[i], keys[min], sizeof(tk));
					memcpy(vals[i], vals[min], sizeof(tv));
					memcpy(keys[min], tk, sizeof(tk));
					memcpy(vals[min], tv, sizeof(tv));
				}
			}
			s->labels[0] = '\0';
			for (i = 0; i < nl; i++) {
				size_t used = strlen(s->labels);

				snprintf(s->labels + used, sizeof(s->labels) - used,
					 "%s%s=%s", i ? "\x1f" : "", keys[i], vals[i]);
			}
			for (i = 0; i < ps->n; i++)
				if (strcmp(ps->s[i].name, s->name) == 0 &&
				    strcmp(ps->s[i].labels, s->labels) == 0) {
					snprintf(ps->err, sizeof(ps->err),
						 "%zu: duplicate series", line);
					return -1;
				}
			ps->n++;
			p = eol + 1;
		}
	}
	return 0;
}

/* Value of name{labels} (labels canonical: "k=v\x1fk2=v2"); NAN if absent. */
static double pget(const struct parsed *ps, const char *name,
		   const char *labels)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->s[i].name, name) == 0 &&
		    strcmp(ps->s[i].labels, labels) == 0)
			return ps->s[i].value;
	return NAN;
}

static size_t pcount(const struct parsed *ps, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < ps->n; i++)
		n += strcmp(ps->s[i].name, name) == 0;
	return n;
}

/* Naming conventions of our families: snake_case, prefix, counters end in
 * _total, a unit suffix where there is a unit. */
static void check_conventions(const struct parsed *ps)
{
	size_t i;

	for (i = 0; i < ps->nf; i++) {
		const char *n = ps->f[i].name, *c;
		size_t len = strlen(n);

		assert_true(ps->f[i].help);
		assert_true(ps->f[i].typed);
		assert_memory_equal(n, "personalize_retrain_", 20);
		for (c = n; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') ||
				    (*c >= '0' && *c <= '9') || *c == '_');
		if (strcmp(ps->f[i].type, "counter") == 0)
			assert_true(len > 6 && strcmp(n + len - 6, "_total") == 0);
		if (strstr(n, "timestamp") || strstr(n, "duration"))
			assert_non_null(strstr(n, "_seconds"));
	}
}

static struct parsed parsed_buf;

static struct parsed *render_parse(const struct metrics *m)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(metrics_render(m, &sb), 0);
	if (parse_text(sb.buf ? sb.buf : "", &parsed_buf) != 0)
		fail_msg("parse: %s\n%s", parsed_buf.err, sb.buf);
	strbuf_free(&sb);
	check_conventions(&parsed_buf);
	return &parsed_buf;
}

#define N(x) "personalize_retrain_" x

/* ---- tests ------------------------------------------------------------------ */

static void test_parser_rejects(void **state)
{
	static const char *bad[] = {
		"# TYPE a gauge\na 1", /* no final newline */
		"a 1\n", /* no TYPE */
		"# TYPE a gauge\na 1\n# TYPE a gauge\n",
		"# TYPE a gauge\n# TYPE b gauge\nb 1\na 2\n",
		"# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
		"# TYPE a gauge\na{x=\"1\\t\"} 1\n",
		"# TYPE a gauge\na{x=\"1} 1\n",
		"# TYPE a gauge\na{x=1} 1\n",
		"# TYPE a gauge\na{1x=\"1\"} 1\n",
		"# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",
		"# TYPE a gauge\na 1.2.3\n",
		"# TYPE a gauge\na nan\n",
		"# TYPE a gauge\na  1\n",
		"# TYPE a-b gauge\n",
		"# TYPE a gauges\n",
		"# TYPE a_total counter\na_total -1\n",
		"# some comment\n",
		"# TYPE a gauge\n\na 1\n",
		"# TYPE a gauge\na{__x=\"1\"} 1\n",
		"# TYPE a gauge\na{x=\"\xff\"} 1\n",
		"# TYPE a gauge\na{x=\"\xc0\xaf\"} 1\n", /* overlong '/' */
		"# TYPE a gauge\na{x=\"\xed\xa0\x80\"} 1\n", /* surrogate */
	};
	static const char *good =
		"# HELP a_total x \\\\ y\n# TYPE a_total counter\n"
		"a_total{k=\"v\\\\\\\"\\n\",z=\"\"} 1e3\na_total 0\n"
		"# TYPE b gauge\nb +Inf\nb{q=\"1\"} -0.5 1700000000000\n";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_text(bad[i], &parsed_buf) == 0)
			fail_msg("accepted bad input %zu", i);
	if (parse_text(good, &parsed_buf) != 0)
		fail_msg("good: %s", parsed_buf.err);
	assert_int_equal(parsed_buf.n, 4);
	assert_true(pget(&parsed_buf, "a_total", "k=v\\\"\n\x1fz=") == 1000);
}

static void test_empty_registry(void **state)
{
	struct metrics *m = NULL;
	struct parsed *ps;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	ps = render_parse(m);
	assert_int_equal(ps->n, 1);
	assert_true(pget(ps, N("metrics_series_dropped_total"), "") == 0);
	metrics_free(m);
	assert_null(metrics_free(NULL));
}

static void test_full_cycle(void **state)
{
	static const char weird[] = "we\\ird \"name\"\nline2";
	struct metrics *m = NULL;
	struct metrics_pipeline *a, *b, *again;
	struct parsed *ps;
	aws_metrics_fn hook = metrics_aws_hook;
	struct aws_call_metrics ok = { "DescribeCampaign", 1, AWS_ERR_NONE,
				       NULL, 200, 250000 };
	struct aws_call_metrics thr = { "DescribeCampaign", 3,
					AWS_ERR_THROTTLED,
					"ThrottlingException", 400, 1500000 };
	struct aws_call_metrics nocode = { "CreateSolutionVersion", 1,
					   AWS_ERR_UNAVAILABLE, NULL, 0, 10 };

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_pipeline(m, "staging", &a), 0);
	assert_int_equal(metrics_pipeline(m, weird, &b), 0);
	assert_int_equal(metrics_pipeline(m, "staging", &again), 0);
	assert_ptr_equal(a, again);

	metrics_run_started(a, 1764000000);
	assert_int_equal(metrics_set_stage(a, "importing"), 0);
	assert_int_equal(metrics_stage_duration(a, "importing", 600.5), 0);
	assert_int_equal(metrics_set_stage(a, "training"), 0);
	assert_int_equal(metrics_stage_duration(a, "training", 3600), 0);
	assert_int_equal(metrics_training_hours(a, 1.234), 0);
	assert_int_equal(metrics_set_stage(a, "idle"), 0);
	assert_int_equal(metrics_run_finished(a, 1764004300, "gated"), 0);
	metrics_run_started(a, 1764100000);
	assert_int_equal(metrics_run_finished(a, 1764100100, "succeeded"), 0);
	assert_int_equal(metrics_set_stage(b, "deploying"), 0);
	hook(&ok, m);
	hook(&thr, m);
	hook(&ok, m);
	hook(&nocode, m);

	ps = render_parse(m);
	assert_true(pget(ps, N("last_run_start_timestamp_seconds"),
			 "pipeline=staging") == 1764100000);
	assert_true(pget(ps, N("last_run_end_timestamp_seconds"),
			 "pipeline=staging") == 1764100100);
	assert_true(pget(ps, N("last_run_duration_seconds"),
			 "pipeline=staging") == 100);
	assert_true(pget(ps, N("last_run_outcome"),
			 "outcome=succeeded\x1fpipeline=staging") == 1);
	assert_true(pget(ps, N("last_run_outcome"),
			 "outcome=gated\x1fpipeline=staging") == 0);
	assert_true(pget(ps, N("runs_total"),
			 "outcome=gated\x1fpipeline=staging") == 1);
	assert_true(pget(ps, N("runs_total"),
			 "outcome=succeeded\x1fpipeline=staging") == 1);
	/* stage durations belong to the last run: cleared by its start */
	assert_int_equal(pcount(ps, N("last_run_stage_duration_seconds")), 0);
	assert_true(pget(ps, N("stage"), "pipeline=staging\x1fstage=idle") == 1);
	assert_true(pget(ps, N("stage"),
			 "pipeline=staging\x1fstage=training") == 0);
	assert_true(pget(ps, N("stage"),
			 "pipeline=we\\ird \"name\"\nline2\x1fstage=deploying") == 1);
	assert_true(pget(ps, N("last_version_training_hours"),
			 "pipeline=staging") == 1.234);
	assert_int_equal(pcount(ps, N("last_batch_output_info")), 0);
	assert_int_equal(metrics_batch_output(a, 1764100090, ""), -EINVAL);
	assert_int_equal(metrics_batch_output(a, 1764100050, "s3://b/old/"), 0);
	assert_int_equal(metrics_batch_output(a, 1764100090, "s3://b/out/"), 0);
	ps = render_parse(m);
	assert_true(pget(ps, N("last_batch_output_timestamp_seconds"),
			 "pipeline=staging") == 1764100090);
	assert_true(pget(ps, N("last_batch_output_info"),
			 "output=s3://b/out/\x1fpipeline=staging") == 1);
	assert_int_equal(pcount(ps, N("last_batch_output_info")), 1);
	assert_true(pget(ps, N("api_calls_total"),
			 "operation=DescribeCampaign") == 3);
	assert_true(pget(ps, N("api_attempts_total"),
			 "operation=DescribeCampaign") == 5);
	assert_true(pget(ps, N("api_errors_total"),
			 "code=ThrottlingException\x1foperation=DescribeCampaign") == 1);
	assert_true(pget(ps, N("api_errors_total"),
			 "code=unavailable\x1foperation=CreateSolutionVersion") == 1);
	assert_true(fabs(pget(ps, N("api_call_duration_seconds_total"),
			      "operation=DescribeCampaign") - 2.0) < 1e-9);
	/* a run in progress shows its stage durations */
	metrics_run_started(a, 1764200000);
	assert_int_equal(metrics_stage_duration(a, "importing", 0.25), 0);
	ps = render_parse(m);
	assert_true(pget(ps, N("last_run_stage_duration_seconds"),
			 "pipeline=staging\x1fstage=importing") == 0.25);
	assert_true(isnan(pget(ps, N("last_run_end_timestamp_seconds"),
			       "pipeline=staging")));

	/* not UTF-8: shown as U+FFFD; valid UTF-8 kept */
	assert_int_equal(metrics_pipeline(m, "bad\xff\xc0\xafname", &b), 0);
	assert_int_equal(metrics_set_stage(b, "idle"), 0);
	assert_int_equal(metrics_pipeline(m, "caf\xc3\xa9", &b), 0);
	assert_int_equal(metrics_set_stage(b, "idle"), 0);
	ps = render_parse(m);
	assert_true(pget(ps, N("stage"), "pipeline=bad\xef\xbf\xbd\xef\xbf\xbd"
			 "\xef\xbf\xbdname\x1fstage=idle") == 1);
	assert_true(pget(ps, N("stage"), "pipeline=caf\xc3\xa9\x1fstage=idle") == 1);

	metrics_pipeline_remove(m, "staging");
	metrics_pipeline_remove(m, "unknown");
	ps = render_parse(m);
	assert_true(isnan(pget(ps, N("last_run_start_timestamp_seconds"),
			       "pipeline=staging")));
	metrics_free(m);
}

static void test_bounds(void **state)
{
	struct metrics *m = NULL;
	struct metrics_pipeline *p;
	struct parsed *ps;
	char name[64];
	size_t i;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_pipeline(m, "", &p), -EINVAL);
	assert_int_equal(metrics_pipeline(m, "p", &p), 0);
	assert_int_equal(metrics_set_stage(p, "Training"), -EINVAL);
	assert_int_equal(metrics_set_stage(p, "a b"), -EINVAL);
	assert_int_equal(metrics_set_stage(p, ""), -EINVAL);
	assert_int_equal(metrics_set_stage(p, NULL), -EINVAL);
	assert_int_equal(metrics_stage_duration(p, "x", -1), -EINVAL);
	assert_int_equal(metrics_stage_duration(p, "x", NAN), -EINVAL);
	assert_int_equal(metrics_training_hours(p, -1), -EINVAL);
	assert_int_equal(metrics_training_hours(p, INFINITY), -EINVAL);
	for (i = 0; i < METRICS_MAX_LABELS; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		assert_int_equal(metrics_set_stage(p, name), 0);
	}
	assert_int_equal(metrics_set_stage(p, "one_too_many"), -E2BIG);
	assert_int_equal(metrics_set_stage(p, "s3"), 0); /* known: fine */
	for (i = 0; i < METRICS_MAX_OPERATIONS + 10; i++) {
		struct aws_call_metrics c = { name, 1, AWS_ERR_CLIENT, name,
					      400, 1 };

		snprintf(name, sizeof(name), "Operation%zu", i);
		metrics_api_call(m, &c);
	}
	for (i = 0; i < METRICS_MAX_CODES + 10; i++) {
		struct aws_call_metrics c = { "Operation0", 1, AWS_ERR_CLIENT,
					      name, 400, 1 };

		snprintf(name, sizeof(name), "Code%zu", i);
		metrics_api_call(m, &c);
	}
	ps = render_parse(m);
	assert_int_equal(pcount(ps, N("api_calls_total")),
			 METRICS_MAX_OPERATIONS + 1);
	assert_true(pget(ps, N("api_calls_total"), "operation=other") == 10);
	assert_int_equal(pcount(ps, N("stage")), METRICS_MAX_LABELS);
	assert_true(pget(ps, N("metrics_series_dropped_total"), "") == 5);
	/* Operation0: its own code + 24 distinct = 25 > 24: "other" takes
	 * the rest */
	assert_true(pget(ps, N("api_errors_total"),
			 "code=other\x1foperation=Operation0") == 11);
	metrics_free(m);
}

static void test_many_pipelines(void **state)
{
	struct metrics *m = NULL;
	struct metrics_pipeline *p;
	struct parsed *ps;
	char name[32];
	size_t i;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "pipe-%04zu", (i * 7919) % 1000);
		assert_int_equal(metrics_pipeline(m, name, &p), 0);
		assert_int_equal(metrics_set_stage(p, "idle"), 0);
	}
	ps = render_parse(m);
	assert_int_equal(pcount(ps, N("stage")), 1000);
	/* sorted by pipeline */
	assert_string_equal(ps->s[0].labels, "pipeline=pipe-0000\x1fstage=idle");
	metrics_free(m);
}

static char tmpdir[] = "/tmp/test_metrics.XXXXXX";

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_atomic_write(void **state)
{
	struct metrics *m = NULL;
	struct metrics_pipeline *p;
	struct strbuf sb = STRBUF_INIT;
	char path[256], bad[256];
	struct stat st1, st2;
	char *text;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/personalize.prom", tmpdir);
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_pipeline(m, "p", &p), 0);
	assert_int_equal(metrics_set_stage(p, "training"), 0);
	assert_int_equal(metrics_write(m, path), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 0777, 0644);
	assert_int_equal(dir_entries(tmpdir), 1); /* no temp file left */
	text = slurp(path);
	assert_int_equal(metrics_render(m, &sb), 0);
	assert_string_equal(text, sb.buf);
	assert_int_equal(parse_text(text, &parsed_buf), 0);
	free(text);

	/* a reader that opened the old file keeps reading the old file */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(metrics_set_stage(p, "deploying"), 0);
	assert_int_equal(metrics_write(m, path), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	{
		char old[8192];
		ssize_t n = read(fd, old, sizeof(old) - 1);

		assert_true(n > 0);
		old[n] = '\0';
		assert_non_null(strstr(old, "stage=\"training\"} 1"));
	}
	close(fd);
	text = slurp(path);
	assert_non_null(strstr(text, "stage=\"deploying\"} 1"));
	free(text);
	assert_int_equal(dir_entries(tmpdir), 1);

	snprintf(bad, sizeof(bad), "%s/missing/x.prom", tmpdir);
	assert_int_equal(metrics_write(m, bad), -ENOENT);
	assert_int_equal(metrics_write(m, ""), -EINVAL);
	snprintf(bad, sizeof(bad), "%s/", tmpdir);
	assert_int_equal(metrics_write(m, bad), -EINVAL);
	assert_int_equal(dir_entries(tmpdir), 1);

	unlink(path);
	rmdir(tmpdir);
	strbuf_free(&sb);
	metrics_free(m);
}

static void test_check_path(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *err;
	} cases[] = {
		{ "/tmp/personalize-retrain.prom", 0, NULL },
		{ "relative.prom", -EINVAL, "\"relative.prom\" is not an absolute "
		  "path; write e.g. /var/lib/node_exporter/textfile/"
		  "personalize-retrain.prom" },
		{ "", -EINVAL, NULL },
		{ "/tmp/metrics.txt", -EINVAL, "/tmp/metrics.txt: the file name "
		  "must end in .prom and not start with '.' (node_exporter's "
		  "textfile collector reads only *.prom files)" },
		{ "/tmp/.hidden.prom", -EINVAL, NULL },
		{ "/tmp/", -EINVAL, NULL },
		{ "/tmp/.prom", -EINVAL, NULL },
		{ "/nonexistent-dir/x.prom", -ENOENT, "directory "
		  "/nonexistent-dir: No such file or directory" },
		{ "/etc/passwd/x.prom", -ENOTDIR, NULL },
	};
	size_t i;
	char err[256];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		err[0] = '\0';
		rc = metrics_check_path(cases[i].in, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("\"%s\": %d (%s)", cases[i].in, rc, err);
		if (rc)
			assert_true(err[0] != '\0');
		if (cases[i].err)
			assert_string_equal(err, cases[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_empty_registry),
		cmocka_unit_test(test_full_cycle),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_many_pipelines),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_check_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
