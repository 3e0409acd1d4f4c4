/* child.c - spawn a program without a shell, read one of its streams
 * through sd-event, reap it through a pidfd, kill it after a timeout
 * (see child.h). */
#include "child.h"

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

#include "strbuf.h"

extern char **environ;

/* ---- command splitting ------------------------------------------------------- */

int child_split_command(const char *cmd, char ***argv_out, size_t *argc_out)
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

/* ---- the child ------------------------------------------------------------------ */

struct child {
	sd_event *event;
	sd_event_source *out_src, *exit_src, *timer_src;
	int out_fd, pidfd;
	pid_t pid;
	bool eof, exited, timed_out, overflow, killed, group;
	bool kill_on_overflow, secret;
	int status;
	size_t max_output;
	uint64_t grace_usec;
	struct strbuf output;
	child_done_fn done;
	void *userdata;
};

/* Signal the child (or its group) while it is not reaped: its pid, and so
 * its process group id, cannot have been reused yet. */
static void child_signal(struct child *c, int sig)
{
	if (c->pid <= 0 || c->exited)
		return;
	if (sig == SIGKILL)
		c->killed = true;
	if (c->group)
		(void)kill(-c->pid, sig);
	else if (c->pidfd >= 0)
		(void)pidfd_send_signal(c->pidfd, sig, NULL, 0);
	else
		(void)kill(c->pid, sig);
}

static void child_release(struct child *c)
{
	sd_event_source_disable_unref(c->out_src);
	sd_event_source_disable_unref(c->exit_src);
	sd_event_source_disable_unref(c->timer_src);
	c->out_src = c->exit_src = c->timer_src = NULL;
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->pid > 0 && !c->exited) {
		/* cancelled or failing while the child runs: SIGKILL takes
		 * effect at once, so this wait is short */
		child_signal(c, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->out_fd = c->pidfd = -1;
	if (c->secret)
		strbuf_free_secure(&c->output);
	else
		strbuf_free(&c->output);
	sd_event_unref(c->event);
	free(c);
}

void child_cancel(struct child *c)
{
	if (c)
		child_release(c);
}

pid_t child_pid(const struct child *c)
{
	return c ? c->pid : 0;
}

static void maybe_finish(struct child *c)
{
	struct child_result res;
	child_done_fn done = c->done;
	void *userdata = c->userdata;

	if (!c->eof || !c->exited)
		return;
	memset(&res, 0, sizeof(res));
	res.status = c->status;
	res.timed_out = c->timed_out;
	res.overflow = c->overflow;
	res.output = c->output.buf && strbuf_error(&c->output) == 0
			     ? c->output.buf : "";
	res.len = c->output.buf && strbuf_error(&c->output) == 0
			  ? c->output.len : 0;
	/* sources off first: the callback may run the loop or free others */
	c->timer_src = sd_event_source_disable_unref(c->timer_src);
	done(&res, userdata);
	child_release(c);
}

static void stop_output(struct child *c)
{
	c->out_src = sd_event_source_disable_unref(c->out_src);
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	c->eof = true;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct child *c = userdata;
	char buf[4096];
	ssize_t n;

	(void)s;
	(void)revents;
	for (;;) {
		size_t room;

		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* EOF or a read error: no more output */
			stop_output(c);
			break;
		}
		room = c->max_output - c->output.len;
		if ((size_t)n > room) {
			c->overflow = true;
			if (c->kill_on_overflow) {
				stop_output(c);
				child_signal(c, SIGKILL);
				break;
			}
			strbuf_append(&c->output, buf, room);
			continue; /* keep draining: the child must not block */
		}
		strbuf_append(&c->output, buf, (size_t)n);
	}
	if (c->secret)
		OPENSSL_cleanse(buf, sizeof(buf));
	maybe_finish(c);
	return 0;
}

