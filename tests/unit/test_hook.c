/* test_hook.c - OnRunEnd hooks with real child processes (/bin/sh scripts
 * in a temporary directory, run through /bin/sh so a noexec /tmp works). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "hook.h"
#include "log.h"
#include "strbuf.h"

#define LOOP_BOUND_USEC     (60ULL * 1000000ULL)
#define LOOP_STEP_USEC      50000ULL
#define LONG_TIMEOUT_USEC   (30ULL * 1000000ULL) /* never reached when OK */
#define SHORT_TIMEOUT_USEC  (200ULL * 1000ULL)
#define SHORT_GRACE_USEC    (200ULL * 1000ULL)

static char dir[] = "/tmp/test_hook.XXXXXX";
static struct strbuf logbuf = STRBUF_INIT;

static void capture(int priority, const char *line, void *userdata)
{
	(void)userdata;
	strbuf_printf(&logbuf, "<%d>%s", priority, line);
}

struct done_log {
	int calls;
	struct hook_report last;
	char stderr_text[8192];
	char program[256];
	char order[64];
};

static void on_done(const struct hook_report *rep, void *userdata)
{
	struct done_log *d = userdata;

	d->calls++;
	d->last = *rep;
	snprintf(d->stderr_text, sizeof(d->stderr_text), "%s",
		 rep->stderr_text ? rep->stderr_text : "");
	snprintf(d->program, sizeof(d->program), "%s", rep->program);
	d->last.stderr_text = d->stderr_text;
	d->last.program = d->program;
	if (strlen(d->order) + 2 < sizeof(d->order))
		strcat(d->order, rep->pipeline);
}

static char *path_of(const char *name)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_printf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb);
}

