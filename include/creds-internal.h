/* creds-internal.h - the credential providers and parsers behind creds.h,
 * shared by src/creds*.c, the unit tests and the fuzz harness. Not for
 * other modules. */
#ifndef PR_CREDS_INTERNAL_H
#define PR_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <systemd/sd-event.h>

#include "aws.h"
#include "creds.h"
#include "http.h"
#include "strbuf.h"

#define CREDS_SOURCE_ENV        "environment"
#define CREDS_SOURCE_SYSTEMD    "systemd-credentials"
#define CREDS_SOURCE_CRED_FILE  "shared-credentials-file"
#define CREDS_SOURCE_PROCESS    "credential-process"
#define CREDS_SOURCE_CONFIG     "shared-config-file"
#define CREDS_SOURCE_CONTAINER  "container"
#define CREDS_SOURCE_IMDS       "imds"
#define CREDS_SOURCE_ASSUME_ROLE "assume-role"
#define CREDS_SOURCE_WEB_IDENTITY "web-identity"
#define CREDS_SOURCE_SSO        "sso"

#define CREDS_MAX_ROLE_CHAIN 16   /* roles in one source_profile chain */

/* ---- synchronous providers ----------------------------------------------
 * Each returns 0 and *out, -ENOENT when the source is not configured (the
 * chain moves on), or another -errno when it is configured but unusable
 * (the chain stops; the reason is logged). */

int creds_from_env(struct creds **out);
int creds_from_systemd(struct creds **out);

/* The shared files for profile (NULL: $AWS_PROFILE or "default").
 * 0 with *out for static keys; 0 with *process (malloc'd command; wipe it
 * before freeing, its arguments may be secret) when the profile's
 * credentials come from credential_process; -ENOENT. */
int creds_from_profile(const char *profile, struct creds **out,
		       char **process);

/* The profile's "region" (config file, then credentials file) into *out;
 * -ENOENT if none. */
int creds_profile_region(const char *profile, char **out);

/* Every key of one profile, both files merged (the credentials file's
 * value of a key over the config file's, as the SDKs merge them). name
 * NULL: $AWS_PROFILE or "default". Values are wiped on free. */
struct creds_profile;
int creds_profile_load(const char *name, struct creds_profile **out);
/* The [sso-session NAME] section of the config file. */
int creds_sso_session_load(const char *name, struct creds_profile **out);
void creds_profile_free(struct creds_profile *p);
/* The value of key (case-insensitive), NULL when absent. */
const char *creds_profile_value(const struct creds_profile *p,
				const char *key);
bool creds_profile_found(const struct creds_profile *p);
const char *creds_profile_name(const struct creds_profile *p);

/* ---- parsers (fuzzed) ---------------------------------------------------- */

/* One "key = value" of section; section and key already trimmed, value
 * trimmed and without inline comment; line is 1-based. Return 0 to go on,
 * < 0 to stop (returned by creds_ini_parse). section is "" before the
 * first header. */
typedef int (*creds_ini_fn)(const char *section, const char *key,
			    const char *value, unsigned line, void *userdata);

/* Parse text[0..len) in place (NULs are written into it; text need not be
 * NUL-terminated). Malformed lines (no '=', unterminated section header)
 * are skipped with a LOG_DEBUG note naming file and line (name may be
 * NULL). Returns 0 or the callback's error. */
int creds_ini_parse(char *text, size_t len, const char *name,
		    creds_ini_fn fn, void *userdata);

/* Profile name a section header denotes: in the config file "default",
 * "profile NAME" (any blanks after "profile"); in the credentials file the
 * name itself. NULL if the section is not a profile. Points into section. */
const char *creds_ini_profile_name(const char *section, bool config_file);


/* Parse credential_process output (Version 1 JSON). Returns 0 and *out;
 * -EINVAL with the reason logged (never a value). */
int creds_parse_process_json(const char *text, size_t len, struct creds **out);

/* Parse a container or IMDS credentials document (AccessKeyId,
 * SecretAccessKey, Token, Expiration; IMDS also "Code": "Success").
 * source is CREDS_SOURCE_CONTAINER or CREDS_SOURCE_IMDS. */
int creds_parse_http_json(const char *text, size_t len, const char *source,
			  struct creds **out);

