/* aws_engine.c - one AWS call of any protocol: credentials, build and
 * sign, send, classify, retry; see include/aws-engine.h. The protocol
 * adapters (aws.c, s3.c, sts.c) only build requests and decode replies. */
#include "aws-engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtimer.h"
#include "log.h"
#include "timeconst.h"

#define ENGINE_TIMER_ACCURACY_USEC 1000ULL
#define ENGINE_MAX_CODE_LEN 128
#define ENGINE_MAX_MESSAGE_LEN 1024
#define ENGINE_MAX_LABEL_LEN 1200

struct aws_engine {
	sd_event *event;
	struct http_client *http;
	struct aws_creds_provider creds;
	bool has_creds;
	struct sigv4_signer *signer;
	char log_name[16];
	uint32_t connect_timeout_ms;
	uint32_t total_timeout_ms;
	size_t max_response_bytes;
	struct aws_retrier retry;
	aws_metrics_fn metrics;
	void *metrics_userdata;
	struct aws_engine_call *head;
	unsigned n_calls;
};

struct aws_engine_call {
	struct aws_engine *engine;
	struct aws_engine_call *prev, *next;
	struct aws_engine_call_spec spec;
	char operation[AWS_MAX_OPERATION_LEN + 1];
	char *label;
	sd_event_source *timer;      /* next attempt, after a delay */
	sd_event_source *now;        /* next attempt, at the next loop turn */
	struct http_request *req;    /* attempt in flight */
	bool creds_pending;
	bool built;                  /* proto->build() left something */
	bool skew_retried;
	bool creds_retried;
	unsigned attempts;
	unsigned last_retry_cost;    /* quota taken by the latest retry */
	uint64_t start_usec;
	uint64_t attempt_usec;       /* the last attempt's duration */
	/* last outcome */
	long status;
	enum http_error transport;
	char code[ENGINE_MAX_CODE_LEN];
	char *message;
	char *request_id;
};

/* ---- engine ------------------------------------------------------------------ */

int aws_engine_new(sd_event *event, struct http_client *http,
		   const struct aws_engine_config *cfg,
		   const struct aws_creds_provider *creds,
		   struct aws_engine **ret)
{
	struct aws_engine *e;
	struct aws_retrier retry;
	const char *who = cfg && cfg->log_name ? cfg->log_name : "aws";
	int r;

	if (!event || !http || !cfg || !ret || (creds && !creds->get))
		return -EINVAL;
	if (aws_retrier_init(&retry, cfg->max_attempts, who) < 0)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = sigv4_signer_new(&e->signer);
	if (r < 0) {
		free(e);
		return r;
	}
	e->event = sd_event_ref(event);
	e->http = http;
	if (creds) {
		e->creds = *creds;
		e->has_creds = true;
	}
	snprintf(e->log_name, sizeof(e->log_name), "%s", who);
	e->connect_timeout_ms = cfg->connect_timeout_ms ?
		cfg->connect_timeout_ms : AWS_DEFAULT_CONNECT_TIMEOUT_MS;
	e->total_timeout_ms = cfg->total_timeout_ms ?
		cfg->total_timeout_ms : AWS_DEFAULT_TOTAL_TIMEOUT_MS;
	e->max_response_bytes = cfg->max_response_bytes;
	e->retry = retry;
	*ret = e;
	return 0;
}

struct aws_engine *aws_engine_free(struct aws_engine *e)
{
	if (!e)
		return NULL;
	while (e->head)
		aws_engine_call_cancel(e->head);
	sigv4_signer_free(e->signer);
	sd_event_unref(e->event);
	free(e);
	return NULL;
}

unsigned aws_engine_in_flight(const struct aws_engine *e)
{
	return e ? e->n_calls : 0;
}

void aws_engine_set_metrics_hook(struct aws_engine *e, aws_metrics_fn fn,
				 void *userdata)
{
	e->metrics = fn;
	e->metrics_userdata = userdata;
}

struct sigv4_signer *aws_engine_signer(const struct aws_engine *e)
{
	return e->signer;
}

struct aws_retrier *aws_engine_retrier(struct aws_engine *e)
{
	return &e->retry;
}

const struct aws_retrier *aws_engine_retrier_const(const struct aws_engine *e)
{
	return &e->retry;
}

/* ---- one call ---------------------------------------------------------------- */

