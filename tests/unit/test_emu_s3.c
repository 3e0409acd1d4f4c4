/* test_emu_s3.c - the emulator's S3 objects: world declarations and their
 * errors, replacing an object, the request target (path and virtual-hosted
 * style, percent-decoding), ISO-8601 and HTTP dates; ListObjectsV2's
 * bucket target and its pages (read back with the daemon's own parser). */
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
#include "s3-internal.h"

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

static void test_bucket_target(void **state)
{
	static const struct {
		const char *host, *path;
		int r;
		const char *bucket;
	} cases[] = {
		{ "127.0.0.1:9", "/bkt", 0, "bkt" },
		{ "127.0.0.1:9", "/bkt/", 0, "bkt" },
		{ "127.0.0.1:9", "/my%2Ebkt", 0, "my.bkt" },
		{ "bkt.s3.eu-west-1.amazonaws.com", "/", 0, "bkt" },
		{ "127.0.0.1:9", "/bkt/key", -EINVAL, NULL },
		{ "bkt.s3.eu-west-1.amazonaws.com", "/key", -EINVAL, NULL },
		{ "127.0.0.1:9", "/", -EINVAL, NULL },
		{ "127.0.0.1:9", "bkt", -EINVAL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *b = NULL;
		int r = emu_s3_bucket_target(cases[i].host, cases[i].path, &b);

		if (r != cases[i].r)
			fail_msg("case %zu: %d", i, r);
		if (r == 0)
			assert_string_equal(b, cases[i].bucket);
		free(b);
	}
}

/* One page through the daemon's parser. */
static void page(const struct emu_s3 *s, const char *prefix, const char *token, long max,
		 unsigned cap, struct s3_list_page *p)
{
	char *xml = NULL;
	const char *why = NULL;

	assert_int_equal(emu_s3_list(s, "b", prefix, token, max, cap, &xml), 0);
	if (s3_list_parse_page(xml, strlen(xml), p, &why) < 0)
		fail_msg("%s: %s", why, xml);
	free(xml);
}

static void test_list_pages(void **state)
{
	struct emu_s3 s = { 0 };
	struct s3_list_page p;
	char *err = NULL, *xml = NULL, *token;
	const char *keys[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(load(&s, "[{\"uri\":\"s3://b/d/c & <d>.csv\",\"etag\":\"\\\"3\\\"\",\"size\":3},"
			 "{\"uri\":\"s3://b/d/a.csv\",\"etag\":\"\\\"1\\\"\",\"size\":1},"
			 "{\"uri\":\"s3://b/d/\",\"etag\":\"\\\"m\\\"\"},"
			 "{\"uri\":\"s3://b/e/x.csv\",\"etag\":\"\\\"x\\\"\"},"
			 "{\"uri\":\"s3://o/d/z.csv\",\"etag\":\"\\\"z\\\"\"},"
			 "{\"uri\":\"s3://b/d/b.csv\",\"etag\":\"\\\"2\\\"\",\"size\":2}]", &err), 0);
	/* max-keys 2, every page: 2, 2, 0 left */
	token = NULL;
	for (int i = 0; i < 3; i++) {
		page(&s, "d/", token, 2, 0, &p);
		for (size_t j = 0; j < p.n; j++)
			keys[n++] = strdup(p.v[j].key);
		free(token);
		token = p.next_token ? strdup(p.next_token) : NULL;
		assert_int_equal(p.truncated, i == 0);
		if (i == 1) {
			assert_int_equal(p.n, 2);
			assert_string_equal(p.v[0].etag, "\"2\"");
			assert_int_equal(p.v[0].size, 2);
			s3_list_page_free(&p);
			break;
		}
		assert_non_null(strchr(token, '/'));    /* clients must encode it */
		s3_list_page_free(&p);
	}
	assert_null(token);
	assert_int_equal(n, 4);
	assert_string_equal(keys[0], "d/");
	assert_string_equal(keys[1], "d/a.csv");
	assert_string_equal(keys[2], "d/b.csv");
	assert_string_equal(keys[3], "d/c & <d>.csv");
	for (size_t j = 0; j < n; j++)
		free((char *)(uintptr_t)keys[j]);
	/* the world's cap wins over a larger max-keys; 1000 at most anyway */
	page(&s, "d/", NULL, 1000, 3, &p);
	assert_int_equal(p.n, 3);
	assert_true(p.truncated);
	s3_list_page_free(&p);
	page(&s, "", NULL, 5000, 0, &p);
	assert_int_equal(p.n, 5);
	assert_false(p.truncated);
	s3_list_page_free(&p);
	/* nothing under the prefix: an empty page, not an error */
	page(&s, "none/", NULL, 10, 0, &p);
	assert_int_equal(p.n, 0);
	s3_list_page_free(&p);
	assert_int_equal(emu_s3_list(&s, "nobucket", "", NULL, 10, 0, &xml), -ENOENT);
	assert_int_equal(emu_s3_list(&s, "b", "", "garbage", 10, 0, &xml), -EINVAL);
	assert_int_equal(emu_s3_list(&s, "b", "", "T/zz=", 10, 0, &xml), -EINVAL);
	assert_int_equal(emu_s3_list(&s, "b", "", NULL, -1, 0, &xml), -EINVAL);
	assert_null(xml);
	emu_s3_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_find_replace),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_bucket_target),
		cmocka_unit_test(test_list_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
