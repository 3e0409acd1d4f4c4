/* config_raw.h - the bottom of the config module, below the readers, the
 * validation and config.c: the raw key store and the error list.
 *
 * Loading is two stages: a reader (config_parse_cfg.c, config_parse_yaml.c)
 * turns the file into raw text values with their line numbers, reporting
 * syntax problems, unknown and duplicate keys; then config_validate.c turns
 * the raw values into the typed struct config, reporting everything else.
 * Both stages keep their values here and report through the error list;
 * config.c runs them in order. Only the config_*.c files include this. */
#ifndef PR_CONFIG_RAW_H
#define PR_CONFIG_RAW_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "attrs.h" /* PR_PRINTF */
#include "strbuf.h"

/* Longest part of a value quoted back in a message. */
#define CONFIG_QUOTE_MAX 96

struct config_raw_value {
	bool present;            /* the key appeared (possibly empty) */
	char *value;             /* NULL when empty (= unset) */
	unsigned line;
	bool invalid;            /* given, but unusable (already reported) */
};

struct config_raw_scope {
	struct config_raw_value v[CONFIG_KEY_COUNT];
	unsigned line;           /* where the scope starts */
};

struct config_raw {
	const char *file;
	struct config_raw_scope top;      /* top level: defaults and globals */
	struct config_raw_scope *pipelines; /* YAML `pipelines:` entries */
	size_t n;
	bool has_list;           /* a `pipelines:` list was given */
	unsigned end_line;       /* last line of the file (>= 1) */
	const char *assign;      /* "=" or ": ", for "write Key=value" hints */
	bool fatal;              /* a syntax error stopped the reader */
};

/* Append one message; a failed allocation sets errs->oom. */
void config_errors_add(struct config_errors *errs, const char *file,
		       unsigned line, const char *fmt, ...) PR_PRINTF(4, 5);
void config_errors_addv(struct config_errors *errs, const char *file,
			unsigned line, const char *fmt, va_list ap)
	PR_PRINTF(4, 0);
/* Sort the messages of src by file and line (stable) and append them to
 * dst (dst may be NULL: dropped); src is left empty. */
void config_errors_move(struct config_errors *dst, struct config_errors *src);

/* Append value to sb in double quotes, control and non-ASCII bytes as
 * \xNN, cut after CONFIG_QUOTE_MAX bytes with "...". */
void config_quote(struct strbuf *sb, const char *value, size_t len);

/* Record key = value (len bytes; len 0: unset) at line in scope. A second
 * setting of the same key in one scope is an error (the first one wins).
 * 0 or -ENOMEM. */
int config_raw_set(struct config_raw *raw, struct config_raw_scope *scope,
		   int key, const char *value, size_t len, unsigned line,
		   struct config_errors *errs);
/* Record that key was given at line but its value is unusable (the
 * reader has reported why), so no "missing" error follows. */
void config_raw_set_invalid(struct config_raw_scope *scope, int key,
			    unsigned line);
/* Report an unknown key name with the nearest known one suggested. */
void config_raw_unknown_key(struct config_raw *raw, const char *name,
			    size_t len, unsigned line,
			    struct config_errors *errs);
void config_raw_free(struct config_raw *raw);

#endif
