/* emu_world.c - the emulated Personalize account: resources, job
 * lifecycles driven by the clock, the service's rules, and the operations.
 *
 * Statuses are never stored: each job keeps its timeline and the status is
 * computed from the monotonic clock when asked, so the same world answers
 * the same at the same instant whatever the order of calls. */
#include "emu.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EMU_DEFAULT_REGION  "us-east-1"
#define EMU_DEFAULT_ACCOUNT "123456789012"
#define EMU_DEFAULT_IMPORT_MS   400
#define EMU_DEFAULT_TRAINING_MS 600
#define EMU_DEFAULT_UPDATE_MS   400
#define EMU_DEFAULT_PENDING_MS  50
#define EMU_DEFAULT_STOPPING_MS 100
#define EMU_DEFAULT_BATCH_MS    400
#define EMU_PREEXISTING_AGE_MS  (86400LL * 1000)
#define EMU_PAGE_DEFAULT 100
#define EMU_VERSION_ID_HEX 8

struct dsg {
	char *name, *arn, *role_arn, *domain;
	int64_t created;
};

struct dataset {
	char *name, *arn, *group_arn, *type, *schema_arn;
	int64_t created;
};

struct import_job {
	char *name, *arn, *dataset_arn, *location, *role_arn, *mode, *failure;
	int publish; /* -1 not given */
	struct emu_timeline tl;
	int64_t created; /* wall ms */
	cJSON *tags; /* the create's tags array; NULL: none */
};

struct solution {
	char *name, *arn, *group_arn, *recipe_arn, *event_type;
	bool auto_training;
	int64_t created;
	cJSON *next_metrics; /* array: metrics of the next versions, in order */
};

struct version {
	char *name, *arn, *solution_arn, *mode, *type, *failure;
	struct emu_timeline tl;
	int64_t created;
	double hours;
	cJSON *metrics;
	cJSON *tags; /* the create's tags array; NULL: none */
};

struct campaign {
	char *name, *arn, *base_version, *failure;
	int base_tps;
	cJSON *base_config;
	int64_t created;
	bool has_update;
	struct emu_timeline utl;
	int64_t ucreated;
	char *uversion, *ufailure;
	int utps;
	cJSON *uconfig;
};

/* A batch inference job or a batch segment job: both have the same
 * request, lifecycle and output, under their own names (batch_kinds). */
enum batch_kind { BATCH_INFERENCE, BATCH_SEGMENT, BATCH_KINDS };

struct batch_job {
	enum batch_kind kind;
	char *name, *arn, *version_arn, *filter_arn, *role_arn, *failure;
	char *input, *input_kms, *output, *output_kms, *mode;
	int num_results; /* -1 not given */
	cJSON *config;   /* batchInferenceJobConfig; NULL: none */
	cJSON *theme;    /* themeGenerationConfig; NULL: none */
	cJSON *outputs;  /* array of "s3://..." the job writes when ACTIVE */
	uint64_t output_size;
	bool published;  /* its outputs are in the attached S3 objects */
	struct emu_timeline tl;
	int64_t created;
	cJSON *tags;
};

#define VEC(T) struct { T **v; size_t n, cap; }

struct emu_world {
	char *region, *account;
	int64_t import_ms, training_ms, update_ms, pending_ms, stopping_ms;
	int64_t batch_ms[BATCH_KINDS];
	bool batch_model_statuses; /* "PENDING" / "IN PROGRESS", as the model words them */
	struct emu_s3 *s3; /* inputs read and outputs written by batch jobs; NULL: none */
	int64_t scale; /* of the resources' clock (struct emu_clock) */
	bool update_style_create;
	bool training_needs_idle_imports;
	const char *ns; /* namespace prefix of modeled error types */
	cJSON *default_metrics;
	cJSON *roles;
	struct emu_rng rng;
	VEC(struct dsg) groups;
	VEC(struct dataset) datasets;
	VEC(struct import_job) jobs;
	VEC(struct solution) solutions;
	VEC(struct version) versions;
	VEC(struct campaign) campaigns;
	VEC(struct batch_job) batches;
	/* scripted failures */
	cJSON *import_fails;   /* object: type-or-arn -> remaining count (-1 always) */
	long training_fails, update_fails, batch_fails[BATCH_KINDS];
	char *failure_reason;
};

/* Append a zeroed element; NULL on OOM. */
#define VEC_PUSH(vec) ((__typeof__(*(vec).v))vec_push((void ***)&(vec).v, &(vec).n, &(vec).cap, sizeof(**(vec).v)))

static void *vec_push(void ***v, size_t *n, size_t *cap, size_t size)
{
	void *e;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		void **nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return NULL;
		*v = nv;
		*cap = nc;
	}
	e = calloc(1, size);
	if (e)
		(*v)[(*n)++] = e;
	return e;
}

/* ---- lifecycle clock ------------------------------------------------------ */

enum emu_phase emu_timeline_phase(const struct emu_timeline *t, int64_t now_ms,
				  int64_t *since)
{
	int64_t run_at = t->start_ms + t->pending_ms;
	int64_t end_at = run_at + t->run_ms;
	enum emu_phase p;
	int64_t s;

	if (t->stop_at_ms >= 0 && t->stop_at_ms < end_at && now_ms >= t->stop_at_ms) {
		if (t->stop_at_ms < run_at) {
			p = EMU_PHASE_STOPPED;
			s = t->stop_at_ms;
		} else if (now_ms < t->stop_at_ms + t->stopping_ms) {
			p = EMU_PHASE_STOPPING;
			s = t->stop_at_ms;
		} else {
			p = EMU_PHASE_STOPPED;
			s = t->stop_at_ms + t->stopping_ms;
		}
	} else if (now_ms < run_at) {
		p = EMU_PHASE_PENDING;
		s = t->start_ms;
	} else if (now_ms < end_at) {
		p = EMU_PHASE_IN_PROGRESS;
		s = run_at;
	} else {
		p = t->fail ? EMU_PHASE_FAILED : EMU_PHASE_ACTIVE;
		s = end_at;
	}
	if (since)
		*since = s;
	return p;
}

bool emu_phase_running(enum emu_phase p)
{
	return p == EMU_PHASE_PENDING || p == EMU_PHASE_IN_PROGRESS ||
	       p == EMU_PHASE_STOPPING;
}

static const char *create_status(enum emu_phase p)
{
	static const char *const names[] = {
		[EMU_PHASE_PENDING] = "CREATE PENDING",
		[EMU_PHASE_IN_PROGRESS] = "CREATE IN_PROGRESS",
		[EMU_PHASE_ACTIVE] = "ACTIVE",
		[EMU_PHASE_FAILED] = "CREATE FAILED",
		[EMU_PHASE_STOPPING] = "CREATE STOPPING",
		[EMU_PHASE_STOPPED] = "CREATE STOPPED",
	};
	return names[p];
}

static const char *update_status(const struct emu_world *w, enum emu_phase p)
{
	if (w->update_style_create)
		return create_status(p);
	switch (p) {
	case EMU_PHASE_PENDING:
		return "UPDATE PENDING";
	case EMU_PHASE_IN_PROGRESS:
		return "UPDATE IN_PROGRESS";
	default:
		return create_status(p);
	}
}

static struct emu_timeline new_timeline(const struct emu_world *w, int64_t now,
					int64_t run_ms, bool fail)
{
	struct emu_timeline t = {
		.start_ms = now, .scale = w->scale, .pending_ms = w->pending_ms, .run_ms = run_ms,
		.stopping_ms = w->stopping_ms, .stop_at_ms = -1, .fail = fail,
	};
	return t;
}

/* Resource-clock seconds of a monotonic instant of a job created at api
 * time api0 whose timeline is tl. */
static double epoch_s(int64_t api0, const struct emu_timeline *tl, int64_t mono)
{
	return (double)(api0 + (mono - tl->start_ms) * (tl->scale > 1 ? tl->scale : 1)) / 1000.0;
}

/* ---- freeing -------------------------------------------------------------- */

void emu_world_free(struct emu_world *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->groups.n; i++) {
		struct dsg *g = w->groups.v[i];

		free(g->name); free(g->arn); free(g->role_arn); free(g->domain);
		free(g);
	}
	for (i = 0; i < w->datasets.n; i++) {
		struct dataset *d = w->datasets.v[i];

		free(d->name); free(d->arn); free(d->group_arn); free(d->type);
		free(d->schema_arn);
		free(d);
	}
	for (i = 0; i < w->jobs.n; i++) {
		struct import_job *j = w->jobs.v[i];

		free(j->name); free(j->arn); free(j->dataset_arn); free(j->location);
		free(j->role_arn); free(j->mode); free(j->failure);
		cJSON_Delete(j->tags);
		free(j);
	}
	for (i = 0; i < w->solutions.n; i++) {
		struct solution *s = w->solutions.v[i];

		free(s->name); free(s->arn); free(s->group_arn); free(s->recipe_arn);
		free(s->event_type);
		cJSON_Delete(s->next_metrics);
		free(s);
	}
	for (i = 0; i < w->versions.n; i++) {
		struct version *v = w->versions.v[i];

		free(v->name); free(v->arn); free(v->solution_arn); free(v->mode);
		free(v->type); free(v->failure);
		cJSON_Delete(v->metrics);
		cJSON_Delete(v->tags);
		free(v);
	}
	for (i = 0; i < w->campaigns.n; i++) {
		struct campaign *c = w->campaigns.v[i];

		free(c->name); free(c->arn); free(c->base_version); free(c->failure);
		cJSON_Delete(c->base_config);
		free(c->uversion); free(c->ufailure);
		cJSON_Delete(c->uconfig);
		free(c);
	}
	for (i = 0; i < w->batches.n; i++) {
		struct batch_job *b = w->batches.v[i];

		free(b->name); free(b->arn); free(b->version_arn); free(b->filter_arn);
		free(b->role_arn); free(b->failure); free(b->input); free(b->input_kms);
		free(b->output); free(b->output_kms); free(b->mode);
		cJSON_Delete(b->config); cJSON_Delete(b->theme); cJSON_Delete(b->outputs);
		cJSON_Delete(b->tags);
		free(b);
	}
	free(w->batches.v);
	free(w->groups.v); free(w->datasets.v); free(w->jobs.v);
	free(w->solutions.v); free(w->versions.v); free(w->campaigns.v);
	cJSON_Delete(w->default_metrics);
	cJSON_Delete(w->roles);
	cJSON_Delete(w->import_fails);
	free(w->failure_reason);
	free(w->region);
	free(w->account);
	free(w);
}

