/* emu_policy.c - identity policies: parse, evaluate, and what each
 * Personalize request must be allowed; see emu.h. */
#include "emu.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COND_OPS 8

enum cond_op {
	C_STRING_EQUALS,
	C_STRING_NOT_EQUALS,
	C_STRING_EQUALS_IGNORE_CASE,
	C_STRING_LIKE,
	C_STRING_NOT_LIKE,
};

static const struct {
	const char *name;
	enum cond_op op;
} cond_ops[] = {
	{ "StringEquals", C_STRING_EQUALS },
	{ "StringNotEquals", C_STRING_NOT_EQUALS },
	{ "StringEqualsIgnoreCase", C_STRING_EQUALS_IGNORE_CASE },
	{ "StringLike", C_STRING_LIKE },
	{ "StringNotLike", C_STRING_NOT_LIKE },
};

struct strlist {
	char **v;
	size_t n;
};

struct cond {
	enum cond_op op;
	char *key;
	struct strlist values;
};

struct stmt {
	bool deny;
	bool not_action, not_resource;
	struct strlist actions, resources;
	struct cond *conds;
	size_t nconds;
};

struct emu_policy {
	struct stmt *v;
	size_t n;
};

/* ---- matching ------------------------------------------------------------ */

static bool glob_n(const char *p, const char *pe, const char *s, const char *se,
		   bool nocase)
{
	const char *star = NULL, *ss = NULL;

	while (s < se) {
		if (p < pe && *p == '*') {
			star = p++;
			ss = s;
		} else if (p < pe && (*p == '?' ||
				      (nocase ? tolower((unsigned char)*p) ==
						tolower((unsigned char)*s)
					      : *p == *s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

bool emu_glob(const char *pattern, const char *s, bool nocase)
{
	return glob_n(pattern, pattern + strlen(pattern), s, s + strlen(s),
		      nocase);
}

/* An ARN pattern against an ARN: "*" matches anything; otherwise the six
 * fields (arn:partition:service:region:account:resource, the resource
 * keeping its own colons) match one by one, so a wildcard never spans a
 * field. */
static bool resource_match(const char *pattern, const char *arn)
{
	const char *p = pattern, *s = arn;
	int field;

	if (!strcmp(pattern, "*"))
		return true;
	for (field = 0; field < 5; field++) {
		const char *pe = strchr(p, ':'), *se = strchr(s, ':');

		if (!pe || !se)
			return !pe && !se && emu_glob(p, s, false);
		if (!glob_n(p, pe, s, se, false))
			return false;
		p = pe + 1;
		s = se + 1;
	}
	return emu_glob(p, s, false);
}

static bool any_glob(const struct strlist *l, const char *s, bool nocase,
		     bool resource)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (resource ? resource_match(l->v[i], s)
			     : emu_glob(l->v[i], s, nocase))
			return true;
	return false;
}

static const char *ctx_get(const struct emu_kv *ctx, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(ctx[i].name, key))
			return ctx[i].value;
	return NULL;
}

static bool cond_holds(const struct cond *c, const struct emu_kv *ctx,
		       size_t nctx)
{
	const char *v = ctx_get(ctx, nctx, c->key);
	bool any = false;
	size_t i;

	if (!v) /* a key the request lacks: only the negated operators hold */
		return c->op == C_STRING_NOT_EQUALS || c->op == C_STRING_NOT_LIKE;
	for (i = 0; i < c->values.n && !any; i++) {
		const char *want = c->values.v[i];

		switch (c->op) {
		case C_STRING_EQUALS:
		case C_STRING_NOT_EQUALS:
			any = !strcmp(want, v);
			break;
		case C_STRING_EQUALS_IGNORE_CASE:
			any = !strcasecmp(want, v);
			break;
		case C_STRING_LIKE:
		case C_STRING_NOT_LIKE:
			any = emu_glob(want, v, false);
			break;
		}
	}
	return c->op == C_STRING_NOT_EQUALS || c->op == C_STRING_NOT_LIKE ? !any
									   : any;
}

enum emu_decision emu_policy_eval(const struct emu_policy *p,
				  const char *action, const char *resource,
				  const struct emu_kv *ctx, size_t nctx)
{
	bool allowed = false;
	size_t i, j;

	for (i = 0; p && i < p->n; i++) {
		const struct stmt *st = &p->v[i];
		bool ok;

		if (any_glob(&st->actions, action, true, false) == st->not_action)
			continue;
		if (any_glob(&st->resources, resource, false, true) ==
		    st->not_resource)
			continue;
		ok = true;
		for (j = 0; j < st->nconds && ok; j++)
			ok = cond_holds(&st->conds[j], ctx, nctx);
		if (!ok)
			continue;
		if (st->deny)
			return EMU_DECISION_EXPLICIT_DENY;
		allowed = true;
	}
	return allowed ? EMU_DECISION_ALLOW : EMU_DECISION_IMPLICIT_DENY;
}

/* ---- parsing ------------------------------------------------------------- */

static void list_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void emu_policy_free(struct emu_policy *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		list_free(&p->v[i].actions);
		list_free(&p->v[i].resources);
		for (j = 0; j < p->v[i].nconds; j++) {
			free(p->v[i].conds[j].key);
			list_free(&p->v[i].conds[j].values);
		}
		free(p->v[i].conds);
	}
	free(p->v);
	free(p);
}

/* A string or a non-empty list of strings. */
static int take_list(const cJSON *v, struct strlist *out, const char *what,
		     size_t si, char **err)
{
	const cJSON *e;
	size_t n = 0;

	if (cJSON_IsString(v)) {
		out->v = calloc(1, sizeof(char *));
		if (!out->v || !(out->v[0] = strdup(v->valuestring)))
			return -ENOMEM;
		out->n = 1;
		return 0;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		*err = emu_strdup_printf("Statement[%zu]: %s must be a string "
					 "or a non-empty list of strings",
					 si + 1, what);
		return -EINVAL;
	}
	out->v = calloc((size_t)cJSON_GetArraySize(v), sizeof(char *));
	if (!out->v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e)) {
			*err = emu_strdup_printf("Statement[%zu]: %s must hold "
						 "strings only", si + 1, what);
			return -EINVAL;
		}
		if (!(out->v[n] = strdup(e->valuestring)))
			return -ENOMEM;
		out->n = ++n;
	}
	return 0;
}

