/* test_config.c - the config readers, the validator and the key table.
 *
 * Table-driven: in-memory cases with their exact first error, then the
 * corpus tests/config/good/ (each must load) and tests/config/bad/ (each
 * must fail with exactly the lines of its .expect sidecar), and the
 * sample's own parameters.cfg at the top level, accepted unchanged.
 * Run from the repository root (CONFIG_CORPUS_DIR overrides tests/config). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "gate.h"
#include "config-internal.h" /* config_key_lookup_n */

#define ROLE "arn:aws:iam::123456789012:role/R"
#define PZ "arn:aws:personalize:us-east-1:123456789012:"
#define BASE_CFG \
	"ImportRoleArn=" ROLE "\n" \
	"SolutionArn=" PZ "solution/sol\n" \
	"UserInteractionDatasetArn=" PZ "dataset/g/INTERACTIONS\n" \
	"S3UserInteractionDatasourcePath=s3://bkt/i.csv\n"
#define BASE_YAML \
	"ImportRoleArn: " ROLE "\n" \
	"SolutionArn: " PZ "solution/sol\n" \
	"UserInteractionDatasetArn: " PZ "dataset/g/INTERACTIONS\n" \
	"S3UserInteractionDatasourcePath: s3://bkt/i.csv\n"

/* Print errs as the CLI does, into a new string. */
static char *errors_text(const struct config_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_errors_print(errs, f);
	fclose(f);
	return buf;
}

struct mem_case {
	const char *name;
	enum config_format fmt;
	const char *text;
	const char *error; /* NULL: must load; else the first error line */
};

