/* http.c - libcurl multi socket API on sd-event; see include/http.h. */
#include "http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include <curl/curl.h>

#include "evtimer.h"
#include "log.h"
#include "strbuf.h"
#include "timeconst.h"

/* Timer slack for curl's timeout: curl asks for millisecond precision. */
#define HTTP_TIMER_ACCURACY_USEC 1000ULL
#define HTTP_ALLOWED_PROTOCOLS "http,https"
#define HTTP_IDLE_HANDLES 8

/* One socket libcurl asked us to watch (its socketp). */
struct io_watch {
	struct io_watch *prev, *next;
	sd_event_source *source;
};

struct http_client {
	sd_event *event;
	CURLM *multi;
	CURLSH *share;
	sd_event_source *timer;
	uint64_t timer_due;         /* CLOCK_MONOTONIC usec timer is armed for;
				       0: not armed */
	sd_event_source *now;       /* curl's "time out now": a defer source */
	struct io_watch *watches;   /* every socket source, freed at the end
				       even if curl never said REMOVE */
	char *ca_bundle;
	struct http_request *head;  /* in-flight requests */
	unsigned n_in_flight;
	/* finished requests' easy handles, reset, for the next requests (as
	 * libcurl advises: a new handle per request costs its allocation and
	 * set-up every call) */
	CURL *idle[HTTP_IDLE_HANDLES];
	unsigned n_idle;
};

struct resp_header {
	char *name;
	char *value;
};

