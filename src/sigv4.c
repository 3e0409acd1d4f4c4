/* sigv4.c - AWS Signature Version 4 header signing; see include/sigv4.h. */
#include "sigv4.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define SHA256_LEN 32
#define SIGV4_SCOPE_TERMINATOR "aws4_request"
#define SIGV4_KEY_PREFIX "AWS4"
/* Secrets longer than this are refused (AWS's are 40 characters). */
#define SIGV4_MAX_SECRET 1024

static const char hex_digits[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* ---- OpenSSL contexts ---------------------------------------------------- */

/* SHA-256 and HMAC-SHA256, fetched once and reused. */
struct sigv4_crypto {
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_ctx; /* rekeyed for each use */
};

static void crypto_free(struct sigv4_crypto *c)
{
	EVP_MAC_CTX_free(c->mac_ctx);
	EVP_MAC_free(c->mac);
	EVP_MD_CTX_free(c->md_ctx);
	EVP_MD_free(c->md);
	memset(c, 0, sizeof(*c));
}

/* A fresh HMAC-SHA256 context (no key yet). */
static EVP_MAC_CTX *hmac_ctx_new(EVP_MAC *mac)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

	if (!ctx)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(ctx, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int crypto_init(struct sigv4_crypto *c)
{
	memset(c, 0, sizeof(*c));
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->md_ctx = EVP_MD_CTX_new();
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!c->md || !c->md_ctx || !c->mac)
		goto fail;
	c->mac_ctx = hmac_ctx_new(c->mac);
	if (!c->mac_ctx)
		goto fail;
	return 0;
fail:
	crypto_free(c);
	return -EIO;
}

static int crypto_sha256(struct sigv4_crypto *c, const void *data, size_t len,
			 unsigned char out[SHA256_LEN])
{
	unsigned int n = 0;

	if (!EVP_DigestInit_ex(c->md_ctx, c->md, NULL) ||
	    !EVP_DigestUpdate(c->md_ctx, data, len) ||
	    !EVP_DigestFinal_ex(c->md_ctx, out, &n) || n != SHA256_LEN)
		return -EIO;
	return 0;
}

/* HMAC with ctx; key NULL reuses the key ctx already holds. */
static int hmac_with(EVP_MAC_CTX *ctx, const void *key, size_t key_len,
		     const void *data, size_t len,
		     unsigned char out[SHA256_LEN])
{
	size_t n = 0;

	if (!EVP_MAC_init(ctx, key, key_len, NULL) ||
	    !EVP_MAC_update(ctx, data, len) ||
	    !EVP_MAC_final(ctx, out, &n, SHA256_LEN) || n != SHA256_LEN)
		return -EIO;
	return 0;
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char b = in[i];

		out[2 * i] = hex_digits[b >> 4];
		out[2 * i + 1] = hex_digits[b & 0xf];
	}
	out[2 * len] = '\0';
}

/* ---- small helpers ------------------------------------------------------- */

static inline char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_ieq(const char *a, const char *b)
{
	while (*a && *b && ascii_lower(*a) == ascii_lower(*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* Case-insensitive equality of name with the len bytes at list. */
static bool ascii_ieq_n(const char *name, const char *list, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (name[i] == '\0' || ascii_lower(name[i]) != list[i])
			return false;
	return name[len] == '\0';
}

static int ascii_icmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = (unsigned char)ascii_lower(*a++);
		cb = (unsigned char)ascii_lower(*b++);
	} while (ca && ca == cb);
	return (int)ca - (int)cb;
}

static inline bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static inline bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t len,
		      bool keep_slash)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		char esc[3];

		while (j < len && (is_unreserved((unsigned char)s[j]) ||
				   (keep_slash && s[j] == '/')))
			j++;
		if (j > i)
			strbuf_append(sb, s + i, j - i);
		if (j >= len)
			break;
		esc[0] = '%';
		esc[1] = hex_upper[(unsigned char)s[j] >> 4];
		esc[2] = hex_upper[(unsigned char)s[j] & 0xf];
		strbuf_append(sb, esc, 3);
		i = j + 1;
	}
}

/* Append s[0..len) percent-decoded (a '%' not followed by two hex digits
 * stays literal; '+' stays '+'). */
static void uri_decode(struct strbuf *sb, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		int hi, lo;

		while (j < len && s[j] != '%')
			j++;
		if (j > i)
			strbuf_append(sb, s + i, j - i);
		if (j >= len)
			break;
		if (j + 2 < len && (hi = hex_value(s[j + 1])) >= 0 &&
		    (lo = hex_value(s[j + 2])) >= 0) {
			strbuf_putc(sb, (char)(hi << 4 | lo));
			i = j + 3;
		} else {
			strbuf_putc(sb, '%');
			i = j + 1;
		}
	}
}

/* ---- canonical request --------------------------------------------------- */

struct hdr_entry {
	const char *name;
	const char *value;
	size_t name_len, value_len;
	bool dup; /* same name as the entry before it (after sorting) */
};

struct query_pair {
	size_t key, key_len, val, val_len; /* offsets into the query scratch */
};

/* Reusable scratch space (kept by the signer between calls). */
struct canon_scratch {
	struct hdr_entry *hdrs;
	size_t n_hdrs, cap_hdrs;
	struct query_pair *pairs;
	size_t cap_pairs;
	struct strbuf qbuf;
	const char *qbase; /* qbuf.buf while sorting */
};

static void scratch_free(struct canon_scratch *scr)
{
	free(scr->hdrs);
	free(scr->pairs);
	strbuf_free(&scr->qbuf);
	memset(scr, 0, sizeof(*scr));
}