static int parse_conditions(const cJSON *c, struct stmt *st, size_t si,
			    char **err)
{
	const cJSON *op, *kv;
	size_t n = 0, k;
	int r;

	if (!cJSON_IsObject(c)) {
		*err = emu_strdup_printf("Statement[%zu]: Condition must be an "
					 "object", si + 1);
		return -EINVAL;
	}
	cJSON_ArrayForEach(op, c)
		n += (size_t)cJSON_GetArraySize(op);
	st->conds = calloc(n ? n : 1, sizeof(*st->conds));
	if (!st->conds)
		return -ENOMEM;
	cJSON_ArrayForEach(op, c) {
		for (k = 0; k < sizeof(cond_ops) / sizeof(cond_ops[0]); k++)
			if (!strcmp(op->string, cond_ops[k].name))
				break;
		if (k == sizeof(cond_ops) / sizeof(cond_ops[0])) {
			*err = emu_strdup_printf("Statement[%zu]: condition "
						 "operator %s is not supported "
						 "by the emulator", si + 1,
						 op->string);
			return -EINVAL;
		}
		if (!cJSON_IsObject(op) || cJSON_GetArraySize(op) == 0) {
			*err = emu_strdup_printf("Statement[%zu]: %s must map "
						 "condition keys to values",
						 si + 1, op->string);
			return -EINVAL;
		}
		cJSON_ArrayForEach(kv, op) {
			struct cond *cd = &st->conds[st->nconds];

			cd->op = cond_ops[k].op;
			cd->key = strdup(kv->string);
			st->nconds++;
			if (!cd->key)
				return -ENOMEM;
			r = take_list(kv, &cd->values, "a condition's value",
				      si, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int parse_statement(const cJSON *s, struct stmt *st, size_t si,
			   char **err)
{
	const cJSON *effect = cJSON_GetObjectItem(s, "Effect");
	const cJSON *a = cJSON_GetObjectItem(s, "Action");
	const cJSON *na = cJSON_GetObjectItem(s, "NotAction");
	const cJSON *r = cJSON_GetObjectItem(s, "Resource");
	const cJSON *nr = cJSON_GetObjectItem(s, "NotResource");
	const cJSON *c = cJSON_GetObjectItem(s, "Condition");
	int k;

	if (!cJSON_IsObject(s)) {
		*err = emu_strdup_printf("Statement[%zu] must be an object",
					 si + 1);
		return -EINVAL;
	}
	if (!cJSON_IsString(effect) || (strcmp(effect->valuestring, "Allow") &&
					strcmp(effect->valuestring, "Deny"))) {
		*err = emu_strdup_printf("Statement[%zu]: Effect must be Allow "
					 "or Deny", si + 1);
		return -EINVAL;
	}
	st->deny = !strcmp(effect->valuestring, "Deny");
	if (!a == !na || !r == !nr) {
		*err = emu_strdup_printf("Statement[%zu]: needs exactly one of "
					 "Action and NotAction and one of "
					 "Resource and NotResource", si + 1);
		return -EINVAL;
	}
	if (cJSON_GetObjectItem(s, "Principal")) {
		*err = emu_strdup_printf("Statement[%zu]: an identity policy has "
					 "no Principal", si + 1);
		return -EINVAL;
	}
	st->not_action = na != NULL;
	st->not_resource = nr != NULL;
	k = take_list(a ? a : na, &st->actions, a ? "Action" : "NotAction", si,
		      err);
	if (k == 0)
		k = take_list(r ? r : nr, &st->resources,
			      r ? "Resource" : "NotResource", si, err);
	if (k == 0 && c)
		k = parse_conditions(c, st, si, err);
	return k;
}

int emu_policy_parse(const cJSON *doc, struct emu_policy **out, char **err)
{
	const cJSON *stmts = cJSON_GetObjectItem(doc, "Statement"), *s;
	struct emu_policy *p;
	size_t n;
	int r = 0;

	*err = NULL;
	if (!cJSON_IsObject(doc) || !stmts ||
	    !(cJSON_IsObject(stmts) || cJSON_IsArray(stmts))) {
		*err = strdup("a policy is an object with a Statement (an object "
			      "or a list of them)");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	n = cJSON_IsArray(stmts) ? (size_t)cJSON_GetArraySize(stmts) : 1;
	if (!p || !(p->v = calloc(n ? n : 1, sizeof(*p->v)))) {
		free(p);
		return -ENOMEM;
	}
	if (cJSON_IsObject(stmts)) {
		p->n = 1;
		r = parse_statement(stmts, &p->v[0], 0, err);
	} else {
		cJSON_ArrayForEach(s, stmts) {
			p->n++;
			r = parse_statement(s, &p->v[p->n - 1], p->n - 1, err);
			if (r < 0)
				break;
		}
	}
	if (r < 0) {
		emu_policy_free(p);
		if (r == -ENOMEM) {
			free(*err);
			*err = strdup("out of memory");
		}
		return r;
	}
	*out = p;
	return 0;
}

int emu_policy_load(const char *path, struct emu_policy **out, char **err)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *doc;
	int r;

	*err = NULL;
	r = emu_read_file(path, &text, &len);
	if (r < 0) {
		*err = emu_strdup_printf("%s: %s", path, strerror(-r));
		return r;
	}
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (!doc) {
		*err = emu_strdup_printf("%s: not JSON", path);
		return -EINVAL;
	}
	r = emu_policy_parse(doc, out, err);
	cJSON_Delete(doc);
	if (r < 0 && *err) {
		char *m = emu_strdup_printf("%s: %s", path, *err);

		free(*err);
		*err = m;
	}
	return r;
}

/* ---- the policies in force ------------------------------------------------ */

int emu_policies_set(struct emu_policies *ps, const char *akid,
		     struct emu_policy *p)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (akid ? ps->v[i].akid && !strcmp(ps->v[i].akid, akid)
			 : !ps->v[i].akid) {
			emu_policy_free(ps->v[i].policy);
			if (p) {
				ps->v[i].policy = p;
				return 0;
			}
			free(ps->v[i].akid);
			ps->v[i] = ps->v[--ps->n];
			return 0;
		}
	if (!p)
		return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 4;
		void *v = realloc(ps->v, cap * sizeof(*ps->v));

		if (!v)
			goto oom;
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n].akid = akid ? strdup(akid) : NULL;
	if (akid && !ps->v[ps->n].akid)
		goto oom;
	ps->v[ps->n++].policy = p;
	return 0;
oom:
	emu_policy_free(p);
	return -ENOMEM;
}

const struct emu_policy *emu_policies_for(const struct emu_policies *ps,
					  const char *akid)
{
	const struct emu_policy *def = NULL;
	size_t i;

	for (i = 0; ps && i < ps->n; i++) {
		if (!ps->v[i].akid)
			def = ps->v[i].policy;
		else if (akid && !strcmp(ps->v[i].akid, akid))
			return ps->v[i].policy;
	}
	return def;
}

void emu_policies_free(struct emu_policies *ps)
{
	size_t i;

	if (!ps)
		return;
	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].akid);
		emu_policy_free(ps->v[i].policy);
	}
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

