/* creds_http.c - credentials over HTTP: the container endpoint and EC2
 * instance metadata (IMDSv2), through the async http client. */
#include "creds-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "log.h"

#define CONTAINER_RELATIVE_HOST "http://169.254.170.2"
#define CONTAINER_CONNECT_TIMEOUT_MS 2000u
#define CONTAINER_TOTAL_TIMEOUT_MS   5000u

#define IMDS_DEFAULT_ENDPOINT      "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_PATH  "/latest/api/token"
#define IMDS_ROLE_PATH   "/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define IMDS_TOKEN_HEADER     "X-aws-ec2-metadata-token"
#define IMDS_TOKEN_TTL_SEC    "21600"
#define IMDS_CONNECT_TIMEOUT_MS 1000u
#define IMDS_TOTAL_TIMEOUT_MS   2000u
#define IMDS_MAX_ROLE_LEN 128
/* Each HTTP step is tried at most this often (one retry). */
#define HTTP_STEP_ATTEMPTS 2

enum step { STEP_CONTAINER, STEP_IMDS_TOKEN, STEP_IMDS_ROLE, STEP_IMDS_CREDS };

struct http_job {
	struct creds_job base;
	struct http_client *http;
	struct http_request *req;
	enum step step;
	unsigned attempt;
	bool token_renewed;    /* a 401 made us fetch a new IMDS token once */
	char *url;             /* container URL, or the IMDS endpoint */
	struct strbuf secret;  /* container Authorization value, IMDS token */
	char role[IMDS_MAX_ROLE_LEN + 1];
	creds_job_done_fn done;
	void *userdata;
};

static void job_release(struct http_job *j)
{
	if (j->req)
		http_request_cancel(j->req);
	strbuf_free_secure(&j->secret);
	free(j->url);
	free(j);
}

static void job_cancel(struct creds_job *base)
{
	job_release((struct http_job *)base);
}

static void job_finish(struct http_job *j, int r, struct creds *c)
{
	creds_job_done_fn done = j->done;
	void *userdata = j->userdata;

	j->req = NULL;
	job_release(j);
	done(r, r == 0 ? c : NULL, userdata);
}

/* The instance metadata sent a token or role name it should not have:
 * the job fails. */
static void imds_malformed(struct http_job *j, const char *what)
{
	log_error("AWS credentials: the instance metadata %s is empty or "
		  "malformed", what);
	job_finish(j, -EIO, NULL);
}

static void on_reply(const struct http_response *resp, void *userdata);

/* Start the current step. */
static int step_start(struct http_job *j)
{
	struct http_header h[2];
	struct http_request_spec spec = { 0 };
	struct strbuf url = STRBUF_INIT;
	int r;

	spec.method = "GET";
	spec.headers = h;
	/* link-local endpoints: a proxy must never see these requests (nor
	 * the credentials in their replies) */
	spec.no_proxy = true;
	spec.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS;
	spec.total_timeout_ms = IMDS_TOTAL_TIMEOUT_MS;
	spec.max_response_bytes = CREDS_MAX_PROCESS_OUTPUT;
	switch (j->step) {
	case STEP_CONTAINER:
		strbuf_puts(&url, j->url);
		h[0].name = "Accept";
		h[0].value = "application/json";
		spec.n_headers = 1;
		if (j->secret.len) {
			h[1].name = "Authorization";
			h[1].value = j->secret.buf;
			spec.n_headers = 2;
		}
		spec.connect_timeout_ms = CONTAINER_CONNECT_TIMEOUT_MS;
		spec.total_timeout_ms = CONTAINER_TOTAL_TIMEOUT_MS;
		break;
	case STEP_IMDS_TOKEN:
		strbuf_printf(&url, "%s%s", j->url, IMDS_TOKEN_PATH);
		spec.method = "PUT";
		h[0].name = IMDS_TOKEN_TTL_HEADER;
		h[0].value = IMDS_TOKEN_TTL_SEC;
		spec.n_headers = 1;
		break;
	case STEP_IMDS_ROLE:
	case STEP_IMDS_CREDS:
		strbuf_printf(&url, "%s%s%s", j->url, IMDS_ROLE_PATH,
			      j->step == STEP_IMDS_CREDS ? j->role : "");
		h[0].name = IMDS_TOKEN_HEADER;
		h[0].value = j->secret.buf ? j->secret.buf : "";
		spec.n_headers = 1;
		break;
	}
	r = strbuf_error(&url);
	if (r < 0)
		goto cleanup;
	spec.url = url.buf;
	r = http_request_start(j->http, &spec, on_reply, j, &j->req);
cleanup:
	strbuf_free(&url);
	return r;
}

