/* creds_region.c - which AWS region to talk to; see include/creds.h. */
#include "creds-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Region names are short: "us-east-1", "us-gov-west-1", "cn-north-1". */
#define REGION_MAX_LEN 32

static bool plausible_region(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= REGION_MAX_LEN &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	       s[0] != '-' && s[n - 1] != '-';
}

int creds_region_from_arn(const char *arn, char *out, size_t cap)
{
	const char *p, *f[3];
	size_t i, n;

	if (!arn || !out || strncmp(arn, "arn:", 4) != 0)
		return -EINVAL;
	/* arn:partition:service:region:account:resource */
	p = arn;
	for (i = 0; i < 3; i++) {
		p = strchr(p, ':');
		if (!p)
			return -EINVAL;
		f[i] = ++p;
	}
	if (!strchr(f[2], ':'))
		return -EINVAL;
	n = (size_t)(strchr(f[2], ':') - f[2]);
	if (n == 0)
		return -EINVAL;
	if (n >= cap)
		return -ENOSPC;
	memcpy(out, f[2], n);
	out[n] = '\0';
	return 0;
}

int creds_region_resolve(const char *config_region, const char *profile,
			 const char *const *arns, size_t n_arns, char **out,
			 const char **source)
{
	char buf[REGION_MAX_LEN + 1];
	const char *v = NULL, *from = NULL;
	char *owned = NULL;
	size_t i;
	int r;

	if (!out)
		return -EINVAL;
	if (config_region && *config_region) {
		v = config_region;
		from = "config";
	} else if ((v = getenv("AWS_REGION")) && *v) {
		from = "AWS_REGION";
	} else if ((v = getenv("AWS_DEFAULT_REGION")) && *v) {
		from = "AWS_DEFAULT_REGION";
	} else {
		v = NULL;
		r = creds_profile_region(profile, &owned);
		if (r == 0) {
			v = owned;
			from = "profile";
		} else if (r != -ENOENT) {
			return r;
		}
	}
	for (i = 0; !v && arns && i < n_arns; i++) {
		if (arns[i] && creds_region_from_arn(arns[i], buf,
						     sizeof(buf)) == 0) {
			v = buf;
			from = "arn";
		}
	}
	if (!v)
		return -ENOENT;
	if (!plausible_region(v)) {
		log_error("AWS region from %s is not a region name (letters, "
			  "digits and '-', like \"eu-west-1\")", from);
		free(owned);
		return -EINVAL;
	}
	*out = owned ? owned : strdup(v);
	if (!*out)
		return -ENOMEM;
	if (source)
		*source = from;
	return 0;
}
