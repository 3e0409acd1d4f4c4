/* aws-internal.h - the aws module's inner stages, exported for the tests,
 * the fuzz harness and the benchmark. Not for the daemon: use aws.h. */
#ifndef PR_AWS_INTERNAL_H
#define PR_AWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "aws.h"
#include "http.h"

/* A decoded error reply. Both strings heap-allocated, never NULL after a
 * successful decode ("" when absent). */
struct aws_error_info {
	char *code;     /* "ThrottlingException": namespace ("ns#") and
			   ":http://..." suffix removed */
	char *message;  /* "message" or "Message" of the body, else "" */
};

/* Strip a "namespace#" prefix and a ":http..." suffix from a raw
 * x-amzn-ErrorType / __type value into out[size] (truncated; always
 * NUL-terminated). Leading/trailing blanks dropped. */
void aws_normalize_error_code(const char *raw, char *out, size_t size);

/* Decode an error reply: the code from x-amzn-ErrorType (error_type_header,
 * may be NULL), else the body's "__type", else its "code"; the message
 * from "message" or "Message". The body may be anything (not JSON,
 * truncated, HTML): what cannot be read stays "". Control characters
 * become spaces in the message (it goes to logs) and are dropped from the
 * code; the message is cut before any mention of the canonical request,
 * the string to sign, a security token, Authorization, Credential= or
 * Signature= (signature errors quote them, and they may hold the session
 * token); at most 1024 bytes are kept.
 * Returns 0 and fills *out (free with aws_error_info_free()); -ENOMEM. */
int aws_decode_error(const char *error_type_header, const char *body,
		     size_t len, struct aws_error_info *out);
void aws_error_info_free(struct aws_error_info *e);

/* An aws_error_info from a raw code (normalised as above) and message
 * (sanitised and cut as above); either may be NULL. 0 or -ENOMEM. */
int aws_error_info_make(const char *raw_code, const char *message,
			struct aws_error_info *out);

/* Decode an XML error body: Query protocol (STS) ErrorResponse/Error or
 * S3's Error, Code and Message, parsed with libexpat (xml.h). What cannot
 * be read stays "". 0 or -ENOMEM. */
int aws_decode_xml_error(const char *body, size_t len,
			 struct aws_error_info *out);

/* The parts of a URL: scheme, "host[:port]" (with the port only when the
 * URL names one) and path ("" when none), all malloc'd, written only on
 * success. 0; -EINVAL (not a URL, or no host); -ENOMEM. */
int aws_url_parts(const char *url, char **scheme, char **hostport,
		  char **path);

/* Split an endpoint URL into the Host header (host[:port]), the path to
 * sign ("/" or the endpoint's) and the URL to send to (the endpoint, with
 * '/' added when it has no path); all malloc'd. 0, -EINVAL, -ENOMEM. */
int aws_endpoint_split(const char *endpoint, char **host, char **path,
		       char **url);

/* Decode a 2xx reply: a content type, when present, must be
 * application/x-amz-json-1.1 or application/json (parameters allowed);
 * the body must be one JSON object (empty, truncated, trailing garbage,
 * or another JSON type are errors).
 * Returns 0 and *ret (cJSON_Delete it); -EBADMSG with *why a static
 * explanation; -ENOMEM. */
int aws_decode_reply(const char *content_type, const char *body, size_t len,
		     cJSON **ret, const char **why);

/* Why an attempt may be retried. */
enum aws_retry_kind {
	AWS_RETRY_NO = 0,
	AWS_RETRY_THROTTLING,   /* throttling code (or 429) */
	AWS_RETRY_TRANSIENT,    /* 500/502/503/504, transient code */
	AWS_RETRY_TIMEOUT,      /* transport timeout (costs more quota) */
	AWS_RETRY_CONNECTION,   /* reset, refused, DNS, TLS handshake */
	AWS_RETRY_CLOCK_SKEW,   /* fix the clock offset, retry once */
	AWS_RETRY_CREDENTIALS,  /* expired or refused credentials: fetch
				   fresh ones, retry once */
};

/* The retry decision for one failed attempt: transport outcome, HTTP
 * status (0 without a reply), normalised error code and message (NULL or
 * "" when none). Pure. */
