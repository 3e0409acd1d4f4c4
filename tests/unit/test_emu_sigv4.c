/* test_emu_sigv4.c - the emulator's SigV4 verifier against AWS's published
 * vectors (tests/data/sigv4-test-suite from the repository root, or SIGV4_SUITE_DIR) and
 * against each way a request can be refused.
 *
 * The emulator's parts come from its own library (build/
 * libpersonalize-emulator.a: every emulator source but the HTTP front
 * end emu_main.c), which needs no libmicrohttpd. */
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

#include "../emulator/emu.h"

#define VECTOR_TIME 1440938160 /* 2015-08-30T12:36:00Z */
#define VEC_AKID "AKIDEXAMPLE"
#define VEC_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VEC_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define STS_TOKEN "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
#define MAX_KV 32

/* A parsed signed-request file; every string points into text. */
struct parsed {
	char *text;
	char method[8];
	char *path;
	struct emu_kv query[MAX_KV], headers[MAX_KV];
	size_t nq, nh;
	const char *body;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void decode_inplace(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Parse "METHOD target HTTP/1.1\nName:value\n...\n\nbody"; -1 if it uses
 * what HTTP servers do not hand over (folded header lines). */
static int parse_request(const char *path, struct parsed *p)
{
	size_t len;
	char *line, *next, *q, *sp;

	memset(p, 0, sizeof(*p));
	if (emu_read_file(path, &p->text, &len) < 0)
		return -1;
	line = p->text;
	next = strchr(line, '\n');
	if (!next)
		return -1;
	*next++ = '\0';
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(p->method))
		return -1;
	memcpy(p->method, line, (size_t)(sp - line));
	p->path = sp + 1;
	sp = strrchr(p->path, ' ');
	if (!sp)
		return -1;
	*sp = '\0';
	q = strchr(p->path, '?');
	if (q) {
		char *save = NULL, *pair;

		*q++ = '\0';
		for (pair = strtok_r(q, "&", &save); pair && p->nq < MAX_KV;
		     pair = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(pair, '=');

			if (eq)
				*eq++ = '\0';
			decode_inplace(pair);
			if (eq)
				decode_inplace(eq);
			p->query[p->nq].name = pair;
			p->query[p->nq].value = eq ? eq : "";
			p->nq++;
		}
	}
	for (line = next; line && *line && *line != '\n'; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == ' ' || *line == '\t')
			return -1;
		colon = strchr(line, ':');
		if (!colon || p->nh == MAX_KV)
			return -1;
		*colon = '\0';
		p->headers[p->nh].name = line;
		p->headers[p->nh].value = colon + 1;
		p->nh++;
	}
	p->body = next && *next == '\n' ? next + 1 : "";
	return 0;
}

static const char *suite_dir(void)
{
	const char *d = getenv("SIGV4_SUITE_DIR");

	return d ? d : "tests/data/sigv4-test-suite";
}

static struct emu_creds vector_creds(void)
{
	struct emu_creds c = { 0 };

	assert_int_equal(emu_creds_add(&c, VEC_AKID, VEC_SECRET, NULL, 0), 0);
	return c;
}

static int verify_file(const char *name, const struct emu_creds *c, int64_t now,
		       struct emu_reply *r)
{
	struct parsed p;
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s/%s/header-signed-request.txt", suite_dir(), name);
	if (parse_request(path, &p) < 0) {
		free(p.text);
		return 1;
	}
	{
		struct emu_http_req req = {
			.method = p.method, .path = p.path, .query = p.query, .nquery = p.nq,
			.headers = p.headers, .nheaders = p.nh,
			.body = p.body, .body_len = strlen(p.body),
		};
		rc = emu_sigv4_verify(&req, c, "us-east-1", "service", now, r, NULL);
	}
	free(p.text);
	return rc;
}

/* Every normalized vector verifies. The unnormalized ones are for S3-style
 * signers and the folded-header one cannot reach a server unfolded. */
