/* config_parse_cfg.c - the AWS sample's parameters.cfg: Key=Value lines.
 *
 * One Key=Value per line, no spaces around '=', no quoting; an empty value
 * means "not set". Tolerated: CRLF (and lone CR) line ends, a UTF-8 BOM,
 * blank lines, '#' comment lines, leading indentation and trailing blanks.
 * Where the intent is clear (spaces around '=', quotes) the value is still
 * used after the error, so one slip does not hide the other problems. */
#include "config-internal.h"

#include <errno.h>
#include <string.h>

static const char utf8_bom[] = "\xef\xbb\xbf";

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/* One line (no terminator) at lineno. */
static int parse_line(struct config_raw *raw, const char *s, size_t len,
		      unsigned lineno, struct config_errors *errs)
{
	const char *eq, *key, *val, *nul;
	size_t klen, vlen, i;
	int k;
	bool spaced = false;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (len == 0 || s[0] == '#')
		return 0;
	nul = memchr(s, '\0', len);
	if (nul) {
		config_errors_add(errs, raw->file, lineno,
				  "line contains a NUL byte; the file must be "
				  "plain text");
		return 0;
	}
	eq = memchr(s, '=', len);
	if (!eq) {
		struct strbuf sb = STRBUF_INIT;

		for (i = 0; i < len && is_key_char(s[i]); i++)
			;
		if (i == len && config_key_lookup_n(s, len) >= 0) {
			config_errors_add(errs, raw->file, lineno,
					  "%.*s has no '='; write %.*s=VALUE "
					  "(an empty value means not set)",
					  (int)len, s, (int)len, s);
			return 0;
		}
		config_quote(&sb, s, len);
		config_errors_add(errs, raw->file, lineno,
				  "%s is not a Key=Value line; write "
				  "Key=Value, or start a comment with '#'",
				  sb.buf ? sb.buf : "line");
		strbuf_free(&sb);
		return 0;
	}
	key = s;
	klen = (size_t)(eq - s);
	val = eq + 1;
	vlen = len - klen - 1;
	while (klen && is_blank(key[klen - 1])) {
		klen--;
		spaced = true;
	}
	while (vlen && is_blank(*val)) {
		val++;
		vlen--;
		spaced = true;
	}
	if (klen == 0) {
		config_errors_add(errs, raw->file, lineno,
				  "line starts with '=' and names no key; "
				  "write Key=Value");
		return 0;
	}
	for (i = 0; i < klen; i++)
		if (!is_key_char(key[i]))
			break;
	if (i < klen) {
		struct strbuf sb = STRBUF_INIT;

		config_quote(&sb, key, klen);
		config_errors_add(errs, raw->file, lineno,
				  "%s is not a key name (letters and digits "
				  "only); write Key=Value", sb.buf ? sb.buf :
				  "key");
		strbuf_free(&sb);
		return 0;
	}
	k = config_key_lookup_n(key, klen);
	if (k < 0) {
		config_raw_unknown_key(raw, key, klen, lineno, errs);
		return 0;
	}
	if (spaced)
		config_errors_add(errs, raw->file, lineno,
				  "spaces around '=' are not allowed; write "
				  "%s=%.*s", config_keys[k].name,
				  (int)(vlen > CONFIG_QUOTE_MAX ?
					CONFIG_QUOTE_MAX : vlen), val);
	if (vlen >= 2 && (val[0] == '"' || val[0] == '\'') &&
	    val[vlen - 1] == val[0]) {
		config_errors_add(errs, raw->file, lineno,
				  "%s: quotes are not part of the format; "
				  "write %s=%.*s", config_keys[k].name,
				  config_keys[k].name,
				  (int)(vlen - 2 > CONFIG_QUOTE_MAX ?
					CONFIG_QUOTE_MAX : vlen - 2), val + 1);
		val++;
		vlen -= 2;
	}
	return config_raw_set(raw, &raw->top, k, val, vlen, lineno, errs);
}

int config_parse_cfg(const char *buf, size_t len, struct config_raw *raw,
		     struct config_errors *errs)
{
	size_t pos = 0;
	unsigned lineno = 0;
	int r;

	if (len >= 3 && memcmp(buf, utf8_bom, 3) == 0)
		pos = 3;
	raw->top.line = 1;
	while (pos < len) {
		size_t start = pos, end;

		while (pos < len && buf[pos] != '\n' && buf[pos] != '\r')
			pos++;
		end = pos;
		if (pos < len && buf[pos] == '\r')
			pos++;
		if (pos < len && buf[pos] == '\n')
			pos++;
		lineno++;
		r = parse_line(raw, buf + start, end - start, lineno, errs);
		if (r < 0)
			return r;
	}
	raw->end_line = lineno ? lineno : 1;
	return 0;
}
