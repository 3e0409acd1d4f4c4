/* cmd_status.c - `status [--json] [-p PIPELINE]`: what each pipeline is
 * doing, read from the state directory without the lock (state files are
 * replaced atomically, so this works while the daemon runs) and without
 * changing anything (a corrupt file is reported, not moved aside). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "exitcodes.h"
#include "lockprobe.h"
#include "stateowner.h"
#include "plan.h"
#include "retrain.h"
#include "schedule.h"
#include "state.h"
#include "wallclock.h"

#define FOLLOWED_TEXT "followed a run started by another host"
/* A run in progress with a reason: it stopped polling (retrain.h) */
#define KEPT_TEXT "its jobs are kept: the next run adopts them before creating any"
#define NOT_RUNNING_TEXT \
	"no daemon is running: the run waits, and resumes (its jobs adopted) at the next start"

/* Whether a daemon (run, or once) holds the state directory's lock. */
struct daemon_probe {
	int held;   /* 1 yes, 0 no, < 0 cannot tell (-errno) */
	long pid;
};

struct pstatus {
	const struct pipeline *p;
	struct state st;
	bool has_file;
	char error[4400];  /* unreadable state file: why */
	bool has_next;
	time_t next_fire;
};

static void read_state(const char *dir, struct pstatus *ps)
{
	char path[4096], err[256];
	char *text = NULL;
	size_t len;
	int k;

	state_init(&ps->st, ps->p->name);
	if (state_path(dir, ps->p->name, path, sizeof(path)) < 0) {
		snprintf(ps->error, sizeof(ps->error), "bad state path");
		return;
	}
	/* the daemon renames a complete new file in: one read suffices */
	k = state_read_file(path, &text, &len);
	if (k == -ENOENT)
		return;
	if (k < 0)
		snprintf(ps->error, sizeof(ps->error), "%s: %s", path,
			 state_read_error(k));
	else if (len > STATE_FILE_MAX)
		snprintf(ps->error, sizeof(ps->error),
			 "%s: larger than %d bytes", path, STATE_FILE_MAX);
	else if (state_from_json(text, len, ps->p->name, &ps->st, err,
				 sizeof(err)) < 0)
		snprintf(ps->error, sizeof(ps->error), "%s: %s", path, err);
	else
		ps->has_file = true;
	free(text);
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "-");
	else
		sched_format_utc(t, buf, len);
}

static void fmt_duration(time_t from, time_t to, char *buf, size_t len)
{
	long s = (from > 0 && to >= from) ? (long)(to - from) : -1;

	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
}

static const char *slot_kind(int slot)
{
	return slot == RT_SLOT_VERSION ? "version" :
	       slot == RT_SLOT_CAMPAIGN ? "campaign" :
	       slot == RT_SLOT_BATCH ? "batch" : "import";
}

/* The dataset type of a dataset slot; "" for the other slots. */
static const char *slot_dataset_type(const struct rt_run *run, int slot)
{
	return slot >= 0 && (size_t)slot < run->n_datasets &&
	       slot < RT_MAX_DATASETS ? run->datasets[slot].ds_type : "";
}

static void print_daemon(const struct daemon_probe *dp, const char *dir)
{
	if (dp->held > 0 && dp->pid > 0)
		printf("daemon       running (PID %ld), state in %s\n", dp->pid,
		       dir);
	else if (dp->held > 0)
		printf("daemon       running, state in %s\n", dir);
	else if (dp->held == 0)
		printf("daemon       not running (nothing holds %s/%s)\n", dir,
		       STATE_LOCK_FILE);
	else
		printf("daemon       unknown (%s/%s: %s)\n", dir,
		       STATE_LOCK_FILE, strerror(-dp->held));
}

