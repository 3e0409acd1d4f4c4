/* daemon.c - the sd-event loop of `run` and `once`: signals, watchdog,
 * notify, reload, the global rate limit and the credentials adapter;
 * see include/daemon.h. Each pipeline is a runner (runner.c). */
#include "daemon.h"
#include "hook.h"
#include "metrics.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>  /* malloc_trim */
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "cli.h"
#include "clientpool.h"
#include "config.h"
#include "creds.h"
#include "credsprov.h"
#include "evtimer.h"
#include "exitcodes.h"
#include "http.h"
#include "log.h"
#include "msgid.h"
#include "notify.h"
#include "ratelimit.h"
#include "runner.h"
#include "schedule.h"
#include "state.h"
#include "stateowner.h"
#include "wallclock.h"

#define STATUS_LINE_MAX 1024
#define RL_ACCURACY_USEC 1000ULL

/* ---- pure helpers ------------------------------------------------------------- */

int daemon_exit_status(const enum rt_outcome *outcomes, size_t n)
{
	bool failed = false, unreachable = false, unfinished = false;
	size_t i;

	for (i = 0; i < n; i++) {
		switch (outcomes[i]) {
		case RT_OUT_FAILED:
		case RT_OUT_GATED:   /* `once` exits 1 when gated */
			failed = true;
			break;
		case RT_OUT_UNREACHABLE:
			unreachable = true;
			break;
		case RT_OUT_NONE:
			unfinished = true;
			break;
		case RT_OUT_SUCCEEDED:
		case RT_OUT_SKIPPED: /* no new data: not a failure */
			break;
		}
	}
	if (failed)
		return PR_EXIT_RUN_FAILED;
	if (unreachable)
		return PR_EXIT_UNAVAILABLE;
	if (unfinished)
		return PR_EXIT_SOFTWARE;
	return PR_EXIT_OK;
}

/* Append to buf at *pos; false (and "..." at the end) when it did not fit. */
static bool put(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	static const char dots[] = "...";

	if (*pos + n < len) {
		memcpy(buf + *pos, s, n + 1);
		*pos += n;
		return true;
	}
	if (len > sizeof(dots)) {
		size_t at = *pos;

		if (at > len - sizeof(dots))
			at = len - sizeof(dots);
		memcpy(buf + at, dots, sizeof(dots));
		*pos = len - 1;
	}
	return false;
}

void daemon_status_compose(const struct daemon_status_item *items, size_t n,
			   const char *next_name, const char *next_when,
			   char *buf, size_t len)
{
	char head[96];
	size_t i, pos = 0, active = 0;
	bool first = true;

	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (n == 1 && items) {
		put(buf, len, &pos, items[0].text ? items[0].text : "");
		return;
	}
	for (i = 0; i < n; i++)
		if (items[i].active)
			active++;
	if (active == 0) {
		snprintf(head, sizeof(head), "idle, %zu pipelines", n);
		if (!put(buf, len, &pos, head))
			return;
		if (next_name && next_when) {
			if (!put(buf, len, &pos, ", next run ") ||
			    !put(buf, len, &pos, next_when) ||
			    !put(buf, len, &pos, " (") ||
			    !put(buf, len, &pos, next_name))
				return;
			put(buf, len, &pos, ")");
		}
		return;
	}
	snprintf(head, sizeof(head), "%zu of %zu running: ", active, n);
	if (!put(buf, len, &pos, head))
		return;
	for (i = 0; i < n; i++) {
		if (!items[i].active)
			continue;
		if ((!first && !put(buf, len, &pos, "; ")) ||
		    !put(buf, len, &pos, items[i].name ? items[i].name : "?") ||
		    !put(buf, len, &pos, ": ") ||
		    !put(buf, len, &pos, items[i].text ? items[i].text : ""))
			return;
		first = false;
	}
}

/* ---- the daemon ------------------------------------------------------------------ */

