/* credsprov.h - the creds chain (creds.h) behind the signer's provider
 * interface (aws.h struct aws_creds_provider): each aws_call's request for
 * credentials becomes one creds_get(), cancellable by the call's ctx. */
#ifndef PR_CREDSPROV_H
#define PR_CREDSPROV_H

#include "aws.h"
#include "creds.h"

struct credsprov;

/* A provider over chain (borrowed: it must outlive the provider). 0 and
 * *out, or -ENOMEM / -EINVAL. */
int credsprov_new(struct creds_chain *chain, struct credsprov **out);
/* Forget pending requests (no callbacks; cancelled in the chain), free.
 * NULL is fine. */
void credsprov_free(struct credsprov *cp);
/* Fill *p with the interface to hand to aws_client_new(). */
void credsprov_fill(struct credsprov *cp, struct aws_creds_provider *p);

#endif
