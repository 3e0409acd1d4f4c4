/* creds_process.c - credential_process: split the command, run it through
 * the child module (no shell, stdout read through sd-event, reaped through
 * a pidfd, killed after CREDS_PROCESS_TIMEOUT_SEC), parse the JSON.
 * Nothing here blocks the loop. */
#include "creds-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "child.h"
#include "log.h"
#include "timeconst.h"

/* ---- the job ----------------------------------------------------------------- */

struct process_job {
	struct creds_job base;
	struct child *child;
	char *program; /* argv[0], for messages (the rest may hold secrets) */
	creds_job_done_fn done;
	void *userdata;
};

static void job_release(struct process_job *j)
{
	child_cancel(j->child);
	free(j->program);
	free(j);
}

static void job_cancel(struct creds_job *base)
{
	job_release((struct process_job *)base);
}

static void on_child_done(const struct child_result *res, void *userdata)
{
	struct process_job *j = userdata;
	creds_job_done_fn done = j->done;
	void *done_userdata = j->userdata;
	struct creds *c = NULL;
	int r;

	j->child = NULL; /* freed by the child module after we return */
	if (res->timed_out) {
		log_error("AWS credentials: credential_process %s did not "
			  "finish within %d s; killed", j->program,
			  CREDS_PROCESS_TIMEOUT_SEC);
		r = -ETIMEDOUT;
	} else if (res->overflow) {
		log_error("AWS credentials: credential_process %s wrote more "
			  "than %d bytes", j->program,
			  CREDS_MAX_PROCESS_OUTPUT);
		r = -EFBIG;
	} else if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0) {
		if (WIFEXITED(res->status))
			log_error("AWS credentials: credential_process %s "
				  "exited with status %d", j->program,
				  WEXITSTATUS(res->status));
		else
			log_error("AWS credentials: credential_process %s "
				  "killed by signal %d", j->program,
				  WIFSIGNALED(res->status)
					  ? WTERMSIG(res->status) : 0);
		r = -EIO;
	} else {
		r = creds_parse_process_json(res->output, res->len, &c);
		if (r == 0)
			log_debug("AWS credentials: from credential_process %s",
				  j->program);
	}
	job_release(j);
	done(r, r == 0 ? c : NULL, done_userdata);
}

int creds_process_start(sd_event *event, const char *command,
			creds_job_done_fn done, void *userdata,
			struct creds_job **job_out)
{
	struct process_job *j = NULL;
	struct child_spec spec = {
		.capture_fd = STDOUT_FILENO,
		.other_to_null = false, /* its stderr goes where ours goes */
		.max_output = CREDS_MAX_PROCESS_OUTPUT,
		.kill_on_overflow = true,
		.timeout_usec = CREDS_PROCESS_TIMEOUT_SEC * USEC_PER_SEC,
		.kill_grace_usec = 0,
		.secret_output = true,
	};
	char **argv = NULL;
	int r;

	if (!event || !command || !done || !job_out)
		return -EINVAL;
	r = child_split_command(command, &argv, NULL);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("AWS credentials: credential_process is empty "
				  "or has an unterminated quote");
		return r;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		r = -ENOMEM;
		goto fail;
	}
	j->base.cancel = job_cancel;
	j->done = done;
	j->userdata = userdata;
	j->program = strdup(argv[0]);
	if (!j->program) {
		r = -ENOMEM;
		goto fail;
	}
	spec.argv = argv;
	r = child_spawn(event, &spec, on_child_done, j, &j->child);
	if (r < 0) {
		log_error("AWS credentials: cannot run credential_process %s: "
			  "%s", j->program, strerror(-r));
		goto fail;
	}
	*job_out = &j->base;
	j = NULL;
	r = 0;
fail:
	if (j)
		job_release(j);
	if (argv) {
		/* the arguments may hold secrets */
		size_t i;

		for (i = 0; argv[i]; i++)
			OPENSSL_cleanse(argv[i], strlen(argv[i]));
		free(argv);
	}
	return r;
}
