/* http.h - asynchronous HTTP(S) client: libcurl's multi socket API driven
 * by an sd-event loop.
 *
 * One http_client per event loop owns one curl multi handle (plus a share
 * handle for DNS, TLS sessions and connections), so connections are reused
 * across requests. libcurl's sockets are watched with sd_event_add_io and its
 * single timeout with one one-shot timer; finished transfers are drained with
 * curl_multi_info_read. No function here ever blocks the loop, and a
 * request's callback is always invoked from the loop, never from inside
 * http_request_start().
 *
 * Every transfer: CURLOPT_NOSIGNAL, protocols (and redirects) limited to
 * http and https, redirects not followed, TLS peer and host verification
 * always on (AWS_CA_BUNDLE, read when the client is created, replaces the
 * CA bundle), a low-speed abort, per-request connect and total timeouts.
 * The proxy comes from the environment as the SDKs read it: libcurl's own
 * variables (http_proxy, https_proxy, HTTPS_PROXY, all_proxy, no_proxy,
 * NO_PROXY), and HTTP_PROXY for http:// URLs when http_proxy is unset
 * (libcurl ignores the upper-case name; the SDKs honour it). A request
 * with no_proxy set never goes through a proxy (CURLOPT_NOPROXY "*"): the
 * instance metadata and container credential endpoints are link-local
 * and must not be sent to a proxy, whatever NO_PROXY says.
 *
 * Nothing in this module logs header values or bodies: callers sign their
 * requests and the headers may carry secrets. */
#ifndef PR_HTTP_H
#define PR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

/* Defaults used when a request spec leaves a field 0. */
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define HTTP_DEFAULT_TOTAL_TIMEOUT_MS   60000u
#define HTTP_DEFAULT_MAX_RESPONSE_BYTES (8u * 1024u * 1024u)
/* A transfer slower than LOW_SPEED_BYTES/s for LOW_SPEED_SECONDS is aborted
 * (reported as HTTP_ERR_TIMEOUT). */
#define HTTP_LOW_SPEED_BYTES   1
#define HTTP_LOW_SPEED_SECONDS 30
/* At most this many response headers are kept per response. */
#define HTTP_MAX_RESPONSE_HEADERS 64

struct http_client;   /* one per event loop */
struct http_request;  /* one in-flight transfer */

/* What became of a transfer, as a class the retry logic can act on. */
enum http_error {
	HTTP_OK = 0,        /* a complete response arrived (any HTTP status) */
	HTTP_ERR_TIMEOUT,   /* connect, total or low-speed timeout */
	HTTP_ERR_CONNECT,   /* connection refused, host or network unreachable */
	HTTP_ERR_RESET,     /* reset, empty reply, send/receive error,
			       truncated body */
	HTTP_ERR_DNS,       /* host or proxy name did not resolve */
	HTTP_ERR_TLS,       /* TLS handshake or certificate verification */
	HTTP_ERR_PROTOCOL,  /* malformed HTTP, unsupported protocol, bad URL */
	HTTP_ERR_TOO_LARGE, /* response body beyond max_response_bytes */
	HTTP_ERR_INTERNAL,  /* out of memory, unexpected curl failure */
};

/* Short stable name of an error class ("timeout", "connect", ...). */
const char *http_error_name(enum http_error e);

struct http_header {
	const char *name;   /* e.g. "X-Amz-Target" */
	const char *value;  /* "" sends the header with an empty value */
};

/* One request. Everything is copied by http_request_start(): the caller may
 * free it as soon as that returns. */