static int on_exit_event(sd_event_source *s, int fd, uint32_t revents,
			 void *userdata)
{
	struct child *c = userdata;
	pid_t r;

	(void)s;
	(void)fd;
	(void)revents;
	do
		r = waitpid(c->pid, &c->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0; /* spurious */
	if (r < 0)
		c->status = 0x7f00; /* "exited 127": unknown */
	c->exited = true;
	c->exit_src = sd_event_source_disable_unref(c->exit_src);
	maybe_finish(c);
	return 0;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct child *c = userdata;

	(void)s;
	(void)usec;
	child_signal(c, SIGKILL);
	stop_output(c); /* a grandchild may hold the pipe open */
	maybe_finish(c);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct child *c = userdata;
	int r;

	(void)s;
	(void)usec;
	c->timed_out = true;
	if (c->exited) {
		/* gone, but something it started holds the stream open. In
		 * group mode, SIGKILL what is left of the group: while a
		 * member holds the pipe the group id is in use and cannot
		 * name anybody else's group. */
		if (c->group)
			(void)kill(-c->pid, SIGKILL);
		stop_output(c);
		maybe_finish(c);
		return 0;
	}
	if (c->grace_usec > 0) {
		child_signal(c, SIGTERM);
		c->timer_src = sd_event_source_disable_unref(c->timer_src);
		r = sd_event_add_time_relative(c->event, &c->timer_src,
					       CLOCK_MONOTONIC, c->grace_usec,
					       0, on_kill_timer, c);
		if (r >= 0)
			return 0;
	}
	return on_kill_timer(s, usec, c);
}

int child_spawn(sd_event *event, const struct child_spec *spec,
		child_done_fn done, void *userdata, struct child **out)
{
	struct child *c = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_init = false, attr_init = false;
	int pipefd[2] = { -1, -1 };
	sigset_t none, all;
	short flags;
	int other, r;

	if (!event || !spec || !spec->argv || !spec->argv[0] ||
	    !spec->argv[0][0] || !done || !out || spec->max_output == 0 ||
	    (spec->capture_fd != STDOUT_FILENO &&
	     spec->capture_fd != STDERR_FILENO))
		return -EINVAL;
	other = spec->capture_fd == STDOUT_FILENO ? STDERR_FILENO
						  : STDOUT_FILENO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->out_fd = c->pidfd = -1;
	c->event = sd_event_ref(event);
	c->done = done;
	c->userdata = userdata;
	c->max_output = spec->max_output;
	c->kill_on_overflow = spec->kill_on_overflow;
	c->grace_usec = spec->kill_grace_usec;
	c->group = spec->process_group;
	c->secret = spec->secret_output;
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
	flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (spec->process_group)
		flags |= POSIX_SPAWN_SETPGROUP; /* pgroup 0: its own */
	if ((r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
						  "/dev/null", O_RDONLY, 0)) ||
	    (r = posix_spawn_file_actions_adddup2(&fa, pipefd[1],
						  spec->capture_fd)) ||
	    (spec->other_to_null &&
	     (r = posix_spawn_file_actions_addopen(&fa, other, "/dev/null",
						   O_WRONLY, 0))) ||
	    /* nothing else of ours (sockets, the journal) leaks into it */
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa,
							  STDERR_FILENO + 1)) ||
	    (r = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (r = posix_spawnattr_setsigdefault(&attr, &all)) ||
	    (spec->process_group &&
	     (r = posix_spawnattr_setpgroup(&attr, 0))) ||
	    (r = posix_spawnattr_setflags(&attr, flags))) {
		r = -r;
		goto fail;
	}
	r = posix_spawnp(&c->pid, spec->argv[0], &fa, &attr, spec->argv,
			 spec->envp ? spec->envp : environ);
	if (r != 0) {
		c->pid = 0;
		r = -r;
		goto fail;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	c->out_fd = pipefd[0];
	pipefd[0] = -1;
	if (fcntl(c->out_fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = sd_event_add_io(event, &c->out_src, c->out_fd, EPOLLIN,
				 on_output, c)) < 0 ||
	    (r = sd_event_add_io(event, &c->exit_src, c->pidfd, EPOLLIN,
				 on_exit_event, c)) < 0)
		goto fail;
	if (spec->timeout_usec > 0 &&
	    (r = sd_event_add_time_relative(event, &c->timer_src,
					    CLOCK_MONOTONIC,
					    spec->timeout_usec, 0, on_timeout,
					    c)) < 0)
		goto fail;
	*out = c;
	c = NULL;
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
	if (c)
		child_release(c);
	return r;
}
