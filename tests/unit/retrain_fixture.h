/* retrain_fixture.h - what the run state machine's suites
 * (test_retrain.c, test_retrain_gate.c) share: one run with its spec and
 * last actions, events built for a slot's current token, and lookups in
 * the actions a step returned. retrain_fixture.c is linked into every unit
 * test; only these suites use it. */
#ifndef PR_TEST_RETRAIN_FIXTURE_H
#define PR_TEST_RETRAIN_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gate.h"
#include "retrain.h"

#define T0 ((time_t)1795000020) /* a whole minute */
#define ANY (-2)                /* any slot, in the lookups below */
#define POLL_S 600u
#define MAXRUN_S 86400u

#define CAMPAIGN "arn:aws:personalize:us-east-1:123456789012:campaign/shop"
#define SOLUTION "arn:aws:personalize:us-east-1:123456789012:solution/sol"
#define VERSION_ARN SOLUTION "/v-ours"
#define OLD_VERSION SOLUTION "/v-old"

/* Dataset i of a spec: its type and ARN (RT_MAX_DATASETS of each). */
extern const char *const rf_types[];
extern const char *const rf_ds_arns[];

/* The random value rf_ev_for puts in every event (poll jitter): 12345
 * unless a suite sets another before its tests run. */
extern uint32_t rf_random;

struct fx {
	struct rt_run run;
	struct rt_actions out;      /* the last step's actions */
	struct rt_spec spec;
	struct gate_config gate;    /* spec.gate points here when gated */
	time_t now;                 /* the events' wall clock */
	int rc;                     /* the last step's return */
};

/* n datasets (types and ARNs above, one S3 path), the solution, the
 * campaign if campaign; full training and imports, POLL_S, MAXRUN_S. */
struct rt_spec rf_mkspec(size_t n, bool campaign);
/* A zeroed fixture with rf_mkspec(n, campaign) and now T0 + 5. */
struct fx *rf_alloc(size_t n, bool campaign);
/* rt_start for fire time T0 at f->now; asserts it succeeded. */
void rf_start(struct fx *f);
/* rf_alloc then rf_start. */
struct fx *rf_new(size_t n, bool campaign);

/* The first action of kind k (of slot, or ANY), or NULL. noinline: the
 * callers assert non-NULL first; keeps GCC's -Wnull-dereference from
 * tracing the NULL path into them. */
__attribute__((noinline)) const struct rt_action *
rf_act(const struct rt_actions *o, enum rt_action_kind k, int slot);
size_t rf_count(const struct rt_actions *o, enum rt_action_kind k, int slot);
/* The first CALL of op (of slot, or ANY), or NULL. */
__attribute__((noinline)) const struct rt_action *
rf_call_op(const struct rt_actions *o, enum rt_op op, int slot);
/* A LOG or STATUS action's text contains needle. */
bool rf_log_has(const struct rt_actions *o, const char *needle);

/* An event of kind for slot with that slot's current token, f->now and
 * rf_random. */
struct rt_event rf_ev_for(struct fx *f, enum rt_event_kind kind, int slot);
/* rt_step into f->out; returns (and keeps in f->rc) its result. */
int rf_feed(struct fx *f, const struct rt_event *ev);
/* A reply to slot's call: result r, the ARN found or created (found when
 * not NULL), the status read; error "simulated" unless r is RT_RES_OK. */
int rf_reply(struct fx *f, int slot, enum rt_result r, const char *arn,
	     const char *status);
/* The campaign slot's DescribeCampaign answers OK: the campaign serves
 * serves, its latestCampaignUpdate is for upd_ver with upd_status, created
 * at upd_created (0 unknown). */
int rf_campaign_ok(struct fx *f, const char *serves, const char *upd_ver,
		   const char *upd_status, time_t upd_created);
/* slot's poll timer expired. */
int rf_poll_due(struct fx *f, int slot);

#endif
