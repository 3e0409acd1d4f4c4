/* test_adopt.c - after a lost state: the job name parsed back to its fire
 * time (rt_job_name_parse, round trip over a table of pipelines, suffixes
 * and times; every way a name is not ours), the choice among candidates
 * (adopt_consider, adopt_wanted), and the scan against a scripted loopback
 * server: version found by describe, import found, nothing in progress,
 * finished work ignored, a failed call retried then found, the budget
 * spent, a rejected call, a described version gone, freed in flight. */
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

#include "adopt.h"
#include "aws.h"
#include "aws-engine.h"
#include "aws-internal.h"
#include "call_fixture.h"
#include "personalize.h"
#include "retrain.h"
#include "state.h"
#include "loopback.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ARN "arn:aws:personalize:us-east-1:123456789012:"
#define SOLUTION ARN "solution/s"
#define DS_I ARN "dataset/g/INTERACTIONS"
#define DS_U ARN "dataset/g/USERS"
#define PIPE "p0001"
#define T1 ((time_t)1795630380) /* 2026-11-25T18:13:00Z */
#define T2 (T1 + 3600)

/* ---- rt_job_name_parse ------------------------------------------------------ */

static void test_name_round_trip(void **state)
{
	static const char *pipes[] = {
		"p0001", "a", "prod-eu_1", "weird name/with:chars",
		"-leading-dash", "x234567890123456789012345678901234567890123456789",
		"a-very-long-pipeline-name-that-is-cut-and-hashed-because-it-is-long",
	};
	static const char *sfx[] = { "train", "import-Interactions",
				     "import-Users", "import-Items", "deploy" };
	static const time_t times[] = { 0, 60, T1, T2, 4102444740 /* 2099 */,
					T1 + 29 /* rounds down */,
					T1 + 31 /* rounds up */ };
	char name[RT_NAME_MAX + 1];
	size_t i, j, k;
	time_t got;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(pipes); i++)
		for (j = 0; j < ARRAY_SIZE(sfx); j++)
			for (k = 0; k < ARRAY_SIZE(times); k++) {
				assert_int_equal(rt_job_name(pipes[i], times[k],
							     sfx[j], name,
							     sizeof(name)), 0);
				got = -1;
				assert_int_equal(rt_job_name_parse(pipes[i],
								   sfx[j], name,
								   &got), 0);
				assert_int_equal(got,
						 rt_fire_normalize(times[k]));
			}
}

static void test_name_not_ours(void **state)
{
	char name[RT_NAME_MAX + 1], bad[RT_NAME_MAX + 8];
	time_t got = 7;
	struct {
		const char *pipeline, *suffix, *name;
	} no[] = {
		{ "p0002", "train", NULL },                 /* other pipeline */
		{ PIPE, "import-Users", NULL },             /* other suffix */
		{ PIPE, "train", "p0001-20261325T1813-train" }, /* month 13 */
		{ PIPE, "train", "p0001-20261125T2413-train" }, /* hour 24 */
		{ PIPE, "train", "p0001-20261125T1860-train" }, /* minute 60 */
		{ PIPE, "train", "p0001-20260231T1813-train" }, /* 31 Feb */
		{ PIPE, "train", "p0001-20261125X1813-train" },
		{ PIPE, "train", "p0001-2026112aT1813-train" },
		{ PIPE, "train", "p0001-20261125T181-train" },  /* too short */
		{ PIPE, "train", "p0001-20261125T18133-train" },/* too long */
		{ PIPE, "train", "p0001x20261125T1813-train" },
		{ PIPE, "train", "p0001-20261125T1813-trains" },
		{ PIPE, "train", "p0001-20261125T1813-Train" },
		{ PIPE, "train", "" },
		{ PIPE, "train", "train" },
		{ PIPE, "train", "xp0001-20261125T1813-train" },
	};
	size_t i;

	(void)state;
	assert_int_equal(rt_job_name(PIPE, T1, "train", name, sizeof(name)), 0);
	assert_string_equal(name, "p0001-20261125T1813-train");
	for (i = 0; i < ARRAY_SIZE(no); i++) {
		const char *n = no[i].name ? no[i].name : name;

		assert_int_equal(rt_job_name_parse(no[i].pipeline,
						   no[i].suffix, n, &got),
				 -ENOENT);
		assert_int_equal(got, 7); /* untouched */
	}
	/* a long name's hash: another long name with the same cut differs */
	assert_int_equal(rt_job_name("a-very-long-pipeline-name-that-is-cut-"
				     "and-hashed-because-it-is-long-1", T1,
				     "train", bad, sizeof(bad)), 0);
	assert_int_equal(rt_job_name_parse("a-very-long-pipeline-name-that-is-"
					   "cut-and-hashed-because-it-is-long-2",
					   "train", bad, &got), -ENOENT);
	assert_int_equal(rt_job_name_parse(NULL, "train", name, &got), -EINVAL);
	assert_int_equal(rt_job_name_parse("", "train", name, &got), -EINVAL);
	assert_int_equal(rt_job_name_parse(PIPE, "", name, &got), -EINVAL);
	assert_int_equal(rt_job_name_parse(PIPE, NULL, name, &got), -EINVAL);
	assert_int_equal(rt_job_name_parse(PIPE, "train", NULL, &got), -EINVAL);
	assert_int_equal(rt_job_name_parse(PIPE, "train", name, NULL), -EINVAL);
	assert_int_equal(rt_job_name_parse(PIPE, "train", name, &got), 0);
	assert_int_equal(got, T1);
}

