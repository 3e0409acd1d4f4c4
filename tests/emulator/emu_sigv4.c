/* emu_sigv4.c - server-side SigV4: the emulator recomputes every signature.
 *
 * Written independently of src/sigv4.c on purpose: a verifier built from
 * the signer's own code would accept the signer's bugs. Its faithfulness is
 * shown by the unit test over AWS's published vectors and by boto3 and the
 * aws CLI (signers nobody here wrote) in tests/integration. */
#include "emu.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define EMU_SKEW_S (5 * 60)
#define EMU_ALGO "AWS4-HMAC-SHA256"
#define EMU_MSG_BAD_SIG \
	"The request signature we calculated does not match the signature you provided. " \
	"Check your AWS Secret Access Key and signing method. Consult the service " \
	"documentation for details."

/* ---- credentials ---------------------------------------------------------- */

int emu_creds_add(struct emu_creds *c, const char *akid, const char *secret,
		  const char *token, int64_t expires_wall_ms)
{
	struct emu_cred *e;

	if (!akid || !*akid || !secret || !*secret)
		return -EINVAL;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		struct emu_cred *nv = realloc(c->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = nc;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->akid = strdup(akid);
	e->secret = strdup(secret);
	e->token = token && *token ? strdup(token) : NULL;
	e->expires_wall_ms = expires_wall_ms;
	if (!e->akid || !e->secret || (token && *token && !e->token)) {
		free(e->akid);
		free(e->secret);
		free(e->token);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

int emu_creds_add_spec(struct emu_creds *c, const char *spec)
{
	char *copy = strdup(spec), *secret, *token;
	int r;

	if (!copy)
		return -ENOMEM;
	secret = strchr(copy, ':');
	if (!secret) {
		free(copy);
		return -EINVAL;
	}
	*secret++ = '\0';
	token = strchr(secret, ':');
	if (token)
		*token++ = '\0';
	r = emu_creds_add(c, copy, secret, token, 0);
	OPENSSL_cleanse(copy, strlen(spec));
	free(copy);
	return r;
}

int emu_creds_set_arn(struct emu_creds *c, const char *akid, const char *arn)
{
	for (size_t i = c->n; i-- > 0;)
		if (!strcmp(c->v[i].akid, akid)) {
			char *a = strdup(arn);

			if (!a)
				return -ENOMEM;
			free(c->v[i].arn);
			c->v[i].arn = a;
			return 0;
		}
	return -ENOENT;
}

const struct emu_cred *emu_creds_find(const struct emu_creds *c, const char *akid)
{
	for (size_t i = c->n; i-- > 0;)
		if (!strcmp(c->v[i].akid, akid))
			return &c->v[i];
	return NULL;
}

static void cred_wipe(struct emu_cred *e)
{
	free(e->akid);
	free(e->arn);
	if (e->secret) {
		OPENSSL_cleanse(e->secret, strlen(e->secret));
		free(e->secret);
	}
	if (e->token) {
		OPENSSL_cleanse(e->token, strlen(e->token));
		free(e->token);
	}
}

void emu_creds_prune(struct emu_creds *c, int64_t now_wall_ms, int64_t grace_ms)
{
	size_t i = 0;

	while (i < c->n) {
		if (c->v[i].expires_wall_ms && c->v[i].expires_wall_ms + grace_ms < now_wall_ms) {
			cred_wipe(&c->v[i]);
			memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(c->v[0]));
			c->n--;
		} else {
			i++;
		}
	}
}

void emu_creds_free(struct emu_creds *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		cred_wipe(&c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* ---- canonical request ---------------------------------------------------- */

const char *emu_req_header(const struct emu_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

static void uri_encode(struct strbuf *sb, const char *s, bool keep_slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
		    (keep_slash && c == '/'))
			strbuf_putc(sb, (char)c);
		else
			strbuf_printf(sb, "%%%02X", c);
	}
}

/* Header value as SigV4 wants it: trimmed, inner runs of spaces collapsed. */
static void trimmed(struct strbuf *sb, const char *v)
{
	bool space = false, started = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
			space = started;
			continue;
		}
		if (space)
			strbuf_putc(sb, ' ');
		space = false;
		started = true;
		strbuf_putc(sb, *v);
	}
}

struct qpair {
	char *k, *v;
};

static int qcmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

static void canonical_query(struct strbuf *sb, const struct emu_http_req *req)
{
	struct qpair *p = calloc(req->nquery ? req->nquery : 1, sizeof(*p));
	size_t i;

	if (!p) {
		sb->oom = true;
		return;
	}
	for (i = 0; i < req->nquery; i++) {
		struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;

		uri_encode(&k, req->query[i].name, false);
		uri_encode(&v, req->query[i].value ? req->query[i].value : "", false);
		strbuf_puts(&k, "");
		strbuf_puts(&v, "");
		p[i].k = strbuf_detach(&k);
		p[i].v = strbuf_detach(&v);
		if (!p[i].k || !p[i].v)
			sb->oom = true;
	}
	if (!sb->oom)
		qsort(p, req->nquery, sizeof(*p), qcmp);
	for (i = 0; i < req->nquery; i++) {
		if (!sb->oom)
			strbuf_printf(sb, "%s%s=%s", i ? "&" : "", p[i].k, p[i].v);
		free(p[i].k);
		free(p[i].v);
	}
	free(p);
}

/* Remove "." and ".." segments, as the signer does for non-S3 services. */
static char *normalized_path(const char *path)
{
	struct strbuf out = STRBUF_INIT;
	char *copy = strdup(path), *save = NULL, *seg;
	char **segs = calloc(strlen(path) + 1, sizeof(*segs));
	size_t n = 0;
	bool trailing = strlen(path) > 1 && path[strlen(path) - 1] == '/';

	if (!copy || !segs) {
		free(copy);
		free(segs);
		return NULL;
	}
	for (seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			if (n)
				n--;
			continue;
		}
		segs[n++] = seg;
	}
	for (size_t i = 0; i < n; i++) {
		strbuf_putc(&out, '/');
		strbuf_puts(&out, segs[i]);
	}
	if (!n || trailing)
		strbuf_putc(&out, '/');
	free(copy);
	free(segs);
	return strbuf_error(&out) ? (strbuf_free(&out), NULL) : strbuf_detach(&out);
}