struct daemon {
	const struct daemon_options *opt;
	sd_event *event;
	struct http_client *http;
	struct creds_chain *chain;
	struct credsprov *cp;
	struct aws_creds_provider prov;
	struct ratelimit *rl;
	struct client_pool *clients;  /* shared AWS/S3 clients */
	sd_event_source *rl_timer;
	sd_event_source *rl_now;   /* a call was queued: grant from the loop */
	bool rl_pumping;
	unsigned rate;          /* MaxApiCallsPerSecond in force */
	unsigned pending_rate;  /* reloaded: applies when nothing is queued */
	sd_event_source *watchdog;
	sd_event_source *status_defer;
	sd_event_source *status_timer;  /* the throttled STATUS= update */
	sd_event_source *release_timer; /* release_idle_resources again */
	sd_event_source *flush_timer;   /* stopping: the events' last chance */
	uint64_t status_sent_usec;      /* CLOCK_MONOTONIC of the last one */
	struct config *cfg;
	struct runner_host host;
	struct runner **runners;
	size_t n;
	struct hook_runner *hooks; /* OnRunEnd programs of every pipeline */
	struct metrics *metrics;   /* MetricsFile's registry */
	int metrics_error;         /* the last write error logged (0: none) */
	unsigned next_owner;
	bool stopping;
	int signal_exit;  /* once: 128 + signal */
	char line[STATUS_LINE_MAX]; /* the last combined status line */
	bool ready;
	bool trim_due;  /* a run was active since release_idle_resources */
	bool reload_failed; /* the last reload was refused: STATUS= says so */
};

/* the global rate limit */

static void rl_pump(struct daemon *d);

static unsigned rate_of(const struct config *cfg)
{
	return cfg->globals.max_api_calls_per_second ?
	       cfg->globals.max_api_calls_per_second : 5;
}

/* A reloaded MaxApiCallsPerSecond, once no call is queued (a new bucket
 * would drop them). */
static void apply_rate(struct daemon *d)
{
	struct ratelimit *rl;

	if (ratelimit_queued(d->rl) > 0)
		return;
	rl = ratelimit_new((double)d->pending_rate, DAEMON_RATE_BURST);
	if (!rl)
		return;
	ratelimit_free(d->rl);
	d->rl = rl;
	log_notice("API calls now at most %u per second", d->pending_rate);
	d->rate = d->pending_rate;
	d->pending_rate = 0;
}

static int on_rl_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	(void)s;
	(void)usec;
	rl_pump(ud);
	return 0;
}

static int on_rl_now(sd_event_source *s, void *ud)
{
	(void)s;
	rl_pump(ud);
	return 0;
}

static void rl_pump(struct daemon *d)
{
	uint64_t now, next;
	int k;

	if (d->rl_pumping)
		return;
	d->rl_pumping = true;
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	next = ratelimit_run(d->rl, now);
	d->rl_pumping = false;
	if (next == 0 && d->pending_rate)
		apply_rate(d);
	if (next == 0) {
		if (d->rl_timer)
			sd_event_source_set_enabled(d->rl_timer, SD_EVENT_OFF);
		return;
	}
	if (!d->rl_timer) {
		k = sd_event_add_time(d->event, &d->rl_timer, CLOCK_MONOTONIC,
				      next, RL_ACCURACY_USEC, on_rl_timer, d);
		if (k < 0)
			log_error("cannot arm the rate limit timer: %s",
				  strerror(-k));
		return;
	}
	sd_event_source_set_time(d->rl_timer, next);
	sd_event_source_set_enabled(d->rl_timer, SD_EVENT_ONESHOT);
}

static int host_submit(void *host, unsigned owner, ratelimit_grant_fn grant,
		       void *cookie)
{
	struct daemon *d = host;
	int k;

	k = ratelimit_submit(d->rl, owner, grant, cookie);
	if (k < 0)
		return k;
	/* grant from the loop, never from inside the caller: at its next
	 * turn (a defer source, no timerfd to program); the timer is only
	 * for waiting until the bucket has a token again */
	if (!d->rl_pumping) {
		k = evtimer_arm_now(d->event, &d->rl_now, on_rl_now, d,
				    "rate-limit-now");
		if (k < 0)
			log_error("cannot arm the rate limit: %s", strerror(-k));
	}
	return 0;
}

static void host_cancel(void *host, void *cookie)
{
	struct daemon *d = host;

	(void)ratelimit_cancel(d->rl, cookie);
}

/* status */

