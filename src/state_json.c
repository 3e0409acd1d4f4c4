/* state_json.c - the JSON form of a pipeline's state: state_to_json,
 * state_from_json and the packed form the runner saves a run with; see
 * include/state.h. No file is read or written here (state.c does that). */
#include "state.h"
#include "state-internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "log.h"

/* Messages name paths and ARNs; cutting them short is acceptable. */
#if defined(__GNUC__) && !defined(__clang__) /* clang has no such group */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define TIME_FMT_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */

/* ---- helpers ----------------------------------------------------------- */

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		copy_str(buf, len, "");
}

static int parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se, n = -1;
	struct tm tm;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se,
		   &n) != 6 || n < 0 || s[n] != '\0' || strlen(s) != 20)
		return -EINVAL;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || se > 60 || h < 0 || mi < 0 || se < 0)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}

/* ---- serialise --------------------------------------------------------- */

struct out {
	bool oom;
};

/* First size of the buffer a state or run is printed into: a state file
 * with a full history is about 5 kB, a run about 2.5 kB. */
#define STATE_PRINT_BUFFER 8192

/* The tree built here is printed and deleted before the function that
 * built it returns, while the state or run it describes is still there:
 * keys (all literals) are added as constants and string values as
 * references, one allocation per member instead of three (every save of
 * a run builds some hundred members). */
static cJSON *add_item(struct out *o, cJSON *obj, const char *key,
		       cJSON *item)
{
	if (!item || !cJSON_AddItemToObjectCS(obj, key, item)) {
		cJSON_Delete(item);
		o->oom = true;
		return NULL;
	}
	return item;
}

/* v must outlive the tree (see above) */
static void add_str(struct out *o, cJSON *obj, const char *key, const char *v)
{
	(void)add_item(o, obj, key, cJSON_CreateStringReference(v ? v : ""));
}

static void add_null(struct out *o, cJSON *obj, const char *key)
{
	(void)add_item(o, obj, key, cJSON_CreateNull());
}

static void add_time(struct out *o, cJSON *obj, const char *key, time_t t)
{
	char buf[TIME_FMT_LEN + 8];

	if (t == 0) {
		add_null(o, obj, key);
		return;
	}
	fmt_time(t, buf, sizeof(buf));
	(void)add_item(o, obj, key, cJSON_CreateString(buf));  /* a copy */
}

static void add_bool(struct out *o, cJSON *obj, const char *key, bool v)
{
	(void)add_item(o, obj, key, cJSON_CreateBool(v));
}

static void add_num(struct out *o, cJSON *obj, const char *key, double v)
{
	(void)add_item(o, obj, key, cJSON_CreateNumber(v));
}

static cJSON *add_obj(struct out *o, cJSON *parent, const char *key)
{
	return add_item(o, parent, key, cJSON_CreateObject());
}

static cJSON *add_arr(struct out *o, cJSON *parent, const char *key)
{
	return add_item(o, parent, key, cJSON_CreateArray());
}

/* d: the slot's dataset record (a dataset slot), or NULL */
static void put_slot(struct out *o, cJSON *j, const struct rt_slot *s,
		     const struct rt_dataset *d)
{
	if (!j)
		return;
	if (d) {
		add_str(o, j, "dataset_type", d->ds_type);
		add_str(o, j, "dataset_arn", d->ds_arn);
		add_str(o, j, "s3_path", d->s3_path);
	}
	add_str(o, j, "name", s->name);
	add_str(o, j, "arn", s->arn);
	add_str(o, j, "phase", rt_phase_name(s->phase));
	add_str(o, j, "status", s->status);
	add_str(o, j, "reason", s->reason);
	add_bool(o, j, "adopted", s->adopted);
	add_time(o, j, "created_at", s->created_at);
	add_time(o, j, "finished_at", s->finished_at);
	if (d && (d->prev_etag[0] || d->prev_last_modified[0] ||
		  d->etag[0] || d->last_modified[0] || d->unchanged)) {
		add_str(o, j, "prev_etag", d->prev_etag);
		add_str(o, j, "prev_last_modified", d->prev_last_modified);
		add_str(o, j, "etag", d->etag);
		add_str(o, j, "last_modified", d->last_modified);
		add_bool(o, j, "unchanged", d->unchanged);
	}
}

