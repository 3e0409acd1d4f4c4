/* cmd_check.c - `check`: validate the config, print a short summary.
 *
 * Errors go to stderr as "file:line: message", all of them, and the exit
 * status is 78 (EX_CONFIG); a valid config prints what each pipeline will
 * do and when it fires next, and exits 0. Nothing is written anywhere. */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "gate.h"
#include "plan.h"
#include "exitcodes.h"
#include "wallclock.h"

int cli_load_config(const struct cli_options *opt, struct config **out)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	int r;

	r = config_load(cli_config_path(opt), out, &errs);
	config_errors_print(&errs, stderr);
	config_errors_free(&errs);
	if (r == -ENOMEM) {
		fprintf(stderr, "%s: out of memory\n", CLI_PROGRAM);
		return PR_EXIT_SOFTWARE;
	}
	return r < 0 ? PR_EXIT_CONFIG : 0;
}

int cli_load_config_for(const struct cli_options *opt, const char *only,
			struct config **out)
{
	struct config *cfg = NULL;
	int r = cli_load_config(opt, &cfg);

	if (r)
		return r;
	if (only && !config_find_pipeline(cfg, only)) {
		fprintf(stderr, "%s: no pipeline named \"%s\" in %s\n",
			CLI_PROGRAM, only, cfg->source);
		config_free(cfg);
		return PR_EXIT_CONFIG;
	}
	*out = cfg;
	return 0;
}

static void print_pipeline(const struct config *cfg, const struct pipeline *p,
			   time_t now)
{
	char when[32];
	time_t next;
	size_t i;
	int t;
	bool first = true;

	printf("pipeline %s", p->name);
	if (cfg->format == CONFIG_FORMAT_YAML && cfg->n > 1)
		printf(" (line %u)", p->line);
	printf("\n  solution   %s\n", p->solution_arn);
	for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
		const struct config_dataset *d = &p->datasets[t];

		if (!d->set)
			continue;
		printf("  %-10s %-12s %s\n  %-10s %-12s from %s\n",
		       first ? "datasets" : "",
		       config_dataset_type_name((enum config_dataset_type)t),
		       d->arn, "", "", d->s3_path);
		first = false;
	}
	printf("  import     %s, role %s\n", config_import_mode_name(p->import_mode),
	       p->import_role_arn);
	printf("  training   %s\n", config_training_mode_name(p->training_mode));
	if (p->campaign_arn)
		printf("  campaign   %s\n", p->campaign_arn);
	else
		printf("  campaign   none: train only, deploy nothing\n");
	if (p->batch_kind != CONFIG_BATCH_NONE) {
		printf("  batch      %s job %s -> %s, role %s",
		       p->batch_kind == CONFIG_BATCH_SEGMENT ? "segment"
							     : "inference",
		       p->batch_input, p->batch_output, p->batch_role_arn);
		if (p->batch_num_results)
			printf(", %u results", p->batch_num_results);
		if (p->batch_filter_arn)
			printf(", filter %s", p->batch_filter_arn);
		printf("\n");
	}
	if (gate_enabled(&p->gate)) {
		printf("  gate       %s may drop at most %g%%", p->gate.metric,
		       p->gate.max_regression * 100);
		if (p->gate.has_min_quality)
			printf(", at least %g", p->gate.min_quality);
		printf("\n");
	}
	for (i = 0; i < p->n_tags; i++)
		printf("  %-10s %s=%s\n", i ? "" : "tags", p->tags[i].key,
		       p->tags[i].value);
	printf("  region     %s (account %s, partition %s)\n", p->region,
	       p->account, p->partition);
	if (p->endpoint_url)
		printf("  endpoint   %s\n", p->endpoint_url);
	printf("  schedule   %s, %s; poll every %u s", p->schedule_expr,
	       p->timezone ? p->timezone : "UTC", p->poll_interval);
	if (p->max_run_duration)
		printf(", give up after %u s", p->max_run_duration);
	else
		printf(", give up after 604800 s (7 days, MaxRunDuration=0)");
	printf(", catch-up %s\n", p->catch_up ? "yes" : "no");
	/* the daemon's own rule (plan.h: rate() counts from the epoch, so
	 * every host computes the same fire times) */
	if (plan_next_fire(p->schedule, now, &next) == 0) {
		sched_format_utc(next, when, sizeof(when));
		printf("  next fire  %s%s\n", when,
		       sched_kind(p->schedule) == SCHED_RATE ?
		       " (rate: whole periods counted from "
		       "1970-01-01T00:00:00Z)" : "");
	} else {
		printf("  next fire  never: the schedule has no fire time after "
		       "now\n");
	}
}

int cmd_check(const struct cli_options *opt, int argc, char **argv)
{
	struct config *cfg = NULL;
	time_t now = wallclock_now();
	size_t i;
	int r;
	bool online = false, quiet = false;

	for (; argc > 1; argv++, argc--) {
		if (!strcmp(argv[1], "--online"))
			online = true;
		else if (!strcmp(argv[1], "--quiet") || !strcmp(argv[1], "-q"))
			quiet = true;
		else
			return cli_usage_error("check takes no arguments but "
					       "--online and --quiet (got \"%s\"); "
					       "name the config with -c FILE",
					       argv[1]);
	}
	if (quiet && online)
		return cli_usage_error("check: --quiet and --online exclude "
				       "each other");
	if (quiet) {
		/* the exit status only: ExecReload= of the units, after the
		 * daemon has logged the errors itself */
		struct config_errors errs = CONFIG_ERRORS_INIT;

		r = config_load(cli_config_path(opt), &cfg, &errs);
		config_errors_free(&errs);
		config_free(cfg);
		return r == -ENOMEM ? PR_EXIT_SOFTWARE :
		       r < 0 ? PR_EXIT_CONFIG : PR_EXIT_OK;
	}
	r = cli_load_config(opt, &cfg);
	if (r)
		return r;
	printf("%s: OK, %zu pipeline%s, API calls at most %u/s\n", cfg->source,
	       cfg->n, cfg->n == 1 ? "" : "s",
	       cfg->globals.max_api_calls_per_second);
	for (i = 0; i < cfg->n; i++)
		print_pipeline(cfg, &cfg->pipelines[i], now);
	r = online ? cli_check_online(cfg) : PR_EXIT_OK;
	config_free(cfg);
	return r;
}
