/* emu_yaml.c - YAML world files, converted to the same cJSON tree a JSON
 * world file gives, so that one loader serves both. */
#include "emu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define EMU_YAML_MAX_DEPTH 64

/* A plain (unquoted) scalar that reads as a JSON literal becomes one. */
static cJSON *scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	char *end;
	double d;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "yes"))
			return cJSON_CreateTrue();
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "no"))
			return cJSON_CreateFalse();
		if (!strcmp(v, "null") || !strcmp(v, "~") || !*v)
			return cJSON_CreateNull();
		d = strtod(v, &end);
		if (end != v && !*end && strspn(v, "+-0123456789.eE") == strlen(v))
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(v);
}

/* Attach child to parent: appended to an array, or stored under *key in an
 * object (key consumed). */
static int attach(cJSON *parent, char **key, cJSON *child)
{
	if (cJSON_IsArray(parent)) {
		cJSON_AddItemToArray(parent, child);
		return 0;
	}
	if (!*key) {
		cJSON_Delete(child);
		return -EINVAL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(parent, *key);
	cJSON_AddItemToObject(parent, *key, child);
	free(*key);
	*key = NULL;
	return 0;
}

cJSON *emu_yaml_to_json(const char *text, size_t len, char **err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	cJSON *stack[EMU_YAML_MAX_DEPTH];
	char *keys[EMU_YAML_MAX_DEPTH];
	cJSON *root = NULL;
	int depth = 0;
	bool done = false, failed = false;

	memset(keys, 0, sizeof(keys));
	if (!yaml_parser_initialize(&parser)) {
		*err = strdup("cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !failed) {
		cJSON *node = NULL;
		bool container = false;

		if (!yaml_parser_parse(&parser, &ev)) {
			*err = emu_strdup_printf("line %zu: %s",
						 parser.problem_mark.line + 1,
						 parser.problem ? parser.problem : "YAML error");
			failed = true;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_SCALAR_EVENT:
			if (depth > 0 && cJSON_IsObject(stack[depth - 1]) && !keys[depth - 1]) {
				keys[depth - 1] = strdup((const char *)ev.data.scalar.value);
				if (!keys[depth - 1])
					failed = true;
				break;
			}
			node = scalar(&ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			node = cJSON_CreateArray();
			container = true;
			break;
		case YAML_MAPPING_START_EVENT:
			node = cJSON_CreateObject();
			container = true;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_ALIAS_EVENT:
			*err = emu_strdup_printf("line %zu: YAML aliases are not supported",
						 ev.start_mark.line + 1);
			failed = true;
			break;
		default:
			break;
		}
		if (node) {
			if (depth == 0) {
				if (root)
					cJSON_Delete(root); /* only the first document counts */
				root = node;
			} else if (attach(stack[depth - 1], &keys[depth - 1], node) < 0) {
				failed = true;
			}
			if (container && !failed) {
				if (depth >= EMU_YAML_MAX_DEPTH) {
					*err = strdup("YAML nested too deeply");
					failed = true;
				} else {
					stack[depth++] = node;
				}
			}
		}
		yaml_event_delete(&ev);
	}
	for (int i = 0; i < EMU_YAML_MAX_DEPTH; i++)
		free(keys[i]);
	yaml_parser_delete(&parser);
	if (failed) {
		if (!*err)
			*err = strdup("malformed YAML");
		cJSON_Delete(root);
		return NULL;
	}
	if (!root)
		root = cJSON_CreateObject();
	return root;
}
