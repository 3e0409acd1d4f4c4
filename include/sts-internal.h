/* sts-internal.h - the STS client's state, for the tests: they check the
 * endpoint and signing region it resolved and reach the engine's test
 * hooks (aws-engine.h) through it. Not for the daemon: use sts.h. */
#ifndef PR_STS_INTERNAL_H
#define PR_STS_INTERNAL_H

struct aws_engine;

struct sts_client {
	struct aws_engine *engine;
	char *endpoint;
	char *host, *path, *url;
	char *signing_region;
};

#endif