/* ---- what a request needs ------------------------------------------------- */

/* The member naming the resource of a Describe, Get, Update or Stop. */
static const struct {
	const char *op, *member;
} resource_members[] = {
	{ "DescribeDatasetImportJob", "datasetImportJobArn" },
	{ "CreateSolutionVersion", "solutionArn" },
	{ "DescribeSolutionVersion", "solutionVersionArn" },
	{ "StopSolutionVersionCreation", "solutionVersionArn" },
	{ "GetSolutionMetrics", "solutionVersionArn" },
	{ "UpdateCampaign", "campaignArn" },
	{ "DescribeCampaign", "campaignArn" },
	{ "DescribeDataset", "datasetArn" },
	{ "DescribeSolution", "solutionArn" },
	{ "DescribeDatasetGroup", "datasetGroupArn" },
	{ "DescribeBatchInferenceJob", "batchInferenceJobArn" },
	{ "DescribeBatchSegmentJob", "batchSegmentJobArn" },
};

static const char *member(const cJSON *in, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(in, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The request carries a non-empty tags list: creating a resource with
 * tags also needs personalize:TagResource on it. */
static bool has_tags(const cJSON *in)
{
	const cJSON *t = cJSON_GetObjectItem(in, "tags");

	return cJSON_IsArray(t) && cJSON_GetArraySize(t) > 0;
}

static void put(struct emu_authz *a, const char *service, const char *op,
		const char *resource)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->action, sizeof(a->action), "%s:%s", service, op);
	snprintf(a->resource, sizeof(a->resource), "%s", resource);
}

