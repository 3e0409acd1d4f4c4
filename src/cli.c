/* cli.c - global options, the command table and --help; see include/cli.h. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "exitcodes.h"
#include "log.h"
#include "wallclock.h"

#ifndef PR_VERSION /* set by the Makefile; not by every build (fuzz) */
#define PR_VERSION "unknown"
#endif

static const char *const next_details[] = {
	"-n, --count N        how many fire times to print (default 5)",
	"--from TIME          start after TIME, ISO-8601 UTC such as",
	"                     2026-11-25T12:00:00Z (default: now); for rate()",
	"                     TIME is the anchor and the first line TIME + period",
	"--timezone ZONE      read a cron() EXPRESSION in this IANA time zone",
	"-p, --pipeline NAME  use this pipeline's schedule (configs with several)",
	"EXPRESSION           rate(...) or cron(...); then no config is read",
	NULL,
};

static const char *const check_details[] = {
	"-q, --quiet          print nothing; the exit status only (0 valid,",
	"                     78 not; ExecReload= of the units)",
	"--online             then Describe every ARN at AWS: each exists and",
	"                     has the right type, the datasets belong to the",
	"                     solution's dataset group, the campaign serves the",
	"                     solution; warn when performAutoTraining is on",
	NULL,
};

static const char *const run_details[] = {
	"the daemon (systemd Type=notify): every pipeline of the config on its",
	"schedule; SIGHUP re-reads the config, SIGTERM saves and stops (jobs",
	"in progress keep running at AWS and are adopted at the next start)",
	NULL,
};

static const char *const once_details[] = {
	"one full cycle now, in the foreground (fire time: now, to the",
	"minute); an unfinished run in the state is finished instead",
	"--dry-run            print the calls it would make, with their JSON",
	"                     bodies, and make none",
	"-p, --pipeline NAME  only this pipeline (configs with several)",
	"exit 0 succeeded (or skipped: no new data, or superseded by a newer",
	"deploy), 1 a job failed, a call was rejected or the version was",
	"gated, 69 the service stayed unreachable, 74 the state could not be",
	"saved (the run stopped before its next call),",
	"78 config error (or the state directory is locked by another process",
	"or unusable)",
	NULL,
};

static const char *const status_details[] = {
	"per pipeline: stage, current job ARNs, next fire time, the serving",
	"and previous campaign versions, last runs with duration and outcome",
	"(succeeded, failed, unreachable, gated or skipped); reads the state",
	"directory (no lock), works while the daemon runs; says whether a",
	"daemon holds the state directory (its PID), and when none does that",
	"a run in progress resumes at the next start",
	"--json               one JSON object on stdout",
	"-p, --pipeline NAME  only this pipeline",
	NULL,
};

static const char *const rollback_details[] = {
	"put the campaign back on the version it served before the last",
	"deploy (kept in the state), or on --to's (ACTIVE, of this solution);",
	"waits until latestCampaignUpdate is ACTIVE; refused while a run of",
	"the pipeline is gating or deploying; takes the state directory's",
	"lock, so stop the daemon first (systemctl stop) and start it after",
	"--to ARN             the solution version to serve",
	"-p, --pipeline NAME  the pipeline (needed when there are several)",
	"exit 0 done, 1 refused or failed, 2 bad arguments or no CampaignArn,",
	"69 the service stayed unreachable, 78 config error or locked",
	NULL,
};

static const char *const policy_details[] = {
	"the IAM identity policy (JSON) the daemon's credentials need for",
	"this config: every action a run, adoption, rollback, the quality",
	"gate, SkipUnchangedData and check --online can call, each on the",
	"config's own resources (* only for the List calls); iam:PassRole on",
	"ImportRoleArn for personalize.amazonaws.com only",
	"-p, --pipeline NAME  only this pipeline (default: all, merged)",
	"--import-role        instead the import role's trust policy and its",
	"                     S3 policy, as one JSON object",
	"--batch-role         the same for the role the batch jobs run as",
	NULL,
};

static const char *const credentials_details[] = {
	"resolve the AWS credentials as run does (environment, systemd",
	"credentials, profile, container, instance metadata) and print the",
	"source and the access key id's last 4 characters, never a secret;",
	"exit 0 found, 78 none, 69 no answer in time",
	NULL,
};