static const struct mem_case mem_cases[] = {
	{ "base", CONFIG_FORMAT_CFG, BASE_CFG, NULL },
	{ "base yaml", CONFIG_FORMAT_YAML, BASE_YAML, NULL },
	{ "crlf", CONFIG_FORMAT_CFG,
	  "ImportRoleArn=" ROLE "\r\nSolutionArn=" PZ "solution/sol\r\n"
	  "UserInteractionDatasetArn=" PZ "dataset/g/INTERACTIONS\r\n"
	  "S3UserInteractionDatasourcePath=s3://bkt/i.csv\r\n", NULL },
	{ "lone cr", CONFIG_FORMAT_CFG,
	  "ImportRoleArn=" ROLE "\rSolutionArn=" PZ "solution/sol\r"
	  "UserInteractionDatasetArn=" PZ "dataset/g/INTERACTIONS\r"
	  "S3UserInteractionDatasourcePath=s3://bkt/i.csv", NULL },
	{ "bom", CONFIG_FORMAT_CFG, "\xef\xbb\xbf" BASE_CFG, NULL },
	{ "bom yaml", CONFIG_FORMAT_YAML, "\xef\xbb\xbf" BASE_YAML, NULL },
	{ "comments and blanks", CONFIG_FORMAT_CFG,
	  "# x\n\n   \n\t# y\n" BASE_CFG "# z\n", NULL },
	{ "empty value unset", CONFIG_FORMAT_CFG,
	  BASE_CFG "CampaignArn=\nRetrainingRate=\nPollInterval=\n", NULL },
	{ "duration units", CONFIG_FORMAT_CFG,
	  BASE_CFG "PollInterval=2m\nMaxRunDuration=12h\n", NULL },
	{ "bom only once", CONFIG_FORMAT_CFG,
	  "\xef\xbb\xbf\xef\xbb\xbf" BASE_CFG,
	  "t:1: \"\\xef\\xbb\\xbfImportRoleArn\" is not a key name (letters "
	  "and digits only); write Key=Value" },
	{ "missing solution", CONFIG_FORMAT_CFG,
	  "ImportRoleArn=" ROLE "\n"
	  "UserInteractionDatasetArn=" PZ "dataset/g/INTERACTIONS\n"
	  "S3UserInteractionDatasourcePath=s3://bkt/i.csv\n",
	  "t:3: SolutionArn is missing, but it is required; add "
	  "SolutionArn=arn:aws:personalize:REGION:ACCOUNT:solution/NAME" },
	{ "half pair", CONFIG_FORMAT_CFG,
	  BASE_CFG "ItemDatasetArn=" PZ "dataset/g/ITEMS\n",
	  "t:5: ItemDatasetArn is set but S3ItemDatasourcePath is not; set "
	  "both to re-import the ITEMS dataset, or neither" },
	{ "unknown key", CONFIG_FORMAT_CFG, BASE_CFG "CampainArn=x\n",
	  "t:5: unknown key \"CampainArn\"; did you mean CampaignArn?" },
	{ "unknown key yaml", CONFIG_FORMAT_YAML, BASE_YAML "Regoin: x\n",
	  "t:5: unknown key \"Regoin\"; did you mean Region?" },
	{ "poll bounds", CONFIG_FORMAT_CFG, BASE_CFG "PollInterval=86401\n",
	  "t:5: PollInterval \"86401\" is out of range; use 1 to 86400 "
	  "seconds" },
	{ "poll 1 day ok", CONFIG_FORMAT_CFG, BASE_CFG "PollInterval=1d\n",
	  NULL },
	{ "poll overflow", CONFIG_FORMAT_CFG,
	  BASE_CFG "PollInterval=99999999999999999999\n",
	  "t:5: PollInterval \"99999999999999999999\" is not a duration; "
	  "write a whole number of seconds (optionally with s, m, h or d), "
	  "e.g. PollInterval=600" },
	{ "yaml hint uses colon", CONFIG_FORMAT_YAML,
	  BASE_YAML "CatchUp: maybe\n",
	  "t:5: CatchUp \"maybe\" is neither yes nor no; write CatchUp: yes "
	  "or CatchUp: no" },
	{ "yaml null overrides default", CONFIG_FORMAT_YAML,
	  "ImportRoleArn: " ROLE "\nCampaignArn: " PZ "campaign/c\n"
	  "pipelines:\n  - SolutionArn: " PZ "solution/sol\n"
	  "    CampaignArn: null\n"
	  "    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
	  "    S3ItemDatasourcePath: s3://bkt/x\n", NULL },
	{ "control char in value", CONFIG_FORMAT_CFG,
	  BASE_CFG "CampaignArn=arn:aws:personalize:us-east-1:123456789012:"
	  "campaign/c\x01\n",
	  "t:5: CampaignArn \"arn:aws:personalize:us-east-1:123456789012:"
	  "campaign/c\\x01\" is not an ARN: an ARN has no spaces or control "
	  "characters; expected arn:aws:personalize:REGION:ACCOUNT:campaign/"
	  "NAME" },
	{ "too long arn", CONFIG_FORMAT_CFG,
	  BASE_CFG "CampaignArn=arn:aws:personalize:us-east-1:123456789012:"
	  "campaign/cccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	  "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	  "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	  "cccccccccccccccccccccccccccccccccccccccccccccc\n",
	  "t:5: CampaignArn \"arn:aws:personalize:us-east-1:123456789012:"
	  "campaign/cccccccccccccccccccccccccccccccccccccccccccc...\" is not "
	  "an ARN: it is 272 characters long, an ARN has at most 256; expected "
	  "arn:aws:personalize:REGION:ACCOUNT:campaign/NAME" },
	{ "tags: aws: in any case", CONFIG_FORMAT_CFG, BASE_CFG "Tags=AWS:x=1\n",
	  "t:5: Tags: key \"AWS:x\" starts with \"aws:\", which AWS reserves "
	  "for its own tags; choose another key" },
	{ "tags: aws: starting a value", CONFIG_FORMAT_CFG,
	  BASE_CFG "Tags=source=Aws:x\n",
	  "t:5: Tags: the value of \"source\" starts with \"aws:\", which AWS "
	  "reserves for its own tags; write it otherwise" },
	{ "tags: aws: inside a value is fine", CONFIG_FORMAT_CFG,
	  BASE_CFG "Tags=source=from-aws:x\n", NULL },
	{ "tags: a tab is not a space", CONFIG_FORMAT_CFG,
	  BASE_CFG "Tags=a=b\tc\n",
	  "t:5: Tags: the value of \"a\" has \"\\x09\" at byte 2, which "
	  "Personalize does not allow in a tag; use letters, digits, spaces "
	  "and _ . : / = + - @" },
	{ "tags: malformed UTF-8", CONFIG_FORMAT_CFG,
	  BASE_CFG "Tags=k\xc3=v\n",
	  "t:5: Tags: key \"k\\xc3\" has \"\\xc3\" at byte 2, which "
	  "Personalize does not allow in a tag; use letters, digits, spaces "
	  "and _ . : / = + - @" },
	{ "tags: no '='", CONFIG_FORMAT_CFG, BASE_CFG "Tags=team\n",
	  "t:5: Tags: \"team\" is not a Key=Value pair; a comma separates "
	  "pairs and cannot be part of a value (Personalize allows no comma "
	  "in tags), a tag without a value is written Key=" },
	{ "tags: trailing comma", CONFIG_FORMAT_CFG, BASE_CFG "Tags=a=b,\n",
	  "t:5: Tags has an empty pair (two commas, or one at an end); write "
	  "Tags=Key=Value,Key2=Value2" },
	{ "tags: same key in other case is another key", CONFIG_FORMAT_CFG,
	  BASE_CFG "Tags=Team=a,team=b\n", NULL },
	{ "tags: yaml duplicate in one mapping", CONFIG_FORMAT_YAML,
	  BASE_YAML "Tags: {a: 1, b: 2, a: 3}\n",
	  "t:5: Tags: key \"a\" is given twice; a resource has one value per "
	  "key (keys are case-sensitive)" },
	{ "tags: yaml list", CONFIG_FORMAT_YAML, BASE_YAML "Tags: [a, b]\n",
	  "t:5: Tags must be a mapping, not a list; write Tags: {team: recs, "
	  "env: prod}" },
	{ "tags: yaml Key=Value text", CONFIG_FORMAT_YAML,
	  BASE_YAML "Tags: team=recs,env=prod\n", NULL },
	{ "tags: yaml key not a scalar", CONFIG_FORMAT_YAML,
	  BASE_YAML "Tags: {[a]: 1}\n",
	  "t:5: Tags: each tag is \"key: value\" with a plain key and value, "
	  "not a list" },
};

