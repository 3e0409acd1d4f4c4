/* test_s3.c - S3 HeadObject: URI parsing, key encoding, endpoint and
 * addressing style, the signed request (checked by the sigv4 verifier and
 * against a canonical request written out by hand), classification and
 * header parsing (tables); then whole HEADs against the
 * scripted loopback server: success, 404, 403, wrong region, SlowDown
 * retries, resets, clock skew, no credentials, cancellation. ListObjectsV2:
 * the folder URI, the query, page parsing (good, malformed), the listing's
 * digest, whole listings over several pages, error replies, cancellation.
 *
 * Probe mode for tests/integration/s3_head.py (not a unit test):
 *   test_s3 --probe ENDPOINT REGION AKID SECRET URI...
 * HEADs each URI (lists it when it ends in '/') against ENDPOINT and
 * prints a JSON array, one object per URI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aws-engine.h"
#include "aws-internal.h"
#include "log.h"
#include "call_fixture.h"
#include "loopback.h"
#include "s3.h"
#include "s3-internal.h"
#include "sigv4.h"
#include "strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define test_creds call_fixture_creds

static void clear_endpoint_env(void)
{
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
}

/* ---- tables ---------------------------------------------------------------- */

static void test_parse_uri(void **state)
{
	static const struct {
		const char *uri;
		int r;
		const char *bucket, *key;
	} cases[] = {
		{ "s3://my-bucket/data/users.csv", 0, "my-bucket", "data/users.csv" },
		{ "s3://b/k", 0, "b", "k" },
		{ "s3://my.bucket-2/a b+c", 0, "my.bucket-2", "a b+c" },
		{ "s3://Legacy_Bucket/x", 0, "Legacy_Bucket", "x" },
		{ "s3://b/dir//x", 0, "b", "dir//x" },
		{ "s3://b/caf\xc3\xa9.csv", 0, "b", "caf\xc3\xa9.csv" },
		{ "s3://b/folder/", -EISDIR, NULL, NULL },
		{ "s3://b/", -EISDIR, NULL, NULL },
		{ "s3://b", -EISDIR, NULL, NULL },
		{ "s3:///k", -EINVAL, NULL, NULL },
		{ "S3://b/k", -EINVAL, NULL, NULL },
		{ "https://b.s3.amazonaws.com/k", -EINVAL, NULL, NULL },
		{ "s3://b@d/k", -EINVAL, NULL, NULL },
		{ "s3://b/k\nx", -EINVAL, NULL, NULL },
		{ "s3://b/k\x7f", -EINVAL, NULL, NULL },
		{ "", -EINVAL, NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		static char unset[] = "unset";
		char *b = unset, *k = unset;
		int r = s3_parse_uri(cases[i].uri, &b, &k);

		if (r != cases[i].r)
			fail_msg("case %zu (%s): %d != %d", i, cases[i].uri, r,
				 cases[i].r);
		if (r == 0) {
			assert_string_equal(b, cases[i].bucket);
			assert_string_equal(k, cases[i].key);
			free(b);
			free(k);
		} else {
			/* out-params untouched on failure */
			assert_string_equal(b, "unset");
			assert_string_equal(k, "unset");
		}
	}
	assert_int_equal(s3_parse_uri(NULL, NULL, NULL), -EINVAL);
	{
		struct strbuf sb = STRBUF_INIT;
		char *b, *k;

		strbuf_puts(&sb, "s3://b/");
		for (i = 0; i < S3_MAX_KEY_LEN; i++)
			strbuf_putc(&sb, 'k');
		assert_int_equal(s3_parse_uri(sb.buf, &b, &k), 0);
		free(b);
		free(k);
		strbuf_putc(&sb, 'k');
		assert_int_equal(s3_parse_uri(sb.buf, &b, &k), -EINVAL);
		strbuf_free(&sb);
	}
}

static void test_encode_key(void **state)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
		{ "users.csv", "users.csv" },
		{ "data/2026/users.csv", "data/2026/users.csv" },
		{ "a b", "a%20b" },
		{ "a+b", "a%2Bb" },
		{ "a=b&c", "a%3Db%26c" },
		{ "~tilde_-.", "~tilde_-." },
		{ "100%", "100%25" },
		{ "caf\xc3\xa9", "caf%C3%A9" },
		{ "dir//x", "dir//x" },
		{ "./..", "./.." },          /* S3: no dot-segment removal */
		{ "q?x#y", "q%3Fx%23y" },
		{ "a:b@c,d;e", "a%3Ab%40c%2Cd%3Be" },
		{ "*()!'$", "%2A%28%29%21%27%24" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;

		s3_encode_key(cases[i].key, &sb);
		strbuf_puts(&sb, "");
		assert_int_equal(strbuf_error(&sb), 0);
		if (strcmp(sb.buf, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\" != \"%s\"", i, sb.buf,
				 cases[i].want);
		strbuf_free(&sb);
	}
}

static void test_virtual_host_ok(void **state)
{
	static const struct {
		const char *b;
		bool ok;
	} cases[] = {
		{ "my-bucket", true }, { "abc", true }, { "a1-2b", true },
		{ "ab", false }, { "my.bucket", false }, { "My-Bucket", false },
		{ "my_bucket", false }, { "-abc", false }, { "abc-", false },
		{ "a234567890123456789012345678901234567890123456789012345678901234",
		  false },
		{ "", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (s3_virtual_host_ok(cases[i].b) != cases[i].ok)
			fail_msg("case %zu: %s", i, cases[i].b);
	assert_false(s3_virtual_host_ok(NULL));
}

static void test_resolve_target(void **state)
{
	static const struct {
		const char *config, *env_s3, *env_all, *ignore;
		bool force_path;
		const char *region, *bucket, *key;
		int r;
		const char *url, *host, *path;
		bool path_style;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, false, "eu-west-1", "my-bucket", "d/u.csv", 0,
		  "https://my-bucket.s3.eu-west-1.amazonaws.com/d/u.csv",
		  "my-bucket.s3.eu-west-1.amazonaws.com", "/d/u.csv", false },
		{ NULL, NULL, NULL, NULL, false, "us-east-1", "bkt", "a b.csv", 0,
		  "https://bkt.s3.us-east-1.amazonaws.com/a%20b.csv",
		  "bkt.s3.us-east-1.amazonaws.com", "/a%20b.csv", false },
		{ NULL, NULL, NULL, NULL, false, "cn-north-1", "bkt", "k", 0,
		  "https://bkt.s3.cn-north-1.amazonaws.com.cn/k",
		  "bkt.s3.cn-north-1.amazonaws.com.cn", "/k", false },
		{ NULL, NULL, NULL, NULL, false, "us-iso-east-1", "bkt", "k", 0,
		  "https://bkt.s3.us-iso-east-1.c2s.ic.gov/k",
		  "bkt.s3.us-iso-east-1.c2s.ic.gov", "/k", false },
		{ NULL, NULL, NULL, NULL, false, "us-isob-east-1", "bkt", "k", 0,
		  "https://bkt.s3.us-isob-east-1.sc2s.sgov.gov/k",
		  "bkt.s3.us-isob-east-1.sc2s.sgov.gov", "/k", false },
		/* dots: path style on the regional endpoint */
		{ NULL, NULL, NULL, NULL, false, "eu-west-1", "my.bucket", "k", 0,
		  "https://s3.eu-west-1.amazonaws.com/my.bucket/k",
		  "s3.eu-west-1.amazonaws.com", "/my.bucket/k", true },
		{ NULL, NULL, NULL, NULL, true, "eu-west-1", "bkt", "k", 0,
		  "https://s3.eu-west-1.amazonaws.com/bkt/k",
		  "s3.eu-west-1.amazonaws.com", "/bkt/k", true },
		/* overrides: config, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL */
		{ "http://127.0.0.1:4566", "http://s3env:1", "http://all:2", NULL, false,
		  "us-east-1", "bkt", "users.csv", 0,
		  "http://127.0.0.1:4566/bkt/users.csv", "127.0.0.1:4566",
		  "/bkt/users.csv", true },
		{ NULL, "http://s3env:1", "http://all:2", NULL, false,
		  "us-east-1", "bkt", "k", 0,
		  "http://s3env:1/bkt/k", "s3env:1", "/bkt/k", true },
		{ NULL, NULL, "http://all:2/", NULL, false,
		  "us-east-1", "bkt", "k", 0,
		  "http://all:2/bkt/k", "all:2", "/bkt/k", true },
		{ NULL, "http://s3env:1", NULL, "true", false,
		  "us-east-1", "bkt", "k", 0,
		  "https://bkt.s3.us-east-1.amazonaws.com/k",
		  "bkt.s3.us-east-1.amazonaws.com", "/k", false },
		{ "https://proxy.example/s3/", NULL, NULL, NULL, false,
		  "us-east-1", "bkt", "a/b c", 0,
		  "https://proxy.example/s3/bkt/a/b%20c", "proxy.example",
		  "/s3/bkt/a/b%20c", true },
		{ "ftp://x", NULL, NULL, NULL, false, "us-east-1", "bkt", "k",
		  -EINVAL, NULL, NULL, NULL, false },
		{ "http://x/?q=1", NULL, NULL, NULL, false, "us-east-1", "bkt", "k",
		  -EINVAL, NULL, NULL, NULL, false },
		{ NULL, NULL, NULL, NULL, false, "EU-WEST-1", "bkt", "k",
		  -EINVAL, NULL, NULL, NULL, false },
		{ NULL, NULL, NULL, NULL, false, NULL, "bkt", "k",
		  -EINVAL, NULL, NULL, NULL, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct s3_target t = { 0 };
		int r;

		clear_endpoint_env();
		if (cases[i].env_s3)
			setenv("AWS_ENDPOINT_URL_S3", cases[i].env_s3, 1);
		if (cases[i].env_all)
			setenv("AWS_ENDPOINT_URL", cases[i].env_all, 1);
		if (cases[i].ignore)
			setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
			       cases[i].ignore, 1);
		r = s3_resolve_target(cases[i].config, cases[i].force_path,
				      cases[i].region, cases[i].bucket,
				      cases[i].key, &t);
		if (r != cases[i].r)
			fail_msg("case %zu: %d != %d", i, r, cases[i].r);
		if (r == 0) {
			if (strcmp(t.url, cases[i].url) || strcmp(t.host, cases[i].host) ||
			    strcmp(t.path, cases[i].path) ||
			    t.path_style != cases[i].path_style)
				fail_msg("case %zu: %s | %s | %s | %d", i, t.url,
					 t.host, t.path, t.path_style);
			s3_target_free(&t);
		}
	}
	clear_endpoint_env();
	s3_target_free(NULL);
}

/* The signed HEAD: headers present, the signature checks out with the
 * verifier, and the canonical request is the one S3 documents (path as
 * sent, payload hash of the empty body, x-amz-content-sha256 signed). */
/* FIPS and dual-stack: the bucket's virtual host on S3's variant names
 * (botocore 1.43.11's rule set: my-bucket.s3-fips.dualstack.REGION...). */
static void test_fips_dualstack(void **state)
{
	struct s3_target t = { 0 };

	(void)state;
	clear_endpoint_env();
	setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
	setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
	assert_int_equal(s3_resolve_target(NULL, false, "eu-west-1", "my-bucket",
					   "k", &t), 0);
	assert_string_equal(t.url, "https://my-bucket.s3-fips.dualstack.eu-west-1.amazonaws.com/k");
	assert_false(t.path_style);
	s3_target_free(&t);
	assert_int_equal(s3_resolve_target(NULL, false, "eu-west-1", "my.dotted.bucket",
					   "k", &t), 0);
	assert_string_equal(t.url, "https://s3-fips.dualstack.eu-west-1.amazonaws.com/my.dotted.bucket/k");
	s3_target_free(&t);
	assert_int_equal(s3_resolve_target(NULL, false, "cn-north-1", "my-bucket",
					   "k", &t), -ENOTSUP);
	unsetenv("AWS_USE_FIPS_ENDPOINT");
	assert_int_equal(s3_resolve_target(NULL, false, "cn-north-1", "my-bucket",
					   "k", &t), 0);
	assert_string_equal(t.url, "https://my-bucket.s3.dualstack.cn-north-1.amazonaws.com.cn/k");
	s3_target_free(&t);
	unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
}

static void test_build_request(void **state)
{
	struct sigv4_signer *signer = NULL;
	struct s3_target t = { 0 };
	struct s3_wire_request w = S3_WIRE_REQUEST_INIT;
	struct sigv4_header vh[S3_MAX_REQUEST_HEADERS];
	struct sigv4_request vreq;
	struct sigv4_auth auth;
	const char *auth_value = NULL, *sha = NULL, *date = NULL, *host = NULL;
	const time_t when = 1440938160; /* 2015-08-30T12:36:00Z */
	size_t i;

	(void)state;
	clear_endpoint_env();
	assert_int_equal(sigv4_signer_new(&signer), 0);
	assert_int_equal(s3_resolve_target("http://127.0.0.1:9000", false,
					   "us-east-1", "examplebucket",
					   "photos/a b+c.jpg", &t), 0);
	assert_string_equal(t.path, "/examplebucket/photos/a%20b%2Bc.jpg");
	assert_int_equal(s3_build_request(signer, "us-east-1", &t, &test_creds,
					  when, &w), 0);
	for (i = 0; i < w.n_headers; i++) {
		const char *n = w.headers[i].name;

		vh[i] = (struct sigv4_header){ n, w.headers[i].value };
		if (!strcasecmp(n, "Authorization"))
			auth_value = w.headers[i].value;
		else if (!strcasecmp(n, "X-Amz-Content-Sha256"))
			sha = w.headers[i].value;
		else if (!strcasecmp(n, "X-Amz-Date"))
			date = w.headers[i].value;
		else if (!strcasecmp(n, "Host"))
			host = w.headers[i].value;
	}
	assert_non_null(auth_value);
	assert_non_null(date);
	assert_string_equal(host, "127.0.0.1:9000");
	assert_string_equal(sha, S3_EMPTY_PAYLOAD_SHA256);
	assert_string_equal(date, "20150830T123600Z");
	assert_non_null(strstr(auth_value,
		"Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request"));
	assert_non_null(strstr(auth_value, "SignedHeaders=host;x-amz-content-sha256;"
				"x-amz-date;x-amz-security-token,"));
	assert_string_equal(w.sig.canonical_request,
		"HEAD\n"
		"/examplebucket/photos/a%20b%2Bc.jpg\n"
		"\n"
		"host:127.0.0.1:9000\n"
		"x-amz-content-sha256:" S3_EMPTY_PAYLOAD_SHA256 "\n"
		"x-amz-date:20150830T123600Z\n"
		"x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN\n"
		"\n"
		"host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"
		S3_EMPTY_PAYLOAD_SHA256);

	/* the verifier agrees, and refuses a request whose path was changed */
	memset(&auth, 0, sizeof(auth));
	assert_int_equal(sigv4_parse_authorization(auth_value, &auth), 0);
	vreq = (struct sigv4_request){ .method = "HEAD", .path = t.path,
				       .headers = vh, .n_headers = w.n_headers };
	assert_int_equal(sigv4_verify(&vreq, &auth, test_creds.secret_access_key,
				      SIGV4_PATH_AS_IS, NULL, NULL), 0);
	vreq.path = "/examplebucket/photos/a%2520b%252Bc.jpg";
	assert_int_equal(sigv4_verify(&vreq, &auth, test_creds.secret_access_key,
				      SIGV4_PATH_AS_IS, NULL, NULL), -EACCES);
	sigv4_auth_free(&auth);

	/* without a session token: three signed headers */
	{
		const struct sigv4_credentials lt = {
			.access_key_id = "AKIDEXAMPLE",
			.secret_access_key = test_creds.secret_access_key,
		};

		s3_wire_request_free(&w);
		w = (struct s3_wire_request)S3_WIRE_REQUEST_INIT;
		assert_int_equal(s3_build_request(signer, "us-east-1", &t, &lt,
						  when, &w), 0);
		assert_int_equal(w.n_headers, 5);
		assert_non_null(strstr(w.sig.authorization.buf,
			"SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
	}
	s3_wire_request_free(&w);
	s3_wire_request_free(NULL);
	s3_target_free(&t);
	sigv4_signer_free(signer);
}

static void test_classify(void **state)
{
	static const struct {
		enum http_error tr;
		long status;
		const char *bucket_region;
		enum s3_error want;
	} cases[] = {
		{ HTTP_OK, 200, NULL, S3_ERR_NONE },
		{ HTTP_OK, 206, NULL, S3_ERR_NONE },
		{ HTTP_OK, 404, NULL, S3_ERR_NOT_FOUND },
		{ HTTP_OK, 404, "us-east-1", S3_ERR_NOT_FOUND },
		{ HTTP_OK, 403, NULL, S3_ERR_ACCESS_DENIED },
		{ HTTP_OK, 403, "us-east-1", S3_ERR_ACCESS_DENIED }, /* ours */
		{ HTTP_OK, 403, "eu-west-1", S3_ERR_WRONG_REGION },
		{ HTTP_OK, 301, "eu-west-1", S3_ERR_WRONG_REGION },
		{ HTTP_OK, 301, NULL, S3_ERR_WRONG_REGION },
		{ HTTP_OK, 307, "ap-south-1", S3_ERR_WRONG_REGION },
		{ HTTP_OK, 400, "eu-west-1", S3_ERR_WRONG_REGION },
		{ HTTP_OK, 400, NULL, S3_ERR_CLIENT },
		{ HTTP_OK, 405, NULL, S3_ERR_CLIENT },
		{ HTTP_OK, 412, NULL, S3_ERR_CLIENT },
		{ HTTP_OK, 429, NULL, S3_ERR_THROTTLED },
		{ HTTP_OK, 503, NULL, S3_ERR_THROTTLED },
		{ HTTP_OK, 500, NULL, S3_ERR_TRANSIENT },
		{ HTTP_OK, 502, NULL, S3_ERR_TRANSIENT },
		{ HTTP_ERR_TIMEOUT, 0, NULL, S3_ERR_UNAVAILABLE },
		{ HTTP_ERR_RESET, 0, NULL, S3_ERR_UNAVAILABLE },
		{ HTTP_ERR_DNS, 0, NULL, S3_ERR_UNAVAILABLE },
		{ HTTP_ERR_TLS, 0, NULL, S3_ERR_UNAVAILABLE },
		{ HTTP_ERR_PROTOCOL, 0, NULL, S3_ERR_MALFORMED_REPLY },
		{ HTTP_ERR_INTERNAL, 0, NULL, S3_ERR_INTERNAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum s3_error e = s3_classify(cases[i].tr, cases[i].status,
					      cases[i].bucket_region, "us-east-1");

		if (e != cases[i].want)
			fail_msg("case %zu: %s != %s", i, s3_error_name(e),
				 s3_error_name(cases[i].want));
	}
	for (i = S3_ERR_NONE; i <= S3_ERR_INTERNAL; i++)
		assert_string_not_equal(s3_error_name((enum s3_error)i), "unknown");
}

static void test_parse_meta(void **state)
{
	static const struct {
		const char *lm, *cl;
		int r;
		bool has_lm;
		time_t lm_want;
		bool has_cl;
		uint64_t cl_want;
	} cases[] = {
		{ "Fri, 20 Nov 2026 10:00:00 GMT", "41873", 0, true, 1795168800, true, 41873 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", "0", 0, true, 784111777, true, 0 },
		{ "Sun Nov  6 08:49:37 1994", NULL, 0, true, 784111777, false, 0 },
		{ NULL, "18446744073709551615", 0, false, 0, true, UINT64_MAX },
		{ NULL, "18446744073709551616", -EBADMSG, false, 0, false, 0 },
		{ NULL, NULL, 0, false, 0, false, 0 },
		{ "yesterday", "12", -EBADMSG, false, 0, true, 12 },
		{ "2026-11-20T10:00:00Z", NULL, -EBADMSG, false, 0, false, 0 },
		{ NULL, "-1", -EBADMSG, false, 0, false, 0 },
		{ NULL, "12a", -EBADMSG, false, 0, false, 0 },
		{ NULL, "", -EBADMSG, false, 0, false, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct s3_meta m;
		int r = s3_parse_meta(cases[i].lm, cases[i].cl, &m);

		if (r != cases[i].r || m.has_last_modified != cases[i].has_lm ||
		    m.has_content_length != cases[i].has_cl ||
		    (m.has_last_modified && m.last_modified != cases[i].lm_want) ||
		    (m.has_content_length && m.content_length != cases[i].cl_want))
			fail_msg("case %zu: r=%d lm=%d/%lld cl=%d/%llu", i, r,
				 m.has_last_modified, (long long)m.last_modified,
				 m.has_content_length,
				 (unsigned long long)m.content_length);
	}
}

/* ---- whole HEADs against the loopback server ---------------------------------- */

struct head_result {
	int calls;
	enum s3_error error;
	long status;
	char etag[128];
	bool has_lm, has_cl;
	time_t lm;
	uint64_t cl;
	char region[64];
	char request_id[64];
	char message[512];
	unsigned attempts;
};

struct fixture {
	struct call_fixture cf;
	struct s3_client *s3;
};

static void on_head_done(const struct s3_head_result *res, void *userdata)
{
	struct head_result *r = userdata;

	r->calls++;
	r->error = res->error;
	r->status = res->http_status;
	r->attempts = res->attempts;
	r->has_lm = res->has_last_modified;
	r->lm = res->last_modified;
	r->has_cl = res->has_content_length;
	r->cl = res->content_length;
	assert_non_null(res->uri);
	snprintf(r->etag, sizeof(r->etag), "%s", res->etag ? res->etag : "");
	snprintf(r->region, sizeof(r->region), "%s",
		 res->bucket_region ? res->bucket_region : "");
	snprintf(r->request_id, sizeof(r->request_id), "%s",
		 res->request_id ? res->request_id : "");
	if (res->error == S3_ERR_NONE) {
		assert_null(res->message);
	} else {
		assert_non_null(res->message);
		assert_null(res->etag);
		snprintf(r->message, sizeof(r->message), "%s", res->message);
	}
}

static int setup(void **state)
{
	clear_endpoint_env();
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	s3_client_free(f->s3);
	return call_fixture_delete(&f->cf);
}

static void start(struct fixture *f, const struct lb_action *a, size_t n)
{
	struct s3_client_config cfg = { .region = "us-east-1", .endpoint_url = f->cf.url };

	call_fixture_serve(&f->cf, a, n, "");
	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds,
				       &f->s3), 0);
	call_fixture_attach(&f->cf, f->s3->engine);
}

static void head(struct fixture *f, const char *uri, struct head_result *r)
{
	assert_int_equal(s3_head_object(f->s3, uri, on_head_done, r, NULL), 0);
	assert_int_equal(r->calls, 0);   /* never synchronous */
	call_fixture_run_until(&f->cf, &r->calls, 1);
	assert_int_equal(r->calls, 1);
	assert_int_equal(aws_engine_in_flight(f->s3->engine), 0);
}

#define OBJ_HEADERS "ETag: \"9b2cf535f27731c974343645a3985328\"\r\n" \
	"Last-Modified: Fri, 20 Nov 2026 10:00:00 GMT\r\n" \
	"x-amz-request-id: REQ1\r\n"
#define OK_HEAD { LB_REPLY, 200, OBJ_HEADERS, "" }
#define SLOWDOWN { LB_REPLY, 503, "x-amz-request-id: SD\r\n", "" }

struct scenario {
	const char *name;
	struct lb_action acts[4];
	size_t n;
	enum s3_error want;
	unsigned attempts;
	const char *region;
	const char *message_part;
};

static void test_scenarios(void **state)
{
	static const struct scenario cases[] = {
		{ "ok", { OK_HEAD }, 1, S3_ERR_NONE, 1, "", NULL },
		{ "404", { { LB_REPLY, 404, "x-amz-request-id: NF\r\n", "" } }, 1,
		  S3_ERR_NOT_FOUND, 1, "", "no such object (HTTP 404)" },
		{ "403", { { LB_REPLY, 403, NULL, "" } }, 1, S3_ERR_ACCESS_DENIED, 1,
		  "", "s3:GetObject on arn:aws:s3:::bkt/data/a b.csv" },
		{ "301 other region", { { LB_REPLY, 301,
		  "x-amz-bucket-region: eu-west-1\r\n", "" } }, 1,
		  S3_ERR_WRONG_REGION, 1, "eu-west-1",
		  "the bucket is in region eu-west-1, not us-east-1" },
		{ "400 other region", { { LB_REPLY, 400,
		  "x-amz-bucket-region: ap-south-1\r\n", "" } }, 1,
		  S3_ERR_WRONG_REGION, 1, "ap-south-1", "ap-south-1" },
		{ "slowdown twice then ok", { SLOWDOWN, SLOWDOWN, OK_HEAD }, 3,
		  S3_ERR_NONE, 3, "", NULL },
		{ "slowdown always", { SLOWDOWN }, 1, S3_ERR_THROTTLED, 3, "",
		  "throttled (HTTP 503, SlowDown) after 3 attempts" },
		{ "500 always", { { LB_REPLY, 500, NULL, "" } }, 1,
		  S3_ERR_TRANSIENT, 3, "", "HTTP 500" },
		{ "reset then ok", { { LB_RESET, 0, NULL, NULL }, OK_HEAD }, 2,
		  S3_ERR_NONE, 2, "", NULL },
		{ "reset always", { { LB_RESET, 0, NULL, NULL } }, 1,
		  S3_ERR_UNAVAILABLE, 3, "", "S3 unreachable" },
		{ "405 not retried", { { LB_REPLY, 405, NULL, "" }, OK_HEAD }, 2,
		  S3_ERR_CLIENT, 1, "", "request refused (HTTP 405)" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture *f = *state;
		struct head_result r;

		memset(&r, 0, sizeof(r));
		start(f, cases[i].acts, cases[i].n);
		head(f, "s3://bkt/data/a b.csv", &r);
		if (r.error != cases[i].want || r.attempts != cases[i].attempts)
			fail_msg("%s: %s after %u attempts (%s)", cases[i].name,
				 s3_error_name(r.error), r.attempts, r.message);
		assert_string_equal(r.region, cases[i].region);
		if (cases[i].message_part &&
		    !strstr(r.message, cases[i].message_part))
			fail_msg("%s: message \"%s\"", cases[i].name, r.message);
		if (r.error == S3_ERR_NONE) {
			assert_string_equal(r.etag,
				"\"9b2cf535f27731c974343645a3985328\"");
			assert_true(r.has_lm);
			assert_int_equal(r.lm, 1795168800);
			assert_true(r.has_cl);
			assert_int_equal(r.cl, 0);  /* the loopback's */
			assert_string_equal(r.request_id, "REQ1");
		}
		assert_int_equal(f->cf.metrics_calls, (int)i + 1);
		assert_string_equal(f->cf.last_op, "HeadObject");
		f->s3 = s3_client_free(f->s3);
		lb_stop(&f->cf.lb);
	}
}

/* What goes on the wire: HEAD, the encoded path, the signed headers. */
static void test_wire(void **state)
{
	static const struct lb_action acts[] = { OK_HEAD };
	struct fixture *f = *state;
	struct head_result r;
	char *log;

	memset(&r, 0, sizeof(r));
	start(f, acts, 1);
	head(f, "s3://my.bucket/dir/caf\xc3\xa9 1+1.csv", &r);
	assert_int_equal(r.error, S3_ERR_NONE);
	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	assert_non_null(strstr(log, "HEAD /my.bucket/dir/caf%C3%A9%201%2B1.csv HTTP/1.1\r\n"));
	assert_non_null(strcasestr(log, "\r\nx-amz-content-sha256: "
				   S3_EMPTY_PAYLOAD_SHA256 "\r\n"));
	assert_non_null(strcasestr(log, "\r\nhost: 127.0.0.1:"));
	assert_non_null(strstr(log, "SignedHeaders=host;x-amz-content-sha256;"
			       "x-amz-date;x-amz-security-token"));
	assert_non_null(strstr(log, "/us-east-1/s3/aws4_request"));
	free(log);
}

/* A 403 whose Date is far from our clock: corrected and retried once. */
static void test_clock_skew(void **state)
{
	static const struct lb_action acts[] = {
		{ LB_REPLY, 403, "Date: Fri, 20 Nov 2026 10:00:00 GMT\r\n", "" },
		OK_HEAD,
	};
	struct fixture *f = *state;
	struct head_result r;

	memset(&r, 0, sizeof(r));
	f->cf.fake_now = 1795168800 - 3600;  /* an hour slow */
	start(f, acts, 2);
	head(f, "s3://bkt/k", &r);
	assert_int_equal(r.error, S3_ERR_NONE);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(aws_engine_retrier_const(f->s3->engine)->clock_offset, 3600);

	/* a 403 with a Date that agrees is access denied, not retried */
	{
		static const struct lb_action deny[] = {
			{ LB_REPLY, 403, "Date: Fri, 20 Nov 2026 10:00:00 GMT\r\n", "" },
		};

		f->s3 = s3_client_free(f->s3);
		lb_stop(&f->cf.lb);
		f->cf.fake_now = 1795168800;
		memset(&r, 0, sizeof(r));
		start(f, deny, 1);
		head(f, "s3://bkt/k", &r);
		assert_int_equal(r.error, S3_ERR_ACCESS_DENIED);
		assert_int_equal(r.attempts, 1);
	}
}

static void test_max_attempts_env(void **state)
{
	static const struct lb_action acts[] = { SLOWDOWN };
	struct fixture *f = *state;
	struct head_result r;

	memset(&r, 0, sizeof(r));
	setenv("AWS_MAX_ATTEMPTS", "5", 1);
	start(f, acts, 1);
	unsetenv("AWS_MAX_ATTEMPTS");
	head(f, "s3://bkt/k", &r);
	assert_int_equal(r.error, S3_ERR_THROTTLED);
	assert_int_equal(r.attempts, 5);
}

static void test_quota_exhausted(void **state)
{
	static const struct lb_action acts[] = { SLOWDOWN };
	struct aws_test_hooks hooks = { .set_retry_tokens = true, .retry_tokens = 0 };
	struct fixture *f = *state;
	struct head_result r;

	memset(&r, 0, sizeof(r));
	start(f, acts, 1);
	call_fixture_set_hooks(aws_engine_retrier(f->s3->engine), &hooks);
	head(f, "s3://bkt/k", &r);
	assert_int_equal(r.error, S3_ERR_THROTTLED);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(aws_engine_retrier_const(f->s3->engine)->quota.tokens, 0);
}

static int fail_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	(void)impl;
	ready(-ENOENT, NULL, ctx);
	return 0;
}

static void test_no_credentials(void **state)
{
	static const struct lb_action acts[] = { OK_HEAD };
	struct fixture *f = *state;
	struct head_result r;

	memset(&r, 0, sizeof(r));
	f->cf.creds = (struct aws_creds_provider){ .get = fail_get };
	start(f, acts, 1);
	head(f, "s3://bkt/k", &r);
	assert_int_equal(r.error, S3_ERR_CREDENTIALS);
	assert_int_equal(r.attempts, 0);
	assert_int_equal(f->cf.last_metrics.error, AWS_ERR_AUTH);
	assert_int_equal(lb_requests(&f->cf.lb), 0);
}

static void test_cancel_and_free(void **state)
{
	static const struct lb_action acts[] = { { LB_STALL, 0, NULL, NULL } };
	struct fixture *f = *state;
	struct head_result r1, r2;
	struct s3_head *h = NULL;
	int i;

	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	start(f, acts, 1);
	assert_int_equal(s3_head_object(f->s3, "s3://bkt/a", on_head_done, &r1, &h), 0);
	assert_int_equal(s3_head_object(f->s3, "s3://bkt/b", on_head_done, &r2, NULL), 0);
	assert_int_equal(aws_engine_in_flight(f->s3->engine), 2);
	for (i = 0; i < 5; i++)
		assert_true(sd_event_run(f->cf.event, 10000) >= 0);
	s3_head_cancel(h);
	assert_int_equal(aws_engine_in_flight(f->s3->engine), 1);
	f->s3 = s3_client_free(f->s3);   /* cancels b */
	assert_int_equal(r1.calls, 0);
	assert_int_equal(r2.calls, 0);
	s3_head_cancel(NULL);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct s3_client_config cfg = { .region = "us-east-1" };
	struct s3_client *c = NULL;
	struct head_result r;

	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), 0);
	assert_int_equal(s3_head_object(c, "s3://bkt/dir/", on_head_done, &r, NULL), -EISDIR);
	assert_int_equal(s3_head_object(c, "http://x/y", on_head_done, &r, NULL), -EINVAL);
	assert_int_equal(s3_head_object(c, NULL, on_head_done, &r, NULL), -EINVAL);
	assert_int_equal(s3_head_object(c, "s3://b/k", NULL, &r, NULL), -EINVAL);
	assert_int_equal(aws_engine_in_flight(c->engine), 0);
	s3_client_free(c);
	cfg.region = "Not A Region";
	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), -EINVAL);
	cfg.region = "us-east-1";
	cfg.endpoint_url = "ftp://nope";
	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), -EINVAL);
	cfg.endpoint_url = NULL;
	setenv("AWS_ENDPOINT_URL_S3", "not a url", 1);
	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), -EINVAL);
	clear_endpoint_env();
	cfg.max_attempts = AWS_MAX_MAX_ATTEMPTS + 1;
	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), -EINVAL);
	cfg.max_attempts = 0;
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	assert_int_equal(s3_client_new(f->cf.event, f->cf.http, &cfg, &f->cf.creds, &c), -EINVAL);
	unsetenv("AWS_MAX_ATTEMPTS");
	assert_null(s3_client_free(NULL));
}

