/* emu_main.c - personalize-emulator: the HTTP side.
 *
 * libmicrohttpd runs one thread per connection (so a slow reply holds up
 * only its own client); every call into the world, the faults, the
 * credentials and the ledger happens under one mutex. The main thread only
 * waits for SIGTERM/SIGINT (blocked everywhere, taken with sigwait), then
 * stops the daemon: delays in progress wake up at once, so a test run is
 * never held up by the emulator. See tests/emulator/README.md. */
#include "emu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "exitcodes.h"
#include "log.h"
#include "wallclock.h"

#define EMU_MAX_BODY (1024 * 1024)
#define EMU_SERVICE "personalize"
#define EMU_S3_SERVICE "s3"
#define EMU_S3_OPERATION "S3:HeadObject"
#define EMU_S3_LIST_OPERATION "S3:ListObjectsV2"
#define EMU_S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EMU_TARGET_PREFIX "AmazonPersonalize."
/* EventBridge's PutEvents, served beside Personalize (emu_events.c) */
#define EMU_EVENTS_TARGET "AWSEvents.PutEvents"
#define EMU_EVENTS_SERVICE "events"
#define EMU_ADMIN_PREFIX "/_emulator/"
#define EMU_IMDS_TOKEN_PATH "/latest/api/token"
#define EMU_IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define EMU_IMDS_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define EMU_IMDS_TOKEN_HEADER "X-aws-ec2-metadata-token"
#define EMU_IMDS_MAX_TTL_S 21600
#define EMU_MAX_IMDS_TOKENS 64
#define EMU_DEFAULT_CRED_TTL_S 900
#define EMU_CRED_PRUNE_GRACE_MS (3600LL * 1000)
#define EMU_CONN_TIMEOUT_S 120
#define EMU_MAX_CONNECTIONS 4096          /* 1,000 pipelines, each with a few */
#define EMU_THREAD_STACK (512 * 1024)     /* per connection thread */
#define EMU_LISTEN_BACKLOG 1024
#define EMU_MODEL_REL "tests/data/personalize/service-2.json"

struct imds_token {
	char value[65];
	int64_t expires_ms;
};

static struct server {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	int64_t offset_ms; /* virtual time added by POST /_emulator/advance */
	int64_t skew_ms;   /* --clock-skew / POST /_emulator/clock: our wall clock is off */
	struct emu_model *model;
	struct emu_world *world;
	struct emu_creds creds;
	struct emu_faults faults;
	struct emu_policies policies;
	struct emu_s3 s3;
	unsigned s3_list_cap;   /* the world's s3ListMaxKeys; 0: none */
	struct emu_rng ids;
	FILE *ledger;
	uint64_t seq;
	/* temporary credentials */
	long cred_ttl_s;
	char *imds_role;
	char *container_path;
	char *container_token;
	char *cur_temp_akid;
	int64_t cur_temp_issued_ms;
	struct imds_token tokens[EMU_MAX_IMDS_TOKENS];
	size_t ntokens;
} g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

struct conn_ctx {
	char *raw_path; /* the request target as sent, without the query */
	struct strbuf body;
	bool started, too_large;
};

struct kv_vec {
	struct emu_kv *v;
	size_t n, cap;
	bool oom;
};

static struct emu_clock clock_now(void)
{
	struct timespec m, w;
	struct emu_clock c;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	c.mono_ms = (int64_t)m.tv_sec * 1000 + m.tv_nsec / 1000000 +
		    __atomic_load_n(&g.offset_ms, __ATOMIC_SEQ_CST);
	c.wall_ms = (int64_t)w.tv_sec * 1000 + w.tv_nsec / 1000000 +
		    __atomic_load_n(&g.skew_ms, __ATOMIC_SEQ_CST);
	/* the one place the test time scale (wallclock.h) enters: resources'
	 * timestamps, on the daemon's scaled clock; signatures, Date and
	 * credentials stay on wall_ms, as the daemon's host clock does */
	c.scale = (int64_t)wallclock_scale();
	c.api_ms = wallclock_scaled_from_real_usec((int64_t)w.tv_sec * 1000000 +
						   w.tv_nsec / 1000) / 1000 +
		   __atomic_load_n(&g.skew_ms, __ATOMIC_SEQ_CST);
	return c;
}

/* ---- MHD helpers ------------------------------------------------------------ */

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	struct kv_vec *v = cls;

	(void)kind;
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 16;
		struct emu_kv *nv = realloc(v->v, nc * sizeof(*nv));

		if (!nv) {
			v->oom = true;
			return MHD_NO;
		}
		v->v = nv;
		v->cap = nc;
	}
	v->v[v->n].name = key;
	v->v[v->n].value = value ? value : "";
	v->n++;
	return MHD_YES;
}

/* RFC 7231 Date from our (possibly skewed) clock: clients correct their
 * clock skew from it, as the SDKs do. */
static void add_date(struct MHD_Response *resp)
{
	time_t t = (time_t)(clock_now().wall_ms / 1000);
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, buf);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, int status,
				 const char *type, const char *body,
				 const char *request_id)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	add_date(resp);
	if (request_id)
		MHD_add_response_header(resp, "x-amzn-RequestId", request_id);
	ret = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	enum MHD_Result ret;

	cJSON_Delete(o);
	if (!s)
		return MHD_NO;
	ret = send_text(conn, status, "application/json", s, NULL);
	free(s);
	return ret;
}

struct cut_body {
	char *data;
	size_t sent_limit;
};

static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cut_body *c = cls;
	size_t n;

	if (pos >= c->sent_limit)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = c->sent_limit - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(buf, c->data + pos, n);
	return (ssize_t)n;
}

static void cut_free(void *cls)
{
	struct cut_body *c = cls;

	free(c->data);
	free(c);
}

