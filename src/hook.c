/* hook.c - OnRunEnd= run hooks (see hook.h). */
#include "hook.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "strbuf.h"
#include "timeconst.h"

#define HOOK_MAX_LOG_LINES 64 /* stderr lines logged per hook */

/* Variables of the daemon's environment a hook sees (none is a secret;
 * see hook.h). PATH is handled apart (it gets a default). */
static const char *const passthrough[] = {
	"HOME", "LANG", "LC_ALL", "TZ", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
};
#define N_PASSTHROUGH (sizeof(passthrough) / sizeof(passthrough[0]))
#define N_RUN_VARS 9 /* PIPELINE ... REASON, RUN_KIND, BATCH_OUTPUT */
#define ENV_MAX (N_RUN_VARS + 1 + N_PASSTHROUGH + 1)

struct hook_job {
	struct hook_job *next, *prev;
	struct hook_runner *owner;
	struct child *child;
	char **argv;          /* one block (child_split_command) */
	char *env[ENV_MAX];   /* malloc'd "K=V", NULL-terminated */
	char *pipeline;
	uint64_t timeout_usec;
};

struct hook_runner {
	sd_event *event;
	unsigned max_running;
	size_t max_queued;
	uint64_t grace_usec;
	char *name;
	hook_done_fn done;
	void *userdata;
	struct hook_job *running;           /* doubly linked */
	struct hook_job *queue_head, *queue_tail;
	unsigned n_running;
	size_t n_queued;
};

static void hook_log(int priority, const char *pipeline, const char *fmt, ...)
	PR_PRINTF(3, 4);
static void hook_log(int priority, const char *pipeline, const char *fmt, ...)
{
	struct strbuf field = STRBUF_INIT;
	const char *fields[2] = { NULL, NULL };
	va_list ap;

	if (pipeline) {
		strbuf_printf(&field, "PIPELINE=%s", pipeline);
		if (strbuf_error(&field) == 0)
			fields[0] = field.buf;
	}
	va_start(ap, fmt);
	log_structv(priority, fields, fmt, ap);
	va_end(ap);
	strbuf_free(&field);
}

static void job_free(struct hook_job *j)
{
	size_t i;

	if (!j)
		return;
	child_cancel(j->child);
	free(j->argv);
	for (i = 0; i < ENV_MAX; i++)
		free(j->env[i]);
	free(j->pipeline);
	free(j);
}

static int env_add(struct hook_job *j, size_t *n, const char *key,
		   const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	if (*n + 1 >= ENV_MAX)
		return -E2BIG;
	strbuf_printf(&sb, "%s=%s", key, value ? value : "");
	if (strbuf_error(&sb) < 0) {
		strbuf_free(&sb);
		return -ENOMEM;
	}
	j->env[(*n)++] = strbuf_detach(&sb);
	return 0;
}

static int build_env(struct hook_job *j, const struct hook_run_info *info)
{
	char duration[32];
	const char *path = getenv("PATH");
	size_t n = 0, i;
	int r;

	snprintf(duration, sizeof(duration), "%llu",
		 (unsigned long long)info->duration_s);
	if ((r = env_add(j, &n, "PIPELINE", info->pipeline)) < 0 ||
	    (r = env_add(j, &n, "OUTCOME", info->outcome)) < 0 ||
	    (r = env_add(j, &n, "STAGE", info->stage)) < 0 ||
	    (r = env_add(j, &n, "SOLUTION_VERSION_ARN",
			 info->solution_version_arn)) < 0 ||
	    (r = env_add(j, &n, "CAMPAIGN_ARN", info->campaign_arn)) < 0 ||
	    (r = env_add(j, &n, "DURATION_S", duration)) < 0 ||
	    (r = env_add(j, &n, "REASON", info->reason)) < 0 ||
	    (r = env_add(j, &n, "RUN_KIND",
			 info->kind ? info->kind : "retrain")) < 0 ||
	    (r = env_add(j, &n, "BATCH_OUTPUT", info->batch_output)) < 0 ||
	    (r = env_add(j, &n, "PATH", path && *path ? path
						      : HOOK_DEFAULT_PATH)) < 0)
		return r;
	for (i = 0; i < N_PASSTHROUGH; i++) {
		const char *v = getenv(passthrough[i]);

		if (v && (r = env_add(j, &n, passthrough[i], v)) < 0)
			return r;
	}
	return 0;
}

