/* creds.c - the credentials chain: find a source, keep its credentials,
 * refresh temporary ones ahead of expiry from the event loop; see
 * include/creds.h. */
#include "creds-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


#include "log.h"
#include "wallclock.h"
#include "timeconst.h"

#define REFRESH_TIMER_ACCURACY_USEC USEC_PER_SEC

enum chain_step {
	STEP_ENV,
	STEP_SYSTEMD,
	STEP_ASSUME_ROLE,   /* a profile with role_arn */
	STEP_WEB_IDENTITY,  /* AWS_WEB_IDENTITY_TOKEN_FILE or the profile's */
	STEP_SSO,           /* a profile with sso_session / sso_start_url */
	STEP_PROFILE,
	STEP_CONTAINER,
	STEP_IMDS,
	STEP_NONE, /* nothing found */
};

struct waiter {
	creds_ready_fn ready;
	void *userdata;
	struct waiter *next;
};

struct creds_chain {
	char *profile;          /* NULL: $AWS_PROFILE / default */
	sd_event *event;
	struct http_client *http;
	struct creds *current;
	bool resolved;          /* source below is known */
	enum chain_step source; /* where current came from */
	char *process;          /* credential_process command, if that */
	struct creds_role_plan *plan;       /* STEP_ASSUME_ROLE */
	struct creds_webid_config *webid;   /* STEP_WEB_IDENTITY */
	struct creds_sso_config *sso;       /* STEP_SSO */
	enum chain_step step;   /* while resolving: the step in flight */
	struct creds_job *job;  /* resolution or refresh in flight */
	bool refreshing;        /* job refreshes a known source */
	struct waiter *waiters;
	struct waiter *delivering; /* waiters being called back */
	sd_event_source *timer; /* next background refresh */
	time_t refresh_ahead;   /* seconds */
	void (*on_fetch_end)(void *userdata);
	void *fetch_userdata;
	time_t retry;           /* seconds */
	/* "no credentials" was logged at error level since the chain last
	 * had some: every call waiting for credentials asks the chain again,
	 * so the later misses go to the debug level (the run that fails for
	 * want of credentials says so itself, with its pipeline) */
	bool none_logged;
};

static void on_job_done(int error, struct creds *c, void *userdata);

int creds_chain_new(const struct creds_chain_options *opt,
		    struct creds_chain **out)
{
	struct creds_chain *ch;

	if (!opt || !opt->event || !out)
		return -EINVAL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	if (opt->profile && *opt->profile) {
		ch->profile = strdup(opt->profile);
		if (!ch->profile) {
			free(ch);
			return -ENOMEM;
		}
	}
	ch->event = sd_event_ref(opt->event);
	ch->http = opt->http;
	ch->on_fetch_end = opt->on_fetch_end;
	ch->fetch_userdata = opt->fetch_userdata;
	ch->refresh_ahead = opt->refresh_ahead_sec ? opt->refresh_ahead_sec
						   : CREDS_REFRESH_AHEAD_SEC;
	ch->retry = opt->retry_sec ? opt->retry_sec : CREDS_RETRY_SEC;
	*out = ch;
	return 0;
}

static void free_waiters(struct waiter *w)
{
	while (w) {
		struct waiter *next = w->next;

		free(w);
		w = next;
	}
}

void creds_chain_free(struct creds_chain *ch)
{
	if (!ch)
		return;
	creds_job_cancel(ch->job);
	sd_event_source_disable_unref(ch->timer);
	free_waiters(ch->waiters);
	creds_free(ch->current);
	creds_free_secret(ch->process);
	creds_role_plan_free(ch->plan);
	creds_webid_config_free(ch->webid);
	creds_sso_config_free(ch->sso);
	free(ch->profile);
	sd_event_unref(ch->event);
	free(ch);
}

