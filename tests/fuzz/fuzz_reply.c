/* fuzz_reply.c - libFuzzer harness for reply and error decoding: the JSON
 * 1.1 reply decoder, the error decoder (body and x-amzn-ErrorType), the
 * HTTP date parser, and every Personalize reply parser on whatever decodes.
 *
 * Input: an optional first line used as the x-amzn-ErrorType header and
 * the Date header, then the body. Nothing may crash, leak or read out of
 * bounds; decoded strings must be NUL-terminated and bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws-internal.h"
#include "personalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(const cJSON *reply)
{
	struct personalize_dataset_import_job j;
	struct personalize_solution_version sv;
	struct personalize_campaign c;
	struct personalize_dataset d;
	struct personalize_solution s;
	struct personalize_dataset_group g;
	struct personalize_batch_job b;
	struct personalize_solution_metrics m;
	struct personalize_metric *mm = NULL;
	const char *why = NULL, *arn = NULL;

	(void)personalize_parse_dataset_import_job(reply, &j, &why);
	(void)personalize_parse_solution_version(reply, &sv, &why);
	(void)personalize_parse_campaign(reply, &c, &why);
	(void)personalize_parse_dataset(reply, &d, &why);
	(void)personalize_parse_solution(reply, &s, &why);
	(void)personalize_parse_dataset_group(reply, &g, &why);
	(void)personalize_parse_batch_job(reply, false, &b, &why);
	(void)personalize_parse_batch_job(reply, true, &b, &why);
	if (personalize_parse_solution_metrics(reply, &m, &mm, &why) == 0) {
		size_t i;
		double sum = 0;

		for (i = 0; i < m.n_metrics; i++)
			sum += m.metrics[i].value + (double)strlen(m.metrics[i].name);
		(void)sum;
		free(mm);
	}
	(void)personalize_parse_arn(reply, "campaignArn", &arn, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
	char header[257];
	size_t blen = size;
	struct aws_error_info e;
	cJSON *reply = NULL;
	const char *why = NULL;
	char code[64];
	time_t t;

	header[0] = '\0';
	if (nl) {
		size_t hl = (size_t)(nl - data);

		memcpy(header, data, hl);
		header[hl] = '\0';
		body = (const char *)nl + 1;
		blen = size - hl - 1;
	}
	if (aws_decode_error(header[0] ? header : NULL, body, blen, &e) == 0) {
		if (strlen(e.message) > 1024 || strlen(e.code) > 128)
			abort();
		aws_error_info_free(&e);
	}
	aws_normalize_error_code(header, code, sizeof(code));
	(void)aws_parse_http_date(header, &t);
	(void)aws_retry_classify(HTTP_OK, 400, code, header);
	(void)aws_error_classify(HTTP_OK, 400, code);
	if (aws_decode_reply("application/x-amz-json-1.1", body, blen, &reply,
			     &why) == 0) {
		parse_all(reply);
		cJSON_Delete(reply);
	}
	return 0;
}
