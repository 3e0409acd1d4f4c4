/* creds_role.c - credentials from STS AssumeRole, as the SDKs resolve a
 * profile with role_arn: the source credentials (source_profile, chains of
 * them, or credential_source), then one AssumeRole per role in the chain,
 * each signed with the credentials the previous step gave; see
 * include/creds.h for the rules and include/creds-internal.h. */
#include "creds-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "aws.h"
#include "log.h"
#include "sts.h"
#include "wallclock.h"

void creds_role_plan_free(struct creds_role_plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_hops; i++) {
		free(p->hops[i].profile);
		free(p->hops[i].role_arn);
		creds_free_secret(p->hops[i].external_id);
		free(p->hops[i].session_name);
	}
	creds_free(p->base_creds);
	creds_free_secret(p->process);
	free(p->base_profile);
	free(p->token_file);
	free(p->web_role_arn);
	free(p->web_session_name);
	free(p->region);
	free(p->regional_endpoints);
	free(p);
}

static bool has(const struct creds_profile *p, const char *key)
{
	const char *v = creds_profile_value(p, key);

	return v && *v;
}

/* role_arn without web_identity_token_file: the SDKs' assume-role
 * profile (with both, it is a web identity profile). */
static bool assume_role_profile(const struct creds_profile *p)
{
	return has(p, "role_arn") && !has(p, "web_identity_token_file");
}

static bool static_keys_in(const struct creds_profile *p)
{
	return has(p, "aws_access_key_id") && has(p, "aws_secret_access_key");
}

static int static_from(const struct creds_profile *p, struct creds **out)
{
	return creds_new(creds_profile_value(p, "aws_access_key_id"),
			 creds_profile_value(p, "aws_secret_access_key"),
			 creds_profile_value(p, "aws_session_token"), 0,
			 CREDS_SOURCE_CRED_FILE, out);
}

/* The SDKs' default session name. */
static char *default_session_name(void)
{
	char *s = NULL;

	if (asprintf(&s, "botocore-session-%lld",
		     (long long)wallclock_host_now()) < 0)
		return NULL;
	return s;
}

static int add_hop(struct creds_role_plan *plan, const struct creds_profile *p)
{
	struct creds_role_hop *h;
	const char *v;

	if (plan->n_hops >= CREDS_MAX_ROLE_CHAIN) {
		log_error("AWS credentials: profile \"%s\": more than %d roles "
			  "in the chain", creds_profile_name(p),
			  CREDS_MAX_ROLE_CHAIN);
		return -EINVAL;
	}
	h = &plan->hops[plan->n_hops];
	memset(h, 0, sizeof(*h));
	h->profile = strdup(creds_profile_name(p));
	h->role_arn = strdup(creds_profile_value(p, "role_arn"));
	v = creds_profile_value(p, "role_session_name");
	h->session_name = v && *v ? strdup(v) : default_session_name();
	v = creds_profile_value(p, "external_id");
	h->external_id = v && *v ? strdup(v) : NULL;
	plan->n_hops++;   /* freed with the plan from here on */
	if (!h->profile || !h->role_arn || !h->session_name ||
	    (v && *v && !h->external_id))
		return -ENOMEM;
	v = creds_profile_value(p, "duration_seconds");
	if (v && *v) {
		char *end;
		unsigned long d = strtoul(v, &end, 10);

		if (*end || d < 900 || d > 43200) {
			log_error("AWS credentials: profile \"%s\": "
				  "duration_seconds must be 900..43200",
				  creds_profile_name(p));
			return -EINVAL;
		}
		h->duration = (unsigned)d;
	}
	return 0;
}

/* The chain of profile names seen so far, for the cycle error. */
struct visit {
	const char *names[CREDS_MAX_ROLE_CHAIN + 1];
	size_t n;
};

static void log_cycle(const struct visit *v, const char *again)
{
	char buf[512];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < v->n && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s -> ",
				      v->names[i]);
	log_error("AWS credentials: the source_profile chain is a cycle: "
		  "%s%s", buf, again);
}