static void put_run(struct out *o, cJSON *j, const struct rt_run *r)
{
	cJSON *arr;
	size_t i;

	if (!j)
		return;
	add_time(o, j, "fire_time", r->fire_time);
	add_time(o, j, "started_at", r->started_at);
	add_time(o, j, "finished_at", r->finished_at);
	add_str(o, j, "stage", rt_stage_name(r->stage));
	add_str(o, j, "outcome", rt_outcome_name(r->outcome));
	add_str(o, j, "reason", r->reason);
	add_bool(o, j, "followed", r->followed);
	add_bool(o, j, "find_first", r->find_first);
	add_str(o, j, "role_arn", r->role_arn);
	add_str(o, j, "solution_arn", r->solution_arn);
	add_str(o, j, "campaign_arn", r->campaign_arn);
	add_str(o, j, "training_mode",
		r->training_mode == RT_TRAIN_UPDATE ? "UPDATE" : "FULL");
	add_str(o, j, "import_mode",
		r->import_mode == RT_IMPORT_INCREMENTAL ? "INCREMENTAL" : "FULL");
	add_num(o, j, "poll_interval", r->poll_interval_s);
	add_num(o, j, "max_run_duration", r->max_run_duration_s);
	add_num(o, j, "max_consecutive_errors", r->max_consecutive_errors);
	add_str(o, j, "prev_version_arn", r->prev_version_arn);
	if (r->skip_unchanged)
		add_bool(o, j, "skip_unchanged", true);
	if (r->gate.enabled) {
		cJSON *g = add_obj(o, j, "gate");

		if (g) {
			add_str(o, g, "metric", r->gate.metric);
			add_num(o, g, "max_regression", r->gate.max_regression);
			if (r->gate.has_min_quality)
				add_num(o, g, "min_quality", r->gate.min_quality);
			else
				add_null(o, g, "min_quality");
		}
	}
	arr = add_arr(o, j, "imports");
	if (!arr)
		return;
	for (i = 0; i < r->n_datasets; i++) {
		cJSON *s = cJSON_CreateObject();

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			o->oom = true;
			return;
		}
		put_slot(o, s, &r->slots[i], &r->datasets[i]);
	}
	put_slot(o, add_obj(o, j, "version"), &r->slots[RT_SLOT_VERSION], NULL);
	if (r->campaign_arn[0])
		put_slot(o, add_obj(o, j, "campaign"),
			 &r->slots[RT_SLOT_CAMPAIGN], NULL);
	if (r->batch_kind != RT_BATCH_NONE) {
		cJSON *b = add_obj(o, j, "batch");

		if (!b)
			return;
		add_str(o, b, "kind", rt_batch_kind_name(r->batch_kind));
		add_str(o, b, "input", r->batch_input);
		add_str(o, b, "output", r->batch_output);
		add_str(o, b, "role_arn", r->batch_role_arn);
		add_num(o, b, "num_results", r->batch_num_results);
		add_str(o, b, "filter_arn", r->batch_filter_arn);
		put_slot(o, add_obj(o, b, "job"), &r->slots[RT_SLOT_BATCH],
			 NULL);
	}
}

/* The file's text; rest_only: without "last_fire" and "run" (state_pack,
 * which splices them in at the end). */