const char *emu_world_region(const struct emu_world *w)
{
	return w->region;
}

const char *emu_world_account(const struct emu_world *w)
{
	return w->account;
}

/* ---- lookups -------------------------------------------------------------- */

#define FIND(vec, field, key) ({ \
	__typeof__(*(vec).v) found_ = NULL; \
	for (size_t i_ = 0; (key) && i_ < (vec).n; i_++) \
		if ((vec).v[i_]->field && !strcmp((vec).v[i_]->field, (key))) { \
			found_ = (vec).v[i_]; \
			break; \
		} \
	found_; })

static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- loading -------------------------------------------------------------- */

static int64_t ms_member(const cJSON *o, const char *name, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (int64_t)v->valuedouble : def;
}

/* "arn:aws:personalize:REGION:ACCOUNT:kind/a[/b]" */
static char *arn(const struct emu_world *w, const char *kind, const char *a,
		 const char *b)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_printf(&sb, "arn:aws:personalize:%s:%s:%s/%s", w->region, w->account,
		      kind, a);
	if (b)
		strbuf_printf(&sb, "/%s", b);
	if (strbuf_error(&sb) < 0) {
		strbuf_free(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static char *schema_arn(const struct emu_world *w, const char *group, const char *type)
{
	char *name = emu_strdup_printf("%s-%s", group, type);
	char *a = name ? arn(w, "schema", name, NULL) : NULL;

	free(name);
	return a;
}

static char *version_id(struct emu_world *w)
{
	return emu_strdup_printf("%08llx",
				 (unsigned long long)(emu_rng_next(&w->rng) & 0xffffffffULL));
}

/* Last path element of an ARN ("arn:...:solution/my-solution" -> "my-solution"). */
static const char *arn_tail(const char *a)
{
	const char *s = strrchr(a, '/');

	return s ? s + 1 : a;
}

#define LOAD_FAIL(...) do { *err = emu_strdup_printf(__VA_ARGS__); r = -EINVAL; goto cleanup; } while (0)
#define LOAD_OOM(p) do { if (!(p)) { r = -ENOMEM; goto cleanup; } } while (0)

static struct dsg *group_by_ref(struct emu_world *w, const char *ref)
{
	struct dsg *g;

	if (!ref)
		return w->groups.n ? w->groups.v[0] : NULL;
	g = FIND(w->groups, arn, ref);
	return g ? g : FIND(w->groups, name, ref);
}

static int load_groups(struct emu_world *w, const cJSON *root, int64_t created, char **err)
{
	const cJSON *e;
	int r = 0, i = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "datasetGroups")) {
		const char *name = str_member(e, "name");
		struct dsg *g;

		i++;
		if (!name)
			LOAD_FAIL("datasetGroups[%d]: \"name\" (a string) is required", i);
		g = VEC_PUSH(w->groups);
		LOAD_OOM(g);
		g->name = strdup(name);
		g->arn = str_member(e, "arn") ? strdup(str_member(e, "arn"))
					      : arn(w, "dataset-group", name, NULL);
		g->role_arn = dup_or_null(str_member(e, "roleArn"));
		g->domain = dup_or_null(str_member(e, "domain"));
		g->created = created;
		LOAD_OOM(g->name && g->arn);
	}
cleanup:
	return r;
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static int load_datasets(struct emu_world *w, const cJSON *root, int64_t created, char **err)
{
	const cJSON *e;
	int r = 0, i = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "datasets")) {
		const char *type = str_member(e, "type"), *a = str_member(e, "arn");
		struct dsg *g = group_by_ref(w, str_member(e, "datasetGroup"));
		struct dataset *d;

		i++;
		if (!g)
			LOAD_FAIL("datasets[%d]: \"datasetGroup\" names no dataset group", i);
		if (!type && a)
			type = arn_tail(a);
		if (!type)
			LOAD_FAIL("datasets[%d]: \"type\" (e.g. INTERACTIONS) is required", i);
		d = VEC_PUSH(w->datasets);
		LOAD_OOM(d);
		d->type = strdup(type);
		LOAD_OOM(d->type);
		upper(d->type);
		d->group_arn = strdup(g->arn);
		d->arn = a ? strdup(a) : arn(w, "dataset", g->name, d->type);
		d->name = str_member(e, "name") ? strdup(str_member(e, "name"))
			: emu_strdup_printf("%s-%s", g->name, d->type);
		d->schema_arn = str_member(e, "schemaArn") ? strdup(str_member(e, "schemaArn"))
			: schema_arn(w, g->name, d->type);
		d->created = created;
		LOAD_OOM(d->group_arn && d->arn && d->name && d->schema_arn);
	}
cleanup:
	return r;
}

static int load_version(struct emu_world *w, struct solution *s, const cJSON *e,
			const struct emu_clock *now, int64_t created, char **err, int i)
{
	const char *id = str_member(e, "id"), *a = str_member(e, "arn");
	const char *status = str_member(e, "status");
	const cJSON *hours = cJSON_GetObjectItemCaseSensitive(e, "trainingHours");
	const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(e, "metrics");
	struct version *v;
	int r = 0;

	v = VEC_PUSH(w->versions);
	LOAD_OOM(v);
	v->solution_arn = strdup(s->arn);
	if (a)
		v->arn = strdup(a);
	else if (id)
		v->arn = emu_strdup_printf("%s/%s", s->arn, id);
	else {
		char *gen = version_id(w);

		v->arn = gen ? emu_strdup_printf("%s/%s", s->arn, gen) : NULL;
		free(gen);
	}
	v->name = dup_or_null(str_member(e, "name"));
	v->mode = strdup(str_member(e, "trainingMode") ? str_member(e, "trainingMode") : "FULL");
	v->type = strdup("MANUAL");
	v->created = created;
	v->hours = cJSON_IsNumber(hours) ? hours->valuedouble : 1.25;
	v->metrics = cJSON_Duplicate(cJSON_IsObject(metrics) ? metrics : w->default_metrics, true);
	LOAD_OOM(v->solution_arn && v->arn && v->mode && v->type && v->metrics);
	/* A pre-existing version finished long ago. */
	v->tl = new_timeline(w, now->mono_ms - EMU_PREEXISTING_AGE_MS, 0, false);
	v->tl.pending_ms = 0;
	if (status && !strcmp(status, "CREATE FAILED")) {
		v->tl.fail = true;
		v->failure = strdup(str_member(e, "failureReason") ? str_member(e, "failureReason")
								   : "Training failed");
	} else if (status && strcmp(status, "ACTIVE")) {
		LOAD_FAIL("solutions: version %d: status must be ACTIVE or CREATE FAILED", i);
	}
cleanup:
	return r;
}

static int load_solutions(struct emu_world *w, const cJSON *root,
			  const struct emu_clock *now, int64_t created, char **err)
{
	const cJSON *e;
	int r = 0, i = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "solutions")) {
		const char *name = str_member(e, "name");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "newVersionMetrics");
		struct dsg *g = group_by_ref(w, str_member(e, "datasetGroup"));
		const cJSON *ve;
		struct solution *s;
		int j = 0;

		i++;
		if (!name)
			LOAD_FAIL("solutions[%d]: \"name\" is required", i);
		if (!g)
			LOAD_FAIL("solutions[%d]: \"datasetGroup\" names no dataset group", i);
		s = VEC_PUSH(w->solutions);
		LOAD_OOM(s);
		s->name = strdup(name);
		s->arn = str_member(e, "arn") ? strdup(str_member(e, "arn"))
					      : arn(w, "solution", name, NULL);
		s->group_arn = strdup(g->arn);
		s->recipe_arn = strdup(str_member(e, "recipeArn") ? str_member(e, "recipeArn")
				: "arn:aws:personalize:::recipe/aws-user-personalization");
		s->event_type = dup_or_null(str_member(e, "eventType"));
		s->auto_training = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "performAutoTraining"));
		s->created = created;
		s->next_metrics = cJSON_IsArray(nm) ? cJSON_Duplicate(nm, true) : cJSON_CreateArray();
		LOAD_OOM(s->name && s->arn && s->group_arn && s->recipe_arn && s->next_metrics);
		cJSON_ArrayForEach(ve, cJSON_GetObjectItemCaseSensitive(e, "versions")) {
			j++;
			r = load_version(w, s, ve, now, created + j * 1000, err, j);
			if (r < 0)
				goto cleanup;
		}
	}
cleanup:
	return r;
}

static struct version *version_by_ref(struct emu_world *w, const char *ref)
{
	struct version *v;
	size_t i;

	if (!ref)
		return NULL;
	v = FIND(w->versions, arn, ref);
	if (v)
		return v;
	for (i = 0; i < w->versions.n; i++)
		if (!strcmp(arn_tail(w->versions.v[i]->arn), ref))
			return w->versions.v[i];
	return NULL;
}

static int load_campaigns(struct emu_world *w, const cJSON *root, int64_t created, char **err)
{
	const cJSON *e;
	int r = 0, i = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "campaigns")) {
		const char *name = str_member(e, "name");
		const cJSON *tps = cJSON_GetObjectItemCaseSensitive(e, "minProvisionedTPS");
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(e, "campaignConfig");
		struct version *v = version_by_ref(w, str_member(e, "version"));
		struct campaign *c;

		i++;
		if (!name)
			LOAD_FAIL("campaigns[%d]: \"name\" is required", i);
		if (!v)
			LOAD_FAIL("campaigns[%d]: \"version\" (id or ARN) names no solution version", i);
		c = VEC_PUSH(w->campaigns);
		LOAD_OOM(c);
		c->name = strdup(name);
		c->arn = str_member(e, "arn") ? strdup(str_member(e, "arn"))
					      : arn(w, "campaign", name, NULL);
		c->base_version = strdup(v->arn);
		c->base_tps = cJSON_IsNumber(tps) ? tps->valueint : 1;
		c->base_config = cfg ? cJSON_Duplicate(cfg, true) : NULL;
		c->created = created;
		LOAD_OOM(c->name && c->arn && c->base_version);
	}