struct http_request {
	struct http_client *client;  /* while in flight (NULL once detached) */
	struct http_client *owner;   /* always: its idle handles take ours */
	struct http_request *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	size_t body_len;
	struct strbuf resp;
	size_t max_response;
	bool too_large;
	/* grown on demand (up to HTTP_MAX_RESPONSE_HEADERS): a fixed array
	 * would make the request 1.4 kB, and every calloc of that size makes
	 * glibc consolidate its fast bins first: about 2% of the daemon's CPU
	 * per call (perf, `make bench`'s steady section) */
	struct resp_header *hdr;
	size_t n_hdr, cap_hdr;
	http_done_fn done;
	void *userdata;
	uint64_t start_usec;
	char errbuf[CURL_ERROR_SIZE];
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

const char *http_error_name(enum http_error e)
{
	switch (e) {
	case HTTP_OK: return "ok";
	case HTTP_ERR_TIMEOUT: return "timeout";
	case HTTP_ERR_CONNECT: return "connect";
	case HTTP_ERR_RESET: return "reset";
	case HTTP_ERR_DNS: return "dns";
	case HTTP_ERR_TLS: return "tls";
	case HTTP_ERR_PROTOCOL: return "protocol";
	case HTTP_ERR_TOO_LARGE: return "too-large";
	case HTTP_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

/* Map a finished transfer's CURLcode to our error classes. */
static enum http_error classify(CURLcode rc, bool too_large)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HTTP_ERR_DNS;
	case CURLE_COULDNT_CONNECT:
		return HTTP_ERR_CONNECT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTP_ERR_RESET;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
		return HTTP_ERR_TLS;
	case CURLE_WRITE_ERROR:
		return too_large ? HTTP_ERR_TOO_LARGE : HTTP_ERR_INTERNAL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_RANGE_ERROR:
		return HTTP_ERR_PROTOCOL;
	default:
		return HTTP_ERR_INTERNAL;
	}
}

/* ---- requests ---------------------------------------------------------- */

static void request_free(struct http_request *r)
{
	size_t i;

	if (!r)
		return;
	if (r->easy && r->owner && r->owner->n_idle < HTTP_IDLE_HANDLES) {
		curl_easy_reset(r->easy);  /* options, headers, share: gone */
		r->owner->idle[r->owner->n_idle++] = r->easy;
	} else if (r->easy) {
		curl_easy_cleanup(r->easy);
	}
	/* The headers may hold a session token or a signature. */
	for (struct curl_slist *h = r->headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(r->headers);
	free(r->body);
	strbuf_free(&r->resp);
	for (i = 0; i < r->n_hdr; i++) {
		free(r->hdr[i].name);
		free(r->hdr[i].value);
	}
	free(r->hdr);
	free(r);
}

static void request_clear_headers(struct http_request *r)
{
	size_t i;

	for (i = 0; i < r->n_hdr; i++) {
		free(r->hdr[i].name);
		free(r->hdr[i].value);
		r->hdr[i].name = r->hdr[i].value = NULL;
	}
	r->n_hdr = 0;
}

/* Unlink from the client's list and from the multi handle. */
static void request_detach(struct http_request *r)
{
	struct http_client *c = r->client;

	if (!c)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	if (r->easy)
		curl_multi_remove_handle(c->multi, r->easy);
	c->n_in_flight--;
	r->client = NULL;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *r = userdata;
	size_t n = size * nmemb;

	if (n > r->max_response || r->resp.len > r->max_response - n) {
		r->too_large = true;
		return 0;  /* makes curl fail with CURLE_WRITE_ERROR */
	}
	strbuf_append(&r->resp, data, n);
	if (strbuf_error(&r->resp) < 0)
		return 0;
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *r = userdata;
	size_t n = size * nmemb, nl, vs, ve;
	const char *colon;
	char *name, *value;

	/* A status line starts a new response (100-continue, redirects):
	 * only the final response's headers are kept. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		request_clear_headers(r);
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon || colon == data || is_blank(data[0]))
		return n;  /* blank line, folded continuation or junk */
	if (r->n_hdr >= HTTP_MAX_RESPONSE_HEADERS)
		return n;
	if (r->n_hdr == r->cap_hdr) {
		size_t cap = r->cap_hdr ? 2 * r->cap_hdr : 8;
		struct resp_header *h;

		if (cap > HTTP_MAX_RESPONSE_HEADERS)
			cap = HTTP_MAX_RESPONSE_HEADERS;
		h = realloc(r->hdr, cap * sizeof(*h));
		if (!h)
			return 0;  /* out of memory: abort the transfer */
		r->hdr = h;
		r->cap_hdr = cap;
	}
	nl = (size_t)(colon - data);
	vs = nl + 1;
	ve = n;
	while (vs < ve && is_blank(data[vs]))
		vs++;
	while (ve > vs && is_blank(data[ve - 1]))
		ve--;
	name = strndup(data, nl);
	value = strndup(data + vs, ve - vs);
	if (!name || !value) {
		free(name);
		free(value);
		return 0;  /* out of memory: abort the transfer */
	}
	r->hdr[r->n_hdr].name = name;
	r->hdr[r->n_hdr].value = value;
	r->n_hdr++;
	return n;
}

static const char *find_header(const struct http_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_hdr; i++)
		if (strcasecmp(r->hdr[i].name, name) == 0)
			return r->hdr[i].value;
	return NULL;
}

const char *http_response_header(const struct http_response *resp,
				 const char *name)
{
	if (!resp || !resp->internal_ || !name)
		return NULL;
	return find_header(resp->internal_, name);
}

/* Report a finished transfer and free it. */
static void request_complete(struct http_request *r, CURLcode rc)
{
	struct http_response resp;
	long status = 0;

	memset(&resp, 0, sizeof(resp));
	resp.error = classify(rc, r->too_large);
	if (rc == CURLE_OK)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (resp.error == HTTP_OK && status == 0) {
		resp.error = HTTP_ERR_PROTOCOL;  /* no status line at all */
		snprintf(r->errbuf, sizeof(r->errbuf), "no HTTP status");
	}
	resp.status = resp.error == HTTP_OK ? status : 0;
	if (resp.error == HTTP_ERR_TOO_LARGE)
		snprintf(r->errbuf, sizeof(r->errbuf),
			 "response body larger than %zu bytes", r->max_response);
	if (resp.error == HTTP_OK)
		resp.error_text = "";
	else if (r->errbuf[0])
		resp.error_text = r->errbuf;
	else
		resp.error_text = curl_easy_strerror(rc);
	resp.date = find_header(r, "Date");
	resp.request_id = find_header(r, "x-amzn-RequestId");
	if (!resp.request_id)
		resp.request_id = find_header(r, "x-amz-request-id");
	resp.error_type = find_header(r, "x-amzn-ErrorType");
	resp.content_type = find_header(r, "Content-Type");
	resp.body = r->resp.buf && resp.error == HTTP_OK ? r->resp.buf : "";
	resp.body_len = resp.error == HTTP_OK ? r->resp.len : 0;
	resp.elapsed_usec = now_usec() - r->start_usec;
	resp.internal_ = r;

	request_detach(r);
	if (r->done)
		r->done(&resp, r->userdata);
	request_free(r);
}

/* Hand every finished transfer to its callback. */
static void drain_finished(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct http_request *r = NULL;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				      (char **)&r) != CURLE_OK || !r) {
			curl_multi_remove_handle(c->multi, msg->easy_handle);
			continue;
		}
		request_complete(r, rc);
	}
}

