/* creds_static.c - the credentials object and the static sources:
 * environment variables and systemd credentials; see include/creds.h. */
#include "creds-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"

void creds_free_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void creds_free(struct creds *c)
{
	if (!c)
		return;
	creds_free_secret(c->access_key_id);
	creds_free_secret(c->secret_access_key);
	creds_free_secret(c->session_token);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

int creds_new(const char *access_key_id, const char *secret_access_key,
	      const char *session_token, time_t expiration, const char *source,
	      struct creds **out)
{
	struct creds *c;

	if (!out || !access_key_id || !*access_key_id || !secret_access_key ||
	    !*secret_access_key)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->access_key_id = strdup(access_key_id);
	c->secret_access_key = strdup(secret_access_key);
	if (session_token && *session_token)
		c->session_token = strdup(session_token);
	if (!c->access_key_id || !c->secret_access_key ||
	    (session_token && *session_token && !c->session_token)) {
		creds_free(c);
		return -ENOMEM;
	}
	c->expiration = expiration;
	c->source = source ? source : "unknown";
	*out = c;
	return 0;
}

void creds_to_sigv4(const struct creds *c, struct sigv4_credentials *out)
{
	out->access_key_id = c->access_key_id;
	out->secret_access_key = c->secret_access_key;
	out->session_token = c->session_token;
}

int creds_read_file(const char *path, struct strbuf *sb)
{
	char buf[4096];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto cleanup;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		if (sb->len + (size_t)n > CREDS_MAX_FILE_BYTES) {
			r = -EFBIG;
			goto cleanup;
		}
		strbuf_append(sb, buf, (size_t)n);
	}
	r = strbuf_error(sb);
	if (r == 0 && !sb->buf)
		strbuf_append(sb, "", 0);
	r = r ? r : strbuf_error(sb);
cleanup:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

/* ---- environment ---------------------------------------------------------- */

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int creds_from_env(struct creds **out)
{
	const char *akid = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
	const char *token = env_nonempty("AWS_SESSION_TOKEN");

	if (!akid && !secret)
		return -ENOENT;
	if (!akid || !secret) {
		log_error("AWS credentials: %s is set but %s is not; set both "
			  "or neither", akid ? "AWS_ACCESS_KEY_ID"
					     : "AWS_SECRET_ACCESS_KEY",
			  akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -EINVAL;
	}
	return creds_new(akid, secret, token, 0, CREDS_SOURCE_ENV, out);
}

/* ---- systemd credentials -------------------------------------------------- */

/* Read $CREDENTIALS_DIRECTORY/name, trimmed, into sb; -ENOENT if absent. */
static int read_credential(const char *dir, const char *name,
			   struct strbuf *sb)
{
	struct strbuf path = STRBUF_INIT;
	size_t start = 0;
	int r;

	strbuf_printf(&path, "%s/%s", dir, name);
	r = strbuf_error(&path);
	if (r < 0)
		goto cleanup;
	r = creds_read_file(path.buf, sb);
	if (r < 0) {
		if (r != -ENOENT)
			log_error("AWS credentials: cannot read systemd "
				  "credential %s: %s", path.buf, strerror(-r));
		goto cleanup;
	}
	while (sb->len > 0 && (sb->buf[sb->len - 1] == '\n' ||
			       sb->buf[sb->len - 1] == '\r' ||
			       sb->buf[sb->len - 1] == ' ' ||
			       sb->buf[sb->len - 1] == '\t'))
		sb->buf[--sb->len] = '\0';
	while (start < sb->len && (sb->buf[start] == ' ' ||
				   sb->buf[start] == '\t' ||
				   sb->buf[start] == '\n' ||
				   sb->buf[start] == '\r'))
		start++;
	if (start) {
		memmove(sb->buf, sb->buf + start, sb->len - start + 1);
		sb->len -= start;
	}
	if (sb->len == 0) {
		/* The units pair each LoadCredential= with an empty
		 * SetCredential= fallback so that they also start without key
		 * files (instance role, profile): empty means "not given". */
		log_debug("AWS credentials: systemd credential %s is empty: "
			  "not given", path.buf);
		r = -ENOENT;
	} else if (memchr(sb->buf, '\n', sb->len)) {
		log_error("AWS credentials: systemd credential %s has more "
			  "than one line", path.buf);
		r = -EINVAL;
	}
cleanup:
	strbuf_free(&path);
	return r;
}

int creds_from_systemd(struct creds **out)
{
	const char *dir = env_nonempty("CREDENTIALS_DIRECTORY");
	struct strbuf akid = STRBUF_INIT, secret = STRBUF_INIT;
	struct strbuf token = STRBUF_INIT;
	int ra, rs, rt, r;

	if (!dir)
		return -ENOENT;
	ra = read_credential(dir, CREDS_SYSTEMD_ACCESS_KEY_ID, &akid);
	rs = read_credential(dir, CREDS_SYSTEMD_SECRET_ACCESS_KEY, &secret);
	if (ra == -ENOENT && rs == -ENOENT) {
		r = -ENOENT;
		goto cleanup;
	}
	if (ra == -ENOENT || rs == -ENOENT) {
		log_error("AWS credentials: systemd credential %s is missing "
			  "(%s is there); load both",
			  ra == -ENOENT ? CREDS_SYSTEMD_ACCESS_KEY_ID
					: CREDS_SYSTEMD_SECRET_ACCESS_KEY,
			  ra == -ENOENT ? CREDS_SYSTEMD_SECRET_ACCESS_KEY
					: CREDS_SYSTEMD_ACCESS_KEY_ID);
		r = -EINVAL;
		goto cleanup;
	}
	if (ra < 0 || rs < 0) {
		r = ra < 0 ? ra : rs;
		goto cleanup;
	}
	rt = read_credential(dir, CREDS_SYSTEMD_SESSION_TOKEN, &token);
	if (rt < 0 && rt != -ENOENT) {
		r = rt;
		goto cleanup;
	}
	r = creds_new(akid.buf, secret.buf, rt == 0 ? token.buf : NULL, 0,
		      CREDS_SOURCE_SYSTEMD, out);
cleanup:
	strbuf_free_secure(&akid);
	strbuf_free_secure(&secret);
	strbuf_free_secure(&token);
	return r;
}