/* ---- adopt_consider, adopt_wanted ---------------------------------------- */

static const char *nm(time_t t, const char *sfx, char *buf)
{
	assert_int_equal(rt_job_name(PIPE, t, sfx, buf, RT_NAME_MAX + 1), 0);
	return buf;
}

static void test_consider(void **state)
{
	struct adopt_found b;
	char n[RT_NAME_MAX + 1];

	(void)state;
	memset(&b, 0, sizeof(b));
	/* finished or unknown statuses never count */
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    nm(T1, "import-Users", n), "a", "ACTIVE"));
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    n, "a", "CREATE FAILED"));
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    n, "a", "CREATE STOPPING"));
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    n, "a", NULL));
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    NULL, "a", "CREATE PENDING"));
	assert_false(adopt_consider(&b, ADOPT_NONE, PIPE, "import-Users",
				    n, "a", "CREATE PENDING"));
	assert_false(adopt_consider(NULL, ADOPT_IMPORT, PIPE, "import-Users",
				    n, "a", "CREATE PENDING"));
	/* another pipeline's job in progress: not ours */
	assert_false(adopt_consider(&b, ADOPT_IMPORT, "p0002", "import-Users",
				    n, "a", "CREATE PENDING"));
	assert_int_equal(b.kind, ADOPT_NONE);
	/* ours in progress */
	assert_true(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users", n,
				   "arn-1", "CREATE PENDING"));
	assert_int_equal(b.kind, ADOPT_IMPORT);
	assert_int_equal(b.fire_time, T1);
	assert_string_equal(b.arn, "arn-1");
	assert_string_equal(b.status, "CREATE PENDING");
	/* the same fire time again, or an earlier one: the first stays */
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users", n,
				    "arn-2", "CREATE IN_PROGRESS"));
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    nm(T1 - 60, "import-Users", n), "arn-3",
				    "CREATE IN_PROGRESS"));
	assert_string_equal(b.arn, "arn-1");
	/* a later one wins */
	assert_true(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				   nm(T2, "import-Users", n), "arn-4",
				   "CREATE IN_PROGRESS"));
	assert_int_equal(b.fire_time, T2);
	/* a version beats any import, even an earlier one */
	assert_true(adopt_consider(&b, ADOPT_VERSION, PIPE, "train",
				   nm(T1, "train", n), "v-1", "CREATE PENDING"));
	assert_int_equal(b.kind, ADOPT_VERSION);
	assert_int_equal(b.fire_time, T1);
	/* and no import beats a version */
	assert_false(adopt_consider(&b, ADOPT_IMPORT, PIPE, "import-Users",
				    nm(T2 + 60, "import-Users", n), "arn-5",
				    "CREATE PENDING"));
	assert_string_equal(b.arn, "v-1");
	/* an import name is no version name */
	assert_false(adopt_consider(&b, ADOPT_VERSION, PIPE, "train",
				    nm(T2, "import-Users", n), "v-2",
				    "CREATE PENDING"));
	assert_true(adopt_in_progress("CREATE IN_PROGRESS"));
	assert_false(adopt_in_progress("ACTIVE"));
	assert_false(adopt_in_progress(NULL));
}

