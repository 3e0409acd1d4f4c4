/* aws.c - the AWS JSON 1.1 protocol (Personalize) over the call engine
 * (aws_engine.c), and what every adapter shares: error codes and their
 * classes, error and reply decoding, endpoints, HTTP dates; see
 * include/aws.h and include/aws-internal.h. */
#include "aws.h"
#include "aws-engine.h"
#include "aws-internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"
#include "creds-internal.h"
#include "strbuf.h"
#include "xml.h"

#define AWS_MAX_CODE_LEN 128
#define AWS_MAX_MESSAGE_LEN 1024

#ifndef PR_VERSION
#define PR_VERSION "unknown"
#endif
/* Sent unsigned (the signer leaves User-Agent out), shown in CloudTrail. */
#define AWS_USER_AGENT "personalize-retrain/" PR_VERSION

#define PERSONALIZE_ENDPOINT_PREFIX "personalize"
#define PERSONALIZE_SIGNING_NAME    "personalize"
#define PERSONALIZE_TARGET_PREFIX   "AmazonPersonalize"
#define PERSONALIZE_ENV_SERVICE_ID  "PERSONALIZE"


/* One JSON 1.1 call: the request the engine hands back to the adapter. */
struct aws_call {
	struct aws_client *client;
	struct aws_engine_call *ec;
	char operation[AWS_MAX_OPERATION_LEN + 1];
	char *body;
	size_t body_len;
	aws_call_done_fn done;
	void *userdata;
	struct aws_wire_request wire;
};

/* ---- names ---------------------------------------------------------------- */

