/* emu-model-internal.h - the loaded service model, for emu_model.c and
 * its unit test (which checks every pattern of the model is enforced). */
#ifndef EMU_MODEL_INTERNAL_H
#define EMU_MODEL_INTERNAL_H

#include <locale.h>
#include <regex.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

/* One "pattern" of the model, translated from Java to a POSIX ERE. */
struct emu_pattern {
	char *shape;
	regex_t re;
	bool ok;              /* it compiled: the pattern is enforced */
	struct emu_pattern *next;
};

struct emu_model {
	cJSON *root;
	const cJSON *shapes;
	const cJSON *operations;
	struct emu_pattern *patterns;
	/* LC_CTYPE of C.UTF-8 for compiling and matching the patterns, so
	 * that \p{L} ([:alpha:]) matches a letter beyond ASCII as Java's
	 * regex does (tag values, say); (locale_t)0 when the system has no
	 * such locale: then only ASCII letters match */
	locale_t utf8;
};

#endif
