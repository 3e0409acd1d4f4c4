/* config.c - loading a config: file reading, format choice, the readers and
 * validation in order, freeing; see include/config.h. The error list and
 * the raw key store are config_raw.c's. */
#include "config-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config file larger than this is certainly not one. */
#define CONFIG_MAX_FILE_SIZE (4UL * 1024 * 1024)

enum config_format config_format_for_path(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (dot && !strchr(dot, '/') &&
	    (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0))
		return CONFIG_FORMAT_YAML;
	return CONFIG_FORMAT_CFG;
}

static void pipeline_clear(struct pipeline *p)
{
	size_t i;
	int t;

	free(p->name);
	free(p->import_role_arn);
	free(p->solution_arn);
	free(p->campaign_arn);
	for (t = 0; t < CONFIG_DATASET_COUNT; t++) {
		free(p->datasets[t].arn);
		free(p->datasets[t].s3_path);
	}
	free(p->schedule_expr);
	free(p->timezone);
	sched_free(p->schedule);
	free(p->endpoint_url);
	free(p->region);
	free(p->account);
	free(p->partition);
	free(p->quality_metric);
	free(p->s3_endpoint_url);
	free(p->on_run_end);
	free(p->event_bus_name);
	free(p->batch_input);
	free(p->batch_output);
	free(p->batch_role_arn);
	free(p->batch_filter_arn);
	for (i = 0; i < p->n_tags; i++) {
		free(p->tags[i].key);
		free(p->tags[i].value);
	}
	free(p->tags);
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n; i++)
		pipeline_clear(&cfg->pipelines[i]);
	free(cfg->pipelines);
	free(cfg->source);
	free(cfg->globals.metrics_file);
	free(cfg);
}

const struct pipeline *config_find_pipeline(const struct config *cfg,
					    const char *name)
{
	size_t i;

	if (!cfg || !name)
		return NULL;
	for (i = 0; i < cfg->n; i++)
		if (cfg->pipelines[i].name &&
		    strcmp(cfg->pipelines[i].name, name) == 0)
			return &cfg->pipelines[i];
	return NULL;
}

int config_load_buffer(const char *name, enum config_format fmt,
		       const char *buf, size_t len, struct config **out,
		       struct config_errors *errs)
{
	struct config_errors found = CONFIG_ERRORS_INIT;
	struct config_raw raw;
	struct config *cfg = NULL;
	int r;

	memset(&raw, 0, sizeof(raw));
	raw.file = name ? name : "(config)";
	raw.assign = fmt == CONFIG_FORMAT_YAML ? ": " : "=";
	if (fmt == CONFIG_FORMAT_YAML)
		r = config_parse_yaml(buf, len, &raw, &found);
	else
		r = config_parse_cfg(buf, len, &raw, &found);
	if (r < 0)
		goto cleanup;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		r = -ENOMEM;
		goto cleanup;
	}
	cfg->format = fmt;
	cfg->source = strdup(raw.file);
	if (!cfg->source) {
		r = -ENOMEM;
		goto cleanup;
	}
	/* after a syntax error the rest of the file is unknown: checking
	 * what was read would only add noise */
	if (!raw.fatal) {
		r = config_validate(&raw, cfg, &found);
		if (r < 0)
			goto cleanup;
	}
	if (found.oom) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (found.n || raw.fatal) {
		r = -EINVAL;
		goto cleanup;
	}
	*out = cfg;
	cfg = NULL;
cleanup:
	config_free(cfg);
	config_raw_free(&raw);
	config_errors_move(errs, &found);
	return r;
}

/* Read the whole regular file at path into *buf (*len bytes). */
static int read_file(const char *path, char **buf, size_t *len,
		     struct config_errors *errs)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, r;

	/* O_NONBLOCK: a FIFO given as the config must not block the open */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		config_errors_add(errs, path, 0, "cannot open the config "
				  "file: %s; give the right path with -c FILE "
				  "or PARAMS_FILE", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		config_errors_add(errs, path, 0, "cannot read the config "
				  "file: %s", strerror(-r));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		config_errors_add(errs, path, 0, "not a regular file; the "
				  "config must be a parameters.cfg or YAML "
				  "file");
		goto cleanup;
	}
	if ((unsigned long long)st.st_size > CONFIG_MAX_FILE_SIZE) {
		r = -EFBIG;
		config_errors_add(errs, path, 0, "file is %lld bytes, more "
				  "than any config needs (at most %lu)",
				  (long long)st.st_size, CONFIG_MAX_FILE_SIZE);
		goto cleanup;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			config_errors_add(errs, path, 0, "cannot read the "
					  "config file: %s", strerror(-r));
			goto cleanup;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			r = -EAGAIN;
			config_errors_add(errs, path, 0, "the file grew while "
					  "being read; try again");
			goto cleanup;
		}
	}
	*buf = data;
	*len = got;
	data = NULL;
	r = 0;
cleanup:
	free(data);
	close(fd);
	return r;
}

int config_load(const char *path, struct config **out,
		struct config_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !*path) {
		config_errors_add(errs, "(config)", 0, "no config file given; "
				  "use -c FILE or set PARAMS_FILE");
		return -EINVAL;
	}
	r = read_file(path, &buf, &len, errs);
	if (r < 0)
		return r;
	r = config_load_buffer(path, config_format_for_path(path), buf, len,
			       out, errs);
	free(buf);
	return r;
}