static void test_wanted(void **state)
{
	struct state *st = calloc(1, sizeof(*st));

	(void)state;
	assert_non_null(st);
	state_init(st, PIPE);
	assert_false(adopt_wanted(st));    /* no file: a first run */
	st->last_fire = T1;
	assert_false(adopt_wanted(st));    /* an earlier run is recorded */
	st->last_fire = 0;
	st->n_history = 1;
	assert_false(adopt_wanted(st));
	st->recovered = true;              /* moved aside: always look */
	assert_true(adopt_wanted(st));
	st->last_fire = T1;
	assert_true(adopt_wanted(st));
	st->has_run = true;                /* a run to resume: no look */
	assert_false(adopt_wanted(st));
	assert_false(adopt_wanted(NULL));
	free(st);
}

/* ---- the scan against a scripted server ------------------------------------ */

struct fixture {
	struct call_fixture cf;   /* first: call_fixture_new() */
	struct aws_client *aws;
	/* the rate limit stand-in: one pending grant, from a defer source */
	sd_event_source *defer;
	ratelimit_grant_fn grant;
	void *cookie;
	unsigned submits, cancels;
	/* the scan's end */
	int done;
	struct adopt_found found;
	bool failed;
	char why[512];
	struct adopt_scan *scan;
};

static int on_defer(sd_event_source *s, void *ud)
{
	struct fixture *f = ud;
	ratelimit_grant_fn g = f->grant;

	(void)s;
	f->grant = NULL;
	if (g)
		g(f->cookie);
	return 0;
}

static int fake_submit(void *host, unsigned owner, ratelimit_grant_fn grant,
		       void *cookie)
{
	struct fixture *f = host;

	(void)owner;
	assert_null(f->grant); /* one call at a time */
	f->grant = grant;
	f->cookie = cookie;
	f->submits++;
	if (!f->defer &&
	    sd_event_add_defer(f->cf.event, &f->defer, on_defer, f) < 0)
		return -ENOMEM;
	return sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT) < 0 ?
	       -ENOMEM : 0;
}

static void fake_cancel(void *host, void *cookie)
{
	struct fixture *f = host;

	if (f->cookie == cookie)
		f->grant = NULL;
	f->cancels++;
}

static void on_done(void *ud, const struct adopt_found *found, bool failed,
		    const char *why)
{
	struct fixture *f = ud;

	f->done++;
	f->found = *found;
	f->failed = failed;
	snprintf(f->why, sizeof(f->why), "%s", why ? why : "");
	adopt_scan_free(f->scan); /* allowed from the callback */
	f->scan = NULL;
}

static int setup(void **state)
{
	return call_fixture_new(state, sizeof(struct fixture));
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	adopt_scan_free(f->scan);
	aws_client_free(f->aws);
	sd_event_source_disable_unref(f->defer);
	return call_fixture_delete(&f->cf);
}

/* A scan of pipeline PIPE (two datasets) with a budget of max_errors
 * failures, on the client set up by start(). */
static enum rt_batch_kind scan_batch_kind; /* begin_scan's spec */

static void begin_scan(struct fixture *f, unsigned max_errors)
{
	struct rt_spec spec;
	struct adopt_io io;

	memset(&spec, 0, sizeof(spec));
	spec.batch_kind = scan_batch_kind;
	spec.pipeline = PIPE;
	spec.solution_arn = SOLUTION;
	spec.n_datasets = 2;
	spec.datasets[0].type = "Interactions";
	spec.datasets[0].arn = DS_I;
	spec.datasets[1].type = "Users";
	spec.datasets[1].arn = DS_U;
	memset(&io, 0, sizeof(io));
	io.event = f->cf.event;
	io.aws = f->aws;
	io.submit = fake_submit;
	io.cancel = fake_cancel;
	io.host = f;
	io.max_errors = max_errors;
	io.poll_interval_s = 1;
	io.first_delay_ms = 1;
	io.seed = 42;
	assert_int_equal(adopt_scan_start(&io, &spec, on_done, f, &f->scan), 0);
}

