/* sso.h - the AWS IAM Identity Center (SSO) portal's GetRoleCredentials,
 * REST-JSON with a bearer token, over the call engine: GET
 * /federation/credentials?role_name=R&account_id=A with the header
 * x-amz-sso_bearer_token (the access token `aws sso login` cached), no
 * signature. Endpoint: sso_client_config.endpoint_url, else
 * AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL, else
 * https://portal.sso.REGION.<partition suffix>.
 * The token and the credentials returned are never logged. */
#ifndef PR_SSO_H
#define PR_SSO_H

#include <stdint.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "aws.h"
#include "http.h"

#define SSO_ENV_SERVICE_ID "SSO"
#define SSO_ENDPOINT_PREFIX "portal.sso"

struct sso_client_config {
	const char *region;          /* sso_region: required */
	const char *endpoint_url;    /* NULL/"" unset */
	unsigned max_attempts;
	uint32_t connect_timeout_ms;
	uint32_t total_timeout_ms;
};

struct sso_client;
struct sso_call;

struct sso_result {
	enum aws_error_class error;  /* AWS_ERR_NONE on success */
	const char *code;            /* NULL on success */
	const char *message;         /* NULL on success */
	long http_status;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	time_t expiration;
};

typedef void (*sso_done_fn)(const struct sso_result *res, void *userdata);

int sso_client_new(sd_event *event, struct http_client *http,
		   const struct sso_client_config *cfg, struct sso_client **ret);
struct sso_client *sso_client_free(struct sso_client *c);

/* 0; -EINVAL (a missing argument); -ENOMEM. access_token is copied. */
int sso_get_role_credentials(struct sso_client *c, const char *role_name,
			     const char *account_id, const char *access_token,
			     sso_done_fn done, void *userdata,
			     struct sso_call **ret);
void sso_call_cancel(struct sso_call *call);

#endif