enum aws_retry_kind aws_retry_classify(enum http_error transport, long status,
				       const char *code, const char *message);

/* The class reported for a final failure. Pure. */
enum aws_error_class aws_error_classify(enum http_error transport, long status,
					const char *code);

/* Delay before retry number `retry` (1 for the first retry):
 * rnd * min(cap_ms, base_ms * 2^(retry-1)), rnd in [0,1) (clamped). */
uint32_t aws_backoff_ms(unsigned retry, double rnd, uint32_t base_ms,
			uint32_t cap_ms);

/* The retry quota (token bucket). */
struct aws_retry_quota {
	unsigned tokens;    /* available */
	unsigned capacity;
};
void aws_quota_init(struct aws_retry_quota *q, unsigned capacity);
/* Take the cost of one retry (AWS_RETRY_TIMEOUT_COST after a timeout,
 * else AWS_RETRY_COST). Returns the cost taken, or 0 (nothing taken) when
 * the quota cannot pay: do not retry. */
unsigned aws_quota_acquire(struct aws_retry_quota *q, bool timeout);
/* After a successful call: give back `cost` (what its last retry took),
 * or AWS_RETRY_NO_RETRY_INCREMENT when it is 0; never above capacity. */
void aws_quota_release(struct aws_retry_quota *q, unsigned cost);

/* Resolve the endpoint URL (see aws.h) into *ret (malloc'd, no trailing
 * '/'). region must be [a-z0-9-]+ when the default is used; a configured
 * URL must be http(s)://host[:port][/path] without query or fragment.
 * Returns 0; -EINVAL; -ENOMEM. */
int aws_resolve_endpoint(const char *config_url, const char *env_service_id,
			 const char *endpoint_prefix, const char *region,
			 char **ret);

/* FIPS and dual-stack endpoints: AWS_USE_FIPS_ENDPOINT and
 * AWS_USE_DUALSTACK_ENDPOINT, each over the profile's use_fips_endpoint /
 * use_dualstack_endpoint ($AWS_PROFILE or "default"); "true" in any case
 * is true, anything else false, as the SDKs read them. */
struct aws_endpoint_variant {
	bool fips;
	bool dualstack;
};
int aws_endpoint_variant_get(struct aws_endpoint_variant *v);
/* The partition's dual-stack DNS suffix: "api.aws", "api.aws.ic.gov",
 * "api.aws.scloud", "api.amazonwebservices.com.cn". */
const char *aws_dualstack_dns_suffix(const char *region);
/* The default endpoint of a service as its endpoint rule set gives it
 * (PREFIX[-fips].REGION.SUFFIX, the dual-stack suffix for dual-stack; S3:
 * s3[-fips][.dualstack].REGION.SUFFIX, no FIPS in aws-cn; STS: FIPS in
 * GovCloud is the regional endpoint). 0 and *ret; -EINVAL (bad region),
 * -ENOTSUP (no such endpoint: logged), -ENOMEM. */
int aws_default_endpoint(const char *prefix, const char *region,
			 const struct aws_endpoint_variant *v, char **ret);

/* The configured override alone (1 to 3 of aws.h's order): 0 and *ret
 * (malloc'd, no trailing '/') or *ret NULL when none is set; -EINVAL (a
 * malformed URL), -ENOMEM. */
int aws_endpoint_override(const char *config_url, const char *env_service_id,
			  char **ret);

/* Parse an HTTP date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", also
 * RFC 850 and asctime forms) into *ret. Returns 0 or -EINVAL. */
int aws_parse_http_date(const char *s, time_t *ret);

/* Test hooks (NULL / 0 fields keep the defaults). */
struct aws_test_hooks {
	double (*rng)(void *userdata);  /* uniform [0,1) */
	time_t (*now)(void *userdata);  /* wall clock, UTC seconds */
	void *userdata;
	uint32_t backoff_base_ms;
	uint32_t backoff_max_ms;
	bool set_retry_tokens;          /* replace the quota's tokens ... */
	unsigned retry_tokens;          /* ... with this (<= capacity) */
};

