/* test_creds.c - the credentials chain: each source with temp files and
 * environment, precedence, credential_process through the event loop,
 * refresh, container and IMDSv2 against a forked loopback server, region
 * resolution, the parsers; and, over the whole run, that no secret ever
 * reaches the log (the log runs at LOG_DEBUG into a capturing sink, and the
 * last test searches it, together with signing key and signature hex from
 * signing with these credentials). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "child.h"
#include "creds-internal.h"
#include "credsprov.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "sigv4.h"
#include "strbuf.h"

#define ENV_SECRET   "env-secret-Xq7EXAMPLEKEY"
#define ENV_TOKEN    "env-session-token-Zp3EXAMPLE"
#define SD_SECRET    "systemd-secret-Kw2EXAMPLE"
#define SD_TOKEN     "systemd-token-Vb8EXAMPLE"
#define FILE_SECRET  "credfile-secret-Jm5EXAMPLE"
#define FILE_TOKEN   "credfile-token-Hd4EXAMPLE"
#define CONF_SECRET  "config-secret-Rt6EXAMPLE"
#define PROC_SECRET  "proc-secret-Ua9EXAMPLE"
#define PROC_TOKEN   "proc-token-Ny1EXAMPLE"
#define CONT_SECRET  "container-secret-Ge2EXAMPLE"
#define CONT_TOKEN   "container-token-Fo3EXAMPLE"
#define CONT_AUTH    "container-auth-Lk4EXAMPLE"
#define IMDS_API_TOKEN "imds-api-token-Pc5EXAMPLE"
#define IMDS_SECRET  "imds-secret-Sy6EXAMPLE"
#define IMDS_TOKEN   "imds-session-token-Wi7EXAMPLE"
#define IMDS_ROLE    "test-role"

#define LOOP_MAX_ITERATIONS 400        /* x LOOP_STEP_USEC: a bound, not a pace */
#define LOOP_STEP_USEC      50000ULL

static char tmpdir[256];
static struct strbuf captured = STRBUF_INIT; /* every log line of the run */
static struct strbuf derived = STRBUF_INIT;  /* '\n'-separated hex secrets */

/* ---- fixtures -------------------------------------------------------------- */

static unsigned none_found_errors; /* "No AWS credentials found" at LOG_ERR */

static void capture(int priority, const char *line, void *userdata)
{
	(void)userdata;
	if (priority <= LOG_ERR && strstr(line, "No AWS credentials found"))
		none_found_errors++;
	strbuf_puts(&captured, line);
}

static const char *const aws_vars[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_REGION", "AWS_DEFAULT_REGION", "CREDENTIALS_DIRECTORY",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_DISABLED",
	"TEST_EXPIRATION", NULL,
};

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A clean environment and an empty HOME for every test. */
static int setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; aws_vars[i]; i++)
		unsetenv(aws_vars[i]);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_creds.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("HOME", tmpdir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static char *tmp_path(const char *name)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_printf(&sb, "%s/%s", tmpdir, name);
	return strbuf_detach(&sb);
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Write tmpdir/name and point var at it (var may be NULL). */
static void tmp_file(const char *name, const char *content, const char *var)
{
	char *p = tmp_path(name);
	char *slash = strrchr(p, '/');

	if (slash && slash != p) {
		*slash = '\0';
		mkdir(p, 0700);
		*slash = '/';
	}
	write_file(p, content, 0600);
	if (var)
		setenv(var, p, 1);
	free(p);
}

/* ---- event loop helpers ------------------------------------------------------ */

struct got {
	bool called;
	int error;
	char akid[64];
	char secret[64];
	char token[64];
	char source[32];
	time_t expiration;
};

static void on_ready(int error, const struct creds *c, void *userdata)
{
	struct got *g = userdata;

	assert_false(g->called);
	g->called = true;
	g->error = error;
	if (c) {
		assert_int_equal(error, 0);
		snprintf(g->akid, sizeof(g->akid), "%s", c->access_key_id);
		snprintf(g->secret, sizeof(g->secret), "%s",
			 c->secret_access_key);
		snprintf(g->token, sizeof(g->token), "%s",
			 c->session_token ? c->session_token : "");
		snprintf(g->source, sizeof(g->source), "%s", c->source);
		g->expiration = c->expiration;
	} else {
		assert_int_not_equal(error, 0);
	}
}

struct loop {
	sd_event *event;
	struct http_client *http;
	struct creds_chain *chain;
	unsigned fetch_ends;  /* on_fetch_end calls */
};

static void count_fetch_end(void *userdata)
{
	((struct loop *)userdata)->fetch_ends++;
}

static void loop_open(struct loop *l, bool with_http)
{
	/* a 1 s floor between background refreshes keeps the refresh test
	 * short; the timer still decides when */
	struct creds_chain_options o = { .retry_sec = 1 };

	memset(l, 0, sizeof(*l));
	assert_int_equal(sd_event_new(&l->event), 0);
	if (with_http)
		assert_int_equal(http_client_new(l->event, &l->http), 0);
	o.event = l->event;
	o.http = l->http;
	o.on_fetch_end = count_fetch_end;
	o.fetch_userdata = l;
	assert_int_equal(creds_chain_new(&o, &l->chain), 0);
}

static void loop_close(struct loop *l)
{
	creds_chain_free(l->chain);
	http_client_free(l->http);
	sd_event_unref(l->event);
}

/* Run the loop until *flag (bounded; the bound is never the pass condition). */
static void run_until(struct loop *l, const bool *flag)
{
	int i;

	for (i = 0; i < LOOP_MAX_ITERATIONS && !*flag; i++)
		assert_true(sd_event_run(l->event, LOOP_STEP_USEC) >= 0);
	assert_true(*flag);
}

/* creds_get on the chain, waiting if it goes async. */
static void get_creds(struct loop *l, struct got *g)
{
	int r;

	memset(g, 0, sizeof(*g));
	r = creds_get(l->chain, on_ready, g);
	if (r < 0) {
		g->called = true;
		g->error = r;
		return;
	}
	run_until(l, &g->called);
}

/* get_creds() on a fresh chain (with HTTP), closed again. */
static void fetch(struct got *g)
{
	struct loop l;

	loop_open(&l, true);
	get_creds(&l, g);
	loop_close(&l);
}

/* Sign a request with what we got, remember the key and signature hex so
 * that the final test can look for them in the log. */
static void sign_with(const struct got *g)
{
	struct sigv4_signer *s = NULL;
	struct sigv4_output out = SIGV4_OUTPUT_INIT;
	struct sigv4_credentials sc = { g->akid, g->secret,
					g->token[0] ? g->token : NULL };
	struct sigv4_header h[] = { { "Host", "personalize.eu-west-1.amazonaws.com" } };
	struct sigv4_request req = { .method = "POST", .path = "/", .headers = h,
				     .n_headers = 1, .body = "{}", .body_len = 2 };
	unsigned char key[SIGV4_KEY_LEN];
	char date[SIGV4_DATE_LEN + 1];

	log_debug("signing a test request");
	assert_int_equal(sigv4_signer_new(&s), 0);
	assert_int_equal(sigv4_sign(s, &sc, "eu-west-1", "personalize",
				    time(NULL), SIGV4_FLAGS_DEFAULT, &req, &out),
			 0);
	memcpy(date, out.amz_date, SIGV4_DATE_LEN);
	date[SIGV4_DATE_LEN] = '\0';
	assert_int_equal(sigv4_signing_key(g->secret, date, "eu-west-1",
					   "personalize", key), 0);
	strbuf_hex(&derived, key, sizeof(key));
	strbuf_putc(&derived, '\n');
	strbuf_puts(&derived, out.signature);
	strbuf_putc(&derived, '\n');
	OPENSSL_cleanse(key, sizeof(key));
	sigv4_output_free(&out);
	sigv4_signer_free(s);
}

/* ---- loopback server ---------------------------------------------------------- */

enum srv_mode { SRV_CONTAINER, SRV_IMDS };

struct server {
	pid_t pid;
	int port;
};

struct srv_opts {
	enum srv_mode mode;
	bool fail_first;   /* the first request gets a 500 */
	bool no_role;      /* IMDS: role listing is 404 */
	bool no_token;     /* IMDS: token PUT is 403 */
	bool refuse_token_once; /* IMDS: the first token-bearing GET is 401 */
	const char *expiration;
};

static void srv_reply(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
			 "Content-Type: application/json\r\n"
			 "Connection: close\r\n\r\n", status, strlen(body));

	(void)!write(fd, head, (size_t)n);
	(void)!write(fd, body, strlen(body));
}

