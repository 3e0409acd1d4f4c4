/* emu_sts.c - the emulator's AWS STS: the Query protocol (a form-encoded
 * POST, XML replies) for AssumeRole, AssumeRoleWithWebIdentity and
 * GetCallerIdentity. Temporary credentials minted here go into the same
 * store the signature check reads, with the assumed role as their
 * identity, and expire like those of IMDS and the container endpoint.
 * Replies follow the STS model (tests/data/sts/service-2.json). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "emu.h"

#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_SERVICE "sts"
#define STS_DEFAULT_DURATION 3600

struct form {
	char *names[32];
	char *values[32];
	size_t n;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static char *decode(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t i, j = 0;

	if (!o)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			o[j++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			o[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			o[j++] = s[i];
		}
	}
	o[j] = '\0';
	return o;
}

static void form_free(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->names[i]);
		free(f->values[i]);
	}
	f->n = 0;
}

static void form_parse(const char *body, size_t len, struct form *f)
{
	size_t i = 0;

	while (i < len && f->n < 32) {
		size_t e = i, eq;

		while (e < len && body[e] != '&')
			e++;
		for (eq = i; eq < e && body[eq] != '='; eq++)
			;
		if (eq > i) {
			f->names[f->n] = decode(body + i, eq - i);
			f->values[f->n] = eq < e ? decode(body + eq + 1, e - eq - 1)
						 : strdup("");
			if (f->names[f->n] && f->values[f->n])
				f->n++;
			else {
				free(f->names[f->n]);
				free(f->values[f->n]);
			}
		}
		i = e + 1;
	}
}

static const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->names[i], name))
			return f->values[i];
	return NULL;
}

bool emu_sts_is_query(const char *method, const char *content_type,
		      const char *body, size_t len)
{
	if (!method || strcmp(method, "POST") || !content_type ||
	    strncasecmp(content_type, "application/x-www-form-urlencoded", 33))
		return false;
	return body && len >= 7 && (!strncmp(body, "Action=", 7) ||
				    memmem(body, len, "&Action=", 8));
}

static void set_error(struct emu_sts_result *out, int status, const char *code,
		      const char *msg, const char *rid)
{
	out->status = status;
	out->error = code;
	free(out->body);
	out->body = emu_strdup_printf(
		"<ErrorResponse xmlns=\"" STS_NS "\"><Error><Type>%s</Type>"
		"<Code>%s</Code><Message>%s</Message></Error>"
		"<RequestId>%s</RequestId></ErrorResponse>",
		status >= 500 ? "Receiver" : "Sender", code, msg, rid);
}

static void random_text(struct emu_rng *ids, char *out, size_t n,
			const char *alphabet)
{
	size_t al = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[emu_rng_next(ids) % al];
	out[n] = '\0';
}

/* arn:aws:iam::ACCOUNT:role/NAME (path allowed): the account and the name. */
static bool parse_role_arn(const char *arn, char account[13], const char **name)
{
	const char *p;

	if (!arn || strncmp(arn, "arn:aws", 7))
		return false;
	p = strstr(arn, ":iam::");
	if (!p || strlen(p + 6) < 13 || p[18] != ':' ||
	    strncmp(p + 19, "role/", 5))
		return false;
	for (int i = 0; i < 12; i++)
		if (!isdigit((unsigned char)p[6 + i]))
			return false;
	memcpy(account, p + 6, 12);
	account[12] = '\0';
	*name = strrchr(p + 19, '/') + 1;
	return **name != '\0';
}

static bool valid_session_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@-_", s[i]))
			return false;
	return true;
}

/* Looks like a JWT: three base64url parts. */
static bool jwt_shaped(const char *t)
{
	int dots = 0;

	if (!t || !*t)
		return false;
	for (; *t; t++) {
		if (*t == '.')
			dots++;
		else if (!isalnum((unsigned char)*t) && *t != '-' && *t != '_' &&
			 *t != '=')
			return false;
	}
	return dots == 2;
}

