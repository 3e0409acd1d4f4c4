/* schedule.c - EventBridge schedule expressions: parsing, next and previous
 * fire times; see include/schedule.h for the contract.
 *
 * GRAMMAR (EventBridge's, as documented in the EventBridge user guide,
 * "Cron expressions reference" and "Rate expressions"):
 *
 *   rate(N unit)   N a whole number >= 1; unit minute|hour|day when N is 1,
 *                  minutes|hours|days otherwise (lower case, as AWS writes it).
 *   cron(minutes hours day-of-month month day-of-week year)
 *                  six fields separated by blanks:
 *       minutes       0-59              , - * /
 *       hours         0-23              , - * /
 *       day-of-month  1-31              , - * ? / L W
 *       month         1-12 or JAN-DEC   , - * /
 *       day-of-week   1-7 or SUN-SAT    , - * ? L #      (1 = SUN, 7 = SAT)
 *       year          1970-2199         , - * /
 *
 *   a-b         range; a range whose start is after its end wraps around
 *               (22-2 = 22,23,0,1,2; FRI-MON = FRI,SAT,SUN,MON), except in
 *               the year field where it is an error.
 *   a/s, a-b/s  every s-th value from a (to the end of the field or to
 *               b); '*' followed by /s starts at the field's first value;
 *               s is 1 .. the field's largest value.
 *   ?           exactly one of day-of-month and day-of-week is '?'.
 *   L           day-of-month: the last day of the month.
 *               day-of-week: the last day of the week (7 = SAT).
 *   L-n         day-of-month: n (0-30) days before the last day (L-1 is
 *               the 30th of a 31-day month). Not in AWS's table, but AWS
 *               support confirms EventBridge accepts it on purpose.
 *   LW, L-nW    day-of-month: the weekday nearest the last day (that is,
 *               the month's last weekday, MON-FRI) or nearest L-n.
 *   nW          day-of-month: the weekday nearest to day n, within the same
 *               month (1W on a Saturday is Monday the 3rd; 31W on a Sunday
 *               is Friday the 29th); a month without day n does not fire.
 *   nL          day-of-week: the last day n of the month (6L = last Friday).
 *   n#k         day-of-week: the k-th (1-5) day n of the month (3#2 = second
 *               Tuesday); a month without a k-th one does not fire.
 *   L, L-n, LW, nW, nL and n#k each stand alone in their field (no lists), as
 *   EventBridge documents for '#'. Month and day names, L and W are
 *   accepted in any letter case.
 *
 * FIRE TIMES are whole minutes. Without a time zone a cron expression is
 * evaluated in UTC. With one, in that zone's local wall-clock time:
 *
 * DAYLIGHT SAVING TIME (EventBridge Scheduler's documented rule, see
 * https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst;
 * the man page copies this paragraph):
 *   When clocks go forward, the local times they skip do not fire that
 *   day. In New York, where 02:00 becomes 03:00 in March, a schedule for
 *   02:30 does not fire that day, and one for every 15 minutes fires at
 *   01:45 and next at 03:00.
 *   When clocks go back, the local times that occur twice fire once, at
 *   their first occurrence (still on daylight saving time). In New York,
 *   where 02:00 becomes 01:00 in November, a schedule for 01:30 fires at
 *   01:30 EDT and not again at 01:30 EST, and one for every 15 minutes
 *   fires at 01:00, 01:15, 01:30 and 01:45 EDT and next at 02:00 EST.
 *   rate() schedules ignore the time zone: they fire every N minutes, hours
 *   or days (of 24 hours) of elapsed time after the previous fire.
 *
 * NEXT FIRE TIMES are found by field arithmetic on the local calendar:
 * jump to the next allowed year, month, day, hour and minute, never by
 * stepping minute by minute. For each (year, month) the allowed days are a
 * bit mask computed from day-of-month or day-of-week (L, W, # included).
 * The search is bounded by the year field (1970-2199): past 2199 the
 * schedule never fires again (-ENOENT). */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schedule_tz.h"

#define YEAR_MIN 1970
#define YEAR_MAX 2199
#define SECS_PER_MIN 60
#define SECS_PER_HOUR 3600
#define SECS_PER_DAY 86400
#define RATE_VALUE_MAX 1000000000L /* a sanity bound; overflow-free */
#define NUMBER_DIGITS_MAX 9

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

struct sched {
	enum sched_kind kind;
	long period;             /* rate: seconds */
	struct cron cron;
	struct sched_tz *tz;     /* NULL: UTC */
};

/* A local wall-clock time to the minute. */
struct civil {
	int y, mo, d, h, mi;
};

struct field_def {
	const char *name;
	int min, max;
	const char *const *names;  /* 3-letter names for min, min+1, ... */
	const char *allowed;       /* special characters besides digits */
};

static const char *const month_names[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL,
};
static const char *const day_names[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL,
};

static const struct field_def fields[F_COUNT] = {
	[F_MIN]  = { "minutes", 0, 59, NULL, ",-*/" },
	[F_HOUR] = { "hours", 0, 23, NULL, ",-*/" },
	[F_DOM]  = { "day-of-month", 1, 31, NULL, ",-*?/LW" },
	[F_MON]  = { "month", 1, 12, month_names, ",-*/" },
	[F_DOW]  = { "day-of-week", 1, 7, day_names, ",-*?L#" },
	[F_YEAR] = { "year", YEAR_MIN, YEAR_MAX, NULL, ",-*/" },
};

