/* sts.c - AWS STS: the Query protocol adapter (form-encoded POST, XML
 * replies) over the call engine; see include/sts.h. */
#include "sts.h"
#include "sts-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "aws-engine.h"
#include "aws-internal.h"
#include "creds-internal.h"
#include "log.h"
#include "strbuf.h"
#include "xml.h"

#ifndef PR_VERSION
#define PR_VERSION "unknown"
#endif
#define STS_USER_AGENT "personalize-retrain/" PR_VERSION
#define STS_GLOBAL_REGION "us-east-1"

struct sts_reply {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	time_t expiration;
	char *assumed_role_arn;
};

struct sts_call {
	struct sts_client *client;
	struct aws_engine_call *ec;
	char operation[40];
	char *body;              /* form: may hold a token (wiped) */
	size_t body_len;
	sts_done_fn done;
	void *userdata;
	struct http_header headers[AWS_MAX_REQUEST_HEADERS];
	struct sigv4_output sig;
};

/* ---- helpers ---------------------------------------------------------------- */

/* The SDKs' LEGACY_GLOBAL_STS_REGIONS (botocore args.py). */
static const char *const legacy_global_regions[] = {
	"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"aws-global", "ca-central-1", "eu-central-1", "eu-north-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1",
	"us-east-2", "us-west-1", "us-west-2", NULL,
};

bool sts_legacy_global_region(const char *region)
{
	const char *const *p;

	for (p = legacy_global_regions; region && *p; p++)
		if (strcmp(*p, region) == 0)
			return true;
	return false;
}

int sts_default_endpoint(const char *region, const char *regional_endpoints,
			 char **url, char **signing_region)
{
	const char *mode = regional_endpoints;
	struct aws_endpoint_variant v;
	char *u = NULL, *sr = NULL;
	int r;

	if (!mode || !*mode)
		mode = getenv("AWS_STS_REGIONAL_ENDPOINTS");
	if (!mode || !*mode)
		mode = "regional";
	if (strcasecmp(mode, "regional") != 0 && strcasecmp(mode, "legacy") != 0) {
		log_error("sts: sts_regional_endpoints / AWS_STS_REGIONAL_ENDPOINTS "
			  "must be \"regional\" or \"legacy\", not \"%s\"", mode);
		return -EINVAL;
	}
	r = aws_endpoint_variant_get(&v);
	if (r < 0)
		return r;
	if (v.fips || v.dualstack) {
		/* the rule set: never the global endpoint then */
		if (!region || !*region || strcmp(region, "aws-global") == 0)
			region = STS_GLOBAL_REGION;
		r = aws_default_endpoint("sts", region, &v, &u);
		if (r < 0)
			return r;
		sr = strdup(region);
	} else if (!region || !*region || strcmp(region, "aws-global") == 0 ||
	    (strcasecmp(mode, "legacy") == 0 && sts_legacy_global_region(region))) {
		u = strdup("https://sts.amazonaws.com");
		sr = strdup(STS_GLOBAL_REGION);
	} else {
		if (!aws_valid_region(region))
			return -EINVAL;
		/* regional: as aws_default_endpoint() without a variant */
		if (asprintf(&u, "https://sts.%s.%s", region,
			     aws_dns_suffix(region)) < 0)
			u = NULL;
		sr = strdup(region);
	}
	if (!u || !sr) {
		free(u);
		free(sr);
		return -ENOMEM;
	}
	*url = u;
	*signing_region = sr;
	return 0;
}

static void form_param(struct strbuf *sb, const char *name, const char *value)
{
	strbuf_putc(sb, '&');
	strbuf_puts(sb, name);
	strbuf_putc(sb, '=');
	sigv4_uri_encode(sb, value, strlen(value), false);
}

static char *dup_text(const struct xml_node *root, const char *path)
{
	const char *t = xml_path_text(root, path);

	return t ? strdup(t) : NULL;
}

void sts_reply_free(struct sts_reply *r)
{
	if (!r)
		return;
	free(r->access_key_id);
	creds_free_secret(r->secret_access_key);
	creds_free_secret(r->session_token);
	free(r->assumed_role_arn);
	free(r);
}

int sts_parse_reply(const char *operation, const char *body, size_t len,
		    struct sts_reply **out)
{
	struct xml_node *root = NULL;
	const struct xml_node *res;
	const char *exp;
	struct sts_reply *r;
	char name[80];
	int k;

