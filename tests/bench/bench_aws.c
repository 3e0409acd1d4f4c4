/* bench_aws.c - nanoseconds to build + sign + serialize one Amazon
 * Personalize DescribeSolutionVersion request (cJSON body, X-Amz-Target,
 * SigV4 with a cached signing key, the wire header list), and to decode
 * and parse its reply into struct personalize_solution_version.
 *
 * Prints a table; writes "name value" lines to $BENCH_RESULTS/aws.txt
 * when that is set. No network: the client is never asked to send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "aws-internal.h"
#include "personalize.h"

#define ITERATIONS 20000
#define ROUNDS 7 /* the best round counts */
#define SV_ARN "arn:aws:personalize:us-east-1:123456789012:solution/retail-recs/8b2d4c1e"

static const char reply[] =
	"{\"solutionVersion\":{\"name\":\"retrain-20261125\","
	"\"solutionVersionArn\":\"" SV_ARN "\","
	"\"solutionArn\":\"arn:aws:personalize:us-east-1:123456789012:solution/retail-recs\","
	"\"performHPO\":false,\"performAutoML\":false,"
	"\"recipeArn\":\"arn:aws:personalize:::recipe/aws-user-personalization\","
	"\"datasetGroupArn\":\"arn:aws:personalize:us-east-1:123456789012:dataset-group/retail\","
	"\"solutionConfig\":{},\"trainingHours\":2.514,\"trainingMode\":\"FULL\","
	"\"status\":\"ACTIVE\",\"creationDateTime\":1.764072000123E9,"
	"\"lastUpdatedDateTime\":1.764079200456E9,\"trainingType\":\"MANUAL\"}}";

static volatile size_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int build_once(struct aws_client *c, const struct sigv4_credentials *cr,
		      struct aws_wire_request *w)
{
	cJSON *body = cJSON_CreateObject();
	char *text;
	int r = -1;

	if (!body || !cJSON_AddStringToObject(body, "solutionVersionArn", SV_ARN))
		goto cleanup;
	text = cJSON_PrintUnformatted(body);
	if (!text)
		goto cleanup;
	r = aws_client_build_request(c, "DescribeSolutionVersion", text,
				     strlen(text), cr, w);
	sink += w->n_headers + strlen(text);
	free(text);
cleanup:
	cJSON_Delete(body);
	return r;
}

static int parse_once(void)
{
	struct personalize_solution_version sv;
	const char *why = NULL;
	cJSON *j = NULL;
	int r;

	r = aws_decode_reply("application/x-amz-json-1.1", reply,
			     sizeof(reply) - 1, &j, &why);
	if (r < 0)
		return r;
	r = personalize_parse_solution_version(j, &sv, &why);
	if (r == 0)
		sink += strlen(sv.status);
	cJSON_Delete(j);
	return r;
}

int main(void)
{
	static const struct sigv4_credentials cr = {
		"ASIAEXAMPLEBENCH0001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"IQoJb3JpZ2luX2VjEXAMPLETOKENFORBENCHMARKSONLY",
	};
	struct aws_client_config cfg = { .region = "us-east-1" };
	struct aws_creds_provider prov;
	struct aws_wire_request w = AWS_WIRE_REQUEST_INIT;
	struct http_client *http = NULL;
	struct aws_client *c = NULL;
	double best_build = 1e300, best_parse = 1e300;
	const char *dir = getenv("BENCH_RESULTS");
	sd_event *e = NULL;
	int round, i, rc = 1;

	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_PERSONALIZE");
	aws_creds_provider_static(&prov, &cr);
	if (sd_event_new(&e) < 0 || http_client_new(e, &http) < 0 ||
	    aws_client_new(e, http, &cfg, &prov, &c) < 0) {
		fprintf(stderr, "bench_aws: setup failed\n");
		goto cleanup;
	}
	if (build_once(c, &cr, &w) < 0 || parse_once() < 0) {
		fprintf(stderr, "bench_aws: request or reply failed\n");
		goto cleanup;
	}
	for (round = 0; round < ROUNDS; round++) {
		double t0 = now_ns(), dt;

		for (i = 0; i < ITERATIONS; i++)
			if (build_once(c, &cr, &w) < 0)
				goto cleanup;
		dt = (now_ns() - t0) / ITERATIONS;
		if (dt < best_build)
			best_build = dt;
		t0 = now_ns();
		for (i = 0; i < ITERATIONS; i++)
			if (parse_once() < 0)
				goto cleanup;
		dt = (now_ns() - t0) / ITERATIONS;
		if (dt < best_parse)
			best_parse = dt;
	}
	printf("%-52s %10.0f ns\n",
	       "DescribeSolutionVersion build+sign+serialize", best_build);
	printf("%-52s %10.0f ns\n",
	       "DescribeSolutionVersion reply decode+parse", best_parse);
	if (dir && *dir) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/aws.txt", dir);
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "aws_build_sign_serialize_ns %.0f\n", best_build);
			fprintf(f, "aws_parse_reply_ns %.0f\n", best_parse);
			fclose(f);
		}
	}
	rc = 0;
cleanup:
	aws_wire_request_free(&w);
	aws_client_free(c);
	http_client_free(http);
	sd_event_unref(e);
	return rc;
}
