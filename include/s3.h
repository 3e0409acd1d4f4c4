/* s3.h - Amazon S3 HeadObject and ListObjectsV2 over our own stack, for
 * SkipUnchangedData (a file is HEADed, a folder listed: see the
 * ListObjectsV2 part below; it shares the endpoint, addressing, signing
 * and retries described here).
 *
 * s3_head_object() asks S3 (REST protocol) for the metadata of one object
 * named by an "s3://bucket/key" URI: its ETag, Last-Modified and
 * Content-Length. The request is a HEAD signed with SigV4 for the service
 * name "s3" (X-Amz-Content-Sha256 = SHA-256 of the empty payload, signed;
 * the path signed as sent, never encoded twice), sent through the http
 * module (libcurl multi on sd-event: nothing blocks the loop), with
 * credentials from the same struct aws_creds_provider the Personalize
 * client uses.
 *
 * Endpoint, first match wins:
 *   1. s3_client_config.endpoint_url (the config's S3EndpointUrl key;
 *      tests point it at the emulator),
 *   2. AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL (both ignored when
 *      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), as the SDKs do,
 *   3. https://BUCKET.s3.REGION.amazonaws.com/KEY (virtual-hosted style;
 *      the partition's suffix instead of amazonaws.com in cn-* and the
 *      iso regions: aws_dns_suffix()); with FIPS and/or dual-stack
 *      (aws.h) s3-fips, s3.dualstack or s3-fips.dualstack instead of s3,
 *      as S3's rule set has them (no FIPS in cn-*: refused).
 * Path style (ENDPOINT/BUCKET/KEY) is used with any override (1 or 2), when
 * force_path_style is set, and for bucket names that are not valid DNS
 * labels or hold dots (a dotted name breaks the TLS wildcard certificate).
 * The key is percent-encoded per RFC 3986 segment by segment ('/' kept).
 *
 * Retries follow the SDKs' standard mode with the aws module's own
 * helpers (aws_retry_classify, aws_backoff_ms, the retry quota): 5xx
 * (S3's 503 SlowDown included), 429 and transport failures are retried
 * with jittered exponential backoff, at most max_attempts attempts, each
 * retry paid from the client's retry quota. A 403 whose Date header shows
 * the local clock off by more than S3_SKEW_RETRY_S is retried once with the
 * clock corrected (HEAD replies carry no body, so no error code tells).
 *
 * HEAD replies have no body: errors are classified by status (and the
 * x-amz-bucket-region header), see enum s3_error.
 *
 * Logging: LOG_DEBUG per attempt. Never a header value, a credential or a
 * signature. The final outcome is left to the caller. */
#ifndef PR_S3_H
#define PR_S3_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "http.h"

#define S3_SIGNING_NAME   "s3"
#define S3_ENV_SERVICE_ID "S3"           /* AWS_ENDPOINT_URL_S3 */
#define S3_OPERATION      "HeadObject"
#define S3_MAX_KEY_LEN    1024           /* bytes, S3's limit */
#define S3_MAX_BUCKET_LEN 255            /* legacy us-east-1 names */
#define S3_SKEW_RETRY_S   300            /* see the top comment */
/* SHA-256 of the empty payload, sent as X-Amz-Content-Sha256. */
#define S3_EMPTY_PAYLOAD_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Why a HeadObject failed. */
enum s3_error {
	S3_ERR_NONE = 0,
	S3_ERR_NOT_FOUND,     /* 404: no such key (or bucket) */
	S3_ERR_ACCESS_DENIED, /* 403: the credentials lack s3:GetObject (or,
				 without s3:ListBucket, the key is missing) */
	S3_ERR_WRONG_REGION,  /* 301/307/400/403 naming another region in
				 x-amz-bucket-region (bucket_region says
				 which) */
	S3_ERR_THROTTLED,     /* 429 / 503 (SlowDown) after the retries */
	S3_ERR_TRANSIENT,     /* other 5xx after the retries */
	S3_ERR_UNAVAILABLE,   /* transport failure after the retries */
	S3_ERR_CLIENT,        /* another 4xx / 3xx */
	S3_ERR_CREDENTIALS,   /* no credentials, or signing failed */
	S3_ERR_MALFORMED_REPLY, /* protocol error, unusable reply */
	S3_ERR_INTERNAL,      /* out of memory, request not started */
};

/* Stable lower-case name ("not-found", "access-denied", ...). */
const char *s3_error_name(enum s3_error e);

/* Outcome of one s3_head_object(); every pointer valid only during the
 * callback. */
struct s3_head_result {
	enum s3_error error;
	const char *uri;            /* as passed in */
	long http_status;           /* last HTTP status; 0 if none */
	const char *etag;           /* ETag verbatim, quotes kept
				       ("\"9b2cf535f27731c974343645a3985328\""),
				       NULL when absent or on failure */
	bool has_last_modified;
	time_t last_modified;       /* Last-Modified, UTC seconds */
	bool has_content_length;
	uint64_t content_length;    /* Content-Length, bytes */
	const char *bucket_region;  /* x-amz-bucket-region, NULL if absent */
	const char *request_id;     /* x-amz-request-id, NULL if absent */
	const char *message;        /* NULL on success; else one line for
				       the operator naming the URI, the
				       status and what to do (e.g. which
				       permission is missing) */
	unsigned attempts;          /* HTTP attempts made */
};

typedef void (*s3_head_done_fn)(const struct s3_head_result *res,
				void *userdata);