static int to_json(const struct state *st, bool rest_only, char **out)
{
	struct out o = { false };
	cJSON *root = NULL, *c, *arr;
	char *text = NULL;
	size_t i;
	int r = -ENOMEM;

	if (!st || !out)
		return -EINVAL;
	root = cJSON_CreateObject();
	if (!root)
		goto cleanup;
	add_num(&o, root, "version", STATE_SCHEMA_VERSION);
	add_str(&o, root, "pipeline", st->pipeline);
	if (!rest_only)
		add_time(&o, root, "last_fire", st->last_fire);
	c = add_obj(&o, root, "campaign");
	if (c) {
		add_str(&o, c, "previous_version", st->campaign_prev_version);
		add_str(&o, c, "current_version", st->campaign_version);
	}
	if (!rest_only && st->has_run)
		put_run(&o, add_obj(&o, root, "run"), &st->run);
	else if (!rest_only)
		add_null(&o, root, "run");
	arr = add_arr(&o, root, "history");
	for (i = 0; arr && i < st->n_history && i < STATE_HISTORY_MAX; i++) {
		const struct state_history *h = &st->history[i];
		cJSON *e = cJSON_CreateObject();

		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			o.oom = true;
			break;
		}
		add_time(&o, e, "fire_time", h->fire_time);
		add_time(&o, e, "started_at", h->started_at);
		add_time(&o, e, "finished_at", h->finished_at);
		add_str(&o, e, "outcome", rt_outcome_name(h->outcome));
		add_bool(&o, e, "followed", h->followed);
		if (h->kind == RT_KIND_ROLLBACK)
			add_str(&o, e, "kind", rt_kind_name(h->kind));
		add_str(&o, e, "version_name", h->version_name);
		add_str(&o, e, "version_arn", h->version_arn);
		add_str(&o, e, "reason", h->reason);
		if (h->batch_output[0])
			add_str(&o, e, "batch_output", h->batch_output);
	}
	if (st->n_datasets > 0) {
		arr = add_arr(&o, root, "datasets");
		for (i = 0; arr && i < st->n_datasets && i < STATE_DATASETS_MAX;
		     i++) {
			cJSON *e = cJSON_CreateObject();

			if (!e || !cJSON_AddItemToArray(arr, e)) {
				cJSON_Delete(e);
				o.oom = true;
				break;
			}
			add_str(&o, e, "dataset_arn", st->datasets[i].dataset_arn);
			add_str(&o, e, "etag", st->datasets[i].etag);
			add_str(&o, e, "last_modified",
				st->datasets[i].last_modified);
		}
	}
	if (!arr || o.oom)
		goto cleanup;
	/* printed into one buffer of about the file's size, not grown from
	 * cJSON's 256 bytes by repeated reallocs; then trimmed, as the text
	 * may be held (state_pack) */
	text = cJSON_PrintBuffered(root, STATE_PRINT_BUFFER, 1);
	if (!text)
		goto cleanup;
	*out = realloc(text, strlen(text) + 1);
	if (!*out)
		*out = text;
	r = 0;
cleanup:
	cJSON_Delete(root);
	return r;
}

int state_to_json(const struct state *st, char **out)
{
	return to_json(st, false, out);
}

/* ---- parse ------------------------------------------------------------- */

struct in {
	char *err;
	size_t errlen;
	bool bad;
};

static void bad(struct in *in, const char *what, const char *key)
{
	if (in->bad)
		return;
	in->bad = true;
	if (in->err && in->errlen)
		snprintf(in->err, in->errlen, "%s \"%s\"", what, key);
}

static void bad_msg(struct in *in, const char *msg)
{
	if (in->bad)
		return;
	in->bad = true;
	if (in->err && in->errlen)
		snprintf(in->err, in->errlen, "%s", msg);
}

static const cJSON *member(struct in *in, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		bad(in, "missing member", key);
	return v;
}

static void get_str(struct in *in, const cJSON *obj, const char *key,
		    char *buf, size_t len)
{
	const cJSON *v = member(in, obj, key);

	if (!v)
		return;
	if (!cJSON_IsString(v) || !v->valuestring) {
		bad(in, "not a string:", key);
		return;
	}
	if (strlen(v->valuestring) >= len) {
		bad(in, "string too long:", key);
		return;
	}
	copy_str(buf, len, v->valuestring);
}

static time_t get_time(struct in *in, const cJSON *obj, const char *key)
{
	const cJSON *v = member(in, obj, key);
	time_t t = 0;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring ||
	    parse_time(v->valuestring, &t) < 0)
		bad(in, "not a time (YYYY-MM-DDTHH:MM:SSZ or null):", key);
	return t;
}

