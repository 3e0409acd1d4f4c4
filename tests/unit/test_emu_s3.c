/* test_emu_s3.c - the emulator's S3 objects: world declarations and their
 * errors, replacing an object, the request target (path and virtual-hosted
 * style, percent-decoding), ISO-8601 and HTTP dates. */
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NOW_MS 1795168800123LL  /* 2026-11-20T10:00:00.123Z */

static int load(struct emu_s3 *s, const char *json, char **err)
{
	cJSON *o = cJSON_Parse(json);
	int r;

	assert_non_null(o);
	r = emu_s3_load(s, o, NOW_MS, err);
	cJSON_Delete(o);
	return r;
}

static void test_load_errors(void **state)
{
	static const struct {
		const char *json, *err;
	} cases[] = {
		{ "{}", "s3Objects must be a list" },
		{ "[{}]", "needs {\"uri\"" },
		{ "[{\"uri\":\"s3://b/k\"}]", "needs {\"uri\"" },
		{ "[{\"uri\":\"s3://b/k\",\"etag\":\"\"}]", "needs {\"uri\"" },
		{ "[{\"uri\":\"http://b/k\",\"etag\":\"x\"}]", "is not s3://bucket/key" },
		{ "[{\"uri\":\"s3://b/\",\"etag\":\"x\"}]", "is not s3://bucket/key" },
		{ "[{\"uri\":\"s3:///k\",\"etag\":\"x\"}]", "is not s3://bucket/key" },
		{ "[{\"uri\":\"s3://b/k\",\"etag\":\"x\",\"lastModified\":\"2026-11-20\"}]",
		  "lastModified must be ISO-8601" },
		{ "[{\"uri\":\"s3://b/k\",\"etag\":\"x\",\"lastModified\":5}]",
		  "lastModified must be ISO-8601" },
		{ "[{\"uri\":\"s3://b/k\",\"etag\":\"x\",\"size\":-1}]", "size must be" },
		{ "[{\"uri\":\"s3://b/k\",\"etag\":\"x\",\"size\":\"9\"}]", "size must be" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct emu_s3 s = { 0 };
		char *err = NULL;

		assert_int_equal(load(&s, cases[i].json, &err), -EINVAL);
		assert_non_null(err);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: \"%s\"", i, err);
		free(err);
		emu_s3_free(&s);
	}
}

static void test_load_find_replace(void **state)
{
	struct emu_s3 s = { 0 };
	const struct emu_s3_object *o;
	char *err = NULL;
	cJSON *spec, *j;

	(void)state;
	assert_int_equal(load(&s,
		"[{\"uri\":\"s3://bkt/data/u.csv\",\"etag\":\"\\\"abc\\\"\","
		"\"lastModified\":\"2026-11-20T10:00:00Z\",\"size\":41873},"
		"{\"uri\":\"s3://bkt/caf\\u00e9 1.csv\",\"etag\":\"\\\"d-2\\\"\"}]",
		&err), 0);
	assert_null(err);
	assert_int_equal(s.n, 2);
	o = emu_s3_find(&s, "bkt", "data/u.csv");
	assert_non_null(o);
	assert_string_equal(o->etag, "\"abc\"");
	assert_int_equal(o->last_modified_ms, 1795168800000LL);
	assert_int_equal(o->size, 41873);
	o = emu_s3_find(&s, "bkt", "caf\xc3\xa9 1.csv");
	assert_non_null(o);
	assert_int_equal(o->last_modified_ms, 1795168800000LL); /* now, whole s */
	assert_int_equal(o->size, 0);
	assert_null(emu_s3_find(&s, "bkt", "data/U.csv"));
	assert_null(emu_s3_find(&s, "other", "data/u.csv"));
	assert_null(emu_s3_find(NULL, "bkt", "data/u.csv"));

	/* the admin call: replace etag and date, the size stays */
	spec = cJSON_Parse("{\"uri\":\"s3://bkt/data/u.csv\",\"etag\":\"\\\"new\\\"\","
			   "\"lastModified\":\"2026-11-24T08:30:00.5Z\"}");
	assert_non_null(spec);
	assert_int_equal(emu_s3_put(&s, spec, NOW_MS, &err), 0);
	cJSON_Delete(spec);
	assert_int_equal(s.n, 2);
	o = emu_s3_find(&s, "bkt", "data/u.csv");
	assert_string_equal(o->etag, "\"new\"");
	assert_int_equal(o->last_modified_ms, 1795509000000LL);
	assert_int_equal(o->size, 41873);

	j = emu_s3_json(&s);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "uri")->valuestring,
			    "s3://bkt/data/u.csv");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "lastModified")->valuestring,
			    "2026-11-24T08:30:00.000Z");
	cJSON_Delete(j);
	assert_int_equal(emu_s3_load(&s, NULL, NOW_MS, &err), 0);
	emu_s3_free(&s);
	emu_s3_free(&s);
	emu_s3_free(NULL);
}

