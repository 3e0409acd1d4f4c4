/* state.h - what a pipeline remembers across restarts: one JSON file per
 * pipeline under the state directory (STATE_DIRECTORY or --state-dir).
 *
 * File <dir>/<pipeline>.json, schema version 1 (STATE_SCHEMA_VERSION):
 *   { "version": 1, "pipeline": "...", "last_fire": "ISO-8601Z"|null,
 *     "campaign": { "previous_version": ARN, "current_version": ARN },
 *     "run": null | { the unfinished run: fire time, stage, spec copy,
 *                     "imports": [...], "version": {...}, "campaign": {...}
 *                     each with name, ARN, phase ("creating" = intent saved,
 *                     create sent), status, reason, timestamps },
 *     "history": [ newest first: fire time, start, end, outcome, reason,
 *                  version, "followed" ],
 *     "datasets": [ { "dataset_arn", "etag", "last_modified" } ] }
 *
 * Optional members, so that every version-1 file without them loads
 * (hence no schema version change): top-level "datasets" (the S3 identity
 * of each dataset's last import that reached a trained version, for
 * SkipUnchangedData); in "run": "skip_unchanged", "gate" ({ "metric",
 * "max_regression", "min_quality": number|null }), and per import
 * "prev_etag", "prev_last_modified", "etag", "last_modified", "unchanged";
 * the stages "checking", "gating" and "batch"; the outcomes "gated" and
 * "skipped" (run and history); in "run": "batch" ({ "kind": "inference"|
 * "segment", "input", "output", "role_arn", "num_results", "filter_arn",
 * "job": the batch job's slot }); per history entry "batch_output". A file written with those cannot be read by a build
 * that does not know them (it is moved aside as corrupt, like any unreadable
 * file). Rollback runs (RT_KIND_ROLLBACK) are never saved as "run".
 *
 * Writes are atomic: each save creates a new scratch file in the same
 * directory (.<file>.tmp, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600; whatever
 * is at that name is unlinked first, never written through), writes and
 * fdatasyncs it, renames it over the file, then (durable saves) fsyncs the
 * directory. A reader (e.g. `status` while the daemon runs) opens the old
 * or the new file, never a mix; a power loss brings back the old file or
 * the new one, never an empty one. Files are read with
 * O_NONBLOCK|O_NOFOLLOW and must be regular files (state_read_file).
 *
 * A file that cannot be parsed (corrupt, truncated, garbage, larger than
 * STATE_FILE_MAX, wrong schema version, another pipeline's) is renamed to
 * <file>.corrupt-<YYYYMMDDTHHMMSSZ>, a warning says so, and the pipeline
 * starts from an empty state with `recovered` set: the driver must then
 * treat any run as "unknown in flight" and adopt jobs by name
 * (rt_start(..., find_first = true)).
 *
 * A lock (flock on <dir>/.lock, non-blocking) keeps two daemons off one
 * state directory. Readers need no lock. */
#ifndef PR_STATE_H
#define PR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "retrain.h"

#define STATE_SCHEMA_VERSION 1
#define STATE_HISTORY_MAX    10
#define STATE_FILE_MAX       (1024 * 1024) /* bytes; larger is corrupt */
#define STATE_LOCK_FILE      ".lock"

struct state_history {
	time_t fire_time;
	time_t started_at;
	time_t finished_at;
	enum rt_outcome outcome;
	bool followed;  /* followed a run started by another host */
	enum rt_kind kind;  /* a retraining run or a rollback */
	char version_name[RT_NAME_MAX + 1];
	char version_arn[RT_ARN_MAX + 1];
	char reason[RT_REASON_MAX + 1];
	/* the batch job's output location when the run's batch job became
	 * ACTIVE, else "" */
	char batch_output[RT_ARN_MAX + 1];
};

/* The S3 object behind a dataset as of its last import that reached a
 * trained version (run ended succeeded or gated). */
struct state_dataset {
	char dataset_arn[RT_ARN_MAX + 1];
	char etag[RT_ETAG_MAX + 1];
	char last_modified[RT_MODIFIED_MAX + 1];
};

#define STATE_DATASETS_MAX (2 * RT_MAX_DATASETS)

struct state {
	char pipeline[RT_PIPELINE_MAX + 1];
	/* Latest fire time that was run or skipped (0: none yet); catch-up
	 * compares the schedule's most recent fire time against it. */
	time_t last_fire;
	bool has_run;            /* `run` holds an unfinished run */
	struct rt_run run;
	size_t n_history;        /* newest first */
	struct state_history history[STATE_HISTORY_MAX];
	/* The campaign's version before / after our last deployment (for a
	 * later rollback feature); "" unknown. */
	char campaign_prev_version[RT_ARN_MAX + 1];
	char campaign_version[RT_ARN_MAX + 1];
	/* SkipUnchangedData: per dataset ARN, oldest first (the oldest is
	 * dropped beyond STATE_DATASETS_MAX). */
	size_t n_datasets;
	struct state_dataset datasets[STATE_DATASETS_MAX];
	/* Not persisted: the file was unreadable and has been moved aside. */
	bool recovered;
	char moved_to[512];
};

/* Empty state for pipeline (copied, cut at RT_PIPELINE_MAX). */
void state_init(struct state *st, const char *pipeline);