static int scratch_add_header(struct canon_scratch *scr, const char *name,
			      const char *value)
{
	if (scr->n_hdrs == scr->cap_hdrs) {
		size_t cap = scr->cap_hdrs ? scr->cap_hdrs * 2 : 16;
		struct hdr_entry *h;

		if (cap > SIZE_MAX / sizeof(*h))
			return -ENOMEM;
		h = realloc(scr->hdrs, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		scr->hdrs = h;
		scr->cap_hdrs = cap;
	}
	scr->hdrs[scr->n_hdrs].name = name;
	scr->hdrs[scr->n_hdrs].value = value ? value : "";
	scr->hdrs[scr->n_hdrs].name_len = strlen(name);
	scr->hdrs[scr->n_hdrs].value_len = strlen(value ? value : "");
	scr->n_hdrs++;
	return 0;
}

static int hdr_cmp(const struct hdr_entry *a, const struct hdr_entry *b)
{
	return ascii_icmp(a->name, b->name);
}

static bool valid_header_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!name || !*p)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p == ':' || *p == 0x7f)
			return false;
	return true;
}

/* Headers the SDKs never sign (a proxy or curl may change them). */
static bool header_never_signed(const char *name)
{
	static const char *const skip[] = {
		"authorization", "user-agent", "expect", "x-amzn-trace-id",
	};
	size_t i;
	char c = ascii_lower(name[0]);

	if (c != 'a' && c != 'u' && c != 'e' && c != 'x')
		return false;
	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (ascii_ieq(name, skip[i]))
			return true;
	return false;
}

/* The canonical URI of path. */
static void append_canonical_path(struct strbuf *sb, const char *path,
				  unsigned flags)
{
	size_t base, len;
	const char *p, *end;

	if (!path || !*path) {
		strbuf_putc(sb, '/');
		return;
	}
	if (flags & SIGV4_PATH_AS_IS) {
		strbuf_puts(sb, path);
		return;
	}
	len = strlen(path);
	if (!(flags & SIGV4_NORMALIZE_PATH)) {
		if (path[0] != '/')
			strbuf_putc(sb, '/');
		sigv4_uri_encode(sb, path, len, true);
		return;
	}
	/* Normalise segment by segment, writing encoded segments; ".."
	 * truncates back to the previous '/'. */
	base = sb->len;
	p = path;
	end = path + len;
	while (p < end) {
		const char *seg;
		size_t n;

		while (p < end && *p == '/')
			p++;
		seg = p;
		while (p < end && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			size_t i = sb->len;

			if (strbuf_error(sb))
				return;
			while (i > base && sb->buf[i - 1] != '/')
				i--;
			if (i > base)
				i--; /* the '/' itself */
			sb->len = i;
			sb->buf[i] = '\0';
			continue;
		}
		strbuf_putc(sb, '/');
		sigv4_uri_encode(sb, seg, n, false);
	}
	if (strbuf_error(sb))
		return;
	if (sb->len == base)
		strbuf_putc(sb, '/');
	else if (path[len - 1] == '/')
		strbuf_putc(sb, '/');
}

static int pair_cmp_base(const struct query_pair *a, const struct query_pair *b,
			 const char *base)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int r = memcmp(base + a->key, base + b->key, n);

	if (r)
		return r;
	if (a->key_len != b->key_len)
		return a->key_len < b->key_len ? -1 : 1;
	n = a->val_len < b->val_len ? a->val_len : b->val_len;
	r = memcmp(base + a->val, base + b->val, n);
	if (r)
		return r;
	return a->val_len < b->val_len ? -1 : a->val_len > b->val_len;
}

/* Append the canonical query string. Query pairs are re-encoded into
 * scr->qbuf, indexed by scr->pairs and insertion-sorted (queries are
 * short; a long one is sorted with the same loop, quadratic but bounded by
 * the request size). */
static int append_canonical_query(struct canon_scratch *scr, struct strbuf *sb,
				  const char *query)
{
	struct strbuf *q = &scr->qbuf;
	size_t n = 0, i, j, count = 1;
	const char *p;

	if (!query || !*query)
		return 0;
	for (p = query; *p; p++)
		count += *p == '&';
	if (count > scr->cap_pairs) {
		struct query_pair *np;

		if (count > SIZE_MAX / sizeof(*np))
			return -ENOMEM;
		np = realloc(scr->pairs, count * sizeof(*np));
		if (!np)
			return -ENOMEM;
		scr->pairs = np;
		scr->cap_pairs = count;
	}
	strbuf_reset(q);
	strbuf_append(q, "", 0); /* q->buf is never NULL below */
	p = query;
	while (*p) {
		const char *start = p, *eq = NULL;
		struct strbuf tmp = STRBUF_INIT;
		struct query_pair *pair;

		while (*p && *p != '&') {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (p > start) {
			const char *kend = eq ? eq : p;

			pair = &scr->pairs[n++];
			/* decode into tmp, encode into q */
			uri_decode(&tmp, start, (size_t)(kend - start));
			pair->key = q->len;
			if (tmp.len)
				sigv4_uri_encode(q, tmp.buf, tmp.len, false);
			pair->key_len = q->len - pair->key;
			strbuf_reset(&tmp);
			if (eq)
				uri_decode(&tmp, eq + 1, (size_t)(p - eq - 1));
			pair->val = q->len;
			if (tmp.len)
				sigv4_uri_encode(q, tmp.buf, tmp.len, false);
			pair->val_len = q->len - pair->val;
			if (strbuf_error(&tmp) || strbuf_error(q)) {
				strbuf_free(&tmp);
				return -ENOMEM;
			}
		}
		strbuf_free(&tmp);
		if (*p == '&')
			p++;
	}
	if (strbuf_error(q))
		return -ENOMEM;
	for (i = 1; i < n; i++) {
		struct query_pair cur = scr->pairs[i];

		for (j = i; j > 0 &&
			    pair_cmp_base(&scr->pairs[j - 1], &cur, q->buf) > 0;
		     j--)
			scr->pairs[j] = scr->pairs[j - 1];
		scr->pairs[j] = cur;
	}
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_putc(sb, '&');
		strbuf_append(sb, q->buf + scr->pairs[i].key,
			      scr->pairs[i].key_len);
		strbuf_putc(sb, '=');
		strbuf_append(sb, q->buf + scr->pairs[i].val,
			      scr->pairs[i].val_len);
	}
	return strbuf_error(sb);
}