static bool get_bool(struct in *in, const cJSON *obj, const char *key)
{
	const cJSON *v = member(in, obj, key);

	if (v && !cJSON_IsBool(v))
		bad(in, "not a boolean:", key);
	return v && cJSON_IsTrue(v);
}

static unsigned get_uint(struct in *in, const cJSON *obj, const char *key,
			 unsigned max)
{
	const cJSON *v = member(in, obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > (double)max ||
	    v->valuedouble != (double)(unsigned)v->valuedouble) {
		bad(in, "not a whole number in range:", key);
		return 0;
	}
	return (unsigned)v->valuedouble;
}

/* Optional members of schema version 1 (state.h): absent is fine (the
 * default stays), present must be well-formed. */
static void opt_str(struct in *in, const cJSON *obj, const char *key,
		    char *buf, size_t len)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		get_str(in, obj, key, buf, len);
}

static bool opt_bool(struct in *in, const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key) &&
	       get_bool(in, obj, key);
}

static double get_fraction(struct in *in, const cJSON *obj, const char *key,
			   double max)
{
	const cJSON *v = member(in, obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
	    !(v->valuedouble <= max)) {
		bad(in, "not a number in range:", key);
		return 0;
	}
	return v->valuedouble;
}

static void get_gate(struct in *in, const cJSON *g, struct rt_gate *out)
{
	const cJSON *m;

	if (!cJSON_IsObject(g)) {
		bad(in, "not an object:", "gate");
		return;
	}
	get_str(in, g, "metric", out->metric, sizeof(out->metric));
	out->max_regression = get_fraction(in, g, "max_regression", 1);
	m = member(in, g, "min_quality");
	if (m && !cJSON_IsNull(m)) {
		out->has_min_quality = true;
		out->min_quality = get_fraction(in, g, "min_quality", 1e300);
	}
	if (!in->bad && !out->metric[0])
		bad(in, "empty metric in", "gate");
	out->enabled = !in->bad;
}

static bool valid_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '-' && c != '_')))
			return false;
	}
	return i > 0;
}

/* d: the slot's dataset record (a dataset slot), or NULL */
static void get_slot(struct in *in, const cJSON *j, struct rt_slot *s,
		     struct rt_dataset *d, const char *what)
{
	char phase[32];

	if (!cJSON_IsObject(j)) {
		bad(in, "not an object:", what);
		return;
	}
	if (d) {
		get_str(in, j, "dataset_type", d->ds_type, sizeof(d->ds_type));
		get_str(in, j, "dataset_arn", d->ds_arn, sizeof(d->ds_arn));
		get_str(in, j, "s3_path", d->s3_path, sizeof(d->s3_path));
		if (!in->bad && (!d->ds_type[0] || !d->ds_arn[0] || !d->s3_path[0]))
			bad(in, "empty dataset field in", what);
	}
	get_str(in, j, "name", s->name, sizeof(s->name));
	get_str(in, j, "arn", s->arn, sizeof(s->arn));
	get_str(in, j, "phase", phase, sizeof(phase));
	get_str(in, j, "status", s->status, sizeof(s->status));
	get_str(in, j, "reason", s->reason, sizeof(s->reason));
	s->adopted = get_bool(in, j, "adopted");
	s->created_at = get_time(in, j, "created_at");
	s->finished_at = get_time(in, j, "finished_at");
	if (d) {
		opt_str(in, j, "prev_etag", d->prev_etag, sizeof(d->prev_etag));
		opt_str(in, j, "prev_last_modified", d->prev_last_modified,
			sizeof(d->prev_last_modified));
		opt_str(in, j, "etag", d->etag, sizeof(d->etag));
		opt_str(in, j, "last_modified", d->last_modified,
			sizeof(d->last_modified));
		d->unchanged = opt_bool(in, j, "unchanged");
	}
	if (in->bad)
		return;
	if (rt_phase_parse(phase, &s->phase) < 0 || s->phase == RT_PH_UNUSED)
		bad(in, "unknown phase in", what);
	else if (!valid_name(s->name))
		bad(in, "invalid job name in", what);
	else if ((s->phase == RT_PH_RUNNING || s->phase == RT_PH_ACTIVE) &&
		 !s->arn[0])
		bad(in, "running or active job without an ARN in", what);
}

