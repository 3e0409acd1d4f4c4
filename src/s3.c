/* s3.c - Amazon S3 HeadObject and ListObjectsV2: endpoint, signing,
 * classification; the REST HEAD adapter and the REST GET listing adapter
 * (XML pages through xml.c, page after page, and the listing's digest)
 * over the call engine (aws_engine.c), which runs the attempts, retries,
 * quota and clock offset for every client alike. See include/s3.h and
 * include/s3-internal.h. */
#include "s3.h"
#include "s3-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "aws-engine.h"
#include "aws-internal.h"
#include "log.h"
#include "strbuf.h"
#include "xml.h"

#define S3_MAX_MESSAGE_LEN 512

#ifndef PR_VERSION
#define PR_VERSION "unknown"
#endif
/* Sent unsigned (the signer leaves User-Agent out). */
#define S3_USER_AGENT "personalize-retrain/" PR_VERSION


/* One HEAD: the request the engine hands back to this adapter. */
struct s3_head {
	struct s3_client *client;
	struct aws_engine_call *ec;
	char *uri, *bucket, *key;
	struct s3_target target;
	s3_head_done_fn done;
	void *userdata;
	struct s3_wire_request wire;
	enum s3_error error;       /* set by finalize for the callback */
	/* last attempt */
	enum http_error transport;
	long status;
	unsigned attempts;
	char *bucket_region, *request_id, *transport_text;
};

/* A 2xx HEAD's metadata, the engine's reply. */
struct s3_reply {
	char *etag;
	struct s3_meta meta;
};

/* ---- names ------------------------------------------------------------------ */