/* Wait up to ms, waking early when the server stops. Called without the lock. */
static void pause_ms(long ms)
{
	struct timespec until;

	if (ms <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g.lock);
	while (!g.stopping &&
	       pthread_cond_timedwait(&g.wake, &g.lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&g.lock);
}

/* The "reset" fault: make closing the connection send RST (SO_LINGER 0);
 * the caller then answers MHD_NO so that MHD closes it. */
static void reset_on_close(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (ci)
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* ---- ledger ----------------------------------------------------------------- */

struct ledger_entry {
	const char *operation;
	const char *akid;
	bool sig_checked, sig_ok;
	cJSON *params; /* consumed */
	const struct emu_reply *reply;
	const char *fault;
	const char *fault_phase;
	const char *request_id;
	int64_t wall_ms;
	const char *result_arn;
};

/* Append one JSON line; called with the lock held. */
static void ledger_write(const struct ledger_entry *e)
{
	cJSON *o;
	char ts[32], *line;

	if (!g.ledger) {
		cJSON_Delete(e->params);
		return;
	}
	o = cJSON_CreateObject();
	emu_iso8601(e->wall_ms, ts);
	cJSON_AddNumberToObject(o, "seq", (double)g.seq);
	cJSON_AddStringToObject(o, "time", ts);
	cJSON_AddStringToObject(o, "requestId", e->request_id);
	cJSON_AddStringToObject(o, "operation", e->operation);
	if (e->akid)
		cJSON_AddStringToObject(o, "accessKeyId", e->akid);
	else
		cJSON_AddNullToObject(o, "accessKeyId");
	{
		/* who signed: an assumed role's ARN, or the key's identity */
		const struct emu_cred *c = e->akid && e->sig_ok ?
			emu_creds_find(&g.creds, e->akid) : NULL;

		if (c)
			cJSON_AddStringToObject(o, "identity",
						c->arn ? c->arn : EMU_DEFAULT_IDENTITY);
	}
	if (e->sig_checked)
		cJSON_AddBoolToObject(o, "signatureOk", e->sig_ok);
	else
		cJSON_AddNullToObject(o, "signatureOk");
	cJSON_AddItemToObject(o, "params", e->params ? e->params : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "status", e->reply->status);
	if (e->reply->error)
		cJSON_AddStringToObject(o, "error", e->reply->error);
	else
		cJSON_AddNullToObject(o, "error");
	if (e->fault) {
		cJSON_AddStringToObject(o, "fault", e->fault);
		cJSON_AddStringToObject(o, "faultPhase", e->fault_phase);
	} else {
		cJSON_AddNullToObject(o, "fault");
	}
	if (e->result_arn)
		cJSON_AddStringToObject(o, "resultArn", e->result_arn);
	line = cJSON_PrintUnformatted(o);
	if (line) {
		fprintf(g.ledger, "%s\n", line);
		fflush(g.ledger);
	}
	free(line);
	cJSON_Delete(o);
}

/* ---- temporary credentials --------------------------------------------------- */

static void random_text(char *out, size_t n, const char *alphabet)
{
	size_t al = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[emu_rng_next(&g.ids) % al];
	out[n] = '\0';
}

#define ALNUM_UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/* The credentials currently handed out; minted anew every half TTL. Lock held. */
static const struct emu_cred *temp_cred(int64_t now_ms)
{
	const struct emu_cred *c = g.cur_temp_akid ? emu_creds_find(&g.creds, g.cur_temp_akid) : NULL;
	char akid[21], secret[41], token[161];

	if (c && now_ms < g.cur_temp_issued_ms + g.cred_ttl_s * 500 &&
	    now_ms < c->expires_wall_ms)
		return c;
	emu_creds_prune(&g.creds, now_ms, EMU_CRED_PRUNE_GRACE_MS);
	memcpy(akid, "ASIA", 4);
	random_text(akid + 4, 16, ALNUM_UPPER);
	random_text(secret, 40, B64);
	random_text(token, 160, B64);
	if (emu_creds_add(&g.creds, akid, secret, token, now_ms + g.cred_ttl_s * 1000) < 0)
		return NULL;
	{
		char *arn = emu_strdup_printf("arn:aws:sts::" EMU_DEFAULT_ACCOUNT
					      ":assumed-role/%s/i-emulator", g.imds_role);

		if (arn)
			(void)emu_creds_set_arn(&g.creds, akid, arn);
		free(arn);
	}
	free(g.cur_temp_akid);
	g.cur_temp_akid = strdup(akid);
	g.cur_temp_issued_ms = now_ms;
	return emu_creds_find(&g.creds, akid);
}

static cJSON *cred_json(const struct emu_cred *c, int64_t now_ms, bool imds)
{
	cJSON *o = cJSON_CreateObject();
	char exp[32], upd[32];

	emu_iso8601(c->expires_wall_ms, exp);
	emu_iso8601(now_ms, upd);
	/* AWS prints these without milliseconds. */
	strcpy(exp + 19, "Z");
	strcpy(upd + 19, "Z");
	if (imds) {
		cJSON_AddStringToObject(o, "Code", "Success");
		cJSON_AddStringToObject(o, "LastUpdated", upd);
		cJSON_AddStringToObject(o, "Type", "AWS-HMAC");
	}
	cJSON_AddStringToObject(o, "AccessKeyId", c->akid);
	cJSON_AddStringToObject(o, "SecretAccessKey", c->secret);
	cJSON_AddStringToObject(o, "Token", c->token);
	cJSON_AddStringToObject(o, "Expiration", exp);
	if (!imds) {
		char *role = emu_strdup_printf("arn:aws:iam::123456789012:role/%s", g.imds_role);

		if (role)
			cJSON_AddStringToObject(o, "RoleArn", role);
		free(role);
	}
	return o;
}

static bool imds_token_ok(const char *tok, int64_t now_ms)
{
	for (size_t i = 0; tok && i < g.ntokens; i++)
		if (!strcmp(g.tokens[i].value, tok) && g.tokens[i].expires_ms > now_ms)
			return true;
	return false;
}

/* One answer of a credential endpoint, built under the lock, sent after. */
struct ep_reply {
	const char *what;   /* ledger name, also what fault rules match */
	int status;
	const char *ctype;
	char *body;         /* malloc'd */
	char ttl[24];       /* IMDS token TTL header value, "" if none */
};

static void ep_set(struct ep_reply *e, const char *what, int status,
		   const char *ctype, const char *body)
{
	e->what = what;
	e->status = status;
	e->ctype = ctype;
	free(e->body);
	e->body = strdup(body);
}

/* Credential endpoints fail as their real counterparts can: rules naming
 * "IMDS:token", "IMDS:role", "IMDS:credentials" or "ContainerCredentials"
 * (never "*") apply here. Lock held. */
static enum emu_fault_kind ep_fault(struct ep_reply *e, struct emu_fault_rule *hit)
{
	enum emu_fault_kind k = emu_faults_pick(&g.faults, e->what, true, hit);

	switch (k) {
	case EMU_FAULT_THROTTLE:
		ep_set(e, e->what, 429, "text/plain", "Too Many Requests");
		break;
	case EMU_FAULT_500:
		ep_set(e, e->what, 500, "text/plain", "Internal Server Error");
		break;
	case EMU_FAULT_503:
		ep_set(e, e->what, 503, "text/plain", "Service Unavailable");
		break;
	case EMU_FAULT_MALFORMED:
		ep_set(e, e->what, 200, e->ctype, "{\"AccessKeyId\": <html>");
		break;
	case EMU_FAULT_TRUNCATED:
	case EMU_FAULT_CUT:
		if (e->body)
			e->body[strlen(e->body) / 2] = '\0';
		break;
	case EMU_FAULT_CONTENT_TYPE:
		ep_set(e, e->what, 200, "text/html", "<html><body>captive portal</body></html>");
		break;
	default:
		break;
	}
	return k;
}

static enum MHD_Result ep_send(struct MHD_Connection *conn, struct ep_reply *e,
			       enum emu_fault_kind k, const struct emu_fault_rule *hit)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	pause_ms(hit->delay_ms);
	if (k == EMU_FAULT_RESET || k == EMU_FAULT_DROP || !e->body) {
		if (k == EMU_FAULT_RESET)
			reset_on_close(conn);
		free(e->body);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(strlen(e->body), e->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(e->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, e->ctype);
	if (e->ttl[0])
		MHD_add_response_header(resp, EMU_IMDS_TTL_HEADER, e->ttl);
	add_date(resp);
	ret = MHD_queue_response(conn, (unsigned int)e->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* IMDSv2. Lock held; fills e. */
static void imds(struct MHD_Connection *conn, const char *url, const char *method,
		 const struct emu_clock *now, struct ep_reply *e, const char **akid)
{
	const char *ttl_h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, EMU_IMDS_TTL_HEADER);
	const char *tok = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, EMU_IMDS_TOKEN_HEADER);

	if (!strcmp(url, EMU_IMDS_TOKEN_PATH)) {
		char *end = NULL;
		long ttl = ttl_h ? strtol(ttl_h, &end, 10) : 0;
		struct imds_token *t;

		if (strcmp(method, "PUT")) {
			ep_set(e, "IMDS:token", 405, "text/plain", "Method Not Allowed");
			return;
		}
		if (!ttl_h || !end || *end || ttl < 1 || ttl > EMU_IMDS_MAX_TTL_S ||
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For")) {
			ep_set(e, "IMDS:token", 400, "text/plain", "Bad Request");
			return;
		}
		if (g.ntokens == EMU_MAX_IMDS_TOKENS) {
			memmove(&g.tokens[0], &g.tokens[1], sizeof(g.tokens[0]) * (EMU_MAX_IMDS_TOKENS - 1));
			g.ntokens--;
		}
		t = &g.tokens[g.ntokens++];
		random_text(t->value, 56, B64);
		t->expires_ms = now->wall_ms + ttl * 1000;
		ep_set(e, "IMDS:token", 200, "text/plain", t->value);
		snprintf(e->ttl, sizeof(e->ttl), "%ld", ttl);
		return;
	}
	if (strncmp(url, EMU_IMDS_CREDS_PATH, strlen(EMU_IMDS_CREDS_PATH)) &&
	    strcmp(url, "/latest/meta-data/iam/security-credentials")) {
		ep_set(e, "IMDS:other", 404, "text/plain", "Not Found");
		return;
	}
	url += strlen(url) >= strlen(EMU_IMDS_CREDS_PATH) ? strlen(EMU_IMDS_CREDS_PATH) : strlen(url);
	if (!imds_token_ok(tok, now->wall_ms)) {
		ep_set(e, *url ? "IMDS:credentials" : "IMDS:role", 401, "text/plain", "Unauthorized");
		return;
	}
	if (!*url) {
		ep_set(e, "IMDS:role", 200, "text/plain", g.imds_role);
		return;
	}
	if (strcmp(url, g.imds_role)) {
		ep_set(e, "IMDS:credentials", 404, "text/plain", "Not Found");
		return;
	}
	{
		const struct emu_cred *c = temp_cred(now->wall_ms);
		cJSON *o = c ? cred_json(c, now->wall_ms, true) : NULL;

		e->what = "IMDS:credentials";
		e->status = 200;
		e->ctype = "text/plain";
		e->body = o ? cJSON_Print(o) : NULL;
		cJSON_Delete(o);
		if (!e->body)
			ep_set(e, "IMDS:credentials", 500, "text/plain", "Internal Server Error");
		*akid = c ? c->akid : NULL;
	}
}

/* Container credentials. Lock held; fills e. */
static void container(struct MHD_Connection *conn, const struct emu_clock *now,
		      struct ep_reply *e, const char **akid)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const struct emu_cred *c;
	cJSON *o;

	if (g.container_token && (!auth || strcmp(auth, g.container_token))) {
		ep_set(e, "ContainerCredentials", 401, "application/json",
		       "{\"message\":\"Unauthorized\"}");
		return;
	}
	c = temp_cred(now->wall_ms);
	o = c ? cred_json(c, now->wall_ms, false) : NULL;
	e->what = "ContainerCredentials";
	e->status = 200;
	e->ctype = "application/json";
	e->body = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!e->body)
		ep_set(e, "ContainerCredentials", 500, "application/json", "{}");
	*akid = c ? c->akid : NULL;
}

static enum MHD_Result handle_credentials(struct MHD_Connection *conn, const char *url,
					  const char *method, bool is_imds)
{
	struct ep_reply e = { 0 };
	struct emu_fault_rule hit = { 0 };
	struct emu_clock now = clock_now();
	enum emu_fault_kind k;
	const char *akid = NULL;
	struct emu_reply r = { 0 };
	char rid[37];
	struct ledger_entry le = { 0 };

	pthread_mutex_lock(&g.lock);
	if (is_imds)
		imds(conn, url, method, &now, &e, &akid);
	else
		container(conn, &now, &e, &akid);
	k = ep_fault(&e, &hit);
	emu_uuid(&g.ids, rid);
	g.seq++;
	r.status = e.status;
	le.operation = e.what;
	le.akid = k == EMU_FAULT_NONE ? akid : NULL;
	le.reply = &r;
	le.fault = k != EMU_FAULT_NONE ? emu_fault_name(k) : NULL;
	le.fault_phase = "before";
	le.request_id = rid;
	le.wall_ms = now.wall_ms;
	ledger_write(&le);
	pthread_mutex_unlock(&g.lock);
	return ep_send(conn, &e, k, &hit);
}

/* ---- admin -------------------------------------------------------------------- */

static enum MHD_Result admin_error(struct MHD_Connection *conn, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "message", msg);
	return send_json(conn, status, o);
}