/* The source of an assume-role profile p (already loaded), then its hop. */
static int plan_profile(struct creds_role_plan *plan,
			const struct creds_profile *p, struct visit *v)
{
	const char *name = creds_profile_name(p);
	const char *src = creds_profile_value(p, "source_profile");
	const char *cs = creds_profile_value(p, "credential_source");
	struct creds_profile *sp = NULL;
	int r;

	if (has(p, "mfa_serial")) {
		log_error("AWS credentials: profile \"%s\" needs an MFA code "
			  "(mfa_serial): a daemon cannot prompt for one; use a "
			  "role without an MFA condition", name);
		return -EINVAL;
	}
	if (src && *src && cs && *cs) {
		log_error("AWS credentials: profile \"%s\" has both "
			  "source_profile and credential_source", name);
		return -EINVAL;
	}
	if ((!src || !*src) && (!cs || !*cs)) {
		log_error("AWS credentials: profile \"%s\" has role_arn but "
			  "neither source_profile nor credential_source", name);
		return -EINVAL;
	}
	if (cs && *cs) {
		if (strcmp(cs, "Environment") == 0)
			plan->base = CREDS_BASE_ENV;
		else if (strcmp(cs, "Ec2InstanceMetadata") == 0)
			plan->base = CREDS_BASE_IMDS;
		else if (strcmp(cs, "EcsContainer") == 0)
			plan->base = CREDS_BASE_CONTAINER;
		else {
			log_error("AWS credentials: profile \"%s\": "
				  "credential_source \"%s\" is not one of "
				  "Environment, Ec2InstanceMetadata, "
				  "EcsContainer", name, cs);
			return -EINVAL;
		}
		plan->base_profile = strdup(name);
		return plan->base_profile ? add_hop(plan, p) : -ENOMEM;
	}
	if (strcmp(src, name) == 0) {
		/* a profile may name itself when it has static keys */
		if (!static_keys_in(p)) {
			log_cycle(v, src);
			return -EINVAL;
		}
		plan->base = CREDS_BASE_STATIC;
		r = static_from(p, &plan->base_creds);
		goto base_done;
	}
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->names[i], src) == 0) {
			log_cycle(v, src);
			return -EINVAL;
		}
	if (v->n >= CREDS_MAX_ROLE_CHAIN) {
		log_error("AWS credentials: profile \"%s\": the source_profile "
			  "chain is longer than %d", name, CREDS_MAX_ROLE_CHAIN);
		return -EINVAL;
	}
	r = creds_profile_load(src, &sp);
	if (r < 0)
		return r;
	if (!creds_profile_found(sp)) {
		log_error("AWS credentials: profile \"%s\": source_profile "
			  "\"%s\" not found", name, src);
		r = -EINVAL;
	} else if (static_keys_in(sp)) {
		plan->base = CREDS_BASE_STATIC;
		r = static_from(sp, &plan->base_creds);
	} else if (!assume_role_profile(sp)) {
		const char *cmd = creds_profile_value(sp, "credential_process");
		const char *wit = creds_profile_value(sp,
						      "web_identity_token_file");

		if (cmd && *cmd) {
			plan->base = CREDS_BASE_PROCESS;
			plan->process = strdup(cmd);
			r = plan->process ? 0 : -ENOMEM;
		} else if (wit && *wit && has(sp, "role_arn")) {
			const char *sn = creds_profile_value(
				sp, "role_session_name");

			plan->base = CREDS_BASE_WEB_IDENTITY;
			plan->token_file = strdup(wit);
			plan->web_role_arn = strdup(creds_profile_value(
				sp, "role_arn"));
			plan->web_session_name = sn && *sn ? strdup(sn)
						 : default_session_name();
			r = plan->token_file && plan->web_role_arn &&
			    plan->web_session_name ? 0 : -ENOMEM;
		} else {
			log_error("AWS credentials: source_profile \"%s\" (of "
				  "profile \"%s\") has no credentials", src,
				  name);
			r = -EINVAL;
		}
	} else {
		v->names[v->n++] = creds_profile_name(sp);
		r = plan_profile(plan, sp, v);
		v->n--;
		creds_profile_free(sp);
		return r < 0 ? r : add_hop(plan, p);
	}
	creds_profile_free(sp);
