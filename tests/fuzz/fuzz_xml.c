/* fuzz_xml.c - libFuzzer harness for the XML side of the AWS clients: the
 * tree (xml.c, over libexpat), the XML error decoder (STS and S3 error
 * bodies) and the STS reply parser for each operation.
 *
 * Input: the body. Nothing may crash, leak or read out of bounds; a
 * decoded code and message must be NUL-terminated and bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws-internal.h"
#include "sts.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ops[] = {
		"AssumeRole", "AssumeRoleWithWebIdentity",
	};
	const char *body = (const char *)data;
	struct aws_error_info e = { NULL, NULL };
	struct xml_node *root = NULL;
	size_t i;

	if (xml_parse(body, size, &root) == 0) {
		(void)xml_path_text(root, "Error/Code");
		(void)xml_path_text(root, "A/B/C/D");
		xml_free(root);
	}
	if (aws_decode_xml_error(body, size, &e) == 0) {
		if (strlen(e.code) > 1024 || strlen(e.message) > 1024)
			abort();
		aws_error_info_free(&e);
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct sts_reply *r = NULL;

		if (sts_parse_reply(ops[i], body, size, &r) == 0)
			sts_reply_free(r);
	}
	return 0;
}