static void update_status(struct daemon *d)
{
	struct daemon_status_item *items;
	char line[STATUS_LINE_MAX], when[32];
	const char *next_name = NULL;
	time_t best = 0, t;
	size_t i;

	if (d->n == 0) {
		snprintf(d->line, sizeof(d->line), "idle, no pipelines");
		notify_status("%s", d->line);
		return;
	}
	items = calloc(d->n, sizeof(*items));
	if (!items)
		return;
	for (i = 0; i < d->n; i++) {
		items[i].name = runner_name(d->runners[i]);
		items[i].text = runner_status(d->runners[i]);
		items[i].active = runner_active(d->runners[i]);
		if (runner_next_fire(d->runners[i], &t) &&
		    (!next_name || t < best)) {
			best = t;
			next_name = items[i].name;
		}
	}
	if (next_name)
		sched_format_utc(best, when, sizeof(when));
	daemon_status_compose(items, d->n, next_name, next_name ? when : NULL,
			      line, sizeof(line));
	free(items);
	if (d->reload_failed)
		snprintf(d->line, sizeof(d->line),
			 "reload failed, previous config in use; %.*s",
			 (int)sizeof(d->line) - 64, line);
	else
		memcpy(d->line, line, sizeof(d->line));
	memcpy(line, d->line, sizeof(line));
	/* once stopping, STATUS= keeps what on_term() said */
	if ((d->ready || d->opt->once) && !d->stopping)
		notify_status("%s", line);
}

/* Events (EventBusName) still queued in all pipelines. */
static size_t events_pending(const struct daemon *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += runner_events_pending(d->runners[i]);
	return n;
}

static bool all_idle(const struct daemon *d)
{
	size_t i;

	/* `once` waits for the OnRunEnd programs it started */
	if (d->hooks && (hook_runner_running(d->hooks) ||
			 hook_runner_queued(d->hooks)))
		return false;

	for (i = 0; i < d->n; i++)
		if (runner_active(d->runners[i]))
			return false;
	/* ... and for the runs' last events */
	return !(d->opt->once && events_pending(d));
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	(void)usec;
	(void)sd_event_now(d->event, CLOCK_MONOTONIC, &d->status_sent_usec);
	update_status(d);
	return 0;
}

/* STATUS= at most once per DAEMON_STATUS_MIN_USEC: the first change at
 * once, later ones within the interval as one update at its end (with
 * many pipelines, each update composes all of their texts and costs the
 * manager a datagram; a person reading `systemctl status` loses nothing). */
static void throttled_status(struct daemon *d)
{
	uint64_t now = 0;

	(void)sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	if (d->status_timer &&
	    sd_event_source_get_enabled(d->status_timer, NULL) > 0)
		return;  /* an update is due at the end of the interval */
	if (!d->status_sent_usec ||
	    now >= d->status_sent_usec + DAEMON_STATUS_MIN_USEC) {
		d->status_sent_usec = now;
		update_status(d);
		return;
	}
	if (evtimer_arm_relative(d->event, &d->status_timer,
				 d->status_sent_usec + DAEMON_STATUS_MIN_USEC - now,
				 1000, on_status_timer, d, "status") < 0)
		update_status(d);
}

/* While every pipeline is idle, a request still in flight (a credentials
 * refresh) keeps the HTTP connections: try again this much later. */
#define RELEASE_RETRY_USEC (10 * 1000000ULL)

static void release_idle_resources(struct daemon *d);

static int on_release_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	(void)usec;
	if (d->trim_due && all_idle(d))
		release_idle_resources(d);
	return 0;
}

/* release_idle_resources() again after delay_usec, if still idle then. */
static int arm_release(struct daemon *d, uint64_t delay_usec)
{
	return evtimer_arm_relative(d->event, &d->release_timer, delay_usec,
				    delay_usec / 10, on_release_timer, d,
				    "idle-release");
}

/* The daemon spends nearly all its life idle between runs: then close the
 * HTTP connections and free the easy handles kept for reuse (the next run
 * is hours away; a server closes an idle connection long before), and hand
 * the heap pages that start-up and the last runs freed back to the kernel
 * (glibc keeps them otherwise). With one pipeline that is about 100 kB of
 * private memory after a run (make bench). Once per transition to idle,
 * after a credentials fetch while idle, and again RELEASE_RETRY_USEC later
 * while a request was still in flight. */
