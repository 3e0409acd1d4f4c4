/* schedule_tz.h - internal: IANA time zones for the schedule module.
 *
 * Not part of the schedule contract (include/schedule.h); src/schedule.c,
 * its tests and the benchmark use it. A zone is read once, at parse time,
 * from the compiled tz database (TZif files under $TZDIR or
 * /usr/share/zoneinfo), so evaluating a schedule never touches the process
 * environment (no TZ juggling, no tzset()) and is thread-safe. */
#ifndef PR_SCHEDULE_TZ_H
#define PR_SCHEDULE_TZ_H

#include <stddef.h>
#include <stdint.h>

struct sched_tz;

/* Load zone `name` ("Europe/Berlin", "UTC"). 0 and *out on success;
 * -EINVAL for a malformed name or an unreadable/corrupt zone file,
 * -ENOENT when no such zone exists, -ENOMEM. */
int sched_tz_load(const char *name, struct sched_tz **out);
void sched_tz_free(struct sched_tz *tz);

/* The same from the bytes of a TZif file (RFC 8536, versions 1-4) already
 * in memory; -EINVAL when they are not one. For tests and fuzzing. */
int sched_tz_from_tzif(const char *name, const void *data, size_t len,
		       struct sched_tz **out);

/* Offset from UTC in seconds (east positive) in effect at instant t.
 * tz NULL means UTC (always 0). */
long sched_tz_offset(const struct sched_tz *tz, int64_t t);

#endif
