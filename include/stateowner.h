/* stateowner.h - which config a state directory belongs to.
 *
 * The daemon records the config it runs with in <dir>/.config (its
 * absolute path, one line) when it takes the directory's lock; status,
 * rollback and once refuse a state directory recorded for another config
 * instead of answering about the wrong pipeline. */
#ifndef PR_STATEOWNER_H
#define PR_STATEOWNER_H

#include <stddef.h>

#define STATEOWNER_FILE ".config"

/* Write config_path's absolute form into dir/.config (replaced
 * atomically). 0 or -errno. */
int stateowner_record(const char *dir, const char *config_path);

/* 0: dir has no record, or it names config_path (compared as absolute,
 * resolved paths); -EXDEV: it names another config (err says which, and
 * what to do); other -errno: the record cannot be read (err). */
int stateowner_check(const char *dir, const char *config_path, char *err,
		     size_t errlen);

#endif