static bool loopback_client(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *in;

	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return false;
	in = (const struct sockaddr_in *)(const void *)ci->client_addr;
	return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
}

/* Batch jobs that finished write their output objects: whatever reads
 * S3 (HeadObject, ListObjectsV2, the admin endpoint) sees them. Under
 * the lock. */
static void publish_batch_outputs(const struct emu_clock *now)
{
	if (emu_world_publish(g.world, now) < 0)
		fprintf(stderr, "personalize-emulator: batch job outputs: out of memory\n");
}

static cJSON *state_json(const struct emu_clock *now)
{
	cJSON *o = cJSON_CreateObject(), *a;

	publish_batch_outputs(now);
	cJSON_AddItemToObject(o, "world", emu_world_state(g.world, now));
	cJSON_AddItemToObject(o, "faults", emu_faults_json(&g.faults));
	cJSON_AddItemToObject(o, "s3Objects", emu_s3_json(&g.s3));
	cJSON_AddNumberToObject(o, "requests", (double)g.seq);
	cJSON_AddNumberToObject(o, "clockOffsetMs", (double)g.offset_ms);
	cJSON_AddNumberToObject(o, "clockSkewS", (double)g.skew_ms / 1000.0);
	cJSON_AddNumberToObject(o, "clockScale", (double)wallclock_scale());
	cJSON_AddNumberToObject(o, "clockAnchor", (double)wallclock_anchor());
	a = cJSON_AddArrayToObject(o, "credentials");
	for (size_t i = 0; i < g.creds.n; i++) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "accessKeyId", g.creds.v[i].akid);
		cJSON_AddBoolToObject(c, "temporary", g.creds.v[i].token != NULL);
		if (g.creds.v[i].expires_wall_ms) {
			char ts[32];

			emu_iso8601(g.creds.v[i].expires_wall_ms, ts);
			cJSON_AddStringToObject(c, "expiration", ts);
		}
		cJSON_AddItemToArray(a, c);
	}
	return o;
}

