/* check_online.c - `check --online`: Describe every ARN of every pipeline
 * at AWS and check that the pieces belong together; see include/cli.h. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "config.h"
#include "creds.h"
#include "credsprov.h"
#include "exitcodes.h"
#include "http.h"
#include "log.h"
#include "personalize.h"
#include "policy.h"
#include "s3.h"

/* IT_BATCH_INPUT: a HeadObject of the batch job's input, with the
 * pipeline's S3 client. */
enum item_kind { IT_SOLUTION, IT_DATASET, IT_CAMPAIGN, IT_BATCH_INPUT };

struct item {
	struct online *o;
	enum item_kind kind;
	size_t pipeline;
	int dataset;          /* enum config_dataset_type for IT_DATASET */
	const char *arn;      /* borrowed from the config */
	bool done;
	bool denied;          /* IAM refused the Describe */
	enum aws_error_class error;
	char *message;
	char *dg_arn;         /* solution, dataset: datasetGroupArn */
	char *type;           /* dataset: datasetType */
	char *version_arn;    /* campaign: solutionVersionArn */
	char *update_version_arn; /* campaign: latestCampaignUpdate's */
	bool auto_training;   /* solution: performAutoTraining */
	char *recipe_arn;     /* solution: recipeArn */
};

struct online {
	sd_event *event;
	struct item *items;
	size_t n;
	size_t pending;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void item_done(struct item *it, const struct aws_result *res)
{
	it->done = true;
	it->error = res->error;
	if (res->error != AWS_ERR_NONE)
		it->message = dup_or_null(res->message ? res->message
					  : res->code);
	it->denied = res->error != AWS_ERR_NONE && policy_is_denial(res->code);
	if (--it->o->pending == 0)
		sd_event_exit(it->o->event, 0);
}

static void on_solution(const struct aws_result *res,
			const struct personalize_solution *s, void *ud)
{
	struct item *it = ud;

	if (s) {
		it->dg_arn = dup_or_null(s->dataset_group_arn);
		it->auto_training = s->perform_auto_training;
		it->recipe_arn = dup_or_null(s->recipe_arn);
	}
	item_done(it, res);
}

static void on_head(const struct s3_head_result *res, void *ud)
{
	struct item *it = ud;

	it->done = true;
	it->error = res->error == S3_ERR_NONE ? AWS_ERR_NONE
		    : res->error == S3_ERR_NOT_FOUND ? AWS_ERR_NOT_FOUND
		    : res->error == S3_ERR_ACCESS_DENIED ? AWS_ERR_AUTH
		    : res->error == S3_ERR_THROTTLED ||
		      res->error == S3_ERR_TRANSIENT ||
		      res->error == S3_ERR_UNAVAILABLE ? AWS_ERR_UNAVAILABLE
		    : AWS_ERR_CLIENT;
	it->denied = res->error == S3_ERR_ACCESS_DENIED;
	if (res->error != S3_ERR_NONE)
		it->message = dup_or_null(res->message ? res->message
					  : s3_error_name(res->error));
	if (--it->o->pending == 0)
		sd_event_exit(it->o->event, 0);
}

/* What kind of batch job a recipe takes: the segmentation recipes only
 * batch segment jobs; Trending-Now and Next-Best-Action none (the API
 * reference: no batch recommendations with them); the others batch
 * inference jobs. NULL when kind fits, else why not. */
static const char *recipe_misfit(const char *recipe_arn,
				 enum config_batch_kind kind)
{
	const char *slash = recipe_arn ? strrchr(recipe_arn, '/') : NULL;
	const char *name = slash ? slash + 1 : recipe_arn;
	bool segmentation;