static void assume(const struct form *f, bool web, struct emu_creds *c,
		   struct emu_rng *ids, int64_t now_ms, int64_t ttl_s,
		   const char *rid, struct emu_sts_result *out)
{
	const char *role = form_get(f, "RoleArn");
	const char *session = form_get(f, "RoleSessionName");
	const char *dur = form_get(f, "DurationSeconds");
	const char *ext = form_get(f, "ExternalId");
	const char *token = form_get(f, "WebIdentityToken");
	const char *name = NULL;
	char account[13], akid[21], secret[41], tok[161], exp[32], roleid[22];
	char *arn;
	long duration = STS_DEFAULT_DURATION;
	int64_t lifetime_s;

	if (!parse_role_arn(role, account, &name)) {
		set_error(out, 400, "ValidationError",
			  "1 validation error detected: Value at 'roleArn' failed to satisfy constraint", rid);
		return;
	}
	if (!valid_session_name(session)) {
		set_error(out, 400, "ValidationError",
			  "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint", rid);
		return;
	}
	if (dur) {
		char *end;

		duration = strtol(dur, &end, 10);
		if (*end || duration < 900 || duration > 43200) {
			set_error(out, 400, "ValidationError",
				  "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", rid);
			return;
		}
	}
	cJSON_AddStringToObject(out->params, "RoleArn", role);
	cJSON_AddStringToObject(out->params, "RoleSessionName", session);
	if (dur)
		cJSON_AddNumberToObject(out->params, "DurationSeconds", (double)duration);
	if (ext)
		cJSON_AddStringToObject(out->params, "ExternalId", ext);
	/* roles named deny-* refuse everyone; ext-* want an ExternalId */
	if (!strncmp(name, "deny-", 5) ||
	    (!web && !strncmp(name, "ext-", 4) && (!ext || !*ext))) {
		set_error(out, 403, "AccessDenied",
			  "User is not authorized to perform: sts:AssumeRole", rid);
		return;
	}
	if (web) {
		unsigned char h[SHA256_DIGEST_LENGTH];
		char hex[17];

		if (!jwt_shaped(token)) {
			set_error(out, 400, "InvalidIdentityToken",
				  "Couldn't retrieve verification key from your identity provider", rid);
			return;
		}
		/* the ledger tells tokens apart without holding one */
		SHA256((const unsigned char *)token, strlen(token), h);
		for (int i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", h[i]);
		cJSON_AddStringToObject(out->params, "WebIdentityTokenSha256", hex);
	}
	memcpy(akid, "ASIA", 4);
	random_text(ids, akid + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	random_text(ids, secret, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	random_text(ids, tok, 160, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	memcpy(roleid, "AROA", 4);
	random_text(ids, roleid + 4, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	lifetime_s = duration < ttl_s || ttl_s <= 0 ? duration : ttl_s;
	arn = emu_strdup_printf("arn:aws:sts::%s:assumed-role/%s/%s", account,
				name, session);
	if (!arn || emu_creds_add(c, akid, secret, tok, now_ms + lifetime_s * 1000) < 0 ||
	    emu_creds_set_arn(c, akid, arn) < 0) {
		free(arn);
		set_error(out, 500, "InternalFailure", "out of memory", rid);
		return;
	}
	emu_iso8601(now_ms + lifetime_s * 1000, exp);
	cJSON_AddStringToObject(out->params, "AssumedRoleArn", arn);
	cJSON_AddStringToObject(out->params, "IssuedAccessKeyId", akid);
	out->status = 200;
	out->body = emu_strdup_printf(
		"<%sResponse xmlns=\"" STS_NS "\"><%sResult>"
		"%s<AssumedRoleUser><AssumedRoleId>%s:%s</AssumedRoleId>"
		"<Arn>%s</Arn></AssumedRoleUser><Credentials>"
		"<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
		"<SessionToken>%s</SessionToken><Expiration>%s</Expiration>"
		"</Credentials></%sResult><ResponseMetadata><RequestId>%s</RequestId>"
		"</ResponseMetadata></%sResponse>",
		out->operation, out->operation,
		web ? "<SubjectFromWebIdentityToken>system:serviceaccount:emulator</SubjectFromWebIdentityToken>" : "",
		roleid, session, arn, akid, secret, tok, exp, out->operation, rid,
		out->operation);
	free(arn);
}

void emu_sts_handle(const struct emu_http_req *req, struct emu_creds *c,
		    struct emu_rng *ids, int64_t now_ms, int64_t ttl_s,
		    const char *request_id, struct emu_sts_result *out)
{
	struct form f = { .n = 0 };
	const char *action, *version, *auth;
	struct emu_reply reply = { 0 };
	char region[64] = "us-east-1";

	memset(out, 0, sizeof(*out));
	out->operation = "Sts";
	out->params = cJSON_CreateObject();
	form_parse(req->body, req->body_len, &f);
	action = form_get(&f, "Action");
	version = form_get(&f, "Version");
	if (!action || (strcmp(action, "AssumeRole") &&
			strcmp(action, "AssumeRoleWithWebIdentity") &&
			strcmp(action, "GetCallerIdentity"))) {
		set_error(out, 400, "InvalidAction",
			  "Could not find operation for this action", request_id);
		goto done;
	}
	out->operation = !strcmp(action, "AssumeRole") ? "AssumeRole" :
			 !strcmp(action, "GetCallerIdentity") ? "GetCallerIdentity" :
			 "AssumeRoleWithWebIdentity";
	if (!version || strcmp(version, "2011-06-15")) {
		set_error(out, 400, "InvalidParameterValue",
			  "Version must be 2011-06-15", request_id);
		goto done;
	}
	if (strcmp(out->operation, "AssumeRoleWithWebIdentity")) {
		/* the signing region is whatever the scope names */
		auth = emu_req_header(req, "Authorization");
		if (auth) {
			const char *p = strstr(auth, "Credential=");
			const char *s1 = p ? strchr(p, '/') : NULL;
			const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
			const char *s3 = s2 ? strchr(s2 + 1, '/') : NULL;

			if (s3 && (size_t)(s3 - s2 - 1) < sizeof(region)) {
				memcpy(region, s2 + 1, (size_t)(s3 - s2 - 1));
				region[s3 - s2 - 1] = '\0';
			}
		}
		out->sig_checked = true;
		if (emu_sigv4_verify(req, c, region, STS_SERVICE, now_ms / 1000,
				     &reply, &out->akid) < 0) {
			const char *code = reply.error ? reply.error : "AccessDenied";

			/* STS's names for the signature checker's errors */
			if (!strcmp(code, "InvalidSignatureException"))
				code = "SignatureDoesNotMatch";
			else if (!strcmp(code, "ExpiredTokenException"))
				code = "ExpiredToken";
			else if (!strcmp(code, "UnrecognizedClientException"))
				code = "InvalidClientTokenId";
			else if (!strcmp(code, "MissingAuthenticationTokenException"))
				code = "MissingAuthenticationToken";
			set_error(out, 403, code, "The request was refused",
				  request_id);
			goto done;
		}
		out->sig_ok = true;
	}
	if (!strcmp(out->operation, "GetCallerIdentity")) {
		const struct emu_cred *cr = out->akid ? emu_creds_find(c, out->akid) : NULL;
		const char *arn = cr && cr->arn ? cr->arn : EMU_DEFAULT_IDENTITY;
		char account[13] = EMU_DEFAULT_ACCOUNT;
		const char *a = strstr(arn, "::");

		if (a && strlen(a) > 14 && a[14] == ':') {
			memcpy(account, a + 2, 12);
			account[12] = '\0';
		}
		cJSON_AddStringToObject(out->params, "Arn", arn);
		out->status = 200;
		out->body = emu_strdup_printf(
			"<GetCallerIdentityResponse xmlns=\"" STS_NS "\">"
			"<GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId>"
			"<Account>%s</Account></GetCallerIdentityResult>"
			"<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>"
			"</GetCallerIdentityResponse>", arn,
			out->akid ? out->akid : "", account, request_id);
		goto done;
	}
	assume(&f, !strcmp(out->operation, "AssumeRoleWithWebIdentity"), c,
	       ids, now_ms, ttl_s, request_id, out);
done:
	emu_reply_clear(&reply);
	form_free(&f);
	if (!out->body)
		set_error(out, 500, "InternalFailure", "out of memory", request_id);
}

void emu_sts_result_free(struct emu_sts_result *r)
{
	free(r->body);
	free(r->akid);
	cJSON_Delete(r->params);
	memset(r, 0, sizeof(*r));
}

/* ---- the SSO portal ------------------------------------------------------------ */

static const char *query_get(const struct emu_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (!strcmp(req->query[i].name, name))
			return req->query[i].value;
	return NULL;
}

static void sso_error(struct emu_sts_result *out, int status, const char *code,
		      const char *msg)
{
	out->status = status;
	out->error = code;
	free(out->body);
	out->body = emu_strdup_printf("{\"message\":\"%s\"}", msg);
}

void emu_sso_handle(const struct emu_http_req *req, struct emu_creds *c,
		    struct emu_rng *ids, int64_t now_ms, int64_t ttl_s,
		    struct emu_sts_result *out)
{
	const char *role = query_get(req, "role_name");
	const char *account = query_get(req, "account_id");
	const char *token = emu_req_header(req, "x-amz-sso_bearer_token");
	char akid[21], secret[41], tok[161];
	char *arn;
	int64_t exp_ms;

	memset(out, 0, sizeof(*out));
	out->operation = "GetRoleCredentials";
	out->params = cJSON_CreateObject();
	if (role)
		cJSON_AddStringToObject(out->params, "roleName", role);
	if (account)
		cJSON_AddStringToObject(out->params, "accountId", account);
	if (!role || !*role || !account || strlen(account) != 12) {
		sso_error(out, 400, "InvalidRequestException",
			  "role_name and a 12-digit account_id are required");
		return;
	}
	if (!token || strncmp(token, "sso-", 4)) {
		sso_error(out, 401, "UnauthorizedException",
			  "Session token not found or invalid");
		return;
	}
	memcpy(akid, "ASIA", 4);
	random_text(ids, akid + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	random_text(ids, secret, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	random_text(ids, tok, 160, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	exp_ms = now_ms + (ttl_s > 0 ? ttl_s : 3600) * 1000;
	exp_ms -= exp_ms % 1000;
	arn = emu_strdup_printf("arn:aws:sts::%s:assumed-role/AWSReservedSSO_%s_emulator/sso-user",
				account, role);
	if (!arn || emu_creds_add(c, akid, secret, tok, exp_ms) < 0 ||
	    emu_creds_set_arn(c, akid, arn) < 0) {
		free(arn);
		sso_error(out, 500, "InternalFailure", "out of memory");
		return;
	}
	cJSON_AddStringToObject(out->params, "AssumedRoleArn", arn);
	cJSON_AddStringToObject(out->params, "IssuedAccessKeyId", akid);
	free(arn);
	out->status = 200;
	out->body = emu_strdup_printf(
		"{\"roleCredentials\":{\"accessKeyId\":\"%s\",\"secretAccessKey\":\"%s\","
		"\"sessionToken\":\"%s\",\"expiration\":%lld}}", akid, secret, tok,
		(long long)exp_ms);
}