const char *s3_error_name(enum s3_error e)
{
	switch (e) {
	case S3_ERR_NONE: return "none";
	case S3_ERR_NOT_FOUND: return "not-found";
	case S3_ERR_ACCESS_DENIED: return "access-denied";
	case S3_ERR_WRONG_REGION: return "wrong-region";
	case S3_ERR_THROTTLED: return "throttled";
	case S3_ERR_TRANSIENT: return "transient";
	case S3_ERR_UNAVAILABLE: return "unavailable";
	case S3_ERR_CLIENT: return "client";
	case S3_ERR_CREDENTIALS: return "credentials";
	case S3_ERR_MALFORMED_REPLY: return "malformed-reply";
	case S3_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

/* ---- pure helpers ------------------------------------------------------------- */

static bool bucket_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '-' ||
	       ch == '_';
}

int s3_parse_uri(const char *uri, char **bucket, char **key)
{
	const char *b, *slash, *k;
	char *bo = NULL, *ko = NULL;
	size_t bn, kn, i;

	if (!uri || strncmp(uri, "s3://", 5) != 0)
		return -EINVAL;
	b = uri + 5;
	slash = strchr(b, '/');
	bn = slash ? (size_t)(slash - b) : strlen(b);
	if (bn == 0 || bn > S3_MAX_BUCKET_LEN)
		return -EINVAL;
	for (i = 0; i < bn; i++)
		if (!bucket_char(b[i]))
			return -EINVAL;
	k = slash ? slash + 1 : "";
	kn = strlen(k);
	if (kn > S3_MAX_KEY_LEN)
		return -EINVAL;
	for (i = 0; i < kn; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			return -EINVAL;
	if (kn == 0 || k[kn - 1] == '/')
		return -EISDIR;
	bo = strndup(b, bn);
	ko = strdup(k);
	if (!bo || !ko) {
		free(bo);
		free(ko);
		return -ENOMEM;
	}
	*bucket = bo;
	*key = ko;
	return 0;
}

void s3_encode_key(const char *key, struct strbuf *out)
{
	sigv4_uri_encode(out, key, strlen(key), true);
}

bool s3_virtual_host_ok(const char *bucket)
{
	size_t n = bucket ? strlen(bucket) : 0, i;

	if (n < 3 || n > 63)
		return false;
	if (!isalnum((unsigned char)bucket[0]) ||
	    !isalnum((unsigned char)bucket[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)bucket[i];

		if (!(islower(ch) || isdigit(ch) || ch == '-'))
			return false;
	}
	return true;
}

void s3_target_free(struct s3_target *t)
{
	if (!t)
		return;
	free(t->url);
	free(t->host);
	free(t->path);
	t->url = t->host = t->path = NULL;
}

/* Split an endpoint URL into scheme, host[:port] and path prefix (without
 * a trailing '/'). */
static int split_url(const char *url, char **scheme, char **hostport,
		     char **prefix)
{
	size_t n;
	int r = aws_url_parts(url, scheme, hostport, prefix);

	if (r < 0)
		return r;
	n = strlen(*prefix);
	while (n > 0 && (*prefix)[n - 1] == '/')
		(*prefix)[--n] = '\0';
	return 0;
}

int s3_resolve_target(const char *endpoint_url, bool force_path_style,
		      const char *region, const char *bucket, const char *key,
		      struct s3_target *out)
{
	struct strbuf path = STRBUF_INIT, url = STRBUF_INIT;
	char *ep = NULL, *scheme = NULL, *hostport = NULL, *prefix = NULL;
	char *host = NULL;
	bool override, path_style;
	int r;

	if (!bucket || !*bucket || !key)
		return -EINVAL;
	r = aws_endpoint_override(endpoint_url, S3_ENV_SERVICE_ID, &ep);
	if (r < 0)
		return r;
	override = ep != NULL;
	free(ep);
	ep = NULL;
	/* the override, or the default (FIPS / dual-stack as configured) */
	r = aws_resolve_endpoint(endpoint_url, S3_ENV_SERVICE_ID, "s3", region,
				 &ep);
	if (r < 0)
		return r;
	r = split_url(ep, &scheme, &hostport, &prefix);
	if (r < 0)
		goto cleanup;
	path_style = override || force_path_style || !s3_virtual_host_ok(bucket);
	strbuf_puts(&path, prefix);
	strbuf_putc(&path, '/');
	if (path_style) {
		strbuf_puts(&path, bucket);
		strbuf_putc(&path, '/');
		host = strdup(hostport);
	} else {
		host = malloc(strlen(bucket) + 1 + strlen(hostport) + 1);
		if (host)
			sprintf(host, "%s.%s", bucket, hostport);
	}
	s3_encode_key(key, &path);
	strbuf_printf(&url, "%s://%s%s", scheme, host ? host : "",
		      path.buf ? path.buf : "");
	r = -ENOMEM;
	if (!host || strbuf_error(&path) < 0 || strbuf_error(&url) < 0)
		goto cleanup;
	out->url = strbuf_detach(&url);
	out->path = strbuf_detach(&path);
	out->host = host;
	out->path_style = path_style;
	host = NULL;
	if (!out->url || !out->path) {
		s3_target_free(out);
		goto cleanup;
	}
	r = 0;
cleanup:
	free(host);
	free(ep);
	free(scheme);
	free(hostport);
	free(prefix);
	strbuf_free(&path);
	strbuf_free(&url);
	return r;
}

/* Sign method on t (with the raw query, or NULL) into *w. */
static int build_signed(struct sigv4_signer *signer, const char *region,
			const char *method, const struct s3_target *t,
			const char *query,
			const struct sigv4_credentials *creds, time_t now,
			struct s3_wire_request *w)
{
	struct sigv4_header sh[1];
	struct sigv4_request req;
	size_t i;
	int r;

	sh[0] = (struct sigv4_header){ "Host", t->host };
	req = (struct sigv4_request){
		.method = method, .path = t->path, .query = query,
		.headers = sh, .n_headers = 1,
		.body = NULL, .body_len = 0,
		.payload_hash = S3_EMPTY_PAYLOAD_SHA256,
	};
	r = sigv4_sign(signer, creds, region, S3_SIGNING_NAME, now,
		       SIGV4_PATH_AS_IS | SIGV4_CONTENT_SHA256, &req, &w->sig);
	if (r < 0)
		return r;
	w->headers[0] = (struct http_header){ "Host", t->host };
	w->headers[1] = (struct http_header){ "User-Agent", S3_USER_AGENT };
	for (i = 0; i < w->sig.n_headers && 2 + i < S3_MAX_REQUEST_HEADERS; i++)
		w->headers[2 + i] = (struct http_header){
			w->sig.headers[i].name, w->sig.headers[i].value };
	w->n_headers = 2 + i;
	return 0;
}

int s3_build_request(struct sigv4_signer *signer, const char *region,
		     const struct s3_target *t,
		     const struct sigv4_credentials *creds, time_t now,
		     struct s3_wire_request *w)
{
	return build_signed(signer, region, "HEAD", t, NULL, creds, now, w);
}

void s3_wire_request_free(struct s3_wire_request *w)
{
	if (!w)
		return;
	sigv4_output_free(&w->sig);
	explicit_bzero(w->headers, sizeof(w->headers));
	w->n_headers = 0;
}

enum s3_error s3_classify(enum http_error transport, long status,
			  const char *bucket_region, const char *region)
{
	switch (transport) {
	case HTTP_OK:
		break;
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_CONNECT:
	case HTTP_ERR_RESET:
	case HTTP_ERR_DNS:
	case HTTP_ERR_TLS:
		return S3_ERR_UNAVAILABLE;
	case HTTP_ERR_PROTOCOL:
	case HTTP_ERR_TOO_LARGE:
		return S3_ERR_MALFORMED_REPLY;
	case HTTP_ERR_INTERNAL:
		return S3_ERR_INTERNAL;
	}
	if (status >= 200 && status < 300)
		return S3_ERR_NONE;
	if (bucket_region && *bucket_region && region &&
	    strcmp(bucket_region, region) != 0 &&
	    (status == 301 || status == 307 || status == 400 || status == 403))
		return S3_ERR_WRONG_REGION;
	if (status == 404)
		return S3_ERR_NOT_FOUND;
	if (status == 401 || status == 403)
		return S3_ERR_ACCESS_DENIED;
	if (status == 429 || status == 503)
		return S3_ERR_THROTTLED;
	if (status >= 500)
		return S3_ERR_TRANSIENT;
	if (status == 301 || status == 307)
		return S3_ERR_WRONG_REGION;  /* no region named: still a redirect */
	return S3_ERR_CLIENT;
}

int s3_parse_meta(const char *last_modified, const char *content_length,
		  struct s3_meta *out)
{
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (last_modified) {
		if (aws_parse_http_date(last_modified, &out->last_modified) == 0)
			out->has_last_modified = true;
		else
			r = -EBADMSG;
	}
	if (content_length) {
		uint64_t v = 0;
		const char *p = content_length;
		bool ok = *p != '\0';

		for (; *p && ok; p++) {
			uint64_t d = (uint64_t)(*p - '0');

			if (!isdigit((unsigned char)*p) ||
			    v > (UINT64_MAX - d) / 10)
				ok = false;
			else
				v = v * 10 + d;
		}
		if (ok) {
			out->content_length = v;
			out->has_content_length = true;
		} else {
			r = -EBADMSG;
		}
	}
	return r;
}

/* ---- client ---------------------------------------------------------------------- */

int s3_client_new(sd_event *event, struct http_client *http,
		  const struct s3_client_config *cfg,
		  const struct aws_creds_provider *creds,
		  struct s3_client **ret)
{
	struct s3_client *c = NULL;
	struct aws_engine_config ec;
	char *probe = NULL;
	int r = -EINVAL;

	if (!event || !http || !cfg || !creds || !creds->get || !ret)
		return -EINVAL;
	if (!aws_valid_region(cfg->region)) {
		log_error("s3: region \"%s\" is not a valid region name",
			  cfg->region ? cfg->region : "");
		return -EINVAL;
	}
	/* check the endpoint (config or environment) now, not per request */
	r = aws_resolve_endpoint(cfg->endpoint_url, S3_ENV_SERVICE_ID, "s3",
				 cfg->region, &probe);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("s3: the endpoint URL (S3EndpointUrl, "
				  "AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) "
				  "must be http(s)://host[:port][/path]");
		return r;
	}
	free(probe);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ec = AWS_ENGINE_CONFIG("s3", cfg);
	r = aws_engine_new(event, http, &ec, creds, &c->engine);
	if (r < 0)
		goto cleanup;
	r = -ENOMEM;
	c->region = strdup(cfg->region);
	if (!c->region)
		goto cleanup;
	if (cfg->endpoint_url && *cfg->endpoint_url) {
		c->endpoint_url = strdup(cfg->endpoint_url);
		if (!c->endpoint_url)
			goto cleanup;
	}
	c->force_path_style = cfg->force_path_style;
	*ret = c;
	c = NULL;
	r = 0;
cleanup:
	s3_client_free(c);
	return r;
}

struct s3_client *s3_client_free(struct s3_client *c)
{
	if (!c)
		return NULL;
	/* cancels every HEAD: each one freed by head_free() */
	aws_engine_free(c->engine);
	free(c->region);
	free(c->endpoint_url);
	free(c);
	return NULL;
}

void s3_client_set_metrics_hook(struct s3_client *c, aws_metrics_fn fn,
				void *userdata)
{
	aws_engine_set_metrics_hook(c->engine, fn, userdata);
}

/* ---- one HEAD --------------------------------------------------------------------- */

static void head_free(void *req)
{
	struct s3_head *h = req;

	if (!h)
		return;
	s3_wire_request_free(&h->wire);
	s3_target_free(&h->target);
	free(h->uri);
	free(h->bucket);
	free(h->key);
	free(h->bucket_region);
	free(h->request_id);
	free(h->transport_text);
	free(h);
}

/* A copy safe for logs: control characters replaced, length bounded. */
static char *safe_dup(const char *s, size_t max)
{
	size_t n, i;
	char *o;

	if (!s)
		return NULL;
	n = strnlen(s, max);
	o = malloc(n + 1);
	if (!o)
		return NULL;
	for (i = 0; i < n; i++)
		o[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	o[n] = '\0';
	return o;
}

static enum aws_error_class aws_class_of(enum s3_error e)
{
	switch (e) {
	case S3_ERR_NONE: return AWS_ERR_NONE;
	case S3_ERR_NOT_FOUND: return AWS_ERR_NOT_FOUND;
	case S3_ERR_ACCESS_DENIED: return AWS_ERR_AUTH;
	case S3_ERR_CREDENTIALS: return AWS_ERR_AUTH;
	case S3_ERR_WRONG_REGION: return AWS_ERR_CLIENT;
	case S3_ERR_THROTTLED: return AWS_ERR_THROTTLED;
	case S3_ERR_TRANSIENT: return AWS_ERR_TRANSIENT;
	case S3_ERR_UNAVAILABLE: return AWS_ERR_UNAVAILABLE;
	case S3_ERR_CLIENT: return AWS_ERR_CLIENT;
	case S3_ERR_MALFORMED_REPLY: return AWS_ERR_MALFORMED_REPLY;
	case S3_ERR_INTERNAL: return AWS_ERR_INTERNAL;
	}
	return AWS_ERR_INTERNAL;
}
/* The operator's line for a failure. */
static void describe(const struct s3_head *h, enum s3_error e,
		     struct strbuf *m)
{
	const char *region = h->client ? h->client->region : "?";

	strbuf_printf(m, "HeadObject %s: ", h->uri);
	switch (e) {
	case S3_ERR_NONE:
		break;
	case S3_ERR_NOT_FOUND:
		strbuf_printf(m, "no such object (HTTP %ld): check the S3 "
			      "path", h->status);
		break;
	case S3_ERR_ACCESS_DENIED:
		strbuf_printf(m, "access denied (HTTP %ld): the role or keys "
			      "need s3:GetObject on arn:aws:s3:::%s/%s (HEAD "
			      "requires it); without s3:ListBucket on "
			      "arn:aws:s3:::%s a missing object also answers "
			      "403", h->status, h->bucket, h->key, h->bucket);
		break;
	case S3_ERR_WRONG_REGION:
		if (h->bucket_region)
			strbuf_printf(m, "the bucket is in region %s, not %s "
				      "(HTTP %ld): the S3 data must be read "
				      "in the bucket's region",
				      h->bucket_region, region, h->status);
		else
			strbuf_printf(m, "redirected (HTTP %ld): the bucket "
				      "is probably not in region %s",
				      h->status, region);
		break;
	case S3_ERR_THROTTLED:
		strbuf_printf(m, "throttled (HTTP %ld, SlowDown) after %u "
			      "attempts", h->status, h->attempts);
		break;
	case S3_ERR_TRANSIENT:
		strbuf_printf(m, "service error (HTTP %ld) after %u attempts",
			      h->status, h->attempts);
		break;
	case S3_ERR_UNAVAILABLE:
		strbuf_printf(m, "S3 unreachable (%s: %s) after %u attempts",
			      http_error_name(h->transport),
			      h->transport_text ? h->transport_text : "",
			      h->attempts);
		break;
	case S3_ERR_CLIENT:
		strbuf_printf(m, "request refused (HTTP %ld)", h->status);
		break;
	case S3_ERR_CREDENTIALS:
		strbuf_puts(m, "no AWS credentials could be loaded or the "
			    "request could not be signed");
		break;
	case S3_ERR_MALFORMED_REPLY:
		strbuf_printf(m, "unusable reply (%s)",
			      h->transport_text ? h->transport_text
						: "protocol error");
		break;
	case S3_ERR_INTERNAL:
		strbuf_puts(m, "internal error (out of memory or the request "
			    "could not be started)");
		break;
	}
}

/* ---- the REST HEAD protocol ----------------------------------------------------------- */

static int head_build(void *req, const struct sigv4_credentials *creds,
		      time_t now, struct http_request_spec *spec)
{
	struct s3_head *h = req;
	struct s3_client *c = h->client;
	int r;

	if (!creds)
		return -EINVAL;
	r = s3_build_request(aws_engine_signer(c->engine), c->region,
			     &h->target, creds, now, &h->wire);
	if (r < 0)
		return r;
	spec->method = "HEAD";
	spec->url = h->target.url;
	spec->headers = h->wire.headers;
	spec->n_headers = h->wire.n_headers;
	return 0;
}

static void head_wipe(void *req)
{
	struct s3_head *h = req;

	s3_wire_request_free(&h->wire);
}

/* Every reply names the bucket's region (x-amz-bucket-region): kept, so
 * that a wrong-region error can say where the bucket is. */
static void keep_bucket_region(char **dst, const struct http_response *resp)
{
	free(*dst);
	*dst = safe_dup(http_response_header(resp, "x-amz-bucket-region"), 64);
}

static void head_observe(void *req, const struct http_response *resp)
{
	keep_bucket_region(&((struct s3_head *)req)->bucket_region, resp);
}

static int head_decode_reply(void *req, const struct http_response *resp,
			     void **reply, const char **why)
{
	struct s3_head *h = req;
	struct s3_reply *out;
	const char *etag = http_response_header(resp, "ETag");

	(void)why;
	out = calloc(1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	if (etag) {
		out->etag = safe_dup(etag, 1024);
		if (!out->etag) {
			free(out);
			return -ENOMEM;
		}
	}
	if (s3_parse_meta(http_response_header(resp, "Last-Modified"),
			  http_response_header(resp, "Content-Length"),
			  &out->meta) < 0)
		log_debug("s3: HeadObject %s: malformed Last-Modified or "
			  "Content-Length ignored", h->uri);
	*reply = out;
	return 0;
}

static void head_free_reply(void *reply)
{
	struct s3_reply *r = reply;

	if (r) {
		free(r->etag);
		free(r);
	}
}

/* HEAD errors have no body: a 403 with a Date far from our corrected
 * clock is the clock; the rest is decided by the status alone. */
static enum aws_retry_kind head_retry_kind(void *req, const struct aws_engine *e,
					   const struct http_response *resp,
					   const char *code, const char *message)
{
	struct s3_head *h = req;
	const struct aws_retrier *rt = aws_engine_retrier_const(e);
	enum aws_retry_kind kind;
	time_t server;

	if (resp->status == 403 && resp->date &&
	    s3_classify(HTTP_OK, 403, h->bucket_region, h->client->region) ==
	    S3_ERR_ACCESS_DENIED &&
	    aws_parse_http_date(resp->date, &server) == 0) {
		int64_t off = (int64_t)server - (int64_t)aws_retrier_now(rt);

		if (off - rt->clock_offset > S3_SKEW_RETRY_S ||
		    rt->clock_offset - off > S3_SKEW_RETRY_S)
			return AWS_RETRY_CLOCK_SKEW;
	}
	(void)code;
	(void)message;
	kind = aws_retry_classify(HTTP_OK, resp->status, NULL, NULL);
	return kind == AWS_RETRY_CLOCK_SKEW ? AWS_RETRY_NO : kind;
}

/* The engine's outcome of a failed call as an s3_error, and its class and
 * code as the metrics and the caller see them. For a listing, a 2xx reply
 * that could not be decoded is S3_ERR_MALFORMED_REPLY, and a malformed
 * reply keeps the decoder's code when it has one. */
static enum s3_error finalize_error(struct aws_engine_result *res,
				    const char *bucket_region,
				    const char *client_region, bool listing)
{
	enum s3_error e;

	if (aws_code_is_no_credentials(res->code) ||
	    (strcmp(res->code, "SigningFailed") == 0 &&
	     res->error == AWS_ERR_AUTH))
		e = S3_ERR_CREDENTIALS;
	else if (res->error == AWS_ERR_INTERNAL)
		e = S3_ERR_INTERNAL;
	else if (listing && res->error == AWS_ERR_MALFORMED_REPLY &&
		 res->transport == HTTP_OK && res->status >= 200 &&
		 res->status < 300)
		e = S3_ERR_MALFORMED_REPLY;
	else
		e = s3_classify(res->transport, res->status, bucket_region,
				client_region);
	res->error = aws_class_of(e);
	if (!listing || e != S3_ERR_MALFORMED_REPLY || !res->code[0])
		res->code = s3_error_name(e);
	return e;
}

static void head_finalize(void *req, struct aws_engine_result *res)
{
	struct s3_head *h = req;

	h->error = finalize_error(res, h->bucket_region, h->client->region,
				  false);
}

static const struct aws_protocol s3_head_protocol = {
	.name = "s3-rest-head",
	.build = head_build,
	.wipe = head_wipe,
	.decode_reply = head_decode_reply,
	.free_reply = head_free_reply,
	.decode_error = NULL,
	.retry_kind = head_retry_kind,
	.observe = head_observe,
	.finalize = head_finalize,
};

static void head_done(const struct aws_engine_result *er, void *userdata)
{
	struct s3_head *h = userdata;
	struct s3_head_result res;
	struct strbuf msg = STRBUF_INIT;
	const struct s3_reply *rep = er->reply;
	enum s3_error e = er->error == AWS_ERR_NONE ? S3_ERR_NONE : h->error;

	h->transport = er->transport;
	h->status = er->status;
	h->attempts = er->attempts;
	if (er->transport != HTTP_OK)
		h->transport_text = safe_dup(er->message, S3_MAX_MESSAGE_LEN);
	else if (e == S3_ERR_MALFORMED_REPLY && er->message[0])
		h->transport_text = safe_dup(er->message, S3_MAX_MESSAGE_LEN);
	h->request_id = safe_dup(er->request_id, 128);
	memset(&res, 0, sizeof(res));
	res.error = e;
	res.uri = h->uri;
	res.http_status = h->status;
	res.bucket_region = h->bucket_region;
	res.request_id = h->request_id;
	res.attempts = h->attempts;
	if (e == S3_ERR_NONE && rep) {
		res.etag = rep->etag;
		res.has_last_modified = rep->meta.has_last_modified;
		res.last_modified = rep->meta.last_modified;
		res.has_content_length = rep->meta.has_content_length;
		res.content_length = rep->meta.content_length;
	} else {
		describe(h, e, &msg);
		res.message = strbuf_error(&msg) < 0 || !msg.buf
			      ? "HeadObject failed (out of memory)" : msg.buf;
	}
	h->done(&res, h->userdata);
	strbuf_free(&msg);
}

int s3_head_object(struct s3_client *c, const char *uri, s3_head_done_fn done,
		   void *userdata, struct s3_head **ret)
{
	struct aws_engine_call_spec spec;
	struct s3_head *h = NULL;
	char *label = NULL;
	int r;

	if (!c || !done || !uri)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->wire = (struct s3_wire_request)S3_WIRE_REQUEST_INIT;
	r = s3_parse_uri(uri, &h->bucket, &h->key);
	if (r < 0)
		goto cleanup;
	r = -ENOMEM;
	h->uri = strdup(uri);
	if (!h->uri || asprintf(&label, "HeadObject %s", uri) < 0) {
		label = NULL;
		goto cleanup;
	}
	r = s3_resolve_target(c->endpoint_url, c->force_path_style, c->region,
			      h->bucket, h->key, &h->target);
	if (r < 0)
		goto cleanup;
	h->done = done;
	h->userdata = userdata;
	h->client = c;
	spec = (struct aws_engine_call_spec){
		.proto = &s3_head_protocol, .req = h, .req_free = head_free,
		.operation = S3_OPERATION, .label = label,
		.done = head_done, .userdata = h,
	};
	r = aws_engine_call(c->engine, &spec, &h->ec);
	if (r < 0)
		goto cleanup;
	if (ret)
		*ret = h;
	h = NULL;
	r = 0;
cleanup:
	free(label);
	head_free(h);
	return r;
}

void s3_head_cancel(struct s3_head *h)
{
	if (h)
		aws_engine_call_cancel(h->ec);  /* frees h */
}

/* ---- ListObjectsV2: pure parts ---------------------------------------------------- */

int s3_parse_folder_uri(const char *uri, char **bucket, char **prefix)
{
	char *b = NULL, *k = NULL;
	size_t n;
	int r;

	/* "s3://b/p/" parses as a folder by s3_parse_uri's rules */
	r = s3_parse_uri(uri, &b, &k);
	if (r == 0) {
		free(b);
		free(k);
		return -ENOTDIR;
	}
	if (r != -EISDIR)
		return r;
	n = strcspn(uri + 5, "/");
	if (uri[5 + n] != '/')
		return -EINVAL;     /* "s3://bucket" without the slash */
	b = strndup(uri + 5, n);
	k = strdup(uri + 5 + n + 1);
	if (!b || !k) {
		free(b);
		free(k);
		return -ENOMEM;
	}
	*bucket = b;
	*prefix = k;
	return 0;
}

void s3_list_query(const char *prefix, const char *token, unsigned max_keys,
		   struct strbuf *out)
{
	if (token) {
		strbuf_puts(out, "continuation-token=");
		sigv4_uri_encode(out, token, strlen(token), false);
		strbuf_putc(out, '&');
	}
	strbuf_printf(out, "list-type=2&max-keys=%u&prefix=", max_keys);
	if (prefix)
		sigv4_uri_encode(out, prefix, strlen(prefix), false);
}

void s3_list_page_free(struct s3_list_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].etag);
	}
	free(p->v);
	free(p->next_token);
	memset(p, 0, sizeof(*p));
}

static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EBADMSG;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (!isdigit((unsigned char)*s) || v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int s3_list_parse_page(const char *body, size_t len, struct s3_list_page *out,
		       const char **why)
{
	struct xml_node *root = NULL;
	const struct xml_node *n;
	const char *trunc, *tok;
	size_t cap = 0;
	int r;

	memset(out, 0, sizeof(*out));
	*why = "not well-formed XML";
	r = body && len ? xml_parse(body, len, &root) : -EBADMSG;
	if (r < 0)
		return r == -ENOMEM ? -ENOMEM : -EBADMSG;
	r = -EBADMSG;
	if (strcmp(root->name, "ListBucketResult") != 0) {
		*why = "not a ListBucketResult";
		goto cleanup;
	}
	for (n = root->child; n; n = n->next) {
		const char *key, *etag;
		uint64_t size;

		if (strcmp(n->name, "Contents") != 0)
			continue;
		key = xml_path_text(n, "Key");
		etag = xml_path_text(n, "ETag");
		if (!key || !*key || !etag ||
		    parse_size(xml_path_text(n, "Size"), &size) < 0) {
			*why = "a Contents without Key, ETag or a valid Size";
			goto cleanup;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct s3_list_entry *nv = realloc(out->v, nc * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				goto cleanup;
			}
			out->v = nv;
			cap = nc;
		}
		out->v[out->n].key = strdup(key);
		out->v[out->n].etag = strdup(etag);
		out->v[out->n].size = size;
		out->n++;
		if (!out->v[out->n - 1].key || !out->v[out->n - 1].etag) {
			r = -ENOMEM;
			goto cleanup;
		}
	}
	trunc = xml_path_text(root, "IsTruncated");
	out->truncated = trunc && strcmp(trunc, "true") == 0;
	if (trunc && !out->truncated && strcmp(trunc, "false") != 0) {
		*why = "IsTruncated is neither true nor false";
		goto cleanup;
	}
	tok = xml_path_text(root, "NextContinuationToken");
	if (out->truncated) {
		if (!tok || !*tok) {
			*why = "IsTruncated without a NextContinuationToken";
			goto cleanup;
		}
		out->next_token = strdup(tok);
		if (!out->next_token) {
			r = -ENOMEM;
			goto cleanup;
		}
	}
	r = 0;
	*why = NULL;
cleanup:
	xml_free(root);
	if (r < 0)
		s3_list_page_free(out);
	return r;
}

/* By key, then ETag, then size: a total order, so the digest does not
 * depend on the order of the listing even if a key came twice. */
static int entry_cmp(const void *a, const void *b)
{
	const struct s3_list_entry *const *x = a, *const *y = b;
	int c = strcmp((*x)->key, (*y)->key);

	if (c == 0)
		c = strcmp((*x)->etag, (*y)->etag);
	if (c == 0)
		c = ((*x)->size > (*y)->size) - ((*x)->size < (*y)->size);
	return c;
}

int s3_listing_digest(const struct s3_list_entry *v, size_t n,
		      char out[S3_DIGEST_LEN + 1], size_t *counted)
{
	static const char hex[] = "0123456789abcdef";
	const struct s3_list_entry **sorted;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	size_t m = 0, i;
	int r = -EIO;

	sorted = calloc(n ? n : 1, sizeof(*sorted));
	ctx = EVP_MD_CTX_new();
	if (!sorted || !ctx) {
		free(sorted);
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		size_t kl = strlen(v[i].key);

		if (kl > 0 && v[i].key[kl - 1] != '/')
			sorted[m++] = &v[i];
	}
	qsort(sorted, m, sizeof(*sorted), entry_cmp);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto cleanup;
	for (i = 0; i < m; i++) {
		char size[24];
		int sl = snprintf(size, sizeof(size), "%llu\n",
				  (unsigned long long)sorted[i]->size);

		if (EVP_DigestUpdate(ctx, sorted[i]->key,
				     strlen(sorted[i]->key) + 1) != 1 ||
		    EVP_DigestUpdate(ctx, sorted[i]->etag,
				     strlen(sorted[i]->etag) + 1) != 1 ||
		    EVP_DigestUpdate(ctx, size, (size_t)sl) != 1)
			goto cleanup;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto cleanup;
	memcpy(out, S3_DIGEST_PREFIX, 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	out[S3_DIGEST_LEN] = '\0';
	if (counted)
		*counted = m;
	r = 0;
cleanup:
	free(sorted);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* ---- ListObjectsV2: the REST GET protocol, page after page ------------------------ */

/* One listing: the engine's request for each page in turn. */
struct s3_list {
	struct s3_client *client;
	struct aws_engine_call *ec;
	char *uri, *bucket, *prefix, *label;
	struct s3_target target;   /* the bucket's URL, no query */
	char *url;                 /* target.url and this page's query */
	char *query;               /* this page's raw query, as signed */
	char *token;               /* continuation token of this page */
	struct s3_wire_request wire;
	s3_list_done_fn done;
	void *userdata;
	bool keep;                 /* the next page's call owns it now */
	enum s3_error error;
	char *bucket_region;
	struct s3_list_entry *v;   /* every page's objects so far */
	size_t n, cap;
	unsigned pages;
};

static void list_free(struct s3_list *l)
{
	if (!l)
		return;
	s3_wire_request_free(&l->wire);
	s3_target_free(&l->target);
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].etag);
	}
	free(l->v);
	free(l->uri);
	free(l->bucket);
	free(l->prefix);
	free(l->label);
	free(l->url);
	free(l->query);
	free(l->token);
	free(l->bucket_region);
	free(l);
}

/* The engine's req_free: a page's call is over. */
static void list_release(void *req)
{
	struct s3_list *l = req;

	if (l->keep)
		l->keep = false;
	else
		list_free(l);
}

static int list_build(void *req, const struct sigv4_credentials *creds,
		      time_t now, struct http_request_spec *spec)
{
	struct s3_list *l = req;
	struct s3_client *c = l->client;
	int r;

	if (!creds)
		return -EINVAL;
	r = build_signed(aws_engine_signer(c->engine), c->region, "GET",
			 &l->target, l->query, creds, now, &l->wire);
	if (r < 0)
		return r;
	spec->method = "GET";
	spec->url = l->url;
	spec->headers = l->wire.headers;
	spec->n_headers = l->wire.n_headers;
	return 0;
}

static void list_wipe(void *req)
{
	struct s3_list *l = req;

	s3_wire_request_free(&l->wire);
}

static void list_observe(void *req, const struct http_response *resp)
{
	keep_bucket_region(&((struct s3_list *)req)->bucket_region, resp);
}

static int list_decode_reply(void *req, const struct http_response *resp,
			     void **reply, const char **why)
{
	struct s3_list_page *p;
	int r;

	(void)req;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = s3_list_parse_page(resp->body, resp->body_len, p, why);
	if (r < 0) {
		free(p);
		return r;
	}
	*reply = p;
	return 0;
}

static void list_free_reply(void *reply)
{
	s3_list_page_free(reply);
	free(reply);
}

static int list_decode_error(const struct http_response *resp,
			     struct aws_error_info *out)
{
	return aws_decode_xml_error(resp->body, resp->body_len, out);
}

static void list_finalize(void *req, struct aws_engine_result *res)
{
	struct s3_list *l = req;

	l->error = finalize_error(res, l->bucket_region, l->client->region,
				  true);
}

static const struct aws_protocol s3_list_protocol = {
	.name = "s3-rest-list",
	.build = list_build,
	.wipe = list_wipe,
	.decode_reply = list_decode_reply,
	.free_reply = list_free_reply,
	.decode_error = list_decode_error,
	.retry_kind = NULL,
	.observe = list_observe,
	.finalize = list_finalize,
};

static void list_done(const struct aws_engine_result *er, void *userdata);

/* Start the call of the page after token (NULL: the first). */
static int list_page(struct s3_list *l)
{
	struct aws_engine_call_spec spec;
	struct strbuf q = STRBUF_INIT, u = STRBUF_INIT;

	s3_list_query(l->prefix, l->token, S3_LIST_MAX_KEYS, &q);
	strbuf_printf(&u, "%s?%s", l->target.url, q.buf ? q.buf : "");
	if (strbuf_error(&q) < 0 || strbuf_error(&u) < 0) {
		strbuf_free(&q);
		strbuf_free(&u);
		return -ENOMEM;
	}
	free(l->query);
	free(l->url);
	l->query = strbuf_detach(&q);
	l->url = strbuf_detach(&u);
	spec = (struct aws_engine_call_spec){
		.proto = &s3_list_protocol, .req = l, .req_free = list_release,
		.operation = S3_LIST_OPERATION, .label = l->label,
		.done = list_done, .userdata = l,
	};
	return aws_engine_call(l->client->engine, &spec, &l->ec);
}

/* Take a page's objects into the listing. */
static int list_take(struct s3_list *l, struct s3_list_page *p)
{
	if (l->n + p->n > l->cap) {
		size_t nc = l->cap ? l->cap : 64;
		struct s3_list_entry *nv;

		while (nc < l->n + p->n)
			nc *= 2;
		nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	memcpy(l->v + l->n, p->v, p->n * sizeof(*p->v));
	l->n += p->n;
	free(p->v);
	p->v = NULL;
	p->n = 0;
	return 0;
}

static void list_describe(const struct s3_list *l, enum s3_error e,
			  const struct aws_engine_result *er, struct strbuf *m)
{
	strbuf_printf(m, "ListObjectsV2 %s: ", l->uri);
	switch (e) {
	case S3_ERR_ACCESS_DENIED:
		strbuf_printf(m, "access denied (HTTP %ld): the role or keys "
			      "need s3:ListBucket on arn:aws:s3:::%s for the "
			      "prefix \"%s\"", er->status, l->bucket,
			      l->prefix);
		break;
	case S3_ERR_NOT_FOUND:
		strbuf_printf(m, "no such bucket (HTTP %ld): check the S3 path",
			      er->status);
		break;
	case S3_ERR_WRONG_REGION:
		strbuf_printf(m, "the bucket is in region %s, not %s (HTTP %ld)",
			      l->bucket_region ? l->bucket_region : "?",
			      l->client->region, er->status);
		break;
	case S3_ERR_MALFORMED_REPLY:
		strbuf_printf(m, "unusable reply (%s)",
			      er->message[0] ? er->message : "protocol error");
		break;
	default:
		strbuf_printf(m, "%s (HTTP %ld%s%s) after %u attempts",
			      s3_error_name(e), er->status,
			      er->code[0] ? ", " : "", er->code, er->attempts);
		break;
	}
}

static void list_done(const struct aws_engine_result *er, void *userdata)
{
	struct s3_list *l = userdata;
	struct s3_list_page *p = er->reply;
	struct s3_list_result res;
	struct strbuf msg = STRBUF_INIT;
	char digest[S3_DIGEST_LEN + 1];
	char *rid = safe_dup(er->request_id, 128);
	enum s3_error e = er->error == AWS_ERR_NONE ? S3_ERR_NONE : l->error;
	size_t counted = 0;

	l->ec = NULL;
	if (e == S3_ERR_NONE) {
		l->pages++;
		if (list_take(l, p) < 0) {
			e = S3_ERR_INTERNAL;
		} else if (p->truncated) {
			if (l->pages >= S3_LIST_MAX_PAGES ||
			    (l->token && strcmp(l->token, p->next_token) == 0)) {
				e = S3_ERR_MALFORMED_REPLY;
			} else {
				free(l->token);
				l->token = p->next_token;
				p->next_token = NULL;
				if (list_page(l) == 0) {
					l->keep = true;
					free(rid);
					return;
				}
				e = S3_ERR_INTERNAL;
			}
		} else if (s3_listing_digest(l->v, l->n, digest, &counted) < 0) {
			e = S3_ERR_INTERNAL;
		}
	}
	memset(&res, 0, sizeof(res));
	res.error = e;
	res.uri = l->uri;
	res.http_status = er->status;
	res.pages = l->pages;
	res.bucket_region = l->bucket_region;
	res.request_id = rid;
	res.attempts = er->attempts;
	if (e == S3_ERR_NONE) {
		res.digest = digest;
		res.n_objects = counted;
	} else {
		if (er->error == AWS_ERR_NONE)
			strbuf_printf(&msg, "ListObjectsV2 %s: %s after %u "
				      "pages", l->uri,
				      e == S3_ERR_MALFORMED_REPLY
				      ? "the continuation token does not advance"
				      : "internal error", l->pages);
		else
			list_describe(l, e, er, &msg);
		res.message = strbuf_error(&msg) < 0 || !msg.buf
			      ? "ListObjectsV2 failed (out of memory)" : msg.buf;
	}
	l->done(&res, l->userdata);
	strbuf_free(&msg);
	free(rid);
}

int s3_list_folder(struct s3_client *c, const char *uri, s3_list_done_fn done,
		   void *userdata, struct s3_list **ret)
{
	struct s3_list *l = NULL;
	int r;

	if (!c || !done || !uri)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->wire = (struct s3_wire_request)S3_WIRE_REQUEST_INIT;
	r = s3_parse_folder_uri(uri, &l->bucket, &l->prefix);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	l->uri = strdup(uri);
	if (!l->uri || asprintf(&l->label, "ListObjectsV2 %s", uri) < 0) {
		l->label = NULL;
		goto fail;
	}
	r = s3_resolve_target(c->endpoint_url, c->force_path_style, c->region,
			      l->bucket, "", &l->target);
	if (r < 0)
		goto fail;
	/* the bucket itself: "/BUCKET" in path style, "/" virtual-hosted */
	if (l->target.path_style) {
		size_t pl = strlen(l->target.path), ul = strlen(l->target.url);

		if (pl > 1 && l->target.path[pl - 1] == '/')
			l->target.path[pl - 1] = '\0';
		if (ul > 0 && l->target.url[ul - 1] == '/')
			l->target.url[ul - 1] = '\0';
	}
	l->client = c;
	l->done = done;
	l->userdata = userdata;
	r = list_page(l);
	if (r < 0)
		goto fail;
	if (ret)
		*ret = l;
	return 0;
fail:
	list_free(l);
	return r;
}

void s3_list_cancel(struct s3_list *l)
{
	if (l)
		aws_engine_call_cancel(l->ec);  /* frees l */
}
