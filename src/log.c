/* log.c - journald native protocol or plain stderr lines; see include/log.h. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* sd-journal.h would make sd_journal_sendv() add this file's own
 * location to every entry; the caller's is added below instead. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "strbuf.h"

#define LOG_MAX_FIELDS 32
#define LOG_CODE_FIELDS 3
#define LOG_IDENTIFIER "personalize-retrain"

static const char *log_ident = LOG_IDENTIFIER;
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_priority = LOG_INFO;
static log_sink_fn log_sink;
static void *log_sink_userdata;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* Fields that are worth showing on a plain stderr line. */
static const char *const stderr_fields[] = {
	"PIPELINE=", "STAGE=", "JOB_ARN=", "AWS_REQUEST_ID=", NULL,
};

/* True when systemd connected our stderr to the journal (JOURNAL_STREAM is
 * "DEV:INO" of that stream, see systemd.exec(5)). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_set_identifier(const char *ident)
{
	log_ident = ident && *ident ? ident : LOG_IDENTIFIER;
}

void log_init(enum log_target target, int max_priority)
{
	if (target == LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LOG_TARGET_JOURNAL
					     : LOG_TARGET_STDERR;
	log_target = target;
	log_set_max_priority(max_priority);
}

void log_set_max_priority(int max_priority)
{
	if (max_priority < LOG_EMERG)
		max_priority = LOG_EMERG;
	if (max_priority > LOG_DEBUG)
		max_priority = LOG_DEBUG;
	log_max_priority = max_priority;
}

int log_parse_level(const char *s)
{
	size_t i;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	if (strcasecmp(s, "err") == 0)
		return LOG_ERR;
	return -EINVAL;
}

void log_set_sink(log_sink_fn fn, void *userdata)
{
	log_sink = fn;
	log_sink_userdata = userdata;
}

static bool field_usable(const char *f)
{
	const char *eq;

	if (!f)
		return false;
	eq = strchr(f, '=');
	return eq && eq != f && eq[1] != '\0';
}

static void emit_stderr(int priority, const char *const *fields,
			const char *text)
{
	struct strbuf line = STRBUF_INIT;
	size_t i, j;

	strbuf_printf(&line, "%s: %s: %s", log_ident,
		      level_names[priority], text);
	for (i = 0; fields && fields[i]; i++) {
		if (!field_usable(fields[i]))
			continue;
		for (j = 0; stderr_fields[j]; j++) {
			size_t n = strlen(stderr_fields[j]);

			if (strncmp(fields[i], stderr_fields[j], n) == 0) {
				strbuf_printf(&line, " %.*s=%s", (int)(n - 1),
					      fields[i], fields[i] + n);
				break;
			}
		}
	}
	strbuf_putc(&line, '\n');
	if (strbuf_error(&line) == 0) {
		if (log_sink)
			log_sink(priority, line.buf, log_sink_userdata);
		(void)!write(STDERR_FILENO, line.buf, line.len);
	}
	strbuf_free(&line);
}

/* struct iovec wants a mutable pointer; sd_journal_sendv never writes. */
static void *iov_base(const void *p)
{
	return (void *)(uintptr_t)p;
}

static void emit_journal(struct log_location at, int priority,
			 const char *const *fields, const char *text)
{
	struct iovec iov[LOG_MAX_FIELDS + 3 + LOG_CODE_FIELDS];
	char prio[16], ident[96], cline[32];
	struct strbuf msg = STRBUF_INIT, cfile = STRBUF_INIT,
		      cfunc = STRBUF_INIT;
	size_t n = 0, i;

	strbuf_printf(&msg, "MESSAGE=%s", text);
	if (strbuf_error(&msg) < 0)
		goto cleanup;
	snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
	iov[n].iov_base = msg.buf;
	iov[n++].iov_len = msg.len;
	iov[n].iov_base = prio;
	iov[n++].iov_len = strlen(prio);
	snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", log_ident);
	iov[n].iov_base = ident;
	iov[n].iov_len = strlen(ident);
	n++;
	if (at.file && *at.file) {
		strbuf_printf(&cfile, "CODE_FILE=%s", at.file);
		snprintf(cline, sizeof(cline), "CODE_LINE=%d", at.line);
		if (at.func && *at.func)
			strbuf_printf(&cfunc, "CODE_FUNC=%s", at.func);
		if (strbuf_error(&cfile) == 0 && strbuf_error(&cfunc) == 0) {
			iov[n].iov_base = cfile.buf;
			iov[n++].iov_len = cfile.len;
			iov[n].iov_base = cline;
			iov[n++].iov_len = strlen(cline);
			if (cfunc.len) {
				iov[n].iov_base = cfunc.buf;
				iov[n++].iov_len = cfunc.len;
			}
		}
	}
	for (i = 0; fields && fields[i] &&
		    n < LOG_MAX_FIELDS + 3 + LOG_CODE_FIELDS; i++) {
		if (!field_usable(fields[i]))
			continue;
		iov[n].iov_base = iov_base(fields[i]);
		iov[n++].iov_len = strlen(fields[i]);
	}
	if (log_sink) {
		/* the sink sees the text and every field, as journald would */
		struct strbuf all = STRBUF_INIT;

		for (i = 0; i < n; i++)
			strbuf_printf(&all, "%.*s\n", (int)iov[i].iov_len,
				      (const char *)iov[i].iov_base);
		if (strbuf_error(&all) == 0)
			log_sink(priority, all.buf, log_sink_userdata);
		strbuf_free(&all);
	}
	(void)sd_journal_sendv(iov, (int)n);
cleanup:
	strbuf_free(&msg);
	strbuf_free(&cfile);
	strbuf_free(&cfunc);
}

void log_structv(int priority, const char *const *fields, const char *fmt,
		 va_list ap)
{
	static const struct log_location none = { NULL, 0, NULL };

	log_structv_at(none, priority, fields, fmt, ap);
}

void log_structv_at(struct log_location at, int priority,
		    const char *const *fields, const char *fmt, va_list ap)
{
	struct strbuf text = STRBUF_INIT;
	int saved_errno = errno;

	if (priority < LOG_EMERG || priority > LOG_DEBUG)
		priority = LOG_ERR;
	if (priority > log_max_priority)
		goto cleanup;
	strbuf_vprintf(&text, fmt, ap);
	if (strbuf_error(&text) < 0 || !text.buf)
		goto cleanup;
	if (log_target == LOG_TARGET_JOURNAL)
		emit_journal(at, priority, fields, text.buf);
	else
		emit_stderr(priority, fields, text.buf);
cleanup:
	strbuf_free(&text);
	errno = saved_errno;
}

void log_struct_at(struct log_location at, int priority,
		   const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_structv_at(at, priority, fields, fmt, ap);
	va_end(ap);
}

void log_msg_at(struct log_location at, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_structv_at(at, priority, NULL, fmt, ap);
	va_end(ap);
}