base_done:
	if (r < 0)
		return r;
	plan->base_profile = strdup(src);
	return plan->base_profile ? add_hop(plan, p) : -ENOMEM;
}

/* The STS region as the SDKs' session has it: AWS_REGION,
 * AWS_DEFAULT_REGION, then the profile's region. */
static int plan_region(struct creds_role_plan *plan,
		       const struct creds_profile *p)
{
	const char *v = getenv("AWS_REGION");
	const char *ep = creds_profile_value(p, "sts_regional_endpoints");

	if (!v || !*v)
		v = getenv("AWS_DEFAULT_REGION");
	if (!v || !*v)
		v = creds_profile_value(p, "region");
	if (v && *v && !(plan->region = strdup(v)))
		return -ENOMEM;
	if (ep && *ep && !(plan->regional_endpoints = strdup(ep)))
		return -ENOMEM;
	return 0;
}

int creds_role_plan_new(const char *profile, struct creds_role_plan **out)
{
	struct creds_profile *p = NULL;
	struct creds_role_plan *plan = NULL;
	struct visit v = { .n = 0 };
	int r;

	r = creds_profile_load(profile, &p);
	if (r < 0)
		return r;
	if (!creds_profile_found(p) || !assume_role_profile(p)) {
		creds_profile_free(p);
		return -ENOENT;
	}
	plan = calloc(1, sizeof(*plan));
	r = -ENOMEM;
	if (!plan)
		goto fail;
	v.names[v.n++] = creds_profile_name(p);
	r = plan_profile(plan, p, &v);
	if (r == 0)
		r = plan_region(plan, p);
	if (r < 0)
		goto fail;
	creds_profile_free(p);
	*out = plan;
	return 0;
fail:
	creds_profile_free(p);
	creds_role_plan_free(plan);
	return r;
}

/* ---- the job ------------------------------------------------------------------ */

struct role_job {
	struct creds_deferred d;     /* first: the job is freed through it */
	struct http_client *http;
	const struct creds_role_plan *plan;
	struct creds_job *sub;       /* the source's fetch */
	struct creds *cur;           /* credentials of the last step */
	struct sigv4_credentials sc; /* cur for the signer */
	struct sts_client *sts;
	struct sts_call *call;
	size_t hop;
};

static void job_release(struct creds_deferred *d)
{
	struct role_job *j = (struct role_job *)d;

	creds_job_cancel(j->sub);
	sts_call_cancel(j->call);
	sts_client_free(j->sts);
	creds_free(j->cur);
}

/* End the job from the loop (never from inside the STS client's own
 * callback, which may not free the client). */
static void finish(struct role_job *j, int error, struct creds *c)
{
	creds_deferred_finish(&j->d, error, c);
}

static int job_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	struct role_job *j = impl;

	ready(j->cur ? 0 : -ENOKEY, j->cur ? &j->sc : NULL, ctx);
	return 0;
}

static void next_hop(struct role_job *j);

static void on_assumed(const struct sts_result *res, void *userdata)
{
	struct role_job *j = userdata;
	const struct creds_role_hop *h = &j->plan->hops[j->hop];
	struct creds *c = NULL;
	int r;

	j->call = NULL;
	if (res->error != AWS_ERR_NONE)
		log_error("AWS credentials: AssumeRole of %s (profile \"%s\") "
			  "failed: %s: %s", h->role_arn, h->profile,
			  res->code ? res->code : "?",
			  creds_call_message(res->message, res->error));
	r = creds_call_result(res->error, res->access_key_id,
			      res->secret_access_key, res->session_token,
			      res->expiration, CREDS_SOURCE_ASSUME_ROLE, &c);
	if (r < 0) {
		finish(j, r, NULL);
		return;
	}
	log_debug("AWS credentials: assumed %s (profile \"%s\")",
		  res->assumed_role_arn ? res->assumed_role_arn : h->role_arn,
		  h->profile);
	creds_free(j->cur);
	j->cur = c;
	creds_to_sigv4(c, &j->sc);
	j->hop++;
	next_hop(j);
}

