/* test_http.c - the curl-on-sd-event transport against a scripted loopback
 * server: replies, headers, resets, empty replies, stalls (timeouts),
 * truncation, refused connections, size limits, cancellation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <unistd.h>

#include "call_fixture.h"
#include "http.h"
#include "loopback.h"

struct result {
	int calls;
	enum http_error error;
	long status;
	char body[256];
	char request_id[64];
	char content_type[64];
	char custom[64];
	bool had_date;
};

static void on_done(const struct http_response *resp, void *userdata)
{
	struct result *r = userdata;
	const char *v;

	r->calls++;
	r->error = resp->error;
	r->status = resp->status;
	assert_non_null(resp->body);
	assert_non_null(resp->error_text);
	snprintf(r->body, sizeof(r->body), "%s", resp->body);
	snprintf(r->request_id, sizeof(r->request_id), "%s",
		 resp->request_id ? resp->request_id : "");
	snprintf(r->content_type, sizeof(r->content_type), "%s",
		 resp->content_type ? resp->content_type : "");
	v = http_response_header(resp, "x-custom");
	snprintf(r->custom, sizeof(r->custom), "%s", v ? v : "");
	r->had_date = resp->date != NULL;
}

/* The loop, the client and the server of call_fixture.h. */
struct fixture {
	struct call_fixture cf;
};

static int setup(void **state)
{
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	return call_fixture_delete(&f->cf);
}

static void start_server(struct fixture *f, const struct lb_action *a,
			 size_t n)
{
	call_fixture_serve(&f->cf, a, n, "/");
}

static void request(struct fixture *f, const char *method, const char *body,
		    uint32_t total_ms, size_t max, struct result *r)
{
	const struct http_header h[] = {
		{ "X-Test", "yes" }, { "Content-Type", "text/plain" },
		{ "X-Empty", "" },
	};
	struct http_request_spec spec = {
		.method = method, .url = f->cf.url, .headers = h, .n_headers = 3,
		.body = body, .body_len = body ? strlen(body) : 0,
		.connect_timeout_ms = 2000, .total_timeout_ms = total_ms,
		.max_response_bytes = max,
	};

	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, r, NULL),
			 0);
	/* never called back from inside start */
	assert_int_equal(r->calls, 0);
}

static void test_reply_and_headers(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = {
		{ LB_REPLY, 200,
		  "Content-Type: application/x-amz-json-1.1\r\n"
		  "x-amzn-RequestId: req-1\r\nX-Custom:  spaced value  \r\n"
		  "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n", "{\"a\":1}" },
		{ LB_REPLY, 404, "x-amzn-RequestId: req-2\r\n", "nope" },
	};
	struct result r1 = { 0 }, r2 = { 0 };
	char *log;

	start_server(f, acts, 2);
	request(f, "POST", "hello body", 0, 0, &r1);
	call_fixture_run_until(&f->cf, &r1.calls, 1);
	assert_int_equal(r1.error, HTTP_OK);
	assert_int_equal(r1.status, 200);
	assert_string_equal(r1.body, "{\"a\":1}");
	assert_string_equal(r1.request_id, "req-1");
	assert_string_equal(r1.content_type, "application/x-amz-json-1.1");
	assert_string_equal(r1.custom, "spaced value");
	assert_true(r1.had_date);

	request(f, "GET", NULL, 0, 0, &r2);
	call_fixture_run_until(&f->cf, &r2.calls, 1);
	assert_int_equal(r2.error, HTTP_OK);
	assert_int_equal(r2.status, 404);
	assert_string_equal(r2.body, "nope");
	assert_string_equal(r2.request_id, "req-2");
	assert_string_equal(r2.custom, "");

	log = lb_log(&f->cf.lb);
	assert_non_null(log);
	assert_non_null(strstr(log, "POST / HTTP/1.1\r\n"));
	assert_non_null(strstr(log, "X-Test: yes\r\n"));
	assert_non_null(strstr(log, "X-Empty:\r\n"));
	assert_non_null(strstr(log, "Content-Type: text/plain\r\n"));
	assert_non_null(strstr(log, "\r\n\r\nhello body"));
	assert_null(strstr(log, "Expect:"));
	assert_null(strstr(log, "x-www-form-urlencoded"));
	assert_non_null(strstr(log, "GET / HTTP/1.1\r\n"));
	free(log);
	assert_int_equal(lb_requests(&f->cf.lb), 2);
	assert_int_equal(http_client_in_flight(f->cf.http), 0);
}