cleanup:
	return r;
}

static cJSON *builtin_metrics(void)
{
	static const struct { const char *k; double v; } m[] = {
		{ "coverage", 0.2742 },
		{ "mean_reciprocal_rank_at_25", 0.1873 },
		{ "normalized_discounted_cumulative_gain_at_5", 0.1889 },
		{ "normalized_discounted_cumulative_gain_at_10", 0.2231 },
		{ "normalized_discounted_cumulative_gain_at_25", 0.2817 },
		{ "precision_at_5", 0.0562 },
		{ "precision_at_10", 0.0425 },
		{ "precision_at_25", 0.0283 },
	};
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < sizeof(m) / sizeof(m[0]); i++)
		cJSON_AddNumberToObject(o, m[i].k, m[i].v);
	return o;
}

static int world_from_json(const cJSON *root, const struct emu_clock *now,
			   uint64_t seed, struct emu_world **out, char **err)
{
	struct emu_world *w = calloc(1, sizeof(*w));
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "durations");
	const cJSON *dm = cJSON_GetObjectItemCaseSensitive(root, "defaultMetrics");
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(root, "roles");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(root, "typeNamespaces");
	const cJSON *strict = cJSON_GetObjectItemCaseSensitive(root, "trainingRequiresIdleImports");
	const char *style = str_member(root, "campaignUpdateStatuses");
	const char *bstyle = str_member(root, "batchJobStatuses");
	int64_t created = now->api_ms - EMU_PREEXISTING_AGE_MS;
	int r = 0;

	if (!w)
		return -ENOMEM;
	if (!cJSON_IsObject(root))
		LOAD_FAIL("the world must be an object");
	emu_rng_seed(&w->rng, seed);
	w->scale = now->scale > 1 ? now->scale : 1;
	w->region = strdup(str_member(root, "region") ? str_member(root, "region") : EMU_DEFAULT_REGION);
	w->account = strdup(str_member(root, "account") ? str_member(root, "account") : EMU_DEFAULT_ACCOUNT);
	LOAD_OOM(w->region && w->account);
	w->import_ms = ms_member(d, "importMs", EMU_DEFAULT_IMPORT_MS);
	w->training_ms = ms_member(d, "trainingMs", EMU_DEFAULT_TRAINING_MS);
	w->update_ms = ms_member(d, "campaignUpdateMs", EMU_DEFAULT_UPDATE_MS);
	w->pending_ms = ms_member(d, "pendingMs", EMU_DEFAULT_PENDING_MS);
	w->stopping_ms = ms_member(d, "stoppingMs", EMU_DEFAULT_STOPPING_MS);
	w->batch_ms[BATCH_INFERENCE] = ms_member(d, "batchInferenceMs", EMU_DEFAULT_BATCH_MS);
	w->batch_ms[BATCH_SEGMENT] = ms_member(d, "batchSegmentMs", EMU_DEFAULT_BATCH_MS);
	if (bstyle && strcmp(bstyle, "CREATE") && strcmp(bstyle, "MODEL"))
		LOAD_FAIL("batchJobStatuses must be \"CREATE\" or \"MODEL\"");
	w->batch_model_statuses = bstyle && !strcmp(bstyle, "MODEL");
	if (style && strcmp(style, "UPDATE") && strcmp(style, "CREATE"))
		LOAD_FAIL("campaignUpdateStatuses must be \"UPDATE\" or \"CREATE\"");
	w->update_style_create = style && !strcmp(style, "CREATE");
	w->training_needs_idle_imports = !cJSON_IsFalse(strict);
	w->ns = cJSON_IsFalse(ns) ? "" : EMU_NS_SERVICE;
	w->default_metrics = cJSON_IsObject(dm) ? cJSON_Duplicate(dm, true) : builtin_metrics();
	w->roles = cJSON_IsArray(roles) ? cJSON_Duplicate(roles, true) : NULL;
	w->failure_reason = NULL;
	LOAD_OOM(w->default_metrics);
	if ((r = load_groups(w, root, created, err)) < 0 ||
	    (r = load_datasets(w, root, created, err)) < 0 ||
	    (r = load_solutions(w, root, now, created, err)) < 0 ||
	    (r = load_campaigns(w, root, created, err)) < 0)
		goto cleanup;
	r = emu_world_set_script(w, cJSON_GetObjectItemCaseSensitive(root, "script"), err);
	if (r < 0)
		goto cleanup;
	*out = w;
	w = NULL;
cleanup:
	emu_world_free(w);
	return r;
}

int emu_world_parse(const char *text, size_t len, bool yaml,
		    const struct emu_clock *now, uint64_t seed,
		    struct emu_world **out, char **err)
{
	cJSON *root;
	int r;

	if (yaml) {
		root = emu_yaml_to_json(text, len, err);
	} else {
		root = cJSON_ParseWithLength(text, len);
		if (!root)
			*err = emu_strdup_printf("malformed JSON near offset %ld",
						 (long)(cJSON_GetErrorPtr() ?
							cJSON_GetErrorPtr() - text : 0));
	}
	if (!root)
		return -EINVAL;
	r = world_from_json(root, now, seed, out, err);
	cJSON_Delete(root);
	return r;
}

int emu_world_load(const char *path, const struct emu_clock *now,
		   uint64_t seed, struct emu_world **out, char **err)
{
	char *text = NULL, *inner = NULL;
	size_t len = 0, n = strlen(path);
	bool yaml = (n > 5 && !strcmp(path + n - 5, ".yaml")) ||
		    (n > 4 && !strcmp(path + n - 4, ".yml"));
	int r;

	r = emu_read_file(path, &text, &len);
	if (r < 0) {
		*err = emu_strdup_printf("%s: %s", path, strerror(-r));
		return r;
	}
	r = emu_world_parse(text, len, yaml, now, seed, out, &inner);
	if (r < 0)
		*err = emu_strdup_printf("%s: %s", path, inner ? inner : strerror(-r));
	free(inner);
	free(text);
	return r;
}

/* ---- scripted failures ---------------------------------------------------- */

static long fail_count(const cJSON *v)
{
	if (cJSON_IsTrue(v))
		return -1;
	if (cJSON_IsNumber(v))
		return v->valuedouble < 0 ? -1 : (long)v->valuedouble;
	return 0;
}

int emu_world_set_script(struct emu_world *w, const cJSON *script, char **err)
{
	const cJSON *imp = cJSON_GetObjectItemCaseSensitive(script, "importFails");
	const char *reason = str_member(script, "failureReason");
	cJSON *fails = cJSON_CreateObject();
	const cJSON *e;

	if (!fails)
		return -ENOMEM;
	if (script && !cJSON_IsObject(script) && !cJSON_IsNull(script)) {
		*err = strdup("script must be an object");
		cJSON_Delete(fails);
		return -EINVAL;
	}
	if (cJSON_IsArray(imp)) {
		cJSON_ArrayForEach(e, imp)
			if (cJSON_IsString(e))
				cJSON_AddNumberToObject(fails, e->valuestring, -1);
	} else if (cJSON_IsObject(imp)) {
		cJSON_ArrayForEach(e, imp)
			cJSON_AddNumberToObject(fails, e->string, (double)fail_count(e));
	} else if (cJSON_IsString(imp)) {
		cJSON_AddNumberToObject(fails, imp->valuestring, -1);
	} else if (imp && !cJSON_IsNull(imp)) {
		*err = strdup("script.importFails must be a list of dataset types or ARNs, or an object of counts");
		cJSON_Delete(fails);
		return -EINVAL;
	}
	cJSON_Delete(w->import_fails);
	w->import_fails = fails;
	w->training_fails = fail_count(cJSON_GetObjectItemCaseSensitive(script, "trainingFails"));
	w->update_fails = fail_count(cJSON_GetObjectItemCaseSensitive(script, "campaignUpdateFails"));
	w->batch_fails[BATCH_INFERENCE] =
		fail_count(cJSON_GetObjectItemCaseSensitive(script, "batchInferenceFails"));
	w->batch_fails[BATCH_SEGMENT] =
		fail_count(cJSON_GetObjectItemCaseSensitive(script, "batchSegmentFails"));
	free(w->failure_reason);
	w->failure_reason = dup_or_null(reason);
	return 0;
}

/* Consume one scripted failure from a counter: -1 always, N the next N. */
static bool take(long *count)
{
	if (*count < 0)
		return true;
	if (*count == 0)
		return false;
	(*count)--;
	return true;
}

static bool import_should_fail(struct emu_world *w, const struct dataset *d)
{
	cJSON *e;

	cJSON_ArrayForEach(e, w->import_fails) {
		long n;

		if (strcasecmp(e->string, d->type) && strcmp(e->string, d->arn))
			continue;
		n = (long)e->valuedouble;
		if (take(&n)) {
			cJSON_SetNumberValue(e, (double)n);
			return true;
		}
	}
	return false;
}

static char *reason(const struct emu_world *w, const char *def)
{
	return strdup(w->failure_reason ? w->failure_reason : def);
}

/* ---- output helpers ------------------------------------------------------- */

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

static void add_time(cJSON *o, const char *k, double epoch)
{
	cJSON_AddNumberToObject(o, k, epoch);
}

#define ERR(r, code, ...) emu_reply_error((r), 400, w->ns, code, __VA_ARGS__)
#define NOT_FOUND(r, a) ERR(r, "ResourceNotFoundException", "Resource %s does not exist.", (a))

/* ---- pagination ----------------------------------------------------------- */

