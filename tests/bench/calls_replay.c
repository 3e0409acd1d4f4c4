/* calls_replay.c - the CPU of API calls alone, made by this project's
 * client: the credentials chain, SigV4, curl on sd-event, retries, and the
 * reply decoded and parsed as the daemon's Personalize layer parses it.
 * The counterpart of daemon_bench.py's boto3 replay, which measures
 * boto3's client the same way.
 *
 *   calls_replay REGION ENDPOINT_URL CALLS.json [ROUNDS]
 *
 * CALLS.json: [[operation, params, offset_s], ...] (what the boto3 replay
 * reads: the calls of one `once` cycle from the emulator's ledger). Each
 * call is made at its offset from the first, or when the one before it
 * has been answered if that is later (boto3's calls block: the same
 * pacing); the whole list ROUNDS times (default 1), back to back, each
 * round paced from its own start. Prints {"rounds": [{"cpu": s, "ok": n,
 * "errors": n}, ...]}: the process's CPU (getrusage) from just before a
 * round's first call to its last reply; the client is built before, as
 * boto3's is.
 *
 * Not named bench_*: it is not a benchmark of its own (tests/bench/run
 * starts every bench_*), daemon_bench.py builds and runs it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "aws.h"
#include "creds.h"
#include "credsprov.h"
#include "http.h"
#include "personalize.h"
#include "replay_util.h"

struct replay {
	int done;
	int ok, errors;
};

/* What the daemon's Personalize layer does with a reply (personalize.c):
 * a Describe is parsed into its struct, a create's ARN is read. */
static int parse_like_the_daemon(const char *op, const cJSON *reply)
{
	const char *why = NULL;

	if (!strcmp(op, "DescribeDatasetImportJob")) {
		struct personalize_dataset_import_job j;

		return personalize_parse_dataset_import_job(reply, &j, &why);
	}
	if (!strcmp(op, "DescribeSolutionVersion")) {
		struct personalize_solution_version v;

		return personalize_parse_solution_version(reply, &v, &why);
	}
	if (!strcmp(op, "DescribeCampaign")) {
		struct personalize_campaign c;

		return personalize_parse_campaign(reply, &c, &why);
	}
	if (!strncmp(op, "List", 4))
		return cJSON_IsObject(reply) ? 0 : -EBADMSG;
	for (const cJSON *i = reply ? reply->child : NULL; i; i = i->next)
		if (cJSON_IsString(i) && strstr(i->string, "Arn"))
			return 0;  /* a create's or an update's ARN */
	return -EBADMSG;
}

struct one {
	struct replay *rp;
	const char *op;
};

static void on_done(const struct aws_result *res, void *ud)
{
	struct one *o = ud;

	if (res->error == AWS_ERR_NONE &&
	    parse_like_the_daemon(o->op, res->reply) == 0)
		o->rp->ok++;
	else
		o->rp->errors++;
	o->rp->done++;
}

int main(int argc, char **argv)
{
	struct creds_chain_options co = { 0 };
	struct aws_client_config cfg = { 0 };
	struct aws_creds_provider prov;
	struct creds_chain *chain = NULL;
	struct credsprov *cp = NULL;
	struct http_client *http = NULL;
	struct aws_client *aws = NULL;
	struct replay rp = { 0 };
	struct replay_round *per = NULL;
	sd_event *event = NULL;
	cJSON *calls, *c;
	double t0, c0;
	int rc = 1, i, round, rounds;
	bool ready = false;  /* the client is set up */

	calls = replay_load("calls_replay", argc, argv, &rounds);
	if (!calls)
		return rounds < 0 ? 1 : 2;
	cfg.region = argv[1];
	cfg.endpoint_url = argv[2];
	cfg.max_attempts = 1;  /* as the boto3 replay: no retries */
	if (sd_event_new(&event) < 0 || http_client_new(event, &http) < 0)
		goto out;
	co.event = event;
	co.http = http;
	if (creds_chain_new(&co, &chain) < 0 || credsprov_new(chain, &cp) < 0)
		goto out;
	credsprov_fill(cp, &prov);
	if (aws_client_new(event, http, &cfg, &prov, &aws) < 0)
		goto out;
	per = calloc((size_t)rounds, sizeof(*per));
	if (!per)
		goto out;
	ready = true;
	for (round = 0; round < rounds; round++) {
		memset(&rp, 0, sizeof(rp));
		i = 0;
		c0 = replay_cpu_s();
		t0 = replay_mono_s();
		cJSON_ArrayForEach(c, calls) {
			const cJSON *params;
			struct one o = { &rp, NULL };
			double offset;

			replay_entry(c, &o.op, &params, &offset);
			replay_sleep_s(t0 + offset - replay_mono_s());
			if (aws_call(aws, o.op, params, on_done, &o, NULL) < 0) {
				fprintf(stderr, "calls_replay: %s: cannot start it\n", o.op);
				goto out;
			}
			i++;
			while (rp.done < i)
				if (sd_event_run(event, UINT64_MAX) < 0)
					goto out;
		}
		per[round].cpu = replay_cpu_s() - c0;
		per[round].ok = rp.ok;
		per[round].errors = rp.errors;
	}
	/* printed only once every round is done: a failure leaves no
	 * half-written JSON */
	replay_print(per, rounds);
	rc = 0;
out:
	if (!ready)
		fprintf(stderr, "calls_replay: cannot set up the client\n");
	aws_client_free(aws);
	credsprov_free(cp);
	creds_chain_free(chain);
	http_client_free(http);
	sd_event_unref(event);
	cJSON_Delete(calls);
	free(per);
	return rc;
}
