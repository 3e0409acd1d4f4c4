/* emu_util.c - replies, random numbers and small helpers of the emulator. */
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EMU_MAX_FILE_BYTES (64L * 1024 * 1024)

void emu_reply_clear(struct emu_reply *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void emu_reply_error(struct emu_reply *r, int status, const char *ns,
		     const char *code, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	cJSON *o = cJSON_CreateObject();
	char *type = emu_strdup_printf("%s%s", ns ? ns : "", code);
	va_list ap;

	emu_reply_clear(r);
	if (fmt) {
		va_start(ap, fmt);
		strbuf_vprintf(&msg, fmt, ap);
		va_end(ap);
	}
	if (o && type) {
		cJSON_AddStringToObject(o, "__type", type);
		if (fmt && msg.buf)
			cJSON_AddStringToObject(o, "message", msg.buf);
		else
			cJSON_AddNullToObject(o, "message");
		r->body = cJSON_PrintUnformatted(o);
	}
	r->status = status;
	r->error = code;
	r->content_type = EMU_JSON_TYPE;
	cJSON_Delete(o);
	free(type);
	strbuf_free(&msg);
}

void emu_reply_json(struct emu_reply *r, cJSON *obj)
{
	emu_reply_clear(r);
	r->body = obj ? cJSON_PrintUnformatted(obj) : NULL;
	if (!r->body) {
		emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure",
				"out of memory");
	} else {
		r->status = 200;
		r->content_type = EMU_JSON_TYPE;
	}
	cJSON_Delete(obj);
}

/* splitmix64: small, fast, and good enough for dice and ids. */
void emu_rng_seed(struct emu_rng *rng, uint64_t seed)
{
	rng->s = seed;
}

uint64_t emu_rng_next(struct emu_rng *rng)
{
	uint64_t z = (rng->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double emu_rng_unit(struct emu_rng *rng)
{
	return (double)(emu_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

void emu_iso8601(int64_t wall_ms, char out[32])
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;
	char buf[96];
	size_t n;

	gmtime_r(&s, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
	n = strlen(buf);
	if (n > 31)
		n = 31;
	memcpy(out, buf, n);
	out[n] = '\0';
}

int emu_read_file(const char *path, char **text, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		strbuf_append(&sb, chunk, (size_t)n);
		if (sb.len > EMU_MAX_FILE_BYTES) {
			r = -EFBIG;
			goto cleanup;
		}
	}
	strbuf_append(&sb, "", 0);
	r = strbuf_error(&sb);
	if (r < 0)
		goto cleanup;
	*len = sb.len;
	*text = strbuf_detach(&sb);
cleanup:
	close(fd);
	strbuf_free(&sb);
	return r;
}

char *emu_strdup_printf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (strbuf_error(&sb) < 0) {
		strbuf_free(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

void emu_uuid(struct emu_rng *rng, char out[37])
{
	uint64_t a = emu_rng_next(rng), b = emu_rng_next(rng);

	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx",
		 (unsigned)(a >> 32), (unsigned)((a >> 16) & 0xffff),
		 (unsigned)(a & 0xfff), (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
		 (unsigned long long)(b & 0xffffffffffffULL));
}
