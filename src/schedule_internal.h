/* schedule_internal.h - shared between the schedule*.c files only.
 *
 * schedule_parse.c turns the text of rate() and cron() into the structures
 * below, schedule.c searches them for fire times (in UTC or in a zone from
 * schedule_tz.c), schedule_time.c holds the calendar arithmetic they all
 * use and the ISO-8601 helpers of the public API. */
#ifndef PR_SCHEDULE_INTERNAL_H
#define PR_SCHEDULE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "schedule.h"

#define SCHED_YEAR_MIN 1970
#define SCHED_YEAR_MAX 2199
#define SECS_PER_MIN 60
#define SECS_PER_HOUR 3600
#define SECS_PER_DAY 86400

/* Field indexes, in expression order. */
enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR, F_COUNT };

/* A set of field values, indexed by value - field minimum (0..229). */
struct bits {
	uint64_t w[4];
};

enum dom_kind {
	DOM_ANY,         /* '?' */
	DOM_SET,         /* values in dom bits */
	DOM_LAST,        /* L, L-n */
	DOM_LAST_WEEKDAY,/* LW, L-nW */
	DOM_NEAREST,     /* nW */
};

enum dow_kind {
	DOW_ANY,         /* '?' */
	DOW_SET,         /* values in dow bits (L alone = SAT) */
	DOW_LAST,        /* nL */
	DOW_NTH,         /* n#k */
};

/* A parsed cron(): every field as a set, plus the special day forms. */
struct cron {
	struct bits f[F_COUNT];
	enum dom_kind dom_kind;
	enum dow_kind dow_kind;
	uint32_t dom_mask;         /* DOM_SET: bit d for day d (1..31) */
	uint32_t dow_mask[7];      /* DOW_SET: days matching in a month whose
				    * 1st is weekday i (0 = SUN), bits 1..31 */
	int dom_n;       /* DOM_NEAREST: n; DOM_LAST*: days before the last */
	int dow_n;       /* DOW_LAST, DOW_NTH: day 1..7 */
	int dow_k;       /* DOW_NTH: 1..5 */
};

static inline void bits_set(struct bits *b, int i)
{
	b->w[i >> 6] |= UINT64_C(1) << (i & 63);
}

static inline int bits_test(const struct bits *b, int i)
{
	return (int)((b->w[i >> 6] >> (i & 63)) & 1);
}

static inline int bits_empty(const struct bits *b)
{
	return !(b->w[0] | b->w[1] | b->w[2] | b->w[3]);
}

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
