/* cmd_next.c - `next`: the next fire times of a schedule.
 *
 *   next [-n N] [--from TIME] [--timezone ZONE] [-p NAME] [EXPRESSION]
 *
 * One ISO-8601 UTC time per line ("2026-11-25T12:00:00Z"). The schedule is
 * EXPRESSION when given (no config is read), else the config's
 * RetrainingRate in its ScheduleTimezone. For rate(), TIME is the anchor and
 * the first line is TIME + period; for cron(), the first fire time strictly
 * after TIME. When the schedule stops firing (a past year) that is said on
 * stderr after the times found, and the status is still 0. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "exitcodes.h"
#include "strbuf.h"
#include "wallclock.h"

#define NEXT_DEFAULT_COUNT 5
#define NEXT_MAX_COUNT 100000

/* Print up to count fire times of s after from; 0 always. */
static void print_times(const struct sched *s, time_t from, long count)
{
	char buf[32];
	time_t t = from, next;
	long i;

	for (i = 0; i < count; i++) {
		if (sched_next(s, t, &next) < 0) {
			sched_format_utc(t, buf, sizeof(buf));
			fprintf(stderr, "%s: the schedule never fires after %s\n",
				CLI_PROGRAM, buf);
			return;
		}
		sched_format_utc(next, buf, sizeof(buf));
		printf("%s\n", buf);
		t = next;
	}
}

/* A bad EXPRESSION: the message, then the expression with a caret under
 * the column at fault. */
static void print_sched_error(const char *expr, const struct sched_error *e)
{
	fprintf(stderr, "%s: %s: %s", CLI_PROGRAM,
		e->field[0] ? e->field : "expression",
		e->message[0] ? e->message : "not a valid schedule");
	if (e->column > 0)
		fprintf(stderr, " (column %d)\n  %s\n  %*s^\n", e->column, expr,
			e->column - 1, "");
	else
		fprintf(stderr, "\n");
}

int cmd_next(const struct cli_options *opt, int argc, char **argv)
{
	enum { OPT_FROM = 256, OPT_TZ };
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "timezone", required_argument, NULL, OPT_TZ },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct strbuf expr = STRBUF_INIT;
	struct sched_error e;
	struct sched *s = NULL;
	struct config *cfg = NULL;
	const char *from_arg = NULL, *tz = NULL, *pipeline = NULL;
	time_t from = wallclock_now();
	long count = NEXT_DEFAULT_COUNT;
	char *end;
	size_t i;
	int c, r = PR_EXIT_OK;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:n:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || count < 1 ||
			    count > NEXT_MAX_COUNT)
				return cli_usage_error("next -n: \"%s\" is not a "
						       "count; use 1 to %d",
						       optarg, NEXT_MAX_COUNT);
			break;
		case 'p':
			pipeline = optarg;
			break;
		case OPT_FROM:
			from_arg = optarg;
			break;
		case OPT_TZ:
			tz = optarg;
			break;
		case ':':
			return cli_usage_error("next: option %s needs an "
					       "argument", argv[optind - 1]);
		default:
			return cli_usage_error("next: unknown option %s",
					       argv[optind - 1]);
		}
	}
	if (from_arg && sched_parse_time(from_arg, &from) < 0)
		return cli_usage_error("next --from: \"%s\" is not a time; write "
				       "ISO-8601 UTC like 2026-11-25T12:00:00Z",
				       from_arg);
	/* EXPRESSION: the rest, joined, so unquoted words also work */
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		if (i > (size_t)optind)
			strbuf_putc(&expr, ' ');
		strbuf_puts(&expr, argv[i]);
	}
	if (strbuf_error(&expr)) {
		r = PR_EXIT_SOFTWARE;
		goto cleanup;
	}
	if (expr.len) {
		if (pipeline) {
			r = cli_usage_error("next: -p names a pipeline of the "
					    "config; it cannot go with an "
					    "EXPRESSION");
			goto cleanup;
		}
		memset(&e, 0, sizeof(e));
		if (sched_parse(expr.buf, tz, &s, &e) < 0) {
			print_sched_error(expr.buf, &e);
			r = PR_EXIT_USAGE;
			goto cleanup;
		}
		print_times(s, from, count);
		goto cleanup;
	}
	if (tz) {
		r = cli_usage_error("next: --timezone goes with an EXPRESSION; "
				    "the config's schedule uses its "
				    "ScheduleTimezone");
		goto cleanup;
	}
	r = cli_load_config(opt, &cfg);
	if (r)
		goto cleanup;
	if (pipeline) {
		const struct pipeline *p = config_find_pipeline(cfg, pipeline);

		if (!p) {
			r = cli_usage_error("next -p: no pipeline \"%s\" in %s",
					    pipeline, cfg->source);
			goto cleanup;
		}
		print_times(p->schedule, from, count);
		goto cleanup;
	}
	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];

		if (cfg->n > 1)
			printf("%s# pipeline %s: %s\n", i ? "\n" : "", p->name,
			       p->schedule_expr);
		print_times(p->schedule, from, count);
	}
cleanup:
	sched_free(s);
	config_free(cfg);
	strbuf_free(&expr);
	return r;
}