static const char *step_name(enum step s)
{
	switch (s) {
	case STEP_CONTAINER:
		return "the container credentials endpoint";
	case STEP_IMDS_TOKEN:
		return "the instance metadata token request";
	case STEP_IMDS_ROLE:
		return "the instance metadata role request";
	case STEP_IMDS_CREDS:
		return "the instance metadata credentials request";
	}
	return "?";
}

/* The first line of body, trimmed, into out[cap]; false if empty/long or
 * holding characters outside IAM's role name set [A-Za-z0-9+=,.@_-]. */
static bool first_role(const char *body, char *out, size_t cap)
{
	size_t n = 0;

	while (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')
		body++;
	while (body[n] && body[n] != '\n' && body[n] != '\r')
		n++;
	while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, body, n);
	out[n] = '\0';
	return strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789+=,.@_-") == n;
}

static void on_reply(const struct http_response *resp, void *userdata)
{
	struct http_job *j = userdata;
	bool imds = j->step != STEP_CONTAINER;
	struct creds *c = NULL;
	int r;

	j->req = NULL; /* dead once we return */
	if (resp->error != HTTP_OK || resp->status >= 500) {
		if (++j->attempt < HTTP_STEP_ATTEMPTS) {
			r = step_start(j);
			if (r == 0)
				return;
		} else if (resp->error != HTTP_OK) {
			/* no metadata service here is the usual case off EC2 */
			if (imds)
				log_debug("AWS credentials: %s failed: %s",
					  step_name(j->step),
					  http_error_name(resp->error));
			else
				log_error("AWS credentials: %s failed: %s (%s)",
					  step_name(j->step),
					  http_error_name(resp->error),
					  resp->error_text);
			r = imds ? -ENOKEY : -EIO;
		} else {
			log_error("AWS credentials: %s answered HTTP %ld",
				  step_name(j->step), resp->status);
			r = -EIO;
		}
		job_finish(j, r, NULL);
		return;
	}
	j->attempt = 0;
	if (resp->status == 401 && !j->token_renewed &&
	    (j->step == STEP_IMDS_ROLE || j->step == STEP_IMDS_CREDS)) {
		/* the token expired or was refused: get a new one, once */
		log_debug("AWS credentials: instance metadata token refused; "
			  "requesting a new one");
		j->token_renewed = true;
		j->step = STEP_IMDS_TOKEN;
		r = step_start(j);
		if (r < 0)
			job_finish(j, r, NULL);
		return;
	}
	if (resp->status != 200) {
		if (j->step == STEP_IMDS_TOKEN &&
		    (resp->status == 403 || resp->status == 404 ||
		     resp->status == 405)) {
			log_notice("AWS credentials: the instance metadata "
				   "service refused an IMDSv2 token (HTTP "
				   "%ld); IMDSv1 is not used", resp->status);
			r = -ENOKEY;
		} else if (j->step == STEP_IMDS_ROLE && resp->status == 404) {
			log_notice("AWS credentials: this instance has no IAM "
				   "role (instance metadata HTTP 404)");
			r = -ENOKEY;
		} else {
			log_error("AWS credentials: %s answered HTTP %ld",
				  step_name(j->step), resp->status);
			r = -EIO;
		}
		job_finish(j, r, NULL);
		return;
	}
	switch (j->step) {
	case STEP_CONTAINER:
	case STEP_IMDS_CREDS:
		r = creds_parse_http_json(resp->body, resp->body_len,
					  j->step == STEP_CONTAINER ?
					  CREDS_SOURCE_CONTAINER :
					  CREDS_SOURCE_IMDS, &c);
		if (r == 0 && j->step == STEP_CONTAINER)
			log_debug("AWS credentials: from the container "
				  "endpoint");
		else if (r == 0)
			log_debug("AWS credentials: from instance metadata, "
				  "role %s", j->role);
		job_finish(j, r, c);
		return;
	case STEP_IMDS_TOKEN:
		strbuf_free_secure(&j->secret);
		strbuf_append(&j->secret, resp->body, resp->body_len);
		while (j->secret.len > 0 &&
		       strchr(" \t\r\n", j->secret.buf[j->secret.len - 1]))
			j->secret.buf[--j->secret.len] = '\0';
		if (strbuf_error(&j->secret) || j->secret.len == 0 ||
		    strpbrk(j->secret.buf, "\r\n")) {
			imds_malformed(j, "token");
			return;
		}
		j->step = STEP_IMDS_ROLE;
		break;
	case STEP_IMDS_ROLE:
		if (!first_role(resp->body, j->role, sizeof(j->role))) {
			imds_malformed(j, "role name");
			return;
		}
		j->step = STEP_IMDS_CREDS;
		break;
	}
	r = step_start(j);
	if (r < 0)
		job_finish(j, r, NULL);
}

