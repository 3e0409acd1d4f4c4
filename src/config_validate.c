/* config_validate.c - raw text values to the typed struct config.
 *
 * Every rule of personalize-retrain.cfg(5): types and bounds per key (from
 * config_keys[]), required keys, dataset pairs, one partition/region/account
 * per pipeline, the schedule (parsed with its time zone), unique pipeline
 * names. Each problem is reported at the line of the value at fault (or
 * where a missing key would go), and checking goes on to find the rest. */
#include "config-internal.h"
#include "gate.h"
#include "hook_config.h"
#include "metrics_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for a value quoted by config_quote(): every byte as \xNN, "...". */
#define QUOTE_BUF (CONFIG_QUOTE_MAX * 4 + 8)
#define ACCOUNT_DIGITS 12
#define S3_BUCKET_MIN 3
#define S3_BUCKET_MAX 63
#define PIPELINE_NAME_MAX 63
/* A valid cron expression: parsed with a zone to check the zone alone. */
#define TZ_PROBE_EXPR "cron(0 0 * * ? *)"

struct vctx {
	const struct config_raw *raw;
	const struct config_raw_scope *scope; /* NULL: the top level alone */
	struct config_errors *errs;
	unsigned pline;          /* where a missing key is reported */
	bool bad;                /* this pipeline had an error */
};

static const struct config_raw_value *val(const struct vctx *c, int k)
{
	if (c->scope && c->scope->v[k].present)
		return &c->scope->v[k];
	if (c->raw->top.v[k].present)
		return &c->raw->top.v[k];
	return NULL;
}

static const char *str(const struct vctx *c, int k)
{
	const struct config_raw_value *v = val(c, k);

	return v ? v->value : NULL;
}

/* The line of key k, or where it would go. */
static unsigned kline(const struct vctx *c, int k)
{
	const struct config_raw_value *v = val(c, k);

	return v ? v->line : c->pline;
}

static bool invalid(const struct vctx *c, int k)
{
	const struct config_raw_value *v = val(c, k);

	return v && v->invalid;
}

static const char *quote(char *buf, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	config_quote(&sb, value, strlen(value));
	snprintf(buf, QUOTE_BUF, "%s", sb.buf ? sb.buf : "\"\"");
	strbuf_free(&sb);
	return buf;
}

static void verr(struct vctx *c, unsigned line, const char *fmt, ...)
	PR_PRINTF(3, 4);
static void verr(struct vctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;

	c->bad = true;
	va_start(ap, fmt);
	config_errors_addv(c->errs, c->raw->file, line, fmt, ap);
	va_end(ap);
}

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* ---- ARNs ---------------------------------------------------------- */

static const char *example_arn(int k)
{
	switch (k) {
	case CONFIG_KEY_IMPORT_ROLE_ARN:
	case CONFIG_KEY_BATCH_INFERENCE_ROLE_ARN:
	case CONFIG_KEY_BATCH_SEGMENT_ROLE_ARN:
		return "arn:aws:iam::123456789012:role/NAME";
	case CONFIG_KEY_FILTER_ARN:
		return "arn:aws:personalize:REGION:ACCOUNT:filter/NAME";
	case CONFIG_KEY_SOLUTION_ARN:
		return "arn:aws:personalize:REGION:ACCOUNT:solution/NAME";
	case CONFIG_KEY_CAMPAIGN_ARN:
		return "arn:aws:personalize:REGION:ACCOUNT:campaign/NAME";
	case CONFIG_KEY_USER_DATASET_ARN:
		return "arn:aws:personalize:REGION:ACCOUNT:dataset/GROUP/USERS";
	case CONFIG_KEY_ITEM_DATASET_ARN:
		return "arn:aws:personalize:REGION:ACCOUNT:dataset/GROUP/ITEMS";
	default:
		return "arn:aws:personalize:REGION:ACCOUNT:dataset/GROUP/"
			"INTERACTIONS";
	}
}

static bool is_role_name(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
		"QRSTUVWXYZ0123456789+=,.@-_/";

	return *s && strspn(s, ok) == strlen(s);
}

static int dataset_key_type(int k)
{
	switch (k) {
	case CONFIG_KEY_USER_DATASET_ARN:
		return CONFIG_DATASET_USERS;
	case CONFIG_KEY_ITEM_DATASET_ARN:
		return CONFIG_DATASET_ITEMS;
	default:
		return CONFIG_DATASET_INTERACTIONS;
	}
}

static const int dataset_arn_keys[CONFIG_DATASET_COUNT] = {
	CONFIG_KEY_USER_DATASET_ARN, CONFIG_KEY_ITEM_DATASET_ARN,
	CONFIG_KEY_INTERACTION_DATASET_ARN,
};
static const int dataset_path_keys[CONFIG_DATASET_COUNT] = {
	CONFIG_KEY_S3_USER_PATH, CONFIG_KEY_S3_ITEM_PATH,
	CONFIG_KEY_S3_INTERACTION_PATH,
};

