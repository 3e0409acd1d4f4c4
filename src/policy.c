/* policy.c - the IAM policies a config needs; see include/policy.h. */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gate.h"
#include "retrain.h"
#include "strbuf.h"

/* ---- what the daemon calls, on what ------------------------------------
 *
 * Resource types per action, from the Service Authorization Reference,
 * "Actions, resources, and condition keys for Amazon Personalize"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonpersonalize.html):
 *   CreateDatasetImportJob        dataset*, datasetImportJob*  (and iam:PassRole
 *                                 with iam:PassedToService personalize.amazonaws.com)
 *   DescribeDatasetImportJob      datasetImportJob*
 *   CreateSolutionVersion         solution*
 *   DescribeSolutionVersion       solution*  (the request's resource is the
 *   GetSolutionMetrics            solution*   version ARN, solution/NAME/ID)
 *   DescribeSolution              solution*
 *   DescribeDataset               dataset*
 *   DescribeCampaign, UpdateCampaign  campaign*
 *   CreateBatchInferenceJob,      batchInferenceJob*  (and iam:PassRole
 *   DescribeBatchInferenceJob     of its roleArn, as for the import)
 *   CreateBatchSegmentJob,        batchSegmentJob*  (the same)
 *   DescribeBatchSegmentJob
 *   ListDatasetImportJobs, ListSolutionVersions, ListBatchInferenceJobs,
 *   ListBatchSegmentJobs: no resource type (access level List): only "*"
 *                                 can name them.
 * The batch jobs' S3 access is the role's (policy_import_role), not ours;
 * check --online HEADs the batch input, hence s3:GetObject on it.
 * S3's HeadObject is authorized by s3:GetObject on the object; a
 * folder's ListObjectsV2 by s3:ListBucket on the bucket, with the folder
 * as the s3:prefix condition (StringLike "PREFIX*").
 * EventBridge's PutEvents by events:PutEvents on the bus (EventBusName).
 * Tags: the reference's table of API operations lists, with the Create
 * operations that take tags, personalize:TagResource (access level
 * Tagging) besides their own action; IAM checks it on the resource being
 * created when the request carries tags. With Tags set, the import jobs
 * and the solution versions get personalize:TagResource; without Tags it
 * is left out.
 *
 * Who calls what: a run (imports, training, deploy and its pre-check),
 * the look for jobs in flight after a crash or by a second host (the two
 * List calls), rollback (DescribeCampaign, DescribeSolutionVersion,
 * UpdateCampaign), check --online (DescribeSolution, DescribeDataset,
 * DescribeCampaign), the quality gate (GetSolutionMetrics), and
 * SkipUnchangedData (HeadObject, ListObjectsV2 for a folder), the run
 * events (PutEvents). */

enum kind {
	K_DATASET,
	K_IMPORT_JOB,
	K_SOLUTION,
	K_VERSION,
	K_CAMPAIGN,
	K_ANY,
	K_ROLE,
	K_OBJECT,
	K_BUS,
	K_BATCH_JOB,
	K_BATCH_INPUT,
	K_COUNT
};

static const char *const kind_sid[K_COUNT] = {
	"Datasets", "DatasetImportJobs", "Solutions", "SolutionVersions",
	"Campaigns", "ListCallsWithoutResourceLevelPermissions",
	"PassImportRoleToPersonalize", "ReadDataObjectsForSkipUnchangedData",
	"PutRunEventsOnEventBus", "BatchJobs", "ReadBatchInputForCheckOnline",
};

enum need {
	N_ALWAYS, N_CAMPAIGN, N_GATE, N_SKIP, N_EVENTS, N_TAGS,
	N_BATCH, N_BATCH_INFERENCE, N_BATCH_SEGMENT, N_BATCH_TAGS,
};

