/* creds_deferred.c - delivering a credentials job's result from the loop;
 * see include/creds-internal.h. */
#include "creds-internal.h"

#include <errno.h>
#include <stdlib.h>

#include "evtimer.h"

int creds_call_result(enum aws_error_class error, const char *access_key_id,
		      const char *secret_access_key, const char *session_token,
		      time_t expiration, const char *source,
		      struct creds **out)
{
	if (error != AWS_ERR_NONE)
		return error == AWS_ERR_AUTH || error == AWS_ERR_CLIENT
		       ? -EACCES : -EIO;
	return creds_new(access_key_id, secret_access_key, session_token,
			 expiration, source, out);
}

const char *creds_call_message(const char *message,
			       enum aws_error_class error)
{
	return message && *message ? message : aws_error_class_name(error);
}

static void cancel(struct creds_job *job)
{
	creds_deferred_free((struct creds_deferred *)job);
}

void creds_deferred_init(struct creds_deferred *d, sd_event *event,
			 creds_job_done_fn done, void *userdata,
			 void (*release)(struct creds_deferred *d),
			 const char *name)
{
	d->base.cancel = cancel;
	d->event = sd_event_ref(event);
	d->done = done;
	d->userdata = userdata;
	d->release = release;
	d->name = name;
}

void creds_deferred_free(struct creds_deferred *d)
{
	if (!d)
		return;
	if (d->release)
		d->release(d);
	creds_free(d->result);
	sd_event_source_disable_unref(d->finish);
	sd_event_unref(d->event);
	free(d);
}

static int on_finish(sd_event_source *s, void *userdata)
{
	struct creds_deferred *d = userdata;
	creds_job_done_fn done = d->done;
	void *ud = d->userdata;
	struct creds *c = d->result;
	int error = d->error;

	(void)s;
	d->result = NULL;
	creds_deferred_free(d);
	done(error, c, ud);
	return 0;
}

void creds_deferred_finish(struct creds_deferred *d, int error,
			   struct creds *c)
{
	d->error = error;
	d->result = c;
	if (evtimer_arm_now(d->event, &d->finish, on_finish, d, d->name) < 0) {
		d->result = NULL;
		d->done(error, c, d->userdata);
		d->done = NULL;
	}
}
