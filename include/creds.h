/* creds.h - AWS credentials, found the way the SDKs and the CLI find them,
 * and the AWS region.
 *
 * The chain, first source that is configured wins (the SDKs' order:
 * botocore's create_credential_resolver, with systemd credentials after the
 * environment):
 *  1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optionally
 *     AWS_SESSION_TOKEN (one of the first two without the other is an
 *     error, not a fall-through);
 *  2. systemd credentials (LoadCredential=/SetCredentialEncrypted= in the
 *     unit), files in $CREDENTIALS_DIRECTORY:
 *       aws-access-key-id       the access key id
 *       aws-secret-access-key   the secret access key
 *       aws-session-token       optional session token
 *     (content trimmed of surrounding white space; the first two must come
 *     together);
 *  3. assume role: a profile with role_arn (and no web_identity_token_file)
 *     gets STS AssumeRole credentials; its source is source_profile (whose
 *     static keys are used as they are, else its credential_process or web
 *     identity, else its own role_arn: a chain; a cycle is an error naming
 *     the profiles; a profile may name itself when it has keys) or
 *     credential_source = Environment | Ec2InstanceMetadata | EcsContainer.
 *     external_id, role_session_name (default botocore-session-<time>),
 *     duration_seconds are passed on; mfa_serial is refused (a daemon
 *     cannot prompt). STS region: AWS_REGION, AWS_DEFAULT_REGION, the
 *     profile's region (none: the global endpoint); sts_regional_endpoints
 *     or AWS_STS_REGIONAL_ENDPOINTS as in sts.h;
 *  3b. web identity: AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and
 *     AWS_ROLE_SESSION_NAME, each over the profile's web_identity_token_file,
 *     role_arn and role_session_name; unsigned AssumeRoleWithWebIdentity
 *     with the file's content, read again at every refresh;
 *  3c. SSO (IAM Identity Center): a profile with sso_account_id /
 *     sso_role_name and sso_session (its [sso-session NAME] section of the
 *     config file gives sso_start_url and sso_region) or the legacy
 *     sso_start_url / sso_region keys; the access token `aws sso login`
 *     cached in ~/.aws/sso/cache/<SHA-1 of the session name, or of the
 *     start URL>.json (accessToken, expiresAt) is sent to the portal's
 *     GetRoleCredentials (sso.h); a missing or expired token is an error
 *     saying to run `aws sso login --profile NAME` (no login flow here);
 *  3d. the shared files for the profile (the chain's profile option, else
 *     $AWS_PROFILE, else "default"):
 *       $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials: section [name];
 *       $AWS_CONFIG_FILE or ~/.aws/config: [profile name], or [default]
 *       (also [profile default]); a bare [name] there is not a profile.
 *     Keys aws_access_key_id, aws_secret_access_key, aws_session_token,
 *     credential_process, region (case-insensitive). In the SDKs' order:
 *     static keys of the credentials file, then credential_process (the
 *     credentials file's value over the config file's), then static keys
 *     of the config file. Lines starting with '#' or ';' are comments, and
 *     so is the rest of a line from a '#' or ';' preceded by white space;
 *     white space around names, keys and values is ignored; indented lines
 *     after a key (sub-properties) are skipped. A profile named explicitly
 *     that neither file holds is an error.
 *     credential_process is split like a POSIX shell word list (quotes and
 *     backslashes, no expansion) and run without a shell and without
 *     blocking the loop; its stdout must be the documented JSON:
 *     {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?,
 *      "Expiration"? (RFC 3339)}. It is killed after CREDS_PROCESS_TIMEOUT_SEC;
 *  4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
 *     http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (https,
 *     or http to a loopback address, 169.254.170.2, 169.254.170.23 or
 *     fd00:ec2::23), with the Authorization header read from the file
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read at every fetch) or
 *     from AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *  5. EC2 instance metadata, IMDSv2 only: PUT /latest/api/token (once
 *     more if a later request is refused with 401), GET
 *     /latest/meta-data/iam/security-credentials/ for the role, GET its
 *     credentials; short timeouts, one retry per step. Endpoint
 *     http://169.254.169.254 (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6:
 *     http://[fd00:ec2::254]), AWS_EC2_METADATA_SERVICE_ENDPOINT overrides;
 *     AWS_EC2_METADATA_DISABLED=true skips it.
 *
 * Static sources (1, 2, static keys in 3c) are answered synchronously.
 * Temporary credentials (an Expiration) are refreshed in the background
 * from the same source CREDS_REFRESH_AHEAD_SEC before they expire, without
 * blocking the loop; callers only wait once credentials are within
 * CREDS_EXPIRY_MARGIN_SEC of expiry (or on the first fetch from an async
 * source).
 *
 * Secrets are wiped (OPENSSL_cleanse) when freed, and never logged: the
 * log says which source was used and when a refresh happens, nothing of
 * the values. */
#ifndef PR_CREDS_H
#define PR_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "http.h"
#include "sigv4.h"

#define CREDS_REFRESH_AHEAD_SEC   300 /* background refresh before expiry */
#define CREDS_EXPIRY_MARGIN_SEC    60 /* after this, callers wait */
#define CREDS_RETRY_SEC            30 /* after a failed background refresh */
#define CREDS_PROCESS_TIMEOUT_SEC  60 /* credential_process run time limit */
#define CREDS_MAX_FILE_BYTES (1024 * 1024) /* shared files, token files */
#define CREDS_MAX_PROCESS_OUTPUT (64 * 1024)