static void test_put_empty_body(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = { { LB_REPLY, 200, NULL, "token" } };
	struct result r = { 0 };
	char *log;

	start_server(f, acts, 1);
	request(f, "PUT", NULL, 0, 0, &r);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	assert_int_equal(r.error, HTTP_OK);
	assert_string_equal(r.body, "token");
	log = lb_log(&f->cf.lb);
	assert_non_null(strstr(log, "PUT / HTTP/1.1\r\n"));
	assert_non_null(strstr(log, "Content-Length: 0\r\n"));
	free(log);
}

struct failure_case {
	const char *name;
	enum lb_kind kind;
	uint32_t total_ms;
	size_t max;
	enum http_error want;
};

static void test_failures(void **state)
{
	static const struct failure_case cases[] = {
		{ "reset", LB_RESET, 0, 0, HTTP_ERR_RESET },
		{ "empty reply", LB_CLOSE, 0, 0, HTTP_ERR_RESET },
		{ "truncated", LB_TRUNCATE, 0, 0, HTTP_ERR_RESET },
		{ "stall", LB_STALL, 500, 0, HTTP_ERR_TIMEOUT },
		{ "too large", LB_REPLY, 0, 4, HTTP_ERR_TOO_LARGE },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lb_action act = { cases[i].kind, 200, NULL,
					       "0123456789" };
		struct result r = { 0 };

		start_server(f, &act, 1);
		request(f, "POST", "{}", cases[i].total_ms, cases[i].max, &r);
		call_fixture_run_until(&f->cf, &r.calls, 1);
		if (r.error != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].name,
				 http_error_name(r.error),
				 http_error_name(cases[i].want));
		assert_int_equal(r.status, 0);
		assert_string_equal(r.body, "");
		lb_stop(&f->cf.lb);
	}
}

/* curl's timer stays armed for a deadline of a request that has ended;
 * a later request's deadline is not earlier, so the timer is not moved.
 * It fires before the stalled request's deadline, and the timer must then
 * be armed again for that deadline (curl reports it again after a
 * premature timeout, which http.c relies on), or the request would never
 * time out. */
static void test_timer_rearmed_after_early_fire(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = {
		{ LB_REPLY, 200, NULL, "ok" }, { LB_STALL, 200, NULL, "" },
	};
	struct http_request_spec spec = {
		.method = "GET", .connect_timeout_ms = 2000,
		.total_timeout_ms = 1500,
	};
	struct result a = { 0 }, b = { 0 };

	start_server(f, acts, 2);
	spec.url = f->cf.url;
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &a,
					    NULL), 0);
	call_fixture_run_until(&f->cf, &a.calls, 1);
	assert_int_equal(a.error, HTTP_OK);
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &b,
					    NULL), 0);
	call_fixture_run_until(&f->cf, &b.calls, 1);
	assert_int_equal(b.error, HTTP_ERR_TIMEOUT);
	lb_stop(&f->cf.lb);
}

/* Headers are kept as they come, the array growing on demand: one at
 * position 40 is found; past HTTP_MAX_RESPONSE_HEADERS the rest are
 * dropped, the response still arrives. */
static void test_many_headers(void **state)
{
	struct fixture *f = *state;
	static char h40[4096], h70[4096];
	const struct lb_action acts[] = {
		{ LB_REPLY, 200, h40, "a" }, { LB_REPLY, 200, h70, "b" },
	};
	struct result a = { 0 }, b = { 0 };
	size_t i, n40 = 0, n70 = 0;

	for (i = 0; i < 70; i++) {
		n40 += (size_t)snprintf(h40 + n40, sizeof(h40) - n40,
					i == 40 ? "X-Custom: forty\r\n" :
					"X-H%zu: %zu\r\n", i, i);
		n70 += (size_t)snprintf(h70 + n70, sizeof(h70) - n70,
					"X-H%zu: %zu\r\n", i, i);
	}
	snprintf(h70 + n70, sizeof(h70) - n70, "X-Custom: seventy\r\n");
	start_server(f, acts, 2);
	request(f, "GET", NULL, 5000, 0, &a);
	call_fixture_run_until(&f->cf, &a.calls, 1);
	assert_int_equal(a.error, HTTP_OK);
	assert_string_equal(a.body, "a");
	assert_string_equal(a.custom, "forty");
	request(f, "GET", NULL, 5000, 0, &b);
	call_fixture_run_until(&f->cf, &b.calls, 1);
	assert_int_equal(b.error, HTTP_OK);
	assert_string_equal(b.body, "b");
	assert_string_equal(b.custom, "");  /* header 71: dropped */
	lb_stop(&f->cf.lb);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct result r = { 0 };
	int fd;

	/* a port nobody listens on: bind, learn it, close */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(f->cf.url, sizeof(f->cf.url), "http://127.0.0.1:%d/",
		 ntohs(sa.sin_port));
	request(f, "GET", NULL, 0, 0, &r);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	assert_int_equal(r.error, HTTP_ERR_CONNECT);
}