static uint32_t fnv1a(const char *a, const char *b)
{
	uint32_t h = 2166136261u;
	const char *s;

	for (s = a; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (s = b; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Read nextToken/maxResults; 0 and *offset,*limit, or -EINVAL with r filled. */
static int page_args(struct emu_world *w, const char *op, const cJSON *in,
		     const char *filter, size_t *offset, size_t *limit,
		     struct emu_reply *r)
{
	const char *tok = str_member(in, "nextToken");
	const cJSON *mr = cJSON_GetObjectItemCaseSensitive(in, "maxResults");
	unsigned int h = 0, off = 0;
	int used = 0;

	*offset = 0;
	*limit = cJSON_IsNumber(mr) ? (size_t)mr->valueint : EMU_PAGE_DEFAULT;
	if (!tok)
		return 0;
	if (strlen(tok) != 16 || sscanf(tok, "%8x%8x%n", &h, &off, &used) != 2 ||
	    used != 16 || h != fnv1a(op, filter)) {
		ERR(r, "InvalidNextTokenException", "Invalid next token.");
		return -EINVAL;
	}
	*offset = off;
	return 0;
}

/* Emit page [offset, offset+limit) of the items in `all` (consumed). */
static void page_reply(const char *op, const char *filter,
		       const char *key, cJSON *all, size_t offset, size_t limit,
		       struct emu_reply *r)
{
	cJSON *out = cJSON_CreateObject(), *items = cJSON_CreateArray();
	size_t n = (size_t)cJSON_GetArraySize(all), i;

	for (i = offset; i < n && i < offset + limit; i++)
		cJSON_AddItemToArray(items, cJSON_Duplicate(cJSON_GetArrayItem(all, (int)i), true));
	cJSON_AddItemToObject(out, key, items);
	if (offset + limit < n) {
		char tok[17];

		snprintf(tok, sizeof(tok), "%08x%08x", fnv1a(op, filter),
			 (unsigned)(offset + limit));
		cJSON_AddStringToObject(out, "nextToken", tok);
	}
	cJSON_Delete(all);
	emu_reply_json(r, out);
}

/* ---- datasets and groups -------------------------------------------------- */

static cJSON *dataset_json(const struct dataset *d, bool full)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "name", d->name);
	add_str(o, "datasetArn", d->arn);
	if (full)
		add_str(o, "datasetGroupArn", d->group_arn);
	add_str(o, "datasetType", d->type);
	if (full)
		add_str(o, "schemaArn", d->schema_arn);
	add_str(o, "status", "ACTIVE");
	add_time(o, "creationDateTime", (double)d->created / 1000.0);
	add_time(o, "lastUpdatedDateTime", (double)d->created / 1000.0);
	return o;
}

static void op_describe_dataset(struct emu_world *w, const cJSON *in, struct emu_reply *r)
{
	const char *a = str_member(in, "datasetArn");
	struct dataset *d = FIND(w->datasets, arn, a);
	cJSON *o;

	if (!d) {
		NOT_FOUND(r, a);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "dataset", dataset_json(d, true));
	emu_reply_json(r, o);
}

static void op_list_datasets(struct emu_world *w, const cJSON *in, struct emu_reply *r)
{
	const char *g = str_member(in, "datasetGroupArn");
	cJSON *all = cJSON_CreateArray();
	size_t off, lim;

	if (page_args(w, "ListDatasets", in, g, &off, &lim, r) < 0) {
		cJSON_Delete(all);
		return;
	}
	for (size_t i = w->datasets.n; i-- > 0;)
		if (!g || !strcmp(w->datasets.v[i]->group_arn, g))
			cJSON_AddItemToArray(all, dataset_json(w->datasets.v[i], false));
	page_reply("ListDatasets", g, "datasets", all, off, lim, r);
}

static cJSON *group_json(const struct dsg *g, bool full)
{
	cJSON *d = cJSON_CreateObject();

	add_str(d, "name", g->name);
	add_str(d, "datasetGroupArn", g->arn);
	add_str(d, "status", "ACTIVE");
	if (full)
		add_str(d, "roleArn", g->role_arn);
	add_time(d, "creationDateTime", (double)g->created / 1000.0);
	add_time(d, "lastUpdatedDateTime", (double)g->created / 1000.0);
	add_str(d, "domain", g->domain);
	return d;
}

static void op_list_dataset_groups(struct emu_world *w, const cJSON *in, struct emu_reply *r)
{
	cJSON *all = cJSON_CreateArray();
	size_t off, lim;

	if (page_args(w, "ListDatasetGroups", in, NULL, &off, &lim, r) < 0) {
		cJSON_Delete(all);
		return;
	}
	for (size_t i = w->groups.n; i-- > 0;)
		cJSON_AddItemToArray(all, group_json(w->groups.v[i], false));
	page_reply("ListDatasetGroups", NULL, "datasetGroups", all, off, lim, r);
}

static void op_describe_dataset_group(struct emu_world *w, const cJSON *in, struct emu_reply *r)
{
	const char *a = str_member(in, "datasetGroupArn");
	struct dsg *g = FIND(w->groups, arn, a);
	cJSON *o;

	if (!g) {
		NOT_FOUND(r, a);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "datasetGroup", group_json(g, true));
	emu_reply_json(r, o);
}

/* ---- import jobs ---------------------------------------------------------- */

static cJSON *job_json(const struct import_job *j, int64_t now, bool full)
{
	cJSON *o = cJSON_CreateObject();
	int64_t since;
	enum emu_phase p = emu_timeline_phase(&j->tl, now, &since);

	add_str(o, "jobName", j->name);
	add_str(o, "datasetImportJobArn", j->arn);
	if (full) {
		cJSON *ds;

		add_str(o, "datasetArn", j->dataset_arn);
		ds = cJSON_AddObjectToObject(o, "dataSource");
		add_str(ds, "dataLocation", j->location);
		add_str(o, "roleArn", j->role_arn);
	}
	add_str(o, "status", create_status(p));
	add_time(o, "creationDateTime", (double)j->created / 1000.0);
	add_time(o, "lastUpdatedDateTime", epoch_s(j->created, &j->tl, since));
	if (p == EMU_PHASE_FAILED)
		add_str(o, "failureReason", j->failure);
	add_str(o, "importMode", j->mode);
	if (full && j->publish >= 0)
		cJSON_AddBoolToObject(o, "publishAttributionMetricsToS3", j->publish);
	return o;
}

static bool role_known(const struct emu_world *w, const char *role)
{
	const cJSON *e;

	if (!w->roles || !role)
		return true;
	cJSON_ArrayForEach(e, w->roles)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, role))
			return true;
	return false;
}

/* Personalize's rules for the tags of a create that the model's shapes do
 * not say ("Tagging Amazon Personalize resources", guidelines): at most 50
 * per resource (TooManyTagsException; the model's list allows 200), each
 * key once (case-sensitive), no key or value starting with "aws:". true when the
 * request is refused (r filled). The shapes (tagKey 1..128, tagValue
 * 0..256, the pattern) were checked by the model already. */
#define TAGS_MAX 50
static bool tags_refused(struct emu_world *w, const cJSON *in, struct emu_reply *r)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "tags"), *t, *u;

	if (!cJSON_IsArray(tags))
		return false;
	if (cJSON_GetArraySize(tags) > TAGS_MAX) {
		ERR(r, "TooManyTagsException",
		    "The number of tags (%d) exceeds the limit of %d tags per resource.",
		    cJSON_GetArraySize(tags), TAGS_MAX);
		return true;
	}
	cJSON_ArrayForEach(t, tags) {
		const char *k = str_member(t, "tagKey"), *v = str_member(t, "tagValue");

		if ((k && !strncasecmp(k, "aws:", 4)) || (v && !strncasecmp(v, "aws:", 4))) {
			ERR(r, "InvalidInputException",
			    "Tag keys and values starting with aws: are reserved for AWS use: %s.",
			    k ? k : "");
			return true;
		}
		for (u = tags->child; u && u != t; u = u->next) {
			const char *k2 = str_member(u, "tagKey");

			if (k && k2 && !strcmp(k, k2)) {
				ERR(r, "InvalidInputException",
				    "Duplicate tag key: %s. Each tag key must be unique.", k);
				return true;
			}
		}
	}
	return false;
}

/* The create's tags to keep on the resource: NULL when none. */
static cJSON *tags_kept(const cJSON *in)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "tags");

	return cJSON_IsArray(tags) && cJSON_GetArraySize(tags) > 0 ?
		cJSON_Duplicate(tags, true) : NULL;
}

static void op_create_import(struct emu_world *w, const cJSON *in,
			     const struct emu_clock *now, struct emu_reply *r)
{
	const char *name = str_member(in, "jobName"), *da = str_member(in, "datasetArn");
	const char *loc = str_member(cJSON_GetObjectItemCaseSensitive(in, "dataSource"), "dataLocation");
	const char *role = str_member(in, "roleArn");
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(in, "publishAttributionMetricsToS3");
	struct dataset *d = FIND(w->datasets, arn, da);
	struct import_job *j;
	char *ja;
	size_t i;
	bool fail;

	if (!d) {
		NOT_FOUND(r, da);
		return;
	}
	if (!loc) {
		ERR(r, "InvalidInputException", "dataSource.dataLocation is required.");
		return;
	}
	if (tags_refused(w, in, r))
		return;
	ja = arn(w, "dataset-import-job", name, NULL);
	if (!ja) {
		emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
		return;
	}
	if (FIND(w->jobs, arn, ja)) {
		ERR(r, "ResourceAlreadyExistsException", "Another resource with Arn %s already exists.", ja);
		free(ja);
		return;
	}
	for (i = 0; i < w->jobs.n; i++) {
		struct import_job *o = w->jobs.v[i];

		if (!strcmp(o->dataset_arn, da) &&
		    emu_phase_running(emu_timeline_phase(&o->tl, now->mono_ms, NULL))) {
			ERR(r, "ResourceInUseException",
			    "Dataset %s has an import job in progress: %s.", da, o->arn);
			free(ja);
			return;
		}
	}
	j = VEC_PUSH(w->jobs);
	if (!j) {
		free(ja);
		emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
		return;
	}
	j->arn = ja;
	j->name = strdup(name);
	j->dataset_arn = strdup(da);
	j->location = strdup(loc);
	j->role_arn = dup_or_null(role);
	j->mode = strdup(str_member(in, "importMode") ? str_member(in, "importMode") : "FULL");
	j->publish = cJSON_IsBool(pub) ? cJSON_IsTrue(pub) : -1;
	j->created = now->api_ms;
	j->tags = tags_kept(in);
	fail = import_should_fail(w, d);
	if (fail)
		j->failure = reason(w, "Input CSV is missing the following columns: [ITEM_ID]");
	else if (!role_known(w, role)) {
		fail = true;
		j->failure = emu_strdup_printf("Insufficient privileges for accessing data in S3 (role %s).",
					       role);
	}
	j->tl = new_timeline(w, now->mono_ms, w->import_ms, fail);
	cJSON *o = cJSON_CreateObject();
	add_str(o, "datasetImportJobArn", j->arn);
	emu_reply_json(r, o);
}

