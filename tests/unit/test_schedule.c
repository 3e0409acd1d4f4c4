/* test_schedule.c - EventBridge schedules: fire times and errors.
 *
 * Every expected fire time below was computed independently of this code
 * (a naive day-by-day scan written with Python's datetime and zoneinfo,
 * applying the rules stated in src/schedule.c) and the edge cases were
 * checked by hand against a calendar: the weekday of each date named in a
 * comment, leap years (2000 and 2028 are, 2100 is not) and the 2026 DST
 * dates (New York: Mar 8 02:00 -> 03:00, Nov 1 02:00 -> 01:00; Berlin:
 * Mar 29 02:00 -> 03:00, Oct 25 03:00 -> 02:00). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "schedule.h"

#define MAX_FIRES 3

struct next_case {
	const char *expr;
	const char *tz;
	const char *from;
	const char *want[MAX_FIRES]; /* fewer than 3: never fires again */
};

static const struct next_case next_cases[] = {
	/* daily at noon */
	{ "cron(0 12 * * ? *)", "", "2026-11-25T12:00:00Z", { "2026-11-26T12:00:00Z", "2026-11-27T12:00:00Z", "2026-11-28T12:00:00Z" } },
	/* daily at noon, from just before */
	{ "cron(0 12 * * ? *)", "", "2026-11-25T11:59:59Z", { "2026-11-25T12:00:00Z", "2026-11-26T12:00:00Z", "2026-11-27T12:00:00Z" } },
	/* every minute */
	{ "cron(* * * * ? *)", "", "2026-12-31T23:58:30Z", { "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z", "2027-01-01T00:01:00Z" } },
	/* every 15 min from 0 */
	{ "cron(0/15 * * * ? *)", "", "2026-05-05T10:07:00Z", { "2026-05-05T10:15:00Z", "2026-05-05T10:30:00Z", "2026-05-05T10:45:00Z" } },
	/* star with a step (asterisk-slash-20) */
	{ "cron(*/20 9 * * ? *)", "", "2026-05-05T09:41:00Z", { "2026-05-06T09:00:00Z", "2026-05-06T09:20:00Z", "2026-05-06T09:40:00Z" } },
	/* 10-50/20 range step */
	{ "cron(10-50/20 8 * * ? *)", "", "2026-05-05T08:31:00Z", { "2026-05-05T08:50:00Z", "2026-05-06T08:10:00Z", "2026-05-06T08:30:00Z" } },
	/* minute list */
	{ "cron(5,35,50 3 * * ? *)", "", "2026-05-05T03:36:00Z", { "2026-05-05T03:50:00Z", "2026-05-06T03:05:00Z", "2026-05-06T03:35:00Z" } },
	/* hour step 1/6 */
	{ "cron(0 1/6 * * ? *)", "", "2026-05-05T08:00:00Z", { "2026-05-05T13:00:00Z", "2026-05-05T19:00:00Z", "2026-05-06T01:00:00Z" } },
	/* hour wrap 22-2 */
	{ "cron(0 22-2 * * ? *)", "", "2026-05-05T21:00:00Z", { "2026-05-05T22:00:00Z", "2026-05-05T23:00:00Z", "2026-05-06T00:00:00Z" } },
	/* minute wrap 50-10/10 */
	{ "cron(50-10/10 4 * * ? *)", "", "2026-05-05T04:30:00Z", { "2026-05-05T04:50:00Z", "2026-05-06T04:00:00Z", "2026-05-06T04:10:00Z" } },
	/* weekdays MON-FRI */
	{ "cron(0 9 ? * MON-FRI *)", "", "2026-11-27T10:00:00Z", { "2026-11-30T09:00:00Z", "2026-12-01T09:00:00Z", "2026-12-02T09:00:00Z" } },
	/* weekend numeric 1,7 */
	{ "cron(30 6 ? * 1,7 *)", "", "2026-11-25T00:00:00Z", { "2026-11-28T06:30:00Z", "2026-11-29T06:30:00Z", "2026-12-05T06:30:00Z" } },
	/* dow wrap FRI-MON */
	{ "cron(0 0 ? * FRI-MON *)", "", "2026-11-24T00:00:00Z", { "2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z" } },
	/* lower-case names */
	{ "cron(0 0 ? jan mon *)", "", "2026-11-24T00:00:00Z", { "2027-01-04T00:00:00Z", "2027-01-11T00:00:00Z", "2027-01-18T00:00:00Z" } },
	/* month names list */
	{ "cron(0 0 1 JAN,APR,JUL,OCT ? *)", "", "2026-11-24T00:00:00Z", { "2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z", "2027-07-01T00:00:00Z" } },
	/* month wrap NOV-FEB */
	{ "cron(0 0 15 NOV-FEB ? *)", "", "2026-02-16T00:00:00Z", { "2026-11-15T00:00:00Z", "2026-12-15T00:00:00Z", "2027-01-15T00:00:00Z" } },
	/* month step 1/4 */
	{ "cron(0 0 1 1/4 ? *)", "", "2026-02-01T00:00:00Z", { "2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z" } },
	/* dom step 1/10 */
	{ "cron(0 0 1/10 * ? *)", "", "2026-02-11T00:00:00Z", { "2026-02-21T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z" } },
	/* dom range 28-31 in Feb */
	{ "cron(0 0 28-31 2 ? *)", "", "2027-01-01T00:00:00Z", { "2027-02-28T00:00:00Z", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z" } },
	/* dom wrap 30-2 */
	{ "cron(0 0 30-2 * ? *)", "", "2026-02-27T00:00:00Z", { "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-30T00:00:00Z" } },
	/* 31st skips short months */
	{ "cron(0 0 31 * ? *)", "", "2026-01-31T00:00:00Z", { "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z" } },
	/* 30th skips February */
	{ "cron(0 6 30 * ? *)", "", "2026-01-30T06:00:00Z", { "2026-03-30T06:00:00Z", "2026-04-30T06:00:00Z", "2026-05-30T06:00:00Z" } },
	/* Feb 29 only in leap years */
	{ "cron(0 0 29 2 ? *)", "", "2024-02-29T00:00:00Z", { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z" } },
	/* Feb 29 over 2100 (not leap) */
	{ "cron(0 0 29 2 ? *)", "", "2096-03-01T00:00:00Z", { "2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z", "2112-02-29T00:00:00Z" } },
	/* Feb 29 2000 is leap */
	{ "cron(0 0 29 FEB ? *)", "", "1999-01-01T00:00:00Z", { "2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z", "2008-02-29T00:00:00Z" } },
	/* Feb 30 never fires */
	{ "cron(0 0 30 2 ? *)", "", "2026-01-01T00:00:00Z", {  } },
	/* last day L */
	{ "cron(0 23 L * ? *)", "", "2027-12-31T23:00:00Z", { "2028-01-31T23:00:00Z", "2028-02-29T23:00:00Z", "2028-03-31T23:00:00Z" } },
	/* L in leap February */
	{ "cron(0 0 L 2 ? *)", "", "2027-03-01T00:00:00Z", { "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z", "2030-02-28T00:00:00Z" } },
	/* year end rollover */
	{ "cron(59 23 31 12 ? *)", "", "2026-12-31T23:59:00Z", { "2027-12-31T23:59:00Z", "2028-12-31T23:59:00Z", "2029-12-31T23:59:00Z" } },
	/* LW last weekday */
	{ "cron(0 18 LW * ? *)", "", "2026-01-01T00:00:00Z", { "2026-01-30T18:00:00Z", "2026-02-27T18:00:00Z", "2026-03-31T18:00:00Z" } },
	/* LW when last day is Sunday (2026-05-31) */
	{ "cron(0 0 LW 5 ? 2026)", "", "2026-01-01T00:00:00Z", { "2026-05-29T00:00:00Z" } },
	/* 1W on Saturday goes to Monday 3rd (2026-08-01 Sat) */
	{ "cron(0 0 1W 8 ? *)", "", "2026-07-01T00:00:00Z", { "2026-08-03T00:00:00Z", "2027-08-02T00:00:00Z", "2028-08-01T00:00:00Z" } },
	/* 15W on Sunday goes to Monday 16th (2026-02-15 Sun) */
	{ "cron(0 0 15W 2 ? *)", "", "2026-01-01T00:00:00Z", { "2026-02-16T00:00:00Z", "2027-02-15T00:00:00Z", "2028-02-15T00:00:00Z" } },
	/* 15W on Saturday goes to Friday 14th (2026-08-15 Sat) */
	{ "cron(0 0 15W AUG ? 2026)", "", "2026-01-01T00:00:00Z", { "2026-08-14T00:00:00Z" } },
	/* 31W on Sunday goes to Friday 29th (2026-05-31 Sun) */
	{ "cron(0 0 31W 5 ? 2026)", "", "2026-01-01T00:00:00Z", { "2026-05-29T00:00:00Z" } },
	/* 31W skips 30-day months */
	{ "cron(0 0 31W * ? *)", "", "2026-03-31T00:00:00Z", { "2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z" } },
	/* 30W in February never (2026) */
	{ "cron(0 0 30W 2 ? 2026)", "", "2026-01-01T00:00:00Z", {  } },
	/* lower-case lw */
	{ "cron(0 0 lw 1 ? 2027)", "", "2026-01-01T00:00:00Z", { "2027-01-29T00:00:00Z" } },
	/* L-1 the day before the last */
	{ "cron(0 0 L-1 * ? *)", "", "2026-01-01T00:00:00Z", { "2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-30T00:00:00Z" } },
	/* L-2W: nearest weekday to last-2 (2026-03-29 Sun -> Mon 30th) */
	{ "cron(0 0 L-2W * ? 2026)", "", "2026-01-01T00:00:00Z", { "2026-01-29T00:00:00Z", "2026-02-26T00:00:00Z", "2026-03-30T00:00:00Z" } },
	/* L-30 only in 31-day months */
	{ "cron(0 0 L-30 * ? *)", "", "2026-01-01T00:00:00Z", { "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z" } },
	/* L-0 is L */
	{ "cron(0 0 L-0 2 ? *)", "", "2027-03-01T00:00:00Z", { "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z", "2030-02-28T00:00:00Z" } },
	/* dow L = Saturday */
	{ "cron(0 0 ? * L *)", "", "2026-11-25T00:00:00Z", { "2026-11-28T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-12T00:00:00Z" } },
	/* 6L last Friday */
	{ "cron(15 10 ? * 6L *)", "", "2026-11-25T00:00:00Z", { "2026-11-27T10:15:00Z", "2026-12-25T10:15:00Z", "2027-01-29T10:15:00Z" } },
	/* FRIL last Friday by name */
	{ "cron(15 10 ? * FRIL 2027)", "", "2026-11-25T00:00:00Z", { "2027-01-29T10:15:00Z", "2027-02-26T10:15:00Z", "2027-03-26T10:15:00Z" } },
	/* 1L last Sunday in a 5-Sunday month (2026-03) */
	{ "cron(0 1 ? 3 1L 2026)", "", "2026-01-01T00:00:00Z", { "2026-03-29T01:00:00Z" } },
	/* 3#2 second Tuesday */
	{ "cron(0 12 ? * 3#2 *)", "", "2026-11-25T00:00:00Z", { "2026-12-08T12:00:00Z", "2027-01-12T12:00:00Z", "2027-02-09T12:00:00Z" } },
	/* MON#1 first Monday */
	{ "cron(0 8 ? * MON#1 *)", "", "2026-06-01T08:00:00Z", { "2026-07-06T08:00:00Z", "2026-08-03T08:00:00Z", "2026-09-07T08:00:00Z" } },
	/* 2#5 fifth Monday skips months without one */
	{ "cron(0 0 ? * 2#5 *)", "", "2026-01-01T00:00:00Z", { "2026-03-30T00:00:00Z", "2026-06-29T00:00:00Z", "2026-08-31T00:00:00Z" } },
	/* 7#5 fifth Saturday */
	{ "cron(0 0 ? * 7#5 2026)", "", "2026-01-01T00:00:00Z", { "2026-01-31T00:00:00Z", "2026-05-30T00:00:00Z", "2026-08-29T00:00:00Z" } },
	/* 1#1 first Sunday in Feb 2026 is the 1st */
	{ "cron(0 0 ? FEB 1#1 2026)", "", "2026-01-01T00:00:00Z", { "2026-02-01T00:00:00Z" } },
	/* 5#4 on a leap Feb */
	{ "cron(0 0 ? 2 5#4 2028)", "", "2026-01-01T00:00:00Z", { "2028-02-24T00:00:00Z" } },
	/* single past year never fires */
	{ "cron(0 0 1 1 ? 2020)", "", "2026-01-01T00:00:00Z", {  } },
	/* last minute of 2199 */
	{ "cron(59 23 31 12 ? 2199)", "", "2199-12-31T23:58:00Z", { "2199-12-31T23:59:00Z" } },
	/* after the last minute of 2199 */
	{ "cron(59 23 31 12 ? 2199)", "", "2199-12-31T23:59:00Z", {  } },
	/* every minute after 2199 */
	{ "cron(* * * * ? *)", "", "2199-12-31T23:58:00Z", { "2199-12-31T23:59:00Z" } },
	/* from before 1970 */
	{ "cron(0 0 1 1 ? 1970)", "", "1969-06-01T00:00:00Z", { "1970-01-01T00:00:00Z" } },
	/* year list */
	{ "cron(0 0 1 1 ? 2030,2025,2100)", "", "2026-01-01T00:00:00Z", { "2030-01-01T00:00:00Z", "2100-01-01T00:00:00Z" } },
	/* year step */
	{ "cron(0 0 1 1 ? 2024/4)", "", "2026-01-01T00:00:00Z", { "2028-01-01T00:00:00Z", "2032-01-01T00:00:00Z", "2036-01-01T00:00:00Z" } },
	/* year range */
	{ "cron(30 12 L 12 ? 2026-2027)", "", "2026-06-01T00:00:00Z", { "2026-12-31T12:30:00Z", "2027-12-31T12:30:00Z" } },
	/* DOW in year range ends */
	{ "cron(0 0 ? 12 SUN#1 2025-2026)", "", "2026-06-01T00:00:00Z", { "2026-12-06T00:00:00Z" } },
	/* impossible: 31 APR */
	{ "cron(0 0 31 4 ? *)", "", "2026-01-01T00:00:00Z", {  } },
	/* Feb 29 in 2100-2103 never */
	{ "cron(0 0 29 2 ? 2100-2103)", "", "2026-01-01T00:00:00Z", {  } },
	/* NY daily 09:00 across spring forward */
	{ "cron(0 9 * * ? *)", "America/New_York", "2026-03-07T00:00:00Z", { "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z" } },
	/* NY 02:30 skipped on spring day */
	{ "cron(30 2 * * ? *)", "America/New_York", "2026-03-07T12:00:00Z", { "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z" } },
	/* NY every 15 min through the gap */
	{ "cron(0/15 * * * ? *)", "America/New_York", "2026-03-08T06:40:00Z", { "2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z" } },
	/* NY 01:30 repeated hour fires once */
	{ "cron(30 1 * * ? *)", "America/New_York", "2026-10-31T12:00:00Z", { "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z" } },
	/* NY every 20 min through fall back */
	{ "cron(0/20 * * * ? *)", "America/New_York", "2026-11-01T05:30:00Z", { "2026-11-01T05:40:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:20:00Z" } },
	/* NY every 15 min through fall back (the man page example) */
	{ "cron(0/15 * * * ? *)", "America/New_York", "2026-11-01T05:20:00Z", { "2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", "2026-11-01T07:00:00Z" } },
	/* Berlin every 15 min through fall back */
	{ "cron(0/15 * * * ? *)", "Europe/Berlin", "2026-10-25T00:20:00Z", { "2026-10-25T00:30:00Z", "2026-10-25T00:45:00Z", "2026-10-25T02:00:00Z" } },
	/* NY from inside the second 01:xx */
	{ "cron(0/20 * * * ? *)", "America/New_York", "2026-11-01T06:10:00Z", { "2026-11-01T07:00:00Z", "2026-11-01T07:20:00Z", "2026-11-01T07:40:00Z" } },
	/* NY daily 02:00 around fall back */
	{ "cron(0 2 * * ? *)", "America/New_York", "2026-10-31T12:00:00Z", { "2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z", "2026-11-03T07:00:00Z" } },
	/* NY last day at 23:00 local */
	{ "cron(0 23 L * ? *)", "America/New_York", "2026-11-01T00:00:00Z", { "2026-11-01T03:00:00Z", "2026-12-01T04:00:00Z", "2027-01-01T04:00:00Z" } },
	/* NY far future DST (POSIX rule) */
	{ "cron(30 2 ? 3 1#2 *)", "America/New_York", "2150-01-01T00:00:00Z", {  } },
	/* NY far future summer offset */
	{ "cron(0 12 4 7 ? 2150)", "America/New_York", "2150-01-01T00:00:00Z", { "2150-07-04T16:00:00Z" } },
	/* Berlin daily 08:00 across spring */
	{ "cron(0 8 * * ? *)", "Europe/Berlin", "2026-03-28T00:00:00Z", { "2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z", "2026-03-30T06:00:00Z" } },
	/* Berlin 02:15 skipped Mar 29 */
	{ "cron(15 2 * * ? *)", "Europe/Berlin", "2026-03-28T02:00:00Z", { "2026-03-30T00:15:00Z", "2026-03-31T00:15:00Z", "2026-04-01T00:15:00Z" } },
	/* Berlin hourly through spring gap */
	{ "cron(0 * * * ? *)", "Europe/Berlin", "2026-03-29T00:30:00Z", { "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z" } },
	/* Berlin 02:30 repeated fires once */
	{ "cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-24T12:00:00Z", { "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z" } },
	/* Berlin hourly through fall back */
	{ "cron(0 * * * ? *)", "Europe/Berlin", "2026-10-24T23:30:00Z", { "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z" } },
	/* Berlin last Sunday of Oct 02:30 */
	{ "cron(30 2 ? 10 1L *)", "Europe/Berlin", "2026-01-01T00:00:00Z", { "2026-10-25T00:30:00Z", "2027-10-31T00:30:00Z", "2028-10-29T00:30:00Z" } },
	/* Berlin last Sunday of Mar 02:30 never exists */
	{ "cron(30 2 ? 3 1L 2026-2028)", "Europe/Berlin", "2026-01-01T00:00:00Z", {  } },
	/* Berlin new year midnight */
	{ "cron(0 0 1 1 ? *)", "Europe/Berlin", "2026-06-01T00:00:00Z", { "2026-12-31T23:00:00Z", "2027-12-31T23:00:00Z", "2028-12-31T23:00:00Z" } },
	/* Berlin 2199 last fire is 2199-12-31T23:00Z */
	{ "cron(0 0 1 1 ? 2199)", "Europe/Berlin", "2198-06-01T00:00:00Z", { "2198-12-31T23:00:00Z" } },
	/* Sydney (southern) across April fall back */
	{ "cron(30 2 * * ? *)", "Australia/Sydney", "2026-04-03T12:00:00Z", { "2026-04-03T15:30:00Z", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z" } },
	/* Sydney across October spring forward */
	{ "cron(30 2 * * ? *)", "Australia/Sydney", "2026-10-02T12:00:00Z", { "2026-10-02T16:30:00Z", "2026-10-04T15:30:00Z", "2026-10-05T15:30:00Z" } },
	/* Kolkata half-hour offset */
	{ "cron(0 9 ? * MON-FRI *)", "Asia/Kolkata", "2026-11-27T00:00:00Z", { "2026-11-27T03:30:00Z", "2026-11-30T03:30:00Z", "2026-12-01T03:30:00Z" } },
	/* Chatham 45-minute offset */
	{ "cron(0 0 * * ? *)", "Pacific/Chatham", "2026-11-25T00:00:00Z", { "2026-11-25T10:15:00Z", "2026-11-26T10:15:00Z", "2026-11-27T10:15:00Z" } },
	/* UTC zone name */
	{ "cron(0 12 * * ? *)", "UTC", "2026-11-25T12:00:00Z", { "2026-11-26T12:00:00Z", "2026-11-27T12:00:00Z", "2026-11-28T12:00:00Z" } },
	/* Etc/GMT-14 */
	{ "cron(0 0 1 1 ? 2027)", "Etc/GMT-14", "2026-01-01T00:00:00Z", { "2026-12-31T10:00:00Z" } },
	/* Lord Howe 30-minute DST */
	{ "cron(15 2 * * ? *)", "Australia/Lord_Howe", "2026-10-02T12:00:00Z", { "2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z", "2026-10-05T15:15:00Z" } },
	/* Sao Paulo 2018: DST began at midnight, so 00:00 Nov 4 is skipped */
	{ "cron(0 0 * * ? *)", "America/Sao_Paulo", "2018-11-03T00:00:00Z", { "2018-11-03T03:00:00Z", "2018-11-05T02:00:00Z", "2018-11-06T02:00:00Z" } },
	/* Apia skipped 2011-12-30 entirely (UTC-10 -> UTC+14) */
	{ "cron(0 12 * * ? *)", "Pacific/Apia", "2011-12-29T00:00:00Z", { "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z" } },
	/* whitespace between fields */
	{ "cron(0  12\t*  * ? *)", "", "2026-11-25T12:00:00Z", { "2026-11-26T12:00:00Z", "2026-11-27T12:00:00Z", "2026-11-28T12:00:00Z" } },

};

struct bad_case {
	const char *expr;
	const char *field;
	int column;
};

static const struct bad_case bad_cases[] = {
	{ "", "expression", 1 },
	{ "   ", "expression", 1 },
	{ "cron(0 12 * * ? *", "expression", 18 },
	{ "CRON(0 12 * * ? *)", "expression", 1 },
	{ "cron(0 12 * * ? *)x", "expression", 20 },
	{ "cron 0 12 * * ? *", "expression", 1 },
	{ "rate(5 minute)", "unit", 8 },
	{ "rate(1 minutes)", "unit", 8 },
	{ "rate(0 minutes)", "value", 6 },
	{ "rate(five minutes)", "value", 6 },
	{ "rate(5 weeks)", "unit", 8 },
	{ "rate(5)", "unit", 7 },
	{ "rate(5minutes)", "value", 7 },
	{ "rate(5 Minutes)", "unit", 8 },
	{ "rate(5 minutes extra)", "expression", 16 },
	{ "rate(-5 minutes)", "value", 6 },
	{ "rate(99999999999 minutes)", "value", 6 },
	{ "cron(0 12 * * ?)", "expression", 16 },
	{ "cron()", "expression", 6 },
	{ "cron(0 12 * * ? * *)", "expression", 19 },
	{ "cron(60 12 * * ? *)", "minutes", 6 },
	{ "cron(0 24 * * ? *)", "hours", 8 },
	{ "cron(0 12 32 * ? *)", "day-of-month", 11 },
	{ "cron(0 12 0 * ? *)", "day-of-month", 11 },
	{ "cron(0 12 * 13 ? *)", "month", 13 },
	{ "cron(0 12 * 0 ? *)", "month", 13 },
	{ "cron(0 12 * FOO ? *)", "month", 13 },
	{ "cron(0 12 * JANUARY ? *)", "month", 13 },
	{ "cron(0 12 ? * 8 *)", "day-of-week", 15 },
	{ "cron(0 12 ? * 0 *)", "day-of-week", 15 },
	{ "cron(0 12 ? * MONDAY *)", "day-of-week", 15 },
	{ "cron(0 12 * * ? 1969)", "year", 17 },
	{ "cron(0 12 * * ? 2200)", "year", 17 },
	{ "cron(0 12 * * ? 2030-2025)", "year", 17 },
	{ "cron(0 12 ? * ? *)", "day-of-week", 15 },
	{ "cron(0 12 * * * *)", "day-of-month", 11 },
	{ "cron(0 12 1 * MON *)", "day-of-week", 15 },
	{ "cron(0/0 * * * ? *)", "minutes", 8 },
	{ "cron(0/60 * * * ? *)", "minutes", 8 },
	{ "cron(0 0/24 * * ? *)", "hours", 10 },
	{ "cron(0 12 L-31 * ? *)", "day-of-month", 13 },
	{ "cron(0 12 L- * ? *)", "day-of-month", 13 },
	{ "cron(0 12 L-3,5 * ? *)", "day-of-month", 11 },
	{ "cron(0 12 LW-3 * ? *)", "day-of-month", 13 },
	{ "cron(0 12 L-3X * ? *)", "day-of-month", 14 },
	{ "cron(0 12 1,L * ? *)", "day-of-month", 13 },
	{ "cron(0 12 1-5W * ? *)", "day-of-month", 12 },
	{ "cron(0 12 W * ? *)", "day-of-month", 11 },
	{ "cron(0 12 32W * ? *)", "day-of-month", 11 },
	{ "cron(0 12 1W,15W * ? *)", "day-of-month", 12 },
	{ "cron(0 12 ? * 3#6 *)", "day-of-week", 17 },
	{ "cron(0 12 ? * 3#0 *)", "day-of-week", 17 },
	{ "cron(0 12 ? * 3# *)", "day-of-week", 17 },
	{ "cron(0 12 ? * 3#2,4#1 *)", "day-of-week", 18 },
	{ "cron(0 12 ? * 8L *)", "day-of-week", 15 },
	{ "cron(0 12 ? * 1,6L *)", "day-of-week", 18 },
	{ "cron(0 12 ? * MON-FRI/2 *)", "day-of-week", 22 },
	{ "cron(0 ? * * ? *)", "hours", 8 },
	{ "cron(0 12 * ? ? *)", "month", 13 },
	{ "cron(0,,5 12 * * ? *)", "minutes", 8 },
	{ "cron(0, 12 * * ? *)", "minutes", 8 },
	{ "cron(5- 12 * * ? *)", "minutes", 8 },
	{ "cron(*/5/2 * * * ? *)", "minutes", 9 },
	{ "cron(1-2-3 * * * ? *)", "minutes", 9 },
	{ "cron(0 12 ? * # *)", "day-of-week", 15 },
	{ "cron(0 12 15 * ?L *)", "day-of-week", 16 },
	{ "cron(0 12 ? JAN-FOO MON *)", "month", 17 },
	{ "cron(a 12 * * ? *)", "minutes", 6 },
	{ "cron(0 12 * * ? */0)", "year", 19 },
	{ "cron(0 12 ?? * * *)", "day-of-month", 11 },
	{ "cron(0 12 * * L *)", "day-of-month", 11 },
	{ "cron((0 12 * * ? *))", "expression", 6 },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The time-zone cases need the tz database (Debian: tzdata, "required"
 * priority, so always there); without it they are skipped, loudly. */
static int have_zone(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	if (!tz || !*tz || !strcmp(tz, "UTC"))
		return 1;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir :
		 "/usr/share/zoneinfo", tz);
	if (access(path, R_OK) == 0)
		return 1;
	print_message("no tz database entry %s: skipping its cases\n", path);
	return 0;
}

static time_t parse_time_or_die(const char *s)
{
	time_t t = 0;

	if (sched_parse_time(s, &t) != 0)
		fail_msg("bad time in table: %s", s);
	return t;
}

/* Parse a table entry, failing the test with the entry named. */
static struct sched *parse_ok(const char *expr, const char *tz)
{
	struct sched_error err;
	struct sched *s = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = sched_parse(expr, tz, &s, &err);
	if (r != 0)
		fail_msg("'%s' (tz '%s') rejected: %s col %d: %s", expr,
			 tz ? tz : "", err.field, err.column, err.message);
	return s;
}

static void test_next_table(void **state)
{
	size_t i;
	int k, r;

	(void)state;
	for (i = 0; i < N_ELEMS(next_cases); i++) {
		const struct next_case *c = &next_cases[i];
		struct sched *s;
		time_t t = parse_time_or_die(c->from), got;
		char buf[32];

		if (!have_zone(c->tz))
			continue;
		s = parse_ok(c->expr, c->tz);

		assert_int_equal(sched_kind(s), SCHED_CRON);
		for (k = 0; k < MAX_FIRES; k++) {
			r = sched_next(s, t, &got);
			if (!c->want[k]) {
				if (r != -ENOENT)
					fail_msg("case %zu '%s' tz '%s': fire %d "
						 "should not exist (r=%d)", i,
						 c->expr, c->tz, k + 1, r);
				break;
			}
			if (r != 0)
				fail_msg("case %zu '%s' tz '%s': fire %d: r=%d, "
					 "want %s", i, c->expr, c->tz, k + 1,
					 r, c->want[k]);
			sched_format_utc(got, buf, sizeof(buf));
			if (strcmp(buf, c->want[k]) != 0)
				fail_msg("case %zu '%s' tz '%s' from %s: fire %d "
					 "is %s, want %s", i, c->expr, c->tz,
					 c->from, k + 1, buf, c->want[k]);
			t = got;
		}
		sched_free(s);
	}
}

/* sched_prev agrees with the same table: the fire at or before each
 * expected fire is that fire; one second earlier it is the one before. */
static void test_prev_table(void **state)
{
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < N_ELEMS(next_cases); i++) {
		const struct next_case *c = &next_cases[i];
		struct sched *s;
		time_t from = parse_time_or_die(c->from), got, prev_fire = 0;

		if (!have_zone(c->tz))
			continue;
		s = parse_ok(c->expr, c->tz);

		for (k = 0; k < MAX_FIRES && c->want[k]; k++) {
			time_t f = parse_time_or_die(c->want[k]);
			char buf[32];

			assert_int_equal(sched_prev(s, from, f, &got), 0);
			sched_format_utc(got, buf, sizeof(buf));
			if (got != f)
				fail_msg("case %zu '%s': prev at %s is %s", i,
					 c->expr, c->want[k], buf);
			if (k > 0) {
				assert_int_equal(sched_prev(s, from, f - 1, &got), 0);
				assert_true(got == prev_fire);
				/* `since` is exclusive */
				assert_int_equal(sched_prev(s, prev_fire, f - 1,
							    &got), -ENOENT);
			} else {
				assert_int_equal(sched_prev(s, from, f - 1, &got),
						 -ENOENT);
			}
			prev_fire = f;
		}
		sched_free(s);
	}
}

static void test_bad_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sched_error err;
		struct sched *s = (struct sched *)&err; /* must stay untouched */
		int r;

		memset(&err, 0, sizeof(err));
		r = sched_parse(c->expr, NULL, &s, &err);
		if (r != -EINVAL)
			fail_msg("'%s' accepted (r=%d)", c->expr, r);
		assert_ptr_equal(s, (struct sched *)&err);
		if (strcmp(err.field, c->field) != 0 || err.column != c->column)
			fail_msg("'%s': got %s col %d (%s), want %s col %d",
				 c->expr, err.field, err.column, err.message,
				 c->field, c->column);
		assert_true(strlen(err.message) > 10);
	}
}

static void test_rate(void **state)
{
	static const struct {
		const char *expr;
		long secs;
	} ok[] = {
		{ "rate(1 minute)", 60 },
		{ "rate(5 minutes)", 300 },
		{ "rate(1 hour)", 3600 },
		{ "rate(12 hours)", 43200 },
		{ "rate(1 day)", 86400 },
		{ "rate(7 days)", 604800 },
		{ " rate(7 days) ", 604800 },
		{ "rate(7  days)", 604800 },
	};
	struct sched *s;
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(ok); i++) {
		s = parse_ok(ok[i].expr, NULL);
		assert_int_equal(sched_kind(s), SCHED_RATE);
		assert_int_equal(sched_next(s, 1000, &t), 0);
		assert_int_equal(t, 1000 + ok[i].secs);
		sched_free(s);
	}
	/* a time zone changes nothing for rate(): elapsed time */
	s = parse_ok("rate(1 day)", have_zone("America/New_York") ?
		     "America/New_York" : NULL);
	t = parse_time_or_die("2026-03-07T12:00:00Z");
	assert_int_equal(sched_next(s, t, &t), 0);
	assert_int_equal(t, parse_time_or_die("2026-03-08T12:00:00Z"));
	sched_free(s);

	/* prev: since + k * period, the latest at or before `at` */
	s = parse_ok("rate(10 minutes)", NULL);
	assert_int_equal(sched_prev(s, 1000, 1000 + 1799, &t), 0);
	assert_int_equal(t, 1000 + 1200);
	assert_int_equal(sched_prev(s, 1000, 1000 + 1800, &t), 0);
	assert_int_equal(t, 1000 + 1800);
	assert_int_equal(sched_prev(s, 1000, 1000 + 599, &t), -ENOENT);
	assert_int_equal(sched_prev(s, 1000, 1000, &t), -ENOENT);
	assert_int_equal(sched_prev(s, 1000, 900, &t), -ENOENT);
	sched_free(s);
}

static void test_timezones(void **state)
{
	static const char *const bad[] = {
		"Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime",
		"Europe/", "Europe//Berlin", "Europe/./Berlin", "Europe",
		"America/New York", "",
	};
	struct sched_error err;
	struct sched *s = NULL;
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i + 1 < N_ELEMS(bad); i++) {
		memset(&err, 0, sizeof(err));
		if (sched_parse("cron(0 12 * * ? *)", bad[i], &s, &err) != -EINVAL)
			fail_msg("zone '%s' accepted", bad[i]);
		assert_string_equal(err.field, "timezone");
		assert_int_equal(err.column, 0);
		assert_non_null(strstr(err.message, "time zone"));
	}
	/* "" means UTC, like NULL: noon is 12:00Z; in Berlin (CET in
	 * January) 11:00Z */
	s = parse_ok("cron(0 12 * * ? *)", "");
	assert_int_equal(sched_next(s, parse_time_or_die("2026-01-01T00:00:00Z"),
				    &t), 0);
	assert_int_equal(t, parse_time_or_die("2026-01-01T12:00:00Z"));
	sched_free(s);
	if (have_zone("Europe/Berlin")) {
		s = parse_ok("cron(0 12 * * ? *)", "Europe/Berlin");
		assert_int_equal(sched_next(s, parse_time_or_die(
					"2026-01-01T00:00:00Z"), &t), 0);
		assert_int_equal(t, parse_time_or_die("2026-01-01T11:00:00Z"));
		sched_free(s);
	}
	/* non-printable input is not echoed raw into messages */
	memset(&err, 0, sizeof(err));
	assert_int_equal(sched_parse("cron(\x01 12 * * ? *)", NULL, &s, &err),
			 -EINVAL);
	assert_string_equal(err.field, "minutes");
	assert_int_equal(err.column, 6);
	assert_null(strchr(err.message, '\x01'));
	/* leap-second zones are not civil time zones */
	assert_int_equal(sched_parse("cron(0 12 * * ? *)", "right/UTC", &s,
				     &err), -EINVAL);
	/* an expression error is reported before the zone's */
	memset(&err, 0, sizeof(err));
	assert_int_equal(sched_parse("cron(0 25 * * ? *)", "Nowhere/Land", &s,
				     &err), -EINVAL);
	assert_string_equal(err.field, "hours");
	/* a NULL err is allowed */
	assert_int_equal(sched_parse("cron(x)", NULL, &s, NULL), -EINVAL);
	assert_int_equal(sched_parse(NULL, NULL, &s, NULL), -EINVAL);
	sched_free(NULL);
}

/* Properties over many start times: next is strictly after the start,
 * strictly increasing, and prev(next) == next. */
static void test_next_prev_properties(void **state)
{
	static const char *const exprs[] = {
		"cron(0/7 */5 * * ? *)", "cron(0 2 ? * 1L *)",
		"cron(30 1-3 * * ? *)", "cron(* 2 * 3,10,11 ? *)",
		"cron(0 0 LW * ? *)", "cron(45 23 ? * 6#3 *)",
	};
	static const char *const zones[] = {
		"", "America/New_York", "Europe/Berlin", "Australia/Sydney",
	};
	size_t e, z;
	int k;

	(void)state;
	for (e = 0; e < N_ELEMS(exprs); e++)
		for (z = 0; z < N_ELEMS(zones); z++) {
			struct sched *s;
			/* 2026-02-27T00:00:00Z, in 13-hour-and-a-bit steps */
			time_t t = 1772150400, n1, n2, p;

			if (!have_zone(zones[z]))
				continue;
			s = parse_ok(exprs[e], zones[z]);

			for (k = 0; k < 700; k++, t += 47111) {
				assert_int_equal(sched_next(s, t, &n1), 0);
				assert_true(n1 > t);
				assert_int_equal(n1 % 60, 0);
				assert_int_equal(sched_next(s, n1, &n2), 0);
				assert_true(n2 > n1);
				assert_int_equal(sched_prev(s, t, n1, &p), 0);
				assert_true(p == n1);
				assert_int_equal(sched_prev(s, t, n2 - 1, &p), 0);
				assert_true(p == n1);
			}
			sched_free(s);
		}
}

static void test_time_format_parse(void **state)
{
	static const struct {
		const char *in;
		long long want;
	} ok[] = {
		{ "2026-11-25T12:00:00Z", 1795608000LL },
		{ "2026-11-25T12:00Z", 1795608000LL },
		{ "2026-11-25T13:00:00+01:00", 1795608000LL },
		{ "2026-11-25T07:00:00-0500", 1795608000LL },
		{ "2026-11-25T12:00:00.999Z", 1795608000LL },
		{ "2026-11-25 12:00:00Z", 1795608000LL },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "2000-02-29T00:00:00Z", 951782400LL },
		{ "2199-12-31T23:59:00Z", 7258118340LL },
		{ "@0", 0 },
		{ "@1795608000", 1795608000LL },
		{ "@-60", -60 },
	};
	static const char *const bad[] = {
		"", "2026-11-25", "2026-11-25T12:00:00", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-11-25T24:00:00Z",
		"2026-11-25T12:60:00Z", "2026-11-25T12:00:60Z",
		"2026-11-25T12:00:00Zjunk", "2026-11-25T12:00:00+1", "@",
		"@12x", "@ 5", "26-11-25T12:00:00Z", "2026-11-25T12:00:00.Z",
	};
	char buf[32];
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEMS(ok); i++) {
		if (sched_parse_time(ok[i].in, &t) != 0)
			fail_msg("'%s' rejected", ok[i].in);
		if ((long long)t != ok[i].want)
			fail_msg("'%s' -> %lld, want %lld", ok[i].in,
				 (long long)t, ok[i].want);
	}
	for (i = 0; i < N_ELEMS(bad); i++) {
		t = 42;
		if (sched_parse_time(bad[i], &t) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(t, 42);
	}
	assert_int_equal(sched_parse_time(NULL, &t), -EINVAL);
	sched_format_utc(1795608000, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25T12:00:00Z");
	sched_format_utc(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	sched_format_utc(951782400, buf, sizeof(buf));
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
	sched_format_utc(0, buf, 5); /* truncated, still terminated */
	assert_string_equal(buf, "1970");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_table),
		cmocka_unit_test(test_prev_table),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_timezones),
		cmocka_unit_test(test_next_prev_properties),
		cmocka_unit_test(test_time_format_parse),
	};

	return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
