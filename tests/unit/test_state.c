/* test_state.c - state files: round trip, atomic writes, damaged input,
 * moving aside, history, and the state directory lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "retrain.h"
#include "retrain_fixture.h"
#include "state.h"

#define T0 ((time_t)1795000020)
#define PIPE "shop-recs"

static char tmpdir[256];
static char logged[4096];

static void sink(int priority, const char *line, void *userdata)
{
	(void)priority;
	(void)userdata;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged),
		 "%s\n", line);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_state.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	logged[0] = '\0';
	log_set_sink(sink, NULL);
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[512];

	(void)state;
	log_set_sink(NULL, NULL);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(tmpdir);
	return 0;
}

static size_t count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static struct rt_spec mkspec(void)
{
	struct rt_spec s;

	memset(&s, 0, sizeof(s));
	s.pipeline = PIPE;
	s.role_arn = "arn:aws:iam::123456789012:role/R";
	s.solution_arn = "arn:aws:personalize:us-east-1:123456789012:solution/s";
	s.campaign_arn = "arn:aws:personalize:us-east-1:123456789012:campaign/c";
	s.n_datasets = 2;
	s.datasets[0].type = "Interactions";
	s.datasets[0].arn = "arn:aws:personalize:us-east-1:123456789012:dataset/dg/I";
	s.datasets[0].s3_path = "s3://b/i.csv";
	s.datasets[1].type = "Items";
	s.datasets[1].arn = "arn:aws:personalize:us-east-1:123456789012:dataset/dg/T";
	s.datasets[1].s3_path = "s3://b/t.csv";
	s.import_mode = RT_IMPORT_INCREMENTAL;
	s.training_mode = RT_TRAIN_UPDATE;
	s.poll_interval_s = 60;
	s.max_run_duration_s = 3600;
	return s;
}

/* A state with a run in flight (one import created, one intent only). */
static struct state *mkstate(void)
{
	struct state *st = calloc(1, sizeof(*st));
	struct rt_actions *out = calloc(1, sizeof(*out));
	struct rt_spec spec = mkspec();
	struct rt_event ev;
	struct rt_run *run = calloc(1, sizeof(*run));

