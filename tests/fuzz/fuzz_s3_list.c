/* fuzz_s3_list.c - libFuzzer harness for a ListObjectsV2 page and the
 * digest of a listing.
 *
 * The input is a reply body. A page that parses has a key, an ETag and a
 * size in every entry, a token exactly when it is truncated; its digest is
 * well formed and the same for the entries in reverse order. A page that
 * does not parse says why and leaves nothing allocated. Never a crash, a
 * leak or an out-of-bounds read. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "s3-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_list_page p;
	struct s3_list_entry *rev;
	char d1[S3_DIGEST_LEN + 1], d2[S3_DIGEST_LEN + 1];
	const char *why = NULL;
	size_t i;
	int r;

	r = s3_list_parse_page((const char *)data, size, &p, &why);
	if (r < 0) {
		if (r == -EBADMSG && !why)
			abort();
		if (p.v || p.n || p.next_token)
			abort();
		return 0;
	}
	if (p.truncated != (p.next_token != NULL))
		abort();
	for (i = 0; i < p.n; i++)
		if (!p.v[i].key || !*p.v[i].key || !p.v[i].etag)
			abort();
	rev = calloc(p.n ? p.n : 1, sizeof(*rev));
	if (rev) {
		for (i = 0; i < p.n; i++)
			rev[i] = p.v[p.n - 1 - i];
		if (s3_listing_digest(p.v, p.n, d1, NULL) == 0 &&
		    s3_listing_digest(rev, p.n, d2, NULL) == 0) {
			if (strlen(d1) != S3_DIGEST_LEN ||
			    strncmp(d1, S3_DIGEST_PREFIX, 7) != 0)
				abort();
			if (strcmp(d1, d2) != 0)
				abort();
		}
		free(rev);
	}
	s3_list_page_free(&p);
	return 0;
}