const char *aws_error_class_name(enum aws_error_class c)
{
	switch (c) {
	case AWS_ERR_NONE: return "none";
	case AWS_ERR_THROTTLED: return "throttled";
	case AWS_ERR_TRANSIENT: return "transient";
	case AWS_ERR_UNAVAILABLE: return "unavailable";
	case AWS_ERR_CLIENT: return "client";
	case AWS_ERR_NOT_FOUND: return "not-found";
	case AWS_ERR_ALREADY_EXISTS: return "already-exists";
	case AWS_ERR_IN_USE: return "in-use";
	case AWS_ERR_LIMIT_EXCEEDED: return "limit-exceeded";
	case AWS_ERR_AUTH: return "auth";
	case AWS_ERR_MALFORMED_REPLY: return "malformed-reply";
	case AWS_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

static bool in_list(const char *s, const char *const *list)
{
	if (!s || !*s)
		return false;
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* The SDKs' throttling codes (standard retry mode). */
static const char *const throttling_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded",
	"BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", NULL,
};

static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError",
	"InternalFailure", "InternalServerError", "ServiceUnavailable",
	"ServiceUnavailableException", NULL,
};

static const char *const skew_codes[] = {
	"RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", NULL,
};

/* Codes that are a clock problem only when the message says so. */
static const char *const maybe_skew_codes[] = {
	"InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure",
	NULL,
};

/* Credentials that expired or whose signature was refused for another
 * reason than the clock: fresh ones may be accepted (a rotated key, a
 * token refreshed by its source). */
static const char *const refresh_codes[] = {
	"ExpiredTokenException", "ExpiredToken", "InvalidSignatureException",
	"SignatureDoesNotMatch", NULL,
};

static const char *const auth_codes[] = {
	"UnrecognizedClientException", "InvalidSignatureException",
	"SignatureDoesNotMatch", "IncompleteSignature",
	"IncompleteSignatureException", "InvalidClientTokenId",
	"ExpiredToken", "ExpiredTokenException", "AccessDenied",
	"AccessDeniedException", "MissingAuthenticationToken",
	"MissingAuthenticationTokenException", "NotAuthorized",
	"AuthFailure", "RequestExpired", "RequestTimeTooSkewed",
	"RequestInTheFuture", "InvalidAccessKeyId", "UnauthorizedOperation",
	AWS_CODE_NO_CREDENTIALS, AWS_CODE_CREDENTIALS_MISCONFIGURED, NULL,
};

/* ---- error decoding -------------------------------------------------------- */

bool aws_code_is_no_credentials(const char *code)
{
	return code && (strcmp(code, AWS_CODE_NO_CREDENTIALS) == 0 ||
			strcmp(code, AWS_CODE_CREDENTIALS_MISCONFIGURED) == 0);
}

void aws_normalize_error_code(const char *raw, char *out, size_t size)
{
	const char *s, *e, *p;
	size_t n, i, j;

	if (!out || size == 0)
		return;
	out[0] = '\0';
	if (!raw)
		return;
	s = raw;
	e = raw + strlen(raw);
	/* "ns#Code" -> "Code" (the last '#' wins) */
	for (p = s; p < e; p++)
		if (*p == '#')
			s = p + 1;
	/* "Code:http://internal.amazon.com/coral/..." -> "Code" */
	p = memchr(s, ':', (size_t)(e - s));
	if (p)
		e = p;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	for (i = 0, j = 0; i < n && j + 1 < size; i++)
		if (isgraph((unsigned char)s[i]))
			out[j++] = s[i];
	out[j] = '\0';
}

/* Copy s without control characters, at most max bytes. */
static char *sanitized_dup(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0, i, j;
	char *out;

	if (n > max)
		n = max;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (i = 0, j = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[j++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[j] = '\0';
	return out;
}

/* Signature errors of AWS (and of our emulator) may quote the canonical
 * request and the string to sign, and the canonical request holds the
 * session token when one is signed: cut the message before them, so that
 * nothing secret can reach a log through an error message. */
static void cut_signing_details(char *msg)
{
	static const char *const markers[] = {
		"canonical", "string to sign", "string-to-sign", "stringtosign",
		"x-amz-security-token", "authorization=", "authorization:",
		"credential=", "signature=", NULL,
	};
	const char *const *m;
	bool cut = false;
	char *dot;
	size_t n;

	for (m = markers; *m; m++) {
		char *p = strcasestr(msg, *m);

		if (p) {
			*p = '\0';
			cut = true;
		}
	}
	/* end on the last full sentence before the cut */
	if (cut && (dot = strrchr(msg, '.')))
		dot[1] = '\0';
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\''))
		msg[--n] = '\0';
}

static const char *json_string_member(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int aws_decode_error(const char *error_type_header, const char *body,
		     size_t len, struct aws_error_info *out)
{
	char code[AWS_MAX_CODE_LEN];
	const char *raw_code = NULL, *msg = NULL;
	cJSON *json = NULL;
	struct aws_error_info e = { NULL, NULL };
	int r = -ENOMEM;

	code[0] = '\0';
	if (body && len > 0)
		json = cJSON_ParseWithLength(body, len);
	if (json && !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		json = NULL;
	}
	if (error_type_header)
		aws_normalize_error_code(error_type_header, code, sizeof(code));
	if (!code[0] && json) {
		raw_code = json_string_member(json, "__type");
		if (!raw_code)
			raw_code = json_string_member(json, "code");
		if (!raw_code)
			raw_code = json_string_member(json, "Code");
		aws_normalize_error_code(raw_code, code, sizeof(code));
	}
	if (json) {
		msg = json_string_member(json, "message");
		if (!msg)
			msg = json_string_member(json, "Message");
		if (!msg)
			msg = json_string_member(json, "errorMessage");
	}
	e.code = strdup(code);
	e.message = sanitized_dup(msg ? msg : "", AWS_MAX_MESSAGE_LEN);
	if (!e.code || !e.message)
		goto cleanup;
	cut_signing_details(e.message);
	*out = e;
	e.code = e.message = NULL;
	r = 0;
cleanup:
	aws_error_info_free(&e);
	cJSON_Delete(json);
	return r;
}

int aws_error_info_make(const char *raw_code, const char *message,
			struct aws_error_info *out)
{
	char code[AWS_MAX_CODE_LEN];
	struct aws_error_info e = { NULL, NULL };

	aws_normalize_error_code(raw_code, code, sizeof(code));
	e.code = strdup(code);
	e.message = sanitized_dup(message ? message : "", AWS_MAX_MESSAGE_LEN);
	if (!e.code || !e.message) {
		aws_error_info_free(&e);
		return -ENOMEM;
	}
	cut_signing_details(e.message);
	*out = e;
	return 0;
}

int aws_decode_xml_error(const char *body, size_t len,
			 struct aws_error_info *out)
{
	struct xml_node *root = NULL;
	const struct xml_node *err = NULL;
	int r;

	if (body && len > 0 && xml_parse(body, len, &root) == 0) {
		/* Query: ErrorResponse/Error; S3 and REST-XML: Error */
		if (strcmp(root->name, "Error") == 0)
			err = root;
		else
			err = xml_child(root, "Error");
	}
	r = aws_error_info_make(err ? xml_path_text(err, "Code") : NULL,
				err ? xml_path_text(err, "Message") : NULL,
				out);
	xml_free(root);
	return r;
}

void aws_error_info_free(struct aws_error_info *e)
{
	if (!e)
		return;
	free(e->code);
	free(e->message);
	e->code = e->message = NULL;
}

/* Does content type ct (maybe with "; charset=...") name type? */
static bool media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int aws_decode_reply(const char *content_type, const char *body, size_t len,
		     cJSON **ret, const char **why)
{
	const char *end = NULL;
	cJSON *json;
	size_t i;

	if (content_type && !media_type_is(content_type, AWS_JSON_CONTENT_TYPE) &&
	    !media_type_is(content_type, "application/json")) {
		*why = "reply has an unexpected content type";
		return -EBADMSG;
	}
	if (!body || len == 0) {
		*why = "reply body is empty";
		return -EBADMSG;
	}
	json = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!json) {
		if (!cJSON_GetErrorPtr() && errno == ENOMEM)
			return -ENOMEM;
		*why = "reply is not valid JSON (malformed or truncated)";
		return -EBADMSG;
	}
	for (i = end ? (size_t)(end - body) : len; i < len; i++) {
		if (!isspace((unsigned char)body[i])) {
			cJSON_Delete(json);
			*why = "reply has data after the JSON object";
			return -EBADMSG;
		}
	}
	if (!cJSON_IsObject(json)) {
		cJSON_Delete(json);
		*why = "reply is JSON but not an object";
		return -EBADMSG;
	}
	*ret = json;
	return 0;
}

/* ---- retry decisions --------------------------------------------------------- */

static bool message_says_skew(const char *m)
{
	return m && (strcasestr(m, "signature expired") ||
		     strcasestr(m, "not yet current") ||
		     strcasestr(m, "too skewed") ||
		     strcasestr(m, "clock skew"));
}

enum aws_retry_kind aws_retry_classify(enum http_error transport, long status,
				       const char *code, const char *message)
{
	switch (transport) {
	case HTTP_OK:
		break;
	case HTTP_ERR_TIMEOUT:
		return AWS_RETRY_TIMEOUT;
	case HTTP_ERR_CONNECT:
	case HTTP_ERR_RESET:
	case HTTP_ERR_DNS:
	case HTTP_ERR_TLS:
		return AWS_RETRY_CONNECTION;
	case HTTP_ERR_PROTOCOL:
	case HTTP_ERR_TOO_LARGE:
	case HTTP_ERR_INTERNAL:
		return AWS_RETRY_NO;
	}
	if (status >= 200 && status < 300)
		return AWS_RETRY_NO;
	if (in_list(code, skew_codes) ||
	    (in_list(code, maybe_skew_codes) && message_says_skew(message)))
		return AWS_RETRY_CLOCK_SKEW;
	if (in_list(code, refresh_codes))
		return AWS_RETRY_CREDENTIALS;
	if (in_list(code, throttling_codes) || status == 429)
		return AWS_RETRY_THROTTLING;
	if (in_list(code, transient_codes))
		return AWS_RETRY_TRANSIENT;
	if (status == 500 || status == 502 || status == 503 || status == 504) {
		/* a 5xx with a code that names the caller's fault is not
		 * transient (none known for Personalize, but be safe) */
		return AWS_RETRY_TRANSIENT;
	}
	return AWS_RETRY_NO;
}

enum aws_error_class aws_error_classify(enum http_error transport, long status,
					const char *code)
{
	switch (transport) {
	case HTTP_OK:
		break;
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_CONNECT:
	case HTTP_ERR_RESET:
	case HTTP_ERR_DNS:
	case HTTP_ERR_TLS:
		return AWS_ERR_UNAVAILABLE;
	case HTTP_ERR_PROTOCOL:
	case HTTP_ERR_TOO_LARGE:
		return AWS_ERR_MALFORMED_REPLY;
	case HTTP_ERR_INTERNAL:
		return AWS_ERR_INTERNAL;
	}
	if (status >= 200 && status < 300)
		return AWS_ERR_NONE;
	if (code && *code) {
		if (strcmp(code, "ResourceNotFoundException") == 0)
			return AWS_ERR_NOT_FOUND;
		if (strcmp(code, "ResourceAlreadyExistsException") == 0)
			return AWS_ERR_ALREADY_EXISTS;
		if (strcmp(code, "ResourceInUseException") == 0)
			return AWS_ERR_IN_USE;
		if (strcmp(code, "LimitExceededException") == 0)
			return AWS_ERR_LIMIT_EXCEEDED;
		if (in_list(code, throttling_codes))
			return AWS_ERR_THROTTLED;
		if (in_list(code, auth_codes))
			return AWS_ERR_AUTH;
		if (in_list(code, transient_codes))
			return AWS_ERR_TRANSIENT;
	}
	if (status == 429)
		return AWS_ERR_THROTTLED;
	if (status >= 500)
		return AWS_ERR_TRANSIENT;
	if (status == 401 || status == 403)
		return AWS_ERR_AUTH;
	return AWS_ERR_CLIENT;
}

/* ---- endpoint ---------------------------------------------------------------- */

bool aws_valid_region(const char *r)
{
	size_t n = r ? strlen(r) : 0, i;

	if (n == 0 || n > SIGV4_MAX_SCOPE_PART || r[0] == '-' || r[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)r[i]) ||
		      isdigit((unsigned char)r[i]) || r[i] == '-'))
			return false;
	return true;
}

