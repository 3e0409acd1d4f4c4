/* events.c - run events on an EventBridge bus: the Detail and the
 * PutEvents body (pure), and the per-pipeline queue sending them over the
 * JSON 1.1 client; see include/events.h. */
#include "events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"

/* ---- pure ------------------------------------------------------------------ */

static cJSON *str_or_null(const char *s)
{
	return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void iso_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

char *events_detail_json(const struct events_detail *d)
{
	cJSON *o, *m;
	char when[32];
	char *text = NULL;

	if (!d)
		return NULL;
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	iso_utc(d->fire_time, when, sizeof(when));
	cJSON_AddItemToObject(o, "pipeline", str_or_null(d->pipeline));
	cJSON_AddItemToObject(o, "fireTime", cJSON_CreateString(when));
	cJSON_AddItemToObject(o, "stage", str_or_null(d->stage));
	cJSON_AddItemToObject(o, "outcome", str_or_null(d->outcome));
	cJSON_AddItemToObject(o, "solutionVersionArn",
			      str_or_null(d->solution_version_arn));
	cJSON_AddItemToObject(o, "campaignArn", str_or_null(d->campaign_arn));
	cJSON_AddItemToObject(o, "batchOutput", str_or_null(d->batch_output));
	cJSON_AddItemToObject(o, "durationSeconds",
			      cJSON_CreateNumber((double)d->duration_s));
	cJSON_AddItemToObject(o, "reason", str_or_null(d->reason));
	if (d->has_metric && d->metric_name && *d->metric_name) {
		m = cJSON_CreateObject();
		if (m)
			cJSON_AddItemToObject(m, d->metric_name,
					      cJSON_CreateNumber(d->metric_value));
	} else {
		m = cJSON_CreateNull();
	}
	cJSON_AddItemToObject(o, "metrics", m);
	/* any item that could not be made leaves the object short: refuse */
	if (cJSON_GetArraySize(o) == 10)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

cJSON *events_put_body(const char *bus, const char *const *resources,
		       size_t n_resources, const char *detail)
{
	cJSON *body, *entries, *e, *res;
	size_t i;

	body = cJSON_CreateObject();
	entries = cJSON_AddArrayToObject(body, "Entries");
	e = cJSON_CreateObject();
	if (!entries || !e) {
		cJSON_Delete(e);
		cJSON_Delete(body);
		return NULL;
	}
	cJSON_AddItemToArray(entries, e);
	if (!cJSON_AddStringToObject(e, "Source", EVENTS_SOURCE) ||
	    !cJSON_AddStringToObject(e, "DetailType", EVENTS_DETAIL_TYPE) ||
	    !cJSON_AddStringToObject(e, "Detail", detail ? detail : "{}") ||
	    !cJSON_AddStringToObject(e, "EventBusName", bus ? bus : "default") ||
	    !(res = cJSON_AddArrayToObject(e, "Resources"))) {
		cJSON_Delete(body);
		return NULL;
	}
	for (i = 0; i < n_resources; i++) {
		cJSON *s;

		if (!resources[i] || !*resources[i])
			continue;
		s = cJSON_CreateString(resources[i]);
		if (!s) {
			cJSON_Delete(body);
			return NULL;
		}
		cJSON_AddItemToArray(res, s);
	}
	return body;
}

unsigned events_reply_failed(const cJSON *reply, const char **code,
			     const char **message)
{
	const cJSON *n, *entries, *e;
	unsigned failed = 0;

	if (code)
		*code = NULL;
	if (message)
		*message = NULL;
	n = cJSON_GetObjectItemCaseSensitive(reply, "FailedEntryCount");
	if (cJSON_IsNumber(n) && n->valuedouble > 0)
		failed = (unsigned)n->valuedouble;
	if (!failed)
		return 0;
	entries = cJSON_GetObjectItemCaseSensitive(reply, "Entries");
	cJSON_ArrayForEach(e, entries) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "ErrorCode");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "ErrorMessage");

		if (cJSON_IsString(c)) {
			if (code)
				*code = c->valuestring;
			if (message && cJSON_IsString(m))
				*message = m->valuestring;
			break;
		}
	}
	return failed;
}

void events_client_config(struct aws_client_config *cfg, const char *region,
			  const char *endpoint_url)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->region = region;
	cfg->endpoint_url = endpoint_url;
	cfg->endpoint_prefix = EVENTS_ENDPOINT_PREFIX;
	cfg->signing_name = EVENTS_SIGNING_NAME;
	cfg->target_prefix = EVENTS_TARGET_PREFIX;
	cfg->env_service_id = EVENTS_ENV_SERVICE_ID;
	/* an event is a few hundred bytes: a PutEvents that hangs should not
	 * hold the events behind it (nor `once`'s exit) for the default 60 s */
	cfg->total_timeout_ms = EVENTS_TOTAL_TIMEOUT_MS;
}

/* ---- the queue ----------------------------------------------------------- */

struct ev_item {
	struct ev_item *next;
	cJSON *body;
	char stage[32];
};

struct events_queue {
	struct aws_client *client;
	char *bus;
	char *name;
	void (*drained)(void *userdata);
	void *userdata;
	struct ev_item *head, *tail;  /* head is in flight when call set */
	size_t n;
	struct aws_call *call;
	/* failures since the last event that went out: the first is a
	 * warning, the others debug, and a success after them a notice */
	unsigned failing;
};

