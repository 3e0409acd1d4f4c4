/* metrics.c - Prometheus text-format metrics file (see metrics.h). */
#include "metrics.h"
#include "timeconst.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CODE_MAX     64 /* longer error codes are cut */
#define NO_LABEL     (-1)

struct vocab {
	char names[METRICS_MAX_LABELS][METRICS_LABEL_NAME_MAX + 1];
	size_t n;
};

struct metrics_pipeline {
	char *name;
	struct metrics *owner;
	bool has_start, has_end, has_duration, has_training;
	time_t start, end;
	double duration_s, training_hours;
	char *batch_output;   /* NULL: no batch job ended ACTIVE yet */
	time_t batch_end;
	int stage;   /* index into owner->stages, or NO_LABEL */
	int outcome; /* last outcome, index into owner->outcomes */
	bool has_stage_dur[METRICS_MAX_LABELS];
	double stage_dur[METRICS_MAX_LABELS];
	bool outcome_seen[METRICS_MAX_LABELS];
	uint64_t runs[METRICS_MAX_LABELS];
};

struct code_count {
	char name[CODE_MAX + 1];
	uint64_t count;
};

struct op_stats {
	char name[METRICS_LABEL_NAME_MAX + 1];
	uint64_t calls, attempts, usec;
	struct code_count codes[METRICS_MAX_CODES + 1]; /* + "other" */
	size_t n_codes;
};

struct metrics {
	struct metrics_pipeline **pipes; /* sorted by name */
	size_t n_pipes, cap_pipes;
	struct vocab stages, outcomes;
	struct op_stats ops[METRICS_MAX_OPERATIONS + 1]; /* + "other" */
	size_t n_ops;
	uint64_t dropped;
};

int metrics_new(struct metrics **out)
{
	struct metrics *m;

	if (!out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*out = m;
	return 0;
}

static void pipe_free(struct metrics_pipeline *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->batch_output);
	free(p);
}

struct metrics *metrics_free(struct metrics *m)
{
	size_t i;

	if (!m)
		return NULL;
	for (i = 0; i < m->n_pipes; i++)
		pipe_free(m->pipes[i]);
	free(m->pipes);
	free(m);
	return NULL;
}