static void op_describe_import(struct emu_world *w, const cJSON *in,
			       const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "datasetImportJobArn");
	struct import_job *j = FIND(w->jobs, arn, a);
	cJSON *o;

	if (!j) {
		NOT_FOUND(r, a);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "datasetImportJob", job_json(j, now->mono_ms, true));
	emu_reply_json(r, o);
}

static void op_list_imports(struct emu_world *w, const cJSON *in,
			    const struct emu_clock *now, struct emu_reply *r)
{
	const char *da = str_member(in, "datasetArn");
	cJSON *all = cJSON_CreateArray();
	size_t off, lim;

	if (page_args(w, "ListDatasetImportJobs", in, da, &off, &lim, r) < 0) {
		cJSON_Delete(all);
		return;
	}
	for (size_t i = w->jobs.n; i-- > 0;)
		if (!da || !strcmp(w->jobs.v[i]->dataset_arn, da))
			cJSON_AddItemToArray(all, job_json(w->jobs.v[i], now->mono_ms, false));
	page_reply("ListDatasetImportJobs", da, "datasetImportJobs", all, off, lim, r);
}

/* ---- solutions and versions ----------------------------------------------- */

static cJSON *version_summary(const struct version *v, int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	int64_t since;
	enum emu_phase p = emu_timeline_phase(&v->tl, now, &since);

	add_str(o, "solutionVersionArn", v->arn);
	add_str(o, "status", create_status(p));
	add_str(o, "trainingMode", v->mode);
	add_str(o, "trainingType", v->type);
	add_time(o, "creationDateTime", (double)v->created / 1000.0);
	add_time(o, "lastUpdatedDateTime", epoch_s(v->created, &v->tl, since));
	if (p == EMU_PHASE_FAILED)
		add_str(o, "failureReason", v->failure);
	return o;
}

static struct version *latest_version(struct emu_world *w, const char *sol_arn)
{
	for (size_t i = w->versions.n; i-- > 0;)
		if (!strcmp(w->versions.v[i]->solution_arn, sol_arn))
			return w->versions.v[i];
	return NULL;
}

static cJSON *solution_json(struct emu_world *w, const struct solution *s,
			    int64_t now, bool full)
{
	cJSON *o = cJSON_CreateObject();
	struct version *lv;

	add_str(o, "name", s->name);
	add_str(o, "solutionArn", s->arn);
	if (full) {
		cJSON_AddBoolToObject(o, "performHPO", false);
		cJSON_AddBoolToObject(o, "performAutoML", false);
		cJSON_AddBoolToObject(o, "performAutoTraining", s->auto_training);
		add_str(o, "recipeArn", s->recipe_arn);
		add_str(o, "datasetGroupArn", s->group_arn);
		add_str(o, "eventType", s->event_type);
		cJSON_AddObjectToObject(o, "solutionConfig");
	}
	add_str(o, "status", "ACTIVE");
	add_time(o, "creationDateTime", (double)s->created / 1000.0);
	add_time(o, "lastUpdatedDateTime", (double)s->created / 1000.0);
	if (!full)
		add_str(o, "recipeArn", s->recipe_arn);
	if (full && (lv = latest_version(w, s->arn)))
		cJSON_AddItemToObject(o, "latestSolutionVersion", version_summary(lv, now));
	return o;
}

static void op_describe_solution(struct emu_world *w, const cJSON *in,
				 const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "solutionArn");
	struct solution *s = FIND(w->solutions, arn, a);
	cJSON *o;

	if (!s) {
		NOT_FOUND(r, a);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "solution", solution_json(w, s, now->mono_ms, true));
	emu_reply_json(r, o);
}

static void op_list_solutions(struct emu_world *w, const cJSON *in,
			      const struct emu_clock *now, struct emu_reply *r)
{
	const char *g = str_member(in, "datasetGroupArn");
	cJSON *all = cJSON_CreateArray();
	size_t off, lim;

	if (page_args(w, "ListSolutions", in, g, &off, &lim, r) < 0) {
		cJSON_Delete(all);
		return;
	}
	for (size_t i = w->solutions.n; i-- > 0;)
		if (!g || !strcmp(w->solutions.v[i]->group_arn, g))
			cJSON_AddItemToArray(all, solution_json(w, w->solutions.v[i],
								now->mono_ms, false));
	page_reply("ListSolutions", g, "solutions", all, off, lim, r);
}

static void op_create_version(struct emu_world *w, const cJSON *in,
			      const struct emu_clock *now, struct emu_reply *r)
{
	const char *sa = str_member(in, "solutionArn"), *name = str_member(in, "name");
	const char *mode = str_member(in, "trainingMode");
	struct solution *s = FIND(w->solutions, arn, sa);
	struct version *v;
	char *id = NULL;
	size_t i;
	bool fail;
	cJSON *o, *m;

	if (!s) {
		NOT_FOUND(r, sa);
		return;
	}
	for (i = 0; name && i < w->versions.n; i++)
		if (w->versions.v[i]->name && !strcmp(w->versions.v[i]->name, name) &&
		    !strcmp(w->versions.v[i]->solution_arn, sa)) {
			ERR(r, "ResourceAlreadyExistsException",
			    "Another resource with Arn %s already exists.", w->versions.v[i]->arn);
			return;
		}
	for (i = 0; i < w->versions.n; i++) {
		v = w->versions.v[i];
		if (!strcmp(v->solution_arn, sa) &&
		    emu_phase_running(emu_timeline_phase(&v->tl, now->mono_ms, NULL))) {
			ERR(r, "ResourceInUseException",
			    "Solution %s has a solution version in progress: %s.", sa, v->arn);
			return;
		}
	}
	if (tags_refused(w, in, r))
		return;
	for (i = 0; w->training_needs_idle_imports && i < w->jobs.n; i++) {
		struct import_job *j = w->jobs.v[i];
		struct dataset *d = FIND(w->datasets, arn, j->dataset_arn);

		if (d && !strcmp(d->group_arn, s->group_arn) &&
		    emu_phase_running(emu_timeline_phase(&j->tl, now->mono_ms, NULL))) {
			ERR(r, "ResourceInUseException",
			    "Dataset %s has an import job in progress: %s.", d->arn, j->arn);
			return;
		}
	}
	v = VEC_PUSH(w->versions);
	if (!v) {
		emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
		return;
	}
	do {
		free(id);
		free(v->arn);
		id = version_id(w);
		v->arn = id ? emu_strdup_printf("%s/%s", sa, id) : NULL;
	} while (v->arn && version_by_ref(w, v->arn) != v);
	free(id);
	v->name = dup_or_null(name);
	v->solution_arn = strdup(sa);
	v->mode = strdup(mode ? mode : "FULL");
	v->type = strdup("MANUAL");
	v->created = now->api_ms;
	v->tags = tags_kept(in);
	v->hours = 0.5 + (double)(emu_rng_next(&w->rng) % 1000) / 1000.0;
	m = cJSON_GetArraySize(s->next_metrics) > 0 ? cJSON_DetachItemFromArray(s->next_metrics, 0)
						   : cJSON_Duplicate(w->default_metrics, true);
	v->metrics = m;
	fail = take(&w->training_fails);
	if (fail)
		v->failure = reason(w, "Insufficient data to train a solution version: "
				       "the interactions dataset has fewer than 1000 records.");
	v->tl = new_timeline(w, now->mono_ms, w->training_ms, fail);
	o = cJSON_CreateObject();
	add_str(o, "solutionVersionArn", v->arn);
	emu_reply_json(r, o);
}

static void op_describe_version(struct emu_world *w, const cJSON *in,
				const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "solutionVersionArn");
	struct version *v = FIND(w->versions, arn, a);
	struct solution *s;
	cJSON *o, *d;
	int64_t since;
	enum emu_phase p;

	if (!v) {
		NOT_FOUND(r, a);
		return;
	}
	s = FIND(w->solutions, arn, v->solution_arn);
	p = emu_timeline_phase(&v->tl, now->mono_ms, &since);
	o = cJSON_CreateObject();
	d = cJSON_AddObjectToObject(o, "solutionVersion");
	add_str(d, "name", v->name);
	add_str(d, "solutionVersionArn", v->arn);
	add_str(d, "solutionArn", v->solution_arn);
	cJSON_AddBoolToObject(d, "performHPO", false);
	cJSON_AddBoolToObject(d, "performAutoML", false);
	if (s) {
		add_str(d, "recipeArn", s->recipe_arn);
		add_str(d, "eventType", s->event_type);
		add_str(d, "datasetGroupArn", s->group_arn);
	}
	cJSON_AddObjectToObject(d, "solutionConfig");
	if (p == EMU_PHASE_ACTIVE || p == EMU_PHASE_STOPPED)
		cJSON_AddNumberToObject(d, "trainingHours", v->hours);
	add_str(d, "trainingMode", v->mode);
	add_str(d, "status", create_status(p));
	if (p == EMU_PHASE_FAILED)
		add_str(d, "failureReason", v->failure);
	add_time(d, "creationDateTime", (double)v->created / 1000.0);
	add_time(d, "lastUpdatedDateTime", epoch_s(v->created, &v->tl, since));
	add_str(d, "trainingType", v->type);
	emu_reply_json(r, o);
}

static void op_list_versions(struct emu_world *w, const cJSON *in,
			     const struct emu_clock *now, struct emu_reply *r)
{
	const char *sa = str_member(in, "solutionArn");
	cJSON *all;
	size_t off, lim;

	if (sa && !FIND(w->solutions, arn, sa)) {
		NOT_FOUND(r, sa);
		return;
	}
	if (page_args(w, "ListSolutionVersions", in, sa, &off, &lim, r) < 0)
		return;
	all = cJSON_CreateArray();
	for (size_t i = w->versions.n; i-- > 0;)
		if (!sa || !strcmp(w->versions.v[i]->solution_arn, sa))
			cJSON_AddItemToArray(all, version_summary(w->versions.v[i], now->mono_ms));
	page_reply("ListSolutionVersions", sa, "solutionVersions", all, off, lim, r);
}