/* Make room for extra more bytes (plus the NUL) in sb, so that the writes
 * that follow can store bytes directly. */
static int sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (strbuf_error(sb))
		return -ENOMEM;
	if (extra > SIZE_MAX / 2 - sb->len - 1)
		return -ENOMEM;
	need = sb->len + extra + 1;
	if (sb->buf && need <= sb->cap)
		return 0;
	cap = sb->cap * 2 > need ? sb->cap * 2 : need;
	if (cap < 256)
		cap = 256;
	p = realloc(sb->buf, cap);
	if (!p)
		return -ENOMEM;
	if (!sb->buf)
		p[0] = '\0';
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

/* Write name lower-cased at w; returns the end. */
static inline char *put_lower(char *w, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		w[i] = ascii_lower(name[i]);
	return w + n;
}

/* Write v trimmed, every run of linear white space as one ' '. Runs of
 * bytes above ' ' are copied in one go. */
static inline char *put_folded(char *w, const char *v, size_t n)
{
	const char *e = v + n;

	while (v < e && is_lws(*v))
		v++;
	while (e > v && is_lws(e[-1]))
		e--;
	while (v < e) {
		const char *p = v;

		while (p < e && (unsigned char)*p > ' ')
			p++;
		memcpy(w, v, (size_t)(p - v));
		w += p - v;
		if (p == e)
			break;
		if (!is_lws(*p)) { /* another control byte: kept as is */
			*w++ = *p;
			v = p + 1;
			continue;
		}
		while (p < e && is_lws(*p))
			p++;
		*w++ = ' '; /* p < e: the value was trimmed */
		v = p;
	}
	return w;
}

/* Stable insertion sort by lower-cased name (few headers; bounded by the
 * request size otherwise). */
static void sort_headers(struct hdr_entry *h, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct hdr_entry cur = h[i];

		for (j = i; j > 0 && hdr_cmp(&h[j - 1], &cur) > 0; j--)
			h[j] = h[j - 1];
		h[j] = cur;
	}
}

/* Write the canonical request from the headers collected in scr. */
static int build_canonical(struct canon_scratch *scr, const char *method,
			   const char *path, const char *query, unsigned flags,
			   const char *payload_hash, struct strbuf *canonical,
			   struct strbuf *signed_headers)
{
	size_t i, sh_start, bound, hash_len;
	char *w;
	int r;

	if (!method || !*method || !payload_hash)
		return -EINVAL;
	hash_len = strlen(payload_hash);
	bound = hash_len + 4;
	for (i = 0; i < scr->n_hdrs; i++) {
		if (!valid_header_name(scr->hdrs[i].name))
			return -EINVAL;
		bound += 2 * scr->hdrs[i].name_len + scr->hdrs[i].value_len + 3;
	}
	sort_headers(scr->hdrs, scr->n_hdrs);
	for (i = 0; i < scr->n_hdrs; i++)
		scr->hdrs[i].dup = i > 0 &&
				   scr->hdrs[i].name_len ==
					   scr->hdrs[i - 1].name_len &&
				   ascii_icmp(scr->hdrs[i - 1].name,
					      scr->hdrs[i].name) == 0;

	strbuf_puts(canonical, method);
	strbuf_putc(canonical, '\n');
	append_canonical_path(canonical, path, flags);
	strbuf_putc(canonical, '\n');
	r = append_canonical_query(scr, canonical, query);
	if (r < 0)
		return r;
	strbuf_putc(canonical, '\n');
	r = sb_reserve(canonical, bound);
	if (r < 0)
		return r;
	w = canonical->buf + canonical->len;
	for (i = 0; i < scr->n_hdrs; i++) {
		const struct hdr_entry *h = &scr->hdrs[i];

		if (h->dup) {
			*w++ = ',';
		} else {
			if (i > 0)
				*w++ = '\n';
			w = put_lower(w, h->name, h->name_len);
			*w++ = ':';
		}
		w = put_folded(w, h->value, h->value_len);
	}
	if (scr->n_hdrs)
		*w++ = '\n';
	*w++ = '\n';
	sh_start = (size_t)(w - canonical->buf);
	for (i = 0; i < scr->n_hdrs; i++) {
		if (scr->hdrs[i].dup)
			continue;
		if (i > 0)
			*w++ = ';';
		w = put_lower(w, scr->hdrs[i].name, scr->hdrs[i].name_len);
	}
	if (signed_headers) {
		strbuf_append(signed_headers, canonical->buf + sh_start,
			      (size_t)(w - canonical->buf) - sh_start);
		if (strbuf_error(signed_headers))
			return -ENOMEM;
	}
	*w++ = '\n';
	memcpy(w, payload_hash, hash_len);
	w += hash_len;
	*w = '\0';
	canonical->len = (size_t)(w - canonical->buf);
	return 0;
}

