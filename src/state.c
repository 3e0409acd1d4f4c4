/* state.c - per-pipeline state files: where they are, reading and
 * writing them safely, and the records a finished run leaves; see
 * include/state.h. The JSON form is state_json.c's, the lock state_lock.c's. */
#include "state.h"
#include "state-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

/* Messages name paths and ARNs; cutting them short is acceptable. */
#if defined(__GNUC__) && !defined(__clang__) /* clang has no such group */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define MAX_CORRUPT_SUFFIX 100

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void state_init(struct state *st, const char *pipeline)
{
	memset(st, 0, sizeof(*st));
	copy_str(st->pipeline, sizeof(st->pipeline), pipeline);
}

int state_path(const char *dir, const char *pipeline, char *buf, size_t len)
{
	char name[RT_PIPELINE_MAX + 1];
	size_t i;
	int n;

	if (!dir || !*dir || !pipeline || !*pipeline || !buf)
		return -EINVAL;
	for (i = 0; pipeline[i] && i < sizeof(name) - 1; i++) {
		unsigned char c = (unsigned char)pipeline[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  (c == '.' && i > 0);

		name[i] = ok ? (char)c : '_';
	}
	name[i] = '\0';
	n = snprintf(buf, len, "%s/%s.json", dir, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- files ------------------------------------------------------------- */

int state_read_file(const char *path, char **buf, size_t *len)
{
	char *b = NULL;
	size_t n = 0, cap = STATE_FILE_MAX + 1;
	struct stat sb;
	ssize_t k;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO must not block the open; O_NOFOLLOW: the file
	 * itself, never what a link points to */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
			O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto cleanup;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
		goto cleanup;
	}
	b = malloc(cap);
	if (!b) {
		r = -ENOMEM;
		goto cleanup;
	}
	while (n < cap) {
		k = read(fd, b + n, cap - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto cleanup;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*buf = b;
	*len = n;
	b = NULL;
cleanup:
	free(b);
	close(fd);
	return r;
}

const char *state_read_error(int r)
{
	switch (r) {
	case -EISDIR:
		return "a directory, not a regular file";
	case -ELOOP:
		return "a symbolic link, not a regular file";
	case -EINVAL:
		return "not a regular file";
	default:
		return strerror(-r);
	}
}

static int move_aside(const char *path, time_t now, char *to, size_t tolen)
{
	char stamp[32];
	struct tm tm;
	int i;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
		copy_str(stamp, sizeof(stamp), "unknown");
	for (i = 0; i < MAX_CORRUPT_SUFFIX; i++) {
		struct stat sb;

		if (i == 0)
			snprintf(to, tolen, "%s.corrupt-%s", path, stamp);
		else
			snprintf(to, tolen, "%s.corrupt-%s-%d", path, stamp, i);
		if (lstat(to, &sb) < 0 && errno == ENOENT)
			break;
	}
	if (i == MAX_CORRUPT_SUFFIX)
		return -EEXIST;
	if (rename(path, to) < 0)
		return -errno;
	return 0;
}

int state_load(const char *dir, const char *pipeline, time_t now,
	       struct state *out)
{
	char path[4096], err[256];
	char *buf = NULL;
	size_t len = 0;
	struct state *st = NULL;
	int r;

	if (!out)
		return -EINVAL;
	r = state_path(dir, pipeline, path, sizeof(path));
	if (r < 0)
		return r;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	r = state_read_file(path, &buf, &len);
	if (r == -ENOENT) {
		state_init(st, pipeline);
		r = 0;
		goto done;
	}
	if (r < 0) {
		log_error("cannot read state file %s: %s", path,
			  state_read_error(r));
		goto cleanup;
	}
	if (len > STATE_FILE_MAX)
		snprintf(err, sizeof(err), "larger than %d bytes", STATE_FILE_MAX);
	else if (state_from_json(buf, len, pipeline, st, err, sizeof(err)) == 0)
		goto done;
	state_init(st, pipeline);
	st->recovered = true;
	r = move_aside(path, now, st->moved_to, sizeof(st->moved_to));
	if (r < 0) {
		log_error("state file %s is unusable (%s) and could not be moved aside: %s",
			  path, err, strerror(-r));
		goto cleanup;
	}
	log_warning("state file %s is unusable (%s): moved to %s; jobs in flight will be adopted by name",
		    path, err, st->moved_to);
done:
	memcpy(out, st, sizeof(*st));
	r = 0;
cleanup:
	free(buf);
	free(st);
	return r;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* text and a newline: one writev, unless short. */
static int write_text(int fd, const char *text, size_t len)
{
	struct iovec iov[2] = {
		{ (void *)(uintptr_t)text, len }, { (void *)(uintptr_t)"\n", 1 },
	};
	ssize_t k = writev(fd, iov, 2);
	size_t done;
	int r;

	if (k < 0 && errno != EINTR)
		return -errno;
	done = k < 0 ? 0 : (size_t)k;
	if (done >= len + 1)
		return 0;
	if (done < len) {
		r = write_all(fd, text + done, len - done);
		if (r < 0)
			return r;
	}
	return write_all(fd, "\n", 1);
}

static int fsync_dir(const char *dir, int dirfd)
{
	int fd = dirfd, r = 0;

	if (fd < 0)
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	if (fd != dirfd)
		close(fd);
	return r;
}

int state_dir_open(const char *dir)
{
	int fd;

	if (!dir || !*dir)
		return -EINVAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Test hook: saves after the first N fail with an errno, as a disk that
 * fills up or fails mid-run would: "N:ENOSPC" (also EIO, EACCES, EROFS,
 * EDQUOT). Read at the first save; a malformed value is ignored, with a
 * warning. */
#define WRITE_FAULT_ENV "PERSONALIZE_RETRAIN_TEST_STATE_WRITE_FAIL"

static int state_test_write_fault(void)
{
	static const struct {
		const char *name;
		int err;
	} codes[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EACCES", EACCES },
		{ "EROFS", EROFS }, { "EDQUOT", EDQUOT },
	};
	static bool read_env;
	static unsigned long after, seen;
	static int err;
	const char *v;
	char *end;
	size_t i;

	if (!read_env) {
		read_env = true;
		v = getenv(WRITE_FAULT_ENV);
		if (v && *v) {
			errno = 0;
			after = strtoul(v, &end, 10);
			for (i = 0; !errno && end != v && *end == ':' &&
				    i < sizeof(codes) / sizeof(codes[0]); i++)
				if (!strcmp(end + 1, codes[i].name))
					err = codes[i].err;
			if (err)
				log_warning("test hook %s in effect: state saves after the first %lu fail (%s)",
					    WRITE_FAULT_ENV, after, end + 1);
			else
				log_warning("test hook %s=%s ignored: not N:ENOSPC|EIO|EACCES|EROFS|EDQUOT",
					    WRITE_FAULT_ENV, v);
		}
	}
	if (!err)
		return 0;
	if (seen < after) {
		seen++;
		return 0;
	}
	return -err;
}

/* Write text (a newline is added) atomically as pipeline's file in dir
 * (dirfd: dir opened, or -1): a scratch file created for this save (never
 * an existing inode: a leftover or a link planted at the scratch name is
 * unlinked, not written through), mode 0600, written, fdatasync'd, renamed
 * over the file; durable: the directory fsync'd too. The file's data is
 * always on disk before the rename, so a power loss brings back the old
 * file or the new one, never an empty one. */
static int write_state(const char *dir, int dirfd, const char *pipeline,
		       const char *text, size_t len, bool durable)
{
	char path[4096], tmp[4200];
	const char *slash, *name, *tmpname;
	int fd = -1, at = dirfd >= 0 ? dirfd : AT_FDCWD, r;
	bool created = false;

	r = state_path(dir, pipeline, path, sizeof(path));
	if (r < 0)
		return r;
	slash = strrchr(path, '/');
	/* Same directory, so the rename is atomic; dot-named and unique to
	 * the pipeline (writers hold the directory lock). */
	snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp", (int)(slash - path), path,
		 slash + 1);
	name = dirfd >= 0 ? slash + 1 : path;
	tmpname = dirfd >= 0 ? strrchr(tmp, '/') + 1 : tmp;
	r = state_test_write_fault();
	if (r < 0)
		goto cleanup;
	if (unlinkat(at, tmpname, 0) < 0 && errno != ENOENT) {
		r = -errno;
		goto cleanup;
	}
	fd = openat(at, tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto cleanup;
	}
	created = true;
	r = write_text(fd, text, len);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r < 0)
		goto cleanup;
	if (renameat(at, tmpname, at, name) < 0) {
		r = -errno;
		goto cleanup;
	}
	created = false;
	if (durable)
		r = fsync_dir(dir, dirfd);
cleanup:
	if (fd >= 0)
		close(fd);
	if (created)
		unlinkat(at, tmpname, 0);
	if (r < 0)
		log_error("cannot save state file %s: %s", path, strerror(-r));
	return r;
}

int state_save(const char *dir, const struct state *st)
{
	return state_write(dir, -1, st, true);
}

int state_write(const char *dir, int dirfd, const struct state *st,
		bool durable)
{
	char *text = NULL;
	int r;

	if (!st)
		return -EINVAL;
	r = state_to_json(st, &text);
	if (r < 0) {
		log_error("cannot save the state of %s: %s", st->pipeline,
			  strerror(-r));
		return r;
	}
	r = write_state(dir, dirfd, st->pipeline, text, strlen(text), durable);
	free(text);
	return r;
}

int state_save_packed(const char *dir, int dirfd, const char *pipeline,
		      const struct state_packed *p, const struct rt_run *run,
		      bool durable)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!pipeline)
		return -EINVAL;
	if (run && run->kind == RT_KIND_ROLLBACK)
		run = NULL;
	r = state_packed_text(p, run, &text, &len);
	if (r < 0) {
		log_error("cannot save the state of %s: %s", pipeline,
			  strerror(-r));
		return r;
	}
	r = write_state(dir, dirfd, pipeline, text, len, durable);
	free(text);
	return r;
}

/* ---- records ----------------------------------------------------------- */

const struct state_dataset *state_dataset_get(const struct state *st,
					      const char *dataset_arn)
{
	size_t i;

	if (!st || !dataset_arn)
		return NULL;
	for (i = 0; i < st->n_datasets && i < STATE_DATASETS_MAX; i++)
		if (!strcmp(st->datasets[i].dataset_arn, dataset_arn))
			return &st->datasets[i];
	return NULL;
}

static void record_dataset(struct state *st, const struct rt_dataset *s)
{
	struct state_dataset *d = NULL;
	size_t i;

	for (i = 0; i < st->n_datasets; i++)
		if (!strcmp(st->datasets[i].dataset_arn, s->ds_arn))
			d = &st->datasets[i];
	if (!d) {
		if (st->n_datasets >= STATE_DATASETS_MAX) {
			memmove(&st->datasets[0], &st->datasets[1],
				sizeof(st->datasets[0]) * (STATE_DATASETS_MAX - 1));
			st->n_datasets--;
		}
		d = &st->datasets[st->n_datasets++];
		copy_str(d->dataset_arn, sizeof(d->dataset_arn), s->ds_arn);
	}
	copy_str(d->etag, sizeof(d->etag), s->etag);
	copy_str(d->last_modified, sizeof(d->last_modified), s->last_modified);
}

/* The run's batch job was created or looked for: the version was ACTIVE,
 * past its gate, and deployed when there is a campaign. */
static bool reached_batch(const struct rt_run *run)
{
	enum rt_phase ph = run->slots[RT_SLOT_BATCH].phase;

	return run->batch_kind != RT_BATCH_NONE && ph != RT_PH_UNUSED &&
	       ph != RT_PH_PENDING;
}

void state_finish_run(struct state *st, const struct rt_run *run)
{
	struct state_history h;
	const struct rt_slot *v;
	size_t i;

	if (!st || !run)
		return;
	v = &run->slots[RT_SLOT_VERSION];
	memset(&h, 0, sizeof(h));
	h.fire_time = run->fire_time;
	h.started_at = run->started_at;
	h.finished_at = run->finished_at;
	h.outcome = run->outcome == RT_OUT_NONE ? RT_OUT_FAILED : run->outcome;
	h.followed = run->followed;
	h.kind = run->kind;
	copy_str(h.version_name, sizeof(h.version_name), v->name);
	copy_str(h.version_arn, sizeof(h.version_arn), v->arn);
	copy_str(h.reason, sizeof(h.reason), run->reason);
	copy_str(h.batch_output, sizeof(h.batch_output), rt_batch_output(run));
	/* what the campaign serves: recorded once the update is live,
	 * whatever came after it (a batch job that failed, the deadline) */
	if (run->campaign_arn[0] &&
	    (run->outcome == RT_OUT_SUCCEEDED ||
	     run->slots[RT_SLOT_CAMPAIGN].phase == RT_PH_ACTIVE)) {
		copy_str(st->campaign_prev_version,
			 sizeof(st->campaign_prev_version), run->prev_version_arn);
		copy_str(st->campaign_version, sizeof(st->campaign_version),
			 v->arn);
	}
	memmove(&st->history[1], &st->history[0],
		sizeof(st->history[0]) * (STATE_HISTORY_MAX - 1));
	st->history[0] = h;
	if (st->n_history < STATE_HISTORY_MAX)
		st->n_history++;
	if (run->kind == RT_KIND_ROLLBACK)
		return;
	state_note_fire(st, run->fire_time);
	/* the data a version was trained on: a success, a gated version, or
	 * one that reached its batch job (deployed, or nothing to deploy);
	 * importing it again would append it twice (INCREMENTAL) */
	if (run->outcome == RT_OUT_SUCCEEDED || run->outcome == RT_OUT_GATED ||
	    reached_batch(run))
		for (i = 0; i < run->n_datasets && i < RT_MAX_DATASETS; i++) {
			const struct rt_dataset *d = &run->datasets[i];

			if (run->slots[i].phase == RT_PH_ACTIVE &&
			    !d->unchanged && d->etag[0])
				record_dataset(st, d);
		}
	st->has_run = false;
	memset(&st->run, 0, sizeof(st->run));
}

void state_note_fire(struct state *st, time_t fire_time)
{
	if (st && fire_time > st->last_fire)
		st->last_fire = fire_time;
}
