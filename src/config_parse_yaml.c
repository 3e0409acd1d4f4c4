/* config_parse_yaml.c - the same keys in YAML (libyaml), several pipelines.
 *
 *   MaxApiCallsPerSecond: 5          # global keys: top level only
 *   ImportRoleArn: arn:aws:iam::...  # pipeline keys here: defaults for all
 *   pipelines:                       # optional; without it the top level
 *     - PipelineName: staging        # is the one pipeline
 *       SolutionArn: arn:...
 *
 * A value that is empty, ~ or null (unquoted) means "not set", and in a
 * pipelines entry it overrides a top-level default with "not set". */
#include "config-internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define PIPELINES_KEY "pipelines"
/* A config nests 3 levels (top, pipelines, entry); libyaml's scanner is
 * quadratic in the nesting depth, so deeper input is refused before it is
 * loaded, and so is a document of absurdly many nodes. */
#define YAML_MAX_DEPTH 16
#define YAML_MAX_NODES 100000

struct walk {
	struct config_raw *raw;
	yaml_document_t *doc;
	struct config_errors *errs;
};

static unsigned node_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "a value";
	}
}

static bool scalar_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return len == 0 || (len == 1 && v[0] == '~') ||
		(len == 4 && (memcmp(v, "null", 4) == 0 ||
			      memcmp(v, "Null", 4) == 0 ||
			      memcmp(v, "NULL", 4) == 0));
}

/* A Tags mapping, {team: recs, env: prod}: each pair with its line, in
 * the form config_tags_put_pair() documents; a key or value that is not
 * a plain value makes the whole key invalid (reported here). A null value
 * is an empty one. */
static int walk_tags(struct walk *w, struct config_raw_scope *scope, int k,
		     const yaml_node_t *kn, const yaml_node_t *map)
{
	struct config_raw *raw = w->raw;
	const yaml_node_pair_t *p;
	struct strbuf sb = STRBUF_INIT;
	bool bad = false;
	int r;

	strbuf_putc(&sb, CONFIG_TAGS_MAPPING);
	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *tk = yaml_document_get_node(w->doc, p->key);
		const yaml_node_t *tv = yaml_document_get_node(w->doc,
							       p->value);
		const char *v = "";
		size_t vlen = 0;

		if (!tk || tk->type != YAML_SCALAR_NODE ||
		    !tv || tv->type != YAML_SCALAR_NODE) {
			const yaml_node_t *at = tk ? tk : kn;

			config_errors_add(w->errs, raw->file, node_line(at),
					  "Tags: each tag is \"key: value\" "
					  "with a plain key and value, not %s",
					  node_kind(tk && tk->type !=
						    YAML_SCALAR_NODE ? tk :
						    (tv ? tv : at)));
			bad = true;
			continue;
		}
		if (!scalar_is_null(tv)) {
			v = (const char *)tv->data.scalar.value;
			vlen = tv->data.scalar.length;
		}
		if (memchr(tk->data.scalar.value, '\0',
			   tk->data.scalar.length) || memchr(v, '\0', vlen)) {
			config_errors_add(w->errs, raw->file, node_line(tk),
					  "Tags: a tag contains a NUL "
					  "character; write it as plain text");
			bad = true;
			continue;
		}
		config_tags_put_pair(&sb, node_line(tk),
				     (const char *)tk->data.scalar.value,
				     tk->data.scalar.length, v, vlen);
	}
	if (strbuf_error(&sb)) {
		strbuf_free(&sb);
		return -ENOMEM;
	}
	if (bad) {
		config_raw_set_invalid(scope, k, node_line(kn));
		strbuf_free(&sb);
		return 0;
	}
	r = config_raw_set(raw, scope, k, sb.buf, sb.len, node_line(kn),
			   w->errs);
	strbuf_free(&sb);
	return r;
}

