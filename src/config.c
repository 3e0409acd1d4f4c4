/* config.c - loading a config: file reading, format choice, the error list
 * and the raw key store shared by both readers; see include/config.h. */
#include "config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config file larger than this is certainly not one. */
#define CONFIG_MAX_FILE_SIZE (4UL * 1024 * 1024)

void config_errors_addv(struct config_errors *errs, const char *file,
			unsigned line, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	struct config_error *v;
	char *f, *msg;
	size_t i;

	if (!errs)
		return;
	if (errs->n >= CONFIG_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	strbuf_vprintf(&sb, fmt, ap);
	msg = strbuf_detach(&sb);
	f = strdup(file ? file : "");
	if (!msg || !f)
		goto oom;
	/* The same problem found twice (e.g. a default inherited by several
	 * pipelines) is reported once. */
	for (i = 0; i < errs->n; i++)
		if (errs->v[i].line == line && strcmp(errs->v[i].file, f) == 0 &&
		    strcmp(errs->v[i].message, msg) == 0) {
			free(f);
			free(msg);
			return;
		}
	v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
	if (!v)
		goto oom;
	errs->v = v;
	v[errs->n].file = f;
	v[errs->n].line = line;
	v[errs->n].message = msg;
	errs->n++;
	return;
oom:
	free(f);
	free(msg);
	errs->oom = true;
}

void config_errors_add(struct config_errors *errs, const char *file,
		       unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_errors_addv(errs, file, line, fmt, ap);
	va_end(ap);
}

/* Order of two errors: by file, then line. */
static int error_cmp(const struct config_error *x, const struct config_error *y)
{
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Stable insertion sort: the messages of one line keep the order in which
 * they were found (a handful of errors, so the quadratic cost is nil). */
static void errors_sort(struct config_errors *errs)
{
	size_t i, j;

	for (i = 1; i < errs->n; i++) {
		struct config_error e = errs->v[i];

		for (j = i; j > 0 && error_cmp(&errs->v[j - 1], &e) > 0; j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = e;
	}
}

void config_errors_print(const struct config_errors *errs, FILE *f)
{
	size_t i;

	if (!errs)
		return;
	for (i = 0; i < errs->n; i++) {
		const struct config_error *e = &errs->v[i];

		if (e->line)
			fprintf(f, "%s:%u: %s\n", e->file, e->line, e->message);
		else
			fprintf(f, "%s: %s\n", e->file, e->message);
	}
	if (errs->dropped)
		fprintf(f, "(%zu more errors not shown; fix the ones above "
			"first)\n", errs->dropped);
	if (errs->oom)
		fprintf(f, "(out of memory: some errors were not recorded)\n");
}

void config_errors_free(struct config_errors *errs)
{
	size_t i;

	if (!errs)
		return;
	for (i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].message);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
	errs->dropped = 0;
	errs->oom = false;
}

void config_quote(struct strbuf *sb, const char *value, size_t len)
{
	size_t i, n = len > CONFIG_QUOTE_MAX ? CONFIG_QUOTE_MAX : len;

	strbuf_putc(sb, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			strbuf_printf(sb, "\\x%02x", c);
		else
			strbuf_putc(sb, (char)c);
	}
	if (n < len)
		strbuf_puts(sb, "...");
	strbuf_putc(sb, '"');
}

int config_raw_set(struct config_raw *raw, struct config_raw_scope *scope,
		   int key, const char *value, size_t len, unsigned line,
		   struct config_errors *errs)
{
	struct config_raw_value *v = &scope->v[key];
	char *copy = NULL;

	if (v->present) {
		config_errors_add(errs, raw->file, line,
				  "%s is set twice (first on line %u); keep "
				  "exactly one %s line", config_keys[key].name,
				  v->line, config_keys[key].name);
		return 0;
	}
	if (len) {
		copy = strndup(value, len);
		if (!copy)
			return -ENOMEM;
	}
	v->present = true;
	v->value = copy;
	v->line = line;
	return 0;
}

void config_raw_set_invalid(struct config_raw_scope *scope, int key,
			    unsigned line)
{
	struct config_raw_value *v = &scope->v[key];

	if (v->present)
		return;
	v->present = true;
	v->invalid = true;
	v->line = line;
}

void config_raw_unknown_key(struct config_raw *raw, const char *name,
			    size_t len, unsigned line,
			    struct config_errors *errs)
{
	struct strbuf sb = STRBUF_INIT;
	char *copy = strndup(name, len);
	bool close = false;
	int k = copy ? config_key_nearest(copy, &close) : -1;

	strbuf_puts(&sb, "unknown key ");
	config_quote(&sb, name, len);
	if (k >= 0 && copy && strcasecmp(copy, config_keys[k].name) == 0)
		strbuf_printf(&sb, "; keys are case-sensitive: write %s",
			      config_keys[k].name);
	else if (k >= 0 && close)
		strbuf_printf(&sb, "; did you mean %s?", config_keys[k].name);
	else if (k >= 0)
		strbuf_printf(&sb, "; no known key is close (the nearest is "
			      "%s); 'personalize-retrain --help' lists them "
			      "all", config_keys[k].name);
	else
		strbuf_puts(&sb, "; 'personalize-retrain --help' lists the "
			    "known keys");
	if (strbuf_error(&sb) == 0)
		config_errors_add(errs, raw->file, line, "%s", sb.buf);
	else if (errs)
		errs->oom = true;
	strbuf_free(&sb);
	free(copy);
}

static void raw_scope_free(struct config_raw_scope *s)
{
	int k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++)
		free(s->v[k].value);
}

void config_raw_free(struct config_raw *raw)
{
	size_t i;

	if (!raw)
		return;
	raw_scope_free(&raw->top);
	for (i = 0; i < raw->n; i++)
		raw_scope_free(&raw->pipelines[i]);
	free(raw->pipelines);
	raw->pipelines = NULL;
	raw->n = 0;
}

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

/* Move the messages of src to the end of dst (dst may be NULL: dropped). */
static void errors_move(struct config_errors *dst, struct config_errors *src)
{
	size_t i;

	if (dst) {
		errors_sort(src);
		for (i = 0; i < src->n; i++)
			config_errors_add(dst, src->v[i].file, src->v[i].line,
					  "%s", src->v[i].message);
		dst->dropped += src->dropped;
		if (src->oom)
			dst->oom = true;
	}
	config_errors_free(src);
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
	errors_move(errs, &found);
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