/* Index of name in the sorted pipeline array, or where it would go. */
static size_t pipe_search(const struct metrics *m, const char *name,
			  bool *found)
{
	size_t lo = 0, hi = m->n_pipes;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->pipes[mid]->name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int metrics_pipeline(struct metrics *m, const char *name,
		     struct metrics_pipeline **out)
{
	struct metrics_pipeline *p = NULL;
	bool found;
	size_t at;

	if (!m || !name || !name[0] || !out)
		return -EINVAL;
	at = pipe_search(m, name, &found);
	if (found) {
		*out = m->pipes[at];
		return 0;
	}
	if (m->n_pipes >= METRICS_MAX_PIPELINES) {
		m->dropped++;
		return -E2BIG;
	}
	if (m->n_pipes == m->cap_pipes) {
		size_t cap = m->cap_pipes ? m->cap_pipes * 2 : 16;
		struct metrics_pipeline **n = realloc(m->pipes,
						      cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->pipes = n;
		m->cap_pipes = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->name = strdup(name);
	if (!p->name) {
		free(p);
		return -ENOMEM;
	}
	p->owner = m;
	p->stage = p->outcome = NO_LABEL;
	memmove(m->pipes + at + 1, m->pipes + at,
		(m->n_pipes - at) * sizeof(*m->pipes));
	m->pipes[at] = p;
	m->n_pipes++;
	*out = p;
	return 0;
}

void metrics_pipeline_remove(struct metrics *m, const char *name)
{
	bool found;
	size_t at;

	if (!m || !name)
		return;
	at = pipe_search(m, name, &found);
	if (!found)
		return;
	pipe_free(m->pipes[at]);
	memmove(m->pipes + at, m->pipes + at + 1,
		(m->n_pipes - at - 1) * sizeof(*m->pipes));
	m->n_pipes--;
}

static bool valid_label_name(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return false;
	return n <= METRICS_LABEL_NAME_MAX;
}

/* Index of name in v, adding it. -EINVAL, -E2BIG (counted as dropped). */
static int vocab_index(struct metrics *m, struct vocab *v, const char *name)
{
	size_t i;

	if (!valid_label_name(name)) {
		m->dropped++;
		return -EINVAL;
	}
	for (i = 0; i < v->n; i++)
		if (strcmp(v->names[i], name) == 0)
			return (int)i;
	if (v->n >= METRICS_MAX_LABELS) {
		m->dropped++;
		return -E2BIG;
	}
	strcpy(v->names[v->n], name); /* length checked above */
	return (int)v->n++;
}

void metrics_run_started(struct metrics_pipeline *p, time_t start)
{
	if (!p)
		return;
	p->has_start = true;
	p->start = start;
	p->has_end = p->has_duration = false;
	memset(p->has_stage_dur, 0, sizeof(p->has_stage_dur));
}

int metrics_set_stage(struct metrics_pipeline *p, const char *stage)
{
	int i;

	if (!p)
		return -EINVAL;
	i = vocab_index(p->owner, &p->owner->stages, stage);
	if (i < 0)
		return i;
	p->stage = i;
	return 0;
}

int metrics_stage_duration(struct metrics_pipeline *p, const char *stage,
			   double seconds)
{
	int i;

	if (!p || !isfinite(seconds) || seconds < 0)
		return -EINVAL;
	i = vocab_index(p->owner, &p->owner->stages, stage);
	if (i < 0)
		return i;
	p->has_stage_dur[i] = true;
	p->stage_dur[i] = seconds;
	return 0;
}

int metrics_run_finished(struct metrics_pipeline *p, time_t end,
			 const char *outcome)
{
	int i;

	if (!p)
		return -EINVAL;
	i = vocab_index(p->owner, &p->owner->outcomes, outcome);
	if (i < 0)
		return i;
	p->has_end = true;
	p->end = end;
	if (p->has_start && end >= p->start) {
		p->has_duration = true;
		p->duration_s = (double)(end - p->start);
	}
	p->outcome = i;
	p->outcome_seen[i] = true;
	p->runs[i]++;
	return 0;
}

int metrics_training_hours(struct metrics_pipeline *p, double hours)
{
	if (!p || !isfinite(hours) || hours < 0)
		return -EINVAL;
	p->has_training = true;
	p->training_hours = hours;
	return 0;
}

int metrics_batch_output(struct metrics_pipeline *p, time_t end,
			 const char *output)
{
	char *copy;

	if (!p || !output || !*output)
		return -EINVAL;
	copy = strdup(output);
	if (!copy)
		return -ENOMEM;
	free(p->batch_output);
	p->batch_output = copy;
	p->batch_end = end;
	return 0;
}

static struct op_stats *op_find(struct metrics *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_ops; i++)
		if (strcmp(m->ops[i].name, name) == 0)
			return &m->ops[i];
	return NULL;
}

static struct op_stats *op_get(struct metrics *m, const char *name)
{
	struct op_stats *o;

	if (!name || !*name || strlen(name) > METRICS_LABEL_NAME_MAX)
		name = METRICS_OTHER;
	o = op_find(m, name);
	if (o)
		return o;
	if (m->n_ops >= METRICS_MAX_OPERATIONS) {
		o = op_find(m, METRICS_OTHER);
		if (o)
			return o;
		name = METRICS_OTHER; /* the one extra slot */
	}
	o = &m->ops[m->n_ops++];
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	return o;
}

static void op_count_code(struct op_stats *o, const char *code)
{
	char cut[CODE_MAX + 1];
	size_t i;

	snprintf(cut, sizeof(cut), "%s", code);
	for (i = 0; i < o->n_codes; i++)
		if (strcmp(o->codes[i].name, cut) == 0) {
			o->codes[i].count++;
			return;
		}
	if (o->n_codes >= METRICS_MAX_CODES) {
		for (i = 0; i < o->n_codes; i++)
			if (strcmp(o->codes[i].name, METRICS_OTHER) == 0) {
				o->codes[i].count++;
				return;
			}
		snprintf(cut, sizeof(cut), "%s", METRICS_OTHER);
	}
	snprintf(o->codes[o->n_codes].name, sizeof(o->codes[0].name), "%s",
		 cut);
	o->codes[o->n_codes++].count = 1;
}

void metrics_api_call(struct metrics *m, const struct aws_call_metrics *c)
{
	struct op_stats *o;
	const char *code;

	if (!m || !c)
		return;
	o = op_get(m, c->operation);
	o->calls++;
	o->attempts += c->attempts;
	o->usec += c->elapsed_usec;
	code = c->code;
	if (!code && c->error != AWS_ERR_NONE)
		code = aws_error_class_name(c->error);
	if (code)
		op_count_code(o, *code ? code : "unknown");
}

void metrics_aws_hook(const struct aws_call_metrics *c, void *registry)
{
	metrics_api_call(registry, c);
}

/* ---- rendering ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A label value: \, \" and newline escaped as the format wants; invalid
 * UTF-8 (the format requires UTF-8) replaced by U+FFFD. */
static void put_escaped(struct strbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n = utf8_len(s);

		if (*s == '\\')
			strbuf_puts(sb, "\\\\");
		else if (*s == '"')
			strbuf_puts(sb, "\\\"");
		else if (*s == '\n')
			strbuf_puts(sb, "\\n");
		else if (n == 0)
			strbuf_puts(sb, "\xef\xbf\xbd");
		else
			strbuf_append(sb, s, n);
		s += n ? n : 1;
	}
}

/* Shortest of %.15g / %.17g that reads back as v; integers plainly. */
static void put_value(struct strbuf *sb, double v)
{
	char buf[64];

	if (isnan(v)) {
		strbuf_puts(sb, "NaN");
		return;
	}
	if (isinf(v)) {
		strbuf_puts(sb, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, sizeof(buf), "%.0f", v);
	} else {
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
	}
	strbuf_puts(sb, buf);
}

static void family(struct strbuf *sb, const char *name, const char *type,
		   const char *help)
{
	strbuf_printf(sb, "# HELP " METRICS_PREFIX "%s %s\n", name, help);
	strbuf_printf(sb, "# TYPE " METRICS_PREFIX "%s %s\n", name, type);
}

/* name{k1="v1"[,k2="v2"]} value */
static void sample(struct strbuf *sb, const char *name, const char *k1,
		   const char *v1, const char *k2, const char *v2, double value)
{
	strbuf_printf(sb, METRICS_PREFIX "%s", name);
	if (k1) {
		strbuf_printf(sb, "{%s=\"", k1);
		put_escaped(sb, v1);
		strbuf_putc(sb, '"');
		if (k2) {
			strbuf_printf(sb, ",%s=\"", k2);
			put_escaped(sb, v2);
			strbuf_putc(sb, '"');
		}
		strbuf_putc(sb, '}');
	}
	strbuf_putc(sb, ' ');
	put_value(sb, value);
	strbuf_putc(sb, '\n');
}

/* Indices of v's names in sorted order. */
static void vocab_sorted(const struct vocab *v, int *idx)
{
	size_t i, j;

	for (i = 0; i < v->n; i++)
		idx[i] = (int)i;
	for (i = 1; i < v->n; i++)
		for (j = i; j > 0 && strcmp(v->names[idx[j - 1]],
					    v->names[idx[j]]) > 0; j--) {
			int t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
}

static int cmp_op(const void *a, const void *b)
{
	const struct op_stats *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int cmp_code(const void *a, const void *b)
{
	const struct code_count *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static void render_pipelines(const struct metrics *m, struct strbuf *sb)
{
	int st[METRICS_MAX_LABELS], oc[METRICS_MAX_LABELS];
	size_t i, k;

	vocab_sorted(&m->stages, st);
	vocab_sorted(&m->outcomes, oc);

	family(sb, "last_run_start_timestamp_seconds", "gauge",
	       "Start of the last retraining run (Unix time).");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->has_start)
			sample(sb, "last_run_start_timestamp_seconds",
			       "pipeline", m->pipes[i]->name, NULL, NULL,
			       (double)m->pipes[i]->start);
	family(sb, "last_run_end_timestamp_seconds", "gauge",
	       "End of the last finished retraining run (Unix time).");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->has_end)
			sample(sb, "last_run_end_timestamp_seconds",
			       "pipeline", m->pipes[i]->name, NULL, NULL,
			       (double)m->pipes[i]->end);
	family(sb, "last_run_duration_seconds", "gauge",
	       "Wall-clock duration of the last finished run.");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->has_duration)
			sample(sb, "last_run_duration_seconds", "pipeline",
			       m->pipes[i]->name, NULL, NULL,
			       m->pipes[i]->duration_s);
	family(sb, "last_run_outcome", "gauge",
	       "1 for the outcome of the last finished run, 0 for the "
	       "others seen.");
	for (i = 0; i < m->n_pipes; i++)
		for (k = 0; k < m->outcomes.n; k++)
			if (m->pipes[i]->outcome_seen[oc[k]])
				sample(sb, "last_run_outcome", "pipeline",
				       m->pipes[i]->name, "outcome",
				       m->outcomes.names[oc[k]],
				       m->pipes[i]->outcome == oc[k] ? 1 : 0);
	family(sb, "runs_total", "counter",
	       "Finished runs by outcome since the daemon started.");
	for (i = 0; i < m->n_pipes; i++)
		for (k = 0; k < m->outcomes.n; k++)
			if (m->pipes[i]->outcome_seen[oc[k]])
				sample(sb, "runs_total", "pipeline",
				       m->pipes[i]->name, "outcome",
				       m->outcomes.names[oc[k]],
				       (double)m->pipes[i]->runs[oc[k]]);
	family(sb, "last_run_stage_duration_seconds", "gauge",
	       "Time the last run spent in each stage.");
	for (i = 0; i < m->n_pipes; i++)
		for (k = 0; k < m->stages.n; k++)
			if (m->pipes[i]->has_stage_dur[st[k]])
				sample(sb, "last_run_stage_duration_seconds",
				       "pipeline", m->pipes[i]->name, "stage",
				       m->stages.names[st[k]],
				       m->pipes[i]->stage_dur[st[k]]);
	family(sb, "stage", "gauge",
	       "1 for the stage the pipeline is in now, 0 for the others.");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->stage != NO_LABEL)
			for (k = 0; k < m->stages.n; k++)
				sample(sb, "stage", "pipeline",
				       m->pipes[i]->name, "stage",
				       m->stages.names[st[k]],
				       m->pipes[i]->stage == st[k] ? 1 : 0);
	family(sb, "last_version_training_hours", "gauge",
	       "trainingHours of the last solution version (billed "
	       "training time).");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->has_training)
			sample(sb, "last_version_training_hours", "pipeline",
			       m->pipes[i]->name, NULL, NULL,
			       m->pipes[i]->training_hours);
	family(sb, "last_batch_output_timestamp_seconds", "gauge",
	       "When the last batch job ended ACTIVE (Unix time).");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->batch_output)
			sample(sb, "last_batch_output_timestamp_seconds",
			       "pipeline", m->pipes[i]->name, NULL, NULL,
			       (double)m->pipes[i]->batch_end);
	family(sb, "last_batch_output_info", "gauge",
	       "1, labelled with where the last batch job wrote.");
	for (i = 0; i < m->n_pipes; i++)
		if (m->pipes[i]->batch_output)
			sample(sb, "last_batch_output_info", "pipeline",
			       m->pipes[i]->name, "output",
			       m->pipes[i]->batch_output, 1);
}