static const struct entry {
	const char *action;
	enum kind kind;
	enum need need;
} entries[] = {
	{ "personalize:CreateDatasetImportJob", K_DATASET, N_ALWAYS },
	{ "personalize:DescribeDataset", K_DATASET, N_ALWAYS },
	{ "personalize:CreateDatasetImportJob", K_IMPORT_JOB, N_ALWAYS },
	{ "personalize:DescribeDatasetImportJob", K_IMPORT_JOB, N_ALWAYS },
	{ "personalize:TagResource", K_IMPORT_JOB, N_TAGS },
	{ "personalize:CreateSolutionVersion", K_SOLUTION, N_ALWAYS },
	{ "personalize:DescribeSolution", K_SOLUTION, N_ALWAYS },
	{ "personalize:DescribeSolutionVersion", K_VERSION, N_ALWAYS },
	{ "personalize:GetSolutionMetrics", K_VERSION, N_GATE },
	{ "personalize:TagResource", K_VERSION, N_TAGS },
	{ "personalize:DescribeCampaign", K_CAMPAIGN, N_CAMPAIGN },
	{ "personalize:UpdateCampaign", K_CAMPAIGN, N_CAMPAIGN },
	{ "personalize:ListDatasetImportJobs", K_ANY, N_ALWAYS },
	{ "personalize:ListSolutionVersions", K_ANY, N_ALWAYS },
	{ "personalize:CreateBatchInferenceJob", K_BATCH_JOB, N_BATCH_INFERENCE },
	{ "personalize:DescribeBatchInferenceJob", K_BATCH_JOB, N_BATCH_INFERENCE },
	{ "personalize:CreateBatchSegmentJob", K_BATCH_JOB, N_BATCH_SEGMENT },
	{ "personalize:DescribeBatchSegmentJob", K_BATCH_JOB, N_BATCH_SEGMENT },
	{ "personalize:TagResource", K_BATCH_JOB, N_BATCH_TAGS },
	{ "personalize:ListBatchInferenceJobs", K_ANY, N_BATCH_INFERENCE },
	{ "personalize:ListBatchSegmentJobs", K_ANY, N_BATCH_SEGMENT },
	{ "s3:GetObject", K_BATCH_INPUT, N_BATCH },
	{ "iam:PassRole", K_ROLE, N_ALWAYS },
	{ "s3:GetObject", K_OBJECT, N_SKIP },
	{ "events:PutEvents", K_BUS, N_EVENTS },
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

/* ---- sorted sets of strings --------------------------------------------- */

struct strset {
	char **v;
	size_t n, cap;
	bool oom;
};

static void set_add_owned(struct strset *s, char *str)
{
	size_t lo = 0, hi, i;

	if (!str) {
		s->oom = true;
		return;
	}
	hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->v[mid], str);

		if (c == 0) {
			free(str);
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			free(str);
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	for (i = s->n; i > lo; i--)
		s->v[i] = s->v[i - 1];
	s->v[lo] = str;
	s->n++;
}

static void set_add(struct strset *s, const char *str)
{
	set_add_owned(s, strdup(str));
}

static bool set_equal(const struct strset *a, const struct strset *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static void set_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- JSON text ---------------------------------------------------------- */

static void put_str(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			strbuf_printf(sb, "\\%c", c);
		else if (c < 0x20)
			strbuf_printf(sb, "\\u%04x", c);
		else
			strbuf_putc(sb, (char)c);
	}
	strbuf_putc(sb, '"');
}

static void indent(struct strbuf *sb, int level)
{
	int i;

	for (i = 0; i < level; i++)
		strbuf_puts(sb, "  ");
}

/* "Key": ["a", "b"] over several lines, or "Key": "a" for one. */
static void put_list(struct strbuf *sb, int level, const char *key,
		     const char *const *v, size_t n)
{
	size_t i;

	indent(sb, level);
	put_str(sb, key);
	strbuf_puts(sb, ": ");
	if (n == 1) {
		put_str(sb, v[0]);
		return;
	}
	strbuf_puts(sb, "[\n");
	for (i = 0; i < n; i++) {
		indent(sb, level + 1);
		put_str(sb, v[i]);
		strbuf_puts(sb, i + 1 < n ? ",\n" : "\n");
	}
	indent(sb, level);
	strbuf_putc(sb, ']');
}

/* One condition: "Condition": {"OP": {"KEY": value or [values]}} */
static void put_condition(struct strbuf *sb, int level, const char *op,
			  const char *key, const char *const *v, size_t n)
{
	indent(sb, level);
	strbuf_puts(sb, "\"Condition\": {\n");
	indent(sb, level + 1);
	put_str(sb, op);
	strbuf_puts(sb, ": {\n");
	put_list(sb, level + 2, key, v, n);
	strbuf_putc(sb, '\n');
	indent(sb, level + 1);
	strbuf_puts(sb, "}\n");
	indent(sb, level);
	strbuf_putc(sb, '}');
}

struct stmt {
	const char *sid;
	unsigned sid_n;          /* 0: the sid alone; else a number after it */
	struct strset actions;
	const struct strset *resources;
	const char *cond_op, *cond_key;
	const char *const *cond_v;
	size_t cond_n;
	const char *principal_service; /* trust policy */
};

static void put_statement(struct strbuf *sb, int level, const struct stmt *s,
			  bool last)
{
	indent(sb, level);
	strbuf_puts(sb, "{\n");
	if (s->sid) {
		indent(sb, level + 1);
		strbuf_puts(sb, "\"Sid\": ");
		if (s->sid_n)
			strbuf_printf(sb, "\"%s%u\"", s->sid, s->sid_n);
		else
			put_str(sb, s->sid);
		strbuf_puts(sb, ",\n");
	}
	indent(sb, level + 1);
	strbuf_puts(sb, "\"Effect\": \"Allow\",\n");
	if (s->principal_service) {
		indent(sb, level + 1);
		strbuf_puts(sb, "\"Principal\": {\n");
		indent(sb, level + 2);
		strbuf_puts(sb, "\"Service\": ");
		put_str(sb, s->principal_service);
		strbuf_putc(sb, '\n');
		indent(sb, level + 1);
		strbuf_puts(sb, "},\n");
	}
	put_list(sb, level + 1, "Action", (const char *const *)s->actions.v,
		 s->actions.n);
	if (s->resources) {
		strbuf_puts(sb, ",\n");
		put_list(sb, level + 1, "Resource",
			 (const char *const *)s->resources->v, s->resources->n);
	}
	if (s->cond_op) {
		strbuf_puts(sb, ",\n");
		put_condition(sb, level + 1, s->cond_op, s->cond_key,
			      s->cond_v, s->cond_n);
	}
	strbuf_putc(sb, '\n');
	indent(sb, level);
	strbuf_puts(sb, last ? "}\n" : "},\n");
}

static void put_document(struct strbuf *sb, int level, const struct stmt *st,
			 size_t n)
{
	size_t i;

	strbuf_puts(sb, "{\n");
	indent(sb, level + 1);
	strbuf_puts(sb, "\"Version\": \"2012-10-17\",\n");
	indent(sb, level + 1);
	strbuf_puts(sb, "\"Statement\": [\n");
	for (i = 0; i < n; i++)
		put_statement(sb, level + 2, &st[i], i + 1 == n);
	indent(sb, level + 1);
	strbuf_puts(sb, "]\n");
	indent(sb, level);
	strbuf_putc(sb, '}');
}

/* ---- resources of a pipeline -------------------------------------------- */

static bool selected(const struct pipeline *p, const char *only)
{
	return !only || !strcmp(p->name, only);
}

static bool needed(const struct pipeline *p, enum need n)
{
	switch (n) {
	case N_CAMPAIGN:
		return p->campaign_arn != NULL;
	case N_GATE:
		return gate_enabled(&p->gate);
	case N_SKIP:
		return p->skip_unchanged;
	case N_EVENTS:
		return p->event_bus_name != NULL;
	case N_TAGS:
		return p->n_tags > 0;
	case N_BATCH:
		return p->batch_kind != CONFIG_BATCH_NONE;
	case N_BATCH_INFERENCE:
		return p->batch_kind == CONFIG_BATCH_INFERENCE;
	case N_BATCH_SEGMENT:
		return p->batch_kind == CONFIG_BATCH_SEGMENT;
	case N_BATCH_TAGS:
		return p->batch_kind != CONFIG_BATCH_NONE && p->n_tags > 0;
	case N_ALWAYS:
	default:
		return true;
	}
}

/* "s3://bucket/prefix/" (or "s3://bucket/"): a folder, which
 * SkipUnchangedData lists (ListObjectsV2) instead of HEADing. */
static bool is_folder(const char *uri)
{
	size_t n = uri ? strlen(uri) : 0;

	return n > 0 && uri[n - 1] == '/';
}

/* "s3://bucket/key" -> "arn:PARTITION:s3:::bucket/key"; a folder (key
 * empty or ending in '/'): every object under it (a trailing wildcard). */
static char *s3_object_arn(const char *partition, const char *uri)
{
	struct strbuf sb = STRBUF_INIT;
	const char *rest = uri + (strncmp(uri, "s3://", 5) ? 0 : 5);
	size_t n = strlen(rest);

	strbuf_printf(&sb, "arn:%s:s3:::%s", partition, rest);
	if (!strchr(rest, '/'))
		strbuf_puts(&sb, "/*");
	else if (n && rest[n - 1] == '/')
		strbuf_putc(&sb, '*');
	return strbuf_error(&sb) ? (strbuf_free(&sb), NULL) : strbuf_detach(&sb);
}

/* The ARN pattern of the jobs of resource type rtype ("dataset-import-job",
 * "batch-inference-job", ...) the pipeline names with suffix sfx:
 * rt_job_name() with each character of the time stamp replaced by '?'
 * (the 'T' kept), so that no other pipeline's names match. */
static char *job_pattern(const struct pipeline *p, const char *rtype,
			 const char *sfx)
{
	char name[RT_NAME_MAX + 1];
	struct strbuf sb = STRBUF_INIT;
	size_t len, at, i;

	if (rt_job_name(p->name, 0, sfx, name, sizeof(name)) < 0)
		return NULL;
	len = strlen(name);
	/* NAME-YYYYmmddTHHMM-SUFFIX: the stamp ends before "-SUFFIX" */
	at = len - strlen(sfx) - 1 - 13;
	for (i = at; i < at + 13; i++)
		if (name[i] != 'T')
			name[i] = '?';
	strbuf_printf(&sb, "arn:%s:personalize:%s:%s:%s/%s", p->partition,
		      p->region, p->account, rtype, name);
	return strbuf_error(&sb) ? (strbuf_free(&sb), NULL) : strbuf_detach(&sb);
}

static char *import_job_pattern(const struct pipeline *p, int type)
{
	char sfx[RT_SUFFIX_MAX + 1];

	snprintf(sfx, sizeof(sfx), RT_IMPORT_PREFIX "%s",
		 config_dataset_type_name((enum config_dataset_type)type));
	return job_pattern(p, "dataset-import-job", sfx);
}

static void add_resources(struct strset *s, const struct pipeline *p,
			  enum kind k)
{
	struct strbuf sb = STRBUF_INIT;
	int t;

	switch (k) {
	case K_DATASET:
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			if (p->datasets[t].set)
				set_add(s, p->datasets[t].arn);
		break;
	case K_IMPORT_JOB:
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			if (p->datasets[t].set)
				set_add_owned(s, import_job_pattern(p, t));
		break;
	case K_SOLUTION:
		set_add(s, p->solution_arn);
		break;
	case K_VERSION:
		strbuf_printf(&sb, "%s/*", p->solution_arn);
		set_add_owned(s, strbuf_error(&sb) ? NULL : strbuf_detach(&sb));
		break;
	case K_CAMPAIGN:
		if (p->campaign_arn)
			set_add(s, p->campaign_arn);
		break;
	case K_ANY:
		set_add(s, "*");
		break;
	case K_ROLE:
		set_add(s, p->import_role_arn);
		if (p->batch_kind != CONFIG_BATCH_NONE && p->batch_role_arn)
			set_add(s, p->batch_role_arn);
		break;
	case K_BATCH_JOB:
		if (p->batch_kind != CONFIG_BATCH_NONE)
			set_add_owned(s, job_pattern(p,
				p->batch_kind == CONFIG_BATCH_SEGMENT
					? "batch-segment-job"
					: "batch-inference-job",
				RT_BATCH_SUFFIX));
		break;
	case K_BATCH_INPUT:
		if (p->batch_input)
			set_add_owned(s, s3_object_arn(p->partition,
						       p->batch_input));
		break;
	case K_OBJECT:
		/* files only: a folder is listed (folder_statements) */
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			if (p->datasets[t].set &&
			    !is_folder(p->datasets[t].s3_path))
				set_add_owned(s, s3_object_arn(p->partition,
						p->datasets[t].s3_path));
		break;
	case K_BUS:
		/* an ARN as it is; a name (default too) is a bus of the
		 * pipeline's account and region */
		if (!p->event_bus_name)
			break;
		if (!strncmp(p->event_bus_name, "arn:", 4)) {
			set_add(s, p->event_bus_name);
			break;
		}
		strbuf_printf(&sb, "arn:%s:events:%s:%s:event-bus/%s",
			      p->partition, p->region, p->account,
			      p->event_bus_name);
		set_add_owned(s, strbuf_error(&sb) ? NULL : strbuf_detach(&sb));
		break;
	case K_COUNT:
	default:
		break;
	}
	strbuf_free(&sb);
}

static char *finish(struct strbuf *sb, bool oom)
{
	if (oom || strbuf_error(sb)) {
		strbuf_free(sb);
		return NULL;
	}
	return strbuf_detach(sb);
}

static bool any_selected(const struct config *cfg, const char *only)
{
	size_t i;

	for (i = 0; i < cfg->n; i++)
		if (selected(&cfg->pipelines[i], only))
			return true;
	return false;
}

static int split_s3(const char *uri, char **bucket, char **key);

/* SkipUnchangedData's folders, per bucket: s3:ListBucket on the bucket
 * ARN, limited by StringLike s3:prefix to "PREFIX*" of each folder there.
 * Fills buckets (the ARNs, one set each) and prefixes (index-aligned). */
struct folder_lists {
	struct strset names;       /* bucket names, sorted */
	struct strset *arns;       /* per bucket: its ARN */
	struct strset *prefixes;   /* per bucket: "PREFIX*" values */
	bool oom;
};

static void folder_lists_free(struct folder_lists *fl)
{
	for (size_t b = 0; b < fl->names.n; b++) {
		if (fl->arns)
			set_free(&fl->arns[b]);
		if (fl->prefixes)
			set_free(&fl->prefixes[b]);
	}
	free(fl->arns);
	free(fl->prefixes);
	set_free(&fl->names);
}

static void folder_lists_build(const struct config *cfg, const char *only,
			       struct folder_lists *fl)
{
	const char *partition = "aws";
	size_t i, b;
	int t;

	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < cfg->n; i++) {
			const struct pipeline *p = &cfg->pipelines[i];

			if (!selected(p, only) || !p->skip_unchanged)
				continue;
			partition = p->partition;
			for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
				char *bucket, *key, *pfx;

				if (!p->datasets[t].set ||
				    !is_folder(p->datasets[t].s3_path))
					continue;
				if (split_s3(p->datasets[t].s3_path, &bucket,
					     &key) < 0) {
					fl->oom = true;
					continue;
				}
				if (pass == 0) {
					set_add_owned(&fl->names, bucket);
					free(key);
					continue;
				}
				for (b = 0; b < fl->names.n; b++)
					if (!strcmp(fl->names.v[b], bucket))
						break;
				pfx = malloc(strlen(key) + 2);
				if (pfx)
					sprintf(pfx, "%s*", key);
				if (b < fl->names.n)
					set_add_owned(&fl->prefixes[b], pfx);
				else
					free(pfx);
				free(bucket);
				free(key);
			}
		}
		if (pass == 0) {
			fl->oom |= fl->names.oom;
			fl->arns = calloc(fl->names.n ? fl->names.n : 1,
					  sizeof(*fl->arns));
			fl->prefixes = calloc(fl->names.n ? fl->names.n : 1,
					      sizeof(*fl->prefixes));
			if (!fl->arns || !fl->prefixes) {
				fl->oom = true;
				return;
			}
		}
	}
	for (b = 0; b < fl->names.n; b++) {
		struct strbuf a = STRBUF_INIT;

		strbuf_printf(&a, "arn:%s:s3:::%s", partition, fl->names.v[b]);
		set_add_owned(&fl->arns[b],
			      strbuf_error(&a) ? NULL : strbuf_detach(&a));
		fl->oom |= fl->arns[b].oom || fl->prefixes[b].oom;
	}
}

