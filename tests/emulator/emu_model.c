/* emu_model.c - request validation straight from the service model.
 *
 * Decision: the validation tables are read from service-2.json when the
 * emulator starts, not generated at build time. The model is the single
 * source of truth (it is what boto3 and the aws CLI use); reading it takes a
 * few milliseconds with cJSON, which we link anyway; a newer model dropped
 * into tests/data/personalize needs no rebuild; and the layout-driven
 * Makefile needs no generator step. The cost is a runtime dependency on the
 * model file, which --model names and which defaults to
 * tests/data/personalize/service-2.json in the tree the emulator was built in.
 *
 * What real AWS answers (Coral-based JSON services like Personalize): a
 * value of the wrong JSON type is a 400 SerializationException; constraint
 * violations (required, length, range, pattern, enum) are collected and
 * answered in one 400 ValidationException, "N validation error(s) detected:
 * Value 'x' at 'member' failed to satisfy constraint: Member must ...",
 * joined by "; ". Business rules answer with the model's own error shapes
 * (InvalidInputException ...), in emu_world.c. Unknown members are ignored,
 * as Coral does. */
#include "emu.h"
#include "emu-model-internal.h"

#include <errno.h>
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMU_MAX_DEPTH 32


struct vctx {
	const struct emu_model *m;
	struct strbuf msgs;
	int nerr;
	bool serialization;
	char *ser_msg;
};

/* ---- Java regex -> POSIX ERE ---------------------------------------------- */

static const char *class_for(const char *name)
{
	if (!strcmp(name, "L"))
		return "[:alpha:]";
	if (!strcmp(name, "N"))
		return "[:digit:]";
	if (!strcmp(name, "Z"))
		return "[:space:]";
	if (!strcmp(name, "ASCII"))
		return "\x01-\x7f";
	return NULL;
}

int emu_regex_translate(const char *java, char **ere)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = java;
	bool in_bracket = false, dash = false;
	int r = 0;

	strbuf_puts(&sb, "^(");
	if (*p == '^')
		p++;
	for (; *p; p++) {
		if (*p == '$' && p[1] == '\0' && !in_bracket)
			break;
		if (*p == '\\') {
			char c = p[1];
			const char *cls = NULL;

			if (!c) {
				r = -EINVAL;
				goto cleanup;
			}
			if (c == 'p' && p[2] == '{') {
				const char *end = strchr(p + 3, '}');
				char name[16];

				if (!end || (size_t)(end - p - 3) >= sizeof(name)) {
					r = -EINVAL;
					goto cleanup;
				}
				memcpy(name, p + 3, (size_t)(end - p - 3));
				name[end - p - 3] = '\0';
				cls = class_for(name);
				if (!cls) {
					r = -EINVAL;
					goto cleanup;
				}
				if (in_bracket)
					strbuf_puts(&sb, cls);
				else
					strbuf_printf(&sb, "[%s]", cls);
				p = end;
				continue;
			}
			p++;
			if (c == 'd') {
				strbuf_puts(&sb, in_bracket ? "0-9" : "[0-9]");
			} else if (c == 's') {
				strbuf_puts(&sb, in_bracket ? "[:space:]" : "[[:space:]]");
			} else if (c == 'w') {
				strbuf_puts(&sb, in_bracket ? "[:alnum:]_" : "[[:alnum:]_]");
			} else if (in_bracket) {
				if (c == '-')
					dash = true;
				else if (c != ']' && c != '\\' && c != '^')
					strbuf_putc(&sb, c);
				else if (c == '^')
					strbuf_puts(&sb, "\\^"); /* not first: literal */
			} else {
				strbuf_putc(&sb, '\\');
				strbuf_putc(&sb, c);
			}
			continue;
		}
		if (!in_bracket && *p == '[') {
			in_bracket = true;
			dash = false;
			strbuf_putc(&sb, '[');
			if (p[1] == '^') {
				strbuf_putc(&sb, '^');
				p++;
			}
			continue;
		}
		if (in_bracket && *p == ']') {
			if (dash)
				strbuf_putc(&sb, '-');
			strbuf_putc(&sb, ']');
			in_bracket = false;
			continue;
		}
		strbuf_putc(&sb, *p);
	}
	if (in_bracket) {
		r = -EINVAL;
		goto cleanup;
	}
	strbuf_puts(&sb, ")$");
	r = strbuf_error(&sb);
	if (r == 0)
		*ere = strbuf_detach(&sb);
