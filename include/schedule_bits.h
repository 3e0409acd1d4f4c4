/* schedule_bits.h - the bottom of the schedule module, below
 * schedule_parse.c (which fills these structures) and schedule.c (which
 * searches them): the calendar's constants, the cron fields as bit sets,
 * and a parsed cron(). Plain data and inline helpers, no functions of any
 * .c file. Only the schedule*.c files include this. */
#ifndef PR_SCHEDULE_BITS_H
#define PR_SCHEDULE_BITS_H

#include <stdint.h>

#define SCHED_YEAR_MIN 1970
#define SCHED_YEAR_MAX 2199
#define SECS_PER_MIN 60
#define SECS_PER_HOUR 3600
#define SECS_PER_DAY 86400

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

/* A parsed cron(): every field as a set, plus the special day forms. */
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

static inline void bits_set(struct bits *b, int i)
{
	b->w[i >> 6] |= UINT64_C(1) << (i & 63);
}

static inline int bits_test(const struct bits *b, int i)
{
	return (int)((b->w[i >> 6] >> (i & 63)) & 1);
}

static inline int bits_empty(const struct bits *b)
{
	return !(b->w[0] | b->w[1] | b->w[2] | b->w[3]);
}

#endif
