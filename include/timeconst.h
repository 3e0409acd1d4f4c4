/* timeconst.h - the units of time, for every module that converts between
 * them. Unsigned 64-bit, like sd-event's usec_t: a signed quantity (an
 * offset that may be negative) casts the constant to its own type first. */
#ifndef PR_TIMECONST_H
#define PR_TIMECONST_H

#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL
#define MSEC_PER_SEC  1000ULL
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_SEC  1000000000ULL

#endif
