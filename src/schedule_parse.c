/* schedule_parse.c - the text of EventBridge rate() and cron() expressions,
 * turned into struct cron / a period; the grammar is described at the top
 * of schedule.c. Every error names the field and the 1-based column. */
#include "schedule-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RATE_VALUE_MAX 1000000000L /* a sanity bound; overflow-free */
#define NUMBER_DIGITS_MAX 9

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
	[F_YEAR] = { "year", SCHED_YEAR_MIN, SCHED_YEAR_MAX, NULL, ",-*/" },
};

/* ---- errors ------------------------------------------------------------ */

int sched_fail(struct sched_error *err, const char *field, int column,
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
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	return -EINVAL;
}

/* ---- fields ------------------------------------------------------------ */

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* How a field's values are written, for messages: "0-59", "1-12 or
 * JAN-DEC". */
static const char *names_hint(const struct field_def *fd)
{
	if (fd->names == month_names)
		return " or JAN-DEC";
	if (fd->names == day_names)
		return " or SUN-SAT";
	return "";
}

/* A number or a 3-letter name of field fd at s[*i]; advances *i. */
static int parse_value(const struct field_def *fd, const char *s, size_t len,
		       size_t *i, int col0, int *out, struct sched_error *err)
{
	size_t start = *i, n = 0;
	int col = col0 + (int)start;
	long v = 0;
	int k;

	if (*i < len && isdigit((unsigned char)s[*i])) {
		while (*i < len && isdigit((unsigned char)s[*i])) {
			if (++n > NUMBER_DIGITS_MAX)
				return sched_fail(err, fd->name, col,
						  "number too long");
			v = v * 10 + (s[*i] - '0');
			(*i)++;
		}
		if (v < fd->min || v > fd->max)
			return sched_fail(err, fd->name, col,
					  "%ld is out of range: %s takes "
					  "%d-%d%s", v, fd->name, fd->min,
					  fd->max, names_hint(fd));
		*out = (int)v;
		return 0;
	}
	if (*i < len && isalpha((unsigned char)s[*i])) {
		const char *const *nm = fd->names;

		while (*i < len && isalpha((unsigned char)s[*i]))
			(*i)++;
		n = *i - start;
		/* a day name may be followed directly by L (FRIL) */
		if (n == 4 && nm == day_names &&
		    toupper((unsigned char)s[start + 3]) == 'L')
			n = 3;
		for (k = 0; nm && n == 3 && nm[k]; k++)
			if (strncasecmp(s + start, nm[k], 3) == 0) {
				*i = start + 3;
				*out = fd->min + k;
				return 0;
			}
		n = *i - start;
		if (!nm)
			return sched_fail(err, fd->name, col, "unknown name "
					  "'%.*s': %s takes numbers only",
					  (int)(n > 20 ? 20 : n), s + start,
					  fd->name);
		return sched_fail(err, fd->name, col, "unknown name '%.*s': "
				  "use %d-%d%s", (int)(n > 20 ? 20 : n),
				  s + start, fd->min, fd->max,
				  names_hint(fd));
	}
	if (*i >= len)
		return sched_fail(err, fd->name, col,
				  "a value is missing at the end of the field");
	return sched_fail(err, fd->name, col,
			  "expected a value, found '%c'", s[*i]);
}

/* Every s-th value of a..b (wrapping past the field's end when a > b). */
static void add_range(struct bits *b, const struct field_def *fd, int lo,
		      int hi, int step)
{
	int width = fd->max - fd->min + 1;
	int count = hi >= lo ? hi - lo + 1
			     : (fd->max - lo + 1) + (hi - fd->min + 1);
	int k;

	for (k = 0; k < count; k += step)
		bits_set(b, (lo - fd->min + k) % width);
}