/* AWS_CA_BUNDLE is honoured: an unreadable bundle fails the handshake. */
static void test_ca_bundle(void **state)
{
	struct fixture *f = *state;
	const struct lb_action act = { LB_CLOSE, 0, NULL, NULL };
	struct http_client *other = NULL;
	struct http_request_spec spec = { .method = "GET" };
	struct result r = { 0 };

	start_server(f, &act, 1);
	snprintf(f->cf.url, sizeof(f->cf.url), "https://127.0.0.1:%d/", f->cf.lb.port);
	setenv("AWS_CA_BUNDLE", "/nonexistent/ca-bundle.pem", 1);
	assert_int_equal(http_client_new(f->cf.event, &other), 0);
	unsetenv("AWS_CA_BUNDLE");
	spec.url = f->cf.url;
	spec.total_timeout_ms = 5000;
	assert_int_equal(http_request_start(other, &spec, on_done, &r, NULL), 0);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	if (r.error != HTTP_ERR_TLS)
		fail_msg("got %s, want tls", http_error_name(r.error));
	http_client_free(other);
}

/* libcurl's proxy variables are honoured (never disabled by us). */
static void test_proxy_env(void **state)
{
	struct fixture *f = *state;
	const struct lb_action act = { LB_REPLY, 200, NULL, "via proxy" };
	struct http_request_spec spec = {
		.method = "GET", .url = "http://personalize.example.invalid/x",
	};
	struct result r = { 0 };
	char proxy[64];
	char *log;

	start_server(f, &act, 1);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", f->cf.lb.port);
	setenv("http_proxy", proxy, 1);
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL), 0);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	unsetenv("http_proxy");
	assert_int_equal(r.error, HTTP_OK);
	assert_string_equal(r.body, "via proxy");
	log = lb_log(&f->cf.lb);
	assert_non_null(strstr(log, "GET http://personalize.example.invalid/x HTTP/1.1\r\n"));
	free(log);
}

/* no_proxy: straight to the server, whatever the proxy variables say;
 * HTTP_PROXY (upper case) is honoured for http:// as the SDKs do. */
static void test_no_proxy(void **state)
{
	struct fixture *f = *state;
	const struct lb_action act = { LB_REPLY, 200, NULL, "direct" };
	struct http_request_spec spec = { .method = "GET" };
	struct result r = { 0 };
	char proxy[64], url[96];
	char *log;

	start_server(f, &act, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/latest/api", f->cf.lb.port);
	spec.url = url;
	/* a proxy that refuses connections: going there fails */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	spec.no_proxy = true;
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL), 0);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	assert_int_equal(r.error, HTTP_OK);
	assert_string_equal(r.body, "direct");
	memset(&r, 0, sizeof(r));
	spec.no_proxy = false;
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL), 0);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	assert_int_equal(r.error, HTTP_ERR_CONNECT);
	/* HTTP_PROXY alone: used for http:// */
	unsetenv("http_proxy");
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", f->cf.lb.port);
	setenv("HTTP_PROXY", proxy, 1);
	memset(&r, 0, sizeof(r));
	spec.url = "http://personalize.example.invalid/y";
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL), 0);
	call_fixture_run_until(&f->cf, &r.calls, 1);
	unsetenv("HTTP_PROXY");
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	assert_int_equal(r.error, HTTP_OK);
	log = lb_log(&f->cf.lb);
	assert_non_null(strstr(log, "GET /latest/api HTTP/1.1\r\n"));
	assert_non_null(strstr(log, "GET http://personalize.example.invalid/y HTTP/1.1\r\n"));
	free(log);
}