cleanup:
	strbuf_free(&sb);
	return r;
}

/* ---- loading -------------------------------------------------------------- */

static void free_patterns(struct emu_pattern *p)
{
	while (p) {
		struct emu_pattern *next = p->next;

		if (p->ok)
			regfree(&p->re);
		free(p->shape);
		free(p);
		p = next;
	}
}

void emu_model_free(struct emu_model *m)
{
	if (!m)
		return;
	free_patterns(m->patterns);
	if (m->utf8)
		freelocale(m->utf8);
	cJSON_Delete(m->root);
	free(m);
}

static int compile_patterns(struct emu_model *m)
{
	const cJSON *shape;

	cJSON_ArrayForEach(shape, m->shapes) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(shape, "pattern");
		struct emu_pattern *p;
		char *ere = NULL;

		if (!cJSON_IsString(pat))
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->shape = strdup(shape->string);
		p->next = m->patterns;
		m->patterns = p;
		if (!p->shape)
			return -ENOMEM;
		/* A pattern we cannot translate is not enforced (said on stderr):
		 * better a lenient check than a false rejection. */
		if (emu_regex_translate(pat->valuestring, &ere) == 0 &&
		    regcomp(&p->re, ere, REG_EXTENDED | REG_NOSUB) == 0)
			p->ok = true;
		else
			fprintf(stderr, "personalize-emulator: pattern of %s not enforced: %s\n",
				p->shape, pat->valuestring);
		free(ere);
	}
	return 0;
}

/* compile_patterns() in the model's UTF-8 LC_CTYPE, when there is one. */
static int compile_patterns_utf8(struct emu_model *m)
{
	locale_t old = (locale_t)0;
	int r;

	m->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!m->utf8)
		m->utf8 = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
	if (m->utf8)
		old = uselocale(m->utf8);
	r = compile_patterns(m);
	if (m->utf8)
		uselocale(old);
	return r;
}

int emu_model_load(const char *path, struct emu_model **out, char **err)
{
	struct emu_model *m = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;

	r = emu_read_file(path, &text, &len);
	if (r < 0) {
		*err = emu_strdup_printf("%s: %s", path, strerror(-r));
		goto cleanup;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		r = -ENOMEM;
		goto cleanup;
	}
	m->root = cJSON_ParseWithLength(text, len);
	m->shapes = cJSON_GetObjectItemCaseSensitive(m->root, "shapes");
	m->operations = cJSON_GetObjectItemCaseSensitive(m->root, "operations");
	if (!cJSON_IsObject(m->shapes) || !cJSON_IsObject(m->operations)) {
		*err = emu_strdup_printf("%s: not a service model (no shapes/operations)", path);
		r = -EINVAL;
		goto cleanup;
	}
	r = compile_patterns_utf8(m);
	if (r < 0)
		goto cleanup;
	*out = m;
	m = NULL;
cleanup:
	emu_model_free(m);
	free(text);
	return r;
}

bool emu_model_has_operation(const struct emu_model *m, const char *op)
{
	return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m->operations, op));
}

static const cJSON *shape_of(const struct emu_model *m, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(m->shapes, name);
}

static const cJSON *input_shape(const struct emu_model *m, const char *op)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(m->operations, op);
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "input");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "shape");

	return cJSON_IsString(name) ? shape_of(m, name->valuestring) : NULL;
}

static const regex_t *pattern_of(const struct emu_model *m, const char *shape)
{
	const struct emu_pattern *p;

	for (p = m->patterns; p; p = p->next)
		if (!strcmp(p->shape, shape))
			return p->ok ? &p->re : NULL;
	return NULL;
}