static void print_text(const struct pstatus *ps, time_t now,
		       const struct daemon_probe *dp)
{
	const struct rt_run *run = &ps->st.run;
	char a[32], b[32], d[32];
	size_t i;
	int s;

	printf("pipeline %s\n", ps->p->name);
	if (ps->error[0])
		printf("  state      unreadable: %s\n", ps->error);
	if (ps->st.has_run) {
		fmt_time(run->fire_time, a, sizeof(a));
		fmt_time(run->started_at, b, sizeof(b));
		fmt_duration(run->started_at, now, d, sizeof(d));
		printf("  stage      %s (fire time %s, started %s, %s ago)\n",
		       rt_stage_name(run->stage), a, b, d);
		if (dp->held == 0)
			printf("             %s\n", NOT_RUNNING_TEXT);
		if (run->followed)
			printf("             %s\n", FOLLOWED_TEXT);
		/* a reason on a run in progress: it stopped polling and is
		 * kept for the next run to adopt (retrain.h) */
		if (run->reason[0])
			printf("  stopped    %s\n             %s\n", run->reason,
			       KEPT_TEXT);
		for (s = 0; s < RT_NSLOTS; s++) {
			const struct rt_slot *sl = &run->slots[s];

			if (sl->phase == RT_PH_UNUSED)
				continue;
			printf("  %-10s %s%s%s %s%s%s%s\n", slot_kind(s),
			       slot_dataset_type(run, s),
			       slot_dataset_type(run, s)[0] ? " " : "",
			       sl->name, rt_phase_name(sl->phase),
			       sl->status[0] ? " (" : "", sl->status,
			       sl->status[0] ? ")" : "");
			if (sl->arn[0])
				printf("             %s\n", sl->arn);
			if (s == RT_SLOT_BATCH)
				printf("             %s -> %s\n",
				       run->batch_input, run->batch_output);
		}
	} else {
		printf("  stage      idle\n");
	}
	if (ps->has_next) {
		fmt_time(ps->next_fire, a, sizeof(a));
		printf("  next fire  %s\n", a);
	} else {
		printf("  next fire  none\n");
	}
	if (ps->st.campaign_version[0])
		printf("  serving    %s\n", ps->st.campaign_version);
	if (ps->st.campaign_prev_version[0])
		printf("  previous   %s (what rollback returns to)\n",
		       ps->st.campaign_prev_version);
	if (ps->st.n_history == 0)
		printf("  last runs  none\n");
	for (i = 0; i < ps->st.n_history; i++) {
		const struct state_history *h = &ps->st.history[i];

		fmt_time(h->fire_time, a, sizeof(a));
		fmt_duration(h->started_at, h->finished_at, d, sizeof(d));
		printf("  %-10s %s  %-11s %7s  %s%s%s\n",
		       i == 0 ? "last runs" : "", a, rt_outcome_name(h->outcome),
		       d, h->kind == RT_KIND_ROLLBACK ? "rollback to " : "",
		       h->kind == RT_KIND_ROLLBACK ? h->version_arn
						   : h->version_name,
		       h->followed ? "  " FOLLOWED_TEXT : "");
		if (h->outcome != RT_OUT_SUCCEEDED && h->reason[0])
			printf("             %s\n", h->reason);
		if (h->batch_output[0])
			printf("             batch output in %s\n",
			       h->batch_output);
	}
}

static void add_time(cJSON *o, const char *k, time_t t)
{
	char buf[32];

	if (t <= 0) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	sched_format_utc(t, buf, sizeof(buf));
	cJSON_AddStringToObject(o, k, buf);
}

static cJSON *json_pipeline(const struct pstatus *ps,
			    const struct daemon_probe *dp)
{
	const struct rt_run *run = &ps->st.run;
	cJSON *o = cJSON_CreateObject(), *jobs, *hist, *j;
	size_t i;
	int s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", ps->p->name);
	if (ps->error[0])
		cJSON_AddStringToObject(o, "state_error", ps->error);
	cJSON_AddStringToObject(o, "stage", ps->st.has_run ?
				rt_stage_name(run->stage) : "idle");
	if (ps->has_next)
		add_time(o, "next_fire", ps->next_fire);
	else
		cJSON_AddNullToObject(o, "next_fire");
	add_time(o, "last_fire", ps->st.last_fire);
	if (ps->st.has_run) {
		cJSON *r = cJSON_AddObjectToObject(o, "run");

		if (r) {
			add_time(r, "fire_time", run->fire_time);
			add_time(r, "started_at", run->started_at);
			cJSON_AddBoolToObject(r, "followed", run->followed);
			if (dp->held == 0)
				cJSON_AddStringToObject(r, "waiting",
							NOT_RUNNING_TEXT);
			if (run->followed)
				cJSON_AddStringToObject(r, "note",
							FOLLOWED_TEXT);
			if (run->reason[0])
				cJSON_AddStringToObject(r, "stopped_reason",
							run->reason);
			else
				cJSON_AddNullToObject(r, "stopped_reason");
		}
	} else {
		cJSON_AddNullToObject(o, "run");
	}
	jobs = cJSON_AddArrayToObject(o, "jobs");
	for (s = 0; ps->st.has_run && jobs && s < RT_NSLOTS; s++) {
		const struct rt_slot *sl = &run->slots[s];

		if (sl->phase == RT_PH_UNUSED)
			continue;
		j = cJSON_CreateObject();
		if (!j)
			break;
		cJSON_AddStringToObject(j, "kind", slot_kind(s));
		if (slot_dataset_type(run, s)[0])
			cJSON_AddStringToObject(j, "dataset_type",
						slot_dataset_type(run, s));
		cJSON_AddStringToObject(j, "name", sl->name);
		if (sl->arn[0])
			cJSON_AddStringToObject(j, "arn", sl->arn);
		else
			cJSON_AddNullToObject(j, "arn");
		cJSON_AddStringToObject(j, "phase", rt_phase_name(sl->phase));
		cJSON_AddStringToObject(j, "status", sl->status);
		cJSON_AddBoolToObject(j, "adopted", sl->adopted);
		if (s == RT_SLOT_BATCH) {
			cJSON_AddStringToObject(j, "batch_kind",
				rt_batch_kind_name(run->batch_kind));
			cJSON_AddStringToObject(j, "input", run->batch_input);
			cJSON_AddStringToObject(j, "output", run->batch_output);
		}
		cJSON_AddItemToArray(jobs, j);
	}
	if (ps->st.campaign_version[0])
		cJSON_AddStringToObject(o, "campaign_version",
					ps->st.campaign_version);
	else
		cJSON_AddNullToObject(o, "campaign_version");
	if (ps->st.campaign_prev_version[0])
		cJSON_AddStringToObject(o, "campaign_prev_version",
					ps->st.campaign_prev_version);
	else
		cJSON_AddNullToObject(o, "campaign_prev_version");
	hist = cJSON_AddArrayToObject(o, "history");
	for (i = 0; hist && i < ps->st.n_history; i++) {
		const struct state_history *h = &ps->st.history[i];

		j = cJSON_CreateObject();
		if (!j)
			break;
		add_time(j, "fire_time", h->fire_time);
		add_time(j, "started_at", h->started_at);
		add_time(j, "finished_at", h->finished_at);
		cJSON_AddStringToObject(j, "outcome",
					rt_outcome_name(h->outcome));
		if (h->started_at > 0 && h->finished_at >= h->started_at)
			cJSON_AddNumberToObject(j, "duration_s",
				(double)(h->finished_at - h->started_at));
		else
			cJSON_AddNullToObject(j, "duration_s");
		cJSON_AddStringToObject(j, "version_name", h->version_name);
		cJSON_AddStringToObject(j, "version_arn", h->version_arn);
		cJSON_AddStringToObject(j, "reason", h->reason);
		cJSON_AddBoolToObject(j, "followed", h->followed);
		cJSON_AddStringToObject(j, "kind", rt_kind_name(h->kind));
		if (h->batch_output[0])
			cJSON_AddStringToObject(j, "batch_output",
						h->batch_output);
		else
			cJSON_AddNullToObject(j, "batch_output");
		if (h->followed)
			cJSON_AddStringToObject(j, "note", FOLLOWED_TEXT);
		cJSON_AddItemToArray(hist, j);
	}
	return o;
}