/* ---- the event-loop glue ------------------------------------------------ */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct http_client *c = userdata;
	int action = 0, running = 0;

	(void)s;
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
		action |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (revents & EPOLLERR)
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, action, &running);
	drain_finished(c);
	return 0;
}

/* curl's timer is due, or fired before curl's deadline (see
 * arm_curl_timer): curl acts on what is due and, since it was asked to
 * run on a timeout, reports its next deadline again even when unchanged
 * (libcurl's multi_socket clears timer_lastcall for that case). */
static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct http_client *c = userdata;
	int running = 0;

	(void)s;
	(void)usec;
	c->timer_due = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain_finished(c);
	return 0;
}

static int on_now(sd_event_source *s, void *userdata)
{
	struct http_client *c = userdata;
	int running = 0;

	(void)s;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain_finished(c);
	return 0;
}

static void watch_free(struct http_client *c, struct io_watch *w)
{
	if (!w)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		c->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	sd_event_source_disable_unref(w->source);
	free(w);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget one socket. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct http_client *c = userp;
	struct io_watch *w = socketp;
	uint32_t events = 0;
	int r;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			curl_multi_assign(c->multi, fd, NULL);
			watch_free(c, w);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EPOLLOUT;
	if (w) {
		r = sd_event_source_set_io_events(w->source, events);
		if (r >= 0)
			r = sd_event_source_set_enabled(w->source, SD_EVENT_ON);
	} else {
		w = calloc(1, sizeof(*w));
		if (!w) {
			r = -ENOMEM;
			goto done;
		}
		r = sd_event_add_io(c->event, &w->source, fd, events, on_io, c);
		if (r < 0) {
			free(w);
			goto done;
		}
		(void)sd_event_source_set_description(w->source, "http-io");
		w->next = c->watches;
		if (c->watches)
			c->watches->prev = w;
		c->watches = w;
		if (curl_multi_assign(c->multi, fd, w) != CURLM_OK) {
			watch_free(c, w);
			r = -EIO;
		}
	}
done:
	if (r < 0) {
		log_error("http: cannot watch socket %d: %s", (int)fd,
			  strerror(-r));
		return -1;
	}
	return 0;
}

/* Arm our one timer for curl's timeout_ms (curl's timer function's
 * argument, or curl_multi_timeout's). 0 ("act now", what curl asks for
 * every request added and many a step) runs on the next loop iteration
 * from a defer source. Otherwise the timer is moved only when curl's
 * deadline is earlier than the one it is armed for: curl sets a deadline
 * one second ahead for every request (its speed check) and clears it when
 * the request ends, and following each of those would re-program the
 * timerfd twice per request. A timer that fires before curl's deadline
 * costs one curl_multi_socket_action that finds nothing to do, after which
 * curl reports its deadline again (on_timer); a timeout of -1 (none)
 * leaves an armed timer to fire once that way. */
static int arm_curl_timer(struct http_client *c, long timeout_ms)
{
	uint64_t now = 0, due;
	int r;

	if (timeout_ms < 0) {
		if (c->now)
			(void)sd_event_source_set_enabled(c->now, SD_EVENT_OFF);
		return 0;
	}
	if (timeout_ms == 0) {
		r = evtimer_arm_now(c->event, &c->now, on_now, c, "http-now");
		if (r < 0)
			log_error("http: cannot arm the now source: %s",
				  strerror(-r));
		return r;
	}
	if (c->now)
		(void)sd_event_source_set_enabled(c->now, SD_EVENT_OFF);
	(void)sd_event_now(c->event, CLOCK_MONOTONIC, &now);
	due = now + (uint64_t)timeout_ms * USEC_PER_MSEC;
	if (c->timer_due && c->timer_due <= due)
		return 0;  /* armed earlier already: on_timer re-arms */
	r = evtimer_arm_relative(c->event, &c->timer,
				 (uint64_t)timeout_ms * USEC_PER_MSEC,
				 HTTP_TIMER_ACCURACY_USEC, on_timer, c,
				 "http-timer");
	if (r < 0) {
		log_error("http: cannot arm timer: %s", strerror(-r));
		return r;
	}
	c->timer_due = due;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	return arm_curl_timer(userp, timeout_ms) < 0 ? -1 : 0;
}

/* ---- client ------------------------------------------------------------ */

/* The multi handle (it holds the connection cache), driven from the loop.
 * 0 or -EIO (c->multi is then NULL). */
static int multi_setup(struct http_client *c)
{
	c->multi = curl_multi_init();
	if (!c->multi)
		return -EIO;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket) ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c)) {
		curl_multi_cleanup(c->multi);
		c->multi = NULL;
		return -EIO;
	}
	return 0;
}