/* ---- validation ----------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void value_text(struct strbuf *sb, const cJSON *v)
{
	char *s;

	if (!v || cJSON_IsNull(v)) {
		strbuf_puts(sb, "null");
		return;
	}
	if (cJSON_IsString(v)) {
		strbuf_printf(sb, "'%s'", v->valuestring);
		return;
	}
	s = cJSON_PrintUnformatted(v);
	strbuf_printf(sb, "'%s'", s ? s : "?");
	free(s);
}

static void violation(struct vctx *c, const char *path, const cJSON *v,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void violation(struct vctx *c, const char *path, const cJSON *v,
		      const char *fmt, ...)
{
	va_list ap;

	if (c->nerr++)
		strbuf_puts(&c->msgs, "; ");
	strbuf_puts(&c->msgs, "Value ");
	value_text(&c->msgs, v);
	strbuf_printf(&c->msgs, " at '%s' failed to satisfy constraint: ", path);
	va_start(ap, fmt);
	strbuf_vprintf(&c->msgs, fmt, ap);
	va_end(ap);
}

static void serialization(struct vctx *c, const char *path, const char *what)
{
	if (c->serialization)
		return;
	c->serialization = true;
	c->ser_msg = emu_strdup_printf("Unexpected %s at '%s'", what, path);
}

static void check_value(struct vctx *c, const char *shape_name, const cJSON *v,
			const char *path, int depth);

static void check_length(struct vctx *c, const cJSON *shape, const char *path,
			 const cJSON *v, double n)
{
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(shape, "min");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(shape, "max");

	if (cJSON_IsNumber(min) && n < min->valuedouble)
		violation(c, path, v, "Member must have length greater than or equal to %d",
			  min->valueint);
	if (cJSON_IsNumber(max) && n > max->valuedouble)
		violation(c, path, v, "Member must have length less than or equal to %d",
			  max->valueint);
}

static void check_string(struct vctx *c, const char *shape_name,
			 const cJSON *shape, const cJSON *v, const char *path)
{
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(shape, "enum");
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(shape, "pattern");
	const regex_t *re;

	if (!cJSON_IsString(v)) {
		serialization(c, path, "value type (expected a string)");
		return;
	}
	check_length(c, shape, path, v, (double)utf8_chars(v->valuestring));
	if (cJSON_IsString(pat) && (re = pattern_of(c->m, shape_name))) {
		locale_t old = c->m->utf8 ? uselocale(c->m->utf8) : (locale_t)0;
		int nomatch = regexec(re, v->valuestring, 0, NULL, 0);

		if (c->m->utf8)
			uselocale(old);
		if (nomatch)
			violation(c, path, v, "Member must satisfy regular expression pattern: %s",
				  pat->valuestring);
	}
	if (cJSON_IsArray(en)) {
		const cJSON *e;
		bool found = false;

		cJSON_ArrayForEach(e, en)
			if (cJSON_IsString(e) && !strcmp(e->valuestring, v->valuestring))
				found = true;
		if (!found) {
			struct strbuf set = STRBUF_INIT;
			const char *sep = "";

			cJSON_ArrayForEach(e, en) {
				strbuf_printf(&set, "%s%s", sep,
					      cJSON_IsString(e) ? e->valuestring : "?");
				sep = ", ";
			}
			violation(c, path, v, "Member must satisfy enum value set: [%s]",
				  set.buf ? set.buf : "");
			strbuf_free(&set);
		}
	}
}

static void check_number(struct vctx *c, const cJSON *shape, const cJSON *v,
			 const char *path, bool integer)
{
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(shape, "min");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(shape, "max");
	double d;

	if (!cJSON_IsNumber(v)) {
		serialization(c, path, "value type (expected a number)");
		return;
	}
	d = v->valuedouble;
	if (integer && (d != (double)(long long)d || d > 2147483647.0 ||
			d < -2147483648.0)) {
		serialization(c, path, "value (expected an integer)");
		return;
	}
	if (cJSON_IsNumber(min) && d < min->valuedouble) {
		if (integer)
			violation(c, path, v, "Member must have value greater than or equal to %d",
				  min->valueint);
		else
			violation(c, path, v, "Member must have value greater than or equal to %g",
				  min->valuedouble);
	}
	if (cJSON_IsNumber(max) && d > max->valuedouble) {
		if (integer)
			violation(c, path, v, "Member must have value less than or equal to %d",
				  max->valueint);
		else
			violation(c, path, v, "Member must have value less than or equal to %g",
				  max->valuedouble);
	}
}

static void check_structure(struct vctx *c, const cJSON *shape, const cJSON *v,
			    const char *path, int depth)
{
	const cJSON *members = cJSON_GetObjectItemCaseSensitive(shape, "members");
	const cJSON *required = cJSON_GetObjectItemCaseSensitive(shape, "required");
	const cJSON *mem, *req;

	if (!cJSON_IsObject(v)) {
		serialization(c, path, "value type (expected a structure)");
		return;
	}
	cJSON_ArrayForEach(req, required) {
		const cJSON *got;
		char *sub;

		if (!cJSON_IsString(req))
			continue;
		got = cJSON_GetObjectItemCaseSensitive(v, req->valuestring);
		if (got && !cJSON_IsNull(got))
			continue;
		sub = *path ? emu_strdup_printf("%s.%s", path, req->valuestring)
			    : strdup(req->valuestring);
		violation(c, sub ? sub : req->valuestring, NULL, "Member must not be null");
		free(sub);
	}
	cJSON_ArrayForEach(mem, members) {
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(v, mem->string);
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(mem, "shape");
		char *sub;

		if (!got || cJSON_IsNull(got) || !cJSON_IsString(sn))
			continue;
		sub = *path ? emu_strdup_printf("%s.%s", path, mem->string)
			    : strdup(mem->string);
		if (!sub)
			continue;
		check_value(c, sn->valuestring, got, sub, depth + 1);
		free(sub);
	}
}

static void check_value(struct vctx *c, const char *shape_name, const cJSON *v,
			const char *path, int depth)
{
	const cJSON *shape = shape_of(c->m, shape_name);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(shape, "type");
	const char *t;

	if (!cJSON_IsString(type) || depth > EMU_MAX_DEPTH)
		return;
	t = type->valuestring;
	if (!strcmp(t, "structure")) {
		check_structure(c, shape, v, path, depth);
	} else if (!strcmp(t, "string")) {
		check_string(c, shape_name, shape, v, path);
	} else if (!strcmp(t, "integer") || !strcmp(t, "long")) {
		check_number(c, shape, v, path, true);
	} else if (!strcmp(t, "double") || !strcmp(t, "float")) {
		check_number(c, shape, v, path, false);
	} else if (!strcmp(t, "timestamp")) {
		if (!cJSON_IsNumber(v) && !cJSON_IsString(v))
			serialization(c, path, "value type (expected a timestamp)");
	} else if (!strcmp(t, "boolean")) {
		if (!cJSON_IsBool(v))
			serialization(c, path, "value type (expected a boolean)");
	} else if (!strcmp(t, "blob")) {
		if (!cJSON_IsString(v))
			serialization(c, path, "value type (expected base64 text)");
	} else if (!strcmp(t, "list")) {
		const cJSON *member = cJSON_GetObjectItemCaseSensitive(shape, "member");
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(member, "shape");
		const cJSON *e;
		int i = 0;

		if (!cJSON_IsArray(v)) {
			serialization(c, path, "value type (expected a list)");
			return;
		}
		check_length(c, shape, path, v, (double)cJSON_GetArraySize(v));
		cJSON_ArrayForEach(e, v) {
			char *sub = emu_strdup_printf("%s.%d.member", path, ++i);

			if (sub && cJSON_IsString(sn))
				check_value(c, sn->valuestring, e, sub, depth + 1);
			free(sub);
		}
	} else if (!strcmp(t, "map")) {
		const cJSON *ks = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(shape, "key"), "shape");
		const cJSON *vs = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(shape, "value"), "shape");
		const cJSON *e;

		if (!cJSON_IsObject(v)) {
			serialization(c, path, "value type (expected a map)");
			return;
		}
		check_length(c, shape, path, v, (double)cJSON_GetArraySize(v));
		cJSON_ArrayForEach(e, v) {
			char *kp = emu_strdup_printf("%s.key", path);
			char *vp = emu_strdup_printf("%s.%s", path, e->string);
			cJSON *key = cJSON_CreateString(e->string);

			if (kp && key && cJSON_IsString(ks))
				check_value(c, ks->valuestring, key, kp, depth + 1);
			if (vp && cJSON_IsString(vs))
				check_value(c, vs->valuestring, e, vp, depth + 1);
			cJSON_Delete(key);
			free(kp);
			free(vp);
		}
	}
}

enum emu_valid emu_model_validate(const struct emu_model *m, const char *op,
				  const cJSON *input, char **msg)
{
	struct vctx c = { .m = m, .msgs = STRBUF_INIT };
	const cJSON *shape = input_shape(m, op);
	enum emu_valid res = EMU_VALID_OK;

	if (!shape)
		return EMU_VALID_OK;
	if (!cJSON_IsObject(input)) {
		*msg = strdup("Start of structure or map expected");
		return EMU_VALID_SERIALIZATION;
	}
	check_structure(&c, shape, input, "", 0);
	if (c.serialization) {
		*msg = c.ser_msg;
		c.ser_msg = NULL;
		res = EMU_VALID_SERIALIZATION;
	} else if (c.nerr) {
		*msg = emu_strdup_printf("%d validation error%s detected: %s", c.nerr,
					 c.nerr == 1 ? "" : "s",
					 c.msgs.buf ? c.msgs.buf : "");
		res = EMU_VALID_CONSTRAINT;
	}
	free(c.ser_msg);
	strbuf_free(&c.msgs);
	return res;
}

/* ---- redaction ------------------------------------------------------------ */

