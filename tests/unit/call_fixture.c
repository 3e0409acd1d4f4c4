/* call_fixture.c - see call_fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "call_fixture.h"

const struct sigv4_credentials call_fixture_creds = {
	.access_key_id = "AKIDEXAMPLE",
	.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	.session_token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
};

int call_fixture_setup(struct call_fixture *f)
{
	memset(f, 0, sizeof(*f));
	if (sd_event_new(&f->event) < 0 ||
	    http_client_new(f->event, &f->http) < 0)
		return -1;
	aws_creds_provider_static(&f->creds, &call_fixture_creds);
	return 0;
}

void call_fixture_teardown(struct call_fixture *f)
{
	http_client_free(f->http);
	sd_event_unref(f->event);
	f->http = NULL;
	f->event = NULL;
}

static int on_failsafe(sd_event_source *s, uint64_t usec, void *userdata)
{
	bool *hit = userdata;

	(void)s;
	(void)usec;
	*hit = true;
	return 0;
}

void call_fixture_run_until(struct call_fixture *f, const int *counter,
			    int want)
{
	sd_event_source *fs = NULL;
	bool hit = false;

	assert_int_equal(sd_event_add_time_relative(f->event, &fs,
						    CLOCK_MONOTONIC,
						    CALL_FIXTURE_FAILSAFE_USEC,
						    0, on_failsafe, &hit), 0);
	while (*counter < want && !hit)
		assert_true(sd_event_run(f->event, UINT64_MAX) >= 0);
	sd_event_source_disable_unref(fs);
	assert_false(hit);
}

double call_fixture_half(void *userdata)
{
	(void)userdata;
	return 0.5;
}

static time_t fixture_now(void *userdata)
{
	struct call_fixture *f = userdata;

	return f->fake_now ? f->fake_now : time(NULL);
}

void call_fixture_hooks(struct call_fixture *f, struct aws_test_hooks *h)
{
	*h = (struct aws_test_hooks){
		.rng = call_fixture_half, .now = fixture_now, .userdata = f,
		.backoff_base_ms = 2, .backoff_max_ms = 20,
	};
}

void call_fixture_set_hooks(struct aws_retrier *r,
			    const struct aws_test_hooks *h)
{
	r->hooks.rng = h->rng;
	r->hooks.now = h->now;
	r->hooks.userdata = h->userdata;
	if (h->backoff_base_ms)
		r->hooks.backoff_base_ms = h->backoff_base_ms;
	if (h->backoff_max_ms)
		r->hooks.backoff_max_ms = h->backoff_max_ms;
	if (h->set_retry_tokens)
		r->quota.tokens = h->retry_tokens < r->quota.capacity ?
				  h->retry_tokens : r->quota.capacity;
}

void call_fixture_on_metrics(const struct aws_call_metrics *m, void *userdata)
{
	struct call_fixture *f = userdata;

	f->metrics_calls++;
	f->last_metrics = *m;
	f->last_metrics.code = NULL;
	snprintf(f->last_op, sizeof(f->last_op), "%s", m->operation);
	f->last_metrics.operation = f->last_op;
}