/* Copy s without control characters, at most max bytes. NULL stays NULL. */
static char *sanitized_dup(const char *s, size_t max)
{
	size_t n, i;
	char *out;

	if (!s)
		return NULL;
	n = strnlen(s, max);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[n] = '\0';
	return out;
}

static const char *label(const struct aws_engine_call *call)
{
	return call->label ? call->label : call->operation;
}

static void call_unlink(struct aws_engine_call *call)
{
	struct aws_engine *e = call->engine;

	if (!e)
		return;
	if (call->prev)
		call->prev->next = call->next;
	else
		e->head = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
	call->engine = NULL;
	e->n_calls--;
}

static void wipe_built(struct aws_engine_call *call)
{
	if (call->built && call->spec.proto->wipe)
		call->spec.proto->wipe(call->spec.req);
	call->built = false;
}

static void call_free(struct aws_engine_call *call)
{
	if (!call)
		return;
	sd_event_source_disable_unref(call->timer);
	sd_event_source_disable_unref(call->now);
	http_request_cancel(call->req);
	wipe_built(call);
	if (call->spec.req_free)
		call->spec.req_free(call->spec.req);
	free(call->label);
	free(call->message);
	free(call->request_id);
	free(call);
}

static void set_outcome(struct aws_engine_call *call, enum http_error transport,
			long status, const char *code, const char *message,
			const char *request_id)
{
	/* message or request_id may be the call's own strings: copy first */
	char *m = sanitized_dup(message, ENGINE_MAX_MESSAGE_LEN);
	char *id = sanitized_dup(request_id, 128);

	call->transport = transport;
	call->status = status;
	snprintf(call->code, sizeof(call->code), "%s", code ? code : "");
	free(call->message);
	call->message = m;
	free(call->request_id);
	call->request_id = id;
}

/* Report and free the call. reply (the protocol's) is consumed. */
static void call_finish(struct aws_engine_call *call, enum aws_error_class cls,
			void *reply)
{
	struct aws_engine *e = call->engine;
	const struct aws_protocol *p = call->spec.proto;
	struct aws_engine_result res;
	uint64_t now = 0;

	memset(&res, 0, sizeof(res));
	res.error = cls;
	res.transport = call->transport;
	res.status = call->status;
	res.code = cls == AWS_ERR_NONE ? "" : call->code;
	res.message = cls == AWS_ERR_NONE ? "" :
		      (call->message ? call->message : "");
	res.request_id = call->request_id;
	res.reply = reply;
	res.attempts = call->attempts;
	if (sd_event_now(e->event, CLOCK_MONOTONIC, &now) >= 0 &&
	    now > call->start_usec)
		res.elapsed_usec = now - call->start_usec;
	if (cls != AWS_ERR_NONE && p->finalize)
		p->finalize(call->spec.req, &res);
	call_unlink(call);
	if (e->metrics) {
		struct aws_call_metrics m = {
			.operation = call->operation,
			.attempts = call->attempts,
			.error = res.error,
			.code = res.error == AWS_ERR_NONE ? NULL : res.code,
			.http_status = call->status,
			.elapsed_usec = res.elapsed_usec,
		};

		e->metrics(&m, e->metrics_userdata);
	}
	call->spec.done(&res, call->spec.userdata);
	if (reply && p->free_reply)
		p->free_reply(reply);
	call_free(call);
}

static void finish_local(struct aws_engine_call *call, enum aws_error_class cls,
			 const char *code, const char *message)
{
	set_outcome(call, call->transport, call->status, code, message,
		    call->request_id);
	call_finish(call, cls, NULL);
}

/* The call failed for good: report the class of its last attempt. */
static void finish_failed(struct aws_engine_call *call)
{
	call_finish(call, aws_error_classify(call->transport, call->status,
					     call->code), NULL);
}

static int on_attempt_timer(sd_event_source *s, uint64_t usec, void *userdata);

static int on_attempt_now(sd_event_source *s, void *userdata)
{
	return on_attempt_timer(s, 0, userdata);
}

/* The attempt after delay_usec; 0 (every call's first attempt): at the
 * next loop turn from a defer source, no timerfd to re-program (never from
 * inside aws_engine_call(): callbacks come from the loop). */