static void test_bad_specs(void **state)
{
	struct fixture *f = *state;
	const struct http_header bad_name[] = { { "X-A:b", "v" } };
	const struct http_header bad_value[] = { { "X-A", "v\r\nX-B: c" } };
	struct http_request_spec spec = { .method = "GET",
					  .url = "ftp://127.0.0.1/" };
	struct result r = { 0 };

	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL),
			 -EINVAL);
	spec.url = "file:///etc/passwd";
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL),
			 -EINVAL);
	spec.url = "http://127.0.0.1:1/";
	spec.method = "BREW";
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL),
			 -EINVAL);
	spec.method = "GET";
	spec.headers = bad_name;
	spec.n_headers = 1;
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL),
			 -EINVAL);
	spec.headers = bad_value;
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL),
			 -EINVAL);
	spec.headers = NULL;
	spec.n_headers = 0;
	spec.method = NULL;
	assert_int_equal(http_request_start(f->cf.http, &spec, on_done, &r, NULL),
			 -EINVAL);
	assert_int_equal(http_client_in_flight(f->cf.http), 0);
	assert_int_equal(r.calls, 0);
	assert_string_equal(http_error_name(HTTP_ERR_DNS), "dns");
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	const struct lb_action acts[] = {
		{ LB_STALL, 0, NULL, NULL },
		{ LB_REPLY, 200, NULL, "second" },
	};
	const struct http_request_spec spec = { .method = "GET", .url = NULL };
	struct http_request_spec s = spec;
	struct result r1 = { 0 }, r2 = { 0 };
	struct http_request *req = NULL;
	int i;

	start_server(f, acts, 2);
	s.url = f->cf.url;
	assert_int_equal(http_request_start(f->cf.http, &s, on_done, &r1, &req), 0);
	assert_non_null(req);
	assert_int_equal(http_client_in_flight(f->cf.http), 1);
	/* let it reach the server, then cancel it */
	for (i = 0; i < 1000 && lb_requests(&f->cf.lb) < 1; i++)
		assert_true(sd_event_run(f->cf.event, 10000) >= 0);
	assert_int_equal(lb_requests(&f->cf.lb), 1);
	http_request_cancel(req);
	assert_int_equal(http_client_in_flight(f->cf.http), 0);
	/* the server moves on once the cancelled connection closes */
	assert_int_equal(http_request_start(f->cf.http, &s, on_done, &r2, NULL), 0);
	call_fixture_run_until(&f->cf, &r2.calls, 1);
	assert_int_equal(r1.calls, 0);
	assert_string_equal(r2.body, "second");
	/* freeing the client with a request in flight: no callback */
	assert_int_equal(http_request_start(f->cf.http, &s, on_done, &r1, NULL), 0);
	f->cf.http = http_client_free(f->cf.http);
	assert_int_equal(r1.calls, 0);
	/* nothing of the client is left on the loop (ASan would see it) */
	for (i = 0; i < 5; i++)
		assert_true(sd_event_run(f->cf.event, 1000) >= 0);
	assert_int_equal(r1.calls, 0);
}

/* Several requests in parallel on one loop. */
static void test_parallel(void **state)
{
	struct fixture *f = *state;
	const struct lb_action act = { LB_REPLY, 200, NULL, "ok" };
	struct result r[5];
	int done = 0, i;

	memset(r, 0, sizeof(r));
	start_server(f, &act, 1);
	for (i = 0; i < 5; i++)
		request(f, "POST", "x", 0, 0, &r[i]);
	while (done < 5) {
		assert_true(sd_event_run(f->cf.event, 5000000) >= 0);
		for (done = 0, i = 0; i < 5; i++)
			done += r[i].calls;
	}
	for (i = 0; i < 5; i++) {
		assert_int_equal(r[i].error, HTTP_OK);
		assert_string_equal(r[i].body, "ok");
	}
	assert_int_equal(lb_requests(&f->cf.lb), 5);
}

/* Sockets this process holds open (the loopback server is another one). */
static int open_sockets(void)
{
	char path[64], target[64];
	int fd, n = 0;
	ssize_t k;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		k = readlink(path, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (!strncmp(target, "socket:", 7))
			n++;
	}
	return n;
}

/* Between runs the daemon releases what the client keeps for reuse: the
 * kept-alive connection is closed, and the next request sets up again; a
 * request in flight is left alone. */
static void test_release_idle(void **state)
{
	struct fixture *f = *state;
	const struct lb_action act = { LB_REPLY, 200, NULL, "ok" };
	struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	int before;

	start_server(f, &act, 1);
	before = open_sockets();
	request(f, "POST", "x", 0, 0, &r1);
	call_fixture_run_until(&f->cf, &r1.calls, 1);
	assert_int_equal(r1.error, HTTP_OK);
	assert_int_equal(open_sockets(), before + 1);  /* kept alive */

	assert_true(http_client_release_idle(f->cf.http));
	assert_int_equal(open_sockets(), before);

	request(f, "POST", "y", 0, 0, &r2);
	assert_false(http_client_release_idle(f->cf.http));  /* in flight: kept */
	call_fixture_run_until(&f->cf, &r2.calls, 1);
	assert_int_equal(r2.error, HTTP_OK);
	assert_string_equal(r2.body, "ok");

	assert_true(http_client_release_idle(f->cf.http));
	assert_true(http_client_release_idle(f->cf.http));  /* twice: nothing left */
	request(f, "GET", NULL, 0, 0, &r3);
	call_fixture_run_until(&f->cf, &r3.calls, 1);
	assert_int_equal(r3.error, HTTP_OK);
	assert_int_equal(lb_requests(&f->cf.lb), 3);
	assert_true(http_client_release_idle(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reply_and_headers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_put_empty_body, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_headers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_rearmed_after_early_fire,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_bundle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_proxy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_idle, setup,
						teardown),
	};

	/* loopback only: a proxy from the environment must not interfere */
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("https_proxy");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
