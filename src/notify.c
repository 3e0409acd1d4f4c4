/* notify.c - sd_notify wrapper; see include/notify.h. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"

#define NOTIFY_STATUS_MAX 512

static char last_status[NOTIFY_STATUS_MAX];

static void send_state(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_debug("sd_notify failed: %s", strerror(-r));
}

void notify_ready(const char *status)
{
	char msg[NOTIFY_STATUS_MAX + 32];

	if (status) {
		snprintf(last_status, sizeof(last_status), "%s", status);
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", last_status);
		send_state(msg);
	} else {
		send_state("READY=1");
	}
}

void notify_status(const char *fmt, ...)
{
	char text[NOTIFY_STATUS_MAX];
	char msg[NOTIFY_STATUS_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (strcmp(text, last_status) == 0)
		return;
	memcpy(last_status, text, sizeof(last_status));
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	send_state(msg);
}

void notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(msg);
}

void notify_stopping(void)
{
	send_state("STOPPING=1");
}

void notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}