static void test_memory_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mem_cases) / sizeof(mem_cases[0]); i++) {
		const struct mem_case *c = &mem_cases[i];
		struct config_errors errs = CONFIG_ERRORS_INIT;
		struct config *cfg = NULL;
		char *text;
		int r;

		r = config_load_buffer("t", c->fmt, c->text, strlen(c->text),
				       &cfg, &errs);
		text = errors_text(&errs);
		if (!c->error) {
			if (r != 0)
				fail_msg("case \"%s\": expected to load, got "
					 "%d:\n%s", c->name, r, text);
			assert_non_null(cfg);
		} else {
			size_t n = strcspn(text, "\n");

			if (r != -EINVAL || strlen(c->error) != n ||
			    strncmp(text, c->error, n) != 0)
				fail_msg("case \"%s\": expected\n%s\ngot %d:\n%s",
					 c->name, c->error, r, text);
			assert_null(cfg);
		}
		free(text);
		config_free(cfg);
		config_errors_free(&errs);
	}
}

/* The sample's parameters.cfg, unchanged, and every typed value. */
static void test_sample_file(void **state)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	time_t next;
	const struct pipeline *p;
	int r;

	(void)state;
	r = config_load("parameters.cfg", &cfg, &errs);
	if (r) {
		char *text = errors_text(&errs);

		fail_msg("parameters.cfg: %d\n%s", r, text);
	}
	assert_int_equal(cfg->n, 1);
	assert_int_equal(cfg->format, CONFIG_FORMAT_CFG);
	assert_string_equal(cfg->source, "parameters.cfg");
	assert_int_equal(cfg->globals.max_api_calls_per_second, 5);
	p = &cfg->pipelines[0];
	assert_ptr_equal(config_find_pipeline(cfg, "my-solution"), p);
	assert_null(config_find_pipeline(cfg, "other"));
	assert_string_equal(p->name, "my-solution");
	assert_string_equal(p->import_role_arn,
			    "arn:aws:iam::123456789012:role/PersonalizeS3ImportRole");
	assert_string_equal(p->solution_arn, PZ "solution/my-solution");
	assert_string_equal(p->campaign_arn, PZ "campaign/my-campaign");
	assert_int_equal(p->n_datasets, 3);
	assert_true(p->datasets[CONFIG_DATASET_USERS].set);
	assert_string_equal(p->datasets[CONFIG_DATASET_USERS].arn,
			    PZ "dataset/my-dataset-group/USERS");
	assert_string_equal(p->datasets[CONFIG_DATASET_ITEMS].s3_path,
			    "s3://my-personalize-bucket/items.csv");
	assert_string_equal(p->datasets[CONFIG_DATASET_INTERACTIONS].s3_path,
			    "s3://my-personalize-bucket/interactions.csv");
	assert_string_equal(p->schedule_expr, "rate(7 days)");
	assert_int_equal(sched_kind(p->schedule), SCHED_RATE);
	assert_int_equal(sched_next(p->schedule, 1000, &next), 0);
	assert_int_equal(next, 1000 + 7 * 86400);
	assert_null(p->timezone);
	assert_int_equal(p->poll_interval, 600);
	assert_int_equal(p->max_run_duration, 0);
	assert_int_equal(p->training_mode, CONFIG_TRAINING_FULL);
	assert_int_equal(p->import_mode, CONFIG_IMPORT_FULL);
	assert_true(p->catch_up);
	assert_null(p->endpoint_url);
	assert_string_equal(p->region, "us-east-1");
	assert_string_equal(p->account, "123456789012");
	assert_string_equal(p->partition, "aws");
	assert_int_equal(p->line, 1);
	assert_int_equal(p->key_line[CONFIG_KEY_IMPORT_ROLE_ARN], 1);
	assert_int_equal(p->key_line[CONFIG_KEY_POLL_INTERVAL], 11);
	assert_int_equal(p->key_line[CONFIG_KEY_REGION], 0);
	config_free(cfg);
	config_errors_free(&errs);
}

