/* cmd_run.c - `run` (the daemon) and `once [--dry-run] [-p PIPELINE]`.
 *
 * Both load the config (errors: file:line, exit 78) and hand it to
 * daemon_main(). `once --dry-run` reads the state without the lock and
 * prints the calls a run would make, with their JSON bodies, and makes
 * none. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "adopt.h"
#include "config.h"
#include "daemon.h"
#include "exitcodes.h"
#include "retrain.h"
#include "runner.h"
#include "schedule.h"
#include "state.h"
#include "wallclock.h"

int cmd_run(const struct cli_options *opt, int argc, char **argv)
{
	struct daemon_options dopt;
	struct config *cfg = NULL;
	int r;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		cli_help(stdout);
		return PR_EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("run takes no arguments (got \"%s\")",
				       argv[1]);
	r = cli_load_config(opt, &cfg);
	if (r)
		return r;
	memset(&dopt, 0, sizeof(dopt));
	dopt.config_path = cli_config_path(opt);
	dopt.state_dir = cli_state_dir(opt);
	return daemon_main(&dopt, cfg);
}

/* tags of a create: "tags": [{"tagKey", "tagValue"}, ...] when any */
static void add_tags(cJSON *o, const struct pipeline *p)
{
	cJSON *a, *t;
	size_t i;

	if (!p->n_tags || !(a = cJSON_AddArrayToObject(o, "tags")))
		return;
	for (i = 0; i < p->n_tags; i++) {
		t = cJSON_CreateObject();
		if (!t || !cJSON_AddItemToArray(a, t))
			return;
		cJSON_AddStringToObject(t, "tagKey", p->tags[i].key);
		cJSON_AddStringToObject(t, "tagValue", p->tags[i].value);
	}
}

/* The JSON body of one call of pipeline p, as the personalize module
 * sends it. */
static cJSON *call_body(const struct rt_call *c, const struct pipeline *p)
{
	cJSON *o = cJSON_CreateObject(), *ds;

	if (!o)
		return NULL;
	switch (c->op) {
	case RT_OP_CREATE_IMPORT:
		cJSON_AddStringToObject(o, "jobName", c->name);
		cJSON_AddStringToObject(o, "datasetArn", c->dataset_arn);
		ds = cJSON_AddObjectToObject(o, "dataSource");
		if (ds)
			cJSON_AddStringToObject(ds, "dataLocation", c->s3_path);
		cJSON_AddStringToObject(o, "roleArn", c->role_arn);
		cJSON_AddStringToObject(o, "importMode", c->import_mode);
		add_tags(o, p);
		break;
	case RT_OP_DESCRIBE_IMPORT:
		cJSON_AddStringToObject(o, "datasetImportJobArn", c->arn);
		break;
	case RT_OP_FIND_IMPORT:
		cJSON_AddStringToObject(o, "datasetArn", c->dataset_arn);
		cJSON_AddNumberToObject(o, "maxResults", 100);
		break;
	case RT_OP_CREATE_VERSION:
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "solutionArn", c->solution_arn);
		cJSON_AddStringToObject(o, "trainingMode", c->training_mode);
		add_tags(o, p);
		break;
	case RT_OP_DESCRIBE_VERSION:
		cJSON_AddStringToObject(o, "solutionVersionArn", c->arn);
		break;
	case RT_OP_FIND_VERSION:
		cJSON_AddStringToObject(o, "solutionArn", c->solution_arn);
		cJSON_AddNumberToObject(o, "maxResults", 100);
		break;
	case RT_OP_DESCRIBE_CAMPAIGN:
		cJSON_AddStringToObject(o, "campaignArn", c->campaign_arn);
		break;
	case RT_OP_UPDATE_CAMPAIGN:
		cJSON_AddStringToObject(o, "campaignArn", c->campaign_arn);
		cJSON_AddStringToObject(o, "solutionVersionArn",
					c->version_arn ? c->version_arn :
					"<the new version's ARN>");
		break;
	case RT_OP_GET_METRICS:
		cJSON_AddStringToObject(o, "solutionVersionArn", c->version_arn);
		break;
	case RT_OP_CREATE_BATCH_INFERENCE:
	case RT_OP_CREATE_BATCH_SEGMENT:
		cJSON_AddStringToObject(o, "jobName", c->name);
		cJSON_AddStringToObject(o, "solutionVersionArn",
					c->version_arn && *c->version_arn
						? c->version_arn
						: "<the new version's ARN>");
		ds = cJSON_AddObjectToObject(o, "jobInput");
		if (ds && (ds = cJSON_AddObjectToObject(ds, "s3DataSource")))
			cJSON_AddStringToObject(ds, "path", c->s3_path);
		ds = cJSON_AddObjectToObject(o, "jobOutput");
		if (ds && (ds = cJSON_AddObjectToObject(ds, "s3DataDestination")))
			cJSON_AddStringToObject(ds, "path", c->batch_output);
		cJSON_AddStringToObject(o, "roleArn", c->role_arn);
		if (c->num_results)
			cJSON_AddNumberToObject(o, "numResults", c->num_results);
		if (c->filter_arn)
			cJSON_AddStringToObject(o, "filterArn", c->filter_arn);
		add_tags(o, p);
		break;
	case RT_OP_DESCRIBE_BATCH_INFERENCE:
		cJSON_AddStringToObject(o, "batchInferenceJobArn", c->arn);
		break;
	case RT_OP_DESCRIBE_BATCH_SEGMENT:
		cJSON_AddStringToObject(o, "batchSegmentJobArn", c->arn);
		break;
	case RT_OP_FIND_BATCH_INFERENCE:
	case RT_OP_FIND_BATCH_SEGMENT:
		if (c->version_arn)
			cJSON_AddStringToObject(o, "solutionVersionArn",
						c->version_arn);
		cJSON_AddNumberToObject(o, "maxResults", 100);
		break;
	case RT_OP_HEAD_OBJECT: /* S3, not Personalize: no JSON body */
		break;
	}
	return o;
}