size_t emu_authz_personalize(const char *op, const cJSON *in,
			     const char *region, const char *account,
			     struct emu_authz *out)
{
	const char *m;
	size_t i, n = 0;

	if (!strncmp(op, "List", 4)) {
		put(&out[n++], "personalize", op, "*");
		return n;
	}
	if (!strcmp(op, "CreateDatasetImportJob") || !strcmp(op, "CreateBatchInferenceJob") ||
	    !strcmp(op, "CreateBatchSegmentJob")) {
		char arn[512];
		const char *role = member(in, "roleArn");
		const char *kind = !strcmp(op, "CreateDatasetImportJob") ? "dataset-import-job"
				 : !strcmp(op, "CreateBatchInferenceJob") ? "batch-inference-job"
				 : "batch-segment-job";

		/* The Service Authorization Reference lists only the job
		 * (batchInferenceJob*, batchSegmentJob*) for the batch
		 * creates; the import is also checked on its dataset. */
		if (kind[0] == 'd')
			put(&out[n++], "personalize", op,
			    member(in, "datasetArn") ? member(in, "datasetArn") : "*");
		snprintf(arn, sizeof(arn), "arn:aws:personalize:%s:%s:%s/%s",
			 region, account, kind,
			 member(in, "jobName") ? member(in, "jobName") : "");
		put(&out[n++], "personalize", op, arn);
		if (role) {
			put(&out[n], "iam", "PassRole", role);
			out[n].ctx_key = "iam:PassedToService";
			out[n].ctx_value = "personalize.amazonaws.com";
			n++;
		}
		if (has_tags(in))
			put(&out[n++], "personalize", "TagResource", arn);
		return n;
	}
	if (!strcmp(op, "CreateSolutionVersion") && has_tags(in)) {
		char arn[512];
		const char *sa = member(in, "solutionArn");

		put(&out[n++], "personalize", op, sa ? sa : "*");
		/* The version's ID is the world's choice, made after this
		 * check: the resource checked is the solution's ARN followed
		 * by "/" and "*", which only a pattern covering all its
		 * versions allows. */
		snprintf(arn, sizeof(arn), "%s/*", sa ? sa : "");
		put(&out[n++], "personalize", "TagResource", arn);
		return n;
	}
	for (i = 0; i < sizeof(resource_members) / sizeof(resource_members[0]); i++)
		if (!strcmp(op, resource_members[i].op)) {
			m = member(in, resource_members[i].member);
			put(&out[n++], "personalize", op, m ? m : "*");
			return n;
		}
	put(&out[n++], "personalize", op, "*");
	return n;
}