	if (!name || kind == CONFIG_BATCH_NONE)
		return NULL;
	segmentation = !strcmp(name, "aws-item-affinity") ||
		       !strcmp(name, "aws-item-attribute-affinity");
	if (kind == CONFIG_BATCH_SEGMENT && !segmentation)
		return "it is not a segmentation recipe "
		       "(aws-item-affinity, aws-item-attribute-affinity): "
		       "Personalize refuses CreateBatchSegmentJob; use "
		       "BatchInferenceInput/BatchInferenceOutput";
	if (kind == CONFIG_BATCH_INFERENCE && segmentation)
		return "it is a segmentation recipe: Personalize refuses "
		       "CreateBatchInferenceJob; use "
		       "BatchSegmentInput/BatchSegmentOutput";
	if (kind == CONFIG_BATCH_INFERENCE &&
	    (!strcmp(name, "aws-trending-now") ||
	     !strcmp(name, "aws-next-best-action")))
		return "Personalize makes no batch recommendations with it";
	return NULL;
}

static void on_dataset(const struct aws_result *res,
		       const struct personalize_dataset *d, void *ud)
{
	struct item *it = ud;

	if (d) {
		it->dg_arn = dup_or_null(d->dataset_group_arn);
		it->type = dup_or_null(d->dataset_type);
	}
	item_done(it, res);
}

static void on_campaign(const struct aws_result *res,
			const struct personalize_campaign *c, void *ud)
{
	struct item *it = ud;

	if (c) {
		it->version_arn = dup_or_null(c->solution_version_arn);
		if (c->latest_campaign_update.present)
			it->update_version_arn = dup_or_null(
				c->latest_campaign_update.solution_version_arn);
	}
	item_done(it, res);
}

static const char *kind_name(enum item_kind k)
{
	return k == IT_SOLUTION ? "solution" :
	       k == IT_DATASET ? "dataset" :
	       k == IT_BATCH_INPUT ? "batch input" : "campaign";
}

/* The IAM action of the Describe an item makes. */
static const char *kind_action(enum item_kind k)
{
	return k == IT_SOLUTION ? "personalize:DescribeSolution" :
	       k == IT_DATASET ? "personalize:DescribeDataset" :
	       k == IT_BATCH_INPUT ? "s3:GetObject" :
				 "personalize:DescribeCampaign";
}

/* A version ARN belongs to solution S when it is "S/<id>". */
static bool version_of(const char *version_arn, const char *solution_arn)
{
	size_t n = strlen(solution_arn);

	return version_arn && !strncmp(version_arn, solution_arn, n) &&
	       version_arn[n] == '/';
}

static int start_items(struct online *o, const struct config *cfg,
		       struct aws_client **clients, struct s3_client **s3)
{
	size_t i, n = 0;
	int t, k;

	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];

		o->items[n++] = (struct item){ .o = o, .kind = IT_SOLUTION,
			.pipeline = i, .arn = p->solution_arn };
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			if (p->datasets[t].set)
				o->items[n++] = (struct item){ .o = o,
					.kind = IT_DATASET, .pipeline = i,
					.dataset = t, .arn = p->datasets[t].arn };
		if (p->campaign_arn)
			o->items[n++] = (struct item){ .o = o,
				.kind = IT_CAMPAIGN, .pipeline = i,
				.arn = p->campaign_arn };
		if (p->batch_kind != CONFIG_BATCH_NONE && s3[i])
			o->items[n++] = (struct item){ .o = o,
				.kind = IT_BATCH_INPUT, .pipeline = i,
				.arn = p->batch_input };
	}
	o->n = n;
	for (i = 0; i < n; i++) {
		struct item *it = &o->items[i];
		struct aws_client *c = clients[it->pipeline];

		switch (it->kind) {
		case IT_SOLUTION:
			k = personalize_describe_solution(c, it->arn,
							  on_solution, it, NULL);
			break;
		case IT_DATASET:
			k = personalize_describe_dataset(c, it->arn, on_dataset,
							 it, NULL);
			break;
		case IT_BATCH_INPUT:
			k = s3_head_object(s3[it->pipeline], it->arn, on_head,
					   it, NULL);
			break;
		case IT_CAMPAIGN:
		default:
			k = personalize_describe_campaign(c, it->arn,
							  on_campaign, it, NULL);
			break;
		}
		if (k < 0)
			return k;
		o->pending++;
	}
	return 0;
}

