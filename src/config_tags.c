/* config_tags.c - the Tags key: parsed, merged and checked against
 * Personalize's limits.
 *
 * parameters.cfg: Tags=Key=Value,Key2=Value2. A comma separates pairs, the
 * first '=' of a pair separates key and value (so a value may contain
 * '='), blanks around keys and values are trimmed. A comma cannot be part
 * of a key or value: Personalize's tag pattern allows none, so nothing is
 * lost by not having a way to write one.
 * YAML: a mapping, Tags: {team: recs, env: prod} (or the same Key=Value
 * text). The top level's tags are defaults for every pipeline; a
 * pipeline's own tags are added to them, its value winning on the same
 * key; an empty Tags in a pipeline (~ or {}) drops the defaults.
 *
 * The limits, from the service model (tests/data/personalize/service-2.json,
 * shapes TagKey, TagValue, Tag: tagKey 1..128, tagValue 0..256, both
 * matching ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$) and from "Tagging Amazon
 * Personalize resources", "Guidelines and requirements"
 * (https://docs.aws.amazon.com/personalize/latest/dg/personalize-managing-tags.html):
 * at most 50 tags per resource (the model's Tags list allows 200, the
 * service 50), key at most 128 and value at most 256 Unicode characters,
 * keys unique per resource and case-sensitive, and neither a key nor a
 * value starting with "aws:" (reserved for the tags AWS applies itself;
 * refused in any letter case, as AWS's tagging best practices put it).
 *
 * Characters: ASCII letters, digits, space and _ . : / = + - @; any other
 * character outside ASCII passes when it is well-formed UTF-8 and not a
 * control character (\p{L}, \p{Z}, \p{N} need Unicode tables; a symbol
 * such as U+20AC that the service refuses is then refused by it). */
#include "config-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESERVED_PREFIX "aws:"
/* Past this many pairs in one scope the count error says enough: the
 * pairwise duplicate check is skipped. */
#define DUP_CHECK_MAX 1000
#define QUOTE_BUF (CONFIG_QUOTE_MAX * 4 + 8)

struct tag_in {
	const char *k, *v;
	size_t klen, vlen;
	unsigned line;
};

struct tag_list {
	struct tag_in *v;
	size_t n, cap;
};

static int list_push(struct tag_list *l, const struct tag_in *t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct tag_in *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *t;
	return 0;
}

static const char *quote(char *buf, const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	config_quote(&sb, s, len);
	snprintf(buf, QUOTE_BUF, "%s", sb.buf ? sb.buf : "\"\"");
	strbuf_free(&sb);
	return buf;
}

void config_tags_put_pair(struct strbuf *sb, unsigned line, const char *key,
			  size_t klen, const char *value, size_t vlen)
{
	strbuf_printf(sb, "%u %zu %zu:", line, klen, vlen);
	strbuf_append(sb, key, klen);
	strbuf_append(sb, value, vlen);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_blank((*s)[*len - 1]))
		(*len)--;
}

/* "Key=Value,Key2=Value2" at line into l; false when a pair was bad
 * (reported). */
static int parse_text(const struct config_raw *raw, const char *s,
		      unsigned line, struct tag_list *l,
		      struct config_errors *errs, bool *bad)
{
	char q[QUOTE_BUF];

	for (;;) {
		size_t len = strcspn(s, ",");
		const char *item = s, *eq;
		size_t ilen = len;
		bool last = s[len] == '\0';

		trim(&item, &ilen);
		eq = memchr(item, '=', ilen);
		if (ilen == 0) {
			config_errors_add(errs, raw->file, line, "Tags has an "
					  "empty pair (two commas, or one at "
					  "an end); write Tags%sKey=Value,"
					  "Key2=Value2", raw->assign);
			*bad = true;
		} else if (!eq) {
			config_errors_add(errs, raw->file, line, "Tags: %s is "
					  "not a Key=Value pair; a comma "
					  "separates pairs and cannot be part "
					  "of a value (Personalize allows no "
					  "comma in tags), a tag without a "
					  "value is written Key=",
					  quote(q, item, ilen));
			*bad = true;
		} else {
			struct tag_in t = { item, eq + 1,
					    (size_t)(eq - item),
					    ilen - (size_t)(eq - item) - 1,
					    line };

			trim(&t.k, &t.klen);
			trim(&t.v, &t.vlen);
			if (list_push(l, &t) < 0)
				return -ENOMEM;
		}
		if (last)
			return 0;
		s += len + 1;
	}
}

