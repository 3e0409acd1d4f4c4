/* schedule_tz.c - IANA time zones from compiled TZif files (RFC 8536).
 *
 * Why our own reader instead of glibc's localtime_r()/mktime() under a
 * temporarily set TZ: switching TZ is process-global state (not
 * thread-safe, visible to every other localtime() caller such as log
 * timestamps), glibc re-reads the zone file on each switch (slow in a loop),
 * and mktime() leaves the skipped and repeated hours to tm_isdst guesses.
 * Reading the zone once at parse time gives a pure function "offset at
 * instant t", from which src/schedule.c derives exact rules for skipped
 * and repeated local times. The file's transition table covers the past;
 * its POSIX TZ footer ("CET-1CEST,M3.5.0,M10.5.0/3") gives the rule for
 * every later year, up to the schedule grammar's 2199. */
#include "schedule_tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule-internal.h"

#define TZ_NAME_MAX 255
#define TZ_FILE_MAX (256 * 1024) /* the largest zone today is < 4 KiB */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define HEADER_LEN 44

/* A POSIX TZ rule date: Jn, n or Mm.w.d, plus a local time of day. */
struct tz_rule_date {
	char kind;        /* 'J', 'N' (zero-based day) or 'M' */
	int n, m, w, d;
	long time;        /* seconds after local midnight (may be <0 or >24h) */
};

struct tz_rule {
	int present;      /* a footer rule exists */
	long std_off;     /* seconds east of UTC */
	long dst_off;
	int has_dst;
	struct tz_rule_date start, end;
};

struct sched_tz {
	char name[TZ_NAME_MAX + 1];
	size_t count;     /* transitions */
	int64_t *trans;   /* ascending instants */
	unsigned char *idx;   /* type index per transition */
	long *type_off;   /* offset per type */
	size_t ntypes;
	struct tz_rule rule;
};

/* Calendar year of instant t (seconds since the epoch, "as if UTC"). */
static int64_t tz_year_of(int64_t t)
{
	int64_t y;
	int m, d;

	sched_civil_from_days(sched_floor_div(t, SECS_PER_DAY), &y, &m, &d);
	return y;
}

/* ---- POSIX TZ strings (the TZif footer) ------------------------------- */