struct s3_client_config {
	const char *region;         /* required, e.g. "eu-west-1": the
				       bucket's region (signing scope) */
	const char *endpoint_url;   /* S3EndpointUrl; NULL/"" unset */
	bool force_path_style;      /* path style even without override */
	unsigned max_attempts;      /* 0: AWS_MAX_ATTEMPTS from the
				       environment, else
				       AWS_DEFAULT_MAX_ATTEMPTS; at most
				       AWS_MAX_MAX_ATTEMPTS */
	uint32_t connect_timeout_ms; /* 0: AWS_DEFAULT_CONNECT_TIMEOUT_MS */
	uint32_t total_timeout_ms;   /* 0: AWS_DEFAULT_TOTAL_TIMEOUT_MS */
};

struct s3_client;
struct s3_head;

/* Create a client sending through http (not owned; must outlive the
 * client) on event, signing with credentials from *creds (copied; its impl
 * must outlive the client). Checks the endpoint URL and region now.
 * Returns 0 and *ret; -EINVAL (no or malformed region, malformed endpoint
 * URL in the config or the environment, bad max_attempts or
 * AWS_MAX_ATTEMPTS), -ENOMEM, -EIO. */
int s3_client_new(sd_event *event, struct http_client *http,
		  const struct s3_client_config *cfg,
		  const struct aws_creds_provider *creds,
		  struct s3_client **ret);

/* Cancel every HEAD in flight (no callbacks) and free. NULL is fine;
 * returns NULL. Not from inside a callback of this client. */
struct s3_client *s3_client_free(struct s3_client *c);

/* Install (or remove, with NULL) the aws module's metrics hook; it sees
 * operation "HeadObject" with the aws_error_class matching the outcome. */
void s3_client_set_metrics_hook(struct s3_client *c, aws_metrics_fn fn,
				void *userdata);

/* Start a HeadObject of uri ("s3://bucket/key"). done is called exactly
 * once from the event loop (never from inside this call) unless the HEAD
 * is cancelled or the client freed first. *ret (may be NULL) is valid
 * until done returns. Returns 0; -EINVAL (malformed URI, see
 * s3_parse_uri), -EISDIR (a "folder" URI ending in '/': HeadObject cannot
 * describe a prefix), -ENOMEM. */
int s3_head_object(struct s3_client *c, const char *uri, s3_head_done_fn done,
		   void *userdata, struct s3_head **ret);

/* Abort a HEAD in flight; its callback is not called. NULL is fine. Not on
 * one whose callback has already run. */
void s3_head_cancel(struct s3_head *h);

/* ---- pure helpers ------------------------------------------------------- */

/* Split "s3://bucket/key" into malloc'd *bucket and *key (key as written,
 * not decoded). The bucket: 1..S3_MAX_BUCKET_LEN of [A-Za-z0-9._-]; the
 * key: 1..S3_MAX_KEY_LEN bytes without control characters.
 * Returns 0; -EINVAL (malformed); -EISDIR (key empty or ending in '/': a
 * prefix, not an object); -ENOMEM. Out-params written only on success. */
int s3_parse_uri(const char *uri, char **bucket, char **key);

/* ---- ListObjectsV2 of a folder (SkipUnchangedData on "s3://b/prefix/") --- */

#define S3_LIST_OPERATION "ListObjectsV2"
/* max-keys asked per page: S3 answers at most 1000; 300 keeps one page's
 * elements under xml.h's XML_MAX_NODES even at twelve per object (Contents;
 * Key, LastModified, ETag, Size, StorageClass, ChecksumAlgorithm,
 * ChecksumType; Owner/ID, RestoreStatus/IsRestoreInProgress). */
#define S3_LIST_MAX_KEYS   300
#define S3_LIST_MAX_PAGES  40000         /* 12 million objects */
/* "sha256:" and 64 hex digits */
#define S3_DIGEST_PREFIX   "sha256:"
#define S3_DIGEST_LEN      (7 + 64)

/* Outcome of one s3_list_folder(); every pointer valid only during the
 * callback. */
struct s3_list_result {
	enum s3_error error;
	const char *uri;            /* as passed in */
	long http_status;           /* last HTTP status; 0 if none */
	const char *digest;         /* on success: S3_DIGEST_PREFIX and the
				       hex SHA-256 of the listing (see
				       s3_listing_digest); else NULL */
	size_t n_objects;           /* objects in the digest */
	unsigned pages;             /* pages read */
	const char *bucket_region;  /* x-amz-bucket-region, NULL if absent */
	const char *request_id;     /* of the last page, NULL if absent */
	const char *message;        /* NULL on success; else one line for
				       the operator */
	unsigned attempts;          /* HTTP attempts of the last page */
};

typedef void (*s3_list_done_fn)(const struct s3_list_result *res,
				void *userdata);

struct s3_list;

/* Split "s3://bucket/prefix/" into malloc'd *bucket and *prefix (the
 * prefix ends in '/', or is "" for the whole bucket "s3://bucket/").
 * 0; -EINVAL (malformed, as s3_parse_uri); -ENOTDIR (an object URI, not
 * ending in '/'); -ENOMEM. */
int s3_parse_folder_uri(const char *uri, char **bucket, char **prefix);

/* List every object under the folder uri ("s3://bucket/prefix/") with
 * ListObjectsV2 (GET ?list-type=2&prefix=..., page after page through
 * continuation-token, each page a call with the HEAD's retries, addressing
 * and signing) and call done once with the digest of the listing. done is
 * called from the event loop, never from inside this call, unless the
 * listing is cancelled or the client freed. Returns 0; -EINVAL;
 * -ENOTDIR (not a folder URI); -ENOMEM. */
int s3_list_folder(struct s3_client *c, const char *uri, s3_list_done_fn done,
		   void *userdata, struct s3_list **ret);

/* Abort a listing in flight; its callback is not called. NULL is fine. */
void s3_list_cancel(struct s3_list *l);

#endif