static void print_call(int *n, const struct rt_call *c,
		       const struct pipeline *p, const char *note)
{
	cJSON *o = call_body(c, p);
	char *s = o ? cJSON_Print(o) : NULL;

	printf("%d. %s%s%s\n%s\n", ++*n, rt_op_name(c->op),
	       note ? "  " : "", note ? note : "", s ? s : "{}");
	free(s);
	cJSON_Delete(o);
}

/* The look for work in flight that `once` makes first after an unusable state
 * (adopt.h). */
static void print_look(int *n, const struct pipeline *p,
		       const struct rt_spec *spec)
{
	struct rt_call c;
	size_t i;

	printf("# pipeline %s: the state file is unusable: `once` would "
	       "first look for this pipeline's work in flight (%sa solution "
	       "version, else an import job, CREATE PENDING or CREATE "
	       "IN_PROGRESS, named for some fire time) and adopt its fire "
	       "time instead of now:\n", p->name,
	       spec->batch_kind != RT_BATCH_NONE ? "a batch job, else " : "");
	memset(&c, 0, sizeof(c));
	if (spec->batch_kind != RT_BATCH_NONE) {
		c.op = spec->batch_kind == RT_BATCH_SEGMENT
			       ? RT_OP_FIND_BATCH_SEGMENT
			       : RT_OP_FIND_BATCH_INFERENCE;
		print_call(n, &c, p, "(every job of the account: the batch "
			   "job's version is not known)");
		memset(&c, 0, sizeof(c));
	}
	c.op = RT_OP_FIND_VERSION;
	c.solution_arn = spec->solution_arn;
	print_call(n, &c, p, "(then DescribeSolutionVersion of each version in "
		   "progress, for its name)");
	c.op = RT_OP_FIND_IMPORT;
	for (i = 0; i < spec->n_datasets; i++) {
		c.dataset_arn = spec->datasets[i].arn;
		print_call(n, &c, p, "(only when no version of ours is in "
			   "progress)");
	}
}

