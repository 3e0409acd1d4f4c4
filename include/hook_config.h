/* hook_config.h - the config check of OnRunEnd, implemented in hook.c.
 * Apart from hook.h (which includes it) so that config validation, a pure
 * module, can call it without reaching sd-event. */
#ifndef PR_HOOK_CONFIG_H
#define PR_HOOK_CONFIG_H

#include <stddef.h>

/* Config check (the config module prefixes "file:line: Key: ").
 * OnRunEnd: splits (0), or -EINVAL with "unterminated quote ..." / "empty
 * command". When the program holds a '/', it must be an executable file:
 * -ENOENT / -EACCES with a sentence. A bare name is looked up in PATH at
 * run time only. */
int hook_check_command(const char *s, char *err, size_t errlen);

#endif
