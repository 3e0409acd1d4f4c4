/* config_internal.h - shared between the config_*.c files only.
 *
 * Loading is two stages: a reader (config_parse_cfg.c, config_parse_yaml.c)
 * turns the file into raw text values with their line numbers, reporting
 * syntax problems, unknown and duplicate keys; then config_validate.c turns
 * the raw values into the typed struct config, reporting everything else. */
#ifndef PR_CONFIG_INTERNAL_H
#define PR_CONFIG_INTERNAL_H

#include <stdarg.h>

#include "config.h"
#include "log.h"
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

/* config_key_lookup() for a name of len bytes (not NUL-terminated). */
int config_key_lookup_n(const char *name, size_t len);

/* Append one message; a failed allocation sets errs->oom. */
void config_errors_add(struct config_errors *errs, const char *file,
		       unsigned line, const char *fmt, ...) PR_PRINTF(4, 5);
void config_errors_addv(struct config_errors *errs, const char *file,
			unsigned line, const char *fmt, va_list ap)
	PR_PRINTF(4, 0);

/* Append value to sb in double quotes, control and non-ASCII bytes as
 * \xNN, cut after CONFIG_QUOTE_MAX bytes with "...". */
void config_quote(struct strbuf *sb, const char *value, size_t len);

/* Record key = value (len bytes; len 0: unset) at line in scope. A second
 * setting of the same key in one scope is an error (the first one wins).
 * 0 or -ENOMEM. */
int config_raw_set(struct config_raw *raw, struct config_raw_scope *scope,
		   int key, const char *value, size_t len, unsigned line,
		   struct config_errors *errs);
/* Report an unknown key name with the nearest known one suggested. */
/* Record that key was given at line but its value is unusable (the
 * reader has reported why), so no "missing" error follows. */
void config_raw_set_invalid(struct config_raw_scope *scope, int key,
			    unsigned line);
void config_raw_unknown_key(struct config_raw *raw, const char *name,
			    size_t len, unsigned line,
			    struct config_errors *errs);
void config_raw_free(struct config_raw *raw);

/* Readers: fill raw from buf, append problems to errs; 0 or -ENOMEM. */
int config_parse_cfg(const char *buf, size_t len, struct config_raw *raw,
		     struct config_errors *errs);
int config_parse_yaml(const char *buf, size_t len, struct config_raw *raw,
		      struct config_errors *errs);

/* Raw values to the typed config; problems go to errs. 0 (also when
 * errors were found: check errs) or -ENOMEM. */
int config_validate(const struct config_raw *raw, struct config *cfg,
		    struct config_errors *errs);

/* An ARN split into its parts (pointers into buf). */
struct config_arn {
	char buf[260];
	const char *partition, *service, *region, *account, *resource;
	const char *type;        /* resource type: "solution", "role", ... */
	const char *name;        /* after "type/" */
};
/* Split s; 0, or -EINVAL with why (a sentence part) filled. */
int config_arn_split(const char *s, struct config_arn *arn, char *why,
		     size_t whylen);
bool config_is_name(const char *s, size_t max);

/* Tags (config_tags.c). A .cfg file gives the raw value as written,
 * "Key=Value,Key2=Value2". A YAML mapping is stored as CONFIG_TAGS_MAPPING
 * followed by one record per pair, "LINE KLEN VLEN:" then the key's and
 * the value's bytes, so any text survives and each pair keeps its line. */
#define CONFIG_TAGS_MAPPING '\x1e'
/* Append one pair of a mapping to sb (started with CONFIG_TAGS_MAPPING). */
void config_tags_put_pair(struct strbuf *sb, unsigned line, const char *key,
			  size_t klen, const char *value, size_t vlen);
/* The pipeline's tags: the top level's raw Tags merged with scope's (NULL:
 * the top level alone), every limit checked, into p->tags. 0: valid;
 * 1: errors were added to errs; -ENOMEM. */
int config_tags_build(const struct config_raw *raw,
		      const struct config_raw_scope *scope,
		      struct config_errors *errs, struct pipeline *p);
bool config_is_region(const char *s);

#endif
