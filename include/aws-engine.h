/* aws-engine.h - the one call engine behind every AWS client: it runs a
 * call of any protocol (credentials -> build and sign -> send -> classify
 * -> retry) from a small per-protocol description, struct aws_protocol.
 * The JSON 1.1 client (aws.c), the S3 HeadObject client (s3.c) and the
 * STS client are adapters over it; adding a service costs an adapter.
 *
 * What the engine does for every protocol alike (see aws.h for the rules):
 *  - at most max_attempts attempts, the "standard" backoff and the retry
 *    quota (struct aws_retrier, src/aws_retry.c), retry delays on
 *    sd-event timers, the first attempt at the next loop turn;
 *  - a clock-skew reply sets the clock offset from its Date header and
 *    retries once, at once, outside the attempt budget and the quota;
 *  - a credential error (AWS_RETRY_CREDENTIALS: an expired token, a
 *    signature refused for another reason than the clock) invalidates the
 *    provider's cached credentials and retries once, at once, with fresh
 *    ones, outside the budget and the quota; a second one is final;
 *  - non-idempotent calls go on a fresh connection and are retried only
 *    when the attempt surely did not run;
 *  - LOG_DEBUG per attempt, never a header value, credential or signature;
 *  - the per-call metrics hook, then the caller's done callback.
 * Not thread-safe; everything runs on the event loop. */
#ifndef PR_AWS_ENGINE_H
#define PR_AWS_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "aws-internal.h"
#include "http.h"
#include "sigv4.h"

struct aws_engine;
struct aws_engine_call;

/* The outcome of one call, handed to the spec's done(); valid only during
 * that callback. */
struct aws_engine_result {
	enum aws_error_class error;   /* AWS_ERR_NONE on success */
	enum http_error transport;    /* last transport outcome */
	long status;                  /* last HTTP status; 0 if none */
	const char *code;             /* "" on success; else the error code
					 or a synthetic one (see aws.h) */
	const char *message;          /* "" when none; sanitised; after a
					 transport failure curl's text */
	const char *request_id;       /* of the last reply; NULL if none */
	void *reply;                  /* the protocol's decoded reply on
					 success (freed after done) */
	unsigned attempts;
	uint64_t elapsed_usec;
};

/* How one protocol builds, decodes and classifies. req is the adapter's
 * per-call request object (struct aws_engine_call_spec.req). */
struct aws_protocol {
	const char *name;   /* "json-1.1", "s3-rest", "query", "rest-json" */
	/* Build one attempt into *spec (method, url, headers, body), signed
	 * with creds at now (UTC seconds), or unsigned when creds is NULL
	 * (an unsigned call). What spec points to must stay valid until
	 * wipe(). The engine sets the timeouts and fresh_connection.
	 * 0; -EINVAL (cannot be signed with these credentials), -ENOMEM,
	 * -EIO. */
	int (*build)(void *req, const struct sigv4_credentials *creds,
		     time_t now, struct http_request_spec *spec);
	/* Wipe and free what build() left (signatures, tokens), once the
	 * HTTP module has copied the request. May be NULL. */
	void (*wipe)(void *req);
	/* Decode a 2xx reply into *reply (free_reply frees it). 0;
	 * -EBADMSG with *why a static explanation; -ENOMEM. */
	int (*decode_reply)(void *req, const struct http_response *resp,
			    void **reply, const char **why);
	void (*free_reply)(void *reply);
	/* Decode an error reply's code and message. 0 or -ENOMEM; a body
	 * that cannot be read leaves both "". NULL: no body to read (HEAD). */
	int (*decode_error)(const struct http_response *resp,
			    struct aws_error_info *out);
	/* Optional: the retry decision for a failed attempt with a reply
	 * (resp never NULL; code and message as decoded, maybe ""). NULL:
	 * aws_retry_classify(). */
	enum aws_retry_kind (*retry_kind)(void *req, const struct aws_engine *e,
					  const struct http_response *resp,
					  const char *code,
					  const char *message);
	/* Optional: see every reply of an attempt (2xx or not), e.g. to keep
	 * a header for the final result. */
	void (*observe)(void *req, const struct http_response *resp);
	/* Optional: adjust the final class and code (for the metrics and
	 * the callback) of a failed call. */
	void (*finalize)(void *req, struct aws_engine_result *res);
};

