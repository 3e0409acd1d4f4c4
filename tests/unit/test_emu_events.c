/* test_emu_events.c - the emulator's PutEvents (emu_events.c): accepted
 * entries get an event id, a request without Entries or with more than 10
 * is a ValidationException, and an entry without Source, DetailType or a
 * JSON object Detail, or with a bad EventBusName, fails alone and counts
 * in FailedEntryCount. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../emulator/emu.h"

static cJSON *put(const char *request, int want_status)
{
	struct emu_rng ids;
	struct emu_reply r = { 0 };
	cJSON *in = cJSON_Parse(request), *out;

	assert_non_null(in);
	emu_rng_seed(&ids, 1);
	emu_events_put(in, &ids, &r);
	cJSON_Delete(in);
	assert_int_equal(r.status, want_status);
	out = cJSON_Parse(r.body);
	assert_non_null(out);
	emu_reply_clear(&r);
	return out;
}

#define GOOD "{\"Source\":\"personalize-retrain\",\"DetailType\":\"x\"," \
	"\"Detail\":\"{\\\"stage\\\":\\\"started\\\"}\",\"EventBusName\":\"default\"," \
	"\"Resources\":[\"arn:aws:personalize:us-east-1:123456789012:solution/s\"]}"

static const char *code_of(const cJSON *out, int i)
{
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "Entries"), i);
	const cJSON *c = cJSON_GetObjectItem(e, "ErrorCode");

	if (!c)
		assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "EventId")));
	return cJSON_IsString(c) ? c->valuestring : "";
}

static void test_put(void **state)
{
	char many[4096];
	cJSON *out;
	int i;

	(void)state;
	out = put("{\"Entries\":[" GOOD "]}", 200);
	assert_int_equal(cJSON_GetObjectItem(out, "FailedEntryCount")->valueint, 0);
	assert_string_equal(code_of(out, 0), "");
	cJSON_Delete(out);
	/* one bad entry of four: only it fails */
	out = put("{\"Entries\":[" GOOD ","
		  "{\"DetailType\":\"x\",\"Detail\":\"{}\"},"
		  "{\"Source\":\"s\",\"DetailType\":\"x\",\"Detail\":\"[1]\"},"
		  "{\"Source\":\"s\",\"DetailType\":\"x\",\"Detail\":\"{}\","
		  "\"EventBusName\":\"my bus\"}]}", 200);
	assert_int_equal(cJSON_GetObjectItem(out, "FailedEntryCount")->valueint, 3);
	assert_string_equal(code_of(out, 0), "");
	for (i = 1; i < 4; i++)
		assert_string_equal(code_of(out, i), "InvalidArgument");
	cJSON_Delete(out);
	/* a bus ARN is a bus */
	out = put("{\"Entries\":[{\"Source\":\"s\",\"DetailType\":\"x\",\"Detail\":\"{}\","
		  "\"EventBusName\":\"arn:aws:events:us-east-1:123456789012:event-bus/ops\"}]}",
		  200);
	assert_int_equal(cJSON_GetObjectItem(out, "FailedEntryCount")->valueint, 0);
	cJSON_Delete(out);
	/* the request itself */
	out = put("{}", 400);
	assert_string_equal(cJSON_GetObjectItem(out, "__type")->valuestring,
			    EMU_NS_CORAL "ValidationException");
	cJSON_Delete(out);
	out = put("{\"Entries\":[]}", 400);
	cJSON_Delete(out);
	snprintf(many, sizeof(many), "{\"Entries\":[");
	for (i = 0; i < 11; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%s",
			 i ? "," : "", GOOD);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "]}");
	out = put(many, 400);
	cJSON_Delete(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