/* Serve acts (the last repeats), then begin_scan. */
static void start(struct fixture *f, const struct lb_action *a, size_t n,
		  unsigned max_errors)
{
	struct aws_client_config cfg = { .region = "us-east-1",
					 .endpoint_url = f->cf.url,
					 .max_attempts = 1 };
	struct aws_test_hooks hooks = { .rng = call_fixture_zero };

	call_fixture_serve(&f->cf, a, n, "");
	assert_int_equal(aws_client_new(f->cf.event, f->cf.http, &cfg,
					&f->cf.creds, &f->aws), 0);
	call_fixture_set_hooks(aws_engine_retrier(f->aws->engine), &hooks);
	begin_scan(f, max_errors);
}

/* start(), and the scan run to its end. */
static void scan(struct fixture *f, const struct lb_action *a, size_t n,
		 unsigned max_errors)
{
	start(f, a, n, max_errors);
	call_fixture_run_until(&f->cf, &f->done, 1);
}

/* The X-Amz-Target operations of the requests served were want
 * ("A,B,C"). */
static void assert_targets(const struct fixture *f, const char *want)
{
	char *log = lb_log(&f->cf.lb), *p, buf[256];
	size_t len = sizeof(buf), n = 0;

	assert_non_null(log);
	buf[0] = '\0';
	for (p = log; (p = strstr(p, "AmazonPersonalize.")); ) {
		size_t k;

		p += strlen("AmazonPersonalize.");
		k = strcspn(p, "\r\n");
		if (n + k + 2 >= len)
			break;
		if (n)
			buf[n++] = ',';
		memcpy(buf + n, p, k);
		n += k;
		buf[n] = '\0';
	}
	free(log);
	assert_string_equal(buf, want);
}

#define JSON_CT "Content-Type: application/x-amz-json-1.1\r\n"
#define REPLY(body) { LB_REPLY, 200, JSON_CT, body }
#define ERR(st, code) { LB_REPLY, st, JSON_CT, \
	"{\"__type\":\"" code "\",\"message\":\"scripted\"}" }

/* names as rt_job_name gives them for T1 / T2 (see test_name_not_ours) */
#define V_T1 "p0001-20261125T1813-train"
#define I_T1 "p0001-20261125T1813-import-interactions"
#define U_T1 "p0001-20261125T1813-import-users"
#define U_T2 "p0001-20261125T1913-import-users"

static const char versions_busy[] =
	"{\"solutionVersions\":["
	"{\"solutionVersionArn\":\"" SOLUTION "/v9\",\"status\":\"ACTIVE\"},"
	"{\"solutionVersionArn\":\"" SOLUTION "/v8\",\"status\":\"CREATE PENDING\"},"
	"{\"solutionVersionArn\":\"" SOLUTION "/v7\",\"status\":\"CREATE IN_PROGRESS\"}]}";
static const char version_other[] =
	"{\"solutionVersion\":{\"name\":\"someone-else\",\"solutionVersionArn\":\""
	SOLUTION "/v8\",\"status\":\"CREATE PENDING\"}}";
static const char version_ours[] =
	"{\"solutionVersion\":{\"name\":\"" V_T1 "\",\"solutionVersionArn\":\""
	SOLUTION "/v7\",\"status\":\"CREATE IN_PROGRESS\"}}";
static const char versions_none[] =
	"{\"solutionVersions\":[{\"solutionVersionArn\":\"" SOLUTION "/v9\","
	"\"status\":\"ACTIVE\"}]}";
static const char imports_i[] =
	"{\"datasetImportJobs\":["
	"{\"jobName\":\"" I_T1 "\",\"datasetImportJobArn\":\"" ARN "dataset-import-job/i1\","
	"\"status\":\"ACTIVE\"}]}";
