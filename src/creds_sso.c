/* creds_sso.c - credentials from IAM Identity Center (SSO) as the SDKs
 * resolve a profile with sso_session (and the legacy sso_start_url form):
 * the access token `aws sso login` cached in ~/.aws/sso/cache/<SHA-1 of
 * the session name, or of the start URL>.json, then the portal's
 * GetRoleCredentials. No login flow: a missing or expired token is an
 * error that says to run `aws sso login`. See include/creds.h. */
#include "creds-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "log.h"
#include "sso.h"
#include "wallclock.h"

void creds_sso_config_free(struct creds_sso_config *s)
{
	if (!s)
		return;
	free(s->profile);
	free(s->session);
	free(s->start_url);
	free(s->region);
	free(s->account_id);
	free(s->role_name);
	free(s);
}

static const char *val(const struct creds_profile *p, const char *key)
{
	const char *v = creds_profile_value(p, key);

	return v && *v ? v : NULL;
}

int creds_sso_config_new(const char *profile, struct creds_sso_config **out)
{
	struct creds_profile *p = NULL, *sess = NULL;
	struct creds_sso_config *s = NULL;
	const char *name, *start, *region, *account, *role;
	int r;

	r = creds_profile_load(profile, &p);
	if (r < 0)
		return r;
	/* the SDKs: an SSO profile names its account or its role */
	account = val(p, "sso_account_id");
	role = val(p, "sso_role_name");
	if (!account && !role) {
		creds_profile_free(p);
		return -ENOENT;
	}
	name = val(p, "sso_session");
	start = val(p, "sso_start_url");
	region = val(p, "sso_region");
	r = -EINVAL;
	if (name) {
		r = creds_sso_session_load(name, &sess);
		if (r < 0)
			goto done;
		r = -EINVAL;
		if (!creds_profile_found(sess)) {
			log_error("AWS credentials: profile \"%s\" names "
				  "sso_session \"%s\", which the config file "
				  "does not have ([sso-session %s])",
				  creds_profile_name(p), name, name);
			goto done;
		}
		/* keys in both must agree */
		if ((start && val(sess, "sso_start_url") &&
		     strcmp(start, val(sess, "sso_start_url"))) ||
		    (region && val(sess, "sso_region") &&
		     strcmp(region, val(sess, "sso_region")))) {
			log_error("AWS credentials: profile \"%s\" and "
				  "sso-session \"%s\" disagree on sso_start_url "
				  "or sso_region", creds_profile_name(p), name);
			goto done;
		}
		if (val(sess, "sso_start_url"))
			start = val(sess, "sso_start_url");
		if (val(sess, "sso_region"))
			region = val(sess, "sso_region");
	}
	if (!start || !region || !account || !role) {
		log_error("AWS credentials: profile \"%s\" is configured to use "
			  "SSO but lacks %s", creds_profile_name(p),
			  !start ? "sso_start_url" : !region ? "sso_region" :
			  !account ? "sso_account_id" : "sso_role_name");
		goto done;
	}
	r = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto done;
	s->profile = strdup(creds_profile_name(p));
	s->session = name ? strdup(name) : NULL;
	s->start_url = strdup(start);
	s->region = strdup(region);
	s->account_id = strdup(account);
	s->role_name = strdup(role);
	if (!s->profile || (name && !s->session) || !s->start_url ||
	    !s->region || !s->account_id || !s->role_name)
		goto done;
	*out = s;
	s = NULL;
	r = 0;
done:
	creds_sso_config_free(s);
	creds_profile_free(sess);
	creds_profile_free(p);
	return r;
}

