/* calls_floor.c - the floor of an API call: the requests calls_replay
 * makes, already signed, sent through libcurl alone. What any client built
 * on the chosen HTTP library spends per call on this machine, the way
 * daemon_floor (daemon_bench.py) is what the chosen libraries cost a
 * process in memory.
 *
 *   calls_floor REGION ENDPOINT_URL CALLS.json [ROUNDS]
 *
 * Arguments, pacing and output as calls_replay's. Before a round's CPU
 * clock starts, every request of the round is built and signed by this
 * project's code (the body printed by cJSON, the headers by
 * aws_client_build_request with the credentials of AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; a round must therefore last
 * less than the five minutes a signature stays valid, which the bench's
 * rounds of a few seconds do). In the round each goes out
 * with curl_easy_perform on one easy handle: the connection kept alive
 * between calls, and a fresh one for a call that is not idempotent, as the
 * client does, with the options of the client's that change what goes on
 * the wire or into the process (no signals, no "Expect:"). The reply is
 * read and dropped: "ok" counts 2xx replies,
 * "errors" the others. No event loop, no signing, no JSON, no retries: the
 * least a call can cost through libcurl.
 *
 * Not named bench_*: daemon_bench.py builds and runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "aws.h"
#include "aws-internal.h"
#include "http.h"
#include "replay_util.h"

/* One request, ready to go. */
struct prepared {
	char *body;
	struct curl_slist *headers;
	double offset;
	long fresh;
};

static size_t drop(char *data, size_t size, size_t nmemb, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * nmemb;
}

static void prepared_free(struct prepared *p, int n)
{
	for (int i = 0; p && i < n; i++) {
		free(p[i].body);
		curl_slist_free_all(p[i].headers);
	}
	free(p);
}

/* Sign every call of calls into p[] (n entries); 0 or -1. */
static int prepare(struct aws_client *aws, const struct sigv4_credentials *cr,
		   const cJSON *calls, struct prepared *p)
{
	const cJSON *c;
	int i = 0;

	cJSON_ArrayForEach(c, calls) {
		struct aws_wire_request w = AWS_WIRE_REQUEST_INIT;
		const cJSON *params;
		const char *op;

		replay_entry(c, &op, &params, &p[i].offset);
		p[i].fresh = aws_operation_idempotent(op) ? 0L : 1L;
		p[i].body = cJSON_PrintUnformatted(params);
		if (!p[i].body ||
		    aws_client_build_request(aws, op, p[i].body, strlen(p[i].body),
					     cr, &w) < 0) {
			fprintf(stderr, "calls_floor: %s: cannot build it\n", op);
			aws_wire_request_free(&w);
			return -1;
		}
		for (size_t k = 0; k <= w.n_headers; k++) {
			char line[8192];
			struct curl_slist *l;
			int n;

			if (k == w.n_headers)  /* as http.c: no Expect: */
				n = snprintf(line, sizeof(line), "Expect:");
			else if (!strcasecmp(w.headers[k].name, "Host"))
				continue;  /* curl sends the URL's */
			else
				n = snprintf(line, sizeof(line), "%s: %s",
					     w.headers[k].name,
					     w.headers[k].value);
			l = n > 0 && (size_t)n < sizeof(line) ?
			    curl_slist_append(p[i].headers, line) : NULL;
			if (!l) {
				fprintf(stderr, "calls_floor: %s: a header does not fit\n", op);
				aws_wire_request_free(&w);
				return -1;
			}
			p[i].headers = l;
		}
		aws_wire_request_free(&w);
		i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct aws_client_config cfg = { 0 };
	struct aws_creds_provider prov;
	struct sigv4_credentials cr = {
		getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
		getenv("AWS_SESSION_TOKEN"),
	};
	struct http_client *http = NULL;
	struct aws_client *aws = NULL;
	struct replay_round *per = NULL;
	struct prepared *p = NULL;
	sd_event *event = NULL;
	CURL *easy = NULL;
	cJSON *calls;
	int rc = 1, n = 0, rounds;

	calls = replay_load("calls_floor", argc, argv, &rounds);
	if (!calls)
		return rounds < 0 ? 1 : 2;
	if (!cr.access_key_id || !cr.secret_access_key) {
		fprintf(stderr, "calls_floor: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are needed\n");
		goto out;
	}
	aws_creds_provider_static(&prov, &cr);  /* for aws_client_new only */
	n = cJSON_GetArraySize(calls);
	cfg.region = argv[1];
	cfg.endpoint_url = argv[2];
	if (sd_event_new(&event) < 0 || http_client_new(event, &http) < 0 ||
	    aws_client_new(event, http, &cfg, &prov, &aws) < 0 ||
	    !(easy = curl_easy_init()) ||
	    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_URL, argv[2]) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, drop) != CURLE_OK ||
	    !(per = calloc((size_t)rounds, sizeof(*per)))) {
		fprintf(stderr, "calls_floor: cannot set up the client or curl\n");
		goto out;
	}
	for (int round = 0; round < rounds; round++) {
		double t0, c0;

		prepared_free(p, n);
		p = calloc((size_t)n, sizeof(*p));
		if (!p || prepare(aws, &cr, calls, p) < 0)
			goto out;
		c0 = replay_cpu_s();
		t0 = replay_mono_s();
		for (int i = 0; i < n; i++) {
			long code = 0;

			replay_sleep_s(t0 + p[i].offset - replay_mono_s());
			if (curl_easy_setopt(easy, CURLOPT_POSTFIELDS, p[i].body) == CURLE_OK &&
			    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, p[i].headers) == CURLE_OK &&
			    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, p[i].fresh) == CURLE_OK &&
			    curl_easy_perform(easy) == CURLE_OK &&
			    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
			    code / 100 == 2)
				per[round].ok++;
			else
				per[round].errors++;
		}
		per[round].cpu = replay_cpu_s() - c0;
	}
	replay_print(per, rounds);
	rc = 0;
out:
	curl_easy_cleanup(easy);
	prepared_free(p, n);
	aws_client_free(aws);
	http_client_free(http);
	sd_event_unref(event);
	cJSON_Delete(calls);
	free(per);
	return rc;
}
