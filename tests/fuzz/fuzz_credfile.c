/* fuzz_credfile.c - libFuzzer harness for the credential parsers: the
 * shared credentials/config ini parser (with the profile-name rules), the
 * credential_process JSON, the container/IMDS JSON, RFC 3339 times and
 * the credential_process command splitter.
 *
 * The first byte picks the parser, the rest is its input. Seeds:
 * tests/fuzz/corpus/credfile/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "creds-internal.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t keys;
	size_t profiles;
};

static int on_key(const char *section, const char *key, const char *value,
		  unsigned line, void *userdata)
{
	struct seen *s = userdata;

	/* the contract: trimmed, NUL-terminated strings */
	if (!section || !key || !value || !*key || line == 0)
		abort();
	if (creds_ini_profile_name(section, true))
		s->profiles++;
	if (creds_ini_profile_name(section, false))
		s->profiles++;
	s->keys += strlen(key) + strlen(value) > 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct creds *c = NULL;
	struct seen seen = { 0, 0 };
	char *text;
	char **argv = NULL;
	size_t argc;
	time_t t;

	if (!quiet) {
		log_init(LOG_TARGET_STDERR, LOG_EMERG); /* parsers log errors */
		quiet = 1;
	}
	if (size < 1)
		return 0;
	/* a NUL-terminated copy (the ini parser writes into it) */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		(void)creds_ini_parse(text, size - 1, "fuzz", on_key, &seen);
		break;
	case 1:
		if (creds_parse_process_json(text, size - 1, &c) == 0 &&
		    (!c->access_key_id[0] || !c->secret_access_key[0]))
			abort();
		break;
	case 2:
		(void)creds_parse_http_json(text, size - 1,
					    data[0] & 8 ? CREDS_SOURCE_IMDS
							: CREDS_SOURCE_CONTAINER,
					    &c);
		break;
	case 3:
		(void)creds_parse_time(text, &t);
		break;
	case 4:
		if (child_split_command(text, &argv, &argc) == 0 &&
		    (argc == 0 || argv[argc] != NULL))
			abort();
		free(argv);
		break;
	}
	creds_free(c);
	free(text);
	return 0;
}
