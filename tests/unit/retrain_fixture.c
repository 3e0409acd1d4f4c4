/* retrain_fixture.c - the run state machine's unit-test fixture; see
 * retrain_fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "retrain_fixture.h"

const char *const rf_types[] = {
	"Interactions", "Items", "Users", "Actions", "Action_Interactions",
};
const char *const rf_ds_arns[] = {
	"arn:aws:personalize:us-east-1:123456789012:dataset/dg/INTERACTIONS",
	"arn:aws:personalize:us-east-1:123456789012:dataset/dg/ITEMS",
	"arn:aws:personalize:us-east-1:123456789012:dataset/dg/USERS",
	"arn:aws:personalize:us-east-1:123456789012:dataset/dg/ACTIONS",
	"arn:aws:personalize:us-east-1:123456789012:dataset/dg/ACTION_INTERACTIONS",
};

uint32_t rf_random = 12345;

struct rt_spec rf_mkspec(size_t n, bool campaign)
{
	struct rt_spec s;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.pipeline = "shop-recs";
	s.role_arn = "arn:aws:iam::123456789012:role/PersonalizeS3";
	s.solution_arn = SOLUTION;
	s.campaign_arn = campaign ? CAMPAIGN : "";
	s.n_datasets = n;
	for (i = 0; i < n && i < RT_MAX_DATASETS; i++) {
		s.datasets[i].type = rf_types[i];
		s.datasets[i].arn = rf_ds_arns[i];
		s.datasets[i].s3_path = "s3://bucket/data.csv";
	}
	s.training_mode = RT_TRAIN_FULL;
	s.import_mode = RT_IMPORT_FULL;
	s.poll_interval_s = POLL_S;
	s.max_run_duration_s = MAXRUN_S;
	return s;
}

struct fx *rf_alloc(size_t n, bool campaign)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->spec = rf_mkspec(n, campaign);
	f->now = T0 + 5;
	return f;
}

void rf_start(struct fx *f)
{
	f->rc = rt_start(&f->run, &f->spec, T0, f->now, false, &f->out);
	assert_int_equal(f->rc, 0);
}

struct fx *rf_new(size_t n, bool campaign)
{
	struct fx *f = rf_alloc(n, campaign);

	rf_start(f);
	return f;
}

const struct rt_action *rf_act(const struct rt_actions *o,
			       enum rt_action_kind k, int slot)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == k && (slot == ANY || o->a[i].slot == slot))
			return &o->a[i];
	return NULL;
}

size_t rf_count(const struct rt_actions *o, enum rt_action_kind k, int slot)
{
	size_t i, n = 0;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == k && (slot == ANY || o->a[i].slot == slot))
			n++;
	return n;
}

const struct rt_action *rf_call_op(const struct rt_actions *o, enum rt_op op,
				   int slot)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->a[i].kind == RT_ACT_CALL && o->a[i].call.op == op &&
		    (slot == ANY || o->a[i].slot == slot))
			return &o->a[i];
	return NULL;
}

bool rf_log_has(const struct rt_actions *o, const char *needle)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if ((o->a[i].kind == RT_ACT_LOG || o->a[i].kind == RT_ACT_STATUS) &&
		    strstr(o->a[i].text, needle))
			return true;
	return false;
}

struct rt_event rf_ev_for(struct fx *f, enum rt_event_kind kind, int slot)
{
	struct rt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.slot = slot;
	ev.token = slot >= 0 && slot < RT_NSLOTS ? f->run.slots[slot].token : 0;
	ev.now = f->now;
	ev.random = rf_random;
	return ev;
}

int rf_feed(struct fx *f, const struct rt_event *ev)
{
	f->rc = rt_step(&f->run, ev, &f->out);
	return f->rc;
}

int rf_reply(struct fx *f, int slot, enum rt_result r, const char *arn,
	     const char *status)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, slot);

	ev.result = r;
	ev.arn = arn;
	ev.status = status;
	ev.found = arn != NULL;
	ev.error = r == RT_RES_OK ? NULL : "simulated";
	return rf_feed(f, &ev);
}

int rf_poll_due(struct fx *f, int slot)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_POLL_DUE, slot);

	return rf_feed(f, &ev);
}

int rf_campaign_ok(struct fx *f, const char *serves, const char *upd_ver,
		   const char *upd_status, time_t upd_created)
{
	struct rt_event ev = rf_ev_for(f, RT_EV_REPLY, RT_SLOT_CAMPAIGN);

	ev.result = RT_RES_OK;
	ev.campaign_version_arn = serves;
	ev.update_version_arn = upd_ver;
	ev.update_status = upd_status;
	ev.update_created = upd_created;
	return rf_feed(f, &ev);
}
