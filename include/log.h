/* log.h - one logging path for the whole program.
 *
 * Under systemd (JOURNAL_STREAM names our stderr, or the journal socket is
 * there and log_init() was asked to use it) messages go to journald through
 * its native protocol with structured fields; otherwise one plain line per
 * message on stderr: "personalize-retrain: <level>: <message>".
 *
 * Priorities are syslog's (LOG_ERR ... LOG_DEBUG from <syslog.h>).
 * NEVER pass a secret (secret key, session token, signing key, signature
 * material) to any of these functions: nothing here can redact it. */
#ifndef PR_LOG_H
#define PR_LOG_H

#include <stdarg.h>
#include <syslog.h>

#define PR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

enum log_target {
	LOG_TARGET_AUTO = 0, /* journal when JOURNAL_STREAM matches stderr */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
};

/* Choose where messages go and the most verbose priority that is logged. */
void log_init(enum log_target target, int max_priority);
/* The program name on every line and in SYSLOG_IDENTIFIER= (default
 * "personalize-retrain"; the emulator names itself); NULL: the default.
 * ident must outlive the logging (a string literal). */
void log_set_identifier(const char *ident);
void log_set_max_priority(int max_priority);
/* Parse "error|warning|notice|info|debug" (or 3..7); -EINVAL if unknown. */
int log_parse_level(const char *s);

/* Where a message was logged from: the journal's CODE_FILE=, CODE_LINE=
 * and CODE_FUNC= (file NULL: none of them). log_msg() and log_struct()
 * are macros that pass their caller's. */
struct log_location {
	const char *file;
	int line;
	const char *func;
};
#define LOG_HERE ((const struct log_location){ __FILE__, __LINE__, __func__ })

/* Plain message. */
void log_msg_at(struct log_location at, int priority, const char *fmt, ...)
	PR_PRINTF(3, 4);
#define log_msg(...) log_msg_at(LOG_HERE, __VA_ARGS__)

/* Structured message. fields is a NULL-terminated array of "KEY=value"
 * strings (journal field names: upper case, digits, underscore); NULL or
 * empty-valued entries are skipped. On stderr the fields that an operator
 * needs (PIPELINE, STAGE, JOB_ARN, AWS_REQUEST_ID) are shown after the text
 * as key=value pairs. */
void log_struct_at(struct log_location at, int priority,
		   const char *const *fields, const char *fmt, ...)
	PR_PRINTF(4, 5);
#define log_struct(...) log_struct_at(LOG_HERE, __VA_ARGS__)
/* As log_struct(), without a code location (for wrappers that take a
 * va_list: their own location would mislead). */
void log_structv(int priority, const char *const *fields, const char *fmt,
		 va_list ap) PR_PRINTF(3, 0);
void log_structv_at(struct log_location at, int priority,
		    const char *const *fields, const char *fmt, va_list ap)
	PR_PRINTF(4, 0);

/* Test hook: every formatted line also goes to this sink (NULL to stop).
 * Lets the secret-scanning tests see exactly what would be logged. */
typedef void (*log_sink_fn)(int priority, const char *line, void *userdata);
void log_set_sink(log_sink_fn fn, void *userdata);

#define log_error(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