static int schedule_attempt(struct aws_engine_call *call, uint64_t delay_usec)
{
	if (delay_usec > 0)
		return evtimer_arm_relative(call->engine->event, &call->timer,
					    delay_usec,
					    ENGINE_TIMER_ACCURACY_USEC,
					    on_attempt_timer, call,
					    "aws-retry");
	return evtimer_arm_now(call->engine->event, &call->now,
			       on_attempt_now, call, "aws-attempt");
}

static void on_http_done(const struct http_response *resp, void *userdata);

static void send_attempt(struct aws_engine_call *call,
			 const struct sigv4_credentials *creds)
{
	struct aws_engine *e = call->engine;
	struct http_request_spec spec;
	int r;

	memset(&spec, 0, sizeof(spec));
	call->built = true;
	r = call->spec.proto->build(call->spec.req, creds,
				    aws_retrier_signing_time(&e->retry),
				    &spec);
	if (r < 0) {
		wipe_built(call);
		finish_local(call, r == -EINVAL ? AWS_ERR_AUTH : AWS_ERR_INTERNAL,
			     "SigningFailed", "the request could not be signed");
		return;
	}
	spec.connect_timeout_ms = e->connect_timeout_ms;
	spec.total_timeout_ms = e->total_timeout_ms;
	spec.max_response_bytes = e->max_response_bytes;
	spec.fresh_connection = call->spec.non_idempotent;
	call->attempts++;
	r = http_request_start(e->http, &spec, on_http_done, call, &call->req);
	/* the signed headers were copied: wipe the adapter's copy now */
	wipe_built(call);
	if (r < 0) {
		call->attempts--;
		finish_local(call, AWS_ERR_INTERNAL, "RequestFailed",
			     "the HTTP request could not be started");
		return;
	}
	log_debug("%s: %s attempt %u sent", e->log_name, label(call),
		  call->attempts);
}

/* The call cannot be signed: the credentials source's error (a negative
 * errno, include/creds.h) as the call's outcome. A misconfigured source
 * (-EINVAL) or one refused for good (-EACCES: STS or the SSO portal said
 * no, an expired SSO token, a credential_process that cannot run) needs a
 * person; anything else may pass. */
static void no_credentials(struct aws_engine_call *call, int error)
{
	if (error == -EINVAL || error == -EACCES)
		finish_local(call, AWS_ERR_AUTH,
			     AWS_CODE_CREDENTIALS_MISCONFIGURED,
			     "the AWS credentials configuration cannot give "
			     "credentials (the error logged before says why; "
			     "`personalize-retrain credentials` checks it)");
	else
		finish_local(call, AWS_ERR_AUTH, AWS_CODE_NO_CREDENTIALS,
			     "no AWS credentials could be loaded");
}

static void on_creds(int error, const struct sigv4_credentials *creds,
		     void *ctx)
{
	struct aws_engine_call *call = ctx;

	call->creds_pending = false;
	if (error < 0 || !creds || !creds->access_key_id ||
	    !creds->secret_access_key) {
		no_credentials(call, error < 0 ? error : -ENOKEY);
		return;
	}
	send_attempt(call, creds);
}

static int on_attempt_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct aws_engine_call *call = userdata;
	struct aws_engine *e = call->engine;
	int r;

	(void)s;
	(void)usec;
	if (call->spec.unsigned_request) {
		send_attempt(call, NULL);
		return 0;
	}
	if (!e->has_creds) {
		no_credentials(call, -ENOKEY);
		return 0;
	}
	call->creds_pending = true;
	r = e->creds.get(e->creds.impl, on_creds, call);
	if (r < 0) {
		call->creds_pending = false;
		no_credentials(call, r);
	}
	return 0;
}