const char *aws_dns_suffix(const char *region)
{
	if (strncmp(region, "cn-", 3) == 0)
		return "amazonaws.com.cn";
	if (strncmp(region, "us-isob-", 8) == 0)
		return "sc2s.sgov.gov";
	if (strncmp(region, "us-iso-", 7) == 0)
		return "c2s.ic.gov";
	return "amazonaws.com";
}

static bool env_true(const char *name)
{
	const char *v = getenv(name);

	return v && strcasecmp(v, "true") == 0;
}

/* Validate a configured endpoint URL; 0 or -EINVAL. */
static int check_url(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *query = NULL, *frag = NULL;
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto cleanup;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
		goto cleanup;
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		goto cleanup;  /* curl guessed a scheme: be strict */
	r = 0;
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return r;
}

/* The override of 1 to 3 (aws.h), or NULL. */
static const char *configured_override(const char *config_url,
				       const char *env_service_id)
{
	const char *chosen = NULL;
	char envname[96];

	if (config_url && *config_url)
		return config_url;
	if (env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
		return NULL;
	if (env_service_id && *env_service_id) {
		snprintf(envname, sizeof(envname), "AWS_ENDPOINT_URL_%s",
			 env_service_id);
		chosen = getenv(envname);
	}
	if (!chosen || !*chosen)
		chosen = getenv("AWS_ENDPOINT_URL");
	return chosen && *chosen ? chosen : NULL;
}

static int normalized_url(const char *chosen, char **ret)
{
	struct strbuf sb = STRBUF_INIT;
	int r = check_url(chosen);

	if (r < 0)
		return r;
	strbuf_puts(&sb, chosen);
	while (sb.len > 0 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	r = strbuf_error(&sb);
	if (r < 0) {
		strbuf_free(&sb);
		return r;
	}
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

int aws_endpoint_override(const char *config_url, const char *env_service_id,
			  char **ret)
{
	const char *chosen = configured_override(config_url, env_service_id);

	*ret = NULL;
	return chosen ? normalized_url(chosen, ret) : 0;
}

/* "true" (any case) as the SDKs' ensure_boolean reads it. */
static int flag_value(const char *v, bool *out)
{
	*out = v && strcasecmp(v, "true") == 0;
	return 0;
}

int aws_endpoint_variant_get(struct aws_endpoint_variant *v)
{
	struct creds_profile *p = NULL;
	const char *fips = getenv("AWS_USE_FIPS_ENDPOINT");
	const char *ds = getenv("AWS_USE_DUALSTACK_ENDPOINT");
	int r;

	memset(v, 0, sizeof(*v));
	if ((!fips || !*fips) || (!ds || !*ds)) {
		/* the profile's keys where the environment says nothing */
		r = creds_profile_load(NULL, &p);
		if (r < 0 && r != -ENOENT)
			return r;
		if (!fips || !*fips)
			fips = creds_profile_value(p, "use_fips_endpoint");
		if (!ds || !*ds)
			ds = creds_profile_value(p, "use_dualstack_endpoint");
	}
	flag_value(fips, &v->fips);
	flag_value(ds, &v->dualstack);
	creds_profile_free(p);
	return 0;
}

const char *aws_dualstack_dns_suffix(const char *region)
{
	if (strncmp(region, "cn-", 3) == 0)
		return "api.amazonwebservices.com.cn";
	if (strncmp(region, "us-isob-", 8) == 0)
		return "api.aws.scloud";
	if (strncmp(region, "us-iso-", 7) == 0)
		return "api.aws.ic.gov";
	return "api.aws";
}

int aws_default_endpoint(const char *prefix, const char *region,
			 const struct aws_endpoint_variant *v, char **ret)
{
	bool fips = v && v->fips, ds = v && v->dualstack;
	char *u = NULL;
	int n;

	if (!aws_valid_region(region) || !prefix || !*prefix)
		return -EINVAL;
	if (strcmp(prefix, "s3") == 0) {
		/* S3's rules: its own dual-stack names, no FIPS in China */
		if (fips && strncmp(region, "cn-", 3) == 0) {
			log_error("s3: no FIPS endpoint in region %s (the "
				  "partition does not support FIPS): unset "
				  "AWS_USE_FIPS_ENDPOINT / use_fips_endpoint",
				  region);
			return -ENOTSUP;
		}
		n = asprintf(&u, "https://s3%s%s.%s.%s", fips ? "-fips" : "",
			     ds ? ".dualstack" : "", region,
			     aws_dns_suffix(region));
	} else if (strcmp(prefix, "sts") == 0 && fips && !ds &&
		   strncmp(region, "us-gov-", 7) == 0) {
		/* STS's rules: GovCloud's regional endpoints are FIPS */
		n = asprintf(&u, "https://sts.%s.amazonaws.com", region);
	} else {
		n = asprintf(&u, "https://%s%s.%s.%s", prefix,
			     fips ? "-fips" : "", region,
			     ds ? aws_dualstack_dns_suffix(region)
				: aws_dns_suffix(region));
	}
	if (n < 0)
		return -ENOMEM;
	*ret = u;
	return 0;
}

int aws_resolve_endpoint(const char *config_url, const char *env_service_id,
			 const char *endpoint_prefix, const char *region,
			 char **ret)
{
	struct aws_endpoint_variant v;
	const char *chosen = configured_override(config_url, env_service_id);
	int r;

	r = aws_endpoint_variant_get(&v);
	if (r < 0)
		return r;
	if (chosen) {
		/* the endpoint rule sets refuse a custom endpoint with FIPS
		 * or dual-stack */
		if (v.fips || v.dualstack) {
			log_error("%s: FIPS and dual-stack endpoints cannot be "
				  "combined with a custom endpoint URL (%s): unset "
				  "AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT "
				  "or the endpoint", endpoint_prefix, chosen);
			return -EINVAL;
		}
		return normalized_url(chosen, ret);
	}
	return aws_default_endpoint(endpoint_prefix, region, &v, ret);
}

/* Split the endpoint into the Host header, the signed path and the URL. */
static int split_endpoint(struct aws_client *c)
{
	return aws_endpoint_split(c->endpoint, &c->host, &c->path, &c->url);
}

int aws_url_parts(const char *url, char **scheme_out, char **hostport_out,
		  char **path_out)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *out_scheme = NULL, *out_path = NULL;
	struct strbuf hp = STRBUF_INIT;
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;  /* scheme default */
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	strbuf_puts(&hp, host);
	if (port)
		strbuf_printf(&hp, ":%s", port);
	out_scheme = strdup(scheme);
	out_path = strdup(path ? path : "");
	r = -ENOMEM;
	if (strbuf_error(&hp) < 0 || !out_scheme || !out_path)
		goto cleanup;
	*hostport_out = strbuf_detach(&hp);
	if (!*hostport_out)
		goto cleanup;
	*scheme_out = out_scheme;
	*path_out = out_path;
	out_scheme = out_path = NULL;
	r = 0;
cleanup:
	free(out_scheme);
	free(out_path);
	strbuf_free(&hp);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return r;
}

int aws_endpoint_split(const char *endpoint, char **host_out, char **path_out,
		       char **url_out)
{
	char *scheme = NULL, *host = NULL, *path = NULL, *url = NULL;
	struct strbuf sb = STRBUF_INIT;
	int r = aws_url_parts(endpoint, &scheme, &host, &path);

	if (r < 0)
		return r;
	free(scheme);
	/* POST to the endpoint's path, or "/" */
	strbuf_puts(&sb, endpoint);
	if (!*path || strcmp(path, "/") == 0)
		strbuf_putc(&sb, '/');
	if (strbuf_error(&sb) == 0)
		url = strbuf_detach(&sb);
	strbuf_free(&sb);
	if (!*path) {
		free(path);
		path = strdup("/");
	}
	if (!url || !path) {
		free(host);
		free(path);
		free(url);
		return -ENOMEM;
	}
	*host_out = host;
	*path_out = path;
	*url_out = url;
	return 0;
}

/* ---- dates ----------------------------------------------------------------------- */

int aws_parse_http_date(const char *s, time_t *ret)
{
	static const char *const formats[] = {
		"%a, %d %b %Y %H:%M:%S GMT",  /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT",  /* RFC 850 */
		"%a %b %e %H:%M:%S %Y",       /* asctime */
		NULL,
	};
	const char *const *f;
	struct tm tm;
	time_t t;

	if (!s)
		return -EINVAL;
	for (f = formats; *f; f++) {
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, *f, &tm);
		if (!end)
			continue;
		while (*end == ' ')
			end++;
		if (*end)
			continue;
		t = timegm(&tm);
		if (t == (time_t)-1)
			return -EINVAL;
		*ret = t;
		return 0;
	}
	return -EINVAL;
}

/* ---- client ---------------------------------------------------------------------- */

static int static_get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	ready(0, impl, ctx);
	return 0;
}

