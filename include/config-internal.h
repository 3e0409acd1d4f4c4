/* config-internal.h - shared between the config_*.c files only: the
 * readers, validation, and the helpers of config_keys.c and config_arn.c.
 * The raw key store and the error list they all use are in config_raw.h,
 * one level below. */
#ifndef PR_CONFIG_INTERNAL_H
#define PR_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "config_raw.h"

/* config_key_lookup() for a name of len bytes (not NUL-terminated). */
int config_key_lookup_n(const char *name, size_t len);

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
bool config_is_region(const char *s);

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

#endif
