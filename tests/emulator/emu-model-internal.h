/* emu-model-internal.h - the loaded service model, for emu_model.c and
 * its unit test (which checks every pattern of the model is enforced). */
#ifndef EMU_MODEL_INTERNAL_H
#define EMU_MODEL_INTERNAL_H

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
};

#endif