bool http_client_release_idle(struct http_client *c)
{
	if (!c)
		return true;
	while (c->n_idle > 0)
		curl_easy_cleanup(c->idle[--c->n_idle]);
	if (c->head)
		return false;  /* requests in flight: their connections stay */
	if (!c->multi)
		return true;
	/* a new multi handle: the old one closes its cached connections */
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while (c->watches)
		watch_free(c, c->watches);
	if (c->timer)
		(void)sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
	c->timer_due = 0;
	if (c->now)
		(void)sd_event_source_set_enabled(c->now, SD_EVENT_OFF);
	(void)multi_setup(c);  /* or at the next request */
	return true;
}

int http_client_new(sd_event *event, struct http_client **ret)
{
	static bool global_done;
	struct http_client *c = NULL;
	const char *ca;
	int r = -ENOMEM;

	if (!event || !ret)
		return -EINVAL;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		global_done = true;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto cleanup;
	c->event = sd_event_ref(event);
	ca = getenv("AWS_CA_BUNDLE");
	if (ca && *ca) {
		c->ca_bundle = strdup(ca);
		if (!c->ca_bundle)
			goto cleanup;
	}
	c->share = curl_share_init();
	if (!c->share || multi_setup(c) < 0) {
		r = -EIO;
		goto cleanup;
	}
	/* Single-threaded: no lock callbacks needed. */
	if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE,
			      CURL_LOCK_DATA_SSL_SESSION)) {
		r = -EIO;
		goto cleanup;
	}
	*ret = c;
	c = NULL;
	r = 0;
cleanup:
	http_client_free(c);
	return r;
}

struct http_client *http_client_free(struct http_client *c)
{
	if (!c)
		return NULL;
	while (c->head) {
		struct http_request *r = c->head;

		request_detach(r);
		request_free(r);
	}
	while (c->n_idle > 0)
		curl_easy_cleanup(c->idle[--c->n_idle]);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->share)
		curl_share_cleanup(c->share);
	while (c->watches)
		watch_free(c, c->watches);
	sd_event_source_disable_unref(c->timer);
	sd_event_source_disable_unref(c->now);
	sd_event_unref(c->event);
	free(c->ca_bundle);
	free(c);
	return NULL;
}

unsigned http_client_in_flight(const struct http_client *c)
{
	return c ? c->n_in_flight : 0;
}

static bool valid_header(const struct http_header *h)
{
	if (!h->name || !*h->name || !h->value)
		return false;
	if (strpbrk(h->name, "\r\n: \t"))
		return false;
	return strpbrk(h->value, "\r\n") == NULL;
}

static bool has_header(const struct http_request_spec *spec, const char *name)
{
	size_t i;

	for (i = 0; i < spec->n_headers; i++)
		if (strcasecmp(spec->headers[i].name, name) == 0)
			return true;
	return false;
}

static int append_header(struct curl_slist **list, const char *name,
			 const char *value, bool empty_means_remove)
{
	struct strbuf sb = STRBUF_INIT;
	struct curl_slist *n;
	int r;

	strbuf_puts(&sb, name);
	/* curl: "Name:" removes an internal header, "Name;" sends it empty. */
	if (!*value)
		strbuf_putc(&sb, empty_means_remove ? ':' : ';');
	else {
		/* not strbuf_printf: this runs for every header of every
		 * request, and a format pass cost more than the copy */
		strbuf_puts(&sb, ": ");
		strbuf_puts(&sb, value);
	}
	r = strbuf_error(&sb);
	if (r < 0)
		goto cleanup;
	n = curl_slist_append(*list, sb.buf);
	if (!n) {
		r = -ENOMEM;
		goto cleanup;
	}
	*list = n;
cleanup:
	/* Header values may be signatures or tokens: wipe the copy. */
	strbuf_free_secure(&sb);
	return r;
}

static int setup_method(CURL *e, const struct http_request_spec *spec,
			struct http_request *r, bool *has_body)
{
	const char *m = spec->method;
	bool ok = true;

	*has_body = false;
	if (strcmp(m, "GET") == 0) {
		ok = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	} else if (strcmp(m, "HEAD") == 0) {
		ok = curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
	} else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
		   strcmp(m, "DELETE") == 0 || strcmp(m, "PATCH") == 0) {
		/* POST semantics with the method name replaced: the body is
		 * sent with a Content-Length, never chunked. */
		ok = curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)r->body_len) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				      r->body ? r->body : "") == CURLE_OK;
		if (ok && strcmp(m, "POST") != 0)
			ok = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) ==
			     CURLE_OK;
		*has_body = true;
	} else {
		return -EINVAL;
	}
	return ok ? 0 : -EIO;
}

