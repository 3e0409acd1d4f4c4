/* fuzz_s3.c - libFuzzer harness for the s3 module's pure parts.
 *
 * The input is split at NUL bytes into: a URI, a Last-Modified value and
 * a Content-Length value (what follows a third NUL is not read). A URI
 * that parses must give an encoded path made only of unreserved
 * characters, '/' and %XX that decodes back to the key, and a
 * virtual-hosted or path-style target whose URL ends with that path;
 * header values either parse or are refused. Never a crash, a leak or an
 * out-of-bounds read. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "s3-internal.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void check_encoding(const char *key, const char *enc)
{
	size_t i, o = 0, n = strlen(enc);
	char *dec = malloc(n + 1);

	if (!dec)
		return;
	for (i = 0; i < n; i++) {
		char c = enc[i];

		if (c == '%') {
			if (i + 2 >= n)
				abort();
			if (hexval(enc[i + 1]) < 0 || hexval(enc[i + 2]) < 0)
				abort();
			dec[o++] = (char)(hexval(enc[i + 1]) * 16 + hexval(enc[i + 2]));
			i += 2;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || strchr("-._~/", c)) {
			dec[o++] = c;
		} else {
			abort();
		}
	}
	dec[o] = '\0';
	if (strcmp(dec, key) != 0)
		abort();
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 4), *f[4];
	char *bucket = NULL, *key = NULL;
	struct s3_meta meta;
	size_t i, n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(buf + size, 0, 4);
	f[0] = buf;
	for (i = 0; i < size && n < 3; i++)
		if (buf[i] == '\0')
			f[++n] = buf + i + 1;
	while (n < 3)
		f[++n] = buf + size;

	if (s3_parse_uri(f[0], &bucket, &key) == 0) {
		struct strbuf sb = STRBUF_INIT;
		struct s3_target t = { 0 };

		s3_encode_key(key, &sb);
		strbuf_puts(&sb, "");
		if (strbuf_error(&sb) == 0)
			check_encoding(key, sb.buf);
		if (s3_resolve_target(NULL, false, "us-east-1", bucket, key,
				      &t) == 0) {
			size_t ul = strlen(t.url), pl = strlen(t.path);

			if (t.path[0] != '/' || pl > ul ||
			    strcmp(t.url + ul - pl, t.path) != 0 ||
			    t.path_style == s3_virtual_host_ok(bucket))
				abort();
			s3_target_free(&t);
		}
		strbuf_free(&sb);
		free(bucket);
		free(key);
	}
	if (s3_parse_meta(f[1], f[2], &meta) == 0 && *f[2] &&
	    !meta.has_content_length)
		abort();
	free(buf);
	return 0;
}
