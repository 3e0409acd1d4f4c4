/* clientpool.h - AWS clients shared by the pipelines of one daemon.
 *
 * A Personalize client (aws.h) or S3 client (s3.h) depends only on its
 * region and endpoint, and its calls are independent of each other, so the
 * pipelines of one region share one: its signing key cache, its clock-skew
 * correction and its retry quota (the SDKs' per-client quota, here one per
 * region and endpoint rather than one per pipeline) are common, and 1,000
 * pipelines cost one client's memory, not 1,000 (~4 kB each, `make bench`).
 *
 * Clients are reference-counted: get returns a client (created on first
 * use), put gives a reference back; the last put frees it (cancelling
 * nothing: every call of a runner is cancelled by that runner first). */
#ifndef PR_CLIENTPOOL_H
#define PR_CLIENTPOOL_H

#include <systemd/sd-event.h>

#include "aws.h"
#include "s3.h"

struct client_pool;
struct http_client;
struct metrics;

/* A pool creating its clients on event with http and creds (borrowed:
 * they must outlive the pool); metrics (NULL: none) is installed as every
 * client's metrics hook. 0 or -ENOMEM. */
int client_pool_new(sd_event *event, struct http_client *http,
		    const struct aws_creds_provider *creds,
		    struct metrics *metrics, struct client_pool **out);

/* Free the pool and any client still in it. NULL ok. */
void client_pool_free(struct client_pool *pool);

/* The Personalize client for region (required) and endpoint_url (NULL/""
 * unset), shared. 0 and *out, or aws_client_new's -errno. */
int client_pool_get_aws(struct client_pool *pool, const char *region,
			const char *endpoint_url, struct aws_client **out);
/* The S3 client for region and endpoint_url, shared. 0 or -errno. */
int client_pool_get_s3(struct client_pool *pool, const char *region,
		       const char *endpoint_url, struct s3_client **out);
/* The EventBridge client (events.h) for region and endpoint_url, shared;
 * given back with client_pool_put_aws. 0 or -errno. */
int client_pool_get_events(struct client_pool *pool, const char *region,
			   const char *endpoint_url, struct aws_client **out);

/* Give back one reference (c NULL: no-op); the last one frees the client.
 * Not from inside a callback of that client. */
void client_pool_put_aws(struct client_pool *pool, struct aws_client *c);
void client_pool_put_s3(struct client_pool *pool, struct s3_client *c);

/* Distinct clients alive. Test seam: the one way the pool's tests can
 * prove that pipelines share a client and that the last put frees it; the
 * daemon never asks. */
unsigned client_pool_size(const struct client_pool *pool);

#endif
