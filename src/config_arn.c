/* config_arn.c - ARN, name and region syntax for the config validator.
 *
 * The patterns follow the Personalize service model (service-2.json):
 * Arn "arn:([a-z\d-]+):personalize:.*:.*:.+" (max 256), RoleArn
 * "arn:([a-z\d-]+):iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+", Name
 * "^[a-zA-Z0-9][a-zA-Z0-9\-_]*" (1..63). We are stricter where the model is
 * loose (region and account must look like a region and an account). */
#include "config-internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* The service model's maximum ARN length. */
#define ARN_MAX_LEN 256
#define ARN_FIELDS 5  /* arn, partition, service, region, account */

int config_arn_split(const char *s, struct config_arn *arn, char *why,
		     size_t whylen)
{
	size_t len = strlen(s), i;
	char *p, *parts[ARN_FIELDS];

	if (strncmp(s, "arn:", 4) != 0) {
		snprintf(why, whylen, "an ARN starts with \"arn:\"");
		return -EINVAL;
	}
	if (len > ARN_MAX_LEN) {
		snprintf(why, whylen, "it is %zu characters long, an ARN has "
			 "at most %d", len, ARN_MAX_LEN);
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)s[i])) {
			snprintf(why, whylen, "an ARN has no spaces or "
				 "control characters");
			return -EINVAL;
		}
	memcpy(arn->buf, s, len + 1);
	p = arn->buf;
	for (i = 0; i < ARN_FIELDS; i++) {
		char *c = strchr(p, ':');

		if (!c) {
			snprintf(why, whylen, "an ARN has six ':'-separated "
				 "parts: arn:PARTITION:SERVICE:REGION:ACCOUNT:"
				 "RESOURCE");
			return -EINVAL;
		}
		*c = '\0';
		parts[i] = p;
		p = c + 1;
	}
	arn->partition = parts[1];
	arn->service = parts[2];
	arn->region = parts[3];
	arn->account = parts[4];
	arn->resource = p;
	if (!*arn->partition ||
	    strspn(arn->partition, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
	    strlen(arn->partition)) {
		snprintf(why, whylen, "the partition (second part) must be "
			 "like aws, aws-cn or aws-us-gov");
		return -EINVAL;
	}
	if (!*arn->resource) {
		snprintf(why, whylen, "the resource (last part) is empty");
		return -EINVAL;
	}
	arn->type = arn->resource;
	p = strchr(p, '/');
	if (p) {
		*p = '\0';
		arn->name = p + 1;
	} else {
		arn->name = "";
	}
	return 0;
}

bool config_is_name(const char *s, size_t max)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > max || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* Region: lower-case words joined by '-', the last one a number:
 * us-east-1, eu-central-2, us-gov-west-1, cn-north-1. */
bool config_is_region(const char *s)
{
	size_t i, words = 0, len = strlen(s);
	const char *last;

	if (len < 4 || len > 32 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '-') {
			if (s[i + 1] == '-')
				return false;
			words++;
		} else if (!islower((unsigned char)s[i]) &&
			   !isdigit((unsigned char)s[i])) {
			return false;
		}
	}
	if (words < 2 || !islower((unsigned char)s[0]))
		return false;
	last = strrchr(s, '-') + 1;
	return strspn(last, "0123456789") == strlen(last);
}