/* Header value (case-insensitive name) in a raw request, copied. */
static bool srv_header(const char *req, const char *name, char *out,
		       size_t cap)
{
	const char *p = req;
	size_t n = strlen(name);

	while ((p = strchr(p, '\n'))) {
		p++;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strpbrk(v, "\r\n");
			if (!e || (size_t)(e - v) >= cap)
				return false;
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return true;
		}
	}
	return false;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void srv_handle(int fd, const struct srv_opts *o, int count)
{
	char req[8192], val[256], body[1024];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(req) - 1) {
		n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	if (o->fail_first && count == 0) {
		srv_reply(fd, 500, "{}");
		return;
	}
	if (o->mode == SRV_CONTAINER) {
		if (!starts_with(req, "GET /creds ")) {
			srv_reply(fd, 404, "{}");
			return;
		}
		if (!srv_header(req, "Authorization", val, sizeof(val)) ||
		    strcmp(val, CONT_AUTH) != 0) {
			srv_reply(fd, 401, "{}");
			return;
		}
		snprintf(body, sizeof(body),
			 "{\"AccessKeyId\":\"AKIDCONTAINER\",\"SecretAccessKey\":"
			 "\"" CONT_SECRET "\",\"Token\":\"" CONT_TOKEN "\","
			 "\"Expiration\":\"%s\"}", o->expiration);
		srv_reply(fd, 200, body);
		return;
	}
	if (starts_with(req, "PUT /latest/api/token ")) {
		if (o->no_token) {
			srv_reply(fd, 403, "");
			return;
		}
		if (!srv_header(req, "X-aws-ec2-metadata-token-ttl-seconds",
				val, sizeof(val))) {
			srv_reply(fd, 400, "");
			return;
		}
		srv_reply(fd, 200, IMDS_API_TOKEN);
		return;
	}
	if (!srv_header(req, "X-aws-ec2-metadata-token", val, sizeof(val)) ||
	    strcmp(val, IMDS_API_TOKEN) != 0 ||
	    (o->refuse_token_once && count == 1)) {
		srv_reply(fd, 401, "");
		return;
	}
	if (starts_with(req, "GET /latest/meta-data/iam/security-credentials/ ")) {
		if (o->no_role)
			srv_reply(fd, 404, "");
		else
			srv_reply(fd, 200, IMDS_ROLE "\n");
		return;
	}
	if (starts_with(req, "GET /latest/meta-data/iam/security-credentials/"
			     IMDS_ROLE " ")) {
		snprintf(body, sizeof(body),
			 "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\","
			 "\"AccessKeyId\":\"AKIDIMDS\",\"SecretAccessKey\":"
			 "\"" IMDS_SECRET "\",\"Token\":\"" IMDS_TOKEN "\","
			 "\"Expiration\":\"%s\"}", o->expiration);
		srv_reply(fd, 200, body);
		return;
	}
	srv_reply(fd, 404, "");
}

static void server_start(struct server *s, const struct srv_opts *o)
{
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int count = 0;

		for (;;) { /* ends when the parent kills us, or after idling */
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int c;

			if (poll(&p, 1, 30000) <= 0)
				_exit(0);
			c = accept(fd, NULL, NULL);
			if (c < 0)
				continue;
			srv_handle(c, o, count++);
			close(c);
		}
	}
	close(fd);
}

/* server_start(), and the environment variable var pointed at it:
 * "http://127.0.0.1:PORT" followed by path. */
static void serve(struct server *s, const struct srv_opts *o,
		  const char *var, const char *path)
{
	char url[128];

	server_start(s, o);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	setenv(var, url, 1);
}