static const char imports_u[] =
	"{\"datasetImportJobs\":["
	"{\"jobName\":\"other-job\",\"datasetImportJobArn\":\"" ARN "dataset-import-job/x\","
	"\"status\":\"CREATE IN_PROGRESS\"},"
	"{\"jobName\":\"" U_T1 "\",\"datasetImportJobArn\":\"" ARN "dataset-import-job/u1\","
	"\"status\":\"CREATE IN_PROGRESS\"},"
	"{\"jobName\":\"" U_T2 "\",\"datasetImportJobArn\":\"" ARN "dataset-import-job/u2\","
	"\"status\":\"ACTIVE\"}]}";
static const char imports_empty[] = "{\"datasetImportJobs\":[]}";

static void test_scan_version_found(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		REPLY(versions_busy), REPLY(version_other), REPLY(version_ours),
	};

	scan(f, a, ARRAY_SIZE(a), 3);
	assert_false(f->failed);
	assert_int_equal(f->found.kind, ADOPT_VERSION);
	assert_int_equal(f->found.fire_time, T1);
	assert_string_equal(f->found.name, V_T1);
	assert_string_equal(f->found.arn, SOLUTION "/v7");
	/* only the busy versions described; no import listed */
	assert_targets(f, "ListSolutionVersions,DescribeSolutionVersion,"
			  "DescribeSolutionVersion");
	assert_int_equal(f->submits, 3);
}

#define B_T1 "p0001-20261125T1813-batch"
#define B_T2 "p0001-20261125T1913-batch"

static const char batch_busy[] =
	"{\"batchInferenceJobs\":["
	"{\"jobName\":\"someone-else\",\"batchInferenceJobArn\":\"" ARN "batch-inference-job/x\","
	"\"status\":\"IN PROGRESS\"},"
	"{\"jobName\":\"" B_T2 "\",\"batchInferenceJobArn\":\"" ARN "batch-inference-job/b2\","
	"\"status\":\"ACTIVE\"},"
	"{\"jobName\":\"" B_T1 "\",\"batchInferenceJobArn\":\"" ARN "batch-inference-job/b1\","
	"\"status\":\"PENDING\"}]}";
static const char batch_done[] =
	"{\"batchSegmentJobs\":["
	"{\"jobName\":\"" B_T1 "\",\"batchSegmentJobArn\":\"" ARN "batch-segment-job/b1\","
	"\"status\":\"CREATE FAILED\"}]}";

/* With a batch job: its list first; one of ours in progress ends the
 * look; only finished ones: then the versions are looked at. */
static void test_scan_batch(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = { REPLY(batch_busy) };
	const struct lb_action b[] = {
		REPLY(batch_done), REPLY(versions_busy), REPLY(version_other),
		REPLY(version_ours),
	};

	scan_batch_kind = RT_BATCH_INFERENCE;
	scan(f, a, ARRAY_SIZE(a), 3);
	assert_false(f->failed);
	assert_int_equal(f->found.kind, ADOPT_BATCH);
	assert_int_equal(f->found.fire_time, T1);
	assert_string_equal(f->found.name, B_T1);
	assert_string_equal(f->found.arn, ARN "batch-inference-job/b1");
	assert_targets(f, "ListBatchInferenceJobs");

	f->aws = aws_client_free(f->aws);
	lb_stop(&f->cf.lb);
	memset(&f->cf.lb, 0, sizeof(f->cf.lb));
	f->done = 0;
	scan_batch_kind = RT_BATCH_SEGMENT;
	scan(f, b, ARRAY_SIZE(b), 3);
	scan_batch_kind = RT_BATCH_NONE;
	assert_false(f->failed);
	assert_int_equal(f->found.kind, ADOPT_VERSION);
	assert_string_equal(f->found.name, V_T1);
	assert_targets(f, "ListBatchSegmentJobs,ListSolutionVersions,"
		       "DescribeSolutionVersion,DescribeSolutionVersion");
}

static void test_scan_import_found(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		REPLY(versions_none), REPLY(imports_i), REPLY(imports_u),
	};

	scan(f, a, ARRAY_SIZE(a), 3);
	assert_false(f->failed);
	/* the finished import (ACTIVE, even of a later fire time) and the
	 * other job in progress do not count */
	assert_int_equal(f->found.kind, ADOPT_IMPORT);
	assert_int_equal(f->found.fire_time, T1);
	assert_string_equal(f->found.name, U_T1);
	assert_string_equal(f->found.arn, ARN "dataset-import-job/u1");
	assert_targets(f, "ListSolutionVersions,ListDatasetImportJobs,"
			  "ListDatasetImportJobs");
}