static void sha256_hex(struct strbuf *sb, const void *data, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	strbuf_hex(sb, md, sizeof(md));
}

/* Build the canonical request. The path is the one on the wire (still
 * percent-encoded): S3 signs it as it is, every other service encodes it
 * once more after removing dot segments. */
static int canonical_request(const struct emu_http_req *req, const char *signed_headers,
			     const char *service, struct strbuf *cr)
{
	char *path = NULL, *list = NULL, *save = NULL, *name;
	bool s3 = !strcmp(service, "s3");
	int r = 0;

	strbuf_printf(cr, "%s\n", req->method);
	path = s3 ? strdup(req->path) : normalized_path(req->path);
	if (!path) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (s3)
		strbuf_puts(cr, path);
	else
		uri_encode(cr, path, true);
	strbuf_putc(cr, '\n');
	canonical_query(cr, req);
	strbuf_putc(cr, '\n');
	list = strdup(signed_headers);
	if (!list) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (name = strtok_r(list, ";", &save); name; name = strtok_r(NULL, ";", &save)) {
		bool first = true;

		strbuf_printf(cr, "%s:", name);
		for (size_t i = 0; i < req->nheaders; i++) {
			if (strcasecmp(req->headers[i].name, name))
				continue;
			if (!first)
				strbuf_putc(cr, ',');
			trimmed(cr, req->headers[i].value);
			first = false;
		}
		strbuf_putc(cr, '\n');
	}
	strbuf_printf(cr, "\n%s\n", signed_headers);
	{
		const char *h = emu_req_header(req, "x-amz-content-sha256");

		if (s3 && h)
			strbuf_puts(cr, h);
		else
			sha256_hex(cr, req->body ? req->body : "", req->body_len);
	}
	r = strbuf_error(cr);
cleanup:
	free(path);
	free(list);
	return r;
}

/* ---- Authorization header ------------------------------------------------- */

struct auth {
	char *akid, *date, *region, *service, *terminator;
	char *signed_headers, *signature;
};