int policy_identity(const struct config *cfg, const char *only, char **out)
{
	static const char *const passed_to[] = { POLICY_SERVICE_PRINCIPAL };
	struct strset res[N_ENTRIES];
	struct folder_lists fl = { 0 };
	struct stmt *st;
	bool used[N_ENTRIES];
	unsigned groups[K_COUNT];
	struct strbuf sb = STRBUF_INIT;
	size_t i, j, n = 0;
	bool oom = false;

	if (!cfg || !out)
		return -EINVAL;
	if (!any_selected(cfg, only))
		return -ENOENT;
	memset(res, 0, sizeof(res));
	memset(used, 0, sizeof(used));
	folder_lists_build(cfg, only, &fl);
	oom |= fl.oom;
	st = calloc(N_ENTRIES + fl.names.n, sizeof(*st));
	if (!st) {
		folder_lists_free(&fl);
		return -ENOMEM;
	}
	memset(groups, 0, sizeof(groups));
	for (i = 0; i < N_ENTRIES; i++) {
		for (j = 0; j < cfg->n; j++) {
			const struct pipeline *p = &cfg->pipelines[j];

			if (selected(p, only) && needed(p, entries[i].need))
				add_resources(&res[i], p, entries[i].kind);
		}
		oom |= res[i].oom;
	}
	/* one statement per kind and resource set: the actions on exactly
	 * the same resources share it */
	for (i = 0; i < N_ENTRIES; i++) {
		struct stmt *s;

		if (used[i] || res[i].n == 0)
			continue;
		s = &st[n++];
		s->sid = kind_sid[entries[i].kind];
		s->sid_n = ++groups[entries[i].kind];
		s->resources = &res[i];
		if (entries[i].kind == K_ROLE) {
			s->cond_op = "StringEquals";
			s->cond_key = "iam:PassedToService";
			s->cond_v = passed_to;
			s->cond_n = 1;
		}
		for (j = i; j < N_ENTRIES; j++)
			if (!used[j] && entries[j].kind == entries[i].kind &&
			    set_equal(&res[i], &res[j])) {
				used[j] = true;
				set_add(&s->actions, entries[j].action);
			}
		oom |= s->actions.oom;
	}
	/* a kind in a single statement carries no number */
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < K_COUNT; k++)
			if (!strcmp(st[i].sid, kind_sid[k]) && groups[k] == 1)
				st[i].sid_n = 0;
	}
	for (i = 0; !fl.oom && i < fl.names.n; i++, n++) {
		st[n].sid = "ListDataFoldersForSkipUnchangedData";
		st[n].sid_n = fl.names.n > 1 ? (unsigned)i + 1 : 0;
		set_add(&st[n].actions, "s3:ListBucket");
		oom |= st[n].actions.oom;
		st[n].resources = &fl.arns[i];
		st[n].cond_op = "StringLike";
		st[n].cond_key = "s3:prefix";
		st[n].cond_v = (const char *const *)fl.prefixes[i].v;
		st[n].cond_n = fl.prefixes[i].n;
	}
	put_document(&sb, 0, st, n);
	strbuf_putc(&sb, '\n');
	for (i = 0; i < n; i++)
		set_free(&st[i].actions);
	free(st);
	folder_lists_free(&fl);
	for (i = 0; i < N_ENTRIES; i++)
		set_free(&res[i]);
	*out = finish(&sb, oom);
	return *out ? 0 : -ENOMEM;
}