/* Print the verdicts; returns the exit status. */
static int report(const struct online *o, const struct config *cfg)
{
	bool bad = false, unreachable = false;
	size_t i, j, denied = 0;

	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];
		const struct item *sol = NULL;

		printf("pipeline %s (online)\n", p->name);
		for (j = 0; j < o->n; j++)
			if (o->items[j].pipeline == i &&
			    o->items[j].kind == IT_SOLUTION)
				sol = &o->items[j];
		for (j = 0; j < o->n; j++) {
			const struct item *it = &o->items[j];

			if (it->pipeline != i)
				continue;
			if (it->error != AWS_ERR_NONE && it->denied) {
				printf("  FAIL %s %s: %s denied (%s)\n",
				       kind_name(it->kind), it->arn,
				       kind_action(it->kind),
				       it->message ? it->message : "access denied");
				bad = true;
				denied++;
				continue;
			}
			if (it->error != AWS_ERR_NONE) {
				bool gone = it->error == AWS_ERR_NOT_FOUND;
				bool down = it->error == AWS_ERR_THROTTLED ||
					    it->error == AWS_ERR_TRANSIENT ||
					    it->error == AWS_ERR_UNAVAILABLE ||
					    it->error == AWS_ERR_LIMIT_EXCEEDED;

				printf("  FAIL %s %s: %s (%s)\n",
				       kind_name(it->kind), it->arn,
				       gone && it->kind == IT_BATCH_INPUT
				       ? "no such object (the batch job would "
					 "fail)" :
				       gone ? "does not exist" :
				       down ? "could not be described" :
				       "Describe was refused",
				       it->message ? it->message :
				       aws_error_class_name(it->error));
				if (down)
					unreachable = true;
				else
					bad = true;
				continue;
			}
			printf("  ok   %s %s exists\n", kind_name(it->kind),
			       it->arn);
			if (it->kind == IT_SOLUTION &&
			    recipe_misfit(it->recipe_arn, p->batch_kind)) {
				printf("  FAIL solution %s has recipe %s: %s\n",
				       it->arn, it->recipe_arn,
				       recipe_misfit(it->recipe_arn,
						     p->batch_kind));
				bad = true;
			} else if (it->kind == IT_SOLUTION &&
				   p->batch_kind != CONFIG_BATCH_NONE &&
				   it->recipe_arn) {
				printf("  ok   solution %s's recipe %s takes "
				       "batch %s jobs\n", it->arn,
				       it->recipe_arn,
				       p->batch_kind == CONFIG_BATCH_SEGMENT
				       ? "segment" : "inference");
			}
			if (it->kind == IT_SOLUTION && it->auto_training)
				printf("  WARN solution %s has performAutoTraining "
				       "on: Personalize also trains a new version "
				       "on its own schedule (the default for "
				       "solutions created since 2024), billed on "
				       "top of the versions this daemon trains; "
				       "turn it off (UpdateSolution "
				       "performAutoTraining=false) unless you "
				       "want both\n", it->arn);
			if (it->kind == IT_DATASET) {
				const char *want = config_dataset_type_name(
					(enum config_dataset_type)it->dataset);

				if (it->type && strcasecmp(it->type, want)) {
					printf("  FAIL dataset %s is of type %s, "
					       "configured as %s\n", it->arn,
					       it->type, want);
					bad = true;
				}
				if (sol && sol->error == AWS_ERR_NONE &&
				    sol->dg_arn && it->dg_arn &&
				    strcmp(sol->dg_arn, it->dg_arn)) {
					printf("  FAIL dataset %s belongs to %s, "
					       "not to the solution's dataset "
					       "group %s\n", it->arn, it->dg_arn,
					       sol->dg_arn);
					bad = true;
				} else if (sol && sol->dg_arn) {
					printf("  ok   dataset %s is in the "
					       "solution's dataset group\n",
					       it->arn);
				}
			}
			if (it->kind == IT_CAMPAIGN) {
				const char *v = it->version_arn ?
						it->version_arn :
						it->update_version_arn;

				if (!version_of(v, p->solution_arn)) {
					printf("  FAIL campaign %s serves %s, not a "
					       "version of solution %s\n", it->arn,
					       v ? v : "(nothing)",
					       p->solution_arn);
					bad = true;
				} else {
					printf("  ok   campaign %s serves %s\n",
					       it->arn, v);
				}
			}
		}
	}
	if (denied)
		printf("%zu call%s denied: `personalize-retrain policy` prints "
		       "the IAM policy this config needs\n", denied,
		       denied == 1 ? "" : "s");
	if (bad)
		return PR_EXIT_CONFIG;
	if (unreachable)
		return PR_EXIT_UNAVAILABLE;
	return PR_EXIT_OK;
}

