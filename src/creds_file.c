/* creds_file.c - the shared credentials and config files (ini), profiles,
 * static keys, credential_process and region from a profile; see
 * include/creds.h for the rules. */
#include "creds-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "log.h"

#define DEFAULT_PROFILE "default"
#define CONFIG_PROFILE_PREFIX "profile"

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim blanks (and CR) around [*s, *e). */
static void trim(char **s, char **e)
{
	while (*s < *e && (is_blank(**s) || **s == '\r'))
		(*s)++;
	while (*e > *s && (is_blank((*e)[-1]) || (*e)[-1] == '\r'))
		(*e)--;
}

int creds_ini_parse(char *text, size_t len, const char *name,
		    creds_ini_fn fn, void *userdata)
{
	char *p = text, *end = text + len;
	const char *section = "";
	bool have_key = false;
	unsigned line = 0;
	int r;

	if (!text || !fn)
		return -EINVAL;
	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		char *s = p, *e = eol ? eol : end, *q;

		line++;
		p = eol ? eol + 1 : end;
		if (e > s && e[-1] == '\r')
			e--;
		if (e > s && memchr(s, 0, (size_t)(e - s))) {
			log_debug("%s:%u: NUL byte in line, ignored",
				  name ? name : "-", line);
			continue;
		}
		q = s;
		while (q < e && is_blank(*q))
			q++;
		if (q == e) {
			have_key = false;
			continue;
		}
		if (*q == '#' || *q == ';')
			continue;
		if (q != s && have_key)
			continue; /* a sub-property or continuation line */
		if (*q == '[') {
			char *close = memchr(q, ']', (size_t)(e - q));
			char *ns = q + 1, *ne;

			have_key = false;
			if (!close) {
				log_debug("%s:%u: section header without ']', "
					  "ignored", name ? name : "-", line);
				continue;
			}
			ne = close;
			trim(&ns, &ne);
			*ne = '\0';
			section = ns;
			continue;
		} else {
			char *eq = memchr(q, '=', (size_t)(e - q));
			char *ks = q, *ke, *vs, *ve, *c;

			if (!eq) {
				log_debug("%s:%u: line without '=', ignored",
					  name ? name : "-", line);
				continue;
			}
			ke = eq;
			trim(&ks, &ke);
			if (ks == ke) {
				log_debug("%s:%u: empty key, ignored",
					  name ? name : "-", line);
				continue;
			}
			vs = eq + 1;
			ve = e;
			/* an inline comment: '#' or ';' after a blank */
			for (c = vs; c < ve; c++)
				if ((*c == '#' || *c == ';') && c > vs &&
				    is_blank(c[-1])) {
					ve = c;
					break;
				}
			trim(&vs, &ve);
			*ke = '\0';
			*ve = '\0'; /* at most text[len], see creds-internal.h */
			have_key = true;
			r = fn(section, ks, vs, line, userdata);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

const char *creds_ini_profile_name(const char *section, bool config_file)
{
	size_t n = sizeof(CONFIG_PROFILE_PREFIX) - 1;

	if (!section || !*section)
		return NULL;
	if (!config_file || strcmp(section, DEFAULT_PROFILE) == 0)
		return section;
	if (strncmp(section, CONFIG_PROFILE_PREFIX, n) != 0 ||
	    !is_blank(section[n]))
		return NULL;
	section += n;
	while (is_blank(*section))
		section++;
	return *section ? section : NULL;
}

/* ---- one profile from one file ------------------------------------------- */

enum { K_AKID, K_SECRET, K_TOKEN, K_PROCESS, K_REGION, K_COUNT };
static const char *const profile_keys[K_COUNT] = {
	[K_AKID] = "aws_access_key_id",
	[K_SECRET] = "aws_secret_access_key",
	[K_TOKEN] = "aws_session_token",
	[K_PROCESS] = "credential_process",
	[K_REGION] = "region",
};

struct profile_vals {
	const char *want;    /* profile name */
	bool config_file;
	bool found;          /* a section for the profile exists */
	char *v[K_COUNT];
};

static void profile_vals_free(struct profile_vals *pv)
{
	size_t i;

	for (i = 0; i < K_COUNT; i++) {
		if (pv->v[i]) {
			OPENSSL_cleanse(pv->v[i], strlen(pv->v[i]));
			free(pv->v[i]);
			pv->v[i] = NULL;
		}
	}
}

static int profile_cb(const char *section, const char *key, const char *value,
		      unsigned line, void *userdata)
{
	struct profile_vals *pv = userdata;
	const char *name = creds_ini_profile_name(section, pv->config_file);
	size_t i;

	(void)line;
	if (!name || strcmp(name, pv->want) != 0)
		return 0;
	pv->found = true;
	for (i = 0; i < K_COUNT; i++) {
		if (strcasecmp(key, profile_keys[i]) != 0)
			continue;
		if (pv->v[i]) {
			OPENSSL_cleanse(pv->v[i], strlen(pv->v[i]));
			free(pv->v[i]);
		}
		pv->v[i] = strdup(value);
		return pv->v[i] ? 0 : -ENOMEM;
	}
	return 0;
}

/* $var, or ~/.aws/<file>; a leading "~/" is expanded. NULL if no HOME. */
static char *file_path(const char *var, const char *file)
{
	const char *v = getenv(var), *home = getenv("HOME");
	struct strbuf sb = STRBUF_INIT;

	if (v && *v) {
		if (v[0] == '~' && v[1] == '/' && home)
			strbuf_printf(&sb, "%s%s", home, v + 1);
		else
			strbuf_puts(&sb, v);
	} else if (home && *home) {
		strbuf_printf(&sb, "%s/.aws/%s", home, file);
	} else {
		return NULL;
	}
	return strbuf_detach(&sb);
}

/* Parse one file for pv. A missing file is no error. */
static int load_profile(const char *var, const char *file, bool config_file,
			struct profile_vals *pv, char **path_out)
{
	struct strbuf text = STRBUF_INIT;
	char *path = file_path(var, file);
	int r;

	pv->config_file = config_file;
	if (!path)
		return 0;
	r = creds_read_file(path, &text);
	if (r == -ENOENT) {
		r = 0;
		goto cleanup;
	}
	if (r < 0) {
		log_error("AWS credentials: cannot read %s: %s", path,
			  strerror(-r));
		goto cleanup;
	}
	r = creds_ini_parse(text.buf, text.len, path, profile_cb, pv);
cleanup:
	strbuf_free_secure(&text);
	if (r == 0 && path_out)
		*path_out = path;
	else
		free(path);
	return r;
}

static const char *profile_name(const char *profile, bool *explicit_name)
{
	const char *env = getenv("AWS_PROFILE");

	*explicit_name = true;
	if (profile && *profile)
		return profile;
	if (env && *env)
		return env;
	*explicit_name = false;
	return DEFAULT_PROFILE;
}

/* Static keys of pv, if any: 0 and *out, -ENOENT, or -EINVAL (half set). */
static int static_keys(const struct profile_vals *pv, const char *path,
		       const char *source, struct creds **out)
{
	const char *akid = pv->v[K_AKID], *secret = pv->v[K_SECRET];

	if ((!akid || !*akid) && (!secret || !*secret))
		return -ENOENT;
	if (!akid || !*akid || !secret || !*secret) {
		log_error("AWS credentials: profile \"%s\" in %s has %s but "
			  "not %s", pv->want, path ? path : "-",
			  akid && *akid ? profile_keys[K_AKID]
					: profile_keys[K_SECRET],
			  akid && *akid ? profile_keys[K_SECRET]
					: profile_keys[K_AKID]);
		return -EINVAL;
	}
	return creds_new(akid, secret, pv->v[K_TOKEN], 0, source, out);
}

int creds_from_profile(const char *profile, struct creds **out,
		       char **process)
{
	struct profile_vals cred = { 0 }, conf = { 0 };
	char *cred_path = NULL, *conf_path = NULL;
	const char *cmd;
	bool explicit_name;
	int r;

	cred.want = conf.want = profile_name(profile, &explicit_name);
	r = load_profile("AWS_SHARED_CREDENTIALS_FILE", "credentials", false,
			 &cred, &cred_path);
	if (r < 0)
		goto cleanup;
	r = load_profile("AWS_CONFIG_FILE", "config", true, &conf, &conf_path);
	if (r < 0)
		goto cleanup;

	r = static_keys(&cred, cred_path, CREDS_SOURCE_CRED_FILE, out);
	if (r != -ENOENT) {
		if (r == 0)
			log_debug("AWS credentials: profile \"%s\" of %s",
				  cred.want, cred_path);
		goto cleanup;
	}
	cmd = cred.v[K_PROCESS] && *cred.v[K_PROCESS] ? cred.v[K_PROCESS]
						      : conf.v[K_PROCESS];
	if (cmd && *cmd) {
		*process = strdup(cmd); /* the caller wipes it */
		r = *process ? 0 : -ENOMEM;
		if (r == 0)
			log_debug("AWS credentials: profile \"%s\" uses "
				  "credential_process", cred.want);
		goto cleanup;
	}
	r = static_keys(&conf, conf_path, CREDS_SOURCE_CONFIG, out);
	if (r != -ENOENT) {
		if (r == 0)
			log_debug("AWS credentials: profile \"%s\" of %s",
				  conf.want, conf_path);
		goto cleanup;
	}
	if (explicit_name && !cred.found && !conf.found) {
		log_error("AWS credentials: profile \"%s\" not found in %s or "
			  "%s", cred.want, cred_path ? cred_path : "-",
			  conf_path ? conf_path : "-");
		r = -EINVAL;
	} else {
		r = -ENOENT;
	}
cleanup:
	profile_vals_free(&cred);
	profile_vals_free(&conf);
	free(cred_path);
	free(conf_path);
	return r;
}

int creds_profile_region(const char *profile, char **out)
{
	struct profile_vals cred = { 0 }, conf = { 0 };
	const char *region;
	bool explicit_name;
	int r;

	cred.want = conf.want = profile_name(profile, &explicit_name);
	r = load_profile("AWS_CONFIG_FILE", "config", true, &conf, NULL);
	if (r < 0)
		goto cleanup;
	r = load_profile("AWS_SHARED_CREDENTIALS_FILE", "credentials", false,
			 &cred, NULL);
	if (r < 0)
		goto cleanup;
	region = conf.v[K_REGION] && *conf.v[K_REGION] ? conf.v[K_REGION]
						       : cred.v[K_REGION];
	if (!region || !*region) {
		r = -ENOENT;
		goto cleanup;
	}
	*out = strdup(region);
	r = *out ? 0 : -ENOMEM;
cleanup:
	profile_vals_free(&cred);
	profile_vals_free(&conf);
	return r;
}

/* ---- every key of a profile (assume role, web identity, SSO) ---------------- */

struct creds_profile {
	char *name;
	bool found;
	size_t n, cap;
	char **keys;      /* lower-cased */
	char **values;
};

struct section_want {
	struct creds_profile *p;
	const char *kind;     /* NULL: a profile; else "sso-session" */
	bool config_file;
};

void creds_profile_free(struct creds_profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->keys[i]);
		if (p->values[i]) {
			OPENSSL_cleanse(p->values[i], strlen(p->values[i]));
			free(p->values[i]);
		}
	}
	free(p->keys);
	free(p->values);
	free(p->name);
	free(p);
}

