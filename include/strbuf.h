/* strbuf.h - a growable, always NUL-terminated byte buffer.
 *
 * The one string builder of the code base: use it instead of ad hoc
 * realloc loops. A buffer that failed to grow remembers it (oom), every later
 * append is a no-op, and strbuf_error() reports -ENOMEM once at the end, so
 * a chain of appends needs one check. */
#ifndef PR_STRBUF_H
#define PR_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;   /* NULL until the first append; NUL-terminated after */
	size_t len;  /* bytes used, without the NUL */
	size_t cap;  /* bytes allocated */
	bool oom;    /* an append failed */
};

#define STRBUF_INIT { NULL, 0, 0, false }

void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Lower-case hex of len bytes. */
void strbuf_hex(struct strbuf *sb, const unsigned char *data, size_t len);
void strbuf_reset(struct strbuf *sb);
/* 0, or -ENOMEM if any append failed. */
int strbuf_error(const struct strbuf *sb);
/* Hand the string to the caller ("" when empty; NULL on OOM) and reset. */
char *strbuf_detach(struct strbuf *sb);
/* Free; wipes the bytes first when the buffer held secret material. */
void strbuf_free(struct strbuf *sb);
void strbuf_free_secure(struct strbuf *sb);

#endif
