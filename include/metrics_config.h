/* metrics_config.h - the config check of MetricsFile, implemented in
 * metrics.c. Apart from metrics.h (which includes it) so that config
 * validation, a pure module, can call it without reaching the AWS client,
 * curl, sd-event or cJSON. */
#ifndef PR_METRICS_CONFIG_H
#define PR_METRICS_CONFIG_H

#include <stddef.h>

/* MetricsFile= config check: an absolute path whose name ends in ".prom"
 * (node_exporter's textfile collector reads only those) in a directory
 * that exists. 0; -EINVAL or -ENOENT / -ENOTDIR with a sentence in err
 * (the caller prefixes "file:line: MetricsFile: "). */
int metrics_check_path(const char *path, char *err, size_t errlen);

#endif
