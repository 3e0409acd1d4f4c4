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
#include "schedule-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schedule_tz.h"

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

/* ---- bit sets ---------------------------------------------------------- */

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

/* ---- wall-clock minutes ------------------------------------------------ */

/* Wall-clock seconds ("as if UTC") of a civil minute. */
static int64_t civil_to_secs(const struct civil *c)
{
	return sched_days_from_civil(c->y, c->mo, c->d) * SECS_PER_DAY +
	       c->h * SECS_PER_HOUR + c->mi * SECS_PER_MIN;
}

/* Civil minute containing wall-clock second s. Years are clamped into
 * int range by the callers' bounds (1969..2201). */
static void secs_to_civil(int64_t s, struct civil *c)
{
	int64_t days = sched_floor_div(s, SECS_PER_DAY), y;
	int64_t rem = s - days * SECS_PER_DAY;

	sched_civil_from_days(days, &y, &c->mo, &c->d);
	c->y = (int)y;
	c->h = (int)(rem / SECS_PER_HOUR);
	c->mi = (int)(rem % SECS_PER_HOUR / SECS_PER_MIN);
}

/* ---- day masks ---------------------------------------------------------- */

/* Bit d (1..31) set when day d of (y, m) matches the day fields. */
static uint32_t day_mask(const struct cron *c, int y, int m)
{
	int last = sched_month_days(y, m), d, wd, n;

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
			/* the weekday nearest day n, within the month */
			wd = sched_weekday(y, m, n);
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
	wd = sched_weekday(y, m, 1); /* weekday of the 1st, 0 = SUN */
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

	if (c->y < SCHED_YEAR_MIN)
		civil_set(c, SCHED_YEAR_MIN, 1, 1, 0, 0);
	for (;;) {
		if (c->y > SCHED_YEAR_MAX)
			return -ENOENT;
		if (!bits_test(&cr->f[F_YEAR], c->y - SCHED_YEAR_MIN)) {
			v = bits_next(&cr->f[F_YEAR], c->y - SCHED_YEAR_MIN,
				      SCHED_YEAR_MAX - SCHED_YEAR_MIN);
			if (v < 0)
				return -ENOENT;
			civil_set(c, v + SCHED_YEAR_MIN, 1, 1, 0, 0);
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

	if (c->y > SCHED_YEAR_MAX)
		civil_set(c, SCHED_YEAR_MAX, 12, 31, 23, 59);
	for (;;) {
		if (c->y < SCHED_YEAR_MIN)
			return -ENOENT;
		if (!bits_test(&cr->f[F_YEAR], c->y - SCHED_YEAR_MIN)) {
			v = bits_prev(&cr->f[F_YEAR], c->y - SCHED_YEAR_MIN);
			if (v < 0)
				return -ENOENT;
			civil_set(c, v + SCHED_YEAR_MIN, 12, 31, 23, 59);
		}
		v = bits_prev(&cr->f[F_MON], c->mo - 1);
		if (v < 0) {
			civil_set(c, c->y - 1, 12, 31, 23, 59);
			continue;
		}
		if (v + 1 != c->mo)
			civil_set(c, c->y, v + 1, sched_month_days(c->y, v + 1),
				  23, 59);
		mask = day_mask(cr, c->y, c->mo);
		v = mask_prev(mask, c->d);
		if (v < 1) {
			if (c->mo == 1)
				civil_set(c, c->y - 1, 12, 31, 23, 59);
			else
				civil_set(c, c->y, c->mo - 1,
					  sched_month_days(c->y, c->mo - 1),
					  23, 59);
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
	w = sched_floor_div(w, SECS_PER_MIN) * SECS_PER_MIN + SECS_PER_MIN;
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
	w = sched_floor_div(w, SECS_PER_MIN) * SECS_PER_MIN;
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

int sched_parse(const char *expr, const char *tz, struct sched **out,
		struct sched_error *err)
{
	struct sched *s = NULL;
	size_t len, start = 0, end;
	int r, is_rate;

	if (!expr)
		return sched_fail(err, "expression", 0,
				  "no schedule expression");
	len = strlen(expr);
	while (start < len && isspace((unsigned char)expr[start]))
		start++;
	end = len;
	while (end > start && isspace((unsigned char)expr[end - 1]))
		end--;
	if (end == start)
		return sched_fail(err, "expression", 1,
				  "empty schedule expression: use rate(N unit) "
				  "or "
				  "cron(minutes hours day-of-month month "
				  "day-of-week year)");
	is_rate = strncmp(expr + start, "rate(", 5) == 0;
	if (!is_rate && strncmp(expr + start, "cron(", 5) != 0)
		return sched_fail(err, "expression", (int)start + 1,
				  "a schedule is rate(N unit) or cron(minutes "
				  "hours day-of-month month day-of-week year)");
	if (expr[end - 1] != ')')
		return sched_fail(err, "expression", (int)end + 1,
				  "the expression must end with ')'");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (is_rate) {
		s->kind = SCHED_RATE;
		r = sched_rate_parse(expr, start + 5, end - 1, &s->period, err);
	} else {
		s->kind = SCHED_CRON;
		if (memchr(expr + start + 5, ')', end - 1 - (start + 5)) ||
		    memchr(expr + start + 5, '(', end - 1 - (start + 5))) {
			const char *p = strpbrk(expr + start + 5, "()");

			r = sched_fail(err, "expression", (int)(p - expr) + 1,
				       "unexpected parenthesis");
		} else {
			r = sched_cron_parse(expr, start + 5, end - 1,
					     &s->cron, err);
		}
	}
	if (r < 0)
		goto cleanup;
	if (tz && *tz) {
		r = sched_tz_load(tz, &s->tz);
		if (r == -ENOMEM)
			goto cleanup;
		if (r < 0) {
			r = sched_fail(err, "timezone", 0,
				       "unknown time zone '%.64s': use an IANA "
				       "name "
				       "such as Europe/Berlin or "
				       "America/New_York",
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
