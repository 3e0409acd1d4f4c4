/* wallclock.c - wall-clock readings with a test-only offset; see
 * wallclock.h. */
#include "wallclock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define USEC_PER_SEC_WC  1000000ULL
#define USEC_PER_MSEC_WC 1000LL

static bool wc_ready;
static int wc_status;
static int64_t wc_offset_ms;

int wallclock_parse_offset(const char *s, int64_t *out_ms)
{
	const char *p;
	int64_t v = 0;
	bool neg = false;

	if (!s || !out_ms)
		return -EINVAL;
	p = s;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (*p - '0');
		if (v > WALLCLOCK_OFFSET_MAX_MS)
			return -EINVAL;
	}
	*out_ms = neg ? -v : v;
	return 0;
}

int wallclock_init(void)
{
	const char *s;
	int64_t v;

	if (wc_ready)
		return wc_status;
	wc_ready = true;
	wc_offset_ms = 0;
	wc_status = 0;
	s = getenv(WALLCLOCK_OFFSET_ENV);
	if (!s || !*s)
		return 0;
	if (wallclock_parse_offset(s, &v) < 0) {
		log_error("%s=\"%s\": want a signed number of milliseconds "
			  "within +-%lld (a test hook; unset it)",
			  WALLCLOCK_OFFSET_ENV, s,
			  (long long)WALLCLOCK_OFFSET_MAX_MS);
		wc_status = -EINVAL;
		return wc_status;
	}
	wc_offset_ms = v;
	if (v)
		log_warning("test clock offset in effect: this process's wall "
			    "clock is %+lld ms off the system's (%s; never set "
			    "it in production)", (long long)v,
			    WALLCLOCK_OFFSET_ENV);
	return 0;
}

void wallclock_reset(void)
{
	wc_ready = false;
	wc_status = 0;
	wc_offset_ms = 0;
}

int64_t wallclock_offset_ms(void)
{
	(void)wallclock_init();
	return wc_offset_ms;
}

uint64_t wallclock_now_usec(void)
{
	struct timespec ts;
	int64_t us;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	us = (int64_t)ts.tv_sec * (int64_t)USEC_PER_SEC_WC +
	     ts.tv_nsec / 1000 + wallclock_offset_ms() * USEC_PER_MSEC_WC;
	return us > 0 ? (uint64_t)us : 0;
}

time_t wallclock_now(void)
{
	int64_t off = wallclock_offset_ms();
	time_t t = time(NULL);

	if (!off)
		return t;
	return (time_t)(wallclock_now_usec() / USEC_PER_SEC_WC);
}

uint64_t wallclock_to_real_usec(uint64_t wall_usec)
{
	int64_t off = wallclock_offset_ms() * USEC_PER_MSEC_WC;
	uint64_t r;

	if (off >= 0)
		r = wall_usec > (uint64_t)off ? wall_usec - (uint64_t)off : 1;
	else
		r = wall_usec < UINT64_MAX - 1 - (uint64_t)-off
			    ? wall_usec + (uint64_t)-off
			    : UINT64_MAX - 1;
	return r ? r : 1;
}

uint64_t wallclock_sec_to_real_usec(time_t wall_sec)
{
	uint64_t s = wall_sec > 0 ? (uint64_t)wall_sec : 0;

	if (s > (UINT64_MAX - 1) / USEC_PER_SEC_WC)
		s = (UINT64_MAX - 1) / USEC_PER_SEC_WC;
	return wallclock_to_real_usec(s * USEC_PER_SEC_WC);
}