	assert_non_null(st);
	state_init(st, PIPE);
	assert_int_equal(rt_start(run, &spec, T0, T0 + 1, false, out), 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = RT_EV_REPLY;
	ev.slot = 0;
	ev.token = run->slots[0].token;
	ev.now = T0 + 2;
	ev.result = RT_RES_OK;
	ev.arn = "arn:aws:personalize:us-east-1:123456789012:dataset-import-job/j0";
	assert_int_equal(rt_step(run, &ev, out), 0);
	rf_state_set_run(st, run);
	strcpy(st->campaign_prev_version, "arn:old");
	strcpy(st->campaign_version, "arn:cur");
	st->n_history = 1;
	st->history[0].fire_time = T0 - 86400;
	st->history[0].started_at = T0 - 86400 + 3;
	st->history[0].finished_at = T0 - 86400 + 4000;
	st->history[0].outcome = RT_OUT_FAILED;
	st->history[0].followed = true;
	strcpy(st->history[0].reason, "training failed: \"quotes\" and \\ and \n");
	strcpy(st->history[0].version_name, "shop-recs-20261117T1107-train");
	free(out);
	free(run);
	return st;
}

static void assert_same_state(const struct state *a, const struct state *b)
{
	char *ja = NULL, *jb = NULL;

	assert_int_equal(state_to_json(a, &ja), 0);
	assert_int_equal(state_to_json(b, &jb), 0);
	assert_string_equal(ja, jb);
	free(ja);
	free(jb);
}

static void test_round_trip(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char *json = NULL, err[256];
	size_t i;

	(void)state;
	assert_int_equal(state_to_json(st, &json), 0);
	assert_non_null(strstr(json, "\"version\":\t1"));
	assert_non_null(strstr(json, "\"phase\":\t\"creating\"")); /* intent */
	assert_int_equal(state_from_json(json, strlen(json), PIPE, back, err,
					 sizeof(err)), 0);
	assert_true(back->has_run);
	assert_int_equal(back->last_fire, T0);
	assert_int_equal(back->run.fire_time, T0);
	assert_int_equal(back->run.started_at, T0 + 1);
	assert_int_equal(back->run.stage, RT_STAGE_IMPORTING);
	assert_int_equal(back->run.n_datasets, 2);
	assert_int_equal(back->run.import_mode, RT_IMPORT_INCREMENTAL);
	assert_int_equal(back->run.training_mode, RT_TRAIN_UPDATE);
	for (i = 0; i < RT_NSLOTS; i++) {
		assert_int_equal(back->run.slots[i].phase, st->run.slots[i].phase);
		assert_string_equal(back->run.slots[i].name, st->run.slots[i].name);
		assert_string_equal(back->run.slots[i].arn, st->run.slots[i].arn);
	}
	for (i = 0; i < RT_MAX_DATASETS; i++)
		assert_string_equal(back->run.datasets[i].ds_arn,
				    st->run.datasets[i].ds_arn);
	assert_string_equal(back->history[0].reason, st->history[0].reason);
	assert_true(back->history[0].followed);
	assert_string_equal(back->campaign_prev_version, "arn:old");
	assert_same_state(st, back);
	/* no pipeline check when NULL; another pipeline's file is refused */
	assert_int_equal(state_from_json(json, strlen(json), NULL, back, err,
					 sizeof(err)), 0);
	assert_int_equal(state_from_json(json, strlen(json), "other", back, err,
					 sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "belongs to pipeline"));
	free(json);
	free(st);
	free(back);
}

/* A loaded run resumes with a find (intent) and a describe (ARN known). */
static void test_resume_after_load(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	struct rt_actions *out = calloc(1, sizeof(*out));
	size_t i, finds = 0, describes = 0, creates = 0;

	(void)state;
	assert_int_equal(state_save(tmpdir, st), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->recovered);
	assert_int_equal(rt_resume(&back->run, T0 + 100, out), 0);
	for (i = 0; i < out->n; i++) {
		if (out->a[i].kind != RT_ACT_CALL)
			continue;
		finds += out->a[i].call.op == RT_OP_FIND_IMPORT;
		describes += out->a[i].call.op == RT_OP_DESCRIBE_IMPORT;
		creates += out->a[i].call.op == RT_OP_CREATE_IMPORT;
	}
	assert_int_equal(finds, 1);
	assert_int_equal(describes, 1);
	assert_int_equal(creates, 0);
	free(st);
	free(back);
	free(out);
}

static void test_save_load_files(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char path[512];
	struct stat sb;

	(void)state;
	assert_int_equal(state_save(tmpdir, st), 0);
	assert_int_equal(state_path(tmpdir, PIPE, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(count_files(".shop-recs.json.tmp"), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_same_state(st, back);
	/* overwrite */
	st->last_fire = T0 + 600;
	assert_int_equal(state_save(tmpdir, st), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_int_equal(back->last_fire, T0 + 600);
	/* missing file: empty state */
	assert_int_equal(state_load(tmpdir, "nobody", T0, back), 0);
	assert_false(back->has_run);
	assert_false(back->recovered);
	assert_string_equal(back->pipeline, "nobody");
	/* a directory that does not exist: an error, nothing left behind */
	assert_int_equal(state_save("/nonexistent/dir", st), -ENOENT);
	assert_true(strstr(logged, "cannot save state file") != NULL);
	free(st);
	free(back);
}

/* The daemon's packed form: saving packed + run writes the same state as
 * state_save of the full state; unpack gives the state without its run;
 * last_fire follows the packed value; strings that look like the spliced
 * keys stay strings; a rollback run is never saved as the run. */
static void test_packed(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	struct state *norun = calloc(1, sizeof(*norun));
	struct rt_run *run = calloc(1, sizeof(*run));
	struct state_packed p;

	(void)state;
	strcpy(st->history[0].reason, "\"run\": null}, \"last_fire\": 1 }");
	*run = st->run;
	memset(&p, 0, sizeof(p));
	assert_int_equal(state_pack(st, &p), 0);
	assert_null(strstr(p.rest, "\"last_fire\":\t"));
	assert_null(strstr(p.rest, "\"run\":\t"));
	assert_int_equal(p.last_fire, st->last_fire);
	assert_int_equal(state_save_packed(tmpdir, -1, PIPE, &p, run, true), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->recovered);
	assert_same_state(st, back);
	assert_string_equal(back->history[0].reason, st->history[0].reason);
	/* progress save (no fsync) with a later last_fire */
	p.last_fire = T0 + 3600;
	run->slots[1].created_at = T0 + 7;
	assert_int_equal(state_save_packed(tmpdir, -1, PIPE, &p, run, false), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_int_equal(back->last_fire, T0 + 3600);
	assert_int_equal(back->run.slots[1].created_at, T0 + 7);
	/* no scratch file is left behind */
	assert_int_equal(count_files(".shop-recs.json.tmp"), 0);
	/* unpack: no run, the rest as it was */
	assert_int_equal(state_unpack(&p, PIPE, norun), 0);
	assert_false(norun->has_run);
	assert_int_equal(norun->last_fire, T0 + 3600);
	assert_int_equal(norun->n_history, 1);
	assert_string_equal(norun->campaign_version, "arn:cur");
	assert_string_equal(norun->history[0].reason, st->history[0].reason);
	/* no run at all, and a rollback run: "run": null */
	assert_int_equal(state_save_packed(tmpdir, -1, PIPE, &p, NULL, true), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->has_run);
	run->kind = RT_KIND_ROLLBACK;
	assert_int_equal(state_save_packed(tmpdir, -1, PIPE, &p, run, true), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->has_run);
	assert_int_equal(back->n_history, 1);
	/* a packed state of another pipeline does not unpack as this one */
	assert_int_equal(state_unpack(&p, "other", norun), -EINVAL);
	state_packed_free(&p);
	assert_null(p.rest);
	state_packed_free(&p);
	state_packed_free(NULL);
	assert_int_equal(state_save_packed(tmpdir, -1, PIPE, &p, NULL, true), -EINVAL);
	free(st);
	free(back);
	free(norun);
	free(run);
}

/* A crash during a write leaves at most the temp file: the old state is
 * intact, and the next save replaces the leftover with a file of its own
 * (a new inode, mode 0600) and renames it in; no scratch file remains. */
static void test_atomic_write_crash_leftover(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char tmp[512], path[512];
	struct stat a, b;

	(void)state;
	assert_int_equal(state_save(tmpdir, st), 0);
	snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", tmpdir, PIPE);
	snprintf(path, sizeof(path), "%s/%s.json", tmpdir, PIPE);
	write_text(tmp, "{\"version\": 1, \"pipel", 21); /* half written */
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->recovered);
	assert_same_state(st, back);
	st->last_fire = T0 + 60;
	assert_int_equal(state_save(tmpdir, st), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_int_equal(back->last_fire, T0 + 60);
	assert_int_equal(count_files(".shop-recs.json.tmp"), 0);
	/* each save is a new file: another inode, mode 0600 even when the
	 * old file was made 0644 */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(stat(path, &a), 0);
	st->last_fire = T0 + 120;
	assert_int_equal(state_save(tmpdir, st), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino != b.st_ino);
	assert_int_equal(b.st_mode & 07777, 0600);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_int_equal(back->last_fire, T0 + 120);
	free(st);
	free(back);
}

/* A hard link or a symbolic link planted at the scratch name is replaced,
 * never written through: the file it points to keeps its bytes. */
static void test_scratch_link_not_followed(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char tmp[512], victim[512], buf[64];
	int i, fd;
	ssize_t n;

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", tmpdir, PIPE);
	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	for (i = 0; i < 2; i++) {
		write_text(victim, "precious", 8);
		if (i == 0)
			assert_int_equal(link(victim, tmp), 0);
		else
			assert_int_equal(symlink(victim, tmp), 0);
		assert_int_equal(state_save(tmpdir, st), 0);
		fd = open(victim, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		assert_int_equal(n, 8);
		assert_memory_equal(buf, "precious", 8);
		assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
		assert_same_state(st, back);
		assert_int_equal(unlink(victim), 0);
	}
	free(st);
	free(back);
}

/* Anything but a regular file at the state path is refused at once (a
 * FIFO does not block), left where it is, and said in words. */
static void test_not_regular_refused(void **state)
{
	struct state *back = calloc(1, sizeof(*back));
	char path[512], target[512], *buf = NULL;
	size_t len;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s.json", tmpdir, PIPE);
	snprintf(target, sizeof(target), "%s/elsewhere.json", tmpdir);
	for (i = 0; i < 3; i++) {
		int want = i == 0 ? -EINVAL : i == 1 ? -EISDIR : -ELOOP;

		if (i == 0)
			assert_int_equal(mkfifo(path, 0600), 0);
		else if (i == 1)
			assert_int_equal(mkdir(path, 0700), 0);
		else
			assert_int_equal(symlink(target, path), 0);
		assert_int_equal(state_read_file(path, &buf, &len), want);
		assert_int_equal(state_load(tmpdir, PIPE, T0, back), want);
		assert_non_null(strstr(state_read_error(want), "not a regular file"));
		assert_int_equal(count_files("shop-recs.json.corrupt"), 0);
		assert_int_equal(i == 1 ? rmdir(path) : unlink(path), 0);
	}
	free(back);
}

/* Through an open directory fd, as the daemon writes: a shorter state
 * after a longer one keeps none of the longer one's tail. */
static void test_dirfd_shorter_after_longer(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char path[512];
	struct stat sb;
	off_t long_size;
	int dirfd, i;

	(void)state;
	dirfd = state_dir_open(tmpdir);
	assert_true(dirfd >= 0);
	for (i = 0; i < 2; i++) {  /* both files long */
		snprintf(st->history[0].reason, sizeof(st->history[0].reason),
			 "%0*d", (int)sizeof(st->history[0].reason) - 1, i);
		assert_int_equal(state_write(tmpdir, dirfd, st, i == 0), 0);
	}
	snprintf(path, sizeof(path), "%s/%s.json", tmpdir, PIPE);
	assert_int_equal(stat(path, &sb), 0);
	long_size = sb.st_size;
	st->history[0].reason[0] = '\0';
	st->last_fire = T0 + 60;
	assert_int_equal(state_write(tmpdir, dirfd, st, false), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size < long_size);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->recovered);
	assert_int_equal(back->last_fire, T0 + 60);
	assert_string_equal(back->history[0].reason, "");
	assert_int_equal(state_dir_open(NULL), -EINVAL);
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	assert_int_equal(state_dir_open(path), -ENOENT);
	close(dirfd);
	free(st);
	free(back);
}

static void test_damaged_inputs(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"null",
		"[]",
		"garbage \x01\x02\xff",
		"{\"version\": 2, \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": []}",
		"{\"version\": \"1\", \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": []}",
		"{\"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": []}",
		"{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": \"yesterday\", \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": []}",
		"{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": 3, \"run\": null, \"history\": []}",
		"{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": 7, \"history\": []}",
		"{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": [1]}",
		"{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": [{\"fire_time\": null, \"started_at\": null, \"finished_at\": null, \"outcome\": \"none\", \"followed\": false, \"version_name\": \"\", \"version_arn\": \"\", \"reason\": \"\"}]}",
		"{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": \"2026-13-01T00:00:00Z\", \"campaign\": {\"previous_version\": \"\", \"current_version\": \"\"}, \"run\": null, \"history\": []}",
	};
	struct state *st = calloc(1, sizeof(*st));
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(state_from_json(bad[i], strlen(bad[i]), PIPE, st,
						 err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 3);
	}
	assert_int_equal(state_from_json(NULL, 0, PIPE, st, err, sizeof(err)),
			 -EINVAL);
	free(st);
}

/* Every prefix of a valid file is refused cleanly (truncation). */
static void test_truncated_prefixes(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char *json = NULL, err[256];
	size_t len, n;

	(void)state;
	assert_int_equal(state_to_json(st, &json), 0);
	len = strlen(json);
	for (n = 0; n + 1 < len; n++)
		assert_int_equal(state_from_json(json, n, PIPE, back, err,
						 sizeof(err)), -EINVAL);
	assert_int_equal(state_from_json(json, len, PIPE, back, err, sizeof(err)), 0);
	free(json);
	free(st);
	free(back);
}

/* Edits that keep the JSON valid but make the run unsafe or wrong. */
static void test_inconsistent_runs(void **state)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "\"stage\":\t\"importing\"", "\"stage\":\t\"deploying\"" },
		{ "\"stage\":\t\"importing\"", "\"stage\":\t\"training\"" },
		{ "\"stage\":\t\"importing\"", "\"stage\":\t\"idle\"" },
		{ "\"stage\":\t\"importing\"", "\"stage\":\t\"sideways\"" },
		{ "\"outcome\":\t\"none\"", "\"outcome\":\t\"succeeded\"" },
		{ "\"phase\":\t\"creating\"", "\"phase\":\t\"unused\"" },
		{ "\"phase\":\t\"creating\"", "\"phase\":\t\"running\"" },
		{ "\"phase\":\t\"running\"", "\"phase\":\t\"bogus\"" },
		{ "\"training_mode\":\t\"UPDATE\"", "\"training_mode\":\t\"AUTOTRAIN\"" },
		{ "\"poll_interval\":\t60", "\"poll_interval\":\t0" },
		{ "\"poll_interval\":\t60", "\"poll_interval\":\t1.5" },
		{ "\"poll_interval\":\t60", "\"poll_interval\":\t-4" },
		{ "\"adopted\":\tfalse", "\"adopted\":\t0" },
		{ "\"name\":\t\"shop-recs", "\"name\":\t\"-shop-recs" },
		{ "\"role_arn\":\t\"arn", "\"role_arn\":\t5, \"x\":\t\"arn" },
		{ "\"fire_time\":\t\"", "\"fire_time\":\tnull, \"x\":\t\"" },
	};
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	char *json = NULL, *edited, err[256], *p;
	size_t i;

	(void)state;
	assert_int_equal(state_to_json(st, &json), 0);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		p = strstr(json, edits[i].from);
		assert_non_null(p);
		edited = calloc(1, strlen(json) + strlen(edits[i].to) + 1);
		memcpy(edited, json, (size_t)(p - json));
		strcat(edited, edits[i].to);
		strcat(edited, p + strlen(edits[i].from));
		err[0] = '\0';
		assert_int_equal(state_from_json(edited, strlen(edited), PIPE, back,
						 err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 3);
		free(edited);
	}
	free(json);
	free(st);
	free(back);
}