static enum MHD_Result handle_admin(struct MHD_Connection *conn, const char *url,
				    const char *method, const struct conn_ctx *ctx)
{
	struct emu_clock now = clock_now();
	const char *what = url + strlen(EMU_ADMIN_PREFIX);
	cJSON *body = NULL, *out = NULL;
	char *err = NULL;
	enum MHD_Result ret;
	int r = 0;

	if (!loopback_client(conn) ||
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Target"))
		return admin_error(conn, 403, "the admin endpoint is loopback-only and never a Personalize operation");
	if (!strcmp(method, "POST")) {
		body = cJSON_ParseWithLength(ctx->body.buf ? ctx->body.buf : "{}",
					     ctx->body.buf ? ctx->body.len : 2);
		if (!body)
			return admin_error(conn, 400, "body is not JSON");
	}
	pthread_mutex_lock(&g.lock);
	if (!strcmp(what, "state") && !strcmp(method, "GET")) {
		out = state_json(&now);
	} else if (!strcmp(what, "faults") && !strcmp(method, "GET")) {
		out = emu_faults_json(&g.faults);
	} else if (!strcmp(what, "faults") && body) {
		const cJSON *script = cJSON_GetObjectItemCaseSensitive(body, "script");

		r = emu_faults_set(&g.faults, body, &err);
		if (r == 0 && script)
			r = emu_world_set_script(g.world, script, &err);
		if (r == 0)
			out = emu_faults_json(&g.faults);
	} else if (!strcmp(what, "s3") && body) {
		/* Change (or add) an S3 object: tests simulate new data. */
		r = emu_s3_put(&g.s3, body, now.wall_ms, &err);
		if (r == 0)
			out = emu_s3_json(&g.s3);
	} else if (!strcmp(what, "s3") && !strcmp(method, "GET")) {
		publish_batch_outputs(&now);
		out = emu_s3_json(&g.s3);
	} else if (!strcmp(what, "script") && body) {
		r = emu_world_set_script(g.world, body, &err);
		if (r == 0)
			out = cJSON_CreateObject();
	} else if (!strcmp(what, "advance") && body) {
		/* Jobs see the clock jump: tests need not wait for real time. */
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(body, "ms");

		if (!cJSON_IsNumber(ms) || ms->valuedouble < 0 || ms->valuedouble > 1e12) {
			err = strdup("advance needs {\"ms\": N} with 0 <= N");
			r = -EINVAL;
		} else {
			__atomic_add_fetch(&g.offset_ms, (int64_t)ms->valuedouble, __ATOMIC_SEQ_CST);
			out = cJSON_CreateObject();
			cJSON_AddNumberToObject(out, "offsetMs",
						(double)__atomic_load_n(&g.offset_ms, __ATOMIC_SEQ_CST));
		}
	} else if (!strcmp(what, "clock") && body) {
		/* Our wall clock runs skewS seconds off: clients' skew handling. */
		const cJSON *sk = cJSON_GetObjectItemCaseSensitive(body, "skewS");

		if (!cJSON_IsNumber(sk) || sk->valuedouble < -1e7 || sk->valuedouble > 1e7) {
			err = strdup("clock needs {\"skewS\": N} with |N| <= 10000000");
			r = -EINVAL;
		} else {
			__atomic_store_n(&g.skew_ms, (int64_t)(sk->valuedouble * 1000), __ATOMIC_SEQ_CST);
			out = cJSON_CreateObject();
			cJSON_AddNumberToObject(out, "skewS", sk->valuedouble);
		}
	} else if (!strcmp(what, "policy") && body) {
		/* Replace (or with "policy": null remove) the policy of one key,
		 * or the default one: tests try several policies on one world. */
		const cJSON *ak = cJSON_GetObjectItemCaseSensitive(body, "accessKeyId");
		const cJSON *doc = cJSON_GetObjectItemCaseSensitive(body, "policy");
		struct emu_policy *pol = NULL;

		if ((ak && !cJSON_IsString(ak)) || !doc) {
			err = strdup("policy needs {\"policy\": DOCUMENT or null} and optionally "
				     "\"accessKeyId\"");
			r = -EINVAL;
		} else if (!cJSON_IsNull(doc) && (r = emu_policy_parse(doc, &pol, &err)) < 0) {
			/* err says why */
		} else if ((r = emu_policies_set(&g.policies, ak ? ak->valuestring : NULL,
						 pol)) == 0) {
			out = cJSON_CreateObject();
		}
	} else if (!strcmp(what, "credentials/expire") && body) {
		/* Every temporary credential expires now: refresh paths get tested. */
		for (size_t i = 0; i < g.creds.n; i++)
			if (g.creds.v[i].token && g.creds.v[i].expires_wall_ms)
				g.creds.v[i].expires_wall_ms = now.wall_ms - 1000;
		free(g.cur_temp_akid);
		g.cur_temp_akid = NULL;
		out = cJSON_CreateObject();
	} else {
		r = -ENOENT;
	}
	pthread_mutex_unlock(&g.lock);
	cJSON_Delete(body);
	if (r == -ENOENT)
		ret = admin_error(conn, 404, "unknown admin request (GET state, GET|POST faults, GET|POST s3, POST script, POST advance, POST clock, POST policy, POST credentials/expire)");
	else if (r < 0)
		ret = admin_error(conn, 400, err ? err : strerror(-r));
	else if (!out)
		ret = admin_error(conn, 500, "out of memory");
	else
		ret = send_json(conn, 200, out);
	free(err);
	return ret;
}

/* ---- Personalize ---------------------------------------------------------------- */

static void fault_reply(enum emu_fault_kind k, struct emu_reply *r)
{
	switch (k) {
	case EMU_FAULT_THROTTLE:
		emu_reply_error(r, 400, "com.amazon.coral.availability#", "ThrottlingException",
				"Rate exceeded");
		break;
	case EMU_FAULT_500:
		emu_reply_error(r, 500, EMU_NS_CORAL, "InternalFailure",
				"We encountered an internal error. Please try again.");
		break;
	case EMU_FAULT_503:
		emu_reply_error(r, 503, "com.amazon.coral.availability#", "ServiceUnavailableException",
				"Service Unavailable");
		break;
	case EMU_FAULT_EXPIRED_TOKEN:
		/* what the signature check answers an expired temporary key */
		emu_reply_error(r, 403, EMU_NS_CORAL, "ExpiredTokenException",
				"The security token included in the request is expired");
		break;
	default:
		break;
	}
}

/* The kinds that stand in for the service's answer with an error reply. */
static bool fault_is_error(enum emu_fault_kind k)
{
	return k == EMU_FAULT_THROTTLE || k == EMU_FAULT_500 || k == EMU_FAULT_503 ||
	       k == EMU_FAULT_EXPIRED_TOKEN;
}

static const char *result_arn(const struct emu_reply *r, cJSON **holder)
{
	const cJSON *e;

	*holder = NULL;
	if (r->status != 200 || !r->body)
		return NULL;
	*holder = cJSON_Parse(r->body);
	cJSON_ArrayForEach(e, *holder) {
		size_t n = strlen(e->string);

		if (cJSON_IsString(e) && n > 3 && !strcmp(e->string + n - 3, "Arn"))
			return e->valuestring;
	}
	return NULL;
}

/* Who the policy check names as the caller: an IAM user named after the
 * access key, in the world's account. */
static void caller_arn(const char *akid, char *out, size_t len)
{
	snprintf(out, len, "arn:aws:iam::%s:user/%s", emu_world_account(g.world),
		 akid ? akid : "anonymous");
}

static enum MHD_Result handle_personalize(struct MHD_Connection *conn, const char *url,
					  const char *method, const struct conn_ctx *ctx)
{
	struct kv_vec hv = { 0 }, qv = { 0 };
	struct emu_reply reply = { 0 };
	struct emu_fault_rule hit = { 0 };
	enum emu_fault_kind fault = EMU_FAULT_NONE;
	struct emu_clock now = clock_now();
	const char *target, *op = NULL, *ctype;
	char rid[37], *akid = NULL, *msg = NULL;
	cJSON *in = NULL, *holder = NULL;
	struct ledger_entry le = { 0 };
	struct emu_reply seen;
	const char *rarn = NULL;
	bool sig_checked = false, sig_ok = false, events = false;
	enum MHD_Result ret = MHD_NO;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hv);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &qv);
	target = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Target");
	ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

	pthread_mutex_lock(&g.lock);
	g.seq++;
	emu_uuid(&g.ids, rid);
	if (target && !strncmp(target, EMU_TARGET_PREFIX, strlen(EMU_TARGET_PREFIX)))
		op = target + strlen(EMU_TARGET_PREFIX);
	else if (target && !strcmp(target, EMU_EVENTS_TARGET))
		events = true, op = "PutEvents";
	if (hv.oom || qv.oom) {
		emu_reply_error(&reply, 500, EMU_NS_CORAL, "InternalFailure", "out of memory");
		goto done;
	}
	if (!op || (!events && !emu_model_has_operation(g.model, op)) || strcmp(method, "POST") ||
	    strcmp(url, "/")) {
		emu_reply_error(&reply, 404, EMU_NS_CORAL, "UnknownOperationException", NULL);
		goto done;
	}
	{
		struct emu_http_req req = {
			.method = method, .path = ctx->raw_path ? ctx->raw_path : url, .query = qv.v, .nquery = qv.n,
			.headers = hv.v, .nheaders = hv.n,
			.body = ctx->body.buf, .body_len = ctx->body.len,
		};

		sig_checked = true;
		emu_creds_prune(&g.creds, now.wall_ms, EMU_CRED_PRUNE_GRACE_MS);
		if (emu_sigv4_verify(&req, &g.creds, emu_world_region(g.world),
				     events ? EMU_EVENTS_SERVICE : EMU_SERVICE,
				     now.wall_ms / 1000, &reply, &akid) < 0)
			goto done;
		sig_ok = true;
	}
	if (ctx->too_large) {
		emu_reply_error(&reply, 413, EMU_NS_CORAL, "SerializationException",
				"Request body too large");
		goto done;
	}
	if (!ctype || strncasecmp(ctype, EMU_JSON_TYPE, strlen(EMU_JSON_TYPE))) {
		emu_reply_error(&reply, 400, EMU_NS_CORAL, "SerializationException",
				"Unsupported Content-Type '%s': expected %s",
				ctype ? ctype : "", EMU_JSON_TYPE);
		goto done;
	}
	fault = emu_faults_pick(&g.faults, op, false, &hit);
	/* Before the call, a fault stands in for the service and the operation
	 * does not run; truncated and cut damage the real reply and slow only
	 * delays it, so those always run it. */
	if (fault != EMU_FAULT_NONE && !hit.after_call && fault != EMU_FAULT_SLOW &&
	    fault != EMU_FAULT_TRUNCATED && fault != EMU_FAULT_CUT) {
		if (fault_is_error(fault))
			fault_reply(fault, &reply);
		else
			reply.status = 200;
		goto done;
	}
	in = ctx->body.len ? cJSON_ParseWithLength(ctx->body.buf, ctx->body.len)
			   : cJSON_CreateObject();
	if (!in) {
		emu_reply_error(&reply, 400, EMU_NS_CORAL, "SerializationException",
				"Malformed JSON in the request body");
		goto done;
	}
	if (events) {
		const struct emu_policy *pol = emu_policies_for(&g.policies, akid);
		struct emu_authz az[EMU_AUTHZ_MAX];
		char who[160];

		if (pol) {
			size_t naz = emu_authz_events(in, emu_world_region(g.world),
						      emu_world_account(g.world), az);

			caller_arn(akid, who, sizeof(who));
			if (emu_policy_deny(pol, az, naz, who, &reply))
				goto done;
		}
		emu_events_put(in, &g.ids, &reply);
		goto done;
	}
	switch (emu_model_validate(g.model, op, in, &msg)) {
	case EMU_VALID_SERIALIZATION:
		emu_reply_error(&reply, 400, EMU_NS_CORAL, "SerializationException", "%s", msg);
		goto done;
	case EMU_VALID_CONSTRAINT:
		emu_reply_error(&reply, 400, EMU_NS_VALIDATE, "ValidationException", "%s", msg);
		goto done;
	case EMU_VALID_OK:
		break;
	}
	/* The identity policy of the caller's key, as IAM checks it before
	 * the service looks at the request's resources. */
	{
		const struct emu_policy *pol = emu_policies_for(&g.policies, akid);
		struct emu_authz az[EMU_AUTHZ_MAX];
		char who[160];

		if (pol) {
			size_t naz = emu_authz_personalize(op, in, emu_world_region(g.world),
							   emu_world_account(g.world), az);

			caller_arn(akid, who, sizeof(who));
			if (emu_policy_deny(pol, az, naz, who, &reply))
				goto done;
		}
	}
	emu_world_call(g.world, op, in, &now, &reply);
	rarn = result_arn(&reply, &holder); /* before a fault hides it */
