/* emu.h - internals of personalize-emulator, shared by its files.
 *
 * The emulator is a test tool (tests/emulator/, never linked into the
 * daemon). Everything here is free of libmicrohttpd so that the pure parts
 * (model validation, world and lifecycle, signature verification, faults)
 * can also be compiled into cmocka tests (tests/unit/test_emu_*.c include
 * the .c files directly). Only emu_main.c talks HTTP.
 *
 * Locking: the HTTP layer serialises every call into these modules with one
 * mutex; nothing here is thread-safe on its own. */
#ifndef PR_EMU_H
#define PR_EMU_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "strbuf.h"

/* ---- replies ------------------------------------------------------------ */

/* One answer to one request; body is malloc'd, error is a static bare code
 * ("ResourceNotFoundException") or NULL on success. */
struct emu_reply {
	int status;
	char *body;
	const char *content_type;
	const char *error;
};

#define EMU_JSON_TYPE "application/x-amz-json-1.1"

/* Fill r with an AWS JSON 1.1 error: {"__type": ns#code, "message": ...}.
 * ns is the namespace prefix real services put before the code (NULL: none). */
void emu_reply_error(struct emu_reply *r, int status, const char *ns,
		     const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Fill r with 200 and the serialised object (which is freed). */
void emu_reply_json(struct emu_reply *r, cJSON *obj);
/* Free the body and zero r; NULL is fine. */
void emu_reply_clear(struct emu_reply *r);

#define EMU_NS_CORAL    "com.amazon.coral.service#"
#define EMU_NS_VALIDATE "com.amazon.coral.validate#"
#define EMU_NS_SERVICE  "com.amazonaws.personalize#"

/* ---- random numbers (reproducible with --seed) -------------------------- */

struct emu_rng {
	uint64_t s;
};
/* splitmix64: seed, then draw 64 random bits per call. */
void emu_rng_seed(struct emu_rng *rng, uint64_t seed);
uint64_t emu_rng_next(struct emu_rng *rng);
/* Uniform in [0, 1). */
double emu_rng_unit(struct emu_rng *rng);

/* ---- the service model (emu_model.c) ------------------------------------ */

struct emu_model;

/* Load service-2.json. 0, or -errno / -EINVAL (with *err, malloc'd, set). */
int emu_model_load(const char *path, struct emu_model **out, char **err);
/* Free a model; NULL is fine. */
void emu_model_free(struct emu_model *m);
/* true when the model defines this operation. */
bool emu_model_has_operation(const struct emu_model *m, const char *op);

enum emu_valid {
	EMU_VALID_OK = 0,
	EMU_VALID_SERIALIZATION, /* wrong JSON type somewhere: SerializationException */
	EMU_VALID_CONSTRAINT,    /* constraint violations: ValidationException */
};
/* Check input (the request body) against op's input shape: required
 * members, JSON types, lengths, ranges, patterns, enums. On failure *msg
 * (malloc'd) holds AWS's wording ("1 validation error detected: ..."). */
enum emu_valid emu_model_validate(const struct emu_model *m, const char *op,
				  const cJSON *input, char **msg);
/* Deep copy of input with members whose shape is "sensitive" replaced by
 * "*** sensitive ***"; NULL on OOM. */
cJSON *emu_model_redact(const struct emu_model *m, const char *op,
			const cJSON *input);
/* Translate one of the model's Java regular expressions to a POSIX ERE
 * that matches the whole string. 0 or -EINVAL/-ENOMEM. */
int emu_regex_translate(const char *java, char **ere);

/* ---- lifecycle clock (emu_world.c) -------------------------------------- */

/* A job that starts at start_ms (monotonic ms), sits pending for pending_ms,
 * runs for run_ms and then succeeds or fails. A stop request at stop_at_ms
 * (-1: none) ends in STOPPED, through STOPPING when it was running. */
struct emu_timeline {
	int64_t start_ms;
	int64_t scale; /* api ms per monotonic ms (struct emu_clock) */
	int64_t pending_ms;
	int64_t run_ms;
	int64_t stopping_ms;
	int64_t stop_at_ms;
	bool fail;
};

enum emu_phase {
	EMU_PHASE_PENDING,
	EMU_PHASE_IN_PROGRESS,
	EMU_PHASE_ACTIVE,
	EMU_PHASE_FAILED,
	EMU_PHASE_STOPPING,
	EMU_PHASE_STOPPED,
};

/* The phase at now_ms; *since (may be NULL) gets the monotonic ms at which
 * that phase began. Pure. */
enum emu_phase emu_timeline_phase(const struct emu_timeline *t, int64_t now_ms,
				  int64_t *since);
/* true while the job is neither finished nor stopped. */
bool emu_phase_running(enum emu_phase p);

/* ---- the world (emu_world.c) -------------------------------------------- */

struct emu_world;
struct emu_s3;

struct emu_clock {
	int64_t mono_ms; /* CLOCK_MONOTONIC (+ POST /_emulator/advance) */
	int64_t wall_ms; /* CLOCK_REALTIME (+ skew): signatures, Date, credentials */
	/* the resources' clock (creationDateTime, lastUpdatedDateTime): wall_ms
	 * on the test time scale of include/wallclock.h when its variables are
	 * set (the daemon compares these with its scaled fire times), else
	 * wall_ms; it advances scale ms per monotonic ms (scale >= 1) */
	int64_t api_ms;
	int64_t scale;
};

/* Parse a world from text (JSON, or YAML when yaml is true) / from a file
 * (YAML when named *.yaml or *.yml). On error -EINVAL and *err (malloc'd). */
int emu_world_parse(const char *text, size_t len, bool yaml,
		    const struct emu_clock *now, uint64_t seed,
		    struct emu_world **out, char **err);
int emu_world_load(const char *path, const struct emu_clock *now,
		   uint64_t seed, struct emu_world **out, char **err);
/* Free a world; NULL is fine. */
void emu_world_free(struct emu_world *w);
/* The region requests must be signed for (the world's, default us-east-1). */
const char *emu_world_region(const struct emu_world *w);
/* The world's 12-digit account. */
const char *emu_world_account(const struct emu_world *w);

/* Convert YAML text to the equivalent cJSON tree (plain scalars that look
 * like numbers, booleans or null become those). NULL and *err on error. */
cJSON *emu_yaml_to_json(const char *text, size_t len, char **err);

/* Execute one Personalize operation (already validated) at time now. */
void emu_world_call(struct emu_world *w, const char *op, const cJSON *input,
		    const struct emu_clock *now, struct emu_reply *out);
/* Scripted failures: {"importFails": [...], "trainingFails": N|bool,
 * "campaignUpdateFails": N|bool, "failureReason": "..."}. NULL clears.
 * 0 or -EINVAL with *err. */
int emu_world_set_script(struct emu_world *w, const cJSON *script, char **err);
/* Batch jobs read their input from, and write their output to, these S3
 * objects (owned by the caller; NULL: none, every batch job fails for
 * want of input). */
void emu_world_attach_s3(struct emu_world *w, struct emu_s3 *s3);
/* Write the output objects of the batch jobs that became ACTIVE by now
 * into the attached S3 objects (once per job). Call before S3 is read.
 * 0 or -ENOMEM. */
int emu_world_publish(struct emu_world *w, const struct emu_clock *now);
/* Snapshot of every resource with its status at now (for GET /_emulator/state). */
cJSON *emu_world_state(struct emu_world *w, const struct emu_clock *now);

/* ---- credentials and SigV4 (emu_sigv4.c) -------------------------------- */

struct emu_cred {
	char *akid;
	char *secret;
	char *token;          /* NULL: long-term key */
	int64_t expires_wall_ms; /* 0: never */
	char *arn;            /* the identity (GetCallerIdentity); NULL:
				 EMU_DEFAULT_IDENTITY */
};

#define EMU_DEFAULT_ACCOUNT "123456789012"
#define EMU_DEFAULT_IDENTITY "arn:aws:iam::123456789012:user/emulator"

struct emu_creds {
	struct emu_cred *v;
	size_t n, cap;
};

/* Name the identity of akid's newest credential. 0, -ENOENT, -ENOMEM. */
int emu_creds_set_arn(struct emu_creds *c, const char *akid, const char *arn);
/* Add "AKID:SECRET[:TOKEN]". 0 or -EINVAL / -ENOMEM. */
int emu_creds_add_spec(struct emu_creds *c, const char *spec);
int emu_creds_add(struct emu_creds *c, const char *akid, const char *secret,
		  const char *token, int64_t expires_wall_ms);
/* The credential with this access key id (the newest if repeated), or NULL. */
const struct emu_cred *emu_creds_find(const struct emu_creds *c, const char *akid);
/* Forget temporary credentials that expired more than grace_ms ago. */
void emu_creds_prune(struct emu_creds *c, int64_t now_wall_ms, int64_t grace_ms);
/* Wipe the secrets, free everything, leave c empty; NULL is fine. */
void emu_creds_free(struct emu_creds *c);

struct emu_kv {
	const char *name;
	const char *value;
};

/* What the verifier needs from an HTTP request. path is the path as sent
 * on the wire (percent-encoded, without the query); query holds the decoded
 * pairs; headers as received (any case, repeats kept, in order). */
struct emu_http_req {
	const char *method;
	const char *path;
	const struct emu_kv *query;
	size_t nquery;
	const struct emu_kv *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
};

/* Verify the SigV4 Authorization header of req for (region, service) at
 * wall-clock time now_s. 0 when it holds; otherwise -EACCES and r filled
 * with AWS's error (MissingAuthenticationTokenException,
 * IncompleteSignatureException, UnrecognizedClientException,
 * InvalidSignatureException, ExpiredTokenException). *akid (malloc'd, may be
 * NULL) receives the access key id named in the request, if any. */
int emu_sigv4_verify(const struct emu_http_req *req, const struct emu_creds *c,
		     const char *region, const char *service, int64_t now_s,
		     struct emu_reply *r, char **akid);
/* Case-insensitive header lookup (first match), NULL if absent. */
const char *emu_req_header(const struct emu_http_req *req, const char *name);

/* ---- STS (emu_sts.c) ------------------------------------------------------- */

/* What one STS request (Query protocol: a form-encoded POST) came to. */
struct emu_sts_result {
	int status;
	char *body;              /* XML, malloc'd */
	const char *operation;   /* "AssumeRole", ... or "Sts" when unknown */
	const char *error;       /* NULL on success */
	char *akid;              /* signer's access key id, malloc'd or NULL */
	bool sig_checked, sig_ok;
	cJSON *params;           /* for the ledger (no secret, no token) */
};

/* Is this request for STS? A POST whose body is a form with an Action. */
bool emu_sts_is_query(const char *method, const char *content_type,
		      const char *body, size_t len);
/* Handle one STS request at wall time now_ms: signature checked (but not
 * for AssumeRoleWithWebIdentity), temporary credentials minted into creds
 * (with their identity) for DurationSeconds (default 3600) capped at
 * ttl_s. request_id names the reply. */
void emu_sts_handle(const struct emu_http_req *req, struct emu_creds *c,
		    struct emu_rng *ids, int64_t now_ms, int64_t ttl_s,
		    const char *request_id, struct emu_sts_result *out);
void emu_sts_result_free(struct emu_sts_result *r);

/* The SSO portal's GET /federation/credentials?role_name=R&account_id=A
 * with x-amz-sso_bearer_token (never signed): tokens that start with
 * "sso-" are valid sessions, any other is UnauthorizedException (401).
 * Mints credentials for ttl_s with the identity
 * arn:aws:sts::A:assumed-role/AWSReservedSSO_R_emulator/sso-user. */
void emu_sso_handle(const struct emu_http_req *req, struct emu_creds *c,
		    struct emu_rng *ids, int64_t now_ms, int64_t ttl_s,
		    struct emu_sts_result *out);

/* ---- EventBridge (emu_events.c) ------------------------------------------ */

/* PutEvents on the parsed request: r gets the reply (200 with
 * FailedEntryCount and one result per entry, event ids from ids, or a
 * 400 ValidationException). */
void emu_events_put(const cJSON *in, struct emu_rng *ids, struct emu_reply *r);

/* ---- faults (emu_fault.c) ------------------------------------------------ */

enum emu_fault_kind {
	EMU_FAULT_NONE = 0,
	EMU_FAULT_THROTTLE,     /* 400 ThrottlingException */
	EMU_FAULT_500,          /* 500 InternalFailure */
	EMU_FAULT_503,          /* 503 ServiceUnavailable */
	EMU_FAULT_RESET,        /* TCP reset, no reply */
	EMU_FAULT_DROP,         /* connection closed, no reply */
	EMU_FAULT_SLOW,         /* reply after delay_ms */
	EMU_FAULT_MALFORMED,    /* 200 with a body that is not JSON */
	EMU_FAULT_TRUNCATED,    /* 200 with half the JSON body */
	EMU_FAULT_CUT,          /* Content-Length of the whole body, half sent, closed */
	EMU_FAULT_CONTENT_TYPE, /* 200 with text/html */
	EMU_FAULT_EXPIRED_TOKEN, /* 403 ExpiredTokenException */
};

struct emu_fault_rule {
	char *operation;        /* "*" or an operation name */
	enum emu_fault_kind kind;
	double rate;            /* 0..1 */
	long after;             /* skip the first `after` matching requests */
	long count;             /* inject at most count times (-1: no limit) */
	long delay_ms;          /* SLOW, or before any other kind */
	bool after_call;        /* apply after the operation ran ("phase":"after") */
	long seen, injected;
};

struct emu_faults {
	struct emu_fault_rule *rules;
	size_t n;
	struct emu_rng rng;
	uint64_t seed;
};

/* Replace the rules from a fault spec (see README); on error the old rules
 * stay and *err is set. "seed" in the spec re-seeds. */
int emu_faults_set(struct emu_faults *f, const cJSON *spec, char **err);
/* Decide for one request: the first matching rule whose dice roll hits.
 * A rule matches when it names op, or is "*" and exact is false (the
 * credential endpoints ask for exact matches only). Returns the kind (NONE
 * if none) and copies the rule's fields to *hit. */
enum emu_fault_kind emu_faults_pick(struct emu_faults *f, const char *op,
				    bool exact, struct emu_fault_rule *hit);
/* The spec name of a kind ("throttle" ...), NULL for NONE. */
const char *emu_fault_name(enum emu_fault_kind k);
/* The rules with their seen/injected counters, as GET /_emulator/faults shows them. */
cJSON *emu_faults_json(const struct emu_faults *f);
/* Drop every rule (the generator stays); NULL is fine. */
void emu_faults_free(struct emu_faults *f);

/* ---- S3 objects (emu_s3.c) -------------------------------------------------- */

struct emu_s3_object {
	char *bucket, *key;      /* key decoded, as in the s3:// URI */
	char *etag;              /* verbatim, quotes included */
	int64_t last_modified_ms; /* wall clock, whole seconds */
	uint64_t size;
};

struct emu_s3 {
	struct emu_s3_object *v;
	size_t n, cap;
};

/* Add or replace one object from {"uri": "s3://b/k", "etag": "\"..\"",
 * "lastModified": ISO-8601 (default now), "size": N (default the old size
 * or 0)}. 0, or -EINVAL with *err (malloc'd), -ENOMEM. */
int emu_s3_put(struct emu_s3 *s, const cJSON *spec, int64_t now_wall_ms,
	       char **err);
/* Load the world's s3Objects list (NULL: none). 0 or -EINVAL with *err. */
int emu_s3_load(struct emu_s3 *s, const cJSON *objects, int64_t now_wall_ms,
		char **err);
/* The object, or NULL. */
const struct emu_s3_object *emu_s3_find(const struct emu_s3 *s,
					const char *bucket, const char *key);
/* Every object as the world file declares them. */
cJSON *emu_s3_json(const struct emu_s3 *s);
/* Free everything, leave s empty; NULL is fine. */
void emu_s3_free(struct emu_s3 *s);
/* Split "s3://BUCKET/KEY" (no decoding) into malloc'd parts; with
 * key_required false the key may be empty ("s3://BUCKET", "s3://BUCKET/").
 * 0, -EINVAL (no bucket, a key wanted and missing, a key too long), -ENOMEM. */
int emu_s3_split_uri(const char *uri, bool key_required, char **bucket, char **key);
/* Bucket and key (percent-decoded, malloc'd) of a HEAD: virtual-hosted
 * when the Host is BUCKET.s3.* or BUCKET.s3-*, else path style
 * /BUCKET/KEY. 0 or -EINVAL (no bucket or key, bad escape), -ENOMEM. */
int emu_s3_target(const char *host, const char *raw_path, char **bucket,
		  char **key);
/* The bucket of a ListObjectsV2 (GET /BUCKET or /BUCKET/ path style, GET
 * / with Host BUCKET.s3.*). 0 or -EINVAL, -ENOMEM. */
int emu_s3_bucket_target(const char *host, const char *raw_path, char **bucket);
/* ListObjectsV2 of bucket: the objects whose key starts with prefix, by
 * key (bytewise), after the continuation token (NULL: from the start), at
 * most max_keys (the request's max-keys, capped at 1000 and at the world's
 * s3ListMaxKeys when that is not 0) into *xml (the ListBucketResult,
 * malloc'd). The token is opaque to clients: "T/", the hex of the last key
 * returned, "=". 0; -ENOENT (no object in that bucket: NoSuchBucket);
 * -EINVAL (bad token or max_keys < 0: InvalidArgument); -ENOMEM. */
#define EMU_S3_LIST_MAX_KEYS 1000
int emu_s3_list(const struct emu_s3 *s, const char *bucket, const char *prefix,
		const char *token, long max_keys, unsigned world_cap, char **xml);
/* "2026-11-20T10:00:00Z" (optional .sss) to wall ms. 0 or -EINVAL. */
int emu_s3_parse_time(const char *s, int64_t *ms);
/* RFC 7231 IMF-fixdate of wall ms. */
void emu_s3_http_date(int64_t ms, char out[40]);

/* ---- identity policies (emu_policy.c) ------------------------------------
 *
 * The subset of IAM's evaluation the daemon meets: Allow and Deny
 * statements; Action / NotAction and Resource / NotResource, each a
 * string or a list; '*' and '?' wildcards (actions case-insensitive,
 * resources matched ARN field by field, case-sensitive); Condition with
 * StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringLike and
 * StringNotLike (several operators and keys: all must hold; several
 * values: any may match); an explicit Deny wins, nothing allowed is
 * denied. */

struct emu_policy;

enum emu_decision {
	EMU_DECISION_IMPLICIT_DENY,
	EMU_DECISION_ALLOW,
	EMU_DECISION_EXPLICIT_DENY,
};

/* Parse one policy document. 0, -EINVAL with *err (malloc'd) saying what
 * is wrong, or -ENOMEM. */
int emu_policy_parse(const cJSON *doc, struct emu_policy **out, char **err);
void emu_policy_free(struct emu_policy *p);
/* The decision for action on resource; ctx holds the request's condition
 * keys (names case-insensitive), nctx of them. Pure. */
enum emu_decision emu_policy_eval(const struct emu_policy *p,
				  const char *action, const char *resource,
				  const struct emu_kv *ctx, size_t nctx);
/* IAM's wildcard match: '*' any run, '?' one character. Pure. */
bool emu_glob(const char *pattern, const char *s, bool nocase);

/* One authorization a request needs: the action, its resource, and the
 * condition key the request sets (or NULL). */
struct emu_authz {
	char action[96];
	char resource[512];
	const char *ctx_key, *ctx_value;
};
#define EMU_AUTHZ_MAX 4
/* The authorizations a Personalize request needs, as the Service
 * Authorization Reference lists them (CreateDatasetImportJob: the dataset,
 * the import job it would create, and iam:PassRole on its role for
 * personalize.amazonaws.com; a Describe: the resource it names; a List:
 * "*"). Returns how many (0..EMU_AUTHZ_MAX). Pure. */
size_t emu_authz_personalize(const char *op, const cJSON *in,
			     const char *region, const char *account,
			     struct emu_authz *out);

/* The policies in force: per access key id, and a default for every key
 * without its own (temporary keys included). No policy at all: nothing is
 * checked. */
struct emu_policies {
	struct {
		char *akid;              /* NULL: the default */
		struct emu_policy *policy;
	} *v;
	size_t n, cap;
};
/* Set (replace) the policy of akid (NULL: the default); p is owned from
 * then on; NULL removes it. 0 or -ENOMEM. */
int emu_policies_set(struct emu_policies *ps, const char *akid,
		     struct emu_policy *p);
/* The policy for akid: its own, else the default, else NULL. */
const struct emu_policy *emu_policies_for(const struct emu_policies *ps,
					  const char *akid);
void emu_policies_free(struct emu_policies *ps);
/* Load a policy file (JSON). 0, or -errno / -EINVAL with *err. */
int emu_policy_load(const char *path, struct emu_policy **out, char **err);
/* Check every authorization of a request; on a denial fill r with what
 * Personalize sends (400 AccessDeniedException, "User: ARN is not
 * authorized to perform: ACTION on resource: RES because no
 * identity-based policy allows the ACTION action", or "... with an
 * explicit deny in an identity-based policy") and return true. */
/* The same for EventBridge's PutEvents: events:PutEvents on each entry's
 * bus (a name, "default" when none, in region and account; or its ARN),
 * the first EMU_AUTHZ_MAX entries. Pure. */
size_t emu_authz_events(const cJSON *in, const char *region,
			const char *account, struct emu_authz *out);
bool emu_policy_deny(const struct emu_policy *p, const struct emu_authz *a,
		     size_t n, const char *caller_arn, struct emu_reply *r);

/* ---- small helpers (emu_util.c) ----------------------------------------- */

/* ISO-8601 UTC with milliseconds, "2026-11-25T13:00:00.123Z". */
void emu_iso8601(int64_t wall_ms, char out[32]);
/* Read a whole file; 0 or -errno. */
int emu_read_file(const char *path, char **text, size_t *len);
char *emu_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Random version-4 UUID text from rng (36 chars + NUL). */
void emu_uuid(struct emu_rng *rng, char out[37]);

#endif