static void server_stop(struct server *s)
{
	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void future_time(char *buf, size_t cap, time_t delta)
{
	time_t t = time(NULL) + delta;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- static sources and precedence --------------------------------------------- */

static void test_env(void **state)
{
	struct loop l;
	struct got g;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	setenv("AWS_SESSION_TOKEN", ENV_TOKEN, 1);
	loop_open(&l, false);
	/* synchronous: answered before creds_get returns */
	memset(&g, 0, sizeof(g));
	assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
	assert_true(g.called);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDENV");
	assert_string_equal(g.secret, ENV_SECRET);
	assert_string_equal(g.token, ENV_TOKEN);
	assert_string_equal(g.source, "environment");
	assert_int_equal(g.expiration, 0);
	assert_non_null(creds_peek(l.chain));
	sign_with(&g);
	loop_close(&l);

	/* half set is an error, not a fall-through */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_int_equal(g.error, -EINVAL);
	assert_null(creds_peek(l.chain));
	loop_close(&l);
}

/* A service refused the cached credentials: invalidating makes the next
 * get read the chain anew (here rotated keys in the environment), also
 * through the provider interface the call engine uses. */
static void test_invalidate(void **state)
{
	struct aws_creds_provider p;
	struct credsprov *cp = NULL;
	struct loop l;
	struct got g;

	(void)state;
	setenv("AWS_ACCESS_KEY_ID", "AKIDOLD", 1);
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	unsetenv("AWS_SESSION_TOKEN");
	loop_open(&l, false);
	creds_invalidate(l.chain);   /* nothing cached yet: harmless */
	creds_invalidate(NULL);
	get_creds(&l, &g);
	assert_string_equal(g.akid, "AKIDOLD");
	setenv("AWS_ACCESS_KEY_ID", "AKIDNEW", 1);
	get_creds(&l, &g);
	assert_string_equal(g.akid, "AKIDOLD");   /* cached */
	assert_int_equal(credsprov_new(l.chain, &cp), 0);
	credsprov_fill(cp, &p);
	assert_non_null(p.invalidate);
	p.invalidate(p.impl);
	assert_null(creds_peek(l.chain));
	get_creds(&l, &g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDNEW");
	assert_non_null(strstr(captured.buf, "were refused by a service"));
	credsprov_free(cp);
	loop_close(&l);
}

static void test_systemd(void **state)
{
	struct loop l;
	struct got g;
	char *dir = tmp_path("creds");

	(void)state;
	tmp_file("creds/" CREDS_SYSTEMD_ACCESS_KEY_ID, "AKIDSYSTEMD\n", NULL);
	tmp_file("creds/" CREDS_SYSTEMD_SECRET_ACCESS_KEY, SD_SECRET "\n", NULL);
	tmp_file("creds/" CREDS_SYSTEMD_SESSION_TOKEN, "  " SD_TOKEN "\r\n", NULL);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDSYSTEMD");
	assert_string_equal(g.secret, SD_SECRET);
	assert_string_equal(g.token, SD_TOKEN);
	assert_string_equal(g.source, "systemd-credentials");
	sign_with(&g);
	loop_close(&l);

	/* the environment comes first */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_string_equal(g.source, "environment");
	loop_close(&l);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");

	/* a missing secret is an error */
	{
		char *p = tmp_path("creds/" CREDS_SYSTEMD_SECRET_ACCESS_KEY);

		unlink(p);
		free(p);
	}
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_int_equal(g.error, -EINVAL);
	loop_close(&l);

	/* Blank files (the units' empty SetCredential= fallback when no key
	 * file is installed) mean "not given": the chain goes on. */
	tmp_file("creds/" CREDS_SYSTEMD_ACCESS_KEY_ID, "\n", NULL);
	tmp_file("creds/" CREDS_SYSTEMD_SECRET_ACCESS_KEY, "\n", NULL);
	tmp_file("creds/" CREDS_SYSTEMD_SESSION_TOKEN, " \n", NULL);
	{
		char *cf = tmp_path("blank-fallback-credentials");

		tmp_file("blank-fallback-credentials",
			 "[default]\naws_access_key_id=AKIDFILE\n"
			 "aws_secret_access_key=" FILE_SECRET "\n", NULL);
		setenv("AWS_SHARED_CREDENTIALS_FILE", cf, 1);
		free(cf);
	}
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.source, "shared-credentials-file");
	assert_string_equal(g.akid, "AKIDFILE");
	loop_close(&l);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	free(dir);
}

struct profile_case {
	const char *name;
	const char *profile;   /* AWS_PROFILE, or NULL */
	const char *credfile;  /* content or NULL */
	const char *config;    /* content or NULL */
	int want_r;
	const char *want_akid; /* NULL: expect a process command or error */
	const char *want_secret;
	const char *want_token;
	const char *want_source;
	const char *want_process;
};

static const struct profile_case profile_cases[] = {
	{ "credentials file, default profile", NULL,
	  "# comment\n; another\n[default]\n  aws_access_key_id = AKIDFILE  \n"
	  "aws_secret_access_key=" FILE_SECRET "\r\n"
	  "aws_session_token = " FILE_TOKEN " ; inline comment\n",
	  NULL, 0, "AKIDFILE", FILE_SECRET, FILE_TOKEN, "shared-credentials-file",
	  NULL },
	{ "keys are case-insensitive, sections trimmed", "dev",
	  "[ dev ]\nAWS_Access_Key_Id=AKIDDEV\nAws_Secret_Access_Key=" FILE_SECRET
	  "\n", NULL, 0, "AKIDDEV", FILE_SECRET, "", "shared-credentials-file",
	  NULL },
	{ "config file needs [profile x]", "dev", NULL,
	  "[dev]\naws_access_key_id=AKIDBARE\naws_secret_access_key=x\n"
	  "[profile   dev]\naws_access_key_id=AKIDCONF\n"
	  "aws_secret_access_key=" CONF_SECRET "\n",
	  0, "AKIDCONF", CONF_SECRET, "", "shared-config-file", NULL },
	{ "bare [x] in config is not a profile", "dev", NULL,
	  "[dev]\naws_access_key_id=AKIDBARE\naws_secret_access_key=x\n",
	  -EINVAL, NULL, NULL, NULL, NULL, NULL },
	{ "config [default] and [profile default]", NULL, NULL,
	  "[profile default]\naws_access_key_id=AKIDCONF\n[default]\n"
	  "aws_secret_access_key=" CONF_SECRET "\n",
	  0, "AKIDCONF", CONF_SECRET, "", "shared-config-file", NULL },
	{ "credentials file beats config", NULL,
	  "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key="
	  FILE_SECRET "\n",
	  "[default]\naws_access_key_id=AKIDCONF\naws_secret_access_key="
	  CONF_SECRET "\ncredential_process = /bin/false\n",
	  0, "AKIDFILE", FILE_SECRET, "", "shared-credentials-file", NULL },
	{ "credential_process beats config keys", NULL, NULL,
	  "[default]\naws_access_key_id=AKIDCONF\naws_secret_access_key="
	  CONF_SECRET "\ncredential_process = /usr/bin/get-creds --x 'a b'\n",
	  0, NULL, NULL, NULL, NULL, "/usr/bin/get-creds --x 'a b'" },
	{ "sub-properties and junk lines are skipped", NULL,
	  "garbage line\n[unterminated\n[default]\ns3 =\n  max_concurrent = 3\n"
	  "  aws_access_key_id = WRONG\naws_access_key_id = AKIDFILE\n"
	  "aws_secret_access_key = " FILE_SECRET "\n",
	  NULL, 0, "AKIDFILE", FILE_SECRET, "", "shared-credentials-file", NULL },
	{ "later values win", NULL,
	  "[default]\naws_access_key_id = AKIDOLD\naws_secret_access_key = "
	  FILE_SECRET "\n[other]\naws_access_key_id = AKIDOTHER\n[default]\n"
	  "aws_access_key_id = AKIDNEW\n",
	  NULL, 0, "AKIDNEW", FILE_SECRET, "", "shared-credentials-file", NULL },
	{ "half a key pair is an error", NULL,
	  "[default]\naws_access_key_id = AKIDFILE\n", NULL, -EINVAL, NULL, NULL,
	  NULL, NULL, NULL },
	{ "a named profile that does not exist", "nope",
	  "[default]\naws_access_key_id = A\naws_secret_access_key = B\n", NULL,
	  -EINVAL, NULL, NULL, NULL, NULL, NULL },
	{ "default profile absent: not configured", NULL,
	  "[other]\naws_access_key_id = A\naws_secret_access_key = B\n", NULL,
	  -ENOENT, NULL, NULL, NULL, NULL, NULL },
	{ "an assume-role profile has no keys of its own here", "r", NULL,
	  "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
	  "source_profile = default\n", -ENOENT, NULL, NULL, NULL, NULL, NULL },
	{ "an SSO profile has no keys of its own here", "s", NULL,
	  "[profile s]\nsso_session = corp\nsso_account_id = 123456789012\n",
	  -ENOENT, NULL, NULL, NULL, NULL, NULL },
	{ "no files at all", NULL, NULL, NULL, -ENOENT, NULL, NULL, NULL, NULL,
	  NULL },
};

static void test_profiles(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(profile_cases) / sizeof(profile_cases[0]); i++) {
		const struct profile_case *pc = &profile_cases[i];
		struct creds *c = NULL;
		char *process = NULL;
		char *p;
		int r;

		print_message("profile case: %s\n", pc->name);
		if (pc->profile)
			setenv("AWS_PROFILE", pc->profile, 1);
		else
			unsetenv("AWS_PROFILE");
		p = tmp_path("credentials");
		unlink(p);
		setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
		free(p);
		p = tmp_path("config");
		unlink(p);
		setenv("AWS_CONFIG_FILE", p, 1);
		free(p);
		if (pc->credfile)
			tmp_file("credentials", pc->credfile,
				 "AWS_SHARED_CREDENTIALS_FILE");
		if (pc->config)
			tmp_file("config", pc->config, "AWS_CONFIG_FILE");
		r = creds_from_profile(NULL, &c, &process);
		assert_int_equal(r, pc->want_r);
		if (r == 0 && pc->want_akid) {
			assert_non_null(c);
			assert_null(process);
			assert_string_equal(c->access_key_id, pc->want_akid);
			assert_string_equal(c->secret_access_key,
					    pc->want_secret);
			assert_string_equal(c->session_token ? c->session_token
							     : "",
					    pc->want_token);
			assert_string_equal(c->source, pc->want_source);
		} else if (r == 0) {
			assert_null(c);
			assert_non_null(process);
			assert_string_equal(process, pc->want_process);
		}
		creds_free(c);
		free(process);
	}
}

/* ~/.aws/ is the default location, and the files beat nothing else */
/* Assume-role profiles resolved into plans, as the SDKs read them. */
struct plan_case {
	const char *name;
	const char *profile;
	const char *config;
	int want_r;
	enum creds_base base;
	const char *hops;         /* role names, "," separated, in order */
	const char *base_profile;
	const char *log;          /* a line the log must hold, or NULL */
};

#define ROLE(n) "role_arn = arn:aws:iam::123456789012:role/" n "\n"
#define KEYS "aws_access_key_id = AKIDBASE\naws_secret_access_key = s\n"

static const struct plan_case plan_cases[] = {
	{ "source_profile with keys", "r",
	  "[profile r]\n" ROLE("R") "source_profile = base\n"
	  "[profile base]\n" KEYS, 0, CREDS_BASE_STATIC, "R", "base", NULL },
	{ "a chain of source profiles, innermost role first", "a",
	  "[profile a]\n" ROLE("A") "source_profile = b\n"
	  "[profile b]\n" ROLE("B") "source_profile = c\n"
	  "[profile c]\n" KEYS, 0, CREDS_BASE_STATIC, "B,A", "c", NULL },
	{ "static keys win over the source profile's own role", "a",
	  "[profile a]\n" ROLE("A") "source_profile = b\n"
	  "[profile b]\n" ROLE("B") "source_profile = c\n" KEYS,
	  0, CREDS_BASE_STATIC, "A", "b", NULL },
	{ "a cycle names its profiles", "a",
	  "[profile a]\n" ROLE("A") "source_profile = b\n"
	  "[profile b]\n" ROLE("B") "source_profile = a\n",
	  -EINVAL, 0, NULL, NULL, "cycle: a -> b -> a" },
	{ "a profile may be its own source with keys", "a",
	  "[profile a]\n" ROLE("A") "source_profile = a\n" KEYS,
	  0, CREDS_BASE_STATIC, "A", "a", NULL },
	{ "its own source without keys is a cycle", "a",
	  "[profile a]\n" ROLE("A") "source_profile = a\n",
	  -EINVAL, 0, NULL, NULL, "cycle: a -> a" },
	{ "credential_source Environment", "r",
	  "[profile r]\n" ROLE("R") "credential_source = Environment\n",
	  0, CREDS_BASE_ENV, "R", "r", NULL },
	{ "credential_source Ec2InstanceMetadata", "r",
	  "[profile r]\n" ROLE("R") "credential_source = Ec2InstanceMetadata\n",
	  0, CREDS_BASE_IMDS, "R", "r", NULL },
	{ "credential_source EcsContainer", "r",
	  "[profile r]\n" ROLE("R") "credential_source = EcsContainer\n",
	  0, CREDS_BASE_CONTAINER, "R", "r", NULL },
	{ "an unknown credential_source", "r",
	  "[profile r]\n" ROLE("R") "credential_source = Magic\n",
	  -EINVAL, 0, NULL, NULL, "is not one of" },
	{ "both sources", "r",
	  "[profile r]\n" ROLE("R") "credential_source = Environment\n"
	  "source_profile = r\n", -EINVAL, 0, NULL, NULL, "has both" },
	{ "no source", "r", "[profile r]\n" ROLE("R"),
	  -EINVAL, 0, NULL, NULL, "neither source_profile" },
	{ "mfa_serial is refused", "r",
	  "[profile r]\n" ROLE("R") "source_profile = b\n"
	  "mfa_serial = arn:aws:iam::123456789012:mfa/me\n[profile b]\n" KEYS,
	  -EINVAL, 0, NULL, NULL, "cannot prompt" },
	{ "a source profile with credential_process", "r",
	  "[profile r]\n" ROLE("R") "source_profile = p\n"
	  "[profile p]\ncredential_process = /bin/true\n",
	  0, CREDS_BASE_PROCESS, "R", "p", NULL },
	{ "a source profile with a web identity", "r",
	  "[profile r]\n" ROLE("R") "source_profile = w\n"
	  "[profile w]\n" ROLE("W") "web_identity_token_file = /t\n",
	  0, CREDS_BASE_WEB_IDENTITY, "R", "w", NULL },
	{ "a source profile that is missing", "r",
	  "[profile r]\n" ROLE("R") "source_profile = gone\n",
	  -EINVAL, 0, NULL, NULL, "\"gone\" not found" },
	{ "a source profile without credentials", "r",
	  "[profile r]\n" ROLE("R") "source_profile = e\n[profile e]\n"
	  "region = eu-west-1\n", -EINVAL, 0, NULL, NULL, "has no credentials" },
	{ "role_arn with a token file is a web identity profile", "w",
	  "[profile w]\n" ROLE("W") "web_identity_token_file = /t\n",
	  -ENOENT, 0, NULL, NULL, NULL },
	{ "no role_arn: not an assume-role profile", "k",
	  "[profile k]\n" KEYS, -ENOENT, 0, NULL, NULL, NULL },
	{ "bad duration_seconds", "r",
	  "[profile r]\n" ROLE("R") "source_profile = r\n" KEYS
	  "duration_seconds = 60\n", -EINVAL, 0, NULL, NULL, "900..43200" },
};

static void test_role_plans(void **state)
{
	size_t i;

	(void)state;
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	for (i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
		const struct plan_case *pc = &plan_cases[i];
		struct creds_role_plan *plan = NULL;
		char hops[256];
		size_t o = 0, k, mark;
		int r;

		print_message("plan case: %s\n", pc->name);
		setenv("AWS_PROFILE", pc->profile, 1);
		setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c", 1);
		tmp_file("config", pc->config, "AWS_CONFIG_FILE");
		mark = captured.len;   /* this case's log lines start here */
		r = creds_role_plan_new(NULL, &plan);
		assert_int_equal(r, pc->want_r);
		if (pc->log) {
			assert_non_null(captured.buf);
			assert_non_null(strstr(captured.buf + mark, pc->log));
		}
		if (r < 0)
			continue;
		assert_int_equal(plan->base, pc->base);
		assert_string_equal(plan->base_profile, pc->base_profile);
		hops[0] = '\0';
		for (k = 0; k < plan->n_hops; k++) {
			const char *arn = plan->hops[k].role_arn;

			o += (size_t)snprintf(hops + o, sizeof(hops) - o, "%s%s",
					      k ? "," : "",
					      strrchr(arn, '/') + 1);
			assert_non_null(plan->hops[k].session_name);
			assert_true(strncmp(plan->hops[k].session_name,
					    "botocore-session-", 17) == 0);
		}
		assert_string_equal(hops, pc->hops);
		creds_role_plan_free(plan);
	}
	/* the optional keys, the region and the endpoint mode */
	tmp_file("config", "[profile r]\n" ROLE("R") "source_profile = r\n" KEYS
		 "external_id = ext-1\nrole_session_name = my-session\n"
		 "duration_seconds = 1800\nregion = eu-west-3\n"
		 "sts_regional_endpoints = legacy\n", "AWS_CONFIG_FILE");
	setenv("AWS_PROFILE", "r", 1);
	{
		struct creds_role_plan *plan = NULL;

		assert_int_equal(creds_role_plan_new(NULL, &plan), 0);
		assert_string_equal(plan->hops[0].external_id, "ext-1");
		assert_string_equal(plan->hops[0].session_name, "my-session");
		assert_int_equal(plan->hops[0].duration, 1800);
		assert_string_equal(plan->region, "eu-west-3");
		assert_string_equal(plan->regional_endpoints, "legacy");
		creds_role_plan_free(plan);
		setenv("AWS_REGION", "ap-south-1", 1);
		assert_int_equal(creds_role_plan_new(NULL, &plan), 0);
		assert_string_equal(plan->region, "ap-south-1");
		creds_role_plan_free(plan);
		unsetenv("AWS_REGION");
	}
	unsetenv("AWS_PROFILE");
}

/* SSO profiles as the SDKs read them, and where the CLI caches tokens. */
static void test_sso_config(void **state)
{
	static const struct {
		const char *name, *config;
		int want_r;
		const char *session, *start, *region;
		const char *log;
	} cases[] = {
		{ "sso-session form",
		  "[profile s]\nsso_session = my-sso\nsso_account_id = 111122223333\n"
		  "sso_role_name = Dev\n[sso-session my-sso]\n"
		  "sso_start_url = https://d-123.awsapps.com/start\nsso_region = eu-west-1\n",
		  0, "my-sso", "https://d-123.awsapps.com/start", "eu-west-1", NULL },
		{ "legacy form",
		  "[profile s]\nsso_start_url = https://d-123.awsapps.com/start\n"
		  "sso_region = us-east-2\nsso_account_id = 111122223333\n"
		  "sso_role_name = Dev\n",
		  0, NULL, "https://d-123.awsapps.com/start", "us-east-2", NULL },
		{ "a session that is not there",
		  "[profile s]\nsso_session = gone\nsso_account_id = 111122223333\n"
		  "sso_role_name = Dev\n", -EINVAL, NULL, NULL, NULL,
		  "[sso-session gone]" },
		{ "profile and session disagree",
		  "[profile s]\nsso_session = my-sso\nsso_region = us-east-1\n"
		  "sso_account_id = 111122223333\nsso_role_name = Dev\n"
		  "[sso-session my-sso]\nsso_start_url = https://x\nsso_region = eu-west-1\n",
		  -EINVAL, NULL, NULL, NULL, "disagree" },
		{ "a role without an account",
		  "[profile s]\nsso_session = my-sso\nsso_role_name = Dev\n"
		  "[sso-session my-sso]\nsso_start_url = https://x\nsso_region = eu-west-1\n",
		  -EINVAL, NULL, NULL, NULL, "lacks sso_account_id" },
		{ "not an SSO profile", "[profile s]\nregion = eu-west-1\n",
		  -ENOENT, NULL, NULL, NULL, NULL },
	};
	char *path = NULL;
	size_t i;

	(void)state;
	setenv("AWS_PROFILE", "s", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/c", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct creds_sso_config *s = NULL;
		size_t mark = captured.len;
		int r;

		print_message("sso case: %s\n", cases[i].name);
		tmp_file("config", cases[i].config, "AWS_CONFIG_FILE");
		r = creds_sso_config_new(NULL, &s);
		assert_int_equal(r, cases[i].want_r);
		if (cases[i].log) {
			assert_non_null(captured.buf);
			assert_non_null(strstr(captured.buf + mark, cases[i].log));
		}
		if (r < 0)
			continue;
		if (cases[i].session)
			assert_string_equal(s->session, cases[i].session);
		else
			assert_null(s->session);
		assert_string_equal(s->start_url, cases[i].start);
		assert_string_equal(s->region, cases[i].region);
		assert_string_equal(s->account_id, "111122223333");
		assert_string_equal(s->role_name, "Dev");
		creds_sso_config_free(s);
	}
	unsetenv("AWS_PROFILE");
	/* the CLI's cache file names: SHA-1 of the session name, else of the
	 * start URL (botocore utils.SSOTokenLoader) */
	setenv("HOME", "/home/x", 1);
	assert_int_equal(creds_sso_cache_path("my-sso", "https://d-123.awsapps.com/start",
					      &path), 0);
	assert_string_equal(path, "/home/x/.aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json");
	free(path);
	assert_int_equal(creds_sso_cache_path(NULL, "https://d-123.awsapps.com/start",
					      &path), 0);
	assert_string_equal(path, "/home/x/.aws/sso/cache/2b829a45f04c9828cb45b7d092d8e4aa30818393.json");
	free(path);
}

static void test_default_paths_and_order(void **state)
{
	struct loop l;
	struct got g;

	(void)state;
	tmp_file(".aws/credentials",
		 "[default]\naws_access_key_id = AKIDHOME\n"
		 "aws_secret_access_key = " FILE_SECRET "\n", NULL);
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDHOME");
	loop_close(&l);

	/* the profile option beats AWS_PROFILE */
	tmp_file(".aws/config",
		 "[profile opt]\naws_access_key_id = AKIDOPT\n"
		 "aws_secret_access_key = " CONF_SECRET "\n", NULL);
	setenv("AWS_PROFILE", "nope", 1);
	{
		struct creds_chain_options o = { .profile = "opt" };

		memset(&l, 0, sizeof(l));
		assert_int_equal(sd_event_new(&l.event), 0);
		o.event = l.event;
		assert_int_equal(creds_chain_new(&o, &l.chain), 0);
		get_creds(&l, &g);
		assert_int_equal(g.error, 0);
		assert_string_equal(g.akid, "AKIDOPT");
		loop_close(&l);
	}
	unsetenv("AWS_PROFILE");

	/* systemd credentials come before the files */
	tmp_file("sd/" CREDS_SYSTEMD_ACCESS_KEY_ID, "AKIDSYSTEMD", NULL);
	tmp_file("sd/" CREDS_SYSTEMD_SECRET_ACCESS_KEY, SD_SECRET, NULL);
	{
		char *d = tmp_path("sd");

		setenv("CREDENTIALS_DIRECTORY", d, 1);
		free(d);
	}
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_string_equal(g.akid, "AKIDSYSTEMD");
	loop_close(&l);
}

static void test_nothing_found(void **state)
{
	struct loop l;
	struct got g;

	(void)state;
	loop_open(&l, true);
	none_found_errors = 0;
	get_creds(&l, &g);
	assert_int_equal(g.error, -ENOKEY);
	/* every call waiting for credentials asks again: said once as an
	 * error, not once per call */
	get_creds(&l, &g);
	assert_int_equal(g.error, -ENOKEY);
	assert_int_equal(none_found_errors, 1);
	loop_close(&l);
}

/* ---- credential_process ------------------------------------------------------- */

static const char proc_script[] =
	"#!/bin/sh\n"
	"n=$(cat \"$0.count\" 2>/dev/null || echo 0)\n"
	"n=$((n + 1))\n"
	"echo $n > \"$0.count\"\n"
	"[ \"$1\" = \"arg one\" ] || { echo bad args >&2; exit 3; }\n"
	"printf '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC%s\", "
	"\"SecretAccessKey\": \"" PROC_SECRET "\", \"SessionToken\": \""
	PROC_TOKEN "\"%s}' \"$n\" \"${TEST_EXPIRATION:+, \\\"Expiration\\\": "
	"\\\"$TEST_EXPIRATION\\\"}\"\n";

static void setup_process(const char *script)
{
	struct strbuf cfg = STRBUF_INIT;
	char *p = tmp_path("proc.sh");

	write_file(p, script, 0700);
	/* through /bin/sh: works even where /tmp is mounted noexec */
	strbuf_printf(&cfg,
		      "[default]\ncredential_process = /bin/sh %s \"arg one\"\n",
		      p);
	tmp_file("config", cfg.buf, "AWS_CONFIG_FILE");
	strbuf_free(&cfg);
	free(p);
}

static void test_process(void **state)
{
	struct loop l;
	struct got g;
	char exp[64];
	int r;

	(void)state;
	setup_process(proc_script);
	loop_open(&l, false);
	/* no expiration: static once fetched */
	memset(&g, 0, sizeof(g));
	assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
	assert_false(g.called); /* async: never from inside creds_get */
	run_until(&l, &g.called);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDPROC1");
	assert_string_equal(g.secret, PROC_SECRET);
	assert_string_equal(g.token, PROC_TOKEN);
	assert_string_equal(g.source, "credential-process");
	assert_int_equal(g.expiration, 0);
	assert_int_equal(l.fetch_ends, 1);  /* the fetch's end, after the get */
	sign_with(&g);
	/* second get: synchronous, same credentials */
	memset(&g, 0, sizeof(g));
	assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
	assert_true(g.called);
	assert_string_equal(g.akid, "AKIDPROC1");
	loop_close(&l);

	/* expiring within the margin: the next get waits for a refresh */
	future_time(exp, sizeof(exp), CREDS_EXPIRY_MARGIN_SEC / 2);
	setenv("TEST_EXPIRATION", exp, 1);
	loop_open(&l, false);
	get_creds(&l, &g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDPROC2");
	assert_true(g.expiration > 0);
	assert_null(creds_peek(l.chain));
	memset(&g, 0, sizeof(g));
	assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
	assert_false(g.called);
	run_until(&l, &g.called);
	assert_string_equal(g.akid, "AKIDPROC3");

	/* inside the refresh window but usable: answered at once, and a
	 * background refresh replaces them */
	future_time(exp, sizeof(exp), CREDS_REFRESH_AHEAD_SEC / 2);
	setenv("TEST_EXPIRATION", exp, 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
	run_until(&l, &g.called);
	assert_string_equal(g.akid, "AKIDPROC4");
	memset(&g, 0, sizeof(g));
	assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
	assert_true(g.called);
	assert_string_equal(g.akid, "AKIDPROC4");
	{
		unsigned ends = l.fetch_ends;
		int i;

		for (i = 0; i < LOOP_MAX_ITERATIONS; i++) {
			const struct creds *c = creds_peek(l.chain);

			if (c && strcmp(c->access_key_id, "AKIDPROC5") == 0)
				break;
			assert_true(sd_event_run(l.event, LOOP_STEP_USEC) >= 0);
		}
		assert_non_null(creds_peek(l.chain));
		assert_string_equal(creds_peek(l.chain)->access_key_id,
				    "AKIDPROC5");
		/* the background refresh's end is reported, once */
		assert_int_equal(l.fetch_ends, ends + 1);
	}
	/* cancel: a pending get never calls back */
	future_time(exp, sizeof(exp), 10);
	setenv("TEST_EXPIRATION", exp, 1);
	loop_close(&l);
	loop_open(&l, false);
	memset(&g, 0, sizeof(g));
	r = creds_get(l.chain, on_ready, &g);
	assert_int_equal(r, 0);
	creds_cancel(l.chain, &g);
	loop_close(&l); /* kills and reaps the child */
	assert_false(g.called);
}

static void test_process_failures(void **state)
{
	static const struct {
		const char *script;
		int want;
	} cases[] = {
		{ "#!/bin/sh\nexit 1\n", -EIO },
		{ "#!/bin/sh\necho 'not json'\n", -EINVAL },
		{ "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", "
		  "\"SecretAccessKey\": \"" PROC_SECRET "\"}'\n", -EINVAL },
		{ "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\"}'\n",
		  -EINVAL },
		{ "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\", "
		  "\"SecretAccessKey\": \"" PROC_SECRET "\", \"Expiration\": "
		  "\"tomorrow\"}'\n", -EINVAL },
		{ "#!/bin/sh\nkill -9 $$\n", -EIO },
		{ "#!/bin/sh\nhead -c 100000 /dev/zero\n", -EFBIG },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loop l;
		struct got g;

		print_message("process case %zu\n", i);
		setup_process(cases[i].script);
		loop_open(&l, false);
		get_creds(&l, &g);
		assert_int_equal(g.error, cases[i].want);
		loop_close(&l);
	}
	/* a program that does not exist */
	tmp_file("config", "[default]\ncredential_process = "
			   "/nonexistent/program\n", "AWS_CONFIG_FILE");
	{
		struct loop l;
		struct got g;

		loop_open(&l, false);
		get_creds(&l, &g);
		assert_int_equal(g.error, -ENOENT);
		loop_close(&l);
	}
}

/* ---- the adapter for the aws module ---------------------------------------------- */

struct got_sigv4 {
	int calls;
	int error;
	char akid[64];
};

static void on_sigv4(int error, const struct sigv4_credentials *c, void *ctx)
{
	struct got_sigv4 *g = ctx;

	g->calls++;
	g->error = error;
	if (c)
		snprintf(g->akid, sizeof(g->akid), "%s", c->access_key_id);
}

static void test_aws_adapter(void **state)
{
	struct loop l;
	struct got_sigv4 a = { 0 }, b = { 0 };
	bool done = false;
	struct aws_creds_provider p;
	struct credsprov *cp = NULL;
	int i;

	(void)state;
	setup_process(proc_script);
	loop_open(&l, false);
	/* the provider the daemon hands to the call engine */
	assert_int_equal(credsprov_new(l.chain, &cp), 0);
	credsprov_fill(cp, &p);
	assert_int_equal(p.get(p.impl, on_sigv4, &a), 0);
	assert_int_equal(p.get(p.impl, on_sigv4, &b), 0);
	p.cancel(p.impl, &b);
	assert_int_equal(a.calls, 0); /* async source */
	for (i = 0; i < LOOP_MAX_ITERATIONS && !done; i++) {
		assert_true(sd_event_run(l.event, LOOP_STEP_USEC) >= 0);
		done = a.calls > 0;
	}
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.error, 0);
	assert_string_equal(a.akid, "AKIDPROC1");
	assert_int_equal(b.calls, 0); /* cancelled */
	/* now synchronous */
	assert_int_equal(p.get(p.impl, on_sigv4, &b), 0);
	assert_int_equal(b.calls, 1);
	assert_string_equal(b.akid, "AKIDPROC1");
	/* a pending one at free time is dropped quietly */
	credsprov_free(cp);
	loop_close(&l);
}

/* ---- container and IMDS ------------------------------------------------------- */

static void test_container(void **state)
{
	struct srv_opts o = { .mode = SRV_CONTAINER, .fail_first = true };
	struct server s;
	struct loop l;
	struct got g;
	char url[128], exp[64];

	(void)state;
	future_time(exp, sizeof(exp), 6 * 3600);
	o.expiration = exp;
	serve(&s, &o, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONT_AUTH, 1);
	loop_open(&l, true);
	get_creds(&l, &g); /* the first answer is a 500: retried once */
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDCONTAINER");
	assert_string_equal(g.secret, CONT_SECRET);
	assert_string_equal(g.token, CONT_TOKEN);
	assert_string_equal(g.source, "container");
	assert_true(g.expiration > time(NULL));
	sign_with(&g);
	loop_close(&l);
	server_stop(&s);

	/* token from a file; a wrong token is refused by the server */
	o.fail_first = false;
	serve(&s, &o, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
	tmp_file("token", CONT_AUTH "\n",
		 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
	fetch(&g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDCONTAINER");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	fetch(&g);
	assert_int_equal(g.error, -EIO);
	server_stop(&s);

	/* freeing the chain while a fetch is in flight cancels it: a server
	 * that takes the connection and never answers */
	{
		struct sockaddr_in a = { 0 };
		socklen_t alen = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), i;

		assert_true(fd >= 0);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(fd, 4), 0);
		assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen),
				 0);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds",
			 ntohs(a.sin_port));
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
		loop_open(&l, true);
		memset(&g, 0, sizeof(g));
		assert_int_equal(creds_get(l.chain, on_ready, &g), 0);
		for (i = 0; i < 5; i++)
			assert_true(sd_event_run(l.event, 1000) >= 0);
		loop_close(&l);
		assert_false(g.called);
		close(fd);
	}

	/* plain http to a host that is not allowed */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds",
	       1);
	fetch(&g);
	assert_int_equal(g.error, -EINVAL);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
	       "http://user@127.0.0.1/creds", 1);
	fetch(&g);
	assert_int_equal(g.error, -EINVAL);
}