done:
	/* After the call (whatever its answer), the fault replaces the reply. */
	if (hit.after_call && fault_is_error(fault))
		fault_reply(fault, &reply);
	le.operation = op ? op : (target ? target : "(none)");
	le.akid = akid;
	le.sig_checked = sig_checked;
	le.sig_ok = sig_ok;
	if (!in && op && ctx->body.len) /* refused early: still show what was asked */
		in = cJSON_ParseWithLength(ctx->body.buf, ctx->body.len);
	/* an event holds nothing secret: the ledger keeps it whole */
	le.params = in && op ? (events ? cJSON_Duplicate(in, true) :
				emu_model_redact(g.model, op, in)) : NULL;
	/* What the client saw: no reply at all (status 0) after reset or drop. */
	seen = reply;
	if (fault == EMU_FAULT_RESET || fault == EMU_FAULT_DROP)
		seen.status = 0;
	else if (fault == EMU_FAULT_MALFORMED || fault == EMU_FAULT_CONTENT_TYPE)
		seen.status = 200;
	le.reply = &seen;
	le.fault = fault != EMU_FAULT_NONE ? emu_fault_name(fault) : NULL;
	le.fault_phase = hit.after_call ? "after" : "before";
	le.request_id = rid;
	le.wall_ms = now.wall_ms;
	le.result_arn = rarn;
	ledger_write(&le);
	cJSON_Delete(holder);
	pthread_mutex_unlock(&g.lock);

	pause_ms(hit.delay_ms);
	if (!reply.body)
		reply.body = strdup("{}");
	switch (fault) {
	case EMU_FAULT_RESET:
		reset_on_close(conn);
		ret = MHD_NO;
		break;
	case EMU_FAULT_DROP:
		ret = MHD_NO;
		break;
	case EMU_FAULT_MALFORMED:
		ret = send_text(conn, 200, EMU_JSON_TYPE, "{\"status\": ACTIVE, <html>", rid);
		break;
	case EMU_FAULT_TRUNCATED:
		if (reply.body)
			reply.body[strlen(reply.body) / 2] = '\0';
		ret = send_text(conn, reply.status, EMU_JSON_TYPE, reply.body ? reply.body : "{", rid);
		break;
	case EMU_FAULT_CONTENT_TYPE:
		ret = send_text(conn, 200, "text/html",
				"<html><body><h1>200 OK</h1>Not the service.</body></html>", rid);
		break;
	case EMU_FAULT_CUT: {
		struct cut_body *c = calloc(1, sizeof(*c));
		struct MHD_Response *resp = NULL;
		size_t len = reply.body ? strlen(reply.body) : 0;

		if (c && len) {
			c->data = reply.body;
			reply.body = NULL;
			c->sent_limit = len / 2;
			resp = MHD_create_response_from_callback(len, 4096, cut_reader, c, cut_free);
		}
		if (!resp) {
			if (c)
				cut_free(c);
			ret = MHD_NO;
			break;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, EMU_JSON_TYPE);
		MHD_add_response_header(resp, "x-amzn-RequestId", rid);
		add_date(resp);
		ret = MHD_queue_response(conn, (unsigned int)reply.status, resp);
		MHD_destroy_response(resp);
		break;
	}
	default:
		ret = send_text(conn, reply.status ? reply.status : 500,
				reply.content_type ? reply.content_type : EMU_JSON_TYPE,
				reply.body ? reply.body : "{}", rid);
		break;
	}
	cJSON_Delete(in);
	free(msg);
	free(akid);
	free(hv.v);
	free(qv.v);
	emu_reply_clear(&reply);
	return ret;
}

/* ---- S3 HeadObject ---------------------------------------------------------------- */

/* HEAD replies carry no body: S3 says everything with the status and
 * headers. A reader that is never asked for data gives the response the
 * object's Content-Length. */
static ssize_t no_body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result send_s3(struct MHD_Connection *conn, int status,
			       const struct emu_s3_object *o, const char *bucket_region,
			       const char *rid)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char date[40];

	if (o)
		resp = MHD_create_response_from_callback(o->size, 4096, no_body_reader,
							 NULL, NULL);
	else
		resp = MHD_create_response_from_buffer(0, (void *)(uintptr_t)"",
						       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	add_date(resp);
	MHD_add_response_header(resp, "x-amz-request-id", rid);
	MHD_add_response_header(resp, "x-amz-id-2", rid);
	MHD_add_response_header(resp, "Server", "AmazonS3");
	if (bucket_region)
		MHD_add_response_header(resp, "x-amz-bucket-region", bucket_region);
	if (o) {
		emu_s3_http_date(o->last_modified_ms, date);
		MHD_add_response_header(resp, "ETag", o->etag);
		MHD_add_response_header(resp, "Last-Modified", date);
		MHD_add_response_header(resp, "Accept-Ranges", "bytes");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv");
	}
	ret = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The region an Authorization header's credential scope names, or NULL. */
static char *scope_region(const char *auth)
{
	const char *c = auth ? strstr(auth, "Credential=") : NULL;
	const char *p;

	if (!c)
		return NULL;
	c += strlen("Credential=");
	for (int i = 0; i < 2; i++) {  /* skip AKID/ and date/ */
		c = strchr(c, '/');
		if (!c)
			return NULL;
		c++;
	}
	p = strchr(c, '/');
	return p ? strndup(c, (size_t)(p - c)) : NULL;
}

static enum MHD_Result handle_s3(struct MHD_Connection *conn, const char *url,
				 const struct conn_ctx *ctx)
{
	struct kv_vec hv = { 0 }, qv = { 0 };
	struct emu_reply reply = { 0 }, seen;
	struct emu_fault_rule hit = { 0 };
	enum emu_fault_kind fault = EMU_FAULT_NONE;
	struct emu_clock now = clock_now();
	const struct emu_s3_object *obj = NULL;
	struct emu_s3_object copy = { 0 };
	struct ledger_entry le = { 0 };
	const char *host, *sha, *bucket_region = NULL, *sig_error = NULL;
	char rid[37], *akid = NULL, *bucket = NULL, *key = NULL, *sregion = NULL;
	bool sig_checked = false, sig_ok = false;
	cJSON *params = NULL;
	enum MHD_Result ret = MHD_NO;
	int status = 500;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hv);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &qv);
	host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	sha = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-content-sha256");

	pthread_mutex_lock(&g.lock);
	g.seq++;
	emu_uuid(&g.ids, rid);
	publish_batch_outputs(&now);
	if (hv.oom || qv.oom)
		goto done;
	if (emu_s3_target(host, ctx->raw_path ? ctx->raw_path : url, &bucket, &key) < 0) {
		status = 400;   /* InvalidURI / InvalidBucketName */
		goto done;
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "Bucket", bucket);
	cJSON_AddStringToObject(params, "Key", key);
	sregion = scope_region(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							   "Authorization"));
	if (sregion && strcmp(sregion, emu_world_region(g.world))) {
		/* AuthorizationHeaderMalformed: S3 names the bucket's region */
		status = 400;
		bucket_region = emu_world_region(g.world);
		goto done;
	}
	{
		struct emu_http_req req = {
			.method = "HEAD", .path = ctx->raw_path ? ctx->raw_path : url,
			.query = qv.v, .nquery = qv.n, .headers = hv.v, .nheaders = hv.n,
			.body = NULL, .body_len = 0,
		};

		sig_checked = true;
		emu_creds_prune(&g.creds, now.wall_ms, EMU_CRED_PRUNE_GRACE_MS);
		if (emu_sigv4_verify(&req, &g.creds, emu_world_region(g.world), EMU_S3_SERVICE,
				     now.wall_ms / 1000, &reply, &akid) < 0) {
			status = 403;   /* SignatureDoesNotMatch, InvalidAccessKeyId, ... */
			sig_error = reply.error;
			goto done;
		}
		sig_ok = true;
	}
	if (!sha || (strcmp(sha, EMU_S3_EMPTY_SHA256) && strcmp(sha, "UNSIGNED-PAYLOAD"))) {
		status = 400;   /* InvalidRequest / XAmzContentSHA256Mismatch */
		goto done;
	}
	/* HeadObject is authorized by s3:GetObject on the object */
	{
		const struct emu_policy *pol = emu_policies_for(&g.policies, akid);
		char *arn = emu_strdup_printf("arn:aws:s3:::%s/%s", bucket, key);

		if (pol && (!arn || emu_policy_eval(pol, "s3:GetObject", arn, NULL, 0) !=
				    EMU_DECISION_ALLOW)) {
			free(arn);
			status = 403;
			sig_error = "AccessDenied";
			goto done;
		}
		free(arn);
	}
	fault = emu_faults_pick(&g.faults, EMU_S3_OPERATION, false, &hit);
	if (fault == EMU_FAULT_THROTTLE || fault == EMU_FAULT_503) {
		status = 503;   /* SlowDown */
		goto done;
	}
	if (fault == EMU_FAULT_500) {
		status = 500;   /* InternalError */
		goto done;
	}
	if (fault == EMU_FAULT_EXPIRED_TOKEN) {
		status = 403;
		sig_error = "ExpiredToken";
		goto done;
	}
	obj = emu_s3_find(&g.s3, bucket, key);
	if (!obj) {
		status = 404;
		goto done;
	}
	/* copy: the lock is released before the reply goes out */
	copy.etag = strdup(obj->etag);
	copy.last_modified_ms = obj->last_modified_ms;
	copy.size = obj->size;
	status = copy.etag ? 200 : 500;
done:
	emu_reply_clear(&reply);
	reply.status = status;
	reply.error = status == 200 ? NULL : sig_error ? sig_error : status == 404 ? "NotFound" :
		      status == 403 ? "Forbidden" : status == 503 ? "SlowDown" :
		      bucket_region ? "AuthorizationHeaderMalformed" :
		      status == 400 ? "BadRequest" : "InternalError";
	seen = reply;
	if (fault == EMU_FAULT_RESET || fault == EMU_FAULT_DROP)
		seen.status = 0;
	le.operation = EMU_S3_OPERATION;
	le.akid = akid;
	le.sig_checked = sig_checked;
	le.sig_ok = sig_ok;
	le.params = params;
	le.reply = &seen;
	le.fault = fault != EMU_FAULT_NONE ? emu_fault_name(fault) : NULL;
	le.fault_phase = hit.after_call ? "after" : "before";
	le.request_id = rid;
	le.wall_ms = now.wall_ms;
	ledger_write(&le);
	pthread_mutex_unlock(&g.lock);

	pause_ms(hit.delay_ms);
	if (fault == EMU_FAULT_RESET) {
		reset_on_close(conn);
		ret = MHD_NO;
	} else if (fault == EMU_FAULT_DROP) {
		ret = MHD_NO;
	} else {
		ret = send_s3(conn, status, status == 200 ? &copy : NULL, bucket_region, rid);
	}
	free(copy.etag);
	free(sregion);
	free(bucket);
	free(key);
	free(akid);
	free(hv.v);
	free(qv.v);
	return ret;
}