static void test_vectors_verify(void **state)
{
	static const char *const names[] = {
		"get-header-key-duplicate", "get-header-value-order", "get-header-value-trim",
		"get-relative-normalized", "get-relative-relative-normalized",
		"get-slash-dot-slash-normalized", "get-slash-normalized",
		"get-slash-pointless-dot-normalized", "get-slashes-normalized",
		"get-space-normalized", "get-unreserved", "get-utf8",
		"get-vanilla-empty-query-key", "get-vanilla-query-order-encoded",
		"get-vanilla-query-order-key-case", "get-vanilla-query-unreserved",
		"get-vanilla-query", "get-vanilla-utf8-query", "get-vanilla",
		"post-header-key-case", "post-header-key-sort", "post-header-value-case",
		"post-vanilla-empty-query-value", "post-vanilla-query", "post-vanilla",
		"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters",
	};
	struct emu_creds c = vector_creds();
	char probe[512];
	size_t i;

	(void)state;
	snprintf(probe, sizeof(probe), "%s/post-vanilla/context.json", suite_dir());
	if (access(probe, R_OK) != 0) {
		emu_creds_free(&c);
		skip();
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct emu_reply r = { 0 };
		int rc = verify_file(names[i], &c, VECTOR_TIME, &r);

		if (rc != 0)
			print_error("vector %s: %d %s\n", names[i], rc, r.body ? r.body : "");
		assert_int_equal(rc, 0);
		emu_reply_clear(&r);
	}
	emu_creds_free(&c);
}

static void expect_refusal(const char *vector, const struct emu_creds *c, int64_t now,
			   int status, const char *code, const char *in_message)
{
	struct emu_reply r = { 0 };
	char probe[512];

	snprintf(probe, sizeof(probe), "%s/%s/header-signed-request.txt", suite_dir(), vector);
	if (access(probe, R_OK) != 0)
		skip();
	assert_int_equal(verify_file(vector, c, now, &r), -EACCES);
	assert_int_equal(r.status, status);
	assert_string_equal(r.error, code);
	if (in_message && !strstr(r.body, in_message))
		fail_msg("%s: \"%s\" not in %s", vector, in_message, r.body);
	emu_reply_clear(&r);
}

static void test_refusals(void **state)
{
	struct emu_creds c = vector_creds(), other = { 0 }, temp = { 0 }, sts = { 0 };

	(void)state;
	assert_int_equal(emu_creds_add(&other, VEC_AKID, "another-secret", NULL, 0), 0);
	assert_int_equal(emu_creds_add(&temp, VEC_AKID, VEC_SECRET, VEC_TOKEN, 0), 0);
	assert_int_equal(emu_creds_add(&sts, VEC_AKID, VEC_SECRET, STS_TOKEN, 0), 0);
	expect_refusal("post-vanilla", &other, VECTOR_TIME, 403, "InvalidSignatureException",
		       "The Canonical String for this request should have been");
	expect_refusal("post-vanilla", &(struct emu_creds){ 0 }, VECTOR_TIME, 403,
		       "UnrecognizedClientException",
		       "The security token included in the request is invalid.");
	expect_refusal("post-vanilla", &c, VECTOR_TIME + 301, 403, "InvalidSignatureException",
		       "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
		       "(20150830T124101Z - 5 min.)");
	expect_refusal("post-vanilla", &c, VECTOR_TIME - 301, 403, "InvalidSignatureException",
		       "Signature not yet current: 20150830T123600Z is still later than");
	/* temporary credentials: the token must come, match and be signed */
	expect_refusal("post-vanilla", &temp, VECTOR_TIME, 403, "UnrecognizedClientException", NULL);
	expect_refusal("post-sts-header-after", &sts, VECTOR_TIME, 403,
		       "IncompleteSignatureException", "X-Amz-Security-Token");
	emu_creds_free(&c);
	emu_creds_free(&other);
	emu_creds_free(&temp);
	emu_creds_free(&sts);
}