/* The special day forms that stand alone: L, LW, L-n, L-nW, nW
 * (day-of-month) and L, nL, n#k (day-of-week). Returns 1 if handled, 0 if
 * not one of them, or -EINVAL. */
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

				while (i < len && i - ds < 3 &&
				       isdigit((unsigned char)s[i]))
					n = n * 10 + (s[i++] - '0');
				if (i == ds || n > 30)
					return sched_fail(
						err, fd->name, col + (int)ds,
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
				return sched_fail(err, fd->name, col + (int)i,
						  "unexpected '%c': after L "
						  "comes "
						  "nothing, W, -n or -nW (L, "
						  "LW, L-2, "
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
				return sched_fail(err, fd->name, col + (int)i,
						  "W follows a single day, "
						  "e.g. 15W "
						  "(the weekday nearest the "
						  "15th)");
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
			return sched_fail(err, fd->name, col + (int)i,
					  "L follows a single day, e.g. 6L "
					  "(the last "
					  "Friday of the month)");
		c->dow_kind = DOW_LAST;
		c->dow_n = n;
		return 1;
	}
	if (memchr(s, '#', len)) {
		const char *hash = memchr(s, '#', len);
		size_t hpos = (size_t)(hash - s);

		if (hpos == 0)
			return sched_fail(err, fd->name, col,
					  "'#' follows a day, e.g. 3#2 (the "
					  "second "
					  "Tuesday)");
		r = parse_value(fd, s, hpos, &i, col, &n, err);
		if (r < 0)
			return r;
		if (i != hpos)
			return sched_fail(err, fd->name, col + (int)i,
					  "'#' follows a single day, e.g. 3#2 "
					  "(the "
					  "second Tuesday); it cannot be "
					  "combined "
					  "with lists or ranges");
		i = hpos + 1;
		if (i >= len || !isdigit((unsigned char)s[i]))
			return sched_fail(err, fd->name, col + (int)i,
					  "'#' needs a week number 1-5 after "
					  "it, "
					  "e.g. 3#2");
		k = s[i] - '0';
		if (k < 1 || k > 5 || (i + 1 < len &&
				       isdigit((unsigned char)s[i + 1])))
			return sched_fail(err, fd->name, col + (int)i,
					  "the week number after '#' must be "
					  "1-5");
		if (i + 1 != len)
			return sched_fail(err, fd->name, col + (int)i + 1,
					  "'#' stands alone in day-of-week: "
					  "one n#k, "
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
		    (fd->names ||
		     strchr(fd->allowed, toupper((unsigned char)ch))))
			continue;
		if (!strchr(fd->allowed, ch) || isalpha((unsigned char)ch))
			return sched_fail(err, fd->name, col + (int)j,
					  "'%c' is not allowed in %s (allowed: "
					  "digits%s, and %s)", ch, fd->name,
					  fd->names ? " or names" : "",
					  fd->allowed);
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
			return sched_fail(err, fd->name, col + (int)(q - s),
					  "'?' stands alone in its field");
		r = parse_day_special(fi, s, len, col, c, err);
		if (r != 0)
			return r < 0 ? r : 0;
		/* what is left may not use L, W or # (a day name followed
		 * by L, as in MON,FRIL, is caught item by item below) */
		for (j = 0; j < len; j++) {
			int up = toupper((unsigned char)s[j]);
			int after_name = j > 0 &&
					 isalpha((unsigned char)s[j - 1]);

			if ((fi == F_DOM && (up == 'L' || up == 'W')) ||
			    (fi == F_DOW && up == 'L' && !after_name) ||
			    (fi == F_DOW && up == '#'))
				return sched_fail(err, fd->name, col + (int)j,
						  "'%c' must stand alone in %s "
						  "(e.g. "
						  "%s): it cannot be part of a "
						  "list, "
						  "range or "
						  "increment", s[j], fd->name,
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
					return sched_fail(err, fd->name,
							  col + (int)item,
							  "the year range "
							  "%d-%d ends "
							  "before it "
							  "starts", lo, hi);
			}
		}
		if (i < len && s[i] == '/') {
			size_t sp = ++i;
			long v = 0;

			while (i < len && isdigit((unsigned char)s[i]) &&
			       i - sp < NUMBER_DIGITS_MAX)
				v = v * 10 + (s[i++] - '0');
			if (i == sp)
				return sched_fail(err, fd->name, col + (int)sp,
						  "'/' needs an increment "
						  "after it, "
						  "e.g. 0/15");
			if (v < 1 || v > step_max)
				return sched_fail(err, fd->name, col + (int)sp,
						  "the increment %ld is out of "
						  "range "
						  "1-%d", v, step_max);
			step = (int)v;
			if (!star && !range)
				hi = fd->max; /* a/s: from a to the end */
		}
		if (i < len && s[i] != ',') {
			char ch = s[i];

			if (ch == 'L' || ch == 'l' || ch == 'W' || ch == 'w' ||
			    ch == '#')
				return sched_fail(err, fd->name, col + (int)i,
						  "'%c' must stand alone in %s "
						  "(e.g. "
						  "%s); it cannot follow a "
						  "list, "
						  "range or "
						  "increment", ch, fd->name,
						  fi == F_DOM ? "L, LW or 15W" :
						  "6L or 3#2");
			return sched_fail(err, fd->name, col + (int)i,
					  "unexpected '%c'", ch);
		}
		add_range(b, fd, lo, hi, step);
		if (i == len)
			break;
		i++; /* ',' */
		if (i == len)
			return sched_fail(err, fd->name, col + (int)i,
					  "a value is missing after ','");
	}
	return 0;
}