/* ---- S3 ListObjectsV2 --------------------------------------------------------------- */

static enum MHD_Result send_s3_xml(struct MHD_Connection *conn, int status,
				   const char *body, const char *code,
				   const char *bucket_region, const char *rid,
				   enum emu_fault_kind fault)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *err = NULL;
	size_t len;

	if (!body) {
		err = emu_strdup_printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					"<Error><Code>%s</Code><Message>%s</Message>"
					"<RequestId>%s</RequestId></Error>", code, code, rid);
		body = err ? err : "";
	}
	len = strlen(body);
	if (status == 200 && fault == EMU_FAULT_MALFORMED)
		body = "<ListBucketResult><Contents>", len = strlen(body);
	else if (status == 200 && fault == EMU_FAULT_TRUNCATED)
		len /= 2;
	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
					       MHD_RESPMEM_MUST_COPY);
	free(err);
	if (!resp)
		return MHD_NO;
	add_date(resp);
	MHD_add_response_header(resp, "x-amz-request-id", rid);
	MHD_add_response_header(resp, "x-amz-id-2", rid);
	MHD_add_response_header(resp, "Server", "AmazonS3");
	if (bucket_region)
		MHD_add_response_header(resp, "x-amz-bucket-region", bucket_region);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				fault == EMU_FAULT_CONTENT_TYPE ? "text/html" : "application/xml");
	ret = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle_s3_list(struct MHD_Connection *conn, const char *url,
				      const struct conn_ctx *ctx)
{
	struct kv_vec hv = { 0 }, qv = { 0 };
	struct emu_reply reply = { 0 }, seen;
	struct emu_fault_rule hit = { 0 };
	enum emu_fault_kind fault = EMU_FAULT_NONE;
	struct emu_clock now = clock_now();
	struct ledger_entry le = { 0 };
	const char *host, *sha, *prefix, *token, *mk, *bucket_region = NULL, *code = NULL;
	char rid[37], *akid = NULL, *bucket = NULL, *sregion = NULL, *xml = NULL, *end = NULL;
	bool sig_checked = false, sig_ok = false;
	cJSON *params = NULL;
	enum MHD_Result ret = MHD_NO;
	long max_keys = EMU_S3_LIST_MAX_KEYS;
	int status = 500, r;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hv);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &qv);
	host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	sha = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amz-content-sha256");
	prefix = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "prefix");
	token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "continuation-token");
	mk = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "max-keys");

	pthread_mutex_lock(&g.lock);
	g.seq++;
	emu_uuid(&g.ids, rid);
	publish_batch_outputs(&now);
	if (hv.oom || qv.oom)
		goto done;
	if (emu_s3_bucket_target(host, ctx->raw_path ? ctx->raw_path : url, &bucket) < 0) {
		status = 400;
		code = "InvalidURI";
		goto done;
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "Bucket", bucket);
	cJSON_AddStringToObject(params, "Prefix", prefix ? prefix : "");
	if (token)
		cJSON_AddStringToObject(params, "ContinuationToken", token);
	if (mk)
		cJSON_AddStringToObject(params, "MaxKeys", mk);
	sregion = scope_region(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							   "Authorization"));
	if (sregion && strcmp(sregion, emu_world_region(g.world))) {
		status = 400;
		code = "AuthorizationHeaderMalformed";
		bucket_region = emu_world_region(g.world);
		goto done;
	}
	{
		struct emu_http_req req = {
			.method = "GET", .path = ctx->raw_path ? ctx->raw_path : url,
			.query = qv.v, .nquery = qv.n, .headers = hv.v, .nheaders = hv.n,
			.body = NULL, .body_len = 0,
		};

		sig_checked = true;
		emu_creds_prune(&g.creds, now.wall_ms, EMU_CRED_PRUNE_GRACE_MS);
		if (emu_sigv4_verify(&req, &g.creds, emu_world_region(g.world), EMU_S3_SERVICE,
				     now.wall_ms / 1000, &reply, &akid) < 0) {
			status = 403;
			code = reply.error ? reply.error : "SignatureDoesNotMatch";
			goto done;
		}
		sig_ok = true;
	}
	if (!sha || (strcmp(sha, EMU_S3_EMPTY_SHA256) && strcmp(sha, "UNSIGNED-PAYLOAD"))) {
		status = 400;
		code = "XAmzContentSHA256Mismatch";
		goto done;
	}
	if (mk) {
		errno = 0;
		max_keys = strtol(mk, &end, 10);
		if (errno || !*mk || *end || max_keys < 0) {
			status = 400;
			code = "InvalidArgument";
			goto done;
		}
	}
	/* ListObjectsV2 is authorized by s3:ListBucket on the bucket, with the
	 * request's prefix as the s3:prefix condition key */
	{
		const struct emu_policy *pol = emu_policies_for(&g.policies, akid);
		char *arn = emu_strdup_printf("arn:aws:s3:::%s", bucket);
		struct emu_kv cond = { "s3:prefix", prefix ? prefix : "" };

		if (pol && (!arn || emu_policy_eval(pol, "s3:ListBucket", arn, &cond, 1) !=
				    EMU_DECISION_ALLOW)) {
			free(arn);
			status = 403;
			code = "AccessDenied";
			goto done;
		}
		free(arn);
	}
	fault = emu_faults_pick(&g.faults, EMU_S3_LIST_OPERATION, false, &hit);
	if (fault == EMU_FAULT_THROTTLE || fault == EMU_FAULT_503) {
		status = 503;
		code = "SlowDown";
		goto done;
	}
	if (fault == EMU_FAULT_500) {
		status = 500;
		code = "InternalError";
		goto done;
	}
	if (fault == EMU_FAULT_EXPIRED_TOKEN) {
		status = 400;
		code = "ExpiredToken";
		goto done;
	}
	r = emu_s3_list(&g.s3, bucket, prefix, token, max_keys, g.s3_list_cap, &xml);
	if (r == -ENOENT) {
		status = 404;
		code = "NoSuchBucket";
	} else if (r == -EINVAL) {
		status = 400;
		code = "InvalidArgument";
	} else if (r < 0) {
		status = 500;
		code = "InternalError";
	} else {
		status = 200;
	}
done:
	emu_reply_clear(&reply);
	reply.status = status;
	reply.error = status == 200 ? NULL : code ? code : "InternalError";
	seen = reply;
	if (fault == EMU_FAULT_RESET || fault == EMU_FAULT_DROP)
		seen.status = 0;
	le.operation = EMU_S3_LIST_OPERATION;
	le.akid = akid;
	le.sig_checked = sig_checked;
	le.sig_ok = sig_ok;
	le.params = params;
	le.reply = &seen;
	le.fault = fault != EMU_FAULT_NONE ? emu_fault_name(fault) : NULL;
	le.fault_phase = hit.after_call ? "after" : "before";
	le.request_id = rid;
	le.wall_ms = now.wall_ms;
	ledger_write(&le);
	pthread_mutex_unlock(&g.lock);

	pause_ms(hit.delay_ms);
	if (fault == EMU_FAULT_RESET) {
		reset_on_close(conn);
		ret = MHD_NO;
	} else if (fault == EMU_FAULT_DROP) {
		ret = MHD_NO;
	} else {
		ret = send_s3_xml(conn, status, status == 200 ? xml : NULL,
				  reply.error, bucket_region, rid, fault);
	}
	free(xml);
	free(sregion);
	free(bucket);
	free(akid);
	free(hv.v);
	free(qv.v);
	return ret;
}

