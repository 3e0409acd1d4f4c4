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

enum item_kind { IT_SOLUTION, IT_DATASET, IT_CAMPAIGN };

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
	}
	item_done(it, res);
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
	       k == IT_DATASET ? "dataset" : "campaign";
}

/* The IAM action of the Describe an item makes. */
static const char *kind_action(enum item_kind k)
{
	return k == IT_SOLUTION ? "personalize:DescribeSolution" :
	       k == IT_DATASET ? "personalize:DescribeDataset" :
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
		       struct aws_client **clients)
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
	if (!clients)
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
		total += 2;
		for (t = 0; t < CONFIG_DATASET_COUNT; t++)
			total += p->datasets[t].set;
	}
	o.items = calloc(total, sizeof(*o.items));
	if (!o.items)
		goto cleanup;
	k = start_items(&o, cfg, clients);
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
	for (i = 0; i < o.n; i++) {
		free(o.items[i].message);
		free(o.items[i].dg_arn);
		free(o.items[i].type);
		free(o.items[i].version_arn);
		free(o.items[i].update_version_arn);
	}
	free(o.items);
	credsprov_free(cp);
	creds_chain_free(chain);
	http_client_free(http);
	sd_event_unref(o.event);
	return rc;
}