static void op_stop_version(struct emu_world *w, const cJSON *in,
			    const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "solutionVersionArn");
	struct version *v = FIND(w->versions, arn, a);
	enum emu_phase p;

	if (!v) {
		NOT_FOUND(r, a);
		return;
	}
	p = emu_timeline_phase(&v->tl, now->mono_ms, NULL);
	if (p != EMU_PHASE_PENDING && p != EMU_PHASE_IN_PROGRESS) {
		ERR(r, "ResourceInUseException",
		    "Solution version %s is in state %s and cannot be stopped.",
		    a, create_status(p));
		return;
	}
	v->tl.stop_at_ms = now->mono_ms;
	emu_reply_json(r, cJSON_CreateObject());
}

static void op_get_metrics(struct emu_world *w, const cJSON *in,
			   const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "solutionVersionArn");
	struct version *v = FIND(w->versions, arn, a);
	enum emu_phase p;
	cJSON *o;

	if (!v) {
		NOT_FOUND(r, a);
		return;
	}
	p = emu_timeline_phase(&v->tl, now->mono_ms, NULL);
	if (p != EMU_PHASE_ACTIVE) {
		ERR(r, "ResourceInUseException",
		    "Solution version %s is in state %s; metrics exist only for ACTIVE versions.",
		    a, create_status(p));
		return;
	}
	o = cJSON_CreateObject();
	add_str(o, "solutionVersionArn", v->arn);
	cJSON_AddItemToObject(o, "metrics", cJSON_Duplicate(v->metrics, true));
	emu_reply_json(r, o);
}

/* ---- campaigns ------------------------------------------------------------ */

/* What the campaign serves at now: the update's version once it is ACTIVE. */
static const char *serving(const struct campaign *c, int64_t now, int *tps,
			   const cJSON **cfg)
{
	if (c->has_update &&
	    emu_timeline_phase(&c->utl, now, NULL) == EMU_PHASE_ACTIVE) {
		if (tps)
			*tps = c->utps;
		if (cfg)
			*cfg = c->uconfig;
		return c->uversion;
	}
	if (tps)
		*tps = c->base_tps;
	if (cfg)
		*cfg = c->base_config;
	return c->base_version;
}

static cJSON *campaign_json(const struct emu_world *w, const struct campaign *c,
			    int64_t now, bool full)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *cfg = NULL;
	int tps = 0;
	const char *sv = serving(c, now, &tps, &cfg);
	double updated = (double)c->created / 1000.0;
	int64_t since = 0;
	enum emu_phase p = EMU_PHASE_ACTIVE;

	if (c->has_update) {
		p = emu_timeline_phase(&c->utl, now, &since);
		if (p == EMU_PHASE_ACTIVE)
			updated = epoch_s(c->ucreated, &c->utl, since);
	}
	add_str(o, "name", c->name);
	add_str(o, "campaignArn", c->arn);
	if (full) {
		add_str(o, "solutionVersionArn", sv);
		cJSON_AddNumberToObject(o, "minProvisionedTPS", tps);
		if (cfg)
			cJSON_AddItemToObject(o, "campaignConfig", cJSON_Duplicate(cfg, true));
	}
	add_str(o, "status", "ACTIVE");
	add_time(o, "creationDateTime", (double)c->created / 1000.0);
	add_time(o, "lastUpdatedDateTime", updated);
	if (full && c->has_update) {
		cJSON *u = cJSON_AddObjectToObject(o, "latestCampaignUpdate");

		add_str(u, "solutionVersionArn", c->uversion);
		cJSON_AddNumberToObject(u, "minProvisionedTPS", c->utps);
		if (c->uconfig)
			cJSON_AddItemToObject(u, "campaignConfig", cJSON_Duplicate(c->uconfig, true));
		add_str(u, "status", update_status(w, p));
		if (p == EMU_PHASE_FAILED)
			add_str(u, "failureReason", c->ufailure);
		add_time(u, "creationDateTime", (double)c->ucreated / 1000.0);
		add_time(u, "lastUpdatedDateTime", epoch_s(c->ucreated, &c->utl, since));
	}
	return o;
}

static void op_describe_campaign(struct emu_world *w, const cJSON *in,
				 const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "campaignArn");
	struct campaign *c = FIND(w->campaigns, arn, a);
	cJSON *o;

	if (!c) {
		NOT_FOUND(r, a);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "campaign", campaign_json(w, c, now->mono_ms, true));
	emu_reply_json(r, o);
}

static const char *campaign_solution(const struct campaign *c, struct emu_world *w)
{
	struct version *v = FIND(w->versions, arn, c->base_version);

	return v ? v->solution_arn : NULL;
}

static void op_list_campaigns(struct emu_world *w, const cJSON *in,
			      const struct emu_clock *now, struct emu_reply *r)
{
	const char *sa = str_member(in, "solutionArn");
	cJSON *all = cJSON_CreateArray();
	size_t off, lim;

	if (page_args(w, "ListCampaigns", in, sa, &off, &lim, r) < 0) {
		cJSON_Delete(all);
		return;
	}
	for (size_t i = w->campaigns.n; i-- > 0;) {
		const char *cs = campaign_solution(w->campaigns.v[i], w);

		if (!sa || (cs && !strcmp(cs, sa)))
			cJSON_AddItemToArray(all, campaign_json(w, w->campaigns.v[i],
								now->mono_ms, false));
	}
	page_reply("ListCampaigns", sa, "campaigns", all, off, lim, r);
}

static void op_update_campaign(struct emu_world *w, const cJSON *in,
			       const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, "campaignArn");
	const char *va = str_member(in, "solutionVersionArn");
	const cJSON *tps = cJSON_GetObjectItemCaseSensitive(in, "minProvisionedTPS");
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(in, "campaignConfig");
	struct campaign *c = FIND(w->campaigns, arn, a);
	const cJSON *cur_cfg = NULL;
	struct version *v = NULL;
	const char *cur, *sol;
	int cur_tps = 0;
	char *nv;
	bool fail;
	cJSON *o;

	if (!c) {
		NOT_FOUND(r, a);
		return;
	}
	if (c->has_update && emu_phase_running(emu_timeline_phase(&c->utl, now->mono_ms, NULL))) {
		ERR(r, "ResourceInUseException",
		    "Campaign %s has an update in progress.", a);
		return;
	}
	cur = serving(c, now->mono_ms, &cur_tps, &cur_cfg);
	sol = campaign_solution(c, w);
	if (va) {
		size_t n = strlen(va);

		if (n > 8 && !strcmp(va + n - 8, "/$LATEST")) {
			char *sa = strndup(va, n - 8);

			for (size_t i = w->versions.n; sa && i-- > 0;)
				if (!strcmp(w->versions.v[i]->solution_arn, sa) &&
				    emu_timeline_phase(&w->versions.v[i]->tl, now->mono_ms, NULL) ==
				    EMU_PHASE_ACTIVE) {
					v = w->versions.v[i];
					break;
				}
			free(sa);
		} else {
			v = FIND(w->versions, arn, va);
		}
		if (!v) {
			NOT_FOUND(r, va);
			return;
		}
		if (sol && strcmp(v->solution_arn, sol)) {
			ERR(r, "InvalidInputException",
			    "Solution version %s does not belong to solution %s of campaign %s.",
			    va, sol, a);
			return;
		}
		if (emu_timeline_phase(&v->tl, now->mono_ms, NULL) != EMU_PHASE_ACTIVE) {
			ERR(r, "InvalidInputException",
			    "The solution version %s is not in ACTIVE state (status: %s).",
			    va, create_status(emu_timeline_phase(&v->tl, now->mono_ms, NULL)));
			return;
		}
	}
	nv = strdup(v ? v->arn : cur);
	if (!nv) {
		emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
		return;
	}
	/* The version served now becomes the base; the new update replaces the old. */
	if (cur != c->base_version) {
		char *b = strdup(cur);

		if (!b) {
			free(nv);
			emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
			return;
		}
		if (cur_cfg != c->base_config) {
			cJSON_Delete(c->base_config);
			c->base_config = cur_cfg ? cJSON_Duplicate(cur_cfg, true) : NULL;
		}
		c->base_tps = cur_tps;
		free(c->base_version);
		c->base_version = b;
	}
	free(c->uversion);
	c->uversion = nv;
	c->utps = cJSON_IsNumber(tps) ? tps->valueint : c->base_tps;
	cJSON_Delete(c->uconfig);
	c->uconfig = cJSON_IsObject(cfg) ? cJSON_Duplicate(cfg, true)
		   : (c->base_config ? cJSON_Duplicate(c->base_config, true) : NULL);
	free(c->ufailure);
	c->ufailure = NULL;
	fail = take(&w->update_fails);
	if (fail)
		c->ufailure = reason(w, "Campaign update failed: the solution version could not be deployed.");
	c->has_update = true;
	c->ucreated = now->api_ms;
	c->utl = new_timeline(w, now->mono_ms, w->update_ms, fail);
	o = cJSON_CreateObject();
	add_str(o, "campaignArn", c->arn);
	emu_reply_json(r, o);
}

/* ---- batch inference and batch segment jobs ------------------------------- */

static const struct {
	const char *arn_kind;  /* "batch-inference-job" */
	const char *arn_key;   /* "batchInferenceJobArn" */
	const char *object;    /* the Describe reply's member */
	const char *list_key;  /* the List reply's member */
	const char *list_op;
	const char *fail_default; /* scripted failure's reason */
} batch_kinds[BATCH_KINDS] = {
	[BATCH_INFERENCE] = { "batch-inference-job", "batchInferenceJobArn", "batchInferenceJob",
			      "batchInferenceJobs", "ListBatchInferenceJobs",
			      "Invalid input data: line 1 is not a JSON object with a userId or itemId." },
	[BATCH_SEGMENT] = { "batch-segment-job", "batchSegmentJobArn", "batchSegmentJob",
			    "batchSegmentJobs", "ListBatchSegmentJobs",
			    "Invalid input data: line 1 is not a JSON object with an itemId or itemAttributes." },
};

/* The recipe's name, the last element of its ARN, is one of names. */
static bool recipe_in(const char *recipe, const char *const *names)
{
	for (; recipe && *names; names++)
		if (!strcmp(arn_tail(recipe), *names))
			return true;
	return false;
}