/* ---- probe mode (tests/integration/s3_head.py) ---------------------------------- */

struct probe {
	int done;
	cJSON *out;
};

/* A probe's line: what every HEAD and listing reports. */
static cJSON *probe_line(const char *uri, enum s3_error e, long status,
			 unsigned attempts)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "uri", uri);
	cJSON_AddStringToObject(o, "error", s3_error_name(e));
	cJSON_AddNumberToObject(o, "status", (double)status);
	cJSON_AddNumberToObject(o, "attempts", attempts);
	return o;
}

/* The line, with message when there is one, into the probe's output. */
static void probe_add(struct probe *p, cJSON *o, const char *message)
{
	if (message)
		cJSON_AddStringToObject(o, "message", message);
	cJSON_AddItemToArray(p->out, o);
	p->done++;
}

static void on_probe(const struct s3_head_result *res, void *userdata)
{
	cJSON *o = probe_line(res->uri, res->error, res->http_status,
			      res->attempts);

	if (res->etag)
		cJSON_AddStringToObject(o, "etag", res->etag);
	if (res->has_last_modified)
		cJSON_AddNumberToObject(o, "lastModified", (double)res->last_modified);
	if (res->has_content_length)
		cJSON_AddNumberToObject(o, "size", (double)res->content_length);
	if (res->bucket_region)
		cJSON_AddStringToObject(o, "bucketRegion", res->bucket_region);
	probe_add(userdata, o, res->message);
}

