/* cmd_policy.c - `policy`: print the IAM policy the config needs.
 *
 *   personalize-retrain [-c FILE] policy [-p PIPELINE] [--import-role]
 *
 * Without --import-role: the identity policy of the daemon's credentials
 * (for aws iam put-role-policy --policy-document file://...). With it: the
 * import role's trust policy and S3 read policy. See include/policy.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exitcodes.h"
#include "policy.h"

int cmd_policy(const struct cli_options *opt, int argc, char **argv)
{
	enum { OPT_IMPORT_ROLE = 256 };
	static const struct option longopts[] = {
		{ "pipeline", required_argument, NULL, 'p' },
		{ "import-role", no_argument, NULL, OPT_IMPORT_ROLE },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	const char *only = NULL;
	bool import_role = false;
	char *text = NULL, err[512] = "";
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			only = optarg;
			break;
		case OPT_IMPORT_ROLE:
			import_role = true;
			break;
		case ':':
			return cli_usage_error("policy: option %s needs an "
					       "argument", argv[optind - 1]);
		default:
			return cli_usage_error("policy: unknown option %s",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("policy: unexpected argument \"%s\"",
				       argv[optind]);
	r = cli_load_config_for(opt, only, &cfg);
	if (r)
		return r;
	if (import_role)
		r = policy_import_role(cfg, only, &text, err, sizeof(err));
	else
		r = policy_identity(cfg, only, &text);
	config_free(cfg);
	if (r == -EINVAL) {
		fprintf(stderr, "%s: policy --import-role: %s\n", CLI_PROGRAM,
			err);
		return PR_EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "%s: policy: %s\n", CLI_PROGRAM, strerror(-r));
		return PR_EXIT_SOFTWARE;
	}
	fputs(text, stdout);
	free(text);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s: policy: cannot write: %s\n", CLI_PROGRAM,
			strerror(errno));
		return PR_EXIT_SOFTWARE;
	}
	return PR_EXIT_OK;
}
