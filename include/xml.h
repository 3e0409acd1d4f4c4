/* xml.h - a small read-only XML tree for AWS replies (STS Query replies and
 * errors, S3 error bodies), parsed with libexpat.
 *
 * libexpat rather than libxml2: the replies are small, flat documents read
 * once; expat is a small streaming parser with no network access, no
 * XInclude/XPath/catalog machinery and a long record of hardening against
 * entity expansion, and the tree we need is a few dozen lines on top of
 * it. A DOCTYPE is refused outright (AWS never sends one), so no entity
 * is ever declared or expanded.
 *
 * Element names lose any "prefix:"; attributes are ignored; the text of
 * an element is its character data (children's text not included).
 * Text is wiped when the tree is freed (it may hold secrets). */
#ifndef PR_XML_H
#define PR_XML_H

#include <stddef.h>

#define XML_MAX_DEPTH 32
#define XML_MAX_NODES 4096

struct xml_node {
	char *name;
	char *text;                /* never NULL after a parse ("") */
	size_t text_len;
	struct xml_node *parent;
	struct xml_node *child;    /* first child */
	struct xml_node *last;     /* last child */
	struct xml_node *next;     /* next sibling */
};

/* Parse buf[0..len) into *root (the document element). 0; -EBADMSG (not
 * well-formed, a DOCTYPE, deeper than XML_MAX_DEPTH or more than
 * XML_MAX_NODES elements, empty); -ENOMEM. */
int xml_parse(const char *buf, size_t len, struct xml_node **root);
/* Wipe the text and free the tree. NULL is fine. */
void xml_free(struct xml_node *root);

/* The first child of n named name, else NULL (n may be NULL). */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* Follow "A/B/C" from n through first children of those names. */
const struct xml_node *xml_path(const struct xml_node *n, const char *path);
/* The text of the element at path under n, or NULL when absent. */
const char *xml_path_text(const struct xml_node *n, const char *path);

#endif
