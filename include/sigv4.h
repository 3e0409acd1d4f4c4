/* sigv4.h - AWS Signature Version 4, header signing, in checked stages.
 *
 *   canonical request -> string to sign -> signing key -> signature
 *
 * Each stage is exported so that the tests can check it against the AWS
 * vector suite; sigv4_verify() rebuilds a request's signature with the
 * signer's own canonicalisation, for the unit tests and the fuzz harness
 * (the emulator verifies with its own, independent code).
 *
 * The one-call path for clients is a struct sigv4_signer: it caches the
 * signing key per (date, region, service, access key id, secret) and reuses
 * its OpenSSL contexts and scratch buffers, so signing a request allocates
 * nothing once the buffers have grown. The key is wiped (OPENSSL_cleanse)
 * when it is replaced and when the signer is freed.
 *
 * SECRETS: the secret key, the session token, the signing key, the
 * signature, the Authorization value and the canonical request (which holds
 * the session token when one is signed) must never reach a log. Nothing in
 * this module logs.
 *
 * Canonicalisation (what the vector suite and the SDKs agree on):
 * - path: "" becomes "/"; with SIGV4_NORMALIZE_PATH, "." and ".." segments
 *   are resolved and empty segments dropped (a trailing '/' is kept); then
 *   every byte outside A-Z a-z 0-9 - . _ ~ and '/' is percent-encoded
 *   (upper-case hex), so a path that is already encoded on the wire gets
 *   encoded a second time, as every service except S3 expects.
 *   SIGV4_PATH_AS_IS skips normalising and encoding (S3).
 * - query: split on '&', each "k=v" (or "k") percent-decoded then encoded
 *   again with the unreserved set, sorted by key then value.
 * - headers: names lower-cased; values trimmed, every run of spaces, tabs,
 *   CR and LF (obsolete line folding included) folded to one space;
 *   repeated names joined with ',' in the order received; sorted by name.
 * - payload: lower-case hex SHA-256 of the body, or the caller's
 *   payload_hash (e.g. "UNSIGNED-PAYLOAD").
 */
#ifndef PR_SIGV4_H
#define PR_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "strbuf.h"

#define SIGV4_ALGORITHM      "AWS4-HMAC-SHA256"
#define SIGV4_HEADER_AUTHORIZATION  "Authorization"
#define SIGV4_HEADER_DATE           "X-Amz-Date"
#define SIGV4_HEADER_SECURITY_TOKEN "X-Amz-Security-Token"
#define SIGV4_HEADER_CONTENT_SHA256 "X-Amz-Content-Sha256"
#define SIGV4_UNSIGNED_PAYLOAD      "UNSIGNED-PAYLOAD"

#define SIGV4_KEY_LEN        32 /* bytes of a signing key (HMAC-SHA256) */
#define SIGV4_HEX_LEN        64 /* hex digits of a SHA-256 or signature */
#define SIGV4_AMZ_DATE_LEN   16 /* "YYYYMMDDTHHMMSSZ" */
#define SIGV4_DATE_LEN        8 /* "YYYYMMDD" */
/* Upper bounds accepted for the scope parts (AWS: access key ids are at
 * most 128 characters; region and service names are short tokens). */
#define SIGV4_MAX_ACCESS_KEY_ID 128
#define SIGV4_MAX_SCOPE_PART     63

/* One header as sent or received. Both strings NUL-terminated; value as
 * on the wire (the canonicaliser trims and folds it). */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* A request to sign or to verify. */
struct sigv4_request {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* raw path as on the wire; NULL or "" = "/" */
	const char *query;    /* raw query without '?'; NULL or "" = none */
	const struct sigv4_header *headers;
	size_t n_headers;
	const void *body;     /* may be NULL when body_len is 0 */
	size_t body_len;
	/* Optional: the payload hash to use instead of hashing body
	 * (lower-case hex SHA-256, or SIGV4_UNSIGNED_PAYLOAD; at most 64
	 * printable characters). */
	const char *payload_hash;
};

struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL or "" when not temporary */
};