static void render_api(const struct metrics *m, struct strbuf *sb)
{
	const struct op_stats *ops[METRICS_MAX_OPERATIONS + 1];
	const struct code_count *codes[METRICS_MAX_CODES + 1];
	size_t i, k;

	for (i = 0; i < m->n_ops; i++)
		ops[i] = &m->ops[i];
	qsort(ops, m->n_ops, sizeof(ops[0]), cmp_op);

	family(sb, "api_calls_total", "counter",
	       "AWS API calls made (retries included in one call).");
	for (i = 0; i < m->n_ops; i++)
		sample(sb, "api_calls_total", "operation", ops[i]->name, NULL,
		       NULL, (double)ops[i]->calls);
	family(sb, "api_attempts_total", "counter",
	       "HTTP attempts made for AWS API calls.");
	for (i = 0; i < m->n_ops; i++)
		sample(sb, "api_attempts_total", "operation", ops[i]->name,
		       NULL, NULL, (double)ops[i]->attempts);
	family(sb, "api_errors_total", "counter",
	       "AWS API calls that failed, by error code.");
	for (i = 0; i < m->n_ops; i++) {
		for (k = 0; k < ops[i]->n_codes; k++)
			codes[k] = &ops[i]->codes[k];
		qsort(codes, ops[i]->n_codes, sizeof(codes[0]), cmp_code);
		for (k = 0; k < ops[i]->n_codes; k++)
			sample(sb, "api_errors_total", "operation",
			       ops[i]->name, "code", codes[k]->name,
			       (double)codes[k]->count);
	}
	family(sb, "api_call_duration_seconds_total", "counter",
	       "Time spent in AWS API calls, retries included.");
	for (i = 0; i < m->n_ops; i++)
		sample(sb, "api_call_duration_seconds_total", "operation",
		       ops[i]->name, NULL, NULL,
		       (double)ops[i]->usec / USEC_PER_SEC);
}

