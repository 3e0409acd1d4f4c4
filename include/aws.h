/* aws.h - one AWS JSON 1.1 call: endpoint, X-Amz-Target, SigV4, send,
 * retry the way the SDKs' "standard" retry mode does, decode errors.
 *
 * Endpoint (first that is set wins: the config key is the most specific
 * and overrides the environment):
 *   1. the config key EndpointUrl (aws_client_config.endpoint_url),
 *   2. AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_PERSONALIZE),
 *   3. AWS_ENDPOINT_URL,
 *   4. https://<endpointPrefix>.<region>.amazonaws.com, with the suffix
 *      amazonaws.com.cn for the aws-cn partition (regions cn-*).
 *      AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT (each over the
 *      profile's use_fips_endpoint / use_dualstack_endpoint) select the
 *      variants the service's endpoint rule set gives:
 *      <prefix>-fips.<region>.<suffix>, <prefix>.<region>.<dual-stack
 *      suffix> (api.aws, ...), or both (aws_default_endpoint()); where the
 *      rule set has none, the client is not created and the log says so.
 *      With an override (1 to 3) they are refused, as the rule sets do.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true disables 2 and 3 (as in the
 * SDKs); it never disables the config key.
 *
 * Request: POST <endpoint path or />, Host, Content-Type
 * application/x-amz-json-1.1, X-Amz-Target <targetPrefix>.<Operation>,
 * signed (X-Amz-Date, X-Amz-Security-Token, Authorization); an unsigned
 * User-Agent personalize-retrain/VERSION.
 *
 * Retries ("standard" mode): at most max_attempts attempts (default 3;
 * AWS_MAX_ATTEMPTS overrides; the config field overrides both). Retried:
 * throttling codes, 500/502/503/504 and transient codes, timeouts and
 * connection failures. Never retried: validation, not-found, exists,
 * in-use, auth errors. Delay before retry n (n = 1, 2, ...):
 * random[0,1) * min(20 s, base * 2^(n-1)), base 1 s. A retry quota shared
 * by all calls of one client (500 tokens; a retry costs 5, 10 after a
 * timeout; a success gives back what its retries took, or 1 token when it
 * needed none; capacity never above 500) stops retries when empty.
 * A clock-skew error (RequestTimeTooSkewed, RequestExpired,
 * RequestInTheFuture, InvalidSignatureException / SignatureDoesNotMatch /
 * AuthFailure whose message says the signature expired or is not yet
 * current) sets the client's clock offset from the reply's Date header and
 * is retried once per call, at once, outside the attempt budget and quota.
 * A credential error (ExpiredTokenException, ExpiredToken,
 * InvalidSignatureException / SignatureDoesNotMatch not about the clock)
 * first invalidates the provider's cached credentials and is retried once
 * per call, at once, with fresh ones, outside the budget and the quota;
 * when it comes again (or the provider cannot invalidate) it is final.
 * Retry delays are sd-event timers. (libcurl itself may re-send a request
 * once, on a fresh connection, when a reused keep-alive connection turns
 * out dead before any reply byte; that is not counted as an attempt.)
 * Non-idempotent operations (UpdateCampaign: aws_operation_idempotent) are
 * sent on a fresh connection (so libcurl never re-sends them) and are
 * retried here only when the attempt surely did not run (throttled,
 * refused connection, clock skew); after a 5xx, a timeout or a reset the
 * caller gets the error and must look before trying again.
 *
 * Logging: LOG_DEBUG per attempt (operation, attempt, status, error code,
 * request id). Never a header value, a credential or a signature. The
 * final outcome is left to the caller, which decides what to do. */
#ifndef PR_AWS_H
#define PR_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "http.h"
#include "sigv4.h"

#define AWS_DEFAULT_MAX_ATTEMPTS     3
#define AWS_MAX_MAX_ATTEMPTS         20    /* bound on AWS_MAX_ATTEMPTS */
#define AWS_BACKOFF_BASE_MS          1000u
#define AWS_BACKOFF_MAX_MS           20000u
#define AWS_RETRY_QUOTA_CAPACITY     500u
#define AWS_RETRY_COST               5u
#define AWS_RETRY_TIMEOUT_COST       10u
#define AWS_RETRY_NO_RETRY_INCREMENT 1u
#define AWS_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define AWS_DEFAULT_TOTAL_TIMEOUT_MS   60000u
#define AWS_JSON_CONTENT_TYPE "application/x-amz-json-1.1"

