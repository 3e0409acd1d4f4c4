/* test_log.c - levels, targets and the plain stderr format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

static char captured[4096];

static void sink(int priority, const char *line, void *userdata)
{
	(void)priority;
	(void)userdata;
	strncat(captured, line, sizeof(captured) - strlen(captured) - 1);
}

static void test_parse_level(void **state)
{
	(void)state;
	assert_int_equal(log_parse_level("debug"), LOG_DEBUG);
	assert_int_equal(log_parse_level("INFO"), LOG_INFO);
	assert_int_equal(log_parse_level("warning"), LOG_WARNING);
	assert_int_equal(log_parse_level("warn"), LOG_WARNING);
	assert_int_equal(log_parse_level("error"), LOG_ERR);
	assert_int_equal(log_parse_level("3"), LOG_ERR);
	assert_true(log_parse_level("loud") < 0);
	assert_true(log_parse_level("") < 0);
}

static void test_stderr_format_and_filter(void **state)
{
	const char *fields[] = { "PIPELINE=shop", "STAGE=training",
				 "MESSAGE_ID=abc", "JOB_ARN=", NULL };

	(void)state;
	captured[0] = '\0';
	log_init(LOG_TARGET_STDERR, LOG_INFO);
	log_set_sink(sink, NULL);
	log_struct(LOG_NOTICE, fields, "run %d started", 7);
	assert_string_equal(captured,
		"personalize-retrain: notice: run 7 started PIPELINE=shop STAGE=training\n");
	captured[0] = '\0';
	log_debug("hidden");
	assert_string_equal(captured, "");
	log_set_max_priority(LOG_DEBUG);
	log_debug("shown");
	assert_string_equal(captured, "personalize-retrain: debug: shown\n");
	log_set_sink(NULL, NULL);
}

/* The emulator names itself; NULL or "" puts the default back. */
static void test_identifier(void **state)
{
	(void)state;
	captured[0] = '\0';
	log_init(LOG_TARGET_STDERR, LOG_INFO);
	log_set_sink(sink, NULL);
	log_set_identifier("personalize-emulator");
	log_warning("scaled");
	assert_string_equal(captured, "personalize-emulator: warning: scaled\n");
	captured[0] = '\0';
	log_set_identifier("");
	log_warning("back");
	assert_string_equal(captured, "personalize-retrain: warning: back\n");
	log_set_identifier("x");
	log_set_identifier(NULL);
	captured[0] = '\0';
	log_warning("again");
	assert_string_equal(captured, "personalize-retrain: warning: again\n");
	log_set_sink(NULL, NULL);
}

/* A journal entry carries its caller's location, not log.c's; a va_list
 * wrapper (log_structv) carries none. */
static void wrapped(const char *fmt, ...) PR_PRINTF(1, 2);
static void wrapped(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_structv(LOG_NOTICE, NULL, fmt, ap);
	va_end(ap);
}

static void test_journal_code_location(void **state)
{
	const char *fields[] = { "PIPELINE=shop", NULL };
	char want[128];
	int line;

	(void)state;
	captured[0] = '\0';
	log_init(LOG_TARGET_JOURNAL, LOG_INFO);
	log_set_sink(sink, NULL);
	line = __LINE__ + 1;
	log_struct(LOG_NOTICE, fields, "located");
	assert_non_null(strstr(captured, "MESSAGE=located\n"));
	assert_non_null(strstr(captured, "CODE_FILE=tests/unit/test_log.c\n"));
	snprintf(want, sizeof(want), "CODE_LINE=%d\n", line);
	assert_non_null(strstr(captured, want));
	assert_non_null(strstr(captured,
			       "CODE_FUNC=test_journal_code_location\n"));
	assert_non_null(strstr(captured, "PIPELINE=shop\n"));
	assert_null(strstr(captured, "src/log.c"));
	captured[0] = '\0';
	log_notice("plain");
	assert_non_null(strstr(captured, "CODE_FUNC=test_journal_code_location\n"));
	captured[0] = '\0';
	wrapped("through %s", "a wrapper");
	assert_non_null(strstr(captured, "MESSAGE=through a wrapper\n"));
	assert_null(strstr(captured, "CODE_"));
	log_set_sink(NULL, NULL);
	log_init(LOG_TARGET_STDERR, LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_level),
		cmocka_unit_test(test_stderr_format_and_filter),
		cmocka_unit_test(test_identifier),
		cmocka_unit_test(test_journal_code_location),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
