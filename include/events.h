/* events.h - run events on an Amazon EventBridge bus (EventBusName).
 *
 * At a run's start, at each stage change and at its end, the runner sends
 * one event with PutEvents (AWS JSON 1.1 over aws.h's client: target
 * AWSEvents.PutEvents, signing name "events", endpoint
 * events.REGION.amazonaws.com; EndpointUrl, AWS_ENDPOINT_URL_EVENTS and
 * AWS_ENDPOINT_URL override it as for Personalize):
 *
 *   Source        personalize-retrain
 *   DetailType    Personalize Retraining Run State Change
 *   EventBusName  the config's bus name or ARN
 *   Resources     [solution ARN, campaign ARN (when there is one)]
 *   Detail        {"pipeline", "fireTime", "stage", "outcome",
 *                  "solutionVersionArn", "campaignArn", "batchOutput",
 *                  "durationSeconds", "reason", "metrics"}
 *
 * Events never hold a run back: each pipeline has a small queue, sent in
 * order, one PutEvents in flight at a time; a call is retried by the call
 * engine (standard retries), and a failure is then logged as a warning
 * (once, until sending works again: later failures are logged at debug
 * level and counted) and the event dropped. A reply with
 * FailedEntryCount > 0 is logged as a warning with the entry's ErrorCode.
 * On SIGTERM the daemon waits for the queues to drain, for at most
 * DAEMON_EVENTS_FLUSH_USEC (include/daemon.h). */
#ifndef PR_EVENTS_H
#define PR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "aws.h"

#define EVENTS_ENDPOINT_PREFIX "events"
#define EVENTS_SIGNING_NAME    "events"
#define EVENTS_TARGET_PREFIX   "AWSEvents"
#define EVENTS_ENV_SERVICE_ID  "EVENTS"
#define EVENTS_SOURCE          "personalize-retrain"
#define EVENTS_DETAIL_TYPE     "Personalize Retraining Run State Change"
/* Events waiting per pipeline; beyond it the oldest waiting is dropped
 * (a run makes about six). */
#define EVENTS_QUEUE_MAX       32
/* Whole-call timeout of one PutEvents attempt. */
#define EVENTS_TOTAL_TIMEOUT_MS 10000u

/* One event's data, from the run (all borrowed). */
struct events_detail {
	const char *pipeline;
	time_t fire_time;
	const char *stage;         /* "started", "importing", ... */
	const char *outcome;       /* NULL while the run goes on */
	const char *solution_version_arn;  /* NULL/"": none yet */
	const char *campaign_arn;          /* NULL/"": train only */
	/* the batch job's output location once it is ACTIVE; NULL/"": none */
	const char *batch_output;
	uint64_t duration_s;       /* since the run started */
	const char *reason;        /* NULL/"": none */
	const char *metric_name;   /* with has_metric: the gate's metric */
	bool has_metric;
	double metric_value;
};

/* The Detail JSON text (compact; malloc'd), or NULL (out of memory).
 * Empty or NULL strings are JSON null; fireTime is ISO 8601 UTC;
 * metrics is {name: value} or null. Pure. */
char *events_detail_json(const struct events_detail *d);

/* The PutEvents request body: one entry with Source, DetailType, the bus,
 * the resources that are set (NULL/"" skipped) and detail. NULL when out
 * of memory. Pure. */
cJSON *events_put_body(const char *bus, const char *const *resources,
		       size_t n_resources, const char *detail);

/* A PutEvents reply: FailedEntryCount, and the first failed entry's
 * ErrorCode and ErrorMessage (NULL when none). Pure. */
unsigned events_reply_failed(const cJSON *reply, const char **code,
			     const char **message);

/* The client config of the EventBridge service for region and
 * endpoint_url (NULL: the environment's, else AWS's), with a 10 s
 * timeout per attempt. */
void events_client_config(struct aws_client_config *cfg, const char *region,
			  const char *endpoint_url);

/* ---- per-pipeline queue ------------------------------------------------ */

struct events_queue;

/* A queue for pipeline name sending to bus through client (borrowed: it
 * must outlive the queue or be replaced with events_queue_set_client).
 * drained(userdata) is called from the loop when the last event is
 * handled (NULL: not told). 0, -EINVAL, -ENOMEM. */
int events_queue_new(struct aws_client *client, const char *bus,
		     const char *name, void (*drained)(void *userdata),
		     void *userdata, struct events_queue **out);
/* Cancel the call in flight and drop what waits. NULL ok. */
void events_queue_free(struct events_queue *q);
/* Queue one event; sent when those before it are done. 0 or -ENOMEM. */
int events_queue_send(struct events_queue *q, const struct events_detail *d,
		      const char *solution_arn);
/* Events queued or in flight. */
size_t events_queue_pending(const struct events_queue *q);

#endif
