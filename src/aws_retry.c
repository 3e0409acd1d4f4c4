/* aws_retry.c - the retry machinery the AWS JSON client (aws.c) and the S3
 * client (s3.c) share: backoff with full jitter, the retry quota, the
 * attempts per call and the clock offset; see include/aws-internal.h. */
#include "aws.h"
#include "aws-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "log.h"
#include "wallclock.h"

uint32_t aws_backoff_ms(unsigned retry, double rnd, uint32_t base_ms,
			uint32_t cap_ms)
{
	uint64_t ceiling = base_ms;
	unsigned i;

	if (retry == 0)
		return 0;
	if (!(rnd >= 0.0))   /* also NaN */
		rnd = 0.0;
	if (rnd >= 1.0)
		rnd = 0.999999;
	for (i = 1; i < retry && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	return (uint32_t)(rnd * (double)ceiling);
}

void aws_quota_init(struct aws_retry_quota *q, unsigned capacity)
{
	q->tokens = q->capacity = capacity;
}

unsigned aws_quota_acquire(struct aws_retry_quota *q, bool timeout)
{
	unsigned cost = timeout ? AWS_RETRY_TIMEOUT_COST : AWS_RETRY_COST;

	if (q->tokens < cost)
		return 0;
	q->tokens -= cost;
	return cost;
}

void aws_quota_release(struct aws_retry_quota *q, unsigned cost)
{
	unsigned add = cost ? cost : AWS_RETRY_NO_RETRY_INCREMENT;

	q->tokens = q->tokens + add > q->capacity ? q->capacity
						  : q->tokens + add;
}

/* AWS_MAX_ATTEMPTS as the SDKs read it: unset or empty, the default. */
static int max_attempts_from_env(unsigned *ret)
{
	const char *v = getenv("AWS_MAX_ATTEMPTS");
	unsigned long n;
	char *end;

	if (!v || !*v) {
		*ret = AWS_DEFAULT_MAX_ATTEMPTS;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || v[0] == '-' || n < 1 || n > AWS_MAX_MAX_ATTEMPTS)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

int aws_retrier_init(struct aws_retrier *r, unsigned max_attempts,
		     const char *who)
{
	if (max_attempts > AWS_MAX_MAX_ATTEMPTS) {
		log_error("%s: max attempts %u out of range 1..%d", who,
			  max_attempts, AWS_MAX_MAX_ATTEMPTS);
		return -EINVAL;
	}
	if (max_attempts == 0 && max_attempts_from_env(&max_attempts) < 0) {
		log_error("%s: AWS_MAX_ATTEMPTS must be an integer 1..%d", who,
			  AWS_MAX_MAX_ATTEMPTS);
		return -EINVAL;
	}
	*r = (struct aws_retrier){ .max_attempts = max_attempts };
	aws_quota_init(&r->quota, AWS_RETRY_QUOTA_CAPACITY);
	r->hooks.backoff_base_ms = AWS_BACKOFF_BASE_MS;
	r->hooks.backoff_max_ms = AWS_BACKOFF_MAX_MS;
	return 0;
}

time_t aws_retrier_now(const struct aws_retrier *r)
{
	if (r->hooks.now)
		return r->hooks.now(r->hooks.userdata);
	return wallclock_host_now();
}

double aws_retrier_rng(const struct aws_retrier *r)
{
	uint64_t v;

	if (r->hooks.rng)
		return r->hooks.rng(r->hooks.userdata);
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)random();
	return (double)(v >> 11) / (double)(1ULL << 53);
}

time_t aws_retrier_signing_time(const struct aws_retrier *r)
{
	return aws_retrier_now(r) + (time_t)r->clock_offset;
}

int64_t aws_retrier_next(struct aws_retrier *r, unsigned attempts,
			 bool timeout, unsigned *cost)
{
	unsigned taken;

	if (attempts >= r->max_attempts)
		return -E2BIG;
	taken = aws_quota_acquire(&r->quota, timeout);
	if (taken == 0)
		return -ENOSPC;
	*cost = taken;
	return aws_backoff_ms(attempts, aws_retrier_rng(r),
			      r->hooks.backoff_base_ms,
			      r->hooks.backoff_max_ms);
}