/* systemd credential names (under $CREDENTIALS_DIRECTORY). */
#define CREDS_SYSTEMD_ACCESS_KEY_ID     "aws-access-key-id"
#define CREDS_SYSTEMD_SECRET_ACCESS_KEY "aws-secret-access-key"
#define CREDS_SYSTEMD_SESSION_TOKEN     "aws-session-token"

/* One set of credentials. All strings owned; secrets wiped on free. */
struct creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;  /* NULL when not temporary */
	time_t expiration;    /* UTC seconds; 0 = does not expire */
	const char *source;   /* static name: "environment", ... (loggable) */
};

/* New credentials (strings copied). token may be NULL or "".
 * Returns 0; -EINVAL if the key id or the secret is missing or empty;
 * -ENOMEM. */
int creds_new(const char *access_key_id, const char *secret_access_key,
	      const char *session_token, time_t expiration, const char *source,
	      struct creds **out);
/* Wipe and free. NULL is fine. */
void creds_free(struct creds *c);
/* View c as the signer's input (pointers into c). */
void creds_to_sigv4(const struct creds *c, struct sigv4_credentials *out);

/* ---- the chain -------------------------------------------------------- */

struct creds_chain;

struct creds_chain_options {
	const char *profile;      /* NULL: $AWS_PROFILE, else "default" */
	sd_event *event;          /* required */
	struct http_client *http; /* NULL leaves out container and IMDS */
	/* 0 for the defaults: CREDS_REFRESH_AHEAD_SEC, CREDS_RETRY_SEC (the
	 * shortest time between two background refreshes). */
	unsigned refresh_ahead_sec;
	unsigned retry_sec;
	/* NULL, or called from the event loop each time a fetch from a
	 * source (container endpoint, IMDS, credential_process) has ended,
	 * whatever its outcome, after the waiters were answered. A fetch
	 * over HTTP may leave its connection open in the HTTP client: the
	 * daemon closes it when nothing else runs (a background refresh
	 * while every pipeline is idle). */
	void (*on_fetch_end)(void *userdata);
	void *fetch_userdata;
};

/* Create a chain (nothing is read until the first creds_get()).
 * Returns 0, -EINVAL (no event loop), -ENOMEM. */
int creds_chain_new(const struct creds_chain_options *opt,
		    struct creds_chain **out);
/* Cancel pending work (no callbacks), wipe and free. NULL is fine. */
void creds_chain_free(struct creds_chain *ch);

/* Credentials are ready (error 0, c valid only during the call: copy what
 * you keep, or call creds_get() again next time), or could not be had
 * (error < 0, c NULL), the reason logged once by this module:
 *   -ENOKEY   no source is configured (or IMDS has nothing);
 *   -EINVAL   a source is misconfigured (half a key pair, unknown profile,
 *             unsupported profile type, bad URI, bad document);
 *   -EIO      a source failed (credential_process exit status, HTTP error);
 *   -ETIMEDOUT, -EFBIG  credential_process ran too long, said too much;
 *   -ENOENT, -EACCES    credential_process could not be started;
 *   -EKEYEXPIRED        a refresh returned credentials already expired. */
typedef void (*creds_ready_fn)(int error, const struct creds *c,
			       void *userdata);

/* Deliver usable credentials to ready, exactly once: before returning
 * when they are at hand (a static source, or temporary ones not within
 * CREDS_EXPIRY_MARGIN_SEC of expiry), else later from the event loop.
 * Returns 0; or -errno (-ENOMEM) without calling ready. Use userdata to
 * identify the request for creds_cancel(). */
int creds_get(struct creds_chain *ch, creds_ready_fn ready, void *userdata);

/* Forget every pending creds_get() made with userdata (no callback). */
void creds_cancel(struct creds_chain *ch, void *userdata);

/* Forget the cached credentials (a service refused them: expired, or
 * rotated at the source): the next creds_get() resolves the chain anew,
 * reading static sources again and fetching fresh temporary ones. A fetch
 * already in flight is left to finish (its result is fresh). Pending
 * creds_get() callers are not affected. */
void creds_invalidate(struct creds_chain *ch);

/* The current credentials if usable now without waiting, else NULL
 * (nothing fetched yet, or expiring). Valid until control returns to the
 * event loop. */
const struct creds *creds_peek(struct creds_chain *ch);

/* ---- region ------------------------------------------------------------ */

/* The region, first found of: config_region (the config file's key),
 * $AWS_REGION, $AWS_DEFAULT_REGION, the profile's "region" (config file,
 * then credentials file; profile NULL as in the chain), the region field
 * of the first ARN that has one (arn:partition:service:REGION:...).
 * Returns 0 and *out (malloc'd) and, if source is not NULL, a static name
 * of where it came from ("config", "AWS_REGION", "AWS_DEFAULT_REGION",
 * "profile", "arn"); -ENOENT if none; -EINVAL if the value found is not a
 * plausible region name (letters, digits, '-'); -ENOMEM. */
int creds_region_resolve(const char *config_region, const char *profile,
			 const char *const *arns, size_t n_arns, char **out,
			 const char **source);

/* The region field of an ARN into out[cap]; -EINVAL if s is not an ARN
 * with a region, -ENOSPC if it does not fit. */
int creds_region_from_arn(const char *arn, char *out, size_t cap);

#endif