/* The resource part of a Personalize ARN for key k; true when right. */
static bool check_resource(struct vctx *c, int k, const struct config_arn *a)
{
	const struct config_key_info *ki = &config_keys[k];
	unsigned line = kline(c, k);
	const char *slash;
	int t;

	if (strcmp(a->type, ki->resource) != 0) {
		verr(c, line, "%s names a %s, not a %s; expected %s", ki->name,
		     *a->type ? a->type : "resource of no type", ki->resource,
		     example_arn(k));
		return false;
	}
	if (strcmp(ki->resource, "dataset") != 0) {
		if (strchr(a->name, '/')) {
			if (k == CONFIG_KEY_SOLUTION_ARN)
				verr(c, line, "SolutionArn names a solution "
				     "version; give the solution's own ARN, "
				     "%s", example_arn(k));
			else
				verr(c, line, "%s has more than one name "
				     "after %s/; expected %s", ki->name,
				     ki->resource, example_arn(k));
			return false;
		}
		if (!config_is_name(a->name, PIPELINE_NAME_MAX)) {
			verr(c, line, "%s: the %s name after %s/ must be 1 to "
			     "63 letters, digits, '-' or '_'; expected %s",
			     ki->name, ki->resource, ki->resource,
			     example_arn(k));
			return false;
		}
		return true;
	}
	/* dataset/GROUP/TYPE */
	slash = strchr(a->name, '/');
	if (!slash || slash == a->name || strchr(slash + 1, '/')) {
		verr(c, line, "%s: a dataset ARN ends in dataset/GROUP/TYPE; "
		     "expected %s", ki->name, example_arn(k));
		return false;
	}
	for (t = 0; t < CONFIG_DATASET_COUNT; t++)
		if (strcmp(slash + 1, config_dataset_arn_type(
				   (enum config_dataset_type)t)) == 0)
			break;
	if (t == CONFIG_DATASET_COUNT) {
		verr(c, line, "%s: dataset type \"%.32s\" is not one we "
		     "re-import; the ARN must end in /%s", ki->name, slash + 1,
		     config_dataset_arn_type(
			     (enum config_dataset_type)dataset_key_type(k)));
		return false;
	}
	if (t != dataset_key_type(k)) {
		verr(c, line, "%s names the %s dataset; it must end in /%s "
		     "(put the %s dataset in %s)", ki->name,
		     config_dataset_arn_type((enum config_dataset_type)t),
		     config_dataset_arn_type(
			     (enum config_dataset_type)dataset_key_type(k)),
		     config_dataset_arn_type((enum config_dataset_type)t),
		     config_keys[dataset_arn_keys[t]].name);
		return false;
	}
	return true;
}

/* Check the ARN of key k; true (and *a filled) when valid. */
static bool check_arn(struct vctx *c, int k, struct config_arn *a)
{
	const struct config_key_info *ki = &config_keys[k];
	const char *v = str(c, k);
	unsigned line = kline(c, k);
	char why[160], q[QUOTE_BUF];
	bool role = ki->type == CONFIG_TYPE_ROLE_ARN;

	if (!v)
		return false;
	if (config_arn_split(v, a, why, sizeof(why)) < 0) {
		verr(c, line, "%s %s is not an ARN: %s; expected %s", ki->name,
		     quote(q, v), why, example_arn(k));
		return false;
	}
	if (strcmp(a->service, role ? "iam" : "personalize") != 0) {
		verr(c, line, "%s must be %s ARN, not one of service \"%.32s\""
		     "; expected %s", ki->name, role ? "an IAM role" :
		     "an Amazon Personalize", a->service, example_arn(k));
		return false;
	}
	if (role && *a->region) {
		verr(c, line, "%s: IAM ARNs have no region (the "
		     "fourth part must be empty); expected %s", ki->name,
		     example_arn(k));
		return false;
	}
	if (!role && !config_is_region(a->region)) {
		verr(c, line, "%s: %s is not an AWS region; expected a region "
		     "like us-east-1 in %s", ki->name, quote(q, a->region),
		     example_arn(k));
		return false;
	}
	if (strlen(a->account) != ACCOUNT_DIGITS ||
	    !all_digits(a->account, strlen(a->account))) {
		verr(c, line, "%s: the account %s must be 12 digits; expected "
		     "%s", ki->name, quote(q, a->account), example_arn(k));
		return false;
	}
	if (role) {
		if (strcmp(a->type, "role") != 0 || !is_role_name(a->name)) {
			verr(c, line, "%s must name an IAM role "
			     "(role/NAME, letters, digits and +=,.@-_/); "
			     "expected %s", ki->name, example_arn(k));
			return false;
		}
		return true;
	}
	return check_resource(c, k, a);
}

/* ---- other types ------------------------------------------------- */