enum {
	/* Resolve "." / ".." and empty path segments (every service but S3). */
	SIGV4_NORMALIZE_PATH     = 1u << 0,
	/* Use the path exactly as given: no normalising, no encoding (S3). */
	SIGV4_PATH_AS_IS         = 1u << 1,
	/* Add and sign X-Amz-Content-Sha256 with the payload hash (S3). */
	SIGV4_CONTENT_SHA256     = 1u << 2,
	/* Add X-Amz-Security-Token after signing, unsigned (a few services
	 * want that; the default signs it). */
	SIGV4_OMIT_SESSION_TOKEN = 1u << 3,
};
/* What Amazon Personalize (JSON 1.1) wants. */
#define SIGV4_FLAGS_DEFAULT SIGV4_NORMALIZE_PATH

/* ---- stages ---------------------------------------------------------- */

/* Format t (UTC) as "YYYYMMDDTHHMMSSZ" into out[SIGV4_AMZ_DATE_LEN + 1].
 * Returns 0, or -EINVAL if t cannot be represented. */
int sigv4_format_amz_date(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1]);

/* Parse "YYYYMMDDTHHMMSSZ" (an X-Amz-Date value) to UTC seconds, for the
 * server's clock-skew check. Returns 0, or -EINVAL if malformed or not a
 * real date. */
int sigv4_parse_amz_date(const char *s, time_t *out);

/* Append s[0..len) percent-encoded per RFC 3986 as SigV4 canonicalises
 * it: the unreserved bytes A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash)
 * as they are, every other byte as %XX (upper-case hex). The one encoder
 * of URL paths, query values and form values of every AWS client. */
void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t len,
		      bool keep_slash);

/* Stage 1: append the canonical request of req to *canonical and the
 * signed headers list ("host;x-amz-date") to *signed_headers (may be NULL).
 *
 * signed_names: NULL signs every header of req except Authorization,
 * User-Agent, Expect and X-Amzn-Trace-Id (the SDKs' rule). Otherwise a
 * ';'-separated list of lower-case names as found in an Authorization
 * header: only those headers are canonicalised, and each must be present
 * in req (the verifier's case).
 * Returns 0; -EINVAL on a missing method, a malformed list or a control
 * character in a header name; -ENOENT if a listed header is absent;
 * -ENOMEM. On failure the buffers hold partial output. */
int sigv4_canonical_request(const struct sigv4_request *req,
			    const char *signed_names, unsigned flags,
			    struct strbuf *canonical,
			    struct strbuf *signed_headers);

/* Stage 2: append the string to sign to *out:
 *   AWS4-HMAC-SHA256 \n amz_date \n date/region/service/aws4_request \n
 *   hex(SHA-256(canonical request))
 * The date of the scope is the first 8 characters of amz_date.
 * Returns 0, -EINVAL (bad amz_date, empty/oversized region or service,
 * or one holding '/'), -EIO, -ENOMEM. */
int sigv4_string_to_sign(const char *amz_date, const char *region,
			 const char *service, const char *canonical,
			 size_t canonical_len, struct strbuf *out);

/* Stage 3: the signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date),
 * region), service), "aws4_request") into key[SIGV4_KEY_LEN]; date is
 * "YYYYMMDD". The caller wipes key (OPENSSL_cleanse) when done.
 * Returns 0, -EINVAL, -EIO. */
int sigv4_signing_key(const char *secret_access_key, const char *date,
		      const char *region, const char *service,
		      unsigned char key[SIGV4_KEY_LEN]);

/* Stage 4: lower-case hex HMAC-SHA256(key, string_to_sign) into
 * hex[SIGV4_HEX_LEN + 1]. Returns 0, -EINVAL, -EIO. */
int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN],
		    const char *string_to_sign, size_t len,
		    char hex[SIGV4_HEX_LEN + 1]);

/* ---- client: one call ------------------------------------------------- */

struct sigv4_signer;

/* The headers to add to the request, in this order: X-Amz-Date,
 * X-Amz-Security-Token (session token set), X-Amz-Content-Sha256
 * (SIGV4_CONTENT_SHA256), Authorization. The strings live in the output
 * (and the token in the credentials passed to sigv4_sign()): do not copy
 * the struct; read it before the next sigv4_sign() on the same output or
 * signer. Everything here except amz_date is secret: never log it. */