void aws_creds_provider_static(struct aws_creds_provider *p,
			       const struct sigv4_credentials *creds)
{
	memset(p, 0, sizeof(*p));
	p->get = static_get;
	p->impl = (void *)(uintptr_t)creds;
}

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s && *s ? s : dflt);
}

int aws_client_new(sd_event *event, struct http_client *http,
		   const struct aws_client_config *cfg,
		   const struct aws_creds_provider *creds,
		   struct aws_client **ret)
{
	struct aws_client *c = NULL;
	struct aws_engine_config ec;
	int r = -EINVAL;

	if (!event || !http || !cfg || !creds || !creds->get || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ec = AWS_ENGINE_CONFIG("aws", cfg);
	r = aws_engine_new(event, http, &ec, creds, &c->engine);
	if (r < 0)
		goto cleanup;
	r = -EINVAL;
	if (!aws_valid_region(cfg->region)) {
		log_error("aws: region \"%s\" is not a valid region name",
			  cfg->region ? cfg->region : "");
		goto cleanup;
	}
	r = -ENOMEM;
	c->region = strdup(cfg->region);
	c->signing_name = dup_or(cfg->signing_name, PERSONALIZE_SIGNING_NAME);
	c->target_prefix = dup_or(cfg->target_prefix, PERSONALIZE_TARGET_PREFIX);
	if (!c->region || !c->signing_name || !c->target_prefix)
		goto cleanup;
	r = aws_resolve_endpoint(cfg->endpoint_url,
				 cfg->env_service_id ? cfg->env_service_id :
				 PERSONALIZE_ENV_SERVICE_ID,
				 cfg->endpoint_prefix ? cfg->endpoint_prefix :
				 PERSONALIZE_ENDPOINT_PREFIX,
				 c->region, &c->endpoint);
	if (r == -EINVAL)
		log_error("aws: the endpoint URL (EndpointUrl, "
			  "AWS_ENDPOINT_URL_%s or AWS_ENDPOINT_URL) must be "
			  "http(s)://host[:port][/path] without query",
			  cfg->env_service_id ? cfg->env_service_id :
			  PERSONALIZE_ENV_SERVICE_ID);
	if (r < 0)
		goto cleanup;
	r = split_endpoint(c);
	if (r < 0)
		goto cleanup;
	log_debug("aws: endpoint %s, region %s, max attempts %u", c->endpoint,
		  c->region, aws_engine_retrier(c->engine)->max_attempts);
	*ret = c;
	c = NULL;
	r = 0;
cleanup:
	aws_client_free(c);
	return r;
}

struct aws_client *aws_client_free(struct aws_client *c)
{
	if (!c)
		return NULL;
	/* cancels every call: each one's request freed by json_req_free() */
	aws_engine_free(c->engine);
	free(c->region);
	free(c->endpoint);
	free(c->host);
	free(c->url);
	free(c->path);
	free(c->signing_name);
	free(c->target_prefix);
	free(c);
	return NULL;
}

void aws_client_set_metrics_hook(struct aws_client *c, aws_metrics_fn fn,
				 void *userdata)
{
	aws_engine_set_metrics_hook(c->engine, fn, userdata);
}

/* ---- building a request ----------------------------------------------------------- */

static bool valid_operation(const char *op)
{
	size_t n = op ? strlen(op) : 0, i;

	if (n == 0 || n > AWS_MAX_OPERATION_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)op[i]))
			return false;
	return true;
}