static bool is_bucket(const char *s, size_t len)
{
	size_t i;

	if (len < S3_BUCKET_MIN || len > S3_BUCKET_MAX ||
	    !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool check_s3(struct vctx *c, int k)
{
	const char *v = str(c, k), *b, *slash, *p;
	char q[QUOTE_BUF];
	const char *name = config_keys[k].name;

	if (!v)
		return false;
	if (strncmp(v, "s3://", 5) != 0) {
		verr(c, kline(c, k), "%s %s is not an S3 path; write "
		     "s3://BUCKET/KEY, e.g. s3://my-bucket/data.csv", name,
		     quote(q, v));
		return false;
	}
	b = v + 5;
	slash = strchr(b, '/');
	if (!slash || !is_bucket(b, (size_t)(slash - b))) {
		verr(c, kline(c, k), "%s %s: the bucket name must be 3 to 63 "
		     "lower-case letters, digits, '.' or '-' followed by "
		     "/KEY; write s3://BUCKET/KEY", name, quote(q, v));
		return false;
	}
	if (!slash[1]) {
		verr(c, kline(c, k), "%s %s names no object; write "
		     "s3://BUCKET/KEY (a CSV file, or a folder ending in /)",
		     name, quote(q, v));
		return false;
	}
	for (p = slash + 1; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			verr(c, kline(c, k), "%s %s contains a control "
			     "character; write s3://BUCKET/KEY", name,
			     quote(q, v));
			return false;
		}
	if (strlen(v) > CONFIG_S3_PATH_MAX) {
		verr(c, kline(c, k), "%s %s is %zu characters long; "
		     "Personalize takes S3 paths of at most %d (a shorter "
		     "key, or its folder)", name, quote(q, v), strlen(v),
		     CONFIG_S3_PATH_MAX);
		return false;
	}
	return true;
}

/* An unsigned value of key k within its bounds (SECONDS also take a unit
 * suffix s, m, h or d). */
static bool check_number(struct vctx *c, int k, unsigned *out)
{
	const struct config_key_info *ki = &config_keys[k];
	const char *v = str(c, k), *def = ki->def;
	unsigned long long n = 0, mult = 1;
	size_t len, i;
	char q[QUOTE_BUF];
	bool seconds = ki->type == CONFIG_TYPE_SECONDS;

	if (!v && !def)
		return false; /* unset, no default: *out stays */
	if (!v)
		v = def;
	len = strlen(v);
	if (seconds && len > 1 && !isdigit((unsigned char)v[len - 1])) {
		switch (v[len - 1]) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: mult = 0; break;
		}
		len--;
	}
	if (mult == 0 || !all_digits(v, len) || len > 12) {
		if (seconds)
			verr(c, kline(c, k), "%s %s is not a duration; write "
			     "a whole number of seconds (optionally with s, "
			     "m, h or d), e.g. %s%s%s", ki->name, quote(q, v),
			     ki->name, c->raw->assign, ki->def);
		else
			verr(c, kline(c, k), "%s %s is not a whole number; "
			     "write e.g. %s%s%s", ki->name, quote(q, v),
			     ki->name, c->raw->assign, def ? def : "10");
		return false;
	}
	for (i = 0; i < len; i++)
		n = n * 10 + (unsigned long long)(v[i] - '0');
	n *= mult;
	if (n < ki->min || n > ki->max) {
		verr(c, kline(c, k), "%s %s is out of range; use %lu to %lu%s",
		     ki->name, quote(q, v), ki->min, ki->max,
		     seconds ? " seconds" : "");
		return false;
	}
	*out = (unsigned)n;
	return true;
}

/* ENUM key k: its index in choices, or -1. */
static int check_enum(struct vctx *c, int k)
{
	const struct config_key_info *ki = &config_keys[k];
	const char *v = str(c, k);
	char q[QUOTE_BUF];
	int i;

	if (!v)
		v = ki->def;
	for (i = 0; ki->choices[i]; i++)
		if (strcmp(v, ki->choices[i]) == 0)
			return i;
	verr(c, kline(c, k), "%s %s is not one of %s; write e.g. %s%s%s",
	     ki->name, quote(q, v), ki->type_doc, ki->name, c->raw->assign,
	     ki->def);
	return -1;
}

static bool check_bool(struct vctx *c, int k, bool *out)
{
	const struct config_key_info *ki = &config_keys[k];
	const char *v = str(c, k);
	char q[QUOTE_BUF];

	if (!v)
		v = ki->def;
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0) {
		*out = false;
		return true;
	}
	verr(c, kline(c, k), "%s %s is neither yes nor no; write %s%syes or "
	     "%s%sno", ki->name, quote(q, v), ki->name, c->raw->assign,
	     ki->name, c->raw->assign);
	return false;
}

static bool check_url(struct vctx *c, int k)
{
	const char *v = str(c, k), *host, *p;
	char q[QUOTE_BUF];
	size_t hlen;

	if (!v)
		return true;
	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else
		goto bad;
	hlen = strcspn(host, ":/?#");
	if (hlen == 0)
		goto bad;
	for (p = host; p < host + hlen; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' &&
		    *p != '[' && *p != ']')
			goto bad;
	p = host + hlen;
	if (*p == ':') {
		size_t plen = strspn(p + 1, "0123456789");

		if (plen == 0 || plen > 5 || (p[1 + plen] && p[1 + plen] != '/'))
			goto bad;
		p += 1 + plen;
	}
	for (; *p; p++)
		if (!isgraph((unsigned char)*p))
			goto bad;
	return true;
bad:
	verr(c, kline(c, k), "%s %s is not an http(s) URL; write "
	     "e.g. %s%s%s or http://127.0.0.1:8080", config_keys[k].name,
	     quote(q, v), config_keys[k].name, c->raw->assign,
	     k == CONFIG_KEY_S3_ENDPOINT_URL ?
	     "https://s3.us-east-1.amazonaws.com" :
	     "https://personalize.us-east-1.amazonaws.com");
	return false;
}

/* EventBusName: a bus name (1 to 256 of [.-_A-Za-z0-9]) or an event-bus
 * ARN, as PutEvents accepts them (NonPartnerEventBusNameOrArn). */
