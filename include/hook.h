/* hook.h - run hooks: OnRunEnd= is started after every run.
 *
 * Without a shell. The command line is split into words like a POSIX
 * shell splits them ('...', "...", backslash), with no expansion of any
 * kind ($VAR, globs, ~, |, >, ; are plain characters), and argv[0] is
 * looked up in PATH when it holds no '/'. Why: the run's values (REASON
 * holds text from AWS, e.g. a failureReason) reach the hook only through
 * its environment, never through a command line a shell would parse, so
 * no value can inject a command; and what runs is exactly what the
 * operator wrote. An operator who wants a shell writes one:
 *     OnRunEnd=/bin/sh -c 'echo "$PIPELINE $OUTCOME" | mail -s retrain ops'
 *
 * Environment (and nothing else of the daemon's):
 *   PIPELINE, OUTCOME (succeeded|failed|gated|...), STAGE (the stage the
 *   run ended in), SOLUTION_VERSION_ARN, CAMPAIGN_ARN, DURATION_S (whole
 *   seconds), REASON (one line; "" when succeeded), RUN_KIND, BATCH_OUTPUT
 *   (the batch job's output location, s3://bucket/prefix/, when the run's
 *   batch job ended ACTIVE; "" otherwise);
 *   PATH (the daemon's, or HOOK_DEFAULT_PATH), and when set in the daemon's
 *   environment: HOME, LANG, LC_ALL, TZ, AWS_REGION, AWS_DEFAULT_REGION,
 *   AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE.
 *   Never passed: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *   AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE),
 *   CREDENTIALS_DIRECTORY, NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*: a hook
 *   needing AWS (`aws sns publish`) finds credentials the way the CLI
 *   does (instance role, a profile named by AWS_PROFILE, its own files),
 *   and cannot talk to systemd as if it were the daemon.
 *
 * I/O: stdin /dev/null; stdout /dev/null; stderr captured (the first
 * HOOK_STDERR_MAX bytes; the rest is read and dropped) and logged line by
 * line, then one line with its exit status, with PIPELINE= in the journal
 * fields. No descriptor of the daemon leaks into it.
 *
 * Time: killed after the timeout (OnRunEndTimeout): SIGTERM to its process
 * group, SIGKILL HOOK_KILL_GRACE_USEC later. Never blocks the loop: the
 * child is watched through a pidfd and its stderr through sd-event (no
 * SIGCHLD handler; see child.h).
 *
 * Many pipelines: at most max_running hooks run at once; the others wait
 * in a FIFO of at most max_queued (beyond: refused and logged). */
#ifndef PR_HOOK_H
#define PR_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "hook_config.h"

#define HOOK_DEFAULT_TIMEOUT_S 60u
#define HOOK_KILL_GRACE_USEC   (5ULL * 1000000ULL)
#define HOOK_STDERR_MAX        4096u
#define HOOK_DEFAULT_MAX_RUNNING 8u
#define HOOK_DEFAULT_MAX_QUEUED  1024u
#define HOOK_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What the run's end looks like to the hook (borrowed during hook_run). */
struct hook_run_info {
	const char *pipeline;             /* required */
	const char *outcome;              /* required: "succeeded", "failed",
					     "gated", ... */
	const char *stage;                /* NULL: "" */
	const char *solution_version_arn; /* NULL: "" */
	const char *campaign_arn;         /* NULL: "" */
	const char *reason;               /* NULL: "" */
	const char *kind;                 /* RUN_KIND: "retrain" (NULL) or
					     "rollback" */
	const char *batch_output;         /* BATCH_OUTPUT; NULL: "" */
	uint64_t duration_s;
};

/* What became of one hook (for the driver and tests; it is logged
 * already). Valid only during the callback. */
struct hook_report {
	const char *pipeline;
	const char *program;      /* argv[0] (arguments may hold secrets) */
	int spawn_error;          /* 0, or -errno: it did not start */
	bool exited;              /* exit_status is valid */
	int exit_status;
	int signal;               /* killed by this signal, else 0 */
	bool timed_out;
	const char *stderr_text;  /* captured stderr ("" if none) */
	bool stderr_truncated;
};
typedef void (*hook_done_fn)(const struct hook_report *rep, void *userdata);

struct hook_runner_options {
	unsigned max_running;     /* 0: HOOK_DEFAULT_MAX_RUNNING */
	size_t max_queued;        /* 0: HOOK_DEFAULT_MAX_QUEUED */
	uint64_t kill_grace_usec; /* 0: HOOK_KILL_GRACE_USEC */
	const char *name;         /* key for messages; NULL: "OnRunEnd" */
	hook_done_fn done;        /* optional: told after each hook that
				     hook_run() accepted (returned 0) has
				     ended, or failed to start from the
				     queue (spawn_error) */
	void *userdata;
};

struct hook_runner;

/* New runner on event. opt may be NULL (defaults). 0 and *out; -EINVAL;
 * -ENOMEM. */
int hook_runner_new(sd_event *event, const struct hook_runner_options *opt,
		    struct hook_runner **out);

/* Kill (SIGKILL) and reap running hooks, drop queued ones (logged), free.
 * NULL is fine; returns NULL. Not from inside a done callback. */
struct hook_runner *hook_runner_free(struct hook_runner *r);

/* Start command (OnRunEnd) for a finished run, or queue it. Returns at
 * once; the outcome is logged (and told to opt->done) later from the loop.
 * 0: started or queued. -EINVAL: empty command, unterminated quote, bad
 * info (logged); -EAGAIN: queue full (logged); -ENOMEM; -errno of the
 * spawn (-ENOENT: no such program, -EACCES: not executable), logged as
 * "OnRunEnd: cannot run PROGRAM: ...". timeout_usec 0:
 * HOOK_DEFAULT_TIMEOUT_S. */
int hook_run(struct hook_runner *r, const char *command,
	     uint64_t timeout_usec, const struct hook_run_info *info);

/* Hooks running now / waiting. */
unsigned hook_runner_running(const struct hook_runner *r);
size_t hook_runner_queued(const struct hook_runner *r);

/* The config check of OnRunEnd: hook_config.h. */

#endif
