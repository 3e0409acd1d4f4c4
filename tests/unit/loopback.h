/* loopback.h - a scripted HTTP/1.1 server on 127.0.0.1 for the transport
 * tests: fork()ed, poll()-driven, several connections, keep-alive, each request
 * answered by the next action of a script (the last action repeats).
 * Every request received is appended to a log file the test reads back.
 * The child dies with its parent (PR_SET_PDEATHSIG) and lb_stop() always
 * kills and reaps it. loopback.c is linked into every unit test binary. */
#ifndef PR_TEST_LOOPBACK_H
#define PR_TEST_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>


enum lb_kind {
	LB_REPLY,     /* status, headers, body with Content-Length */
	LB_RESET,     /* read the request, then close with RST */
	LB_CLOSE,     /* read the request, then close without a reply */
	LB_STALL,     /* read the request, never answer; wait for the client
			 to give up (close), then serve the next connection */
	LB_TRUNCATE,  /* announce Content-Length 1000, send part, close */
	LB_SLOW,      /* like LB_REPLY, after 100 ms, headers and body sent
			 in separate writes 50 ms apart */
};

struct lb_action {
	enum lb_kind kind;
	int status;
	const char *headers;  /* extra header lines, each ending in "\r\n" */
	const char *body;
};

struct loopback {
	pid_t pid;
	int port;
	char log_path[64];
};

#define LB_MAX_REQUEST (256 * 1024)
#define LB_SEPARATOR "\n=====\n"

/* Start the server with a script of n (>= 1) actions. 0 or -1. */
int lb_start(struct loopback *lb, const struct lb_action *acts,
	     size_t n);

/* Kill and reap the server, remove its log. Safe to call twice. */
void lb_stop(struct loopback *lb);

/* Everything the server received so far (malloc'd, NUL-terminated). */
char *lb_log(const struct loopback *lb);

/* Number of requests the server received. */
unsigned lb_requests(const struct loopback *lb);

#endif