/* "s3://bucket/key" -> bucket and key (key may be empty), malloc'd. */
static int split_s3(const char *uri, char **bucket, char **key)
{
	const char *rest = uri + (strncmp(uri, "s3://", 5) ? 0 : 5);
	const char *slash = strchr(rest, '/');
	size_t bl = slash ? (size_t)(slash - rest) : strlen(rest);

	*bucket = strndup(rest, bl);
	*key = strdup(slash ? slash + 1 : "");
	if (!*bucket || !*key) {
		free(*bucket);
		free(*key);
		return -ENOMEM;
	}
	return 0;
}

/* The S3 paths the role reads or writes for pipeline p: the datasets'
 * when it is the import role (read), and, when the batch job uses this
 * role, its input (read) and its output folder (written); the number put
 * in paths (at most CONFIG_DATASET_COUNT + 2), *out_path the output or
 * NULL; *datasets whether the datasets are among them. */
static size_t role_paths(const struct pipeline *p, const char *role,
			 const char **paths, const char **out_path,
			 bool *datasets)
{
	size_t n = 0;
	int t;

	if (!strcmp(p->import_role_arn, role)) {
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			if (p->datasets[t].set)
				paths[n++] = p->datasets[t].s3_path;
		*datasets = true;
	}
	*out_path = NULL;
	if (p->batch_kind != CONFIG_BATCH_NONE && p->batch_role_arn &&
	    !strcmp(p->batch_role_arn, role)) {
		paths[n++] = p->batch_input;
		paths[n++] = p->batch_output;
		*out_path = p->batch_output;
	}
	return n;
}

