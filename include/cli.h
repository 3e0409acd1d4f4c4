/* cli.h - the command line of personalize-retrain.
 *
 *   personalize-retrain [-c FILE] [--state-dir DIR] [--log-level L] COMMAND [ARGS]
 *
 * Global options come before the command; each command parses its own
 * arguments. A command is one entry of cli_commands[] and one cmd_*.c
 * file: later commands (run, once, status) slot in by adding both. */
#ifndef PR_CLI_H
#define PR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_PROGRAM "personalize-retrain"
/* Where run state lives when neither --state-dir nor $STATE_DIRECTORY say. */
#define CLI_DEFAULT_STATE_DIR "/var/lib/personalize-retrain"

/* The log level when --log-level is not given (then info). */
#define CLI_LOG_LEVEL_ENV "LOG_LEVEL"

/* An instance NAME of personalize-retrain@.service: its config and state. */
#define CLI_CONFIG_DIR "/etc/personalize-retrain"
#define CLI_INSTANCE_STATE_PREFIX "/var/lib/personalize-retrain-"

/* What the global options said. */
struct cli_options {
	const char *config_path; /* -c; NULL: -i's, $PARAMS_FILE, the default */
	const char *state_dir;   /* --state-dir; NULL: default */
	int log_level;           /* syslog priority */
	const char *instance;    /* -i NAME; NULL: none */
};

/* A command: argv[0] is the command name, options follow. Returns the
 * process exit status (include/exitcodes.h). */
typedef int (*cli_command_fn)(const struct cli_options *opt, int argc,
			      char **argv);

struct cli_command {
	const char *name;
	const char *args;        /* synopsis after the name */
	const char *summary;     /* one line */
	const char *const *details; /* NULL-terminated option lines */
	cli_command_fn run;
};

extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;

/* The whole command line: parse, dispatch, return the exit status. */
int cli_main(int argc, char **argv);

/* Print --help (options, commands, exit codes, config keys) to f. */
void cli_help(FILE *f);

/* The config file to read: -c; else with -i NAME the first of
 * /etc/personalize-retrain/NAME.cfg, .yaml, .yml that exists (else .cfg);
 * else $PARAMS_FILE, else the default. */
const char *cli_config_path(const struct cli_options *opt);
/* The state directory: --state-dir; else with -i NAME
 * /var/lib/personalize-retrain-NAME; else $STATE_DIRECTORY; else for a
 * config /etc/personalize-retrain/NAME.cfg (.yaml, .yml; NAME not
 * "parameters") the instance's, /var/lib/personalize-retrain-NAME; else
 * the default. */
const char *cli_state_dir(const struct cli_options *opt);
/* 1 if name can be an instance name (letters, digits, '_', '-'; 1 to 28
 * characters, as make deploy allows), else 0. */
int cli_instance_name_ok(const char *name);

/* Report a usage error ("personalize-retrain: <msg>" and a hint to
 * --help) on stderr; returns PR_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One option of a command: its long name, its short letter ('\0': none)
 * and what it does: with value, it takes an argument, stored there; with
 * flag, it takes none and sets *flag; with neither, it is the help. */
struct cli_opt {
	const char *name;
	char short_name;
	const char **value;
	bool *flag;
};
#define CLI_MAX_OPTS 8
/* The options most commands share, and the table's end. */
#define CLI_OPT_PIPELINE(only) { "pipeline", 'p', (only), NULL }
#define CLI_OPT_HELP { "help", 'h', NULL, NULL }
#define CLI_OPT_END { NULL, '\0', NULL, NULL }

/* cli_parse_options() returns this when the command goes on. */
#define CLI_PARSED (-1)

/* Parse the options of the command argv[0] (getopt_long, POSIX order)
 * into opts, a table of at most CLI_MAX_OPTS ended by a NULL name. The
 * command takes no operands. CLI_PARSED; else the exit status to return:
 * PR_EXIT_OK after the help was printed, PR_EXIT_USAGE after a usage
 * error (an unknown option, a missing argument, an operand). */
int cli_parse_options(int argc, char **argv, const struct cli_opt *opts);

struct config;
/* Load the config cli_config_path() names. On success 0 and *out set; on
 * failure every error is printed on stderr and the exit status returned
 * (PR_EXIT_CONFIG, or PR_EXIT_SOFTWARE when out of memory). */
int cli_load_config(const struct cli_options *opt, struct config **out);
/* cli_load_config(), and when only is not NULL, check that the config has
 * a pipeline of that name (else the error on stderr, nothing allocated and
 * PR_EXIT_CONFIG). For the commands that take -p PIPELINE. */
int cli_load_config_for(const struct cli_options *opt, const char *only,
			struct config **out);
/* cli_parse_options(), then cli_load_config_for() with the pipeline the
 * options left in *only: CLI_PARSED and *out, or the exit status to
 * return. */
int cli_parse_and_load(const struct cli_options *opt, int argc, char **argv,
		       const struct cli_opt *opts, const char *const *only,
		       struct config **out);

/* `check --online`: Describe every ARN of cfg at AWS, print a verdict per
 * check; 0 all good, 78 something is wrong (missing, mismatched), 69 AWS
 * could not be reached, 70 internal error. */
int cli_check_online(const struct config *cfg);

/* The commands. */
int cmd_check(const struct cli_options *opt, int argc, char **argv);
int cmd_next(const struct cli_options *opt, int argc, char **argv);
int cmd_run(const struct cli_options *opt, int argc, char **argv);
int cmd_once(const struct cli_options *opt, int argc, char **argv);
int cmd_status(const struct cli_options *opt, int argc, char **argv);
int cmd_rollback(const struct cli_options *opt, int argc, char **argv);
int cmd_policy(const struct cli_options *opt, int argc, char **argv);
int cmd_credentials(const struct cli_options *opt, int argc, char **argv);

#endif