static int dry_run_pipeline(const struct cli_options *opt,
			    const struct pipeline *p, time_t now)
{
	struct state st;
	struct rt_spec spec;
	struct rt_run run;
	struct rt_actions acts;
	struct rt_call c;
	char path[4096], when[32], err[256], *text = NULL;
	size_t i, len = 0;
	int k, n = 0;
	bool resume = false, look = false;

	state_init(&st, p->name);
	/* read, without the lock and without moving anything aside */
	if (state_path(cli_state_dir(opt), p->name, path, sizeof(path)) == 0 &&
	    state_read_file(path, &text, &len) == 0) {
		if (len > STATE_FILE_MAX)
			len = STATE_FILE_MAX;  /* does not parse: unreadable */
		if (state_from_json(text, len, p->name, &st, err,
				    sizeof(err)) < 0) {
			printf("# state file %s is unreadable (%s): the run "
			       "would adopt jobs by name first\n", path, err);
			state_init(&st, p->name);
			st.recovered = true;
		}
		free(text);
	}
	k = runner_spec_from_pipeline(p, DAEMON_ONCE_MAX_ERRORS, &spec);
	if (k == 0)
		k = rt_spec_validate(&spec, err, sizeof(err));
	if (k < 0) {
		fprintf(stderr, "%s: %s: %s\n", CLI_PROGRAM, p->name, err);
		return PR_EXIT_CONFIG;
	}
	if (st.has_run) {
		run = st.run;
		k = rt_resume(&run, now, &acts);
		resume = true;
	} else {
		look = adopt_wanted(&st);
		k = rt_start(&run, &spec, now - now % 60, now, st.recovered,
			     &acts);
	}
	if (k < 0) {
		fprintf(stderr, "%s: %s: cannot plan the run: %s\n",
			CLI_PROGRAM, p->name, strerror(-k));
		return PR_EXIT_SOFTWARE;
	}
	sched_format_utc(run.fire_time, when, sizeof(when));
	if (look)
		print_look(&n, p, &spec);
	printf("# pipeline %s: %s the run for fire time %s%s at %s (dry "
	       "run: no call is made)\n", p->name,
	       resume ? "would resume" : "would start", when,
	       look ? " (or the fire time of the work found in flight)" : "",
	       p->endpoint_url ? p->endpoint_url : p->region);
	for (i = 0; i < acts.n; i++)
		if (acts.a[i].kind == RT_ACT_CALL)
			print_call(&n, &acts.a[i].call, p, NULL);
	if (resume) {
		printf("# then it continues from stage %s as the replies say\n",
		       rt_stage_name(run.stage));
		return PR_EXIT_OK;
	}
	printf("# each import is then polled with DescribeDatasetImportJob "
	       "until ACTIVE; then:\n");
	memset(&c, 0, sizeof(c));
	c.op = RT_OP_CREATE_VERSION;
	c.name = run.slots[RT_SLOT_VERSION].name;
	c.solution_arn = run.solution_arn;
	c.training_mode = run.training_mode == RT_TRAIN_UPDATE ? "UPDATE"
							       : "FULL";
	print_call(&n, &c, p, "(once every import is ACTIVE)");
	if (run.gate.enabled) {
		printf("# polled with DescribeSolutionVersion until ACTIVE; "
		       "then the quality gate (QualityMetric=%s):\n",
		       run.gate.metric);
		memset(&c, 0, sizeof(c));
		c.op = RT_OP_GET_METRICS;
		c.version_arn = "<the new version's ARN>";
		print_call(&n, &c, p, "(and the same for the version the "
			   "campaign serves, if any)");
	}
	if (run.campaign_arn[0]) {
		printf("# %s; then:\n", run.gate.enabled ?
		       "when the gate passes" :
		       "polled with DescribeSolutionVersion until ACTIVE");
		memset(&c, 0, sizeof(c));
		c.op = RT_OP_DESCRIBE_CAMPAIGN;
		c.campaign_arn = run.campaign_arn;
		print_call(&n, &c, p, "(is another update in flight?)");
		c.op = RT_OP_UPDATE_CAMPAIGN;
		print_call(&n, &c, p, "(once the version is ACTIVE)");
		printf("# polled with DescribeCampaign until "
		       "latestCampaignUpdate is ACTIVE for the new version\n");
	} else {
		printf("# polled with DescribeSolutionVersion until ACTIVE; "
		       "no CampaignArn: nothing is deployed\n");
	}
	if (run.batch_kind != RT_BATCH_NONE) {
		memset(&c, 0, sizeof(c));
		c.op = run.batch_kind == RT_BATCH_SEGMENT
			       ? RT_OP_CREATE_BATCH_SEGMENT
			       : RT_OP_CREATE_BATCH_INFERENCE;
		c.name = run.slots[RT_SLOT_BATCH].name;
		c.s3_path = run.batch_input;
		c.batch_output = run.batch_output;
		c.role_arn = run.batch_role_arn;
		c.num_results = run.batch_num_results;
		c.filter_arn = run.batch_filter_arn[0] ? run.batch_filter_arn
						       : NULL;
		print_call(&n, &c, p, run.campaign_arn[0]
				      ? "(once the campaign serves the new version)"
				      : "(once the version is ACTIVE)");
		printf("# polled with %s until ACTIVE; its output goes to %s\n",
		       rt_op_name(c.op == RT_OP_CREATE_BATCH_SEGMENT
					  ? RT_OP_DESCRIBE_BATCH_SEGMENT
					  : RT_OP_DESCRIBE_BATCH_INFERENCE),
		       run.batch_output);
	}
	return PR_EXIT_OK;
}