/* Log captured stderr line by line, control characters shown as '?'. */
static void log_stderr(const struct hook_runner *r, const struct hook_job *j,
		       const char *text, size_t len, bool truncated)
{
	struct strbuf line = STRBUF_INIT;
	unsigned lines = 0, skipped = 0;
	size_t i = 0;

	while (i < len) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		strbuf_reset(&line);
		if (e > i && text[e - 1] == '\r')
			e--; /* CRLF line end */
		for (; i < e; i++) {
			unsigned char c = (unsigned char)text[i];

			strbuf_putc(&line, (c < 0x20 && c != '\t') || c == 0x7f
						   ? '?' : (char)c);
		}
		while (i < len && text[i] != '\n')
			i++;
		i++;
		while (line.len && (line.buf[line.len - 1] == ' ' ||
				    line.buf[line.len - 1] == '\t'))
			line.buf[--line.len] = '\0';
		if (!line.len || strbuf_error(&line) < 0)
			continue;
		if (lines++ >= HOOK_MAX_LOG_LINES) {
			skipped++;
			continue;
		}
		hook_log(LOG_INFO, j->pipeline, "%s %s: stderr: %s", r->name,
			 j->argv[0], line.buf);
	}
	if (skipped)
		hook_log(LOG_INFO, j->pipeline, "%s %s: stderr: (%u more "
			 "lines not logged)", r->name, j->argv[0], skipped);
	if (truncated)
		hook_log(LOG_INFO, j->pipeline, "%s %s: stderr: (output beyond "
			 "%u bytes dropped)", r->name, j->argv[0],
			 HOOK_STDERR_MAX);
	strbuf_free(&line);
}

static void start_queued(struct hook_runner *r);

static void report(struct hook_runner *r, const struct hook_report *rep)
{
	if (r->done)
		r->done(rep, r->userdata);
}

static void unlink_running(struct hook_runner *r, struct hook_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		r->running = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
	r->n_running--;
}

static void on_child_done(const struct child_result *res, void *userdata)
{
	struct hook_job *j = userdata;
	struct hook_runner *r = j->owner;
	struct hook_report rep;

	j->child = NULL; /* the child module frees it after we return */
	unlink_running(r, j);
	memset(&rep, 0, sizeof(rep));
	rep.pipeline = j->pipeline;
	rep.program = j->argv[0];
	rep.timed_out = res->timed_out;
	rep.stderr_text = res->output;
	rep.stderr_truncated = res->overflow;
	if (WIFEXITED(res->status)) {
		rep.exited = true;
		rep.exit_status = WEXITSTATUS(res->status);
	} else if (WIFSIGNALED(res->status)) {
		rep.signal = WTERMSIG(res->status);
	}
	log_stderr(r, j, res->output, res->len, res->overflow);
	if (res->timed_out && rep.signal)
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) did "
			 "not finish within %g s; killed by signal %d (%s)",
			 r->name, j->argv[0], j->pipeline,
			 (double)j->timeout_usec / USEC_PER_SEC, rep.signal,
			 strsignal(rep.signal));
	else if (res->timed_out)
		/* it exited (after SIGTERM, or before the limit while
		 * something it started kept its stderr open) */
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) did "
			 "not finish within %g s; exit status %d",
			 r->name, j->argv[0], j->pipeline,
			 (double)j->timeout_usec / USEC_PER_SEC,
			 rep.exit_status);
	else if (rep.exited && rep.exit_status == 0)
		hook_log(LOG_INFO, j->pipeline, "%s %s (pipeline %s) exited "
			 "with status 0", r->name, j->argv[0], j->pipeline);
	else if (rep.exited)
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) failed "
			 "with exit status %d", r->name, j->argv[0],
			 j->pipeline, rep.exit_status);
	else
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) killed "
			 "by signal %d (%s)", r->name, j->argv[0], j->pipeline,
			 rep.signal, strsignal(rep.signal));
	report(r, &rep);
	job_free(j);
	start_queued(r);
}

/* Spawn j; on failure log and leave j to the caller. */
static int start_job(struct hook_runner *r, struct hook_job *j)
{
	struct child_spec spec = {
		.argv = j->argv,
		.envp = j->env,
		.capture_fd = STDERR_FILENO,
		.other_to_null = true,
		.max_output = HOOK_STDERR_MAX,
		.kill_on_overflow = false,
		.timeout_usec = j->timeout_usec,
		.kill_grace_usec = r->grace_usec,
		.process_group = true,
	};
	int rc;

	rc = child_spawn(r->event, &spec, on_child_done, j, &j->child);
	if (rc < 0) {
		hook_log(LOG_ERR, j->pipeline, "%s: cannot run %s (pipeline "
			 "%s): %s", r->name, j->argv[0], j->pipeline,
			 strerror(-rc));
		return rc;
	}
	j->next = r->running;
	j->prev = NULL;
	if (r->running)
		r->running->prev = j;
	r->running = j;
	r->n_running++;
	hook_log(LOG_DEBUG, j->pipeline, "%s %s started (pid %d)", r->name,
		 j->argv[0], (int)child_pid(j->child));
	return 0;
}

