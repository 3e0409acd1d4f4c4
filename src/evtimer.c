/* evtimer.c - re-armable one-shot monotonic timers; see include/evtimer.h. */
#include "evtimer.h"

int evtimer_arm_relative(sd_event *event, sd_event_source **src,
			 uint64_t delay_usec, uint64_t accuracy_usec,
			 sd_event_time_handler_t handler, void *userdata,
			 const char *description)
{
	int r;

	if (*src) {
		r = sd_event_source_set_time_relative(*src, delay_usec);
		if (r >= 0)
			r = sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
		return r < 0 ? r : 0;
	}
	r = sd_event_add_time_relative(event, src, CLOCK_MONOTONIC, delay_usec,
				       accuracy_usec, handler, userdata);
	if (r >= 0 && description)
		(void)sd_event_source_set_description(*src, description);
	return r < 0 ? r : 0;
}

int evtimer_arm_now(sd_event *event, sd_event_source **src,
		    sd_event_handler_t handler, void *userdata,
		    const char *description)
{
	int r;

	if (*src) {
		r = sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
		return r < 0 ? r : 0;
	}
	/* a new defer source is enabled ONESHOT already */
	r = sd_event_add_defer(event, src, handler, userdata);
	if (r >= 0 && description)
		(void)sd_event_source_set_description(*src, description);
	return r < 0 ? r : 0;
}