static void test_scan_nothing(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		REPLY(versions_none), REPLY(imports_i), REPLY(imports_empty),
	};

	scan(f, a, ARRAY_SIZE(a), 3);
	assert_false(f->failed);
	assert_int_equal(f->found.kind, ADOPT_NONE);
	assert_int_equal(f->done, 1);
	assert_int_equal(lb_requests(&f->cf.lb), 3); /* one list per dataset */
}

static void test_scan_retry_then_found(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		ERR(500, "InternalServerError"),
		ERR(400, "ThrottlingException"),
		REPLY(versions_none),
		ERR(502, "BadGateway"),
		REPLY(imports_i), REPLY(imports_u),
	};

	scan(f, a, ARRAY_SIZE(a), 3);
	assert_false(f->failed);
	assert_int_equal(f->found.kind, ADOPT_IMPORT);
	assert_int_equal(f->found.fire_time, T1);
	assert_targets(f, "ListSolutionVersions,ListSolutionVersions,"
			  "ListSolutionVersions,ListDatasetImportJobs,"
			  "ListDatasetImportJobs,ListDatasetImportJobs");
}

static void test_scan_budget_spent(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		REPLY(versions_none),
		ERR(503, "ServiceUnavailable"), /* repeats */
	};

	scan(f, a, ARRAY_SIZE(a), 3);
	assert_true(f->failed);
	assert_int_equal(f->found.kind, ADOPT_NONE);
	assert_non_null(strstr(f->why, "ListDatasetImportJobs failed"));
	assert_targets(f, "ListSolutionVersions,ListDatasetImportJobs,"
			  "ListDatasetImportJobs,ListDatasetImportJobs");
}

static void test_scan_rejected(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		ERR(400, "AccessDeniedException"),
	};

	scan(f, a, ARRAY_SIZE(a), 3);
	assert_true(f->failed);
	/* a denial: named for the operator, and no run may start blind */
	assert_non_null(strstr(f->why, "personalize:ListSolutionVersions"));
	assert_non_null(strstr(f->why, "`personalize-retrain policy`"));
	assert_true(f->found.denied);
	assert_targets(f, "ListSolutionVersions"); /* not retried */
}

static void test_scan_described_gone(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		REPLY(versions_busy),
		ERR(400, "ResourceNotFoundException"),
		REPLY(version_ours),
	};

	scan(f, a, ARRAY_SIZE(a), 1);
	assert_false(f->failed);
	assert_int_equal(f->found.kind, ADOPT_VERSION);
	assert_string_equal(f->found.arn, SOLUTION "/v7");
}

static void test_scan_free_in_flight(void **state)
{
	struct fixture *f = *state;
	const struct lb_action a[] = {
		{ LB_STALL, 0, NULL, NULL },
	};
	int i;

	start(f, a, ARRAY_SIZE(a), 3);
	/* queued: freeing cancels the grant */
	adopt_scan_free(f->scan);
	f->scan = NULL;
	assert_int_equal(f->cancels, 1);
	assert_null(f->grant);
	/* in flight: the op is cancelled, no callback ever */
	begin_scan(f, 3);
	for (i = 0; i < 20 && f->grant; i++)
		assert_true(sd_event_run(f->cf.event, 10000) >= 0);
	assert_null(f->grant);
	adopt_scan_free(f->scan);
	f->scan = NULL;
	for (i = 0; i < 5; i++)
		assert_true(sd_event_run(f->cf.event, 10000) >= 0);
	assert_int_equal(f->done, 0);
	assert_int_equal(adopt_scan_start(NULL, NULL, on_done, f, &f->scan),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_round_trip),
		cmocka_unit_test(test_name_not_ours),
		cmocka_unit_test(test_consider),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test_setup_teardown(test_scan_version_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_import_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_retry_then_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_budget_spent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_described_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_free_in_flight, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
