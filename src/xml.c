/* xml.c - a small read-only XML tree over libexpat; see include/xml.h. */
#include "xml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <openssl/crypto.h>

struct builder {
	XML_Parser parser;
	struct xml_node *root;
	struct xml_node *cur;
	unsigned depth;
	unsigned nodes;
	int error;
};

static void stop(struct builder *b, int error)
{
	if (!b->error)
		b->error = error;
	XML_StopParser(b->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
			     const XML_Char **attrs)
{
	struct builder *b = ud;
	struct xml_node *n;
	const char *colon = strrchr(name, ':');

	(void)attrs;
	if (b->error)
		return;
	if (++b->depth > XML_MAX_DEPTH || ++b->nodes > XML_MAX_NODES ||
	    (!b->cur && b->root)) {
		stop(b, -EBADMSG);
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(colon ? colon + 1 : name)) ||
	    !(n->text = strdup(""))) {
		if (n)
			free(n->name);
		free(n);
		stop(b, -ENOMEM);
		return;
	}
	n->parent = b->cur;
	if (!b->cur) {
		b->root = n;
	} else {
		if (b->cur->last)
			b->cur->last->next = n;
		else
			b->cur->child = n;
		b->cur->last = n;
	}
	b->cur = n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct builder *b = ud;

	(void)name;
	if (b->error || !b->cur)
		return;
	b->depth--;
	b->cur = b->cur->parent;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct builder *b = ud;
	struct xml_node *n = b->cur;
	char *t;

	if (b->error || !n || len <= 0)
		return;
	t = malloc(n->text_len + (size_t)len + 1);
	if (!t) {
		stop(b, -ENOMEM);
		return;
	}
	memcpy(t, n->text, n->text_len);
	memcpy(t + n->text_len, s, (size_t)len);
	t[n->text_len + (size_t)len] = '\0';
	OPENSSL_cleanse(n->text, n->text_len);
	free(n->text);
	n->text = t;
	n->text_len += (size_t)len;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
			       const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	stop(ud, -EBADMSG);
}

int xml_parse(const char *buf, size_t len, struct xml_node **root)
{
	struct builder b = { 0 };
	enum XML_Status st;

	if (!buf || len == 0 || len > (size_t)INT32_MAX)
		return -EBADMSG;
	b.parser = XML_ParserCreate("UTF-8");
	if (!b.parser)
		return -ENOMEM;
	XML_SetUserData(b.parser, &b);
	XML_SetElementHandler(b.parser, on_start, on_end);
	XML_SetCharacterDataHandler(b.parser, on_text);
	XML_SetStartDoctypeDeclHandler(b.parser, on_doctype);
	XML_SetParamEntityParsing(b.parser, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(b.parser, buf, (int)len, XML_TRUE);
	XML_ParserFree(b.parser);
	if (!b.error && (st != XML_STATUS_OK || !b.root || b.cur))
		b.error = -EBADMSG;
	if (b.error) {
		xml_free(b.root);
		return b.error;
	}
	*root = b.root;
	return 0;
}

void xml_free(struct xml_node *n)
{
	while (n) {
		struct xml_node *next = n->next;

		xml_free(n->child);
		if (n->text) {
			OPENSSL_cleanse(n->text, n->text_len);
			free(n->text);
		}
		free(n->name);
		free(n);
		n = next;
	}
}

const struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
	const struct xml_node *c;

	if (!n || !name)
		return NULL;
	for (c = n->child; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const struct xml_node *xml_path(const struct xml_node *n, const char *path)
{
	char part[128];

	while (n && path && *path) {
		size_t k = strcspn(path, "/");

		if (k == 0 || k >= sizeof(part))
			return NULL;
		memcpy(part, path, k);
		part[k] = '\0';
		n = xml_child(n, part);
		path += k;
		if (*path == '/')
			path++;
	}
	return n;
}

const char *xml_path_text(const struct xml_node *n, const char *path)
{
	const struct xml_node *x = xml_path(n, path);

	return x ? x->text : NULL;
}
