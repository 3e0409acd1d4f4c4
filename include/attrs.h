/* attrs.h - compiler attributes used across modules, in a header of its
 * own so that a pure module needs no I/O module's header for them.
 * (log.h defines PR_PRINTF the same way; identical redefinitions are
 * allowed.) */
#ifndef PR_ATTRS_H
#define PR_ATTRS_H

/* printf-style format checking: argument fmt is the format, the variadic
 * arguments start at args (0 for a va_list). */
#define PR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

#endif
