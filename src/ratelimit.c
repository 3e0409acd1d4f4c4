/* ratelimit.c - token bucket with round-robin fairness; see ratelimit.h. */
#include "ratelimit.h"
#include "timeconst.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct rl_call {
	struct rl_call *next;
	ratelimit_grant_fn fn;
	void *cookie;
};

/* An owner with at least one queued call; owners form a ring (doubly
 * linked: joining and leaving are O(1) with a thousand owners waiting). */
struct rl_owner {
	struct rl_owner *next, *prev;
	unsigned id;
	struct rl_call *head, *tail;
};

struct ratelimit {
	double rate;          /* tokens per second */
	double burst;         /* bucket size */
	double tokens;        /* available now */
	uint64_t last_usec;   /* when tokens was last brought up to date */
	bool started;
	struct rl_owner *cur; /* next owner to serve; ring of active owners */
	struct rl_owner **by_id; /* active owners by id (ids are small: the
				    daemon numbers its pipelines) */
	size_t n_by_id;
	unsigned queued;
};

struct ratelimit *ratelimit_new(double rate_per_s, unsigned burst)
{
	struct ratelimit *rl;

	if (!(rate_per_s > 0) || burst < 1)
		return NULL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->rate = rate_per_s;
	rl->burst = burst;
	rl->tokens = burst;
	return rl;
}

static void owner_free(struct rl_owner *o)
{
	struct rl_call *c = o->head, *n;

	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	free(o);
}

void ratelimit_free(struct ratelimit *rl)
{
	struct rl_owner *o, *n;

	if (!rl)
		return;
	if (rl->cur) {
		o = rl->cur->next;
		rl->cur->next = NULL; /* break the ring */
		for (; o; o = n) {
			n = o->next;
			owner_free(o);
		}
	}
	free(rl->by_id);
	free(rl);
}

/* Find owner id among the active owners, or NULL. */
static struct rl_owner *owner_find(struct ratelimit *rl, unsigned id)
{
	return id < rl->n_by_id ? rl->by_id[id] : NULL;
}

/* Unlink owner o from the ring and free it. */
static void owner_remove(struct ratelimit *rl, struct rl_owner *o)
{
	if (o->next == o) {
		rl->cur = NULL;
	} else {
		o->prev->next = o->next;
		o->next->prev = o->prev;
		if (rl->cur == o)
			rl->cur = o->next;
	}
	rl->by_id[o->id] = NULL;
	owner_free(o);
}

/* A new active owner id, joining the ring just before cur (served after
 * everyone waiting). NULL on ENOMEM. */
static struct rl_owner *owner_add(struct ratelimit *rl, unsigned id)
{
	struct rl_owner *o;

	if (id >= rl->n_by_id) {
		size_t n = rl->n_by_id ? rl->n_by_id : 16;
		struct rl_owner **t;

		while (n <= id)
			n *= 2;
		t = realloc(rl->by_id, n * sizeof(*t));
		if (!t)
			return NULL;
		for (size_t i = rl->n_by_id; i < n; i++)
			t[i] = NULL;
		rl->by_id = t;
		rl->n_by_id = n;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->id = id;
	if (!rl->cur) {
		o->next = o->prev = o;
		rl->cur = o;
	} else {
		o->next = rl->cur;
		o->prev = rl->cur->prev;
		o->prev->next = o;
		rl->cur->prev = o;
	}
	rl->by_id[id] = o;
	return o;
}

int ratelimit_submit(struct ratelimit *rl, unsigned owner,
		     ratelimit_grant_fn fn, void *cookie)
{
	struct rl_owner *o;
	struct rl_call *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->cookie = cookie;
	o = owner_find(rl, owner);
	if (!o && !(o = owner_add(rl, owner))) {
		free(c);
		return -ENOMEM;
	}
	if (o->tail)
		o->tail->next = c;
	else
		o->head = c;
	o->tail = c;
	rl->queued++;
	return 0;
}

int ratelimit_cancel(struct ratelimit *rl, void *cookie)
{
	struct rl_owner *o = rl->cur;
	struct rl_call *c, *cprev;

	if (!o)
		return -ENOENT;
	do {
		for (cprev = NULL, c = o->head; c; cprev = c, c = c->next) {
			if (c->cookie != cookie)
				continue;
			if (cprev)
				cprev->next = c->next;
			else
				o->head = c->next;
			if (o->tail == c)
				o->tail = cprev;
			free(c);
			rl->queued--;
			if (!o->head) {
				o->head = o->tail = NULL;
				/* owner_remove frees o: only the call list is empty */
				owner_remove(rl, o);
			}
			return 0;
		}
		o = o->next;
	} while (o != rl->cur);
	return -ENOENT;
}

static void refill(struct ratelimit *rl, uint64_t now)
{
	if (!rl->started) {
		rl->started = true;
		rl->last_usec = now;
		return;
	}
	if (now <= rl->last_usec)
		return;
	rl->tokens += (double)(now - rl->last_usec) / USEC_PER_SEC * rl->rate;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	rl->last_usec = now;
}

uint64_t ratelimit_run(struct ratelimit *rl, uint64_t now_usec)
{
	double missing;

	refill(rl, now_usec);
	while (rl->cur && rl->tokens >= 1.0) {
		struct rl_owner *o = rl->cur;
		struct rl_call *c = o->head;
		ratelimit_grant_fn fn = c->fn;
		void *cookie = c->cookie;

		o->head = c->next;
		free(c);
		rl->queued--;
		rl->tokens -= 1.0;
		if (!o->head)
			owner_remove(rl, o);
		else
			rl->cur = o->next;
		fn(cookie); /* may submit: the ring is consistent here */
	}
	if (!rl->cur)
		return 0;
	missing = 1.0 - rl->tokens;
	return now_usec + (uint64_t)(missing / rl->rate * USEC_PER_SEC) + 1;
}

unsigned ratelimit_queued(const struct ratelimit *rl)
{
	return rl->queued;
}
