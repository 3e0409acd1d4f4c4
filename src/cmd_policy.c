/* cmd_policy.c - `policy`: print the IAM policy the config needs.
 *
 *   personalize-retrain [-c FILE] policy [-p PIPELINE] [--import-role|--batch-role]
 *
 * Without an option: the identity policy of the daemon's credentials
 * (for aws iam put-role-policy --policy-document file://...). With
 * --import-role: the import role's trust policy and S3 policy; with
 * --batch-role: the same for the role the batch jobs run as. See
 * include/policy.h. */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exitcodes.h"
#include "policy.h"

int cmd_policy(const struct cli_options *opt, int argc, char **argv)
{
	struct config *cfg = NULL;
	const char *only = NULL;
	bool import_role = false, batch_role = false;
	const struct cli_opt opts[] = {
		CLI_OPT_PIPELINE(&only),
		{ "import-role", '\0', NULL, &import_role },
		{ "batch-role", '\0', NULL, &batch_role },
		CLI_OPT_END,
	};
	char *text = NULL, err[512] = "";
	int r;

	r = cli_parse_and_load(opt, argc, argv, opts, &only, &cfg);
	if (r != CLI_PARSED)
		return r;
	if (import_role && batch_role) {
		config_free(cfg);
		fprintf(stderr, "%s: policy: --import-role and --batch-role "
			"print different documents: give one\n", CLI_PROGRAM);
		return PR_EXIT_USAGE;
	}
	if (import_role)
		r = policy_import_role(cfg, only, &text, err, sizeof(err));
	else if (batch_role)
		r = policy_batch_role(cfg, only, &text, err, sizeof(err));
	else
		r = policy_identity(cfg, only, &text);
	config_free(cfg);
	if (r == -EINVAL || r == -ENODATA) {
		fprintf(stderr, "%s: policy %s: %s\n", CLI_PROGRAM,
			import_role ? "--import-role" : "--batch-role", err);
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