static bool is_sensitive(const struct emu_model *m, const cJSON *member)
{
	const cJSON *sn = cJSON_GetObjectItemCaseSensitive(member, "shape");

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(member, "sensitive")))
		return true;
	return cJSON_IsString(sn) &&
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(shape_of(m, sn->valuestring),
							     "sensitive"));
}

static void redact(const struct emu_model *m, const char *shape_name, cJSON *v, int depth)
{
	const cJSON *shape = shape_of(m, shape_name);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(shape, "type");

	if (!cJSON_IsString(type) || depth > EMU_MAX_DEPTH)
		return;
	if (!strcmp(type->valuestring, "structure") && cJSON_IsObject(v)) {
		const cJSON *mem;

		cJSON_ArrayForEach(mem, cJSON_GetObjectItemCaseSensitive(shape, "members")) {
			cJSON *got = cJSON_GetObjectItemCaseSensitive(v, mem->string);
			const cJSON *sn = cJSON_GetObjectItemCaseSensitive(mem, "shape");

			if (!got)
				continue;
			if (is_sensitive(m, mem))
				cJSON_ReplaceItemInObjectCaseSensitive(v, mem->string,
					cJSON_CreateString("*** sensitive ***"));
			else if (cJSON_IsString(sn))
				redact(m, sn->valuestring, got, depth + 1);
		}
	} else if (!strcmp(type->valuestring, "list") && cJSON_IsArray(v)) {
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(shape, "member"), "shape");
		cJSON *e;

		if (cJSON_IsString(sn))
			cJSON_ArrayForEach(e, v)
				redact(m, sn->valuestring, e, depth + 1);
	}
}

cJSON *emu_model_redact(const struct emu_model *m, const char *op,
			const cJSON *input)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(m->operations, op);
	const cJSON *sn = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "input"), "shape");
	cJSON *copy = cJSON_Duplicate(input, true);

	if (copy && cJSON_IsString(sn))
		redact(m, sn->valuestring, copy, 0);
	return copy;
}