int cmd_status(const struct cli_options *opt, int argc, char **argv)
{
	struct config *cfg = NULL;
	struct pstatus *ps = NULL;
	struct daemon_probe dp;
	cJSON *root = NULL, *arr = NULL;
	const char *only = NULL, *dir;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "json", '\0', NULL, &json },
		CLI_OPT_PIPELINE(&only), CLI_OPT_HELP, CLI_OPT_END,
	};
	time_t now = wallclock_now();
	size_t i;
	int r, rc = PR_EXIT_SOFTWARE;

	r = cli_parse_and_load(opt, argc, argv, opts, &only, &cfg);
	if (r != CLI_PARSED)
		return r;
	dir = cli_state_dir(opt);
	{
		char err[8400];

		r = stateowner_check(dir, cli_config_path(opt), err, sizeof(err));
		if (r == -EXDEV) {
			fprintf(stderr, "%s: %s\n", CLI_PROGRAM, err);
			config_free(cfg);
			return PR_EXIT_CONFIG;
		}
	}
	dp.held = lockprobe_state_dir(dir, NULL, &dp.pid);
	ps = calloc(cfg->n, sizeof(*ps));
	if (!ps)
		goto cleanup;
	if (json) {
		root = cJSON_CreateObject();
		if (!root)
			goto cleanup;
		cJSON_AddStringToObject(root, "state_directory", dir);
		{
			cJSON *dj = cJSON_AddObjectToObject(root, "daemon");

			if (!dj)
				goto cleanup;
			if (dp.held < 0)
				cJSON_AddNullToObject(dj, "running");
			else
				cJSON_AddBoolToObject(dj, "running", dp.held);
			if (dp.held > 0 && dp.pid > 0)
				cJSON_AddNumberToObject(dj, "pid", (double)dp.pid);
			else
				cJSON_AddNullToObject(dj, "pid");
		}
		add_time(root, "now", now);
		arr = cJSON_AddArrayToObject(root, "pipelines");
		if (!arr)
			goto cleanup;
	} else {
		print_daemon(&dp, dir);
	}
	for (i = 0; i < cfg->n; i++) {
		ps[i].p = &cfg->pipelines[i];
		if (only && strcmp(only, ps[i].p->name))
			continue;
		read_state(dir, &ps[i]);
		ps[i].has_next = plan_next_fire(ps[i].p->schedule, now,
						&ps[i].next_fire) == 0;
		if (json) {
			cJSON *o = json_pipeline(&ps[i], &dp);

			if (!o)
				goto cleanup;
			cJSON_AddItemToArray(arr, o);
		} else {
			if (i && !only)
				printf("\n");
			print_text(&ps[i], now, &dp);
		}
	}
	if (json) {
		char *s = cJSON_Print(root);

		if (!s)
			goto cleanup;
		printf("%s\n", s);
		free(s);
	}
	rc = PR_EXIT_OK;
cleanup:
	cJSON_Delete(root);
	free(ps);
	config_free(cfg);
	return rc;
}