int cli_check_online(const struct config *cfg)
{
	struct online o;
	struct http_client *http = NULL;
	struct creds_chain *chain = NULL;
	struct credsprov *cp = NULL;
	struct aws_creds_provider prov;
	struct creds_chain_options co;
	struct aws_client **clients = NULL;
	struct s3_client **s3 = NULL;
	size_t i, total = 0;
	int k, rc = PR_EXIT_SOFTWARE;

	memset(&o, 0, sizeof(o));
	k = sd_event_new(&o.event);
	if (k < 0)
		goto cleanup;
	k = http_client_new(o.event, &http);
	if (k < 0)
		goto cleanup;
	memset(&co, 0, sizeof(co));
	co.event = o.event;
	co.http = http;
	k = creds_chain_new(&co, &chain);
	if (k < 0)
		goto cleanup;
	k = credsprov_new(chain, &cp);
	if (k < 0)
		goto cleanup;
	credsprov_fill(cp, &prov);
	clients = calloc(cfg->n, sizeof(*clients));
	s3 = calloc(cfg->n, sizeof(*s3));
	if (!clients || !s3)
		goto cleanup;
	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];
		struct aws_client_config ac;
		int t;

		memset(&ac, 0, sizeof(ac));
		ac.region = p->region;
		ac.endpoint_url = p->endpoint_url;
		k = aws_client_new(o.event, http, &ac, &prov, &clients[i]);
		if (k < 0) {
			rc = PR_EXIT_CONFIG;
			goto cleanup;
		}
		total += 3;
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			total += p->datasets[t].set;
		if (p->batch_kind != CONFIG_BATCH_NONE) {
			struct s3_client_config sc;

			memset(&sc, 0, sizeof(sc));
			sc.region = p->region;
			sc.endpoint_url = p->s3_endpoint_url;
			if (s3_client_new(o.event, http, &sc, &prov, &s3[i]) < 0)
				s3[i] = NULL; /* not checked then */
		}
	}
	o.items = calloc(total, sizeof(*o.items));
	if (!o.items)
		goto cleanup;
	k = start_items(&o, cfg, clients, s3);
	if (k < 0)
		goto cleanup;
	if (o.pending > 0) {
		k = sd_event_loop(o.event);
		if (k < 0)
			goto cleanup;
	}
	rc = report(&o, cfg);
cleanup:
	if (k < 0 && rc == PR_EXIT_SOFTWARE)
		fprintf(stderr, "%s: check --online: %s\n", CLI_PROGRAM,
			strerror(-k));
	for (i = 0; clients && i < cfg->n; i++)
		aws_client_free(clients[i]);
	free(clients);
	for (i = 0; s3 && i < cfg->n; i++)
		s3_client_free(s3[i]);
	free(s3);
	for (i = 0; i < o.n; i++) {
		free(o.items[i].message);
		free(o.items[i].dg_arn);
		free(o.items[i].type);
		free(o.items[i].version_arn);
		free(o.items[i].update_version_arn);
		free(o.items[i].recipe_arn);
	}
	free(o.items);
	credsprov_free(cp);
	creds_chain_free(chain);
	http_client_free(http);
	sd_event_unref(o.event);
	return rc;
}