const struct cli_command cli_commands[] = {
	{ "check", "[--online | --quiet]",
	  "validate the config; print a summary and the next fire time",
	  check_details, cmd_check },
	{ "run", "",
	  "run the daemon: retrain every pipeline on its schedule",
	  run_details, cmd_run },
	{ "once", "[--dry-run] [-p PIPELINE]",
	  "run one retraining cycle now and exit with its outcome",
	  once_details, cmd_once },
	{ "status", "[--json] [-p PIPELINE]",
	  "show each pipeline's run in progress, last runs and next fire time",
	  status_details, cmd_status },
	{ "rollback", "[--to SOLUTION_VERSION_ARN] [-p PIPELINE]",
	  "put the campaign back on its previous solution version",
	  rollback_details, cmd_rollback },
	{ "credentials", "",
	  "show where the AWS credentials come from (no secret)",
	  credentials_details, cmd_credentials },
	{ "next", "[-n N] [--from TIME] [--timezone ZONE] [-p NAME] [EXPRESSION]",
	  "print the next fire times of the schedule, in UTC",
	  next_details, cmd_next },
	{ "policy", "[-p PIPELINE] [--import-role|--batch-role]",
	  "print the IAM policy the daemon needs for this config",
	  policy_details, cmd_policy },
};
const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);

static const struct { int code; const char *meaning; } exit_codes[] = {
	{ PR_EXIT_OK, "success" },
	{ PR_EXIT_RUN_FAILED, "a run failed or was rejected" },
	{ PR_EXIT_USAGE, "bad command line" },
	{ PR_EXIT_UNAVAILABLE, "the service stayed unavailable" },
	{ PR_EXIT_SOFTWARE, "internal error" },
	{ PR_EXIT_IOERR, "the state could not be saved" },
	{ PR_EXIT_CONFIG, "configuration error" },
};

int cli_instance_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n >= 1 && n <= 28 &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_-") == n;
}

static const char *const config_exts[] = { "cfg", "yaml", "yml" };

const char *cli_config_path(const struct cli_options *opt)
{
	static char inst[256];
	const char *env;
	size_t i;

	if (opt && opt->config_path)
		return opt->config_path;
	if (opt && opt->instance) {
		/* the first that exists in the order cfg, yaml, yml */
		for (i = 0; i < sizeof(config_exts) / sizeof(config_exts[0]); i++) {
			snprintf(inst, sizeof(inst), "%s/%s.%s", CLI_CONFIG_DIR,
				 opt->instance, config_exts[i]);
			if (access(inst, F_OK) == 0)
				return inst;
		}
		snprintf(inst, sizeof(inst), "%s/%s.cfg", CLI_CONFIG_DIR,
			 opt->instance);
		return inst;
	}
	env = getenv(CONFIG_ENV_PATH);
	if (env && *env)
		return env;
	return CONFIG_DEFAULT_PATH;
}

/* NAME of a config /etc/personalize-retrain/NAME.{cfg,yaml,yml} that
 * belongs to the instance personalize-retrain@NAME, into name; else 0. */
static int instance_of_config(const char *path, char *name, size_t len)
{
	const char *base, *dot;
	size_t n = strlen(CLI_CONFIG_DIR), i;

	if (strncmp(path, CLI_CONFIG_DIR "/", n + 1))
		return 0;
	base = path + n + 1;
	dot = strrchr(base, '.');
	if (!dot || (size_t)(dot - base) >= len)
		return 0;
	for (i = 0; i < sizeof(config_exts) / sizeof(config_exts[0]); i++)
		if (!strcmp(dot + 1, config_exts[i]))
			break;
	if (i == sizeof(config_exts) / sizeof(config_exts[0]))
		return 0;
	memcpy(name, base, (size_t)(dot - base));
	name[dot - base] = '\0';
	return cli_instance_name_ok(name) && strcmp(name, "parameters");
}