static void after_failure(struct aws_engine_call *call, enum aws_retry_kind kind,
			  const char *date)
{
	struct aws_engine *e = call->engine;
	int64_t delay_ms = -E2BIG;
	unsigned cost = 0;
	time_t server;

	/* the attempt may have run (5xx, timeout, reset after sending): a
	 * non-idempotent one is left to the caller, which looks before it
	 * tries again; refused ones (throttling, connect failures, skew) are
	 * still retried here */
	if (call->spec.non_idempotent &&
	    (kind == AWS_RETRY_TRANSIENT || kind == AWS_RETRY_TIMEOUT ||
	     (kind == AWS_RETRY_CONNECTION &&
	      call->transport != HTTP_ERR_CONNECT &&
	      call->transport != HTTP_ERR_DNS))) {
		log_debug("%s: %s: outcome unknown (%s); not repeated here",
			  e->log_name, label(call), call->code[0] ? call->code :
			  http_error_name(call->transport));
		kind = AWS_RETRY_NO;
	}
	if (kind == AWS_RETRY_CLOCK_SKEW) {
		if (!call->skew_retried && date &&
		    aws_parse_http_date(date, &server) == 0) {
			call->skew_retried = true;
			e->retry.clock_offset = (int64_t)server -
					(int64_t)aws_retrier_now(&e->retry);
			log_debug("%s: %s: clock skew, offset now %+lld s",
				  e->log_name, label(call),
				  (long long)e->retry.clock_offset);
			if (schedule_attempt(call, 0) >= 0)
				return;
		}
		finish_failed(call);
		return;
	}
	if (kind == AWS_RETRY_CREDENTIALS) {
		if (!call->creds_retried && !call->spec.unsigned_request &&
		    e->creds.invalidate) {
			call->creds_retried = true;
			log_info("%s: %s: credentials refused (%s); retrying "
				 "once with fresh ones", e->log_name,
				 label(call), call->code);
			e->creds.invalidate(e->creds.impl);
			if (schedule_attempt(call, 0) >= 0)
				return;
		}
		finish_failed(call);
		return;
	}
	if (kind != AWS_RETRY_NO)
		delay_ms = aws_retrier_next(&e->retry, call->attempts,
					    kind == AWS_RETRY_TIMEOUT, &cost);
	if (delay_ms == -ENOSPC)
		log_debug("%s: %s: retry quota exhausted, not retrying",
			  e->log_name, label(call));
	if (delay_ms < 0) {
		finish_failed(call);
		return;
	}
	call->last_retry_cost = cost;
	/* a request that was sent and whose reply was lost or cut off (the
	 * attempt took its time): say so, the retry repeats all of it */
	if (call->transport == HTTP_ERR_TIMEOUT ||
	    call->transport == HTTP_ERR_RESET ||
	    call->transport == HTTP_ERR_PROTOCOL ||
	    call->transport == HTTP_ERR_TOO_LARGE)
		log_warning("%s: %s: reply cut off after %.1f s (%s); retrying in %lld ms (attempt %u of %u)",
			    e->log_name, label(call),
			    (double)call->attempt_usec / USEC_PER_SEC,
			    http_error_name(call->transport),
			    (long long)delay_ms, call->attempts + 1,
			    e->retry.max_attempts);
	else
		log_debug("%s: %s: retrying in %lld ms (attempt %u of %u)",
			  e->log_name, label(call), (long long)delay_ms,
			  call->attempts + 1, e->retry.max_attempts);
	if (schedule_attempt(call, (uint64_t)delay_ms * USEC_PER_MSEC) < 0)
		finish_failed(call);
}

static const char *transport_code(enum http_error err)
{
	switch (err) {
	case HTTP_ERR_TIMEOUT: return "HttpTimeout";
	case HTTP_ERR_CONNECT: return "HttpConnectFailed";
	case HTTP_ERR_RESET: return "HttpConnectionReset";
	case HTTP_ERR_DNS: return "HttpNameResolution";
	case HTTP_ERR_TLS: return "HttpTlsFailure";
	case HTTP_ERR_TOO_LARGE: return "HttpReplyTooLarge";
	case HTTP_ERR_PROTOCOL: return "HttpProtocolError";
	case HTTP_OK:
	case HTTP_ERR_INTERNAL:
		break;
	}
	return "HttpInternalError";
}