int metrics_render(const struct metrics *m, struct strbuf *sb)
{
	if (!m || !sb)
		return -EINVAL;
	render_pipelines(m, sb);
	render_api(m, sb);
	family(sb, "metrics_series_dropped_total", "counter",
	       "Updates refused because a label bound was reached or a name "
	       "was invalid.");
	sample(sb, "metrics_series_dropped_total", NULL, NULL, NULL, NULL,
	       (double)m->dropped);
	return strbuf_error(sb);
}

/* ---- config check ------------------------------------------------------------ */

int metrics_check_path(const char *path, char *err, size_t errlen)
{
	const char *slash, *base;
	struct stat st;
	char *dir = NULL;
	size_t n;
	int r = 0;

	if (!path || path[0] != '/') {
		if (err && errlen)
			snprintf(err, errlen, "\"%s\" is not an absolute path; "
				 "write e.g. /var/lib/node_exporter/textfile/"
				 "personalize-retrain.prom", path ? path : "");
		return -EINVAL;
	}
	slash = strrchr(path, '/');
	base = slash + 1;
	n = strlen(base);
	if (n <= 5 || strcmp(base + n - 5, ".prom") != 0 || base[0] == '.') {
		if (err && errlen)
			snprintf(err, errlen, "%s: the file name must end in "
				 ".prom and not start with '.' (node_exporter's "
				 "textfile collector reads only *.prom files)",
				 path);
		return -EINVAL;
	}
	dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	if (stat(dir, &st) < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "directory %s: %s", dir,
				 strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		r = -ENOTDIR;
		if (err && errlen)
			snprintf(err, errlen, "%s is not a directory", dir);
	}
	free(dir);
	return r;
}