static void test_all_keys_typed(void **state)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	const struct pipeline *p;

	(void)state;
	assert_int_equal(config_load("tests/config/good/all-keys.cfg", &cfg,
				     &errs), 0);
	p = &cfg->pipelines[0];
	assert_string_equal(p->name, "shop_recs-1");
	assert_int_equal(p->n_datasets, 3);
	assert_string_equal(p->timezone, "Europe/Berlin");
	assert_int_equal(sched_kind(p->schedule), SCHED_CRON);
	assert_int_equal(p->poll_interval, 600);
	assert_int_equal(p->max_run_duration, 2 * 86400);
	assert_int_equal(p->training_mode, CONFIG_TRAINING_UPDATE);
	assert_int_equal(p->import_mode, CONFIG_IMPORT_INCREMENTAL);
	assert_false(p->catch_up);
	assert_string_equal(p->endpoint_url, "http://127.0.0.1:8080");
	assert_string_equal(p->datasets[CONFIG_DATASET_ITEMS].s3_path,
			    "s3://my.bucket-2/a b/items.csv");
	assert_int_equal(cfg->globals.max_api_calls_per_second, 2);
	assert_int_equal(cfg->globals.key_line[CONFIG_KEY_MAX_API_CALLS_PER_SECOND],
			 20);
	assert_string_equal(p->gate.metric, "precision_at_5");
	assert_true(gate_enabled(&p->gate));
	assert_true(p->gate.max_regression > 0.0499 &&
		    p->gate.max_regression < 0.0501);
	assert_true(p->gate.has_min_quality);
	assert_true(p->gate.min_quality > 0.0999 && p->gate.min_quality < 0.1001);
	assert_int_equal(p->key_line[CONFIG_KEY_MIN_QUALITY], 23);
	assert_false(p->skip_unchanged);
	assert_string_equal(p->s3_endpoint_url, "http://127.0.0.1:9000");
	assert_string_equal(p->on_run_end, "/bin/true");
	assert_int_equal(p->on_run_end_timeout, 120);
	assert_string_equal(cfg->globals.metrics_file, "/tmp/all-keys.prom");
	assert_int_equal(p->n_tags, 2);
	assert_string_equal(p->tags[1].key, "env");
	assert_string_equal(p->tags[1].value, "prod");
	config_free(cfg);
	config_errors_free(&errs);
}