int cmd_once(const struct cli_options *opt, int argc, char **argv)
{
	struct daemon_options dopt;
	struct config *cfg = NULL;
	const char *only = NULL;
	bool dry = false;
	const struct cli_opt opts[] = {
		{ "dry-run", '\0', NULL, &dry },
		CLI_OPT_PIPELINE(&only), CLI_OPT_HELP, CLI_OPT_END,
	};
	time_t now = wallclock_now();
	size_t i;
	int r, rc = PR_EXIT_OK;

	r = cli_parse_and_load(opt, argc, argv, opts, &only, &cfg);
	if (r != CLI_PARSED)
		return r;
	if (dry) {
		for (i = 0; i < cfg->n && rc == PR_EXIT_OK; i++)
			if (!only || !strcmp(only, cfg->pipelines[i].name))
				rc = dry_run_pipeline(opt, &cfg->pipelines[i],
						      now);
		config_free(cfg);
		return rc;
	}
	memset(&dopt, 0, sizeof(dopt));
	dopt.config_path = cli_config_path(opt);
	dopt.state_dir = cli_state_dir(opt);
	dopt.once = true;
	dopt.pipeline = only;
	return daemon_main(&dopt, cfg);
}

int cmd_rollback(const struct cli_options *opt, int argc, char **argv)
{
	struct daemon_options dopt;
	struct config *cfg = NULL;
	const char *only = NULL, *to = NULL;
	const struct cli_opt opts[] = {
		{ "to", '\0', &to, NULL },
		CLI_OPT_PIPELINE(&only), CLI_OPT_HELP, CLI_OPT_END,
	};
	int r;

	r = cli_parse_options(argc, argv, opts);
	if (r != CLI_PARSED)
		return r;
	if (to && (strncmp(to, "arn:", 4) != 0 || strlen(to) > RT_ARN_MAX))
		return cli_usage_error("rollback: --to %s is not a solution "
				       "version ARN (arn:aws:personalize:REGION:"
				       "ACCOUNT:solution/NAME/ID)", to);
	r = cli_load_config_for(opt, only, &cfg);
	if (r)
		return r;
	if (!only && cfg->n > 1) {
		config_free(cfg);
		return cli_usage_error("rollback: %s has several pipelines; "
				       "name one with -p", cli_config_path(opt));
	}
	memset(&dopt, 0, sizeof(dopt));
	dopt.config_path = cli_config_path(opt);
	dopt.state_dir = cli_state_dir(opt);
	dopt.once = true;
	dopt.pipeline = only;
	dopt.rollback = true;
	dopt.rollback_to = to;
	return daemon_main(&dopt, cfg);
}