static void on_probe_list(const struct s3_list_result *res, void *userdata)
{
	cJSON *o = probe_line(res->uri, res->error, res->http_status,
			      res->attempts);

	cJSON_AddNumberToObject(o, "pages", res->pages);
	if (res->digest) {
		cJSON_AddStringToObject(o, "digest", res->digest);
		cJSON_AddNumberToObject(o, "objects", (double)res->n_objects);
	}
	probe_add(userdata, o, res->message);
}

/* A URI ending in '/' is listed (s3_list_folder), any other HEADed. */
static int probe_main(int argc, char **argv)
{
	struct sigv4_credentials creds = { .access_key_id = argv[4],
					   .secret_access_key = argv[5] };
	struct s3_client_config cfg = { .region = argv[3], .endpoint_url = argv[2] };
	struct aws_creds_provider prov;
	struct http_client *http = NULL;
	struct s3_client *s3 = NULL;
	struct probe p = { 0, cJSON_CreateArray() };
	sd_event *e = NULL;
	char *txt;
	int i, started = 0;

	aws_creds_provider_static(&prov, &creds);
	if (sd_event_new(&e) < 0 || http_client_new(e, &http) < 0 ||
	    s3_client_new(e, http, &cfg, &prov, &s3) < 0 || !p.out)
		return 70;
	for (i = 6; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n && argv[i][n - 1] == '/') {
			if (s3_list_folder(s3, argv[i], on_probe_list, &p, NULL) < 0)
				return 2;
		} else if (s3_head_object(s3, argv[i], on_probe, &p, NULL) < 0) {
			return 2;
		}
		started++;
	}
	while (p.done < started)
		if (sd_event_run(e, UINT64_MAX) < 0)
			return 70;
	txt = cJSON_Print(p.out);
	printf("%s\n", txt);
	free(txt);
	cJSON_Delete(p.out);
	s3_client_free(s3);
	http_client_free(http);
	sd_event_unref(e);
	return 0;
}

