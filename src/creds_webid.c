/* creds_webid.c - credentials from STS AssumeRoleWithWebIdentity (EKS
 * service accounts, any OIDC provider): the token file is read at every
 * fetch, the call is unsigned (the token is the proof). Configured, as the
 * SDKs read it, by AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and
 * AWS_ROLE_SESSION_NAME, each falling back to the profile's
 * web_identity_token_file, role_arn and role_session_name; see
 * include/creds.h. The token (a JWT) is never logged. */
#include "creds-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "log.h"
#include "sts.h"
#include "wallclock.h"

struct webid_job {
	struct creds_deferred d;   /* first: the job is freed through it */
	struct sts_client *sts;
	struct sts_call *call;
	char *role_arn;
};

static void job_release(struct creds_deferred *d)
{
	struct webid_job *j = (struct webid_job *)d;

	sts_call_cancel(j->call);
	sts_client_free(j->sts);
	free(j->role_arn);
}

static void on_reply(const struct sts_result *res, void *userdata)
{
	struct webid_job *j = userdata;
	struct creds *c = NULL;
	int r;

	j->call = NULL;
	if (res->error != AWS_ERR_NONE)
		log_error("AWS credentials: AssumeRoleWithWebIdentity of %s "
			  "failed: %s: %s", j->role_arn,
			  res->code ? res->code : "?",
			  creds_call_message(res->message, res->error));
	r = creds_call_result(res->error, res->access_key_id,
			      res->secret_access_key, res->session_token,
			      res->expiration, CREDS_SOURCE_WEB_IDENTITY, &c);
	if (r == 0)
		log_debug("AWS credentials: assumed %s with a web identity",
			  res->assumed_role_arn ? res->assumed_role_arn
			  : j->role_arn);
	creds_deferred_finish(&j->d, r, c);
}

/* The token: the file's content without surrounding white space. */
static int read_token(const char *path, struct strbuf *sb)
{
	size_t s = 0, e;
	int r = creds_read_file(path, sb);

	if (r < 0) {
		log_error("AWS credentials: cannot read the web identity token "
			  "file %s: %s", path, strerror(-r));
		return -EINVAL;
	}
	e = sb->len;
	while (s < e && (sb->buf[s] == ' ' || sb->buf[s] == '\n' ||
			 sb->buf[s] == '\r' || sb->buf[s] == '\t'))
		s++;
	while (e > s && (sb->buf[e - 1] == ' ' || sb->buf[e - 1] == '\n' ||
			 sb->buf[e - 1] == '\r' || sb->buf[e - 1] == '\t'))
		e--;
	if (e == s) {
		log_error("AWS credentials: the web identity token file %s is "
			  "empty", path);
		return -EINVAL;
	}
	memmove(sb->buf, sb->buf + s, e - s);
	OPENSSL_cleanse(sb->buf + (e - s), sb->len - (e - s));
	sb->len = e - s;
	sb->buf[sb->len] = '\0';
	return 0;
}

int creds_web_identity_start(sd_event *event, struct http_client *http,
			     const char *token_file, const char *role_arn,
			     const char *session_name, const char *region,
			     const char *regional_endpoints,
			     creds_job_done_fn done, void *userdata,
			     struct creds_job **job)
{
	struct sts_client_config cfg = { 0 };
	struct sts_assume_role_params p;
	struct strbuf token = STRBUF_INIT;
	struct webid_job *j;
	int r;

	if (!event || !token_file || !role_arn || !session_name || !done ||
	    !job)
		return -EINVAL;
	if (!http) {
		log_error("AWS credentials: a web identity needs the network");
		return -EINVAL;
	}
	r = read_token(token_file, &token);
	if (r < 0) {
		strbuf_free_secure(&token);
		return r;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		strbuf_free_secure(&token);
		return -ENOMEM;
	}
	creds_deferred_init(&j->d, event, done, userdata, job_release,
			    "creds-web-identity");
	j->role_arn = strdup(role_arn);
	cfg.region = region;
	cfg.regional_endpoints = regional_endpoints;
	r = j->role_arn ? sts_client_new(event, http, &cfg, NULL, &j->sts)
			: -ENOMEM;
	if (r == 0) {
		p = (struct sts_assume_role_params){
			.role_arn = role_arn, .role_session_name = session_name,
			.web_identity_token = token.buf,
		};
		r = sts_assume_role_with_web_identity(j->sts, &p, on_reply, j,
						      &j->call);
	}
	strbuf_free_secure(&token);
	if (r < 0) {
		creds_deferred_free(&j->d);
		return r;
	}
	*job = &j->d.base;
	return 0;
}

/* ---- configuration ---------------------------------------------------------------- */

void creds_webid_config_free(struct creds_webid_config *w)
{
	if (!w)
		return;
	free(w->token_file);
	free(w->role_arn);
	free(w->session_name);
	free(w->region);
	free(w->regional_endpoints);
	free(w);
}

static const char *env_or(const char *var, const struct creds_profile *p,
			  const char *key)
{
	const char *v = getenv(var);

	if (v)
		return v;
	return creds_profile_value(p, key);
}

int creds_webid_config_new(const char *profile, struct creds_webid_config **out)
{
	struct creds_profile *p = NULL;
	struct creds_webid_config *w = NULL;
	const char *file, *arn, *name, *region, *ep;
	int r;

	r = creds_profile_load(profile, &p);
	if (r < 0)
		return r;
	file = env_or("AWS_WEB_IDENTITY_TOKEN_FILE", p, "web_identity_token_file");
	if (!file || !*file) {
		creds_profile_free(p);
		return -ENOENT;
	}
	arn = env_or("AWS_ROLE_ARN", p, "role_arn");
	if (!arn || !*arn) {
		log_error("AWS credentials: a web identity token file is set "
			  "(AWS_WEB_IDENTITY_TOKEN_FILE or the profile's "
			  "web_identity_token_file) but no role: set AWS_ROLE_ARN "
			  "or the profile's role_arn");
		creds_profile_free(p);
		return -EINVAL;
	}
	name = env_or("AWS_ROLE_SESSION_NAME", p, "role_session_name");
	region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = creds_profile_value(p, "region");
	ep = creds_profile_value(p, "sts_regional_endpoints");
	r = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto done;
	w->token_file = strdup(file);
	w->role_arn = strdup(arn);
	if (name && *name)
		w->session_name = strdup(name);
	else if (asprintf(&w->session_name, "botocore-session-%lld",
			  (long long)wallclock_host_now()) < 0)
		w->session_name = NULL;
	if (region && *region)
		w->region = strdup(region);
	if (ep && *ep)
		w->regional_endpoints = strdup(ep);
	if (!w->token_file || !w->role_arn || !w->session_name ||
	    (region && *region && !w->region) || (ep && *ep && !w->regional_endpoints))
		goto done;
	*out = w;
	w = NULL;
	r = 0;
done:
	creds_webid_config_free(w);
	creds_profile_free(p);
	return r;
}