static void get_batch(struct in *in, const cJSON *b, struct rt_run *r)
{
	char kind[32];

	if (!cJSON_IsObject(b)) {
		bad(in, "not an object:", "batch");
		return;
	}
	get_str(in, b, "kind", kind, sizeof(kind));
	get_str(in, b, "input", r->batch_input, sizeof(r->batch_input));
	get_str(in, b, "output", r->batch_output, sizeof(r->batch_output));
	get_str(in, b, "role_arn", r->batch_role_arn,
		sizeof(r->batch_role_arn));
	r->batch_num_results = get_uint(in, b, "num_results", 0x7fffffffu);
	get_str(in, b, "filter_arn", r->batch_filter_arn,
		sizeof(r->batch_filter_arn));
	if (in->bad)
		return;
	if (rt_batch_kind_parse(kind, &r->batch_kind) < 0 ||
	    r->batch_kind == RT_BATCH_NONE)
		bad(in, "unknown value of", "kind");
	else if (!r->batch_input[0] || !r->batch_output[0] ||
		 !r->batch_role_arn[0])
		bad(in, "incomplete batch job in", "batch");
	else
		get_slot(in, member(in, b, "job"), &r->slots[RT_SLOT_BATCH],
			 NULL, "batch job");
}

static void get_run(struct in *in, const cJSON *j, const char *pipeline,
		    struct rt_run *r)
{
	const cJSON *arr, *e;
	char stage[32], outcome[32], mode[32];
	size_t n = 0, i;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(j)) {
		bad(in, "not an object:", "run");
		return;
	}
	copy_str(r->pipeline, sizeof(r->pipeline), pipeline);
	r->fire_time = get_time(in, j, "fire_time");
	r->started_at = get_time(in, j, "started_at");
	r->finished_at = get_time(in, j, "finished_at");
	get_str(in, j, "stage", stage, sizeof(stage));
	get_str(in, j, "outcome", outcome, sizeof(outcome));
	get_str(in, j, "reason", r->reason, sizeof(r->reason));
	r->followed = get_bool(in, j, "followed");
	r->find_first = get_bool(in, j, "find_first");
	get_str(in, j, "role_arn", r->role_arn, sizeof(r->role_arn));
	get_str(in, j, "solution_arn", r->solution_arn, sizeof(r->solution_arn));
	get_str(in, j, "campaign_arn", r->campaign_arn, sizeof(r->campaign_arn));
	get_str(in, j, "training_mode", mode, sizeof(mode));
	if (!in->bad) {
		if (!strcmp(mode, "UPDATE"))
			r->training_mode = RT_TRAIN_UPDATE;
		else if (strcmp(mode, "FULL"))
			bad(in, "unknown value of", "training_mode");
	}
	get_str(in, j, "import_mode", mode, sizeof(mode));
	if (!in->bad) {
		if (!strcmp(mode, "INCREMENTAL"))
			r->import_mode = RT_IMPORT_INCREMENTAL;
		else if (strcmp(mode, "FULL"))
			bad(in, "unknown value of", "import_mode");
	}
	r->poll_interval_s = get_uint(in, j, "poll_interval", 86400);
	r->max_run_duration_s = get_uint(in, j, "max_run_duration", 0x7fffffffu);
	r->max_consecutive_errors =
		get_uint(in, j, "max_consecutive_errors", 0x7fffffffu);
	get_str(in, j, "prev_version_arn", r->prev_version_arn,
		sizeof(r->prev_version_arn));
	r->skip_unchanged = opt_bool(in, j, "skip_unchanged");
	e = cJSON_GetObjectItemCaseSensitive(j, "gate");
	if (e && !cJSON_IsNull(e))
		get_gate(in, e, &r->gate);
	arr = member(in, j, "imports");
	if (in->bad)
		return;
	if (!cJSON_IsArray(arr)) {
		bad(in, "not an array:", "imports");
		return;
	}
	cJSON_ArrayForEach(e, arr) {
		if (n >= RT_MAX_DATASETS) {
			bad(in, "too many entries in", "imports");
			return;
		}
		get_slot(in, e, &r->slots[n], &r->datasets[n], "imports");
		n++;
	}
	r->n_datasets = n;
	get_slot(in, member(in, j, "version"), &r->slots[RT_SLOT_VERSION], NULL,
		 "version");
	if (r->campaign_arn[0])
		get_slot(in, member(in, j, "campaign"),
			 &r->slots[RT_SLOT_CAMPAIGN], NULL, "campaign");
	e = cJSON_GetObjectItemCaseSensitive(j, "batch");
	if (e && !cJSON_IsNull(e))
		get_batch(in, e, r);
	if (in->bad)
		return;
	if (rt_stage_parse(stage, &r->stage) < 0 || r->stage == RT_STAGE_IDLE ||
	    r->stage == RT_STAGE_VERIFYING /* rollbacks are never saved */)
		bad(in, "unknown value of", "stage");
	else if ((r->stage == RT_STAGE_CHECKING && !r->skip_unchanged) ||
		 (r->stage == RT_STAGE_GATING && !r->gate.enabled) ||
		 (r->stage == RT_STAGE_BATCH && r->batch_kind == RT_BATCH_NONE))
		bad(in, "stage does not fit the run's settings:", "stage");
	else if (rt_outcome_parse(outcome, &r->outcome) < 0 ||
		 (r->stage == RT_STAGE_DONE) != (r->outcome != RT_OUT_NONE))
		bad(in, "outcome does not fit the stage:", "outcome");
	else if (n == 0)
		bad(in, "no datasets in", "imports");
	else if (!r->fire_time || !r->started_at)
		bad(in, "a run needs a fire time and a start time:", "run");
	else if (!r->role_arn[0] || !r->solution_arn[0] ||
		 r->poll_interval_s < 1 || r->max_run_duration_s < 1)
		bad(in, "incomplete pipeline copy in", "run");
	if (in->bad)
		return;
	/* Later stages need the earlier ones done: never deploy a version
	 * that a damaged file merely claims is there. */
	if (r->stage == RT_STAGE_TRAINING || r->stage == RT_STAGE_GATING ||
	    r->stage == RT_STAGE_DEPLOYING || r->stage == RT_STAGE_BATCH)
		for (i = 0; i < n; i++)
			if (r->slots[i].phase != RT_PH_ACTIVE)
				bad(in, "stage does not fit the imports:", "stage");
	if (r->stage == RT_STAGE_DEPLOYING &&
	    (r->slots[RT_SLOT_VERSION].phase != RT_PH_ACTIVE || !r->campaign_arn[0]))
		bad(in, "stage does not fit the version:", "stage");
	if ((r->stage == RT_STAGE_GATING || r->stage == RT_STAGE_BATCH) &&
	    r->slots[RT_SLOT_VERSION].phase != RT_PH_ACTIVE)
		bad(in, "stage does not fit the version:", "stage");
	/* a batch job only of a version the campaign serves */
	if (r->stage == RT_STAGE_BATCH && r->campaign_arn[0] &&
	    r->slots[RT_SLOT_CAMPAIGN].phase != RT_PH_ACTIVE)
		bad(in, "stage does not fit the campaign:", "stage");
	if (r->campaign_arn[0])
		copy_str(r->slots[RT_SLOT_CAMPAIGN].arn,
			 sizeof(r->slots[RT_SLOT_CAMPAIGN].arn), r->campaign_arn);
}