static bool check_event_bus(struct vctx *c, int k)
{
	const char *v = str(c, k), *name;
	struct config_arn a;
	char q[QUOTE_BUF], why[128];
	size_t n;

	if (!v)
		return true;
	name = v;
	if (!strncmp(v, "arn:", 4)) {
		if (config_arn_split(v, &a, why, sizeof(why)) < 0 ||
		    strcmp(a.service, "events") || !a.type ||
		    strcmp(a.type, "event-bus") || !a.name)
			goto bad;
		name = a.name;
	}
	n = strlen(name);
	if (n == 0 || n > 256)
		goto bad;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && *name != '.' &&
		    *name != '-' && *name != '_')
			goto bad;
	return true;
bad:
	verr(c, kline(c, k), "%s %s is not an EventBridge bus name or ARN; "
	     "write e.g. %s%sdefault or %s%sarn:aws:events:us-east-1:"
	     "123456789012:event-bus/retraining", config_keys[k].name,
	     quote(q, v), config_keys[k].name, c->raw->assign,
	     config_keys[k].name, c->raw->assign);
	return false;
}

/* ---- quality gate ---------------------------------------------------- */

/* QualityMetric, MaxRegression, MinQuality into p->gate (the metric name is
 * copied later, with the other strings). */
static void check_gate(struct vctx *c, struct pipeline *p)
{
	const char *metric = str(c, CONFIG_KEY_QUALITY_METRIC);
	const char *maxr = str(c, CONFIG_KEY_MAX_REGRESSION);
	const char *minq = str(c, CONFIG_KEY_MIN_QUALITY);
	const char *name;
	char err[256];

	memset(&p->gate, 0, sizeof(p->gate));
	if (metric && gate_parse_metric(metric, &name, err, sizeof(err)) < 0)
		verr(c, kline(c, CONFIG_KEY_QUALITY_METRIC), "QualityMetric: %s",
		     err);
	if (maxr && gate_parse_max_regression(maxr, &p->gate.max_regression,
					      err, sizeof(err)) < 0)
		verr(c, kline(c, CONFIG_KEY_MAX_REGRESSION), "MaxRegression: %s",
		     err);
	if (minq) {
		if (gate_parse_min_quality(minq, &p->gate.min_quality, err,
					   sizeof(err)) < 0)
			verr(c, kline(c, CONFIG_KEY_MIN_QUALITY),
			     "MinQuality: %s", err);
		else
			p->gate.has_min_quality = true;
	}
	if (!metric && (maxr || minq)) {
		int k = maxr ? CONFIG_KEY_MAX_REGRESSION : CONFIG_KEY_MIN_QUALITY;

		verr(c, kline(c, k), "%s has no effect without QualityMetric; "
		     "set QualityMetric%snormalized_discounted_cumulative_gain_"
		     "at_10 (or another metric) or remove it",
		     config_keys[k].name, c->raw->assign);
	}
}

/* ---- one pipeline ---------------------------------------------------- */

static int dup_opt(char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static void check_schedule(struct vctx *c, struct pipeline *p)
{
	const char *expr = str(c, CONFIG_KEY_RETRAINING_RATE);
	const char *tz = str(c, CONFIG_KEY_SCHEDULE_TIMEZONE);
	struct sched_error e;
	struct sched *s = NULL;
	char q[QUOTE_BUF];
	bool tz_ok = true;

	if (!expr)
		expr = config_keys[CONFIG_KEY_RETRAINING_RATE].def;
	if (tz) {
		memset(&e, 0, sizeof(e));
		if (sched_parse(TZ_PROBE_EXPR, tz, &s, &e) < 0) {
			verr(c, kline(c, CONFIG_KEY_SCHEDULE_TIMEZONE),
			     "ScheduleTimezone %s: %s", quote(q, tz),
			     e.message[0] ? e.message :
			     "not a known IANA time zone; write e.g. "
			     "ScheduleTimezone Europe/Berlin");
			tz_ok = false;
		}
		sched_free(s);
		s = NULL;
	}
	memset(&e, 0, sizeof(e));
	if (sched_parse(expr, tz_ok ? tz : NULL, &s, &e) < 0) {
		if (strcmp(e.field, "timezone") == 0 && !tz_ok)
			goto bad;
		const char *what = e.message[0] ? e.message :
			"not a valid schedule; write rate(N unit) or "
			"cron(min hour dom month dow year)";

		if (e.column > 0)
			verr(c, kline(c, CONFIG_KEY_RETRAINING_RATE),
			     "RetrainingRate %s: %s at column %d: %s",
			     quote(q, expr), e.field[0] ? e.field :
			     "expression", e.column, what);
		else
			verr(c, kline(c, CONFIG_KEY_RETRAINING_RATE),
			     "RetrainingRate %s: %s: %s", quote(q, expr),
			     e.field[0] ? e.field : "expression", what);
		goto bad;
	}
	if (!tz_ok)
		goto bad;
	p->schedule = s;
	return;
bad:
	sched_free(s);
}

/* The pipeline's ARNs, split, and the one the others are compared with. */
struct pipeline_arns {
	struct config_arn arns[CONFIG_KEY_COUNT];
	bool valid[CONFIG_KEY_COUNT];    /* arns[k] holds a valid ARN */
	const struct config_arn *ref;    /* the first valid Personalize ARN */
	int ref_key;                     /* its key; -1 without one */
};

/* Where each key was set; required keys that are missing or empty. */
static void check_required(struct vctx *c, struct pipeline *p)
{
	int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		const struct config_raw_value *v = val(c, k);

		if (config_keys[k].scope == CONFIG_SCOPE_PIPELINE)
			p->key_line[k] = v ? v->line : 0;
		if (v && v->invalid)
			c->bad = true;
	}
	/* required keys */
	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		if (!config_keys[k].required || str(c, k) || invalid(c, k))
			continue;
		if (val(c, k))
			verr(c, kline(c, k), "%s is empty, but it is required; "
			     "write %s%s%s", config_keys[k].name,
			     config_keys[k].name, c->raw->assign,
			     example_arn(k));
		else
			verr(c, c->pline, "%s is missing, but it is required; "
			     "add %s%s%s", config_keys[k].name,
			     config_keys[k].name, c->raw->assign,
			     example_arn(k));
	}
}

