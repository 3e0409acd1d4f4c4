/* test_child.c - the child-process helper shared by credential_process
 * and the run hooks: what neither of their suites covers directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "child.h"

#define LOOP_BOUND_USEC (60ULL * 1000000ULL) /* a bound, not a pace */
#define LOOP_STEP_USEC  50000ULL

struct got {
	bool called;
	struct child_result res;
	char out[70000];
};

static void on_done(const struct child_result *res, void *userdata)
{
	struct got *g = userdata;

	g->called = true;
	g->res = *res;
	memcpy(g->out, res->output, res->len + 1 < sizeof(g->out)
					    ? res->len + 1 : sizeof(g->out));
	g->res.output = g->out;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void run_until(sd_event *e, const bool *flag)
{
	uint64_t deadline = now_usec() + LOOP_BOUND_USEC;

	while (!*flag && now_usec() < deadline)
		assert_true(sd_event_run(e, LOOP_STEP_USEC) >= 0);
	assert_true(*flag);
}

static void run(const char *shell, struct child_spec *spec, struct got *g)
{
	char *argv[] = { (char *)(uintptr_t)"/bin/sh",
			 (char *)(uintptr_t)"-c", (char *)(uintptr_t)shell,
			 NULL };
	sd_event *e = NULL;
	struct child *c = NULL;

	memset(g, 0, sizeof(*g));
	assert_int_equal(sd_event_new(&e), 0);
	spec->argv = argv;
	assert_int_equal(child_spawn(e, spec, on_done, g, &c), 0);
	assert_true(child_pid(c) > 0);
	assert_false(g->called);
	run_until(e, &g->called);
	sd_event_unref(e);
}

static void test_stdout_capture(void **state)
{
	struct child_spec spec = { .capture_fd = STDOUT_FILENO,
				   .other_to_null = true, .max_output = 64 };
	struct got g;

	(void)state;
	run("echo out; echo err >&2; exit 4", &spec, &g);
	assert_string_equal(g.out, "out\n");
	assert_true(WIFEXITED(g.res.status));
	assert_int_equal(WEXITSTATUS(g.res.status), 4);
	assert_false(g.res.timed_out);
	assert_false(g.res.overflow);
}

static void test_overflow(void **state)
{
	struct child_spec spec = { .capture_fd = STDOUT_FILENO,
				   .max_output = 1000, .kill_on_overflow = true };
	struct got g;

	(void)state;
	run("head -c 100000 /dev/zero; sleep 30", &spec, &g);
	assert_true(g.res.overflow);
	assert_true(WIFSIGNALED(g.res.status));
	assert_int_equal(WTERMSIG(g.res.status), SIGKILL);
	assert_true(g.res.len <= 1000);

	spec.kill_on_overflow = false;
	run("head -c 100000 /dev/zero | tr '\\0' x; exit 0", &spec, &g);
	assert_true(g.res.overflow);
	assert_true(WIFEXITED(g.res.status));
	assert_int_equal(g.res.len, 1000);
	assert_int_equal(strspn(g.out, "x"), 1000);
}

static void test_timeout_after_exit(void **state)
{
	/* the child exits at once but leaves a grandchild holding the pipe:
	 * the timeout ends the wait for EOF; the exit status is kept */
	struct child_spec spec = { .capture_fd = STDOUT_FILENO,
				   .max_output = 64,
				   .timeout_usec = 200000 };
	struct got g;
	pid_t gc;

	(void)state;
	run("sleep 30 & echo $!; exit 0", &spec, &g);
	assert_true(g.res.timed_out);
	assert_true(WIFEXITED(g.res.status));
	assert_int_equal(WEXITSTATUS(g.res.status), 0);
	gc = (pid_t)atoi(g.out);
	assert_true(gc > 0);
	(void)kill(gc, SIGKILL); /* not ours to reap: init does */
}

static void test_cancel_and_errors(void **state)
{
	char *argv[] = { (char *)(uintptr_t)"/bin/sh", (char *)(uintptr_t)"-c",
			 (char *)(uintptr_t)"sleep 30", NULL };
	char *none[] = { (char *)(uintptr_t)"/nonexistent/x", NULL };
	struct child_spec spec = { .argv = argv, .capture_fd = STDOUT_FILENO,
				   .max_output = 64 };
	sd_event *e = NULL;
	struct child *c = NULL;
	struct got g;
	pid_t pid;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(sd_event_new(&e), 0);
	assert_int_equal(child_spawn(e, &spec, on_done, &g, &c), 0);
	pid = child_pid(c);
	child_cancel(c); /* killed and reaped; no callback */
	assert_false(g.called);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	child_cancel(NULL);

	spec.argv = none;
	assert_int_equal(child_spawn(e, &spec, on_done, &g, &c), -ENOENT);
	spec.argv = argv;
	spec.capture_fd = 0;
	assert_int_equal(child_spawn(e, &spec, on_done, &g, &c), -EINVAL);
	spec.capture_fd = STDERR_FILENO;
	spec.max_output = 0;
	assert_int_equal(child_spawn(e, &spec, on_done, &g, &c), -EINVAL);
	spec.max_output = 1;
	assert_int_equal(child_spawn(e, NULL, on_done, &g, &c), -EINVAL);
	assert_int_equal(child_spawn(e, &spec, NULL, &g, &c), -EINVAL);
	sd_event_unref(e);
}

static void test_split(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *words; /* joined with '|' */
	} cases[] = {
		{ "/bin/sh -c 'echo \"$X\" | mail ops'", 0,
		  "/bin/sh|-c|echo \"$X\" | mail ops" },
		{ "a\\ b \"c \\$d\" 'e'f", 0, "a b|c $d|ef" },
		{ "  x  ", 0, "x" },
		{ "", -EINVAL, NULL },
		{ "'open", -EINVAL, NULL },
		{ "\"open", -EINVAL, NULL },
		{ "trailing\\", -EINVAL, NULL },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **argv = NULL, joined[256] = "";
		size_t argc = 0;

		assert_int_equal(child_split_command(cases[i].in, &argv, &argc),
				 cases[i].rc);
		if (cases[i].rc)
			continue;
		for (k = 0; k < argc; k++) {
			if (k)
				strcat(joined, "|");
			strcat(joined, argv[k]);
		}
		assert_null(argv[argc]);
		assert_string_equal(joined, cases[i].words);
		free(argv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdout_capture),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_timeout_after_exit),
		cmocka_unit_test(test_cancel_and_errors),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