static void get_history(struct in *in, const cJSON *e, struct state_history *h)
{
	char outcome[32], kind[32] = "retrain";

	if (!cJSON_IsObject(e)) {
		bad(in, "not an object:", "history");
		return;
	}
	h->fire_time = get_time(in, e, "fire_time");
	h->started_at = get_time(in, e, "started_at");
	h->finished_at = get_time(in, e, "finished_at");
	get_str(in, e, "outcome", outcome, sizeof(outcome));
	h->followed = get_bool(in, e, "followed");
	get_str(in, e, "version_name", h->version_name, sizeof(h->version_name));
	get_str(in, e, "version_arn", h->version_arn, sizeof(h->version_arn));
	get_str(in, e, "reason", h->reason, sizeof(h->reason));
	opt_str(in, e, "kind", kind, sizeof(kind)); /* absent: retrain */
	opt_str(in, e, "batch_output", h->batch_output,
		sizeof(h->batch_output));
	if (!in->bad && (rt_outcome_parse(outcome, &h->outcome) < 0 ||
			 h->outcome == RT_OUT_NONE))
		bad(in, "unknown value of", "outcome");
	if (!in->bad && rt_kind_parse(kind, &h->kind) < 0)
		bad(in, "unknown value of", "kind");
}

int state_from_json(const char *text, size_t len, const char *pipeline,
		    struct state *out, char *err, size_t errlen)
{
	struct in in = { err, errlen, false };
	struct state *st = NULL;
	cJSON *root = NULL;
	const cJSON *v, *e;
	char name[RT_PIPELINE_MAX + 1] = "";
	int r = -EINVAL;