static const char *step_name(enum chain_step s)
{
	switch (s) {
	case STEP_ENV:
		return "the environment";
	case STEP_SYSTEMD:
		return "systemd credentials";
	case STEP_ASSUME_ROLE:
		return "STS AssumeRole (a profile's role_arn)";
	case STEP_WEB_IDENTITY:
		return "STS AssumeRoleWithWebIdentity";
	case STEP_SSO:
		return "IAM Identity Center (SSO)";
	case STEP_PROFILE:
		return "the shared credentials/config files";
	case STEP_CONTAINER:
		return "the container credentials endpoint";
	case STEP_IMDS:
		return "EC2 instance metadata";
	case STEP_NONE:
		break;
	}
	return "nowhere";
}

/* Usable without waiting: no expiry, or not within the margin of it. */
static bool usable(const struct creds *c, time_t now)
{
	return c && (c->expiration == 0 ||
		     c->expiration - now > CREDS_EXPIRY_MARGIN_SEC);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Arm the background refresh for at (UTC seconds). */
static void arm_timer(struct creds_chain *ch, time_t at)
{
	uint64_t usec = wallclock_host_sec_to_real_usec(at);
	int r;

	if (ch->timer) {
		r = sd_event_source_set_time(ch->timer, usec);
		if (r >= 0)
			r = sd_event_source_set_enabled(ch->timer,
							SD_EVENT_ONESHOT);
	} else {
		r = sd_event_add_time(ch->event, &ch->timer, CLOCK_REALTIME,
				      usec, REFRESH_TIMER_ACCURACY_USEC,
				      on_timer, ch);
	}
	if (r < 0)
		log_warning("AWS credentials: cannot arm the refresh timer: %s; "
			    "refreshing when next needed", strerror(-r));
}

static void set_current(struct creds_chain *ch, struct creds *c,
			enum chain_step from)
{
	time_t now = wallclock_host_now();
	bool first = !ch->resolved;

	creds_free(ch->current);
	ch->current = c;
	ch->source = from;
	ch->resolved = true;
	ch->none_logged = false;
	if (first)
		log_info("AWS credentials from %s (%s)%s", step_name(from),
			 c->source, c->expiration ? ", temporary" : "");
	else
		log_debug("AWS credentials refreshed from %s", step_name(from));
	if (c->expiration) {
		time_t at = c->expiration - ch->refresh_ahead;

		if (at < now + ch->retry)
			at = now + ch->retry;
		arm_timer(ch, at);
	} else if (ch->timer) {
		(void)sd_event_source_set_enabled(ch->timer, SD_EVENT_OFF);
	}
}

/* Start AssumeRoleWithWebIdentity; configure: read the configuration
 * first. 0 (a job runs), -ENOENT (not configured), -errno. */
static int start_web_identity(struct creds_chain *ch, bool configure)
{
	const struct creds_webid_config *w;
	int r;

	if (configure) {
		creds_webid_config_free(ch->webid);
		ch->webid = NULL;
		r = creds_webid_config_new(ch->profile, &ch->webid);
		if (r < 0)
			return r;
	}
	w = ch->webid;
	if (!w)
		return -EINVAL;
	return creds_web_identity_start(ch->event, ch->http, w->token_file,
					w->role_arn, w->session_name,
					w->region, w->regional_endpoints,
					on_job_done, ch, &ch->job);
}

/* Try the chain from ch->step on. 0: ch->current set now; -EINPROGRESS: a
 * job runs; other -errno: failed (logged). */
static int resolve(struct creds_chain *ch)
{
	struct creds *c = NULL;
	int r;

	for (;; ch->step++) {
		switch (ch->step) {
		case STEP_ENV:
			r = creds_from_env(&c);
			break;
		case STEP_SYSTEMD:
			r = creds_from_systemd(&c);
			break;
		case STEP_ASSUME_ROLE:
			creds_role_plan_free(ch->plan);
			ch->plan = NULL;
			r = creds_role_plan_new(ch->profile, &ch->plan);
			if (r == 0) {
				r = creds_role_start(ch->event, ch->http,
						     ch->plan, on_job_done, ch,
						     &ch->job);
				return r == 0 ? -EINPROGRESS : r;
			}
			break;
		case STEP_WEB_IDENTITY:
			r = start_web_identity(ch, true);
			if (r == 0)
				return -EINPROGRESS;
			break;
		case STEP_SSO:
			creds_sso_config_free(ch->sso);
			ch->sso = NULL;
			r = creds_sso_config_new(ch->profile, &ch->sso);
			if (r == 0) {
				r = creds_sso_start(ch->event, ch->http, ch->sso,
						    on_job_done, ch, &ch->job);
				return r == 0 ? -EINPROGRESS : r;
			}
			break;
		case STEP_PROFILE:
			creds_free_secret(ch->process);
			ch->process = NULL;
			r = creds_from_profile(ch->profile, &c, &ch->process);
			if (r == 0 && ch->process) {
				/* configured: a failure to start is final */
				r = creds_process_start(ch->event, ch->process,
							on_job_done, ch,
							&ch->job);
				return r == 0 ? -EINPROGRESS : r;
			}
			break;
		case STEP_CONTAINER:
			r = -ENOENT;
			if (ch->http)
				r = creds_container_start(ch->http, on_job_done,
							  ch, &ch->job);
			if (r == 0)
				return -EINPROGRESS;
			break;
		case STEP_IMDS:
			r = -ENOENT;
			if (ch->http)
				r = creds_imds_start(ch->http, on_job_done, ch,
						     &ch->job);
			if (r == 0)
				return -EINPROGRESS;
			break;
		default: {
			const char *env = getenv("AWS_PROFILE");
			const char *prof = ch->profile ? ch->profile
					   : env && *env ? env : "default";

			log_msg(ch->none_logged ? LOG_DEBUG : LOG_ERR,
				"No AWS credentials found: set "
				"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
				"load the systemd credentials %s and %s, "
				"configure profile \"%s\" in the shared files, "
				"or run with a container or instance role",
				CREDS_SYSTEMD_ACCESS_KEY_ID,
				CREDS_SYSTEMD_SECRET_ACCESS_KEY, prof);
			ch->none_logged = true;
			return -ENOKEY;
		}
		}
		if (r == 0) {
			set_current(ch, c, ch->step);
			return 0;
		}
		if (r != -ENOENT)
			return r;
	}
}

/* Start refreshing the known source. 0, or -errno. */
static int start_refresh(struct creds_chain *ch)
{
	int r;

	if (ch->job)
		return 0;
	switch (ch->source) {
	case STEP_ASSUME_ROLE:
		if (!ch->plan)
			return -EINVAL;
		r = creds_role_start(ch->event, ch->http, ch->plan, on_job_done,
				     ch, &ch->job);
		break;
	case STEP_WEB_IDENTITY:
		r = start_web_identity(ch, false);
		break;
	case STEP_SSO:
		if (!ch->sso)
			return -EINVAL;
		r = creds_sso_start(ch->event, ch->http, ch->sso, on_job_done,
				    ch, &ch->job);
		break;
	case STEP_PROFILE:
		if (!ch->process)
			return -EINVAL;
		r = creds_process_start(ch->event, ch->process, on_job_done, ch,
					&ch->job);
		break;
	case STEP_CONTAINER:
		r = creds_container_start(ch->http, on_job_done, ch, &ch->job);
		break;
	case STEP_IMDS:
		r = creds_imds_start(ch->http, on_job_done, ch, &ch->job);
		break;
	default:
		return -EINVAL; /* static sources do not expire */
	}
	if (r == 0)
		ch->refreshing = true;
	return r;
}

/* Call back every waiter with the outcome. */
static void deliver(struct creds_chain *ch, int error)
{
	ch->delivering = ch->waiters;
	ch->waiters = NULL;
	while (ch->delivering) {
		struct waiter *w = ch->delivering;

		ch->delivering = w->next;
		if (error == 0 && ch->current &&
		    (ch->current->expiration == 0 ||
		     ch->current->expiration > wallclock_host_now()))
			w->ready(0, ch->current, w->userdata);
		else
			w->ready(error ? error : -EKEYEXPIRED, NULL,
				 w->userdata);
		free(w);
	}
}

static void on_job_done(int error, struct creds *c, void *userdata)
{
	struct creds_chain *ch = userdata;
	int r = error;

	ch->job = NULL;
	if (ch->refreshing) {
		ch->refreshing = false;
		if (error == 0) {
			set_current(ch, c, ch->source);
		} else if (usable(ch->current, wallclock_host_now())) {
			log_warning("AWS credentials: refreshing from %s failed; "
				    "the current ones stay in use, retrying in "
				    "%lld s", step_name(ch->source),
				    (long long)ch->retry);
			arm_timer(ch, wallclock_host_now() + ch->retry);
			r = 0;
		}
	} else if (error == 0) {
		set_current(ch, c, ch->step);
	} else if (error == -ENOKEY && ch->step == STEP_IMDS) {
		/* no metadata service: end of the chain */
		ch->step++;
		r = resolve(ch);
		if (r == -EINPROGRESS)
			return;  /* the next step's fetch ends later */
	}
	deliver(ch, r);
	if (ch->on_fetch_end)
		ch->on_fetch_end(ch->fetch_userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct creds_chain *ch = userdata;
	int r;

	(void)s;
	(void)usec;
	r = start_refresh(ch);
	if (r < 0 && r != -EINVAL) {
		log_warning("AWS credentials: cannot start a refresh from %s: "
			    "%s; retrying in %lld s", step_name(ch->source),
			    strerror(-r), (long long)ch->retry);
		arm_timer(ch, wallclock_host_now() + ch->retry);
	}
	return 0;
}

int creds_get(struct creds_chain *ch, creds_ready_fn ready, void *userdata)
{
	time_t now = wallclock_host_now();
	struct waiter *w, **tail;
	int r;

	if (!ch || !ready)
		return -EINVAL;
	if (usable(ch->current, now)) {
		if (ch->current->expiration &&
		    ch->current->expiration - now <= ch->refresh_ahead &&
		    !ch->job && (!ch->timer ||
				 sd_event_source_get_enabled(ch->timer, NULL) <= 0))
			(void)on_timer(NULL, 0, ch); /* overdue: start now */
		ready(0, ch->current, userdata);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (!ch->job) {
		if (ch->resolved) {
			r = start_refresh(ch);
		} else {
			ch->step = STEP_ENV;
			r = resolve(ch);
			if (r == 0) {
				free(w);
				ready(0, ch->current, userdata);
				return 0;
			}
			if (r == -EINPROGRESS)
				r = 0;
		}
		if (r < 0) {
			free(w);
			return r;
		}
	}
	w->ready = ready;
	w->userdata = userdata;
	for (tail = &ch->waiters; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	return 0;
}

static void cancel_in(struct waiter **list, void *userdata)
{
	while (*list) {
		struct waiter *w = *list;

		if (w->userdata == userdata) {
			*list = w->next;
			free(w);
		} else {
			list = &w->next;
		}
	}
}

void creds_cancel(struct creds_chain *ch, void *userdata)
{
	if (!ch)
		return;
	cancel_in(&ch->waiters, userdata);
	cancel_in(&ch->delivering, userdata);
}

void creds_invalidate(struct creds_chain *ch)
{
	if (!ch || ch->job || !ch->resolved)
		return;
	log_info("AWS credentials from %s were refused by a service; "
		 "looking for fresh ones", step_name(ch->source));
	creds_free(ch->current);
	ch->current = NULL;
	ch->resolved = false;
	creds_free_secret(ch->process);
	ch->process = NULL;
	creds_role_plan_free(ch->plan);
	ch->plan = NULL;
	creds_webid_config_free(ch->webid);
	ch->webid = NULL;
	creds_sso_config_free(ch->sso);
	ch->sso = NULL;
	if (ch->timer)
		(void)sd_event_source_set_enabled(ch->timer, SD_EVENT_OFF);
}

const struct creds *creds_peek(struct creds_chain *ch)
{
	return ch && usable(ch->current, wallclock_host_now()) ? ch->current : NULL;
}