/* Each ARN on its own; the Personalize ARNs in one partition, region and
 * account; the import role in the same partition and account. */
static void check_arns(struct vctx *c, struct pipeline_arns *a)
{
	static const int pz_keys[] = {
		CONFIG_KEY_SOLUTION_ARN, CONFIG_KEY_CAMPAIGN_ARN,
		CONFIG_KEY_USER_DATASET_ARN, CONFIG_KEY_ITEM_DATASET_ARN,
		CONFIG_KEY_INTERACTION_DATASET_ARN, CONFIG_KEY_FILTER_ARN,
	};
	static const int role_keys[] = {
		CONFIG_KEY_IMPORT_ROLE_ARN, CONFIG_KEY_BATCH_INFERENCE_ROLE_ARN,
		CONFIG_KEY_BATCH_SEGMENT_ROLE_ARN,
	};
	size_t i;
	int k;

	a->ref = NULL;
	a->ref_key = -1;
	/* ARNs, each on its own */
	for (k = 0; k < CONFIG_KEY_COUNT; k++)
		if (config_keys[k].type == CONFIG_TYPE_ARN ||
		    config_keys[k].type == CONFIG_TYPE_ROLE_ARN)
			a->valid[k] = check_arn(c, k, &a->arns[k]);
	/* one partition, region and account */
	for (i = 0; i < sizeof(pz_keys) / sizeof(pz_keys[0]); i++) {
		k = pz_keys[i];
		if (!a->valid[k])
			continue;
		if (!a->ref) {
			a->ref = &a->arns[k];
			a->ref_key = k;
			continue;
		}
#define SAME(part, what)                                                   \
		if (strcmp(a->arns[k].part, a->ref->part) != 0)                \
			verr(c, kline(c, k), "%s is in %s %s, but %s (line "   \
			     "%u) is in %s %s; all Personalize ARNs of a "     \
			     "pipeline must be in one partition, region and "  \
			     "account", config_keys[k].name, what,             \
			     a->arns[k].part, config_keys[a->ref_key].name,    \
			     kline(c, a->ref_key), what, a->ref->part);
		SAME(partition, "partition")
		else SAME(region, "region")
		else SAME(account, "account")
#undef SAME
	}
	for (i = 0; a->ref && i < sizeof(role_keys) / sizeof(role_keys[0]);
	     i++) {
		const struct config_arn *role = &a->arns[role_keys[i]];

		k = role_keys[i];
		if (!a->valid[k])
			continue;
		if (strcmp(role->partition, a->ref->partition) != 0 ||
		    strcmp(role->account, a->ref->account) != 0)
			verr(c, kline(c, k),
			     "%s is in account %s of partition %s, "
			     "but %s (line %u) is in account %s of partition "
			     "%s; Personalize can only be passed a role of "
			     "its own account", config_keys[k].name,
			     role->account, role->partition,
			     config_keys[a->ref_key].name, kline(c, a->ref_key),
			     a->ref->account, a->ref->partition);
	}
}

/* Dataset ARNs and S3 paths in pairs, at least one pair, all datasets in
 * one dataset group. */
static void check_datasets(struct vctx *c, struct pipeline *p,
			   const struct pipeline_arns *a)
{
	int t, half = 0;

	/* datasets: pairs, one dataset group */
	for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
		int ka = dataset_arn_keys[t], kp = dataset_path_keys[t];
		bool has_a = str(c, ka) || invalid(c, ka);
		bool has_p = str(c, kp) || invalid(c, kp);

		if (str(c, kp))
			(void)check_s3(c, kp);

		if (has_a && !has_p) {
			half++;
			verr(c, kline(c, ka), "%s is set but %s is not; set both "
			     "to re-import the %s dataset, or neither",
			     config_keys[ka].name, config_keys[kp].name,
			     config_dataset_arn_type((enum config_dataset_type)t));
		} else if (has_p && !has_a) {
			half++;
			verr(c, kline(c, kp), "%s is set but %s is not; set both "
			     "to re-import the %s dataset, or neither",
			     config_keys[kp].name, config_keys[ka].name,
			     config_dataset_arn_type((enum config_dataset_type)t));
		} else if (has_a && has_p) {
			p->datasets[t].set = true;
			p->n_datasets++;
		}
	}
	if (p->n_datasets == 0 && half == 0)
		verr(c, c->pline, "no dataset to re-import; set at least one "
		     "pair: UserInteractionDatasetArn and "
		     "S3UserInteractionDatasourcePath, ItemDatasetArn and "
		     "S3ItemDatasourcePath, or UserDatasetArn and "
		     "S3UserDatasourcePath");
	for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
		int ka = dataset_arn_keys[t], t2;

		if (!a->valid[ka])
			continue;
		for (t2 = 0; t2 < t; t2++) {
			int kb = dataset_arn_keys[t2];
			const char *ga = a->arns[ka].name;
			const char *gb = a->arns[kb].name;

			if (!a->valid[kb])
				continue;
			if (strcspn(ga, "/") != strcspn(gb, "/") ||
			    strncmp(ga, gb, strcspn(ga, "/")) != 0) {
				verr(c, kline(c, ka), "%s is in dataset group "
				     "\"%.*s\", but %s (line %u) is in \"%.*s\"; "
				     "all datasets of a pipeline belong to the "
				     "solution's dataset group",
				     config_keys[ka].name,
				     (int)strcspn(ga, "/"), ga,
				     config_keys[kb].name, kline(c, kb),
				     (int)strcspn(gb, "/"), gb);
				break;
			}
		}
	}
}