static void next_hop(struct role_job *j)
{
	const struct creds_role_hop *h;
	struct sts_assume_role_params p;
	struct creds *c;
	int r;

	if (j->hop >= j->plan->n_hops) {
		c = j->cur;
		j->cur = NULL;
		finish(j, 0, c);
		return;
	}
	h = &j->plan->hops[j->hop];
	p = (struct sts_assume_role_params){
		.role_arn = h->role_arn, .role_session_name = h->session_name,
		.external_id = h->external_id,
		.duration_seconds = h->duration,
	};
	r = sts_assume_role(j->sts, &p, on_assumed, j, &j->call);
	if (r < 0)
		finish(j, r, NULL);
}

static void on_source(int error, struct creds *c, void *userdata)
{
	struct role_job *j = userdata;

	j->sub = NULL;
	if (error < 0) {
		log_error("AWS credentials: the source credentials of profile "
			  "\"%s\" could not be had", j->plan->base_profile);
		finish(j, error, NULL);
		return;
	}
	j->cur = c;
	creds_to_sigv4(c, &j->sc);
	next_hop(j);
}

int creds_role_start(sd_event *event, struct http_client *http,
		     const struct creds_role_plan *plan,
		     creds_job_done_fn done, void *userdata,
		     struct creds_job **job)
{
	struct sts_client_config cfg = { 0 };
	struct aws_creds_provider prov = { .get = job_get };
	struct role_job *j;
	struct creds *c = NULL;
	int r;

	if (!event || !plan || !done || !job)
		return -EINVAL;
	if (!http) {
		log_error("AWS credentials: profile \"%s\" assumes a role, "
			  "which needs the network", plan->base_profile);
		return -EINVAL;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	creds_deferred_init(&j->d, event, done, userdata, job_release,
			    "creds-assume-role");
	j->http = http;
	j->plan = plan;
	prov.impl = j;
	cfg.region = plan->region;
	cfg.regional_endpoints = plan->regional_endpoints;
	r = sts_client_new(event, http, &cfg, &prov, &j->sts);
	if (r < 0)
		goto fail;
	switch (plan->base) {
	case CREDS_BASE_STATIC:
		r = creds_new(plan->base_creds->access_key_id,
			      plan->base_creds->secret_access_key,
			      plan->base_creds->session_token, 0,
			      plan->base_creds->source, &c);
		if (r == 0)
			on_source(0, c, j);
		break;
	case CREDS_BASE_ENV:
		r = creds_from_env(&c);
		if (r == -ENOENT)
			log_error("AWS credentials: profile \"%s\" takes its "
				  "source credentials from the environment "
				  "(credential_source = Environment), which has "
				  "none", plan->base_profile);
		if (r == 0)
			on_source(0, c, j);
		break;
	case CREDS_BASE_PROCESS:
		r = creds_process_start(event, plan->process, on_source, j,
					&j->sub);
		break;
	case CREDS_BASE_IMDS:
		r = creds_imds_start(http, on_source, j, &j->sub);
		break;
	case CREDS_BASE_CONTAINER:
		r = creds_container_start(http, on_source, j, &j->sub);
		if (r == -ENOENT)
			log_error("AWS credentials: profile \"%s\": "
				  "credential_source = EcsContainer, but no "
				  "container credentials endpoint is set",
				  plan->base_profile);
		break;
	case CREDS_BASE_WEB_IDENTITY:
		r = creds_web_identity_start(event, http, plan->token_file,
					     plan->web_role_arn,
					     plan->web_session_name,
					     plan->region,
					     plan->regional_endpoints,
					     on_source, j, &j->sub);
		break;
	}
	if (r < 0)
		goto fail;
	*job = &j->d.base;
	return 0;
fail:
	if (r == -ENOENT)
		r = -EINVAL;   /* configured, but the source is not there */
	creds_deferred_free(&j->d);
	return r;
}