static const char *parse_tz_name(const char *p)
{
	const char *s = p;

	if (*p == '<') {
		p++;
		while (*p && *p != '>')
			p++;
		return *p == '>' && p - s >= 4 ? p + 1 : NULL;
	}
	while (isalpha((unsigned char)*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to max_h; seconds into *out. */
static const char *parse_hms(const char *p, int max_h, long *out)
{
	long sign = 1, h = 0, m = 0, s = 0;
	int n = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	while (isdigit((unsigned char)*p) && n < 3) {
		h = h * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || h > max_h)
		return NULL;
	if (*p == ':') {
		p++;
		if (!isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]))
			return NULL;
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':') {
			p++;
			if (!isdigit((unsigned char)p[0]) ||
			    !isdigit((unsigned char)p[1]))
				return NULL;
			s = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
	}
	if (m > 59 || s > 59)
		return NULL;
	*out = sign * (h * SECS_PER_HOUR + m * 60 + s);
	return p;
}

static const char *parse_int(const char *p, int lo, int hi, int *out)
{
	int v = 0, n = 0;

	while (isdigit((unsigned char)*p) && n < 4) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

static const char *parse_rule_date(const char *p, struct tz_rule_date *rd)
{
	rd->time = 2 * SECS_PER_HOUR;
	if (*p == 'J') {
		rd->kind = 'J';
		p = parse_int(p + 1, 1, 365, &rd->n);
	} else if (*p == 'M') {
		rd->kind = 'M';
		p = parse_int(p + 1, 1, 12, &rd->m);
		if (p && *p == '.')
			p = parse_int(p + 1, 1, 5, &rd->w);
		else
			p = NULL;
		if (p && *p == '.')
			p = parse_int(p + 1, 0, 6, &rd->d);
		else
			p = NULL;
	} else {
		rd->kind = 'N';
		p = parse_int(p, 0, 365, &rd->n);
	}
	if (p && *p == '/')
		p = parse_hms(p + 1, 167, &rd->time);
	return p;
}

/* 0, or -EINVAL for a footer we do not understand. */
static int parse_posix_tz(const char *p, struct tz_rule *r)
{
	long off;

	memset(r, 0, sizeof(*r));
	if (!*p)
		return 0; /* empty footer: no rule */
	p = parse_tz_name(p);
	if (!p || !(p = parse_hms(p, 24, &off)))
		return -EINVAL;
	r->std_off = -off;
	r->present = 1;
	if (!*p)
		return 0;
	p = parse_tz_name(p);
	if (!p)
		return -EINVAL;
	r->has_dst = 1;
	r->dst_off = r->std_off + SECS_PER_HOUR;
	if (*p && *p != ',') {
		p = parse_hms(p, 24, &off);
		if (!p)
			return -EINVAL;
		r->dst_off = -off;
	}
	if (!*p) {
		/* POSIX leaves the default rule to the implementation; glibc
		 * and tzcode use the US rule. TZif footers always spell it. */
		p = ",M3.2.0,M11.1.0";
	}
	if (*p != ',' || !(p = parse_rule_date(p + 1, &r->start)) ||
	    *p != ',' ||
	    !(p = parse_rule_date(p + 1, &r->end)) || *p)
		return -EINVAL;
	return 0;
}

/* Local day (days since the epoch) of a rule date in year y. */
static int64_t rule_day(const struct tz_rule_date *rd, int64_t y)
{
	int64_t jan1 = sched_days_from_civil(y, 1, 1), first;
	int wd, d;

	switch (rd->kind) {
	case 'J':
		return jan1 + rd->n - 1 + (sched_is_leap(y) && rd->n >= 60);
	case 'N':
		return jan1 + rd->n;
	default:
		first = sched_days_from_civil(y, rd->m, 1);
		wd = (int)(((first + 4) % 7 + 7) % 7);
		d = (rd->d - wd + 7) % 7 + 7 * (rd->w - 1);
		while (d >= sched_month_days(y, rd->m))
			d -= 7;
		return first + d;
	}
}

static long rule_offset(const struct tz_rule *r, int64_t t)
{
	int64_t y, start, end;

	if (!r->has_dst)
		return r->std_off;
	y = tz_year_of(t + r->std_off);
	start = rule_day(&r->start, y) * SECS_PER_DAY + r->start.time -
		r->std_off;
	end = rule_day(&r->end, y) * SECS_PER_DAY + r->end.time - r->dst_off;
	if (start < end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	return t >= end && t < start ? r->std_off : r->dst_off;
}

/* ---- TZif ------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	size_t isut, isstd, leap, time, type, chars;
};

static int read_header(const unsigned char *p, size_t len,
		       struct tzif_counts *c)
{
	if (len < HEADER_LEN || memcmp(p, "TZif", 4) != 0)
		return -EINVAL;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	/* Zones with leap seconds ("right/...") count TAI-like seconds:
	 * not a civil time zone EventBridge would accept either. */
	if (c->type == 0 || c->type > 256 || c->time > 100000 ||
	    c->leap != 0 || c->chars > 100000 || c->isut > 256 ||
	    c->isstd > 256)
		return -EINVAL;
	return 0;
}

static size_t block_len(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars +
	       c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int parse_tzif(const unsigned char *buf, size_t len, struct sched_tz *tz)
{
	struct tzif_counts c;
	const unsigned char *p = buf;
	size_t tsize = 4, i, rest;
	char footer[256];
	int r;

	r = read_header(p, len, &c);
	if (r < 0)
		return r;
	if (buf[4] >= '2') {
		size_t skip = HEADER_LEN + block_len(&c, 4);

		if (skip > len)
			return -EINVAL;
		p += skip;
		len -= skip;
		r = read_header(p, len, &c);
		if (r < 0)
			return r;
		tsize = 8;
	}
	if (HEADER_LEN + block_len(&c, tsize) > len)
		return -EINVAL;
	p += HEADER_LEN;
	len -= HEADER_LEN;
	tz->count = c.time;
	tz->ntypes = c.type;
	tz->trans = calloc(c.time ? c.time : 1, sizeof(*tz->trans));
	tz->idx = calloc(c.time ? c.time : 1, 1);
	tz->type_off = calloc(c.type, sizeof(*tz->type_off));
	if (!tz->trans || !tz->idx || !tz->type_off)
		return -ENOMEM;
	for (i = 0; i < c.time; i++) {
		tz->trans[i] = tsize == 8 ? be64(p + i * 8)
					  : (int32_t)be32(p + i * 4);
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
			return -EINVAL;
	}
	p += c.time * tsize;
	for (i = 0; i < c.time; i++) {
		tz->idx[i] = p[i];
		if (p[i] >= c.type)
			return -EINVAL;
	}
	p += c.time;
	for (i = 0; i < c.type; i++) {
		int32_t off = (int32_t)be32(p + i * 6);

		if (off < -25 * SECS_PER_HOUR || off > 26 * SECS_PER_HOUR)
			return -EINVAL;
		tz->type_off[i] = off;
	}
	rest = block_len(&c, tsize) - c.time * tsize - c.time - c.type * 6;
	p += c.type * 6 + rest;
	len -= block_len(&c, tsize);
	memset(&tz->rule, 0, sizeof(tz->rule));
	if (tsize == 8 && len >= 2 && p[0] == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n', len - 1);
		size_t flen;

		if (!nl)
			return -EINVAL;
		flen = (size_t)(nl - p - 1);
		if (flen >= sizeof(footer))
			return -EINVAL;
		memcpy(footer, p + 1, flen);
		footer[flen] = '\0';
		r = parse_posix_tz(footer, &tz->rule);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Names as in the tz database: letters, digits, '.', '_', '+', '-' in
 * '/'-separated parts, none of them empty, "." or "..". */
static int valid_name(const char *name)
{
	size_t len = strlen(name), i, part = 0;

	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/')
		return 0;
	for (i = 0; i <= len; i++) {
		char ch = name[i];

		if (ch == '/' || ch == '\0') {
			if (part == 0 || (part == 1 && name[i - 1] == '.') ||
			    (part == 2 && name[i - 1] == '.' &&
			     name[i - 2] == '.'))
				return 0;
			part = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && !strchr("._+-", ch))
			return 0;
		part++;
	}
	return 1;
}

int sched_tz_from_tzif(const char *name, const void *data, size_t len,
		       struct sched_tz **out)
{
	struct sched_tz *tz;
	int r;

	if (!name || strlen(name) > TZ_NAME_MAX || !data)
		return -EINVAL;
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		return -ENOMEM;
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	r = parse_tzif(data, len, tz);
	if (r < 0) {
		sched_tz_free(tz);
		return r;
	}
	*out = tz;
	return 0;
}

int sched_tz_load(const char *name, struct sched_tz **out)
{
	struct sched_tz *tz = NULL;
	unsigned char *buf = NULL;
	const char *dir;
	char path[4096];
	FILE *f = NULL;
	size_t len;
	int r;

	if (!name || !valid_name(name))
		return -EINVAL;
	dir = secure_getenv("TZDIR");
	if (!dir || !*dir)
		dir = TZ_DEFAULT_DIR;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -EINVAL;
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		return -ENOMEM;
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	f = fopen(path, "rb");
	if (!f) {
		r = errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EINVAL;
		/* without a tz database, UTC is still UTC */
		if (r == -ENOENT &&
		    (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))) {
			tz->type_off = calloc(1, sizeof(*tz->type_off));
			tz->ntypes = 1;
			r = tz->type_off ? 0 : -ENOMEM;
		}
		if (r < 0)
			goto cleanup;
	} else {
		buf = malloc(TZ_FILE_MAX);
		if (!buf) {
			r = -ENOMEM;
			goto cleanup;
		}
		len = fread(buf, 1, TZ_FILE_MAX, f);
		if (ferror(f) || len == TZ_FILE_MAX) {
			/* a directory, unreadable, or not a zone */
			r = -EINVAL;
			goto cleanup;
		}
		sched_tz_free(tz);
		tz = NULL;
		r = sched_tz_from_tzif(name, buf, len, &tz);
		if (r < 0)
			goto cleanup;
	}
	*out = tz;
	tz = NULL;
cleanup:
	if (f)
		fclose(f);
	free(buf);
	sched_tz_free(tz);
	return r;
}

void sched_tz_free(struct sched_tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->idx);
	free(tz->type_off);
	free(tz);
}

long sched_tz_offset(const struct sched_tz *tz, int64_t t)
{
	size_t lo, hi;

	if (!tz)
		return 0;
	if (tz->count == 0)
		return tz->rule.present ? rule_offset(&tz->rule, t)
					: tz->type_off[0];
	if (t < tz->trans[0])
		return tz->type_off[0];
	if (t >= tz->trans[tz->count - 1] && tz->rule.present)
		return rule_offset(&tz->rule, t);
	/* last transition at or before t */
	lo = 0;
	hi = tz->count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->type_off[tz->idx[lo]];
}
