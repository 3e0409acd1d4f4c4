/* emu_s3.c - the emulator's S3 objects: what HeadObject answers.
 *
 * Objects are declared in the world file (s3Objects) and changed with
 * POST /_emulator/s3; emu_main.c serves HEAD /BUCKET/KEY (path style) and
 * HEAD /KEY with Host BUCKET.s3.* (virtual-hosted style). */
#include "emu.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EMU_S3_MAX_KEY 1024

static void object_clear(struct emu_s3_object *o)
{
	free(o->bucket);
	free(o->key);
	free(o->etag);
	memset(o, 0, sizeof(*o));
}

void emu_s3_free(struct emu_s3 *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		object_clear(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static struct emu_s3_object *find(const struct emu_s3 *s, const char *bucket,
				  const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].bucket, bucket) && !strcmp(s->v[i].key, key))
			return &s->v[i];
	return NULL;
}

const struct emu_s3_object *emu_s3_find(const struct emu_s3 *s,
					const char *bucket, const char *key)
{
	return s && bucket && key ? find(s, bucket, key) : NULL;
}

int emu_s3_parse_time(const char *s, int64_t *ms)
{
	struct tm tm;
	const char *end;
	long frac = 0;
	time_t t;

	if (!s)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -EINVAL;
	if (*end == '.') {
		int digits = 0;

		for (end++; isdigit((unsigned char)*end); end++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*end - '0');
		if (digits == 0)
			return -EINVAL;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (strcmp(end, "Z") != 0)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

void emu_s3_http_date(int64_t ms, char out[40])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Split "s3://bucket/key" (no decoding). */
static int split_uri(const char *uri, char **bucket, char **key)
{
	const char *b, *slash;

	if (!uri || strncmp(uri, "s3://", 5))
		return -EINVAL;
	b = uri + 5;
	slash = strchr(b, '/');
	if (!slash || slash == b || !slash[1] || strlen(slash + 1) > EMU_S3_MAX_KEY)
		return -EINVAL;
	*bucket = strndup(b, (size_t)(slash - b));
	*key = strdup(slash + 1);
	if (!*bucket || !*key) {
		free(*bucket);
		free(*key);
		return -ENOMEM;
	}
	return 0;
}

int emu_s3_put(struct emu_s3 *s, const cJSON *spec, int64_t now_wall_ms,
	       char **err)
{
	const cJSON *uri = cJSON_GetObjectItemCaseSensitive(spec, "uri");
	const cJSON *etag = cJSON_GetObjectItemCaseSensitive(spec, "etag");
	const cJSON *lm = cJSON_GetObjectItemCaseSensitive(spec, "lastModified");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(spec, "size");
	struct emu_s3_object o = { 0 }, *old;
	int64_t lm_ms = now_wall_ms;
	int r;

	if (!cJSON_IsObject(spec) || !cJSON_IsString(uri) ||
	    !cJSON_IsString(etag) || !*etag->valuestring) {
		*err = strdup("an S3 object needs {\"uri\": \"s3://bucket/key\", "
			      "\"etag\": \"\\\"...\\\"\"} (lastModified and size optional)");
		return -EINVAL;
	}
	if (lm && (!cJSON_IsString(lm) || emu_s3_parse_time(lm->valuestring, &lm_ms) < 0)) {
		*err = emu_strdup_printf("%s: lastModified must be ISO-8601 UTC like "
					 "\"2026-11-20T10:00:00Z\"", uri->valuestring);
		return -EINVAL;
	}
	if (size && (!cJSON_IsNumber(size) || size->valuedouble < 0 ||
		     size->valuedouble > 5e12)) {
		*err = emu_strdup_printf("%s: size must be a number of bytes", uri->valuestring);
		return -EINVAL;
	}
	r = split_uri(uri->valuestring, &o.bucket, &o.key);
	if (r < 0) {
		*err = emu_strdup_printf("\"%s\" is not s3://bucket/key", uri->valuestring);
		return r;
	}
	o.etag = strdup(etag->valuestring);
	if (!o.etag) {
		object_clear(&o);
		return -ENOMEM;
	}
	o.last_modified_ms = lm_ms - lm_ms % 1000; /* HTTP dates have seconds */
	old = find(s, o.bucket, o.key);
	o.size = size ? (uint64_t)size->valuedouble : (old ? old->size : 0);
	if (old) {
		object_clear(old);
		*old = o;
		return 0;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		struct emu_s3_object *nv = realloc(s->v, nc * sizeof(*nv));

		if (!nv) {
			object_clear(&o);
			return -ENOMEM;
		}
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = o;
	return 0;
}

int emu_s3_load(struct emu_s3 *s, const cJSON *objects, int64_t now_wall_ms,
		char **err)
{
	const cJSON *e;
	char *inner = NULL;
	int r;

	if (!objects)
		return 0;
	if (!cJSON_IsArray(objects)) {
		*err = strdup("s3Objects must be a list");
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, objects) {
		r = emu_s3_put(s, e, now_wall_ms, &inner);
		if (r < 0) {
			*err = emu_strdup_printf("s3Objects: %s", inner ? inner : strerror(-r));
			free(inner);
			return r;
		}
	}
	return 0;
}

cJSON *emu_s3_json(const struct emu_s3 *s)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < s->n; i++) {
		cJSON *o = cJSON_CreateObject();
		char *uri = emu_strdup_printf("s3://%s/%s", s->v[i].bucket, s->v[i].key);
		char ts[32];

		emu_iso8601(s->v[i].last_modified_ms, ts);
		cJSON_AddStringToObject(o, "uri", uri ? uri : "");
		cJSON_AddStringToObject(o, "etag", s->v[i].etag);
		cJSON_AddStringToObject(o, "lastModified", ts);
		cJSON_AddNumberToObject(o, "size", (double)s->v[i].size);
		cJSON_AddItemToArray(a, o);
		free(uri);
	}
	return a;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode [s, s+n); NULL on a bad escape or an encoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(o);
				return NULL;
			}
			*p++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return o;
}

int emu_s3_target(const char *host, const char *raw_path, char **bucket,
		  char **key)
{
	const char *p, *dot;
	char *b = NULL, *k = NULL;
	size_t hn;

	if (!raw_path || raw_path[0] != '/')
		return -EINVAL;
	p = raw_path + 1;
	hn = host ? strcspn(host, ":") : 0;
	dot = host ? memchr(host, '.', hn) : NULL;
	if (dot && dot != host && (size_t)(host + hn - dot) > 4 &&
	    (!strncmp(dot, ".s3.", 4) || !strncmp(dot, ".s3-", 4))) {
		/* virtual-hosted style: BUCKET.s3.REGION.amazonaws.com */
		b = strndup(host, (size_t)(dot - host));
		k = pct_decode(p, strlen(p));
	} else {
		const char *slash = strchr(p, '/');

		if (!slash || slash == p)
			return -EINVAL;
		b = pct_decode(p, (size_t)(slash - p));
		k = pct_decode(slash + 1, strlen(slash + 1));
	}
	if (!b || !k || !*b || !*k) {
		free(b);
		free(k);
		return -EINVAL;
	}
	*bucket = b;
	*key = k;
	return 0;
}