int aws_client_build_request(struct aws_client *c, const char *operation,
			     const char *body, size_t body_len,
			     const struct sigv4_credentials *creds,
			     struct aws_wire_request *w)
{
	struct sigv4_header sh[3];
	struct sigv4_request req;
	size_t i;
	int r, n;

	if (!valid_operation(operation))
		return -EINVAL;
	n = snprintf(w->target, sizeof(w->target), "%s.%s", c->target_prefix,
		     operation);
	if (n < 0 || (size_t)n >= sizeof(w->target))
		return -EINVAL;
	sh[0] = (struct sigv4_header){ "Host", c->host };
	sh[1] = (struct sigv4_header){ "Content-Type", AWS_JSON_CONTENT_TYPE };
	sh[2] = (struct sigv4_header){ "X-Amz-Target", w->target };
	req = (struct sigv4_request){
		.method = "POST", .path = c->path, .query = NULL,
		.headers = sh, .n_headers = 3,
		.body = body, .body_len = body_len,
	};
	r = sigv4_sign(aws_engine_signer(c->engine), creds, c->region,
		       c->signing_name,
		       aws_retrier_signing_time(aws_engine_retrier(c->engine)),
		       SIGV4_FLAGS_DEFAULT, &req, &w->sig);
	if (r < 0)
		return r;
	for (i = 0; i < 3; i++)
		w->headers[i] = (struct http_header){ sh[i].name, sh[i].value };
	w->headers[3] = (struct http_header){ "User-Agent", AWS_USER_AGENT };
	for (i = 0; i < w->sig.n_headers && 4 + i < AWS_MAX_REQUEST_HEADERS; i++)
		w->headers[4 + i] = (struct http_header){
			w->sig.headers[i].name, w->sig.headers[i].value };
	w->n_headers = 4 + i;
	return 0;
}