static void on_http_done(const struct http_response *resp, void *userdata)
{
	struct aws_engine_call *call = userdata;
	struct aws_engine *e = call->engine;
	const struct aws_protocol *p = call->spec.proto;
	struct aws_error_info info = { NULL, NULL };
	enum aws_retry_kind kind;
	void *reply = NULL;
	const char *why = NULL;
	int r;

	call->req = NULL;
	call->attempt_usec = resp->elapsed_usec;
	if (resp->error != HTTP_OK) {
		set_outcome(call, resp->error, 0, transport_code(resp->error),
			    resp->error_text, NULL);
		log_debug("%s: %s attempt %u: transport %s: %s", e->log_name,
			  label(call), call->attempts,
			  http_error_name(resp->error), resp->error_text);
		after_failure(call, aws_retry_classify(resp->error, 0, NULL,
						       NULL), NULL);
		return;
	}
	if (p->observe)
		p->observe(call->spec.req, resp);
	if (resp->status >= 200 && resp->status < 300) {
		r = p->decode_reply(call->spec.req, resp, &reply, &why);
		set_outcome(call, HTTP_OK, resp->status, "", NULL,
			    resp->request_id);
		if (r < 0) {
			log_debug("%s: %s attempt %u: HTTP %ld, %s "
				  "(request id %s)", e->log_name, label(call),
				  call->attempts, resp->status,
				  why ? why : "out of memory",
				  resp->request_id ? resp->request_id : "-");
			finish_local(call, r == -ENOMEM ? AWS_ERR_INTERNAL :
				     AWS_ERR_MALFORMED_REPLY, "MalformedReply",
				     why ? why : "out of memory");
			return;
		}
		log_debug("%s: %s attempt %u: HTTP %ld (request id %s)",
			  e->log_name, label(call), call->attempts,
			  resp->status,
			  resp->request_id ? resp->request_id : "-");
		aws_quota_release(&e->retry.quota, call->last_retry_cost);
		call_finish(call, AWS_ERR_NONE, reply);
		return;
	}
	if (p->decode_error) {
		r = p->decode_error(resp, &info);
		if (r < 0) {
			finish_local(call, AWS_ERR_INTERNAL, "OutOfMemory",
				     "out of memory decoding an error reply");
			return;
		}
	}
	set_outcome(call, HTTP_OK, resp->status,
		    info.code && info.code[0] ? info.code : "", info.message,
		    resp->request_id);
	if (!call->code[0])
		snprintf(call->code, sizeof(call->code), "Http%ld",
			 resp->status);
	log_debug("%s: %s attempt %u: HTTP %ld %s: %s (request id %s)",
		  e->log_name, label(call), call->attempts, resp->status,
		  call->code, call->message ? call->message : "",
		  resp->request_id ? resp->request_id : "-");
	if (p->retry_kind)
		kind = p->retry_kind(call->spec.req, e, resp,
				     info.code ? info.code : "",
				     info.message ? info.message : "");
	else
		kind = aws_retry_classify(HTTP_OK, resp->status, info.code,
					  info.message);
	aws_error_info_free(&info);
	after_failure(call, kind, resp->date);
}

int aws_engine_call(struct aws_engine *e,
		    const struct aws_engine_call_spec *spec,
		    struct aws_engine_call **ret)
{
	struct aws_engine_call *call;
	int r;

	if (!e || !spec || !spec->proto || !spec->proto->build ||
	    !spec->proto->decode_reply || !spec->done || !spec->operation ||
	    !*spec->operation || strlen(spec->operation) > AWS_MAX_OPERATION_LEN)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->spec = *spec;
	snprintf(call->operation, sizeof(call->operation), "%s",
		 spec->operation);
	call->spec.operation = call->operation;
	if (spec->label) {
		call->label = sanitized_dup(spec->label, ENGINE_MAX_LABEL_LEN);
		if (!call->label) {
			free(call);
			return -ENOMEM;
		}
	}
	call->spec.label = NULL;
	call->engine = e;
	(void)sd_event_now(e->event, CLOCK_MONOTONIC, &call->start_usec);
	r = schedule_attempt(call, 0);
	if (r < 0) {
		/* the caller keeps its request on failure */
		call->engine = NULL;
		call->spec.req_free = NULL;
		call_free(call);
		return r;
	}
	call->next = e->head;
	if (e->head)
		e->head->prev = call;
	e->head = call;
	e->n_calls++;
	if (ret)
		*ret = call;
	return 0;
}

int aws_engine_start(struct aws_engine *e,
		     const struct aws_engine_call_spec *spec,
		     struct aws_engine_call **ret)
{
	int r = aws_engine_call(e, spec, ret);

	if (r < 0 && spec && spec->req_free)
		spec->req_free(spec->req);
	return r;
}

void aws_engine_call_cancel(struct aws_engine_call *call)
{
	struct aws_engine *e;

	if (!call)
		return;
	e = call->engine;
	if (call->creds_pending && e && e->creds.cancel)
		e->creds.cancel(e->creds.impl, call);
	call_unlink(call);
	call_free(call);
}