struct http_request_spec {
	const char *method;              /* "GET", "POST", "PUT", "DELETE" */
	const char *url;                 /* http:// or https:// only */
	const struct http_header *headers;
	size_t n_headers;
	const void *body;                /* may be NULL when body_len is 0 */
	size_t body_len;
	uint32_t connect_timeout_ms;     /* 0: HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
	uint32_t total_timeout_ms;       /* 0: HTTP_DEFAULT_TOTAL_TIMEOUT_MS */
	size_t max_response_bytes;       /* 0: HTTP_DEFAULT_MAX_RESPONSE_BYTES */
	/* A new connection for this request (CURLOPT_FRESH_CONNECT): libcurl
	 * re-sends a request on its own when a reused keep-alive connection
	 * dies before the reply starts, which a non-idempotent call must not
	 * risk (the server may have run it). */
	bool fresh_connection;
	/* Never through a proxy (see the top comment). */
	bool no_proxy;
};

/* The outcome handed to the callback. Valid only during the callback. */
struct http_response {
	enum http_error error;   /* HTTP_OK when a response arrived */
	const char *error_text;  /* curl's explanation when error != HTTP_OK
				    (never NULL; "" on success) */
	long status;             /* HTTP status code; 0 without a response */
	/* Convenience copies of the headers AWS clients need; NULL if absent. */
	const char *date;         /* Date */
	const char *request_id;   /* x-amzn-RequestId (or x-amz-request-id) */
	const char *error_type;   /* x-amzn-ErrorType */
	const char *content_type; /* Content-Type */
	const char *body;         /* NUL-terminated (never NULL; "" if none) */
	size_t body_len;          /* without the NUL */
	uint64_t elapsed_usec;    /* start to completion, CLOCK_MONOTONIC */
	const void *internal_;    /* for http_response_header(); do not use */
};

/* Value of response header `name` (case-insensitive, first occurrence,
 * surrounding blanks trimmed), or NULL. Only the final response's headers
 * are kept (no 100-continue or proxy CONNECT headers). */
const char *http_response_header(const struct http_response *resp,
				 const char *name);

/* Called exactly once per started request unless it was cancelled (or the
 * client freed) first. The request handle is dead once this returns. The
 * callback may start new requests and cancel other ones; it must not free
 * the client. */
typedef void (*http_done_fn)(const struct http_response *resp,
			     void *userdata);

/* Create a client attached to `event` (a reference is taken). Reads
 * AWS_CA_BUNDLE once. Returns 0 and *ret, -ENOMEM, or -EIO if libcurl could
 * not be initialised. */
int http_client_new(sd_event *event, struct http_client **ret);

/* Cancel every request still in flight (their callbacks are NOT called),
 * detach from the loop and free. Accepts NULL; returns NULL. Must not be
 * called from inside an http_done_fn of this client. */
struct http_client *http_client_free(struct http_client *c);

/* Between bursts of work (the daemon calls it when every run is idle):
 * free the easy handles kept for reuse and, when no request is in flight,
 * close the cached connections (a server closes an idle connection long
 * before the next run; until then it holds a socket and buffers here).
 * The next request sets up again what it needs. true when all of it was
 * released (also for NULL), false when requests in flight kept the
 * connections (call again once they are done). */
bool http_client_release_idle(struct http_client *c);

/* Number of requests in flight. Test seam: the one way the HTTP client's
 * tests can prove that every request finished or was cancelled; the
 * daemon never asks. */
unsigned http_client_in_flight(const struct http_client *c);

/* Start a request. On success returns 0, and if ret is not NULL stores a
 * handle valid until the callback returns or http_request_cancel(); `done`
 * will be called later from the event loop. -EINVAL for a bad spec (no
 * method or URL, a scheme other than http/https, a header name with CR, LF
 * or ':', a header value with CR or LF), -ENOMEM, -EIO if curl refused. */
int http_request_start(struct http_client *c,
		       const struct http_request_spec *spec,
		       http_done_fn done, void *userdata,
		       struct http_request **ret);

/* Abort an in-flight request: its callback will not be called. Accepts
 * NULL. Must not be called on a request whose callback already ran. Safe
 * to call from inside another request's callback. */
void http_request_cancel(struct http_request *req);

#endif
