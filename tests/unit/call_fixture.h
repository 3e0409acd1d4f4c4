/* call_fixture.h - what the tests of the call engine, its protocol
 * adapters and the modules over them (test_aws_engine.c, test_aws.c,
 * test_s3.c, test_sts.c, test_events.c, test_personalize.c, test_adopt.c,
 * test_aws_secrets.c) and of the HTTP client below them (test_http.c)
 * share: an event loop and HTTP client, static test
 * credentials, the scripted loopback server, a run-until with a failsafe,
 * deterministic retry hooks (rng 0.5 or 0, a settable clock, tiny backoff)
 * put into a client's retry state, the metrics hook's record, the
 * vendored service models and the process environment. call_fixture.c is
 * linked into every unit test. */
#ifndef PR_TEST_CALL_FIXTURE_H
#define PR_TEST_CALL_FIXTURE_H

#include <stdbool.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "aws.h"
#include "aws-internal.h"
#include "http.h"
#include "loopback.h"

#define CALL_FIXTURE_FAILSAFE_USEC (20ULL * 1000000ULL)

extern const struct sigv4_credentials call_fixture_creds;

struct call_fixture {
	sd_event *event;
	struct http_client *http;
	struct aws_creds_provider creds;  /* static call_fixture_creds */
	char url[128];                    /* the loopback server's */
	time_t fake_now;                  /* 0: the real clock */
	int metrics_calls;
	struct aws_call_metrics last_metrics; /* code NULL; operation ... */
	char last_op[64];                     /* ... points here */
	struct loopback lb;               /* call_fixture_serve()'s server */
};

/* The environment of a suite's process: no proxy for 127.0.0.1, no
 * AWS_MAX_ATTEMPTS, and with service_id (e.g. "STS") neither
 * AWS_ENDPOINT_URL nor AWS_ENDPOINT_URL_<service_id>. */
void call_fixture_environment(const char *service_id);
/* 0, or -1 when the loop or the HTTP client cannot be made. */
int call_fixture_setup(struct call_fixture *f);
/* Stop the server, free the HTTP client and the loop. */
void call_fixture_teardown(struct call_fixture *f);
/* A suite's cmocka setup: its fixture, size bytes whose first member is a
 * struct call_fixture, zeroed and set up into *state. 0 or -1. */
int call_fixture_new(void **state, size_t size);
/* A suite's cmocka teardown, once it has freed its client: tear down and
 * free what call_fixture_new() made. 0. */
int call_fixture_delete(struct call_fixture *f);
/* Start the loopback server with the script a[0..n) (lb_start()); f->url
 * is its "http://127.0.0.1:PORT" followed by path. */
void call_fixture_serve(struct call_fixture *f, const struct lb_action *a,
			size_t n, const char *path);
struct aws_engine;
/* A client's engine on the fixture: call_fixture_hooks() in its retry
 * state, call_fixture_on_metrics() as its metrics hook. */
void call_fixture_attach(struct call_fixture *f, struct aws_engine *e);
/* A vendored service model, DIR/service-2.json with DIR from the
 * environment variable env, else default_dir; the test is skipped when
 * the file cannot be read (run from elsewhere without env set). */
cJSON *call_fixture_model(const char *env, const char *default_dir);
/* Fail unless every members[i] = { shape, member } is in the model. */
void call_fixture_model_members(const cJSON *model,
				const char *const (*members)[2], size_t n);
/* Run the loop until *counter reaches want; fails the test after
 * CALL_FIXTURE_FAILSAFE_USEC. */
void call_fixture_run_until(struct call_fixture *f, const int *counter,
			    int want);
/* Hooks: rng 0.5, now from fake_now, backoff 2 ms doubling to 20 ms. */
void call_fixture_hooks(struct call_fixture *f, struct aws_test_hooks *h);
/* Put hooks into a client's retry state (aws_engine_retrier()): a 0
 * backoff field keeps the current one; the tokens are capped at the
 * quota's capacity. */
void call_fixture_set_hooks(struct aws_retrier *r,
			    const struct aws_test_hooks *h);
double call_fixture_half(void *userdata);
/* An rng of 0: every backoff its shortest. */
double call_fixture_zero(void *userdata);
/* An aws_metrics_fn recording into the fixture (userdata = f). */
void call_fixture_on_metrics(const struct aws_call_metrics *m,
			     void *userdata);

#endif
