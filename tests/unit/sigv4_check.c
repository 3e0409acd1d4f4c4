/* sigv4_check.c - a SigV4 verifier for the tests; see sigv4_check.h. */
#include "sigv4_check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SCOPE_TERMINATOR "aws4_request"

/* Copy [s, s+n) to dst[cap] as a string; false if empty or too long. */
static bool copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A scope part or access key id: no space, control character or '/'
 * (nor ',' when no_comma). */
static bool valid_token(const char *s, bool no_comma)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || *s == 0x7f ||
		    (no_comma && *s == ','))
			return false;
	return true;
}

/* A ';'-separated list of lower-case header names, none empty: the
 * canonicaliser's own rule, which refuses a malformed list with -EINVAL
 * before it looks for the headers (here none: -ENOENT). */
static bool valid_signed_list(const char *list)
{
	const struct sigv4_request none = {
		.method = "GET", .payload_hash = SIGV4_UNSIGNED_PAYLOAD };
	struct strbuf sb = STRBUF_INIT;
	int r;

	if (!list)
		return false;
	r = sigv4_canonical_request(&none, list, 0, &sb, NULL);
	strbuf_free(&sb);
	return r != -EINVAL;
}

/* Is name (any case) in the ';'-separated list? */
static bool in_signed_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (*p) {
		const char *s = p;

		while (*p && *p != ';')
			p++;
		if ((size_t)(p - s) == n && strncasecmp(s, name, n) == 0)
			return true;
		if (*p)
			p++;
	}
	return false;
}

static bool valid_amz_date(const char *d)
{
	return strlen(d) == SIGV4_AMZ_DATE_LEN && all_digits(d, 8) &&
	       d[8] == 'T' && all_digits(d + 9, 6) && d[15] == 'Z';
}

static int parse_credential(const char *v, size_t n, struct sigv4_check_auth *a)
{
	const char *parts[5];
	size_t lens[5], k = 0;
	const char *p = v, *end = v + n;

	while (k < 5) {
		const char *s = p;

		while (p < end && *p != '/')
			p++;
		parts[k] = s;
		lens[k++] = (size_t)(p - s);
		if (p == end)
			break;
		p++;
	}
	if (k != 5 || p != end)
		return -EINVAL;
	if (lens[4] != strlen(SCOPE_TERMINATOR) ||
	    memcmp(parts[4], SCOPE_TERMINATOR, lens[4]) != 0)
		return -EINVAL;
	if (!copy_part(a->access_key_id, sizeof(a->access_key_id), parts[0],
		       lens[0]) ||
	    !valid_token(a->access_key_id, true) ||
	    lens[1] != SIGV4_DATE_LEN || !all_digits(parts[1], lens[1]) ||
	    !copy_part(a->date, sizeof(a->date), parts[1], lens[1]) ||
	    !copy_part(a->region, sizeof(a->region), parts[2], lens[2]) ||
	    !valid_token(a->region, false) ||
	    !copy_part(a->service, sizeof(a->service), parts[3], lens[3]) ||
	    !valid_token(a->service, false))
		return -EINVAL;
	return 0;
}

int sigv4_check_parse_auth(const char *value, struct sigv4_check_auth *out)
{
	struct sigv4_check_auth a;
	const char *p;
	bool got_cred = false, got_sig = false;
	char *sh = NULL;
	int r = -EINVAL;
	size_t alg = strlen(SIGV4_ALGORITHM);

	memset(&a, 0, sizeof(a));
	if (!value || !out)
		return -EINVAL;
	if (strncmp(value, SIGV4_ALGORITHM, alg) != 0 || value[alg] != ' ')
		goto cleanup;
	p = value + alg;
	while (*p) {
		const char *k, *v, *e;
		size_t kn;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		k = p;
		while (*p && *p != '=' && *p != ',' && *p != ' ')
			p++;
		if (*p != '=')
			goto cleanup;
		kn = (size_t)(p - k);
		v = ++p;
		while (*p && *p != ',' && *p != ' ')
			p++;
		e = p;
		if (kn == 10 && memcmp(k, "Credential", 10) == 0 && !got_cred) {
			if (parse_credential(v, (size_t)(e - v), &a) < 0)
				goto cleanup;
			got_cred = true;
		} else if (kn == 13 && memcmp(k, "SignedHeaders", 13) == 0 &&
			   !sh) {
			sh = strndup(v, (size_t)(e - v));
			if (!sh) {
				r = -ENOMEM;
				goto cleanup;
			}
			if (!valid_signed_list(sh))
				goto cleanup;
		} else if (kn == 9 && memcmp(k, "Signature", 9) == 0 &&
			   !got_sig) {
			size_t i, n = (size_t)(e - v);

			if (n != SIGV4_HEX_LEN)
				goto cleanup;
			for (i = 0; i < n; i++)
				if (!((v[i] >= '0' && v[i] <= '9') ||
				      (v[i] >= 'a' && v[i] <= 'f')))
					goto cleanup;
			memcpy(a.signature, v, n);
			a.signature[n] = '\0';
			got_sig = true;
		} else {
			goto cleanup;
		}
	}
	if (!got_cred || !got_sig || !sh)
		goto cleanup;
	a.signed_headers = sh;
	sh = NULL;
	*out = a;
	r = 0;
cleanup:
	free(sh);
	return r;
}

