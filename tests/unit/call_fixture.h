/* call_fixture.h - what the tests of the call engine and its protocol
 * adapters (test_aws_engine.c, test_aws.c, test_s3.c, test_sts.c,
 * test_events.c) share: an event loop and HTTP client, static test
 * credentials, a run-until with a failsafe, deterministic retry hooks (rng
 * 0.5, a settable clock, tiny backoff) put into a client's retry state,
 * and the metrics hook's record. call_fixture.c is linked into every unit
 * test; the suites over aws.c's client (test_adopt.c, test_personalize.c,
 * test_aws_secrets.c) set their hooks with it too. */
#ifndef PR_TEST_CALL_FIXTURE_H
#define PR_TEST_CALL_FIXTURE_H

#include <stdbool.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "aws-internal.h"
#include "http.h"

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
};

/* 0, or -1 when the loop or the HTTP client cannot be made. */
int call_fixture_setup(struct call_fixture *f);
void call_fixture_teardown(struct call_fixture *f);
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
/* An aws_metrics_fn recording into the fixture (userdata = f). */
void call_fixture_on_metrics(const struct aws_call_metrics *m,
			     void *userdata);

#endif