/* A mapping as config_tags_put_pair() stored it. */
static int parse_mapping(const char *s, struct tag_list *l)
{
	while (*s) {
		struct tag_in t;
		unsigned long line;
		size_t klen, vlen;
		char *end;

		line = strtoul(s, &end, 10);
		klen = strtoul(end, &end, 10);
		vlen = strtoul(end, &end, 10);
		if (*end != ':' || strlen(end + 1) < klen + vlen)
			return -EINVAL;
		t.k = end + 1;
		t.klen = klen;
		t.v = t.k + klen;
		t.vlen = vlen;
		t.line = (unsigned)line;
		if (list_push(l, &t) < 0)
			return -ENOMEM;
		s = t.v + vlen;
	}
	return 0;
}

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point,
 * or 0 when malformed (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool allowed(unsigned long cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
			(cp >= '0' && cp <= '9') || (cp && strchr(" _.:/=+-@",
							    (int)cp));
	/* C1 controls are \p{Cc}, not letters, separators or numbers */
	return cp >= 0xa0;
}

/* Characters in s (len bytes); false and *bad_at (byte offset) when one
 * is not allowed or not UTF-8. */
static bool count_chars(const char *s, size_t len, size_t *chars,
			size_t *bad_at)
{
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned long cp;
		size_t k = utf8_char((const unsigned char *)s + i, len - i, &cp);

		if (k == 0 || !allowed(cp)) {
			*bad_at = i;
			return false;
		}
		i += k;
		n++;
	}
	*chars = n;
	return true;
}

/* One tag on its own: lengths, characters, the reserved prefix. */
static bool check_one(const struct config_raw *raw, const struct tag_in *t,
		      struct config_errors *errs)
{
	static const char chars_doc[] = "letters, digits, spaces and _ . : "
		"/ = + - @";
	char q[QUOTE_BUF], q2[QUOTE_BUF];
	size_t n, at;
	bool ok = true;

	if (!count_chars(t->k, t->klen, &n, &at)) {
		config_errors_add(errs, raw->file, t->line, "Tags: key %s has "
				  "%s at byte %zu, which Personalize does not "
				  "allow in a tag; use %s",
				  quote(q, t->k, t->klen),
				  quote(q2, t->k + at, 1), at + 1, chars_doc);
		ok = false;
	} else if (n == 0) {
		config_errors_add(errs, raw->file, t->line, "Tags: a key is "
				  "empty (value %s); a tag key is 1 to %d "
				  "characters", quote(q, t->v, t->vlen),
				  CONFIG_TAG_KEY_MAX);
		ok = false;
	} else if (n > CONFIG_TAG_KEY_MAX) {
		config_errors_add(errs, raw->file, t->line, "Tags: key %s is "
				  "%zu characters long; Personalize allows at "
				  "most %d", quote(q, t->k, t->klen), n,
				  CONFIG_TAG_KEY_MAX);
		ok = false;
	} else if (t->klen >= strlen(RESERVED_PREFIX) &&
		   strncasecmp(t->k, RESERVED_PREFIX,
			       strlen(RESERVED_PREFIX)) == 0) {
		config_errors_add(errs, raw->file, t->line, "Tags: key %s "
				  "starts with \"aws:\", which AWS reserves "
				  "for its own tags; choose another key",
				  quote(q, t->k, t->klen));
		ok = false;
	}
	if (!count_chars(t->v, t->vlen, &n, &at)) {
		config_errors_add(errs, raw->file, t->line, "Tags: the value "
				  "of %s has %s at byte %zu, which Personalize "
				  "does not allow in a tag; use %s",
				  quote(q, t->k, t->klen),
				  quote(q2, t->v + at, 1), at + 1, chars_doc);
		ok = false;
	} else if (n > CONFIG_TAG_VALUE_MAX) {
		config_errors_add(errs, raw->file, t->line, "Tags: the value "
				  "of %s is %zu characters long; Personalize "
				  "allows at most %d", quote(q, t->k, t->klen),
				  n, CONFIG_TAG_VALUE_MAX);
		ok = false;
	} else if (t->vlen >= strlen(RESERVED_PREFIX) &&
		   strncasecmp(t->v, RESERVED_PREFIX,
			       strlen(RESERVED_PREFIX)) == 0) {
		config_errors_add(errs, raw->file, t->line, "Tags: the value "
				  "of %s starts with \"aws:\", which AWS "
				  "reserves for its own tags; write it "
				  "otherwise", quote(q, t->k, t->klen));
		ok = false;
	}
	return ok;
}