	if (err && errlen)
		err[0] = '\0';
	if (!text || !out) {
		bad_msg(&in, "no input");
		goto cleanup;
	}
	if (len > STATE_FILE_MAX) {
		bad_msg(&in, "larger than the state file limit");
		goto cleanup;
	}
	root = cJSON_ParseWithLength(text, len);
	if (!root || !cJSON_IsObject(root)) {
		bad_msg(&in, "not a JSON object: corrupt or truncated");
		goto cleanup;
	}
	v = member(&in, root, "version");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble != STATE_SCHEMA_VERSION)) {
		if (err && errlen)
			snprintf(err, errlen,
				 "schema version %g is not the supported version %d",
				 cJSON_IsNumber(v) ? v->valuedouble : -1.0,
				 STATE_SCHEMA_VERSION);
		in.bad = true;
	}
	get_str(&in, root, "pipeline", name, sizeof(name));
	if (in.bad)
		goto cleanup;
	if (!name[0] || (pipeline && strcmp(name, pipeline))) {
		if (err && errlen)
			snprintf(err, errlen,
				 "the file belongs to pipeline \"%s\", not \"%s\"",
				 name, pipeline ? pipeline : "");
		goto cleanup;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		r = -ENOMEM;
		goto cleanup;
	}
	state_init(st, name);
	st->last_fire = get_time(&in, root, "last_fire");
	v = member(&in, root, "campaign");
	if (v && !cJSON_IsObject(v))
		bad(&in, "not an object:", "campaign");
	else if (v) {
		get_str(&in, v, "previous_version", st->campaign_prev_version,
			sizeof(st->campaign_prev_version));
		get_str(&in, v, "current_version", st->campaign_version,
			sizeof(st->campaign_version));
	}
	v = member(&in, root, "run");
	if (v && !cJSON_IsNull(v)) {
		get_run(&in, v, name, &st->run);
		st->has_run = !in.bad;
	}
	v = member(&in, root, "history");
	if (v && !cJSON_IsArray(v))
		bad(&in, "not an array:", "history");
	else if (v)
		cJSON_ArrayForEach(e, v) {
			if (st->n_history >= STATE_HISTORY_MAX)
				break; /* older entries are dropped */
			get_history(&in, e, &st->history[st->n_history++]);
		}
	v = cJSON_GetObjectItemCaseSensitive(root, "datasets");
	if (v && !cJSON_IsArray(v))
		bad(&in, "not an array:", "datasets");
	else if (v)
		cJSON_ArrayForEach(e, v) {
			struct state_dataset *d;

			if (st->n_datasets >= STATE_DATASETS_MAX) {
				bad(&in, "too many entries in", "datasets");
				break;
			}
			d = &st->datasets[st->n_datasets++];
			if (!cJSON_IsObject(e)) {
				bad(&in, "not an object:", "datasets");
				break;
			}
			get_str(&in, e, "dataset_arn", d->dataset_arn,
				sizeof(d->dataset_arn));
			get_str(&in, e, "etag", d->etag, sizeof(d->etag));
			get_str(&in, e, "last_modified", d->last_modified,
				sizeof(d->last_modified));
			if (!in.bad && !d->dataset_arn[0])
				bad(&in, "empty dataset_arn in", "datasets");
		}
	if (in.bad)
		goto cleanup;
	/* Crashed between saving a finished run and recording it. */
	if (st->has_run && rt_done(&st->run))
		state_finish_run(st, &st->run);
	memcpy(out, st, sizeof(*st));
	r = 0;