/* ---- ListObjectsV2 ------------------------------------------------------------ */

#define LIST_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" \
	"<Name>bkt</Name><Prefix>data/</Prefix><KeyCount>2</KeyCount>" \
	"<MaxKeys>500</MaxKeys>"
#define LIST_OBJ(k, e, sz) "<Contents><Key>" k "</Key>" \
	"<LastModified>2026-11-20T10:00:00.000Z</LastModified>" \
	"<ETag>&quot;" e "&quot;</ETag><Size>" sz "</Size>" \
	"<StorageClass>STANDARD</StorageClass></Contents>"

static void test_parse_folder_uri(void **state)
{
	char *b = NULL, *p = NULL;

	(void)state;
	assert_int_equal(s3_parse_folder_uri("s3://bkt/data/in/", &b, &p), 0);
	assert_string_equal(b, "bkt");
	assert_string_equal(p, "data/in/");
	free(b);
	free(p);
	assert_int_equal(s3_parse_folder_uri("s3://bkt/", &b, &p), 0);
	assert_string_equal(b, "bkt");
	assert_string_equal(p, "");
	free(b);
	free(p);
	assert_int_equal(s3_parse_folder_uri("s3://bkt/a.csv", &b, &p), -ENOTDIR);
	assert_int_equal(s3_parse_folder_uri("s3://bkt", &b, &p), -EINVAL);
	assert_int_equal(s3_parse_folder_uri("s3:///x/", &b, &p), -EINVAL);
	assert_int_equal(s3_parse_folder_uri("http://bkt/x/", &b, &p), -EINVAL);
}

