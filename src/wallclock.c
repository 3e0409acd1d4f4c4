/* wallclock.c - wall-clock readings with a test-only offset and time
 * scale; see wallclock.h. */
#include "wallclock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "timeconst.h"

static bool wc_ready;
static int wc_status;
static int64_t wc_offset_ms;
static uint32_t wc_scale = 1;
static int64_t wc_anchor_s;

/* Decimal digits only, at most max; 0 and *out, or -EINVAL. */
static int parse_digits(const char *p, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

int wallclock_parse_offset(const char *s, int64_t *out_ms)
{
	const char *p;
	int64_t v;
	bool neg = false;

	if (!s || !out_ms)
		return -EINVAL;
	p = s;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (parse_digits(p, WALLCLOCK_OFFSET_MAX_MS, &v) < 0)
		return -EINVAL;
	*out_ms = neg ? -v : v;
	return 0;
}

int wallclock_parse_scale(const char *s, uint32_t *out)
{
	int64_t v;

	if (!s || !out || parse_digits(s, WALLCLOCK_SCALE_MAX, &v) < 0 || v < 1)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int wallclock_parse_anchor(const char *s, int64_t *out_s)
{
	int64_t v;

	if (!s || !out_s || parse_digits(s, WALLCLOCK_ANCHOR_MAX_S, &v) < 0 ||
	    v < 1)
		return -EINVAL;
	*out_s = v;
	return 0;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* anchor_s in µs, saturating. */
static int64_t anchor_usec(int64_t anchor_s)
{
	int64_t r;

	if (__builtin_mul_overflow(anchor_s, (int64_t)USEC_PER_SEC, &r))
		return anchor_s > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

int64_t wallclock_scale_usec(int64_t real_us, int64_t anchor_s, uint32_t scale)
{
	int64_t anchor_us, d, r;

	if (scale <= 1)
		return real_us;
	anchor_us = anchor_usec(anchor_s);
	d = sat_sub(real_us, anchor_us);
	if (__builtin_mul_overflow(d, (int64_t)scale, &r))
		return d > 0 ? INT64_MAX : INT64_MIN;
	return sat_add(anchor_us, r);
}

int64_t wallclock_unscale_usec(int64_t scaled_us, int64_t anchor_s,
			       uint32_t scale)
{
	int64_t anchor_us, d, q;

	if (scale <= 1)
		return scaled_us;
	anchor_us = anchor_usec(anchor_s);
	d = sat_sub(scaled_us, anchor_us);
	/* round up: C division truncates towards zero, which is up for d < 0 */
	q = d / (int64_t)scale;
	if (d > 0 && d % (int64_t)scale)
		q++;
	return sat_add(anchor_us, q);
}

/* Read one variable with its parser; a refusal is logged with what would
 * be right. 0 (unset or empty), 1 (parsed into *out), or -EINVAL. */
static int read_env(const char *name, const char *want,
		    int (*parse)(const char *, void *), void *out)
{
	const char *s = getenv(name);

	if (!s || !*s)
		return 0;
	if (parse(s, out) < 0) {
		log_error("%s=\"%s\": want %s (a test hook; unset it)", name, s,
			  want);
		return -EINVAL;
	}
	return 1;
}

static int parse_offset_v(const char *s, void *out)
{
	return wallclock_parse_offset(s, out);
}

static int parse_scale_v(const char *s, void *out)
{
	return wallclock_parse_scale(s, out);
}

static int parse_anchor_v(const char *s, void *out)
{
	return wallclock_parse_anchor(s, out);
}

int wallclock_init(void)
{
	char want_off[96], want_scale[64];
	int64_t off = 0, anchor = 0, dist;
	uint32_t scale = 1;
	int k_off, k_scale, k_anchor;

	if (wc_ready)
		return wc_status;
	wc_ready = true;
	wc_status = 0;
	wc_offset_ms = 0;
	wc_scale = 1;
	wc_anchor_s = 0;
	snprintf(want_off, sizeof(want_off),
		 "a signed number of milliseconds within +-%lld",
		 (long long)WALLCLOCK_OFFSET_MAX_MS);
	snprintf(want_scale, sizeof(want_scale), "an integer from 1 to %u",
		 WALLCLOCK_SCALE_MAX);
	k_off = read_env(WALLCLOCK_OFFSET_ENV, want_off, parse_offset_v, &off);
	k_scale = read_env(WALLCLOCK_SCALE_ENV, want_scale, parse_scale_v,
			   &scale);
	k_anchor = read_env(WALLCLOCK_ANCHOR_ENV, "the epoch seconds from "
			    "which the scaled clock runs", parse_anchor_v,
			    &anchor);
	if (k_off < 0 || k_scale < 0 || k_anchor < 0) {
		wc_status = -EINVAL;
		return wc_status;
	}
	if (scale > 1 && k_anchor == 0) {
		log_error("%s=%u needs %s (epoch seconds, the same for every "
			  "process of the test; a test hook: unset it)",
			  WALLCLOCK_SCALE_ENV, scale, WALLCLOCK_ANCHOR_ENV);
		wc_status = -EINVAL;
		return wc_status;
	}
	if (scale > 1) {
		dist = (int64_t)time(NULL) - anchor;
		if (dist > WALLCLOCK_ANCHOR_MAX_DIST_S ||
		    dist < -WALLCLOCK_ANCHOR_MAX_DIST_S) {
			log_error("%s=%lld is %lld s away from the system clock: "
				  "want at most %lld (anchor the scale at the "
				  "test's start; a test hook: unset it)",
				  WALLCLOCK_ANCHOR_ENV, (long long)anchor,
				  (long long)dist,
				  (long long)WALLCLOCK_ANCHOR_MAX_DIST_S);
			wc_status = -EINVAL;
			return wc_status;
		}
		wc_scale = scale;
		wc_anchor_s = anchor;
		log_warning("test clock scale in effect: this process's schedule "
			    "clock runs %u times as fast as the system's from "
			    "%lld (%s, %s; never set them in production)",
			    scale, (long long)anchor, WALLCLOCK_SCALE_ENV,
			    WALLCLOCK_ANCHOR_ENV);
	}
	wc_offset_ms = off;
	if (off)
		log_warning("test clock offset in effect: this process's wall "
			    "clock is %+lld ms off the system's (%s; never set "
			    "it in production)", (long long)off,
			    WALLCLOCK_OFFSET_ENV);
	return 0;
}

void wallclock_reset(void)
{
	wc_ready = false;
	wc_status = 0;
	wc_offset_ms = 0;
	wc_scale = 1;
	wc_anchor_s = 0;
}

int64_t wallclock_offset_ms(void)
{
	(void)wallclock_init();
	return wc_offset_ms;
}

uint32_t wallclock_scale(void)
{
	(void)wallclock_init();
	return wc_scale;
}

int64_t wallclock_anchor(void)
{
	(void)wallclock_init();
	return wc_anchor_s;
}

static int64_t real_now_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * (int64_t)USEC_PER_SEC +
	       ts.tv_nsec / 1000;
}

int64_t wallclock_scaled_from_real_usec(int64_t real_us)
{
	(void)wallclock_init();
	return wallclock_scale_usec(real_us, wc_anchor_s, wc_scale);
}

uint64_t wallclock_now_usec(void)
{
	int64_t us = wallclock_scaled_from_real_usec(real_now_usec());

	us = sat_add(us, wc_offset_ms * (int64_t)USEC_PER_MSEC);
	return us > 0 ? (uint64_t)us : 0;
}

time_t wallclock_now(void)
{
	(void)wallclock_init();
	if (!wc_offset_ms && wc_scale == 1)
		return time(NULL);
	return (time_t)(wallclock_now_usec() / USEC_PER_SEC);
}

time_t wallclock_host_now(void)
{
	int64_t us;

	if (!wallclock_offset_ms())
		return time(NULL);
	us = real_now_usec() + wc_offset_ms * (int64_t)USEC_PER_MSEC;
	return (time_t)(us > 0 ? us / (int64_t)USEC_PER_SEC : 0);
}

/* wall_usec - offset, saturating at 0 and UINT64_MAX. */
static uint64_t minus_offset(uint64_t wall_usec)
{
	int64_t off = wc_offset_ms * (int64_t)USEC_PER_MSEC;

	if (off >= 0)
		return wall_usec > (uint64_t)off ? wall_usec - (uint64_t)off : 0;
	return wall_usec < UINT64_MAX - (uint64_t)-off ? wall_usec + (uint64_t)-off
						       : UINT64_MAX;
}

static uint64_t clamp_timer(uint64_t r)
{
	if (r == 0)
		return 1;
	return r < UINT64_MAX - 1 ? r : UINT64_MAX - 1;
}

uint64_t wallclock_to_real_usec(uint64_t wall_usec)
{
	uint64_t r;
	int64_t u;

	(void)wallclock_init();
	r = minus_offset(wall_usec);
	if (wc_scale > 1) {
		u = wallclock_unscale_usec(r > (uint64_t)INT64_MAX ? INT64_MAX
								   : (int64_t)r,
					   wc_anchor_s, wc_scale);
		r = u > 0 ? (uint64_t)u : 0;
	}
	return clamp_timer(r);
}

static uint64_t sec_to_usec(time_t sec)
{
	uint64_t s = sec > 0 ? (uint64_t)sec : 0;

	if (s > (UINT64_MAX - 1) / USEC_PER_SEC)
		s = (UINT64_MAX - 1) / USEC_PER_SEC;
	return s * USEC_PER_SEC;
}

uint64_t wallclock_sec_to_real_usec(time_t wall_sec)
{
	return wallclock_to_real_usec(sec_to_usec(wall_sec));
}

uint64_t wallclock_host_sec_to_real_usec(time_t host_sec)
{
	(void)wallclock_init();
	return clamp_timer(minus_offset(sec_to_usec(host_sec)));
}