/* Top-level keys are defaults for each pipelines entry. */
static void test_yaml_pipelines(void **state)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	const struct pipeline *shop, *news;

	(void)state;
	assert_int_equal(config_load("tests/config/good/pipelines.yaml", &cfg,
				     &errs), 0);
	assert_int_equal(cfg->format, CONFIG_FORMAT_YAML);
	assert_int_equal(cfg->n, 2);
	assert_int_equal(cfg->globals.max_api_calls_per_second, 4);
	shop = config_find_pipeline(cfg, "shop");
	news = config_find_pipeline(cfg, "news"); /* from the solution ARN */
	assert_non_null(shop);
	assert_non_null(news);
	assert_int_equal(shop->line, 7);
	assert_int_equal(news->line, 12);
	assert_string_equal(shop->import_role_arn, news->import_role_arn);
	assert_int_equal(shop->key_line[CONFIG_KEY_IMPORT_ROLE_ARN], 3);
	assert_string_equal(shop->schedule_expr, "cron(0 2 ? * SUN *)");
	assert_string_equal(shop->timezone, "America/New_York");
	assert_string_equal(news->schedule_expr, "rate(12 hours)");
	assert_null(news->timezone); /* emptied in the entry */
	assert_non_null(shop->campaign_arn);
	assert_null(news->campaign_arn);
	assert_true(shop->datasets[CONFIG_DATASET_ITEMS].set);
	assert_false(shop->datasets[CONFIG_DATASET_INTERACTIONS].set);
	assert_int_equal(news->n_datasets, 1);
	config_free(cfg);
	config_errors_free(&errs);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static const char *corpus_dir(void)
{
	const char *d = getenv("CONFIG_CORPUS_DIR");

	return d && *d ? d : "tests/config";
}

static bool is_config_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && !(len > 7 && strcmp(n + len - 7, ".expect") == 0);
}

static void test_good_corpus(void **state)
{
	char dir[512], path[1024];
	struct dirent *de;
	DIR *d;
	int count = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/good", corpus_dir());
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		struct config_errors errs = CONFIG_ERRORS_INIT;
		struct config *cfg = NULL;

		if (!is_config_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (config_load(path, &cfg, &errs) != 0) {
			char *text = errors_text(&errs);

			fail_msg("%s should load:\n%s", path, text);
		}
		assert_true(cfg->n >= 1);
		config_free(cfg);
		config_errors_free(&errs);
		count++;
	}
	closedir(d);
	assert_true(count >= 10);
}

/* Each bad file fails with exactly its .expect text, and loading changes
 * no file (content and mtime are compared). */
static void test_bad_corpus(void **state)
{
	char dir[512], path[1024], expect_path[1100];
	struct dirent *de;
	DIR *d;
	int count = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/bad", corpus_dir());
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		struct config_errors errs = CONFIG_ERRORS_INIT;
		struct config *cfg = (struct config *)(uintptr_t)1;
		struct stat before, after;
		char *expect, *text, *content;
		int r;

		if (!is_config_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(expect_path, sizeof(expect_path), "%s.expect", path);
		expect = read_all(expect_path);
		if (!expect)
			fail_msg("%s has no .expect file", path);
		content = read_all(path);
		assert_int_equal(stat(path, &before), 0);
		r = config_load(path, &cfg, &errs);
		assert_int_equal(stat(path, &after), 0);
		text = errors_text(&errs);
		if (r != -EINVAL || strcmp(text, expect) != 0)
			fail_msg("%s: expected -EINVAL and\n%sgot %d and\n%s",
				 path, expect, r, text);
		/* a failed load leaves *out alone */
		assert_ptr_equal(cfg, (struct config *)(uintptr_t)1);
		assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
		assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
		{
			char *again = read_all(path);

			assert_memory_equal(again, content, (size_t)before.st_size);
			free(again);
		}
		free(content);
		free(text);
		free(expect);
		config_errors_free(&errs);
		count++;
	}
	closedir(d);
	assert_true(count >= 60);
}

static void test_unreadable(void **state)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	char *text;

	(void)state;
	assert_int_equal(config_load("tests/config/no-such-file.cfg", &cfg,
				     &errs), -ENOENT);
	assert_null(cfg);
	text = errors_text(&errs);
	assert_string_equal(text, "tests/config/no-such-file.cfg: cannot open "
			    "the config file: No such file or directory; give "
			    "the right path with -c FILE or PARAMS_FILE\n");
	free(text);
	config_errors_free(&errs);
	assert_int_equal(config_load("tests/config", &cfg, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	config_errors_free(&errs);
	/* errs may be NULL */
	assert_int_equal(config_load("tests/config/bad/empty.cfg", &cfg, NULL),
			 -EINVAL);
	config_free(NULL);
	config_errors_free(NULL);
}

/* Hostile sizes: errors are capped, deep YAML is refused before libyaml's
 * quadratic scanner gets it. */
static void test_limits(void **state)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	char buf[4096];
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++) {
		buf[2 * i] = 'x';
		buf[2 * i + 1] = '\n';
	}
	assert_int_equal(config_load_buffer("t", CONFIG_FORMAT_CFG, buf, 600,
					    &cfg, &errs), -EINVAL);
	assert_int_equal(errs.n, CONFIG_MAX_ERRORS);
	assert_int_equal(errs.dropped, 300 + 3 - CONFIG_MAX_ERRORS);
	config_errors_free(&errs);

	memcpy(buf, "a: ", 3);
	memset(buf + 3, '[', 4000);
	assert_int_equal(config_load_buffer("t", CONFIG_FORMAT_YAML, buf, 4003,
					    &cfg, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].message, "YAML nested deeper than 16 "
			    "levels; a config needs 3 (top level, pipelines, "
			    "one pipeline)");
	config_errors_free(&errs);
	assert_null(cfg);
}

