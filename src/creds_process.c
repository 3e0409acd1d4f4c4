/* creds_process.c - credential_process: split the command, spawn it
 * without a shell, read its stdout through sd-event, reap it through a
 * pidfd, parse the JSON. Nothing here blocks the loop. */
#include "creds-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"

extern char **environ;

#define USEC_PER_SEC 1000000ULL

/* ---- command splitting ----------------------------------------------------- */

int creds_split_command(const char *cmd, char ***argv_out, size_t *argc_out)
{
	struct strbuf words = STRBUF_INIT;
	const char *p = cmd;
	size_t argc = 0, i, off;
	char **argv = NULL, *store;
	int r = -EINVAL;

	if (!cmd || !argv_out)
		return -EINVAL;
	for (;;) {
		bool in_word = false;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			in_word = true;
			if (*p == '\'') {
				const char *e = strchr(p + 1, '\'');

				if (!e)
					goto cleanup;
				strbuf_append(&words, p + 1, (size_t)(e - p - 1));
				p = e + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1] &&
					    strchr("\\\"$`\n", p[1])) {
						if (p[1] != '\n')
							strbuf_putc(&words, p[1]);
						p += 2;
					} else {
						strbuf_putc(&words, *p++);
					}
				}
				if (*p != '"')
					goto cleanup;
				p++;
			} else if (*p == '\\') {
				if (!p[1])
					goto cleanup;
				if (p[1] != '\n')
					strbuf_putc(&words, p[1]);
				p += 2;
			} else {
				strbuf_putc(&words, *p++);
			}
		}
		if (in_word) {
			strbuf_putc(&words, '\0');
			argc++;
		}
	}
	if (argc == 0)
		goto cleanup;
	r = strbuf_error(&words);
	if (r < 0)
		goto cleanup;
	argv = malloc((argc + 1) * sizeof(char *) + words.len);
	if (!argv) {
		r = -ENOMEM;
		goto cleanup;
	}
	store = (char *)(argv + argc + 1);
	memcpy(store, words.buf, words.len);
	for (i = 0, off = 0; i < argc; i++) {
		argv[i] = store + off;
		off += strlen(store + off) + 1;
	}
	argv[argc] = NULL;
	*argv_out = argv;
	if (argc_out)
		*argc_out = argc;
	r = 0;
cleanup:
	strbuf_free_secure(&words);
	return r;
}

/* ---- the job ----------------------------------------------------------------- */

struct process_job {
	struct creds_job base;
	sd_event *event;
	sd_event_source *out_src, *exit_src, *timer_src;
	int out_fd, pidfd;
	pid_t pid;
	bool eof, exited, timed_out, too_big;
	int status;
	char *program; /* argv[0], for messages (the rest may hold secrets) */
	struct strbuf output;
	creds_job_done_fn done;
	void *userdata;
};

static void job_release(struct process_job *j)
{
	sd_event_source_disable_unref(j->out_src);
	sd_event_source_disable_unref(j->exit_src);
	sd_event_source_disable_unref(j->timer_src);
	j->out_src = j->exit_src = j->timer_src = NULL;
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->pid > 0 && !j->exited) {
		/* cancelled or failing while the child runs: SIGKILL takes
		 * effect at once, so this wait is short */
		(void)kill(j->pid, SIGKILL);
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (j->pidfd >= 0)
		close(j->pidfd);
	j->out_fd = j->pidfd = -1;
	strbuf_free_secure(&j->output);
	free(j->program);
	sd_event_unref(j->event);
	free(j);
}

static void job_cancel(struct creds_job *base)
{
	job_release((struct process_job *)base);
}

static void job_finish(struct process_job *j)
{
	creds_job_done_fn done = j->done;
	void *userdata = j->userdata;
	struct creds *c = NULL;
	int r;

	if (j->timed_out) {
		log_error("AWS credentials: credential_process %s did not "
			  "finish within %d s; killed", j->program,
			  CREDS_PROCESS_TIMEOUT_SEC);
		r = -ETIMEDOUT;
	} else if (j->too_big) {
		log_error("AWS credentials: credential_process %s wrote more "
			  "than %d bytes", j->program,
			  CREDS_MAX_PROCESS_OUTPUT);
		r = -EFBIG;
	} else if (!WIFEXITED(j->status) || WEXITSTATUS(j->status) != 0) {
		if (WIFEXITED(j->status))
			log_error("AWS credentials: credential_process %s "
				  "exited with status %d", j->program,
				  WEXITSTATUS(j->status));
		else
			log_error("AWS credentials: credential_process %s "
				  "killed by signal %d", j->program,
				  WIFSIGNALED(j->status) ? WTERMSIG(j->status)
							 : 0);
		r = -EIO;
	} else {
		r = creds_parse_process_json(j->output.buf ? j->output.buf
							   : "",
					     j->output.len, &c);
		if (r == 0)
			log_debug("AWS credentials: from credential_process %s",
				  j->program);
	}
	job_release(j);
	done(r, r == 0 ? c : NULL, userdata);
}