static char *script(const char *name, const char *body)
{
	char *p = path_of(name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fputs(body, f);
	fclose(f);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(buf);
	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct loop {
	sd_event *event;
	struct hook_runner *runner;
	struct done_log done;
};

static void loop_open(struct loop *l, unsigned max_running, size_t max_queued)
{
	struct hook_runner_options opt = {
		.max_running = max_running,
		.max_queued = max_queued,
		.kill_grace_usec = SHORT_GRACE_USEC,
		.done = on_done,
	};

	memset(l, 0, sizeof(*l));
	opt.userdata = &l->done;
	assert_int_equal(sd_event_new(&l->event), 0);
	assert_int_equal(hook_runner_new(l->event, &opt, &l->runner), 0);
	strbuf_reset(&logbuf);
}

static void loop_close(struct loop *l)
{
	hook_runner_free(l->runner);
	sd_event_unref(l->event);
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* Run the loop until `calls` hooks have ended; a bound (LOOP_BOUND_USEC),
 * not a pace: a working hook ends long before. */
static void run_until_calls(struct loop *l, int calls)
{
	uint64_t deadline = now_usec() + LOOP_BOUND_USEC;

	while (l->done.calls < calls && now_usec() < deadline)
		assert_true(sd_event_run(l->event, LOOP_STEP_USEC) >= 0);
	assert_int_equal(l->done.calls, calls);
}

static const struct hook_run_info gated = {
	.pipeline = "staging",
	.outcome = "gated",
	.stage = "deploying",
	.solution_version_arn =
		"arn:aws:personalize:eu-west-1:123456789012:solution/s/v2",
	.campaign_arn = "arn:aws:personalize:eu-west-1:123456789012:campaign/c",
	.reason = "rejected by quality gate: ndcg@10 0.2810 < 0.2950 - 2% "
		  "$(touch /tmp/pwned-by-hook-test)",
	.duration_s = 3725,
};

/* hook_run() of cmd for the gated run, and the loop run until it ended. */
static void run_once(struct loop *l, const char *cmd, uint64_t timeout_usec)
{
	assert_int_equal(hook_run(l->runner, cmd, timeout_usec, &gated), 0);
	run_until_calls(l, 1);
}

/* Remove a test's script and free it and its command line. */
static void drop_script(char *s, struct strbuf *cmd)
{
	unlink(s);
	free(s);
	strbuf_free(cmd);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_environment(void **state)
{
	static const char *allowed[] = {
		"PIPELINE", "OUTCOME", "STAGE", "SOLUTION_VERSION_ARN",
		"CAMPAIGN_ARN", "DURATION_S", "REASON", "RUN_KIND", "BATCH_OUTPUT",
		"PATH", "HOME", "LANG",
		"LC_ALL", "TZ", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
		/* the shell's own */
		"PWD", "OLDPWD", "SHLVL", "_",
	};
	struct loop l;
	char *s = script("env.sh", "env > \"$1\"\n");
	char *out = path_of("env.out");
	struct strbuf cmd = STRBUF_INIT;
	char *env, *line, *save = NULL;

	(void)state;
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SESSION_TOKEN", "TOKENSECRET", 1);
	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/x", 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	setenv("HOME", "/var/lib/personalize-retrain", 1);
	loop_open(&l, 0, 0);
	strbuf_printf(&cmd, "/bin/sh '%s' \"%s\"", s, out);
	assert_int_equal(hook_run(l.runner, cmd.buf, LONG_TIMEOUT_USEC, &gated), 0);
	assert_int_equal(l.done.calls, 0); /* never from inside hook_run */
	assert_int_equal(hook_runner_running(l.runner), 1);
	run_until_calls(&l, 1);
	assert_int_equal(hook_runner_running(l.runner), 0);
	assert_true(l.done.last.exited);
	assert_int_equal(l.done.last.exit_status, 0);
	assert_int_equal(l.done.last.spawn_error, 0);
	assert_string_equal(l.done.last.program, "/bin/sh");

	env = slurp(out);
	assert_non_null(env);
	assert_true(has_line(env, "PIPELINE=staging"));
	assert_true(has_line(env, "OUTCOME=gated"));
	assert_true(has_line(env, "STAGE=deploying"));
	assert_true(has_line(env, "SOLUTION_VERSION_ARN=arn:aws:personalize:"
			     "eu-west-1:123456789012:solution/s/v2"));
	assert_true(has_line(env, "CAMPAIGN_ARN=arn:aws:personalize:eu-west-1:"
			     "123456789012:campaign/c"));
	assert_true(has_line(env, "DURATION_S=3725"));
	assert_true(has_line(env, "RUN_KIND=retrain")); /* kind NULL */
	assert_true(has_line(env, "BATCH_OUTPUT=")); /* batch_output NULL */
	assert_true(has_line(env, "REASON=rejected by quality gate: ndcg@10 "
			     "0.2810 < 0.2950 - 2% $(touch /tmp/pwned-by-hook-test)"));
	assert_true(has_line(env, "AWS_REGION=eu-west-1"));
	assert_true(strncmp(env, "PATH=", 5) == 0 || strstr(env, "\nPATH="));
	assert_null(strstr(env, "SECRET"));
	assert_null(strstr(env, "AKIDEXAMPLE"));
	assert_null(strstr(env, "NOTIFY_SOCKET"));
	assert_null(strstr(env, "CREDENTIALS_DIRECTORY"));
	/* nothing beyond the documented set */
	for (line = strtok_r(env, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t i, n = strcspn(line, "=");
		bool ok = false;

		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok |= strlen(allowed[i]) == n &&
			      strncmp(line, allowed[i], n) == 0;
		if (!ok)
			fail_msg("unexpected variable: %s", line);
	}
	assert_int_equal(access("/tmp/pwned-by-hook-test", F_OK), -1);
	assert_non_null(strstr(logbuf.buf, "OnRunEnd /bin/sh (pipeline staging) "
			       "exited with status 0"));
	assert_non_null(strstr(logbuf.buf, "PIPELINE=staging"));
	free(env);
	loop_close(&l);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("CREDENTIALS_DIRECTORY");
	unlink(out);
	free(out);
	drop_script(s, &cmd);
}

static void test_no_expansion(void **state)
{
	struct loop l;
	char *s = script("argv.sh", "printf '%s|%s|%s\\n' \"$1\" \"$2\" \"$3\" >&2\n");
	struct strbuf cmd = STRBUF_INIT;

	(void)state;
	loop_open(&l, 0, 0);
	strbuf_printf(&cmd, "/bin/sh %s '$HOME' * \"a b\\\"c\"", s);
	run_once(&l, cmd.buf, LONG_TIMEOUT_USEC);
	assert_string_equal(l.done.stderr_text, "$HOME|*|a b\"c\n");
	assert_non_null(strstr(logbuf.buf, "OnRunEnd /bin/sh: stderr: $HOME|*|a b\"c"));
	loop_close(&l);
	drop_script(s, &cmd);
}

static void test_exit_status_and_stderr(void **state)
{
	struct loop l;
	char *s = script("fail.sh", "echo 'first line' >&2\n"
				    "printf 'bad\\001char\\r\\n' >&2\n"
				    "echo 'why? ' >&2\n"
				    "echo 'to stdout: dropped'\n"
				    "exit 3\n");
	struct strbuf cmd = STRBUF_INIT;

	(void)state;
	loop_open(&l, 0, 0);
	strbuf_printf(&cmd, "/bin/sh %s", s);
	run_once(&l, cmd.buf, LONG_TIMEOUT_USEC);
	assert_true(l.done.last.exited);
	assert_int_equal(l.done.last.exit_status, 3);
	assert_false(l.done.last.timed_out);
	assert_false(l.done.last.stderr_truncated);
	assert_non_null(strstr(logbuf.buf, "<6>personalize-retrain: info: "
			       "OnRunEnd /bin/sh: stderr: first line"));
	assert_non_null(strstr(logbuf.buf, "stderr: bad?char PIPELINE"));
	assert_non_null(strstr(logbuf.buf, "stderr: why? PIPELINE"));
	assert_null(strstr(logbuf.buf, "to stdout"));
	assert_non_null(strstr(logbuf.buf, "<4>personalize-retrain: warning: "
			       "OnRunEnd /bin/sh (pipeline staging) failed "
			       "with exit status 3"));
	loop_close(&l);
	drop_script(s, &cmd);
}

static void test_stderr_bounded(void **state)
{
	struct loop l;
	char *s = script("noisy.sh",
			 "i=0\n"
			 "while [ $i -lt 3000 ]; do\n"
			 "  echo \"line $i ......................................\" >&2\n"
			 "  i=$((i + 1))\n"
			 "done\n"
			 "exit 0\n");
	struct strbuf cmd = STRBUF_INIT;
	const char *p;
	int lines = 0;

	(void)state;
	loop_open(&l, 0, 0);
	strbuf_printf(&cmd, "/bin/sh %s", s);
	run_once(&l, cmd.buf, LONG_TIMEOUT_USEC);
	/* not killed, not blocked on a full pipe */
	assert_true(l.done.last.exited);
	assert_int_equal(l.done.last.exit_status, 0);
	assert_true(l.done.last.stderr_truncated);
	assert_int_equal(strlen(l.done.stderr_text), HOOK_STDERR_MAX);
	for (p = logbuf.buf; (p = strstr(p, ": stderr: line ")); p++)
		lines++;
	assert_int_equal(lines, 64);
	assert_non_null(strstr(logbuf.buf, "more lines not logged)"));
	assert_non_null(strstr(logbuf.buf, "stderr: (output beyond 4096 bytes "
			       "dropped)"));
	loop_close(&l);
	drop_script(s, &cmd);
}

static bool process_gone(pid_t pid)
{
	char path[64], *stat;
	bool gone;

	if (kill(pid, 0) < 0)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = slurp(path);
	if (!stat)
		return true;
	/* "pid (comm) Z ...": a zombie waiting for init counts as gone */
	gone = strstr(stat, ") Z ") != NULL;
	free(stat);
	return gone;
}

static void test_hang_killed(void **state)
{
	static const struct {
		const char *body;
		int signal; /* what ends the shell */
	} cases[] = {
		/* ignores SIGTERM (and so does its sleep): SIGKILL after the
		 * grace period */
		{ "trap '' TERM\nsleep 30 &\necho $! > \"$1\"\nwait\nwait\n",
		  SIGKILL },
		/* dies of SIGTERM; its background child too (process group) */
		{ "sleep 30 &\necho $! > \"$1\"\nwait\n", SIGTERM },
		/* exits at once, leaving a child that holds stderr open: at
		 * the limit what is left of the group is killed */
		{ "sleep 30 &\necho $! > \"$1\"\nexit 0\n", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loop l;
		char *s = script("hang.sh", cases[i].body);
		char *pidfile = path_of("hang.pid"), *text;
		struct strbuf cmd = STRBUF_INIT;
		pid_t grandchild;
		int k;

		loop_open(&l, 0, 0);
		strbuf_printf(&cmd, "/bin/sh %s %s", s, pidfile);
		run_once(&l, cmd.buf, SHORT_TIMEOUT_USEC);
		assert_true(l.done.last.timed_out);
		assert_int_equal(l.done.last.signal, cases[i].signal);
		if (cases[i].signal) {
			assert_false(l.done.last.exited);
			assert_non_null(strstr(logbuf.buf, "OnRunEnd /bin/sh "
					       "(pipeline staging) did not finish "
					       "within 0.2 s; killed by signal"));
		} else {
			assert_true(l.done.last.exited);
			assert_int_equal(l.done.last.exit_status, 0);
			assert_non_null(strstr(logbuf.buf, "OnRunEnd /bin/sh "
					       "(pipeline staging) did not finish "
					       "within 0.2 s; exit status 0"));
		}
		text = slurp(pidfile);
		assert_non_null(text);
		grandchild = (pid_t)atoi(text);
		assert_true(grandchild > 0);
		for (k = 0; k < 600 && !process_gone(grandchild); k++)
			(void)sd_event_run(l.event, LOOP_STEP_USEC);
		assert_true(process_gone(grandchild));
		free(text);
		loop_close(&l);
		unlink(pidfile);
		free(pidfile);
		drop_script(s, &cmd);
	}
}

static void test_bad_commands(void **state)
{
	struct loop l;

	(void)state;
	loop_open(&l, 0, 0);
	assert_int_equal(hook_run(l.runner, "/nonexistent/hook --to ops",
				  LONG_TIMEOUT_USEC, &gated), -ENOENT);
	assert_non_null(strstr(logbuf.buf, "<3>personalize-retrain: error: "
			       "OnRunEnd: cannot run /nonexistent/hook (pipeline "
			       "staging): No such file or directory"));
	assert_null(strstr(logbuf.buf, "--to")); /* arguments stay out */
	assert_int_equal(hook_run(l.runner, "no-such-hook-program-xyz",
				  LONG_TIMEOUT_USEC, &gated), -ENOENT);
	assert_int_equal(hook_run(l.runner, "/bin/sh -c 'unterminated",
				  LONG_TIMEOUT_USEC, &gated), -EINVAL);
	assert_non_null(strstr(logbuf.buf, "OnRunEnd: the command is empty or "
			       "has an unterminated quote"));
	assert_int_equal(hook_run(l.runner, "   ", LONG_TIMEOUT_USEC, &gated),
			 -EINVAL);
	assert_int_equal(hook_run(l.runner, NULL, LONG_TIMEOUT_USEC, &gated),
			 -EINVAL);
	{
		struct hook_run_info bad = { .pipeline = "p" }; /* no outcome */

		assert_int_equal(hook_run(l.runner, "/bin/true", 0, &bad),
				 -EINVAL);
	}
	assert_int_equal(hook_runner_running(l.runner), 0);
	assert_int_equal(l.done.calls, 0);
	loop_close(&l);
}

struct ticker {
	int ticks;
	char *go;
};

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ticker *t = userdata;

	if (++t->ticks == 3) {
		int fd = open(t->go, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(sd_event_source_set_time(s, usec + 20000), 0);
	return 0;
}

static void test_loop_not_blocked(void **state)
{
	struct loop l;
	struct ticker t = { 0, NULL };
	sd_event_source *timer = NULL;
	/* waits (bounded) for a file that only the loop's timer creates */
	char *s = script("wait.sh",
			 "i=0\n"
			 "while [ ! -e \"$1\" ]; do\n"
			 "  i=$((i + 1)); [ $i -gt 3000 ] && exit 9\n"
			 "  sleep 0.01\n"
			 "done\n"
			 "exit 0\n");
	struct strbuf cmd = STRBUF_INIT;
	(void)state;
	t.go = path_of("go");
	loop_open(&l, 0, 0);
	assert_true(sd_event_add_time_relative(l.event, &timer, CLOCK_MONOTONIC,
					       20000, 0, on_tick, &t) >= 0);
	assert_true(sd_event_source_set_enabled(timer, SD_EVENT_ON) >= 0);
	strbuf_printf(&cmd, "/bin/sh %s %s", s, t.go);
	run_once(&l, cmd.buf, LONG_TIMEOUT_USEC);
	assert_true(l.done.last.exited);
	assert_int_equal(l.done.last.exit_status, 0);
	assert_true(t.ticks >= 3);
	sd_event_source_disable_unref(timer);
	loop_close(&l);
	unlink(t.go);
	free(t.go);
	drop_script(s, &cmd);
}

static void test_queue(void **state)
{
	struct loop l;
	char *s = script("q.sh", "echo \"$PIPELINE\" >&2\n");
	struct strbuf cmd = STRBUF_INIT;
	struct hook_run_info info = gated;
	static const char *names[] = { "a", "b", "c", "d" };
	size_t i;

	(void)state;
	loop_open(&l, 1, 2);
	strbuf_printf(&cmd, "/bin/sh %s", s);
	for (i = 0; i < 4; i++) {
		info.pipeline = names[i];
		assert_int_equal(hook_run(l.runner, cmd.buf, LONG_TIMEOUT_USEC,
					  &info), i < 3 ? 0 : -EAGAIN);
	}
	assert_int_equal(hook_runner_running(l.runner), 1);
	assert_int_equal(hook_runner_queued(l.runner), 2);
	assert_non_null(strstr(logbuf.buf, "OnRunEnd /bin/sh (pipeline d) not "
			       "run: 2 hooks already waiting"));
	run_until_calls(&l, 3);
	assert_string_equal(l.done.order, "abc");
	assert_int_equal(hook_runner_running(l.runner), 0);
	assert_int_equal(hook_runner_queued(l.runner), 0);

	/* freeing with hooks running and queued: killed, reaped, dropped */
	for (i = 0; i < 3; i++) {
		info.pipeline = names[i];
		assert_int_equal(hook_run(l.runner, "/bin/sh -c 'sleep 30'",
					  LONG_TIMEOUT_USEC, &info), 0);
	}
	loop_close(&l);
	assert_non_null(strstr(logbuf.buf, "(pipeline a) killed: shutting down"));
	assert_non_null(strstr(logbuf.buf, "(pipeline c) not run: shutting down"));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child left */
	assert_int_equal(errno, ECHILD);
	drop_script(s, &cmd);
}

static void test_config_checks(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *err;
	} cmds[] = {
		{ "/bin/sh -c 'echo hi'", 0, NULL },
		{ "mail -s 'retrain done' ops@example.com", 0, NULL },
		{ "", -EINVAL, "empty command; give a program and its arguments, "
		  "e.g. /usr/local/bin/notify --to ops" },
		{ "/bin/sh -c 'x", -EINVAL, "unterminated quote or trailing "
		  "backslash; quote words with '...' or \"...\" (no shell runs "
		  "the command)" },
		{ "/nonexistent/notify", -ENOENT, "program /nonexistent/notify: "
		  "No such file or directory" },
		{ "@plain", -EACCES, NULL },
		{ "/ --x", -EACCES, "program / is not an executable file" },
	};
	size_t i;
	char err[256];

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc;

		err[0] = '\0';
		if (cmds[i].in[0] == '@') { /* a file without any x bit */
			char *p = script("plain", "exit 0\n");
			struct strbuf want = STRBUF_INIT;

			assert_int_equal(chmod(p, 0644), 0);
			rc = hook_check_command(p, err, sizeof(err));
			strbuf_printf(&want, "program %s is not an executable "
				      "file", p);
			assert_string_equal(err, want.buf);
			strbuf_free(&want);
			unlink(p);
			free(p);
		} else {
			rc = hook_check_command(cmds[i].in, err, sizeof(err));
		}
		if (rc != cmds[i].rc)
			fail_msg("\"%s\": %d (%s)", cmds[i].in, rc, err);
		if (cmds[i].err)
			assert_string_equal(err, cmds[i].err);
	}
}

static int setup(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_DEBUG);
	log_set_sink(capture, NULL);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	strbuf_free(&logbuf);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_no_expansion),
		cmocka_unit_test(test_exit_status_and_stderr),
		cmocka_unit_test(test_stderr_bounded),
		cmocka_unit_test(test_hang_killed),
		cmocka_unit_test(test_bad_commands),
		cmocka_unit_test(test_loop_not_blocked),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_config_checks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