/* The JSON 1.1 client (src/aws.c). The tests read its endpoint and reach
 * the engine's retry state and test hooks (aws-engine.h) through it. */
struct aws_engine;
struct aws_client {
	struct aws_engine *engine;
	char *region;
	char *endpoint;       /* resolved URL without trailing '/' */
	char *host;           /* Host header value */
	char *url;            /* URL requests are POSTed to */
	char *path;           /* path signed ("/" or the endpoint's) */
	char *signing_name;
	char *target_prefix;
};

/* The retry state each client keeps (the AWS JSON client and the S3
 * client each hold one; src/aws_retry.c): how many attempts a call gets,
 * the quota, the backoff, the clock offset learnt from a skewed reply and
 * the test hooks. */
struct aws_retrier {
	unsigned max_attempts;
	struct aws_retry_quota quota;
	struct aws_test_hooks hooks;
	int64_t clock_offset;   /* server minus local, seconds */
};

/* Set up *r: max_attempts attempts per call (0: AWS_MAX_ATTEMPTS from the
 * environment, as the SDKs read it, else AWS_DEFAULT_MAX_ATTEMPTS), a full
 * quota, the standard backoff, no offset. 0, or -EINVAL (over
 * AWS_MAX_MAX_ATTEMPTS, or AWS_MAX_ATTEMPTS is not an integer in range),
 * logged as "who: ...", *r untouched. */
int aws_retrier_init(struct aws_retrier *r, unsigned max_attempts,
		     const char *who);
/* The host's wall clock (UTC seconds) and a uniform [0,1) from
 * getrandom(), through the hooks when set. */
time_t aws_retrier_now(const struct aws_retrier *r);
double aws_retrier_rng(const struct aws_retrier *r);
/* The time to sign a request with: the host's clock plus the offset. */
time_t aws_retrier_signing_time(const struct aws_retrier *r);
/* After failed attempt number `attempts` (1 for the first), retryable
 * (timeout: it timed out, which costs more quota): the delay before the
 * next attempt in ms, with *cost set to the quota taken (give it back with
 * aws_quota_release() when the call succeeds); or -E2BIG when the call
 * has had all its attempts, -ENOSPC when the quota cannot pay (nothing
 * taken; *cost untouched either way). */
int64_t aws_retrier_next(struct aws_retrier *r, unsigned attempts,
			 bool timeout, unsigned *cost);

/* A region name as the clients accept it: [a-z0-9-], 1 to 63 characters,
 * not starting or ending with '-'. */
bool aws_valid_region(const char *r);
/* The DNS suffix of region's partition: "amazonaws.com", "amazonaws.com.cn"
 * (cn-*), "c2s.ic.gov" (us-iso-*), "sc2s.sgov.gov" (us-isob-*). */
const char *aws_dns_suffix(const char *region);

/* The signed request of one attempt as it goes on the wire. */
#define AWS_MAX_REQUEST_HEADERS 10
#define AWS_MAX_OPERATION_LEN   64
struct aws_wire_request {
	char target[AWS_MAX_OPERATION_LEN + 64];   /* X-Amz-Target value */
	struct http_header headers[AWS_MAX_REQUEST_HEADERS];
	size_t n_headers;        /* Host, Content-Type, X-Amz-Target,
				    User-Agent (unsigned), then the signer's
				    X-Amz-Date, [X-Amz-Security-Token],
				    Authorization */
	struct sigv4_output sig; /* owns the signature strings: secret */
};
#define AWS_WIRE_REQUEST_INIT { .sig = SIGV4_OUTPUT_INIT }

/* Build and sign the request for operation with body (JSON text) and
 * creds at the client's corrected clock into *w (reusable across calls;
 * the header strings point into w, the client and creds).
 * Returns 0; -EINVAL (operation name empty, too long or not [A-Za-z0-9]),
 * -ENOMEM, -EIO. */
int aws_client_build_request(struct aws_client *c, const char *operation,
			     const char *body, size_t body_len,
			     const struct sigv4_credentials *creds,
			     struct aws_wire_request *w);
/* Wipe and free what *w holds. NULL is fine. */
void aws_wire_request_free(struct aws_wire_request *w);

#endif