/* The role pipeline p passes to Personalize: its import role, or (batch)
 * the role its batch job runs as; NULL: p has no batch job. */
static const char *pipeline_role(const struct pipeline *p, bool batch)
{
	if (!batch)
		return p->import_role_arn;
	return p->batch_kind != CONFIG_BATCH_NONE ? p->batch_role_arn : NULL;
}

/* policy_import_role() and policy_batch_role(). */
static int role_documents(const struct config *cfg, const char *only,
			  bool batch, char **out, char *err, size_t errlen)
{
	struct strset accounts = { 0 }, objects = { 0 }, buckets = { 0 };
	struct strset outputs = { 0 };
	const char *paths[CONFIG_DATASET_COUNT + 2], *outp;
	size_t np, k;
	struct strset *prefixes = NULL;
	struct stmt trust, *st = NULL;
	struct strbuf sb = STRBUF_INIT;
	const char *role = NULL, *partition = "aws", *mine;
	const char *what = batch ? "batch" : "import";
	size_t i, b, n = 0;
	int r = 0;
	bool oom = false, datasets = false;

	if (!cfg || !out)
		return -EINVAL;
	if (!any_selected(cfg, only))
		return -ENOENT;
	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];

		if (!selected(p, only) || !(mine = pipeline_role(p, batch)))
			continue;
		if (role && strcmp(role, mine)) {
			if (err && errlen)
				snprintf(err, errlen,
					 "the pipelines name several %s roles "
					 "(%s, %s): choose one pipeline with -p",
					 what, role, mine);
			set_free(&accounts);
			set_free(&objects);
			set_free(&buckets);
			set_free(&outputs);
			return -EINVAL;
		}
		role = mine;
		partition = p->partition;
		set_add(&accounts, p->account);
		np = role_paths(p, role, paths, &outp, &datasets);
		for (k = 0; k < np; k++) {
			char *bucket, *key;

			if (paths[k] == outp)
				set_add_owned(&outputs, s3_object_arn(
						p->partition, paths[k]));
			else
				set_add_owned(&objects, s3_object_arn(
						p->partition, paths[k]));
			if (split_s3(paths[k], &bucket, &key) < 0) {
				oom = true;
				continue;
			}
			set_add_owned(&buckets, bucket);
			free(key);
		}
	}
	if (!role) {
		/* nothing was added to the sets */
		if (err && errlen)
			snprintf(err, errlen, "no %s has a batch job",
				 only ? "such pipeline" : "pipeline");
		return -ENODATA;
	}
	oom |= accounts.oom || objects.oom || buckets.oom || outputs.oom;
	/* per bucket: the s3:prefix values its paths allow */
	prefixes = calloc(buckets.n ? buckets.n : 1, sizeof(*prefixes));
	st = calloc(buckets.n + 2, sizeof(*st));
	if (!prefixes || !st) {
		oom = true;
		goto out;
	}
	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];

		/* every one with a role has this one (checked above) */
		if (!selected(p, only) || !pipeline_role(p, batch))
			continue;
		np = role_paths(p, role, paths, &outp, &datasets);
		for (k = 0; k < np; k++) {
			char *bucket, *key;
			size_t kl;

			if (split_s3(paths[k], &bucket, &key) < 0)
				continue;
			for (b = 0; b < buckets.n; b++)
				if (!strcmp(buckets.v[b], bucket))
					break;
			kl = strlen(key);
			if (b < buckets.n) {
				/* a folder lists what is under it; an object
				 * is listed by its own key */
				if (kl == 0 || key[kl - 1] == '/') {
					char *pfx = malloc(kl + 2);

					if (pfx) {
						memcpy(pfx, key, kl);
						memcpy(pfx + kl, "*", 2);
					}
					set_add_owned(&prefixes[b], pfx);
				} else {
					set_add(&prefixes[b], key);
				}
				oom |= prefixes[b].oom;
			}
			free(bucket);
			free(key);
		}
	}
	if (oom)
		goto out;

	memset(&trust, 0, sizeof(trust));
	trust.principal_service = POLICY_SERVICE_PRINCIPAL;
	set_add(&trust.actions, "sts:AssumeRole");
	trust.cond_op = "StringEquals";
	trust.cond_key = "aws:SourceAccount";
	trust.cond_v = (const char *const *)accounts.v;
	trust.cond_n = accounts.n;

	st[n].sid = datasets ? "ReadImportData" : "ReadBatchInput";
	set_add(&st[n].actions, "s3:GetObject");
	st[n].resources = &objects;
	n++;
	for (b = 0; b < buckets.n; b++, n++) {
		struct strset *one = &prefixes[b];

		st[n].sid = datasets ? "ListImportData" : "ListBatchData";
		st[n].sid_n = buckets.n > 1 ? (unsigned)b + 1 : 0;
		set_add(&st[n].actions, "s3:ListBucket");
		st[n].cond_op = "StringLike";
		st[n].cond_key = "s3:prefix";
		st[n].cond_v = (const char *const *)one->v;
		st[n].cond_n = one->n;
	}
	if (outputs.n) {
		st[n].sid = "WriteBatchOutput";
		set_add(&st[n].actions, "s3:PutObject");
		st[n].resources = &outputs;
		n++;
	}
	/* each ListBucket statement's resource: the bucket */
	{
		struct strset *bucket_arns = calloc(buckets.n ? buckets.n : 1,
						    sizeof(*bucket_arns));

		if (!bucket_arns) {
			oom = true;
			goto free_stmts;
		}
		for (b = 0; b < buckets.n; b++) {
			struct strbuf a = STRBUF_INIT;

			strbuf_printf(&a, "arn:%s:s3:::%s", partition,
				      buckets.v[b]);
			set_add_owned(&bucket_arns[b],
				      strbuf_error(&a) ? NULL : strbuf_detach(&a));
			oom |= bucket_arns[b].oom;
			st[1 + b].resources = &bucket_arns[b];
		}
		for (i = 0; i < n; i++)
			oom |= st[i].actions.oom;
		oom |= trust.actions.oom;
		if (!oom) {
			strbuf_puts(&sb, "{\n  \"RoleArn\": ");
			put_str(&sb, role);
			strbuf_puts(&sb, ",\n  \"AssumeRolePolicyDocument\": ");
			put_document(&sb, 1, &trust, 1);
			strbuf_puts(&sb, ",\n  \"PolicyDocument\": ");
			put_document(&sb, 1, st, n);
			strbuf_puts(&sb, "\n}\n");
		}
		for (b = 0; b < buckets.n; b++)
			set_free(&bucket_arns[b]);
		free(bucket_arns);
	}