const char *cli_state_dir(const struct cli_options *opt)
{
	static char inst[256];
	char name[64];
	const char *env;

	if (opt && opt->state_dir)
		return opt->state_dir;
	if (opt && opt->instance) {
		snprintf(inst, sizeof(inst), "%s%s", CLI_INSTANCE_STATE_PREFIX,
			 opt->instance);
		return inst;
	}
	env = getenv("STATE_DIRECTORY");
	if (env && *env)
		return env;
	if (instance_of_config(cli_config_path(opt), name, sizeof(name))) {
		snprintf(inst, sizeof(inst), "%s%s", CLI_INSTANCE_STATE_PREFIX,
			 name);
		return inst;
	}
	return CLI_DEFAULT_STATE_DIR;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", CLI_PROGRAM);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", CLI_PROGRAM);
	return PR_EXIT_USAGE;
}

int cli_parse_options(int argc, char **argv, const struct cli_opt *opts)
{
	struct option longopts[CLI_MAX_OPTS + 1];
	char shortopts[3 + 2 * CLI_MAX_OPTS] = "+:", *sp = shortopts + 2;
	const struct cli_opt *o;
	size_t n = 0;
	int c;

	for (o = opts; o->name && n < CLI_MAX_OPTS; o++, n++) {
		/* the short letter is getopt's value; else 256 + index */
		longopts[n] = (struct option){
			o->name, o->value ? required_argument : no_argument,
			NULL, o->short_name ? o->short_name : 256 + (int)n };
		if (o->short_name) {
			*sp++ = o->short_name;
			if (o->value)
				*sp++ = ':';
		}
	}
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	*sp = '\0';
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == ':')
			return cli_usage_error("%s: option %s needs an argument",
					       argv[0], argv[optind - 1]);
		for (o = opts; o - opts < (ptrdiff_t)n; o++)
			if (c == (o->short_name ? o->short_name
				  : 256 + (int)(o - opts)))
				break;
		if (o - opts == (ptrdiff_t)n)
			return cli_usage_error("%s: unknown option %s", argv[0],
					       argv[optind - 1]);
		if (o->value) {
			*o->value = optarg;
		} else if (o->flag) {
			*o->flag = true;
		} else {
			cli_help(stdout);
			return PR_EXIT_OK;
		}
	}
	if (optind < argc)
		return cli_usage_error("%s: unexpected argument \"%s\"",
				       argv[0], argv[optind]);
	return CLI_PARSED;
}

int cli_parse_and_load(const struct cli_options *opt, int argc, char **argv,
		       const struct cli_opt *opts, const char *const *only,
		       struct config **out)
{
	int r = cli_parse_options(argc, argv, opts);

	if (r != CLI_PARSED)
		return r;
	r = cli_load_config_for(opt, *only, out);
	return r ? r : CLI_PARSED;
}

static void help_key(FILE *f, const struct config_key_info *k)
{
	fprintf(f, "  %-32s %s", k->name, k->type_doc);
	if (k->type == CONFIG_TYPE_SECONDS)
		fprintf(f, " (or with s, m, h, d: 5m)");
	if (k->required)
		fprintf(f, ", required");
	else if (k->def_doc)
		fprintf(f, ", default: %s", k->def_doc);
	else if (k->def)
		fprintf(f, ", default: %s", k->def);
	else
		fprintf(f, ", default: unset");
	if (k->type == CONFIG_TYPE_SECONDS || k->type == CONFIG_TYPE_UINT)
		fprintf(f, ", %lu..%lu", k->min, k->max);
	if (k->scope == CONFIG_SCOPE_GLOBAL)
		fprintf(f, ", global");
	fprintf(f, "\n      %s\n", k->description);
}