size_t emu_authz_events(const cJSON *in, const char *region,
			const char *account, struct emu_authz *out)
{
	const cJSON *e;
	size_t n = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(in, "Entries")) {
		const char *bus = member(e, "EventBusName");
		char arn[512];

		if (n == EMU_AUTHZ_MAX)
			break;
		if (bus && !strncmp(bus, "arn:", 4))
			snprintf(arn, sizeof(arn), "%s", bus);
		else
			snprintf(arn, sizeof(arn), "arn:aws:events:%s:%s:event-bus/%s",
				 region, account, bus ? bus : "default");
		put(&out[n++], "events", "PutEvents", arn);
	}
	return n;
}

bool emu_policy_deny(const struct emu_policy *p, const struct emu_authz *a,
		     size_t n, const char *caller_arn, struct emu_reply *r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct emu_kv kv = { a[i].ctx_key, a[i].ctx_value };
		enum emu_decision d = emu_policy_eval(p, a[i].action,
						      a[i].resource, &kv,
						      a[i].ctx_key ? 1 : 0);

		if (d == EMU_DECISION_ALLOW)
			continue;
		if (d == EMU_DECISION_EXPLICIT_DENY)
			emu_reply_error(r, 400, NULL, "AccessDeniedException",
					"User: %s is not authorized to perform: "
					"%s on resource: %s with an explicit "
					"deny in an identity-based policy",
					caller_arn, a[i].action, a[i].resource);
		else
			emu_reply_error(r, 400, NULL, "AccessDeniedException",
					"User: %s is not authorized to perform: "
					"%s on resource: %s because no "
					"identity-based policy allows the %s "
					"action", caller_arn, a[i].action,
					a[i].resource, a[i].action);
		return true;
	}
	return false;
}