static void release_idle_resources(struct daemon *d)
{
	d->trim_due = !http_client_release_idle(d->http);
	if (d->trim_due && arm_release(d, RELEASE_RETRY_USEC) < 0)
		d->trim_due = false;  /* no timer: at the next transition */
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

/* A credentials fetch ended (creds.h, on_fetch_end). While every pipeline
 * is idle that is the background refresh, whose connection would stay
 * open until the next run ends: release it at the next loop turn (not
 * from inside the HTTP client's callback, which this is called from). */
static void on_creds_fetch_end(void *ud)
{
	struct daemon *d = ud;

	if (!all_idle(d))
		return;  /* released when the runs end */
	d->trim_due = true;
	(void)arm_release(d, 1000);
}

static int on_status_defer(sd_event_source *s, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (d->stopping) {
		/* flushing the events after SIGTERM: exit once they are out */
		if (d->flush_timer && !events_pending(d))
			sd_event_exit(d->event, 0);
		return 0;
	}
	if (d->opt->once && all_idle(d)) {
		update_status(d);
		sd_event_exit(d->event, 0);
		return 0;
	}
	throttled_status(d);
	if (!all_idle(d))
		d->trim_due = true;
	else if (d->trim_due)
		release_idle_resources(d);
	return 0;
}

/* Coalesce: one status update per loop turn however many runners moved. */
static void host_changed(void *host, struct runner *r)
{
	struct daemon *d = host;

	(void)r;
	if (evtimer_arm_now(d->event, &d->status_defer, on_status_defer, d,
			    "status") < 0)
		update_status(d);
}

/* MetricsFile: rewrite it (a stage changed or a run ended) */
static void write_metrics(struct daemon *d)
{
	const char *path = d->cfg ? d->cfg->globals.metrics_file : NULL;
	int k;

	if (!path || !d->metrics)
		return;
	k = metrics_write(d->metrics, path);
	if (k < 0 && k != d->metrics_error)
		log_error("MetricsFile %s: cannot write it: %s", path,
			  strerror(-k));
	else if (k == 0 && d->metrics_error)
		log_notice("MetricsFile %s: written again", path);
	d->metrics_error = k < 0 ? k : 0;
}

static void host_metrics_changed(void *host)
{
	write_metrics(host);
}

/* a hook ended: `once` may be done now (checked from the loop) */
static void on_hook_done(const struct hook_report *rep, void *ud)
{
	(void)rep;
	host_changed(ud, NULL);
}

/* runners */

static int add_runner(struct daemon *d, const struct pipeline *p, time_t now,
		      bool start)
{
	struct runner **v, *r;
	int k;

	v = realloc(d->runners, (d->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->runners = v;
	k = runner_new(&d->host, d->next_owner++, p, &r);
	if (k < 0)
		return k;
	d->runners[d->n++] = r;
	if (start) {
		k = runner_start(r, now);
		if (k < 0)
			log_error("%s: cannot load the state in %s: %s",
				  p->name, d->opt->state_dir, strerror(-k));
	}
	return k;
}

static void remove_runner(struct daemon *d, size_t i)
{
	struct runner *r = d->runners[i];

	runner_stop(r);
	metrics_pipeline_remove(d->metrics, runner_name(r));
	runner_free(r);
	memmove(&d->runners[i], &d->runners[i + 1],
		(d->n - i - 1) * sizeof(d->runners[0]));
	d->n--;
}

/* signals */

static void stop_all(struct daemon *d)
{
	size_t i;

	d->stopping = true;
	for (i = 0; i < d->n; i++)
		runner_stop(d->runners[i]);
}

static int on_flush_timeout(sd_event_source *s, uint64_t usec, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	(void)usec;
	log_warning("stopping: %zu EventBridge event(s) not sent within %llu "
		    "s; dropped", events_pending(d),
		    DAEMON_EVENTS_FLUSH_USEC / 1000000ULL);
	sd_event_exit(d->event, 0);
	return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si,
		   void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (d->stopping) {
		/* a second signal while the events go out: stop now */
		if (d->flush_timer)
			sd_event_exit(d->event, 0);
		return 0;
	}
	notify_stopping();
	/* the last STATUS= stays in `systemctl status` after the stop: say
	 * that nothing runs now, and what happens to a run in progress */
	update_status(d);
	if (all_idle(d))
		notify_status("stopped");
	else
		notify_status("stopped, runs resume at the next start (were: %s)",
			      d->line);
	log_notice("received %s: saving and stopping (jobs in progress keep "
		   "running and are adopted at the next start)",
		   si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	stop_all(d);
	if (d->opt->once)
		d->signal_exit = 128 + (int)si->ssi_signo;
	if (events_pending(d) &&
	    evtimer_arm_relative(d->event, &d->flush_timer,
				 DAEMON_EVENTS_FLUSH_USEC, 100000,
				 on_flush_timeout, d, "events-flush") == 0) {
		log_info("stopping: sending the %zu queued EventBridge "
			 "event(s) first (at most %llu s)", events_pending(d),
			 DAEMON_EVENTS_FLUSH_USEC / 1000000ULL);
		return 0;  /* on_status_defer() exits once they are out */
	}
	sd_event_exit(d->event, 0);
	return 0;
}

/* Test hook: the shortest time between two background refreshes of
 * temporary credentials (creds.h's retry_sec), 1 to CREDS_RETRY_SEC
 * seconds, so that a test sees a refresh without waiting half a minute.
 * 0 (the default) without it; a malformed value is ignored, with a
 * warning. */
#define CREDS_RETRY_ENV "PERSONALIZE_RETRAIN_TEST_CREDS_RETRY_SEC"

static unsigned test_creds_retry_sec(void)
{
	const char *v = getenv(CREDS_RETRY_ENV);
	unsigned long n;
	char *end;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > CREDS_RETRY_SEC) {
		log_warning("test hook %s=%s ignored: not a number of seconds from 1 to %d",
			    CREDS_RETRY_ENV, v, CREDS_RETRY_SEC);
		return 0;
	}
	log_warning("test hook %s in effect: temporary credentials refreshed as often as every %lu s",
		    CREDS_RETRY_ENV, n);
	return (unsigned)n;
}

/* Each error once, then one summary that carries the MESSAGE_ID (so that
 * journalctl -x explains the failure once, under the summary). */
static void log_reload_errors(const struct config_errors *errs,
			      const char *path, int k)
{
	const char *fields[] = { MSGID_FIELD(MSGID_RELOAD_FAILED), NULL };
	size_t i;

	for (i = 0; i < errs->n; i++) {
		if (errs->v[i].line)
			log_error("%s:%u: %s", errs->v[i].file,
				  errs->v[i].line, errs->v[i].message);
		else
			log_error("%s: %s", errs->v[i].file,
				  errs->v[i].message);
	}
	log_struct(LOG_ERR, fields,
		   "reload: %s is not usable (%s): the previous config stays "
		   "in use", path, k == -EINVAL ? "invalid" : strerror(-k));
}

static void reload(struct daemon *d)
{
	struct config_errors errs = CONFIG_ERRORS_INIT;
	struct config *cfg = NULL;
	time_t now = wallclock_now();
	size_t i, j;
	int k;

	notify_reloading();
	log_notice("received SIGHUP: reading %s again", d->opt->config_path);
	k = config_load(d->opt->config_path, &cfg, &errs);
	if (k < 0) {
		log_reload_errors(&errs, d->opt->config_path, k);
		config_errors_free(&errs);
		d->reload_failed = true;
		update_status(d);
		notify_ready(d->line);
		return;
	}
	config_errors_free(&errs);
	d->reload_failed = false;
	/* removed pipelines: their runs are saved and frozen (adopted if the
	 * pipeline comes back) */
	for (i = d->n; i-- > 0;) {
		if (!config_find_pipeline(cfg, runner_name(d->runners[i]))) {
			log_notice("%s: removed from the config; stopping it",
				   runner_name(d->runners[i]));
			remove_runner(d, i);
		}
	}
	for (j = 0; j < cfg->n; j++) {
		const struct pipeline *p = &cfg->pipelines[j];
		bool found = false;

		for (i = 0; i < d->n; i++) {
			if (strcmp(runner_name(d->runners[i]), p->name))
				continue;
			found = true;
			k = runner_set_pipeline(d->runners[i], p, now);
			if (k < 0)
				log_error("%s: the new definition could not be "
					  "applied: %s", p->name, strerror(-k));
			break;
		}
		if (!found) {
			log_notice("%s: added to the config", p->name);
			(void)add_runner(d, p, now, true);
		}
	}
	if (rate_of(cfg) != d->rate) {
		d->pending_rate = rate_of(cfg);
		apply_rate(d);
	} else {
		d->pending_rate = 0;
	}
	config_free(d->cfg);
	d->cfg = cfg;
	write_metrics(d);
	log_notice("config reloaded: %zu pipeline%s", d->n,
		   d->n == 1 ? "" : "s");
	update_status(d);
	notify_ready(d->line);
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si,
		  void *ud)
{
	struct daemon *d = ud;

	(void)s;
	(void)si;
	if (!d->stopping && !d->opt->once)
		reload(d);
	return 0;
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *ud)
{
	uint64_t period = (uint64_t)(uintptr_t)ud;

	notify_watchdog();
	sd_event_source_set_time(s, usec + period);
	sd_event_source_set_enabled(s, SD_EVENT_ON);
	return 0;
}

static int setup(struct daemon *d)
{
	struct creds_chain_options co;
	uint64_t wd, now;
	sigset_t mask;
	int k;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	k = sd_event_new(&d->event);
	if (k < 0)
		return k;
	k = sd_event_add_signal(d->event, NULL, SIGTERM, on_term, d);
	if (k >= 0)
		k = sd_event_add_signal(d->event, NULL, SIGINT, on_term, d);
	if (k >= 0)
		k = sd_event_add_signal(d->event, NULL, SIGHUP, on_hup, d);
	if (k < 0)
		return k;
	k = http_client_new(d->event, &d->http);
	if (k < 0)
		return k;
	memset(&co, 0, sizeof(co));
	co.event = d->event;
	co.http = d->http;
	co.retry_sec = test_creds_retry_sec();
	co.on_fetch_end = on_creds_fetch_end;
	co.fetch_userdata = d;
	k = creds_chain_new(&co, &d->chain);
	if (k < 0)
		return k;
	k = credsprov_new(d->chain, &d->cp);
	if (k < 0)
		return k;
	credsprov_fill(d->cp, &d->prov);
	d->rate = rate_of(d->cfg);
	d->rl = ratelimit_new((double)d->rate, DAEMON_RATE_BURST);
	if (!d->rl)
		return -ENOMEM;
	wd = notify_watchdog_usec();
	if (wd > 0 && !d->opt->once) {
		sd_event_now(d->event, CLOCK_MONOTONIC, &now);
		k = sd_event_add_time(d->event, &d->watchdog, CLOCK_MONOTONIC,
				      now + wd / 2, 0, on_watchdog,
				      (void *)(uintptr_t)(wd / 2));
		if (k < 0)
			return k;
		sd_event_source_set_enabled(d->watchdog, SD_EVENT_ON);
	}
	d->host.event = d->event;
	d->host.http = d->http;
	d->host.creds = &d->prov;
	d->host.state_dir = d->opt->state_dir;
	/* kept open for the state writes; without it they open the path */
	k = state_dir_open(d->opt->state_dir);
	d->host.state_dirfd = k >= 0 ? k : -1;
	d->host.submit = host_submit;
	d->host.cancel = host_cancel;
	d->host.changed = host_changed;
	d->host.userdata = d;
	d->host.once = d->opt->once;
	d->host.rollback = d->opt->rollback;
	d->host.rollback_to = d->opt->rollback_to;
	d->host.max_consecutive_errors = d->opt->once ? DAEMON_ONCE_MAX_ERRORS
						      : 0;
	{
		struct hook_runner_options ho;

		memset(&ho, 0, sizeof(ho));
		ho.done = on_hook_done;
		ho.userdata = d;
		k = hook_runner_new(d->event, &ho, &d->hooks);
		if (k < 0)
			return k;
		d->host.hooks = d->hooks;
	}
	/* the registry always (a reload may set MetricsFile); the file only
	 * with MetricsFile */
	k = metrics_new(&d->metrics);
	if (k < 0)
		return k;
	d->host.metrics = d->metrics;
	d->host.metrics_changed = host_metrics_changed;
	k = client_pool_new(d->event, d->http, &d->prov, d->metrics,
			    &d->clients);
	if (k < 0)
		return k;
	d->host.clients = d->clients;
	return 0;
}

static void teardown(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		runner_free(d->runners[i]);
	free(d->runners);
	client_pool_free(d->clients);
	d->clients = NULL;
	d->hooks = hook_runner_free(d->hooks);
	d->metrics = metrics_free(d->metrics);
	credsprov_free(d->cp);
	creds_chain_free(d->chain);
	http_client_free(d->http);
	ratelimit_free(d->rl);
	sd_event_source_disable_unref(d->rl_timer);
	sd_event_source_disable_unref(d->rl_now);
	sd_event_source_disable_unref(d->watchdog);
	sd_event_source_disable_unref(d->status_defer);
	sd_event_source_disable_unref(d->status_timer);
	sd_event_source_disable_unref(d->release_timer);
	sd_event_source_disable_unref(d->flush_timer);
	sd_event_unref(d->event);
	if (d->host.state_dirfd >= 0)
		close(d->host.state_dirfd);
	config_free(d->cfg);
}

int daemon_main(const struct daemon_options *opt, struct config *cfg)
{
	struct daemon d;
	enum rt_outcome *outcomes = NULL;
	char err[8400];
	time_t now = wallclock_now();
	int lock_fd = -1, k, rc = PR_EXIT_SOFTWARE;
	size_t i;

	memset(&d, 0, sizeof(d));
	d.host.state_dirfd = -1;
	d.opt = opt;
	d.cfg = cfg;
	k = state_lock(opt->state_dir, &lock_fd, err, sizeof(err));
	if (k < 0) {
		if (k == -EBUSY)
			log_error("%s", err);
		else
			log_error("%s (the state directory is --state-dir, else "
				  "$STATE_DIRECTORY, else %s)", err,
				  CLI_DEFAULT_STATE_DIR);
		/* another daemon, or a state directory that is not usable: the
		 * setup is wrong, a restart would not help */
		rc = k == -ENOMEM ? PR_EXIT_SOFTWARE : PR_EXIT_CONFIG;
		config_free(cfg);
		return rc;
	}
	/* the service records the config its state belongs to; once and
	 * rollback refuse another config's state */
	if (!opt->once) {
		k = stateowner_record(opt->state_dir, opt->config_path);
		if (k < 0)
			log_warning("cannot record the config in %s/%s: %s",
				    opt->state_dir, STATEOWNER_FILE,
				    strerror(-k));
	} else if (stateowner_check(opt->state_dir, opt->config_path, err,
				    sizeof(err)) == -EXDEV) {
		log_error("%s", err);
		rc = PR_EXIT_CONFIG;
		goto cleanup;
	}
	k = setup(&d);
	if (k < 0) {
		log_error("cannot set up the event loop: %s", strerror(-k));
		goto cleanup;
	}
	for (i = 0; i < cfg->n; i++) {
		const struct pipeline *p = &cfg->pipelines[i];

		if (opt->pipeline && strcmp(opt->pipeline, p->name))
			continue;
		k = add_runner(&d, p, now, true);
		if (k < 0 && opt->once) {
			/* a state file that cannot be read (a directory, no
			 * permission, not a regular file): the setup is wrong */
			rc = k == -ENOMEM ? PR_EXIT_SOFTWARE : PR_EXIT_CONFIG;
			goto cleanup;
		}
	}
	if (opt->once && d.n == 0) {
		log_error("no pipeline named %s in %s", opt->pipeline,
			  cfg->source);
		rc = PR_EXIT_CONFIG;
		goto cleanup;
	}
	update_status(&d);
	write_metrics(&d);
	d.ready = true;
	if (!opt->once) {
		notify_ready(d.line);
		log_notice("started: %zu pipeline%s, state in %s", d.n,
			   d.n == 1 ? "" : "s", opt->state_dir);
		if (all_idle(&d))
			release_idle_resources(&d);  /* config, state files */
	} else if (all_idle(&d)) {
		goto done;
	}
	k = sd_event_loop(d.event);
	if (k < 0) {
		log_error("event loop failed: %s", strerror(-k));
		goto cleanup;
	}
done:
	if (!opt->once) {
		rc = PR_EXIT_OK;
		goto cleanup;
	}
	if (d.signal_exit) {
		rc = d.signal_exit;
		goto cleanup;
	}
	outcomes = calloc(d.n ? d.n : 1, sizeof(*outcomes));
	if (!outcomes)
		goto cleanup;
	for (i = 0; i < d.n; i++)
		outcomes[i] = runner_last_outcome(d.runners[i]);
	rc = daemon_exit_status(outcomes, d.n);
	for (i = 0; i < d.n; i++)
		if (runner_save_error(d.runners[i]))
			rc = PR_EXIT_IOERR;  /* the state on disk is behind */
	for (i = 0; opt->rollback && i < d.n; i++)
		if (runner_rollback_refused(d.runners[i]))
			rc = runner_rollback_refused(d.runners[i]);
cleanup:
	free(outcomes);
	teardown(&d);
	state_unlock(lock_fd);
	return rc;
}