/* "<dir>/<pipeline>.json" with characters outside [A-Za-z0-9._-] of the
 * pipeline name replaced by '_' (and no leading dot). 0, or -EINVAL (empty
 * argument) / -ENAMETOOLONG. */
int state_path(const char *dir, const char *pipeline, char *buf, size_t len);

/* Serialise st; *out is a new NUL-terminated string (free()). 0 or -ENOMEM. */
int state_to_json(const struct state *st, char **out);

/* Parse a state file's bytes (need not be NUL-terminated). pipeline, when
 * not NULL, must match the file's. 0 and *out filled, or -EINVAL with a
 * sentence in err (what is wrong, where) when the input is not a valid
 * version-1 state. A finished run found in "run" is moved to the history.
 * *out is written only on success. */
int state_from_json(const char *text, size_t len, const char *pipeline,
		    struct state *out, char *err, size_t errlen);

/* Load the pipeline's state. Missing file: 0 and an empty state. Invalid
 * file: moved aside (see above), a warning logged, 0 and an empty state
 * with recovered = true; now is the timestamp in the new name. Other
 * errors (permission, I/O): -errno, logged, *out untouched. */
int state_load(const char *dir, const char *pipeline, time_t now,
	       struct state *out);

/* Read the file at path (at most STATE_FILE_MAX + 1 bytes: more means too
 * large) without blocking and without following a symbolic link: 0 and
 * *buf (free()) / *len, or -errno: -EISDIR a directory, -ELOOP a symbolic
 * link, -EINVAL another file that is not a regular file (FIFO, socket,
 * device). state_read_error(r) says it in words. */
int state_read_file(const char *path, char **buf, size_t *len);
const char *state_read_error(int r);

/* Write st atomically to its file in dir. 0 or -errno (logged; the old
 * file is then intact and no temp file is left behind). */
int state_save(const char *dir, const struct state *st);
/* The same; durable false: without the fsyncs (see state_save_packed).
 * dirfd: dir opened by state_dir_open (kept open by a daemon: no path
 * walk and no open of the directory per save), or -1. */
int state_write(const char *dir, int dirfd, const struct state *st,
		bool durable);

/* dir opened for state_write and state_save_packed (the caller closes
 * it): the fd, or -errno. */
int state_dir_open(const char *dir);

/* A state whose run is active, held compactly by the daemon: the parts a
 * run does not change (campaign versions, history, datasets) as their
 * JSON text, serialised once, plus last_fire. A pipeline's state is held
 * like this only while its run is active, and not at all while idle (the
 * file is the state then), so that 1,000 pipelines fit in little memory.
 * The run itself stays the caller's. */
struct state_packed {
	char *rest;        /* the file's JSON without "last_fire" and "run" */
	size_t rest_len;
	time_t last_fire;  /* the caller keeps it current (state_note_fire's rule) */
};

/* Pack st (its run, if any, is left out). 0 or -ENOMEM/-EINVAL; *out is
 * written only on success. */
int state_pack(const struct state *st, struct state_packed *out);

/* Write the file for pipeline from p and run (NULL, or a rollback run:
 * "run": null) atomically like state_save; dirfd as for state_write. durable: fsync the file and the
 * directory (an intent saved before a create must survive a power loss);
 * otherwise the write is atomic against a crash of the process but a power
 * loss may bring back the previous file (what a lost progress save costs
 * is one more Describe at the next start). 0 or -errno (logged). */
int state_save_packed(const char *dir, int dirfd, const char *pipeline,
		      const struct state_packed *p, const struct rt_run *run,
		      bool durable);

/* The full state back from p (no run): 0 and *out, or -errno (logged). */
int state_unpack(const struct state_packed *p, const char *pipeline,
		 struct state *out);

/* Free p's text (p itself is the caller's); NULL ok; p can be packed again. */
void state_packed_free(struct state_packed *p);

/* The recorded S3 identity of dataset_arn's last import, or NULL: the
 * driver copies etag/last_modified into rt_dataset_spec.prev_* . */
const struct state_dataset *state_dataset_get(const struct state *st,
					      const char *dataset_arn);

/* Record the run in progress (a copy): has_run, last_fire updated. A
 * rollback run (RT_KIND_ROLLBACK) is not recorded (no-op). */
void state_set_run(struct state *st, const struct rt_run *run);

/* Record a finished run: history entry in front (oldest dropped beyond
 * STATE_HISTORY_MAX), has_run cleared, last_fire updated, and after a
 * successful deployment the campaign's previous/current version. When it
 * ended succeeded or gated, the S3 identity (etag, last_modified) of every
 * dataset this run imported after a successful HEAD is recorded
 * (datasets[]). A rollback run: history entry and, on success, the
 * campaign versions (previous = what it served before the rollback); it
 * leaves last_fire and has_run/run (a retraining run in progress) alone. */
void state_finish_run(struct state *st, const struct rt_run *run);

/* Record a fire time that was skipped (a run was in progress): last_fire. */
void state_note_fire(struct state *st, time_t fire_time);

/* Take the state directory's lock (creating dir/.lock, writing our PID to
 * it). 0 and *fd_out (keep it open while running; state_unlock to drop);
 * -EBUSY when another process holds it, with err naming its PID when the
 * lock file tells it; other -errno on I/O errors, with err. */
int state_lock(const char *dir, int *fd_out, char *err, size_t errlen);
void state_unlock(int fd);

#endif