/* The USER_SEGMENTATION recipes, the only ones a batch segment job takes
 * and a batch inference job refuses; and the recipes with no batch
 * recommendations at all ("You can't get batch recommendations with the
 * Trending-Now or Next-Best-Action recipes"). */
static const char *const segmentation_recipes[] = {
	"aws-item-affinity", "aws-item-attribute-affinity", NULL,
};
static const char *const no_batch_recipes[] = {
	"aws-trending-now", "aws-next-best-action", NULL,
};

/* The objects a job writes: for each input object (every object whose
 * key starts with the input's key: S3 paths are prefixes, as the service
 * reads them), the output prefix followed by the input file's name and
 * ".out". An empty array when the input matches nothing; NULL on OOM. */
static cJSON *batch_outputs(const struct emu_world *w, const char *ib, const char *ik,
			    const char *ob, const char *ok, uint64_t *total)
{
	cJSON *outs = cJSON_CreateArray();
	const char *sep = *ok && ok[strlen(ok) - 1] != '/' ? "/" : "";

	*total = 0;
	for (size_t i = 0; outs && w->s3 && i < w->s3->n; i++) {
		const struct emu_s3_object *o = &w->s3->v[i];
		const char *name = strrchr(o->key, '/');
		cJSON *spec;
		char *uri;

		name = name ? name + 1 : o->key;
		if (strcmp(o->bucket, ib) || strncmp(o->key, ik, strlen(ik)) || !*name)
			continue;
		spec = cJSON_CreateObject();
		uri = emu_strdup_printf("s3://%s/%s%s%s.out", ob, ok, sep, name);
		if (!spec || !uri || !cJSON_AddStringToObject(spec, "uri", uri)) {
			cJSON_Delete(spec);
			free(uri);
			cJSON_Delete(outs);
			return NULL;
		}
		free(uri);
		cJSON_AddItemToArray(outs, spec);
		/* a line of recommendations per input line: the output is larger */
		cJSON_AddNumberToObject(spec, "size", (double)(o->size * 4 + 64));
		*total += o->size;
	}
	return outs;
}

/* Check a create's solution version and its recipe; true when refused (r filled). */
static bool batch_version_refused(struct emu_world *w, enum batch_kind kind,
				  const char *va, const struct emu_clock *now,
				  struct emu_reply *r)
{
	struct version *v = FIND(w->versions, arn, va);
	const struct solution *s;
	enum emu_phase p;
	bool seg;

	if (!v) {
		NOT_FOUND(r, va);
		return true;
	}
	p = emu_timeline_phase(&v->tl, now->mono_ms, NULL);
	if (emu_phase_running(p)) {
		ERR(r, "ResourceInUseException",
		    "Solution version %s is not ACTIVE (status: %s).", va, create_status(p));
		return true;
	}
	if (p != EMU_PHASE_ACTIVE) {
		ERR(r, "InvalidInputException",
		    "The solution version %s is not in ACTIVE state (status: %s).",
		    va, create_status(p));
		return true;
	}
	s = FIND(w->solutions, arn, v->solution_arn);
	seg = s && recipe_in(s->recipe_arn, segmentation_recipes);
	if (kind == BATCH_SEGMENT && !seg) {
		ERR(r, "InvalidInputException",
		    "Batch segment jobs need a solution version of a USER_SEGMENTATION recipe; "
		    "%s was trained with %s.", va, s ? s->recipe_arn : "an unknown recipe");
		return true;
	}
	if (kind == BATCH_INFERENCE && seg) {
		ERR(r, "InvalidInputException",
		    "Batch inference jobs do not support USER_SEGMENTATION recipes (%s): "
		    "use CreateBatchSegmentJob.", s->recipe_arn);
		return true;
	}
	if (kind == BATCH_INFERENCE && s && recipe_in(s->recipe_arn, no_batch_recipes)) {
		ERR(r, "InvalidInputException",
		    "Batch recommendations are not supported for recipe %s.", s->recipe_arn);
		return true;
	}
	return false;
}

static char *dup_json_str(const cJSON *o, const char *a, const char *b)
{
	return dup_or_null(str_member(cJSON_GetObjectItemCaseSensitive(o, a), b));
}

static void op_create_batch(struct emu_world *w, enum batch_kind kind, const cJSON *in,
			    const struct emu_clock *now, struct emu_reply *r)
{
	const char *name = str_member(in, "jobName"), *va = str_member(in, "solutionVersionArn");
	const char *role = str_member(in, "roleArn"), *mode = str_member(in, "batchInferenceJobMode");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(in, "jobInput");
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(in, "jobOutput");
	const cJSON *nr = cJSON_GetObjectItemCaseSensitive(in, "numResults");
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(in, "batchInferenceJobConfig");
	const cJSON *theme = cJSON_GetObjectItemCaseSensitive(in, "themeGenerationConfig");
	char *ib = NULL, *ik = NULL, *ob = NULL, *ok = NULL, *ba = NULL;
	struct batch_job *b;
	bool fail;
	cJSON *o;

	if (tags_refused(w, in, r))
		return;
	/* the outputs of jobs finished by now are inputs like any object */
	if (emu_world_publish(w, now) < 0)
		goto oom;
	ba = arn(w, batch_kinds[kind].arn_kind, name, NULL);
	if (!ba)
		goto oom;
	if (FIND(w->batches, arn, ba)) {
		ERR(r, "ResourceAlreadyExistsException", "Another resource with Arn %s already exists.", ba);
		goto out;
	}
	if (batch_version_refused(w, kind, va, now, r))
		goto out;
	if (mode && !strcmp(mode, "THEME_GENERATION") && !theme) {
		ERR(r, "InvalidInputException",
		    "themeGenerationConfig is required when batchInferenceJobMode is THEME_GENERATION.");
		goto out;
	}
	if (emu_s3_split_uri(str_member(cJSON_GetObjectItemCaseSensitive(src, "s3DataSource"), "path"),
			     true, &ib, &ik) < 0) {
		ERR(r, "InvalidInputException",
		    "jobInput.s3DataSource.path must be an S3 path: s3://bucket/key.");
		goto out;
	}
	if (emu_s3_split_uri(str_member(cJSON_GetObjectItemCaseSensitive(dst, "s3DataDestination"), "path"),
			     false, &ob, &ok) < 0) {
		ERR(r, "InvalidInputException",
		    "jobOutput.s3DataDestination.path must be an S3 path: s3://bucket/prefix/.");
		goto out;
	}
	b = VEC_PUSH(w->batches);
	if (!b)
		goto oom;
	b->kind = kind;
	b->arn = ba;
	ba = NULL;
	b->name = strdup(name);
	b->version_arn = strdup(va);
	b->filter_arn = dup_or_null(str_member(in, "filterArn"));
	b->role_arn = dup_or_null(role);
	b->input = dup_json_str(src, "s3DataSource", "path");
	b->input_kms = dup_json_str(src, "s3DataSource", "kmsKeyArn");
	b->output = dup_json_str(dst, "s3DataDestination", "path");
	b->output_kms = dup_json_str(dst, "s3DataDestination", "kmsKeyArn");
	b->mode = kind == BATCH_INFERENCE ? strdup(mode ? mode : "BATCH_INFERENCE") : NULL;
	b->num_results = cJSON_IsNumber(nr) ? nr->valueint : -1;
	b->config = cJSON_IsObject(cfg) ? cJSON_Duplicate(cfg, true) : NULL;
	b->theme = cJSON_IsObject(theme) ? cJSON_Duplicate(theme, true) : NULL;
	b->outputs = batch_outputs(w, ib, ik, ob, ok, &b->output_size);
	b->created = now->api_ms;
	b->tags = tags_kept(in);
	/* What the service finds out once the job runs: it fails then, and
	 * the create succeeds. */
	fail = take(&w->batch_fails[kind]);
	if (fail)
		b->failure = reason(w, batch_kinds[kind].fail_default);
	else if (!role_known(w, role)) {
		fail = true;
		b->failure = emu_strdup_printf("Insufficient privileges for accessing data in S3 (role %s).",
					       role);
	} else if (b->outputs && cJSON_GetArraySize(b->outputs) == 0) {
		fail = true;
		b->failure = emu_strdup_printf("Input data not found: no object at %s.", b->input);
	}
	b->tl = new_timeline(w, now->mono_ms, w->batch_ms[kind], fail);
	o = cJSON_CreateObject();
	add_str(o, batch_kinds[kind].arn_key, b->arn);
	emu_reply_json(r, o);
	goto out;
oom:
	emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
out:
	free(ba); free(ib); free(ik); free(ob); free(ok);
}

static const char *batch_status(const struct emu_world *w, enum emu_phase p)
{
	if (w->batch_model_statuses && p == EMU_PHASE_PENDING)
		return "PENDING";
	if (w->batch_model_statuses && p == EMU_PHASE_IN_PROGRESS)
		return "IN PROGRESS";
	return create_status(p);
}

static void add_s3_config(cJSON *o, const char *outer, const char *inner,
			  const char *path, const char *kms)
{
	cJSON *c = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, outer), inner);

	add_str(c, "path", path);
	add_str(c, "kmsKeyArn", kms);
}

static cJSON *batch_json(const struct emu_world *w, const struct batch_job *b,
			 int64_t now, bool full)
{
	cJSON *o = cJSON_CreateObject();
	int64_t since;
	enum emu_phase p = emu_timeline_phase(&b->tl, now, &since);

	add_str(o, "jobName", b->name);
	add_str(o, batch_kinds[b->kind].arn_key, b->arn);
	if (full)
		add_str(o, "filterArn", b->filter_arn);
	if (p == EMU_PHASE_FAILED)
		add_str(o, "failureReason", b->failure);
	add_str(o, "solutionVersionArn", b->version_arn);
	if (full) {
		if (b->num_results >= 0)
			cJSON_AddNumberToObject(o, "numResults", b->num_results);
		add_s3_config(o, "jobInput", "s3DataSource", b->input, b->input_kms);
		add_s3_config(o, "jobOutput", "s3DataDestination", b->output, b->output_kms);
		if (b->config)
			cJSON_AddItemToObject(o, "batchInferenceJobConfig", cJSON_Duplicate(b->config, true));
		add_str(o, "roleArn", b->role_arn);
		if (b->theme)
			cJSON_AddItemToObject(o, "themeGenerationConfig", cJSON_Duplicate(b->theme, true));
	}
	add_str(o, "batchInferenceJobMode", b->mode);
	add_str(o, "status", batch_status(w, p));
	add_time(o, "creationDateTime", (double)b->created / 1000.0);
	add_time(o, "lastUpdatedDateTime", epoch_s(b->created, &b->tl, since));
	return o;
}