	k = xml_parse(body, len, &root);
	if (k < 0)
		return k == -ENOMEM ? -ENOMEM : -EBADMSG;
	r = calloc(1, sizeof(*r));
	if (!r) {
		xml_free(root);
		return -ENOMEM;
	}
	k = -EBADMSG;
	snprintf(name, sizeof(name), "%sResponse", operation);
	if (strcmp(root->name, name) != 0)
		goto fail;
	snprintf(name, sizeof(name), "%sResult", operation);
	res = xml_child(root, name);
	if (!res)
		goto fail;
	exp = xml_path_text(res, "Credentials/Expiration");
	r->access_key_id = dup_text(res, "Credentials/AccessKeyId");
	r->secret_access_key = dup_text(res, "Credentials/SecretAccessKey");
	r->session_token = dup_text(res, "Credentials/SessionToken");
	r->assumed_role_arn = dup_text(res, "AssumedRoleUser/Arn");
	if (!r->access_key_id || !*r->access_key_id ||
	    !r->secret_access_key || !*r->secret_access_key ||
	    !r->session_token || !*r->session_token || !exp ||
	    creds_parse_time(exp, &r->expiration) < 0)
		goto fail;
	xml_free(root);
	*out = r;
	return 0;
fail:
	xml_free(root);
	sts_reply_free(r);
	return k;
}

/* ---- the Query protocol ----------------------------------------------------------- */

static int query_build(void *req, const struct sigv4_credentials *creds,
		       time_t now, struct http_request_spec *spec)
{
	struct sts_call *call = req;
	struct sts_client *c = call->client;
	struct sigv4_header sh[2];
	struct sigv4_request sreq;
	size_t i, n = 0;
	int r;

	sh[0] = (struct sigv4_header){ "Host", c->host };
	sh[1] = (struct sigv4_header){ "Content-Type", STS_FORM_CONTENT_TYPE };
	for (i = 0; i < 2; i++)
		call->headers[n++] = (struct http_header){ sh[i].name, sh[i].value };
	call->headers[n++] = (struct http_header){ "User-Agent", STS_USER_AGENT };
	if (creds) {
		sreq = (struct sigv4_request){
			.method = "POST", .path = c->path, .query = NULL,
			.headers = sh, .n_headers = 2,
			.body = call->body, .body_len = call->body_len,
		};
		r = sigv4_sign(aws_engine_signer(c->engine), creds,
			       c->signing_region, STS_SIGNING_NAME, now,
			       SIGV4_FLAGS_DEFAULT, &sreq, &call->sig);
		if (r < 0)
			return r;
		for (i = 0; i < call->sig.n_headers &&
		     n < AWS_MAX_REQUEST_HEADERS; i++)
			call->headers[n++] = (struct http_header){
				call->sig.headers[i].name,
				call->sig.headers[i].value };
	}
	spec->method = "POST";
	spec->url = c->url;
	spec->headers = call->headers;
	spec->n_headers = n;
	spec->body = call->body;
	spec->body_len = call->body_len;
	return 0;
}

static void query_wipe(void *req)
{
	struct sts_call *call = req;

	sigv4_output_free(&call->sig);
	OPENSSL_cleanse(call->headers, sizeof(call->headers));
}

static int query_decode_reply(void *req, const struct http_response *resp,
			      void **reply, const char **why)
{
	struct sts_call *call = req;
	struct sts_reply *r = NULL;
	int k;

	k = sts_parse_reply(call->operation, resp->body, resp->body_len, &r);
	if (k == -EBADMSG)
		*why = "reply is not the expected XML document";
	if (k < 0)
		return k;
	*reply = r;
	return 0;
}

static void query_free_reply(void *reply)
{
	sts_reply_free(reply);
}

static int query_decode_error(const struct http_response *resp,
			      struct aws_error_info *out)
{
	return aws_decode_xml_error(resp->body, resp->body_len, out);
}

static const struct aws_protocol query_protocol = {
	.name = "query",
	.build = query_build,
	.wipe = query_wipe,
	.decode_reply = query_decode_reply,
	.free_reply = query_free_reply,
	.decode_error = query_decode_error,
};

/* ---- client ------------------------------------------------------------------------ */

int sts_client_new(sd_event *event, struct http_client *http,
		   const struct sts_client_config *cfg,
		   const struct aws_creds_provider *creds,
		   struct sts_client **ret)
{
	struct sts_client *c;
	struct aws_engine_config ec;
	const char *region = cfg && cfg->region && *cfg->region ? cfg->region
								: NULL;
	char *override = NULL;
	int r;