static void test_list_query(void **state)
{
	struct strbuf q = STRBUF_INIT;

	(void)state;
	s3_list_query("data/in 1/", NULL, 500, &q);
	assert_string_equal(q.buf, "list-type=2&max-keys=500&prefix=data%2Fin%201%2F");
	strbuf_free(&q);
	s3_list_query("", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", 7, &q);
	assert_string_equal(q.buf, "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D"
			    "&list-type=2&max-keys=7&prefix=");
	strbuf_free(&q);
}

static void test_list_parse_page(void **state)
{
	static const char ok[] = LIST_HEAD
		LIST_OBJ("data/a.csv", "aa", "10") LIST_OBJ("data/b &amp; c.csv", "bb-2", "0")
		"<IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>TOKEN/2=</NextContinuationToken></ListBucketResult>";
	static const char last[] = LIST_HEAD "<IsTruncated>false</IsTruncated></ListBucketResult>";
	static const struct { const char *body; const char *why; } bad[] = {
		{ "not xml", "not well-formed XML" },
		{ "<Error><Code>AccessDenied</Code></Error>", "not a ListBucketResult" },
		{ LIST_HEAD "<Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>",
		  "a Contents without Key, ETag or a valid Size" },
		{ LIST_HEAD "<Contents><Key>k</Key><ETag>e</ETag><Size>-1</Size></Contents>"
		  "</ListBucketResult>", "a Contents without Key, ETag or a valid Size" },
		{ LIST_HEAD "<Contents><Key>k</Key><ETag>e</ETag><Size>99999999999999999999</Size>"
		  "</Contents></ListBucketResult>", "a Contents without Key, ETag or a valid Size" },
		{ LIST_HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>",
		  "IsTruncated without a NextContinuationToken" },
		{ LIST_HEAD "<IsTruncated>maybe</IsTruncated></ListBucketResult>",
		  "IsTruncated is neither true nor false" },
		{ "<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>", "not well-formed XML" },
	};
	struct s3_list_page p;
	const char *why = NULL;

	(void)state;
	assert_int_equal(s3_list_parse_page(ok, strlen(ok), &p, &why), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.v[0].key, "data/a.csv");
	assert_string_equal(p.v[0].etag, "\"aa\"");
	assert_int_equal(p.v[0].size, 10);
	assert_string_equal(p.v[1].key, "data/b & c.csv");
	assert_string_equal(p.v[1].etag, "\"bb-2\"");
	assert_true(p.truncated);
	assert_string_equal(p.next_token, "TOKEN/2=");
	s3_list_page_free(&p);
	assert_int_equal(s3_list_parse_page(last, strlen(last), &p, &why), 0);
	assert_int_equal(p.n, 0);
	assert_false(p.truncated);
	assert_null(p.next_token);
	s3_list_page_free(&p);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		if (s3_list_parse_page(bad[i].body, strlen(bad[i].body), &p, &why) != -EBADMSG)
			fail_msg("bad %zu parsed", i);
		assert_non_null(why);
		if (strcmp(why, bad[i].why))
			fail_msg("bad %zu: %s", i, why);
		assert_null(p.v);
	}
	assert_int_equal(s3_list_parse_page("", 0, &p, &why), -EBADMSG);
}