/* What the caller can act on. THROTTLED, TRANSIENT and UNAVAILABLE all
 * mean "the attempts (or the retry quota) ran out; try again later". */
enum aws_error_class {
	AWS_ERR_NONE = 0,
	AWS_ERR_THROTTLED,      /* last error a throttling code */
	AWS_ERR_TRANSIENT,      /* last error a 5xx / transient service code */
	AWS_ERR_UNAVAILABLE,    /* last error a transport failure (timeout,
				   reset, refused, DNS, TLS) */
	AWS_ERR_CLIENT,         /* validation / bad request / other 4xx */
	AWS_ERR_NOT_FOUND,      /* ResourceNotFoundException */
	AWS_ERR_ALREADY_EXISTS, /* ResourceAlreadyExistsException */
	AWS_ERR_IN_USE,         /* ResourceInUseException */
	AWS_ERR_LIMIT_EXCEEDED, /* LimitExceededException (a service quota;
				   retried as throttling, then reported) */
	AWS_ERR_AUTH,           /* credentials missing, rejected, expired;
				   access denied */
	AWS_ERR_MALFORMED_REPLY,/* bad JSON, wrong content type, empty 200 */
	AWS_ERR_INTERNAL,       /* local failure: out of memory, bad request */
};

/* Stable lower-case name ("throttled", "not-found", ...). */
const char *aws_error_class_name(enum aws_error_class c);

/* Outcome of a call, handed to the callback; valid only during it. */
/* The synthetic codes of a call that never left for want of credentials
 * (AWS_ERR_AUTH, nothing sent). NO_CREDENTIALS: no source gave any (a
 * metadata service not up yet, a refresh that failed): worth waiting for.
 * MISCONFIGURED: a configured source cannot give any until a person acts
 * (a source_profile cycle, mfa_serial, an expired or missing SSO token, a
 * role STS refuses to let us assume); the credentials module has logged
 * why. */
#define AWS_CODE_NO_CREDENTIALS "CredentialsUnavailable"
#define AWS_CODE_CREDENTIALS_MISCONFIGURED "CredentialsMisconfigured"

/* Whether code is one of the two above. */
bool aws_code_is_no_credentials(const char *code);

struct aws_result {
	enum aws_error_class error;   /* AWS_ERR_NONE on success */
	const char *operation;        /* "DescribeCampaign" */
	long http_status;             /* last HTTP status; 0 if none */
	enum http_error transport;    /* last transport outcome */
	const char *code;             /* error code without namespace, e.g.
					 "ResourceNotFoundException"; NULL on
					 success. Synthetic codes: "Http<status>"
					 (error reply without a code),
					 "HttpTimeout", "HttpConnectFailed",
					 "HttpConnectionReset",
					 "HttpNameResolution", "HttpTlsFailure",
					 "HttpReplyTooLarge", "HttpProtocolError",
					 "MalformedReply",
					 "CredentialsUnavailable",
					 "CredentialsMisconfigured" (see
					 below),
					 "SigningFailed", "RequestFailed",
					 "OutOfMemory" */
	const char *message;          /* human-readable, control characters
					 replaced, cut before any quoted
					 canonical request / signature
					 material; "" if none; NULL on
					 success */
	const char *request_id;       /* x-amzn-RequestId of the last reply */
	cJSON *reply;                 /* parsed JSON object on success,
					 else NULL; deleted after the
					 callback returns (detach or
					 duplicate what you keep) */
	unsigned attempts;            /* HTTP attempts made */
	uint64_t elapsed_usec;        /* whole call, retries included */
};

typedef void (*aws_call_done_fn)(const struct aws_result *res, void *userdata);

/* Per-call metrics hook (for Prometheus output): called once per finished
 * call, just before its callback. code is NULL on success. */