static void auth_free(struct auth *a)
{
	free(a->akid); free(a->date); free(a->region); free(a->service);
	free(a->terminator); free(a->signed_headers); free(a->signature);
}

/* Value of "Key=" in a comma-separated list (malloc'd), or NULL. */
static char *auth_field(const char *s, const char *key)
{
	size_t kl = strlen(key);

	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		if (!strncmp(s, key, kl) && s[kl] == '=') {
			const char *v = s + kl + 1, *end = strchr(v, ',');

			return end ? strndup(v, (size_t)(end - v)) : strdup(v);
		}
		s = strchr(s, ',');
		if (!s)
			break;
	}
	return NULL;
}

static int parse_auth(const char *h, struct auth *a)
{
	char *cred = NULL, *save = NULL, *part;
	char **slots[] = { &a->akid, &a->date, &a->region, &a->service, &a->terminator };
	size_t n = 0;
	int r = -EINVAL;

	memset(a, 0, sizeof(*a));
	if (strncmp(h, EMU_ALGO " ", strlen(EMU_ALGO) + 1))
		return -EINVAL;
	h += strlen(EMU_ALGO) + 1;
	cred = auth_field(h, "Credential");
	a->signed_headers = auth_field(h, "SignedHeaders");
	a->signature = auth_field(h, "Signature");
	if (!cred || !a->signed_headers || !a->signature)
		goto cleanup;
	for (part = strtok_r(cred, "/", &save); part && n < 5; part = strtok_r(NULL, "/", &save))
		*slots[n++] = strdup(part);
	if (n == 5 && !strtok_r(NULL, "/", &save))
		r = 0;
cleanup:
	free(cred);
	return r;
}