/* RFC 3339 / ISO 8601 UTC time ("2024-05-01T12:00:00Z", fractional
 * seconds and "+hh:mm" offsets accepted) to time_t; -EINVAL. */
int creds_parse_time(const char *s, time_t *out);

/* Overwrite every string value in a cJSON tree, before cJSON_Delete, so
 * that no copy of a secret outlives it in freed memory. */
void creds_json_wipe(cJSON *j);

/* Wipe a secret string (OPENSSL_cleanse) and free it. NULL is fine. */
void creds_free_secret(char *s);

/* Read a whole small file (at most CREDS_MAX_FILE_BYTES) into sb.
 * -ENOENT, -EFBIG, -errno. sb is freed securely by the caller. */
int creds_read_file(const char *path, struct strbuf *sb);

/* ---- asynchronous providers ----------------------------------------------
 * A job delivers its result once, from the event loop: error 0 and c (the
 * receiver owns it), or error < 0 and NULL. After done returns the job is
 * gone. Cancelling a job (before done) frees it without a callback. */

typedef void (*creds_job_done_fn)(int error, struct creds *c,
				  void *userdata);

struct creds_job {
	void (*cancel)(struct creds_job *job);
};

static inline void creds_job_cancel(struct creds_job *job)
{
	if (job)
		job->cancel(job);
}

/* A job whose result is delivered from the loop, never from inside the
 * callback of the client that produced it (which may not free the client
 * there). The job embeds it first; release() frees the job's own parts
 * (not the job itself). */
struct creds_deferred {
	struct creds_job base;
	sd_event *event;
	creds_job_done_fn done;
	void *userdata;
	void (*release)(struct creds_deferred *d);
	const char *name;          /* the event source's description */
	sd_event_source *finish;
	int error;
	struct creds *result;
};

/* Set d up (a reference on event; base.cancel frees the job). */
void creds_deferred_init(struct creds_deferred *d, sd_event *event,
			 creds_job_done_fn done, void *userdata,
			 void (*release)(struct creds_deferred *d),
			 const char *name);
/* Deliver (error, c) from the loop, then free the job; c passes to the
 * receiver. Where the loop cannot take it, done is called at once and the
 * job stays until it is freed. */
void creds_deferred_finish(struct creds_deferred *d, int error,
			   struct creds *c);
/* release(), then the common parts and the job itself. NULL is fine. */
void creds_deferred_free(struct creds_deferred *d);

/* The outcome of an STS or SSO call that returns credentials: on error
 * (the caller has logged it) -EACCES when the service refused the call
 * (AWS_ERR_AUTH, AWS_ERR_CLIENT), else -EIO; on success creds_new() of
 * the keys with source. */
int creds_call_result(enum aws_error_class error, const char *access_key_id,
		      const char *secret_access_key, const char *session_token,
		      time_t expiration, const char *source,
		      struct creds **out);
/* What to log of a failed call: its message, else its class's name. */
const char *creds_call_message(const char *message,
			       enum aws_error_class error);

/* Run a credential_process command. Returns 0 and *job; -EINVAL (bad
 * command), -errno (spawn failed). */
int creds_process_start(sd_event *event, const char *command,
			creds_job_done_fn done, void *userdata,
			struct creds_job **job);

/* Container credentials. -ENOENT when neither URI variable is set;
 * -EINVAL when misconfigured (a FULL_URI host not allowed, an unreadable
 * token file, a token holding CR/LF). */
int creds_container_start(struct http_client *http, creds_job_done_fn done,
			  void *userdata, struct creds_job **job);

/* IMDSv2. -ENOENT when AWS_EC2_METADATA_DISABLED is true. A metadata
 * service that does not answer ends the job with -ENOKEY (nothing there). */
int creds_imds_start(struct http_client *http, creds_job_done_fn done,
		     void *userdata, struct creds_job **job);

/* ---- assume role and web identity -------------------------------------- */

/* Where the first credentials of an assume-role chain come from. */
enum creds_base {
	CREDS_BASE_STATIC,        /* keys of the source profile */
	CREDS_BASE_PROCESS,       /* the source profile's credential_process */
	CREDS_BASE_ENV,           /* credential_source = Environment */
	CREDS_BASE_IMDS,          /* credential_source = Ec2InstanceMetadata */
	CREDS_BASE_CONTAINER,     /* credential_source = EcsContainer */
	CREDS_BASE_WEB_IDENTITY,  /* the source profile's web identity */
};

