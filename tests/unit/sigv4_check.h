/* sigv4_check.h - a SigV4 verifier for the tests (test_sigv4.c,
 * test_aws.c, test_s3.c) and the fuzz harness fuzz_sigv4.c: it parses an
 * Authorization value and checks a signed request with the daemon's own
 * exported stages (sigv4.h: canonical request with the signed names,
 * string to sign, signing key, signature), so a test can prove that what
 * sigv4_sign() sent is what a server rebuilds. The daemon never verifies;
 * the emulator does with its own, independent code (emu_sigv4.c).
 * sigv4_check.c is linked into every unit test. */
#ifndef PR_TEST_SIGV4_CHECK_H
#define PR_TEST_SIGV4_CHECK_H

#include "sigv4.h"
#include "strbuf.h"

/* An Authorization header value, parsed:
 *   AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/region/service/aws4_request,
 *   SignedHeaders=a;b;c, Signature=<64 hex> */
struct sigv4_check_auth {
	char access_key_id[SIGV4_MAX_ACCESS_KEY_ID + 1];
	char date[SIGV4_DATE_LEN + 1];
	char region[SIGV4_MAX_SCOPE_PART + 1];
	char service[SIGV4_MAX_SCOPE_PART + 1];
	char *signed_headers;          /* heap; "host;x-amz-date" */
	char signature[SIGV4_HEX_LEN + 1];
};

/* Parse an Authorization value into *out (free with
 * sigv4_check_auth_free()). The three components may come in any order,
 * separated by ',' and optional spaces. Returns 0; -EINVAL if the value is
 * malformed (wrong algorithm, missing or repeated component, bad scope
 * terminator, oversized or empty parts, signed header names not lower-case
 * tokens, signature not 64 lower-case hex digits); -ENOMEM. */
int sigv4_check_parse_auth(const char *value, struct sigv4_check_auth *out);
/* NULL is fine. */
void sigv4_check_auth_free(struct sigv4_check_auth *a);

/* Find a header by name, case-insensitively (the first one); NULL if none. */
const char *sigv4_check_header(const struct sigv4_request *req,
			       const char *name);

/* Verify req, whose Authorization was parsed into *auth, against
 * secret_access_key: rebuild the canonical request from the headers named
 * in auth->signed_headers (with flags, SIGV4_FLAGS_DEFAULT for JSON
 * services), the string to sign from the X-Amz-Date header (which must be
 * signed and agree with the scope date) and compare signatures in constant
 * time. The payload hash is the SHA-256 of the body, unless req carries
 * X-Amz-Content-Sha256: then its value is used (it must equal the body's
 * hash unless it is UNSIGNED-PAYLOAD). canonical and string_to_sign (each
 * may be NULL) receive what was computed. The clock is not checked.
 * Returns 0 when the signature matches; -EACCES when it does not;
 * -EBADMSG when the request contradicts itself (no or unsigned X-Amz-Date,
 * date not matching the scope, host not signed, content hash mismatch);
 * -ENOENT when a signed header is missing; -EINVAL, -ENOMEM, -EIO. */
int sigv4_check_verify(const struct sigv4_request *req,
		       const struct sigv4_check_auth *auth,
		       const char *secret_access_key, unsigned flags,
		       struct strbuf *canonical, struct strbuf *string_to_sign);

#endif