/* ---- errors ------------------------------------------------------------ */

static int fail(struct sched_error *err, const char *field, int column,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct sched_error *err, const char *field, int column,
		const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (err) {
		snprintf(err->field, sizeof(err->field), "%s", field);
		err->column = column;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		/* quoted input may hold any byte: keep messages printable */
		for (p = err->message; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	return -EINVAL;
}

/* ---- bit sets ---------------------------------------------------------- */

static void bits_set(struct bits *b, int i)
{
	b->w[i >> 6] |= UINT64_C(1) << (i & 63);
}

static int bits_test(const struct bits *b, int i)
{
	return (int)((b->w[i >> 6] >> (i & 63)) & 1);
}

static int bits_empty(const struct bits *b)
{
	return !(b->w[0] | b->w[1] | b->w[2] | b->w[3]);
}

/* Smallest set index in [from, limit], or -1. */
static int bits_next(const struct bits *b, int from, int limit)
{
	int i;

	if (from < 0)
		from = 0;
	for (i = from; i <= limit;) {
		uint64_t word = b->w[i >> 6] >> (i & 63);

		if (word) {
			i += __builtin_ctzll(word);
			return i <= limit ? i : -1;
		}
		i = (i | 63) + 1;
	}
	return -1;
}

/* Largest set index in [0, from], or -1. */
static int bits_prev(const struct bits *b, int from)
{
	int i;

	if (from > 255)
		from = 255;
	for (i = from; i >= 0;) {
		int sh = 63 - (i & 63);
		uint64_t word = b->w[i >> 6] << sh;

		if (word)
			return i - __builtin_clzll(word);
		i = (i & ~63) - 1;
	}
	return -1;
}

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) -- */

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday ... 6 = Saturday. */
static int weekday(int y, int m, int d)
{
	int64_t z = days_from_civil(y, m, d);
	int64_t w = (z + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Wall-clock seconds ("as if UTC") of a civil minute. */
static int64_t civil_to_secs(const struct civil *c)
{
	return days_from_civil(c->y, c->mo, c->d) * SECS_PER_DAY +
	       c->h * SECS_PER_HOUR + c->mi * SECS_PER_MIN;
}

/* Civil minute containing wall-clock second s. Years are clamped into
 * int range by the callers' bounds (1969..2201). */
static void secs_to_civil(int64_t s, struct civil *c)
{
	int64_t days = floor_div(s, SECS_PER_DAY), y;
	int64_t rem = s - days * SECS_PER_DAY;

	civil_from_days(days, &y, &c->mo, &c->d);
	c->y = (int)y;
	c->h = (int)(rem / SECS_PER_HOUR);
	c->mi = (int)(rem % SECS_PER_HOUR / SECS_PER_MIN);
}

/* ---- day masks ---------------------------------------------------------- */

/* Bit d (1..31) set when day d of (y, m) matches the day fields. */
static uint32_t day_mask(const struct cron *c, int y, int m)
{
	int last = month_days(y, m), d, wd, n;

	if (c->dow_kind == DOW_ANY) {
		switch (c->dom_kind) {
		case DOM_SET:
			return c->dom_mask & ((UINT32_C(2) << last) - 2);
		case DOM_LAST:
			d = last - c->dom_n;
			return d >= 1 ? UINT32_C(1) << d : 0;
		case DOM_LAST_WEEKDAY:
		case DOM_NEAREST:
			n = c->dom_kind == DOM_NEAREST ? c->dom_n
							: last - c->dom_n;
			if (n > last || n < 1)
				return 0;
			/* the weekday nearest day n, without leaving the month */
			wd = weekday(y, m, n);
			if (wd == 6)
				d = n == 1 ? 3 : n - 1;
			else if (wd == 0)
				d = n == last ? n - 2 : n + 1;
			else
				d = n;
			return UINT32_C(1) << d;
		case DOM_ANY:
			break;
		}
		return 0;
	}
	wd = weekday(y, m, 1); /* weekday of the 1st, 0 = SUN */
	switch (c->dow_kind) {
	case DOW_SET:
		return c->dow_mask[wd] & ((UINT32_C(2) << last) - 2);
	case DOW_LAST:
		/* first day n, then as many weeks as fit */
		d = 1 + ((c->dow_n - 1) - wd + 7) % 7;
		while (d + 7 <= last)
			d += 7;
		return UINT32_C(1) << d;
	case DOW_NTH:
		d = 1 + ((c->dow_n - 1) - wd + 7) % 7 + 7 * (c->dow_k - 1);
		return d <= last ? UINT32_C(1) << d : 0;
	case DOW_ANY:
		break;
	}
	return 0;
}

static int mask_next(uint32_t mask, int from)
{
	uint32_t m;

	if (from > 31)
		return -1;
	m = mask & ~((UINT32_C(1) << from) - 1);
	return m ? __builtin_ctz(m) : -1;
}

static int mask_prev(uint32_t mask, int from)
{
	uint32_t m;

	if (from < 0)
		return -1;
	m = from >= 31 ? mask : mask & ((UINT32_C(2) << from) - 1);
	return m ? 31 - __builtin_clz(m) : -1;
}

/* ---- wall-clock search ------------------------------------------------- */

static void civil_set(struct civil *c, int y, int mo, int d, int h, int mi)
{
	c->y = y;
	c->mo = mo;
	c->d = d;
	c->h = h;
	c->mi = mi;
}

/* First matching minute at or after *c (local wall clock); 0 and *c
 * updated, or -ENOENT past the year field's last year. */
static int cron_next_wall(const struct cron *cr, struct civil *c)
{
	int v;
	uint32_t mask;

	if (c->y < YEAR_MIN)
		civil_set(c, YEAR_MIN, 1, 1, 0, 0);
	for (;;) {
		if (c->y > YEAR_MAX)
			return -ENOENT;
		if (!bits_test(&cr->f[F_YEAR], c->y - YEAR_MIN)) {
			v = bits_next(&cr->f[F_YEAR], c->y - YEAR_MIN,
				      YEAR_MAX - YEAR_MIN);
			if (v < 0)
				return -ENOENT;
			civil_set(c, v + YEAR_MIN, 1, 1, 0, 0);
		}
		v = bits_next(&cr->f[F_MON], c->mo - 1, 11);
		if (v < 0) {
			civil_set(c, c->y + 1, 1, 1, 0, 0);
			continue;
		}
		if (v + 1 != c->mo)
			civil_set(c, c->y, v + 1, 1, 0, 0);
		mask = day_mask(cr, c->y, c->mo);
		v = mask_next(mask, c->d);
		if (v < 0) {
			if (c->mo == 12)
				civil_set(c, c->y + 1, 1, 1, 0, 0);
			else
				civil_set(c, c->y, c->mo + 1, 1, 0, 0);
			continue;
		}
		if (v != c->d)
			civil_set(c, c->y, c->mo, v, 0, 0);
		v = bits_next(&cr->f[F_HOUR], c->h, 23);
		if (v < 0) {
			/* next day; day 32 is never in a mask */
			civil_set(c, c->y, c->mo, c->d + 1, 0, 0);
			continue;
		}
		if (v != c->h)
			civil_set(c, c->y, c->mo, c->d, v, 0);
		v = bits_next(&cr->f[F_MIN], c->mi, 59);
		if (v < 0) {
			civil_set(c, c->y, c->mo, c->d, c->h + 1, 0);
			if (c->h > 23)
				civil_set(c, c->y, c->mo, c->d + 1, 0, 0);
			continue;
		}
		c->mi = v;
		return 0;
	}
}

/* Last matching minute at or before *c; 0 and *c updated, or -ENOENT
 * before the year field's first year. */
static int cron_prev_wall(const struct cron *cr, struct civil *c)
{
	int v;
	uint32_t mask;

	if (c->y > YEAR_MAX)
		civil_set(c, YEAR_MAX, 12, 31, 23, 59);
	for (;;) {
		if (c->y < YEAR_MIN)
			return -ENOENT;
		if (!bits_test(&cr->f[F_YEAR], c->y - YEAR_MIN)) {
			v = bits_prev(&cr->f[F_YEAR], c->y - YEAR_MIN);
			if (v < 0)
				return -ENOENT;
			civil_set(c, v + YEAR_MIN, 12, 31, 23, 59);
		}
		v = bits_prev(&cr->f[F_MON], c->mo - 1);
		if (v < 0) {
			civil_set(c, c->y - 1, 12, 31, 23, 59);
			continue;
		}
		if (v + 1 != c->mo)
			civil_set(c, c->y, v + 1, month_days(c->y, v + 1),
				  23, 59);
		mask = day_mask(cr, c->y, c->mo);
		v = mask_prev(mask, c->d);
		if (v < 1) {
			if (c->mo == 1)
				civil_set(c, c->y - 1, 12, 31, 23, 59);
			else
				civil_set(c, c->y, c->mo - 1,
					  month_days(c->y, c->mo - 1), 23, 59);
			continue;
		}
		if (v != c->d)
			civil_set(c, c->y, c->mo, v, 23, 59);
		v = bits_prev(&cr->f[F_HOUR], c->h);
		if (v < 0) {
			/* previous day; day 0 is never in a mask */
			civil_set(c, c->y, c->mo, c->d - 1, 23, 59);
			continue;
		}
		if (v != c->h)
			civil_set(c, c->y, c->mo, c->d, v, 59);
		v = bits_prev(&cr->f[F_MIN], c->mi);
		if (v < 0) {
			if (c->h == 0)
				civil_set(c, c->y, c->mo, c->d - 1, 23, 59);
			else
				civil_set(c, c->y, c->mo, c->d, c->h - 1, 59);
			continue;
		}
		c->mi = v;
		return 0;
	}
}

/* ---- local wall clock <-> instants ------------------------------------- */

/* The instant at which the zone's clocks first show wall-clock second w
 * ("as if UTC"). Returns 0 and *out, or -ENOENT when w does not exist
 * (skipped by a forward jump). The offsets that can apply to w are those
 * in effect somewhere in [w - 14 h, w + 12 h] (offsets lie within
 * -12 h .. +14 h); sampling the ends and the middle finds both sides of
 * any single transition near w. Of the candidates w - offset that really
 * show w, the earliest wins: a repeated time fires at its first occurrence. */
static int wall_to_instant(const struct sched_tz *tz, int64_t w, int64_t *out)
{
	long offs[3];
	int64_t best = 0;
	int found = 0, i;

	if (!tz) {
		*out = w;
		return 0;
	}
	offs[0] = sched_tz_offset(tz, w - 14 * SECS_PER_HOUR);
	offs[1] = sched_tz_offset(tz, w);
	offs[2] = sched_tz_offset(tz, w + 12 * SECS_PER_HOUR);
	for (i = 0; i < 3; i++) {
		int64_t t = w - offs[i];

		if (sched_tz_offset(tz, t) == offs[i] && (!found || t < best)) {
			best = t;
			found = 1;
		}
	}
	if (!found)
		return -ENOENT;
	*out = best;
	return 0;
}

/* Bounds of the search in instants: nothing fires outside the years
 * 1970..2199 of any zone, so clamping there keeps the arithmetic small. */
#define INSTANT_LOW  ((int64_t)-2 * SECS_PER_DAY)            /* 1969-12-30 */
#define INSTANT_HIGH ((int64_t)7258118400 + 2 * SECS_PER_DAY) /* 2200-01-03 */
/* A guard for the filters below: each skips at most the minutes of one
 * transition's gap or overlap (a few hours); this is never reached. */
#define TZ_FILTER_MAX 100000

static int cron_next(const struct sched *s, time_t after, time_t *out)
{
	int64_t a = (int64_t)after, w, t;
	struct civil c;
	int r, guard;

	if (a >= INSTANT_HIGH)
		return -ENOENT;
	if (a < INSTANT_LOW)
		a = INSTANT_LOW;
	w = a + sched_tz_offset(s->tz, a);
	w = floor_div(w, SECS_PER_MIN) * SECS_PER_MIN + SECS_PER_MIN;
	secs_to_civil(w, &c);
	for (guard = 0; guard < TZ_FILTER_MAX; guard++) {
		r = cron_next_wall(&s->cron, &c);
		if (r < 0)
			return r;
		w = civil_to_secs(&c);
		if (wall_to_instant(s->tz, w, &t) == 0 && t > (int64_t)after) {
			*out = (time_t)t;
			return 0;
		}
		secs_to_civil(w + SECS_PER_MIN, &c);
	}
	return -ENOENT;
}

static int cron_prev(const struct sched *s, time_t at, time_t *out)
{
	int64_t a = (int64_t)at, w, t;
	long o1, o2;
	struct civil c;
	int r, guard;

	if (a < INSTANT_LOW)
		return -ENOENT;
	if (a > INSTANT_HIGH)
		a = INSTANT_HIGH;
	/* After clocks went back, instants up to `at` may show later wall
	 * times than `at` itself does: start from the larger offset. */
	o1 = sched_tz_offset(s->tz, a);
	o2 = sched_tz_offset(s->tz, a - SECS_PER_DAY);
	w = a + (o1 > o2 ? o1 : o2);
	w = floor_div(w, SECS_PER_MIN) * SECS_PER_MIN;
	secs_to_civil(w, &c);
	for (guard = 0; guard < TZ_FILTER_MAX; guard++) {
		r = cron_prev_wall(&s->cron, &c);
		if (r < 0)
			return r;
		w = civil_to_secs(&c);
		if (wall_to_instant(s->tz, w, &t) == 0 && t <= (int64_t)at) {
			*out = (time_t)t;
			return 0;
		}
		secs_to_civil(w - SECS_PER_MIN, &c);
	}
	return -ENOENT;
}

/* ---- parsing ----------------------------------------------------------- */

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A number or a 3-letter name of field fd at s[*i]; advances *i. */
static int parse_value(const struct field_def *fd, const char *s, size_t len,
		       size_t *i, int col0, int *out, struct sched_error *err)
{
	size_t start = *i, n = 0;
	long v = 0;
	int k;

	if (*i < len && isdigit((unsigned char)s[*i])) {
		while (*i < len && isdigit((unsigned char)s[*i])) {
			if (++n > NUMBER_DIGITS_MAX)
				return fail(err, fd->name, col0 + (int)start,
					    "number too long");
			v = v * 10 + (s[*i] - '0');
			(*i)++;
		}
		if (v < fd->min || v > fd->max)
			return fail(err, fd->name, col0 + (int)start,
				    "%ld is out of range: %s takes %d-%d%s",
				    v, fd->name, fd->min, fd->max,
				    fd->names == month_names ? " or JAN-DEC" :
				    fd->names == day_names ? " or SUN-SAT" : "");
		*out = (int)v;
		return 0;
	}
	if (*i < len && isalpha((unsigned char)s[*i])) {
		while (*i < len && isalpha((unsigned char)s[*i]))
			(*i)++;
		n = *i - start;
		if (fd->names && n >= 3) {
			/* a name may be followed directly by L (FRIL) */
			size_t nl = n;

			if (n == 4 && fd->names == day_names &&
			    toupper((unsigned char)s[start + 3]) == 'L')
				nl = 3;
			for (k = 0; nl == 3 && fd->names[k]; k++)
				if (strncasecmp(s + start, fd->names[k], 3) == 0) {
					*i = start + 3;
					*out = fd->min + k;
					return 0;
				}
		}
		return fail(err, fd->name, col0 + (int)start,
			    "unknown name '%.*s'%s", (int)(n > 20 ? 20 : n),
			    s + start,
			    fd->names == month_names ? ": use 1-12 or JAN-DEC" :
			    fd->names == day_names ? ": use 1-7 or SUN-SAT" :
			    fd->names ? "" : ": this field takes numbers only");
	}
	if (*i >= len)
		return fail(err, fd->name, col0 + (int)start,
			    "a value is missing at the end of the field");
	return fail(err, fd->name, col0 + (int)start,
		    "expected a value, found '%c'", s[*i]);
}

/* Every s-th value of a..b (wrapping past the field's end when a > b). */
static void add_range(struct bits *b, const struct field_def *fd, int lo,
		      int hi, int step)
{
	int width = fd->max - fd->min + 1;
	int count = hi >= lo ? hi - lo + 1 : (fd->max - lo + 1) + (hi - fd->min + 1);
	int k;

	for (k = 0; k < count; k += step)
		bits_set(b, (lo - fd->min + k) % width);
}

/* The special day forms that stand alone: L, LW, L-n, L-nW, nW
 * (day-of-month) and L, nL, n#k (day-of-week). Returns 1 if handled, 0 if not one of them,
 * or -EINVAL. */
static int parse_day_special(int fi, const char *s, size_t len, int col,
			     struct cron *c, struct sched_error *err)
{
	const struct field_def *fd = &fields[fi];
	size_t i = 0;
	int n, k, r;

	if (fi == F_DOM) {
		if (toupper((unsigned char)s[0]) == 'L' &&
		    !memchr(s, ',', len) && !memchr(s, '/', len)) {
			/* L, LW, L-n, L-nW: n days before the last (0-30) */
			n = 0;
			i = 1;
			if (i < len && s[i] == '-') {
				size_t ds = ++i;

				while (i < len && isdigit((unsigned char)s[i]) &&
				       i - ds < 3)
					n = n * 10 + (s[i++] - '0');
				if (i == ds || n > 30)
					return fail(err, fd->name, col + (int)ds,
						    "L-n needs a number of days "
						    "0-30 before the last day, "
						    "e.g. L-2");
			}
			c->dom_kind = DOM_LAST;
			if (i < len && toupper((unsigned char)s[i]) == 'W') {
				c->dom_kind = DOM_LAST_WEEKDAY;
				i++;
			}
			if (i != len)
				return fail(err, fd->name, col + (int)i,
					    "unexpected '%c': after L comes "
					    "nothing, W, -n or -nW (L, LW, L-2, "
					    "L-2W)", s[i]);
			c->dom_n = n;
			return 1;
		}
		if (len >= 2 && toupper((unsigned char)s[len - 1]) == 'W' &&
		    isdigit((unsigned char)s[0])) {
			r = parse_value(fd, s, len, &i, col, &n, err);
			if (r < 0)
				return r;
			if (i != len - 1)
				return fail(err, fd->name, col + (int)i,
					    "W follows a single day, e.g. 15W "
					    "(the weekday nearest the 15th)");
			c->dom_kind = DOM_NEAREST;
			c->dom_n = n;
			return 1;
		}
		return 0;
	}
	if (len == 1 && toupper((unsigned char)s[0]) == 'L') {
		c->dow_kind = DOW_SET;
		bits_set(&c->f[F_DOW], 6); /* the last day of the week: SAT */
		return 1;
	}
	if (len >= 2 && toupper((unsigned char)s[len - 1]) == 'L' &&
	    !memchr(s, ',', len) && !memchr(s, '-', len) &&
	    !memchr(s, '#', len) && !memchr(s, '/', len)) {
		r = parse_value(fd, s, len, &i, col, &n, err);
		if (r < 0)
			return r;
		if (i != len - 1)
			return fail(err, fd->name, col + (int)i,
				    "L follows a single day, e.g. 6L (the last "
				    "Friday of the month)");
		c->dow_kind = DOW_LAST;
		c->dow_n = n;
		return 1;
	}
	if (memchr(s, '#', len)) {
		const char *hash = memchr(s, '#', len);
		size_t hpos = (size_t)(hash - s);

		if (hpos == 0)
			return fail(err, fd->name, col,
				    "'#' follows a day, e.g. 3#2 (the second "
				    "Tuesday)");
		r = parse_value(fd, s, hpos, &i, col, &n, err);
		if (r < 0)
			return r;
		if (i != hpos)
			return fail(err, fd->name, col + (int)i,
				    "'#' follows a single day, e.g. 3#2 (the "
				    "second Tuesday); it cannot be combined "
				    "with lists or ranges");
		i = hpos + 1;
		if (i >= len || !isdigit((unsigned char)s[i]))
			return fail(err, fd->name, col + (int)i,
				    "'#' needs a week number 1-5 after it, "
				    "e.g. 3#2");
		k = s[i] - '0';
		if (k < 1 || k > 5 || (i + 1 < len &&
				       isdigit((unsigned char)s[i + 1])))
			return fail(err, fd->name, col + (int)i,
				    "the week number after '#' must be 1-5");
		if (i + 1 != len)
			return fail(err, fd->name, col + (int)i + 1,
				    "'#' stands alone in day-of-week: one n#k, "
				    "no lists or ranges");
		c->dow_kind = DOW_NTH;
		c->dow_n = n;
		c->dow_k = k;
		return 1;
	}
	return 0;
}

/* Parse one field (s, len) starting at 1-based column col. */
static int parse_field(int fi, const char *s, size_t len, int col,
		       struct cron *c, struct sched_error *err)
{
	const struct field_def *fd = &fields[fi];
	struct bits *b = &c->f[fi];
	size_t i = 0, j;
	int r, step_max = fd->max;

	for (j = 0; j < len; j++) {
		char ch = s[j];

		if (isdigit((unsigned char)ch))
			continue;
		if (isalpha((unsigned char)ch) &&
		    (fd->names || strchr(fd->allowed, toupper((unsigned char)ch))))
			continue;
		if (!strchr(fd->allowed, ch) || isalpha((unsigned char)ch))
			return fail(err, fd->name, col + (int)j,
				    "'%c' is not allowed in %s (allowed: "
				    "digits%s, and %s)", ch, fd->name,
				    fd->names ? " or names" : "", fd->allowed);
	}
	if (len == 1 && s[0] == '?') {
		if (fi == F_DOM)
			c->dom_kind = DOM_ANY;
		else
			c->dow_kind = DOW_ANY;
		return 0;
	}
	if (fi == F_DOM || fi == F_DOW) {
		const char *q = memchr(s, '?', len);

		if (q)
			return fail(err, fd->name, col + (int)(q - s),
				    "'?' stands alone in its field");
		r = parse_day_special(fi, s, len, col, c, err);
		if (r != 0)
			return r < 0 ? r : 0;
		/* what is left may not use L, W or # (a day name followed
		 * by L, as in MON,FRIL, is caught item by item below) */
		for (j = 0; j < len; j++) {
			int up = toupper((unsigned char)s[j]);
			int after_name = j > 0 && isalpha((unsigned char)s[j - 1]);

			if ((fi == F_DOM && (up == 'L' || up == 'W')) ||
			    (fi == F_DOW && up == 'L' && !after_name) ||
			    (fi == F_DOW && up == '#'))
				return fail(err, fd->name, col + (int)j,
					    "'%c' must stand alone in %s (e.g. "
					    "%s): it cannot be part of a list, "
					    "range or increment", s[j], fd->name,
					    fi == F_DOM ? "L, LW or 15W" :
					    "L, 6L or 3#2");
		}
		if (fi == F_DOM)
			c->dom_kind = DOM_SET;
		else
			c->dow_kind = DOW_SET;
	}
	while (i <= len) {
		int lo, hi, step = 1, star = 0, range = 0;
		size_t item = i;

		if (i < len && s[i] == '*') {
			lo = fd->min;
			hi = fd->max;
			star = 1;
			i++;
		} else {
			r = parse_value(fd, s, len, &i, col, &lo, err);
			if (r < 0)
				return r;
			hi = lo;
			if (i < len && s[i] == '-') {
				range = 1;
				i++;
				r = parse_value(fd, s, len, &i, col, &hi, err);
				if (r < 0)
					return r;
				if (fi == F_YEAR && hi < lo)
					return fail(err, fd->name,
						    col + (int)item,
						    "the year range %d-%d ends "
						    "before it starts", lo, hi);
			}
		}
		if (i < len && s[i] == '/') {
			size_t sp = ++i;
			long v = 0;

			while (i < len && isdigit((unsigned char)s[i]) &&
			       i - sp < NUMBER_DIGITS_MAX)
				v = v * 10 + (s[i++] - '0');
			if (i == sp)
				return fail(err, fd->name, col + (int)sp,
					    "'/' needs an increment after it, "
					    "e.g. 0/15");
			if (v < 1 || v > step_max)
				return fail(err, fd->name, col + (int)sp,
					    "the increment %ld is out of range "
					    "1-%d", v, step_max);
			step = (int)v;
			if (!star && !range)
				hi = fd->max; /* a/s: from a to the end */
		}
		if (i < len && s[i] != ',') {
			char ch = s[i];

			if (ch == 'L' || ch == 'l' || ch == 'W' || ch == 'w' ||
			    ch == '#')
				return fail(err, fd->name, col + (int)i,
					    "'%c' must stand alone in %s (e.g. "
					    "%s); it cannot follow a list, "
					    "range or increment", ch, fd->name,
					    fi == F_DOM ? "L, LW or 15W" :
					    "6L or 3#2");
			return fail(err, fd->name, col + (int)i,
				    "unexpected '%c'", ch);
		}
		add_range(b, fd, lo, hi, step);
		if (i == len)
			break;
		i++; /* ',' */
		if (i == len)
			return fail(err, fd->name, col + (int)i,
				    "a value is missing after ','");
	}
	return 0;
}

static int parse_cron(const char *expr, size_t body, size_t end,
		      struct cron *c, struct sched_error *err)
{
	size_t tok_start[F_COUNT + 1], tok_len[F_COUNT + 1];
	size_t i = body;
	int n = 0, fi, r;

	memset(c, 0, sizeof(*c));
	while (i < end) {
		while (i < end && is_blank(expr[i]))
			i++;
		if (i >= end)
			break;
		if (n == F_COUNT)
			return fail(err, "expression", (int)i + 1,
				    "cron() takes 6 fields (minutes hours "
				    "day-of-month month day-of-week year); "
				    "this is a 7th");
		tok_start[n] = i;
		while (i < end && !is_blank(expr[i]))
			i++;
		tok_len[n] = i - tok_start[n];
		n++;
	}
	if (n < F_COUNT)
		return fail(err, "expression", (int)end + 1,
			    "cron() takes 6 fields (minutes hours day-of-month "
			    "month day-of-week year), found %d", n);
	for (fi = 0; fi < F_COUNT; fi++) {
		r = parse_field(fi, expr + tok_start[fi], tok_len[fi],
				(int)tok_start[fi] + 1, c, err);
		if (r < 0)
			return r;
	}
	if (c->dom_kind == DOM_ANY && c->dow_kind == DOW_ANY)
		return fail(err, "day-of-week", (int)tok_start[F_DOW] + 1,
			    "'?' in both day-of-month and day-of-week: use a "
			    "value or * in one of them");
	if (c->dom_kind != DOM_ANY && c->dow_kind != DOW_ANY) {
		if (tok_len[F_DOM] == 1 && expr[tok_start[F_DOM]] == '*')
			return fail(err, "day-of-month",
				    (int)tok_start[F_DOM] + 1,
				    "one of day-of-month and day-of-week must "
				    "be '?': use ? here when day-of-week is "
				    "given, e.g. cron(0 9 ? * MON-FRI *)");
		return fail(err, "day-of-week", (int)tok_start[F_DOW] + 1,
			    "one of day-of-month and day-of-week must be '?': "
			    "use ? here when day-of-month is given, e.g. "
			    "cron(0 9 1 * ? *)");
	}
	/* day masks for the plain day fields */
	for (n = 1; n <= 31; n++) {
		if (bits_test(&c->f[F_DOM], n - 1))
			c->dom_mask |= UINT32_C(1) << n;
		for (fi = 0; fi < 7; fi++) /* fi: weekday of the 1st */
			if (bits_test(&c->f[F_DOW], (fi + n - 1) % 7))
				c->dow_mask[fi] |= UINT32_C(1) << n;
	}
	for (fi = 0; fi < F_COUNT; fi++)
		if ((fi != F_DOM || c->dom_kind == DOM_SET) &&
		    (fi != F_DOW || c->dow_kind == DOW_SET) &&
		    bits_empty(&c->f[fi]))
			return fail(err, fields[fi].name,
				    (int)tok_start[fi] + 1, "no values");
	return 0;
}

static int parse_rate(const char *expr, size_t body, size_t end, long *period,
		      struct sched_error *err)
{
	static const struct {
		const char *one, *many;
		long secs;
	} units[] = {
		{ "minute", "minutes", SECS_PER_MIN },
		{ "hour", "hours", SECS_PER_HOUR },
		{ "day", "days", SECS_PER_DAY },
	};
	size_t i = body, vstart, ustart, ulen;
	long v = 0;
	size_t k;

	while (i < end && is_blank(expr[i]))
		i++;
	vstart = i;
	while (i < end && isdigit((unsigned char)expr[i])) {
		if (i - vstart >= NUMBER_DIGITS_MAX + 1)
			return fail(err, "value", (int)vstart + 1,
				    "the rate value is too large");
		v = v * 10 + (expr[i] - '0');
		i++;
	}
	if (i == vstart)
		return fail(err, "value", (int)vstart + 1,
			    "rate() starts with a whole number, e.g. "
			    "rate(5 minutes)");
	if (v < 1)
		return fail(err, "value", (int)vstart + 1,
			    "the rate value must be at least 1");
	if (v > RATE_VALUE_MAX)
		return fail(err, "value", (int)vstart + 1,
			    "the rate value is too large");
	if (i < end && !is_blank(expr[i]))
		return fail(err, "value", (int)i + 1,
			    "a blank and a unit follow the number, e.g. "
			    "rate(5 minutes)");
	while (i < end && is_blank(expr[i]))
		i++;
	ustart = i;
	while (i < end && !is_blank(expr[i]))
		i++;
	ulen = i - ustart;
	while (i < end && is_blank(expr[i]))
		i++;
	if (ulen == 0)
		return fail(err, "unit", (int)ustart + 1,
			    "a unit is missing: minute(s), hour(s) or day(s)");
	if (i != end)
		return fail(err, "expression", (int)i + 1,
			    "rate() takes a number and a unit, nothing more");
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		int one = strlen(units[k].one) == ulen &&
			  !memcmp(expr + ustart, units[k].one, ulen);
		int many = strlen(units[k].many) == ulen &&
			   !memcmp(expr + ustart, units[k].many, ulen);

		if (!one && !many)
			continue;
		if (one && v != 1)
			return fail(err, "unit", (int)ustart + 1,
				    "use '%s' with %ld, '%s' only with 1",
				    units[k].many, v, units[k].one);
		if (many && v == 1)
			return fail(err, "unit", (int)ustart + 1,
				    "use '%s' with 1, '%s' with larger values",
				    units[k].one, units[k].many);
		*period = v * units[k].secs;
		return 0;
	}
	return fail(err, "unit", (int)ustart + 1,
		    "unknown unit '%.*s': use minute|minutes|hour|hours|"
		    "day|days", (int)(ulen > 20 ? 20 : ulen), expr + ustart);
}

int sched_parse(const char *expr, const char *tz, struct sched **out,
		struct sched_error *err)
{
	struct sched *s = NULL;
	size_t len, start = 0, end;
	int r;

	if (!expr)
		return fail(err, "expression", 0, "no schedule expression");
	len = strlen(expr);
	while (start < len && isspace((unsigned char)expr[start]))
		start++;
	end = len;
	while (end > start && isspace((unsigned char)expr[end - 1]))
		end--;
	if (end == start)
		return fail(err, "expression", 1,
			    "empty schedule expression: use rate(N unit) or "
			    "cron(minutes hours day-of-month month "
			    "day-of-week year)");
	if (expr[end - 1] != ')' ||
	    (strncmp(expr + start, "rate(", 5) && strncmp(expr + start, "cron(", 5))) {
		if (strncmp(expr + start, "rate(", 5) &&
		    strncmp(expr + start, "cron(", 5))
			return fail(err, "expression", (int)start + 1,
				    "a schedule is rate(N unit) or cron(minutes "
				    "hours day-of-month month day-of-week year)");
		return fail(err, "expression", (int)end + 1,
			    "the expression must end with ')'");
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (expr[start] == 'r') {
		s->kind = SCHED_RATE;
		r = parse_rate(expr, start + 5, end - 1, &s->period, err);
	} else {
		s->kind = SCHED_CRON;
		if (memchr(expr + start + 5, ')', end - 1 - (start + 5)) ||
		    memchr(expr + start + 5, '(', end - 1 - (start + 5))) {
			const char *p = strpbrk(expr + start + 5, "()");

			r = fail(err, "expression", (int)(p - expr) + 1,
				 "unexpected parenthesis");
		} else {
			r = parse_cron(expr, start + 5, end - 1, &s->cron, err);
		}
	}
	if (r < 0)
		goto cleanup;
	if (tz && *tz) {
		r = sched_tz_load(tz, &s->tz);
		if (r == -ENOMEM)
			goto cleanup;
		if (r < 0) {
			r = fail(err, "timezone", 0,
				 "unknown time zone '%.64s': use an IANA name "
				 "such as Europe/Berlin or America/New_York",
				 tz);
			goto cleanup;
		}
	}
	*out = s;
	s = NULL;
	r = 0;
cleanup:
	sched_free(s);
	return r;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sched_tz_free(s->tz);
	free(s);
}

enum sched_kind sched_kind(const struct sched *s)
{
	return s->kind;
}

long sched_rate_seconds(const struct sched *s)
{
	return s->kind == SCHED_RATE ? s->period : 0;
}

const char *sched_timezone(const struct sched *s)
{
	return sched_tz_name(s->tz);
}

int sched_next(const struct sched *s, time_t after, time_t *out)
{
	if (s->kind == SCHED_RATE) {
		if ((int64_t)after > INT64_MAX - s->period)
			return -ENOENT;
		*out = after + s->period;
		return 0;
	}
	return cron_next(s, after, out);
}

int sched_prev(const struct sched *s, time_t since, time_t at, time_t *out)
{
	time_t t;
	int r;

	if (at <= since)
		return -ENOENT;
	if (s->kind == SCHED_RATE) {
		int64_t k = ((int64_t)at - (int64_t)since) / s->period;

		if (k < 1)
			return -ENOENT;
		*out = since + (time_t)(k * s->period);
		return 0;
	}
	r = cron_prev(s, at, &t);
	if (r < 0)
		return r;
	if (t <= since)
		return -ENOENT;
	*out = t;
	return 0;
}

/* ---- ISO-8601 times ---------------------------------------------------- */

void sched_format_utc(time_t t, char *buf, size_t len)
{
	int64_t days = floor_div((int64_t)t, SECS_PER_DAY), y;
	int64_t rem = (int64_t)t - days * SECS_PER_DAY;
	int m, d;

	if (!buf || len == 0)
		return;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y,
		 m, d, (int)(rem / SECS_PER_HOUR),
		 (int)(rem % SECS_PER_HOUR / SECS_PER_MIN),
		 (int)(rem % SECS_PER_MIN));
}

/* Exactly n digits at *p; advances. -1 if not there. */
static int take_digits(const char **p, int n)
{
	int v = 0, k;

	for (k = 0; k < n; k++) {
		if (!isdigit((unsigned char)(*p)[k]))
			return -1;
		v = v * 10 + ((*p)[k] - '0');
	}
	*p += n;
	return v;
}

int sched_parse_time(const char *s, time_t *out)
{
	const char *p = s;
	int y, mo, d, h, mi, sec = 0, oh, om, sign;
	int64_t t, off = 0;

	if (!s)
		return -EINVAL;
	if (*p == '@') {
		char *e;
		long long v;

		p++;
		if (!*p || isspace((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoll(p, &e, 10);
		if (errno || *e || e == p)
			return -EINVAL;
		*out = (time_t)v;
		return 0;
	}
	if ((y = take_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (mo = take_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (d = take_digits(&p, 2)) < 0)
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if ((h = take_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (mi = take_digits(&p, 2)) < 0)
		return -EINVAL;
	if (*p == ':') {
		p++;
		if ((sec = take_digits(&p, 2)) < 0)
			return -EINVAL;
		if (*p == '.') { /* fractions of a second are dropped */
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return -EINVAL;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if ((oh = take_digits(&p, 2)) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if ((om = take_digits(&p, 2)) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * SECS_PER_HOUR + om * SECS_PER_MIN);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = days_from_civil(y, mo, d) * SECS_PER_DAY + h * SECS_PER_HOUR +
	    mi * SECS_PER_MIN + sec - off;
	*out = (time_t)t;
	return 0;
}
