/* emu_events.c - the emulator's Amazon EventBridge PutEvents (AWS JSON
 * 1.1, target AWSEvents.PutEvents), as the model says
 * (tests/data/events/service-2.json): Entries required, 1 to 10 of them
 * (else a ValidationException); each entry needs Source, DetailType and a
 * Detail that is a JSON object, and an EventBusName that is a bus name or
 * an event-bus ARN when given (else that entry fails with InvalidArgument
 * and counts in FailedEntryCount, as EventBridge reports it). The events
 * themselves are only kept in the ledger. */
#include <stdio.h>
#include <string.h>

#include "emu.h"

#define EVENTS_MAX_ENTRIES 10
#define EVENTS_BUS_MAX 1600

static bool bus_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
}

/* NonPartnerEventBusNameOrArn: (arn:aws*:events:REGION:ACCOUNT:event-bus/)?NAME */
static bool valid_bus(const char *s)
{
	const char *name = s;
	size_t n = strlen(s);

	if (n == 0 || n > EVENTS_BUS_MAX)
		return false;
	if (!strncmp(s, "arn:", 4)) {
		const char *p = strstr(s, ":event-bus/");

		if (strncmp(s, "arn:aws", 7) || !strstr(s, ":events:") || !p)
			return false;
		name = p + strlen(":event-bus/");
	}
	if (!*name)
		return false;
	for (; *name; name++)
		if (!bus_name_char(*name))
			return false;
	return true;
}

static const char *entry_problem(const cJSON *e)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(e, "Source");
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "DetailType");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "Detail");
	const cJSON *bus = cJSON_GetObjectItemCaseSensitive(e, "EventBusName");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "Resources");
	cJSON *parsed;
	bool obj;

	if (!cJSON_IsString(src) || !*src->valuestring)
		return "Parameter Source is not valid. Reason: Source is a required argument.";
	if (!cJSON_IsString(dt) || !*dt->valuestring)
		return "Parameter DetailType is not valid. Reason: DetailType is a required argument.";
	if (!cJSON_IsString(d) || !*d->valuestring)
		return "Parameter Detail is not valid. Reason: Detail is a required argument.";
	parsed = cJSON_Parse(d->valuestring);
	obj = cJSON_IsObject(parsed);
	cJSON_Delete(parsed);
	if (!obj)
		return "Detail is malformed.";
	if (bus && (!cJSON_IsString(bus) || !valid_bus(bus->valuestring)))
		return "Parameter EventBusName is not valid.";
	if (res) {
		const cJSON *r;

		if (!cJSON_IsArray(res))
			return "Parameter Resources is not valid.";
		cJSON_ArrayForEach(r, res)
			if (!cJSON_IsString(r) || !*r->valuestring)
				return "Parameter Resources is not valid.";
	}
	return NULL;
}

void emu_events_put(const cJSON *in, struct emu_rng *ids, struct emu_reply *r)
{
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(in, "Entries");
	const cJSON *e;
	cJSON *out, *list;
	int n = cJSON_GetArraySize(entries), failed = 0;

	if (!cJSON_IsArray(entries)) {
		emu_reply_error(r, 400, EMU_NS_CORAL, "ValidationException",
				"1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
		return;
	}
	if (n < 1 || n > EVENTS_MAX_ENTRIES) {
		emu_reply_error(r, 400, EMU_NS_CORAL, "ValidationException",
				"1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and %d",
				EVENTS_MAX_ENTRIES);
		return;
	}
	out = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(out, "Entries");
	cJSON_ArrayForEach(e, entries) {
		cJSON *o = cJSON_CreateObject();
		const char *why = cJSON_IsObject(e) ? entry_problem(e) :
			"Entry is not valid.";

		if (why) {
			failed++;
			cJSON_AddStringToObject(o, "ErrorCode", "InvalidArgument");
			cJSON_AddStringToObject(o, "ErrorMessage", why);
		} else {
			char id[37];

			emu_uuid(ids, id);
			cJSON_AddStringToObject(o, "EventId", id);
		}
		cJSON_AddItemToArray(list, o);
	}
	cJSON_AddNumberToObject(out, "FailedEntryCount", failed);
	emu_reply_json(r, out);
}
