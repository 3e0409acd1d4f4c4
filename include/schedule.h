/* schedule.h - EventBridge schedule expressions: rate(...) and cron(...).
 * (Named schedule.h, not sched.h: -Iinclude would shadow the system <sched.h>.)
 *
 * CONTRACT (used by config, the CLI and the daemon): keep these signatures;
 * add functions freely.
 *
 * Grammar is EventBridge's: rate(N minute|minutes|hour|hours|day|days), the
 * unit singular exactly when N is 1; cron(min hour dom month dow year) with
 * , - * / ? L W # as EventBridge allows them, JAN-DEC, SUN-SAT, dow 1-7 =
 * SUN-SAT, exactly one of dom/dow is '?', year 1970-2199.
 *
 * Times are time_t (seconds since the epoch, UTC). A cron schedule with a
 * time zone is evaluated in local wall-clock time of that IANA zone. */
#ifndef PR_SCHEDULE_H
#define PR_SCHEDULE_H

#include <stdbool.h>
#include <time.h>

struct sched;

enum sched_kind { SCHED_RATE, SCHED_CRON };

/* Why an expression was rejected: which field (e.g. "day-of-week", "unit",
 * "expression"), the 1-based column in the expression string where the
 * problem starts, and a sentence saying what is wrong and what is right. */
struct sched_error {
	char field[32];
	int column;
	char message[256];
};

/* Parse expr. tz is an IANA zone name ("Europe/Berlin") or NULL/"" for UTC;
 * an unknown zone is an error (field "timezone", column 0). On success *out
 * is a new schedule; on failure -EINVAL and *err is filled. */
int sched_parse(const char *expr, const char *tz, struct sched **out,
		struct sched_error *err);
void sched_free(struct sched *s);

enum sched_kind sched_kind(const struct sched *s);

/* The first fire time strictly after `after` (for rate(): after + period,
 * `after` being the anchor, i.e. the previous fire time). 0 and *out set on
 * success; -ENOENT when the schedule never fires again (e.g. a past year). */
int sched_next(const struct sched *s, time_t after, time_t *out);

/* The most recent fire time at or before `at` and strictly after `since`
 * (for catch-up after downtime): 0 and *out set, -ENOENT when none.
 * For rate(), fire times are since + k*period. */
int sched_prev(const struct sched *s, time_t since, time_t at, time_t *out);

/* Format t as ISO-8601 UTC with a Z: "2026-11-25T12:00:00Z" (buf >= 21). */
void sched_format_utc(time_t t, char *buf, size_t len);
/* Parse the same format (also accepts "YYYY-MM-DDTHH:MM[:SS]Z", "+00:00"
 * offsets, and a bare "@EPOCH"); 0 or -EINVAL. */
int sched_parse_time(const char *s, time_t *out);

#endif