/* STS and the SSO portal (emu_sts.c) on the same port. */
static enum MHD_Result handle_sts(struct MHD_Connection *conn, const char *url,
				  const struct conn_ctx *ctx, bool sso)
{
	struct kv_vec hv = { 0 }, qv = { 0 };
	struct emu_sts_result res;
	struct emu_reply seen = { 0 };
	struct ledger_entry le = { 0 };
	struct emu_clock now = clock_now();
	char rid[37];
	enum MHD_Result ret;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_kv, &hv);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_kv, &qv);
	pthread_mutex_lock(&g.lock);
	g.seq++;
	emu_uuid(&g.ids, rid);
	emu_creds_prune(&g.creds, now.wall_ms, EMU_CRED_PRUNE_GRACE_MS);
	{
		struct emu_http_req req = {
			.method = "POST", .path = ctx->raw_path ? ctx->raw_path : url,
			.query = qv.v, .nquery = qv.n, .headers = hv.v, .nheaders = hv.n,
			.body = ctx->body.buf, .body_len = ctx->body.len,
		};

		if (sso)
			emu_sso_handle(&req, &g.creds, &g.ids, now.wall_ms, g.cred_ttl_s, &res);
		else
			emu_sts_handle(&req, &g.creds, &g.ids, now.wall_ms, g.cred_ttl_s, rid,
				       &res);
	}
	seen.status = res.status;
	seen.error = res.error;
	le.operation = res.operation;
	le.akid = res.akid;
	le.sig_checked = res.sig_checked;
	le.sig_ok = res.sig_ok;
	le.params = res.params;
	res.params = NULL;   /* consumed by the ledger */
	le.reply = &seen;
	le.request_id = rid;
	le.wall_ms = now.wall_ms;
	ledger_write(&le);
	pthread_mutex_unlock(&g.lock);
	if (sso && res.error) {
		/* REST-JSON: the code in x-amzn-ErrorType */
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			strlen(res.body), res.body, MHD_RESPMEM_MUST_COPY);

		ret = MHD_NO;
		if (resp) {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						"application/json");
			MHD_add_response_header(resp, "x-amzn-ErrorType", res.error);
			MHD_add_response_header(resp, "x-amzn-RequestId", rid);
			add_date(resp);
			ret = MHD_queue_response(conn, (unsigned int)res.status, resp);
			MHD_destroy_response(resp);
		}
	} else {
		ret = send_text(conn, res.status, sso ? "application/json" : "text/xml",
				res.body, rid);
	}
	emu_sts_result_free(&res);
	free(hv.v);
	free(qv.v);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct conn_ctx *ctx = *con_cls;
	const char *list_type;

	(void)cls;
	(void)version;
	if (!ctx)
		return MHD_NO;
	if (!ctx->started) {
		ctx->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (ctx->body.len + *upload_size > EMU_MAX_BODY)
			ctx->too_large = true;
		else
			strbuf_append(&ctx->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (strbuf_error(&ctx->body))
		return MHD_NO;
	if (!strncmp(url, EMU_ADMIN_PREFIX, strlen(EMU_ADMIN_PREFIX)))
		return handle_admin(conn, url, method, ctx);
	if (!strncmp(url, "/latest/", 8))
		return handle_credentials(conn, url, method, true);
	if (g.container_path && !strcmp(url, g.container_path) && !strcmp(method, "GET"))
		return handle_credentials(conn, url, method, false);
	if (!strcmp(method, "HEAD"))
		return handle_s3(conn, url, ctx);
	if (!strcmp(method, "GET") &&
	    (list_type = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						     "list-type")) &&
	    !strcmp(list_type, "2"))
		return handle_s3_list(conn, url, ctx);
	if (emu_sts_is_query(method, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_CONTENT_TYPE),
			     ctx->body.buf, ctx->body.len))
		return handle_sts(conn, url, ctx, false);
	if (!strcmp(method, "GET") && !strcmp(url, "/federation/credentials"))
		return handle_sts(conn, url, ctx, true);
	return handle_personalize(conn, url, method, ctx);
}

/* libmicrohttpd shows the request target before decoding it only here; the
 * signature covers the path as sent. The result becomes the request's context. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_ctx *ctx = calloc(1, sizeof(*ctx));

	(void)cls;
	(void)conn;
	if (ctx && uri)
		ctx->raw_path = strndup(uri, strcspn(uri, "?"));
	return ctx;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx) {
		strbuf_free(&ctx->body);
		free(ctx->raw_path);
		free(ctx);
		*con_cls = NULL;
	}
}

/* ---- start-up ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: personalize-emulator [options]\n"
		"  --port N             TCP port on 127.0.0.1 (0: any free port; default 0)\n"
		"  --port-file F        write the port there (atomically) once listening\n"
		"  --world FILE         world file, JSON or YAML (*.yaml, *.yml)\n"
		"  --cred AKID:SECRET[:TOKEN]  accepted key (repeatable)\n"
		"  --policy [AKID=]FILE identity policy (JSON) enforced for AKID; without AKID=\n"
		"                       for the last --cred before it, or before any --cred for\n"
		"                       every key without its own (repeatable)\n"
		"  --ledger FILE        append one JSON line per request\n"
		"  --seed N             seed for faults and generated ids (default 1)\n"
		"  --model PATH         service-2.json (default: " EMU_MODEL_REL " in the tree)\n"
		"  --cred-ttl SECONDS   lifetime of served temporary credentials (default %d)\n"
		"  --imds-role NAME     role name served by the IMDS endpoint (default personalize-emulator)\n"
		"  --container-path P   path of the container credentials endpoint (default /creds)\n"
		"  --container-token T  Authorization value the container endpoint requires\n"
		"  --exit-with-parent   stop (as on SIGTERM) when the parent process dies\n"
		"  --clock-skew S       run our wall clock S seconds off (signature checks, Date)\n"
		"  --help\n"
		"environment (the daemon's test time scale, include/wallclock.h):\n"
		"  " WALLCLOCK_SCALE_ENV "=N, " WALLCLOCK_ANCHOR_ENV "=EPOCH_S\n"
		"                       resources' timestamps run N times as fast from EPOCH_S\n",
		EMU_DEFAULT_CRED_TTL_S);
}

static bool file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The model in the tree the emulator was built in: walk up from the binary
 * (build/..., build/san/...), then from the working directory, to the first
 * directory that holds EMU_MODEL_REL. */
static char *default_model(void)
{
	char exe[PATH_MAX], cwd[PATH_MAX];
	const char *starts[2] = { NULL, NULL };
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		starts[0] = exe;
	}
	if (getcwd(cwd, sizeof(cwd)))
		starts[1] = cwd;
	for (int s = 0; s < 2; s++) {
		char dir[PATH_MAX];

		if (!starts[s])
			continue;
		snprintf(dir, sizeof(dir), "%s", starts[s]);
		for (int up = 0; up < 8; up++) {
			char *slash = strrchr(dir, '/'), *cand;

			if (s == 0 || up > 0) {
				if (!slash || slash == dir)
					break;
				*slash = '\0';
			}
			cand = emu_strdup_printf("%s/%s", dir, EMU_MODEL_REL);
			if (cand && file_exists(cand))
				return cand;
			free(cand);
		}
	}
	return NULL;
}

static int write_port_file(const char *path, unsigned port)
{
	char *tmp = emu_strdup_printf("%s.tmp.%ld", path, (long)getpid());
	char buf[16];
	int fd, len, r = 0;

	if (!tmp)
		return -ENOMEM;
	len = snprintf(buf, sizeof(buf), "%u\n", port);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto cleanup;
	}
	if (write(fd, buf, (size_t)len) != len || fsync(fd) < 0)
		r = -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
cleanup:
	free(tmp);
	return r;
}

