/* notify.h - the daemon's side of systemd's notify protocol (sd_notify).
 *
 * Thin, deduplicating wrapper: STATUS= is sent only when the text changes,
 * so callers can report status on every state change without flooding the
 * manager. All functions are no-ops when NOTIFY_SOCKET is unset. */
#ifndef PR_NOTIFY_H
#define PR_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* READY=1 with the given status text (may be NULL). */
void notify_ready(const char *status);
/* STATUS=<text>, only if it differs from the last one sent. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1 (and MONOTONIC_USEC=, as systemd >= 253 wants it). */
void notify_reloading(void);
/* STOPPING=1. */
void notify_stopping(void);
/* WATCHDOG=1. */
void notify_watchdog(void);
/* The watchdog interval systemd asked for, in microseconds, or 0 when
 * there is none (WATCHDOG_USEC unset or for another PID). */
uint64_t notify_watchdog_usec(void);

#endif
