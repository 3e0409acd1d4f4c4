/* emu_s3.c - the emulator's S3 objects: what HeadObject and ListObjectsV2
 * answer.
 *
 * Objects are declared in the world file (s3Objects) and changed with
 * POST /_emulator/s3; emu_main.c serves HEAD /BUCKET/KEY (path style) and
 * HEAD /KEY with Host BUCKET.s3.* (virtual-hosted style), and the listing
 * GET /BUCKET?list-type=2 (or GET /?list-type=2 virtual-hosted). */
#include "emu.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

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

int emu_s3_split_uri(const char *uri, bool key_required, char **bucket, char **key)
{
	const char *b, *slash;

	*bucket = *key = NULL;
	if (!uri || strncmp(uri, "s3://", 5))
		return -EINVAL;
	b = uri + 5;
	slash = strchr(b, '/');
	if (slash == b || !*b || (key_required && (!slash || !slash[1])) ||
	    (slash && strlen(slash + 1) > EMU_S3_MAX_KEY))
		return -EINVAL;
	*bucket = slash ? strndup(b, (size_t)(slash - b)) : strdup(b);
	*key = strdup(slash ? slash + 1 : "");
	if (!*bucket || !*key) {
		free(*bucket);
		free(*key);
		*bucket = *key = NULL;
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
	r = emu_s3_split_uri(uri->valuestring, true, &o.bucket, &o.key);
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

int emu_s3_bucket_target(const char *host, const char *raw_path, char **bucket)
{
	const char *p, *dot;
	char *b = NULL;
	size_t hn, n;

	if (!raw_path || raw_path[0] != '/')
		return -EINVAL;
	p = raw_path + 1;
	hn = host ? strcspn(host, ":") : 0;
	dot = host ? memchr(host, '.', hn) : NULL;
	if (dot && dot != host && (size_t)(host + hn - dot) > 4 &&
	    (!strncmp(dot, ".s3.", 4) || !strncmp(dot, ".s3-", 4))) {
		if (*p)
			return -EINVAL;
		b = strndup(host, (size_t)(dot - host));
	} else {
		n = strcspn(p, "/");
		if (p[n] == '/' && p[n + 1])
			return -EINVAL;     /* an object, not the bucket */
		b = pct_decode(p, n);
	}
	if (!b || !*b) {
		free(b);
		return b ? -EINVAL : -ENOMEM;
	}
	*bucket = b;
	return 0;
}

static void xml_escape(struct strbuf *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': strbuf_puts(o, "&amp;"); break;
		case '<': strbuf_puts(o, "&lt;"); break;
		case '>': strbuf_puts(o, "&gt;"); break;
		case '"': strbuf_puts(o, "&quot;"); break;
		case '\'': strbuf_puts(o, "&apos;"); break;
		default: strbuf_putc(o, *s); break;
		}
	}
}

static int key_cmp(const void *a, const void *b)
{
	const struct emu_s3_object *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* The key a token names ("T/" hex "="), malloc'd, or NULL. */
static char *token_key(const char *t)
{
	size_t n = strlen(t), i;
	char *k;

	if (n < 4 || strncmp(t, "T/", 2) || t[n - 1] != '=' || (n - 3) % 2)
		return NULL;
	k = malloc((n - 3) / 2 + 1);
	if (!k)
		return NULL;
	for (i = 0; i < (n - 3) / 2; i++) {
		int hi = hexval(t[2 + 2 * i]), lo = hexval(t[3 + 2 * i]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(k);
			return NULL;
		}
		k[i] = (char)(hi * 16 + lo);
	}
	k[i] = '\0';
	return k;
}

int emu_s3_list(const struct emu_s3 *s, const char *bucket, const char *prefix,
		const char *token, long max_keys, unsigned world_cap, char **xml)
{
	const struct emu_s3_object **v = NULL;
	struct strbuf o = STRBUF_INIT;
	char *after = NULL, ts[32];
	size_t n = 0, i, plen = prefix ? strlen(prefix) : 0, shown = 0;
	bool in_bucket = false, truncated = false;
	long cap = max_keys;
	int r = -ENOMEM;

	if (max_keys < 0)
		return -EINVAL;
	if (cap > EMU_S3_LIST_MAX_KEYS)
		cap = EMU_S3_LIST_MAX_KEYS;
	if (world_cap && cap > (long)world_cap)
		cap = (long)world_cap;
	if (token) {
		after = token_key(token);
		if (!after)
			return -EINVAL;
	}
	v = calloc(s->n ? s->n : 1, sizeof(*v));
	if (!v)
		goto cleanup;
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].bucket, bucket))
			continue;
		in_bucket = true;
		if (plen && strncmp(s->v[i].key, prefix, plen))
			continue;
		if (after && strcmp(s->v[i].key, after) <= 0)
			continue;
		v[n++] = &s->v[i];
	}
	if (!in_bucket) {
		r = -ENOENT;
		goto cleanup;
	}
	qsort(v, n, sizeof(*v), key_cmp);
	strbuf_puts(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		    "<Name>");
	xml_escape(&o, bucket);
	strbuf_puts(&o, "</Name><Prefix>");
	xml_escape(&o, prefix ? prefix : "");
	strbuf_puts(&o, "</Prefix>");
	for (i = 0; i < n && (long)i < cap; i++) {
		emu_iso8601(v[i]->last_modified_ms, ts);
		strbuf_puts(&o, "<Contents><Key>");
		xml_escape(&o, v[i]->key);
		strbuf_printf(&o, "</Key><LastModified>%s</LastModified><ETag>", ts);
		xml_escape(&o, v[i]->etag);
		strbuf_printf(&o, "</ETag><Size>%llu</Size><StorageClass>STANDARD"
			      "</StorageClass></Contents>",
			      (unsigned long long)v[i]->size);
		shown++;
	}
	truncated = shown > 0 && shown < n;
	strbuf_printf(&o, "<KeyCount>%zu</KeyCount><MaxKeys>%ld</MaxKeys>"
		      "<IsTruncated>%s</IsTruncated>", shown, cap,
		      truncated ? "true" : "false");
	if (token) {
		strbuf_puts(&o, "<ContinuationToken>");
		xml_escape(&o, token);
		strbuf_puts(&o, "</ContinuationToken>");
	}
	if (truncated) {
		const unsigned char *k = (const unsigned char *)v[shown - 1]->key;

		strbuf_puts(&o, "<NextContinuationToken>T/");
		for (; *k; k++)
			strbuf_printf(&o, "%02x", *k);
		strbuf_puts(&o, "=</NextContinuationToken>");
	}
	strbuf_puts(&o, "</ListBucketResult>");
	if (strbuf_error(&o) < 0)
		goto cleanup;
	*xml = strbuf_detach(&o);
	r = *xml ? 0 : -ENOMEM;
cleanup:
	strbuf_free(&o);
	free(v);
	free(after);
	return r;
}
