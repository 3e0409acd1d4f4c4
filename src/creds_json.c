/* creds_json.c - the credential documents: credential_process output
 * (Version 1) and the container / instance metadata replies; RFC 3339
 * times. See include/creds-internal.h. */
#include "creds-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"

#define PROCESS_JSON_VERSION 1
#define IMDS_SUCCESS_CODE "Success"

void creds_json_wipe(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
		if (j->child)
			creds_json_wipe(j->child);
	}
}

/* n digits at *p into *v; advances *p. */
static bool digits(const char **p, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		x = x * 10 + (c - '0');
	}
	*p += n;
	*v = x;
	return true;
}

static bool lit(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int creds_parse_time(const char *s, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	struct tm tm;
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;
	time_t t;

	if (!s || !out)
		return -EINVAL;
	if (!digits(&p, 4, &year) || !lit(&p, '-') || !digits(&p, 2, &mon) ||
	    !lit(&p, '-') || !digits(&p, 2, &day))
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (!digits(&p, 2, &hour) || !lit(&p, ':') || !digits(&p, 2, &min) ||
	    !lit(&p, ':') || !digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (!digits(&p, 2, &oh))
			return -EINVAL;
		(void)lit(&p, ':');
		if (!digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] || hour > 23 || min > 59 || sec > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	t -= (time_t)sign * (oh * 3600 + om * 60);
	*out = t;
	return 0;
}

static const char *json_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* The common part: keys, token key name, optional Expiration. */
static int parse_doc(const char *text, size_t len, const char *what,
		     const char *token_key, bool want_version, bool imds,
		     const char *source, struct creds **out)
{
	cJSON *j = NULL;
	const cJSON *v;
	const char *akid, *secret, *token, *exp, *code;
	time_t expiration = 0;
	int r = -EINVAL;

	if (!text || !out)
		return -EINVAL;
	j = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(j)) {
		log_error("AWS credentials: %s is not a JSON object", what);
		goto cleanup;
	}
	if (want_version) {
		v = cJSON_GetObjectItemCaseSensitive(j, "Version");
		if (!cJSON_IsNumber(v) || v->valuedouble != PROCESS_JSON_VERSION) {
			log_error("AWS credentials: %s: \"Version\" must be %d",
				  what, PROCESS_JSON_VERSION);
			goto cleanup;
		}
	}
	if (imds) {
		code = json_string(j, "Code");
		if (code && strcmp(code, IMDS_SUCCESS_CODE) != 0) {
			log_error("AWS credentials: %s: \"Code\" is not \"%s\"",
				  what, IMDS_SUCCESS_CODE);
			goto cleanup;
		}
	}
	akid = json_string(j, "AccessKeyId");
	secret = json_string(j, "SecretAccessKey");
	token = json_string(j, token_key);
	if (!akid || !*akid || !secret || !*secret) {
		log_error("AWS credentials: %s lacks %s", what,
			  !akid || !*akid ? "AccessKeyId" : "SecretAccessKey");
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, token_key);
	if (v && !cJSON_IsNull(v) && !token) {
		log_error("AWS credentials: %s: \"%s\" is not a string", what,
			  token_key);
		goto cleanup;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "Expiration");
	if (v && !cJSON_IsNull(v)) {
		exp = json_string(j, "Expiration");
		if (!exp || creds_parse_time(exp, &expiration) < 0) {
			log_error("AWS credentials: %s: \"Expiration\" is not "
				  "an RFC 3339 time", what);
			goto cleanup;
		}
	}
	r = creds_new(akid, secret, token, expiration, source, out);
cleanup:
	creds_json_wipe(j);
	cJSON_Delete(j);
	return r;
}

int creds_parse_process_json(const char *text, size_t len, struct creds **out)
{
	return parse_doc(text, len, "credential_process output",
			 "SessionToken", true, false, CREDS_SOURCE_PROCESS,
			 out);
}

int creds_parse_http_json(const char *text, size_t len, const char *source,
			  struct creds **out)
{
	bool imds = source && strcmp(source, CREDS_SOURCE_IMDS) == 0;

	return parse_doc(text, len,
			 imds ? "the instance metadata credentials"
			      : "the container credentials",
			 "Token", false, imds, source, out);
}