/* A full page (S3_LIST_MAX_KEYS objects, every child S3 may send) stays
 * within xml.h's node limit. */
static void test_list_full_page(void **state)
{
	struct strbuf b = STRBUF_INIT;
	struct s3_list_page p;
	const char *why = NULL;

	(void)state;
	strbuf_puts(&b, LIST_HEAD);
	for (int i = 0; i < S3_LIST_MAX_KEYS; i++)
		strbuf_printf(&b, "<Contents><Key>d/%06d.csv</Key>"
			      "<LastModified>2026-11-20T10:00:00.000Z</LastModified>"
			      "<ETag>&quot;%032x&quot;</ETag>"
			      "<ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>"
			      "<ChecksumType>FULL_OBJECT</ChecksumType><Size>%d</Size>"
			      "<Owner><ID>o</ID></Owner>"
			      "<StorageClass>STANDARD</StorageClass>"
			      "<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
			      "</RestoreStatus></Contents>", i, i, i);
	strbuf_puts(&b, "<IsTruncated>true</IsTruncated><NextContinuationToken>t"
		    "</NextContinuationToken></ListBucketResult>");
	assert_int_equal(strbuf_error(&b), 0);
	if (s3_list_parse_page(b.buf, b.len, &p, &why) < 0)
		fail_msg("%s", why);
	assert_int_equal(p.n, S3_LIST_MAX_KEYS);
	s3_list_page_free(&p);
	strbuf_free(&b);
}