static void start_queued(struct hook_runner *r)
{
	while (r->queue_head && r->n_running < r->max_running) {
		struct hook_job *j = r->queue_head;
		int rc;

		r->queue_head = j->next;
		if (!r->queue_head)
			r->queue_tail = NULL;
		j->next = NULL;
		r->n_queued--;
		rc = start_job(r, j);
		if (rc < 0) {
			struct hook_report rep = {
				.pipeline = j->pipeline,
				.program = j->argv[0],
				.spawn_error = rc,
				.stderr_text = "",
			};

			report(r, &rep);
			job_free(j);
		}
	}
}

int hook_runner_new(sd_event *event, const struct hook_runner_options *opt,
		    struct hook_runner **out)
{
	struct hook_runner *r;

	if (!event || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->name = strdup(opt && opt->name && *opt->name ? opt->name
							: "OnRunEnd");
	if (!r->name) {
		free(r);
		return -ENOMEM;
	}
	r->event = sd_event_ref(event);
	r->max_running = opt && opt->max_running ? opt->max_running
						 : HOOK_DEFAULT_MAX_RUNNING;
	r->max_queued = opt && opt->max_queued ? opt->max_queued
					       : HOOK_DEFAULT_MAX_QUEUED;
	r->grace_usec = opt && opt->kill_grace_usec ? opt->kill_grace_usec
						    : HOOK_KILL_GRACE_USEC;
	if (opt) {
		r->done = opt->done;
		r->userdata = opt->userdata;
	}
	*out = r;
	return 0;
}

struct hook_runner *hook_runner_free(struct hook_runner *r)
{
	struct hook_job *j, *next;

	if (!r)
		return NULL;
	for (j = r->running; j; j = next) {
		next = j->next;
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) "
			 "killed: shutting down", r->name, j->argv[0],
			 j->pipeline);
		job_free(j); /* SIGKILL to its group, reaped */
	}
	for (j = r->queue_head; j; j = next) {
		next = j->next;
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) not "
			 "run: shutting down", r->name, j->argv[0],
			 j->pipeline);
		job_free(j);
	}
	sd_event_unref(r->event);
	free(r->name);
	free(r);
	return NULL;
}

int hook_run(struct hook_runner *r, const char *command,
	     uint64_t timeout_usec, const struct hook_run_info *info)
{
	struct hook_job *j = NULL;
	int rc;

	if (!r || !info || !info->pipeline || !info->outcome)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->owner = r;
	j->timeout_usec = timeout_usec ? timeout_usec
				       : HOOK_DEFAULT_TIMEOUT_S * USEC_PER_SEC;
	j->pipeline = strdup(info->pipeline);
	if (!j->pipeline) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = command ? child_split_command(command, &j->argv, NULL) : -EINVAL;
	if (rc == -EINVAL)
		hook_log(LOG_ERR, j->pipeline, "%s: the command is empty or "
			 "has an unterminated quote", r->name);
	if (rc < 0)
		goto fail;
	rc = build_env(j, info);
	if (rc < 0)
		goto fail;
	if (r->n_running < r->max_running) {
		rc = start_job(r, j);
		if (rc < 0)
			goto fail;
		return 0;
	}
	if (r->n_queued >= r->max_queued) {
		hook_log(LOG_WARNING, j->pipeline, "%s %s (pipeline %s) not "
			 "run: %zu hooks already waiting", r->name, j->argv[0],
			 j->pipeline, r->n_queued);
		rc = -EAGAIN;
		goto fail;
	}
	if (r->queue_tail)
		r->queue_tail->next = j;
	else
		r->queue_head = j;
	r->queue_tail = j;
	r->n_queued++;
	return 0;
fail:
	job_free(j);
	return rc;
}

unsigned hook_runner_running(const struct hook_runner *r)
{
	return r ? r->n_running : 0;
}

size_t hook_runner_queued(const struct hook_runner *r)
{
	return r ? r->n_queued : 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	PR_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int hook_check_command(const char *s, char *err, size_t errlen)
{
	char **argv = NULL;
	struct stat st;
	int r;

	if (!s)
		return -EINVAL;
	r = child_split_command(s, &argv, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		const char *p = s;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			set_err(err, errlen, "empty command; give a program "
				"and its arguments, e.g. /usr/local/bin/notify "
				"--to ops");
		else
			set_err(err, errlen, "unterminated quote or trailing "
				"backslash; quote words with '...' or \"...\" "
				"(no shell runs the command)");
		return -EINVAL;
	}
	if (strchr(argv[0], '/')) {
		if (stat(argv[0], &st) < 0) {
			r = -errno;
			set_err(err, errlen, "program %s: %s", argv[0],
				strerror(errno));
		} else if (!S_ISREG(st.st_mode) ||
			   access(argv[0], X_OK) < 0) {
			r = -EACCES;
			set_err(err, errlen, "program %s is not an executable "
				"file", argv[0]);
		}
	}
	free(argv);
	return r;
}