static void maybe_finish(struct process_job *j)
{
	if (j->eof && j->exited)
		job_finish(j);
}

static void stop_output(struct process_job *j)
{
	j->out_src = sd_event_source_disable_unref(j->out_src);
	if (j->out_fd >= 0)
		close(j->out_fd);
	j->out_fd = -1;
	j->eof = true;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct process_job *j = userdata;
	char buf[4096];
	ssize_t n;

	(void)s;
	(void)revents;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* EOF or a read error: no more output */
			stop_output(j);
			break;
		}
		if (j->output.len + (size_t)n > CREDS_MAX_PROCESS_OUTPUT) {
			j->too_big = true;
			stop_output(j);
			(void)kill(j->pid, SIGKILL);
			break;
		}
		strbuf_append(&j->output, buf, (size_t)n);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	maybe_finish(j);
	return 0;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents,
		   void *userdata)
{
	struct process_job *j = userdata;
	pid_t r;

	(void)s;
	(void)fd;
	(void)revents;
	do
		r = waitpid(j->pid, &j->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0; /* spurious */
	if (r < 0)
		j->status = 0x7f00; /* "exited 127": unknown */
	j->exited = true;
	j->exit_src = sd_event_source_disable_unref(j->exit_src);
	maybe_finish(j);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct process_job *j = userdata;

	(void)s;
	(void)usec;
	j->timed_out = true;
	(void)kill(j->pid, SIGKILL);
	stop_output(j); /* a grandchild may hold the pipe open */
	maybe_finish(j);
	return 0;
}

int creds_process_start(sd_event *event, const char *command,
			creds_job_done_fn done, void *userdata,
			struct creds_job **job_out)
{
	struct process_job *j = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_init = false, attr_init = false;
	char **argv = NULL;
	int pipefd[2] = { -1, -1 };
	sigset_t none, all;
	int r;

	if (!event || !command || !done || !job_out)
		return -EINVAL;
	r = creds_split_command(command, &argv, NULL);
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
	j->out_fd = j->pidfd = -1;
	j->event = sd_event_ref(event);
	j->done = done;
	j->userdata = userdata;
	j->program = strdup(argv[0]);
	if (!j->program) {
		r = -ENOMEM;
		goto fail;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
		r = -r;
		goto fail;
	}
	fa_init = true;
	if ((r = posix_spawnattr_init(&attr)) != 0) {
		r = -r;
		goto fail;
	}
	attr_init = true;
	/* the daemon blocks signals for sd-event: give the child defaults */
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
						  "/dev/null", O_RDONLY, 0)) ||
	    (r = posix_spawn_file_actions_adddup2(&fa, pipefd[1],
						  STDOUT_FILENO)) ||
	    /* nothing else of ours (sockets, the journal) leaks into it */
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa,
							  STDERR_FILENO + 1)) ||
	    (r = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (r = posix_spawnattr_setsigdefault(&attr, &all)) ||
	    (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						 POSIX_SPAWN_SETSIGDEF))) {
		r = -r;
		goto fail;
	}
	r = posix_spawnp(&j->pid, argv[0], &fa, &attr, argv, environ);
	if (r != 0) {
		log_error("AWS credentials: cannot run credential_process %s: "
			  "%s", j->program, strerror(r));
		j->pid = 0;
		r = -r;
		goto fail;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	j->out_fd = pipefd[0];
	pipefd[0] = -1;
	if (fcntl(j->out_fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	j->pidfd = pidfd_open(j->pid, 0);
	if (j->pidfd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = sd_event_add_io(event, &j->out_src, j->out_fd, EPOLLIN,
				 on_output, j)) < 0 ||
	    (r = sd_event_add_io(event, &j->exit_src, j->pidfd, EPOLLIN,
				 on_child_exit, j)) < 0 ||
	    (r = sd_event_add_time_relative(event, &j->timer_src,
					    CLOCK_MONOTONIC,
					    CREDS_PROCESS_TIMEOUT_SEC *
						    USEC_PER_SEC,
					    0, on_timeout, j)) < 0)
		goto fail;
	*job_out = &j->base;
	j = NULL;
	r = 0;
fail:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
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
