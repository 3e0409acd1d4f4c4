/* call_fixture.c - see call_fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-engine.h"
#include "call_fixture.h"

const struct sigv4_credentials call_fixture_creds = {
	.access_key_id = "AKIDEXAMPLE",
	.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	.session_token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
};

void call_fixture_environment(const char *service_id)
{
	char name[64];

	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	if (service_id) {
		unsetenv("AWS_ENDPOINT_URL");
		snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", service_id);
		unsetenv(name);
	}
	unsetenv("AWS_MAX_ATTEMPTS");
}

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
	lb_stop(&f->lb);
	http_client_free(f->http);
	sd_event_unref(f->event);
	f->http = NULL;
	f->event = NULL;
}

int call_fixture_new(void **state, size_t size)
{
	struct call_fixture *f = calloc(1, size);

	if (!f || call_fixture_setup(f) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int call_fixture_delete(struct call_fixture *f)
{
	call_fixture_teardown(f);
	free(f);
	return 0;
}

void call_fixture_serve(struct call_fixture *f, const struct lb_action *a,
			size_t n, const char *path)
{
	assert_int_equal(lb_start(&f->lb, a, n), 0);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", f->lb.port,
		 path);
}

void call_fixture_attach(struct call_fixture *f, struct aws_engine *e)
{
	struct aws_test_hooks hooks;

	call_fixture_hooks(f, &hooks);
	call_fixture_set_hooks(aws_engine_retrier(e), &hooks);
	aws_engine_set_metrics_hook(e, call_fixture_on_metrics, f);
}

cJSON *call_fixture_model(const char *env, const char *default_dir)
{
	const char *dir = getenv(env);
	char path[512], *text;
	cJSON *model;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/service-2.json",
		 dir ? dir : default_dir);
	fp = fopen(path, "r");
	if (!fp)
		skip();
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	text[n] = '\0';
	fclose(fp);
	model = cJSON_Parse(text);
	free(text);
	assert_non_null(model);
	return model;
}

void call_fixture_model_members(const cJSON *model,
				const char *const (*members)[2], size_t n)
{
	const cJSON *shapes = cJSON_GetObjectItem(model, "shapes"), *s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = cJSON_GetObjectItem(cJSON_GetObjectItem(shapes,
							    members[i][0]),
					"members");
		if (!cJSON_GetObjectItem(s, members[i][1]))
			fail_msg("%s.%s not in the model", members[i][0],
				 members[i][1]);
	}
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

double call_fixture_zero(void *userdata)
{
	(void)userdata;
	return 0.0;
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