static int listen_socket(unsigned port, unsigned *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(a);
	int one = 1, fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, EMU_LISTEN_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "world", required_argument, NULL, 'w' },
		{ "cred", required_argument, NULL, 'c' },
		{ "policy", required_argument, NULL, 'y' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "model", required_argument, NULL, 'm' },
		{ "cred-ttl", required_argument, NULL, 't' },
		{ "imds-role", required_argument, NULL, 'r' },
		{ "container-path", required_argument, NULL, 'P' },
		{ "container-token", required_argument, NULL, 'T' },
		{ "exit-with-parent", no_argument, NULL, 'E' },
		{ "clock-skew", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port_file = NULL, *world_path = NULL, *ledger_path = NULL;
	char *model_path = NULL, *err = NULL, *end;
	unsigned long port = 0;
	unsigned long long seed = 1;
	unsigned bound = 0;
	struct MHD_Daemon *d = NULL;
	struct emu_clock now;
	sigset_t set;
	int opt, fd = -1, sig = 0, rc = PR_EXIT_SOFTWARE;
	bool with_parent = false;
	pid_t parent = getppid();

	/* Signals are taken by sigwait below, from the start (a SIGTERM during
	 * start-up is a clean exit too); every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the test time scale, as the daemon reads it (its errors on stderr) */
	log_set_identifier("personalize-emulator");
	if (wallclock_init() < 0)
		return PR_EXIT_CONFIG;
	g.cred_ttl_s = EMU_DEFAULT_CRED_TTL_S;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || port > 65535) {
				fprintf(stderr, "personalize-emulator: --port: not a port: %s\n", optarg);
				return PR_EXIT_USAGE;
			}
			break;
		case 'f': port_file = optarg; break;
		case 'w': world_path = optarg; break;
		case 'l': ledger_path = optarg; break;
		case 'm':
			free(model_path);
			model_path = strdup(optarg);
			break;
		case 'r':
			free(g.imds_role);
			g.imds_role = strdup(optarg);
			break;
		case 'P':
			free(g.container_path);
			g.container_path = strdup(optarg);
			break;
		case 'T':
			free(g.container_token);
			g.container_token = strdup(optarg);
			break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end) {
				fprintf(stderr, "personalize-emulator: --seed: not a number: %s\n", optarg);
				return PR_EXIT_USAGE;
			}
			break;
		case 't':
			g.cred_ttl_s = strtol(optarg, &end, 10);
			if (*end || g.cred_ttl_s < 2 || g.cred_ttl_s > 43200) {
				fprintf(stderr, "personalize-emulator: --cred-ttl: 2..43200 seconds\n");
				return PR_EXIT_USAGE;
			}
			break;
		case 'c':
			if (emu_creds_add_spec(&g.creds, optarg) < 0) {
				/* never echo the argument: it holds a secret */
				fprintf(stderr, "personalize-emulator: --cred: expected AKID:SECRET[:TOKEN]\n");
				return PR_EXIT_USAGE;
			}
			break;
		case 'y': {
			/* AKID=FILE, else FILE for the last --cred (or every key) */
			const char *eq = strchr(optarg, '=');
			const char *file = optarg;
			char *key = NULL;
			struct emu_policy *pol = NULL;
			size_t kl = eq ? (size_t)(eq - optarg) : 0;

			if (eq && kl > 0 && strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == kl) {
				key = strndup(optarg, kl);
				file = eq + 1;
			} else if (g.creds.n) {
				key = strdup(g.creds.v[g.creds.n - 1].akid);
			}
			if (emu_policy_load(file, &pol, &err) < 0) {
				fprintf(stderr, "personalize-emulator: --policy: %s\n",
					err ? err : "cannot load");
				free(key);
				return PR_EXIT_CONFIG;
			}
			if (emu_policies_set(&g.policies, key, pol) < 0) {
				free(key);
				return PR_EXIT_SOFTWARE;
			}
			free(key);
			break;
		}
		case 'E':
			with_parent = true;
			break;
		case 'S': {
			long sk = strtol(optarg, &end, 10);

			if (*end || sk < -10000000 || sk > 10000000) {
				fprintf(stderr, "personalize-emulator: --clock-skew: seconds, |N| <= 10000000\n");
				return PR_EXIT_USAGE;
			}
			g.skew_ms = (int64_t)sk * 1000;
			break;
		}
		case 'h':
			usage(stdout);
			return PR_EXIT_OK;
		default:
			usage(stderr);
			return PR_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return PR_EXIT_USAGE;
	}
	if (!g.imds_role)
		g.imds_role = strdup("personalize-emulator");
	if (!g.container_path)
		g.container_path = strdup("/creds");
	if (!model_path)
		model_path = default_model();
	if (!model_path) {
		fprintf(stderr, "personalize-emulator: cannot find %s above the program or the working directory; use --model\n",
			EMU_MODEL_REL);
		rc = PR_EXIT_CONFIG;
		goto cleanup;
	}
	if (emu_model_load(model_path, &g.model, &err) < 0) {
		fprintf(stderr, "personalize-emulator: model: %s\n", err ? err : "cannot load");
		rc = PR_EXIT_CONFIG;
		goto cleanup;
	}
	emu_rng_seed(&g.ids, seed ^ 0x5eedULL);
	emu_rng_seed(&g.faults.rng, seed);
	g.faults.seed = seed;
	now = clock_now();
	if (world_path) {
		if (emu_world_load(world_path, &now, seed, &g.world, &err) < 0) {
			fprintf(stderr, "personalize-emulator: world: %s\n", err ? err : "cannot load");
			rc = PR_EXIT_CONFIG;
			goto cleanup;
		}
		/* The world file may carry initial faults and credentials. */
		{
			char *text = NULL;
			size_t len = 0;
			size_t n = strlen(world_path);
			bool yaml = (n > 5 && !strcmp(world_path + n - 5, ".yaml")) ||
				    (n > 4 && !strcmp(world_path + n - 4, ".yml"));
			cJSON *root = NULL;
			const cJSON *e;

			if (emu_read_file(world_path, &text, &len) == 0)
				root = yaml ? emu_yaml_to_json(text, len, &err) : cJSON_ParseWithLength(text, len);
			free(text);
			if (emu_s3_load(&g.s3, cJSON_GetObjectItemCaseSensitive(root, "s3Objects"),
					now.wall_ms, &err) < 0) {
				fprintf(stderr, "personalize-emulator: world: %s\n", err);
				cJSON_Delete(root);
				rc = PR_EXIT_CONFIG;
				goto cleanup;
			}
			e = cJSON_GetObjectItemCaseSensitive(root, "s3ListMaxKeys");
			if (e && (!cJSON_IsNumber(e) || e->valuedouble < 1 ||
				  e->valuedouble > EMU_S3_LIST_MAX_KEYS)) {
				fprintf(stderr, "personalize-emulator: world: s3ListMaxKeys "
					"must be 1..%d\n", EMU_S3_LIST_MAX_KEYS);
				cJSON_Delete(root);
				rc = PR_EXIT_CONFIG;
				goto cleanup;
			}
			g.s3_list_cap = e ? (unsigned)e->valuedouble : 0;
			e = cJSON_GetObjectItemCaseSensitive(root, "faults");
			if (e && emu_faults_set(&g.faults, e, &err) < 0) {
				fprintf(stderr, "personalize-emulator: world: faults: %s\n", err);
				cJSON_Delete(root);
				rc = PR_EXIT_CONFIG;
				goto cleanup;
			}
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "credentials")) {
				const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "accessKeyId");
				const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "secretAccessKey");
				const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "sessionToken");

				if (!cJSON_IsString(a) || !cJSON_IsString(s) ||
				    emu_creds_add(&g.creds, a->valuestring, s->valuestring,
						  cJSON_IsString(t) ? t->valuestring : NULL, 0) < 0) {
					fprintf(stderr, "personalize-emulator: world: credentials: "
						"each needs accessKeyId and secretAccessKey\n");
					cJSON_Delete(root);
					rc = PR_EXIT_CONFIG;
					goto cleanup;
				}
			}
			cJSON_Delete(root);
		}
	} else if (emu_world_parse("{}", 2, false, &now, seed, &g.world, &err) < 0) {
		goto cleanup;
	}
	emu_world_attach_s3(g.world, &g.s3);
	if (!g.creds.n)
		fprintf(stderr, "personalize-emulator: warning: no --cred given; only "
			"credentials from the IMDS/container endpoints will be accepted\n");
	if (ledger_path) {
		g.ledger = fopen(ledger_path, "ae");
		if (!g.ledger) {
			fprintf(stderr, "personalize-emulator: --ledger %s: %s\n", ledger_path, strerror(errno));
			rc = PR_EXIT_CONFIG;
			goto cleanup;
		}
	}

	/* A test runner killed with SIGKILL must not leave us behind. */
	if (with_parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)) {
		rc = PR_EXIT_OK;
		goto cleanup;
	}

	fd = listen_socket((unsigned)port, &bound);
	if (fd < 0) {
		fprintf(stderr, "personalize-emulator: cannot listen on 127.0.0.1:%lu: %s\n",
			port, strerror(-fd));
		rc = PR_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ITC | MHD_USE_POLL | MHD_USE_SUPPRESS_DATE_NO_CLOCK,
			     0, NULL, NULL, handler, NULL,
			     MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_URI_LOG_CALLBACK, uri_seen, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)EMU_CONN_TIMEOUT_S,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EMU_MAX_CONNECTIONS,
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)EMU_THREAD_STACK,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "personalize-emulator: cannot start the HTTP server\n");
		rc = PR_EXIT_SOFTWARE;
		goto cleanup;
	}
	fd = -1; /* MHD owns it now */
	if (port_file && write_port_file(port_file, bound) < 0) {
		fprintf(stderr, "personalize-emulator: --port-file %s: cannot write\n", port_file);
		rc = PR_EXIT_CONFIG;
		goto cleanup;
	}
	printf("personalize-emulator: ready on http://127.0.0.1:%u (pid %ld)\n", bound, (long)getpid());
	fflush(stdout);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			fprintf(stderr, "personalize-emulator: SIGHUP ignored (use POST /_emulator/faults)\n");
			continue;
		}
		break;
	}
	rc = PR_EXIT_OK;
cleanup:
	pthread_mutex_lock(&g.lock);
	g.stopping = true;
	pthread_cond_broadcast(&g.wake);
	pthread_mutex_unlock(&g.lock);
	if (d)
		MHD_stop_daemon(d);
	if (fd >= 0)
		close(fd);
	if (g.ledger)
		fclose(g.ledger);
	emu_world_free(g.world);
	emu_model_free(g.model);
	emu_creds_free(&g.creds);
	emu_policies_free(&g.policies);
	emu_faults_free(&g.faults);
	emu_s3_free(&g.s3);
	free(g.cur_temp_akid);
	free(g.imds_role);
	free(g.container_path);
	free(g.container_token);
	free(model_path);
	free(err);
	return rc;
}
