/* schedule-internal.h - shared between the schedule*.c files only.
 *
 * schedule_parse.c turns the text of rate() and cron() into the structures
 * of schedule_bits.h, schedule.c searches them for fire times (in UTC or in
 * a zone from schedule_tz.c), schedule_time.c holds the calendar arithmetic
 * they all use and the ISO-8601 helpers of the public API. */
#ifndef PR_SCHEDULE_INTERNAL_H
#define PR_SCHEDULE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "schedule.h"
#include "schedule_bits.h"

/* ---- schedule_parse.c ---- */

/* Parse the text between "cron(" and ")" (expr[body..end)), or between
 * "rate(" and ")". Columns in errors are 1-based positions in expr.
 * 0, or -EINVAL with *err filled (err may be NULL). */
int sched_cron_parse(const char *expr, size_t body, size_t end,
		     struct cron *c, struct sched_error *err);
int sched_rate_parse(const char *expr, size_t body, size_t end, long *period,
		     struct sched_error *err);
/* Fill *err (if not NULL) and return -EINVAL. */
int sched_fail(struct sched_error *err, const char *field, int column,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- schedule_time.c: proleptic Gregorian calendar ---- */

int sched_is_leap(int64_t y);
int sched_month_days(int64_t y, int m);
/* Days since 1970-01-01 of a date, and back. */
int64_t sched_days_from_civil(int64_t y, int m, int d);
void sched_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* 0 = Sunday ... 6 = Saturday. */
int sched_weekday(int64_t y, int m, int d);
/* Division rounding towards minus infinity (b > 0). */
int64_t sched_floor_div(int64_t a, int64_t b);

#endif
