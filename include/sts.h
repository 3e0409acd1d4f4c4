/* sts.h - AWS STS (Query protocol, XML replies) over the call engine:
 * AssumeRole (signed) and AssumeRoleWithWebIdentity (unsigned: the web
 * identity token is the proof).
 *
 * Endpoint, first match wins:
 *   1. sts_client_config.endpoint_url,
 *   2. AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL (both ignored when
 *      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true),
 *   3. the regional endpoint https://sts.REGION.<partition suffix>, as
 *      the SDKs default to (sts_regional_endpoints = regional); with
 *      sts_regional_endpoints = legacy (the profile key, or
 *      AWS_STS_REGIONAL_ENDPOINTS) and one of the SDKs' legacy global
 *      regions, or with no region at all, the global endpoint
 *      https://sts.amazonaws.com, signed for us-east-1.
 * Request: POST, Content-Type application/x-www-form-urlencoded;
 * charset=utf-8, body Action=...&Version=2011-06-15&... (RFC 3986
 * encoded). Replies and errors are XML (libexpat, xml.h).
 *
 * Nothing secret is logged: not the credentials returned, not the web
 * identity token, not the request body. */
#ifndef PR_STS_H
#define PR_STS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "http.h"

#define STS_API_VERSION   "2011-06-15"
#define STS_SIGNING_NAME  "sts"
#define STS_ENV_SERVICE_ID "STS"
#define STS_FORM_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

struct sts_client_config {
	const char *region;          /* NULL/"": the global endpoint */
	const char *endpoint_url;    /* NULL/"" unset */
	const char *regional_endpoints; /* "regional", "legacy"; NULL:
					   AWS_STS_REGIONAL_ENDPOINTS, else
					   regional */
	unsigned max_attempts;       /* 0: AWS_MAX_ATTEMPTS, else 3 */
	uint32_t connect_timeout_ms; /* 0: AWS_DEFAULT_CONNECT_TIMEOUT_MS */
	uint32_t total_timeout_ms;   /* 0: AWS_DEFAULT_TOTAL_TIMEOUT_MS */
};

struct sts_client;
struct sts_call;

/* What STS said. Every pointer valid only during the callback. */
struct sts_result {
	enum aws_error_class error;  /* AWS_ERR_NONE on success */
	const char *operation;
	const char *code;            /* NULL on success */
	const char *message;         /* NULL on success */
	long http_status;
	unsigned attempts;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	time_t expiration;
	const char *assumed_role_arn;
};

typedef void (*sts_done_fn)(const struct sts_result *res, void *userdata);

/* creds may be NULL when only AssumeRoleWithWebIdentity is called.
 * 0 and *ret; -EINVAL (bad region, endpoint, regional_endpoints value,
 * AWS_MAX_ATTEMPTS: logged), -ENOMEM. */
int sts_client_new(sd_event *event, struct http_client *http,
		   const struct sts_client_config *cfg,
		   const struct aws_creds_provider *creds,
		   struct sts_client **ret);
struct sts_client *sts_client_free(struct sts_client *c);

struct sts_assume_role_params {
	const char *role_arn;            /* required */
	const char *role_session_name;   /* required */
	const char *external_id;         /* AssumeRole only; NULL: none */
	unsigned duration_seconds;       /* 0: the service's default */
	const char *web_identity_token;  /* AssumeRoleWithWebIdentity */
};

/* Start a call; done once from the loop unless cancelled. 0; -EINVAL
 * (missing parameter); -ENOMEM. */
int sts_assume_role(struct sts_client *c,
		    const struct sts_assume_role_params *p, sts_done_fn done,
		    void *userdata, struct sts_call **ret);
int sts_assume_role_with_web_identity(struct sts_client *c,
				      const struct sts_assume_role_params *p,
				      sts_done_fn done, void *userdata,
				      struct sts_call **ret);
void sts_call_cancel(struct sts_call *call);

/* ---- pure helpers (tests) ---------------------------------------------- */

/* The SDKs' legacy global STS regions (sts_regional_endpoints=legacy). */
bool sts_legacy_global_region(const char *region);
/* The default endpoint (3. above) into *url (malloc'd) and the signing
 * region into *signing_region (malloc'd). 0, -EINVAL, -ENOMEM. */
int sts_default_endpoint(const char *region, const char *regional_endpoints,
			 char **url, char **signing_region);
/* Decode an AssumeRole or AssumeRoleWithWebIdentity reply body. 0;
 * -EBADMSG. */
struct sts_reply;
int sts_parse_reply(const char *operation, const char *body, size_t len,
		    struct sts_reply **out);
void sts_reply_free(struct sts_reply *r);

#endif