const char *creds_profile_value(const struct creds_profile *p, const char *key)
{
	size_t i;

	for (i = 0; p && i < p->n; i++)
		if (strcasecmp(p->keys[i], key) == 0)
			return p->values[i];
	return NULL;
}

bool creds_profile_found(const struct creds_profile *p)
{
	return p && p->found;
}

const char *creds_profile_name(const struct creds_profile *p)
{
	return p ? p->name : NULL;
}

/* Set key to value (a later value of the same key replaces it). */
static int profile_set(struct creds_profile *p, const char *key,
		       const char *value)
{
	size_t i;
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->n; i++)
		if (strcasecmp(p->keys[i], key) == 0) {
			OPENSSL_cleanse(p->values[i], strlen(p->values[i]));
			free(p->values[i]);
			p->values[i] = v;
			return 0;
		}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char **k = realloc(p->keys, cap * sizeof(*k));

		if (k)
			p->keys = k;
		k = k ? realloc(p->values, cap * sizeof(*k)) : NULL;
		if (!k) {
			free(v);
			return -ENOMEM;
		}
		p->values = k;
		p->cap = cap;
	}
	p->keys[p->n] = strdup(key);
	if (!p->keys[p->n]) {
		free(v);
		return -ENOMEM;
	}
	for (i = 0; p->keys[p->n][i]; i++)
		if (p->keys[p->n][i] >= 'A' && p->keys[p->n][i] <= 'Z')
			p->keys[p->n][i] = (char)(p->keys[p->n][i] - 'A' + 'a');
	p->values[p->n++] = v;
	return 0;
}