static void digest_of(const struct s3_list_entry *v, size_t n, char out[S3_DIGEST_LEN + 1],
		      size_t *counted)
{
	assert_int_equal(s3_listing_digest(v, n, out, counted), 0);
	assert_int_equal(strlen(out), S3_DIGEST_LEN);
	assert_memory_equal(out, S3_DIGEST_PREFIX, 7);
}

/* The entries' strings are never written: literals cast for the table. */
#define S(lit) ((char *)(uintptr_t)(lit))
#define E(k, e, n) { S(k), S(e), n }

static void test_listing_digest(void **state)
{
	struct s3_list_entry base[] = {
		E("d/a.csv", "\"1\"", 10), E("d/b.csv", "\"2\"", 20), E("d/c.csv", "\"3\"", 30),
	};
	struct s3_list_entry shuffled[] = {
		E("d/c.csv", "\"3\"", 30), E("d/a.csv", "\"1\"", 10), E("d/sub/", "\"x\"", 0),
		E("d/b.csv", "\"2\"", 20), E("d/", "\"y\"", 0),
	};
	struct s3_list_entry changed[3];
	char d0[S3_DIGEST_LEN + 1], d1[S3_DIGEST_LEN + 1], d2[S3_DIGEST_LEN + 1];
	size_t counted = 0;

	(void)state;
	digest_of(base, 3, d0, &counted);
	assert_int_equal(counted, 3);
	/* order and folder markers do not matter */
	digest_of(shuffled, 5, d1, &counted);
	assert_int_equal(counted, 3);
	assert_string_equal(d0, d1);
	/* any field of any object, an object added or removed does */
	for (int field = 0; field < 4; field++) {
		memcpy(changed, base, sizeof(base));
		switch (field) {
		case 0: changed[1].etag = S("\"2b\""); break;
		case 1: changed[1].size = 21; break;
		case 2: changed[1].key = S("d/b2.csv"); break;
		case 3: changed[2].key = S("d/c.csv/"); break;    /* now a marker: gone */
		}
		digest_of(changed, 3, d2, NULL);
		if (!strcmp(d0, d2))
			fail_msg("change %d not seen", field);
	}
	digest_of(base, 2, d2, NULL);
	assert_string_not_equal(d0, d2);
	/* records cannot run into each other: key "ab" etag "c" != key "a" etag "bc" */
	{
		struct s3_list_entry x = E("ab", "c", 1), y = E("a", "bc", 1);

		digest_of(&x, 1, d1, NULL);
		digest_of(&y, 1, d2, NULL);
		assert_string_not_equal(d1, d2);
	}
	/* the empty listing has a digest: SHA-256 of nothing */
	digest_of(NULL, 0, d1, &counted);
	assert_int_equal(counted, 0);
	assert_string_equal(d1 + 7, S3_EMPTY_PAYLOAD_SHA256);
}

struct list_result {
	int calls;
	enum s3_error error;
	char digest[S3_DIGEST_LEN + 1];
	size_t n;
	unsigned pages;
	char message[512];
};