static void test_session_token_vectors(void **state)
{
	struct emu_creds temp = { 0 }, sts = { 0 };
	struct emu_reply r = { 0 };
	char probe[512];

	(void)state;
	snprintf(probe, sizeof(probe), "%s/post-sts-header-before/context.json", suite_dir());
	if (access(probe, R_OK) != 0)
		skip();
	assert_int_equal(emu_creds_add(&temp, VEC_AKID, VEC_SECRET, VEC_TOKEN, 0), 0);
	assert_int_equal(emu_creds_add(&sts, VEC_AKID, VEC_SECRET, STS_TOKEN, 0), 0);
	assert_int_equal(verify_file("get-vanilla-with-session-token", &temp, VECTOR_TIME, &r), 0);
	assert_int_equal(verify_file("post-sts-header-before", &sts, VECTOR_TIME, &r), 0);
	/* the same credentials, expired */
	sts.v[0].expires_wall_ms = (int64_t)VECTOR_TIME * 1000 - 1;
	assert_int_equal(verify_file("post-sts-header-before", &sts, VECTOR_TIME, &r), -EACCES);
	assert_string_equal(r.error, "ExpiredTokenException");
	emu_reply_clear(&r);
	emu_creds_free(&temp);
	emu_creds_free(&sts);
}

static void test_malformed_authorization(void **state)
{
	static const struct {
		const char *auth;
		const char *date;
		int status;
		const char *code;
	} cases[] = {
		{ NULL, "20150830T123600Z", 403, "MissingAuthenticationTokenException" },
		{ "AWS4-HMAC-SHA1 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00",
		  "20150830T123600Z", 403, "IncompleteSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, "
		  "SignedHeaders=host;x-amz-date, Signature=00", "20150830T123600Z", 403,
		  "IncompleteSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		  "Signature=00", "20150830T123600Z", 403, "IncompleteSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		  "SignedHeaders=x-amz-date, Signature=00", "20150830T123600Z", 403,
		  "IncompleteSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=00", "yesterday", 403,
		  "IncompleteSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=00", "20150830T123600Z", 403,
		  "InvalidSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=00", "20150830T123600Z", 403,
		  "InvalidSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=00", "20150830T123600Z", 403,
		  "InvalidSignatureException" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=00", "20150830T123600Z", 403,
		  "InvalidSignatureException" },
	};
	struct emu_creds c = vector_creds();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_kv h[3] = {
			{ "Host", "example.amazonaws.com" },
			{ "X-Amz-Date", cases[i].date },
			{ "Authorization", cases[i].auth },
		};
		struct emu_http_req req = {
			.method = "POST", .path = "/", .headers = h,
			.nheaders = cases[i].auth ? 3 : 2,
		};
		struct emu_reply r = { 0 };
		char *akid = NULL;

		assert_int_equal(emu_sigv4_verify(&req, &c, "us-east-1", "service", VECTOR_TIME,
						  &r, &akid), -EACCES);
		if (r.status != cases[i].status || strcmp(r.error, cases[i].code))
			fail_msg("case %zu: %d %s", i, r.status, r.body);
		assert_non_null(r.body);
		free(akid);
		emu_reply_clear(&r);
	}
	emu_creds_free(&c);
}

static void test_creds_spec_and_prune(void **state)
{
	struct emu_creds c = { 0 };
	const struct emu_cred *e;

	(void)state;
	assert_int_equal(emu_creds_add_spec(&c, "AKID1:secret1"), 0);
	assert_int_equal(emu_creds_add_spec(&c, "AKID2:secret2:token2"), 0);
	assert_int_equal(emu_creds_add_spec(&c, "no-secret"), -EINVAL);
	assert_int_equal(emu_creds_add_spec(&c, ":secret"), -EINVAL);
	assert_int_equal(emu_creds_add_spec(&c, "AKID3:"), -EINVAL);
	assert_null(emu_creds_find(&c, "AKID3"));
	e = emu_creds_find(&c, "AKID1");
	if (!e) {
		fail();
		return;
	}
	assert_string_equal(e->secret, "secret1");
	assert_null(e->token);
	e = emu_creds_find(&c, "AKID2");
	if (!e) {
		fail();
		return;
	}
	assert_string_equal(e->token, "token2");
	assert_int_equal(emu_creds_add(&c, "ASIATEMP", "s", "t", 1000), 0);
	emu_creds_prune(&c, 1500, 1000);
	assert_non_null(emu_creds_find(&c, "ASIATEMP"));
	emu_creds_prune(&c, 2001, 1000);
	assert_null(emu_creds_find(&c, "ASIATEMP"));
	assert_non_null(emu_creds_find(&c, "AKID1"));
	emu_creds_free(&c);
	emu_creds_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_verify),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_session_token_vectors),
		cmocka_unit_test(test_malformed_authorization),
		cmocka_unit_test(test_creds_spec_and_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