static bool header_signed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ';') && (p[n] == ';' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static void amz_date(int64_t s, char out[17])
{
	time_t t = (time_t)s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Parse "YYYYMMDDTHHMMSSZ" to epoch seconds; -1 if malformed. */
static int64_t parse_amz_date(const char *s)
{
	struct tm tm;
	const char *end;

	if (!s || strlen(s) != 16)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return -1;
	return (int64_t)timegm(&tm);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

#define AUTH_ERR(status, code, ...) \
	do { emu_reply_error(r, status, EMU_NS_CORAL, code, __VA_ARGS__); rc = -EACCES; goto cleanup; } while (0)

int emu_sigv4_verify(const struct emu_http_req *req, const struct emu_creds *c,
		     const char *region, const char *service, int64_t now_s,
		     struct emu_reply *r, char **akid)
{
	const char *h = emu_req_header(req, "authorization");
	const char *date_h = emu_req_header(req, "x-amz-date");
	const char *tok_h = emu_req_header(req, "x-amz-security-token");
	struct strbuf cr = STRBUF_INIT, sts = STRBUF_INIT, keybuf = STRBUF_INIT;
	struct strbuf want = STRBUF_INIT;
	const struct emu_cred *cred;
	unsigned char k[32], sig[32];
	char now_txt[17], lo_txt[17], hi_txt[17];
	struct auth a;
	int64_t t;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	if (!h)
		AUTH_ERR(403, "MissingAuthenticationTokenException",
			 "Missing Authentication Token");
	if (parse_auth(h, &a) < 0) {
		if (strncmp(h, EMU_ALGO, strlen(EMU_ALGO)))
			AUTH_ERR(403, "IncompleteSignatureException",
				 "Unsupported AWS 'algorithm': '%.*s'", (int)strcspn(h, " "), h);
		AUTH_ERR(403, "IncompleteSignatureException",
			 "Authorization header requires 'Credential', 'Signature' and "
			 "'SignedHeaders' parameters, and a Credential of the form "
			 "AKID/date/region/service/aws4_request. Authorization=%s",
			 EMU_ALGO);
	}
	if (akid)
		*akid = strdup(a.akid);
	if (!date_h)
		date_h = emu_req_header(req, "date");
	t = parse_amz_date(date_h);
	if (t < 0)
		AUTH_ERR(403, "IncompleteSignatureException",
			 "Authorization header requires existence of either a 'X-Amz-Date' "
			 "or a 'Date' header.");
	if (!header_signed(a.signed_headers, "host"))
		AUTH_ERR(403, "IncompleteSignatureException",
			 "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
	if (emu_req_header(req, "x-amz-date") && !header_signed(a.signed_headers, "x-amz-date"))
		AUTH_ERR(403, "IncompleteSignatureException",
			 "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
	cred = emu_creds_find(c, a.akid);
	if (!cred)
		AUTH_ERR(403, "UnrecognizedClientException",
			 "The security token included in the request is invalid.");
	if (cred->token) {
		if (!tok_h || strcmp(tok_h, cred->token))
			AUTH_ERR(403, "UnrecognizedClientException",
				 "The security token included in the request is invalid.");
		if (!header_signed(a.signed_headers, "x-amz-security-token"))
			AUTH_ERR(403, "IncompleteSignatureException",
				 "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.");
		if (cred->expires_wall_ms && cred->expires_wall_ms <= now_s * 1000)
			AUTH_ERR(403, "ExpiredTokenException",
				 "The security token included in the request is expired");
	} else if (tok_h) {
		AUTH_ERR(403, "UnrecognizedClientException",
			 "The security token included in the request is invalid.");
	}
	amz_date(now_s, now_txt);
	if (t < now_s - EMU_SKEW_S) {
		amz_date(now_s - EMU_SKEW_S, lo_txt);
		AUTH_ERR(403, "InvalidSignatureException",
			 "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			 date_h, lo_txt, now_txt);
	}
	if (t > now_s + EMU_SKEW_S) {
		amz_date(now_s + EMU_SKEW_S, hi_txt);
		AUTH_ERR(403, "InvalidSignatureException",
			 "Signature not yet current: %s is still later than %s (%s + 5 min.)",
			 date_h, hi_txt, now_txt);
	}
	if (strncmp(a.date, date_h, 8) || strlen(a.date) != 8)
		AUTH_ERR(403, "InvalidSignatureException",
			 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
			 "of date from HTTP: '%s' != '%.8s', from '%s'.", a.date, date_h, date_h);
	if (strcmp(a.region, region))
		AUTH_ERR(403, "InvalidSignatureException",
			 "Credential should be scoped to a valid region. ");
	if (strcmp(a.service, service))
		AUTH_ERR(403, "InvalidSignatureException",
			 "Credential should be scoped to correct service: '%s'. ", service);
	if (strcmp(a.terminator, "aws4_request"))
		AUTH_ERR(403, "InvalidSignatureException",
			 "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ",
			 a.terminator);

	rc = canonical_request(req, a.signed_headers, service, &cr);
	if (rc < 0)
		AUTH_ERR(500, "InternalFailure", "out of memory");
	strbuf_printf(&sts, "%s\n%s\n%s/%s/%s/aws4_request\n", EMU_ALGO, date_h,
		      a.date, a.region, a.service);
	sha256_hex(&sts, cr.buf, cr.len);
	strbuf_printf(&keybuf, "AWS4%s", cred->secret);
	if (strbuf_error(&sts) || strbuf_error(&keybuf))
		AUTH_ERR(500, "InternalFailure", "out of memory");
	hmac(keybuf.buf, keybuf.len, a.date, k);
	hmac(k, 32, a.region, k);
	hmac(k, 32, a.service, k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, sts.buf, sig);
	strbuf_hex(&want, sig, sizeof(sig));
	if (strbuf_error(&want) || strlen(a.signature) != want.len ||
	    CRYPTO_memcmp(want.buf, a.signature, want.len))
		/* AWS shows the canonical request and string to sign (no secret in
		 * either) so that a client can see where it went wrong. */
		AUTH_ERR(403, "InvalidSignatureException",
			 "%s\n\nThe Canonical String for this request should have been\n'%s'\n\n"
			 "The String-to-Sign should have been\n'%s'\n",
			 EMU_MSG_BAD_SIG, cr.buf, sts.buf);
cleanup:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(sig, sizeof(sig));
	auth_free(&a);
	strbuf_free(&cr);
	strbuf_free(&sts);
	strbuf_free_secure(&keybuf);
	strbuf_free(&want);
	return rc;
}