static void item_free(struct ev_item *it)
{
	if (it) {
		cJSON_Delete(it->body);
		free(it);
	}
}

static void pop(struct events_queue *q)
{
	struct ev_item *it = q->head;

	if (!it)
		return;
	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	item_free(it);
}

static void send_next(struct events_queue *q);

static void on_put(const struct aws_result *res, void *userdata)
{
	struct events_queue *q = userdata;
	const char *stage = q->head ? q->head->stage : "";
	const char *code = NULL, *msg = NULL;
	unsigned failed = 0;

	q->call = NULL;
	if (res->error == AWS_ERR_NONE)
		failed = events_reply_failed(res->reply, &code, &msg);
	if (res->error != AWS_ERR_NONE) {
		char denied[512];

		/* a denial names the action and the bus, and the command
		 * that prints the policy, as a denied Personalize call does */
		if (policy_is_denial(res->code)) {
			if (res->message && strstr(res->message, "perform: "))
				policy_denial_text("PutEvents", res->message,
						   denied, sizeof(denied));
			else
				snprintf(denied, sizeof(denied),
					 "access denied to events:PutEvents on %s; "
					 "`personalize-retrain policy` prints the IAM policy this config needs",
					 q->bus);
			if (q->failing++ == 0)
				log_warning("%s: EventBusName %s: the %s event was not sent: %s (later failures are logged at debug level until an event is sent)",
					    q->name, q->bus, stage, denied);
			else
				log_debug("%s: EventBusName %s: the %s event was not sent: %s",
					  q->name, q->bus, stage, denied);
		} else if (q->failing++ == 0)
			log_warning("%s: EventBusName %s: the %s event was not sent: PutEvents failed after %u attempt%s: %s%s%s (later failures are logged at debug level until an event is sent)",
				    q->name, q->bus, stage, res->attempts,
				    res->attempts == 1 ? "" : "s",
				    res->code ? res->code : "error",
				    res->message && *res->message ? ": " : "",
				    res->message ? res->message : "");
		else
			log_debug("%s: EventBusName %s: the %s event was not sent: %s",
				  q->name, q->bus, stage,
				  res->code ? res->code : "error");
	} else if (failed) {
		log_warning("%s: EventBusName %s: the %s event was refused: %s%s%s",
			    q->name, q->bus, stage, code ? code : "unknown error",
			    msg ? ": " : "", msg ? msg : "");
	} else if (q->failing) {
		log_notice("%s: EventBusName %s: events are sent again (%u not sent)",
			   q->name, q->bus, q->failing);
		q->failing = 0;
	}
	pop(q);
	send_next(q);
	if (!q->head && !q->call && q->drained)
		q->drained(q->userdata);
}

static void send_next(struct events_queue *q)
{
	int k;

	while (q->head && !q->call) {
		k = aws_call(q->client, "PutEvents", q->head->body, on_put, q,
			     &q->call);
		if (k == 0)
			return;
		q->call = NULL;
		log_warning("%s: EventBusName %s: the %s event was not sent: %s",
			    q->name, q->bus, q->head->stage, strerror(-k));
		pop(q);
	}
}

int events_queue_new(struct aws_client *client, const char *bus,
		     const char *name, void (*drained)(void *userdata),
		     void *userdata, struct events_queue **out)
{
	struct events_queue *q;

	if (!client || !bus || !*bus || !name || !out)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->client = client;
	q->bus = strdup(bus);
	q->name = strdup(name);
	q->drained = drained;
	q->userdata = userdata;
	if (!q->bus || !q->name) {
		events_queue_free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

void events_queue_free(struct events_queue *q)
{
	if (!q)
		return;
	aws_call_cancel(q->call);
	while (q->head)
		pop(q);
	free(q->bus);
	free(q->name);
	free(q);
}

int events_queue_send(struct events_queue *q, const struct events_detail *d,
		      const char *solution_arn)
{
	const char *resources[2];
	struct ev_item *it;
	char *detail;

	if (!q || !d)
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	detail = events_detail_json(d);
	resources[0] = solution_arn;
	resources[1] = d->campaign_arn;
	if (detail)
		it->body = events_put_body(q->bus, resources, 2, detail);
	free(detail);
	if (!it->body) {
		free(it);
		return -ENOMEM;
	}
	snprintf(it->stage, sizeof(it->stage), "%s",
		 d->outcome ? d->outcome : d->stage ? d->stage : "");
	/* full: drop the oldest that is only waiting (never the one in
	 * flight), so that the latest state always goes out */
	if (q->n >= EVENTS_QUEUE_MAX && q->head && q->head->next) {
		struct ev_item *old = q->call ? q->head->next : q->head;

		if (q->call)
			q->head->next = old->next;
		else
			q->head = old->next;
		if (q->tail == old)
			q->tail = q->head;
		q->n--;
		log_debug("%s: EventBusName %s: queue full, the %s event dropped",
			  q->name, q->bus, old->stage);
		item_free(old);
	}
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	send_next(q);
	return 0;
}

size_t events_queue_pending(const struct events_queue *q)
{
	return q ? q->n : 0;
}
