/* credsprov.c - the creds chain as an aws_creds_provider; see
 * include/credsprov.h. */
#include "credsprov.h"

#include <errno.h>
#include <stdlib.h>

struct creds_wait {
	struct creds_wait *next;
	aws_creds_ready_fn ready;
	void *ctx;
	struct credsprov *cp;
};

struct credsprov {
	struct creds_chain *chain;
	struct creds_wait *waits;
};

static void unlink_wait(struct credsprov *cp, struct creds_wait *w)
{
	struct creds_wait **pp;

	for (pp = &cp->waits; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

static void on_ready(int error, const struct creds *c, void *ud)
{
	struct creds_wait *w = ud;
	struct sigv4_credentials sc;

	unlink_wait(w->cp, w);
	if (error == 0 && c) {
		creds_to_sigv4(c, &sc);
		w->ready(0, &sc, w->ctx);
	} else {
		w->ready(error ? error : -ENOKEY, NULL, w->ctx);
	}
	free(w);
}

static int get(void *impl, aws_creds_ready_fn ready, void *ctx)
{
	struct credsprov *cp = impl;
	struct creds_wait *w;
	int k;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ready = ready;
	w->ctx = ctx;
	w->cp = cp;
	w->next = cp->waits;
	cp->waits = w;
	k = creds_get(cp->chain, on_ready, w);
	if (k < 0) {
		unlink_wait(cp, w);
		free(w);
	}
	return k;
}

static void cancel(void *impl, void *ctx)
{
	struct credsprov *cp = impl;
	struct creds_wait **pp = &cp->waits, *w;

	while ((w = *pp)) {
		if (w->ctx == ctx) {
			*pp = w->next;
			creds_cancel(cp->chain, w);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

int credsprov_new(struct creds_chain *chain, struct credsprov **out)
{
	struct credsprov *cp;

	if (!chain || !out)
		return -EINVAL;
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return -ENOMEM;
	cp->chain = chain;
	*out = cp;
	return 0;
}

void credsprov_free(struct credsprov *cp)
{
	struct creds_wait *w;

	if (!cp)
		return;
	while ((w = cp->waits)) {
		cp->waits = w->next;
		creds_cancel(cp->chain, w);
		free(w);
	}
	free(cp);
}

static void invalidate(void *impl)
{
	struct credsprov *cp = impl;

	creds_invalidate(cp->chain);
}

void credsprov_fill(struct credsprov *cp, struct aws_creds_provider *p)
{
	p->get = get;
	p->cancel = cancel;
	p->invalidate = invalidate;
	p->impl = cp;
}