int sched_cron_parse(const char *expr, size_t body, size_t end,
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
			return sched_fail(err, "expression", (int)i + 1,
					  "cron() takes 6 fields (minutes "
					  "hours "
					  "day-of-month month day-of-week "
					  "year); "
					  "this is a 7th");
		tok_start[n] = i;
		while (i < end && !is_blank(expr[i]))
			i++;
		tok_len[n] = i - tok_start[n];
		n++;
	}
	if (n < F_COUNT)
		return sched_fail(err, "expression", (int)end + 1,
				  "cron() takes 6 fields (minutes hours "
				  "day-of-month "
				  "month day-of-week year), found %d", n);
	for (fi = 0; fi < F_COUNT; fi++) {
		r = parse_field(fi, expr + tok_start[fi], tok_len[fi],
				(int)tok_start[fi] + 1, c, err);
		if (r < 0)
			return r;
	}
	if (c->dom_kind == DOM_ANY && c->dow_kind == DOW_ANY)
		return sched_fail(err, "day-of-week", (int)tok_start[F_DOW] + 1,
				  "'?' in both day-of-month and day-of-week: "
				  "use a "
				  "value or * in one of them");
	if (c->dom_kind != DOM_ANY && c->dow_kind != DOW_ANY) {
		if (tok_len[F_DOM] == 1 && expr[tok_start[F_DOM]] == '*')
			return sched_fail(err, "day-of-month",
					  (int)tok_start[F_DOM] + 1,
					  "one of day-of-month and day-of-week "
					  "must "
					  "be '?': use ? here when day-of-week "
					  "is "
					  "given, e.g. cron(0 9 ? * MON-FRI "
					  "*)");
		return sched_fail(err, "day-of-week", (int)tok_start[F_DOW] + 1,
				  "one of day-of-month and day-of-week must be "
				  "'?': "
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
			return sched_fail(err, fields[fi].name,
					  (int)tok_start[fi] + 1, "no values");
	return 0;
}

int sched_rate_parse(const char *expr, size_t body, size_t end, long *period,
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
			return sched_fail(err, "value", (int)vstart + 1,
					  "the rate value is too large");
		v = v * 10 + (expr[i] - '0');
		i++;
	}
	if (i == vstart)
		return sched_fail(err, "value", (int)vstart + 1,
				  "rate() starts with a whole number, e.g. "
				  "rate(5 minutes)");
	if (v < 1)
		return sched_fail(err, "value", (int)vstart + 1,
				  "the rate value must be at least 1");
	if (v > RATE_VALUE_MAX)
		return sched_fail(err, "value", (int)vstart + 1,
				  "the rate value is too large");
	if (i < end && !is_blank(expr[i]))
		return sched_fail(err, "value", (int)i + 1,
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
		return sched_fail(err, "unit", (int)ustart + 1,
				  "a unit is missing: minute(s), hour(s) or "
				  "day(s)");
	if (i != end)
		return sched_fail(err, "expression", (int)i + 1,
				  "rate() takes a number and a unit, nothing "
				  "more");
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		int one = strlen(units[k].one) == ulen &&
			  !memcmp(expr + ustart, units[k].one, ulen);
		int many = strlen(units[k].many) == ulen &&
			   !memcmp(expr + ustart, units[k].many, ulen);

		if (!one && !many)
			continue;
		if (one && v != 1)
			return sched_fail(err, "unit", (int)ustart + 1,
					  "use '%s' with %ld, '%s' only with 1",
					  units[k].many, v, units[k].one);
		if (many && v == 1)
			return sched_fail(err, "unit", (int)ustart + 1,
					  "use '%s' with 1, '%s' with larger "
					  "values",
					  units[k].one, units[k].many);
		*period = v * units[k].secs;
		return 0;
	}
	return sched_fail(err, "unit", (int)ustart + 1,
			  "unknown unit '%.*s': use minute|minutes|hour|hours|"
			  "day|days", (int)(ulen > 20 ? 20 : ulen),
			  expr + ustart);
}
