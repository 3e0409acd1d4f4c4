/* schedule_time.c - calendar arithmetic for the schedule module, and the
 * ISO-8601 helpers of include/schedule.h.
 *
 * Dates are proleptic Gregorian, counted in days since 1970-01-01 with the
 * usual era/year-of-era decomposition (400-year cycles of 146097 days), so
 * no libc time function (gmtime, timegm, mktime) and no TZ are involved. */
#include "schedule-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int sched_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int sched_month_days(int64_t y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };

	return m == 2 && sched_is_leap(y) ? 29 : days[m - 1];
}

int64_t sched_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void sched_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
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
int sched_weekday(int64_t y, int m, int d)
{
	int64_t z = sched_days_from_civil(y, m, d);
	int64_t w = (z + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

int64_t sched_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void sched_format_utc(time_t t, char *buf, size_t len)
{
	int64_t days = sched_floor_div((int64_t)t, SECS_PER_DAY), y;
	int64_t rem = (int64_t)t - days * SECS_PER_DAY;
	int m, d;

	if (!buf || len == 0)
		return;
	sched_civil_from_days(days, &y, &m, &d);
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
	if (mo < 1 || mo > 12 || d < 1 || d > sched_month_days(y, mo) ||
	    h > 23 ||
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
	t = sched_days_from_civil(y, mo, d) * SECS_PER_DAY + h * SECS_PER_HOUR +
	    mi * SECS_PER_MIN + sec - off;
	*out = (time_t)t;
	return 0;
}