void aws_wire_request_free(struct aws_wire_request *w)
{
	if (!w)
		return;
	sigv4_output_free(&w->sig);
	explicit_bzero(w->headers, sizeof(w->headers));
	w->n_headers = 0;
}

/* ---- the JSON 1.1 protocol ---------------------------------------------------------- */

static int json_build(void *req, const struct sigv4_credentials *creds,
		      time_t now, struct http_request_spec *spec)
{
	struct aws_call *call = req;
	struct aws_client *c = call->client;
	int r;

	/* the engine's signing time is the client's: the wire request reads
	 * it from the same retrier */
	(void)now;
	if (!creds)
		return -EINVAL;
	r = aws_client_build_request(c, call->operation, call->body,
				     call->body_len, creds, &call->wire);
	if (r < 0)
		return r;
	spec->method = "POST";
	spec->url = c->url;
	spec->headers = call->wire.headers;
	spec->n_headers = call->wire.n_headers;
	spec->body = call->body;
	spec->body_len = call->body_len;
	return 0;
}

static void json_wipe(void *req)
{
	struct aws_call *call = req;

	aws_wire_request_free(&call->wire);
}

static int json_decode_reply(void *req, const struct http_response *resp,
			     void **reply, const char **why)
{
	cJSON *j = NULL;
	int r;

	(void)req;
	r = aws_decode_reply(resp->content_type, resp->body, resp->body_len,
			     &j, why);
	if (r == 0)
		*reply = j;
	return r;
}