void sigv4_check_auth_free(struct sigv4_check_auth *a)
{
	if (!a)
		return;
	free(a->signed_headers);
	a->signed_headers = NULL;
}

const char *sigv4_check_header(const struct sigv4_request *req,
			       const char *name)
{
	size_t i;

	if (!req || !name || (req->n_headers && !req->headers))
		return NULL;
	for (i = 0; i < req->n_headers; i++)
		if (req->headers[i].name &&
		    strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value ? req->headers[i].value
						     : "";
	return NULL;
}

/* Lower-case hex SHA-256 of the body into hex[SIGV4_HEX_LEN + 1]. */
static int body_hash(const struct sigv4_request *req,
		     char hex[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct strbuf sb = STRBUF_INIT;
	int r = 0;

	if (req->body_len && !req->body)
		return -EINVAL;
	if (!EVP_Digest(req->body_len ? req->body : "", req->body_len, md,
			&len, EVP_sha256(), NULL))
		return -EIO;
	strbuf_hex(&sb, md, len);
	if (strbuf_error(&sb) < 0)
		r = -ENOMEM;
	else if (sb.len != SIGV4_HEX_LEN)
		r = -EIO;
	else
		memcpy(hex, sb.buf, SIGV4_HEX_LEN + 1);
	strbuf_free(&sb);
	return r;
}

int sigv4_check_verify(const struct sigv4_request *req,
		       const struct sigv4_check_auth *auth,
		       const char *secret_access_key, unsigned flags,
		       struct strbuf *canonical, struct strbuf *string_to_sign)
{
	struct strbuf canon_local = STRBUF_INIT, sts_local = STRBUF_INIT;
	struct strbuf *canon = canonical ? canonical : &canon_local;
	struct strbuf *sts = string_to_sign ? string_to_sign : &sts_local;
	struct sigv4_request r = { 0 };
	unsigned char key[SIGV4_KEY_LEN];
	char hash[SIGV4_HEX_LEN + 1], sig[SIGV4_HEX_LEN + 1];
	const char *date, *csha;
	int k;

	if (!req || !auth || !auth->signed_headers || !secret_access_key ||
	    !*secret_access_key || !valid_signed_list(auth->signed_headers))
		return -EINVAL;
	date = sigv4_check_header(req, SIGV4_HEADER_DATE);
	if (!date || !valid_amz_date(date) ||
	    memcmp(date, auth->date, SIGV4_DATE_LEN) != 0 ||
	    !in_signed_list(auth->signed_headers, "x-amz-date") ||
	    !in_signed_list(auth->signed_headers, "host"))
		return -EBADMSG;
	csha = sigv4_check_header(req, SIGV4_HEADER_CONTENT_SHA256);
	if (csha && strcmp(csha, SIGV4_UNSIGNED_PAYLOAD) == 0) {
		strcpy(hash, SIGV4_UNSIGNED_PAYLOAD);
	} else {
		k = body_hash(req, hash);
		if (k < 0)
			return k;
		if (csha && strcmp(csha, hash) != 0)
			return -EBADMSG;
	}
	r = *req;
	r.payload_hash = hash;
	k = sigv4_canonical_request(&r, auth->signed_headers, flags, canon,
				    NULL);
	if (k == 0)
		k = sigv4_string_to_sign(date, auth->region, auth->service,
					 canon->buf, canon->len, sts);
	if (k == 0)
		k = sigv4_signing_key(secret_access_key, auth->date,
				      auth->region, auth->service, key);
	if (k == 0) {
		k = sigv4_signature(key, sts->buf, sts->len, sig);
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (k == 0)
		k = CRYPTO_memcmp(sig, auth->signature, SIGV4_HEX_LEN) == 0
			    ? 0 : -EACCES;
	OPENSSL_cleanse(sig, sizeof(sig));
	strbuf_free_secure(&canon_local);
	strbuf_free(&sts_local);
	return k;
}