	if (!event || !http || !cfg || !ret)
		return -EINVAL;
	if (region && !aws_valid_region(region)) {
		log_error("sts: region \"%s\" is not a valid region name", region);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ec = AWS_ENGINE_CONFIG("sts", cfg);
	r = aws_engine_new(event, http, &ec, creds, &c->engine);
	if (r < 0)
		goto fail;
	/* an override (config, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL)
	 * wins; the region then only names the signing scope */
	r = aws_endpoint_override(cfg->endpoint_url, STS_ENV_SERVICE_ID,
				  &override);
	if (r < 0) {
		log_error("sts: the endpoint URL (AWS_ENDPOINT_URL_STS or "
			  "AWS_ENDPOINT_URL) must be http(s)://host[:port][/path]");
		goto fail;
	}
	r = sts_default_endpoint(region, cfg->regional_endpoints, &c->endpoint,
				 &c->signing_region);
	if (r < 0)
		goto fail;
	if (override) {
		free(c->endpoint);
		c->endpoint = override;
		override = NULL;
		if (region) {
			free(c->signing_region);
			c->signing_region = strdup(region);
			r = -ENOMEM;
			if (!c->signing_region)
				goto fail;
		}
	}
	r = aws_endpoint_split(c->endpoint, &c->host, &c->path, &c->url);
	if (r < 0)
		goto fail;
	free(override);
	log_debug("sts: endpoint %s, signing region %s", c->endpoint,
		  c->signing_region);
	*ret = c;
	return 0;
fail:
	free(override);
	sts_client_free(c);
	return r;
}

struct sts_client *sts_client_free(struct sts_client *c)
{
	if (!c)
		return NULL;
	aws_engine_free(c->engine);
	free(c->endpoint);
	free(c->host);
	free(c->path);
	free(c->url);
	free(c->signing_region);
	free(c);
	return NULL;
}

/* ---- calls ----------------------------------------------------------------------------- */

static void call_free(void *req)
{
	struct sts_call *call = req;

	if (!call)
		return;
	query_wipe(call);
	if (call->body) {
		OPENSSL_cleanse(call->body, call->body_len);
		free(call->body);
	}
	free(call);
}

static void call_done(const struct aws_engine_result *er, void *userdata)
{
	struct sts_call *call = userdata;
	const struct sts_reply *rep = er->reply;
	struct sts_result res = {
		.error = er->error,
		.operation = call->operation,
		.code = er->error == AWS_ERR_NONE ? NULL : er->code,
		.message = er->error == AWS_ERR_NONE ? NULL : er->message,
		.http_status = er->status,
		.attempts = er->attempts,
	};

	if (er->error == AWS_ERR_NONE && rep) {
		res.access_key_id = rep->access_key_id;
		res.secret_access_key = rep->secret_access_key;
		res.session_token = rep->session_token;
		res.expiration = rep->expiration;
		res.assumed_role_arn = rep->assumed_role_arn;
	}
	call->done(&res, call->userdata);
}

static int start(struct sts_client *c, const char *operation,
		 struct strbuf *form, bool unsigned_request, sts_done_fn done,
		 void *userdata, struct sts_call **ret)
{
	struct aws_engine_call_spec spec;
	struct sts_call *call;
	int r;

	if (strbuf_error(form) < 0)
		return -ENOMEM;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->sig = (struct sigv4_output)SIGV4_OUTPUT_INIT;
	call->client = c;
	snprintf(call->operation, sizeof(call->operation), "%s", operation);
	call->body_len = form->len;
	call->body = strbuf_detach(form);
	call->done = done;
	call->userdata = userdata;
	if (!call->body) {
		free(call);
		return -ENOMEM;
	}
	spec = (struct aws_engine_call_spec){
		.proto = &query_protocol, .req = call, .req_free = call_free,
		.operation = call->operation,
		.unsigned_request = unsigned_request,
		.done = call_done, .userdata = call,
	};
	r = aws_engine_start(c->engine, &spec, &call->ec);
	if (r == 0 && ret)
		*ret = call;
	return r;
}

static int assume(struct sts_client *c, const char *operation,
		  const struct sts_assume_role_params *p, bool web,
		  sts_done_fn done, void *userdata, struct sts_call **ret)
{
	struct strbuf form = STRBUF_INIT;
	char dur[16];
	int r;

	if (!c || !p || !done || !p->role_arn || !*p->role_arn ||
	    !p->role_session_name || !*p->role_session_name ||
	    (web && (!p->web_identity_token || !*p->web_identity_token)))
		return -EINVAL;
	strbuf_printf(&form, "Action=%s&Version=%s", operation, STS_API_VERSION);
	form_param(&form, "RoleArn", p->role_arn);
	form_param(&form, "RoleSessionName", p->role_session_name);
	if (p->duration_seconds) {
		snprintf(dur, sizeof(dur), "%u", p->duration_seconds);
		form_param(&form, "DurationSeconds", dur);
	}
	if (!web && p->external_id && *p->external_id)
		form_param(&form, "ExternalId", p->external_id);
	if (web)
		form_param(&form, "WebIdentityToken", p->web_identity_token);
	r = start(c, operation, &form, web, done, userdata, ret);
	if (form.buf)
		OPENSSL_cleanse(form.buf, form.len);
	strbuf_free(&form);
	return r;
}

int sts_assume_role(struct sts_client *c,
		    const struct sts_assume_role_params *p, sts_done_fn done,
		    void *userdata, struct sts_call **ret)
{
	return assume(c, "AssumeRole", p, false, done, userdata, ret);
}

int sts_assume_role_with_web_identity(struct sts_client *c,
				      const struct sts_assume_role_params *p,
				      sts_done_fn done, void *userdata,
				      struct sts_call **ret)
{
	return assume(c, "AssumeRoleWithWebIdentity", p, true, done, userdata,
		      ret);
}

void sts_call_cancel(struct sts_call *call)
{
	if (call)
		aws_engine_call_cancel(call->ec);  /* frees call */
}