static void test_imds(void **state)
{
	struct srv_opts o = { .mode = SRV_IMDS, .fail_first = true };
	struct server s;
	struct loop l;
	struct got g;
	char exp[64];

	(void)state;
	future_time(exp, sizeof(exp), 6 * 3600);
	o.expiration = exp;
	serve(&s, &o, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "/");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	loop_open(&l, true);
	get_creds(&l, &g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDIMDS");
	assert_string_equal(g.secret, IMDS_SECRET);
	assert_string_equal(g.token, IMDS_TOKEN);
	assert_string_equal(g.source, "imds");
	sign_with(&g);
	loop_close(&l);

	server_stop(&s);

	/* a token refused (expired) on the role request: a new one, once */
	o.fail_first = false;
	o.refuse_token_once = true;
	serve(&s, &o, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
	fetch(&g);
	assert_int_equal(g.error, 0);
	assert_string_equal(g.akid, "AKIDIMDS");
	o.refuse_token_once = false;

	/* disabled: skipped */
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	fetch(&g);
	assert_int_equal(g.error, -ENOKEY);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	server_stop(&s);

	/* no role, no token: nothing found */
	o.fail_first = false;
	o.no_role = true;
	serve(&s, &o, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
	fetch(&g);
	assert_int_equal(g.error, -ENOKEY);
	server_stop(&s);
	o.no_role = false;
	o.no_token = true;
	serve(&s, &o, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
	fetch(&g);
	assert_int_equal(g.error, -ENOKEY);
	server_stop(&s);

	/* nobody listening: nothing found (connection refused, retried) */
	fetch(&g);
	assert_int_equal(g.error, -ENOKEY);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* ---- region ---------------------------------------------------------------------- */

static void test_region(void **state)
{
	const char *arns[] = { "not-an-arn",
			       "arn:aws:personalize:eu-central-1:123456789012:solution/x",
			       "arn:aws:personalize:us-west-2:1:solution/y" };
	const char *src = NULL;
	char *r = NULL;
	char buf[8];

	(void)state;
	assert_int_equal(creds_region_resolve(NULL, NULL, NULL, 0, &r, &src),
			 -ENOENT);
	assert_int_equal(creds_region_resolve(NULL, NULL, arns, 3, &r, &src), 0);
	assert_string_equal(r, "eu-central-1");
	assert_string_equal(src, "arn");
	free(r);
	tmp_file("config", "[default]\nregion = ap-south-1\n", "AWS_CONFIG_FILE");
	assert_int_equal(creds_region_resolve(NULL, NULL, arns, 3, &r, &src), 0);
	assert_string_equal(r, "ap-south-1");
	assert_string_equal(src, "profile");
	free(r);
	setenv("AWS_DEFAULT_REGION", "us-east-2", 1);
	assert_int_equal(creds_region_resolve(NULL, NULL, arns, 3, &r, &src), 0);
	assert_string_equal(r, "us-east-2");
	assert_string_equal(src, "AWS_DEFAULT_REGION");
	free(r);
	setenv("AWS_REGION", "eu-west-3", 1);
	assert_int_equal(creds_region_resolve(NULL, NULL, arns, 3, &r, &src), 0);
	assert_string_equal(r, "eu-west-3");
	assert_string_equal(src, "AWS_REGION");
	free(r);
	assert_int_equal(creds_region_resolve("cn-north-1", NULL, arns, 3, &r,
					      &src), 0);
	assert_string_equal(r, "cn-north-1");
	assert_string_equal(src, "config");
	free(r);
	assert_int_equal(creds_region_resolve("Bad Region", NULL, NULL, 0, &r,
					      NULL), -EINVAL);
	assert_int_equal(creds_region_from_arn("arn:aws:s3:::bucket", buf,
					       sizeof(buf)), -EINVAL);
	assert_int_equal(creds_region_from_arn("arn:aws:x:eu-central-1:1:y",
					       buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(creds_region_from_arn("arn:aws:x:us-east-1", buf,
					       sizeof(buf)), -EINVAL);
}

/* ---- parsers ---------------------------------------------------------------------- */

static void test_parse_time(void **state)
{
	static const struct {
		const char *s;
		int r;
		time_t t;
	} cases[] = {
		{ "2015-08-30T12:36:00Z", 0, 1440938160 },
		{ "2015-08-30T12:36:00.123456Z", 0, 1440938160 },
		{ "2015-08-30T14:36:00+02:00", 0, 1440938160 },
		{ "2015-08-30T10:36:00-0200", 0, 1440938160 },
		{ "2015-08-30 12:36:00z", 0, 1440938160 },
		{ "2015-08-30T12:36:00", -EINVAL, 0 },
		{ "2015-02-30T12:36:00Z", -EINVAL, 0 },
		{ "2015-08-30T25:00:00Z", -EINVAL, 0 },
		{ "2015-08-30T12:36:00Zjunk", -EINVAL, 0 },
		{ "2015-08-30T12:36:00.Z", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "1e9", -EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 0;

		assert_int_equal(creds_parse_time(cases[i].s, &t), cases[i].r);
		if (cases[i].r == 0)
			assert_int_equal(t, cases[i].t);
	}
}

static void test_split_command(void **state)
{
	static const struct {
		const char *cmd;
		int r;
		const char *joined; /* argv joined with '|' */
	} cases[] = {
		{ "/bin/tool --a b", 0, "/bin/tool|--a|b" },
		{ "  tool  'x y'  \"p \\\"q\\\" $r\"  ", 0, "tool|x y|p \"q\" $r" },
		{ "a\\ b c\\\\d", 0, "a b|c\\d" },
		{ "a'b'\"c\"d", 0, "abcd" },
		{ "''", 0, "" },
		{ "", -EINVAL, NULL },
		{ "   ", -EINVAL, NULL },
		{ "tool 'open", -EINVAL, NULL },
		{ "tool \"open", -EINVAL, NULL },
		{ "tool \\", -EINVAL, NULL },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **argv = NULL;
		size_t argc = 0;
		struct strbuf sb = STRBUF_INIT;

		assert_int_equal(child_split_command(cases[i].cmd, &argv, &argc),
				 cases[i].r);
		if (cases[i].r < 0)
			continue;
		for (j = 0; j < argc; j++) {
			if (j)
				strbuf_putc(&sb, '|');
			strbuf_puts(&sb, argv[j]);
		}
		assert_null(argv[argc]);
		strbuf_putc(&sb, '\0');
		assert_string_equal(sb.buf, cases[i].joined);
		strbuf_free(&sb);
		free(argv);
	}
}

static void test_http_json(void **state)
{
	static const struct {
		const char *doc;
		const char *source;
		int r;
	} cases[] = {
		{ "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}",
		  CREDS_SOURCE_CONTAINER, 0 },
		{ "{\"Code\":\"Success\",\"AccessKeyId\":\"A\","
		  "\"SecretAccessKey\":\"S\",\"Token\":\"T\"}", CREDS_SOURCE_IMDS,
		  0 },
		{ "{\"Code\":\"Failure\",\"AccessKeyId\":\"A\","
		  "\"SecretAccessKey\":\"S\"}", CREDS_SOURCE_IMDS, -EINVAL },
		{ "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
		  "\"Token\":5}", CREDS_SOURCE_CONTAINER, -EINVAL },
		{ "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"S\"}",
		  CREDS_SOURCE_CONTAINER, -EINVAL },
		{ "[]", CREDS_SOURCE_CONTAINER, -EINVAL },
		{ "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"",
		  CREDS_SOURCE_CONTAINER, -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct creds *c = NULL;

		assert_int_equal(creds_parse_http_json(cases[i].doc,
						       strlen(cases[i].doc),
						       cases[i].source, &c),
				 cases[i].r);
		creds_free(c);
	}
}

/* ---- secrets never logged ------------------------------------------------------ */

static void test_no_secret_logged(void **state)
{
	static const char *const secrets[] = {
		ENV_SECRET, ENV_TOKEN, SD_SECRET, SD_TOKEN, FILE_SECRET,
		FILE_TOKEN, CONF_SECRET, PROC_SECRET, PROC_TOKEN, CONT_SECRET,
		CONT_TOKEN, CONT_AUTH, IMDS_API_TOKEN, IMDS_SECRET, IMDS_TOKEN,
	};
	size_t i;
	char *p, *line;

	(void)state;
	assert_int_equal(strbuf_error(&captured), 0);
	assert_int_equal(strbuf_error(&derived), 0);
	/* the run did log: the scan is not vacuous */
	assert_non_null(captured.buf);
	assert_non_null(strstr(captured.buf, "signing a test request"));
	assert_non_null(strstr(captured.buf, "AWS credentials"));
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(captured.buf, secrets[i]))
			fail_msg("secret #%zu appears in the log", i);
	assert_non_null(derived.buf);
	p = derived.buf;
	i = 0;
	while ((line = strsep(&p, "\n"))) {
		if (!*line)
			continue;
		i++;
		if (strstr(captured.buf, line))
			fail_msg("signing key or signature appears in the log");
	}
	assert_true(i >= 10); /* every source signed something */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_systemd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_role_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sso_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_paths_and_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_aws_adapter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region, setup, teardown),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_split_command),
		cmocka_unit_test(test_http_json),
		cmocka_unit_test(test_no_secret_logged),
	};
	int rc;

	log_init(LOG_TARGET_STDERR, LOG_DEBUG);
	log_set_sink(capture, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	log_set_sink(NULL, NULL);
	strbuf_free(&captured);
	strbuf_free(&derived);
	return rc;
}
