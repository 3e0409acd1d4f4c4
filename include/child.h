/* child.h - run a program as a child process from the sd-event loop:
 * spawned without a shell, one of its output streams read through the
 * loop, reaped through a pidfd (no SIGCHLD handling needed, so nothing
 * else's children are touched), killed after a timeout. Nothing here
 * blocks the loop, except child_cancel()'s short wait after SIGKILL.
 *
 * Shared by credential_process (creds_process.c) and the run hooks
 * (hook.c).
 *
 * The child gets: stdin /dev/null; the captured stream on a pipe; the
 * other of stdout/stderr inherited or /dev/null; no other descriptor of
 * ours (closefrom); an empty signal mask and default dispositions (the
 * daemon blocks signals for sd-event). */
#ifndef PR_CHILD_H
#define PR_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

struct child_spec {
	/* argv[0] is looked up in PATH when it holds no '/'. */
	char *const *argv;
	/* The child's environment; NULL: the daemon's own. */
	char *const *envp;
	/* Which stream comes back to us: STDOUT_FILENO or STDERR_FILENO. */
	int capture_fd;
	/* The other of stdout/stderr: /dev/null (true) or inherited. */
	bool other_to_null;
	/* Output kept, in bytes (> 0). */
	size_t max_output;
	/* More output than max_output: SIGKILL the child (true), or read
	 * and drop the excess, reporting `truncated` (false). */
	bool kill_on_overflow;
	/* Run time limit on CLOCK_MONOTONIC; 0: none. */
	uint64_t timeout_usec;
	/* At the limit: 0 sends SIGKILL; else SIGTERM, then SIGKILL this
	 * long after. */
	uint64_t kill_grace_usec;
	/* The child leads its own process group and signals go to the
	 * whole group (a shell script's children die with it). When the
	 * child has exited but its stream is still open at the time limit,
	 * the rest of the group gets SIGKILL. */
	bool process_group;
	/* The output may hold secrets: wipe it when freed. */
	bool secret_output;
};

struct child_result {
	int status;          /* waitpid() status (WIFEXITED, ...) */
	bool timed_out;      /* the limit was reached; the child was killed */
	bool overflow;       /* more than max_output bytes came */
	const char *output;  /* NUL-terminated; valid during the callback */
	size_t len;
};

/* Called once from the event loop when the child has exited and its
 * stream reached EOF (or was abandoned after a kill). The child object is
 * freed after it returns. */
typedef void (*child_done_fn)(const struct child_result *res, void *userdata);

struct child;

/* Start the program. 0 and *out; -EINVAL (bad spec); -errno from
 * posix_spawn (-ENOENT: no such program, -EACCES: not executable), from
 * pipe2/pidfd_open or sd-event. Nothing is logged: the caller reports. */
int child_spawn(sd_event *event, const struct child_spec *spec,
		child_done_fn done, void *userdata, struct child **out);

/* Kill (SIGKILL) and reap a child that has not finished, free it; its
 * callback is not called. NULL is fine. Not from inside its callback. */
void child_cancel(struct child *c);

/* Its process id (for logs and tests). */
pid_t child_pid(const struct child *c);

/* Split a command line like a POSIX shell splits words, without any
 * expansion: blanks separate words; '...' is literal; "..." keeps
 * blanks, and \ escapes \ " $ ` and newline in it; \ outside quotes
 * escapes the next character. No variables, globs, redirections or
 * pipes: those characters are plain text. 0 with *argv (one malloc'd
 * block, NULL-terminated; free() it) and *argc; -EINVAL (empty, or an
 * unterminated quote or trailing backslash); -ENOMEM. The words are
 * wiped from the scratch buffer (they may hold secrets). */
int child_split_command(const char *cmd, char ***argv, size_t *argc);

#endif