struct aws_call_metrics {
	const char *operation;
	unsigned attempts;
	enum aws_error_class error;
	const char *code;
	long http_status;
	uint64_t elapsed_usec;
};
typedef void (*aws_metrics_fn)(const struct aws_call_metrics *m,
			       void *userdata);

/* ---- credentials --------------------------------------------------------- */

/* A credentials source for the signer (the creds module's chain, or a
 * static set in tests). get() delivers the current credentials to ready()
 * either before returning or later from the event loop, exactly once, and
 * returns 0; or returns -errno and never calls ready. The credentials
 * passed to ready() need only stay valid during that call. cancel() (may
 * be NULL when get() is always synchronous) forgets a pending get() made
 * with ctx. */
typedef void (*aws_creds_ready_fn)(int error,
				   const struct sigv4_credentials *creds,
				   void *ctx);
struct aws_creds_provider {
	int (*get)(void *impl, aws_creds_ready_fn ready, void *ctx);
	void (*cancel)(void *impl, void *ctx);
	void *impl;
	/* NULL, or forget the cached credentials: the next get() fetches
	 * fresh ones from the source (after a service said they expired or
	 * were refused). */
	void (*invalidate)(void *impl);
};

/* The daemon plugs in the creds module's chain through credsprov.h. */

/* Fill *p with a provider that always returns *creds (not copied: it must
 * outlive the client). */
void aws_creds_provider_static(struct aws_creds_provider *p,
			       const struct sigv4_credentials *creds);

/* ---- client ------------------------------------------------------------- */

struct aws_client_config {
	const char *region;          /* required, e.g. "eu-west-1" */
	const char *endpoint_url;    /* EndpointUrl config key; NULL/"" unset */
	/* Service description; NULL selects Amazon Personalize's. */
	const char *endpoint_prefix; /* "personalize" */
	const char *signing_name;    /* "personalize" */
	const char *target_prefix;   /* "AmazonPersonalize" */
	const char *env_service_id;  /* "PERSONALIZE" (AWS_ENDPOINT_URL_xxx) */
	unsigned max_attempts;       /* 0: AWS_MAX_ATTEMPTS, else 3 */
	uint32_t connect_timeout_ms; /* 0: AWS_DEFAULT_CONNECT_TIMEOUT_MS */
	uint32_t total_timeout_ms;   /* 0: AWS_DEFAULT_TOTAL_TIMEOUT_MS */
};

struct aws_client;
struct aws_call;

/* Create a client sending through http (not owned; must outlive the
 * client) on event. Resolves the endpoint now (see the top comment).
 * Returns 0 and *ret; -EINVAL (no or malformed region, malformed endpoint
 * URL or AWS_MAX_ATTEMPTS: a message says which), -ENOMEM, -EIO. */
int aws_client_new(sd_event *event, struct http_client *http,
		   const struct aws_client_config *cfg,
		   const struct aws_creds_provider *creds,
		   struct aws_client **ret);

/* Cancel every call in flight (no callbacks), free. NULL is fine;
 * returns NULL. Not from inside a callback of this client. */
struct aws_client *aws_client_free(struct aws_client *c);

/* Install (or remove, with NULL) the metrics hook. */
void aws_client_set_metrics_hook(struct aws_client *c, aws_metrics_fn fn,
				 void *userdata);

/* 1 when operation may be repeated after an attempt of unknown outcome,
 * 0 when not (a repeat would act twice). */
int aws_operation_idempotent(const char *operation);

/* Start operation (e.g. "DescribeCampaign") with the JSON object body
 * (serialised here; not kept). done is called exactly once, from the event
 * loop (never from inside aws_call()), unless the call is cancelled or the
 * client freed first. *ret (may be NULL) is valid until done returns.
 * Returns 0; -EINVAL (bad operation name, body not an object), -ENOMEM. */
int aws_call(struct aws_client *c, const char *operation, const cJSON *body,
	     aws_call_done_fn done, void *userdata, struct aws_call **ret);

/* Abort a call in flight; its callback is not called. NULL is fine. Not
 * on a call whose callback has already run. */
void aws_call_cancel(struct aws_call *call);

#endif