cleanup:
	free(st);
	cJSON_Delete(root);
	return r;
}

/* ---- packed: a state whose run is active ------------------------------- */

int state_pack(const struct state *st, struct state_packed *out)
{
	char *rest = NULL;
	size_t len;
	int r;

	if (!st || !out)
		return -EINVAL;
	r = to_json(st, true, &rest);
	if (r < 0)
		return r;
	len = strlen(rest);
	/* cJSON prints an object as "{...}": the splice needs the brace */
	if (len < 2 || rest[len - 1] != '}') {
		free(rest);
		return -EINVAL;
	}
	out->rest = rest;
	out->rest_len = len;
	out->last_fire = st->last_fire;
	return 0;
}

void state_packed_free(struct state_packed *p)
{
	if (!p)
		return;
	free(p->rest);
	p->rest = NULL;
	p->rest_len = 0;
}

/* The whole file: the rest without its closing brace, then last_fire and
 * the run (or null), then the brace. */
int state_packed_text(const struct state_packed *p, const struct rt_run *run,
		      char **out, size_t *outlen)
{
	struct out o = { false };
	cJSON *j = NULL;
	char *rt = NULL, *text = NULL, when[TIME_FMT_LEN + 8];
	size_t n, cap;
	int r = -ENOMEM;

	if (!p || !p->rest || p->rest_len < 2)
		return -EINVAL;
	if (run) {
		j = cJSON_CreateObject();
		if (!j)
			goto cleanup;
		put_run(&o, j, run);
		if (o.oom)
			goto cleanup;
		rt = cJSON_PrintBuffered(j, STATE_PRINT_BUFFER, 1);
		if (!rt)
			goto cleanup;
	}
	if (p->last_fire)
		fmt_time(p->last_fire, when, sizeof(when));
	cap = p->rest_len + sizeof(when) + (rt ? strlen(rt) : 4) + 64;
	text = malloc(cap);
	if (!text)
		goto cleanup;
	n = p->rest_len - 1;
	memcpy(text, p->rest, n);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\t' ||
			 text[n - 1] == ' '))
		n--;
	n += (size_t)snprintf(text + n, cap - n,
			      ",\n\t\"last_fire\":\t%s%s%s,\n\t\"run\":\t%s\n}",
			      p->last_fire ? "\"" : "",
			      p->last_fire ? when : "null",
			      p->last_fire ? "\"" : "", rt ? rt : "null");
	if (n >= cap) {
		r = -EOVERFLOW;
		goto cleanup;
	}
	*out = text;
	*outlen = n;
	text = NULL;
	r = 0;
cleanup:
	free(text);
	free(rt);
	cJSON_Delete(j);
	return r;
}

int state_unpack(const struct state_packed *p, const char *pipeline,
		 struct state *out)
{
	char *text = NULL, err[256];
	size_t len = 0;
	int r;

	r = state_packed_text(p, NULL, &text, &len);
	if (r < 0)
		return r;
	r = state_from_json(text, len, pipeline, out, err, sizeof(err));
	if (r < 0)
		log_error("cannot unpack the state of %s: %s",
			  pipeline ? pipeline : "?", err);
	free(text);
	return r;
}