/* "sso-session NAME" (config file only) -> NAME, else NULL. */
static const char *kind_section_name(const char *section, const char *kind)
{
	size_t n = strlen(kind);

	if (!section || strncmp(section, kind, n) != 0 || !is_blank(section[n]))
		return NULL;
	section += n;
	while (is_blank(*section))
		section++;
	return *section ? section : NULL;
}

static int section_cb(const char *section, const char *key, const char *value,
		      unsigned line, void *userdata)
{
	struct section_want *w = userdata;
	const char *name = w->kind ? kind_section_name(section, w->kind)
				   : creds_ini_profile_name(section,
							    w->config_file);

	(void)line;
	if (!name || strcmp(name, w->p->name) != 0)
		return 0;
	w->p->found = true;
	return profile_set(w->p, key, value);
}

static int load_section(const char *var, const char *file, bool config_file,
			struct section_want *w)
{
	struct strbuf text = STRBUF_INIT;
	char *path = file_path(var, file);
	int r;

	w->config_file = config_file;
	if (!path)
		return 0;
	r = creds_read_file(path, &text);
	if (r == -ENOENT)
		r = 0;
	else if (r < 0)
		log_error("AWS credentials: cannot read %s: %s", path,
			  strerror(-r));
	else
		r = creds_ini_parse(text.buf, text.len, path, section_cb, w);
	strbuf_free_secure(&text);
	free(path);
	return r;
}

int creds_profile_load(const char *name, struct creds_profile **out)
{
	struct creds_profile *p;
	struct section_want w = { 0 };
	bool explicit_name;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->name = strdup(profile_name(name, &explicit_name));
	if (!p->name) {
		free(p);
		return -ENOMEM;
	}
	w.p = p;
	/* the credentials file's values win over the config file's, as in
	 * the SDKs' merged view */
	r = load_section("AWS_CONFIG_FILE", "config", true, &w);
	if (r == 0)
		r = load_section("AWS_SHARED_CREDENTIALS_FILE", "credentials",
				 false, &w);
	if (r < 0) {
		creds_profile_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int creds_sso_session_load(const char *name, struct creds_profile **out)
{
	struct creds_profile *p;
	struct section_want w = { .kind = "sso-session" };
	int r;

	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name))) {
		free(p);
		return -ENOMEM;
	}
	w.p = p;
	r = load_section("AWS_CONFIG_FILE", "config", true, &w);
	if (r < 0) {
		creds_profile_free(p);
		return r;
	}
	*out = p;
	return 0;
}