static void test_huge_and_long(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	char *big = malloc(STATE_FILE_MAX + 2), err[256], path[512];
	char longstr[2048];
	char doc[4096];

	(void)state;
	memset(big, ' ', STATE_FILE_MAX + 1);
	big[STATE_FILE_MAX + 1] = '\0';
	assert_int_equal(state_from_json(big, STATE_FILE_MAX + 1, PIPE, st, err,
					 sizeof(err)), -EINVAL);
	memset(longstr, 'a', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	snprintf(doc, sizeof(doc),
		 "{\"version\": 1, \"pipeline\": \"shop-recs\", \"last_fire\": null, \"campaign\": {\"previous_version\": \"%s\", \"current_version\": \"\"}, \"run\": null, \"history\": []}",
		 longstr);
	assert_int_equal(state_from_json(doc, strlen(doc), PIPE, st, err,
					 sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	/* a huge file on disk is moved aside without reading it all */
	assert_int_equal(state_path(tmpdir, PIPE, path, sizeof(path)), 0);
	write_text(path, big, STATE_FILE_MAX + 1);
	assert_int_equal(state_load(tmpdir, PIPE, T0, st), 0);
	assert_true(st->recovered);
	assert_non_null(strstr(logged, "larger than"));
	free(big);
	free(st);
}

static void test_corrupt_moved_aside(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	char path[512], want[600];

	(void)state;
	assert_int_equal(state_path(tmpdir, PIPE, path, sizeof(path)), 0);
	write_text(path, "{\"version\": 1, \"pipe", 20);
	assert_int_equal(state_load(tmpdir, PIPE, T0, st), 0);
	assert_true(st->recovered);
	assert_false(st->has_run);
	snprintf(want, sizeof(want), "%s.corrupt-20261118T110700Z", path);
	assert_string_equal(st->moved_to, want);
	assert_int_equal(access(want, F_OK), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_non_null(strstr(logged, "moved to"));
	assert_non_null(strstr(logged, "adopted by name"));
	/* the same second again: a distinct name */
	write_text(path, "garbage", 7);
	assert_int_equal(state_load(tmpdir, PIPE, T0, st), 0);
	assert_true(st->recovered);
	assert_non_null(strstr(st->moved_to, "-1"));
	assert_int_equal(count_files("shop-recs.json.corrupt-"), 2);
	/* wrong version is moved aside too */
	write_text(path, "{\"version\": 99}", 15);
	assert_int_equal(state_load(tmpdir, PIPE, T0 + 1, st), 0);
	assert_true(st->recovered);
	assert_non_null(strstr(logged, "schema version 99"));
	/* and then it starts fresh */
	assert_int_equal(state_load(tmpdir, PIPE, T0 + 2, st), 0);
	assert_false(st->recovered);
	free(st);
}

static void test_unreadable_is_an_error(void **state)
{
	struct state *st = calloc(1, sizeof(*st));
	char path[512];

	(void)state;
	assert_int_equal(state_path(tmpdir, PIPE, path, sizeof(path)), 0);
	assert_int_equal(mkdir(path, 0700), 0); /* a directory where the file is */
	st->last_fire = 42;
	assert_true(state_load(tmpdir, PIPE, T0, st) < 0);
	assert_int_equal(st->last_fire, 42); /* untouched */
	rmdir(path);
	assert_int_equal(state_load(NULL, PIPE, T0, st), -EINVAL);
	assert_int_equal(state_load(tmpdir, "", T0, st), -EINVAL);
	free(st);
}

static void test_finished_run_goes_to_history(void **state)
{
	struct state *st = mkstate(), *back = calloc(1, sizeof(*back));
	struct rt_actions *out = calloc(1, sizeof(*out));
	struct rt_event ev;
	size_t i;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.kind = RT_EV_DEADLINE;
	ev.now = T0 + 4000;
	assert_int_equal(rt_step(&st->run, &ev, out), 0);
	assert_true(rt_done(&st->run));
	/* crashed after saving the finished run, before recording it */
	assert_int_equal(state_save(tmpdir, st), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, back), 0);
	assert_false(back->has_run);
	assert_int_equal(back->n_history, 2);
	assert_int_equal(back->history[0].outcome, RT_OUT_FAILED);
	assert_non_null(strstr(back->history[0].reason, "MaxRunDuration"));
	/* history is capped, newest first */
	for (i = 0; i < STATE_HISTORY_MAX + 5; i++) {
		struct rt_run r;

		memset(&r, 0, sizeof(r));
		r.fire_time = T0 + (time_t)i * 60;
		r.stage = RT_STAGE_DONE;
		r.outcome = RT_OUT_SUCCEEDED;
		strcpy(r.campaign_arn, "arn:c");
		strcpy(r.prev_version_arn, "arn:prev");
		strcpy(r.slots[RT_SLOT_VERSION].arn, "arn:new");
		state_finish_run(back, &r);
	}
	assert_int_equal(back->n_history, STATE_HISTORY_MAX);
	assert_int_equal(back->history[0].fire_time,
			 T0 + (STATE_HISTORY_MAX + 4) * 60);
	assert_int_equal(back->last_fire, T0 + (STATE_HISTORY_MAX + 4) * 60);
	assert_string_equal(back->campaign_prev_version, "arn:prev");
	assert_string_equal(back->campaign_version, "arn:new");
	state_note_fire(back, T0);
	assert_int_equal(back->last_fire, T0 + (STATE_HISTORY_MAX + 4) * 60);
	assert_int_equal(state_save(tmpdir, back), 0);
	assert_int_equal(state_load(tmpdir, PIPE, T0, st), 0);
	assert_same_state(st, back);
	free(st);
	free(back);
	free(out);
}

static void test_state_path(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(state_path("/s", "shop-recs", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/s/shop-recs.json");
	assert_int_equal(state_path("/s", "../etc/passwd", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/s/_._etc_passwd.json");
	assert_int_equal(state_path("/s", "", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(state_path("", "x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(state_path("/a-rather-long-directory-name/that/goes/on",
				    "and-a-long-pipeline-name", buf, sizeof(buf)),
			 -ENAMETOOLONG);
}

static void test_lock_contention(void **state)
{
	int ready[2], done[2], fd = -1, fd2 = -1, status;
	char err[256], c = 0, want[64];
	pid_t child;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int cfd = -1;

		close(ready[0]);
		close(done[1]);
		c = state_lock(tmpdir, &cfd, NULL, 0) == 0 ? 'L' : 'E';
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		if (read(done[0], &c, 1) < 0)
			_exit(3);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'L');
	err[0] = '\0';
	assert_int_equal(state_lock(tmpdir, &fd, err, sizeof(err)), -EBUSY);
	snprintf(want, sizeof(want), "(PID %ld)", (long)child);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, tmpdir));
	assert_int_equal(fd, -1);
	assert_int_equal(write(done[1], "x", 1), 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(done[1]);
	/* the holder is gone: ours now, and a second open in this process
	 * is refused as well (flock is per open file) */
	assert_int_equal(state_lock(tmpdir, &fd, err, sizeof(err)), 0);
	assert_true(fd >= 0);
	assert_int_equal(state_lock(tmpdir, &fd2, err, sizeof(err)), -EBUSY);
	snprintf(want, sizeof(want), "(PID %ld)", (long)getpid());
	assert_non_null(strstr(err, want));
	state_unlock(fd);
	assert_int_equal(state_lock(tmpdir, &fd2, err, sizeof(err)), 0);
	state_unlock(fd2);
	state_unlock(-1);
	assert_true(state_lock("/nonexistent/dir", &fd, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot open lock file"));
	assert_int_equal(state_lock(NULL, &fd, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_crash_leftover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_link_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirfd_shorter_after_longer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inconsistent_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_and_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_moved_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished_run_goes_to_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_contention, setup, teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