/* The batch job's keys: input and output in pairs, of one kind only; the
 * input an object (the JSON lines file), the output a folder; the role,
 * NumResults and FilterArn only with a batch job. */
static void check_batch(struct vctx *c, struct pipeline *p)
{
	static const struct {
		int in, out, role;
		enum config_batch_kind kind;
	} kinds[] = {
		{ CONFIG_KEY_BATCH_INFERENCE_INPUT, CONFIG_KEY_BATCH_INFERENCE_OUTPUT,
		  CONFIG_KEY_BATCH_INFERENCE_ROLE_ARN, CONFIG_BATCH_INFERENCE },
		{ CONFIG_KEY_BATCH_SEGMENT_INPUT, CONFIG_KEY_BATCH_SEGMENT_OUTPUT,
		  CONFIG_KEY_BATCH_SEGMENT_ROLE_ARN, CONFIG_BATCH_SEGMENT },
	};
	static const int only_with[] = {
		CONFIG_KEY_NUM_RESULTS, CONFIG_KEY_FILTER_ARN,
	};
	char q[QUOTE_BUF];
	size_t i;
	int first = -1;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int ki = kinds[i].in, ko = kinds[i].out, kr = kinds[i].role;
		bool has_i = str(c, ki) || invalid(c, ki);
		bool has_o = str(c, ko) || invalid(c, ko);
		const char *v;
		size_t n;

		if (str(c, ki) && check_s3(c, ki)) {
			v = str(c, ki);
			n = strlen(v);
			if (v[n - 1] == '/')
				verr(c, kline(c, ki), "%s %s is a folder; name "
				     "the JSON lines file itself, e.g. "
				     "s3://my-bucket/batch/users.json",
				     config_keys[ki].name, quote(q, v));
		}
		if (str(c, ko) && check_s3(c, ko)) {
			v = str(c, ko);
			n = strlen(v);
			if (v[n - 1] != '/')
				verr(c, kline(c, ko), "%s %s must be a folder "
				     "ending in /, e.g. %s/",
				     config_keys[ko].name, quote(q, v),
				     n < 200 ? v : "s3://my-bucket/out");
		}
		if (has_i != has_o) {
			verr(c, kline(c, has_i ? ki : ko), "%s is set but %s is "
			     "not; set both for a batch job after training, "
			     "or neither", config_keys[has_i ? ki : ko].name,
			     config_keys[has_i ? ko : ki].name);
		} else if (has_i && first >= 0) {
			verr(c, kline(c, ki), "%s and %s (line %u) are both set; "
			     "a solution's recipe makes either recommendations "
			     "(BatchInference*) or user segments "
			     "(BatchSegment*): keep one", config_keys[ki].name,
			     config_keys[first].name, kline(c, first));
		} else if (has_i) {
			first = ki;
			p->batch_kind = kinds[i].kind;
		}
		if ((str(c, kr) || invalid(c, kr)) && !has_i && !has_o)
			verr(c, kline(c, kr), "%s has no effect without %s and "
			     "%s; set them or remove it", config_keys[kr].name,
			     config_keys[ki].name, config_keys[ko].name);
	}
	if (check_number(c, CONFIG_KEY_NUM_RESULTS, &p->batch_num_results) &&
	    p->batch_kind == CONFIG_BATCH_INFERENCE &&
	    p->batch_num_results > CONFIG_NUM_RESULTS_INFERENCE_MAX)
		verr(c, kline(c, CONFIG_KEY_NUM_RESULTS), "NumResults %u is "
		     "more than a batch inference job returns per user; use "
		     "1 to %d (up to %d users per segment for a batch "
		     "segment job)", p->batch_num_results,
		     CONFIG_NUM_RESULTS_INFERENCE_MAX, CONFIG_NUM_RESULTS_MAX);
	if (p->batch_kind != CONFIG_BATCH_NONE || first >= 0)
		return;
	for (i = 0; i < sizeof(only_with) / sizeof(only_with[0]); i++)
		if (str(c, only_with[i]) || invalid(c, only_with[i]))
			verr(c, kline(c, only_with[i]), "%s applies to a batch "
			     "job only; set BatchInferenceInput and "
			     "BatchInferenceOutput (or BatchSegmentInput and "
			     "BatchSegmentOutput), or remove it",
			     config_keys[only_with[i]].name);
}

/* Region agrees with the ARNs; PipelineName valid, or the solution's name
 * (set even when other keys are wrong, for the messages that follow).
 * 0 or -ENOMEM. */
