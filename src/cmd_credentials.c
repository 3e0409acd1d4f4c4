/* cmd_credentials.c - `credentials`: resolve the AWS credentials chain the
 * way `run` does (same sources, same order; include/creds.h) and say which
 * source answered, with the last four characters of the access key id.
 * No secret is printed. make deploy runs it in the unit's context (its
 * user, LoadCredential= files and environment) before starting the
 * service. Nothing is sent to Personalize. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "creds.h"
#include "exitcodes.h"
#include "http.h"

/* The instance metadata service answers within a few seconds (short
 * timeouts, one retry per step); a credential_process may take longer. */
#define CREDENTIALS_WAIT_USEC (CREDS_PROCESS_TIMEOUT_SEC * 1000000ULL + 5000000ULL)

struct answer {
	bool done;
	int error;
	char source[64];
	char key_tail[8];
	bool temporary;
};

static void on_ready(int error, const struct creds *c, void *ud)
{
	struct answer *a = ud;
	size_t n;

	a->done = true;
	a->error = error;
	if (!error && c) {
		snprintf(a->source, sizeof(a->source), "%s",
			 c->source ? c->source : "unknown");
		n = c->access_key_id ? strlen(c->access_key_id) : 0;
		snprintf(a->key_tail, sizeof(a->key_tail), "%s",
			 n >= 4 ? c->access_key_id + n - 4 : "");
		a->temporary = c->session_token && *c->session_token;
	}
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *ud)
{
	(void)usec;
	(void)ud;
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_check(sd_event_source *s, void *ud)
{
	struct answer *a = ud;

	if (a->done)
		return sd_event_exit(sd_event_source_get_event(s), 0);
	return 0;
}

int cmd_credentials(const struct cli_options *opt, int argc, char **argv)
{
	struct creds_chain_options co;
	struct creds_chain *chain = NULL;
	struct http_client *http = NULL;
	sd_event_source *timer = NULL, *post = NULL;
	sd_event *event = NULL;
	struct answer a;
	uint64_t now;
	int k, rc = PR_EXIT_SOFTWARE;

	(void)opt;
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		cli_help(stdout);
		return PR_EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("credentials takes no arguments (got "
				       "\"%s\")", argv[1]);
	memset(&a, 0, sizeof(a));
	k = sd_event_new(&event);
	if (k >= 0)
		k = http_client_new(event, &http);
	if (k >= 0) {
		memset(&co, 0, sizeof(co));
		co.event = event;
		co.http = http;
		k = creds_chain_new(&co, &chain);
	}
	if (k >= 0 && sd_event_now(event, CLOCK_MONOTONIC, &now) >= 0)
		k = sd_event_add_time(event, &timer, CLOCK_MONOTONIC,
				      now + CREDENTIALS_WAIT_USEC, 0,
				      on_timeout, NULL);
	/* ends the loop once the answer is in (checked after every event) */
	if (k >= 0)
		k = sd_event_add_post(event, &post, on_check, &a);
	/* a chain with no source at all may answer at once, with an error */
	if (k >= 0 && (k = creds_get(chain, on_ready, &a)) < 0 && k != -ENOMEM) {
		a.done = true;
		a.error = k;
		k = 0;
	}
	if (k < 0) {
		fprintf(stderr, "%s: credentials: %s\n", CLI_PROGRAM,
			strerror(-k));
		goto cleanup;
	}
	if (!a.done)
		(void)sd_event_loop(event);
	if (!a.done) {
		fprintf(stderr, "%s: no answer from the AWS credential sources "
			"within %llu s\n", CLI_PROGRAM,
			(unsigned long long)(CREDENTIALS_WAIT_USEC / 1000000ULL));
		rc = PR_EXIT_UNAVAILABLE;
	} else if (a.error) {
		fprintf(stderr, "%s: no AWS credentials (%s): the service "
			"cannot call AWS\n", CLI_PROGRAM, strerror(-a.error));
		rc = PR_EXIT_CONFIG;
	} else {
		printf("credentials: %s, access key id ...%s%s\n", a.source,
		       a.key_tail, a.temporary ? " (temporary)" : "");
		rc = PR_EXIT_OK;
	}
cleanup:
	sd_event_source_disable_unref(post);
	sd_event_source_disable_unref(timer);
	creds_chain_free(chain);
	http_client_free(http);
	sd_event_unref(event);
	return rc;
}