int creds_sso_cache_path(const char *session, const char *start_url,
			 char **out)
{
	const char *key = session ? session : start_url;
	const char *home = getenv("HOME");
	unsigned char h[SHA_DIGEST_LENGTH];
	char hex[2 * SHA_DIGEST_LENGTH + 1];
	size_t i;

	if (!key || !home || !*home)
		return -ENOENT;
	SHA1((const unsigned char *)key, strlen(key), h);
	for (i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	if (asprintf(out, "%s/.aws/sso/cache/%s.json", home, hex) < 0)
		return -ENOMEM;
	return 0;
}

/* The cached access token, if present and not expired: 0 and *token
 * (malloc'd; wipe it); else -EKEYEXPIRED / -ENOENT / -EINVAL, logged
 * with what to do. */
static int load_token(const struct creds_sso_config *s, char **token)
{
	struct strbuf text = STRBUF_INIT;
	const cJSON *at, *exp;
	char *path = NULL;
	cJSON *j = NULL;
	time_t until;
	int r;

	r = creds_sso_cache_path(s->session, s->start_url, &path);
	if (r == 0)
		r = creds_read_file(path, &text);
	if (r == 0) {
		j = cJSON_ParseWithLength(text.buf, text.len);
		at = cJSON_GetObjectItemCaseSensitive(j, "accessToken");
		exp = cJSON_GetObjectItemCaseSensitive(j, "expiresAt");
		if (!cJSON_IsString(at) || !*at->valuestring ||
		    !cJSON_IsString(exp) ||
		    creds_parse_time(exp->valuestring, &until) < 0) {
			log_error("AWS credentials: the SSO token cache %s is not "
				  "what `aws sso login` writes; run `aws sso login "
				  "--profile %s`", path, s->profile);
			r = -EINVAL;
		} else if (until <= wallclock_host_now()) {
			log_error("AWS credentials: the SSO session of profile "
				  "\"%s\" expired at %s; run `aws sso login "
				  "--profile %s`", s->profile, exp->valuestring,
				  s->profile);
			r = -EKEYEXPIRED;
		} else {
			*token = strdup(at->valuestring);
			r = *token ? 0 : -ENOMEM;
		}
	} else if (r == -ENOENT || r == -EACCES) {
		log_error("AWS credentials: no SSO token for profile \"%s\" "
			  "(%s %s); run `aws sso login --profile %s`", s->profile,
			  s->session ? "sso-session" : "start URL",
			  s->session ? s->session : s->start_url, s->profile);
		r = -ENOKEY;
	} else if (r < 0) {
		log_error("AWS credentials: cannot read the SSO token cache %s: "
			  "%s", path ? path : "-", strerror(-r));
	}
	if (j) {
		creds_json_wipe(j);
		cJSON_Delete(j);
	}
	strbuf_free_secure(&text);
	free(path);
	return r;
}

struct sso_job {
	struct creds_deferred d;   /* first: the job is freed through it */
	struct sso_client *sso;
	struct sso_call *call;
	char *profile;
};

static void job_release(struct creds_deferred *d)
{
	struct sso_job *j = (struct sso_job *)d;

	sso_call_cancel(j->call);
	sso_client_free(j->sso);
	free(j->profile);
}

static void on_reply(const struct sso_result *res, void *userdata)
{
	struct sso_job *j = userdata;
	struct creds *c = NULL;
	int r;

	j->call = NULL;
	if (res->error != AWS_ERR_NONE &&
	    (res->http_status == 401 || res->http_status == 403))
		log_error("AWS credentials: the SSO portal refused the session "
			  "of profile \"%s\" (%s); run `aws sso login "
			  "--profile %s`", j->profile,
			  res->code ? res->code : "?", j->profile);
	else if (res->error != AWS_ERR_NONE)
		log_error("AWS credentials: SSO GetRoleCredentials for profile "
			  "\"%s\" failed: %s: %s", j->profile,
			  res->code ? res->code : "?",
			  creds_call_message(res->message, res->error));
	r = creds_call_result(res->error, res->access_key_id,
			      res->secret_access_key, res->session_token,
			      res->expiration, CREDS_SOURCE_SSO, &c);
	creds_deferred_finish(&j->d, r, c);
}

int creds_sso_start(sd_event *event, struct http_client *http,
		    const struct creds_sso_config *s, creds_job_done_fn done,
		    void *userdata, struct creds_job **job)
{
	struct sso_client_config cfg = { 0 };
	struct sso_job *j;
	char *token = NULL;
	int r;

	if (!event || !s || !done || !job)
		return -EINVAL;
	if (!http) {
		log_error("AWS credentials: SSO needs the network");
		return -EINVAL;
	}
	r = load_token(s, &token);
	if (r < 0)
		return r == -ENOKEY || r == -EKEYEXPIRED ? -EACCES : r;
	r = -ENOMEM;
	j = calloc(1, sizeof(*j));
	if (j) {
		creds_deferred_init(&j->d, event, done, userdata, job_release,
				    "creds-sso");
		j->profile = strdup(s->profile);
		cfg.region = s->region;
		r = j->profile ? sso_client_new(event, http, &cfg, &j->sso)
			       : -ENOMEM;
		if (r == 0)
			r = sso_get_role_credentials(j->sso, s->role_name,
						     s->account_id, token,
						     on_reply, j, &j->call);
	}
	creds_free_secret(token);
	if (r < 0) {
		if (j)
			creds_deferred_free(&j->d);
		return r;
	}
	*job = &j->d.base;
	return 0;
}
