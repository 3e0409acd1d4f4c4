/* evtimer.h - one-shot CLOCK_MONOTONIC timers on sd-event, armed again
 * and again through the same event source, and their zero-delay twin.
 *
 * The HTTP transport's curl timer and the retry timers of the AWS and S3
 * clients all keep one source and re-arm it; this is that one pattern.
 * "Now" (curl's zero timeout, a call's first attempt, the daemon's status
 * update) is a defer source instead: it runs at the next loop turn with no
 * timerfd to re-program. */
#ifndef PR_EVTIMER_H
#define PR_EVTIMER_H

#include <stdint.h>

#include <systemd/sd-event.h>

/* Arm *src to fire once, delay_usec from now. The first call creates the
 * source (with accuracy_usec, handler, userdata and, when not NULL, the
 * description); later calls move and re-enable the same source. 0, or a
 * negative errno from sd-event (*src is then unchanged or still NULL). */
int evtimer_arm_relative(sd_event *event, sd_event_source **src,
			 uint64_t delay_usec, uint64_t accuracy_usec,
			 sd_event_time_handler_t handler, void *userdata,
			 const char *description);

/* Arm *src to run handler once at the next loop turn (a defer source;
 * created on the first call, with the description when not NULL; later
 * calls enable the same source again). 0, or a negative errno. */
int evtimer_arm_now(sd_event *event, sd_event_source **src,
		    sd_event_handler_t handler, void *userdata,
		    const char *description);

#endif