/* Check a ';'-separated list of lower-case header names. */
static bool valid_signed_list(const char *list)
{
	const char *p = list;

	if (!list || !*list)
		return false;
	while (*p) {
		const char *s = p;

		while (*p && *p != ';') {
			unsigned char c = (unsigned char)*p;

			if (c <= ' ' || c == ':' || c == 0x7f ||
			    (c >= 'A' && c <= 'Z'))
				return false;
			p++;
		}
		if (p == s)
			return false;
		if (*p == ';' && !*++p)
			return false;
	}
	return true;
}

/* Is name (any case) in the ';'-separated lower-case list? */
static bool in_signed_list(const char *list, const char *name)
{
	const char *p = list;

	while (*p) {
		const char *s = p;

		while (*p && *p != ';')
			p++;
		if (ascii_ieq_n(name, s, (size_t)(p - s)))
			return true;
		if (*p)
			p++;
	}
	return false;
}

/* Collect req's headers into scr: all signable ones (list NULL) or those
 * named in list, each of which must be there. */
static int collect_headers(struct canon_scratch *scr,
			   const struct sigv4_request *req, const char *list)
{
	size_t i;
	int r;

	scr->n_hdrs = 0;
	if (req->n_headers && !req->headers)
		return -EINVAL;
	for (i = 0; i < req->n_headers; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (!h->name)
			return -EINVAL;
		if (list ? !in_signed_list(list, h->name)
			 : header_never_signed(h->name))
			continue;
		r = scratch_add_header(scr, h->name, h->value);
		if (r < 0)
			return r;
	}
	if (list) {
		const char *p = list;

		while (*p) {
			const char *s = p;
			bool found = false;

			while (*p && *p != ';')
				p++;
			for (i = 0; i < scr->n_hdrs && !found; i++)
				found = ascii_ieq_n(scr->hdrs[i].name, s,
						    (size_t)(p - s));
			if (!found)
				return -ENOENT;
			if (*p)
				p++;
		}
	}
	return 0;
}

static int payload_hash_of(struct sigv4_crypto *c,
			   const struct sigv4_request *req,
			   char out[SIGV4_HEX_LEN + 1])
{
	unsigned char md[SHA256_LEN];
	size_t n, k;
	int r;

	if (req->payload_hash) {
		n = strlen(req->payload_hash);
		if (n == 0 || n > SIGV4_HEX_LEN)
			return -EINVAL;
		for (k = 0; k < n; k++)
			if ((unsigned char)req->payload_hash[k] <= ' ' ||
			    (unsigned char)req->payload_hash[k] >= 0x7f)
				return -EINVAL;
		memcpy(out, req->payload_hash, n + 1);
		return 0;
	}
	if (!req->body && req->body_len)
		return -EINVAL;
	r = crypto_sha256(c, req->body ? req->body : "", req->body_len, md);
	if (r < 0)
		return r;
	hex_encode(md, SHA256_LEN, out);
	return 0;
}

int sigv4_canonical_request(const struct sigv4_request *req,
			    const char *signed_names, unsigned flags,
			    struct strbuf *canonical,
			    struct strbuf *signed_headers)
{
	struct canon_scratch scr = { .qbuf = STRBUF_INIT };
	struct sigv4_crypto c = { 0 };
	char hash[SIGV4_HEX_LEN + 1];
	int r;

	if (!req || !canonical)
		return -EINVAL;
	if (signed_names && !valid_signed_list(signed_names))
		return -EINVAL;
	if (!req->payload_hash) {
		r = crypto_init(&c);
		if (r < 0)
			goto cleanup;
	}
	r = payload_hash_of(&c, req, hash);
	if (r < 0)
		goto cleanup;
	r = collect_headers(&scr, req, signed_names);
	if (r < 0)
		goto cleanup;
	r = build_canonical(&scr, req->method, req->path, req->query, flags,
			    hash, canonical, signed_headers);
cleanup:
	scratch_free(&scr);
	crypto_free(&c);
	return r;
}

/* ---- string to sign, key, signature --------------------------------------- */

static bool valid_amz_date(const char *d)
{
	int i;

	if (!d || strlen(d) != SIGV4_AMZ_DATE_LEN)
		return false;
	for (i = 0; i < SIGV4_AMZ_DATE_LEN; i++) {
		if (i == 8) {
			if (d[i] != 'T')
				return false;
		} else if (i == 15) {
			if (d[i] != 'Z')
				return false;
		} else if (d[i] < '0' || d[i] > '9') {
			return false;
		}
	}
	return true;
}

static bool valid_scope_part(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > SIGV4_MAX_SCOPE_PART)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || *s == 0x7f)
			return false;
	return true;
}

