/* state-internal.h - what state.c and state_json.c share; not an API. */
#ifndef PR_STATE_INTERNAL_H
#define PR_STATE_INTERNAL_H

#include <stddef.h>

#include "state.h"

/* The whole file text of a packed state with run (NULL: "run": null)
 * spliced in: 0 and *out (free()) / *outlen, or -errno. */
int state_packed_text(const struct state_packed *p, const struct rt_run *run,
		      char **out, size_t *outlen);

#endif
