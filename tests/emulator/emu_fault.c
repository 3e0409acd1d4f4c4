/* emu_fault.c - injected faults: rules, dice from the seeded generator. */
#include "emu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum emu_fault_kind kind;
} kinds[] = {
	{ "throttle", EMU_FAULT_THROTTLE },
	{ "500", EMU_FAULT_500 },
	{ "503", EMU_FAULT_503 },
	{ "reset", EMU_FAULT_RESET },
	{ "drop", EMU_FAULT_DROP },
	{ "slow", EMU_FAULT_SLOW },
	{ "malformed", EMU_FAULT_MALFORMED },
	{ "truncated", EMU_FAULT_TRUNCATED },
	{ "cut", EMU_FAULT_CUT },
	{ "content_type", EMU_FAULT_CONTENT_TYPE },
	{ "expired_token", EMU_FAULT_EXPIRED_TOKEN },
};

const char *emu_fault_name(enum emu_fault_kind k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return NULL;
}

static void rules_free(struct emu_fault_rule *rules, size_t n)
{
	if (!rules)
		return;
	for (size_t i = 0; i < n; i++)
		free(rules[i].operation);
	free(rules);
}

void emu_faults_free(struct emu_faults *f)
{
	if (!f)
		return;
	rules_free(f->rules, f->n);
	f->rules = NULL;
	f->n = 0;
}

static double num(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static int parse_rule(const cJSON *e, struct emu_fault_rule *rule, char **err, int i)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operation");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
	const cJSON *phase = cJSON_GetObjectItemCaseSensitive(e, "phase");
	size_t k;

	memset(rule, 0, sizeof(*rule));
	if (!cJSON_IsObject(e)) {
		*err = emu_strdup_printf("rules[%d]: must be an object", i);
		return -EINVAL;
	}
	if (!cJSON_IsString(kind)) {
		*err = emu_strdup_printf("rules[%d]: \"kind\" is required", i);
		return -EINVAL;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(kinds[k].name, kind->valuestring))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		*err = emu_strdup_printf("rules[%d]: unknown kind \"%s\" (throttle, 500, 503, "
					 "reset, drop, slow, malformed, truncated, cut, content_type, "
					 "expired_token)",
					 i, kind->valuestring);
		return -EINVAL;
	}
	rule->kind = kinds[k].kind;
	rule->rate = num(e, "rate", 1.0);
	rule->after = (long)num(e, "after", 0);
	rule->count = (long)num(e, "count", -1);
	rule->delay_ms = (long)num(e, "delayMs", rule->kind == EMU_FAULT_SLOW ? 2000 : 0);
	if (rule->rate < 0 || rule->rate > 1 || rule->after < 0 || rule->delay_ms < 0 ||
	    rule->delay_ms > 600000) {
		*err = emu_strdup_printf("rules[%d]: rate must be 0..1, after >= 0, delayMs 0..600000", i);
		return -EINVAL;
	}
	if (phase && (!cJSON_IsString(phase) ||
		      (strcmp(phase->valuestring, "before") && strcmp(phase->valuestring, "after")))) {
		*err = emu_strdup_printf("rules[%d]: phase must be \"before\" or \"after\"", i);
		return -EINVAL;
	}
	rule->after_call = phase && !strcmp(phase->valuestring, "after");
	rule->operation = strdup(cJSON_IsString(op) ? op->valuestring : "*");
	return rule->operation ? 0 : -ENOMEM;
}

int emu_faults_set(struct emu_faults *f, const cJSON *spec, char **err)
{
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(spec, "rules");
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(spec, "seed");
	struct emu_fault_rule *v = NULL;
	size_t n = 0, cnt;
	const cJSON *e;
	int r = 0, i = 0;

	if (!cJSON_IsObject(spec)) {
		*err = strdup("the fault spec must be an object {\"rules\": [...]}");
		return -EINVAL;
	}
	if (rules && !cJSON_IsArray(rules)) {
		*err = strdup("\"rules\" must be a list");
		return -EINVAL;
	}
	cnt = (size_t)cJSON_GetArraySize(rules);
	if (cnt) {
		v = calloc(cnt, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	cJSON_ArrayForEach(e, rules) {
		r = parse_rule(e, &v[n], err, ++i);
		if (r < 0)
			goto cleanup;
		n++;
	}
	rules_free(f->rules, f->n);
	f->rules = v;
	f->n = n;
	v = NULL;
	n = 0;
	if (cJSON_IsNumber(seed)) {
		f->seed = (uint64_t)seed->valuedouble;
		emu_rng_seed(&f->rng, f->seed);
	}
cleanup:
	rules_free(v, n);
	return r;
}

enum emu_fault_kind emu_faults_pick(struct emu_faults *f, const char *op,
				    bool exact, struct emu_fault_rule *hit)
{
	for (size_t i = 0; i < f->n; i++) {
		struct emu_fault_rule *rule = &f->rules[i];
		double roll;

		if (strcmp(rule->operation, op) && (exact || strcmp(rule->operation, "*")))
			continue;
		rule->seen++;
		if (rule->seen <= rule->after)
			continue;
		if (rule->count >= 0 && rule->injected >= rule->count)
			continue;
		/* Always roll, so one rule's outcome does not shift the others'. */
		roll = emu_rng_unit(&f->rng);
		if (roll >= rule->rate)
			continue;
		rule->injected++;
		*hit = *rule;
		hit->operation = NULL;
		return rule->kind;
	}
	return EMU_FAULT_NONE;
}

cJSON *emu_faults_json(const struct emu_faults *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(o, "rules");

	cJSON_AddNumberToObject(o, "seed", (double)f->seed);
	for (size_t i = 0; i < f->n; i++) {
		const struct emu_fault_rule *rule = &f->rules[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "operation", rule->operation);
		cJSON_AddStringToObject(e, "kind", emu_fault_name(rule->kind));
		cJSON_AddNumberToObject(e, "rate", rule->rate);
		cJSON_AddNumberToObject(e, "after", (double)rule->after);
		cJSON_AddNumberToObject(e, "count", (double)rule->count);
		cJSON_AddNumberToObject(e, "delayMs", (double)rule->delay_ms);
		cJSON_AddStringToObject(e, "phase", rule->after_call ? "after" : "before");
		cJSON_AddNumberToObject(e, "seen", (double)rule->seen);
		cJSON_AddNumberToObject(e, "injected", (double)rule->injected);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}
