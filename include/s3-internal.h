/* s3-internal.h - the s3 module's inner stages, exported for the tests.
 * Not for the daemon: use s3.h. */
#ifndef PR_S3_INTERNAL_H
#define PR_S3_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "aws.h"
#include "aws-internal.h"
#include "http.h"
#include "s3.h"
#include "sigv4.h"
#include "strbuf.h"

/* Where one object's HEAD goes. All strings malloc'd. */
struct s3_target {
	char *url;   /* full URL, key encoded */
	char *host;  /* Host header value (host[:port]) */
	char *path;  /* path as on the wire and as signed */
	bool path_style;
};

/* Append key percent-encoded per RFC 3986 (every byte outside
 * A-Z a-z 0-9 - . _ ~ as %XX, upper-case hex), '/' kept. */
void s3_encode_key(const char *key, struct strbuf *out);

/* true when bucket can be a virtual host: 3..63 of [a-z0-9-], starting and
 * ending with a letter or digit (dotted names are refused: TLS). */
bool s3_virtual_host_ok(const char *bucket);

/* Resolve where HEAD bucket/key goes (see s3.h for the order; reads the
 * environment). Returns 0 and fills *out (free with s3_target_free());
 * -EINVAL (bad region or endpoint URL), -ENOMEM. */
int s3_resolve_target(const char *endpoint_url, bool force_path_style,
		      const char *region, const char *bucket, const char *key,
		      struct s3_target *out);
void s3_target_free(struct s3_target *t);

/* The signed HEAD as it goes on the wire. */
#define S3_MAX_REQUEST_HEADERS 8
struct s3_wire_request {
	struct http_header headers[S3_MAX_REQUEST_HEADERS];
	size_t n_headers;        /* Host, User-Agent (unsigned), then the
				    signer's X-Amz-Date,
				    [X-Amz-Security-Token],
				    X-Amz-Content-Sha256, Authorization */
	struct sigv4_output sig; /* owns the signature strings: secret */
};
#define S3_WIRE_REQUEST_INIT { .sig = SIGV4_OUTPUT_INIT }

/* Sign HEAD t for region at now (UTC seconds) into *w with signer.
 * Returns 0; -EINVAL, -ENOMEM, -EIO (as sigv4_sign). */
int s3_build_request(struct sigv4_signer *signer, const char *region,
		     const struct s3_target *t,
		     const struct sigv4_credentials *creds, time_t now,
		     struct s3_wire_request *w);
/* Wipe and free what *w holds. NULL is fine. */
void s3_wire_request_free(struct s3_wire_request *w);

/* Classify a final HEAD outcome. bucket_region: x-amz-bucket-region (may
 * be NULL); region: ours. Pure. */
enum s3_error s3_classify(enum http_error transport, long status,
			  const char *bucket_region, const char *region);

/* Object metadata from a 2xx HEAD's header values (each may be NULL). */
struct s3_meta {
	bool has_last_modified;
	time_t last_modified;
	bool has_content_length;
	uint64_t content_length;
};
/* Parse Last-Modified (RFC 7231 HTTP date) and Content-Length (decimal
 * digits only). A value that is absent leaves its has_ flag false.
 * Returns 0; -EBADMSG when a present value is malformed (*out then holds
 * what could be read). */
int s3_parse_meta(const char *last_modified, const char *content_length,
		  struct s3_meta *out);

/* The client (src/s3.c). The tests reach the engine's retry state and
 * test hooks (aws-engine.h) through it. */
struct aws_engine;
struct s3_client {
	struct aws_engine *engine;
	char *region;
	char *endpoint_url;        /* caller's override, or NULL */
	bool force_path_style;
};

/* ---- ListObjectsV2 ---------------------------------------------------- */

/* One object of a listing. */
struct s3_list_entry {
	char *key;       /* decoded, as in the reply */
	char *etag;      /* verbatim, quotes kept */
	uint64_t size;
};

/* One page of a ListObjectsV2 reply. */
struct s3_list_page {
	struct s3_list_entry *v;
	size_t n;
	bool truncated;          /* IsTruncated */
	char *next_token;        /* NextContinuationToken, NULL if none */
};

/* Parse one ListObjectsV2 reply body (XML, libexpat through xml.c):
 * ListBucketResult with Contents/{Key,ETag,Size}, IsTruncated,
 * NextContinuationToken. Returns 0; -EBADMSG (not XML, another root
 * element, a Contents without Key/ETag/Size or with a malformed Size,
 * IsTruncated true without a token) with *why a static explanation;
 * -ENOMEM. *out is cleared first; free with s3_list_page_free(). */
int s3_list_parse_page(const char *body, size_t len, struct s3_list_page *out,
		       const char **why);
void s3_list_page_free(struct s3_list_page *p);

/* The digest of a listing: entries whose key ends in '/' (folder markers,
 * never imported) are left out; the rest are sorted by key (bytewise;
 * then ETag and size) and hashed with SHA-256 as "key\0etag\0size\n"
 * records, size in decimal.
 * out: S3_DIGEST_PREFIX and 64 lower-case hex digits. *counted (may be
 * NULL): the entries hashed. 0; -ENOMEM; -EIO. Pure. */
int s3_listing_digest(const struct s3_list_entry *v, size_t n,
		      char out[S3_DIGEST_LEN + 1], size_t *counted);

/* Append the query of one page: "continuation-token=T&" (when token is
 * not NULL) "list-type=2&max-keys=N&prefix=P", values percent-encoded
 * (every byte but A-Z a-z 0-9 - . _ ~). */
void s3_list_query(const char *prefix, const char *token, unsigned max_keys,
		   struct strbuf *out);

#endif