static int check_region_name(struct vctx *c, struct pipeline *p,
			     const struct pipeline_arns *a)
{
	const char *region = str(c, CONFIG_KEY_REGION);
	const char *name = str(c, CONFIG_KEY_PIPELINE_NAME);
	char q[QUOTE_BUF];

	if (region && !config_is_region(region)) {
		verr(c, kline(c, CONFIG_KEY_REGION), "Region %s is not an AWS "
		     "region; write e.g. Region%sus-east-1", quote(q, region),
		     c->raw->assign);
	} else if (region && a->ref && strcmp(region, a->ref->region) != 0) {
		verr(c, kline(c, CONFIG_KEY_REGION), "Region %s differs from "
		     "the region of %s (line %u), %s; leave Region empty or "
		     "write Region%s%s", region, config_keys[a->ref_key].name,
		     kline(c, a->ref_key), a->ref->region, c->raw->assign,
		     a->ref->region);
	}
	if (name && !config_is_name(name, PIPELINE_NAME_MAX))
		verr(c, kline(c, CONFIG_KEY_PIPELINE_NAME), "PipelineName %s "
		     "is not a valid name; use 1 to 63 letters, digits, '-' "
		     "and '_', starting with a letter or digit",
		     quote(q, name));
	else if (!name && a->valid[CONFIG_KEY_SOLUTION_ARN])
		name = a->arns[CONFIG_KEY_SOLUTION_ARN].name;
	return dup_opt(&p->name, name) < 0 ? -ENOMEM : 0;
}

/* Numbers, modes, yes/no keys, URLs, the quality gate, OnRunEnd and the
 * schedule, into p. */
static void check_scalars(struct vctx *c, struct pipeline *p)
{
	int r;

	(void)check_number(c, CONFIG_KEY_POLL_INTERVAL, &p->poll_interval);
	(void)check_number(c, CONFIG_KEY_MAX_RUN_DURATION,
			   &p->max_run_duration);
	r = check_enum(c, CONFIG_KEY_TRAINING_MODE);
	p->training_mode = r == 1 ? CONFIG_TRAINING_UPDATE : CONFIG_TRAINING_FULL;
	r = check_enum(c, CONFIG_KEY_IMPORT_MODE);
	p->import_mode = r == 1 ? CONFIG_IMPORT_INCREMENTAL : CONFIG_IMPORT_FULL;
	(void)check_bool(c, CONFIG_KEY_CATCH_UP, &p->catch_up);
	(void)check_url(c, CONFIG_KEY_ENDPOINT_URL);
	(void)check_url(c, CONFIG_KEY_S3_ENDPOINT_URL);
	/* a file is compared by its ETag (HeadObject), a folder ending in '/'
	 * by the digest of its listing (ListObjectsV2): both are accepted */
	(void)check_bool(c, CONFIG_KEY_SKIP_UNCHANGED_DATA, &p->skip_unchanged);
	check_gate(c, p);
	(void)check_number(c, CONFIG_KEY_ON_RUN_END_TIMEOUT,
			   &p->on_run_end_timeout);
	{
		const char *cmd = str(c, CONFIG_KEY_ON_RUN_END);
		char err[256];

		if (cmd && hook_check_command(cmd, err, sizeof(err)) < 0)
			verr(c, kline(c, CONFIG_KEY_ON_RUN_END), "OnRunEnd: %s",
			     err);
		if (!cmd && str(c, CONFIG_KEY_ON_RUN_END_TIMEOUT))
			verr(c, kline(c, CONFIG_KEY_ON_RUN_END_TIMEOUT),
			     "OnRunEndTimeout has no effect without OnRunEnd; "
			     "set OnRunEnd%s/path/to/program or remove it",
			     c->raw->assign);
	}
	(void)check_event_bus(c, CONFIG_KEY_EVENT_BUS_NAME);
	check_schedule(c, p);
}

/* A valid pipeline: copy the strings out of the raw store. 0 or -ENOMEM. */
static int copy_out(struct vctx *c, struct pipeline *p,
		    const struct pipeline_arns *a)
{
	int t;

	if (dup_opt(&p->import_role_arn, str(c, CONFIG_KEY_IMPORT_ROLE_ARN)) ||
	    dup_opt(&p->solution_arn, str(c, CONFIG_KEY_SOLUTION_ARN)) ||
	    dup_opt(&p->campaign_arn, str(c, CONFIG_KEY_CAMPAIGN_ARN)) ||
	    dup_opt(&p->schedule_expr, str(c, CONFIG_KEY_RETRAINING_RATE) ?
		    str(c, CONFIG_KEY_RETRAINING_RATE) :
		    config_keys[CONFIG_KEY_RETRAINING_RATE].def) ||
	    dup_opt(&p->timezone, str(c, CONFIG_KEY_SCHEDULE_TIMEZONE)) ||
	    dup_opt(&p->endpoint_url, str(c, CONFIG_KEY_ENDPOINT_URL)) ||
	    dup_opt(&p->region, a->ref->region) ||
	    dup_opt(&p->account, a->ref->account) ||
	    dup_opt(&p->partition, a->ref->partition) ||
	    dup_opt(&p->quality_metric, str(c, CONFIG_KEY_QUALITY_METRIC)) ||
	    dup_opt(&p->s3_endpoint_url, str(c, CONFIG_KEY_S3_ENDPOINT_URL)) ||
	    dup_opt(&p->on_run_end, str(c, CONFIG_KEY_ON_RUN_END)) ||
	    dup_opt(&p->event_bus_name, str(c, CONFIG_KEY_EVENT_BUS_NAME)) ||
	    dup_opt(&p->batch_filter_arn, str(c, CONFIG_KEY_FILTER_ARN)))
		return -ENOMEM;
	if (p->batch_kind != CONFIG_BATCH_NONE) {
		bool seg = p->batch_kind == CONFIG_BATCH_SEGMENT;
		const char *role = str(c, seg ? CONFIG_KEY_BATCH_SEGMENT_ROLE_ARN
					      : CONFIG_KEY_BATCH_INFERENCE_ROLE_ARN);

		if (dup_opt(&p->batch_input,
			    str(c, seg ? CONFIG_KEY_BATCH_SEGMENT_INPUT
				       : CONFIG_KEY_BATCH_INFERENCE_INPUT)) ||
		    dup_opt(&p->batch_output,
			    str(c, seg ? CONFIG_KEY_BATCH_SEGMENT_OUTPUT
				       : CONFIG_KEY_BATCH_INFERENCE_OUTPUT)) ||
		    dup_opt(&p->batch_role_arn,
			    role ? role : str(c, CONFIG_KEY_IMPORT_ROLE_ARN)))
			return -ENOMEM;
	}
	p->gate.metric = p->quality_metric;
	for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
		if (!p->datasets[t].set)
			continue;
		if (dup_opt(&p->datasets[t].arn,
			    str(c, dataset_arn_keys[t])) ||
		    dup_opt(&p->datasets[t].s3_path,
			    str(c, dataset_path_keys[t])))
			return -ENOMEM;
	}
	return 0;
}