static void on_list_done(const struct s3_list_result *res, void *userdata)
{
	struct list_result *r = userdata;

	r->calls++;
	r->error = res->error;
	r->n = res->n_objects;
	r->pages = res->pages;
	snprintf(r->digest, sizeof(r->digest), "%s", res->digest ? res->digest : "");
	snprintf(r->message, sizeof(r->message), "%s", res->message ? res->message : "");
	if (res->error == S3_ERR_NONE)
		assert_null(res->message);
	else
		assert_null(res->digest);
}

static void list(struct fixture *f, const char *uri, struct list_result *r)
{
	assert_int_equal(s3_list_folder(f->s3, uri, on_list_done, r, NULL), 0);
	assert_int_equal(r->calls, 0);
	call_fixture_run_until(&f->cf, &r->calls, 1);
	assert_int_equal(r->calls, 1);
	assert_int_equal(aws_engine_in_flight(f->s3->engine), 0);
}

#define PAGE1 LIST_HEAD LIST_OBJ("d/a.csv", "1", "10") LIST_OBJ("d/", "m", "0") \
	"<IsTruncated>true</IsTruncated><NextContinuationToken>T+1/=</NextContinuationToken>" \
	"</ListBucketResult>"
#define PAGE2 LIST_HEAD LIST_OBJ("d/b.csv", "2", "20") \
	"<IsTruncated>false</IsTruncated></ListBucketResult>"
#define XML_CT "Content-Type: application/xml\r\nx-amz-request-id: L1\r\n"

/* Two pages (a SlowDown between them retried), then the digest. */
static void test_list_pages(void **state)
{
	static const struct lb_action acts[] = {
		{ LB_REPLY, 200, XML_CT, PAGE1 },
		{ LB_REPLY, 503, XML_CT, "<Error><Code>SlowDown</Code><Message>m</Message></Error>" },
		{ LB_REPLY, 200, XML_CT, PAGE2 },
	};
	struct s3_list_entry all[] = { E("d/a.csv", "\"1\"", 10), E("d/b.csv", "\"2\"", 20) };
	char want[S3_DIGEST_LEN + 1];
	struct fixture *f = *state;
	struct list_result r;
	char *log;

	memset(&r, 0, sizeof(r));
	start(f, acts, ARRAY_SIZE(acts));
	list(f, "s3://bkt/d/", &r);
	assert_int_equal(r.error, S3_ERR_NONE);
	assert_int_equal(r.pages, 2);
	assert_int_equal(r.n, 2);
	digest_of(all, 2, want, NULL);
	assert_string_equal(r.digest, want);
	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	assert_non_null(strstr(log, "GET /bkt?list-type=2&max-keys=300&prefix=d%2F HTTP/1.1\r\n"));
	assert_non_null(strstr(log, "GET /bkt?continuation-token=T%2B1%2F%3D&list-type=2"
			       "&max-keys=300&prefix=d%2F HTTP/1.1\r\n"));
	assert_non_null(strcasestr(log, "\r\nx-amz-content-sha256: "
				   S3_EMPTY_PAYLOAD_SHA256 "\r\n"));
	free(log);
	assert_string_equal(f->cf.last_op, "ListObjectsV2");
}

static void test_list_errors(void **state)
{
	static const struct {
		const char *name;
		struct lb_action acts[2];
		size_t n;
		enum s3_error want;
		const char *message_part;
	} cases[] = {
		{ "access denied", { { LB_REPLY, 403, XML_CT,
		  "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>" } }, 1,
		  S3_ERR_ACCESS_DENIED, "s3:ListBucket on arn:aws:s3:::bkt for the prefix \"d/\"" },
		{ "no such bucket", { { LB_REPLY, 404, XML_CT,
		  "<Error><Code>NoSuchBucket</Code></Error>" } }, 1, S3_ERR_NOT_FOUND, "no such bucket" },
		{ "malformed", { { LB_REPLY, 200, XML_CT, "<ListBucketResult><Contents><Key>k"
		  "</Key></Contents></ListBucketResult>" } }, 1, S3_ERR_MALFORMED_REPLY,
		  "a Contents without Key, ETag or a valid Size" },
		{ "token repeats", { { LB_REPLY, 200, XML_CT, PAGE1 } }, 1,
		  S3_ERR_MALFORMED_REPLY, "the continuation token does not advance" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture *f = *state;
		struct list_result r;

		memset(&r, 0, sizeof(r));
		start(f, cases[i].acts, cases[i].n);
		list(f, "s3://bkt/d/", &r);
		if (r.error != cases[i].want || !strstr(r.message, cases[i].message_part))
			fail_msg("%s: %s (%s)", cases[i].name, s3_error_name(r.error), r.message);
		f->s3 = s3_client_free(f->s3);
		lb_stop(&f->cf.lb);
	}
}

static void test_list_bad_arguments_and_cancel(void **state)
{
	static const struct lb_action acts[] = { { LB_STALL, 0, NULL, NULL } };
	struct fixture *f = *state;
	struct list_result r;
	struct s3_list *l = NULL;

	memset(&r, 0, sizeof(r));
	start(f, acts, 1);
	assert_int_equal(s3_list_folder(f->s3, "s3://bkt/a.csv", on_list_done, &r, NULL), -ENOTDIR);
	assert_int_equal(s3_list_folder(f->s3, "nope", on_list_done, &r, NULL), -EINVAL);
	assert_int_equal(s3_list_folder(f->s3, "s3://bkt/d/", on_list_done, &r, &l), 0);
	assert_non_null(l);
	s3_list_cancel(l);
	assert_int_equal(aws_engine_in_flight(f->s3->engine), 0);
	/* one left in flight is freed with the client */
	assert_int_equal(s3_list_folder(f->s3, "s3://bkt/d/", on_list_done, &r, NULL), 0);
	f->s3 = s3_client_free(f->s3);
	assert_int_equal(r.calls, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uri),
		cmocka_unit_test(test_encode_key),
		cmocka_unit_test(test_virtual_host_ok),
		cmocka_unit_test(test_resolve_target),
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_fips_dualstack),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_parse_meta),
		cmocka_unit_test_setup_teardown(test_scenarios, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_skew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_attempts_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test(test_parse_folder_uri),
		cmocka_unit_test(test_list_query),
		cmocka_unit_test(test_list_parse_page),
		cmocka_unit_test(test_list_full_page),
		cmocka_unit_test(test_listing_digest),
		cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_bad_arguments_and_cancel, setup, teardown),
	};

	if (argc >= 6 && !strcmp(argv[1], "--probe"))
		return probe_main(argc, argv);
	log_init(LOG_TARGET_STDERR, LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
