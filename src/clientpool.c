/* clientpool.c - shared, reference-counted AWS clients; see
 * include/clientpool.h. A list: a daemon talks to a handful of regions. */
#include "clientpool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "metrics.h"

/* what an entry holds */
enum kind { K_AWS, K_S3, K_EVENTS };

struct entry {
	struct entry *next;
	enum kind kind;
	char *region;
	char *endpoint;  /* "" unset */
	void *client;
	unsigned refs;
};

struct client_pool {
	sd_event *event;
	struct http_client *http;
	const struct aws_creds_provider *creds;
	struct metrics *metrics;
	struct entry *head;
};

int client_pool_new(sd_event *event, struct http_client *http,
		    const struct aws_creds_provider *creds,
		    struct metrics *metrics, struct client_pool **out)
{
	struct client_pool *p;

	if (!event || !http || !out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->event = event;
	p->http = http;
	p->creds = creds;
	p->metrics = metrics;
	*out = p;
	return 0;
}

static void free_client(struct entry *e)
{
	if (e->kind == K_S3)
		s3_client_free(e->client);
	else
		aws_client_free(e->client);
}

void client_pool_free(struct client_pool *pool)
{
	struct entry *e;

	if (!pool)
		return;
	while ((e = pool->head)) {
		pool->head = e->next;
		free_client(e);
		free(e->region);
		free(e->endpoint);
		free(e);
	}
	free(pool);
}

static struct entry *find(struct client_pool *pool, enum kind kind,
			  const char *region, const char *endpoint)
{
	struct entry *e;

	for (e = pool->head; e; e = e->next)
		if (e->kind == kind && !strcmp(e->region, region) &&
		    !strcmp(e->endpoint, endpoint))
			return e;
	return NULL;
}

static int get(struct client_pool *pool, enum kind kind, const char *region,
	       const char *endpoint_url, void **out)
{
	const char *ep = endpoint_url ? endpoint_url : "";
	struct entry *e;
	int k;

	if (!pool || !region || !*region || !out)
		return -EINVAL;
	e = find(pool, kind, region, ep);
	if (e) {
		e->refs++;
		*out = e->client;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->kind = kind;
	e->region = strdup(region);
	e->endpoint = strdup(ep);
	if (!e->region || !e->endpoint) {
		k = -ENOMEM;
		goto fail;
	}
	if (kind == K_S3) {
		struct s3_client_config cfg;
		struct s3_client *c = NULL;

		memset(&cfg, 0, sizeof(cfg));
		cfg.region = region;
		cfg.endpoint_url = endpoint_url;
		k = s3_client_new(pool->event, pool->http, &cfg, pool->creds, &c);
		if (k == 0 && pool->metrics)
			s3_client_set_metrics_hook(c, metrics_aws_hook,
						   pool->metrics);
		e->client = c;
	} else {
		struct aws_client_config cfg;
		struct aws_client *c = NULL;

		if (kind == K_EVENTS) {
			events_client_config(&cfg, region, endpoint_url);
		} else {
			memset(&cfg, 0, sizeof(cfg));
			cfg.region = region;
			cfg.endpoint_url = endpoint_url;
		}
		k = aws_client_new(pool->event, pool->http, &cfg, pool->creds,
				   &c);
		if (k == 0 && pool->metrics)
			aws_client_set_metrics_hook(c, metrics_aws_hook,
						    pool->metrics);
		e->client = c;
	}
	if (k < 0)
		goto fail;
	e->refs = 1;
	e->next = pool->head;
	pool->head = e;
	*out = e->client;
	return 0;
fail:
	free(e->region);
	free(e->endpoint);
	free(e);
	return k;
}

int client_pool_get_aws(struct client_pool *pool, const char *region,
			const char *endpoint_url, struct aws_client **out)
{
	void *c = NULL;
	int k = get(pool, K_AWS, region, endpoint_url, &c);

	if (k == 0)
		*out = c;
	return k;
}

int client_pool_get_s3(struct client_pool *pool, const char *region,
		       const char *endpoint_url, struct s3_client **out)
{
	void *c = NULL;
	int k = get(pool, K_S3, region, endpoint_url, &c);

	if (k == 0)
		*out = c;
	return k;
}

int client_pool_get_events(struct client_pool *pool, const char *region,
			   const char *endpoint_url, struct aws_client **out)
{
	void *c = NULL;
	int k = get(pool, K_EVENTS, region, endpoint_url, &c);

	if (k == 0)
		*out = c;
	return k;
}

static void put(struct client_pool *pool, const void *client)
{
	struct entry **pp, *e;

	if (!pool || !client)
		return;
	for (pp = &pool->head; (e = *pp); pp = &e->next) {
		if (e->client != client)
			continue;
		if (--e->refs == 0) {
			*pp = e->next;
			free_client(e);
			free(e->region);
			free(e->endpoint);
			free(e);
		}
		return;
	}
}

void client_pool_put_aws(struct client_pool *pool, struct aws_client *c)
{
	put(pool, c);
}

void client_pool_put_s3(struct client_pool *pool, struct s3_client *c)
{
	put(pool, c);
}

unsigned client_pool_size(const struct client_pool *pool)
{
	const struct entry *e;
	unsigned n = 0;

	for (e = pool ? pool->head : NULL; e; e = e->next)
		n++;
	return n;
}