static void json_free_reply(void *reply)
{
	cJSON_Delete(reply);
}

static int json_decode_error(const struct http_response *resp,
			     struct aws_error_info *out)
{
	return aws_decode_error(resp->error_type, resp->body, resp->body_len,
				out);
}

static const struct aws_protocol json_protocol = {
	.name = "json-1.1",
	.build = json_build,
	.wipe = json_wipe,
	.decode_reply = json_decode_reply,
	.free_reply = json_free_reply,
	.decode_error = json_decode_error,
};

/* Operations that are not safe to repeat after an attempt that may have
 * run: a second UpdateCampaign starts a second deployment. Creates are
 * safe (a repeat is refused as ResourceAlreadyExists, by name). */
static const char *const non_idempotent_ops[] = { "UpdateCampaign", NULL };

int aws_operation_idempotent(const char *operation)
{
	return in_list(operation, non_idempotent_ops) ? 0 : 1;
}

static void json_req_free(void *req)
{
	struct aws_call *call = req;

	aws_wire_request_free(&call->wire);
	free(call->body);
	free(call);
}

static void json_done(const struct aws_engine_result *er, void *userdata)
{
	struct aws_call *call = userdata;
	struct aws_result res = {
		.error = er->error,
		.operation = call->operation,
		.http_status = er->status,
		.transport = er->transport,
		.code = er->error == AWS_ERR_NONE ? NULL : er->code,
		.message = er->error == AWS_ERR_NONE ? NULL : er->message,
		.request_id = er->request_id,
		.reply = er->reply,
		.attempts = er->attempts,
		.elapsed_usec = er->elapsed_usec,
	};

	call->done(&res, call->userdata);
}