struct sigv4_output {
	struct sigv4_header headers[4];
	size_t n_headers;
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char content_sha256[SIGV4_HEX_LEN + 1];
	char signature[SIGV4_HEX_LEN + 1];
	struct strbuf authorization;   /* the Authorization value */
	/* Debug/test views into the signer's scratch buffers, valid until
	 * the next sigv4_sign() on that signer. canonical_request may hold
	 * the session token: never log it. */
	const char *canonical_request;
	const char *string_to_sign;
};

#define SIGV4_OUTPUT_INIT { .authorization = STRBUF_INIT }

/* New signer. Returns 0 and *out, -ENOMEM or -EIO (OpenSSL lacks HMAC or
 * SHA-256). */
int sigv4_signer_new(struct sigv4_signer **out);
/* Free the signer, wiping the cached key. NULL is fine. */
void sigv4_signer_free(struct sigv4_signer *s);

/* Sign req at time now (UTC seconds; pass a skew-corrected clock) for
 * region/service with creds; flags as above (SIGV4_FLAGS_DEFAULT for
 * Personalize). req must hold a Host header; any Authorization,
 * X-Amz-Date, X-Amz-Security-Token or X-Amz-Content-Sha256 it holds is
 * ignored (so a retry can re-sign the same header list), which is why out
 * lists the headers to set, replacing older ones.
 * Returns 0 and fills *out (initialise it with SIGV4_OUTPUT_INIT, free it
 * with sigv4_output_free()); -EINVAL (missing credentials, Host, region,
 * service; bad header or payload_hash), -ENOMEM, -EIO. After a failure
 * do not use *out (sigv4_output_free() is still right). */
int sigv4_sign(struct sigv4_signer *s, const struct sigv4_credentials *creds,
	       const char *region, const char *service, time_t now,
	       unsigned flags, const struct sigv4_request *req,
	       struct sigv4_output *out);

/* Wipe and free what sigv4_sign() put in out. NULL is fine. */
void sigv4_output_free(struct sigv4_output *out);

/* ---- server: verification (the emulator) ------------------------------ */

/* An Authorization header value, parsed:
 *   AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/service/aws4_request,
 *   SignedHeaders=a;b;c, Signature=<64 hex> */
struct sigv4_auth {
	char access_key_id[SIGV4_MAX_ACCESS_KEY_ID + 1];
	char date[SIGV4_DATE_LEN + 1];
	char region[SIGV4_MAX_SCOPE_PART + 1];
	char service[SIGV4_MAX_SCOPE_PART + 1];
	char *signed_headers;          /* heap; "host;x-amz-date" */
	char signature[SIGV4_HEX_LEN + 1];
};

/* Parse an Authorization value into *out (free with sigv4_auth_free()).
 * The three components may come in any order, separated by ',' and
 * optional spaces. Returns 0; -EINVAL if the value is malformed (wrong
 * algorithm, missing component, bad scope terminator, oversized or empty
 * parts, signature not 64 lower-case hex digits); -ENOMEM. */
int sigv4_parse_authorization(const char *value, struct sigv4_auth *out);
void sigv4_auth_free(struct sigv4_auth *a);

/* Find a header by name, case-insensitively (the first one); NULL if none. */
const char *sigv4_find_header(const struct sigv4_request *req,
			      const char *name);

/* Verify req, whose Authorization was parsed into *auth, against
 * secret_access_key: rebuild the canonical request from the headers named
 * in auth->signed_headers (with flags, SIGV4_FLAGS_DEFAULT for JSON
 * services), the string to sign from the X-Amz-Date header (which must be
 * signed and agree with the scope date) and compare signatures in constant
 * time. The payload hash is the SHA-256 of the body, unless req carries
 * X-Amz-Content-Sha256: then its value is used (it must equal the body's
 * hash unless it is UNSIGNED-PAYLOAD). canonical and string_to_sign (each
 * may be NULL) receive what the server computed, for error replies.
 * The clock is not checked here: compare X-Amz-Date with your own clock.
 * Returns 0 when the signature matches; -EACCES when it does not;
 * -EBADMSG when the request contradicts itself (no or unsigned X-Amz-Date,
 * date not matching the scope, host not signed, content hash mismatch);
 * -ENOENT when a signed header is missing; -EINVAL, -ENOMEM, -EIO. */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
		 const char *secret_access_key, unsigned flags,
		 struct strbuf *canonical, struct strbuf *string_to_sign);

#endif