/* The proxy as the SDKs take it from the environment (see http.h). */
static bool set_proxy(CURL *e, const struct http_request_spec *spec)
{
	const char *upper = getenv("HTTP_PROXY"), *lower = getenv("http_proxy");

	if (spec->no_proxy)
		return curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK;
	if (strncasecmp(spec->url, "http://", 7) == 0 && !lower && upper &&
	    *upper)
		return curl_easy_setopt(e, CURLOPT_PROXY, upper) == CURLE_OK;
	return true;
}

int http_request_start(struct http_client *c,
		       const struct http_request_spec *spec,
		       http_done_fn done, void *userdata,
		       struct http_request **ret)
{
	struct http_request *r = NULL;
	bool has_body = false, ok;
	CURL *e;
	size_t i;
	int rc;

	if (!c || !spec || !spec->method || !spec->url || !done ||
	    (spec->body_len && !spec->body) ||
	    (spec->n_headers && !spec->headers))
		return -EINVAL;
	if (strncasecmp(spec->url, "http://", 7) != 0 &&
	    strncasecmp(spec->url, "https://", 8) != 0)
		return -EINVAL;
	for (i = 0; i < spec->n_headers; i++)
		if (!valid_header(&spec->headers[i]))
			return -EINVAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = -ENOMEM;
	r->done = done;
	r->userdata = userdata;
	r->max_response = spec->max_response_bytes ? spec->max_response_bytes
						    : HTTP_DEFAULT_MAX_RESPONSE_BYTES;
	r->body_len = spec->body_len;
	r->body = malloc(spec->body_len + 1);
	if (!r->body)
		goto cleanup;
	if (spec->body_len)
		memcpy(r->body, spec->body, spec->body_len);
	r->body[spec->body_len] = '\0';

	for (i = 0; i < spec->n_headers; i++) {
		rc = append_header(&r->headers, spec->headers[i].name,
				   spec->headers[i].value, false);
		if (rc < 0)
			goto cleanup;
	}
	/* No "Expect: 100-continue" round trip; no form content type that
	 * the caller did not ask for (it would not be signed). */
	rc = append_header(&r->headers, "Expect", "", true);
	if (rc < 0)
		goto cleanup;

	rc = -EIO;
	if (!c->multi && multi_setup(c) < 0)
		goto cleanup;
	r->owner = c;
	e = r->easy = c->n_idle ? c->idle[--c->n_idle] : curl_easy_init();
	if (!e)
		goto cleanup;
	rc = setup_method(e, spec, r, &has_body);
	if (rc < 0)
		goto cleanup;
	if (has_body && !has_header(spec, "Content-Type")) {
		rc = append_header(&r->headers, "Content-Type", "", true);
		if (rc < 0)
			goto cleanup;
	}
	rc = -EIO;
	ok = curl_easy_setopt(e, CURLOPT_URL, spec->url) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SHARE, c->share) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
			      HTTP_ALLOWED_PROTOCOLS) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
			      HTTP_ALLOWED_PROTOCOLS) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			      (long)(spec->connect_timeout_ms ?
				     spec->connect_timeout_ms :
				     HTTP_DEFAULT_CONNECT_TIMEOUT_MS)) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			      (long)(spec->total_timeout_ms ?
				     spec->total_timeout_ms :
				     HTTP_DEFAULT_TOTAL_TIMEOUT_MS)) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT,
			      (long)HTTP_LOW_SPEED_BYTES) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
			      (long)HTTP_LOW_SPEED_SECONDS) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_FRESH_CONNECT,
			      spec->fresh_connection ? 1L : 0L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L) ==
		     CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_HEADERDATA, r) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK &&
	     set_proxy(e, spec);
	if (ok && c->ca_bundle)
		ok = curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle) ==
		     CURLE_OK;
	if (!ok)
		goto cleanup;

	r->start_usec = now_usec();
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		goto cleanup;
	r->client = c;
	r->next = c->head;
	if (c->head)
		c->head->prev = r;
	c->head = r;
	c->n_in_flight++;
	if (ret)
		*ret = r;
	r = NULL;
	rc = 0;
cleanup:
	request_free(r);
	return rc;
}

void http_request_cancel(struct http_request *req)
{
	if (!req)
		return;
	request_detach(req);
	request_free(req);
}