int aws_call(struct aws_client *c, const char *operation, const cJSON *body,
	     aws_call_done_fn done, void *userdata, struct aws_call **ret)
{
	struct aws_engine_call_spec spec;
	struct aws_call *call;
	int r;

	if (!c || !done || !valid_operation(operation) ||
	    (body && !cJSON_IsObject(body)))
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->wire = (struct aws_wire_request)AWS_WIRE_REQUEST_INIT;
	snprintf(call->operation, sizeof(call->operation), "%s", operation);
	call->done = done;
	call->userdata = userdata;
	call->client = c;
	call->body = body ? cJSON_PrintUnformatted(body) : strdup("{}");
	if (!call->body) {
		json_req_free(call);
		return -ENOMEM;
	}
	call->body_len = strlen(call->body);
	spec = (struct aws_engine_call_spec){
		.proto = &json_protocol, .req = call, .req_free = json_req_free,
		.operation = call->operation,
		.non_idempotent = aws_operation_idempotent(operation) == 0,
		.done = json_done, .userdata = call,
	};
	r = aws_engine_start(c->engine, &spec, &call->ec);
	if (r == 0 && ret)
		*ret = call;
	return r;
}

void aws_call_cancel(struct aws_call *call)
{
	if (call)
		aws_engine_call_cancel(call->ec);  /* frees call */
}