struct creds_role_hop {
	char *profile;            /* whose role_arn this is */
	char *role_arn;
	char *external_id;        /* NULL: none */
	char *session_name;       /* role_session_name or the SDKs' default */
	unsigned duration;        /* duration_seconds; 0: STS's default */
};

/* How to get a profile's assume-role credentials: the base, then each
 * hop's AssumeRole in order (the innermost source_profile's role first). */
struct creds_role_plan {
	enum creds_base base;
	struct creds *base_creds;   /* STATIC */
	char *process;              /* PROCESS (secret: wiped) */
	char *token_file;           /* WEB_IDENTITY */
	char *web_role_arn;
	char *web_session_name;
	char *base_profile;         /* the profile the base is named in */
	struct creds_role_hop hops[CREDS_MAX_ROLE_CHAIN];
	size_t n_hops;
	char *region;               /* STS region; NULL: the global endpoint */
	char *regional_endpoints;   /* the profile's sts_regional_endpoints */
};

/* The plan for profile (NULL: $AWS_PROFILE or "default"), read from the
 * shared files. -ENOENT when the profile does not assume a role (no
 * role_arn, or role_arn with web_identity_token_file); -EINVAL when it is
 * misconfigured (logged: a cycle names its profiles; mfa_serial is
 * refused); -ENOMEM. */
int creds_role_plan_new(const char *profile, struct creds_role_plan **out);
void creds_role_plan_free(struct creds_role_plan *p);

/* Run a plan (plan borrowed: it must outlive the job). -EINVAL without
 * http or when the base is not there (logged). */
int creds_role_start(sd_event *event, struct http_client *http,
		     const struct creds_role_plan *plan,
		     creds_job_done_fn done, void *userdata,
		     struct creds_job **job);

/* ---- SSO ----------------------------------------------------------------- */

/* An SSO profile (sso_account_id or sso_role_name present), resolved
 * through its [sso-session NAME] or the legacy sso_start_url/sso_region
 * keys. -ENOENT when the profile does not use SSO; -EINVAL (missing or
 * conflicting keys: logged). */
struct creds_sso_config {
	char *profile;
	char *session;      /* NULL: the legacy form */
	char *start_url;
	char *region;
	char *account_id;
	char *role_name;
};
int creds_sso_config_new(const char *profile, struct creds_sso_config **out);
void creds_sso_config_free(struct creds_sso_config *s);
/* Where `aws sso login` caches the token: $HOME/.aws/sso/cache/ + the
 * SHA-1 (hex) of the session name, or of the start URL without one. */
int creds_sso_cache_path(const char *session, const char *start_url,
			 char **out);
/* Read the cached token now and call GetRoleCredentials. -EACCES when the
 * token is missing or expired (logged: run `aws sso login --profile P`). */
int creds_sso_start(sd_event *event, struct http_client *http,
		    const struct creds_sso_config *s, creds_job_done_fn done,
		    void *userdata, struct creds_job **job);

/* AssumeRoleWithWebIdentity (unsigned) with the token read from
 * token_file now (re-read at every start: EKS rotates it). region and
 * regional_endpoints as for the STS client. -EINVAL (the token file is
 * unreadable or empty: logged without its content). */
/* Web identity as configured (env variables each over the profile's key,
 * see creds.h). -ENOENT when no token file is set; -EINVAL (a token file
 * without a role: logged). */
struct creds_webid_config {
	char *token_file;
	char *role_arn;
	char *session_name;         /* given, or the SDKs' default */
	char *region;               /* NULL: the global endpoint */
	char *regional_endpoints;
};
int creds_webid_config_new(const char *profile,
			   struct creds_webid_config **out);
void creds_webid_config_free(struct creds_webid_config *w);

int creds_web_identity_start(sd_event *event, struct http_client *http,
			     const char *token_file, const char *role_arn,
			     const char *session_name, const char *region,
			     const char *regional_endpoints,
			     creds_job_done_fn done, void *userdata,
			     struct creds_job **job);

#endif