/* The key the "unknown key" message suggests (config_raw.c): the nearest
 * one when it is a plausible typo, else -1. */
static int suggest(const char *name)
{
	bool close;
	int k = config_key_nearest(name, &close);

	return close ? k : -1;
}

static int lookup(const char *name)
{
	return config_key_lookup_n(name, strlen(name));
}

/* Tags: parsed, trimmed, merged (the pipeline's win), lengths counted in
 * characters, an empty pipeline Tags drops the defaults. */
static const char *tag(const struct pipeline *p, const char *k)
{
	size_t i;

	for (i = 0; i < p->n_tags; i++)
		if (!strcmp(p->tags[i].key, k))
			return p->tags[i].value;
	fail_msg("no tag %s", k);
	return "";
}

static struct config *load_ok(enum config_format fmt, const char *text)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	char *e;

	if (config_load_buffer("t", fmt, text, strlen(text), &cfg, &errs)) {
		e = errors_text(&errs);
		fail_msg("expected to load:\n%s", e);
	}
	config_errors_free(&errs);
	return cfg;
}

static void test_tags(void **state)
{
	struct config *cfg;
	const struct pipeline *a, *b, *c;
	char text[2048], key[CONFIG_TAG_KEY_MAX * 2 + 1];
	size_t i;

	(void)state;
	cfg = load_ok(CONFIG_FORMAT_CFG, BASE_CFG
		      "Tags=team = recs ,formula=a=b==c,empty=,x=Z\xc3\xbcrich\n");
	a = &cfg->pipelines[0];
	assert_int_equal(a->n_tags, 4);
	assert_string_equal(a->tags[0].key, "team");
	assert_string_equal(a->tags[0].value, "recs");
	assert_string_equal(tag(a, "formula"), "a=b==c");
	assert_string_equal(tag(a, "empty"), "");
	assert_string_equal(tag(a, "x"), "Z\xc3\xbcrich");
	assert_int_equal(a->key_line[CONFIG_KEY_TAGS], 5);
	config_free(cfg);

	cfg = load_ok(CONFIG_FORMAT_CFG, BASE_CFG);
	assert_int_equal(cfg->pipelines[0].n_tags, 0);
	assert_null(cfg->pipelines[0].tags);
	config_free(cfg);

	cfg = load_ok(CONFIG_FORMAT_YAML,
		      "ImportRoleArn: " ROLE "\n"
		      "Tags: {team: recs, env: prod}\n"
		      "pipelines:\n"
		      "  - PipelineName: a\n"
		      "    SolutionArn: " PZ "solution/a\n"
		      "    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
		      "    S3ItemDatasourcePath: s3://bkt/x\n"
		      "    Tags:\n"
		      "      env: staging\n"
		      "      cost: 4711\n"
		      "      note:\n"
		      "  - PipelineName: b\n"
		      "    SolutionArn: " PZ "solution/b\n"
		      "    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
		      "    S3ItemDatasourcePath: s3://bkt/x\n"
		      "  - PipelineName: c\n"
		      "    SolutionArn: " PZ "solution/c\n"
		      "    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
		      "    S3ItemDatasourcePath: s3://bkt/x\n"
		      "    Tags: ~\n");
	a = config_find_pipeline(cfg, "a");
	b = config_find_pipeline(cfg, "b");
	c = config_find_pipeline(cfg, "c");
	assert_int_equal(a->n_tags, 4);
	assert_string_equal(tag(a, "team"), "recs");
	assert_string_equal(tag(a, "env"), "staging");
	assert_string_equal(tag(a, "cost"), "4711");
	assert_string_equal(tag(a, "note"), "");
	assert_int_equal(b->n_tags, 2);
	assert_string_equal(tag(b, "env"), "prod");
	assert_int_equal(c->n_tags, 0);
	config_free(cfg);

	/* 128 two-byte characters are 128 characters, not 256 */
	for (i = 0; i < CONFIG_TAG_KEY_MAX; i++)
		memcpy(key + 2 * i, "\xc3\xa9", 2);
	key[2 * CONFIG_TAG_KEY_MAX] = '\0';
	snprintf(text, sizeof(text), BASE_CFG "Tags=%s=v\n", key);
	cfg = load_ok(CONFIG_FORMAT_CFG, text);
	assert_string_equal(cfg->pipelines[0].tags[0].key, key);
	config_free(cfg);

	/* exactly 50 after the merge is fine */
	i = (size_t)snprintf(text, sizeof(text), "ImportRoleArn: " ROLE
			     "\nTags:\n");
	for (int n = 0; n < 30; n++)
		i += (size_t)snprintf(text + i, sizeof(text) - i,
				      "  t%d: v\n", n);
	i += (size_t)snprintf(text + i, sizeof(text) - i, "pipelines:\n"
			      "  - SolutionArn: " PZ "solution/a\n"
			      "    ItemDatasetArn: " PZ "dataset/g/ITEMS\n"
			      "    S3ItemDatasourcePath: s3://bkt/x\n"
			      "    Tags:\n      t0: override\n");
	for (int n = 0; n < 20; n++)
		i += (size_t)snprintf(text + i, sizeof(text) - i,
				      "      p%d: v\n", n);
	cfg = load_ok(CONFIG_FORMAT_YAML, text);
	assert_int_equal(cfg->pipelines[0].n_tags, CONFIG_TAGS_MAX);
	assert_string_equal(tag(&cfg->pipelines[0], "t0"), "override");
	config_free(cfg);
}