static bool same_key(const struct tag_in *a, const struct tag_in *b)
{
	return a->klen == b->klen && memcmp(a->k, b->k, a->klen) == 0;
}

/* The tags of one scope's raw value into l, each checked; duplicate keys
 * and too many tags reported. */
static int scope_tags(const struct config_raw *raw,
		      const struct config_raw_value *rv, struct tag_list *l,
		      struct config_errors *errs, bool *bad)
{
	char q[QUOTE_BUF];
	size_t i, j;
	int r;

	if (!rv->value)
		return 0;
	if (rv->value[0] == CONFIG_TAGS_MAPPING)
		r = parse_mapping(rv->value + 1, l);
	else
		r = parse_text(raw, rv->value, rv->line, l, errs, bad);
	if (r < 0)
		return r;
	for (i = 0; i < l->n; i++)
		if (!check_one(raw, &l->v[i], errs))
			*bad = true;
	if (l->n > CONFIG_TAGS_MAX) {
		config_errors_add(errs, raw->file, rv->line, "Tags has %zu "
				  "tags; Personalize allows at most %d per "
				  "resource", l->n, CONFIG_TAGS_MAX);
		*bad = true;
	}
	for (i = 1; i < l->n && i < DUP_CHECK_MAX; i++)
		for (j = 0; j < i; j++)
			if (same_key(&l->v[i], &l->v[j])) {
				config_errors_add(errs, raw->file,
						  l->v[i].line, "Tags: key %s "
						  "is given twice; a resource "
						  "has one value per key (keys "
						  "are case-sensitive)",
						  quote(q, l->v[i].k,
							l->v[i].klen));
				*bad = true;
				break;
			}
	return 0;
}

static int copy_out(const struct tag_list *l, struct pipeline *p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	p->tags = calloc(l->n, sizeof(*p->tags));
	if (!p->tags)
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		p->tags[i].key = strndup(l->v[i].k, l->v[i].klen);
		p->tags[i].value = strndup(l->v[i].v, l->v[i].vlen);
		p->n_tags++;
		if (!p->tags[i].key || !p->tags[i].value)
			return -ENOMEM;
	}
	return 0;
}

int config_tags_build(const struct config_raw *raw,
		      const struct config_raw_scope *scope,
		      struct config_errors *errs, struct pipeline *p)
{
	const struct config_raw_value *top = &raw->top.v[CONFIG_KEY_TAGS];
	const struct config_raw_value *own = scope ?
		&scope->v[CONFIG_KEY_TAGS] : NULL;
	struct tag_list merged = { NULL, 0, 0 }, mine = { NULL, 0, 0 };
	bool bad = false, dropped = false;
	size_t i, j;
	int r = 0;

	if (own && own->present && !own->invalid &&
	    (!own->value || (own->value[0] == CONFIG_TAGS_MAPPING &&
			     own->value[1] == '\0')))
		dropped = true; /* an empty Tags in the pipeline */
	if (top->present && !top->invalid)
		r = scope_tags(raw, top, &merged, errs, &bad);
	if (dropped)
		merged.n = 0;
	if (r == 0 && own && own->present && !own->invalid)
		r = scope_tags(raw, own, &mine, errs, &bad);
	if (r < 0)
		goto out;
	for (i = 0; i < mine.n && !bad; i++) {
		for (j = 0; j < merged.n; j++)
			if (same_key(&merged.v[j], &mine.v[i]))
				break;
		if (j < merged.n)
			merged.v[j] = mine.v[i];
		else if ((r = list_push(&merged, &mine.v[i])) < 0)
			goto out;
	}
	if (!bad && merged.n > CONFIG_TAGS_MAX) {
		config_errors_add(errs, raw->file, own ? own->line : top->line,
				  "Tags: with the "
				  "top level's (line %u), this pipeline has "
				  "%zu tags; Personalize allows at most %d per "
				  "resource", top->line, merged.n,
				  CONFIG_TAGS_MAX);
		bad = true;
	}
	if (!bad)
		r = copy_out(&merged, p);
out:
	free(merged.v);
	free(mine.v);
	if (r < 0)
		return r;
	return bad ? 1 : 0;
}
