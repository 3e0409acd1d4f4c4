/* test_emu_fault.c - injected faults: parsing, matching, and that a seed
 * makes the dice reproducible. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../emulator/emu.h"

static int set(struct emu_faults *f, const char *spec, char **err)
{
	cJSON *o = cJSON_Parse(spec);
	int r;

	assert_non_null(o);
	r = emu_faults_set(f, o, err);
	cJSON_Delete(o);
	return r;
}

static void test_spec_errors(void **state)
{
	static const struct {
		const char *spec, *err;
	} cases[] = {
		{ "[]", "must be an object" },
		{ "{\"rules\":{}}", "must be a list" },
		{ "{\"rules\":[{}]}", "rules[1]: \"kind\" is required" },
		{ "{\"rules\":[{\"kind\":\"explode\"}]}", "rules[1]: unknown kind \"explode\"" },
		{ "{\"rules\":[{\"kind\":\"500\",\"rate\":1.5}]}", "rate must be 0..1" },
		{ "{\"rules\":[{\"kind\":\"slow\",\"delayMs\":-1}]}", "delayMs" },
		{ "{\"rules\":[{\"kind\":\"500\"},{\"kind\":\"503\",\"phase\":\"during\"}]}",
		  "rules[2]: phase" },
	};
	struct emu_faults f = { 0 };

	(void)state;
	assert_int_equal(set(&f, "{\"rules\":[{\"kind\":\"throttle\"}]}", &(char *){ NULL }), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;

		assert_int_equal(set(&f, cases[i].spec, &err), -EINVAL);
		if (!err || !strstr(err, cases[i].err))
			fail_msg("case %zu: \"%s\"", i, err ? err : "(none)");
		free(err);
		/* the old rules stay */
		assert_int_equal(f.n, 1);
		assert_int_equal(f.rules[0].kind, EMU_FAULT_THROTTLE);
	}
	emu_faults_free(&f);
}

static void test_matching_after_count(void **state)
{
	struct emu_faults f = { 0 };
	struct emu_fault_rule hit;
	char *err = NULL;
	int hits = 0;

	(void)state;
	assert_int_equal(set(&f, "{\"seed\":3,\"rules\":["
			 "{\"operation\":\"DescribeCampaign\",\"kind\":\"reset\",\"after\":2,\"count\":3},"
			 "{\"operation\":\"*\",\"kind\":\"503\",\"rate\":0},"
			 "{\"operation\":\"CreateSolutionVersion\",\"kind\":\"500\",\"phase\":\"after\"}]}",
			 &err), 0);
	for (int i = 0; i < 10; i++) {
		enum emu_fault_kind k = emu_faults_pick(&f, "DescribeCampaign", false, &hit);

		if (i < 2 || i >= 5)
			assert_int_equal(k, EMU_FAULT_NONE);
		else
			assert_int_equal(k, EMU_FAULT_RESET);
		hits += k != EMU_FAULT_NONE;
	}
	assert_int_equal(hits, 3);
	assert_int_equal(emu_faults_pick(&f, "ListCampaigns", false, &hit), EMU_FAULT_NONE);
	/* "*" rules never reach the credential endpoints */
	assert_int_equal(set(&f, "{\"rules\":[{\"kind\":\"500\"}]}", &err), 0);
	assert_int_equal(emu_faults_pick(&f, "IMDS:token", true, &hit), EMU_FAULT_NONE);
	assert_int_equal(emu_faults_pick(&f, "ListCampaigns", false, &hit), EMU_FAULT_500);
	assert_int_equal(set(&f, "{\"rules\":[{\"operation\":\"CreateSolutionVersion\",\"kind\":\"500\","
			 "\"phase\":\"after\"},{\"operation\":\"DescribeCampaign\",\"kind\":\"reset\","
			 "\"count\":3}]}", &err), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(emu_faults_pick(&f, "DescribeCampaign", false, &hit), EMU_FAULT_RESET);
	assert_int_equal(emu_faults_pick(&f, "CreateSolutionVersion", false, &hit), EMU_FAULT_500);
	assert_true(hit.after_call);
	assert_null(hit.operation);
	/* an error reply named by its code, as "expired_token" */
	assert_int_equal(set(&f, "{\"rules\":[{\"operation\":\"DescribeSolutionVersion\","
			 "\"kind\":\"expired_token\"}]}", &err), 0);
	assert_int_equal(emu_faults_pick(&f, "DescribeSolutionVersion", false, &hit),
			 EMU_FAULT_EXPIRED_TOKEN);
	assert_string_equal(emu_fault_name(EMU_FAULT_EXPIRED_TOKEN), "expired_token");
	assert_int_equal(set(&f, "{\"rules\":[{\"operation\":\"CreateSolutionVersion\",\"kind\":\"500\","
			 "\"phase\":\"after\"},{\"operation\":\"DescribeCampaign\",\"kind\":\"reset\","
			 "\"count\":3}]}", &err), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(emu_faults_pick(&f, "DescribeCampaign", false, &hit), EMU_FAULT_RESET);
	assert_int_equal(emu_faults_pick(&f, "CreateSolutionVersion", false, &hit), EMU_FAULT_500);
	{
		cJSON *j = emu_faults_json(&f);
		char *s = cJSON_PrintUnformatted(j);

		assert_non_null(strstr(s, "\"injected\":3"));
		assert_non_null(strstr(s, "\"phase\":\"after\""));
		free(s);
		cJSON_Delete(j);
	}
	emu_faults_free(&f);
}

/* Same seed, same injections; another seed, others; the rate holds roughly. */
static void test_seed_reproducible(void **state)
{
	char a[200], b[200], c[200], buf[128];
	int hits = 0;

	(void)state;
	for (int run = 0; run < 3; run++) {
		struct emu_faults f = { 0 };
		struct emu_fault_rule hit;
		char *out = run == 0 ? a : run == 1 ? b : c;

		snprintf(buf, sizeof(buf), "{\"seed\":%d,\"rules\":[{\"kind\":\"throttle\",\"rate\":0.3}]}",
			 run == 2 ? 43 : 42);
		assert_int_equal(set(&f, buf, &(char *){ NULL }), 0);
		for (int i = 0; i < 199; i++) {
			bool hitp = emu_faults_pick(&f, "X", false, &hit) == EMU_FAULT_THROTTLE;

			out[i] = hitp ? '1' : '0';
			hits += run == 0 && hitp;
		}
		out[199] = '\0';
		emu_faults_free(&f);
	}
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_in_range(hits, 30, 90);
	assert_string_equal(emu_fault_name(EMU_FAULT_CONTENT_TYPE), "content_type");
	assert_null(emu_fault_name(EMU_FAULT_NONE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_matching_after_count),
		cmocka_unit_test(test_seed_reproducible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
