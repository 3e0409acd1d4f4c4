/* fuzz_sigv4.c - libFuzzer harness for the SigV4 canonicaliser fed
 * hostile requests: the canonical request of sigv4.c (path normalising and
 * encoding, query canonicalisation, header folding), and through the
 * tests' verifier (tests/unit/sigv4_check.c, linked in by the Makefile)
 * the Authorization parser and the canonical request of a list of signed
 * names.
 *
 * Input: '\n'-separated fields: Authorization value, path, query, then
 * header lines "name:value"; what follows an empty line is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"
#include "../unit/sigv4_check.h"
#include "strbuf.h"

#define MAX_FUZZ_HEADERS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_header h[MAX_FUZZ_HEADERS];
	struct sigv4_request req = { .method = "POST" };
	struct sigv4_check_auth auth;
	struct strbuf c = STRBUF_INIT, sh = STRBUF_INIT;
	char *text = malloc(size + 1), *p, *line, *fields[3] = { "", "", "" };
	size_t n = 0, f = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	while (p && (line = strsep(&p, "\n"))) {
		char *colon;

		if (f < 3) {
			fields[f++] = line;
			continue;
		}
		if (!*line) { /* the body */
			req.body = p ? p : "";
			req.body_len = p ? strlen(p) : 0;
			break;
		}
		colon = strchr(line, ':');
		if (!colon || n == MAX_FUZZ_HEADERS)
			continue;
		*colon = '\0';
		h[n].name = line;
		h[n++].value = colon + 1;
	}
	req.path = fields[1];
	req.query = fields[2];
	req.headers = h;
	req.n_headers = n;
	(void)sigv4_canonical_request(&req, NULL, SIGV4_NORMALIZE_PATH, &c,
				      &sh);
	strbuf_reset(&c);
	(void)sigv4_canonical_request(&req, NULL, SIGV4_PATH_AS_IS, &c, NULL);
	if (sigv4_check_parse_auth(fields[0], &auth) == 0) {
				   strbuf_reset(&c);
		(void)sigv4_check_verify(&req, &auth, "secret", SIGV4_FLAGS_DEFAULT,
					 &c, NULL);
		sigv4_check_auth_free(&auth);
	}
	strbuf_free(&c);
	strbuf_free(&sh);
	free(text);
	return 0;
}