static void test_key_table(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		const struct config_key_info *ki = &config_keys[k];

		assert_non_null(ki->name);
		assert_non_null(ki->type_doc);
		assert_non_null(ki->description);
		assert_int_equal(lookup(ki->name), k);
		assert_int_equal(suggest(ki->name), k);
		if (ki->type == CONFIG_TYPE_ENUM)
			assert_non_null(ki->choices);
		if (ki->type == CONFIG_TYPE_ARN)
			assert_non_null(ki->resource);
	}
	assert_int_equal(lookup("solutionarn"), -1);
	assert_int_equal(suggest("solutionarn"),
			 CONFIG_KEY_SOLUTION_ARN);
	assert_int_equal(suggest("S3UserDataSourcePath"),
			 CONFIG_KEY_S3_USER_PATH);
	assert_int_equal(suggest("Poll"), CONFIG_KEY_POLL_INTERVAL);
	assert_int_equal(suggest("PollIntervalSeconds"),
			 CONFIG_KEY_POLL_INTERVAL);
	assert_int_equal(suggest("Foo"), -1);
	assert_int_equal(suggest("StackName"), -1);
	assert_int_equal(suggest(""), -1);
	assert_string_equal(config_dataset_type_name(CONFIG_DATASET_USERS),
			    "Users");
	assert_string_equal(config_dataset_arn_type(CONFIG_DATASET_INTERACTIONS),
			    "INTERACTIONS");
	assert_string_equal(config_training_mode_name(CONFIG_TRAINING_UPDATE),
			    "UPDATE");
	assert_string_equal(config_import_mode_name(CONFIG_IMPORT_INCREMENTAL),
			    "INCREMENTAL");
}

static void test_format_for_path(void **state)
{
	static const struct { const char *path; enum config_format fmt; } t[] = {
		{ "parameters.cfg", CONFIG_FORMAT_CFG },
		{ "/etc/p/x.yaml", CONFIG_FORMAT_YAML },
		{ "x.YML", CONFIG_FORMAT_YAML },
		{ "x.yml.bak", CONFIG_FORMAT_CFG },
		{ "dir.yaml/params", CONFIG_FORMAT_CFG },
		{ "noext", CONFIG_FORMAT_CFG },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(config_format_for_path(t[i].path), t[i].fmt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_cases),
		cmocka_unit_test(test_sample_file),
		cmocka_unit_test(test_all_keys_typed),
		cmocka_unit_test(test_yaml_pipelines),
		cmocka_unit_test(test_good_corpus),
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_format_for_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