/* One "Key: value" pair into scope; in_list: inside a pipelines entry. */
static int walk_pair(struct walk *w, struct config_raw_scope *scope,
		     const yaml_node_t *kn, const yaml_node_t *vn, bool in_list)
{
	struct config_raw *raw = w->raw;
	const char *name;
	size_t len;
	int k;

	if (!kn || kn->type != YAML_SCALAR_NODE) {
		config_errors_add(w->errs, raw->file, kn ? node_line(kn) : 0,
				  "a key must be a plain name like SolutionArn, "
				  "not %s", kn ? node_kind(kn) : "nothing");
		return 0;
	}
	name = (const char *)kn->data.scalar.value;
	len = kn->data.scalar.length;
	k = config_key_lookup_n(name, len);
	if (k < 0) {
		if (len == strlen(PIPELINES_KEY) &&
		    strncasecmp(name, PIPELINES_KEY, len) == 0)
			config_errors_add(w->errs, raw->file, node_line(kn),
					  "%s", in_list ?
					  "a pipelines entry cannot hold "
					  "another pipelines list; give the "
					  "keys of one pipeline" :
					  "the list of pipelines is spelt "
					  "'pipelines:' (lower case)");
		else
			config_raw_unknown_key(raw, name, len, node_line(kn),
					       w->errs);
		return 0;
	}
	if (in_list && config_keys[k].scope == CONFIG_SCOPE_GLOBAL) {
		config_errors_add(w->errs, raw->file, node_line(kn),
				  "%s applies to all pipelines; move it to "
				  "the top level, out of the pipelines list",
				  config_keys[k].name);
		return 0;
	}
	if (vn && vn->type == YAML_MAPPING_NODE &&
	    config_keys[k].type == CONFIG_TYPE_TAGS)
		return walk_tags(w, scope, k, kn, vn);
	if (vn && vn->type == YAML_SEQUENCE_NODE &&
	    config_keys[k].type == CONFIG_TYPE_TAGS) {
		config_raw_set_invalid(scope, k, node_line(kn));
		config_errors_add(w->errs, raw->file, node_line(kn),
				  "Tags must be a mapping, not a list; write "
				  "Tags: {team: recs, env: prod}");
		return 0;
	}
	if (!vn || vn->type != YAML_SCALAR_NODE) {
		config_raw_set_invalid(scope, k, node_line(kn));
		config_errors_add(w->errs, raw->file, node_line(kn),
				  "%s must be a single value, not %s; write "
				  "%s: VALUE", config_keys[k].name,
				  vn ? node_kind(vn) : "nothing",
				  config_keys[k].name);
		return 0;
	}
	if (scalar_is_null(vn))
		return config_raw_set(raw, scope, k, NULL, 0, node_line(kn),
				      w->errs);
	if (memchr(vn->data.scalar.value, '\0', vn->data.scalar.length)) {
		config_raw_set_invalid(scope, k, node_line(kn));
		config_errors_add(w->errs, raw->file, node_line(vn),
				  "%s contains a NUL character; write the "
				  "value as plain text", config_keys[k].name);
		return 0;
	}
	return config_raw_set(raw, scope, k,
			      (const char *)vn->data.scalar.value,
			      vn->data.scalar.length, node_line(kn), w->errs);
}

static int walk_mapping(struct walk *w, struct config_raw_scope *scope,
			const yaml_node_t *map, bool in_list)
{
	const yaml_node_pair_t *p;
	int r;

	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
		const yaml_node_t *vn = yaml_document_get_node(w->doc,
							       p->value);

		if (!in_list && kn && kn->type == YAML_SCALAR_NODE &&
		    kn->data.scalar.length == strlen(PIPELINES_KEY) &&
		    memcmp(kn->data.scalar.value, PIPELINES_KEY,
			   strlen(PIPELINES_KEY)) == 0)
			continue; /* walked by walk_pipelines() */
		r = walk_pair(w, scope, kn, vn, in_list);
		if (r < 0)
			return r;
	}
	return 0;
}

static int walk_pipelines(struct walk *w, const yaml_node_t *kn,
			  const yaml_node_t *list)
{
	struct config_raw *raw = w->raw;
	const yaml_node_item_t *it;
	size_t count;
	int r;

	if (raw->has_list) {
		config_errors_add(w->errs, raw->file, node_line(kn),
				  "pipelines is given twice; keep one list of "
				  "pipelines");
		return 0;
	}
	raw->has_list = true;
	if (!list || list->type != YAML_SEQUENCE_NODE ||
	    list->data.sequence.items.top == list->data.sequence.items.start) {
		config_errors_add(w->errs, raw->file, node_line(kn),
				  "pipelines must be a non-empty list of "
				  "mappings, one per pipeline (\"- SolutionArn: "
				  "...\")");
		return 0;
	}
	count = (size_t)(list->data.sequence.items.top -
			 list->data.sequence.items.start);
	if (count > CONFIG_MAX_PIPELINES) {
		raw->fatal = true;
		config_errors_add(w->errs, raw->file, node_line(kn),
				  "pipelines lists %zu pipelines, more than %d; "
				  "split them over several config files",
				  count, CONFIG_MAX_PIPELINES);
		return 0;
	}
	raw->pipelines = calloc(count, sizeof(*raw->pipelines));
	if (!raw->pipelines)
		return -ENOMEM;
	for (it = list->data.sequence.items.start;
	     it < list->data.sequence.items.top; it++) {
		const yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		struct config_raw_scope *scope = &raw->pipelines[raw->n];

		if (!item)
			continue;
		if (item->type != YAML_MAPPING_NODE) {
			config_errors_add(w->errs, raw->file, node_line(item),
					  "each pipelines entry must be a "
					  "mapping of keys (\"- SolutionArn: "
					  "...\"), not %s", node_kind(item));
			continue;
		}
		scope->line = node_line(item);
		raw->n++;
		r = walk_mapping(w, scope, item, true);
		if (r < 0)
			return r;
	}
	return 0;
}

