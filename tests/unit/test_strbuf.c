/* test_strbuf.c - the string builder everything else uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strbuf.h"

static void test_append_and_printf(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;

	(void)state;
	strbuf_puts(&sb, "abc");
	strbuf_putc(&sb, '-');
	strbuf_printf(&sb, "%d/%s", 42, "x");
	assert_int_equal(strbuf_error(&sb), 0);
	assert_string_equal(sb.buf, "abc-42/x");
	assert_int_equal(sb.len, 8);
	s = strbuf_detach(&sb);
	assert_string_equal(s, "abc-42/x");
	assert_null(sb.buf);
	free(s);
}

static void test_hex_and_growth(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned char bytes[] = { 0x00, 0xab, 0xff, 0x10 };
	int i;

	(void)state;
	strbuf_hex(&sb, bytes, sizeof(bytes));
	assert_string_equal(sb.buf, "00abff10");
	for (i = 0; i < 1000; i++)
		strbuf_puts(&sb, "0123456789");
	assert_int_equal(sb.len, 8 + 10000);
	assert_int_equal(strlen(sb.buf), sb.len);
	strbuf_reset(&sb);
	assert_string_equal(sb.buf, "");
	strbuf_free_secure(&sb);
}

static void test_empty_detach(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;

	(void)state;
	s = strbuf_detach(&sb);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_printf),
		cmocka_unit_test(test_hex_and_growth),
		cmocka_unit_test(test_empty_detach),
	};
	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
