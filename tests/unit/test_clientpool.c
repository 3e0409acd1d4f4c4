/* test_clientpool.c - shared clients: one per region and endpoint, per
 * kind, reference-counted, freed with the last reference. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "aws-internal.h"
#include "clientpool.h"
#include "http.h"
#include "s3.h"

struct fx {
	sd_event *event;
	struct http_client *http;
	struct client_pool *pool;
};

static int no_creds(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	(void)impl;
	(void)ready;
	(void)ctx;
	return -ENOENT;
}

static struct aws_creds_provider creds = { no_creds, NULL, NULL };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || sd_event_new(&f->event) < 0 ||
	    http_client_new(f->event, &f->http) < 0 ||
	    client_pool_new(f->event, f->http, &creds, NULL, &f->pool) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	client_pool_free(f->pool);
	http_client_free(f->http);
	sd_event_unref(f->event);
	free(f);
	return 0;
}

static void test_shared_per_region_and_endpoint(void **state)
{
	struct fx *f = *state;
	struct aws_client *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	assert_int_equal(client_pool_get_aws(f->pool, "eu-west-1", NULL, &a), 0);
	assert_int_equal(client_pool_get_aws(f->pool, "eu-west-1", "", &b), 0);
	assert_ptr_equal(a, b);  /* NULL and "" are both "unset" */
	assert_int_equal(client_pool_size(f->pool), 1);
	assert_int_equal(client_pool_get_aws(f->pool, "us-east-1", NULL, &c), 0);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c->region, "us-east-1");
	assert_int_equal(client_pool_get_aws(f->pool, "eu-west-1",
					     "http://127.0.0.1:9", &d), 0);
	assert_ptr_not_equal(a, d);
	assert_string_equal(d->endpoint, "http://127.0.0.1:9");
	assert_int_equal(client_pool_size(f->pool), 3);
	/* references: the client stays until its last one is given back */
	client_pool_put_aws(f->pool, a);
	assert_int_equal(client_pool_size(f->pool), 3);
	client_pool_put_aws(f->pool, b);
	assert_int_equal(client_pool_size(f->pool), 2);
	client_pool_put_aws(f->pool, NULL);
	client_pool_put_aws(f->pool, c);
	assert_int_equal(client_pool_size(f->pool), 1);
	/* a fresh one after the last was given back */
	assert_int_equal(client_pool_get_aws(f->pool, "eu-west-1", NULL, &a), 0);
	assert_int_equal(client_pool_size(f->pool), 2);
	client_pool_put_aws(f->pool, a);
	/* d is freed by client_pool_free in teardown (no leak under ASan) */
}

static void test_s3_apart_and_errors(void **state)
{
	struct fx *f = *state;
	struct aws_client *a = NULL, *bad = NULL;
	struct s3_client *s = NULL, *t = NULL;

	assert_int_equal(client_pool_get_aws(f->pool, "eu-west-1", NULL, &a), 0);
	assert_int_equal(client_pool_get_s3(f->pool, "eu-west-1", NULL, &s), 0);
	assert_int_equal(client_pool_get_s3(f->pool, "eu-west-1", NULL, &t), 0);
	assert_ptr_equal(s, t);
	assert_int_equal(client_pool_size(f->pool), 2);
	/* a client that cannot be made: the error, nothing kept */
	assert_int_equal(client_pool_get_aws(f->pool, "eu-west-1",
					     "ftp://nope", &bad), -EINVAL);
	assert_null(bad);
	assert_int_equal(client_pool_get_aws(f->pool, "", NULL, &bad), -EINVAL);
	assert_int_equal(client_pool_get_aws(NULL, "eu-west-1", NULL, &bad),
			 -EINVAL);
	assert_int_equal(client_pool_size(f->pool), 2);
	client_pool_put_s3(f->pool, s);
	client_pool_put_s3(f->pool, t);
	client_pool_put_aws(f->pool, a);
	assert_int_equal(client_pool_size(f->pool), 0);
	assert_int_equal(client_pool_size(NULL), 0);
	client_pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shared_per_region_and_endpoint,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_s3_apart_and_errors, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