static struct batch_job *batch_find(struct emu_world *w, enum batch_kind kind, const char *a)
{
	struct batch_job *b = FIND(w->batches, arn, a);

	return b && b->kind == kind ? b : NULL;
}

static void op_describe_batch(struct emu_world *w, enum batch_kind kind, const cJSON *in,
			      const struct emu_clock *now, struct emu_reply *r)
{
	const char *a = str_member(in, batch_kinds[kind].arn_key);
	struct batch_job *b = batch_find(w, kind, a);
	cJSON *o;

	if (!b) {
		NOT_FOUND(r, a);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, batch_kinds[kind].object, batch_json(w, b, now->mono_ms, true));
	emu_reply_json(r, o);
}

static void op_list_batches(struct emu_world *w, enum batch_kind kind, const cJSON *in,
			    const struct emu_clock *now, struct emu_reply *r)
{
	const char *va = str_member(in, "solutionVersionArn");
	const char *op = batch_kinds[kind].list_op;
	cJSON *all;
	size_t off, lim;

	if (page_args(w, op, in, va, &off, &lim, r) < 0)
		return;
	all = cJSON_CreateArray();
	for (size_t i = w->batches.n; i-- > 0;) {
		const struct batch_job *b = w->batches.v[i];

		if (b->kind == kind && (!va || !strcmp(b->version_arn, va)))
			cJSON_AddItemToArray(all, batch_json(w, b, now->mono_ms, false));
	}
	page_reply(op, va, batch_kinds[kind].list_key, all, off, lim, r);
}

void emu_world_attach_s3(struct emu_world *w, struct emu_s3 *s3)
{
	w->s3 = s3;
}

int emu_world_publish(struct emu_world *w, const struct emu_clock *now)
{
	for (size_t i = 0; w->s3 && i < w->batches.n; i++) {
		struct batch_job *b = w->batches.v[i];
		int64_t since;
		const cJSON *e;

		if (b->published || !b->outputs ||
		    emu_timeline_phase(&b->tl, now->mono_ms, &since) != EMU_PHASE_ACTIVE)
			continue;
		cJSON_ArrayForEach(e, b->outputs) {
			cJSON *spec = cJSON_Duplicate(e, true);
			char ts[32], etag[40], *err = NULL;
			int rc;

			emu_iso8601(now->wall_ms - (now->mono_ms - since), ts);
			snprintf(etag, sizeof(etag), "\"%08x%08x%016llx\"",
				 fnv1a(b->arn, str_member(e, "uri")), fnv1a(str_member(e, "uri"), b->arn),
				 (unsigned long long)b->output_size);
			if (!spec || !cJSON_AddStringToObject(spec, "lastModified", ts) ||
			    !cJSON_AddStringToObject(spec, "etag", etag)) {
				cJSON_Delete(spec);
				return -ENOMEM;
			}
			rc = emu_s3_put(w->s3, spec, now->wall_ms, &err);
			cJSON_Delete(spec);
			free(err);
			if (rc < 0)
				return rc;
		}
		b->published = true;
	}
	return 0;
}

/* ListTagsForResource of an import job, a solution version or a batch
 * job: the tags it was created with. */
static void op_list_tags(struct emu_world *w, const cJSON *in, struct emu_reply *r)
{
	const char *a = str_member(in, "resourceArn");
	struct import_job *j = FIND(w->jobs, arn, a);
	struct batch_job *b = j ? NULL : FIND(w->batches, arn, a);
	struct version *v = j || b ? NULL : version_by_ref(w, a);
	const cJSON *tags;
	cJSON *o;

	if (!j && !b && !v) {
		NOT_FOUND(r, a);
		return;
	}
	tags = j ? j->tags : b ? b->tags : v->tags;
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "tags", tags ? cJSON_Duplicate(tags, true) : cJSON_CreateArray());
	emu_reply_json(r, o);
}

/* ---- dispatch ------------------------------------------------------------- */

void emu_world_call(struct emu_world *w, const char *op, const cJSON *in,
		    const struct emu_clock *now, struct emu_reply *r)
{
	if (!strcmp(op, "CreateDatasetImportJob"))
		op_create_import(w, in, now, r);
	else if (!strcmp(op, "DescribeDatasetImportJob"))
		op_describe_import(w, in, now, r);
	else if (!strcmp(op, "ListDatasetImportJobs"))
		op_list_imports(w, in, now, r);
	else if (!strcmp(op, "CreateSolutionVersion"))
		op_create_version(w, in, now, r);
	else if (!strcmp(op, "DescribeSolutionVersion"))
		op_describe_version(w, in, now, r);
	else if (!strcmp(op, "ListSolutionVersions"))
		op_list_versions(w, in, now, r);
	else if (!strcmp(op, "StopSolutionVersionCreation"))
		op_stop_version(w, in, now, r);
	else if (!strcmp(op, "GetSolutionMetrics"))
		op_get_metrics(w, in, now, r);
	else if (!strcmp(op, "UpdateCampaign"))
		op_update_campaign(w, in, now, r);
	else if (!strcmp(op, "DescribeCampaign"))
		op_describe_campaign(w, in, now, r);
	else if (!strcmp(op, "ListCampaigns"))
		op_list_campaigns(w, in, now, r);
	else if (!strcmp(op, "DescribeDataset"))
		op_describe_dataset(w, in, r);
	else if (!strcmp(op, "ListDatasets"))
		op_list_datasets(w, in, r);
	else if (!strcmp(op, "DescribeSolution"))
		op_describe_solution(w, in, now, r);
	else if (!strcmp(op, "ListSolutions"))
		op_list_solutions(w, in, now, r);
	else if (!strcmp(op, "DescribeDatasetGroup"))
		op_describe_dataset_group(w, in, r);
	else if (!strcmp(op, "ListDatasetGroups"))
		op_list_dataset_groups(w, in, r);
	else if (!strcmp(op, "ListTagsForResource"))
		op_list_tags(w, in, r);
	else if (!strcmp(op, "CreateBatchInferenceJob"))
		op_create_batch(w, BATCH_INFERENCE, in, now, r);
	else if (!strcmp(op, "DescribeBatchInferenceJob"))
		op_describe_batch(w, BATCH_INFERENCE, in, now, r);
	else if (!strcmp(op, "ListBatchInferenceJobs"))
		op_list_batches(w, BATCH_INFERENCE, in, now, r);
	else if (!strcmp(op, "CreateBatchSegmentJob"))
		op_create_batch(w, BATCH_SEGMENT, in, now, r);
	else if (!strcmp(op, "DescribeBatchSegmentJob"))
		op_describe_batch(w, BATCH_SEGMENT, in, now, r);
	else if (!strcmp(op, "ListBatchSegmentJobs"))
		op_list_batches(w, BATCH_SEGMENT, in, now, r);
	else
		/* In the model but not emulated: say so in AWS's form. */
		emu_reply_error(r, 404, EMU_NS_CORAL, "UnknownOperationException",
				"Operation %s is not supported by the emulator.", op);
}

/* ---- state snapshot ------------------------------------------------------- */

cJSON *emu_world_state(struct emu_world *w, const struct emu_clock *now)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	add_str(o, "region", w->region);
	add_str(o, "account", w->account);
	a = cJSON_AddArrayToObject(o, "datasets");
	for (i = 0; i < w->datasets.n; i++)
		cJSON_AddItemToArray(a, dataset_json(w->datasets.v[i], true));
	a = cJSON_AddArrayToObject(o, "datasetImportJobs");
	for (i = 0; i < w->jobs.n; i++) {
		cJSON *j = job_json(w->jobs.v[i], now->mono_ms, true);

		add_str(j, "failureReasonScripted", w->jobs.v[i]->tl.fail ? w->jobs.v[i]->failure : NULL);
		if (w->jobs.v[i]->tags)
			cJSON_AddItemToObject(j, "tags", cJSON_Duplicate(w->jobs.v[i]->tags, true));
		cJSON_AddItemToArray(a, j);
	}
	a = cJSON_AddArrayToObject(o, "solutions");
	for (i = 0; i < w->solutions.n; i++)
		cJSON_AddItemToArray(a, solution_json(w, w->solutions.v[i], now->mono_ms, true));
	a = cJSON_AddArrayToObject(o, "solutionVersions");
	for (i = 0; i < w->versions.n; i++) {
		cJSON *v = version_summary(w->versions.v[i], now->mono_ms);

		add_str(v, "solutionArn", w->versions.v[i]->solution_arn);
		add_str(v, "name", w->versions.v[i]->name);
		cJSON_AddItemToObject(v, "metrics", cJSON_Duplicate(w->versions.v[i]->metrics, true));
		if (w->versions.v[i]->tags)
			cJSON_AddItemToObject(v, "tags", cJSON_Duplicate(w->versions.v[i]->tags, true));
		cJSON_AddItemToArray(a, v);
	}
	a = cJSON_AddArrayToObject(o, "campaigns");
	for (i = 0; i < w->campaigns.n; i++)
		cJSON_AddItemToArray(a, campaign_json(w, w->campaigns.v[i], now->mono_ms, true));
	for (int k = 0; k < BATCH_KINDS; k++) {
		a = cJSON_AddArrayToObject(o, batch_kinds[k].list_key);
		for (i = 0; i < w->batches.n; i++) {
			const struct batch_job *b = w->batches.v[i];
			cJSON *j;

			if (b->kind != (enum batch_kind)k)
				continue;
			j = batch_json(w, b, now->mono_ms, true);
			if (b->outputs)
				cJSON_AddItemToObject(j, "outputs", cJSON_Duplicate(b->outputs, true));
			cJSON_AddBoolToObject(j, "outputsWritten", b->published);
			if (b->tags)
				cJSON_AddItemToObject(j, "tags", cJSON_Duplicate(b->tags, true));
			cJSON_AddItemToArray(a, j);
		}
	}
	return o;
}