typedef void (*aws_engine_done_fn)(const struct aws_engine_result *res,
				   void *userdata);

struct aws_engine_call_spec {
	const struct aws_protocol *proto;
	void *req;                  /* the adapter's request */
	void (*req_free)(void *req);/* NULL, or frees req once the call is
				       over: after done returns, or when the
				       call is cancelled (also by
				       aws_engine_free()) */
	const char *operation;      /* metrics and logs: "DescribeCampaign" */
	const char *label;          /* logs; NULL: operation */
	bool non_idempotent;        /* see the top comment */
	bool unsigned_request;      /* sent without credentials (never
				       retried for AWS_RETRY_CREDENTIALS) */
	aws_engine_done_fn done;
	void *userdata;
};

struct aws_engine_config {
	const char *log_name;       /* log prefix: "aws", "s3", "sts" */
	unsigned max_attempts;      /* 0: AWS_MAX_ATTEMPTS, else 3 */
	uint32_t connect_timeout_ms;/* 0: AWS_DEFAULT_CONNECT_TIMEOUT_MS */
	uint32_t total_timeout_ms;  /* 0: AWS_DEFAULT_TOTAL_TIMEOUT_MS */
	size_t max_response_bytes;  /* 0: the http module's default */
};

/* The engine config of a client named log_name from its own config *cfg,
 * any struct with the fields max_attempts, connect_timeout_ms and
 * total_timeout_ms (aws_client_config, s3_client_config, ...). */
#define AWS_ENGINE_CONFIG(name, cfg) ((struct aws_engine_config){ \
	.log_name = (name), .max_attempts = (cfg)->max_attempts, \
	.connect_timeout_ms = (cfg)->connect_timeout_ms, \
	.total_timeout_ms = (cfg)->total_timeout_ms })

/* Create an engine sending through http (borrowed) on event, signing with
 * credentials from *creds (copied; NULL when every call is unsigned).
 * 0 and *ret; -EINVAL (bad max_attempts or AWS_MAX_ATTEMPTS, logged),
 * -ENOMEM, -EIO. */
int aws_engine_new(sd_event *event, struct http_client *http,
		   const struct aws_engine_config *cfg,
		   const struct aws_creds_provider *creds,
		   struct aws_engine **ret);
/* Cancel every call (no callbacks) and free. NULL is fine; returns NULL. */
struct aws_engine *aws_engine_free(struct aws_engine *e);

/* Start a call. done is called exactly once from the event loop (never
 * from inside this function) unless cancelled or the engine is freed.
 * spec->req must stay valid until then; req_free, if set, frees it then
 * (on failure here the caller keeps it). *ret (may be NULL) is valid until
 * done returns. 0; -EINVAL; -ENOMEM. */
int aws_engine_call(struct aws_engine *e,
		    const struct aws_engine_call_spec *spec,
		    struct aws_engine_call **ret);
/* aws_engine_call() for an adapter that hands its request over: on
 * failure here spec->req_free(spec->req) frees it too, so that the call
 * owns req either way. */
int aws_engine_start(struct aws_engine *e,
		     const struct aws_engine_call_spec *spec,
		     struct aws_engine_call **ret);
/* Abort a call in flight; no callback. NULL is fine. */
void aws_engine_call_cancel(struct aws_engine_call *call);

unsigned aws_engine_in_flight(const struct aws_engine *e);
void aws_engine_set_metrics_hook(struct aws_engine *e, aws_metrics_fn fn,
				 void *userdata);
struct sigv4_signer *aws_engine_signer(const struct aws_engine *e);
/* The retry state (attempts, quota, clock offset, hooks). */
struct aws_retrier *aws_engine_retrier(struct aws_engine *e);
const struct aws_retrier *aws_engine_retrier_const(const struct aws_engine *e);

#endif