static struct http_job *job_new(struct http_client *http,
				creds_job_done_fn done, void *userdata)
{
	struct http_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.cancel = job_cancel;
	j->http = http;
	j->done = done;
	j->userdata = userdata;
	return j;
}

/* ---- container --------------------------------------------------------------- */

/* Is the host of an http:// URL one the SDKs allow without TLS? */
static bool container_host_allowed(const char *url)
{
	static const char *const allowed[] = {
		"localhost", "[::1]", "169.254.170.2", "169.254.170.23",
		"[fd00:ec2::23]",
	};
	const char *h = url + strlen("http://"), *e;
	char host[64];
	size_t n, i;
	unsigned a, b, c, d;
	char tail;

	e = h;
	if (*h == '[') {
		e = strchr(h, ']');
		if (!e)
			return false;
		e++;
	} else {
		while (*e && *e != ':' && *e != '/' && *e != '?' && *e != '#' &&
		       *e != '@')
			e++;
		if (*e == '@')
			return false; /* no user info */
	}
	n = (size_t)(e - h);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcasecmp(host, allowed[i]) == 0)
			return true;
	/* any 127.0.0.0/8 address */
	return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 &&
	       a == 127 && b < 256 && c < 256 && d < 256;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int creds_container_start(struct http_client *http, creds_job_done_fn done,
			  void *userdata, struct creds_job **job)
{
	const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tfile = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct strbuf url = STRBUF_INIT;
	struct http_job *j = NULL;
	int r;

	if (!rel && !full)
		return -ENOENT;
	if (!http || !done || !job)
		return -EINVAL;
	if (rel) {
		strbuf_printf(&url, "%s%s%s", CONTAINER_RELATIVE_HOST,
			      rel[0] == '/' ? "" : "/", rel);
	} else if (strncasecmp(full, "https://", 8) == 0 ||
		   (strncasecmp(full, "http://", 7) == 0 &&
		    container_host_allowed(full))) {
		strbuf_puts(&url, full);
	} else {
		log_error("AWS credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
			  "must be https, or http to a loopback address or the "
			  "container credentials addresses");
		return -EINVAL;
	}
	j = job_new(http, done, userdata);
	if (!j) {
		r = -ENOMEM;
		goto cleanup;
	}
	j->step = STEP_CONTAINER;
	if (tfile) {
		r = creds_read_file(tfile, &j->secret);
		if (r < 0) {
			log_error("AWS credentials: cannot read "
				  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: "
				  "%s", tfile, strerror(-r));
			goto cleanup;
		}
		while (j->secret.len > 0 &&
		       strchr(" \t\r\n", j->secret.buf[j->secret.len - 1]))
			j->secret.buf[--j->secret.len] = '\0';
	} else if (token) {
		strbuf_puts(&j->secret, token);
	}
	if (strbuf_error(&j->secret)) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (j->secret.buf && strpbrk(j->secret.buf, "\r\n")) {
		log_error("AWS credentials: the container authorization token "
			  "holds a line break");
		r = -EINVAL;
		goto cleanup;
	}
	j->url = strbuf_detach(&url);
	if (!j->url) {
		r = -ENOMEM;
		goto cleanup;
	}
	r = step_start(j);
	if (r < 0)
		goto cleanup;
	*job = &j->base;
	j = NULL;
cleanup:
	if (j)
		job_release(j);
	strbuf_free(&url);
	return r;
}

/* ---- IMDSv2 ------------------------------------------------------------------ */

int creds_imds_start(struct http_client *http, creds_job_done_fn done,
		     void *userdata, struct creds_job **job)
{
	const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
	const char *ep = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	struct http_job *j;
	size_t n;
	int r;

	if (disabled && strcasecmp(disabled, "true") == 0)
		return -ENOENT;
	if (!http || !done || !job)
		return -EINVAL;
	if (!ep)
		ep = mode && strcasecmp(mode, "IPv6") == 0
			     ? IMDS_DEFAULT_ENDPOINT_IPV6
			     : IMDS_DEFAULT_ENDPOINT;
	if (strncasecmp(ep, "http://", 7) != 0 &&
	    strncasecmp(ep, "https://", 8) != 0) {
		log_error("AWS credentials: AWS_EC2_METADATA_SERVICE_ENDPOINT "
			  "must be an http:// or https:// URL");
		return -EINVAL;
	}
	j = job_new(http, done, userdata);
	if (!j)
		return -ENOMEM;
	j->url = strdup(ep);
	if (!j->url) {
		job_release(j);
		return -ENOMEM;
	}
	n = strlen(j->url);
	while (n > 0 && j->url[n - 1] == '/')
		j->url[--n] = '\0';
	j->step = STEP_IMDS_TOKEN;
	r = step_start(j);
	if (r < 0) {
		job_release(j);
		return r;
	}
	*job = &j->base;
	return 0;
}