static int walk_root(struct walk *w, const yaml_node_t *root)
{
	const yaml_node_pair_t *p;
	int r;

	w->raw->top.line = node_line(root);
	if (root->type != YAML_MAPPING_NODE) {
		w->raw->fatal = true;
		config_errors_add(w->errs, w->raw->file, node_line(root),
				  "the YAML config must be a mapping of "
				  "\"Key: value\" lines, not %s",
				  node_kind(root));
		return 0;
	}
	r = walk_mapping(w, &w->raw->top, root, false);
	if (r < 0)
		return r;
	for (p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);

		if (kn && kn->type == YAML_SCALAR_NODE &&
		    kn->data.scalar.length == strlen(PIPELINES_KEY) &&
		    memcmp(kn->data.scalar.value, PIPELINES_KEY,
			   strlen(PIPELINES_KEY)) == 0) {
			r = walk_pipelines(w, kn, yaml_document_get_node(
						   w->doc, p->value));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The input byte at index (the parser was given the whole buffer). */
static int raw_byte(const yaml_parser_t *parser, size_t index)
{
	return parser->input.string.start[index];
}

static void syntax_error(struct config_raw *raw, const yaml_parser_t *parser,
			 size_t len, struct config_errors *errs)
{
	unsigned line = (unsigned)parser->problem_mark.line + 1;

	/* at the end of the input the construct left open is the news */
	if (parser->context && parser->problem_mark.index >= len)
		line = (unsigned)parser->context_mark.line + 1;

	raw->fatal = true;
	if (parser->error == YAML_MEMORY_ERROR) {
		errs->oom = true;
		return;
	}
	if (parser->problem_mark.index < len &&
	    raw_byte(parser, parser->problem_mark.index) == '\t')
		config_errors_add(errs, raw->file, line,
				  "YAML syntax error: a tab character; YAML "
				  "indents with spaces only");
	else if (parser->context)
		config_errors_add(errs, raw->file, line,
				  "YAML syntax error: %s %s; write \"Key: "
				  "value\" lines", parser->problem ?
				  parser->problem : "error", parser->context);
	else
		config_errors_add(errs, raw->file, line,
				  "YAML syntax error: %s; write \"Key: value\" "
				  "lines", parser->problem ? parser->problem :
				  "error");
}

/* A first pass over the events: syntax, nesting depth and size, so the
 * document is only loaded when that is cheap. Sets raw->fatal on any
 * problem (reported); 0 or -ENOMEM. */
static int precheck(const char *buf, size_t len, struct config_raw *raw,
		    struct config_errors *errs)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned depth = 0;
	size_t nodes = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(raw, &parser, len, errs);
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > YAML_MAX_DEPTH) {
				raw->fatal = true;
				config_errors_add(errs, raw->file,
						  (unsigned)ev.start_mark.line + 1,
						  "YAML nested deeper than %d "
						  "levels; a config needs 3 (top "
						  "level, pipelines, one "
						  "pipeline)", YAML_MAX_DEPTH);
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (!done && ++nodes > YAML_MAX_NODES) {
			raw->fatal = true;
			config_errors_add(errs, raw->file,
					  (unsigned)ev.start_mark.line + 1,
					  "YAML has more than %d nodes; a config "
					  "has a few dozen keys per pipeline",
					  YAML_MAX_NODES);
			done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return 0;
}

/* Last line of buf (1-based), for "missing key" messages. */
static unsigned count_lines(const char *buf, size_t len)
{
	unsigned n = 1;
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] == '\n' && i + 1 < len)
			n++;
	return n;
}

int config_parse_yaml(const char *buf, size_t len, struct config_raw *raw,
		      struct config_errors *errs)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	struct walk w = { raw, &doc, errs };
	int r = 0;

	raw->end_line = count_lines(buf, len);
	raw->top.line = 1;
	r = precheck(buf, len, raw, errs);
	if (r < 0 || raw->fatal)
		return r;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(raw, &parser, len, errs);
		goto done;
	}
	root = yaml_document_get_root_node(&doc);
	if (root) {
		r = walk_root(&w, root);
		/* a second document is a mistake worth naming */
		if (r == 0) {
			if (!yaml_parser_load(&parser, &extra)) {
				syntax_error(raw, &parser, len, errs);
			} else {
				yaml_node_t *x = yaml_document_get_root_node(
					&extra);

				if (x)
					config_errors_add(
						errs, raw->file, node_line(x),
						"a second YAML document; the "
						"config is one document (use "
						"pipelines: for several "
						"pipelines)");
				yaml_document_delete(&extra);
			}
		}
	}
	yaml_document_delete(&doc);
done:
	yaml_parser_delete(&parser);
	return r;
}