free_stmts:
	set_free(&trust.actions);
	for (i = 0; i < n; i++)
		set_free(&st[i].actions);
out:
	for (b = 0; prefixes && b < buckets.n; b++)
		set_free(&prefixes[b]);
	free(prefixes);
	free(st);
	set_free(&accounts);
	set_free(&objects);
	set_free(&buckets);
	set_free(&outputs);
	*out = finish(&sb, oom);
	if (!*out)
		r = -ENOMEM;
	return r;
}

int policy_import_role(const struct config *cfg, const char *only, char **out,
		       char *err, size_t errlen)
{
	return role_documents(cfg, only, false, out, err, errlen);
}

int policy_batch_role(const struct config *cfg, const char *only, char **out,
		      char *err, size_t errlen)
{
	return role_documents(cfg, only, true, out, err, errlen);
}

/* ---- denials ------------------------------------------------------------ */

#define POLICY_HINT "`personalize-retrain policy` prints the IAM policy " \
	"this config needs"

bool policy_is_denial(const char *code)
{
	const char *h;

	if (!code)
		return false;
	h = strrchr(code, '#');
	if (h)
		code = h + 1;
	return !strcmp(code, "AccessDeniedException") ||
	       !strcmp(code, "AccessDenied");
}

void policy_denial_text(const char *operation, const char *message, char *buf,
			size_t len)
{
	/* IAM's wording: "User: ARN is not authorized to perform: ACTION on
	 * resource: RESOURCE because ..." (or "with an explicit deny ..."):
	 * keep the action and the resource, which fit a run's reason */
	const char *a = message ? strstr(message, "perform: ") : NULL;
	const char *on = a ? strstr(a, " on resource: ") : NULL;
	const char *res, *end;

	if (!buf || !len)
		return;
	if (a && on) {
		a += strlen("perform: ");
		res = on + strlen(" on resource: ");
		end = res + strcspn(res, " ");
		snprintf(buf, len, "access denied to %.*s on %.*s%s; %s",
			 (int)(on - a), a, (int)(end - res), res,
			 strstr(end, "explicit deny") ? " (an explicit Deny)" : "",
			 POLICY_HINT);
		return;
	}
	snprintf(buf, len, "access denied to personalize:%s%s%s; %s",
		 operation ? operation : "?", message && *message ? ": " : "",
		 message ? message : "", POLICY_HINT);
}

void policy_s3_denial_text(const char *partition, const char *uri, char *buf,
			   size_t len)
{
	const char *rest = uri && !strncmp(uri, "s3://", 5) ? uri + 5 : uri;

	size_t n = rest ? strlen(rest) : 0;

	if (!buf || !len)
		return;
	if (n && rest[n - 1] == '/') {
		/* a folder: ListObjectsV2 needs s3:ListBucket on the bucket */
		int bn = (int)strcspn(rest, "/");

		snprintf(buf, len, "access denied to s3:ListBucket on "
			 "arn:%s:s3:::%.*s (s3:prefix \"%s\"); %s",
			 partition ? partition : "aws", bn, rest,
			 rest[bn] ? rest + bn + 1 : "", POLICY_HINT);
		return;
	}
	snprintf(buf, len, "access denied to s3:GetObject on arn:%s:s3:::%s; %s",
		 partition ? partition : "aws", rest ? rest : "?", POLICY_HINT);
}
