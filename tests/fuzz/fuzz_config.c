/* fuzz_config.c - libFuzzer harness for the config readers and validator.
 *
 * Every input is loaded twice, as parameters.cfg and as YAML, from memory.
 * A load must either succeed with a complete config or fail with at least
 * one "file:line" error, never crash, leak or read out of bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(enum config_format fmt, const uint8_t *data, size_t size)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	int r;

	r = config_load_buffer("fuzz", fmt, (const char *)data, size, &cfg,
			       &errs);
	if (r == 0) {
		size_t i;

		if (!cfg || cfg->n == 0 || errs.n)
			abort();
		for (i = 0; i < cfg->n; i++)
			if (!cfg->pipelines[i].name ||
			    !cfg->pipelines[i].schedule ||
			    !cfg->pipelines[i].solution_arn ||
			    cfg->pipelines[i].n_datasets == 0)
				abort();
	} else if (r == -EINVAL && errs.n == 0 && !errs.oom) {
		abort(); /* rejected without saying why */
	}
	config_free(cfg);
	config_errors_free(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load(CONFIG_FORMAT_CFG, data, size);
	load(CONFIG_FORMAT_YAML, data, size);
	return 0;
}
