/* loopback.c - the scripted HTTP/1.1 server of loopback.h. */
#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int lb_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one request into buf; returns its length, 0 on EOF, -1 on error. */
static ssize_t lb_read_request(int fd, char *buf, size_t size)
{
	size_t len = 0, need = 0;
	char *hend = NULL;

	for (;;) {
		ssize_t n;

		if (hend && len >= need)
			return (ssize_t)need;
		if (len + 1 >= size)
			return -1;
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return len == 0 ? 0 : -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t body = 0;

			if (cl && cl < hend)
				body = strtoul(cl + 17, NULL, 10);
			need = (size_t)(hend - buf) + 4 + body;
			if (need >= size)
				return -1;
		}
	}
}

#define LB_MAX_CONN 32

/* Answer one request on cfd with action a. Returns true to keep the
 * connection open (keep-alive), false to close it. *stalled is set for
 * LB_STALL (keep open, never answer). */
static bool lb_act(int cfd, const struct lb_action *a, bool *stalled)
{
	char head[1024];
	size_t blen = a->body ? strlen(a->body) : 0;
	int hl;

	switch (a->kind) {
	case LB_RESET: {
		struct linger lg = { 1, 0 };

		setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		return false;
	}
	case LB_CLOSE:
		return false;
	case LB_STALL:
		*stalled = true;
		return true;
	case LB_SLOW:
		usleep(100 * 1000);
		break;
	case LB_REPLY:
	case LB_TRUNCATE:
		break;
	}
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n%s\r\n",
		      a->status, a->kind == LB_TRUNCATE ? (size_t)1000 : blen,
		      a->headers ? a->headers : "");
	if (lb_write_all(cfd, head, (size_t)hl) < 0)
		return false;
	if (a->kind == LB_SLOW)
		usleep(50 * 1000);
	if (lb_write_all(cfd, a->body ? a->body : "", blen) < 0)
		return false;
	return a->kind != LB_TRUNCATE;
}

static void lb_serve(int lfd, int logfd, const struct lb_action *acts,
		     size_t n_acts)
{
	static char buf[LB_MAX_REQUEST];
	struct pollfd pfd[LB_MAX_CONN + 1];
	bool stalled[LB_MAX_CONN + 1];
	size_t count = 0, n = 1, i;

	pfd[0] = (struct pollfd){ lfd, POLLIN, 0 };
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if ((pfd[0].revents & POLLIN) && n < LB_MAX_CONN + 1) {
			int cfd = accept(lfd, NULL, NULL);

			if (cfd >= 0) {
				pfd[n] = (struct pollfd){ cfd, POLLIN, 0 };
				stalled[n] = false;
				n++;
			}
		}
		for (i = 1; i < n; i++) {
			bool keep = true;
			ssize_t len;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			pfd[i].revents = 0;
			if (stalled[i]) {
				keep = read(pfd[i].fd, buf, sizeof(buf)) > 0;
			} else {
				len = lb_read_request(pfd[i].fd, buf,
						      sizeof(buf));
				if (len <= 0) {
					keep = false;
				} else {
					const struct lb_action *a = &acts[
						count < n_acts ? count
							       : n_acts - 1];

					count++;
					(void)lb_write_all(logfd, buf,
							   (size_t)len);
					(void)lb_write_all(logfd, LB_SEPARATOR,
						strlen(LB_SEPARATOR));
					keep = lb_act(pfd[i].fd, a,
						      &stalled[i]);
				}
			}
			if (!keep) {
				close(pfd[i].fd);
				pfd[i] = pfd[n - 1];
				stalled[i] = stalled[n - 1];
				n--;
				i--;
			}
		}
	}
}

/* Start the server with a script of n (>= 1) actions. 0 or -1. */
int lb_start(struct loopback *lb, const struct lb_action *acts,
	     size_t n)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int lfd, logfd;

	memset(lb, 0, sizeof(*lb));
	snprintf(lb->log_path, sizeof(lb->log_path), "/tmp/pr-lb-XXXXXX");
	logfd = mkstemp(lb->log_path);
	if (logfd < 0)
		return -1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		if (lfd >= 0)
			close(lfd);
		close(logfd);
		unlink(lb->log_path);
		return -1;
	}
	lb->port = ntohs(sa.sin_port);
	lb->pid = fork();
	if (lb->pid < 0) {
		close(lfd);
		close(logfd);
		unlink(lb->log_path);
		return -1;
	}
	if (lb->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		lb_serve(lfd, logfd, acts, n);
		_exit(0);
	}
	close(lfd);
	close(logfd);
	return 0;
}

/* Kill and reap the server, remove its log. Safe to call twice. */
void lb_stop(struct loopback *lb)
{
	if (lb->pid > 0) {
		kill(lb->pid, SIGKILL);
		while (waitpid(lb->pid, NULL, 0) < 0 && errno == EINTR)
			;
		lb->pid = 0;
	}
	if (lb->log_path[0]) {
		unlink(lb->log_path);
		lb->log_path[0] = '\0';
	}
}

/* Everything the server received so far (malloc'd, NUL-terminated). */
char *lb_log(const struct loopback *lb)
{
	FILE *f = fopen(lb->log_path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = len + 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Number of requests the server received. */
unsigned lb_requests(const struct loopback *lb)
{
	char *log = lb_log(lb), *p;
	unsigned n = 0;

	if (!log)
		return 0;
	for (p = log; (p = strstr(p, LB_SEPARATOR)); p += strlen(LB_SEPARATOR))
		n++;
	free(log);
	return n;
}