/* ---- atomic write ------------------------------------------------------------ */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int metrics_write(const struct metrics *m, const char *path)
{
	struct strbuf text = STRBUF_INIT, tmp = STRBUF_INIT, dir = STRBUF_INIT;
	const char *slash, *base;
	int fd = -1, dfd = -1, r;

	if (!m || !path || !path[0])
		return -EINVAL;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base)
		return -EINVAL; /* a directory */
	if (slash)
		strbuf_append(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		strbuf_putc(&dir, '.');
	strbuf_printf(&tmp, "%s/.%s.XXXXXX", dir.buf ? dir.buf : ".", base);
	r = strbuf_error(&dir);
	if (r == 0)
		r = strbuf_error(&tmp);
	if (r == 0)
		r = metrics_render(m, &text);
	if (r < 0)
		goto cleanup;
	fd = mkostemp(tmp.buf, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto cleanup;
	}
	if ((r = write_all(fd, text.buf ? text.buf : "", text.len)) < 0)
		goto unlink;
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto unlink;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0) {
		r = -errno;
		goto unlink;
	}
	/* the rename itself is durable once the directory is synced */
	dfd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	r = 0;
	goto cleanup;
unlink:
	(void)unlink(tmp.buf);
cleanup:
	if (fd >= 0)
		close(fd);
	strbuf_free(&text);
	strbuf_free(&tmp);
	strbuf_free(&dir);
	return r;
}