static bool valid_date8(const char *d)
{
	int i;

	if (!d || strlen(d) != SIGV4_DATE_LEN)
		return false;
	for (i = 0; i < SIGV4_DATE_LEN; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	return true;
}

static int build_string_to_sign(struct sigv4_crypto *c, const char *amz_date,
				const char *region, const char *service,
				const char *canonical, size_t canonical_len,
				struct strbuf *out)
{
	unsigned char md[SHA256_LEN];
	char hex[SIGV4_HEX_LEN + 1], *w;
	size_t rlen, slen;
	int r;

	r = crypto_sha256(c, canonical, canonical_len, md);
	if (r < 0)
		return r;
	hex_encode(md, SHA256_LEN, hex);
	rlen = strlen(region);
	slen = strlen(service);
	r = sb_reserve(out, sizeof(SIGV4_ALGORITHM) + SIGV4_AMZ_DATE_LEN +
				    SIGV4_DATE_LEN + rlen + slen +
				    sizeof(SIGV4_SCOPE_TERMINATOR) +
				    SIGV4_HEX_LEN + 8);
	if (r < 0)
		return r;
	w = out->buf + out->len;
	memcpy(w, SIGV4_ALGORITHM "\n", sizeof(SIGV4_ALGORITHM));
	w += sizeof(SIGV4_ALGORITHM);
	memcpy(w, amz_date, SIGV4_AMZ_DATE_LEN);
	w += SIGV4_AMZ_DATE_LEN;
	*w++ = '\n';
	memcpy(w, amz_date, SIGV4_DATE_LEN);
	w += SIGV4_DATE_LEN;
	*w++ = '/';
	memcpy(w, region, rlen);
	w += rlen;
	*w++ = '/';
	memcpy(w, service, slen);
	w += slen;
	memcpy(w, "/" SIGV4_SCOPE_TERMINATOR "\n",
	       sizeof("/" SIGV4_SCOPE_TERMINATOR "\n") - 1);
	w += sizeof("/" SIGV4_SCOPE_TERMINATOR "\n") - 1;
	memcpy(w, hex, SIGV4_HEX_LEN);
	w += SIGV4_HEX_LEN;
	*w = '\0';
	out->len = (size_t)(w - out->buf);
	return 0;
}

int sigv4_string_to_sign(const char *amz_date, const char *region,
			 const char *service, const char *canonical,
			 size_t canonical_len, struct strbuf *out)
{
	struct sigv4_crypto c;
	int r;

	if (!valid_amz_date(amz_date) || !valid_scope_part(region) ||
	    !valid_scope_part(service) || !out ||
	    (!canonical && canonical_len))
		return -EINVAL;
	r = crypto_init(&c);
	if (r < 0)
		return r;
	r = build_string_to_sign(&c, amz_date, region, service,
				 canonical ? canonical : "", canonical_len, out);
	crypto_free(&c);
	return r;
}

/* The HMAC chain into key. */
static int derive_key(struct sigv4_crypto *c, const char *secret,
		      const char *date, const char *region, const char *service,
		      unsigned char key[SIGV4_KEY_LEN])
{
	unsigned char k1[SHA256_LEN], k2[SHA256_LEN];
	unsigned char kbuf[sizeof(SIGV4_KEY_PREFIX) - 1 + SIGV4_MAX_SECRET];
	size_t slen = strlen(secret), plen = sizeof(SIGV4_KEY_PREFIX) - 1;
	int r = -EINVAL;

	if (slen == 0 || slen > SIGV4_MAX_SECRET)
		goto cleanup;
	memcpy(kbuf, SIGV4_KEY_PREFIX, plen);
	memcpy(kbuf + plen, secret, slen);
	if ((r = hmac_with(c->mac_ctx, kbuf, plen + slen, date,
			   SIGV4_DATE_LEN, k1)) < 0 ||
	    (r = hmac_with(c->mac_ctx, k1, SHA256_LEN, region, strlen(region),
			   k2)) < 0 ||
	    (r = hmac_with(c->mac_ctx, k2, SHA256_LEN, service,
			   strlen(service), k1)) < 0 ||
	    (r = hmac_with(c->mac_ctx, k1, SHA256_LEN, SIGV4_SCOPE_TERMINATOR,
			   sizeof(SIGV4_SCOPE_TERMINATOR) - 1, k2)) < 0)
		goto cleanup;
	memcpy(key, k2, SIGV4_KEY_LEN);
cleanup:
	OPENSSL_cleanse(kbuf, slen <= SIGV4_MAX_SECRET ? plen + slen : 0);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return r;
}

int sigv4_signing_key(const char *secret_access_key, const char *date,
		      const char *region, const char *service,
		      unsigned char key[SIGV4_KEY_LEN])
{
	struct sigv4_crypto c;
	int r;

	if (!secret_access_key || !valid_date8(date) ||
	    !valid_scope_part(region) || !valid_scope_part(service) || !key)
		return -EINVAL;
	r = crypto_init(&c);
	if (r < 0)
		return r;
	r = derive_key(&c, secret_access_key, date, region, service, key);
	crypto_free(&c); /* OpenSSL cleanses the HMAC state it frees */
	return r;
}

int sigv4_signature(const unsigned char key[SIGV4_KEY_LEN],
		    const char *string_to_sign, size_t len,
		    char hex[SIGV4_HEX_LEN + 1])
{
	struct sigv4_crypto c;
	unsigned char md[SHA256_LEN];
	int r;

	if (!key || !hex || (!string_to_sign && len))
		return -EINVAL;
	r = crypto_init(&c);
	if (r < 0)
		return r;
	r = hmac_with(c.mac_ctx, key, SIGV4_KEY_LEN,
		      string_to_sign ? string_to_sign : "", len, md);
	if (r == 0)
		hex_encode(md, SHA256_LEN, hex);
	OPENSSL_cleanse(md, sizeof(md));
	crypto_free(&c);
	return r;
}

int sigv4_format_amz_date(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;
	int v[6], w[6] = { 4, 2, 2, 2, 2, 2 }, i, k;
	char *p = out;

	if (!out || !gmtime_r(&t, &tm))
		return -EINVAL;
	v[0] = tm.tm_year + 1900;
	v[1] = tm.tm_mon + 1;
	v[2] = tm.tm_mday;
	v[3] = tm.tm_hour;
	v[4] = tm.tm_min;
	v[5] = tm.tm_sec;
	if (v[0] < 0 || v[0] > 9999)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		int x = v[i];

		if (i == 3)
			*p++ = 'T';
		for (k = w[i] - 1; k >= 0; k--) {
			p[k] = (char)('0' + x % 10);
			x /= 10;
		}
		p += w[i];
	}
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

int sigv4_parse_amz_date(const char *s, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int v[6], w[6] = { 4, 2, 2, 2, 2, 2 }, i, k;
	const char *p = s;
	struct tm tm;
	time_t t;

	if (!out || !valid_amz_date(s))
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (i == 3)
			p++; /* 'T' */
		v[i] = 0;
		for (k = 0; k < w[i]; k++)
			v[i] = v[i] * 10 + (*p++ - '0');
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60 || v[0] < 1970)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}