static int build_pipeline(struct vctx *c, struct pipeline *p)
{
	struct pipeline_arns a;
	int r;

	memset(&a, 0, sizeof(a));
	check_required(c, p);
	check_arns(c, &a);
	check_datasets(c, p, &a);
	check_batch(c, p);
	if (check_region_name(c, p, &a) < 0)
		return -ENOMEM;
	check_scalars(c, p);
	r = config_tags_build(c->raw, c->scope, c->errs, p);
	if (r < 0)
		return r;
	if (r > 0)
		c->bad = true;
	if (c->bad)
		return 0;
	return copy_out(c, p, &a);
}

/* Two pipelines of one config must differ in name and solution. */
static void check_unique(const struct config_raw *raw, struct config *cfg,
			 struct config_errors *errs)
{
	size_t i, j;

	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *a = &cfg->pipelines[i];

		for (j = 0; j < i; j++) {
			const struct pipeline *b = &cfg->pipelines[j];
			unsigned la = a->key_line[CONFIG_KEY_PIPELINE_NAME];

			if (a->name && b->name && strcmp(a->name, b->name) == 0) {
				config_errors_add(errs, raw->file,
						  la ? la : a->line,
						  "pipeline name \"%s\" is "
						  "already used by the pipeline "
						  "on line %u; give each "
						  "pipeline its own "
						  "PipelineName", a->name,
						  b->line);
				break;
			}
			if (a->solution_arn && b->solution_arn &&
			    strcmp(a->solution_arn, b->solution_arn) == 0) {
				config_errors_add(errs, raw->file,
						  a->key_line[CONFIG_KEY_SOLUTION_ARN] ?
						  a->key_line[CONFIG_KEY_SOLUTION_ARN] :
						  a->line,
						  "SolutionArn is already "
						  "retrained by pipeline \"%s\" "
						  "(line %u); one pipeline per "
						  "solution", b->name, b->line);
				break;
			}
		}
	}
}

static void check_globals(const struct config_raw *raw, struct config *cfg,
			  struct config_errors *errs)
{
	struct vctx c = { raw, NULL, errs, raw->end_line, false };
	int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++)
		if (config_keys[k].scope == CONFIG_SCOPE_GLOBAL)
			cfg->globals.key_line[k] = raw->top.v[k].line;
	cfg->globals.max_api_calls_per_second = 0;
	(void)check_number(&c, CONFIG_KEY_MAX_API_CALLS_PER_SECOND,
			   &cfg->globals.max_api_calls_per_second);
	{
		const char *path = str(&c, CONFIG_KEY_METRICS_FILE);
		char err[512];

		if (path && metrics_check_path(path, err, sizeof(err)) < 0)
			verr(&c, kline(&c, CONFIG_KEY_METRICS_FILE),
			     "MetricsFile: %s", err);
		else if (path && !(cfg->globals.metrics_file = strdup(path)))
			config_errors_add(errs, raw->file, 0, "out of memory");
	}
}

int config_validate(const struct config_raw *raw, struct config *cfg,
		    struct config_errors *errs)
{
	size_t n = raw->has_list ? raw->n : 1, i;
	int r;

	check_globals(raw, cfg, errs);
	if (n == 0)
		return 0;
	cfg->pipelines = calloc(n, sizeof(*cfg->pipelines));
	if (!cfg->pipelines)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct vctx c = { raw, raw->has_list ? &raw->pipelines[i] : NULL,
				  errs, 0, false };
		struct pipeline *p = &cfg->pipelines[i];

		p->line = raw->has_list ? raw->pipelines[i].line : raw->top.line;
		c.pline = raw->has_list ? p->line : raw->end_line;
		cfg->n++;
		r = build_pipeline(&c, p);
		if (r < 0)
			return r;
	}
	check_unique(raw, cfg, errs);
	return 0;
}