static void test_target(void **state)
{
	static const struct {
		const char *host, *path;
		int r;
		const char *bucket, *key;
	} cases[] = {
		{ "127.0.0.1:4566", "/bkt/data/u.csv", 0, "bkt", "data/u.csv" },
		{ "127.0.0.1:4566", "/bkt/caf%C3%A9%201%2B1.csv", 0, "bkt", "caf\xc3\xa9 1+1.csv" },
		{ "127.0.0.1:4566", "/my.bucket/a", 0, "my.bucket", "a" },
		{ "127.0.0.1:4566", "/bkt/dir//x", 0, "bkt", "dir//x" },
		{ "bkt.s3.us-east-1.amazonaws.com", "/data/u.csv", 0, "bkt", "data/u.csv" },
		{ "bkt.s3.amazonaws.com:443", "/a%20b", 0, "bkt", "a b" },
		{ "bkt.s3-eu-west-1.amazonaws.com", "/k", 0, "bkt", "k" },
		{ "s3.us-east-1.amazonaws.com", "/bkt/k", 0, "bkt", "k" },
		{ NULL, "/bkt/k", 0, "bkt", "k" },
		{ "127.0.0.1", "/bkt", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "/bkt/", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "//k", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "/", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "bkt/k", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "/bkt/a%zz", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "/bkt/a%4", -EINVAL, NULL, NULL },
		{ "127.0.0.1", "/bkt/a%00b", -EINVAL, NULL, NULL },
		{ "bkt.s3.amazonaws.com", "/", -EINVAL, NULL, NULL },
		{ "127.0.0.1", NULL, -EINVAL, NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *b = NULL, *k = NULL;
		int r = emu_s3_target(cases[i].host, cases[i].path, &b, &k);

		if (r != cases[i].r)
			fail_msg("case %zu: %d", i, r);
		if (r == 0) {
			assert_string_equal(b, cases[i].bucket);
			assert_string_equal(k, cases[i].key);
		}
		free(b);
		free(k);
	}
}

static void test_dates(void **state)
{
	static const struct {
		const char *s;
		int r;
		int64_t ms;
	} cases[] = {
		{ "2026-11-20T10:00:00Z", 0, 1795168800000LL },
		{ "2026-11-20T10:00:00.250Z", 0, 1795168800250LL },
		{ "2026-11-20T10:00:00.1234Z", 0, 1795168800123LL },
		{ "2026-11-20T10:00:00", -EINVAL, 0 },
		{ "2026-11-20T10:00:00+01:00", -EINVAL, 0 },
		{ "2026-11-20T10:00:00.Z", -EINVAL, 0 },
		{ "2026-11-20", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	char buf[40];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = -1;
		int r = emu_s3_parse_time(cases[i].s, &ms);

		if (r != cases[i].r || (r == 0 && ms != cases[i].ms))
			fail_msg("case %zu: %d %lld", i, r, (long long)ms);
	}
	assert_int_equal(emu_s3_parse_time(NULL, &(int64_t){ 0 }), -EINVAL);
	emu_s3_http_date(1795168800999LL, buf);
	assert_string_equal(buf, "Fri, 20 Nov 2026 10:00:00 GMT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_find_replace),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