void cli_help(FILE *f)
{
	size_t i;
	int k;

	fprintf(f,
		"usage: %s [-c FILE | -i NAME] [--state-dir DIR] "
		"[--log-level LEVEL] COMMAND [ARGS]\n"
		"\n"
		"Keep an Amazon Personalize deployment fresh: re-import the "
		"datasets, train a\nnew solution version and update the "
		"campaign on an EventBridge schedule.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE    config file, Key=Value (parameters.cfg) "
		"or YAML (.yaml/.yml)\n"
		"                       default: $%s, else %s\n"
		"  -i, --instance NAME  the instance personalize-retrain@NAME: "
		"config\n"
		"                       %s/NAME.cfg (.yaml, .yml),\n"
		"                       state %sNAME\n"
		"      --state-dir DIR  run state directory (default: -i's, "
		"$STATE_DIRECTORY,\n"
		"                       NAME's for a config %s/NAME.cfg, else\n"
		"                       %s)\n"
		"      --log-level LEVEL  error, warning, notice, info or debug "
		"(default: $%s,\n"
		"                       else info)\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Commands:\n", CLI_PROGRAM, CONFIG_ENV_PATH, CONFIG_DEFAULT_PATH,
		CLI_CONFIG_DIR, CLI_INSTANCE_STATE_PREFIX, CLI_CONFIG_DIR,
		CLI_DEFAULT_STATE_DIR, CLI_LOG_LEVEL_ENV);
	for (i = 0; i < cli_n_commands; i++) {
		const struct cli_command *c = &cli_commands[i];
		const char *const *d;

		fprintf(f, "  %s%s%s\n      %s\n", c->name, *c->args ? " " : "",
			c->args, c->summary);
		for (d = c->details; d && *d; d++)
			fprintf(f, "      %s\n", *d);
	}
	fprintf(f, "\nExit status:\n");
	for (i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		fprintf(f, "  %3d  %s\n", exit_codes[i].code,
			exit_codes[i].meaning);
	fprintf(f, "\nConfig keys (parameters.cfg: Key=Value, one per line, "
		"empty value = unset;\nYAML: Key: value; see "
		"personalize-retrain.cfg(5)):\n");
	for (k = 0; k < CONFIG_KEY_COUNT; k++)
		help_key(f, &config_keys[k]);
}

/* "check, next": the commands that exist, for usage errors. */
static const char *command_names(void)
{
	static char buf[256];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < cli_n_commands && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					i ? ", " : "", cli_commands[i].name);
	return buf;
}

static const struct cli_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < cli_n_commands; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

int cli_main(int argc, char **argv)
{
	enum { OPT_STATE_DIR = 256, OPT_LOG_LEVEL };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "instance", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_options opt = { .log_level = LOG_INFO };
	const struct cli_command *cmd;
	bool level_given = false;
	int c;

	opterr = 0;
	optind = 0; /* full reinitialisation (GNU), so tests may call twice */
	while ((c = getopt_long(argc, argv, "+:c:i:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.config_path = optarg;
			break;
		case 'i':
			if (!cli_instance_name_ok(optarg))
				return cli_usage_error("-i: \"%s\" is not an "
						       "instance name (letters, "
						       "digits, '_' and '-', at "
						       "most 28)", optarg);
			opt.instance = optarg;
			break;
		case OPT_STATE_DIR:
			opt.state_dir = optarg;
			break;
		case OPT_LOG_LEVEL:
			opt.log_level = log_parse_level(optarg);
			level_given = true;
			if (opt.log_level < 0)
				return cli_usage_error("--log-level: unknown "
						       "level \"%s\"; use error, "
						       "warning, notice, info or "
						       "debug", optarg);
			break;
		case 'h':
			cli_help(stdout);
			return PR_EXIT_OK;
		case 'V':
			printf("%s %s\n", CLI_PROGRAM, PR_VERSION);
			return PR_EXIT_OK;
		case ':':
			return cli_usage_error("option %s needs an argument",
					       argv[optind - 1]);
		default:
			return cli_usage_error("unknown option %s",
					       argv[optind - 1]);
		}
	}
	/* No --log-level: $LOG_LEVEL (a drop-in's Environment=LOG_LEVEL=debug
	 * sets the service's without touching ExecStart=). */
	if (!level_given) {
		const char *env = getenv(CLI_LOG_LEVEL_ENV);

		if (env && *env) {
			opt.log_level = log_parse_level(env);
			if (opt.log_level < 0)
				return cli_usage_error("$%s: unknown level \"%s\"; "
						       "use error, warning, notice, "
						       "info or debug",
						       CLI_LOG_LEVEL_ENV, env);
		}
	}
	log_init(LOG_TARGET_AUTO, opt.log_level);
	if (wallclock_init() < 0)
		return PR_EXIT_CONFIG; /* logged there */
	if (optind >= argc)
		return cli_usage_error("no command given; commands: %s",
				       command_names());
	cmd = find_command(argv[optind]);
	if (!cmd)
		return cli_usage_error("unknown command \"%s\"; commands: %s",
				       argv[optind], command_names());
	return cmd->run(&opt, argc - optind, argv + optind);
}