/* ---- signer -------------------------------------------------------------- */

struct sigv4_signer {
	struct sigv4_crypto c;
	EVP_MAC_CTX *key_ctx; /* HMAC keyed with the cached signing key */
	bool have_key;
	char key_date[SIGV4_DATE_LEN + 1];
	char key_region[SIGV4_MAX_SCOPE_PART + 1];
	char key_service[SIGV4_MAX_SCOPE_PART + 1];
	char key_akid[SIGV4_MAX_ACCESS_KEY_ID + 1];
	struct strbuf key_secret; /* the secret the key came from; wiped */
	struct canon_scratch scr;
	struct strbuf canon, sts;
	time_t date_for;  /* amz_date is the formatted date_for */
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
};

int sigv4_signer_new(struct sigv4_signer **out)
{
	struct sigv4_signer *s;
	int r;

	if (!out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = crypto_init(&s->c);
	if (r < 0) {
		free(s);
		return r;
	}
	s->key_ctx = hmac_ctx_new(s->c.mac);
	if (!s->key_ctx) {
		sigv4_signer_free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

static void signer_drop_key(struct sigv4_signer *s)
{
	s->have_key = false;
	strbuf_free_secure(&s->key_secret);
	OPENSSL_cleanse(s->key_akid, sizeof(s->key_akid));
}

void sigv4_signer_free(struct sigv4_signer *s)
{
	if (!s)
		return;
	signer_drop_key(s);
	EVP_MAC_CTX_free(s->key_ctx); /* cleanses the keyed HMAC state */
	crypto_free(&s->c);
	scratch_free(&s->scr);
	strbuf_free_secure(&s->canon); /* may hold the session token */
	strbuf_free(&s->sts);
	free(s);
}

/* Make s->key_ctx hold the signing key for this scope and secret. */
static int signer_key(struct sigv4_signer *s, const struct sigv4_credentials *cr,
		      const char *date, const char *region, const char *service)
{
	unsigned char key[SIGV4_KEY_LEN];
	size_t slen = strlen(cr->secret_access_key);
	int r;

	if (s->have_key && memcmp(s->key_date, date, SIGV4_DATE_LEN) == 0 &&
	    strcmp(s->key_region, region) == 0 &&
	    strcmp(s->key_service, service) == 0 &&
	    strcmp(s->key_akid, cr->access_key_id) == 0 &&
	    s->key_secret.len == slen &&
	    CRYPTO_memcmp(s->key_secret.buf, cr->secret_access_key, slen) == 0)
		return 0;
	signer_drop_key(s);
	r = derive_key(&s->c, cr->secret_access_key, date, region, service,
		       key);
	if (r < 0)
		goto cleanup;
	/* keying the context precomputes the HMAC pads once per key */
	if (!EVP_MAC_init(s->key_ctx, key, SIGV4_KEY_LEN, NULL)) {
		r = -EIO;
		goto cleanup;
	}
	strbuf_append(&s->key_secret, cr->secret_access_key, slen);
	if (strbuf_error(&s->key_secret)) {
		strbuf_free_secure(&s->key_secret);
		r = -ENOMEM;
		goto cleanup;
	}
	memcpy(s->key_date, date, SIGV4_DATE_LEN);
	s->key_date[SIGV4_DATE_LEN] = '\0';
	strcpy(s->key_region, region);
	strcpy(s->key_service, service);
	strcpy(s->key_akid, cr->access_key_id);
	s->have_key = true;
cleanup:
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

/* Headers sigv4_sign() sets itself: any copy in the request is ignored.
 * (Only names starting with 'x' or 'a' can be one: a cheap first test.) */
static bool header_set_by_signer(const char *name)
{
	char c = ascii_lower(name[0]);

	if (c != 'x' && c != 'a')
		return false;
	return ascii_ieq(name, SIGV4_HEADER_AUTHORIZATION) ||
	       ascii_ieq(name, SIGV4_HEADER_DATE) ||
	       ascii_ieq(name, SIGV4_HEADER_SECURITY_TOKEN) ||
	       ascii_ieq(name, SIGV4_HEADER_CONTENT_SHA256);
}

static bool valid_access_key_id(const char *akid)
{
	size_t n;

	if (!akid)
		return false;
	n = strlen(akid);
	if (n == 0 || n > SIGV4_MAX_ACCESS_KEY_ID)
		return false;
	for (; *akid; akid++)
		if ((unsigned char)*akid <= ' ' || *akid == '/' ||
		    *akid == ',' || *akid == 0x7f)
			return false;
	return true;
}

#define AUTH_PREFIX SIGV4_ALGORITHM " Credential="
#define AUTH_MIDDLE "/" SIGV4_SCOPE_TERMINATOR ", SignedHeaders="
#define AUTH_SIGNATURE ", Signature="

static inline char *put_bytes(char *w, const void *d, size_t n)
{
	memcpy(w, d, n);
	return w + n;
}

int sigv4_sign(struct sigv4_signer *s, const struct sigv4_credentials *creds,
	       const char *region, const char *service, time_t now,
	       unsigned flags, const struct sigv4_request *req,
	       struct sigv4_output *out)
{
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char hash[SIGV4_HEX_LEN + 1];
	unsigned char md[SHA256_LEN];
	const char *token;
	bool have_host = false;
	size_t i, sh_start, sh_len, akid_len, region_len, service_len;
	char *w;
	int r;

	if (!s || !creds || !req || !out ||
	    !valid_access_key_id(creds->access_key_id) ||
	    !creds->secret_access_key || !*creds->secret_access_key ||
	    strlen(creds->secret_access_key) > SIGV4_MAX_SECRET ||
	    !valid_scope_part(region) || !valid_scope_part(service) ||
	    (req->n_headers && !req->headers))
		return -EINVAL;
	token = creds->session_token && *creds->session_token
			? creds->session_token : NULL;
	if (!s->amz_date[0] || s->date_for != now) {
		r = sigv4_format_amz_date(now, s->amz_date);
		if (r < 0) {
			s->amz_date[0] = '\0';
			return r;
		}
		s->date_for = now;
	}
	memcpy(amz_date, s->amz_date, sizeof(amz_date));
	r = payload_hash_of(&s->c, req, hash);
	if (r < 0)
		return r;

	s->scr.n_hdrs = 0;
	for (i = 0; i < req->n_headers; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (!h->name)
			return -EINVAL;
		if (header_never_signed(h->name) ||
		    header_set_by_signer(h->name))
			continue;
		if (ascii_ieq(h->name, "host"))
			have_host = h->value && *h->value;
		r = scratch_add_header(&s->scr, h->name, h->value);
		if (r < 0)
			return r;
	}
	if (!have_host)
		return -EINVAL;
	if ((r = scratch_add_header(&s->scr, SIGV4_HEADER_DATE, amz_date)) < 0)
		return r;
	if (token && !(flags & SIGV4_OMIT_SESSION_TOKEN) &&
	    (r = scratch_add_header(&s->scr, SIGV4_HEADER_SECURITY_TOKEN,
				    token)) < 0)
		return r;
	if ((flags & SIGV4_CONTENT_SHA256) &&
	    (r = scratch_add_header(&s->scr, SIGV4_HEADER_CONTENT_SHA256,
				    hash)) < 0)
		return r;

	strbuf_reset(&s->canon);
	r = build_canonical(&s->scr, req->method, req->path, req->query, flags,
			    hash, &s->canon, NULL);
	if (r < 0)
		return r;
	strbuf_reset(&s->sts);
	r = build_string_to_sign(&s->c, amz_date, region, service,
				 s->canon.buf, s->canon.len, &s->sts);
	if (r < 0)
		return r;
	r = signer_key(s, creds, amz_date, region, service);
	if (r < 0)
		return r;
	r = hmac_with(s->key_ctx, NULL, 0, s->sts.buf, s->sts.len, md);
	if (r < 0)
		return r;

	/* the signed headers list sits between the last two '\n' */
	sh_start = s->canon.len - strlen(hash) - 1;
	sh_len = 0;
	while (sh_start > 0 && s->canon.buf[sh_start - 1] != '\n') {
		sh_start--;
		sh_len++;
	}

	/* reuse the output's buffer, wiping what it held */
	if (out->authorization.buf)
		OPENSSL_cleanse(out->authorization.buf, out->authorization.len);
	strbuf_reset(&out->authorization);
	hex_encode(md, SHA256_LEN, out->signature);
	OPENSSL_cleanse(md, sizeof(md));
	akid_len = strlen(creds->access_key_id);
	region_len = strlen(region);
	service_len = strlen(service);
	r = sb_reserve(&out->authorization,
		       sizeof(AUTH_PREFIX) + akid_len + SIGV4_DATE_LEN +
			       region_len + service_len + sizeof(AUTH_MIDDLE) +
			       sh_len + sizeof(AUTH_SIGNATURE) + SIGV4_HEX_LEN +
			       4);
	if (r < 0)
		return r;
	w = out->authorization.buf;
	w = put_bytes(w, AUTH_PREFIX, sizeof(AUTH_PREFIX) - 1);
	w = put_bytes(w, creds->access_key_id, akid_len);
	*w++ = '/';
	w = put_bytes(w, amz_date, SIGV4_DATE_LEN);
	*w++ = '/';
	w = put_bytes(w, region, region_len);
	*w++ = '/';
	w = put_bytes(w, service, service_len);
	w = put_bytes(w, AUTH_MIDDLE, sizeof(AUTH_MIDDLE) - 1);
	w = put_bytes(w, s->canon.buf + sh_start, sh_len);
	w = put_bytes(w, AUTH_SIGNATURE, sizeof(AUTH_SIGNATURE) - 1);
	w = put_bytes(w, out->signature, SIGV4_HEX_LEN);
	*w = '\0';
	out->authorization.len = (size_t)(w - out->authorization.buf);

	memcpy(out->amz_date, amz_date, sizeof(amz_date));
	i = 0;
	out->headers[i].name = SIGV4_HEADER_DATE;
	out->headers[i++].value = out->amz_date;
	if (token) {
		out->headers[i].name = SIGV4_HEADER_SECURITY_TOKEN;
		out->headers[i++].value = token;
	}
	if (flags & SIGV4_CONTENT_SHA256) {
		memcpy(out->content_sha256, hash, sizeof(hash));
		out->headers[i].name = SIGV4_HEADER_CONTENT_SHA256;
		out->headers[i++].value = out->content_sha256;
	} else {
		out->content_sha256[0] = '\0';
	}
	out->headers[i].name = SIGV4_HEADER_AUTHORIZATION;
	out->headers[i++].value = out->authorization.buf;
	out->n_headers = i;
	out->canonical_request = s->canon.buf;
	out->string_to_sign = s->sts.buf;
	return 0;
}

void sigv4_output_free(struct sigv4_output *out)
{
	if (!out)
		return;
	strbuf_free_secure(&out->authorization);
	OPENSSL_cleanse(out->signature, sizeof(out->signature));
	memset(out->headers, 0, sizeof(out->headers));
	out->n_headers = 0;
	out->canonical_request = NULL;
	out->string_to_sign = NULL;
}

/* ---- verification -------------------------------------------------------- */

/* Copy [s, s+n) to dst[cap] as a string; false if empty or too long. */
static bool copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static int parse_credential(const char *v, size_t n, struct sigv4_auth *a)
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
	if (lens[4] != sizeof(SIGV4_SCOPE_TERMINATOR) - 1 ||
	    memcmp(parts[4], SIGV4_SCOPE_TERMINATOR, lens[4]) != 0)
		return -EINVAL;
	if (!copy_part(a->access_key_id, sizeof(a->access_key_id), parts[0],
		       lens[0]) ||
	    !copy_part(a->date, sizeof(a->date), parts[1], lens[1]) ||
	    !valid_date8(a->date) ||
	    !copy_part(a->region, sizeof(a->region), parts[2], lens[2]) ||
	    !valid_scope_part(a->region) ||
	    !copy_part(a->service, sizeof(a->service), parts[3], lens[3]) ||
	    !valid_scope_part(a->service) ||
	    !valid_access_key_id(a->access_key_id))
		return -EINVAL;
	return 0;
}

int sigv4_parse_authorization(const char *value, struct sigv4_auth *out)
{
	struct sigv4_auth a;
	const char *p;
	bool got_cred = false, got_sig = false;
	char *sh = NULL;
	int r = -EINVAL;
	size_t alg = sizeof(SIGV4_ALGORITHM) - 1;

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

void sigv4_auth_free(struct sigv4_auth *a)
{
	if (!a)
		return;
	free(a->signed_headers);
	a->signed_headers = NULL;
}

const char *sigv4_find_header(const struct sigv4_request *req, const char *name)
{
	size_t i;

	if (!req || !name || (req->n_headers && !req->headers))
		return NULL;
	for (i = 0; i < req->n_headers; i++)
		if (req->headers[i].name && ascii_ieq(req->headers[i].name, name))
			return req->headers[i].value ? req->headers[i].value
						     : "";
	return NULL;
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
		 const char *secret_access_key, unsigned flags,
		 struct strbuf *canonical, struct strbuf *string_to_sign)
{
	struct strbuf canon_local = STRBUF_INIT, sts_local = STRBUF_INIT;
	struct strbuf *canon = canonical ? canonical : &canon_local;
	struct strbuf *sts = string_to_sign ? string_to_sign : &sts_local;
	struct canon_scratch scr = { .qbuf = STRBUF_INIT };
	struct sigv4_crypto c = { 0 };
	unsigned char key[SIGV4_KEY_LEN], md[SHA256_LEN];
	char hash[SIGV4_HEX_LEN + 1], sig[SIGV4_HEX_LEN + 1];
	const char *date, *csha;
	int r;

	if (!req || !auth || !auth->signed_headers || !secret_access_key ||
	    !*secret_access_key)
		return -EINVAL;
	if (!valid_signed_list(auth->signed_headers))
		return -EINVAL;
	r = crypto_init(&c);
	if (r < 0)
		goto cleanup;
	r = -EBADMSG;
	date = sigv4_find_header(req, SIGV4_HEADER_DATE);
	if (!date || !valid_amz_date(date) ||
	    memcmp(date, auth->date, SIGV4_DATE_LEN) != 0 ||
	    !in_signed_list(auth->signed_headers, "x-amz-date") ||
	    !in_signed_list(auth->signed_headers, "host"))
		goto cleanup;
	csha = sigv4_find_header(req, SIGV4_HEADER_CONTENT_SHA256);
	if (csha && strcmp(csha, SIGV4_UNSIGNED_PAYLOAD) == 0) {
		strcpy(hash, SIGV4_UNSIGNED_PAYLOAD);
	} else {
		struct sigv4_request body_only = *req;

		body_only.payload_hash = NULL;
		r = payload_hash_of(&c, &body_only, hash);
		if (r < 0)
			goto cleanup;
		r = -EBADMSG;
		if (csha && strcmp(csha, hash) != 0)
			goto cleanup;
	}
	r = collect_headers(&scr, req, auth->signed_headers);
	if (r < 0)
		goto cleanup;
	r = build_canonical(&scr, req->method, req->path, req->query, flags,
			    hash, canon, NULL);
	if (r < 0)
		goto cleanup;
	r = build_string_to_sign(&c, date, auth->region, auth->service,
				 canon->buf, canon->len, sts);
	if (r < 0)
		goto cleanup;
	r = derive_key(&c, secret_access_key, auth->date, auth->region,
		       auth->service, key);
	if (r < 0)
		goto cleanup;
	r = hmac_with(c.mac_ctx, key, SIGV4_KEY_LEN, sts->buf, sts->len, md);
	if (r < 0)
		goto cleanup;
	hex_encode(md, SHA256_LEN, sig);
	r = CRYPTO_memcmp(sig, auth->signature, SIGV4_HEX_LEN) == 0 ? 0
								    : -EACCES;
cleanup:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(sig, sizeof(sig));
	scratch_free(&scr);
	crypto_free(&c);
	strbuf_free_secure(&canon_local);
	strbuf_free(&sts_local);
	return r;
}
