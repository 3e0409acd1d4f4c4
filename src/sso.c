/* sso.c - the SSO portal's GetRoleCredentials: the REST-JSON protocol with
 * a bearer token, as an adapter over the call engine; see include/sso.h. */
#include "sso.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws-engine.h"
#include "aws-internal.h"
#include "creds-internal.h"
#include "log.h"
#include "strbuf.h"

#ifndef PR_VERSION
#define PR_VERSION "unknown"
#endif
#define SSO_USER_AGENT "personalize-retrain/" PR_VERSION

struct sso_client {
	struct aws_engine *engine;
	char *endpoint;
};

struct sso_call {
	struct sso_client *client;
	struct aws_engine_call *ec;
	char *url;
	char *token;               /* secret: wiped */
	struct http_header headers[3];
	sso_done_fn done;
	void *userdata;
};

struct sso_reply {
	char *akid, *secret, *token;
	time_t expiration;
};

static void reply_free(void *p)
{
	struct sso_reply *r = p;

	if (!r)
		return;
	free(r->akid);
	creds_free_secret(r->secret);
	creds_free_secret(r->token);
	free(r);
}

static int rj_build(void *req, const struct sigv4_credentials *creds,
		    time_t now, struct http_request_spec *spec)
{
	struct sso_call *call = req;

	(void)creds;   /* unsigned: the bearer token is the proof */
	(void)now;
	call->headers[0] = (struct http_header){ "Accept", "application/json" };
	call->headers[1] = (struct http_header){ "User-Agent", SSO_USER_AGENT };
	call->headers[2] = (struct http_header){ "x-amz-sso_bearer_token",
						 call->token };
	spec->method = "GET";
	spec->url = call->url;
	spec->headers = call->headers;
	spec->n_headers = 3;
	return 0;
}

static void rj_wipe(void *req)
{
	struct sso_call *call = req;

	OPENSSL_cleanse(call->headers, sizeof(call->headers));
}

static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) && *it->valuestring ? it->valuestring : NULL;
}

static int rj_decode_reply(void *req, const struct http_response *resp,
			   void **reply, const char **why)
{
	const cJSON *rc, *exp;
	const char *a, *s, *t;
	struct sso_reply *out;
	cJSON *j = NULL;
	int r;

	(void)req;
	r = aws_decode_reply(resp->content_type, resp->body, resp->body_len,
			     &j, why);
	if (r < 0)
		return r;
	rc = cJSON_GetObjectItemCaseSensitive(j, "roleCredentials");
	a = str_member(rc, "accessKeyId");
	s = str_member(rc, "secretAccessKey");
	t = str_member(rc, "sessionToken");
	exp = cJSON_GetObjectItemCaseSensitive(rc, "expiration");
	if (!a || !s || !t || !cJSON_IsNumber(exp) || exp->valuedouble <= 0) {
		creds_json_wipe(j);
	cJSON_Delete(j);
		*why = "reply lacks roleCredentials";
		return -EBADMSG;
	}
	out = calloc(1, sizeof(*out));
	if (out) {
		out->akid = strdup(a);
		out->secret = strdup(s);
		out->token = strdup(t);
		/* epoch milliseconds */
		out->expiration = (time_t)(exp->valuedouble / 1000.0);
	}
	creds_json_wipe(j);
	cJSON_Delete(j);
	if (!out || !out->akid || !out->secret || !out->token) {
		reply_free(out);
		return -ENOMEM;
	}
	*reply = out;
	return 0;
}

static int rj_decode_error(const struct http_response *resp,
			   struct aws_error_info *out)
{
	return aws_decode_error(resp->error_type, resp->body, resp->body_len,
				out);
}

static const struct aws_protocol rest_json_bearer = {
	.name = "rest-json",
	.build = rj_build,
	.wipe = rj_wipe,
	.decode_reply = rj_decode_reply,
	.free_reply = reply_free,
	.decode_error = rj_decode_error,
};

int sso_client_new(sd_event *event, struct http_client *http,
		   const struct sso_client_config *cfg, struct sso_client **ret)
{
	struct aws_engine_config ec;
	struct sso_client *c;
	int r;

	if (!event || !http || !cfg || !ret)
		return -EINVAL;
	if (!aws_valid_region(cfg->region)) {
		log_error("sso: sso_region \"%s\" is not a valid region name",
			  cfg->region ? cfg->region : "");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ec = AWS_ENGINE_CONFIG("sso", cfg);
	r = aws_engine_new(event, http, &ec, NULL, &c->engine);
	if (r == 0)
		r = aws_resolve_endpoint(cfg->endpoint_url, SSO_ENV_SERVICE_ID,
					 SSO_ENDPOINT_PREFIX, cfg->region,
					 &c->endpoint);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("sso: the endpoint URL (AWS_ENDPOINT_URL_SSO or "
				  "AWS_ENDPOINT_URL) must be http(s)://host[:port][/path]");
		sso_client_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct sso_client *sso_client_free(struct sso_client *c)
{
	if (!c)
		return NULL;
	aws_engine_free(c->engine);
	free(c->endpoint);
	free(c);
	return NULL;
}

static void call_free(void *req)
{
	struct sso_call *call = req;

	if (!call)
		return;
	rj_wipe(call);
	creds_free_secret(call->token);
	free(call->url);
	free(call);
}

static void call_done(const struct aws_engine_result *er, void *userdata)
{
	struct sso_call *call = userdata;
	const struct sso_reply *rep = er->reply;
	struct sso_result res = {
		.error = er->error,
		.code = er->error == AWS_ERR_NONE ? NULL : er->code,
		.message = er->error == AWS_ERR_NONE ? NULL : er->message,
		.http_status = er->status,
	};

	if (er->error == AWS_ERR_NONE && rep) {
		res.access_key_id = rep->akid;
		res.secret_access_key = rep->secret;
		res.session_token = rep->token;
		res.expiration = rep->expiration;
	}
	call->done(&res, call->userdata);
}

int sso_get_role_credentials(struct sso_client *c, const char *role_name,
			     const char *account_id, const char *access_token,
			     sso_done_fn done, void *userdata,
			     struct sso_call **ret)
{
	struct aws_engine_call_spec spec;
	struct strbuf url = STRBUF_INIT;
	struct sso_call *call;
	int r;

	if (!c || !role_name || !*role_name || !account_id || !*account_id ||
	    !access_token || !*access_token || !done)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	strbuf_printf(&url, "%s/federation/credentials?role_name=", c->endpoint);
	sigv4_uri_encode(&url, role_name, strlen(role_name), false);
	strbuf_puts(&url, "&account_id=");
	sigv4_uri_encode(&url, account_id, strlen(account_id), false);
	call->client = c;
	call->url = strbuf_error(&url) < 0 ? NULL : strbuf_detach(&url);
	strbuf_free(&url);
	call->token = strdup(access_token);
	call->done = done;
	call->userdata = userdata;
	if (!call->url || !call->token) {
		call_free(call);
		return -ENOMEM;
	}
	spec = (struct aws_engine_call_spec){
		.proto = &rest_json_bearer, .req = call, .req_free = call_free,
		.operation = "GetRoleCredentials", .unsigned_request = true,
		.done = call_done, .userdata = call,
	};
	r = aws_engine_start(c->engine, &spec, &call->ec);
	if (r == 0 && ret)
		*ret = call;
	return r;
}

void sso_call_cancel(struct sso_call *call)
{
	if (call)
		aws_engine_call_cancel(call->ec);   /* frees call */
}
